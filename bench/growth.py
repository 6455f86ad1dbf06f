"""Growth benchmark: a big station's month. Prints one JSON line.

- queue_10k_ms / queue_100k_ms: a dispatcher sends /queue in the group with 10,000 (100,000)
  open tickets, each with its pending SLA-RESPOND promise; milliseconds until the bot's first
  answer in the group (the real application over HTTP against the Bot API emulator, median).
- start_10k_deadlines_first_answer_s: `python -m bot run` on a database with 10,000 pending
  deadlines; seconds from the process start until it answers /help.
- stop_10k_deadlines_s: then SIGTERM; seconds until the process has exited.
- workbook_100k_s / workbook_100k_peak_mb: the month's workbook (build_workbook below) for
  100,000 slips, in a fresh child process that reads the month from the database and computes
  its statement first, as /summary's worker does; the build's time and the child's peak RSS
  while building (what it holds then, the statement included, and what the build adds).
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)  # not bench/: bench/queue.py would shadow the standard library's queue


import asyncio
import json
import logging
import os
import signal
import statistics
import subprocess
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.config import load_config
from bot.domain.dispatch_models import to_iso
from bot.domain.models import Role
from sandbox.emulator import BotApiEmulator
from storage.db import Database
from tests.e2e.harness import BotHarness, Clock

logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)

DISPATCHER, GROUP, ADMIN = 102, -1001, 1
CUSTOMERS = 2000
CLASSES = ("agent", "industry", "network", "quasi", "other")
QUEUE_RUNS = 3
ANSWER_TIMEOUT = float(os.environ.get("GROWTH_TIMEOUT", "120"))


async def seed_open_tickets(db: Database, count: int, now: datetime) -> None:
    """count open tickets in the queue, each with a pending SLA-RESPOND deadline."""
    created = now.isoformat()
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO customers (id, name, class, created_at) VALUES (?, ?, ?, ?)",
            [(i + 1, f"客户{i + 1}", CLASSES[i % 5], created) for i in range(CUSTOMERS)],
        )
        tickets, promises = [], []
        for i in range(count):
            opened = to_iso(now - timedelta(minutes=i % 600))
            tickets.append(
                (
                    i + 1,
                    i % CUSTOMERS + 1,
                    f"故障{i}",
                    ("hardware", "software")[i % 2],
                    i % 3 == 0,
                    i % 5 == 0,
                    i % 7 == 0,
                    "new",
                    opened,
                    opened,
                )
            )
            due = now + timedelta(hours=11) - timedelta(minutes=i % 600)  # none due in the run
            promises.append(
                ("SLA-RESPOND", i + 1, to_iso(due), to_iso(due - timedelta(minutes=30)))
            )
        await conn.executemany(
            "INSERT INTO tickets (id, customer_id, fault, service_type, major, brand, tool, state,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            tickets,
        )
        await conn.executemany(
            "INSERT INTO deadlines (kind, ref_id, due_at, warn_at, state)"
            " VALUES (?, ?, ?, ?, 'pending')",
            promises,
        )


async def queue_first_page_ms(count: int) -> float | None:
    """Median ms from /queue to the bot's first answer in the group; None if it timed out."""
    with tempfile.TemporaryDirectory() as folder:
        config = replace(
            load_config(None),
            db_path=str(Path(folder) / "growth.db"),
            rate_limiter=False,
            monthly_summary=False,
            backup_dir="",
            admins=(ADMIN,),
        )
        async with BotApiEmulator() as emulator:
            harness = BotHarness(emulator, config, Clock())
            await harness.start()
            try:
                await harness.seed(DISPATCHER, "王调度", Role.DISPATCHER)
                await harness.bind_group(GROUP)
                await seed_open_tickets(harness.db, count, datetime.now(UTC))
                timings = []
                for _ in range(QUEUE_RUNS):
                    mark = emulator.mark()
                    started = time.perf_counter()
                    emulator.send_text(DISPATCHER, "/queue", chat_id=GROUP)
                    try:
                        answer = await emulator.wait_for_message(
                            GROUP, after=mark, timeout=ANSWER_TIMEOUT
                        )
                    except TimeoutError:
                        print(
                            f"/queue at {count}: no answer in {ANSWER_TIMEOUT} s", file=sys.stderr
                        )
                        break
                    timings.append((time.perf_counter() - started) * 1000)
                    if "#" not in (answer.get("text") or ""):  # the apology, not the queue
                        print(f"/queue at {count}: {answer.get('text')!r}", file=sys.stderr)
                    await harness.idle(timeout=ANSWER_TIMEOUT)
                print(f"/queue at {count}: runs {[round(x) for x in timings]} ms", file=sys.stderr)
                return statistics.median(timings) if timings else None
            finally:
                await harness.stop()


async def seed_deadlines(db_path: Path, count: int) -> None:
    """count pending deadlines due over the next days (none fires during the run)."""
    db = await Database.open(db_path)
    now = datetime.now(UTC)
    try:
        async with db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO deadlines (kind, ref_id, due_at, warn_at, state)"
                " VALUES ('SLA-RESPOND', ?, ?, NULL, 'pending')",
                [
                    (i + 1, (now + timedelta(hours=2, seconds=17 * i)).isoformat())
                    for i in range(count)
                ],
            )
    finally:
        await db.close()


async def start_and_stop(count: int) -> tuple[float, float | None, float | None]:
    """(start → first answer, the slowest of ten answers after it, SIGTERM → exit) of
    `python -m bot run` with count pending deadlines."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db_path = folder / "growth.db"
        await seed_deadlines(db_path, count)
        async with BotApiEmulator() as emu:
            emu.user(ADMIN, "站长")
            config = folder / "config.toml"
            config.write_text(
                f'[telegram]\ntoken = "{emu.token}"\nadmins = [{ADMIN}]\n'
                f'base_url = "{emu.base_url}"\nbase_file_url = "{emu.base_file_url}"\n'
                f"rate_limiter = false\npoll_timeout_s = 1\n"
                f'[database]\npath = "{db_path}"\nbackup_dir = ""\n'
                f"[reports]\nmonthly_summary = false\n",
                encoding="utf-8",
            )
            mark = emu.mark()
            emu.send_text(ADMIN, "/help")
            started = time.perf_counter()
            proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "--config", str(config), "run"],
                cwd=folder,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                stdout=subprocess.DEVNULL,
                stderr=open(os.environ.get("BENCH_STDERR", os.devnull), "a"),
            )
            try:
                await emu.wait_for_message(ADMIN, after=mark, timeout=ANSWER_TIMEOUT)
                first = time.perf_counter() - started
                # Then the longest wait for an answer over the next seconds, while start-up
                # work (arming the deadline timers) runs: a frozen loop shows here.
                worst: float | None = 0.0
                for _ in range(10):
                    mark = emu.mark()
                    asked = time.perf_counter()
                    emu.send_text(ADMIN, "/help")
                    try:
                        await emu.wait_for_message(ADMIN, after=mark, timeout=ANSWER_TIMEOUT)
                    except TimeoutError:
                        worst = None  # not answered within ANSWER_TIMEOUT
                        print(f"/help: no answer in {ANSWER_TIMEOUT} s", file=sys.stderr)
                        break
                    worst = max(worst, time.perf_counter() - asked)
                    await asyncio.sleep(0.2)
                await asyncio.sleep(0.5)  # the bot is up and idle with its timers armed
                stopping = time.perf_counter()
                proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.to_thread(proc.wait, ANSWER_TIMEOUT)
                    stop: float | None = time.perf_counter() - stopping
                except subprocess.TimeoutExpired:
                    stop = None  # still running after ANSWER_TIMEOUT seconds
                    print(f"SIGTERM: not stopped after {ANSWER_TIMEOUT} s", file=sys.stderr)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
    return first, worst, stop


FILL_CHILD = """
import asyncio, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from bench.statement import fill
from bot.config import load_config
from storage.db import Database

async def main():
    config = load_config(Path(sys.argv[1]) / "config.example.toml")
    db = await Database.open(sys.argv[2])
    await fill(db, config.station_location)
    await db.close()

asyncio.run(main())
"""

# Like /summary's worker process: a fresh process reads the month from the database, computes
# the statement, then builds the workbook (the month was written by another process before).
WORKBOOK_CHILD = """
import asyncio, json, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from bench.growth import build_workbook, peak_rss_mb, reset_peak_rss
from bench.statement import MONTH
from bot.services import statements
from bot.config import load_config
from storage.db import Database

async def load(config):
    db = await Database.open(sys.argv[2])
    statement = await statements.compute(db, config, MONTH)
    metrics = await statements.metrics(db, config, MONTH)
    await db.close()
    return statement, metrics

config = load_config(Path(sys.argv[1]) / "config.example.toml")
statement, metrics = asyncio.run(load(config))
reset_peak_rss()  # from here: what the process holds with the statement, and the build's own
started = time.perf_counter()
build_workbook(statement, metrics, Path(sys.argv[3]) / "month.xlsx", config.language)
took = time.perf_counter() - started
print(json.dumps({"s": took, "peak_mb": peak_rss_mb()}))
"""


def build_workbook(statement, metrics, path: Path, language: str) -> Path:  # noqa: ANN001
    """The workbook under measurement: the streaming builder /summary's worker uses."""
    from bot.services.workbook import build_workbook_file

    return build_workbook_file(statement, metrics, path, language)


def reset_peak_rss() -> None:
    """Start counting this process's peak RSS from now (Linux: clear_refs 5)."""
    with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
        handle.write("5")


def peak_rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def workbook_100k() -> tuple[float, float]:
    """(seconds, peak MB) of building the 100,000-slip workbook in a child process that reads
    the month from the database first, as /summary's worker does."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as folder:
        db_path = str(Path(folder) / "bench.db")
        subprocess.run([sys.executable, "-c", FILL_CHILD, str(ROOT), db_path], check=True, env=env)
        out = subprocess.run(
            [sys.executable, "-c", WORKBOOK_CHILD, str(ROOT), db_path, folder],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return result["s"], result["peak_mb"]


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


async def main() -> None:
    skip = set(os.environ.get("GROWTH_SKIP", "").split(","))
    queue_10k = await queue_first_page_ms(10_000) if "queue" not in skip else None
    queue_100k = await queue_first_page_ms(100_000) if "queue100k" not in skip else None
    first, worst, stop = await start_and_stop(10_000) if "start" not in skip else (None, None, None)
    book_s, book_mb = workbook_100k() if "workbook" not in skip else (None, None)
    print(
        json.dumps(
            {
                "queue_10k_ms": _round(queue_10k, 1),
                "queue_100k_ms": _round(queue_100k, 1),
                "start_10k_deadlines_first_answer_s": _round(first, 3),
                "stop_10k_deadlines_s": _round(stop, 3),
                "slowest_answer_after_start_10k_deadlines_s": _round(worst, 3),
                "workbook_100k_s": _round(book_s, 3),
                "workbook_100k_peak_mb": _round(book_mb, 1),
                "timeout_s": ANSWER_TIMEOUT,  # null: not answered (or not stopped) within it
                "targets": {
                    "queue_10k_ms": 150,
                    "queue_100k_ms": 1500,
                    "start_10k_deadlines_first_answer_s": 2.0,
                    "stop_10k_deadlines_s": 3.0,
                },
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
