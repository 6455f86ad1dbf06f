"""Dispatch through the services: intake, the ranked queue, assignment and the answer."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.dispatch_models import (
    DISPATCH_ACCEPT,
    SLA_ARRIVE,
    SLA_RESPOND,
    NewCustomer,
    NewTicket,
)
from bot.services import dispatching
from storage import deadlines
from tests.services.conftest import DISPATCHER, NOW, OTHER_TECH, SITE, TECH, Station


async def open_ticket(station: Station, name: str, **facts: bool) -> int:
    """The dispatcher opens a ticket for a new customer at the site."""
    customer = NewCustomer(name, "other", address="锦江区某路 1 号", site=SITE)
    new = NewTicket(
        customer_id=0,
        fault="开不了机",
        hardware=True,
        major=facts.get("major", False),
        brand=facts.get("brand", False),
        tool=facts.get("tool", False),
    )
    ticket_id = await station.channel.act(
        DISPATCHER,
        "new",
        dispatching.open_ticket,
        station.services,
        new,
        station.dispatcher,
        customer,
    )
    assert ticket_id is not None, station.channel.sent
    return ticket_id


async def test_opening_a_ticket_arms_its_sla_deadlines(station: Station) -> None:
    ticket_id = await open_ticket(station, "蓝海网吧")
    rows = await dispatching.queue(station.services)
    assert [row.ticket.id for row in rows] == [ticket_id]
    promises = rows[0].promises
    respond = station.services.config.sla.respond_hours
    assert promises[SLA_RESPOND].due_at == NOW + timedelta(hours=respond)
    assert promises[SLA_ARRIVE].due_at > NOW
    assert rows[0].ticket.state == "new"


async def test_empty_fault_and_a_technician_opening_are_refused(station: Station) -> None:
    channel = station.channel
    empty = NewTicket(0, "  ", True, False, False, False)
    customer = NewCustomer("蓝海网吧", "other")
    args = (station.services, empty, station.dispatcher, customer)
    assert await channel.act(DISPATCHER, "new", dispatching.open_ticket, *args) is None
    assert channel.replies_to(DISPATCHER) == ["dispatch.fault.empty"]
    assert await channel.act(TECH, "new", dispatching.open_ticket, *args) is None
    assert channel.replies_to(TECH) == ["access.role"]
    assert await channel.act("stranger", "new", dispatching.open_ticket, *args) is None
    assert channel.replies_to("stranger") == ["access.stranger"]
    assert await dispatching.queue(station.services) == []  # nothing half-written


async def test_the_queue_ranks_the_weightier_ticket_first(station: Station) -> None:
    plain = await open_ticket(station, "客户甲")
    station.clock.set(NOW + timedelta(minutes=1))
    urgent = await open_ticket(station, "客户乙", major=True, brand=True, tool=True)
    ranked = await dispatching.queue_ranked(station.services)
    assert [r.ticket.id for r in ranked] == [urgent, plain]
    assert [r.position for r in ranked] == [1, 2]
    assert ranked[0].total > ranked[1].total


async def test_assign_accept_and_decline(station: Station) -> None:
    channel, services = station.channel, station.services
    ticket_id = await open_ticket(station, "蓝海网吧")
    view = await channel.act(
        DISPATCHER,
        "assign",
        dispatching.assign,
        services,
        ticket_id,
        station.tech,
        station.dispatcher,
        "dispatcher",
    )
    assert view is not None and view.state == "assigned" and view.assigned_to == station.tech
    rows = await dispatching.queue_rows(services, await dispatching.queue_ranked(services))
    accept_by = NOW + timedelta(minutes=services.config.sla.accept_timeout_minutes)
    assert all(row.ticket.id != ticket_id for row in rows)  # no longer waiting
    async with services.db.lookup() as conn:
        armed = await deadlines.get(conn, DISPATCH_ACCEPT, ticket_id)
    assert armed is not None and armed.due_at == accept_by

    # Only the technician it is assigned to may answer.
    tech2 = await channel.person_id(OTHER_TECH)
    assert (
        await channel.act(OTHER_TECH, "dispatch", dispatching.accept, services, ticket_id, tech2)
        is None
    )
    assert channel.replies_to(OTHER_TECH) == ["dispatch.answer.not_yours"]
    assert (
        await channel.act(
            TECH, "dispatch", dispatching.decline, services, ticket_id, station.tech, " "
        )
        is None
    )
    assert channel.replies_to(TECH) == ["dispatch.decline.reason_empty"]
    declined = await channel.act(
        TECH, "dispatch", dispatching.decline, services, ticket_id, station.tech, "太远了"
    )
    assert declined is not None and declined.state == "new"
    assert [r.ticket.id for r in await dispatching.queue_ranked(services)] == [ticket_id]

    await dispatching.assign(services, ticket_id, station.tech, station.dispatcher, "dispatcher")
    accepted = await channel.act(
        TECH, "dispatch", dispatching.accept, services, ticket_id, station.tech
    )
    assert accepted is not None and accepted.state == "accepted"


async def test_a_technician_may_not_assign(station: Station) -> None:
    ticket_id = await open_ticket(station, "蓝海网吧")
    result = await station.channel.act(
        TECH,
        "assign",
        dispatching.assign,
        station.services,
        ticket_id,
        station.tech,
        station.tech,
        "technician",
    )
    assert result is None and station.channel.replies_to(TECH) == ["access.role"]
