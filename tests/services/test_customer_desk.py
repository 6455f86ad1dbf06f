"""The customer's side of the desk through the services: a linked customer files their own
complaint (timers, the desk told, their own records only, the open limit) and a ticket's
warranty verdict overridden with a note (who may, who and when kept, the card, the item)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.domain import cards
from bot.domain.dispatch_models import NewCustomer, NewTicket
from bot.domain.models import Role
from bot.domain.repair_timers import CMP_ACK, CMP_VERIFY
from bot.services import customer_complaints, dispatching, repair_service, ticket_warranty
from bot.services.repair_service import RepairError
from storage import complaints, deadlines, tickets
from storage import identities as identity_store
from tests.services.conftest import NOW, SITE, Station
from tests.services.fake_channel import CHANNEL

SHOP, OTHER_SHOP = "shop-chat", "other-chat"


async def customer_with_ticket(station: Station, name: str, chat: str | None) -> tuple[int, int]:
    """A new customer with one ticket assigned to the technician; their chat linked if given."""
    services = station.services
    new = NewTicket(0, "开不了机", True, False, False, False)
    ticket_id = await dispatching.open_ticket(
        services, new, station.dispatcher, NewCustomer(name, "other", site=SITE)
    )
    await dispatching.assign(services, ticket_id, station.tech, station.dispatcher, "dispatcher")
    async with services.db.transaction() as conn:
        customer_id = (await tickets.ticket_for_visit(conn, ticket_id)).customer_id
        if chat is not None:
            await identity_store.link_customer(conn, CHANNEL, chat, customer_id)
    return customer_id, ticket_id


async def desk_notices(station: Station) -> list:
    async with station.services.db.read() as conn:
        rows = await conn.execute_fetchall(
            "SELECT recipient_kind, recipient_ref, body FROM outbox ORDER BY id"
        )
    return [r for r in rows if "custdesk.cmp.desk_notice" in r[2]]


async def test_a_linked_customer_files_against_their_own_visit(station: Station) -> None:
    services = station.services
    customer_id, ticket_id = await customer_with_ticket(station, "蓝海网吧", SHOP)
    assert await customer_complaints.customer_of(services, CHANNEL, SHOP) == customer_id
    [subject] = await customer_complaints.subjects(services, customer_id)
    assert (subject.kind, subject.id, subject.technician) == ("t", ticket_id, "张伟")

    filed = await customer_complaints.file(
        services, CHANNEL, SHOP, "  技术员 迟到两小时 ", "conduct", ("t", ticket_id)
    )
    assert filed.customer_id == customer_id and filed.technician == "张伟"
    assert filed.ack_due == NOW + timedelta(hours=services.config.repairs.complaint_ack_hours)
    async with services.db.read() as conn:
        found = await complaints.get(conn, filed.complaint_id)
        due = await deadlines.pending_for(conn, (CMP_ACK, CMP_VERIFY), [filed.complaint_id])
    assert found.by_customer and found.registered_by is None
    assert (found.customer_id, found.ticket_id, found.technician_id) == (
        customer_id,
        ticket_id,
        station.tech,
    )
    assert found.content == "技术员 迟到两小时" and found.category == "conduct"
    assert set(due) == {(CMP_ACK, filed.complaint_id), (CMP_VERIFY, filed.complaint_id)}
    # The desk hears of it through the outbox, in the same transaction: here (no manager with
    # a chat on record) the configured admins.
    notices = await desk_notices(station)
    admins = [("chat", str(admin)) for admin in services.config.admins]
    assert admins and [(kind, ref) for kind, ref, _ in notices] == admins

    # A class about the station, not the site: no technician is named.
    delay = await customer_complaints.file(
        services, CHANNEL, SHOP, "等太久", "delay", ("t", ticket_id)
    )
    assert delay.technician is None


async def test_a_customer_never_files_for_another_customer(station: Station) -> None:
    services = station.services
    await customer_with_ticket(station, "蓝海网吧", SHOP)
    other_id, other_ticket = await customer_with_ticket(station, "七中", OTHER_SHOP)
    for subject in (("t", other_ticket), ("t", 999), ("i", 999), ("x", 1)):
        with pytest.raises(RepairError) as refused:
            await customer_complaints.file(services, CHANNEL, SHOP, "收费太高", "charges", subject)
        assert refused.value.key == "custdesk.cmp.not_yours"
    own_id = await customer_complaints.customer_of(services, CHANNEL, SHOP)
    await customer_complaints.check_subject(services, other_id, "t", other_ticket)
    for kind, number in (("t", other_ticket), ("i", 1), ("t", 999), ("x", other_ticket)):
        with pytest.raises(RepairError) as refused:
            await customer_complaints.check_subject(services, own_id, kind, number)
        assert refused.value.key == "custdesk.cmp.not_yours"
    # Strangers and staff have no customer to file for.
    for sender in ("nobody", "tech"):
        assert await customer_complaints.customer_of(services, CHANNEL, sender) is None
        with pytest.raises(RepairError) as refused:
            await customer_complaints.file(services, CHANNEL, sender, "收费太高", "charges")
        assert refused.value.key == "custdesk.cmp.not_linked"
    async with services.db.read() as conn:
        assert (await conn.execute_fetchall("SELECT count(*) FROM complaints"))[0][0] == 0
    assert await desk_notices(station) == []


async def test_open_complaints_per_customer_are_limited(station: Station) -> None:
    services = station.services
    await customer_with_ticket(station, "蓝海网吧", SHOP)
    limit = services.config.repairs.customer_open_complaints
    filed = [
        await customer_complaints.file(services, CHANNEL, SHOP, f"问题 {n}", "other")
        for n in range(limit)
    ]
    with pytest.raises(RepairError) as refused:
        await customer_complaints.file(services, CHANNEL, SHOP, "又一个问题", "other")
    assert refused.value.key == "custdesk.cmp.too_many" and refused.value.values == {"limit": limit}
    # Bad input is refused before anything is counted or written.
    with pytest.raises(RepairError) as refused:
        await customer_complaints.file(services, CHANNEL, SHOP, " 啊 ", "other")
    assert refused.value.key == "repairs.error.complaint_required"
    # One decided: room for one more.
    first = filed[0].complaint_id
    await repair_service.acknowledge_complaint(services, first, station.dispatcher)
    await repair_service.verify_complaint(services, first, "已核实", station.dispatcher)
    await repair_service.decide_complaint(services, first, False, "已解释", station.dispatcher)
    assert await customer_complaints.file(services, CHANNEL, SHOP, "又一个问题", "other")


async def test_ticket_override_who_may_and_what_follows(station: Station) -> None:
    services = station.services
    _, ticket_id = await customer_with_ticket(station, "蓝海网吧", None)
    async with services.db.transaction() as conn:
        cur = await conn.execute(
            "INSERT INTO machines (customer_id, purchase_date) VALUES (?, '2025-06-01')",
            ((await tickets.ticket_for_visit(conn, ticket_id)).customer_id,),
        )
        await conn.execute(
            "UPDATE tickets SET machine_id = ? WHERE id = ?", (cur.lastrowid, ticket_id)
        )
    before = await ticket_warranty.ticket_verdict(services, ticket_id)
    assert not before.verdict.in_warranty and before.verdict.reason == "expired"
    assert before.override is None

    manager = frozenset({Role.MANAGER})
    technician = frozenset({Role.TECHNICIAN})
    dispatcher = frozenset({Role.DISPATCHER})
    for roles, person in ((dispatcher, station.dispatcher), (technician, station.other_tech)):
        with pytest.raises(RepairError) as refused:
            await ticket_warranty.override(services, ticket_id, True, "延保卡", roles, person)
        assert refused.value.key == "custdesk.wty.override_role"
    with pytest.raises(RepairError) as refused:
        await ticket_warranty.override(services, ticket_id, True, " ", technician, station.tech)
    assert refused.value.key == "repairs.error.reason_required"
    with pytest.raises(RepairError) as refused:
        await ticket_warranty.override(services, 999, True, "延保卡", manager, station.manager)
    assert refused.value.key == "repairs.error.ticket_unknown"
    async with services.db.read() as conn:
        assert (await conn.execute_fetchall("SELECT count(*) FROM ticket_warranty"))[0][0] == 0

    # The assigned technician overrides: who and when are kept; the card shows it.
    station.clock.set(NOW + timedelta(hours=1))
    after = await ticket_warranty.override(
        services, ticket_id, True, "客户有延保卡", technician, station.tech
    )
    assert after.verdict.in_warranty and after.verdict.reason == "overridden"
    assert after.verdict.note == "客户有延保卡"
    assert (after.override.by_name, after.override.at) == ("张伟", NOW + timedelta(hours=1))
    facts = await dispatching.card_facts(services, ticket_id)
    assert facts.in_warranty is True and facts.warranty_note == "客户有延保卡"
    assert "保修已改判：客户有延保卡" in cards.terms_text(facts, "zh-CN")

    # Taken back: the item inherits the override; a later one (a manager's) reaches it too.
    async with services.db.transaction() as conn:
        view = await tickets.ticket_for_visit(conn, ticket_id)
        item = await repair_service.register_taken_back(services, conn, view, station.tech)
    assert (item.warranty_in, item.warranty_note) == (True, "客户有延保卡")
    assert item.purchase_date == date(2025, 6, 1)
    verdict = repair_service.warranty_of(services, item)
    assert verdict.in_warranty and verdict.note == "客户有延保卡"
    await ticket_warranty.override(services, ticket_id, False, "外壳摔裂", manager, station.manager)
    found = await repair_service.item_of_ticket(services, ticket_id)
    assert (found.warranty_in, found.warranty_note) == (False, "外壳摔裂")
    async with services.db.read() as conn:
        rows = await conn.execute_fetchall(
            "SELECT in_warranty, by_person FROM ticket_warranty ORDER BY id"
        )
    assert [tuple(r) for r in rows] == [(1, station.tech), (0, station.manager)]
