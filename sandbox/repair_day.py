"""The sandbox day's repair desk chapter: a spare lent on day 7 against the customer's receipt
and returned, a complaint registered, acknowledged, verified and upheld, a /policy look-up and
the warranty verdict of the item."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bot.domain.repair_models import NewItem
from bot.services import repair_service

ZHANG, LI, DISPATCHER = 103, 104, 102
RECEIPT = b"\xff\xd8\xff\xe0 spare unit receipt signed by the customer"


async def _customer(day: Any) -> tuple[int, str]:
    async with day.db.transaction() as conn:
        rows = await conn.execute_fetchall(
            "SELECT id, name FROM customers WHERE class IN ('industry', 'network', 'quasi') "
            "ORDER BY id LIMIT 1"
        )
        if rows:
            return int(rows[0][0]), str(rows[0][1])
        cur = await conn.execute(
            "INSERT INTO customers (name, class, created_at) VALUES ('成都七中', 'industry', ?)",
            (day.services.now().isoformat(),),
        )
        return int(cur.lastrowid), "成都七中"


async def _taken_in_a_week_ago(day: Any, customer_id: int) -> int:
    """The item 张伟 brought back seven days ago (registered through the desk's service)."""
    services = day.services
    week_ago = services.now() - timedelta(days=7)
    earlier = replace(services, clock=lambda: week_ago)
    async with day.db.read() as conn:
        rows = await conn.execute_fetchall("SELECT id FROM people WHERE name = '张伟'")
    item = await repair_service.register_item(
        earlier,
        NewItem(
            customer_id=customer_id,
            product="联想启天 M437 主机",
            fault="频繁蓝屏，疑似主板故障",
            packaging="complete",
            purchase_date=week_ago.date() - timedelta(days=200),
            accessories=("电源线",),
        ),
        by=rows[0][0] if rows else None,
    )
    return item.id


async def repair_chapter(day: Any, out_dir: Path) -> None:
    """Spares, the complaint register and the policy desk, through the real application."""
    log = day.log
    log.heading("返修台：备件借用 Repair desk: a spare on day 7")
    customer_id, name = await _customer(day)
    item = await _taken_in_a_week_ago(day, customer_id)
    print(
        f"  (第 0 天：张伟把{name}的主机带回站里，登记为返修品 {item}；今天是第 7 天)", file=log.out
    )
    await day.say(DISPATCHER, "/spare add 联想启天备用整机 machine SN-BY-01")
    await day.say(DISPATCHER, f"/spare lend 1 {item}")
    log.user_said(DISPATCHER, DISPATCHER, "🖼 (photo of the customer's receipt 收条)")
    mark = day.emu.mark()
    day.emu.send_photo(DISPATCHER, RECEIPT)
    await day.settle(mark)
    await day.say(ZHANG, "/spares")
    await day.say(DISPATCHER, "/spare back 1")

    log.heading("投诉登记 Complaint register (CMP-REGISTER)")
    await day.say(DISPATCHER, "/complaint")
    await day.say(DISPATCHER, name)
    await day.say(DISPATCHER, "技术员上门迟到一小时且未提前告知")
    await day.press(DISPATCHER, DISPATCHER, "拖延")
    await day.press(DISPATCHER, DISPATCHER, "李娜")
    await day.say(DISPATCHER, "/complaints")
    await day.press(DISPATCHER, DISPATCHER, "受理 #1")
    await day.press(DISPATCHER, DISPATCHER, "核实 #1")
    await day.say(DISPATCHER, "属实：派工记录与客户所述一致")
    await day.say(DISPATCHER, "/complaints")
    await day.press(DISPATCHER, DISPATCHER, "成立 #1")
    await day.say(DISPATCHER, "已向客户致歉，对技术员按规定处理")

    log.heading("政策查询与保修判定 Policy desk and warranty")
    sale = (day.services.local_now().date() - timedelta(days=3)).isoformat()
    await day.say(ZHANG, f"/policy local {sale} monitor opened")
    await day.say(ZHANG, f"/policy county {date.fromisoformat(sale).isoformat()} machine faulty")
    await day.say(ZHANG, f"/warranty {item}")
