"""Nothing twice, nothing lost: re-delivered updates after a stop, and a SIGKILL mid-batch."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from handlers.polling import handle_once
from storage import inbox
from tests.e2e.harness import BotHarness
from tests.e2e.processes import ADMIN, wait_until, write_config

TECH = 203
ROOT = Path(__file__).resolve().parents[2]


async def test_committed_update_redelivered_after_restart_writes_once(harness: BotHarness) -> None:
    harness.emu.user(ADMIN, "管理员")
    reply = await harness.say(ADMIN, "/invite technician")
    code = reply["text"].split("/start ")[-1].strip()
    await harness.stop()

    # Handle one update by hand and stop before the next getUpdates would confirm it.
    update = harness.emu.send_text(TECH, f"/start {code}")
    await harness.start(polling=False)
    fetched = await harness.app.bot.get_updates(timeout=0)
    assert [u.update_id for u in fetched] == [update["update_id"]]
    await handle_once(harness.app, harness.db, fetched[0])
    await harness.stop()
    assert harness.emu.pending_updates() == 1  # never confirmed

    mark = harness.emu.mark()
    await harness.start()
    await harness.idle()
    redelivered = [
        call
        for call in harness.emu.calls("getUpdates", after=mark)
        if any(u["update_id"] == update["update_id"] for u in call.result or [])
    ]
    assert redelivered, "the emulator should have delivered the update again"
    assert await harness.count("SELECT count(*) FROM people WHERE telegram_id = ?", TECH) == 1
    assert await harness.count("SELECT count(*) FROM invites WHERE used_by IS NOT NULL") == 1
    # The registration answer is not sent a second time either.
    again = [c for c in harness.emu.calls("sendMessage", after=mark) if c.chat_id == TECH]
    assert again == []


def _count_invites(db_path: Path) -> int:
    if not db_path.exists():
        return 0
    conn = sqlite3.connect(db_path, timeout=5)
    try:
        return conn.execute("SELECT count(*) FROM invites").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


async def test_sigkill_with_queued_updates_handles_each_exactly_once(tmp_path: Path) -> None:
    from sandbox.emulator import BotApiEmulator

    total = 300
    async with BotApiEmulator() as emu:
        emu.user(ADMIN, "管理员")
        config = write_config(tmp_path, emu.base_url, emu.base_file_url)
        db_path = tmp_path / "bot.db"
        for _ in range(total):
            emu.send_text(ADMIN, "/invite technician")
        command = [sys.executable, "-m", "bot", "--config", str(config), "run"]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        first = subprocess.Popen(command, cwd=tmp_path, env=env, stderr=subprocess.DEVNULL)
        try:
            await wait_until(lambda: _count_invites(db_path) >= 20, timeout=60)
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        finally:
            if first.poll() is None:
                first.kill()
        handled_before = _count_invites(db_path)
        assert handled_before < total, "kill came too late to prove anything"

        second = subprocess.Popen(command, cwd=tmp_path, env=env, stderr=subprocess.DEVNULL)
        try:
            await wait_until(lambda: _count_invites(db_path) >= total, timeout=60)
            await wait_until(lambda: emu.pending_updates() == 0, timeout=10)
        finally:
            second.send_signal(signal.SIGTERM)
            try:
                second.wait(timeout=10)
            except subprocess.TimeoutExpired:
                second.kill()
        assert _count_invites(db_path) == total
        conn = sqlite3.connect(db_path)
        try:
            handled = conn.execute("SELECT count(*) FROM handled_updates").fetchone()[0]
        finally:
            conn.close()
        assert handled == total


async def test_update_confirmed_but_unhandled_waits_in_the_inbox(harness: BotHarness) -> None:
    """A crash after an update was stored and confirmed: the next start handles it, once."""
    harness.emu.user(ADMIN, "管理员")
    await harness.stop()
    update = harness.emu.send_text(ADMIN, "/invite dispatcher")
    await harness.start(polling=False)
    fetched = await harness.app.bot.get_updates(timeout=0)
    async with harness.db.transaction() as conn:
        await inbox.store(conn, [(u.update_id, json.dumps(u.to_dict())) for u in fetched])
    await harness.app.bot.get_updates(offset=update["update_id"] + 1, timeout=0)  # confirmed
    assert harness.emu.pending_updates() == 0
    await harness.stop()

    mark = harness.emu.mark()
    await harness.start()
    reply = await harness.emu.wait_for_message(ADMIN, "邀请码", after=mark)
    assert "/start " in reply["text"]
    await harness.restart()
    assert await harness.count("SELECT count(*) FROM invites") == 1
    assert await harness.count("SELECT count(*) FROM inbox") == 0
