"""WAL checkpoints on a worker thread: the writer's COMMIT never checkpoints once they run."""

from __future__ import annotations

import asyncio
import os
import sqlite3

from storage.checkpoints import Checkpointer
from storage.db import Database

PAGE = 4096


async def write_pages(db: Database, transactions: int) -> None:
    """Transactions that each add about three pages to the log."""
    await db.conn.execute("CREATE TABLE IF NOT EXISTS filler (blob BLOB)")
    for _ in range(transactions):
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO filler (blob) VALUES (randomblob(?))", (2 * PAGE,))


def wal_bytes(db: Database) -> int:
    return os.path.getsize(f"{db.path}-wal")


async def test_the_writer_stops_checkpointing_in_its_commit(db: Database) -> None:
    idle = Checkpointer(db.path, interval_s=3600)  # never runs a pass by itself here
    await db.checkpoint_in_background(idle)
    assert (await db.conn.execute_fetchall("PRAGMA wal_autocheckpoint"))[0][0] == 0
    await write_pages(db, 600)
    # SQLite's own checkpoint would have started the log over at 1,000 pages.
    assert wal_bytes(db) > 1500 * PAGE


async def test_without_it_sqlite_checkpoints_as_usual(db: Database) -> None:
    assert (await db.conn.execute_fetchall("PRAGMA wal_autocheckpoint"))[0][0] == 1000
    await write_pages(db, 600)
    assert wal_bytes(db) < 1200 * PAGE


async def test_a_pass_copies_the_whole_log_and_the_next_writer_starts_it_over(
    db: Database,
) -> None:
    checkpointer = Checkpointer(db.path, interval_s=3600)
    await db.checkpoint_in_background(checkpointer)
    await write_pages(db, 100)
    done = await checkpointer.once()
    assert done.log_frames >= 300
    assert done.checkpointed == done.log_frames
    assert not done.restarted
    await write_pages(db, 1)
    assert (await checkpointer.once()).log_frames < 10  # the log began again
    async with db.read() as reader:
        assert (await reader.execute_fetchall("SELECT count(*) FROM filler"))[0][0] == 101


async def test_a_long_log_is_restarted(db: Database) -> None:
    checkpointer = Checkpointer(db.path, interval_s=3600, restart_frames=50)
    await db.checkpoint_in_background(checkpointer)
    await write_pages(db, 30)
    done = await checkpointer.once()
    assert done.restarted
    assert done.checkpointed == done.log_frames


async def test_passes_run_by_themselves_and_stop_with_the_database(config) -> None:  # noqa: ANN001
    db = await Database.open(config.db_path)
    checkpointer = Checkpointer(db.path, interval_s=0.01)
    await db.checkpoint_in_background(checkpointer)
    await write_pages(db, 50)
    for _ in range(200):
        if checkpointer.last is not None and checkpointer.last.checkpointed >= 150:
            break
        await asyncio.sleep(0.01)
    assert checkpointer.last is not None and checkpointer.last.checkpointed >= 150
    await db.close()
    assert checkpointer._task is None
    try:
        checkpointer._conn.execute("SELECT 1")
    except sqlite3.ProgrammingError:
        pass  # closed, as it should be
    else:
        raise AssertionError("the checkpoint connection is still open")


async def test_a_failed_pass_is_logged_and_the_next_one_runs(db: Database, caplog) -> None:  # noqa: ANN001
    checkpointer = Checkpointer(db.path, interval_s=0.01)
    real_pass = checkpointer._pass
    calls = []

    def failing_once():  # noqa: ANN202
        calls.append(1)
        if len(calls) == 1:
            raise sqlite3.OperationalError("disk I/O error")
        return real_pass()

    checkpointer._pass = failing_once  # type: ignore[method-assign]
    await db.checkpoint_in_background(checkpointer)
    for _ in range(200):
        if len(calls) >= 2:
            break
        await asyncio.sleep(0.01)
    assert len(calls) >= 2
    assert "WAL checkpoint failed" in caplog.text
