"""The access table decides every command and button press."""

from __future__ import annotations

from bot.domain.access import PERMISSIONS, Actor, Refusal, decide, menu_for
from bot.domain.models import Person, Role


def actor(role: Role | None, admin: bool = False) -> Actor:
    person = Person(id=1, name="x", role=role) if role else None
    return Actor(telegram_id=10, person=person, is_admin=admin, language="zh-CN")


def test_stranger_is_refused_everything() -> None:
    for action in PERMISSIONS:
        assert decide(actor(None), action, "private", False) is Refusal.STRANGER


def test_technician_cannot_use_management_actions() -> None:
    tech = actor(Role.TECHNICIAN)
    for action in ("invite", "summary", "closemonth", "void", "new", "queue", "bindgroup"):
        assert decide(tech, action, "private", False) is Refusal.ROLE


def test_admin_has_manager_rights_and_binds_groups() -> None:
    admin = actor(None, admin=True)
    assert decide(admin, "summary", "private", False) is None
    assert decide(admin, "bindgroup", "group", False) is None


def test_private_only_commands_refused_in_groups() -> None:
    assert decide(actor(Role.MANAGER), "invite", "group", True) is Refusal.PRIVATE_ONLY
    assert decide(actor(Role.TECHNICIAN), "jobs", "group", True) is Refusal.PRIVATE_ONLY


def test_unknown_action_is_refused() -> None:
    assert decide(actor(Role.MANAGER), "selfdestruct", "private", False) is Refusal.UNKNOWN


def test_menu_lists_only_available_commands_for_the_role() -> None:
    available = {"help", "lang", "invite", "jobs"}
    assert menu_for(frozenset({Role.TECHNICIAN}), available) == ["help", "lang", "jobs"]
    assert "invite" in menu_for(frozenset({Role.MANAGER}), available)


def customer() -> Actor:
    return Actor(telegram_id=11, person=None, is_admin=False, language="zh-CN", customer_id=5)


def test_a_linked_customer_files_complaints_privately_only() -> None:
    assert decide(customer(), "complaint", "private", False) is None
    assert decide(customer(), "ccmp", "private", False) is None
    assert decide(customer(), "complaint", "supergroup", True) is Refusal.PRIVATE_ONLY
    for action in ("complaints", "cmp", "warranty", "repair"):
        assert decide(customer(), action, "private", False) is Refusal.ROLE
    # The desk keeps its own scope; staff never press a customer's form buttons.
    assert decide(actor(Role.DISPATCHER), "complaint", "supergroup", True) is None
    assert decide(actor(Role.DISPATCHER), "ccmp", "private", False) is Refusal.ROLE
    assert "complaint" in menu_for(customer().roles, {"complaint", "complaints", "help"})


def test_ticket_warranty_override_managers_and_the_assigned_technician() -> None:
    from bot.domain.access import STRANGER_HINTS, may_override_ticket_warranty

    tech, manager = frozenset({Role.TECHNICIAN}), frozenset({Role.MANAGER})
    assert may_override_ticket_warranty(manager, 1, None)
    assert may_override_ticket_warranty(tech, 7, 7)
    assert not may_override_ticket_warranty(tech, 7, 8)
    assert not may_override_ticket_warranty(tech, None, None)
    assert not may_override_ticket_warranty(frozenset({Role.DISPATCHER}), 7, 7)
    assert STRANGER_HINTS["complaint"] != Refusal.STRANGER.value
