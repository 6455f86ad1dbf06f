"""ADJ-CLOSED against the database: recompute a closed month after a change, carry the rest.

Every change that can fall in a closed month (an event recorded or imported, a slip imported,
a void, a contest decided) calls carry() in the same transaction, after writing the change.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import timedelta

import aiosqlite

from bot.config import Config
from bot.domain import adjustments, payroll, repair_revenue
from bot.domain.line_text import NoteRenderer
from bot.domain.models import MonthStatement, RecordedEvent, Slip, statement_from_json
from bot.i18n import t
from bot.services import snapshots
from storage import adjustments as stored_adjustments
from storage import ledger, months, repair_fees


def next_month(month: str) -> str:
    return payroll.month_days(month)[1].strftime("%Y-%m")


async def first_open_after(conn: aiosqlite.Connection, month: str) -> str:
    """The first month after `month` that is not closed: where its corrections are carried."""
    month = next_month(month)
    while await months.closed(conn, month) is not None:
        month = next_month(month)
    return month


async def live(
    conn: aiosqlite.Connection,
    config: Config,
    month: str,
    among: Collection[str] | None = None,
    slips: list[Slip] | None = None,
) -> MonthStatement:
    """The month as the database has it now, with what was carried into it; never a snapshot.

    `among` limits it to those people (their slips, their events, the all-staff ones);
    `slips`, when the caller read the month's slips already (all of them), are used as read.
    """
    start, end = payroll.month_bounds(month, config.tz)
    first, following = payroll.month_days(month)
    if slips is None:
        slips = await ledger.slips_between(conn, start, end, among=among)
    events = await ledger.events_between(conn, first, following - timedelta(days=1))
    if among is not None:
        events = [e for e in events if e.technician in among or e.technician == payroll.ALL_STAFF]
    staff = await ledger.technician_names(conn)
    statement = payroll.compute_month(month, slips, events, config.rules, config.tz, staff)
    # RWD-REVENUE of repairs done at the station: the month's returns, in one query.
    fees = await repair_fees.returned_between(conn, start, end, among=among)
    if fees:
        statement = repair_revenue.with_repair_revenue(statement, fees, config.rules, config.tz)
    statement = adjustments.with_adjustments(
        statement, await stored_adjustments.into_month(conn, month)
    )
    if among is not None:
        statement = MonthStatement(
            month, tuple(t for t in statement.technicians if t.technician in among)
        )
    return statement


async def fingerprint(conn: aiosqlite.Connection, config: Config, month: str) -> tuple:
    """A cheap summary of what a month's statement is computed from: it changes when a slip,
    an event, a void, a repair fee or an adjustment of that month is written."""
    start, end = payroll.month_bounds(month, config.tz)
    first, following = payroll.month_days(month)
    events = await conn.execute_fetchall(
        "SELECT count(*), max(id), sum(voided) FROM events WHERE day >= ? AND day < ?",
        (first.isoformat(), following.isoformat()),
    )
    slips = await conn.execute_fetchall(
        "SELECT count(*), max(id) FROM slips WHERE check_out_utc >= ? AND check_out_utc < ?",
        (ledger.utc_text(start), ledger.utc_text(end)),
    )
    carried = await conn.execute_fetchall(
        "SELECT count(*), max(id) FROM adjustments WHERE month = ?", (month,)
    )
    fees = await repair_fees.fingerprint(conn, start, end)
    return (tuple(events[0]), tuple(slips[0]), tuple(carried[0]), fees)


def concerns(event: RecordedEvent) -> set[str] | None:
    """Whose statements an event touches (None: anyone's, an all-staff event without shares)."""
    if event.technician != payroll.ALL_STAFF:
        return {event.technician}
    return {name for name, _fen in event.shares} or None


async def frozen(
    conn: aiosqlite.Connection, month: str, among: Collection[str] | None = None
) -> MonthStatement | None:
    """A closed month's snapshot (None while open); with `among`, only those technicians'
    parts are read, so a correction in a big month does not parse the whole station's."""
    closed, attempt = await months.parts_attempt(conn, month)
    if not closed:
        return None
    if among is not None and attempt is not None:
        found = await months.parts(conn, month, attempt, among)
        items = [json.loads(found[name]) for name in sorted(found)]
        return statement_from_json({"month": month, "technicians": items})
    text = await frozen_text(conn, month, attempt)
    statement = statement_from_json(json.loads(text))
    if among is None:
        return statement
    wanted = set(among)
    return MonthStatement(month, tuple(t for t in statement.technicians if t.technician in wanted))


async def frozen_text(conn: aiosqlite.Connection, month: str, attempt: str | None) -> str:
    """A closed month's snapshot text: as stored, or (stored as its parts) the parts joined."""
    text = await months.snapshot(conn, month)
    assert text is not None, f"{month} is not closed"
    if text == months.FROM_PARTS and attempt is not None:
        return snapshots.whole_text(month, await months.all_parts(conn, month, attempt))
    return text


async def carry(
    conn: aiosqlite.Connection,
    config: Config,
    month: str,
    among: Collection[str] | None,
    cause: str,
) -> tuple[str, int] | None:
    """Carry what closed `month` still owes `among` into the first open month.

    Returns (that open month, lines carried), or None when `month` is not closed. Calling it
    again with nothing changed carries nothing.
    """
    snapshot = await frozen(conn, month, among)
    if snapshot is None:
        return None
    recomputed = await live(conn, config, month, among)
    carried = await stored_adjustments.of_month(conn, month)
    renderer = NoteRenderer(config.language)
    lines = adjustments.differences(
        recomputed,
        snapshot,
        carried,
        among,
        note_text=lambda line: renderer.note(line._replace(adjusts=None)),
        gone_text=lambda was: t(renderer.language, "line.no_longer_due", was=was),
    )
    target = await first_open_after(conn, month)
    if lines:
        await stored_adjustments.carry(conn, target, lines, cause)
    return target, len(lines)
