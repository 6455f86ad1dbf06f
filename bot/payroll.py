"""Monthly statements (RULES.md sections 4-7): pure functions of slips, recorded events and rules.

Every line cites its rule ID and is rounded half-up to the fen on its own; totals are sums of
lines. No I/O here: storage selects the rows, the front ends render the result.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from fractions import Fraction
from zoneinfo import ZoneInfo

from bot.config import RewardRules, Rules, TravelRules
from bot.models import MonthStatement, RecordedEvent, Slip, StatementLine, TechnicianStatement

ALLOWANCE = "allowance"
TRAVEL = "travel"
REWARD = "reward"
DEDUCTION = "deduction"

FIXED = "fixed"
REQUIRED = "required"
OPTIONAL = "optional"
NONE = "none"

ALL_STAFF = "*"
SATISFIED = "satisfied"
DISSATISFIED = "dissatisfied"

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class EventRuleInfo:
    """How a rule that a person records behaves: kind, amount, slip and config key."""

    rule: str
    kind: str  # deduction | reward
    amount: str  # fixed (config amount) | required | optional
    slip: str  # required | optional | none: whether the event names a slip
    config: str | None  # "deductions.complaint_fen": the fixed amount's key in Rules
    title_zh: str
    title_en: str
    forfeits: bool = False  # ALW-FORFEIT-HOW: the month's allowance becomes 0
    bounds: tuple[str, str] | None = None  # config keys of the allowed range (RWD-SUGGEST)


def _info(
    rule: str, amount: str, slip: str, config: str | None, zh: str, en: str, **kw
) -> EventRuleInfo:
    kind = REWARD if rule.startswith("RWD-") else DEDUCTION
    return EventRuleInfo(rule, kind, amount, slip, config, zh, en, **kw)


EVENT_RULES: dict[str, EventRuleInfo] = {
    i.rule: i
    for i in (
        _info(
            "DED-COMPLAINT",
            FIXED,
            OPTIONAL,
            "deductions.complaint_fen",
            "客户投诉",
            "Customer complaint",
        ),
        _info(
            "DED-CONDUCT",
            FIXED,
            OPTIONAL,
            "deductions.conduct_fen",
            "上门行为不规范（吃喝、吸烟、未穿鞋套）",
            "Conduct at the customer's (eating, drinking, smoking, no shoe covers)",
        ),
        _info(
            "DED-LATE",
            FIXED,
            OPTIONAL,
            "deductions.late_fen",
            "迟到未告知客户",
            "Late without telling the customer",
        ),
        _info("ALW-BEYOND", OPTIONAL, REQUIRED, None, "超出权限的服务", "Service beyond authority"),
        _info(
            "ALW-FORFEIT-FALSE",
            FIXED,
            OPTIONAL,
            "deductions.false_slip_fen",
            "虚假服务单",
            "False service slip",
            forfeits=True,
        ),
        _info(
            "ALW-FORFEIT-UNREPORTED",
            FIXED,
            NONE,
            "deductions.unreported_unfinished_fen",
            "未完成服务未上报",
            "Unfinished service not reported",
            forfeits=True,
        ),
        _info(
            "DED-PRIVATE",
            FIXED,
            NONE,
            "deductions.private_job_fen",
            "私自接活或隐瞒收入",
            "Private job or unreported takings",
            forfeits=True,
        ),
        _info(
            "RWD-SUGGEST",
            REQUIRED,
            NONE,
            None,
            "合理化建议被采纳",
            "Adopted suggestion",
            bounds=("rewards.suggestion_min_fen", "rewards.suggestion_max_fen"),
        ),
        _info(
            "RMA-REGISTER",
            FIXED,
            NONE,
            "deductions.rma_unregistered_fen",
            "返修品未登记",
            "Repair item not registered",
        ),
        _info("RMA-LOST", REQUIRED, NONE, None, "返修品丢失", "Lost repair item"),
        _info(
            "RMA-SIGNOFF",
            FIXED,
            NONE,
            "deductions.rma_signoff_fen",
            "返修品未签收",
            "Returned without sign-off",
        ),
        _info(
            "RMA-10DAY",
            FIXED,
            NONE,
            "deductions.rma_10day_fen",
            "10天未返还且未说明",
            "Not returned in 10 days, not explained",
        ),
        _info(
            "RMA-20DAY",
            FIXED,
            NONE,
            "deductions.rma_20day_fen",
            "20天未返还且未报告",
            "Over 20 days, not reported",
        ),
        _info(
            "RMA-PAPERWORK",
            FIXED,
            NONE,
            "deductions.rma_paperwork_fen",
            "单据不规范",
            "Irregular or unclear form",
        ),
        _info(
            "RMA-DELAY",
            FIXED,
            NONE,
            "deductions.rma_delay_fen",
            "服务或返还延误",
            "Service or return delayed",
        ),
    )
}

# Short titles of the rules a statement line can cite (zh, en), for rendering.
RULE_TITLES: dict[str, tuple[str, str]] = {
    "ALW-RATE": ("服务单补助", "Slip allowance"),
    "ALW-UNSETTLED": (
        "未结算（服务单不完整或客户未选满意）",
        "Not settled (incomplete or not satisfied)",
    ),
    "ALW-CAP-HOME": ("超出家庭单机服务比例", "Over the home single-machine cap"),
    "ALW-CAP-SW": ("超出软件服务比例", "Over the software cap"),
    "DED-DISSAT": ("客户不满意", "Customer dissatisfied"),
    "TRV-HOW": ("往返路费", "Round-trip travel"),
    "RWD-REVENUE": ("效益提成", "Revenue share"),
    **{rule: (i.title_zh, i.title_en) for rule, i in EVENT_RULES.items()},
}


def format_yuan(fen: int) -> str:
    """Integer fen as 元 with two decimals, e.g. 2496 -> "24.96"."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def _config_value(rules: Rules, key: str) -> int:
    section, attr = key.split(".")
    return getattr(getattr(rules, section), attr)


def config_amount(rule: str, rules: Rules) -> int | None:
    """The configured amount of a fixed-amount recorded rule (None for open amounts)."""
    info = EVENT_RULES[rule]
    return _config_value(rules, info.config) if info.config else None


def validate_event_amount(rule: str, amount_fen: int | None, rules: Rules) -> int:
    """The amount in fen an event of `rule` carries; ValueError with the reason when invalid."""
    info = EVENT_RULES.get(rule)
    if info is None:
        raise ValueError(
            f"{rule!r} is not a recorded rule; expected one of {', '.join(EVENT_RULES)}"
        )
    if amount_fen is not None:
        if isinstance(amount_fen, bool) or not isinstance(amount_fen, int):
            raise ValueError(f"{rule}: the amount must be whole fen")
        if amount_fen < 0:
            raise ValueError(f"{rule}: the amount must not be negative")
    if info.amount == FIXED:
        fixed = _config_value(rules, info.config or "")
        if amount_fen is not None and amount_fen != fixed:
            raise ValueError(
                f"{rule} is a fixed {format_yuan(fixed)} 元, not {format_yuan(amount_fen)} 元; "
                "leave the amount empty or give exactly that"
            )
        return fixed
    if info.amount == OPTIONAL:
        return amount_fen or 0
    if amount_fen is None:
        raise ValueError(f"{rule} needs an amount")
    if info.bounds is not None:
        low, high = (_config_value(rules, key) for key in info.bounds)
        if not low <= amount_fen <= high:
            raise ValueError(
                f"{rule} must be between {format_yuan(low)} and {format_yuan(high)} 元, "
                f"not {format_yuan(amount_fen)} 元"
            )
    elif amount_fen == 0:
        raise ValueError(f"{rule} needs an amount above 0")
    return amount_fen


# --- money formulas -------------------------------------------------------------------------


def _half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half-up, for a non-negative numerator."""
    return (2 * numerator + denominator) // (2 * denominator)


def _distance_ratio(distance_m: float) -> tuple[int, int]:
    if not math.isfinite(distance_m) or distance_m < 0:
        raise ValueError(f"distance must be a finite number of metres >= 0, not {distance_m!r}")
    return float(distance_m).as_integer_ratio()


def travel_quote(distance_m: float, rules: TravelRules) -> tuple[int, str]:
    """TRV-HOW amount in fen for a round trip to a site `distance_m` away, with a short note."""
    p, q = _distance_ratio(distance_m)
    km = distance_m / 1000
    if rules.mode == "zones":
        for index, (radius_km, amount) in enumerate(rules.zones, start=1):
            if p * radius_km.denominator <= 1000 * q * radius_km.numerator:
                return (
                    amount,
                    f"zone {index} (up to {float(radius_km):g} km), site {km:.3f} km away",
                )
        return 0, f"site {km:.3f} km away, beyond the last travel zone: no travel paid"
    road = rules.road_factor
    amount = _half_up(p * 2 * road.numerator * rules.rate_per_km_fen, q * 1000 * road.denominator)
    note = f"2 × {km:.3f} km × {float(road):g} × {format_yuan(rules.rate_per_km_fen)} 元/km"
    if amount < rules.minimum_fen:
        return (
            rules.minimum_fen,
            f"{note}, raised to the minimum {format_yuan(rules.minimum_fen)} 元",
        )
    return amount, note


def travel_fen(distance_m: float, rules: TravelRules) -> int:
    """TRV-HOW: round-trip travel in fen (per km with road factor and minimum, or zones)."""
    return travel_quote(distance_m, rules)[0]


def revenue_reward_fen(revenue_fen: int, rules: Rules | RewardRules) -> int:
    """RWD-REVENUE: the technician's share of the benefit, half-up to the fen (0 if none)."""
    share: Fraction = (rules.rewards if isinstance(rules, Rules) else rules).revenue_share
    if revenue_fen <= 0:
        return 0
    return _half_up(revenue_fen * share.numerator, share.denominator)


def cap_slips(share: Fraction, denominator: int) -> int:
    """ALW-CAP-HOW: floor(share × denominator), exactly."""
    return share.numerator * denominator // share.denominator


def allowance_rate(slip: Slip, rules: Rules) -> tuple[int, str]:
    """ALW-RATE decision: netcafe, else network class or machine, else single machine."""
    alw = rules.allowance
    if slip.customer_class == "network" and slip.netcafe:
        return alw.rate_netcafe_fen, "netcafe rate"
    if slip.customer_class == "network" or slip.machine == "network":
        return alw.rate_network_fen, "network rate"
    return alw.rate_single_fen, "single-machine rate"


# --- months ----------------------------------------------------------------------------------


def _parse_month(month: str) -> tuple[int, int]:
    match = _MONTH.match(month) if isinstance(month, str) else None
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise ValueError(f"month must look like 2026-11, not {month!r}")
    return int(match.group(1)), int(match.group(2))


def month_days(month: str) -> tuple[date, date]:
    """[first day, first day of the next month) of a "YYYY-MM" month."""
    year, mon = _parse_month(month)
    return date(year, mon, 1), date(year + mon // 12, mon % 12 + 1, 1)


def month_bounds(month: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of a "YYYY-MM" calendar month in the station's time zone."""
    first, following = month_days(month)
    return (
        datetime(first.year, first.month, 1, tzinfo=tz),
        datetime(following.year, following.month, 1, tzinfo=tz),
    )


def month_of(moment: datetime, tz: ZoneInfo) -> str:
    """The "YYYY-MM" a moment belongs to in the station's time zone (naive = station time)."""
    local = moment.replace(tzinfo=tz) if moment.tzinfo is None else moment.astimezone(tz)
    return f"{local.year:04d}-{local.month:02d}"


# --- one technician --------------------------------------------------------------------------


def _slip_key(slip: Slip) -> tuple[datetime, datetime, str, int]:
    return (slip.check_out, slip.check_in, slip.customer, slip.id)


def _event_key(event: RecordedEvent) -> tuple[date, int]:
    return (event.day, event.id)


def _first_by_slip(events: Iterable[RecordedEvent], rule: str) -> dict[int, RecordedEvent]:
    marks: dict[int, RecordedEvent] = {}
    for event in events:
        if event.rule == rule and event.slip_id is not None:
            marks.setdefault(event.slip_id, event)
    return marks


def _unsettled_reason(slip: Slip, beyond: dict[int, RecordedEvent]) -> tuple[str, str] | None:
    """(rule, note) when the slip fails ALW-UNSETTLED, ALW-BEYOND or DED-DISSAT; None if it passes."""
    if slip.id in beyond:
        return "ALW-BEYOND", f"beyond the technician's authority (event {beyond[slip.id].id})"
    if slip.satisfaction == DISSATISFIED:
        return "DED-DISSAT", "customer marked dissatisfied: not settled"
    if not slip.complete:
        return "ALW-UNSETTLED", "slip incomplete: not settled"
    if slip.satisfaction != SATISFIED:
        given = slip.satisfaction or "not given"
        return "ALW-UNSETTLED", f"satisfaction {given}, not satisfied: not settled"
    return None


def _cap_note(over_home: bool, over_sw: bool, home_cap: int, sw_cap: int, denom: int) -> str:
    parts = []
    if over_home:
        parts.append(f"home single-machine cap ({home_cap} of {denom} settled slips)")
    if over_sw:
        parts.append(f"software cap ({sw_cap} of {denom} settled slips)")
    return "over the " + " and the ".join(parts) + ": no allowance"


def _allowance_lines(
    slips: Sequence[Slip], beyond: dict[int, RecordedEvent], rules: Rules
) -> list[StatementLine]:
    """One allowance line per slip (already sorted), caps per ALW-CAP-HOW."""
    reasons = [_unsettled_reason(slip, beyond) for slip in slips]
    denom = reasons.count(None)
    home_cap = cap_slips(rules.allowance.cap_home_share, denom)
    sw_cap = cap_slips(rules.allowance.cap_software_share, denom)
    home_seen = sw_seen = 0
    lines = []
    for slip, reason in zip(slips, reasons, strict=True):
        ref = f"slip {slip.id}"
        if reason is not None:
            lines.append(StatementLine(reason[0], 0, ref, reason[1], ALLOWANCE))
            continue
        over_home = over_sw = False
        if slip.is_home_single:
            over_home = home_seen >= home_cap
            home_seen += 1
        if slip.service_type == "software":
            over_sw = sw_seen >= sw_cap
            sw_seen += 1
        if over_home or over_sw:
            rule = "ALW-CAP-HOME" if over_home else "ALW-CAP-SW"
            note = _cap_note(over_home, over_sw, home_cap, sw_cap, denom)
            lines.append(StatementLine(rule, 0, ref, note, ALLOWANCE))
            continue
        rate, note = allowance_rate(slip, rules)
        lines.append(StatementLine("ALW-RATE", rate, ref, note, ALLOWANCE))
    return lines


def _forfeit(line: StatementLine, event: RecordedEvent) -> StatementLine:
    note = f"allowance for the month forfeited (event {event.id})"
    if line.rule != "ALW-RATE":
        note += f"; also {line.note}"
    return StatementLine(event.rule, 0, line.ref, note, ALLOWANCE)


def _slip_lines(
    slip: Slip,
    allowance: StatementLine,
    false_slips: dict[int, RecordedEvent],
    rules: Rules,
) -> list[StatementLine]:
    ref = allowance.ref
    lines = [allowance]
    if slip.satisfaction == DISSATISFIED:
        amount = rules.deductions.dissatisfied_fen
        lines.append(
            StatementLine("DED-DISSAT", amount, ref, "customer marked dissatisfied", DEDUCTION)
        )
    if slip.id in false_slips:
        note = f"slip found false (event {false_slips[slip.id].id}): no travel"
        lines.append(StatementLine("TRV-HOW", 0, ref, note, TRAVEL))
    else:
        amount, note = travel_quote(slip.distance_m, rules.travel)
        lines.append(StatementLine("TRV-HOW", amount, ref, note, TRAVEL))
    if slip.revenue_fen > 0:
        reward = revenue_reward_fen(slip.revenue_fen, rules)
        note = f"{float(rules.rewards.revenue_share):.0%} of {format_yuan(slip.revenue_fen)} 元 benefit"
        lines.append(StatementLine("RWD-REVENUE", reward, ref, note, REWARD))
    return lines


def _event_amount(event: RecordedEvent, info: EventRuleInfo, rules: Rules) -> int:
    if event.amount_fen is not None:
        return event.amount_fen
    if info.amount == FIXED:
        return _config_value(rules, info.config or "")
    if info.amount == OPTIONAL:
        return 0
    raise ValueError(f"event {event.id}: {event.rule} needs an amount")


def _event_line(event: RecordedEvent, rules: Rules) -> StatementLine:
    info = EVENT_RULES.get(event.rule)
    if info is None:
        raise ValueError(f"event {event.id}: {event.rule!r} is not a recorded rule")
    note = info.title_en
    if event.slip_id is not None:
        note += f", slip {event.slip_id}"
    if info.forfeits and event.adjustment_of is None:
        note += "; the month's allowance is forfeited"
    if event.note:
        note += f": {event.note}"
    if event.adjustment_of is not None:
        note = f"adjustment for {event.adjustment_of}: {note}"
    return StatementLine(
        event.rule, _event_amount(event, info, rules), f"event {event.id}", note, info.kind
    )


def compute_technician(
    technician: str,
    month: str,
    slips: Sequence[Slip],
    events: Sequence[RecordedEvent],
    rules: Rules,
) -> TechnicianStatement:
    """One technician's statement from the month's slips and events (already chosen by month)."""
    first_day, next_first = month_days(month)
    own_slips = sorted((s for s in slips if s.technician == technician), key=_slip_key)
    own_events = sorted(
        (
            e
            for e in events
            if e.technician == technician and not e.voided and first_day <= e.day < next_first
        ),
        key=_event_key,
    )
    beyond = _first_by_slip(own_events, "ALW-BEYOND")
    false_slips = _first_by_slip(own_events, "ALW-FORFEIT-FALSE")
    forfeit = next(
        (
            e
            for e in own_events
            if e.adjustment_of is None and e.rule in EVENT_RULES and EVENT_RULES[e.rule].forfeits
        ),
        None,
    )
    allowances = _allowance_lines(own_slips, beyond, rules)
    settled = sum(1 for line in allowances if line.rule == "ALW-RATE" and line.amount_fen > 0)
    if forfeit is not None:
        allowances = [_forfeit(line, forfeit) for line in allowances]
        settled = 0
    lines: list[StatementLine] = []
    for slip, allowance in zip(own_slips, allowances, strict=True):
        lines.extend(_slip_lines(slip, allowance, false_slips, rules))
    lines.extend(_event_line(event, rules) for event in own_events)
    return TechnicianStatement(technician, len(own_slips), settled, tuple(lines))


# --- the whole month -------------------------------------------------------------------------


def split_among_staff(event: RecordedEvent, staff: Sequence[str]) -> list[RecordedEvent]:
    """RMA-LOST for all staff: equal shares to the fen, remainder fen to the first names."""
    names = sorted(set(staff))
    if not names:
        raise ValueError(f"event {event.id}: {event.rule} is for all staff, but no staff are known")
    if event.amount_fen is None:
        raise ValueError(f"event {event.id}: {event.rule} needs an amount")
    base, remainder = divmod(event.amount_fen, len(names))
    shares = []
    for index, name in enumerate(names):
        share = base + (1 if index < remainder else 0)
        note = f"share of {format_yuan(event.amount_fen)} 元 split among {len(names)} staff" + (
            f"; {event.note}" if event.note else ""
        )
        shares.append(replace(event, technician=name, amount_fen=share, note=note))
    return shares


def compute_month(
    month: str,
    slips: Iterable[Slip],
    events: Iterable[RecordedEvent],
    rules: Rules,
    tz: ZoneInfo,
    staff: Sequence[str] = (),
) -> MonthStatement:
    """Every technician's statement for a calendar month (slips by check-out in `tz`)."""
    start, end = month_bounds(month, tz)
    first_day, next_first = month_days(month)
    month_slips: dict[str, list[Slip]] = defaultdict(list)
    for slip in slips:
        check_out = slip.check_out
        if check_out.tzinfo is None:
            check_out = check_out.replace(tzinfo=tz)
        if start <= check_out < end:
            month_slips[slip.technician].append(slip)
    month_events: dict[str, list[RecordedEvent]] = defaultdict(list)
    for event in events:
        if event.voided or not first_day <= event.day < next_first:
            continue
        if event.technician == ALL_STAFF:
            for share in split_among_staff(event, staff):
                month_events[share.technician].append(share)
        else:
            month_events[event.technician].append(event)
    names = sorted(month_slips.keys() | month_events.keys())
    return MonthStatement(
        month,
        tuple(
            compute_technician(name, month, month_slips[name], month_events[name], rules)
            for name in names
        ),
    )
