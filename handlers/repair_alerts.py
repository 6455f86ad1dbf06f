"""What the repair desk's promise timers say and do when a stage of a promise comes
(bot.domain.repair_timers): the question to the person concerned, the warning or the breach to the
dispatch group, and RMA-10DAY / RMA-20DAY recorded when no explanation came. The deadline row was
claimed before this runs, so each stage is acted on once, also across restarts."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import TelegramError
from telegram.ext import Application

from bot.domain import cards, repairs
from bot.domain.repair_timers import Action
from bot.i18n import t
from bot.services import Services, repair_deadlines, repair_service
from bot.services.timers import BREACH, DueAlert
from storage import people
from storage import repairs as repair_store

log = logging.getLogger(__name__)

# The button under each question: (i18n key of its label, button action).
_BUTTONS: dict[Action, tuple[tuple[str, str], ...]] = {
    Action.WARN: (("rmadesk.button.answer", "ans"),),
    Action.REMIND_SENDER: (("rmadesk.button.upstream", "up"),),
    Action.ASK_SPARE: (("rmadesk.button.lend", "lend"), ("rmadesk.button.nospare", "nospare")),
    Action.ASK_EXPLANATION: (("rmadesk.button.why", "why"),),
    Action.ASK_AGENT_REASON: (("rmadesk.button.why", "why"),),
}


def handles(kind: str) -> bool:
    return repair_deadlines.rule_of(kind) is not None


async def _send(app: Application, chat_id: int | None, text: str, keyboard=None) -> bool:  # noqa: ANN001
    if chat_id is None:
        return False
    try:
        await app.bot.send_message(chat_id, text, reply_markup=keyboard)
    except TelegramError as exc:
        log.warning("repair alert to %s not sent: %s", chat_id, exc)
        return False
    return True


async def notify(app: Application, alert: DueAlert) -> None:
    """Act on one claimed stage of an item's promise."""
    services: Services = app.bot_data["services"]
    rule = repair_deadlines.rule_of(alert.kind)
    async with services.db.read() as conn:
        item = await repair_store.get(conn, alert.ref_id)
        group = await people.bound_chat(conn, "dispatch")
        receiver = await people.by_id(conn, item.taken_in_by) if item and item.taken_in_by else None
        sender = await people.by_id(conn, item.sent_by) if item and item.sent_by else None
    if item is None or rule is None or repairs.is_final(item.state):
        return
    promise = repair_deadlines.promise_of(services, item, rule)
    if promise is None:
        return
    action = promise.due_action if alert.phase == BREACH else promise.warn_action
    if action is None:
        return
    language = services.config.language
    values = {
        "id": item.id,
        "label": item.voucher_no or f"#{item.id}",
        "product": item.product,
        "customer": item.customer_name,
        "rule": rule,
        "due": cards.when(promise.due_at, services.config.tz),
    }
    if action == Action.RECORD_EVENT:
        try:
            recorded = await repair_service.record_promise_event(services, item.id, rule)
        except repair_service.RepairError:
            recorded = None
            text = t(language, "rmadesk.alert.record_by_hand", **values)
        else:
            if recorded is None:
                return
            text = t(
                language, "rmadesk.alert.recorded", who=receiver.name if receiver else "—", **values
            )
        await _send(app, group, text)
        return
    person = sender if action == Action.REMIND_SENDER else receiver
    person = person or receiver
    person_language = (person.language if person else None) or language
    text = t(person_language, f"rmadesk.alert.{action.value}", **values)
    buttons = [
        InlineKeyboardButton(t(person_language, key), callback_data=f"ri:{verb}:{item.id}")
        for key, verb in _BUTTONS.get(action, ())
    ]
    keyboard = InlineKeyboardMarkup([buttons]) if buttons else None
    sent = await _send(app, person.telegram_id if person else None, text, keyboard)
    if action == Action.BREACH or not sent:
        group_text = t(language, f"rmadesk.alert.{action.value}", **values)
        await _send(
            app,
            group,
            group_text,
            InlineKeyboardMarkup(
                [
                    [
                        InlineKeyboardButton(t(language, key), callback_data=f"ri:{verb}:{item.id}")
                        for key, verb in _BUTTONS.get(action, ())
                    ]
                ]
            )
            if _BUTTONS.get(action)
            else None,
        )
