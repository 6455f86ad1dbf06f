"""Visits through the services: check-in evidence, lateness, check-out, the slip."""

from __future__ import annotations

import itertools
from datetime import timedelta

from bot.domain.dispatch_models import SLA_TAKEBACK, VISIT_UNREPORTED, NewCustomer, NewTicket
from bot.domain.visits import LocationReport
from bot.services import dispatching, visit_service
from storage import deadlines, ledger
from tests.services.conftest import NOW, OTHER_TECH, SITE, TECH, Station

_names = itertools.count(1)
RESOLVED = visit_service.CheckOutDetails(
    outcome="resolved",
    reason="",
    service_type="hardware",
    machine="联想 M720",
    consult_over=False,
    fee_fen=5000,
    parts_fen=1200,
)


async def accepted_ticket(station: Station, appointment_in: timedelta | None = None) -> int:
    """A ticket at the site, assigned to and accepted by the technician."""
    services = station.services
    start = NOW + appointment_in if appointment_in is not None else None
    new = NewTicket(
        0,
        "开不了机",
        True,
        False,
        False,
        False,
        appointment_start=start,
        appointment_end=start + timedelta(hours=2) if start else None,
    )
    customer = NewCustomer(f"王先生{next(_names)}", "other", site=SITE)
    ticket_id = await dispatching.open_ticket(services, new, station.dispatcher, customer)
    await dispatching.assign(services, ticket_id, station.tech, station.dispatcher, "dispatcher")
    await dispatching.accept(services, ticket_id, station.tech)
    return ticket_id


def at_site(station: Station, **kw: object) -> LocationReport:
    return LocationReport(SITE[0], SITE[1], accuracy_m=8, sent_at=station.clock(), **kw)


async def check_in(station: Station, ticket_id: int, user: str = TECH, **kw: object):  # noqa: ANN201
    person = await station.channel.person_id(user)
    return await station.channel.act(
        user,
        "visit",
        visit_service.check_in,
        station.services,
        person,
        ticket_id,
        at_site(station, **kw),
        1,
        station.clock(),
    )


async def test_check_in_on_time_at_the_site(station: Station) -> None:
    ticket_id = await accepted_ticket(station, appointment_in=timedelta(minutes=30))
    result = await check_in(station, ticket_id)
    assert result is not None and result.visit_id is not None
    assert result.check.refusal is None and not result.check.offsite
    assert result.check.distance_m is not None and result.check.distance_m < 50
    assert result.late_event_id is None
    async with station.services.db.lookup() as conn:
        unreported = await deadlines.get(conn, VISIT_UNREPORTED, result.visit_id)
    hours = station.services.config.sla.unreported_hours
    assert unreported is not None and unreported.due_at == NOW + timedelta(hours=hours)
    again = await check_in(station, ticket_id)
    assert again is None and station.channel.replies_to(TECH) == ["visit.already_in"]


async def test_only_the_assigned_technician_checks_in(station: Station) -> None:
    ticket_id = await accepted_ticket(station)
    assert await check_in(station, ticket_id, user=OTHER_TECH) is None
    assert station.channel.replies_to(OTHER_TECH) == ["visit.not_yours"]


async def test_a_stale_or_far_location(station: Station) -> None:
    ticket_id = await accepted_ticket(station)
    stale = LocationReport(SITE[0], SITE[1], accuracy_m=8, sent_at=NOW - timedelta(hours=1))
    refused = await visit_service.check_in(
        station.services, station.tech, ticket_id, stale, 1, NOW - timedelta(hours=1)
    )
    assert refused.visit_id is None and refused.check.refusal is not None
    far = LocationReport(SITE[0] + 0.01, SITE[1], sent_at=NOW)  # about 1.1 km, a bare pin
    result = await visit_service.check_in(station.services, station.tech, ticket_id, far, 2, NOW)
    assert result.visit_id is not None and result.check.offsite  # allowed, but flagged
    assert result.check.distance_m > 1000


async def test_late_arrival_is_judged_at_the_message_time(station: Station) -> None:
    grace = station.services.config.sla.late_grace_minutes
    ticket_id = await accepted_ticket(station, appointment_in=timedelta(minutes=30))
    station.clock.set(NOW + timedelta(minutes=30 + grace + 5))
    result = await check_in(station, ticket_id)
    assert result is not None and result.late_event_id is not None
    async with station.services.db.lookup() as conn:
        event = await ledger.event_by_id(conn, result.late_event_id)
    assert event is not None and event.rule == "DED-LATE" and event.technician == "张伟"


async def test_announced_lateness_is_excused(station: Station) -> None:
    ticket_id = await accepted_ticket(station, appointment_in=timedelta(minutes=30))
    services = station.services
    new_time = NOW + timedelta(minutes=90)
    told = await station.channel.act(
        TECH,
        "visit",
        visit_service.announce_late,
        services,
        station.tech,
        ticket_id,
        new_time,
        "technician",
    )
    assert told is not None
    station.clock.set(NOW + timedelta(minutes=85))  # late for the booking, not for the new time
    result = await check_in(station, ticket_id)
    assert result is not None and result.late_event_id is None
    # Announcing after the appointment began excuses nothing.
    other = await accepted_ticket(station, appointment_in=timedelta(minutes=-60))
    assert (
        await station.channel.act(
            TECH,
            "visit",
            visit_service.announce_late,
            services,
            station.tech,
            other,
            station.clock() + timedelta(minutes=10),
            "technician",
        )
        is None
    )
    assert station.channel.replies_to(TECH)[-1] == "visit.late_after_start"


async def test_check_out_opens_the_slip_and_answers_complete_it(station: Station) -> None:
    services, channel = station.services, station.channel
    ticket_id = await accepted_ticket(station)
    visit_id = (await check_in(station, ticket_id)).visit_id
    station.clock.set(NOW + timedelta(hours=1))
    done = await channel.act(
        TECH,
        "visit",
        visit_service.check_out,
        services,
        station.tech,
        visit_id,
        at_site(station),
        RESOLVED,
        station.clock(),
    )
    assert done is not None and done.ticket.id == ticket_id and done.token
    view = await visit_service.ticket_of(services, ticket_id, station.tech)
    assert view.state == "resolved"
    slip = await visit_service.slip_by_visit(services, visit_id)
    assert slip.id == done.slip_id and not slip.complete
    assert visit_service.slip_state(slip).missing() == ["signature", "satisfaction"]
    async with services.db.lookup() as conn:
        assert (await deadlines.get(conn, VISIT_UNREPORTED, visit_id)).state != "pending"

    answered = await channel.act(
        TECH,
        "slip",
        visit_service.give_satisfaction,
        services,
        slip.id,
        "satisfied",
        "handed_over",
        False,
    )
    assert answered is not None and answered.satisfaction == "satisfied"
    assert (
        await channel.act(
            TECH,
            "slip",
            visit_service.give_satisfaction,
            services,
            slip.id,
            "dissatisfied",
            "handed_over",
            False,
        )
        is None
    )
    assert channel.replies_to(TECH) == ["visit.already_answered"]  # the first answer wins
    conduct = await visit_service.confirm_conduct(services, slip.id, "shoes", True)
    assert conduct.conduct_shoe_covers
    signed = await visit_service.attach_signature(services, slip.id, "file-1", b"signed slip")
    assert signed.slip.complete and signed.duplicates == []
    # The same photo on another slip is caught.
    second = await accepted_ticket(station)
    visit2 = (await check_in(station, second)).visit_id
    out2 = await visit_service.check_out(
        services, station.tech, visit2, at_site(station), RESOLVED, station.clock()
    )
    copied = await visit_service.attach_signature(services, out2.slip_id, "file-2", b"signed slip")
    assert copied.duplicates == [slip.id]


async def test_taking_the_machine_back_arms_the_takeback_promise(station: Station) -> None:
    services = station.services
    ticket_id = await accepted_ticket(station)
    visit_id = (await check_in(station, ticket_id)).visit_id
    taken = visit_service.CheckOutDetails("taken_back", "主板坏", "hardware", "联想", False, 0, 0)
    await visit_service.check_out(
        services, station.tech, visit_id, at_site(station), taken, station.clock()
    )
    async with services.db.lookup() as conn:
        promise = await deadlines.get(conn, SLA_TAKEBACK, ticket_id)
    hours = services.config.sla.takeback_hours
    assert promise is not None and promise.due_at == NOW + timedelta(hours=hours)
    view = await visit_service.ticket_of(services, ticket_id, station.tech)
    assert view.state == "taken_back"
    assert (
        await station.channel.act(
            TECH,
            "visit",
            visit_service.check_out,
            services,
            station.tech,
            visit_id,
            at_site(station),
            taken,
            station.clock(),
        )
        is None
    )
    assert station.channel.replies_to(TECH) == ["visit.not_open"]


async def card_waiting(station: Station, ticket_id: int) -> bool:
    """Whether the ticket's group card waits in the outbox; then it counts as sent."""
    async with station.services.db.transaction() as conn:
        cur = await conn.execute(
            "UPDATE outbox SET state = 'sent' WHERE target = ? AND state = 'pending'",
            (f"ticket_card:{ticket_id}",),
        )
    return cur.rowcount == 1


async def test_arrival_departure_and_signature_queue_the_card_with_their_change(
    station: Station,
) -> None:
    services = station.services
    ticket_id = await accepted_ticket(station)
    await card_waiting(station, ticket_id)  # the assignment's card
    visit_id = (await check_in(station, ticket_id)).visit_id
    assert await card_waiting(station, ticket_id)
    done = await visit_service.check_out(
        services, station.tech, visit_id, at_site(station), RESOLVED, station.clock()
    )
    assert await card_waiting(station, ticket_id)
    await visit_service.give_satisfaction(services, done.slip_id, "neutral", "handed_over", False)
    assert not await card_waiting(station, ticket_id)
    await visit_service.attach_signature(services, done.slip_id, "file-1", b"signed slip")
    assert await card_waiting(station, ticket_id)  # now showing the satisfaction

    # An unhappy customer shows on the card at once.
    second = await accepted_ticket(station)
    await card_waiting(station, second)
    visit2 = (await check_in(station, second)).visit_id
    out2 = await visit_service.check_out(
        services, station.tech, visit2, at_site(station), RESOLVED, station.clock()
    )
    await card_waiting(station, second)
    await visit_service.give_satisfaction(
        services, out2.slip_id, "dissatisfied", "handed_over", False
    )
    assert await card_waiting(station, second)
