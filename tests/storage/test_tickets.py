"""Tickets, transitions, deadlines and the customer import on a temporary database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import Config
from bot.domain import lifecycle
from bot.domain.dispatch_models import NewCustomer, NewTicket
from bot.services import Services, dispatching, timers
from bot.services.customer_import import import_customers
from bot.services.imports import ImportError_
from storage import customers, deadlines, people, tickets
from storage.db import Database

NOW = datetime(2026, 11, 26, 1, 30, tzinfo=UTC)


@pytest.fixture
def services(config: Config, db: Database) -> Services:
    clock = {"now": NOW}
    svc = Services(config=config, db=db, clock=lambda: clock["now"])
    svc.moment = clock  # type: ignore[attr-defined]
    return svc


async def new_ticket(services: Services, name: str = "税务局", fault: str = "蓝屏") -> int:
    async with services.db.read() as conn:
        found = await customers.id_by_name(conn, name)
    if found is None:
        found = await dispatching.create_customer(
            services, NewCustomer(name=name, customer_class="industry", site=(30.7, 104.1))
        )
    return await dispatching.open_ticket(
        services,
        NewTicket(
            customer_id=found, fault=fault, hardware=True, major=True, brand=False, tool=True
        ),
        None,
    )


async def test_transitions_are_recorded_with_who_and_when(services: Services) -> None:
    ticket_id = await new_ticket(services)
    async with services.db.transaction() as conn:
        tech = await people.ensure_technician(conn, "张伟")
    await dispatching.assign(services, ticket_id, tech, 7, "dispatcher")
    services.moment["now"] = NOW + timedelta(minutes=5)  # type: ignore[attr-defined]
    view = await dispatching.accept(services, ticket_id, tech)
    assert view.state == "accepted" and view.assigned_to == tech
    async with services.db.read() as conn:
        rows = await tickets.transitions_of(conn, ticket_id)
        respond = await deadlines.get(conn, "SLA-RESPOND", ticket_id)
        arrive = await deadlines.get(conn, "SLA-ARRIVE", ticket_id)
    assert [(r["from_state"], r["to_state"], r["by_person"]) for r in rows] == [
        (None, "new", None),
        ("new", "assigned", 7),
        ("assigned", "accepted", tech),
    ]
    assert rows[-1]["at"] == "2026-11-26T01:35:00+00:00"
    assert respond is not None and respond.state == "done"
    # SLA-ARRIVE runs from booking (NOW), not from the acceptance five minutes later.
    assert arrive is not None and arrive.due_at == NOW + timedelta(hours=48)


async def test_illegal_transition_raises_and_writes_nothing(services: Services) -> None:
    ticket_id = await new_ticket(services)
    with pytest.raises(lifecycle.IllegalTransition):
        async with services.db.transaction() as conn:
            await tickets.transition(conn, ticket_id, "check_in", "technician", None)
    with pytest.raises(lifecycle.RoleNotAllowed):
        async with services.db.transaction() as conn:
            await tickets.transition(conn, ticket_id, "assign", "technician", None)
    async with services.db.read() as conn:
        assert len(await tickets.transitions_of(conn, ticket_id)) == 1
        view = await tickets.ticket_for_visit(conn, ticket_id)
    assert view is not None and view.state == "new" and view.site == (30.7, 104.1)
    assert view.customer_kind == "" and view.fault == "蓝屏"


async def test_repeat_detected_from_a_revisit_or_the_same_fault_reopened(
    services: Services,
) -> None:
    first = await new_ticket(services, fault="蓝 屏!")
    async with services.db.transaction() as conn:
        await tickets.transition(conn, first, "resolve_by_phone", "dispatcher", None, at=NOW)
    second = await new_ticket(services, fault="蓝屏")
    other = await new_ticket(services, fault="打印机")
    services.moment["now"] = NOW + timedelta(days=31)  # type: ignore[attr-defined]
    late = await new_ticket(services, fault="蓝屏")
    async with services.db.read() as conn:
        flags = [(await tickets.ticket_for_visit(conn, i)).repeat for i in (second, other, late)]
    assert flags == [True, False, False]


async def test_timers_claim_each_moment_once(services: Services) -> None:
    ticket_id = await new_ticket(services)
    services.moment["now"] = NOW + timedelta(minutes=91)  # type: ignore[attr-defined]
    assert [a.phase for a in await timers.claim_due(services)] == ["warning"]
    assert await timers.claim_due(services) == []
    services.moment["now"] = NOW + timedelta(hours=5)  # type: ignore[attr-defined]
    alerts = await timers.claim_due(services)
    assert [(a.kind, a.phase, a.ref_id) for a in alerts] == [("SLA-RESPOND", "breach", ticket_id)]
    assert await timers.claim_due(services) == []


async def test_lead_api_create_and_complete_deadline(services: Services) -> None:
    ticket_id = await new_ticket(services)
    due = NOW + timedelta(hours=24)
    async with services.db.transaction() as conn:
        await timers.create_deadline(services, conn, "SLA-TAKEBACK", ticket_id, due)
    async with services.db.read() as conn:
        row = await deadlines.get(conn, "SLA-TAKEBACK", ticket_id)
    assert row is not None and row.warn_at == due - timedelta(minutes=30)
    async with services.db.transaction() as conn:
        await timers.complete_deadline(conn, "SLA-TAKEBACK", ticket_id)
    services.moment["now"] = due + timedelta(hours=1)  # type: ignore[attr-defined]
    assert [a.kind for a in await timers.claim_due(services)] == ["SLA-RESPOND"]


HEADER = (
    "name,phone,class,kind,address,lat,lon,coordinate_system,brand,notes,serial,"
    "purchase_date,warranty_end\n"
)


async def test_import_customers_all_or_nothing_and_idempotent(
    config: Config, db: Database, tmp_path: Path
) -> None:
    good = tmp_path / "customers.csv"
    good.write_text(
        HEADER
        + "蓝海网吧,13800001111,network,netcafe,东大街1号,30.6712,104.1021,,,,SN1,2026-03-15,\n"
        + "蓝海网吧,13800001111,network,netcafe,东大街1号,30.6712,104.1021,,,,SN2,,2027-01-01\n"
        + "王先生,,other,,,30.6600,104.0700,gcj02,TCL,老客户,,,\n",
        encoding="utf-8",
    )
    result = await import_customers(db, config, good)
    assert (result.added, result.unchanged) == (3, 0)
    again = await import_customers(db, config, good)
    assert (again.added, again.unchanged) == (0, 3)
    async with db.read() as conn:
        netcafe = await customers.by_name(conn, "蓝海网吧")
        machines = await customers.machines_of(conn, netcafe.id)
        wang = await customers.by_name(conn, "王先生")
    assert netcafe.kind == "netcafe" and netcafe.site == (30.6712, 104.1021)
    assert [m.warranty_end for m in machines] == [date(2027, 3, 15), date(2027, 1, 1)]
    assert wang.site is not None and abs(wang.site[0] - 30.66) > 1e-4  # GCJ-02 converted

    bad = tmp_path / "bad.csv"
    bad.write_text(
        HEADER
        + "新客户,,industry,,,,,,,,,,\n"
        + "坏客户,,vip,,,,,,,,,,\n"
        + "坏坐标,,other,,,95,104,,,,,,\n"
        + "坏系统,,other,,,30,104,mars,,,,,\n"
        + "坏日期,,other,,,,,,,,SN9,2026-13-01,\n",
        encoding="utf-8",
    )
    with pytest.raises(ImportError_) as caught:
        await import_customers(db, config, bad)
    assert caught.value.errors == [
        f"{bad}:3: class: 'vip' is not one of agent, industry, network, quasi, other",
        f"{bad}:4: lat: must be between -90 and 90",
        f"{bad}:5: coordinate_system: 'mars' is not one of wgs84, gcj02, bd09",
        f"{bad}:6: purchase_date: '2026-13-01' is not an ISO date like 2026-03-15",
    ]
    async with db.read() as conn:
        assert await customers.by_name(conn, "新客户") is None


def test_cli_import_customers_exit_codes(config: Config, tmp_path: Path, capsys) -> None:
    path = tmp_path / "c.csv"
    path.write_text(HEADER + "甲,,agent,county,,,,,,,,,\n", encoding="utf-8")
    database = str(tmp_path / "cli.db")
    assert main(["import-customers", str(path), "--db", database]) == 0
    path.write_text(HEADER + "乙,,agent,netcafe,,,,,,,,,\n", encoding="utf-8")
    assert main(["import-customers", str(path), "--db", database]) == 2
    assert ":2: kind:" in capsys.readouterr().err
