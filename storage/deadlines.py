"""Promise deadlines as rows (DESIGN.md "time is data"): created, claimed once, completed."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import aiosqlite

from bot.domain.dispatch_models import Deadline, from_iso, to_iso

PENDING, DONE, FIRED = "pending", "done", "fired"
_CHUNK = 500  # refs per IN (...) list, well under SQLite's variable limit


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


async def due_by(conn: aiosqlite.Connection, now: datetime) -> list[Deadline]:
    """Pending deadlines whose breach or unsent warning is due by now (two indexed reads)."""
    moment = to_iso(now)
    rows = await conn.execute_fetchall(
        "SELECT * FROM deadlines WHERE state = ? AND due_at <= ? ORDER BY due_at, id",
        (PENDING, moment),
    )
    warn_rows = await conn.execute_fetchall(
        "SELECT * FROM deadlines WHERE state = ? AND warned_at IS NULL AND warn_at <= ? "
        "ORDER BY warn_at, id",
        (PENDING, moment),
    )
    seen = {row["id"] for row in rows}
    found = [_deadline(row) for row in rows]
    found += [_deadline(row) for row in warn_rows if row["id"] not in seen]
    return found


async def earliest_moment(conn: aiosqlite.Connection) -> datetime | None:
    """The soonest moment a pending deadline needs attention: a breach or an unsent warning."""
    rows = await conn.execute_fetchall(
        "SELECT (SELECT MIN(due_at) FROM deadlines WHERE state = ?), "
        "(SELECT MIN(warn_at) FROM deadlines WHERE state = ? AND warned_at IS NULL "
        "AND warn_at IS NOT NULL)",
        (PENDING, PENDING),
    )
    moments = [from_iso(value) for value in rows[0] if value is not None]
    return min((m for m in moments if m is not None), default=None)


async def pending_for(
    conn: aiosqlite.Connection, kinds: Iterable[str], ref_ids: Iterable[int]
) -> dict[tuple[str, int], Deadline]:
    """Pending deadlines of these kinds for these refs, keyed by (kind, ref_id).

    Looked up by the (kind, ref_id) key, so the cost follows the refs asked for, not the
    number of pending deadlines (the state is checked here: filtering on it in SQL would let
    the planner walk the index of every pending row instead)."""
    kinds, refs = list(kinds), list(ref_ids)
    found: dict[tuple[str, int], Deadline] = {}
    kind_marks = ",".join("?" * len(kinds))
    for first in range(0, len(refs), _CHUNK):
        chunk = refs[first : first + _CHUNK]
        rows = await conn.execute_fetchall(
            f"SELECT * FROM deadlines WHERE kind IN ({kind_marks}) "
            f"AND ref_id IN ({','.join('?' * len(chunk))})",
            (*kinds, *chunk),
        )
        for row in rows:
            if row["state"] == PENDING:
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
        "UPDATE deadlines SET fired_at = ?, state = ? WHERE id = ? AND state = ?",
        (to_iso(now), FIRED, deadline_id, PENDING),
    )
    return cur.rowcount == 1
