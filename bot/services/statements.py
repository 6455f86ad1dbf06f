"""Monthly statements: load a month from storage, compute it with the rules engine, close it."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from functools import partial
from zoneinfo import ZoneInfo

from bot.config import Config
from bot.domain import parsing, payroll
from bot.domain.evidence import Flag
from bot.domain.models import MonthStatement, Reason, StatementLine
from bot.services import corrections
from bot.services.snapshots import Snapshot, make_snapshot
from storage import complaints as complaint_store
from storage import ledger, months
from storage import visits as visit_store
from storage.db import Database
from storage.direct import DirectConnection

ALLOWANCE = payroll.ALLOWANCE


def parse_month(text: str) -> str | None:
    """'YYYY-MM' if text is a valid month (within bot.domain.parsing's bounds), else None."""
    return parsing.parse_month(text)


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
        frozen = await corrections.frozen(conn, month, None if technician is None else {technician})
    if frozen is not None:
        return frozen
    with payroll.gc_paused():  # a month is ~100k short-lived objects and not one cycle
        async with db.read() as conn:
            statement = await corrections.live(
                conn, config, month, None if technician is None else {technician}
            )
            start, end = month_bounds(month, config.tz)
            flagged = await visit_store.flags_of_slips_between(conn, start, end)
    if flagged:
        statement = mark_flagged(statement, flagged)
    return statement


def mark_flagged(statement: MonthStatement, flagged: dict[int, list[str]]) -> MonthStatement:
    """Each flagged slip's allowance line names its visit's flags and their reasons."""
    flag_reasons = {
        f"slip {slip_id}": Reason("flagged", {"flags": _flags_reason(encoded)})
        for slip_id, encoded in flagged.items()
    }
    technicians = []
    for tech in statement.technicians:
        lines = tuple(
            _with_flags(line, flag_reasons[line.ref])
            if line.kind == ALLOWANCE and line.ref in flag_reasons
            else line
            for line in tech.lines
        )
        technicians.append(replace(tech, lines=lines))
    return MonthStatement(statement.month, tuple(technicians))


def _flags_reason(encoded: list[str]) -> Reason:
    """The stored evidence flags of a visit as one reason, each flag in the reader's words."""
    flags = (Flag.decode(text) for text in encoded)
    parts = tuple(Reason(flag.key, flag.values) for flag in flags if flag is not None)
    return Reason("parts", {"parts": parts})


def _with_flags(line: StatementLine, flags: Reason) -> StatementLine:
    note = line.note
    if isinstance(note, str):
        return line
    reason, slip, zone, day = note
    return line._replace(note=(Reason("parts", {"parts": (reason, flags)}), slip, zone, day))


def statement_json(statement: MonthStatement, language: str | None = None) -> str:
    """`statement --json`, notes in `language` (the station's default language)."""
    return json.dumps(statement.as_json(language), ensure_ascii=False, indent=1)


@dataclass(frozen=True)
class Closing:
    month: str
    sha256: str
    already: bool = False


def snapshot_json(statement: MonthStatement, language: str | None = None) -> str:
    """The canonical JSON a closed month is stored as (sorted keys, so its hash is stable),
    notes in `language` (the station's)."""
    return make_snapshot(statement, language).text


async def close_month(
    db: Database,
    config: Config,
    month: str,
    by: int | None,
    stage_parts: Callable[[str], Awaitable[str]] | None = None,
) -> Closing:
    """Freeze a month's statements as a stored snapshot with its hash.

    The month is computed outside the write transaction (it can be large); should anything of
    it change meanwhile, it is computed again, so no change slips in between the snapshot and
    the close (after it, every change is carried by ADJ-CLOSED).

    stage_parts, if given, computes the month elsewhere (the bot uses a worker process) and
    writes its parts under the attempt token it is given, a few at a time, returning the
    snapshot's sha256; the close itself is then one small transaction. Otherwise (and on the
    last attempt) the month is computed here and written in one transaction, off the event
    loop's thread. Either way the month is stored as its parts (months.FROM_PARTS).
    """
    for attempt in range(_CLOSE_ATTEMPTS):
        async with db.read() as conn:
            existing = await months.closed(conn, month)
            before = await corrections.fingerprint(conn, config, month)
        if existing is not None:
            return Closing(month, existing, already=True)
        last = attempt + 1 == _CLOSE_ATTEMPTS
        if stage_parts is not None and not last:
            token = uuid.uuid4().hex
            digest = await stage_parts(token)
            async with db.transaction() as conn:
                stored = await _close_with_parts(conn, config, month, by, before, token, digest)
            if stored is None:
                continue
            return Closing(month, stored, already=stored != digest)
        if last:
            snapshot = None  # computed inside the transaction: nothing can change meanwhile
        else:
            statement = await compute(db, config, month)
            # Writing every line's note takes a while in a large month: off the loop's thread.
            snapshot = await asyncio.to_thread(make_snapshot, statement, config.language)
        outcome = await db.transaction_off_loop(
            partial(_store_closing, config, month, by, snapshot, before)
        )
        if outcome is None:
            continue
        stored, ours = outcome
        return Closing(month, stored, already=stored != ours)
    raise AssertionError("unreachable")


_CLOSE_ATTEMPTS = 3


async def _store_closing(
    config: Config,
    month: str,
    by: int | None,
    snapshot: Snapshot | None,
    before: tuple,
    conn: DirectConnection,
) -> tuple[str, str] | None:
    """Close the month with the snapshot (as its parts), in the write transaction: (the
    hash stored, the hash of what this call wrote). None when the month changed since `before`
    was read (compute it again); without a snapshot it is computed here."""
    if snapshot is not None and await corrections.fingerprint(conn, config, month) != before:
        return None
    if snapshot is None:
        snapshot = make_snapshot(await corrections.live(conn, config, month), config.language)
    token = uuid.uuid4().hex
    await months.stage_parts(conn, month, token, 0, snapshot.parts)
    stored = await _close_with_parts(conn, config, month, by, None, token, snapshot.sha256)
    assert stored is not None
    return stored, snapshot.sha256


async def _close_with_parts(
    conn: DirectConnection,
    config: Config,
    month: str,
    by: int | None,
    before: tuple | None,
    token: str,
    digest: str,
) -> str | None:
    """Close the month as the parts staged under token, returning the hash stored; unless it
    changed since `before` was read: then those parts are dropped and None returned."""
    if before is not None and await corrections.fingerprint(conn, config, month) != before:
        await months.drop_parts(conn, month, token)
        return None
    return await months.close(conn, month, months.FROM_PARTS, digest, by, token)


async def drop_abandoned_parts(db: Database) -> int:
    """At start-up, before any close: parts of a close a crash stopped are removed (they never
    counted; a month is closed only with its attempt's parts). Off the loop's thread, as they
    can be a big month's worth."""
    return await db.transaction_off_loop(months.drop_abandoned_parts)


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
        upheld = await complaint_store.upheld_counts(conn, start, end)
    return _metrics_of(slips, arrivals, upheld)


async def compute_with_metrics(
    db: Database, config: Config, month: str
) -> tuple[MonthStatement, dict]:
    """compute() and metrics() of the whole station from one read of the month's slips."""
    start, end = month_bounds(month, config.tz)
    async with db.read() as conn:
        frozen = await corrections.frozen(conn, month)
    with payroll.gc_paused():
        async with db.read() as conn:
            slips = await ledger.slips_between(conn, start, end)
            arrivals = await ledger.arrivals_between(
                conn, start, end, config.sla.late_grace_minutes
            )
            upheld = await complaint_store.upheld_counts(conn, start, end)
            if frozen is None:
                statement = await corrections.live(conn, config, month, slips=slips)
                flagged = await visit_store.flags_of_slips_between(conn, start, end)
        if frozen is not None:
            statement = frozen
        elif flagged:
            statement = mark_flagged(statement, flagged)
        return statement, _metrics_of(slips, arrivals, upheld)


def _metrics_of(
    slips: list, arrivals: dict[str, tuple[int, int]], upheld: dict[str, int] | None = None
) -> dict:
    """Per-technician metrics from the month's slips and timed arrivals, in one pass."""
    from bot.services.reports import TechnicianMetrics

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
    upheld = upheld or {}
    for name in sorted(set(counts) | set(arrivals) | set(upheld)):
        visits, satisfied, rated = counts.get(name, (0, 0, 0))
        on_time, timed = arrivals.get(name, (0, 0))
        result[name] = TechnicianMetrics(
            name, visits, satisfied, rated, on_time, timed, upheld.get(name, 0)
        )
    return result
