"""The automatic monthly summary and the daily backup: due once, sent once, restart-safe."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from bot.domain.models import Role
from handlers import jobs
from tests.e2e.harness import BotHarness

MANAGER = 201


async def test_monthly_summary_sent_once_after_its_moment_even_across_restart(
    harness: BotHarness,
) -> None:
    await harness.stop()
    harness.config = replace(harness.config, monthly_summary=True, admins=())
    await harness.start()
    await harness.seed(MANAGER, "李经理", Role.MANAGER)
    harness.clock.set(datetime(2026, 12, 1, 0, 59, tzinfo=UTC))  # 08:59 in Chengdu
    assert await jobs.monthly_summary_tick(harness.app) is None
    harness.clock.set(datetime(2026, 12, 1, 1, 1, tzinfo=UTC))  # 09:01
    mark = harness.emu.mark()
    assert await jobs.monthly_summary_tick(harness.app) == "2026-11"
    assert [c.chat_id for c in harness.emu.calls("sendDocument", after=mark)] == [MANAGER]
    assert await jobs.monthly_summary_tick(harness.app) is None
    await harness.restart()
    assert await jobs.monthly_summary_tick(harness.app) is None
    assert len(harness.emu.calls("sendDocument", after=mark)) == 1


async def test_daily_backup_once_per_day(harness: BotHarness, tmp_path) -> None:
    await harness.stop()
    folder = tmp_path / "daily"
    harness.config = replace(harness.config, backup_dir=str(folder), backup_keep=2)
    await harness.start()
    harness.clock.set(datetime(2026, 12, 1, 18, 0, tzinfo=UTC))  # 02:00 local: not yet
    assert await jobs.backup_tick(harness.app) is None
    for day in (2, 3, 4):
        harness.clock.set(datetime(2026, 12, day, 20, 0, tzinfo=UTC))  # 04:00 local next day
        assert await jobs.backup_tick(harness.app) is not None
        assert await jobs.backup_tick(harness.app) is None
    assert sorted(p.name for p in folder.iterdir()) == [
        "fieldbot-2026-12-04.db",
        "fieldbot-2026-12-05.db",
    ]
