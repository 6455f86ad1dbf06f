"""RWD-REVENUE for repairs done at the station: record who repaired an item, the fee charged and
the parts at cost, in one transaction; a change that falls in a closed month is carried into the
first open one (ADJ-CLOSED) in that same transaction. Refusals are RepairError; nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain import parsing, repair_revenue, repairs, warranty
from bot.domain.repair_models import Item
from bot.services import Services, corrections
from bot.services.repair_service import RepairError
from storage import people, repair_fees
from storage import repairs as repair_store

# Who may change a fee once recorded (the first recording is the desk's, at the return).
CHANGERS = repairs.MANAGERS


@dataclass(frozen=True)
class Recorded:
    item: Item
    technician: str
    fee_fen: int
    parts_fen: int
    reward_fen: int  # the technician's RWD-REVENUE for it
    changed: bool  # False: the very same fee was on record already
    month: str | None  # the statement month (of the return); None while not returned
    carried_into: str | None  # the open month a closed month's difference went to


def warranty_at_intake(services: Services, item: Item) -> warranty.Verdict:
    """WTY-CHECK as on the day the item was taken in (the fault reported then), with the
    override on record having the last word."""
    override = (
        warranty.Override(item.warranty_in, item.warranty_note)
        if item.warranty_in is not None
        else None
    )
    taken_in = item.taken_in_at.astimezone(services.config.tz).date()
    return warranty.check(
        warranty.Facts(purchase_date=item.purchase_date),
        taken_in,
        services.config.warranty_months,
        override,
    )


def may_record(services: Services, item: Item) -> bool:
    """Whether the item takes a fee (repaired here, back or returned, out of warranty)."""
    verdict = warranty_at_intake(services, item)
    return repair_revenue.refusal(item, verdict.in_warranty) is None


def _amount(fen: int, key: str) -> int:
    if isinstance(fen, bool) or not isinstance(fen, int) or not 0 <= fen <= parsing.MAX_AMOUNT_FEN:
        raise RepairError(key)
    return fen


async def record_fee(
    services: Services,
    item_id: int,
    fee_fen: int,
    parts_fen: int,
    technician: str | None,
    role: str,
    by: int | None,
) -> Recorded:
    """Record (or, a manager, change) the fee of an item repaired at the station.

    `technician` None: the one on record for the item's fee, else the item's holder (who took
    it for repair here). A fee of 0 is only a change (the repair was not charged after all).
    """
    fee_fen = _amount(fee_fen, "repairfee.error.amount")
    parts_fen = _amount(parts_fen, "repairfee.error.amount")
    config = services.config
    async with services.db.transaction() as conn:
        item = await repair_store.get(conn, item_id)
        if item is None:
            raise RepairError("repairs.error.unknown", id=item_id)
        verdict = warranty_at_intake(services, item)
        code = repair_revenue.refusal(item, verdict.in_warranty)
        if code is not None:
            raise RepairError(f"repairfee.refused.{code}", id=item_id)
        existing = await repair_fees.of_item(conn, item_id)
        if technician is not None:
            person = await people.technician_named(conn, technician.strip())
            if person is None:
                raise RepairError("repairfee.error.technician", name=technician.strip())
        else:
            person_id = existing.technician_id if existing else item.holder_id
            person = await people.by_id(conn, person_id) if person_id is not None else None
            if person is None or person.role != "technician":
                raise RepairError("repairfee.error.no_technician", id=item_id)
        same = existing is not None and (
            existing.technician_id,
            existing.fee_fen,
            existing.parts_fen,
        ) == (person.id, fee_fen, parts_fen)
        if existing is None and fee_fen == 0:
            raise RepairError("repairfee.error.no_fee", id=item_id)
        if existing is not None and not same and role not in CHANGERS:
            raise RepairError("repairfee.error.change_managers", id=item_id)
        changed = await repair_fees.put(
            conn, item_id, person.id, fee_fen, parts_fen, by, services.now()
        )
        month = carried_into = None
        if item.state == repairs.State.RETURNED and item.finished_at is not None:
            month = item.finished_at.astimezone(config.tz).strftime("%Y-%m")
            if changed:
                among = {person.name} | ({existing.technician} if existing else set())
                carried = await corrections.carry(
                    conn, config, month, among, f"repair fee of item {item_id}"
                )
                carried_into = carried[0] if carried is not None else None
    return Recorded(
        item,
        person.name,
        fee_fen,
        parts_fen,
        repair_revenue.reward_fen(fee_fen, parts_fen, config.rules) if fee_fen > 0 else 0,
        changed,
        month,
        carried_into,
    )


async def fee_of(services: Services, item_id: int) -> repair_fees.StoredFee | None:
    """The fee on record for an item, if any (for its card)."""
    async with services.db.read() as conn:
        return await repair_fees.of_item(conn, item_id)
