"""The repair desk's promises (bot.domain.repair_timers) kept as deadline rows, so the one
deadline timer fires each stage exactly once, also across restarts.

sync() runs inside the transaction that changes an item: it creates a row for each open promise
(kind `repair:<rule>`, ref the item), re-arms one whose times moved (never one that fired, nor the
warning given for the same deadline), and completes the rows of promises kept or ended. An item
taken back from a ticket shares the ticket's own SLA-TAKEBACK row: there is one answer promise
per take-back, met by an answer on either.
"""

from __future__ import annotations

import aiosqlite

from bot.domain.calendar import ServiceCalendar
from bot.domain.dispatch_models import SLA_TAKEBACK, to_iso
from bot.domain.repair_timers import ITEM_RULES, Promise, item_promises
from bot.services import Services
from storage import deadlines
from storage import repairs as store
from storage.deadlines import FIRED

PREFIX = "repair:"


def kind_of(rule: str) -> str:
    return PREFIX + rule


def rule_of(kind: str) -> str | None:
    """The repair rule of a deadline kind, or None for any other kind."""
    if not kind.startswith(PREFIX):
        return None
    rule = kind[len(PREFIX) :]
    return rule if rule in ITEM_RULES else None


def calendar_of(services: Services) -> ServiceCalendar:
    return ServiceCalendar.from_config(services.config.sla, services.config.tz)


def _same(row_due: str, row_warn: str | None, promise: Promise) -> bool:
    warn = to_iso(promise.warn_at) if promise.warn_at is not None else None
    return row_due == to_iso(promise.due_at) and row_warn == warn


async def sync(services: Services, conn: aiosqlite.Connection, item_id: int) -> None:
    """Bring the item's deadline rows in line with its promises (caller's transaction)."""
    item = await store.get(conn, item_id)
    if item is None:
        return
    now = services.now()
    promises = item_promises(item.clock(), services.config, calendar_of(services))
    ticket_row = await deadlines.get(conn, SLA_TAKEBACK, item.ticket_id) if item.ticket_id else None
    present = set()
    for promise in promises:
        present.add(promise.rule)
        kept = promise.met_at is not None and promise.met_at <= now
        if promise.rule == SLA_TAKEBACK and ticket_row is not None:
            if kept:  # one promise per take-back: the ticket's row is the item's too
                await deadlines.complete(conn, SLA_TAKEBACK, ticket_row.ref_id)
            continue
        kind = kind_of(promise.rule)
        row = await deadlines.get(conn, kind, item_id)
        if kept:
            if row is not None:
                await deadlines.complete(conn, kind, item_id)
            continue
        if row is not None:
            # Only the config moves an item's times once they are set (a restart with another
            # warning lead or day count): what was told stays told, never told twice.
            if row.state == FIRED:
                continue  # broken, and said so once
            if row.warned_at is not None and row.due_at == promise.due_at:
                continue  # warned for this very deadline already
            stored_warn = to_iso(row.warn_at) if row.warn_at is not None else None
            if _same(to_iso(row.due_at), stored_warn, promise):
                continue  # unchanged: whatever it already fired stays fired
        await deadlines.upsert(conn, kind, item_id, promise.due_at, promise.warn_at)
    for rule in ITEM_RULES:
        if rule not in present:
            await deadlines.complete(conn, kind_of(rule), item_id)


def promise_of(services: Services, item, rule: str) -> Promise | None:  # noqa: ANN001 - Item
    """The item's promise of rule now (its actions at each stage)."""
    for promise in item_promises(item.clock(), services.config, calendar_of(services)):
        if promise.rule == rule:
            return promise
    return None
