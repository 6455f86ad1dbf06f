"""What the repair desk's promise timers say and do when a stage of a promise comes
(bot.domain.repair_timers): the question to the person concerned, the warning or the breach to the
dispatch group, and RMA-10DAY / RMA-20DAY recorded when no explanation came. The deadline row was
claimed before this runs, so each stage is acted on once, also across restarts."""

from __future__ import annotations

import asyncio
import logging

import aiosqlite
from telegram.ext import Application

from bot.domain import cards, repairs
from bot.domain.repair_timers import Action
from bot.services import Services, notices, repair_deadlines, repair_service
from bot.services.timers import BREACH, DueAlert
from storage import people
from storage import repairs as repair_store

log = logging.getLogger(__name__)
RECORDING_KEY = "repair_events_recording"  # bot_data: the events being recorded after a claim

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


async def notify(app: Application, alert: DueAlert, conn: aiosqlite.Connection) -> None:
    """Act on one claimed stage of an item's promise: its notices are queued in the claiming
    transaction; an event the bot records itself follows right after that commits."""
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
    values = {
        "id": item.id,
        "label": item.voucher_no or f"#{item.id}",
        "product": item.product,
        "customer": item.customer_name,
        "rule": rule,
        "due": cards.when(promise.due_at, services.config.tz),
    }
    if action == Action.RECORD_EVENT:
        # Recording is a transaction of its own; a crash before it is finished at start-up
        # (repair_service.finish_unrecorded), so the claim can commit first.
        task = app.create_task(_record_event(app, item.id, item.taken_in_by, rule, values))
        running = app.bot_data.setdefault(RECORDING_KEY, set())
        running.add(task)
        task.add_done_callback(running.discard)
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


async def _record_event(
    app: Application, item_id: int, receiver_id: int | None, rule: str, values: dict
) -> None:
    """RMA-10DAY / RMA-20DAY recorded by the bot, then the dispatch group is told."""
    services: Services = app.bot_data["services"]
    try:
        recorded = await repair_service.record_promise_event(services, item_id, rule)
    except repair_service.RepairError:
        key = "rmadesk.alert.record_by_hand"
    else:
        if recorded is None:
            return
        key = "rmadesk.alert.recorded"
    async with services.db.read() as conn:
        receiver = await people.by_id(conn, receiver_id) if receiver_id else None
    text = notices.text(notices.group(), key, who=receiver.name if receiver else "—", **values)
    await notices.post_soon(services.db, text)


async def recorded(app: Application) -> None:
    """Wait until the events the repair timers started recording are written."""
    running = list(app.bot_data.get(RECORDING_KEY, ()))
    if running:
        await asyncio.gather(*running, return_exceptions=True)
