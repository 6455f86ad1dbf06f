"""A closed month as stored: the canonical JSON whose sha256 counts, and each technician's part.

The canonical JSON (sorted keys) of a month is its parts joined: the technicians' entries are
the last key's list. So a big month can be stored as its parts alone, written a few at a time,
and the whole read back exactly when it is asked for.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.models import MonthStatement


@dataclass(frozen=True)
class Snapshot:
    text: str
    sha256: str
    parts: tuple[tuple[str, str], ...]  # (technician, that technician's entry as JSON)


def dumps(data: object) -> str:
    """The canonical form: sorted keys, Chinese as written."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def make_snapshot(statement: MonthStatement, language: str | None = None) -> Snapshot:
    """The snapshot of a month's statement, its hash and its per-technician parts."""
    data = statement.as_json(language)
    parts = tuple((item["technician"], dumps(item)) for item in data["technicians"])
    text = whole_text(statement.month, [part for _name, part in parts])
    return Snapshot(text, sha256(text), parts)


def whole_text(month: str, parts: Sequence[str]) -> str:
    """The canonical JSON of a month from its parts in order (equal to dumping it whole)."""
    empty = dumps(MonthStatement(month, ()).as_json())
    closing = "[]}"
    assert empty.endswith(closing), "the technicians must be the snapshot's last key"
    return empty[: -len(closing)] + "[" + ", ".join(parts) + "]}"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
