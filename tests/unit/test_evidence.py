"""The evidence rules as one table: (age, accuracy, live, distance, speed) -> grade and flags."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from geopy.distance import geodesic

from bot.domain.evidence import (
    Flag,
    FlagCode,
    Limits,
    Refusal,
    TrackPoint,
    checkout_flags,
    decode_all,
    encode_all,
    grade_location,
    live_gap_flags,
    track_flags,
)
from bot.domain.visits import Evidence, LocationReport

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
SITE = (30.6570, 104.0660)
LIMITS = Limits(radius_m=300, max_accuracy_m=100, max_age_s=120, max_speed_kmh=150)


def north_of(point: tuple[float, float], metres: float) -> tuple[float, float]:
    moved = geodesic(meters=metres).destination(point, bearing=0)
    return moved.latitude, moved.longitude


def track_at_speed(kmh: float) -> list[TrackPoint]:
    """Two live fixes one minute apart, as far apart as `kmh` implies."""
    start = NOW - timedelta(minutes=3)
    far = north_of(SITE, kmh / 60 * 1000)
    return [
        TrackPoint(start, *SITE, accuracy_m=10),
        TrackPoint(start + timedelta(minutes=1), *far, accuracy_m=10),
    ]


# age s | accuracy m | live | distance m | track km/h | grade (None = refused) | flags / refusal
TABLE = [
    (0, 5, True, 0, 0, Evidence.STRONG, set()),
    (0, None, True, 0, 0, Evidence.STRONG, set()),
    (60, 5, False, 0, 0, Evidence.MEDIUM, set()),
    (120, 100, False, 0, 0, Evidence.MEDIUM, set()),  # both limits are inclusive
    (0, 101, False, 0, 0, Evidence.WEAK, {FlagCode.IMPRECISE}),
    (0, 5000, False, 0, 0, Evidence.WEAK, {FlagCode.IMPRECISE}),
    (0, 5000, True, 0, 0, Evidence.WEAK, {FlagCode.IMPRECISE}),  # live but useless accuracy
    (0, None, False, 0, 0, Evidence.WEAK, {FlagCode.BARE_PIN}),
    (7200, 5, False, 0, 0, None, Refusal.STALE),
    (121, 5, True, 0, 0, None, Refusal.STALE),
    (-30, 5, False, 0, 0, Evidence.MEDIUM, set()),  # a clock a little behind Telegram's
    (0, 5, False, 301, 0, Evidence.MEDIUM, {FlagCode.OFFSITE_OUT}),
    (0, None, False, 55_000, 0, Evidence.WEAK, {FlagCode.BARE_PIN, FlagCode.OFFSITE_OUT}),
    (0, 5, True, 0, 149, Evidence.STRONG, set()),
    (0, 5, True, 0, 151, Evidence.STRONG, {FlagCode.SPEED}),
    (0, 5, True, 22_000, 1320, Evidence.STRONG, {FlagCode.SPEED, FlagCode.OFFSITE_OUT}),
]


@pytest.mark.parametrize(
    ("age", "accuracy", "live", "distance", "speed", "grade", "expected"), TABLE
)
def test_evidence_table(age, accuracy, live, distance, speed, grade, expected) -> None:
    lat, lon = north_of(SITE, distance) if distance else SITE
    report = LocationReport(lat, lon, accuracy_m=accuracy, live=live)
    graded = grade_location(
        report, NOW - timedelta(seconds=age), NOW, LIMITS, SITE, FlagCode.OFFSITE_OUT
    )
    if grade is None:
        assert graded.refusal is expected and graded.grade is None
        return
    assert graded.refusal is None
    assert graded.grade is grade
    track = track_at_speed(speed) if speed else []
    flags = checkout_flags(graded, track, live=False, check_out_at=NOW, limits=LIMITS)
    assert {flag.code for flag in flags} == expected


@pytest.mark.parametrize(
    ("lat", "lon", "accuracy"),
    [
        (91, 0, 5),
        (0, 181, 5),
        (-90.5, 0, None),
        (math.nan, 104, 5),
        (30, math.inf, 5),
        (30, 104, math.nan),
    ],
)
def test_invalid_points_are_refused_not_raised(lat, lon, accuracy) -> None:
    graded = grade_location(LocationReport(lat, lon, accuracy_m=accuracy), NOW, NOW, LIMITS, SITE)
    assert graded.refusal is Refusal.INVALID


def test_gps_jitter_within_accuracy_is_no_jump() -> None:
    a = TrackPoint(NOW, *SITE, accuracy_m=80)
    b = TrackPoint(NOW, *north_of(SITE, 150), accuracy_m=80)  # same second, 150 m apart
    assert track_flags([a, b], LIMITS) == ()
    c = TrackPoint(NOW, *north_of(SITE, 500), accuracy_m=10)
    assert [f.code for f in track_flags([a, c], LIMITS)] == [FlagCode.SPEED]


def test_live_gap_is_noted_only_for_a_live_share() -> None:
    last = NOW - timedelta(minutes=45)
    assert [f.values for f in live_gap_flags(True, last, NOW, LIMITS)] == [{"minutes": 45}]
    assert live_gap_flags(False, last, NOW, LIMITS) == ()
    assert live_gap_flags(True, NOW - timedelta(minutes=10), NOW, LIMITS) == ()


def test_flags_survive_their_text_form() -> None:
    flags = (
        Flag(FlagCode.SPEED, {"speed": 1320, "km": 22, "limit": 150}),
        Flag(FlagCode.BARE_PIN),
    )
    assert decode_all(encode_all(flags)) == flags
    assert decode_all("nonsense:x=1;;imprecise:accuracy=5000,limit=100") == (
        Flag(FlagCode.IMPRECISE, {"accuracy": 5000, "limit": 100}),
    )


def test_a_share_still_running_at_check_out_proves_presence_without_updates() -> None:
    from bot.domain.evidence import live_stopped_at

    start = NOW - timedelta(hours=2)
    checkin = [TrackPoint(start, *SITE, accuracy_m=5)]
    # An 8-hour share from a phone at rest: no updates, still running at check-out.
    running = live_stopped_at(checkin, start + timedelta(hours=8), NOW)
    assert live_gap_flags(True, running, NOW, LIMITS) == ()
    # A 15-minute share ran out 105 minutes before check-out.
    ended = live_stopped_at(checkin, start + timedelta(minutes=15), NOW)
    assert [f.values for f in live_gap_flags(True, ended, NOW, LIMITS)] == [{"minutes": 105}]
    # No known period: the last update is all there is.
    unknown = live_stopped_at(checkin, None, NOW)
    assert [f.values for f in live_gap_flags(True, unknown, NOW, LIMITS)] == [{"minutes": 120}]
