"""Promises kept from chat: answers to customers whose machine was taken back (SLA-TAKEBACK),
tickets settled without a visit or moved on after a take-back, and the managers' decision on a
visit left open (ALW-FORFEIT-UNREPORTED). Wired by register."""

from __future__ import annotations

import logging

import aiosqlite
from telegram import ForceReply, Update
from telegram.ext import Application, CallbackQueryHandler

from bot.domain import cards, lifecycle, payroll
from bot.domain.dispatch_models import SLA_TAKEBACK
from bot.domain.models import Role
from bot.domain.parsing import parse_id
from bot.i18n import t
from bot.services import Services, dispatching, notices, promises, recorded_events, repair_service
from bot.services import forms as form_engine
from bot.services.timers import DueAlert
from handlers import forms, manager, repairs
from handlers.common import add_command
from handlers.context import FieldContext
from handlers.dispatch_common import actor_person_id, actor_role, answer_refusal, ticket_id_arg
from handlers.promise_buttons import ANSWER
from storage import deadlines, ledger, people

log = logging.getLogger(__name__)

# The answer text (take-back) or the cancel reason, asked as a reply.
PROMISE_FORM = form_engine.define(form_engine.FormSpec("promise", steps=("text",)))
Event = lifecycle.Event
# Command name -> the ticket event it sends.
MOVE_COMMANDS = {
    "byphone": Event.RESOLVE_BY_PHONE,
    "atstation": Event.BRING_IN,
    "returned": Event.RETURN_MACHINE,
    "close": Event.CLOSE,
    "cancelticket": Event.CANCEL,
}
REFUSALS = (dispatching.DispatchError, lifecycle.IllegalTransition)


def register(app: Application) -> None:
    """Attach the promise handlers."""
    add_command(app, "answer", answer_command)
    for name in MOVE_COMMANDS:
        add_command(app, name, move_command)
    app.add_handler(CallbackQueryHandler(ticket_button, pattern=r"^tk:"))
    app.add_handler(CallbackQueryHandler(unreported_button, pattern=r"^unrep:"))
    forms.add_text_consumer(form_text)


# --- the take-back notice -------------------------------------------------------------------


async def send_takeback_notice(context: FieldContext, ticket_id: int, technician: str) -> None:
    """The take-back notice in the dispatch group, with the Record-answer button (outbox)."""
    services = context.services
    async with services.db.read() as conn:
        timer = await deadlines.get(conn, SLA_TAKEBACK, ticket_id)
    notice = notices.Notice(
        notices.group(),
        parts=(
            (
                "promises.takeback.notice",
                {
                    "ticket": ticket_id,
                    "name": technician,
                    "hours": f"{services.config.sla.takeback_hours:g}",
                    "due": cards.when(timer.due_at if timer else None, services.config.tz),
                },
            ),
        ),
        buttons=(
            (
                notices.Button(
                    notices.tr(f"promises.button.{ANSWER}", id=ticket_id),
                    f"tk:{ANSWER}:{ticket_id}",
                ),
            ),
        ),
    )
    await notices.post_soon(services.db, notice)


# --- answers to the customer (SLA-TAKEBACK) ----------------------------------------------------


async def answer_command(update: Update, context: FieldContext) -> None:
    """Record the answer given to a customer about a taken-back machine: /answer ID TEXT."""
    args = context.args or []
    ticket_id = ticket_id_arg(args[0] if args else None)
    if ticket_id is None:
        await update.effective_message.reply_text(t(context.lang, "promises.answer.usage"))
        return
    if len(args) < 2:
        await _ask(update, context, ticket_id, ANSWER)
        return
    await _record_answer(update, context, ticket_id, " ".join(args[1:]))


async def _record_answer(update: Update, context: FieldContext, ticket_id: int, text: str) -> bool:
    """True when the answer was recorded (a refusal was explained otherwise)."""
    here = await _group_is_here(update, context)
    who = _who(context)

    def tell(view: dispatching.TicketView) -> list[notices.Notice]:
        if here:
            return []
        answer = " ".join(text.split())
        return [
            notices.text(
                notices.group(),
                "promises.answer.group",
                id=ticket_id,
                name=view.customer_name,
                who=who,
                answer=answer,
            )
        ]

    try:
        result = await promises.record_answer(
            context.services,
            ticket_id,
            text,
            actor_person_id(context),
            actor_role(context),
            tell=tell,
        )
    except REFUSALS as exc:
        await _refuse(update, context, exc)
        return False
    key = "promises.answer.done" if result.met else "promises.answer.again"
    await _reply(update, context, t(context.lang, key, id=ticket_id))
    # The customer of the item taken back from this ticket hears the answer in their chat.
    item = await repair_service.item_of_ticket(context.services, ticket_id)
    if item is not None:
        await repairs.tell_customer(
            context.services,
            context.bot,
            item,
            "rmadesk.customer.answer",
            answer=" ".join(text.split()),
        )
    return True


# --- moving a ticket on (MODE-ONSITE, take-back, close, cancel) --------------------------------


async def move_command(update: Update, context: FieldContext) -> None:
    """/byphone, /atstation, /returned, /close, /cancelticket: ID and an optional note."""
    message = update.effective_message
    name = message.text.split(maxsplit=1)[0][1:].partition("@")[0].lower()
    event = MOVE_COMMANDS[name]
    args = context.args or []
    ticket_id = ticket_id_arg(args[0] if args else None)
    if ticket_id is None:
        await message.reply_text(t(context.lang, f"promises.usage.{event}"))
        return
    await _move(update, context, ticket_id, event, " ".join(args[1:]))


async def _move(
    update: Update, context: FieldContext, ticket_id: int, event: str, note: str
) -> bool:
    here = await _group_is_here(update, context)
    who = _who(context)
    language = context.services.config.language
    clean = " ".join(note.split())

    def tell(view: dispatching.TicketView) -> list[notices.Notice]:
        if here:
            return []
        return [
            notices.text(
                notices.group(),
                "promises.move.group",
                id=ticket_id,
                name=view.customer_name,
                who=who,
                event=notices.tr(f"lifecycle.event.{event}"),
                state=cards.state_label(view.state, language),
                note=notices.tr("promises.move.note", note=clean) if clean else "",
            )
        ]

    try:
        view = await promises.move(
            context.services,
            ticket_id,
            event,
            actor_person_id(context),
            actor_role(context),
            note,
            tell=tell,
        )
    except REFUSALS as exc:
        await _refuse(update, context, exc)
        return False
    label = t(context.lang, f"lifecycle.event.{event}")
    state = cards.state_label(view.state, context.lang)
    await _reply(
        update,
        context,
        t(context.lang, "promises.move.done", id=ticket_id, event=label, state=state),
    )
    return True


async def ticket_button(update: Update, context: FieldContext) -> None:
    """tk:<action>:<ticket> from a ticket card or a take-back notice."""
    query = update.callback_query
    parts = (query.data or "").split(":")
    ticket_id = ticket_id_arg(parts[2]) if len(parts) == 3 else None
    action = parts[1] if len(parts) == 3 else ""
    if ticket_id is None or action not in (ANSWER, *map(str, promises.CHAT_EVENTS)):
        await query.answer(t(context.lang, "form.expired"), show_alert=True)
        return
    if action == ANSWER or action in promises.NEEDS_REASON:
        await _ask(update, context, ticket_id, action)
        return
    if await _move(update, context, ticket_id, action, ""):
        await query.answer()


async def _ask(update: Update, context: FieldContext, ticket_id: int, action: str) -> None:
    """Ask for the answer text or the cancel reason as a reply."""
    if update.callback_query is not None:
        await update.callback_query.answer()
    chat_id = update.effective_chat.id
    await forms.start(
        update, context, PROMISE_FORM.kind, {"ticket": ticket_id, "action": action, "chat": chat_id}
    )
    key = "promises.answer.ask" if action == ANSWER else "promises.cancel.ask"
    await context.bot.send_message(
        chat_id, t(context.lang, key, id=ticket_id), reply_markup=ForceReply(selective=True)
    )


async def form_text(update: Update, context: FieldContext) -> bool:
    """The typed answer or cancel reason; True if this message was one."""
    session = await forms.session(update, context)
    opened = session.current(PROMISE_FORM.kind)
    message = update.effective_message
    if opened is None or message is None or not message.text or update.effective_chat is None:
        return False
    form = opened.data
    if update.effective_chat.id != form["chat"]:
        return False
    session.close()  # closed in the transaction that records the answer or the move
    if form["action"] == ANSWER:
        done = await _record_answer(update, context, form["ticket"], message.text)
    else:
        done = await _move(update, context, form["ticket"], form["action"], message.text)
    if not done:
        session.restore(opened)  # refused: the question stays open
    return True


# --- ALW-FORFEIT-UNREPORTED --------------------------------------------------------------------


async def notify_unreported(app: Application, alert: DueAlert, conn: aiosqlite.Connection) -> None:
    """Ask every manager (and admin) to confirm or dismiss the forfeit for a visit left open;
    queued in the transaction that claimed the timer."""
    services: Services = app.bot_data["services"]
    visit = await promises.open_visit(services, alert.ref_id)
    if visit is None:
        return
    managers = await people.with_role(conn, Role.MANAGER)
    recipients = [notices.person(p.id) for p in managers if p.telegram_id is not None]
    known = {p.telegram_id for p in managers}
    recipients += [notices.chat(admin) for admin in services.config.admins if admin not in known]
    amount = payroll.format_yuan(services.config.rules.deductions.unreported_unfinished_fen)
    ticket = (
        notices.tr("promises.unreported.ticket", id=visit.ticket_id)
        if visit.ticket_id
        else notices.tr("promises.unreported.no_ticket")
    )
    values = {
        "technician": visit.technician,
        "ticket": ticket,
        "customer": visit.customer,
        "since": cards.when(visit.check_in_at, services.config.tz),
        "hours": f"{services.config.sla.unreported_hours:g}",
        "amount": amount,
    }
    buttons = (
        (
            notices.Button(
                notices.tr("promises.unreported.confirm", visit=visit.visit_id),
                f"unrep:ok:{visit.visit_id}",
            ),
            notices.Button(
                notices.tr("promises.unreported.dismiss", visit=visit.visit_id),
                f"unrep:no:{visit.visit_id}",
            ),
        ),
    )
    await notices.post(
        conn,
        *(
            notices.Notice(who, parts=(("promises.unreported.ask", values),), buttons=buttons)
            for who in recipients
        ),
    )


async def unreported_button(update: Update, context: FieldContext) -> None:
    """unrep:ok:<visit> records ALW-FORFEIT-UNREPORTED once; unrep:no:<visit> records nothing."""
    query = update.callback_query
    parts = (query.data or "").split(":")
    visit_id = parse_id(parts[2]) if len(parts) == 3 else None
    if visit_id is None or parts[1] not in ("ok", "no"):
        await query.answer(t(context.lang, "form.expired"), show_alert=True)
        return
    confirm = parts[1] == "ok"
    try:
        decided = await promises.decide_unreported(
            context.services, visit_id, confirm, actor_person_id(context)
        )
    except REFUSALS as exc:
        await _refuse(update, context, exc)
        return
    except recorded_events.EventError as exc:
        await query.answer(t(context.lang, exc.problem.value, **exc.values), show_alert=True)
        return
    await query.answer()
    if confirm:
        text = t(
            context.lang,
            "promises.unreported.confirmed",
            technician=decided.visit.technician,
            event=decided.event_id,
        )
    else:
        text = t(context.lang, "promises.unreported.dismissed", visit=visit_id)
    await query.edit_message_text((query.message.text or "") + "\n\n" + text)
    if confirm and decided.event_id is not None and decided.technician_telegram_id is not None:
        async with context.services.db.read() as conn:
            event = await ledger.event_by_id(conn, decided.event_id)
        assert event is not None
        value = payroll.format_yuan(recorded_events.event_amount(event, context.services))
        # Everyone recorded against is told, with the contest button (REC-WHO).
        await manager.notify_technician(context, decided.technician_telegram_id, event, value)


# --- small helpers ---------------------------------------------------------------------------


def _who(context: FieldContext) -> str:
    actor = context.actor
    if actor is not None and actor.person is not None:
        return actor.person.name
    return t(context.services.config.language, "role.admin")


async def _reply(update: Update, context: FieldContext, text: str) -> None:
    await context.bot.send_message(update.effective_chat.id, text)


async def _group_is_here(update: Update, context: FieldContext) -> bool:
    """The step is taken in the dispatch group itself (which then needs no notice of it)."""
    async with context.services.db.lookup() as conn:
        group = await people.bound_chat(conn, "dispatch")
    return group is not None and update.effective_chat.id == group


async def _refuse(update: Update, context: FieldContext, exc: Exception) -> None:
    """Explain a refusal; a ticket state in the values is shown by its label."""
    if isinstance(exc, dispatching.DispatchError) and "state" in exc.values:
        state = cards.state_label(str(exc.values["state"]), context.lang)
        exc = dispatching.DispatchError(exc.key, **{**exc.values, "state": state})
    await answer_refusal(update, context, exc)
