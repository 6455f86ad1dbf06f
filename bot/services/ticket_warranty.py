"""WTY-CHECK on a ticket: its machine's warranty verdict with the override in force, and the
override itself (in or out, with a note; who and when kept). An open repair item taken back
from the ticket follows the ticket's newest override, as one created later inherits it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.domain import access, repairs, warranty
from bot.domain.dispatch_models import TicketView
from bot.domain.models import Role
from bot.services import Services, notices
from bot.services.repair_service import MIN_REASON, RepairError, tidy_text
from storage import repairs as repair_store
from storage import ticket_warranty as store
from storage import tickets

TicketOverride = store.TicketOverride


@dataclass(frozen=True)
class TicketVerdict:
    ticket_id: int
    verdict: warranty.Verdict | None  # None: no machine dates on record and no override
    override: TicketOverride | None


def verdict_of(
    view: TicketView, override: TicketOverride | None, today: date, warranty_months: int
) -> warranty.Verdict | None:
    """The ticket's verdict today: from its machine's dates, the override having the last word."""
    if override is None and view.purchase_date is None and view.warranty_end is None:
        return None
    facts = warranty.Facts(purchase_date=view.purchase_date, warranty_end=view.warranty_end)
    word = None
    if override is not None:
        word = warranty.Override(override.in_warranty, override.note, override.by_name or "")
    return warranty.check(facts, today, warranty_months, word)


async def ticket_verdict(services: Services, ticket_id: int) -> TicketVerdict:
    """The verdict of a ticket (RepairError when there is no such ticket)."""
    async with services.db.read() as conn:
        view = await tickets.ticket_for_visit(conn, ticket_id)
        override = await store.latest(conn, ticket_id) if view is not None else None
    if view is None:
        raise RepairError("repairs.error.ticket_unknown", id=ticket_id)
    today = services.local_now().date()
    verdict = verdict_of(view, override, today, services.config.warranty_months)
    return TicketVerdict(ticket_id, verdict, override)


async def override(
    services: Services,
    ticket_id: int,
    in_warranty: bool,
    note: str,
    roles: frozenset[Role],
    person_id: int | None,
) -> TicketVerdict:
    """Override the ticket's verdict with a note (managers; the ticket's own technician)."""
    note = tidy_text(note, "repairs.error.reason_required", MIN_REASON)
    async with services.db.transaction() as conn:
        view = await tickets.ticket_for_visit(conn, ticket_id)
        if view is None:
            raise RepairError("repairs.error.ticket_unknown", id=ticket_id)
        if not access.may_override_ticket_warranty(roles, person_id, view.assigned_to):
            raise RepairError("custdesk.wty.override_role", id=ticket_id)
        await store.add(conn, ticket_id, in_warranty, note, person_id, services.now())
        item = await repair_store.by_ticket(conn, ticket_id)
        if item is not None and not repairs.is_final(item.state):
            await repair_store.set_warranty(conn, item.id, in_warranty, note)
        if view.group_message_id is not None:  # the group's card shows the new verdict
            await notices.post(conn, notices.ticket_card(ticket_id))
    return await ticket_verdict(services, ticket_id)
