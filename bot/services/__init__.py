"""The application's shared services: config, database and clock, free of Telegram types."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.config import Config
from storage.db import Database


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    config: Config
    db: Database
    clock: Callable[[], datetime] = field(default=system_clock)

    def now(self) -> datetime:
        """The current time, timezone-aware in UTC (tests move it)."""
        return self.clock()

    def local_now(self) -> datetime:
        return self.now().astimezone(self.config.tz)
