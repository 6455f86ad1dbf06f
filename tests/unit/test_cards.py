"""Ticket cards, queue rows and intake parsing: pure functions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain import intake
from bot.domain.cards import (
    CardFacts,
    VisitFacts,
    render_dispatch_card,
    render_queue_row,
    render_ticket_card,
    time_left,
    warranty_state,
)
from bot.domain.dispatch_models import TicketView
from bot.domain.priority import ScoreBreakdown

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 26, 1, 30, tzinfo=UTC)
SCORE = ScoreBreakdown(30, 6, 8, 0, 4, 3, 2.5, 53.5)


def view(**changes: object) -> TicketView:
    base = dict(
        id=7,
        state="accepted",
        customer_id=1,
        customer_name="蓝海网吧",
        customer_class="network",
        customer_kind="netcafe",
        site=(30.67, 104.10),
        address="东大街1号",
        fault="主机无法开机",
        service_type="hardware",
        appointment_start=NOW + timedelta(hours=1),
        appointment_end=NOW + timedelta(hours=3),
        assigned_to=3,
        group_message_id=9,
        customer_phone="13800001111",
        major=True,
        brand=True,
        tool=True,
        brand_name="TCL",
        technician_name="张伟",
    )
    base.update(changes)
    return TicketView(**base)  # type: ignore[arg-type]


def facts(**changes: object) -> CardFacts:
    base = dict(
        ticket=view(),
        score=SCORE,
        mode="onsite",
        terms="free",
        distance_km=4.2,
        in_warranty=True,
        respond_due=NOW + timedelta(minutes=90),
    )
    base.update(changes)
    return CardFacts(**base)  # type: ignore[arg-type]


def test_card_shows_everything_the_group_needs() -> None:
    text = render_ticket_card(facts(), NOW, TZ, "zh-CN")
    for part in (
        "工单 #7",
        "网络客户(网吧)",
        "53.5",
        "蓝海网吧",
        "4.2 km",
        "硬件 · 重大故障 · 品牌机 TCL · 工作用",
        "11-26 10:30–12:30",
        "上门服务 · 免费上门（保修内）",
        "已接单 · 技术员：张伟",
        "剩 1小时30分",
    ):
        assert part in text, part


def test_card_flags_offsite_checkin_and_dissatisfaction() -> None:
    visit = VisitFacts(
        check_in_at=NOW,
        offsite=True,
        check_out_at=NOW + timedelta(hours=1),
        outcome="resolved",
        satisfaction="dissatisfied",
    )
    text = render_ticket_card(facts(visit=visit, terms=None), NOW, TZ, "zh-CN")
    assert "⚠️不在现场" in text and "❗不满意" in text and "位置未知" in text
    assert "已解决" in text and "resolved" not in text
    english = render_ticket_card(facts(visit=visit), NOW, TZ, "en")
    assert "DISSATISFIED" in english and "off site" in english


def test_dispatch_card_and_queue_row() -> None:
    card = render_dispatch_card(facts(), NOW + timedelta(hours=2), TZ, "en")
    assert "Dispatch #7" in card and "Promise due: 11-26 11:30" in card
    row = render_queue_row(
        1, view(pinned=True), SCORE, {"SLA-RESPOND": NOW - timedelta(minutes=5)}, NOW, "zh-CN"
    )
    assert row.startswith("1. #7 蓝海网吧")
    assert "类别 30 + 工作用 6 + 重大 8 + 硬件 4 + 品牌 3 + 等待 2.5" in row
    assert "📌" in row and "接单时限：已超时 0小时5分" in row


def test_time_left_and_warranty() -> None:
    assert time_left(NOW + timedelta(minutes=125), NOW, "en") == "2h 5m left"
    v = view(purchase_date=date(2026, 1, 10))
    assert warranty_state(v, date(2026, 11, 26), 12) is True
    assert warranty_state(v, date(2027, 1, 10), 12) is False
    assert warranty_state(view(), date(2026, 11, 26), 12) is None
    assert warranty_state(view(warranty_end=date(2026, 11, 26)), date(2026, 11, 26), 12) is False


def test_quick_form_parsing() -> None:
    form = intake.parse_quick(
        "蓝海网吧 ｜ 主机无法开机 | 硬件, 重大 tcl 工具 | 11-27 09:00-12:00", NOW, TZ, ["TCL"]
    )
    assert form.customer == "蓝海网吧" and form.flags.brand_name == "TCL"
    assert form.flags == intake.Flags(True, True, True, True, "TCL")
    assert form.window == (
        datetime(2026, 11, 27, 9, 0, tzinfo=TZ),
        datetime(2026, 11, 27, 12, 0, tzinfo=TZ),
    )
    assert (
        intake.parse_quick("甲 | 乙 | sw ordinary compatible fun | -", NOW, TZ, []).window is None
    )


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("甲 | 乙", "dispatch.quick.usage"),
        ("甲 | 乙 | hw major brand", "dispatch.quick.flag_missing_tool"),
        ("甲 | 乙 | hw sw major brand tool", "dispatch.quick.flag_twice"),
        ("甲 | 乙 | hw big brand tool", "dispatch.quick.flag_unknown"),
        ("甲 | 乙 | hw major brand tool | 2026-02-30 09:00-10:00", "dispatch.window.format"),
        ("甲 | 乙 | hw major brand tool | 09:00-08:00", "dispatch.window.order"),
    ],
)
def test_quick_form_errors(text: str, key: str) -> None:
    with pytest.raises(intake.IntakeError) as caught:
        intake.parse_quick(text, NOW, TZ, [])
    assert caught.value.key == key


def test_places_and_faults() -> None:
    assert intake.parse_place("30.66, 104.07") == (30.66, 104.07)
    lat, lon = intake.parse_place("30.66 104.07 gcj02")
    assert abs(lat - 30.66) > 1e-4 and abs(lon - 104.07) > 1e-4
    assert intake.parse_place("30.66, 200") is None
    assert intake.parse_place("东大街1号") is None
    assert intake.normalize_fault(" 蓝 屏！") == intake.normalize_fault("蓝屏")


def test_phones_are_masked_for_the_group() -> None:
    from bot.domain.cards import mask_phone

    assert mask_phone("13812341111") == "138****1111"
    assert mask_phone("028-85551234") == "028****1234"
    assert mask_phone("") == "—" and mask_phone(None) == "—"
    assert mask_phone("12345") == "1****"


def test_flag_reasons_are_localized_without_english_in_chinese() -> None:
    import re

    from bot.domain.cards import flag_reasons
    from bot.domain.evidence import Flag, FlagCode

    encoded = [
        Flag(FlagCode.SPEED, {"speed": 1320, "km": 22, "limit": 150}).encode(),
        Flag(FlagCode.OFFSITE_OUT, {"distance": 54880, "radius": 300}).encode(),
        Flag(FlagCode.BARE_PIN).encode(),
        Flag(FlagCode.IMPRECISE, {"accuracy": 5000, "limit": 100}).encode(),
        Flag(FlagCode.LIVE_STOPPED, {"minutes": 90}).encode(),
        Flag(FlagCode.OFFSITE_IN, {"distance": 1100, "radius": 300}).encode(),
    ]
    chinese = flag_reasons(encoded, "zh-CN")
    assert len(chinese) == 6 and "1320" in chinese[0] and "54880" in chinese[1]
    assert not any(re.search("[A-Za-z]", line) for line in chinese)
    english = flag_reasons(encoded, "en")
    assert english[0].startswith("Live track implausible")
