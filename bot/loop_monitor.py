"""Event-loop lag monitor: how long the loop's thread was kept from running a timer.

A task sleeps a short tick again and again; whatever it oversleeps is time the loop spent on
something else without yielding. Each second it appends one JSON line to a file,
`{"t": <unix time at the window's end>, "max_ms": <longest overshoot in the window>}`, so a
benchmark can read the longest block during any stretch. Enabled by the environment variable
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
    worst = 0.0
    window_end = time.monotonic() + window_s
    while True:
        before = time.monotonic()
        await asyncio.sleep(tick_s)
        overshoot = (time.monotonic() - before - tick_s) * 1000
        worst = max(worst, overshoot)
        if overshoot > WARN_MS:
            log.warning("event loop blocked for %.0f ms", overshoot)
        if time.monotonic() >= window_end:
            line = json.dumps({"t": round(time.time(), 3), "max_ms": round(worst, 1)})
            with open(target, "a", encoding="utf-8") as handle:  # a few bytes a second
                handle.write(line + "\n")
            worst = 0.0
            window_end = time.monotonic() + window_s
