"""Chinese output has no stray English: every statement line kind, every card, every notice.

Rule IDs, commands, units (km) and numbers are allowed; so are the few words a user types as
input (command arguments such as `/duty on|off`) and names (TCL, Telegram, Excel, English).
"""

from __future__ import annotations

import itertools
import json
import re
import string
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest

from bot.config import Rules, TravelRules
from bot.domain.cards import (
    CardFacts,
    VisitFacts,
    render_dispatch_card,
    render_queue_row,
    render_ticket_card,
)
from bot.domain.dispatch_models import TicketView
from bot.domain.line_text import NoteRenderer, event_note, line_text, note_text
from bot.domain.models import RecordedEvent, Slip, StatementLine
from bot.domain.note_codes import coded
from bot.domain.payroll import (
    EVENT_RULES,
    OPTIONAL,
    REQUIRED,
    RULE_TITLES,
    compute_month,
    config_value,
)
from bot.domain.priority import ScoreBreakdown
from bot.domain.repair_revenue import RepairFee, with_repair_revenue
from bot.i18n import catalog

TZ = ZoneInfo("Asia/Shanghai")
RULES = Rules()
MONTH = "2026-11"

RULE_ID = re.compile(r"\b[A-Z]+(?:-[A-Z0-9*]+)+\b")
COMMAND = re.compile(r"/[a-z_]+")
WORD = re.compile(r"[A-Za-z]{2,}")
ALLOWED = {"km", "TCL", "Telegram", "Excel", "English", "QR", "YYYY", "MM", "DD"}
# Words a user types as input, shown as examples of what to type.
INPUT_WORDS = {
    "start.code_malformed": {"AB", "DE", "GH"},
    "cmd.invite": {"technician", "dispatcher", "manager"},
    "invite.usage": {"technician", "dispatcher", "manager"},
    "cmd.duty": {"on", "off"},
    "dispatch.duty.usage": {"on", "off"},
    "cmd.lang": {"zh", "en"},
    "customer.help": {"lang", "zh", "en", "cancel"},
    "lang.usage": {"zh", "en"},
    "dispatch.quick.usage": {"hw", "sw", "major", "brand", "tool"},
    "dispatch.quick.flag_unknown": {
        "hw",
        "sw",
        "major",
        "ordinary",
        "brand",
        "compatible",
        "tool",
        "fun",
    },
    "dispatch.new.ask_place": {"gcj", "bd"},
    "dispatch.place.bad_coordinates": {"gcj"},
    "cmd.spare": {"add", "lend", "back"},
    "desk.spares.empty": {"add"},
    "desk.spare.usage": {"add", "lend", "back", "none"},
    "desk.pol.usage": {
        "county",
        "local",
        "other",
        "monitor",
        "keyboard",
        "mouse",
        "case",
        "speaker",
        "peripheral",
        "machine",
        "part",
        "faulty",
        "opened",
        "complete",
    },
    "desk.wty.usage": {"in", "out"},
    "custdesk.wty.bad_word": {"in", "out"},
    "repairfee.refused.in_warranty": {"out"},
}


def stray_english(text: str, allowed: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    """The English words in text that are not rule IDs, commands, units or allowed names."""
    text = COMMAND.sub(" ", RULE_ID.sub(" ", text))
    return [word for word in WORD.findall(text) if word not in ALLOWED | allowed]


def test_the_checker_catches_english_and_passes_ids_units_and_numbers() -> None:
    assert stray_english("ALW-CAP-HOME 0.00 超出家庭单机服务比例：11-23 陈女士，12.5 km") == []
    assert stray_english("SLA-ARRIVE（SLA-ARRIVE）凭证：weak") == ["weak"]
    assert stray_english("adjustment for 2026-10") == ["adjustment", "for"]


# --- every statement line kind ---------------------------------------------------------------


def slip(n: int, technician: str, **facts: object) -> Slip:
    """A satisfied single-machine office slip on day n of November, 12 km away."""
    out = datetime(2026, 11, n, 10, 50, tzinfo=TZ).astimezone(UTC)  # as storage reads them
    base: dict[str, object] = dict(
        id=n,
        technician=technician,
        customer=f"客户{n}",
        customer_class="industry",
        netcafe=False,
        machine="single",
        service_type="hardware",
        check_in=out - timedelta(minutes=50),
        check_out=out,
        complete=True,
        satisfaction="satisfied",
        distance_m=12_000.0,
        revenue_fen=0,
    )
    base.update(facts)
    return Slip(**base)  # type: ignore[arg-type]


def event(n: int, technician: str, rule: str, **facts: object) -> RecordedEvent:
    info = EVENT_RULES[rule]
    amount = None
    if info.amount == REQUIRED:
        low = config_value(RULES, info.bounds[0]) if info.bounds else 1000
        amount = low
    elif info.amount == OPTIONAL:
        amount = 500
    base: dict[str, object] = dict(
        id=n, technician=technician, rule=rule, day=date(2026, 11, 20), amount_fen=amount
    )
    base.update(facts)
    return RecordedEvent(**base)  # type: ignore[arg-type]


def every_kind() -> list[StatementLine]:
    """Statement lines of every rule that can produce one, and of every reason."""
    a = [
        slip(1, "甲", customer_class="network", netcafe=True, machine="network"),
        slip(2, "甲", customer_class="network", machine="network", revenue_fen=12_000),
        slip(3, "甲"),
        slip(4, "甲", complete=False),
        slip(5, "甲", satisfaction="neutral"),
        slip(6, "甲", satisfaction=None),
        slip(7, "甲", satisfaction="dissatisfied"),
        slip(8, "甲"),  # beyond authority
        slip(9, "甲", customer_class="other"),
        slip(10, "甲", customer_class="other"),
        slip(11, "甲", customer_class="other", service_type="software"),
        slip(12, "甲", service_type="software"),
        slip(13, "甲", service_type="software"),
        *(slip(n, "甲", customer_class="other") for n in (22, 23, 24)),
        slip(25, "甲", customer_class="other", service_type="software"),  # over both caps
        slip(26, "甲", customer_class="other"),  # over the home cap
    ]
    forfeit = [
        slip(15, "乙"),
        slip(16, "乙", satisfaction="dissatisfied"),
        slip(14, "乙"),  # found false
    ]
    events = [
        event(1, "甲", "ALW-BEYOND", slip_id=8),
        event(2, "乙", "ALW-FORFEIT-FALSE", slip_id=14, day=date(2026, 11, 14)),
        event(3, "乙", "DED-PRIVATE"),
        event(4, "甲", "DED-LATE", note=coded("late_auto", ticket=12, arrived="09:42")),
        event(5, "甲", "DED-LATE", note="ticket 7: arrived 10:05 without notice"),
        event(6, "甲", "DED-COMPLAINT", adjustment_of="2026-10", note="客户来电投诉"),
        event(7, "*", "RMA-LOST", amount_fen=1001, note="主板"),
        *(
            event(10 + n, "丙", rule, slip_id=15 if info.slip == REQUIRED else None)
            for n, (rule, info) in enumerate(EVENT_RULES.items())
        ),
    ]
    statement = compute_month(MONTH, a + forfeit, events, RULES, TZ, ["甲", "乙", "丙"])
    returned = datetime(2026, 11, 21, 15, 0, tzinfo=TZ).astimezone(UTC)
    repair = RepairFee(31, "甲", returned, 20_000, 8_000, "FX-20261102-0001", "客户31")
    statement = with_repair_revenue(statement, [repair], RULES, TZ)
    lines = [line for tech in statement.technicians for line in tech.lines]
    minimum = replace(RULES, travel=TravelRules(minimum_fen=5000))
    zones = replace(
        RULES, travel=TravelRules(mode="zones", zones=((Fraction(8), 1000), (Fraction(10), 2000)))
    )
    for rules in (minimum, zones):
        near_and_far = [slip(20, "丁", distance_m=5_000.0), slip(21, "丁", distance_m=30_000.0)]
        (extra,) = compute_month(MONTH, near_and_far, [], rules, TZ).technicians
        lines += [line for line in extra.lines if line.rule == "TRV-HOW"]
    return lines


def reason_keys(lines: list[StatementLine]) -> set[str]:
    keys = set()
    for line in lines:
        stack = [line.note[0]]
        while stack:
            reason = stack.pop()
            keys.add(reason.key)
            for value in reason.values.values():
                if isinstance(value, tuple):
                    stack.extend(v for v in value if hasattr(v, "key"))
                elif hasattr(value, "key"):
                    stack.append(value)
    return keys


def test_every_statement_line_kind_reads_in_chinese() -> None:
    lines = every_kind()
    produced = {"ALW-RATE", "ALW-UNSETTLED", "ALW-CAP-HOME", "ALW-CAP-SW", "DED-DISSAT"}
    produced |= {"TRV-HOW", "RWD-REVENUE", *EVENT_RULES}
    assert {line.rule for line in lines} == produced
    assert set(RULE_TITLES) - produced <= {"DED-OTHER"}  # titled before it can be recorded
    reasons = {key.removeprefix("line.") for key in catalog("zh-CN") if key.startswith("line.")}
    layout = {"date", "separator", "title_separator", "part_separator", "adjusts"}
    layout |= {"no_longer_due", "flagged"}  # written by ADJ-CLOSED and the evidence flags
    layout |= {"ref_slip", "ref_event", "ref_repair"}
    assert reason_keys(lines) | {"parts"} == (reasons - layout) | {"parts"}
    assert len({*lines}) > 60  # lines stay hashable
    render = NoteRenderer("zh-CN")
    for line in lines:
        text = render.line(line)
        assert stray_english(text) == [], text
        assert stray_english(render.ref(line)) == [], line.ref
        assert "{" not in text and "}" not in text, text


def test_a_line_names_the_visit_date_customer_and_why() -> None:
    lines = every_kind()
    capped = [line for line in lines if line.rule == "ALW-CAP-SW"]
    assert line_text(capped[0]) == (
        "ALW-CAP-SW 0.00 超出软件服务比例：11-13 客户13，软件服务超过 20% 上限（第 3/2 张）"
    )
    assert note_text(capped[0], "en") == (
        "Over the software cap: 11-13 客户13, software services over the 20% cap"
        " (no. 3 of 2 allowed)"
    )
    late = [line for line in lines if line.ref in ("event 4", "event 5")]
    assert [line_text(line) for line in late] == [
        "DED-LATE -10.00 迟到未告知客户：11-20，工单 #12：09:42 才到，事先未报迟到",
        "DED-LATE -10.00 迟到未告知客户：11-20，工单 #7：10:05 才到，事先未报迟到",
    ]
    (adjustment,) = [line for line in lines if "月调整" in line_text(line)]
    assert line_text(adjustment) == (
        "DED-COMPLAINT -50.00 客户投诉：11-20，客户来电投诉（2026-10 月调整）"
    )
    by_ref = {line.ref: line for line in lines if line.ref.startswith("event")}
    assert note_text(by_ref["event 1"]) == "超出权限的服务：11-08 客户8"  # names the visit
    assert note_text(by_ref["event 13"]) == "超出权限的服务：11-20，回执单 #15"  # not his slip


def test_the_json_note_is_in_the_station_language() -> None:
    statement = compute_month(MONTH, [slip(3, "甲")], [], RULES, TZ)
    (zh_line, _travel) = statement.as_json()["technicians"][0]["lines"]
    assert zh_line["note"] == "服务单补助：11-03 客户3，单机费率 2.00 元"
    (en_line, _) = statement.as_json("en")["technicians"][0]["lines"]
    assert en_line["note"] == "Slip allowance: 11-03 客户3, single-machine rate 2.00 元"
    assert json.loads(json.dumps(statement.as_json()))  # plain JSON


def test_snapshot_notes_stay_as_written_and_are_marked_once() -> None:
    line = StatementLine(
        "DED-LATE", 1000, "event 3", "迟到（2026-10 月调整）", "deduction", "2026-10"
    )
    assert note_text(line) == "迟到（2026-10 月调整）"
    plain = line._replace(note="迟到")
    assert note_text(plain) == "迟到（2026-10 月调整）"


def test_event_notes_a_person_typed_are_kept_and_coded_ones_translated() -> None:
    assert event_note("客户说晚了半小时", "en") == "客户说晚了半小时"
    assert event_note(coded("staff_share", "主板", total="10.01", staff=3), "zh-CN") == (
        "10.01 元由 3 人平均分摊；主板"
    )
    assert event_note("§nope {}§rest", "zh-CN") == "rest"  # an unknown code shows its text
    assert event_note("§not coded", "en") == "§not coded"
    assert event_note("迟到 (adjustment for 2026-10)", "zh-CN") == "迟到（2026-10 月调整）"


# --- every card ------------------------------------------------------------------------------

NOW = datetime(2026, 11, 26, 1, 30, tzinfo=UTC)
SCORE = ScoreBreakdown(30, 6, 8, 7, 4, 3, 2.5, 60.5)


def keys_under(prefix: str) -> list[str]:
    return sorted(key.removeprefix(prefix) for key in catalog("zh-CN") if key.startswith(prefix))


def views() -> list[TicketView]:
    kinds = {"agent": ("county", "local"), "network": ("netcafe", "")}
    out = []
    for state, cls in itertools.product(
        keys_under("lifecycle.state."), keys_under("dispatch.class.")
    ):
        for kind in kinds.get(cls, ("",)):
            out.append(
                TicketView(
                    id=7,
                    state=state,
                    customer_id=1,
                    customer_name="蓝海网吧",
                    customer_class=cls,
                    customer_kind=kind,
                    site=(30.67, 104.10),
                    address="东大街1号",
                    fault="主机无法开机",
                    service_type="software" if state < "c" else "hardware",
                    appointment_start=NOW + timedelta(hours=1) if kind else None,
                    appointment_end=NOW + timedelta(hours=3) if kind else None,
                    assigned_to=3,
                    group_message_id=9,
                    major=kind == "",
                    brand=kind != "",
                    tool=cls == "agent",
                    repeat=cls == "network",
                    pinned=state == "new",
                    brand_name="TCL",
                    technician_name="张伟",
                    serial="SN-1" if cls == "quasi" else "",
                    warranty_end=date(2027, 1, 1) if cls == "quasi" else None,
                )
            )
    return out


def test_every_card_reads_in_chinese() -> None:
    modes, terms = keys_under("dispatch.mode."), [*keys_under("dispatch.terms."), None]
    outcomes = [key.removeprefix("outcome_") for key in keys_under("visit.") if "outcome_" in key]
    visits = [None] + [
        VisitFacts(NOW, offsite, NOW + timedelta(hours=1), outcome, satisfaction)
        for offsite, outcome, satisfaction in zip(
            (True, False, True), outcomes, ("satisfied", "neutral", "dissatisfied"), strict=False
        )
    ]
    promises = {kind: NOW + timedelta(hours=1) for kind in keys_under("dispatch.deadline.")}
    checked = 0
    for view, mode, term, warranty, visit in itertools.product(
        views(), modes, terms, (None, True, False), visits[:2]
    ):
        facts = CardFacts(view, SCORE, mode, term, 4.2, warranty, NOW, NOW, visit)
        for text in (
            render_ticket_card(facts, NOW, TZ, "zh-CN"),
            render_dispatch_card(facts, NOW + timedelta(hours=2), TZ, "zh-CN"),
            render_queue_row(1, view, SCORE, promises, NOW, "zh-CN"),
        ):
            assert stray_english(text) == [], text
            checked += 1
    for visit in visits[1:]:
        facts = CardFacts(views()[0], SCORE, modes[0], None, None, None, None, None, visit)
        text = render_ticket_card(facts, NOW, TZ, "zh-CN")
        assert stray_english(text) == [], text
    assert checked > 1000


# --- every notice ----------------------------------------------------------------------------


def sample(template: str) -> str:
    """The template filled with numbers (what most placeholders hold) for the check."""
    fields = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    return template.format(**dict.fromkeys(fields, 1))


@pytest.mark.parametrize("key", sorted(catalog("zh-CN")))
def test_every_chinese_text_has_no_stray_english(key: str) -> None:
    text = sample(catalog("zh-CN")[key])
    assert stray_english(text, INPUT_WORDS.get(key, set())) == [], (key, text)


def test_evidence_and_deadline_names_exist_for_every_value() -> None:
    from bot.domain.visits import Evidence

    for evidence in Evidence:
        assert stray_english(catalog("zh-CN")[f"evidence.grade.{evidence.value}"]) == []
    for kind in ("SLA-RESPOND", "SLA-ARRIVE", "SLA-TAKEBACK", "SLA-SPARE", "DISPATCH-ACCEPT"):
        assert f"dispatch.deadline.{kind}" in catalog("zh-CN")


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_rendering_all_lines_at_once_equals_one_by_one(language: str) -> None:
    lines = every_kind()
    snapshot = StatementLine("DED-LATE", 1000, "event 3", "迟到", "deduction", "2026-10")
    lines += [snapshot, snapshot._replace(adjusts=None)]
    assert NoteRenderer(language).notes(lines) == [note_text(line, language) for line in lines]
