"""Warranty overrides of tickets (WTY-CHECK): in or out, the note, who and when; newest wins."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.domain.dispatch_models import from_iso, to_iso


@dataclass(frozen=True)
class TicketOverride:
    ticket_id: int
    in_warranty: bool
    note: str
    by_person: int | None
    by_name: str | None
    at: datetime


async def add(
    conn: aiosqlite.Connection,
    ticket_id: int,
    in_warranty: bool,
    note: str,
    by_person: int | None,
    at: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO ticket_warranty (ticket_id, in_warranty, note, by_person, at)"
        " VALUES (?, ?, ?, ?, ?)",
        (ticket_id, int(in_warranty), note, by_person, to_iso(at)),
    )


async def latest(conn: aiosqlite.Connection, ticket_id: int) -> TicketOverride | None:
    """The ticket's override in force (its newest), if any."""
    rows = await conn.execute_fetchall(
        "SELECT w.ticket_id, w.in_warranty, w.note, w.by_person, p.name, w.at"
        " FROM ticket_warranty w LEFT JOIN people p ON p.id = w.by_person"
        " WHERE w.ticket_id = ? ORDER BY w.id DESC LIMIT 1",
        (ticket_id,),
    )
    if not rows:
        return None
    row = rows[0]
    return TicketOverride(
        ticket_id=row[0],
        in_warranty=bool(row[1]),
        note=row[2],
        by_person=row[3],
        by_name=row[4],
        at=from_iso(row[5]),  # type: ignore[arg-type]
    )
