"""The ticket state machine: which event moves a ticket from which state, and who may send it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    ACCEPTED = "accepted"
    ON_SITE = "on_site"
    RESOLVED = "resolved"
    NEEDS_REVISIT = "needs_revisit"
    TAKEN_BACK = "taken_back"
    CLOSED = "closed"
    RESOLVED_BY_PHONE = "resolved_by_phone"
    AT_STATION = "at_station"
    CANCELLED = "cancelled"


class Event(StrEnum):
    ASSIGN = "assign"
    ACCEPT = "accept"
    DECLINE = "decline"
    TIMEOUT = "timeout"
    CHECK_IN = "check_in"
    RESOLVE = "resolve"
    REVISIT = "revisit"
    TAKE_BACK = "take_back"
    REASSIGN = "reassign"
    RETURN_MACHINE = "return_machine"
    CLOSE = "close"
    RESOLVE_BY_PHONE = "resolve_by_phone"
    BRING_IN = "bring_in"
    CANCEL = "cancel"


STAFF = frozenset({"dispatcher", "manager", "admin"})
TECHNICIAN = frozenset({"technician"})
SYSTEM = frozenset({"system"})
ROLES = STAFF | TECHNICIAN | SYSTEM

FINAL_STATES = frozenset({State.CLOSED, State.RESOLVED_BY_PHONE, State.AT_STATION, State.CANCELLED})
# Before a visit: the ticket can still be handled by phone or brought to the station (MODE-ONSITE).
BEFORE_VISIT = (State.NEW, State.ASSIGNED, State.ACCEPTED)


@dataclass(frozen=True)
class Rule:
    """Where an event leads and which roles may send it."""

    target: State
    roles: frozenset[str]


def _table() -> dict[tuple[State, Event], Rule]:
    """Build the transition table; every guard names its single source state."""
    table: dict[tuple[State, Event], Rule] = {
        (State.NEW, Event.ASSIGN): Rule(State.ASSIGNED, STAFF),
        (State.ASSIGNED, Event.ACCEPT): Rule(State.ACCEPTED, TECHNICIAN),
        (State.ASSIGNED, Event.DECLINE): Rule(State.NEW, TECHNICIAN),
        (State.ASSIGNED, Event.TIMEOUT): Rule(State.NEW, SYSTEM),
        (State.ACCEPTED, Event.CHECK_IN): Rule(State.ON_SITE, TECHNICIAN),
        (State.ON_SITE, Event.RESOLVE): Rule(State.RESOLVED, TECHNICIAN),
        (State.ON_SITE, Event.REVISIT): Rule(State.NEEDS_REVISIT, TECHNICIAN),
        (State.ON_SITE, Event.TAKE_BACK): Rule(State.TAKEN_BACK, TECHNICIAN),
        (State.NEEDS_REVISIT, Event.REASSIGN): Rule(State.ASSIGNED, STAFF),
        (State.TAKEN_BACK, Event.RETURN_MACHINE): Rule(State.RESOLVED, TECHNICIAN | STAFF),
        (State.RESOLVED, Event.CLOSE): Rule(State.CLOSED, STAFF | SYSTEM),
    }
    for state in BEFORE_VISIT:
        # Nobody is assigned to a new ticket yet, so only staff may settle it without a visit.
        roles = STAFF if state is State.NEW else TECHNICIAN | STAFF
        table[(state, Event.RESOLVE_BY_PHONE)] = Rule(State.RESOLVED_BY_PHONE, roles)
        table[(state, Event.BRING_IN)] = Rule(State.AT_STATION, roles)
    for state in State:
        if state not in FINAL_STATES:
            table[(state, Event.CANCEL)] = Rule(State.CANCELLED, STAFF)
    return table


TRANSITIONS: Mapping[tuple[State, Event], Rule] = _table()


class IllegalTransition(Exception):
    """An event that the ticket's current state does not allow."""

    i18n_key = "lifecycle.illegal"
    subject = "a ticket"  # what the state machine moves, for the log message

    def __init__(self, state: str, event: str, reason: str = "") -> None:
        self.state = state
        self.event = event
        message = f"{self.subject} in state {state!r} cannot take event {event!r}"
        super().__init__(f"{message}: {reason}" if reason else message)

    def i18n_values(self) -> dict[str, str]:
        """The placeholders for the message template."""
        return {"state": self.state, "event": self.event}


class RoleNotAllowed(IllegalTransition):
    """A legal event sent by a role that may not send it."""

    i18n_key = "lifecycle.forbidden"

    def __init__(self, state: str, event: str, role: str, allowed: frozenset[str]) -> None:
        self.role = role
        self.allowed = allowed
        super().__init__(
            state, event, f"role {role!r} may not; allowed: {', '.join(sorted(allowed))}"
        )

    def i18n_values(self) -> dict[str, str]:
        """The placeholders for the message template."""
        return {**super().i18n_values(), "role": self.role}


def apply(state: str, event: str, role: str) -> str:
    """The state after event, or IllegalTransition (RoleNotAllowed when only the role is wrong)."""
    rule = TRANSITIONS.get((state, event))  # StrEnum keys hash and compare as plain strings
    if rule is None:
        raise IllegalTransition(state, event)
    if role not in rule.roles:
        raise RoleNotAllowed(state, event, role, rule.roles)
    return str(rule.target)


def events_for(state: str, role: str) -> tuple[str, ...]:
    """The events this role may send in this state, in table order (for buttons)."""
    return events_in(TRANSITIONS, state, role)


def events_in(table: Mapping[tuple[str, str], object], state: str, role: str) -> tuple[str, ...]:
    """The events of a transition table (rules with `roles`) this role may send in a state."""
    return tuple(
        str(event)
        for (source, event), rule in table.items()
        if source == state and role in rule.roles  # type: ignore[attr-defined]
    )


def is_final(state: str) -> bool:
    """True when no event leads out of the state."""
    return state in FINAL_STATES
