"""Pure parsers for ticket intake: the one-line quick form, flags, appointment windows, places."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.geo import SYSTEMS, Point, parse_coordinates, to_wgs84

QUICK_SEPARATORS = re.compile(r"\s*[|｜]\s*")
FLAG_SPLIT = re.compile(r"[\s,，、]+")
_WINDOW = re.compile(
    r"^\s*(?:(?:(\d{4})-)?(\d{1,2})-(\d{1,2})\s+)?(\d{1,2}):(\d{2})\s*[-~至到]\s*(\d{1,2}):(\d{2})\s*$",
    re.ASCII,  # int() would take other scripts' digits too
)
NO_APPOINTMENT = frozenset({"-", "无", "none", "no"})
SKIP = frozenset({"-", "无", "skip", "none"})

# Each flag pair: the favoured value first (PRI-ADJ), with the words that choose either side.
FLAG_WORDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "hardware": (frozenset({"hw", "hardware", "硬件"}), frozenset({"sw", "software", "软件"})),
    "major": (
        frozenset({"major", "重大", "大"}),
        frozenset({"ordinary", "minor", "一般", "普通"}),
    ),
    "brand": (
        frozenset({"brand", "品牌", "品牌机"}),
        frozenset({"compatible", "compat", "diy", "兼容", "兼容机"}),
    ),
    "tool": (
        frozenset({"tool", "work", "工具", "工作"}),
        frozenset({"fun", "entertainment", "娱乐"}),
    ),
}
FLAG_ORDER = ("hardware", "major", "brand", "tool")


class IntakeError(ValueError):
    """A wrong or missing value: an i18n key and its placeholders."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


@dataclass(frozen=True)
class Flags:
    hardware: bool
    major: bool
    brand: bool
    tool: bool
    brand_name: str = ""


@dataclass(frozen=True)
class QuickForm:
    customer: str
    fault: str
    flags: Flags
    window: tuple[datetime, datetime] | None = None
    extra: dict[str, str] = field(default_factory=dict)


def parse_flags(text: str, house_brands: Iterable[str]) -> Flags:
    """The four PRI-ADJ choices from words (each pair once); a house brand name means brand."""
    chosen: dict[str, bool] = {}
    brand_name = ""
    houses = {b.casefold(): b for b in house_brands}
    for word in filter(None, FLAG_SPLIT.split(text.strip())):
        key = word.casefold()
        if key in houses:
            brand_name = houses[key]
            key = "brand"
        for name, (yes, no) in FLAG_WORDS.items():
            if key in yes or key in no:
                value = key in yes
                if chosen.get(name, value) != value:
                    raise IntakeError("dispatch.quick.flag_twice", word=word)
                chosen[name] = value
                break
        else:
            raise IntakeError("dispatch.quick.flag_unknown", word=word)
    missing = [name for name in FLAG_ORDER if name not in chosen]
    if missing:
        raise IntakeError(f"dispatch.quick.flag_missing_{missing[0]}")
    return Flags(**chosen, brand_name=brand_name if chosen["brand"] else "")


def parse_window(text: str, now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """An appointment window in the station's zone: [YYYY-]MM-DD HH:MM-HH:MM, or HH:MM-HH:MM
    for today; must end after it starts and not be over already."""
    match = _WINDOW.match(text)
    if match is None:
        raise IntakeError("dispatch.window.format")
    year, month, day, h1, m1, h2, m2 = match.groups()
    local_now = now.astimezone(tz)
    try:
        if month is None:
            on = local_now.date()
        else:
            on = date(int(year) if year else local_now.year, int(month), int(day))
        start = datetime.combine(on, time(int(h1), int(m1)), tzinfo=tz)
        end = datetime.combine(on, time(int(h2), int(m2)), tzinfo=tz)
    except ValueError:
        raise IntakeError("dispatch.window.format") from None
    if end <= start:
        raise IntakeError("dispatch.window.order")
    if end <= now:
        raise IntakeError("dispatch.window.past")
    return start, end


def day_window(on: date, start: time, end: time, tz: ZoneInfo) -> tuple[datetime, datetime]:
    return datetime.combine(on, start, tzinfo=tz), datetime.combine(on, end, tzinfo=tz)


def next_day(now: datetime, tz: ZoneInfo) -> date:
    return now.astimezone(tz).date() + timedelta(days=1)


def parse_place(text: str) -> Point | None:
    """Typed coordinates "lat, lon [wgs84|gcj02|bd09]" converted to WGS-84; None if not that."""
    words = text.strip().rsplit(maxsplit=1)
    system = "wgs84"
    if len(words) == 2 and words[1].casefold() in SYSTEMS:
        text, system = words[0], words[1].casefold()
    point = parse_coordinates(text)
    if point is None:
        return None
    return to_wgs84(point[0], point[1], system)


def parse_quick(text: str, now: datetime, tz: ZoneInfo, house_brands: Iterable[str]) -> QuickForm:
    """`CUSTOMER | FAULT | FLAGS [| WINDOW]` (see dispatch.quick.usage)."""
    parts = QUICK_SEPARATORS.split(text.strip())
    if len(parts) not in (3, 4):
        raise IntakeError("dispatch.quick.usage")
    customer, fault, flags = (p.strip() for p in parts[:3])
    if not customer:
        raise IntakeError("dispatch.quick.no_customer")
    if not fault:
        raise IntakeError("dispatch.fault.empty")
    window = None
    if len(parts) == 4 and parts[3].strip().casefold() not in NO_APPOINTMENT:
        window = parse_window(parts[3], now, tz)
    return QuickForm(customer, fault, parse_flags(flags, house_brands), window)


def normalize_fault(text: str) -> str:
    """A fault description compared for "the same fault reopened": case, spaces, punctuation."""
    return re.sub(r"[\W_]+", "", text.casefold())
