"""ADJ-CLOSED in storage: closing against concurrent changes, contests, carrying after restarts."""

from __future__ import annotations

import json
from datetime import date

import pytest

from bot.config import Config
from bot.domain.models import (
    MonthStatement,
    StatementLine,
    TechnicianStatement,
    statement_from_json,
)
from bot.services import (
    Services,
    corrections,
    recorded_events,
    report_worker,
    snapshots,
    statements,
)
from storage import ledger, months, people
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


async def staged_in_process(db: Database, config: Config, month: str):
    """What the bot's worker process does for /closemonth, run here: compute, write the parts."""

    async def stage(attempt: str) -> str:
        return await report_worker.StagePartsJob(db.path, config, month, attempt).run()

    return stage


async def two_technicians_in_march(db: Database) -> None:
    zhang, li = await technician(db, "张伟"), await technician(db, "李娜")
    await add_event(db, zhang, "DED-LATE", date(2025, 3, 3))
    await add_event(db, li, "DED-COMPLAINT", date(2025, 3, 4))


@pytest.mark.parametrize("staged", [False, True], ids=["whole", "staged-parts"])
async def test_a_closed_month_keeps_each_technicians_part_of_its_snapshot(
    db: Database, config: Config, staged: bool
) -> None:
    await two_technicians_in_march(db)
    expected = statements.snapshot_json(await statements.compute(db, config, MARCH))
    stage = await staged_in_process(db, config, MARCH) if staged else None
    closing = await statements.close_month(db, config, MARCH, None, stage)
    assert closing.sha256 == snapshots.sha256(expected) and not closing.already
    async with db.read() as conn:
        stored = await months.snapshot(conn, MARCH)
        closed, attempt = await months.parts_attempt(conn, MARCH)
        parts = await months.parts(conn, MARCH, attempt, ["张伟", "李娜", "王五"])
        text = await corrections.frozen_text(conn, MARCH, attempt)
        only_li = await corrections.frozen(conn, MARCH, {"李娜"})
        everyone = await corrections.frozen(conn, MARCH)
        kept = await conn.execute_fetchall("SELECT count(*) FROM closed_month_parts")
    # The parts alone are the snapshot: joined, they are the text hashed.
    assert stored == months.FROM_PARTS and closed
    assert text == expected and kept[0][0] == 2
    assert {name: json.loads(part) for name, part in parts.items()} == {
        item["technician"]: item for item in json.loads(expected)["technicians"]
    }
    assert [t.technician for t in only_li.technicians] == ["李娜"]
    assert only_li.technicians[0] == next(t for t in everyone.technicians if t.technician == "李娜")
    mine = await statements.compute(db, config, MARCH, "张伟")
    assert [t.technician for t in mine.technicians] == ["张伟"]
    assert mine.technicians[0].deduction_fen == 1000


async def test_parts_staged_while_the_month_changes_are_dropped_and_it_is_computed_again(
    db: Database, config: Config
) -> None:
    await two_technicians_in_march(db)
    stage = await staged_in_process(db, config, MARCH)
    calls = []

    async def stage_then_someone_writes(attempt: str) -> str:
        digest = await stage(attempt)
        if not calls:
            zhang = await technician(db, "张伟")
            await add_event(db, zhang, "DED-PRIVATE", date(2025, 3, 5))
        calls.append(attempt)
        return digest

    # A crashed attempt left parts behind, too.
    await stage("crashed")
    closing = await statements.close_month(db, config, MARCH, None, stage_then_someone_writes)
    assert len(calls) == 2 and not closing.already
    async with db.read() as conn:
        attempts = await conn.execute_fetchall("SELECT DISTINCT attempt FROM closed_month_parts")
        _closed, attempt = await months.parts_attempt(conn, MARCH)
    assert [row[0] for row in attempts] == [calls[1]] == [attempt]
    zhang = (await statements.compute(db, config, MARCH, "张伟")).technicians[0]
    assert [line.rule for line in zhang.lines if line.kind == "deduction"] == [
        "DED-LATE",
        "DED-PRIVATE",
    ]


async def test_closing_a_month_closed_meanwhile_keeps_the_first_close(
    db: Database, config: Config
) -> None:
    await two_technicians_in_march(db)
    stage = await staged_in_process(db, config, MARCH)

    async def someone_closes_first(attempt: str) -> str:
        await statements.close_month(db, config, MARCH, None)
        return await stage(attempt)

    first = await statements.close_month(db, config, MARCH, None, someone_closes_first)
    assert first.already
    async with db.read() as conn:
        attempts = await conn.execute_fetchall(
            "SELECT count(DISTINCT attempt) FROM closed_month_parts"
        )
    assert attempts[0][0] == 1


def test_the_parts_joined_are_the_snapshot_dumped_whole() -> None:
    lines = (
        StatementLine("DED-LATE", 1000, "event 1", '迟到 "半小时"\n', "deduction"),
        StatementLine("TRV-HOW", 2350, "slip 7", "路费 😀", "travel", "2025-02"),
    )
    for technicians in [
        (),
        (TechnicianStatement("张伟", 1, 1, lines),),
        (TechnicianStatement("张伟", 1, 1, lines), TechnicianStatement("Ann", 0, 0, ())),
    ]:
        statement = MonthStatement(MARCH, technicians)
        snapshot = snapshots.make_snapshot(statement)
        assert snapshot.text == snapshots.dumps(statement.as_json())
        assert snapshot.sha256 == snapshots.sha256(snapshot.text)
        assert [
            t.technician for t in statement_from_json(json.loads(snapshot.text)).technicians
        ] == [t.technician for t in technicians]


async def test_a_month_closed_without_parts_is_still_read_and_corrected(
    db: Database, config: Config
) -> None:
    zhang = await technician(db, "张伟")
    await add_event(db, zhang, "DED-LATE", date(2025, 3, 3))
    await statements.close_month(db, config, MARCH, None)
    async with db.transaction() as conn:  # as months were stored before parts were kept
        _closed, attempt = await months.parts_attempt(conn, MARCH)
        whole = await corrections.frozen_text(conn, MARCH, attempt)
        await conn.execute("DELETE FROM closed_month_parts")
        await conn.execute("UPDATE closed_months SET parts_attempt = NULL, snapshot = ?", (whole,))
    mine = await statements.compute(db, config, MARCH, "张伟")
    assert mine.technicians[0].deduction_fen == 1000
    await add_event(db, zhang, "DED-PRIVATE", date(2025, 3, 10))
    async with db.transaction() as conn:
        assert await corrections.carry(conn, config, MARCH, {"张伟"}, "test") == (APRIL, 1)


async def test_parts_of_a_close_a_crash_stopped_are_removed_at_start_and_counted_ones_kept(
    db: Database, config: Config
) -> None:
    await two_technicians_in_march(db)
    stage = await staged_in_process(db, config, MARCH)
    await statements.close_month(db, config, MARCH, None, stage)
    assert await stage("late") == ""  # March is closed: nothing more is staged for it
    async with db.transaction() as conn:  # staged for a month never closed (as if by a crash)
        await months.stage_parts(conn, APRIL, "crashed", 0, [("张伟", "{}")])
    assert await statements.drop_abandoned_parts(db) == 1
    assert await statements.drop_abandoned_parts(db) == 0
    async with db.read() as conn:
        rows = await conn.execute_fetchall(
            "SELECT month, count(*) FROM closed_month_parts GROUP BY month"
        )
    assert [tuple(row) for row in rows] == [(MARCH, 2)]
    assert (await statements.compute(db, config, MARCH, "李娜")).technicians[
        0
    ].deduction_fen == 5000
