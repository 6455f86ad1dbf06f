"""RWD-REVENUE of a repair done at the station, over real HTTP: the fee asked when the item is
returned (the Record-fee button and its two typed answers), refused while in warranty until
overridden, /repairfee typed in one line, and the line on the repairer's /me."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.config import Config
from tests.e2e.harness import BotHarness
from tests.e2e.test_repair_desk import CUSTOMER_NAME, item_row, press, reply, show
from tests.e2e.test_visits import MANAGER, OTHER_TECH, TECH, setup


@pytest.fixture
def config(config: Config) -> Config:
    return replace(config, card_edit_interval_s=0)


async def register(h: BotHarness, purchase: str) -> int:
    """An item registered through /rma (purchase date "-": none on record)."""
    for text in ("/rma", CUSTOMER_NAME, "联想台式机", "启天 M420", "SN7", purchase, "不开机", "-"):
        await reply(h, TECH, text)
    await press(h, TECH, TECH, "包装不全")
    await h.press(TECH, TECH, "完成登记")
    async with h.db.read() as conn:
        rows = await conn.execute_fetchall("SELECT max(id) FROM repair_items")
    return int(rows[0][0])


async def repair_and_return(h: BotHarness, item_id: int) -> list[str]:
    """Repaired at the station and returned with the voucher; what the bot said at the end."""
    for step in ("repair_here:received", "repaired:repairing", "return:back"):
        await show(h, TECH, item_id)
        await press(h, TECH, TECH, f"ri:mv:{item_id}:{step}")
    _, said = await press(h, TECH, TECH, "收回返修凭证")
    assert (await item_row(h, item_id))["state"] == "returned"
    return said


async def fees(h: BotHarness) -> list[tuple]:
    async with h.db.read() as conn:
        rows = await conn.execute_fetchall(
            "SELECT item_id, technician_id, fee_fen, parts_fen FROM repair_fees"
        )
    return [tuple(row) for row in rows]


async def test_the_fee_is_asked_at_the_return_and_shows_on_me(harness: BotHarness) -> None:
    h = harness
    await setup(h)
    item_id = await register(h, "-")  # no purchase proof: out of warranty, the customer pays
    said = await repair_and_return(h, item_id)
    assert any("请登记收费" in text for text in said), said
    _, asked = await press(h, TECH, TECH, f"rv:fee:{item_id}")
    assert any("收了多少钱" in text for text in asked)
    assert "金额" in (await reply(h, TECH, "两百块"))[0]  # not an amount: asked again
    assert "配件成本" in (await reply(h, TECH, "200"))[0]
    assert "金额" in (await reply(h, TECH, "-80"))[0]
    done = (await reply(h, TECH, "80.50"))[0]
    assert "200.00" in done and "80.50" in done and "11.95" in done and "张伟" in done
    assert await fees(h) == [(item_id, (await item_row(h, item_id))["holder_id"], 20_000, 8_050)]
    assert await h.count("SELECT count(*) FROM forms") == 0
    card = await show(h, TECH, item_id)
    assert "收费 200.00 元" in card
    keyboard = (h.emu.messages_to(TECH)[-1].get("reply_markup") or {}).get("inline_keyboard", [])
    assert keyboard == []  # recorded: a change is the managers'
    popups, _ = await press(h, TECH, TECH, f"rv:fee:{item_id}")  # the old button
    assert any("只有经理" in p for p in popups)
    me = (await h.say(TECH, "/me"))["text"]
    assert "RWD-REVENUE 11.95" in me and "站内维修" in me
    # A technician cannot change it; a manager can, and /me follows.
    refused = (await reply(h, TECH, f"/repairfee {item_id} 300 80.50"))[0]
    assert "只有经理" in refused
    changed = (await reply(h, MANAGER, f"/repairfee {item_id} 300 80.50"))[0]
    assert "21.95" in changed
    assert "RWD-REVENUE 21.95" in (await h.say(TECH, "/me"))["text"]


async def test_in_warranty_is_refused_until_overridden(harness: BotHarness) -> None:
    h = harness
    await setup(h)
    item_id = await register(h, "2026-06-01")  # bought this year: in warranty
    said = await repair_and_return(h, item_id)
    assert not any("请登记收费" in text for text in said)
    assert "在保修期内" in (await reply(h, TECH, f"/repairfee {item_id} 200 0"))[0]
    assert "用法" in (await reply(h, TECH, f"/repairfee {item_id} 200 1e3"))[0]
    assert await fees(h) == []
    await reply(h, TECH, f"/warranty {item_id} out 进水，人为损坏")
    done = (await reply(h, TECH, f"/repairfee {item_id} 200 0 李娜"))[0]
    assert "20.00" in done and "李娜" in done
    assert "RWD-REVENUE 20.00" in (await h.say(OTHER_TECH, "/me"))["text"]
    assert "RWD-REVENUE" not in (await h.say(TECH, "/me"))["text"]
