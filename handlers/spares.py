"""Spare units (SLA-SPARE): the list with open loans, adding a spare, lending it against the
customer's receipt 收条 (a photo, on the form engine) and closing the loan when it comes back."""

from __future__ import annotations

from telegram import ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.config import ITEM_KINDS
from bot.domain import limits
from bot.domain.parsing import parse_id
from bot.i18n import t
from bot.services import forms as form_engine
from bot.services import repair_service
from bot.services.repair_service import RepairError
from handlers import forms, paging
from handlers.context import FieldContext
from storage import spares

ADD_FORM = form_engine.define(form_engine.FormSpec("spare_add", steps=("name", "kind")))
LEND_FORM = form_engine.define(form_engine.FormSpec("spare_lend", steps=("receipt",)))


def _by(context: FieldContext) -> int | None:
    actor = context.actor
    return actor.person.id if actor is not None and actor.person is not None else None


def kind_label(language: str, kind: str) -> str:
    return t(language, f"desk.kind.{kind}")


async def spares_command(update: Update, context: FieldContext) -> None:
    """The spare list and the loans still out, with days out: /spares (paged)."""
    await paging.show(update, context, "spares")


async def spares_listing(context: FieldContext, arg: str) -> paging.Listing | None:
    """Spares on loan first (oldest loan first, with days out), then those at the station."""
    services = context.services
    lang = context.lang
    async with services.db.read() as conn:
        units = await spares.listing(conn)
        loans = await spares.open_loans(conn)
    today = services.local_now().date()
    out = {loan.spare_id for loan in loans}
    rows: list[spares.Loan | spares.Spare] = [*loans]
    rows += [unit for unit in units if unit.id not in out]

    def line(row: spares.Loan | spares.Spare) -> str:
        if isinstance(row, spares.Spare):
            return t(
                lang,
                "desk.spares.unit",
                id=row.id,
                name=row.name,
                kind=kind_label(lang, row.kind),
                serial=row.serial or "—",
            )
        days = (today - row.lent_at.astimezone(services.config.tz).date()).days
        return t(
            lang,
            "desk.spares.loan_due" if row.item_finished else "desk.spares.loan",
            loan=row.id,
            spare=row.spare_id,
            name=row.spare_name,
            customer=row.customer_name,
            item=f"#{row.item_id}" if row.item_id else "—",
            days=days,
        )

    def buttons(row: spares.Loan | spares.Spare) -> list[InlineKeyboardButton]:
        if isinstance(row, spares.Spare):
            return []
        return [
            InlineKeyboardButton(
                t(lang, "desk.spares.back_button", loan=row.id),
                callback_data=limits.callback_data("spare", "b", row.id),
            )
        ]

    header = t(lang, "desk.spares.header", units=len(units), out=len(loans))
    return paging.Listing(
        header=header, items=rows, line=line, buttons=buttons, empty=t(lang, "desk.spares.empty")
    )


async def spare_command(update: Update, context: FieldContext) -> None:
    """/spare add [NAME [KIND] [SERIAL]] | lend SPARE ITEM|cCUSTOMER | back LOAN | none ITEM WHY."""
    message = update.effective_message
    assert message is not None
    args = list(context.args or [])
    verb = args.pop(0).lower() if args else ""
    lang = context.lang
    if verb == "add":
        await _add(update, context, args)
    elif verb == "lend" and len(args) == 2:
        await _lend(update, context, args[0], args[1])
    elif verb == "none" and len(args) >= 2 and parse_id(args[0]) is not None:
        await message.reply_text(await _decline(context, parse_id(args[0]), " ".join(args[1:])))  # type: ignore[arg-type]
    elif verb == "back" and len(args) == 1 and parse_id(args[0]) is not None:
        await message.reply_text(await _close_loan(context, parse_id(args[0])))  # type: ignore[arg-type]
    else:
        await message.reply_text(t(lang, "desk.spare.usage"))


async def _add(update: Update, context: FieldContext, args: list[str]) -> None:
    message = update.effective_message
    assert message is not None
    lang = context.lang
    if not args:
        await forms.start(update, context, ADD_FORM.kind, {"step": "name"})
        await message.reply_text(
            t(lang, "desk.spare.ask_name"), reply_markup=ForceReply(selective=True)
        )
        return
    name, kind, serial = args[0], "machine", ""
    if len(args) > 1:
        kind = args[1].lower()
        if kind not in ITEM_KINDS:
            await message.reply_text(t(lang, "desk.spare.bad_kind", kinds=", ".join(ITEM_KINDS)))
            return
    if len(args) > 2:
        serial = " ".join(args[2:])
    await message.reply_text(await _added(context, name, kind, serial))


async def _added(context: FieldContext, name: str, kind: str, serial: str = "") -> str:
    lang = context.lang
    try:
        spare_id = await repair_service.add_spare(context.services, name, kind, serial)
    except RepairError as exc:
        return t(lang, exc.key, **exc.values)
    return t(lang, "desk.spare.added", id=spare_id, name=name, kind=kind_label(lang, kind))


def _kind_keyboard(language: str, token: str) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(
            kind_label(language, kind),
            callback_data=limits.callback_data("spare", "k", token, kind),
        )
        for kind in ITEM_KINDS
    ]
    return InlineKeyboardMarkup([buttons[i : i + 4] for i in range(0, len(buttons), 4)])


async def add_name_text(update: Update, context: FieldContext) -> bool:
    """The typed name of the guided /spare add; True if this message was one."""
    session = await forms.session(update, context)
    form = session.current(ADD_FORM.kind)
    message = update.effective_message
    if form is None or form.step != "name" or message is None or not message.text:
        return False
    name = " ".join(message.text.split())
    if not name:
        await message.reply_text(t(context.lang, "repairs.error.spare_name_required"))
        return True
    form.data["name"] = name[: repair_service.MAX_TEXT]
    form.goto("kind")
    await message.reply_text(
        t(context.lang, "desk.spare.ask_kind", name=name),
        reply_markup=_kind_keyboard(context.lang, form.token),
    )
    return True


async def _lend(update: Update, context: FieldContext, spare_arg: str, target: str) -> None:
    message = update.effective_message
    assert message is not None
    lang = context.lang
    spare_id = parse_id(spare_arg)
    customer_id = parse_id(target[1:]) if target[:1].lower() == "c" else None
    item_id = None if customer_id is not None else parse_id(target)
    if spare_id is None or (item_id is None and customer_id is None):
        await message.reply_text(t(lang, "desk.spare.usage"))
        return
    async with context.services.db.read() as conn:
        spare = await spares.get(conn, spare_id)
    if spare is None or not spare.active:
        await message.reply_text(t(lang, "repairs.error.spare_unknown", id=spare_id))
        return
    if spare.lent_to is not None:
        await message.reply_text(t(lang, "repairs.error.spare_busy", name=spare.name))
        return
    await forms.start(
        update,
        context,
        LEND_FORM.kind,
        {"spare": spare_id, "item": item_id, "customer": customer_id, "step": "receipt"},
    )
    whom = (
        t(lang, "desk.spare.to_item", id=item_id)
        if item_id is not None
        else t(lang, "desk.spare.to_customer", id=customer_id)
    )
    await message.reply_text(
        t(lang, "desk.spare.ask_receipt", name=spare.name, target=whom),
        reply_markup=ForceReply(selective=True),
    )


async def receipt_photo(update: Update, context: FieldContext) -> bool:
    """The receipt 收条 photo of a loan being made; True if the photo was one."""
    session = await forms.session(update, context)
    form = session.current(LEND_FORM.kind)
    message = update.effective_message
    if form is None or message is None or not message.photo:
        return False
    data = dict(form.data)
    file_id = message.photo[-1].file_id
    session.close()  # closed in the transaction that opens the loan
    lang = context.lang
    try:
        if data.get("item") is not None:
            loan_id = await repair_service.lend_spare(
                context.services, data["spare"], data["item"], file_id, _by(context)
            )
        else:
            loan_id = await repair_service.lend_spare_to_customer(
                context.services, data["spare"], data["customer"], file_id, _by(context)
            )
    except RepairError as exc:
        await message.reply_text(t(lang, exc.key, **exc.values))
        return True
    async with context.services.db.read() as conn:
        loan = await spares.loan(conn, loan_id)
    assert loan is not None
    await message.reply_text(
        t(lang, "desk.spare.lent", loan=loan_id, name=loan.spare_name, customer=loan.customer_name)
    )
    return True


async def _decline(context: FieldContext, item_id: int, reason: str) -> str:
    """SLA-SPARE answered without a loan: why no spare is lent for the item."""
    lang = context.lang
    try:
        await repair_service.decline_spare(context.services, item_id, reason, _by(context))
    except RepairError as exc:
        return t(lang, exc.key, **exc.values)
    return t(lang, "desk.spare.declined", id=item_id)


async def _close_loan(context: FieldContext, loan_id: int) -> str:
    lang = context.lang
    try:
        loan = await repair_service.return_spare(context.services, loan_id, _by(context))
    except RepairError as exc:
        return t(lang, exc.key, **exc.values)
    assert loan.returned_at is not None
    days = (loan.returned_at - loan.lent_at).days
    return t(
        lang,
        "desk.spare.returned",
        loan=loan.id,
        name=loan.spare_name,
        customer=loan.customer_name,
        days=days,
    )


async def spare_button(update: Update, context: FieldContext) -> None:
    """spare:b:LOAN closes a loan; spare:k:TOKEN:KIND is the kind step of the guided add."""
    query = update.callback_query
    assert query is not None
    parts = (query.data or "").split(":")
    lang = context.lang
    if len(parts) == 3 and parts[1] == "b" and parse_id(parts[2]) is not None:
        await query.answer()
        note = await _close_loan(context, parse_id(parts[2]))  # type: ignore[arg-type]
        await paging.refresh(update, context, "spares", note=note)
        return
    if len(parts) == 4 and parts[1] == "k" and parts[3] in ITEM_KINDS:
        session = await forms.session(update, context)
        if not session.is_current(ADD_FORM.kind, parts[2], "kind"):
            await query.answer(t(lang, "desk.not_yours"), show_alert=True)
            return
        form = session.current(ADD_FORM.kind)
        assert form is not None
        name = str(form.data.get("name") or "")
        session.close()
        await query.answer()
        await query.edit_message_text(await _added(context, name, parts[3]))
        return
    await query.answer(t(lang, "form.expired"), show_alert=True)
