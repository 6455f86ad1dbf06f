"""The customer's side of the desk over real HTTP: a customer linked through the voucher's QR
link files a complaint in their own chat (the form survives a restart, the desk is told, the
timers run, the result comes back), strangers are told how to link, nobody files for another
customer; and a ticket's warranty verdict overridden with a note, shown and inherited."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.config import Config
from bot.domain import cards
from bot.services import dispatching
from tests.e2e.harness import BotHarness
from tests.e2e.test_promises import DISPATCHER, office, take_back
from tests.e2e.test_repair_desk_chat import _said, deadline_state, press, say_all
from tests.e2e.test_visits import (
    CUSTOMER,
    MANAGER,
    OTHER_TECH,
    TECH,
    arrive,
    check_out,
    seed_ticket,
    send_location,
    slip_row,
)

STRANGER = 999


@pytest.fixture
def config(config: Config) -> Config:
    return replace(
        config,
        card_edit_interval_s=0,
        repairs=replace(config.repairs, customer_open_complaints=2),
    )


async def linked_customer(h: BotHarness) -> tuple[int, int]:
    """Ticket #1 taken back to the station; its customer opens the voucher link (chat linked).
    Returns (ticket, item)."""
    ticket = await office(h)
    await take_back(h, ticket)
    async with h.db.read() as conn:
        item_id, token = (await conn.execute_fetchall("SELECT id, token FROM repair_items"))[0]
    h.emu.user(CUSTOMER, "王先生")
    view = await say_all(h, CUSTOMER, f"/start rma_{token}")
    assert "FX-" in view
    return ticket, item_id


async def complaint_row(h: BotHarness, complaint_id: int):
    async with h.db.read() as conn:
        return (
            await conn.execute_fetchall("SELECT * FROM complaints WHERE id = ?", (complaint_id,))
        )[0]


async def test_customer_files_a_complaint_and_hears_the_result(harness: BotHarness) -> None:
    h = harness
    ticket, item_id = await linked_customer(h)
    asked = await say_all(h, CUSTOMER, "/complaint")
    assert "您要投诉的是哪一次服务" in asked
    prompt = await h.emu.wait_for_message(CUSTOMER, "哪一次服务")
    labels = [row[0]["text"] for row in prompt["reply_markup"]["inline_keyboard"]]
    assert labels[-1] == "其他 / 不针对某次服务" and any(x.startswith("返修 FX-") for x in labels)
    assert "投诉主要是关于" in await press(
        h, CUSTOMER, CUSTOMER, "上门服务 #1（11-24，技术员 张伟）"
    )
    assert "请描述发生了什么" in await press(h, CUSTOMER, CUSTOMER, "言行举止")
    # A restart between the steps loses nothing.
    await h.restart()
    mark = h.emu.mark()
    filed = await say_all(h, CUSTOMER, "技术员上门时态度很差，还抽烟")
    assert "已收到您的投诉，编号 #1" in filed
    row = await complaint_row(h, 1)
    assert (row["ticket_id"], row["class"], row["by_customer"]) == (ticket, "conduct", 1)
    assert row["registered_by"] is None
    tech_id = await h.count("SELECT id FROM people WHERE telegram_id = ?", TECH)
    assert row["technician_id"] == tech_id
    assert await deadline_state(h, "CMP-ACK", 1) == "pending"
    assert await deadline_state(h, "CMP-VERIFY", 1) == "pending"
    told = await h.emu.wait_for_message(MANAGER, "📣 客户自报投诉 #1", after=mark)
    assert "还抽烟" in told["text"] and "张伟" in told["text"] and "上门服务 #1" in told["text"]

    # The desk works it through the register; the result reaches this customer.
    listing = await say_all(h, DISPATCHER, "/complaints")
    assert "#1 王先生1（客户自报）" in listing
    mark = h.emu.mark()
    assert "已受理" in await press(h, DISPATCHER, DISPATCHER, "受理 #1")
    assert await deadline_state(h, "CMP-ACK", 1) == "done"
    await h.emu.wait_for_message(CUSTOMER, "您的投诉 #1 已受理", after=mark)
    await press(h, DISPATCHER, DISPATCHER, "核实 #1")
    await say_all(h, DISPATCHER, "属实")
    await say_all(h, DISPATCHER, "/complaints")
    await press(h, DISPATCHER, DISPATCHER, "成立 #1")
    mark = h.emu.mark()
    await say_all(h, DISPATCHER, "已批评教育并向客户道歉")
    result = await h.emu.wait_for_message(CUSTOMER, "您的投诉 #1 经核实成立", after=mark)
    assert "道歉" in result["text"]
    assert await h.count("SELECT count(*) FROM events WHERE rule = 'DED-COMPLAINT'") == 1

    # From the item's view: its button starts a complaint about that repair (no technician).
    view = await h.emu.wait_for_message(CUSTOMER, "FX-")
    assert "投诉此次返修" in str(view.get("reply_markup"))
    assert "投诉主要是关于" in await press(h, CUSTOMER, CUSTOMER, "投诉此次返修")
    await press(h, CUSTOMER, CUSTOMER, "拖延")
    assert "编号 #2" in await say_all(h, CUSTOMER, "返修太慢了")
    row = await complaint_row(h, 2)
    assert (row["item_id"], row["ticket_id"], row["technician_id"]) == (item_id, None, None)
    # The open limit (2 here; #1 is decided): a second open one is taken, a third refused.
    for text, answer in (("还有一个问题", "编号 #3"), ("再投诉一次", "您已有 2 条投诉正在处理中")):
        await say_all(h, CUSTOMER, "/complaint")
        await press(h, CUSTOMER, CUSTOMER, "其他 / 不针对某次服务")
        await press(h, CUSTOMER, CUSTOMER, "其他")
        assert answer in await say_all(h, CUSTOMER, text)
    assert await h.count("SELECT count(*) FROM complaints") == 3


async def test_strangers_are_told_how_to_link_and_nobody_files_for_another(
    harness: BotHarness,
) -> None:
    h = harness
    await linked_customer(h)
    h.emu.user(STRANGER, "路人")
    refused = await say_all(h, STRANGER, "/complaint")
    assert "请先打开服务回执或返修凭证上的链接" in refused
    # Another customer's ticket and item, named by forged buttons, are refused.
    other_ticket = await seed_ticket(h)
    async with h.db.transaction() as conn:
        await conn.execute(
            "INSERT INTO repair_items (token, customer_id, product, fault, packaging, taken_in_at,"
            " state, created_at, updated_at) SELECT 'tok2', customer_id, '显示器', '花屏', 'none',"
            " created_at, 'received', created_at, created_at FROM tickets WHERE id = ?",
            (other_ticket,),
        )
        other_item = (await conn.execute_fetchall("SELECT max(id) FROM repair_items"))[0][0]
    await say_all(h, CUSTOMER, "/complaint")
    prompt = await h.emu.wait_for_message(CUSTOMER, "哪一次服务")
    token = prompt["reply_markup"]["inline_keyboard"][0][0]["callback_data"].split(":")[2]
    mark = h.emu.mark()
    await h.handled(h.emu.press(CUSTOMER, CUSTOMER, prompt["message_id"], f"ccmp:i:{other_item}"))
    assert "这不是您的服务记录" in _said(h, mark)
    await h.handled(
        h.emu.press(CUSTOMER, CUSTOMER, prompt["message_id"], f"ccmp:a:{token}:t{other_ticket}")
    )
    await press(h, CUSTOMER, CUSTOMER, "收费")
    assert "这不是您的服务记录" in await say_all(h, CUSTOMER, "收费太高")
    assert await h.count("SELECT count(*) FROM complaints") == 0
    # Staff use the desk's form; a technician may not; a customer's form is private only.
    assert "无权" in await say_all(h, TECH, "/complaint")
    assert "客户编号" in await say_all(h, DISPATCHER, "/complaint")
    # A customer's button pressed by the desk is not theirs to press.
    desk_prompt = await h.emu.wait_for_message(DISPATCHER, "客户编号")
    mark = h.emu.mark()
    await h.handled(h.emu.press(DISPATCHER, DISPATCHER, desk_prompt["message_id"], "ccmp:i:1"))
    assert "无权" in _said(h, mark)


async def test_ticket_warranty_override_shown_and_inherited(harness: BotHarness) -> None:
    h = harness
    ticket = await office(h)
    async with h.db.transaction() as conn:
        machine = await conn.execute(
            "INSERT INTO machines (customer_id, purchase_date) VALUES (1, '2025-06-01')"
        )
        await conn.execute(
            "UPDATE tickets SET machine_id = ? WHERE id = ?", (machine.lastrowid, ticket)
        )
    assert "工单 #1：❌ 不在保修期内。依据：已过保修期" in await say_all(
        h, DISPATCHER, "/warranty t1"
    )
    role = "只有经理和工单 #1 的指派技术员"
    assert role in await say_all(h, DISPATCHER, "/warranty t1 in 有延保卡")
    assert role in await say_all(h, OTHER_TECH, "/warranty t1 in 有延保卡")
    assert "无法识别" in await say_all(h, TECH, "/warranty t1 maybe 有延保卡")
    assert "请写明原因" in await say_all(h, TECH, "/warranty t1 in")
    assert "没有编号为 99 的工单" in await say_all(h, TECH, "/warranty t99 in 有延保卡")
    assert await h.count("SELECT count(*) FROM ticket_warranty") == 0

    overridden = await say_all(h, TECH, "/warranty t1 in 客户出示了延保卡")
    assert "工单 #1：✅ 在保修期内。依据：技术员判定" in overridden
    assert "改判说明：客户出示了延保卡" in overridden and "改判人：张伟" in overridden
    assert "改判人：张伟" in await say_all(h, MANAGER, "/warranty t1")
    facts = await dispatching.card_facts(h.services, ticket)
    assert "保修已改判：客户出示了延保卡" in cards.terms_text(facts, "zh-CN")

    # Taken back at check-out: the item carries the override.
    await take_back(h, ticket)
    item = await h.count("SELECT id FROM repair_items WHERE ticket_id = ?", ticket)
    shown = await say_all(h, DISPATCHER, f"/warranty {item}")
    assert "✅ 在保修期内" in shown and "客户出示了延保卡" in shown
    # The manager's later word reaches the open item too.
    await say_all(h, MANAGER, "/warranty t1 out 外壳摔裂，人为损坏")
    assert "❌ 不在保修期内" in await say_all(h, DISPATCHER, f"/warranty {item}")


async def test_an_unhappy_slip_answer_leads_to_a_complaint_about_that_visit(
    harness: BotHarness,
) -> None:
    h = harness
    ticket = await office(h)
    await arrive(h, ticket)
    await send_location(h, live_period=600)
    await check_out(h, "resolved")
    slip = await slip_row(h)
    h.emu.user(CUSTOMER, "王先生")
    token = slip["customer_token"]
    await h.say(CUSTOMER, f"/start slip_{token}")
    await h.press(CUSTOMER, CUSTOMER, "不满意")
    await h.press(CUSTOMER, CUSTOMER, f"cslip:cd:{token}:shoes:1")
    await h.press(CUSTOMER, CUSTOMER, f"cslip:cd:{token}:eating:1")
    assert "投诉主要是关于" in await press(h, CUSTOMER, CUSTOMER, "投诉此次上门服务")
    await press(h, CUSTOMER, CUSTOMER, "服务质量")
    assert "编号 #1" in await say_all(h, CUSTOMER, "问题没有解决就走了")
    row = await complaint_row(h, 1)
    tech_id = await h.count("SELECT id FROM people WHERE telegram_id = ?", TECH)
    assert (row["ticket_id"], row["technician_id"], row["class"]) == (ticket, tech_id, "service")
