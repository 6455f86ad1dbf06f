"""Old buttons do not disturb what is in progress; a linked customer is greeted as a customer."""

from __future__ import annotations

from storage import forms, identities
from storage.db import utcnow_iso
from tests.e2e.harness import BotHarness
from tests.e2e.test_visits import TECH, arrive, send_location, setup, show_card_button, visits

CUSTOMER = 777


async def test_old_arrived_and_late_buttons_leave_the_checkout_form_alone(
    harness: BotHarness,
) -> None:
    h = harness
    ticket = await setup(h)
    await arrive(h, ticket)
    await send_location(h, live_period=600)
    [visit] = await visits(h)
    await h.press(TECH, TECH, f"visit:out:{visit['id']}")
    await send_location(h, live_period=600)  # the check-out point: the questions begin
    async with h.db.lookup() as conn:
        form = await forms.get(conn, "telegram", str(TECH), str(TECH))
    assert form is not None and form.kind == "visit"
    assert form.data.get("visit") == visit["id"] and form.step not in ("", "checkin")

    for label, data in (("到达现场", f"visit:arrive:{ticket}"), ("晚到", f"visit:late:{ticket}")):
        await show_card_button(h, label, data)  # the accepted card's old buttons
        mark = h.emu.mark()
        await h.press(TECH, TECH, data)
        assert h.answers(mark) == ["这个按钮已失效，请使用最新的消息。"]
        assert h.emu.calls("sendMessage", after=mark) == []  # no new prompt
        async with h.db.lookup() as conn:
            assert await forms.get(conn, "telegram", str(TECH), str(TECH)) == form


async def test_linked_customer_is_greeted_as_a_customer(harness: BotHarness) -> None:
    harness.emu.user(CUSTOMER, "王先生")
    async with harness.db.transaction() as conn:
        await conn.execute(
            "INSERT INTO customers (name, class, telegram_id, created_at) VALUES (?, ?, ?, ?)",
            ("王先生", "other", CUSTOMER, utcnow_iso()),
        )
        await identities.sync_telegram_customer(conn, CUSTOMER)
    reply = await harness.say(CUSTOMER, "/start")
    assert "管理员" not in reply["text"]
    assert reply["text"].startswith("王先生，您好")
