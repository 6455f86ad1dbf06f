"""Timed work: the monthly summary, the daily backup and track purge, all restart-safe.

Each tick checks whether its moment has passed and claims the period in the database before
acting, so a restart neither skips nor repeats a run.
"""

from __future__ import annotations

import logging
import tempfile
from datetime import datetime, timedelta

from telegram.error import TelegramError
from telegram.ext import Application

from bot.domain.models import Role
from bot.services import Services, statements
from bot.services.backups import daily_backup
from handlers.manager import deliver_summary, make_summary
from storage import months, people, privacy

log = logging.getLogger(__name__)
TICK_SECONDS = 300


def summary_due(local_now: datetime, services: Services) -> str | None:
    """The month whose summary is due now (the previous one), once its send moment has passed."""
    config = services.config
    moment = local_now.replace(
        day=config.monthly_summary_day,
        hour=config.monthly_summary_time.hour,
        minute=config.monthly_summary_time.minute,
        second=0,
        microsecond=0,
    )
    if local_now < moment:
        return None
    return statements.previous_month(local_now.strftime("%Y-%m"))


async def monthly_summary_tick(app: Application) -> str | None:
    """Send last month's summary to every manager if it is due and not sent yet."""
    services: Services = app.bot_data["services"]
    if not services.config.monthly_summary:
        return None
    month = summary_due(services.local_now(), services)
    if month is None:
        return None
    async with services.db.transaction() as conn:
        if not await months.claim_run(conn, "monthly_summary", month):
            return None
        managers = await people.with_role(conn, Role.MANAGER)
    recipients = {(p.telegram_id, p.language) for p in managers if p.telegram_id is not None}
    recipients |= {(admin, None) for admin in services.config.admins}
    chosen = sorted(
        ((chat_id, language or services.config.language) for chat_id, language in recipients),
        key=lambda r: r[0],
    )
    if not chosen:
        return month
    context = _JobContext(app)
    with tempfile.TemporaryDirectory() as folder:
        # One worker run makes every language's files; each manager gets their own.
        result = await make_summary(
            context,  # type: ignore[arg-type]
            month,
            [language for _, language in chosen],
            folder,
            [chat_id for chat_id, _ in chosen],
        )
        for chat_id, language in chosen:
            try:
                await deliver_summary(context, chat_id, language, result)  # type: ignore[arg-type]
            except TelegramError as exc:
                log.warning("monthly summary for %s not delivered to %s: %s", month, chat_id, exc)
    return month


async def backup_tick(app: Application) -> str | None:
    """Write today's backup once its time has passed."""
    services: Services = app.bot_data["services"]
    config = services.config
    if not config.backup_dir:
        return None
    local = services.local_now()
    if local.time() < config.backup_time:
        return None
    day = local.strftime("%Y-%m-%d")
    async with services.db.transaction() as conn:
        if not await months.claim_run(conn, "backup", day):
            return None
    path = await daily_backup(services.db, config.backup_dir, config.backup_keep, local)
    log.info("daily backup written to %s", path)
    return day


async def purge_tick(app: Application) -> str | None:
    """Once a day: drop the tracks and raw coordinates of visits past privacy.keep_track_days."""
    services: Services = app.bot_data["services"]
    privacy_config = services.config.privacy
    local = services.local_now()
    if local.time() < privacy_config.purge_time:
        return None
    day = local.strftime("%Y-%m-%d")
    now = services.now()
    async with services.db.transaction() as conn:
        if not await months.claim_run(conn, "purge_tracks", day):
            return None
        cutoff = now - timedelta(days=privacy_config.keep_track_days)
        purged = await privacy.purge_tracks(conn, cutoff, now)
    log.info("purged the tracks of %d visits closed before %s", purged, cutoff.date())
    return day


class _JobContext:
    """The slice of a callback context that the summary uses, for jobs."""

    def __init__(self, app: Application) -> None:
        self.application = app
        self.bot = app.bot

    @property
    def services(self) -> Services:
        return self.application.bot_data["services"]


async def _tick(context) -> None:  # noqa: ANN001 - PTB job callback
    """Run every timed check; one failing does not stop the others."""
    for tick in (monthly_summary_tick, backup_tick, purge_tick):
        try:
            await tick(context.application)
        except Exception:
            log.exception("timed job %s failed", tick.__name__)


async def _tidy_at_start(context) -> None:  # noqa: ANN001 - PTB job callback
    """Once at start-up: what a crash left half-done and never counted is removed."""
    dropped = await statements.drop_abandoned_parts(context.application.bot_data["services"].db)
    if dropped:
        log.info("removed %d snapshot parts of a month close a crash had stopped", dropped)


def schedule(app: Application) -> None:
    """Start the periodic checks (the first shortly after start-up, catching up after downtime)."""
    if app.job_queue is not None:
        app.job_queue.run_once(_tidy_at_start, when=0, name="tidy:closing-parts")
        app.job_queue.run_repeating(_tick, interval=timedelta(seconds=TICK_SECONDS), first=2)
