"""Poison updates: one the bot cannot decode, or whose handler keeps failing, is put aside in
`dead_letters` with Telegram's JSON and the error; the bot confirms it and keeps serving."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.domain.models import Role
from bot.services import registration
from handlers import polling
from storage import dead_letters
from tests.e2e.harness import BotHarness

ADMIN = 1  # config.admins in tests/conftest.py
MANAGER = 201
USER = 555


def _bot(harness: BotHarness) -> dict[str, Any]:
    return dict(harness.emu.bot_user)


def _member_update(harness: BotHarness, new_member: dict[str, Any]) -> dict[str, Any]:
    user = harness.emu.user(USER, "小王")
    return {
        "chat": {"id": USER, "type": "private", "first_name": "小王"},
        "from": user,
        "date": harness.emu.now(),
        "old_chat_member": {"status": "member", "user": _bot(harness)},
        "new_chat_member": new_member,
    }


def restricted_without_newest_field(harness: BotHarness) -> dict[str, Any]:
    """A "restricted" member as an older Bot API server sends it: no `can_edit_tag`."""
    rights = [
        "can_send_messages",
        "can_send_audios",
        "can_send_documents",
        "can_send_photos",
        "can_send_videos",
        "can_send_video_notes",
        "can_send_voice_notes",
        "can_send_polls",
        "can_send_other_messages",
        "can_add_web_page_previews",
        "can_change_info",
        "can_invite_users",
        "can_pin_messages",
        "can_manage_topics",
    ]
    member = {"status": "restricted", "user": _bot(harness), "is_member": True, "until_date": 0}
    member.update(dict.fromkeys(rights, True))
    return _member_update(harness, member)


def administrator_with_until_date(harness: BotHarness) -> dict[str, Any]:
    """An administrator with an extra `until_date`: PTB keeps it as a datetime in api_kwargs."""
    member: dict[str, Any] = {"status": "administrator", "user": _bot(harness)}
    for right in (
        "can_be_edited",
        "is_anonymous",
        "can_manage_chat",
        "can_delete_messages",
        "can_manage_video_chats",
        "can_restrict_members",
        "can_promote_members",
        "can_change_info",
        "can_invite_users",
        "can_post_stories",
        "can_edit_stories",
        "can_delete_stories",
    ):
        member[right] = False
    member["until_date"] = harness.emu.now() + 3600
    return _member_update(harness, member)


async def _letters(harness: BotHarness) -> list[dead_letters.DeadLetter]:
    assert harness.db is not None
    async with harness.db.read() as conn:
        return await dead_letters.all_letters(conn)


async def test_undecodable_update_is_dead_lettered_and_the_bot_keeps_serving(
    harness: BotHarness,
) -> None:
    await harness.seed(MANAGER, "李经理", Role.MANAGER)
    harness.emu.user(ADMIN, "管理员")
    mark = harness.emu.mark()
    payload = restricted_without_newest_field(harness)
    poison = harness.emu.send_raw("my_chat_member", payload)
    odd = harness.emu.send_raw("my_chat_member", administrator_with_until_date(harness))

    assert (await harness.say(MANAGER, "/help"))["text"].startswith("可用命令")
    await harness.idle()
    letters = await _letters(harness)
    assert [letter.update_id for letter in letters] == [poison["update_id"]]
    assert json.loads(letters[0].payload) == poison  # Telegram's JSON as it came
    assert "can_edit_tag" in letters[0].error
    assert await harness.count("SELECT count(*) FROM inbox") == 0
    assert await harness.db.is_handled(odd["update_id"])
    notice = await harness.emu.wait_for_message(ADMIN, str(poison["update_id"]), after=mark)
    assert "Traceback" not in notice["text"] and "can_edit_tag" not in notice["text"]
    assert harness.emu.pending_updates() == 0

    await harness.restart()
    assert (await harness.say(MANAGER, "/help"))["text"].startswith("可用命令")
    assert len(await _letters(harness)) == 1


async def test_poison_left_in_the_inbox_does_not_stop_the_next_start(
    harness: BotHarness,
) -> None:
    """A crash after storing an undecodable update: the next start dead-letters it."""
    await harness.seed(MANAGER, "李经理", Role.MANAGER)
    await harness.stop()
    raw = {"update_id": 999_000, "my_chat_member": restricted_without_newest_field(harness)}
    await harness.start(polling=False)
    async with harness.db.transaction() as conn:
        await conn.execute(
            "INSERT INTO inbox (update_id, payload, received_at) VALUES (?, ?, '2026-01-01')",
            (raw["update_id"], json.dumps(raw)),
        )
    await harness.stop()
    await harness.start()
    assert (await harness.say(MANAGER, "/help"))["text"].startswith("可用命令")
    assert [letter.update_id for letter in await _letters(harness)] == [999_000]


async def test_handler_that_keeps_failing_is_tried_again_then_dead_lettered(
    harness: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await harness.seed(MANAGER, "李经理", Role.MANAGER)
    harness.emu.user(ADMIN, "管理员")
    monkeypatch.setattr(polling, "RETRY_DELAY_S", 0.01)
    tries = []

    async def broken(*args: object, **kwargs: object) -> None:
        tries.append(1)
        raise RuntimeError("database on fire")

    monkeypatch.setattr(registration, "create_invite", broken)
    mark = harness.emu.mark()
    update = harness.emu.send_text(MANAGER, "/invite technician")
    await harness.idle()
    assert len(tries) == polling.HANDLER_ATTEMPTS
    apologies = [c for c in harness.emu.calls("sendMessage", after=mark) if c.chat_id == MANAGER]
    assert [c.params["text"] for c in apologies] == ["抱歉，出了点问题，请稍后再试。"]  # once
    letters = await _letters(harness)
    assert [(x.update_id, x.attempts) for x in letters] == [
        (update["update_id"], polling.HANDLER_ATTEMPTS)
    ]
    assert "database on fire" in letters[0].error
    notice = await harness.emu.wait_for_message(ADMIN, str(update["update_id"]), after=mark)
    assert "database on fire" not in notice["text"]

    monkeypatch.undo()
    await harness.restart()
    assert (await harness.say(MANAGER, "/help"))["text"].startswith("可用命令")
    assert len(await _letters(harness)) == 1


async def test_handler_that_fails_once_succeeds_on_the_second_try(
    harness: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await harness.seed(MANAGER, "李经理", Role.MANAGER)
    monkeypatch.setattr(polling, "RETRY_DELAY_S", 0.01)
    real = registration.create_invite
    tries = []

    async def flaky(*args: object, **kwargs: object) -> object:
        tries.append(1)
        if len(tries) == 1:
            raise RuntimeError("database busy for a moment")
        return await real(*args, **kwargs)

    monkeypatch.setattr(registration, "create_invite", flaky)
    reply = await harness.say(MANAGER, "/invite technician")
    assert "/start " in reply["text"]  # no apology first
    await harness.idle()
    assert len(tries) == 2
    assert await _letters(harness) == []
    assert await harness.count("SELECT count(*) FROM invites") == 1
