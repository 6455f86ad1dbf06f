"""Monthly statements: load a month from storage, compute it with the rules engine, close it."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot import payroll
from bot.config import Config
from bot.models import MonthStatement, statement_from_json
from storage import ledger, months
from storage.db import Database

MONTH_PATTERN = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def parse_month(text: str) -> str | None:
    """'YYYY-MM' if text is a valid month, else None."""
    text = text.strip()
    return text if MONTH_PATTERN.match(text) else None


def month_bounds(month: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of a calendar month in the station's time zone."""
    year, mon = int(month[:4]), int(month[5:7])
    start = datetime.combine(date(year, mon, 1), time(0), tzinfo=tz)
    following = date(year + (mon == 12), mon % 12 + 1, 1)
    return start, datetime.combine(following, time(0), tzinfo=tz)


def month_of(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m")


def previous_month(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    return f"{year - (mon == 1):04d}-{(mon - 2) % 12 + 1:02d}"


def next_month(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    return f"{year + (mon == 12):04d}-{mon % 12 + 1:02d}"


async def compute(
    db: Database, config: Config, month: str, technician: str | None = None
) -> MonthStatement:
    """The live statement of month (closed months return their frozen snapshot)."""
    async with db.read() as conn:
        frozen = await months.snapshot(conn, month)
    if frozen is not None:
        statement = statement_from_json(json.loads(frozen))
        if technician is not None:
            statement = MonthStatement(
                statement.month,
                tuple(t for t in statement.technicians if t.technician == technician),
            )
        return statement
    start, end = month_bounds(month, config.tz)
    with payroll.gc_paused():  # a month is ~100k short-lived objects and not one cycle
        async with db.read() as conn:
            slips = await ledger.slips_between(conn, start, end, technician)
            events = await ledger.events_between(
                conn, start.date(), (end - timedelta(days=1)).date(), technician
            )
            staff = await ledger.technician_names(conn)
        statement = payroll.compute_month(month, slips, events, config.rules, config.tz, staff)
    if technician is not None:
        statement = MonthStatement(
            month, tuple(t for t in statement.technicians if t.technician == technician)
        )
    return statement


def statement_json(statement: MonthStatement) -> str:
    return json.dumps(statement.as_json(), ensure_ascii=False, indent=1)


@dataclass(frozen=True)
class Closing:
    month: str
    sha256: str
    already: bool = False


def snapshot_json(statement: MonthStatement) -> str:
    """The canonical JSON a closed month is stored as (sorted keys, so its hash is stable)."""
    return json.dumps(statement.as_json(), ensure_ascii=False, sort_keys=True)


async def close_month(
    db: Database,
    config: Config,
    month: str,
    by: int | None,
    snapshot_of: Callable[[], Awaitable[tuple[str, str]]] | None = None,
) -> Closing:
    """Freeze a month's statements as a stored snapshot with its hash.

    snapshot_of, if given, makes the (snapshot JSON, sha256) elsewhere (the bot uses a worker
    process); by default the statement is computed here.
    """
    async with db.read() as conn:
        existing = await months.closed(conn, month)
    if existing is not None:
        return Closing(month, existing, already=True)
    if snapshot_of is not None:
        snapshot, digest = await snapshot_of()
    else:
        snapshot = snapshot_json(await compute(db, config, month))
        digest = hashlib.sha256(snapshot.encode("utf-8")).hexdigest()
    async with db.transaction() as conn:
        stored = await months.close(conn, month, snapshot, digest, by)
    return Closing(month, stored, already=stored != digest)


async def is_closed(db: Database, month: str) -> bool:
    async with db.read() as conn:
        return await months.closed(conn, month) is not None


async def open_month_for(db: Database, month: str) -> str:
    """The first month at or after month that is not closed (where corrections land)."""
    while await is_closed(db, month):
        month = next_month(month)
    return month


async def metrics(db: Database, config: Config, month: str) -> dict:
    """Per-technician visit counts, satisfaction and on-time arrival for the summary."""
    start, end = month_bounds(month, config.tz)
    async with db.read() as conn:
        slips = await ledger.slips_between(conn, start, end)
        arrivals = await ledger.arrivals_between(conn, start, end, config.sla.late_grace_minutes)
    return _metrics_of(slips, arrivals)


async def compute_with_metrics(
    db: Database, config: Config, month: str
) -> tuple[MonthStatement, dict]:
    """compute() and metrics() of the whole station from one read of the month's slips."""
    start, end = month_bounds(month, config.tz)
    async with db.read() as conn:
        frozen = await months.snapshot(conn, month)
    with payroll.gc_paused():
        async with db.read() as conn:
            slips = await ledger.slips_between(conn, start, end)
            arrivals = await ledger.arrivals_between(
                conn, start, end, config.sla.late_grace_minutes
            )
            if frozen is None:
                events = await ledger.events_between(
                    conn, start.date(), (end - timedelta(days=1)).date()
                )
                staff = await ledger.technician_names(conn)
        if frozen is not None:
            statement = statement_from_json(json.loads(frozen))
        else:
            statement = payroll.compute_month(month, slips, events, config.rules, config.tz, staff)
        return statement, _metrics_of(slips, arrivals)


def _metrics_of(slips: list, arrivals: dict[str, tuple[int, int]]) -> dict:
    """Per-technician metrics from the month's slips and timed arrivals, in one pass."""
    from bot.reports import TechnicianMetrics

    counts: dict[str, list[int]] = {}  # name -> [visits, satisfied, rated]
    for slip in slips:
        count = counts.get(slip.technician)
        if count is None:
            count = counts[slip.technician] = [0, 0, 0]
        count[0] += 1
        if slip.satisfaction is not None:
            count[2] += 1
            if slip.satisfaction == "satisfied":
                count[1] += 1
    result: dict[str, TechnicianMetrics] = {}
    for name in sorted(set(counts) | set(arrivals)):
        visits, satisfied, rated = counts.get(name, (0, 0, 0))
        on_time, timed = arrivals.get(name, (0, 0))
        result[name] = TechnicianMetrics(name, visits, satisfied, rated, on_time, timed)
    return result
