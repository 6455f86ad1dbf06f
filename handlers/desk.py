"""The repair desk's chat front for spares, complaints, the policy desk and the warranty verdict:
their commands, buttons, typed form steps, the receipt photo, and the complaint timers' alerts."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, MessageHandler, filters

from handlers import complaints, customer_complaints, forms, paging, policy, repairs, spares
from handlers.common import add_command
from handlers.context import FieldContext


async def on_photo(update: Update, context: FieldContext) -> None:
    """A photo: a spare loan's receipt 收条 if one is awaited, else a repair form's photo, else
    the visit slip's photo (one photo handler, so each photo reaches the form waiting for it)."""
    if await spares.receipt_photo(update, context):
        return
    chat = update.effective_chat
    if chat is not None and chat.type == "private":
        await repairs.on_photo(update, context)


def register(app: Application) -> None:
    """Attach the desk's handlers (before the visits' photo handler, after the timers)."""
    add_command(app, "spares", spares.spares_command)
    add_command(app, "spare", spares.spare_command)
    add_command(app, "complaint", complaints.complaint_command)
    add_command(app, "complaints", complaints.complaints_command)
    add_command(app, "policy", policy.policy_command)
    add_command(app, "warranty", policy.warranty_command)
    paging.add_lister(app, "spares", spares.spares_listing)
    paging.add_lister(app, "complaints", complaints.complaints_listing)
    app.add_handler(CallbackQueryHandler(spares.spare_button, pattern=r"^spare:"))
    app.add_handler(CallbackQueryHandler(complaints.complaint_button, pattern=r"^cmp:"))
    app.add_handler(CallbackQueryHandler(customer_complaints.button, pattern=r"^ccmp:"))
    app.add_handler(CallbackQueryHandler(policy.policy_button, pattern=r"^pol:"))
    app.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.PHOTO, on_photo))
    forms.add_text_consumer(spares.add_name_text)
    forms.add_text_consumer(complaints.register_text)
    forms.add_text_consumer(complaints.step_text)
    forms.add_text_consumer(customer_complaints.content_text)
    forms.add_text_consumer(policy.sale_text)
    complaints.install_notifier(app)
