"""Message catalogs: zh-CN first, English second; every user-facing string comes from here."""

from __future__ import annotations

import string
import tomllib
from functools import cache
from importlib import resources

LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"
_FILES = {"zh-CN": "zh_CN", "en": "en"}


@cache
def catalog(language: str) -> dict[str, str]:
    """The flat key -> template catalog of one language (its main file plus feature files).

    A language's strings live in `<stem>.toml` and `<stem>.<feature>.toml`, e.g.
    `zh_CN.dispatch.toml`; a key defined twice is an error.
    """
    stem = _FILES[language]
    merged: dict[str, str] = {}
    files = sorted(
        entry
        for entry in resources.files("bot.i18n").iterdir()
        if entry.name == f"{stem}.toml"
        or (entry.name.startswith(f"{stem}.") and entry.name.endswith(".toml"))
    )
    for entry in files:
        flat = _flatten(tomllib.loads(entry.read_text(encoding="utf-8")))
        clash = set(flat) & set(merged)
        if clash:
            raise ValueError(f"{entry.name}: keys defined twice: {sorted(clash)}")
        merged.update(flat)
    return merged


def _flatten(data: dict, prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = str(value)
    return flat


def normalize_language(code: str | None) -> str | None:
    """Map a Telegram language_code or a user's choice to a catalog language."""
    if not code:
        return None
    code = code.lower()
    if code.startswith("zh") or code in ("cn", "中文"):
        return "zh-CN"
    if code.startswith("en"):
        return "en"
    return None


def t(language: str | None, key: str, **values: object) -> str:
    """The text for key in language (falling back to the default), with values filled in."""
    lang = language if language in _FILES else DEFAULT_LANGUAGE
    template = catalog(lang).get(key) or catalog(DEFAULT_LANGUAGE)[key]
    return template.format(**values) if values else template


def placeholders(template: str) -> set[str]:
    """The named fields a template expects."""
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}
