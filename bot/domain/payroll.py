"""Monthly statements (docs/rules.md sections 4-7): pure functions of slips, events and rules.

Every line cites its rule ID and is rounded half-up to the fen on its own; totals are sums of
lines. A line's note is structured (a shared Reason with the visit it is about), rendered in the
reader's language only when shown (bot.domain.line_text). No I/O here: storage selects the rows, the
front ends render the result.
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
from operator import attrgetter
from zoneinfo import ZoneInfo

from bot.config import RewardRules, Rules, TravelRules
from bot.domain.models import (
    MonthStatement,
    Reason,
    RecordedEvent,
    Slip,
    StatementLine,
    TechnicianStatement,
    line_note,
)
from bot.domain.note_codes import coded

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
    note_required: bool = False  # DED-OTHER: the manager must say what it is for


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
        EventRuleInfo(
            "DED-OTHER",
            DEDUCTION,
            REQUIRED,
            NONE,
            None,
            "其他违纪扣款",
            "Other breach deduction",
            note_required=True,
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
    "DED-OTHER": ("其他违纪扣款", "Other breach deduction"),
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
_INFINITY = math.inf


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
        "values",
        "minimum_values",
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
        self.values = {"factor": f"{float(road):g}", "rate": format_yuan(rules.rate_per_km_fen)}
        self.minimum_values = {**self.values, "minimum": format_yuan(rules.minimum_fen)}
        self.seen: dict[float, tuple[int, Reason]] = {}  # a site's slips share one distance

    def quote(self, distance_m: float) -> tuple[int, Reason]:
        """Amount in fen and the reason for a site `distance_m` from the station."""
        return self.seen.get(distance_m) or self.quote_all((distance_m,))[0]

    def quote_all(self, distances: Iterable[float]) -> list[tuple[int, Reason]]:
        """quote() of each distance, in one pass (one call per slip would cost more than the
        quote itself)."""
        seen = self.seen
        if self.zones is not None:
            return [seen.get(d) or seen.setdefault(d, self._zone(d)) for d in distances]
        per_metre, minimum = self.per_metre, self.minimum
        quotes = []
        add = quotes.append
        for distance_m in distances:
            known = seen.get(distance_m)
            if known is None:
                if not 0 <= distance_m < _INFINITY:
                    raise ValueError(
                        f"distance must be a finite number of metres >= 0, not {distance_m!r}"
                    )
                # distance_m × numerator / denominator rounded half-up. Below 1e9 fen the float
                # product is within 1e-6 fen of the exact one, so it decides unless its fraction
                # is that close to one half; exact integers decide the rest.
                fen = distance_m * per_metre
                if fen < _FLOAT_SAFE_FEN and abs(fen - int(fen) - 0.5) > _FLOAT_MARGIN_FEN:
                    amount = int(fen + 0.5)
                else:
                    p, q = distance_m.as_integer_ratio()  # exact: distance_m == p / q
                    amount = _half_up(p * self.numerator, q * self.denominator)
                km = distance_m / 1000
                known = seen[distance_m] = (
                    (amount, Reason("travel_km", {**self.values, "km": km}))
                    if amount >= minimum
                    else (minimum, Reason("travel_minimum", {**self.minimum_values, "km": km}))
                )
            add(known)
        return quotes

    def _zone(self, distance_m: float) -> tuple[int, Reason]:
        km = distance_m / 1000
        p, q = distance_m.as_integer_ratio()  # exact: distance_m == p / q
        for index, (num, den, amount, radius) in enumerate(self.zones or (), start=1):
            if p * den <= 1000 * q * num:  # km <= radius, exactly
                return amount, Reason("travel_zone", {"zone": index, "radius": radius, "km": km})
        # Beyond the last zone the technician still made the trip: pay the last zone's flat
        # amount, and say so, so the manager can see a visit outside the zones (AREA-FREE).
        _, _, amount, radius = self.zones[-1]  # type: ignore[index]
        last = len(self.zones or ())
        return amount, Reason("travel_beyond", {"km": km, "radius": radius, "zone": last})


def travel_quote(distance_m: float, rules: TravelRules) -> tuple[int, Reason]:
    """TRV-HOW amount in fen for a round trip to a site `distance_m` away, and its reason."""
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


def _rate_lines(rules: Rules) -> dict[str, tuple[str, int, Reason]]:
    """The (rule, amount, reason) of an ALW-RATE line for each rate kind."""
    alw = rules.allowance
    rates = {
        "netcafe": alw.rate_netcafe_fen,
        "network": alw.rate_network_fen,
        "single": alw.rate_single_fen,
    }
    return {
        kind: ("ALW-RATE", fen, Reason(f"rate_{kind}", {"amount": format_yuan(fen)}))
        for kind, fen in rates.items()
    }


def allowance_rate(slip: Slip, rules: Rules) -> tuple[int, Reason]:
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

_tuple_new = tuple.__new__


def _line(
    rule: str,
    amount_fen: int,
    ref: str,
    reason: Reason,
    kind: str,
    slip: Slip | None = None,
    zone: tzinfo | None = None,
) -> StatementLine:
    """A StatementLine with its LineNote built straight from their values (half the cost of the
    keyword call); no text is rendered here."""
    return _tuple_new(
        StatementLine, (rule, amount_fen, ref, (reason, slip, zone, None), kind, None)
    )


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


# ALW-CAP-HOW order: check-out, check-in, customer name; then slip id for a total order.
_CAP_ORDER = attrgetter("check_out", "check_in", "customer", "id")


def _event_key(event: RecordedEvent) -> tuple[date, int]:
    return (event.day, event.id)


def _first_by_slip(events: Iterable[RecordedEvent], rule: str) -> dict[int, RecordedEvent]:
    marks: dict[int, RecordedEvent] = {}
    for event in events:
        if event.rule == rule and event.slip_id is not None:
            marks.setdefault(event.slip_id, event)
    return marks


_UNSETTLED_DISSATISFIED = ("DED-DISSAT", 0, Reason("unsettled_dissatisfied"))
_UNSETTLED_INCOMPLETE = ("ALW-UNSETTLED", 0, Reason("unsettled_incomplete"))
_UNSETTLED_NEUTRAL = ("ALW-UNSETTLED", 0, Reason("unsettled_neutral"))
_UNSETTLED_UNRATED = ("ALW-UNSETTLED", 0, Reason("unsettled_unrated"))


def _why_unsettled(slip: Slip, beyond: dict[int, RecordedEvent]) -> tuple[str, int, Reason]:
    """The (rule, 0, reason) of a slip that fails ALW-BEYOND, DED-DISSAT or ALW-UNSETTLED."""
    if slip.id in beyond:
        return "ALW-BEYOND", 0, Reason("beyond", {"event": beyond[slip.id].id})
    if slip.satisfaction == DISSATISFIED:
        return _UNSETTLED_DISSATISFIED
    if not slip.complete:
        return _UNSETTLED_INCOMPLETE
    return _UNSETTLED_NEUTRAL if slip.satisfaction == "neutral" else _UNSETTLED_UNRATED


class _Caps:
    """ALW-CAP-HOW over one technician's month, walking the settled slips in order."""

    __slots__ = ("home_cap", "software_cap", "home_seen", "software_seen", "values")

    def __init__(self, rules: Rules, denominator: int) -> None:
        self.home_cap = cap_slips(rules.allowance.cap_home_share, denominator)
        self.software_cap = cap_slips(rules.allowance.cap_software_share, denominator)
        self.home_seen = self.software_seen = 0
        self.values = {
            "base": denominator,
            "home_cap": self.home_cap,
            "home_share": f"{float(rules.allowance.cap_home_share) * 100:g}",
            "software_cap": self.software_cap,
            "software_share": f"{float(rules.allowance.cap_software_share) * 100:g}",
        }

    def check(
        self, customer_class: str, machine: str, service_type: str
    ) -> tuple[str, int, Reason] | None:
        """The (rule, 0, reason) when this next settled slip is over a cap, else None."""
        over_home = over_software = False
        if customer_class == "other" and machine == "single":  # Slip.is_home_single
            over_home = self.home_seen >= self.home_cap
            self.home_seen += 1
        if service_type == "software":
            over_software = self.software_seen >= self.software_cap
            self.software_seen += 1
        if over_home or over_software:
            return self._over(over_home, over_software)
        return None

    def _over(self, home: bool, software: bool) -> tuple[str, int, Reason]:
        """The line of a slip over a cap: which cap, and the slip's place in its count."""
        values = {**self.values, "home_n": self.home_seen, "software_n": self.software_seen}
        if home and software:
            return "ALW-CAP-HOME", 0, Reason("cap_both", values)
        if home:
            return "ALW-CAP-HOME", 0, Reason("cap_home", values)
        return "ALW-CAP-SW", 0, Reason("cap_software", values)


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
        "revenue_percent",
        "dissatisfied_reason",
        "rewards",
        "zone",
    )

    def __init__(self, rules: Rules, zone: tzinfo | None = None) -> None:
        self.rules = rules
        self.zone = zone  # the station's time zone: a visit's date is shown in it
        self.rates = _rate_lines(rules)  # shared by every slip paid at that rate
        self.travel = _Travel(rules.travel)
        self.dissatisfied = rules.deductions.dissatisfied_fen
        self.dissatisfied_reason = Reason(
            "dissatisfied_deduction", {"amount": format_yuan(self.dissatisfied)}
        )
        self.revenue_share = rules.rewards.revenue_share
        self.revenue_percent = f"{float(self.revenue_share) * 100:g}"
        self.rewards: dict[int, tuple[int, Reason]] = {}

    def reward(self, revenue_fen: int) -> tuple[int, Reason]:
        """RWD-REVENUE amount and reason for a slip's benefit."""
        known = self.rewards.get(revenue_fen)
        if known is None:
            share = self.revenue_share
            amount = _half_up(revenue_fen * share.numerator, share.denominator)
            reason = Reason(
                "revenue", {"share": self.revenue_percent, "benefit": format_yuan(revenue_fen)}
            )
            known = self.rewards[revenue_fen] = (amount, reason)
        return known


def _forfeited(
    allowance: tuple[str, int, Reason], forfeit: RecordedEvent, forfeited: Reason
) -> tuple[str, int, Reason]:
    """ALW-FORFEIT-HOW: a slip's allowance line in a month whose allowance is forfeited
    (`forfeited` is the month's reason, shared by the slips that would have been paid)."""
    rule, _amount, why = allowance
    if rule == "ALW-RATE":
        return forfeit.rule, 0, forfeited
    return forfeit.rule, 0, Reason("forfeited_also", {**forfeited.values, "why": why})


def _slip_lines(
    slips: Sequence[Slip], events: Sequence[RecordedEvent], month: _Month
) -> tuple[list[StatementLine], int]:
    """Each slip's allowance line, then its DED-DISSAT, TRV-HOW and RWD-REVENUE lines; and the
    number of slips paid an allowance. Slips come in ALW-CAP-HOW order.

    The hot loop of a large month: slips are unpacked once, names bound locally, lines built
    by _line.
    """
    beyond = _first_by_slip(events, "ALW-BEYOND")
    false_slips = _first_by_slip(events, "ALW-FORFEIT-FALSE")
    forfeit = _forfeit_by(events)
    settles = [
        slip.complete and slip.satisfaction == SATISFIED and slip.id not in beyond for slip in slips
    ]
    caps = _Caps(month.rules, settles.count(True))
    rates = month.rates
    travel = month.travel.quote_all([slip.distance_m for slip in slips])
    reward = month.reward
    dissatisfied, dissatisfied_reason = month.dissatisfied, month.dissatisfied_reason
    zone = month.zone
    if forfeit is not None:
        forfeited = Reason("forfeited", {"rule": forfeit.rule, "event": forfeit.id})
    lines: list[StatementLine] = []
    add = lines.append
    settled = 0
    for slip, settles_slip, (travel_fen, travel_reason) in zip(slips, settles, travel, strict=True):
        (slip_id, _, _, customer_class, _, machine, service_type, _, _, _, satisfaction, _,
         revenue_fen) = slip  # fmt: skip
        ref = f"slip {slip_id}"
        allowance = (
            _why_unsettled(slip, beyond)
            if not settles_slip
            else caps.check(customer_class, machine, service_type) or rates[rate_kind(slip)]
        )
        if forfeit is not None:
            allowance = _forfeited(allowance, forfeit, forfeited)
        rule, amount, reason = allowance
        if rule == "ALW-RATE" and amount > 0:
            settled += 1
        add(_line(rule, amount, ref, reason, ALLOWANCE, slip, zone))
        if satisfaction == DISSATISFIED:
            add(_line("DED-DISSAT", dissatisfied, ref, dissatisfied_reason, DEDUCTION, slip, zone))
        if slip_id in false_slips:
            reason = Reason("travel_false", {"event": false_slips[slip_id].id})
            add(_line("TRV-HOW", 0, ref, reason, TRAVEL, slip, zone))
        else:
            add(_line("TRV-HOW", travel_fen, ref, travel_reason, TRAVEL, slip, zone))
        if revenue_fen > 0:
            amount, reason = reward(revenue_fen)
            add(_line("RWD-REVENUE", amount, ref, reason, REWARD, slip, zone))
    return lines, settled


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


_FORFEITS_MONTH = Reason("event_forfeits")


def _event_line(event: RecordedEvent, month: _Month, slip: Slip | None) -> StatementLine:
    """The line of one recorded event: about its visit when it names one of the month's slips,
    else dated on its day."""
    info = _event_info(event)
    parts: list[Reason | str] = []
    if event.slip_id is not None and slip is None:
        parts.append(Reason("event_slip", {"slip": event.slip_id}))
    if info.forfeits and event.adjustment_of is None:
        parts.append(_FORFEITS_MONTH)
    if event.note:
        parts.append(event.note)  # a person's text, or a coded note of the bot (note_codes)
    reason = Reason("parts", {"parts": tuple(parts)})
    if event.adjustment_of is not None:
        # Recorded into an open month before closed months were recomputed (ADJ-CLOSED): an
        # ordinary line of this month that says which month it corrected.
        reason = Reason("adjusted", {"reason": reason, "month": event.adjustment_of})
    note = line_note(reason, slip, month.zone, event.day)
    amount = _event_amount(event, info, month.rules)
    return StatementLine(event.rule, amount, f"event {event.id}", note, info.kind)


def _statement(
    technician: str, slips: Sequence[Slip], events: Sequence[RecordedEvent], month: _Month
) -> TechnicianStatement:
    """The statement from slips in ALW-CAP-HOW order and events in (day, id) order."""
    lines, settled = _slip_lines(slips, events, month)
    by_id = {slip.id: slip for slip in slips} if any(e.slip_id for e in events) else {}
    lines.extend(
        _event_line(event, month, by_id.get(event.slip_id) if event.slip_id else None)
        for event in events
    )
    return TechnicianStatement(technician, len(slips), settled, tuple(lines))


def compute_technician(
    technician: str,
    month: str,
    slips: Sequence[Slip],
    events: Sequence[RecordedEvent],
    rules: Rules,
    tz: tzinfo | None = None,
) -> TechnicianStatement:
    """One technician's statement from the month's slips and events, given in any order.

    The caller chooses the month's slips (compute_month does so by check-out time); events are
    kept when they are this technician's, not voided, and dated in `month`. Visits' dates are
    shown in `tz` (None: in each check-out's own time zone).
    """
    first_day, next_first = month_days(month)
    own_slips = sorted((s for s in slips if s.technician == technician), key=_CAP_ORDER)
    own_events = sorted(
        (
            e
            for e in events
            if e.technician == technician and not e.voided and first_day <= e.day < next_first
        ),
        key=_event_key,
    )
    return _statement(technician, own_slips, own_events, _Month(rules, tz))


# --- the whole month -------------------------------------------------------------------------


def staff_order(names: Iterable[str]) -> list[str]:
    """Names in "alphabetical" order for RMA-LOST: pinyin, ties by code point; no duplicates."""
    from pypinyin import lazy_pinyin  # its dictionary loads on first use, not at start-up

    unique = set(names) - {ALL_STAFF}
    return sorted(unique, key=lambda name: ([s.lower() for s in lazy_pinyin(name)], name))


def staff_shares(amount_fen: int, staff: Iterable[str]) -> tuple[tuple[str, int], ...]:
    """RMA-LOST for all staff: equal shares to the fen, the remainder fen to the first names
    in staff_order; empty when there are no staff."""
    names = staff_order(staff)
    if not names:
        return ()
    base, remainder = divmod(amount_fen, len(names))
    return tuple((name, base + (index < remainder)) for index, name in enumerate(names))


def split_among_staff(event: RecordedEvent, staff: Iterable[str]) -> list[RecordedEvent]:
    """An all-staff RMA-LOST as one event per share: its stored shares, else `staff` split now."""
    if event.rule != "RMA-LOST":
        raise ValueError(f"event {event.id}: only RMA-LOST may name all staff ({ALL_STAFF!r})")
    if event.amount_fen is None:
        raise ValueError(f"event {event.id}: {event.rule} needs an amount")
    shares = event.shares or staff_shares(event.amount_fen, staff)
    if not shares:
        raise ValueError(f"event {event.id}: {event.rule} is for all staff, but no staff are known")
    note = coded("staff_share", event.note, total=format_yuan(event.amount_fen), staff=len(shares))
    return [
        replace(event, technician=name, amount_fen=fen, note=note, shares=())
        for name, fen in shares
    ]


def _station_time(slip: Slip, tz: ZoneInfo) -> Slip:
    """The slip with naive check-in and check-out read as station time."""
    return slip._replace(
        check_in=slip.check_in if slip.check_in.tzinfo else slip.check_in.replace(tzinfo=tz),
        check_out=slip.check_out if slip.check_out.tzinfo else slip.check_out.replace(tzinfo=tz),
    )


def _month_slips(slips: Iterable[Slip], month: str, tz: ZoneInfo) -> dict[str, list[Slip]]:
    """The month's slips by technician (check-out in `tz`); naive datetimes are station time.

    Aware datetimes with the very same tzinfo object compare field by field; different tzinfo
    objects make every comparison compute two UTC offsets. So the month's bounds are brought to
    the first check-out's tzinfo (storage reads check-outs in UTC, all with one tzinfo).
    """
    start, end = month_bounds(month, tz)
    zone: tzinfo | None = None
    by_technician: dict[str, list[Slip]] = defaultdict(list)
    for slip in slips:
        if slip.check_out.tzinfo is None or slip.check_in.tzinfo is None:
            slip = _station_time(slip, tz)
        check_out = slip.check_out
        if zone is None:
            zone = check_out.tzinfo
            start, end = start.astimezone(zone), end.astimezone(zone)
        if start <= check_out < end:
            by_technician[slip.technician].append(slip)
    return by_technician


def _month_events(
    events: Iterable[RecordedEvent], month: str, staff: Sequence[str]
) -> dict[str, list[RecordedEvent]]:
    """The month's live events by technician, all-staff RMA-LOST split into shares."""
    first_day, next_first = month_days(month)
    by_technician: dict[str, list[RecordedEvent]] = defaultdict(list)
    for event in events:
        if event.voided or not first_day <= event.day < next_first:
            continue
        if event.technician == ALL_STAFF and (event.shares or staff):
            for share in split_among_staff(event, staff):
                by_technician[share.technician].append(share)
        else:  # an all-staff event with no shares and no staff stays whole, under "*"
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
    constants = _Month(rules, tz)
    statements = []
    for name in sorted(keyed.keys() | events_by.keys()):
        own_slips = sorted(keyed.get(name, ()), key=_CAP_ORDER)
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
