"""The Telegram delivery worker: sends what the outbox holds, paced, exactly as written.

One worker per channel reads the channel's outbox rows (bot.services.notices, storage.outbox). Each
chat has a lane that sends its rows in order; every send first waits for the rolling-window
limiter (bot.services.ratelimit). A row is claimed (committed), sent, then marked sent with the message
it became, in one transaction with whatever the kind records (a ticket card's message id).

A 429 holds the chat back for Telegram's retry_after and the row is tried again; network errors
are retried with backoff; a refusal that will not change (blocked, chat gone) marks the row
failed with the error. A row still claimed at start-up was being sent when the process died: it
is sent again. Telegram has no idempotency key, so a crash in the few milliseconds between
Telegram accepting a message and the mark committing, or a send that timed out after Telegram
had accepted it, can show that one message twice (an edit twice is harmless: the second is
"not modified"); nothing is ever lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
)
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application, BaseRateLimiter

from bot.services import Services, notices
from bot.services.ratelimit import Limiter, Limits, is_group
from storage import outbox, people
from storage.outbox import OutboxRow

log = logging.getLogger(__name__)

PACED_PREFIXES = ("send", "edit", "copy", "forward")  # calls that put something into a chat
# Set while the worker sends: a 429 then goes back to it instead of being retried in place.
from_outbox: contextvars.ContextVar[bool] = contextvars.ContextVar("from_outbox", default=False)
MAX_TEXT = 4096  # Telegram's limit on one message's text
MAX_ATTEMPTS = 5  # claims of a row whose rendering keeps failing before it is given up
POLL_S = 1.0  # safety net: rows written outside a transaction of ours are found this often
BACKOFF_S = (0.5, 1, 2, 5, 10, 30)  # after network errors, then 30 s each time
NOT_MODIFIED = "message is not modified"
RENDERERS_KEY = "outbox_renderers"
WORKER_KEY = "outbox_worker"


@dataclass
class Delivery:
    """One row on its way: where it goes and in which language."""

    row: OutboxRow
    chat_id: int
    language: str
    done: set[str] = field(default_factory=set)  # steps of a multi-message kind already sent


# A kind's renderer sends the row and returns the messages it sent; `after` runs in the
# transaction that marks the row sent (to record, e.g., the card's message id).
Sent = tuple[Message | None, Callable[[Any], Awaitable[None]] | None]
Renderer = Callable[[Application, Delivery], Awaitable[Sent]]


def limits_of(config: Any) -> Limits:
    """The configured limits as rolling windows (a rate below one a second widens its window)."""

    def window(rate: float) -> tuple[int, float]:
        return (round(rate), 1.0) if rate >= 1 else (1, 1 / rate)

    overall, overall_window = window(config.overall_per_second)
    private, private_window = window(config.private_per_second)
    return Limits(
        overall=overall,
        overall_window=overall_window,
        group=config.group_per_minute,
        group_window=config.group_window_s,
        private=private,
        private_window=private_window,
    )


class PacedRateLimiter(BaseRateLimiter[None]):
    """PTB's rate-limiter hook over the rolling-window Limiter: every call that puts something
    into a chat waits for its windows. A 429 holds the chat back; the outbox worker handles the
    retry of its own sends, a direct reply is retried here."""

    def __init__(self, limits: Limits, max_retries: int = 3) -> None:
        self.limiter = Limiter(limits)
        self.max_retries = max_retries

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> Any:
        chat_id = data.get("chat_id")
        paced = isinstance(chat_id, int) and endpoint.startswith(PACED_PREFIXES)
        # A direct answer in a private chat keeps only to the overall window (Telegram
        # tolerates short bursts there); notices, and everything into groups, keep to all.
        per_chat = paced and (is_group(chat_id) or from_outbox.get())
        tries = 0
        while True:
            started = await self.limiter.acquire(chat_id, per_chat) if paced else 0.0
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                wait = _seconds(exc.retry_after)
                if paced:
                    self.limiter.hold(chat_id, wait)
                tries += 1
                if from_outbox.get() or tries > self.max_retries:
                    raise
                if not paced:
                    await asyncio.sleep(wait)
            finally:
                if paced:
                    self.limiter.settle(chat_id, started, per_chat)


def add_renderer(app: Application, kind: str, renderer: Renderer) -> None:
    """Teach the worker a kind of notice rendered from the database (e.g. the ticket card)."""
    app.bot_data.setdefault(RENDERERS_KEY, {})[kind] = renderer


class Gone(Exception):
    """The notice can no longer be delivered (its subject or recipient is gone)."""


def pieces(text: str) -> list[str]:
    """The one place long texts are cut to Telegram's limit, at line breaks where possible."""
    if len(text) <= MAX_TEXT:
        return [text]
    out: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > MAX_TEXT:
            if current:
                out.append(current)
                current = ""
            out.append(line[:MAX_TEXT])
            line = line[MAX_TEXT:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > MAX_TEXT:
            out.append(current)
            current = line
        else:
            current = candidate
    if current:
        out.append(current)
    return out


def _label(value: Any, language: str) -> str:
    return str(notices.localize(language, value))


def inline_markup(actions: dict[str, Any], language: str) -> InlineKeyboardMarkup | None:
    rows = actions.get("buttons")
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(_label(label, language), callback_data=data)
                for label, data in row
            ]
            for row in rows
        ]
    )


async def send_text(app: Application, delivery: Delivery) -> Sent:
    """A "text" notice: its text in the recipient's language, buttons, a location request or a
    file."""
    row, chat_id, language = delivery.row, delivery.chat_id, delivery.language
    text = notices.render_text(row.body, language)
    actions = row.actions
    markup: Any = inline_markup(actions, language)
    if actions.get("ask_location"):
        markup = ReplyKeyboardMarkup(
            [[KeyboardButton(_label(actions["ask_location"], language), request_location=True)]],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
    reply = {}
    if actions.get("reply_to"):
        reply = {"reply_to_message_id": actions["reply_to"], "allow_sending_without_reply": True}
    if actions.get("document"):
        with open(actions["document"], "rb") as handle:
            message = await app.bot.send_document(
                chat_id, handle, caption=text[:1024] or None, reply_markup=markup, **reply
            )
        return message, None
    parts = pieces(text)
    message = None
    for number, part in enumerate(parts):
        last = number == len(parts) - 1
        message = await app.bot.send_message(
            chat_id, part, reply_markup=markup if last else None, **(reply if number == 0 else {})
        )
    return message, None


class TelegramDelivery:
    """Sends the outbox's Telegram rows; one lane per chat, paced by the limiter."""

    def __init__(self, app: Application, services: Services) -> None:
        self.app = app
        self.services = services
        # The bot's rate limiter (handlers.app) paces every call; the worker learns from its 429s.
        limiter = getattr(app.bot, "rate_limiter", None)
        self.limiter: Limiter | None = getattr(limiter, "limiter", None)
        self.lanes: dict[int, asyncio.Queue[Delivery]] = {}
        self.workers: dict[int, asyncio.Task[None]] = {}
        self.taken: set[int] = set()  # row ids queued or being sent by this process
        self.unrendered: dict[str, int] = {}  # target -> claimed rows not yet rendered
        self.last_edit: dict[str, float] = {}  # target -> monotonic time of its last delivery
        self.later: dict[str, asyncio.TimerHandle] = {}
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    # --- life cycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self.stop.clear()
        self.task = asyncio.create_task(self.run())

    async def close(self, grace_s: float = 2.0) -> None:
        """Stop fetching; give lanes a moment to finish what they are sending, then cancel."""
        self.stop.set()
        self.services.db.outbox_ready.set()
        for handle in self.later.values():
            handle.cancel()
        tasks = [t for t in (self.task, *self.workers.values()) if t is not None]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def run(self) -> None:
        """Fetch unsent rows whenever a commit queued some (and every POLL_S anyway)."""
        ready = self.services.db.outbox_ready
        try:
            await self.prune()
        except Exception:
            log.exception("outbox: could not remove old rows")
        while not self.stop.is_set():
            ready.clear()
            try:
                await self.pump()
            except Exception:
                log.exception("outbox: could not read pending notices")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ready.wait(), POLL_S)

    async def prune(self) -> int:
        """Forget rows delivered more than telegram.outbox_keep_days ago (at each start)."""
        keep = timedelta(days=self.services.config.outbox_keep_days)
        before = (datetime.now(UTC) - keep).isoformat(timespec="seconds")
        async with self.services.db.transaction() as conn:
            return await outbox.prune(conn, before)

    async def drained(self) -> bool:
        """Nothing left to send now: every unsent row is an edit waiting for its interval."""
        if self.taken:
            return False
        async with self.services.db.lookup() as conn:
            rows = await outbox.unsent(conn, notices.TELEGRAM, limit=50)
        return all(row.target is not None and row.target in self.later for row in rows)

    # --- fetching -----------------------------------------------------------------------------

    async def pump(self) -> None:
        async with self.services.db.lookup() as conn:
            keys = await outbox.unsent_keys(conn, notices.TELEGRAM)
            rows = [
                await outbox.get(conn, row_id)
                for row_id, target in keys
                if row_id not in self.taken and not (target and target in self.later)
            ]
        ready: list[Delivery] = []
        for row in rows:
            if row is None:
                continue
            delivery = await self._resolve(row)
            if delivery is None:
                continue
            wait = self._edit_wait(row)
            if wait > 0:
                self._retry_later(row.target, wait)
                continue
            self.taken.add(row.id)
            if row.target:  # a change from now on waits for the interval (this row may miss it)
                self.last_edit[row.target] = time.monotonic()
            ready.append(delivery)
        if not ready:
            return
        # Claimed together, committed before anything is sent (a crash after this sends the
        # rows again at the next start: never lost).
        async with self.services.db.transaction() as conn:
            claimed = await outbox.claim_many(conn, [d.row.id for d in ready])
        for delivery in ready:
            if delivery.row.id in claimed:
                target = delivery.row.target
                if target:
                    self.unrendered[target] = self.unrendered.get(target, 0) + 1
                self._lane(delivery.chat_id).put_nowait(delivery)
            else:
                self.taken.discard(delivery.row.id)

    def will_render(self, target: str) -> bool:
        """A claimed row for this target has not been rendered yet: it will show whatever is
        committed now, so a change committed before this call needs no row of its own."""
        return self.unrendered.get(target, 0) > 0

    def _rendering(self, row: OutboxRow) -> None:
        if row.target and row.target in self.unrendered:
            self.unrendered[row.target] -= 1
            if not self.unrendered[row.target]:
                del self.unrendered[row.target]

    def _edit_wait(self, row: OutboxRow) -> float:
        """A card edit waits until card_edit_interval_s after the card's last delivery."""
        if not row.target or row.target not in self.last_edit:
            return 0.0
        interval = self.services.config.card_edit_interval_s
        return self.last_edit[row.target] + interval - time.monotonic()

    def _retry_later(self, target: str, wait: float) -> None:
        def wake() -> None:
            self.later.pop(target, None)
            self.services.db.outbox_ready.set()

        self.later[target] = asyncio.get_running_loop().call_later(wait, wake)

    async def _resolve(self, row: OutboxRow) -> Delivery | None:
        """The chat and language of the row's recipient; a row with nobody to go to fails."""
        config = self.services.config
        chat_id: int | None = None
        language = config.language
        async with self.services.db.lookup() as conn:
            if row.recipient_kind == notices.PERSON:
                who = await people.by_id(conn, int(row.recipient_ref))
                if who is not None and who.active:
                    chat_id, language = who.telegram_id, who.language or language
            elif row.recipient_kind == notices.GROUP:
                chat_id = await people.bound_chat(conn, row.recipient_ref)
            elif row.recipient_kind == notices.CUSTOMER:
                chat_id, found = await _customer_chat(conn, int(row.recipient_ref))
                language = found or language
            elif row.recipient_kind == notices.CHAT:
                chat_id = int(row.recipient_ref)
        if chat_id is None:
            await self._give_up(row, f"no chat for {row.recipient_kind} {row.recipient_ref}")
            return None
        return Delivery(row, chat_id, language)

    def _lane(self, chat_id: int) -> asyncio.Queue[Delivery]:
        queue = self.lanes.get(chat_id)
        if queue is None:
            queue = self.lanes[chat_id] = asyncio.Queue()
            self.workers[chat_id] = asyncio.create_task(self._work(chat_id, queue))
        return queue

    async def _work(self, chat_id: int, queue: asyncio.Queue[Delivery]) -> None:
        try:
            while True:
                delivery = await queue.get()
                try:
                    await self.deliver(delivery)
                except Exception:
                    log.exception("outbox row %s not delivered", delivery.row.id)
                finally:
                    self.taken.discard(delivery.row.id)
                if queue.empty():
                    return
        finally:
            if self.workers.get(chat_id) is asyncio.current_task():
                del self.lanes[chat_id]
                del self.workers[chat_id]

    # --- sending ------------------------------------------------------------------------------

    async def deliver(self, delivery: Delivery) -> None:
        """Send a claimed row (retrying 429s and network errors), then mark it sent."""
        row = delivery.row
        self._rendering(row)
        renderers: dict[str, Renderer] = self.app.bot_data.get(RENDERERS_KEY, {})
        renderer = send_text if row.kind == notices.TEXT else renderers.get(row.kind)
        if renderer is None:
            await self._give_up(row, f"no renderer for {row.kind}")
            return
        failures = 0
        while True:
            token = from_outbox.set(True)
            try:
                message, after = await renderer(self.app, delivery)
            except RetryAfter as exc:
                wait = _seconds(exc.retry_after)
                log.warning("outbox: 429 for chat %s, retrying in %.0fs", delivery.chat_id, wait)
                if self.limiter is None:
                    await asyncio.sleep(wait)
                continue
            except BadRequest as exc:
                if NOT_MODIFIED in str(exc).lower():
                    message, after = None, None
                else:
                    await self._give_up(row, str(exc))
                    return
            except (Forbidden, Gone) as exc:
                await self._give_up(row, str(exc) or type(exc).__name__)
                return
            except (TimedOut, NetworkError) as exc:
                delay = BACKOFF_S[min(failures, len(BACKOFF_S) - 1)]
                failures += 1
                log.warning("outbox row %s: %s; retrying in %ss", row.id, exc, delay)
                await asyncio.sleep(delay)
                continue
            except Exception as exc:  # a fault of ours: a later pump tries again, a few times
                if row.attempts + 1 >= MAX_ATTEMPTS:
                    await self._give_up(row, f"{type(exc).__name__}: {exc}")
                    return
                raise
            finally:
                from_outbox.reset(token)
            break
        async with self.services.db.transaction() as conn:
            await outbox.mark_sent(
                conn, row.id, delivery.chat_id, message.message_id if message else None
            )
            if after is not None:
                await after(conn)
        if row.target:
            self.last_edit[row.target] = time.monotonic()

    async def _give_up(self, row: OutboxRow, error: str) -> None:
        log.warning("outbox row %s (%s) given up: %s", row.id, row.kind, error)
        async with self.services.db.transaction() as conn:
            await outbox.mark_failed(conn, row.id, error)


async def _customer_chat(conn: Any, customer_id: int) -> tuple[int | None, str | None]:
    ran = await conn.execute(
        "SELECT telegram_id, language FROM customers WHERE id = ?", (customer_id,)
    )
    row = await ran.fetchone()
    return (row[0], row[1]) if row is not None else (None, None)


def _seconds(value: Any) -> float:
    if hasattr(value, "total_seconds"):
        return float(value.total_seconds())
    return float(value)


def worker(app: Application) -> TelegramDelivery | None:
    return app.bot_data.get(WORKER_KEY)


__all__ = ["Delivery", "Gone", "TelegramDelivery", "add_renderer", "pieces", "worker"]
