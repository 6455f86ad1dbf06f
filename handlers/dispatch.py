"""The dispatch group: tickets, the queue, assignment (wired by register)."""

from __future__ import annotations

import logging

from telegram import ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, MessageHandler

from bot.domain import cards, lifecycle
from bot.domain.dispatch_models import DISPATCH_ACCEPT, SLA_ARRIVE
from bot.domain.parsing import parse_int, require_id
from bot.i18n import t
from bot.services import dispatching, notices, timers
from bot.services import forms as form_engine
from handlers import dispatch_alerts, forms, group_card, intake_form, paging
from handlers.common import add_command
from handlers.context import FieldContext
from handlers.dispatch_common import actor_person_id, actor_role, answer_refusal, ticket_id_arg
from handlers.outbox_telegram import Delivery, Gone, Sent, add_renderer
from handlers.visits import visit_keyboard
from storage import customers, deadlines, tickets

log = logging.getLogger(__name__)

DECLINE_FORM = form_engine.define(form_engine.FormSpec("decline", steps=("reason",)))
SEARCHES_KEY = "customer_searches"  # chat_data: recent /customers texts by short key
MAX_SEARCHES = 20
MAX_INLINE_SEARCH = 40  # hex characters of a search carried in page buttons (20 bytes)
QUEUE_BUTTONS = 5  # assign buttons per row under a queue page
CUSTOMERS_PAGE = 5  # customers per page (each with its machines)
SUGGESTION_BUTTONS = 8
REFUSALS = (dispatching.DispatchError, lifecycle.IllegalTransition)


def register(app: Application) -> None:
    """Attach the dispatch handlers."""
    add_command(app, "new", intake_form.new_ticket)
    add_command(app, "queue", queue)
    add_command(app, "customers", customers_search)
    add_command(app, "pin", pin)
    add_command(app, "assign", assign_command)
    add_command(app, "jobs", jobs)
    add_command(app, "duty", duty)
    add_command(app, "leave", leave)
    paging.add_lister(app, "queue", queue_listing)
    paging.add_lister(app, "customers", customers_listing)
    paging.add_lister(app, "jobs", jobs_listing)
    app.add_handler(CallbackQueryHandler(intake_form.form_button, pattern=r"^new:"))
    app.add_handler(CallbackQueryHandler(assign_button, pattern=r"^assign:"))
    app.add_handler(CallbackQueryHandler(pin_button, pattern=r"^pin:"))
    app.add_handler(CallbackQueryHandler(answer_button, pattern=r"^dispatch:"))
    app.add_handler(MessageHandler(intake_form.PLACE_REPLY, intake_form.place_location))
    forms.add_text_consumer(intake_form.form_text)
    forms.add_text_consumer(decline_reason_text)
    timers.register(app, dispatch_alerts.notify)
    group_card.register(app)
    add_renderer(app, notices.DISPATCH_OFFER, render_offer)
    add_renderer(app, notices.CLOSE_OFFER, render_close_offer)


# --- the queue -------------------------------------------------------------------------------


async def queue(update: Update, context: FieldContext) -> None:
    """The ranked queue with each score's breakdown and the time left on each promise, paged."""
    await paging.show(update, context, "queue")


async def queue_listing(context: FieldContext, arg: str) -> paging.Listing | None:
    """The ranked queue as pages: the database ranks and returns only the page shown."""
    services = context.services
    now, lang = services.now(), context.lang
    count, first_page = await dispatching.queue_page(services, 0, paging.PAGE_SIZE)

    async def fetch(offset: int, limit: int) -> list:
        if offset == 0 and limit == paging.PAGE_SIZE:
            return first_page
        return (await dispatching.queue_page(services, offset, limit))[1]

    async def prepare(shown: list) -> list[dispatching.QueueRow]:
        return await dispatching.queue_rows(services, shown)

    def line(row: dispatching.QueueRow) -> str:
        promises = {kind: d.due_at for kind, d in row.promises.items()}
        return cards.render_queue_row(
            row.ranked.position, row.ticket, row.ranked.breakdown, promises, now, lang
        )

    def buttons(row: dispatching.QueueRow) -> list[InlineKeyboardButton]:
        return [
            InlineKeyboardButton(
                t(lang, "dispatch.button.assign_id", id=row.ticket.id),
                callback_data=f"assign:s:{row.ticket.id}",
            )
        ]

    return paging.Listing(
        header=t(lang, "dispatch.queue.header", count=count),
        items=(),
        line=line,
        buttons=buttons,
        empty=t(lang, "dispatch.queue.empty"),
        buttons_per_row=QUEUE_BUTTONS,
        prepare=prepare,
        total=count,
        fetch=fetch,
    )


async def customers_search(update: Update, context: FieldContext) -> None:
    """Find customers by name or phone: /customers NAME|PHONE, paged."""
    text = " ".join(context.args or []).strip()
    if not text:
        await update.effective_message.reply_text(t(context.lang, "dispatch.customers.usage"))
        return
    await paging.show(update, context, "customers", _remember_search(context, text))


def _remember_search(context: FieldContext, text: str) -> str:
    """The search text as a page-button argument: in the data itself (hex) when it fits,
    otherwise a short key into this chat's recent searches (gone after a restart)."""
    encoded = text.encode("utf-8").hex()
    if len(encoded) <= MAX_INLINE_SEARCH:
        return "x" + encoded
    searches = context.chat_data.setdefault(SEARCHES_KEY, {})
    key = next((k for k, v in searches.items() if v == text), None)
    if key is None:
        number = context.chat_data.get(SEARCHES_KEY + "_n", 0) + 1
        context.chat_data[SEARCHES_KEY + "_n"] = number
        key = f"s{number}"
        searches[key] = text
        while len(searches) > MAX_SEARCHES:
            searches.pop(next(iter(searches)))
    return key


def _recall_search(context: FieldContext, arg: str) -> str | None:
    if arg.startswith("x"):
        try:
            return bytes.fromhex(arg[1:]).decode("utf-8")
        except ValueError:
            return None
    return (context.chat_data or {}).get(SEARCHES_KEY, {}).get(arg)


async def customers_listing(context: FieldContext, key: str) -> paging.Listing | None:
    """The customers found for a remembered search, each with its machines."""
    text = _recall_search(context, key)
    if not text:
        return None
    lang = context.lang
    async with context.services.db.read() as conn:
        found = await customers.search(conn, text)
        machines = await customers.machines_of_many(conn, [c.id for c in found])
    private = context.chat_kind == "private"

    def line(c: customers.Customer) -> str:
        where = (
            t(lang, "dispatch.customers.located")
            if c.site
            else t(lang, "dispatch.customers.no_location")
        )
        lines = [
            t(
                lang,
                "dispatch.customers.row",
                id=c.id,
                name=c.name,
                cls=cards.class_name(c.customer_class, c.kind, lang),
                # in full only in a private chat with office staff; masked in the group
                phone=(c.phone or "—") if private else cards.mask_phone(c.phone),
                address=c.address or "—",
                where=where,
            )
        ]
        for m in machines.get(c.id, []):
            lines.append(
                t(
                    lang,
                    "dispatch.customers.machine",
                    brand=m.brand or "—",
                    serial=m.serial or "—",
                    warranty=m.warranty_end.isoformat() if m.warranty_end else "—",
                )
            )
        return "\n".join(lines)

    return paging.Listing(
        header="",
        items=found,
        line=line,
        empty=t(lang, "dispatch.customers.none", text=text),
        page_size=CUSTOMERS_PAGE,
    )


async def pin(update: Update, context: FieldContext) -> None:
    """Pin a ticket to the top of the queue (again to unpin): /pin ID."""
    ticket_id = require_id(context.args[0] if context.args else None)  # else: the usage
    await _toggle_pin(update, context, ticket_id)


async def pin_button(update: Update, context: FieldContext) -> None:
    """The pin button on a ticket card."""
    ticket_id = ticket_id_arg(update.callback_query.data.partition(":")[2])
    if ticket_id is None:
        await update.callback_query.answer(t(context.lang, "form.expired"), show_alert=True)
        return
    await _toggle_pin(update, context, ticket_id)


async def _toggle_pin(update: Update, context: FieldContext, ticket_id: int) -> None:
    try:
        pinned = await dispatching.pin(context.services, ticket_id)
    except REFUSALS as exc:
        await answer_refusal(update, context, exc)
        return
    key = "dispatch.pin.pinned" if pinned else "dispatch.pin.unpinned"
    text = t(context.lang, key, id=ticket_id)
    if update.callback_query is not None:
        await update.callback_query.answer(text)
    else:
        await update.effective_message.reply_text(text)


# --- assignment ------------------------------------------------------------------------------


async def assign_command(update: Update, context: FieldContext) -> None:
    """Ranked technicians for a ticket, as buttons: /assign ID."""
    ticket_id = require_id(context.args[0] if context.args else None)  # else: the usage
    await _show_suggestions(update, context, ticket_id)


async def _show_suggestions(update: Update, context: FieldContext, ticket_id: int) -> None:
    try:
        view, ranked = await dispatching.suggestions(context.services, ticket_id)
        if view.state not in tickets.QUEUE_STATES:
            raise dispatching.DispatchError(
                "dispatch.assign.not_queued",
                id=ticket_id,
                state=cards.state_label(view.state, context.lang),
            )
    except REFUSALS as exc:
        await answer_refusal(update, context, exc)
        return
    if not ranked:
        await context.bot.send_message(
            update.effective_chat.id, t(context.lang, "dispatch.assign.nobody")
        )
        return
    buttons = []
    for s in ranked[:SUGGESTION_BUTTONS]:
        distance = f"{s.distance_km:.1f} km" if s.distance_km is not None else "—"
        label = t(
            context.lang,
            "dispatch.assign.option",
            name=s.technician.name,
            distance=distance,
            load=s.technician.open_tickets,
        )
        if not s.available:
            label += t(context.lang, "dispatch.assign.unavailable")
        buttons.append(
            [
                InlineKeyboardButton(
                    label, callback_data=f"assign:p:{ticket_id}:{s.technician.person_id}"
                )
            ]
        )
    await context.bot.send_message(
        update.effective_chat.id,
        t(context.lang, "dispatch.assign.choose", id=ticket_id, name=view.customer_name),
        reply_markup=InlineKeyboardMarkup(buttons),
    )


async def assign_button(update: Update, context: FieldContext) -> None:
    """assign:s:<ticket> shows suggestions; assign:p:<ticket>:<person> assigns."""
    query = update.callback_query
    parts = (query.data or "").split(":")
    ids = [ticket_id_arg(p) for p in parts[2:]]
    if len(parts) == 3 and parts[1] == "s" and ids[0] is not None:
        await query.answer()
        await _show_suggestions(update, context, ids[0])
        return
    if len(parts) != 4 or parts[1] != "p" or None in ids:
        await query.answer(t(context.lang, "form.expired"), show_alert=True)
        return
    ticket_id, person_id = ids
    try:
        view = await dispatching.assign(
            context.services, ticket_id, person_id, actor_person_id(context), actor_role(context)
        )
    except REFUSALS as exc:
        await answer_refusal(update, context, exc)
        return
    await query.answer()
    await timers.schedule_ref(context.application, DISPATCH_ACCEPT, ticket_id)
    await query.edit_message_text(
        t(context.lang, "dispatch.assign.done", id=ticket_id, name=view.technician_name)
    )
    # The offer to the technician and the group card were queued with the assignment.


async def render_offer(app: Application, delivery: Delivery) -> Sent:
    """The outbox's dispatch_offer: the technician's private card (map pin, then the card with
    Accept / Decline); where it went is recorded so the answer can edit it."""
    services = app.bot_data["services"]
    ticket_id = int(delivery.row.body["ref"]["ticket"])
    language = delivery.language
    facts = await dispatching.card_facts(services, ticket_id)
    if facts is None:
        raise Gone(f"ticket {ticket_id} not found")
    view = facts.ticket
    async with services.db.read() as conn:
        accept = await deadlines.get(conn, DISPATCH_ACCEPT, view.id)
    text = cards.render_dispatch_card(facts, facts.respond_due, services.config.tz, language)
    if accept is not None:
        text += "\n" + t(
            language, "dispatch.tech.answer_by", due=cards.when(accept.due_at, services.config.tz)
        )
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t(language, "dispatch.button.accept"),
                    callback_data=f"dispatch:accept:{view.id}",
                ),
                InlineKeyboardButton(
                    t(language, "dispatch.button.decline"),
                    callback_data=f"dispatch:decline:{view.id}",
                ),
            ]
        ]
    )
    chat = delivery.chat_id
    if view.site is not None and "pin" not in delivery.done:
        await app.bot.send_location(chat, latitude=view.site[0], longitude=view.site[1])
        delivery.done.add("pin")  # a retry of the card after a 429 does not repeat the pin
    message = await app.bot.send_message(chat, text, reply_markup=keyboard)

    async def remember(conn: object) -> None:
        await tickets.set_assign_message(conn, view.id, chat, message.message_id)

    return message, remember


async def render_close_offer(app: Application, delivery: Delivery) -> Sent:
    """The outbox's close_offer: the card's buttons come off and a reply says why."""
    message_id = int(delivery.row.body["ref"]["message"])
    chat = delivery.chat_id
    try:
        await app.bot.edit_message_reply_markup(chat_id=chat, message_id=message_id)
    except BadRequest as exc:  # already without buttons, or gone: the reply still explains
        log.info("dispatch card %s in %s not closed: %s", message_id, chat, exc)
    message = await app.bot.send_message(
        chat,
        notices.render_text(delivery.row.body, delivery.language),
        reply_to_message_id=message_id,
        allow_sending_without_reply=True,
    )
    return message, None


# --- the technician's answer -----------------------------------------------------------------


def arrived_keyboard(ticket_id: int, language: str) -> InlineKeyboardMarkup:
    """The buttons of an accepted dispatch, answered by the visit feature: arrived, or late."""
    return visit_keyboard(ticket_id, language)


async def answer_button(update: Update, context: FieldContext) -> None:
    """dispatch:accept:<id> or dispatch:decline:<id> from the assigned technician."""
    query = update.callback_query
    _, _, rest = (query.data or "").partition(":")
    action, _, raw_id = rest.partition(":")
    ticket_id = ticket_id_arg(raw_id)
    person_id = actor_person_id(context)
    if ticket_id is None or action not in ("accept", "decline") or person_id is None:
        await query.answer(t(context.lang, "form.expired"), show_alert=True)
        return
    if action == "decline":
        await _ask_decline_reason(update, context, ticket_id, person_id)
        return
    try:
        await dispatching.accept(context.services, ticket_id, person_id)
    except REFUSALS as exc:
        await answer_refusal(update, context, exc)
        return
    await query.answer(t(context.lang, "dispatch.accept.done", id=ticket_id))
    await timers.schedule_ref(context.application, SLA_ARRIVE, ticket_id)
    text = (query.message.text or "") + "\n" + t(context.lang, "dispatch.accept.stamp")
    await query.edit_message_text(text, reply_markup=arrived_keyboard(ticket_id, context.lang))


async def _ask_decline_reason(
    update: Update, context: FieldContext, ticket_id: int, person_id: int
) -> None:
    query = update.callback_query
    async with context.services.db.read() as conn:
        view = await tickets.ticket_for_visit(conn, ticket_id)
    if view is None or view.assigned_to != person_id:
        await answer_refusal(
            update, context, dispatching.DispatchError("dispatch.answer.not_yours", id=ticket_id)
        )
        return
    if view.state != lifecycle.State.ASSIGNED:
        await answer_refusal(
            update,
            context,
            lifecycle.IllegalTransition(view.state, lifecycle.Event.DECLINE),
        )
        return
    await query.answer()
    await forms.start(update, context, DECLINE_FORM.kind, {"ticket": ticket_id})
    await context.bot.send_message(
        update.effective_chat.id,
        t(context.lang, "dispatch.decline.ask_reason", id=ticket_id),
        reply_markup=ForceReply(selective=True),
    )


async def decline_reason_text(update: Update, context: FieldContext) -> bool:
    """The typed reason for declining; True if this message was one."""
    session = await forms.session(update, context)
    form = session.current(DECLINE_FORM.kind)
    ticket_id = form.data["ticket"] if form is not None else None
    message = update.effective_message
    person_id = actor_person_id(context)
    if ticket_id is None or message is None or not message.text or person_id is None:
        return False
    reason = message.text.strip()
    session.close()  # closed in the transaction that records the decline
    try:
        await dispatching.decline(context.services, ticket_id, person_id, reason)
    except REFUSALS as exc:
        if isinstance(exc, dispatching.DispatchError) and exc.key.endswith("reason_empty"):
            session.restore(form)  # asked again: the form stays
        await answer_refusal(update, context, exc)
        return True
    await message.reply_text(t(context.lang, "dispatch.decline.done", id=ticket_id))
    return True


# --- the technician's own commands ------------------------------------------------------------


async def jobs(update: Update, context: FieldContext) -> None:
    """The technician's open work, with Accept/Decline or Arrived buttons, paged."""
    await paging.show(update, context, "jobs")


async def jobs_listing(context: FieldContext, arg: str) -> paging.Listing | None:
    """The caller's open work as pages, each job with the buttons its state allows."""
    person_id = actor_person_id(context)
    lang = context.lang
    work: list[dispatching.TicketView] = []
    if person_id is not None:
        async with context.services.db.read() as conn:
            work = await tickets.open_work_of(conn, person_id)
    tz = context.services.config.tz

    def line(view: dispatching.TicketView) -> str:
        return t(
            lang,
            "dispatch.jobs.row",
            id=view.id,
            name=view.customer_name,
            address=view.address or "—",
            fault=view.fault,
            window=cards.window_text(view.appointment_start, view.appointment_end, tz, lang),
            state=cards.state_label(view.state, lang),
        )

    def buttons(view: dispatching.TicketView) -> list[InlineKeyboardButton]:
        if view.state == lifecycle.State.ASSIGNED:
            return [
                InlineKeyboardButton(
                    t(lang, "dispatch.button.accept_id", id=view.id),
                    callback_data=f"dispatch:accept:{view.id}",
                ),
                InlineKeyboardButton(
                    t(lang, "dispatch.button.decline_id", id=view.id),
                    callback_data=f"dispatch:decline:{view.id}",
                ),
            ]
        if view.state == lifecycle.State.ACCEPTED:
            return [
                InlineKeyboardButton(
                    t(lang, "dispatch.button.arrived_id", id=view.id),
                    callback_data=f"visit:arrive:{view.id}",
                ),
                InlineKeyboardButton(
                    t(lang, "visit.late_button"), callback_data=f"visit:late:{view.id}"
                ),
            ]
        return []

    return paging.Listing(
        header=t(lang, "dispatch.jobs.header", count=len(work)),
        items=work,
        line=line,
        buttons=buttons,
        empty=t(lang, "dispatch.jobs.none"),
    )


async def duty(update: Update, context: FieldContext) -> None:
    """Mark yourself on or off duty: /duty on|off."""
    choice = (context.args[0].lower() if context.args else "").strip()
    values = {"on": True, "off": False, "上班": True, "下班": False}
    person_id = actor_person_id(context)
    if choice not in values or person_id is None:
        await update.effective_message.reply_text(t(context.lang, "dispatch.duty.usage"))
        return
    await dispatching.set_duty(context.services, person_id, values[choice])
    key = "dispatch.duty.on" if values[choice] else "dispatch.duty.off"
    await update.effective_message.reply_text(t(context.lang, key))


async def leave(update: Update, context: FieldContext) -> None:
    """Record a technician's leave: /leave NAME DAYS (0 ends it)."""
    args = context.args or []
    days = parse_int(args[1]) if len(args) == 2 else None
    if days is None:
        await update.effective_message.reply_text(t(context.lang, "dispatch.leave.usage"))
        return
    try:
        until = await dispatching.set_leave(context.services, args[0], days)
    except REFUSALS as exc:
        await answer_refusal(update, context, exc)
        return
    if until is None:
        text = t(context.lang, "dispatch.leave.ended", name=args[0])
    else:
        text = t(context.lang, "dispatch.leave.set", name=args[0], until=until.isoformat())
    await update.effective_message.reply_text(text)
