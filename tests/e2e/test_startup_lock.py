"""Start-up while another connection holds SQLite's write lock: the bot waits, then serves,
and the event loop keeps turning while it waits."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import pytest

import handlers  # noqa: F401 - imported before the clock starts, as a running bot has
from bot.config import Config
from bot.domain.models import Role
from sandbox.emulator import BotApiEmulator
from tests.e2e.harness import BotHarness, Clock

MANAGER = 201
HOLD_S = 1.2


def _hold_write_lock(
    path: str, statements: list[str], ready: threading.Event, released: threading.Event
) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for statement in statements:
            conn.execute(statement)
        ready.set()
        time.sleep(HOLD_S)
        released.set()
        conn.execute("ROLLBACK")
    finally:
        conn.close()


async def _loop_lag(released: threading.Event) -> float:
    """The longest the loop was away while start-up waited for the lock."""
    worst = 0.0
    loop = asyncio.get_running_loop()
    while not released.is_set():
        before = loop.time()
        await asyncio.sleep(0.005)
        worst = max(worst, loop.time() - before - 0.005)
    return worst


@pytest.mark.parametrize(
    "holder",
    [
        # Another process creating the database (rollback journal, not WAL yet).
        ["BEGIN EXCLUSIVE", "CREATE TABLE other (x)"],
        # A maintenance tool with the migrated database out of WAL and locked (a VACUUM, say).
        ["PRAGMA journal_mode=DELETE", "BEGIN EXCLUSIVE", "DELETE FROM inbox"],
    ],
    ids=["creating", "maintenance"],
)
async def test_start_waits_for_another_writer(
    config: Config, tmp_path: Path, holder: list[str]
) -> None:
    if holder[0].startswith("PRAGMA"):  # a migrated database
        async with BotApiEmulator() as emulator:
            first = BotHarness(emulator, config, Clock())
            await first.start(polling=False)
            await first.stop()
    ready, released = threading.Event(), threading.Event()
    thread = threading.Thread(
        target=_hold_write_lock, args=(config.db_path, holder, ready, released)
    )
    thread.start()
    try:
        assert await asyncio.to_thread(ready.wait, 5)
        async with BotApiEmulator() as emulator:
            harness = BotHarness(emulator, config, Clock())
            lag = asyncio.create_task(_loop_lag(released))
            started = time.monotonic()
            await harness.start()
            waited = time.monotonic() - started
            try:
                assert waited >= HOLD_S * 0.5, "the lock was gone before start-up needed it"
                assert await lag < 0.1  # retried with async sleeps, not waited for in SQLite
                await harness.seed(MANAGER, "李经理", Role.MANAGER)
                reply = await harness.say(MANAGER, "/help")
                assert reply["text"].startswith("可用命令")
            finally:
                await harness.stop()
    finally:
        await asyncio.to_thread(thread.join)
