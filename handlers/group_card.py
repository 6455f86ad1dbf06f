"""The one card per ticket in the dispatch group: sent once through the outbox, then edited in
place; edits waiting in the outbox are coalesced (bot.services.notices, handlers.outbox_telegram)."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest
from telegram.ext import Application

from bot.domain import cards
from bot.i18n import t
from bot.services import Services, dispatching, notices
from handlers.outbox_telegram import Delivery, Gone, Sent, add_renderer, worker
from handlers.promise_buttons import ticket_buttons
from storage import outbox, tickets
from storage.db import current_transaction

log = logging.getLogger(__name__)

NOT_MODIFIED = "message is not modified"


def card_keyboard(ticket: dispatching.TicketView, language: str) -> InlineKeyboardMarkup | None:
    """Assign and pin buttons while the ticket waits in the queue, then what may come next
    from chat (resolved by phone, at the station, take-back answer, returned, closed)."""
    rows = []
    if ticket.state in tickets.QUEUE_STATES:
        pin_key = "dispatch.button.unpin" if ticket.pinned else "dispatch.button.pin"
        rows.append(
            [
                InlineKeyboardButton(
                    t(language, "dispatch.button.assign"), callback_data=f"assign:s:{ticket.id}"
                ),
                InlineKeyboardButton(t(language, pin_key), callback_data=f"pin:{ticket.id}"),
            ]
        )
    rows += ticket_buttons(ticket, language)
    return InlineKeyboardMarkup(rows) if rows else None


async def refresh_ticket_card(app: Application, ticket_id: int) -> None:
    """Queue the ticket's card for the group (in the transaction in progress, if any); a card
    edit still waiting in the outbox is replaced, so only the latest state goes out."""
    services: Services = app.bot_data["services"]
    notice = notices.ticket_card(ticket_id)
    target = notice.target or ""
    if current_transaction.get() is None:
        # The change is committed; a card row still waiting (or claimed and not yet rendered)
        # will show it when sent, so there is nothing to write: a busy ticket does not cost a
        # write per step.
        delivery = worker(app)
        if delivery is not None and delivery.will_render(target):
            return
        async with services.db.lookup() as conn:
            if await outbox.has_pending(conn, notices.TELEGRAM, target):
                return
    await notices.post_soon(services.db, notice)


async def render_card(app: Application, delivery: Delivery) -> Sent:
    """The outbox's ticket_card: post the card once, then edit it in place (latest state)."""
    services: Services = app.bot_data["services"]
    ticket_id = int(delivery.row.body["ref"]["ticket"])
    facts = await dispatching.card_facts(services, ticket_id)
    if facts is None:
        raise Gone(f"ticket {ticket_id} not found")
    language = delivery.language
    text = cards.render_ticket_card(facts, services.now(), services.config.tz, language)
    keyboard = card_keyboard(facts.ticket, language)
    group = delivery.chat_id
    if facts.ticket.group_message_id is None:
        message = await app.bot.send_message(group, text, reply_markup=keyboard)

        async def remember(conn: object) -> None:
            await tickets.set_group_message(conn, ticket_id, message.message_id)

        return message, remember
    try:
        await app.bot.edit_message_text(
            text, chat_id=group, message_id=facts.ticket.group_message_id, reply_markup=keyboard
        )
    except BadRequest as exc:
        if NOT_MODIFIED not in str(exc).lower():
            raise
    return None, None


def register(app: Application) -> None:
    """Teach the outbox worker to render ticket cards."""
    add_renderer(app, notices.TICKET_CARD, render_card)
