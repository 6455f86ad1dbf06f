"""Helpers for tests that run the bot as its own process (`python -m bot run`) and kill it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

ADMIN = 1


def write_config(tmp_path: Path, base_url: str, file_url: str, *extra: str) -> Path:
    """A config.toml for a bot process against the emulator, its database in tmp_path;
    `extra` lines are appended (e.g. another section)."""
    path = tmp_path / "config.toml"
    lines = [
        "[telegram]",
        'token = "123456:TEST"',
        f"admins = [{ADMIN}]",
        f'base_url = "{base_url}"',
        f'base_file_url = "{file_url}"',
        "rate_limiter = false",
        "poll_timeout_s = 1",
        "[database]",
        f'path = "{tmp_path / "bot.db"}"',
        'backup_dir = ""',
        *extra,
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


async def wait_until(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    """Poll predicate until it holds; TimeoutError after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.01)
