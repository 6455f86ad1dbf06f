"""Benchmark part: median time to rank a 10,000-ticket queue (PRI-SCORE); prints JSON."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)  # not bench/: bench/queue.py would shadow the standard library's queue


import json
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.config import PriorityWeights, SlaConfig
from bot.domain.models import CUSTOMER_CLASSES
from bot.domain.priority import TicketFacts, rank

SEED = 20261101
TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 3, 10, 0, tzinfo=TZ)
SPREAD_MINUTES = 6 * 60
PIN_SHARE = 0.01


def make_tickets(n: int, seed: int = SEED) -> list[TicketFacts]:
    """n random open tickets created within the last few hours, a few of them pinned."""
    rng = random.Random(seed)
    return [
        TicketFacts(
            id=i,
            customer_class=rng.choice(CUSTOMER_CLASSES),
            created_at=NOW - timedelta(minutes=rng.randrange(SPREAD_MINUTES)),
            tool=rng.random() < 0.5,
            major=rng.random() < 0.5,
            repeat=rng.random() < 0.5,
            hardware=rng.random() < 0.5,
            brand=rng.random() < 0.5,
            pinned=rng.random() < PIN_SHARE,
        )
        for i in range(1, n + 1)
    ]


def rank_median_ms(n: int = 10000, repeats: int = 30) -> float:
    """Median wall time in ms of rank() over n tickets, measured repeats times."""
    tickets = make_tickets(n)
    weights = PriorityWeights()
    window = timedelta(hours=SlaConfig().respond_hours)
    rank(tickets, NOW, weights, window)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        rank(tickets, NOW, weights, window)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


if __name__ == "__main__":
    print(json.dumps({"rank_10k_median_ms": round(rank_median_ms(), 3)}))
