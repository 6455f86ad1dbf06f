"""Visits (check-in, live points, check-out) and the slip each closed visit carries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import aiosqlite

from bot.domain import evidence
from bot.domain.visits import LocationReport, SiteCheck


@dataclass(frozen=True)
class VisitRow:
    id: int
    ticket_id: int | None
    technician_id: int
    state: str  # planned | open | closed
    check_in_at: datetime | None
    check_out_at: datetime | None
    check_in_message_id: int | None
    live: bool
    late_notice_at: datetime | None
    late_new_time: datetime | None
    offsite: bool
    no_dispatch: bool
    evidence: str | None
    outcome: str | None


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _visit(row: aiosqlite.Row) -> VisitRow:
    return VisitRow(
        id=row["id"],
        ticket_id=row["ticket_id"],
        technician_id=row["technician_id"],
        state=row["state"],
        check_in_at=_when(row["check_in_at"]),
        check_out_at=_when(row["check_out_at"]),
        check_in_message_id=row["check_in_message_id"],
        live=bool(row["live"]),
        late_notice_at=_when(row["late_notice_at"]),
        late_new_time=_when(row["late_new_time"]),
        offsite=bool(row["offsite"]),
        no_dispatch=bool(row["no_dispatch"]),
        evidence=row["check_in_evidence"],
        outcome=row["outcome"],
    )


async def by_id(conn: aiosqlite.Connection, visit_id: int) -> VisitRow | None:
    rows = await conn.execute_fetchall("SELECT * FROM visits WHERE id = ?", (visit_id,))
    return _visit(rows[0]) if rows else None


async def current_for_ticket(conn: aiosqlite.Connection, ticket_id: int) -> VisitRow | None:
    """The ticket's visit that is planned or open (at most one)."""
    rows = await conn.execute_fetchall(
        "SELECT * FROM visits WHERE ticket_id = ? AND state IN ('planned', 'open') ORDER BY id DESC",
        (ticket_id,),
    )
    return _visit(rows[0]) if rows else None


async def open_for_technician(conn: aiosqlite.Connection, technician_id: int) -> list[VisitRow]:
    rows = await conn.execute_fetchall(
        "SELECT * FROM visits WHERE technician_id = ? AND state = 'open' ORDER BY id",
        (technician_id,),
    )
    return [_visit(row) for row in rows]


async def plan_late(
    conn: aiosqlite.Connection,
    ticket_id: int,
    technician_id: int,
    at: datetime,
    new_time: datetime,
    told_by: str,
) -> int:
    """Record "I will be late" on the ticket's coming visit (creating it as planned)."""
    current = await current_for_ticket(conn, ticket_id)
    if current is not None:
        await conn.execute(
            "UPDATE visits SET late_notice_at = ?, late_new_time = ?, late_told_by = ? WHERE id = ?",
            (at.isoformat(), new_time.isoformat(), told_by, current.id),
        )
        return current.id
    cur = await conn.execute(
        "INSERT INTO visits (ticket_id, technician_id, late_notice_at, late_new_time,"
        " late_told_by, state) VALUES (?, ?, ?, ?, ?, 'planned')",
        (ticket_id, technician_id, at.isoformat(), new_time.isoformat(), told_by),
    )
    return int(cur.lastrowid)


async def check_in(
    conn: aiosqlite.Connection,
    ticket_id: int | None,
    technician_id: int,
    at: datetime,
    report: LocationReport,
    check: SiteCheck,
    message_id: int,
    planned: VisitRow | None = None,
) -> int:
    """Open the visit with its check-in evidence; returns the visit id.

    planned is the ticket's visit created by a late notice, if the caller found one: it is
    opened instead of a new one.
    """
    values = (
        at.isoformat(),
        report.lat,
        report.lon,
        report.accuracy_m,
        check.distance_m,
        check.evidence.value,
        message_id,
        int(check.offsite),
        int(ticket_id is None),
        int(report.live),
    )
    if planned is not None and planned.state == "planned":
        await conn.execute(
            "UPDATE visits SET check_in_at = ?, check_in_lat = ?, check_in_lon = ?,"
            " check_in_accuracy = ?, check_in_distance_m = ?, check_in_evidence = ?,"
            " check_in_message_id = ?, offsite = ?, no_dispatch = ?, live = ?, state = 'open'"
            " WHERE id = ?",
            (*values, planned.id),
        )
        return planned.id
    cur = await conn.execute(
        "INSERT INTO visits (ticket_id, technician_id, check_in_at, check_in_lat, check_in_lon,"
        " check_in_accuracy, check_in_distance_m, check_in_evidence, check_in_message_id, offsite,"
        " no_dispatch, live, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open')",
        (ticket_id, technician_id, *values),
    )
    return int(cur.lastrowid)


async def live_visit(
    conn: aiosqlite.Connection, technician_id: int, message_id: int
) -> VisitRow | None:
    """The open visit whose check-in was this live-location message."""
    rows = await conn.execute_fetchall(
        "SELECT * FROM visits WHERE technician_id = ? AND check_in_message_id = ? AND state = 'open'",
        (technician_id, message_id),
    )
    return _visit(rows[0]) if rows else None


async def add_live_point(
    conn: aiosqlite.Connection,
    visit_id: int,
    lat: float,
    lon: float,
    accuracy: float | None,
    at: datetime,
    update_id: int | None,
) -> bool:
    """Keep one live-location update; False when this update was kept before."""
    cur = await conn.execute(
        "INSERT INTO live_points (visit_id, lat, lon, accuracy, at, update_id)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (update_id) DO NOTHING",
        (visit_id, lat, lon, accuracy, at.isoformat(), update_id),
    )
    return cur.rowcount == 1


@dataclass(frozen=True)
class CheckOut:
    at: datetime
    lat: float
    lon: float
    distance_m: float | None
    outcome: str  # resolved | revisit | taken_back
    reason: str
    service_type: str
    machine: str
    consult_over: bool
    fee_fen: int
    parts_fen: int
    accuracy_m: float | None = None
    evidence: str | None = None


async def check_out(conn: aiosqlite.Connection, visit_id: int, out: CheckOut) -> bool:
    """Close an open visit; False when it was closed already (a double tap)."""
    cur = await conn.execute(
        "UPDATE visits SET check_out_at = ?, check_out_lat = ?, check_out_lon = ?,"
        " check_out_distance_m = ?, outcome = ?, outcome_reason = ?, service_type = ?, machine = ?,"
        " consult_over = ?, fee_fen = ?, parts_fen = ?, check_out_accuracy = ?,"
        " check_out_evidence = ?, state = 'closed'"
        " WHERE id = ? AND state = 'open'",
        (
            out.at.isoformat(),
            out.lat,
            out.lon,
            out.distance_m,
            out.outcome,
            out.reason,
            out.service_type,
            out.machine,
            int(out.consult_over),
            out.fee_fen,
            out.parts_fen,
            out.accuracy_m,
            out.evidence,
            visit_id,
        ),
    )
    return cur.rowcount == 1


async def add_flag(conn: aiosqlite.Connection, visit_id: int, flag: str) -> None:
    await conn.execute("UPDATE visits SET flags = flags || ? WHERE id = ?", (f"{flag};", visit_id))


async def add_flags(
    conn: aiosqlite.Connection,
    visit_id: int,
    stage: str,
    flags: Sequence[evidence.Flag],
    at: datetime,
) -> None:
    """Record a check-in's or check-out's doubts (at most one row per kind and stage)."""
    for flag in flags:
        await conn.execute(
            "INSERT INTO visit_flags (visit_id, stage, code, detail, created_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (visit_id, stage, code) DO NOTHING",
            (visit_id, stage, flag.code.value, flag.encode(), at.isoformat()),
        )


async def flags_of(conn: aiosqlite.Connection, visit_id: int) -> list[evidence.Flag]:
    """The visit's flags, check-in's first."""
    rows = await conn.execute_fetchall(
        "SELECT detail FROM visit_flags WHERE visit_id = ? ORDER BY stage = 'out', id",
        (visit_id,),
    )
    return [flag for row in rows if (flag := evidence.Flag.decode(row[0])) is not None]


async def set_live_until(conn: aiosqlite.Connection, visit_id: int, until: datetime) -> None:
    await conn.execute(
        "UPDATE visits SET live_until = ? WHERE id = ?", (until.isoformat(), visit_id)
    )


async def live_until(conn: aiosqlite.Connection, visit_id: int) -> datetime | None:
    """When the check-in's live share was due to end, if it had an end."""
    rows = await conn.execute_fetchall("SELECT live_until FROM visits WHERE id = ?", (visit_id,))
    return _when(rows[0][0]) if rows else None


async def track(conn: aiosqlite.Connection, visit_id: int) -> list[evidence.TrackPoint]:
    """A live visit's points: the check-in, then every kept live update, in time order."""
    rows = await conn.execute_fetchall(
        "SELECT check_in_at AS at, check_in_lat AS lat, check_in_lon AS lon,"
        " check_in_accuracy AS accuracy FROM visits WHERE id = ? AND live = 1"
        " AND check_in_lat IS NOT NULL"
        " UNION ALL SELECT at, lat, lon, accuracy FROM live_points WHERE visit_id = ?",
        (visit_id, visit_id),
    )
    points = [
        evidence.TrackPoint(datetime.fromisoformat(r["at"]), r["lat"], r["lon"], r["accuracy"])
        for r in rows
    ]
    return sorted(points, key=lambda p: p.at)


# --- the slip of a visit ----------------------------------------------------------------------


@dataclass(frozen=True)
class SlipRow:
    id: int
    visit_id: int | None
    technician_id: int
    customer_id: int
    check_in: datetime
    check_out: datetime
    service_type: str
    machine: str
    outcome: str | None
    satisfaction: str | None
    conduct_shoe_covers: bool | None
    conduct_no_eating: bool | None
    signature_file_id: str | None
    signature_sha256: str | None
    customer_verified: bool
    customer_token: str | None
    complete: bool


def _flag(value: int | None) -> bool | None:
    return None if value is None else bool(value)


def _slip(row: aiosqlite.Row) -> SlipRow:
    return SlipRow(
        id=row["id"],
        visit_id=row["visit_id"],
        technician_id=row["technician_id"],
        customer_id=row["customer_id"],
        check_in=datetime.fromisoformat(row["check_in"]),
        check_out=datetime.fromisoformat(row["check_out"]),
        service_type=row["service_type"],
        machine=row["machine"],
        outcome=row["outcome"],
        satisfaction=row["satisfaction"],
        conduct_shoe_covers=_flag(row["conduct_shoe_covers"]),
        conduct_no_eating=_flag(row["conduct_no_eating"]),
        signature_file_id=row["signature_file_id"],
        signature_sha256=row["signature_sha256"],
        customer_verified=bool(row["customer_verified"]),
        customer_token=row["customer_token"],
        complete=bool(row["complete"]),
    )


async def _slip_where(conn: aiosqlite.Connection, column: str, value: int | str) -> SlipRow | None:
    """The slip whose unique `column` (a fixed name, never user input) equals value."""
    rows = await conn.execute_fetchall(f"SELECT * FROM slips WHERE {column} = ?", (value,))
    return _slip(rows[0]) if rows else None


async def slip_for_visit(conn: aiosqlite.Connection, visit_id: int) -> SlipRow | None:
    return await _slip_where(conn, "visit_id", visit_id)


async def slip_by_id(conn: aiosqlite.Connection, slip_id: int) -> SlipRow | None:
    return await _slip_where(conn, "id", slip_id)


async def slip_by_token(conn: aiosqlite.Connection, token: str) -> SlipRow | None:
    return await _slip_where(conn, "customer_token", token)


async def set_satisfaction(
    conn: aiosqlite.Connection, slip_id: int, satisfaction: str, via: str, verified: bool
) -> bool:
    """The first answer wins: False when the slip already had one (nothing written)."""
    cur = await conn.execute(
        "UPDATE slips SET satisfaction = ?, confirmed_via = ?, customer_verified = ?"
        " WHERE id = ? AND satisfaction IS NULL",
        (satisfaction, via, int(verified), slip_id),
    )
    return cur.rowcount == 1


CONDUCT_COLUMNS = {"shoes": "conduct_shoe_covers", "eating": "conduct_no_eating"}


async def set_conduct(conn: aiosqlite.Connection, slip_id: int, item: str, ok: bool) -> bool:
    """The first answer to a CONDUCT point wins: False when it was answered before."""
    column = CONDUCT_COLUMNS[item]
    cur = await conn.execute(
        f"UPDATE slips SET {column} = ? WHERE id = ? AND {column} IS NULL", (int(ok), slip_id)
    )
    return cur.rowcount == 1


async def set_signature(
    conn: aiosqlite.Connection, slip_id: int, file_id: str, sha256: str
) -> None:
    await conn.execute(
        "UPDATE slips SET signature_file_id = ?, signature_sha256 = ? WHERE id = ?",
        (file_id, sha256, slip_id),
    )


async def set_complete(conn: aiosqlite.Connection, slip_id: int, complete: bool) -> None:
    await conn.execute("UPDATE slips SET complete = ? WHERE id = ?", (int(complete), slip_id))


async def slips_with_signature(
    conn: aiosqlite.Connection, sha256: str, other_than: int
) -> list[int]:
    rows = await conn.execute_fetchall(
        "SELECT id FROM slips WHERE signature_sha256 = ? AND id <> ? ORDER BY id",
        (sha256, other_than),
    )
    return [row[0] for row in rows]


# --- flagged visits, for the managers' review ---------------------------------------------------


@dataclass(frozen=True)
class FlaggedVisit:
    visit_id: int
    ticket_id: int | None
    technician_id: int
    technician: str
    check_in_at: datetime | None
    flags: tuple[str, ...]  # encoded, check-in's first
    resolution: str | None  # None while any flag is open; else accepted | penalized


async def flagged_between(
    conn: aiosqlite.Connection, start: datetime, end: datetime
) -> list[FlaggedVisit]:
    """Visits checked in within [start, end) that carry flags, oldest first."""
    rows = await conn.execute_fetchall(
        "SELECT v.id, v.ticket_id, v.technician_id, p.name, v.check_in_at, f.detail, f.resolution"
        " FROM visit_flags f JOIN visits v ON v.id = f.visit_id"
        " JOIN people p ON p.id = v.technician_id"
        " WHERE v.check_in_at >= ? AND v.check_in_at < ?"
        " ORDER BY v.check_in_at, v.id, f.stage = 'out', f.id",
        (start.isoformat(), end.isoformat()),
    )
    return _group_flagged(rows)


async def flagged_visit(conn: aiosqlite.Connection, visit_id: int) -> FlaggedVisit | None:
    rows = await conn.execute_fetchall(
        "SELECT v.id, v.ticket_id, v.technician_id, p.name, v.check_in_at, f.detail, f.resolution"
        " FROM visit_flags f JOIN visits v ON v.id = f.visit_id"
        " JOIN people p ON p.id = v.technician_id WHERE v.id = ? ORDER BY f.stage = 'out', f.id",
        (visit_id,),
    )
    found = _group_flagged(rows)
    return found[0] if found else None


def _group_flagged(rows: list[aiosqlite.Row]) -> list[FlaggedVisit]:
    grouped: dict[int, list[aiosqlite.Row]] = {}
    for row in rows:
        grouped.setdefault(row[0], []).append(row)
    result = []
    for visit_rows in grouped.values():
        first = visit_rows[0]
        resolutions = {r[6] for r in visit_rows}
        resolution = None if None in resolutions else sorted(resolutions)[-1]
        result.append(
            FlaggedVisit(
                visit_id=first[0],
                ticket_id=first[1],
                technician_id=first[2],
                technician=first[3],
                check_in_at=_when(first[4]),
                flags=tuple(r[5] for r in visit_rows),
                resolution=resolution,
            )
        )
    return result


async def resolve_flags(
    conn: aiosqlite.Connection, visit_id: int, resolution: str, by: int | None, at: datetime
) -> bool:
    """Settle a visit's open flags; False when none was open (a double tap)."""
    cur = await conn.execute(
        "UPDATE visit_flags SET resolution = ?, resolved_by = ?, resolved_at = ?"
        " WHERE visit_id = ? AND resolution IS NULL",
        (resolution, by, at.isoformat(), visit_id),
    )
    return cur.rowcount > 0


async def flags_of_slips_between(
    conn: aiosqlite.Connection, start: datetime, end: datetime
) -> dict[int, list[str]]:
    """Slip id -> its visit's encoded flags, for slips checked out in [start, end)."""
    rows = await conn.execute_fetchall(
        "SELECT s.id, f.detail FROM slips s JOIN visit_flags f ON f.visit_id = s.visit_id"
        " WHERE s.check_out_utc >= ? AND s.check_out_utc < ?"
        " ORDER BY s.id, f.stage = 'out', f.id",
        (
            start.astimezone(UTC).isoformat(timespec="seconds"),
            end.astimezone(UTC).isoformat(timespec="seconds"),
        ),
    )
    found: dict[int, list[str]] = {}
    for slip_id, detail in rows:
        found.setdefault(slip_id, []).append(detail)
    return found
