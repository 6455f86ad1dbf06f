"""The repair item state machine (RMA-*, RULES.md sections 7 and 10): which event moves an item
taken in from which state, who may send it, and what each step must carry."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from bot.domain import lifecycle


class State(StrEnum):
    RECEIVED = "received"  # taken in and registered (RMA-VOUCHER)
    REPAIRING = "repairing"  # repaired at the station
    SENT_UP = "sent_up"  # 返货: sent up for repair or exchange (RMA-SEND)
    BACK = "back"  # repaired or new, at the station again (RMA-BACK)
    RETURNED = "returned"  # back with the customer, signed off or why not (RMA-SIGNOFF)
    REFUNDED = "refunded"  # POL-REFUND
    EXCHANGED = "exchanged"  # POL-EXCHANGE (调货)
    SWAPPED = "swapped"  # POL-SWAP (换新)
    LOST = "lost"  # RMA-LOST


class Event(StrEnum):
    REPAIR_HERE = "repair_here"
    SEND_UP = "send_up"
    COME_BACK = "come_back"  # from upstream, repaired or new
    REPAIRED = "repaired"  # repaired at the station
    RETURN = "return"
    REFUND = "refund"
    EXCHANGE = "exchange"
    SWAP = "swap"
    LOSE = "lose"


class Outcome(StrEnum):
    REPAIRED = "repaired"
    NEW = "new"


class SignOff(StrEnum):
    """How a return was signed off (RMA-BACK, RMA-SIGNOFF)."""

    VOUCHER = "voucher"  # the voucher was taken back
    SIGNATURE = "signature"  # a photo of the signature (copy 1 signed by the responsible person)
    SHIPPED = "shipped"  # county company: sent with the vehicle number and the list of items
    UNSIGNED = "unsigned"  # could not be signed: the reason is required


TECHNICIAN = frozenset({"technician"})
OFFICE = frozenset({"dispatcher", "manager", "admin"})
MANAGERS = frozenset({"manager", "admin"})
SYSTEM = frozenset({"system"})
ROLES = OFFICE | TECHNICIAN | SYSTEM
DESK = OFFICE | TECHNICIAN  # anyone at the repair desk

FINAL_STATES = frozenset(
    {State.RETURNED, State.REFUNDED, State.EXCHANGED, State.SWAPPED, State.LOST}
)
OPEN_STATES = tuple(state for state in State if state not in FINAL_STATES)
# The policy desk settles an item that is at the station (not while it is away upstream).
POLICY_FROM = (State.RECEIVED, State.REPAIRING, State.BACK)
POLICY_EVENTS = {Event.REFUND: "refund", Event.EXCHANGE: "exchange", Event.SWAP: "swap"}


@dataclass(frozen=True)
class Step:
    """What a transition carries; each event's guard checks the fields it needs."""

    note: str = ""
    shipment: str = ""  # carrier and waybill, or vehicle number (RMA-SEND, RMA-BACK)
    accessories_sent: tuple[str, ...] | None = None  # None: not declared; () declared none
    outcome: str = ""  # Outcome, for come_back (repaired at the station implies repaired)
    signoff: str = ""  # SignOff, for return
    signature_file_id: str = ""  # the photo, for SignOff.SIGNATURE
    has_voucher: bool = True  # county companies get none (RMA-VOUCHER)
    policy_open: bool = False  # the policy desk (bot.domain.policy) says this option is open
    county: bool = False  # the item belongs to a county company


# A guard returns None when the step may happen, else a reason code (i18n repairs.guard.<code>).
Guard = Callable[[Step, str], "str | None"]


def _send_up(step: Step, role: str) -> str | None:
    if not step.shipment.strip():
        return "shipment_required"
    if step.accessories_sent is None:
        return "accessories_required"
    return None


def _come_back(step: Step, role: str) -> str | None:
    return None if step.outcome in set(Outcome) else "outcome_required"


def _return(step: Step, role: str) -> str | None:
    if step.signoff not in set(SignOff):
        return "signoff_required"
    if step.signoff == SignOff.VOUCHER and not step.has_voucher:
        return "no_voucher"
    if step.signoff == SignOff.SIGNATURE and not step.signature_file_id:
        return "signature_photo_required"
    if step.signoff == SignOff.SHIPPED:
        if not step.county:
            return "shipped_county_only"
        if not step.shipment.strip():
            return "shipment_required"
    if step.signoff == SignOff.UNSIGNED and not step.note.strip():
        return "reason_required"
    return None


def _policy(step: Step, role: str) -> str | None:
    # A manager may settle against the policy desk's answer, with a note saying why.
    if step.policy_open:
        return None
    if role in MANAGERS and step.note.strip():
        return None
    return "policy_closed"


def _lose(step: Step, role: str) -> str | None:
    return None if step.note.strip() else "reason_required"


@dataclass(frozen=True)
class Rule:
    """Where an event leads, which roles may send it, and what it must carry."""

    target: State
    roles: frozenset[str]
    guard: Guard | None = None


def _table() -> dict[tuple[State, Event], Rule]:
    """Build the transition table."""
    table: dict[tuple[State, Event], Rule] = {
        (State.RECEIVED, Event.REPAIR_HERE): Rule(State.REPAIRING, DESK),
        (State.RECEIVED, Event.SEND_UP): Rule(State.SENT_UP, DESK, _send_up),
        (State.REPAIRING, Event.SEND_UP): Rule(State.SENT_UP, DESK, _send_up),
        (State.REPAIRING, Event.REPAIRED): Rule(State.BACK, DESK),
        (State.SENT_UP, Event.COME_BACK): Rule(State.BACK, DESK, _come_back),
        (State.BACK, Event.RETURN): Rule(State.RETURNED, DESK, _return),
    }
    for state in POLICY_FROM:
        for event, target in (
            (Event.REFUND, State.REFUNDED),
            (Event.EXCHANGE, State.EXCHANGED),
            (Event.SWAP, State.SWAPPED),
        ):
            table[(state, event)] = Rule(target, OFFICE, _policy)
    for state in OPEN_STATES:
        table[(state, Event.LOSE)] = Rule(State.LOST, OFFICE, _lose)
    return table


TRANSITIONS: Mapping[tuple[State, Event], Rule] = _table()


class IllegalTransition(lifecycle.IllegalTransition):
    """An event that the item's current state does not allow."""

    i18n_key = "repairs.illegal"
    subject = "a repair item"


class RoleNotAllowed(IllegalTransition, lifecycle.RoleNotAllowed):
    """A legal event sent by a role that may not send it."""

    i18n_key = "repairs.forbidden"


class GuardFailed(IllegalTransition):
    """A legal event whose step lacks what the rule requires (a shipment, a sign-off...)."""

    def __init__(self, state: str, event: str, code: str) -> None:
        self.code = code
        self.i18n_key = f"repairs.guard.{code}"
        super().__init__(state, event, code)


def apply(state: str, event: str, role: str, step: Step | None = None) -> str:
    """The state after event, or IllegalTransition (RoleNotAllowed, GuardFailed)."""
    rule = TRANSITIONS.get((state, event))  # StrEnum keys hash and compare as plain strings
    if rule is None:
        raise IllegalTransition(state, event)
    if role not in rule.roles:
        raise RoleNotAllowed(state, event, role, rule.roles)
    if rule.guard is not None:
        code = rule.guard(step or Step(), role)
        if code is not None:
            raise GuardFailed(state, event, code)
    return str(rule.target)


def events_for(state: str, role: str) -> tuple[str, ...]:
    """The events this role may send in this state, in table order (for buttons)."""
    return lifecycle.events_in(TRANSITIONS, state, role)


def is_final(state: str) -> bool:
    """True when no event leads out of the state."""
    return state in FINAL_STATES
