"""What a linked customer may file a complaint about: their newest tickets and repair items."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.domain.dispatch_models import from_iso

TICKET, ITEM = "t", "i"


@dataclass(frozen=True)
class Subject:
    """A ticket (a visit) or a repair item of the customer, as a button names it."""

    kind: str  # TICKET or ITEM
    id: int
    at: datetime
    text: str  # the ticket's fault, the item's product
    technician: str | None  # the ticket's technician; None for an item
    voucher: str | None = None


async def subjects(conn: aiosqlite.Connection, customer_id: int, limit: int) -> list[Subject]:
    """The customer's newest tickets and repair items (up to limit of each), newest first."""
    tickets = await conn.execute_fetchall(
        "SELECT t.id, t.created_at, t.fault, p.name FROM tickets t"
        " LEFT JOIN people p ON p.id = t.assigned_to"
        " WHERE t.customer_id = ? ORDER BY t.created_at DESC, t.id DESC LIMIT ?",
        (customer_id, limit),
    )
    items = await conn.execute_fetchall(
        "SELECT id, taken_in_at, product, voucher_no FROM repair_items"
        " WHERE customer_id = ? ORDER BY taken_in_at DESC, id DESC LIMIT ?",
        (customer_id, limit),
    )
    found = [Subject(TICKET, r[0], from_iso(r[1]), r[2], r[3]) for r in tickets]  # type: ignore[arg-type]
    found += [Subject(ITEM, r[0], from_iso(r[1]), r[2], None, r[3]) for r in items]  # type: ignore[arg-type]
    return sorted(found, key=lambda s: (s.at, s.id), reverse=True)


async def linked_chat(conn: aiosqlite.Connection, customer_id: int) -> int | None:
    """The Telegram chat the customer linked (through a slip or a voucher), if any."""
    rows = await conn.execute_fetchall(
        "SELECT telegram_id FROM customers WHERE id = ?", (customer_id,)
    )
    return rows[0][0] if rows and rows[0][0] else None
