"""bot.domain.payroll: the monthly statement rules of docs/rules.md sections 4-7, line by line."""

from __future__ import annotations

import csv
import gc
import json
import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.config import AllowanceRules, DeductionRules, RewardRules, Rules, TravelRules
from bot.domain.geo import geodesic_m
from bot.domain.line_text import NoteRenderer, note_text
from bot.domain.models import (
    MonthStatement,
    Reason,
    RecordedEvent,
    Slip,
    StatementLine,
    TechnicianStatement,
    line_note,
)
from bot.domain.payroll import (
    EVENT_RULES,
    RULE_TITLES,
    _line,
    cap_slips,
    compute_month,
    compute_technician,
    config_amount,
    format_yuan,
    month_bounds,
    month_of,
    revenue_reward_fen,
    split_among_staff,
    staff_order,
    staff_shares,
    travel_fen,
    travel_quote,
    validate_event_amount,
)
from tests.conftest import EXAMPLES, RULES_DOC

TZ = ZoneInfo("Asia/Shanghai")
RULES = Rules()
MONTH = "2026-11"
STATION = (30.6570, 104.0660)


def at(day: int, hour: int = 10, minute: int = 0, month: int = 11) -> datetime:
    """A local Asia/Shanghai moment in 2026."""
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


def slip(
    id: int,
    *,
    technician: str = "A",
    day: int = 2,
    customer_class: str = "industry",
    netcafe: bool = False,
    machine: str = "single",
    service_type: str = "hardware",
    complete: bool = True,
    satisfaction: str | None = "satisfied",
    distance_m: float = 0.0,
    revenue_fen: int = 0,
    check_out: datetime | None = None,
    customer: str | None = None,
) -> Slip:
    """A slip checked out at 10:50 on `day` of November unless told otherwise."""
    out = check_out or at(day, 10, 50)
    return Slip(
        id=id,
        technician=technician,
        customer=customer or f"customer-{id}",
        customer_class=customer_class,
        netcafe=netcafe,
        machine=machine,
        service_type=service_type,
        check_in=out - timedelta(minutes=50),
        check_out=out,
        complete=complete,
        satisfaction=satisfaction,
        distance_m=distance_m,
        revenue_fen=revenue_fen,
    )


def home(id: int, **kw: Any) -> Slip:
    """A home single-machine slip (class other, machine single)."""
    return slip(id, customer_class="other", machine="single", **kw)


def event(id: int, rule: str, *, technician: str = "A", day: int = 20, **kw: Any) -> RecordedEvent:
    """An event recorded on `day` of November."""
    return RecordedEvent(id=id, technician=technician, rule=rule, day=date(2026, 11, day), **kw)


def month(
    slips: Sequence[Slip],
    events: Sequence[RecordedEvent] = (),
    rules: Rules = RULES,
    staff: Sequence[str] = (),
) -> MonthStatement:
    """November 2026 for everyone."""
    return compute_month(MONTH, slips, events, rules, TZ, staff)


def en(line: StatementLine) -> str:
    """The line's note in English."""
    return note_text(line, "en")


def zh(line: StatementLine) -> str:
    """The line's note in Chinese."""
    return note_text(line, "zh-CN")


def only(
    slips: Sequence[Slip], events: Sequence[RecordedEvent] = (), rules: Rules = RULES
) -> TechnicianStatement:
    """The single technician's statement."""
    (statement,) = month(slips, events, rules).technicians
    return statement


def lines_for(
    statement: TechnicianStatement, ref: str, kind: str | None = None
) -> list[StatementLine]:
    return [ln for ln in statement.lines if ln.ref == ref and (kind is None or ln.kind == kind)]


def allowance_line(statement: TechnicianStatement, slip_id: int) -> StatementLine:
    (line,) = lines_for(statement, f"slip {slip_id}", "allowance")
    return line


def travel_line(statement: TechnicianStatement, slip_id: int) -> StatementLine:
    (line,) = lines_for(statement, f"slip {slip_id}", "travel")
    return line


# --- worked examples of docs/rules.md --------------------------------------------------------------


def test_worked_example_1_home_cap_drops_the_two_latest_home_slips() -> None:
    slips = [home(n, day=n) for n in range(1, 8)] + [slip(n, day=n) for n in range(8, 11)]
    statement = only(slips)
    assert statement.allowance_fen == 1600
    assert (statement.slips, statement.settled) == (10, 8)
    assert [allowance_line(statement, n).rule for n in (6, 7)] == ["ALW-CAP-HOME"] * 2
    assert all(allowance_line(statement, n).amount_fen == 200 for n in (1, 2, 3, 4, 5, 8, 9, 10))
    assert [en(allowance_line(statement, n)) for n in (6, 7)] == [
        "Over the home single-machine cap: 11-06 customer-6, home single-machine slips over the"
        " 50% cap (no. 6 of 5 allowed)",
        "Over the home single-machine cap: 11-07 customer-7, home single-machine slips over the"
        " 50% cap (no. 7 of 5 allowed)",
    ]
    assert zh(allowance_line(statement, 6)) == (
        "超出家庭单机服务比例：11-06 customer-6，家庭单机超过 50% 上限（第 6/5 张）"
    )


def test_worked_example_2_software_cap_drops_the_later_software_slip() -> None:
    types = ["hardware", "software", "hardware", "software", "hardware"]
    slips = [
        slip(n, day=n, customer_class="network", machine="network", service_type=kind)
        for n, kind in enumerate(types, start=1)
    ]
    statement = only(slips)
    assert statement.allowance_fen == 800
    assert allowance_line(statement, 2).rule == "ALW-RATE"
    assert allowance_line(statement, 4).rule == "ALW-CAP-SW"
    assert allowance_line(statement, 4).amount_fen == 0


def test_worked_example_3_only_the_satisfied_netcafe_slip_counts() -> None:
    slips = [
        slip(1, day=4, customer_class="network", netcafe=True, machine="network"),
        home(2, day=5, satisfaction="neutral"),
        home(3, day=6, satisfaction="dissatisfied"),
    ]
    statement = only(slips)
    assert statement.allowance_fen == 300
    assert statement.deduction_fen == 5000
    assert (
        en(allowance_line(statement, 1))
        == "Slip allowance: 11-04 customer-1, net café rate 3.00 元"
    )
    assert zh(allowance_line(statement, 2)).endswith("客户评价「一般」，不结算")
    assert zh(allowance_line(statement, 3)).endswith("客户评价「不满意」，不结算")
    assert allowance_line(statement, 2).rule == "ALW-UNSETTLED"
    assert allowance_line(statement, 3).rule == "DED-DISSAT"
    (dissat,) = lines_for(statement, "slip 3", "deduction")
    assert (dissat.rule, dissat.amount_fen) == ("DED-DISSAT", 5000)


def test_worked_example_4_round_trip_travel_is_24_96_yuan() -> None:
    assert travel_fen(12_000.0, TravelRules()) == 2496
    distance = geodesic_m(STATION, (30.656940, 104.191203))
    statement = only([slip(1, distance_m=distance)])
    assert travel_line(statement, 1).amount_fen == 2496
    assert travel_line(statement, 1).rule == "TRV-HOW"


# --- section 4: allowance -------------------------------------------------------------------


def test_alw_rate_decision_netcafe_then_network_then_single() -> None:
    rules = replace(
        RULES,
        allowance=AllowanceRules(rate_single_fen=150, rate_network_fen=250, rate_netcafe_fen=350),
    )
    slips = [
        slip(1, customer_class="network", netcafe=True, machine="network"),
        slip(2, customer_class="network", machine="single"),
        slip(3, customer_class="other", machine="network"),
        slip(4, customer_class="industry", machine="single"),
        slip(5, customer_class="other", netcafe=True, machine="single"),  # netcafe only for network
    ]
    statement = only(slips, rules=rules)
    assert [allowance_line(statement, n).amount_fen for n in range(1, 6)] == [
        350,
        250,
        250,
        150,
        150,
    ]


def test_alw_unsettled_incomplete_or_not_satisfied() -> None:
    slips = [
        slip(1, complete=False),
        slip(2, satisfaction="neutral"),
        slip(3, satisfaction=None),
        slip(4),
    ]
    statement = only(slips)
    assert [allowance_line(statement, n).rule for n in (1, 2, 3)] == ["ALW-UNSETTLED"] * 3
    assert en(allowance_line(statement, 1)).endswith("slip incomplete: not settled")
    assert en(allowance_line(statement, 2)).endswith("customer chose neutral: not settled")
    assert en(allowance_line(statement, 3)).endswith("no satisfaction given: not settled")
    assert statement.allowance_fen == 200
    assert statement.settled == 1


def test_ded_dissat_deducts_even_for_an_incomplete_slip_and_is_not_settled() -> None:
    statement = only([slip(1, complete=False, satisfaction="dissatisfied")])
    assert allowance_line(statement, 1).rule == "DED-DISSAT"
    assert statement.deduction_fen == RULES.deductions.dissatisfied_fen


def test_alw_cap_how_denominator_is_slips_passing_alw_unsettled() -> None:
    # 4 settled home slips + 4 unsettled: denominator 4, home cap 2 (not 4 of 8).
    slips = [home(n, day=n) for n in range(1, 5)] + [
        slip(n, day=n, satisfaction="neutral") for n in range(5, 9)
    ]
    statement = only(slips)
    assert statement.allowance_fen == 400
    assert [allowance_line(statement, n).rule for n in (3, 4)] == ["ALW-CAP-HOME"] * 2


def test_alw_cap_how_floor_is_exact_not_floating_point() -> None:
    assert 0.29 * 100 < 29  # the float product would floor to 28
    assert cap_slips(Fraction(29, 100), 100) == 29
    assert cap_slips(Fraction(1, 2), 7) == 3
    assert cap_slips(Fraction(1, 5), 4) == 0
    rules = replace(RULES, allowance=replace(RULES.allowance, cap_home_share=Fraction(29, 100)))
    slips = [home(n, check_out=at(1) + timedelta(minutes=n)) for n in range(1, 101)]
    assert only(slips, rules=rules).settled == 29


def _ordering_slips() -> list[Slip]:
    """Home slips whose ALW-CAP-HOW order is 5, 4, 3, 2, 1 although ids and check-ins differ."""
    same_out = at(9, 17)
    return [
        home(1, check_out=same_out, customer="Bai")._replace(check_in=at(9, 9)),
        home(2, check_out=same_out, customer="Bai")._replace(check_in=at(9, 8)),
        home(3, check_out=same_out, customer="Ai")._replace(check_in=at(9, 8)),
        home(4, check_out=at(9, 16, 30))._replace(check_in=at(9, 16)),  # checked in last
        home(5, check_out=at(3))._replace(check_in=at(3, 9)),
    ]


@pytest.mark.parametrize(
    ("others", "paid"),
    [
        (0, {5, 4}),  # denominator 5, home cap 2
        (1, {5, 4, 3}),  # denominator 6, cap 3: same check-out and check-in, "Ai" before "Bai"
        (3, {5, 4, 3, 2}),  # denominator 8, cap 4: same check-out, 08:00 check-in before 09:00
    ],
)
def test_alw_cap_how_latest_by_check_out_then_check_in_then_customer(
    others: int, paid: set[int]
) -> None:
    fillers = [slip(100 + n, day=1) for n in range(others)]
    statement = only([*_ordering_slips(), *fillers])
    rules = {n: allowance_line(statement, n).rule for n in range(1, 6)}
    assert {n for n, rule in rules.items() if rule == "ALW-RATE"} == paid
    assert {n for n, rule in rules.items() if rule == "ALW-CAP-HOME"} == {1, 2, 3, 4, 5} - paid


def test_alw_cap_how_full_ties_fall_back_to_the_slip_id() -> None:
    twins = [home(n, check_out=at(9, 17), customer="Same") for n in (7, 3)]
    statement = only([*twins, slip(1, day=1)])  # denominator 3, home cap 1
    assert allowance_line(statement, 3).rule == "ALW-RATE"
    assert allowance_line(statement, 7).rule == "ALW-CAP-HOME"


def test_caps_apply_independently_and_a_slip_over_both_names_the_home_cap() -> None:
    # 5 settled slips: home cap 2, software cap 1.
    slips = [
        home(1, day=1, service_type="software"),
        home(2, day=2, service_type="software"),  # over software (2nd sw) only
        home(3, day=3, service_type="software"),  # over home (3rd home) and software
        slip(4, day=4),
        slip(5, day=5),
    ]
    statement = only(slips)
    assert allowance_line(statement, 1).rule == "ALW-RATE"
    assert allowance_line(statement, 2).rule == "ALW-CAP-SW"
    both = allowance_line(statement, 3)
    assert both.rule == "ALW-CAP-HOME"
    assert "50% cap (no. 3 of 2 allowed)" in en(both) and "20% cap (no. 3 of 1 allowed)" in en(both)
    assert statement.allowance_fen == 600


def test_a_home_slip_paid_under_its_cap_still_uses_a_software_slot() -> None:
    # home cap floor(0.5 × 10) = 5, software cap 2; slip 3 is software and over the home cap.
    slips = [home(n, day=n) for n in (1, 2)] + [
        home(3, day=3, service_type="software"),
        home(4, day=4),
        home(5, day=5),
        home(6, day=6),
        slip(7, day=7, service_type="software"),
        slip(8, day=8, service_type="software"),
        slip(9, day=9),
        slip(10, day=10),
    ]
    statement = only(slips)
    assert allowance_line(statement, 3).rule == "ALW-RATE"  # home #3, software #1
    assert allowance_line(statement, 6).rule == "ALW-CAP-HOME"  # home #6
    assert allowance_line(statement, 7).rule == "ALW-RATE"  # software #2
    assert allowance_line(statement, 8).rule == "ALW-CAP-SW"  # software #3


def test_alw_beyond_unsettles_the_slip_and_its_amount_is_optional() -> None:
    slips = [home(1, day=1), home(2, day=2)]
    events = [event(1, "ALW-BEYOND", slip_id=1), event(2, "ALW-BEYOND", slip_id=2, amount_fen=3000)]
    statement = only(slips, events)
    assert allowance_line(statement, 1).rule == "ALW-BEYOND"
    assert allowance_line(statement, 2).rule == "ALW-BEYOND"
    assert [ln.amount_fen for ln in lines_for(statement, "event 1")] == [0]
    assert [ln.amount_fen for ln in lines_for(statement, "event 2")] == [3000]
    assert statement.deduction_fen == 3000
    assert statement.allowance_fen == 0


def test_alw_beyond_slip_leaves_the_cap_denominator() -> None:
    slips = [home(1, day=1), slip(2, day=2), slip(3, day=3)]
    beyond = [event(1, "ALW-BEYOND", slip_id=2)]
    assert only(slips).settled == 3  # home cap floor(1.5) = 1
    statement = only(slips, beyond)  # denominator 2, home cap 1: slip 1 still paid
    assert allowance_line(statement, 1).rule == "ALW-RATE"
    statement = only(slips, [event(1, "ALW-BEYOND", slip_id=3), *beyond])
    assert allowance_line(statement, 1).rule == "ALW-CAP-HOME"  # denominator 1, cap 0


@pytest.mark.parametrize(
    ("rule", "amount"),
    [("ALW-FORFEIT-FALSE", 20000), ("ALW-FORFEIT-UNREPORTED", 10000), ("DED-PRIVATE", 10000)],
)
def test_forfeit_zeroes_the_month_but_keeps_ded_dissat_and_travel(rule: str, amount: int) -> None:
    slips = [
        slip(1, day=1, distance_m=12_000.0),
        slip(2, day=2, satisfaction="dissatisfied", distance_m=12_000.0),
        slip(3, day=3, revenue_fen=12_000),
    ]
    statement = only(slips, [event(9, rule)])
    assert statement.allowance_fen == 0
    assert statement.settled == 0
    assert {allowance_line(statement, n).rule for n in (1, 2, 3)} == {rule}
    assert en(allowance_line(statement, 2)).endswith(
        f"the month's allowance is forfeited ({rule}, event #9); it would not have been settled"
        " anyway: customer dissatisfied: not settled"
    )
    assert statement.deduction_fen == 5000 + amount
    assert statement.travel_fen == 2 * 2496
    assert statement.reward_fen == 1200


def test_forfeit_deduction_is_added_once_per_recorded_event() -> None:
    events = [event(1, "DED-PRIVATE"), event(2, "DED-PRIVATE"), event(3, "ALW-FORFEIT-UNREPORTED")]
    statement = only([slip(1)], events)
    assert statement.deduction_fen == 10000 + 10000 + 10000
    assert allowance_line(statement, 1).rule == "DED-PRIVATE"  # the first forfeit names it
    assert "(DED-PRIVATE, event #1)" in en(allowance_line(statement, 1))


def test_alw_forfeit_false_unpays_the_named_slip_travel_only() -> None:
    slips = [slip(1, day=1, distance_m=12_000.0), slip(2, day=2, distance_m=12_000.0)]
    statement = only(slips, [event(5, "ALW-FORFEIT-FALSE", slip_id=2)])
    assert travel_line(statement, 1).amount_fen == 2496
    assert travel_line(statement, 2).amount_fen == 0
    assert en(travel_line(statement, 2)).endswith("slip found false (event #5): no travel paid")
    assert en(travel_line(statement, 1)).endswith(
        "round trip 2 × 12.000 km × factor 1.3 × 0.80 元/km"
    )
    assert statement.deduction_fen == 20000
    assert statement.allowance_fen == 0


@pytest.mark.parametrize(
    ("rule", "amount"),
    [("DED-COMPLAINT", 5000), ("DED-CONDUCT", 1000), ("DED-LATE", 1000)],
)
def test_fixed_deductions_each_time(rule: str, amount: int) -> None:
    statement = only([slip(1)], [event(1, rule), event(2, rule)])
    assert statement.deduction_fen == 2 * amount
    assert [ln.rule for ln in statement.lines if ln.kind == "deduction"] == [rule, rule]
    assert statement.allowance_fen == 200  # not a forfeit


def test_fixed_amounts_come_from_config_not_code() -> None:
    rules = replace(RULES, deductions=DeductionRules(complaint_fen=1234))
    statement = only([], [event(1, "DED-COMPLAINT")], rules=rules)
    assert statement.deduction_fen == 1234


# --- section 5: travel ------------------------------------------------------------------------


def test_trv_roundtrip_pays_both_ways() -> None:
    # 1 km one way: 2 × 1 × 1.3 × 0.80 元 = 2.08 元
    assert travel_fen(1000.0, TravelRules()) == 208


def test_trv_how_rounds_half_up_on_the_exact_value_of_the_distance() -> None:
    # 31.25 m: 2 × 0.03125 × 1.3 × 80 = 6.5 fen exactly -> 7 (banker's rounding would give 6)
    assert travel_fen(31.25, TravelRules()) == 7
    # this float is just below 16.826923...: exactly 3.4999... fen -> 3 (naive float math says 4)
    assert round(2 * (16.826923076923077 / 1000) * 1.3 * 80, 9) == 3.5
    assert travel_fen(16.826923076923077, TravelRules()) == 3
    plain = TravelRules(rate_per_km_fen=1, road_factor=Fraction(1))
    assert [travel_fen(d, plain) for d in (249.99, 250.0, 750.0, 1250.0)] == [0, 1, 2, 3]


def test_trv_how_minimum() -> None:
    rules = TravelRules(minimum_fen=500)
    assert travel_fen(1000.0, rules) == 500
    assert (
        NoteRenderer("en")
        .why(travel_quote(1000.0, rules)[1])
        .endswith("raised to the minimum 5.00 元")
    )
    assert travel_fen(12_000.0, rules) == 2496
    assert travel_fen(0.0, rules) == 500


def test_trv_how_zones_first_zone_whose_radius_covers_the_site() -> None:
    rules = TravelRules(mode="zones", zones=((Fraction(8), 1000), (Fraction(30), 3000)))
    assert travel_fen(5_000.0, rules) == 1000
    assert travel_fen(8_000.0, rules) == 1000  # on the radius: still zone 1
    assert travel_fen(8_000.001, rules) == 3000
    assert travel_fen(30_000.0, rules) == 3000
    amount, reason = travel_quote(30_000.5, rules)
    assert amount == 3000 and reason.key == "travel_beyond"  # the last zone's amount, said so
    assert NoteRenderer("en").why(reason) == (
        "site 30.000 km away, beyond the last travel zone (up to 30 km): paid as zone 2"
    )
    assert NoteRenderer("zh-CN").why(travel_quote(8_000.0, rules)[1]) == (
        "第 1 区（8 km 以内），距离 8.000 km"
    )


def test_trv_how_rejects_impossible_distances() -> None:
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="distance"):
            travel_fen(bad, TravelRules())


def test_travel_is_paid_whatever_the_satisfaction_or_completeness() -> None:
    slips = [
        slip(1, satisfaction="dissatisfied", distance_m=1000.0),
        slip(2, complete=False, satisfaction=None, distance_m=1000.0),
    ]
    statement = only(slips)
    assert statement.travel_fen == 2 * 208
    assert all(ln.rule == "TRV-HOW" for ln in statement.lines if ln.kind == "travel")


# --- section 6: rewards -----------------------------------------------------------------------


def test_rwd_revenue_ten_percent_half_up() -> None:
    assert revenue_reward_fen(12_000, RULES) == 1200
    assert revenue_reward_fen(12_000, RULES.rewards) == 1200
    assert [revenue_reward_fen(r, RULES) for r in (4, 5, 15, 25, 0, -100)] == [0, 1, 2, 3, 0, 0]


def test_rwd_revenue_one_line_per_visit_whatever_the_satisfaction() -> None:
    slips = [
        slip(1, revenue_fen=12_000, satisfaction="dissatisfied"),
        slip(2, revenue_fen=555),
        slip(3),
    ]
    statement = only(slips)
    rewards = [ln for ln in statement.lines if ln.rule == "RWD-REVENUE"]
    assert [(ln.ref, ln.amount_fen) for ln in rewards] == [("slip 1", 1200), ("slip 2", 56)]
    assert statement.reward_fen == 1256


def test_rwd_suggest_amount_set_by_the_manager_within_bounds() -> None:
    statement = only([], [event(1, "RWD-SUGGEST", amount_fen=2000)])
    assert (statement.reward_fen, statement.lines[0].kind) == (2000, "reward")
    assert validate_event_amount("RWD-SUGGEST", 1000, RULES) == 1000
    assert validate_event_amount("RWD-SUGGEST", 5000, RULES) == 5000
    for bad in (999, 5001, None):
        with pytest.raises(ValueError, match="RWD-SUGGEST"):
            validate_event_amount("RWD-SUGGEST", bad, RULES)
    with pytest.raises(ValueError, match="needs an amount"):
        only([], [event(1, "RWD-SUGGEST")])


def test_ded_private_forfeits_and_deducts() -> None:
    statement = only([slip(1)], [event(1, "DED-PRIVATE")])
    assert (statement.allowance_fen, statement.deduction_fen) == (0, 10000)


# --- section 7: repair returns ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "amount"),
    [
        ("RMA-REGISTER", 1000),
        ("RMA-SIGNOFF", 500),
        ("RMA-10DAY", 1000),
        ("RMA-20DAY", 2000),
        ("RMA-PAPERWORK", 500),
        ("RMA-DELAY", 1000),
    ],
)
def test_rma_fixed_deductions(rule: str, amount: int) -> None:
    statement = only([], [event(1, rule)])
    assert [(ln.rule, ln.amount_fen, ln.kind, ln.ref) for ln in statement.lines] == [
        (rule, amount, "deduction", "event 1")
    ]


def test_rma_10day_and_20day_are_cumulative() -> None:
    statement = only([], [event(1, "RMA-10DAY", day=11), event(2, "RMA-20DAY", day=21)])
    assert statement.deduction_fen == 3000


def test_rma_lost_by_the_person_who_took_it_in() -> None:
    statement = only([], [event(1, "RMA-LOST", amount_fen=45_678)])
    assert statement.deduction_fen == 45_678
    with pytest.raises(ValueError, match="needs an amount"):
        only([], [event(1, "RMA-LOST")])


def test_rma_lost_by_all_staff_equal_shares_remainder_to_first_names_in_pinyin_order() -> None:
    staff = ["王强", "刘洋", "张伟"]  # pinyin: liu < wang < zhang (code points: 刘 < 张 < 王)
    lost = event(1, "RMA-LOST", technician="*", amount_fen=1001)
    result = month([slip(1, technician="张伟")], [lost], staff=staff)
    by_name = {t.technician: t for t in result.technicians}
    assert [t.technician for t in result.technicians] == ["刘洋", "张伟", "王强"]
    assert {n: t.deduction_fen for n, t in by_name.items()} == {
        "刘洋": 334,
        "王强": 334,
        "张伟": 333,
    }
    assert sum(t.deduction_fen for t in result.technicians) == 1001
    assert all(
        ln.ref == "event 1" for t in result.technicians for ln in t.lines if ln.kind == "deduction"
    )
    assert en(by_name["王强"].lines[0]).startswith(
        "Lost repair item: 11-20, 10.01 元 split equally"
    )
    assert "10.01 元由 3 人平均分摊" in zh(by_name["王强"].lines[0])


def test_staff_order_is_pinyin_then_code_point() -> None:
    assert staff_order(["张伟", "王强", "刘洋", "Anna", "李娜", "李娜"]) == [
        "Anna",
        "李娜",
        "刘洋",
        "王强",
        "张伟",
    ]
    # 张 and 章 both read zhang: the tie goes by code point (张 U+5F20 < 章 U+7AE0)
    assert staff_order(["章伟", "张伟"]) == ["张伟", "章伟"]
    assert staff_shares(100, ["王强", "刘洋", "张伟"]) == (("刘洋", 34), ("王强", 33), ("张伟", 33))
    assert staff_shares(100, []) == ()


def test_rma_lost_for_all_staff_uses_its_stored_shares_and_never_crashes_without_staff() -> None:
    lost = event(1, "RMA-LOST", technician="*", amount_fen=1000)
    # No shares stored and no staff: the event stays whole under "*" rather than failing.
    alone = month([], [lost])
    assert [(t.technician, t.deduction_fen) for t in alone.technicians] == [("*", 1000)]
    stored = replace(lost, shares=(("甲", 600), ("乙", 400)))
    result = month([], [stored], staff=["丙"])  # later staff change nothing
    assert [(t.technician, t.deduction_fen) for t in result.technicians] == [
        ("乙", 400),
        ("甲", 600),
    ]
    with pytest.raises(ValueError, match="only RMA-LOST"):
        month([], [event(2, "DED-COMPLAINT", technician="*")], staff=["A"])
    shares = split_among_staff(lost, ["B", "A", "A"])  # duplicates count once
    assert [(e.technician, e.amount_fen) for e in shares] == [("A", 500), ("B", 500)]


# --- recorded events: shape and validation ----------------------------------------------------


def test_event_rules_cover_every_recorded_rule_of_the_contract() -> None:
    recorded = {
        "DED-COMPLAINT", "DED-CONDUCT", "DED-LATE", "ALW-BEYOND", "ALW-FORFEIT-FALSE",
        "ALW-FORFEIT-UNREPORTED", "DED-PRIVATE", "RWD-SUGGEST", "RMA-LOST", "RMA-SIGNOFF",
        "RMA-PAPERWORK", "RMA-DELAY", "RMA-REGISTER", "RMA-10DAY", "RMA-20DAY", "DED-OTHER",
    }  # fmt: skip
    assert set(EVENT_RULES) == recorded
    assert {r for r, i in EVENT_RULES.items() if i.kind == "reward"} == {"RWD-SUGGEST"}
    assert {r for r, i in EVENT_RULES.items() if i.amount == "required"} == {
        "RWD-SUGGEST",
        "RMA-LOST",
        "DED-OTHER",
    }
    assert {r for r, i in EVENT_RULES.items() if i.note_required} == {"DED-OTHER"}
    assert RULE_TITLES["DED-OTHER"][0] and RULE_TITLES["DED-OTHER"][1]
    assert {r for r, i in EVENT_RULES.items() if i.amount == "optional"} == {"ALW-BEYOND"}
    assert EVENT_RULES["ALW-BEYOND"].slip == "required"
    assert EVENT_RULES["ALW-FORFEIT-FALSE"].slip == "optional"
    forfeits = {r for r, i in EVENT_RULES.items() if i.forfeits}
    assert forfeits == {"ALW-FORFEIT-FALSE", "ALW-FORFEIT-UNREPORTED", "DED-PRIVATE"}
    for rule, info in EVENT_RULES.items():
        assert info.title_zh and info.title_en
        if info.amount == "fixed":
            assert config_amount(rule, RULES) > 0
        else:
            assert config_amount(rule, RULES) is None


def _doc_rules(first: str, last: str) -> dict[str, str]:
    """Rule ID -> Chinese name of the rows of docs/rules.md between two section headings."""
    text = RULES_DOC.read_text(encoding="utf-8")
    body = text[text.index(first) : text.index(last)]
    rows = re.findall(r"^\| ([A-Z]+(?:-[A-Z0-9]+)+) \| ([^|]+?) \|", body, flags=re.MULTILINE)
    return dict(rows)


def test_every_money_rule_of_sections_4_to_7_has_a_title_or_is_a_principle() -> None:
    documented = _doc_rules("## 4.", "## 8.")
    principles = {"ALW-CAP-HOW", "ALW-FORFEIT-HOW", "GO-OUT", "TRV-ROUNDTRIP", "RMA-AGENT"}
    assert set(documented) - principles == set(RULE_TITLES)
    for rule, (title_zh, _title_en) in RULE_TITLES.items():
        assert documented[rule] == title_zh, rule


def test_validate_event_amount_fixed_rules() -> None:
    assert validate_event_amount("DED-COMPLAINT", None, RULES) == 5000
    assert validate_event_amount("DED-COMPLAINT", 5000, RULES) == 5000
    with pytest.raises(ValueError, match=r"DED-COMPLAINT is a fixed 50\.00 元, not 40\.00 元"):
        validate_event_amount("DED-COMPLAINT", 4000, RULES)


def test_validate_event_amount_open_and_bad_input() -> None:
    assert validate_event_amount("ALW-BEYOND", None, RULES) == 0
    assert validate_event_amount("ALW-BEYOND", 2500, RULES) == 2500
    assert validate_event_amount("RMA-LOST", 45_678, RULES) == 45_678
    with pytest.raises(ValueError, match="above 0"):
        validate_event_amount("RMA-LOST", 0, RULES)
    with pytest.raises(ValueError, match="negative"):
        validate_event_amount("ALW-BEYOND", -1, RULES)
    with pytest.raises(ValueError, match="whole fen"):
        validate_event_amount("ALW-BEYOND", 1.5, RULES)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a recorded rule"):
        validate_event_amount("ALW-RATE", None, RULES)


def test_suggestion_bounds_follow_config() -> None:
    rules = replace(RULES, rewards=RewardRules(suggestion_min_fen=500, suggestion_max_fen=800))
    assert validate_event_amount("RWD-SUGGEST", 500, rules) == 500
    with pytest.raises(ValueError, match=r"between 5\.00 and 8\.00 元"):
        validate_event_amount("RWD-SUGGEST", 1000, rules)


def test_unknown_rule_in_an_event_is_an_error() -> None:
    with pytest.raises(ValueError, match="event 3"):
        only([], [event(3, "ALW-RATE")])


def test_voided_events_are_ignored_entirely() -> None:
    events = [
        event(1, "DED-PRIVATE", voided=True),
        event(2, "DED-COMPLAINT", technician="B", voided=True),
    ]
    result = month([slip(1)], events)
    assert [t.technician for t in result.technicians] == ["A"]
    assert (result.technicians[0].allowance_fen, result.technicians[0].deduction_fen) == (200, 0)


def test_events_outside_the_month_are_ignored() -> None:
    events = [
        RecordedEvent(1, "A", "DED-COMPLAINT", date(2026, 10, 31)),
        RecordedEvent(2, "A", "DED-COMPLAINT", date(2026, 12, 1)),
        RecordedEvent(3, "A", "DED-COMPLAINT", date(2026, 11, 30)),
    ]
    statement = only([], events)
    assert [ln.ref for ln in statement.lines] == ["event 3"]


def test_adjustment_of_a_closed_month_is_marked_and_does_not_forfeit_this_month() -> None:
    events = [
        event(1, "DED-COMPLAINT", adjustment_of="2026-10", note="late report"),
        event(2, "ALW-FORFEIT-UNREPORTED", adjustment_of="2026-10"),
    ]
    statement = only([slip(1)], events)
    adjustments = [ln for ln in statement.lines if ln.ref.startswith("event")]
    # Lines of this month (adjusts is for lines carried by ADJ-CLOSED) that name the month.
    assert [ln.adjusts for ln in adjustments] == [None, None]
    assert zh(adjustments[0]).endswith("late report（2026-10 月调整）")
    assert en(adjustments[1]).endswith(" (adjustment of 2026-10)")
    assert "forfeited" not in en(adjustments[1])
    assert statement.deduction_fen == 5000 + 10000
    assert statement.allowance_fen == 200


# --- the month ---------------------------------------------------------------------------------


def test_month_is_by_check_out_in_the_station_time_zone() -> None:
    utc = ZoneInfo("UTC")
    slips = [
        slip(1, check_out=datetime(2026, 10, 31, 16, 30, tzinfo=utc)),  # Nov 1 00:30 local
        slip(2, check_out=datetime(2026, 11, 30, 16, 20, tzinfo=utc)),  # Dec 1 00:20 local
        slip(3, check_out=datetime(2026, 10, 31, 15, 59, tzinfo=utc)),  # Oct 31 23:59 local
        slip(4, check_out=at(30, 23, 59)),
    ]
    statement = only(slips)
    assert sorted(int(ln.ref.split()[1]) for ln in statement.lines if ln.kind == "allowance") == [
        1,
        4,
    ]
    (december,) = compute_month("2026-12", slips, [], RULES, TZ).technicians
    assert december.slips == 1 and december.lines[0].ref == "slip 2"


@pytest.mark.parametrize("first", range(4))
def test_month_and_order_do_not_depend_on_how_each_datetime_is_zoned(first: int) -> None:
    utc, plus8 = ZoneInfo("UTC"), timezone(timedelta(hours=8))
    moments = [  # the same four local check-outs, written four ways
        datetime(2026, 10, 31, 16, 30, tzinfo=utc),  # Nov 1 00:30
        datetime(2026, 11, 30, 23, 59, tzinfo=plus8),  # Nov 30 23:59
        at(1, 0, 20, month=12),  # Dec 1 00:20
        datetime(2026, 11, 15, 12, 0),  # naive: station time
    ]
    slips = [home(n, check_out=out) for n, out in enumerate(moments, start=1)]
    rotated = slips[first:] + slips[:first]
    statement = only(rotated)
    assert [ln.ref for ln in statement.lines if ln.kind == "allowance"] == [
        "slip 1",
        "slip 4",
        "slip 2",
    ]
    assert [allowance_line(statement, n).rule for n in (1, 4, 2)] == [
        "ALW-RATE",
        "ALW-CAP-HOME",
        "ALW-CAP-HOME",
    ]


def test_the_00_20_december_slip_belongs_to_december_even_when_checked_in_in_november() -> None:
    edge = home(1, check_out=at(1, 0, 20, month=12))._replace(check_in=at(30, 23, 40))
    assert month_of(edge.check_out, TZ) == "2026-12"
    assert month([edge]).technicians == ()
    assert compute_month("2026-12", [edge], [], RULES, TZ).technicians[0].slips == 1


def test_naive_datetimes_are_read_as_station_time() -> None:
    naive = slip(1)._replace(
        check_in=datetime(2026, 11, 30, 23, 0), check_out=datetime(2026, 12, 1, 0, 20)
    )
    assert month([naive]).technicians == ()
    assert compute_month("2026-12", [naive], [], RULES, TZ).technicians[0].slips == 1


def test_month_bounds_and_bad_months() -> None:
    start, end = month_bounds("2026-12", TZ)
    assert (start, end) == (datetime(2026, 12, 1, tzinfo=TZ), datetime(2027, 1, 1, tzinfo=TZ))
    for bad in ("2026-13", "2026-1", "26-11", "november", ""):
        with pytest.raises(ValueError, match="month"):
            month_bounds(bad, TZ)


def test_technicians_sorted_by_code_point_and_include_event_only_technicians() -> None:
    slips = [slip(1, technician="王强"), slip(2, technician="Zed"), slip(3, technician="张伟")]
    events = [event(1, "DED-LATE", technician="刘洋"), event(2, "DED-LATE", technician="Adam")]
    names = [t.technician for t in month(slips, events).technicians]
    assert names == ["Adam", "Zed", "刘洋", "张伟", "王强"]


def test_every_slip_gets_one_allowance_and_one_travel_line_in_slip_order() -> None:
    slips = [slip(3, day=3), slip(1, day=1, satisfaction="neutral"), slip(2, day=2)]
    statement = only(slips)
    allowance_refs = [ln.ref for ln in statement.lines if ln.kind == "allowance"]
    travel_refs = [ln.ref for ln in statement.lines if ln.kind == "travel"]
    assert allowance_refs == travel_refs == ["slip 1", "slip 2", "slip 3"]


def test_result_does_not_depend_on_input_order() -> None:
    slips = [
        home(n, day=1 + n % 5, service_type=("software" if n % 3 else "hardware"))
        for n in range(12)
    ]
    events = [
        event(1, "DED-LATE"),
        event(2, "ALW-BEYOND", slip_id=4),
        event(3, "RWD-SUGGEST", amount_fen=1500),
    ]
    forward = month(slips, events)
    assert month(slips[::-1], events[::-1]) == forward
    assert month(slips[5:] + slips[:5], events[1:] + events[:1]) == forward


def test_compute_technician_matches_compute_month() -> None:
    slips = [home(n, day=n) for n in range(1, 8)] + [slip(8, technician="B")]
    events = [event(1, "DED-LATE"), event(2, "DED-LATE", technician="B")]
    statement = compute_technician("A", MONTH, slips[::-1], events, RULES, TZ)
    assert statement == month(slips, events).technicians[0]


def test_totals_and_json_follow_the_contract() -> None:
    slips = [slip(1, distance_m=12_000.0, revenue_fen=12_000), slip(2, satisfaction="dissatisfied")]
    statement = only(slips, [event(1, "RWD-SUGGEST", amount_fen=2000)])
    data = statement.as_json()
    assert data["net_fen"] == 200 + 2496 + 3200 - 5000
    for kind in ("allowance", "travel", "reward", "deduction"):
        assert data[f"{kind}_fen"] == sum(
            ln.amount_fen for ln in statement.lines if ln.kind == kind
        )
    assert all(ln.amount_fen >= 0 for ln in statement.lines)
    assert all(line["note"] for line in data["lines"])
    json.dumps(data, ensure_ascii=False)


def test_compute_month_leaves_the_garbage_collector_as_it_found_it() -> None:
    slips = [slip(n, day=1 + n % 28) for n in range(50)]
    was_enabled = gc.isenabled()
    try:
        for enabled in (True, False):
            (gc.enable if enabled else gc.disable)()
            freeze_count = gc.get_freeze_count()
            month(slips)
            assert gc.isenabled() is enabled
            assert gc.get_freeze_count() == freeze_count
    finally:
        (gc.enable if was_enabled else gc.disable)()


def test_fast_line_builder_equals_the_named_tuples() -> None:
    reason = Reason("rate_network", {"amount": "2.00"})
    visit = slip(1)
    built = _line("ALW-RATE", 200, "slip 1", reason, "allowance", visit, TZ)
    plain = StatementLine("ALW-RATE", 200, "slip 1", line_note(reason, visit, TZ), "allowance")
    assert built == plain and hash(built) == hash(plain) and repr(built) == repr(plain)
    swapped = Reason("rate_network", {"b": 1, "a": 2})
    assert hash(swapped) == hash(Reason("rate_network", {"a": 2, "b": 1}))
    assert built.adjusts is None and built.note == (reason, visit, TZ, None)


def test_format_yuan() -> None:
    assert [format_yuan(f) for f in (0, 5, 2496, -200, 100000)] == [
        "0.00",
        "0.05",
        "24.96",
        "-2.00",
        "1000.00",
    ]


# --- the worked examples as import files (tests/data/examples) ---------------------------------


def _fen(text: str) -> int | None:
    """元 text ("120.00", "") to fen."""
    return int(Decimal(text) * 100) if text.strip() else None


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _example_slips(path: Path) -> list[Slip]:
    slips = []
    for number, row in enumerate(_read_csv(path), start=1):
        site = (float(row["site_lat"]), float(row["site_lon"]))
        slips.append(
            Slip(
                id=number,
                technician=row["technician"],
                customer=row["customer"],
                customer_class=row["customer_class"],
                netcafe=row["netcafe"] == "1",
                machine=row["machine"],
                service_type=row["service_type"],
                check_in=datetime.fromisoformat(row["check_in"]),
                check_out=datetime.fromisoformat(row["check_out"]),
                complete=row["slip_complete"] == "1",
                satisfaction=row["satisfaction"] or None,
                distance_m=geodesic_m(STATION, site),
                revenue_fen=_fen(row["revenue"]) or 0,
            )
        )
    return slips


def _example_events(path: Path) -> list[RecordedEvent]:
    return [
        RecordedEvent(
            id=number,
            technician=row["technician"],
            rule=row["rule"],
            day=date.fromisoformat(row["date"]),
            amount_fen=_fen(row["amount"]),
            note=row["note"],
        )
        for number, row in enumerate(_read_csv(path), start=1)
    ]


def test_november_examples_give_the_expected_totals() -> None:
    examples = EXAMPLES
    slips = _example_slips(examples / "november-slips.csv")
    events = _example_events(examples / "november-events.csv")
    for ev in events:
        validate_event_amount(ev.rule, ev.amount_fen, RULES)
    expected = json.loads((examples / "november-expected.json").read_text(encoding="utf-8"))
    result = compute_month(expected["month"], slips, events, RULES, TZ).as_json()
    assert [t["technician"] for t in result["technicians"]] == [
        t["technician"] for t in expected["technicians"]
    ]
    for got, want in zip(result["technicians"], expected["technicians"], strict=True):
        assert {key: got[key] for key in want} == want
    edge = next(s for s in slips if s.customer == "edge")
    assert month_of(edge.check_out, TZ) == "2026-12"
