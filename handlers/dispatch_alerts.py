"""What promise timers say: warnings and escalations to the dispatch group, and a dispatch that
went unanswered returned to the queue (the rows were claimed before anything is sent)."""

from __future__ import annotations

import logging
from dataclasses import replace

from telegram.error import TelegramError
from telegram.ext import Application

from bot.domain import cards
from bot.domain.dispatch_models import (
    DISPATCH_ACCEPT,
    SLA_ARRIVE,
    SLA_TAKEBACK,
    VISIT_UNREPORTED,
    TicketView,
)
from bot.i18n import t
from bot.services import Services
from bot.services.timers import BREACH, DueAlert
from handlers import promises, repair_alerts
from handlers.group_card import refresh_ticket_card
from storage import people, tickets

log = logging.getLogger(__name__)


async def tell_group(app: Application, key: str, **values: object) -> None:
    """A message to the dispatch group in the station's language."""
    services: Services = app.bot_data["services"]
    async with services.db.read() as conn:
        group = await people.bound_chat(conn, "dispatch")
    if group is None:
        log.warning("no dispatch group bound; %s not sent", key)
        return
    try:
        await app.bot.send_message(group, t(services.config.language, key, **values))
    except TelegramError as exc:
        log.warning("dispatch group message %s not sent: %s", key, exc)


async def tell_group_text(app: Application, text: str) -> None:
    """A ready-made text to the dispatch group."""
    services: Services = app.bot_data["services"]
    async with services.db.read() as conn:
        group = await people.bound_chat(conn, "dispatch")
    if group is None:
        log.warning("no dispatch group bound; alert not sent")
        return
    try:
        await app.bot.send_message(group, text)
    except TelegramError as exc:
        log.warning("dispatch group alert not sent: %s", exc)


async def close_dispatch_card(app: Application, view: TicketView, stamp: str) -> None:
    """Take the buttons off the technician's dispatch card and say why."""
    if not view.assign_chat_id or not view.assign_message_id:
        return
    services: Services = app.bot_data["services"]
    language = view.technician_language or services.config.language
    try:
        await app.bot.edit_message_reply_markup(
            chat_id=view.assign_chat_id, message_id=view.assign_message_id, reply_markup=None
        )
        await app.bot.send_message(
            view.assign_chat_id,
            stamp or t(language, "dispatch.timeout.tech", id=view.id),
            reply_to_message_id=view.assign_message_id,
            allow_sending_without_reply=True,
        )
    except TelegramError as exc:
        log.warning("dispatch card of ticket %s not closed: %s", view.id, exc)


async def notify(app: Application, alert: DueAlert) -> None:
    """Send one claimed warning or escalation."""
    services: Services = app.bot_data["services"]
    language = services.config.language
    if repair_alerts.handles(alert.kind):  # the repair desk's promises
        await repair_alerts.notify(app, alert)
        return
    if alert.kind == VISIT_UNREPORTED:  # ref_id is a visit: the managers decide
        await promises.notify_unreported(app, alert)
        return
    async with services.db.read() as conn:
        view = await tickets.ticket_for_visit(conn, alert.ref_id)
        who = await people.by_id(conn, alert.returned_from) if alert.returned_from else None
    name = view.customer_name if view else "—"
    tz = services.config.tz
    if alert.kind == DISPATCH_ACCEPT:
        if view is not None and who is not None:
            stamp = t(who.language or language, "dispatch.timeout.tech", id=view.id)
            await close_dispatch_card(
                app,
                _with_chat(view, who.telegram_id),
                stamp,
            )
        await tell_group(
            app,
            "dispatch.timeout.group",
            id=alert.ref_id,
            name=who.name if who else "—",
            minutes=services.config.sla.accept_timeout_minutes,
        )
        await refresh_ticket_card(app, alert.ref_id)
        return
    key = "dispatch.alert.breach" if alert.phase == BREACH else "dispatch.alert.warning"
    values = {
        "kind": alert.kind,
        "id": alert.ref_id,
        "name": name,
        "due": cards.when(alert.due_at, tz),
        "technician": (view.technician_name if view and view.technician_name else "—"),
    }
    text = t(language, key, what=t(language, f"dispatch.deadline.{alert.kind}"), **values)
    if alert.kind == SLA_TAKEBACK:
        text += "\n" + t(language, "promises.alert.answer_hint", id=alert.ref_id)
    await tell_group_text(app, text)
    if alert.kind == SLA_ARRIVE and view is not None and view.technician_telegram_id:
        tech_language = view.technician_language or language
        what = t(tech_language, f"dispatch.deadline.{alert.kind}")  # a title, not the rule ID
        try:
            await app.bot.send_message(
                view.technician_telegram_id, t(tech_language, key, what=what, **values)
            )
        except TelegramError as exc:
            log.warning("SLA-ARRIVE notice to the technician not sent: %s", exc)
    await refresh_ticket_card(app, alert.ref_id)


def _with_chat(view: TicketView, telegram_id: int | None) -> TicketView:
    """The view whose dispatch card lives in this technician's chat (assignee already cleared)."""
    return replace(view, assign_chat_id=view.assign_chat_id or telegram_id)
