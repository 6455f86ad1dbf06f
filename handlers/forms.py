"""The Telegram side of guided forms (bot.services.forms): whose form an update touches, typed answers
routed to the form waiting for them, and /cancel.

Each feature registers a consumer for typed answers; a consumer looks at the caller's current
form (current()) and claims the message if the form is of its kind.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update

from bot.i18n import t
from bot.services import forms as engine
from handlers.context import FieldContext

CHANNEL = "telegram"

TextConsumer = Callable[[Update, FieldContext], Awaitable[bool]]

_consumers: list[TextConsumer] = []


def key_of(update: Update) -> engine.FormKey | None:
    """(channel, chat, person) of the update; None without a chat or a sender."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return None
    return engine.FormKey(CHANNEL, str(chat.id), str(user.id))


async def session(update: Update, context: FieldContext) -> engine.FormSession:
    """The caller's form session for this update (its changes commit with the update)."""
    key = key_of(update)
    if key is None:
        key = engine.FormKey(CHANNEL, "-", "-")  # nobody's: nothing is ever opened on it
    return await engine.session(context.services.db, key, context.services.now())


async def current(update: Update, context: FieldContext, kind: str) -> dict[str, Any] | None:
    """The answers so far of the caller's open form of kind (changes to them are kept)."""
    form = (await session(update, context)).current(kind)
    return form.data if form is not None else None


async def start(
    update: Update, context: FieldContext, kind: str, data: dict[str, Any]
) -> dict[str, Any]:
    """Open a form of kind for the caller (replacing any other); returns its answers dict."""
    return (await session(update, context)).open(kind, data).data


async def close(update: Update, context: FieldContext, kind: str | None = None) -> None:
    """End the caller's form (only if of kind, when given)."""
    (await session(update, context)).close(kind)


def add_text_consumer(consumer: TextConsumer) -> None:
    """Register a form step that may claim a typed message."""
    if consumer not in _consumers:
        _consumers.append(consumer)


async def route_text(update: Update, context: FieldContext) -> None:
    """Give a typed answer to the form waiting for it, if any; an expired form says so."""
    if key_of(update) is None:
        return
    found = await session(update, context)
    if found.form is None:
        if found.expired is not None and update.effective_message is not None:
            await update.effective_message.reply_text(t(context.lang, "form.expired"))
        return
    for consumer in _consumers:
        if await consumer(update, context):
            return


async def cancel(update: Update, context: FieldContext) -> None:
    """Drop whatever form the caller had open; nothing of it was written."""
    had_form = (await session(update, context)).close()
    key = "form.cancelled" if had_form else "form.nothing_to_cancel"
    await update.effective_message.reply_text(t(context.lang, key))
