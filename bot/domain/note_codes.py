"""Notes the bot writes itself, stored without a language: a catalog key and its values.

A recorded event's note is free text typed by a person, except where the bot writes it (an
automatic DED-LATE, an all-staff RMA-LOST share): those are stored coded, e.g.
`§late_auto {"arrived": "09:42", "ticket": 12}§`, and rendered in the reader's language when
shown (bot.domain.line_text). Text after the closing mark is a person's own note, kept as typed.
"""

from __future__ import annotations

import json
import re

_MARK = "§"
_CODED = re.compile(r"^§([a-z][a-z0-9_]*) (\{.*?\})§(.*)$", re.DOTALL)


def coded(key: str, rest: str = "", **values: str | int) -> str:
    """A stored note for catalog key `note.<key>` with its values, then free text `rest`."""
    payload = json.dumps(values, ensure_ascii=False, sort_keys=True, separators=(", ", ": "))
    return f"{_MARK}{key} {payload}{_MARK}{rest}"


def decode(note: str) -> tuple[str, dict[str, object], str] | None:
    """(key, values, free text) of a coded note; None for a person's plain note."""
    if not note.startswith(_MARK):
        return None
    match = _CODED.match(note)
    if match is None:
        return None
    try:
        values = json.loads(match.group(2))
    except ValueError:
        return None
    if not isinstance(values, dict):
        return None
    return match.group(1), values, match.group(3)
