"""The Telegram face: wiring of every handler in one place."""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from handlers import (
    common,
    desk,
    dispatch,
    forms,
    jobs,
    manager,
    paging,
    promises,
    repair_fee,
    repairs,
    review,
    technician,
    visits,
)
from handlers.common import add_command
from handlers.errors import on_error, stale_button
from handlers.gate import gate
from handlers.routing import route_buttons

GATE_GROUP = -1


def register(app: Application) -> None:
    """Attach every handler to the application."""
    app.add_handler(TypeHandler(Update, gate), group=GATE_GROUP)
    app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, common.chat_migrated))
    add_command(app, "start", common.start)
    add_command(app, "help", common.help_command)
    add_command(app, "lang", common.lang)
    add_command(app, "invite", common.invite)
    add_command(app, "bindgroup", common.bindgroup)
    app.add_handler(CallbackQueryHandler(common.invite_button, pattern=r"^invite:"))
    app.add_handler(CallbackQueryHandler(common.bind_button, pattern=r"^bind:"))
    add_command(app, "cancel", forms.cancel)
    add_command(app, "rules", manager.rules)
    add_command(app, "summary", manager.summary)
    add_command(app, "closemonth", manager.closemonth)
    add_command(app, "penalty", manager.penalty)
    add_command(app, "reward", manager.reward)
    add_command(app, "events", manager.events_list)
    add_command(app, "void", manager.void)
    add_command(app, "contests", manager.contests_list)
    add_command(app, "me", technician.me)
    paging.add_lister(app, "me", technician.me_listing)
    paging.add_lister(app, "events", manager.events_listing)
    paging.add_lister(app, "contests", manager.contests_listing)
    app.add_handler(CallbackQueryHandler(technician.me_file_button, pattern=r"^me:csv:"))
    app.add_handler(CallbackQueryHandler(manager.event_form_button, pattern=r"^(penalty|reward):"))
    app.add_handler(CallbackQueryHandler(manager.decide_button, pattern=r"^decide:"))
    app.add_handler(CallbackQueryHandler(technician.contest_button, pattern=r"^contest:"))
    forms.add_text_consumer(manager.event_form_text)
    forms.add_text_consumer(technician.contest_reason_text)
    dispatch.register(app)
    desk.register(app)  # before visits: its one photo handler hands photos on in turn
    repairs.register(app)
    repair_fee.register(app)
    visits.register(app)
    promises.register(app)
    review.register(app)
    # Last in group 0: a typed message no feature handler above claimed goes to the forms.
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, forms.route_text))
    app.add_handler(CallbackQueryHandler(stale_button))  # a button nobody above recognised
    route_buttons(app)  # the handlers above, looked up by the pressed button's key
    app.add_error_handler(on_error)
    jobs.schedule(app)
