"""The policy desk on /repair ID: the button appears while a refund, exchange or swap is still
possible, and answers with POL-HOW's verdict for the item (customer kind, purchase date, faulty)."""

from __future__ import annotations

import json
from datetime import date

from bot.domain import policy
from handlers.policy import render_verdict
from tests.e2e.harness import BotHarness
from tests.e2e.test_repair_desk import CUSTOMER_NAME, press, register, reply, show
from tests.e2e.test_visits import NOW, TECH, setup


def _buttons(h: BotHarness, chat: int) -> list[str]:
    call = [c for c in h.emu.calls("sendMessage") if c.ok and c.chat_id == chat][-1]
    markup = call.params.get("reply_markup") or {}
    if isinstance(markup, str):
        markup = json.loads(markup)
    return [b.get("callback_data", "") for row in markup.get("inline_keyboard", []) for b in row]


async def test_policy_button_answers_the_items_verdict(harness: BotHarness) -> None:
    h = harness
    await setup(h)
    item_id = await register(h)
    await reply(h, TECH, "/cancel")
    await show(h, TECH, item_id)
    assert f"ri:pol:{item_id}" in _buttons(h, TECH)

    _, said = await press(h, TECH, TECH, f"ri:pol:{item_id}")
    async with h.db.read() as conn:
        rows = await conn.execute_fetchall(
            "SELECT class, kind FROM customers WHERE name = ?", (CUSTOMER_NAME,)
        )
    kind = policy.kind_of(rows[0][0], rows[0][1])
    today = NOW.astimezone(h.config.tz).date()
    verdict = policy.decide(
        h.config.policy, kind.value, date(2026, 6, 1), today, "machine", "faulty"
    )
    assert len(said) == 1
    assert said[0].startswith(f"返修 #{item_id}")
    assert said[0].endswith(render_verdict("zh-CN", verdict))

    # Sent up, the item can no longer be refunded, exchanged or swapped: no button.
    await press(h, TECH, TECH, f"ri:mv:{item_id}:send_up:received")
    await reply(h, TECH, "顺丰 SF1234567")
    await reply(h, TECH, "电源线")
    await show(h, TECH, item_id)
    assert f"ri:pol:{item_id}" not in _buttons(h, TECH)
    answers, said = await press(h, TECH, TECH, f"ri:pol:{item_id}")
    assert said == [] and answers
