"""The sandbox day's repair desk chapter: a machine taken back through chat (its voucher, the
day-3 RMA-SEND reminder, the day-10 question answered, back and returned with sign-off), a spare
lent on day 7 against the customer's receipt and returned, a complaint registered, acknowledged,
verified and upheld, a /policy look-up, the warranty verdict of the item, and a paid repair at
the station with its fee and the technician's share."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.domain.repair_models import NewItem
from bot.services import repair_service, timers

ZHANG, LI, DISPATCHER = 103, 104, 102
SIGNED = b"\xff\xd8\xff\xe0 the customer's signed return slip"
INTAKE = datetime(2026, 11, 16, 1, 30, tzinfo=UTC)  # 09:30 in Chengdu, eleven days ago
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


async def _timers_at(day: Any, moment: datetime, what: str) -> None:
    """Step the sandbox clock to moment, run the deadline timer and print what it sent."""
    day.services.clock.set(moment)
    local = moment.astimezone(day.services.config.tz)
    print(f"  ({local:%Y-%m-%d %H:%M}：{what})", file=day.log.out)
    mark = day.emu.mark()
    await timers.run_due(day.app)
    for _ in range(200):  # until the outbox has delivered what the timer queued
        async with day.db.read() as conn:
            rows = await conn.execute_fetchall(
                "SELECT count(*) FROM outbox WHERE state NOT IN ('sent', 'failed')"
            )
        if rows[0][0] == 0:
            break
        await asyncio.sleep(0.05)
    day.log.bot_calls(day.emu.calls(after=mark))


async def taken_back_chapter(day: Any, name: str) -> None:
    """A machine taken back and registered through chat, followed to its return."""
    log = day.log
    log.heading("返修台：带回返修 Repair desk: a machine taken back")
    day.services.clock.set(INTAKE)
    print("  (十一天前 eleven days ago)", file=log.out)
    await day.say(ZHANG, "/rma")
    await day.say(ZHANG, name)
    for answer in ("联想台式机", "启天 M420", "SN-RMA-0001", "2026-06-01", "无法开机"):
        await day.say(ZHANG, answer)
    await day.say(ZHANG, "电源线，键盘")
    await day.press(ZHANG, ZHANG, "包装不全")
    await day.photo(ZHANG, b"\xff\xd8\xff\xe0 the machine as taken in")
    await day.press(ZHANG, ZHANG, "完成登记")
    async with day.db.read() as conn:
        rows = await conn.execute_fetchall("SELECT max(id) FROM repair_items")
    item = int(rows[0][0])
    await day.say(ZHANG, f"/repair {item}")
    await day.press(ZHANG, ZHANG, f"ri:ans:{item}")
    await day.say(ZHANG, "主板送厂家维修，预计十天左右")
    await day.say(ZHANG, f"/repair {item}")
    await day.press(ZHANG, ZHANG, f"ri:mv:{item}:send_up:received")
    await day.say(ZHANG, "顺丰 SF1234567")
    await day.say(ZHANG, "电源线")
    await _timers_at(day, INTAKE + timedelta(days=3, hours=5), "第 3 天下午 day 3")
    await _timers_at(day, INTAKE + timedelta(days=10), "第 10 天 day 10")
    await day.press(ZHANG, ZHANG, f"ri:why:{item}")
    await day.say(ZHANG, "厂家主板缺料")
    await day.say(ZHANG, "2026-11-27")
    await day.press(ZHANG, ZHANG, "已告知客户")
    day.services.clock.set(None)
    print("  (今天 today)", file=log.out)
    await day.say(ZHANG, f"/repair {item}")
    await day.press(ZHANG, ZHANG, f"ri:mv:{item}:come_back:sent_up")
    await day.press(ZHANG, ZHANG, "修好返回")
    await day.say(ZHANG, f"/repair {item}")
    await day.press(ZHANG, ZHANG, f"ri:mv:{item}:return:back")
    await day.press(ZHANG, ZHANG, "拍照签收单")
    await day.photo(ZHANG, SIGNED)
    await day.say(ZHANG, f"/repair {item}")


async def repair_chapter(day: Any, out_dir: Path) -> None:
    """Spares, the complaint register and the policy desk, through the real application."""
    log = day.log
    customer_id, name = await _customer(day)
    await taken_back_chapter(day, name)
    log.heading("返修台：备件借用 Repair desk: a spare on day 7")
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
    await day.press(DISPATCHER, DISPATCHER, "受理 #2")
    await day.press(DISPATCHER, DISPATCHER, "核实 #2")
    await day.say(DISPATCHER, "属实：派工记录与客户所述一致")
    await day.say(DISPATCHER, "/complaints")
    await day.press(DISPATCHER, DISPATCHER, "成立 #2")
    await day.say(DISPATCHER, "已向客户致歉，对技术员按规定处理")

    log.heading("政策查询与保修判定 Policy desk and warranty")
    sale = (day.services.local_now().date() - timedelta(days=3)).isoformat()
    await day.say(ZHANG, f"/policy local {sale} monitor opened")
    await day.say(ZHANG, f"/policy county {date.fromisoformat(sale).isoformat()} machine faulty")
    await day.say(ZHANG, f"/warranty {item}")
    await paid_repair_chapter(day, customer_id)


async def paid_repair_chapter(day: Any, customer_id: int) -> None:
    """An out-of-warranty machine repaired at the station and returned: the fee asked at the
    return, and the technician's RWD-REVENUE share on /me."""
    day.log.heading("站内有偿维修 A paid repair at the station (RWD-REVENUE)")
    item = await repair_service.register_item(
        day.services,
        NewItem(
            customer_id=customer_id,
            product="惠普 ProDesk 400 主机",
            fault="电源损坏，不开机",
            packaging="complete",
            purchase_date=day.services.local_now().date() - timedelta(days=900),  # out of warranty
            accessories=(),
        ),
        by=None,
    )
    print(f"  (前台登记了返修品 {item.id}：购买已两年多，保修期外)", file=day.log.out)
    for step in ("repair_here:received", "repaired:repairing", "return:back"):
        await day.say(ZHANG, f"/repair {item.id}")
        await day.press(ZHANG, ZHANG, f"ri:mv:{item.id}:{step}")
    await day.press(ZHANG, ZHANG, "收回返修凭证")
    await day.press(ZHANG, ZHANG, f"rv:fee:{item.id}")
    await day.say(ZHANG, "260")
    await day.say(ZHANG, "95.50")
    await day.say(ZHANG, "/me")
