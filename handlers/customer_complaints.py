"""CMP-REGISTER in a linked customer's own chat: /complaint (or the button on their repair
item's view) asks what it is about (one of their own visits or items, or nothing in
particular), the class, then the content; the complaint number and the dates come back at
once, the desk is told, and the result follows when the desk decides (handlers/complaints.py)."""

from __future__ import annotations

from telegram import ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.domain import cards, limits
from bot.domain.models import Role
from bot.domain.parsing import parse_id
from bot.i18n import t
from bot.services import customer_complaints as service
from bot.services import forms as form_engine
from bot.services.repair_service import COMPLAINT_CLASSES, RepairError
from handlers import forms
from handlers.context import FieldContext
from storage import customer_desk

FORM = form_engine.define(
    form_engine.FormSpec("customer_complaint", steps=("about", "class", "content"))
)
PREFIX = "ccmp"
NOTHING = "0"  # "nothing in particular" among the subjects


def is_customer(context: FieldContext) -> bool:
    """A linked customer's chat (not staff): the customer's own form applies."""
    actor = context.actor
    return actor is not None and actor.roles == {Role.CUSTOMER}


def _subject_label(language: str, subject: customer_desk.Subject, tz) -> str:  # noqa: ANN001
    day = subject.at.astimezone(tz).strftime("%m-%d")
    if subject.kind == customer_desk.TICKET:
        return t(
            language,
            "custdesk.cmp.subject_ticket",
            id=subject.id,
            day=day,
            technician=subject.technician or "—",
        )
    return t(
        language,
        "custdesk.cmp.subject_item",
        label=subject.voucher or f"#{subject.id}",
        product=subject.text[:20],
    )


def _about_keyboard(
    language: str,
    token: str,
    subjects: list[customer_desk.Subject],
    tz,  # noqa: ANN001
) -> InlineKeyboardMarkup:
    rows = [
        [
            InlineKeyboardButton(
                _subject_label(language, s, tz),
                callback_data=limits.callback_data(PREFIX, "a", token, f"{s.kind}{s.id}"),
            )
        ]
        for s in subjects
    ]
    rows.append(
        [
            InlineKeyboardButton(
                t(language, "custdesk.cmp.subject_none"),
                callback_data=limits.callback_data(PREFIX, "a", token, NOTHING),
            )
        ]
    )
    return InlineKeyboardMarkup(rows)


def _class_keyboard(language: str, token: str) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(
            t(language, f"desk.cmp.class.{name}"),
            callback_data=limits.callback_data(PREFIX, "c", token, name),
        )
        for name in COMPLAINT_CLASSES
    ]
    return InlineKeyboardMarkup([buttons[i : i + 3] for i in range(0, len(buttons), 3)])


def item_button(language: str, item_id: int) -> InlineKeyboardMarkup:
    """The complaint button under a customer's view of their repair item."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t(language, "custdesk.cmp.item_button"),
                    callback_data=limits.callback_data(PREFIX, "i", item_id),
                )
            ]
        ]
    )


def visit_button(language: str, ticket_id: int) -> InlineKeyboardMarkup:
    """The complaint button after an unhappy answer on the customer's own slip."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t(language, "custdesk.cmp.visit_button"),
                    callback_data=limits.callback_data(PREFIX, "t", ticket_id),
                )
            ]
        ]
    )


async def start(update: Update, context: FieldContext) -> None:
    """/complaint from a linked customer: what is it about (their own visits and items)?"""
    message = update.effective_message
    actor = context.actor
    assert message is not None and actor is not None and actor.customer_id is not None
    lang = context.lang
    found = await service.subjects(context.services, actor.customer_id)
    if not found:
        await _ask_class(update, context, None)
        return
    form = (await forms.session(update, context)).open(FORM.kind, {"step": "about"})
    await message.reply_text(
        t(lang, "custdesk.cmp.ask_about"),
        reply_markup=_about_keyboard(lang, form.token, found, context.services.config.tz),
    )


async def _ask_class(
    update: Update, context: FieldContext, subject: tuple[str, int] | None, edit: bool = False
) -> None:
    lang = context.lang
    data = {"step": "class", "subject": list(subject) if subject else None}
    session = await forms.session(update, context)
    form = session.open(FORM.kind, data)
    text = t(lang, "custdesk.cmp.ask_class")
    keyboard = _class_keyboard(lang, form.token)
    query = update.callback_query
    if edit and query is not None:
        await query.edit_message_text(text, reply_markup=keyboard)
    else:
        await context.bot.send_message(update.effective_chat.id, text, reply_markup=keyboard)


def _subject(value: str) -> tuple[str, int] | None:
    """t12 / i5 from a button; None for anything else."""
    kind, number = value[:1], parse_id(value[1:])
    if kind not in (customer_desk.TICKET, customer_desk.ITEM) or number is None:
        return None
    return kind, number


async def button(update: Update, context: FieldContext) -> None:
    """ccmp:i:ITEM / ccmp:t:TICKET (the item view's and the slip's buttons), ccmp:a|c:TOKEN:VALUE
    (the form's steps)."""
    query = update.callback_query
    actor = context.actor
    assert query is not None and actor is not None
    lang = context.lang
    parts = (query.data or "").split(":")
    if actor.customer_id is None:
        await query.answer(t(lang, "custdesk.cmp.not_linked"), show_alert=True)
        return
    if len(parts) == 3 and parts[1] in (customer_desk.ITEM, customer_desk.TICKET):
        number = parse_id(parts[2])
        try:
            if number is None:
                raise RepairError("custdesk.cmp.not_yours")
            await service.check_subject(context.services, actor.customer_id, parts[1], number)
        except RepairError as exc:
            await query.answer(t(lang, exc.key, **exc.values), show_alert=True)
            return
        await query.answer()
        await _ask_class(update, context, (parts[1], number))
        return
    if len(parts) != 4 or parts[1] not in ("a", "c"):
        await query.answer(t(lang, "form.expired"), show_alert=True)
        return
    step, token, value = parts[1], parts[2], parts[3]
    session = await forms.session(update, context)
    if not session.is_current(FORM.kind, token, "about" if step == "a" else "class"):
        await query.answer(t(lang, "form.expired"), show_alert=True)
        return
    form = session.current(FORM.kind)
    assert form is not None
    if step == "a":
        subject = None if value == NOTHING else _subject(value)
        if value != NOTHING and subject is None:
            await query.answer(t(lang, "form.expired"), show_alert=True)
            return
        await query.answer()
        await _ask_class(update, context, subject, edit=True)
        return
    if value not in COMPLAINT_CLASSES:
        await query.answer(t(lang, "form.expired"), show_alert=True)
        return
    await query.answer()
    form.data["class"] = value
    form.goto("content")
    await query.edit_message_text(
        t(lang, "custdesk.cmp.picked", category=t(lang, f"desk.cmp.class.{value}"))
    )
    await context.bot.send_message(
        update.effective_chat.id,
        t(lang, "custdesk.cmp.ask_content"),
        reply_markup=ForceReply(selective=True),
    )


async def content_text(update: Update, context: FieldContext) -> bool:
    """The typed content: the complaint is filed; True if consumed."""
    session = await forms.session(update, context)
    form = session.current(FORM.kind)
    message = update.effective_message
    if form is None or message is None or not message.text:
        return False
    lang = context.lang
    if form.step != "content":
        await message.reply_text(t(lang, "custdesk.cmp.use_buttons"))
        return True
    text = message.text.strip()
    try:
        service.check_content(text)
    except RepairError as exc:
        await message.reply_text(
            t(lang, exc.key, **exc.values), reply_markup=ForceReply(selective=True)
        )
        return True
    subject = form.data.get("subject")
    category = str(form.data.get("class"))
    session.close()  # closed in the transaction that files the complaint
    try:
        filed = await service.file(
            context.services,
            forms.CHANNEL,
            update.effective_user.id,
            text,
            category,
            (subject[0], int(subject[1])) if subject else None,
        )
    except RepairError as exc:
        await message.reply_text(t(lang, exc.key, **exc.values))
        return True
    tz = context.services.config.tz
    await message.reply_text(
        t(
            lang,
            "custdesk.cmp.filed",
            id=filed.complaint_id,
            ack=cards.when(filed.ack_due, tz),
            verify=cards.when(filed.verify_due, tz),
        )
    )
    return True
