"""Site visits as units of work: each step validates, then writes in one transaction."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from bot.domain import evidence, visits
from bot.domain.dispatch_models import SLA_TAKEBACK, VISIT_UNREPORTED
from bot.domain.geo import geodesic_m
from bot.domain.note_codes import coded
from bot.domain.visits import LocationReport, SiteCheck, SlipState
from bot.services import Services, notices, repair_service, timers
from storage import identities as identity_store
from storage import ledger, people, tickets
from storage import visits as visit_store

FOREVER_S = 0x7FFFFFFF  # the Bot API's live_period for a share with no end
OUTCOME_EVENTS = {"resolved": "resolve", "revisit": "revisit", "taken_back": "take_back"}


class VisitProblem(StrEnum):
    NOT_YOURS = "visit.not_yours"
    WRONG_STATE = "visit.wrong_state"
    ALREADY_IN = "visit.already_in"
    NOT_OPEN = "visit.not_open"
    NO_SLIP = "visit.no_slip"
    TOO_LATE = "visit.late_after_start"
    BAD_LATE_TIME = "visit.bad_late_time"
    ANSWERED = "visit.already_answered"
    LINKED_ELSEWHERE = "visit.slip_linked_elsewhere"
    BAD_POINT = "evidence.refuse_invalid"


class VisitError(Exception):
    def __init__(self, problem: VisitProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


@dataclass(frozen=True)
class CheckInResult:
    visit_id: int | None
    check: SiteCheck
    ticket: tickets.TicketView | None
    late_event_id: int | None = None


def _require_assigned(ticket: tickets.TicketView | None, technician_id: int) -> tickets.TicketView:
    if ticket is None or ticket.assigned_to != technician_id:
        raise VisitError(VisitProblem.NOT_YOURS)
    return ticket


async def ticket_of(services: Services, ticket_id: int, technician_id: int) -> tickets.TicketView:
    """The ticket, if it is assigned to this technician."""
    async with services.db.lookup() as conn:
        ticket = await tickets.ticket_for_visit(conn, ticket_id)
    return _require_assigned(ticket, technician_id)


LATE_NOTICE_HORIZON = timedelta(hours=24)  # a new arrival time further out is a re-booking


def check_late_time(now: datetime, appointment_start: datetime | None, new_time: datetime) -> None:
    """DED-LATE excuses lateness only when announced before the appointment, for a near time."""
    if appointment_start is not None and now > appointment_start:
        raise VisitError(VisitProblem.TOO_LATE)
    if not now < new_time <= now + LATE_NOTICE_HORIZON:
        raise VisitError(VisitProblem.BAD_LATE_TIME)


async def announce_late(
    services: Services, technician_id: int, ticket_id: int, new_time: datetime, told_by: str
) -> tickets.TicketView:
    """ "I will be late": the new time and who told the customer, before the appointment."""
    now = services.now()
    async with services.db.transaction() as conn:
        ticket = _require_assigned(await tickets.ticket_for_visit(conn, ticket_id), technician_id)
        if ticket.state != "accepted":
            raise VisitError(VisitProblem.WRONG_STATE)
        check_late_time(now, ticket.appointment_start, new_time)
        current = await visit_store.current_for_ticket(conn, ticket_id)
        if current is not None and current.state == "open":
            raise VisitError(VisitProblem.ALREADY_IN)
        await visit_store.plan_late(conn, ticket_id, technician_id, now, new_time, told_by)
    return ticket


async def check_in(
    services: Services,
    technician_id: int,
    ticket_id: int | None,
    report: LocationReport,
    message_id: int,
    sent_at: datetime | None = None,
) -> CheckInResult:
    """Record arrival with its evidence; a refused location writes nothing.

    The arrival time is the location message's (sent_at, see visits.event_time).
    """
    config = services.config
    now = visits.event_time(
        services.now(), sent_at, timedelta(seconds=services.config.evidence.max_age_s)
    )
    async with services.db.transaction() as conn:
        ticket = current = None
        if ticket_id is not None:
            ticket = _require_assigned(
                await tickets.ticket_for_visit(conn, ticket_id), technician_id
            )
            current = await visit_store.current_for_ticket(conn, ticket_id)
            if current is not None and current.state == "open":
                raise VisitError(VisitProblem.ALREADY_IN)
            if ticket.state != "accepted":
                raise VisitError(VisitProblem.WRONG_STATE)
        site = ticket.site if ticket else None
        graded = evidence.grade_location(
            report, report.sent_at, now, evidence.limits_of(config), site
        )
        if graded.refusal is not None:
            refused = SiteCheck(graded.refusal, visits.Evidence.WEAK, None, False)
            return CheckInResult(None, refused, ticket)
        check = visits.check_location(
            report,
            site,
            config.geofence_radius_m,
            config.accepted_evidence,
            config.allow_offsite,
            evidence=graded.grade,
        )
        if check.refusal is not None:
            return CheckInResult(None, check, ticket)
        check = replace(check, flags=graded.flags)
        visit_id = await visit_store.check_in(
            conn, ticket_id, technician_id, now, report, check, message_id, planned=current
        )
        await visit_store.add_flags(conn, visit_id, "in", check.flags, now)
        if report.live and report.live_period and report.live_period < FOREVER_S:
            started = report.sent_at or now
            await visit_store.set_live_until(
                conn, visit_id, started + timedelta(seconds=report.live_period)
            )
        await conn.execute(
            "UPDATE people SET last_lat = ?, last_lon = ?, last_seen_at = ? WHERE id = ?",
            (report.lat, report.lon, now.isoformat(), technician_id),
        )
        # ALW-FORFEIT-UNREPORTED: a visit still open this long is put to the managers.
        unreported_due = now + timedelta(hours=config.sla.unreported_hours)
        await timers.create_deadline(services, conn, VISIT_UNREPORTED, visit_id, unreported_due)
        late_event = None
        if ticket is not None:
            # meets SLA-ARRIVE too
            await tickets.transition(
                conn, ticket.id, "check_in", "technician", technician_id, at=now
            )
            # The group card shows the arrival; queued in this transaction, it cannot be lost.
            await notices.post(conn, notices.ticket_card(ticket.id))
            announced = current.late_new_time if current is not None else None  # "I'll be late"
            if visits.is_late(
                now, ticket.appointment_start, config.sla.late_grace_minutes, announced
            ):
                late_event = await ledger.insert_event(
                    conn,
                    ledger.NewEvent(
                        technician_id=technician_id,
                        rule="DED-LATE",
                        day=now.astimezone(config.tz).date(),
                        amount_fen=None,
                        # stored without a language; rendered in the reader's (bot.domain.line_text)
                        note=coded(
                            "late_auto",
                            ticket=ticket.id,
                            arrived=f"{now.astimezone(config.tz):%H:%M}",
                        ),
                        source_key=f"auto:DED-LATE:visit:{visit_id}",
                    ),
                )
    return CheckInResult(visit_id, check, ticket, late_event)


async def keep_live_point(
    services: Services, technician_id: int, message_id: int, report: LocationReport, update_id: int
) -> bool:
    """Keep a live-location update of an open visit; False if none matches or it is no place.

    The point is timed by the message's edit date, so updates caught up after a restart keep
    their true spacing (what the speed check reads).
    """
    if not evidence.usable_point(report):
        return False
    at = report.sent_at or services.now()
    async with services.db.transaction() as conn:
        visit = await visit_store.live_visit(conn, technician_id, message_id)
        if visit is None:
            return False
        await visit_store.add_live_point(
            conn, visit.id, report.lat, report.lon, report.accuracy_m, at, update_id
        )
    return True


@dataclass(frozen=True)
class CheckOutDetails:
    outcome: str
    reason: str
    service_type: str
    machine: str
    consult_over: bool
    fee_fen: int
    parts_fen: int


@dataclass(frozen=True)
class CheckOutResult:
    visit_id: int
    slip_id: int
    token: str
    ticket: tickets.TicketView | None
    check: SiteCheck
    flags: tuple[evidence.Flag, ...] = ()


async def check_out(
    services: Services,
    technician_id: int,
    visit_id: int,
    report: LocationReport,
    details: CheckOutDetails,
    left_at: datetime | None = None,
) -> CheckOutResult:
    """Close the visit, move the ticket, start SLA-TAKEBACK, and open the slip, all at once.

    left_at: when the check-out location was sent (visits.event_time when it arrived); the
    questions after it take their time, the departure was the location.
    """
    config = services.config
    now = min(left_at, services.now()) if left_at is not None else services.now()
    async with services.db.transaction() as conn:
        visit = await visit_store.by_id(conn, visit_id)
        if visit is None or visit.technician_id != technician_id:
            raise VisitError(VisitProblem.NOT_YOURS)
        if visit.state != "open" or visit.check_in_at is None:
            raise VisitError(VisitProblem.NOT_OPEN)
        now = max(now, visit.check_in_at)
        ticket = await tickets.ticket_for_visit(conn, visit.ticket_id) if visit.ticket_id else None
        site = ticket.site if ticket else None
        limits = evidence.limits_of(config)
        graded = evidence.grade_location(
            report, None, now, limits, site, evidence.FlagCode.OFFSITE_OUT
        )
        if graded.refusal is not None:
            raise VisitError(VisitProblem.BAD_POINT)
        check = visits.check_location(
            report,
            site,
            config.geofence_radius_m,
            config.accepted_evidence,
            allow_offsite=True,
            evidence=graded.grade,
        )
        track = await visit_store.track(conn, visit_id)
        live_until = await visit_store.live_until(conn, visit_id)
        flags = evidence.checkout_flags(graded, track, visit.live, now, limits, live_until)
        check = replace(check, flags=flags)
        await visit_store.check_out(
            conn,
            visit_id,
            visit_store.CheckOut(
                at=now,
                lat=report.lat,
                lon=report.lon,
                accuracy_m=report.accuracy_m,
                evidence=graded.grade.value if graded.grade else None,
                distance_m=check.distance_m,
                outcome=details.outcome,
                reason=details.reason,
                service_type=details.service_type,
                machine=details.machine,
                consult_over=details.consult_over,
                fee_fen=details.fee_fen,
                parts_fen=details.parts_fen,
            ),
        )
        await visit_store.add_flags(conn, visit_id, "out", flags, now)
        if ticket is not None:
            await tickets.transition(
                conn,
                ticket.id,
                OUTCOME_EVENTS[details.outcome],
                "technician",
                technician_id,
                details.reason,
                at=now,
            )
            await notices.post(conn, notices.ticket_card(ticket.id))
            if details.outcome == "taken_back":
                await timers.create_deadline(
                    services,
                    conn,
                    SLA_TAKEBACK,
                    ticket.id,
                    now + timedelta(hours=config.sla.takeback_hours),
                )
                # The repair item from the visit, in the same unit as the check-out.
                await repair_service.register_taken_back(services, conn, ticket, technician_id)
        await timers.complete_deadline(conn, VISIT_UNREPORTED, visit_id)
        site_point = site or (report.lat, report.lon)
        token = secrets.token_urlsafe(12)
        slip_id = await ledger.insert_slip(
            conn,
            ledger.NewSlip(
                technician_id=technician_id,
                customer_id=ticket.customer_id if ticket else await _walk_in_customer(conn),
                customer_class=ticket.customer_class if ticket else "other",
                netcafe=bool(ticket and ticket.customer_kind == "netcafe"),
                machine=details.machine,
                service_type=details.service_type,
                check_in=visit.check_in_at,
                check_out=now,
                site=site_point,
                distance_m=geodesic_m(config.station_location, site_point),
                complete=False,
                satisfaction=None,
                revenue_fen=visits.revenue_fen(details.fee_fen, details.parts_fen),
                visit_id=visit_id,
                outcome=details.outcome,
                customer_token=token,
            ),
        )
    return CheckOutResult(visit_id, slip_id, token, ticket, check, flags)


async def _ticket_of(conn, slip: visit_store.SlipRow) -> int | None:  # noqa: ANN001
    """The ticket the slip's visit served, if any."""
    visit = await visit_store.by_id(conn, slip.visit_id) if slip.visit_id else None
    return visit.ticket_id if visit else None


async def ticket_of_slip(services: Services, slip: visit_store.SlipRow) -> int | None:
    """The ticket the slip's visit served, if any (committed data)."""
    async with services.db.lookup() as conn:
        return await _ticket_of(conn, slip)


async def _walk_in_customer(conn) -> int:  # noqa: ANN001
    """The placeholder customer for a visit with no dispatch behind it (GO-OUT)."""
    from storage import customers

    return await customers.ensure_customer(conn, "未登记客户 (GO-OUT)", "other")


def slip_state(slip: visit_store.SlipRow) -> SlipState:
    return SlipState(
        signature=slip.signature_sha256 is not None,
        arrival=slip.check_in is not None,
        departure=slip.check_out is not None,
        service_type=bool(slip.service_type),
        machine=bool(slip.machine),
        outcome=bool(slip.outcome),
        satisfaction=slip.satisfaction is not None,
    )


async def _refresh(conn, slip_id: int) -> visit_store.SlipRow:  # noqa: ANN001
    """The slip as it now stands, its completeness brought up to date."""
    slip = await visit_store.slip_by_id(conn, slip_id)
    assert slip is not None
    complete = slip_state(slip).complete
    if complete != slip.complete:
        await visit_store.set_complete(conn, slip_id, complete)
        slip = replace(slip, complete=complete)
    return slip


async def slip_by_visit(services: Services, visit_id: int) -> visit_store.SlipRow:
    async with services.db.lookup() as conn:
        slip = await visit_store.slip_for_visit(conn, visit_id)
    if slip is None:
        raise VisitError(VisitProblem.NO_SLIP)
    return slip


async def give_satisfaction(
    services: Services, slip_id: int, satisfaction: str, via: str, verified: bool
) -> visit_store.SlipRow:
    """The customer's 满意 / 一般 / 不满意 (SLIP-SAT); the first answer wins."""
    async with services.db.transaction() as conn:
        if not await visit_store.set_satisfaction(conn, slip_id, satisfaction, via, verified):
            raise VisitError(VisitProblem.ANSWERED)
        slip = await _refresh(conn, slip_id)
        # The dispatchers see an unhappy customer on the card at once; other answers show
        # with the signature.
        ticket_id = await _ticket_of(conn, slip) if satisfaction == "dissatisfied" else None
        if ticket_id is not None:
            await notices.post(conn, notices.ticket_card(ticket_id))
        return slip


async def confirm_conduct(
    services: Services, slip_id: int, item: str, ok: bool
) -> visit_store.SlipRow:
    """The customer confirms (or not) one CONDUCT point; the first answer wins."""
    async with services.db.transaction() as conn:
        if not await visit_store.set_conduct(conn, slip_id, item, ok):
            raise VisitError(VisitProblem.ANSWERED)
        return await _refresh(conn, slip_id)


@dataclass(frozen=True)
class SignatureResult:
    slip: visit_store.SlipRow
    sha256: str
    duplicates: list[int]


async def attach_signature(
    services: Services, slip_id: int, file_id: str, data: bytes
) -> SignatureResult:
    """The photo of the signed paper slip: its file id and the SHA-256 of its bytes."""
    digest = hashlib.sha256(data).hexdigest()
    async with services.db.transaction() as conn:
        await visit_store.set_signature(conn, slip_id, file_id, digest)
        duplicates = await visit_store.slips_with_signature(conn, digest, slip_id)
        slip = await _refresh(conn, slip_id)
        # The card shows the slip's satisfaction, answered since the check-out's card.
        ticket_id = await _ticket_of(conn, slip)
        if ticket_id is not None:
            await notices.post(conn, notices.ticket_card(ticket_id))
    return SignatureResult(slip, digest, duplicates)


async def link_customer(
    services: Services, token: str, telegram_id: int
) -> visit_store.SlipRow | None:
    """A customer opened the slip's deep link: bind their chat to the customer record.

    Only a chat that is not staff may link, and only a customer not yet linked to another
    chat, so nobody can take over a slip by opening its link.
    """
    async with services.db.transaction() as conn:
        slip = await visit_store.slip_by_token(conn, token)
        if slip is None:
            return None
        if await people.by_telegram_id(conn, telegram_id) is not None:
            raise VisitError(VisitProblem.LINKED_ELSEWHERE)
        cur = await conn.execute(
            "UPDATE customers SET telegram_id = ? WHERE id = ?"
            " AND (telegram_id IS NULL OR telegram_id = ?)",
            (telegram_id, slip.customer_id, telegram_id),
        )
        if cur.rowcount != 1:
            raise VisitError(VisitProblem.LINKED_ELSEWHERE)
        await identity_store.sync_telegram_customer(conn, telegram_id)
    return slip
