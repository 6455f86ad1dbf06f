"""Shared fixtures: a validated config on a temporary database."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

from bot.config import EXAMPLE_PATH, Config, parse_config
from storage.db import Database

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "tests" / "data" / "examples"  # the worked examples as import files
RULES_DOC = ROOT / "docs" / "rules.md"


def example_data() -> dict:
    with open(EXAMPLE_PATH, "rb") as handle:
        return tomllib.load(handle)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    base = parse_config(example_data(), env={})
    return replace(
        base,
        db_path=str(tmp_path / "fieldbot.db"),
        admins=(1,),
        rate_limiter=False,
        monthly_summary=False,  # timed jobs are driven explicitly by their own tests
        backup_dir="",
    )


@pytest.fixture
async def db(config: Config):
    database = await Database.open(config.db_path, config.busy_timeout_ms)
    yield database
    await database.close()


@pytest.fixture
async def harness(config: Config):
    """The real application polling the Bot API emulator on 127.0.0.1."""
    from sandbox.emulator import BotApiEmulator
    from tests.e2e.harness import BotHarness, Clock

    clock = Clock()
    # Message dates follow the test's clock, as Telegram's follow the real one.
    async with BotApiEmulator(clock=lambda: clock().timestamp()) as emulator:
        bot_harness = BotHarness(emulator, config, clock)
        await bot_harness.start()
        try:
            yield bot_harness
        finally:
            await bot_harness.stop()
