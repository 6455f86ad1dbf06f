"""How a ticket is served (MODE-ONSITE) and on what terms a visit is made (AREA-FREE)."""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import date

from bot.domain.models import CUSTOMER_CLASSES

ONSITE = "onsite"
PHONE_FIRST = "phone_first"
BRING_IN = "bring_in"
ONSITE_CASE_BY_CASE = "onsite_case_by_case"
MODES = (ONSITE, PHONE_FIRST, BRING_IN, ONSITE_CASE_BY_CASE)

FREE = "free"
PAID = "paid"
OUT_OF_RANGE = "out_of_range"
VISIT_TERMS = (FREE, PAID, OUT_OF_RANGE)

STRICT_ONSITE_CLASSES = frozenset({"industry", "network", "quasi"})  # quasi: MODE-ONSITE Decision
BRING_IN_CLASSES = frozenset({"agent"})
MONTHS_PER_YEAR = 12


def is_house_brand(brand_name: str | None, house_brands: Iterable[str]) -> bool:
    """True when the machine's brand is one of the configured house brands (case-insensitive)."""
    if not brand_name:
        return False
    name = brand_name.strip().casefold()
    return any(name == brand.strip().casefold() for brand in house_brands)


def recommend_mode(
    customer_class: str,
    brand_name: str | None,
    is_brand: bool,
    hardware: bool,
    house_brands: Iterable[str],
    *,
    outside_city: bool = False,
) -> str:
    """MODE-ONSITE: the recommended way to serve a ticket; the dispatcher may still choose."""
    if customer_class not in CUSTOMER_CLASSES:
        raise ValueError(f"unknown customer class {customer_class!r}")
    if customer_class in BRING_IN_CLASSES:
        return BRING_IN
    if customer_class in STRICT_ONSITE_CLASSES:
        return ONSITE_CASE_BY_CASE if outside_city else ONSITE
    return _home_mode(is_house_brand(brand_name, house_brands), is_brand, hardware)


def _home_mode(house_brand: bool, is_brand: bool, hardware: bool) -> str:
    """`other` customers: house brand on site, compatible machine phone first, else by fault."""
    if house_brand:
        return ONSITE
    if not is_brand:
        return PHONE_FIRST
    return ONSITE if hardware else PHONE_FIRST


def visit_terms(
    distance_km: float,
    in_warranty: bool,
    hardware: bool,
    free_radius_km: float,
    service_radius_km: float,
) -> str:
    """AREA-FREE: free inside the free zone for in-warranty hardware, paid up to the range, else none."""
    if distance_km > service_radius_km:
        return OUT_OF_RANGE
    if in_warranty and hardware and distance_km <= free_radius_km:
        return FREE
    return PAID


def warranty_end(purchased: date, warranty_months: int) -> date:
    """The first day out of warranty: the same day warranty_months later (clamped to month end)."""
    months = purchased.month - 1 + warranty_months
    year, month = purchased.year + months // MONTHS_PER_YEAR, months % MONTHS_PER_YEAR + 1
    return date(year, month, min(purchased.day, calendar.monthrange(year, month)[1]))


def in_warranty(purchased: date, on: date, warranty_months: int) -> bool:
    """True when `on` falls within the warranty (三包 1.1: one year by default)."""
    return purchased <= on < warranty_end(purchased, warranty_months)
