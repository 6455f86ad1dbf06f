"""Notices through the outbox over real HTTP: paced to Telegram's limits, and exactly once
across a SIGKILL between the commit that queued a notice and its delivery."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from bot.config import Config
from bot.domain.dispatch_models import NewCustomer
from bot.domain.models import Role
from bot.services import dispatching
from sandbox.emulator import ApiError, BotApiEmulator
from tests.e2e.harness import BotHarness, Clock
from tests.e2e.processes import wait_until, write_config

DISPATCHER = 102
GROUP = -1001
TICKETS = 30
WINDOW_S = 3.0  # the group's rolling "minute", scaled down so the test runs in seconds
ROOT = Path(__file__).resolve().parents[2]


def too_many(emu: BotApiEmulator) -> list:
    return [c for c in emu.sent if c.error and c.error.get("error_code") == 429]


def cards_in_group(emu: BotApiEmulator) -> set[int]:
    found = set()
    for message in emu.messages_to(GROUP):
        for number in range(1, TICKETS + 1):
            if f"#{number}" in (message.get("text") or "").split("\n")[0]:
                found.add(number)
    return found


async def test_thirty_quick_tickets_all_reach_the_group_within_the_limits(
    config: Config,
) -> None:
    clock = Clock()  # real time: the emulator's windows and the bot's limiter run together
    async with BotApiEmulator(
        clock=lambda: clock().timestamp(), strict_limits=True, group_window_s=WINDOW_S
    ) as emu:
        strict = replace(config, rate_limiter=True, group_window_s=WINDOW_S, card_edit_interval_s=0)
        h = BotHarness(emu, strict, clock)
        await h.start()
        try:
            await h.seed(DISPATCHER, "王调度", Role.DISPATCHER)
            await h.bind_group(GROUP)
            await dispatching.create_customer(
                h.services,
                NewCustomer(name="蓝海网吧", customer_class="industry", site=(30.66, 104.07)),
            )
            for _ in range(TICKETS):  # as fast as a dispatcher can paste them
                emu.send_text(DISPATCHER, "/new 蓝海网吧 | 电脑无法开机 | 硬件 重大 品牌 工具")
            await wait_until(lambda: len(cards_in_group(emu)) == TICKETS)
            await h.idle(timeout=15)
            assert cards_in_group(emu) == set(range(1, TICKETS + 1))
            assert await h.count("SELECT count(*) FROM tickets") == TICKETS
            assert await h.count("SELECT count(*) FROM tickets WHERE group_message_id IS NULL") == 0
            assert await h.count("SELECT count(*) FROM outbox WHERE state != 'sent'") == 0
            assert too_many(emu) == []  # paced, never refused
            # Twenty went at once; the rest waited for the window rather than for a 429.
            sends = sorted(
                c.at for c in emu.sent if c.method == "sendMessage" and c.chat_id == GROUP and c.ok
            )
            assert len(sends) == TICKETS
            assert sends[20] - sends[0] >= WINDOW_S * 0.9
        finally:
            await h.stop()


async def test_a_429_holds_the_group_back_and_the_notice_still_arrives_once(
    config: Config,
) -> None:
    """The emulator counts messages the bot's limiter never saw (sent before a restart): the
    first 429 teaches the limiter the wait, and the card goes out after it, once."""
    clock = Clock()
    async with BotApiEmulator(
        clock=lambda: clock().timestamp(), strict_limits=True, group_window_s=WINDOW_S
    ) as emu:
        strict = replace(config, rate_limiter=True, group_window_s=WINDOW_S)
        h = BotHarness(emu, strict, clock)
        await h.start()
        try:
            await h.seed(DISPATCHER, "王调度", Role.DISPATCHER)
            await h.bind_group(GROUP)
            await dispatching.create_customer(
                h.services, NewCustomer(name="蓝海网吧", customer_class="industry")
            )
            for _ in range(20):  # someone else's messages fill the group's window
                emu._count_send({"id": GROUP, "type": "supergroup"})
            emu.send_text(DISPATCHER, "/new 蓝海网吧 | 电脑无法开机 | 硬件 重大 品牌 工具")
            await wait_until(lambda: cards_in_group(emu) == {1}, timeout=WINDOW_S * 4)
            await h.idle(timeout=15)
            assert len(too_many(emu)) == 1
            cards = [m for m in emu.messages_to(GROUP) if "#1" in (m.get("text") or "")]
            assert len(cards) == 1
        finally:
            await h.stop()


async def test_network_errors_are_retried_and_the_card_arrives_once(harness: BotHarness) -> None:
    h, emu = harness, harness.emu
    await h.seed(DISPATCHER, "王调度", Role.DISPATCHER)
    await h.bind_group(GROUP)
    await dispatching.create_customer(
        h.services, NewCustomer(name="蓝海网吧", customer_class="industry")
    )
    original = emu._send_message
    failures = []

    async def flaky(params, files):  # noqa: ANN001, ANN202
        if str(params.get("chat_id")) == str(GROUP) and len(failures) < 2:
            failures.append(params)
            raise ApiError(502, "Bad Gateway")
        return await original(params, files)

    emu._methods["sendmessage"] = ("sendMessage", flaky)
    emu.send_text(DISPATCHER, "/new 蓝海网吧 | 电脑无法开机 | 硬件 重大 品牌 工具")
    await wait_until(lambda: cards_in_group(emu) == {1}, timeout=10)
    await h.idle(timeout=10)
    assert len(failures) == 2
    assert len([m for m in emu.messages_to(GROUP) if "#1" in (m.get("text") or "")]) == 1
    assert await h.count("SELECT count(*) FROM outbox WHERE state = 'sent'") >= 1
    assert await h.count("SELECT count(*) FROM outbox WHERE state != 'sent'") == 0


async def test_a_blocked_recipient_fails_the_row_and_the_others_go_on(harness: BotHarness) -> None:
    from bot.services import notices

    h, emu = harness, harness.emu
    await h.seed(DISPATCHER, "王调度", Role.DISPATCHER)
    await h.bind_group(GROUP)
    emu.block(DISPATCHER)
    await notices.post_soon(
        h.db,
        notices.text(notices.person(1), "dispatch.queue.empty"),  # the dispatcher, blocked
        notices.text(notices.group(), "dispatch.queue.empty"),
    )
    await h.delivered()
    assert await h.count("SELECT count(*) FROM outbox WHERE state = 'failed'") == 1
    assert await h.count("SELECT count(*) FROM outbox WHERE state = 'sent'") == 1
    assert len(emu.messages_to(GROUP)) == 1


# --- exactly once across a SIGKILL ------------------------------------------------------------


def _query(db_path: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(db_path, timeout=5)
    try:
        return conn.execute(sql).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


def _seed(db_path: Path) -> None:
    conn = sqlite3.connect(db_path, timeout=5)
    try:
        conn.execute(
            "INSERT INTO people (name, role, telegram_id, language, created_at) "
            "VALUES ('王调度', 'dispatcher', ?, 'zh-CN', '2026-01-01T00:00:00+00:00')",
            (DISPATCHER,),
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
            "VALUES ('蓝海网吧', 'industry', '', '2026-01-01T00:00:00+00:00')"
        )
        conn.commit()
    finally:
        conn.close()


async def test_kill_between_commit_and_send_delivers_the_card_once_after_restart(
    tmp_path: Path,
) -> None:
    async with BotApiEmulator() as emu:
        emu.user(DISPATCHER, "王调度")
        emu.group(GROUP, "调度群")
        config = write_config(
            tmp_path, emu.base_url, emu.base_file_url, "[reports]", "monthly_summary = false"
        )
        db_path = tmp_path / "bot.db"
        command = [sys.executable, "-m", "bot", "--config", str(config), "run"]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}

        # First run: only to create the database, then seed it.
        first = subprocess.Popen(command, cwd=tmp_path, env=env, stderr=subprocess.DEVNULL)
        try:
            await wait_until(lambda: any(c.method == "getUpdates" for c in emu.sent))
        finally:
            first.send_signal(signal.SIGTERM)
            first.wait(timeout=10)
        _seed(db_path)

        # The group refuses to answer until the bot has been killed: the ticket and its card's
        # notice are committed, the card cannot have gone out.
        gate = asyncio.Event()
        original = emu._send_message

        async def held(params, files):  # noqa: ANN001, ANN202
            if str(params.get("chat_id")) == str(GROUP):
                await gate.wait()  # until the process that asked is dead: it never arrived
                raise ApiError(502, "Bad Gateway")
            return await original(params, files)

        emu._methods["sendmessage"] = ("sendMessage", held)
        second = subprocess.Popen(command, cwd=tmp_path, env=env, stderr=subprocess.DEVNULL)
        try:
            emu.send_text(DISPATCHER, "/new 蓝海网吧 | 电脑无法开机 | 硬件 重大 品牌 工具")
            await wait_until(
                lambda: (
                    _query(db_path, "SELECT state FROM outbox WHERE kind = 'ticket_card'")
                    == [("sending",)]
                )
            )
            assert _query(db_path, "SELECT count(*) FROM tickets") == [(1,)]
            second.send_signal(signal.SIGKILL)
            second.wait(timeout=10)
        finally:
            if second.poll() is None:
                second.kill()
        # Whatever the dead process had on the wire is refused too, then the group answers again.
        gate.set()
        await asyncio.sleep(1.0)
        emu._methods["sendmessage"] = ("sendMessage", original)
        assert cards_in_group(emu) == set()

        third = subprocess.Popen(command, cwd=tmp_path, env=env, stderr=subprocess.DEVNULL)
        try:
            await wait_until(lambda: cards_in_group(emu) == {1})
            await wait_until(
                lambda: (
                    _query(db_path, "SELECT state FROM outbox WHERE kind = 'ticket_card'")
                    == [("sent",)]
                )
            )
            await asyncio.sleep(1.5)  # anything doubled would have arrived by now
        finally:
            third.send_signal(signal.SIGTERM)
            try:
                third.wait(timeout=10)
            except subprocess.TimeoutExpired:
                third.kill()
        cards = [m for m in emu.messages_to(GROUP) if "#1" in (m.get("text") or "")]
        assert len(cards) == 1
        message_id = _query(db_path, "SELECT group_message_id FROM tickets WHERE id = 1")
        assert message_id == [(cards[0]["message_id"],)]
        assert _query(db_path, "SELECT count(*) FROM tickets") == [(1,)]
