"""Site visits over real HTTP: check-in evidence, lateness, check-out outcomes, the slip."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.models import Role
from tests.e2e.harness import BotHarness

MANAGER, DISPATCHER, TECH, OTHER_TECH, CUSTOMER = 201, 202, 203, 204, 777
GROUP = -100
SITE = (30.6570, 104.0660)
NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)  # 09:00 in Chengdu


async def seed_ticket(
    h: BotHarness, appointment: datetime | None = None, state: str = "accepted"
) -> int:
    """A customer with a registered site and a ticket assigned to TECH."""
    async with h.db.transaction() as conn:
        rows = await conn.execute_fetchall("SELECT id FROM people WHERE telegram_id = ?", (TECH,))
        tech_id = rows[0][0]
        known = (await conn.execute_fetchall("SELECT count(*) FROM customers"))[0][0]
        cur = await conn.execute(
            "INSERT INTO customers (name, phone, class, lat, lon, address, created_at)"
            " VALUES (?, '13800000000', 'other', ?, ?, '锦江区某路 1 号', ?)",
            (f"王先生{known + 1}", *SITE, NOW.isoformat()),
        )
        customer_id = cur.lastrowid
        start = appointment.isoformat() if appointment else None
        end = (appointment + timedelta(hours=2)).isoformat() if appointment else None
        cur = await conn.execute(
            "INSERT INTO tickets (customer_id, fault, service_type, state, assigned_to,"
            " appointment_start, appointment_end, created_at, updated_at)"
            " VALUES (?, '开不了机', 'hardware', ?, ?, ?, ?, ?, ?)",
            (customer_id, state, tech_id, start, end, NOW.isoformat(), NOW.isoformat()),
        )
        return cur.lastrowid


async def setup(h: BotHarness, appointment: datetime | None = None) -> int:
    h.clock.set(NOW)
    await h.seed(MANAGER, "李经理", Role.MANAGER)
    await h.seed(TECH, "张伟", Role.TECHNICIAN)
    await h.seed(OTHER_TECH, "李娜", Role.TECHNICIAN)
    await h.bind_group(GROUP)
    return await seed_ticket(h, appointment)


async def show_card_button(h: BotHarness, label: str, data: str) -> None:
    """Put a button in the technician's chat, as the accepted dispatch card has it."""
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup

    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data)]])
    await h.app.bot.send_message(TECH, "卡片", reply_markup=keyboard)


async def arrive(h: BotHarness, ticket_id: int) -> None:
    """Press the Arrived button (as on the dispatch card)."""
    await show_card_button(h, "到达现场", f"visit:arrive:{ticket_id}")
    mark = h.emu.mark()
    await h.press(TECH, TECH, f"visit:arrive:{ticket_id}")
    call = await h.emu.wait_for(
        lambda c: c.method == "sendMessage" and c.chat_id == TECH, after=mark
    )
    assert call.params["reply_markup"]["keyboard"][0][0]["request_location"] is True


async def send_location(h: BotHarness, **kw) -> str:
    mark = h.emu.mark()
    update = h.emu.send_location(TECH, kw.pop("lat", SITE[0]), kw.pop("lon", SITE[1]), **kw)
    await h.handled(update)
    sent = [c for c in h.emu.calls("sendMessage", after=mark) if c.chat_id == TECH]
    return "\n".join(c.params.get("text", "") for c in sent)


async def visits(h: BotHarness) -> list:
    async with h.db.read() as conn:
        return await conn.execute_fetchall("SELECT * FROM visits ORDER BY id")


async def check_out(h: BotHarness, outcome: str, paid: bool = False, reason: str = "") -> None:
    rows = await visits(h)
    visit_id = rows[-1]["id"]
    await h.press(TECH, TECH, f"visit:out:{visit_id}")
    await send_location(h, horizontal_accuracy=8)
    await h.press(TECH, TECH, f"visit:oc:{visit_id}:{outcome}")
    if outcome == "revisit":
        await h.say(TECH, reason)
    await h.press(TECH, TECH, f"visit:st:{visit_id}:hardware")
    await h.press(TECH, TECH, f"visit:mk:{visit_id}:single")
    await h.press(TECH, TECH, f"visit:co:{visit_id}:0")
    mark = h.emu.mark()
    await h.press(TECH, TECH, f"visit:pd:{visit_id}:{int(paid)}")
    if paid:
        await h.say(TECH, "120 30")
    await h.emu.wait_for(
        lambda c: c.method == "sendMessage" and c.chat_id == TECH and "slip:qr:" in str(c.params),
        after=mark,
    )


async def slip_row(h: BotHarness):
    async with h.db.read() as conn:
        rows = await conn.execute_fetchall("SELECT * FROM slips ORDER BY id DESC LIMIT 1")
    return rows[0]


async def test_happy_path_live_checkin_checkout_and_handed_over_slip(harness: BotHarness) -> None:
    h = harness
    ticket = await setup(h, appointment=NOW + timedelta(minutes=30))
    await arrive(h, ticket)
    text = await send_location(h, live_period=900)
    assert "已签到" in text
    [visit] = await visits(h)
    assert visit["check_in_evidence"] == "strong" and visit["offsite"] == 0
    assert visit["check_in_distance_m"] < 1
    assert await h.count("SELECT count(*) FROM tickets WHERE state = 'on_site'") == 1

    # Live-location updates arrive as edited messages and are kept while the visit is open.
    for step in range(3):
        update = h.emu.edit_live_location(
            TECH, TECH, visit["check_in_message_id"], SITE[0] + step * 1e-5, SITE[1]
        )
        await h.handled(update)
    assert await h.count("SELECT count(*) FROM live_points") == 3

    h.clock.advance(minutes=50)
    await check_out(h, "resolved", paid=True)
    slip = await slip_row(h)
    assert slip["revenue_fen"] == 9000 and slip["complete"] == 0 and slip["outcome"] == "resolved"
    assert await h.count("SELECT count(*) FROM tickets WHERE state = 'resolved'") == 1

    # The customer answers on the technician's phone.
    await h.press(TECH, TECH, f"slip:sat:{slip['id']}:satisfied")
    await h.press(TECH, TECH, f"slip:cd:{slip['id']}:shoes:1")
    await h.press(TECH, TECH, f"slip:cd:{slip['id']}:eating:1")
    mark = h.emu.mark()
    update = h.emu.send_photo(TECH, b"\x89PNG signed slip 1")
    await h.handled(update)
    done = await h.emu.wait_for_message(TECH, "已完整", after=mark)
    assert f"#{slip['id']}" in done["text"]
    slip = await slip_row(h)
    assert slip["complete"] == 1 and slip["satisfaction"] == "satisfied"
    assert slip["confirmed_via"] == "handed_over" and slip["customer_verified"] == 0
    assert len(slip["signature_sha256"]) == 64


async def test_forwarded_location_and_venue_are_refused(harness: BotHarness) -> None:
    h = harness
    ticket = await setup(h)
    await arrive(h, ticket)
    text = await send_location(h, live_period=600, forwarded_from_user_id=OTHER_TECH)
    assert "转发" in text
    mark = h.emu.mark()
    update = h.emu.send_venue(TECH, *SITE, "某大厦", "锦江区")
    await h.handled(update)
    assert any(
        "「地点」" in c.params.get("text", "") for c in h.emu.calls("sendMessage", after=mark)
    )
    assert await visits(h) == []
    assert await h.count("SELECT count(*) FROM tickets WHERE state = 'accepted'") == 1


async def test_pin_without_accuracy_is_weak_and_offsite_is_flagged(harness: BotHarness) -> None:
    h = harness
    ticket = await setup(h)
    await arrive(h, ticket)
    mark = h.emu.mark()
    text = await send_location(h, lat=SITE[0] + 0.01)  # about 1.1 km away, no accuracy
    assert "弱凭证" in text and "超出范围" in text
    [visit] = await visits(h)
    assert visit["check_in_evidence"] == "weak" and visit["offsite"] == 1
    alert = await h.emu.wait_for_message(GROUP, "签到距客户地址", after=mark)
    assert "凭证：弱（地图选点）" in alert["text"] and "weak" not in alert["text"]


async def test_checkin_without_dispatch_is_flagged_go_out(harness: BotHarness) -> None:
    h = harness
    await setup(h)
    mark = h.emu.mark()
    await send_location(h, horizontal_accuracy=10)
    await h.emu.wait_for_message(GROUP, "GO-OUT", after=mark)
    [visit] = await visits(h)
    assert visit["no_dispatch"] == 1 and visit["ticket_id"] is None


async def test_late_notice_versus_unannounced_late_arrival(harness: BotHarness) -> None:
    h = harness
    ticket = await setup(h, appointment=NOW)
    # Announced: new time 10:00 local, told by the technician; arriving 09:55 costs nothing.
    await show_card_button(h, "晚到", f"visit:late:{ticket}")
    await h.press(TECH, TECH, f"visit:late:{ticket}")
    reply = await h.say(TECH, "十点")
    assert "时间格式不对" in reply["text"]
    await h.say(TECH, "10:00")
    mark = h.emu.mark()
    await h.press(TECH, TECH, f"visit:told:{ticket}:technician")
    await h.emu.wait_for_message(GROUP, "晚到", after=mark)
    h.clock.set(NOW + timedelta(minutes=55))
    await arrive(h, ticket)
    await send_location(h, live_period=600)
    assert await h.count("SELECT count(*) FROM events WHERE rule = 'DED-LATE'") == 0


async def test_unannounced_late_arrival_records_ded_late_once(harness: BotHarness) -> None:
    h = harness
    ticket = await setup(h, appointment=NOW - timedelta(minutes=30))
    await arrive(h, ticket)
    text = await send_location(h, live_period=600)
    assert "DED-LATE" in text
    assert await h.count("SELECT count(*) FROM events WHERE rule = 'DED-LATE'") == 1
    # A second location (a double send) neither checks in again nor deducts again.
    await send_location(h, live_period=600)
    assert await h.count("SELECT count(*) FROM events WHERE rule = 'DED-LATE'") == 1
    assert len([v for v in await visits(h) if v["ticket_id"] == ticket]) == 1


async def test_revisit_reported_and_take_back_starts_its_timer(harness: BotHarness) -> None:
    h = harness
    ticket = await setup(h)
    await arrive(h, ticket)
    await send_location(h, live_period=600)
    mark = h.emu.mark()
    await check_out(h, "revisit", reason="缺主板配件")
    report = await h.emu.wait_for_message(GROUP, "再次上门", after=mark)
    assert "缺主板配件" in report["text"]
    assert await h.count("SELECT count(*) FROM tickets WHERE state = 'needs_revisit'") == 1

    second = await seed_ticket(h)
    await arrive(h, second)
    await send_location(h, live_period=600)
    mark = h.emu.mark()
    await check_out(h, "taken_back")
    await h.emu.wait_for_message(GROUP, "带回服务站", after=mark)
    assert (
        await h.count(
            "SELECT count(*) FROM deadlines WHERE kind = 'SLA-TAKEBACK' AND ref_id = ?", second
        )
        == 1
    )


async def test_slip_through_the_customers_own_chat_is_verified(harness: BotHarness) -> None:
    h = harness
    ticket = await setup(h)
    await arrive(h, ticket)
    await send_location(h, live_period=600)
    await check_out(h, "resolved")
    slip = await slip_row(h)
    # The technician shows the customer a QR code of the slip's link.
    mark = h.emu.mark()
    await h.press(TECH, TECH, f"slip:qr:{slip['id']}")
    photo = await h.emu.wait_for(
        lambda c: c.method == "sendPhoto" and c.chat_id == TECH, after=mark
    )
    png = h.emu.get_file_bytes(photo.result["photo"][-1]["file_id"])
    assert png[:4] == b"\x89PNG"
    h.emu.user(CUSTOMER, "王先生")
    reply = await h.say(CUSTOMER, f"/start slip_{slip['customer_token']}")
    assert "满意" in reply["text"]
    assert "定位轨迹 90 天后删除" in reply["text"]  # what is kept, and why, in one line
    await h.press(CUSTOMER, CUSTOMER, "不满意")
    await h.press(CUSTOMER, CUSTOMER, f"cslip:cd:{slip['customer_token']}:shoes:0")
    mark = h.emu.mark()
    await h.press(CUSTOMER, CUSTOMER, f"cslip:cd:{slip['customer_token']}:eating:1")
    missing = await h.emu.wait_for_message(TECH, "还缺", after=mark)
    assert "客户签字照片" in missing["text"]
    slip = await slip_row(h)
    assert slip["customer_verified"] == 1 and slip["satisfaction"] == "dissatisfied"
    assert slip["conduct_shoe_covers"] == 0
    flag = await h.emu.wait_for_message(MANAGER, "DED-CONDUCT")
    assert "穿鞋套" in flag["text"]
    # The customer cannot use staff commands.
    reply = await h.say(CUSTOMER, "/summary")
    assert "无权" in reply["text"]


async def test_duplicate_signature_photo_flagged_to_managers(harness: BotHarness) -> None:
    h = harness
    for _ in range(2):
        ticket = (
            await setup(h)
            if not await h.count("SELECT count(*) FROM people")
            else await seed_ticket(h)
        )
        await arrive(h, ticket)
        await send_location(h, live_period=600)
        await check_out(h, "resolved")
        slip = await slip_row(h)
        await h.press(TECH, TECH, f"slip:sat:{slip['id']}:satisfied")
        await h.press(TECH, TECH, f"slip:cd:{slip['id']}:shoes:1")
        await h.press(TECH, TECH, f"slip:cd:{slip['id']}:eating:1")
        mark = h.emu.mark()
        await h.handled(h.emu.send_photo(TECH, b"the same photo bytes"))
    flag = await h.emu.wait_for_message(MANAGER, "完全相同", after=mark)
    assert "虚假" in flag["text"]
    assert await h.count("SELECT count(*) FROM events") == 0  # only a manager records the penalty


async def test_double_taps_double_nothing_and_others_are_refused(harness: BotHarness) -> None:
    h = harness
    ticket = await setup(h)
    await arrive(h, ticket)
    await send_location(h, live_period=600)
    [visit] = await visits(h)
    # Another technician replays this visit's buttons.
    mark = h.emu.mark()
    message = h.emu.last_message(TECH)
    for data in (f"visit:out:{visit['id']}", f"visit:arrive:{ticket}"):
        update = h.emu.press(OTHER_TECH, TECH, message["message_id"], data)
        await h.handled(update)
    assert all("不是您的" in text for text in h.answers(mark))
    await check_out(h, "resolved")
    slip = await slip_row(h)
    handover = [m for m in h.emu.messages_to(TECH) if "满意" in (m.get("text") or "")][-1]
    for _ in range(2):
        update = h.emu.press(TECH, TECH, handover["message_id"], f"slip:sat:{slip['id']}:satisfied")
        await h.handled(update)
    update = h.emu.press(
        OTHER_TECH, TECH, handover["message_id"], f"slip:sat:{slip['id']}:dissatisfied"
    )
    await h.handled(update)
    assert (await slip_row(h))["satisfaction"] == "satisfied"
    # Checking out again does nothing: one slip, one closed visit.
    await h.press(TECH, TECH, f"visit:out:{visit['id']}")
    assert await h.count("SELECT count(*) FROM slips") == 1
    assert await h.count("SELECT count(*) FROM visits WHERE state = 'closed'") == 1


async def test_first_satisfaction_wins_across_the_two_chats(harness: BotHarness) -> None:
    h = harness
    ticket = await setup(h)
    await arrive(h, ticket)
    await send_location(h, live_period=600)
    await check_out(h, "resolved")
    slip = await slip_row(h)
    handover = [m for m in h.emu.messages_to(TECH) if "满意" in (m.get("text") or "")][-1]
    h.emu.user(CUSTOMER, "王先生")
    await h.say(CUSTOMER, f"/start slip_{slip['customer_token']}")
    await h.press(CUSTOMER, CUSTOMER, "不满意")
    # The technician's phone still shows the buttons: pressing 满意 there changes nothing.
    mark = h.emu.mark()
    await h.handled(
        h.emu.press(TECH, TECH, handover["message_id"], f"slip:sat:{slip['id']}:satisfied")
    )
    assert any("已经记录过" in text for text in h.answers(mark))
    slip = await slip_row(h)
    assert slip["satisfaction"] == "dissatisfied" and slip["customer_verified"] == 1


async def test_slip_link_refused_for_staff_and_for_a_second_chat(harness: BotHarness) -> None:
    h = harness
    ticket = await setup(h)
    await arrive(h, ticket)
    await send_location(h, live_period=600)
    await check_out(h, "resolved")
    token = (await slip_row(h))["customer_token"]
    reply = await h.say(OTHER_TECH, f"/start slip_{token}")  # a technician's own second try
    assert "员工账号" in reply["text"]
    h.emu.user(CUSTOMER, "王先生")
    await h.say(CUSTOMER, f"/start slip_{token}")
    h.emu.user(888, "路人")
    reply = await h.say(888, f"/start slip_{token}")
    assert "其他账号" in reply["text"]
    async with h.db.read() as conn:
        rows = await conn.execute_fetchall(
            "SELECT telegram_id FROM customers WHERE telegram_id IS NOT NULL"
        )
    assert [r[0] for r in rows] == [CUSTOMER]


async def test_late_notice_must_come_before_the_appointment_and_be_near(
    harness: BotHarness,
) -> None:
    h = harness
    ticket = await setup(h, appointment=NOW + timedelta(hours=1))
    await show_card_button(h, "晚到", f"visit:late:{ticket}")
    await h.press(TECH, TECH, f"visit:late:{ticket}")
    reply = await h.say(TECH, "2099-01-01 00:00")
    assert "24 小时以内" in reply["text"]
    h.clock.set(NOW + timedelta(hours=1, minutes=20))  # the appointment has begun
    reply = await h.say(TECH, "11:00")
    assert "预约时间已过" in reply["text"]
    assert await visits(h) == []


async def test_a_second_location_while_on_site_opens_no_second_visit(harness: BotHarness) -> None:
    h = harness
    ticket = await setup(h)
    await arrive(h, ticket)
    await send_location(h, horizontal_accuracy=15)
    text = await send_location(h, live_period=900)  # starts sharing live after checking in
    assert "已在现场签到" in text
    assert len(await visits(h)) == 1
    assert await h.count("SELECT count(*) FROM visits WHERE no_dispatch = 1") == 0
