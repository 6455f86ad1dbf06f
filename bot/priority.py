"""Dispatch priority (PRI-CLASS, PRI-ADJ, PRI-SCORE): score, breakdown and queue order."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import product
from typing import NamedTuple

from bot.config import PriorityWeights
from bot.models import CUSTOMER_CLASSES

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
    # Constant per ticket, precomputed once so that rank() stays cheap.
    _created_ts: float = field(init=False, repr=False, compare=False)
    _due_ts: float | None = field(init=False, repr=False, compare=False)
    _mask: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.customer_class not in CUSTOMER_CLASSES:
            raise ValueError(f"unknown customer class {self.customer_class!r}")
        due = self.respond_due.timestamp() if self.respond_due is not None else None
        mask = 0
        for bit, name in enumerate(FACTORS):
            if getattr(self, name):
                mask |= 1 << bit
        object.__setattr__(self, "_created_ts", self.created_at.timestamp())
        object.__setattr__(self, "_due_ts", due)
        object.__setattr__(self, "_mask", mask)


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
        """The named parts, keyed as in PRI-SCORE ("class", "tool", ..., "total")."""
        values = self._asdict()
        values["class"] = values.pop("class_")
        return {"class": values.pop("class"), **values}

    def display(self) -> dict[str, float]:
        """The parts rounded for the queue view; never use these for ordering."""
        return {name: round(value, DISPLAY_DECIMALS) for name, value in self.parts().items()}


class RankedTicket(NamedTuple):
    """One queue row: 1-based position, the ticket and its score breakdown."""

    position: int
    ticket: TicketFacts
    breakdown: ScoreBreakdown

    @property
    def total(self) -> float:
        """The ticket's full score."""
        return self.breakdown.total


class _Tables(NamedTuple):
    class_weight: dict[str, float]
    factor_parts: tuple[tuple[float, ...], ...]  # indexed by factor bit mask
    factor_sum: tuple[float, ...]  # indexed by factor bit mask


def _tables(weights: PriorityWeights) -> _Tables:
    """Class weights and all 32 factor combinations, computed once per weights."""
    class_weight = {name: float(getattr(weights, name)) for name in CUSTOMER_CLASSES}
    factor_weight = [float(getattr(weights, name)) for name in FACTORS]
    parts: list[tuple[float, ...]] = [()] * (1 << len(FACTORS))
    for flags in product((False, True), repeat=len(FACTORS)):
        mask = sum(1 << bit for bit, on in enumerate(flags) if on)
        parts[mask] = tuple(w if on else 0.0 for w, on in zip(factor_weight, flags, strict=True))
    return _Tables(class_weight, tuple(parts), tuple(sum(p) for p in parts))


def _window_seconds(ticket: TicketFacts, respond_window: timedelta) -> float:
    """The length of this ticket's ageing window: to its response deadline, or the default."""
    if ticket._due_ts is not None:
        return ticket._due_ts - ticket._created_ts
    return respond_window.total_seconds()


def ageing(ticket: TicketFacts, now: datetime, weights: PriorityWeights, respond_window: timedelta) -> float:
    """Ageing points: 0 at creation, growing linearly to ageing_max over the response window."""
    return _ageing(
        now.timestamp() - ticket._created_ts,
        _window_seconds(ticket, respond_window),
        float(weights.ageing_max),
    )


def _ageing(elapsed: float, window: float, ageing_max: float) -> float:
    if elapsed <= 0:
        return 0.0
    if elapsed >= window:
        return ageing_max
    return ageing_max * elapsed / window


def score(
    t: TicketFacts, now: datetime, weights: PriorityWeights, respond_window: timedelta
) -> ScoreBreakdown:
    """PRI-SCORE for one ticket, with every part named."""
    tables = _tables(weights)
    class_weight = tables.class_weight[t.customer_class]
    aged = ageing(t, now, weights, respond_window)
    total = class_weight + tables.factor_sum[t._mask] + aged
    return ScoreBreakdown(class_weight, *tables.factor_parts[t._mask], aged, total)


def rank(
    tickets: Iterable[TicketFacts],
    now: datetime,
    weights: PriorityWeights,
    respond_window: timedelta,
) -> list[RankedTicket]:
    """The dispatch queue: pinned first, then score desc, then older first, then lower id."""
    tables = _tables(weights)
    class_weight = tables.class_weight
    factor_sum = tables.factor_sum
    ageing_max = float(weights.ageing_max)
    default_window = respond_window.total_seconds()
    now_ts = now.timestamp()
    rows = []
    for t in tickets:
        elapsed = now_ts - t._created_ts
        window = default_window if t._due_ts is None else t._due_ts - t._created_ts
        if elapsed <= 0:
            aged = 0.0
        elif elapsed >= window:
            aged = ageing_max
        else:
            aged = ageing_max * elapsed / window
        total = class_weight[t.customer_class] + factor_sum[t._mask] + aged
        rows.append((not t.pinned, -total, t._created_ts, t.id, aged, t))
    rows.sort(key=_sort_key)
    return [_ranked(position, row, tables) for position, row in enumerate(rows, 1)]


def _sort_key(row: tuple) -> tuple:
    return row[:4]


def _ranked(position: int, row: tuple, tables: _Tables) -> RankedTicket:
    """Build one queue row from a sorted (key..., ageing, ticket) tuple."""
    _, negative_total, _, _, aged, t = row
    parts = tables.factor_parts[t._mask]
    breakdown = ScoreBreakdown(tables.class_weight[t.customer_class], *parts, aged, -negative_total)
    return RankedTicket(position, t, breakdown)


def is_repeat(
    customer_closed_unresolved_at: Sequence[datetime],
    same_fault_reopened_at: Sequence[datetime],
    now: datetime,
    window_days: int,
) -> bool:
    """PRI-SCORE "Repeat": a visit closed unresolved or the same fault reopened within the window."""
    since = now - timedelta(days=window_days)
    return any(
        since <= moment <= now
        for moment in (*customer_closed_unresolved_at, *same_fault_reopened_at)
    )
