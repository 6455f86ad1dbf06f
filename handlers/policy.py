"""The policy desk (POL-HOW) in chat: /policy guided (kind, sale date, item, condition) or in
one line, answered from bot.domain.policy; and /warranty ITEM, the WTY-CHECK verdict of a repair
item with its reason, overridable with a note."""

from __future__ import annotations

from datetime import date

from telegram import ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.config import ITEM_KINDS
from bot.domain import access, cards, limits, policy, warranty
from bot.domain.parsing import parse_id
from bot.i18n import t
from bot.services import forms as form_engine
from bot.services import repair_service
from bot.services import ticket_warranty as ticket_warranty_service
from bot.services.repair_service import RepairError
from handlers import forms
from handlers.context import FieldContext
from storage import repairs as repair_store

FORM = form_engine.define(
    form_engine.FormSpec("policy", steps=("kind", "sale", "item", "condition"))
)
KINDS = tuple(kind.value for kind in policy.Kind)
CONDITIONS = tuple(condition.value for condition in policy.Condition)


def _label(language: str, group: str, code: str) -> str:
    return t(language, f"desk.{group}.{code}")


def parse_sale_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def render_verdict(language: str, verdict: policy.Verdict) -> str:
    """The four options, open or closed, until when, at what price rule, and why."""
    lines = [
        t(
            language,
            "desk.pol.header",
            kind=_label(language, "pol.kind", verdict.kind),
            sale=verdict.sale_date.isoformat(),
            days=verdict.days_since_sale,
            item=_label(language, "kind", verdict.item),
            condition=_label(language, "pol.condition", verdict.condition),
        )
    ]
    for option in verdict.options:
        name = t(language, f"policy.option.{option.name}")
        rules = "、".join(option.rules)
        notes = "；".join(t(language, f"policy.why.{code}") for code in option.notes)
        if option.open:
            until = (
                t(language, "desk.pol.until", date=option.until.isoformat())
                if option.until
                else t(language, "desk.pol.no_end")
            )
            price = t(language, f"policy.price.{option.price}")
            line = t(language, "desk.pol.open", option=name, until=until, price=price, rules=rules)
            if notes:
                line += t(language, "desk.pol.condition_note", notes=notes)
        else:
            line = t(language, "desk.pol.closed", option=name, why=notes or "—", rules=rules)
        lines.append(line)
    return "\n".join(lines)


def answer(context: FieldContext, kind: str, sale: date, item: str, condition: str) -> str:
    today = context.services.local_now().date()
    if sale > today:
        return t(context.lang, "desk.pol.sale_future")
    verdict = policy.decide(context.services.config.policy, kind, sale, today, item, condition)
    return render_verdict(context.lang, verdict)


def _keyboard(language: str, token: str, code: str, group: str, values: tuple[str, ...]):  # noqa: ANN202
    buttons = [
        InlineKeyboardButton(
            _label(language, group, value),
            callback_data=limits.callback_data("pol", code, token, value),
        )
        for value in values
    ]
    return InlineKeyboardMarkup([buttons[i : i + 3] for i in range(0, len(buttons), 3)])


async def policy_command(update: Update, context: FieldContext) -> None:
    """/policy (guided) or /policy KIND YYYY-MM-DD ITEM CONDITION."""
    message = update.effective_message
    assert message is not None
    lang = context.lang
    args = [arg.lower() for arg in context.args or []]
    if args:
        sale = parse_sale_date(args[1]) if len(args) == 4 else None
        if (
            len(args) != 4
            or args[0] not in KINDS
            or sale is None
            or args[2] not in ITEM_KINDS
            or args[3] not in CONDITIONS
        ):
            await message.reply_text(t(lang, "desk.pol.usage"))
            return
        await message.reply_text(answer(context, args[0], sale, args[2], args[3]))
        return
    form = (await forms.session(update, context)).open(FORM.kind, {"step": "kind"})
    await message.reply_text(
        t(lang, "desk.pol.ask_kind"),
        reply_markup=_keyboard(lang, form.token, "k", "pol.kind", KINDS),
    )


async def sale_text(update: Update, context: FieldContext) -> bool:
    """The typed sale date of the guided /policy; True if consumed."""
    session = await forms.session(update, context)
    form = session.current(FORM.kind)
    message = update.effective_message
    if form is None or form.step != "sale" or message is None or not message.text:
        return False
    lang = context.lang
    sale = parse_sale_date(message.text)
    if sale is None or sale > context.services.local_now().date():
        key = "desk.pol.bad_date" if sale is None else "desk.pol.sale_future"
        await message.reply_text(t(lang, key), reply_markup=ForceReply(selective=True))
        return True
    form.data["sale"] = sale.isoformat()
    form.goto("item")
    await message.reply_text(
        t(lang, "desk.pol.ask_item"),
        reply_markup=_keyboard(lang, form.token, "i", "kind", ITEM_KINDS),
    )
    return True


async def policy_button(update: Update, context: FieldContext) -> None:
    """pol:k|i|c:TOKEN:VALUE — the kind, item and condition steps of the guided /policy."""
    query = update.callback_query
    assert query is not None
    lang = context.lang
    parts = (query.data or "").split(":")
    steps = {"k": ("kind", KINDS), "i": ("item", ITEM_KINDS), "c": ("condition", CONDITIONS)}
    if len(parts) != 4 or parts[1] not in steps or parts[3] not in steps[parts[1]][1]:
        await query.answer(t(lang, "form.expired"), show_alert=True)
        return
    step, _ = steps[parts[1]]
    session = await forms.session(update, context)
    if not session.is_current(FORM.kind, parts[2], step):
        await query.answer(t(lang, "desk.not_yours"), show_alert=True)
        return
    form = session.current(FORM.kind)
    assert form is not None
    await query.answer()
    form.data[step] = parts[3]
    if step == "kind":
        form.goto("sale")
        await query.edit_message_text(
            t(lang, "desk.pol.picked", value=_label(lang, "pol.kind", parts[3]))
        )
        await context.bot.send_message(
            update.effective_chat.id,
            t(lang, "desk.pol.ask_sale"),
            reply_markup=ForceReply(selective=True),
        )
        return
    if step == "item":
        form.goto("condition")
        await query.edit_message_text(
            t(lang, "desk.pol.ask_condition"),
            reply_markup=_keyboard(lang, form.token, "c", "pol.condition", CONDITIONS),
        )
        return
    data = dict(form.data)
    session.close()
    sale = date.fromisoformat(data["sale"])
    await query.edit_message_text(
        answer(context, data["kind"], sale, data["item"], data["condition"])
    )


# --- warranty ----------------------------------------------------------------------------------


def render_warranty(language: str, what: str, verdict: warranty.Verdict) -> str:
    """WTY-CHECK: in or out, why, until when, who pays (and the override's note)."""
    key = "desk.wty.in" if verdict.in_warranty else "desk.wty.out"
    text = t(
        language,
        key,
        what=what,
        why=t(language, f"warranty.why.{verdict.reason}"),
        ends=verdict.ends.isoformat() if verdict.ends else "—",
    )
    for code in verdict.conditions:
        text += "\n" + t(language, f"warranty.why.{code}")
    if verdict.overridden:
        text += "\n" + t(language, "desk.wty.note", note=verdict.note)
    text += "\n" + t(
        language, "desk.wty.charges_in" if verdict.in_warranty else "desk.wty.charges_out"
    )
    return text


async def warranty_command(update: Update, context: FieldContext) -> None:
    """/warranty ITEM|tTICKET — the verdict; /warranty ITEM|tTICKET in|out NOTE — override it."""
    message = update.effective_message
    assert message is not None
    lang = context.lang
    args = list(context.args or [])
    target = args[0] if args else ""
    is_ticket = target[:1] in ("t", "T")
    number = parse_id(target[1:] if is_ticket else target)
    if number is None:
        await message.reply_text(t(lang, "desk.wty.usage"))
        return
    if len(args) == 1:
        show = ticket_warranty_text if is_ticket else _item_warranty
        await message.reply_text(await show(context, number))
        return
    word = args[1].lower()
    if word not in ("in", "out"):
        await message.reply_text(t(lang, "custdesk.wty.bad_word", word=args[1][:20]))
        return
    change = _override_ticket if is_ticket else _override_item
    await message.reply_text(await change(context, number, word == "in", " ".join(args[2:])))


async def _item_warranty(context: FieldContext, item_id: int) -> str:
    lang = context.lang
    async with context.services.db.read() as conn:
        item = await repair_store.get(conn, item_id)
    if item is None:
        return t(lang, "repairs.error.unknown", id=item_id)
    verdict = repair_service.warranty_of(context.services, item)
    return render_warranty(lang, t(lang, "desk.wty.item", id=item_id), verdict)


async def _override_item(context: FieldContext, item_id: int, in_warranty: bool, note: str) -> str:
    lang = context.lang
    actor = context.actor
    if actor is None or not actor.roles & access.WARRANTY_OVERRIDE:
        return t(lang, "desk.wty.override_role")
    by = actor.person.id if actor.person else None
    try:
        verdict = await repair_service.override_warranty(
            context.services, item_id, in_warranty, note, by
        )
    except RepairError as exc:
        return t(lang, exc.key, **exc.values)
    return render_warranty(lang, t(lang, "desk.wty.item", id=item_id), verdict)


async def _override_ticket(
    context: FieldContext, ticket_id: int, in_warranty: bool, note: str
) -> str:
    """WTY-CHECK on a ticket: managers, or the technician the ticket is assigned to."""
    actor = context.actor
    roles = actor.roles if actor is not None else frozenset()
    person = actor.person.id if actor is not None and actor.person is not None else None
    try:
        await ticket_warranty_service.override(
            context.services, ticket_id, in_warranty, note, roles, person
        )
    except RepairError as exc:
        return t(context.lang, exc.key, **exc.values)
    return await ticket_warranty_text(context, ticket_id)


async def ticket_warranty_text(context: FieldContext, ticket_id: int) -> str:
    """WTY-CHECK for the machine of a ticket, from its purchase date or warranty end on record,
    or the override in force with its note, who and when."""
    services = context.services
    lang = context.lang
    try:
        found = await ticket_warranty_service.ticket_verdict(services, ticket_id)
    except RepairError as exc:
        return t(lang, exc.key, **exc.values)
    if found.verdict is None:
        return t(lang, "desk.wty.ticket_no_machine", id=ticket_id)
    text = render_warranty(lang, t(lang, "desk.wty.ticket", id=ticket_id), found.verdict)
    override = found.override
    if override is not None:
        text += "\n" + t(
            lang,
            "custdesk.wty.overridden_by",
            name=override.by_name or "—",
            at=cards.when(override.at, services.config.tz),
        )
    return text
