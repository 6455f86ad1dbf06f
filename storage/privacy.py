"""Retention and people's rights: purge old tracks, export what is held, erase a customer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import aiosqlite

from storage import identities

# Raw coordinates of a visit; its distances, evidence grades and flags are kept.
_TRACK_COLUMNS = (
    "check_in_lat",
    "check_in_lon",
    "check_in_accuracy",
    "check_out_lat",
    "check_out_lon",
    "check_out_accuracy",
)
FORGOTTEN_NAME = "已删除客户 #{id}"


async def _purge_visits(conn: aiosqlite.Connection, where: str, params: tuple, at: str) -> int:
    ids = [
        r[0] for r in await conn.execute_fetchall(f"SELECT id FROM visits WHERE {where}", params)
    ]
    for visit_id in ids:
        await conn.execute("DELETE FROM live_points WHERE visit_id = ?", (visit_id,))
        cleared = ", ".join(f"{column} = NULL" for column in _TRACK_COLUMNS)
        await conn.execute(
            f"UPDATE visits SET {cleared}, track_purged_at = ? WHERE id = ?", (at, visit_id)
        )
    return len(ids)


async def purge_tracks(conn: aiosqlite.Connection, cutoff: datetime, at: datetime) -> int:
    """Drop live points and raw coordinates of visits closed before cutoff; returns how many."""
    return await _purge_visits(
        conn,
        "state = 'closed' AND check_out_at < ? AND track_purged_at IS NULL",
        (cutoff.isoformat(),),
        at.isoformat(),
    )


def _rows(rows: list[aiosqlite.Row]) -> list[dict[str, Any]]:
    return [dict(row) for row in rows]


async def _select(conn: aiosqlite.Connection, sql: str, *params: Any) -> list[dict[str, Any]]:
    return _rows(await conn.execute_fetchall(sql, params))


async def export_person(conn: aiosqlite.Connection, name: str) -> dict[str, Any] | None:
    """Everything held about the people and customers of this name; None when nobody matches."""
    staff = await _select(conn, "SELECT * FROM people WHERE name = ? ORDER BY id", name)
    clients = await _select(conn, "SELECT * FROM customers WHERE name = ? ORDER BY id", name)
    if not staff and not clients:
        return None
    result: dict[str, Any] = {"name": name, "people": [], "customers": []}
    for person in staff:
        pid = person["id"]
        visits = await _select(
            conn, "SELECT * FROM visits WHERE technician_id = ? ORDER BY id", pid
        )
        for visit in visits:
            visit["live_points"] = await _select(
                conn,
                "SELECT lat, lon, accuracy, at FROM live_points WHERE visit_id = ? ORDER BY at, id",
                visit["id"],
            )
            visit["flags"] = await _select(
                conn,
                "SELECT stage, code, detail, created_at, resolution FROM visit_flags"
                " WHERE visit_id = ? ORDER BY id",
                visit["id"],
            )
        result["people"].append(
            {
                **person,
                "visits": visits,
                "slips": await _select(
                    conn, "SELECT * FROM slips WHERE technician_id = ? ORDER BY id", pid
                ),
                "events": await _select(
                    conn, "SELECT * FROM events WHERE technician_id = ? ORDER BY id", pid
                ),
                "contests": await _select(
                    conn,
                    "SELECT * FROM contests WHERE technician_id = ? ORDER BY id",
                    pid,
                ),
            }
        )
    for customer in clients:
        cid = customer["id"]
        result["customers"].append(
            {
                **customer,
                "machines": await _select(
                    conn, "SELECT * FROM machines WHERE customer_id = ? ORDER BY id", cid
                ),
                "tickets": await _select(
                    conn, "SELECT * FROM tickets WHERE customer_id = ? ORDER BY id", cid
                ),
                "slips": await _select(
                    conn, "SELECT * FROM slips WHERE customer_id = ? ORDER BY id", cid
                ),
            }
        )
    return result


async def forget_customer(conn: aiosqlite.Connection, name: str, at: datetime) -> list[int]:
    """Erase the personal fields of the customers of this name; returns their ids.

    The name becomes a pseudonym; phone, address, location, notes and the linked chat are
    cleared, and so are the raw coordinates of visits to them. Slips, tickets and statements
    keep their figures.
    """
    rows = await conn.execute_fetchall(
        "SELECT id FROM customers WHERE name = ? AND forgotten_at IS NULL", (name,)
    )
    ids = [row[0] for row in rows]
    for cid in ids:
        linked = await conn.execute_fetchall(
            "SELECT telegram_id FROM customers WHERE id = ?", (cid,)
        )
        await conn.execute(
            "UPDATE customers SET name = ?, phone = '', address = '', lat = NULL, lon = NULL,"
            " notes = '', telegram_id = NULL, language = NULL, forgotten_at = ? WHERE id = ?",
            (FORGOTTEN_NAME.format(id=cid), at.isoformat(), cid),
        )
        if linked and linked[0][0] is not None:
            await identities.sync_telegram_customer(conn, linked[0][0])
        await _purge_visits(
            conn,
            "state = 'closed' AND ticket_id IN (SELECT id FROM tickets WHERE customer_id = ?)",
            (cid,),
            at.isoformat(),
        )
    return ids
