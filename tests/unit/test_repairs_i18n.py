"""Every text the repair desk can produce has a catalog entry in both languages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.domain import policy, repairs, warranty
from bot.domain.repair_models import PACKAGING
from bot.domain.repair_timers import Action
from bot.i18n import catalog

ROOT = Path(__file__).resolve().parents[2]


def produced_keys() -> set[str]:
    keys = {"repairs.illegal", "repairs.forbidden"}
    keys |= {f"repairs.state.{s}" for s in repairs.State}
    keys |= {f"repairs.event.{e}" for e in repairs.Event} | {"repairs.event.register"}
    keys |= {f"repairs.action.{a}" for a in Action}
    keys |= {f"repairs.packaging.{p}" for p in PACKAGING}
    guards = re.findall(
        r'return "(\w+)"', (ROOT / "bot/domain/repairs.py").read_text(encoding="utf-8")
    )
    assert guards, "the guards return their reason codes as literals"
    keys |= {f"repairs.guard.{code}" for code in guards}
    for path in ("bot/services/repair_service.py", "bot/services/voucher.py"):
        text = (ROOT / path).read_text(encoding="utf-8")
        keys |= set(re.findall(r'"(repairs\.(?:error|voucher)\.\w+)"', text))
    voucher = (ROOT / "bot/services/voucher.py").read_text(encoding="utf-8")
    rows = re.findall(r'\("(\w+)", (?:item\.|accessories|_day)', voucher)
    assert len(rows) >= 10, "the voucher's rows name their labels"
    keys |= {f"repairs.voucher.{row}" for row in rows}
    keys |= {f"repairs.voucher.turnaround_{where}" for where in ("inside", "outside")}
    keys |= {f"policy.option.{o}" for o in policy.OPTIONS}
    keys |= {f"policy.price.{getattr(policy, n)}" for n in dir(policy) if n.startswith("PRICE_")}
    keys |= {f"policy.why.{getattr(policy, n)}" for n in dir(policy) if n.startswith("WHY_")}
    reasons = ("IN_PERIOD", "EXPIRED", "NO_PROOF", "HUMAN_DAMAGE", "SELF_REPAIR", "OVERRIDDEN")
    keys |= {f"warranty.why.{getattr(warranty, n)}" for n in (*reasons, "NO_FREE_ONSITE")}
    return keys


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_every_produced_key_is_in_the_catalog(language: str) -> None:
    missing = produced_keys() - set(catalog(language))
    assert not missing


REPAIR_MODULES = (
    "bot/domain/repairs.py",
    "bot/domain/repair_timers.py",
    "bot/domain/policy.py",
    "bot/domain/warranty.py",
    "bot/domain/repair_models.py",
    "bot/services/repair_service.py",
    "bot/services/voucher.py",
    "storage/repairs.py",
    "storage/spares.py",
    "storage/complaints.py",
)
PURE = REPAIR_MODULES[:5]


@pytest.mark.parametrize("path", REPAIR_MODULES)
def test_the_repair_core_is_channel_neutral(path: str) -> None:
    text = (ROOT / path).read_text(encoding="utf-8")
    assert not re.search(r"^\s*(from|import) telegram", text, re.MULTILINE)
    if path in PURE:  # pure rules: no database, no clock of their own
        assert not re.search(r"^\s*(from|import) (storage|aiosqlite|sqlite3)", text, re.MULTILINE)
        assert "datetime.now(" not in text and "date.today(" not in text
