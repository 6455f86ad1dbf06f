"""WTY-CHECK: in or out of warranty and why, overrides, and the freight rule of the FAQ."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.warranty import Facts, Override, check, freight_split

TODAY = date(2026, 12, 3)


@pytest.mark.parametrize(
    ("facts", "in_warranty", "reason", "ends"),
    [
        (Facts(purchase_date=date(2026, 1, 10)), True, "in_period", date(2027, 1, 10)),
        (Facts(purchase_date=date(2025, 12, 4)), True, "in_period", date(2026, 12, 4)),
        (
            Facts(purchase_date=date(2025, 12, 3)),
            False,
            "expired",
            date(2026, 12, 3),
        ),  # first day out
        (Facts(warranty_end=date(2027, 6, 1)), True, "in_period", date(2027, 6, 1)),
        (
            Facts(purchase_date=date(2020, 1, 1), warranty_end=date(2027, 1, 1)),
            True,
            "in_period",
            date(2027, 1, 1),
        ),
        (Facts(), False, "no_proof", None),
        (
            Facts(purchase_date=date(2026, 6, 1), human_damage=True),
            False,
            "human_damage",
            date(2027, 6, 1),
        ),
        (
            Facts(purchase_date=date(2026, 6, 1), self_repaired=True),
            False,
            "self_repair",
            date(2027, 6, 1),
        ),
        (Facts(purchase_date=date(2027, 1, 1)), False, "expired", date(2028, 1, 1)),  # future date
    ],
)
def test_verdicts(facts, in_warranty, reason, ends) -> None:
    verdict = check(facts, TODAY, 12)
    assert (verdict.in_warranty, verdict.reason, verdict.ends) == (in_warranty, reason, ends)
    assert verdict.charges.parts_paid is not in_warranty
    assert verdict.charges.service_paid is not in_warranty
    assert verdict.charges.freight_customer_half is in_warranty


def test_warranty_months_come_from_config() -> None:
    facts = Facts(purchase_date=date(2025, 6, 1))
    assert not check(facts, TODAY, 12).in_warranty
    assert check(facts, TODAY, 24).in_warranty


def test_separately_bought_or_self_installed_keeps_warranty_without_free_onsite() -> None:
    for facts in (
        Facts(purchase_date=date(2026, 6, 1), separately_bought=True),
        Facts(purchase_date=date(2026, 6, 1), self_installed=True),
    ):
        verdict = check(facts, TODAY, 12)
        assert verdict.in_warranty and not verdict.onsite_free
        assert verdict.conditions == ("no_free_onsite",)
    assert check(Facts(purchase_date=date(2026, 6, 1)), TODAY, 12).onsite_free


def test_override_needs_a_note_and_wins() -> None:
    facts = Facts(purchase_date=date(2026, 6, 1), human_damage=True)
    verdict = check(facts, TODAY, 12, Override(True, "外壳裂纹为运输造成"))
    assert verdict.in_warranty and verdict.overridden and verdict.reason == "overridden"
    assert verdict.note == "外壳裂纹为运输造成"
    out = check(Facts(purchase_date=date(2026, 6, 1)), TODAY, 12, Override(False, "进水"))
    assert not out.in_warranty and out.charges.parts_paid
    with pytest.raises(ValueError):
        check(facts, TODAY, 12, Override(True, "  "))


def test_freight_split() -> None:
    inside = check(Facts(purchase_date=date(2026, 6, 1)), TODAY, 12)
    outside = check(Facts(purchase_date=date(2024, 6, 1)), TODAY, 12)
    assert freight_split(2000, inside) == (1000, 1000)
    assert freight_split(2001, inside) == (1000, 1001)
    assert freight_split(2001, outside) == (2001, 0)
    assert freight_split(0, inside) == (0, 0)
    with pytest.raises(ValueError):
        freight_split(-1, inside)
