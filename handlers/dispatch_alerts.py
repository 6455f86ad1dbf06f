"""What promise timers say: warnings and escalations to the dispatch group, and a dispatch that
went unanswered returned to the queue. The notices are queued in the outbox in the transaction
that claims the timer (bot.services.timers), so they go out exactly once."""

from __future__ import annotations

import logging

import aiosqlite
from telegram.ext import Application

from bot.domain import cards
from bot.domain.dispatch_models import (
    DISPATCH_ACCEPT,
    SLA_ARRIVE,
    SLA_TAKEBACK,
    VISIT_UNREPORTED,
)
from bot.services import Services, notices
from bot.services.dispatching import close_offer
from bot.services.timers import BREACH, DueAlert
from handlers import promises, repair_alerts
from storage import people, tickets

log = logging.getLogger(__name__)


async def tell_group(app: Application, key: str, **values: object) -> None:
    """A message to the dispatch group (through the outbox, in the station's language)."""
    services: Services = app.bot_data["services"]
    await notices.post_soon(services.db, notices.text(notices.group(), key, **values))


async def notify(app: Application, alert: DueAlert, conn: aiosqlite.Connection) -> None:
    """Queue the notices of one claimed warning or escalation in the claiming transaction."""
    services: Services = app.bot_data["services"]
    if repair_alerts.handles(alert.kind):  # the repair desk's promises
        await repair_alerts.notify(app, alert, conn)
        return
    if alert.kind == VISIT_UNREPORTED:  # ref_id is a visit: the managers decide
        await promises.notify_unreported(app, alert, conn)
        return
    view = await tickets.ticket_for_visit(conn, alert.ref_id)
    who = await people.by_id(conn, alert.returned_from) if alert.returned_from else None
    name = view.customer_name if view else "—"
    tz = services.config.tz
    told: list[notices.Notice] = []
    if alert.kind == DISPATCH_ACCEPT:
        if view is not None and who is not None and view.assign_message_id:
            stamp = ("dispatch.timeout.tech", {"id": view.id})
            told.append(close_offer(who.id, view.assign_message_id, stamp))
        told.append(
            notices.text(
                notices.group(),
                "dispatch.timeout.group",
                id=alert.ref_id,
                name=who.name if who else "—",
                minutes=services.config.sla.accept_timeout_minutes,
            )
        )
        told.append(notices.ticket_card(alert.ref_id))
        await notices.post(conn, *told)
        return
    key = "dispatch.alert.breach" if alert.phase == BREACH else "dispatch.alert.warning"
    values = {
        "kind": alert.kind,
        "id": alert.ref_id,
        "name": name,
        "due": cards.when(alert.due_at, tz),
        "technician": (view.technician_name if view and view.technician_name else "—"),
        "what": notices.tr(f"dispatch.deadline.{alert.kind}"),  # a title, not the rule ID
    }
    parts: list[tuple[str, dict]] = [(key, values)]
    if alert.kind == SLA_TAKEBACK:
        parts.append(("promises.alert.answer_hint", {"id": alert.ref_id}))
    told.append(notices.Notice(notices.group(), parts=tuple(parts)))
    if alert.kind == SLA_ARRIVE and view is not None and view.assigned_to is not None:
        told.append(notices.text(notices.person(view.assigned_to), key, **values))
    told.append(notices.ticket_card(alert.ref_id))
    await notices.post(conn, *told)
