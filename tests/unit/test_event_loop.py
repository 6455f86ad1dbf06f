"""The command line runs on uvloop where it is installed, on asyncio's own loop otherwise."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from bot import cli

CONFIG = str(Path(__file__).resolve().parents[2] / "config.example.toml")


@pytest.mark.skipif(sys.platform == "win32", reason="uvloop is not installed on Windows")
def test_uvloop_is_chosen_where_installed() -> None:
    import uvloop

    assert cli.event_loop_factory() is uvloop.new_event_loop


def test_without_uvloop_asyncio_keeps_its_own_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # importing it now raises ImportError
    assert cli.event_loop_factory() is None


@pytest.mark.parametrize("uvloop_installed", [True, False])
def test_a_command_runs_on_the_chosen_loop(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, uvloop_installed: bool
) -> None:
    if not uvloop_installed:
        monkeypatch.setitem(sys.modules, "uvloop", None)
    loops: list[str] = []

    async def dispatch(args: object, config: object) -> int:
        loops.append(type(asyncio.get_running_loop()).__module__)
        return 0

    monkeypatch.setattr(cli, "_dispatch", dispatch)
    argv = ["--config", CONFIG, "statement", "--month", "2026-11", "--db", str(tmp_path / "x.db")]
    assert cli.main(argv) == 0
    assert len(loops) == 1
    assert loops[0].startswith("uvloop") is uvloop_installed
