"""The repair desk on a temporary database: register, move, explain, spares, complaints, board."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.config import Config
from bot.domain import repairs
from bot.domain.dispatch_models import NewCustomer
from bot.domain.repair_models import NewItem
from bot.services import Services
from bot.services import repair_service as desk
from bot.services.repair_service import RepairError
from storage import complaints, customers, people, spares
from storage import repairs as store
from storage.db import Database

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 in Chengdu, a Tuesday


@pytest.fixture
def services(config: Config, db: Database) -> Services:
    clock = {"now": NOW}
    svc = Services(config=config, db=db, clock=lambda: clock["now"])
    svc.moment = clock  # type: ignore[attr-defined]
    return svc


def advance(services: Services, **delta: float) -> None:
    services.moment["now"] += timedelta(**delta)  # type: ignore[attr-defined]


async def customer(services: Services, name: str, cls: str = "industry", kind: str = "") -> int:
    async with services.db.transaction() as conn:
        return await customers.insert(conn, NewCustomer(name=name, customer_class=cls, kind=kind))


async def person(services: Services, name: str, role: str = "technician") -> int:
    async with services.db.transaction() as conn:
        if role == "technician":
            return await people.ensure_technician(conn, name)
        cur = await conn.execute(
            "INSERT INTO people (name, role, created_at) VALUES (?, ?, ?)",
            (name, role, NOW.isoformat()),
        )
        return int(cur.lastrowid)


def new_item(customer_id: int = 0, **overrides) -> NewItem:
    values = dict(
        customer_id=customer_id,
        product="联想 启天 M428",
        fault="不开机",
        packaging="none",
        specification="i5/8G",
        serial="SN123",
        accessories=("电源线", "鼠标"),
        photos=("photo-1",),
    )
    values.update(overrides)
    return NewItem(**values)


async def item_count(services: Services) -> int:
    async with services.db.read() as conn:
        rows = await conn.execute_fetchall("SELECT count(*) FROM repair_items")
    return rows[0][0]


async def test_register_allocates_vouchers_and_the_expected_date(services: Services) -> None:
    tax = await customer(services, "税务局")
    county = await customer(services, "简阳县公司", "agent", "county")
    tech = await person(services, "张伟")
    first = await desk.register_item(services, new_item(tax), tech)
    second = await desk.register_item(services, new_item(tax, inside_region=False), tech)
    third = await desk.register_item(services, new_item(county), tech)
    assert first.voucher_no == "FX-20261201-0001"
    assert second.voucher_no == "FX-20261201-0002"
    assert third.voucher_no is None  # RMA-VOUCHER: county companies need none
    assert first.expected_back == date(2026, 12, 9)  # 7-8 days within Sichuan
    assert second.expected_back == date(2026, 12, 16)  # 10-15 days outside
    assert first.accessories == ("电源线", "鼠标") and first.state == "received"
    assert first.taken_in_by == tech and first.holder_id == tech and first.taken_in_at == NOW
    assert len(first.token) >= 16 and first.token != second.token
    async with services.db.read() as conn:
        assert await store.photos_of(conn, first.id) == ["photo-1"]
        rows = await store.transitions_of(conn, first.id)
    assert [(r["event"], r["to_state"], r["by_person"]) for r in rows] == [
        ("register", "received", tech)
    ]


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"product": "  "}, "repairs.error.product_required"),
        ({"fault": ""}, "repairs.error.fault_required"),
        ({"packaging": "box"}, "repairs.error.packaging"),
        ({"item_kind": "toaster"}, "repairs.error.item_kind"),
        ({"purchase_date": date(2027, 1, 1)}, "repairs.error.purchase_future"),
        ({"customer_id": 999}, "repairs.error.customer_unknown"),
    ],
)
async def test_register_refuses_incomplete_items(services: Services, overrides, key) -> None:
    tax = await customer(services, "税务局")
    with pytest.raises(RepairError) as info:
        await desk.register_item(services, new_item(**{"customer_id": tax, **overrides}), None)
    assert info.value.key == key
    assert await item_count(services) == 0


async def test_the_upstream_path_records_who_and_when(services: Services) -> None:
    tax = await customer(services, "税务局")
    tech = await person(services, "张伟")
    office = await person(services, "王芳", "dispatcher")
    item = await desk.register_item(services, new_item(tax), tech)
    with pytest.raises(repairs.GuardFailed) as info:
        await desk.move_item(services, item.id, "send_up", "dispatcher", office, repairs.Step())
    assert info.value.code == "shipment_required"
    advance(services, hours=5)
    sent = await desk.move_item(
        services,
        item.id,
        "send_up",
        "dispatcher",
        office,
        repairs.Step(shipment="顺丰 SF1001", accessories_sent=("电源线",)),
    )
    assert sent.state == "sent_up" and sent.holder_id == office and sent.sent_by == office
    assert sent.accessories_sent == ("电源线",) and sent.shipment == "顺丰 SF1001"
    with pytest.raises(RepairError):
        await desk.confirm_upstream(services, 999, office)
    await desk.confirm_upstream(services, item.id, office)
    advance(services, days=6)
    back = await desk.move_item(
        services, item.id, "come_back", "dispatcher", office, repairs.Step(outcome="new")
    )
    assert back.state == "back" and back.outcome == "new"
    with pytest.raises(repairs.GuardFailed):
        await desk.move_item(
            services, item.id, "return", "technician", tech, repairs.Step(signoff="unsigned")
        )
    done = await desk.move_item(
        services,
        item.id,
        "return",
        "technician",
        tech,
        repairs.Step(signoff="unsigned", note="客户出差，由门卫代收"),
    )
    assert done.state == "returned" and done.finished_at == services.now()
    with pytest.raises(repairs.IllegalTransition):
        await desk.move_item(services, item.id, "lose", "manager", 1, repairs.Step(note="x"))
    async with services.db.read() as conn:
        rows = await store.transitions_of(conn, item.id)
    assert [
        (r["event"], r["from_state"], r["to_state"], r["by_person"], r["role"]) for r in rows
    ] == [
        ("register", None, "received", tech, "desk"),
        ("send_up", "received", "sent_up", office, "dispatcher"),
        ("come_back", "sent_up", "back", office, "dispatcher"),
        ("return", "back", "returned", tech, "technician"),
    ]
    assert rows[-1]["note"] == "客户出差，由门卫代收"


async def test_a_county_item_cannot_be_signed_off_with_a_voucher(services: Services) -> None:
    county = await customer(services, "简阳县公司", "agent", "county")
    item = await desk.register_item(services, new_item(county), None)
    await desk.move_item(services, item.id, "repair_here", "technician", None)
    await desk.move_item(services, item.id, "repaired", "technician", None)
    with pytest.raises(repairs.GuardFailed) as info:
        await desk.move_item(
            services, item.id, "return", "dispatcher", None, repairs.Step(signoff="voucher")
        )
    assert info.value.code == "no_voucher"
    shipped = await desk.move_item(
        services,
        item.id,
        "return",
        "dispatcher",
        None,
        repairs.Step(signoff="shipped", shipment="川A 12345，随货清单1份"),
    )
    assert shipped.state == "returned"


async def test_concurrent_moves_one_wins(services: Services) -> None:
    tax = await customer(services, "税务局")
    item = await desk.register_item(services, new_item(tax), None)
    results = await asyncio.gather(
        desk.move_item(services, item.id, "repair_here", "technician", None),
        desk.move_item(services, item.id, "repair_here", "technician", None),
        return_exceptions=True,
    )
    assert sum(isinstance(r, repairs.IllegalTransition) for r in results) == 1
    async with services.db.read() as conn:
        assert len(await store.transitions_of(conn, item.id)) == 2


async def test_refund_asks_the_policy_desk(services: Services) -> None:
    local = await customer(services, "成都本地公司", "agent", "local")
    manager = await person(services, "李经理", "manager")
    recent = await desk.register_item(
        services, new_item(local, purchase_date=date(2026, 11, 26)), None
    )
    moved = await desk.move_item(services, recent.id, "refund", "dispatcher", None)
    assert moved.state == "refunded"  # POL-7DAY: a fault 5 days after the sale
    old = await desk.register_item(services, new_item(local, purchase_date=date(2026, 10, 1)), None)
    with pytest.raises(repairs.GuardFailed) as info:
        await desk.move_item(services, old.id, "swap", "dispatcher", None)
    assert info.value.code == "policy_closed"
    swapped = await desk.move_item(
        services, old.id, "swap", "manager", manager, repairs.Step(note="上家同意换新")
    )
    assert swapped.state == "swapped"
    opened = await desk.register_item(
        services, new_item(local, purchase_date=date(2026, 11, 30), item_kind="mouse"), None
    )
    with pytest.raises(repairs.GuardFailed):  # POL-OPENED
        await desk.move_item(services, opened.id, "refund", "dispatcher", None, condition="opened")


async def test_answer_and_explanation_meet_their_promises(services: Services) -> None:
    tax = await customer(services, "税务局", "other")
    tech = await person(services, "张伟")
    item = await desk.register_item(services, new_item(tax), tech)
    assert await desk.record_answer(services, item.id, "主板送修，12月9日前返还", tech)
    assert not await desk.record_answer(services, item.id, "主板送修，12月10日前返还", tech)
    with pytest.raises(RepairError):
        await desk.record_answer(services, item.id, "好", tech)
    advance(services, days=10)
    rules = {s.promise.rule for s in await desk.timer_pass(services)}
    assert "RMA-10DAY" in rules and "SLA-TAKEBACK" not in rules
    with pytest.raises(RepairError) as info:
        await desk.record_explanation(services, item.id, "等配件", date(2026, 12, 1), True, tech)
    assert info.value.key == "repairs.error.date_past"
    explained = await desk.record_explanation(
        services, item.id, "上家缺货，等配件", date(2026, 12, 18), True, tech
    )
    assert explained.first and explained.item.expected_back == date(2026, 12, 18)
    again = await desk.record_explanation(
        services, item.id, "配件已到，正在维修", date(2026, 12, 15), True, tech
    )
    assert not again.first
    advance(services, days=15)
    assert {s.promise.rule for s in await desk.timer_pass(services)} <= {"RMA-10DAY"}
    stages = {(s.promise.rule, s.stage) for s in await desk.timer_pass(services)}
    assert ("RMA-10DAY", "due") not in stages and ("RMA-20DAY", "due") not in stages


async def test_spare_loans(services: Services) -> None:
    tax = await customer(services, "税务局")
    item = await desk.register_item(services, new_item(tax), None)
    other = await desk.register_item(services, new_item(tax), None)
    spare = await desk.add_spare(services, "备用机 A", "machine", "SPARE-1")
    with pytest.raises(RepairError) as info:
        await desk.lend_spare(services, spare, item.id, " ", None)
    assert info.value.key == "repairs.error.receipt_required"
    loan = await desk.lend_spare(services, spare, item.id, "receipt-photo", None)
    with pytest.raises(RepairError) as info:
        await desk.lend_spare(services, spare, other.id, "receipt-photo-2", None)
    assert info.value.key == "repairs.error.spare_busy"
    got = await store_item(services, item.id)
    assert got.spare_settled_at == NOW
    await desk.move_item(services, item.id, "repair_here", "technician", None)
    await desk.move_item(services, item.id, "repaired", "technician", None)
    await desk.move_item(
        services, item.id, "return", "technician", None, repairs.Step(signoff="voucher")
    )
    page = await desk.board(services)
    assert [loan.spare_name for loan in page.spares_due] == ["备用机 A"]
    closed = await desk.return_spare(services, loan, None)
    assert closed.returned_at == NOW
    with pytest.raises(RepairError) as info:
        await desk.return_spare(services, loan, None)
    assert info.value.key == "repairs.error.loan_closed"
    assert (await desk.board(services)).spares_due == ()
    await desk.decline_spare(services, other.id, "客户不需要", None)
    assert (await store_item(services, other.id)).spare_settled_at == NOW


async def store_item(services: Services, item_id: int) -> store.Item:
    async with services.db.read() as conn:
        found = await store.get(conn, item_id)
    assert found is not None
    return found


async def test_complaint_flow_records_one_deduction(services: Services) -> None:
    tax = await customer(services, "税务局")
    tech = await person(services, "张伟")
    manager = await person(services, "李经理", "manager")
    with pytest.raises(RepairError):
        await desk.register_complaint(services, tax, "迟到两小时", "delay", manager, manager)
    complaint = await desk.register_complaint(services, tax, "迟到两小时", "delay", tech, manager)
    with pytest.raises(RepairError) as info:
        await desk.verify_complaint(services, complaint, "核实属实", manager)
    assert info.value.key == "repairs.error.complaint_not_acknowledged"
    with pytest.raises(RepairError) as info:
        await desk.decide_complaint(services, complaint, True, "属实", manager)
    assert info.value.key == "repairs.error.complaint_not_verified"
    advance(services, hours=2)
    await desk.acknowledge_complaint(services, complaint, manager)
    with pytest.raises(RepairError):
        await desk.acknowledge_complaint(services, complaint, manager)
    await desk.verify_complaint(services, complaint, "客户电话核实属实", manager)
    ack, verify = await desk.complaint_promises_of(services, complaint)
    assert ack.met_at is not None and verify.met_at is not None
    decided = await desk.decide_complaint(services, complaint, True, "投诉属实", manager)
    assert decided.complaint.result == "upheld" and decided.event is not None
    assert decided.event.event.rule == "DED-COMPLAINT"
    assert decided.complaint.event_id == decided.event.event.id
    with pytest.raises(RepairError) as info:
        await desk.decide_complaint(services, complaint, True, "投诉属实", manager)
    assert info.value.key == "repairs.error.complaint_decided"
    assert await deduction_count(services) == 1


async def test_a_decision_interrupted_before_its_event_finishes_once(services: Services) -> None:
    tax = await customer(services, "税务局")
    tech = await person(services, "张伟")
    complaint = await desk.register_complaint(services, tax, "态度差", "conduct", tech, None)
    await desk.acknowledge_complaint(services, complaint, None)
    await desk.verify_complaint(services, complaint, "属实", None)
    async with services.db.transaction() as conn:  # the result committed, then a crash
        await complaints.decide(conn, complaint, "upheld", "属实", None, services.now())
    finished = await desk.decide_complaint(services, complaint, True, "属实", None)
    assert finished.event is not None and await deduction_count(services) == 1
    rejected = await desk.register_complaint(services, tax, "等太久", "delay", tech, None)
    await desk.acknowledge_complaint(services, rejected, None)
    await desk.verify_complaint(services, rejected, "不属实", None)
    result = await desk.decide_complaint(services, rejected, False, "不属实", None)
    assert result.event is None and await deduction_count(services) == 1


async def deduction_count(services: Services) -> int:
    async with services.db.read() as conn:
        rows = await conn.execute_fetchall(
            "SELECT count(*) FROM events WHERE rule = 'DED-COMPLAINT' AND voided = 0"
        )
    return rows[0][0]


async def test_board_pages_open_items_oldest_first(services: Services) -> None:
    tax = await customer(services, "税务局")
    tech = await person(services, "张伟")
    ids = []
    for _ in range(45):
        ids.append((await desk.register_item(services, new_item(tax), tech)).id)
        advance(services, minutes=10)
    await desk.move_item(services, ids[0], "lose", "manager", None, repairs.Step(note="丢失"))
    advance(services, days=2)
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        page = await desk.board(services, cursor, 20)
        pages += 1
        assert page.total_open == 44
        seen += [line.item.id for line in page.lines]
        for line in page.lines:
            assert line.days_in == 2 and line.holder == "张伟"
            # Unanswered, SLA-TAKEBACK is overdue: still the most urgent promise.
            assert line.next_promise is not None and line.next_promise.rule == "SLA-TAKEBACK"
            assert line.next_promise.due_at < services.now()
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == 3 and seen == ids[1:]


async def test_customer_view_by_token(services: Services) -> None:
    tax = await customer(services, "税务局")
    item = await desk.register_item(services, new_item(tax), None)
    view = await desk.customer_view(services, item.token)
    assert view is not None and view.voucher_no == item.voucher_no and not view.back
    assert view.expected_back == date(2026, 12, 9)
    assert await desk.customer_view(services, "no-such-token") is None


async def test_vouchers_stay_unique_when_registered_at_once(services: Services) -> None:
    tax = await customer(services, "税务局")
    items = await asyncio.gather(
        *(desk.register_item(services, new_item(tax), None) for _ in range(12))
    )
    numbers = sorted(item.voucher_no for item in items)
    assert numbers == [f"FX-20261201-{n:04d}" for n in range(1, 13)]
    advance(services, days=1)
    assert (
        await desk.register_item(services, new_item(tax), None)
    ).voucher_no == "FX-20261202-0001"


async def test_the_board_reads_open_items_by_index(services: Services) -> None:
    async with services.db.read() as conn:
        first = await conn.execute_fetchall(
            "EXPLAIN QUERY PLAN " + store.open_page_sql(False), (20,)
        )
        later = await conn.execute_fetchall(
            "EXPLAIN QUERY PLAN " + store.open_page_sql(True), ("", 0, 20)
        )
    plan = [*first, *later]
    detail = " ".join(str(row[-1]) for row in plan)
    assert "repair_items_open" in detail and "TEMP B-TREE" not in detail
    assert "taken_in_at>" in " ".join(str(row[-1]) for row in later)  # later pages seek


async def test_unexplained_items_record_their_rule_once(services: Services) -> None:
    tax = await customer(services, "税务局", "other")
    tech = await person(services, "张伟")
    office = await person(services, "王芳", "dispatcher")
    item = await desk.register_item(services, new_item(tax), tech)
    explained = await desk.register_item(services, new_item(tax), tech)
    by_office = await desk.register_item(services, new_item(tax), office)
    await desk.record_explanation(services, explained.id, "等配件", date(2026, 12, 20), True, tech)
    advance(services, days=11)
    first = await desk.record_promise_event(services, item.id, "RMA-10DAY")
    again = await desk.record_promise_event(services, item.id, "RMA-10DAY")
    assert first is not None and again is not None and first.event.id == again.event.id
    assert first.event.rule == "RMA-10DAY" and first.event.technician == "张伟"
    assert await desk.record_promise_event(services, explained.id, "RMA-10DAY") is None
    with pytest.raises(RepairError) as info:
        await desk.record_promise_event(services, by_office.id, "RMA-10DAY")
    assert info.value.key == "repairs.error.receiver_not_technician"
    with pytest.raises(ValueError):
        await desk.record_promise_event(services, item.id, "RMA-LOST")
    async with services.db.read() as conn:
        rows = await conn.execute_fetchall("SELECT count(*) FROM events WHERE rule = 'RMA-10DAY'")
    assert rows[0][0] == 1


async def test_register_refuses_an_unknown_ticket(services: Services) -> None:
    tax = await customer(services, "税务局")
    with pytest.raises(RepairError) as info:
        await desk.register_item(services, new_item(tax, ticket_id=404), None)
    assert info.value.key == "repairs.error.ticket_unknown"


async def test_a_lost_item_is_paid_once(services: Services) -> None:
    tax = await customer(services, "税务局")
    tech = await person(services, "张伟")
    await person(services, "王芳", "dispatcher")
    item = await desk.register_item(services, new_item(tax), tech)
    with pytest.raises(RepairError) as info:
        await desk.record_loss(services, item.id, 30000, False, None)
    assert info.value.key == "repairs.error.not_lost"
    await desk.move_item(services, item.id, "lose", "manager", None, repairs.Step(note="找不到"))
    first = await desk.record_loss(services, item.id, 30000, False, None)
    again = await desk.record_loss(services, item.id, 30000, False, None)
    assert first.event.id == again.event.id and first.event.technician == "张伟"
    assert first.event.amount_fen == 30000
    other = await desk.register_item(services, new_item(tax), tech)
    await desk.move_item(services, other.id, "lose", "manager", None, repairs.Step(note="找不到"))
    shared = await desk.record_loss(services, other.id, 10001, True, None)
    assert sorted(fen for _, _, fen in shared.shares) == [5000, 5001]


async def test_warranty_verdict_and_override(services: Services) -> None:
    tax = await customer(services, "税务局")
    item = await desk.register_item(services, new_item(tax, purchase_date=date(2026, 3, 1)), None)
    verdict = desk.warranty_of(services, item)
    assert verdict.in_warranty and verdict.reason == "in_period"
    overridden = await desk.override_warranty(services, item.id, False, "外壳摔裂，人为损坏", None)
    assert not overridden.in_warranty and overridden.overridden
    assert overridden.note == "外壳摔裂，人为损坏" and overridden.charges.parts_paid
    with pytest.raises(RepairError):
        await desk.override_warranty(services, item.id, True, " ", None)


async def test_spare_list_and_complaint_counts(services: Services) -> None:
    tax = await customer(services, "税务局")
    tech = await person(services, "张伟")
    item = await desk.register_item(services, new_item(tax), tech)
    first = await desk.add_spare(services, "备用机 A")
    await desk.add_spare(services, "备用显示器", "monitor")
    with pytest.raises(RepairError):
        await desk.add_spare(services, "备用烤箱", "toaster")
    await desk.lend_spare(services, first, item.id, "receipt", tech)
    async with services.db.read() as conn:
        listed = {s.name: s.lent_to for s in await spares.listing(conn)}
    assert listed == {"备用机 A": "税务局", "备用显示器": None}
    for upheld in (True, True, False):
        complaint = await desk.register_complaint(services, tax, "态度差", "conduct", tech, None)
        await desk.acknowledge_complaint(services, complaint, None)
        await desk.verify_complaint(services, complaint, "核实", None)
        await desk.decide_complaint(services, complaint, upheld, "结论", None)
    async with services.db.read() as conn:
        counts = await complaints.upheld_counts(
            conn, NOW - timedelta(days=1), NOW + timedelta(days=1)
        )
        later = await complaints.upheld_counts(
            conn, NOW + timedelta(days=1), NOW + timedelta(days=2)
        )
        still_open = await complaints.open_complaints(conn)
    assert counts == {"张伟": 2} and later == {} and still_open == []
