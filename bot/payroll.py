"""Monthly statements (RULES.md sections 4-7): pure functions of slips, recorded events and rules.

Every line cites its rule ID and is rounded half-up to the fen on its own; totals are sums of
lines. No I/O here: storage selects the rows, the front ends render the result.
"""

from __future__ import annotations

import gc
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime, tzinfo
from fractions import Fraction
from operator import itemgetter
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


def _fixed(
    rule: str, key: str, zh: str, en: str, slip: str = NONE, forfeits: bool = False
) -> EventRuleInfo:
    """A deduction of the fixed amount `deductions.<key>_fen`."""
    return EventRuleInfo(rule, DEDUCTION, FIXED, slip, f"deductions.{key}_fen", zh, en, forfeits)


EVENT_RULES: dict[str, EventRuleInfo] = {
    info.rule: info
    for info in (
        _fixed("DED-COMPLAINT", "complaint", "客户投诉", "Customer complaint", OPTIONAL),
        _fixed(
            "DED-CONDUCT",
            "conduct",
            "上门行为不规范（吃喝、吸烟、未穿鞋套）",
            "Conduct at the customer's (eating, drinking, smoking, no shoe covers)",
            OPTIONAL,
        ),
        _fixed("DED-LATE", "late", "迟到未告知客户", "Late without telling the customer", OPTIONAL),
        EventRuleInfo(
            "ALW-BEYOND",
            DEDUCTION,
            OPTIONAL,
            REQUIRED,
            None,
            "超出权限的服务",
            "Service beyond authority",
        ),
        _fixed(
            "ALW-FORFEIT-FALSE", "false_slip", "虚假服务单", "False service slip", OPTIONAL, True
        ),
        _fixed(
            "ALW-FORFEIT-UNREPORTED",
            "unreported_unfinished",
            "未完成服务未上报",
            "Unfinished service not reported",
            forfeits=True,
        ),
        _fixed(
            "DED-PRIVATE",
            "private_job",
            "私自接活或隐瞒收入",
            "Private job or unreported takings",
            forfeits=True,
        ),
        EventRuleInfo(
            "RWD-SUGGEST",
            REWARD,
            REQUIRED,
            NONE,
            None,
            "合理化建议被采纳",
            "Adopted suggestion",
            bounds=("rewards.suggestion_min_fen", "rewards.suggestion_max_fen"),
        ),
        _fixed("RMA-REGISTER", "rma_unregistered", "返修品未登记", "Repair item not registered"),
        EventRuleInfo(
            "RMA-LOST", DEDUCTION, REQUIRED, NONE, None, "返修品丢失", "Lost repair item"
        ),
        _fixed("RMA-SIGNOFF", "rma_signoff", "返修品未签收", "Returned without sign-off"),
        _fixed(
            "RMA-10DAY", "rma_10day", "10天未返还且未说明", "Not returned in 10 days, unexplained"
        ),
        _fixed("RMA-20DAY", "rma_20day", "20天未返还且未报告", "Over 20 days, not reported"),
        _fixed("RMA-PAPERWORK", "rma_paperwork", "单据不规范", "Irregular or unclear form"),
        _fixed("RMA-DELAY", "rma_delay", "服务或返还延误", "Service or return delayed"),
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


def config_value(rules: Rules, key: str) -> int:
    """A rules amount by its EventRuleInfo key, e.g. "deductions.complaint_fen"."""
    section, attr = key.split(".")
    return getattr(getattr(rules, section), attr)


def config_amount(rule: str, rules: Rules) -> int | None:
    """The configured amount of a fixed-amount recorded rule (None for open amounts)."""
    info = EVENT_RULES[rule]
    return config_value(rules, info.config) if info.config else None


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
        fixed = config_value(rules, info.config or "")
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
        low, high = (config_value(rules, key) for key in info.bounds)
        if not low <= amount_fen <= high:
            raise ValueError(
                f"{rule} must be between {format_yuan(low)} and {format_yuan(high)} 元, "
                f"not {format_yuan(amount_fen)} 元"
            )
    elif amount_fen == 0:
        raise ValueError(f"{rule} needs an amount above 0")
    return amount_fen


# --- money formulas -------------------------------------------------------------------------


_FLOAT_SAFE_FEN = 1e9  # float products below this are accurate to far better than 1e-6 fen
_FLOAT_MARGIN_FEN = 1e-6


def _half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half-up, for a non-negative numerator."""
    return (2 * numerator + denominator) // (2 * denominator)


class _Travel:
    """TRV-HOW for one TravelRules: constants worked out once, quotes remembered per distance."""

    __slots__ = (
        "zones",
        "numerator",
        "denominator",
        "per_metre",
        "minimum",
        "suffix",
        "minimum_note",
        "seen",
    )

    def __init__(self, rules: TravelRules) -> None:
        road = rules.road_factor
        self.zones = (
            tuple((r.numerator, r.denominator, amount, float(r)) for r, amount in rules.zones)
            if rules.mode == "zones"
            else None
        )
        # 2 × (distance_m / 1000) × road × rate = distance_m × numerator / denominator
        self.numerator = 2 * road.numerator * rules.rate_per_km_fen
        self.denominator = 1000 * road.denominator
        self.per_metre = self.numerator / self.denominator  # float, for the fast path
        self.minimum = rules.minimum_fen
        self.suffix = f" km × {float(road):g} × {format_yuan(rules.rate_per_km_fen)} 元/km"
        self.minimum_note = f", raised to the minimum {format_yuan(rules.minimum_fen)} 元"
        self.seen: dict[float, tuple[int, str]] = {}  # a site's slips share one distance

    def quote(self, distance_m: float) -> tuple[int, str]:
        """Amount in fen and a short note for a site `distance_m` from the station."""
        known = self.seen.get(distance_m)
        if known is None:
            known = self.seen[distance_m] = self._quote(distance_m)
        return known

    def _quote(self, distance_m: float) -> tuple[int, str]:
        if not 0 <= distance_m < math.inf:
            raise ValueError(f"distance must be a finite number of metres >= 0, not {distance_m!r}")
        km = distance_m / 1000
        if self.zones is not None:
            return self._zone(distance_m, km)
        amount = self._per_km(distance_m)
        if amount < self.minimum:
            return self.minimum, f"2 × {km:.3f}{self.suffix}{self.minimum_note}"
        return amount, f"2 × {km:.3f}{self.suffix}"

    def _per_km(self, distance_m: float) -> int:
        """distance_m × numerator / denominator rounded half-up, exactly.

        Below 1e9 fen the float product is within 1e-6 fen of the exact one, so it decides
        unless its fraction is that close to one half; exact integers decide the rest.
        """
        fen = distance_m * self.per_metre
        if fen < _FLOAT_SAFE_FEN and abs(fen - int(fen) - 0.5) > _FLOAT_MARGIN_FEN:
            return int(fen + 0.5)
        p, q = distance_m.as_integer_ratio()  # exact: distance_m == p / q
        return _half_up(p * self.numerator, q * self.denominator)

    def _zone(self, distance_m: float, km: float) -> tuple[int, str]:
        p, q = distance_m.as_integer_ratio()  # exact: distance_m == p / q
        for index, (num, den, amount, radius) in enumerate(self.zones or (), start=1):
            if p * den <= 1000 * q * num:  # km <= radius, exactly
                return amount, f"zone {index} (up to {radius:g} km), site {km:.3f} km away"
        return 0, f"site {km:.3f} km away, beyond the last travel zone: no travel paid"


def travel_quote(distance_m: float, rules: TravelRules) -> tuple[int, str]:
    """TRV-HOW amount in fen for a round trip to a site `distance_m` away, with a short note."""
    return _Travel(rules).quote(distance_m)


def travel_fen(distance_m: float, rules: TravelRules) -> int:
    """TRV-HOW: round-trip travel in fen (per km with road factor and minimum, or zones)."""
    return _Travel(rules).quote(distance_m)[0]


def revenue_reward_fen(revenue_fen: int, rules: Rules | RewardRules) -> int:
    """RWD-REVENUE: the technician's share of the benefit, half-up to the fen (0 if none)."""
    share: Fraction = (rules.rewards if isinstance(rules, Rules) else rules).revenue_share
    if revenue_fen <= 0:
        return 0
    return _half_up(revenue_fen * share.numerator, share.denominator)


def cap_slips(share: Fraction, denominator: int) -> int:
    """ALW-CAP-HOW: floor(share × denominator), exactly."""
    return share.numerator * denominator // share.denominator


def rate_kind(slip: Slip) -> str:
    """ALW-RATE decision: "netcafe", else "network" (class or machine), else "single"."""
    if slip.customer_class == "network" and slip.netcafe:
        return "netcafe"
    if slip.customer_class == "network" or slip.machine == "network":
        return "network"
    return "single"


def _rate_lines(rules: Rules) -> dict[str, tuple[str, int, str]]:
    """The (rule, amount, note) of an ALW-RATE line for each rate kind."""
    alw = rules.allowance
    return {
        "netcafe": ("ALW-RATE", alw.rate_netcafe_fen, "netcafe rate"),
        "network": ("ALW-RATE", alw.rate_network_fen, "network rate"),
        "single": ("ALW-RATE", alw.rate_single_fen, "single-machine rate"),
    }


def allowance_rate(slip: Slip, rules: Rules) -> tuple[int, str]:
    """ALW-RATE: the allowance of a settled slip in fen, and which rate it is."""
    _rule, amount, note = _rate_lines(rules)[rate_kind(slip)]
    return amount, note


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

_new = object.__new__


def _line(rule: str, amount_fen: int, ref: str, note: str, kind: str) -> StatementLine:
    """A StatementLine built without the frozen-dataclass __init__ (a third of its cost)."""
    line = _new(StatementLine)
    fields = line.__dict__
    fields["rule"] = rule
    fields["amount_fen"] = amount_fen
    fields["ref"] = ref
    fields["note"] = note
    fields["kind"] = kind
    return line


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic collector while a statement is built: many objects, never a cycle.

    On resuming, the objects made meanwhile would all be scanned at once; when nothing is frozen,
    they go straight to the oldest generation instead (freeze, then unfreeze), to be scanned with
    it at the next full collection, as long-lived results would be anyway.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if gc.get_freeze_count() == 0:
                gc.freeze()
                gc.unfreeze()
            gc.enable()


SlipKey = tuple[datetime, datetime, str, int]


def _slip_key(slip: Slip) -> SlipKey:
    """ALW-CAP-HOW order: check-out, check-in, customer name; then slip id for a total order."""
    return (slip.check_out, slip.check_in, slip.customer, slip.id)


def _event_key(event: RecordedEvent) -> tuple[date, int]:
    return (event.day, event.id)


def _first_by_slip(events: Iterable[RecordedEvent], rule: str) -> dict[int, RecordedEvent]:
    marks: dict[int, RecordedEvent] = {}
    for event in events:
        if event.rule == rule and event.slip_id is not None:
            marks.setdefault(event.slip_id, event)
    return marks


def _why_unsettled(slip: Slip, beyond: dict[int, RecordedEvent]) -> tuple[str, str]:
    """(rule, note) for a slip that fails ALW-BEYOND, DED-DISSAT or ALW-UNSETTLED."""
    if slip.id in beyond:
        return "ALW-BEYOND", f"beyond the technician's authority (event {beyond[slip.id].id})"
    if slip.satisfaction == DISSATISFIED:
        return "DED-DISSAT", "customer marked dissatisfied: not settled"
    if not slip.complete:
        return "ALW-UNSETTLED", "slip incomplete: not settled"
    return "ALW-UNSETTLED", f"satisfaction {slip.satisfaction or 'not given'}: not settled"


class _Caps:
    """ALW-CAP-HOW over one technician's month, walking the settled slips in order."""

    __slots__ = ("denominator", "home_cap", "software_cap", "home_seen", "software_seen")

    def __init__(self, rules: Rules, denominator: int) -> None:
        self.denominator = denominator
        self.home_cap = cap_slips(rules.allowance.cap_home_share, denominator)
        self.software_cap = cap_slips(rules.allowance.cap_software_share, denominator)
        self.home_seen = self.software_seen = 0

    def check(self, slip: Slip) -> tuple[str, str] | None:
        """(rule, note) when this next settled slip is over a cap, else None."""
        over_home = over_software = False
        if slip.customer_class == "other" and slip.machine == "single":  # Slip.is_home_single
            over_home = self.home_seen >= self.home_cap
            self.home_seen += 1
        if slip.service_type == "software":
            over_software = self.software_seen >= self.software_cap
            self.software_seen += 1
        if not (over_home or over_software):
            return None
        parts = []
        if over_home:
            parts.append(f"home single-machine cap ({self.home_cap} of {self.denominator})")
        if over_software:
            parts.append(f"software cap ({self.software_cap} of {self.denominator})")
        note = "over the " + " and the ".join(parts) + ": no allowance"
        return ("ALW-CAP-HOME" if over_home else "ALW-CAP-SW"), note


def _forfeit_by(events: Sequence[RecordedEvent]) -> RecordedEvent | None:
    """ALW-FORFEIT-HOW: the month's first forfeiting event (adjustments excluded)."""
    for event in events:
        if event.adjustment_of is None and _event_info(event).forfeits:
            return event
    return None


class _Month:
    """The constants of one statement run, worked out once; quotes remembered per value."""

    __slots__ = (
        "rules",
        "rates",
        "travel",
        "dissatisfied",
        "revenue_share",
        "revenue_note",
        "rewards",
    )

    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self.rates = _rate_lines(rules)  # shared by every slip paid at that rate
        self.travel = _Travel(rules.travel)
        self.dissatisfied = rules.deductions.dissatisfied_fen
        self.revenue_share = rules.rewards.revenue_share
        self.revenue_note = f"{float(self.revenue_share) * 100:g}% of "
        self.rewards: dict[int, tuple[int, str]] = {}

    def reward(self, revenue_fen: int) -> tuple[int, str]:
        """RWD-REVENUE amount and note for a slip's benefit."""
        known = self.rewards.get(revenue_fen)
        if known is None:
            share = self.revenue_share
            amount = _half_up(revenue_fen * share.numerator, share.denominator)
            note = f"{self.revenue_note}{format_yuan(revenue_fen)} 元 benefit"
            known = self.rewards[revenue_fen] = (amount, note)
        return known


def _allowances(
    slips: Sequence[Slip], events: Sequence[RecordedEvent], month: _Month
) -> list[tuple[str, int, str]]:
    """(rule, amount, note) of each slip's allowance line, slips in ALW-CAP-HOW order."""
    beyond = _first_by_slip(events, "ALW-BEYOND")
    reasons = [
        None
        if slip.complete and slip.satisfaction == SATISFIED and slip.id not in beyond
        else _why_unsettled(slip, beyond)
        for slip in slips
    ]
    caps = _Caps(month.rules, reasons.count(None))
    rates = month.rates
    result = []
    for slip, reason in zip(slips, reasons, strict=True):
        reason = reason or caps.check(slip)
        result.append(rates[rate_kind(slip)] if reason is None else (reason[0], 0, reason[1]))
    forfeit = _forfeit_by(events)
    if forfeit is None:
        return result
    note = f"allowance for the month forfeited (event {forfeit.id})"
    return [
        (forfeit.rule, 0, note if rule == "ALW-RATE" else f"{note}; also {why}")
        for rule, _amount, why in result
    ]


def _slip_lines(
    slips: Sequence[Slip],
    allowances: Sequence[tuple[str, int, str]],
    false_slips: dict[int, RecordedEvent],
    month: _Month,
) -> list[StatementLine]:
    """Each slip's allowance line, then its DED-DISSAT, TRV-HOW and RWD-REVENUE lines.

    The hot loop of a large month: names are bound locally and lines built by _line.
    """
    lines: list[StatementLine] = []
    add = lines.append
    quote = month.travel.quote
    reward = month.reward
    dissatisfied = month.dissatisfied
    for slip, (rule, amount, note) in zip(slips, allowances, strict=True):
        ref = f"slip {slip.id}"
        add(_line(rule, amount, ref, note, ALLOWANCE))
        if slip.satisfaction == DISSATISFIED:
            add(_line("DED-DISSAT", dissatisfied, ref, "customer dissatisfied", DEDUCTION))
        if slip.id in false_slips:
            note = f"slip found false (event {false_slips[slip.id].id}): no travel"
            add(_line("TRV-HOW", 0, ref, note, TRAVEL))
        else:
            amount, note = quote(slip.distance_m)
            add(_line("TRV-HOW", amount, ref, note, TRAVEL))
        if slip.revenue_fen > 0:
            amount, note = reward(slip.revenue_fen)
            add(_line("RWD-REVENUE", amount, ref, note, REWARD))
    return lines


def _event_info(event: RecordedEvent) -> EventRuleInfo:
    info = EVENT_RULES.get(event.rule)
    if info is None:
        raise ValueError(f"event {event.id}: {event.rule!r} is not a recorded rule")
    return info


def _event_amount(event: RecordedEvent, info: EventRuleInfo, rules: Rules) -> int:
    if event.amount_fen is not None:
        return event.amount_fen
    if info.amount == FIXED:
        return config_value(rules, info.config or "")
    if info.amount == OPTIONAL:
        return 0
    raise ValueError(f"event {event.id}: {event.rule} needs an amount")


def _event_line(event: RecordedEvent, rules: Rules) -> StatementLine:
    """The line of one recorded event (an adjustment of a closed month says so first)."""
    info = _event_info(event)
    note = info.title_en
    if event.slip_id is not None:
        note += f", slip {event.slip_id}"
    if info.forfeits and event.adjustment_of is None:
        note += "; the month's allowance is forfeited"
    if event.note:
        note += f": {event.note}"
    if event.adjustment_of is not None:
        note = f"adjustment for {event.adjustment_of}: {note}"
    amount = _event_amount(event, info, rules)
    return StatementLine(event.rule, amount, f"event {event.id}", note, info.kind)


def _statement(
    technician: str, slips: Sequence[Slip], events: Sequence[RecordedEvent], month: _Month
) -> TechnicianStatement:
    """The statement from slips in ALW-CAP-HOW order and events in (day, id) order."""
    allowances = _allowances(slips, events, month)
    false_slips = _first_by_slip(events, "ALW-FORFEIT-FALSE")
    lines = _slip_lines(slips, allowances, false_slips, month)
    lines.extend(_event_line(event, month.rules) for event in events)
    settled = sum(1 for rule, amount, _note in allowances if rule == "ALW-RATE" and amount > 0)
    return TechnicianStatement(technician, len(slips), settled, tuple(lines))


def compute_technician(
    technician: str,
    month: str,
    slips: Sequence[Slip],
    events: Sequence[RecordedEvent],
    rules: Rules,
) -> TechnicianStatement:
    """One technician's statement from the month's slips and events, given in any order.

    The caller chooses the month's slips (compute_month does so by check-out time); events are
    kept when they are this technician's, not voided, and dated in `month`.
    """
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
    return _statement(technician, own_slips, own_events, _Month(rules))


# --- the whole month -------------------------------------------------------------------------


def split_among_staff(event: RecordedEvent, staff: Iterable[str]) -> list[RecordedEvent]:
    """RMA-LOST for all staff: equal shares to the fen, remainder fen to the first names."""
    if event.rule != "RMA-LOST":
        raise ValueError(f"event {event.id}: only RMA-LOST may name all staff ({ALL_STAFF!r})")
    names = sorted(set(staff) - {ALL_STAFF})
    if not names:
        raise ValueError(f"event {event.id}: {event.rule} is for all staff, but no staff are known")
    if event.amount_fen is None:
        raise ValueError(f"event {event.id}: {event.rule} needs an amount")
    base, remainder = divmod(event.amount_fen, len(names))
    note = f"share of {format_yuan(event.amount_fen)} 元 split among {len(names)} staff"
    if event.note:
        note += f"; {event.note}"
    return [
        replace(event, technician=name, amount_fen=base + (index < remainder), note=note)
        for index, name in enumerate(names)
    ]


def _month_slips(
    slips: Iterable[Slip], month: str, tz: ZoneInfo
) -> dict[str, list[tuple[SlipKey, Slip]]]:
    """The month's slips by technician (check-out in `tz`), each with its sort key.

    Aware datetimes with the very same tzinfo object compare field by field; different tzinfo
    objects make every comparison compute two UTC offsets. So the check-outs are all brought to
    one tzinfo, the first slip's (most come from one source and need no conversion), and the
    month's bounds with them. Naive datetimes are station time.
    """
    start, end = month_bounds(month, tz)
    zone: tzinfo | None = None  # the tzinfo all check-outs are brought to
    keyed: dict[str, list[tuple[SlipKey, Slip]]] = defaultdict(list)
    for slip in slips:
        check_out = slip.check_out
        if check_out.tzinfo is None:
            check_out = check_out.replace(tzinfo=tz)
        if check_out.tzinfo is not zone:
            if zone is None:
                zone = check_out.tzinfo
                start, end = start.astimezone(zone), end.astimezone(zone)
            else:
                check_out = check_out.astimezone(zone)
        if start <= check_out < end:
            check_in = slip.check_in  # compared only on equal check-outs: convert only if naive
            if check_in.tzinfo is None:
                check_in = check_in.replace(tzinfo=tz)
            keyed[slip.technician].append(((check_out, check_in, slip.customer, slip.id), slip))
    return keyed


def _month_events(
    events: Iterable[RecordedEvent], month: str, staff: Sequence[str]
) -> dict[str, list[RecordedEvent]]:
    """The month's live events by technician, all-staff RMA-LOST split into shares."""
    first_day, next_first = month_days(month)
    by_technician: dict[str, list[RecordedEvent]] = defaultdict(list)
    for event in events:
        if event.voided or not first_day <= event.day < next_first:
            continue
        if event.technician == ALL_STAFF:
            for share in split_among_staff(event, staff):
                by_technician[share.technician].append(share)
        else:
            by_technician[event.technician].append(event)
    return by_technician


def _compute_month(
    month: str,
    slips: Iterable[Slip],
    events: Iterable[RecordedEvent],
    rules: Rules,
    tz: ZoneInfo,
    staff: Sequence[str],
) -> MonthStatement:
    """compute_month without the collector pause."""
    keyed = _month_slips(slips, month, tz)
    events_by = _month_events(events, month, staff)
    constants = _Month(rules)
    statements = []
    for name in sorted(keyed.keys() | events_by.keys()):
        own_slips = [slip for _key, slip in sorted(keyed.get(name, ()), key=itemgetter(0))]
        own_events = sorted(events_by.get(name, ()), key=_event_key)
        statements.append(_statement(name, own_slips, own_events, constants))
    return MonthStatement(month, tuple(statements))


def compute_month(
    month: str,
    slips: Iterable[Slip],
    events: Iterable[RecordedEvent],
    rules: Rules,
    tz: ZoneInfo,
    staff: Sequence[str] = (),
) -> MonthStatement:
    """Every technician's statement for a calendar month (slips by check-out time in `tz`)."""
    # The collector resumes once the intermediates are gone: it then scans only the result.
    with gc_paused():
        return _compute_month(month, slips, events, rules, tz, staff)
