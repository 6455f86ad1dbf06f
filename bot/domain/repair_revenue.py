"""RWD-REVENUE for repairs done at the station (docs/rules.md): pure rules and statement lines.

A paid repair at the station earns the technician who repaired it `rewards.revenue_share` of its
benefit (the fee charged minus the parts at cost, never below zero), one line per item, on the
statement of the month the item went back to the customer. Work under warranty charges nothing,
so it earns nothing; an item sent up was repaired upstream, not by the station, and earns
nothing either. No I/O here: storage selects the month's fees, the services write them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime, tzinfo
from typing import NamedTuple

from bot.config import Rules
from bot.domain import payroll, repairs
from bot.domain.adjustments import with_adjustments
from bot.domain.models import (
    MonthStatement,
    Reason,
    StatementLine,
    line_note,
)
from bot.domain.repair_models import Item

RULE = "RWD-REVENUE"
REF_KIND = "repair"  # a line's ref is "repair <item id>", like "slip 17" and "event 3"

# Why a fee may not be recorded on an item (i18n repairfee.refused.<code>).
NOT_RETURNABLE = "not_at_station"  # not repaired at the station (received, repairing, lost...)
SENT_UP = "sent_up"  # repaired upstream: the station's own work did not repair it
IN_WARRANTY = "in_warranty"  # WTY-CHECK says in warranty and no one overrode it to out


class RepairFee(NamedTuple):
    """A paid repair at the station as the statement needs it (one per item)."""

    item_id: int
    technician: str
    returned_at: datetime  # aware; the month of the return is the statement's month
    fee_fen: int
    parts_fen: int
    label: str  # the voucher number, or #id for a county company's item
    customer: str


def benefit_fen(fee_fen: int, parts_fen: int) -> int:
    """The benefit 效益: the fee charged minus the parts at cost, never below zero."""
    if fee_fen < 0 or parts_fen < 0:
        raise ValueError("fee and parts must not be negative")
    return max(fee_fen - parts_fen, 0)


def reward_fen(fee_fen: int, parts_fen: int, rules: Rules) -> int:
    """The technician's share of a repair's benefit, half-up to the fen (0 when none)."""
    return payroll.revenue_reward_fen(benefit_fen(fee_fen, parts_fen), rules)


def repaired_here(item: Item) -> bool:
    """The item was repaired at the station: repaired (not new) and never sent up."""
    return item.sent_up_at is None and item.outcome == repairs.Outcome.REPAIRED


def refusal(item: Item, in_warranty: bool) -> str | None:
    """Why no fee may be recorded on this item (a code), or None when one may.

    A fee is recorded once the station's repair is done: the item is back at the desk or
    returned to the customer. `in_warranty` is the WTY-CHECK verdict (an override included).
    """
    if item.sent_up_at is not None:
        return SENT_UP
    if item.state not in (repairs.State.BACK, repairs.State.RETURNED) or not repaired_here(item):
        return NOT_RETURNABLE
    if in_warranty:
        return IN_WARRANTY
    return None


def _line(fee: RepairFee, rules: Rules, zone: tzinfo | None, percent: str) -> StatementLine:
    benefit = benefit_fen(fee.fee_fen, fee.parts_fen)
    reason = Reason(
        "repair_revenue",
        {
            "label": fee.label,
            "customer": fee.customer,
            "fee": payroll.format_yuan(fee.fee_fen),
            "parts": payroll.format_yuan(fee.parts_fen),
            "benefit": payroll.format_yuan(benefit),
            "share": percent,
        },
    )
    moment = fee.returned_at.astimezone(zone) if zone is not None else fee.returned_at
    note = line_note(reason, None, zone, moment.date())
    amount = payroll.revenue_reward_fen(benefit, rules)
    return StatementLine(RULE, amount, f"{REF_KIND} {fee.item_id}", note, payroll.REWARD)


def lines_of(
    fees: Iterable[RepairFee], rules: Rules, zone: tzinfo | None = None
) -> dict[str, list[StatementLine]]:
    """One RWD-REVENUE line per paid repair (fee above zero), by technician, in return order."""
    percent = f"{float(rules.rewards.revenue_share) * 100:g}"
    by_technician: dict[str, list[StatementLine]] = {}
    for fee in sorted(fees, key=lambda f: (f.returned_at, f.item_id)):
        if fee.fee_fen <= 0:
            continue  # not a paid repair: no line
        by_technician.setdefault(fee.technician, []).append(_line(fee, rules, zone, percent))
    return by_technician


def with_repair_revenue(
    statement: MonthStatement,
    fees: Iterable[RepairFee],
    rules: Rules,
    zone: tzinfo | None = None,
    among: Collection[str] | None = None,
) -> MonthStatement:
    """The statement with each paid repair's line after its technician's own lines (a
    technician with no slips or events gets a statement of these lines alone)."""
    extra = lines_of((fee for fee in fees if among is None or fee.technician in among), rules, zone)
    return with_adjustments(
        statement, ((name, line) for name, added in extra.items() for line in added)
    )
