"""Penalties and rewards through the services: REC-WHO, contests, voids, ADJ-CLOSED."""

from __future__ import annotations

from datetime import date

from bot.services import recorded_events, statements
from bot.services.recorded_events import EventProblem
from tests.services.conftest import DISPATCHER, MANAGER, OTHER_TECH, TECH, Station


async def record(station: Station, user: str, rule: str, amount_fen: int | None, **kw: object):  # noqa: ANN201
    """`user` records an event for 张伟 (the recorder's roles decide REC-WHO)."""
    actor = await station.channel.actor(user)
    action = "reward" if rule.startswith("RWD") else "penalty"
    return await station.channel.act(
        user,
        action,
        recorded_events.record,
        station.services,
        "张伟",
        rule,
        amount_fen,
        kw.pop("note", "说明"),
        actor.person.id,
        roles=actor.roles,
        **kw,
    )


async def test_rec_who_decides_who_records_what(station: Station) -> None:
    channel = station.channel
    late = await record(station, DISPATCHER, "DED-LATE", None)
    assert late is not None and late.event.rule == "DED-LATE" and late.adjustment_of is None
    assert await record(station, DISPATCHER, "DED-PRIVATE", None) is None
    assert channel.replies_to(DISPATCHER) == [EventProblem.NOT_ALLOWED.value]
    assert await record(station, DISPATCHER, "RWD-SUGGEST", 2000) is None  # rewards: managers
    assert channel.replies_to(DISPATCHER)[-1] == "access.role"
    reward = await record(station, MANAGER, "RWD-SUGGEST", 2000)
    assert reward is not None and reward.event.amount_fen == 2000
    assert await record(station, MANAGER, "RWD-SUGGEST", 999_00) is None
    assert channel.replies_to(MANAGER) == [EventProblem.AMOUNT_RANGE.value]
    assert await record(station, TECH, "DED-LATE", None) is None
    assert channel.replies_to(TECH) == ["access.role"]
    # The recorded technician is told, at their ids on this channel.
    assert await channel.notify(station.tech, "events.recorded", id=late.event.id)
    assert [n.key for n in channel.notices_to(TECH)] == ["events.recorded"]


async def test_contest_and_its_decision(station: Station) -> None:
    channel, services = station.channel, station.services
    recorded = await record(station, MANAGER, "DED-OTHER", 5000, note="未按规定着装")
    event_id = recorded.event.id
    tech2 = await channel.person_id(OTHER_TECH)
    assert (
        await channel.act(
            OTHER_TECH, "contest", recorded_events.open_contest, services, event_id, tech2, "不是我"
        )
        is None
    )
    assert channel.replies_to(OTHER_TECH) == [EventProblem.NOT_YOURS.value]
    contest_id = await channel.act(
        TECH, "contest", recorded_events.open_contest, services, event_id, station.tech, "有证据"
    )
    assert contest_id is not None
    assert (
        await channel.act(
            TECH, "contest", recorded_events.open_contest, services, event_id, station.tech, "再次"
        )
        is None
    )
    assert channel.replies_to(TECH) == [EventProblem.CONTEST_OPEN.value]
    assert (
        await channel.act(
            TECH,
            "decide",
            recorded_events.decide_contest,
            services,
            contest_id,
            False,
            station.tech,
        )
        is None
    )
    assert channel.replies_to(TECH)[-1] == "access.role"
    decided = await channel.act(
        MANAGER,
        "decide",
        recorded_events.decide_contest,
        services,
        contest_id,
        False,
        station.manager,
    )
    assert decided is not None and decided.state == "voided"
    assert (
        await channel.act(
            MANAGER, "void", recorded_events.void, services, event_id, "再作废", station.manager
        )
        is None
    )
    assert channel.replies_to(MANAGER) == [EventProblem.ALREADY_VOID.value]


async def test_a_change_to_a_closed_month_is_carried_adj_closed(station: Station) -> None:
    channel, services = station.channel, station.services
    october = date(2026, 10, 15)
    before = await record(station, MANAGER, "DED-OTHER", 3000, day=october)
    assert before.adjustment_of is None
    closing = await channel.act(
        MANAGER,
        "closemonth",
        statements.close_month,
        services.db,
        services.config,
        "2026-10",
        station.manager,
    )
    assert closing is not None and not closing.already
    assert await statements.is_closed(services.db, "2026-10")

    after = await record(station, MANAGER, "DED-OTHER", 2000, day=october)
    assert after.adjustment_of == "2026-10" and after.carried_into == "2026-11"
    voided = await channel.act(
        MANAGER,
        "void",
        recorded_events.void,
        services,
        before.event.id,
        "记错了",
        station.manager,
    )
    assert voided is not None and voided.event.voided
    assert voided.adjustment_of == "2026-10" and voided.carried_into == "2026-11"
    # An event of the open month is no adjustment.
    now = await record(station, MANAGER, "DED-OTHER", 1000)
    assert now.adjustment_of is None and now.event.day.month == 11
