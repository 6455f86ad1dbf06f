"""The durable inbox of fetched, not yet handled updates (see bot/polling.py)."""

from __future__ import annotations

import aiosqlite

from storage.db import utcnow_iso

STORE_SQL = (
    "INSERT INTO inbox (update_id, payload, received_at)"
    " SELECT ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM handled_updates WHERE update_id = ?)"
    " ON CONFLICT (update_id) DO NOTHING"
)


def store_rows(updates: list[tuple[int, str]]) -> list[tuple]:
    """Parameters of STORE_SQL for (update id, payload) pairs."""
    return [(update_id, payload, utcnow_iso(), update_id) for update_id, payload in updates]


async def store(conn: aiosqlite.Connection, updates: list[tuple[int, str]]) -> None:
    """Keep fetched updates that were not handled before (inside the caller's transaction)."""
    await conn.executemany(STORE_SQL, store_rows(updates))


async def pending(conn: aiosqlite.Connection) -> list[str]:
    """Payloads still waiting, oldest first."""
    rows = await conn.execute_fetchall("SELECT payload FROM inbox ORDER BY update_id")
    return [row[0] for row in rows]
