"""The repair desk's promises as deadline rows: armed on register, never re-armed when
unchanged (a fired stage stays fired, also when the config moves its times), re-armed when times
move, completed when kept or ended."""

from __future__ import annotations

from dataclasses import replace

from bot.domain import repairs
from bot.services import repair_deadlines, timers
from storage import deadlines
from tests.storage.test_repairs import NOW, advance, customer, desk, new_item, person, services

__all__ = ["services"]  # the fixture


async def rows(services) -> dict[str, str]:  # noqa: ANN001
    async with services.db.read() as conn:
        found = await conn.execute_fetchall("SELECT kind, state FROM deadlines ORDER BY kind")
    return {row[0]: row[1] for row in found}


async def item_past_takeback(services, phase: str, **late: int) -> tuple[int, int]:  # noqa: ANN001
    """An item registered, then `late` later its SLA-TAKEBACK `phase` claimed; (item, technician)."""
    tax = await customer(services, "税务局")
    tech = await person(services, "张伟")
    item = await desk.register_item(services, new_item(tax), tech)
    advance(services, **late)
    claimed = await timers.claim_due(services)
    assert ("repair:SLA-TAKEBACK", phase) in [(a.kind, a.phase) for a in claimed]
    return item.id, tech


async def change_fires_no_takeback(services, item_id: int, tech: int) -> None:  # noqa: ANN001
    """The item changes (its promises sync again); no SLA-TAKEBACK stage is claimed again."""
    await desk.move_item(services, item_id, repairs.Event.REPAIR_HERE, "technician", tech)
    assert [a for a in await timers.claim_due(services) if "TAKEBACK" in a.kind] == []


def warn_earlier(services) -> None:  # noqa: ANN001
    """The station restarts with another warning lead."""
    sla = replace(services.config.sla, warn_before_minutes=90)
    services.config = replace(services.config, sla=sla)


async def test_register_arms_each_open_promise(services) -> None:  # noqa: ANN001
    tax = await customer(services, "税务局")  # industry: SLA-SPARE too
    tech = await person(services, "张伟")
    item = await desk.register_item(services, new_item(tax), tech)
    assert await rows(services) == {
        "repair:RMA-10DAY": "pending",
        "repair:RMA-20DAY": "pending",
        "repair:SLA-SPARE": "pending",
        "repair:SLA-TAKEBACK": "pending",
    }
    async with services.db.read() as conn:
        row = await deadlines.get(conn, "repair:SLA-TAKEBACK", item.id)
    assert row is not None and row.due_at == NOW.replace(day=2)


async def test_a_fired_stage_stays_fired_when_the_item_changes(services) -> None:  # noqa: ANN001
    item_id, tech = await item_past_takeback(services, "breach", hours=25)
    # An unrelated change syncs again: nothing is re-armed, nothing fires twice.
    await change_fires_no_takeback(services, item_id, tech)
    assert (await rows(services))["repair:SLA-TAKEBACK"] == "fired"


async def test_sending_up_arms_rma_send_and_the_end_completes_everything(services) -> None:  # noqa: ANN001
    tax = await customer(services, "税务局")
    tech = await person(services, "张伟")
    item = await desk.register_item(services, new_item(tax), tech)
    step = repairs.Step(shipment="顺丰 SF1", accessories_sent=())
    await desk.move_item(services, item.id, repairs.Event.SEND_UP, "technician", tech, step)
    assert (await rows(services))["repair:RMA-SEND"] == "pending"
    await desk.confirm_upstream(services, item.id, tech)
    assert (await rows(services))["repair:RMA-SEND"] == "done"
    back = repairs.Step(outcome="repaired")
    await desk.move_item(services, item.id, repairs.Event.COME_BACK, "technician", tech, back)
    assert (await rows(services))["repair:RMA-BACK"] == "pending"
    done = repairs.Step(signoff="voucher")
    await desk.move_item(services, item.id, repairs.Event.RETURN, "technician", tech, done)
    assert set((await rows(services)).values()) == {"done"}


def test_only_repair_kinds_are_the_repair_desks() -> None:
    assert repair_deadlines.rule_of("repair:RMA-10DAY") == "RMA-10DAY"
    assert repair_deadlines.rule_of("repair:NOPE") is None
    assert repair_deadlines.rule_of("SLA-TAKEBACK") is None


async def test_a_fired_stage_stays_fired_when_the_config_moves_its_times(services) -> None:  # noqa: ANN001
    """The station restarts with another warning lead: a promise broken before is not broken
    (and told) again when its item next changes."""
    item_id, tech = await item_past_takeback(services, "breach", hours=25)
    warn_earlier(services)
    await change_fires_no_takeback(services, item_id, tech)
    assert (await rows(services))["repair:SLA-TAKEBACK"] == "fired"


async def test_a_warning_given_is_not_given_again_when_the_config_moves_it(services) -> None:  # noqa: ANN001
    # 23 h 45 min: inside the 30 minutes before SLA-TAKEBACK
    item_id, tech = await item_past_takeback(services, "warning", hours=23, minutes=45)
    warn_earlier(services)
    await change_fires_no_takeback(services, item_id, tech)
    advance(services, hours=1)
    fired = [(a.kind, a.phase) for a in await timers.claim_due(services)]
    assert ("repair:SLA-TAKEBACK", "breach") in fired  # the breach still comes, once
