"""People, invite codes and bound chats."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from bot.domain.models import Invite, Person, Role
from storage import identities
from storage.db import utcnow_iso


def _person(row: aiosqlite.Row) -> Person:
    return Person(
        id=row["id"],
        name=row["name"],
        role=Role(row["role"]),
        telegram_id=row["telegram_id"],
        language=row["language"],
        active=bool(row["active"]),
    )


async def by_telegram_id(conn: aiosqlite.Connection, telegram_id: int) -> Person | None:
    rows = await conn.execute_fetchall(
        "SELECT * FROM people WHERE telegram_id = ? AND active = 1", (telegram_id,)
    )
    return _person(rows[0]) if rows else None


async def by_id(conn: aiosqlite.Connection, person_id: int) -> Person | None:
    rows = await conn.execute_fetchall("SELECT * FROM people WHERE id = ?", (person_id,))
    row = rows[0] if rows else None
    return _person(row) if row else None


async def with_role(conn: aiosqlite.Connection, role: Role) -> list[Person]:
    rows = await conn.execute_fetchall(
        "SELECT * FROM people WHERE role = ? AND active = 1 ORDER BY name, id", (role.value,)
    )
    return [_person(row) for row in rows]


async def technician_named(conn: aiosqlite.Connection, name: str) -> Person | None:
    rows = await conn.execute_fetchall(
        "SELECT * FROM people WHERE role = 'technician' AND name = ?", (name,)
    )
    row = rows[0] if rows else None
    return _person(row) if row else None


async def ensure_technician(conn: aiosqlite.Connection, name: str) -> int:
    """The id of the technician with this name, created (unbound) if unknown."""
    found = await technician_named(conn, name)
    if found:
        return found.id
    cur = await conn.execute(
        "INSERT INTO people (name, role, created_at) VALUES (?, 'technician', ?)",
        (name, utcnow_iso()),
    )
    return int(cur.lastrowid)


async def bind_person(
    conn: aiosqlite.Connection, telegram_id: int, name: str, role: Role, language: str | None
) -> Person:
    """Bind a Telegram account to a role; an unbound technician of the same name is claimed."""
    existing = None
    if role is Role.TECHNICIAN:
        existing = await technician_named(conn, name)
        if existing and existing.telegram_id is not None:
            existing = None
    if existing:
        await conn.execute(
            "UPDATE people SET telegram_id = ?, language = ?, active = 1 WHERE id = ?",
            (telegram_id, language, existing.id),
        )
        person_id = existing.id
    else:
        if role is Role.TECHNICIAN and await technician_named(conn, name):
            name = f"{name}#{telegram_id}"
        cur = await conn.execute(
            "INSERT INTO people (name, role, telegram_id, language, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (name, role.value, telegram_id, language, utcnow_iso()),
        )
        person_id = int(cur.lastrowid)
    # The identity row goes with the column, in the same transaction.
    await identities.link_person(conn, identities.TELEGRAM, str(telegram_id), person_id)
    person = await by_id(conn, person_id)
    assert person is not None
    return person


async def set_language(conn: aiosqlite.Connection, person_id: int, language: str) -> None:
    await conn.execute("UPDATE people SET language = ? WHERE id = ?", (language, person_id))


async def create_invite(
    conn: aiosqlite.Connection, code: str, role: Role, created_by: int, expires_at: datetime
) -> Invite:
    await conn.execute(
        "INSERT INTO invites (code, role, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
        (code, role.value, created_by, utcnow_iso(), expires_at.isoformat()),
    )
    return Invite(code=code, role=role, created_by=created_by, expires_at=expires_at)


async def invite(conn: aiosqlite.Connection, code: str) -> Invite | None:
    rows = await conn.execute_fetchall("SELECT * FROM invites WHERE code = ?", (code,))
    row = rows[0] if rows else None
    if not row:
        return None
    return Invite(
        code=row["code"],
        role=Role(row["role"]),
        created_by=row["created_by"],
        expires_at=datetime.fromisoformat(row["expires_at"]),
        used_by=row["used_by"],
    )


async def use_invite(conn: aiosqlite.Connection, code: str, person_id: int) -> bool:
    """Mark an invite used; False if someone used it first."""
    cur = await conn.execute(
        "UPDATE invites SET used_by = ?, used_at = ? WHERE code = ? AND used_by IS NULL",
        (person_id, utcnow_iso(), code),
    )
    return cur.rowcount == 1


async def bind_chat(conn: aiosqlite.Connection, purpose: str, chat_id: int, by: int) -> None:
    await conn.execute(
        "INSERT INTO bound_chats (purpose, chat_id, bound_by, bound_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (purpose) DO UPDATE SET chat_id = excluded.chat_id, "
        "bound_by = excluded.bound_by, bound_at = excluded.bound_at",
        (purpose, chat_id, by, utcnow_iso()),
    )


async def bound_chat(conn: aiosqlite.Connection, purpose: str) -> int | None:
    rows = await conn.execute_fetchall(
        "SELECT chat_id FROM bound_chats WHERE purpose = ?", (purpose,)
    )
    row = rows[0] if rows else None
    return row[0] if row else None


async def migrate_chat(conn: aiosqlite.Connection, old_chat_id: int, new_chat_id: int) -> int:
    cur = await conn.execute(
        "UPDATE bound_chats SET chat_id = ? WHERE chat_id = ?", (new_chat_id, old_chat_id)
    )
    return cur.rowcount
