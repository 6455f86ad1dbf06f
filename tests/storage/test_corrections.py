"""ADJ-CLOSED in storage: closing against concurrent changes, contests, carrying after restarts."""

from __future__ import annotations

import json
from datetime import date

import pytest

from bot.config import Config
from bot.services import Services, corrections, recorded_events, statements
from storage import ledger, people
from storage.db import Database

MARCH, APRIL = "2025-03", "2025-04"


async def technician(db: Database, name: str) -> int:
    async with db.transaction() as conn:
        return await people.ensure_technician(conn, name)


async def add_event(db: Database, technician_id: int, rule: str, day: date) -> int:
    async with db.transaction() as conn:
        event_id = await ledger.insert_event(
            conn, ledger.NewEvent(technician_id=technician_id, rule=rule, day=day, amount_fen=None)
        )
    assert event_id is not None
    return event_id


async def test_a_change_while_the_month_is_computed_is_in_the_snapshot(
    db: Database, config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    zhang = await technician(db, "张伟")
    await add_event(db, zhang, "DED-LATE", date(2025, 3, 3))
    real = statements.compute
    calls = []

    async def compute_then_someone_writes(*args, **kwargs):
        result = await real(*args, **kwargs)
        if not calls:
            await add_event(db, zhang, "DED-COMPLAINT", date(2025, 3, 4))
        calls.append(result)
        return result

    monkeypatch.setattr(statements, "compute", compute_then_someone_writes)
    closing = await statements.close_month(db, config, MARCH, None)
    assert not closing.already and len(calls) == 2
    snapshot = await statements.compute(db, config, MARCH)
    assert snapshot.technicians[0].deduction_fen == 1000 + 5000


async def test_contest_decided_for_the_technician_in_a_closed_month_pays_back(
    db: Database, config: Config
) -> None:
    services = Services(config, db)
    zhang = await technician(db, "张伟")
    event_id = await add_event(db, zhang, "DED-COMPLAINT", date(2025, 3, 10))
    contest_id = await recorded_events.open_contest(services, event_id, zhang, "认错人了")
    await statements.close_month(db, config, MARCH, None)
    decided = await recorded_events.decide_contest(services, contest_id, uphold=False, by=None)
    assert decided.state == "voided"
    april = await statements.compute(db, config, APRIL)
    assert [(ln.rule, ln.amount_fen, ln.adjusts) for ln in april.technicians[0].lines] == [
        ("DED-COMPLAINT", -5000, MARCH)
    ]


async def test_carrying_again_after_a_restart_adds_nothing(config: Config) -> None:
    db = await Database.open(config.db_path, config.busy_timeout_ms)
    zhang = await technician(db, "张伟")
    await statements.close_month(db, config, MARCH, None)
    await add_event(db, zhang, "DED-PRIVATE", date(2025, 3, 10))  # written behind ADJ-CLOSED
    async with db.transaction() as conn:
        assert await corrections.carry(conn, config, MARCH, None, "test") == (APRIL, 1)
    await db.close()
    db = await Database.open(config.db_path, config.busy_timeout_ms)
    try:
        async with db.transaction() as conn:
            assert await corrections.carry(conn, config, MARCH, None, "test") == (APRIL, 0)
            assert await corrections.carry(conn, config, APRIL, None, "test") is None  # open
        april = await statements.compute(db, config, APRIL)
        assert april.technicians[0].deduction_fen == 10000
        frozen = await statements.compute(db, config, MARCH)
        assert json.dumps(frozen.as_json()) == json.dumps(
            {"month": MARCH, "currency": "CNY", "technicians": []}
        )
    finally:
        await db.close()
