"""The complaint register (CMP-REGISTER) in chat: a guided registration, /complaints (paged)
with acknowledge / verify / decide buttons, the CMP-ACK and CMP-VERIFY alerts, the result told
to the linked customer and, when upheld against a technician, DED-COMPLAINT with its contest."""

from __future__ import annotations

import logging

import aiosqlite
from telegram import ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import Application

from bot.domain import cards, limits, payroll
from bot.domain.models import Role
from bot.domain.parsing import parse_id
from bot.domain.repair_timers import CMP_ACK, CMP_VERIFY
from bot.i18n import t
from bot.services import Services, notices, recorded_events, repair_service, timers
from bot.services import forms as form_engine
from bot.services.repair_service import COMPLAINT_CLASSES, RepairError
from bot.services.timers import BREACH, DueAlert
from handlers import forms, manager, paging
from handlers.context import FieldContext
from storage import complaints, customers, deadlines, people

log = logging.getLogger(__name__)

REGISTER_FORM = form_engine.define(
    form_engine.FormSpec("complaint", steps=("customer", "content", "class", "technician"))
)
# The typed finding (verify) or note (decide) of a complaint picked from the list.
STEP_FORM = form_engine.define(form_engine.FormSpec("complaint_step", steps=("finding", "note")))
KINDS = (CMP_ACK, CMP_VERIFY)
LIST_LIMIT = 200  # open complaints and the newest decided ones


def _by(context: FieldContext) -> int | None:
    actor = context.actor
    return actor.person.id if actor is not None and actor.person is not None else None


def _error(language: str, exc: RepairError) -> str:
    return t(language, exc.key, **exc.values)


# --- registration ------------------------------------------------------------------------------


async def complaint_command(update: Update, context: FieldContext) -> None:
    """Register a complaint: customer, content, class, the technician concerned (guided)."""
    message = update.effective_message
    assert message is not None
    await forms.start(update, context, REGISTER_FORM.kind, {"step": "customer"})
    await message.reply_text(
        t(context.lang, "desk.cmp.ask_customer"), reply_markup=ForceReply(selective=True)
    )


def _class_keyboard(language: str, token: str) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(
            t(language, f"desk.cmp.class.{name}"),
            callback_data=limits.callback_data("cmp", "c", token, name),
        )
        for name in COMPLAINT_CLASSES
    ]
    return InlineKeyboardMarkup([buttons[i : i + 3] for i in range(0, len(buttons), 3)])


async def _technician_keyboard(context: FieldContext, token: str) -> InlineKeyboardMarkup:
    async with context.services.db.read() as conn:
        technicians = await people.with_role(conn, Role.TECHNICIAN)
    buttons = [
        InlineKeyboardButton(p.name, callback_data=limits.callback_data("cmp", "t", token, p.id))
        for p in technicians
    ]
    buttons.append(
        InlineKeyboardButton(
            t(context.lang, "desk.cmp.no_technician"),
            callback_data=limits.callback_data("cmp", "t", token, 0),
        )
    )
    return InlineKeyboardMarkup([buttons[i : i + 3] for i in range(0, len(buttons), 3)])


async def register_text(update: Update, context: FieldContext) -> bool:
    """A typed answer of the registration form (customer, content); True if consumed."""
    session = await forms.session(update, context)
    form = session.current(REGISTER_FORM.kind)
    message = update.effective_message
    if form is None or message is None or not message.text:
        return False
    lang = context.lang
    text = message.text.strip()
    if form.step == "customer":
        async with context.services.db.read() as conn:
            number = parse_id(text)
            found = await customers.by_id(conn, number) if number is not None else None
            found = found or await customers.by_name_or_phone(conn, text)
        if found is None:
            await message.reply_text(
                t(lang, "desk.cmp.customer_unknown", text=text),
                reply_markup=ForceReply(selective=True),
            )
            return True
        form.data.update(customer=found.id, customer_name=found.name)
        form.goto("content")
        await message.reply_text(
            t(lang, "desk.cmp.ask_content", name=found.name),
            reply_markup=ForceReply(selective=True),
        )
        return True
    if form.step == "content":
        if len(text) < 2 or len(text) > repair_service.MAX_TEXT:
            await message.reply_text(
                t(lang, "repairs.error.complaint_required", minimum=2),
                reply_markup=ForceReply(selective=True),
            )
            return True
        form.data["content"] = text
        form.goto("class")
        await message.reply_text(
            t(lang, "desk.cmp.ask_class"), reply_markup=_class_keyboard(lang, form.token)
        )
        return True
    return False


async def _register(update: Update, context: FieldContext, data: dict, technician: int) -> str:
    lang = context.lang
    try:
        complaint_id = await repair_service.register_complaint(
            context.services,
            data["customer"],
            data["content"],
            data["class"],
            technician or None,
            _by(context),
        )
    except RepairError as exc:
        return _error(lang, exc)
    for kind in KINDS:
        await timers.schedule_ref(context.application, kind, complaint_id)
    promises = await repair_service.complaint_promises_of(context.services, complaint_id)
    tz = context.services.config.tz
    return t(
        lang,
        "desk.cmp.registered",
        id=complaint_id,
        customer=data.get("customer_name", ""),
        ack=cards.when(promises[0].due_at, tz),
        verify=cards.when(promises[1].due_at, tz),
    )


# --- the register ------------------------------------------------------------------------------


async def complaints_command(update: Update, context: FieldContext) -> None:
    """The complaint register: open ones first with what is due, then the newest decided."""
    await paging.show(update, context, "complaints")


async def _listed(services: Services) -> list[complaints.Complaint]:
    async with services.db.read() as conn:
        found = await complaints.open_complaints(conn)
        found += await complaints.recently_decided(conn, max(0, LIST_LIMIT - len(found)))
    return found


def stage_text(language: str, found: complaints.Complaint) -> str:
    if found.stage == "decided":
        return t(language, f"desk.cmp.result.{found.result}")
    return t(language, f"desk.cmp.stage.{found.stage}")


async def complaints_listing(context: FieldContext, arg: str) -> paging.Listing | None:
    lang = context.lang
    services = context.services
    tz = services.config.tz
    items = await _listed(services)
    async with services.db.read() as conn:
        due = await deadlines.pending_for(conn, KINDS, [c.id for c in items])

    def line(found: complaints.Complaint) -> str:
        pending = [due[(kind, found.id)] for kind in KINDS if (kind, found.id) in due]
        when = cards.when(pending[0].due_at, tz) if pending else "—"
        return t(
            lang,
            "desk.cmp.line",
            id=found.id,
            customer=found.customer_name,
            category=t(lang, f"desk.cmp.class.{found.category}"),
            technician=found.technician_name or "—",
            stage=stage_text(lang, found),
            due=when,
            content=found.content,
        )

    def buttons(found: complaints.Complaint) -> list[InlineKeyboardButton]:
        def button(key: str, code: str) -> InlineKeyboardButton:
            return InlineKeyboardButton(
                t(lang, key, id=found.id), callback_data=limits.callback_data("cmp", code, found.id)
            )

        if found.stage == "registered":
            return [button("desk.cmp.ack_button", "a")]
        if found.stage == "acknowledged":
            return [button("desk.cmp.verify_button", "v")]
        if found.stage == "verified":
            return [button("desk.cmp.upheld_button", "u"), button("desk.cmp.rejected_button", "r")]
        return []

    return paging.Listing(
        header=t(lang, "desk.cmp.header", open=sum(1 for c in items if c.stage != "decided")),
        items=items,
        line=line,
        buttons=buttons,
        empty=t(lang, "desk.cmp.empty"),
        page_size=5,
    )


# --- buttons and typed steps -------------------------------------------------------------------


async def complaint_button(update: Update, context: FieldContext) -> None:
    """cmp:c|t:TOKEN:VALUE (registration steps) and cmp:a|v|u|r:ID (the register's steps)."""
    query = update.callback_query
    assert query is not None
    parts = (query.data or "").split(":")
    lang = context.lang
    if len(parts) == 4 and parts[1] in ("c", "t"):
        await _form_button(update, context, parts[1], parts[2], parts[3])
        return
    complaint_id = parse_id(parts[2]) if len(parts) == 3 else None
    if complaint_id is None or parts[1] not in ("a", "v", "u", "r"):
        await query.answer(t(lang, "form.expired"), show_alert=True)
        return
    if parts[1] == "a":
        try:
            await repair_service.acknowledge_complaint(context.services, complaint_id, _by(context))
        except RepairError as exc:
            await query.answer(_error(lang, exc), show_alert=True)
            return
        await query.answer()
        await paging.refresh(
            update, context, "complaints", note=t(lang, "desk.cmp.acknowledged", id=complaint_id)
        )
        return
    async with context.services.db.read() as conn:
        found = await complaints.get(conn, complaint_id)
    wanted = {"v": "acknowledged", "u": "verified", "r": "verified"}[parts[1]]
    if found is None or found.stage != wanted:
        stage = stage_text(lang, found) if found else "—"
        await query.answer(t(lang, "desk.cmp.stage_moved", id=complaint_id, stage=stage), True)
        return
    await query.answer()
    step = "finding" if parts[1] == "v" else "note"
    await forms.start(
        update,
        context,
        STEP_FORM.kind,
        {"step": step, "complaint": complaint_id, "upheld": parts[1] == "u"},
    )
    key = "desk.cmp.ask_finding" if step == "finding" else f"desk.cmp.ask_note_{parts[1]}"
    await context.bot.send_message(
        update.effective_chat.id,
        t(lang, key, id=complaint_id),
        reply_markup=ForceReply(selective=True),
    )


async def _form_button(
    update: Update, context: FieldContext, step: str, token: str, value: str
) -> None:
    query = update.callback_query
    assert query is not None
    lang = context.lang
    session = await forms.session(update, context)
    wanted = "class" if step == "c" else "technician"
    if not session.is_current(REGISTER_FORM.kind, token, wanted):
        await query.answer(t(lang, "desk.not_yours"), show_alert=True)
        return
    form = session.current(REGISTER_FORM.kind)
    assert form is not None
    if step == "c":
        if value not in COMPLAINT_CLASSES:
            await query.answer(t(lang, "form.expired"), show_alert=True)
            return
        await query.answer()
        form.data["class"] = value
        form.goto("technician")
        await query.edit_message_text(
            t(lang, "desk.cmp.ask_technician", category=t(lang, f"desk.cmp.class.{value}")),
            reply_markup=await _technician_keyboard(context, form.token),
        )
        return
    technician = parse_id(value) if value != "0" else 0
    if technician is None:
        await query.answer(t(lang, "form.expired"), show_alert=True)
        return
    await query.answer()
    data = dict(form.data)
    session.close()  # closed in the transaction that registers the complaint
    text = await _register(update, context, data, technician)
    await query.edit_message_text(text)


async def step_text(update: Update, context: FieldContext) -> bool:
    """The typed finding (verify) or result note (decide) of a complaint; True if consumed."""
    session = await forms.session(update, context)
    form = session.current(STEP_FORM.kind)
    message = update.effective_message
    if form is None or message is None or not message.text:
        return False
    lang = context.lang
    complaint_id = int(form.data["complaint"])
    text = message.text.strip()
    if len(text) < repair_service.MIN_REASON:
        await message.reply_text(
            t(lang, "repairs.error.reason_required", minimum=repair_service.MIN_REASON),
            reply_markup=ForceReply(selective=True),
        )
        return True
    step, upheld = form.step, bool(form.data.get("upheld"))
    session.close()  # closed in the transaction that records the step
    try:
        if step == "finding":
            await repair_service.verify_complaint(
                context.services, complaint_id, text, _by(context)
            )
            await message.reply_text(t(lang, "desk.cmp.verified", id=complaint_id))
            return True
        decided = await repair_service.decide_complaint(
            context.services, complaint_id, upheld, text, _by(context)
        )
    except RepairError as exc:
        await message.reply_text(_error(lang, exc))
        return True
    await _announce(context, decided, message.chat_id)
    return True


async def _announce(context: FieldContext, decided: repair_service.Decided, chat_id: int) -> None:
    """The result to the desk, the linked customer and (DED-COMPLAINT) the technician."""
    found = decided.complaint
    lang = context.lang
    services = context.services
    result = t(lang, f"desk.cmp.result.{found.result}")
    text = t(lang, "desk.cmp.decided", id=found.id, result=result)
    if decided.event is not None:
        text += "\n" + t(
            lang, "desk.cmp.event", event=decided.event.event.id, name=found.technician_name
        )
    await context.bot.send_message(chat_id, text)
    if found.customer_telegram_id:
        async with services.db.read() as conn:
            language = await customers.language_of(conn, found.customer_id)
        language = language or services.config.language
        key = f"desk.cmp.customer_{found.result}"
        try:
            await context.bot.send_message(
                found.customer_telegram_id, t(language, key, id=found.id, note=found.result_note)
            )
        except TelegramError as exc:
            log.warning("complaint %s result not told to the customer: %s", found.id, exc)
    recorded = decided.event
    if recorded is not None and recorded.technician_telegram_id is not None:
        amount = payroll.format_yuan(recorded_events.event_amount(recorded.event, context.services))
        await manager.notify_technician(
            context, recorded.technician_telegram_id, recorded.event, amount
        )


# --- timers ------------------------------------------------------------------------------------


async def notify(app: Application, alert: DueAlert, conn: aiosqlite.Connection) -> None:
    """A claimed CMP-ACK / CMP-VERIFY warning or breach, to the managers privately (the
    dispatch group when no manager is on record), queued in the claiming transaction."""
    services: Services = app.bot_data["services"]
    found = await complaints.get(conn, alert.ref_id)
    if found is None:
        return
    managers = await people.with_role(conn, Role.MANAGER)
    recipients = [notices.person(p.id) for p in managers if p.telegram_id is not None]
    known = {p.telegram_id for p in managers}  # an admin on record as a manager: one alert
    recipients += [notices.chat(admin) for admin in services.config.admins if admin not in known]
    if not recipients and await people.bound_chat(conn, "dispatch") is not None:
        recipients.append(notices.group())
    key = "desk.cmp.alert_breach" if alert.phase == BREACH else "desk.cmp.alert_warning"
    values = {
        "id": found.id,
        "customer": found.customer_name,
        "what": notices.tr(f"desk.cmp.promise.{alert.kind}"),
        "due": cards.when(alert.due_at, services.config.tz),
    }
    await notices.post(conn, *(notices.Notice(who, parts=((key, values),)) for who in recipients))


def install_notifier(app: Application) -> None:
    """Route complaint deadlines here; every other kind to the notifier installed before."""
    previous = app.bot_data.get(timers.NOTIFIER_KEY)

    async def notifier(
        application: Application, alert: DueAlert, conn: aiosqlite.Connection
    ) -> None:
        if alert.kind in KINDS:
            await notify(application, alert, conn)
        elif previous is not None:
            await previous(application, alert, conn)

    app.bot_data[timers.NOTIFIER_KEY] = notifier
