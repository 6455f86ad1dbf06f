"""ADJ-CLOSED as a property: snapshot + carried adjustments = the month computed again."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import Rules
from bot.domain.adjustments import differences, with_adjustments
from bot.domain.models import (
    MonthStatement,
    RecordedEvent,
    Slip,
    StatementLine,
    statement_from_json,
)
from bot.domain.payroll import ALL_STAFF, compute_month
from tests.unit.test_payroll_properties import (
    MONTH,
    NAMES,
    TZ,
    Case,
    cases,
    decode_slip,
    events_strategy,
)

KINDS = ("allowance", "travel", "reward", "deduction")


def compute(case: Case, slips: tuple[Slip, ...], events: tuple[RecordedEvent, ...]):
    return compute_month(MONTH, slips, events, case.rules, TZ, NAMES)


def totals(
    statement: MonthStatement, carried: list[tuple[str, StatementLine]]
) -> dict[tuple[str, str], int]:
    """(technician, kind) -> fen over the statement and the carried lines."""
    result: dict[tuple[str, str], int] = {}
    for tech in statement.technicians:
        for line in tech.lines:
            key = (tech.technician, line.kind)
            result[key] = result.get(key, 0) + line.amount_fen
    for technician, line in carried:
        key = (technician, line.kind)
        result[key] = result.get(key, 0) + line.amount_fen
    return {key: fen for key, fen in result.items() if fen}


@st.composite
def late_changes(draw: st.DrawFn, case: Case) -> list[tuple]:
    """Rounds of changes after the close: new events, voids of earlier events, new slips."""
    rounds = []
    next_event = len(case.events) + 1
    next_slip = len(case.slips) + 1
    for _ in range(draw(st.integers(1, 4))):
        new_events = draw(events_strategy(next_slip - 1, case.rules))
        new_events = tuple(
            replace(e, id=next_event + n, voided=False, adjustment_of=None)
            for n, e in enumerate(new_events)
        )
        next_event += len(new_events)
        new_slips = tuple(
            decode_slip(next_slip + n, code)
            for n, code in enumerate(draw(st.lists(st.integers(0, 2**80), max_size=4)))
        )
        next_slip += len(new_slips)
        voids = draw(st.lists(st.integers(1, max(next_event - 1, 1)), max_size=3))
        rounds.append((new_events, new_slips, set(voids)))
    return rounds


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_snapshot_plus_carried_adjustments_is_the_month_recomputed(data: st.DataObject) -> None:
    case = data.draw(cases())
    slips, events = case.slips, case.events
    # The closed month's snapshot goes through its JSON form, as stored.
    snapshot = statement_from_json(compute(case, slips, events).as_json())
    carried: list[tuple[str, StatementLine]] = []
    for new_events, new_slips, voids in data.draw(late_changes(case)):
        slips = slips + new_slips
        events = tuple(replace(e, voided=e.voided or e.id in voids) for e in events + new_events)
        recomputed = compute(case, slips, events)
        carried += differences(recomputed, snapshot, carried)
        assert totals(snapshot, carried) == totals(recomputed, [])  # kind by kind, to the fen
        assert all(line.adjusts == MONTH and line.amount_fen != 0 for _, line in carried)
        assert differences(recomputed, snapshot, carried) == []  # carrying again adds nothing


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_carrying_only_for_the_people_a_change_concerns_is_enough(data: st.DataObject) -> None:
    """A change's difference is computed for the people it concerns; the rest owe nothing."""
    case = data.draw(cases())
    slips, events = case.slips, case.events
    snapshot = compute(case, slips, events)
    carried: list[tuple[str, StatementLine]] = []
    for new_events, new_slips, voids in data.draw(late_changes(case)):
        changed = [e for e in events if e.id in voids and not e.voided] + list(new_events)
        concerned = {s.technician for s in new_slips} | {e.technician for e in changed}
        if ALL_STAFF in concerned:
            concerned |= set(NAMES)
        slips = slips + new_slips
        events = tuple(replace(e, voided=e.voided or e.id in voids) for e in events + new_events)
        recomputed = compute(case, slips, events)
        carried += differences(recomputed, snapshot, carried, concerned)
        assert totals(snapshot, carried) == totals(recomputed, [])


def test_adjustment_lines_are_added_to_the_open_month_and_counted_in_their_kind() -> None:
    own = compute_month(MONTH, [], [], Rules(), TZ)
    lines = [
        ("张伟", StatementLine("ALW-RATE", -200, "slip 3", "clawed back", "allowance", "2026-10")),
        ("张伟", StatementLine("DED-COMPLAINT", -5000, "event 9", "void", "deduction", "2026-10")),
    ]
    statement = with_adjustments(own, lines)
    (zhang,) = statement.technicians
    assert (zhang.allowance_fen, zhang.deduction_fen, zhang.net_fen) == (-200, -5000, 4800)
    assert zhang.as_json()["lines"][0]["adjusts"] == "2026-10"
    # As stored in a snapshot (notes rendered, the adjustment mark included) it reads back whole.
    assert statement_from_json(statement.as_json()).as_json() == statement.as_json()
