"""The slip, answered by the customer: on the technician's phone or in their own chat."""

from __future__ import annotations

import io

import segno
from telegram import (
    InlineKeyboardMarkup,
    Update,
)

from bot.domain import evidence
from bot.domain.parsing import parse_id
from bot.i18n import t
from bot.services import notices, visit_service
from handlers import customer_complaints, forms
from handlers.context import FieldContext
from handlers.visit_common import (
    SATISFACTION_LABELS,
    VISIT,
    callback_parts,
    flag_sentences,
    inline_buttons,
    local_time,
    person_id,
    tell_managers,
    tell_problem,
)
from storage import people
from storage import visits as visit_store


def slip_summary(
    context: FieldContext,
    language: str,
    slip: visit_store.SlipRow,
    flags: list[evidence.Flag] | tuple[evidence.Flag, ...] = (),
) -> str:
    """The slip in a few lines, with the visit's evidence flags and their reasons if any."""
    text = t(
        language,
        "visit.slip_summary",
        arrival=local_time(context, slip.check_in),
        departure=local_time(context, slip.check_out),
        service=t(language, f"visit.service_type_{slip.service_type}"),
        machine=t(language, f"visit.machine_{slip.machine}"),
        outcome=t(language, f"visit.outcome_{slip.outcome}"),
    )
    if flags:
        reasons = "\n".join(f"· {r}" for r in flag_sentences(flags, language))
        text += "\n" + t(language, "evidence.slip_flags", reasons=reasons)
    return text


def satisfaction_buttons(language: str, prefix: str) -> InlineKeyboardMarkup:
    return inline_buttons(
        [(t(language, label), f"{prefix}:{value}") for value, label in SATISFACTION_LABELS.items()]
    )


def conduct_buttons(language: str, kind: str, key: str, item: str) -> InlineKeyboardMarkup:
    """Yes / no on one CONDUCT point; data `<kind>:cd:<key>:<item>:<1|0>`."""
    return inline_buttons(
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
            await tell_problem(update, context, exc.problem)
            return
        await query.answer()
        recorded = t(language, "visit.sat_recorded", answer=t(language, SATISFACTION_LABELS[value]))
        await query.edit_message_text(
            f"{recorded}\n{t(language, 'visit.ask_shoes')}",
            reply_markup=conduct_buttons(language, kind, key, "shoes"),
        )
        return  # a dissatisfied answer queued the group card with itself
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
            await tell_problem(update, context, exc.problem)
            return
        await query.answer()
        if item == "shoes":
            await query.edit_message_text(
                t(language, "visit.ask_eating"),
                reply_markup=conduct_buttons(language, kind, key, "eating"),
            )
        else:
            closing = t(language, "visit.thanks_customer")
            if via != "customer":
                closing += "\n" + t(language, "visit.ask_signature")
            unhappy = slip.satisfaction == "dissatisfied" or False in (
                slip.conduct_shoe_covers,
                slip.conduct_no_eating,
            )
            ticket_id = (
                await visit_service.ticket_of_slip(context.services, slip)
                if via == "customer"
                else None
            )
            # In their own chat, an unhappy customer may go on to a complaint about this visit.
            await query.edit_message_text(
                closing,
                reply_markup=(
                    customer_complaints.visit_button(language, ticket_id)
                    if unhappy and ticket_id is not None
                    else None
                ),
            )
        if ok == "0":
            async with services.db.lookup() as conn:
                tech = await people.by_id(conn, slip.technician_id)
            await tell_managers(
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


async def slip_button(update: Update, context: FieldContext) -> None:
    """The customer's answers on the technician's phone, or the QR code for their own."""
    query = update.callback_query
    parts = callback_parts(query.data)
    slip_id = parse_id(parts[2]) if len(parts) >= 3 else None
    if slip_id is None or (len(parts) < 4 and parts[1] != "qr"):
        await query.answer(t(context.lang, "form.expired"), show_alert=True)
        return
    async with context.services.db.lookup() as conn:
        slip = await visit_store.slip_by_id(conn, slip_id)
    if slip is None or slip.visit_id is None or slip.technician_id != person_id(context):
        await tell_problem(update, context, visit_service.VisitProblem.NOT_YOURS)
        return
    if parts[1] == "qr":
        await _send_qr(update, context, slip)
        return
    await _answer_slip(
        update, context, slip, parts[1], ":".join(parts[3:]), ("slip", str(slip.id)), "handed_over"
    )


async def _send_qr(update: Update, context: FieldContext, slip: visit_store.SlipRow) -> None:
    """A QR code of the slip's deep link, for the customer to confirm on their own phone."""
    await update.callback_query.answer()
    link = f"https://t.me/{context.bot.username}?start=slip_{slip.customer_token}"
    image = io.BytesIO()
    segno.make(link, error="m").save(image, kind="png", scale=6)
    image.seek(0)
    await context.bot.send_photo(
        update.effective_chat.id, image, caption=t(context.lang, "visit.qr_caption")
    )


async def on_signature_photo(update: Update, context: FieldContext) -> None:
    """The photo of the signed paper slip: stored with the SHA-256 of its bytes."""
    session = await forms.session(update, context)
    form = session.current(VISIT)
    form = form.data if form is not None else {}
    message = update.effective_message
    if form.get("step") != "signature" or context.actor is None or context.actor.person is None:
        if message is not None and context.actor is not None and context.actor.person is not None:
            await message.reply_text(t(context.lang, "visit.photo_unexpected"))
        return
    slip_id = form.get("slip")
    if slip_id is None:
        async with context.services.db.lookup() as conn:
            slip = await visit_store.slip_for_visit(conn, form["visit"])
        slip_id = slip.id if slip is not None else None
    if slip_id is None:
        session.close()
        await message.reply_text(t(context.lang, "visit.photo_unexpected"))
        return
    photo = message.photo[-1]
    telegram_file = await context.bot.get_file(photo.file_id)
    data = bytes(await telegram_file.download_as_bytearray())
    session.close()  # closed in the transaction that keeps the photo
    result = await visit_service.attach_signature(context.services, slip_id, photo.file_id, data)
    if result.duplicates:
        await tell_managers(
            context,
            "visit.duplicate_signature",
            name=context.actor.person.name,
            slip=result.slip.id,
            others=", ".join(f"#{i}" for i in result.duplicates),
        )
    await _tell_technician_missing(context, result.slip, chat_id=update.effective_chat.id)


async def _tell_technician_missing(
    context: FieldContext, slip: visit_store.SlipRow, chat_id: int | None = None
) -> None:
    """Tell the technician whether the slip is complete, or exactly what it still lacks."""
    async with context.services.db.lookup() as conn:
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
    if chat_id is not None:  # the technician's own chat: a direct answer
        await context.bot.send_message(chat_id, text)
        return
    # Told from the customer's chat: a notice to another person goes through the outbox.
    await notices.post_soon(context.services.db, notices.Notice(notices.person(tech.id), text=text))


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
    notice = t(
        language, "evidence.privacy_notice", days=context.services.config.privacy.keep_track_days
    )
    await message.reply_text(
        t(language, "visit.customer_welcome", summary=slip_summary(context, language, slip))
        + "\n\n"
        + notice,
        reply_markup=satisfaction_buttons(language, f"cslip:sat:{token}"),
    )


async def customer_slip_button(update: Update, context: FieldContext) -> None:
    """The customer's answers in their own chat; the slip becomes customer-verified."""
    query = update.callback_query
    parts = callback_parts(query.data)
    if len(parts) < 4:
        await query.answer(t(context.lang, "form.expired"), show_alert=True)
        return
    async with context.services.db.lookup() as conn:
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
