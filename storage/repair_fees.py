"""Fees of repairs done at the station (RWD-REVENUE): one row per item, every version kept."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.domain.dispatch_models import from_iso, to_iso
from bot.domain.repair_revenue import RepairFee


@dataclass(frozen=True)
class StoredFee:
    """An item's fee as recorded (for the desk and the correction of a closed month)."""

    item_id: int
    technician_id: int
    technician: str
    fee_fen: int
    parts_fen: int
    recorded_at: datetime
    changed_at: datetime


async def of_item(conn: aiosqlite.Connection, item_id: int) -> StoredFee | None:
    rows = await conn.execute_fetchall(
        "SELECT f.item_id, f.technician_id, p.name, f.fee_fen, f.parts_fen, f.recorded_at, "
        "f.changed_at FROM repair_fees f JOIN people p ON p.id = f.technician_id "
        "WHERE f.item_id = ?",
        (item_id,),
    )
    if not rows:
        return None
    row = rows[0]
    return StoredFee(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        from_iso(row[5]),
        from_iso(row[6]),  # type: ignore[arg-type]
    )


async def put(
    conn: aiosqlite.Connection,
    item_id: int,
    technician_id: int,
    fee_fen: int,
    parts_fen: int,
    by: int | None,
    at: datetime,
) -> bool:
    """Record or change an item's fee (in the caller's transaction); True when it changed
    anything (the same values again write nothing)."""
    found = await conn.execute_fetchall(
        "SELECT technician_id, fee_fen, parts_fen FROM repair_fees WHERE item_id = ?", (item_id,)
    )
    if found and tuple(found[0]) == (technician_id, fee_fen, parts_fen):
        return False
    when = to_iso(at)
    await conn.execute(
        "INSERT INTO repair_fees (item_id, technician_id, fee_fen, parts_fen, recorded_by, "
        "recorded_at, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (item_id) DO UPDATE SET technician_id = excluded.technician_id, "
        "fee_fen = excluded.fee_fen, parts_fen = excluded.parts_fen, "
        "changed_at = excluded.changed_at",
        (item_id, technician_id, fee_fen, parts_fen, by, when, when),
    )
    await conn.execute(
        "INSERT INTO repair_fee_changes (item_id, technician_id, fee_fen, parts_fen, by_person, at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (item_id, technician_id, fee_fen, parts_fen, by, when),
    )
    return True


async def returned_between(
    conn: aiosqlite.Connection, start: datetime, end: datetime, among: Iterable[str] | None = None
) -> list[RepairFee]:
    """The fees of items returned to their customer in [start, end), in one query (of the
    technicians `among`, when given)."""
    sql = (
        "SELECT f.item_id, p.name, i.finished_at, f.fee_fen, f.parts_fen, "
        "coalesce(i.voucher_no, '#' || i.id), c.name "
        "FROM repair_fees f JOIN repair_items i ON i.id = f.item_id "
        "JOIN people p ON p.id = f.technician_id JOIN customers c ON c.id = i.customer_id "
        "WHERE i.state = 'returned' AND i.finished_at >= ? AND i.finished_at < ?"
    )
    params: list[object] = [to_iso(start), to_iso(end)]
    if among is not None:
        names = sorted(set(among))
        sql += f" AND p.name IN ({', '.join('?' * len(names)) or 'NULL'})"
        params.extend(names)
    rows = await conn.execute_fetchall(sql + " ORDER BY i.finished_at, f.item_id", params)
    return [
        RepairFee(row[0], row[1], from_iso(row[2]), row[3], row[4], row[5], row[6])  # type: ignore[arg-type]
        for row in rows
    ]


async def fingerprint(conn: aiosqlite.Connection, start: datetime, end: datetime) -> tuple:
    """What changes when a fee of an item returned in [start, end) is recorded or changed."""
    rows = await conn.execute_fetchall(
        "SELECT count(*), max(c.id) FROM repair_fee_changes c "
        "JOIN repair_items i ON i.id = c.item_id "
        "WHERE i.state = 'returned' AND i.finished_at >= ? AND i.finished_at < ?",
        (to_iso(start), to_iso(end)),
    )
    return tuple(rows[0])


async def changes_of(conn: aiosqlite.Connection, item_id: int) -> list[aiosqlite.Row]:
    """Every version of an item's fee, oldest first."""
    rows = await conn.execute_fetchall(
        "SELECT * FROM repair_fee_changes WHERE item_id = ? ORDER BY id", (item_id,)
    )
    return list(rows)
