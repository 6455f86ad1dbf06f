"""Dispatch priority (PRI-CLASS, PRI-ADJ, PRI-SCORE): score, breakdown and queue order."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache, partial
from itertools import count, filterfalse, product, repeat
from operator import attrgetter
from typing import NamedTuple

from bot.config import PriorityWeights
from bot.domain.models import CUSTOMER_CLASSES

FACTORS = ("tool", "major", "repeat", "hardware", "brand")
DISPLAY_DECIMALS = 2


@dataclass(frozen=True)
class TicketFacts:
    """What PRI-SCORE needs to know about one open ticket."""

    id: int
    customer_class: str
    created_at: datetime
    tool: bool
    major: bool
    repeat: bool
    hardware: bool
    brand: bool
    pinned: bool = False
    respond_due: datetime | None = None
    # Constant per ticket, computed once here so that rank() stays cheap.
    _created_ts: float = field(init=False, repr=False, compare=False)
    _window_s: float | None = field(init=False, repr=False, compare=False)
    _mask: int = field(init=False, repr=False, compare=False)
    _code: int = field(init=False, repr=False, compare=False)  # class index and factor mask

    def __post_init__(self) -> None:
        if self.customer_class not in CUSTOMER_CLASSES:
            raise ValueError(f"unknown customer class {self.customer_class!r}")
        for moment in (self.created_at, self.respond_due):
            if moment is not None and moment.utcoffset() is None:
                raise ValueError(f"ticket {self.id}: {moment!r} has no time zone")
        created = self.created_at.timestamp()
        window = None if self.respond_due is None else self.respond_due.timestamp() - created
        mask = sum(1 << bit for bit, name in enumerate(FACTORS) if getattr(self, name))
        object.__setattr__(self, "_created_ts", created)
        object.__setattr__(self, "_window_s", window)
        object.__setattr__(self, "_mask", mask)
        code = CUSTOMER_CLASSES.index(self.customer_class) << len(FACTORS) | mask
        object.__setattr__(self, "_code", code)


_CLASS_INDEX = {name: index for index, name in enumerate(CUSTOMER_CLASSES)}


class QueueEntry:
    """What rank() reads of one open ticket, built straight from stored values.

    The queue ranks every open ticket but shows ten: entries cost a fraction of TicketFacts
    (no validation of values the database already constrains), and rank() treats both alike.
    """

    __slots__ = ("id", "customer_class", "pinned", "_created_ts", "_window_s", "_mask", "_code")

    def __init__(
        self,
        ticket_id: int,
        customer_class: str,
        pinned: bool,
        created_at: datetime,
        respond_due: datetime | None,
        mask: int,
    ) -> None:
        self.id = ticket_id
        self.customer_class = customer_class
        self.pinned = pinned
        self._created_ts = created = created_at.timestamp()
        self._window_s = None if respond_due is None else respond_due.timestamp() - created
        self._mask = mask
        self._code = _CLASS_INDEX[customer_class] << len(FACTORS) | mask


class ScoreBreakdown(NamedTuple):
    """The parts of one ticket's score; `class_` is the class weight (shown as "class")."""

    class_: float
    tool: float
    major: float
    repeat: float
    hardware: float
    brand: float
    ageing: float
    total: float

    def parts(self) -> dict[str, float]:
        """The named parts, keyed as in PRI-SCORE: class, tool, ..., ageing, total."""
        return {name.rstrip("_"): value for name, value in zip(self._fields, self, strict=True)}

    def display(self) -> dict[str, float]:
        """The parts rounded for the queue view; never use these for ordering."""
        return {name: round(value, DISPLAY_DECIMALS) for name, value in self.parts().items()}


class RankedTicket(NamedTuple):
    """One queue row: 1-based position, the ticket, its score and the weights it was scored by."""

    position: int
    ticket: TicketFacts | QueueEntry
    total: float
    ageing: float
    weights: PriorityWeights

    @property
    def breakdown(self) -> ScoreBreakdown:
        """The named parts of this row's score (built on demand, for display)."""
        return _breakdown(self.ticket, self.ageing, _tables(self.weights))


class _Tables(NamedTuple):
    class_weight: dict[str, float]
    factor_parts: tuple[tuple[float, ...], ...]  # indexed by factor bit mask
    factor_sum: tuple[float, ...]  # indexed by factor bit mask
    base: tuple[float, ...]  # class weight + factor sum, indexed by TicketFacts._code


@lru_cache(maxsize=8)
def _tables(weights: PriorityWeights) -> _Tables:
    """Class weights and the parts of all 32 factor combinations, once per weights."""
    class_weight = {name: float(getattr(weights, name)) for name in CUSTOMER_CLASSES}
    factor_weight = [float(getattr(weights, name)) for name in FACTORS]
    parts: list[tuple[float, ...]] = [()] * (1 << len(FACTORS))
    for flags in product((False, True), repeat=len(FACTORS)):
        mask = sum(1 << bit for bit, on in enumerate(flags) if on)
        parts[mask] = tuple(w if on else 0.0 for w, on in zip(factor_weight, flags, strict=True))
    factor_sum = tuple(sum(p) for p in parts)
    base = tuple(class_weight[name] + extra for name in CUSTOMER_CLASSES for extra in factor_sum)
    return _Tables(class_weight, tuple(parts), factor_sum, base)


class SqlScoring(NamedTuple):
    """PRI-SCORE's constants for ranking inside the database (storage.tickets.queue_page):
    the same base per class and factor mask, and the same ageing, as rank() uses."""

    base: tuple[tuple[str, int, float], ...]  # (class, factor mask, class weight + factors)
    ageing_max: float
    default_window_s: float


def sql_scoring(weights: PriorityWeights, respond_window: timedelta) -> SqlScoring:
    """The constants of rank() for these weights, for a query to order tickets exactly alike."""
    tables = _tables(weights)
    masks = 1 << len(FACTORS)
    base = tuple(
        (name, mask, tables.base[index * masks + mask])
        for index, name in enumerate(CUSTOMER_CLASSES)
        for mask in range(masks)
    )
    return SqlScoring(base, float(weights.ageing_max), respond_window.total_seconds())


def ranked_row(
    position: int, entry: QueueEntry, total: float, aged: float, weights: PriorityWeights
) -> RankedTicket:
    """A queue row ranked elsewhere (by the database), shaped as rank() returns it."""
    return RankedTicket(position, entry, total, aged, weights)


def _breakdown(t: TicketFacts | QueueEntry, aged: float, tables: _Tables) -> ScoreBreakdown:
    class_weight = tables.class_weight[t.customer_class]
    total = class_weight + tables.factor_sum[t._mask] + aged
    return ScoreBreakdown(class_weight, *tables.factor_parts[t._mask], aged, total)


def _ageing(elapsed: float, window: float, ageing_max: float) -> float:
    """Linear from 0 at creation to ageing_max at the end of the window, then flat."""
    if elapsed <= 0:
        return 0.0
    if elapsed >= window:
        return ageing_max
    return ageing_max * elapsed / window


def ageing(
    t: TicketFacts, now: datetime, weights: PriorityWeights, respond_window: timedelta
) -> float:
    """Ageing points of one ticket; its window ends at respond_due when set."""
    window = respond_window.total_seconds() if t._window_s is None else t._window_s
    return _ageing(now.timestamp() - t._created_ts, window, float(weights.ageing_max))


def score(
    t: TicketFacts, now: datetime, weights: PriorityWeights, respond_window: timedelta
) -> ScoreBreakdown:
    """PRI-SCORE for one ticket, with every part named."""
    return _breakdown(t, ageing(t, now, weights, respond_window), _tables(weights))


_BY_ID = attrgetter("id")
_BY_CREATED = attrgetter("_created_ts")
_BY_PINNED = attrgetter("pinned")
_NEW_ROW = partial(tuple.__new__, RankedTicket)


def rank(
    tickets: Iterable[TicketFacts] | Iterable[QueueEntry],
    now: datetime,
    weights: PriorityWeights,
    respond_window: timedelta,
) -> list[RankedTicket]:
    """The dispatch queue: pinned first, then score desc, then older first, then lower id."""
    senior = sorted(tickets, key=_BY_ID)
    senior.sort(key=_BY_CREATED)  # stable: older first, then lower id
    pinned = list(filter(_BY_PINNED, senior))
    rest = list(filterfalse(_BY_PINNED, senior)) if pinned else senior
    args = (now.timestamp(), _tables(weights), float(weights.ageing_max), respond_window)
    ranked: list[RankedTicket] = []
    for group in (pinned, rest):
        totals, ageings = _scores(group, *args)
        # Stable even with reverse=True, so equal scores keep their seniority order.
        order = sorted(range(len(group)), key=totals.__getitem__, reverse=True)
        ranked += map(
            _NEW_ROW,
            zip(
                count(len(ranked) + 1),
                map(group.__getitem__, order),
                map(totals.__getitem__, order),
                map(ageings.__getitem__, order),
                repeat(weights),
            ),
        )
    return ranked


def _scores(
    group: list[TicketFacts],
    now_ts: float,
    tables: _Tables,
    ageing_max: float,
    respond_window: timedelta,
) -> tuple[list[float], list[float]]:
    """Totals and ageing points of each ticket (the hot loop of rank(), kept flat)."""
    base = tables.base
    default_window = respond_window.total_seconds()
    totals: list[float] = []
    ageings: list[float] = []
    for t in group:
        elapsed = now_ts - t._created_ts
        window = default_window if t._window_s is None else t._window_s
        if elapsed <= 0:
            aged = 0.0
        elif elapsed >= window:
            aged = ageing_max
        else:
            aged = ageing_max * elapsed / window
        ageings.append(aged)
        totals.append(base[t._code] + aged)
    return totals, ageings


def is_repeat(
    customer_closed_unresolved_at: Sequence[datetime],
    same_fault_reopened_at: Sequence[datetime],
    now: datetime,
    window_days: int,
) -> bool:
    """PRI-SCORE "Repeat": a visit closed unresolved or the same fault reopened in the window."""
    since = now - timedelta(days=window_days)
    return any(
        since <= moment <= now
        for moment in (*customer_closed_unresolved_at, *same_fault_reopened_at)
    )
