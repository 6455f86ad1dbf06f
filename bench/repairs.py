"""Benchmark: the returns board's first page and one timer pass over 5,000 open repair items
(plus 2,000 finished ones) on a temporary database; prints one JSON line."""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder would come first on sys.path, where bench/queue.py
# shadows the standard library's `queue`: look in the repository root instead.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

import asyncio
import json
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.config import load_config
from bot.domain.dispatch_models import NewCustomer, to_iso
from bot.domain.repair_models import NewItem
from bot.services import Services
from bot.services import repair_service as desk
from storage import customers, people
from storage import repairs as store
from storage.db import Database

OPEN_ITEMS = 5000
FINISHED_ITEMS = 2000
RUNS = 21
NOW = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)
CLASSES = (
    ("industry", ""),
    ("network", ""),
    ("other", ""),
    ("agent", "county"),
    ("agent", "local"),
)


async def seed(services: Services) -> None:
    """Open items taken in over the last 30 days in every state, and finished ones among them."""
    async with services.db.transaction() as conn:
        tech = await people.ensure_technician(conn, "张伟")
        customer_ids = [
            await customers.insert(conn, NewCustomer(name=f"客户{n}", customer_class=c, kind=k))
            for n, (c, k) in enumerate(CLASSES * 4)
        ]
        total = OPEN_ITEMS + FINISHED_ITEMS
        for number in range(total):
            taken_in = NOW - timedelta(minutes=(total - number) * 30 * 24 * 60 // total)
            item_id = await store.insert(
                conn,
                NewItem(
                    customer_id=customer_ids[number % len(customer_ids)],
                    product=f"台式机 {number}",
                    fault="不开机",
                    packaging="none",
                    accessories=("电源线",),
                ),
                voucher_no=f"FX-BENCH-{number:05d}",
                expected_back=None,
                taken_in_by=tech,
                at=taken_in,
            )
            state, extra = "received", {}
            if number % 4 == 1:
                state, extra = "sent_up", {"sent_up_at": to_iso(taken_in + timedelta(days=1))}
            elif number % 4 == 2:
                state, extra = "back", {"back_at": to_iso(taken_in + timedelta(days=2))}
            if number % ((total // FINISHED_ITEMS) or 1) == 0 and number // 3 < FINISHED_ITEMS:
                state, extra = "returned", {"finished_at": to_iso(taken_in + timedelta(days=3))}
            if extra:
                sets = ", ".join(f"{k} = ?" for k in extra)
                await conn.execute(
                    f"UPDATE repair_items SET state = ?, {sets} WHERE id = ?",
                    (state, *extra.values(), item_id),
                )


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 3)


async def measure() -> dict[str, object]:
    with tempfile.TemporaryDirectory() as folder:
        config = replace(load_config(None), db_path=str(Path(folder) / "bench.db"), backup_dir="")
        db = await Database.open(config.db_path, config.busy_timeout_ms)
        try:
            services = Services(config=config, db=db, clock=lambda: NOW)
            await seed(services)
            async with db.read() as conn:
                open_items = await store.count_open(conn)
            board, timers, timer_cpu = [], [], []
            for _ in range(RUNS):
                start = time.perf_counter()
                page = await desk.board(services)
                board.append(time.perf_counter() - start)
                start, cpu = time.perf_counter(), time.process_time()
                due = await desk.timer_pass(services)
                timers.append(time.perf_counter() - start)
                timer_cpu.append(time.process_time() - cpu)
            assert len(page.lines) == config.repairs.board_page_size and due
            return {
                "open_items": open_items,
                "board_first_page_ms": median_ms(board),
                "timer_pass_ms": median_ms(timers),
                # CPU time of the same pass (all threads): what it costs on a machine that is
                # busy with other work, where the wall time also counts waiting for a core.
                "timer_pass_cpu_ms": median_ms(timer_cpu),
            }
        finally:
            await db.close()


def main() -> None:
    print(json.dumps(asyncio.run(measure())))


if __name__ == "__main__":
    main()
