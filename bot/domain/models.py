"""Domain records shared by the core, storage and the front ends (no Telegram types here)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from enum import StrEnum
from types import MappingProxyType
from typing import NamedTuple


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    DISPATCHER = "dispatcher"
    TECHNICIAN = "technician"
    CUSTOMER = "customer"


CUSTOMER_CLASSES = ("agent", "industry", "network", "quasi", "other")
MACHINE_KINDS = ("single", "network")
SERVICE_TYPES = ("hardware", "software")
SATISFACTION = ("satisfied", "neutral", "dissatisfied")


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    role: Role
    telegram_id: int | None = None
    language: str | None = None
    active: bool = True


@dataclass(frozen=True)
class Invite:
    code: str
    role: Role
    created_by: int
    expires_at: datetime
    used_by: int | None = None


class Slip(NamedTuple):
    """The facts of one service slip that the monthly statement needs.

    A named tuple, not a dataclass: a month's statement builds 100,000 of them.
    """

    id: int
    technician: str
    customer: str
    customer_class: str
    netcafe: bool
    machine: str
    service_type: str
    check_in: datetime
    check_out: datetime
    complete: bool
    satisfaction: str | None
    distance_m: float  # geodesic station -> registered site, computed once when recorded
    revenue_fen: int = 0

    @property
    def is_home_single(self) -> bool:
        """A home single-machine slip (ALW-RATE decision): class other, machine single."""
        return self.customer_class == "other" and self.machine == "single"


@dataclass(frozen=True)
class RecordedEvent:
    """A penalty or reward a person recorded (or a timer recorded), docs/rules.md sections 4-7."""

    id: int
    technician: str  # "*" = all station staff (RMA-LOST with no one responsible)
    rule: str
    day: date
    amount_fen: int | None = None
    note: str = ""
    slip_id: int | None = None
    voided: bool = False
    adjustment_of: str | None = None  # "YYYY-MM" when this corrects a closed month
    # An all-staff event's shares, fixed when it was recorded: ((name, fen), ...) (RMA-LOST)
    shares: tuple[tuple[str, int], ...] = ()


NO_VALUES: Mapping[str, object] = MappingProxyType({})


class Reason(NamedTuple):
    """Why a statement line has its amount, in no particular language: a catalog key under
    `line.` and the values its text needs (a value may itself be a Reason). One Reason is
    shared by every line with the same reason, so building a statement renders no text."""

    key: str
    values: Mapping[str, object] = NO_VALUES

    def __hash__(self) -> int:
        # Equal reasons hash alike whatever their values' order, so lines stay hashable.
        return hash((self.key, frozenset(self.values.items())))


# A statement line's structured note: (the reason, the visit it is about (its check-out date
# and customer), the station's time zone for that date, the day of a line with no visit).
# A plain tuple: a month builds a quarter of a million, and a named tuple would cost a second
# allocation each. Rendered in the reader's language only when shown (bot.domain.line_text).
LineNote = tuple[Reason, "Slip | None", "tzinfo | None", "date | None"]


def line_note(
    reason: Reason,
    slip: Slip | None = None,
    zone: tzinfo | None = None,
    day: date | None = None,
) -> LineNote:
    """A LineNote from its parts."""
    return (reason, slip, zone, day)


class StatementLine(NamedTuple):
    """One amount on a statement, with the rule it follows and the slip or event it comes from.

    A named tuple: a large month has a quarter of a million lines. `note` is a LineNote when
    computed, plain text when read back from a closed month's snapshot.
    """

    rule: str
    amount_fen: int
    ref: str
    note: str | LineNote = ""
    kind: str = "allowance"  # allowance | travel | reward | deduction
    adjusts: str | None = None  # "YYYY-MM": this line corrects that closed month (ADJ-CLOSED)

    def as_json(self, language: str | None = None, note: str | None = None) -> dict[str, object]:
        """The line as in `statement --json`, its note in `language` (default zh-CN) unless
        the caller rendered it already (`note`)."""
        if note is None:
            from bot.domain.line_text import note_text

            note = note_text(self, language)
        data: dict[str, object] = {
            "rule": self.rule,
            "kind": self.kind,
            "amount_fen": self.amount_fen,
            "ref": self.ref,
            "note": note,
        }
        if self.adjusts is not None:
            data["adjusts"] = self.adjusts
        return data


@dataclass(frozen=True)
class TechnicianStatement:
    technician: str
    slips: int
    settled: int
    lines: tuple[StatementLine, ...] = field(default_factory=tuple)

    def total(self, kind: str) -> int:
        return sum(line.amount_fen for line in self.lines if line.kind == kind)

    @property
    def allowance_fen(self) -> int:
        return self.total("allowance")

    @property
    def travel_fen(self) -> int:
        return self.total("travel")

    @property
    def reward_fen(self) -> int:
        return self.total("reward")

    @property
    def deduction_fen(self) -> int:
        return self.total("deduction")

    @property
    def net_fen(self) -> int:
        return self.allowance_fen + self.travel_fen + self.reward_fen - self.deduction_fen

    def as_json(
        self,
        language: str | None = None,
        notes: Callable[[Sequence[StatementLine]], list[str]] | None = None,
    ) -> dict[str, object]:
        """The technician's part of `statement --json`, notes in `language` (default zh-CN),
        or rendered by `notes` (a NoteRenderer's, shared by the month's technicians)."""
        if notes is None:
            from bot.domain.line_text import NoteRenderer

            notes = NoteRenderer(language).notes
        return {
            "technician": self.technician,
            "slips": self.slips,
            "settled": self.settled,
            "allowance_fen": self.allowance_fen,
            "travel_fen": self.travel_fen,
            "reward_fen": self.reward_fen,
            "deduction_fen": self.deduction_fen,
            "net_fen": self.net_fen,
            "lines": [
                line.as_json(note=note)
                for line, note in zip(self.lines, notes(self.lines), strict=True)
            ],
        }


@dataclass(frozen=True)
class MonthStatement:
    month: str
    technicians: tuple[TechnicianStatement, ...]

    def as_json(self, language: str | None = None) -> dict[str, object]:
        """`statement --json`, every note in `language` (the station's; default zh-CN)."""
        from bot.domain.line_text import NoteRenderer

        notes = NoteRenderer(language).notes
        return {
            "month": self.month,
            "currency": "CNY",
            "technicians": [t.as_json(notes=notes) for t in self.technicians],
        }


def statement_from_json(data: dict) -> MonthStatement:
    """Rebuild a MonthStatement from its JSON form (a closed month's snapshot)."""
    return MonthStatement(
        month=data["month"],
        technicians=tuple(
            TechnicianStatement(
                technician=item["technician"],
                slips=item["slips"],
                settled=item["settled"],
                lines=tuple(
                    StatementLine(
                        rule=line["rule"],
                        amount_fen=line["amount_fen"],
                        ref=line["ref"],
                        note=line.get("note", ""),
                        kind=line["kind"],
                        adjusts=line.get("adjusts"),
                    )
                    for line in item["lines"]
                ),
            )
            for item in data["technicians"]
        ),
    )
