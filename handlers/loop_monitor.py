"""Event-loop lag monitor: how long the loop's thread was kept from running a timer.

A task sleeps a short tick again and again; whatever it oversleeps is time the loop spent on
something else without yielding, or time the process waited for a CPU. Each second it appends
one JSON line to a file, `{"t": <unix time at the window's end>, "max_ms": <longest overshoot>,
"busy_ms": <longest overshoot the loop's thread spent running>}`: busy_ms is the loop blocked
by the bot's own work, max_ms also counts a busy machine. A benchmark reads the longest block
during any stretch from it. Enabled by the environment variable
FIELDBOT_LOOP_MONITOR=<file>; off (no task) otherwise.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from pathlib import Path

log = logging.getLogger(__name__)

ENV_VAR = "FIELDBOT_LOOP_MONITOR"
TICK_S = 0.01
WINDOW_S = 1.0
WARN_MS = 100.0


def start_from_env() -> asyncio.Task[None] | None:
    """Start the monitor if FIELDBOT_LOOP_MONITOR names a file; None when it is off."""
    target = os.environ.get(ENV_VAR, "").strip()
    if not target:
        return None
    return asyncio.get_running_loop().create_task(monitor(Path(target)), name="loop-monitor")


async def monitor(target: Path, tick_s: float = TICK_S, window_s: float = WINDOW_S) -> None:
    """Measure sleep overshoot forever, writing each window's longest one to target."""
    target.parent.mkdir(parents=True, exist_ok=True)
    worst = worst_busy = 0.0
    window_end = time.monotonic() + window_s
    while True:
        before, cpu_before = time.monotonic(), time.thread_time()
        await asyncio.sleep(tick_s)
        overshoot = (time.monotonic() - before - tick_s) * 1000
        # The loop's own thread working through the overshoot is a block; the process waiting
        # for a CPU (a busy machine) is not: count only the CPU time the thread used meanwhile.
        busy = min(overshoot, (time.thread_time() - cpu_before) * 1000)
        worst, worst_busy = max(worst, overshoot), max(worst_busy, busy)
        if busy > WARN_MS:
            log.warning("event loop blocked for %.0f ms", busy)
        if time.monotonic() >= window_end:
            record = {"t": round(time.time(), 3), "max_ms": round(worst, 1)}
            record["busy_ms"] = round(worst_busy, 1)
            with open(target, "a", encoding="utf-8") as handle:  # a few bytes a second
                handle.write(json.dumps(record) + "\n")
            worst = worst_busy = 0.0
            window_end = time.monotonic() + window_s
