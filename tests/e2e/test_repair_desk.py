"""The repair desk over real HTTP: registering an item and its voucher, the returns board and
an item's buttons (legal steps only, stale and other people's buttons refused), each lifecycle
path, the promises' alerts exactly once across restarts, RMA-10DAY recorded when unanswered, a
take-back from a visit, and the customer's view through the voucher's QR link."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from bot.config import Config
from bot.services import timers
from tests.e2e.harness import BotHarness
from tests.e2e.test_promises import DISPATCHER, office, take_back
from tests.e2e.test_visits import CUSTOMER, GROUP, MANAGER, NOW, OTHER_TECH, TECH, setup

CUSTOMER_NAME = "王先生1"


@pytest.fixture
def config(config: Config) -> Config:
    return replace(config, card_edit_interval_s=0)


def bot_texts(h: BotHarness, chat: int, mark: int) -> list[str]:
    return [
        c.params.get("text") or c.params.get("caption") or ""
        for c in h.emu.calls(after=mark)
        if c.ok and c.chat_id == chat and c.method in ("sendMessage", "sendPhoto", "sendDocument")
    ]


async def reply(h: BotHarness, user: int, text: str, chat: int | None = None) -> list[str]:
    """Type text; every text the bot sent to that chat in answer."""
    chat = chat if chat is not None else user
    mark = h.emu.mark()
    update = h.emu.send_text(user, text, chat_id=None if chat == user else chat)
    await h.handled(update)
    return bot_texts(h, chat, mark)


async def press(h: BotHarness, user: int, chat: int, data: str) -> tuple[list[str], list[str]]:
    """Press a button; (popup answers, texts sent to the chat)."""
    mark = h.emu.mark()
    await h.press(user, chat, data)
    return h.answers(mark), bot_texts(h, chat, mark)


async def register(h: BotHarness, user: int = TECH, photos: int = 1) -> int:
    """Register an item through /rma in a private chat; its id."""
    await reply(h, user, "/rma")
    assert "没有找到" in (await reply(h, user, "不存在的客户"))[0]
    await reply(h, user, CUSTOMER_NAME)
    await reply(h, user, "联想台式机")
    await reply(h, user, "启天 M420")
    await reply(h, user, "SN123456")
    assert "YYYY-MM-DD" in (await reply(h, user, "去年"))[0]
    await reply(h, user, "2026-06-01")
    await reply(h, user, "无法开机")
    said = await reply(h, user, "电源线，键盘")
    assert any("包装" in text for text in said)
    await press(h, user, user, "包装不全")
    for n in range(photos):
        update = h.emu.send_photo(user, b"photo-%d" % n)
        await h.handled(update)
    mark = h.emu.mark()
    await h.press(user, user, "完成登记")
    docs = [c for c in h.emu.calls("sendDocument", after=mark) if c.ok and c.chat_id == user]
    assert len(docs) == 1, "the voucher PDF is sent as a document"
    qr = [c for c in h.emu.calls("sendPhoto", after=mark) if c.ok and c.chat_id == user]
    assert len(qr) == 1
    async with h.db.read() as conn:
        rows = await conn.execute_fetchall("SELECT max(id) FROM repair_items")
    return int(rows[0][0])


async def item_row(h: BotHarness, item_id: int):
    async with h.db.read() as conn:
        rows = await conn.execute_fetchall("SELECT * FROM repair_items WHERE id = ?", (item_id,))
    return rows[0]


async def deadline(h: BotHarness, kind: str, ref: int) -> str | None:
    async with h.db.read() as conn:
        rows = await conn.execute_fetchall(
            "SELECT state FROM deadlines WHERE kind = ? AND ref_id = ?", (kind, ref)
        )
    return rows[0][0] if rows else None


async def show(h: BotHarness, user: int, item_id: int, chat: int | None = None) -> str:
    said = await reply(h, user, f"/repair {item_id}", chat)
    return said[0]


async def test_register_sends_the_voucher_and_arms_the_promises(harness: BotHarness) -> None:
    h = harness
    await setup(h)
    item_id = await register(h, photos=2)
    row = await item_row(h, item_id)
    assert row["voucher_no"] and row["state"] == "received"
    assert row["product"] == "联想台式机" and row["serial"] == "SN123456"
    assert "电源线" in row["accessories"] and row["packaging"] == "partial"
    assert await h.count("SELECT count(*) FROM repair_photos WHERE item_id = ?", item_id) == 2
    assert await h.count("SELECT count(*) FROM forms") == 0
    # Its promises are deadline rows: the answer, the 10th and the 20th day.
    for rule in ("SLA-TAKEBACK", "RMA-10DAY", "RMA-20DAY"):
        assert await deadline(h, f"repair:{rule}", item_id) == "pending", rule
    # The board shows it with its days in, next promise and holder.
    board = (await reply(h, MANAGER, "/repairs"))[0]
    assert row["voucher_no"] in board and "第 0 天" in board and "SLA-TAKEBACK" in board
    assert "张伟" in board


async def test_repair_at_station_then_returned_with_the_voucher(harness: BotHarness) -> None:
    h = harness
    await setup(h)
    item_id = await register(h)
    card = await show(h, TECH, item_id)
    assert "已收件" in card or "收" in card
    await press(h, TECH, TECH, f"ri:mv:{item_id}:repair_here:received")
    assert (await item_row(h, item_id))["state"] == "repairing"
    # The old button is stale now: answered without writing.
    await show(h, TECH, item_id)
    popups, _ = await press(h, TECH, TECH, f"ri:mv:{item_id}:repaired:repairing")
    assert (await item_row(h, item_id))["state"] == "back"
    await show(h, TECH, item_id)
    popups, _ = await press(h, TECH, TECH, f"ri:mv:{item_id}:return:back")
    # Another person cannot answer the technician's sign-off question.
    signoff_data = next(
        b["callback_data"]
        for m in reversed(h.emu.messages_to(TECH))
        for r in (m.get("reply_markup") or {}).get("inline_keyboard", [])
        for b in r
        if b.get("callback_data", "").startswith(f"ri:so:{item_id}:voucher:")
    )
    await h.app.bot.send_message(OTHER_TECH, "按钮", reply_markup=_keyboard(signoff_data))
    popups, _ = await press(h, OTHER_TECH, OTHER_TECH, signoff_data)
    assert any("不是给您的" in p for p in popups)
    assert (await item_row(h, item_id))["state"] == "back"
    await press(h, TECH, TECH, signoff_data)
    row = await item_row(h, item_id)
    assert row["state"] == "returned" and row["signoff"] == "voucher"
    assert await h.count("SELECT count(*) FROM repair_transitions WHERE item_id = ?", item_id) == 4
    for rule in ("SLA-TAKEBACK", "RMA-10DAY", "RMA-20DAY", "RMA-BACK"):
        assert await deadline(h, f"repair:{rule}", item_id) in ("done", None), rule
    # A finished item's stale button is refused, nothing written.
    popups, _ = await press(h, TECH, TECH, f"ri:mv:{item_id}:repair_here:received")
    assert popups and (await item_row(h, item_id))["state"] == "returned"


def _keyboard(data: str):
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup

    return InlineKeyboardMarkup([[InlineKeyboardButton("按钮", callback_data=data)]])


async def test_sent_up_back_new_and_returned_with_signature_photo(harness: BotHarness) -> None:
    h = harness
    await setup(h)
    item_id = await register(h)
    await show(h, TECH, item_id)
    await press(h, TECH, TECH, f"ri:mv:{item_id}:send_up:received")
    await reply(h, TECH, "顺丰 SF1234567")
    said = await reply(h, TECH, "电源线")
    assert any("已返货" in s for s in said), said
    row = await item_row(h, item_id)
    assert row["state"] == "sent_up" and row["shipment"] == "顺丰 SF1234567"
    assert await deadline(h, "repair:RMA-SEND", item_id) == "pending"
    await show(h, TECH, item_id)
    await press(h, TECH, TECH, f"ri:mv:{item_id}:come_back:sent_up")
    await press(h, TECH, TECH, "换新返回")
    row = await item_row(h, item_id)
    assert row["state"] == "back" and row["outcome"] == "new"
    assert await deadline(h, "repair:RMA-SEND", item_id) == "done"
    assert await deadline(h, "repair:RMA-BACK", item_id) == "pending"
    await show(h, TECH, item_id)
    await press(h, TECH, TECH, f"ri:mv:{item_id}:return:back")
    await press(h, TECH, TECH, "拍照签收单")
    update = h.emu.send_photo(TECH, b"signature")
    await h.handled(update)
    row = await item_row(h, item_id)
    assert row["state"] == "returned" and row["signoff"] == "signature"
    assert row["signature_file_id"]


async def test_unsigned_return_needs_a_reason(harness: BotHarness) -> None:
    h = harness
    await setup(h)
    item_id = await register(h)
    await show(h, TECH, item_id)
    await press(h, TECH, TECH, f"ri:mv:{item_id}:repair_here:received")
    await show(h, TECH, item_id)
    await press(h, TECH, TECH, f"ri:mv:{item_id}:repaired:repairing")
    await show(h, TECH, item_id)
    await press(h, TECH, TECH, f"ri:mv:{item_id}:return:back")
    await press(h, TECH, TECH, "无法签收（说明原因）")
    await reply(h, TECH, "客户不在，由家人代收")
    row = await item_row(h, item_id)
    assert row["state"] == "returned" and row["signoff"] == "unsigned"


async def test_illegal_and_policy_steps_and_loss(harness: BotHarness) -> None:
    h = harness
    await setup(h)
    item_id = await register(h)
    # The technician sees only the desk's steps: no refund, no loss.
    await show(h, TECH, item_id)
    buttons = [
        b["callback_data"]
        for b in sum(
            (h.emu.last_message(TECH).get("reply_markup") or {}).get("inline_keyboard", []), []
        )
    ]
    assert f"ri:mv:{item_id}:repair_here:received" in buttons
    assert not any(":refund:" in b or ":lose:" in b for b in buttons)
    # A forged refund button from a technician is refused with the reason, nothing written.
    await h.app.bot.send_message(
        TECH, "按钮", reply_markup=_keyboard(f"ri:mv:{item_id}:refund:received")
    )
    popups, _ = await press(h, TECH, TECH, f"ri:mv:{item_id}:refund:received")
    assert popups and (await item_row(h, item_id))["state"] == "received"
    # An illegal step (returned before it is back) is refused with the reason.
    await h.app.bot.send_message(
        TECH, "按钮", reply_markup=_keyboard(f"ri:mv:{item_id}:return:received")
    )
    popups, _ = await press(h, TECH, TECH, f"ri:mv:{item_id}:return:received")
    assert popups and "不能" in popups[0]
    # The manager refunds: the purchase date (2026-06-01) is past the policy's window, so the
    # policy desk says no and a note is asked; the manager drops it and records a loss instead.
    await show(h, MANAGER, item_id)
    _, said = await press(h, MANAGER, MANAGER, f"ri:mv:{item_id}:refund:received")
    assert any("理由" in s for s in said)
    assert (await item_row(h, item_id))["state"] == "received"
    await reply(h, MANAGER, "/cancel")
    assert (await item_row(h, item_id))["state"] == "received"
    await press(h, MANAGER, MANAGER, f"ri:mv:{item_id}:lose:received")
    await reply(h, MANAGER, "快递丢件")
    row = await item_row(h, item_id)
    assert row["state"] == "lost" and row["finished_at"]


async def test_refund_when_the_policy_allows(harness: BotHarness) -> None:
    h = harness
    await setup(h)
    await reply(h, TECH, "/rma")
    for text in (CUSTOMER_NAME, "显示器", "-", "-", NOW.date().isoformat(), "坏点", "-"):
        await reply(h, TECH, text)
    await press(h, TECH, TECH, "包装齐全")
    await h.press(TECH, TECH, "完成登记")
    item_id = 1
    await show(h, MANAGER, item_id)
    await press(h, MANAGER, MANAGER, f"ri:mv:{item_id}:refund:received")
    assert (await item_row(h, item_id))["state"] == "refunded"


async def test_manager_overrides_a_closed_policy_with_a_note(harness: BotHarness) -> None:
    h = harness
    await setup(h)
    item_id = await register(h)  # bought 2026-06-01: the refund window is over
    await show(h, MANAGER, item_id)
    await press(h, MANAGER, MANAGER, f"ri:mv:{item_id}:refund:received")
    assert (await item_row(h, item_id))["state"] == "received"
    await reply(h, MANAGER, "老客户，经理特批退货")
    row = await item_row(h, item_id)
    assert row["state"] == "refunded"
    async with h.db.read() as conn:
        notes = await conn.execute_fetchall(
            "SELECT note FROM repair_transitions WHERE item_id = ? AND event = 'refund'",
            (item_id,),
        )
    assert notes[0][0] == "老客户，经理特批退货"


async def test_rma_10day_asked_once_then_recorded_once_across_restarts(
    harness: BotHarness,
) -> None:
    h = harness
    await setup(h)
    item_id = await register(h)
    await reply(h, TECH, "/cancel")
    # Answer the customer so SLA-TAKEBACK does not speak meanwhile.
    await show(h, TECH, item_id)
    await press(h, TECH, TECH, f"ri:ans:{item_id}")
    said = await reply(h, TECH, "主板送修，预计两周")
    assert any("SLA-TAKEBACK" in s for s in said)
    assert await deadline(h, "repair:SLA-TAKEBACK", item_id) == "done"

    # Day 10 at the start of the working day: the receiver is asked, once.
    h.clock.set(NOW + timedelta(days=10, minutes=45))
    mark = h.emu.mark()
    alerts = await run_due(h)
    assert [(a.kind, a.phase) for a in alerts] == [("repair:RMA-10DAY", "warning")]
    asked = [t for t in bot_texts(h, TECH, mark) if "RMA-10DAY" in t]
    assert len(asked) == 1
    await h.restart()
    assert await run_due(h) == []
    # Nobody answers: at the end of the day the bot records RMA-10DAY against the receiver.
    h.clock.set(NOW + timedelta(days=11))
    await run_due(h)
    await h.restart()
    await run_due(h)
    assert await h.count("SELECT count(*) FROM events WHERE rule = 'RMA-10DAY'") == 1
    assert await deadline(h, "repair:RMA-10DAY", item_id) == "fired"
    group = [t for t in bot_texts(h, GROUP, 0) if "RMA-10DAY" in t]
    assert len(group) == 1


async def test_rma_10day_answered_in_time_records_nothing(harness: BotHarness) -> None:
    h = harness
    await setup(h)
    item_id = await register(h)
    h.clock.set(NOW + timedelta(days=10, minutes=45))
    await run_due(h)
    await press(h, TECH, TECH, f"ri:why:{item_id}")
    await reply(h, TECH, "厂家缺料")
    await reply(h, TECH, (NOW + timedelta(days=15)).date().isoformat())
    await press(h, TECH, TECH, "已告知客户")
    row = await item_row(h, item_id)
    assert (
        row["explained_at"]
        and row["expected_back"] == (NOW + timedelta(days=15)).date().isoformat()
    )
    assert await deadline(h, "repair:RMA-10DAY", item_id) == "done"
    h.clock.set(NOW + timedelta(days=25))
    await run_due(h)
    assert await h.count("SELECT count(*) FROM events WHERE rule LIKE 'RMA-%'") == 0


async def breach_once(h: BotHarness, kind: str, at: datetime, chat: int) -> list[str]:
    """At `at` the timers send the breach of repair promise `kind`; after a restart they do
    not send it again. What the bot said in chat meanwhile."""
    h.clock.set(at)
    mark = h.emu.mark()
    alerts = await run_due(h)
    assert (f"repair:{kind}", "breach") in [(a.kind, a.phase) for a in alerts]
    said = bot_texts(h, chat, mark)
    await h.restart()
    assert [a for a in await run_due(h) if a.kind == f"repair:{kind}"] == []
    return said


async def test_takeback_breach_rma_send_and_back_alerts_once(harness: BotHarness) -> None:
    h = harness
    await setup(h)
    item_id = await register(h)
    said = await breach_once(h, "SLA-TAKEBACK", NOW + timedelta(hours=25), GROUP)
    assert len([t for t in said if "SLA-TAKEBACK" in t]) == 1
    # Sent up: the third afternoon reminds the sender, once.
    await show(h, TECH, item_id)
    await press(h, TECH, TECH, f"ri:mv:{item_id}:send_up:received")
    await reply(h, TECH, "顺丰 SF1")
    await reply(h, TECH, "-")
    said = await breach_once(h, "RMA-SEND", NOW + timedelta(days=4, hours=7), TECH)
    assert any("第三天" in t for t in said)
    await press(h, TECH, TECH, f"ri:up:{item_id}")
    assert (await item_row(h, item_id))["upstream_confirmed_at"]


async def test_spare_question_at_day_7_for_industry_customers(harness: BotHarness) -> None:
    h = harness
    await setup(h)
    async with h.db.transaction() as conn:
        await conn.execute(
            "UPDATE customers SET class = 'industry' WHERE name = ?", (CUSTOMER_NAME,)
        )
    item_id = await register(h)
    assert await deadline(h, "repair:SLA-SPARE", item_id) == "pending"
    said = await breach_once(h, "SLA-SPARE", NOW + timedelta(days=7, minutes=1), TECH)
    assert any("SLA-SPARE" in t for t in said)
    popups, _ = await press(h, TECH, TECH, f"ri:lend:{item_id}")
    assert any("备用机" in p for p in popups)
    await press(h, TECH, TECH, f"ri:nospare:{item_id}")
    await reply(h, TECH, "没有同型号备用机")
    assert (await item_row(h, item_id))["spare_settled_at"]


async def test_take_back_creates_the_item_with_one_answer_promise(harness: BotHarness) -> None:
    h = harness
    ticket = await office(h)
    mark = h.emu.mark()
    await take_back(h, ticket)
    docs = [c for c in h.emu.calls("sendDocument", after=mark) if c.ok and c.chat_id == TECH]
    assert len(docs) == 1
    async with h.db.read() as conn:
        rows = await conn.execute_fetchall("SELECT * FROM repair_items")
    assert len(rows) == 1 and rows[0]["ticket_id"] == ticket
    item_id = rows[0]["id"]
    assert await deadline(h, "SLA-TAKEBACK", ticket) == "pending"
    assert await deadline(h, "repair:SLA-TAKEBACK", item_id) is None  # one promise, the ticket's
    # The customer scans the voucher: state, expected date; the chat is linked.
    token = rows[0]["token"]
    h.emu.user(CUSTOMER, "王先生")
    view = (await reply(h, CUSTOMER, f"/start rma_{token}"))[0]
    assert rows[0]["voucher_no"] in view and rows[0]["expected_back"] in view
    assert await h.count("SELECT count(*) FROM customers WHERE telegram_id = ?", CUSTOMER) == 1
    # The answer on the ticket meets the item's promise too, and reaches the customer.
    mark = h.emu.mark()
    await reply(h, DISPATCHER, "/answer 1 主板送修，下周五前送还", GROUP)
    assert await deadline(h, "SLA-TAKEBACK", ticket) == "done"
    assert (await item_row(h, item_id))["answered_at"]
    assert any("下周五前送还" in s for s in bot_texts(h, CUSTOMER, mark))
    # Back at the station: the customer is told.
    await show(h, TECH, item_id)
    await press(h, TECH, TECH, f"ri:mv:{item_id}:repair_here:received")
    await show(h, TECH, item_id)
    await press(h, TECH, TECH, f"ri:mv:{item_id}:repaired:repairing")
    said = bot_texts(h, CUSTOMER, mark)
    assert any("已返回服务站" in s for s in said), said
    h.clock.advance(hours=30)
    assert [a for a in await run_due(h) if "TAKEBACK" in a.kind] == []
    assert "未知" not in view and "rma_" not in view
    assert await h.count("SELECT count(*) FROM people WHERE telegram_id = ?", CUSTOMER) == 0
    _ = DISPATCHER


async def test_customer_view_of_an_unknown_voucher(harness: BotHarness) -> None:
    h = harness
    await setup(h)
    h.emu.user(CUSTOMER, "王先生")
    assert "没有找到" in (await reply(h, CUSTOMER, "/start rma_nothing"))[0]


async def test_rma_20day_recorded_once_after_the_10th(harness: BotHarness) -> None:
    h = harness
    await setup(h)
    item_id = await register(h)
    h.clock.set(NOW + timedelta(days=21))
    await run_due(h)
    await h.restart()
    await run_due(h)
    h.clock.advance(days=5)
    await run_due(h)
    assert await h.count("SELECT count(*) FROM events WHERE rule = 'RMA-10DAY'") == 1
    assert await h.count("SELECT count(*) FROM events WHERE rule = 'RMA-20DAY'") == 1
    assert await deadline(h, "repair:RMA-20DAY", item_id) == "fired"


async def test_agent_items_ask_for_the_agents_reason_and_county_gets_no_voucher(
    harness: BotHarness,
) -> None:
    h = harness
    await setup(h)
    async with h.db.transaction() as conn:
        await conn.execute(
            "UPDATE customers SET class = 'agent', kind = 'county' WHERE name = ?",
            (CUSTOMER_NAME,),
        )
    await reply(h, TECH, "/rma")
    for text in (CUSTOMER_NAME, "打印机", "-", "-", "-", "卡纸", "-"):
        await reply(h, TECH, text)
    await press(h, TECH, TECH, "无包装")
    mark = h.emu.mark()
    await h.press(TECH, TECH, "完成登记")
    assert [c for c in h.emu.calls("sendDocument", after=mark) if c.chat_id == TECH] == []
    item_id = 1
    row = await item_row(h, item_id)
    assert row["voucher_no"] is None
    # Agents' items have no SLA-TAKEBACK; RMA-AGENT asks at day 10, once.
    assert await deadline(h, "repair:SLA-TAKEBACK", item_id) is None
    assert await deadline(h, "repair:RMA-AGENT", item_id) == "pending"
    said = await breach_once(h, "RMA-AGENT", NOW + timedelta(days=10, minutes=45), TECH)
    assert len([t for t in said if "RMA-AGENT" in t]) == 1


async def test_back_at_the_station_asks_for_same_day_delivery_once(harness: BotHarness) -> None:
    h = harness
    await setup(h)
    item_id = await register(h)
    await show(h, TECH, item_id)
    await press(h, TECH, TECH, f"ri:mv:{item_id}:repair_here:received")
    await show(h, TECH, item_id)
    await press(h, TECH, TECH, f"ri:mv:{item_id}:repaired:repairing")
    # 21:00 local: past the end of the working day
    said = await breach_once(h, "RMA-BACK", NOW + timedelta(hours=12), TECH)
    assert len([t for t in said if "RMA-BACK" in t]) == 1


async def test_the_board_pages_and_is_refused_to_customers(harness: BotHarness) -> None:
    h = harness
    await setup(h)
    async with h.db.read() as conn:
        rows = await conn.execute_fetchall(
            "SELECT id FROM customers WHERE name = ?", (CUSTOMER_NAME,)
        )
    from bot.domain.repair_models import NewItem
    from bot.services import repair_service

    for n in range(12):
        await repair_service.register_item(
            h.app.bot_data["services"],
            NewItem(customer_id=rows[0][0], product=f"主机{n}", fault="不开机", packaging="none"),
            None,
        )
    first = (await reply(h, MANAGER, "/repairs"))[0]
    assert "主机0" in first and "主机11" not in first and "1/3" in first
    # Each item on the page has its legal steps for the caller's role (office: no "back").
    keyboard = h.emu.last_message(MANAGER)["reply_markup"]["inline_keyboard"]
    data = [b["callback_data"] for row in keyboard for b in row]
    assert "ri:mv:1:repair_here:received" in data and "ri:mv:1:lose:received" in data
    assert not any(":repaired:" in d or ":return:" in d for d in data)
    await press(h, MANAGER, MANAGER, "repairs:p:2")
    await press(h, MANAGER, MANAGER, "repairs:p:3")
    third = h.emu.last_message(MANAGER)["text"]
    assert "主机11" in third
    # A step from the board: the item moves, and the same button is stale afterwards.
    await press(h, MANAGER, MANAGER, "ri:mv:11:repair_here:received")
    async with h.db.read() as conn:
        state = (await conn.execute_fetchall("SELECT state FROM repair_items WHERE id = 11"))[0][0]
    assert state == "repairing"
    popups, _ = await press(h, MANAGER, MANAGER, "ri:mv:11:repair_here:received")
    assert any("过期" in p for p in popups)
    # A stranger and a customer get no board.
    h.emu.user(CUSTOMER, "王先生")
    said = await reply(h, CUSTOMER, "/repairs")
    assert said and "主机" not in said[0]


async def test_the_items_answer_meets_the_tickets_take_back_promise(harness: BotHarness) -> None:
    h = harness
    ticket = await office(h)
    await take_back(h, ticket)
    item_id = 1
    await show(h, TECH, item_id)
    await press(h, TECH, TECH, f"ri:ans:{item_id}")
    said = await reply(h, TECH, "硬盘损坏，换盘后三天内送还")
    assert any("SLA-TAKEBACK" in s for s in said)
    assert await deadline(h, "SLA-TAKEBACK", ticket) == "done"
    assert await h.count("SELECT count(*) FROM customer_answers WHERE ticket_id = ?", ticket) == 1
    h.clock.advance(hours=30)
    assert [a for a in await run_due(h) if "TAKEBACK" in a.kind] == []


async def test_a_long_item_card_fits_one_message(harness: BotHarness) -> None:
    h = harness
    await setup(h)
    item_id = await register(h)
    long = "很长的说明" * 190  # 950 characters a note
    services = h.app.bot_data["services"]
    async with h.db.transaction() as conn:
        await conn.execute(
            "UPDATE repair_items SET fault = ?, product = ?, answer = ? WHERE id = ?",
            (long, long, long, item_id),
        )
        for _ in range(20):
            await conn.execute(
                "INSERT INTO repair_transitions (item_id, event, from_state, to_state, role, at,"
                " note) VALUES (?, 'register', NULL, 'received', 'desk', ?, ?)",
                (item_id, services.now().isoformat(), long),
            )
    card = await show(h, TECH, item_id)
    assert len(card.encode("utf-16-le")) // 2 <= 4096
    assert (h.emu.last_message(TECH).get("reply_markup") or {}).get("inline_keyboard")


async def test_a_crash_between_the_claim_and_the_recording_is_finished_at_start(
    harness: BotHarness,
) -> None:
    """A claim that committed without its event (written by an older version, or a notifier
    that failed): the start-up records it once and tells the dispatch group and the technician
    once."""
    h = harness
    await setup(h)
    item_id = await register(h)
    h.clock.set(NOW + timedelta(days=11))
    mark = h.emu.mark()
    claimed = await timers.claim_due(h.app.bot_data["services"])  # no notifier: nothing told
    assert ("repair:RMA-10DAY", "breach") in [(a.kind, a.phase) for a in claimed]
    assert await h.count("SELECT count(*) FROM events WHERE rule = 'RMA-10DAY'") == 0
    for _ in range(2):  # the first start-up finishes it, the second finds nothing to do
        await h.restart()
        await wait_for(lambda: h.count("SELECT count(*) FROM events WHERE rule = 'RMA-10DAY'"))
        await h.delivered()
    await asyncio.sleep(0.2)  # a second notice would have been queued by now
    await h.delivered()
    assert await h.count("SELECT count(*) FROM events WHERE rule = 'RMA-10DAY'") == 1
    assert (
        await h.count(
            "SELECT count(*) FROM events WHERE source_key = ?", f"RMA-10DAY:repair:{item_id}"
        )
        == 1
    )
    told = [t for t in bot_texts(h, GROUP, mark) if "记录 RMA-10DAY" in t]
    assert len(told) == 1
    told = [t for t in bot_texts(h, TECH, mark) if "扣款" in t and "RMA-10DAY" in t]
    assert len(told) == 1


async def test_the_bot_records_its_event_with_the_claim(harness: BotHarness) -> None:
    """RMA-10DAY at the end of day 10: the event, the group's notice and the technician's (who
    may contest it, REC-WHO) commit with the claim (nothing is left to a later task that a crash
    could lose)."""
    h = harness
    await setup(h)
    await register(h)
    h.clock.set(NOW + timedelta(days=11))
    alerts = await timers.run_due(h.app)
    assert ("repair:RMA-10DAY", "breach") in [(a.kind, a.phase) for a in alerts]
    assert await h.count("SELECT count(*) FROM events WHERE rule = 'RMA-10DAY'") == 1
    for key in ("rmadesk.alert.recorded", "events.notice_deduction"):  # the group, REC-WHO
        assert await h.count("SELECT count(*) FROM outbox WHERE body LIKE ?", f"%{key}%") == 1
    await h.delivered()
    told = [t for t in bot_texts(h, TECH, 0) if "扣款" in t and "RMA-10DAY" in t]
    assert len(told) == 1


async def wait_for(count, timeout: float = 5.0) -> None:  # noqa: ANN001
    """Until the awaited count is not zero."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await count():
        if loop.time() > deadline:
            raise TimeoutError("nothing counted")
        await asyncio.sleep(0.01)


async def run_due(h: BotHarness) -> list:
    """Claim what is due (the events the bot records itself are written with the claim) and
    wait until the notices queued with the claim are delivered."""
    alerts = await timers.run_due(h.app)
    await h.delivered()
    return alerts
