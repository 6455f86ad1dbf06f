"""The contract suite stands on the core alone: no Telegram, handlers or sandbox behind it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FRONT_ENDS = ("telegram", "handlers", "sandbox")


def test_the_suite_imports_no_front_end() -> None:
    modules = sorted(
        f"tests.services.{path.stem}"
        for path in Path(__file__).parent.glob("*.py")
        if path.stem != "__init__"
    )
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FRONT_ENDS!r}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert len(modules) >= 5  # the fake channel, its fixtures and the suites were all loaded
