"""A message the Bot API returned, decoded from its JSON only when something reads it.

Every send and edit answers with the whole message, and python-telegram-bot decodes it into
a Message with all its parts; most callers never look at it, or read only its message_id.
SentMessage is a real telegram.Message (isinstance holds, every attribute reads the same): it
keeps the JSON and its message_id, and the first read of anything else decodes the rest,
exactly as Message.de_json would.
"""

from __future__ import annotations

from typing import Any

from telegram import Bot, Message

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
    def of(cls, data: dict[str, Any], bot: Bot | None) -> Message:
        """The message for this JSON (decoded at once if it lacks a message id)."""
        message_id = data.get("message_id")
        if type(message_id) is not int:
            return Message.de_json(data, bot)
        sent = object.__new__(cls)
        object.__setattr__(sent, "_sent_json", data)
        object.__setattr__(sent, "_bot", bot)
        object.__setattr__(sent, "message_id", message_id)
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
