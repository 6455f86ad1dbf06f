"""RWD-REVENUE of a repair done at the station, driven through the fake front end: the desk
records the fee at the return, the repairer's own statement shows the line, a change is the
managers', and the access table decides who may record at all."""

from __future__ import annotations

from bot.domain import repairs
from bot.domain.dispatch_models import NewCustomer
from bot.domain.repair_models import NewItem
from bot.services import repair_fees, statements
from bot.services import repair_service as desk
from storage import customers
from tests.services.conftest import DISPATCHER, MANAGER, TECH, Station


async def returned_item(station: Station) -> int:
    services, tech = station.services, station.tech
    async with services.db.transaction() as conn:
        customer_id = await customers.insert(
            conn, NewCustomer(name="市税务局", customer_class="industry")
        )
    item = await desk.register_item(
        services, NewItem(customer_id, "联想台式机", "不开机", "none"), tech
    )
    for event, step in (
        (repairs.Event.REPAIR_HERE, None),
        (repairs.Event.REPAIRED, None),
        (repairs.Event.RETURN, repairs.Step(signoff=repairs.SignOff.VOUCHER)),
    ):
        await desk.move_item(services, item.id, event, "technician", tech, step)
    return item.id


async def test_the_desk_records_the_fee_and_the_repairer_sees_his_share(station: Station) -> None:
    channel, services = station.channel, station.services
    item_id = await returned_item(station)
    recorded = await channel.act(
        TECH,
        "repairfee",
        repair_fees.record_fee,
        services,
        item_id,
        35_000,
        12_000,
        None,
        "technician",
        station.tech,
    )
    assert recorded is not None and recorded.reward_fen == 2_300
    assert recorded.technician == "张伟" and recorded.month == "2026-11"
    own = await statements.compute(services.db, services.config, "2026-11", "张伟")
    (zhang,) = own.technicians
    assert [(line.rule, line.ref, line.amount_fen) for line in zhang.lines] == [
        ("RWD-REVENUE", f"repair {item_id}", 2_300)
    ]
    assert zhang.net_fen == 2_300

    # Changing it is the managers': the technician is told so, nothing changes.
    again = await channel.act(
        TECH,
        "repairfee",
        repair_fees.record_fee,
        services,
        item_id,
        50_000,
        12_000,
        None,
        "technician",
        station.tech,
    )
    assert again is None
    assert channel.replies_to(TECH) == ["repairfee.error.change_managers"]
    changed = await channel.act(
        MANAGER,
        "repairfee",
        repair_fees.record_fee,
        services,
        item_id,
        50_000,
        12_000,
        None,
        "manager",
        station.manager,
    )
    assert changed is not None and changed.reward_fen == 3_800
    summary = await statements.compute(services.db, services.config, "2026-11")
    assert sum(tech.reward_fen for tech in summary.technicians) == 3_800


async def test_only_staff_may_record_a_fee(station: Station) -> None:
    channel, services = station.channel, station.services
    item_id = await returned_item(station)
    stranger = await channel.act(
        "nobody", "repairfee", repair_fees.record_fee, services, item_id, 100, 0, None, "", None
    )
    assert stranger is None and channel.replies_to("nobody") == ["access.stranger"]
    by_office = await channel.act(
        DISPATCHER,
        "repairfee",
        repair_fees.record_fee,
        services,
        item_id,
        100,
        0,
        "李娜",
        "dispatcher",
        station.dispatcher,
    )
    assert by_office is not None and by_office.technician == "李娜"
