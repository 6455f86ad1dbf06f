"""The policy desk (POL-*, POL-HOW): which of refund, exchange, swap and repair are open for an
item, until which date, and at what price rule. Pure: the windows come from [policy].

Days count from the sale: the sale day is day 0 and "within N days" is open up to and
including the sale date + N days. A window of 0 days is no window at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from bot.config import ITEM_KINDS, PolicyConfig


class Kind(StrEnum):
    """The customer kinds the POL windows distinguish."""

    COUNTY = "county"  # county agent 县市公司
    LOCAL = "local"  # local company 本地公司
    OTHER = "other"  # everyone else


class Condition(StrEnum):
    FAULTY = "faulty"
    OPENED = "opened"  # opened (used) without a fault
    COMPLETE = "complete"  # unopened, complete in its packaging


OPTIONS = ("refund", "exchange", "swap", "repair")

# Price rules (i18n policy.price.<code>).
PRICE_LOWER = "lower_of_sale_and_today"  # POL-REFUND
PRICE_FULL = "full_refund"  # 三包 2.2: the price paid, refunded once
PRICE_DIFFERENCE = "pay_difference"  # POL-EXCHANGE, agents and local companies
PRICE_WEAR = "wear_deducted"  # POL-EXCHANGE, others: wear by time used
PRICE_PACKAGING = "packaging_deducted"  # POL-SWAP: warranty from the original date
PRICE_WARRANTY = "per_warranty"  # repair: free in warranty, paid out of it (WTY-CHECK)

# Reasons an option is closed or conditions it carries (i18n policy.why.<code>).
WHY_WINDOW_OVER = "window_over"
WHY_NO_WINDOW = "no_window"
WHY_OPENED = "opened_peripheral"  # POL-OPENED
WHY_NOT_FAULTY = "not_faulty"  # swap and repair are for faulty items
WHY_PACKAGING = "packaging_complete"  # refund/exchange need packaging complete, resaleable
WHY_UPSTREAM = "upstream_must_swap"  # opened peripheral with a fault: only if upstream swaps


@dataclass(frozen=True)
class Option:
    """One way of settling the item: open or not, until when, at what price, and why."""

    name: str
    open: bool
    until: date | None  # last day it is open; None: no end date (or closed)
    price: str  # price rule code ("" when closed)
    rules: tuple[str, ...]  # the rule IDs that decided it
    notes: tuple[str, ...] = ()  # conditions (open) or reasons (closed)


@dataclass(frozen=True)
class Verdict:
    kind: str
    item: str
    condition: str
    sale_date: date
    today: date
    days_since_sale: int
    options: tuple[Option, ...]

    def option(self, name: str) -> Option:
        return next(option for option in self.options if option.name == name)

    def is_open(self, name: str) -> bool:
        return self.option(name).open


def kind_of(customer_class: str, customer_kind: str) -> Kind:
    """The POL kind of a customer (CLS: agents are county or local companies)."""
    if customer_class == "agent" and customer_kind in (Kind.COUNTY, Kind.LOCAL):
        return Kind(customer_kind)
    return Kind.OTHER


def _window(config: PolicyConfig, option: str, kind: Kind) -> int:
    return int(getattr(config, f"{option}_days_{kind.value}"))


@dataclass(frozen=True)
class _Candidate:
    until: date | None  # None: no end date
    price: str
    rule: str
    notes: tuple[str, ...] = ()


def _best(candidates: list[_Candidate], today: date) -> _Candidate | None:
    """The candidate open today that stays open longest (the first one on a tie)."""
    best: _Candidate | None = None
    for candidate in candidates:
        if candidate.until is not None and today > candidate.until:
            continue
        if best is None:
            best = candidate
        elif best.until is not None and (candidate.until is None or candidate.until > best.until):
            best = candidate
    return best


def decide(
    config: PolicyConfig,
    kind: str,
    sale_date: date,
    today: date,
    item: str,
    condition: str,
) -> Verdict:
    """Which of refund, exchange, swap and repair are open today (POL-HOW)."""
    kind = Kind(kind)
    condition = Condition(condition)
    if item not in ITEM_KINDS:
        raise ValueError(f"unknown item kind {item!r}; expected one of {', '.join(ITEM_KINDS)}")
    days = (today - sale_date).days
    if days < 0:
        raise ValueError("the sale date is after today")
    faulty = condition is Condition.FAULTY
    opened_peripheral = condition is Condition.OPENED and item in config.opened_no_return
    fault_until = (
        sale_date + timedelta(days=config.sale_fault_days) if config.sale_fault_days else None
    )

    def windowed(
        option: str, price: str, rule: str, notes: tuple[str, ...] = ()
    ) -> _Candidate | None:
        span = _window(config, option, kind)
        return _Candidate(sale_date + timedelta(days=span), price, rule, notes) if span else None

    options: list[Option] = []
    # Refund and exchange.
    for option, rule, price in (
        ("refund", "POL-REFUND", PRICE_LOWER),
        ("exchange", "POL-EXCHANGE", PRICE_DIFFERENCE),
    ):
        candidates: list[_Candidate] = []
        closed_why: list[str] = []
        closed_rules = [rule]
        if opened_peripheral:
            closed_why.append(WHY_OPENED)
            closed_rules = ["POL-OPENED"]
        else:
            notes = () if faulty else (WHY_PACKAGING,)
            if option == "exchange" and kind is Kind.OTHER and not config.exchange_days_other:
                candidates.append(_Candidate(None, PRICE_WEAR, rule, notes))
            else:
                found = windowed(option, price, rule, notes)
                if found is None:
                    closed_why.append(WHY_NO_WINDOW)
                else:
                    candidates.append(found)
                    closed_why.append(WHY_WINDOW_OVER)
        if faulty and fault_until is not None:
            full = PRICE_FULL if option == "refund" else PRICE_DIFFERENCE
            candidates.append(_Candidate(fault_until, full, "POL-7DAY"))
            if "POL-7DAY" not in closed_rules:
                closed_rules.append("POL-7DAY")
        best = _best(candidates, today)
        if best is None:
            options.append(Option(option, False, None, "", tuple(closed_rules), tuple(closed_why)))
        else:
            options.append(Option(option, True, best.until, best.price, (best.rule,), best.notes))
    # Swap (换新): a faulty item, for a new one.
    if not faulty:
        options.append(Option("swap", False, None, "", ("POL-SWAP",), (WHY_NOT_FAULTY,)))
    else:
        found = windowed("swap", PRICE_PACKAGING, "POL-SWAP")
        notes = (WHY_UPSTREAM,) if item in config.opened_no_return else ()
        if found is None:
            options.append(Option("swap", False, None, "", ("POL-SWAP",), (WHY_NO_WINDOW,)))
        elif today > found.until:
            options.append(Option("swap", False, None, "", ("POL-SWAP",), (WHY_WINDOW_OVER,)))
        else:
            options.append(Option("swap", True, found.until, PRICE_PACKAGING, ("POL-SWAP",), notes))
    # Repair: any faulty item (free or paid per WTY-CHECK).
    if faulty:
        options.append(Option("repair", True, None, PRICE_WARRANTY, ("WTY-CHECK",)))
    else:
        options.append(Option("repair", False, None, "", ("WTY-CHECK",), (WHY_NOT_FAULTY,)))
    return Verdict(kind.value, item, condition.value, sale_date, today, days, tuple(options))
