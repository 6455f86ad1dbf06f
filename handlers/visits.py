"""Site visits in the technician's chat: arrive, run late, check out, hand over the slip.

Buttons carry `visit:<step>:<id>` (technician) or `slip:<step>:<slip id>` (the customer on the
technician's phone, pressed from the technician's account) or `cslip:<step>:<token>` (the
customer in their own chat). Every press is checked against who owns the visit or slip.
The steps live in visit_arrival, visit_checkout and visit_slip; this module wires them.
"""

from __future__ import annotations

from telegram.ext import Application, CallbackQueryHandler, MessageHandler, filters

from handlers import forms
from handlers.visit_arrival import (
    arrive_button,
    late_button,
    late_text,
    late_told_button,
    on_live_edit,
    on_location,
)
from handlers.visit_checkout import checkout_button, checkout_step_button, checkout_text
from handlers.visit_common import visit_keyboard
from handlers.visit_slip import (
    customer_slip_button,
    customer_start,
    on_signature_photo,
    slip_button,
)

__all__ = ["register", "visit_keyboard"]


def register(app: Application) -> None:
    """Attach the visit handlers."""
    private = filters.ChatType.PRIVATE
    app.add_handler(CallbackQueryHandler(arrive_button, pattern=r"^visit:arrive:"))
    app.add_handler(CallbackQueryHandler(late_button, pattern=r"^visit:late:"))
    app.add_handler(CallbackQueryHandler(late_told_button, pattern=r"^visit:told:"))
    app.add_handler(CallbackQueryHandler(checkout_button, pattern=r"^visit:out:"))
    app.add_handler(CallbackQueryHandler(checkout_step_button, pattern=r"^visit:(oc|st|mk|co|pd):"))
    app.add_handler(CallbackQueryHandler(slip_button, pattern=r"^slip:"))
    app.add_handler(CallbackQueryHandler(customer_slip_button, pattern=r"^cslip:"))
    app.add_handler(
        MessageHandler(private & filters.UpdateType.EDITED_MESSAGE & filters.LOCATION, on_live_edit)
    )
    app.add_handler(
        MessageHandler(private & filters.UpdateType.MESSAGE & filters.LOCATION, on_location)
    )
    app.add_handler(
        MessageHandler(private & filters.UpdateType.MESSAGE & filters.PHOTO, on_signature_photo)
    )
    forms.add_text_consumer(late_text)
    forms.add_text_consumer(checkout_text)
    app.bot_data.setdefault("start_payload_hooks", {})["slip_"] = customer_start
