"""The manager's commands: summaries, month close, rules, penalties and rewards, contests."""

from __future__ import annotations

import logging
import tempfile
import time
from html import escape
from pathlib import Path

from telegram import ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatAction, ParseMode
from telegram.error import TelegramError

from bot.config import TravelRules, yuan_to_fen
from bot.domain import access, payroll
from bot.domain.line_text import adjustment_suffix, event_note
from bot.domain.models import RecordedEvent, Role
from bot.domain.parsing import MAX_AMOUNT_FEN, BadArgument, parse_id, require_id
from bot.i18n import t
from bot.services import forms as form_engine
from bot.services import notices, recorded_events, report_worker, statements
from handlers import forms, paging
from handlers.common import who
from handlers.context import FieldContext
from handlers.errors import stale_button
from storage import audit, contests, ledger, people

log = logging.getLogger(__name__)

# The guided /penalty and /reward form: technician, rule, then typed slip, amount and note.
EVENT_FORM = form_engine.define(
    form_engine.FormSpec(
        "event",
        steps=("technician", "rule", "slip", "amount", "note"),
        step_field="awaiting",
    )
)
TYPED_STEPS = ("slip", "amount", "note")
EVENTS_PAGE = 15
CONTESTS_PAGE = 5


def _month_arg(context: FieldContext) -> str | None:
    if not context.args:
        return statements.month_of(context.services.now(), context.services.config.tz)
    return statements.parse_month(context.args[0])


async def _show_progress(bot: object, chat_ids: list[int]) -> None:
    """'Sending a file…' in each waiting chat while the report is being made."""
    for chat_id in chat_ids:
        try:
            await bot.send_chat_action(chat_id, ChatAction.UPLOAD_DOCUMENT)  # type: ignore[attr-defined]
        except TelegramError as exc:
            log.debug("chat action to %s failed: %s", chat_id, exc)


async def make_summary(
    context: FieldContext, month: str, languages: list[str], folder: str, chat_ids: list[int]
) -> report_worker.SummaryResult:
    """The month's summary text, workbook and chart per language, made in a worker process."""
    services = context.services
    job = report_worker.SummaryJob(
        services.db.path, services.config, month, tuple(dict.fromkeys(languages)), folder
    )
    started = time.perf_counter()
    result = await report_worker.run_job(
        job, progress=lambda: _show_progress(context.bot, chat_ids)
    )
    log.info(
        "summary of %s made in %.1f s (worker steps: %s)",
        month,
        time.perf_counter() - started,
        result.seconds,
    )
    return result


async def deliver_summary(
    context: FieldContext,
    chat_id: int,
    language: str,
    result: report_worker.SummaryResult,
    by: str | None = None,
) -> None:
    """The station totals in chat (one message by construction), then the workbook and chart;
    the file sent is written to the audit log."""
    made = result.for_language(language)
    month = result.month
    header = t(
        language, "summary.header_closed" if result.closed else "summary.header", month=month
    )
    await context.bot.send_message(
        chat_id, f"{escape(header)}\n<pre>{made.text}</pre>", parse_mode=ParseMode.HTML
    )
    workbook = Path(made.workbook)
    with open(workbook, "rb") as handle:
        await context.bot.send_document(
            chat_id,
            handle,
            filename=f"fieldbot-{month}.xlsx",
            caption=t(language, "summary.workbook", month=month),
        )
    with open(made.chart, "rb") as handle:
        await context.bot.send_photo(
            chat_id, handle, caption=t(language, "summary.chart", month=month)
        )
    services = context.services
    async with services.db.transaction() as conn:
        await audit.record(
            conn,
            by or "monthly job",
            "summary",
            f"{month} -> chat {chat_id}: fieldbot-{month}.xlsx",
            services.now().isoformat(timespec="seconds"),
        )


async def send_summary(
    context: FieldContext, chat_id: int, month: str, language: str, by: str | None = None
) -> None:
    """The month's totals in chat, then the workbook and the chart as files (audited)."""
    with tempfile.TemporaryDirectory() as folder:
        result = await make_summary(context, month, [language], folder, [chat_id])
        await deliver_summary(context, chat_id, language, result, by)


async def summary(update: Update, context: FieldContext) -> None:
    """Monthly summary: /summary [YYYY-MM] — table, Excel workbook and chart."""
    assert context.actor is not None and update.effective_chat
    month = _month_arg(context)
    if month is None:
        await update.effective_message.reply_text(t(context.lang, "summary.usage"))
        return
    try:
        await send_summary(context, update.effective_chat.id, month, context.lang, who(context))
    except report_worker.ReportJobError:
        log.exception("summary of %s failed", month)
        await update.effective_message.reply_text(t(context.lang, "summary.failed", month=month))


async def closemonth(update: Update, context: FieldContext) -> None:
    """Freeze a finished month's statements: /closemonth YYYY-MM."""
    actor = context.actor
    assert actor is not None and update.effective_message
    month = statements.parse_month(context.args[0]) if context.args else None
    if month is None:
        await update.effective_message.reply_text(t(context.lang, "closemonth.usage"))
        return
    services = context.services
    current = statements.month_of(services.now(), services.config.tz)
    if month >= current:
        await update.effective_message.reply_text(
            t(context.lang, "closemonth.not_over", month=month)
        )
        return
    by = actor.person.id if actor.person else None
    chat_id = update.effective_message.chat_id

    async def typing() -> None:
        await context.bot.send_chat_action(chat_id, ChatAction.TYPING)

    try:
        closing = await statements.close_month(
            services.db,
            services.config,
            month,
            by,
            stage_parts=lambda attempt: report_worker.stage_month_parts(
                services.db.path, services.config, month, attempt, typing
            ),
        )
    except report_worker.ReportJobError:
        log.exception("closing %s failed", month)
        await update.effective_message.reply_text(t(context.lang, "closemonth.failed", month=month))
        return
    key = "closemonth.already" if closing.already else "closemonth.done"
    await update.effective_message.reply_text(
        t(context.lang, key, month=month, hash=closing.sha256[:16])
    )


def _travel_lines(travel: TravelRules, language: str) -> list[str]:
    """TRV-HOW as config chooses it: the per-km formula, or the zones and what lies beyond."""
    y = payroll.format_yuan
    if travel.mode != "zones":
        return [
            t(
                language,
                "rules.travel",
                rate=y(travel.rate_per_km_fen),
                factor=f"{float(travel.road_factor):g}",
                minimum=y(travel.minimum_fen),
            )
        ]
    lines = [t(language, "promises.rules.zones")]
    for index, (radius, amount) in enumerate(travel.zones, start=1):
        lines.append(
            t(
                language,
                "promises.rules.zone",
                index=index,
                radius=f"{float(radius):g}",
                amount=y(amount),
            )
        )
    radius, amount = travel.zones[-1]
    lines.append(
        t(language, "promises.rules.beyond", radius=f"{float(radius):g}", amount=y(amount))
    )
    return lines


async def rules(update: Update, context: FieldContext) -> None:
    """The amounts and caps in force, and how slips are settled, capped and forfeited, in the
    caller's language (one message)."""
    assert update.effective_message
    r = context.services.config.rules
    y = payroll.format_yuan
    lines = [
        t(context.lang, "rules.header"),
        t(
            context.lang,
            "rules.allowance",
            single=y(r.allowance.rate_single_fen),
            network=y(r.allowance.rate_network_fen),
            netcafe=y(r.allowance.rate_netcafe_fen),
        ),
        t(
            context.lang,
            "rules.caps",
            home=f"{float(r.allowance.cap_home_share) * 100:g}",
            software=f"{float(r.allowance.cap_software_share) * 100:g}",
        ),
        *_travel_lines(r.travel, context.lang),
        t(context.lang, "rules.revenue", share=f"{float(r.rewards.revenue_share) * 100:g}"),
        t(context.lang, "rules.dissatisfied", amount=y(r.deductions.dissatisfied_fen)),
        t(
            context.lang,
            "rules.explain",
            dissatisfied=y(r.deductions.dissatisfied_fen),
            home=f"{float(r.allowance.cap_home_share) * 100:g}",
            software=f"{float(r.allowance.cap_software_share) * 100:g}",
        ),
    ]
    for rule, info in payroll.EVENT_RULES.items():
        title = info.title_zh if context.lang == "zh-CN" else info.title_en
        amount = payroll.config_amount(rule, r)
        if amount is not None:
            value = y(amount)
        elif info.bounds is not None:
            low, high = (payroll.config_value(r, key) for key in info.bounds)
            value = f"{y(low)}–{y(high)}"
        else:
            value = t(context.lang, "rules.set_by_manager")
        lines.append(f"{rule} {title}: {value}")
    await update.effective_message.reply_text("\n".join(lines))


# --- recording penalties and rewards ---------------------------------------------------------


def _rules_for(kind: str, roles: frozenset[Role] | None = None) -> list[str]:
    """The rules of this kind, only those these roles may record (REC-WHO) when given."""
    return [
        rule
        for rule, info in payroll.EVENT_RULES.items()
        if info.kind == kind and (roles is None or access.may_record(roles, rule))
    ]


def _rule_title(rule: str, language: str) -> str:
    info = payroll.EVENT_RULES[rule]
    return info.title_zh if language == "zh-CN" else info.title_en


def _parse_amount(text: str) -> int | None:
    if not text.isascii():
        return None
    try:
        fen = yuan_to_fen(text)
    except ValueError:
        return None
    return fen if fen <= MAX_AMOUNT_FEN else None


async def _record_and_notify(
    update: Update,
    context: FieldContext,
    technician: str,
    rule: str,
    amount: int | None,
    note: str,
    slip_id: int | None = None,
    flagged_visit: int | None = None,
) -> None:
    actor = context.actor
    assert actor is not None
    try:
        result = await recorded_events.record(
            context.services,
            technician,
            rule,
            amount,
            note,
            actor.person.id if actor.person else None,
            slip_id=slip_id,
            roles=actor.roles,  # REC-WHO
            flagged_visit=flagged_visit,
        )
    except recorded_events.EventError as exc:
        await context.bot.send_message(
            update.effective_chat.id, t(context.lang, exc.problem.value, **exc.values)
        )
        return
    event = result.event
    value = payroll.format_yuan(recorded_events.event_amount(event, context.services))
    key = "events.recorded_adjustment" if result.adjustment_of else "events.recorded"
    name = technician
    if result.shares:
        name = t(context.lang, "events.all_staff", count=len(result.shares))
    await context.bot.send_message(
        update.effective_chat.id,
        t(
            context.lang,
            key,
            id=event.id,
            name=name,
            rule=rule,
            title=_rule_title(rule, context.lang),
            amount=value,
            month=result.adjustment_of or "",
        ),
    )
    if result.technician_telegram_id is not None:
        await notify_technician(context, result.technician_telegram_id, event, value)
    for telegram_id, _name, fen in result.shares:
        if telegram_id is not None:
            await notify_technician(context, telegram_id, event, payroll.format_yuan(fen))


async def notify_technician(
    context: FieldContext, telegram_id: int, event: RecordedEvent, value: str
) -> None:
    """The technician recorded against hears of it through the outbox, with the contest button
    for a deduction (in their own language)."""
    async with context.services.db.lookup() as conn:
        person = await people.by_telegram_id(conn, telegram_id)
    who = notices.person(person.id) if person is not None else notices.chat(telegram_id)
    await notices.post_soon(context.services.db, event_notice(who, event, value))


def event_notice(who: notices.Recipient, event: RecordedEvent, value: str) -> notices.Notice:
    """What the person recorded against is told (value: the amount shown), with the contest
    button for a deduction; to be queued by the caller."""
    info = payroll.EVENT_RULES[event.rule]
    key = "events.notice_reward" if info.kind == payroll.REWARD else "events.notice_deduction"
    buttons: tuple[tuple[notices.Button, ...], ...] = ()
    if info.kind != payroll.REWARD:
        buttons = ((notices.Button(notices.tr("events.contest_button"), f"contest:{event.id}"),),)
    values = {
        "rule": event.rule,
        "title": notices.by_language(
            zh_CN=_rule_title(event.rule, "zh-CN"), en=_rule_title(event.rule, "en")
        ),
        "amount": value,
        # the bot's coded notes (an automatic late, a share) read in the recipient's language
        "note": notices.by_language(zh_CN=_event_note(event, "zh-CN"), en=_event_note(event, "en")),
        "id": event.id,
    }
    return notices.Notice(who, parts=((key, values),), buttons=buttons)


def _event_note(event: RecordedEvent, language: str, empty: str = "—") -> str:
    """An event's note as shown (the bot's own notes in `language`), with its adjustment mark."""
    text = event_note(event.note, language) if event.note else ""
    if event.adjustment_of:
        text += adjustment_suffix(event.adjustment_of, language)
    return text.strip() or empty


async def _technician_keyboard(context: FieldContext, kind: str) -> InlineKeyboardMarkup | None:
    async with context.services.db.read() as conn:
        technicians = await people.with_role(conn, Role.TECHNICIAN)
    if not technicians:
        return None
    buttons = [InlineKeyboardButton(p.name, callback_data=f"{kind}:t:{p.id}") for p in technicians]
    return InlineKeyboardMarkup([buttons[i : i + 3] for i in range(0, len(buttons), 3)])


async def _start_event_form(update: Update, context: FieldContext, kind: str) -> None:
    """The one-line form `/penalty NAME RULE [AMOUNT] [NOTE]`, or the guided form with buttons."""
    command = "penalty" if kind == payroll.DEDUCTION else "reward"
    message = update.effective_message
    assert message is not None
    if context.args:
        if len(context.args) < 2:
            await message.reply_text(t(context.lang, f"events.usage_{command}"))
            return
        technician, rule, *rest = context.args
        rule = rule.upper()
        allowed = _rules_for(kind, _roles(context))
        if rule in _rules_for(kind) and rule not in allowed:
            await message.reply_text(t(context.lang, "events.not_allowed", rule=rule))
            return
        if rule not in allowed:
            await message.reply_text(
                t(context.lang, "events.wrong_kind", rule=rule, rules=", ".join(allowed))
            )
            return
        slip_id = None
        if rest and rest[0].startswith("#") and parse_id(rest[0]) is not None:
            slip_id = parse_id(rest.pop(0))
        amount = None
        if rest and _parse_amount(rest[0]) is not None:
            amount = _parse_amount(rest.pop(0))
        await _record_and_notify(update, context, technician, rule, amount, " ".join(rest), slip_id)
        return
    keyboard = await _technician_keyboard(context, command)
    if keyboard is None:
        await message.reply_text(t(context.lang, "events.no_technicians"))
        return
    await forms.start(
        update,
        context,
        EVENT_FORM.kind,
        {"kind": kind, "command": command, "awaiting": "technician"},
    )
    await message.reply_text(t(context.lang, "events.pick_technician"), reply_markup=keyboard)


async def open_penalty_for(
    update: Update,
    context: FieldContext,
    technician: str,
    intro: str,
    kind: str,
    flagged_visit: int | None = None,
) -> None:
    """The guided penalty form with the technician already chosen: it asks for the rule.

    With `flagged_visit`, recording the penalty settles that visit's flags (and only then)."""
    data: dict[str, object] = {
        "kind": kind,
        "command": "penalty",
        "technician": technician,
        "awaiting": "rule",
    }
    if flagged_visit is not None:
        data["flagged_visit"] = flagged_visit
    await forms.start(update, context, EVENT_FORM.kind, data)
    buttons = [
        [
            InlineKeyboardButton(
                f"{rule} {_rule_title(rule, context.lang)}", callback_data=f"penalty:r:{rule}"
            )
        ]
        for rule in _rules_for(kind)
    ]
    await context.bot.send_message(
        update.effective_chat.id, intro, reply_markup=InlineKeyboardMarkup(buttons)
    )


async def penalty(update: Update, context: FieldContext) -> None:
    """Record a deduction: /penalty [NAME RULE [AMOUNT] [NOTE]]."""
    await _start_event_form(update, context, payroll.DEDUCTION)


async def reward(update: Update, context: FieldContext) -> None:
    """Record a reward: /reward [NAME RULE AMOUNT [NOTE]]."""
    await _start_event_form(update, context, payroll.REWARD)


async def event_form_button(update: Update, context: FieldContext) -> None:
    """A step of the guided penalty/reward form: technician, then rule."""
    query = update.callback_query
    assert query is not None and query.data
    command, step, value = (query.data.split(":") + ["", ""])[:3]
    session = await forms.session(update, context)
    form = await forms.current(update, context, EVENT_FORM.kind)
    if not form or form.get("command") != command:
        await query.answer(t(context.lang, "form.expired"), show_alert=True)
        return
    if {"t": "technician", "r": "rule"}.get(step, form["awaiting"]) != form["awaiting"]:
        await stale_button(update, context)  # a step the form has left
        return
    await query.answer()
    if step == "t":
        async with context.services.db.read() as conn:
            person_id = parse_id(value)
            person = await people.by_id(conn, person_id) if person_id is not None else None
        if person is None or person.role is not Role.TECHNICIAN:
            await query.edit_message_text(t(context.lang, "events.unknown_technician", name=value))
            session.close()
            return
        form["technician"] = person.name
        form["awaiting"] = "rule"
        buttons = [
            [
                InlineKeyboardButton(
                    f"{rule} {_rule_title(rule, context.lang)}", callback_data=f"{command}:r:{rule}"
                )
            ]
            for rule in _rules_for(form["kind"], _roles(context))
        ]
        await query.edit_message_text(
            t(context.lang, "events.pick_rule", name=person.name),
            reply_markup=InlineKeyboardMarkup(buttons),
        )
        return
    if step == "r" and "technician" in form and value in _rules_for(form["kind"], _roles(context)):
        form["rule"] = value
        info = payroll.EVENT_RULES[value]
        if info.slip == payroll.REQUIRED:
            form["awaiting"] = "slip"
            prompt = t(context.lang, "events.ask_slip", rule=value)
        else:
            form["awaiting"], prompt = _after_slip_step(form, info, context.lang)
        await query.edit_message_text(
            t(context.lang, "events.picked_rule", rule=value, name=form["technician"])
        )
        await context.bot.send_message(
            update.effective_chat.id, prompt, reply_markup=ForceReply(selective=True)
        )
        return
    await query.edit_message_text(t(context.lang, "form.expired"))
    session.close()


def _roles(context: FieldContext) -> frozenset[Role]:
    return context.actor.roles if context.actor else frozenset()


def _after_slip_step(form: dict, info: payroll.EventRuleInfo, language: str) -> tuple[str, str]:
    """The form's next step once the slip (if any) is known: the amount, or straight to a note."""
    if info.amount == payroll.FIXED:
        form["amount"] = None
        return "note", t(language, "events.ask_note")
    return "amount", t(language, "events.ask_amount", rule=info.rule)


async def event_form_text(update: Update, context: FieldContext) -> bool:
    """A typed answer (amount or note) to the guided penalty/reward form; True if consumed."""
    session = await forms.session(update, context)
    opened = session.current(EVENT_FORM.kind)
    form = opened.data if opened is not None else None
    message = update.effective_message
    if not form or form.get("awaiting") not in TYPED_STEPS or message is None or not message.text:
        return False
    if form["awaiting"] == "slip":
        number = parse_id(message.text)
        if number is None:
            await message.reply_text(
                t(context.lang, "events.ask_slip", rule=form["rule"]),
                reply_markup=ForceReply(selective=True),
            )
            return True
        form["slip_id"] = number
        form["awaiting"], prompt = _after_slip_step(
            form, payroll.EVENT_RULES[form["rule"]], context.lang
        )
        await message.reply_text(prompt, reply_markup=ForceReply(selective=True))
        return True
    if form["awaiting"] == "amount":
        amount = _parse_amount(message.text.strip())
        if amount is None:
            await message.reply_text(
                t(context.lang, "events.bad_amount"), reply_markup=ForceReply(selective=True)
            )
            return True
        try:
            recorded_events.check_amount(form["rule"], amount, context.services)
        except recorded_events.EventError as exc:
            await message.reply_text(
                t(context.lang, exc.problem.value, **exc.values),
                reply_markup=ForceReply(selective=True),
            )
            return True
        form["amount"] = amount
        form["awaiting"] = "note"
        await message.reply_text(
            t(context.lang, "events.ask_note"), reply_markup=ForceReply(selective=True)
        )
        return True
    note = "" if message.text.strip() in ("-", "—", "无", "none") else message.text.strip()
    if not note and payroll.EVENT_RULES[form["rule"]].note_required:
        await message.reply_text(
            t(context.lang, "events.note_required", rule=form["rule"]),
            reply_markup=ForceReply(selective=True),
        )
        return True
    session.close()  # closed in the transaction that records the event
    await _record_and_notify(
        update,
        context,
        form["technician"],
        form["rule"],
        form["amount"],
        note,
        form.get("slip_id"),
        form.get("flagged_visit"),
    )
    return True


async def events_list(update: Update, context: FieldContext) -> None:
    """The month's recorded events with their ids: /events [YYYY-MM], paged."""
    assert update.effective_message
    month = _month_arg(context)
    if month is None:
        await update.effective_message.reply_text(t(context.lang, "summary.usage"))
        return
    await paging.show(update, context, "events", month)


async def events_listing(context: FieldContext, month: str) -> paging.Listing | None:
    """One month's recorded events as pages."""
    if statements.parse_month(month) != month:
        return None
    first, last = payroll.month_days(month)
    async with context.services.db.read() as conn:
        events = await ledger.events_between(conn, first, last)
    lang, services = context.lang, context.services

    def line(event: RecordedEvent) -> str:
        value = payroll.format_yuan(recorded_events.event_amount(event, services))
        mark = t(lang, "events.voided_mark") if event.voided else ""
        note = _event_note(event, lang, empty="")
        return (
            f"#{event.id} {event.day} {event.technician} {event.rule} {value}{mark} {note}".rstrip()
        )

    return paging.Listing(
        header=t(lang, "events.list_header", month=month),
        items=events,
        line=line,
        empty=t(lang, "events.none", month=month),
        page_size=EVENTS_PAGE,
    )


async def void(update: Update, context: FieldContext) -> None:
    """Void a recorded event with a reason: /void ID REASON."""
    actor = context.actor
    assert actor is not None and update.effective_message
    if len(context.args or []) < 2:
        raise BadArgument("a reason is needed")  # answered with the usage
    event_id = require_id(context.args[0])
    reason = " ".join(context.args[1:])
    try:
        voided = await recorded_events.void(
            context.services, event_id, reason, actor.person.id if actor.person else 0
        )
    except recorded_events.EventError as exc:
        await update.effective_message.reply_text(t(context.lang, exc.problem.value, **exc.values))
        return
    if voided.adjustment_of is not None:
        text = t(
            context.lang,
            "events.voided_adjustment",
            id=event_id,
            month=voided.adjustment_of,
            into=voided.carried_into or "",
        )
    else:
        text = t(context.lang, "events.voided", id=event_id)
    await update.effective_message.reply_text(text)


async def contests_list(update: Update, context: FieldContext) -> None:
    """Open contests, each with uphold / void buttons, paged."""
    await paging.show(update, context, "contests")


async def contests_listing(context: FieldContext, arg: str) -> paging.Listing | None:
    """Open contests with their events, as pages."""
    async with context.services.db.read() as conn:
        open_items = await contests.open_contests(conn)
        details = [(c, await ledger.event_by_id(conn, c.event_id)) for c in open_items]
    lang = context.lang
    details = [(c, e) for c, e in details if e is not None]

    def line(item: tuple) -> str:
        contest, event = item
        return t(
            lang,
            "contests.item",
            id=contest.id,
            name=event.technician,
            rule=event.rule,
            event=event.id,
            reason=contest.reason,
        )

    def buttons(item: tuple) -> list[InlineKeyboardButton]:
        contest_id = item[0].id
        return [
            InlineKeyboardButton(
                f"{t(lang, 'contests.uphold')} #{contest_id}",
                callback_data=f"decide:{contest_id}:uphold",
            ),
            InlineKeyboardButton(
                f"{t(lang, 'contests.void')} #{contest_id}",
                callback_data=f"decide:{contest_id}:void",
            ),
        ]

    return paging.Listing(
        header=t(lang, "contests.header", count=len(details)),
        items=details,
        line=line,
        buttons=buttons,
        empty=t(lang, "contests.none"),
        page_size=CONTESTS_PAGE,
    )


async def decide_button(update: Update, context: FieldContext) -> None:
    """A manager's decision on a contest."""
    query = update.callback_query
    actor = context.actor
    assert query is not None and query.data and actor is not None
    _, contest_text, choice = (query.data.split(":") + ["", ""])[:3]
    contest_id = parse_id(contest_text)
    if contest_id is None or choice not in ("uphold", "void"):
        await query.answer(t(context.lang, "form.expired"), show_alert=True)
        return
    try:
        decided = await recorded_events.decide_contest(
            context.services,
            contest_id,
            choice == "uphold",
            actor.person.id if actor.person else 0,
        )
    except recorded_events.EventError as exc:
        await query.answer(t(context.lang, exc.problem.value, **exc.values), show_alert=True)
        return
    decided_text = t(context.lang, f"contests.decided_{decided.state}", id=decided.id)
    await query.answer(decided_text)
    await paging.refresh(update, context, "contests", note=decided_text)
