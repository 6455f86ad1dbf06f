"""Guided forms survive restarts: the bot is stopped and started on the same database at every
step of check-out and of /new, and the form goes on where it was; once with a real SIGKILL."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import Config
from bot.domain.models import Role
from handlers.polling import handle_once
from storage import forms
from storage.db import Database
from tests.e2e import test_dispatch as dispatch
from tests.e2e.harness import BotHarness
from tests.e2e.processes import wait_until, write_config
from tests.e2e.test_visits import GROUP as VISIT_GROUP
from tests.e2e.test_visits import (
    SITE,
    TECH,
    arrive,
    send_location,
    setup,
    slip_row,
    visits,
)

ROOT = Path(__file__).resolve().parents[2]
TROUBLE = ("过期", "失效", "不需要照片", "出错")


@pytest.fixture
def config(config: Config) -> Config:
    return replace(config, card_edit_interval_s=0)


async def form_of(
    h: BotHarness, chat: int, person: int, settled: bool = True
) -> forms.FormRow | None:
    """The form on record, once every update sent so far is handled unless `settled` is False
    (a step's new state commits with the update's handled mark, just after the bot answers)."""
    if settled:
        await h.idle()
    async with h.db.lookup() as conn:
        return await forms.get(conn, "telegram", str(chat), str(person))


def trouble(h: BotHarness, mark: int) -> list[str]:
    """Anything the bot said since mark about an expired, stale or unexpected answer."""
    said = h.answers(mark) + [
        c.params.get("text", "") for c in h.emu.calls(after=mark) if "text" in c.params
    ]
    return [text for text in said if any(word in text for word in TROUBLE)]


async def press_after_restart(h: BotHarness, data: str, step_after: str | None) -> None:
    """Restart the bot, press the button, and check where the form stands."""
    await h.restart()
    mark = h.emu.mark()
    await h.press(TECH, TECH, data)
    assert trouble(h, mark) == [], data
    form = await form_of(h, TECH, TECH)
    assert (form.step if form else None) == step_after, data


async def test_checkout_resumes_after_a_restart_at_every_step(harness: BotHarness) -> None:
    h = harness
    ticket = await setup(h)
    await arrive(h, ticket)
    await h.restart()  # waiting for the check-in location
    assert "已签到" in await send_location(h, live_period=600)
    [visit] = await visits(h)
    vid = visit["id"]
    h.clock.advance(minutes=50)
    await press_after_restart(h, f"visit:out:{vid}", "checkout")
    await h.restart()  # waiting for the check-out location
    text = await send_location(h, horizontal_accuracy=8)
    assert "结果" in h.emu.last_message(TECH)["text"] or text
    assert (await form_of(h, TECH, TECH)).step == "oc"
    for data, after in (
        (f"visit:oc:{vid}:resolved", "st"),
        (f"visit:st:{vid}:hardware", "mk"),
        (f"visit:mk:{vid}:single", "co"),
        (f"visit:co:{vid}:0", "pd"),
        (f"visit:pd:{vid}:1", "fee"),
    ):
        await press_after_restart(h, data, after)
    await h.restart()  # waiting for the fee and parts
    mark = h.emu.mark()
    await h.say(TECH, "120 30")
    await h.emu.wait_for(
        lambda c: c.method == "sendMessage" and c.chat_id == TECH and "slip:qr:" in str(c.params),
        after=mark,
    )
    assert (await form_of(h, TECH, TECH)).step == "signature"
    slip = await slip_row(h)
    assert slip["revenue_fen"] == 9000
    # The handover: the customer answers on the technician's phone, a restart before each.
    for data in (
        f"slip:sat:{slip['id']}:satisfied",
        f"slip:cd:{slip['id']}:shoes:1",
        f"slip:cd:{slip['id']}:eating:1",
    ):
        await press_after_restart(h, data, "signature")
    await h.restart()  # waiting for the photo
    mark = h.emu.mark()
    await h.handled(h.emu.send_photo(TECH, b"\x89PNG signed after restarts"))
    done = await h.emu.wait_for_message(TECH, "已完整", after=mark)
    assert f"#{slip['id']}" in done["text"] and trouble(h, mark) == []
    slip = await slip_row(h)
    assert slip["complete"] == 1 and len(slip["signature_sha256"]) == 64
    assert await h.count("SELECT count(*) FROM slips") == 1
    assert await h.count("SELECT count(*) FROM visits WHERE state = 'closed'") == 1
    assert await h.count("SELECT count(*) FROM forms") == 0


async def at_the_outcome_question(h: BotHarness) -> int:
    """A visit checked in and checking out, its location sent: the form asks the outcome."""
    ticket = await setup(h)
    await arrive(h, ticket)
    await send_location(h, live_period=600)
    [visit] = await visits(h)
    vid = visit["id"]
    await h.press(TECH, TECH, f"visit:out:{vid}")
    await send_location(h, horizontal_accuracy=8)
    return vid


async def test_revisit_reason_typed_after_a_restart(harness: BotHarness) -> None:
    h = harness
    vid = await at_the_outcome_question(h)
    await press_after_restart(h, f"visit:oc:{vid}:revisit", "reason")
    await h.restart()
    mark = h.emu.mark()
    await h.say(TECH, "x")  # too short: asked again, still at the reason
    assert (await form_of(h, TECH, TECH)).step == "reason" and trouble(h, mark) == []
    await h.say(TECH, "缺少配件，下周再来")
    assert (await form_of(h, TECH, TECH)).step == "st"
    assert (await form_of(h, TECH, TECH)).data["reason"] == "缺少配件，下周再来"


async def test_stale_check_out_button_leaves_the_resumed_form_alone(harness: BotHarness) -> None:
    h = harness
    vid = await at_the_outcome_question(h)
    await h.press(TECH, TECH, f"visit:oc:{vid}:resolved")
    await h.restart()
    before = await form_of(h, TECH, TECH)
    mark = h.emu.mark()
    update = h.emu.press(
        TECH, TECH, h.emu.last_message(TECH)["message_id"], f"visit:oc:{vid}:revisit"
    )
    await h.handled(update)  # the outcome question's button, answered before the restart
    assert h.answers(mark) == ["这个按钮已失效，请使用最新的消息。"]
    assert await form_of(h, TECH, TECH) == before


async def test_replayed_form_step_is_not_applied_twice(harness: BotHarness) -> None:
    """A step handled but not yet confirmed when the bot stops: Telegram sends it again, and
    the form does not move a second time (nor answer it again)."""
    h = harness
    vid = await at_the_outcome_question(h)
    await h.press(TECH, TECH, f"visit:oc:{vid}:resolved")
    await h.stop()

    message_id = h.emu.last_message(TECH)["message_id"]
    update = h.emu.press(TECH, TECH, message_id, f"visit:st:{vid}:hardware")
    await h.start(polling=False)
    fetched = await h.app.bot.get_updates(timeout=0)
    assert [u.update_id for u in fetched] == [update["update_id"]]
    await handle_once(h.app, h.db, fetched[0])  # a step that writes nothing but the form
    assert (await form_of(h, TECH, TECH, settled=False)).step == "mk"  # handled: not polling
    await h.stop()
    assert h.emu.pending_updates() == 1  # never confirmed

    mark = h.emu.mark()
    await h.start()
    await h.idle()
    assert h.emu.calls("answerCallbackQuery", after=mark) == []  # not handled again
    form = await form_of(h, TECH, TECH)
    assert form.step == "mk" and form.data["service_type"] == "hardware"


# --- /new ---------------------------------------------------------------------------------------


async def test_new_ticket_form_resumes_after_a_restart_at_every_step(harness: BotHarness) -> None:
    h = harness
    await dispatch.staff(h)
    group, person = dispatch.GROUP, dispatch.DISPATCHER

    async def step(expected: str | None) -> None:
        form = await form_of(h, group, person)
        assert (form.step if form else None) == expected

    await h.say(person, "/new", chat_id=group)
    await step("customer")
    await h.restart()
    assert "蓝海网吧" in (await dispatch.reply(h, "蓝海网吧"))["text"]
    await step("pick")
    for label, after in (("新建客户", "class"), ("网络客户(网吧)", "phone")):
        await h.restart()
        mark = h.emu.mark()
        await h.press(person, group, label)
        assert trouble(h, mark) == [], label
        await step(after)
    await h.restart()
    await dispatch.reply(h, "138 0000 1111")
    await step("place")
    await h.restart()  # the "where" prompt was sent by the previous run
    mark = h.emu.mark()
    update = h.emu.send_location(
        person, 30.6712, 104.1021, chat_id=group, reply_to_message_id=dispatch.last_prompt(h, group)
    )
    await h.handled(update)
    await h.emu.wait_for_message(group, "故障", after=mark)
    await step("fault")
    await h.restart()
    await dispatch.reply(h, "主机无法开机")
    await step("hardware")
    for label, after in (
        ("硬件", "major"),
        ("重大故障", "brand"),
        ("TCL", "tool"),
        ("工作用", "window_pick"),
        ("明天上午", "confirm"),
    ):
        await h.restart()
        mark = h.emu.mark()
        await h.press(person, group, label)
        assert trouble(h, mark) == [], label
        await step(after)
    await h.restart()
    mark = h.emu.mark()
    await h.press(person, group, "创建工单")
    card = await h.emu.wait_for_message(group, "工单 #1", after=mark)
    assert "蓝海网吧" in card["text"]
    await step(None)
    # Pressing "create" again (a stale button) opens nothing more.
    await h.restart()
    await h.press(person, group, "创建工单")
    assert await h.count("SELECT count(*) FROM tickets") == 1
    assert await h.count("SELECT count(*) FROM customers WHERE kind = 'netcafe'") == 1
    site = await h.count("SELECT count(*) FROM customers WHERE lat IS NOT NULL")
    assert site == 1


async def test_expired_new_ticket_form_says_so_after_a_restart(harness: BotHarness) -> None:
    h = harness
    await dispatch.staff(h)
    await h.say(dispatch.DISPATCHER, "/new", chat_id=dispatch.GROUP)
    await h.restart()
    h.clock.advance(minutes=31)
    answer = await dispatch.reply(h, "蓝海网吧")
    assert "已过期" in answer["text"]
    assert await form_of(h, dispatch.GROUP, dispatch.DISPATCHER) is None
    answer = await h.say(dispatch.DISPATCHER, "/cancel", chat_id=dispatch.GROUP)
    assert "没有进行中" in answer["text"]


async def test_cancel_after_a_restart_drops_the_form(harness: BotHarness) -> None:
    h = harness
    ticket = await setup(h)
    await arrive(h, ticket)
    await h.restart()
    answer = await h.say(TECH, "/cancel")
    assert "没有进行中" not in answer["text"]
    assert await form_of(h, TECH, TECH) is None


# --- a real process killed with SIGKILL ----------------------------------------------------------


async def _seed_visit_ticket(db_path: Path) -> None:
    db = await Database.open(db_path)
    now = datetime.now(UTC).isoformat()
    try:
        async with db.transaction() as conn:
            from storage import people

            await people.bind_person(conn, TECH, "张伟", Role.TECHNICIAN, "zh-CN")
            tech = (await conn.execute_fetchall("SELECT id FROM people"))[0][0]
            cur = await conn.execute(
                "INSERT INTO customers (name, phone, class, lat, lon, address, created_at)"
                " VALUES ('王先生', '13800000000', 'other', ?, ?, '锦江区某路 1 号', ?)",
                (*SITE, now),
            )
            await conn.execute(
                "INSERT INTO tickets (customer_id, fault, service_type, state, assigned_to,"
                " created_at, updated_at) VALUES (?, '开不了机', 'hardware', 'accepted', ?, ?, ?)",
                (cur.lastrowid, tech, now, now),
            )
    finally:
        await db.close()


def _query(db_path: Path, sql: str) -> object:
    conn = sqlite3.connect(db_path, timeout=5)
    try:
        row = conn.execute(sql).fetchone()
        return row[0] if row else None
    finally:
        conn.close()


# Kills before these steps (each new process costs seconds; the in-process restarts above cover
# every step): the form half-way through the questions, and the photo.
KILL_BEFORE = {"checkout-location", "visit:co", "photo"}


async def test_checkout_survives_sigkill_mid_form(tmp_path: Path) -> None:
    from sandbox.emulator import BotApiEmulator

    async with BotApiEmulator() as emu:
        emu.user(TECH, "张伟")
        config = write_config(tmp_path, emu.base_url, emu.base_file_url)
        db_path = tmp_path / "bot.db"
        await _seed_visit_ticket(db_path)
        command = [sys.executable, "-m", "bot", "--config", str(config), "run"]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        process: list[subprocess.Popen] = []

        def start() -> None:
            process.append(
                subprocess.Popen(command, cwd=tmp_path, env=env, stderr=subprocess.DEVNULL)
            )

        def kill() -> None:
            process[-1].send_signal(signal.SIGKILL)
            process[-1].wait(timeout=10)

        def kill_before(label: str) -> None:
            """SIGKILL the bot and start a new process, if the test kills before this step."""
            if label in KILL_BEFORE:
                kill()
                start()

        def form_step() -> str | None:
            return _query(db_path, "SELECT step FROM forms")  # type: ignore[return-value]

        async def until(predicate) -> None:  # noqa: ANN001
            await wait_until(predicate, timeout=60)

        try:
            start()
            mark = emu.mark()
            emu.send_text(TECH, "/start")  # any message of the bot to press a button on
            await emu.wait_for_message(TECH, after=mark, timeout=60)
            ticket = _query(db_path, "SELECT id FROM tickets")
            emu.press(TECH, TECH, emu.last_message(TECH)["message_id"], f"visit:arrive:{ticket}")
            await until(lambda: form_step() == "checkin")
            kill_before("checkin-location")
            emu.send_location(TECH, *SITE, live_period=600)
            await until(lambda: _query(db_path, "SELECT count(*) FROM visits") == 1)
            await emu.wait_for_message(TECH, "已签到", after=mark, timeout=60)
            vid = _query(db_path, "SELECT id FROM visits")
            steps = [
                (f"visit:out:{vid}", "checkout"),
                (None, "oc"),  # the check-out location
                (f"visit:oc:{vid}:resolved", "st"),
                (f"visit:st:{vid}:hardware", "mk"),
                (f"visit:mk:{vid}:single", "co"),
                (f"visit:co:{vid}:0", "pd"),
                (f"visit:pd:{vid}:0", "signature"),
            ]
            for data, after in steps:
                kill_before(":".join(data.split(":")[:2]) if data else "checkout-location")
                if data is None:
                    emu.send_location(TECH, *SITE, horizontal_accuracy=8)
                else:
                    emu.press(TECH, TECH, emu.last_message(TECH)["message_id"], data)
                await until(lambda after=after: form_step() == after)
            await emu.wait_for(
                lambda c: c.method == "sendMessage" and "slip:qr:" in str(c.params), timeout=60
            )
            slip = _query(db_path, "SELECT id FROM slips")
            for data, column in (
                (f"slip:sat:{slip}:satisfied", "satisfaction"),
                (f"slip:cd:{slip}:shoes:1", "conduct_shoe_covers"),
                (f"slip:cd:{slip}:eating:1", "conduct_no_eating"),
            ):
                kill_before(":".join(data.split(":")[:2]))
                emu.press(TECH, TECH, emu.last_message(TECH)["message_id"], data)
                await until(
                    lambda column=column: (
                        _query(db_path, f"SELECT {column} IS NOT NULL FROM slips") == 1
                    )
                )
            kill_before("photo")
            mark = emu.mark()
            emu.send_photo(TECH, b"\x89PNG signed after kills")
            await emu.wait_for_message(TECH, "已完整", after=mark, timeout=60)
            await until(lambda: emu.pending_updates() == 0)
        finally:
            for running in process:
                if running.poll() is None:
                    running.kill()
                    running.wait(timeout=10)
        assert _query(db_path, "SELECT count(*) FROM slips") == 1
        assert _query(db_path, "SELECT complete FROM slips") == 1
        assert _query(db_path, "SELECT count(*) FROM visits WHERE state = 'closed'") == 1
        assert _query(db_path, "SELECT count(*) FROM forms") == 0
        unexpected = [
            c for c in emu.calls() if "text" in c.params and "不需要照片" in c.params["text"]
        ]
        assert unexpected == []


# --- the other forms resume too ----------------------------------------------------------------


async def test_reward_form_resumes_after_restarts(harness: BotHarness) -> None:
    h = harness
    manager, tech = 201, 203
    await h.seed(manager, "李经理", Role.MANAGER)
    await h.seed(tech, "张伟", Role.TECHNICIAN)
    await h.say(manager, "/reward")
    await h.restart()
    await h.press(manager, manager, "张伟")
    await h.restart()
    mark = h.emu.mark()
    await h.press(manager, manager, "reward:r:RWD-SUGGEST")
    await h.emu.wait_for_message(manager, "金额", after=mark)
    await h.restart()
    reply = await h.say(manager, "500")
    assert "10.00 到 50.00" in reply["text"]  # validated, still at the amount
    await h.say(manager, "30")
    await h.restart()
    mark = h.emu.mark()
    reply = await h.say(manager, "好建议")
    assert "RWD-SUGGEST" in reply["text"] and "30.00" in reply["text"]
    await h.emu.wait_for_message(tech, "30.00", after=mark)
    assert await h.count("SELECT count(*) FROM events WHERE amount_fen = 3000") == 1
    # A penalty the technician contests; the reason is typed after a restart.
    mark = h.emu.mark()
    await h.say(manager, "/penalty 张伟 DED-COMPLAINT 客户投诉")
    notice = await h.emu.wait_for_message(tech, "DED-COMPLAINT", after=mark)
    data = notice["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await h.press(tech, tech, data)
    await h.restart()
    reply = await h.say(tech, "客户投诉的不是我")
    assert await h.count("SELECT count(*) FROM contests") == 1, reply["text"]
    assert await form_of(h, tech, tech) is None


async def test_decline_reason_typed_after_a_restart(harness: BotHarness) -> None:
    h = harness
    await dispatch.staff(h)
    await dispatch.open_quick_ticket(h, "华西贸易公司")
    await dispatch.assign_to(h, 1, "张伟")
    await h.press(dispatch.ZHANG, dispatch.ZHANG, "拒单")
    await h.restart()
    answer = await h.say(dispatch.ZHANG, "今天在外地培训")
    assert "已退回队列" in answer["text"]
    assert await h.count("SELECT count(*) FROM tickets WHERE state = 'new'") == 1


async def test_late_notice_resumes_after_restarts(harness: BotHarness) -> None:
    from tests.e2e.test_visits import NOW, show_card_button

    h = harness
    ticket = await setup(h, appointment=NOW)
    await show_card_button(h, "晚到", f"visit:late:{ticket}")
    await h.press(TECH, TECH, f"visit:late:{ticket}")
    await h.restart()
    await h.say(TECH, "10:00")
    assert (await form_of(h, TECH, TECH)).step == "late_told"
    await h.restart()
    mark = h.emu.mark()
    await h.press(TECH, TECH, f"visit:told:{ticket}:technician")
    assert trouble(h, mark) == []
    await h.emu.wait_for_message(VISIT_GROUP, "晚到", after=mark)
    assert await form_of(h, TECH, TECH) is None


async def test_take_back_answer_typed_after_a_restart(harness: BotHarness) -> None:
    from tests.e2e.test_promises import DISPATCHER, group_reply, office, take_back

    h = harness
    ticket = await office(h)
    await take_back(h, ticket)
    await h.press(DISPATCHER, VISIT_GROUP, "tk:answer:1")
    await h.restart()
    assert any("至少" in text for text in await group_reply(h, DISPATCHER, "好"))
    await h.restart()
    said = await group_reply(h, DISPATCHER, "主板送厂家维修，12月1日前送还")
    assert any("SLA-TAKEBACK" in text for text in said)
    assert await h.count("SELECT count(*) FROM customer_answers WHERE ticket_id = 1") == 1
    assert await form_of(h, VISIT_GROUP, DISPATCHER) is None
