"""The gate's "who is this" lookup: identities (one keyed read) against the former path.

Prints one JSON line: microseconds per lookup (CPU time, median of 21 rounds of 1,000 lookups
per kind of sender: staff, linked customers, strangers) on the quick-lookup connection, with
5,000 people and 50,000 customers (half linked to a chat), for
- identities_<kind>_us: bot.services.identities.resolve (what handlers/gate.py does now);
- telegram_columns_<kind>_us: people.by_telegram_id, then customers.id_by_telegram and
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
ROUNDS = 21
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
    start = time.process_time()
    for user_id in ids:
        await lookup(user_id)
    return (time.process_time() - start) / len(ids) * 1e6


async def main() -> None:
    config = load_config(ROOT / "config.example.toml", env={})
    with tempfile.TemporaryDirectory() as tmp:
        config = replace(config, db_path=str(Path(tmp) / "bench.db"))
        db = await Database.open(config.db_path)
        try:
            await _seed(db)
            services = Services(config, db)
            rng = random.Random(7)
            kinds = {
                "staff": lambda: 10_000 + rng.randrange(PEOPLE),
                "customer": lambda: 1_000_000 + 2 * rng.randrange(CUSTOMERS // 2),
                "stranger": lambda: 5_000_000 + rng.randrange(10**6),
            }
            times: dict[str, list[float]] = {}
            for _ in range(ROUNDS):
                for kind, draw in kinds.items():
                    ids = [draw() for _ in range(PER_ROUND // 3)]
                    # Interleaved, so a busy machine slows both alike.
                    new = await _time(lambda u: identities.resolve(services, "telegram", u), ids)
                    old = await _time(lambda u: _old(db, u), ids)
                    times.setdefault(f"identities_{kind}_us", []).append(new)
                    times.setdefault(f"telegram_columns_{kind}_us", []).append(old)
        finally:
            await db.close()
    result = {key: round(statistics.median(values), 1) for key, values in sorted(times.items())}
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
