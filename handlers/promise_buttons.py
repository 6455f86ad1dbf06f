"""The buttons of promises kept from chat, as ticket cards and notices show them."""

from __future__ import annotations

from telegram import InlineKeyboardButton

from bot.domain import lifecycle
from bot.domain.dispatch_models import TicketView
from bot.i18n import t

ANSWER = "answer"
Event = lifecycle.Event
# What a card offers office staff next, in this order, when the lifecycle allows it.
CARD_EVENTS = (Event.RESOLVE_BY_PHONE, Event.BRING_IN, Event.RETURN_MACHINE, Event.CLOSE)


def ticket_buttons(ticket: TicketView, language: str) -> list[list[InlineKeyboardButton]]:
    """The card's rows for what office staff may do next from chat (MODE-ONSITE, take-back)."""
    allowed = set(lifecycle.events_for(ticket.state, "dispatcher"))
    rows: list[list[InlineKeyboardButton]] = []
    shown = list(CARD_EVENTS)
    if ticket.state == lifecycle.State.TAKEN_BACK:
        rows.append([action_button(language, ANSWER, ticket.id, id=ticket.id)])
        shown.append(Event.CANCEL)
    row = [action_button(language, str(e), ticket.id) for e in shown if e in allowed]
    if row:
        rows.append(row)
    return rows


def action_button(
    language: str, action: str, ticket_id: int, **values: object
) -> InlineKeyboardButton:
    """tk:<action>:<ticket>, answered by handlers.promises.ticket_button."""
    return InlineKeyboardButton(
        t(language, f"promises.button.{action}", **values), callback_data=f"tk:{action}:{ticket_id}"
    )
