"""A big station's month over real HTTP: /summary and the monthly job answer within Telegram's
limits, with the heavy work in a worker process."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import openpyxl

from bot.domain.models import Role
from bot.services import report_worker
from handlers import jobs
from tests.e2e.harness import BotHarness

MANAGER, MANAGER_EN = 201, 202
TECHNICIANS = 200
LIMIT = 4096


async def seed_month(h: BotHarness, technicians: int = TECHNICIANS, slips_each: int = 2) -> None:
    """technicians with long names and slips_each November slips each, straight into the DB."""
    start = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
    created = start.isoformat()
    async with h.db.transaction() as conn:
        await conn.execute(
            "INSERT INTO customers (id, name, class, created_at) VALUES (1, '客户', 'other', ?)",
            (created,),
        )
        await conn.executemany(
            "INSERT INTO people (id, name, role, created_at) VALUES (?, ?, 'technician', ?)",
            [
                (1000 + i, f"技术员{i:03d}·很长很长的名字 & <团队{i % 7}>", created)
                for i in range(technicians)
            ],
        )
        rows = []
        for i in range(technicians):
            for k in range(slips_each):
                check_in = start + timedelta(hours=i % 500, minutes=k * 7)
                check_out = check_in + timedelta(minutes=40 + i % 60)
                rows.append(
                    (
                        1000 + i,
                        "other",
                        "network" if (i + k) % 3 == 0 else "single",
                        "hardware",
                        check_in.isoformat(),
                        check_out.isoformat(),
                        check_out.isoformat(timespec="seconds"),
                        30.6 + i / 1000,
                        104.0,
                        1000.0 + 37 * i,
                        ("satisfied", "dissatisfied", None)[(i + k) % 3],
                        (i * 131) % 9000,
                        created,
                    )
                )
        await conn.executemany(
            "INSERT INTO slips (technician_id, customer_id, customer_class, netcafe, machine,"
            " service_type, check_in, check_out, check_out_utc, site_lat, site_lon, distance_m,"
            " complete, satisfaction, revenue_fen, created_at)"
            " VALUES (?, 1, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
            rows,
        )


def _text_of(call) -> str:  # noqa: ANN001
    return call.params.get("text") or call.params.get("caption") or ""


async def test_summary_of_200_technicians_fits_and_sends_files(harness: BotHarness) -> None:
    harness.clock.set(datetime(2026, 12, 5, 2, 0, tzinfo=UTC))
    await harness.seed(MANAGER, "李经理", Role.MANAGER)
    await seed_month(harness)
    mark = harness.emu.mark()
    harness.emu.send_text(MANAGER, "/summary 2026-11")
    await harness.emu.wait_for(
        lambda c: c.method == "sendPhoto" and c.chat_id == MANAGER, after=mark, timeout=120
    )
    calls = [c for c in harness.emu.calls(after=mark) if c.chat_id == MANAGER]
    assert all(c.ok for c in calls), [c.summary() for c in calls if not c.ok]
    assert all(len(_text_of(c)) < LIMIT for c in calls)
    assert "upload_document" in [
        c.params.get("action") for c in calls if c.method == "sendChatAction"
    ]
    [table] = [c for c in calls if c.method == "sendMessage"]
    text = table.result["text"]
    assert "全站合计（200 人）" in text and "共 200 名" in text
    assert "工单 400" in text  # every slip counted in the station totals
    document = next(c for c in calls if c.method == "sendDocument")
    data = harness.emu.get_file_bytes(document.result["document"]["file_id"])
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    assert len(book.sheetnames) == 1 + TECHNICIANS


async def test_summary_worker_failure_gets_a_clear_answer(harness: BotHarness, monkeypatch) -> None:
    await harness.seed(MANAGER, "李经理", Role.MANAGER)

    async def broken(job, progress=None, **kw):  # noqa: ANN001, ANN003
        raise report_worker.ReportJobError("worker exited with 1")

    monkeypatch.setattr(report_worker, "run_job", broken)
    reply = await harness.say(MANAGER, "/summary 2026-11")
    assert "没有生成出来" in reply["text"]


async def test_monthly_job_makes_each_language_once_and_sends_to_each(
    harness: BotHarness, monkeypatch
) -> None:
    await harness.stop()
    harness.config = replace(harness.config, monthly_summary=True, admins=())
    await harness.start()
    await harness.seed(MANAGER, "李经理", Role.MANAGER)
    await harness.seed(MANAGER_EN, "Ann", Role.MANAGER, language="en")
    await seed_month(harness, technicians=20, slips_each=3)
    runs = []
    real = report_worker.run_job

    async def counted(job, progress=None, **kw):  # noqa: ANN001, ANN003
        runs.append(job)
        return await real(job, progress, **kw)

    monkeypatch.setattr(report_worker, "run_job", counted)
    harness.clock.set(datetime(2026, 12, 1, 1, 1, tzinfo=UTC))  # 09:01 in Chengdu on the 1st
    mark = harness.emu.mark()
    assert await jobs.monthly_summary_tick(harness.app) == "2026-11"
    assert len(runs) == 1 and sorted(runs[0].languages) == ["en", "zh-CN"]
    documents = harness.emu.calls("sendDocument", after=mark)
    assert sorted(c.chat_id for c in documents) == [MANAGER, MANAGER_EN]
    tables = {c.chat_id: c.result["text"] for c in harness.emu.calls("sendMessage", after=mark)}
    assert "全站合计（20 人）" in tables[MANAGER]
    assert "Station total (20 technicians)" in tables[MANAGER_EN]
    for call in documents:
        data = harness.emu.get_file_bytes(call.result["document"]["file_id"])
        first = openpyxl.load_workbook(io.BytesIO(data), read_only=True).sheetnames[0]
        assert first == ("汇总" if call.chat_id == MANAGER else "Summary")


async def test_closemonth_snapshot_from_the_worker_matches_the_statement(
    harness: BotHarness,
) -> None:
    import hashlib

    from bot.services import statements

    harness.clock.set(datetime(2026, 12, 5, 2, 0, tzinfo=UTC))
    await harness.seed(MANAGER, "李经理", Role.MANAGER)
    await seed_month(harness, technicians=12, slips_each=3)
    expected = statements.snapshot_json(
        await statements.compute(harness.db, harness.config, "2026-11")
    )
    digest = hashlib.sha256(expected.encode("utf-8")).hexdigest()
    reply = await harness.say(MANAGER, "/closemonth 2026-11")
    assert digest[:16] in reply["text"]
    async with harness.db.read() as conn:
        from bot.services import corrections
        from storage import months

        # The worker wrote the month as its parts; joined, they are exactly the text hashed.
        assert await months.snapshot(conn, "2026-11") == months.FROM_PARTS
        _closed, attempt = await months.parts_attempt(conn, "2026-11")
        assert await corrections.frozen_text(conn, "2026-11", attempt) == expected
        rows = await conn.execute_fetchall(
            "SELECT count(*) FROM closed_month_parts WHERE attempt = ?", (attempt,)
        )
        assert rows[0][0] == 12


async def test_one_read_gives_the_same_statement_and_metrics(harness: BotHarness) -> None:
    from bot.services import statements

    await seed_month(harness, technicians=15, slips_each=4)
    db, config = harness.db, harness.config
    statement, metrics = await statements.compute_with_metrics(db, config, "2026-11")
    assert statement == await statements.compute(db, config, "2026-11")
    assert metrics == await statements.metrics(db, config, "2026-11")
    assert sum(m.visits for m in metrics.values()) == 60
    assert sum(m.rated for m in metrics.values()) == 40  # every third slip is unrated
