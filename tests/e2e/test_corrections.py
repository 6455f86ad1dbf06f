"""Corrections over real HTTP: who records what (REC-WHO), all-staff losses, DED-OTHER, and
changes to a closed month carried as adjustments (ADJ-CLOSED)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.domain.models import Role
from bot.services import imports, statements
from tests.e2e.harness import BotHarness

ADMIN, MANAGER, DISPATCHER, TECH, TECH2 = 1, 201, 202, 203, 204
SLIP_HEADER = (
    "technician,customer,customer_class,netcafe,machine,service_type,check_in,check_out,"
    "site_lat,site_lon,slip_complete,satisfaction,revenue"
)


async def office(h: BotHarness) -> None:
    await h.seed(MANAGER, "李经理", Role.MANAGER)
    await h.seed(DISPATCHER, "赵调度", Role.DISPATCHER)
    await h.seed(TECH, "张伟", Role.TECHNICIAN)


def rule_buttons(call: dict) -> list[str]:
    markup = call.params.get("reply_markup") or {}
    return [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]


async def test_dispatcher_may_record_fixed_deductions_but_not_manager_only_rules(
    harness: BotHarness,
) -> None:
    h = harness
    await office(h)
    for text in (
        "/penalty 张伟 ALW-FORFEIT-FALSE 伪造回执单",
        "/penalty 张伟 DED-PRIVATE",
        "/penalty 张伟 DED-OTHER 30 乱收费",
        "/penalty 张伟 ALW-BEYOND #1",
    ):
        reply = await h.say(DISPATCHER, text)
        assert "只有经理" in reply["text"], (text, reply["text"])
    assert await h.count("SELECT count(*) FROM events") == 0

    # The guided form does not even offer the manager-only rules to a dispatcher.
    await h.say(DISPATCHER, "/penalty")
    mark = h.emu.mark()
    pressed = await h.press(DISPATCHER, DISPATCHER, "张伟")
    edit = [c for c in pressed["calls"] if c.method == "editMessageText"][0]
    offered = {data.split(":")[2] for data in rule_buttons(edit)}
    assert "penalty:r:DED-COMPLAINT" in rule_buttons(edit)
    assert offered.isdisjoint({"ALW-FORFEIT-FALSE", "ALW-FORFEIT-UNREPORTED", "DED-PRIVATE"})
    assert offered.isdisjoint({"ALW-BEYOND", "DED-OTHER"})
    assert {"DED-LATE", "RMA-LOST", "RMA-DELAY"} <= offered
    # A forged button press for a manager-only rule records nothing.
    message_id = edit.params["message_id"]
    update = h.emu.press(DISPATCHER, DISPATCHER, message_id, "penalty:r:ALW-FORFEIT-FALSE")
    await h.handled(update)
    edits = h.emu.calls("editMessageText", after=mark)
    assert "已过期" in edits[-1].params["text"]
    assert await h.count("SELECT count(*) FROM events") == 0

    reply = await h.say(DISPATCHER, "/penalty 张伟 DED-COMPLAINT 客户投诉")
    assert "已登记" in reply["text"]
    reply = await h.say(MANAGER, "/penalty 张伟 ALW-FORFEIT-FALSE 伪造回执单")
    assert "已登记" in reply["text"] and "ALW-FORFEIT-FALSE" in reply["text"]
    assert await h.count("SELECT count(*) FROM events") == 2


async def test_other_breach_needs_an_amount_and_a_note(harness: BotHarness) -> None:
    h = harness
    await office(h)
    assert "需要填写金额" in (await h.say(MANAGER, "/penalty 张伟 DED-OTHER"))["text"]
    assert "必须写明原因" in (await h.say(MANAGER, "/penalty 张伟 DED-OTHER 30"))["text"]
    assert await h.count("SELECT count(*) FROM events") == 0
    reply = await h.say(MANAGER, "/penalty 张伟 DED-OTHER 30 报销单据不实")
    assert "DED-OTHER" in reply["text"] and "30.00" in reply["text"]

    # The guided form asks for the note again when none is given.
    await h.say(MANAGER, "/penalty")
    await h.press(MANAGER, MANAGER, "张伟")
    await h.press(MANAGER, MANAGER, "penalty:r:DED-OTHER")
    await h.say(MANAGER, "12.50")
    reply = await h.say(MANAGER, "-")
    assert "必须写明原因" in reply["text"]
    assert await h.count("SELECT count(*) FROM events") == 1
    reply = await h.say(MANAGER, "违反财务纪律")
    assert "12.50" in reply["text"]
    assert await h.count("SELECT count(*) FROM events WHERE rule = 'DED-OTHER'") == 2


async def test_all_staff_loss_from_chat(harness: BotHarness) -> None:
    h = harness
    h.clock.set(datetime(2026, 11, 20, 4, 0, tzinfo=UTC))
    h.emu.user(ADMIN, "管理员")
    reply = await h.say(ADMIN, "/penalty * RMA-LOST 90 丢失硬盘")
    assert "没有登记任何" in reply["text"]
    assert await h.count("SELECT count(*) FROM events") == 0

    await office(h)
    await h.seed(TECH2, "王强", Role.TECHNICIAN)
    mark = h.emu.mark()
    reply = await h.say(MANAGER, "/penalty * RMA-LOST 90 丢失硬盘")
    assert "全体员工（4 人分摊）" in reply["text"] and "90.00" in reply["text"]
    notice = await h.emu.wait_for_message(TECH, "RMA-LOST", after=mark)
    assert "22.50" in notice["text"]
    assert await h.count("SELECT count(*) FROM event_shares") == 4
    statement = await statements.compute(h.db, h.config, "2026-11")
    shares = {t.technician: t.deduction_fen for t in statement.technicians}
    # pinyin: li jing li < wang qiang < zhang wei < zhao diao du
    assert shares == {"李经理": 2250, "王强": 2250, "张伟": 2250, "赵调度": 2250}
    assert "RMA-LOST" in (await h.say(TECH, "/me"))["text"]
    reply = await h.say(MANAGER, "/penalty * DED-LATE")
    assert "只有 RMA-LOST" in reply["text"]


async def test_forfeit_and_void_in_a_closed_month_are_carried_into_the_open_month(
    harness: BotHarness, tmp_path: Path
) -> None:
    h = harness
    h.clock.set(datetime(2025, 4, 5, 2, 0, tzinfo=UTC))
    await office(h)
    slips = tmp_path / "slips.csv"
    slips.write_text(
        "\n".join(
            [
                SLIP_HEADER,
                "张伟,甲公司,other,0,network,hardware,2025-03-03T09:00:00+08:00,"
                "2025-03-03T10:00:00+08:00,30.70,104.07,1,satisfied,",
                "张伟,乙公司,other,0,network,hardware,2025-03-04T09:00:00+08:00,"
                "2025-03-04T10:00:00+08:00,30.80,104.07,1,satisfied,",
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    await imports.import_slips(h.db, h.config, slips)
    assert "已月结" in (await h.say(MANAGER, "/closemonth 2025-03"))["text"]
    march = await statements.compute(h.db, h.config, "2025-03")
    (zhang,) = march.technicians
    travel_1 = next(ln.amount_fen for ln in zhang.lines if ln.rule == "TRV-HOW")
    assert zhang.allowance_fen == 400

    reply = await h.say(MANAGER, "/penalty 张伟 ALW-FORFEIT-FALSE #1 伪造回执单")
    assert "2025-03 已月结" in reply["text"]
    april = (await statements.compute(h.db, h.config, "2025-04")).technicians[0]
    assert (april.allowance_fen, april.travel_fen, april.deduction_fen) == (-400, -travel_1, 20000)
    assert {ln.adjusts for ln in april.lines} == {"2025-03"}

    reply = await h.say(MANAGER, "/void 1 登记错了")
    assert "已作废" in reply["text"] and "2025-04" in reply["text"]
    april = (await statements.compute(h.db, h.config, "2025-04")).technicians[0]
    assert (april.allowance_fen, april.travel_fen, april.deduction_fen) == (0, 0, 0)
    assert await statements.compute(h.db, h.config, "2025-03") == march
