"""The manager's month over real HTTP: summary files, month close, penalties, contests, /me."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import openpyxl

from bot.domain.line_text import note_text
from bot.domain.models import Role
from bot.services import imports, statements
from tests.conftest import EXAMPLES
from tests.e2e.harness import BotHarness

MANAGER, DISPATCHER, TECH = 201, 202, 203


async def load_november(h: BotHarness) -> None:
    await imports.import_slips(h.db, h.config, EXAMPLES / "november-slips.csv")
    await imports.import_events(h.db, h.config, EXAMPLES / "november-events.csv")


async def test_summary_sends_table_workbook_and_chart(harness: BotHarness) -> None:
    harness.clock.set(datetime(2026, 12, 5, 2, 0, tzinfo=UTC))
    await harness.seed(MANAGER, "李经理", Role.MANAGER)
    await load_november(harness)
    mark = harness.emu.mark()
    harness.emu.send_text(MANAGER, "/summary 2026-11")
    photo = await harness.emu.wait_for(
        lambda c: c.method == "sendPhoto" and c.ok, after=mark, timeout=20
    )
    table = [c for c in harness.emu.calls("sendMessage", after=mark) if c.chat_id == MANAGER][0]
    text = table.result["text"]
    for name in ("张伟", "李娜", "王强", "刘洋"):
        assert name in text
    assert "58.96" in text and "-97.00" in text

    document = harness.emu.calls("sendDocument", after=mark)[0].result["document"]
    data = harness.emu.get_file_bytes(document["file_id"])
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    expected = (await statements.compute(harness.db, harness.config, "2026-11")).as_json()
    for tech in expected["technicians"]:
        assert tech["technician"] in workbook.sheetnames
        sheet = workbook[tech["technician"]]
        amounts = [
            row[2]
            for row in sheet.iter_rows(values_only=True)
            if row and row[0] in {line["rule"] for line in tech["lines"]}
        ]
        assert len(amounts) == len(tech["lines"])
    summary_sheet = workbook[workbook.sheetnames[0]]
    nets = {
        row[0]: row[-1]
        for row in summary_sheet.iter_rows(values_only=True)
        if row and row[0] in {t["technician"] for t in expected["technicians"]}
    }
    assert {name: round(v * 100) for name, v in nets.items()} == {
        t["technician"]: t["net_fen"] for t in expected["technicians"]
    }
    png = harness.emu.get_file_bytes(photo.result["photo"][-1]["file_id"])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


async def test_technician_asking_for_summary_is_refused(harness: BotHarness) -> None:
    await harness.seed(TECH, "张伟", Role.TECHNICIAN)
    mark = harness.emu.mark()
    reply = await harness.say(TECH, "/summary 2026-11")
    assert "无权" in reply["text"]
    await harness.idle()
    assert harness.emu.calls("sendDocument", after=mark) == []


async def test_closemonth_then_event_in_closed_month_is_an_adjustment(harness: BotHarness) -> None:
    harness.clock.set(datetime(2026, 12, 5, 2, 0, tzinfo=UTC))
    await harness.seed(MANAGER, "李经理", Role.MANAGER)
    await harness.seed(TECH, "张伟", Role.TECHNICIAN)
    await load_november(harness)
    before = await statements.compute(harness.db, harness.config, "2026-11")
    reply = await harness.say(MANAGER, "/closemonth 2026-12")
    assert "还没有结束" in reply["text"]
    reply = await harness.say(MANAGER, "/closemonth 2026-11")
    assert "已月结" in reply["text"]
    reply = await harness.say(MANAGER, "/closemonth 2026-11")
    assert "早已月结" in reply["text"]

    # A complaint about a November visit, recorded after the close.
    from bot.services import recorded_events

    result = await recorded_events.record(
        harness.services,
        "张伟",
        "DED-COMPLAINT",
        None,
        "投诉",
        None,
        day=datetime(2026, 11, 20).date(),
    )
    assert result.adjustment_of == "2026-11"
    after = await statements.compute(harness.db, harness.config, "2026-11")
    assert json.dumps(after.as_json(), sort_keys=True) == json.dumps(
        before.as_json(), sort_keys=True
    )
    december = await statements.compute(harness.db, harness.config, "2026-12")
    zhang = [t for t in december.technicians if t.technician == "张伟"][0]
    assert zhang.deduction_fen == 5000
    (adjustment,) = [line for line in zhang.lines if line.adjusts]
    assert adjustment.adjusts == "2026-11" and adjustment.rule == "DED-COMPLAINT"
    assert note_text(adjustment).endswith("投诉（2026-11 月调整）")

    # The same through chat: /penalty in the open month lands normally and the technician is told.
    mark = harness.emu.mark()
    reply = await harness.say(MANAGER, "/penalty 张伟 DED-LATE 迟到")
    assert "DED-LATE" in reply["text"]
    notice = await harness.emu.wait_for_message(TECH, "DED-LATE", after=mark)
    assert notice["reply_markup"]["inline_keyboard"][0][0]["callback_data"].startswith("contest:")


async def test_penalty_wrong_values_write_nothing(harness: BotHarness) -> None:
    await harness.seed(MANAGER, "李经理", Role.MANAGER)
    await harness.seed(TECH, "张伟", Role.TECHNICIAN)
    for text, expect in (
        ("/penalty 张伟", "用法"),
        ("/penalty 张伟 DED-NOPE", "不能在这里登记"),
        ("/penalty 赵六 DED-LATE", "没有叫「赵六」"),
        ("/penalty 张伟 DED-LATE 12", "固定为 10.00 元"),
        ("/reward 张伟 RWD-SUGGEST 80", "10.00 到 50.00"),
        ("/reward 张伟 RWD-SUGGEST", "需要填写金额"),
    ):
        reply = await harness.say(MANAGER, text)
        assert expect in reply["text"], (text, reply["text"])
    assert await harness.count("SELECT count(*) FROM events") == 0


async def test_guided_reward_form_with_a_wrong_amount_then_cancel(harness: BotHarness) -> None:
    await harness.seed(MANAGER, "李经理", Role.MANAGER)
    await harness.seed(TECH, "张伟", Role.TECHNICIAN)
    await harness.say(MANAGER, "/reward")
    await harness.press(MANAGER, MANAGER, "张伟")
    mark = harness.emu.mark()
    await harness.press(MANAGER, MANAGER, "reward:r:RWD-SUGGEST")
    call = await harness.emu.wait_for(
        lambda c: c.method == "sendMessage" and "金额" in c.params.get("text", ""), after=mark
    )
    assert call.params["reply_markup"]["force_reply"] is True
    reply = await harness.say(MANAGER, "很多", reply_to_message_id=call.result["message_id"])
    assert "金额格式不对" in reply["text"]
    reply = await harness.say(MANAGER, "500")
    assert "10.00 到 50.00" in reply["text"]
    reply = await harness.say(MANAGER, "/cancel")
    assert "已取消" in reply["text"]
    assert await harness.count("SELECT count(*) FROM events") == 0

    await harness.say(MANAGER, "/reward")
    await harness.press(MANAGER, MANAGER, "张伟")
    await harness.press(MANAGER, MANAGER, "reward:r:RWD-SUGGEST")
    await harness.say(MANAGER, "30")
    mark = harness.emu.mark()
    reply = await harness.say(MANAGER, "好建议")
    assert "RWD-SUGGEST" in reply["text"] and "30.00" in reply["text"]
    await harness.emu.wait_for_message(TECH, "30.00", after=mark)
    assert await harness.count("SELECT count(*) FROM events WHERE amount_fen = 3000") == 1


async def test_contest_then_manager_voids(harness: BotHarness) -> None:
    await harness.seed(MANAGER, "李经理", Role.MANAGER)
    await harness.seed(TECH, "张伟", Role.TECHNICIAN)
    await harness.seed(204, "李娜", Role.TECHNICIAN)
    mark = harness.emu.mark()
    await harness.say(MANAGER, "/penalty 张伟 DED-COMPLAINT 客户投诉")
    notice = await harness.emu.wait_for_message(TECH, "DED-COMPLAINT", after=mark)
    data = notice["reply_markup"]["inline_keyboard"][0][0]["callback_data"]

    # Another technician replaying the button cannot contest someone else's event.
    harness.emu.user(204, "李娜")
    mark = harness.emu.mark()
    update = harness.emu.press(204, TECH, notice["message_id"], data)
    await harness.handled(update)
    answer = await harness.emu.wait_for(
        lambda call: call.method == "answerCallbackQuery", after=mark
    )
    assert "不是您的记录" in answer.params.get("text", ""), answer
    assert await harness.count("SELECT count(*) FROM forms") == 0  # no form was opened for him
    assert await harness.count("SELECT count(*) FROM contests") == 0

    await harness.press(TECH, TECH, "申诉")
    reply = await harness.say(TECH, "客户认错人了")
    assert "已提交申诉" in reply["text"]
    assert await harness.count("SELECT count(*) FROM contests WHERE state = 'open'") == 1

    reply = await harness.say(MANAGER, "/contests")
    assert "客户认错人了" in reply["text"]
    await harness.press(MANAGER, MANAGER, "作废该项")
    assert await harness.count("SELECT count(*) FROM events WHERE voided = 1") == 1
    assert await harness.count("SELECT count(*) FROM contests WHERE state = 'voided'") == 1
    reply = await harness.say(MANAGER, "/events")
    assert "已作废" in reply["text"]


async def test_void_needs_id_and_reason(harness: BotHarness) -> None:
    await harness.seed(MANAGER, "李经理", Role.MANAGER)
    await harness.seed(TECH, "张伟", Role.TECHNICIAN)
    assert "用法" in (await harness.say(MANAGER, "/void"))["text"]
    assert "找不到" in (await harness.say(MANAGER, "/void 99 重复"))["text"]
    await harness.say(MANAGER, "/penalty 张伟 DED-LATE")
    assert "已作废" in (await harness.say(MANAGER, "/void 1 重复登记"))["text"]
    assert "已经作废" in (await harness.say(MANAGER, "/void 1 再来"))["text"]


async def test_me_shows_month_to_date_with_rule_ids(harness: BotHarness) -> None:
    harness.clock.set(datetime(2026, 11, 28, 4, 0, tzinfo=UTC))
    await harness.seed(TECH, "张伟", Role.TECHNICIAN)
    await load_november(harness)
    reply = await harness.say(TECH, "/me")
    assert "16.00" in reply["text"]
    lines = await every_page_of_me(harness, reply)
    assert "ALW-RATE 2.00 服务单补助：11-02 other-2-10，单机费率 2.00 元" in lines
    assert (
        "ALW-CAP-HOME 0.00 超出家庭单机服务比例：11-08 other-8-10，家庭单机超过 50% 上限（第 7/5 张）"
        in lines
    )
    assert (
        "TRV-HOW 0.00 往返路费：11-11 industry-11-10，往返 2 × 0.000 km × 系数 1.3 × 0.80 元/km"
        in lines
    )
    await harness.say(TECH, "/lang en")
    reply = await harness.say(TECH, "/me")
    assert (
        "ALW-CAP-HOME 0.00 Over the home single-machine cap: 11-07 other-7-10, home"
        " single-machine slips over the 50% cap (no. 6 of 5 allowed)"
        in await every_page_of_me(harness, reply)
    )


async def every_page_of_me(harness: BotHarness, page: dict) -> list[str]:
    """The lines of every page of a /me answer, turning pages with its next button."""
    lines: list[str] = []
    number = 1
    while True:
        lines += page["text"].splitlines()
        rows = (page.get("reply_markup") or {}).get("inline_keyboard", [])
        data = [b.get("callback_data", "") for row in rows for b in row]
        following = [
            d for d in data if d == f"me:p:{number + 1}" or d.startswith(f"me:p:{number + 1}:")
        ]
        if not following:
            return lines
        update = harness.emu.press(TECH, TECH, page["message_id"], following[0])
        await harness.handled(update)
        page = harness.emu._messages[TECH][page["message_id"]]
        number += 1


async def test_rules_in_both_languages(harness: BotHarness) -> None:
    await harness.seed(TECH, "张伟", Role.TECHNICIAN)
    reply = await harness.say(TECH, "/rules")
    assert "3.00" in reply["text"] and "DED-COMPLAINT" in reply["text"]
    await harness.say(TECH, "/lang en")
    reply = await harness.say(TECH, "/rules")
    assert reply["text"].startswith("Amounts in force")


async def test_service_beyond_authority_is_recorded_against_a_slip(harness: BotHarness) -> None:
    harness.clock.set(datetime(2026, 11, 28, 4, 0, tzinfo=UTC))
    await harness.seed(MANAGER, "李经理", Role.MANAGER)
    await harness.seed(TECH, "张伟", Role.TECHNICIAN)
    await load_november(harness)
    reply = await harness.say(MANAGER, "/penalty 张伟 ALW-BEYOND")
    assert "回执单编号" in reply["text"]
    reply = await harness.say(MANAGER, "/penalty 张伟 DED-PRIVATE #1")
    assert "不针对单张回执单" in reply["text"]
    reply = await harness.say(MANAGER, "/penalty 张伟 ALW-BEYOND #12")  # 李娜's slip
    assert "没有编号为 12" in reply["text"]
    assert await harness.count("SELECT count(*) FROM events WHERE rule = 'ALW-BEYOND'") == 0
    before = await statements.compute(harness.db, harness.config, "2026-11", "张伟")
    reply = await harness.say(MANAGER, "/penalty 张伟 ALW-BEYOND #1 5 擅自更换主板")
    assert "ALW-BEYOND" in reply["text"]
    after = await statements.compute(harness.db, harness.config, "2026-11", "张伟")
    assert after.technicians[0].settled == before.technicians[0].settled - 1
    assert after.technicians[0].deduction_fen == before.technicians[0].deduction_fen + 500
