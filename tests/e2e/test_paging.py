"""A big station's month over real HTTP: long lists answer in pages, every message fits."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain import limits
from bot.domain.models import Role
from bot.services import statements
from tests.e2e.harness import BotHarness

MANAGER, DISPATCHER, TECH, GROUP = 201, 202, 203, -1001
NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)


def sent_texts(h: BotHarness, mark: int) -> list[str]:
    """Every text and caption the bot sent or edited since mark (successful calls)."""
    found = []
    for call in h.emu.calls(after=mark):
        if call.method in ("sendMessage", "editMessageText", "sendDocument") and call.ok:
            found.append(call.params.get("text") or call.params.get("caption") or "")
    return found


def assert_all_fit(h: BotHarness, mark: int) -> None:
    failed = [c for c in h.emu.calls(after=mark) if not c.ok and c.method != "getUpdates"]
    assert failed == [], [(c.method, c.error) for c in failed]
    for text in sent_texts(h, mark):
        assert limits.utf16_len(text) < limits.TEXT_LIMIT


def buttons(message: dict) -> dict[str, str]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return {b["text"]: b["callback_data"] for row in rows for b in row if "callback_data" in b}


def data_starting(message: dict, prefix: str) -> str:
    return next(d for d in buttons(message).values() if d.startswith(prefix))


async def press_data(h: BotHarness, user: int, chat: int, message: dict, data: str) -> dict:
    """Press a button by its data; the message as it is afterwards."""
    update = h.emu.press(user, chat, message["message_id"], data)
    await h.handled(update)
    return h.emu._messages[chat][message["message_id"]]


async def seed_slips(h: BotHarness, technician: str, count: int) -> None:
    async with h.db.transaction() as conn:
        rows = await conn.execute_fetchall("SELECT id FROM people WHERE name = ?", (technician,))
        tech_id = rows[0][0]
        await conn.execute(
            "INSERT INTO customers (id, name, class, created_at) VALUES (1, '蓝海网吧', 'network', ?)",
            (NOW.isoformat(),),
        )
        slips = []
        for i in range(count):
            check_in = datetime(2026, 11, 1, 2, 0, tzinfo=UTC) + timedelta(minutes=95 * i)
            check_out = check_in + timedelta(minutes=40)
            slips.append(
                (
                    tech_id,
                    1,
                    "network",
                    i % 2,
                    "network" if i % 3 == 0 else "single",
                    "software" if i % 4 == 0 else "hardware",
                    check_in.isoformat(),
                    check_out.isoformat(),
                    check_out.isoformat(timespec="seconds"),
                    30.66,
                    104.07,
                    3000.0 + 120 * (i % 40),
                    1,
                    "satisfied",
                    5000 if i % 5 == 0 else 0,
                    NOW.isoformat(),
                )
            )
        await conn.executemany(
            "INSERT INTO slips (technician_id, customer_id, customer_class, netcafe, machine,"
            " service_type, check_in, check_out, check_out_utc, site_lat, site_lon, distance_m,"
            " complete, satisfaction, revenue_fen, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            slips,
        )


async def seed_queue(h: BotHarness, count: int) -> None:
    """count open tickets, each with its pending SLA-RESPOND promise."""
    created = NOW.isoformat()
    async with h.db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO customers (id, name, class, created_at) VALUES (?, ?, 'other', ?)",
            [(i + 1, f"客户{i + 1}", created) for i in range(50)],
        )
        await conn.executemany(
            "INSERT INTO tickets (id, customer_id, fault, service_type, major, state, created_at,"
            " updated_at) VALUES (?, ?, ?, 'hardware', ?, 'new', ?, ?)",
            [
                (i + 1, i % 50 + 1, "不开机" * (1 + i % 5), i % 2, created, created)
                for i in range(count)
            ],
        )
        await conn.executemany(
            "INSERT INTO deadlines (kind, ref_id, due_at, warn_at, state)"
            " VALUES ('SLA-RESPOND', ?, ?, NULL, 'pending')",
            [(i + 1, (NOW + timedelta(hours=4)).isoformat()) for i in range(count)],
        )


async def test_me_with_300_slips_pages_through_every_line(harness: BotHarness) -> None:
    h = harness
    h.clock.set(NOW)
    await h.seed(TECH, "张伟", Role.TECHNICIAN)
    await seed_slips(h, "张伟", 300)
    own = (await statements.compute(h.db, h.config, "2026-11", "张伟")).technicians[0]
    assert len(own.lines) > 300  # more lines than fit one message
    mark = h.emu.mark()
    page = await h.say(TECH, "/me")
    assert "2026-11" in page["text"] and "下一页" in str(buttons(page))
    seen = []
    pages = 0
    while True:
        pages += 1
        lines = page["text"].splitlines()
        seen += [line for line in lines if line.split(" ")[0] in {x.rule for x in own.lines}]
        following = [d for d in buttons(page).values() if d.startswith("me:p:")]
        next_pages = [d for d in following if int(d.split(":")[2]) == pages + 1]
        if not next_pages:
            break
        page = await press_data(h, TECH, TECH, page, next_pages[0])
        assert f"第 {pages + 1}/" in page["text"]
    assert len(seen) == len(own.lines)
    assert pages == -(-len(own.lines) // 10)
    assert_all_fit(h, mark)

    # The whole month as a file: one CSV row per line.
    mark = h.emu.mark()
    await press_data(h, TECH, TECH, page, data_starting(page, "me:csv:"))
    document = h.emu.calls("sendDocument", after=mark)[0].result["document"]
    rows = list(
        csv.reader(io.StringIO(h.emu.get_file_bytes(document["file_id"]).decode("utf-8-sig")))
    )
    assert len(rows) == len(own.lines) + 1
    # A statement file sent is written to the audit log.
    assert await h.count("SELECT count(*) FROM audit_log WHERE action = 'statement'") == 1


async def test_queue_with_500_open_tickets_in_pages_of_ten(harness: BotHarness) -> None:
    h = harness
    await h.seed(DISPATCHER, "王调度", Role.DISPATCHER)
    await h.bind_group(GROUP)
    await seed_queue(h, 500)
    mark = h.emu.mark()
    page = await h.say(DISPATCHER, "/queue", chat_id=GROUP)
    positions = [
        int(line.split(".")[0]) for line in page["text"].splitlines() if line[:1].isdigit()
    ]
    assert positions == list(range(1, 11))
    assert "500" in page["text"] and "第 1/50 页" in page["text"]
    assert len([d for d in buttons(page).values() if d.startswith("assign:s:")]) == 10
    page = await press_data(h, DISPATCHER, GROUP, page, data_starting(page, "queue:p:2"))
    positions = [
        int(line.split(".")[0]) for line in page["text"].splitlines() if line[:1].isdigit()
    ]
    assert positions == list(range(11, 21))
    page = await press_data(h, DISPATCHER, GROUP, page, data_starting(page, "queue:p:1"))
    assert "第 1/50 页" in page["text"]
    assert_all_fit(h, mark)

    # Page data is parsed strictly and range-checked.
    for data in ("queue:p:51", "queue:p:0", "queue:p:x", "queue:p:2:../../x", "queue:p:99999999"):
        mark = h.emu.mark()
        update = h.emu.press(DISPATCHER, GROUP, page["message_id"], data)
        await h.handled(update)
        answer = h.answers(mark)[-1]
        assert "过期" in answer or "没有了" in answer, data
    # A technician may not page the office's queue.
    await h.seed(TECH, "张伟", Role.TECHNICIAN)
    mark = h.emu.mark()
    update = h.emu.press(TECH, GROUP, page["message_id"], "queue:p:2")
    await h.handled(update)
    assert "无权" in h.answers(mark)[-1]


async def test_events_with_many_events(harness: BotHarness) -> None:
    h = harness
    h.clock.set(NOW)
    await h.seed(MANAGER, "李经理", Role.MANAGER)
    await h.seed(TECH, "张伟", Role.TECHNICIAN)
    async with h.db.transaction() as conn:
        rows = await conn.execute_fetchall("SELECT id FROM people WHERE name = '张伟'")
        await conn.executemany(
            "INSERT INTO events (technician_id, rule, day, amount_fen, note, recorded_at)"
            " VALUES (?, 'DED-LATE', ?, NULL, ?, ?)",
            [
                (rows[0][0], f"2026-11-{1 + i % 28:02d}", "迟到" * 30, NOW.isoformat())
                for i in range(400)
            ],
        )
    mark = h.emu.mark()
    page = await h.say(MANAGER, "/events 2026-11")
    assert "#1 " in page["text"] and "第 1/" in page["text"]
    page = await press_data(h, MANAGER, MANAGER, page, data_starting(page, "events:p:2:2026-11"))
    assert "#16 " in page["text"] and "#1 " not in page["text"]
    assert_all_fit(h, mark)


async def test_contests_page_and_deciding_refreshes_the_list(harness: BotHarness) -> None:
    h = harness
    await h.seed(MANAGER, "李经理", Role.MANAGER)
    await h.seed(TECH, "张伟", Role.TECHNICIAN)
    async with h.db.transaction() as conn:
        tech = (await conn.execute_fetchall("SELECT id FROM people WHERE name = '张伟'"))[0][0]
        for i in range(12):
            cur = await conn.execute(
                "INSERT INTO events (technician_id, rule, day, recorded_at)"
                " VALUES (?, 'DED-LATE', '2026-11-03', ?)",
                (tech, NOW.isoformat()),
            )
            await conn.execute(
                "INSERT INTO contests (event_id, technician_id, reason, created_at)"
                " VALUES (?, ?, ?, ?)",
                (cur.lastrowid, tech, f"理由{i}", NOW.isoformat()),
            )
    page = await h.say(MANAGER, "/contests")
    assert "理由0" in page["text"] and "理由5" not in page["text"]
    page = await press_data(h, MANAGER, MANAGER, page, "decide:1:void")
    assert "理由0" not in page["text"] and "理由1" in page["text"]
    assert await h.count("SELECT count(*) FROM contests WHERE state = 'open'") == 11


async def test_customers_search_pages(harness: BotHarness) -> None:
    h = harness
    await h.seed(DISPATCHER, "王调度", Role.DISPATCHER)
    await h.bind_group(GROUP)
    async with h.db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO customers (name, class, phone, created_at) VALUES (?, 'other', ?, ?)",
            [(f"网吧{i:02d}", f"1380000{i:04d}", NOW.isoformat()) for i in range(12)],
        )
    page = await h.say(DISPATCHER, "/customers 网吧", chat_id=GROUP)
    assert "网吧00" in page["text"] and "网吧05" not in page["text"]
    page = await press_data(h, DISPATCHER, GROUP, page, data_starting(page, "customers:p:2"))
    assert "网吧05" in page["text"] and "网吧00" not in page["text"]


async def test_jobs_pages(harness: BotHarness) -> None:
    h = harness
    await h.seed(TECH, "张伟", Role.TECHNICIAN)
    async with h.db.transaction() as conn:
        tech = (await conn.execute_fetchall("SELECT id FROM people WHERE name = '张伟'"))[0][0]
        await conn.execute(
            "INSERT INTO customers (id, name, class, created_at) VALUES (1, '蓝海', 'other', ?)",
            (NOW.isoformat(),),
        )
        await conn.executemany(
            "INSERT INTO tickets (customer_id, fault, service_type, state, assigned_to,"
            " created_at, updated_at) VALUES (1, ?, 'hardware', 'assigned', ?, ?, ?)",
            [(f"故障{i}", tech, NOW.isoformat(), NOW.isoformat()) for i in range(25)],
        )
    page = await h.say(TECH, "/jobs")
    assert "#1" in page["text"] and "dispatch:accept:1" in buttons(page).values()
    page = await press_data(h, TECH, TECH, page, data_starting(page, "jobs:p:2"))
    assert "dispatch:accept:11" in buttons(page).values()
    assert "dispatch:accept:1" not in buttons(page).values()


async def test_a_long_text_is_sent_in_pieces_and_a_long_edit_is_cut(harness: BotHarness) -> None:
    h = harness
    await h.seed(TECH, "张伟", Role.TECHNICIAN)
    text = "\n".join(f"第{n}行 服务站的一行很长的中文文字，含表情😀👍🏽" for n in range(400))
    mark = h.emu.mark()
    last = await h.app.bot.send_message(TECH, text)
    sent = [c.params["text"] for c in h.emu.calls("sendMessage", after=mark) if c.ok]
    assert len(sent) > 1 and "".join(sent) == text
    assert all(limits.utf16_len(s) <= limits.TEXT_LIMIT for s in sent)
    await h.app.bot.edit_message_text(text, chat_id=TECH, message_id=last.message_id)
    edited = h.emu._messages[TECH][last.message_id]["text"]
    assert edited.endswith(limits.ELLIPSIS) and limits.utf16_len(edited) <= limits.TEXT_LIMIT


async def test_button_data_over_64_bytes_is_refused_before_sending(harness: BotHarness) -> None:
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup

    h = harness
    await h.seed(TECH, "张伟", Role.TECHNICIAN)
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="页" * 30)]])
    mark = h.emu.mark()
    with pytest.raises(limits.CallbackDataTooLong):
        await h.app.bot.send_message(TECH, "hi", reply_markup=markup)
    assert h.emu.calls("sendMessage", after=mark) == []


async def test_a_long_customer_search_pages_too(harness: BotHarness) -> None:
    h = harness
    await h.seed(DISPATCHER, "王调度", Role.DISPATCHER)
    await h.bind_group(GROUP)
    name = "成都市高新区天府软件园网吧连锁"
    async with h.db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO customers (name, class, created_at) VALUES (?, 'other', ?)",
            [(f"{name}{i:02d}", NOW.isoformat()) for i in range(8)],
        )
    page = await h.say(DISPATCHER, f"/customers {name}", chat_id=GROUP)
    data = data_starting(page, "customers:p:2")
    assert len(data.encode()) <= 64
    page = await press_data(h, DISPATCHER, GROUP, page, data)
    assert f"{name}05" in page["text"]


async def test_a_long_caption_keeps_its_first_part_and_the_rest_follows(
    harness: BotHarness,
) -> None:
    h = harness
    await h.seed(TECH, "张伟", Role.TECHNICIAN)
    caption = "\n".join(f"第{n}行 说明文字" for n in range(300))
    mark = h.emu.mark()
    await h.app.bot.send_document(TECH, b"a,b\n1,2\n", filename="x.csv", caption=caption)
    sent = h.emu.calls("sendDocument", after=mark)[0]
    head = sent.params["caption"]
    assert sent.ok and limits.utf16_len(head) <= limits.CAPTION_LIMIT
    rest = [c.params["text"] for c in h.emu.calls("sendMessage", after=mark) if c.ok]
    assert head + "".join(rest) == caption
