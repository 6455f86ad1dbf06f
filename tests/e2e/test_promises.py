"""Service promises over real HTTP: SLA-ARRIVE from booking, take-back answers, tickets settled
from chat, repeat after an unresolved visit, SLA-CONSULT and unreported visits, zones in /rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from fractions import Fraction

import pytest

from bot.config import Config
from bot.domain import cards
from bot.domain.models import Role
from bot.services import timers
from tests.e2e.harness import BotHarness
from tests.e2e.test_visits import (
    GROUP,
    MANAGER,
    NOW,
    OTHER_TECH,
    TECH,
    arrive,
    check_out,
    seed_ticket,
    send_location,
    setup,
    visits,
)

DISPATCHER = 202


@pytest.fixture
def config(config: Config) -> Config:
    """Cards are edited at once in tests (coalescing has its own test)."""
    return replace(config, card_edit_interval_s=0)


async def office(h: BotHarness) -> int:
    """The visit tests' people plus a dispatcher; a ticket accepted by TECH."""
    ticket = await setup(h)
    await h.seed(DISPATCHER, "王调度", Role.DISPATCHER)
    return ticket


async def group_reply(h: BotHarness, user: int, text: str) -> list[str]:
    """Answer the bot's newest ForceReply prompt in the group; the bot's texts in answer."""
    prompt = next(
        c.result["message_id"]
        for c in reversed(h.emu.calls("sendMessage"))
        if c.ok and c.chat_id == GROUP and (c.params.get("reply_markup") or {}).get("force_reply")
    )
    mark = h.emu.mark()
    update = h.emu.send_text(user, text, chat_id=GROUP, reply_to_message_id=prompt)
    await h.handled(update)
    return [c.result["text"] for c in h.emu.calls("sendMessage", after=mark) if c.ok]


async def say_text(h: BotHarness, user: int, text: str, chat: int | None = None) -> str:
    """Send a command; every message and button answer of the bot that follows, joined."""
    mark = h.emu.mark()
    update = h.emu.send_text(user, text, chat_id=chat)
    await h.handled(update)
    sent = [c.result["text"] for c in h.emu.calls("sendMessage", after=mark) if c.ok]
    return "\n".join([*sent, *h.answers(mark)])


async def deadline_state(h: BotHarness, kind: str, ref: int) -> str:
    async with h.db.read() as conn:
        rows = await conn.execute_fetchall(
            "SELECT state FROM deadlines WHERE kind = ? AND ref_id = ?", (kind, ref)
        )
    return rows[0][0] if rows else "none"


# --- SLA-ARRIVE from booking -------------------------------------------------------------------


async def test_arrival_promise_runs_from_booking_not_from_a_late_acceptance(
    harness: BotHarness,
) -> None:
    h = harness
    await office(h)
    async with h.db.transaction() as conn:
        await conn.execute(
            "INSERT INTO customers (name, class, lat, lon, created_at)"
            " VALUES ('成都七中', 'industry', 30.70, 104.10, ?)",
            (NOW.isoformat(),),
        )
    booked = NOW
    answer = await say_text(
        h, DISPATCHER, "/new 成都七中 | 电脑无法开机 | 硬件 重大 品牌 工具", GROUP
    )
    assert "#2" in answer  # the accepted ticket of setup() is #1
    # Assigned at once, declined, re-dispatched, and accepted 20 hours after booking.
    await h.press(DISPATCHER, GROUP, "assign:s:2")
    await h.press(DISPATCHER, GROUP, "李娜")
    h.clock.advance(hours=20)
    await h.press(OTHER_TECH, OTHER_TECH, "dispatch:accept:2")
    async with h.db.read() as conn:
        rows = await conn.execute_fetchall(
            "SELECT due_at FROM deadlines WHERE kind = 'SLA-ARRIVE' AND ref_id = 2"
        )
    due = booked + timedelta(hours=48)
    assert rows[0][0] == due.isoformat(timespec="seconds")  # not 68 h after booking
    assert await deadline_state(h, "SLA-ARRIVE", 2) == "pending"
    card = await h.emu.wait_for_message(GROUP, "到达时限")
    assert cards.when(due, h.config.tz) in card["text"]

    # The warning reaches the technician with a Chinese title, not the rule ID twice.
    h.clock.set(due - timedelta(minutes=20))
    mark = h.emu.mark()
    alerts = await timers.run_due(h.app)
    assert ("SLA-ARRIVE", "warning", 2) in [(a.kind, a.phase, a.ref_id) for a in alerts]
    notice = await h.emu.wait_for_message(OTHER_TECH, "提醒：工单 #2", after=mark)
    assert "到达时限（SLA-ARRIVE）" in notice["text"]
    assert "SLA-ARRIVE（SLA-ARRIVE）" not in notice["text"]


# --- SLA-TAKEBACK: the answer given to the customer -------------------------------------------


async def take_back(h: BotHarness, ticket: int) -> None:
    await arrive(h, ticket)
    await send_location(h, live_period=600)
    await check_out(h, "taken_back")


async def test_take_back_answer_meets_the_promise_and_the_ticket_moves_on(
    harness: BotHarness,
) -> None:
    h = harness
    ticket = await office(h)
    mark = h.emu.mark()
    await take_back(h, ticket)
    # The ticket's card says 带回服务站 too; the notice is the one asking for the answer.
    notice = await h.emu.wait_for_message(GROUP, "/answer 1", after=mark)
    assert "带回服务站" in notice["text"]
    assert await deadline_state(h, "SLA-TAKEBACK", ticket) == "pending"

    # Too short, then a real answer through the notice's button.
    await h.press(DISPATCHER, GROUP, "tk:answer:1")
    assert any("至少" in text for text in await group_reply(h, DISPATCHER, "好"))
    assert await deadline_state(h, "SLA-TAKEBACK", ticket) == "pending"
    said = await group_reply(h, DISPATCHER, "主板送厂家维修，12月1日前送还")
    assert any("带回答复时限（SLA-TAKEBACK）已达成" in text for text in said)
    assert await deadline_state(h, "SLA-TAKEBACK", ticket) == "done"
    assert await h.count("SELECT count(*) FROM customer_answers WHERE ticket_id = 1") == 1

    # No warning and no escalation afterwards.
    h.clock.advance(hours=30)
    assert [a for a in await timers.run_due(h.app) if a.kind == "SLA-TAKEBACK"] == []

    # Another technician may not answer for it; the one who took it back may.
    assert "没有派给您" in await say_text(h, OTHER_TECH, "/answer 1 已经修好了，明天送还")
    assert "新答复" in await say_text(h, TECH, "/answer 1 已经修好了，明天送还")

    # Closing straight from "taken back" is illegal and says why; returned, then closed.
    refused = await say_text(h, DISPATCHER, "/close 1", GROUP)
    assert "已带回站" in refused and "不能「关闭」" in refused
    assert "已解决" in await say_text(h, TECH, "/returned 1")
    assert await deadline_state(h, "SLA-TAKEBACK", ticket) == "done"
    await say_text(h, TECH, "/close 1")  # closing is office work: refused at the door
    assert await h.count("SELECT count(*) FROM tickets WHERE id = 1 AND state = 'resolved'") == 1
    assert "已关闭" in await say_text(h, DISPATCHER, "/close 1", GROUP)
    assert "无需记录答复" in await say_text(h, DISPATCHER, "/answer 1 再说一次", GROUP)
    assert await h.count("SELECT count(*) FROM tickets WHERE id = 1 AND state = 'closed'") == 1


async def test_unanswered_take_back_escalates_once_and_cancelling_ends_it(
    harness: BotHarness,
) -> None:
    h = harness
    first = await office(h)
    await take_back(h, first)
    second = await seed_ticket(h)
    await take_back(h, second)
    assert await deadline_state(h, "SLA-TAKEBACK", second) == "pending"

    # Cancelling needs a reason; with one the ticket is cancelled and its timer ended.
    assert "原因" in await say_text(h, DISPATCHER, "/cancelticket 2", GROUP)
    assert await deadline_state(h, "SLA-TAKEBACK", second) == "pending"
    assert "已取消" in await say_text(
        h, DISPATCHER, "/cancelticket 2 客户不修了，已取回机器", GROUP
    )
    assert await deadline_state(h, "SLA-TAKEBACK", second) == "done"
    assert "已取消" in await say_text(h, DISPATCHER, "/returned 2", GROUP)  # refused, says state

    h.clock.advance(hours=25)
    mark = h.emu.mark()
    alerts = [a for a in await timers.run_due(h.app) if a.kind == "SLA-TAKEBACK"]
    assert [(a.ref_id, a.phase) for a in alerts] == [(first, "breach")]
    alert = await h.emu.wait_for_message(GROUP, "🚨 超时：工单 #1", after=mark)
    assert "带回答复时限" in alert["text"] and "/answer 1" in alert["text"]
    assert await timers.run_due(h.app) == []


async def test_dispatcher_settles_a_ticket_by_phone_or_at_the_station(
    harness: BotHarness,
) -> None:
    h = harness
    accepted = await office(h)
    waiting = await seed_ticket(h, state="new")
    async with h.db.transaction() as conn:
        await conn.execute("UPDATE tickets SET assigned_to = NULL WHERE id = ?", (waiting,))
    # The ticket card offers the MODE-ONSITE buttons while no visit has happened.
    from handlers.group_card import refresh_ticket_card

    await refresh_ticket_card(h.app, waiting)
    card = await h.emu.wait_for_message(GROUP, f"#{waiting}")
    labels = [b["text"] for row in card["reply_markup"]["inline_keyboard"] for b in row]
    assert "电话解决" in labels and "到站维修" in labels
    await h.press(DISPATCHER, GROUP, f"tk:resolve_by_phone:{waiting}")
    assert await h.count("SELECT count(*) FROM tickets WHERE state = 'resolved_by_phone'") == 1
    assert await deadline_state(h, "SLA-ARRIVE", waiting) in ("done", "none")

    # Not the technician's ticket: refused; his own accepted ticket: brought in.
    other = await seed_ticket(h)
    async with h.db.transaction() as conn:
        await conn.execute(
            "UPDATE tickets SET assigned_to = (SELECT id FROM people WHERE telegram_id = ?)"
            " WHERE id = ?",
            (OTHER_TECH, other),
        )
    assert "没有派给您" in await say_text(h, TECH, f"/atstation {other}")
    assert "送站维修" in await say_text(h, TECH, f"/atstation {accepted} 客户自己送机到站")
    # A ticket already on site cannot be settled without its visit: the reason is given.
    third = await seed_ticket(h)
    await arrive(h, third)
    await send_location(h, live_period=600)
    refused = await say_text(h, DISPATCHER, f"/byphone {third}", GROUP)
    assert "在现场" in refused and "不能「电话解决」" in refused
    assert "用法" in await say_text(h, DISPATCHER, "/byphone", GROUP)


# --- PRI-SCORE repeat after the ticket's own unresolved visit ---------------------------------


async def test_requeued_ticket_after_its_own_unresolved_visit_is_a_repeat(
    harness: BotHarness,
) -> None:
    h = harness
    ticket = await office(h)
    assert await h.count("SELECT repeat FROM tickets WHERE id = ?", ticket) == 0
    await arrive(h, ticket)
    await send_location(h, live_period=600)
    await check_out(h, "revisit", reason="缺主板配件")
    assert await h.count("SELECT repeat FROM tickets WHERE id = ?", ticket) == 1
    answer = await say_text(h, DISPATCHER, "/queue", GROUP)
    assert "#1" in answer and "重复 7" in answer


# --- SLA-CONSULT and ALW-FORFEIT-UNREPORTED ---------------------------------------------------


async def test_check_out_asks_about_the_configured_consult_limit(harness: BotHarness) -> None:
    h = harness
    h.config = replace(h.config, sla=replace(h.config.sla, consult_minutes=20))
    await h.restart()
    ticket = await office(h)
    await arrive(h, ticket)
    await send_location(h, live_period=600)
    visit_id = (await visits(h))[-1]["id"]
    await h.press(TECH, TECH, f"visit:out:{visit_id}")
    await send_location(h, horizontal_accuracy=8)
    await h.press(TECH, TECH, f"visit:oc:{visit_id}:resolved")
    await h.press(TECH, TECH, f"visit:st:{visit_id}:hardware")
    mark = h.emu.mark()
    await h.press(TECH, TECH, f"visit:mk:{visit_id}:single")
    question = await h.emu.wait_for_message(TECH, "现场技术咨询", after=mark)
    assert "超过 20 分钟" in question["text"] and "15" not in question["text"]


async def test_visit_left_open_asks_managers_once_and_confirmation_records_once(
    harness: BotHarness,
) -> None:
    h = harness
    first = await office(h)
    await arrive(h, first)
    await send_location(h, live_period=600)
    second = await seed_ticket(h)
    async with h.db.transaction() as conn:
        await conn.execute(
            "UPDATE tickets SET assigned_to = (SELECT id FROM people WHERE telegram_id = ?)"
            " WHERE id = ?",
            (OTHER_TECH, second),
        )
    assert await h.count("SELECT count(*) FROM deadlines WHERE kind = 'VISIT-UNREPORTED'") == 1

    h.clock.advance(hours=23, minutes=50)
    assert [a for a in await timers.run_due(h.app) if a.kind == "VISIT-UNREPORTED"] == []
    h.clock.advance(minutes=20)
    await h.restart()  # the row survives a restart; the question goes out exactly once
    mark = h.emu.mark()
    alerts = [a for a in await timers.run_due(h.app) if a.kind == "VISIT-UNREPORTED"]
    assert [a.ref_id for a in alerts] == [1]
    question = await h.emu.wait_for_message(MANAGER, "ALW-FORFEIT-UNREPORTED", after=mark)
    assert "张伟" in question["text"] and "24 小时" in question["text"]
    assert await timers.run_due(h.app) == []
    assert await h.count("SELECT count(*) FROM events") == 0  # nothing until a manager confirms

    # A technician cannot press it; the manager confirms; a second press records nothing more.
    mark = h.emu.mark()
    update = h.emu.press(TECH, MANAGER, question["message_id"], "unrep:ok:1")
    await h.handled(update)
    assert await h.count("SELECT count(*) FROM events") == 0
    mark = h.emu.mark()
    await h.press(MANAGER, MANAGER, "unrep:ok:1")
    await h.emu.wait_for_message(MANAGER, "已确认", after=mark)
    notice = await h.emu.wait_for_message(TECH, "ALW-FORFEIT-UNREPORTED", after=mark)
    assert "未完成服务未上报" in notice["text"]
    update = h.emu.press(MANAGER, MANAGER, question["message_id"], "unrep:ok:1")
    await h.handled(update)
    update = h.emu.press(MANAGER, MANAGER, question["message_id"], "unrep:no:1")
    await h.handled(update)
    assert any("已经确认" in a for a in h.answers(mark))
    assert (
        await h.count(
            "SELECT count(*) FROM events WHERE rule = 'ALW-FORFEIT-UNREPORTED'"
            " AND technician_id = (SELECT id FROM people WHERE telegram_id = ?)",
            TECH,
        )
        == 1
    )


async def test_dismissed_or_checked_out_visits_record_nothing(harness: BotHarness) -> None:
    h = harness
    first = await office(h)
    await arrive(h, first)
    await send_location(h, live_period=600)
    await check_out(h, "resolved")
    assert await deadline_state(h, "VISIT-UNREPORTED", 1) == "done"
    second = await seed_ticket(h)
    await arrive(h, second)
    await send_location(h, live_period=600)
    h.clock.advance(hours=25)
    alerts = [a for a in await timers.run_due(h.app) if a.kind == "VISIT-UNREPORTED"]
    assert [a.ref_id for a in alerts] == [2]
    mark = h.emu.mark()
    await h.press(MANAGER, MANAGER, "unrep:no:2")
    await h.emu.wait_for_message(MANAGER, "不处罚", after=mark)
    update = h.emu.press(MANAGER, MANAGER, h.emu.last_message(MANAGER)["message_id"], "unrep:ok:2")
    await h.handled(update)
    assert await h.count("SELECT count(*) FROM events") == 0


# --- TRV-HOW zones in /rules ------------------------------------------------------------------


async def test_rules_show_the_travel_zones_in_zones_mode(harness: BotHarness) -> None:
    h = harness
    travel = replace(
        h.config.rules.travel, mode="zones", zones=((Fraction(8), 1000), (Fraction(30), 3000))
    )
    h.config = replace(h.config, rules=replace(h.config.rules, travel=travel))
    await h.restart()
    await office(h)
    text = await say_text(h, MANAGER, "/rules")
    assert "8 km 以内 10.00" in text and "30 km 以内 30.00" in text
    assert "超过 30 km：按最后一区 30.00" in text
    assert "每公里" not in text
