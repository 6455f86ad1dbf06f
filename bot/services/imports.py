"""CSV imports of historical slips and recorded events: all-or-nothing, line-precise, idempotent."""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import aiosqlite

from bot.config import Config, yuan_to_fen
from bot.domain import payroll
from bot.domain.geo import geodesic_m
from bot.domain.models import CUSTOMER_CLASSES, MACHINE_KINDS, SATISFACTION, SERVICE_TYPES
from bot.services import corrections
from storage import customers, ledger, months, people
from storage.db import Database

SLIP_COLUMNS = (
    "technician",
    "customer",
    "customer_class",
    "netcafe",
    "machine",
    "service_type",
    "check_in",
    "check_out",
    "site_lat",
    "site_lon",
    "slip_complete",
    "satisfaction",
    "revenue",
)
EVENT_COLUMNS = ("technician", "date", "rule", "amount", "note")
ALL_STAFF = "*"


class ImportError_(Exception):
    """One or more bad rows; nothing was written."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass
class ImportResult:
    added: int = 0
    unchanged: int = 0
    notes: list[str] = field(default_factory=list)
    # ADJ-CLOSED: closed month -> how many of the added rows fall in it, and the open month
    # their difference was carried into
    adjusted: dict[str, int] = field(default_factory=dict)
    carried_into: dict[str, str] = field(default_factory=dict)


class _Closed:
    """The closed months an import's new rows fall in, and whose statements they touch."""

    def __init__(self) -> None:
        self.known: dict[str, bool] = {}
        self.touched: dict[str, set[str]] = {}

    async def add(
        self, conn: aiosqlite.Connection, result: ImportResult, month: str, names: set[str]
    ) -> None:
        """Count a new row of `month` when that month is closed."""
        if month not in self.known:
            self.known[month] = await months.closed(conn, month) is not None
        if not self.known[month]:
            return
        result.adjusted[month] = result.adjusted.get(month, 0) + 1
        self.touched.setdefault(month, set()).update(names)

    async def carry(
        self, conn: aiosqlite.Connection, config: Config, result: ImportResult, cause: str
    ) -> None:
        """Carry each touched closed month's difference into the first open month."""
        for month, names in sorted(self.touched.items()):
            carried = await corrections.carry(conn, config, month, names, cause)
            if carried is not None:
                result.carried_into[month] = carried[0]


class _RowError(Exception):
    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


def _read_rows(path: Path, required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ImportError_([f"{path}: file not found"]) from None
    except UnicodeDecodeError:
        raise ImportError_([f"{path}:1: file: not UTF-8 text"]) from None
    reader = csv.DictReader(text.splitlines())
    header = reader.fieldnames or []
    missing = [c for c in required if c not in header]
    if missing:
        raise ImportError_([f"{path}:1: {missing[0]}: missing column"])
    rows = []
    for row in reader:
        line = reader.line_num
        if None in row:
            raise ImportError_([f"{path}:{line}: row: more fields than the header has"])
        rows.append((line, {k: (v or "").strip() for k, v in row.items()}))
    return rows


def _choice(row: dict[str, str], column: str, choices: tuple[str, ...]) -> str:
    value = row.get(column, "")
    if value not in choices:
        raise _RowError(column, f"{value!r} is not one of {', '.join(choices)}")
    return value


def _flag(row: dict[str, str], column: str) -> bool:
    return _choice(row, column, ("0", "1")) == "1"


def _required(row: dict[str, str], column: str) -> str:
    value = row.get(column, "")
    if not value:
        raise _RowError(column, "is empty")
    return value


def _moment(row: dict[str, str], column: str) -> datetime:
    value = _required(row, column)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _RowError(
            column, f"{value!r} is not ISO 8601 like 2026-11-03T09:12:00+08:00"
        ) from None
    if moment.tzinfo is None:
        raise _RowError(column, "needs a UTC offset, e.g. +08:00")
    return moment


def _degrees(row: dict[str, str], column: str, limit: float) -> float:
    value = _required(row, column)
    try:
        number = float(value)
    except ValueError:
        raise _RowError(column, f"{value!r} is not a number") from None
    if not -limit <= number <= limit:
        raise _RowError(column, f"must be between -{limit:g} and {limit:g}")
    return number


def _money(row: dict[str, str], column: str) -> int | None:
    value = row.get(column, "")
    if not value:
        return None
    try:
        return yuan_to_fen(value)
    except ValueError as exc:
        raise _RowError(column, f"{value!r} {exc}") from None


@dataclass(frozen=True)
class _SlipRow:
    line: int
    technician: str
    customer: str
    slip: ledger.NewSlip  # technician_id / customer_id filled in at write time


def _parse_slip(row: dict[str, str], config: Config) -> tuple[str, str, ledger.NewSlip]:
    technician = _required(row, "technician")
    customer = _required(row, "customer")
    customer_class = _choice(row, "customer_class", CUSTOMER_CLASSES)
    netcafe = _flag(row, "netcafe")
    machine = _choice(row, "machine", MACHINE_KINDS)
    service_type = _choice(row, "service_type", SERVICE_TYPES)
    check_in = _moment(row, "check_in")
    check_out = _moment(row, "check_out")
    if check_out < check_in:
        raise _RowError("check_out", "is before check_in")
    site = (_degrees(row, "site_lat", 90), _degrees(row, "site_lon", 180))
    complete = _flag(row, "slip_complete")
    satisfaction = row.get("satisfaction", "") or None
    if satisfaction is not None and satisfaction not in SATISFACTION:
        raise _RowError(
            "satisfaction", f"{satisfaction!r} is not one of {', '.join(SATISFACTION)} or empty"
        )
    revenue = _money(row, "revenue") or 0
    slip = ledger.NewSlip(
        technician_id=0,
        customer_id=0,
        customer_class=customer_class,
        netcafe=netcafe,
        machine=machine,
        service_type=service_type,
        check_in=check_in,
        check_out=check_out,
        site=site,
        distance_m=geodesic_m(config.station_location, site),
        complete=complete,
        satisfaction=satisfaction,
        revenue_fen=revenue,
        source="import",
    )
    return technician, customer, slip


async def import_slips(db: Database, config: Config, path: str | Path) -> ImportResult:
    """Load a slips CSV; raises ImportError_ listing every bad row, writing nothing."""
    path = Path(path)
    errors: list[str] = []
    parsed: list[_SlipRow] = []
    seen: dict[tuple[str, str, datetime], _SlipRow] = {}
    for line, row in _read_rows(path, SLIP_COLUMNS):
        try:
            technician, customer, slip = _parse_slip(row, config)
        except _RowError as exc:
            errors.append(f"{path}:{line}: {exc.column}: {exc.reason}")
            continue
        item = _SlipRow(line, technician, customer, slip)
        key = (technician, customer, slip.check_in)
        earlier = seen.get(key)
        if earlier is not None:
            if earlier.slip.comparable() != slip.comparable():
                errors.append(
                    f"{path}:{line}: check_in: same technician, customer and check_in as line "
                    f"{earlier.line} with other values"
                )
            continue
        seen[key] = item
        parsed.append(item)
    if errors:
        raise ImportError_(errors)
    result = ImportResult()
    closed = _Closed()
    async with db.transaction() as conn:
        for item in parsed:
            technician_id = await people.ensure_technician(conn, item.technician)
            kind = "netcafe" if item.slip.netcafe else ""
            customer_id = await customers.ensure_customer(
                conn, item.customer, item.slip.customer_class, kind, item.slip.site
            )
            existing = await ledger.find_slip(conn, technician_id, customer_id, item.slip.check_in)
            if existing is not None:
                if ledger.stored_comparable(existing) != item.slip.comparable():
                    errors.append(
                        f"{path}:{item.line}: check_in: a slip with this technician, customer and "
                        "check_in already exists with other values"
                    )
                else:
                    result.unchanged += 1
                continue
            slip = ledger.NewSlip(
                **{**item.slip.__dict__, "technician_id": technician_id, "customer_id": customer_id}
            )
            await ledger.insert_slip(conn, slip)
            result.added += 1
            month = payroll.month_of(slip.check_out, config.tz)
            await closed.add(conn, result, month, {item.technician})
        if errors:
            raise ImportError_(errors)  # rolls the transaction back
        await closed.carry(conn, config, result, f"import of {path.name}")
    return result


def _event_key(row: dict[str, str], occurrence: int) -> str:
    fields = [row.get(c, "") for c in (*EVENT_COLUMNS, "slip_customer", "slip_check_in")]
    digest = hashlib.sha256("\x1f".join([*fields, str(occurrence)]).encode("utf-8"))
    return "import:" + digest.hexdigest()


@dataclass(frozen=True)
class _EventRow:
    line: int
    technician: str
    rule: str
    day: date
    amount_fen: int | None
    note: str
    slip_customer: str
    slip_check_in: datetime | None
    key: str


def _parse_event(row: dict[str, str], config: Config) -> tuple:
    technician = _required(row, "technician")
    rule = _required(row, "rule")
    info = payroll.EVENT_RULES.get(rule)
    if info is None:
        raise _RowError("rule", f"{rule!r} is not a rule a person records")
    if technician == ALL_STAFF and rule != "RMA-LOST":
        raise _RowError("technician", "'*' (all staff) is allowed only for RMA-LOST")
    value = _required(row, "date")
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise _RowError("date", f"{value!r} is not an ISO date like 2026-11-14") from None
    amount = _money(row, "amount")
    try:
        amount = payroll.validate_event_amount(rule, amount, config.rules)
    except ValueError as exc:
        raise _RowError("amount", str(exc)) from None
    slip_customer = row.get("slip_customer", "")
    slip_check_in = _moment(row, "slip_check_in") if row.get("slip_check_in") else None
    if bool(slip_customer) != (slip_check_in is not None):
        column = "slip_check_in" if slip_customer else "slip_customer"
        raise _RowError(column, "slip_customer and slip_check_in go together")
    if info.slip == payroll.REQUIRED and slip_check_in is None:
        raise _RowError("slip_customer", f"{rule} names the slip it concerns")
    if info.slip == payroll.NONE and slip_check_in is not None:
        raise _RowError("slip_customer", f"{rule} does not concern a single slip")
    if info.note_required and not row.get("note", ""):
        raise _RowError("note", f"{rule} needs a note saying what it is for")
    return technician, rule, day, amount, row.get("note", ""), slip_customer, slip_check_in


async def import_events(db: Database, config: Config, path: str | Path) -> ImportResult:
    """Load an events CSV; raises ImportError_ listing every bad row, writing nothing."""
    path = Path(path)
    errors: list[str] = []
    parsed: list[_EventRow] = []
    occurrences: Counter[tuple] = Counter()
    for line, row in _read_rows(path, EVENT_COLUMNS):
        try:
            technician, rule, day, amount, note, slip_customer, slip_check_in = _parse_event(
                row, config
            )
        except _RowError as exc:
            errors.append(f"{path}:{line}: {exc.column}: {exc.reason}")
            continue
        identity = tuple(sorted(row.items()))
        occurrences[identity] += 1
        parsed.append(
            _EventRow(
                line,
                technician,
                rule,
                day,
                amount,
                note,
                slip_customer,
                slip_check_in,
                _event_key(row, occurrences[identity]),
            )
        )
    if errors:
        raise ImportError_(errors)
    result = ImportResult()
    closed = _Closed()
    async with db.transaction() as conn:
        staff: list[tuple[int, str]] = []
        for item in parsed:
            technician_id = (
                None
                if item.technician == ALL_STAFF
                else await people.ensure_technician(conn, item.technician)
            )
            slip_id = None
            day = item.day
            if item.slip_check_in is not None:
                customer_id = await customers.id_by_name(conn, item.slip_customer)
                found = (
                    await ledger.find_slip(conn, technician_id, customer_id, item.slip_check_in)
                    if customer_id is not None and technician_id is not None
                    else None
                )
                if found is None:
                    errors.append(
                        f"{path}:{item.line}: slip_check_in: no such slip of this technician"
                    )
                    continue
                slip_id = found["id"]
                # SLIP-EVENT-MONTH: the event belongs to the slip's month, whatever its date
                day = datetime.fromisoformat(found["check_out"]).astimezone(config.tz).date()
            shares: tuple[tuple[str, int], ...] = ()
            if technician_id is None:
                staff = await ledger.staff_on_record(conn)  # as it is at this row
                shares = payroll.staff_shares(item.amount_fen or 0, [n for _, n in staff])
                if not shares:
                    errors.append(
                        f"{path}:{item.line}: technician: '*' (all station staff), but no "
                        "technician, dispatcher or manager is on record to share it"
                    )
                    continue
            inserted = await ledger.insert_event(
                conn,
                ledger.NewEvent(
                    technician_id=technician_id,
                    rule=item.rule,
                    day=day,
                    amount_fen=item.amount_fen,
                    note=item.note,
                    slip_id=slip_id,
                    source_key=item.key,
                ),
            )
            if inserted is None:
                result.unchanged += 1
                continue
            result.added += 1
            if shares:
                ids: dict[str, int] = {}
                for person_id, name in staff:
                    ids.setdefault(name, person_id)
                await ledger.insert_shares(
                    conn, inserted, [(ids[name], name, fen) for name, fen in shares]
                )
            names = {n for n, _ in shares} if shares else {item.technician}
            await closed.add(conn, result, day.strftime("%Y-%m"), names)
        if errors:
            raise ImportError_(errors)
        await closed.carry(conn, config, result, f"import of {path.name}")
    return result
