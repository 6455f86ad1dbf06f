"""Promise timers as database rows, scheduled into PTB's JobQueue and fired exactly once.

A row is created inside the transaction that makes the promise; a job only executes what the
row says. Claiming a warning or a breach, acting on it (a dispatch timeout returns the ticket
to the queue) and queueing its notices in the outbox commit together, so a restart neither
repeats nor loses a message. What is said is left to a notifier the front end registers (it
writes notices, bot.notices; no Telegram types here).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiosqlite

from bot import lifecycle
from bot.dispatch_models import DISPATCH_ACCEPT, VISIT_UNREPORTED, Deadline
from bot.services import Services
from storage import deadlines, tickets, visits

log = logging.getLogger(__name__)

NOTIFIER_KEY = "deadline_notifier"
TICK_SECONDS = 30  # safety net: rows created since start-up are picked up this often
JOB_PREFIX = "deadline"
WARNING, BREACH = "warning", "breach"
# Kinds whose own breach is the action (no warning before it).
NO_WARNING = frozenset({DISPATCH_ACCEPT, VISIT_UNREPORTED})


@dataclass(frozen=True)
class DueAlert:
    """One claimed moment: a warning before a promise or its breach."""

    kind: str
    phase: str  # WARNING or BREACH
    ref_id: int
    due_at: datetime
    returned_from: int | None = None  # DISPATCH-ACCEPT: the technician who did not answer


# notifier(app, alert, conn): queue the alert's notices in the claiming transaction.
Notifier = Callable[[Any, DueAlert, aiosqlite.Connection], Awaitable[None]]


async def create_deadline(
    services: Services, conn: aiosqlite.Connection, kind: str, ref_id: int, due_at: datetime
) -> None:
    """Create (or re-arm) a promise inside the caller's transaction; warns warn_before earlier."""
    warn_at: datetime | None = None
    if kind not in NO_WARNING:
        warn_at = due_at - timedelta(minutes=services.config.sla.warn_before_minutes)
        if warn_at <= services.now():
            warn_at = None
    await deadlines.upsert(conn, kind, ref_id, due_at, warn_at)


async def complete_deadline(conn: aiosqlite.Connection, kind: str, ref_id: int) -> None:
    """The promise was kept: no warning or escalation will follow."""
    await deadlines.complete(conn, kind, ref_id)


def next_moment(row: Deadline) -> datetime:
    """When this pending row next needs attention."""
    if row.warn_at is not None and row.warned_at is None:
        return min(row.warn_at, row.due_at)
    return row.due_at


async def _act(conn: aiosqlite.Connection, row: Deadline, now: datetime) -> DueAlert | None:
    """Claim what is due on one row and do its state change; the alert to send, if any."""
    if row.due_at <= now:
        if row.warn_at is not None and row.warned_at is None:
            await deadlines.claim_warning(conn, row.id, now)  # the breach supersedes it
        if not await deadlines.claim_breach(conn, row.id, now):
            return None
        returned_from = None
        if row.kind == VISIT_UNREPORTED and not await _still_open(conn, row.ref_id):
            return None
        if row.kind == DISPATCH_ACCEPT:
            view = await tickets.ticket_for_visit(conn, row.ref_id)
            if view is None or view.state != lifecycle.State.ASSIGNED:
                return None
            returned_from = view.assigned_to
            await tickets.transition(
                conn, row.ref_id, lifecycle.Event.TIMEOUT, "system", None, "no answer", at=now
            )
        return DueAlert(row.kind, BREACH, row.ref_id, row.due_at, returned_from)
    if row.warn_at is not None and row.warn_at <= now and row.warned_at is None:
        if await deadlines.claim_warning(conn, row.id, now):
            return DueAlert(row.kind, WARNING, row.ref_id, row.due_at)
    return None


async def _still_open(conn: aiosqlite.Connection, visit_id: int) -> bool:
    """The visit is still checked in with no check-out (its unreported timer still applies)."""
    visit = await visits.by_id(conn, visit_id)
    return visit is not None and visit.state == "open"


async def claim_due(
    services: Services,
    tell: Callable[[DueAlert, aiosqlite.Connection], Awaitable[None]] | None = None,
) -> list[DueAlert]:
    """Claim every warning and breach due now, in one transaction (with tell's notices)."""
    now = services.now()
    alerts: list[DueAlert] = []
    async with services.db.transaction() as conn:
        for row in await deadlines.pending(conn):
            if next_moment(row) > now:
                continue
            alert = await _act(conn, row, now)
            if alert is not None:
                alerts.append(alert)
                if tell is not None:
                    await tell(alert, conn)
    return alerts


async def run_due(app: Any) -> list[DueAlert]:
    """Claim what is due and queue each alert's notices with the claim; returns the alerts."""
    services: Services = app.bot_data["services"]
    notifier: Notifier | None = app.bot_data.get(NOTIFIER_KEY)

    async def tell(alert: DueAlert, conn: aiosqlite.Connection) -> None:
        if notifier is None:
            log.warning("deadline %s %s for %s: no notifier", alert.kind, alert.phase, alert.ref_id)
            return
        try:
            await notifier(app, alert, conn)
        except Exception:  # the claim stands; a broken notice must not hold back the others
            log.exception("could not queue %s %s for %s", alert.kind, alert.phase, alert.ref_id)

    return await claim_due(services, tell)


async def _job(context: Any) -> None:
    """A JobQueue callback: run whatever is due."""
    await run_due(context.application)


async def schedule_pending(app: Any) -> int:
    """Put every pending row into the JobQueue (overdue ones at once); returns how many."""
    services: Services = app.bot_data["services"]
    async with services.db.read() as conn:
        rows = await deadlines.pending(conn)
    now = services.now()
    for row in rows:
        schedule_row(app, row, now)
    return len(rows)


def schedule_row(app: Any, row: Deadline, now: datetime) -> None:
    """One run_once job at the row's next moment (replacing an earlier job for the same row)."""
    if app.job_queue is None:
        return
    name = f"{JOB_PREFIX}:{row.id}"
    for job in app.job_queue.get_jobs_by_name(name):
        job.schedule_removal()
    delay = max(0.0, (next_moment(row) - now).total_seconds())
    app.job_queue.run_once(_job, when=delay, name=name)


async def schedule_ref(app: Any, kind: str, ref_id: int) -> None:
    """Schedule one freshly created row (call after its transaction committed)."""
    services: Services = app.bot_data["services"]
    async with services.db.read() as conn:
        row = await deadlines.get(conn, kind, ref_id)
    if row is not None and row.state == deadlines.PENDING:
        schedule_row(app, row, services.now())


async def _startup(context: Any) -> None:
    await schedule_pending(context.application)


def register(app: Any, notifier: Notifier) -> None:
    """Install the notifier, schedule pending rows at start-up and start the safety tick."""
    app.bot_data[NOTIFIER_KEY] = notifier
    if app.job_queue is None:
        return
    app.job_queue.run_once(_startup, when=0, name=f"{JOB_PREFIX}:startup")
    app.job_queue.run_repeating(
        _job,
        interval=timedelta(seconds=TICK_SECONDS),
        first=TICK_SECONDS,
        name=f"{JOB_PREFIX}:tick",
    )
