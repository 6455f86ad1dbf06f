"""The complaint register (CMP-REGISTER): registered, acknowledged, verified, decided."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.domain.dispatch_models import from_iso, to_iso


@dataclass(frozen=True)
class Complaint:
    id: int
    customer_id: int
    customer_name: str
    customer_telegram_id: int | None
    item_id: int | None
    ticket_id: int | None
    content: str
    category: str
    technician_id: int | None
    technician_name: str | None
    registered_by: int | None
    registered_at: datetime
    acknowledged_at: datetime | None
    verified_at: datetime | None
    verification: str
    decided_at: datetime | None
    result: str | None
    result_note: str
    event_id: int | None
    by_customer: bool = False  # filed by the customer in their own chat

    @property
    def stage(self) -> str:
        """registered, acknowledged, verified or decided."""
        if self.decided_at is not None:
            return "decided"
        if self.verified_at is not None:
            return "verified"
        if self.acknowledged_at is not None:
            return "acknowledged"
        return "registered"


_SQL = (
    "SELECT k.*, c.name AS customer_name, c.telegram_id AS customer_telegram_id, "
    "p.name AS technician_name FROM complaints k JOIN customers c ON c.id = k.customer_id "
    "LEFT JOIN people p ON p.id = k.technician_id "
)


def _complaint(row: aiosqlite.Row) -> Complaint:
    return Complaint(
        id=row["id"],
        customer_id=row["customer_id"],
        customer_name=row["customer_name"],
        customer_telegram_id=row["customer_telegram_id"],
        item_id=row["item_id"],
        ticket_id=row["ticket_id"],
        content=row["content"],
        category=row["class"],
        technician_id=row["technician_id"],
        technician_name=row["technician_name"],
        registered_by=row["registered_by"],
        registered_at=from_iso(row["registered_at"]),  # type: ignore[arg-type]
        acknowledged_at=from_iso(row["acknowledged_at"]),
        verified_at=from_iso(row["verified_at"]),
        verification=row["verification"],
        decided_at=from_iso(row["decided_at"]),
        result=row["result"],
        result_note=row["result_note"],
        event_id=row["event_id"],
        by_customer=bool(row["by_customer"]),
    )


async def insert(
    conn: aiosqlite.Connection,
    customer_id: int,
    content: str,
    category: str,
    technician_id: int | None,
    registered_by: int | None,
    at: datetime,
    item_id: int | None = None,
    ticket_id: int | None = None,
    by_customer: bool = False,
) -> int:
    cur = await conn.execute(
        "INSERT INTO complaints (customer_id, item_id, ticket_id, content, class, technician_id, "
        "registered_by, registered_at, by_customer) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            customer_id,
            item_id,
            ticket_id,
            content,
            category,
            technician_id,
            registered_by,
            to_iso(at),
            int(by_customer),
        ),
    )
    return int(cur.lastrowid)


async def open_filed_by_customer(conn: aiosqlite.Connection, customer_id: int) -> int:
    """How many complaints the customer filed themselves are not decided yet."""
    rows = await conn.execute_fetchall(
        "SELECT count(*) FROM complaints WHERE customer_id = ? AND by_customer = 1"
        " AND decided_at IS NULL",
        (customer_id,),
    )
    return int(rows[0][0])


async def get(conn: aiosqlite.Connection, complaint_id: int) -> Complaint | None:
    rows = await conn.execute_fetchall(_SQL + "WHERE k.id = ?", (complaint_id,))
    return _complaint(rows[0]) if rows else None


async def acknowledge(
    conn: aiosqlite.Connection, complaint_id: int, by: int | None, at: datetime
) -> bool:
    """True when this acknowledged it (not acknowledged before)."""
    cur = await conn.execute(
        "UPDATE complaints SET acknowledged_at = ?, acknowledged_by = ? "
        "WHERE id = ? AND acknowledged_at IS NULL",
        (to_iso(at), by, complaint_id),
    )
    return cur.rowcount == 1


async def verify(
    conn: aiosqlite.Connection, complaint_id: int, finding: str, by: int | None, at: datetime
) -> bool:
    """Record what verification found; only after acknowledging, once."""
    cur = await conn.execute(
        "UPDATE complaints SET verified_at = ?, verified_by = ?, verification = ? "
        "WHERE id = ? AND acknowledged_at IS NOT NULL AND verified_at IS NULL",
        (to_iso(at), by, finding, complaint_id),
    )
    return cur.rowcount == 1


async def decide(
    conn: aiosqlite.Connection,
    complaint_id: int,
    result: str,
    note: str,
    by: int | None,
    at: datetime,
) -> bool:
    """Record the result (upheld or rejected); only after verifying, once."""
    cur = await conn.execute(
        "UPDATE complaints SET decided_at = ?, decided_by = ?, result = ?, result_note = ? "
        "WHERE id = ? AND verified_at IS NOT NULL AND decided_at IS NULL",
        (to_iso(at), by, result, note, complaint_id),
    )
    return cur.rowcount == 1


async def set_event(conn: aiosqlite.Connection, complaint_id: int, event_id: int) -> None:
    await conn.execute("UPDATE complaints SET event_id = ? WHERE id = ?", (event_id, complaint_id))


async def open_complaints(conn: aiosqlite.Connection) -> list[Complaint]:
    rows = await conn.execute_fetchall(
        _SQL + "WHERE k.decided_at IS NULL ORDER BY k.registered_at, k.id"
    )
    return [_complaint(row) for row in rows]


async def recently_decided(conn: aiosqlite.Connection, limit: int) -> list[Complaint]:
    """The newest decided complaints, newest first (for the register after the open ones)."""
    rows = await conn.execute_fetchall(
        _SQL + "WHERE k.decided_at IS NOT NULL ORDER BY k.decided_at DESC, k.id DESC LIMIT ?",
        (limit,),
    )
    return [_complaint(row) for row in rows]


async def upheld_counts(
    conn: aiosqlite.Connection, since: datetime, until: datetime
) -> dict[str, int]:
    """Upheld complaints per technician name decided in [since, until) (for /summary)."""
    rows = await conn.execute_fetchall(
        "SELECT p.name, count(*) FROM complaints k JOIN people p ON p.id = k.technician_id "
        "WHERE k.result = 'upheld' AND k.decided_at >= ? AND k.decided_at < ? GROUP BY p.name",
        (to_iso(since), to_iso(until)),
    )
    return {row[0]: int(row[1]) for row in rows}
