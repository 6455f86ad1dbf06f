"""Records of the dispatch feature: customers, machines, tickets and technicians' availability."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

Point = tuple[float, float]


def to_iso(moment: datetime) -> str:
    """The stored form of an instant: ISO 8601 in UTC (sorts as text)."""
    if moment.utcoffset() is None:
        raise ValueError(f"{moment!r} has no time zone")
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def from_iso(text: str | None) -> datetime | None:
    """An aware datetime from its stored form (naive text is read as UTC)."""
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Machine:
    id: int
    customer_id: int
    description: str = ""
    brand: str = ""
    serial: str = ""
    purchase_date: date | None = None
    warranty_end: date | None = None


@dataclass(frozen=True)
class Customer:
    id: int
    name: str
    customer_class: str
    kind: str = ""
    phone: str = ""
    address: str = ""
    site: Point | None = None
    brand: str = ""
    notes: str = ""


@dataclass(frozen=True)
class NewCustomer:
    """A customer as typed or imported, before it has an id (site already in WGS-84)."""

    name: str
    customer_class: str
    kind: str = ""
    phone: str = ""
    address: str = ""
    site: Point | None = None
    brand: str = ""
    notes: str = ""


@dataclass(frozen=True)
class NewTicket:
    """What intake collected; the service layer adds repeat detection and timers."""

    customer_id: int
    fault: str
    hardware: bool
    major: bool
    brand: bool
    tool: bool
    brand_name: str = ""
    appointment_start: datetime | None = None
    appointment_end: datetime | None = None
    machine_id: int | None = None


@dataclass(frozen=True)
class TicketView:
    """One ticket with its customer, machine and technician, as cards and visits need it."""

    id: int
    state: str
    customer_id: int
    customer_name: str
    customer_class: str
    customer_kind: str
    site: Point | None
    address: str
    fault: str
    service_type: str
    appointment_start: datetime | None
    appointment_end: datetime | None
    assigned_to: int | None
    group_message_id: int | None
    customer_phone: str = ""
    major: bool = False
    brand: bool = False
    tool: bool = False
    repeat: bool = False
    pinned: bool = False
    brand_name: str = ""
    created_at: datetime | None = None
    technician_name: str | None = None
    technician_telegram_id: int | None = None
    technician_language: str | None = None
    assign_chat_id: int | None = None
    assign_message_id: int | None = None
    serial: str = ""
    purchase_date: date | None = None
    warranty_end: date | None = None

    @property
    def hardware(self) -> bool:
        return self.service_type == "hardware"

    @property
    def netcafe(self) -> bool:
        return self.customer_kind == "netcafe"


@dataclass(frozen=True)
class TechnicianStatus:
    """A technician's availability and load, for assignment suggestions."""

    person_id: int
    name: str
    telegram_id: int | None
    on_duty: bool
    leave_until: date | None
    last_location: Point | None
    open_tickets: int


@dataclass(frozen=True)
class Deadline:
    id: int
    kind: str
    ref_id: int
    due_at: datetime
    warn_at: datetime | None
    state: str
    warned_at: datetime | None = None
    fired_at: datetime | None = None


# Deadline kinds (docs/rules.md section 2 and the dispatch answer timer); ref_id is the ticket id.
SLA_RESPOND = "SLA-RESPOND"
SLA_ARRIVE = "SLA-ARRIVE"
SLA_TAKEBACK = "SLA-TAKEBACK"
SLA_SPARE = "SLA-SPARE"
DISPATCH_ACCEPT = "DISPATCH-ACCEPT"
# ALW-FORFEIT-UNREPORTED: a visit still open after sla.unreported_hours; ref_id is the visit id.
VISIT_UNREPORTED = "VISIT-UNREPORTED"
DEADLINE_KINDS = (
    SLA_RESPOND,
    SLA_ARRIVE,
    SLA_TAKEBACK,
    SLA_SPARE,
    DISPATCH_ACCEPT,
    VISIT_UNREPORTED,
)
