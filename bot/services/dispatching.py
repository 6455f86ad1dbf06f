"""Dispatch services: customers, intake with repeat detection, the ranked queue, suggestions,
assignment and the technician's answer. Every ticket change goes through bot.domain.lifecycle."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

import aiosqlite

from bot.domain import lifecycle, priority, service_mode
from bot.domain.calendar import ServiceCalendar
from bot.domain.cards import CardFacts, warranty_state
from bot.domain.dispatch_models import (
    DISPATCH_ACCEPT,
    SLA_ARRIVE,
    SLA_RESPOND,
    Deadline,
    NewCustomer,
    NewTicket,
    TechnicianStatus,
    TicketView,
)
from bot.domain.geo import geodesic_m
from bot.domain.intake import IntakeError, normalize_fault
from bot.domain.models import CUSTOMER_CLASSES
from bot.services import Services, notices, timers
from storage import customers, deadlines, people, ticket_warranty, tickets

M_PER_KM = 1000
PROMISE_KINDS = (SLA_RESPOND, SLA_ARRIVE, DISPATCH_ACCEPT)
CUSTOMER_KINDS = {"agent": ("county", "local"), "network": ("", "netcafe")}
MAX_LEAVE_DAYS = 366


class DispatchError(Exception):
    """A refused dispatch step: an i18n key and its placeholders; nothing was written."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


def check_customer(customer: NewCustomer) -> None:
    """Raise IntakeError for a customer record that cannot be stored."""
    if not customer.name.strip():
        raise IntakeError("dispatch.customer.name_empty")
    if customer.customer_class not in CUSTOMER_CLASSES:
        raise IntakeError("dispatch.customer.class_unknown", value=customer.customer_class)
    allowed = CUSTOMER_KINDS.get(customer.customer_class, ("",))
    if customer.kind not in allowed:
        raise IntakeError("dispatch.customer.kind_unknown", value=customer.kind)


async def create_customer(services: Services, customer: NewCustomer) -> int:
    """Store a new customer; the name must be new."""
    check_customer(customer)
    async with services.db.transaction() as conn:
        if await customers.id_by_name(conn, customer.name) is not None:
            raise DispatchError("dispatch.customer.exists", name=customer.name)
        return await customers.insert(conn, customer)


async def detect_repeat(
    conn: aiosqlite.Connection, customer_id: int, fault: str, now: datetime, window_days: int
) -> tuple[bool, int | None]:
    """PRI-SCORE "Repeat": (is it, the earlier ticket with the same fault if reopened)."""
    unresolved, earlier = await tickets.repeat_evidence(conn, customer_id)
    wanted = normalize_fault(fault)
    since = now - timedelta(days=window_days)
    same = [
        (ticket_id, moment)
        for ticket_id, text, moment in earlier
        if normalize_fault(text) == wanted and since <= moment <= now
    ]
    reopened = [moment for _, moment in same]
    is_repeat = priority.is_repeat(unresolved, reopened, now, window_days)
    return is_repeat, (same[-1][0] if same else None)


def arrive_due(
    services: Services, booked_at: datetime, appointment_end: datetime | None
) -> datetime:
    """SLA-ARRIVE: booking + arrive_hours (SLA-DAYS calendar), or the end of a later window.

    The clock starts when the ticket is booked; re-dispatch or a late acceptance never moves it.
    """
    sla = services.config.sla
    calendar = ServiceCalendar.from_config(sla, services.config.tz)
    due = calendar.deadline(booked_at, sla.arrive_hours, sla.arrive_working_hours_only)
    if appointment_end is not None and appointment_end > due:
        return appointment_end
    return due


async def open_ticket(
    services: Services,
    new: NewTicket,
    created_by: int | None,
    customer: NewCustomer | None = None,
) -> int:
    """Create a ticket (repeat detected, SLA-RESPOND and SLA-ARRIVE armed) in one transaction.

    With `customer`, that new customer is created in the same transaction (new.customer_id
    is then ignored), so an abandoned form never leaves a customer behind."""
    if not new.fault.strip():
        raise IntakeError("dispatch.fault.empty")
    if customer is not None:
        check_customer(customer)
    now = services.now()
    respond_due = now + timedelta(hours=services.config.sla.respond_hours)
    async with services.db.transaction() as conn:
        if customer is not None:
            if await customers.id_by_name(conn, customer.name) is not None:
                raise DispatchError("dispatch.customer.exists", name=customer.name)
            new = replace(new, customer_id=await customers.insert(conn, customer))
        if await customers.by_id(conn, new.customer_id) is None:
            raise DispatchError("dispatch.customer.unknown", name=str(new.customer_id))
        if new.machine_id is None:  # one machine on record: the ticket is about it
            machines = await customers.machines_of(conn, new.customer_id)
            if len(machines) == 1:
                new = replace(new, machine_id=machines[0].id)
        repeat, reopened_from = await detect_repeat(
            conn, new.customer_id, new.fault, now, services.config.priority.repeat_window_days
        )
        ticket_id = await tickets.insert(
            conn, new, repeat=repeat, reopened_from=reopened_from, created_by=created_by, at=now
        )
        await timers.create_deadline(services, conn, SLA_RESPOND, ticket_id, respond_due)
        arrive = arrive_due(services, now, new.appointment_end)
        await timers.create_deadline(services, conn, SLA_ARRIVE, ticket_id, arrive)
        await notices.post(conn, notices.ticket_card(ticket_id))
    return ticket_id


def facts_of(view: TicketView, respond_due: datetime | None) -> priority.TicketFacts:
    assert view.created_at is not None
    return priority.TicketFacts(
        id=view.id,
        customer_class=view.customer_class,
        created_at=view.created_at,
        tool=view.tool,
        major=view.major,
        repeat=view.repeat,
        hardware=view.hardware,
        brand=view.brand,
        pinned=view.pinned,
        respond_due=respond_due,
    )


@dataclass(frozen=True)
class QueueRow:
    ranked: priority.RankedTicket
    ticket: TicketView
    promises: dict[str, Deadline]


async def queue(services: Services) -> list[QueueRow]:
    """Open unassigned tickets ranked by PRI-SCORE, with their pending promises."""
    return await queue_rows(services, await queue_ranked(services))


async def queue_ranked(services: Services) -> list[priority.RankedTicket]:
    """Every open unassigned ticket ranked by PRI-SCORE, from one indexed query (no views)."""
    async with services.db.read() as conn:
        stored = await tickets.queue_entries(conn, tickets.QUEUE_STATES)
    entries = [priority.QueueEntry(*row) for row in stored]
    window = timedelta(hours=services.config.sla.respond_hours)
    return priority.rank(entries, services.now(), services.config.priority, window)


async def queue_page(
    services: Services, offset: int, limit: int
) -> tuple[int, list[priority.RankedTicket]]:
    """(open tickets in the queue, the ranked rows offset..offset+limit), ranked by the
    database with rank()'s arithmetic, so a page costs one query however long the queue is."""
    config = services.config
    scoring = priority.sql_scoring(config.priority, timedelta(hours=config.sla.respond_hours))
    async with services.db.read() as conn:
        count = await tickets.queue_count(conn, tickets.QUEUE_STATES)
        rows = await tickets.queue_page(
            conn, tickets.QUEUE_STATES, scoring, services.now(), offset, limit
        )
    ranked = [
        priority.ranked_row(
            offset + number,
            priority.QueueEntry(ticket_id, cls, pinned, created, due, mask),
            total,
            aged,
            config.priority,
        )
        for number, (ticket_id, cls, pinned, created, due, mask, total, aged) in enumerate(
            rows, start=1
        )
    ]
    return count, ranked


async def queue_rows(services: Services, ranked: list[priority.RankedTicket]) -> list[QueueRow]:
    """The shown part of the queue with its tickets' views and pending promises."""
    ids = [row.ticket.id for row in ranked]
    async with services.db.read() as conn:
        views = await tickets.views_by_ids(conn, ids)
        pending = await deadlines.pending_for(conn, PROMISE_KINDS, ids)
    by_ticket: dict[int, dict[str, Deadline]] = {}
    for (kind, ref), deadline in pending.items():
        by_ticket.setdefault(ref, {})[kind] = deadline
    return [
        QueueRow(row, views[row.ticket.id], by_ticket.get(row.ticket.id, {}))
        for row in ranked
        if row.ticket.id in views
    ]


def _due(pending: dict[tuple[str, int], Deadline], kind: str, ref: int) -> datetime | None:
    found = pending.get((kind, ref))
    return found.due_at if found else None


async def score_of(services: Services, view: TicketView) -> priority.ScoreBreakdown:
    async with services.db.read() as conn:
        respond = await deadlines.get(conn, SLA_RESPOND, view.id)
    window = timedelta(hours=services.config.sla.respond_hours)
    return priority.score(
        facts_of(view, respond.due_at if respond else None),
        services.now(),
        services.config.priority,
        window,
    )


@dataclass(frozen=True)
class Suggestion:
    technician: TechnicianStatus
    distance_km: float | None
    available: bool


def available_on(status: TechnicianStatus, today: date) -> bool:
    """On duty and not on leave (leave_until is the first day back)."""
    return status.on_duty and (status.leave_until is None or status.leave_until <= today)


def rank_technicians(
    statuses: list[TechnicianStatus],
    site: tuple[float, float] | None,
    station: tuple[float, float],
    today: date,
) -> list[Suggestion]:
    """Available first, then fewer open tickets, then nearer (last location, else the station)."""
    found = []
    for status in statuses:
        origin = status.last_location or station
        distance = geodesic_m(origin, site) / M_PER_KM if site else None
        found.append(Suggestion(status, distance, available_on(status, today)))
    return sorted(
        found,
        key=lambda s: (
            not s.available,
            s.technician.open_tickets,
            s.distance_km if s.distance_km is not None else 0.0,
            s.technician.name,
        ),
    )


async def suggestions(services: Services, ticket_id: int) -> tuple[TicketView, list[Suggestion]]:
    """The ticket and technicians ranked for it (only those reachable in Telegram)."""
    async with services.db.read() as conn:
        view = await tickets.ticket_for_visit(conn, ticket_id)
        statuses = await tickets.technicians(conn)
    if view is None:
        raise DispatchError("dispatch.ticket.unknown", id=ticket_id)
    reachable = [s for s in statuses if s.telegram_id is not None]
    today = services.local_now().date()
    return view, rank_technicians(reachable, view.site, services.config.station_location, today)


async def assign(
    services: Services, ticket_id: int, technician_id: int, by_person: int | None, role: str
) -> TicketView:
    """Assign (or reassign after an unresolved visit); arms DISPATCH-ACCEPT."""
    now = services.now()
    due = now + timedelta(minutes=services.config.sla.accept_timeout_minutes)
    async with services.db.transaction() as conn:
        technician = await people.by_id(conn, technician_id)
        if technician is None or technician.role.value != "technician" or not technician.active:
            raise DispatchError("dispatch.assign.not_technician")
        state = await tickets.state_of(conn, ticket_id)
        if state is None:
            raise DispatchError("dispatch.ticket.unknown", id=ticket_id)
        event = (
            lifecycle.Event.REASSIGN
            if state == lifecycle.State.NEEDS_REVISIT
            else lifecycle.Event.ASSIGN
        )
        await tickets.transition(
            conn, ticket_id, event, role, by_person, note=technician.name, at=now
        )
        await tickets.set_assignee(conn, ticket_id, technician_id)
        await timers.create_deadline(services, conn, DISPATCH_ACCEPT, ticket_id, due)
        view = await tickets.ticket_for_visit(conn, ticket_id)
        await notices.post(
            conn,
            notices.Notice(
                notices.person(technician_id),
                kind=notices.DISPATCH_OFFER,
                ref={"ticket": ticket_id},
            ),
            notices.ticket_card(ticket_id),
        )
    assert view is not None
    return view


async def _own_assigned(conn: aiosqlite.Connection, ticket_id: int, person_id: int) -> TicketView:
    view = await tickets.ticket_for_visit(conn, ticket_id)
    if view is None:
        raise DispatchError("dispatch.ticket.unknown", id=ticket_id)
    if view.assigned_to != person_id:
        raise DispatchError("dispatch.answer.not_yours", id=ticket_id)
    return view


async def accept(services: Services, ticket_id: int, person_id: int) -> TicketView:
    """The technician accepts: SLA-RESPOND met. SLA-ARRIVE runs from booking, not from here."""
    now = services.now()
    async with services.db.transaction() as conn:
        view = await _own_assigned(conn, ticket_id, person_id)
        await tickets.transition(
            conn, ticket_id, lifecycle.Event.ACCEPT, "technician", person_id, at=now
        )
        if await deadlines.get(conn, SLA_ARRIVE, ticket_id) is None:  # booked before it was armed
            assert view.created_at is not None
            due = arrive_due(services, view.created_at, view.appointment_end)
            await timers.create_deadline(services, conn, SLA_ARRIVE, ticket_id, due)
        view = await tickets.ticket_for_visit(conn, ticket_id)
        await notices.post(conn, notices.ticket_card(ticket_id))
    assert view is not None
    return view


async def decline(services: Services, ticket_id: int, person_id: int, reason: str) -> TicketView:
    """The technician declines with a reason: the ticket goes back to the queue."""
    if not reason.strip():
        raise DispatchError("dispatch.decline.reason_empty")
    async with services.db.transaction() as conn:
        offered = await _own_assigned(conn, ticket_id, person_id)
        await tickets.transition(
            conn,
            ticket_id,
            lifecycle.Event.DECLINE,
            "technician",
            person_id,
            note=reason.strip(),
            at=services.now(),
        )
        view = await tickets.ticket_for_visit(conn, ticket_id)
        who = await people.by_id(conn, person_id)
        told = [
            notices.text(
                notices.group(),
                "dispatch.decline.group",
                id=ticket_id,
                name=who.name if who else "",
                reason=reason.strip(),
            ),
            notices.ticket_card(ticket_id),
        ]
        message_id = (view.assign_message_id if view else None) or offered.assign_message_id
        if message_id:
            stamp = ("dispatch.decline.stamp", {"reason": reason.strip()})
            told.insert(0, close_offer(person_id, message_id, stamp))
        await notices.post(conn, *told)
    assert view is not None
    return view


def close_offer(person_id: int, message_id: int, stamp: tuple[str, dict]) -> notices.Notice:
    """Take the buttons off a technician's dispatch card and answer it with why."""
    return notices.Notice(
        notices.person(person_id),
        parts=(stamp,),
        kind=notices.CLOSE_OFFER,
        ref={"message": message_id},
    )


async def pin(services: Services, ticket_id: int) -> bool:
    """Toggle a ticket's pin (only while it waits in the queue); the new value."""
    async with services.db.transaction() as conn:
        view = await tickets.ticket_for_visit(conn, ticket_id)
        if view is None:
            raise DispatchError("dispatch.ticket.unknown", id=ticket_id)
        if view.state not in tickets.QUEUE_STATES:
            raise DispatchError("dispatch.pin.not_queued", id=ticket_id)
        await tickets.set_pinned(conn, ticket_id, not view.pinned)
        await notices.post(conn, notices.ticket_card(ticket_id))
    return not view.pinned


async def set_duty(services: Services, person_id: int, on_duty: bool) -> None:
    async with services.db.transaction() as conn:
        await tickets.set_on_duty(conn, person_id, on_duty)


async def set_leave(services: Services, name: str, days: int) -> date | None:
    """Record leave for `days` days from today (0 ends it); the first day back, or None."""
    if not 0 <= days <= MAX_LEAVE_DAYS:
        raise DispatchError("dispatch.leave.days", max=MAX_LEAVE_DAYS)
    until = services.local_now().date() + timedelta(days=days) if days else None
    async with services.db.transaction() as conn:
        technician = await people.technician_named(conn, name)
        if technician is None:
            raise DispatchError("dispatch.leave.unknown", name=name)
        await tickets.set_leave(conn, technician.id, until)
    return until


async def card_facts(services: Services, ticket_id: int) -> CardFacts | None:
    """Everything the ticket card shows, read from the database now."""
    config = services.config
    async with services.db.lookup() as conn:
        view = await tickets.ticket_for_visit(conn, ticket_id)
        if view is None:
            return None
        pending = await deadlines.pending_for(conn, PROMISE_KINDS, [ticket_id])
        visit = await tickets.latest_visit(conn, ticket_id)
        override = await ticket_warranty.latest(conn, ticket_id)
    respond_due = _due(pending, SLA_RESPOND, ticket_id)
    window = timedelta(hours=config.sla.respond_hours)
    score = priority.score(facts_of(view, respond_due), services.now(), config.priority, window)
    distance_km = geodesic_m(config.station_location, view.site) / M_PER_KM if view.site else None
    warranty = warranty_state(view, services.local_now().date(), config.warranty_months)
    if override is not None:  # WTY-CHECK: the override with its note has the last word
        warranty = override.in_warranty
    outside_city = distance_km is not None and distance_km > config.free_radius_km
    mode = service_mode.recommend_mode(
        view.customer_class,
        view.brand_name,
        view.brand,
        view.hardware,
        config.house_brands,
        outside_city=outside_city,
    )
    terms = (
        service_mode.visit_terms(
            distance_km,
            bool(warranty),
            view.hardware,
            config.free_radius_km,
            config.service_radius_km,
        )
        if distance_km is not None
        else None
    )
    return CardFacts(
        ticket=view,
        score=score,
        mode=mode,
        terms=terms,
        distance_km=distance_km,
        in_warranty=warranty,
        respond_due=respond_due,
        arrive_due=_due(pending, SLA_ARRIVE, ticket_id),
        visit=visit,
        warranty_note=override.note if override is not None else "",
    )
