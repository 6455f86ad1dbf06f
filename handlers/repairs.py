"""The repair desk in chat: register an item (/rma) and send its voucher, the returns board
(/repairs), one item with its history and the buttons of its legal next steps (/repair ID), the
answers its promises ask for, and the customer's view through the voucher's QR link."""

from __future__ import annotations

import asyncio
import io
import logging
from datetime import date
from typing import Any

import segno
from telegram import ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler

from bot.domain import cards, limits, repairs
from bot.domain.dispatch_models import from_iso
from bot.domain.parsing import parse_id
from bot.domain.repair_models import PACKAGING, Item, NewItem
from bot.i18n import t
from bot.services import Services, notices, repair_service, voucher
from bot.services import forms as form_engine
from bot.services.forms import FormInvalid
from handlers import (
    customer_complaints,
    forms,
    paging,
    repair_alerts,
    repair_fee,
    repair_policy,
    visit_slip,
)
from handlers.common import add_command
from handlers.context import FieldContext
from handlers.dispatch_common import actor_person_id, actor_role
from storage import customers, people
from storage import repairs as repair_store

log = logging.getLogger(__name__)

SKIP = "-"
MAX_PHOTOS = 5
BOARD_PAGE = 5  # each item brings its step buttons
HISTORY_LINES = 15
NOTE_CHARS = 80  # of a note in the history


def _text(text: str) -> str:
    text = " ".join(text.split())
    if not text:
        raise FormInvalid("rmadesk.form.empty")
    if len(text) > repair_service.MAX_TEXT:
        raise FormInvalid("repairs.error.too_long", limit=repair_service.MAX_TEXT)
    return text


def _optional(text: str) -> str:
    text = _text(text)
    return "" if text == SKIP else text


def _day(text: str) -> str:
    text = _text(text)
    if text == SKIP:
        return ""
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise FormInvalid("rmadesk.form.bad_date") from None


def _accessories(text: str) -> list[str]:
    text = _optional(text)
    return [
        part.strip()
        for part in text.replace("，", ",").replace("、", ",").split(",")
        if part.strip()
    ]


REGISTER = form_engine.define(
    form_engine.FormSpec(
        "rma_new",
        steps=(
            "customer",
            "product",
            "specification",
            "serial",
            "purchase",
            "fault",
            "accessories",
            "packaging",
            "photos",
        ),
        validators={
            "customer": _text,
            "product": _text,
            "specification": _optional,
            "serial": _optional,
            "purchase": _day,
            "fault": _text,
            "accessories": _accessories,
        },
    )
)
# One step of a move that needs more (shipment, accessories, outcome, sign-off, photo, reason).
MOVE = form_engine.define(
    form_engine.FormSpec(
        "rma_move",
        steps=("shipment", "accessories", "outcome", "signoff", "signature", "reason"),
        validators={"shipment": _text, "accessories": _accessories, "reason": _text},
    )
)
# RMA-10DAY / RMA-AGENT: the reason, the new date, and whether the customer was told.
EXPLAIN = form_engine.define(
    form_engine.FormSpec(
        "rma_why",
        steps=("reason", "date", "told"),
        validators={"reason": _text, "date": _day},
    )
)
# A typed text for an item: the SLA-TAKEBACK answer, or why no spare is lent (SLA-SPARE).
TEXT = form_engine.define(form_engine.FormSpec("rma_text", steps=("text",)))
OWN_FORMS = (REGISTER.kind, MOVE.kind, EXPLAIN.kind, TEXT.kind)
REFUSALS = (repair_service.RepairError, repairs.IllegalTransition)


def register(app: Application) -> None:
    """Attach the repair desk's commands, buttons, form steps and the voucher link."""
    add_command(app, "repairs", board_command)
    add_command(app, "repair", item_command)
    add_command(app, "rma", register_command)
    paging.add_lister(app, "repairs", board_listing)
    app.add_handler(CallbackQueryHandler(item_button, pattern=r"^ri:"))
    app.add_handler(CallbackQueryHandler(register_button, pattern=r"^rf:"))
    # Photos reach on_photo through the desk's one photo handler (handlers/desk.py): a spare's
    # receipt first, then a repair form's photo, then the visit slip's.
    forms.add_text_consumer(form_text)
    app.bot_data.setdefault("start_payload_hooks", {})[voucher.START_PREFIX] = customer_start
    if app.job_queue is not None:
        app.job_queue.run_once(_finish_unrecorded, when=0, name="repairs:finish")


async def _finish_unrecorded(context: Any) -> None:
    """At start-up: RMA-10DAY / RMA-20DAY whose deadline fired before a crash get recorded."""
    services: Services = context.application.bot_data["services"]
    done = await repair_service.finish_unrecorded(services, repair_alerts.recorder(services))
    if done:
        log.info("recorded %s repair promise events a crash had left", done)


# --- helpers ------------------------------------------------------------------------------------


def state_label(language: str, state: str) -> str:
    return t(language, f"repairs.state.{state}")


def event_label(language: str, event: str) -> str:
    return t(language, f"repairs.event.{event}")


def refusal_text(language: str, exc: Exception) -> str:
    """The localized reason a repair step was refused."""
    if isinstance(exc, repair_service.RepairError):
        values = dict(exc.values)
        if "state" in values:
            values["state"] = state_label(language, str(values["state"]))
        return t(language, exc.key, **values)
    if isinstance(exc, repairs.RoleNotAllowed):
        return t(
            language,
            exc.i18n_key,
            state=state_label(language, exc.state),
            event=event_label(language, exc.event),
            role=t(language, f"role.{exc.role}"),
        )
    if isinstance(exc, repairs.GuardFailed):
        return t(language, exc.i18n_key)
    if isinstance(exc, repairs.IllegalTransition):
        return t(
            language,
            "repairs.illegal",
            state=state_label(language, exc.state),
            event=event_label(language, exc.event),
        )
    raise exc


async def _refuse(update: Update, context: FieldContext, exc: Exception) -> None:
    text = refusal_text(context.lang, exc)
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    else:
        await context.bot.send_message(update.effective_chat.id, text)


def _label(item: Item) -> str:
    return item.voucher_no or f"#{item.id}"


def _button(language: str, key: str, *parts: object, **values: object) -> InlineKeyboardButton:
    return InlineKeyboardButton(t(language, key, **values), callback_data=":".join(map(str, parts)))


async def _tell_group(services: Services, bot: Any, text: str) -> None:
    async with services.db.read() as conn:
        group = await people.bound_chat(conn, "dispatch")
    if group is None:
        return
    try:
        await bot.send_message(group, text)
    except TelegramError as exc:
        log.warning("repair desk message to the group not sent: %s", exc)


async def tell_customer(
    services: Services, bot: Any, item: Item, key: str, **values: object
) -> None:
    """A message to the customer's linked chat, through the outbox and in their language
    (nothing if not linked)."""
    if item.customer_telegram_id is None or item.customer_id is None:
        return
    if "state" in values:
        values["state"] = notices.tr(f"repairs.state.{values['state']}")
    values = {"label": _label(item), "product": item.product, **values}
    notice = notices.Notice(notices.customer(item.customer_id), parts=((key, values),))
    await notices.post_soon(services.db, notice)


# --- the returns board -----------------------------------------------------------------------


async def board_command(update: Update, context: FieldContext) -> None:
    """The returns board: open items with days in, next promise and who holds it (paged)."""
    await paging.show(update, context, "repairs")


def _promise_text(language: str, line: repair_service.BoardLine, services: Services) -> str:
    promise = line.next_promise
    if promise is None:
        return t(language, "rmadesk.board.no_promise")
    return t(
        language,
        "rmadesk.board.promise",
        rule=promise.rule,
        due=cards.when(promise.due_at, services.config.tz),
    )


async def board_listing(context: FieldContext, arg: str) -> paging.Listing | None:
    """The open items, a page at a time (only the page shown is read)."""
    if arg:
        return None
    services, lang = context.services, context.lang
    total = await repair_service.open_count(services)

    async def fetch(offset: int, limit: int) -> list[repair_service.BoardLine]:
        return await repair_service.board_page_at(services, offset, limit)

    def line(entry: repair_service.BoardLine) -> str:
        item = entry.item
        return t(
            lang,
            "rmadesk.board.line",
            id=item.id,
            label=_label(item),
            product=item.product,
            customer=item.customer_name,
            state=state_label(lang, item.state),
            days=entry.days_in,
            promise=_promise_text(lang, entry, services),
            holder=entry.holder or "—",
        )

    role = actor_role(context)

    def buttons(entry: repair_service.BoardLine) -> list[InlineKeyboardButton]:
        # The item's card, then a button for each step the caller's role may take now.
        item = entry.item
        found = [_button(lang, "rmadesk.board.open", "ri", "v", item.id, id=item.id)]
        for event in repairs.events_for(item.state, role):
            label = t(lang, "rmadesk.board.step", id=item.id, event=event_label(lang, event))
            data = f"ri:mv:{item.id}:{event}:{item.state}"
            found.append(InlineKeyboardButton(label, callback_data=data))
        return found

    return paging.Listing(
        header=t(lang, "rmadesk.board.header", count=total),
        items=(),
        line=line,
        buttons=buttons,
        empty=t(lang, "rmadesk.board.empty"),
        page_size=BOARD_PAGE,
        buttons_per_row=3,
        total=total,
        fetch=fetch,
    )


# --- one item ----------------------------------------------------------------------------------


async def item_command(update: Update, context: FieldContext) -> None:
    """One item with its history and the buttons of its legal next steps: /repair ID."""
    args = context.args or []
    item_id = parse_id(args[0]) if args else None
    if item_id is None:
        await update.effective_message.reply_text(t(context.lang, "rmadesk.item.usage"))
        return
    await _show_item(update, context, item_id)


async def item_card(context: FieldContext, item_id: int) -> tuple[str, InlineKeyboardMarkup | None]:
    """The item's text (state, dates, next promise, history) and its buttons for this caller."""
    services, lang = context.services, context.lang
    item, moves, explained = await repair_service.history(services, item_id)
    tz = services.config.tz
    now = services.now()
    promises = repair_service.item_promises(
        item.clock(), services.config, repair_service.calendar_of(services)
    )
    nxt = repair_service.next_promise(promises, now)
    lines = [
        t(
            lang,
            "rmadesk.item.head",
            id=item.id,
            label=_label(item),
            product=item.product,
            customer=item.customer_name,
            state=state_label(lang, item.state),
            days=repair_service.days_in(item.taken_in_at, now, services.config),
            expected=item.expected_back.isoformat() if item.expected_back else "—",
            holder=item.holder_name or "—",
            fault=item.fault,
        ),
        t(lang, "rmadesk.item.answer", answer=item.answer) if item.answer else "",
        t(lang, "rmadesk.board.promise", rule=nxt.rule, due=cards.when(nxt.due_at, tz))
        if nxt
        else "",
        t(lang, "rmadesk.item.history"),
    ]
    for row in moves[-HISTORY_LINES:]:
        who = row["by_person"]
        lines.append(
            t(
                lang,
                "rmadesk.item.move",
                at=cards.when(from_iso(row["at"]), tz),
                event=event_label(lang, row["event"]),
                state=state_label(lang, row["to_state"]),
                who=await _person_name(services, who),
                note=f" ({limits.truncate(row['note'], NOTE_CHARS)})" if row["note"] else "",
            )
        )
    for row in explained[-3:]:
        lines.append(t(lang, "rmadesk.item.explained", reason=row["reason"], date=row["new_date"]))
    fee_line, fee_button = await repair_fee.card_part(context, item)
    lines.insert(2, fee_line)
    text = limits.truncate("\n".join(line for line in lines if line))  # one message
    if repairs.is_final(item.state):
        return text, InlineKeyboardMarkup([[fee_button]]) if fee_button else None
    role = actor_role(context)
    buttons = [
        _button(lang, f"repairs.event.{event}", "ri", "mv", item.id, event, item.state)
        for event in repairs.events_for(item.state, role)
    ]
    if item.answered_at is None:
        buttons.append(_button(lang, "rmadesk.button.answer", "ri", "ans", item.id))
    if repair_policy.allows_policy(item):
        buttons.append(_button(lang, "rfpol.button", "ri", "pol", item.id))
    if fee_button is not None:
        buttons.append(fee_button)
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    return text, InlineKeyboardMarkup(rows) if rows else None


async def _person_name(services: Services, person_id: int | None) -> str:
    if person_id is None:
        return t(services.config.language, "rmadesk.item.bot")
    async with services.db.read() as conn:
        person = await people.by_id(conn, person_id)
    return person.name if person else "—"


async def _show_item(update: Update, context: FieldContext, item_id: int) -> None:
    try:
        text, keyboard = await item_card(context, item_id)
    except REFUSALS as exc:
        await _refuse(update, context, exc)
        return
    if update.callback_query is not None:
        await update.callback_query.answer()
    await context.bot.send_message(update.effective_chat.id, text, reply_markup=keyboard)


# --- buttons on an item ------------------------------------------------------------------------

# Events whose guard needs more than a press: the first question asked.
_FIRST_STEP = {
    repairs.Event.SEND_UP: "shipment",
    repairs.Event.COME_BACK: "outcome",
    repairs.Event.RETURN: "signoff",
    repairs.Event.LOSE: "reason",
}


async def item_button(update: Update, context: FieldContext) -> None:
    """ri:<action>:<item>[:...] — view, move, answer, explain, spare, upstream, form choices."""
    query = update.callback_query
    parts = (query.data or "").split(":")
    action = parts[1] if len(parts) > 2 else ""
    item_id = parse_id(parts[2]) if len(parts) > 2 else None
    handler = _ACTIONS.get(action)
    if item_id is None or handler is None:
        await query.answer(t(context.lang, "button.stale"), show_alert=True)
        return
    await handler(update, context, item_id, parts[3:])


async def _view(update: Update, context: FieldContext, item_id: int, rest: list[str]) -> None:
    await _show_item(update, context, item_id)


async def _current_item(context: FieldContext, item_id: int) -> Item | None:
    async with context.services.db.read() as conn:
        return await repair_store.get(conn, item_id)


async def _move_button(
    update: Update, context: FieldContext, item_id: int, rest: list[str]
) -> None:
    """A transition button: stale if the item moved on; asks for what the guard needs."""
    query = update.callback_query
    if len(rest) != 2 or rest[0] not in set(repairs.Event):
        await query.answer(t(context.lang, "button.stale"), show_alert=True)
        return
    event, seen_state = rest
    item = await _current_item(context, item_id)
    if item is None or item.state != seen_state:
        await query.answer(t(context.lang, "rmadesk.stale"), show_alert=True)
        return
    role = actor_role(context)
    rule = repairs.TRANSITIONS.get((item.state, event))
    if rule is None or role not in rule.roles:  # refused before any question is asked
        try:
            repairs.apply(item.state, event, role)
        except repairs.IllegalTransition as exc:
            await _refuse(update, context, exc)
        return
    first = _FIRST_STEP.get(event)
    if event in repairs.POLICY_EVENTS and role in repairs.MANAGERS:
        # The policy desk decides; when it says no, a manager may still do it with a note.
        try:
            await repair_service.move_item(
                context.services, item_id, event, role, actor_person_id(context), repairs.Step()
            )
        except repairs.GuardFailed as exc:
            if exc.code != "policy_closed":
                await _refuse(update, context, exc)
                return
            first = "reason"
            await context.bot.send_message(
                update.effective_chat.id, t(context.lang, "rmadesk.policy_closed_note")
            )
        except REFUSALS as exc:
            await _refuse(update, context, exc)
            return
        else:
            await query.answer()
            await _after_move(update, context, item_id, event)
            return
    if first is None:
        if await _do_move(update, context, item_id, event, repairs.Step()):
            await query.answer()
        return
    await query.answer()
    data = {"item": item_id, "event": event, "state": seen_state, "chat": update.effective_chat.id}
    session = await forms.session(update, context)
    form = session.open(MOVE.kind, data, step=first)
    await _ask_move_step(update, context, form)


async def _ask_move_step(update: Update, context: FieldContext, form: form_engine.Form) -> None:
    lang, chat = context.lang, update.effective_chat.id
    step, token, item_id = form.step, form.token, form.data["item"]
    if step == "outcome":
        keyboard = InlineKeyboardMarkup(
            [
                [
                    _button(lang, f"rmadesk.outcome.{outcome}", "ri", "oc", item_id, outcome, token)
                    for outcome in repairs.Outcome
                ]
            ]
        )
        await context.bot.send_message(
            chat, t(lang, "rmadesk.ask.outcome", id=item_id), reply_markup=keyboard
        )
        return
    if step == "signoff":
        choices = [repairs.SignOff.VOUCHER, repairs.SignOff.SIGNATURE, repairs.SignOff.UNSIGNED]
        keyboard = InlineKeyboardMarkup(
            [
                [_button(lang, f"rmadesk.signoff.{c}", "ri", "so", item_id, c, token)]
                for c in choices
            ]
        )
        await context.bot.send_message(
            chat, t(lang, "rmadesk.ask.signoff", id=item_id), reply_markup=keyboard
        )
        return
    if step == "signature":
        await context.bot.send_message(chat, t(lang, "rmadesk.ask.signature", id=item_id))
        return
    await context.bot.send_message(
        chat, t(lang, f"rmadesk.ask.{step}", id=item_id), reply_markup=ForceReply(selective=True)
    )


async def _form_choice(
    update: Update, context: FieldContext, item_id: int, rest: list[str]
) -> None:
    """ri:oc / ri:so: a choice inside the caller's own open move form (else stale, nothing written)."""
    query = update.callback_query
    action = (query.data or "").split(":")[1]
    session = await forms.session(update, context)
    form = session.current(MOVE.kind)
    step = "outcome" if action == "oc" else "signoff"
    if len(rest) != 2 or form is None or form.token != rest[1] or form.data["item"] != item_id:
        await query.answer(t(context.lang, "rmadesk.not_yours"), show_alert=True)
        return
    if form.step != step:
        await query.answer(t(context.lang, "rmadesk.stale"), show_alert=True)
        return
    choice = rest[0]
    if action == "oc":
        if choice not in set(repairs.Outcome):
            await query.answer(t(context.lang, "button.stale"), show_alert=True)
            return
        await query.answer()
        await _finish_move(update, context, session, form, repairs.Step(outcome=choice))
        return
    if choice not in set(repairs.SignOff):
        await query.answer(t(context.lang, "button.stale"), show_alert=True)
        return
    await query.answer()
    form.data["signoff"] = choice
    if choice == repairs.SignOff.SIGNATURE:
        form.goto("signature")
        await _ask_move_step(update, context, form)
        return
    if choice == repairs.SignOff.UNSIGNED:
        form.goto("reason")
        await _ask_move_step(update, context, form)
        return
    await _finish_move(update, context, session, form, repairs.Step(signoff=choice))


async def _finish_move(
    update: Update,
    context: FieldContext,
    session: form_engine.FormSession,
    form: form_engine.Form,
    step: repairs.Step,
) -> bool:
    """Close the form with the move (one unit); refused: the form stays open and says why."""
    session.close()
    done = await _do_move(update, context, form.data["item"], form.data["event"], step)
    if not done:
        session.restore(form)
    return done


async def _do_move(
    update: Update, context: FieldContext, item_id: int, event: str, step: repairs.Step
) -> bool:
    services = context.services
    try:
        item = await repair_service.move_item(
            services, item_id, event, actor_role(context), actor_person_id(context), step
        )
    except REFUSALS as exc:
        await _refuse(update, context, exc)
        return False
    await _announce(update, context, item, event)
    return True


async def _after_move(update: Update, context: FieldContext, item_id: int, event: str) -> None:
    item = await _current_item(context, item_id)
    if item is not None:
        await _announce(update, context, item, event)


async def _announce(update: Update, context: FieldContext, item: Item, event: str) -> None:
    """Say the step was taken: here, in the dispatch group, and to the customer when due."""
    services = context.services
    lang = context.lang
    text = t(
        lang,
        "rmadesk.moved",
        id=item.id,
        label=_label(item),
        event=event_label(lang, event),
        state=state_label(lang, item.state),
    )
    await context.bot.send_message(update.effective_chat.id, text)
    language = services.config.language
    if update.effective_chat.type == "private":
        await _tell_group(
            services,
            context.bot,
            t(
                language,
                "rmadesk.moved",
                id=item.id,
                label=_label(item),
                event=event_label(language, event),
                state=state_label(language, item.state),
            ),
        )
    if item.state == repairs.State.BACK:
        await tell_customer(services, context.bot, item, "rmadesk.customer.back")
    elif repairs.is_final(item.state):
        await tell_customer(services, context.bot, item, "rmadesk.customer.final", state=item.state)
    if event == repairs.Event.RETURN:
        await repair_fee.offer_after_return(update, context, item)


# --- answers asked by the item's buttons and its promises -------------------------------------


async def _ask_text(update: Update, context: FieldContext, item_id: int, action: str) -> None:
    await update.callback_query.answer()
    chat = update.effective_chat.id
    await forms.start(update, context, TEXT.kind, {"item": item_id, "action": action, "chat": chat})
    await context.bot.send_message(
        chat,
        t(context.lang, f"rmadesk.ask.{action}", id=item_id),
        reply_markup=ForceReply(selective=True),
    )


async def _answer_button(
    update: Update, context: FieldContext, item_id: int, rest: list[str]
) -> None:
    await _ask_text(update, context, item_id, "answer")


async def _nospare_button(
    update: Update, context: FieldContext, item_id: int, rest: list[str]
) -> None:
    await _ask_text(update, context, item_id, "nospare")


async def _lend_button(
    update: Update, context: FieldContext, item_id: int, rest: list[str]
) -> None:
    """Lending a spare is done from the spare list."""
    await update.callback_query.answer(
        t(context.lang, "rmadesk.lend_hint", id=item_id), show_alert=True
    )


async def _upstream_button(
    update: Update, context: FieldContext, item_id: int, rest: list[str]
) -> None:
    """RMA-SEND: the receipt upstream is confirmed."""
    try:
        await repair_service.confirm_upstream(context.services, item_id, actor_person_id(context))
    except REFUSALS as exc:
        await _refuse(update, context, exc)
        return
    await update.callback_query.answer()
    await context.bot.send_message(
        update.effective_chat.id, t(context.lang, "rmadesk.upstream_done", id=item_id)
    )


async def _why_button(update: Update, context: FieldContext, item_id: int, rest: list[str]) -> None:
    """RMA-10DAY / RMA-AGENT: open the explanation form."""
    await update.callback_query.answer()
    chat = update.effective_chat.id
    await forms.start(update, context, EXPLAIN.kind, {"item": item_id, "chat": chat})
    await context.bot.send_message(
        chat,
        t(context.lang, "rmadesk.ask.why_reason", id=item_id),
        reply_markup=ForceReply(selective=True),
    )


async def _told_button(
    update: Update, context: FieldContext, item_id: int, rest: list[str]
) -> None:
    """ri:told:<item>:<y|n>:<token> — the last answer of the explanation form."""
    query = update.callback_query
    session = await forms.session(update, context)
    form = session.current(EXPLAIN.kind)
    if len(rest) != 2 or rest[0] not in ("y", "n") or form is None or form.token != rest[1]:
        await query.answer(t(context.lang, "rmadesk.not_yours"), show_alert=True)
        return
    if form.data["item"] != item_id or form.step != "told":
        await query.answer(t(context.lang, "rmadesk.stale"), show_alert=True)
        return
    session.close()
    try:
        explained = await repair_service.record_explanation(
            context.services,
            item_id,
            form.data["reason"],
            date.fromisoformat(form.data["date"]),
            rest[0] == "y",
            actor_person_id(context),
        )
    except REFUSALS as exc:
        session.restore(form)
        await _refuse(update, context, exc)
        return
    await query.answer()
    item = explained.item
    await context.bot.send_message(
        update.effective_chat.id,
        t(context.lang, "rmadesk.explained", id=item_id, date=form.data["date"]),
    )
    await tell_customer(
        context.services, context.bot, item, "rmadesk.customer.new_date", date=form.data["date"]
    )


_ACTIONS = {
    "v": _view,
    "mv": _move_button,
    "oc": _form_choice,
    "so": _form_choice,
    "ans": _answer_button,
    "nospare": _nospare_button,
    "lend": _lend_button,
    "up": _upstream_button,
    "why": _why_button,
    "told": _told_button,
    "pol": repair_policy.policy_button,
}


# --- typed answers and photos ------------------------------------------------------------------


async def form_text(update: Update, context: FieldContext) -> bool:
    """A typed answer for one of the repair desk's forms; True if it was one."""
    session = await forms.session(update, context)
    form = session.form
    message = update.effective_message
    if form is None or form.kind not in OWN_FORMS or message is None or not message.text:
        return False
    if form.data.get("chat") not in (None, update.effective_chat.id):
        return False
    step = form.step
    try:
        value = form.spec.validate(step, message.text)
    except FormInvalid as exc:
        await message.reply_text(t(context.lang, exc.key, **exc.values))
        return True
    if form.kind == REGISTER.kind:
        await _register_text(update, context, session, form, step, value)
    elif form.kind == MOVE.kind:
        await _move_text(update, context, session, form, step, value)
    elif form.kind == EXPLAIN.kind:
        await _explain_text(update, context, form, step, value)
    else:
        await _item_text(update, context, session, form, value)
    return True


async def _move_text(update, context, session, form, step, value) -> None:  # noqa: ANN001
    if step == "shipment":
        form.data["shipment"] = value
        form.goto("accessories")
        await _ask_move_step(update, context, form)
        return
    if step == "accessories":
        step_ = repairs.Step(shipment=form.data["shipment"], accessories_sent=tuple(value))
        await _finish_move(update, context, session, form, step_)
        return
    if step == "reason":
        if form.data["event"] == repairs.Event.RETURN:
            step_ = repairs.Step(signoff=repairs.SignOff.UNSIGNED, note=value)
        else:
            step_ = repairs.Step(note=value)
        await _finish_move(update, context, session, form, step_)
        return
    await update.effective_message.reply_text(t(context.lang, "rmadesk.form.use_buttons"))


async def _explain_text(update, context, form, step, value) -> None:  # noqa: ANN001
    lang = context.lang
    if step == "reason":
        form.data["reason"] = value
        form.goto("date")
        await update.effective_message.reply_text(
            t(lang, "rmadesk.ask.why_date"), reply_markup=ForceReply(selective=True)
        )
        return
    if step == "date":
        if not value:
            await update.effective_message.reply_text(t(lang, "rmadesk.form.bad_date"))
            return
        form.data["date"] = value
        form.goto("told")
        item_id, token = form.data["item"], form.token
        keyboard = InlineKeyboardMarkup(
            [
                [
                    _button(lang, "rmadesk.told.y", "ri", "told", item_id, "y", token),
                    _button(lang, "rmadesk.told.n", "ri", "told", item_id, "n", token),
                ]
            ]
        )
        await update.effective_message.reply_text(
            t(lang, "rmadesk.ask.why_told"), reply_markup=keyboard
        )
        return
    await update.effective_message.reply_text(t(lang, "rmadesk.form.use_buttons"))


async def _item_text(update, context, session, form, value) -> None:  # noqa: ANN001
    """The SLA-TAKEBACK answer or why no spare is lent."""
    services, item_id = context.services, form.data["item"]
    opened = form
    session.close()
    try:
        if form.data["action"] == "answer":
            await repair_service.record_answer(services, item_id, value, actor_person_id(context))
        else:
            await repair_service.decline_spare(services, item_id, value, actor_person_id(context))
    except REFUSALS as exc:
        session.restore(opened)
        await _refuse(update, context, exc)
        return
    done_key = "rmadesk.answer_done" if form.data["action"] == "answer" else "rmadesk.nospare_done"
    await update.effective_message.reply_text(t(context.lang, done_key, id=item_id))
    if form.data["action"] == "answer":
        item = await _current_item(context, item_id)
        if item is not None:
            await tell_customer(
                services, context.bot, item, "rmadesk.customer.answer", answer=value
            )


async def on_photo(update: Update, context: FieldContext) -> None:
    """A photo for the registration form or a signature sign-off; any other goes to the slip."""
    session = await forms.session(update, context)
    form = session.form
    photo = update.effective_message.photo[-1] if update.effective_message.photo else None
    if form is None or photo is None or form.kind not in (REGISTER.kind, MOVE.kind):
        await visit_slip.on_signature_photo(update, context)
        return
    if form.kind == REGISTER.kind and form.step == "photos":
        photos = form.data.setdefault("photos", [])
        if len(photos) >= MAX_PHOTOS:
            await update.effective_message.reply_text(t(context.lang, "rmadesk.reg.photos_full"))
            return
        photos.append(photo.file_id)
        await update.effective_message.reply_text(
            t(context.lang, "rmadesk.reg.photo_kept", count=len(photos)),
            reply_markup=_done_keyboard(context.lang, form.token),
        )
        return
    if form.kind == MOVE.kind and form.step == "signature":
        step = repairs.Step(signoff=repairs.SignOff.SIGNATURE, signature_file_id=photo.file_id)
        await _finish_move(update, context, session, form, step)
        return
    await visit_slip.on_signature_photo(update, context)


# --- registering an item -----------------------------------------------------------------------


async def register_command(update: Update, context: FieldContext) -> None:
    """Register an item taken in, step by step: /rma."""
    await forms.start(update, context, REGISTER.kind, {"chat": update.effective_chat.id})
    await update.effective_message.reply_text(
        t(context.lang, "rmadesk.reg.customer"), reply_markup=ForceReply(selective=True)
    )


def _done_keyboard(lang: str, token: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[_button(lang, "rmadesk.reg.done", "rf", "done", token)]])


async def _register_text(update, context, session, form, step, value) -> None:  # noqa: ANN001
    lang = context.lang
    message = update.effective_message
    if step == "customer":
        async with context.services.db.read() as conn:
            found = await customers.by_name_or_phone(conn, value)
            if found is None and value.lstrip("#").isdigit():
                found = await customers.by_id(conn, int(value.lstrip("#")))
        if found is None:
            await message.reply_text(t(lang, "rmadesk.reg.no_customer", text=value))
            return
        form.data.update(customer=found.id, customer_name=found.name)
    elif step in ("product", "specification", "serial", "purchase", "fault", "accessories"):
        if (
            step == "purchase"
            and value
            and date.fromisoformat(value) > context.services.local_now().date()
        ):
            await message.reply_text(t(lang, "repairs.error.purchase_future"))
            return
        form.data[step] = value
    else:
        await message.reply_text(t(lang, "rmadesk.form.use_buttons"))
        return
    steps = REGISTER.steps
    form.goto(steps[steps.index(step) + 1])
    if form.step == "packaging":
        keyboard = InlineKeyboardMarkup(
            [
                [_button(lang, f"repairs.packaging.{p}", "rf", "pk", p, form.token)]
                for p in PACKAGING
            ]
        )
        await message.reply_text(t(lang, "rmadesk.reg.packaging"), reply_markup=keyboard)
        return
    await message.reply_text(
        t(lang, f"rmadesk.reg.{form.step}"), reply_markup=ForceReply(selective=True)
    )


async def register_button(update: Update, context: FieldContext) -> None:
    """rf:pk:<packaging>:<token> and rf:done:<token> of the caller's own registration form."""
    query = update.callback_query
    parts = (query.data or "").split(":")
    session = await forms.session(update, context)
    form = session.current(REGISTER.kind)
    token = parts[-1] if parts else ""
    if form is None or form.token != token:
        await query.answer(t(context.lang, "rmadesk.not_yours"), show_alert=True)
        return
    if len(parts) == 4 and parts[1] == "pk" and form.step == "packaging" and parts[2] in PACKAGING:
        await query.answer()
        form.data["packaging"] = parts[2]
        form.goto("photos")
        await context.bot.send_message(
            update.effective_chat.id,
            t(context.lang, "rmadesk.reg.photos"),
            reply_markup=_done_keyboard(context.lang, form.token),
        )
        return
    if len(parts) == 3 and parts[1] == "done" and form.step == "photos":
        await _finish_register(update, context, session, form)
        return
    await query.answer(t(context.lang, "rmadesk.stale"), show_alert=True)


async def _finish_register(update, context, session, form) -> None:  # noqa: ANN001
    data = form.data
    new = NewItem(
        customer_id=int(data["customer"]),
        product=data["product"],
        fault=data["fault"],
        packaging=data["packaging"],
        specification=data.get("specification", ""),
        serial=data.get("serial", ""),
        purchase_date=date.fromisoformat(data["purchase"]) if data.get("purchase") else None,
        accessories=tuple(data.get("accessories") or ()),
        photos=tuple(data.get("photos") or ()),
    )
    session.close()
    try:
        item = await repair_service.register_item(context.services, new, actor_person_id(context))
    except REFUSALS as exc:
        session.restore(form)
        await _refuse(update, context, exc)
        return
    await update.callback_query.answer()
    await send_voucher(context, update.effective_chat.id, item)


async def send_voucher(context: FieldContext, chat_id: int, item: Item) -> None:
    """The voucher: its number and expected date, the QR code of the link, and the PDF."""
    lang = context.lang
    username = context.bot.username
    link = voucher.deep_link(username, item.token)
    await context.bot.send_message(
        chat_id,
        t(
            lang,
            "rmadesk.voucher.done",
            id=item.id,
            label=_label(item),
            product=item.product,
            customer=item.customer_name,
            expected=item.expected_back.isoformat() if item.expected_back else "—",
        ),
    )
    image = io.BytesIO()
    segno.make(link, error="m").save(image, kind="png", scale=6)
    image.seek(0)
    await context.bot.send_photo(chat_id, image, caption=t(lang, "rmadesk.voucher.qr"))
    if item.voucher_no is None:
        return  # county companies get no voucher (RMA-VOUCHER)
    pdf = await asyncio.to_thread(
        voucher.render_voucher,
        item,
        context.services.config,
        username,
        context.services.config.language,
    )
    await context.bot.send_document(
        chat_id,
        io.BytesIO(pdf),
        filename=f"{item.voucher_no}.pdf",
        caption=t(lang, "rmadesk.voucher.pdf"),
    )


async def send_taken_back_voucher(context: FieldContext, chat_id: int, ticket_id: int) -> None:
    """After a check-out "taken back to the station": the voucher of the item it created."""
    item = await repair_service.item_of_ticket(context.services, ticket_id)
    if item is not None:
        await send_voucher(context, chat_id, item)


# --- the customer's view -----------------------------------------------------------------------


async def customer_start(update: Update, context: FieldContext, token: str) -> None:
    """/start rma_<token>: the customer sees the item's state and expected date; chat linked."""
    item = await repair_service.link_customer(context.services, token, update.effective_user.id)
    lang = context.lang
    if item is None:
        await update.effective_message.reply_text(t(lang, "rmadesk.customer.unknown"))
        return
    key = (
        "rmadesk.customer.view_back"
        if item.state in (repairs.State.BACK,)
        else "rmadesk.customer.view"
    )
    await update.effective_message.reply_text(
        t(
            lang,
            key,
            label=_label(item),
            product=item.product,
            state=state_label(lang, item.state),
            expected=item.expected_back.isoformat() if item.expected_back else "—",
            answer=item.answer or t(lang, "rmadesk.customer.no_answer"),
        ),
        # The chat now speaks for the item's customer: a complaint can start from here.
        reply_markup=(
            customer_complaints.item_button(lang, item.id)
            if item.customer_telegram_id == update.effective_user.id
            else None
        ),
    )
