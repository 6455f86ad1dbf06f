"""WAL checkpoints on a thread of their own, so a COMMIT on the event loop's thread never runs one.

SQLite checkpoints automatically inside the COMMIT that takes the write-ahead log past 1,000
pages: it copies those pages into the database file and syncs it, on whatever thread committed.
The bot's writer commits on the event loop's thread, so every few hundred transactions one
COMMIT took milliseconds (on a slow disk, far more) while every chat waited. The running bot
turns that off on its writer (`wal_autocheckpoint=0`) and checkpoints here instead.

A PASSIVE checkpoint never waits for anyone, but under a steady stream of commits it may never
catch up with the log's end, and SQLite only starts the log over once it has. So when a pass
leaves the log longer than `restart_frames`, a RESTART checkpoint follows: it waits (on this
thread) for the transaction in progress, copies the rest, and lets the next writer start the
log from its beginning. Meanwhile the bot's writer meets a busy lock and waits asynchronously
(DirectConnection.retry_busy), so the loop keeps answering.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from dataclasses import dataclass

log = logging.getLogger(__name__)

INTERVAL_S = 0.5  # between passes
RESTART_FRAMES = 4000  # about 16 MB of log at SQLite's default 4 KB pages
BUSY_TIMEOUT_MS = 2000  # how long a RESTART waits for the transaction in progress


@dataclass(frozen=True)
class Pass:
    """One checkpoint pass: the log's length in frames, how many are in the database file
    now, and whether it ended with a RESTART."""

    log_frames: int
    checkpointed: int
    restarted: bool


class Checkpointer:
    """Checkpoints one database's WAL every interval, on a worker thread."""

    def __init__(
        self,
        path: str,
        interval_s: float = INTERVAL_S,
        restart_frames: int = RESTART_FRAMES,
    ) -> None:
        self.path = path
        self.interval_s = interval_s
        self.restart_frames = restart_frames
        # Used by one pass at a time, from whichever worker thread runs it.
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self.last: Pass | None = None  # the latest pass, for whoever watches

    def start(self) -> None:
        """Run passes every interval until stop()."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="checkpoints")

    async def stop(self) -> None:
        """Stop the passes and close the connection; a pass under way finishes first (its
        thread is still using the connection)."""
        self._stopping.set()
        task, self._task = self._task, None
        if task is not None:
            await task
        self._conn.close()

    async def once(self) -> Pass:
        """One pass now, on a worker thread."""
        return await asyncio.to_thread(self._pass)

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval_s)
                return
            try:
                await self.once()
            except sqlite3.Error:  # a busy database or a full disk: the next pass tries again
                log.warning("WAL checkpoint failed; trying again later", exc_info=True)

    def _pass(self) -> Pass:
        _, log_frames, checkpointed = self._conn.execute(
            "PRAGMA wal_checkpoint(PASSIVE)"
        ).fetchone()
        done = Pass(log_frames, checkpointed, restarted=False)
        if log_frames >= self.restart_frames:
            busy, log_frames, checkpointed = self._conn.execute(
                "PRAGMA wal_checkpoint(RESTART)"
            ).fetchone()
            done = Pass(log_frames, checkpointed, restarted=not busy)
        self.last = done
        return done
