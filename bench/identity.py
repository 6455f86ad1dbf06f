"""The gate's "who is this" lookup: identities (one keyed read) against the former path.

Prints one JSON line: microseconds per lookup (median of 7 rounds of 3,000 lookups, a third
each staff, linked customers and strangers) on the quick-lookup connection, with 5,000 people
and 50,000 customers (half linked to a chat), for
- identities_us: bot.services.identities.resolve (what handlers/gate.py does now);
- telegram_columns_us: people.by_telegram_id, then customers.id_by_telegram and
  customers.language_of for a non-staff sender (what it did before).
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)

import asyncio
import json
import random
import statistics
import tempfile
import time
from dataclasses import replace

from bot.config import load_config
from bot.services import Services, identities
from storage import customers, people
from storage.db import Database, utcnow_iso

PEOPLE = 5_000
CUSTOMERS = 50_000
ROUNDS = 7
PER_ROUND = 3_000


async def _seed(db: Database) -> None:
    now = utcnow_iso()
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO people (name, role, telegram_id, created_at) VALUES (?, ?, ?, ?)",
            [(f"员工{n}", "dispatcher", 10_000 + n, now) for n in range(PEOPLE)],
        )
        await conn.executemany(
            "INSERT INTO customers (name, class, telegram_id, created_at) VALUES (?, ?, ?, ?)",
            [
                (f"客户{n}", "other", 1_000_000 + n if n % 2 == 0 else None, now)
                for n in range(CUSTOMERS)
            ],
        )
        # As migration 020 backfills them.
        await conn.execute(
            "INSERT INTO identities (channel, external_id, person_id, customer_id, linked_at)"
            " SELECT 'telegram', CAST(telegram_id AS TEXT), id, NULL, created_at FROM people"
            " WHERE telegram_id IS NOT NULL"
        )
        await conn.execute(
            "INSERT INTO identities (channel, external_id, person_id, customer_id, linked_at)"
            " SELECT 'telegram', CAST(telegram_id AS TEXT), NULL, id, created_at FROM customers"
            " WHERE telegram_id IS NOT NULL"
        )


async def _old(db: Database, user_id: int) -> object:
    async with db.lookup() as conn:
        person = await people.by_telegram_id(conn, user_id)
        if person is None:
            customer_id = await customers.id_by_telegram(conn, user_id)
            if customer_id is not None:
                await customers.language_of(conn, customer_id)
    return person


async def _time(lookup, ids: list[int]) -> float:  # noqa: ANN001
    start = time.perf_counter()
    for user_id in ids:
        await lookup(user_id)
    return (time.perf_counter() - start) / len(ids) * 1e6


async def main() -> None:
    config = load_config(ROOT / "config.example.toml", env={})
    with tempfile.TemporaryDirectory() as tmp:
        config = replace(config, db_path=str(Path(tmp) / "bench.db"))
        db = await Database.open(config.db_path)
        try:
            await _seed(db)
            services = Services(config, db)
            rng = random.Random(7)
            new_us, old_us = [], []
            for _ in range(ROUNDS):
                ids = [
                    rng.choice(
                        (
                            10_000 + rng.randrange(PEOPLE),
                            1_000_000 + 2 * rng.randrange(CUSTOMERS // 2),
                            5_000_000 + rng.randrange(10**6),
                        )
                    )
                    for _ in range(PER_ROUND)
                ]
                new_us.append(
                    await _time(lambda u: identities.resolve(services, "telegram", u), ids)
                )
                old_us.append(await _time(lambda u: _old(db, u), ids))
        finally:
            await db.close()
    print(
        json.dumps(
            {
                "identities_us": round(statistics.median(new_us), 1),
                "telegram_columns_us": round(statistics.median(old_us), 1),
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
