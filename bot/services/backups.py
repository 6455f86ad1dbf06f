"""Daily database backups into a folder, keeping the newest N."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from storage.db import Database

PREFIX = "fieldbot-"


async def daily_backup(db: Database, folder: str | Path, keep: int, now: datetime) -> Path:
    """Write today's backup (replacing one from earlier today) and prune old ones."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{PREFIX}{now:%Y-%m-%d}.db"
    partial = target.with_suffix(".db.partial")
    partial.unlink(missing_ok=True)
    await db.backup(partial)
    partial.replace(target)  # a crash mid-backup never leaves a truncated file under the real name
    prune(folder, keep)
    return target


def prune(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest keep backups; returns what was removed."""
    backups = sorted(folder.glob(f"{PREFIX}*.db"))
    removed = backups[:-keep] if keep > 0 else backups
    for path in removed:
        path.unlink()
    return removed
