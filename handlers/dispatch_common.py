"""Small helpers the dispatch handlers share: who acts, and answering refusals."""

from __future__ import annotations

from telegram import Update

from bot.domain import lifecycle
from bot.domain.cards import state_label
from bot.domain.intake import IntakeError
from bot.domain.parsing import parse_id
from bot.i18n import t
from bot.services.dispatching import DispatchError
from handlers.context import FieldContext


def actor_role(context: FieldContext) -> str:
    """The lifecycle role of the caller (an unbound admin acts as admin)."""
    actor = context.actor
    assert actor is not None
    return actor.person.role.value if actor.person else "admin"


def actor_person_id(context: FieldContext) -> int | None:
    actor = context.actor
    return actor.person.id if actor and actor.person else None


def refusal_text(language: str, exc: Exception) -> str:
    """The localized explanation of a refused step."""
    if isinstance(exc, lifecycle.IllegalTransition):
        values = exc.i18n_values()
        values["state"] = state_label(exc.state, language)
        values["event"] = t(language, f"lifecycle.event.{exc.event}")
        if "role" in values:
            values["role"] = (
                t(language, f"role.{values['role']}")
                if values["role"] != "system"
                else values["role"]
            )
        return t(language, exc.i18n_key, **values)
    if isinstance(exc, DispatchError | IntakeError):
        return t(language, exc.key, **exc.values)
    raise exc


async def answer_refusal(update: Update, context: FieldContext, exc: Exception) -> None:
    """Tell the caller why nothing happened (a popup for a button, else a reply)."""
    text = refusal_text(context.lang, exc)
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text)


def ticket_id_arg(text: str | None) -> int | None:
    """A ticket number as typed: 12 or #12."""
    return parse_id(text)
