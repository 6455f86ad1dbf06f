"""The sandbox day's visit chapter: check-in (a forwarded location refused), check-out, the
customer's slip with each satisfaction level (one through the customer's own chat), and /me."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from storage import tickets

ZHANG, LI, CUSTOMER = 103, 104, 900
DISPATCHER, GROUP_ID = 102, -1001


async def _site(day: Any, ticket_id: int) -> tuple[float, float]:
    async with day.db.read() as conn:
        view = await tickets.ticket_for_visit(conn, ticket_id)
    assert view is not None and view.site is not None
    return view.site


async def _visit_and_check_out(
    day: Any, tech: int, ticket_id: int, outcome: str, paid: bool = False
) -> None:
    """Arrive with a live location, then check out with the given outcome."""
    site = await _site(day, ticket_id)
    await day.press(tech, tech, f"visit:arrive:{ticket_id}")
    await day.location(tech, *site, live_period=3600)
    await day.press(tech, tech, "离开现场")
    await day.location(tech, site[0] + 0.0002, site[1], horizontal_accuracy=12)
    await day.press(tech, tech, outcome)
    if outcome == "需要再次上门":
        await day.say(tech, "主板电容鼓包，需订配件后再来")
    await day.press(tech, tech, "硬件")
    await day.press(tech, tech, "网络")
    await day.press(tech, tech, "没有超过")
    await day.press(tech, tech, "收费" if paid else "免费")
    if paid:
        await day.say(tech, "150 40")


async def visit_chapter(day: Any, out_dir: Path) -> None:
    """Whole visits by 张伟 and 李娜 on the tickets dispatched earlier in the day."""
    log = day.log
    log.heading("上门签到 Check-in")
    site = await _site(day, 2)
    await day.press(ZHANG, ZHANG, "visit:arrive:2")
    await day.location(ZHANG, *site, live_period=3600, forwarded_from_user_id=LI)  # refused
    await day.location(ZHANG, *site, live_period=3600)

    log.heading("签退与回执单 Check-out and the slip (满意)")
    await day.press(ZHANG, ZHANG, "离开现场")
    await day.location(ZHANG, site[0] + 0.0002, site[1], horizontal_accuracy=12)
    for label in ("已解决", "硬件", "网络", "没有超过", "收费"):
        await day.press(ZHANG, ZHANG, label)
    await day.say(ZHANG, "150 40")
    await day.press(ZHANG, ZHANG, "满意")
    await day.press(ZHANG, ZHANG, "是")
    await day.press(ZHANG, ZHANG, "是")
    await day.photo(ZHANG, b"signed paper slip, ticket 2")

    log.heading("需要再次上门 A revisit (一般)")
    await _visit_and_check_out(day, ZHANG, 3, "需要再次上门")
    await day.press(ZHANG, ZHANG, "一般")
    await day.press(ZHANG, ZHANG, "是")
    await day.press(ZHANG, ZHANG, "是")
    await day.photo(ZHANG, b"signed paper slip, ticket 3")

    log.heading("客户在自己的手机上确认 The customer's own chat (不满意)")
    await day.say(DISPATCHER, "/assign 5", chat_id=GROUP_ID)
    await day.press(DISPATCHER, GROUP_ID, "李娜")
    await day.press(LI, LI, "dispatch:accept:5")
    await _visit_and_check_out(day, LI, 5, "已解决")
    async with day.db.read() as conn:
        rows = await conn.execute_fetchall(
            "SELECT customer_token FROM slips WHERE customer_token IS NOT NULL ORDER BY id DESC"
        )
    await day.press(LI, LI, "📱 客户用自己的手机确认")
    day.emu.user(CUSTOMER, "周老师")
    day.log.person(CUSTOMER, "周老师")
    await day.say(CUSTOMER, f"/start slip_{rows[0][0]}")
    await day.press(CUSTOMER, CUSTOMER, "不满意")
    await day.press(CUSTOMER, CUSTOMER, "否")
    await day.press(CUSTOMER, CUSTOMER, "是")
    await day.photo(LI, b"signed paper slip, ticket 5")
    # Later, on the same phone, the customer files a complaint about that visit (CMP-REGISTER).
    await day.press(CUSTOMER, CUSTOMER, "投诉此次上门服务")
    await day.press(CUSTOMER, CUSTOMER, "言行举止")
    await day.say(CUSTOMER, "技术员没穿鞋套，进门就踩脏了地毯")

    log.heading("技术员查看本月 /me")
    await day.say(ZHANG, "/me")
