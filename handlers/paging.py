"""Long lists as pages: one message with ⟨ prev / next ⟩ buttons that edit it in place.

A list command registers a lister: given the caller and an optional short argument (a month,
a search key) it returns a Listing, and only the page shown is rendered. Button data is
`<command>:p:<page>[:<arg>]`, so the gate checks a page button against the command's own row
in bot/domain/access.py; it is parsed strictly and the page is range-checked against the list as it
is now.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler

from bot.domain import limits
from bot.i18n import t
from handlers.context import FieldContext

PAGE_SIZE = 10
LINE_LIMIT = 300  # UTF-16 units per item: ten items and a header stay well under 4,096
PAGE_LIMIT = limits.TEXT_LIMIT - 96  # room for the footer
ARG = r"[0-9A-Za-z-]{1,41}"  # a month, a list key, or a short text in hex


@dataclass
class Listing:
    """What a list command shows: a header, the items, and how to render one item."""

    header: str
    items: Sequence[Any]
    line: Callable[[Any], str]
    buttons: Callable[[Any], list[InlineKeyboardButton]] | None = None
    empty: str = ""  # said instead when there are no items
    extra: list[list[InlineKeyboardButton]] = field(default_factory=list)  # under every page
    page_size: int = PAGE_SIZE
    buttons_per_row: int = 2
    # Turns the shown items into what line() and buttons() take (e.g. loads their details),
    # so a long list costs one cheap item each and only ten rendered ones.
    prepare: Callable[[Sequence[Any]], Awaitable[Sequence[Any]]] | None = None
    # A list too long to hold whole: its length, and fetch(offset, limit) for one page.
    total: int | None = None
    fetch: Callable[[int, int], Awaitable[Sequence[Any]]] | None = None

    @property
    def size(self) -> int:
        return self.total if self.fetch is not None and self.total is not None else len(self.items)


Lister = Callable[[FieldContext, str], Awaitable[Listing | None]]
LISTERS_KEY = "listers"  # bot_data: command -> its lister


def _listers(app: Application) -> dict[str, Lister]:
    return app.bot_data.setdefault(LISTERS_KEY, {})


def add_lister(app: Application, command: str, lister: Lister) -> None:
    """Page this command's list with buttons (the command's own handler calls show())."""
    _listers(app)[command] = lister
    app.add_handler(CallbackQueryHandler(page_button, pattern=rf"^{command}:p:"))


def page_data(command: str, number: int, arg: str = "") -> str:
    """The data of a page button (refused if it would not fit 64 bytes)."""
    return (
        limits.callback_data(command, "p", number, arg)
        if arg
        else limits.callback_data(command, "p", number)
    )


def parse_page_data(data: str, commands: Iterable[str]) -> tuple[str, int, str] | None:
    """(command, page, arg) from button data, or None for anything malformed."""
    match = re.fullmatch(rf"([a-z]{{1,12}}):p:([1-9][0-9]{{0,5}})(?::({ARG}))?", data or "")
    if match is None or match.group(1) not in commands:
        return None
    return match.group(1), int(match.group(2)), match.group(3) or ""


def page_count(listing: Listing) -> int:
    return max(1, -(-listing.size // listing.page_size))


async def render(
    listing: Listing, command: str, number: int, arg: str, language: str
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The text and keyboard of page `number` (1-based, within range)."""
    total = page_count(listing)
    first = (number - 1) * listing.page_size
    if listing.fetch is not None:
        shown = await listing.fetch(first, listing.page_size)
    else:
        shown = listing.items[first : first + listing.page_size]
    if listing.prepare is not None:
        shown = await listing.prepare(shown)
    lines = [listing.header] if listing.header else []
    lines += [limits.truncate(listing.line(item), LINE_LIMIT) for item in shown]
    if total > 1:
        lines.append(t(language, "paging.footer", page=number, pages=total, count=listing.size))
    text = limits.truncate("\n".join(lines), PAGE_LIMIT)
    rows: list[list[InlineKeyboardButton]] = []
    if listing.buttons is not None:
        flat = [button for item in shown for button in listing.buttons(item)]
        step = listing.buttons_per_row
        rows += [flat[i : i + step] for i in range(0, len(flat), step)]
    nav = []
    if number > 1:
        nav.append(
            InlineKeyboardButton(
                t(language, "paging.prev"), callback_data=page_data(command, number - 1, arg)
            )
        )
    if number < total:
        nav.append(
            InlineKeyboardButton(
                t(language, "paging.next"), callback_data=page_data(command, number + 1, arg)
            )
        )
    if nav:
        rows.append(nav)
    rows += listing.extra
    return text, InlineKeyboardMarkup(rows) if rows else None


async def show(update: Update, context: FieldContext, command: str, arg: str = "") -> None:
    """Answer a list command with its first page."""
    message = update.effective_message
    assert message is not None
    listing = await _listers(context.application)[command](context, arg)
    if listing is None:
        return
    if not listing.size:
        await message.reply_text(listing.empty)
        return
    text, keyboard = await render(listing, command, 1, arg, context.lang)
    await message.reply_text(text, reply_markup=keyboard)


async def page_button(update: Update, context: FieldContext) -> None:
    """⟨ prev / next ⟩: the asked page of the list as it is now, in the same message."""
    query = update.callback_query
    assert query is not None
    listers = _listers(context.application)
    parsed = parse_page_data(query.data or "", listers)
    listing = await listers[parsed[0]](context, parsed[2]) if parsed else None
    if parsed is None or listing is None or not listing.size:
        await query.answer(t(context.lang, "form.expired"), show_alert=True)
        return
    command, number, arg = parsed
    total = page_count(listing)
    if number > total:
        await query.answer(t(context.lang, "paging.gone", pages=total), show_alert=True)
        return
    await query.answer()
    text, keyboard = await render(listing, command, number, arg, context.lang)
    await query.edit_message_text(text, reply_markup=keyboard)


async def refresh(
    update: Update, context: FieldContext, command: str, arg: str = "", note: str = ""
) -> None:
    """Show the list's first page again in the pressed message, a note above it."""
    query = update.callback_query
    assert query is not None
    listing = await _listers(context.application)[command](context, arg)
    if listing is None or not listing.size:
        empty = listing.empty if listing is not None else ""
        await query.edit_message_text("\n".join(part for part in (note, empty) if part))
        return
    if note:
        listing.header = f"{note}\n{listing.header}" if listing.header else note
    text, keyboard = await render(listing, command, 1, arg, context.lang)
    await query.edit_message_text(text, reply_markup=keyboard)
