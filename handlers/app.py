"""Application factory and the serve loop: one ApplicationBuilder, wiring in one place."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import replace

from telegram.ext import Application, ApplicationBuilder, Defaults

from bot.config import Config
from bot.services import Services
from handlers.context import FieldContext, context_types
from handlers.outbound import FieldBot
from handlers.outbox_telegram import WORKER_KEY, PacedRateLimiter, TelegramDelivery, limits_of
from handlers.polling import poll
from handlers.transport import AiohttpRequest
from storage.db import Database

log = logging.getLogger(__name__)


class TokenFilter(logging.Filter):
    """Replace the bot token wherever it would appear in a log record."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        if self.token and self.token in record.getMessage():
            record.msg = record.getMessage().replace(self.token, "<token>")
            record.args = None
        return True


def setup_logging(token: str, level: int = logging.INFO) -> None:
    """Plain logging with the token redacted and httpx's per-request lines silenced."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    token_filter = TokenFilter(token)
    for handler in logging.getLogger().handlers:
        handler.addFilter(token_filter)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


class FieldApplication(Application):
    """PTB's Application whose start and stop also run the outbox's delivery worker."""

    async def start(self) -> None:
        await super().start()
        self.bot_data[WORKER_KEY].start()

    async def stop(self) -> None:
        await self.bot_data[WORKER_KEY].close()
        await super().stop()


def build_application(services: Services) -> Application:
    """The real telegram Application for these services (no Updater: we own polling)."""
    from handlers import register  # handlers import bot/, never the other way at import time

    config = services.config
    # Telegram's rolling windows (per group, per private chat, overall), shared with the outbox.
    limiter = PacedRateLimiter(limits_of(config)) if config.rate_limiter else None
    # Every send and edit goes through FieldBot, which makes it fit Telegram's limits.
    bot = FieldBot(
        token=config.token,
        base_url=config.base_url,
        base_file_url=config.base_file_url,
        defaults=Defaults(tzinfo=config.tz),
        request=AiohttpRequest(connection_pool_size=16),
        get_updates_request=AiohttpRequest(connection_pool_size=1),
        rate_limiter=limiter,
    )
    builder = (
        ApplicationBuilder()
        .bot(bot)
        .updater(None)
        .context_types(context_types())
        .post_init(_post_init)
    )
    builder = builder.application_class(FieldApplication)
    app = builder.build()
    app.bot_data["services"] = services
    app.bot_data[WORKER_KEY] = TelegramDelivery(app, services)
    register(app)
    return app


async def _post_init(app: Application) -> None:
    from handlers.common import publish_commands

    await publish_commands(app)


async def serve(services: Services, stop: asyncio.Event | None = None) -> None:
    """Run the bot until stop is set (or SIGINT/SIGTERM)."""
    stop = stop or asyncio.Event()
    app = build_application(services)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    from handlers.loop_monitor import start_from_env

    lag_monitor = start_from_env()
    await services.db.checkpoint_in_background()  # no COMMIT on the loop's thread syncs the disk
    async with app:
        if app.post_init:  # run_polling would call it; we own the loop, so we do
            await app.post_init(app)
        await app.start()
        try:
            await poll(app, services.db, stop, timeout=services.config.poll_timeout_s)
        finally:
            await app.stop()
            if lag_monitor is not None:
                lag_monitor.cancel()


async def open_services(config: Config, **overrides: object) -> Services:
    """Open the database and bundle the services."""
    db = await Database.open(config.db_path, config.busy_timeout_ms)
    return Services(config=config, db=db, **overrides)  # type: ignore[arg-type]


def with_endpoint(config: Config, base_url: str, base_file_url: str, token: str) -> Config:
    """The same config pointed at another Bot API server (the emulator)."""
    return replace(config, base_url=base_url, base_file_url=base_file_url, token=token)


__all__ = ["FieldContext", "build_application", "serve", "open_services", "with_endpoint"]
