"""Promises kept from chat: the answer given to a customer whose machine was taken back
(SLA-TAKEBACK), moving a ticket on without a visit or after a take-back (MODE-ONSITE and the
lifecycle table), and the managers' decision on a visit left open (ALW-FORFEIT-UNREPORTED)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.domain import lifecycle
from bot.domain.dispatch_models import SLA_TAKEBACK, VISIT_UNREPORTED, TicketView
from bot.i18n import t
from bot.services import Services, notices, recorded_events, repair_deadlines
from bot.services.dispatching import DispatchError
from storage import deadlines, people, tickets
from storage import promises as store
from storage import repairs as repair_store
from storage import visits as visit_store

Event = lifecycle.Event
# The ticket events chat commands and card buttons send (the rest come from dispatch and visits).
CHAT_EVENTS = (
    Event.RESOLVE_BY_PHONE,
    Event.BRING_IN,
    Event.RETURN_MACHINE,
    Event.CLOSE,
    Event.CANCEL,
)
NEEDS_REASON = frozenset({Event.CANCEL})
MIN_ANSWER_CHARS = 4
MAX_TEXT_CHARS = 1000
FORFEIT_RULE = "ALW-FORFEIT-UNREPORTED"


@dataclass(frozen=True)
class AnswerResult:
    ticket: TicketView
    met: bool  # this answer met SLA-TAKEBACK (False: it had been met or ended before)


def _check_text(text: str, minimum: int, empty_key: str) -> str:
    text = " ".join(text.split())
    if len(text) < minimum:
        raise DispatchError(empty_key, minimum=minimum)
    if len(text) > MAX_TEXT_CHARS:
        raise DispatchError("promises.text_too_long", limit=MAX_TEXT_CHARS)
    return text


async def _ticket_for(
    conn: aiosqlite.Connection, ticket_id: int, person_id: int | None, role: str
) -> TicketView:
    """The ticket; a technician may act only on a ticket assigned to him."""
    view = await tickets.ticket_for_visit(conn, ticket_id)
    if view is None:
        raise DispatchError("dispatch.ticket.unknown", id=ticket_id)
    if role == "technician" and view.assigned_to != person_id:
        raise DispatchError("dispatch.answer.not_yours", id=ticket_id)
    return view


# What others are told of a change, given the ticket after it (queued with the change).
Tell = Callable[[TicketView], Sequence[notices.Notice]]


async def record_answer(
    services: Services,
    ticket_id: int,
    text: str,
    person_id: int | None,
    role: str,
    tell: Tell | None = None,
) -> AnswerResult:
    """Record what the customer was told (what will happen, by when): meets SLA-TAKEBACK."""
    answer = _check_text(text, MIN_ANSWER_CHARS, "promises.answer.too_short")
    async with services.db.transaction() as conn:
        view = await _ticket_for(conn, ticket_id, person_id, role)
        if view.state != lifecycle.State.TAKEN_BACK:
            raise DispatchError("promises.answer.not_taken_back", id=ticket_id, state=view.state)
        await store.add_answer(conn, ticket_id, answer, person_id, services.now())
        met = await deadlines.complete(conn, SLA_TAKEBACK, ticket_id)
        # The item taken back from this ticket shares the promise: its answer is this one.
        for item_id in await repair_store.answer_for_ticket(
            conn, ticket_id, answer, services.now()
        ):
            await repair_deadlines.sync(services, conn, item_id)
        told = tell(view) if tell is not None else ()
        await notices.post(conn, *told, notices.ticket_card(ticket_id))
    return AnswerResult(view, met)


async def move(
    services: Services,
    ticket_id: int,
    event: str,
    person_id: int | None,
    role: str,
    note: str = "",
    tell: Tell | None = None,
) -> TicketView:
    """Send one chat event to a ticket (the lifecycle table decides); the ticket after it.
    The card edit and tell's notices are queued in the same transaction."""
    if event not in CHAT_EVENTS:
        raise DispatchError("promises.move.unknown")
    if event in NEEDS_REASON:
        note = _check_text(note, 2, "promises.cancel.reason_empty")
    else:
        note = " ".join(note.split())[:MAX_TEXT_CHARS]
    async with services.db.transaction() as conn:
        await _ticket_for(conn, ticket_id, person_id, role)
        await tickets.transition(conn, ticket_id, event, role, person_id, note, at=services.now())
        view = await tickets.ticket_for_visit(conn, ticket_id)
        assert view is not None
        told = tell(view) if tell is not None else ()
        await notices.post(conn, *told, notices.ticket_card(ticket_id))
    return view


# --- ALW-FORFEIT-UNREPORTED -------------------------------------------------------------------


@dataclass(frozen=True)
class OpenVisit:
    """A visit whose unreported timer fired, as the managers' question shows it."""

    visit_id: int
    technician: str
    ticket_id: int | None
    customer: str
    check_in_at: datetime | None


async def open_visit(services: Services, visit_id: int) -> OpenVisit | None:
    async with services.db.read() as conn:
        visit = await visit_store.by_id(conn, visit_id)
        if visit is None:
            return None
        person = await people.by_id(conn, visit.technician_id)
        view = await tickets.ticket_for_visit(conn, visit.ticket_id) if visit.ticket_id else None
    return OpenVisit(
        visit_id=visit_id,
        technician=person.name if person else "—",
        ticket_id=visit.ticket_id,
        customer=view.customer_name if view else "—",
        check_in_at=visit.check_in_at,
    )


@dataclass(frozen=True)
class Decided:
    visit: OpenVisit
    confirmed: bool
    event_id: int | None
    technician_telegram_id: int | None


def source_key(visit_id: int) -> str:
    return f"auto:{FORFEIT_RULE}:visit:{visit_id}"


async def decide_unreported(
    services: Services, visit_id: int, confirm: bool, manager_id: int | None
) -> Decided:
    """A manager confirms (ALW-FORFEIT-UNREPORTED is recorded once) or dismisses (nothing is)."""
    wanted = store.CONFIRMED if confirm else store.DISMISSED
    async with services.db.transaction() as conn:
        row = await deadlines.get(conn, VISIT_UNREPORTED, visit_id)
        if row is None or row.fired_at is None:
            raise DispatchError("promises.unreported.not_due", visit=visit_id)
        if not await store.decide(conn, visit_id, wanted, manager_id, services.now()):
            earlier = await store.decision_of(conn, visit_id)
            assert earlier is not None
            # A confirmation whose event was not written yet (a crash) is finished below.
            if earlier.decision != wanted or not confirm or earlier.event_id is not None:
                raise DispatchError(f"promises.unreported.already_{earlier.decision}")
        visit = await visit_store.by_id(conn, visit_id)
        assert visit is not None
        person = await people.by_id(conn, visit.technician_id)
    facts = await open_visit(services, visit_id)
    assert facts is not None and person is not None
    if not confirm:
        return Decided(facts, False, None, person.telegram_id)
    assert visit.check_in_at is not None
    day = visit.check_in_at.astimezone(services.config.tz).date()
    language = services.config.language
    ticket = (
        t(language, "promises.unreported.ticket", id=visit.ticket_id)
        if visit.ticket_id
        else t(language, "promises.unreported.no_ticket")
    )
    hours = f"{services.config.sla.unreported_hours:g}"
    note = t(language, "promises.unreported.note", visit=visit_id, ticket=ticket, hours=hours)
    try:
        recorded = await recorded_events.record(
            services,
            person.name,
            FORFEIT_RULE,
            None,
            note,
            manager_id,
            day=day,
            source_key=source_key(visit_id),
        )
    except recorded_events.EventError:
        async with services.db.transaction() as conn:
            await store.undo_decision(conn, visit_id)
        raise
    async with services.db.transaction() as conn:
        await store.set_decision_event(conn, visit_id, recorded.event.id)
    return Decided(facts, True, recorded.event.id, person.telegram_id)
