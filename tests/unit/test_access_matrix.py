"""Every command x role x chat kind, decided by bot/domain/access.py, matches the README's table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.domain.access import PERMISSIONS, Actor, decide
from bot.domain.models import Person, Role

README = Path(__file__).resolve().parents[2] / "README.md"
STAFF = {"admin", "manager", "dispatcher", "technician"}
GROUPS_OF = {"everyone": STAFF | {"customer"}, "staff": STAFF}
CHATS = {  # chat kind -> (Telegram chat type, is it the bound dispatch group)
    "private": ("private", False),
    "dispatch group": ("supergroup", True),
    "other group": ("group", False),
}
ALLOWED_IN = {
    "anywhere": {"private", "dispatch group", "other group"},
    "private": {"private"},
    "dispatch group": {"dispatch group"},
    "private or dispatch group": {"private", "dispatch group"},
}


def readme_table() -> dict[str, dict[str, set[str]]]:
    """command -> role -> chat kinds, from the README's access table (a command may have one
    row per scope, e.g. the desk's and a linked customer's)."""
    text = README.read_text(encoding="utf-8")
    block = text.split("<!-- access-table: begin -->")[1].split("<!-- access-table: end -->")[0]
    table: dict[str, dict[str, set[str]]] = {}
    for line in block.strip().splitlines()[2:]:
        command, who, chat = (cell.strip() for cell in line.strip("|").split(" | "))
        name = re.match(r"`/(\w+)", command).group(1)
        roles: set[str] = set()
        for word in who.split(", "):
            roles |= GROUPS_OF.get(word, {word})
        scopes = table.setdefault(name, {})
        for role in roles:
            scopes.setdefault(role, set()).update(ALLOWED_IN[chat])
    return table


def actor_for(role: str) -> Actor:
    if role == "admin":
        return Actor(telegram_id=1, person=None, is_admin=True, language="zh-CN")
    if role == "customer":
        return Actor(telegram_id=9, person=None, is_admin=False, language="zh-CN", customer_id=5)
    person = Person(id=2, name="x", role=Role(role))
    return Actor(telegram_id=2, person=person, is_admin=False, language="zh-CN")


def test_readme_lists_exactly_the_menu_commands() -> None:
    menu = {name for name, p in PERMISSIONS.items() if p.in_menu}
    assert set(readme_table()) == menu


ROLES = ["admin", "manager", "dispatcher", "technician", "customer"]


@pytest.mark.parametrize("command", sorted(readme_table()))
def test_matrix(command: str) -> None:
    scopes = readme_table()[command]
    for role in ROLES:
        chats = scopes.get(role) or (scopes.get("manager", set()) if role == "admin" else set())
        for chat, (chat_type, in_group) in CHATS.items():
            refusal = decide(actor_for(role), command, chat_type, in_group)
            expected = chat in chats
            assert (refusal is None) == expected, (command, role, chat, refusal)
