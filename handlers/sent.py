"""A message the bot sent, decoded from the Bot API's JSON only when something reads it.

Every send and edit answers with the whole message, and python-telegram-bot decodes it into
a Message with all its parts; most callers never look at it, or read only its message_id.
A pressed button's update carries the bot's message again (text and keyboard), and handlers
mostly read only its chat and id. SentMessage is a real telegram.Message (isinstance holds,
every attribute reads the same): it keeps the JSON, its message_id (and chat, when asked),
and the first read of anything else decodes the rest, exactly as Message.de_json would.
"""

from __future__ import annotations

from typing import Any

from telegram import Bot, Chat, Message, Update

# Fields Message.__init__ keeps exactly as the JSON has them: read without decoding the rest
# (the gate and the shortcuts, edit_text or reply_text, read these).
_PLAIN_FIELDS = (
    "business_connection_id",
    "is_topic_message",
    "message_thread_id",
    "migrate_from_chat_id",
    "migrate_to_chat_id",
)

# Every slot a decoded Message fills (its own and its base classes').
_MESSAGE_SLOTS = tuple(
    slot
    for cls in Message.__mro__[:-1]
    for slot in getattr(cls, "__slots__", ())
    if not slot.startswith("__")
)


class SentMessage(Message):
    """A Message whose decoding waits until an attribute other than message_id is read."""

    __slots__ = ("_sent_json",)

    def __init__(self) -> None:  # pragma: no cover - made by of() only
        raise TypeError("SentMessage is made by SentMessage.of()")

    @classmethod
    def of(cls, data: dict[str, Any], bot: Bot | None, with_chat: bool = False) -> Message:
        """The message for this JSON (decoded at once if it lacks a message id or a date, as
        an inaccessible message has; with_chat, its chat is decoded at once too)."""
        message_id = data.get("message_id")
        chat = data.get("chat")
        if type(message_id) is not int or not data.get("date") or not isinstance(chat, dict):
            return Message.de_json(data, bot)
        sent = object.__new__(cls)
        object.__setattr__(sent, "_sent_json", data)
        object.__setattr__(sent, "_bot", bot)
        object.__setattr__(sent, "message_id", message_id)
        for name in _PLAIN_FIELDS:
            object.__setattr__(sent, name, data.get(name))
        if not data.get("entities"):  # every CommandHandler looks at them
            object.__setattr__(sent, "entities", ())
        if with_chat:
            object.__setattr__(sent, "chat", Chat.de_json(chat, bot))
        return sent

    def __getattr__(self, name: str) -> Any:
        """Only reached for a slot not filled yet: decode everything, then read it."""
        data = object.__getattribute__(self, "_sent_json")
        if data is None or name.startswith("__"):
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")
        object.__setattr__(self, "_sent_json", None)
        decoded = Message.de_json(data, object.__getattribute__(self, "_bot"))
        for slot in _MESSAGE_SLOTS:
            try:
                object.__getattribute__(self, slot)
                continue  # filled at once (message_id, chat): keep the same object
            except AttributeError:
                pass
            try:
                value = object.__getattribute__(decoded, slot)
            except AttributeError:
                continue
            object.__setattr__(self, slot, value)
        return object.__getattribute__(self, name)

    def __hash__(self) -> int:
        """The hash a decoded Message with the same id has (they compare equal)."""
        if self._id_attrs:
            return hash((Message, self._id_attrs))
        return object.__hash__(self)

    def __repr__(self) -> str:
        """As the decoded Message's."""
        return "Message" + super().__repr__()[len(type(self).__name__) :]


def decode_update(raw: dict[str, Any], bot: Bot) -> Update:
    """Update.de_json, a pressed button's message (the bot's own) decoded only when read."""
    query = raw.get("callback_query")
    message = query.get("message") if isinstance(query, dict) else None
    if not isinstance(message, dict):
        return Update.de_json(raw, bot)
    bare = {key: value for key, value in query.items() if key != "message"}
    update = Update.de_json({**raw, "callback_query": bare}, bot)
    if update.callback_query is not None:
        object.__setattr__(
            update.callback_query, "message", SentMessage.of(message, bot, with_chat=True)
        )
    return update
