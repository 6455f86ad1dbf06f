"""Location evidence over real HTTP: stale, imprecise and invalid points; where a visit ended."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.domain.line_text import NoteRenderer
from bot.services import statements
from tests.e2e.harness import BotHarness
from tests.e2e.test_visits import GROUP, SITE, TECH, arrive, send_location, setup, visits

KM_55 = 0.495  # degrees of latitude, about 55 km


async def flags(h: BotHarness) -> list[str]:
    async with h.db.read() as conn:
        rows = await conn.execute_fetchall("SELECT code FROM visit_flags ORDER BY id")
    return [row[0] for row in rows]


async def send_old_location(h: BotHarness, age: timedelta, **kw) -> str:
    """A location whose message date lies `age` before the bot's clock."""
    now = h.clock()
    h.clock.set(now - age)
    mark = h.emu.mark()
    update = h.emu.send_location(TECH, kw.pop("lat", SITE[0]), kw.pop("lon", SITE[1]), **kw)
    h.clock.set(now)
    await h.handled(update)
    sent = [c for c in h.emu.calls("sendMessage", after=mark) if c.chat_id == TECH]
    return "\n".join(c.params.get("text", "") for c in sent)


async def test_two_hour_old_precise_location_is_refused_and_asked_again(
    harness: BotHarness,
) -> None:
    h = harness
    ticket = await setup(h)
    await arrive(h, ticket)
    text = await send_old_location(h, timedelta(hours=2), horizontal_accuracy=5)
    assert "120 分钟前" in text and "重新发送" in text
    assert await visits(h) == []
    # Asked again: a fresh location checks in.
    text = await send_location(h, horizontal_accuracy=5)
    assert "已签到" in text
    [visit] = await visits(h)
    assert visit["check_in_evidence"] == "medium"


async def test_location_with_5000_m_accuracy_is_weak_and_flagged_with_its_reason(
    harness: BotHarness,
) -> None:
    h = harness
    ticket = await setup(h)
    await arrive(h, ticket)
    mark = h.emu.mark()
    text = await send_location(h, horizontal_accuracy=5000)
    assert "精度约 5000 米" in text and "100 米" in text
    [visit] = await visits(h)
    assert visit["check_in_evidence"] == "weak"
    assert await flags(h) == ["imprecise"]
    alert = await h.emu.wait_for_message(GROUP, "签到距客户地址", after=mark)
    assert "凭证：弱" in alert["text"] and "5000 米" in alert["text"]


async def test_invalid_coordinates_get_a_clear_answer_not_an_apology(harness: BotHarness) -> None:
    h = harness
    ticket = await setup(h)
    await arrive(h, ticket)
    for lat, lon in ((91.0, 181.0), (float("nan"), SITE[1])):
        text = await send_location(h, lat=lat, lon=lon, horizontal_accuracy=5)
        assert "坐标无效" in text, text
    assert await visits(h) == []
    assert "坐标无效" in await send_location(h, lat=float("nan"), lon=SITE[1])  # GO-OUT path too


async def check_out_at(h: BotHarness, lat: float, lon: float, **kw) -> None:
    rows = await visits(h)
    visit_id = rows[-1]["id"]
    await h.press(TECH, TECH, f"visit:out:{visit_id}")
    await send_location(h, lat=lat, lon=lon, **kw)
    await h.press(TECH, TECH, f"visit:oc:{visit_id}:resolved")
    await h.press(TECH, TECH, f"visit:st:{visit_id}:hardware")
    await h.press(TECH, TECH, f"visit:mk:{visit_id}:single")
    await h.press(TECH, TECH, f"visit:co:{visit_id}:0")
    await h.press(TECH, TECH, f"visit:pd:{visit_id}:0")


async def test_check_out_55_km_from_the_site_is_flagged_to_the_group(harness: BotHarness) -> None:
    h = harness
    ticket = await setup(h)
    await arrive(h, ticket)
    await send_location(h, live_period=900)
    h.clock.advance(minutes=40)
    mark = h.emu.mark()
    await check_out_at(h, SITE[0] + KM_55, SITE[1], horizontal_accuracy=10)
    alert = await h.emu.wait_for_message(GROUP, "签退已被标记", after=mark)
    assert re.search(r"签退点距客户地址约 5[45]\d\d\d 米", alert["text"]), alert["text"]
    notice = await h.emu.wait_for_message(TECH, "已被标记", after=mark)
    assert "签退点距客户地址" in notice["text"]
    [visit] = await visits(h)
    assert visit["state"] == "closed" and visit["check_out_distance_m"] > 50_000
    assert "offsite_out" in await flags(h)
    # The statement line the visit's slip pays names the flag and its reason.
    statement = await statements.compute(h.db, h.config, "2026-11")
    [tech] = statement.technicians
    allowance = [line for line in tech.lines if line.kind == "allowance"]
    english, chinese = NoteRenderer("en"), NoteRenderer("zh-CN")
    assert len(allowance) == 1 and "flagged: Checked out about" in english.note(allowance[0])
    assert "位置存疑：签退点距客户地址" in chinese.note(allowance[0])
    travel = [line for line in tech.lines if line.kind == "travel"]
    assert "flagged" not in english.note(travel[0])


async def test_live_jump_of_22_km_then_bare_pin_check_out_is_flagged(harness: BotHarness) -> None:
    h = harness
    ticket = await setup(h)
    await arrive(h, ticket)
    await send_location(h, live_period=3600)
    [visit] = await visits(h)
    h.clock.advance(minutes=1)
    update = h.emu.edit_live_location(TECH, TECH, visit["check_in_message_id"], *SITE)
    await h.handled(update)
    h.clock.advance(minutes=1)
    far = SITE[0] + 0.198  # about 22 km north, one minute later
    update = h.emu.edit_live_location(TECH, TECH, visit["check_in_message_id"], far, SITE[1])
    await h.handled(update)
    h.clock.advance(minutes=5)
    mark = h.emu.mark()
    await check_out_at(h, far, SITE[1])  # a bare pin where the track ended
    alert = await h.emu.wait_for_message(GROUP, "签退已被标记", after=mark)
    assert "实时位置轨迹不可信" in alert["text"] and "22 公里" in alert["text"]
    assert re.search(r"签退点距客户地址约 2[12]\d\d\d 米", alert["text"]), (
        alert["text"] and "地图上选的点" in alert["text"]
    )
    assert set(await flags(h)) >= {"speed", "offsite_out", "bare_pin"}
    [visit] = await visits(h)
    assert visit["check_out_evidence"] == "weak"
    # The group card shows the reasons too.
    card = await h.emu.wait_for(
        lambda c: (
            c.chat_id == GROUP
            and c.method in ("sendMessage", "editMessageText")
            and "实时位置轨迹不可信" in c.params.get("text", "")
            and c.params.get("text", "").startswith("🎫")
        ),
        after=mark,
        timeout=8,
    )
    assert "离开：" in card.params["text"] and "138****0000" in card.params["text"]


async def test_live_share_that_stopped_long_before_check_out_is_noted(harness: BotHarness) -> None:
    h = harness
    ticket = await setup(h)
    await arrive(h, ticket)
    await send_location(h, live_period=900)
    h.clock.advance(minutes=90)
    mark = h.emu.mark()
    await check_out_at(h, *SITE, horizontal_accuracy=8)
    alert = await h.emu.wait_for_message(GROUP, "签退已被标记", after=mark)
    assert "约 75 分钟就停止" in alert["text"]  # the 15-minute share ended at 09:15
    assert await flags(h) == ["live_stopped"]


async def test_clean_visit_has_no_flags(harness: BotHarness) -> None:
    h = harness
    ticket = await setup(h)
    await arrive(h, ticket)
    await send_location(h, live_period=3600)
    h.clock.advance(minutes=20)
    mark = h.emu.mark()
    await check_out_at(h, *SITE, horizontal_accuracy=8)
    await h.idle()
    assert await flags(h) == []
    assert not [c for c in h.emu.calls("sendMessage", after=mark) if "标记" in str(c.params)]
