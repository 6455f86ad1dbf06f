"""Promise deadlines as rows (DESIGN.md "time is data"): created, claimed once, completed."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import aiosqlite

from bot.dispatch_models import Deadline, from_iso, to_iso

PENDING, DONE = "pending", "done"


def _deadline(row: aiosqlite.Row) -> Deadline:
    due = from_iso(row["due_at"])
    assert due is not None
    return Deadline(
        id=row["id"],
        kind=row["kind"],
        ref_id=row["ref_id"],
        due_at=due,
        warn_at=from_iso(row["warn_at"]),
        state=row["state"],
        warned_at=from_iso(row["warned_at"]),
        fired_at=from_iso(row["fired_at"]),
    )


async def upsert(
    conn: aiosqlite.Connection, kind: str, ref_id: int, due_at: datetime, warn_at: datetime | None
) -> None:
    """Create the deadline (kind, ref_id), or re-arm it with new times."""
    await conn.execute(
        "INSERT INTO deadlines (kind, ref_id, due_at, warn_at, state) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (kind, ref_id) DO UPDATE SET due_at = excluded.due_at, "
        "warn_at = excluded.warn_at, state = excluded.state, warned_at = NULL, fired_at = NULL",
        (kind, ref_id, to_iso(due_at), to_iso(warn_at) if warn_at else None, PENDING),
    )


async def complete(conn: aiosqlite.Connection, kind: str, ref_id: int) -> bool:
    """Mark a pending deadline met; True if there was one."""
    cur = await conn.execute(
        "UPDATE deadlines SET state = ? WHERE kind = ? AND ref_id = ? AND state = ?",
        (DONE, kind, ref_id, PENDING),
    )
    return cur.rowcount == 1


async def get(conn: aiosqlite.Connection, kind: str, ref_id: int) -> Deadline | None:
    rows = await conn.execute_fetchall(
        "SELECT * FROM deadlines WHERE kind = ? AND ref_id = ?", (kind, ref_id)
    )
    row = rows[0] if rows else None
    return _deadline(row) if row else None


async def pending(conn: aiosqlite.Connection) -> list[Deadline]:
    """Every deadline not yet met or fired, soonest first."""
    rows = await conn.execute_fetchall(
        "SELECT * FROM deadlines WHERE state = ? ORDER BY due_at, id", (PENDING,)
    )
    return [_deadline(row) for row in rows]


async def pending_for(
    conn: aiosqlite.Connection, kinds: Iterable[str], ref_ids: Iterable[int]
) -> dict[tuple[str, int], Deadline]:
    """Pending deadlines of these kinds for these refs, keyed by (kind, ref_id)."""
    kinds, refs = list(kinds), list(ref_ids)
    if not kinds or not refs:
        return {}
    found: dict[tuple[str, int], Deadline] = {}
    async with conn.execute(
        f"SELECT * FROM deadlines WHERE state = ? AND kind IN ({','.join('?' * len(kinds))})",
        (PENDING, *kinds),
    ) as cur:
        wanted = set(refs)
        for row in await cur.fetchall():
            if row["ref_id"] in wanted:
                found[(row["kind"], row["ref_id"])] = _deadline(row)
    return found


async def claim_warning(conn: aiosqlite.Connection, deadline_id: int, now: datetime) -> bool:
    """Record that the warning goes out now; False if it already went."""
    cur = await conn.execute(
        "UPDATE deadlines SET warned_at = ? WHERE id = ? AND state = ? AND warned_at IS NULL",
        (to_iso(now), deadline_id, PENDING),
    )
    return cur.rowcount == 1


async def claim_breach(conn: aiosqlite.Connection, deadline_id: int, now: datetime) -> bool:
    """Record that the deadline fired now (no longer pending); False if it already fired."""
    cur = await conn.execute(
        "UPDATE deadlines SET fired_at = ?, state = 'fired' WHERE id = ? AND state = ?",
        (to_iso(now), deadline_id, PENDING),
    )
    return cur.rowcount == 1
