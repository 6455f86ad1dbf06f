"""A rolling-window limiter for outgoing messages: never more than N in any window.

Telegram allows about 30 messages a second overall, 20 a minute into one group and about one a
second into one private chat. A leaky bucket (PTB's AIORateLimiter) lets a burst through and
then one every 3 s, which is not the same thing: after a quiet minute it may still run ahead
of the rolling window and draw 429s. Here each chat keeps the times of its recent sends and a
send waits until the oldest one has left the window; a 429's retry_after holds the chat back.
"""

from __future__ import annotations

import asyncio
import bisect
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


class RollingWindow:
    """The send times within the last `window` seconds, at most `limit` of them."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self.times: list[float] = []  # sorted

    def wait(self, now: float) -> float:
        """Seconds until one more send fits (0 when it fits now)."""
        # A send has left the window once its time + window <= now, computed that way round:
        # `now - window` rounds differently and could free a send one ulp early.
        cut = 0
        while cut < len(self.times) and self.times[cut] + self.window <= now:
            cut += 1
        if cut:
            del self.times[:cut]
        if len(self.times) < self.limit:
            return 0.0
        return self.times[0] + self.window - now

    def record(self, now: float) -> None:
        bisect.insort(self.times, now)

    def settle(self, started: float, finished: float) -> None:
        """A send counted at `started` was answered at `finished`: count it from then.

        The server counts a message when it arrives, after we counted it; counting from the
        answer keeps our window from ending before the server's does.
        """
        index = bisect.bisect_left(self.times, started)
        if index < len(self.times) and self.times[index] == started:
            del self.times[index]
            bisect.insort(self.times, finished)


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

    def delay(self, chat_id: int, per_chat: bool = True) -> float:
        """How long a send into this chat would have to wait now."""
        now = self.clock()
        waits = [self.overall.wait(now), self.held.get(chat_id, now) - now, 0.0]
        if per_chat:
            waits.append(self._window(chat_id).wait(now))
        return max(waits)

    async def acquire(self, chat_id: int, per_chat: bool = True) -> float:
        """Wait until a send into this chat fits every window, and count it (without per_chat,
        only the overall window and a 429's hold apply); returns the time it was counted at."""
        while True:
            wait = self.delay(chat_id, per_chat)
            if wait <= 0:
                now = self.clock()
                self.overall.record(now)
                if per_chat:
                    self._window(chat_id).record(now)
                return now
            await self.sleep(wait)

    def settle(self, chat_id: int, started: float, per_chat: bool = True) -> None:
        """The send counted at `started` has been answered: count it from now instead."""
        now = self.clock()
        self.overall.settle(started, now)
        if per_chat:
            self._window(chat_id).settle(started, now)

    def hold(self, chat_id: int, seconds: float) -> None:
        """Telegram said retry after `seconds`: nothing into this chat before then."""
        self.held[chat_id] = max(self.held.get(chat_id, 0.0), self.clock() + seconds)


def is_group(chat_id: int) -> bool:
    """Groups, supergroups and channels have negative ids in the Bot API."""
    return chat_id < 0
