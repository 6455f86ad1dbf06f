"""MODE-ONSITE recommendations and AREA-FREE visit terms."""

from __future__ import annotations

from datetime import date

import pytest

from bot.config import Config
from bot.domain.service_mode import (
    MODES,
    in_warranty,
    is_house_brand,
    recommend_mode,
    visit_terms,
    warranty_end,
)

HOUSE = Config().house_brands  # ("TCL",)
FREE_KM = Config().free_radius_km
RANGE_KM = Config().service_radius_km


@pytest.mark.parametrize("cls", ["industry", "network", "quasi"])
@pytest.mark.parametrize("hardware", [True, False])
@pytest.mark.parametrize(("brand", "is_brand"), [("TCL", True), ("Lenovo", True), (None, False)])
def test_industry_network_and_quasi_are_strictly_on_site(cls, hardware, brand, is_brand) -> None:
    assert recommend_mode(cls, brand, is_brand, hardware, HOUSE) == "onsite"
    mode = recommend_mode(cls, brand, is_brand, hardware, HOUSE, outside_city=True)
    assert mode == "onsite_case_by_case"


@pytest.mark.parametrize("hardware", [True, False])
@pytest.mark.parametrize("outside_city", [True, False])
def test_agents_bring_items_in(hardware: bool, outside_city: bool) -> None:
    mode = recommend_mode("agent", "TCL", True, hardware, HOUSE, outside_city=outside_city)
    assert mode == "bring_in"


@pytest.mark.parametrize(
    ("brand", "is_brand", "hardware", "expected"),
    [
        ("TCL", True, True, "onsite"),  # house brand
        ("tcl ", True, False, "onsite"),  # house brand, case and spaces ignored
        ("TCL", False, False, "onsite"),  # listed house brand even if not flagged as brand
        ("Lenovo", True, True, "onsite"),  # brand-name machine, hardware fault
        ("Lenovo", True, False, "phone_first"),  # brand-name machine, software fault
        (None, False, True, "phone_first"),  # compatible (DIY) machine
        ("", False, False, "phone_first"),
    ],
)
def test_home_users(brand, is_brand, hardware, expected) -> None:
    assert recommend_mode("other", brand, is_brand, hardware, HOUSE) == expected
    assert expected in MODES


def test_house_brands_come_from_config() -> None:
    assert is_house_brand("Founder", ["TCL", "Founder"])
    assert not is_house_brand("TCL", [])
    assert recommend_mode("other", "Founder", True, False, ["Founder"]) == "onsite"


def test_unknown_class_is_rejected() -> None:
    with pytest.raises(ValueError):
        recommend_mode("vip", None, False, True, HOUSE)


@pytest.mark.parametrize(
    ("km", "warranty", "hardware", "expected"),
    [
        (0.0, True, True, "free"),
        (FREE_KM, True, True, "free"),  # on the boundary counts as inside
        (FREE_KM + 0.01, True, True, "paid"),  # suburbs
        (3.0, False, True, "paid"),  # out of warranty
        (3.0, True, False, "paid"),  # software fault
        (RANGE_KM, True, True, "paid"),
        (RANGE_KM + 0.01, True, True, "out_of_range"),
        (RANGE_KM + 0.01, False, False, "out_of_range"),
    ],
)
def test_visit_terms(km: float, warranty: bool, hardware: bool, expected: str) -> None:
    assert visit_terms(km, warranty, hardware, FREE_KM, RANGE_KM) == expected


def test_warranty_one_year_by_default() -> None:
    months = Config().warranty_months
    bought = date(2025, 11, 3)
    assert warranty_end(bought, months) == date(2026, 11, 3)
    assert in_warranty(bought, date(2026, 11, 2), months)
    assert not in_warranty(bought, date(2026, 11, 3), months)
    assert not in_warranty(bought, date(2025, 11, 2), months)
    assert warranty_end(date(2024, 2, 29), months) == date(2025, 2, 28)
    assert warranty_end(date(2025, 1, 31), 1) == date(2025, 2, 28)
