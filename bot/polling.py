"""Our own getUpdates loop: the offset moves only after every update of a batch is handled.

PTB's Updater confirms a batch when it asks for the next one, before the queued updates are
handled, so a killed process could lose them. Here an update counts as handled only when its
row in handled_updates is committed (in the same transaction as the handler's own writes), and
updates of one chat are handled in order while different chats proceed concurrently.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

from telegram import Update
from telegram.error import NetworkError, RetryAfter, TimedOut
from telegram.ext import Application

from storage.db import Database, current_update_id

log = logging.getLogger(__name__)


def _chat_key(update: Update) -> int:
    chat = update.effective_chat
    if chat is not None:
        return chat.id
    user = update.effective_user
    return user.id if user is not None else 0


async def handle_once(app: Application, db: Database, update: Update) -> bool:
    """Process update unless it was handled before; True when it ran now."""
    if await db.is_handled(update.update_id):
        return False
    token = current_update_id.set(update.update_id)
    try:
        await app.process_update(update)
    finally:
        current_update_id.reset(token)
    await db.mark_handled(update.update_id)
    return True


async def handle_batch(app: Application, db: Database, updates: list[Update]) -> None:
    """Handle a batch: each chat's updates in order, chats concurrently."""
    by_chat: dict[int, list[Update]] = defaultdict(list)
    for update in updates:
        by_chat[_chat_key(update)].append(update)

    async def run_chat(chat_updates: list[Update]) -> None:
        for update in chat_updates:
            await handle_once(app, db, update)

    await asyncio.gather(*(run_chat(chat_updates) for chat_updates in by_chat.values()))


async def poll(
    app: Application, db: Database, stop: asyncio.Event, timeout: int = 30, limit: int = 100
) -> None:
    """Fetch and handle updates until stop is set."""
    offset: int | None = None
    backoff = 0.5
    while not stop.is_set():
        fetch = asyncio.ensure_future(
            app.bot.get_updates(
                offset=offset, timeout=timeout, limit=limit, allowed_updates=Update.ALL_TYPES
            )
        )
        stopper = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait({fetch, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if fetch not in done:
            fetch.cancel()
            await asyncio.gather(fetch, return_exceptions=True)
            break
        stopper.cancel()
        try:
            updates = list(fetch.result())
        except RetryAfter as exc:
            await asyncio.sleep(float(exc.retry_after))
            continue
        except (TimedOut, NetworkError) as exc:
            log.warning("getUpdates failed: %s; retrying in %.1fs", exc, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 30)
            continue
        backoff = 0.5
        if not updates:
            continue
        await handle_batch(app, db, updates)
        offset = updates[-1].update_id + 1
    if offset is not None:
        # Confirm what was handled so Telegram does not send it again after a clean stop.
        try:
            await app.bot.get_updates(offset=offset, timeout=0, limit=1)
        except (TimedOut, NetworkError):
            log.warning("could not confirm the last updates; they will be skipped as handled")
