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

from handlers import common
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
    app.add_error_handler(on_error)
