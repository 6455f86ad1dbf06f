"""The fake front end on a fresh database, with a small cast already on it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from bot.config import Config
from bot.domain.models import Role
from bot.services import Services
from storage.db import Database
from tests.services.fake_channel import Clock, FakeChannel

NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)  # a Tuesday, 09:00 in Chengdu
SITE = (30.6570, 104.0660)
MANAGER, DISPATCHER, TECH, OTHER_TECH = "mgr", "disp", "tech", "tech2"


@dataclass
class Station:
    channel: FakeChannel
    services: Services
    clock: Clock
    manager: int
    dispatcher: int
    tech: int
    other_tech: int


@pytest.fixture
async def station(config: Config, db: Database) -> Station:
    clock = Clock(NOW)
    services = Services(config, db, clock=clock)
    channel = FakeChannel(services)
    return Station(
        channel,
        services,
        clock,
        await channel.hire(MANAGER, "李经理", Role.MANAGER),
        await channel.hire(DISPATCHER, "王调度", Role.DISPATCHER),
        await channel.hire(TECH, "张伟", Role.TECHNICIAN),
        await channel.hire(OTHER_TECH, "李娜", Role.TECHNICIAN),
    )
