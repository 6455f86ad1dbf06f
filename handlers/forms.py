"""Typed answers to guided forms: each feature registers a consumer and the key of its state."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import Update

from bot.context import FieldContext
from bot.i18n import t

TextConsumer = Callable[[Update, FieldContext], Awaitable[bool]]

_consumers: list[TextConsumer] = []
_state_keys: list[str] = []


def add_text_consumer(consumer: TextConsumer, state_key: str) -> None:
    """Register a form step that may claim a typed message; state_key is its user_data key."""
    if consumer not in _consumers:
        _consumers.append(consumer)
    if state_key not in _state_keys:
        _state_keys.append(state_key)


async def route_text(update: Update, context: FieldContext) -> None:
    """Give a typed answer to the form waiting for it, if any."""
    for consumer in _consumers:
        if await consumer(update, context):
            return


async def cancel(update: Update, context: FieldContext) -> None:
    """Drop whatever form the caller had open; nothing of it was written."""
    had_form = any(context.user_data.pop(key, None) is not None for key in _state_keys)
    key = "form.cancelled" if had_form else "form.nothing_to_cancel"
    await update.effective_message.reply_text(t(context.lang, key))
