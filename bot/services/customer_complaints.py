"""CMP-REGISTER from the customer's side: a linked customer files a complaint in their own chat.

The complaint is always the customer's the chat speaks for (its identity), never another's; it
may name one of that customer's own tickets or repair items. It is registered like the desk's
(same class list, same CMP-ACK / CMP-VERIFY timers) and the desk is told through the outbox in
the same transaction. For a visit and a class about what happens on site, the visit's technician
is the one concerned (so an upheld complaint records DED-COMPLAINT, as the desk's do); for the
rest no technician is named. A customer has at most repairs.customer_open_complaints of their
own open at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.domain import cards
from bot.domain.models import Role
from bot.domain.repair_timers import ComplaintClock
from bot.services import Services, notices, repair_service
from bot.services.repair_service import COMPLAINT_CLASSES, RepairError
from storage import complaints, customer_desk, people, tickets
from storage import identities as identity_store
from storage import repairs as repair_store

# Classes about what happens at the customer's site: the visit's technician is concerned.
ON_SITE_CLASSES = ("service", "conduct", "charges")
SUBJECTS_SHOWN = 3  # of each kind: the newest tickets and the newest repair items

Subject = customer_desk.Subject


@dataclass(frozen=True)
class Filed:
    complaint_id: int
    customer_id: int
    ack_due: datetime
    verify_due: datetime
    technician: str | None


async def customer_of(services: Services, channel: str, external_id: str | int) -> int | None:
    """The customer this sender speaks for (None for strangers and for staff)."""
    async with services.db.lookup() as conn:
        found = await identity_store.resolve(conn, channel, str(external_id))
    if found is None or found.person is not None:
        return None
    return found.customer_id


async def subjects(services: Services, customer_id: int) -> list[Subject]:
    """What the customer may name: their newest tickets and repair items."""
    async with services.db.read() as conn:
        return await customer_desk.subjects(conn, customer_id, SUBJECTS_SHOWN)


async def check_subject(services: Services, customer_id: int, kind: str, number: int) -> None:
    """RepairError unless this ticket or repair item is the customer's own."""
    async with services.db.read() as conn:
        if kind == customer_desk.TICKET:
            view = await tickets.ticket_for_visit(conn, number)
            owner = view.customer_id if view is not None else None
        elif kind == customer_desk.ITEM:
            item = await repair_store.get(conn, number)
            owner = item.customer_id if item is not None else None
        else:
            owner = None
    if owner is None or owner != customer_id:
        raise RepairError("custdesk.cmp.not_yours")


def check_content(text: str) -> str:
    """The complaint's text tidied, or RepairError when too short or too long."""
    return repair_service.tidy_text(
        text, "repairs.error.complaint_required", repair_service.MIN_COMPLAINT
    )


async def desk_recipients(
    services: Services, conn: aiosqlite.Connection
) -> list[notices.Recipient]:
    """Who hears about complaints: the managers privately (and configured admins); the dispatch
    group when no manager is on record."""
    managers = await people.with_role(conn, Role.MANAGER)
    recipients = [notices.person(p.id) for p in managers if p.telegram_id is not None]
    known = {p.telegram_id for p in managers}  # an admin on record as a manager: one alert
    recipients += [notices.chat(admin) for admin in services.config.admins if admin not in known]
    if not recipients and await people.bound_chat(conn, "dispatch") is not None:
        recipients.append(notices.group())
    return recipients


async def file(
    services: Services,
    channel: str,
    external_id: str | int,
    content: str,
    category: str,
    subject: tuple[str, int] | None = None,
) -> Filed:
    """Register the complaint of the customer this sender speaks for; tell the desk."""
    content = check_content(content)
    if category not in COMPLAINT_CLASSES:
        raise RepairError("repairs.error.complaint_class", choices=", ".join(COMPLAINT_CLASSES))
    limit = services.config.repairs.customer_open_complaints
    now = services.now()
    async with services.db.transaction() as conn:
        identity = await identity_store.resolve(conn, channel, str(external_id))
        if identity is None or identity.person is not None or identity.customer_id is None:
            raise RepairError("custdesk.cmp.not_linked")
        customer_id = identity.customer_id
        if await complaints.open_filed_by_customer(conn, customer_id) >= limit:
            raise RepairError("custdesk.cmp.too_many", limit=limit)
        ticket_id = item_id = technician_id = None
        about = notices.tr("custdesk.cmp.about_none")
        if subject is not None and subject[0] == customer_desk.TICKET:
            view = await tickets.ticket_for_visit(conn, subject[1])
            if view is None or view.customer_id != customer_id:
                raise RepairError("custdesk.cmp.not_yours")
            ticket_id = view.id
            if category in ON_SITE_CLASSES and view.assigned_to is not None:
                technician = await people.by_id(conn, view.assigned_to)
                if technician is not None and technician.role == Role.TECHNICIAN:
                    technician_id = technician.id
            about = notices.tr("custdesk.cmp.about_ticket", id=view.id, fault=view.fault[:60])
        elif subject is not None and subject[0] == customer_desk.ITEM:
            item = await repair_store.get(conn, subject[1])
            if item is None or item.customer_id != customer_id:
                raise RepairError("custdesk.cmp.not_yours")
            item_id = item.id
            label = item.voucher_no or f"#{item.id}"
            about = notices.tr("custdesk.cmp.about_item", label=label, product=item.product)
        elif subject is not None:
            raise RepairError("custdesk.cmp.not_yours")
        complaint_id = await complaints.insert(
            conn,
            customer_id,
            content,
            category,
            technician_id,
            None,
            now,
            item_id,
            ticket_id,
            by_customer=True,
        )
        ack, verify = (
            await repair_service.arm_complaint(services, conn, ComplaintClock(complaint_id, now))
        )[:2]
        found = await complaints.get(conn, complaint_id)
        assert found is not None
        values = {
            "id": complaint_id,
            "customer": found.customer_name,
            "category": notices.tr(f"desk.cmp.class.{category}"),
            "about": about,
            "technician": found.technician_name or "—",
            "content": content,
            "ack": cards.when(ack.due_at, services.config.tz),
        }
        await notices.post(
            conn,
            *(
                notices.Notice(who, parts=(("custdesk.cmp.desk_notice", values),))
                for who in await desk_recipients(services, conn)
            ),
        )
    return Filed(complaint_id, customer_id, ack.due_at, verify.due_at, found.technician_name)
