"""The technician's private chat: /me, and contesting a recorded event."""

from __future__ import annotations

import asyncio
import csv
import io

from telegram import ForceReply, InlineKeyboardButton, InputFile, Update

from bot import limits, payroll, recorded_events, statements
from bot.context import FieldContext
from bot.i18n import t
from bot.models import StatementLine, TechnicianStatement
from handlers import paging

CONTEST_KEY = "contest_event"


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


def _line_text(line: StatementLine) -> str:
    sign = "-" if line.kind == "deduction" else ""
    return (
        f"{line.rule} {sign}{payroll.format_yuan(line.amount_fen)} {line.ref} {line.note}".rstrip()
    )


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
        line=_line_text,
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
    data = await asyncio.to_thread(statement_csv, own)
    name = f"fieldbot-{month}-{own.technician}.csv"
    await context.bot.send_document(
        update.effective_chat.id,
        InputFile(data, filename=name),
        filename=name,
        caption=t(context.lang, "me.file_caption", month=month, lines=len(own.lines)),
    )


def statement_csv(own: TechnicianStatement) -> bytes:
    """One technician's statement lines as CSV (UTF-8 with a BOM, for Excel)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["rule", "kind", "amount_yuan", "ref", "note"])
    for line in own.lines:
        amount = -line.amount_fen if line.kind == "deduction" else line.amount_fen
        writer.writerow([line.rule, line.kind, payroll.format_yuan(amount), line.ref, line.note])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


async def contest_button(update: Update, context: FieldContext) -> None:
    """The Contest button under an event notice: ask for the reason."""
    query = update.callback_query
    assert query is not None and query.data
    event_id = query.data.partition(":")[2]
    if not event_id.isdigit():
        await query.answer(t(context.lang, "form.expired"), show_alert=True)
        return
    await query.answer()
    context.user_data[CONTEST_KEY] = int(event_id)
    await context.bot.send_message(
        update.effective_chat.id,
        t(context.lang, "contest.ask_reason", id=event_id),
        reply_markup=ForceReply(selective=True),
    )


async def contest_reason_text(update: Update, context: FieldContext) -> bool:
    """The typed reason of a contest; True if this message was one."""
    event_id = context.user_data.get(CONTEST_KEY)
    message = update.effective_message
    actor = context.actor
    if (
        event_id is None
        or message is None
        or not message.text
        or actor is None
        or actor.person is None
    ):
        return False
    reason = message.text.strip()
    if not reason:
        await message.reply_text(t(context.lang, "contest.ask_reason", id=event_id))
        return True
    context.user_data.pop(CONTEST_KEY, None)
    try:
        contest_id = await recorded_events.open_contest(
            context.services, event_id, actor.person.id, reason
        )
    except recorded_events.EventError as exc:
        await message.reply_text(t(context.lang, exc.problem.value, **exc.values))
        return True
    await message.reply_text(t(context.lang, "contest.filed", id=contest_id, event=event_id))
    return True
