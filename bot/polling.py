"""Our own getUpdates loop, with a durable inbox: nothing lost, nothing twice, no waiting.

PTB's Updater confirms a batch when it asks for the next one, before the queued updates are
handled, so a killed process could lose them. Here every fetched update is first written to
the `inbox` table; only then does the next getUpdates confirm it to Telegram. An update counts
as handled when its row in `handled_updates` commits (in the same transaction as the
handler's own writes), which also removes it from the inbox. At start-up whatever is still in
the inbox is handled first. Updates of one chat are handled in order; chats run concurrently,
so a slow chat never holds up the others.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import Callable
from contextlib import suppress

from telegram import Update
from telegram.error import NetworkError, RetryAfter, TimedOut
from telegram.ext import Application

from storage import inbox
from storage.db import Database, current_update_id

log = logging.getLogger(__name__)


def chat_key(update: Update) -> int:
    """Updates with the same key are handled one after another, in order."""
    chat = update.effective_chat
    if chat is not None:
        return chat.id
    user = update.effective_user
    return user.id if user is not None else 0


async def handle_once(app: Application, db: Database, update: Update) -> None:
    """Process an update not handled before (poll checks each batch against the database)."""
    token = current_update_id.set(update.update_id)
    try:
        await app.process_update(update)
    finally:
        current_update_id.reset(token)
    if update.update_id in db.recorded:
        db.recorded.discard(update.update_id)  # the handler's own transaction recorded it
    else:
        await db.mark_handled(update.update_id)


class ChatLanes:
    """One worker per chat with updates waiting; each handles its chat's updates in order."""

    def __init__(
        self, app: Application, db: Database, finished: Callable[[int], None] | None = None
    ) -> None:
        self.app = app
        self.db = db
        self.finished = finished
        self.queues: dict[int, asyncio.Queue[Update]] = {}
        self.workers: dict[int, asyncio.Task[None]] = {}
        # Ids this process has taken on and Telegram may still send again (not yet confirmed):
        # an inbox leftover fetched again, or a batch repeated after a lost response.
        self.taken: set[int] = set()

    def submit(self, update: Update) -> None:
        """Queue an update on its chat's lane, unless this process has taken it already."""
        if update.update_id in self.taken:
            return
        self.taken.add(update.update_id)
        key = chat_key(update)
        queue = self.queues.get(key)
        if queue is None:
            queue = self.queues[key] = asyncio.Queue()
            self.workers[key] = asyncio.create_task(self._work(key, queue))
        queue.put_nowait(update)

    async def _work(self, key: int, queue: asyncio.Queue[Update]) -> None:
        try:
            while True:
                update = await queue.get()
                try:
                    await handle_once(self.app, self.db, update)
                except Exception:  # process_update reports handler errors; this is the loop
                    log.exception("update %s could not be handled", update.update_id)
                if self.finished is not None:
                    self.finished(update.update_id)
                if queue.empty():
                    return  # a later update for this chat starts a new lane
        finally:
            # Retire the lane even when cancelled; whatever it left stays in the inbox.
            if self.workers.get(key) is asyncio.current_task():
                del self.queues[key]
                del self.workers[key]

    def confirmed(self, offset: int) -> None:
        """Telegram sends no update below offset again: forget those ids."""
        self.taken = {update_id for update_id in self.taken if update_id >= offset}

    async def drain(self) -> None:
        """Wait for every lane to finish what it has."""
        while self.workers:
            await asyncio.gather(*list(self.workers.values()), return_exceptions=True)


async def poll(
    app: Application,
    db: Database,
    stop: asyncio.Event,
    timeout: int = 30,
    limit: int = 100,
    finished: Callable[[int], None] | None = None,
) -> None:
    """Fetch, store and handle updates until stop is set; finished(update_id) after each."""
    lanes = ChatLanes(app, db, finished)
    async with db.read() as conn:
        leftovers = [Update.de_json(json.loads(p), app.bot) for p in await inbox.pending(conn)]
    for update in await _not_handled(db, leftovers):
        lanes.submit(update)
    if leftovers:
        log.info("handling %d updates left in the inbox by the last run", len(leftovers))
    offset: int | None = None
    backoff = 0.5
    while not stop.is_set():
        updates = await _fetch(app, stop, offset, timeout, limit)
        if updates is None:
            break
        if isinstance(updates, float):
            await asyncio.sleep(updates)
            backoff = min(backoff * 2, 30)
            continue
        backoff = 0.5
        if not updates:
            continue
        if offset is not None:
            lanes.confirmed(offset)  # the getUpdates just answered confirmed them
        for update in await _not_handled(db, updates):
            lanes.submit(update)
        # Stored before the next getUpdates confirms them; a handler that finishes first has
        # recorded its update as handled, and the store skips it.
        payloads = [(u.update_id, json.dumps(u.to_dict())) for u in updates]
        if not await _store(db, payloads, stop):
            break  # stopping before they were stored: Telegram sends them again next time
        offset = updates[-1].update_id + 1
    await lanes.drain()
    if offset is not None:
        # Confirm what was stored so Telegram does not send it again after a clean stop.
        with suppress(TimedOut, NetworkError):
            await app.bot.get_updates(offset=offset, timeout=0, limit=1)


async def _not_handled(db: Database, updates: list[Update]) -> list[Update]:
    """The updates not handled before: one query per batch, not one per update.

    Telegram sends an update again when its confirmation was lost, e.g. in a crash right after
    its handler committed; such an update is dropped here (with any inbox row it has left).
    """
    if not updates:
        return updates
    handled = await db.handled_among([u.update_id for u in updates])
    for update_id in handled:
        await db.drop_from_inbox(update_id)
    return [u for u in updates if u.update_id not in handled]


async def _store(db: Database, payloads: list[tuple[int, str]], stop: asyncio.Event) -> bool:
    """Write fetched updates to the inbox, retrying a busy database; False if stopped first."""
    delay = 0.1
    while True:
        try:
            await db.write_intake(*inbox.store_statement(payloads))
            return True
        except sqlite3.OperationalError as exc:
            log.warning("could not store fetched updates (%s); retrying in %.1fs", exc, delay)
        if stop.is_set():
            return False
        await asyncio.sleep(delay)
        delay = min(delay * 2, 5)


async def _fetch(
    app: Application, stop: asyncio.Event, offset: int | None, timeout: int, limit: int
) -> list[Update] | float | None:
    """One long poll: the updates, a delay to wait before retrying, or None when stopping."""
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
        return None
    stopper.cancel()
    try:
        return list(fetch.result())
    except RetryAfter as exc:
        return float(exc.retry_after)
    except (TimedOut, NetworkError) as exc:
        log.warning("getUpdates failed: %s; retrying", exc)
        return 1.0
