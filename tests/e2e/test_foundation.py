"""Registration, refusals, /help per role and languages, driven over real HTTP."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.domain.models import Role
from tests.e2e.harness import BotHarness

ADMIN = 1
MANAGER, DISPATCHER, TECH, STRANGER = 201, 202, 203, 299


async def new_code(h: BotHarness, role: str, by: int = ADMIN) -> str:
    h.emu.user(by, "管理员")
    reply = await h.say(by, f"/invite {role}")
    code = reply["text"].split("/start ")[-1].strip()
    assert len(code) == 8, reply["text"]
    return code


async def test_register_with_valid_code(harness: BotHarness) -> None:
    code = await new_code(harness, "technician")
    harness.emu.user(TECH, "张伟")
    reply = await harness.say(TECH, f"/start {code}")
    assert "注册成功" in reply["text"] and "技术员" in reply["text"]
    assert await harness.count("SELECT count(*) FROM people WHERE telegram_id = ?", TECH) == 1
    help_reply = await harness.say(TECH, "/help")
    assert "/help" in help_reply["text"]
    assert "/invite" not in help_reply["text"]


async def test_reused_code_refused(harness: BotHarness) -> None:
    code = await new_code(harness, "dispatcher")
    harness.emu.user(DISPATCHER, "王芳")
    await harness.say(DISPATCHER, f"/start {code}")
    harness.emu.user(STRANGER, "路人")
    reply = await harness.say(STRANGER, f"/start {code}")
    assert "已经被使用" in reply["text"]
    assert await harness.count("SELECT count(*) FROM people WHERE telegram_id = ?", STRANGER) == 0


async def test_expired_code_refused(harness: BotHarness) -> None:
    code = await new_code(harness, "manager")
    harness.clock.advance(hours=harness.config.invite_expiry_hours + 1)
    harness.emu.user(MANAGER, "李经理")
    reply = await harness.say(MANAGER, f"/start {code}")
    assert "过期" in reply["text"]
    assert await harness.count("SELECT count(*) FROM people WHERE telegram_id = ?", MANAGER) == 0


async def test_malformed_and_unknown_codes(harness: BotHarness) -> None:
    harness.emu.user(STRANGER, "路人", language_code="en")
    reply = await harness.say(STRANGER, "/start hello!")
    assert "malformed" in reply["text"]
    reply = await harness.say(STRANGER, "/start ABCDEFGH")
    assert "no such invite code" in reply["text"]
    assert await harness.count("SELECT count(*) FROM people") == 0


async def test_stranger_gets_one_polite_refusal(harness: BotHarness) -> None:
    harness.emu.user(STRANGER, "路人")
    mark = harness.emu.mark()
    reply = await harness.say(STRANGER, "/summary")
    assert "邀请码" in reply["text"]
    sent = harness.emu.calls("sendMessage", after=mark)
    assert len(sent) == 1
    assert await harness.count("SELECT count(*) FROM invites") == 0


async def test_technician_pressing_manager_button_is_refused(harness: BotHarness) -> None:
    await harness.seed(MANAGER, "李经理", Role.MANAGER)
    await harness.seed(TECH, "张伟", Role.TECHNICIAN)
    await harness.say(MANAGER, "/invite")  # shows the role keyboard
    message = harness.emu.last_message(MANAGER)
    assert message["reply_markup"]["inline_keyboard"]
    mark = harness.emu.mark()
    # A Telegram client can send any callback data: the technician replays the manager's button.
    update = harness.emu.press(TECH, MANAGER, message["message_id"], "invite:manager")
    await harness.handled(update)
    assert any("无权" in text for text in harness.answers(mark))
    assert await harness.count("SELECT count(*) FROM invites") == 0
    # The technician's own /invite is refused too.
    reply = await harness.say(TECH, "/invite manager")
    assert "无权" in reply["text"]
    assert await harness.count("SELECT count(*) FROM invites") == 0


async def test_manager_button_creates_invite(harness: BotHarness) -> None:
    await harness.seed(MANAGER, "李经理", Role.MANAGER)
    await harness.say(MANAGER, "/invite")
    mark = harness.emu.mark()
    await harness.press(MANAGER, MANAGER, "invite:technician")
    created = await harness.emu.wait_for_message(MANAGER, "邀请码", after=mark)
    assert "/start " in created["text"]
    assert await harness.count("SELECT count(*) FROM invites WHERE role = 'technician'") == 1


async def test_help_differs_per_role(harness: BotHarness) -> None:
    await harness.seed(MANAGER, "李经理", Role.MANAGER)
    await harness.seed(TECH, "张伟", Role.TECHNICIAN)
    manager_help = (await harness.say(MANAGER, "/help"))["text"]
    tech_help = (await harness.say(TECH, "/help"))["text"]
    assert "/invite" in manager_help
    assert "/invite" not in tech_help
    assert "/lang" in tech_help


async def test_language_switch(harness: BotHarness) -> None:
    await harness.seed(TECH, "张伟", Role.TECHNICIAN)
    reply = await harness.say(TECH, "/lang en")
    assert reply["text"] == "Language set to English."
    help_reply = await harness.say(TECH, "/help")
    assert help_reply["text"].startswith("Your commands:")
    reply = await harness.say(TECH, "/lang xx")
    assert "Usage" in reply["text"]
    reply = await harness.say(TECH, "/lang zh")
    assert reply["text"] == "已切换为中文。"


async def test_bindgroup_and_migration(harness: BotHarness) -> None:
    harness.emu.user(ADMIN, "管理员")
    harness.emu.group(-100, "调度群")
    reply = await harness.say(ADMIN, "/bindgroup", chat_id=-100)
    assert "调度群" in reply["text"]
    new_id = harness.emu.migrate_group_to_supergroup(-100)
    await harness.idle()
    async with harness.db.read() as conn:
        rows = await conn.execute_fetchall("SELECT chat_id FROM bound_chats")
    assert [r[0] for r in rows] == [new_id]


async def test_group_chatter_is_ignored_and_commands_refused_for_strangers(
    harness: BotHarness,
) -> None:
    harness.emu.group(-100, "调度群")
    harness.emu.user(STRANGER, "路人")
    assert harness.emu.send_text(STRANGER, "大家好", chat_id=-100) is None
    await harness.bind_group(-100)
    reply = await harness.say(STRANGER, "/bindgroup", chat_id=-100)
    assert "邀请码" in reply["text"]
    assert await harness.count("SELECT count(*) FROM bound_chats WHERE bound_by = ?", STRANGER) == 0


async def test_commands_menu_published_per_scope(harness: BotHarness) -> None:
    await harness.seed(TECH, "张伟", Role.TECHNICIAN)
    await harness.restart()  # post_init publishes the menus of everyone registered
    calls = harness.emu.calls("setMyCommands")
    scopes = [c.params.get("scope", {}).get("chat_id") for c in calls]
    assert TECH in scopes
    tech_call = [c for c in calls if c.params.get("scope", {}).get("chat_id") == TECH][-1]
    names = {cmd["command"] for cmd in tech_call.params["commands"]}
    assert "help" in names and "invite" not in names


async def test_invite_expiry_is_configured(harness: BotHarness) -> None:
    code = await new_code(harness, "technician")
    async with harness.db.read() as conn:
        rows = await conn.execute_fetchall(
            "SELECT created_at, expires_at FROM invites WHERE code = ?", (code,)
        )
    created, expires = (datetime.fromisoformat(v) for v in rows[0])
    valid_for = expires - created
    assert abs(valid_for - timedelta(hours=harness.config.invite_expiry_hours)) < timedelta(
        seconds=5
    )
