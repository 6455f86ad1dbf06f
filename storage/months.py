"""Closed months: frozen statement snapshots and scheduled-run markers."""

from __future__ import annotations

from collections.abc import Collection, Sequence

import aiosqlite

from storage.db import utcnow_iso


async def closed(conn: aiosqlite.Connection, month: str) -> str | None:
    """The snapshot hash of a closed month, or None when it is open."""
    rows = await conn.execute_fetchall("SELECT sha256 FROM closed_months WHERE month = ?", (month,))
    return rows[0][0] if rows else None


FROM_PARTS = ""  # closed_months.snapshot of a month stored as its parts alone


async def snapshot(conn: aiosqlite.Connection, month: str) -> str | None:
    """The stored snapshot text (FROM_PARTS when the parts are the snapshot), None if open."""
    rows = await conn.execute_fetchall(
        "SELECT snapshot FROM closed_months WHERE month = ?", (month,)
    )
    return rows[0][0] if rows else None


async def parts_attempt(conn: aiosqlite.Connection, month: str) -> tuple[bool, str | None]:
    """(whether the month is closed, the attempt whose parts are its snapshot's), without
    reading the snapshot itself; months closed before parts were kept have no attempt."""
    rows = await conn.execute_fetchall(
        "SELECT parts_attempt FROM closed_months WHERE month = ?", (month,)
    )
    return (True, rows[0][0]) if rows else (False, None)


async def parts(
    conn: aiosqlite.Connection, month: str, attempt: str, technicians: Collection[str]
) -> dict[str, str]:
    """Those technicians' parts (JSON) of the attempt, by name; one without lines has none."""
    names = sorted(set(technicians))
    result: dict[str, str] = {}
    for start in range(0, len(names), _NAMES_PER_QUERY):
        chunk = names[start : start + _NAMES_PER_QUERY]
        rows = await conn.execute_fetchall(
            "SELECT technician, statement FROM closed_month_parts WHERE month = ? AND attempt = ?"
            f" AND technician IN ({', '.join('?' * len(chunk))})",
            (month, attempt, *chunk),
        )
        result.update((row[0], row[1]) for row in rows)
    return result


_NAMES_PER_QUERY = 500  # well under SQLite's limit on bound parameters


async def all_parts(conn: aiosqlite.Connection, month: str, attempt: str) -> list[str]:
    """Every part of the attempt, in the snapshot's order."""
    rows = await conn.execute_fetchall(
        "SELECT statement FROM closed_month_parts WHERE month = ? AND attempt = ?"
        " ORDER BY position",
        (month, attempt),
    )
    return [row[0] for row in rows]


async def stage_parts(
    conn: aiosqlite.Connection,
    month: str,
    attempt: str,
    first_position: int,
    technician_parts: Sequence[tuple[str, str]],
) -> None:
    """Write parts of a month about to be closed (they count once the month is closed with
    this attempt)."""
    await conn.executemany(
        "INSERT INTO closed_month_parts (month, attempt, position, technician, statement)"
        " VALUES (?, ?, ?, ?, ?)",
        [
            (month, attempt, first_position + index, name, part)
            for index, (name, part) in enumerate(technician_parts)
        ],
    )


async def drop_parts(conn: aiosqlite.Connection, month: str, attempt: str) -> None:
    """Remove an attempt's parts (it was given up)."""
    await conn.execute(
        "DELETE FROM closed_month_parts WHERE month = ? AND attempt = ?", (month, attempt)
    )


async def drop_abandoned_parts(conn: aiosqlite.Connection) -> int:
    """Remove parts no closed month counts (a close stopped by a crash); returns how many."""
    cur = await conn.execute(
        "DELETE FROM closed_month_parts WHERE NOT EXISTS (SELECT 1 FROM closed_months c"
        " WHERE c.month = closed_month_parts.month AND c.parts_attempt = closed_month_parts.attempt)"
    )
    return cur.rowcount


async def close(
    conn: aiosqlite.Connection,
    month: str,
    snapshot_json: str,
    sha256: str,
    by: int | None,
    attempt: str | None = None,
) -> str:
    """Store the snapshot (FROM_PARTS: the attempt's parts are it) unless the month is already
    closed, and remove the parts of any other attempt; returns the stored hash."""
    cur = await conn.execute(
        "INSERT INTO closed_months (month, closed_at, closed_by, snapshot, sha256, parts_attempt)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (month) DO NOTHING",
        (month, utcnow_iso(), by, snapshot_json, sha256, attempt),
    )
    if cur.rowcount == 1:
        await conn.execute(
            "DELETE FROM closed_month_parts WHERE month = ? AND attempt != ?",
            (month, attempt or ""),
        )
    elif attempt is not None:
        await drop_parts(conn, month, attempt)
    rows = await conn.execute_fetchall("SELECT sha256 FROM closed_months WHERE month = ?", (month,))
    return rows[0][0]


async def claim_run(conn: aiosqlite.Connection, name: str, period: str) -> bool:
    """Record that a scheduled job ran for period; False if it already had."""
    cur = await conn.execute(
        "INSERT INTO scheduled_runs (name, period, done_at) VALUES (?, ?, ?)"
        " ON CONFLICT (name, period) DO NOTHING",
        (name, period, utcnow_iso()),
    )
    return cur.rowcount == 1
