"""The one strict parser for numbers and months typed by users or carried by buttons.

`str.isdigit()` accepts "²" and "١", and `int()` accepts them too, "+7", " 7" and "1_000";
SQLite stores at most 2^63-1. Everything read from user text or callback data goes through
here; a handler that cannot go on raises BadArgument, and the error handler answers with the
command's usage (or, for a button, that it is no longer current).
"""

from __future__ import annotations

import re

MAX_ID = 2**63 - 1  # SQLite's largest INTEGER
MAX_AMOUNT_FEN = 10**12  # ten billion 元: anything above is a typing mistake
MIN_YEAR, MAX_YEAR = 2000, 2099  # months outside these are typing mistakes

_DIGITS = re.compile(r"[0-9]{1,19}")  # ASCII only; 19 digits already exceed MAX_ID
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")


class BadArgument(ValueError):
    """An argument or button payload the handler cannot use."""


def parse_int(text: str | None, minimum: int = 0, maximum: int = MAX_ID) -> int | None:
    """ASCII digits within [minimum, maximum], else None (no sign, spaces or underscores)."""
    if text is None or not _DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if minimum <= value <= maximum else None


def parse_id(text: str | None) -> int | None:
    """A database id as typed or carried by a button: 12 or #12, in 1..2^63-1."""
    if text is None:
        return None
    text = text.strip()
    return parse_int(text[1:] if text.startswith("#") else text, minimum=1)


def parse_chat_id(text: str | None) -> int | None:
    """A Telegram chat id as carried by a button: groups are negative, users positive."""
    if text is None:
        return None
    magnitude = parse_int(text[1:] if text.startswith("-") else text, minimum=1)
    if magnitude is None:
        return None
    return -magnitude if text.startswith("-") else magnitude


def require_id(text: str | None) -> int:
    """parse_id, raising BadArgument instead of returning None."""
    value = parse_id(text)
    if value is None:
        raise BadArgument(text)
    return value


def parse_month(text: str | None) -> str | None:
    """'YYYY-MM' for a real month between MIN_YEAR and MAX_YEAR, else None."""
    match = _MONTH.fullmatch((text or "").strip())
    if match is None:
        return None
    year, month = int(match[1]), int(match[2])
    if not (MIN_YEAR <= year <= MAX_YEAR and 1 <= month <= 12):
        return None
    return f"{year:04d}-{month:02d}"


_YUAN = re.compile(r"([0-9]{1,10})(?:\.([0-9]{1,2}))?")


def parse_yuan(text: str | None) -> int | None:
    """An amount typed in 元 (ASCII digits, at most two decimals: 120, 120.5, 0.80) as fen,
    at most MAX_AMOUNT_FEN; else None (no sign, exponent, spaces inside or separators)."""
    match = _YUAN.fullmatch((text or "").strip())
    if match is None:
        return None
    fen = int(match[1]) * 100 + int((match[2] or "0").ljust(2, "0"))
    return fen if fen <= MAX_AMOUNT_FEN else None
