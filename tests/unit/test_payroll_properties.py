"""Properties of bot.domain.payroll that hold for any mix of slips, events and rules."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import AllowanceRules, RewardRules, Rules, TravelRules
from bot.domain.models import CUSTOMER_CLASSES, RecordedEvent, Slip, TechnicianStatement
from bot.domain.payroll import (
    ALL_STAFF,
    EVENT_RULES,
    cap_slips,
    compute_month,
    revenue_reward_fen,
    travel_fen,
    validate_event_amount,
)

TZ = ZoneInfo("Asia/Shanghai")
MONTH = "2026-11"
MONTH_START = datetime(2026, 11, 1, tzinfo=TZ)
MONTH_END = datetime(2026, 12, 1, tzinfo=TZ)
NAMES = ("A", "B", "刘洋")
SPAN_MINUTES = 31 * 24 * 60  # check-ins from Nov 1 to Dec 2: some slips fall in December
PROPERTY_SETTINGS = settings(max_examples=100, deadline=None)

# Slip fields decoded from the digits of one integer (mixed radix), first option = simplest.
SLIP_FIELDS: tuple[tuple[str, tuple[Any, ...]], ...] = (
    ("technician", NAMES),
    ("customer", ("Ai", "Bai", "Chen")),
    ("customer_class", CUSTOMER_CLASSES),
    ("netcafe", (False, True)),
    ("machine", ("single", "network")),
    ("service_type", ("hardware", "software")),
    ("complete", (True, True, True, False)),
    ("satisfaction", ("satisfied", "satisfied", "neutral", "dissatisfied", None)),
    ("revenue_fen", (0, 0, 1, 5, 15, 12_000, 33_333)),
    ("minutes", (50, 0, 1, 179)),
)


@dataclass(frozen=True)
class Case:
    slips: tuple[Slip, ...]
    events: tuple[RecordedEvent, ...]
    rules: Rules


def decode_slip(number: int, code: int) -> Slip:
    """A slip from one integer: one draw per slip keeps generation quick, and shrinks well."""
    fields: dict[str, Any] = {}
    for name, options in SLIP_FIELDS:
        code, digit = divmod(code, len(options))
        fields[name] = options[digit]
    code, minute = divmod(code, SPAN_MINUTES + 1)
    check_in = MONTH_START + timedelta(minutes=minute)
    return Slip(
        id=number,
        check_in=check_in,
        check_out=check_in + timedelta(minutes=fields.pop("minutes")),
        distance_m=(code % 80_000_001) / 1000,
        **fields,
    )


@st.composite
def slips_strategy(draw: st.DrawFn) -> tuple[Slip, ...]:
    size = draw(st.integers(0, 40))
    codes = draw(st.lists(st.integers(0, 2**80), min_size=size, max_size=size))
    return tuple(decode_slip(number, code) for number, code in enumerate(codes, start=1))


@st.composite
def events_strategy(draw: st.DrawFn, slip_count: int, rules: Rules) -> tuple[RecordedEvent, ...]:
    events = []
    for number in range(1, draw(st.integers(0, 8)) + 1):
        rule = draw(st.sampled_from(sorted(EVENT_RULES)))
        info = EVENT_RULES[rule]
        amount: int | None = None
        if info.amount == "required" or (info.amount == "optional" and draw(st.booleans())):
            low = rules.rewards.suggestion_min_fen if rule == "RWD-SUGGEST" else 1
            high = rules.rewards.suggestion_max_fen if rule == "RWD-SUGGEST" else 100_000
            amount = draw(st.integers(low, high))
        validate_event_amount(rule, amount, rules)
        slip_id = None
        if info.slip != "none" and slip_count and draw(st.booleans()):
            slip_id = draw(st.integers(1, slip_count))
        technicians = NAMES + (ALL_STAFF,) if rule == "RMA-LOST" else NAMES
        events.append(
            RecordedEvent(
                id=number,
                technician=draw(st.sampled_from(technicians)),
                rule=rule,
                day=date(2026, 11, 1) + timedelta(days=draw(st.integers(-2, 31))),
                amount_fen=amount,
                slip_id=slip_id,
                voided=draw(st.sampled_from((False, False, False, True))),
                adjustment_of=draw(st.sampled_from((None, None, None, "2026-10"))),
            )
        )
    return tuple(events)


shares = st.fractions(min_value=0, max_value=1, max_denominator=20)


@st.composite
def rules_strategy(draw: st.DrawFn) -> Rules:
    return Rules(
        allowance=AllowanceRules(
            rate_single_fen=draw(st.integers(0, 500)),
            rate_network_fen=draw(st.integers(0, 500)),
            rate_netcafe_fen=draw(st.integers(0, 500)),
            cap_home_share=draw(shares),
            cap_software_share=draw(shares),
        ),
        travel=TravelRules(minimum_fen=draw(st.sampled_from((0, 0, 500)))),
    )


@st.composite
def cases(draw: st.DrawFn) -> Case:
    rules = draw(st.one_of(st.just(Rules()), rules_strategy()))
    slips = draw(slips_strategy())
    return Case(slips, draw(events_strategy(len(slips), rules)), rules)


def month_slips(case: Case, technician: str) -> list[Slip]:
    return [
        s
        for s in case.slips
        if s.technician == technician and MONTH_START <= s.check_out < MONTH_END
    ]


def live_events(case: Case, technician: str) -> list[RecordedEvent]:
    """The month's unvoided events that concern `technician` (all-staff ones included)."""
    return [
        e
        for e in case.events
        if e.technician in (technician, ALL_STAFF)
        and not e.voided
        and e.day.strftime("%Y-%m") == MONTH
    ]


def paid_ids(statement: TechnicianStatement) -> set[int]:
    return {
        int(line.ref.split()[1])
        for line in statement.lines
        if line.rule == "ALW-RATE" and line.amount_fen > 0
    }


def check_totals(statement: TechnicianStatement) -> None:
    """Totals are sums of lines; net = allowance + travel + reward - deduction."""
    data = statement.as_json()
    lines = statement.lines
    for kind in ("allowance", "travel", "reward", "deduction"):
        assert data[f"{kind}_fen"] == sum(ln.amount_fen for ln in lines if ln.kind == kind)
    assert data["net_fen"] == (
        data["allowance_fen"] + data["travel_fen"] + data["reward_fen"] - data["deduction_fen"]
    )
    assert all(ln.amount_fen >= 0 and ln.rule and ln.note for ln in lines)
    assert statement.settled == len(paid_ids(statement)) <= statement.slips


def check_slip_lines(case: Case, statement: TechnicianStatement) -> None:
    """Every slip of the month has exactly one allowance line and one travel line."""
    own = month_slips(case, statement.technician)
    assert statement.slips == len(own)
    refs = sorted(f"slip {s.id}" for s in own)
    assert sorted(ln.ref for ln in statement.lines if ln.kind == "allowance") == refs
    assert sorted(ln.ref for ln in statement.lines if ln.kind == "travel") == refs


def check_allowance_bounds(case: Case, statement: TechnicianStatement) -> None:
    """No more than the top rate per slip; both caps over the ALW-UNSETTLED denominator; forfeit."""
    alw = case.rules.allowance
    top = max(alw.rate_single_fen, alw.rate_network_fen, alw.rate_netcafe_fen)
    assert statement.allowance_fen <= top * statement.slips
    own = month_slips(case, statement.technician)
    events = live_events(case, statement.technician)
    beyond = {e.slip_id for e in events if e.rule == "ALW-BEYOND"}
    passing = {s.id for s in own if s.complete and s.satisfaction == "satisfied"} - beyond
    paid = [s for s in own if s.id in paid_ids(statement)]
    assert {s.id for s in paid} <= passing
    home_paid = sum(1 for s in paid if s.is_home_single)
    software_paid = sum(1 for s in paid if s.service_type == "software")
    assert home_paid <= cap_slips(alw.cap_home_share, len(passing))
    assert software_paid <= cap_slips(alw.cap_software_share, len(passing))
    assert cap_slips(alw.cap_home_share, len(passing)) == int(alw.cap_home_share * len(passing))
    if any(EVENT_RULES[e.rule].forfeits and e.adjustment_of is None for e in events):
        assert statement.allowance_fen == 0 and statement.settled == 0


def check_lost_items(case: Case, statements: tuple[TechnicianStatement, ...]) -> None:
    """An all-staff RMA-LOST is shared among the staff to the fen, shares within 1 fen."""
    lines = [ln for s in statements for ln in s.lines if ln.rule == "RMA-LOST"]
    for event in live_events(case, ALL_STAFF):
        if event.rule == "RMA-LOST" and event.technician == ALL_STAFF:
            shares = [ln.amount_fen for ln in lines if ln.ref == f"event {event.id}"]
            assert len(shares) == len(NAMES) and sum(shares) == event.amount_fen
            assert max(shares) - min(shares) <= 1


@PROPERTY_SETTINGS
@given(cases())
def test_statement_invariants(case: Case) -> None:
    result = compute_month(MONTH, case.slips, case.events, case.rules, TZ, NAMES).technicians
    present = [s.technician for s in result]
    assert present == sorted(present)
    assert set(present) == {n for n in NAMES if month_slips(case, n) or live_events(case, n)}
    for statement in result:
        check_totals(statement)
        check_slip_lines(case, statement)
        check_allowance_bounds(case, statement)
    check_lost_items(case, result)


@PROPERTY_SETTINGS
@given(cases(), st.randoms(use_true_random=False))
def test_result_is_the_same_for_any_order_of_slips_and_events(
    case: Case, rng: random.Random
) -> None:
    slips, events, staff = list(case.slips), list(case.events), list(NAMES)
    for items in (slips, events, staff):
        rng.shuffle(items)
    shuffled = compute_month(MONTH, slips, events, case.rules, TZ, staff)
    assert shuffled == compute_month(MONTH, case.slips, case.events, case.rules, TZ, NAMES)


@PROPERTY_SETTINGS
@given(
    st.floats(0, 200_000, allow_nan=False),
    st.integers(0, 500),
    st.fractions(min_value=Fraction(1, 2), max_value=3, max_denominator=100),
)
def test_travel_is_the_exact_half_up_of_the_formula(
    distance: float, rate: int, road: Fraction
) -> None:
    rules = TravelRules(rate_per_km_fen=rate, road_factor=road)
    exact = 2 * Fraction(distance) / 1000 * road * rate
    assert travel_fen(distance, rules) == int(exact + Fraction(1, 2))


@PROPERTY_SETTINGS
@given(st.integers(0, 10**9), st.fractions(min_value=0, max_value=1, max_denominator=1000))
def test_revenue_reward_is_the_exact_half_up_share(revenue: int, share: Fraction) -> None:
    rules = Rules(rewards=RewardRules(revenue_share=share))
    assert revenue_reward_fen(revenue, rules) == int(revenue * share + Fraction(1, 2))
