"""Identities per channel: which person or customer a (channel, external id) is."""

from __future__ import annotations

from typing import NamedTuple

import aiosqlite

from bot.domain.models import Person, Role
from storage.db import utcnow_iso

TELEGRAM = "telegram"


class Identity(NamedTuple):
    channel: str
    external_id: str
    person: Person | None  # an active person, or None
    customer_id: int | None
    customer_language: str | None


_RESOLVE = (
    "SELECT i.customer_id, c.language, p.id, p.name, p.role, p.telegram_id, p.language"
    " FROM identities i"
    " LEFT JOIN people p ON p.id = i.person_id AND p.active = 1"
    " LEFT JOIN customers c ON c.id = i.customer_id"
    " WHERE i.channel = ? AND i.external_id = ?"
)


async def resolve(conn: aiosqlite.Connection, channel: str, external_id: str) -> Identity | None:
    """One keyed read (the primary key) answering who this is on this channel."""
    rows = await conn.execute_fetchall(_RESOLVE, (channel, external_id))
    if not rows:
        return None
    # Positional: this runs for every update on the loop's thread.
    customer_id, customer_language, person_id, name, role, telegram_id, language = rows[0]
    person = None
    if person_id is not None:
        person = Person(person_id, name, Role(role), telegram_id, language, True)
    return Identity(channel, external_id, person, customer_id, customer_language)


async def external_ids(conn: aiosqlite.Connection, channel: str, person_id: int) -> list[str]:
    """The ids this person has on a channel."""
    rows = await conn.execute_fetchall(
        "SELECT external_id FROM identities WHERE channel = ? AND person_id = ?"
        " ORDER BY external_id",
        (channel, person_id),
    )
    return [row[0] for row in rows]


async def person_of(conn: aiosqlite.Connection, channel: str, external_id: str) -> int | None:
    """The person id recorded for this identity (active or not)."""
    rows = await conn.execute_fetchall(
        "SELECT person_id FROM identities WHERE channel = ? AND external_id = ?",
        (channel, external_id),
    )
    return rows[0][0] if rows else None


async def link_person(
    conn: aiosqlite.Connection, channel: str, external_id: str, person_id: int
) -> None:
    """Record that this identity is the person (a customer link on it stays)."""
    await conn.execute(
        "INSERT INTO identities (channel, external_id, person_id, customer_id, linked_at)"
        " VALUES (?, ?, ?, NULL, ?) ON CONFLICT (channel, external_id)"
        " DO UPDATE SET person_id = excluded.person_id, linked_at = excluded.linked_at",
        (channel, external_id, person_id, utcnow_iso()),
    )


async def link_customer(
    conn: aiosqlite.Connection, channel: str, external_id: str, customer_id: int | None
) -> None:
    """Record (or, with None, clear) the customer this identity speaks for."""
    if customer_id is None:
        await conn.execute(
            "DELETE FROM identities WHERE channel = ? AND external_id = ? AND person_id IS NULL",
            (channel, external_id),
        )
        await conn.execute(
            "UPDATE identities SET customer_id = NULL WHERE channel = ? AND external_id = ?",
            (channel, external_id),
        )
        return
    await conn.execute(
        "INSERT INTO identities (channel, external_id, person_id, customer_id, linked_at)"
        " VALUES (?, ?, NULL, ?, ?) ON CONFLICT (channel, external_id)"
        " DO UPDATE SET customer_id = excluded.customer_id",
        (channel, external_id, customer_id, utcnow_iso()),
    )


async def unlink(conn: aiosqlite.Connection, channel: str, external_id: str) -> bool:
    """Forget this identity altogether; False if there was none."""
    cur = await conn.execute(
        "DELETE FROM identities WHERE channel = ? AND external_id = ?", (channel, external_id)
    )
    return cur.rowcount == 1


async def sync_telegram_customer(conn: aiosqlite.Connection, telegram_id: int) -> None:
    """Point the Telegram identity at the customer customers.telegram_id names (lowest id)."""
    rows = await conn.execute_fetchall(
        "SELECT MIN(id) FROM customers WHERE telegram_id = ?", (telegram_id,)
    )
    await link_customer(conn, TELEGRAM, str(telegram_id), rows[0][0] if rows else None)


async def backfill_telegram_people(conn: aiosqlite.Connection) -> None:
    """A 'telegram' identity for every person whose telegram_id was written directly (bulk
    loads such as the benchmarks' seeds); identities already recorded stay as they are."""
    await conn.execute(
        "INSERT INTO identities (channel, external_id, person_id, customer_id, linked_at)"
        " SELECT 'telegram', CAST(telegram_id AS TEXT), id, NULL, created_at FROM people"
        " WHERE telegram_id IS NOT NULL ON CONFLICT (channel, external_id) DO NOTHING"
    )
