"""Who may do what: the one table every command and button press is checked against."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.models import Person, Role


class Where(StrEnum):
    ANY = "any"
    PRIVATE = "private"
    GROUP = "group"  # the bound dispatch group


STAFF = frozenset({Role.ADMIN, Role.MANAGER, Role.DISPATCHER, Role.TECHNICIAN})
OFFICE = frozenset({Role.ADMIN, Role.MANAGER, Role.DISPATCHER})
MANAGEMENT = frozenset({Role.ADMIN, Role.MANAGER})
ADMIN_ONLY = frozenset({Role.ADMIN})
FIELD = frozenset({Role.TECHNICIAN})
CUSTOMERS = frozenset({Role.CUSTOMER})


@dataclass(frozen=True)
class Permission:
    roles: frozenset[Role]
    where: Where = Where.ANY
    in_menu: bool = True  # listed by /help and set_my_commands


# Commands (by name) and button actions (the prefix of callback data before the first ":").
# A list's page buttons (`queue:p:2`, `me:p:3:2026-11`, `me:csv:2026-11`, see handlers/paging.py)
# carry their command's name as the action, so they are allowed exactly where the command is.
PERMISSIONS: dict[str, Permission] = {
    "start": Permission(STAFF, in_menu=False),
    "help": Permission(STAFF),
    "lang": Permission(STAFF),
    "cancel": Permission(STAFF),
    "invite": Permission(MANAGEMENT, Where.PRIVATE),
    "bindgroup": Permission(ADMIN_ONLY, Where.ANY),
    "rules": Permission(STAFF),
    # dispatch
    "new": Permission(OFFICE),
    "queue": Permission(OFFICE),
    "customers": Permission(OFFICE),
    "pin": Permission(OFFICE),
    "assign": Permission(OFFICE),
    "leave": Permission(MANAGEMENT),
    # technicians
    "jobs": Permission(FIELD, Where.PRIVATE),
    "duty": Permission(FIELD, Where.PRIVATE),
    "me": Permission(FIELD, Where.PRIVATE),
    "visit": Permission(FIELD, Where.PRIVATE, in_menu=False),
    "dispatch": Permission(FIELD, Where.PRIVATE, in_menu=False),
    "contest": Permission(FIELD, Where.PRIVATE, in_menu=False),
    "slip": Permission(
        FIELD, Where.PRIVATE, in_menu=False
    ),  # the customer, on the technician's phone
    "cslip": Permission(CUSTOMERS, Where.PRIVATE, in_menu=False),  # the customer's own chat
    # management
    "penalty": Permission(OFFICE),
    "reward": Permission(MANAGEMENT),
    "events": Permission(MANAGEMENT),
    "void": Permission(MANAGEMENT),
    "contests": Permission(MANAGEMENT),
    "decide": Permission(MANAGEMENT, in_menu=False),
    "summary": Permission(MANAGEMENT),
    "closemonth": Permission(MANAGEMENT),
}


@dataclass(frozen=True)
class Actor:
    """Who is acting: a registered person, a configured admin, or nobody known."""

    telegram_id: int
    person: Person | None
    is_admin: bool
    language: str
    customer_id: int | None = None  # a customer who linked their chat through a slip

    @property
    def roles(self) -> frozenset[Role]:
        roles = {self.person.role} if self.person else set()
        if self.is_admin:
            roles |= {Role.ADMIN, Role.MANAGER}
        if self.customer_id is not None and not roles:
            roles = {Role.CUSTOMER}
        return frozenset(roles)

    @property
    def known(self) -> bool:
        return self.is_admin or self.person is not None or self.customer_id is not None


class Refusal(StrEnum):
    STRANGER = "access.stranger"
    ROLE = "access.role"
    PRIVATE_ONLY = "access.private_only"
    GROUP_ONLY = "access.group_only"
    UNKNOWN = "access.unknown"


def decide(actor: Actor, action: str, chat_kind: str, in_dispatch_group: bool) -> Refusal | None:
    """None when actor may perform action in this chat, else the reason for refusing."""
    permission = PERMISSIONS.get(action)
    if not actor.known:
        return Refusal.STRANGER
    if permission is None:
        return Refusal.UNKNOWN
    if not actor.roles & permission.roles:
        return Refusal.ROLE
    if permission.where is Where.PRIVATE and chat_kind != "private":
        return Refusal.PRIVATE_ONLY
    if permission.where is Where.GROUP and not in_dispatch_group:
        return Refusal.GROUP_ONLY
    return None


def menu_for(roles: frozenset[Role], available: set[str]) -> list[str]:
    """The commands a holder of these roles sees in /help and the client's menu."""
    return [
        name
        for name, permission in PERMISSIONS.items()
        if name in available and permission.in_menu and roles & permission.roles
    ]
