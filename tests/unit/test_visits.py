"""Site-visit rules: location evidence, geofence, lateness, slip completeness."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.access import Actor, Refusal, decide
from bot.domain.visits import (
    Evidence,
    LocationRefusal,
    LocationReport,
    SlipState,
    check_location,
    is_late,
    revenue_fen,
)

SITE = (30.6570, 104.0660)
ALL = ("strong", "medium", "weak")


def test_evidence_strength() -> None:
    assert LocationReport(1, 1, live=True).evidence is Evidence.STRONG
    assert LocationReport(1, 1, accuracy_m=12).evidence is Evidence.MEDIUM
    assert LocationReport(1, 1).evidence is Evidence.WEAK


def test_forwarded_and_venue_refused_before_anything_else() -> None:
    forwarded = LocationReport(*SITE, live=True, forwarded=True)
    venue = LocationReport(*SITE, accuracy_m=5, venue=True)
    assert check_location(forwarded, SITE, 300, ALL, True).refusal is LocationRefusal.FORWARDED
    assert check_location(venue, SITE, 300, ALL, True).refusal is LocationRefusal.VENUE


def test_weak_pin_flagged_or_refused_by_config() -> None:
    pin = LocationReport(*SITE)
    accepted = check_location(pin, SITE, 300, ALL, True)
    assert accepted.refusal is None and accepted.flagged
    refused = check_location(pin, SITE, 300, ("strong", "medium"), True)
    assert refused.refusal is LocationRefusal.EVIDENCE


def test_geofence_offsite_flagged_or_refused() -> None:
    far = LocationReport(30.6700, 104.0660, accuracy_m=10)  # about 1.4 km north
    flagged = check_location(far, SITE, 300, ALL, allow_offsite=True)
    assert flagged.refusal is None and flagged.offsite and 1400 < flagged.distance_m < 1500
    refused = check_location(far, SITE, 300, ALL, allow_offsite=False)
    assert refused.refusal is LocationRefusal.OFFSITE
    near = check_location(LocationReport(30.6571, 104.0661, live=True), SITE, 300, ALL, False)
    assert near.refusal is None and not near.offsite and not near.flagged


def test_no_site_means_no_distance() -> None:
    result = check_location(LocationReport(1, 1, live=True), None, 300, ALL, False)
    assert result.distance_m is None and not result.offsite


def test_lateness_grace_and_notice() -> None:
    start = datetime(2026, 11, 3, 1, 0, tzinfo=UTC)
    assert not is_late(start + timedelta(minutes=10), start, 10, None)
    assert is_late(start + timedelta(minutes=11), start, 10, None)
    announced = start + timedelta(hours=1)
    assert not is_late(start + timedelta(minutes=50), start, 10, announced)
    assert is_late(announced + timedelta(minutes=11), start, 10, announced)
    assert not is_late(start + timedelta(days=1), None, 10, None)


def test_slip_completeness_lists_what_is_missing() -> None:
    full = SlipState(True, True, True, True, True, True, True)
    assert full.complete and full.missing() == []
    partial = SlipState(False, True, True, True, True, True, False)
    assert not partial.complete
    assert partial.missing() == ["signature", "satisfaction"]


@given(st.integers(0, 10**7), st.integers(0, 10**7))
def test_revenue_never_negative(fee: int, parts: int) -> None:
    assert revenue_fen(fee, parts) == max(0, fee - parts)


def test_customers_may_only_answer_their_slip() -> None:
    customer = Actor(telegram_id=9, person=None, is_admin=False, language="zh-CN", customer_id=4)
    assert decide(customer, "cslip", "private", False) is None
    assert decide(customer, "slip", "private", False) is Refusal.ROLE
    assert decide(customer, "summary", "private", False) is Refusal.ROLE
