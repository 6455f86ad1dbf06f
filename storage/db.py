"""One SQLite connection: WAL, foreign keys, busy timeout, migrations, transactions."""

from __future__ import annotations

import asyncio
import contextvars
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Protocol, TypeVar

import aiosqlite

from storage.checkpoints import Checkpointer
from storage.direct import DirectConnection
from storage.writer_lock import WriterLock

T = TypeVar("T")

# The update being handled; a transaction that commits records it as handled in the same commit,
# so a re-delivered update is recognised after a crash.
current_update_id: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "current_update_id", default=None
)
# The transaction open in this task, so notices can join it (bot.services.notices.post_soon).
current_transaction: contextvars.ContextVar[DirectConnection | None] = contextvars.ContextVar(
    "current_transaction", default=None
)
# Set by storage.outbox when a transaction queued a notice; its commit wakes the delivery worker.
outbox_written: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "outbox_written", default=False
)


class UpdateWork(Protocol):
    """State an update changes without a write of its own (a form's next step), committed with
    the update: by the first transaction of the update that commits, or by finish_update()."""

    @property
    def pending(self) -> bool: ...

    async def write(self, conn: DirectConnection) -> None: ...

    def committed(self) -> None: ...


def utcnow_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def migrations() -> list[tuple[int, str, str]]:
    """The numbered SQL migrations shipped with the package, in order."""
    found = []
    for entry in resources.files("storage.migrations").iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:3].isdigit():
            found.append((int(name[:3]), name, entry.read_text(encoding="utf-8")))
    return sorted(found)


async def _connect(path: str, busy_timeout_ms: int) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)
    conn.row_factory = aiosqlite.Row
    # The busy timeout first: the pragmas after it may wait for another connection's lock
    # (this connection's statements run on its own thread, so SQLite may wait there).
    await conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    await conn.execute("PRAGMA journal_mode=WAL")
    await conn.execute("PRAGMA foreign_keys=ON")
    await conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def mark_handled_sql(count: int) -> str:
    """INSERT of `count` (update id, handled at) rows; the trigger of migration 006 removes
    their inbox rows in the same statement."""
    values = ", ".join(["(?, ?)"] * count)
    return (
        f"INSERT INTO handled_updates (update_id, handled_at) VALUES {values}"
        " ON CONFLICT (update_id) DO NOTHING"
    )


MARK_HANDLED_SQL = mark_handled_sql(1)

MARKS_PER_STATEMENT = 400  # two parameters each, well under SQLite's limit

READERS = 3  # reader connections; each runs its queries on its own thread


class _MarkBatch:
    """Handled marks written together, and the future their writers wait on."""

    def __init__(self) -> None:
        self.update_ids: list[int] = []
        self.written: asyncio.Future[None] = asyncio.get_running_loop().create_future()


class Lookups:
    """Where a lookup's statement runs: on the writer connection while no transaction is open
    on it (nor lent to a worker thread), else on the query-only connection; either way it reads
    committed data.

    After each commit SQLite makes every other connection drop its page cache, so a keyed read
    on the query-only connection re-reads its pages (about 20us for the gate's identity join
    against 13us on the writer, whose cache stays warm). Only SELECTs go to the writer; anything
    else meets the query-only connection, which refuses writes.
    """

    def __init__(self, writer: DirectConnection, quick: DirectConnection) -> None:
        self._writer = writer
        self._quick = quick

    def _for(self, sql: str) -> DirectConnection:
        writer = self._writer
        if writer.in_transaction or writer.lent_to_thread or sql.lstrip()[:6].upper() != "SELECT":
            return self._quick
        return self._writer

    def execute(self, sql: str, parameters: Sequence[object] | dict[str, object] = ()) -> object:
        return self._for(sql).execute(sql, parameters)

    async def execute_fetchall(
        self, sql: str, parameters: Sequence[object] | dict[str, object] = ()
    ) -> list[sqlite3.Row]:
        return await self._for(sql).execute_fetchall(sql, parameters)

    def __getattr__(self, name: str) -> object:
        return getattr(self._quick, name)  # anything else: the query-only connection's


class Database:
    """The application's database: one writer connection behind a lock, readers beside it.

    WAL lets readers see every committed transaction while a write is in progress, so a query
    never waits for someone else's transaction to finish.
    """

    def __init__(self, conn: DirectConnection, path: str) -> None:
        self.conn = conn
        self.path = path
        self._lock = WriterLock()
        # A reader is lent to one block at a time: SQLite keeps a read snapshot while any
        # statement on a connection is unfinished, so interleaved use would pin an old snapshot.
        self._readers: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._all_readers: list[aiosqlite.Connection] = []
        self.quick: DirectConnection  # set by open()
        self._lookup: Lookups  # set by open()
        self.recorded: set[int] = set()  # updates whose handled row a transaction committed
        self._marks: _MarkBatch | None = None  # handled marks waiting for the next write
        self._marks_lock = asyncio.Lock()
        self._mark_writers: set[asyncio.Future[None]] = set()
        self._update_work: dict[int, list[UpdateWork]] = {}
        self.outbox_ready = asyncio.Event()  # a committed transaction queued a notice
        self._checkpointer: Checkpointer | None = None

    @classmethod
    async def open(cls, path: str | Path, busy_timeout_ms: int = 5000) -> Database:
        """Open (creating if needed) and migrate the database at path."""
        db = cls(await DirectConnection.open(str(path), busy_timeout_ms), str(path))
        await db.migrate()
        db.quick = await DirectConnection.open(str(path), busy_timeout_ms, query_only=True)
        db._lookup = Lookups(db.conn, db.quick)
        for _ in range(READERS):
            reader = await _connect(str(path), busy_timeout_ms)
            await reader.execute("PRAGMA query_only=ON")
            db._all_readers.append(reader)
            db._readers.put_nowait(reader)
        return db

    async def checkpoint_in_background(self, checkpointer: Checkpointer | None = None) -> None:
        """Checkpoint the WAL on a worker thread from now on, never inside the writer's COMMIT
        (see storage.checkpoints); for a long-running process such as the bot."""
        if self._checkpointer is not None:
            return
        self._checkpointer = checkpointer or Checkpointer(self.path)
        await self.conn.execute("PRAGMA wal_autocheckpoint=0")
        self._checkpointer.start()

    async def close(self) -> None:
        if self._checkpointer is not None:
            await self._checkpointer.stop()
            self._checkpointer = None
        if self._mark_writers:
            await asyncio.gather(*self._mark_writers, return_exceptions=True)
        for reader in self._all_readers:
            await reader.close()
        await self.quick.close()
        await self.conn.close()

    async def write_intake(self, sql: str, params: Sequence[object]) -> None:
        """One statement on the writer, atomic on its own, ahead of queued transactions.

        Storing fetched updates and marking them handled are what every chat waits on: they
        wait for the transaction in progress, never for the queue behind it. (A second
        connection would not queue at all, but SQLite makes a blocked writer sleep in steps
        of milliseconds, which under load cost more than the wait.)
        """
        async with self._lock.hold(urgent=True):
            await self.conn.retry_busy(lambda: self.conn.execute(sql, params))

    async def migrate(self) -> list[int]:
        """Apply migrations not yet recorded; returns the versions applied."""
        await self.conn.retry_busy(
            lambda: self.conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
        )
        ran = await self.conn.retry_busy(
            lambda: self.conn.execute("SELECT version FROM schema_migrations")
        )
        done = {row[0] for row in await (await ran).fetchall()}
        applied = []
        for version, name, sql in migrations():
            if version in done:
                continue
            await self.conn.begin()
            try:
                for statement in _split_sql(sql):
                    await self.conn.execute(statement)
                await self.conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (version, name, utcnow_iso()),
                )
                await self.conn.execute("COMMIT")
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            applied.append(version)
        return applied

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[DirectConnection]:
        """One atomic unit of work; also marks the current update handled when it commits."""
        async with self._lock.hold():
            await self.conn.begin()
            open_token = current_transaction.set(self.conn)
            written_token = outbox_written.set(False)
            try:
                yield self.conn
                update_id = current_update_id.get()
                work = self._update_work.get(update_id, []) if update_id is not None else []
                for item in work:
                    await item.write(self.conn)
                # Its inbox row goes with it (migration 006); a second transaction of the same
                # update finds it committed already.
                if update_id is not None and update_id not in self.recorded:
                    await self.conn.execute(MARK_HANDLED_SQL, (update_id, utcnow_iso()))
                await self.conn.execute("COMMIT")
                for item in work:
                    item.committed()
                if update_id is not None:
                    self.recorded.add(update_id)
                if outbox_written.get():
                    self.outbox_ready.set()
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            finally:
                outbox_written.reset(written_token)
                current_transaction.reset(open_token)

    async def transaction_off_loop(self, work: Callable[[DirectConnection], Awaitable[T]]) -> T:
        """One transaction run on a worker thread, for the rare write too big for the loop's
        thread (a closed month's snapshot: tens of MB). It holds the writer lock like any
        other; `work` runs on its own event loop there, so it must only use the connection."""
        async with self._lock.hold():
            self.conn.lent_to_thread = True  # lookups keep off it, even before its BEGIN
            try:
                return await asyncio.to_thread(asyncio.run, self.conn.run_transaction(work))
            finally:
                self.conn.lent_to_thread = False

    def join_update(self, update_id: int, work: UpdateWork) -> None:
        """Commit work with this update (see UpdateWork)."""
        self._update_work.setdefault(update_id, []).append(work)

    def work_of(self, update_id: int) -> list[UpdateWork]:
        return self._update_work.get(update_id, [])

    async def finish_update(self, update_id: int) -> None:
        """The update's handler is done: commit its work still pending, with its handled mark.

        A form step that wrote nothing else is durable before the update counts as handled.
        """
        try:
            if any(item.pending for item in self._update_work.get(update_id, [])):
                token = current_update_id.set(update_id)
                try:
                    async with self.transaction():
                        pass
                finally:
                    current_update_id.reset(token)
        finally:
            self._update_work.pop(update_id, None)

    def drop_update_work(self, update_id: int) -> None:
        """The handler failed: what it staged is forgotten (a new try starts afresh)."""
        self._update_work.pop(update_id, None)

    @asynccontextmanager
    async def lookup(self) -> AsyncIterator[DirectConnection]:
        """A few rows by key, answered at once on the loop's thread (committed data).

        For small indexed reads on the hot path (who is this user, this visit, this slip);
        anything that scans a table uses read(), whose queries run on other threads.
        """
        yield self._lookup  # type: ignore[misc]

    @asynccontextmanager
    async def read(self) -> AsyncIterator[aiosqlite.Connection]:
        """Read access on a reader connection: committed data, never waiting for a writer."""
        reader = await self._readers.get()
        try:
            yield reader
        finally:
            self._readers.put_nowait(reader)

    async def is_handled(self, update_id: int) -> bool:
        return update_id in await self.handled_among([update_id])

    async def handled_among(self, update_ids: list[int]) -> set[int]:
        """Which of these updates were handled before (a keyed lookup: on the loop's thread)."""
        marks = ", ".join("?" * len(update_ids))
        async with self.lookup() as conn:
            rows = await conn.execute_fetchall(
                f"SELECT update_id FROM handled_updates WHERE update_id IN ({marks})", update_ids
            )
        return {row[0] for row in rows}

    async def mark_handled(self, update_id: int) -> None:
        """Record an update as handled (for updates whose handler wrote nothing).

        Marks arriving together are written in one statement, ahead of queued transactions;
        returns once the mark is committed. The trigger of migration 006 removes the update's
        inbox row in the same statement.
        """
        batch = self._marks
        if batch is None:
            batch = self._marks = _MarkBatch()
            writer = asyncio.ensure_future(self._write_marks(batch))
            self._mark_writers.add(writer)  # a task nobody references may be collected
            writer.add_done_callback(self._mark_writers.discard)
        batch.update_ids.append(update_id)
        await asyncio.shield(batch.written)

    async def _write_marks(self, batch: _MarkBatch) -> None:
        async with self._marks_lock:  # one write at a time; later marks gather meanwhile
            if self._marks is batch:
                self._marks = None
            try:
                for start in range(0, len(batch.update_ids), MARKS_PER_STATEMENT):
                    chunk = batch.update_ids[start : start + MARKS_PER_STATEMENT]
                    now = utcnow_iso()
                    await self.write_intake(
                        mark_handled_sql(len(chunk)),
                        [value for update_id in chunk for value in (update_id, now)],
                    )
            except Exception as exc:  # each waiting handler gets it
                batch.written.set_exception(exc)
            else:
                batch.written.set_result(None)

    async def drop_from_inbox(self, update_id: int) -> None:
        """Remove an update's inbox row (one handled before, fetched or left over again)."""
        await self.write_intake("DELETE FROM inbox WHERE update_id = ?", (update_id,))

    async def backup(self, target: str | Path) -> None:
        """A consistent copy of the live database through SQLite's backup API."""
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        dest = sqlite3.connect(str(target))
        try:
            async with self.read() as reader:
                await reader.backup(dest)
        finally:
            dest.close()


def _split_sql(sql: str) -> list[str]:
    """Split a migration file into statements (no semicolons inside literals in ours).

    A trigger's body has semicolons of its own: its statement runs on to the END that closes it.
    """
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    statements: list[str] = []
    pending = ""
    for part in "\n".join(lines).split(";"):
        pending = f"{pending};{part}" if pending else part
        text = pending.strip()
        upper = text.upper()
        if upper.startswith("CREATE TRIGGER") and not upper.endswith("END"):
            continue
        if text:
            statements.append(text)
        pending = ""
    return statements
