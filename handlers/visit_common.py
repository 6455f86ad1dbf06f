"""Shared pieces of the visit handlers: form state, buttons, alerts, ownership checks."""

from __future__ import annotations

import logging
from datetime import datetime

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    Update,
)

from bot.config import yuan_to_fen
from bot.domain import evidence
from bot.domain.models import Role
from bot.domain.visits import LocationReport
from bot.i18n import t
from bot.services import forms as form_engine
from bot.services import notices, visit_service
from handlers.context import FieldContext
from storage import people
from storage.db import current_update_id

log = logging.getLogger("handlers.visits")


def _revisit_reason(text: str) -> str:
    reason = text.strip()
    if len(reason) < 2:
        raise form_engine.FormInvalid("visit.ask_revisit_reason")
    return reason


def _fee_and_parts(text: str) -> tuple[int, int]:
    """ "fee parts" in yuan, as fen."""
    amounts = text.replace("，", " ").replace(",", " ").split()
    try:
        if len(amounts) == 2:
            return yuan_to_fen(amounts[0]), yuan_to_fen(amounts[1])
    except ValueError:
        pass
    raise form_engine.FormInvalid("visit.bad_fee")


# A visit from the technician's side: arriving (check-in or the late notice), then check-out's
# location and questions, then the photo of the signed slip.
VISIT_FORM = form_engine.define(
    form_engine.FormSpec(
        "visit",
        steps=(
            "checkin",
            "late_time",
            "late_told",
            "checkout",
            "oc",
            "reason",
            "st",
            "mk",
            "co",
            "pd",
            "fee",
            "signature",
        ),
        validators={"reason": _revisit_reason, "fee": _fee_and_parts},
    )
)
VISIT = VISIT_FORM.kind
SATISFACTION_LABELS = {
    "satisfied": "visit.sat_satisfied",
    "neutral": "visit.sat_neutral",
    "dissatisfied": "visit.sat_dissatisfied",
}


# --- small helpers ----------------------------------------------------------------------------


def person_id(context: FieldContext) -> int:
    actor = context.actor
    assert actor is not None and actor.person is not None
    return actor.person.id


def callback_parts(data: str | None) -> list[str]:
    return (data or "").split(":")


def location_report(message: Message) -> LocationReport:
    location = message.location
    assert location is not None
    live_period = location.to_dict().get("live_period")  # no deprecated attribute
    return LocationReport(
        lat=location.latitude,
        lon=location.longitude,
        accuracy_m=location.horizontal_accuracy,
        live=bool(live_period),
        live_period=int(live_period) if live_period else None,
        forwarded=message.forward_origin is not None,
        venue=message.venue is not None,
        sent_at=message.edit_date or message.date,
    )


def flag_sentences(
    flags: tuple[evidence.Flag, ...] | list[evidence.Flag], language: str
) -> list[str]:
    """Each evidence flag as its reason, in the language."""
    return [t(language, flag.key, **flag.values) for flag in flags]


async def refuse_unusable(update: Update, context: FieldContext, report: LocationReport) -> bool:
    """Answer a location that is no place on Earth, or too old to prove presence; True if so."""
    services = context.services
    now = services.now()
    graded = evidence.grade_location(
        report, report.sent_at, now, evidence.limits_of(services.config)
    )
    if graded.refusal is None:
        return False
    minutes = 0
    if report.sent_at is not None:
        minutes = max(1, round((now - report.sent_at).total_seconds() / 60))
    limit = round(services.config.evidence.max_age_s)
    await update.effective_message.reply_text(
        t(context.lang, graded.refusal.value, minutes=minutes, limit=limit),
        reply_markup=location_keyboard(context.lang),
    )
    return True


def location_keyboard(language: str) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        [[KeyboardButton(t(language, "visit.send_location"), request_location=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def inline_buttons(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


def visit_keyboard(ticket_id: int, language: str) -> InlineKeyboardMarkup:
    """The buttons of an accepted dispatch: arrived, or running late."""
    return inline_buttons(
        [(t(language, "visit.arrived_button"), f"visit:arrive:{ticket_id}")],
        [(t(language, "visit.late_button"), f"visit:late:{ticket_id}")],
    )


def local_time(context: FieldContext, moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return moment.astimezone(context.services.config.tz).strftime("%m-%d %H:%M")


async def tell_group(context: FieldContext, key: str, **values: object) -> None:
    """An alert in the dispatch group (through the outbox, in the station's language)."""
    await notices.post_soon(context.services.db, notices.text(notices.group(), key, **values))


async def tell_managers(context: FieldContext, key: str, **values: object) -> None:
    """Every manager, and each admin, through the outbox in their own language."""
    async with context.services.db.lookup() as conn:
        managers = await people.with_role(conn, Role.MANAGER)
    known = {p.telegram_id for p in managers}
    recipients = [notices.person(p.id) for p in managers if p.telegram_id is not None]
    recipients += [notices.chat(a) for a in context.services.config.admins if a not in known]
    await notices.post_soon(
        context.services.db, *(notices.text(who, key, **values) for who in recipients)
    )


async def linked_customer_chat(context: FieldContext, customer_id: int) -> int | None:
    """The customer's own chat, once they linked it through a slip."""
    async with context.services.db.lookup() as conn:
        rows = await conn.execute_fetchall(
            "SELECT telegram_id FROM customers WHERE id = ?", (customer_id,)
        )
    return rows[0][0] if rows and rows[0][0] else None


async def refresh_card(context: FieldContext, ticket_id: int | None) -> None:
    """Bring the ticket's group card up to date, off the technician's critical path."""
    if ticket_id is None:
        return
    from handlers.group_card import refresh_ticket_card

    async def refresh() -> None:
        # The task copies this update's context; its writes are not this update's handling.
        current_update_id.set(None)
        await refresh_ticket_card(context.application, ticket_id)

    context.application.create_task(refresh())


async def tell_problem(
    update: Update, context: FieldContext, problem: visit_service.VisitProblem
) -> None:
    text = t(context.lang, problem.value)
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    else:
        await update.effective_message.reply_text(text)
