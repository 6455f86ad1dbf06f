"""In-process Telegram Bot API emulator speaking real HTTP on 127.0.0.1 (aiohttp based)."""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import math
import mimetypes
import re
import struct
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from telegram.ext import ApplicationBuilder

JsonDict = dict[str, Any]
Handler = Callable[[JsonDict, dict[str, "UploadedFile"]], Awaitable[Any]]

GROUP_MESSAGES_PER_MINUTE = 20
OVERALL_MESSAGES_PER_SECOND = 30
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
CALLBACK_DATA_MAX_BYTES = 64

# Parameters that are always plain strings, even when they look like JSON (e.g. text="123").
_STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "file_id",
        "language_code",
        "title",
        "address",
        "action",
        "url",
        "photo",
        "document",
        "business_connection_id",
        "message_effect_id",
        "inline_message_id",
        "phone_number",
        "first_name",
        "last_name",
        "vcard",
        "foursquare_id",
        "foursquare_type",
        "google_place_id",
        "google_place_type",
        "description",
        "short_description",
        "name",
        "secret_token",
        "ip_address",
        "emoji",
    }
)
# Parameters that carry JSON objects/arrays (decoded even if a JSON body sent them as strings).
_JSON_PARAMS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "scope",
        "commands",
        "allowed_updates",
        "reply_parameters",
        "link_preview_options",
        "menu_button",
        "media",
    }
)
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_INLINE_BUTTON_ACTIONS = (
    "callback_data",
    "url",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "callback_game",
    "pay",
    "web_app",
    "copy_text",
)
# Methods whose successful result is a Message the bot produced or changed.
MESSAGE_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendLocation",
        "sendVenue",
        "sendContact",
        "editMessageText",
        "editMessageCaption",
        "editMessageReplyMarkup",
    }
)
_SEND_METHODS = frozenset(m for m in MESSAGE_METHODS if m.startswith("send"))
_COMMAND_RE = re.compile(r"(?<![\w/])/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{3,32}))?(?![\w@])")
_MENTION_RE = re.compile(r"(?<![\w@/])@([A-Za-z0-9_]{4,32})(?!\w)")
_BOT_COMMAND_NAME_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_TELEGRAM_SERVICE_USER: JsonDict = {"id": 777000, "is_bot": False, "first_name": "Telegram"}


class ApiError(Exception):
    """A Telegram-style API error returned to the HTTP client."""

    def __init__(self, code: int, description: str, parameters: JsonDict | None = None) -> None:
        """Create an error with HTTP/Telegram ``code`` and ``description``."""
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def payload(self) -> JsonDict:
        """Return the Telegram JSON error body."""
        body: JsonDict = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad_request(description: str, parameters: JsonDict | None = None) -> ApiError:
    """Build a 400 ``Bad Request: ...`` error."""
    return ApiError(400, f"Bad Request: {description}", parameters)


@dataclass
class SentCall:
    """One Bot API call the bot made (logged in ``BotApiEmulator.sent``)."""

    method: str
    params: JsonDict
    result: Any
    at: float
    error: JsonDict | None = None

    @property
    def ok(self) -> bool:
        """Whether the call succeeded."""
        return self.error is None

    @property
    def chat_id(self) -> Any:
        """The ``chat_id`` parameter of the call, if any."""
        return self.params.get("chat_id")

    def summary(self) -> str:
        """Short human readable description used in timeout messages."""
        keys = ("chat_id", "message_id", "text", "caption", "data", "callback_query_id")
        shown = ", ".join(f"{k}={self.params[k]!r}" for k in keys if k in self.params)
        status = "ok" if self.ok else f"error={self.error.get('description') if self.error else ''}"
        return f"{self.method}({shown}) -> {status}"


@dataclass
class UploadedFile:
    """A file part received in a multipart request."""

    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class StoredFile:
    """A file known to the emulator (uploaded by the bot or sent by a user)."""

    file_id: str
    file_unique_id: str
    data: bytes
    file_path: str
    mime_type: str | None = None
    file_name: str | None = None
    extra: JsonDict = field(default_factory=dict)


class EntityParseError(ValueError):
    """Raised when text cannot be parsed with the requested parse_mode."""


# --------------------------------------------------------------------------- text formatting


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (Telegram entity unit)."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(src: str, index: int) -> int:
    """UTF-8 byte offset of ``src[index]``."""
    return len(src[:index].encode("utf-8"))


class _TextBuilder:
    """Accumulates plain text while tracking the UTF-16 position."""

    def __init__(self) -> None:
        """Start with empty text."""
        self.parts: list[str] = []
        self.pos = 0

    def add(self, chunk: str) -> None:
        """Append ``chunk``."""
        if chunk:
            self.parts.append(chunk)
            self.pos += utf16_len(chunk)

    @property
    def text(self) -> str:
        """The accumulated text."""
        return "".join(self.parts)


def _sort_entities(entities: list[JsonDict]) -> list[JsonDict]:
    """Sort entities like Telegram does (by offset, longer first)."""
    return sorted(entities, key=lambda e: (e["offset"], -e["length"]))


def _link_entity(offset: int, length: int, url: str) -> JsonDict | None:
    """Build a text_link or text_mention entity for ``url``."""
    if not url:
        return None
    mention = re.fullmatch(r"tg://user\?id=(\d+)", url)
    if mention:
        user = {"id": int(mention.group(1)), "is_bot": False, "first_name": ""}
        return {"type": "text_mention", "offset": offset, "length": length, "user": user}
    return {"type": "text_link", "offset": offset, "length": length, "url": url}


_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "a": "text_link",
    "tg-emoji": "custom_emoji",
}
_HTML_ENTITY_RE = re.compile(r"&(#[0-9]+|#[xX][0-9a-fA-F]+|lt|gt|amp|quot);")
_HTML_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def _html_unescape(value: str) -> str:
    """Decode the HTML entities Telegram supports."""

    def repl(m: re.Match[str]) -> str:
        name = m.group(1)
        if name.startswith(("#x", "#X")):
            return chr(int(name[2:], 16))
        if name.startswith("#"):
            return chr(int(name[1:]))
        return _HTML_NAMED[name]

    return _HTML_ENTITY_RE.sub(repl, value)


def _parse_html_attrs(src: str, i: int, tag: str, begin: int) -> tuple[dict[str, str], int]:
    """Parse tag attributes starting at ``i``; return them and the index after ``>``."""
    attrs: dict[str, str] = {}
    n = len(src)
    while True:
        while i < n and src[i].isspace():
            i += 1
        if i >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(src, begin)}")
        if src[i] == ">":
            return attrs, i + 1
        m = re.compile(r"[A-Za-z0-9_-]+").match(src, i)
        if not m:
            raise EntityParseError(
                f'Empty attribute name in the tag "{tag}" at byte offset {_byte_offset(src, begin)}'
            )
        name = m.group().lower()
        i = m.end()
        while i < n and src[i].isspace():
            i += 1
        value = ""
        if i < n and src[i] == "=":
            i += 1
            while i < n and src[i].isspace():
                i += 1
            if i < n and src[i] in "\"'":
                end = src.find(src[i], i + 1)
                if end == -1:
                    raise EntityParseError(
                        f"Unclosed start tag at byte offset {_byte_offset(src, begin)}"
                    )
                value = src[i + 1 : end]
                i = end + 1
            else:
                start = i
                while i < n and not src[i].isspace() and src[i] != ">":
                    i += 1
                value = src[start:i]
        attrs[name] = _html_unescape(value)


def parse_html(src: str) -> tuple[str, list[JsonDict]]:
    """Parse Telegram-flavoured HTML into plain text and entities (errors like Telegram)."""
    out = _TextBuilder()
    entities: list[JsonDict] = []
    stack: list[tuple[str, dict[str, str], int]] = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c == "&":
            m = _HTML_ENTITY_RE.match(src, i)
            if m:
                out.add(_html_unescape(m.group()))
                i = m.end()
            else:
                out.add("&")
                i += 1
            continue
        if c != "<":
            nxt = min((j for j in (src.find("<", i), src.find("&", i)) if j != -1), default=n)
            out.add(src[i:nxt])
            i = nxt
            continue
        begin = i
        i += 1
        if i < n and src[i] == "/":
            end = src.find(">", i)
            if end == -1:
                raise EntityParseError(
                    f"Unclosed end tag at byte offset {_byte_offset(src, begin)}"
                )
            name = src[i + 1 : end].strip().lower()
            i = end + 1
            if not stack:
                raise EntityParseError(
                    f"Unexpected end tag at byte offset {_byte_offset(src, begin)}"
                )
            tag, attrs, start = stack.pop()
            if name != tag:
                raise EntityParseError(
                    f"Unmatched end tag at byte offset {_byte_offset(src, begin)}, "
                    f'expected "</{tag}>", found "</{name}>"'
                )
            length = out.pos - start
            if tag == "code" and stack and stack[-1][0] == "pre":
                lang = attrs.get("class", "")
                if lang.startswith("language-"):
                    stack[-1][1]["_language"] = lang[len("language-") :]
                    continue
            if length <= 0:
                continue
            kind = _HTML_TAGS[tag]
            entity: JsonDict | None = {"type": kind, "offset": start, "length": length}
            if kind == "text_link":
                entity = _link_entity(start, length, attrs.get("href", ""))
            elif kind == "pre" and attrs.get("_language"):
                entity = {**entity, "language": attrs["_language"]}
            elif kind == "blockquote" and "expandable" in attrs:
                entity = {**entity, "type": "expandable_blockquote"}
            elif kind == "custom_emoji":
                entity = {**entity, "custom_emoji_id": attrs.get("emoji-id", "")}
            if entity:
                entities.append(entity)
            continue
        m = re.compile(r"[A-Za-z0-9-]*").match(src, i)
        tag = m.group().lower() if m else ""
        i = m.end() if m else i
        if tag not in _HTML_TAGS:
            raise EntityParseError(
                f'Unsupported start tag "{tag}" at byte offset {_byte_offset(src, begin)}'
            )
        attrs, i = _parse_html_attrs(src, i, tag, begin)
        if tag == "span" and attrs.get("class") != "tg-spoiler":
            raise EntityParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {_byte_offset(src, begin)}'
            )
        stack.append((tag, attrs, out.pos))
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return out.text, _sort_entities(entities)


_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MDV2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


def _read_md_url(src: str, i: int) -> tuple[str, int]:
    """Read ``(url)`` at ``i`` honouring backslash escapes; return url and next index."""
    if i >= len(src) or src[i] != "(":
        return "", i
    j = i + 1
    chars: list[str] = []
    while j < len(src) and src[j] != ")":
        if src[j] == "\\" and j + 1 < len(src):
            j += 1
        chars.append(src[j])
        j += 1
    if j >= len(src):
        return "", i
    return "".join(chars), j + 1


def parse_markdown_v2(src: str) -> tuple[str, list[JsonDict]]:
    """Parse MarkdownV2 into plain text and entities (reserved characters must be escaped)."""
    out = _TextBuilder()
    entities: list[JsonDict] = []
    stack: list[JsonDict] = []
    quote_start: int | None = None
    i, n = 0, len(src)

    def close_quote() -> None:
        nonlocal quote_start
        if quote_start is not None and out.pos > quote_start:
            entities.append(
                {"type": "blockquote", "offset": quote_start, "length": out.pos - quote_start}
            )
        quote_start = None

    while i < n:
        c = src[i]
        top = stack[-1]["type"] if stack else None
        if c == "\\" and i + 1 < n and 0 < ord(src[i + 1]) <= 126:
            out.add(src[i + 1])
            i += 2
            continue
        if top in ("code", "pre"):
            closing = "```" if top == "pre" else "`"
            if src.startswith(closing, i):
                ent = stack.pop()
                if out.pos > ent["offset"]:
                    entity = {
                        "type": top,
                        "offset": ent["offset"],
                        "length": out.pos - ent["offset"],
                    }
                    if ent.get("language"):
                        entity["language"] = ent["language"]
                    entities.append(entity)
                i += len(closing)
            else:
                out.add(c)
                i += 1
            continue
        at_line_start = i == 0 or src[i - 1] == "\n"
        if c == "\n":
            if quote_start is not None and not src.startswith(">", i + 1):
                close_quote()
            out.add(c)
            i += 1
            continue
        if at_line_start and (c == ">" or src.startswith("**>", i)):
            if quote_start is None:
                quote_start = out.pos
            i += 1 if c == ">" else 3
            continue
        if c not in _MDV2_RESERVED:
            out.add(c)
            i += 1
            continue
        ends = {
            "bold": c == "*",
            "italic": c == "_" and not src.startswith("__", i),
            "underline": src.startswith("__", i),
            "strikethrough": c == "~",
            "spoiler": src.startswith("||", i),
            "text_link": c == "]",
            "custom_emoji": c == "]",
        }
        if top is not None and ends.get(top, False):
            ent = stack.pop()
            i += 2 if top in ("underline", "spoiler") else 1
            start = ent["offset"]
            if top in ("text_link", "custom_emoji"):
                url, nxt = _read_md_url(src, i)
                if nxt == i:
                    url = "".join(out.parts[ent["part"] :]) if top == "text_link" else ""
                i = nxt
                if top == "custom_emoji":
                    emoji_id = url.split("id=", 1)[1] if "id=" in url else ""
                    entity: JsonDict | None = {
                        "type": "custom_emoji",
                        "offset": start,
                        "length": out.pos - start,
                        "custom_emoji_id": emoji_id,
                    }
                else:
                    entity = _link_entity(start, out.pos - start, url)
            else:
                entity = {"type": top, "offset": start, "length": out.pos - start}
            if entity and entity["length"] > 0:
                entities.append(entity)
            continue
        begin = i
        if c == "_":
            kind = "underline" if src.startswith("__", i) else "italic"
            i += 2 if kind == "underline" else 1
        elif c == "*":
            kind, i = "bold", i + 1
        elif c == "~":
            kind, i = "strikethrough", i + 1
        elif c == "|" and src.startswith("||", i):
            kind, i = "spoiler", i + 2
        elif c == "[":
            kind, i = "text_link", i + 1
        elif c == "!" and src.startswith("![", i):
            kind, i = "custom_emoji", i + 2
        elif c == "`":
            language = ""
            if src.startswith("```", i):
                kind, i = "pre", i + 3
                lang_end = i
                while lang_end < n and not src[lang_end].isspace() and src[lang_end] != "`":
                    lang_end += 1
                if lang_end != i and lang_end < n and src[lang_end] != "`":
                    language = src[i:lang_end]
                    i = lang_end
                if i < n and src[i] == "\n":
                    i += 1
            else:
                kind, i = "code", i + 1
            stack.append({"type": kind, "offset": out.pos, "begin": begin, "language": language})
            continue
        else:
            raise EntityParseError(
                f"Character '{c}' is reserved and must be escaped with the preceding '\\'"
            )
        stack.append({"type": kind, "offset": out.pos, "begin": begin, "part": len(out.parts)})
    if stack:
        ent = stack[-1]
        raise EntityParseError(
            f"Can't find end of {_MDV2_NAMES[ent['type']]} entity at byte offset "
            f"{_byte_offset(src, ent['begin'])}"
        )
    close_quote()
    return out.text, _sort_entities(entities)


def parse_markdown(src: str) -> tuple[str, list[JsonDict]]:
    """Parse legacy Markdown (``*bold* _italic_ `code` ```pre``` [text](url)``)."""
    out = _TextBuilder()
    entities: list[JsonDict] = []
    i, n = 0, len(src)
    simple = {"*": "bold", "_": "italic", "`": "code"}
    while i < n:
        c = src[i]
        if c == "\\" and i + 1 < n and src[i + 1] in "_*`[":
            out.add(src[i + 1])
            i += 2
            continue
        if c not in "_*`[":
            out.add(c)
            i += 1
            continue
        begin = i
        error = EntityParseError(
            f"Can't find end of the entity starting at byte offset {_byte_offset(src, begin)}"
        )
        start = out.pos
        if src.startswith("```", i):
            end = src.find("```", i + 3)
            if end == -1:
                raise error
            body = src[i + 3 : end]
            language = ""
            first, sep, rest = body.partition("\n")
            if sep and first and not any(ch.isspace() for ch in first):
                language, body = first, rest
            out.add(body)
            entity: JsonDict | None = {"type": "pre", "offset": start, "length": out.pos - start}
            if language and entity:
                entity["language"] = language
            i = end + 3
        elif c == "[":
            end = src.find("]", i + 1)
            if end == -1:
                raise error
            out.add(src[i + 1 : end])
            url, nxt = _read_md_url(src, end + 1)
            if nxt == end + 1:
                raise error
            entity = _link_entity(start, out.pos - start, url)
            i = nxt
        else:
            end = src.find(c, i + 1)
            if end == -1:
                raise error
            out.add(src[i + 1 : end])
            entity = {"type": simple[c], "offset": start, "length": out.pos - start}
            i = end + 1
        if entity and entity["length"] > 0:
            entities.append(entity)
    return out.text, _sort_entities(entities)


def format_text(
    text: str, parse_mode: str | None, entities: list[JsonDict] | None = None
) -> tuple[str, list[JsonDict]]:
    """Apply ``parse_mode`` (HTML/MarkdownV2/Markdown) or explicit ``entities`` to ``text``."""
    mode = (parse_mode or "").lower()
    if not mode:
        return text, list(entities or [])
    if mode == "html":
        return parse_html(text)
    if mode == "markdownv2":
        return parse_markdown_v2(text)
    if mode == "markdown":
        return parse_markdown(text)
    raise EntityParseError(f"Unsupported parse_mode {parse_mode!r}")


def auto_entities(text: str) -> list[JsonDict]:
    """Detect bot_command and mention entities in user-typed text."""
    found: list[JsonDict] = []
    for m in _COMMAND_RE.finditer(text):
        offset = utf16_len(text[: m.start()])
        found.append({"type": "bot_command", "offset": offset, "length": utf16_len(m.group())})
    for m in _MENTION_RE.finditer(text):
        offset = utf16_len(text[: m.start()])
        found.append({"type": "mention", "offset": offset, "length": utf16_len(m.group())})
    return _sort_entities(found)


def image_size(data: bytes) -> tuple[int, int] | None:
    """Return (width, height) of PNG/GIF/JPEG/WEBP bytes, or None if unknown."""
    try:
        if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
            w, h = struct.unpack(">II", data[16:24])
            return int(w), int(h)
        if data[:6] in (b"GIF87a", b"GIF89a"):
            w, h = struct.unpack("<HH", data[6:10])
            return int(w), int(h)
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and data[12:16] == b"VP8X":
            w = int.from_bytes(data[24:27], "little") + 1
            h = int.from_bytes(data[27:30], "little") + 1
            return w, h
        if data.startswith(b"\xff\xd8"):
            i = 2
            while i + 9 < len(data):
                if data[i] != 0xFF:
                    i += 1
                    continue
                marker = data[i + 1]
                if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
                    i += 1 if marker == 0xFF else 2
                    continue
                seg_len = struct.unpack(">H", data[i + 2 : i + 4])[0]
                if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB):
                    h, w = struct.unpack(">HH", data[i + 5 : i + 9])
                    return int(w), int(h)
                i += 2 + seg_len
    except struct.error:
        return None
    return None


def _scaled(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """Scale ``size`` down so that its longest side is at most ``max_side``."""
    w, h = size
    longest = max(w, h, 1)
    if longest <= max_side:
        return w, h
    factor = max_side / longest
    return max(1, round(w * factor)), max(1, round(h * factor))


def _decode_param(key: str, value: str) -> Any:
    """Decode one form field the way the Bot API does (JSON values, plain strings)."""
    if key in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _strip_reply(message: JsonDict) -> JsonDict:
    """Copy of ``message`` suitable for embedding as ``reply_to_message``."""
    stripped = copy.deepcopy(message)
    stripped.pop("reply_to_message", None)
    return stripped


# --------------------------------------------------------------------------- emulator


class BotApiEmulator:
    """Fake Telegram Bot API server plus a Python API to act as Telegram users."""

    def __init__(
        self,
        token: str = "123456:TEST",
        bot_username: str = "fieldbot_test_bot",
        privacy_mode: bool = True,
        *,
        bot_first_name: str = "FieldBot Test",
        enforce_group_limit: bool = False,
        first_update_id: int = 1000,
        clock: Callable[[], float] | None = None,
        strict_limits: bool = False,
        group_limit: int = GROUP_MESSAGES_PER_MINUTE,
        group_window_s: float = 60.0,
        overall_per_second: int = OVERALL_MESSAGES_PER_SECOND,
    ) -> None:
        """Configure the emulator; call ``start()`` (or use ``async with``) to serve HTTP.

        ``enforce_group_limit`` answers a 21st message into a group within a rolling minute
        with 429 and retry_after. ``strict_limits`` enforces Telegram's limits as a whole:
        edits count against the group's window too, and at most ``overall_per_second``
        messages go out per rolling second over all chats (``group_limit`` and
        ``group_window_s`` scale the group rule, e.g. for a fast test).
        """
        self.token = token
        self.bot_username = bot_username
        self.privacy_mode = privacy_mode
        self.enforce_group_limit = enforce_group_limit or strict_limits
        self.strict_limits = strict_limits
        self.group_limit = group_limit
        self.group_window_s = group_window_s
        self.overall_per_second = overall_per_second
        self._overall_sends: deque[float] = deque()
        self.first_update_id = first_update_id
        self.clock: Callable[[], float] = clock or time.time
        bot_id_part = token.split(":", 1)[0]
        self.bot_id = int(bot_id_part) if bot_id_part.isdigit() else 123456
        self.bot_user: JsonDict = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.sent: list[SentCall] = []
        self.commands: dict[tuple[str, int | str | None, int | None, str], list[JsonDict]] = {}
        self.menu_buttons: dict[int | str | None, JsonDict] = {}
        self.callback_answers: dict[str, JsonDict] = {}
        self.chat_actions: list[tuple[int | str, str]] = []
        self.updates_confirmed_upto = first_update_id - 1
        self._users: dict[int, JsonDict] = {}
        self._chats: dict[int | str, JsonDict] = {}
        self._messages: dict[int | str, dict[int, JsonDict]] = {}
        self._next_message_id: dict[int | str, int] = {}
        self._delivered: set[tuple[int | str, int]] = set()
        self._reply_keyboards: dict[int | str, JsonDict | None] = {}
        self._migrated: dict[int | str, int] = {}
        self._blocked: set[int] = set()
        self._files: dict[str, StoredFile] = {}
        self._photo_sets: dict[str, list[JsonDict]] = {}
        self._file_counter = 0
        self._callback_queries: dict[str, JsonDict] = {}
        self._callback_counter = 0
        self._group_sends: dict[int | str, deque[float]] = {}
        self._queue: list[JsonDict] = []
        self._next_update_id = first_update_id
        self._update_event = asyncio.Event()
        self._sent_event = asyncio.Event()
        self._chat_events: dict[Any, asyncio.Event] = {}
        self._poll_generation = 0
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._methods: dict[str, tuple[str, Handler]] = {}
        for name, handler in self._method_table().items():
            self._methods[name.lower()] = (name, handler)

    # ----------------------------------------------------------------- lifecycle

    async def start(self, port: int = 0) -> None:
        """Start serving on 127.0.0.1:``port`` (0 picks a free port)."""
        if self._runner is not None:
            raise RuntimeError("emulator already started")
        self._closing = False
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_bot)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._handle_file)
        app.router.add_post("/_user/{action}", self._handle_user)
        app.router.add_get("/_sent", self._handle_sent)
        app.router.add_get("/_messages/{chat_id}", self._handle_messages)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", port)
        await site.start()
        self._runner = runner
        address = runner.addresses[0]
        self._port = int(address[1])

    async def stop(self) -> None:
        """Stop the HTTP server and release pending long-polls."""
        self._closing = True
        self._notify_updates()
        self._notify_sent()
        if self._runner is not None:
            await self._runner.cleanup()
        self._runner = None

    async def __aenter__(self) -> BotApiEmulator:
        """Start the server for an ``async with`` block."""
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Stop the server at the end of an ``async with`` block."""
        await self.stop()

    @property
    def port(self) -> int:
        """TCP port the emulator listens on."""
        if self._port is None:
            raise RuntimeError("emulator not started")
        return self._port

    @property
    def base_url(self) -> str:
        """Value for ``ApplicationBuilder.base_url``."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """Value for ``ApplicationBuilder.base_file_url``."""
        return f"http://127.0.0.1:{self.port}/file/bot"

    def application_builder(self) -> ApplicationBuilder:
        """An ``ApplicationBuilder`` preconfigured with token and URLs of this emulator."""
        from telegram.ext import ApplicationBuilder

        return (
            ApplicationBuilder()
            .token(self.token)
            .base_url(self.base_url)
            .base_file_url(self.base_file_url)
        )

    def now(self) -> int:
        """Current emulator time as int unix seconds."""
        return int(self.clock())

    # ----------------------------------------------------------------- inspection helpers

    def mark(self) -> int:
        """Position in ``sent``; pass as ``after=`` to only wait for later calls."""
        return len(self.sent)

    def calls(self, method: str | None = None, after: int = 0) -> list[SentCall]:
        """Logged calls (optionally only ``method``, case-insensitive) from index ``after``."""
        wanted = method.lower() if method else None
        return [c for c in self.sent[after:] if wanted is None or c.method.lower() == wanted]

    def messages_to(self, chat_id: int | str) -> list[JsonDict]:
        """Current state of the bot's messages in ``chat_id`` (edits applied, deletes removed)."""
        store = self._messages.get(chat_id, {})
        return [
            copy.deepcopy(m)
            for _, m in sorted(store.items())
            if m.get("from", {}).get("id") == self.bot_id
        ]

    def last_message(self, chat_id: int | str) -> JsonDict | None:
        """The bot's newest (still existing) message in ``chat_id``."""
        msgs = self.messages_to(chat_id)
        return msgs[-1] if msgs else None

    def chat_history(self, chat_id: int | str) -> list[JsonDict]:
        """All existing messages (users' and bot's) in ``chat_id`` ordered by id."""
        return [copy.deepcopy(m) for _, m in sorted(self._messages.get(chat_id, {}).items())]

    def get_message(self, chat_id: int | str, message_id: int) -> JsonDict | None:
        """A stored message by id (copy), or None."""
        msg = self._messages.get(chat_id, {}).get(message_id)
        return copy.deepcopy(msg) if msg else None

    def reply_keyboard(self, chat_id: int | str) -> JsonDict | None:
        """Reply keyboard currently shown in ``chat_id`` (None if none/removed)."""
        return copy.deepcopy(self._reply_keyboards.get(chat_id))

    def get_file_bytes(self, file_id: str) -> bytes:
        """Raw bytes of a stored file."""
        return self._files[file_id].data

    @property
    def last_update_id(self) -> int:
        """The id of the newest update queued for the bot (first_update_id - 1 before any)."""
        return self._next_update_id - 1

    def pending_updates(self) -> int:
        """Number of queued, unconfirmed updates."""
        return len(self._queue)

    def get_commands(
        self, scope: JsonDict | None = None, language_code: str = ""
    ) -> list[JsonDict]:
        """Commands stored for exactly ``scope``/``language_code`` (like getMyCommands)."""
        return copy.deepcopy(self.commands.get(self._command_key(scope, language_code), []))

    def resolve_commands(
        self,
        chat_id: int,
        user_id: int | None = None,
        language_code: str = "",
        is_admin: bool = False,
    ) -> list[JsonDict]:
        """Commands a client would show in ``chat_id`` using Telegram's scope fallback order."""
        chat = self._chats.get(chat_id, {"type": "private" if chat_id > 0 else "group"})
        scopes: list[JsonDict] = []
        if chat["type"] == "private":
            scopes += [{"type": "chat", "chat_id": chat_id}, {"type": "all_private_chats"}]
        else:
            if user_id is not None:
                scopes.append({"type": "chat_member", "chat_id": chat_id, "user_id": user_id})
            if is_admin:
                scopes.append({"type": "chat_administrators", "chat_id": chat_id})
            scopes.append({"type": "chat", "chat_id": chat_id})
            if is_admin:
                scopes.append({"type": "all_chat_administrators"})
            scopes.append({"type": "all_group_chats"})
        scopes.append({"type": "default"})
        for scope in scopes:
            for lang in ([language_code] if language_code else []) + [""]:
                found = self.commands.get(self._command_key(scope, lang))
                if found:
                    return copy.deepcopy(found)
        return []

    async def wait_for(
        self,
        predicate: Callable[[SentCall], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 - public API mirrors Telegram naming
        after: int | None = None,
        chat_id: int | None = None,
    ) -> SentCall:
        """Wait until a logged call (from index ``after``, default 0) matches ``predicate``.

        With ``chat_id`` the waiter wakes only for calls into that chat (answers to callback
        queries count for the chat of the pressed message), which keeps many concurrent
        waiters cheap.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        index = after or 0
        while True:
            while index < len(self.sent):
                call = self.sent[index]
                index += 1
                if predicate(call):
                    return call
            remaining = deadline - loop.time()
            if remaining <= 0 or self._closing:
                recent = "\n  ".join(c.summary() for c in self.sent[-10:]) or "(none)"
                raise TimeoutError(
                    f"no matching bot call within {timeout}s; last calls:\n  {recent}"
                )
            if chat_id is None:
                event = self._sent_event
            else:
                event = self._chat_events.setdefault(chat_id, asyncio.Event())
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                pass

    async def wait_for_message(
        self,
        chat_id: int | str,
        text_contains: str | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - public API mirrors Telegram naming
        after: int | None = None,
        include_edits: bool = True,
    ) -> JsonDict:
        """Wait for a bot message (send or edit) in ``chat_id`` whose text/caption contains text."""

        def matches(call: SentCall) -> bool:
            if not call.ok or call.method not in MESSAGE_METHODS:
                return False
            if not include_edits and call.method not in _SEND_METHODS:
                return False
            result = call.result
            if not isinstance(result, dict) or result.get("chat", {}).get("id") != chat_id:
                return False
            if text_contains is None:
                return True
            return text_contains in (result.get("text") or result.get("caption") or "")

        call = await self.wait_for(matches, timeout=timeout, after=after)
        return copy.deepcopy(call.result)

    # ----------------------------------------------------------------- users and chats

    def user(
        self,
        user_id: int,
        first_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "zh-hans",
        last_name: str | None = None,
    ) -> JsonDict:
        """Register (or update and return) a Telegram user; also creates the private chat."""
        existing = self._users.get(user_id)
        if existing is not None and first_name is None and username is None:
            return copy.deepcopy(existing)
        data: JsonDict = {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name or (existing or {}).get("first_name") or f"User{user_id}",
        }
        if last_name:
            data["last_name"] = last_name
        if username:
            data["username"] = username
        if language_code:
            data["language_code"] = language_code
        self._users[user_id] = data
        chat: JsonDict = {"id": user_id, "type": "private", "first_name": data["first_name"]}
        for key in ("last_name", "username"):
            if key in data:
                chat[key] = data[key]
        self._chats[user_id] = chat
        return copy.deepcopy(data)

    def group(self, chat_id: int, title: str, kind: str = "group") -> JsonDict:
        """Register a group (``kind`` "group" or "supergroup") with negative ``chat_id``."""
        if chat_id >= 0:
            raise ValueError("group chat ids must be negative")
        if kind not in ("group", "supergroup"):
            raise ValueError("kind must be 'group' or 'supergroup'")
        chat = {"id": chat_id, "type": kind, "title": title}
        self._chats[chat_id] = chat
        return copy.deepcopy(chat)

    def block(self, user_id: int) -> JsonDict:
        """User blocks the bot: posts my_chat_member; later sends get 403 Forbidden."""
        self._blocked.add(user_id)
        return self._my_chat_member(user_id, "member", "kicked")

    def unblock(self, user_id: int) -> JsonDict:
        """User unblocks the bot (my_chat_member kicked -> member)."""
        self._blocked.discard(user_id)
        return self._my_chat_member(user_id, "kicked", "member")

    def migrate_group_to_supergroup(self, group_chat_id: int, by_user_id: int | None = None) -> int:
        """Upgrade a basic group; posts migrate_to/migrate_from service messages; returns new id."""
        chat = self._chats.get(group_chat_id)
        if chat is None or chat["type"] != "group":
            raise ValueError(f"{group_chat_id} is not a registered basic group")
        new_id = -(10**12 + abs(group_chat_id))
        while new_id in self._chats:
            new_id -= 1
        new_chat = {"id": new_id, "type": "supergroup", "title": chat["title"]}
        self._chats[new_id] = new_chat
        self._migrated[group_chat_id] = new_id
        if by_user_id is not None:
            actor = self._ensure_user(by_user_id)
        else:
            actor = copy.deepcopy(_TELEGRAM_SERVICE_USER)
            for msg in reversed(list(self._messages.get(group_chat_id, {}).values())):
                if msg.get("from", {}).get("id") != self.bot_id:
                    actor = copy.deepcopy(msg["from"])
                    break
        old_msg = self._store_message(group_chat_id, actor, {"migrate_to_chat_id": new_id})
        self._delivered.add((group_chat_id, old_msg["message_id"]))
        self._enqueue("message", old_msg)
        new_msg = self._store_message(new_id, actor, {"migrate_from_chat_id": group_chat_id})
        self._delivered.add((new_id, new_msg["message_id"]))
        self._enqueue("message", new_msg)
        return new_id

    # ----------------------------------------------------------------- user actions

    def send_text(
        self,
        user_id: int,
        text: str,
        chat_id: int | None = None,
        reply_to_message_id: int | None = None,
    ) -> JsonDict | None:
        """User sends ``text``; returns the update, or None if privacy mode hid it from the bot."""
        content: JsonDict = {"text": text}
        entities = auto_entities(text)
        if entities:
            content["entities"] = entities
        return self._user_message(user_id, chat_id, content, reply_to_message_id)

    def send_location(
        self,
        user_id: int,
        lat: float,
        lon: float,
        chat_id: int | None = None,
        horizontal_accuracy: float | None = None,
        live_period: int | None = None,
        forwarded_from_user_id: int | None = None,
        reply_to_message_id: int | None = None,
    ) -> JsonDict | None:
        """User sends a (live, if ``live_period``) location, optionally forwarded from someone."""
        location: JsonDict = {"latitude": lat, "longitude": lon}
        if horizontal_accuracy is not None:
            location["horizontal_accuracy"] = horizontal_accuracy
        if live_period is not None:
            location["live_period"] = live_period
        content: JsonDict = {"location": location}
        if forwarded_from_user_id is not None:
            origin_user = self._ensure_user(forwarded_from_user_id)
            date = self.now()
            content["forward_origin"] = {"type": "user", "sender_user": origin_user, "date": date}
            content["forward_from"] = copy.deepcopy(origin_user)
            content["forward_date"] = date
        return self._user_message(user_id, chat_id, content, reply_to_message_id)

    def edit_live_location(
        self,
        user_id: int,
        chat_id: int,
        message_id: int,
        lat: float,
        lon: float,
        horizontal_accuracy: float | None = None,
    ) -> JsonDict | None:
        """Live location moves: posts an ``edited_message`` update (None if not delivered)."""
        msg = self._messages.get(chat_id, {}).get(message_id)
        if msg is None or msg.get("from", {}).get("id") != user_id or "location" not in msg:
            raise ValueError(f"no location message {message_id} from user {user_id} in {chat_id}")
        if "live_period" not in msg["location"]:
            raise ValueError(f"message {message_id} is not a live location")
        location: JsonDict = {"latitude": lat, "longitude": lon}
        if horizontal_accuracy is not None:
            location["horizontal_accuracy"] = horizontal_accuracy
        location["live_period"] = msg["location"]["live_period"]
        msg["location"] = location
        msg["edit_date"] = self.now()
        if (chat_id, message_id) not in self._delivered:
            return None
        return self._enqueue("edited_message", copy.deepcopy(msg))

    def send_venue(
        self,
        user_id: int,
        lat: float,
        lon: float,
        title: str,
        address: str,
        chat_id: int | None = None,
        reply_to_message_id: int | None = None,
    ) -> JsonDict | None:
        """User sends a venue (message carries both ``venue`` and ``location``)."""
        location = {"latitude": lat, "longitude": lon}
        venue = {"location": dict(location), "title": title, "address": address}
        content = {"venue": venue, "location": location}
        return self._user_message(user_id, chat_id, content, reply_to_message_id)

    def send_photo(
        self,
        user_id: int,
        data: bytes,
        chat_id: int | None = None,
        caption: str | None = None,
        reply_to_message_id: int | None = None,
    ) -> JsonDict | None:
        """User sends a photo (two PhotoSize entries, largest last; downloadable via getFile)."""
        content: JsonDict = {"photo": self._store_photo(data)}
        if caption:
            content["caption"] = caption
            entities = auto_entities(caption)
            if entities:
                content["caption_entities"] = entities
        return self._user_message(user_id, chat_id, content, reply_to_message_id)

    def send_contact(
        self,
        user_id: int,
        phone_number: str,
        first_name: str,
        chat_id: int | None = None,
        last_name: str | None = None,
        contact_user_id: int | None = None,
        reply_to_message_id: int | None = None,
    ) -> JsonDict | None:
        """User shares a contact (pass ``contact_user_id=user_id`` for their own number)."""
        contact: JsonDict = {"phone_number": phone_number, "first_name": first_name}
        if last_name:
            contact["last_name"] = last_name
        if contact_user_id is not None:
            contact["user_id"] = contact_user_id
        return self._user_message(user_id, chat_id, {"contact": contact}, reply_to_message_id)

    def press(self, user_id: int, chat_id: int, message_id: int, data: str) -> JsonDict:
        """User presses an inline button with callback ``data`` on a bot message."""
        msg = self._messages.get(chat_id, {}).get(message_id)
        if msg is None:
            raise ValueError(f"message {message_id} not found in chat {chat_id}")
        if msg.get("from", {}).get("id") != self.bot_id:
            raise ValueError(f"message {message_id} in chat {chat_id} was not sent by the bot")
        user = self._ensure_user(user_id)
        self._callback_counter += 1
        query_id = str(4_000_000_000_000_000_000 + self._callback_counter)
        query = {
            "id": query_id,
            "from": user,
            "message": copy.deepcopy(msg),
            "chat_instance": str(8_000_000_000_000_000 + abs(hash(chat_id)) % 10**15),
            "data": data,
        }
        self._callback_queries[query_id] = {"answered": False, "chat_id": chat_id}
        return self._enqueue("callback_query", query)

    def press_button(self, user_id: int, chat_id: int, text_or_data: str) -> JsonDict:
        """Press the newest bot inline button whose text or callback_data matches."""
        candidates = list(reversed(self.messages_to(chat_id)))
        for exact in (True, False):
            for msg in candidates:
                markup = msg.get("reply_markup") or {}
                for row in markup.get("inline_keyboard", []):
                    for button in row:
                        data = button.get("callback_data")
                        if data is None:
                            continue
                        text = button.get("text", "")
                        hit = (
                            text_or_data in (text, data)
                            if exact
                            else text_or_data.lower() in text.lower()
                        )
                        if hit:
                            return self.press(user_id, chat_id, msg["message_id"], data)
        available = [
            (b.get("text"), b.get("callback_data"))
            for msg in candidates
            for row in (msg.get("reply_markup") or {}).get("inline_keyboard", [])
            for b in row
        ]
        raise LookupError(f"no inline button matching {text_or_data!r}; available: {available}")

    def press_inline(self, user_id: int, inline_message_id: str, data: str) -> JsonDict:
        """User presses a button on an inline-mode message: the query has no ``message``."""
        user = self._ensure_user(user_id)
        self._callback_counter += 1
        query_id = str(4_000_000_000_000_000_000 + self._callback_counter)
        query = {
            "id": query_id,
            "from": user,
            "inline_message_id": inline_message_id,
            "chat_instance": str(9_000_000_000_000_000 + self._callback_counter),
            "data": data,
        }
        self._callback_queries[query_id] = {"answered": False, "chat_id": None}
        return self._enqueue("callback_query", query)

    def send_raw(self, kind: str, payload: JsonDict) -> JsonDict:
        """Queue an update of ``kind`` with ``payload`` exactly as given (no checks, no storage).

        For shapes the emulator does not build itself: an older Bot API server's fields, an
        inline-mode button press without ``message``, and the like.
        """
        return self._enqueue(kind, payload)

    # ----------------------------------------------------------------- internals: storage

    def _ensure_user(self, user_id: int) -> JsonDict:
        """Return the user dict, registering a default user if unknown."""
        if user_id not in self._users:
            self.user(user_id, f"User{user_id}")
        return copy.deepcopy(self._users[user_id])

    def _my_chat_member(self, user_id: int, old: str, new: str) -> JsonDict:
        """Enqueue a my_chat_member update for the private chat with ``user_id``."""
        user = self._ensure_user(user_id)
        new_member: JsonDict = {"status": new, "user": copy.deepcopy(self.bot_user)}
        if new == "kicked":
            new_member["until_date"] = 0
        payload = {
            "chat": copy.deepcopy(self._chats[user_id]),
            "from": user,
            "date": self.now(),
            "old_chat_member": {"status": old, "user": copy.deepcopy(self.bot_user)},
            "new_chat_member": new_member,
        }
        return self._enqueue("my_chat_member", payload)

    def _store_message(self, chat_id: int | str, sender: JsonDict, content: JsonDict) -> JsonDict:
        """Create and store a message in ``chat_id`` with the next per-chat id."""
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        msg: JsonDict = {
            "message_id": message_id,
            "from": copy.deepcopy(sender),
            "chat": copy.deepcopy(self._chats[chat_id]),
            "date": self.now(),
        }
        msg.update(copy.deepcopy(content))
        self._messages.setdefault(chat_id, {})[message_id] = msg
        return msg

    def _enqueue(self, kind: str, payload: JsonDict) -> JsonDict:
        """Queue an update for getUpdates and return a copy of it."""
        update = {"update_id": self._next_update_id, kind: copy.deepcopy(payload)}
        self._next_update_id += 1
        self._queue.append(update)
        self._notify_updates()
        return copy.deepcopy(update)

    def _notify_updates(self) -> None:
        """Wake up long-polling getUpdates calls."""
        self._update_event.set()
        self._update_event = asyncio.Event()

    def _notify_sent(self) -> None:
        """Wake up ``wait_for`` callers."""
        self._sent_event.set()
        self._sent_event = asyncio.Event()

    def _privacy_allows(self, chat: JsonDict, msg: JsonDict) -> bool:
        """Whether a group message is delivered to a bot with privacy mode enabled."""
        if chat["type"] == "private" or not self.privacy_mode:
            return True
        reply = msg.get("reply_to_message")
        if reply and reply.get("from", {}).get("id") == self.bot_id:
            return True
        text = msg.get("text") or msg.get("caption") or ""
        me = self.bot_username.lower()
        match = _COMMAND_RE.match(text)
        if match:
            target = match.group(2)
            if target is None or target.lower() == me:
                return True
        return any(m.group(1).lower() == me for m in _MENTION_RE.finditer(text))

    def _user_message(
        self,
        user_id: int,
        chat_id: int | None,
        content: JsonDict,
        reply_to_message_id: int | None,
    ) -> JsonDict | None:
        """Store a message from a user and queue it if the bot may see it."""
        user = self._ensure_user(user_id)
        target_chat = user_id if chat_id is None else chat_id
        if target_chat in self._migrated:
            raise ValueError(
                f"chat {target_chat} was migrated to {self._migrated[target_chat]}; use the new id"
            )
        chat = self._chats.get(target_chat)
        if chat is None:
            raise KeyError(f"unknown chat {target_chat}; register it with emu.group() first")
        if chat["type"] == "private" and target_chat != user_id:
            raise ValueError("users can only write to their own private chat with the bot")
        if reply_to_message_id is not None:
            target = self._messages.get(target_chat, {}).get(reply_to_message_id)
            if target is None:
                raise ValueError(f"message {reply_to_message_id} not found in chat {target_chat}")
            content = {**content, "reply_to_message": _strip_reply(target)}
        msg = self._store_message(target_chat, user, content)
        if not self._privacy_allows(chat, msg):
            return None
        self._delivered.add((target_chat, msg["message_id"]))
        return self._enqueue("message", msg)

    def _next_file_ids(self, prefix: str) -> tuple[str, str, int]:
        """Allocate a (file_id, file_unique_id, number) triple."""
        self._file_counter += 1
        n = self._file_counter
        return f"{prefix}AAxkBAAI{n:08d}", f"AQAD{n:08d}", n

    def _store_photo(self, data: bytes) -> list[JsonDict]:
        """Store photo bytes; return two PhotoSize dicts (thumbnail first, largest last)."""
        size = image_size(data) or (1280, 960)
        sizes: list[JsonDict] = []
        for max_side in (90, 1280):
            file_id, unique_id, n = self._next_file_ids("AgACAgIAA")
            width, height = _scaled(size, max_side)
            path = f"photos/file_{n}.jpg"
            self._files[file_id] = StoredFile(file_id, unique_id, data, path, "image/jpeg")
            sizes.append(
                {
                    "file_id": file_id,
                    "file_unique_id": unique_id,
                    "file_size": len(data),
                    "width": width,
                    "height": height,
                }
            )
        for entry in sizes:
            self._photo_sets[entry["file_id"]] = copy.deepcopy(sizes)
        return sizes

    def _store_document(self, upload: UploadedFile) -> JsonDict:
        """Store an uploaded document and return its Document dict."""
        file_name = upload.filename or "file"
        mime = upload.content_type or mimetypes.guess_type(file_name)[0]
        if mime is None or mime == "application/octet-stream":
            mime = mimetypes.guess_type(file_name)[0] or "application/octet-stream"
        file_id, unique_id, n = self._next_file_ids("BQACAgIAA")
        suffix = ("." + file_name.rsplit(".", 1)[1]) if "." in file_name else ""
        path = f"documents/file_{n}{suffix}"
        self._files[file_id] = StoredFile(
            file_id, unique_id, upload.data, path, mime, file_name=file_name
        )
        return {
            "file_id": file_id,
            "file_unique_id": unique_id,
            "file_name": file_name,
            "mime_type": mime,
            "file_size": len(upload.data),
        }

    # ----------------------------------------------------------------- internals: HTTP

    def _record(self, call: SentCall) -> None:
        """Append a call to the log and wake waiters."""
        self.sent.append(call)
        self._notify_sent()
        chat = call.params.get("chat_id")
        if call.method == "answerCallbackQuery":
            chat = self._callback_queries.get(str(call.params.get("callback_query_id")), {}).get(
                "chat_id"
            )
        if isinstance(chat, str) and chat.lstrip("-").isdigit():
            chat = int(chat)
        event = self._chat_events.pop(chat, None)
        if event is not None:
            event.set()

    async def _read_params(self, request: web.Request) -> tuple[JsonDict, dict[str, UploadedFile]]:
        """Decode query string, JSON, urlencoded or multipart parameters."""
        params: JsonDict = {k: _decode_param(k, v) for k, v in request.query.items()}
        files: dict[str, UploadedFile] = {}
        if not request.can_read_body:
            return params, files
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                for key, value in body.items():
                    if key in _JSON_PARAMS and isinstance(value, str):
                        value = _decode_param(key, value)
                    params[key] = value
            return params, files
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                data = value.file.read()
                files[key] = UploadedFile(value.filename, value.content_type, data)
                params[key] = {"upload": value.filename, "size": len(data)}
            else:
                text = value.decode("utf-8") if isinstance(value, bytes | bytearray) else value
                params[key] = _decode_param(key, text)
        return params, files

    async def _handle_bot(self, request: web.Request) -> web.Response:
        """Dispatch ``/bot{token}/{method}``."""
        if request.match_info["token"] != self.token:
            body = {"ok": False, "error_code": 401, "description": "Unauthorized"}
            return web.json_response(body, status=401)
        entry = self._methods.get(request.match_info["method"].lower())
        if entry is None:
            description = f"Not Found: method {request.match_info['method']} is not emulated"
            body = {"ok": False, "error_code": 404, "description": description}
            return web.json_response(body, status=404)
        name, handler = entry
        try:
            params, files = await self._read_params(request)
        except (ValueError, UnicodeDecodeError) as exc:
            err = _bad_request(f"can't parse request: {exc}")
            return web.json_response(err.payload(), status=err.code)
        try:
            result = await handler(params, files)
        except ApiError as exc:
            self._record(SentCall(name, params, None, self.clock(), exc.payload()))
            return web.json_response(exc.payload(), status=exc.code)
        self._record(SentCall(name, params, copy.deepcopy(result), self.clock()))
        return web.json_response({"ok": True, "result": result})

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        """Serve ``/file/bot{token}/{file_path}``."""
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401}, status=401)
        path = request.match_info["file_path"]
        for stored in self._files.values():
            if stored.file_path == path:
                content_type = stored.mime_type or "application/octet-stream"
                return web.Response(body=stored.data, content_type=content_type)
        return web.json_response({"ok": False, "error_code": 404}, status=404)

    async def _handle_user(self, request: web.Request) -> web.Response:
        """Thin HTTP wrapper over the user-side Python API: POST /_user/{action}."""
        actions: dict[str, Callable[..., Any]] = {
            "user": self.user,
            "group": self.group,
            "text": self.send_text,
            "press": self.press,
            "press_button": self.press_button,
            "location": self.send_location,
            "edit_location": self.edit_live_location,
            "venue": self.send_venue,
            "photo": self.send_photo,
            "contact": self.send_contact,
            "block": self.block,
            "unblock": self.unblock,
            "migrate": self.migrate_group_to_supergroup,
        }
        action = actions.get(request.match_info["action"])
        if action is None:
            return web.json_response({"ok": False, "description": "unknown action"}, status=404)
        try:
            body = await request.json() if request.can_read_body else {}
            if request.match_info["action"] == "photo":
                body["data"] = base64.b64decode(body["data"])
            result = action(**body)
        except (TypeError, ValueError, KeyError, LookupError) as exc:
            return web.json_response({"ok": False, "description": str(exc)}, status=400)
        return web.json_response({"ok": True, "result": result})

    async def _handle_sent(self, request: web.Request) -> web.Response:
        """GET /_sent: the call log as JSON."""
        calls = [
            {
                "method": c.method,
                "params": c.params,
                "result": c.result,
                "at": c.at,
                "error": c.error,
            }
            for c in self.sent
        ]
        return web.json_response(calls)

    async def _handle_messages(self, request: web.Request) -> web.Response:
        """GET /_messages/{chat_id}: full chat history as JSON."""
        raw = request.match_info["chat_id"]
        chat_id: int | str = int(raw) if re.fullmatch(r"-?\d+", raw) else raw
        return web.json_response(self.chat_history(chat_id))

    # ----------------------------------------------------------------- internals: API helpers

    def _method_table(self) -> dict[str, Handler]:
        """Map canonical Bot API method names to handlers."""
        return {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "deleteWebhook": self._ok,
            "setWebhook": self._ok,
            "getWebhookInfo": self._get_webhook_info,
            "logOut": self._ok,
            "close": self._ok,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setMyDescription": self._ok,
            "setMyShortDescription": self._ok,
            "setMyName": self._ok,
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "deleteMessages": self._delete_messages,
            "answerCallbackQuery": self._answer_callback_query,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "sendLocation": self._send_location,
            "sendVenue": self._send_venue,
            "sendContact": self._send_contact,
            "sendChatAction": self._send_chat_action,
            "getFile": self._get_file,
            "getChat": self._get_chat,
        }

    @staticmethod
    def _require(params: JsonDict, *names: str) -> None:
        """Raise 400 if a required parameter is missing."""
        for name in names:
            if params.get(name) in (None, ""):
                raise _bad_request(f"{name} is empty" if name == "text" else f"{name} is required")

    def _command_key(
        self, scope: JsonDict | None, language_code: str | None
    ) -> tuple[str, int | str | None, int | None, str]:
        """Normalize a BotCommandScope + language into a ``commands`` dict key."""
        scope = scope or {"type": "default"}
        chat_id = scope.get("chat_id")
        if isinstance(chat_id, str) and re.fullmatch(r"-?\d+", chat_id):
            chat_id = int(chat_id)
        user_id = scope.get("user_id")
        return (scope.get("type", "default"), chat_id, user_id, language_code or "")

    def _chat_for(self, chat_id: Any, sending: bool = True) -> JsonDict:
        """Resolve ``chat_id`` to a known chat or raise the Telegram error."""
        if isinstance(chat_id, str) and re.fullmatch(r"-?\d+", chat_id):
            chat_id = int(chat_id)
        if chat_id in (None, ""):
            raise _bad_request("chat_id is empty")
        if chat_id in self._migrated:
            raise _bad_request(
                "group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self._migrated[chat_id]},
            )
        chat = self._chats.get(chat_id)
        if chat is None:
            raise _bad_request("chat not found")
        if sending and chat["type"] == "private" and chat_id in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _check_rate(self, chat: JsonDict) -> None:
        """Enforce the group limit (rolling window) when enabled, and in strict mode the
        overall limit; a refusal is a 429 with retry_after."""
        now = self.clock()
        if self.strict_limits:
            overall = self._overall_sends
            while overall and overall[0] <= now - 1:
                overall.popleft()
            if len(overall) >= self.overall_per_second:
                self._too_many(overall[0] + 1 - now)
        if not self.enforce_group_limit or chat["type"] == "private":
            return
        window = self._group_sends.setdefault(chat["id"], deque())
        while window and window[0] <= now - self.group_window_s:
            window.popleft()
        if len(window) >= self.group_limit:
            self._too_many(window[0] + self.group_window_s - now)

    @staticmethod
    def _too_many(wait: float) -> None:
        retry_after = max(1, math.ceil(wait))
        raise ApiError(
            429,
            f"Too Many Requests: retry after {retry_after}",
            {"retry_after": retry_after},
        )

    def _count_send(self, chat: JsonDict) -> None:
        """Remember a successful send (or, in strict mode, an edit) for the rate limits."""
        if self.strict_limits:
            self._overall_sends.append(self.clock())
        if chat["type"] != "private":
            self._group_sends.setdefault(chat["id"], deque()).append(self.clock())

    def _format(
        self, text: Any, parse_mode: Any, entities: Any, *, caption: bool = False
    ) -> tuple[str, list[JsonDict]]:
        """Parse text/caption with ``parse_mode``; raise Telegram-like errors."""
        try:
            plain, ents = format_text(str(text), parse_mode, entities)
        except EntityParseError as exc:
            raise _bad_request(f"can't parse entities: {exc}") from None
        limit = MAX_CAPTION_LENGTH if caption else MAX_TEXT_LENGTH
        if utf16_len(plain) > limit:
            raise _bad_request("message caption is too long" if caption else "message is too long")
        if not caption and not plain.strip():
            raise _bad_request("message text is empty")
        return plain, ents

    def _inline_markup(self, markup: Any) -> JsonDict | None:
        """Validate and return an inline keyboard markup (other markups return None)."""
        if not isinstance(markup, dict) or "inline_keyboard" not in markup:
            return None
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise _bad_request(
                'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array'
            )
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not button.get("text"):
                    raise _bad_request("can't parse inline keyboard button: Text must be non-empty")
                actions = [k for k in _INLINE_BUTTON_ACTIONS if k in button]
                if not actions:
                    raise _bad_request(
                        "can't parse inline keyboard button: "
                        "Text buttons are unallowed in the inline keyboard"
                    )
                if "callback_data" in button:
                    size = len(str(button["callback_data"]).encode("utf-8"))
                    if size == 0 or size > CALLBACK_DATA_MAX_BYTES:
                        raise _bad_request("BUTTON_DATA_INVALID")
        return copy.deepcopy(markup)

    def _reply_to(self, chat: JsonDict, params: JsonDict) -> JsonDict | None:
        """Resolve reply_parameters / reply_to_message_id into the replied message."""
        reply = params.get("reply_parameters")
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            allow_missing = bool(reply.get("allow_sending_without_reply"))
        else:
            message_id = params.get("reply_to_message_id")
            allow_missing = bool(params.get("allow_sending_without_reply"))
        if message_id is None:
            return None
        target = self._messages.get(chat["id"], {}).get(int(message_id))
        if target is None:
            if allow_missing:
                return None
            raise _bad_request("message to be replied not found")
        return _strip_reply(target)

    def _bot_send(self, chat: JsonDict, params: JsonDict, content: JsonDict) -> JsonDict:
        """Create a bot message in ``chat`` applying reply, markup and rate limiting."""
        self._check_rate(chat)
        markup = params.get("reply_markup")
        inline = self._inline_markup(markup)
        replied = self._reply_to(chat, params)
        if replied is not None:
            content["reply_to_message"] = replied
        if inline is not None:
            content["reply_markup"] = inline
        if isinstance(markup, dict):
            if "keyboard" in markup:
                self._reply_keyboards[chat["id"]] = copy.deepcopy(markup)
            elif markup.get("remove_keyboard"):
                self._reply_keyboards[chat["id"]] = None
        msg = self._store_message(chat["id"], self.bot_user, content)
        self._count_send(chat)
        return copy.deepcopy(msg)

    def _caption_content(self, params: JsonDict, content: JsonDict) -> JsonDict:
        """Add caption / caption_entities from params to ``content``."""
        if params.get("caption"):
            plain, ents = self._format(
                params["caption"],
                params.get("parse_mode"),
                params.get("caption_entities"),
                caption=True,
            )
            if plain:
                content["caption"] = plain
            if ents:
                content["caption_entities"] = ents
        return content

    def _editable(self, params: JsonDict) -> JsonDict:
        """Find the bot message targeted by an edit call."""
        if params.get("inline_message_id"):
            raise _bad_request("inline messages are not supported by the emulator")
        chat = self._chat_for(params.get("chat_id"), sending=False)
        self._require(params, "message_id")
        msg = self._messages.get(chat["id"], {}).get(int(params["message_id"]))
        if msg is None:
            raise _bad_request("message to edit not found")
        if msg.get("from", {}).get("id") != self.bot_id:
            raise _bad_request("message can't be edited")
        if self.strict_limits:  # an edit costs as much as a message
            self._check_rate(chat)
            self._count_send(chat)
        return msg

    @staticmethod
    def _not_modified() -> ApiError:
        """The Telegram 'message is not modified' error."""
        return _bad_request(
            "message is not modified: specified new message content and reply markup are "
            "exactly the same as a current content and reply markup of the message"
        )

    def _resolve_file(
        self, kind: str, value: Any, upload: UploadedFile | None
    ) -> StoredFile | None:
        """Resolve a file parameter given as an existing file_id (None when uploaded)."""
        if upload is not None:
            return None
        if not isinstance(value, str) or not value:
            raise _bad_request(f"there is no {kind} in the request")
        stored = self._files.get(value)
        if stored is None:
            raise _bad_request("wrong file identifier/HTTP URL specified")
        return stored

    @staticmethod
    def _location_from(params: JsonDict) -> JsonDict:
        """Build a Location dict from latitude/longitude-style params."""
        location: JsonDict = {
            "latitude": float(params["latitude"]),
            "longitude": float(params["longitude"]),
        }
        for key in ("horizontal_accuracy", "live_period", "heading", "proximity_alert_radius"):
            if params.get(key) is not None:
                location[key] = params[key]
        return location

    # ----------------------------------------------------------------- Bot API methods

    async def _ok(self, params: JsonDict, files: dict[str, UploadedFile]) -> bool:
        """Methods that just succeed."""
        return True

    async def _get_me(self, params: JsonDict, files: dict[str, UploadedFile]) -> JsonDict:
        """getMe."""
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_webhook_info(self, params: JsonDict, files: dict[str, UploadedFile]) -> JsonDict:
        """getWebhookInfo (polling mode: empty url)."""
        return {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._queue),
        }

    def _confirm(self, offset: int) -> None:
        """Drop updates confirmed by ``offset`` (negative: keep only the last -offset)."""
        if offset < 0:
            keep = self._queue[offset:]
            dropped = self._queue[: len(self._queue) - len(keep)]
            self._queue = keep
        else:
            dropped = [u for u in self._queue if u["update_id"] < offset]
            self._queue = [u for u in self._queue if u["update_id"] >= offset]
        if dropped:
            self.updates_confirmed_upto = max(
                self.updates_confirmed_upto, max(u["update_id"] for u in dropped)
            )

    async def _get_updates(self, params: JsonDict, files: dict[str, UploadedFile]) -> list[Any]:
        """getUpdates with Telegram offset/limit/timeout (long-poll) semantics."""
        offset = int(params.get("offset") or 0)
        limit = min(100, max(1, int(params.get("limit") or 100)))
        timeout = max(0.0, float(params.get("timeout") or 0))
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify_updates()
        self._confirm(offset)
        min_id = max(offset, 0)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            ready = [u for u in self._queue if u["update_id"] >= min_id][:limit]
            remaining = deadline - loop.time()
            if ready or remaining <= 0 or self._closing:
                return copy.deepcopy(ready)
            event = self._update_event
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                pass

    async def _set_my_commands(self, params: JsonDict, files: dict[str, UploadedFile]) -> bool:
        """setMyCommands (stored per scope + language_code)."""
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad_request('field "commands" must be an Array')
        if len(commands) > 100:
            raise _bad_request("too many commands")
        for cmd in commands:
            if not isinstance(cmd, dict) or not _BOT_COMMAND_NAME_RE.match(str(cmd.get("command"))):
                raise _bad_request("BOT_COMMAND_INVALID")
            description = str(cmd.get("description") or "").strip()
            if not description or len(description) > 256:
                raise _bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._command_key(params.get("scope"), params.get("language_code"))
        if commands:
            self.commands[key] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
        else:
            self.commands.pop(key, None)
        return True

    async def _get_my_commands(self, params: JsonDict, files: dict[str, UploadedFile]) -> list[Any]:
        """getMyCommands (exact scope + language match, no fallback)."""
        return self.get_commands(params.get("scope"), params.get("language_code") or "")

    async def _delete_my_commands(self, params: JsonDict, files: dict[str, UploadedFile]) -> bool:
        """deleteMyCommands."""
        self.commands.pop(self._command_key(params.get("scope"), params.get("language_code")), None)
        return True

    async def _set_chat_menu_button(self, params: JsonDict, files: dict[str, UploadedFile]) -> bool:
        """setChatMenuButton (stored per chat_id; None = default)."""
        button = params.get("menu_button") or {"type": "default"}
        self.menu_buttons[params.get("chat_id")] = button
        return True

    async def _get_chat_menu_button(
        self, params: JsonDict, files: dict[str, UploadedFile]
    ) -> JsonDict:
        """getChatMenuButton."""
        chat_id = params.get("chat_id")
        return self.menu_buttons.get(chat_id) or self.menu_buttons.get(None) or {"type": "commands"}

    async def _send_message(self, params: JsonDict, files: dict[str, UploadedFile]) -> JsonDict:
        """sendMessage."""
        chat = self._chat_for(params.get("chat_id"))
        self._require(params, "text")
        text, entities = self._format(
            params["text"], params.get("parse_mode"), params.get("entities")
        )
        content: JsonDict = {"text": text}
        if entities:
            content["entities"] = entities
        return self._bot_send(chat, params, content)

    async def _edit_message_text(
        self, params: JsonDict, files: dict[str, UploadedFile]
    ) -> JsonDict:
        """editMessageText (no reply_markup removes the inline keyboard, like Telegram)."""
        msg = self._editable(params)
        self._require(params, "text")
        if "text" not in msg:
            raise _bad_request("there is no text in the message to edit")
        text, entities = self._format(
            params["text"], params.get("parse_mode"), params.get("entities")
        )
        markup = self._inline_markup(params.get("reply_markup"))
        current = (msg.get("text"), msg.get("entities") or [], msg.get("reply_markup"))
        if current == (text, entities, markup):
            raise self._not_modified()
        msg["text"] = text
        self._set_or_pop(msg, "entities", entities or None)
        self._set_or_pop(msg, "reply_markup", markup)
        msg["edit_date"] = self.now()
        return copy.deepcopy(msg)

    async def _edit_message_caption(
        self, params: JsonDict, files: dict[str, UploadedFile]
    ) -> JsonDict:
        """editMessageCaption."""
        msg = self._editable(params)
        if not any(k in msg for k in ("photo", "document", "video", "audio", "animation")):
            raise _bad_request("there is no caption in the message to edit")
        new = self._caption_content(params, {})
        markup = self._inline_markup(params.get("reply_markup"))
        current = (msg.get("caption"), msg.get("caption_entities"), msg.get("reply_markup"))
        if current == (new.get("caption"), new.get("caption_entities"), markup):
            raise self._not_modified()
        self._set_or_pop(msg, "caption", new.get("caption"))
        self._set_or_pop(msg, "caption_entities", new.get("caption_entities"))
        self._set_or_pop(msg, "reply_markup", markup)
        msg["edit_date"] = self.now()
        return copy.deepcopy(msg)

    async def _edit_message_reply_markup(
        self, params: JsonDict, files: dict[str, UploadedFile]
    ) -> JsonDict:
        """editMessageReplyMarkup."""
        msg = self._editable(params)
        markup = self._inline_markup(params.get("reply_markup"))
        if msg.get("reply_markup") == markup:
            raise self._not_modified()
        self._set_or_pop(msg, "reply_markup", markup)
        msg["edit_date"] = self.now()
        return copy.deepcopy(msg)

    @staticmethod
    def _set_or_pop(msg: JsonDict, key: str, value: Any) -> None:
        """Set ``msg[key]`` or remove it when ``value`` is falsy."""
        if value:
            msg[key] = value
        else:
            msg.pop(key, None)

    async def _delete_message(self, params: JsonDict, files: dict[str, UploadedFile]) -> bool:
        """deleteMessage."""
        chat = self._chat_for(params.get("chat_id"), sending=False)
        self._require(params, "message_id")
        store = self._messages.get(chat["id"], {})
        if store.pop(int(params["message_id"]), None) is None:
            raise _bad_request("message to delete not found")
        return True

    async def _delete_messages(self, params: JsonDict, files: dict[str, UploadedFile]) -> bool:
        """deleteMessages (missing ones are skipped)."""
        chat = self._chat_for(params.get("chat_id"), sending=False)
        store = self._messages.get(chat["id"], {})
        for message_id in params.get("message_ids") or []:
            store.pop(int(message_id), None)
        return True

    async def _answer_callback_query(
        self, params: JsonDict, files: dict[str, UploadedFile]
    ) -> bool:
        """answerCallbackQuery (each query may be answered once)."""
        query_id = str(params.get("callback_query_id") or "")
        query = self._callback_queries.get(query_id)
        if query is None or query["answered"]:
            raise _bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        query["answered"] = True
        self.callback_answers[query_id] = dict(params)
        return True

    async def _send_photo(self, params: JsonDict, files: dict[str, UploadedFile]) -> JsonDict:
        """sendPhoto (multipart upload or existing file_id)."""
        chat = self._chat_for(params.get("chat_id"))
        upload = files.get("photo")
        stored = self._resolve_file("photo", params.get("photo"), upload)
        if upload is not None:
            sizes = self._store_photo(upload.data)
        else:
            assert stored is not None
            sizes = copy.deepcopy(self._photo_sets.get(stored.file_id) or [])
            if not sizes:
                size = image_size(stored.data) or (1280, 960)
                sizes = [
                    {
                        "file_id": stored.file_id,
                        "file_unique_id": stored.file_unique_id,
                        "file_size": len(stored.data),
                        "width": size[0],
                        "height": size[1],
                    }
                ]
        content = self._caption_content(params, {"photo": sizes})
        return self._bot_send(chat, params, content)

    async def _send_document(self, params: JsonDict, files: dict[str, UploadedFile]) -> JsonDict:
        """sendDocument (multipart upload or existing file_id)."""
        chat = self._chat_for(params.get("chat_id"))
        upload = files.get("document")
        stored = self._resolve_file("document", params.get("document"), upload)
        if upload is not None:
            document = self._store_document(upload)
        else:
            assert stored is not None
            document = {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_name": stored.file_name or stored.file_path.rsplit("/", 1)[-1],
                "mime_type": stored.mime_type or "application/octet-stream",
                "file_size": len(stored.data),
            }
        content = self._caption_content(params, {"document": document})
        return self._bot_send(chat, params, content)

    async def _send_location(self, params: JsonDict, files: dict[str, UploadedFile]) -> JsonDict:
        """sendLocation."""
        chat = self._chat_for(params.get("chat_id"))
        self._require(params, "latitude", "longitude")
        return self._bot_send(chat, params, {"location": self._location_from(params)})

    async def _send_venue(self, params: JsonDict, files: dict[str, UploadedFile]) -> JsonDict:
        """sendVenue."""
        chat = self._chat_for(params.get("chat_id"))
        self._require(params, "latitude", "longitude", "title", "address")
        location = self._location_from(params)
        venue: JsonDict = {
            "location": dict(location),
            "title": params["title"],
            "address": params["address"],
        }
        for key in ("foursquare_id", "foursquare_type", "google_place_id", "google_place_type"):
            if params.get(key):
                venue[key] = params[key]
        return self._bot_send(chat, params, {"venue": venue, "location": location})

    async def _send_contact(self, params: JsonDict, files: dict[str, UploadedFile]) -> JsonDict:
        """sendContact."""
        chat = self._chat_for(params.get("chat_id"))
        self._require(params, "phone_number", "first_name")
        contact = {
            k: params[k]
            for k in ("phone_number", "first_name", "last_name", "vcard")
            if k in params
        }
        return self._bot_send(chat, params, {"contact": contact})

    async def _send_chat_action(self, params: JsonDict, files: dict[str, UploadedFile]) -> bool:
        """sendChatAction."""
        chat = self._chat_for(params.get("chat_id"))
        action = params.get("action")
        if action not in _CHAT_ACTIONS:
            raise _bad_request("wrong parameter action in request")
        self.chat_actions.append((chat["id"], str(action)))
        return True

    async def _get_file(self, params: JsonDict, files: dict[str, UploadedFile]) -> JsonDict:
        """getFile."""
        stored = self._files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise _bad_request("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    async def _get_chat(self, params: JsonDict, files: dict[str, UploadedFile]) -> JsonDict:
        """getChat (minimal ChatFullInfo)."""
        chat = self._chat_for(params.get("chat_id"), sending=False)
        return {
            **copy.deepcopy(chat),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }
