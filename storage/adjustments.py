"""Adjustment lines of closed months (ADJ-CLOSED) as stored: where they came from and went."""

from __future__ import annotations

from collections.abc import Iterable

import aiosqlite

from bot.domain.models import StatementLine
from storage.db import utcnow_iso

_COLUMNS = "technician, rule, amount_fen, ref, note, kind, adjusts"


def _lines(rows: Iterable[tuple]) -> list[tuple[str, StatementLine]]:
    return [
        (technician, StatementLine(rule, amount_fen, ref, note, kind, adjusts))
        for technician, rule, amount_fen, ref, note, kind, adjusts in rows
    ]


async def carry(
    conn: aiosqlite.Connection,
    month: str,
    lines: Iterable[tuple[str, StatementLine]],
    cause: str,
) -> int:
    """Store adjustment lines (each with its `adjusts`) carried into open `month`; how many."""
    rows = [
        (line.adjusts, month, technician, line.rule, line.ref, line.kind, line.amount_fen,
         line.note, cause, utcnow_iso())
        for technician, line in lines
    ]  # fmt: skip
    await conn.executemany(
        "INSERT INTO adjustments (adjusts, month, technician, rule, ref, kind, amount_fen, note,"
        " cause, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    return len(rows)


async def of_month(conn: aiosqlite.Connection, adjusts: str) -> list[tuple[str, StatementLine]]:
    """Every adjustment of closed month `adjusts` carried so far, wherever it went."""
    rows = await conn.execute_fetchall(
        f"SELECT {_COLUMNS} FROM adjustments WHERE adjusts = ? ORDER BY id", (adjusts,)
    )
    return _lines(rows)


async def into_month(
    conn: aiosqlite.Connection, month: str, technician: str | None = None
) -> list[tuple[str, StatementLine]]:
    """The adjustment lines carried into `month`, in the order they were carried."""
    sql = f"SELECT {_COLUMNS} FROM adjustments WHERE month = ?"
    params: list[object] = [month]
    if technician is not None:
        sql += " AND technician = ?"
        params.append(technician)
    return _lines(await conn.execute_fetchall(sql + " ORDER BY id", params))
