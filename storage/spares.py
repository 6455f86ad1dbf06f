"""Spare units and their loans against the customer's receipt 收条 (SLA-SPARE)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.domain.dispatch_models import from_iso, to_iso


class SpareBusy(Exception):
    """The spare is already lent out."""


@dataclass(frozen=True)
class Spare:
    id: int
    name: str
    kind: str
    serial: str
    note: str
    active: bool
    lent_to: str | None  # the customer holding it, if lent


@dataclass(frozen=True)
class Loan:
    id: int
    spare_id: int
    spare_name: str
    item_id: int | None
    customer_id: int
    customer_name: str
    receipt_file_id: str
    lent_by: int | None
    lent_at: datetime
    returned_at: datetime | None
    item_finished: bool  # the repaired item went back: the spare is due now


async def add(
    conn: aiosqlite.Connection, name: str, kind: str, serial: str, note: str, at: datetime
) -> int:
    cur = await conn.execute(
        "INSERT INTO spare_units (name, kind, serial, note, created_at) VALUES (?, ?, ?, ?, ?)",
        (name, kind, serial, note, to_iso(at)),
    )
    return int(cur.lastrowid)


async def set_active(conn: aiosqlite.Connection, spare_id: int, active: bool) -> None:
    await conn.execute("UPDATE spare_units SET active = ? WHERE id = ?", (int(active), spare_id))


async def listing(conn: aiosqlite.Connection, include_inactive: bool = False) -> list[Spare]:
    """The spare list with who holds each one."""
    where = "" if include_inactive else "WHERE s.active = 1 "
    rows = await conn.execute_fetchall(
        "SELECT s.id, s.name, s.kind, s.serial, s.note, s.active, c.name "
        "FROM spare_units s LEFT JOIN spare_loans l ON l.spare_id = s.id "
        "AND l.returned_at IS NULL LEFT JOIN customers c ON c.id = l.customer_id "
        f"{where}ORDER BY s.name, s.id"
    )
    return [Spare(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6]) for r in rows]


async def get(conn: aiosqlite.Connection, spare_id: int) -> Spare | None:
    found = [s for s in await listing(conn, True) if s.id == spare_id]
    return found[0] if found else None


async def lend(
    conn: aiosqlite.Connection,
    spare_id: int,
    customer_id: int,
    item_id: int | None,
    receipt_file_id: str,
    by: int | None,
    at: datetime,
) -> int:
    """Open a loan; SpareBusy when the spare is out already (one open loan per spare)."""
    try:
        cur = await conn.execute(
            "INSERT INTO spare_loans (spare_id, item_id, customer_id, receipt_file_id, lent_by, "
            "lent_at) VALUES (?, ?, ?, ?, ?, ?)",
            (spare_id, item_id, customer_id, receipt_file_id, by, to_iso(at)),
        )
    except sqlite3.IntegrityError as exc:
        if "UNIQUE" in str(exc):
            raise SpareBusy(spare_id) from None
        raise
    return int(cur.lastrowid)


async def close(conn: aiosqlite.Connection, loan_id: int, by: int | None, at: datetime) -> bool:
    """The spare came back; False when the loan was closed already."""
    cur = await conn.execute(
        "UPDATE spare_loans SET returned_at = ?, returned_by = ? "
        "WHERE id = ? AND returned_at IS NULL",
        (to_iso(at), by, loan_id),
    )
    return cur.rowcount == 1


_LOAN_SQL = (
    "SELECT l.id, l.spare_id, s.name, l.item_id, l.customer_id, c.name, l.receipt_file_id, "
    "l.lent_by, l.lent_at, l.returned_at, i.finished_at IS NOT NULL "
    "FROM spare_loans l JOIN spare_units s ON s.id = l.spare_id "
    "JOIN customers c ON c.id = l.customer_id LEFT JOIN repair_items i ON i.id = l.item_id "
)


def _loan(r: aiosqlite.Row) -> Loan:
    return Loan(
        r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], from_iso(r[8]), from_iso(r[9]), bool(r[10])
    )  # type: ignore[arg-type]


async def loan(conn: aiosqlite.Connection, loan_id: int) -> Loan | None:
    rows = await conn.execute_fetchall(_LOAN_SQL + "WHERE l.id = ?", (loan_id,))
    return _loan(rows[0]) if rows else None


async def open_loans(conn: aiosqlite.Connection) -> list[Loan]:
    """Spares still out, those whose repaired item went back first (due now)."""
    rows = await conn.execute_fetchall(
        _LOAN_SQL + "WHERE l.returned_at IS NULL ORDER BY i.finished_at IS NULL, l.lent_at, l.id"
    )
    return [_loan(r) for r in rows]
