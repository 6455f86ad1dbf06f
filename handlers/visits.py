"""Site visits in the technician's chat: arrive, run late, check out, hand over the slip.

Buttons carry `visit:<step>:<id>` (technician) or `slip:<step>:<slip id>` (the customer on the
technician's phone, pressed from the technician's account) or `cslip:<step>:<token>` (the
customer in their own chat). Every press is checked against who owns the visit or slip.
"""

from __future__ import annotations

import io
import logging
from datetime import datetime, time, timedelta

import segno
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, MessageHandler, filters

from bot import payroll, visit_service
from bot.config import yuan_to_fen
from bot.context import FieldContext
from bot.i18n import t
from bot.models import Role
from bot.visits import Evidence, LocationReport
from handlers import forms
from storage import people
from storage import visits as visit_store
from storage.db import current_update_id

log = logging.getLogger(__name__)

STATE = "visit_form"
SATISFACTION_LABELS = {
    "satisfied": "visit.sat_satisfied",
    "neutral": "visit.sat_neutral",
    "dissatisfied": "visit.sat_dissatisfied",
}


# --- small helpers ----------------------------------------------------------------------------


def _person_id(context: FieldContext) -> int:
    actor = context.actor
    assert actor is not None and actor.person is not None
    return actor.person.id


def _parts(data: str | None) -> list[str]:
    return (data or "").split(":")


def _report(message: Message) -> LocationReport:
    location = message.location
    assert location is not None
    return LocationReport(
        lat=location.latitude,
        lon=location.longitude,
        accuracy_m=location.horizontal_accuracy,
        live=bool(location.to_dict().get("live_period")),  # no deprecated attribute
        forwarded=message.forward_origin is not None,
        venue=message.venue is not None,
    )


def _location_keyboard(language: str) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        [[KeyboardButton(t(language, "visit.send_location"), request_location=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def _buttons(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


def visit_keyboard(ticket_id: int, language: str) -> InlineKeyboardMarkup:
    """The buttons of an accepted dispatch: arrived, or running late."""
    return _buttons(
        [(t(language, "visit.arrived_button"), f"visit:arrive:{ticket_id}")],
        [(t(language, "visit.late_button"), f"visit:late:{ticket_id}")],
    )


def _local(context: FieldContext, moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return moment.astimezone(context.services.config.tz).strftime("%m-%d %H:%M")


async def _tell_group(context: FieldContext, key: str, **values: object) -> None:
    """An alert in the dispatch group (in the station's default language)."""
    async with context.services.db.read() as conn:
        group = await people.bound_chat(conn, "dispatch")
    if group is None:
        return
    try:
        await context.bot.send_message(group, t(context.services.config.language, key, **values))
    except TelegramError as exc:
        log.warning("could not alert the dispatch group: %s", exc)


async def _tell_managers(context: FieldContext, key: str, **values: object) -> None:
    async with context.services.db.read() as conn:
        managers = await people.with_role(conn, Role.MANAGER)
    recipients = {p.telegram_id: p.language for p in managers if p.telegram_id is not None}
    for admin in context.services.config.admins:
        recipients.setdefault(admin, None)
    for chat_id, language in recipients.items():
        try:
            await context.bot.send_message(
                chat_id, t(language or context.services.config.language, key, **values)
            )
        except TelegramError as exc:
            log.warning("could not alert manager %s: %s", chat_id, exc)


async def _customer_chat(context: FieldContext, customer_id: int) -> int | None:
    """The customer's own chat, once they linked it through a slip."""
    async with context.services.db.read() as conn:
        rows = await conn.execute_fetchall(
            "SELECT telegram_id FROM customers WHERE id = ?", (customer_id,)
        )
    return rows[0][0] if rows and rows[0][0] else None


async def _refresh_card(context: FieldContext, ticket_id: int | None) -> None:
    """Bring the ticket's group card up to date, off the technician's critical path."""
    if ticket_id is None:
        return
    from handlers.group_card import refresh_ticket_card

    async def refresh() -> None:
        # The task copies this update's context; its writes are not this update's handling.
        current_update_id.set(None)
        await refresh_ticket_card(context.application, ticket_id)

    context.application.create_task(refresh())


async def _problem(
    update: Update, context: FieldContext, problem: visit_service.VisitProblem
) -> None:
    text = t(context.lang, problem.value)
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    else:
        await update.effective_message.reply_text(text)


# --- arriving ---------------------------------------------------------------------------------


async def _own_ticket(update: Update, context: FieldContext) -> int | None:
    """The ticket id of a `visit:<step>:<ticket>` press, if the presser is assigned to it."""
    query = update.callback_query
    parts = _parts(query.data)
    if len(parts) != 3 or not parts[2].isdigit():
        await query.answer(t(context.lang, "form.expired"), show_alert=True)
        return None
    try:
        await visit_service.ticket_of(context.services, int(parts[2]), _person_id(context))
    except visit_service.VisitError as exc:
        await _problem(update, context, exc.problem)
        return None
    await query.answer()
    return int(parts[2])


async def arrive_button(update: Update, context: FieldContext) -> None:
    """ "Arrived": ask for the location, live preferred."""
    ticket_id = await _own_ticket(update, context)
    if ticket_id is None:
        return
    context.user_data[STATE] = {"step": "checkin", "ticket": ticket_id}
    await context.bot.send_message(
        update.effective_chat.id,
        t(context.lang, "visit.ask_checkin_location"),
        reply_markup=_location_keyboard(context.lang),
    )


async def late_button(update: Update, context: FieldContext) -> None:
    """ "I will be late": ask for the new time."""
    ticket_id = await _own_ticket(update, context)
    if ticket_id is None:
        return
    context.user_data[STATE] = {"step": "late_time", "ticket": ticket_id}
    await context.bot.send_message(update.effective_chat.id, t(context.lang, "visit.ask_late_time"))


def _parse_new_time(text: str, now_local: datetime) -> datetime | None:
    """ "HH:MM" today (or tomorrow if already past) or "YYYY-MM-DD HH:MM", in local time."""
    text = text.strip().replace("：", ":")
    try:
        if len(text) <= 5:
            hours, minutes = (int(v) for v in text.split(":"))
            moment = datetime.combine(
                now_local.date(), time(hours, minutes), tzinfo=now_local.tzinfo
            )
            return moment if moment > now_local else moment + timedelta(days=1)
        return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=now_local.tzinfo)
    except ValueError:
        return None


async def late_told_button(update: Update, context: FieldContext) -> None:
    """Who told the customer about the new time; records the notice and tells the group."""
    query = update.callback_query
    form = context.user_data.get(STATE) or {}
    parts = _parts(query.data)
    if form.get("step") != "late_told" or len(parts) != 4 or str(form.get("ticket")) != parts[2]:
        await query.answer(t(context.lang, "form.expired"), show_alert=True)
        return
    new_time = datetime.fromisoformat(form["new_time"])
    told_by = parts[3] if parts[3] in ("technician", "bot") else "technician"
    technician_id = _person_id(context)
    try:
        ticket = await visit_service.ticket_of(context.services, form["ticket"], technician_id)
        visit_service.check_late_time(context.services.now(), ticket.appointment_start, new_time)
        if told_by == "bot" and not await _tell_customer_late(
            context, ticket.customer_id, new_time
        ):
            await query.answer(t(context.lang, "visit.customer_unreachable"), show_alert=True)
            return
        ticket = await visit_service.announce_late(
            context.services, technician_id, form["ticket"], new_time, told_by
        )
    except visit_service.VisitError as exc:
        context.user_data.pop(STATE, None)
        await _problem(update, context, exc.problem)
        return
    context.user_data.pop(STATE, None)
    await query.answer()
    await query.edit_message_text(
        t(context.lang, "visit.late_recorded", time=_local(context, new_time))
    )
    who = t(context.services.config.language, f"visit.told_by_{told_by}")
    await _tell_group(
        context,
        "visit.group_late",
        ticket=ticket.id,
        name=context.actor.person.name,
        time=_local(context, new_time),
        who=who,
    )
    await _refresh_card(context, ticket.id)


async def _tell_customer_late(context: FieldContext, customer_id: int, new_time: datetime) -> bool:
    """The bot tells a linked customer the new arrival time; False when it could not."""
    customer_chat = await _customer_chat(context, customer_id)
    if not customer_chat:
        return False
    language = context.services.config.language
    try:
        await context.bot.send_message(
            customer_chat, t(language, "visit.customer_late_notice", time=_local(context, new_time))
        )
    except TelegramError as exc:
        log.warning("could not tell customer %s about a late arrival: %s", customer_id, exc)
        return False
    return True


async def on_location(update: Update, context: FieldContext) -> None:
    """A location in the technician's chat: check-in, check-out point, or an unplanned visit."""
    message = update.effective_message
    if (
        context.actor is None
        or context.actor.person is None
        or context.actor.person.role is not Role.TECHNICIAN
    ):
        return
    report = _report(message)
    if report.forwarded or report.venue:
        key = "visit.refuse_forwarded" if report.forwarded else "visit.refuse_venue"
        await message.reply_text(t(context.lang, key))
        return
    form = context.user_data.get(STATE) or {}
    step = form.get("step")
    if step == "checkout":
        await _checkout_location(update, context, form, report)
        return
    if step == "checkin":
        await _check_in(update, context, form.get("ticket"), report)
        return
    if step is not None and step != "signature":
        await message.reply_text(t(context.lang, "visit.location_not_now"))
        return
    async with context.services.db.read() as conn:
        open_visits = await visit_store.open_for_technician(conn, _person_id(context))
    if open_visits:
        # Live sharing started after a static check-in, say: no second, dispatch-less visit.
        await message.reply_text(t(context.lang, "visit.already_on_visit"))
        return
    await _check_in(update, context, None, report)  # GO-OUT: flagged to the group


async def _check_in(
    update: Update, context: FieldContext, ticket_id: int | None, report: LocationReport
) -> None:
    message = update.effective_message
    try:
        result = await visit_service.check_in(
            context.services, _person_id(context), ticket_id, report, message.message_id
        )
    except visit_service.VisitError as exc:
        context.user_data.pop(STATE, None)
        await message.reply_text(
            t(context.lang, exc.problem.value), reply_markup=ReplyKeyboardRemove()
        )
        return
    if result.check.refusal is not None:
        distance = f"{result.check.distance_m or 0:.0f}"
        await message.reply_text(t(context.lang, result.check.refusal.value, distance=distance))
        return
    context.user_data.pop(STATE, None)
    check = result.check
    distance = "—" if check.distance_m is None else f"{check.distance_m:.0f}"
    lines = [
        t(
            context.lang,
            "visit.checked_in",
            time=_local(context, context.services.now()),
            distance=distance,
        )
    ]
    if check.evidence is Evidence.WEAK:
        lines.append(t(context.lang, "visit.weak_evidence"))
    if check.offsite:
        lines.append(t(context.lang, "visit.offsite", distance=distance))
    if result.late_event_id is not None:
        lines.append(
            t(
                context.lang,
                "visit.late_deducted",
                amount=payroll.format_yuan(context.services.config.rules.deductions.late_fen),
            )
        )
    await message.reply_text("\n".join(lines), reply_markup=ReplyKeyboardRemove())
    await context.bot.send_message(
        update.effective_chat.id,
        t(context.lang, "visit.when_done"),
        reply_markup=_buttons(
            [(t(context.lang, "visit.checkout_button"), f"visit:out:{result.visit_id}")]
        ),
    )
    name = context.actor.person.name
    if result.ticket is None:
        await _tell_group(
            context,
            "visit.group_no_dispatch",
            name=name,
            lat=f"{report.lat:.5f}",
            lon=f"{report.lon:.5f}",
        )
    elif check.offsite or check.evidence is Evidence.WEAK:
        await _tell_group(
            context,
            "visit.group_flagged_checkin",
            ticket=result.ticket.id,
            name=name,
            distance=distance,
            evidence=check.evidence.value,
        )
    await _refresh_card(context, result.ticket.id if result.ticket else None)


async def on_live_edit(update: Update, context: FieldContext) -> None:
    """A live-location update (an edited message) kept while the visit is open."""
    message = update.edited_message
    if (
        message is None
        or message.location is None
        or context.actor is None
        or context.actor.person is None
    ):
        return
    await visit_service.keep_live_point(
        context.services,
        context.actor.person.id,
        message.message_id,
        _report(message),
        update.update_id,
    )


# --- checking out -----------------------------------------------------------------------------


async def _own_open_visit(
    update: Update, context: FieldContext, visit_id: int
) -> visit_store.VisitRow | None:
    async with context.services.db.read() as conn:
        visit = await visit_store.by_id(conn, visit_id)
    if visit is None or visit.technician_id != _person_id(context):
        await _problem(update, context, visit_service.VisitProblem.NOT_YOURS)
        return None
    if visit.state != "open":
        await _problem(update, context, visit_service.VisitProblem.NOT_OPEN)
        return None
    return visit


async def checkout_button(update: Update, context: FieldContext) -> None:
    """ "Leaving": ask for the location again."""
    query = update.callback_query
    parts = _parts(query.data)
    if len(parts) != 3 or not parts[2].isdigit():
        await query.answer(t(context.lang, "form.expired"), show_alert=True)
        return
    visit = await _own_open_visit(update, context, int(parts[2]))
    if visit is None:
        return
    await query.answer()
    context.user_data[STATE] = {"step": "checkout", "visit": visit.id}
    await context.bot.send_message(
        update.effective_chat.id,
        t(context.lang, "visit.ask_checkout_location"),
        reply_markup=_location_keyboard(context.lang),
    )


async def _checkout_location(
    update: Update, context: FieldContext, form: dict, report: LocationReport
) -> None:
    form.update(
        step="oc", lat=report.lat, lon=report.lon, accuracy=report.accuracy_m, live=report.live
    )
    vid = form["visit"]
    await update.effective_message.reply_text(
        t(context.lang, "visit.location_noted"), reply_markup=ReplyKeyboardRemove()
    )
    await context.bot.send_message(
        update.effective_chat.id,
        t(context.lang, "visit.ask_outcome"),
        reply_markup=_buttons(
            [(t(context.lang, "visit.outcome_resolved"), f"visit:oc:{vid}:resolved")],
            [(t(context.lang, "visit.outcome_revisit"), f"visit:oc:{vid}:revisit")],
            [(t(context.lang, "visit.outcome_taken_back"), f"visit:oc:{vid}:taken_back")],
        ),
    )


# The check-out questions after the outcome, in order: (step, form key, choices).
CHECKOUT_STEPS = (
    ("st", "service_type", ("hardware", "software")),
    ("mk", "machine", ("single", "network")),
    ("co", "consult_over", ("0", "1")),
    ("pd", "paid", ("0", "1")),
)


async def _show(
    update: Update, context: FieldContext, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Put the next question in place of the answered one (a button press) or send it."""
    if update.callback_query is not None:
        await update.callback_query.edit_message_text(text, reply_markup=markup)
    else:
        await context.bot.send_message(update.effective_chat.id, text, reply_markup=markup)


async def _ask_next(update: Update, context: FieldContext, form: dict) -> None:
    """The next check-out question, or the end of check-out when all are answered."""
    vid = form["visit"]
    for step, key, choices in CHECKOUT_STEPS:
        if key not in form:
            form["step"] = step
            options = [
                (t(context.lang, f"visit.{key}_{c}"), f"visit:{step}:{vid}:{c}") for c in choices
            ]
            await _show(update, context, t(context.lang, f"visit.ask_{key}"), _buttons(options))
            return
    if form["paid"] == "1" and "fee_fen" not in form:
        form["step"] = "fee"
        await _show(update, context, t(context.lang, "visit.ask_fee"))
        return
    await _finish_checkout(update, context, form)


async def checkout_step_button(update: Update, context: FieldContext) -> None:
    """One answer of the check-out questions (outcome, service type, machine, consult, paid)."""
    query = update.callback_query
    parts = _parts(query.data)
    form = context.user_data.get(STATE) or {}
    if len(parts) != 4 or not parts[2].isdigit() or form.get("visit") != int(parts[2]):
        if (
            len(parts) == 4
            and parts[2].isdigit()
            and await _own_open_visit(update, context, int(parts[2])) is None
        ):
            return
        await query.answer(t(context.lang, "form.expired"), show_alert=True)
        return
    if await _own_open_visit(update, context, int(parts[2])) is None:
        return
    step, choice = parts[1], parts[3]
    if step != form.get("step"):
        await query.answer(t(context.lang, "visit.already_answered"))
        return
    await query.answer()
    if step == "oc":
        if choice not in visit_service.OUTCOME_EVENTS:
            return
        form["outcome"] = choice
        if choice == "revisit":
            form["step"] = "reason"
            await _show(update, context, t(context.lang, "visit.ask_revisit_reason"))
            return
        form["reason"] = ""
    else:
        key, choices = next((k, c) for s, k, c in CHECKOUT_STEPS if s == step)
        if choice not in choices:
            return
        form[key] = choice
    await _ask_next(update, context, form)


async def visit_text(update: Update, context: FieldContext) -> bool:
    """Typed answers of the visit forms: the late time, the revisit reason, fee and parts."""
    form = context.user_data.get(STATE)
    message = update.effective_message
    if not form or message is None or not message.text or update.effective_chat.type != "private":
        return False
    text = message.text.strip()
    if form.get("step") == "late_time":
        new_time = _parse_new_time(text, context.services.local_now())
        if new_time is None:
            await message.reply_text(t(context.lang, "visit.bad_time"))
            return True
        tid = form["ticket"]
        try:
            ticket = await visit_service.ticket_of(context.services, tid, _person_id(context))
            visit_service.check_late_time(
                context.services.now(), ticket.appointment_start, new_time
            )
        except visit_service.VisitError as exc:
            if exc.problem is not visit_service.VisitProblem.BAD_LATE_TIME:
                context.user_data.pop(STATE, None)
            await message.reply_text(t(context.lang, exc.problem.value))
            return True
        form.update(step="late_told", new_time=new_time.isoformat())
        rows = [[(t(context.lang, "visit.told_by_technician"), f"visit:told:{tid}:technician")]]
        if await _customer_chat(context, ticket.customer_id):
            rows.append([(t(context.lang, "visit.told_by_bot"), f"visit:told:{tid}:bot")])
        await message.reply_text(
            t(context.lang, "visit.ask_told", time=_local(context, new_time)),
            reply_markup=_buttons(*rows),
        )
        return True
    if form.get("step") == "reason":
        if len(text) < 2:
            await message.reply_text(t(context.lang, "visit.ask_revisit_reason"))
            return True
        form["reason"] = text
        await _ask_next(update, context, form)
        return True
    if form.get("step") == "fee":
        amounts = text.replace("，", " ").replace(",", " ").split()
        try:
            fee, parts = (yuan_to_fen(v) for v in amounts) if len(amounts) == 2 else (None, None)
        except ValueError:
            fee = parts = None
        if fee is None or parts is None:
            await message.reply_text(t(context.lang, "visit.bad_fee"))
            return True
        form.update(fee_fen=fee, parts_fen=parts)
        await _finish_checkout(update, context, form)
        return True
    return False


async def _finish_checkout(update: Update, context: FieldContext, form: dict) -> None:
    details = visit_service.CheckOutDetails(
        outcome=form["outcome"],
        reason=form.get("reason", ""),
        service_type=form["service_type"],
        machine=form["machine"],
        consult_over=form["consult_over"] == "1",
        fee_fen=form.get("fee_fen", 0),
        parts_fen=form.get("parts_fen", 0),
    )
    report = LocationReport(form["lat"], form["lon"], form.get("accuracy"), form.get("live", False))
    try:
        result = await visit_service.check_out(
            context.services, _person_id(context), form["visit"], report, details
        )
    except visit_service.VisitError as exc:
        context.user_data.pop(STATE, None)
        await context.bot.send_message(update.effective_chat.id, t(context.lang, exc.problem.value))
        return
    context.user_data.pop(STATE, None)
    context.user_data[STATE] = {"step": "signature", "slip": result.slip_id}
    name = context.actor.person.name
    ticket_id = result.ticket.id if result.ticket else None
    if details.outcome == "revisit":
        await _tell_group(
            context,
            "visit.group_revisit",
            ticket=ticket_id or "—",
            name=name,
            reason=details.reason,
        )
    if details.outcome == "taken_back":
        await _tell_group(
            context,
            "visit.group_taken_back",
            ticket=ticket_id or "—",
            name=name,
            hours=f"{context.services.config.sla.takeback_hours:g}",
        )
    await _send_handover(update, context, result)
    await _refresh_card(context, ticket_id)


async def _send_handover(
    update: Update, context: FieldContext, result: visit_service.CheckOutResult
) -> None:
    """The slip summary and satisfaction buttons for the customer, plus the QR deep link."""
    async with context.services.db.read() as conn:
        slip = await visit_store.slip_for_visit(conn, result.visit_id)
    assert slip is not None
    chat_id = update.effective_chat.id
    summary = _slip_summary(context, context.lang, slip)
    await context.bot.send_message(
        chat_id,
        t(context.lang, "visit.handover", summary=summary),
        reply_markup=_satisfaction_buttons(context.lang, f"slip:sat:{slip.id}"),
    )
    link = f"https://t.me/{context.bot.username}?start=slip_{result.token}"
    image = io.BytesIO()
    segno.make(link, error="m").save(image, kind="png", scale=6)
    image.seek(0)
    await context.bot.send_photo(chat_id, image, caption=t(context.lang, "visit.qr_caption"))


def _slip_summary(context: FieldContext, language: str, slip: visit_store.SlipRow) -> str:
    return t(
        language,
        "visit.slip_summary",
        arrival=_local(context, slip.check_in),
        departure=_local(context, slip.check_out),
        service=t(language, f"visit.service_type_{slip.service_type}"),
        machine=t(language, f"visit.machine_{slip.machine}"),
        outcome=t(language, f"visit.outcome_{slip.outcome}"),
    )


def _satisfaction_buttons(language: str, prefix: str) -> InlineKeyboardMarkup:
    return _buttons(
        [(t(language, label), f"{prefix}:{value}") for value, label in SATISFACTION_LABELS.items()]
    )


def _conduct_buttons(language: str, kind: str, key: str, item: str) -> InlineKeyboardMarkup:
    """Yes / no on one CONDUCT point; data `<kind>:cd:<key>:<item>:<1|0>`."""
    return _buttons(
        [
            (t(language, "visit.yes"), f"{kind}:cd:{key}:{item}:1"),
            (t(language, "visit.no"), f"{kind}:cd:{key}:{item}:0"),
        ]
    )


# --- the slip, answered by the customer -------------------------------------------------------


async def _answer_slip(
    update: Update,
    context: FieldContext,
    slip: visit_store.SlipRow,
    step: str,
    value: str,
    button: tuple[str, str],
    via: str,
) -> None:
    """Shared by the handed-over phone and the customer's own chat; button = (kind, key)."""
    kind, key = button
    query = update.callback_query
    language = context.lang
    services = context.services
    if step == "sat" and value in SATISFACTION_LABELS:
        if slip.satisfaction is not None:
            await query.answer(t(language, "visit.already_answered"))
            return
        try:
            slip = await visit_service.give_satisfaction(
                services, slip.id, value, via, via == "customer"
            )
        except visit_service.VisitError as exc:
            await _problem(update, context, exc.problem)
            return
        await query.answer()
        recorded = t(language, "visit.sat_recorded", answer=t(language, SATISFACTION_LABELS[value]))
        await query.edit_message_text(
            f"{recorded}\n{t(language, 'visit.ask_shoes')}",
            reply_markup=_conduct_buttons(language, kind, key, "shoes"),
        )
        if value == "dissatisfied":
            await _refresh_card(context, await _ticket_of_slip(context, slip))
        return
    if step == "cd":
        item, _, ok = value.partition(":")
        if item not in ("shoes", "eating") or ok not in ("0", "1"):
            await query.answer(t(language, "form.expired"), show_alert=True)
            return
        current = slip.conduct_shoe_covers if item == "shoes" else slip.conduct_no_eating
        if current is not None:
            await query.answer(t(language, "visit.already_answered"))
            return
        try:
            slip = await visit_service.confirm_conduct(services, slip.id, item, ok == "1")
        except visit_service.VisitError as exc:
            await _problem(update, context, exc.problem)
            return
        await query.answer()
        if item == "shoes":
            await query.edit_message_text(
                t(language, "visit.ask_eating"),
                reply_markup=_conduct_buttons(language, kind, key, "eating"),
            )
        else:
            closing = t(language, "visit.thanks_customer")
            if via != "customer":
                closing += "\n" + t(language, "visit.ask_signature")
            await query.edit_message_text(closing)
        if ok == "0":
            async with services.db.read() as conn:
                tech = await people.by_id(conn, slip.technician_id)
            await _tell_managers(
                context,
                "visit.conduct_flag",
                name=tech.name if tech else "?",
                slip=slip.id,
                item=t(services.config.language, f"visit.conduct_{item}"),
            )
        if item == "eating" and via == "customer":
            await _tell_technician_missing(context, slip)
        return
    await query.answer(t(language, "form.expired"), show_alert=True)


async def _ticket_of_slip(context: FieldContext, slip: visit_store.SlipRow) -> int | None:
    if slip.visit_id is None:
        return None
    async with context.services.db.read() as conn:
        visit = await visit_store.by_id(conn, slip.visit_id)
    return visit.ticket_id if visit else None


async def slip_button(update: Update, context: FieldContext) -> None:
    """The customer's answers on the technician's phone."""
    query = update.callback_query
    parts = _parts(query.data)
    if len(parts) < 4 or not parts[2].isdigit():
        await query.answer(t(context.lang, "form.expired"), show_alert=True)
        return
    async with context.services.db.read() as conn:
        rows = await conn.execute_fetchall(
            "SELECT visit_id FROM slips WHERE id = ?", (int(parts[2]),)
        )
        slip = await visit_store.slip_for_visit(conn, rows[0][0]) if rows and rows[0][0] else None
    if slip is None or slip.technician_id != _person_id(context):
        await _problem(update, context, visit_service.VisitProblem.NOT_YOURS)
        return
    await _answer_slip(
        update, context, slip, parts[1], ":".join(parts[3:]), ("slip", str(slip.id)), "handed_over"
    )


async def on_signature_photo(update: Update, context: FieldContext) -> None:
    """The photo of the signed paper slip: stored with the SHA-256 of its bytes."""
    form = context.user_data.get(STATE) or {}
    message = update.effective_message
    if form.get("step") != "signature" or context.actor is None or context.actor.person is None:
        if message is not None and context.actor is not None and context.actor.person is not None:
            await message.reply_text(t(context.lang, "visit.photo_unexpected"))
        return
    photo = message.photo[-1]
    telegram_file = await context.bot.get_file(photo.file_id)
    data = bytes(await telegram_file.download_as_bytearray())
    result = await visit_service.attach_signature(
        context.services, form["slip"], photo.file_id, data
    )
    context.user_data.pop(STATE, None)
    if result.duplicates:
        await _tell_managers(
            context,
            "visit.duplicate_signature",
            name=context.actor.person.name,
            slip=result.slip.id,
            others=", ".join(f"#{i}" for i in result.duplicates),
        )
    await _tell_technician_missing(context, result.slip, chat_id=update.effective_chat.id)
    await _refresh_card(context, await _ticket_of_slip(context, result.slip))


async def _tell_technician_missing(
    context: FieldContext, slip: visit_store.SlipRow, chat_id: int | None = None
) -> None:
    """Tell the technician whether the slip is complete, or exactly what it still lacks."""
    async with context.services.db.read() as conn:
        tech = await people.by_id(conn, slip.technician_id)
    if tech is None or tech.telegram_id is None:
        return
    language = tech.language or context.services.config.language
    missing = visit_service.slip_state(slip).missing()
    if not missing:
        text = t(language, "visit.slip_complete", slip=slip.id)
    else:
        text = t(
            language,
            "visit.slip_incomplete",
            slip=slip.id,
            missing="、".join(t(language, f"visit.field_{m}") for m in missing),
        )
    await context.bot.send_message(chat_id or tech.telegram_id, text)


# --- the customer in their own chat (deep link) -----------------------------------------------


async def customer_start(update: Update, context: FieldContext, token: str) -> None:
    """/start slip_<token>: the customer confirms the slip in their own chat."""
    message = update.effective_message
    language = context.services.config.language
    try:
        slip = await visit_service.link_customer(context.services, token, update.effective_user.id)
    except visit_service.VisitError as exc:
        await message.reply_text(t(language, exc.problem.value))
        return
    if slip is None:
        await message.reply_text(t(language, "visit.unknown_slip"))
        return
    if slip.satisfaction is not None:
        await message.reply_text(t(language, "visit.already_answered"))
        return
    await message.reply_text(
        t(language, "visit.customer_welcome", summary=_slip_summary(context, language, slip)),
        reply_markup=_satisfaction_buttons(language, f"cslip:sat:{token}"),
    )


async def customer_slip_button(update: Update, context: FieldContext) -> None:
    """The customer's answers in their own chat; the slip becomes customer-verified."""
    query = update.callback_query
    parts = _parts(query.data)
    if len(parts) < 4:
        await query.answer(t(context.lang, "form.expired"), show_alert=True)
        return
    async with context.services.db.read() as conn:
        slip = await visit_store.slip_by_token(conn, parts[2])
        linked = (
            await conn.execute_fetchall(
                "SELECT telegram_id FROM customers WHERE id = ?", (slip.customer_id,)
            )
            if slip
            else []
        )
    if slip is None or not linked or linked[0][0] != update.effective_user.id:
        await query.answer(t(context.lang, "visit.not_yours"), show_alert=True)
        return
    await _answer_slip(
        update, context, slip, parts[1], ":".join(parts[3:]), ("cslip", parts[2]), "customer"
    )


def register(app: Application) -> None:
    """Attach the visit handlers."""
    private = filters.ChatType.PRIVATE
    app.add_handler(CallbackQueryHandler(arrive_button, pattern=r"^visit:arrive:"))
    app.add_handler(CallbackQueryHandler(late_button, pattern=r"^visit:late:"))
    app.add_handler(CallbackQueryHandler(late_told_button, pattern=r"^visit:told:"))
    app.add_handler(CallbackQueryHandler(checkout_button, pattern=r"^visit:out:"))
    app.add_handler(CallbackQueryHandler(checkout_step_button, pattern=r"^visit:(oc|st|mk|co|pd):"))
    app.add_handler(CallbackQueryHandler(slip_button, pattern=r"^slip:"))
    app.add_handler(CallbackQueryHandler(customer_slip_button, pattern=r"^cslip:"))
    app.add_handler(
        MessageHandler(private & filters.UpdateType.EDITED_MESSAGE & filters.LOCATION, on_live_edit)
    )
    app.add_handler(
        MessageHandler(private & filters.UpdateType.MESSAGE & filters.LOCATION, on_location)
    )
    app.add_handler(
        MessageHandler(private & filters.UpdateType.MESSAGE & filters.PHOTO, on_signature_photo)
    )
    forms.add_text_consumer(visit_text, STATE)
    app.bot_data.setdefault("start_payload_hooks", {})["slip_"] = customer_start
