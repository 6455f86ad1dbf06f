"""The repair desk's chat front over real HTTP: spare loans against a receipt photo and their
return, the complaint register with its restart-safe timers and DED-COMPLAINT once, the policy
desk (guided and one-line, at window edges), the warranty verdict, and other people's buttons."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.domain.models import Role
from bot.domain.repair_models import NewItem
from bot.services import repair_service, timers
from tests.e2e.harness import BotHarness

MANAGER, DISPATCHER, TECH, OTHER_TECH, CUSTOMER_CHAT = 301, 302, 303, 304, 888
GROUP = -300
NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # Monday 10:00 in Chengdu
ROLE_REFUSED = "您的角色无权执行此操作"
PHOTO = b"\xff\xd8\xff\xe0 receipt signed by the customer"


async def setup(h: BotHarness) -> int:
    """The desk's people, the group, a customer with a linked chat and one item taken in."""
    h.clock.set(NOW)
    await h.seed(MANAGER, "李经理", Role.MANAGER)
    await h.seed(DISPATCHER, "王调度", Role.DISPATCHER)
    await h.seed(TECH, "张伟", Role.TECHNICIAN)
    await h.seed(OTHER_TECH, "李娜", Role.TECHNICIAN)
    await h.bind_group(GROUP)
    h.emu.user(CUSTOMER_CHAT, "成都七中")
    async with h.db.transaction() as conn:
        await conn.execute(
            "INSERT INTO customers (name, class, telegram_id, language, created_at)"
            " VALUES ('成都七中', 'industry', ?, 'zh-CN', ?)",
            (CUSTOMER_CHAT, NOW.isoformat()),
        )
        rows = await conn.execute_fetchall("SELECT id FROM people WHERE name = '张伟'")
    item = await repair_service.register_item(
        h.services,
        NewItem(
            customer_id=1,
            product="联想启天 M437",
            fault="无法开机",
            packaging="complete",
            purchase_date=date(2026, 3, 1),
        ),
        by=rows[0][0],
    )
    return item.id


async def say_all(h: BotHarness, user: int, text: str, chat: int | None = None, **kw) -> str:
    """Send text; every message, edit and button answer of the bot that follows, joined."""
    mark = h.emu.mark()
    update = h.emu.send_text(user, text, chat_id=chat, **kw)
    await h.handled(update)
    return _said(h, mark)


def _said(h: BotHarness, mark: int) -> str:
    sent = [
        c.result["text"]
        for c in h.emu.calls(after=mark)
        if c.ok and c.method in ("sendMessage", "editMessageText") and isinstance(c.result, dict)
    ]
    return "\n".join([*sent, *h.answers(mark)])


async def press(h: BotHarness, user: int, chat: int, label: str) -> str:
    mark = h.emu.mark()
    update = h.emu.press_button(user, chat, label)
    await h.handled(update)
    return _said(h, mark)


def last_prompt(h: BotHarness, chat: int) -> int:
    """The newest ForceReply prompt of the bot in chat (a group answer replies to it)."""
    return next(
        c.result["message_id"]
        for c in reversed(h.emu.calls("sendMessage"))
        if c.ok and c.chat_id == chat and (c.params.get("reply_markup") or {}).get("force_reply")
    )


async def test_spare_lent_against_a_receipt_photo_and_returned(harness: BotHarness) -> None:
    h = harness
    item = await setup(h)
    assert "已添加备件 1" in await say_all(h, DISPATCHER, "/spare add 联想启天整机 machine SN-77")
    assert "类别只能是" in await say_all(h, DISPATCHER, "/spare add 键盘 banana")

    # Guided add in the group: other people's kind buttons are refused.
    assert "备件名称" in await say_all(h, DISPATCHER, "/spare add", GROUP)
    answer = await say_all(
        h, DISPATCHER, "戴尔显示器", GROUP, reply_to_message_id=last_prompt(h, GROUP)
    )
    assert "属于哪一类" in answer
    assert "不属于您当前的操作" in await press(h, MANAGER, GROUP, "显示器")
    assert ROLE_REFUSED in await press(h, OTHER_TECH, GROUP, "显示器")
    assert await h.count("SELECT count(*) FROM spare_units") == 1
    assert "已添加备件 2：戴尔显示器（显示器）" in await press(h, DISPATCHER, GROUP, "显示器")

    # A loan waits for the receipt photo; a second loan of the same spare is refused.
    assert "收条" in await say_all(h, DISPATCHER, f"/spare lend 1 {item}")
    assert await h.count("SELECT count(*) FROM spare_loans") == 0
    await h.restart()  # the form waits for the photo across a restart
    mark = h.emu.mark()
    await h.handled(h.emu.send_photo(DISPATCHER, PHOTO))
    assert "已借出：借用 #1" in _said(h, mark)
    async with h.db.read() as conn:
        rows = await conn.execute_fetchall("SELECT receipt_file_id, item_id FROM spare_loans")
    assert rows[0][0] and rows[0][1] == item
    assert "已借出" in await say_all(h, DISPATCHER, f"/spare lend 1 {item}")
    assert await h.count("SELECT count(*) FROM spare_loans") == 1

    # The list shows the loan with its days out; technicians may look, not lend.
    h.clock.advance(days=3)
    listing = await say_all(h, TECH, "/spares")
    assert "借用 #1" in listing and "已借出 3 天" in listing and "戴尔显示器" in listing
    assert ROLE_REFUSED in await say_all(h, TECH, "/spare back 1")
    assert await h.count("SELECT count(*) FROM spare_loans WHERE returned_at IS NULL") == 1

    # Returned from the list's button, once.
    await say_all(h, DISPATCHER, "/spares")
    assert "借用 #1 已归还" in await press(h, DISPATCHER, DISPATCHER, "收回 #1")
    assert "已归还" in await say_all(h, DISPATCHER, "/spare back 1")
    assert await h.count("SELECT count(*) FROM spare_loans WHERE returned_at IS NOT NULL") == 1
    assert "借用 #" not in await say_all(h, DISPATCHER, "/spares")

    # No spare for an item: the reason meets SLA-SPARE.
    assert "原因" in await say_all(h, DISPATCHER, f"/spare none {item} 嗯")
    assert "不借备件的原因" in await say_all(h, DISPATCHER, f"/spare none {item} 客户有备用机")
    assert (
        await h.count(
            "SELECT count(*) FROM repair_items WHERE spare_declined_reason = '客户有备用机'"
        )
        == 1
    )

    # A spare lent to a customer with no item on record.
    assert "收条" in await say_all(h, DISPATCHER, "/spare lend 2 c1")
    mark = h.emu.mark()
    await h.handled(h.emu.send_photo(DISPATCHER, PHOTO))
    assert "借用 #2" in _said(h, mark)


async def test_technician_cannot_lend_or_see_the_register(harness: BotHarness) -> None:
    h = harness
    await setup(h)
    for text in ("/spare add 主板", "/complaint", "/complaints"):
        assert ROLE_REFUSED in await say_all(h, TECH, text)
    assert await h.count("SELECT count(*) FROM spare_units") == 0


async def register_complaint(h: BotHarness) -> str:
    assert "客户编号" in await say_all(h, DISPATCHER, "/complaint")
    assert "没有找到客户" in await say_all(h, DISPATCHER, "不存在的学校")
    assert "投诉内容" in await say_all(h, DISPATCHER, "成都七中")
    assert "哪一类" in await say_all(h, DISPATCHER, "技术员上门态度恶劣")
    assert "涉及哪位技术员" in await press(h, DISPATCHER, DISPATCHER, "言行举止")
    return await press(h, DISPATCHER, DISPATCHER, "张伟")


async def deadline_state(h: BotHarness, kind: str, ref: int) -> str:
    async with h.db.read() as conn:
        rows = await conn.execute_fetchall(
            "SELECT state FROM deadlines WHERE kind = ? AND ref_id = ?", (kind, ref)
        )
    return rows[0][0] if rows else "none"


async def cmp_alerts(h: BotHarness) -> list[tuple[str, str]]:
    return [(a.kind, a.phase) for a in await timers.run_due(h.app) if a.kind.startswith("CMP")]


async def test_complaint_register_timers_result_and_one_deduction(harness: BotHarness) -> None:
    h = harness
    await setup(h)
    registered = await register_complaint(h)
    assert "已登记投诉 #1（成都七中）" in registered
    assert await deadline_state(h, "CMP-ACK", 1) == "pending"
    assert await deadline_state(h, "CMP-VERIFY", 1) == "pending"

    # CMP-ACK: the warning and the breach each reach the managers once, also across restarts.
    h.clock.set(NOW + timedelta(hours=23, minutes=40))
    mark = h.emu.mark()
    assert await cmp_alerts(h) == [("CMP-ACK", "warning")]
    await h.emu.wait_for_message(MANAGER, "⏰ 提醒：投诉 #1", after=mark)
    await h.restart()
    assert await cmp_alerts(h) == []
    h.clock.set(NOW + timedelta(hours=24, minutes=1))
    assert await cmp_alerts(h) == [("CMP-ACK", "breach")]
    await h.emu.wait_for_message(MANAGER, "🚨 超时：投诉 #1", after=mark)
    await h.restart()
    assert await cmp_alerts(h) == []

    # Acknowledge and verify from the register; the verify timer is met.
    listing = await say_all(h, DISPATCHER, "/complaints")
    assert "#1 成都七中" in listing and "待受理" in listing
    register = await h.emu.wait_for_message(DISPATCHER, "投诉登记簿")
    assert "投诉 #1 已受理" in await press(h, DISPATCHER, DISPATCHER, "受理 #1")
    mark = h.emu.mark()  # the same button pressed again (a double tap, a stale message)
    await h.handled(h.emu.press(DISPATCHER, DISPATCHER, register["message_id"], "cmp:a:1"))
    assert "投诉 1 已受理" in _said(h, mark)
    assert "核实情况" in await press(h, DISPATCHER, DISPATCHER, "核实 #1")
    await h.restart()  # the form survives a restart
    assert "已核实" in await say_all(h, DISPATCHER, "属实，客户有通话录音")
    assert await deadline_state(h, "CMP-VERIFY", 1) == "done"
    h.clock.set(NOW + timedelta(days=5))
    assert await cmp_alerts(h) == []

    # Upheld: the customer is told, DED-COMPLAINT is recorded once and can be contested.
    await say_all(h, DISPATCHER, "/complaints")
    assert "处理结果" in await press(h, DISPATCHER, DISPATCHER, "成立 #1")
    mark = h.emu.mark()
    decided = await say_all(h, DISPATCHER, "已向客户道歉，对技术员批评教育")
    assert "成立" in decided and "DED-COMPLAINT" in decided
    told = await h.emu.wait_for_message(CUSTOMER_CHAT, "您的投诉 #1 经核实成立", after=mark)
    assert "道歉" in told["text"]
    notice = await h.emu.wait_for_message(TECH, "DED-COMPLAINT", after=mark)
    assert "申诉" in str(notice.get("reply_markup"))
    assert "备注：投诉 #1；已向客户道歉" in notice["text"] and "CMP" not in notice["text"]
    rule_count = "SELECT count(*) FROM events WHERE rule = 'DED-COMPLAINT'"
    assert await h.count(rule_count) == 1

    # Pressing an old button, deciding again or restarting records nothing more.
    assert "此按钮已失效" in await press(h, DISPATCHER, DISPATCHER, "不成立 #1")
    await h.restart()
    with pytest.raises(repair_service.RepairError) as refused:
        await repair_service.decide_complaint(h.services, 1, True, "再次处理", None)
    assert refused.value.key == "repairs.error.complaint_decided"
    assert await h.count(rule_count) == 1

    # The technician contests his own event; another technician may not use his button.
    event_id = await h.count("SELECT id FROM events WHERE rule = 'DED-COMPLAINT'")
    mark = h.emu.mark()
    update = h.emu.press(OTHER_TECH, TECH, notice["message_id"], f"contest:{event_id}")
    await h.handled(update)
    assert f"第 {event_id} 条不是您的记录" in _said(h, mark)
    assert await h.count("SELECT count(*) FROM contests") == 0
    assert "申诉" in await press(h, TECH, TECH, "申诉")


async def test_complaint_buttons_of_another_form_are_refused(harness: BotHarness) -> None:
    h = harness
    await setup(h)
    assert "客户编号" in await say_all(h, DISPATCHER, "/complaint", GROUP)
    await say_all(h, DISPATCHER, "成都七中", GROUP, reply_to_message_id=last_prompt(h, GROUP))
    await say_all(h, DISPATCHER, "收费不合理", GROUP, reply_to_message_id=last_prompt(h, GROUP))
    assert "不属于您当前的操作" in await press(h, MANAGER, GROUP, "收费")
    assert ROLE_REFUSED in await press(h, TECH, GROUP, "收费")
    assert "涉及哪位技术员" in await press(h, DISPATCHER, GROUP, "收费")
    assert "已登记投诉 #1" in await press(h, DISPATCHER, GROUP, "不涉及技术员")
    assert await h.count("SELECT count(*) FROM complaints WHERE technician_id IS NULL") == 1


async def test_policy_lookups_at_window_edges(harness: BotHarness) -> None:
    h = harness
    await setup(h)  # today is 2026-12-07 in Chengdu
    # Local company, unopened: refund within 3 days of the sale (day 3 open, day 4 closed).
    day3 = await say_all(h, TECH, "/policy local 2026-12-04 machine complete")
    assert "✅ 退货：可办理，截至 2026-12-07" in day3
    day4 = await say_all(h, TECH, "/policy local 2026-12-03 machine complete")
    assert "❌ 退货：不可办理——已超过期限" in day4
    assert "✅ 调货：可办理，截至 2026-12-13" in day4
    # County company: refund within 10 days.
    assert "✅ 退货：可办理，截至 2026-12-07" in await say_all(
        h, TECH, "/policy county 2026-11-27 machine complete"
    )
    assert "❌ 退货" in await say_all(h, TECH, "/policy county 2026-11-26 machine complete")
    # An opened monitor without a fault: neither refund nor exchange (POL-OPENED).
    opened = await say_all(h, TECH, "/policy local 2026-12-06 monitor opened")
    assert "❌ 退货" in opened and "POL-OPENED" in opened and "❌ 调货" in opened
    # A fault within 7 days: the full price back (POL-7DAY).
    assert "全额退还货款" in await say_all(h, TECH, "/policy other 2026-12-01 machine faulty")
    assert "用法" in await say_all(h, TECH, "/policy local 2026-13-01 machine faulty")
    assert "晚于今天" in await say_all(h, TECH, "/policy local 2026-12-08 machine faulty")

    # The guided form in the group; another person's buttons are refused.
    assert "哪一类" in await say_all(h, DISPATCHER, "/policy", GROUP)
    assert "不属于您当前的操作" in await press(h, TECH, GROUP, "本地公司")
    await press(h, DISPATCHER, GROUP, "本地公司")
    prompt = last_prompt(h, GROUP)
    assert "格式不对" in await say_all(h, DISPATCHER, "昨天", GROUP, reply_to_message_id=prompt)
    prompt = last_prompt(h, GROUP)
    await say_all(h, DISPATCHER, "2026-12-04", GROUP, reply_to_message_id=prompt)
    await press(h, DISPATCHER, GROUP, "整机")
    guided = await press(h, DISPATCHER, GROUP, "未开箱、包装齐全")
    assert "政策查询：本地公司，2026-12-04 售出（已 3 天）" in guided
    assert "✅ 退货：可办理，截至 2026-12-07" in guided


async def test_warranty_verdict_and_override(harness: BotHarness) -> None:
    h = harness
    item = await setup(h)  # bought 2026-03-01: in warranty
    assert "在保修期内" in await say_all(h, DISPATCHER, f"/warranty {item}")
    assert "只有经理和技术员" in await say_all(h, DISPATCHER, f"/warranty {item} out 外壳摔裂")
    overridden = await say_all(h, TECH, f"/warranty {item} out 外壳摔裂，人为损坏")
    assert "不在保修期内。依据：技术员判定" in overridden and "外壳摔裂" in overridden
    assert "没有编号为 99 的返修品" in await say_all(h, TECH, "/warranty 99")

    # A ticket's machine: bought 2025-06-01, so out of warranty on 2026-12-07.
    async with h.db.transaction() as conn:
        machine = await conn.execute(
            "INSERT INTO machines (customer_id, purchase_date) VALUES (1, '2025-06-01')"
        )
        await conn.execute(
            "INSERT INTO tickets (customer_id, fault, service_type, state, machine_id,"
            " created_at, updated_at) VALUES (1, '开不了机', 'hardware', 'new', ?, ?, ?)",
            (machine.lastrowid, NOW.isoformat(), NOW.isoformat()),
        )
    ticket = await say_all(h, DISPATCHER, "/warranty t1")
    assert "工单 #1：❌ 不在保修期内。依据：已过保修期。保修截止日 2026-06-01" in ticket
    assert "没有编号为 2 的工单" in await say_all(h, DISPATCHER, "/warranty t2")


async def test_an_admin_who_is_a_manager_gets_each_complaint_alert_once(
    harness: BotHarness,
) -> None:
    """The station's admin (config) is also on record as a manager: one chat, one alert."""
    h = harness
    await setup(h)
    admin = h.config.admins[0]
    await h.seed(admin, "周站长", Role.MANAGER)
    await repair_service.register_complaint(h.services, 1, "上门太慢", "delay", None, by=None)
    h.clock.set(NOW + timedelta(hours=23, minutes=40))
    mark = h.emu.mark()
    assert await cmp_alerts(h) == [("CMP-ACK", "warning")]
    await h.delivered()
    for chat in (admin, MANAGER):
        said = [
            c.params.get("text") or ""
            for c in h.emu.calls("sendMessage", after=mark)
            if c.ok and c.chat_id == chat
        ]
        assert len([text for text in said if "提醒：投诉 #1" in text]) == 1, chat
