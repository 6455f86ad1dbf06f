"""The one error handler: log the update and traceback, tell the user briefly, keep serving.

It is also the one place that answers a bad argument (bot.domain.parsing.BadArgument): a command
gets its usage message, a button that it is no longer current.
"""

from __future__ import annotations

import logging

from telegram import Update

from bot.domain.parsing import BadArgument
from bot.i18n import catalog, t
from handlers.context import FieldContext
from handlers.delivery import current_attempt

log = logging.getLogger("fieldbot.errors")


async def on_error(update: object, context: FieldContext) -> None:
    """Log the failure with its update id and apologise to the user without internals.

    A failed try that will be repeated (handlers/polling.py) stays silent; the user hears once.
    """
    update_id = update.update_id if isinstance(update, Update) else None
    if isinstance(context.error, BadArgument) and isinstance(update, Update):
        log.info("update %s: bad argument %r", update_id, str(context.error)[:80])
        await answer_bad_argument(update, context)
        return
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


# Commands whose usage text is not under "<command>.usage".
USAGE_KEYS = {
    "new": "dispatch.quick.usage",
    "customers": "dispatch.customers.usage",
    "pin": "dispatch.pin.usage",
    "assign": "dispatch.assign.usage",
    "duty": "dispatch.duty.usage",
    "leave": "dispatch.leave.usage",
    "penalty": "events.usage_penalty",
    "reward": "events.usage_reward",
    "void": "events.void_usage",
}


def usage_key(command: str | None, language: str) -> str:
    """The catalog key of a command's usage message (a general hint when it has none)."""
    key = USAGE_KEYS.get(command or "", f"{command}.usage")
    return key if key in catalog(language) else "args.bad"


async def answer_bad_argument(update: Update, context: FieldContext) -> None:
    """A button: "no longer current"; a command: its usage."""
    from handlers.gate import action_of  # the gate imports this module's neighbours

    try:
        if update.callback_query is not None:
            await update.callback_query.answer(t(context.lang, "button.stale"), show_alert=True)
        elif update.effective_message is not None:
            command = action_of(update, context.bot.username)
            await update.effective_message.reply_text(
                t(context.lang, usage_key(command, context.lang))
            )
    except Exception:
        log.exception("could not answer the bad argument of update %s", update.update_id)


async def stale_button(update: Update, context: FieldContext) -> None:
    """A button no handler recognises (an old keyboard, a changed layout): say so briefly."""
    assert update.callback_query is not None
    await update.callback_query.answer(t(context.lang, "button.stale"), show_alert=True)
