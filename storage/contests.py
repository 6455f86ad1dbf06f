"""Contests a technician raises against a recorded event."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from storage.db import utcnow_iso


@dataclass(frozen=True)
class Contest:
    id: int
    event_id: int
    technician_id: int
    reason: str
    state: str  # open | upheld | voided


def _contest(row: aiosqlite.Row) -> Contest:
    return Contest(row["id"], row["event_id"], row["technician_id"], row["reason"], row["state"])


async def create(conn: aiosqlite.Connection, event_id: int, technician_id: int, reason: str) -> int:
    cur = await conn.execute(
        "INSERT INTO contests (event_id, technician_id, reason, created_at) VALUES (?, ?, ?, ?)",
        (event_id, technician_id, reason, utcnow_iso()),
    )
    return int(cur.lastrowid)


async def by_id(conn: aiosqlite.Connection, contest_id: int) -> Contest | None:
    rows = await conn.execute_fetchall("SELECT * FROM contests WHERE id = ?", (contest_id,))
    return _contest(rows[0]) if rows else None


async def open_for_event(conn: aiosqlite.Connection, event_id: int) -> bool:
    rows = await conn.execute_fetchall(
        "SELECT 1 FROM contests WHERE event_id = ? AND state = 'open'", (event_id,)
    )
    return bool(rows)


async def open_contests(conn: aiosqlite.Connection) -> list[Contest]:
    rows = await conn.execute_fetchall("SELECT * FROM contests WHERE state = 'open' ORDER BY id")
    return [_contest(row) for row in rows]


async def decide(conn: aiosqlite.Connection, contest_id: int, state: str, by: int) -> None:
    await conn.execute(
        "UPDATE contests SET state = ?, decided_by = ?, decided_at = ? WHERE id = ? AND state = 'open'",
        (state, by, utcnow_iso(), contest_id),
    )


async def close_for_event(
    conn: aiosqlite.Connection, event_id: int, state: str, by: int | None
) -> None:
    await conn.execute(
        "UPDATE contests SET state = ?, decided_by = ?, decided_at = ? "
        "WHERE event_id = ? AND state = 'open'",
        (state, by, utcnow_iso(), event_id),
    )
