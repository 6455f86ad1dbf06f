"""Recording, voiding and contesting penalties and rewards (docs/rules.md sections 4-7)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

import aiosqlite

from bot.config import Config
from bot.domain import access, payroll
from bot.domain.models import RecordedEvent, Role
from bot.services import Services, corrections
from storage import contests, ledger, people
from storage import promises as promise_store
from storage import visits as visit_store
from storage.db import Database


class EventProblem(StrEnum):
    UNKNOWN_RULE = "events.unknown_rule"
    UNKNOWN_TECHNICIAN = "events.unknown_technician"
    AMOUNT_FIXED = "events.amount_fixed"
    AMOUNT_REQUIRED = "events.amount_required"
    AMOUNT_RANGE = "events.amount_range"
    NOT_FOUND = "events.not_found"
    ALREADY_VOID = "events.already_void"
    CONTEST_OPEN = "events.contest_open"
    NOT_YOURS = "events.not_yours"
    SLIP_REQUIRED = "events.slip_required"
    SLIP_NOT_ALLOWED = "events.slip_not_allowed"
    SLIP_NOT_FOUND = "events.slip_not_found"
    NOTE_REQUIRED = "events.note_required"
    ALL_STAFF_RULE = "events.all_staff_rule"
    NO_STAFF = "events.no_staff"
    NOT_ALLOWED = "events.not_allowed"
    FLAGS_SETTLED = "events.flags_settled"


class EventError(Exception):
    def __init__(self, problem: EventProblem, **values: object) -> None:
        super().__init__(problem.value)
        self.problem = problem
        self.values = values


@dataclass(frozen=True)
class Recorded:
    event: RecordedEvent
    technician_telegram_id: int | None
    adjustment_of: str | None  # the closed month it falls in (ADJ-CLOSED), if any
    shares: tuple[tuple[int | None, str, int], ...] = ()  # all staff: (telegram id, name, fen)
    carried_into: str | None = None  # the open month its difference was carried into


@dataclass(frozen=True)
class Voided:
    event: RecordedEvent
    adjustment_of: str | None  # the closed month it fell in (ADJ-CLOSED), if any
    carried_into: str | None = None


def check_amount(rule: str, amount_fen: int | None, services: Services) -> int:
    """The event's amount in fen, or an EventError naming what is wrong."""
    info = payroll.EVENT_RULES.get(rule)
    if info is None:
        raise EventError(EventProblem.UNKNOWN_RULE, rule=rule)
    rules = services.config.rules
    try:
        return payroll.validate_event_amount(rule, amount_fen, rules)
    except ValueError:
        pass
    if info.amount == payroll.FIXED:
        fixed = payroll.config_amount(rule, rules) or 0
        raise EventError(EventProblem.AMOUNT_FIXED, rule=rule, amount=payroll.format_yuan(fixed))
    if info.bounds is not None and amount_fen is not None:
        low, high = (payroll.config_value(rules, key) for key in info.bounds)
        raise EventError(
            EventProblem.AMOUNT_RANGE,
            rule=rule,
            low=payroll.format_yuan(low),
            high=payroll.format_yuan(high),
        )
    raise EventError(EventProblem.AMOUNT_REQUIRED, rule=rule)


async def record(
    services: Services,
    technician: str,
    rule: str,
    amount_fen: int | None,
    note: str,
    recorded_by: int | None,
    day: date | None = None,
    slip_id: int | None = None,
    source_key: str | None = None,
    roles: frozenset[Role] | None = None,
    flagged_visit: int | None = None,
    within: aiosqlite.Connection | None = None,
) -> Recorded:
    """Record an event on its own day; one that falls in a closed month is carried (ADJ-CLOSED).

    With a source_key, recording the same thing again returns the event already recorded.

    An event about a slip (ALW-BEYOND, a false slip) is dated on the slip's check-out day, so
    it belongs to the month that slip is settled in (SLIP-EVENT-MONTH). `technician` "*" (all
    station staff, RMA-LOST only) is split among the staff on record now, and the shares kept.
    With `roles` (the recorder's, from a front end), REC-WHO decides whether they may record it.
    With `flagged_visit`, the penalty settles that visit's open flags in the same transaction,
    and is refused when somebody settled them first.
    With `within`, it is written in the caller's transaction (with whatever else that commits).
    """
    if roles is not None and not access.may_record(roles, rule):
        raise EventError(EventProblem.NOT_ALLOWED, rule=rule)
    amount = check_amount(rule, amount_fen, services)
    info = payroll.EVENT_RULES[rule]
    if info.slip == payroll.REQUIRED and slip_id is None:
        raise EventError(EventProblem.SLIP_REQUIRED, rule=rule)
    if info.slip == payroll.NONE and slip_id is not None:
        raise EventError(EventProblem.SLIP_NOT_ALLOWED, rule=rule)
    if info.note_required and not note.strip():
        raise EventError(EventProblem.NOTE_REQUIRED, rule=rule)
    all_staff = technician == payroll.ALL_STAFF
    if all_staff and rule != "RMA-LOST":
        raise EventError(EventProblem.ALL_STAFF_RULE, rule=rule)
    stored_amount = amount if info.amount != payroll.FIXED else None
    config = services.config
    day = day or services.local_now().date()
    async with _unit(services.db, within) as conn:
        person = None if all_staff else await people.technician_named(conn, technician)
        if person is None and not all_staff:
            raise EventError(EventProblem.UNKNOWN_TECHNICIAN, name=technician)
        if slip_id is not None:
            found = await ledger.slip_day_of(conn, slip_id, config.tz)
            if found is None or found[0] != technician:
                raise EventError(EventProblem.SLIP_NOT_FOUND, slip=slip_id, name=technician)
            day = found[1]
        if flagged_visit is not None and not await visit_store.resolve_flags(
            conn, flagged_visit, "penalized", recorded_by, services.now()
        ):
            raise EventError(EventProblem.FLAGS_SETTLED, visit=flagged_visit)
        shares = await _staff_shares(conn, rule, amount) if all_staff else ()
        event_id = await ledger.insert_event(
            conn,
            ledger.NewEvent(
                technician_id=person.id if person else None,
                rule=rule,
                day=day,
                amount_fen=stored_amount,
                note=note,
                recorded_by=recorded_by,
                slip_id=slip_id,
                source_key=source_key,
            ),
        )
        if event_id is None and source_key is not None:
            event_id = await promise_store.event_id_by_source_key(conn, source_key)
        assert event_id is not None
        if shares:
            await ledger.insert_shares(conn, event_id, [(p, n, fen) for p, n, fen, _ in shares])
        event = await ledger.event_by_id(conn, event_id)
        assert event is not None
        month = day.strftime("%Y-%m")
        carried = await corrections.carry(
            conn, config, month, corrections.concerns(event), f"event {event_id}"
        )
    return Recorded(
        event,
        person.telegram_id if person else None,
        month if carried is not None else None,
        tuple((telegram_id, name, fen) for _, name, fen, telegram_id in shares),
        carried[0] if carried is not None else None,
    )


@asynccontextmanager
async def _unit(db: Database, within: aiosqlite.Connection | None) -> AsyncIterator[Any]:
    """The caller's transaction, or one of its own."""
    if within is not None:
        yield within
        return
    async with db.transaction() as conn:
        yield conn


async def _staff_shares(
    conn: aiosqlite.Connection, rule: str, amount: int
) -> list[tuple[int, str, int, int | None]]:
    """RMA-LOST for all staff: (person id, name, fen, telegram id) of each share; EventError
    when no staff are on record."""
    staff = await ledger.staff_on_record(conn)
    split = payroll.staff_shares(amount, [name for _, name in staff])
    if not split:
        raise EventError(EventProblem.NO_STAFF, rule=rule)
    ids: dict[str, int] = {}
    for person_id, name in staff:
        ids.setdefault(name, person_id)
    result = []
    for name, fen in split:
        person = await people.by_id(conn, ids[name])
        result.append((ids[name], name, fen, person.telegram_id if person else None))
    return result


def event_amount(event: RecordedEvent, services: Services) -> int:
    """What an event is worth in fen (its own amount or the rule's configured one)."""
    if event.amount_fen is not None:
        return event.amount_fen
    return payroll.config_amount(event.rule, services.config.rules) or 0


async def void(services: Services, event_id: int, reason: str, by: int | None) -> Voided:
    """Void an event with a reason; nothing is deleted (ADJ-CLOSED when its month is closed)."""
    return await void_event(services.db, services.config, event_id, reason, by)


async def void_event(
    db: Database, config: Config, event_id: int, reason: str, by: int | None
) -> Voided:
    """Void an event; in a closed month its difference is carried into the first open month."""
    async with db.transaction() as conn:
        event = await ledger.event_by_id(conn, event_id)
        if event is None:
            raise EventError(EventProblem.NOT_FOUND, id=event_id)
        if event.voided or not await ledger.void_event(conn, event_id, reason, by):
            raise EventError(EventProblem.ALREADY_VOID, id=event_id)
        await contests.close_for_event(conn, event_id, "voided", by)
        month = event.day.strftime("%Y-%m")
        carried = await corrections.carry(
            conn, config, month, corrections.concerns(event), f"void of event {event_id}"
        )
        voided = await ledger.event_by_id(conn, event_id)
    assert voided is not None
    if carried is None:
        return Voided(voided, None)
    return Voided(voided, month, carried[0])


async def open_contest(services: Services, event_id: int, technician_id: int, reason: str) -> int:
    """A technician contests an event of their own; returns the contest id."""
    async with services.db.transaction() as conn:
        event = await ledger.event_by_id(conn, event_id)
        person = await people.by_id(conn, technician_id)
        if event is None or event.voided:
            raise EventError(EventProblem.NOT_FOUND, id=event_id)
        if person is None or event.technician != person.name:
            raise EventError(EventProblem.NOT_YOURS, id=event_id)
        if await contests.open_for_event(conn, event_id):
            raise EventError(EventProblem.CONTEST_OPEN, id=event_id)
        return await contests.create(conn, event_id, technician_id, reason)


async def decide_contest(
    services: Services, contest_id: int, uphold: bool, by: int | None
) -> contests.Contest:
    """A manager upholds the event (contest rejected) or voids it (contest accepted)."""
    async with services.db.read() as conn:
        contest = await contests.by_id(conn, contest_id)
    if contest is None or contest.state != "open":
        raise EventError(EventProblem.NOT_FOUND, id=contest_id)
    if uphold:
        async with services.db.transaction() as conn:
            await contests.decide(conn, contest_id, "upheld", by)
    else:
        await void(services, contest.event_id, f"contest {contest_id}", by)
    async with services.db.read() as conn:
        decided = await contests.by_id(conn, contest_id)
    assert decided is not None
    return decided
