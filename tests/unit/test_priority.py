"""PRI-CLASS, PRI-ADJ, PRI-SCORE: factors, ageing, order, ties, pins and repeat detection."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import PriorityWeights
from bot.domain.models import CUSTOMER_CLASSES
from bot.domain.priority import FACTORS, TicketFacts, ageing, is_repeat, rank, score

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 3, 10, 0, tzinfo=TZ)
WINDOW = timedelta(hours=2)
W = PriorityWeights()
NO_FACTORS = dict(tool=False, major=False, repeat=False, hardware=False, brand=False)
ALL_FACTORS = dict.fromkeys(FACTORS, True)
ZERO_FACTOR_WEIGHTS = replace(W, tool=0, major=0, repeat=0, hardware=0, brand=0, ageing_max=0)


def ticket(id: int = 1, cls: str = "other", age: timedelta = timedelta(0), **kw) -> TicketFacts:
    facts = {**NO_FACTORS, **{k: v for k, v in kw.items() if k in FACTORS}}
    extra = {k: v for k, v in kw.items() if k not in FACTORS}
    return TicketFacts(id=id, customer_class=cls, created_at=NOW - age, **facts, **extra)


def order(tickets: list[TicketFacts], weights: PriorityWeights = W) -> list[int]:
    return [row.ticket.id for row in rank(tickets, NOW, weights, WINDOW)]


@pytest.mark.parametrize("cls", CUSTOMER_CLASSES)
def test_class_weight_alone(cls: str) -> None:
    breakdown = score(ticket(cls=cls), NOW, W, WINDOW)
    assert breakdown.class_ == getattr(W, cls)
    assert breakdown.total == getattr(W, cls)


@pytest.mark.parametrize("factor", FACTORS)
def test_each_factor_adds_its_weight(factor: str) -> None:
    breakdown = score(ticket(**{factor: True}), NOW, W, WINDOW)
    assert getattr(breakdown, factor) == getattr(W, factor)
    assert breakdown.total == W.other + getattr(W, factor)
    others = [getattr(breakdown, f) for f in FACTORS if f != factor]
    assert others == [0.0] * (len(FACTORS) - 1)


def test_breakdown_parts_and_display() -> None:
    b = score(ticket(cls="industry", age=timedelta(minutes=20), **ALL_FACTORS), NOW, W, WINDOW)
    parts = b.parts()
    assert list(parts) == ["class", *FACTORS, "ageing", "total"]
    assert parts["total"] == sum(v for k, v in parts.items() if k != "total")
    assert b.display()["ageing"] == round(W.ageing_max * 20 / 120, 2) == 1.67


@pytest.mark.parametrize(
    ("minutes", "expected"), [(-5, 0.0), (0, 0.0), (30, 2.5), (60, 5.0), (120, 10.0), (600, 10.0)]
)
def test_ageing_linear_then_flat(minutes: int, expected: float) -> None:
    t = ticket(age=timedelta(minutes=minutes))
    assert ageing(t, NOW, W, WINDOW) == pytest.approx(expected)
    assert score(t, NOW, W, WINDOW).ageing == pytest.approx(expected)


def test_ageing_uses_the_tickets_own_response_deadline() -> None:
    t = ticket(age=timedelta(hours=1), respond_due=NOW + timedelta(hours=3))
    assert score(t, NOW, W, WINDOW).ageing == pytest.approx(W.ageing_max / 4)


def test_ageing_in_other_time_zones_is_the_same_instant() -> None:
    utc_created = (NOW - timedelta(hours=1)).astimezone(ZoneInfo("UTC"))
    t = TicketFacts(1, "other", utc_created, **NO_FACTORS)
    assert score(t, NOW, W, WINDOW).ageing == pytest.approx(W.ageing_max / 2)


def test_fresh_tickets_follow_the_class_order() -> None:
    tickets = [ticket(id=i, cls=c) for i, c in enumerate(reversed(CUSTOMER_CLASSES), 1)]
    assert [r.ticket.customer_class for r in rank(tickets, NOW, W, WINDOW)] == list(
        CUSTOMER_CLASSES
    )


def test_factors_reorder_within_two_class_steps() -> None:
    home_all = ticket(id=1, cls="other", **ALL_FACTORS)  # 10 + 28 = 38
    network = ticket(id=2, cls="network")  # 30
    industry = ticket(id=3, cls="industry")  # 40
    assert order([network, industry, home_all]) == [3, 1, 2]


def test_zero_factor_weights_give_strict_class_order() -> None:
    tickets = [
        ticket(id=1, cls="other", age=timedelta(days=3), **ALL_FACTORS),
        ticket(id=2, cls="quasi", age=timedelta(hours=5), major=True),
        ticket(id=3, cls="network"),
        ticket(id=4, cls="industry", tool=True),
        ticket(id=5, cls="agent"),
        ticket(id=6, cls="network", age=timedelta(minutes=1)),
    ]
    assert order(tickets, ZERO_FACTOR_WEIGHTS) == [5, 4, 6, 3, 2, 1]


def test_ties_older_first_then_lower_id() -> None:
    a = ticket(id=7, cls="network", age=timedelta(hours=3), tool=True)
    b = ticket(id=3, cls="network", age=timedelta(hours=3), tool=True)
    c = ticket(id=2, cls="network", age=timedelta(hours=4), tool=True)  # same score (aged out)
    d = ticket(id=1, cls="network", age=timedelta(hours=1), tool=True)  # lower score
    assert order([a, b, d, c]) == [2, 3, 7, 1]


def test_ties_are_broken_on_exact_scores_not_rounded_ones() -> None:
    # 0.001 apart: the same when displayed, but the newer one has the higher score.
    older = ticket(id=1, cls="network", age=timedelta(minutes=60))
    newer = ticket(id=2, cls="network", age=timedelta(minutes=60, seconds=-1), major=True)
    slightly_more = replace(older, created_at=NOW - timedelta(minutes=60, seconds=1))
    rows = rank([older, slightly_more], NOW, W, WINDOW)
    assert [r.ticket.created_at for r in rows] == [slightly_more.created_at, older.created_at]
    assert rows[0].breakdown.display()["total"] == rows[1].breakdown.display()["total"]
    assert order([older, newer]) == [2, 1]


def test_pinned_on_top_and_ranked_by_score_among_themselves() -> None:
    tickets = [
        ticket(id=1, cls="agent", **ALL_FACTORS),
        ticket(id=2, cls="other", pinned=True),
        ticket(id=3, cls="industry", pinned=True),
        ticket(id=4, cls="network"),
    ]
    rows = rank(tickets, NOW, W, WINDOW)
    assert [r.ticket.id for r in rows] == [3, 2, 1, 4]
    assert [r.position for r in rows] == [1, 2, 3, 4]


def test_ranked_rows_carry_the_same_breakdown_as_score() -> None:
    t = ticket(id=9, cls="quasi", age=timedelta(minutes=45), repeat=True, brand=True)
    (row,) = rank([t], NOW, W, WINDOW)
    assert row.breakdown == score(t, NOW, W, WINDOW)
    assert row.total == row.breakdown.total


def test_rank_accepts_any_iterable_and_empty() -> None:
    assert rank(iter([]), NOW, W, WINDOW) == []
    assert order(iter([ticket(id=1)])) == [1]  # type: ignore[arg-type]


def test_unknown_class_and_naive_times_are_rejected() -> None:
    with pytest.raises(ValueError, match="customer class"):
        ticket(cls="vip")
    with pytest.raises(ValueError, match="time zone"):
        TicketFacts(1, "other", datetime(2026, 11, 3, 9, 0), **NO_FACTORS)
    with pytest.raises(ValueError, match="time zone"):
        ticket(respond_due=datetime(2026, 11, 3, 9, 0))


facts = st.fixed_dictionaries({f: st.booleans() for f in FACTORS})
ages = st.integers(min_value=0, max_value=3 * 24 * 60).map(lambda m: timedelta(minutes=m))
class_pairs = st.tuples(
    st.integers(0, len(CUSTOMER_CLASSES) - 1), st.integers(0, len(CUSTOMER_CLASSES) - 1)
).map(sorted)


@settings(max_examples=100, deadline=None)
@given(class_pairs, facts, facts, ages, ages)
def test_factors_lift_at_most_two_steps_and_ageing_one_more(pair, high_f, low_f, age_h, age_l):
    """PRI-SCORE: 3+ class steps apart, factors alone never win; 4+ apart, nothing does."""
    high_index, low_index = pair
    steps = low_index - high_index
    high_cls, low_cls = CUSTOMER_CLASSES[high_index], CUSTOMER_CLASSES[low_index]
    same_age = [ticket(1, high_cls, age_h, **high_f), ticket(2, low_cls, age_h, **low_f)]
    any_age = [ticket(1, high_cls, age_h, **high_f), ticket(2, low_cls, age_l, **low_f)]
    bare_high_same_age = [ticket(1, high_cls, age_h), ticket(2, low_cls, age_h, **ALL_FACTORS)]
    if steps >= 3:
        assert order(same_age)[0] == 1
        assert order(bare_high_same_age)[0] == 1
    if steps >= 4:
        assert order(any_age)[0] == 1
        assert (
            order([ticket(1, high_cls), ticket(2, low_cls, timedelta(days=9), **ALL_FACTORS)])[0]
            == 1
        )


def test_two_step_lift_and_third_step_by_ageing_are_reachable() -> None:
    """The bounds are tight with the default weights: two steps by factors, one by ageing."""
    assert order([ticket(1, "network"), ticket(2, "other", **ALL_FACTORS)]) == [2, 1]
    old_home = ticket(2, "other", timedelta(hours=3), **ALL_FACTORS)
    assert order([ticket(1, "industry"), old_home]) == [2, 1]


def test_is_repeat_within_window() -> None:
    days = W.repeat_window_days
    assert is_repeat([NOW - timedelta(days=days)], [], NOW, days)
    assert is_repeat([], [NOW - timedelta(days=1)], NOW, days)
    assert not is_repeat([NOW - timedelta(days=days, seconds=1)], [], NOW, days)
    assert not is_repeat([], [], NOW, days)
    assert not is_repeat([NOW + timedelta(days=1)], [], NOW, days)


tickets_strategy = st.lists(
    st.builds(
        lambda i, cls, minutes, f, pinned, due: ticket(
            i,
            cls,
            timedelta(minutes=minutes),
            pinned=pinned,
            respond_due=None if due is None else NOW - timedelta(minutes=minutes - due),
            **f,
        ),
        st.integers(1, 50),
        st.sampled_from(CUSTOMER_CLASSES),
        st.sampled_from([0, 30, 30, 60, 120, 200, 600]),  # repeats force ties
        facts,
        st.booleans(),
        st.none() | st.sampled_from([60, 240]),
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(tickets_strategy)
def test_rank_matches_a_plain_key_sort(tickets: list[TicketFacts]) -> None:
    """The fast path orders exactly like the rule's key: pinned, -score, created_at, id."""

    def key(t: TicketFacts) -> tuple:
        return (not t.pinned, -score(t, NOW, W, WINDOW).total, t.created_at, t.id)

    rows = rank(tickets, NOW, W, WINDOW)
    assert [r.ticket for r in rows] == sorted(tickets, key=key)
    assert all(r.breakdown == score(r.ticket, NOW, W, WINDOW) for r in rows)
