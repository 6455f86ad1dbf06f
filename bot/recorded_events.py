"""Recording, voiding and contesting penalties and rewards (docs/rules.md sections 4-7)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from bot import payroll, statements
from bot.models import RecordedEvent
from bot.services import Services
from storage import contests, ledger, people


class EventProblem(StrEnum):
    UNKNOWN_RULE = "events.unknown_rule"
    UNKNOWN_TECHNICIAN = "events.unknown_technician"
    AMOUNT_FIXED = "events.amount_fixed"
    AMOUNT_REQUIRED = "events.amount_required"
    AMOUNT_RANGE = "events.amount_range"
    NOT_FOUND = "events.not_found"
    ALREADY_VOID = "events.already_void"
    MONTH_CLOSED = "events.month_closed"
    CONTEST_OPEN = "events.contest_open"
    NOT_YOURS = "events.not_yours"
    SLIP_REQUIRED = "events.slip_required"
    SLIP_NOT_ALLOWED = "events.slip_not_allowed"
    SLIP_NOT_FOUND = "events.slip_not_found"


class EventError(Exception):
    def __init__(self, problem: EventProblem, **values: object) -> None:
        super().__init__(problem.value)
        self.problem = problem
        self.values = values


@dataclass(frozen=True)
class Recorded:
    event: RecordedEvent
    technician_telegram_id: int | None
    adjustment_of: str | None


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
) -> Recorded:
    """Record an event; one dated in a closed month lands in the next open month, marked.

    An event about a slip (ALW-BEYOND, a false slip) is dated on the slip's check-out day so
    it lands in the month that slip is settled in.
    """
    amount = check_amount(rule, amount_fen, services)
    info = payroll.EVENT_RULES[rule]
    if info.slip == payroll.REQUIRED and slip_id is None:
        raise EventError(EventProblem.SLIP_REQUIRED, rule=rule)
    if info.slip == payroll.NONE and slip_id is not None:
        raise EventError(EventProblem.SLIP_NOT_ALLOWED, rule=rule)
    if slip_id is not None:
        day = await _slip_day(services, slip_id, technician)
    stored_amount = amount if info.amount != payroll.FIXED else None
    today = services.local_now().date()
    day = day or today
    month = day.strftime("%Y-%m")
    adjustment_of = None
    if await statements.is_closed(services.db, month):
        adjustment_of = month
        open_month = await statements.open_month_for(services.db, month)
        day = (
            today
            if today.strftime("%Y-%m") == open_month
            else date.fromisoformat(f"{open_month}-01")
        )
    async with services.db.transaction() as conn:
        person = await people.technician_named(conn, technician)
        if person is None:
            raise EventError(EventProblem.UNKNOWN_TECHNICIAN, name=technician)
        event_id = await ledger.insert_event(
            conn,
            ledger.NewEvent(
                technician_id=person.id,
                rule=rule,
                day=day,
                amount_fen=stored_amount,
                note=note,
                recorded_by=recorded_by,
                adjustment_of=adjustment_of,
                slip_id=slip_id,
            ),
        )
        assert event_id is not None
        event = await ledger.event_by_id(conn, event_id)
    assert event is not None
    return Recorded(event, person.telegram_id, adjustment_of)


async def _slip_day(services: Services, slip_id: int, technician: str) -> date:
    """The local check-out day of this technician's slip, or an EventError."""
    async with services.db.read() as conn:
        rows = await conn.execute_fetchall(
            "SELECT s.check_out FROM slips s JOIN people p ON p.id = s.technician_id"
            " WHERE s.id = ? AND p.name = ?",
            (slip_id, technician),
        )
    if not rows:
        raise EventError(EventProblem.SLIP_NOT_FOUND, slip=slip_id, name=technician)
    return datetime.fromisoformat(rows[0][0]).astimezone(services.config.tz).date()


def event_amount(event: RecordedEvent, services: Services) -> int:
    """What an event is worth in fen (its own amount or the rule's configured one)."""
    if event.amount_fen is not None:
        return event.amount_fen
    return payroll.config_amount(event.rule, services.config.rules) or 0


async def void(services: Services, event_id: int, reason: str, by: int) -> RecordedEvent:
    """Void an event with a reason; nothing is deleted. A closed month's events stay frozen."""
    async with services.db.read() as conn:
        event = await ledger.event_by_id(conn, event_id)
    if event is None:
        raise EventError(EventProblem.NOT_FOUND, id=event_id)
    if event.voided:
        raise EventError(EventProblem.ALREADY_VOID, id=event_id)
    month = event.day.strftime("%Y-%m")
    if await statements.is_closed(services.db, month):
        raise EventError(EventProblem.MONTH_CLOSED, id=event_id, month=month)
    async with services.db.transaction() as conn:
        if not await ledger.void_event(conn, event_id, reason, by):
            raise EventError(EventProblem.ALREADY_VOID, id=event_id)
        await contests.close_for_event(conn, event_id, "voided", by)
        voided = await ledger.event_by_id(conn, event_id)
    assert voided is not None
    return voided


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
    services: Services, contest_id: int, uphold: bool, by: int
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
