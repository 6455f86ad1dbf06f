"""Promise services on a temporary database: SLA-ARRIVE from booking, repeat after the ticket's
own unresolved visit, take-back answers, and the unreported-visit decision recorded once."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import Config
from bot.domain.dispatch_models import NewCustomer, NewTicket
from bot.services import Services, dispatching, promises, recorded_events, timers
from bot.services.dispatching import DispatchError
from storage import deadlines, people, tickets
from storage import promises as store
from storage.db import Database

NOW = datetime(2026, 11, 26, 1, 30, tzinfo=UTC)  # Thursday 09:30 in Chengdu


@pytest.fixture
def services(config: Config, db: Database) -> Services:
    clock = {"now": NOW}
    svc = Services(config=config, db=db, clock=lambda: clock["now"])
    svc.moment = clock  # type: ignore[attr-defined]
    return svc


def at(services: Services, moment: datetime) -> None:
    services.moment["now"] = moment  # type: ignore[attr-defined]


async def open_ticket(services: Services, window: tuple[datetime, datetime] | None = None) -> int:
    async with services.db.read() as conn:
        rows = await conn.execute_fetchall("SELECT id FROM customers WHERE name = '税务局'")
    customer = (
        rows[0][0]
        if rows
        else await dispatching.create_customer(
            services, NewCustomer(name="税务局", customer_class="industry", site=(30.7, 104.1))
        )
    )
    return await dispatching.open_ticket(
        services,
        NewTicket(
            customer_id=customer,
            fault="蓝屏",
            hardware=True,
            major=False,
            brand=False,
            tool=True,
            appointment_start=window[0] if window else None,
            appointment_end=window[1] if window else None,
        ),
        None,
    )


async def arrive_due(services: Services, ticket_id: int) -> datetime:
    async with services.db.read() as conn:
        row = await deadlines.get(conn, "SLA-ARRIVE", ticket_id)
    assert row is not None
    return row.due_at


async def technician(services: Services, name: str = "张伟") -> int:
    async with services.db.transaction() as conn:
        return await people.ensure_technician(conn, name)


async def test_arrival_is_due_48_hours_after_booking_whoever_accepts_when(
    services: Services,
) -> None:
    ticket = await open_ticket(services)
    zhang, li = await technician(services), await technician(services, "李娜")
    await dispatching.assign(services, ticket, zhang, None, "dispatcher")
    await dispatching.decline(services, ticket, zhang, "在外地")
    at(services, NOW + timedelta(hours=20))
    await dispatching.assign(services, ticket, li, None, "dispatcher")
    await dispatching.accept(services, ticket, li)
    assert await arrive_due(services, ticket) == NOW + timedelta(hours=48)


async def test_a_later_appointment_window_moves_the_arrival_promise_to_its_end(
    services: Services,
) -> None:
    late = (NOW + timedelta(days=4), NOW + timedelta(days=4, hours=3))
    soon = (NOW + timedelta(hours=3), NOW + timedelta(hours=5))
    later = await open_ticket(services, late)
    sooner = await open_ticket(services, soon)
    assert await arrive_due(services, later) == late[1]
    assert await arrive_due(services, sooner) == NOW + timedelta(hours=48)


async def test_working_hours_arrival_counts_from_booking(services: Services) -> None:
    sla = replace(services.config.sla, arrive_working_hours_only=True, arrive_hours=9)
    services = replace(services, config=replace(services.config, sla=sla))
    services.moment = {"now": NOW}  # type: ignore[attr-defined]
    ticket = await open_ticket(services)
    # Thursday 09:30 + 9 working hours (08:30-17:30) = Friday 09:30 local.
    assert await arrive_due(services, ticket) == NOW + timedelta(days=1)


async def test_requeued_ticket_is_a_repeat_like_a_new_one_a_minute_later(
    services: Services,
) -> None:
    ticket = await open_ticket(services)
    zhang = await technician(services)
    await dispatching.assign(services, ticket, zhang, None, "dispatcher")
    await dispatching.accept(services, ticket, zhang)
    async with services.db.transaction() as conn:
        await tickets.transition(conn, ticket, "check_in", "technician", zhang, at=NOW)
        await tickets.transition(conn, ticket, "revisit", "technician", zhang, "缺配件", at=NOW)
    at(services, NOW + timedelta(minutes=1))
    newer = await open_ticket(services)
    async with services.db.read() as conn:
        flags = [(await tickets.ticket_for_visit(conn, i)).repeat for i in (ticket, newer)]
    assert flags == [True, True]
    rows = await dispatching.queue(services)
    assert {r.ticket.id: r.ranked.breakdown.display()["repeat"] for r in rows} == {
        ticket: 7,
        newer: 7,
    }


async def taken_back(services: Services) -> tuple[int, int]:
    ticket = await open_ticket(services)
    zhang = await technician(services)
    await dispatching.assign(services, ticket, zhang, None, "dispatcher")
    await dispatching.accept(services, ticket, zhang)
    async with services.db.transaction() as conn:
        await tickets.transition(conn, ticket, "check_in", "technician", zhang, at=NOW)
        await tickets.transition(conn, ticket, "take_back", "technician", zhang, at=NOW)
        await timers.create_deadline(
            services, conn, "SLA-TAKEBACK", ticket, NOW + timedelta(hours=24)
        )
    return ticket, zhang


async def test_answer_meets_take_back_and_bad_answers_write_nothing(services: Services) -> None:
    ticket, zhang = await taken_back(services)
    for bad in ("", "  好 ", "x" * 1001):
        with pytest.raises(DispatchError):
            await promises.record_answer(services, ticket, bad, None, "dispatcher")
    with pytest.raises(DispatchError, match="not_yours"):
        await promises.record_answer(services, ticket, "明天送还客户", zhang + 1, "technician")
    async with services.db.read() as conn:
        assert await store.answers_of(conn, ticket) == []
    result = await promises.record_answer(
        services, ticket, " 主板送修，  周五前送还 ", zhang, "technician"
    )
    assert result.met
    async with services.db.read() as conn:
        answers = await store.answers_of(conn, ticket)
    assert [a.answer for a in answers] == ["主板送修， 周五前送还"]
    at(services, NOW + timedelta(hours=30))
    assert await timers.claim_due(services) == []  # no take-back warning or escalation


@pytest.mark.parametrize("event", ["cancel", "return_machine"])
async def test_cancelling_or_returning_ends_the_take_back_promise(
    services: Services, event: str
) -> None:
    ticket, _ = await taken_back(services)
    await promises.move(services, ticket, event, None, "dispatcher", "客户取回机器")
    async with services.db.read() as conn:
        row = await deadlines.get(conn, "SLA-TAKEBACK", ticket)
    assert row is not None and row.state == "done"


async def test_cancel_needs_a_reason_and_only_chat_events_are_sent(services: Services) -> None:
    ticket, _ = await taken_back(services)
    with pytest.raises(DispatchError, match="reason_empty"):
        await promises.move(services, ticket, "cancel", None, "dispatcher", " ")
    with pytest.raises(DispatchError, match="move.unknown"):
        await promises.move(services, ticket, "assign", None, "dispatcher")
    async with services.db.read() as conn:
        assert await tickets.state_of(conn, ticket) == "taken_back"


async def test_unreported_confirmation_recorded_once_even_after_a_crash(
    services: Services,
) -> None:
    zhang = await technician(services)
    async with services.db.transaction() as conn:
        cur = await conn.execute(
            "INSERT INTO visits (technician_id, check_in_at, state) VALUES (?, ?, 'open')",
            (zhang, NOW.isoformat()),
        )
        visit = int(cur.lastrowid)
        await timers.create_deadline(
            services, conn, "VISIT-UNREPORTED", visit, NOW + timedelta(hours=24)
        )
    with pytest.raises(DispatchError, match="not_due"):
        await promises.decide_unreported(services, visit, True, None)
    at(services, NOW + timedelta(hours=24))
    assert [(a.kind, a.phase) for a in await timers.claim_due(services)] == [
        ("VISIT-UNREPORTED", "breach")
    ]
    # A crash after the decision row and before the event: confirming again finishes it.
    async with services.db.transaction() as conn:
        assert await store.decide(conn, visit, store.CONFIRMED, None, NOW)
    first = await promises.decide_unreported(services, visit, True, None)
    with pytest.raises(DispatchError, match="already_confirmed"):
        await promises.decide_unreported(services, visit, True, None)
    with pytest.raises(DispatchError, match="already_confirmed"):
        await promises.decide_unreported(services, visit, False, None)
    async with services.db.read() as conn:
        rows = await conn.execute_fetchall(
            "SELECT id, day, amount_fen FROM events WHERE rule = 'ALW-FORFEIT-UNREPORTED'"
        )
    assert [(r[0], r[1]) for r in rows] == [(first.event_id, "2026-11-26")]
    again = await recorded_events.record(
        services,
        "张伟",
        "ALW-FORFEIT-UNREPORTED",
        None,
        "",
        None,
        source_key=promises.source_key(visit),
    )
    assert again.event.id == first.event_id
