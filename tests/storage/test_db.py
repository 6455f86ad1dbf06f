"""The database layer on a real temporary SQLite file."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from bot.domain.models import Role
from storage import people
from storage.db import Database, current_update_id, migrations


async def test_migrations_applied_once_and_recorded(db: Database) -> None:
    rows = await db.conn.execute_fetchall("SELECT version FROM schema_migrations")
    assert [r[0] for r in rows] == [m[0] for m in migrations()]
    assert await db.migrate() == []


async def test_pragmas(db: Database) -> None:
    assert (await db.conn.execute_fetchall("PRAGMA journal_mode"))[0][0] == "wal"
    assert (await db.conn.execute_fetchall("PRAGMA foreign_keys"))[0][0] == 1
    # The writer never waits inside SQLite (that would block the event loop): it retries
    # asynchronously for the configured time instead. Readers wait in SQLite as configured.
    assert (await db.conn.execute_fetchall("PRAGMA busy_timeout"))[0][0] == 0
    assert db.conn.busy_timeout_s == 5.0
    async with db.read() as reader:
        assert (await reader.execute_fetchall("PRAGMA busy_timeout"))[0][0] == 5000


async def test_lookups_read_committed_data_and_never_write(db: Database) -> None:
    async with db.transaction() as conn:
        await people.bind_person(conn, 13, "戊", Role.TECHNICIAN, None)
    async with db.lookup() as conn:
        assert (await people.by_telegram_id(conn, 13)).name == "戊"
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            await conn.execute("DELETE FROM people")
    async with db.read() as reader:
        assert (await reader.execute_fetchall("SELECT count(*) FROM people"))[0][0] == 1


async def test_a_writer_busy_elsewhere_is_waited_for_without_blocking_the_loop(
    db: Database,
) -> None:
    import asyncio

    other = sqlite3.connect(db.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process's write lock, say
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    async def write() -> None:
        async with db.transaction() as conn:
            await people.bind_person(conn, 11, "丙", Role.TECHNICIAN, None)

    clock = asyncio.ensure_future(ticker())
    writing = asyncio.ensure_future(write())
    await asyncio.sleep(0.1)
    assert not writing.done() and ticks >= 5  # waiting, and the loop kept running
    other.execute("COMMIT")
    other.close()
    await asyncio.wait_for(writing, 2)
    clock.cancel()
    async with db.read() as reader:
        rows = await reader.execute_fetchall("SELECT count(*) FROM people WHERE name = '丙'")
    assert rows[0][0] == 1


async def test_a_writer_busy_for_too_long_is_an_error(db: Database) -> None:
    db.conn.busy_timeout_s = 0.05
    other = sqlite3.connect(db.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            async with db.transaction():
                pass
    finally:
        other.execute("ROLLBACK")
        other.close()
    async with db.transaction() as conn:  # the lock was handed on: the next one works
        await people.bind_person(conn, 12, "丁", Role.TECHNICIAN, None)


async def test_failed_transaction_leaves_nothing(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await people.bind_person(conn, 5, "甲", Role.TECHNICIAN, None)
            raise RuntimeError("boom")
    async with db.read() as conn:
        assert await people.by_telegram_id(conn, 5) is None


async def test_transaction_records_current_update_atomically(db: Database) -> None:
    token = current_update_id.set(77)
    try:
        async with db.transaction() as conn:
            await people.bind_person(conn, 6, "乙", Role.DISPATCHER, None)
    finally:
        current_update_id.reset(token)
    assert await db.is_handled(77)
    assert not await db.is_handled(78)


async def test_foreign_keys_enforced(db: Database) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO machines (customer_id, description) VALUES (999, 'x')")


async def test_backup_is_a_consistent_copy(db: Database, tmp_path) -> None:
    async with db.transaction() as conn:
        await people.bind_person(conn, 7, "丙", Role.MANAGER, "en")
    target = tmp_path / "copy" / "backup.db"
    await db.backup(target)
    copy = sqlite3.connect(target)
    try:
        assert copy.execute("SELECT name FROM people WHERE telegram_id = 7").fetchone() == ("丙",)
    finally:
        copy.close()


async def test_technician_claimed_by_name_on_registration(db: Database) -> None:
    async with db.transaction() as conn:
        tech_id = await people.ensure_technician(conn, "张伟")
        person = await people.bind_person(conn, 8, "张伟", Role.TECHNICIAN, None)
    assert person.id == tech_id
    assert person.telegram_id == 8


def test_fast_slips_from_rows_equal_the_constructor() -> None:
    from datetime import datetime

    from bot.domain.models import Slip
    from storage.ledger import slips_from_rows

    row = (
        7,
        3,
        41,
        "network",
        1,
        "network",
        "software",
        "2026-11-03T09:12:00+08:00",
        "2026-11-03T10:00:00+08:00",
        0,
        None,
        1234.5,
        300,
    )
    expected = Slip(
        7,
        "张伟",
        "客户",
        "network",
        True,
        "network",
        "software",
        datetime.fromisoformat(row[7]),
        datetime.fromisoformat(row[8]),
        False,
        None,
        1234.5,
        300,
    )
    (built,) = slips_from_rows([row], {3: "张伟"}, {41: "客户"})
    assert built == expected and hash(built) == hash(expected)
    assert type(built) is Slip and built.check_in.tzinfo is not None and built.netcafe is True


async def test_reader_sees_each_commit_even_with_readers_interleaved(db: Database) -> None:
    import asyncio

    async def reader_loop(stop: asyncio.Event) -> None:
        while not stop.is_set():
            async with db.read() as conn:
                await conn.execute_fetchall("SELECT count(*) FROM people")
            await asyncio.sleep(0)

    stop = asyncio.Event()
    readers = [asyncio.create_task(reader_loop(stop)) for _ in range(5)]
    try:
        for n in range(20):
            async with db.transaction() as conn:
                await people.bind_person(conn, 1000 + n, f"员工{n}", Role.DISPATCHER, None)
            async with db.read() as conn:
                assert await people.by_telegram_id(conn, 1000 + n) is not None
    finally:
        stop.set()
        await asyncio.gather(*readers)


async def _inbox_ids(db: Database) -> list[int]:
    rows = await db.conn.execute_fetchall("SELECT update_id FROM inbox ORDER BY update_id")
    return [row[0] for row in rows]


async def _store_in_inbox(db: Database, *update_ids: int) -> None:
    from storage import inbox

    await db.write_intake(*inbox.store_statement([(u, "{}") for u in update_ids]))


async def test_an_update_recorded_handled_leaves_the_inbox_in_the_same_commit(
    db: Database,
) -> None:
    await _store_in_inbox(db, 70, 71, 72)
    token = current_update_id.set(71)
    try:
        with pytest.raises(RuntimeError):
            async with db.transaction() as conn:
                await people.bind_person(conn, 9, "乙", Role.TECHNICIAN, None)
                raise RuntimeError("boom")  # rolled back: still waiting
        assert await _inbox_ids(db) == [70, 71, 72]
        async with db.transaction() as conn:
            await people.bind_person(conn, 9, "乙", Role.TECHNICIAN, None)
    finally:
        current_update_id.reset(token)
    assert await _inbox_ids(db) == [70, 72]
    await db.mark_handled(72)  # a handler that wrote nothing: one statement does both
    assert await _inbox_ids(db) == [70]
    assert await db.is_handled(71) and await db.is_handled(72) and not await db.is_handled(70)
    await _store_in_inbox(db, 71)  # fetched again after a restart: not stored twice
    assert await _inbox_ids(db) == [70]
    await db.drop_from_inbox(70)
    assert await _inbox_ids(db) == []


def test_migration_statements_keep_a_trigger_body_whole() -> None:
    from storage.db import _split_sql

    sql = (
        "-- a comment; with a semicolon\n"
        "CREATE TABLE a (x);\n"
        "CREATE TRIGGER t AFTER INSERT ON a\nBEGIN\n  DELETE FROM b; DELETE FROM c;\nEND;\n"
        "CREATE INDEX i ON a (x);\n"
    )
    assert _split_sql(sql) == [
        "CREATE TABLE a (x)",
        "CREATE TRIGGER t AFTER INSERT ON a\nBEGIN\n  DELETE FROM b; DELETE FROM c;\nEND",
        "CREATE INDEX i ON a (x)",
    ]


async def test_a_transaction_off_the_loop_runs_on_another_thread_and_commits(db: Database) -> None:
    loop_thread = threading.get_ident()
    seen = []

    async def write(conn) -> int:  # noqa: ANN001
        seen.append(threading.get_ident())
        await conn.execute(
            "INSERT INTO people (name, role, created_at) VALUES ('离线', 'technician', 'x')"
        )
        rows = await conn.execute_fetchall("SELECT count(*) FROM people")
        return rows[0][0]

    assert await db.transaction_off_loop(write) == 1
    assert seen and seen[0] != loop_thread
    async with db.read() as conn:
        assert (await conn.execute_fetchall("SELECT name FROM people"))[0][0] == "离线"


async def test_a_failed_transaction_off_the_loop_leaves_nothing_and_frees_the_writer(
    db: Database,
) -> None:
    async def fail(conn) -> None:  # noqa: ANN001
        await conn.execute(
            "INSERT INTO people (name, role, created_at) VALUES ('半截', 'technician', 'x')"
        )
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        await db.transaction_off_loop(fail)
    async with db.transaction() as conn:  # the lock was handed on and no transaction is open
        await conn.execute(
            "INSERT INTO people (name, role, created_at) VALUES ('之后', 'technician', 'x')"
        )
    async with db.read() as conn:
        names = [row[0] for row in await conn.execute_fetchall("SELECT name FROM people")]
    assert names == ["之后"]
