"""Daily backups: a readable copy per day, only the newest N kept."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

from bot.services.backups import daily_backup
from storage.db import Database


async def test_daily_backups_rotate(db: Database, tmp_path) -> None:
    folder = tmp_path / "backups"
    start = datetime(2026, 11, 1, 3, 0)
    for day in range(5):
        await daily_backup(db, folder, keep=3, now=start + timedelta(days=day))
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["fieldbot-2026-11-03.db", "fieldbot-2026-11-04.db", "fieldbot-2026-11-05.db"]
    copy = sqlite3.connect(folder / names[-1])
    try:
        assert copy.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] >= 1
    finally:
        copy.close()
