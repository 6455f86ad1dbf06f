"""Promise timers as database rows, fired exactly once by one "next due" timer.

One PTB job is armed for the earliest pending moment (an indexed query), re-armed after each
run and moved sooner when a new row is due earlier; start-up costs one query, not a job per row.

A row is created inside the transaction that makes the promise; a job only executes what the
row says. Claiming a warning or a breach, acting on it (a dispatch timeout returns the ticket
to the queue) and queueing its notices in the outbox commit together, so a restart neither
repeats nor loses a message. What is said is left to a notifier the front end registers (it
writes notices, bot.services.notices; no Telegram types here).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiosqlite
from apscheduler.jobstores.base import JobLookupError

from bot.domain import lifecycle
from bot.domain.dispatch_models import DISPATCH_ACCEPT, VISIT_UNREPORTED, Deadline
from bot.services import Services
from storage import deadlines, tickets, visits

log = logging.getLogger(__name__)

NOTIFIER_KEY = "deadline_notifier"
TICK_SECONDS = 30  # safety net: rows written by another process are picked up this often
JOB_PREFIX = "deadline"
TIMER_KEY = "deadline_timer"
LOCK_KEY = "deadline_timer_lock"
REARM_OVERDUE_SECONDS = 1.0
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
    """Claim every warning and breach due now, in one transaction (only due rows are read),
    with tell's notices written in it."""
    now = services.now()
    alerts: list[DueAlert] = []
    async with services.db.transaction() as conn:
        for row in await deadlines.due_by(conn, now):
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
        # The claim stands; a broken notice must not hold back the others, nor leave half of
        # what its notifier wrote (an event recorded without its notice).
        await conn.execute("SAVEPOINT notify")
        try:
            await notifier(app, alert, conn)
        except Exception:
            await conn.execute("ROLLBACK TO SAVEPOINT notify")
            log.exception("could not queue %s %s for %s", alert.kind, alert.phase, alert.ref_id)
        await conn.execute("RELEASE SAVEPOINT notify")

    return await claim_due(services, tell)


async def _job(context: Any) -> None:
    """The timer (or the safety tick) went off: run whatever is due, then re-arm."""
    app = context.application
    try:
        await run_due(app)
    finally:
        await arm(app, force=True)


async def arm(app: Any, force: bool = False) -> datetime | None:
    """Point the one deadline timer at the earliest pending moment; returns that moment.

    Without force, the timer only moves when the earliest moment is sooner than the one it is
    armed for (a new row due later changes nothing)."""
    services: Services = app.bot_data["services"]
    if app.job_queue is None:
        return None
    async with app.bot_data.setdefault(LOCK_KEY, asyncio.Lock()):
        async with services.db.lookup() as conn:
            moment = await deadlines.earliest_moment(conn)
        armed: _Armed | None = app.bot_data.get(TIMER_KEY)
        if armed is not None and not force and (moment is None or moment >= armed.moment):
            return armed.moment
        if armed is not None:
            _remove(armed.job)
            app.bot_data.pop(TIMER_KEY, None)
        if moment is None:
            return None
        delay = (moment - services.now()).total_seconds()
        if delay <= 0 and force:
            delay = REARM_OVERDUE_SECONDS  # just ran and it is still due: not a busy loop
        job = app.job_queue.run_once(_job, when=max(0.0, delay), name=f"{JOB_PREFIX}:next")
        app.bot_data[TIMER_KEY] = _Armed(moment, job)
        return moment


def _remove(job: Any) -> None:
    """Unschedule a job that may already have run (a run_once job is gone once it ran)."""
    try:
        job.schedule_removal()
    except JobLookupError:
        pass


@dataclass(frozen=True)
class _Armed:
    moment: datetime
    job: Any


async def schedule_pending(app: Any) -> datetime | None:
    """Arm the timer for the pending rows (overdue ones fire at once); the moment armed for."""
    return await arm(app, force=True)


async def schedule_ref(app: Any, kind: str, ref_id: int) -> None:
    """A row was created or re-armed (call after its transaction committed): fire it in time."""
    await arm(app)


async def _startup(context: Any) -> None:
    await schedule_pending(context.application)


def register(app: Any, notifier: Notifier) -> None:
    """Install the notifier, arm the timer at start-up and start the safety tick."""
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
