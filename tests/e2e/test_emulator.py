"""Tests for the Bot API emulator, driven by a real python-telegram-bot Application."""

from __future__ import annotations

import asyncio
import base64
import struct
import time
import zlib
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio
from telegram import (
    BotCommand,
    BotCommandScopeChat,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MessageOriginUser,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Conflict, Forbidden, InvalidToken, RetryAfter
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
)

from sandbox.emulator import BotApiEmulator, parse_html, parse_markdown_v2

pytestmark = pytest.mark.asyncio

ALICE = 1001
BOB = 1002
GROUP = -4001


class FakeClock:
    """Manually advanced clock for the emulator."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        """Start at ``start`` unix seconds."""
        self.now = start

    def __call__(self) -> float:
        """Return the current fake time."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds


def png_bytes(width: int, height: int) -> bytes:
    """A tiny valid PNG header+IHDR (enough for size detection)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
        + b"rest-of-image"
    )


@pytest_asyncio.fixture
async def clock() -> FakeClock:
    """A fake clock."""
    return FakeClock()


@pytest_asyncio.fixture
async def emu(clock: FakeClock) -> AsyncIterator[BotApiEmulator]:
    """A running emulator with two users and a group."""
    async with BotApiEmulator(clock=clock) as emulator:
        emulator.user(ALICE, "Alice", username="alice")
        emulator.user(BOB, "Bob")
        emulator.group(GROUP, "Field team")
        yield emulator


@pytest_asyncio.fixture
async def app(emu: BotApiEmulator) -> AsyncIterator[Application]:
    """An initialized PTB Application (no Updater) talking to the emulator."""
    application = (
        ApplicationBuilder()
        .token(emu.token)
        .base_url(emu.base_url)
        .base_file_url(emu.base_file_url)
        .updater(None)
        .build()
    )
    async with application:
        yield application


async def fetch(app: Application, offset: int | None = None, poll: int = 0) -> list[Update]:
    """Call getUpdates through PTB."""
    return list(await app.bot.get_updates(offset=offset, timeout=poll))


async def test_get_me_and_case_insensitive_methods(emu: BotApiEmulator, app: Application) -> None:
    assert app.bot.username == "fieldbot_test_bot"
    assert app.bot.id == 123456
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{emu.base_url}{emu.token}/GETME") as resp:
            body = await resp.json()
            assert body["ok"] and body["result"]["username"] == "fieldbot_test_bot"
        async with session.post(
            f"{emu.base_url}{emu.token}/sendmessage", json={"chat_id": ALICE, "text": "hi"}
        ) as resp:
            assert (await resp.json())["result"]["text"] == "hi"
        async with session.post(f"{emu.base_url}999:WRONG/getMe") as resp:
            assert resp.status == 401
            assert (await resp.json())["description"] == "Unauthorized"


async def test_wrong_token_raises_invalid_token(emu: BotApiEmulator) -> None:
    bad = ApplicationBuilder().token("999:WRONG").base_url(emu.base_url).updater(None).build()
    with pytest.raises(InvalidToken):
        await bad.initialize()


async def test_offset_semantics(emu: BotApiEmulator, app: Application) -> None:
    first = emu.send_text(ALICE, "one")
    emu.send_text(ALICE, "two")
    emu.send_text(ALICE, "three")
    assert first is not None and first["update_id"] == 1000
    updates = await fetch(app)
    assert [u.message.text for u in updates] == ["one", "two", "three"]
    # Not confirmed yet: re-delivered.
    assert [u.update_id for u in await fetch(app)] == [1000, 1001, 1002]
    # Confirm the first one.
    again = await fetch(app, offset=1001)
    assert [u.update_id for u in again] == [1001, 1002]
    assert emu.pending_updates() == 2
    assert emu.updates_confirmed_upto == 1000
    # Confirmed updates never come back, even without offset.
    assert [u.update_id for u in await fetch(app)] == [1001, 1002]
    limited = await app.bot.get_updates(offset=1001, limit=1)
    assert [u.update_id for u in limited] == [1001]
    assert await fetch(app, offset=1003) == []
    assert emu.pending_updates() == 0
    assert emu.updates_confirmed_upto == 1002


async def test_negative_offset_keeps_last_updates(emu: BotApiEmulator, app: Application) -> None:
    for i in range(4):
        emu.send_text(ALICE, f"m{i}")
    updates = await fetch(app, offset=-2)
    assert [u.message.text for u in updates] == ["m2", "m3"]
    assert emu.pending_updates() == 2


async def test_long_poll_returns_early(emu: BotApiEmulator, app: Application) -> None:
    async def later() -> None:
        await asyncio.sleep(0.2)
        emu.send_text(ALICE, "wake up")

    started = time.monotonic()
    task = asyncio.create_task(later())
    updates = await fetch(app, poll=5)
    await task
    assert time.monotonic() - started < 2
    assert [u.message.text for u in updates] == ["wake up"]


async def test_long_poll_times_out_empty(app: Application) -> None:
    started = time.monotonic()
    assert await fetch(app, poll=1) == []
    assert 0.9 <= time.monotonic() - started < 3


async def test_concurrent_polls_conflict(emu: BotApiEmulator, app: Application) -> None:
    other = emu.application_builder().updater(None).build()
    async with other:
        first = asyncio.create_task(fetch(app, poll=3))
        await asyncio.sleep(0.1)
        second = asyncio.create_task(fetch(other, poll=3))
        with pytest.raises(Conflict):
            await first
        emu.send_text(ALICE, "hello")
        assert [u.message.text for u in await second] == ["hello"]


async def test_command_entities(emu: BotApiEmulator, app: Application) -> None:
    emu.send_text(ALICE, "/start@fieldbot_test_bot ref42")
    (update,) = await fetch(app)
    entity = update.message.entities[0]
    assert (entity.type, entity.offset, entity.length) == ("bot_command", 0, 24)
    assert update.message.text.split()[1] == "ref42"
    assert update.message.chat.type == "private"
    assert update.message.from_user.language_code == "zh-hans"


async def test_privacy_mode_group_filtering(emu: BotApiEmulator, app: Application) -> None:
    assert emu.send_text(ALICE, "just chatting", chat_id=GROUP) is None
    assert emu.send_text(ALICE, "/help@otherbot", chat_id=GROUP) is None
    assert emu.send_text(ALICE, "/help", chat_id=GROUP) is not None
    assert emu.send_text(ALICE, "/help@FieldBot_Test_Bot", chat_id=GROUP) is not None
    assert emu.send_text(BOB, "hey @fieldbot_test_bot look", chat_id=GROUP) is not None
    sent = await app.bot.send_message(GROUP, "Who takes ticket 7?")
    assert emu.send_text(BOB, "me", chat_id=GROUP, reply_to_message_id=sent.message_id)
    assert emu.send_text(BOB, "another chat", chat_id=GROUP) is None
    updates = await fetch(app)
    texts = [u.message.text for u in updates]
    assert texts == ["/help", "/help@FieldBot_Test_Bot", "hey @fieldbot_test_bot look", "me"]
    assert updates[0].message.chat.type == "group"
    assert updates[0].message.chat.title == "Field team"
    assert updates[-1].message.reply_to_message.from_user.id == app.bot.id
    # Hidden messages still consumed message ids.
    history = emu.chat_history(GROUP)
    assert [m["message_id"] for m in history] == list(range(1, 9))


async def test_privacy_mode_off_delivers_everything() -> None:
    async with BotApiEmulator(privacy_mode=False) as emu:
        emu.group(GROUP, "g")
        assert emu.send_text(ALICE, "chatter", chat_id=GROUP) is not None


async def test_send_edit_and_not_modified(emu: BotApiEmulator, app: Application) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Accept", callback_data="acc:1")]])
    msg = await app.bot.send_message(ALICE, "Ticket #1", reply_markup=keyboard)
    assert msg.message_id == 1 and msg.from_user.id == app.bot.id
    assert msg.chat.first_name == "Alice"
    call = emu.sent[-1]
    assert call.method == "sendMessage"
    assert call.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "acc:1"
    with pytest.raises(BadRequest, match="not modified"):
        await app.bot.edit_message_text("Ticket #1", ALICE, msg.message_id, reply_markup=keyboard)
    edited = await app.bot.edit_message_text(
        "Ticket #1 accepted", ALICE, msg.message_id, reply_markup=keyboard
    )
    assert edited.edit_date is not None
    # Editing without reply_markup removes the keyboard (as Telegram does).
    await app.bot.edit_message_text("Ticket #1 done", ALICE, msg.message_id)
    state = emu.messages_to(ALICE)
    assert state[0]["text"] == "Ticket #1 done" and "reply_markup" not in state[0]
    with pytest.raises(BadRequest, match="[Mm]essage to edit not found"):
        await app.bot.edit_message_text("x", ALICE, 999)
    await app.bot.edit_message_reply_markup(ALICE, msg.message_id, reply_markup=keyboard)
    with pytest.raises(BadRequest, match="not modified"):
        await app.bot.edit_message_reply_markup(ALICE, msg.message_id, reply_markup=keyboard)
    assert emu.last_message(ALICE)["reply_markup"]["inline_keyboard"][0][0]["text"] == "Accept"
    assert await app.bot.delete_message(ALICE, msg.message_id)
    assert emu.messages_to(ALICE) == [] and emu.last_message(ALICE) is None
    with pytest.raises(BadRequest, match="to delete not found"):
        await app.bot.delete_message(ALICE, msg.message_id)
    with pytest.raises(BadRequest, match="[Cc]hat not found"):
        await app.bot.send_message(42, "nobody")


async def test_force_reply_and_reply_keyboard_stored(emu: BotApiEmulator, app: Application) -> None:
    await app.bot.send_message(ALICE, "Serial number?", reply_markup=ForceReply())
    assert emu.sent[-1].params["reply_markup"] == {"force_reply": True}
    assert "reply_markup" not in emu.last_message(ALICE)
    await app.bot.send_message(ALICE, "Pick", reply_markup={"keyboard": [[{"text": "A"}]]})
    assert emu.reply_keyboard(ALICE)["keyboard"] == [[{"text": "A"}]]


async def test_parse_modes(emu: BotApiEmulator, app: Application) -> None:
    msg = await app.bot.send_message(ALICE, "<b>Order</b> &lt;7&gt;", parse_mode=ParseMode.HTML)
    assert msg.text == "Order <7>"
    assert msg.entities[0].type == "bold" and msg.entities[0].length == 5
    with pytest.raises(BadRequest, match="(?i)can't parse entities"):
        await app.bot.send_message(ALICE, "a < b", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="(?i)reserved"):
        await app.bot.send_message(ALICE, "Done.", parse_mode=ParseMode.MARKDOWN_V2)
    msg = await app.bot.send_message(ALICE, "*Done*\\.", parse_mode=ParseMode.MARKDOWN_V2)
    assert msg.text == "Done." and msg.entities[0].type == "bold"
    text, entities = parse_html(
        '<a href="https://x.y">x</a><pre><code class="language-py">1</code></pre>'
    )
    assert text == "x1" and entities[1] == {
        "type": "pre",
        "offset": 1,
        "length": 1,
        "language": "py",
    }
    text, entities = parse_markdown_v2("[site](https://e.com) __u__ ||s||")
    assert text == "site u s" and [e["type"] for e in entities] == [
        "text_link",
        "underline",
        "spoiler",
    ]


async def test_callback_press(emu: BotApiEmulator, app: Application) -> None:
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Accept", callback_data="acc:1")],
            [InlineKeyboardButton("Web", url="https://e.com")],
        ]
    )
    msg = await app.bot.send_message(ALICE, "Ticket", reply_markup=keyboard)
    emu.press_button(ALICE, ALICE, "Accept")
    emu.press(ALICE, ALICE, msg.message_id, "forged")
    updates = await fetch(app)
    query = updates[0].callback_query
    assert query.data == "acc:1" and query.from_user.id == ALICE
    assert query.message.message_id == msg.message_id
    assert query.message.reply_markup.inline_keyboard[0][0].text == "Accept"
    assert updates[1].callback_query.data == "forged"
    assert await app.bot.answer_callback_query(query.id, text="Accepted")
    assert emu.callback_answers[query.id]["text"] == "Accepted"
    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await app.bot.answer_callback_query(query.id)
    with pytest.raises(LookupError):
        emu.press_button(ALICE, ALICE, "Nope")
    with pytest.raises(BadRequest, match="(?i)button_data_invalid"):
        big = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="x" * 65)]])
        await app.bot.send_message(ALICE, "too big", reply_markup=big)


async def test_photo_upload_download_and_reuse(emu: BotApiEmulator, app: Application) -> None:
    data = png_bytes(2000, 1000)
    msg = await app.bot.send_photo(ALICE, photo=data, caption="Receipt")
    assert msg.caption == "Receipt"
    assert len(msg.photo) == 2
    assert (msg.photo[-1].width, msg.photo[-1].height) == (1280, 640)
    assert msg.photo[0].width == 90
    tg_file = await app.bot.get_file(msg.photo[-1].file_id)
    assert bytes(await tg_file.download_as_bytearray()) == data
    assert emu.calls("sendPhoto")[0].params["photo"]["size"] == len(data)
    again = await app.bot.send_photo(ALICE, photo=msg.photo[-1].file_id)
    assert again.photo[-1].file_id == msg.photo[-1].file_id
    with pytest.raises(BadRequest, match="[Ww]rong file identifier"):
        await app.bot.send_photo(ALICE, photo="nonexistent")
    edited = await app.bot.edit_message_caption(ALICE, msg.message_id, caption="Receipt v2")
    assert edited.caption == "Receipt v2"


async def test_document_upload(emu: BotApiEmulator, app: Application) -> None:
    msg = await app.bot.send_document(ALICE, document=b"a,b\n1,2\n", filename="report.csv")
    assert msg.document.file_name == "report.csv"
    assert msg.document.mime_type == "text/csv"
    tg_file = await app.bot.get_file(msg.document.file_id)
    assert bytes(await tg_file.download_as_bytearray()) == b"a,b\n1,2\n"


async def test_user_photo_downloadable(emu: BotApiEmulator, app: Application) -> None:
    data = png_bytes(640, 480)
    emu.send_photo(ALICE, data, caption="broken screen")
    (update,) = await fetch(app)
    photos = update.message.photo
    assert photos[-1].width == 640 and photos[0].file_id != photos[-1].file_id
    for size in photos:
        tg_file = await size.get_file()
        assert bytes(await tg_file.download_as_bytearray()) == data
    assert update.message.caption == "broken screen"


async def test_locations_forward_live_and_venue(emu: BotApiEmulator, app: Application) -> None:
    emu.send_location(ALICE, 31.2, 121.4, forwarded_from_user_id=BOB, horizontal_accuracy=15)
    live = emu.send_location(ALICE, 31.0, 121.0, live_period=900)
    assert live is not None
    live_id = live["message"]["message_id"]
    emu.edit_live_location(ALICE, ALICE, live_id, 31.1, 121.1, horizontal_accuracy=5)
    emu.send_venue(ALICE, 30.0, 120.0, "Station", "1 Main Rd")
    forwarded, live_update, edit, venue = await fetch(app)
    origin = forwarded.message.forward_origin
    assert isinstance(origin, MessageOriginUser) and origin.sender_user.id == BOB
    assert forwarded.message.location.horizontal_accuracy == 15
    assert forwarded.message.api_kwargs.get("forward_date") == origin.date.timestamp()
    assert emu.get_message(ALICE, live_id)["location"]["live_period"] == 900
    assert live_update.message.location.latitude == 31.0
    assert edit.edited_message is not None and edit.message is None
    assert edit.edited_message.message_id == live_id
    assert edit.edited_message.location.latitude == pytest.approx(31.1)
    assert edit.edited_message.edit_date is not None
    assert venue.message.venue.title == "Station" and venue.message.location.longitude == 120.0
    emu.send_contact(ALICE, "+8613800000000", "Alice", contact_user_id=ALICE)
    (contact,) = await fetch(app, offset=venue.update_id + 1)
    assert contact.message.contact.user_id == ALICE


async def test_bot_location_and_chat_action(emu: BotApiEmulator, app: Application) -> None:
    await app.bot.send_chat_action(ALICE, "find_location")
    msg = await app.bot.send_location(ALICE, latitude=31.5, longitude=121.5)
    assert msg.location.latitude == 31.5
    assert emu.chat_actions == [(ALICE, "find_location")]


async def test_commands_per_scope(emu: BotApiEmulator, app: Application) -> None:
    await app.bot.set_my_commands([BotCommand("start", "Start")])
    scope = BotCommandScopeChat(ALICE)
    await app.bot.set_my_commands(
        [BotCommand("jobs", "My jobs"), BotCommand("done", "Finish")],
        scope=scope,
        language_code="zh",
    )
    got = await app.bot.get_my_commands(scope=scope, language_code="zh")
    assert [c.command for c in got] == ["jobs", "done"]
    assert await app.bot.get_my_commands(scope=scope) == ()
    assert emu.commands[("chat", ALICE, None, "zh")][0]["description"] == "My jobs"
    assert [c["command"] for c in emu.resolve_commands(ALICE, language_code="zh")] == [
        "jobs",
        "done",
    ]
    assert [c["command"] for c in emu.resolve_commands(BOB)] == ["start"]
    await app.bot.delete_my_commands(scope=scope, language_code="zh")
    assert emu.get_commands({"type": "chat", "chat_id": ALICE}, "zh") == []
    with pytest.raises(BadRequest):
        await app.bot.set_my_commands([BotCommand("Bad-Name", "x")])
    assert await app.bot.set_chat_menu_button()


async def test_wait_for_and_mark(emu: BotApiEmulator, app: Application) -> None:
    await app.bot.send_message(ALICE, "old reply")
    mark = emu.mark()

    async def bot_later() -> None:
        await asyncio.sleep(0.1)
        await app.bot.send_message(ALICE, "new reply")

    task = asyncio.create_task(bot_later())
    msg = await emu.wait_for_message(ALICE, "reply", after=mark, timeout=2)
    await task
    assert msg["text"] == "new reply"
    assert (await emu.wait_for_message(ALICE, "old"))["text"] == "old reply"
    call = await emu.wait_for(lambda c: c.method == "sendMessage", after=mark)
    assert call.params["text"] == "new reply"
    with pytest.raises(TimeoutError, match="last calls"):
        await emu.wait_for(lambda c: c.method == "sendPhoto", timeout=0.1)


async def test_migration_to_supergroup(emu: BotApiEmulator, app: Application) -> None:
    emu.send_text(ALICE, "/start", chat_id=GROUP)
    new_id = emu.migrate_group_to_supergroup(GROUP)
    assert str(new_id).startswith("-100")
    updates = await fetch(app)
    assert updates[1].message.migrate_to_chat_id == new_id
    assert updates[1].message.chat.id == GROUP
    assert updates[2].message.migrate_from_chat_id == GROUP
    assert updates[2].message.chat.type == "supergroup"
    with pytest.raises(ChatMigrated) as excinfo:
        await app.bot.send_message(GROUP, "hello?")
    assert excinfo.value.new_chat_id == new_id
    msg = await app.bot.send_message(new_id, "hello supergroup")
    assert msg.chat.type == "supergroup" and msg.chat.title == "Field team"
    chat = await app.bot.get_chat(new_id)
    assert chat.title == "Field team"


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_group_rate_limit(clock: FakeClock) -> None:
    async with BotApiEmulator(clock=clock, enforce_group_limit=True) as emu:
        emu.group(GROUP, "busy")
        emu.user(ALICE, "Alice")
        builder = emu.application_builder().updater(None)
        async with builder.build() as application:
            for i in range(20):
                await application.bot.send_message(GROUP, f"n{i}")
            with pytest.raises(RetryAfter):
                await application.bot.send_message(GROUP, "one too many")
            assert emu.sent[-1].error["parameters"]["retry_after"] == 60
            for i in range(25):  # private chats are not limited
                await application.bot.send_message(ALICE, f"p{i}")
            clock.advance(61)
            await application.bot.send_message(GROUP, "after a minute")


async def test_blocked_user(emu: BotApiEmulator, app: Application) -> None:
    emu.block(ALICE)
    (update,) = await fetch(app)
    assert update.my_chat_member.new_chat_member.status == "kicked"
    with pytest.raises(Forbidden):
        await app.bot.send_message(ALICE, "hi")
    emu.unblock(ALICE)
    await app.bot.send_message(ALICE, "welcome back")


async def test_user_http_api(emu: BotApiEmulator, app: Application) -> None:
    base = f"http://127.0.0.1:{emu.port}/_user"
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{base}/text", json={"user_id": ALICE, "text": "hi"}) as resp:
            body = await resp.json()
            assert body["ok"] and body["result"]["message"]["text"] == "hi"
        photo = {"user_id": BOB, "data": base64.b64encode(b"img").decode()}
        async with session.post(f"{base}/photo", json=photo) as resp:
            assert (await resp.json())["result"]["message"]["photo"]
        async with session.post(f"{base}/press", json={"user_id": 1}) as resp:
            assert resp.status == 400
    assert emu.pending_updates() == 2


async def test_full_application_with_polling(emu: BotApiEmulator) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data="go")]])
        await update.effective_message.reply_text("Hello <b>tech</b>", reply_markup=keyboard)

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.callback_query.answer("ok")
        await update.callback_query.edit_message_text("Going")

    application = emu.application_builder().defaults(Defaults(parse_mode=ParseMode.HTML)).build()
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CallbackQueryHandler(pressed))
    async with application:
        await application.start()
        await application.updater.start_polling(poll_interval=0, timeout=1)
        try:
            emu.send_text(ALICE, "/start")
            msg = await emu.wait_for_message(ALICE, "Hello tech")
            assert msg["entities"][0]["type"] == "bold"
            mark = emu.mark()
            emu.press_button(ALICE, ALICE, "Go")
            assert (await emu.wait_for_message(ALICE, "Going", after=mark))["text"] == "Going"
            answer = await emu.wait_for(lambda c: c.method == "answerCallbackQuery", after=mark)
            assert answer.params["text"] == "ok"
        finally:
            await application.updater.stop()
            await application.stop()
    assert emu.pending_updates() == 0
