"""One error handler: the user hears briefly that something failed, the bot keeps serving,
and the log has the update id and traceback but never the token."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace

import pytest

from bot.domain.models import Role
from bot.services import registration
from handlers.app import TokenFilter, build_application
from tests.e2e.harness import BotHarness

MANAGER = 201


async def test_failing_handler_apologises_and_the_bot_keeps_serving(
    harness: BotHarness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    await harness.seed(MANAGER, "李经理", Role.MANAGER)

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(registration, "create_invite", broken)
    with caplog.at_level(logging.ERROR, logger="fieldbot.errors"):
        mark = harness.emu.mark()
        update = harness.emu.send_text(MANAGER, "/invite technician")
        reply = await harness.emu.wait_for_message(MANAGER, after=mark)
    assert reply["text"] == "抱歉，出了点问题，请稍后再试。"
    assert "database on fire" not in reply["text"]
    record = next(r for r in caplog.records if r.name == "fieldbot.errors")
    assert str(update["update_id"]) in record.getMessage()
    assert record.exc_info is not None
    assert (await harness.say(MANAGER, "/help"))["text"].startswith("可用命令")


def test_token_is_redacted_from_log_records() -> None:
    record = logging.LogRecord(
        "httpx", logging.INFO, __file__, 1, "POST %s", ("https://x/bot123:SECRET/getMe",), None
    )
    assert TokenFilter("123:SECRET").filter(record)
    assert record.getMessage() == "POST https://x/bot<token>/getMe"


async def test_outgoing_rate_limiter_follows_config(harness: BotHarness) -> None:
    config = replace(harness.config, rate_limiter=True, overall_per_second=5, group_per_minute=7)
    services = replace(harness.services, config=config)
    app = build_application(services)
    limiter = app.bot.rate_limiter
    assert limiter is not None
    assert limiter.limiter.limits.group == 7 and limiter.limiter.limits.group_window == 60
    harness.emu.user(MANAGER, "李经理")
    async with app:
        started = time.monotonic()
        await asyncio.gather(*(app.bot.send_message(MANAGER, f"#{n}") for n in range(15)))
        elapsed = time.monotonic() - started
    # 5 per second: the first few pass at once, the other ten wait their turn.
    assert elapsed >= 1.5
