"""Configuration: one TOML file, validated at start-up, money converted to integer fen."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from datetime import date, time
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

EXAMPLE_PATH = Path(__file__).resolve().parent.parent / "config.example.toml"
LANGUAGES = ("zh-CN", "en")
EVIDENCE_STRENGTHS = ("strong", "medium", "weak")
COORDINATE_SYSTEMS = ("wgs84", "gcj02", "bd09")


class ConfigError(Exception):
    """A bad configuration value: which key and why."""

    def __init__(self, key: str, reason: str, file: str = "config.toml") -> None:
        super().__init__(f"{file}: {key}: {reason}")
        self.key = key
        self.reason = reason
        self.file = file


@dataclass(frozen=True)
class AllowanceRules:
    rate_single_fen: int = 200
    rate_network_fen: int = 200
    rate_netcafe_fen: int = 300
    cap_home_share: Fraction = Fraction(1, 2)
    cap_software_share: Fraction = Fraction(1, 5)


@dataclass(frozen=True)
class TravelRules:
    mode: str = "per_km"
    rate_per_km_fen: int = 80
    road_factor: Fraction = Fraction(13, 10)
    minimum_fen: int = 0
    zones: tuple[tuple[Fraction, int], ...] = ()  # (radius km, amount fen), ascending


@dataclass(frozen=True)
class DeductionRules:
    dissatisfied_fen: int = 5000
    complaint_fen: int = 5000
    conduct_fen: int = 1000
    late_fen: int = 1000
    unreported_unfinished_fen: int = 10000
    false_slip_fen: int = 20000
    private_job_fen: int = 10000
    rma_unregistered_fen: int = 1000
    rma_signoff_fen: int = 500
    rma_10day_fen: int = 1000
    rma_20day_fen: int = 2000
    rma_paperwork_fen: int = 500
    rma_delay_fen: int = 1000


@dataclass(frozen=True)
class RewardRules:
    revenue_share: Fraction = Fraction(1, 10)
    suggestion_min_fen: int = 1000
    suggestion_max_fen: int = 5000


@dataclass(frozen=True)
class Rules:
    """Every amount and cap of docs/rules.md sections 4-7."""

    allowance: AllowanceRules = field(default_factory=AllowanceRules)
    travel: TravelRules = field(default_factory=TravelRules)
    deductions: DeductionRules = field(default_factory=DeductionRules)
    rewards: RewardRules = field(default_factory=RewardRules)


@dataclass(frozen=True)
class PriorityWeights:
    agent: int = 50
    industry: int = 40
    network: int = 30
    quasi: int = 20
    other: int = 10
    tool: int = 6
    major: int = 8
    repeat: int = 7
    hardware: int = 4
    brand: int = 3
    ageing_max: int = 10
    repeat_window_days: int = 30


@dataclass(frozen=True)
class SlaConfig:
    respond_hours: float = 2
    arrive_hours: float = 48
    arrive_working_hours_only: bool = False
    workday_start: time = time(8, 30)
    workday_end: time = time(17, 30)
    official_calendar: bool = True
    extra_holidays: tuple[date, ...] = ()
    extra_workdays: tuple[date, ...] = ()
    takeback_hours: float = 24
    spare_days: float = 7
    consult_minutes: int = 15
    warn_before_minutes: int = 30
    accept_timeout_minutes: int = 15
    late_grace_minutes: int = 10
    unreported_hours: float = 24


@dataclass(frozen=True)
class EvidenceConfig:
    """How much a location proves (geofence.max_*): see bot/domain/evidence.py."""

    max_accuracy_m: float = 100
    max_age_s: float = 120
    max_speed_kmh: float = 150
    live_gap_s: float = 1800


@dataclass(frozen=True)
class PrivacyConfig:
    """What is kept about people, and for how long ([privacy])."""

    keep_track_days: int = 90
    purge_time: time = time(3, 30)


ITEM_KINDS = (
    "monitor",
    "keyboard",
    "mouse",
    "case",
    "speaker",
    "other_peripheral",
    "machine",
    "part",
)


@dataclass(frozen=True)
class PolicyConfig:
    """The POL windows in days after the sale ([policy]); 0 means no such window."""

    refund_days_county: int = 10
    refund_days_local: int = 3
    refund_days_other: int = 0  # others: no refund in principle
    exchange_days_county: int = 20
    exchange_days_local: int = 10
    exchange_days_other: int = 0  # others: no fixed window, wear deducted by time used
    swap_days_county: int = 30
    swap_days_local: int = 20
    swap_days_other: int = 30
    sale_fault_days: int = 7  # POL-7DAY (三包 2.2)
    opened_no_return: tuple[str, ...] = ("monitor", "keyboard", "mouse", "case", "speaker")


@dataclass(frozen=True)
class RepairConfig:
    """The repair desk's promises and voucher ([repairs])."""

    home_region: str = "四川"
    turnaround_inside_days: tuple[int, int] = (7, 8)  # the FAQ: within Sichuan
    turnaround_outside_days: tuple[int, int] = (10, 15)  # outside Sichuan
    send_check_day: int = 3  # RMA-SEND: the afternoon of this day after sending
    send_check_time: time = time(14, 0)
    explain_day: int = 10  # RMA-10DAY
    report_day: int = 20  # RMA-20DAY
    agent_day: int = 10  # RMA-AGENT
    voucher_prefix: str = "FX"
    board_page_size: int = 20
    complaint_ack_hours: float = 24  # CMP-REGISTER: acknowledged within this
    complaint_verify_days: int = 3  # verified within this many working days
    customer_open_complaints: int = 3  # complaints a customer may have open that they filed


@dataclass(frozen=True)
class Config:
    token: str = ""
    admins: tuple[int, ...] = ()
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str = "https://api.telegram.org/file/bot"
    rate_limiter: bool = True
    overall_per_second: float = 30
    group_per_minute: int = 20
    group_window_s: float = 60
    private_per_second: float = 1
    outbox_keep_days: int = 30
    poll_timeout_s: int = 30
    db_path: str = "fieldbot.db"
    busy_timeout_ms: int = 5000
    backup_dir: str = "backups"
    backup_keep: int = 7
    backup_time: time = time(3, 0)
    station_name: str = "服务站"
    station_location: tuple[float, float] = (30.6570, 104.0660)
    timezone: str = "Asia/Shanghai"
    language: str = "zh-CN"
    invite_expiry_hours: float = 48
    geofence_radius_m: float = 300
    allow_offsite: bool = True
    accepted_evidence: tuple[str, ...] = EVIDENCE_STRENGTHS
    free_radius_km: float = 8.0
    service_radius_km: float = 60.0
    house_brands: tuple[str, ...] = ("TCL",)
    warranty_months: int = 12
    geocoder_provider: str = ""
    geocoder_user_agent: str = "fieldbot"
    geocoder_coordinate_system: str = "wgs84"
    sla: SlaConfig = field(default_factory=SlaConfig)
    priority: PriorityWeights = field(default_factory=PriorityWeights)
    rules: Rules = field(default_factory=Rules)
    monthly_summary: bool = True
    monthly_summary_day: int = 1
    monthly_summary_time: time = time(9, 0)
    card_edit_interval_s: float = 3
    evidence: EvidenceConfig = field(default_factory=EvidenceConfig)
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    repairs: RepairConfig = field(default_factory=RepairConfig)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class _Reader:
    """Typed access to one TOML table, naming the full key in every error."""

    def __init__(self, data: dict[str, Any], prefix: str, file: str) -> None:
        self.data = data
        self.prefix = prefix
        self.file = file

    def _fail(self, key: str, reason: str) -> ConfigError:
        return ConfigError(f"{self.prefix}.{key}" if self.prefix else key, reason, self.file)

    def get(self, key: str, default: Any) -> Any:
        return self.data.get(key, default)

    def string(self, key: str, default: str, choices: tuple[str, ...] | None = None) -> str:
        value = self.get(key, default)
        if not isinstance(value, str):
            raise self._fail(key, "must be a string")
        if choices is not None and value not in choices:
            raise self._fail(key, f"must be one of {', '.join(choices)}")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.get(key, default)
        if not isinstance(value, bool):
            raise self._fail(key, "must be true or false")
        return value

    def integer(self, key: str, default: int, minimum: int | None = 0) -> int:
        value = self.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._fail(key, "must be a whole number")
        if minimum is not None and value < minimum:
            raise self._fail(key, f"must be at least {minimum}")
        return value

    def number(self, key: str, default: float, minimum: float = 0, positive: bool = False) -> float:
        value = self.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._fail(key, "must be a number")
        if value < minimum or (positive and value <= 0):
            raise self._fail(key, "must be greater than 0" if positive else f"must be >= {minimum}")
        return float(value)

    def money(self, key: str, default_fen: int) -> int:
        """元 with at most two decimals, as integer fen."""
        value = self.get(key, None)
        if value is None:
            return default_fen
        return yuan_to_fen(value, lambda reason: self._fail(key, reason))

    def share(self, key: str, default: Fraction) -> Fraction:
        value = self.get(key, None)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._fail(key, "must be a number between 0 and 1")
        result = Fraction(Decimal(str(value)))
        if not 0 <= result <= 1:
            raise self._fail(key, "must be between 0 and 1")
        return result

    def clock(self, key: str, default: time) -> time:
        value = self.get(key, None)
        if value is None:
            return default
        if isinstance(value, time):
            return value
        try:
            hours, minutes = str(value).split(":")
            return time(int(hours), int(minutes))
        except ValueError:
            raise self._fail(key, "must be a time like 08:30") from None

    def dates(self, key: str) -> tuple[date, ...]:
        value = self.get(key, [])
        if not isinstance(value, list):
            raise self._fail(key, "must be a list of dates")
        result = []
        for item in value:
            if isinstance(item, date):
                result.append(item)
                continue
            try:
                result.append(date.fromisoformat(str(item)))
            except ValueError:
                raise self._fail(key, f"{item!r} is not an ISO date like 2027-01-01") from None
        return tuple(result)

    def table(self, key: str) -> _Reader:
        value = self.data.get(key, {})
        if not isinstance(value, dict):
            raise ConfigError(key, "must be a table", self.file)
        return _Reader(value, key, self.file)


def yuan_to_fen(value: Any, fail: Any = None) -> int:
    """Convert an amount in 元 (number or string, up to two decimals) to integer fen."""

    def error(reason: str) -> Exception:
        return fail(reason) if fail else ValueError(reason)

    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise error("must be an amount in 元")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise error("must be an amount in 元, e.g. 12.50") from None
    if not amount.is_finite():
        raise error("must be an amount in 元, e.g. 12.50")
    if amount < 0:
        raise error("must not be negative")
    fen = amount * 100
    if fen != fen.to_integral_value():
        raise error("has more than two decimals")
    return int(fen)


def load_config(path: str | Path | None = None, env: dict[str, str] | None = None) -> Config:
    """Read and validate a config file; a missing file falls back to the example's values."""
    env = dict(os.environ) if env is None else env
    candidate = Path(path) if path else Path("config.toml")
    if not candidate.exists():
        if path is not None and Path(path).name != "config.toml":
            raise ConfigError("file", "not found", str(candidate))
        candidate = EXAMPLE_PATH
    name = candidate.name
    try:
        with open(candidate, "rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("syntax", str(exc), name) from None
    return parse_config(data, env, name)


def parse_config(
    data: dict[str, Any], env: dict[str, str] | None = None, file: str = "config.toml"
) -> Config:
    """Validate a parsed TOML document into a Config."""
    env = env or {}
    root = _Reader(data, "", file)
    tg = root.table("telegram")
    db = root.table("database")
    st = root.table("station")
    inv = root.table("invites")
    geo = root.table("geofence")
    area = root.table("area")
    gc = root.table("geocoder")
    sla = root.table("sla")
    pri = root.table("priority")
    alw = root.table("allowance")
    trv = root.table("travel")
    ded = root.table("deductions")
    rwd = root.table("rewards")
    rep = root.table("reports")
    dsp = root.table("dispatch")
    prv = root.table("privacy")

    admins = tg.get("admins", [])
    if not isinstance(admins, list) or not all(
        isinstance(a, int) and not isinstance(a, bool) for a in admins
    ):
        raise ConfigError("telegram.admins", "must be a list of Telegram user ids", file)

    location = st.get("location", [30.6570, 104.0660])
    if (
        not isinstance(location, list)
        or len(location) != 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in location)
        or not -90 <= location[0] <= 90
        or not -180 <= location[1] <= 180
    ):
        raise ConfigError("station.location", "must be [latitude, longitude] in degrees", file)

    timezone = st.string("timezone", "Asia/Shanghai")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError("station.timezone", f"unknown time zone {timezone!r}", file) from None

    evidence = geo.get("accepted_evidence", list(EVIDENCE_STRENGTHS))
    if (
        not isinstance(evidence, list)
        or not evidence
        or any(e not in EVIDENCE_STRENGTHS for e in evidence)
    ):
        raise ConfigError(
            "geofence.accepted_evidence", f"must list some of {', '.join(EVIDENCE_STRENGTHS)}", file
        )
    brands = area.get("house_brands", ["TCL"])
    if not isinstance(brands, list) or not all(isinstance(b, str) for b in brands):
        raise ConfigError("area.house_brands", "must be a list of brand names", file)

    travel_mode = trv.string("mode", "per_km", ("per_km", "zones"))
    zones = _travel_zones(trv.get("zones", []), file)
    if travel_mode == "zones" and not zones:
        raise ConfigError(
            "travel.zones", "must list [radius_km, amount] pairs when mode = zones", file
        )

    workday_start = sla.clock("workday_start", time(8, 30))
    workday_end = sla.clock("workday_end", time(17, 30))
    if workday_end <= workday_start:
        raise ConfigError("sla.workday_end", "must be later than sla.workday_start", file)

    suggestion_min = rwd.money("suggestion_min", 1000)
    suggestion_max = rwd.money("suggestion_max", 5000)
    if suggestion_max < suggestion_min:
        raise ConfigError(
            "rewards.suggestion_max", "must not be below rewards.suggestion_min", file
        )

    return Config(
        token=env.get("FIELDBOT_TOKEN") or tg.string("token", ""),
        admins=tuple(admins),
        base_url=tg.string("base_url", Config.base_url),
        base_file_url=tg.string("base_file_url", Config.base_file_url),
        rate_limiter=tg.boolean("rate_limiter", True),
        overall_per_second=tg.number("overall_per_second", 30, positive=True),
        group_per_minute=tg.integer("group_per_minute", 20, minimum=1),
        group_window_s=tg.number("group_window_s", 60, positive=True),
        private_per_second=tg.number("private_per_second", 1, positive=True),
        outbox_keep_days=tg.integer("outbox_keep_days", 30, minimum=1),
        poll_timeout_s=tg.integer("poll_timeout_s", 30),
        db_path=db.string("path", "fieldbot.db"),
        busy_timeout_ms=db.integer("busy_timeout_ms", 5000),
        backup_dir=db.string("backup_dir", "backups"),
        backup_keep=db.integer("backup_keep", 7, minimum=1),
        backup_time=db.clock("backup_time", time(3, 0)),
        station_name=st.string("name", "服务站"),
        station_location=(float(location[0]), float(location[1])),
        timezone=timezone,
        language=st.string("language", "zh-CN", LANGUAGES),
        invite_expiry_hours=inv.number("expiry_hours", 48, positive=True),
        geofence_radius_m=geo.number("radius_m", 300, positive=True),
        allow_offsite=geo.boolean("allow_offsite", True),
        accepted_evidence=tuple(evidence),
        free_radius_km=area.number("free_radius_km", 8.0),
        service_radius_km=area.number("service_radius_km", 60.0, positive=True),
        house_brands=tuple(brands),
        warranty_months=area.integer("warranty_months", 12),
        geocoder_provider=gc.string("provider", ""),
        geocoder_user_agent=gc.string("user_agent", "fieldbot"),
        geocoder_coordinate_system=gc.string("coordinate_system", "wgs84", COORDINATE_SYSTEMS),
        sla=SlaConfig(
            respond_hours=sla.number("respond_hours", 2, positive=True),
            arrive_hours=sla.number("arrive_hours", 48, positive=True),
            arrive_working_hours_only=sla.boolean("arrive_working_hours_only", False),
            workday_start=workday_start,
            workday_end=workday_end,
            official_calendar=sla.boolean("official_calendar", True),
            extra_holidays=sla.dates("extra_holidays"),
            extra_workdays=sla.dates("extra_workdays"),
            takeback_hours=sla.number("takeback_hours", 24, positive=True),
            spare_days=sla.number("spare_days", 7, positive=True),
            consult_minutes=sla.integer("consult_minutes", 15, minimum=1),
            warn_before_minutes=sla.integer("warn_before_minutes", 30),
            accept_timeout_minutes=sla.integer("accept_timeout_minutes", 15, minimum=1),
            late_grace_minutes=sla.integer("late_grace_minutes", 10),
            unreported_hours=sla.number("unreported_hours", 24, positive=True),
        ),
        priority=PriorityWeights(
            **{
                name: pri.integer(name, getattr(PriorityWeights, name))
                for name in PriorityWeights.__dataclass_fields__
            }
        ),
        rules=Rules(
            allowance=AllowanceRules(
                rate_single_fen=alw.money("rate_single", 200),
                rate_network_fen=alw.money("rate_network", 200),
                rate_netcafe_fen=alw.money("rate_netcafe", 300),
                cap_home_share=alw.share("cap_home_share", Fraction(1, 2)),
                cap_software_share=alw.share("cap_software_share", Fraction(1, 5)),
            ),
            travel=TravelRules(
                mode=travel_mode,
                rate_per_km_fen=trv.money("rate_per_km", 80),
                road_factor=Fraction(Decimal(str(trv.number("road_factor", 1.3, positive=True)))),
                minimum_fen=trv.money("minimum", 0),
                zones=zones,
            ),
            deductions=DeductionRules(
                **{
                    name: ded.money(name.removesuffix("_fen"), getattr(DeductionRules, name))
                    for name in DeductionRules.__dataclass_fields__
                }
            ),
            rewards=RewardRules(
                revenue_share=rwd.share("revenue_share", Fraction(1, 10)),
                suggestion_min_fen=suggestion_min,
                suggestion_max_fen=suggestion_max,
            ),
        ),
        monthly_summary=rep.boolean("monthly_summary", True),
        monthly_summary_day=rep.integer("monthly_summary_day", 1, minimum=1),
        monthly_summary_time=rep.clock("monthly_summary_time", time(9, 0)),
        card_edit_interval_s=dsp.number("card_edit_interval_s", 3),
        evidence=EvidenceConfig(
            max_accuracy_m=geo.number("max_accuracy_m", 100, positive=True),
            max_age_s=geo.number("max_age_s", 120, positive=True),
            max_speed_kmh=geo.number("max_speed_kmh", 150, positive=True),
            live_gap_s=geo.number("live_gap_s", 1800, positive=True),
        ),
        privacy=PrivacyConfig(
            keep_track_days=prv.integer("keep_track_days", 90, minimum=1),
            purge_time=prv.clock("purge_time", time(3, 30)),
        ),
        policy=_policy(root.table("policy"), file),
        repairs=_repairs(root.table("repairs"), file),
    )


def _policy(pol: _Reader, file: str) -> PolicyConfig:
    """[policy]: the POL windows (RULES.md section 8)."""
    days = {
        name: pol.integer(name, getattr(PolicyConfig, name))
        for name in PolicyConfig.__dataclass_fields__
        if name.endswith("_days") or "_days_" in name
    }
    opened = pol.get("opened_no_return", list(PolicyConfig.opened_no_return))
    if not isinstance(opened, list) or any(kind not in ITEM_KINDS for kind in opened):
        raise ConfigError(
            "policy.opened_no_return", f"must list some of {', '.join(ITEM_KINDS)}", file
        )
    return PolicyConfig(**days, opened_no_return=tuple(opened))


def _day_range(rep: _Reader, key: str, default: tuple[int, int], file: str) -> tuple[int, int]:
    value = rep.get(key, list(default))
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        or not 1 <= value[0] <= value[1]
    ):
        raise ConfigError(f"repairs.{key}", "must be [fewest, most] days, e.g. [7, 8]", file)
    return (value[0], value[1])


def _repairs(rep: _Reader, file: str) -> RepairConfig:
    """[repairs]: turnaround, RMA-SEND, RMA-10DAY/20DAY, RMA-AGENT and the voucher."""
    explain_day = rep.integer("explain_day", 10, minimum=1)
    report_day = rep.integer("report_day", 20, minimum=1)
    if report_day <= explain_day:
        raise ConfigError("repairs.report_day", "must be later than repairs.explain_day", file)
    prefix = rep.string("voucher_prefix", "FX")
    if not prefix.isascii() or not prefix.isalnum() or len(prefix) > 8:
        raise ConfigError("repairs.voucher_prefix", "must be 1-8 letters or digits", file)
    return RepairConfig(
        home_region=rep.string("home_region", "四川"),
        turnaround_inside_days=_day_range(rep, "turnaround_inside_days", (7, 8), file),
        turnaround_outside_days=_day_range(rep, "turnaround_outside_days", (10, 15), file),
        send_check_day=rep.integer("send_check_day", 3, minimum=1),
        send_check_time=rep.clock("send_check_time", time(14, 0)),
        explain_day=explain_day,
        report_day=report_day,
        agent_day=rep.integer("agent_day", 10, minimum=1),
        voucher_prefix=prefix,
        board_page_size=rep.integer("board_page_size", 20, minimum=1),
        complaint_ack_hours=rep.number("complaint_ack_hours", 24, positive=True),
        complaint_verify_days=rep.integer("complaint_verify_days", 3, minimum=1),
        customer_open_complaints=rep.integer("customer_open_complaints", 3, minimum=1),
    )


def _travel_zones(value: Any, file: str) -> tuple[tuple[Fraction, int], ...]:
    if not isinstance(value, list):
        raise ConfigError("travel.zones", "must be a list of [radius_km, amount] pairs", file)
    zones: list[tuple[Fraction, int]] = []
    for item in value:
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], int | float)):
            raise ConfigError("travel.zones", "must be a list of [radius_km, amount] pairs", file)
        try:
            fen = yuan_to_fen(item[1])
        except ValueError as exc:
            raise ConfigError("travel.zones", f"amount {item[1]!r} {exc}", file) from None
        zones.append((Fraction(Decimal(str(item[0]))), fen))
    if [z[0] for z in zones] != sorted(z[0] for z in zones):
        raise ConfigError("travel.zones", "radii must be ascending", file)
    return tuple(zones)
