"""Lookups run on the writer connection while it is idle, and never see a transaction's
uncommitted writes (they then run on the query-only connection)."""

from __future__ import annotations

from bot.domain.models import Role
from storage import people
from storage.db import Database


async def test_a_lookup_during_a_transaction_sees_only_committed_rows(db: Database) -> None:
    async with db.transaction() as conn:
        await people.bind_person(conn, 21, "甲", Role.TECHNICIAN, None)
    async with db.transaction() as conn:
        await people.bind_person(conn, 22, "乙", Role.TECHNICIAN, None)
        async with db.lookup() as lookup:
            assert (await people.by_telegram_id(lookup, 21)).name == "甲"
            assert await people.by_telegram_id(lookup, 22) is None  # not committed yet
    async with db.lookup() as lookup:
        assert (await people.by_telegram_id(lookup, 22)).name == "乙"
        assert db._lookup._for("SELECT 1") is db.conn  # idle writer: warm cache
        assert db._lookup._for(" select 1") is db.conn
        assert db._lookup._for("UPDATE people SET name = 'x'") is db.quick


async def test_a_lookup_while_a_worker_thread_holds_the_writer_sees_only_committed_rows(
    db: Database,
) -> None:
    import asyncio
    import threading

    started, proceed, written, finish = (threading.Event() for _ in range(4))

    async def slow_write(conn) -> None:  # noqa: ANN001
        started.set()
        proceed.wait(5)  # nothing written yet, and the writer is lent all the same
        await people.bind_person(conn, 23, "丙", Role.TECHNICIAN, None)
        written.set()
        finish.wait(5)  # the transaction stays open meanwhile

    closing = asyncio.ensure_future(db.transaction_off_loop(slow_write))
    await asyncio.to_thread(started.wait, 5)
    assert db._lookup._for("SELECT 1") is db.quick
    proceed.set()
    await asyncio.to_thread(written.wait, 5)
    async with db.lookup() as lookup:
        assert await people.by_telegram_id(lookup, 23) is None  # not committed yet
    finish.set()
    await closing
    assert db._lookup._for("SELECT 1") is db.conn
    async with db.lookup() as lookup:
        assert (await people.by_telegram_id(lookup, 23)).name == "丙"
