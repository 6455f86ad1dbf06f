"""The ticket state machine: every legal transition, illegal ones, and the role guard."""

from __future__ import annotations

import pytest

from bot.domain.lifecycle import (
    FINAL_STATES,
    ROLES,
    STAFF,
    TRANSITIONS,
    Event,
    IllegalTransition,
    RoleNotAllowed,
    State,
    apply,
    events_for,
    is_final,
)

EXPECTED = {
    ("new", "assign"): ("assigned", {"dispatcher", "manager", "admin"}),
    ("assigned", "accept"): ("accepted", {"technician"}),
    ("assigned", "decline"): ("new", {"technician"}),
    ("assigned", "timeout"): ("new", {"system"}),
    ("accepted", "check_in"): ("on_site", {"technician"}),
    ("on_site", "resolve"): ("resolved", {"technician"}),
    ("on_site", "revisit"): ("needs_revisit", {"technician"}),
    ("on_site", "take_back"): ("taken_back", {"technician"}),
    ("needs_revisit", "reassign"): ("assigned", {"dispatcher", "manager", "admin"}),
    ("taken_back", "return_machine"): ("resolved", {"technician", *STAFF}),
    ("resolved", "close"): ("closed", {"system", *STAFF}),
    ("new", "resolve_by_phone"): ("resolved_by_phone", set(STAFF)),
    ("assigned", "resolve_by_phone"): ("resolved_by_phone", {"technician", *STAFF}),
    ("accepted", "resolve_by_phone"): ("resolved_by_phone", {"technician", *STAFF}),
    ("new", "bring_in"): ("at_station", set(STAFF)),
    ("assigned", "bring_in"): ("at_station", {"technician", *STAFF}),
    ("accepted", "bring_in"): ("at_station", {"technician", *STAFF}),
    **{
        (state, "cancel"): ("cancelled", set(STAFF))
        for state in (
            "new",
            "assigned",
            "accepted",
            "on_site",
            "resolved",
            "needs_revisit",
            "taken_back",
        )
    },
}


def test_the_table_is_exactly_the_documented_one() -> None:
    actual = {(str(s), str(e)): (str(r.target), set(r.roles)) for (s, e), r in TRANSITIONS.items()}
    assert actual == EXPECTED


@pytest.mark.parametrize(("key", "expected"), sorted(EXPECTED.items()))
def test_every_legal_transition_for_every_allowed_role(key, expected) -> None:
    (state, event), (target, roles) = key, expected
    for role in roles:
        assert apply(state, event, role) == target
    for role in ROLES - roles:
        with pytest.raises(RoleNotAllowed) as info:
            apply(state, event, role)
        assert info.value.role == role


@pytest.mark.parametrize(
    ("state", "event"),
    [
        ("new", "resolve"),  # resolve only from on_site
        ("accepted", "resolve"),
        ("assigned", "check_in"),  # must accept first
        ("new", "accept"),
        ("on_site", "decline"),
        ("resolved", "reassign"),
        ("needs_revisit", "check_in"),
        ("taken_back", "close"),
        ("on_site", "resolve_by_phone"),
        ("closed", "cancel"),
        ("cancelled", "cancel"),
        ("resolved_by_phone", "close"),
        ("at_station", "assign"),
        ("new", "no_such_event"),
        ("no_such_state", "assign"),
    ],
)
def test_illegal_transitions(state: str, event: str) -> None:
    with pytest.raises(IllegalTransition) as info:
        apply(state, event, "admin")
    error = info.value
    assert type(error) is IllegalTransition
    assert (error.state, error.event) == (state, event)
    assert error.i18n_key == "lifecycle.illegal"
    assert state in str(error) and event in str(error)
    assert error.i18n_values() == {"state": state, "event": event}


def test_role_guard_is_an_illegal_transition_with_its_own_key() -> None:
    with pytest.raises(IllegalTransition) as info:
        apply("on_site", "resolve", "dispatcher")
    error = info.value
    assert isinstance(error, RoleNotAllowed)
    assert error.i18n_key == "lifecycle.forbidden"
    assert error.i18n_values() == {"state": "on_site", "event": "resolve", "role": "dispatcher"}
    assert "technician" in str(error)
    with pytest.raises(RoleNotAllowed):
        apply("assigned", "timeout", "technician")
    with pytest.raises(RoleNotAllowed):
        apply("new", "assign", "customer")


def test_final_states_have_no_way_out() -> None:
    assert {str(s) for s in FINAL_STATES} == {
        "closed",
        "resolved_by_phone",
        "at_station",
        "cancelled",
    }
    for state in State:
        leaves = any(source == state for source, _ in TRANSITIONS)
        assert leaves != is_final(state)


def test_every_state_and_event_is_used() -> None:
    targets = {rule.target for rule in TRANSITIONS.values()}
    sources = {source for source, _ in TRANSITIONS}
    assert targets | sources == set(State)
    assert {event for _, event in TRANSITIONS} == set(Event)


def test_events_for_role_and_state() -> None:
    assert events_for("on_site", "technician") == ("resolve", "revisit", "take_back")
    assert events_for("new", "dispatcher") == ("assign", "resolve_by_phone", "bring_in", "cancel")
    assert events_for("assigned", "system") == ("timeout",)
    assert events_for("closed", "admin") == ()


def test_a_full_visit_with_a_take_back() -> None:
    steps = [
        ("assign", "dispatcher"),
        ("accept", "technician"),
        ("check_in", "technician"),
        ("take_back", "technician"),
        ("return_machine", "technician"),
        ("close", "system"),
    ]
    state = "new"
    for event, role in steps:
        state = apply(state, event, role)
    assert state == "closed"
