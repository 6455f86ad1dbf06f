"""Button presses find their handler by a look-up, not by trying every handler in turn.

PTB tries a group's handlers one after another until one accepts the update. With some thirty
button handlers and as many commands before the visit buttons, a press cost tens of regex
matches on every step of a visit. A button's data starts with its feature's key ("visit:st:12:
hardware"), and every pattern here is anchored on such a key, so the press only needs trying
against the handlers of that key (in their registered order), plus any handler whose pattern
names no key (the catch-all for stale buttons).
"""

from __future__ import annotations

import re
from typing import Any

from telegram import Update
from telegram.ext import Application, BaseHandler, CallbackQueryHandler

# "^visit:..." or "^(penalty|reward):...": the keys a data's first segment must be to match.
_ONE_KEY = re.compile(r"\^([A-Za-z0-9_]+):")
_KEYS = re.compile(r"\^\(([A-Za-z0-9_|]+)\):")
_CACHED_KEYS = 1024  # distinct first segments remembered (data is the user's to forge)


def pattern_keys(handler: CallbackQueryHandler) -> frozenset[str] | None:
    """The first segments a handler's pattern can match, or None when it may match any data."""
    pattern = handler.pattern
    source = pattern.pattern if isinstance(pattern, re.Pattern) else None
    if not isinstance(source, str):
        return None
    if found := _ONE_KEY.match(source):
        return frozenset({found.group(1)})
    if found := _KEYS.match(source):
        return frozenset(found.group(1).split("|"))
    return None


class ButtonRouter(BaseHandler[Update, Any, Any]):
    """Stands for a group's button handlers, keeping their order: the first that accepts the
    press handles it, as if PTB had tried them all."""

    def __init__(self, handlers: list[CallbackQueryHandler]) -> None:
        super().__init__(self._unused)
        self.handlers = handlers
        self.keys = [pattern_keys(handler) for handler in handlers]
        self.by_key: dict[str, list[CallbackQueryHandler]] = {}

    @staticmethod
    async def _unused(update: object, context: object) -> None:
        raise AssertionError("ButtonRouter hands each press to the handler that accepted it")

    def candidates(self, data: object) -> list[CallbackQueryHandler]:
        """The handlers that may accept this data, in registered order."""
        if not isinstance(data, str) or not data:  # PTB lets any handler take a press without data
            return self.handlers
        key = data.split(":", 1)[0]
        found = self.by_key.get(key)
        if found is None:
            found = [
                handler
                for handler, keys in zip(self.handlers, self.keys, strict=True)
                if keys is None or key in keys
            ]
            if len(self.by_key) < _CACHED_KEYS:
                self.by_key[key] = found
        return found

    def check_update(self, update: object) -> tuple[CallbackQueryHandler, object] | None:
        if not isinstance(update, Update) or update.callback_query is None:
            return None
        for handler in self.candidates(update.callback_query.data):
            check = handler.check_update(update)
            if check is not None and check is not False:
                return handler, check
        return None

    async def handle_update(
        self,
        update: Update,
        application: Application,
        check_result: tuple[CallbackQueryHandler, object],
        context: Any,
    ) -> Any:
        handler, check = check_result
        return await handler.handle_update(update, application, check, context)


def route_buttons(app: Application, group: int = 0) -> ButtonRouter:
    """Replace the group's button handlers by one router, first in the group: a press is never
    taken for a command (PTB's command handlers look at the pressed message's text)."""
    handlers = app.handlers[group]
    buttons = [handler for handler in handlers if isinstance(handler, CallbackQueryHandler)]
    for handler in buttons:
        if handler.block is False:
            raise ValueError("ButtonRouter runs every button handler blocking")
        handlers.remove(handler)
    router = ButtonRouter(buttons)
    handlers.insert(0, router)
    return router
