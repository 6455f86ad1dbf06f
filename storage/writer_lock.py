"""The writer connection's lock: short urgent writes go before the queued transactions."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class WriterLock:
    """A FIFO lock with a second, urgent queue served first.

    The bot has one writer connection, so SQLite never makes one writer sleep for another.
    Storing fetched updates and marking them handled are single statements that every chat
    waits on; they go ahead of queued handler transactions instead of behind them.
    """

    def __init__(self) -> None:
        self._held = False
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._normal: deque[asyncio.Future[None]] = deque()

    @property
    def locked(self) -> bool:
        return self._held

    @asynccontextmanager
    async def hold(self, urgent: bool = False) -> AsyncIterator[None]:
        """Hold the lock for the block."""
        await self._acquire(urgent)
        try:
            yield
        finally:
            self._hand_over()

    async def _acquire(self, urgent: bool) -> None:
        if not self._held:
            self._held = True
            return
        turn = asyncio.get_running_loop().create_future()
        (self._urgent if urgent else self._normal).append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self._hand_over()  # it was handed to us as we were cancelled: pass it on
            else:
                queue = self._urgent if urgent else self._normal
                if turn in queue:  # a hand-over may have passed it by already
                    queue.remove(turn)
            raise

    def _hand_over(self) -> None:
        """Give the lock to the next waiter (urgent ones first), or free it."""
        for queue in (self._urgent, self._normal):
            while queue:
                turn = queue.popleft()
                if not turn.done():
                    turn.set_result(None)  # still held: it is theirs now
                    return
        self._held = False
