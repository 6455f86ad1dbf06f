"""SQLite used directly on the event loop's thread, behind aiosqlite's async surface.

A statement on a local SQLite file takes tens of microseconds; handing it to a thread and
waiting for the loop to come back around costs milliseconds under load, and a transaction
holds the one writer lock across all of its statements. So the writer, and the quick reader
for small keyed lookups, run their statements directly, behind the same small async API as
aiosqlite's connection (`execute` usable with `await` or `async with`, `execute_fetchall`,
`executemany`). Reads that scan (statements, reports, queues) stay on aiosqlite's threads.

Waiting for another process's write lock must not block the loop: the connection does not
wait in SQLite (busy timeout 0); `retry_busy` retries with short async sleeps instead.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


class DirectCursor:
    """A finished statement: its rows, rowcount and lastrowid."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor
        self.rowcount = cursor.rowcount
        self.lastrowid = cursor.lastrowid

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()


class _Ran:
    """What execute returns: awaited or entered, the cursor (the statement already ran)."""

    def __init__(self, cursor: DirectCursor) -> None:
        self._cursor = cursor

    def __await__(self):  # noqa: ANN204 - a generator that finishes without suspending
        return self._result().__await__()

    async def _result(self) -> DirectCursor:
        return self._cursor

    async def __aenter__(self) -> DirectCursor:
        return self._cursor

    async def __aexit__(self, *exc: object) -> None:
        return None


class DirectConnection:
    """sqlite3 used synchronously on the loop's thread, with aiosqlite's async surface."""

    def __init__(self, path: str, busy_timeout_ms: int) -> None:
        # Used by one task at a time (the writer lock), but that task may be a transaction
        # run on a worker thread (Database.transaction_off_loop).
        self._conn = sqlite3.connect(path, isolation_level=None, timeout=0, check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        self.lent_to_thread = False  # a transaction runs on it from a worker thread
        self.busy_timeout_s = busy_timeout_ms / 1000

    @classmethod
    async def open(
        cls, path: str, busy_timeout_ms: int, query_only: bool = False
    ) -> DirectConnection:
        """Connect and set the pragmas, waiting (asynchronously) for another writer's lock.

        Switching to WAL, or reading the schema while another process creates the database,
        needs a lock another connection may hold for a moment.
        """
        conn = cls(path, busy_timeout_ms)
        pragmas = ["busy_timeout=0", "journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL"]
        if query_only:
            pragmas.append("query_only=ON")
        try:
            for pragma in pragmas:
                await conn.retry_busy(lambda p=pragma: conn._conn.execute(f"PRAGMA {p}"))
        except BaseException:
            conn._conn.close()
            raise
        return conn

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> _Ran:
        return _Ran(DirectCursor(self._conn.execute(sql, parameters)))

    async def execute_fetchall(
        self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()
    ) -> list[Any]:
        return self._conn.execute(sql, parameters).fetchall()

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> DirectCursor:
        return DirectCursor(self._conn.executemany(sql, parameters))

    async def retry_busy(self, action: Callable[[], T]) -> T:
        """action(), retried while another connection holds SQLite's write lock."""
        deadline = time.monotonic() + self.busy_timeout_s
        delay = 0.001
        while True:
            try:
                return action()
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if time.monotonic() >= deadline:
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)

    async def begin(self) -> None:
        """BEGIN IMMEDIATE: take SQLite's write lock, waiting asynchronously if need be."""
        await self.retry_busy(lambda: self._conn.execute("BEGIN IMMEDIATE"))

    async def run_transaction(self, work: Callable[[DirectConnection], Awaitable[T]]) -> T:
        """work(self) in one IMMEDIATE transaction: committed when it returns, rolled back when
        it raises."""
        await self.begin()
        try:
            result = await work(self)
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        return result

    async def close(self) -> None:
        self._conn.close()
