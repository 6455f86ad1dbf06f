"""The technician's private chat: /me, and contesting a recorded event."""

from __future__ import annotations

from telegram import ForceReply, Update

from bot import forms as form_engine
from bot import payroll, recorded_events, statements
from bot.context import FieldContext
from bot.i18n import t
from bot.line_text import NoteRenderer
from bot.parsing import parse_id
from handlers import forms
from storage import ledger


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
    """Month to date: slips, settled, allowance, travel, deductions, rewards, and every line
    with its rule, the visit's date and customer, and why, in the reader's language."""
    actor = context.actor
    assert actor is not None and actor.person is not None and update.effective_message
    services = context.services
    month = statements.month_of(services.now(), services.config.tz)
    statement = await statements.compute(services.db, services.config, month, actor.person.name)
    y = payroll.format_yuan
    if not statement.technicians:
        await update.effective_message.reply_text(t(context.lang, "me.nothing", month=month))
        return
    own = statement.technicians[0]
    lines = [
        t(
            context.lang,
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
    ]
    render = NoteRenderer(context.lang)
    lines.extend(render.line(line) for line in own.lines)
    await update.effective_message.reply_text("\n".join(lines))


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
