"""Stall benchmark: a manager's /summary of a 100,000-slip month while technicians keep asking /help.

The bot runs as its own process (`python -m bot run`) against the Bot API emulator served here,
on a database holding bench/statement.py's month (100,000 slips of 50 technicians). Every
technician sends /help, waits for the answer and sends again after HELP_PAUSE_S, the whole time;
meanwhile the manager sends /summary once. Measured:

- `summary_s`: /summary sent → the last of its files (the chart) delivered;
- `loop_block_max_ms`: the longest stretch the bot's event loop was kept busy without running a
  timer during the summary, from the bot's own lag monitor (handlers/loop_monitor.py,
  FIELDBOT_LOOP_MONITOR=<file>: a task sleeping 10 ms in a loop, logging each second its worst
  overshoot, counted as the CPU time the loop's thread used during it); `loop_stall_max_ms` is
  the worst overshoot in wall time, which also counts the bot waiting for a CPU on a busy machine;
- `help_p99_ms_during_summary` (and max): latency of the /help answers sent while it ran;
- `peak_rss_mb` / `rss_after_mb`: the bot process's resident memory (psutil, sampled every
  50 ms; the peak is the kernel's high-water mark VmHWM), and `peak_children_rss_mb` for any
  worker processes the bot starts, summed; `rss_after_mb` is read SETTLE_S after the summary.

Then the workbook alone: `workbook_100k_s` and `workbook_100k_peak_mb` time
`bot.services.reports.build_workbook_file` on the same month in a fresh process, after one warm-up build
(peak = the highest RSS sampled every 10 ms while building, less the RSS before it, with the
statement already loaded). Prints one JSON line.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)  # not bench/: bench/queue.py would shadow the standard library's queue


import asyncio
import json
import logging
import os
import statistics
import subprocess
import tempfile
import textwrap
import time

import psutil

import bench.statement as month_data
from bench.statement import MONTH, SLIPS, fill
from bench.visits import first_answer, peak_rss_mb, start_process, wait_polling
from bot.config import load_config
from sandbox.emulator import BotApiEmulator
from storage import identities
from storage.db import Database

logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)

FIRST_TECH = 5000  # telegram ids of the technicians: FIRST_TECH + person id
MANAGER = 9000
HELP_PAUSE_S = 1.0  # each technician's pause between answer and next /help: <= 50 a second
# STALL_TECHNICIANS overrides bench/statement.py's 50 technicians (the same 100,000 slips).
TECHNICIANS = month_data.TECHNICIANS = int(os.environ.get("STALL_TECHNICIANS", "50"))
SETTLE_S = 3.0
SUMMARY_TIMEOUT = 600.0


async def seed(db_path: Path) -> None:
    """bench/statement.py's month, the technicians on Telegram, and a manager."""
    config = load_config(ROOT / "config.example.toml")
    db = await Database.open(db_path)
    await fill(db, config.station_location)
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE people SET telegram_id = ? + id, language = 'zh-CN' WHERE role = 'technician'",
            (FIRST_TECH,),
        )
        await conn.execute(
            "INSERT INTO people (name, role, telegram_id, language, created_at)"
            " VALUES ('经理', 'manager', ?, 'zh-CN', '2026-11-01T00:00:00+00:00')",
            (MANAGER,),
        )
        await identities.backfill_telegram_people(conn)  # the gate knows people by identity
        # One penalty in the month, voided after the close: a correction to a closed month.
        await conn.execute(
            "INSERT INTO events (technician_id, rule, day, amount_fen, note, recorded_by,"
            " recorded_at) SELECT id, 'DED-LATE', ?, NULL, '', NULL, '2026-11-20T00:00:00+00:00'"
            " FROM people WHERE role = 'technician' ORDER BY id LIMIT 1",
            (f"{MONTH}-20",),
        )
    await db.close()


class Sampler:
    """The bot's RSS and its children's, every 50 ms."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak_children_mb = 0.0
        self.running = True

    async def run(self) -> None:
        while self.running:
            try:
                children = self.process.children(recursive=True)
                total = sum(child.memory_info().rss for child in children) / 2**20
            except psutil.Error:
                total = 0.0
            self.peak_children_mb = max(self.peak_children_mb, total)
            await asyncio.sleep(0.05)

    def rss_mb(self) -> float:
        return self.process.memory_info().rss / 2**20


def monitor_max(path: Path, start: float, end: float, key: str) -> float | None:
    """The worst value of key logged in windows overlapping [start, end] (wall-clock seconds)."""
    if not path.exists():
        return None
    worst = None
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if start <= record["t"] <= end + 1.0 and key in record:  # stamped when a window ends
            worst = max(worst or 0.0, record[key])
    return worst


async def manager_phase(
    emu: BotApiEmulator,
    command: str,
    answer_contains: str,
    monitor_file: Path,
    helps: list[tuple[float, float]],
) -> dict:
    """The manager sends command and waits for the answer: its time, the loop's worst block
    and the /help latency meanwhile."""
    mark = emu.mark()
    wall_start, started = time.time(), time.perf_counter()
    emu.send_text(MANAGER, command)
    await emu.wait_for_message(MANAGER, answer_contains, after=mark, timeout=SUMMARY_TIMEOUT)
    ended, wall_end = time.perf_counter(), time.time()
    await asyncio.sleep(1.2)  # the monitor logs each second's window when it ends
    during = sorted(lat for sent, lat in helps if started <= sent <= ended)
    return {
        "s": round(ended - started, 2),
        "loop_block_max_ms": monitor_max(monitor_file, wall_start, wall_end, "busy_ms"),
        "help_p99_ms": round(during[max(0, int(len(during) * 0.99) - 1)] * 1000, 1)
        if during
        else None,
    }


async def bench_summary(folder: Path) -> dict:
    db_path = folder / "stall.db"
    await seed(db_path)
    monitor_file = folder / "loop.jsonl"
    async with BotApiEmulator() as emu:
        techs = [FIRST_TECH + i + 1 for i in range(TECHNICIANS)]
        for tech in techs:
            emu.user(tech, f"技术员{tech}")
        emu.user(MANAGER, "经理")
        config = folder / "config.toml"
        config.write_text(
            f'[telegram]\ntoken = "{emu.token}"\nadmins = []\nbase_url = "{emu.base_url}"\n'
            f'base_file_url = "{emu.base_file_url}"\nrate_limiter = false\npoll_timeout_s = 1\n'
            f'[database]\npath = "{db_path}"\nbackup_dir = ""\n[reports]\nmonthly_summary = false\n',
            encoding="utf-8",
        )
        os.environ["FIELDBOT_LOOP_MONITOR"] = str(monitor_file)
        proc = start_process([sys.executable, "-m", "bot", "--config", str(config), "run"], folder)
        del os.environ["FIELDBOT_LOOP_MONITOR"]
        sampler = Sampler(proc.pid)
        sampling = asyncio.ensure_future(sampler.run())
        try:
            await wait_polling(emu)
            for tech in techs:  # warm up: every technician once
                mark = emu.mark()
                await first_answer(emu, tech, mark, emu.send_text(tech, "/help"))
            rss_before = sampler.rss_mb()
            helps: list[tuple[float, float]] = []  # (sent at, latency)
            stop = asyncio.Event()

            async def technician(tech: int) -> None:
                while not stop.is_set():
                    mark = emu.mark()
                    sent = time.perf_counter()
                    try:
                        await first_answer(emu, tech, mark, emu.send_text(tech, "/help"))
                    except TimeoutError:  # counted at the bound (60 s): the bot was stalled
                        pass
                    helps.append((sent, time.perf_counter() - sent))
                    await asyncio.sleep(HELP_PAUSE_S)

            askers = [asyncio.ensure_future(technician(tech)) for tech in techs]
            await asyncio.sleep(2.0)
            mark = emu.mark()
            wall_start, started = time.time(), time.perf_counter()
            emu.send_text(MANAGER, "/summary " + MONTH)
            failed = []

            def finished(call) -> bool:  # noqa: ANN001
                """The chart delivered, or the answer after a failed call (the apology)."""
                if call.chat_id not in (MANAGER, str(MANAGER)):
                    return False
                if not call.ok:
                    failed.append(call)
                return call.method == "sendPhoto" or bool(failed and call.ok)

            await emu.wait_for(finished, timeout=SUMMARY_TIMEOUT, after=mark, chat_id=MANAGER)
            summary_s = time.perf_counter() - started
            ended, wall_end = time.perf_counter(), time.time()
            await asyncio.sleep(1.0)
            closing = await manager_phase(
                emu, f"/closemonth {MONTH}", "已月结", monitor_file, helps
            )
            voiding = await manager_phase(emu, "/void 1 补录错误", "作废", monitor_file, helps)
            stop.set()
            await asyncio.gather(*askers)
            errors = [
                c
                for c in emu.calls(after=mark)
                if c.chat_id in (MANAGER, str(MANAGER)) and not c.ok
            ]
            texts = [
                c.params.get("text") or c.params.get("caption") or ""
                for c in emu.calls(after=mark)
                if c.chat_id in (MANAGER, str(MANAGER))
            ]
            await asyncio.sleep(SETTLE_S)
            rss_after = sampler.rss_mb()
            peak = peak_rss_mb(proc.pid)
        finally:
            sampler.running = False
            await sampling
            proc.terminate()
            await asyncio.to_thread(proc.wait, 20)
    during = sorted(lat for sent, lat in helps if started <= sent <= ended)
    return {
        "technicians": TECHNICIANS,
        "summary_s": round(summary_s, 2),
        "loop_block_max_ms": monitor_max(monitor_file, wall_start, wall_end, "busy_ms"),
        "loop_stall_max_ms": monitor_max(monitor_file, wall_start, wall_end, "max_ms"),
        "help_p99_ms_during_summary": round(during[max(0, int(len(during) * 0.99) - 1)] * 1000, 1)
        if during
        else None,
        "help_max_ms_during_summary": round(during[-1] * 1000, 1) if during else None,
        "help_p50_ms_during_summary": round(statistics.median(during) * 1000, 1)
        if during
        else None,
        "helps_during_summary": len(during),
        "closemonth_s": closing["s"],
        "closemonth_loop_block_max_ms": closing["loop_block_max_ms"],
        "help_p99_ms_during_closemonth": closing["help_p99_ms"],
        "void_in_closed_month_s": voiding["s"],
        "void_in_closed_month_loop_block_max_ms": voiding["loop_block_max_ms"],
        "rss_before_mb": round(rss_before, 1),
        "peak_rss_mb": round(peak, 1),
        "peak_children_rss_mb": round(sampler.peak_children_mb, 1),
        "rss_after_mb": round(rss_after, 1),
        "summary_errors": len(errors),
        "summary_longest_text": max(map(len, texts), default=0),
    }


WORKBOOK_SCRIPT = textwrap.dedent(
    """
    import asyncio, gc, json, sys, threading, time
    from pathlib import Path
    from bot.services import reports, statements
    from bot.config import load_config
    from storage.db import Database

    def rss_mb():
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * 4096 / 2**20

    async def load(db_path, month, config):
        db = await Database.open(db_path)
        statement = await statements.compute(db, config, month)
        metrics = await statements.metrics(db, config, month)
        await db.close()
        return statement, metrics

    root, db_path, month, out = sys.argv[1:5]
    build = getattr(reports, "build_workbook_file", None) or reports.write_workbook
    config = load_config(Path(root) / "config.example.toml")
    statement, metrics = asyncio.run(load(db_path, month, config))
    build(statement, metrics, Path(out) / "warm.xlsx")  # imports and caches, not timed
    gc.collect()
    base, peak, done = rss_mb(), [0.0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_mb())
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.perf_counter()
    build(statement, metrics, Path(out) / "month.xlsx")
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    print(json.dumps({"s": elapsed, "peak": peak[0], "base": base}))
    """
)


def bench_workbook(folder: Path) -> dict:
    """Time build_workbook_file on the month in a fresh process; peak memory it adds."""
    script = folder / "workbook_bench.py"
    script.write_text(WORKBOOK_SCRIPT, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = []
    for _ in range(2):
        out = subprocess.run(
            [sys.executable, str(script), str(ROOT), str(folder / "stall.db"), MONTH, str(folder)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    best = min(runs, key=lambda r: r["s"])
    return {
        "workbook_100k_s": round(best["s"], 2),
        # the RSS the build adds over what the process held with the statement loaded
        "workbook_100k_peak_mb": round(max(r["peak"] - r["base"] for r in runs), 1),
    }


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        result = await bench_summary(folder)
        workbook = (
            bench_workbook(folder)
            if os.environ.get("BENCH_SKIP_WORKBOOK") != "1"
            else {"workbook_100k_s": None, "workbook_100k_peak_mb": None}
        )
    print(
        json.dumps(
            {
                "summary_slips": SLIPS,
                **result,
                **workbook,
                "targets": {
                    "loop_block_max_ms": 100,
                    "help_p99_ms_during_summary": 250,
                    "rss_after_mb": 100,
                    "summary_s": 8,
                    "workbook_100k_s": 5,
                    "workbook_100k_peak_mb": 200,
                },
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
