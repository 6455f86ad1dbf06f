"""Tickets and their recorded transitions (every state change goes through bot.domain.lifecycle)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import aiosqlite

from bot.domain import lifecycle, priority
from bot.domain.cards import VisitFacts
from bot.domain.dispatch_models import (
    DISPATCH_ACCEPT,
    SLA_ARRIVE,
    SLA_RESPOND,
    SLA_TAKEBACK,
    NewTicket,
    TechnicianStatus,
    TicketView,
    from_iso,
    to_iso,
)
from storage import deadlines

# Deadlines an event meets (the ticket's own promises, keyed by ticket id).
_MET_BY: dict[str, tuple[str, ...]] = {
    lifecycle.Event.ACCEPT: (DISPATCH_ACCEPT, SLA_RESPOND),
    lifecycle.Event.DECLINE: (DISPATCH_ACCEPT,),
    lifecycle.Event.TIMEOUT: (DISPATCH_ACCEPT,),
    lifecycle.Event.CHECK_IN: (SLA_ARRIVE,),
    lifecycle.Event.RETURN_MACHINE: (SLA_TAKEBACK,),  # the machine is back with the customer
}
_TICKET_DEADLINES = (DISPATCH_ACCEPT, SLA_RESPOND, SLA_ARRIVE, SLA_TAKEBACK)
# Events after which nobody is assigned any more.
_UNASSIGNING = frozenset({lifecycle.Event.DECLINE, lifecycle.Event.TIMEOUT})
OPEN_WORK_STATES = ("assigned", "accepted", "on_site", "taken_back")
QUEUE_STATES = ("new", "needs_revisit")
# A ticket in one of these was settled; the same fault again means it was reopened.
SETTLED_STATES = ("resolved", "closed", "resolved_by_phone", "at_station")
UNRESOLVED_OUTCOMES = ("unresolved", "revisit", "needs_revisit")


async def insert(
    conn: aiosqlite.Connection,
    ticket: NewTicket,
    *,
    repeat: bool,
    reopened_from: int | None,
    created_by: int | None,
    at: datetime,
) -> int:
    """Create a ticket in state new and record its first transition."""
    now = to_iso(at)
    cur = await conn.execute(
        "INSERT INTO tickets (customer_id, fault, service_type, major, brand, tool, repeat, "
        "appointment_start, appointment_end, state, created_by, created_at, updated_at, "
        "brand_name, machine_id, reopened_from) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            ticket.customer_id,
            ticket.fault,
            "hardware" if ticket.hardware else "software",
            int(ticket.major),
            int(ticket.brand),
            int(ticket.tool),
            int(repeat),
            to_iso(ticket.appointment_start) if ticket.appointment_start else None,
            to_iso(ticket.appointment_end) if ticket.appointment_end else None,
            lifecycle.State.NEW.value,
            created_by,
            now,
            now,
            ticket.brand_name,
            ticket.machine_id,
            reopened_from,
        ),
    )
    ticket_id = int(cur.lastrowid)
    await conn.execute(
        "INSERT INTO ticket_transitions (ticket_id, from_state, to_state, by_person, at, note) "
        "VALUES (?, NULL, ?, ?, ?, 'created')",
        (ticket_id, lifecycle.State.NEW.value, created_by, now),
    )
    return ticket_id


async def state_of(conn: aiosqlite.Connection, ticket_id: int) -> str | None:
    rows = await conn.execute_fetchall("SELECT state FROM tickets WHERE id = ?", (ticket_id,))
    row = rows[0] if rows else None
    return row[0] if row else None


async def transition(
    conn: aiosqlite.Connection,
    ticket_id: int,
    event: str,
    role: str,
    person_id: int | None,
    note: str = "",
    at: datetime | None = None,
) -> str:
    """Move a ticket by event (inside the caller's transaction), record who and when.

    Raises lifecycle.IllegalTransition (or RoleNotAllowed) and LookupError for an unknown
    ticket. Meets the ticket's own deadlines: accept meets DISPATCH-ACCEPT and SLA-RESPOND,
    decline/timeout DISPATCH-ACCEPT, check_in SLA-ARRIVE, a final state all of them (SLA-TAKEBACK
    included: closing or cancelling the ticket ends it). Entering needs_revisit sets repeat.
    Pass at=services.now() so tests can move time (default: the real clock).
    """
    state = await state_of(conn, ticket_id)
    if state is None:
        raise LookupError(f"no ticket {ticket_id}")
    target = lifecycle.apply(state, event, role)
    when = to_iso(at or datetime.now(UTC))
    unassign = ", assigned_to = NULL" if event in _UNASSIGNING else ""
    # PRI-SCORE: back in the queue after its own unresolved visit, the ticket is a repeat.
    repeat = ", repeat = 1" if target == lifecycle.State.NEEDS_REVISIT else ""
    cur = await conn.execute(
        f"UPDATE tickets SET state = ?, updated_at = ?{unassign}{repeat} WHERE id = ? AND state = ?",
        (target, when, ticket_id, state),
    )
    if cur.rowcount != 1:  # changed under us: report it as the illegal step it now is
        raise lifecycle.IllegalTransition(state, event, "the ticket changed meanwhile")
    await conn.execute(
        "INSERT INTO ticket_transitions (ticket_id, from_state, to_state, by_person, at, note) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (ticket_id, state, target, person_id, when, note),
    )
    met = _TICKET_DEADLINES if lifecycle.is_final(target) else _MET_BY.get(event, ())
    for kind in met:
        await deadlines.complete(conn, kind, ticket_id)
    return target


async def set_assignee(conn: aiosqlite.Connection, ticket_id: int, person_id: int | None) -> None:
    await conn.execute("UPDATE tickets SET assigned_to = ? WHERE id = ?", (person_id, ticket_id))


async def set_assign_message(
    conn: aiosqlite.Connection, ticket_id: int, chat_id: int, message_id: int
) -> None:
    """Where the technician's dispatch card is, so Accept can edit it."""
    await conn.execute(
        "UPDATE tickets SET assign_chat_id = ?, assign_message_id = ? WHERE id = ?",
        (chat_id, message_id, ticket_id),
    )


async def set_group_message(conn: aiosqlite.Connection, ticket_id: int, message_id: int) -> None:
    await conn.execute(
        "UPDATE tickets SET group_message_id = ? WHERE id = ?", (message_id, ticket_id)
    )


async def set_pinned(conn: aiosqlite.Connection, ticket_id: int, pinned: bool) -> None:
    await conn.execute("UPDATE tickets SET pinned = ? WHERE id = ?", (int(pinned), ticket_id))


_VIEW_SQL = (
    "SELECT t.*, c.name AS customer_name, c.class AS customer_class, c.kind AS customer_kind, "
    "c.lat, c.lon, c.address, c.phone, p.name AS technician_name, "
    "p.telegram_id AS technician_telegram_id, p.language AS technician_language, "
    "m.serial, m.purchase_date, m.warranty_end "
    "FROM tickets t JOIN customers c ON c.id = t.customer_id "
    "LEFT JOIN people p ON p.id = t.assigned_to "
    "LEFT JOIN machines m ON m.id = t.machine_id "
)


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _view(row: aiosqlite.Row) -> TicketView:
    site = (row["lat"], row["lon"]) if row["lat"] is not None and row["lon"] is not None else None
    return TicketView(
        id=row["id"],
        state=row["state"],
        customer_id=row["customer_id"],
        customer_name=row["customer_name"],
        customer_class=row["customer_class"],
        customer_kind=row["customer_kind"],
        site=site,
        address=row["address"],
        fault=row["fault"],
        service_type=row["service_type"],
        appointment_start=from_iso(row["appointment_start"]),
        appointment_end=from_iso(row["appointment_end"]),
        assigned_to=row["assigned_to"],
        group_message_id=row["group_message_id"],
        customer_phone=row["phone"],
        major=bool(row["major"]),
        brand=bool(row["brand"]),
        tool=bool(row["tool"]),
        repeat=bool(row["repeat"]),
        pinned=bool(row["pinned"]),
        brand_name=row["brand_name"],
        created_at=from_iso(row["created_at"]),
        technician_name=row["technician_name"],
        technician_telegram_id=row["technician_telegram_id"],
        technician_language=row["technician_language"],
        assign_chat_id=row["assign_chat_id"],
        assign_message_id=row["assign_message_id"],
        serial=row["serial"] or "",
        purchase_date=_date(row["purchase_date"]),
        warranty_end=_date(row["warranty_end"]),
    )


async def ticket_for_visit(conn: aiosqlite.Connection, ticket_id: int) -> TicketView | None:
    """The ticket with its customer, machine and technician; None if there is no such ticket."""
    rows = await conn.execute_fetchall(_VIEW_SQL + "WHERE t.id = ?", (ticket_id,))
    row = rows[0] if rows else None
    return _view(row) if row else None


get = ticket_for_visit


async def in_states(conn: aiosqlite.Connection, states: tuple[str, ...]) -> list[TicketView]:
    """Tickets in these states, oldest first."""
    marks = ",".join("?" * len(states))
    rows = await conn.execute_fetchall(
        _VIEW_SQL + f"WHERE t.state IN ({marks}) ORDER BY t.created_at, t.id", states
    )
    return [_view(row) for row in rows]


_FACTOR_MASK = (  # bits in the order of priority.FACTORS; in SQL, | and << bind alike
    "(t.tool != 0) | ((t.major != 0) << 1) | ((t.repeat != 0) << 2) "
    "| ((t.service_type = 'hardware') << 3) | ((t.brand != 0) << 4)"
)


async def queue_count(conn: aiosqlite.Connection, states: tuple[str, ...]) -> int:
    rows = await conn.execute_fetchall(
        f"SELECT COUNT(*) FROM tickets WHERE state IN ({','.join('?' * len(states))})", states
    )
    return int(rows[0][0])


async def queue_page(
    conn: aiosqlite.Connection,
    states: tuple[str, ...],
    scoring: priority.SqlScoring,
    now: datetime,
    offset: int,
    limit: int,
) -> list[tuple[int, str, bool, datetime, datetime | None, int, float, float]]:
    """One page of the queue ranked by PRI-SCORE inside the database, in one query:
    (id, class, pinned, created_at, SLA-RESPOND due, factor mask, total, ageing points).

    The same arithmetic as priority.rank() on the same values (instants are stored in whole
    seconds, so their epoch seconds are exact here as there): pinned first, then the score,
    then older, then lower id. A test holds the two to the same order and totals."""
    base = ",".join(["(?, ?, ?)"] * len(scoring.base))
    marks = ",".join("?" * len(states))
    sql = (
        f"WITH base (class, mask, value) AS (VALUES {base}), "
        "q AS (SELECT t.id, c.class, t.pinned != 0 AS pinned, t.created_at, d.due_at, "
        f"{_FACTOR_MASK} AS mask, "
        "CAST(strftime('%s', t.created_at) AS INTEGER) AS created_ts, "
        "CAST(strftime('%s', d.due_at) AS INTEGER) - CAST(strftime('%s', t.created_at) AS INTEGER)"
        " AS window_s "
        "FROM tickets t JOIN customers c ON c.id = t.customer_id "
        "LEFT JOIN deadlines d ON d.kind = ? AND d.ref_id = t.id AND d.state = 'pending' "
        f"WHERE t.state IN ({marks})), "
        "a AS (SELECT q.*, ? - created_ts AS elapsed, COALESCE(window_s, ?) AS span FROM q), "
        "s AS (SELECT a.*, CASE WHEN elapsed <= 0 THEN 0.0 WHEN elapsed >= span THEN ? "
        "ELSE ? * elapsed / span END AS aged FROM a) "
        "SELECT s.id, s.class, s.pinned, s.created_at, s.due_at, s.mask, b.value + s.aged, s.aged "
        "FROM s JOIN base b ON b.class = s.class AND b.mask = s.mask "
        "ORDER BY s.pinned DESC, b.value + s.aged DESC, s.created_ts, s.id LIMIT ? OFFSET ?"
    )
    params = (
        *(value for row in scoring.base for value in row),
        SLA_RESPOND,
        *states,
        now.timestamp(),
        scoring.default_window_s,
        scoring.ageing_max,
        scoring.ageing_max,
        limit,
        offset,
    )
    rows = await conn.execute_fetchall(sql, params)
    return [(r[0], r[1], r[2] != 0, from_iso(r[3]), from_iso(r[4]), r[5], r[6], r[7]) for r in rows]


async def queue_entries(
    conn: aiosqlite.Connection, states: tuple[str, ...]
) -> list[tuple[int, str, bool, datetime, datetime | None, int]]:
    """What ranking needs of every ticket in these states, in one indexed query:
    (id, class, pinned, created_at, SLA-RESPOND due, PRI-ADJ factor mask as priority.FACTORS)."""
    marks = ",".join("?" * len(states))
    async with conn.execute(
        f"SELECT t.id, c.class, t.pinned, t.created_at, d.due_at, {_FACTOR_MASK} "
        "FROM tickets t JOIN customers c ON c.id = t.customer_id "
        "LEFT JOIN deadlines d ON d.kind = ? AND d.ref_id = t.id AND d.state = 'pending' "
        f"WHERE t.state IN ({marks})",
        (SLA_RESPOND, *states),
    ) as cur:
        rows = await cur.fetchall()
    return [(r[0], r[1], r[2] != 0, from_iso(r[3]), from_iso(r[4]), r[5]) for r in rows]


async def views_by_ids(conn: aiosqlite.Connection, ids: list[int]) -> dict[int, TicketView]:
    """These tickets' views in one query, by id."""
    if not ids:
        return {}
    rows = await conn.execute_fetchall(
        _VIEW_SQL + f"WHERE t.id IN ({','.join('?' * len(ids))})", ids
    )
    return {row["id"]: _view(row) for row in rows}


async def open_work_of(conn: aiosqlite.Connection, person_id: int) -> list[TicketView]:
    """A technician's open tickets (assigned, accepted, on site, taken back), oldest first."""
    marks = ",".join("?" * len(OPEN_WORK_STATES))
    rows = await conn.execute_fetchall(
        _VIEW_SQL + f"WHERE t.assigned_to = ? AND t.state IN ({marks}) ORDER BY t.created_at, t.id",
        (person_id, *OPEN_WORK_STATES),
    )
    return [_view(row) for row in rows]


async def transitions_of(conn: aiosqlite.Connection, ticket_id: int) -> list[aiosqlite.Row]:
    rows = await conn.execute_fetchall(
        "SELECT * FROM ticket_transitions WHERE ticket_id = ? ORDER BY id", (ticket_id,)
    )
    return list(rows)


async def repeat_evidence(
    conn: aiosqlite.Connection, customer_id: int
) -> tuple[list[datetime], list[tuple[int, str, datetime]]]:
    """PRI-SCORE repeat inputs: when this customer's visits ended unresolved, and their
    settled tickets' (id, fault, when settled) to compare faults with."""
    unresolved: list[datetime] = []
    rows = await conn.execute_fetchall(
        "SELECT tr.at FROM ticket_transitions tr JOIN tickets t ON t.id = tr.ticket_id "
        "WHERE t.customer_id = ? AND tr.to_state = 'needs_revisit'",
        (customer_id,),
    )
    unresolved += [m for (text,) in rows if (m := from_iso(text))]
    marks = ",".join("?" * len(UNRESOLVED_OUTCOMES))
    rows = await conn.execute_fetchall(
        "SELECT v.check_out_at FROM visits v JOIN tickets t ON t.id = v.ticket_id "
        f"WHERE t.customer_id = ? AND v.outcome IN ({marks}) AND v.check_out_at IS NOT NULL",
        (customer_id, *UNRESOLVED_OUTCOMES),
    )
    unresolved += [m for (text,) in rows if (m := from_iso(text))]
    marks = ",".join("?" * len(SETTLED_STATES))
    rows = await conn.execute_fetchall(
        f"SELECT id, fault, updated_at FROM tickets WHERE customer_id = ? AND state IN ({marks}) "
        "ORDER BY id",
        (customer_id, *SETTLED_STATES),
    )
    earlier = [(row[0], row[1], m) for row in rows if (m := from_iso(row[2]))]
    return unresolved, earlier


async def technicians(conn: aiosqlite.Connection) -> list[TechnicianStatus]:
    """Every active technician with availability, last location and open workload."""
    marks = ",".join("?" * len(OPEN_WORK_STATES))
    rows = await conn.execute_fetchall(
        "SELECT p.id, p.name, p.telegram_id, p.on_duty, p.leave_until, p.last_lat, p.last_lon, "
        f"(SELECT count(*) FROM tickets t WHERE t.assigned_to = p.id AND t.state IN ({marks})) "
        "AS open_tickets FROM people p WHERE p.role = 'technician' AND p.active = 1 "
        "ORDER BY p.name, p.id",
        OPEN_WORK_STATES,
    )
    rows = rows
    return [
        TechnicianStatus(
            person_id=row["id"],
            name=row["name"],
            telegram_id=row["telegram_id"],
            on_duty=bool(row["on_duty"]),
            leave_until=_date(row["leave_until"]),
            last_location=(row["last_lat"], row["last_lon"])
            if row["last_lat"] is not None and row["last_lon"] is not None
            else None,
            open_tickets=row["open_tickets"],
        )
        for row in rows
    ]


async def set_on_duty(conn: aiosqlite.Connection, person_id: int, on_duty: bool) -> None:
    await conn.execute("UPDATE people SET on_duty = ? WHERE id = ?", (int(on_duty), person_id))


async def set_leave(conn: aiosqlite.Connection, person_id: int, until: date | None) -> None:
    await conn.execute(
        "UPDATE people SET leave_until = ? WHERE id = ?",
        (until.isoformat() if until else None, person_id),
    )


async def latest_visit(conn: aiosqlite.Connection, ticket_id: int) -> VisitFacts | None:
    """Check-in, check-out, outcome and slip satisfaction of the ticket's latest visit."""
    rows = await conn.execute_fetchall(
        "SELECT v.check_in_at, v.offsite, v.check_out_at, v.outcome, s.satisfaction, v.id "
        "FROM visits v LEFT JOIN slips s ON s.visit_id = v.id "
        "WHERE v.ticket_id = ? ORDER BY v.id DESC LIMIT 1",
        (ticket_id,),
    )
    row = rows[0] if rows else None
    if row is None:
        return None
    flag_rows = await conn.execute_fetchall(
        "SELECT detail FROM visit_flags WHERE visit_id = ? ORDER BY stage = 'out', id", (row[5],)
    )
    return VisitFacts(
        check_in_at=from_iso(row[0]),
        offsite=bool(row[1]),
        check_out_at=from_iso(row[2]),
        outcome=row[3],
        satisfaction=row[4],
        flags=tuple(r[0] for r in flag_rows),
    )
