"""Retention and people's rights: old tracks purged daily, export and erase from the CLI.

Statements never change: the month's JSON is byte-for-byte the same before and after.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from bot import cli
from bot.services import statements
from handlers import jobs
from tests.e2e.harness import BotHarness
from tests.e2e.test_evidence import check_out_at
from tests.e2e.test_visits import NOW, SITE, TECH, arrive, send_location, setup, visits


async def live_visit_with_track(h: BotHarness) -> None:
    """A live check-in, three live updates and a check-out (a slip for the month)."""
    ticket = await setup(h)
    await arrive(h, ticket)
    await send_location(h, live_period=3600)
    [visit] = await visits(h)
    for step in range(3):
        h.clock.advance(minutes=5)
        update = h.emu.edit_live_location(
            TECH, TECH, visit["check_in_message_id"], SITE[0] + step * 1e-5, SITE[1]
        )
        await h.handled(update)
    h.clock.advance(minutes=5)
    await check_out_at(h, SITE[0] + 0.2, SITE[1], horizontal_accuracy=10)  # flagged: 22 km off


async def statement_json(h: BotHarness) -> str:
    return statements.statement_json(await statements.compute(h.db, h.config, "2026-11"))


async def test_old_tracks_are_purged_and_the_statement_is_unchanged(harness: BotHarness) -> None:
    h = harness
    await live_visit_with_track(h)
    before = await statement_json(h)
    [visit] = await visits(h)
    assert await h.count("SELECT count(*) FROM live_points") == 3
    flags_before = await h.count("SELECT count(*) FROM visit_flags")
    assert flags_before >= 1

    h.clock.set(NOW + timedelta(days=89))  # inside the 90-day window: kept
    assert await jobs.purge_tick(h.app) is not None
    assert await h.count("SELECT count(*) FROM live_points") == 3
    assert await jobs.purge_tick(h.app) is None  # once a day

    h.clock.set(NOW + timedelta(days=91))
    assert await jobs.purge_tick(h.app) is not None
    assert await h.count("SELECT count(*) FROM live_points") == 0
    [after_visit] = await visits(h)
    for column in ("check_in_lat", "check_in_lon", "check_out_lat", "check_out_lon"):
        assert after_visit[column] is None
    for column in ("check_in_distance_m", "check_out_distance_m", "check_in_evidence"):
        assert after_visit[column] == visit[column]
    assert after_visit["track_purged_at"] is not None
    assert await h.count("SELECT count(*) FROM visit_flags") == flags_before
    assert await statement_json(h) == before


async def run_cli(*argv: str) -> int:
    return await asyncio.to_thread(cli.main, list(argv))


async def test_export_person_and_forget_customer(harness: BotHarness, capsys, tmp_path) -> None:
    h = harness
    await live_visit_with_track(h)
    before = await statement_json(h)
    db = h.config.db_path

    out = tmp_path / "zhang.json"
    assert await run_cli("export-person", "张伟", "--db", db, "--out", str(out)) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    [person] = data["people"]
    assert person["role"] == "technician" and len(person["slips"]) == 1
    [visit] = person["visits"]
    assert len(visit["live_points"]) == 3 and visit["flags"]
    assert "written to" in capsys.readouterr().out

    assert await run_cli("export-person", "王先生1", "--db", db) == 0
    customer = json.loads(capsys.readouterr().out)["customers"][0]
    assert customer["phone"] == "13800000000" and len(customer["slips"]) == 1

    assert await run_cli("forget-customer", "王先生1", "--db", db) == 0
    async with h.db.read() as conn:
        [row] = await conn.execute_fetchall("SELECT * FROM customers")
    assert row["name"].startswith("已删除客户 #") and row["phone"] == "" and row["address"] == ""
    assert row["lat"] is None and row["forgotten_at"] is not None
    assert await h.count("SELECT count(*) FROM slips") == 1
    # Amounts stay; a note that named the customer now names the pseudonym.
    assert await statement_json(h) == before.replace("王先生1", row["name"])
    assert await run_cli("export-person", "王先生1", "--db", db) == 2  # nobody of that name now
    assert await run_cli("forget-customer", "王先生1", "--db", db) == 2

    async with h.db.read() as conn:
        rows = await conn.execute_fetchall(
            "SELECT actor, action, detail FROM audit_log ORDER BY id"
        )
    assert [tuple(r) for r in rows] == [
        ("cli", "export-person", "张伟"),
        ("cli", "export-person", "王先生1"),
        ("cli", "forget-customer", f"#{row['id']}"),
    ]


async def test_purge_spares_open_and_recent_visits(db) -> None:  # noqa: ANN001 - fixture
    from storage import privacy

    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO people (id, name, role, created_at) VALUES (1, '张伟', 'technician', ?)",
            (NOW.isoformat(),),
        )
        for visit_id, state, closed in (
            (1, "closed", NOW - timedelta(days=100)),
            (2, "open", None),
            (3, "closed", NOW - timedelta(days=10)),
        ):
            await conn.execute(
                "INSERT INTO visits (id, technician_id, check_in_at, check_in_lat, check_in_lon,"
                " check_out_at, state) VALUES (?, 1, ?, 30.6, 104.0, ?, ?)",
                (
                    visit_id,
                    (NOW - timedelta(days=100)).isoformat(),
                    closed.isoformat() if closed else None,
                    state,
                ),
            )
            await conn.execute(
                "INSERT INTO live_points (visit_id, lat, lon, at) VALUES (?, 30.6, 104.0, ?)",
                (visit_id, NOW.isoformat()),
            )
    async with db.transaction() as conn:
        assert await privacy.purge_tracks(conn, NOW - timedelta(days=90), NOW) == 1
        assert await privacy.purge_tracks(conn, NOW - timedelta(days=90), NOW) == 0
    async with db.read() as conn:
        kept = await conn.execute_fetchall("SELECT DISTINCT visit_id FROM live_points ORDER BY 1")
        located = await conn.execute_fetchall(
            "SELECT id FROM visits WHERE check_in_lat IS NOT NULL ORDER BY id"
        )
    assert [r[0] for r in kept] == [2, 3]
    assert [r[0] for r in located] == [2, 3]
