"""Statement benchmark: 100,000 slips of 50 technicians for 2,000 customers in one month.

Each customer has a registered site and each slip the geodesic distance to it, as recorded.
Prints `statement_s` (load + compute every technician's statement), `select_s` (a bare SELECT of
the same columns, fetched into Python through the same driver) and the peak RSS.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)  # not bench/: bench/queue.py would shadow the standard library's queue


import asyncio
import gc
import json
import random
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.config import load_config
from bot.domain.geo import geodesic_m
from bot.services import statements
from storage import ledger
from storage.db import Database

SLIPS = 100_000
TECHNICIANS = 50
CUSTOMERS = 2000
MONTH = "2026-11"
REPEATS = 5
CLASSES = ("agent", "industry", "network", "quasi", "other")


def customer_sites(rng: random.Random, station: tuple[float, float]) -> list[tuple[float, float]]:
    """Registered sites of the customers, within about 30 km of the station."""
    lat, lon = station
    return [
        (lat + rng.uniform(-0.27, 0.27), lon + rng.uniform(-0.31, 0.31)) for _ in range(CUSTOMERS)
    ]


async def fill(db: Database, station: tuple[float, float]) -> None:
    rng = random.Random(7)
    sites = customer_sites(rng, station)
    distances = [geodesic_m(station, site) for site in sites]  # once per site, as recorded
    start = datetime(2026, 10, 31, 17, 0, tzinfo=UTC)  # 01:00 on 1 November in Chengdu
    created = start.isoformat()
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO people (id, name, role, created_at) VALUES (?, ?, 'technician', ?)",
            [(i + 1, f"技术员{i + 1:02d}", created) for i in range(TECHNICIANS)],
        )
        await conn.executemany(
            "INSERT INTO customers (id, name, class, created_at) VALUES (?, ?, ?, ?)",
            [(i + 1, f"客户{i + 1}", CLASSES[i % 5], created) for i in range(CUSTOMERS)],
        )
        rows = []
        for i in range(SLIPS):
            check_in = start + timedelta(seconds=rng.randrange(29 * 24 * 3600))
            check_out = check_in + timedelta(minutes=rng.randrange(20, 180))
            customer = rng.randrange(CUSTOMERS)
            rows.append(
                (
                    rng.randrange(TECHNICIANS) + 1,
                    customer + 1,
                    CLASSES[i % 5],
                    int(i % 17 == 0),
                    "network" if i % 3 == 0 else "single",
                    "software" if i % 4 == 0 else "hardware",
                    check_in.isoformat(),
                    check_out.isoformat(),
                    check_out.isoformat(timespec="seconds"),
                    *sites[customer],
                    distances[customer],
                    int(rng.random() > 0.05),
                    rng.choice(
                        ("satisfied", "satisfied", "satisfied", "neutral", "dissatisfied", None)
                    ),
                    rng.choice((0, 0, 0, 5000, 12000)),
                    created,
                )
            )
        rows.sort(key=lambda row: row[8])  # slips are recorded as visits end: in time order
        await conn.executemany(
            "INSERT INTO slips (technician_id, customer_id, customer_class, netcafe, machine,"
            " service_type, check_in, check_out, check_out_utc, site_lat, site_lon, distance_m,"
            " complete, satisfaction, revenue_fen, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


async def bare_select(db: Database, config) -> float:  # noqa: ANN001
    begin, end = statements.month_bounds(MONTH, config.tz)
    started = time.perf_counter()
    async with db.read() as conn:
        rows = await conn.execute_fetchall(
            f"SELECT {ledger.SLIP_COLUMNS} {ledger.MONTH_SLIPS}",
            (begin.astimezone(UTC).isoformat(), end.astimezone(UTC).isoformat()),
        )
    assert len(rows) == SLIPS
    return time.perf_counter() - started


async def main() -> None:
    config = load_config(ROOT / "config.example.toml")
    with tempfile.TemporaryDirectory() as folder:
        db = await Database.open(Path(folder) / "bench.db")
        await fill(db, config.station_location)
        statement_times, select_times = [], []
        for _ in range(REPEATS):
            statement = None
            gc.collect()  # neither measurement pays for the other's garbage
            select_times.append(await bare_select(db, config))
            gc.collect()
            started = time.perf_counter()
            statement = await statements.compute(db, config, MONTH)
            statement_times.append(time.perf_counter() - started)
        assert sum(t.slips for t in statement.technicians) == SLIPS
        await db.close()
    statement_s = statistics.median(statement_times)
    select_s = statistics.median(select_times)
    print(
        json.dumps(
            {
                "slips": SLIPS,
                "technicians": TECHNICIANS,
                "statement_s": round(statement_s, 3),
                "select_s": round(select_s, 3),
                "ratio": round(statement_s / select_s, 2),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "targets": {"statement_s": 2.0, "ratio": 3.0},
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
