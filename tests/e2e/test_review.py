"""The managers' review over real HTTP: /flags with accept and penalize, paging; /audit."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.evidence import Flag, FlagCode
from tests.e2e.harness import BotHarness
from tests.e2e.test_evidence import KM_55, check_out_at
from tests.e2e.test_visits import MANAGER, NOW, SITE, TECH, arrive, send_location, setup, visits

ADMIN = 1
TELEGRAM_LIMIT = 4096


async def flagged_visit(h: BotHarness) -> int:
    ticket = await setup(h)
    await arrive(h, ticket)
    await send_location(h, live_period=3600)
    h.clock.advance(minutes=20)
    await check_out_at(h, SITE[0] + KM_55, SITE[1], horizontal_accuracy=10)
    return (await visits(h))[-1]["id"]


async def test_flags_lists_the_month_and_accept_settles_it(harness: BotHarness) -> None:
    h = harness
    visit_id = await flagged_visit(h)
    reply = await h.say(MANAGER, "/flags 2026-11")
    listing = reply["message_id"]
    assert "2026-11 被标记的上门（1 次" in reply["text"]
    assert f"#{visit_id}" in reply["text"] and "张伟" in reply["text"]
    assert "签退点距客户地址" in reply["text"] and "待处理" in reply["text"]
    mark = h.emu.mark()
    await h.press(MANAGER, MANAGER, f"flag:a:{visit_id}")
    await h.emu.wait_for_message(MANAGER, f"上门 #{visit_id} 的标记已接受", after=mark)
    assert await h.count("SELECT count(*) FROM visit_flags WHERE resolution = 'accepted'") == 1
    # A second tap on the old button records nothing more.
    reply = await h.say(MANAGER, "/flags 2026-11")
    assert "已接受" in reply["text"]
    mark = h.emu.mark()
    h.emu.press(MANAGER, MANAGER, listing, f"flag:a:{visit_id}")
    await h.idle()
    assert "已经处理过" in h.answers(mark)[0]
    assert await h.count("SELECT count(*) FROM visit_flags WHERE resolution = 'penalized'") == 0


async def test_penalize_opens_the_penalty_form_and_settles_the_flags_when_recorded(
    harness: BotHarness,
) -> None:
    h = harness
    visit_id = await flagged_visit(h)
    await h.say(MANAGER, "/flags")
    mark = h.emu.mark()
    await h.press(MANAGER, MANAGER, f"flag:x:{visit_id}")
    prompt = await h.emu.wait_for_message(MANAGER, "记处罚", after=mark)
    assert "张伟" in prompt["text"]
    rules = [b["callback_data"] for row in prompt["reply_markup"]["inline_keyboard"] for b in row]
    assert "penalty:r:DED-LATE" in rules
    # Opening the form settles nothing: an abandoned form leaves the flags open.
    assert await h.count("SELECT count(*) FROM visit_flags WHERE resolution IS NOT NULL") == 0
    # DED-LATE has a fixed amount: the form asks only for the note, then records.
    mark = h.emu.mark()
    await h.press(MANAGER, MANAGER, "penalty:r:DED-LATE")
    await h.emu.wait_for(lambda c: c.method == "sendMessage" and c.chat_id == MANAGER, after=mark)
    assert await h.count("SELECT count(*) FROM visit_flags WHERE resolution IS NOT NULL") == 0
    reply = await h.say(MANAGER, "签退点离客户太远")
    assert "已登记" in reply["text"] and "DED-LATE" in reply["text"]
    assert await h.count("SELECT count(*) FROM events WHERE rule = 'DED-LATE'") == 1
    assert await h.count("SELECT count(*) FROM visit_flags WHERE resolution IS NULL") == 0
    assert await h.count("SELECT count(*) FROM visit_flags WHERE resolution = 'penalized'") >= 1


async def test_a_penalty_for_flags_accepted_meanwhile_is_not_recorded(harness: BotHarness) -> None:
    h = harness
    visit_id = await flagged_visit(h)
    await h.say(MANAGER, "/flags")
    await h.press(MANAGER, MANAGER, f"flag:x:{visit_id}")
    await h.press(MANAGER, MANAGER, "penalty:r:DED-LATE")
    # Meanwhile the flags are accepted (from the same list, say by another manager).
    await h.press(MANAGER, MANAGER, f"flag:a:{visit_id}")
    reply = await h.say(MANAGER, "签退点离客户太远")
    assert "已经有人处理过" in reply["text"]
    assert await h.count("SELECT count(*) FROM events") == 0
    assert await h.count("SELECT count(*) FROM visit_flags WHERE resolution = 'penalized'") == 0
    # And a second Penalize tap on settled flags is refused at once.
    mark = h.emu.mark()
    await h.press(MANAGER, MANAGER, f"flag:x:{visit_id}")
    assert "已经处理过" in h.answers(mark)[0]


async def test_many_flagged_visits_are_paged_within_telegram_limits(harness: BotHarness) -> None:
    h = harness
    await setup(h)
    every_flag = ";".join(
        Flag(
            code,
            {
                "distance": 55000,
                "radius": 300,
                "accuracy": 5000,
                "limit": 100,
                "speed": 1320,
                "km": 22,
                "minutes": 90,
            },
        ).encode()
        for code in FlagCode
    )
    async with h.db.transaction() as conn:
        tech = await conn.execute_fetchall("SELECT id FROM people WHERE telegram_id = ?", (TECH,))
        for n in range(40):
            at = (NOW + timedelta(hours=n)).isoformat()
            cur = await conn.execute(
                "INSERT INTO visits (technician_id, check_in_at, state) VALUES (?, ?, 'closed')",
                (tech[0][0], at),
            )
            for stage, detail in enumerate(every_flag.split(";")):
                await conn.execute(
                    "INSERT INTO visit_flags (visit_id, stage, code, detail, created_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (cur.lastrowid, "in" if stage % 2 else "out", detail.split(":")[0], detail, at),
                )
    reply = await h.say(MANAGER, "/flags 2026-11")
    seen = set()
    pages = 0
    while True:
        pages += 1
        text = reply["text"]
        assert len(text) < TELEGRAM_LIMIT
        seen |= {line.split()[0] for line in text.splitlines() if line.startswith("#")}
        buttons = [b for row in reply["reply_markup"]["inline_keyboard"] for b in row]
        following = [
            b["callback_data"] for b in buttons if b["callback_data"].startswith("flag:p:")
        ]
        forward = [d for d in following if int(d.rsplit(":", 1)[1]) == pages]
        if not forward:
            break
        mark = h.emu.mark()
        await h.press(MANAGER, MANAGER, forward[0])
        edit = await h.emu.wait_for(lambda c: c.method == "editMessageText", after=mark)
        reply = {"text": edit.params["text"], "reply_markup": edit.params["reply_markup"]}
    assert pages > 1
    assert len(seen) == 40


async def test_audit_log_is_paged_for_admins_only(harness: BotHarness) -> None:
    h = harness
    await setup(h)
    h.emu.user(ADMIN, "管理员")
    async with h.db.transaction() as conn:
        for n in range(45):
            await conn.execute(
                "INSERT INTO audit_log (at, actor, action, detail) VALUES (?, 'cli', ?, ?)",
                (NOW.isoformat(), "export-person", f"王先生{n}"),
            )
    reply = await h.say(ADMIN, "/audit")
    assert "第 1/3 页，共 45 条" in reply["text"] and "王先生44" in reply["text"]
    assert len(reply["text"]) < TELEGRAM_LIMIT
    reply = await h.say(ADMIN, "/audit 3")
    assert "第 3/3 页" in reply["text"] and "王先生0" in reply["text"]
    reply = await h.say(MANAGER, "/audit")
    assert "无权" in reply["text"]
