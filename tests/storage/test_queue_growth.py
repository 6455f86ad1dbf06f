"""The queue read for growth: one query of what ranking needs, the same order as TicketFacts."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import Config
from bot.domain import priority
from bot.domain.dispatch_models import SLA_RESPOND
from bot.domain.models import CUSTOMER_CLASSES
from bot.services import Services, dispatching
from storage import deadlines, tickets
from storage.db import Database

NOW = datetime(2026, 11, 26, 1, 30, tzinfo=UTC)


@pytest.fixture
def services(config: Config, db: Database) -> Services:
    return Services(config=config, db=db, clock=lambda: NOW)


async def seed(db: Database, count: int, seed: int) -> None:
    rng = random.Random(seed)
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO customers (id, name, class, created_at) VALUES (?, ?, ?, ?)",
            [(i + 1, f"c{i}", cls, NOW.isoformat()) for i, cls in enumerate(CUSTOMER_CLASSES)],
        )
        for i in range(count):
            created = NOW - timedelta(seconds=rng.randrange(0, 6 * 3600))
            if rng.random() < 0.2:
                created = NOW - timedelta(minutes=30)  # ties on score and age
            state = rng.choice(("new", "new", "needs_revisit", "assigned"))
            await conn.execute(
                "INSERT INTO tickets (id, customer_id, fault, service_type, major, brand, tool,"
                " repeat, pinned, state, created_at, updated_at)"
                " VALUES (?, ?, 'f', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    i + 1,
                    rng.randrange(len(CUSTOMER_CLASSES)) + 1,
                    rng.choice(("hardware", "software")),
                    *(rng.random() < 0.5 for _ in range(4)),
                    rng.random() < 0.05,
                    state,
                    created.isoformat(),
                    created.isoformat(),
                ),
            )
            if rng.random() < 0.7:
                due = created + timedelta(minutes=rng.randrange(30, 300))
                await deadlines.upsert(conn, SLA_RESPOND, i + 1, due, None)


@pytest.mark.parametrize("seed_value", [1, 2, 3])
async def test_queue_entries_rank_like_ticket_facts(services: Services, seed_value: int) -> None:
    await seed(services.db, 300, seed_value)
    fast = await dispatching.queue_ranked(services)
    async with services.db.read() as conn:
        views = await tickets.in_states(conn, tickets.QUEUE_STATES)
        pending = await deadlines.pending_for(
            conn, dispatching.PROMISE_KINDS, [v.id for v in views]
        )
    facts = [
        dispatching.facts_of(
            v, pending[(SLA_RESPOND, v.id)].due_at if (SLA_RESPOND, v.id) in pending else None
        )
        for v in views
    ]
    window = timedelta(hours=services.config.sla.respond_hours)
    slow = priority.rank(facts, NOW, services.config.priority, window)
    assert [r.ticket.id for r in fast] == [r.ticket.id for r in slow]
    assert [r.total for r in fast] == [r.total for r in slow]
    assert [r.breakdown for r in fast[:20]] == [r.breakdown for r in slow[:20]]
    rows = await dispatching.queue_rows(services, fast[:10])
    assert [row.ticket.id for row in rows] == [r.ticket.id for r in fast[:10]]
    for row in rows:
        assert set(row.promises) <= set(dispatching.PROMISE_KINDS)


@pytest.mark.parametrize("seed_value", [4, 5, 6])
async def test_the_database_ranks_pages_exactly_as_rank_does(
    services: Services, seed_value: int
) -> None:
    await seed(services.db, 400, seed_value)
    reference = await dispatching.queue_ranked(services)
    count, _ = await dispatching.queue_page(services, 0, 10)
    assert count == len(reference)
    pages = []
    for offset in range(0, count, 10):
        pages += (await dispatching.queue_page(services, offset, 10))[1]
    assert [(r.position, r.ticket.id, r.total, r.ageing) for r in pages] == [
        (r.position, r.ticket.id, r.total, r.ageing) for r in reference
    ]
    assert [r.breakdown for r in pages] == [r.breakdown for r in reference]
