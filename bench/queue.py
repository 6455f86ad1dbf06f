"""Benchmark: ranking 10,000 open tickets, and a ticket created end to end (quick form in,
card out) through the Bot API emulator; prints one JSON line. The rate limiter is off."""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and its name would shadow the
# standard library's `queue`: look in the repository root instead.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

import asyncio  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import replace  # noqa: E402

from bench.rank_part import rank_median_ms  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.domain.dispatch_models import NewCustomer  # noqa: E402
from bot.domain.models import Role  # noqa: E402
from bot.services import dispatching  # noqa: E402
from sandbox.emulator import BotApiEmulator  # noqa: E402
from tests.e2e.harness import BotHarness, Clock  # noqa: E402

TICKETS = 50
WARM_UP = 3
DISPATCHER, GROUP = 102, -1001


async def ticket_e2e_median_ms(tickets: int = TICKETS) -> float:
    """Median ms from a dispatcher's quick-form /new to the ticket's card in the group."""
    with tempfile.TemporaryDirectory() as folder:
        config = replace(
            load_config(None),
            db_path=str(Path(folder) / "bench.db"),
            rate_limiter=False,
            monthly_summary=False,
            backup_dir="",
            admins=(1,),
        )
        async with BotApiEmulator() as emulator:
            harness = BotHarness(emulator, config, Clock())
            await harness.start()
            try:
                await harness.seed(DISPATCHER, "王调度", Role.DISPATCHER)
                await harness.bind_group(GROUP)
                await dispatching.create_customer(
                    harness.services,
                    NewCustomer(name="蓝海网吧", customer_class="network", site=(30.67, 104.10)),
                )
                timings = []
                for number in range(1, tickets + WARM_UP + 1):
                    mark = emulator.mark()
                    start = time.perf_counter()
                    emulator.send_text(
                        DISPATCHER,
                        f"/new 蓝海网吧 | 故障{number} | 硬件 重大 品牌 工具",
                        chat_id=GROUP,
                    )
                    await emulator.wait_for_message(GROUP, f"工单 #{number}", after=mark)
                    timings.append((time.perf_counter() - start) * 1000)
                    await harness.idle()
                return statistics.median(timings[WARM_UP:])
            finally:
                await harness.stop()


def main() -> None:
    rank_ms = rank_median_ms()
    e2e_ms = asyncio.run(ticket_e2e_median_ms())
    print(
        json.dumps(
            {
                "rank_10k_median_ms": round(rank_ms, 3),
                "ticket_e2e_median_ms": round(e2e_ms, 3),
                "tickets": TICKETS,
                "rate_limiter": False,
                "note": "rate limiter off for the bench (config.rate_limiter=False)",
            }
        )
    )


if __name__ == "__main__":
    main()
