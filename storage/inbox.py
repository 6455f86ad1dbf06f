"""The durable inbox of fetched, not yet handled updates (see handlers/polling.py)."""

from __future__ import annotations

import aiosqlite

from storage.db import utcnow_iso


def store_statement(updates: list[tuple[int, str]]) -> tuple[str, list[object]]:
    """One INSERT keeping the fetched (update id, payload) pairs not handled before.

    A single statement is atomic on its own, so storing a batch is one round trip and holds
    SQLite's write lock only while it runs.
    """
    values = ", ".join(["(?, ?, ?)"] * len(updates))
    sql = (
        "INSERT INTO inbox (update_id, payload, received_at)"
        f" SELECT v.column1, v.column2, v.column3 FROM (VALUES {values}) AS v"
        " WHERE NOT EXISTS (SELECT 1 FROM handled_updates h WHERE h.update_id = v.column1)"
        " ON CONFLICT (update_id) DO NOTHING"
    )
    received = utcnow_iso()
    params: list[object] = []
    for update_id, payload in updates:
        params += (update_id, payload, received)
    return sql, params


async def store(conn: aiosqlite.Connection, updates: list[tuple[int, str]]) -> None:
    """Keep fetched updates that were not handled before."""
    if updates:
        await conn.execute(*store_statement(updates))


async def pending(conn: aiosqlite.Connection) -> list[tuple[int, str]]:
    """(update id, payload) of the updates still waiting, oldest first."""
    rows = await conn.execute_fetchall("SELECT update_id, payload FROM inbox ORDER BY update_id")
    return [(row[0], row[1]) for row in rows]
