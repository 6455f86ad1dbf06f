"""Slips and recorded events: what the monthly statements are computed from."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, tzinfo

import aiosqlite

from bot.domain.models import RecordedEvent, Slip
from storage.db import utcnow_iso


@dataclass(frozen=True)
class NewSlip:
    technician_id: int
    customer_id: int
    customer_class: str
    netcafe: bool
    machine: str
    service_type: str
    check_in: datetime
    check_out: datetime
    site: tuple[float, float]
    distance_m: float
    complete: bool
    satisfaction: str | None
    revenue_fen: int = 0
    visit_id: int | None = None
    signature_file_id: str | None = None
    signature_sha256: str | None = None
    customer_verified: bool = False
    source: str = "visit"
    outcome: str | None = None  # resolved | revisit | taken_back (a visit's slip)
    customer_token: str | None = None  # the deep link that lets the customer confirm it

    def comparable(self) -> tuple:
        """The values an identical re-import must match (distance is derived, so excluded)."""
        return (
            self.customer_class,
            self.netcafe,
            self.machine,
            self.service_type,
            self.check_out,
            round(self.site[0], 6),
            round(self.site[1], 6),
            self.complete,
            self.satisfaction,
            self.revenue_fen,
        )


@dataclass(frozen=True)
class NewEvent:
    technician_id: int | None  # None = all station staff
    rule: str
    day: date
    amount_fen: int | None
    note: str = ""
    slip_id: int | None = None
    recorded_by: int | None = None
    adjustment_of: str | None = None
    source_key: str | None = None


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


utc_text = _utc  # the stored form of a moment in UTC, as check_out_utc holds it


async def find_slip(
    conn: aiosqlite.Connection, technician_id: int, customer_id: int, check_in: datetime
) -> aiosqlite.Row | None:
    rows = await conn.execute_fetchall(
        "SELECT * FROM slips WHERE technician_id = ? AND customer_id = ? AND check_in = ?",
        (technician_id, customer_id, check_in.isoformat()),
    )
    return rows[0] if rows else None


def stored_comparable(row: aiosqlite.Row) -> tuple:
    return (
        row["customer_class"],
        bool(row["netcafe"]),
        row["machine"],
        row["service_type"],
        datetime.fromisoformat(row["check_out"]),
        round(row["site_lat"], 6),
        round(row["site_lon"], 6),
        bool(row["complete"]),
        row["satisfaction"],
        row["revenue_fen"],
    )


async def insert_slip(conn: aiosqlite.Connection, slip: NewSlip) -> int:
    cur = await conn.execute(
        "INSERT INTO slips (technician_id, customer_id, visit_id, customer_class, netcafe, machine,"
        " service_type, check_in, check_out, check_out_utc, site_lat, site_lon, distance_m,"
        " complete, satisfaction, revenue_fen, signature_file_id, signature_sha256,"
        " customer_verified, source, outcome, customer_token, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            slip.technician_id,
            slip.customer_id,
            slip.visit_id,
            slip.customer_class,
            int(slip.netcafe),
            slip.machine,
            slip.service_type,
            slip.check_in.isoformat(),
            slip.check_out.isoformat(),
            _utc(slip.check_out),
            slip.site[0],
            slip.site[1],
            slip.distance_m,
            int(slip.complete),
            slip.satisfaction,
            slip.revenue_fen,
            slip.signature_file_id,
            slip.signature_sha256,
            int(slip.customer_verified),
            slip.source,
            slip.outcome,
            slip.customer_token,
            utcnow_iso(),
        ),
    )
    return int(cur.lastrowid)


SLIP_COLUMNS = (
    "s.id, s.technician_id, s.customer_id, s.customer_class, s.netcafe, s.machine,"
    " s.service_type, s.check_in, s.check_out_utc, s.complete, s.satisfaction, s.distance_m,"
    " s.revenue_fen"
)
"""The columns a statement reads per slip; names come from two small lookups, not a join.

The check-out is read in UTC: the same moment, and every slip's then shares one tzinfo object,
which makes comparing and sorting them several times faster.
"""

MONTH_SLIPS = "FROM slips s WHERE s.check_out_utc >= ? AND s.check_out_utc < ?"

_tuple_new = tuple.__new__
_parse = datetime.fromisoformat


def slips_from_rows(
    rows: Iterable[tuple], technicians: dict[int, str], customers: dict[int, str]
) -> list[Slip]:
    """Slips from rows of SLIP_COLUMNS, the ids named through the two lookups.

    A month's statement reads every slip of the month, so the named tuples are built directly
    (Slip's own constructor takes keywords too; this is the same result, about twice as fast).
    """
    return [
        _tuple_new(
            Slip,
            (
                slip_id,
                technicians[technician_id],
                customers[customer_id],
                customer_class,
                bool(netcafe),
                machine,
                service_type,
                _parse(check_in),
                _parse(check_out),
                bool(complete),
                satisfaction,
                distance_m,
                revenue_fen,
            ),
        )
        for (
            slip_id,
            technician_id,
            customer_id,
            customer_class,
            netcafe,
            machine,
            service_type,
            check_in,
            check_out,
            complete,
            satisfaction,
            distance_m,
            revenue_fen,
        ) in rows
    ]


async def slips_between(
    conn: aiosqlite.Connection,
    start: datetime,
    end: datetime,
    technician: str | None = None,
    among: Iterable[str] | None = None,
) -> list[Slip]:
    """Slips checked out in [start, end), optionally of one technician or of those `among`."""
    which, params = MONTH_SLIPS, [_utc(start), _utc(end)]
    if technician is not None:
        which += " AND s.technician_id IN (SELECT id FROM people WHERE name = ?)"
        params.append(technician)
    if among is not None:
        names = sorted(set(among))
        marks = ", ".join("?" * len(names)) or "NULL"
        which += f" AND s.technician_id IN (SELECT id FROM people WHERE name IN ({marks}))"
        params.extend(names)
    technicians = dict(await conn.execute_fetchall("SELECT id, name FROM people"))
    customers = dict(
        await conn.execute_fetchall(
            f"SELECT id, name FROM customers WHERE id IN (SELECT s.customer_id {which})", params
        )
    )
    sql, bounds = f"SELECT {SLIP_COLUMNS} {which}", params
    rows = await conn.execute_fetchall(sql, bounds)
    return slips_from_rows(rows, technicians, customers)


async def insert_event(conn: aiosqlite.Connection, event: NewEvent) -> int | None:
    """Insert a recorded event; None when its source_key was imported before."""
    cur = await conn.execute(
        "INSERT INTO events (technician_id, rule, day, amount_fen, note, slip_id, recorded_by,"
        " recorded_at, adjustment_of, source_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (source_key) DO NOTHING",
        (
            event.technician_id,
            event.rule,
            event.day.isoformat(),
            event.amount_fen,
            event.note,
            event.slip_id,
            event.recorded_by,
            utcnow_iso(),
            event.adjustment_of,
            event.source_key,
        ),
    )
    return int(cur.lastrowid) if cur.rowcount == 1 else None


async def insert_shares(
    conn: aiosqlite.Connection, event_id: int, shares: Iterable[tuple[int, str, int]]
) -> None:
    """Store an all-staff event's shares: (person id, name, fen), in their split order."""
    await conn.executemany(
        "INSERT INTO event_shares (event_id, position, person_id, name, amount_fen)"
        " VALUES (?, ?, ?, ?, ?)",
        [(event_id, n, pid, name, fen) for n, (pid, name, fen) in enumerate(shares)],
    )


async def _with_shares(
    conn: aiosqlite.Connection, events: list[RecordedEvent]
) -> list[RecordedEvent]:
    """The events, each all-staff one carrying its stored shares."""
    wanted = [e.id for e in events if e.technician == "*"]
    if not wanted:
        return events
    shares: dict[int, list[tuple[str, int]]] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = await conn.execute_fetchall(
            "SELECT event_id, name, amount_fen FROM event_shares"
            f" WHERE event_id IN ({', '.join('?' * len(chunk))}) ORDER BY event_id, position",
            chunk,
        )
        for event_id, name, fen in rows:
            shares.setdefault(event_id, []).append((name, fen))
    return [replace(e, shares=tuple(shares[e.id])) if e.id in shares else e for e in events]


async def staff_on_record(conn: aiosqlite.Connection) -> list[tuple[int, str]]:
    """(id, name) of every active person holding a staff role: technician, dispatcher, manager."""
    rows = await conn.execute_fetchall(
        "SELECT id, name FROM people WHERE active = 1"
        " AND role IN ('technician', 'dispatcher', 'manager') ORDER BY id"
    )
    return [(row[0], row[1]) for row in rows]


async def slip_day_of(
    conn: aiosqlite.Connection, slip_id: int, tz: tzinfo
) -> tuple[str, date] | None:
    """(technician's name, local check-out day) of a slip, or None (SLIP-EVENT-MONTH)."""
    rows = await conn.execute_fetchall(
        "SELECT p.name, s.check_out FROM slips s JOIN people p ON p.id = s.technician_id"
        " WHERE s.id = ?",
        (slip_id,),
    )
    if not rows:
        return None
    return rows[0][0], datetime.fromisoformat(rows[0][1]).astimezone(tz).date()


def event_from_row(row: aiosqlite.Row) -> RecordedEvent:
    return RecordedEvent(
        id=row["id"],
        technician=row["technician"] if row["technician"] is not None else "*",
        rule=row["rule"],
        day=date.fromisoformat(row["day"]),
        amount_fen=row["amount_fen"],
        note=row["note"],
        slip_id=row["slip_id"],
        voided=bool(row["voided"]),
        adjustment_of=row["adjustment_of"],
    )


async def events_between(
    conn: aiosqlite.Connection, first: date, last: date, technician: str | None = None
) -> list[RecordedEvent]:
    """Events dated first..last inclusive (voided ones included, flagged)."""
    sql = (
        "SELECT e.*, p.name AS technician FROM events e LEFT JOIN people p ON p.id = e.technician_id"
        " WHERE e.day >= ? AND e.day <= ?"
    )
    params: list[object] = [first.isoformat(), last.isoformat()]
    if technician is not None:
        sql += " AND (p.name = ? OR e.technician_id IS NULL)"
        params.append(technician)
    rows = await conn.execute_fetchall(sql + " ORDER BY e.id", params)
    return await _with_shares(conn, [event_from_row(row) for row in rows])


async def event_by_id(conn: aiosqlite.Connection, event_id: int) -> RecordedEvent | None:
    rows = await conn.execute_fetchall(
        "SELECT e.*, p.name AS technician FROM events e LEFT JOIN people p ON p.id = e.technician_id"
        " WHERE e.id = ?",
        (event_id,),
    )
    return (await _with_shares(conn, [event_from_row(rows[0])]))[0] if rows else None


async def void_event(
    conn: aiosqlite.Connection, event_id: int, reason: str, by: int | None
) -> bool:
    cur = await conn.execute(
        "UPDATE events SET voided = 1, void_reason = ?, voided_by = ? WHERE id = ? AND voided = 0",
        (reason, by, event_id),
    )
    return cur.rowcount == 1


async def technician_names(conn: aiosqlite.Connection) -> list[str]:
    rows = await conn.execute_fetchall(
        "SELECT name FROM people WHERE role = 'technician' AND active = 1 ORDER BY name"
    )
    return [row[0] for row in rows]


async def arrivals_between(
    conn: aiosqlite.Connection, start: datetime, end: datetime, grace_minutes: int
) -> dict[str, tuple[int, int]]:
    """Per technician: (arrivals on time, arrivals with an appointment) checked in in [start, end)."""
    rows = await conn.execute_fetchall(
        "SELECT p.name, v.check_in_at, COALESCE(v.late_new_time, t.appointment_start)"
        " FROM visits v JOIN people p ON p.id = v.technician_id JOIN tickets t ON t.id = v.ticket_id"
        " WHERE v.check_in_at >= ? AND v.check_in_at < ? AND t.appointment_start IS NOT NULL",
        (_utc(start), _utc(end)),
    )
    result: dict[str, tuple[int, int]] = {}
    for name, check_in, due in rows:
        on_time, timed = result.get(name, (0, 0))
        late = datetime.fromisoformat(check_in) > datetime.fromisoformat(due) + timedelta(
            minutes=grace_minutes
        )
        result[name] = (on_time + (not late), timed + 1)
    return result
