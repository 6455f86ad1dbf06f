"""REC-WHO: the one table of who may record which rule from chat."""

from __future__ import annotations

from bot.domain.access import MANAGEMENT, OFFICE, RECORDERS, may_record
from bot.domain.models import Role
from bot.domain.payroll import EVENT_RULES


def test_every_recorded_rule_has_its_recorders() -> None:
    assert set(RECORDERS) == set(EVENT_RULES)


def test_managers_record_forfeits_and_discretion_dispatchers_the_fixed_small_ones() -> None:
    managers_only = {r for r, roles in RECORDERS.items() if roles == MANAGEMENT}
    assert managers_only == {
        "ALW-FORFEIT-FALSE",
        "ALW-FORFEIT-UNREPORTED",
        "DED-PRIVATE",
        "ALW-BEYOND",
        "DED-OTHER",
        "RWD-SUGGEST",
    }
    office = {r for r, roles in RECORDERS.items() if roles == OFFICE}
    assert office == {"DED-COMPLAINT", "DED-CONDUCT", "DED-LATE"} | {
        r for r in EVENT_RULES if r.startswith("RMA-")
    }
    dispatcher = frozenset({Role.DISPATCHER})
    assert may_record(dispatcher, "DED-LATE") and not may_record(dispatcher, "DED-PRIVATE")
    assert may_record(frozenset({Role.ADMIN}), "DED-OTHER")
    assert not may_record(frozenset({Role.TECHNICIAN}), "DED-LATE")
    assert not may_record(dispatcher, "NO-SUCH-RULE")  # unknown rules: managers only
