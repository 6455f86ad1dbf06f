"""Updates the bot gave up on (undecodable, or a handler that kept failing), kept for a look."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import MARK_HANDLED_SQL, DirectConnection, utcnow_iso

ERROR_CHARS = 4000  # the end of the traceback, where the exception line is


@dataclass(frozen=True)
class DeadLetter:
    update_id: int
    payload: str
    error: str
    attempts: int
    created_at: str


async def add(
    conn: DirectConnection, update_id: int, payload: str, error: str, attempts: int
) -> bool:
    """Keep the update and its error, and record it as handled (which clears its inbox row).

    False when it was a dead letter already (Telegram sent it again).
    """
    now = utcnow_iso()
    cursor = await conn.execute(
        "INSERT INTO dead_letters (update_id, payload, error, attempts, created_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (update_id) DO NOTHING",
        (update_id, payload, error[-ERROR_CHARS:], attempts, now),
    )
    await conn.execute(MARK_HANDLED_SQL, (update_id, now))
    return cursor.rowcount == 1


async def all_letters(conn) -> list[DeadLetter]:  # noqa: ANN001 - any connection
    """Every dead letter, oldest update first."""
    rows = await conn.execute_fetchall(
        "SELECT update_id, payload, error, attempts, created_at FROM dead_letters"
        " ORDER BY update_id"
    )
    return [DeadLetter(*row) for row in rows]
