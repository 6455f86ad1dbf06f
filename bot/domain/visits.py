"""Site-visit rules: location evidence, lateness, slip completeness (docs/rules.md sections 2-4).

Pure functions over plain values; the Telegram adapter turns a location message into a
`LocationReport` and the storage layer records what these functions decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.domain.geo import geodesic_m


class Evidence(StrEnum):
    STRONG = "strong"  # a live location
    MEDIUM = "medium"  # a static location with its accuracy (sent from the button)
    WEAK = "weak"  # a bare pin, e.g. picked on the map: flagged


class LocationRefusal(StrEnum):
    FORWARDED = "visit.refuse_forwarded"
    VENUE = "visit.refuse_venue"
    EVIDENCE = "visit.refuse_evidence"
    OFFSITE = "visit.refuse_offsite"


@dataclass(frozen=True)
class LocationReport:
    """What a location message says, free of Telegram types."""

    lat: float
    lon: float
    accuracy_m: float | None = None
    live: bool = False
    forwarded: bool = False
    venue: bool = False
    sent_at: datetime | None = None  # the message's date (its edit date for a live update)
    live_period: int | None = None  # seconds a live share runs from its first message

    @property
    def evidence(self) -> Evidence:
        """How much the point proves: live beats accuracy-tagged beats a bare pin."""
        if self.live:
            return Evidence.STRONG
        if self.accuracy_m is not None:
            return Evidence.MEDIUM
        return Evidence.WEAK


@dataclass(frozen=True)
class SiteCheck:
    """The verdict on a check-in or check-out point."""

    refusal: StrEnum | None  # a LocationRefusal, or an evidence.Refusal (stale, invalid)
    evidence: Evidence
    distance_m: float | None
    offsite: bool
    flags: tuple = ()  # evidence.Flag: every doubt about this point, with its figures

    @property
    def flagged(self) -> bool:
        return self.offsite or self.evidence is Evidence.WEAK


def check_location(
    report: LocationReport,
    site: tuple[float, float] | None,
    radius_m: float,
    accepted: tuple[str, ...],
    allow_offsite: bool,
    evidence: Evidence | None = None,
) -> SiteCheck:
    """Judge a location against the customer's registered site and the config's rules.

    evidence is the grade bot.domain.evidence gave the point (by default the report's own).
    """
    evidence = evidence or report.evidence
    distance = geodesic_m((report.lat, report.lon), site) if site else None
    offsite = distance is not None and distance > radius_m
    refusal = None
    if report.forwarded:
        refusal = LocationRefusal.FORWARDED
    elif report.venue:
        refusal = LocationRefusal.VENUE
    elif evidence.value not in accepted:
        refusal = LocationRefusal.EVIDENCE
    elif offsite and not allow_offsite:
        refusal = LocationRefusal.OFFSITE
    return SiteCheck(refusal, evidence, distance, offsite)


EVENT_MAX_AGE = timedelta(seconds=120)  # geofence.max_age_s's default: older locations are
# refused as stale evidence (bot/domain/evidence.py); this bound only guards callers that skip that


def event_time(
    now: datetime, sent_at: datetime | None, max_age: timedelta = EVENT_MAX_AGE
) -> datetime:
    """When a location counts as sent: its message's time, within [now - max_age, now].

    A location sent while the bot was down is judged (check-in, check-out, lateness) by when
    the technician sent it, not by when the bot got to it; a clock ahead of ours counts as now.
    """
    if sent_at is None:
        return now
    # In now's zone: stored times are compared as text, so they share one offset.
    return min(now, max(sent_at.astimezone(now.tzinfo), now - max_age))


def is_late(
    check_in: datetime,
    appointment_start: datetime | None,
    grace_minutes: int,
    announced_time: datetime | None,
) -> bool:
    """DED-LATE: checked in after the window's start plus grace with no notice, or after the
    announced new time plus grace."""
    if appointment_start is None:
        return False
    due = announced_time or appointment_start
    return check_in > due + timedelta(minutes=grace_minutes)


SLIP_REQUIRED = (
    "signature",
    "arrival",
    "departure",
    "service_type",
    "machine",
    "outcome",
    "satisfaction",
)


@dataclass(frozen=True)
class SlipState:
    """What a slip holds so far (SLIP-FIELDS)."""

    signature: bool
    arrival: bool
    departure: bool
    service_type: bool
    machine: bool
    outcome: bool
    satisfaction: bool

    def missing(self) -> list[str]:
        """The SLIP-FIELDS still lacking, in the rule's order."""
        return [name for name in SLIP_REQUIRED if not getattr(self, name)]

    @property
    def complete(self) -> bool:
        return not self.missing()


def revenue_fen(fee_fen: int, parts_fen: int) -> int:
    """RWD-REVENUE's benefit: the fee charged minus parts at cost, never below zero."""
    return max(0, fee_fen - parts_fen)
