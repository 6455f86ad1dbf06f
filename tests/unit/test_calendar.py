"""SLA-DAYS and SLA-ARRIVE: the working calendar and deadlines in working or clock hours."""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

import bot.domain.calendar as service_calendar
from bot.config import SlaConfig
from bot.domain.calendar import ServiceCalendar

TZ = ZoneInfo("Asia/Shanghai")
UTC = ZoneInfo("UTC")


def make(official: bool = True, holidays=(), workdays=()) -> ServiceCalendar:
    return ServiceCalendar(official, holidays, workdays, time(8, 30), time(17, 30), TZ)


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service_calendar, "_warned_years", set())


def test_2026_official_holidays_and_make_up_days() -> None:
    cal = make()
    assert not cal.is_workday(date(2026, 10, 1))  # National Day, a Thursday
    make_up = [d for d in chinese_calendar.workdays if d.year == 2026 and d.weekday() == 5]
    assert make_up, "the package lists 2026 make-up Saturdays"
    assert all(cal.is_workday(d) for d in make_up)
    assert cal.is_workday(date(2026, 11, 3))  # an ordinary Tuesday
    assert not cal.is_workday(date(2026, 11, 7))  # an ordinary Saturday


def test_unofficial_calendar_is_monday_to_friday() -> None:
    cal = make(official=False)
    assert cal.is_workday(date(2026, 10, 1))
    make_up = next(d for d in chinese_calendar.workdays if d.year == 2026 and d.weekday() == 5)
    assert not cal.is_workday(make_up)


def test_2027_falls_back_to_weekdays_and_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    cal = make(holidays=[date(2027, 1, 1)])
    with caplog.at_level(logging.WARNING, logger="bot.domain.calendar"):
        assert not cal.is_workday(date(2027, 1, 1))  # a Friday, but an extra holiday
        assert cal.is_workday(date(2027, 1, 4))  # Monday
        assert cal.is_workday(date(2027, 1, 8))  # Friday
        assert not cal.is_workday(date(2027, 1, 9))  # Saturday
        assert not make().is_workday(date(2027, 1, 10))  # another calendar, same year
    warnings = [r for r in caplog.records if "2027" in r.getMessage()]
    assert len(warnings) == 1


def test_config_overrides_come_first() -> None:
    cal = make(holidays=[date(2026, 11, 3)], workdays=[date(2026, 10, 1), date(2027, 1, 2)])
    assert not cal.is_workday(date(2026, 11, 3))
    assert cal.is_workday(date(2026, 10, 1))
    assert cal.is_workday(date(2027, 1, 2))  # a Saturday made a working day
    both = make(holidays=[date(2026, 11, 4)], workdays=[date(2026, 11, 4)])
    assert not both.is_workday(date(2026, 11, 4))


def test_from_config() -> None:
    sla = SlaConfig(extra_holidays=(date(2027, 1, 1),), official_calendar=False)
    cal = ServiceCalendar.from_config(sla, TZ)
    assert not cal.is_workday(date(2027, 1, 1))
    assert (cal.workday_start, cal.workday_end) == (sla.workday_start, sla.workday_end)


def at(*args: int, tz: ZoneInfo = TZ) -> datetime:
    return datetime(*args, tzinfo=tz)


def test_working_hours_within_one_day() -> None:
    assert make().add_working_hours(at(2026, 11, 3, 9, 0), 2.5) == at(2026, 11, 3, 11, 30)


def test_working_hours_carry_over_the_weekend() -> None:
    # Friday 16:00 + 3 working hours: 1.5 h on Friday, 1.5 h from Monday 08:30.
    assert make().add_working_hours(at(2026, 11, 6, 16, 0), 3) == at(2026, 11, 9, 10, 0)


def test_working_hours_start_outside_hours() -> None:
    cal = make()
    assert cal.add_working_hours(at(2026, 11, 3, 6, 0), 1) == at(2026, 11, 3, 9, 30)
    assert cal.add_working_hours(at(2026, 11, 3, 20, 0), 1) == at(2026, 11, 4, 9, 30)
    assert cal.add_working_hours(at(2026, 11, 7, 12, 0), 9) == at(2026, 11, 9, 17, 30)


def test_48_working_hours_skip_national_day() -> None:
    cal = make()
    # Wed 2026-09-30 17:00: 0.5 h that day, then the National Day holidays are skipped.
    end = cal.add_working_hours(at(2026, 9, 30, 17, 0), 48)
    after = (date(2026, 10, 1) + timedelta(n) for n in range(30))
    days = [d for d in after if cal.is_workday(d)]
    assert days[0] == date(2026, 10, 8)
    # 47.5 h left = 5 full days of 9 h (45 h) + 2.5 h on the 6th working day.
    assert end == datetime.combine(days[5], time(11, 0), tzinfo=TZ)


def test_2027_working_hours_skip_the_extra_holiday() -> None:
    cal = make(holidays=[date(2027, 1, 1)])
    # Thursday 2026-12-31 17:00 + 1 h: 0.5 h Thursday, Friday Jan 1 is off, Monday Jan 4.
    assert cal.add_working_hours(at(2026, 12, 31, 17, 0), 1) == at(2027, 1, 4, 9, 0)


def test_any_input_zone_returns_station_zone() -> None:
    start = at(2026, 11, 3, 1, 0, tz=UTC)  # 09:00 in Shanghai
    end = make().add_working_hours(start, 1)
    assert end == at(2026, 11, 3, 10, 0)
    assert end.tzinfo == TZ


def test_zero_hours_and_naive_or_negative_input() -> None:
    cal = make()
    start = at(2026, 11, 7, 12, 0)
    assert cal.add_working_hours(start, 0) == start
    with pytest.raises(ValueError):
        cal.add_working_hours(datetime(2026, 11, 3, 9, 0), 1)
    with pytest.raises(ValueError):
        cal.add_working_hours(start, -1)
    with pytest.raises(ValueError):
        ServiceCalendar(True, (), (), time(17, 0), time(9, 0), TZ)


def test_deadline_clock_or_working_hours() -> None:
    cal = make()
    start = at(2026, 11, 6, 16, 0, tz=UTC)  # Saturday 00:00 in Shanghai
    clock = cal.deadline(start, 48, working_hours_only=False)
    assert clock == at(2026, 11, 9, 0, 0) and clock.tzinfo == TZ
    assert cal.deadline(start, 9, working_hours_only=True) == at(2026, 11, 9, 17, 30)


def test_other_station_zone_with_dst() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    cal = ServiceCalendar(False, (), (), time(8, 0), time(17, 0), berlin)
    # Friday 2026-10-23 16:00 + 2 h: 1 h Friday, 1 h Monday after the DST change.
    end = cal.add_working_hours(datetime(2026, 10, 23, 16, 0, tzinfo=berlin), 2)
    assert end == datetime(2026, 10, 26, 9, 0, tzinfo=berlin)
