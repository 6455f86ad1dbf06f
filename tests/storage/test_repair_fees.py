"""RWD-REVENUE of repairs done at the station on a temporary database: fees stored per item with
every version, the month's fees read in one query, the statement's lines, refusals that write
nothing, and a fee of a closed month carried into the first open one (ADJ-CLOSED)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.config import Config
from bot.domain import repairs
from bot.services import Services, repair_fees, statements
from bot.services import repair_service as desk
from bot.services.repair_service import RepairError
from storage import people
from storage import repair_fees as store
from storage.db import Database
from tests.storage.test_cli_statement import load_examples, run
from tests.storage.test_repairs import customer, new_item, person

NOV = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)  # 10:00 in Chengdu


@pytest.fixture
def services(config: Config, db: Database) -> Services:
    clock = {"now": NOV}
    svc = Services(config=config, db=db, clock=lambda: clock["now"])
    svc.moment = clock  # type: ignore[attr-defined]
    return svc


def at(services: Services, moment: datetime) -> None:
    services.moment["now"] = moment  # type: ignore[attr-defined]


async def repaired_here(services: Services, tech: int, returned: bool = True, **overrides) -> int:
    """An item taken in, repaired at the station by `tech` and (by default) returned."""
    tax = await customer(services, f"税务局{tech}{overrides.get('serial', '')}")
    item = await desk.register_item(services, new_item(tax, **overrides), tech)
    await desk.move_item(services, item.id, repairs.Event.REPAIR_HERE, "technician", tech)
    await desk.move_item(services, item.id, repairs.Event.REPAIRED, "technician", tech)
    if returned:
        step = repairs.Step(signoff=repairs.SignOff.VOUCHER)
        await desk.move_item(services, item.id, repairs.Event.RETURN, "technician", tech, step)
    return item.id


async def revenue_lines(services: Services, month: str, name: str) -> list[tuple[str, int]]:
    statement = await statements.compute(services.db, services.config, month)
    return [
        (line.ref, line.amount_fen)
        for tech in statement.technicians
        if tech.technician == name
        for line in tech.lines
        if line.rule == "RWD-REVENUE"
    ]


async def test_a_fee_is_stored_once_per_item_with_every_version(services: Services) -> None:
    zhang = await person(services, "张伟")
    item_id = await repaired_here(services, zhang)
    async with services.db.transaction() as conn:
        assert await store.put(conn, item_id, zhang, 20_000, 8_000, zhang, NOV)
        assert not await store.put(conn, item_id, zhang, 20_000, 8_000, zhang, NOV)  # same
        assert await store.put(conn, item_id, zhang, 25_000, 8_000, None, NOV)
    async with services.db.read() as conn:
        found = await store.of_item(conn, item_id)
        changes = await store.changes_of(conn, item_id)
        start = datetime(2026, 10, 31, 16, 0, tzinfo=UTC)
        month = await store.returned_between(conn, start, start + timedelta(days=30))
        other = await store.returned_between(conn, start, start + timedelta(days=30), ["李娜"])
    assert found is not None and (found.technician, found.fee_fen, found.parts_fen) == (
        "张伟",
        25_000,
        8_000,
    )
    assert [row["fee_fen"] for row in changes] == [20_000, 25_000]
    assert [(f.item_id, f.technician, f.fee_fen, f.parts_fen) for f in month] == [
        (item_id, "张伟", 25_000, 8_000)
    ]
    assert month[0].label.startswith("FX-") and month[0].returned_at == NOV
    assert other == []


async def test_the_database_refuses_negative_amounts(services: Services) -> None:
    zhang = await person(services, "张伟")
    item_id = await repaired_here(services, zhang)
    with pytest.raises(Exception, match="CHECK"):
        async with services.db.transaction() as conn:
            await store.put(conn, item_id, zhang, -1, 0, None, NOV)


async def test_the_fee_earns_the_repairer_ten_percent_on_the_return_month(
    services: Services,
) -> None:
    zhang = await person(services, "张伟")
    item_id = await repaired_here(services, zhang)
    at(services, datetime(2026, 12, 2, 2, 0, tzinfo=UTC))  # recorded in December
    recorded = await repair_fees.record_fee(services, item_id, 20_000, 8_050, None, "technician", 1)
    assert recorded.changed and recorded.technician == "张伟"
    assert recorded.reward_fen == 1_195 and recorded.month == "2026-11"
    assert recorded.carried_into is None
    assert await revenue_lines(services, "2026-11", "张伟") == [(f"repair {item_id}", 1_195)]
    assert await revenue_lines(services, "2026-12", "张伟") == []
    statement = await statements.compute(services.db, services.config, "2026-11")
    (zhang_statement,) = statement.technicians
    assert zhang_statement.reward_fen == 1_195 and zhang_statement.slips == 0
    data = statement.as_json()["technicians"][0]
    assert data["reward_fen"] == 1_195 and data["lines"][0]["ref"] == f"repair {item_id}"


async def test_another_technician_may_be_named_and_a_manager_changes_it(
    services: Services,
) -> None:
    zhang = await person(services, "张伟")
    await person(services, "李娜")
    item_id = await repaired_here(services, zhang)
    await repair_fees.record_fee(services, item_id, 10_000, 0, "李娜", "dispatcher", None)
    with pytest.raises(RepairError) as refused:
        await repair_fees.record_fee(services, item_id, 30_000, 0, None, "technician", zhang)
    assert refused.value.key == "repairfee.error.change_managers"
    same = await repair_fees.record_fee(services, item_id, 10_000, 0, None, "technician", zhang)
    assert not same.changed  # the same again is no change, whoever sends it
    changed = await repair_fees.record_fee(services, item_id, 30_000, 5_000, "张伟", "manager", 9)
    assert changed.changed and changed.reward_fen == 2_500
    assert await revenue_lines(services, "2026-11", "李娜") == []
    assert await revenue_lines(services, "2026-11", "张伟") == [(f"repair {item_id}", 2_500)]


async def test_a_fee_recorded_while_back_counts_when_it_is_returned(services: Services) -> None:
    zhang = await person(services, "张伟")
    item_id = await repaired_here(services, zhang, returned=False)
    recorded = await repair_fees.record_fee(services, item_id, 10_000, 2_000, None, "technician", 1)
    assert recorded.month is None and recorded.reward_fen == 800
    assert await revenue_lines(services, "2026-11", "张伟") == []
    at(services, datetime(2026, 12, 3, 2, 0, tzinfo=UTC))
    step = repairs.Step(signoff=repairs.SignOff.VOUCHER)
    await desk.move_item(services, item_id, repairs.Event.RETURN, "technician", zhang, step)
    assert await revenue_lines(services, "2026-12", "张伟") == [(f"repair {item_id}", 800)]


async def fee_rows(services: Services) -> int:
    async with services.db.read() as conn:
        rows = await conn.execute_fetchall("SELECT count(*) FROM repair_fee_changes")
    return rows[0][0]


async def test_in_warranty_work_is_refused_unless_overridden_out(services: Services) -> None:
    zhang = await person(services, "张伟")
    bought = date(2026, 6, 1)  # within a year of the intake
    item_id = await repaired_here(services, zhang, purchase_date=bought)
    with pytest.raises(RepairError) as refused:
        await repair_fees.record_fee(services, item_id, 10_000, 0, None, "technician", zhang)
    assert refused.value.key == "repairfee.refused.in_warranty"
    assert await fee_rows(services) == 0
    await desk.override_warranty(services, item_id, False, "外壳摔裂，人为损坏", zhang)
    recorded = await repair_fees.record_fee(services, item_id, 10_000, 0, None, "technician", 1)
    assert recorded.reward_fen == 1_000


async def test_the_warranty_is_judged_on_the_intake_day(services: Services) -> None:
    zhang = await person(services, "张伟")
    item_id = await repaired_here(services, zhang, purchase_date=date(2025, 11, 20))
    at(services, datetime(2026, 12, 2, 2, 0, tzinfo=UTC))  # out of warranty by now, not then
    with pytest.raises(RepairError) as refused:
        await repair_fees.record_fee(services, item_id, 10_000, 0, None, "technician", zhang)
    assert refused.value.key == "repairfee.refused.in_warranty"


async def test_items_not_repaired_here_take_no_fee(services: Services) -> None:
    zhang = await person(services, "张伟")
    tax = await customer(services, "税务局")
    sent = await desk.register_item(services, new_item(tax), zhang)
    step = repairs.Step(shipment="顺丰 SF1", accessories_sent=())
    await desk.move_item(services, sent.id, repairs.Event.SEND_UP, "technician", zhang, step)
    step = repairs.Step(outcome=repairs.Outcome.REPAIRED)
    await desk.move_item(services, sent.id, repairs.Event.COME_BACK, "technician", zhang, step)
    waiting = await desk.register_item(services, new_item(tax), zhang)
    cases = [
        (sent.id, "repairfee.refused.sent_up"),
        (waiting.id, "repairfee.refused.not_at_station"),
        (999, "repairs.error.unknown"),
    ]
    for item_id, key in cases:
        with pytest.raises(RepairError) as refused:
            await repair_fees.record_fee(services, item_id, 10_000, 0, None, "manager", None)
        assert refused.value.key == key
    assert await fee_rows(services) == 0


async def test_bad_amounts_and_people_are_refused(services: Services) -> None:
    zhang = await person(services, "张伟")
    office = await person(services, "王芳", "dispatcher")
    item_id = await repaired_here(services, zhang)
    held_by_office = await repaired_here(services, office, serial="SN9")
    cases = [
        (item_id, -1, 0, None, "repairfee.error.amount"),
        (item_id, 10**13, 0, None, "repairfee.error.amount"),
        (item_id, 0, 0, None, "repairfee.error.no_fee"),
        (item_id, 100, 0, "无名氏", "repairfee.error.technician"),
        (item_id, 100, 0, "王芳", "repairfee.error.technician"),
        (held_by_office, 100, 0, None, "repairfee.error.no_technician"),
    ]
    for target, fee, parts, tech, key in cases:
        with pytest.raises(RepairError) as refused:
            await repair_fees.record_fee(services, target, fee, parts, tech, "manager", None)
        assert refused.value.key == key, (fee, tech)
    assert await fee_rows(services) == 0


async def test_a_fee_in_a_closed_month_is_carried_into_the_first_open_one(
    services: Services,
) -> None:
    zhang = await person(services, "张伟")
    await person(services, "李娜")
    first = await repaired_here(services, zhang)
    second = await repaired_here(services, zhang, serial="SN2")
    await repair_fees.record_fee(services, first, 20_000, 0, None, "technician", zhang)
    at(services, datetime(2026, 12, 1, 2, 0, tzinfo=UTC))
    closing = await statements.close_month(services.db, services.config, "2026-11", None)
    assert not closing.already
    # Recorded after the close: the whole share goes to December, marked as November's.
    recorded = await repair_fees.record_fee(services, second, 10_000, 0, None, "technician", 1)
    assert (recorded.month, recorded.carried_into) == ("2026-11", "2026-12")
    # Changed by a manager, and moved to another technician: the differences, each once.
    await repair_fees.record_fee(services, first, 25_000, 5_000, "李娜", "manager", None)
    again = await repair_fees.record_fee(services, first, 25_000, 5_000, "李娜", "manager", None)
    assert not again.changed
    november = await statements.compute(services.db, services.config, "2026-11")
    assert [t.reward_fen for t in november.technicians] == [2_000]  # the snapshot stands
    december = await statements.compute(services.db, services.config, "2026-12")
    carried = {
        (tech.technician, line.ref, line.amount_fen, line.adjusts)
        for tech in december.technicians
        for line in tech.lines
        if line.rule == "RWD-REVENUE"
    }
    assert carried == {
        ("张伟", f"repair {second}", 1_000, "2026-11"),
        ("张伟", f"repair {first}", -2_000, "2026-11"),
        ("李娜", f"repair {first}", 2_000, "2026-11"),
    }
    async with services.db.read() as conn:
        assert await people.technician_named(conn, "李娜") is not None
        rows = await conn.execute_fetchall("SELECT count(*) FROM adjustments")
    assert rows[0][0] == 3


def test_the_cli_statement_shows_the_line_and_leaves_the_rest_alone(tmp_path, capsys) -> None:
    db = tmp_path / "x.db"
    load_examples(db)
    capsys.readouterr()
    assert run("statement", "--month", "2026-11", "--db", str(db), "--json") == 0
    before = json.loads(capsys.readouterr().out)
    conn = sqlite3.connect(db)
    with conn:
        tech_id, name = conn.execute("SELECT id, name FROM people ORDER BY id LIMIT 1").fetchone()
        customer_id = conn.execute("SELECT min(id) FROM customers").fetchone()[0]
        returned = "2026-11-20T06:00:00+00:00"
        conn.execute(
            "INSERT INTO repair_items (id, voucher_no, token, customer_id, product, fault, "
            "packaging, taken_in_at, state, outcome, back_at, finished_at, created_at, "
            "updated_at) VALUES (41, 'FX-20261118-0001', 't41', ?, '主机', '不开机', 'none', "
            "?, 'returned', 'repaired', ?, ?, ?, ?)",
            (customer_id, returned, returned, returned, returned, returned),
        )
        conn.execute(
            "INSERT INTO repair_fees (item_id, technician_id, fee_fen, parts_fen, recorded_at, "
            "changed_at) VALUES (41, ?, 20000, 8050, ?, ?)",
            (tech_id, returned, returned),
        )
    conn.close()
    assert run("statement", "--month", "2026-11", "--db", str(db), "--json") == 0
    after = json.loads(capsys.readouterr().out)
    xlsx = tmp_path / "s.xlsx"
    assert run("statement", "--month", "2026-11", "--db", str(db), "--xlsx", str(xlsx)) == 0
    assert xlsx.stat().st_size > 0
    old = {t["technician"]: t for t in before["technicians"]}
    for tech in after["technicians"]:
        if tech["technician"] != name:
            assert tech == old[tech["technician"]]
            continue
        *kept, added = tech["lines"]
        assert kept == old[name]["lines"]
        assert added["rule"] == "RWD-REVENUE" and added["ref"] == "repair 41"
        assert added["amount_fen"] == 1195 and added["kind"] == "reward"
        assert "FX-20261118-0001" in added["note"] and "119.50" in added["note"]
        assert tech["reward_fen"] == old[name]["reward_fen"] + 1195
        assert tech["net_fen"] == old[name]["net_fen"] + 1195
