"""The repair item state machine: every legal transition, guards, illegal moves and roles."""

from __future__ import annotations

import pytest

from bot.domain.repairs import (
    FINAL_STATES,
    OFFICE,
    ROLES,
    TRANSITIONS,
    Event,
    GuardFailed,
    IllegalTransition,
    RoleNotAllowed,
    State,
    Step,
    apply,
    events_for,
    is_final,
)

DESK = {"technician", *OFFICE}
OFFICE_SET = set(OFFICE)
EXPECTED = {
    ("received", "repair_here"): ("repairing", DESK),
    ("received", "send_up"): ("sent_up", DESK),
    ("repairing", "send_up"): ("sent_up", DESK),
    ("repairing", "repaired"): ("back", DESK),
    ("sent_up", "come_back"): ("back", DESK),
    ("back", "return"): ("returned", DESK),
    **{
        (state, event): (target, OFFICE_SET)
        for state in ("received", "repairing", "back")
        for event, target in (
            ("refund", "refunded"),
            ("exchange", "exchanged"),
            ("swap", "swapped"),
        )
    },
    **{
        (state, "lose"): ("lost", OFFICE_SET)
        for state in ("received", "repairing", "sent_up", "back")
    },
}

# A step that satisfies every guard (for the role tests).
FULL = Step(
    note="why",
    shipment="SF 1234",
    accessories_sent=(),
    outcome="repaired",
    signoff="voucher",
    policy_open=True,
)


def test_the_table_is_exactly_the_documented_one() -> None:
    actual = {(str(s), str(e)): (str(r.target), set(r.roles)) for (s, e), r in TRANSITIONS.items()}
    assert actual == EXPECTED


@pytest.mark.parametrize(("key", "expected"), sorted(EXPECTED.items()))
def test_every_legal_transition_for_every_allowed_role(key, expected) -> None:
    (state, event), (target, roles) = key, expected
    for role in roles:
        assert apply(state, event, role, FULL) == target
    for role in ROLES - roles:
        with pytest.raises(RoleNotAllowed) as info:
            apply(state, event, role, FULL)
        assert info.value.role == role


@pytest.mark.parametrize(
    ("state", "event"),
    [
        ("received", "return"),  # never returned without coming back
        ("received", "come_back"),
        ("repairing", "return"),
        ("sent_up", "repaired"),
        ("sent_up", "return"),
        ("sent_up", "refund"),  # away upstream: the policy desk waits
        ("back", "send_up"),
        ("returned", "lose"),
        ("lost", "return"),
        ("refunded", "swap"),
        ("received", "no_such_event"),
        ("no_such_state", "send_up"),
    ],
)
def test_illegal_transitions(state: str, event: str) -> None:
    with pytest.raises(IllegalTransition) as info:
        apply(state, event, "admin", FULL)
    error = info.value
    assert type(error) is IllegalTransition
    assert (error.state, error.event) == (state, event)
    assert error.i18n_key == "repairs.illegal"
    assert error.i18n_values() == {"state": state, "event": event}


@pytest.mark.parametrize(
    ("state", "event", "step", "role", "code"),
    [
        ("received", "send_up", Step(accessories_sent=()), "technician", "shipment_required"),
        ("received", "send_up", Step(shipment="  "), "technician", "shipment_required"),
        ("repairing", "send_up", Step(shipment="SF 1"), "technician", "accessories_required"),
        ("sent_up", "come_back", Step(), "dispatcher", "outcome_required"),
        ("sent_up", "come_back", Step(outcome="broken"), "dispatcher", "outcome_required"),
        ("back", "return", Step(), "technician", "signoff_required"),
        ("back", "return", Step(signoff="maybe"), "technician", "signoff_required"),
        (
            "back",
            "return",
            Step(signoff="voucher", has_voucher=False),
            "technician",
            "no_voucher",
        ),
        ("back", "return", Step(signoff="signature"), "technician", "signature_photo_required"),
        ("back", "return", Step(signoff="unsigned", note=" "), "technician", "reason_required"),
        (
            "back",
            "return",
            Step(signoff="shipped", shipment="川A 12345"),
            "dispatcher",
            "shipped_county_only",
        ),
        ("back", "return", Step(signoff="shipped", county=True), "dispatcher", "shipment_required"),
        ("received", "refund", Step(), "manager", "policy_closed"),
        ("received", "swap", Step(note="customer insists"), "dispatcher", "policy_closed"),
        ("back", "lose", Step(), "manager", "reason_required"),
    ],
)
def test_guards_refuse_with_a_reason(state, event, step, role, code) -> None:
    with pytest.raises(GuardFailed) as info:
        apply(state, event, role, step)
    assert info.value.code == code
    assert info.value.i18n_key == f"repairs.guard.{code}"
    assert isinstance(info.value, IllegalTransition)


@pytest.mark.parametrize(
    ("state", "event", "step", "role", "target"),
    [
        (
            "received",
            "send_up",
            Step(shipment="SF 1", accessories_sent=()),
            "technician",
            "sent_up",
        ),
        (
            "repairing",
            "send_up",
            Step(shipment="SF 1", accessories_sent=("电源线",)),
            "dispatcher",
            "sent_up",
        ),
        ("sent_up", "come_back", Step(outcome="new"), "dispatcher", "back"),
        ("repairing", "repaired", Step(), "technician", "back"),
        ("back", "return", Step(signoff="voucher"), "technician", "returned"),
        (
            "back",
            "return",
            Step(signoff="signature", signature_file_id="AgAD"),
            "technician",
            "returned",
        ),
        ("back", "return", Step(signoff="unsigned", note="客户不在"), "technician", "returned"),
        (
            "back",
            "return",
            Step(signoff="shipped", shipment="川A 12345", county=True, has_voucher=False),
            "dispatcher",
            "returned",
        ),
        ("received", "refund", Step(policy_open=True), "dispatcher", "refunded"),
        ("received", "swap", Step(note="上家同意换新"), "manager", "swapped"),  # manager override
        ("sent_up", "lose", Step(note="物流丢件"), "dispatcher", "lost"),
    ],
)
def test_guards_let_a_complete_step_through(state, event, step, role, target) -> None:
    assert apply(state, event, role, step) == target


def test_final_states_have_no_way_out() -> None:
    assert {str(s) for s in FINAL_STATES} == {
        "returned",
        "refunded",
        "exchanged",
        "swapped",
        "lost",
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
    assert events_for("received", "technician") == ("repair_here", "send_up")
    assert events_for("back", "dispatcher") == ("return", "refund", "exchange", "swap", "lose")
    assert events_for("received", "system") == ()
    assert events_for("returned", "admin") == ()


def test_a_full_path_through_the_upstream_repair() -> None:
    steps = [
        ("send_up", Step(shipment="顺丰 SF100", accessories_sent=())),
        ("come_back", Step(outcome="repaired")),
        ("return", Step(signoff="voucher")),
    ]
    state = "received"
    for event, step in steps:
        state = apply(state, event, "technician", step)
    assert state == "returned" and is_final(state)
