"""Identities per channel: the migration's backfill, registration and slip links keep them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.domain.models import Role
from bot.services import Services, identities
from storage import identities as store
from storage import people, privacy
from storage.db import Database, utcnow_iso

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


async def _customer(conn, name: str, telegram_id: int | None = None) -> int:  # noqa: ANN001
    cur = await conn.execute(
        "INSERT INTO customers (name, class, telegram_id, created_at) VALUES (?, 'other', ?, ?)",
        (name, telegram_id, utcnow_iso()),
    )
    return int(cur.lastrowid)


async def test_migration_backfills_telegram_ids(config) -> None:  # noqa: ANN001
    db = await Database.open(config.db_path)
    try:
        async with db.transaction() as conn:
            await conn.execute("DROP TABLE identities")
            await conn.execute("DELETE FROM schema_migrations WHERE version = 20")
            await conn.execute(
                "INSERT INTO people (name, role, telegram_id, created_at)"
                " VALUES ('甲', 'technician', 501, ?), ('乙', 'manager', 502, ?)",
                (utcnow_iso(), utcnow_iso()),
            )
            first = await _customer(conn, "蓝海", 601)
            await _customer(conn, "蓝海二店", 601)  # the same chat on two customers: lowest wins
            both = await _customer(conn, "员工自己的店", 502)
            await _customer(conn, "未关联")
        assert await db.migrate() == [20]
        async with db.lookup() as conn:
            tech = await store.resolve(conn, "telegram", "501")
            manager = await store.resolve(conn, "telegram", "502")
            customer = await store.resolve(conn, "telegram", "601")
            count = await conn.execute_fetchall("SELECT count(*) FROM identities")
    finally:
        await db.close()
    assert tech is not None and tech.person is not None and tech.person.name == "甲"
    assert manager is not None and manager.person.role is Role.MANAGER
    assert manager.customer_id == both
    assert customer is not None and customer.person is None and customer.customer_id == first
    assert count[0][0] == 3


async def test_bind_person_writes_identity_in_the_same_transaction(db: Database) -> None:
    async with db.transaction() as conn:
        person = await people.bind_person(conn, 77, "张伟", Role.TECHNICIAN, "zh-CN")
    async with db.lookup() as conn:
        found = await store.resolve(conn, "telegram", "77")
    assert found is not None and found.person == person
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await people.bind_person(conn, 78, "李娜", Role.TECHNICIAN, None)
            raise RuntimeError("rolled back")
    async with db.lookup() as conn:
        assert await store.resolve(conn, "telegram", "78") is None
        assert await people.by_telegram_id(conn, 78) is None


async def test_link_unlink_and_inactive_people(config, db: Database) -> None:  # noqa: ANN001
    services = Services(config, db, clock=lambda: NOW)
    async with db.transaction() as conn:
        person = await people.bind_person(conn, 90, "王芳", Role.DISPATCHER, None)
        other = await people.bind_person(conn, 91, "赵强", Role.DISPATCHER, None)
    await identities.link_person(services, "wecom", "wangfang", person.id)
    await identities.link_person(services, "wecom", "wangfang", person.id)  # idempotent
    found = await identities.resolve(services, "wecom", "wangfang")
    assert found is not None and found.person is not None and found.person.id == person.id
    with pytest.raises(identities.IdentityError) as taken:
        await identities.link_person(services, "wecom", "wangfang", other.id)
    assert taken.value.problem is identities.IdentityProblem.TAKEN
    with pytest.raises(identities.IdentityError):
        await identities.link_person(services, "wecom", "ghost", 9999)
    assert await identities.unlink(services, "wecom", "wangfang")
    assert await identities.resolve(services, "wecom", "wangfang") is None
    assert not await identities.unlink(services, "wecom", "wangfang")
    async with db.transaction() as conn:
        await conn.execute("UPDATE people SET active = 0 WHERE id = ?", (other.id,))
    gone = await identities.resolve(services, "telegram", 91)
    assert gone is not None and gone.person is None  # as people.by_telegram_id: active only
    assert await identities.unlink(services, "telegram", 90)
    async with db.lookup() as conn:
        assert await people.by_telegram_id(conn, 90) is None


async def test_forgetting_a_customer_moves_or_drops_its_chat(db: Database) -> None:
    async with db.transaction() as conn:
        first = await _customer(conn, "蓝海", 700)
        second = await _customer(conn, "蓝海二店", 700)
        await store.sync_telegram_customer(conn, 700)
    async with db.transaction() as conn:
        await privacy.forget_customer(conn, "蓝海", NOW)
    async with db.lookup() as conn:
        moved = await store.resolve(conn, "telegram", "700")
    assert moved is not None and moved.customer_id == second != first
    async with db.transaction() as conn:
        await privacy.forget_customer(conn, "蓝海二店", NOW)
    async with db.lookup() as conn:
        assert await store.resolve(conn, "telegram", "700") is None


async def test_the_gate_lookup_is_keyed(db: Database) -> None:
    """Every table of the per-update lookup is reached by a key, none scanned."""
    async with db.lookup() as conn:
        plan = await conn.execute_fetchall(
            "EXPLAIN QUERY PLAN " + store._RESOLVE, ("telegram", "1")
        )
    steps = [row[3] for row in plan]
    assert len(steps) == 3 and all(step.startswith("SEARCH") for step in steps), steps
    assert "(channel=? AND external_id=?)" in steps[0]


async def test_an_id_on_one_channel_is_nobody_on_another(config, db: Database) -> None:  # noqa: ANN001
    services = Services(config, db, clock=lambda: NOW)
    async with db.transaction() as conn:
        person = await people.bind_person(conn, 3001, "孙丽", Role.MANAGER, None)
    await identities.link_person(services, "wecom", "3002", person.id)
    assert await identities.resolve(services, "telegram", 3002) is None
    assert await identities.resolve(services, "wecom", 3001) is None
    assert await identities.external_ids(services, "wecom", person.id) == ["3002"]
    both = [
        await identities.resolve(services, c, i) for c, i in (("telegram", 3001), ("wecom", 3002))
    ]
    assert {found.person.id for found in both if found and found.person} == {person.id}
