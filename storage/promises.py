"""Answers given to customers (SLA-TAKEBACK) and decisions on unreported visits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.domain.dispatch_models import from_iso, to_iso

CONFIRMED, DISMISSED = "confirmed", "dismissed"


@dataclass(frozen=True)
class CustomerAnswer:
    id: int
    ticket_id: int
    answer: str
    recorded_by: int | None
    recorded_at: datetime


@dataclass(frozen=True)
class Decision:
    visit_id: int
    decision: str
    decided_by: int | None
    event_id: int | None


async def add_answer(
    conn: aiosqlite.Connection, ticket_id: int, answer: str, by: int | None, at: datetime
) -> int:
    cur = await conn.execute(
        "INSERT INTO customer_answers (ticket_id, answer, recorded_by, recorded_at)"
        " VALUES (?, ?, ?, ?)",
        (ticket_id, answer, by, to_iso(at)),
    )
    return int(cur.lastrowid)


async def answers_of(conn: aiosqlite.Connection, ticket_id: int) -> list[CustomerAnswer]:
    rows = await conn.execute_fetchall(
        "SELECT * FROM customer_answers WHERE ticket_id = ? ORDER BY id", (ticket_id,)
    )
    return [
        CustomerAnswer(
            id=row["id"],
            ticket_id=row["ticket_id"],
            answer=row["answer"],
            recorded_by=row["recorded_by"],
            recorded_at=from_iso(row["recorded_at"]),  # type: ignore[arg-type]
        )
        for row in rows
    ]


async def decide(
    conn: aiosqlite.Connection, visit_id: int, decision: str, by: int | None, at: datetime
) -> bool:
    """Record the first decision on an unreported visit; False if one was made already."""
    cur = await conn.execute(
        "INSERT INTO unreported_decisions (visit_id, decision, decided_by, decided_at)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (visit_id) DO NOTHING",
        (visit_id, decision, by, to_iso(at)),
    )
    return cur.rowcount == 1


async def decision_of(conn: aiosqlite.Connection, visit_id: int) -> Decision | None:
    rows = await conn.execute_fetchall(
        "SELECT * FROM unreported_decisions WHERE visit_id = ?", (visit_id,)
    )
    if not rows:
        return None
    row = rows[0]
    return Decision(row["visit_id"], row["decision"], row["decided_by"], row["event_id"])


async def set_decision_event(conn: aiosqlite.Connection, visit_id: int, event_id: int) -> None:
    await conn.execute(
        "UPDATE unreported_decisions SET event_id = ? WHERE visit_id = ?", (event_id, visit_id)
    )


async def event_id_by_source_key(conn: aiosqlite.Connection, source_key: str) -> int | None:
    """The event recorded under this natural key, if any."""
    rows = await conn.execute_fetchall("SELECT id FROM events WHERE source_key = ?", (source_key,))
    return int(rows[0][0]) if rows else None


async def undo_decision(conn: aiosqlite.Connection, visit_id: int) -> None:
    """Withdraw a confirmation whose event could not be recorded."""
    await conn.execute(
        "DELETE FROM unreported_decisions WHERE visit_id = ? AND event_id IS NULL", (visit_id,)
    )
