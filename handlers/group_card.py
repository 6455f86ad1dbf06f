"""The one card per ticket in the dispatch group: sent once, then edited in place, coalesced."""

from __future__ import annotations

import asyncio
import logging
import time

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application

from bot.domain import cards
from bot.i18n import t
from bot.services import Services, dispatching
from handlers.promise_buttons import ticket_buttons
from storage import people, tickets

log = logging.getLogger(__name__)

LAST_EDIT_KEY = "ticket_card_last_edit"  # bot_data: ticket id -> monotonic time of last edit
LOCKS_KEY = "ticket_card_locks"
PENDING_KEY = "ticket_card_pending"
JOB_PREFIX = "ticket-card"
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


def _lock(app: Application, ticket_id: int) -> asyncio.Lock:
    locks: dict[int, asyncio.Lock] = app.bot_data.setdefault(LOCKS_KEY, {})
    return locks.setdefault(ticket_id, asyncio.Lock())


def _pending(app: Application) -> set[int]:
    """Tickets whose coalesced edit is scheduled and has not started yet."""
    return app.bot_data.setdefault(PENDING_KEY, set())


async def refresh_ticket_card(app: Application, ticket_id: int) -> None:
    """Post the ticket's card, or edit it in place at most once per card_edit_interval_s."""
    if ticket_id in _pending(app):
        return  # the scheduled edit reads the database when it runs: it shows this change too
    services: Services = app.bot_data["services"]
    async with _lock(app, ticket_id):
        async with services.db.lookup() as conn:
            view = await tickets.ticket_for_visit(conn, ticket_id)
        if view is None:
            return
        if view.group_message_id is None:
            await _render(app, ticket_id)
            return
        last: dict[int, float] = app.bot_data.setdefault(LAST_EDIT_KEY, {})
        wait = services.config.card_edit_interval_s - (time.monotonic() - last.get(ticket_id, 0))
        if wait <= 0 or app.job_queue is None:
            await _render(app, ticket_id)
            return
        if ticket_id not in _pending(app):
            _pending(app).add(ticket_id)
            name = f"{JOB_PREFIX}:{ticket_id}"
            app.job_queue.run_once(_delayed_edit, when=wait, data=ticket_id, name=name)


async def _delayed_edit(context) -> None:  # noqa: ANN001 - PTB job callback
    """The coalesced edit: render whatever the database says now."""
    # Changes from here on schedule another edit: this one may have read before them.
    _pending(context.application).discard(context.job.data)
    async with _lock(context.application, context.job.data):
        await _render(context.application, context.job.data)


async def _render(app: Application, ticket_id: int) -> None:
    services: Services = app.bot_data["services"]
    async with services.db.lookup() as conn:
        group = await people.bound_chat(conn, "dispatch")
    facts = await dispatching.card_facts(services, ticket_id)
    if group is None or facts is None:
        return
    language = services.config.language
    text = cards.render_ticket_card(facts, services.now(), services.config.tz, language)
    keyboard = card_keyboard(facts.ticket, language)
    try:
        if facts.ticket.group_message_id is None:
            message = await app.bot.send_message(group, text, reply_markup=keyboard)
            async with services.db.transaction() as conn:
                await tickets.set_group_message(conn, ticket_id, message.message_id)
        else:
            await app.bot.edit_message_text(
                text, chat_id=group, message_id=facts.ticket.group_message_id, reply_markup=keyboard
            )
    except BadRequest as exc:
        if NOT_MODIFIED not in str(exc).lower():
            log.warning("ticket card %s not updated: %s", ticket_id, exc)
    except TelegramError as exc:
        log.warning("ticket card %s not updated: %s", ticket_id, exc)
    app.bot_data.setdefault(LAST_EDIT_KEY, {})[ticket_id] = time.monotonic()
