"""The policy desk (POL-*): every window edge, county vs local vs other, opened peripherals, 7 days."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from bot.config import ConfigError, PolicyConfig, parse_config
from bot.domain.policy import decide, kind_of

SALE = date(2026, 11, 1)
POL = PolicyConfig()


def day(n: int) -> date:
    return SALE + timedelta(days=n)


# (kind, item, condition, days after sale, option, open, until (days after sale or None), price)
CASES = [
    # POL-REFUND: county 10 days, local 3, others none; complete packaging.
    ("county", "machine", "complete", 10, "refund", True, 10, "lower_of_sale_and_today"),
    ("county", "machine", "complete", 11, "refund", False, None, ""),
    ("local", "machine", "complete", 3, "refund", True, 3, "lower_of_sale_and_today"),
    ("local", "machine", "complete", 4, "refund", False, None, ""),
    ("other", "machine", "complete", 0, "refund", False, None, ""),
    # POL-EXCHANGE: county 20 (difference), local 10, others wear deducted (no window).
    ("county", "part", "complete", 20, "exchange", True, 20, "pay_difference"),
    ("county", "part", "complete", 21, "exchange", False, None, ""),
    ("local", "part", "complete", 10, "exchange", True, 10, "pay_difference"),
    ("local", "part", "complete", 11, "exchange", False, None, ""),
    ("other", "part", "complete", 200, "exchange", True, None, "wear_deducted"),
    ("other", "machine", "opened", 3, "exchange", True, None, "wear_deducted"),
    # POL-SWAP: faulty only; agents and ordinary users 30 days, local companies 20.
    ("county", "machine", "faulty", 30, "swap", True, 30, "packaging_deducted"),
    ("county", "machine", "faulty", 31, "swap", False, None, ""),
    ("other", "machine", "faulty", 30, "swap", True, 30, "packaging_deducted"),
    ("other", "machine", "faulty", 31, "swap", False, None, ""),
    ("local", "machine", "faulty", 20, "swap", True, 20, "packaging_deducted"),
    ("local", "machine", "faulty", 21, "swap", False, None, ""),
    ("county", "machine", "complete", 1, "swap", False, None, ""),
    # POL-OPENED: opened monitors, keyboards, mice, cases, speakers without fault: neither.
    ("county", "monitor", "opened", 1, "refund", False, None, ""),
    ("county", "keyboard", "opened", 1, "exchange", False, None, ""),
    ("local", "mouse", "opened", 0, "refund", False, None, ""),
    ("other", "case", "opened", 5, "exchange", False, None, ""),
    ("other", "speaker", "opened", 5, "exchange", False, None, ""),
    ("county", "machine", "opened", 1, "refund", True, 10, "lower_of_sale_and_today"),
    ("county", "other_peripheral", "opened", 1, "exchange", True, 20, "pay_difference"),
    # POL-7DAY: a hardware fault within 7 days: refund, exchange or repair, for anyone.
    ("other", "machine", "faulty", 7, "refund", True, 7, "full_refund"),
    ("other", "machine", "faulty", 8, "refund", False, None, ""),
    ("other", "monitor", "faulty", 7, "exchange", True, None, "wear_deducted"),
    ("local", "machine", "faulty", 5, "refund", True, 7, "full_refund"),
    ("local", "machine", "faulty", 8, "refund", False, None, ""),
    ("local", "machine", "faulty", 3, "refund", True, 7, "full_refund"),
    ("county", "machine", "faulty", 5, "refund", True, 10, "lower_of_sale_and_today"),
    ("local", "mouse", "faulty", 7, "exchange", True, 10, "pay_difference"),
    # Repair: any faulty item, per the warranty verdict; nothing to repair otherwise.
    ("other", "machine", "faulty", 400, "repair", True, None, "per_warranty"),
    ("county", "monitor", "opened", 1, "repair", False, None, ""),
]


@pytest.mark.parametrize(
    ("kind", "item", "condition", "days", "option", "is_open", "until", "price"), CASES
)
def test_windows(kind, item, condition, days, option, is_open, until, price) -> None:
    verdict = decide(POL, kind, SALE, day(days), item, condition)
    found = verdict.option(option)
    assert found.open is is_open
    assert found.until == (day(until) if until is not None else None)
    assert found.price == price
    assert verdict.days_since_sale == days
    assert {o.name for o in verdict.options} == {"refund", "exchange", "swap", "repair"}


def test_reasons_name_the_rule() -> None:
    opened = decide(POL, "county", SALE, day(1), "monitor", "opened")
    assert opened.option("refund").rules == ("POL-OPENED",)
    assert opened.option("refund").notes == ("opened_peripheral",)
    assert opened.option("swap").notes == ("not_faulty",)
    late = decide(POL, "local", SALE, day(4), "machine", "complete")
    assert late.option("refund").notes == ("window_over",)
    other = decide(POL, "other", SALE, day(1), "machine", "complete")
    assert other.option("refund").notes == ("no_window",)
    assert other.option("refund").rules == ("POL-REFUND",)
    seven = decide(POL, "other", SALE, day(2), "machine", "faulty")
    assert seven.option("refund").rules == ("POL-7DAY",)
    complete = decide(POL, "county", SALE, day(2), "machine", "complete")
    assert complete.option("refund").notes == ("packaging_complete",)
    peripheral = decide(POL, "county", SALE, day(2), "mouse", "faulty")
    assert peripheral.option("swap").notes == ("upstream_must_swap",)


def test_windows_come_from_config() -> None:
    wider = replace(POL, refund_days_local=5, sale_fault_days=0, exchange_days_other=15)
    assert decide(wider, "local", SALE, day(5), "machine", "complete").is_open("refund")
    assert not decide(wider, "other", SALE, day(2), "machine", "faulty").is_open("refund")
    assert decide(wider, "other", SALE, day(15), "part", "complete").option(
        "exchange"
    ).until == day(15)
    assert not decide(wider, "other", SALE, day(16), "part", "complete").is_open("exchange")
    strict = replace(POL, opened_no_return=("monitor",))
    assert decide(strict, "county", SALE, day(1), "mouse", "opened").is_open("refund")


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError):
        decide(POL, "county", SALE, day(-1), "machine", "faulty")
    with pytest.raises(ValueError):
        decide(POL, "county", SALE, day(1), "toaster", "faulty")
    with pytest.raises(ValueError):
        decide(POL, "nobody", SALE, day(1), "machine", "faulty")
    with pytest.raises(ValueError):
        decide(POL, "county", SALE, day(1), "machine", "broken")


def test_kind_of_customer() -> None:
    assert kind_of("agent", "county") == "county"
    assert kind_of("agent", "local") == "local"
    assert kind_of("agent", "") == "other"
    assert kind_of("industry", "county") == "other"


def test_policy_config_is_validated() -> None:
    config = parse_config({"policy": {"refund_days_local": 5}})
    assert config.policy.refund_days_local == 5
    assert config.policy.refund_days_county == 10
    with pytest.raises(ConfigError) as info:
        parse_config({"policy": {"swap_days_local": -1}})
    assert info.value.key == "policy.swap_days_local"
    with pytest.raises(ConfigError) as info:
        parse_config({"policy": {"opened_no_return": ["toaster"]}})
    assert info.value.key == "policy.opened_no_return"
    with pytest.raises(ConfigError) as info:
        parse_config({"repairs": {"turnaround_inside_days": [8, 7]}})
    assert info.value.key == "repairs.turnaround_inside_days"
    with pytest.raises(ConfigError) as info:
        parse_config({"repairs": {"explain_day": 20, "report_day": 10}})
    assert info.value.key == "repairs.report_day"
    with pytest.raises(ConfigError) as info:
        parse_config({"repairs": {"voucher_prefix": "返修"}})
    assert info.value.key == "repairs.voucher_prefix"
