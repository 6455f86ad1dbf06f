"""What the repair desk's promise timers say and do when a stage of a promise comes
(bot.domain.repair_timers): the question to the person concerned, the warning or the breach to the
dispatch group, and RMA-10DAY / RMA-20DAY recorded when no explanation came. This runs in the
transaction that claims the deadline row, so each stage is acted on once, also across restarts."""

from __future__ import annotations

import logging

import aiosqlite
from telegram.ext import Application

from bot.domain import cards, payroll, repairs
from bot.domain.repair_models import Item
from bot.domain.repair_timers import Action, Promise
from bot.services import Services, notices, recorded_events, repair_deadlines, repair_service
from bot.services.timers import BREACH, DueAlert
from handlers import manager
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


def _buttons(action: Action, item_id: int) -> tuple[tuple[notices.Button, ...], ...]:
    row = tuple(
        notices.Button(notices.tr(key), f"ri:{verb}:{item_id}")
        for key, verb in _BUTTONS.get(action, ())
    )
    return (row,) if row else ()


def _values(services: Services, item: Item, rule: str, promise: Promise) -> dict:
    """What the catalog texts of an item's alert show."""
    return {
        "id": item.id,
        "label": item.voucher_no or f"#{item.id}",
        "product": item.product,
        "customer": item.customer_name,
        "rule": rule,
        "due": cards.when(promise.due_at, services.config.tz),
    }


async def notify(app: Application, alert: DueAlert, conn: aiosqlite.Connection) -> None:
    """Act on one claimed stage of an item's promise: its notices (and an event the bot records
    itself) are written in the claiming transaction."""
    services: Services = app.bot_data["services"]
    rule = repair_deadlines.rule_of(alert.kind)
    item = await repair_store.get(conn, alert.ref_id)
    if item is None or rule is None or repairs.is_final(item.state):
        return
    promise = repair_deadlines.promise_of(services, item, rule)
    if promise is None:
        return
    action = promise.due_action if alert.phase == BREACH else promise.warn_action
    if action is None:
        return
    values = _values(services, item, rule, promise)
    if action == Action.RECORD_EVENT:  # recorded with the claim: both commit, or neither
        await _record(services, conn, item, rule, values, tell_by_hand=True)
        return
    person_id = item.sent_by if action == Action.REMIND_SENDER and item.sent_by else None
    person_id = person_id or item.taken_in_by
    person = await people.by_id(conn, person_id) if person_id else None
    key = f"rmadesk.alert.{action.value}"
    told = []
    if person is not None and person.telegram_id is not None:
        told.append(
            notices.Notice(
                notices.person(person.id),
                parts=((key, values),),
                buttons=_buttons(action, item.id),
            )
        )
    if action == Action.BREACH or not told:
        told.append(
            notices.Notice(
                notices.group(), parts=((key, values),), buttons=_buttons(action, item.id)
            )
        )
    await notices.post(conn, *told)


async def _record(
    services: Services,
    conn: aiosqlite.Connection,
    item: Item,
    rule: str,
    values: dict,
    tell_by_hand: bool,
) -> bool:
    """RMA-10DAY / RMA-20DAY recorded by the bot in conn's transaction, the dispatch group and
    the person recorded against told in it; True if recorded now. A receiver who is not a
    technician leaves it to the managers (told only when tell_by_hand)."""
    if await repair_service.promise_event_recorded(conn, rule, item.id):
        return False  # recorded and told before
    recorded = None
    try:
        recorded = await repair_service.record_promise_event(services, item.id, rule, within=conn)
    except (repair_service.RepairError, recorded_events.EventError):
        if not tell_by_hand:
            return False
        key = "rmadesk.alert.record_by_hand"
    else:
        if recorded is None:
            return False
        key = "rmadesk.alert.recorded"
    receiver = await people.by_id(conn, item.taken_in_by) if item.taken_in_by else None
    who = receiver.name if receiver else "—"
    told = [notices.text(notices.group(), key, who=who, **values)]
    if recorded is not None and receiver is not None and receiver.telegram_id is not None:
        # REC-WHO: the person recorded against is told, and may contest it
        amount = payroll.format_yuan(recorded_events.event_amount(recorded.event, services))
        told.append(manager.event_notice(notices.person(receiver.id), recorded.event, amount))
    await notices.post(conn, *told)
    return recorded is not None


def recorder(services: Services) -> repair_service.PromiseRecorder:
    """Records at start-up an event whose deadline fired without it (a claim from before the
    recording went with the claim, or one whose recording failed), the group told with it."""

    async def record(conn: aiosqlite.Connection, item_id: int, rule: str) -> bool:
        item = await repair_store.get(conn, item_id)
        promise = repair_deadlines.promise_of(services, item, rule) if item else None
        if item is None or promise is None:
            return False
        values = _values(services, item, rule, promise)
        return await _record(services, conn, item, rule, values, tell_by_hand=False)

    return record
