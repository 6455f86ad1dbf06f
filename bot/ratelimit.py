"""A rolling-window limiter for outgoing messages: never more than N in any window.

Telegram allows about 30 messages a second overall, 20 a minute into one group and about one a
second into one private chat. A leaky bucket (PTB's AIORateLimiter) lets a burst through and
then one every 3 s, which is not the same thing: after a quiet minute it may still run ahead
of the rolling window and draw 429s. Here each chat keeps the times of its recent sends and a
send waits until the oldest one has left the window; a 429's retry_after holds the chat back.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


class RollingWindow:
    """The send times within the last `window` seconds, at most `limit` of them."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self.times: deque[float] = deque()

    def wait(self, now: float) -> float:
        """Seconds until one more send fits (0 when it fits now)."""
        while self.times and self.times[0] <= now - self.window:
            self.times.popleft()
        if len(self.times) < self.limit:
            return 0.0
        return self.times[0] + self.window - now

    def record(self, now: float) -> None:
        self.times.append(now)


@dataclass(frozen=True)
class Limits:
    overall: int = 30
    overall_window: float = 1.0
    group: int = 20
    group_window: float = 60.0
    private: int = 1
    private_window: float = 1.0


class Limiter:
    """Per-chat and overall rolling windows, and per-chat holds learned from 429s."""

    def __init__(
        self,
        limits: Limits,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.limits = limits
        self.clock = clock
        self.sleep = sleep
        self.overall = RollingWindow(limits.overall, limits.overall_window)
        self.chats: dict[int, RollingWindow] = {}
        self.held: dict[int, float] = {}  # chat -> clock time before which nothing is sent

    def _window(self, chat_id: int) -> RollingWindow:
        window = self.chats.get(chat_id)
        if window is None:
            if is_group(chat_id):
                window = RollingWindow(self.limits.group, self.limits.group_window)
            else:
                window = RollingWindow(self.limits.private, self.limits.private_window)
            self.chats[chat_id] = window
        return window

    def delay(self, chat_id: int) -> float:
        """How long a send into this chat would have to wait now."""
        now = self.clock()
        return max(
            self.overall.wait(now),
            self._window(chat_id).wait(now),
            self.held.get(chat_id, now) - now,
            0.0,
        )

    async def acquire(self, chat_id: int) -> None:
        """Wait until a send into this chat fits every window, and count it."""
        while True:
            wait = self.delay(chat_id)
            if wait <= 0:
                now = self.clock()
                self.overall.record(now)
                self._window(chat_id).record(now)
                return
            await self.sleep(wait)

    def hold(self, chat_id: int, seconds: float) -> None:
        """Telegram said retry after `seconds`: nothing into this chat before then."""
        self.held[chat_id] = max(self.held.get(chat_id, 0.0), self.clock() + seconds)


def is_group(chat_id: int) -> bool:
    """Groups, supergroups and channels have negative ids in the Bot API."""
    return chat_id < 0
