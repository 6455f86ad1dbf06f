"""The one error handler: log the update and traceback, tell the user briefly, keep serving."""

from __future__ import annotations

import logging

from telegram import Update

from bot.context import FieldContext
from bot.delivery import current_attempt
from bot.i18n import t

log = logging.getLogger("fieldbot.errors")


async def on_error(update: object, context: FieldContext) -> None:
    """Log the failure with its update id and apologise to the user without internals.

    A failed try that will be repeated (bot/polling.py) stays silent; the user hears once.
    """
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("update %s failed", update_id, exc_info=context.error)
    attempt = current_attempt.get()
    if attempt is not None and isinstance(update, Update):
        attempt.error = context.error
        if not attempt.final and update.update_id not in context.services.db.recorded:
            return
    if not isinstance(update, Update):
        return
    language = context.actor.language if context.actor else context.services.config.language
    text = t(language, "error.generic")
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(text, show_alert=True)
        elif update.effective_message is not None:
            await update.effective_message.reply_text(text)
    except Exception:  # the apology itself failing must not take the bot down
        log.exception("could not tell the user about update %s", update_id)
