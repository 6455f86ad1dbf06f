"""The one door every outgoing message passes: text, captions and button data fit Telegram.

FieldBot is the application's bot. A text over 4,096 UTF-16 units goes out as several
messages split at line breaks (bot.domain.limits); the first keeps the reply, the last carries the
buttons. An edit cannot become several messages, so an edit's text is cut with an ellipsis
(long lists are paged by their handlers, handlers/paging.py, and never get here). A caption
over 1,024 units keeps its first piece and the rest follows as text. Button data over 64 bytes
is refused before anything is sent.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, ReplyParameters
from telegram._utils.defaultvalue import DEFAULT_NONE, DefaultValue
from telegram.ext import ExtBot

from bot.domain import limits
from handlers.sent import SentMessage

log = logging.getLogger(__name__)

# Arguments that belong to the first piece of a split message only.
_FIRST_ONLY = ("reply_to_message_id", "reply_parameters", "allow_sending_without_reply")


def check_markup(markup: object) -> None:
    """Refuse an inline keyboard whose callback data would not fit 64 bytes."""
    if not isinstance(markup, InlineKeyboardMarkup):
        return
    for row in markup.inline_keyboard:
        for button in row:
            if isinstance(button.callback_data, str):
                limits.check_callback_data(button.callback_data)


def _mode(parse_mode: object) -> str | None:
    if isinstance(parse_mode, DefaultValue):
        parse_mode = parse_mode.value
    return str(parse_mode) if parse_mode else None


# The message fields Bot._send_message puts into every send or edit, with their defaults.
_MESSAGE_FIELDS = {
    name: parameter.default
    for name, parameter in inspect.signature(Bot._send_message).parameters.items()
    if parameter.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    and name not in ("self", "endpoint", "data")
}
_TIMEOUTS = ("read_timeout", "write_timeout", "connect_timeout", "pool_timeout")
_KNOWN_ARGUMENTS = frozenset(
    (
        *_MESSAGE_FIELDS,
        *_TIMEOUTS,
        "reply_to_message_id",
        "allow_sending_without_reply",
        "api_kwargs",
    )
)


# An inline button's fields as python-telegram-bot's to_dict lists them.
_BUTTON_FIELDS = tuple(
    name
    for name in InlineKeyboardButton("x", callback_data="x")._get_attrs_names(False)
    if name != "api_kwargs"
)
_PLAIN_VALUES = (str, int, bool)


def markup_dict(markup: InlineKeyboardMarkup) -> dict[str, Any] | InlineKeyboardMarkup:
    """The keyboard as InlineKeyboardMarkup.to_dict() gives it, built directly when every
    button holds only plain values (text, callback data, a url); else the markup itself, for
    python-telegram-bot to convert. to_dict walks every slot of every button generically, a
    good part of the cost of a send with buttons."""
    if markup.api_kwargs or not markup.inline_keyboard:
        return markup
    rows = []
    for row in markup.inline_keyboard:
        buttons = []
        for button in row:
            if type(button) is not InlineKeyboardButton or button.api_kwargs:
                return markup
            fields = {}
            for name in _BUTTON_FIELDS:
                value = getattr(button, name)
                if value is None:
                    continue
                if type(value) not in _PLAIN_VALUES:
                    return markup
                fields[name] = value
            buttons.append(fields)
        rows.append(buttons)
    return {"inline_keyboard": rows}


def _bind(method: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """The call's arguments by name (only taken on the rare long path)."""
    bound = inspect.signature(method).bind(*args, **kwargs)
    arguments = dict(bound.arguments)
    arguments.update(arguments.pop("kwargs", {}) or {})
    return arguments


class FieldBot(ExtBot):
    """ExtBot whose sends and edits fit Telegram's limits by construction.

    The message a send or edit returns is decoded only when the caller reads it (SentMessage).
    """

    async def _send_message(
        self, endpoint: str, data: dict[str, Any], *args: Any, **kwargs: Any
    ) -> Any:
        """Bot._send_message, returning a SentMessage instead of decoding the result at once."""
        if args or self.callback_data_cache is not None or not _KNOWN_ARGUMENTS.issuperset(kwargs):
            return await super()._send_message(endpoint, data, *args, **kwargs)
        reply_to = kwargs.pop("reply_to_message_id", None)
        allow_without_reply = kwargs.pop("allow_sending_without_reply", DEFAULT_NONE)
        timeouts = {name: kwargs.pop(name, DEFAULT_NONE) for name in _TIMEOUTS}
        api_kwargs = kwargs.pop("api_kwargs", None)
        fields = {**_MESSAGE_FIELDS, **kwargs}
        # The same checks and reply parameters as Bot._send_message.
        if allow_without_reply is not DEFAULT_NONE and fields["reply_parameters"] is not None:
            raise ValueError(
                "`allow_sending_without_reply` and `reply_parameters` are mutually exclusive."
            )
        if reply_to is not None and fields["reply_parameters"] is not None:
            raise ValueError("`reply_to_message_id` and `reply_parameters` are mutually exclusive.")
        if reply_to is not None:
            fields["reply_parameters"] = ReplyParameters(
                message_id=reply_to, allow_sending_without_reply=allow_without_reply
            )
        if isinstance(fields["reply_markup"], InlineKeyboardMarkup):
            fields["reply_markup"] = markup_dict(fields["reply_markup"])
        data.update(fields)
        result = await self._post(endpoint, data, **timeouts, api_kwargs=api_kwargs)
        if result is True:
            return result
        return SentMessage.of(result, self)

    async def send_message(self, chat_id: Any, text: str, *args: Any, **kwargs: Any) -> Message:
        """send_message, split into several messages when the text is too long."""
        check_markup(kwargs.get("reply_markup"))
        if limits.utf16_len(text) <= limits.TEXT_LIMIT:
            return await super().send_message(chat_id, text, *args, **kwargs)
        call = _bind(ExtBot.send_message, self, chat_id, text, *args, **kwargs)
        call.pop("self")
        check_markup(call.get("reply_markup"))
        if call.get("entities"):  # offsets cannot be split here: cut instead
            call["text"] = limits.truncate(text)
            call["entities"] = [e for e in call["entities"] if e.offset + e.length <= 4000]
            return await super().send_message(**call)
        pieces = [
            p
            for p in limits.split(text, limits.TEXT_LIMIT, _mode(call.get("parse_mode")))
            if p.strip()
        ]
        log.info(
            "a message of %s units to %s sent in %s parts",
            limits.utf16_len(text),
            chat_id,
            len(pieces),
        )
        return await self._send_pieces(call, pieces)

    async def _send_pieces(self, call: dict[str, Any], pieces: list[str]) -> Message:
        markup = call.pop("reply_markup", None)
        first = {key: call.pop(key) for key in _FIRST_ONLY if key in call}
        sent: Message | None = None
        for number, piece in enumerate(pieces):
            extra: dict[str, Any] = dict(first) if number == 0 else {}
            if number == len(pieces) - 1:
                extra["reply_markup"] = markup
            sent = await super().send_message(**{**call, **extra, "text": piece})
        assert sent is not None
        return sent

    async def edit_message_text(self, text: str, *args: Any, **kwargs: Any) -> Message | bool:
        """edit_message_text, the text cut with an ellipsis when it is too long."""
        check_markup(kwargs.get("reply_markup"))
        if limits.utf16_len(text) <= limits.TEXT_LIMIT:
            return await super().edit_message_text(text, *args, **kwargs)
        call = _bind(ExtBot.edit_message_text, self, text, *args, **kwargs)
        call.pop("self")
        check_markup(call.get("reply_markup"))
        log.warning("an edit of %s units cut to fit", limits.utf16_len(text))
        call["text"] = limits.truncate(text, limits.TEXT_LIMIT, _mode(call.get("parse_mode")))
        call["entities"] = None
        return await super().edit_message_text(**call)

    async def edit_message_reply_markup(self, *args: Any, **kwargs: Any) -> Message | bool:
        """edit_message_reply_markup, refusing button data over 64 bytes."""
        check_markup(kwargs.get("reply_markup"))
        return await super().edit_message_reply_markup(*args, **kwargs)

    async def edit_message_caption(self, *args: Any, **kwargs: Any) -> Message | bool:
        """edit_message_caption, the caption cut with an ellipsis when it is too long."""
        check_markup(kwargs.get("reply_markup"))
        call = _bind(ExtBot.edit_message_caption, self, *args, **kwargs)
        call.pop("self")
        caption = call.get("caption")
        if caption and limits.utf16_len(caption) > limits.CAPTION_LIMIT:
            mode = _mode(call.get("parse_mode"))
            call["caption"] = limits.truncate(caption, limits.CAPTION_LIMIT, mode)
            call["caption_entities"] = None
        return await super().edit_message_caption(**call)

    async def send_document(
        self, chat_id: Any, document: Any, *args: Any, **kwargs: Any
    ) -> Message:
        """send_document; a long caption's overflow follows as text."""
        return await self._with_caption(ExtBot.send_document, chat_id, document, *args, **kwargs)

    async def send_photo(self, chat_id: Any, photo: Any, *args: Any, **kwargs: Any) -> Message:
        """send_photo; a long caption's overflow follows as text."""
        return await self._with_caption(ExtBot.send_photo, chat_id, photo, *args, **kwargs)

    async def _with_caption(self, method: Any, *args: Any, **kwargs: Any) -> Message:
        check_markup(kwargs.get("reply_markup"))
        caption = kwargs.get("caption")
        if (caption is None or limits.utf16_len(caption) <= limits.CAPTION_LIMIT) and len(
            args
        ) <= 2:
            return await method(self, *args, **kwargs)
        call = _bind(method, self, *args, **kwargs)
        call.pop("self")
        check_markup(call.get("reply_markup"))
        caption = call.get("caption")
        if not caption or limits.utf16_len(caption) <= limits.CAPTION_LIMIT:
            return await method(self, **call)
        mode = _mode(call.get("parse_mode"))
        head, *rest = limits.split(caption, limits.CAPTION_LIMIT, mode)
        call["caption"], call["caption_entities"] = head, None
        sent = await method(self, **call)
        overflow = limits.split("".join(rest), limits.TEXT_LIMIT, mode) if mode is None else rest
        for piece in overflow:
            if piece.strip():
                await super().send_message(
                    call["chat_id"], piece, parse_mode=call.get("parse_mode")
                )
        return sent
