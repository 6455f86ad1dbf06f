"""Customers and their machines."""

from __future__ import annotations

import aiosqlite

from storage.db import utcnow_iso


async def id_by_name(conn: aiosqlite.Connection, name: str) -> int | None:
    rows = await conn.execute_fetchall("SELECT id FROM customers WHERE name = ?", (name,))
    return rows[0][0] if rows else None


async def ensure_customer(
    conn: aiosqlite.Connection,
    name: str,
    customer_class: str,
    kind: str = "",
    site: tuple[float, float] | None = None,
) -> int:
    """The id of the customer with this name; created from these values if unknown."""
    found = await id_by_name(conn, name)
    if found is not None:
        return found
    cur = await conn.execute(
        "INSERT INTO customers (name, class, kind, lat, lon, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (
            name,
            customer_class,
            kind,
            site[0] if site else None,
            site[1] if site else None,
            utcnow_iso(),
        ),
    )
    return int(cur.lastrowid)
