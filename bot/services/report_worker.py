"""Heavy month reports in a worker process, never on the bot's event loop.

A month of 100,000 slips takes seconds of CPU and hundreds of megabytes to turn into statements,
a workbook and a chart. The bot hands such a job to a fresh Python process
(`python -m bot.services.report_worker`): the job (a pickled dataclass naming the database file, the
config and the month) goes in on stdin, the worker opens its own query-only SQLite connection,
writes its files into the folder the job names and sends back a small pickled result (texts,
totals, file paths) on stdout. The process then exits, so its memory goes back to the system.
One job runs at a time per bot; while it runs the caller's progress callback is called every
few seconds.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import pickle
import sys
import threading
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import aiosqlite

from bot.config import Config

log = logging.getLogger(__name__)

PROGRESS_EVERY_S = 4.0  # Telegram shows a chat action for about five seconds
JOB_TIMEOUT_S = 900.0
WORKER_NICE = 10
_ROOT = Path(__file__).resolve().parents[1]  # the folder holding the bot package


class ReportJobError(RuntimeError):
    """The worker failed or timed out; the message has its last words."""


class ReadOnlyDatabase:
    """The slice of storage.db.Database the statement code reads through, query-only."""

    def __init__(self, path: str, busy_timeout_ms: int = 5000) -> None:
        self.path = path
        self.busy_timeout_ms = busy_timeout_ms
        self._conn: aiosqlite.Connection | None = None

    @asynccontextmanager
    async def read(self) -> AsyncIterator[aiosqlite.Connection]:
        if self._conn is None:
            conn = await aiosqlite.connect(self.path, isolation_level=None)
            conn.row_factory = aiosqlite.Row
            await conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}")
            await conn.execute("PRAGMA query_only=ON")
            self._conn = conn
        yield self._conn

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None


# --- jobs (run inside the worker) ------------------------------------------------------------


@dataclass(frozen=True)
class SummaryFiles:
    """One language's summary: the chat text (HTML-escaped, for <pre>) and two files."""

    language: str
    text: str
    workbook: str
    chart: str


@dataclass(frozen=True)
class SummaryResult:
    month: str
    closed: bool
    technicians: int
    slips: int
    net_fen: int
    files: tuple[SummaryFiles, ...]
    seconds: dict[str, float]  # time taken by each step, for the log

    def for_language(self, language: str) -> SummaryFiles:
        return next(f for f in self.files if f.language == language)


@dataclass(frozen=True)
class SummaryJob:
    """The month's summary text, workbook and chart, once for each language."""

    db_path: str
    config: Config
    month: str
    languages: tuple[str, ...]
    folder: str

    async def run(self) -> SummaryResult:
        from bot.services import reports, statements
        from bot.services.workbook import build_workbook_file

        clock = _Stopwatch()
        # matplotlib takes about half a second to import: meanwhile SQLite reads the month.
        preload = threading.Thread(target=reports.chart_font_family, daemon=True)
        preload.start()
        db = ReadOnlyDatabase(self.db_path, self.config.busy_timeout_ms)
        try:
            statement, metrics = await statements.compute_with_metrics(
                db,  # type: ignore[arg-type]
                self.config,
                self.month,
            )
            closed = await statements.is_closed(db, self.month)  # type: ignore[arg-type]
        finally:
            await db.close()
        preload.join()
        clock.lap("statement")
        folder = Path(self.folder)
        files = []
        for index, language in enumerate(self.languages):
            stem = f"fieldbot-{self.month}" + (f"-{index}" if index else "")
            text = reports.format_summary_brief(statement, metrics, language)
            workbook = build_workbook_file(statement, metrics, folder / f"{stem}.xlsx", language)
            clock.lap("workbook")
            chart = reports.draw_chart(statement, metrics, folder / f"{stem}.png", language)
            clock.lap("chart")
            files.append(SummaryFiles(language, text, str(workbook), str(chart)))
        total = reports.station_totals(statement, metrics)
        return SummaryResult(
            month=self.month,
            closed=closed,
            technicians=len(statement.technicians),
            slips=total.slips,
            net_fen=total.net_fen,
            files=tuple(files),
            seconds=clock.laps,
        )


class _Stopwatch:
    """Seconds spent in each named step (summed when a step repeats)."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(self.laps.get(name, 0.0) + now - self._last, 3)
        self._last = now


PARTS_PER_WRITE_BYTES = 256 * 1024  # parts written per transaction: a few ms of the lock each


@dataclass(frozen=True)
class StagePartsJob:
    """The month's statement computed, and its snapshot's parts written under `attempt`, a few
    per transaction so the bot's own writes never wait long; returns the snapshot's sha256
    ("" when somebody closed the month meanwhile)."""

    db_path: str
    config: Config
    month: str
    attempt: str

    async def run(self) -> str:
        from bot.services import snapshots, statements
        from storage import months
        from storage.direct import DirectConnection

        db = ReadOnlyDatabase(self.db_path, self.config.busy_timeout_ms)
        try:
            statement = await statements.compute(db, self.config, self.month)  # type: ignore[arg-type]
        finally:
            await db.close()
        snapshot = snapshots.make_snapshot(statement, self.config.language)
        del statement
        conn = await DirectConnection.open(self.db_path, self.config.busy_timeout_ms)

        async def stage(conn: DirectConnection, position: int, batch: tuple) -> bool:
            if await months.closed(conn, self.month) is not None:
                return False  # closed meanwhile (the close says so and drops these)
            await months.stage_parts(conn, self.month, self.attempt, position, batch)
            return True

        try:
            position = 0
            for batch in _batches(snapshot.parts, PARTS_PER_WRITE_BYTES):
                if not await conn.run_transaction(partial(stage, position=position, batch=batch)):
                    return ""
                position += len(batch)
        finally:
            await conn.close()
        return snapshot.sha256


def _batches(
    parts: tuple[tuple[str, str], ...], max_bytes: int
) -> list[tuple[tuple[str, str], ...]]:
    """Consecutive parts grouped up to about max_bytes of text (at least one a group)."""
    batches: list[tuple[tuple[str, str], ...]] = []
    start, size = 0, 0
    for index, (_name, part) in enumerate(parts):
        if index > start and size + len(part) > max_bytes:
            batches.append(parts[start:index])
            start, size = index, 0
        size += len(part)
    if start < len(parts):
        batches.append(parts[start:])
    return batches


async def stage_month_parts(
    db_path: str,
    config: Config,
    month: str,
    attempt: str,
    progress: Callable[[], Awaitable[None]] | None = None,
) -> str:
    """StagePartsJob in a worker process: the month's parts written, its sha256 returned."""
    return await run_job(StagePartsJob(db_path, config, month, attempt), progress)


# --- the bot's side --------------------------------------------------------------------------

_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def _slot() -> asyncio.Semaphore:
    """One job at a time on this event loop (the machine has few cores; the bot needs one)."""
    loop = asyncio.get_running_loop()
    if loop not in _slots:
        _slots[loop] = asyncio.Semaphore(1)
    return _slots[loop]


async def run_job(
    job: Any,
    progress: Callable[[], Awaitable[None]] | None = None,
    every_s: float = PROGRESS_EVERY_S,
    timeout_s: float = JOB_TIMEOUT_S,
) -> Any:
    """Run job.run() in a fresh worker process and return its result.

    progress (if given) is awaited at once and then every every_s seconds until the result is
    in, also while an earlier job holds the worker; its failures are logged and ignored. Raises
    ReportJobError if the worker fails or takes longer than timeout_s (it is then killed).
    """
    work = asyncio.ensure_future(_run_when_free(job, timeout_s))
    try:
        while True:
            if progress is not None:
                try:
                    await progress()
                except Exception as exc:  # progress is a courtesy; the job goes on
                    log.warning("report progress failed: %s", exc)
            done, _ = await asyncio.wait({work}, timeout=every_s)
            if done:
                return work.result()
    finally:
        if not work.done():  # we were cancelled: so is the worker
            work.cancel()
            await asyncio.gather(work, return_exceptions=True)


async def _run_when_free(job: Any, timeout_s: float) -> Any:
    """Wait for the worker slot, then run the job in a new process (killed on timeout or
    cancellation)."""
    payload = pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)
    async with _slot():
        path = os.pathsep.join(filter(None, [str(_ROOT), os.environ.get("PYTHONPATH")]))
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.services.report_worker",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": path, "MPLBACKEND": "Agg"},
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(payload), timeout_s)
        except TimeoutError:
            raise ReportJobError(f"report worker took over {timeout_s:.0f} s") from None
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    if proc.returncode != 0:
        tail = err.decode("utf-8", "replace")[-2000:]
        raise ReportJobError(f"report worker exited with {proc.returncode}: {tail}")
    return pickle.loads(out)


def main() -> int:
    """Worker entry: a pickled job on stdin, its pickled result on stdout."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    gc.disable()  # a short life: collecting would only rescan the month's objects, never free them
    if hasattr(os, "nice"):
        os.nice(WORKER_NICE)  # when CPUs are short, the bot's answers go first
    job = pickle.loads(sys.stdin.buffer.read())
    result = asyncio.run(job.run())
    sys.stdout.buffer.write(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
