"""The policy desk on a repair item (ri:pol:ID): POL-HOW's verdict for that item, from its
customer's kind, its purchase date as the sale date, its kind and, being in for repair, faulty."""

from __future__ import annotations

from telegram import Update

from bot.config import ITEM_KINDS
from bot.domain import policy, repairs
from bot.domain.repair_models import Item
from bot.i18n import t
from handlers import policy as policy_desk
from handlers.context import FieldContext
from storage import repairs as repair_store


def allows_policy(item: Item) -> bool:
    """The item's state still allows a refund, an exchange or a swap."""
    return item.state in repairs.POLICY_FROM


async def policy_button(
    update: Update, context: FieldContext, item_id: int, rest: list[str]
) -> None:
    """ri:pol:<item> — the policy desk's verdict for this item, as a new message."""
    query = update.callback_query
    async with context.services.db.read() as conn:
        item = await repair_store.get(conn, item_id)
    if item is None or not allows_policy(item):
        await query.answer(t(context.lang, "button.stale"), show_alert=True)
        return
    if item.purchase_date is None:
        await query.answer(t(context.lang, "rfpol.no_sale", id=item.id), show_alert=True)
        return
    kind = policy.kind_of(item.customer_class, item.customer_kind)
    item_kind = item.item_kind if item.item_kind in ITEM_KINDS else "machine"
    text = policy_desk.answer(
        context, kind.value, item.purchase_date, item_kind, policy.Condition.FAULTY.value
    )
    await query.answer()
    head = t(context.lang, "rfpol.head", id=item.id, product=item.product)
    await context.bot.send_message(update.effective_chat.id, f"{head}\n{text}")
