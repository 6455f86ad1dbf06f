"""`fieldbot import-customers FILE.csv`: customers and their machines, all-or-nothing,
line-precise errors, idempotent by customer name (and machine serial)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from bot.config import Config
from bot.domain.dispatch_models import Customer, NewCustomer
from bot.domain.geo import SYSTEMS, to_wgs84
from bot.domain.models import CUSTOMER_CLASSES
from bot.domain.service_mode import warranty_end
from bot.services.dispatching import CUSTOMER_KINDS
from bot.services.imports import (
    ImportError_,
    ImportResult,
    _choice,
    _degrees,
    _read_rows,
    _required,
    _RowError,
)
from storage import customers
from storage.db import Database

CUSTOMER_COLUMNS = (
    "name",
    "phone",
    "class",
    "kind",
    "address",
    "lat",
    "lon",
    "coordinate_system",
    "brand",
    "notes",
    "serial",
    "purchase_date",
    "warranty_end",
)


@dataclass(frozen=True)
class _Machine:
    serial: str
    brand: str
    purchase_date: date | None
    warranty_end: date | None


@dataclass(frozen=True)
class _CustomerRow:
    line: int
    customer: NewCustomer
    machine: _Machine | None


def _site(row: dict[str, str]) -> tuple[float, float] | None:
    if not row["lat"] and not row["lon"]:
        return None
    if not row["lat"] or not row["lon"]:
        column = "lat" if not row["lat"] else "lon"
        raise _RowError(column, "lat and lon go together")
    system = row.get("coordinate_system", "") or "wgs84"
    if system not in SYSTEMS:
        raise _RowError("coordinate_system", f"{system!r} is not one of {', '.join(SYSTEMS)}")
    return to_wgs84(_degrees(row, "lat", 90), _degrees(row, "lon", 180), system)


def _day(row: dict[str, str], column: str) -> date | None:
    value = row.get(column, "")
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _RowError(column, f"{value!r} is not an ISO date like 2026-03-15") from None


def _parse(row: dict[str, str], config: Config) -> tuple[NewCustomer, _Machine | None]:
    name = _required(row, "name")
    customer_class = _choice(row, "class", CUSTOMER_CLASSES)
    kind = _choice(row, "kind", CUSTOMER_KINDS.get(customer_class, ("",)))
    customer = NewCustomer(
        name=name,
        customer_class=customer_class,
        kind=kind,
        phone=row.get("phone", ""),
        address=row.get("address", ""),
        site=_site(row),
        brand=row.get("brand", ""),
        notes=row.get("notes", ""),
    )
    purchased = _day(row, "purchase_date")
    ends = _day(row, "warranty_end")
    serial = row.get("serial", "")
    if not serial:
        if purchased or ends:
            raise _RowError("serial", "is needed to keep purchase_date or warranty_end")
        return customer, None
    if ends is None and purchased is not None:
        ends = warranty_end(purchased, config.warranty_months)
    if purchased and ends and ends <= purchased:
        raise _RowError("warranty_end", "is not after purchase_date")
    return customer, _Machine(serial, customer.brand, purchased, ends)


async def import_customers(db: Database, config: Config, path: str | Path) -> ImportResult:
    """Load a customers CSV; raises ImportError_ listing every bad row, writing nothing."""
    path = Path(path)
    errors: list[str] = []
    parsed: list[_CustomerRow] = []
    first_line: dict[str, _CustomerRow] = {}
    for line, row in _read_rows(path, CUSTOMER_COLUMNS):
        try:
            customer, machine = _parse(row, config)
        except _RowError as exc:
            errors.append(f"{path}:{line}: {exc.column}: {exc.reason}")
            continue
        earlier = first_line.get(customer.name)
        if earlier is not None and earlier.customer != customer:
            errors.append(
                f"{path}:{line}: name: same customer as line {earlier.line} with other details"
            )
            continue
        item = _CustomerRow(line, customer, machine)
        first_line.setdefault(customer.name, item)
        parsed.append(item)
    if errors:
        raise ImportError_(errors)
    result = ImportResult()
    async with db.transaction() as conn:
        done: set[str] = set()
        for item in parsed:
            changed = False
            if item.customer.name not in done:
                done.add(item.customer.name)
                existing = await customers.by_name(conn, item.customer.name)
                if existing is None:
                    await customers.insert(conn, item.customer)
                    changed = True
                elif _as_new(existing) != item.customer:
                    await customers.update(conn, existing.id, item.customer)
                    changed = True
            customer_id = await customers.id_by_name(conn, item.customer.name)
            assert customer_id is not None
            if item.machine is not None:
                _, machine_changed = await customers.upsert_machine(
                    conn,
                    customer_id,
                    item.machine.serial,
                    item.machine.brand,
                    item.machine.purchase_date,
                    item.machine.warranty_end,
                )
                changed = changed or machine_changed
            if changed:
                result.added += 1
            else:
                result.unchanged += 1
    return result


def _as_new(customer: Customer) -> NewCustomer:
    return NewCustomer(
        name=customer.name,
        customer_class=customer.customer_class,
        kind=customer.kind,
        phone=customer.phone,
        address=customer.address,
        site=customer.site,
        brand=customer.brand,
        notes=customer.notes,
    )
