"""The fee of a repair done at the station (RWD-REVENUE) in chat: `/repairfee ITEM FEE PARTS
[TECH]`, and the item's Record-fee button (on its card, and offered when it is returned), which
asks the fee and the parts at cost as a durable form."""

from __future__ import annotations

from telegram import ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler

from bot.domain import payroll, repair_revenue
from bot.domain.parsing import parse_id, parse_yuan
from bot.domain.repair_models import Item
from bot.i18n import t
from bot.services import forms as form_engine
from bot.services import repair_fees
from bot.services.forms import FormInvalid
from bot.services.repair_service import RepairError
from handlers import forms
from handlers.common import add_command
from handlers.context import FieldContext
from handlers.dispatch_common import actor_person_id, actor_role
from storage import repairs as repair_store

ACTION = "rv"  # callback data prefix: rv:fee:<item>


def _amount(text: str) -> int:
    fen = parse_yuan(text)
    if fen is None:
        raise FormInvalid("repairfee.bad_amount")
    return fen


FEE = form_engine.define(
    form_engine.FormSpec(
        "rma_fee", steps=("fee", "parts"), validators={"fee": _amount, "parts": _amount}
    )
)


def register(app: Application) -> None:
    """Attach /repairfee, the Record-fee button and its form's typed answers."""
    add_command(app, "repairfee", fee_command)
    app.add_handler(CallbackQueryHandler(fee_pressed, pattern=rf"^{ACTION}:"))
    forms.add_text_consumer(form_text)


def _may_press(context: FieldContext, item: Item, recorded: bool) -> bool:
    """Fees are recorded in a private chat, on an item that takes one; once recorded, only a
    manager changes it."""
    if context.chat_kind != "private" or not repair_fees.may_record(context.services, item):
        return False
    return not recorded or actor_role(context) in repair_fees.CHANGERS


def fee_button(context: FieldContext, item: Item) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        t(context.lang, "repairfee.button"), callback_data=f"{ACTION}:fee:{item.id}"
    )


async def card_part(context: FieldContext, item: Item) -> tuple[str, InlineKeyboardButton | None]:
    """The fee on record as a line of the item's card ("" when none), and the Record-fee
    button when this caller may press it here."""
    services = context.services
    fee = await repair_fees.fee_of(services, item.id)
    button = fee_button(context, item) if _may_press(context, item, fee is not None) else None
    if fee is None:
        return "", button
    reward = repair_revenue.reward_fen(fee.fee_fen, fee.parts_fen, services.config.rules)
    line = t(
        context.lang,
        "repairfee.card",
        fee=payroll.format_yuan(fee.fee_fen),
        parts=payroll.format_yuan(fee.parts_fen),
        name=fee.technician,
        reward=payroll.format_yuan(reward if fee.fee_fen > 0 else 0),
    )
    return line, button


async def offer_after_return(update: Update, context: FieldContext, item: Item) -> None:
    """After a return in a private chat: ask for the fee when the item takes one and has none."""
    if await repair_fees.fee_of(context.services, item.id) is not None:
        return
    if not _may_press(context, item, recorded=False):
        return
    await context.bot.send_message(
        update.effective_chat.id,
        t(context.lang, "repairfee.prompt", id=item.id),
        reply_markup=InlineKeyboardMarkup([[fee_button(context, item)]]),
    )


def done_text(language: str, recorded: repair_fees.Recorded) -> str:
    """What the desk is told once a fee is recorded (and where a closed month's change went)."""
    item_id = recorded.item.id
    if not recorded.changed:
        return t(language, "repairfee.same", id=item_id)
    values = {
        "id": item_id,
        "fee": payroll.format_yuan(recorded.fee_fen),
        "parts": payroll.format_yuan(recorded.parts_fen),
        "name": recorded.technician,
        "reward": payroll.format_yuan(recorded.reward_fen),
    }
    if recorded.month is None:
        return t(language, "repairfee.done_pending", **values)
    text = t(language, "repairfee.done", month=recorded.month, **values)
    if recorded.carried_into is not None:
        text += "\n" + t(
            language, "repairfee.carried", month=recorded.month, into=recorded.carried_into
        )
    return text


async def _record(
    context: FieldContext, item_id: int, fee: int, parts: int, technician: str | None
) -> str:
    """Record the fee; the answer to show (a refusal in words when refused)."""
    try:
        recorded = await repair_fees.record_fee(
            context.services,
            item_id,
            fee,
            parts,
            technician,
            actor_role(context),
            actor_person_id(context),
        )
    except RepairError as exc:
        return t(context.lang, exc.key, **exc.values)
    return done_text(context.lang, recorded)


async def fee_command(update: Update, context: FieldContext) -> None:
    """Record or change the fee of a repair done here: /repairfee ITEM FEE PARTS [TECH]."""
    message = update.effective_message
    args = list(context.args or [])
    item_id = parse_id(args[0]) if args else None
    fee = parse_yuan(args[1]) if len(args) > 1 else None
    parts = parse_yuan(args[2]) if len(args) > 2 else None
    if item_id is None or fee is None or parts is None or len(args) > 4:
        await message.reply_text(t(context.lang, "repairfee.usage"))
        return
    technician = args[3] if len(args) == 4 else None
    await message.reply_text(await _record(context, item_id, fee, parts, technician))


async def fee_pressed(update: Update, context: FieldContext) -> None:
    """rv:fee:<item> — open the fee form of an item that takes a fee."""
    query = update.callback_query
    parts = (query.data or "").split(":")
    item_id = parse_id(parts[2]) if len(parts) == 3 and parts[1] == "fee" else None
    item = None
    if item_id is not None:
        async with context.services.db.read() as conn:
            item = await repair_store.get(conn, item_id)
    if item is None:
        await query.answer(t(context.lang, "button.stale"), show_alert=True)
        return
    if not repair_fees.may_record(context.services, item):
        await query.answer(t(context.lang, "rmadesk.stale"), show_alert=True)
        return
    if not _may_press(
        context, item, await repair_fees.fee_of(context.services, item.id) is not None
    ):
        refusal = t(context.lang, "repairfee.error.change_managers", id=item.id)
        await query.answer(refusal, show_alert=True)
        return
    await query.answer()
    chat = update.effective_chat.id
    await forms.start(update, context, FEE.kind, {"item": item.id, "chat": chat})
    await context.bot.send_message(
        chat, t(context.lang, "repairfee.ask_fee", id=item.id), reply_markup=ForceReply()
    )


async def form_text(update: Update, context: FieldContext) -> bool:
    """A typed fee or parts cost for the caller's fee form; True if it was one."""
    session = await forms.session(update, context)
    form = session.form
    message = update.effective_message
    if form is None or form.kind != FEE.kind or message is None or not message.text:
        return False
    if form.data.get("chat") not in (None, update.effective_chat.id):
        return False
    try:
        value = form.spec.validate(form.step, message.text)
    except FormInvalid as exc:
        await message.reply_text(t(context.lang, exc.key, **exc.values))
        return True
    if form.step == "fee":
        form.data["fee"] = value
        form.goto("parts")
        await message.reply_text(t(context.lang, "repairfee.ask_parts"), reply_markup=ForceReply())
        return True
    session.close()  # closed with the fee's transaction: one unit
    try:
        recorded = await repair_fees.record_fee(
            context.services,
            form.data["item"],
            form.data["fee"],
            value,
            None,
            actor_role(context),
            actor_person_id(context),
        )
    except RepairError as exc:  # retyping cannot change it: the form ends here
        await message.reply_text(t(context.lang, exc.key, **exc.values))
        return True
    await message.reply_text(done_text(context.lang, recorded))
    return True
