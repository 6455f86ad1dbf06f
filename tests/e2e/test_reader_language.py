"""What the bot says about money and promises reads in the reader's language, over real HTTP."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import Config
from bot.domain.models import Role
from bot.services import statements, timers
from tests.e2e import test_dispatch as dispatch
from tests.e2e import test_visits as visits
from tests.e2e.harness import BotHarness
from tests.unit.test_reader_language import stray_english


@pytest.fixture
def config(config: Config) -> Config:
    """Cards are edited at once (as in the dispatch tests)."""
    return replace(config, card_edit_interval_s=0)


async def test_arrival_warning_tells_the_technician_the_promise_in_words(
    harness: BotHarness,
) -> None:
    h = harness
    await dispatch.staff(h)
    await dispatch.open_quick_ticket(h, "锦江区税务局")
    await dispatch.assign_to(h, 1, "张伟")
    await h.press(dispatch.ZHANG, dispatch.ZHANG, "接单")
    await h.idle()
    h.clock.advance(hours=47, minutes=45)
    mark = h.emu.mark()
    alerts = await timers.run_due(h.app)
    assert ("SLA-ARRIVE", "warning") in [(a.kind, a.phase) for a in alerts]
    notice = await h.emu.wait_for_message(dispatch.ZHANG, "到达时限", after=mark)
    assert "（SLA-ARRIVE）" in notice["text"] and "SLA-ARRIVE（SLA-ARRIVE）" not in notice["text"]
    assert stray_english(notice["text"]) == []


async def test_automatic_late_deduction_reads_in_each_language(harness: BotHarness) -> None:
    h = harness
    ticket = await visits.setup(h, appointment=visits.NOW - timedelta(minutes=30))
    await visits.arrive(h, ticket)
    await visits.send_location(h, live_period=600)
    reply = await h.say(visits.TECH, "/me")
    late = [line for line in reply["text"].splitlines() if line.startswith("DED-LATE")]
    assert late == [
        f"DED-LATE -10.00 迟到未告知客户：11-24，工单 #{ticket}：09:00 才到，事先未报迟到"
    ]
    assert stray_english(reply["text"]) == []
    await h.say(visits.TECH, "/lang en")
    reply = await h.say(visits.TECH, "/me")
    assert (
        f"DED-LATE -10.00 Late without telling the customer: 11-24, ticket #{ticket}: arrived"
        " 09:00 without saying they would be late" in reply["text"].splitlines()
    )
    listing = await h.say(visits.MANAGER, "/events")
    assert f"工单 #{ticket}：09:00 才到" in listing["text"]
    statement = await statements.compute(h.db, h.config, "2026-11")
    data = json.loads(statements.statement_json(statement, h.config.language))
    (note,) = [
        ln["note"] for t in data["technicians"] for ln in t["lines"] if ln["rule"] == "DED-LATE"
    ]
    assert note == f"迟到未告知客户：11-24，工单 #{ticket}：09:00 才到，事先未报迟到"


async def test_an_event_after_the_close_is_marked_as_an_adjustment_in_chinese(
    harness: BotHarness,
) -> None:
    h = harness
    h.clock.set(datetime(2026, 12, 5, 2, 0, tzinfo=UTC))
    await h.seed(201, "李经理", Role.MANAGER)
    await h.seed(203, "张伟", Role.TECHNICIAN)
    await h.say(201, "/closemonth 2026-11")
    from bot.services import recorded_events

    await recorded_events.record(
        h.services, "张伟", "DED-COMPLAINT", None, "", None, day=datetime(2026, 11, 20).date()
    )
    reply = await h.say(203, "/me")
    (line,) = [ln for ln in reply["text"].splitlines() if ln.startswith("DED-COMPLAINT")]
    # Carried into December as an adjustment of November, dated on the day it is about.
    assert line == "DED-COMPLAINT -50.00 客户投诉：11-20（2026-11 月调整）"
    assert stray_english(reply["text"]) == []


async def test_rules_explain_settling_caps_and_forfeits_in_one_message(
    harness: BotHarness,
) -> None:
    await harness.seed(203, "张伟", Role.TECHNICIAN)
    reply = await harness.say(203, "/rules")
    text = reply["text"]
    assert len(text) < 4096
    for words in ("满意", "最晚", "离开时间", "补助都为 0", "路费"):
        assert words in text, words
    assert stray_english(text) == []
    await harness.say(203, "/lang en")
    text = (await harness.say(203, "/rules"))["text"]
    assert len(text) < 4096
    assert "the latest ones (by check-out" in text and "makes every slip's allowance" in text
