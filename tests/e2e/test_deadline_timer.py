"""The one "next due" deadline timer: armed by one query, fires in time, starts and stops fast."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from bot.domain.dispatch_models import to_iso
from bot.domain.models import Role
from bot.services import timers
from tests.e2e.harness import BotHarness

DISPATCHER, GROUP = 202, -1001


def deadline_jobs(h: BotHarness) -> list[str]:
    return [job.name for job in h.app.job_queue.jobs() if job.name.startswith("deadline:")]


async def add_deadlines(h: BotHarness, count: int, first_due: datetime) -> None:
    async with h.db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO deadlines (kind, ref_id, due_at, warn_at, state)"
            " VALUES ('SLA-RESPOND', ?, ?, NULL, 'pending')",
            [(i + 1, to_iso(first_due + timedelta(seconds=7 * i))) for i in range(count)],
        )


async def open_ticket_row(h: BotHarness, ticket_id: int) -> None:
    now = datetime.now(UTC).isoformat()
    async with h.db.transaction() as conn:
        await conn.execute(
            "INSERT OR IGNORE INTO customers (id, name, class, created_at)"
            " VALUES (1, '蓝海网吧', 'network', ?)",
            (now,),
        )
        await conn.execute(
            "INSERT INTO tickets (id, customer_id, fault, service_type, state, created_at,"
            " updated_at) VALUES (?, 1, '蓝屏', 'software', 'new', ?, ?)",
            (ticket_id, now, now),
        )


async def test_many_pending_deadlines_arm_one_timer_at_the_earliest(harness: BotHarness) -> None:
    h = harness
    soon = datetime.now(UTC) + timedelta(hours=1)
    await add_deadlines(h, 3000, soon)
    armed = await timers.schedule_pending(h.app)
    assert armed == soon.replace(microsecond=0)
    assert deadline_jobs(h).count("deadline:next") == 1
    assert len(deadline_jobs(h)) <= 3  # the timer, the safety tick and (at start) the start-up

    # A row due later leaves the timer alone; one due sooner moves it.
    async with h.db.transaction() as conn:
        await timers.deadlines.upsert(conn, "SLA-ARRIVE", 9, soon + timedelta(hours=5), None)
    await timers.schedule_ref(h.app, "SLA-ARRIVE", 9)
    assert h.app.bot_data[timers.TIMER_KEY].moment == soon.replace(microsecond=0)
    sooner = soon - timedelta(minutes=30)
    async with h.db.transaction() as conn:
        await timers.deadlines.upsert(conn, "SLA-ARRIVE", 10, sooner, None)
    await timers.schedule_ref(h.app, "SLA-ARRIVE", 10)
    assert h.app.bot_data[timers.TIMER_KEY].moment == sooner.replace(microsecond=0)
    assert deadline_jobs(h).count("deadline:next") == 1


async def test_the_timer_fires_a_breach_once_in_real_time(harness: BotHarness) -> None:
    h = harness
    await h.seed(DISPATCHER, "王调度", Role.DISPATCHER)
    await h.bind_group(GROUP)
    await open_ticket_row(h, 1)
    await open_ticket_row(h, 2)
    mark = h.emu.mark()
    now = datetime.now(UTC)
    async with h.db.transaction() as conn:
        await timers.deadlines.upsert(conn, "SLA-RESPOND", 1, now + timedelta(seconds=1), None)
        await timers.deadlines.upsert(conn, "SLA-RESPOND", 2, now + timedelta(seconds=2), None)
    await timers.schedule_ref(h.app, "SLA-RESPOND", 1)
    for ticket in (1, 2):
        await h.emu.wait_for_message(GROUP, f"#{ticket}", after=mark, timeout=8)
    assert await h.count("SELECT count(*) FROM deadlines WHERE state = 'fired'") == 2
    await asyncio.sleep(1.5)  # the re-armed timer finds nothing more to send
    alerts = [
        c
        for c in h.emu.calls("sendMessage", after=mark)
        if c.chat_id == GROUP and "SLA-RESPOND" in c.params["text"]
    ]
    assert len(alerts) == 2  # one breach each, nothing repeated by the re-armed timer
    assert timers.TIMER_KEY not in h.app.bot_data  # nothing pending: no timer


async def test_start_and_stop_are_fast_with_10k_pending_deadlines(harness: BotHarness) -> None:
    h = harness
    await add_deadlines(h, 10_000, datetime.now(UTC) + timedelta(hours=2))
    await h.stop()
    started = time.perf_counter()
    await h.start()
    h.emu.user(1, "站长")
    await h.say(1, "/help")
    assert time.perf_counter() - started < 2.0
    await asyncio.sleep(0.2)  # the start-up job has armed the timer
    assert deadline_jobs(h).count("deadline:next") == 1
    stopping = time.perf_counter()
    await h.stop()
    assert time.perf_counter() - stopping < 3.0
    await h.start()  # the fixture stops it again
