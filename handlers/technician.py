"""The technician's private chat: /me, and contesting a recorded event."""

from __future__ import annotations

import asyncio
import csv
import io

from telegram import ForceReply, InlineKeyboardButton, InputFile, Update

from bot.domain import limits, payroll
from bot.domain.line_text import NoteRenderer
from bot.domain.models import TechnicianStatement
from bot.domain.parsing import parse_id
from bot.i18n import t
from bot.services import forms as form_engine
from bot.services import recorded_events, statements
from handlers import forms, paging
from handlers.common import who
from handlers.context import FieldContext
from storage import audit, ledger


def _reason(text: str) -> str:
    """A contest needs some reason."""
    reason = text.strip()
    if not reason:
        raise form_engine.FormInvalid("contest.ask_reason")
    return reason


CONTEST_FORM = form_engine.define(
    form_engine.FormSpec("contest", steps=("reason",), validators={"reason": _reason})
)


async def me(update: Update, context: FieldContext) -> None:
    """Month to date: the totals, then the newest lines with their rules, paged."""
    services = context.services
    month = statements.month_of(services.now(), services.config.tz)
    await paging.show(update, context, "me", month)


async def _own_statement(context: FieldContext, month: str) -> TechnicianStatement | None:
    actor = context.actor
    if actor is None or actor.person is None or statements.parse_month(month) != month:
        return None
    statement = await statements.compute(
        context.services.db, context.services.config, month, actor.person.name
    )
    return statement.technicians[0] if statement.technicians else None


async def me_listing(context: FieldContext, month: str) -> paging.Listing | None:
    """The caller's month: totals on every page, the newest lines first."""
    if statements.parse_month(month) != month:
        return None
    own = await _own_statement(context, month)
    lang = context.lang
    if own is None:
        return paging.Listing(
            header="", items=(), line=str, empty=t(lang, "me.nothing", month=month)
        )
    render = NoteRenderer(lang)
    y = payroll.format_yuan
    header = t(
        lang,
        "me.header",
        month=month,
        slips=own.slips,
        settled=own.settled,
        allowance=y(own.allowance_fen),
        travel=y(own.travel_fen),
        deductions=y(own.deduction_fen),
        rewards=y(own.reward_fen),
        net=y(own.net_fen),
    )
    file_button = InlineKeyboardButton(
        t(lang, "me.file_button"), callback_data=limits.callback_data("me", "csv", month)
    )
    return paging.Listing(
        header=header,
        items=own.lines[::-1],
        line=render.line,
        empty=header,  # slips but no lines yet: the totals alone
        extra=[[file_button]],
    )


async def me_file_button(update: Update, context: FieldContext) -> None:
    """The caller's whole month as a CSV file (me:csv:YYYY-MM)."""
    query = update.callback_query
    assert query is not None
    _, _, month = (query.data or "").partition("me:csv:")
    own = await _own_statement(context, month) if month else None
    if own is None:
        await query.answer(t(context.lang, "form.expired"), show_alert=True)
        return
    await query.answer()
    data = await asyncio.to_thread(statement_csv, own, context.lang)
    name = f"fieldbot-{month}-{own.technician}.csv"
    await context.bot.send_document(
        update.effective_chat.id,
        InputFile(data, filename=name),
        filename=name,
        caption=t(context.lang, "me.file_caption", month=month, lines=len(own.lines)),
    )
    services = context.services
    async with services.db.transaction() as conn:  # every statement file sent is audited
        await audit.record(conn, who(context), "statement", f"{month} {own.technician}: {name}")


def statement_csv(own: TechnicianStatement, language: str | None = None) -> bytes:
    """One technician's statement lines as CSV (UTF-8 with a BOM, for Excel), the reference
    and note in the reader's language."""
    render = NoteRenderer(language)
    notes = render.notes(own.lines)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["rule", "kind", "amount_yuan", "ref", "note"])
    for line, note in zip(own.lines, notes, strict=True):
        amount = -line.amount_fen if line.kind == "deduction" else line.amount_fen
        writer.writerow([line.rule, line.kind, payroll.format_yuan(amount), render.ref(line), note])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


async def contest_button(update: Update, context: FieldContext) -> None:
    """The Contest button under an event notice: ask for the reason."""
    query = update.callback_query
    assert query is not None and query.data
    event_id = parse_id(query.data.partition(":")[2])
    if event_id is None:
        await query.answer(t(context.lang, "form.expired"), show_alert=True)
        return
    actor = context.actor
    async with context.services.db.read() as conn:
        event = await ledger.event_by_id(conn, event_id)
    if event is None or actor is None or actor.person is None:
        await query.answer(t(context.lang, "form.expired"), show_alert=True)
        return
    if event.technician != actor.person.name:  # a replayed or forwarded button of another's
        await query.answer(t(context.lang, "events.not_yours", id=event_id), show_alert=True)
        return
    await query.answer()
    await forms.start(update, context, CONTEST_FORM.kind, {"event": event_id})
    await context.bot.send_message(
        update.effective_chat.id,
        t(context.lang, "contest.ask_reason", id=event_id),
        reply_markup=ForceReply(selective=True),
    )


async def contest_reason_text(update: Update, context: FieldContext) -> bool:
    """The typed reason of a contest; True if this message was one."""
    session = await forms.session(update, context)
    form = session.current(CONTEST_FORM.kind)
    message = update.effective_message
    actor = context.actor
    if form is None or message is None or not message.text or actor is None or not actor.person:
        return False
    event_id = form.data["event"]
    try:
        reason = CONTEST_FORM.validate(form.step, message.text)
    except form_engine.FormInvalid as exc:
        await message.reply_text(t(context.lang, exc.key, id=event_id, **exc.values))
        return True
    session.close()  # closed in the transaction that files the contest
    try:
        contest_id = await recorded_events.open_contest(
            context.services, event_id, actor.person.id, reason
        )
    except recorded_events.EventError as exc:
        await message.reply_text(t(context.lang, exc.problem.value, **exc.values))
        return True
    await message.reply_text(t(context.lang, "contest.filed", id=contest_id, event=event_id))
    return True
