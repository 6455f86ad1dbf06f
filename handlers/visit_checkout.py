"""Leaving: the check-out location and questions, then the slip handed to the customer."""

from __future__ import annotations

from datetime import datetime, timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyKeyboardRemove, Update

from bot.domain.parsing import parse_id
from bot.domain.visits import LocationReport, event_time
from bot.i18n import t
from bot.services import visit_service
from bot.services.forms import FormInvalid
from handlers import forms, repairs
from handlers.context import FieldContext
from handlers.errors import stale_button
from handlers.promises import send_takeback_notice
from handlers.visit_common import (
    VISIT,
    VISIT_FORM,
    callback_parts,
    flag_sentences,
    inline_buttons,
    location_keyboard,
    person_id,
    refuse_unusable,
    tell_group,
    tell_problem,
)
from handlers.visit_slip import satisfaction_buttons, slip_summary
from storage import visits as visit_store

# --- checking out -----------------------------------------------------------------------------


async def _own_open_visit(
    update: Update, context: FieldContext, visit_id: int
) -> visit_store.VisitRow | None:
    async with context.services.db.lookup() as conn:
        visit = await visit_store.by_id(conn, visit_id)
    if visit is None or visit.technician_id != person_id(context):
        await tell_problem(update, context, visit_service.VisitProblem.NOT_YOURS)
        return None
    if visit.state != "open":
        await tell_problem(update, context, visit_service.VisitProblem.NOT_OPEN)
        return None
    return visit


async def checkout_button(update: Update, context: FieldContext) -> None:
    """ "Leaving": ask for the location again."""
    query = update.callback_query
    parts = callback_parts(query.data)
    visit_id = parse_id(parts[2]) if len(parts) == 3 else None
    if visit_id is None:
        await query.answer(t(context.lang, "form.expired"), show_alert=True)
        return
    visit = await _own_open_visit(update, context, visit_id)
    if visit is None:
        return
    await query.answer()
    await forms.start(update, context, VISIT, {"step": "checkout", "visit": visit.id})
    await context.bot.send_message(
        update.effective_chat.id,
        t(context.lang, "visit.ask_checkout_location"),
        reply_markup=location_keyboard(context.lang),
    )


async def checkout_location(
    update: Update, context: FieldContext, form: dict, report: LocationReport
) -> None:
    if await refuse_unusable(update, context, report):
        return  # still at the check-out step: the next location answers it
    max_age = timedelta(seconds=context.services.config.evidence.max_age_s)
    left_at = event_time(context.services.now(), update.effective_message.date, max_age)
    form.update(
        step="oc",
        lat=report.lat,
        lon=report.lon,
        accuracy=report.accuracy_m,
        live=report.live,
        left_at=left_at.isoformat(),
    )
    vid = form["visit"]
    await update.effective_message.reply_text(
        t(context.lang, "visit.location_noted"), reply_markup=ReplyKeyboardRemove()
    )
    await context.bot.send_message(
        update.effective_chat.id,
        t(context.lang, "visit.ask_outcome"),
        reply_markup=inline_buttons(
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


def _question(context: FieldContext, key: str) -> str:
    """One check-out question; SLA-CONSULT's limit comes from config."""
    if key == "consult_over":
        minutes = context.services.config.sla.consult_minutes
        return t(context.lang, "promises.ask_consult_over", minutes=minutes)
    return t(context.lang, f"visit.ask_{key}")


async def _ask_next(update: Update, context: FieldContext, form: dict) -> None:
    """The next check-out question, or the end of check-out when all are answered."""
    vid = form["visit"]
    for step, key, choices in CHECKOUT_STEPS:
        if key not in form:
            form["step"] = step
            options = [
                (t(context.lang, f"visit.{key}_{c}"), f"visit:{step}:{vid}:{c}") for c in choices
            ]
            await _show(update, context, _question(context, key), inline_buttons(options))
            return
    if form["paid"] == "1" and "fee_fen" not in form:
        form["step"] = "fee"
        await _show(update, context, t(context.lang, "visit.ask_fee"))
        return
    await _finish_checkout(update, context, form)


async def checkout_step_button(update: Update, context: FieldContext) -> None:
    """One answer of the check-out questions (outcome, service type, machine, consult, paid)."""
    query = update.callback_query
    parts = callback_parts(query.data)
    form = await forms.current(update, context, VISIT) or {}
    visit_id = parse_id(parts[2]) if len(parts) == 4 else None
    if visit_id is None or form.get("visit") != visit_id:
        if visit_id is not None and await _own_open_visit(update, context, visit_id) is None:
            return
        if form:  # a button of an older form: this one stays as it is
            await stale_button(update, context)
        else:
            await query.answer(t(context.lang, "form.expired"), show_alert=True)
        return
    if await _own_open_visit(update, context, visit_id) is None:
        return
    step, choice = parts[1], parts[3]
    if step != form.get("step"):  # a question answered before
        await stale_button(update, context)
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
    # The form moves on to the photo in the transaction that records the check-out.
    session = await forms.session(update, context)
    session.open(VISIT, {"step": "signature", "visit": form["visit"]})
    try:
        left_at = datetime.fromisoformat(form["left_at"]) if form.get("left_at") else None
        result = await visit_service.check_out(
            context.services, person_id(context), form["visit"], report, details, left_at
        )
    except visit_service.VisitError as exc:
        session.close()
        await context.bot.send_message(update.effective_chat.id, t(context.lang, exc.problem.value))
        return
    name = context.actor.person.name
    ticket_id = result.ticket.id if result.ticket else None
    if result.flags:
        reasons = flag_sentences(result.flags, context.lang)
        await context.bot.send_message(
            update.effective_chat.id,
            t(context.lang, "evidence.checkout_flagged", reasons="\n".join(reasons)),
        )
        language = context.services.config.language
        await tell_group(
            context,
            "evidence.group_flagged_checkout",
            ticket=ticket_id or "—",
            name=name,
            reasons="\n".join(flag_sentences(result.flags, language)),
        )
    if details.outcome == "revisit":
        await tell_group(
            context,
            "visit.group_revisit",
            ticket=ticket_id or "—",
            name=name,
            reason=details.reason,
        )
    if details.outcome == "taken_back":
        if ticket_id is not None:
            await send_takeback_notice(context, ticket_id, name)
            # The repair item from the visit, with its voucher (one SLA-TAKEBACK: the ticket's).
            await repairs.send_taken_back_voucher(context, update.effective_chat.id, ticket_id)
        else:
            await tell_group(
                context,
                "visit.group_taken_back",
                ticket="—",
                name=name,
                hours=f"{context.services.config.sla.takeback_hours:g}",
            )
    await _send_handover(update, context, result)  # the check-out queued the group card


async def _send_handover(
    update: Update, context: FieldContext, result: visit_service.CheckOutResult
) -> None:
    """The slip summary for the customer: satisfaction buttons, or a QR code on request."""
    async with context.services.db.lookup() as conn:
        slip = await visit_store.slip_for_visit(conn, result.visit_id)
        flags = await visit_store.flags_of(conn, result.visit_id)
    assert slip is not None
    summary = slip_summary(context, context.lang, slip, flags)
    buttons = satisfaction_buttons(context.lang, f"slip:sat:{slip.id}").inline_keyboard
    qr_row = [
        InlineKeyboardButton(t(context.lang, "visit.qr_button"), callback_data=f"slip:qr:{slip.id}")
    ]
    await context.bot.send_message(
        update.effective_chat.id,
        t(context.lang, "visit.handover", summary=summary),
        reply_markup=InlineKeyboardMarkup([*buttons, qr_row]),
    )


async def checkout_text(update: Update, context: FieldContext) -> bool:
    """Typed check-out answers: the revisit reason, fee and parts."""
    form = await forms.current(update, context, VISIT)
    message = update.effective_message
    if not form or message is None or not message.text or update.effective_chat.type != "private":
        return False
    step = form.get("step")
    if step not in ("reason", "fee"):
        return False
    try:
        answer = VISIT_FORM.validate(step, message.text)
    except FormInvalid as exc:
        await message.reply_text(t(context.lang, exc.key, **exc.values))
        return True
    if step == "reason":
        form["reason"] = answer
        await _ask_next(update, context, form)
        return True
    form.update(fee_fen=answer[0], parts_fen=answer[1])
    await _finish_checkout(update, context, form)
    return True
