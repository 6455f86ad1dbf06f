"""/new in the dispatch group: the guided intake form (buttons + selective ForceReply) and the
one-line quick form. Nothing is written until the dispatcher confirms."""

from __future__ import annotations

import asyncio
import re
import secrets
from datetime import time, timedelta
from typing import Any

from telegram import ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import filters

from bot.domain import intake
from bot.domain.cards import class_name, flags_text, window_text
from bot.domain.dispatch_models import NewCustomer, NewTicket, TicketView, from_iso, to_iso
from bot.domain.models import CUSTOMER_CLASSES
from bot.domain.parsing import require_id
from bot.i18n import t
from bot.services import dispatching
from bot.services import forms as form_engine
from handlers import forms
from handlers.context import FieldContext
from handlers.dispatch_common import actor_person_id, answer_refusal
from storage import customers, people

FORM_KIND = "new"
FORM_TIMEOUT_MINUTES = 30
SPEC = form_engine.define(
    form_engine.FormSpec(
        FORM_KIND,
        steps=(
            "customer",
            "pick",
            "class",
            "phone",
            "place",
            "geo_confirm",
            "fault",
            "hardware",
            "major",
            "brand",
            "tool",
            "window_pick",
            "window",
            "confirm",
        ),
        timeout=timedelta(minutes=FORM_TIMEOUT_MINUTES),
    )
)
MATCH_BUTTONS = 6
PHONE = re.compile(r"^\+?[\d\s-]{5,20}$")
LOOKS_NUMERIC = re.compile(r"^[\s\d.,，;；+-]+(\s+[a-z0-9]+)?$", re.IGNORECASE)
MORNING = (time(9, 0), time(12, 0))
AFTERNOON = (time(14, 0), time(17, 30))
TEXT_STEPS = ("customer", "phone", "place", "fault", "window")
CLASS_CHOICES = (
    ("agent", "county"),
    ("agent", "local"),
    ("industry", ""),
    ("network", ""),
    ("network", "netcafe"),
    ("quasi", ""),
    ("other", ""),
)

# Location prompts this process sent: (chat id, message id). A location answers the form only
# when it replies to one of them, so check-in locations elsewhere pass to other handlers.
_place_prompts: set[tuple[int, int]] = set()


class _RepliesToPlacePrompt(filters.MessageFilter):
    """A message replying to one of our "where is the customer" prompts."""

    def filter(self, message: Message) -> bool:
        reply = message.reply_to_message
        return reply is not None and (message.chat.id, reply.message_id) in _place_prompts


# After a restart the prompts of the last run are not in _place_prompts: a location replying to
# anything in a group is then offered to the form too (no other feature takes group locations).
PLACE_REPLY = filters.LOCATION & (
    _RepliesToPlacePrompt() | (filters.REPLY & ~filters.ChatType.PRIVATE)
)


def _button(label: str, token: str, *parts: object) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=":".join(["new", token, *map(str, parts)]))


def _rows(buttons: list[InlineKeyboardButton], width: int = 2) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([buttons[i : i + width] for i in range(0, len(buttons), width)])


async def _form(update: Update, context: FieldContext) -> dict[str, Any] | None:
    """The caller's open form (an expired one is dropped by the form engine)."""
    return await forms.current(update, context, FORM_KIND)


async def _ask_text(
    context: FieldContext, form: dict[str, Any], key: str, **values: object
) -> None:
    """Ask a free-text step with a selective ForceReply (works with group privacy mode on)."""
    message = await context.bot.send_message(
        form["chat"],
        t(context.lang, key, **values),
        reply_markup=ForceReply(selective=True),
        reply_to_message_id=form.get("origin"),
        allow_sending_without_reply=True,
    )
    form["prompt"] = message.message_id
    if form["step"] == "place":
        _place_prompts.add((form["chat"], message.message_id))


async def _ask_buttons(
    context: FieldContext, form: dict[str, Any], key: str, markup: InlineKeyboardMarkup
) -> None:
    await context.bot.send_message(form["chat"], t(context.lang, key), reply_markup=markup)


async def new_ticket(update: Update, context: FieldContext) -> None:
    """Open a ticket: /new for the guided form, or the one-line quick form (see usage)."""
    message = update.effective_message
    assert message is not None and update.effective_chat is not None
    text = (message.text or "").split(maxsplit=1)
    if len(text) == 2:
        await _quick(update, context, text[1])
        return
    form = await forms.start(
        update,
        context,
        FORM_KIND,
        {
            "token": secrets.token_hex(3),
            "chat": update.effective_chat.id,
            "origin": message.message_id,
            "step": "customer",
        },
    )
    await _ask_text(context, form, "dispatch.new.ask_customer")


async def _quick(update: Update, context: FieldContext, text: str) -> None:
    services = context.services
    message = update.effective_message
    try:
        quick = intake.parse_quick(
            text, services.now(), services.config.tz, services.config.house_brands
        )
        async with services.db.read() as conn:
            customer = await customers.by_name_or_phone(conn, quick.customer)
        if customer is None:
            raise intake.IntakeError("dispatch.quick.unknown_customer", name=quick.customer)
        ticket_id = await dispatching.open_ticket(
            services,
            NewTicket(
                customer_id=customer.id,
                fault=quick.fault,
                hardware=quick.flags.hardware,
                major=quick.flags.major,
                brand=quick.flags.brand,
                tool=quick.flags.tool,
                brand_name=quick.flags.brand_name or (customer.brand if quick.flags.brand else ""),
                appointment_start=quick.window[0] if quick.window else None,
                appointment_end=quick.window[1] if quick.window else None,
            ),
            actor_person_id(context),
        )
    except (intake.IntakeError, dispatching.DispatchError) as exc:
        await answer_refusal(update, context, exc)
        return
    await _announce(update, context, ticket_id, message.chat.id)


async def _announce(update: Update, context: FieldContext, ticket_id: int, chat_id: int) -> None:
    """The card went to the outbox with the ticket; a form run elsewhere is told where."""
    async with context.services.db.read() as conn:
        group = await people.bound_chat(conn, "dispatch")
    if chat_id != group:
        await context.bot.send_message(
            chat_id, t(context.lang, "dispatch.new.created", id=ticket_id)
        )


# --- typed answers ---------------------------------------------------------------------------


async def form_text(update: Update, context: FieldContext) -> bool:
    """A typed answer to the open /new form; True if it was one."""
    message = update.effective_message
    form = await _form(update, context)
    if form is None or message is None or message.text is None:
        return False
    if message.chat.id != form["chat"] or form["step"] not in TEXT_STEPS:
        return False
    text = message.text.strip()
    step = form["step"]
    try:
        if step == "customer":
            await _customer_typed(context, form, text)
        elif step == "phone":
            await _phone_typed(context, form, text)
        elif step == "place":
            await _place_typed(context, form, text)
        elif step == "fault":
            if not text:
                raise intake.IntakeError("dispatch.fault.empty")
            form["fault"] = text
            await _ask_flag(context, form, "hardware")
        elif step == "window":
            start, end = intake.parse_window(
                text, context.services.now(), context.services.config.tz
            )
            form["window"] = [to_iso(start), to_iso(end)]
            await _confirm(context, form)
    except intake.IntakeError as exc:
        await answer_refusal(update, context, exc)
        if form["step"] in TEXT_STEPS:
            await _ask_text(context, form, f"dispatch.new.ask_{form['step']}")
    return True


async def _customer_typed(context: FieldContext, form: dict[str, Any], text: str) -> None:
    if not text:
        raise intake.IntakeError("dispatch.customer.name_empty")
    async with context.services.db.read() as conn:
        found = await customers.search(conn, text, MATCH_BUTTONS)
    token = form["token"]
    buttons = [
        _button(
            f"{c.name} · {t(context.lang, f'dispatch.class.{c.customer_class}')}",
            token,
            "cust",
            c.id,
        )
        for c in found
    ]
    if not any(c.name == text for c in found):
        form["new_name"] = text
        buttons.append(
            _button(t(context.lang, "dispatch.new.create_customer", name=text), token, "create")
        )
    form["step"] = "pick"
    key = "dispatch.new.pick_customer" if found else "dispatch.new.no_match"
    await context.bot.send_message(
        form["chat"], t(context.lang, key, text=text), reply_markup=_rows(buttons, 1)
    )


async def _phone_typed(context: FieldContext, form: dict[str, Any], text: str) -> None:
    if text.casefold() not in intake.SKIP and not PHONE.match(text):
        raise intake.IntakeError("dispatch.customer.phone_bad", value=text)
    form["customer"]["phone"] = "" if text.casefold() in intake.SKIP else text
    form["step"] = "place"
    await _ask_text(context, form, "dispatch.new.ask_place")


async def _place_typed(context: FieldContext, form: dict[str, Any], text: str) -> None:
    if text.casefold() in intake.SKIP:
        await _place_done(context, form, None, "")
        return
    point = intake.parse_place(text)
    if point is not None:
        await _place_done(context, form, point, "")
        return
    if LOOKS_NUMERIC.match(text):
        raise intake.IntakeError("dispatch.place.bad_coordinates", value=text)
    config = context.services.config
    if not config.geocoder_provider:
        form["customer"]["address"] = text
        await context.bot.send_message(form["chat"], t(context.lang, "dispatch.place.address_only"))
        await _place_done(context, form, None, text)
        return
    found = await _geocode(context, text)
    if found is None:
        raise intake.IntakeError("dispatch.place.not_found", value=text)
    address, point = found
    form["geo"] = {"address": address or text, "lat": point[0], "lon": point[1]}
    form["step"] = "geo_confirm"
    token = form["token"]
    await context.bot.send_message(
        form["chat"],
        t(
            context.lang,
            "dispatch.place.confirm",
            address=address or text,
            lat=f"{point[0]:.5f}",
            lon=f"{point[1]:.5f}",
        ),
        reply_markup=_rows(
            [
                _button(t(context.lang, "dispatch.button.yes"), token, "geo", 1),
                _button(t(context.lang, "dispatch.button.no"), token, "geo", 0),
            ]
        ),
    )


async def _geocode(context: FieldContext, text: str) -> tuple[str, tuple[float, float]] | None:
    """The configured geopy geocoder's answer (converted to WGS-84); None when nothing found."""
    from geopy.exc import GeopyError
    from geopy.geocoders import get_geocoder_for_service

    from bot.domain.geo import to_wgs84

    config = context.services.config
    try:
        geocoder = get_geocoder_for_service(config.geocoder_provider)(
            user_agent=config.geocoder_user_agent
        )
        location = await asyncio.to_thread(geocoder.geocode, text)
    except (GeopyError, ValueError, OSError):
        return None
    if location is None:
        return None
    point = to_wgs84(location.latitude, location.longitude, config.geocoder_coordinate_system)
    return str(location.address or ""), point


async def place_location(update: Update, context: FieldContext) -> None:
    """A Telegram location or venue sent as a reply to the "where" prompt."""
    message = update.effective_message
    form = await _form(update, context)
    if (
        form is None
        or message is None
        or form["step"] != "place"
        or message.chat.id != form["chat"]
    ):
        return
    reply_id = message.reply_to_message.message_id if message.reply_to_message else None
    if (message.chat.id, reply_id) not in _place_prompts and reply_id != form.get("prompt"):
        return  # a reply to something else
    if message.forward_origin is not None:
        await message.reply_text(t(context.lang, "dispatch.place.forwarded"))
        return
    _place_prompts.discard((message.chat.id, message.reply_to_message.message_id))
    address = message.venue.address if message.venue else ""
    point = (message.location.latitude, message.location.longitude)
    await _place_done(context, form, point, address)


async def _place_done(
    context: FieldContext, form: dict[str, Any], point: tuple[float, float] | None, address: str
) -> None:
    customer = form["customer"]
    if point is not None:
        customer["site"] = list(point)
    if address:
        customer["address"] = address
    form["step"] = "fault"
    await _ask_text(context, form, "dispatch.new.ask_fault")


# --- buttons ---------------------------------------------------------------------------------

FLAG_STEPS = ("hardware", "major", "brand", "tool")


async def _ask_flag(context: FieldContext, form: dict[str, Any], name: str) -> None:
    form["step"] = name
    token, lang = form["token"], context.lang
    if name == "brand":
        brands = list(context.services.config.house_brands)
        known = form.get("customer_brand")
        if known and known not in brands:
            brands.append(known)
        buttons = [_button(brand, token, "brand", 1, brand) for brand in brands]
        buttons += [
            _button(t(lang, "dispatch.flag.other_brand"), token, "brand", 1, ""),
            _button(t(lang, "dispatch.flag.compatible"), token, "brand", 0, ""),
        ]
    else:
        yes, no = {
            "hardware": ("hardware", "software"),
            "major": ("major", "ordinary"),
            "tool": ("tool", "fun"),
        }[name]
        buttons = [
            _button(t(lang, f"dispatch.flag.{yes}"), token, name, 1),
            _button(t(lang, f"dispatch.flag.{no}"), token, name, 0),
        ]
    await _ask_buttons(context, form, f"dispatch.new.ask_{name}", _rows(buttons, 3))


async def _ask_window(context: FieldContext, form: dict[str, Any]) -> None:
    form["step"] = "window_pick"
    token, lang = form["token"], context.lang
    buttons = [
        _button(t(lang, "dispatch.window.tomorrow_morning"), token, "win", "am"),
        _button(t(lang, "dispatch.window.tomorrow_afternoon"), token, "win", "pm"),
        _button(t(lang, "dispatch.window.type"), token, "win", "type"),
        _button(t(lang, "dispatch.window.none"), token, "win", "none"),
    ]
    await _ask_buttons(context, form, "dispatch.new.ask_window_pick", _rows(buttons))


def _customer_record(form: dict[str, Any]) -> NewCustomer:
    c = form["customer"]
    site = tuple(c["site"]) if c.get("site") else None
    return NewCustomer(
        name=c["name"],
        customer_class=c["class"],
        kind=c["kind"],
        phone=c.get("phone", ""),
        address=c.get("address", ""),
        site=site,  # type: ignore[arg-type]
    )


def _ticket_record(form: dict[str, Any]) -> NewTicket:
    window = form.get("window")
    return NewTicket(
        customer_id=form.get("customer_id") or 0,
        fault=form["fault"],
        hardware=form["hardware"],
        major=form["major"],
        brand=form["brand"],
        tool=form["tool"],
        brand_name=form.get("brand_name", ""),
        appointment_start=from_iso(window[0]) if window else None,
        appointment_end=from_iso(window[1]) if window else None,
    )


async def _confirm(context: FieldContext, form: dict[str, Any]) -> None:
    form["step"] = "confirm"
    lang, token = context.lang, form["token"]
    ticket = _ticket_record(form)
    name = form["customer"]["name"] if "customer" in form else form["customer_name"]
    preview = TicketView(
        id=0,
        state="new",
        customer_id=0,
        customer_name=name,
        customer_class=form.get("customer_class") or form["customer"]["class"],
        customer_kind=form.get("customer_kind", form.get("customer", {}).get("kind", "")),
        site=None,
        address="",
        fault=ticket.fault,
        service_type="hardware" if ticket.hardware else "software",
        appointment_start=ticket.appointment_start,
        appointment_end=ticket.appointment_end,
        assigned_to=None,
        group_message_id=None,
        major=ticket.major,
        brand=ticket.brand,
        tool=ticket.tool,
        brand_name=ticket.brand_name,
    )
    text = t(
        lang,
        "dispatch.new.confirm",
        name=name,
        cls=class_name(preview.customer_class, preview.customer_kind, lang),
        fault=ticket.fault,
        flags=flags_text(preview, lang),
        window=window_text(
            ticket.appointment_start, ticket.appointment_end, context.services.config.tz, lang
        ),
    )
    await context.bot.send_message(
        form["chat"],
        text,
        reply_markup=_rows(
            [
                _button(t(lang, "dispatch.button.create"), token, "ok"),
                _button(t(lang, "dispatch.button.cancel"), token, "cancel"),
            ]
        ),
    )


async def form_button(update: Update, context: FieldContext) -> None:
    """A button of the /new form: new:<token>:<what>[:<values>]."""
    query = update.callback_query
    assert query is not None
    parts = (query.data or "").split(":")
    form = await _form(update, context)
    if form is None or len(parts) < 3 or parts[1] != form["token"]:  # none, or an older one's
        await query.answer(t(context.lang, "form.expired"), show_alert=True)
        return
    what, args = parts[2], parts[3:]
    handler = _BUTTONS.get(what)
    if handler is None:
        await query.answer(t(context.lang, "form.expired"), show_alert=True)
        return
    try:
        await handler(update, context, form, args)
    except (intake.IntakeError, dispatching.DispatchError) as exc:
        await answer_refusal(update, context, exc)
        return
    except (ValueError, IndexError):
        await query.answer(t(context.lang, "form.expired"), show_alert=True)
        return
    await query.answer()


def _expect(form: dict[str, Any], *steps: str) -> None:
    if form["step"] not in steps:  # a button of a step the form has left; nothing changes
        raise intake.IntakeError("dispatch.new.wrong_step")


async def _pick(
    update: Update, context: FieldContext, form: dict[str, Any], args: list[str]
) -> None:
    _expect(form, "pick")
    async with context.services.db.read() as conn:
        customer = await customers.by_id(conn, require_id(args[0]))
    if customer is None:
        raise dispatching.DispatchError("dispatch.customer.unknown", name=args[0])
    form.update(
        customer_id=customer.id,
        customer_name=customer.name,
        customer_class=customer.customer_class,
        customer_kind=customer.kind,
        customer_brand=customer.brand,
    )
    form["step"] = "fault"
    await _ask_text(context, form, "dispatch.new.ask_fault")


async def _create(
    update: Update, context: FieldContext, form: dict[str, Any], args: list[str]
) -> None:
    _expect(form, "pick")
    form["step"] = "class"
    token = form["token"]
    buttons = [
        _button(
            class_name(cls, kind, context.lang),
            token,
            "class",
            cls,
            kind,
        )
        for cls, kind in CLASS_CHOICES
    ]
    await _ask_buttons(context, form, "dispatch.new.ask_class", _rows(buttons))


async def _class(
    update: Update, context: FieldContext, form: dict[str, Any], args: list[str]
) -> None:
    _expect(form, "class")
    cls, kind = args[0], args[1] if len(args) > 1 else ""
    if (cls, kind) not in CLASS_CHOICES:
        raise intake.IntakeError("dispatch.customer.class_unknown", value=cls)
    form["customer"] = {"name": form["new_name"], "class": cls, "kind": kind}
    form["step"] = "phone"
    await _ask_text(context, form, "dispatch.new.ask_phone")


async def _geo(
    update: Update, context: FieldContext, form: dict[str, Any], args: list[str]
) -> None:
    _expect(form, "geo_confirm")
    if args[0] == "1":
        geo = form.pop("geo")
        await _place_done(context, form, (geo["lat"], geo["lon"]), geo["address"])
        return
    form.pop("geo", None)
    form["step"] = "place"
    await _ask_text(context, form, "dispatch.new.ask_place")


async def _flag(
    update: Update, context: FieldContext, form: dict[str, Any], args: list[str]
) -> None:
    name = (update.callback_query.data or "").split(":")[2]
    _expect(form, name)
    if args[0] not in ("0", "1"):
        raise ValueError(args[0])
    form[name] = args[0] == "1"
    if name == "brand":
        form["brand_name"] = args[1] if form["brand"] and len(args) > 1 else ""
    following = FLAG_STEPS.index(name) + 1
    if following < len(FLAG_STEPS):
        await _ask_flag(context, form, FLAG_STEPS[following])
    else:
        await _ask_window(context, form)


async def _window(
    update: Update, context: FieldContext, form: dict[str, Any], args: list[str]
) -> None:
    _expect(form, "window_pick")
    choice = args[0]
    config = context.services.config
    if choice == "type":
        form["step"] = "window"
        await _ask_text(context, form, "dispatch.new.ask_window")
        return
    if choice == "none":
        form["window"] = None
    elif choice in ("am", "pm"):
        start, end = MORNING if choice == "am" else AFTERNOON
        on = intake.next_day(context.services.now(), config.tz)
        first, last = intake.day_window(on, start, end, config.tz)
        form["window"] = [to_iso(first), to_iso(last)]
    else:
        raise ValueError(choice)
    await _confirm(context, form)


async def _ok(update: Update, context: FieldContext, form: dict[str, Any], args: list[str]) -> None:
    _expect(form, "confirm")
    customer = _customer_record(form) if "customer" in form else None
    session = await forms.session(update, context)
    opened = session.current(FORM_KIND)
    session.close(FORM_KIND)  # closed in the transaction that opens the ticket
    try:
        ticket_id = await dispatching.open_ticket(
            context.services, _ticket_record(form), actor_person_id(context), customer
        )
    except BaseException:
        session.restore(opened)  # refused: the form stays as it was
        raise
    await _announce(update, context, ticket_id, form["chat"])


async def _cancel(
    update: Update, context: FieldContext, form: dict[str, Any], args: list[str]
) -> None:
    await forms.close(update, context, FORM_KIND)
    await context.bot.send_message(form["chat"], t(context.lang, "form.cancelled"))


_BUTTONS = {
    "cust": _pick,
    "create": _create,
    "class": _class,
    "geo": _geo,
    "hardware": _flag,
    "major": _flag,
    "brand": _flag,
    "tool": _flag,
    "win": _window,
    "ok": _ok,
    "cancel": _cancel,
}

assert set(CUSTOMER_CLASSES) == {cls for cls, _ in CLASS_CHOICES}
