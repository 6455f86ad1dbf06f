"""The Telegram face: wiring of every handler in one place."""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.context import FieldContext
from bot.i18n import t
from handlers import common, jobs, manager, technician
from handlers.errors import on_error
from handlers.gate import gate

GATE_GROUP = -1


def add_command(app: Application, name: str, callback, **kwargs) -> None:  # noqa: ANN001
    """Register a command and list it for /help and the client's menu."""
    app.add_handler(CommandHandler(name, callback, **kwargs))
    common.available_commands(app).add(name)


def register(app: Application) -> None:
    """Attach every handler to the application."""
    app.add_handler(TypeHandler(Update, gate), group=GATE_GROUP)
    app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, common.chat_migrated))
    add_command(app, "start", common.start)
    add_command(app, "help", common.help_command)
    add_command(app, "lang", common.lang)
    add_command(app, "invite", common.invite)
    add_command(app, "bindgroup", common.bindgroup)
    app.add_handler(CallbackQueryHandler(common.invite_button, pattern=r"^invite:"))
    add_command(app, "cancel", cancel)
    add_command(app, "rules", manager.rules)
    add_command(app, "summary", manager.summary)
    add_command(app, "closemonth", manager.closemonth)
    add_command(app, "penalty", manager.penalty)
    add_command(app, "reward", manager.reward)
    add_command(app, "events", manager.events_list)
    add_command(app, "void", manager.void)
    add_command(app, "contests", manager.contests_list)
    add_command(app, "me", technician.me)
    app.add_handler(CallbackQueryHandler(manager.event_form_button, pattern=r"^(penalty|reward):"))
    app.add_handler(CallbackQueryHandler(manager.decide_button, pattern=r"^decide:"))
    app.add_handler(CallbackQueryHandler(technician.contest_button, pattern=r"^contest:"))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, route_text))
    app.add_error_handler(on_error)
    jobs.schedule(app)


TEXT_CONSUMERS = (manager.event_form_text, technician.contest_reason_text)
FORM_KEYS = (manager.FORM_KEY, technician.CONTEST_KEY)


async def route_text(update: Update, context: FieldContext) -> None:
    """Give a typed answer to the form waiting for it, if any."""
    for consumer in TEXT_CONSUMERS:
        if await consumer(update, context):
            return


async def cancel(update: Update, context: FieldContext) -> None:
    """Drop whatever form the caller had open; nothing of it was written."""
    had_form = any(context.user_data.pop(key, None) is not None for key in FORM_KEYS)
    key = "form.cancelled" if had_form else "form.nothing_to_cancel"
    await update.effective_message.reply_text(t(context.lang, key))
