"""SentMessage reads exactly as the Message python-telegram-bot would decode, only later."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
    Update,
    WebAppInfo,
)
from telegram.ext import ExtBot
from telegram.request._requestparameter import RequestParameter

from handlers.outbound import FieldBot, markup_dict
from handlers.sent import SentMessage, decode_update

RESULT = {
    "message_id": 42,
    "date": 1_700_000_000,
    "chat": {"id": 7, "type": "private", "first_name": "技术员"},
    "from": {"id": 1, "is_bot": True, "first_name": "FieldBot", "username": "field_bot"},
    "text": "已签到",
    "entities": [{"type": "bold", "offset": 0, "length": 2}],
    "reply_markup": {"inline_keyboard": [[{"text": "签退", "callback_data": "visit:out:3"}]]},
}


class Recorder(FieldBot):
    """FieldBot whose calls to the Bot API are recorded and answered with `answer`."""

    _answer: Any = RESULT
    _posts: list[tuple[str, dict[str, Any], dict[str, Any]]]

    async def _post(self, endpoint: str, data: Any = None, **kwargs: Any) -> Any:
        # What goes on the wire: each parameter as python-telegram-bot encodes it.
        sent = {k: RequestParameter.from_input(k, v).value for k, v in (data or {}).items()}
        self._posts.append((endpoint, sent, kwargs))
        return copy.deepcopy(self._answer)


class Reference(Recorder):
    """The same bot with python-telegram-bot's own _send_message, which decodes at once."""

    _send_message = ExtBot._send_message  # type: ignore[assignment]


def _bot(answer: Any = RESULT, kind: type[Recorder] = Recorder) -> Recorder:
    bot = kind(token="123:abc")
    bot._posts = []
    bot._answer = answer
    return bot


def test_message_id_is_read_without_decoding() -> None:
    sent = SentMessage.of(copy.deepcopy(RESULT), None)
    assert isinstance(sent, Message)
    assert sent.message_id == 42
    assert object.__getattribute__(sent, "_sent_json") is not None  # nothing decoded yet


def test_every_attribute_reads_as_the_decoded_message() -> None:
    bot = ExtBot(token="123:abc")
    plain = Message.de_json(copy.deepcopy(RESULT), bot)
    sent = SentMessage.of(copy.deepcopy(RESULT), bot)
    assert sent.chat_id == 7
    assert sent.text == "已签到" and sent.date == plain.date
    assert sent.reply_markup == plain.reply_markup
    assert sent.to_dict() == plain.to_dict()
    assert repr(sent) == repr(plain)
    assert sent == plain and plain == sent and hash(sent) == hash(plain)
    assert sent.get_bot() is bot
    with pytest.raises(AttributeError):
        sent.text = "changed"  # frozen, as a decoded message is
    with pytest.raises(AttributeError):
        sent.no_such_attribute  # noqa: B018


def test_json_without_message_id_is_decoded_at_once() -> None:
    data = {k: v for k, v in RESULT.items() if k != "message_id"}
    with pytest.raises(TypeError):  # as Message.de_json itself refuses it
        SentMessage.of(data, None)


def test_send_posts_what_ptb_posts_and_returns_a_lazy_message() -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("签退", callback_data="visit:out:3")]])

    async def both() -> tuple[Recorder, Recorder, Any, Any]:
        ours, theirs = _bot(), _bot(kind=Reference)
        sent = await ours.send_message(7, "已签到", reply_markup=markup, reply_to_message_id=5)
        decoded = await theirs.send_message(7, "已签到", reply_markup=markup, reply_to_message_id=5)
        return ours, theirs, sent, decoded

    ours, theirs, sent, decoded = asyncio.run(both())
    assert ours._posts == theirs._posts
    assert ours._posts[0][1]["reply_parameters"] == {"message_id": 5}
    assert isinstance(sent, SentMessage) and not isinstance(decoded, SentMessage)
    assert sent.to_dict() == decoded.to_dict()


def test_edits_post_what_ptb_posts() -> None:
    async def edits(bot: Recorder) -> list[Any]:
        return [
            await bot.edit_message_text("新", chat_id=7, message_id=42, parse_mode="HTML"),
            await bot.edit_message_reply_markup(chat_id=7, message_id=42),
            await bot.send_photo(7, "file-id", caption="签字"),
        ]

    ours, theirs = _bot(), _bot(kind=Reference)
    results = asyncio.run(edits(ours))
    asyncio.run(edits(theirs))
    assert ours._posts == theirs._posts
    assert [m.to_dict() for m in results] == [Message.de_json(RESULT, None).to_dict()] * 3


def test_an_edit_answered_true_returns_true() -> None:
    bot = _bot(answer=True)
    result = asyncio.run(bot.edit_message_text("新", inline_message_id="abc"))
    assert result is True
    assert bot._posts[0][0] == "editMessageText"


def test_conflicting_reply_arguments_are_refused_as_ptb_refuses_them() -> None:
    bot = _bot()
    with pytest.raises(ValueError):
        asyncio.run(
            bot.send_message(7, "x", reply_to_message_id=5, reply_parameters=ReplyParameters(5))
        )
    assert bot._posts == []


def _button_update(message: dict[str, Any]) -> dict[str, Any]:
    return {
        "update_id": 9,
        "callback_query": {
            "id": "q1",
            "from": {"id": 7, "is_bot": False, "first_name": "技术员", "language_code": "zh-hans"},
            "chat_instance": "ci",
            "data": "visit:out:3",
            "message": message,
        },
    }


def test_a_pressed_buttons_message_is_read_as_ptb_decodes_it() -> None:
    bot = ExtBot(token="123:abc")
    raw = _button_update(copy.deepcopy(RESULT))
    plain = Update.de_json(copy.deepcopy(raw), bot)
    update = decode_update(copy.deepcopy(raw), bot)
    message = update.callback_query.message
    assert isinstance(message, SentMessage)
    assert update.effective_chat == plain.effective_chat and update.effective_chat.type == "private"
    assert message.message_id == 42 and message.chat_id == 7
    assert object.__getattribute__(message, "_sent_json") is not None  # chat and id only so far
    chat = message.chat
    assert update.to_dict() == plain.to_dict()
    assert message.chat is chat  # the chat read before decoding stays the same object
    assert update.callback_query == plain.callback_query and update.effective_user.id == 7


def test_an_inaccessible_or_missing_message_is_decoded_as_ptb_does() -> None:
    bot = ExtBot(token="123:abc")
    gone = {"message_id": 42, "date": 0, "chat": RESULT["chat"]}
    update = decode_update(_button_update(gone), bot)
    assert type(update.callback_query.message) is Message  # as python-telegram-bot decodes it
    assert update.to_dict() == Update.de_json(_button_update(gone), bot).to_dict()
    raw = _button_update(gone)
    del raw["callback_query"]["message"]
    raw["callback_query"]["inline_message_id"] = "im"
    assert decode_update(raw, bot).callback_query.message is None
    text = {"update_id": 10, "message": copy.deepcopy(RESULT)}
    assert type(decode_update(text, bot).message) is Message


def test_what_the_gate_and_handlers_check_is_read_without_decoding() -> None:
    bot = ExtBot(token="123:abc")
    data = {k: v for k, v in copy.deepcopy(RESULT).items() if k != "entities"}
    update = decode_update(_button_update(data), bot)
    message = update.callback_query.message
    assert message.entities == () and message.business_connection_id is None
    assert message.migrate_to_chat_id is None and message.message_thread_id is None
    assert object.__getattribute__(message, "_sent_json") is not None
    plain = Message.de_json(data, bot)
    assert message.text == plain.text and message.entities == plain.entities
    assert message.to_dict() == plain.to_dict()


def test_plain_keyboards_are_encoded_as_ptb_encodes_them() -> None:
    plain = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("签退", callback_data="visit:out:3")],
            [],
            [
                InlineKeyboardButton("地图", url="https://example.com/m"),
                InlineKeyboardButton("x", pay=True),
            ],
        ]
    )
    assert markup_dict(plain) == plain.to_dict()
    for other in (
        InlineKeyboardMarkup([]),
        InlineKeyboardMarkup([[InlineKeyboardButton("w", web_app=WebAppInfo("https://e.x"))]]),
        InlineKeyboardMarkup([[InlineKeyboardButton("k", callback_data="d", api_kwargs={"z": 1})]]),
        InlineKeyboardMarkup([[InlineKeyboardButton("k", callback_data="d")]], api_kwargs={"z": 1}),
    ):
        assert markup_dict(other) is other  # left to python-telegram-bot
