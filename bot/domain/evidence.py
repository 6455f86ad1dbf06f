"""Grading location evidence and flagging doubtful visits, with reasons (pure; no I/O).

A check-in or check-out point is graded live > static with a usable accuracy > bare pin;
a point that is not a place on Earth or whose message is too old is refused (ask again).
A closed visit is flagged when its check-out lies beyond the geofence, when its live track
implies an impossible speed, or when the live share stopped long before check-out. Every flag
carries the numbers behind it so any language can state the reason.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from bot.config import Config
from bot.domain.geo import geodesic_m, valid_point
from bot.domain.visits import Evidence, LocationReport


class Refusal(StrEnum):
    INVALID = "evidence.refuse_invalid"
    STALE = "evidence.refuse_stale"


class FlagCode(StrEnum):
    BARE_PIN = "bare_pin"  # no accuracy at all: picked on a map, say
    IMPRECISE = "imprecise"  # accuracy worse than geofence.max_accuracy_m
    OFFSITE_IN = "offsite_in"  # check-in beyond the geofence
    OFFSITE_OUT = "offsite_out"  # check-out beyond the geofence
    SPEED = "speed"  # the live track jumps faster than geofence.max_speed_kmh
    LIVE_STOPPED = "live_stopped"  # the live share stopped long before check-out


@dataclass(frozen=True)
class Flag:
    """One reason to doubt a visit, with the figures (whole numbers) its sentence needs."""

    code: FlagCode
    values: dict[str, int] = field(default_factory=dict)

    def encode(self) -> str:
        """A compact, stable text form for storage: `code:key=value,key=value`."""
        parts = ",".join(f"{k}={v}" for k, v in sorted(self.values.items()))
        return f"{self.code.value}:{parts}"

    @classmethod
    def decode(cls, text: str) -> Flag | None:
        code, _, rest = text.partition(":")
        try:
            flag_code = FlagCode(code)
        except ValueError:
            return None
        values: dict[str, int] = {}
        for item in filter(None, rest.split(",")):
            key, _, value = item.partition("=")
            if value.lstrip("-").isdigit():
                values[key] = int(value)
        return cls(flag_code, values)

    @property
    def key(self) -> str:
        """The catalog key of this flag's sentence."""
        return f"evidence.flag.{self.code.value}"


@dataclass(frozen=True)
class Limits:
    """The config's evidence thresholds (geofence.*)."""

    radius_m: float = 300
    max_accuracy_m: float = 100
    max_age_s: float = 120
    max_speed_kmh: float = 150
    live_gap_s: float = 1800


@dataclass(frozen=True)
class Graded:
    """The verdict on one location message."""

    refusal: Refusal | None
    grade: Evidence | None
    distance_m: float | None = None
    flags: tuple[Flag, ...] = ()

    @property
    def weak(self) -> bool:
        return self.grade is Evidence.WEAK


def _round(value: float) -> int:
    return int(round(value))


def usable_point(report: LocationReport) -> bool:
    """A real place with a finite (or no) accuracy."""
    return valid_point(report.lat, report.lon) and (
        report.accuracy_m is None or math.isfinite(report.accuracy_m)
    )


def grade_location(
    report: LocationReport,
    sent_at: datetime | None,
    now: datetime,
    limits: Limits,
    site: tuple[float, float] | None = None,
    offsite_code: FlagCode = FlagCode.OFFSITE_IN,
) -> Graded:
    """Grade one location message, measured against the site when one is known."""
    if not usable_point(report):
        return Graded(Refusal.INVALID, None)
    if sent_at is not None and (now - sent_at).total_seconds() > limits.max_age_s:
        return Graded(Refusal.STALE, None)
    flags: list[Flag] = []
    if report.accuracy_m is not None and report.accuracy_m > limits.max_accuracy_m:
        grade = Evidence.WEAK
        flags.append(
            Flag(
                FlagCode.IMPRECISE,
                {"accuracy": _round(report.accuracy_m), "limit": _round(limits.max_accuracy_m)},
            )
        )
    elif report.live:
        grade = Evidence.STRONG
    elif report.accuracy_m is not None:
        grade = Evidence.MEDIUM
    else:
        grade = Evidence.WEAK
        flags.append(Flag(FlagCode.BARE_PIN))
    distance = geodesic_m((report.lat, report.lon), site) if site is not None else None
    if distance is not None and distance > limits.radius_m:
        flags.append(
            Flag(offsite_code, {"distance": _round(distance), "radius": _round(limits.radius_m)})
        )
    return Graded(None, grade, distance, tuple(flags))


@dataclass(frozen=True)
class TrackPoint:
    at: datetime
    lat: float
    lon: float
    accuracy_m: float | None = None


MIN_INTERVAL_S = 1.0  # two fixes in the same second are treated as one second apart


def track_flags(points: Sequence[TrackPoint], limits: Limits) -> tuple[Flag, ...]:
    """The fastest implausible jump of a live track, if any exceeds max_speed_kmh.

    A jump no larger than the two points' accuracies together is GPS noise, never a flag.
    """
    worst: tuple[float, float] | None = None  # (speed km/h, distance m)
    ordered = sorted(points, key=lambda p: p.at)
    for a, b in zip(ordered, ordered[1:], strict=False):
        if not (valid_point(a.lat, a.lon) and valid_point(b.lat, b.lon)):
            continue
        distance = geodesic_m((a.lat, a.lon), (b.lat, b.lon))
        if distance <= (a.accuracy_m or 0) + (b.accuracy_m or 0):
            continue
        seconds = max((b.at - a.at).total_seconds(), MIN_INTERVAL_S)
        speed = distance / seconds * 3.6
        if speed > limits.max_speed_kmh and (worst is None or speed > worst[0]):
            worst = (speed, distance)
    if worst is None:
        return ()
    return (
        Flag(
            FlagCode.SPEED,
            {
                "speed": _round(worst[0]),
                "km": _round(worst[1] / 1000),
                "limit": _round(limits.max_speed_kmh),
            },
        ),
    )


def live_stopped_at(
    track: Sequence[TrackPoint], live_until: datetime | None, check_out_at: datetime
) -> datetime | None:
    """When a live share last proved presence before check-out.

    A share whose period ran out stopped then. One still running at check-out proves presence
    up to check-out even if a phone at rest sent no update; without a known period, the last
    update is all there is.
    """
    if live_until is not None:
        return live_until if live_until < check_out_at else check_out_at
    return max((p.at for p in track), default=None)


def live_gap_flags(
    live: bool, last_signal: datetime | None, check_out_at: datetime, limits: Limits
) -> tuple[Flag, ...]:
    """A live check-in whose share stopped long before check-out."""
    if not live or last_signal is None:
        return ()
    gap = (check_out_at - last_signal).total_seconds()
    if gap <= limits.live_gap_s:
        return ()
    return (Flag(FlagCode.LIVE_STOPPED, {"minutes": _round(gap / 60)}),)


def checkout_flags(
    graded: Graded,
    track: Sequence[TrackPoint],
    live: bool,
    check_out_at: datetime,
    limits: Limits,
    live_until: datetime | None = None,
) -> tuple[Flag, ...]:
    """Everything doubtful about a visit at its close: the check-out point, track and gap."""
    last = live_stopped_at(track, live_until, check_out_at)
    return (
        *graded.flags,
        *track_flags(track, limits),
        *live_gap_flags(live, last, check_out_at, limits),
    )


def encode_all(flags: Sequence[Flag]) -> str:
    return ";".join(flag.encode() for flag in flags)


def decode_all(text: str | None) -> tuple[Flag, ...]:
    found = (Flag.decode(part) for part in (text or "").split(";") if part)
    return tuple(flag for flag in found if flag is not None)


def limits_of(config: Config) -> Limits:
    """The thresholds a configuration sets."""
    ev = config.evidence
    return Limits(
        radius_m=config.geofence_radius_m,
        max_accuracy_m=ev.max_accuracy_m,
        max_age_s=ev.max_age_s,
        max_speed_kmh=ev.max_speed_kmh,
        live_gap_s=ev.live_gap_s,
    )
