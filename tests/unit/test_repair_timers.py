"""The repair desk's promises: due times, what happens then, and when they are kept."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.config import parse_config
from bot.domain.calendar import ServiceCalendar
from bot.domain.repair_timers import (
    Action,
    ComplaintClock,
    ItemClock,
    complaint_promises,
    days_in,
    due_stages,
    item_promises,
    next_promise,
)

TZ = ZoneInfo("Asia/Shanghai")
CONFIG = parse_config({})
# Monday-Friday only, so the expectations do not depend on the official calendar's data.
CALENDAR = ServiceCalendar(False, (), (), time(8, 30), time(17, 30), TZ)


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=TZ)  # 2026-12-01 is a Tuesday


def item(**overrides) -> ItemClock:
    values = dict(
        item_id=7,
        state="received",
        customer_class="industry",
        customer_kind="",
        taken_in_at=local(1, 10),
    )
    values.update(overrides)
    return ItemClock(**values)


def by_rule(clock: ItemClock) -> dict:
    return {p.rule: p for p in item_promises(clock, CONFIG, CALENDAR)}


def test_an_industry_item_in_the_station() -> None:
    promises = by_rule(item())
    assert set(promises) == {"SLA-TAKEBACK", "SLA-SPARE", "RMA-10DAY", "RMA-20DAY"}
    takeback = promises["SLA-TAKEBACK"]
    assert takeback.due_at == local(2, 10) and takeback.warn_at == local(2, 9, 30)
    assert takeback.due_action is Action.BREACH
    assert promises["SLA-SPARE"].due_at == local(8, 10)
    assert promises["SLA-SPARE"].due_action is Action.ASK_SPARE
    ten = promises["RMA-10DAY"]
    assert ten.warn_at == local(11, 8, 30) and ten.warn_action is Action.ASK_EXPLANATION
    assert ten.due_at == local(12, 0) and ten.auto_event == "RMA-10DAY"
    assert ten.due_action is Action.RECORD_EVENT
    twenty = promises["RMA-20DAY"]
    assert twenty.due_at == local(22, 0) and twenty.auto_event == "RMA-20DAY"


def test_spare_only_for_industry_network_quasi() -> None:
    for cls in ("industry", "network", "quasi"):
        assert "SLA-SPARE" in by_rule(item(customer_class=cls))
    for cls in ("other", "agent"):
        assert "SLA-SPARE" not in by_rule(item(customer_class=cls))


def test_agents_follow_rma_agent_not_takeback() -> None:
    promises = by_rule(item(customer_class="agent", customer_kind="county"))
    assert "SLA-TAKEBACK" not in promises
    agent = promises["RMA-AGENT"]
    assert agent.due_at == local(11, 8, 30) and agent.due_action is Action.ASK_AGENT_REASON
    assert "agent" in agent.notify


def test_rma_send_on_the_third_afternoon() -> None:
    sent = by_rule(item(state="sent_up", sent_up_at=local(2, 16)))["RMA-SEND"]
    assert sent.due_at == local(5, 14) and sent.due_action is Action.REMIND_SENDER
    confirmed = by_rule(
        item(state="sent_up", sent_up_at=local(2, 16), upstream_confirmed_at=local(4, 9))
    )["RMA-SEND"]
    assert confirmed.met_at == local(4, 9)


@pytest.mark.parametrize(
    ("back_at", "due"),
    [
        (local(3, 10), local(3, 17, 30)),  # Thursday morning: today
        (local(4, 18), local(7, 17, 30)),  # Friday evening: Monday
        (local(5, 11), local(7, 17, 30)),  # Saturday: Monday
        (local(7, 8), local(7, 17, 30)),  # before opening: today
    ],
)
def test_rma_back_same_working_day(back_at, due) -> None:
    back = by_rule(item(state="back", back_at=back_at, customer_class="other"))["RMA-BACK"]
    assert back.due_at == due and back.due_action is Action.DELIVER_TODAY
    county = by_rule(
        item(state="back", back_at=back_at, customer_class="agent", customer_kind="county")
    )["RMA-BACK"]
    assert county.due_action is Action.NOTIFY_TODAY


def test_keeping_and_ending_promises() -> None:
    answered = by_rule(item(answered_at=local(1, 15)))
    assert answered["SLA-TAKEBACK"].met_at == local(1, 15)
    explained = by_rule(item(explained_at=local(11, 9)))
    assert explained["RMA-10DAY"].met_at == local(11, 9)
    assert explained["RMA-20DAY"].met_at == local(11, 9)
    done = item_promises(
        item(state="returned", back_at=local(3, 10), finished_at=local(3, 15)), CONFIG, CALENDAR
    )
    assert all(p.met_at is not None and p.met_at <= local(3, 15) for p in done)
    assert next_promise(done, local(30, 0)) is None


def test_due_stages_fire_in_order_and_not_after_being_kept() -> None:
    clock = item(customer_class="other")
    promises = item_promises(clock, CONFIG, CALENDAR)
    assert due_stages(promises, local(1, 12)) == []
    stages = {(p.rule, stage) for p, stage, _, _ in due_stages(promises, local(2, 9, 45))}
    assert stages == {("SLA-TAKEBACK", "warn")}
    stages = {(p.rule, stage) for p, stage, _, _ in due_stages(promises, local(12, 0))}
    assert stages == {
        ("SLA-TAKEBACK", "warn"),
        ("SLA-TAKEBACK", "due"),
        ("RMA-10DAY", "warn"),
        ("RMA-10DAY", "due"),
    }
    explained = item_promises(
        item(customer_class="other", answered_at=local(1, 12), explained_at=local(11, 10)),
        CONFIG,
        CALENDAR,
    )
    stages = {(p.rule, stage) for p, stage, _, _ in due_stages(explained, local(23, 0))}
    assert stages == {("RMA-10DAY", "warn")}  # asked at 08:30, answered at 10:00


def test_next_promise_is_the_soonest_open_one() -> None:
    promises = item_promises(item(), CONFIG, CALENDAR)
    assert next_promise(promises, local(1, 12)).rule == "SLA-TAKEBACK"
    answered = item_promises(item(answered_at=local(1, 11)), CONFIG, CALENDAR)
    assert next_promise(answered, local(1, 12)).rule == "SLA-SPARE"


def test_config_moves_the_days() -> None:
    config = parse_config(
        {"repairs": {"explain_day": 5, "report_day": 6}, "sla": {"spare_days": 3}}
    )
    promises = {p.rule: p for p in item_promises(item(), config, CALENDAR)}
    assert promises["RMA-10DAY"].due_at == local(7, 0)
    assert promises["RMA-20DAY"].due_at == local(8, 0)
    assert promises["SLA-SPARE"].due_at == local(4, 10)


def test_complaint_promises_count_working_days() -> None:
    registered = local(4, 10)  # a Friday
    ack, verify = complaint_promises(ComplaintClock(1, registered), CONFIG, CALENDAR)
    assert ack.rule == "CMP-ACK" and ack.due_at == local(5, 10)
    assert verify.rule == "CMP-VERIFY" and verify.due_at == local(9, 17, 30)
    holiday = ServiceCalendar(False, (local(7, 0).date(),), (), time(8, 30), time(17, 30), TZ)
    _, later = complaint_promises(ComplaintClock(1, registered), CONFIG, holiday)
    assert later.due_at == local(10, 17, 30)
    kept = complaint_promises(
        ComplaintClock(1, registered, acknowledged_at=local(4, 11), verified_at=local(8, 9)),
        CONFIG,
        CALENDAR,
    )
    assert [p.met_at for p in kept] == [local(4, 11), local(8, 9)]


def test_days_in_counts_local_dates() -> None:
    assert days_in(local(1, 23), local(2, 0, 30), CONFIG) == 1
    assert days_in(local(1, 10), local(1, 23), CONFIG) == 0
    assert days_in(local(1, 10), local(1, 10) + timedelta(days=10), CONFIG) == 10
