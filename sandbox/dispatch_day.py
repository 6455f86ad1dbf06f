"""The sandbox day's dispatch chapter: customers, tickets of several classes (guided and quick),
the queue, assignment, a technician accepting and another declining."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.services.customer_import import import_customers

GROUP_ID = -1001
DISPATCHER, ZHANG, LI = 102, 103, 104

SAMPLE_CUSTOMERS = """\
name,phone,class,kind,address,lat,lon,coordinate_system,brand,notes,serial,purchase_date,warranty_end
锦江区税务局,028-86660001,industry,,锦江区东大街100号,30.6459,104.0834,,联想,,LX-2026-001,2026-03-15,
蓝海网吧,13800001111,network,netcafe,成华区建设路8号,30.6712,104.1021,,,60 台机器,,,
川西电脑城,028-85550002,agent,county,郫都区望丛路1号,30.8080,103.8890,,,县级代理,,,
成都七中,028-86660003,quasi,,青羊区林荫中街1号,30.6380,104.0540,gcj02,TCL,机房,,,
"""


def _last_prompt(day: Any, chat_id: int) -> int | None:
    """The newest ForceReply prompt of the bot in chat (what a dispatcher replies to)."""
    for call in reversed(day.emu.calls("sendMessage")):
        markup = call.params.get("reply_markup") or {}
        if call.ok and call.chat_id == chat_id and markup.get("force_reply"):
            return call.result["message_id"]
    return None


async def _answer(day: Any, user_id: int, text: str, chat_id: int = GROUP_ID) -> None:
    await day.say(user_id, text, chat_id=chat_id, reply_to_message_id=_last_prompt(day, chat_id))


async def dispatch_chapter(day: Any, out_dir: Path) -> None:
    """Customers, guided and quick intake, the queue, assignment, accept and decline."""
    log = day.log
    log.heading("客户资料 Customers")
    csv_path = out_dir / "sample-customers.csv"
    csv_path.write_text(SAMPLE_CUSTOMERS, encoding="utf-8")
    result = await import_customers(day.db, day.config, csv_path)
    print(
        f"[system] fieldbot import-customers {csv_path.name}: {result.added} added",
        file=log.out,
    )
    await day.say(DISPATCHER, "/customers 网吧", chat_id=GROUP_ID)

    log.heading("按步骤建单 Guided intake (/new)")
    await day.say(DISPATCHER, "/new", chat_id=GROUP_ID)
    await _answer(day, DISPATCHER, "陈女士")
    await day.press(DISPATCHER, GROUP_ID, "新建客户")
    await day.press(DISPATCHER, GROUP_ID, "其他客户")
    await _answer(day, DISPATCHER, "139 0000 2222")
    await _answer(day, DISPATCHER, "30.6290, 104.0400")
    await _answer(day, DISPATCHER, "笔记本开机后黑屏")
    for label in ("硬件", "一般故障", "TCL", "娱乐用", "明天上午", "创建工单"):
        await day.press(DISPATCHER, GROUP_ID, label)

    log.heading("快速建单 Quick intake")
    for line in (
        "锦江区税务局 | 财务服务器无法启动 | 硬件 重大 品牌 工具 | 11-30 09:00-12:00",
        "蓝海网吧 | 20 台机器掉线 | 软件 重大 兼容 工具",
        "川西电脑城 | 返修显示器 3 台 | 硬件 一般 品牌 工具",
        "成都七中 | 机房电脑中毒 | 软件 一般 品牌 工作",
        "蓝海网吧 | 网络慢 | 软件 一般 | -",  # a missing flag: explained, nothing written
    ):
        await day.say(DISPATCHER, f"/new {line}", chat_id=GROUP_ID)

    log.heading("队列 The queue")
    await day.say(DISPATCHER, "/queue", chat_id=GROUP_ID)
    await day.say(DISPATCHER, "/pin 4", chat_id=GROUP_ID)
    await day.say(ZHANG, "/queue", chat_id=GROUP_ID)  # not a dispatcher: refused

    log.heading("派工 Assignment")
    await day.say(DISPATCHER, "/assign 2", chat_id=GROUP_ID)
    await day.press(DISPATCHER, GROUP_ID, "张伟")
    await day.press(ZHANG, ZHANG, "接单")
    await day.say(DISPATCHER, "/assign 3", chat_id=GROUP_ID)
    await day.press(DISPATCHER, GROUP_ID, "李娜")
    await day.press(LI, LI, "拒单")
    await _answer(day, LI, "今天在郫都区另一个客户处，赶不过去", chat_id=LI)
    await day.say(DISPATCHER, "/assign 3", chat_id=GROUP_ID)
    await day.press(DISPATCHER, GROUP_ID, "张伟")
    await day.press(ZHANG, ZHANG, "接单")
    await day.say(ZHANG, "/jobs")
    await day.say(DISPATCHER, "/queue", chat_id=GROUP_ID)
