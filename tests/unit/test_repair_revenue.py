"""RWD-REVENUE of repairs done at the station, the pure part: the benefit and its share, which
items take a fee, and the statement lines (one per paid repair, in the month of its return)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import RewardRules, Rules
from bot.domain import repair_revenue as rr
from bot.domain.line_text import NoteRenderer, line_text, note_text
from bot.domain.models import MonthStatement, StatementLine, TechnicianStatement
from bot.domain.parsing import parse_yuan
from bot.domain.payroll import compute_month
from bot.domain.repair_models import Item
from tests.unit.repair_items import repair_item

TZ = ZoneInfo("Asia/Shanghai")
RULES = Rules()
TAKEN_IN = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


def item(**overrides) -> Item:
    """Repaired at the station and returned, signed off with the voucher."""
    returned = dict(
        id=7,
        voucher_no="FX-20261102-0001",
        customer_name="税务局",
        product="联想台式机",
        purchase_date=None,
        taken_in_by=1,
        taken_in_at=TAKEN_IN,
        holder_id=1,
        holder_name="张伟",
        state="returned",
        expected_back=None,
        back_at=TAKEN_IN,
        outcome="repaired",
        signoff="voucher",
        finished_at=TAKEN_IN,
    )
    return repair_item(**{**returned, **overrides})


def fee(item_id: int, tech: str, fee_fen: int, parts_fen: int, day: int = 20) -> rr.RepairFee:
    returned = datetime(2026, 11, day, 6, 0, tzinfo=UTC)
    return rr.RepairFee(item_id, tech, returned, fee_fen, parts_fen, f"FX-{item_id}", "税务局")


# --- the benefit and its share ------------------------------------------------------------------


def test_the_share_is_ten_percent_of_fee_minus_parts() -> None:
    assert rr.benefit_fen(20_000, 8_050) == 11_950
    assert rr.reward_fen(20_000, 8_050, RULES) == 1_195
    assert rr.reward_fen(20_000, 0, RULES) == 2_000
    assert rr.reward_fen(105, 0, RULES) == 11  # 10.5 fen, half up


def test_the_benefit_is_never_negative() -> None:
    assert rr.benefit_fen(5_000, 8_000) == 0
    assert rr.reward_fen(5_000, 8_000, RULES) == 0
    assert rr.reward_fen(8_000, 8_000, RULES) == 0
    with pytest.raises(ValueError):
        rr.benefit_fen(-1, 0)


def test_the_share_is_the_configured_one() -> None:
    rules = replace(RULES, rewards=RewardRules(revenue_share=Fraction(15, 100)))
    assert rr.reward_fen(20_000, 10_000, rules) == 1_500


@given(st.integers(0, 10**12), st.integers(0, 10**12))
def test_the_share_is_never_negative_nor_above_the_fee(fee_fen: int, parts_fen: int) -> None:
    reward = rr.reward_fen(fee_fen, parts_fen, RULES)
    assert 0 <= reward <= fee_fen
    assert reward == (max(fee_fen - parts_fen, 0) * 10 + 50) // 100


def test_amounts_parse_strictly() -> None:
    assert parse_yuan("200") == 20_000 and parse_yuan("80.5") == 8_050
    assert parse_yuan("0.08") == 8 and parse_yuan(" 12 ") == 1_200
    for bad in ("-1", "+1", "1e3", "1_000", "１２", "12.345", "", ".5", "5.", "1,000", "nan"):
        assert parse_yuan(bad) is None, bad


# --- which items take a fee ----------------------------------------------------------------------


def test_an_item_repaired_here_and_returned_takes_a_fee() -> None:
    assert rr.refusal(item(), in_warranty=False) is None
    assert rr.refusal(item(state="back", finished_at=None), in_warranty=False) is None


def test_in_warranty_work_takes_no_fee() -> None:
    assert rr.refusal(item(), in_warranty=True) == rr.IN_WARRANTY


def test_an_item_sent_up_was_repaired_upstream() -> None:
    sent = item(sent_up_at=TAKEN_IN, outcome="repaired")
    assert rr.refusal(sent, in_warranty=False) == rr.SENT_UP
    assert rr.refusal(item(sent_up_at=TAKEN_IN, outcome="new"), False) == rr.SENT_UP


@pytest.mark.parametrize("state", ["received", "repairing", "refunded", "swapped", "lost"])
def test_items_not_repaired_here_take_none(state: str) -> None:
    assert rr.refusal(item(state=state, outcome=None), in_warranty=False) == rr.NOT_RETURNABLE


# --- statement lines -----------------------------------------------------------------------------


def test_one_line_per_paid_repair_for_the_technician_who_repaired_it() -> None:
    fees = [fee(3, "张伟", 20_000, 8_000, 21), fee(2, "张伟", 5_000, 9_000, 20)]
    fees += [fee(4, "李娜", 0, 0), fee(5, "李娜", 10_000, 0)]
    lines = rr.lines_of(fees, RULES, TZ)
    assert [(ln.ref, ln.amount_fen) for ln in lines["张伟"]] == [
        ("repair 2", 0),
        ("repair 3", 1200),
    ]
    assert [(ln.ref, ln.amount_fen) for ln in lines["李娜"]] == [("repair 5", 1000)]
    assert {ln.rule for ls in lines.values() for ln in ls} == {"RWD-REVENUE"}
    assert {ln.kind for ls in lines.values() for ln in ls} == {"reward"}


def test_the_line_reads_in_both_languages() -> None:
    (line,) = rr.lines_of([fee(3, "张伟", 20_000, 8_050)], RULES, TZ)["张伟"]
    assert line_text(line) == (
        "RWD-REVENUE 11.95 效益提成：11-20，站内维修 FX-3（税务局）收费 200.00 元，"
        "配件成本 80.50 元，效益 119.50 元的 10%"
    )
    assert note_text(line, "en") == (
        "Revenue share: 11-20, repaired here FX-3 (税务局): fee 200.00 元, parts at cost"
        " 80.50 元, 10% of 119.50 元 benefit"
    )
    assert NoteRenderer("zh-CN").ref(line) == "返修品 #3"
    assert NoteRenderer("en").ref(line) == "repair item #3"


def test_the_return_day_is_the_station_day() -> None:
    late = rr.RepairFee(1, "张伟", datetime(2026, 11, 30, 17, 0, tzinfo=UTC), 100, 0, "X", "c")
    (line,) = rr.lines_of([late], RULES, TZ)["张伟"]
    assert line.note[3].isoformat() == "2026-12-01"


def test_lines_go_after_the_technicians_own_and_add_to_the_totals() -> None:
    own = StatementLine("ALW-RATE", 200, "slip 1", "", "allowance")
    statement = MonthStatement(
        "2026-11", (TechnicianStatement("张伟", 1, 1, (own,)), TechnicianStatement("王强", 0, 0))
    )
    fees = [fee(3, "张伟", 20_000, 0), fee(4, "李娜", 10_000, 0), fee(5, "王强", 10_000, 0)]
    result = rr.with_repair_revenue(statement, fees, RULES, TZ, among={"张伟", "李娜"})
    by_name = {tech.technician: tech for tech in result.technicians}
    assert [tech.technician for tech in result.technicians] == sorted(by_name)
    assert by_name["张伟"].lines[0] == own and by_name["张伟"].reward_fen == 2000
    assert by_name["张伟"].net_fen == 2200 and by_name["张伟"].slips == 1
    assert by_name["李娜"].reward_fen == 1000 and by_name["李娜"].slips == 0
    assert by_name["王强"].lines == ()  # not among those asked for
    assert rr.with_repair_revenue(statement, [], RULES, TZ) is statement


def test_a_month_without_repair_fees_is_unchanged() -> None:
    statement = compute_month("2026-11", [], [], RULES, TZ)
    assert rr.with_repair_revenue(statement, [fee(1, "张伟", 0, 0)], RULES, TZ) == statement
