"""Closed months: frozen statement snapshots and scheduled-run markers."""

from __future__ import annotations

import aiosqlite

from storage.db import utcnow_iso


async def closed(conn: aiosqlite.Connection, month: str) -> str | None:
    """The snapshot hash of a closed month, or None when it is open."""
    rows = await conn.execute_fetchall("SELECT sha256 FROM closed_months WHERE month = ?", (month,))
    return rows[0][0] if rows else None


async def snapshot(conn: aiosqlite.Connection, month: str) -> str | None:
    rows = await conn.execute_fetchall(
        "SELECT snapshot FROM closed_months WHERE month = ?", (month,)
    )
    return rows[0][0] if rows else None


async def close(
    conn: aiosqlite.Connection, month: str, snapshot_json: str, sha256: str, by: int | None
) -> str:
    """Store the snapshot unless the month is already closed; returns the stored hash."""
    await conn.execute(
        "INSERT INTO closed_months (month, closed_at, closed_by, snapshot, sha256)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (month) DO NOTHING",
        (month, utcnow_iso(), by, snapshot_json, sha256),
    )
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
