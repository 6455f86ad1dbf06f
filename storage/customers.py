"""Customers and their machines."""

from __future__ import annotations

from datetime import date

import aiosqlite

from bot.domain.dispatch_models import Customer, Machine, NewCustomer
from storage.db import utcnow_iso

SEARCH_LIMIT = 20


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


def _customer(row: aiosqlite.Row) -> Customer:
    site = (row["lat"], row["lon"]) if row["lat"] is not None and row["lon"] is not None else None
    return Customer(
        id=row["id"],
        name=row["name"],
        customer_class=row["class"],
        kind=row["kind"],
        phone=row["phone"],
        address=row["address"],
        site=site,
        brand=row["brand"],
        notes=row["notes"],
    )


async def by_id(conn: aiosqlite.Connection, customer_id: int) -> Customer | None:
    rows = await conn.execute_fetchall("SELECT * FROM customers WHERE id = ?", (customer_id,))
    row = rows[0] if rows else None
    return _customer(row) if row else None


async def by_name(conn: aiosqlite.Connection, name: str) -> Customer | None:
    rows = await conn.execute_fetchall("SELECT * FROM customers WHERE name = ?", (name,))
    row = rows[0] if rows else None
    return _customer(row) if row else None


async def by_name_or_phone(conn: aiosqlite.Connection, text: str) -> Customer | None:
    """The customer whose name or phone is exactly text."""
    rows = await conn.execute_fetchall(
        "SELECT * FROM customers WHERE name = ? OR (phone <> '' AND phone = ?) ORDER BY id LIMIT 1",
        (text, text),
    )
    row = rows[0] if rows else None
    return _customer(row) if row else None


async def search(
    conn: aiosqlite.Connection, text: str, limit: int = SEARCH_LIMIT
) -> list[Customer]:
    """Customers whose name or phone contains text (exact matches first)."""
    pattern = f"%{text}%"
    rows = await conn.execute_fetchall(
        "SELECT * FROM customers WHERE name LIKE ? OR phone LIKE ? "
        "ORDER BY CASE WHEN name = ? OR phone = ? THEN 0 ELSE 1 END, name LIMIT ?",
        (pattern, pattern, text, text, limit),
    )
    return [_customer(row) for row in rows]


def _details(customer: NewCustomer) -> tuple:
    """phone, class, kind, address, lat, lon, brand, notes: the columns insert and update share."""
    lat, lon = customer.site if customer.site else (None, None)
    return (
        customer.phone,
        customer.customer_class,
        customer.kind,
        customer.address,
        lat,
        lon,
        customer.brand,
        customer.notes,
    )


async def insert(conn: aiosqlite.Connection, customer: NewCustomer) -> int:
    """Create a customer; the name must be new."""
    cur = await conn.execute(
        "INSERT INTO customers (name, phone, class, kind, address, lat, lon, brand, notes, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (customer.name, *_details(customer), utcnow_iso()),
    )
    return int(cur.lastrowid)


async def update(conn: aiosqlite.Connection, customer_id: int, customer: NewCustomer) -> None:
    """Overwrite a customer's details with these values."""
    await conn.execute(
        "UPDATE customers SET phone = ?, class = ?, kind = ?, address = ?, lat = ?, lon = ?, "
        "brand = ?, notes = ? WHERE id = ?",
        (*_details(customer), customer_id),
    )


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _machine(row: aiosqlite.Row) -> Machine:
    return Machine(
        id=row["id"],
        customer_id=row["customer_id"],
        description=row["description"],
        brand=row["brand"],
        serial=row["serial"],
        purchase_date=_date(row["purchase_date"]),
        warranty_end=_date(row["warranty_end"]),
    )


async def machines_of(conn: aiosqlite.Connection, customer_id: int) -> list[Machine]:
    rows = await conn.execute_fetchall(
        "SELECT * FROM machines WHERE customer_id = ? ORDER BY id", (customer_id,)
    )
    return [_machine(row) for row in rows]


async def machines_of_many(
    conn: aiosqlite.Connection, customer_ids: list[int]
) -> dict[int, list[Machine]]:
    """The machines of these customers in one query, by customer id."""
    if not customer_ids:
        return {}
    marks = ",".join("?" * len(customer_ids))
    rows = await conn.execute_fetchall(
        f"SELECT * FROM machines WHERE customer_id IN ({marks}) ORDER BY id", customer_ids
    )
    found: dict[int, list[Machine]] = {}
    for row in rows:
        found.setdefault(row["customer_id"], []).append(_machine(row))
    return found


async def machine_by_id(conn: aiosqlite.Connection, machine_id: int) -> Machine | None:
    rows = await conn.execute_fetchall("SELECT * FROM machines WHERE id = ?", (machine_id,))
    row = rows[0] if rows else None
    return _machine(row) if row else None


async def upsert_machine(
    conn: aiosqlite.Connection,
    customer_id: int,
    serial: str,
    brand: str,
    purchase_date: date | None,
    warranty_end: date | None,
) -> tuple[int, bool]:
    """The machine with this serial at this customer, created or updated; (id, changed)."""
    rows = await conn.execute_fetchall(
        "SELECT * FROM machines WHERE customer_id = ? AND serial = ?", (customer_id, serial)
    )
    row = rows[0] if rows else None
    values = (
        brand,
        purchase_date.isoformat() if purchase_date else None,
        warranty_end.isoformat() if warranty_end else None,
    )
    if row is None:
        cur = await conn.execute(
            "INSERT INTO machines (customer_id, description, serial, brand, purchase_date, "
            "warranty_end) VALUES (?, ?, ?, ?, ?, ?)",
            (customer_id, brand, serial, *values),
        )
        return int(cur.lastrowid), True
    if (row["brand"], row["purchase_date"], row["warranty_end"]) == values:
        return int(row["id"]), False
    await conn.execute(
        "UPDATE machines SET brand = ?, purchase_date = ?, warranty_end = ? WHERE id = ?",
        (*values, row["id"]),
    )
    return int(row["id"]), True


async def id_by_telegram(conn: aiosqlite.Connection, telegram_id: int) -> int | None:
    """The customer who linked this Telegram account through a slip's deep link."""
    rows = await conn.execute_fetchall(
        "SELECT id FROM customers WHERE telegram_id = ? ORDER BY id LIMIT 1", (telegram_id,)
    )
    return rows[0][0] if rows else None


async def language_of(conn: aiosqlite.Connection, customer_id: int) -> str | None:
    """The language a linked customer chose with /lang, if any."""
    rows = await conn.execute_fetchall(
        "SELECT language FROM customers WHERE id = ?", (customer_id,)
    )
    return rows[0][0] if rows else None


async def set_language(conn: aiosqlite.Connection, customer_id: int, language: str) -> None:
    await conn.execute("UPDATE customers SET language = ? WHERE id = ?", (language, customer_id))
