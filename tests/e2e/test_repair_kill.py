"""A repair promise across a real SIGKILL: RMA-10DAY's question reaches the receiver once, and the
event recorded at the end of day 10 is written once, with a real `python -m bot run` process."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.domain.dispatch_models import to_iso
from sandbox.emulator import BotApiEmulator
from tests.e2e.processes import wait_until, write_config
from tests.e2e.test_outbox import GROUP, ROOT, _query

TECH = 201
KIND = "repair:RMA-10DAY"


def _seed(db_path: Path, now: datetime) -> None:
    """A technician who took an item in ten days ago; its RMA-10DAY question is due now."""
    taken = to_iso(now - timedelta(days=10))
    conn = sqlite3.connect(db_path, timeout=5)
    try:
        conn.execute(
            "INSERT INTO people (name, role, telegram_id, language, created_at) "
            "VALUES ('李工', 'technician', ?, 'zh-CN', '2026-01-01T00:00:00+00:00')",
            (TECH,),
        )
        conn.execute(  # the gate knows people by their identity on the channel
            "INSERT INTO identities (channel, external_id, person_id, linked_at) "
            "SELECT 'telegram', CAST(telegram_id AS TEXT), id, created_at FROM people"
        )
        conn.execute(
            "INSERT INTO bound_chats (purpose, chat_id, bound_by, bound_at) "
            "VALUES ('dispatch', ?, 0, '2026-01-01T00:00:00+00:00')",
            (GROUP,),
        )
        conn.execute(
            "INSERT INTO customers (name, class, kind, created_at) "
            "VALUES ('王先生', 'other', '', '2026-01-01T00:00:00+00:00')"
        )
        conn.execute(
            "INSERT INTO repair_items (voucher_no, token, customer_id, product, fault, packaging, "
            "taken_in_by, taken_in_at, holder_id, state, created_at, updated_at) "
            "SELECT 'R-KILL-1', 'tok-kill-1', c.id, '联想台式机', '无法开机', 'complete', "
            "p.id, ?, p.id, 'received', ?, ? FROM customers c, people p",
            (taken, taken, taken),
        )
        conn.execute(  # the question is due (warn_at passed), the end of day 10 is ahead
            "INSERT INTO deadlines (kind, ref_id, due_at, warn_at, state) "
            "SELECT ?, id, ?, ?, 'pending' FROM repair_items",
            (KIND, to_iso(now + timedelta(hours=1)), to_iso(now - timedelta(minutes=1))),
        )
        conn.commit()
    finally:
        conn.close()


def _asked(emu: BotApiEmulator) -> list[str]:
    return [
        m.get("text") or "" for m in emu.messages_to(TECH) if "RMA-10DAY" in (m.get("text") or "")
    ]


def _stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def _kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


async def test_rma_10day_asked_once_and_recorded_once_across_sigkills(tmp_path: Path) -> None:
    async with BotApiEmulator() as emu:
        emu.user(TECH, "李工")
        emu.group(GROUP, "调度群")
        config = write_config(
            tmp_path, emu.base_url, emu.base_file_url, "[reports]", "monthly_summary = false"
        )
        db_path = tmp_path / "bot.db"
        command = [sys.executable, "-m", "bot", "--config", str(config), "run"]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}

        def start() -> subprocess.Popen:
            return subprocess.Popen(command, cwd=tmp_path, env=env, stderr=subprocess.DEVNULL)

        def state() -> list[tuple]:
            return _query(
                db_path, f"SELECT state, warned_at IS NOT NULL FROM deadlines WHERE kind = '{KIND}'"
            )

        first = start()  # only to create the database, then seed it
        try:
            await wait_until(lambda: any(c.method == "getUpdates" for c in emu.sent))
        finally:
            _stop(first)
        _seed(db_path, datetime.now(UTC))

        # The bot claims the question and it reaches the receiver; then it is killed.
        second = start()
        try:
            await wait_until(lambda: len(_asked(emu)) == 1)
            assert state() == [("pending", 1)]
            _kill(second)
        finally:
            if second.poll() is None:
                second.kill()

        seen = len(emu.sent)
        third = start()
        try:
            await wait_until(lambda: any(c.method == "getUpdates" for c in emu.sent[seen:]))
            await asyncio.sleep(2.0)  # a second question would have arrived by now
            assert len(_asked(emu)) == 1
        finally:
            _stop(third)

        # Nobody answers and day 10 ends: the breach is claimed, the process killed right after.
        conn = sqlite3.connect(db_path, timeout=5)
        try:
            past = to_iso(datetime.now(UTC) - timedelta(seconds=1))
            conn.execute("UPDATE deadlines SET due_at = ? WHERE kind = ?", (past, KIND))
            conn.commit()
        finally:
            conn.close()
        fourth = start()
        try:
            await wait_until(lambda: state() == [("fired", 1)])
            _kill(fourth)
        finally:
            if fourth.poll() is None:
                fourth.kill()

        fifth = start()  # finishes a recording the killed process may not have written
        try:
            await wait_until(
                lambda: (
                    _query(db_path, "SELECT count(*) FROM events WHERE rule = 'RMA-10DAY'")
                    == [(1,)]
                )
            )
            await asyncio.sleep(1.5)  # anything doubled would have been written by now
        finally:
            _stop(fifth)
        assert _query(db_path, "SELECT count(*) FROM events WHERE rule = 'RMA-10DAY'") == [(1,)]
        assert len(_asked(emu)) == 1
