"""The warranty verdict (WTY-CHECK) and who pays a repair sent up (RMA-BACK, the FAQ). Pure.

In warranty: one year (area.warranty_months) from purchase against the purchase proof, or up
to the warranty end date on record (the first day out, as machines store it). Human damage
(a broken case) and self-repair are paid; parts and peripherals bought separately or installed
by the customer keep their warranty but get no free on-site service (三包 1.3(2)). A technician
can override the verdict with a note.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.domain.service_mode import warranty_end

# Reason codes (i18n warranty.why.<code>).
IN_PERIOD = "in_period"
EXPIRED = "expired"
NO_PROOF = "no_proof"  # neither a purchase date nor a warranty end date
HUMAN_DAMAGE = "human_damage"
SELF_REPAIR = "self_repair"
OVERRIDDEN = "overridden"
# Conditions on an in-warranty verdict.
NO_FREE_ONSITE = "no_free_onsite"  # bought separately or self-installed


@dataclass(frozen=True)
class Facts:
    """What the desk knows about the item."""

    purchase_date: date | None = None
    warranty_end: date | None = None  # first day out of warranty, when on record
    separately_bought: bool = False  # a part or peripheral bought on its own
    self_installed: bool = False
    human_damage: bool = False  # e.g. a broken case
    self_repaired: bool = False


@dataclass(frozen=True)
class Override:
    in_warranty: bool
    note: str
    by: str = ""


@dataclass(frozen=True)
class Charges:
    """Who pays what for a repair sent up (the FAQ)."""

    freight_customer_half: bool  # in warranty: freight split half and half
    parts_paid: bool
    service_paid: bool


IN_WARRANTY_CHARGES = Charges(freight_customer_half=True, parts_paid=False, service_paid=False)
PAID_CHARGES = Charges(freight_customer_half=False, parts_paid=True, service_paid=True)


@dataclass(frozen=True)
class Verdict:
    in_warranty: bool
    reason: str
    ends: date | None  # first day out of warranty, when known
    onsite_free: bool  # free on-site service (not for separately bought or self-installed)
    charges: Charges
    note: str = ""
    overridden: bool = False
    conditions: tuple[str, ...] = ()


def check(
    facts: Facts, today: date, warranty_months: int, override: Override | None = None
) -> Verdict:
    """In or out of warranty today, and why; an override with a note has the last word."""
    ends = facts.warranty_end
    if ends is None and facts.purchase_date is not None:
        ends = warranty_end(facts.purchase_date, warranty_months)
    conditions = (NO_FREE_ONSITE,) if facts.separately_bought or facts.self_installed else ()
    if facts.human_damage:
        verdict_in, reason = False, HUMAN_DAMAGE
    elif facts.self_repaired:
        verdict_in, reason = False, SELF_REPAIR
    elif ends is None:
        verdict_in, reason = False, NO_PROOF
    elif today < ends and (facts.purchase_date is None or facts.purchase_date <= today):
        verdict_in, reason = True, IN_PERIOD
    else:
        verdict_in, reason = False, EXPIRED
    note = ""
    overridden = False
    if override is not None:
        if not override.note.strip():
            raise ValueError("an override needs a note saying why")
        verdict_in, reason, note, overridden = override.in_warranty, OVERRIDDEN, override.note, True
    return Verdict(
        in_warranty=verdict_in,
        reason=reason,
        ends=ends,
        onsite_free=verdict_in and not conditions,
        charges=IN_WARRANTY_CHARGES if verdict_in else PAID_CHARGES,
        note=note,
        overridden=overridden,
        conditions=conditions if verdict_in else (),
    )


def freight_split(freight_fen: int, verdict: Verdict) -> tuple[int, int]:
    """(customer, station) shares of a freight charge in fen; an odd fen is the station's."""
    if freight_fen < 0:
        raise ValueError("freight must not be negative")
    if not verdict.charges.freight_customer_half:
        return freight_fen, 0
    customer = freight_fen // 2
    return customer, freight_fen - customer
