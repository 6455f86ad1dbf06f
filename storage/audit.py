"""The audit log: who exported, erased or was sent personal or payroll data, and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from storage.db import utcnow_iso


@dataclass(frozen=True)
class Entry:
    id: int
    at: datetime
    actor: str
    action: str
    detail: str


async def record(
    conn: aiosqlite.Connection, actor: str, action: str, detail: str = "", at: str | None = None
) -> None:
    """One line of the log (written in the caller's transaction)."""
    await conn.execute(
        "INSERT INTO audit_log (at, actor, action, detail) VALUES (?, ?, ?, ?)",
        (at or utcnow_iso(), actor, action, detail),
    )


async def count(conn: aiosqlite.Connection) -> int:
    rows = await conn.execute_fetchall("SELECT count(*) FROM audit_log")
    return int(rows[0][0])


async def page(conn: aiosqlite.Connection, offset: int, limit: int) -> list[Entry]:
    """Newest first."""
    rows = await conn.execute_fetchall(
        "SELECT id, at, actor, action, detail FROM audit_log ORDER BY id DESC LIMIT ? OFFSET ?",
        (limit, offset),
    )
    return [Entry(r[0], datetime.fromisoformat(r[1]), r[2], r[3], r[4]) for r in rows]
