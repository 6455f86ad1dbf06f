"""The managers' review of doubtful visits (/flags) and the admins' audit log (/audit)."""

from __future__ import annotations

import math

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler

from bot.domain import cards, payroll
from bot.domain.parsing import parse_id, parse_int
from bot.i18n import t
from bot.services import statements
from handlers.common import add_command
from handlers.context import FieldContext
from handlers.manager import open_penalty_for
from storage import audit
from storage import visits as visit_store

PAGE_ROWS = 6  # visits per /flags page: two buttons each stay well within a keyboard
AUDIT_ROWS = 20
TEXT_LIMIT = 3800  # under Telegram's 4096 with room for the header


def register(app: Application) -> None:
    """Attach /flags, its buttons, and /audit."""
    add_command(app, "flags", flags_command)
    add_command(app, "audit", audit_command)
    app.add_handler(CallbackQueryHandler(flag_button, pattern=r"^flag:"))
    app.add_handler(CallbackQueryHandler(audit_button, pattern=r"^auditpage:"))


def paginate(rows: list[str], per_page: int, limit: int = TEXT_LIMIT) -> list[list[int]]:
    """Indexes of rows per page: at most per_page rows and `limit` characters a page."""
    pages: list[list[int]] = []
    current: list[int] = []
    size = 0
    for index, row in enumerate(rows):
        row = row[:limit]
        if current and (len(current) >= per_page or size + len(row) + 2 > limit):
            pages.append(current)
            current, size = [], 0
        current.append(index)
        size += len(row) + 2
    if current:
        pages.append(current)
    return pages


def _state(visit: visit_store.FlaggedVisit, language: str) -> str:
    return t(language, f"flags.state_{visit.resolution or 'open'}")


def _row(context: FieldContext, visit: visit_store.FlaggedVisit, language: str) -> str:
    day = (
        visit.check_in_at.astimezone(context.services.config.tz).strftime("%m-%d %H:%M")
        if visit.check_in_at
        else "—"
    )
    reasons = "\n".join(f"  · {r}" for r in cards.flag_reasons(visit.flags, language))
    return t(
        language,
        "flags.row",
        visit=visit.visit_id,
        ticket=visit.ticket_id or "—",
        name=visit.technician,
        day=day,
        state=_state(visit, language),
        reasons=reasons,
    )[:TEXT_LIMIT]


async def _flags_page(
    context: FieldContext, month: str, page: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    language = context.lang
    start, end = statements.month_bounds(month, context.services.config.tz)
    async with context.services.db.lookup() as conn:
        found = await visit_store.flagged_between(conn, start, end)
    if not found:
        return t(language, "flags.none", month=month), None
    rows = [_row(context, visit, language) for visit in found]
    pages = paginate(rows, PAGE_ROWS)
    page = min(max(page, 0), len(pages) - 1)
    shown = pages[page]
    header = t(
        language, "flags.header", month=month, count=len(found), page=page + 1, pages=len(pages)
    )
    text = "\n\n".join([header, *(rows[i] for i in shown)])
    buttons = []
    for i in shown:
        visit = found[i]
        if visit.resolution is None:
            buttons.append(
                [
                    InlineKeyboardButton(
                        t(language, "flags.accept_button", visit=visit.visit_id),
                        callback_data=f"flag:a:{visit.visit_id}",
                    ),
                    InlineKeyboardButton(
                        t(language, "flags.penalize_button", visit=visit.visit_id),
                        callback_data=f"flag:x:{visit.visit_id}",
                    ),
                ]
            )
    nav = []
    if page > 0:
        nav.append(
            InlineKeyboardButton(
                t(language, "flags.prev_button"), callback_data=f"flag:p:{month}:{page - 1}"
            )
        )
    if page + 1 < len(pages):
        nav.append(
            InlineKeyboardButton(
                t(language, "flags.next_button"), callback_data=f"flag:p:{month}:{page + 1}"
            )
        )
    if nav:
        buttons.append(nav)
    return text, InlineKeyboardMarkup(buttons) if buttons else None


async def flags_command(update: Update, context: FieldContext) -> None:
    """Flagged visits of a month with accept / penalize buttons: /flags [YYYY-MM]."""
    services = context.services
    if context.args:
        month = statements.parse_month(context.args[0])
        if month is None:
            await update.effective_message.reply_text(t(context.lang, "flags.usage"))
            return
    else:
        month = statements.month_of(services.now(), services.config.tz)
    text, keyboard = await _flags_page(context, month, 0)
    await update.effective_message.reply_text(text, reply_markup=keyboard)


MAX_PAGE = 1_000_000  # a page number beyond any real list; keeps OFFSET arithmetic sane


async def flag_button(update: Update, context: FieldContext) -> None:
    """Accept a visit's flags, penalize it (into the penalty form), or turn the page."""
    query = update.callback_query
    parts = (query.data or "").split(":")
    language = context.lang
    page = parse_int(parts[3], maximum=MAX_PAGE) if len(parts) == 4 else None
    if len(parts) == 4 and parts[1] == "p" and page is not None:
        month = statements.parse_month(parts[2])
        if month is None:
            await query.answer(t(language, "form.expired"), show_alert=True)
            return
        await query.answer()
        text, keyboard = await _flags_page(context, month, page)
        await query.edit_message_text(text, reply_markup=keyboard)
        return
    visit_id = parse_id(parts[2]) if len(parts) == 3 else None
    if visit_id is None or parts[1] not in ("a", "x"):
        await query.answer(t(language, "form.expired"), show_alert=True)
        return
    services = context.services
    actor = context.actor
    by = actor.person.id if actor and actor.person else None
    if parts[1] == "x":
        await _penalize(update, context, visit_id)
        return
    async with services.db.transaction() as conn:
        visit = await visit_store.flagged_visit(conn, visit_id)
        done = visit is not None and await visit_store.resolve_flags(
            conn, visit_id, "accepted", by, services.now()
        )
    if visit is None:
        await query.answer(t(language, "flags.unknown"), show_alert=True)
        return
    if not done:
        await query.answer(t(language, "flags.already", visit=visit_id), show_alert=True)
        return
    await query.answer()
    await context.bot.send_message(
        update.effective_chat.id, t(language, "flags.accepted", visit=visit_id)
    )


async def _penalize(update: Update, context: FieldContext, visit_id: int) -> None:
    """Into the penalty form for the visit's technician; the flags are settled only when the
    penalty is recorded, so an abandoned form leaves them open."""
    query = update.callback_query
    language = context.lang
    async with context.services.db.lookup() as conn:
        visit = await visit_store.flagged_visit(conn, visit_id)
    if visit is None:
        await query.answer(t(language, "flags.unknown"), show_alert=True)
        return
    if visit.resolution is not None:
        await query.answer(t(language, "flags.already", visit=visit_id), show_alert=True)
        return
    await query.answer()
    await open_penalty_for(
        update,
        context,
        visit.technician,
        t(language, "flags.penalize_hint", visit=visit_id, name=visit.technician),
        payroll.DEDUCTION,
        flagged_visit=visit_id,
    )


async def _audit_page(context: FieldContext, page: int) -> tuple[str, InlineKeyboardMarkup | None]:
    language = context.lang
    async with context.services.db.lookup() as conn:
        total = await audit.count(conn)
        pages = max(1, math.ceil(total / AUDIT_ROWS))
        page = min(max(page, 0), pages - 1)
        entries = await audit.page(conn, page * AUDIT_ROWS, AUDIT_ROWS)
    if not entries:
        return t(language, "audit.none"), None
    tz = context.services.config.tz
    rows = [
        t(
            language,
            "audit.row",
            at=e.at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            actor=e.actor,
            action=e.action,
            detail=e.detail,
        )[:180]
        for e in entries
    ]
    header = t(language, "audit.header", page=page + 1, pages=pages, count=total)
    nav = []
    if page > 0:
        nav.append(
            InlineKeyboardButton(
                t(language, "flags.prev_button"), callback_data=f"auditpage:{page - 1}"
            )
        )
    if page + 1 < pages:
        nav.append(
            InlineKeyboardButton(
                t(language, "flags.next_button"), callback_data=f"auditpage:{page + 1}"
            )
        )
    return "\n".join([header, *rows]), InlineKeyboardMarkup([nav]) if nav else None


async def audit_command(update: Update, context: FieldContext) -> None:
    """The audit log, newest first: /audit [PAGE]."""
    page = 0
    if context.args:
        number = parse_int(context.args[0], minimum=1, maximum=MAX_PAGE)
        if number is None:
            await update.effective_message.reply_text(t(context.lang, "audit.usage"))
            return
        page = number - 1
    text, keyboard = await _audit_page(context, page)
    await update.effective_message.reply_text(text, reply_markup=keyboard)


async def audit_button(update: Update, context: FieldContext) -> None:
    """Turn a page of the audit log."""
    query = update.callback_query
    page = parse_int((query.data or "").partition(":")[2], maximum=MAX_PAGE)
    if page is None:
        await query.answer(t(context.lang, "form.expired"), show_alert=True)
        return
    await query.answer()
    text, keyboard = await _audit_page(context, page)
    await query.edit_message_text(text, reply_markup=keyboard)
