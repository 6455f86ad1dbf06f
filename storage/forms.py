"""The forms table: the current guided form of each (channel, chat, person)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.direct import DirectConnection


@dataclass(frozen=True)
class FormRow:
    channel: str
    chat: str
    person: str
    kind: str
    step: str
    token: str
    data: dict[str, Any]
    started_at: datetime
    updated_at: datetime
    # data as stored (encode_data's text): what the form is compared with to see a change
    stored_data: str = ""


def encode_data(data: dict[str, Any]) -> str:
    """A form's answers as stored; equal answers give equal text."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


async def get(conn: DirectConnection, channel: str, chat: str, person: str) -> FormRow | None:
    rows = await conn.execute_fetchall(
        "SELECT channel, chat, person, kind, step, token, data, started_at, updated_at"
        " FROM forms WHERE channel = ? AND chat = ? AND person = ?",
        (channel, chat, person),
    )
    if not rows:
        return None
    row = rows[0]
    return FormRow(
        channel=row[0],
        chat=row[1],
        person=row[2],
        kind=row[3],
        step=row[4],
        token=row[5],
        data=json.loads(row[6]),
        started_at=datetime.fromisoformat(row[7]),
        updated_at=datetime.fromisoformat(row[8]),
        stored_data=row[6],
    )


async def put(conn: DirectConnection, row: FormRow) -> None:
    """Insert or replace the form of row's (channel, chat, person)."""
    await conn.execute(
        "INSERT INTO forms (channel, chat, person, kind, step, token, data, started_at,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (channel, chat, person) DO UPDATE SET kind = excluded.kind,"
        " step = excluded.step, token = excluded.token, data = excluded.data,"
        " started_at = excluded.started_at, updated_at = excluded.updated_at",
        (
            row.channel,
            row.chat,
            row.person,
            row.kind,
            row.step,
            row.token,
            row.stored_data or encode_data(row.data),
            row.started_at.isoformat(),
            row.updated_at.isoformat(),
        ),
    )


async def delete(conn: DirectConnection, channel: str, chat: str, person: str) -> None:
    await conn.execute(
        "DELETE FROM forms WHERE channel = ? AND chat = ? AND person = ?",
        (channel, chat, person),
    )
