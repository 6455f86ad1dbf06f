"""The callback context every handler receives, carrying the checked actor."""

from __future__ import annotations

from typing import TYPE_CHECKING

from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot

if TYPE_CHECKING:
    from bot.domain.access import Actor
    from bot.services import Services


class FieldContext(CallbackContext[ExtBot, dict, dict, dict]):
    """CallbackContext plus the actor resolved once per update by the access gate."""

    def __init__(
        self, application: Application, chat_id: int | None = None, user_id: int | None = None
    ):
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)
        self.actor: Actor | None = None
        self.chat_kind = "private"  # the chat the update came from, as the gate saw it

    @property
    def services(self) -> Services:
        return self.application.bot_data["services"]

    @property
    def lang(self) -> str:
        if self.actor is not None:
            return self.actor.language
        return self.services.config.language


def context_types() -> ContextTypes:
    return ContextTypes(context=FieldContext)
