"""Chat scope and personal data over real HTTP: who sees payroll, phones and the group binding."""

from __future__ import annotations

from bot.domain.models import Role
from storage import identities
from tests.e2e.harness import BotHarness
from tests.e2e.test_visits import MANAGER, NOW, TECH, seed_ticket

ADMIN = 1  # in the test config's telegram.admins
DISPATCHER = 202
CUSTOMER = 777
GROUP, OTHER_GROUP = -100, -200


async def setup(h: BotHarness) -> None:
    h.clock.set(NOW)
    await h.seed(MANAGER, "李经理", Role.MANAGER)
    await h.seed(DISPATCHER, "王调度", Role.DISPATCHER)
    await h.seed(TECH, "张伟", Role.TECHNICIAN)
    h.emu.user(ADMIN, "管理员")
    await h.bind_group(GROUP)
    h.emu.group(OTHER_GROUP, "闲聊群")


async def test_payroll_and_events_answer_only_in_private(harness: BotHarness) -> None:
    h = harness
    await setup(h)
    for chat in (GROUP, OTHER_GROUP):
        for command in ("/summary 2026-11", "/events 2026-11", "/closemonth 2026-10", "/flags"):
            reply = await h.say(MANAGER, command, chat_id=chat)
            assert reply["text"] == "请在与机器人的私聊中使用此命令。", (chat, command)
    assert await h.count("SELECT count(*) FROM closed_months") == 0
    reply = await h.say(MANAGER, "/flags 2026-11")
    assert "2026-11 没有被标记的上门" in reply["text"]


async def test_dispatch_commands_only_in_the_dispatch_group_or_private(
    harness: BotHarness,
) -> None:
    h = harness
    await setup(h)
    await seed_ticket(h)
    reply = await h.say(DISPATCHER, "/customers 王先生", chat_id=OTHER_GROUP)
    assert reply["text"] == "此命令只能在与机器人的私聊或调度群中使用。"
    reply = await h.say(DISPATCHER, "/queue", chat_id=OTHER_GROUP)
    assert "私聊或调度群" in reply["text"]
    # In the dispatch group the phone is masked; in private it is shown in full.
    reply = await h.say(DISPATCHER, "/customers 王先生", chat_id=GROUP)
    assert "138****0000" in reply["text"] and "13800000000" not in reply["text"]
    reply = await h.say(DISPATCHER, "/customers 王先生")
    assert "13800000000" in reply["text"]


async def test_rebinding_the_dispatch_group_asks_first_and_tells_the_old_group(
    harness: BotHarness,
) -> None:
    h = harness
    await setup(h)
    reply = await h.say(ADMIN, "/bindgroup", chat_id=OTHER_GROUP)
    assert "调度群目前是「调度群」" in reply["text"] and "闲聊群" in reply["text"]
    assert await h.count("SELECT chat_id FROM bound_chats WHERE purpose = 'dispatch'") == GROUP
    # Cancelling leaves it alone.
    await h.press(ADMIN, OTHER_GROUP, f"bind:no:{OTHER_GROUP}:{GROUP}")
    assert await h.count("SELECT chat_id FROM bound_chats WHERE purpose = 'dispatch'") == GROUP
    # A manager (not an admin) cannot confirm a move.
    await h.say(ADMIN, "/bindgroup", chat_id=OTHER_GROUP)
    mark = h.emu.mark()
    await h.press(MANAGER, OTHER_GROUP, f"bind:yes:{OTHER_GROUP}:{GROUP}")
    assert h.answers(mark) == ["抱歉，您的角色无权执行此操作。"]
    assert await h.count("SELECT chat_id FROM bound_chats WHERE purpose = 'dispatch'") == GROUP
    mark = h.emu.mark()
    await h.press(ADMIN, OTHER_GROUP, f"bind:yes:{OTHER_GROUP}:{GROUP}")
    notice = await h.emu.wait_for_message(GROUP, "不再接收派工消息", after=mark)
    assert "闲聊群" in notice["text"]
    assert await h.count("SELECT chat_id FROM bound_chats WHERE purpose = 'dispatch'") == (
        OTHER_GROUP
    )
    # Binding the group that is already bound needs no confirmation.
    reply = await h.say(ADMIN, "/bindgroup", chat_id=OTHER_GROUP)
    assert reply["text"] == "已将「闲聊群」设为调度群。"
    assert not reply.get("reply_markup")


async def test_linked_customer_gets_help_lang_and_cancel(harness: BotHarness) -> None:
    h = harness
    await setup(h)
    await seed_ticket(h)
    async with h.db.transaction() as conn:
        await conn.execute("UPDATE customers SET telegram_id = ?", (CUSTOMER,))
        await identities.sync_telegram_customer(conn, CUSTOMER)
    h.emu.user(CUSTOMER, "王先生", language_code="zh-hans")
    reply = await h.say(CUSTOMER, "/help")
    assert "服务单链接" in reply["text"] and "/lang" in reply["text"]
    reply = await h.say(CUSTOMER, "/cancel")
    assert reply["text"] == "当前没有进行中的操作。"
    reply = await h.say(CUSTOMER, "/lang en")
    assert reply["text"] == "Language set to English."
    reply = await h.say(CUSTOMER, "/help")
    assert "service slip" in reply["text"]
    reply = await h.say(CUSTOMER, "/summary")
    assert "role" in reply["text"]


async def test_summary_sent_in_private_is_audited(harness: BotHarness) -> None:
    h = harness
    await setup(h)
    mark = h.emu.mark()
    h.emu.send_text(MANAGER, "/summary 2026-11")
    await h.emu.wait_for(lambda c: c.method == "sendPhoto" and c.ok, after=mark, timeout=20)
    await h.idle()
    async with h.db.read() as conn:
        rows = await conn.execute_fetchall("SELECT actor, action, detail FROM audit_log")
    [(actor, action, detail)] = [tuple(r) for r in rows]
    assert action == "summary" and actor.startswith("李经理")
    assert detail.startswith("2026-11") and str(MANAGER) in detail
