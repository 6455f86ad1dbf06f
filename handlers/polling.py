"""Our own getUpdates loop, with a durable inbox: nothing lost, nothing twice, no waiting.

PTB's Updater confirms a batch when it asks for the next one, before the queued updates are
handled, so a killed process could lose them. Here every fetched update is first written to
the `inbox` table; only then does the next getUpdates confirm it to Telegram. An update counts
as handled when its row in `handled_updates` commits (in the same transaction as the
handler's own writes), which also removes it from the inbox. At start-up whatever is still in
the inbox is handled first. Updates of one chat are handled in order; chats run concurrently,
so a slow chat never holds up the others.

The inbox keeps each update's JSON as Telegram sent it, and each update is decoded on its own:
one that cannot be decoded, or whose handler still fails after HANDLER_ATTEMPTS tries, goes to
the `dead_letters` table with its error (and counts as handled), the admins hear of it briefly,
and the bot carries on with the rest.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import traceback
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from telegram import Update
from telegram.error import NetworkError, RetryAfter, TimedOut
from telegram.ext import Application

from bot.services import notices
from handlers.delivery import Attempt, current_attempt
from handlers.sent import decode_update
from storage import dead_letters, inbox
from storage.db import Database, current_update_id

log = logging.getLogger(__name__)

HANDLER_ATTEMPTS = 3  # tries at an update whose handler raises, before it is dead-lettered
RETRY_DELAY_S = 0.2  # before the second try; doubles for each further one


def chat_key(update: Update) -> int:
    """Updates with the same key are handled one after another, in order."""
    chat = update.effective_chat
    if chat is not None:
        return chat.id
    user = update.effective_user
    return user.id if user is not None else 0


def encode(raw: dict[str, Any]) -> str:
    """An update's JSON for the inbox: what Telegram sent, not PTB's re-serialisation."""
    return json.dumps(raw, ensure_ascii=False, separators=(",", ":"))


def decode(app: Application, raw: dict[str, Any]) -> Update | str:
    """The update, or the error that made it undecodable."""
    try:
        return decode_update(raw, app.bot)
    except Exception as exc:  # any malformed or too-old shape: this update only
        log.error("update %s cannot be decoded", raw.get("update_id"), exc_info=exc)
        return _error_text(exc)


def _error_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)).strip()


async def handle_once(
    app: Application, db: Database, update: Update, payload: str | None = None
) -> None:
    """Process an update not handled before (poll checks each batch against the database).

    A handler that raises is tried again, up to HANDLER_ATTEMPTS times; then the update is
    dead-lettered. Once a transaction of the update has committed it is never tried again.
    """
    error: BaseException | None = None
    for number in range(1, HANDLER_ATTEMPTS + 1):
        attempt = Attempt(number, final=number == HANDLER_ATTEMPTS)
        await _try(app, db, update, attempt)
        if update.update_id in db.recorded:
            db.recorded.discard(update.update_id)  # the handler's own transaction recorded it
            return
        error = attempt.error
        if error is None:
            await db.mark_handled(update.update_id)
            return
        if not attempt.final:
            log.warning("update %s failed (try %d); trying again", update.update_id, number)
            await asyncio.sleep(RETRY_DELAY_S * 2 ** (number - 1))
    assert error is not None
    if payload is None:
        payload = json.dumps(update.to_dict(), default=str)
    await dead_letter(app, db, update.update_id, payload, _error_text(error), HANDLER_ATTEMPTS)


async def _try(app: Application, db: Database, update: Update, attempt: Attempt) -> None:
    """One try; the error handler records a handler's failure on the attempt."""
    update_token = current_update_id.set(update.update_id)
    attempt_token = current_attempt.set(attempt)
    try:
        await app.process_update(update)
        if attempt.error is None:
            await db.finish_update(update.update_id)  # e.g. a form's step, with the mark
    except Exception as exc:  # process_update reports handler errors; this is its own failure
        log.exception("update %s could not be handled", update.update_id)
        attempt.error = exc
    finally:
        db.drop_update_work(update.update_id)
        current_attempt.reset(attempt_token)
        current_update_id.reset(update_token)


async def dead_letter(
    app: Application, db: Database, update_id: int, payload: str, error: str, attempts: int
) -> None:
    """Give up on an update: keep it with its error, count it handled, tell the admins."""
    services = app.bot_data.get("services")
    async with db.transaction() as conn:
        new = await dead_letters.add(conn, update_id, payload, error, attempts)
        if new and services is not None:  # the admins hear of it through the outbox, once
            await notices.post(
                conn,
                *(
                    notices.text(notices.chat(admin), "deadletter.notice", update_id=update_id)
                    for admin in services.config.admins
                ),
            )
    log.error("update %s dead-lettered after %d tries", update_id, attempts)


class ChatLanes:
    """One worker per chat with updates waiting; each handles its chat's updates in order."""

    def __init__(
        self, app: Application, db: Database, finished: Callable[[int], None] | None = None
    ) -> None:
        self.app = app
        self.db = db
        self.finished = finished
        self.queues: dict[int, asyncio.Queue[tuple[Update, str | None]]] = {}
        self.workers: dict[int, asyncio.Task[None]] = {}
        # Ids this process has taken on and Telegram may still send again (not yet confirmed):
        # an inbox leftover fetched again, or a batch repeated after a lost response.
        self.taken: set[int] = set()

    def submit(self, update: Update, payload: str | None = None) -> None:
        """Queue an update on its chat's lane, unless this process has taken it already."""
        if update.update_id in self.taken:
            return
        self.taken.add(update.update_id)
        key = chat_key(update)
        queue = self.queues.get(key)
        if queue is None:
            queue = self.queues[key] = asyncio.Queue()
            self.workers[key] = asyncio.create_task(self._work(key, queue))
        queue.put_nowait((update, payload))

    async def _work(self, key: int, queue: asyncio.Queue[tuple[Update, str | None]]) -> None:
        try:
            while True:
                update, payload = await queue.get()
                try:
                    await handle_once(self.app, self.db, update, payload)
                except Exception:  # recording the outcome failed: the inbox keeps the update
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
        leftovers = await inbox.pending(conn)
    if leftovers:
        log.info("handling %d updates left in the inbox by the last run", len(leftovers))
        await _take(app, db, lanes, [(u, p, _loads(p)) for u, p in leftovers], finished)
    offset: int | None = None
    while not stop.is_set():
        raws = await _fetch(app, stop, offset, timeout, limit)
        if raws is None:
            break
        if isinstance(raws, float):
            await asyncio.sleep(raws)
            continue
        if not raws:
            continue
        if offset is not None:
            lanes.confirmed(offset)  # the getUpdates just answered confirmed them
        batch = [(raw["update_id"], encode(raw), raw) for raw in raws if _has_id(raw)]
        if not batch:
            continue
        # Stored before the next getUpdates confirms them; a handler that finishes first has
        # recorded its update as handled, and the store skips it.
        poison = await _take(app, db, lanes, batch, finished, store_first=False)
        if not await _store(db, [(u, p) for u, p, _ in batch], stop):
            break  # stopping before they were stored: Telegram sends them again next time
        await _bury(app, db, poison, finished)
        offset = max(update_id for update_id, _, _ in batch) + 1
    await lanes.drain()
    if offset is not None:
        # Confirm what was stored so Telegram does not send it again after a clean stop.
        with suppress(TimedOut, NetworkError):
            await get_updates_raw(app, offset=offset, timeout=0, limit=1)


def _has_id(raw: object) -> bool:
    ok = isinstance(raw, dict) and type(raw.get("update_id")) is int
    if not ok:
        log.error("getUpdates returned an entry without an update id: %.200r", raw)
    return ok


def _loads(payload: str) -> dict[str, Any] | None:
    try:
        raw = json.loads(payload)
    except ValueError:
        return None
    return raw if isinstance(raw, dict) else None


Poison = list[tuple[int, str, str]]  # (update id, payload, error)


async def _take(
    app: Application,
    db: Database,
    lanes: ChatLanes,
    batch: list[tuple[int, str, dict[str, Any] | None]],
    finished: Callable[[int], None] | None,
    store_first: bool = True,
) -> Poison:
    """Decode each update on its own and queue the good ones not handled before.

    Returns the undecodable ones; with store_first (they are in the inbox already) they are
    dead-lettered at once.
    """
    good: list[tuple[Update, str]] = []
    poison: Poison = []
    for update_id, payload, raw in batch:
        decoded = decode(app, raw) if raw is not None else "the stored JSON is not an object"
        if isinstance(decoded, Update):
            good.append((decoded, payload))
        else:
            poison.append((update_id, payload, decoded))
    payloads = {update.update_id: payload for update, payload in good}
    for update in await _not_handled(db, [update for update, _ in good]):
        lanes.submit(update, payloads[update.update_id])
    if store_first:
        await _bury(app, db, poison, finished)
        return []
    return poison


async def _bury(
    app: Application, db: Database, poison: Poison, finished: Callable[[int], None] | None
) -> None:
    """Dead-letter undecodable updates; if that fails they stay in the inbox for next time."""
    for update_id, payload, error in poison:
        try:
            await dead_letter(app, db, update_id, payload, error, attempts=1)
        except Exception:
            log.exception("could not dead-letter update %s", update_id)
        if finished is not None:
            finished(update_id)


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


async def get_updates_raw(
    app: Application, offset: int | None, timeout: int, limit: int
) -> list[dict[str, Any]]:
    """getUpdates, undecoded: the update objects as Telegram sent them.

    Bot.get_updates decodes the whole batch at once, so one update it cannot decode would lose
    the others too; decoding each here also lets the inbox keep Telegram's own JSON.
    """
    bot = app.bot
    data: dict[str, Any] = {
        "timeout": timeout,
        "limit": limit,
        "allowed_updates": Update.ALL_TYPES,
    }
    if offset is not None:
        data["offset"] = offset
    read_timeout = (bot._request[0].read_timeout or 0) + timeout  # as Bot.get_updates does
    result = await bot._post("getUpdates", data, read_timeout=read_timeout)
    return list(result or [])


async def _fetch(
    app: Application, stop: asyncio.Event, offset: int | None, timeout: int, limit: int
) -> list[dict[str, Any]] | float | None:
    """One long poll: the raw updates, a delay to wait before retrying, or None when stopping."""
    fetch = asyncio.ensure_future(get_updates_raw(app, offset, timeout, limit))
    stopper = asyncio.ensure_future(stop.wait())
    done, _ = await asyncio.wait({fetch, stopper}, return_when=asyncio.FIRST_COMPLETED)
    if fetch not in done:
        fetch.cancel()
        await asyncio.gather(fetch, return_exceptions=True)
        return None
    stopper.cancel()
    try:
        return fetch.result()
    except RetryAfter as exc:
        return float(exc.retry_after)
    except (TimedOut, NetworkError) as exc:
        log.warning("getUpdates failed: %s; retrying", exc)
        return 1.0
