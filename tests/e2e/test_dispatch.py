"""Dispatch over real HTTP: intake in the group, the queue, assignment, answers and timers."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.config import Config
from bot.domain.dispatch_models import NewCustomer, NewTicket
from bot.domain.models import Role
from bot.services import dispatching, timers
from tests.e2e.harness import BotHarness

ADMIN, MANAGER, DISPATCHER, ZHANG, LI = 1, 101, 102, 103, 104
GROUP = -1001
MORNING = datetime(2026, 11, 26, 1, 30, tzinfo=UTC)  # Thursday 09:30 in Chengdu


@pytest.fixture
def config(config: Config) -> Config:
    """Cards are edited at once in tests (coalescing has its own test)."""
    return replace(config, card_edit_interval_s=0)


async def staff(h: BotHarness) -> None:
    h.clock.set(MORNING)
    await h.seed(MANAGER, "李经理", Role.MANAGER)
    await h.seed(DISPATCHER, "王调度", Role.DISPATCHER)
    await h.seed(ZHANG, "张伟", Role.TECHNICIAN)
    await h.seed(LI, "李娜", Role.TECHNICIAN)
    await h.bind_group(GROUP)


async def customer(
    h: BotHarness, name: str, cls: str = "industry", kind: str = "", site=None
) -> int:
    return await dispatching.create_customer(
        h.services,
        NewCustomer(name=name, customer_class=cls, kind=kind, site=site or (30.66, 104.07)),
    )


def last_prompt(h: BotHarness, chat: int) -> int:
    """The newest ForceReply prompt of the bot in chat."""
    for call in reversed(h.emu.calls("sendMessage")):
        if (
            call.ok
            and call.chat_id == chat
            and (call.params.get("reply_markup") or {}).get("force_reply")
        ):
            return call.result["message_id"]
    raise AssertionError("no ForceReply prompt")


async def reply(h: BotHarness, text: str) -> dict:
    """Answer the newest prompt in the group; the bot's messages in answer, joined."""
    mark = h.emu.mark()
    update = h.emu.send_text(
        DISPATCHER, text, chat_id=GROUP, reply_to_message_id=last_prompt(h, GROUP)
    )
    await h.handled(update)
    texts = [c.result["text"] for c in h.emu.calls("sendMessage", after=mark) if c.ok]
    return {"text": "\n".join(texts)}


async def test_guided_intake_new_customer_with_location(harness: BotHarness) -> None:
    h = harness
    await staff(h)
    await h.say(DISPATCHER, "/new", chat_id=GROUP)
    answer = await reply(h, "蓝海网吧")
    assert "蓝海网吧" in answer["text"]
    await h.press(DISPATCHER, GROUP, "新建客户")
    await h.press(DISPATCHER, GROUP, "网络客户(网吧)")
    await reply(h, "138 0000 1111")
    mark = h.emu.mark()
    update = h.emu.send_location(
        DISPATCHER, 30.6712, 104.1021, chat_id=GROUP, reply_to_message_id=last_prompt(h, GROUP)
    )
    await h.handled(update)
    await h.emu.wait_for_message(GROUP, "故障", after=mark)
    await reply(h, "主机无法开机")
    for label in ("硬件", "重大故障", "TCL", "工作用", "明天上午"):
        await h.press(DISPATCHER, GROUP, label)
    mark = h.emu.mark()
    await h.press(DISPATCHER, GROUP, "创建工单")
    card = await h.emu.wait_for_message(GROUP, "工单 #1", after=mark)
    assert "蓝海网吧" in card["text"] and "网吧" in card["text"]
    assert "上门服务" in card["text"]
    assert await h.count("SELECT count(*) FROM customers WHERE kind = 'netcafe'") == 1
    assert await h.count("SELECT count(*) FROM tickets WHERE group_message_id IS NOT NULL") == 1
    assert await h.count("SELECT count(*) FROM deadlines WHERE kind = 'SLA-RESPOND'") == 1


async def quick(h: BotHarness, text: str) -> dict:
    return await h.say(DISPATCHER, f"/new {text}", chat_id=GROUP)


async def test_quick_intake_and_every_wrong_value_writes_nothing(harness: BotHarness) -> None:
    h = harness
    await staff(h)
    await customer(h, "锦江区税务局")
    for text, expect in (
        ("锦江区税务局 | 打印机坏了", "快速建单"),
        ("赵六 | 蓝屏 | 硬件 重大 品牌 工具", "没有客户「赵六」"),
        (" | 蓝屏 | 硬件 重大 品牌 工具", "客户名称"),
        ("锦江区税务局 |  | 硬件 重大 品牌 工具", "故障描述不能为空"),
        ("锦江区税务局 | 蓝屏 | 硬件 重大 品牌", "缺少标记：工具 或 娱乐"),
        ("锦江区税务局 | 蓝屏 | 硬件 软件 重大 品牌 工具", "矛盾"),
        ("锦江区税务局 | 蓝屏 | 硬件 超大 品牌 工具", "不认识标记「超大」"),
        ("锦江区税务局 | 蓝屏 | 硬件 重大 品牌 工具 | 明天", "时间格式不对"),
        ("锦江区税务局 | 蓝屏 | 硬件 重大 品牌 工具 | 11-27 12:00-09:00", "结束时间要晚于"),
        ("锦江区税务局 | 蓝屏 | 硬件 重大 品牌 工具 | 11-20 09:00-12:00", "已经过去"),
    ):
        answer = await quick(h, text)
        assert expect in answer["text"], (text, answer["text"])
    assert await h.count("SELECT count(*) FROM tickets") == 0
    mark = h.emu.mark()
    await quick(h, "锦江区税务局 | 服务器蓝屏 | hw major TCL tool | 11-27 09:00-12:00")
    card = await h.emu.wait_for_message(GROUP, "工单 #1", after=mark)
    assert (
        "服务器蓝屏" in card["text"]
        and "TCL" in card["text"]
        and "11-27 09:00–12:00" in card["text"]
    )
    assert card["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "assign:s:1"


async def test_guided_wrong_values_then_cancel_leave_nothing(harness: BotHarness) -> None:
    h = harness
    await staff(h)
    await h.say(DISPATCHER, "/new", chat_id=GROUP)
    await reply(h, "新客户甲")
    await h.press(DISPATCHER, GROUP, "新建客户")
    await h.press(DISPATCHER, GROUP, "其他客户")
    answer = await reply(h, "电话是多少")
    assert "格式不对" in answer["text"]
    await reply(h, "-")
    answer = await reply(h, "30.6, 200")
    assert "坐标「30.6, 200」不对" in answer["text"]
    answer = await reply(h, "30.6570, 104.0660 gcj02")
    assert "故障" in answer["text"]
    answer = await reply(h, "   ")
    await reply(h, "开机黑屏")
    await h.press(DISPATCHER, GROUP, "硬件")
    mark = h.emu.mark()
    await h.press(DISPATCHER, GROUP, "软件")  # the previous step's button, pressed late
    assert "过时" in h.answers(mark)[0]
    card = h.emu.last_message(GROUP)
    forged = h.emu.press(DISPATCHER, GROUP, card["message_id"], "new:zzzzzz:major:1")
    await h.handled(forged)
    assert "过期" in h.answers(mark)[-1]
    for label in ("一般故障", "兼容机", "娱乐用", "输入时间"):
        await h.press(DISPATCHER, GROUP, label)
    answer = await reply(h, "25:00-26:00")
    assert "时间格式不对" in answer["text"]
    answer = await h.say(DISPATCHER, "/cancel", chat_id=GROUP)
    assert "已取消" in answer["text"]
    assert await h.count("SELECT count(*) FROM customers") == 0
    assert await h.count("SELECT count(*) FROM tickets") == 0
    mark = h.emu.mark()
    await h.press(DISPATCHER, GROUP, "明天上午")  # an old button after /cancel
    assert "过期" in h.answers(mark)[0]


PLAIN = "软件 一般 兼容 娱乐"


async def queue_order(h: BotHarness) -> tuple[dict, list[int]]:
    """/queue in the group: the message and the ticket ids in queue order."""
    await h.idle()
    mark = h.emu.mark()
    h.emu.send_text(DISPATCHER, "/queue", chat_id=GROUP)
    answer = await h.emu.wait_for_message(GROUP, "待派工队列", after=mark)
    rows = [line for line in answer["text"].splitlines() if line[:1].isdigit()]
    return answer, [int(line.split("#")[1].split()[0]) for line in rows]


async def test_queue_ranks_classes_and_factors_as_rules_order(harness: BotHarness) -> None:
    h = harness
    await staff(h)
    names = {
        "代理甲": ("agent", "county"),
        "行业乙": ("industry", ""),
        "网络丙": ("network", ""),
        "准行业丁": ("quasi", ""),
        "散户戊": ("other", ""),
        "散户己": ("other", ""),
        "散户庚": ("other", ""),
        "散户辛": ("other", ""),
    }
    for name, (cls, kind) in names.items():
        await customer(h, name, cls, kind)
    # An earlier ticket of 散户庚 with the same fault, settled by phone: the fault reopened.
    earlier = await dispatching.open_ticket(
        h.services,
        NewTicket(
            customer_id=7, fault="蓝屏", hardware=False, major=False, brand=False, tool=False
        ),
        None,
    )
    from storage import tickets

    async with h.db.transaction() as conn:
        await tickets.transition(conn, earlier, "resolve_by_phone", "dispatcher", None, at=MORNING)
    h.clock.advance(minutes=1)
    for text in (
        f"散户戊 | 显示器闪 | {PLAIN}",  # 2: other 10
        f"准行业丁 | 网络慢 | {PLAIN}",  # 3: quasi 20
        f"网络丙 | 交换机坏 | {PLAIN}",  # 4: network 30
        f"行业乙 | 打印机卡纸 | {PLAIN}",  # 5: industry 40
        f"代理甲 | 批量返修 | {PLAIN}",  # 6: agent 50
        "散户己 | 主板烧了 | 硬件 重大 品牌 工具",  # 7: other 10+6+8+4+3 = 31
        "准行业丁 | 服务器宕机 | 软件 重大 兼容 娱乐",  # 8: quasi 20+8 = 28
        f"散户庚 | 蓝屏 | {PLAIN}",  # 9: other 10 + repeat 7 = 17
        f"散户辛 | 键盘失灵 | {PLAIN}",  # 10: other 10, younger than 2
    ):
        await quick(h, text)
        await h.idle()
    assert await h.count("SELECT count(*) FROM tickets WHERE repeat = 1") == 1
    answer, order = await queue_order(h)
    assert order == [6, 5, 7, 4, 8, 3, 9, 2, 10]
    assert "类别 40 + 等待 0" in answer["text"] and "重复 7" in answer["text"]
    assert "接单时限：剩 2小时0分" in answer["text"]

    # Ageing: after the response window the old other ticket (10 + 10) ties quasi 20 and wins
    # as the older one; a pin puts a ticket on top whatever its score.
    h.clock.advance(hours=3)
    await quick(h, f"准行业丁 | 新的问题 | {PLAIN}")  # 11: quasi 20, ageing 0
    await h.idle()
    answer = await h.say(DISPATCHER, "/pin 10", chat_id=GROUP)
    assert "已置顶" in answer["text"]
    answer, order = await queue_order(h)
    assert order[0] == 10
    assert order.index(2) < order.index(11)
    assert "已超时" in answer["text"]


async def open_quick_ticket(h: BotHarness, name: str, site=(30.66, 104.07)) -> None:
    await customer(h, name, "industry", site=site)
    await quick(h, f"{name} | 电脑无法开机 | 硬件 重大 品牌 工具")
    await h.idle()


async def assign_to(h: BotHarness, ticket: int, who: str) -> dict:
    await h.press(DISPATCHER, GROUP, f"assign:s:{ticket}")
    mark = h.emu.mark()
    await h.press(DISPATCHER, GROUP, who)
    tech = ZHANG if who == "张伟" else LI
    return await h.emu.wait_for_message(tech, f"派工单 #{ticket}", after=mark)


async def test_suggestions_assignment_and_accept(harness: BotHarness) -> None:
    h = harness
    await staff(h)
    async with h.db.transaction() as conn:  # 李娜 is next door, 张伟 at the station
        await conn.execute(
            "UPDATE people SET last_lat = 30.70, last_lon = 104.10 WHERE name = '李娜'"
        )
    await open_quick_ticket(h, "成都七中", site=(30.701, 104.101))
    await h.press(DISPATCHER, GROUP, "assign:s:1")
    choices = h.emu.last_message(GROUP)["reply_markup"]["inline_keyboard"]
    assert [row[0]["text"].split(" ·")[0] for row in choices] == ["李娜", "张伟"]
    await h.say(LI, "/duty off")
    await h.press(DISPATCHER, GROUP, "assign:s:1")
    choices = h.emu.last_message(GROUP)["reply_markup"]["inline_keyboard"]
    assert choices[0][0]["text"].startswith("张伟") and "下班" in choices[1][0]["text"]
    answer = await h.say(MANAGER, "/leave 张伟 2")
    assert "11-28" in answer["text"]
    await h.say(LI, "/duty on")

    mark = h.emu.mark()
    card = await assign_to(h, 1, "李娜")
    pin = h.emu.calls("sendLocation", after=mark)[0].params
    assert (pin["latitude"], pin["longitude"]) == (30.701, 104.101)
    assert "成都七中" in card["text"] and "电脑无法开机" in card["text"]
    assert await h.count("SELECT count(*) FROM tickets WHERE state = 'assigned'") == 1
    mark = h.emu.mark()
    await h.press(LI, LI, "接单")
    edited = await h.emu.wait_for_message(LI, "已接单", after=mark)
    button = edited["reply_markup"]["inline_keyboard"][0][0]
    assert button["callback_data"] == "visit:arrive:1"
    card = await h.emu.wait_for_message(GROUP, "已接单 · 技术员：李娜", after=mark)
    assert "到达时限" in card["text"]
    assert (
        await h.count("SELECT count(*) FROM deadlines WHERE kind='SLA-RESPOND' AND state='done'")
        == 1
    )
    assert (
        await h.count("SELECT count(*) FROM deadlines WHERE kind='SLA-ARRIVE' AND state='pending'")
        == 1
    )
    rows = await h.count(
        "SELECT count(*) FROM ticket_transitions WHERE ticket_id = 1 AND by_person IS NOT NULL"
    )
    assert rows == 3  # created and assigned by the dispatcher, accepted by the technician
    answer = await h.say(LI, "/jobs")
    assert "#1" in answer["text"]
    assert answer["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "visit:arrive:1"

    # Accepting again is an illegal step with a clear answer; 张伟 cannot answer 李娜's card.
    mark = h.emu.mark()
    update = h.emu.press(LI, LI, edited["message_id"], "dispatch:accept:1")
    await h.handled(update)
    assert "已接单" in h.answers(mark)[-1] and "不能「接单」" in h.answers(mark)[-1]
    update = h.emu.press(ZHANG, LI, edited["message_id"], "dispatch:accept:1")
    await h.handled(update)
    assert await h.count("SELECT count(*) FROM ticket_transitions WHERE ticket_id = 1") == 3


async def test_decline_with_reason_returns_to_queue_and_tells_group(harness: BotHarness) -> None:
    h = harness
    await staff(h)
    await open_quick_ticket(h, "华西贸易公司")
    await assign_to(h, 1, "张伟")
    await h.press(ZHANG, ZHANG, "拒单")
    answer = await h.say(ZHANG, "  ", reply_to_message_id=h.emu.last_message(ZHANG)["message_id"])
    assert "原因" in answer["text"]
    mark = h.emu.mark()
    answer = await h.say(ZHANG, "今天在外地培训")
    assert "已退回队列" in answer["text"]
    notice = await h.emu.wait_for_message(GROUP, "拒绝了工单 #1", after=mark)
    assert "今天在外地培训" in notice["text"]
    assert (
        await h.count("SELECT count(*) FROM tickets WHERE state='new' AND assigned_to IS NULL") == 1
    )
    assert (
        await h.count(
            "SELECT count(*) FROM ticket_transitions WHERE to_state='new' AND note='今天在外地培训'"
        )
        == 1
    )
    _, order = await queue_order(h)
    assert order == [1]


async def test_no_answer_times_out_back_to_the_queue(harness: BotHarness) -> None:
    h = harness
    await staff(h)
    await open_quick_ticket(h, "锦江区税务局")
    card = await assign_to(h, 1, "张伟")
    h.clock.advance(minutes=14)
    assert await timers.run_due(h.app) == []
    h.clock.advance(minutes=2)
    mark = h.emu.mark()
    alerts = await timers.run_due(h.app)
    assert [(a.kind, a.phase) for a in alerts] == [("DISPATCH-ACCEPT", "breach")]
    await h.emu.wait_for_message(GROUP, "没有应答", after=mark)
    await h.emu.wait_for_message(ZHANG, "超时未应答", after=mark)
    assert await timers.run_due(h.app) == []
    assert (
        await h.count("SELECT count(*) FROM tickets WHERE state='new' AND assigned_to IS NULL") == 1
    )
    mark = h.emu.mark()
    update = h.emu.press(ZHANG, ZHANG, card["message_id"], "dispatch:accept:1")
    await h.handled(update)
    assert "没有派给您" in h.answers(mark)[-1]


async def test_respond_promise_warns_then_escalates_once(harness: BotHarness) -> None:
    h = harness
    await staff(h)
    await open_quick_ticket(h, "蓝海网吧")
    h.clock.advance(minutes=95)
    mark = h.emu.mark()
    assert [a.phase for a in await timers.run_due(h.app)] == ["warning"]
    await h.emu.wait_for_message(GROUP, "⏳ 提醒：工单 #1", after=mark)
    h.clock.advance(minutes=30)
    mark = h.emu.mark()
    assert [a.phase for a in await timers.run_due(h.app)] == ["breach"]
    alert = await h.emu.wait_for_message(GROUP, "🚨 超时：工单 #1", after=mark)
    assert "SLA-RESPOND" in alert["text"]
    assert await timers.run_due(h.app) == []


async def test_non_dispatchers_are_refused_every_dispatch_action(harness: BotHarness) -> None:
    h = harness
    await staff(h)
    await open_quick_ticket(h, "蓝海网吧")
    before = await h.count("SELECT count(*) FROM ticket_transitions")
    for text in (
        "/new",
        "/new 蓝海网吧 | 蓝屏 | 硬件 重大 品牌 工具",
        "/queue",
        "/customers 蓝海",
        "/pin 1",
        "/assign 1",
        "/leave 李娜 3",
    ):
        answer = await h.say(ZHANG, text, chat_id=GROUP)
        assert "无权" in answer["text"], text
    card_id = await h.count("SELECT group_message_id FROM tickets WHERE id = 1")
    mark = h.emu.mark()
    for data in ("assign:s:1", "assign:p:1:3", "pin:1", "new:abcdef:ok"):
        update = h.emu.press(ZHANG, GROUP, card_id, data)
        await h.handled(update)
    assert all("无权" in text for text in h.answers(mark))
    answer = await h.say(DISPATCHER, "/leave 李娜 3", chat_id=GROUP)
    assert "无权" in answer["text"]  # leave is for managers
    assert await h.count("SELECT count(*) FROM tickets") == 1
    assert await h.count("SELECT count(*) FROM ticket_transitions") == before
    assert (
        await h.count("SELECT count(*) FROM tickets WHERE pinned = 1 OR assigned_to IS NOT NULL")
        == 0
    )
    assert await h.count("SELECT count(*) FROM people WHERE leave_until IS NOT NULL") == 0


async def test_restart_fires_each_overdue_escalation_exactly_once(harness: BotHarness) -> None:
    h = harness
    await staff(h)
    await open_quick_ticket(h, "行业甲")
    await open_quick_ticket(h, "行业乙")
    await assign_to(h, 2, "张伟")
    await h.stop()
    h.clock.advance(hours=3)  # past SLA-RESPOND of both tickets and the dispatch answer of #2
    mark = h.emu.mark()
    await h.start()
    await h.emu.wait_for_message(GROUP, "🚨 超时：工单 #1", after=mark)
    await h.emu.wait_for_message(GROUP, "🚨 超时：工单 #2", after=mark)
    await h.emu.wait_for_message(GROUP, "没有应答", after=mark)
    assert await timers.run_due(h.app) == []
    await h.restart()
    assert await timers.run_due(h.app) == []
    await h.idle()
    sent = [c.result["text"] for c in h.emu.calls("sendMessage", after=mark) if c.chat_id == GROUP]
    assert sum("🚨 超时：工单 #1" in s for s in sent) == 1
    assert sum("🚨 超时：工单 #2" in s for s in sent) == 1
    assert sum("没有应答" in s for s in sent) == 1
    assert not any("⏳" in s for s in sent)


async def test_card_edits_are_coalesced_latest_state_wins(harness: BotHarness) -> None:
    h = harness
    await staff(h)
    h.services.config = replace(h.services.config, card_edit_interval_s=0.5)
    await open_quick_ticket(h, "蓝海网吧")
    card_id = await h.count("SELECT group_message_id FROM tickets WHERE id = 1")
    mark = h.emu.mark()
    for _ in range(5):
        await h.say(DISPATCHER, "/pin 1", chat_id=GROUP)  # pinned, unpinned, ... pinned
    await h.emu.wait_for(
        lambda c: c.method == "editMessageText" and "📌" in c.params.get("text", ""),
        after=mark,
        timeout=3,
    )
    await h.idle()
    edits = [c for c in h.emu.calls("editMessageText", after=mark) if c.chat_id == GROUP]
    assert 1 <= len(edits) <= 2
    assert "📌" in h.emu.get_message(GROUP, card_id)["text"]
    assert await h.count("SELECT pinned FROM tickets WHERE id = 1") == 1
