"""The outbox on a temporary database: written with the change, claimed, marked, edits coalesced."""

from __future__ import annotations

import pytest

from bot.domain.models import Role
from bot.services import notices
from storage import outbox, people
from storage.db import Database

CHANNEL = notices.TELEGRAM


async def unsent(db: Database) -> list[outbox.OutboxRow]:
    async with db.read() as conn:
        return await outbox.unsent(conn, CHANNEL)


async def test_a_notice_is_written_only_if_its_transaction_commits(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await notices.post(conn, notices.text(notices.group(), "dispatch.queue.empty"))
            raise RuntimeError("the change failed")
    assert await unsent(db) == []
    async with db.transaction() as conn:
        await notices.post(conn, notices.text(notices.group(), "dispatch.queue.empty"))
    (row,) = await unsent(db)
    assert (row.recipient_kind, row.recipient_ref, row.kind) == ("group", "dispatch", "text")
    assert notices.render_text(row.body, "en") and row.state == outbox.PENDING


async def test_commit_of_a_notice_wakes_the_worker(db: Database) -> None:
    db.outbox_ready.clear()
    async with db.transaction() as conn:
        await conn.execute("SELECT 1")
    assert not db.outbox_ready.is_set()  # a transaction without notices wakes nobody
    async with db.transaction() as conn:
        await notices.post(conn, notices.ticket_card(1))
    assert db.outbox_ready.is_set()


async def test_post_soon_joins_the_transaction_in_progress(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction():
            await notices.post_soon(db, notices.text(notices.chat(5), "dispatch.queue.empty"))
            raise RuntimeError("rolled back with the change")
    assert await unsent(db) == []
    await notices.post_soon(db, notices.text(notices.chat(5), "dispatch.queue.empty"))
    assert len(await unsent(db)) == 1


async def test_claim_then_mark_sent_records_the_message(db: Database) -> None:
    async with db.transaction() as conn:
        await notices.post(conn, notices.text(notices.person(3), "dispatch.queue.empty"))
    (row,) = await unsent(db)
    async with db.transaction() as conn:
        assert await outbox.claim(conn, row.id)
    (claimed,) = await unsent(db)  # still unsent: a crash now sends it again
    assert claimed.state == outbox.SENDING and claimed.attempts == 1
    async with db.transaction() as conn:
        await outbox.mark_sent(conn, row.id, chat_id=77, message_id=9)
        assert not await outbox.claim(conn, row.id)  # sent rows are never taken again
    assert await unsent(db) == []
    async with db.read() as conn:
        done = await outbox.get(conn, row.id)
    assert done is not None and (done.state, done.chat_id, done.message_id) == ("sent", 77, 9)


async def test_a_failed_row_keeps_its_error_and_is_not_retried(db: Database) -> None:
    async with db.transaction() as conn:
        await notices.post(conn, notices.text(notices.person(3), "dispatch.queue.empty"))
    (row,) = await unsent(db)
    async with db.transaction() as conn:
        await outbox.mark_failed(conn, row.id, "Forbidden: bot was blocked by the user")
    assert await unsent(db) == []
    async with db.read() as conn:
        rows = await conn.execute_fetchall("SELECT state, error FROM outbox")
    assert tuple(rows[0]) == ("failed", "Forbidden: bot was blocked by the user")


async def test_edits_of_one_card_are_coalesced_while_pending(db: Database) -> None:
    for _ in range(3):
        async with db.transaction() as conn:
            await notices.post(conn, notices.ticket_card(7))
    async with db.transaction() as conn:
        await notices.post(conn, notices.ticket_card(8))
    rows = await unsent(db)
    assert [r.target for r in rows] == ["ticket_card:7", "ticket_card:8"]
    # Once the card's row is being sent, a change queues one new edit (it may have read the
    # ticket before the change); further changes coalesce into that one.
    async with db.transaction() as conn:
        assert await outbox.claim(conn, rows[0].id)
    for _ in range(2):
        async with db.transaction() as conn:
            await notices.post(conn, notices.ticket_card(7))
    rows = await unsent(db)
    assert [(r.target, r.state) for r in rows] == [
        ("ticket_card:7", "sending"),
        ("ticket_card:8", "pending"),
        ("ticket_card:7", "pending"),
    ]


async def test_a_pending_edit_is_replaced_by_the_latest(db: Database) -> None:
    async with db.transaction() as conn:
        await notices.post(
            conn, notices.Notice(notices.chat(1), parts=(("dispatch.queue.empty", {}),), target="x")
        )
        await notices.post(
            conn, notices.Notice(notices.chat(1), parts=(("form.expired", {}),), target="x")
        )
    (row,) = await unsent(db)
    assert row.body["parts"] == [["form.expired", {}]]


async def test_a_role_is_expanded_into_one_notice_per_active_person(db: Database) -> None:
    async with db.transaction() as conn:
        first = await people.bind_person(conn, 11, "甲", Role.MANAGER, "zh-CN")
        await people.bind_person(conn, 12, "乙", Role.MANAGER, "en")
        await people.bind_person(conn, 13, "丙", Role.TECHNICIAN, "zh-CN")
        await notices.post(conn, notices.text(notices.role("manager"), "dispatch.queue.empty"))
    rows = await unsent(db)
    assert len(rows) == 2 and all(r.recipient_kind == "person" for r in rows)
    assert str(first.id) in {r.recipient_ref for r in rows}


def test_parameters_are_translated_at_delivery() -> None:
    notice = notices.text(
        notices.group(),
        "dispatch.alert.warning",
        kind="SLA-ARRIVE",
        id=3,
        name="王",
        due="11-26 10:00",
        technician="张伟",
        what=notices.tr("dispatch.deadline.SLA-ARRIVE"),
    )
    body = notice.body()
    zh, en = notices.render_text(body, "zh-CN"), notices.render_text(body, "en")
    assert zh != en and "#3" in zh and "#3" in en
    choice = notices.by_language(zh_CN="迟到", en="late")
    assert notices.localize("en", choice) == "late"
    assert notices.localize("zh-CN", choice) == "迟到"


async def test_a_ticket_change_queues_its_notices_with_it_and_a_refusal_none(
    config, db: Database
) -> None:
    from dataclasses import replace

    from bot.domain.dispatch_models import NewCustomer, NewTicket
    from bot.services import Services, dispatching, promises

    services = Services(config=replace(config), db=db)
    customer = await dispatching.create_customer(
        services, NewCustomer(name="税务局", customer_class="industry")
    )
    ticket = await dispatching.open_ticket(
        services,
        NewTicket(
            customer_id=customer, fault="蓝屏", hardware=True, major=False, brand=False, tool=False
        ),
        None,
    )
    (card,) = await unsent(db)  # the card was queued by the transaction that opened the ticket
    assert card.kind == notices.TICKET_CARD and card.body["ref"] == {"ticket": ticket}

    def tell(view):  # noqa: ANN001, ANN202
        return [notices.text(notices.group(), "promises.move.note", note=view.customer_name)]

    with pytest.raises(dispatching.DispatchError):
        await promises.move(services, ticket, "assign", None, "dispatcher", tell=tell)
    assert [r.id for r in await unsent(db)] == [card.id]  # refused: nothing more queued
    await promises.move(services, ticket, "resolve_by_phone", None, "dispatcher", tell=tell)
    rows = await unsent(db)
    # The group's notice joins the queue; the card edit coalesces into the waiting card row.
    assert [r.kind for r in rows] == [notices.TICKET_CARD, notices.TEXT]
    assert notices.render_text(rows[1].body, "zh-CN").endswith("税务局")


async def test_prune_forgets_old_delivered_rows_only(db: Database) -> None:
    async with db.transaction() as conn:
        await notices.post(conn, notices.text(notices.chat(1), "dispatch.queue.empty"))
        await notices.post(conn, notices.text(notices.chat(2), "dispatch.queue.empty"))
    first, second = await unsent(db)
    async with db.transaction() as conn:
        await outbox.mark_sent(conn, first.id, 1, 5)
        await conn.execute("UPDATE outbox SET sent_at = '2020-01-01T00:00:00+00:00'")
    async with db.transaction() as conn:
        assert await outbox.prune(conn, "2021-01-01T00:00:00+00:00") == 1
    assert [r.id for r in await unsent(db)] == [second.id]  # unsent rows are never pruned
