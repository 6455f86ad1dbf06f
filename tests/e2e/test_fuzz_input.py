"""Odd numbers in buttons and commands ("²", "١", 2^63, empty, too long, unknown steps, no
message): every press gets one short answer and every command a usage or refusal, never the
generic apology or a logged traceback."""

from __future__ import annotations

import logging

import pytest

from bot.domain import access
from bot.domain.models import Role
from storage import identities
from storage.db import utcnow_iso
from tests.e2e.harness import BotHarness

ADMIN, TECH, CUSTOMER = 1, 203, 777
APOLOGY = "抱歉，出了点问题，请稍后再试。"
ODD = ["²", "١", str(2**63), "", "9" * 70, "0", "-1", "x"]
STEPS = {
    "visit": ["arrive", "late", "told", "out", "oc", "st", "mk", "co", "pd"],
    "slip": ["qr", "sat", "cd"],
    "cslip": ["sat", "cd"],
    "ccmp": ["i", "t", "a", "c"],
    "assign": ["s", "p"],
    "dispatch": ["accept", "decline"],
    "penalty": ["t", "r"],
    "reward": ["t", "r"],
}
ACTORS = [
    (ADMIN, {Role.ADMIN, Role.MANAGER}),
    (TECH, {Role.TECHNICIAN}),
    (CUSTOMER, {Role.CUSTOMER}),
]


def payloads(prefix: str) -> list[str]:
    found = [prefix, f"{prefix}:"] + [f"{prefix}:{odd}" for odd in ODD]
    for step in [*STEPS.get(prefix, []), "zz"]:
        for odd in ODD:
            found += [
                f"{prefix}:{step}:{odd}",
                f"{prefix}:{step}:{odd}:1",
                f"{prefix}:{step}:1:{odd}",
            ]
    return found


def actor_for(permission: access.Permission) -> int:
    return next(user for user, roles in ACTORS if roles & permission.roles)


async def _cast(harness: BotHarness) -> None:
    await harness.seed(TECH, "张伟", Role.TECHNICIAN)
    harness.emu.user(ADMIN, "管理员")
    harness.emu.user(CUSTOMER, "客户")
    async with harness.db.transaction() as conn:
        await conn.execute(
            "INSERT INTO customers (name, class, telegram_id, created_at) VALUES (?, ?, ?, ?)",
            ("蓝海网吧", "network", CUSTOMER, utcnow_iso()),
        )
        await identities.sync_telegram_customer(conn, CUSTOMER)


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


async def test_every_button_prefix_answers_odd_payloads_briefly(
    harness: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    await _cast(harness)
    under: dict[int, int] = {}  # a bot message in each actor's chat, to press on
    for user, _ in ACTORS:
        under[user] = (await harness.say(user, "/help"))["message_id"]
    presses = []
    with caplog.at_level(logging.ERROR):
        for prefix, permission in access.PERMISSIONS.items():
            user = actor_for(permission)
            for data in payloads(prefix):
                presses.append((data, harness.emu.press(user, user, under[user], data)))
            # A button on an inline-mode message: no `message` in the query.
            presses.append(
                (f"inline {prefix}", harness.emu.press_inline(user, "AAQx", f"{prefix}:1"))
            )
        await harness.idle(timeout=120)
    for data, update in presses:
        query_id = update["callback_query"]["id"]
        answer = harness.emu.callback_answers.get(query_id)
        assert answer is not None, f"{data!r} got no answer"
        text = answer.get("text", "")
        assert text != APOLOGY and len(text) <= 200, (data, text)
    assert _errors(caplog) == []


COMMANDS = {
    ADMIN: [
        "/pin ²",
        "/pin 9223372036854775808",
        "/assign ١",
        "/assign #9223372036854775808",
        "/void ² mistake",
        "/void 9223372036854775808 mistake",
        "/leave 张伟 ²",
        "/leave 张伟 99999999999999999999",
        "/summary 9999-12",
        "/summary ２０２６-11",
        "/closemonth 9999-12",
        "/closemonth 0000-01",
        "/events 9999-12",
        "/penalty 张伟 DED-COMPLAINT #9223372036854775808 late",
        "/penalty 张伟 DED-COMPLAINT #²",
        "/reward 张伟 RWD-SUGGEST 1e30 idea",
        "/reward 张伟 RWD-SUGGEST ١٢ idea",
        "/customers ²",
        "/invite ²",
        "/lang ²",
        "/queue ²",
        "/contests ²",
        f"/start {'9' * 70}",
    ],
    TECH: ["/jobs ²", "/duty ²", "/me ²", "/start ²"],
    CUSTOMER: ["/start ²", "/help ²"],
}


@pytest.mark.parametrize("user", list(COMMANDS))
async def test_commands_with_odd_numbers_answer_usage_not_apology(
    harness: BotHarness, caplog: pytest.LogCaptureFixture, user: int
) -> None:
    await _cast(harness)
    with caplog.at_level(logging.ERROR):
        for command in COMMANDS[user]:
            reply = await harness.say(user, command)
            assert reply["text"] != APOLOGY, command
            assert "Traceback" not in reply["text"], command
        await harness.idle()
    assert _errors(caplog) == []


async def test_a_bad_argument_gets_the_commands_usage(harness: BotHarness) -> None:
    await _cast(harness)
    assert (await harness.say(ADMIN, "/pin ²"))["text"].startswith("用法：/pin")
    assert (await harness.say(ADMIN, "/assign"))["text"].startswith("用法：/assign")
    assert (await harness.say(ADMIN, f"/void {2**63} 重复"))["text"].startswith("用法：/void")
    assert (await harness.say(ADMIN, "/void 12"))["text"].startswith("用法：/void")
    assert (await harness.say(ADMIN, "/summary 9999-12"))["text"].startswith("用法：/summary")
