"""Start-up benchmark: process start to the first getUpdates, and idle RSS.

The emulator logs a call when it answers, so the bot polls with timeout 0 here: the first
getUpdates is answered the moment it arrives.

Runs `python -m bot run` against the local Bot API emulator and prints one JSON line.
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
import sys
import tempfile
import time
from pathlib import Path

import psutil

from sandbox.emulator import BotApiEmulator

logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)  # a stopped bot drops its poll

RUNS = 5


def write_config(folder: Path, emu: BotApiEmulator) -> Path:
    config = folder / "config.toml"
    config.write_text(
        f'[telegram]\ntoken = "{emu.token}"\nadmins = [1]\nbase_url = "{emu.base_url}"\n'
        f'base_file_url = "{emu.base_file_url}"\npoll_timeout_s = 0\n'
        f'[database]\npath = "{folder / "bench.db"}"\nbackup_dir = ""\n',
        encoding="utf-8",
    )
    return config


async def one_run(emu: BotApiEmulator, folder: Path, measure_rss: bool) -> tuple[float, float]:
    config = write_config(folder, emu)
    mark = emu.mark()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), "run"],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        await emu.wait_for(lambda call: call.method == "getUpdates", timeout=30, after=mark)
        startup = time.perf_counter() - started
        rss = 0.0
        if measure_rss:
            await asyncio.sleep(3)  # idle: long-polling with nothing to do
            rss = psutil.Process(proc.pid).memory_info().rss / 2**20
        return startup, rss
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


async def main() -> None:
    startups, rss = [], 0.0
    for run in range(RUNS):
        # A fresh emulator per run, so a stopping process's last polls never count for the next.
        async with BotApiEmulator() as emu:
            with tempfile.TemporaryDirectory() as tmp:
                startup, measured = await one_run(emu, Path(tmp), measure_rss=run == RUNS - 1)
                startups.append(startup)
                rss = measured or rss
    print(
        json.dumps(
            {
                "startup_s": round(statistics.median(startups), 3),
                "startup_runs_s": [round(s, 3) for s in startups],
                "idle_rss_mb": round(rss, 1),
                "targets": {"startup_s": 2.0, "idle_rss_mb": 80},
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
