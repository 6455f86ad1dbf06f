"""Runs the real Application against the Bot API emulator over HTTP, as the sandbox does."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram.ext import Application

from bot.config import Config
from bot.domain.models import Role
from bot.services import Services
from handlers.app import build_application, with_endpoint
from handlers.polling import poll
from sandbox.emulator import BotApiEmulator
from storage import people
from storage.db import Database


class Clock:
    """A clock tests can move; starts at the real time unless told otherwise."""

    def __init__(self, start: datetime | None = None) -> None:
        self.moment = start or datetime.now(UTC)
        self.frozen = start is not None

    def __call__(self) -> datetime:
        return self.moment if self.frozen else datetime.now(UTC)

    def set(self, moment: datetime) -> None:
        self.moment = moment
        self.frozen = True

    def advance(self, **delta: float) -> datetime:
        self.set(self() + timedelta(**delta))
        return self.moment


class BotHarness:
    """One emulator, one database, and a running (restartable) FieldBot application."""

    def __init__(self, emulator: BotApiEmulator, config: Config, clock: Clock) -> None:
        self.emu = emulator
        self.config = with_endpoint(
            replace(config, poll_timeout_s=1),
            emulator.base_url,
            emulator.base_file_url,
            emulator.token,
        )
        self.clock = clock
        self.db: Database | None = None
        self.app: Application | None = None
        self.services: Services | None = None
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self.finished: set[int] = set()  # update ids the bot has completely handled
        self._started_at = 0  # the newest update id when polling last started

    async def start(self, polling: bool = True) -> None:
        """Open the database, start the application and (unless told not to) poll."""
        self.db = await Database.open(self.config.db_path, self.config.busy_timeout_ms)
        self.services = Services(config=self.config, db=self.db, clock=self.clock)
        self.app = build_application(self.services)
        await self.app.initialize()
        if self.app.post_init:
            await self.app.post_init(self.app)
        await self.app.start()
        if polling:
            await self.resume()

    async def pause(self) -> None:
        """Stop fetching updates (the bot unreachable), keeping the application and its state."""
        await self._stop_polling()

    async def resume(self) -> None:
        """Fetch and handle updates again."""
        assert self.app is not None and self.db is not None
        self._stop = asyncio.Event()
        self._started_at = self.emu.last_update_id
        self._task = asyncio.create_task(
            poll(self.app, self.db, self._stop, timeout=1, finished=self.finished.add)
        )

    async def _stop_polling(self) -> None:
        if self._stop is not None and self._task is not None:
            self._stop.set()
            await self._task
        self._stop = self._task = None

    async def stop(self) -> None:
        """Stop polling and close everything, as a clean shutdown does."""
        await self._stop_polling()
        if self.app is not None:
            await self.app.stop()
            await self.app.shutdown()
        if self.db is not None:
            await self.db.close()
        self.app = self.db = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def idle(self, timeout: float = 5.0) -> None:
        """Wait until every update sent so far has been handled."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        newest = self.emu.last_update_id
        while self.emu.pending_updates() or not await self._done(newest):
            if loop.time() > deadline:
                raise TimeoutError(f"update {newest} not handled")
            await asyncio.sleep(0.01)
        await self.delivered(max(0.5, deadline - loop.time()))

    async def delivered(self, timeout: float = 5.0) -> None:
        """Wait until the outbox has sent everything it can send now."""
        from handlers.outbox_telegram import worker

        assert self.app is not None
        delivery = worker(self.app)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while delivery is not None and not await delivery.drained():
            if loop.time() > deadline:
                raise TimeoutError("outbox not drained")
            await asyncio.sleep(0.01)

    async def handled(self, update: dict[str, Any] | None, timeout: float = 5.0) -> None:
        """Wait until the bot has completely handled this update."""
        assert update is not None, "the emulator did not deliver this update to the bot"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while update["update_id"] not in self.finished:
            if loop.time() > deadline:
                raise TimeoutError(f"update {update['update_id']} not handled")
            await asyncio.sleep(0.005)
        await self.delivered(max(0.5, deadline - loop.time()))

    async def _done(self, update_id: int) -> bool:
        """Handled by this run, or (for updates queued before it started) by an earlier one."""
        if update_id < self.emu.first_update_id or update_id in self.finished:
            return True
        assert self.db is not None
        return update_id <= self._started_at and await self.db.is_handled(update_id)

    async def say(self, user_id: int, text: str, chat_id: int | None = None, **kw: Any) -> dict:
        """Send text as a user and return the bot's first answer in that chat."""
        chat = chat_id if chat_id is not None else user_id
        await self.delivered()  # a user answers what has reached them
        mark = self.emu.mark()
        update = self.emu.send_text(user_id, text, chat_id=chat_id, **kw)
        assert update is not None, f"privacy mode hid {text!r} from the bot"
        return await self.emu.wait_for_message(chat, after=mark)

    async def press(self, user_id: int, chat_id: int, label: str) -> dict:
        """Press a button and return the first bot call that follows it (answer, send or edit)."""
        await self.delivered()  # the button must have reached the user
        mark = self.emu.mark()
        update = self.emu.press_button(user_id, chat_id, label)
        await self.handled(update)
        return {"update": update, "calls": self.emu.calls(after=mark)}

    def answers(self, mark: int) -> list[str]:
        """Texts of callback-query answers since mark."""
        return [
            call.params.get("text", "")
            for call in self.emu.calls("answerCallbackQuery", after=mark)
        ]

    async def seed(self, telegram_id: int, name: str, role: Role, language: str = "zh-CN") -> None:
        """Register a person directly in the database (tests of other features start here)."""
        assert self.db is not None
        async with self.db.transaction() as conn:
            await people.bind_person(conn, telegram_id, name, role, language)
        self.emu.user(telegram_id, name)

    async def bind_group(self, chat_id: int, title: str = "调度群") -> None:
        assert self.db is not None
        self.emu.group(chat_id, title)
        async with self.db.transaction() as conn:
            await people.bind_chat(conn, "dispatch", chat_id, 0)

    async def count(self, sql: str, *params: Any) -> int:
        assert self.db is not None
        async with self.db.read() as conn:
            rows = await conn.execute_fetchall(sql, params)
        return int(rows[0][0])


def texts(messages: list[dict]) -> list[str]:
    return [m.get("text") or m.get("caption") or "" for m in messages]


def find(messages: list[dict], predicate: Callable[[str], bool]) -> dict | None:
    for message in reversed(messages):
        if predicate(message.get("text") or ""):
            return message
    return None
