"""Who may do what: the one table every command and button press is checked against."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.domain.models import Person, Role


class Where(StrEnum):
    """The chats an action is allowed in."""

    ANY = "any"
    PRIVATE = "private"  # payroll, statements, events: only in a private chat with the bot
    DISPATCH_GROUP = "group"  # the bound dispatch group
    GROUP = "group"  # the older name of DISPATCH_GROUP
    PRIVATE_OR_DISPATCH = "private_or_dispatch"  # dispatch work: never in another group


STAFF = frozenset({Role.ADMIN, Role.MANAGER, Role.DISPATCHER, Role.TECHNICIAN})
OFFICE = frozenset({Role.ADMIN, Role.MANAGER, Role.DISPATCHER})
MANAGEMENT = frozenset({Role.ADMIN, Role.MANAGER})
ADMIN_ONLY = frozenset({Role.ADMIN})
FIELD = frozenset({Role.TECHNICIAN})
CUSTOMERS = frozenset({Role.CUSTOMER})
EVERYONE = STAFF | CUSTOMERS


@dataclass(frozen=True)
class Permission:
    roles: frozenset[Role]
    where: Where = Where.ANY
    in_menu: bool = True  # listed by /help and set_my_commands
    customers: Where | None = None  # a linked customer may too, in this scope (their own only)


# Commands (by name) and button actions (the prefix of callback data before the first ":").
# A list's page buttons (`queue:p:2`, `me:p:3:2026-11`, `me:csv:2026-11`, see handlers/paging.py)
# carry their command's name as the action, so they are allowed exactly where the command is.
PERMISSIONS: dict[str, Permission] = {
    "start": Permission(STAFF, in_menu=False),
    "help": Permission(EVERYONE),
    "lang": Permission(EVERYONE),
    "cancel": Permission(EVERYONE),
    "invite": Permission(MANAGEMENT, Where.PRIVATE),
    "bindgroup": Permission(ADMIN_ONLY, Where.ANY),  # in a group; moving it asks to confirm
    "bind": Permission(ADMIN_ONLY, Where.ANY, in_menu=False),  # that confirmation's buttons
    "rules": Permission(STAFF),
    # dispatch
    "new": Permission(OFFICE, Where.PRIVATE_OR_DISPATCH),
    "queue": Permission(OFFICE, Where.PRIVATE_OR_DISPATCH),
    "customers": Permission(OFFICE, Where.PRIVATE_OR_DISPATCH),  # phones masked in the group
    "pin": Permission(OFFICE, Where.PRIVATE_OR_DISPATCH),
    "assign": Permission(OFFICE, Where.PRIVATE_OR_DISPATCH),
    "leave": Permission(MANAGEMENT, Where.PRIVATE_OR_DISPATCH),
    # promises kept from chat: take-back answers, settling tickets (lifecycle decides the role)
    "answer": Permission(STAFF, Where.PRIVATE_OR_DISPATCH),
    "returned": Permission(STAFF, Where.PRIVATE_OR_DISPATCH),
    "byphone": Permission(STAFF, Where.PRIVATE_OR_DISPATCH),
    "atstation": Permission(STAFF, Where.PRIVATE_OR_DISPATCH),
    "close": Permission(OFFICE, Where.PRIVATE_OR_DISPATCH),
    "cancelticket": Permission(OFFICE, Where.PRIVATE_OR_DISPATCH),
    # ticket card / take-back notice buttons
    "tk": Permission(STAFF, Where.PRIVATE_OR_DISPATCH, in_menu=False),
    # ALW-FORFEIT-UNREPORTED confirm / dismiss, asked of each manager privately
    "unrep": Permission(MANAGEMENT, Where.PRIVATE, in_menu=False),
    # the repair desk (items and their promises; the state machine decides each step's role)
    "repairs": Permission(STAFF, Where.PRIVATE_OR_DISPATCH),
    "repair": Permission(STAFF, Where.PRIVATE_OR_DISPATCH),
    "rma": Permission(STAFF, Where.PRIVATE),
    "ri": Permission(STAFF, Where.PRIVATE_OR_DISPATCH, in_menu=False),  # item buttons
    "rf": Permission(STAFF, Where.PRIVATE, in_menu=False),  # registration form buttons
    # RWD-REVENUE of a repair done here: its fee (a change once recorded: managers, checked there)
    "repairfee": Permission(STAFF, Where.PRIVATE),
    "rv": Permission(STAFF, Where.PRIVATE, in_menu=False),  # the Record-fee button
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
    "penalty": Permission(OFFICE, Where.PRIVATE),
    "reward": Permission(MANAGEMENT, Where.PRIVATE),
    "events": Permission(MANAGEMENT, Where.PRIVATE),
    "void": Permission(MANAGEMENT, Where.PRIVATE),
    "contests": Permission(MANAGEMENT, Where.PRIVATE),
    "decide": Permission(MANAGEMENT, Where.PRIVATE, in_menu=False),
    "summary": Permission(MANAGEMENT, Where.PRIVATE),
    "closemonth": Permission(MANAGEMENT, Where.PRIVATE),
    "flags": Permission(MANAGEMENT, Where.PRIVATE),
    "flag": Permission(MANAGEMENT, Where.PRIVATE, in_menu=False),  # accept / penalize / page
    "audit": Permission(ADMIN_ONLY, Where.PRIVATE),
    # repair desk: spares, complaints (CMP-REGISTER), the policy desk, the warranty verdict
    "spares": Permission(STAFF, Where.PRIVATE_OR_DISPATCH),
    "spare": Permission(OFFICE, Where.PRIVATE_OR_DISPATCH),  # add, lend, back; its buttons
    # the desk registers any customer's complaint; a linked customer only their own, privately
    "complaint": Permission(OFFICE, Where.PRIVATE_OR_DISPATCH, customers=Where.PRIVATE),
    "complaints": Permission(OFFICE, Where.PRIVATE_OR_DISPATCH),
    "cmp": Permission(OFFICE, Where.PRIVATE_OR_DISPATCH, in_menu=False),  # register's buttons
    "ccmp": Permission(CUSTOMERS, Where.PRIVATE, in_menu=False),  # a customer's complaint form
    "policy": Permission(STAFF, Where.PRIVATE_OR_DISPATCH),
    "pol": Permission(STAFF, Where.PRIVATE_OR_DISPATCH, in_menu=False),  # /policy's buttons
    "warranty": Permission(STAFF, Where.PRIVATE_OR_DISPATCH),
    "auditpage": Permission(ADMIN_ONLY, Where.PRIVATE, in_menu=False),
}


# What a stranger asking for one of these is told instead of the general refusal: how a
# customer links their chat.
STRANGER_HINTS: dict[str, str] = {"complaint": "custdesk.cmp.stranger"}


# WTY-CHECK: who may override the warranty verdict of an item (with a note).
WARRANTY_OVERRIDE = MANAGEMENT | FIELD


# WTY-CHECK on a ticket: these roles always; a technician (WARRANTY_OVERRIDE) only on the
# ticket assigned to him, the one who sees the machine; other technicians read the verdict.
TICKET_WARRANTY_OVERRIDE = MANAGEMENT


def may_override_ticket_warranty(
    roles: frozenset[Role], person_id: int | None, assigned_to: int | None
) -> bool:
    """Whether a holder of these roles may override the warranty verdict of this ticket."""
    if roles & TICKET_WARRANTY_OVERRIDE:
        return True
    technician = bool(roles & WARRANTY_OVERRIDE & FIELD)
    return technician and person_id is not None and person_id == assigned_to


# REC-WHO: who may record each rule from chat (imports are the operator's and not checked).
# Forfeits and discretionary amounts are the managers'; fixed small deductions also the
# dispatchers'. A rule missing here is for managers only.
RECORDERS: dict[str, frozenset[Role]] = {
    "ALW-FORFEIT-FALSE": MANAGEMENT,
    "ALW-FORFEIT-UNREPORTED": MANAGEMENT,
    "DED-PRIVATE": MANAGEMENT,
    "ALW-BEYOND": MANAGEMENT,
    "DED-OTHER": MANAGEMENT,
    "RWD-SUGGEST": MANAGEMENT,
    "DED-COMPLAINT": OFFICE,
    "DED-CONDUCT": OFFICE,
    "DED-LATE": OFFICE,
    "RMA-REGISTER": OFFICE,
    "RMA-LOST": OFFICE,
    "RMA-SIGNOFF": OFFICE,
    "RMA-10DAY": OFFICE,
    "RMA-20DAY": OFFICE,
    "RMA-PAPERWORK": OFFICE,
    "RMA-DELAY": OFFICE,
}


def may_record(roles: frozenset[Role], rule: str) -> bool:
    """REC-WHO: whether a holder of these roles may record an event of `rule`."""
    return bool(roles & RECORDERS.get(rule, MANAGEMENT))


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
    PRIVATE_OR_DISPATCH = "scope.private_or_group"
    UNKNOWN = "access.unknown"


def decide(actor: Actor, action: str, chat_kind: str, in_dispatch_group: bool) -> Refusal | None:
    """None when actor may perform action in this chat, else the reason for refusing."""
    permission = PERMISSIONS.get(action)
    if not actor.known:
        return Refusal.STRANGER
    if permission is None:
        return Refusal.UNKNOWN
    where = permission.where
    if not actor.roles & permission.roles:
        if permission.customers is None or Role.CUSTOMER not in actor.roles:
            return Refusal.ROLE
        where = permission.customers
    private = chat_kind == "private"
    if where is Where.PRIVATE and not private:
        return Refusal.PRIVATE_ONLY
    if where is Where.DISPATCH_GROUP and not in_dispatch_group:
        return Refusal.GROUP_ONLY
    if where is Where.PRIVATE_OR_DISPATCH and not (private or in_dispatch_group):
        return Refusal.PRIVATE_OR_DISPATCH
    return None


def menu_for(roles: frozenset[Role], available: set[str]) -> list[str]:
    """The commands a holder of these roles sees in /help and the client's menu."""
    return [
        name
        for name, permission in PERMISSIONS.items()
        if name in available
        and permission.in_menu
        and (
            roles & permission.roles
            or (permission.customers is not None and Role.CUSTOMER in roles)
        )
    ]
