"""Outgoing notices as data: who is told what, written to the outbox with the change itself.

A notice names a domain recipient (a person, a role, the dispatch group, a customer, or a raw
chat where that is all there is), text keys with parameters (rendered in the recipient's
language when it is delivered) and actions (buttons as data, a request for a location, a file).
Kinds other than "text" are rendered by the channel from the database at delivery time (the
ticket card shows the ticket as it is then). No channel types here: every front end's delivery
worker reads the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import aiosqlite

from bot.i18n import t
from storage import outbox
from storage.db import Database, current_transaction

TELEGRAM = "telegram"

PERSON, ROLE, GROUP, CUSTOMER, CHAT = "person", "role", "group", "customer", "chat"
DISPATCH_GROUP = "dispatch"

TEXT = "text"
TICKET_CARD = "ticket_card"  # the ticket's card in the dispatch group: sent once, then edited
DISPATCH_OFFER = "dispatch_offer"  # the technician's private card with Accept / Decline
CLOSE_OFFER = "close_offer"  # take the buttons off a dispatch card and say why


@dataclass(frozen=True)
class Recipient:
    kind: str
    ref: str


def person(person_id: int) -> Recipient:
    return Recipient(PERSON, str(person_id))


def role(name: str) -> Recipient:
    """Everyone active in a role (expanded into one notice each when posted)."""
    return Recipient(ROLE, name)


def group(name: str = DISPATCH_GROUP) -> Recipient:
    return Recipient(GROUP, name)


def customer(customer_id: int) -> Recipient:
    return Recipient(CUSTOMER, str(customer_id))


def chat(chat_id: int) -> Recipient:
    return Recipient(CHAT, str(chat_id))


def tr(key: str, **params: Any) -> dict[str, Any]:
    """A parameter that is itself a catalog text, translated with the rest."""
    return {"$t": key, "$p": params}


@dataclass(frozen=True)
class Button:
    label: dict[str, Any] | str  # tr(...) or a ready label
    data: str


@dataclass(frozen=True)
class Notice:
    """One message (or edit) for one recipient."""

    recipient: Recipient
    parts: tuple[tuple[str, dict[str, Any]], ...] = ()  # catalog keys, joined by newlines
    kind: str = TEXT
    text: str | None = None  # a ready text, when only that exists
    buttons: tuple[tuple[Button, ...], ...] = ()
    ask_location: bool = False
    document: str | None = None  # a file to send (its caption is the text)
    reply_to: int | None = None  # a message of the recipient's chat to answer
    target: str | None = None  # what an edit replaces; a pending edit of it is replaced
    ref: dict[str, Any] = field(default_factory=dict)  # what a non-text kind is about

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"parts": [[key, params] for key, params in self.parts]}
        if self.text is not None:
            body["text"] = self.text
        if self.ref:
            body["ref"] = self.ref
        return body

    def actions(self) -> dict[str, Any]:
        actions: dict[str, Any] = {}
        if self.buttons:
            actions["buttons"] = [[[b.label, b.data] for b in row] for row in self.buttons]
        if self.ask_location:
            actions["ask_location"] = True
        if self.document:
            actions["document"] = self.document
        if self.reply_to is not None:
            actions["reply_to"] = self.reply_to
        return actions


def text(recipient: Recipient, key: str, **params: Any) -> Notice:
    """The commonest notice: one catalog text."""
    return Notice(recipient, parts=((key, params),))


def ticket_card(ticket_id: int) -> Notice:
    """Post or edit the ticket's card in the dispatch group (coalesced per ticket)."""
    return Notice(
        group(), kind=TICKET_CARD, target=f"ticket_card:{ticket_id}", ref={"ticket": ticket_id}
    )


def by_language(**choices: str) -> dict[str, Any]:
    """A parameter given per language (zh_CN=..., en=...), chosen at delivery."""
    return {"$l": {key.replace("_", "-"): value for key, value in choices.items()}}


def localize(language: str, value: Any) -> Any:
    """A parameter in this language (tr(...) and by_language(...) values are resolved)."""
    if isinstance(value, dict) and "$t" in value:
        params = {k: localize(language, v) for k, v in value["$p"].items()}
        return t(language, value["$t"], **params)
    if isinstance(value, dict) and "$l" in value:
        choices = value["$l"]
        return choices.get(language, next(iter(choices.values()), ""))
    return value


def render_text(body: dict[str, Any], language: str) -> str:
    """The notice's text in this language."""
    lines = [
        t(language, key, **{name: localize(language, v) for name, v in params.items()})
        for key, params in body.get("parts", [])
    ]
    if body.get("text"):
        lines.insert(0, body["text"])
    return "\n".join(lines)


async def _people_in_role(conn: aiosqlite.Connection, name: str) -> list[int]:
    rows = await conn.execute_fetchall(
        "SELECT id FROM people WHERE role = ? AND active = 1 AND telegram_id IS NOT NULL "
        "ORDER BY id",
        (name,),
    )
    return [row[0] for row in rows]


async def post(conn: aiosqlite.Connection, *items: Notice, channel: str = TELEGRAM) -> None:
    """Write notices in the caller's transaction (they go out only if it commits)."""
    for notice in items:
        recipients = [notice.recipient]
        if notice.recipient.kind == ROLE:
            recipients = [person(pid) for pid in await _people_in_role(conn, notice.recipient.ref)]
        for recipient in recipients:
            await outbox.add(
                conn,
                channel,
                recipient.kind,
                recipient.ref,
                notice.kind,
                notice.body(),
                notice.actions(),
                notice.target,
            )


async def post_soon(db: Database, *items: Notice, channel: str = TELEGRAM) -> None:
    """Post in the transaction in progress in this task, or in one of their own."""
    conn = current_transaction.get()
    if conn is not None:
        await post(conn, *items, channel=channel)
        return
    async with db.transaction() as conn:
        await post(conn, *items, channel=channel)
