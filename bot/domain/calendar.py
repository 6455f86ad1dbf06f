"""The station's working calendar (SLA-DAYS) and deadlines in working or clock hours (SLA-ARRIVE)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar

from bot.config import SlaConfig

log = logging.getLogger(__name__)

LAST_WEEKDAY = 4  # Friday: date.weekday() counts Monday as 0
_warned_years: set[int] = set()


@lru_cache(maxsize=4096)
def official_workday(d: date) -> bool | None:
    """The official mainland-China answer for d, or None when the package has no data that year."""
    try:
        return chinese_calendar.is_workday(d)
    except NotImplementedError:
        return None


def _warn_uncovered(year: int) -> None:
    """Log once per process that a year falls back to Monday-Friday."""
    if year in _warned_years:
        return
    _warned_years.add(year)
    log.warning(
        "SLA-DAYS: the official calendar has no data for %d; using Monday-Friday "
        "plus the configured extra holidays and workdays",
        year,
    )


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment!r} has no time zone")


class ServiceCalendar:
    """Working days and hours of the station, in the station's time zone."""

    def __init__(
        self,
        official: bool,
        extra_holidays: Iterable[date],
        extra_workdays: Iterable[date],
        workday_start: time,
        workday_end: time,
        tz: ZoneInfo,
    ) -> None:
        if workday_end <= workday_start:
            raise ValueError("workday_end must be later than workday_start")
        self.official = official
        self.extra_holidays = frozenset(extra_holidays)
        self.extra_workdays = frozenset(extra_workdays)
        self.workday_start = workday_start
        self.workday_end = workday_end
        self.tz = tz

    @classmethod
    def from_config(cls, sla: SlaConfig, tz: ZoneInfo) -> ServiceCalendar:
        """The calendar described by the [sla] section of the config."""
        return cls(
            sla.official_calendar,
            sla.extra_holidays,
            sla.extra_workdays,
            sla.workday_start,
            sla.workday_end,
            tz,
        )

    def is_workday(self, d: date) -> bool:
        """Config first (extra holidays win over extra workdays), then official, else Mon-Fri."""
        if d in self.extra_holidays:
            return False
        if d in self.extra_workdays:
            return True
        if self.official:
            answer = official_workday(d)
            if answer is not None:
                return answer
            _warn_uncovered(d.year)
        return d.weekday() <= LAST_WEEKDAY

    def _window(self, d: date) -> tuple[datetime, datetime]:
        """The working hours of day d as UTC instants."""
        start = datetime.combine(d, self.workday_start, tzinfo=self.tz).astimezone(UTC)
        end = datetime.combine(d, self.workday_end, tzinfo=self.tz).astimezone(UTC)
        return start, end

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """The moment `hours` working hours after start, counting only working hours."""
        _require_aware(start)
        if hours < 0:
            raise ValueError("hours must not be negative")
        if hours == 0:
            return start.astimezone(self.tz)
        remaining = timedelta(hours=hours)
        cursor = start.astimezone(UTC)
        day = start.astimezone(self.tz).date()
        while True:
            if self.is_workday(day):
                opens, closes = self._window(day)
                cursor = max(cursor, opens)
                if cursor < closes:
                    if remaining <= closes - cursor:
                        return (cursor + remaining).astimezone(self.tz)
                    remaining -= closes - cursor
                    cursor = closes
            day += timedelta(days=1)

    def deadline(self, start: datetime, hours: float, working_hours_only: bool) -> datetime:
        """A promise's due time: working hours when asked, else clock hours; in the station tz."""
        _require_aware(start)
        if working_hours_only:
            return self.add_working_hours(start, hours)
        return (start.astimezone(UTC) + timedelta(hours=hours)).astimezone(self.tz)
