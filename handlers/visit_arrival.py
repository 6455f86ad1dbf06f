"""Arriving: the Arrived and I-will-be-late buttons, check-in locations, live updates."""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta

from telegram import (
    ReplyKeyboardRemove,
    Update,
)

from bot.domain import payroll
from bot.domain.models import Role
from bot.domain.parsing import parse_id, parse_int
from bot.domain.visits import LocationReport
from bot.i18n import t
from bot.services import notices, visit_service
from handlers import forms
from handlers.context import FieldContext
from handlers.errors import stale_button
from handlers.visit_checkout import checkout_location
from handlers.visit_common import (
    VISIT,
    callback_parts,
    flag_sentences,
    inline_buttons,
    linked_customer_chat,
    local_time,
    location_keyboard,
    location_report,
    person_id,
    refresh_card,
    refuse_unusable,
    tell_group,
    tell_problem,
)
from storage import visits as visit_store

log = logging.getLogger("handlers.visits")

ARRIVING_STATE = "accepted"  # the one state in which Arrived and I-will-be-late apply


# --- arriving ---------------------------------------------------------------------------------


async def _own_ticket(update: Update, context: FieldContext) -> int | None:
    """The ticket id of a `visit:<step>:<ticket>` press, if the presser is assigned to it and
    it still waits for their arrival (an old button must not disturb the form in progress)."""
    query = update.callback_query
    parts = callback_parts(query.data)
    ticket_id = parse_id(parts[2]) if len(parts) == 3 else None
    if ticket_id is None:
        await query.answer(t(context.lang, "form.expired"), show_alert=True)
        return None
    try:
        ticket = await visit_service.ticket_of(context.services, ticket_id, person_id(context))
    except visit_service.VisitError as exc:
        await tell_problem(update, context, exc.problem)
        return None
    if ticket.state != ARRIVING_STATE:  # checked in, resolved, taken back...: a stale button
        await query.answer(t(context.lang, "button.stale"), show_alert=True)
        return None
    await query.answer()
    return ticket_id


async def arrive_button(update: Update, context: FieldContext) -> None:
    """ "Arrived": ask for the location, live preferred."""
    ticket_id = await _own_ticket(update, context)
    if ticket_id is None:
        return
    await forms.start(update, context, VISIT, {"step": "checkin", "ticket": ticket_id})
    await context.bot.send_message(
        update.effective_chat.id,
        t(context.lang, "visit.ask_checkin_location"),
        reply_markup=location_keyboard(context.lang),
    )


async def late_button(update: Update, context: FieldContext) -> None:
    """ "I will be late": ask for the new time."""
    ticket_id = await _own_ticket(update, context)
    if ticket_id is None:
        return
    await forms.start(update, context, VISIT, {"step": "late_time", "ticket": ticket_id})
    await context.bot.send_message(update.effective_chat.id, t(context.lang, "visit.ask_late_time"))


def _clock_part(text: str) -> int:
    value = parse_int(text, maximum=59)
    if value is None:
        raise ValueError(text)
    return value


def _parse_new_time(text: str, now_local: datetime) -> datetime | None:
    """ "HH:MM" today (or tomorrow if already past) or "YYYY-MM-DD HH:MM", in local time."""
    text = text.strip().replace("：", ":")
    try:
        if len(text) <= 5:
            hours, minutes = (_clock_part(v) for v in text.split(":"))
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
    session = await forms.session(update, context)
    form = await forms.current(update, context, VISIT) or {}
    parts = callback_parts(query.data)
    if form.get("step") != "late_told" or len(parts) != 4 or str(form.get("ticket")) != parts[2]:
        if form:  # a button of an older form or step
            await stale_button(update, context)
        else:
            await query.answer(t(context.lang, "form.expired"), show_alert=True)
        return
    new_time = datetime.fromisoformat(form["new_time"])
    told_by = parts[3] if parts[3] in ("technician", "bot") else "technician"
    technician_id = person_id(context)
    try:
        ticket = await visit_service.ticket_of(context.services, form["ticket"], technician_id)
        visit_service.check_late_time(context.services.now(), ticket.appointment_start, new_time)
        if told_by == "bot" and not await _tell_customer_late(
            context, ticket.customer_id, new_time
        ):
            await query.answer(t(context.lang, "visit.customer_unreachable"), show_alert=True)
            return
        session.close()  # closed in the transaction that records the notice
        ticket = await visit_service.announce_late(
            context.services, technician_id, form["ticket"], new_time, told_by
        )
    except visit_service.VisitError as exc:
        session.close()
        await tell_problem(update, context, exc.problem)
        return
    await query.answer()
    await query.edit_message_text(
        t(context.lang, "visit.late_recorded", time=local_time(context, new_time))
    )
    who = t(context.services.config.language, f"visit.told_by_{told_by}")
    await tell_group(
        context,
        "visit.group_late",
        ticket=ticket.id,
        name=context.actor.person.name,
        time=local_time(context, new_time),
        who=who,
    )
    await refresh_card(context, ticket.id)


async def _tell_customer_late(context: FieldContext, customer_id: int, new_time: datetime) -> bool:
    """A linked customer is told the new arrival time (through the outbox); False when the
    customer has no chat of their own."""
    if not await linked_customer_chat(context, customer_id):
        return False
    notice = notices.text(
        notices.customer(customer_id),
        "visit.customer_late_notice",
        time=local_time(context, new_time),
    )
    await notices.post_soon(context.services.db, notice)
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
    report = location_report(message)
    if report.forwarded or report.venue:
        key = "visit.refuse_forwarded" if report.forwarded else "visit.refuse_venue"
        await message.reply_text(t(context.lang, key))
        return
    if await refuse_unusable(update, context, report):
        return
    form = await forms.current(update, context, VISIT) or {}
    step = form.get("step")
    if step == "checkout":
        await checkout_location(update, context, form, report)
        return
    if step == "checkin":
        await _check_in(update, context, form.get("ticket"), report)
        return
    if step is not None and step != "signature":
        await message.reply_text(t(context.lang, "visit.location_not_now"))
        return
    async with context.services.db.lookup() as conn:
        open_visits = await visit_store.open_for_technician(conn, person_id(context))
    if open_visits:
        # Live sharing started after a static check-in, say: no second, dispatch-less visit.
        await message.reply_text(t(context.lang, "visit.already_on_visit"))
        return
    await _check_in(update, context, None, report)  # GO-OUT: flagged to the group


async def _check_in(
    update: Update, context: FieldContext, ticket_id: int | None, report: LocationReport
) -> None:
    message = update.effective_message
    session = await forms.session(update, context)
    opened = session.current(VISIT)
    session.close(VISIT)  # closed in the transaction that records the check-in
    try:
        result = await visit_service.check_in(
            context.services,
            person_id(context),
            ticket_id,
            report,
            message.message_id,
            message.date,
        )
    except visit_service.VisitError as exc:
        await message.reply_text(
            t(context.lang, exc.problem.value), reply_markup=ReplyKeyboardRemove()
        )
        return
    if result.check.refusal is not None:
        session.restore(opened)  # refused: still waiting for a usable location
        if await refuse_unusable(update, context, report):
            return
        distance = f"{result.check.distance_m or 0:.0f}"
        await message.reply_text(t(context.lang, result.check.refusal.value, distance=distance))
        return
    check = result.check
    distance = "—" if check.distance_m is None else f"{check.distance_m:.0f}"
    lines = [
        t(
            context.lang,
            "visit.checked_in",
            time=local_time(context, context.services.now()),
            distance=distance,
        )
    ]
    lines += [f"⚠️ {reason}" for reason in flag_sentences(check.flags, context.lang)]
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
        reply_markup=inline_buttons(
            [(t(context.lang, "visit.checkout_button"), f"visit:out:{result.visit_id}")]
        ),
    )
    name = context.actor.person.name
    if result.ticket is None:
        await tell_group(
            context,
            "visit.group_no_dispatch",
            name=name,
            lat=f"{report.lat:.5f}",
            lon=f"{report.lon:.5f}",
        )
    elif check.flags:
        language = context.services.config.language
        await tell_group(
            context,
            "evidence.group_flagged_checkin",
            ticket=result.ticket.id,
            name=name,
            distance=distance,
            evidence=t(language, f"evidence.grade.{check.evidence.value}"),
            reasons="\n".join(flag_sentences(check.flags, language)),
        )


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
        location_report(message),
        update.update_id,
    )


async def late_text(update: Update, context: FieldContext) -> bool:
    """The typed new arrival time of "I will be late"."""
    form = await forms.current(update, context, VISIT)
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
            ticket = await visit_service.ticket_of(context.services, tid, person_id(context))
            visit_service.check_late_time(
                context.services.now(), ticket.appointment_start, new_time
            )
        except visit_service.VisitError as exc:
            if exc.problem is not visit_service.VisitProblem.BAD_LATE_TIME:
                await forms.close(update, context, VISIT)
            await message.reply_text(t(context.lang, exc.problem.value))
            return True
        form.update(step="late_told", new_time=new_time.isoformat())
        rows = [[(t(context.lang, "visit.told_by_technician"), f"visit:told:{tid}:technician")]]
        if await linked_customer_chat(context, ticket.customer_id):
            rows.append([(t(context.lang, "visit.told_by_bot"), f"visit:told:{tid}:bot")])
        await message.reply_text(
            t(context.lang, "visit.ask_told", time=local_time(context, new_time)),
            reply_markup=inline_buttons(*rows),
        )
        return True
    return False
