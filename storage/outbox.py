"""The outbox table: notices waiting to be delivered, claimed, sent or given up.

Only rows and SQL here; what a notice means and how a channel renders it live elsewhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiosqlite

from storage.db import outbox_written, utcnow_iso

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"


@dataclass(frozen=True)
class OutboxRow:
    """One stored notice."""

    id: int
    channel: str
    recipient_kind: str
    recipient_ref: str
    kind: str
    body: dict[str, Any]
    actions: dict[str, Any]
    target: str | None
    state: str
    attempts: int
    chat_id: int | None
    message_id: int | None


def _row(row: aiosqlite.Row) -> OutboxRow:
    return OutboxRow(
        id=row["id"],
        channel=row["channel"],
        recipient_kind=row["recipient_kind"],
        recipient_ref=row["recipient_ref"],
        kind=row["kind"],
        body=json.loads(row["body"]),
        actions=json.loads(row["actions"]),
        target=row["target"],
        state=row["state"],
        attempts=row["attempts"],
        chat_id=row["chat_id"],
        message_id=row["message_id"],
    )


def _json(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


async def add(
    conn: aiosqlite.Connection,
    channel: str,
    recipient_kind: str,
    recipient_ref: str,
    kind: str,
    body: dict[str, Any],
    actions: dict[str, Any],
    target: str | None = None,
) -> int:
    """Queue a notice in the caller's transaction; returns its row id.

    With a target, a still-pending row for the same target is replaced (only the latest edit
    goes out) and keeps its place in the queue; a row already being sent is left alone.
    """
    outbox_written.set(True)
    if target is not None:
        ran = await conn.execute(
            "UPDATE outbox SET recipient_kind = ?, recipient_ref = ?, kind = ?, body = ?, "
            "actions = ? WHERE channel = ? AND target = ? AND state = ? RETURNING id",
            (
                recipient_kind,
                recipient_ref,
                kind,
                _json(body),
                _json(actions),
                channel,
                target,
                PENDING,
            ),
        )
        replaced = await ran.fetchall()
        if replaced:
            return int(replaced[0][0])
    ran = await conn.execute(
        "INSERT INTO outbox (channel, recipient_kind, recipient_ref, kind, body, actions, target, "
        "state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            channel,
            recipient_kind,
            recipient_ref,
            kind,
            _json(body),
            _json(actions),
            target,
            PENDING,
            utcnow_iso(),
        ),
    )
    return int(ran.lastrowid)


async def unsent(conn: aiosqlite.Connection, channel: str, limit: int = 500) -> list[OutboxRow]:
    """Rows not yet delivered (pending, or claimed by a run that never marked them), in order."""
    rows = await conn.execute_fetchall(
        "SELECT * FROM outbox WHERE channel = ? AND state IN (?, ?) ORDER BY id LIMIT ?",
        (channel, PENDING, SENDING, limit),
    )
    return [_row(row) for row in rows]


async def unsent_keys(
    conn: aiosqlite.Connection, channel: str, limit: int = 500
) -> list[tuple[int, str | None]]:
    """(id, target) of the rows not yet delivered, in order: cheap to poll often."""
    rows = await conn.execute_fetchall(
        "SELECT id, target FROM outbox WHERE channel = ? AND state IN (?, ?) ORDER BY id LIMIT ?",
        (channel, PENDING, SENDING, limit),
    )
    return [(row[0], row[1]) for row in rows]


async def claim(conn: aiosqlite.Connection, row_id: int) -> bool:
    """Take a row for sending; False if it was sent or given up meanwhile."""
    return row_id in await claim_many(conn, [row_id])


async def claim_many(conn: aiosqlite.Connection, row_ids: list[int]) -> set[int]:
    """Take rows for sending in one statement; the ids taken (not sent or given up meanwhile)."""
    if not row_ids:
        return set()
    marks = ", ".join("?" * len(row_ids))
    ran = await conn.execute(
        f"UPDATE outbox SET state = ?, attempts = attempts + 1 WHERE id IN ({marks}) "
        "AND state IN (?, ?) RETURNING id",
        (SENDING, *row_ids, PENDING, SENDING),
    )
    return {row[0] for row in await ran.fetchall()}


async def has_pending(conn: aiosqlite.Connection, channel: str, target: str) -> bool:
    """A row for this target waits unclaimed (it will show whatever is current when sent)."""
    ran = await conn.execute(
        "SELECT 1 FROM outbox WHERE target = ? AND state = ? AND channel = ? LIMIT 1",
        (target, PENDING, channel),
    )
    return await ran.fetchone() is not None


async def mark_sent(
    conn: aiosqlite.Connection, row_id: int, chat_id: int | None, message_id: int | None
) -> None:
    """The channel accepted the notice: record where it went."""
    await conn.execute(
        "UPDATE outbox SET state = ?, chat_id = ?, message_id = ?, sent_at = ?, error = NULL "
        "WHERE id = ?",
        (SENT, chat_id, message_id, utcnow_iso(), row_id),
    )


async def mark_failed(conn: aiosqlite.Connection, row_id: int, error: str) -> None:
    """Given up (the recipient is gone, the message cannot be built): kept with its error."""
    await conn.execute(
        "UPDATE outbox SET state = ?, error = ?, sent_at = ? WHERE id = ?",
        (FAILED, error[:1000], utcnow_iso(), row_id),
    )


async def get(conn: aiosqlite.Connection, row_id: int) -> OutboxRow | None:
    ran = await conn.execute("SELECT * FROM outbox WHERE id = ?", (row_id,))
    row = await ran.fetchone()
    return _row(row) if row is not None else None


async def prune(conn: aiosqlite.Connection, before_iso: str) -> int:
    """Remove rows delivered or given up before this moment; how many."""
    ran = await conn.execute(
        "DELETE FROM outbox WHERE state IN (?, ?) AND sent_at < ?", (SENT, FAILED, before_iso)
    )
    return ran.rowcount
