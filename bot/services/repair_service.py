"""The repair desk's use cases, free of any chat front end: one transaction each, taking who acts.

Register an item (with its voucher number), move it through bot.domain.repairs, record the answer given
to the customer (SLA-TAKEBACK), an explanation (RMA-10DAY / RMA-AGENT), lend and take back spare
units (SLA-SPARE), run the complaint register (CMP-REGISTER, DED-COMPLAINT once), and page the
returns board. Refusals are RepairError (an i18n key and its placeholders); nothing is written.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import NamedTuple

import aiosqlite

from bot.config import ITEM_KINDS
from bot.domain import cards, payroll, policy, repairs, warranty
from bot.domain.calendar import ServiceCalendar
from bot.domain.dispatch_models import TicketView
from bot.domain.models import Person
from bot.domain.note_codes import coded
from bot.domain.repair_models import PACKAGING, Item, NewItem
from bot.domain.repair_timers import (
    CMP_ACK,
    CMP_VERIFY,
    Action,
    ComplaintClock,
    ItemClock,
    Promise,
    Setup,
    complaint_promises,
    days_in,
    due_stages,
    item_promises,
    next_promise,
)
from bot.i18n import t
from bot.services import Services, notices, recorded_events, repair_deadlines
from storage import complaints, customers, deadlines, people, spares, ticket_warranty, tickets
from storage import identities as identity_store
from storage import promises as promises_store
from storage import repairs as store

MAX_TEXT = 1000
MIN_REASON = 2
MIN_COMPLAINT = 2  # characters of a complaint's content, staff or customer
COMPLAINT_CLASSES = ("service", "conduct", "delay", "quality", "charges", "other")
COMPLAINT_RULE = "DED-COMPLAINT"


class RepairError(Exception):
    """A refused repair desk step: an i18n key and its placeholders; nothing was written."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


def tidy_text(text: str, key: str, minimum: int = 1) -> str:
    """Text typed for the desk with its spaces tidied; RepairError(key) when shorter than
    minimum, or when over MAX_TEXT."""
    text = " ".join(text.split())
    if len(text) < minimum:
        raise RepairError(key, minimum=minimum)
    if len(text) > MAX_TEXT:
        raise RepairError("repairs.error.too_long", limit=MAX_TEXT)
    return text


def calendar_of(services: Services) -> ServiceCalendar:
    return ServiceCalendar.from_config(services.config.sla, services.config.tz)


def expected_back(services: Services, taken_in: datetime, inside_region: bool) -> date:
    """The FAQ's turnaround: the latest day of the range for the item's region."""
    rep = services.config.repairs
    days = rep.turnaround_inside_days if inside_region else rep.turnaround_outside_days
    return taken_in.astimezone(services.config.tz).date() + timedelta(days=days[1])


def check_new_item(item: NewItem, today: date) -> NewItem:
    """The item with its text tidied, or RepairError for what is missing (RMA-REGISTER)."""
    product = tidy_text(item.product, "repairs.error.product_required")
    fault = tidy_text(item.fault, "repairs.error.fault_required")
    if item.packaging not in PACKAGING:
        raise RepairError("repairs.error.packaging", choices=", ".join(PACKAGING))
    if item.item_kind not in ITEM_KINDS:
        raise RepairError("repairs.error.item_kind", choices=", ".join(ITEM_KINDS))
    if item.purchase_date is not None and item.purchase_date > today:
        raise RepairError("repairs.error.purchase_future")
    accessories = tuple(a for a in (" ".join(a.split()) for a in item.accessories) if a)
    return NewItem(
        customer_id=item.customer_id,
        product=product,
        fault=fault,
        packaging=item.packaging,
        item_kind=item.item_kind,
        specification=" ".join(item.specification.split()),
        serial=item.serial.strip(),
        purchase_date=item.purchase_date,
        accessories=accessories,
        photos=item.photos,
        inside_region=item.inside_region,
        ticket_id=item.ticket_id,
    )


async def register_item(services: Services, item: NewItem, by: int | None) -> Item:
    """Register an item taken in; a voucher number unless it is a county company's."""
    item = check_new_item(item, services.local_now().date())
    async with services.db.transaction() as conn:
        return await insert_item(services, conn, item, by)


async def insert_item(services: Services, conn, item: NewItem, by: int | None) -> Item:  # noqa: ANN001
    """Register a checked item inside the caller's transaction, with its promises armed."""
    now = services.now()
    customer = await customers.by_id(conn, item.customer_id)
    if customer is None:
        raise RepairError("repairs.error.customer_unknown", id=item.customer_id)
    if item.ticket_id is not None and await tickets.state_of(conn, item.ticket_id) is None:
        raise RepairError("repairs.error.ticket_unknown", id=item.ticket_id)
    county = customer.customer_class == "agent" and customer.kind == "county"
    voucher = None
    if not county:  # RMA-VOUCHER: county companies need none
        voucher = await store.next_voucher_no(
            conn, services.config.repairs.voucher_prefix, services.local_now().date()
        )
    item_id = await store.insert(
        conn,
        item,
        voucher_no=voucher,
        expected_back=expected_back(services, now, item.inside_region),
        taken_in_by=by,
        at=now,
    )
    await repair_deadlines.sync(services, conn, item_id)
    registered = await store.get(conn, item_id)
    assert registered is not None
    return registered


async def _open_item(conn, item_id: int) -> Item:  # noqa: ANN001 - a connection of either kind
    item = await store.get(conn, item_id)
    if item is None:
        raise RepairError("repairs.error.unknown", id=item_id)
    return item


def policy_verdict(services: Services, item: Item, condition: str) -> policy.Verdict | None:
    """The policy desk's answer for the item today; None without a purchase (sale) date."""
    if item.purchase_date is None:
        return None
    today = services.local_now().date()
    if item.purchase_date > today:
        return None
    kind = policy.kind_of(item.customer_class, item.customer_kind)
    return policy.decide(
        services.config.policy, kind, item.purchase_date, today, item.item_kind, condition
    )


# Events after which the person who sent them holds the item.
_TAKES_HOLD = frozenset({repairs.Event.REPAIR_HERE, repairs.Event.SEND_UP})


async def move_item(
    services: Services,
    item_id: int,
    event: str,
    role: str,
    person_id: int | None,
    step: repairs.Step | None = None,
    condition: str = "faulty",
) -> Item:
    """Move an item by event; refund, exchange and swap ask the policy desk first (POL-HOW).

    Raises repairs.IllegalTransition (RoleNotAllowed, GuardFailed) or RepairError.
    """
    step = step or repairs.Step()
    now = services.now()
    async with services.db.transaction() as conn:
        item = await _open_item(conn, item_id)
        option = repairs.POLICY_EVENTS.get(event)  # type: ignore[call-overload]
        if option is not None:
            verdict = policy_verdict(services, item, condition)
            step = replace(step, policy_open=bool(verdict and verdict.is_open(option)))
        moved = await store.transition(conn, item_id, event, role, person_id, step, now)
        if event in _TAKES_HOLD and person_id is not None:
            await store.set_holder(conn, item_id, person_id)
            moved = await store.get(conn, item_id)
        await repair_deadlines.sync(services, conn, item_id)
    assert moved is not None
    return moved


async def record_answer(services: Services, item_id: int, text: str, by: int | None) -> bool:
    """SLA-TAKEBACK: what the customer was told (what happens, by when); True if it met it."""
    answer = tidy_text(text, "repairs.error.answer_required", 4)
    async with services.db.transaction() as conn:
        item = await _open_item(conn, item_id)
        if repairs.is_final(item.state):
            raise RepairError("repairs.error.finished", id=item_id, state=item.state)
        first = await store.record_answer(conn, item_id, answer, services.now())
        if item.ticket_id is not None:  # the ticket's answer is the same promise
            await promises_store.add_answer(conn, item.ticket_id, answer, by, services.now())
        await repair_deadlines.sync(services, conn, item_id)
        return first


async def confirm_upstream(services: Services, item_id: int, by: int | None) -> None:
    """RMA-SEND: the receipt upstream is confirmed."""
    async with services.db.transaction() as conn:
        item = await _open_item(conn, item_id)
        if item.state != repairs.State.SENT_UP:
            raise RepairError("repairs.error.not_sent_up", id=item_id, state=item.state)
        await store.confirm_upstream(conn, item_id, services.now())
        await repair_deadlines.sync(services, conn, item_id)


@dataclass(frozen=True)
class Explained:
    item: Item
    explanation_id: int
    first: bool  # the first explanation: it met RMA-10DAY / RMA-20DAY / RMA-AGENT


async def record_explanation(
    services: Services,
    item_id: int,
    reason: str,
    new_date: date,
    customer_told: bool,
    by: int | None,
) -> Explained:
    """RMA-10DAY / RMA-AGENT: why the item is late, the new expected date, customer told?"""
    reason = tidy_text(reason, "repairs.error.reason_required", MIN_REASON)
    if new_date < services.local_now().date():
        raise RepairError("repairs.error.date_past", date=new_date.isoformat())
    async with services.db.transaction() as conn:
        item = await _open_item(conn, item_id)
        if repairs.is_final(item.state):
            raise RepairError("repairs.error.finished", id=item_id, state=item.state)
        explanation = await store.add_explanation(
            conn, item_id, reason, new_date, customer_told, by, services.now()
        )
        await repair_deadlines.sync(services, conn, item_id)
        updated = await store.get(conn, item_id)
    assert updated is not None
    return Explained(updated, explanation, item.explained_at is None)


AUTO_RULES = ("RMA-10DAY", "RMA-20DAY")


async def record_promise_event(
    services: Services, item_id: int, rule: str, within: aiosqlite.Connection | None = None
) -> recorded_events.Recorded | None:
    """RMA-10DAY / RMA-20DAY at their deadline: recorded by the bot against the person who
    took the item in, once (the source key is the rule and the item); None when an
    explanation came in time or the item is finished. With `within`, in the caller's
    transaction (the one that claims the deadline, so the claim and the event commit together)."""
    if rule not in AUTO_RULES:
        raise ValueError(f"{rule} is not recorded automatically")
    if within is None:
        async with services.db.read() as conn:
            item, receiver = await _item_and_receiver(conn, item_id)
    else:
        item, receiver = await _item_and_receiver(within, item_id)
    if item.explained_at is not None or repairs.is_final(item.state):
        return None
    if receiver is None or receiver.role != "technician":
        raise RepairError("repairs.error.receiver_not_technician", id=item_id)
    label = item.voucher_no or f"#{item.id}"
    return await recorded_events.record(
        services,
        receiver.name,
        rule,
        None,
        f"{label} {item.product}",
        None,
        source_key=promise_event_key(rule, item_id),
        within=within,
    )


def promise_event_key(rule: str, item_id: int) -> str:
    """The source key of the RMA-10DAY / RMA-20DAY event of an item (once per item)."""
    return f"{rule}:repair:{item_id}"


async def promise_event_recorded(conn, rule: str, item_id: int) -> bool:  # noqa: ANN001
    """The item's RMA-10DAY / RMA-20DAY event is on record already."""
    return (
        await promises_store.event_id_by_source_key(conn, promise_event_key(rule, item_id))
        is not None
    )


async def _item_and_receiver(conn, item_id: int) -> tuple[Item, Person | None]:  # noqa: ANN001
    item = await _open_item(conn, item_id)
    receiver = await people.by_id(conn, item.taken_in_by) if item.taken_in_by else None
    return item, receiver


async def record_loss(
    services: Services, item_id: int, amount_fen: int, all_staff: bool, by: int | None
) -> recorded_events.Recorded:
    """RMA-LOST for a lost item: against the person who took it in, or (when that cannot be
    settled) split among all station staff; once per item (the source key)."""
    async with services.db.read() as conn:
        item = await _open_item(conn, item_id)
        receiver = await people.by_id(conn, item.taken_in_by) if item.taken_in_by else None
    if item.state != repairs.State.LOST:
        raise RepairError("repairs.error.not_lost", id=item_id, state=item.state)
    if not all_staff and (receiver is None or receiver.role != "technician"):
        raise RepairError("repairs.error.receiver_not_technician", id=item_id)
    label = item.voucher_no or f"#{item.id}"
    return await recorded_events.record(
        services,
        payroll.ALL_STAFF if all_staff else receiver.name,  # type: ignore[union-attr]
        "RMA-LOST",
        amount_fen,
        f"{label} {item.product}",
        by,
        source_key=f"RMA-LOST:repair:{item_id}",
    )


def warranty_of(services: Services, item: Item) -> warranty.Verdict:
    """WTY-CHECK for an item: from its purchase date, or the override recorded with a note."""
    override = (
        warranty.Override(item.warranty_in, item.warranty_note)
        if item.warranty_in is not None
        else None
    )
    return warranty.check(
        warranty.Facts(purchase_date=item.purchase_date),
        services.local_now().date(),
        services.config.warranty_months,
        override,
    )


async def override_warranty(
    services: Services, item_id: int, in_warranty: bool, note: str, by: int | None
) -> warranty.Verdict:
    """A technician's verdict on the warranty, with the note saying why."""
    note = tidy_text(note, "repairs.error.reason_required", MIN_REASON)
    async with services.db.transaction() as conn:
        await _open_item(conn, item_id)
        await store.set_warranty(conn, item_id, in_warranty, note)
        item = await store.get(conn, item_id)
    assert item is not None
    return warranty_of(services, item)


async def add_spare(
    services: Services, name: str, kind: str = "machine", serial: str = "", note: str = ""
) -> int:
    """Put a spare machine or part on the list."""
    name = tidy_text(name, "repairs.error.spare_name_required")
    if kind not in ITEM_KINDS:
        raise RepairError("repairs.error.item_kind", choices=", ".join(ITEM_KINDS))
    async with services.db.transaction() as conn:
        return await spares.add(conn, name, kind, serial.strip(), note.strip(), services.now())


async def lend_spare(
    services: Services, spare_id: int, item_id: int, receipt_file_id: str, by: int | None
) -> int:
    """SLA-SPARE: lend a spare against the customer's receipt 收条 (a photo); the loan id."""
    if not receipt_file_id.strip():
        raise RepairError("repairs.error.receipt_required")
    async with services.db.transaction() as conn:
        item = await _open_item(conn, item_id)
        if repairs.is_final(item.state):
            raise RepairError("repairs.error.finished", id=item_id, state=item.state)
        spare = await spares.get(conn, spare_id)
        if spare is None or not spare.active:
            raise RepairError("repairs.error.spare_unknown", id=spare_id)
        try:
            loan_id = await spares.lend(
                conn, spare_id, item.customer_id, item_id, receipt_file_id, by, services.now()
            )
        except spares.SpareBusy:
            raise RepairError("repairs.error.spare_busy", name=spare.name) from None
        await store.settle_spare(conn, item_id, services.now())
        await repair_deadlines.sync(services, conn, item_id)
        return loan_id


async def lend_spare_to_customer(
    services: Services, spare_id: int, customer_id: int, receipt_file_id: str, by: int | None
) -> int:
    """Lend a spare to a customer with no repair item on record, against the receipt 收条."""
    if not receipt_file_id.strip():
        raise RepairError("repairs.error.receipt_required")
    async with services.db.transaction() as conn:
        if await customers.by_id(conn, customer_id) is None:
            raise RepairError("repairs.error.customer_unknown", id=customer_id)
        spare = await spares.get(conn, spare_id)
        if spare is None or not spare.active:
            raise RepairError("repairs.error.spare_unknown", id=spare_id)
        try:
            return await spares.lend(
                conn, spare_id, customer_id, None, receipt_file_id, by, services.now()
            )
        except spares.SpareBusy:
            raise RepairError("repairs.error.spare_busy", name=spare.name) from None


async def decline_spare(services: Services, item_id: int, reason: str, by: int | None) -> None:
    """SLA-SPARE: why no spare is lent."""
    reason = tidy_text(reason, "repairs.error.reason_required", MIN_REASON)
    async with services.db.transaction() as conn:
        await _open_item(conn, item_id)
        await store.settle_spare(conn, item_id, services.now(), reason)
        await repair_deadlines.sync(services, conn, item_id)


async def return_spare(services: Services, loan_id: int, by: int | None) -> spares.Loan:
    """The spare came back: the loan is closed."""
    async with services.db.transaction() as conn:
        if not await spares.close(conn, loan_id, by, services.now()):
            found = await spares.loan(conn, loan_id)
            key = "repairs.error.loan_unknown" if found is None else "repairs.error.loan_closed"
            raise RepairError(key, id=loan_id)
        closed = await spares.loan(conn, loan_id)
    assert closed is not None
    return closed


# Complaints (CMP-REGISTER).


async def register_complaint(
    services: Services,
    customer_id: int,
    content: str,
    category: str,
    technician_id: int | None,
    by: int | None,
    item_id: int | None = None,
    ticket_id: int | None = None,
) -> int:
    """Register a complaint with its customer, content, time and class."""
    content = tidy_text(content, "repairs.error.complaint_required", MIN_COMPLAINT)
    if category not in COMPLAINT_CLASSES:
        raise RepairError("repairs.error.complaint_class", choices=", ".join(COMPLAINT_CLASSES))
    async with services.db.transaction() as conn:
        if await customers.by_id(conn, customer_id) is None:
            raise RepairError("repairs.error.customer_unknown", id=customer_id)
        if technician_id is not None:
            person = await people.by_id(conn, technician_id)
            if person is None or person.role != "technician":
                raise RepairError("repairs.error.technician_unknown", id=technician_id)
        complaint_id = await complaints.insert(
            conn,
            customer_id,
            content,
            category,
            technician_id,
            by,
            services.now(),
            item_id,
            ticket_id,
        )
        await arm_complaint(services, conn, ComplaintClock(complaint_id, services.now()))
        return complaint_id


async def arm_complaint(
    services: Services,
    conn,  # noqa: ANN001
    clock: ComplaintClock,
) -> list[Promise]:
    """CMP-ACK and CMP-VERIFY as deadline rows (restart-safe, each alert fired once); returns
    the promises armed, acknowledge first."""
    now = services.now()
    promises = complaint_promises(clock, services.config, calendar_of(services))
    for promise in promises:
        warn = promise.warn_at if promise.warn_at is not None and promise.warn_at > now else None
        await deadlines.upsert(conn, promise.rule, promise.ref_id, promise.due_at, warn)
    return promises


async def _complaint(conn, complaint_id: int) -> complaints.Complaint:  # noqa: ANN001
    found = await complaints.get(conn, complaint_id)
    if found is None:
        raise RepairError("repairs.error.complaint_unknown", id=complaint_id)
    return found


async def acknowledge_complaint(services: Services, complaint_id: int, by: int | None) -> None:
    """Acknowledge; a linked customer is told, with the date it will be verified by."""
    async with services.db.transaction() as conn:
        found = await _complaint(conn, complaint_id)
        if not await complaints.acknowledge(conn, complaint_id, by, services.now()):
            raise RepairError("repairs.error.complaint_acknowledged", id=complaint_id)
        await deadlines.complete(conn, CMP_ACK, complaint_id)
        if found.customer_telegram_id:
            clock = ComplaintClock(complaint_id, found.registered_at)
            verify = complaint_promises(clock, services.config, calendar_of(services))[1]
            when = cards.when(verify.due_at, services.config.tz)
            await notices.post(
                conn,
                notices.text(
                    notices.customer(found.customer_id),
                    "custdesk.cmp.customer_acknowledged",
                    id=complaint_id,
                    verify=when,
                ),
            )


async def verify_complaint(
    services: Services, complaint_id: int, finding: str, by: int | None
) -> None:
    finding = tidy_text(finding, "repairs.error.reason_required", MIN_REASON)
    async with services.db.transaction() as conn:
        found = await _complaint(conn, complaint_id)
        if found.acknowledged_at is None:
            raise RepairError("repairs.error.complaint_not_acknowledged", id=complaint_id)
        if not await complaints.verify(conn, complaint_id, finding, by, services.now()):
            raise RepairError("repairs.error.complaint_verified", id=complaint_id)
        await deadlines.complete(conn, CMP_VERIFY, complaint_id)


@dataclass(frozen=True)
class Decided:
    complaint: complaints.Complaint
    event: recorded_events.Recorded | None  # DED-COMPLAINT, when upheld against a technician


async def decide_complaint(
    services: Services, complaint_id: int, upheld: bool, note: str, by: int | None
) -> Decided:
    """Record the result; upheld against a technician records DED-COMPLAINT once.

    The result and the event are two transactions (recorded_events.record has its own); the
    event's source key makes it once only, and deciding the same result again finishes an
    event that a crash left unrecorded.
    """
    note = tidy_text(note, "repairs.error.reason_required", MIN_REASON)
    result = "upheld" if upheld else "rejected"
    async with services.db.transaction() as conn:
        found = await _complaint(conn, complaint_id)
        if found.decided_at is None:
            if found.verified_at is None:
                raise RepairError("repairs.error.complaint_not_verified", id=complaint_id)
            await complaints.decide(conn, complaint_id, result, note, by, services.now())
            for rule in (CMP_ACK, CMP_VERIFY):
                await deadlines.complete(conn, rule, complaint_id)
        elif found.result != result or found.event_id is not None or not upheld:
            raise RepairError("repairs.error.complaint_decided", id=complaint_id)
        decided = await complaints.get(conn, complaint_id)
    assert decided is not None
    event = None
    if upheld and decided.technician_name is not None:
        event = await recorded_events.record(
            services,
            decided.technician_name,
            COMPLAINT_RULE,
            None,
            coded("complaint", decided.result_note, complaint=complaint_id),
            by,
            source_key=f"complaint:{complaint_id}",
        )
        async with services.db.transaction() as conn:
            await complaints.set_event(conn, complaint_id, event.event.id)
            decided = await complaints.get(conn, complaint_id)
    assert decided is not None
    return Decided(decided, event)


async def complaint_promises_of(services: Services, complaint_id: int) -> list[Promise]:
    """The complaint's acknowledge and verify promises (for the register)."""
    async with services.db.read() as conn:
        found = await _complaint(conn, complaint_id)
    clock = ComplaintClock(
        found.id, found.registered_at, found.acknowledged_at, found.verified_at, found.decided_at
    )
    return complaint_promises(clock, services.config, calendar_of(services))


# The returns board and the timer pass.


@dataclass(frozen=True)
class BoardLine:
    item: Item
    days_in: int
    next_promise: Promise | None
    holder: str | None
    open_loans: int


@dataclass(frozen=True)
class BoardPage:
    lines: tuple[BoardLine, ...]
    total_open: int
    next_cursor: tuple[str, int] | None  # pass back for the next page; None on the last one
    spares_due: tuple[spares.Loan, ...]  # spares still out after their item went back


async def board(
    services: Services, after: tuple[str, int] | None = None, limit: int | None = None
) -> BoardPage:
    """One page of the returns board: open items oldest first, days in, next promise, holder."""
    limit = limit or services.config.repairs.board_page_size
    now = services.now()
    calendar = calendar_of(services)
    async with services.db.read() as conn:
        rows = await store.open_page(conn, after, limit + 1)
        total = await store.count_open(conn)
        loans = await spares.open_loans(conn) if after is None else []
    more = len(rows) > limit
    rows = rows[:limit]
    lines = tuple(
        BoardLine(
            row.item,
            days_in(row.item.taken_in_at, now, services.config),
            next_promise(item_promises(row.item.clock(), services.config, calendar), now),
            row.item.holder_name,
            row.open_loans,
        )
        for row in rows
    )
    cursor = store.keyset(rows[-1].item) if more and rows else None
    return BoardPage(lines, total, cursor, tuple(loan for loan in loans if loan.item_finished))


class DueStage(NamedTuple):
    promise: Promise
    stage: str  # warn or due
    at: datetime
    action: Action


async def timer_pass(services: Services) -> list[DueStage]:
    """Every stage of every open item's promises whose time has come (for the scheduler,
    which fires each (rule, item, stage) once)."""
    now = services.now()
    calendar = calendar_of(services)
    async with services.db.read() as conn:
        clocks = await store.open_clocks(conn)
    return due_promises(clocks, services, calendar, now)


def due_promises(
    clocks: Iterable[ItemClock], services: Services, calendar: ServiceCalendar, now: datetime
) -> list[DueStage]:
    """The due stages of these items' promises (pure; the timer pass's CPU part)."""
    config = services.config
    setup = Setup.of(config)
    return [
        DueStage(promise, stage, at, action)
        for clock in clocks
        for promise, stage, at, action in due_stages(
            item_promises(clock, config, calendar, setup), now
        )
    ]


@dataclass(frozen=True)
class CustomerView:
    """What a customer who scans the voucher sees (RMA-BACK: told when it is back)."""

    voucher_no: str | None
    product: str
    state: str
    expected_back: date | None
    answer: str
    back: bool


async def customer_view(services: Services, token: str) -> CustomerView | None:
    async with services.db.read() as conn:
        item = await store.by_token(conn, token)
    if item is None:
        return None
    return CustomerView(
        item.voucher_no,
        item.product,
        item.state,
        item.expected_back,
        item.answer,
        item.state in (repairs.State.BACK, repairs.State.RETURNED),
    )


async def register_taken_back(
    services: Services,
    conn,
    ticket: TicketView,
    by: int | None,  # noqa: ANN001
) -> Item:
    """A check-out "taken back to the station": the item from the visit's ticket (customer,
    machine, fault), inside the check-out's transaction, once per ticket. Its SLA-TAKEBACK is
    the ticket's own row (create that first): one answer promise per take-back."""
    found = await store.by_ticket(conn, ticket.id)
    if found is not None and not repairs.is_final(found.state):
        return found
    product = ticket.brand_name or t(services.config.language, "rmadesk.takeback_product")
    today = services.local_now().date()
    bought = (
        ticket.purchase_date if ticket.purchase_date and ticket.purchase_date <= today else None
    )
    item = NewItem(
        customer_id=ticket.customer_id,
        product=product,
        fault=(ticket.fault or "—")[:MAX_TEXT],
        packaging="none",
        serial=ticket.serial,
        purchase_date=bought,
        ticket_id=ticket.id,
    )
    item = check_new_item(item, today)
    created = await insert_item(services, conn, item, by)
    override = await ticket_warranty.latest(conn, ticket.id)
    if override is not None:  # WTY-CHECK: the ticket's override comes along with its machine
        await store.set_warranty(conn, created.id, override.in_warranty, override.note)
        created = await store.get(conn, created.id)
        assert created is not None
    return created


async def item_of_ticket(services: Services, ticket_id: int) -> Item | None:
    async with services.db.read() as conn:
        return await store.by_ticket(conn, ticket_id)


async def link_customer(services: Services, token: str, telegram_id: int) -> Item | None:
    """The voucher's QR link opened: the item, and the customer's chat linked when free."""
    async with services.db.transaction() as conn:
        item = await store.by_token(conn, token)
        if item is None:
            return None
        staff = telegram_id in services.config.admins
        if not staff and await people.by_telegram_id(conn, telegram_id) is None:
            cur = await conn.execute(
                "UPDATE customers SET telegram_id = ? WHERE id = ?"
                " AND (telegram_id IS NULL OR telegram_id = ?)",
                (telegram_id, item.customer_id, telegram_id),
            )
            if cur.rowcount == 1:  # the chat now speaks for the customer (access, complaints)
                await identity_store.sync_telegram_customer(conn, telegram_id)
        return await store.get(conn, item.id)


async def history(services: Services, item_id: int) -> tuple[Item, list, list]:
    """The item with its transitions and explanations (for /repair ID)."""
    async with services.db.read() as conn:
        item = await _open_item(conn, item_id)
        moves = await store.transitions_of(conn, item_id)
        explained = await store.explanations_of(conn, item_id)
    return item, moves, explained


async def board_page_at(services: Services, offset: int, limit: int) -> list[BoardLine]:
    """One page of the board by position (the chat pager), with days in and next promise."""
    now = services.now()
    calendar = calendar_of(services)
    async with services.db.read() as conn:
        items = await store.open_page_at(conn, offset, limit)
    return [
        BoardLine(
            item,
            days_in(item.taken_in_at, now, services.config),
            next_promise(item_promises(item.clock(), services.config, calendar), now),
            item.holder_name,
            0,
        )
        for item in items
    ]


async def open_count(services: Services) -> int:
    async with services.db.read() as conn:
        return await store.count_open(conn)


# recorder(conn, item id, rule): record the event in conn's transaction, with whatever the front
# end tells of it; True if it was recorded now.
PromiseRecorder = Callable[[aiosqlite.Connection, int, str], Awaitable[bool]]


async def finish_unrecorded(services: Services, recorder: PromiseRecorder | None = None) -> int:
    """Record the RMA-10DAY / RMA-20DAY events whose deadline fired but whose recording was
    lost (run at start-up); how many were recorded. Once only: the source key. Each is recorded
    in a transaction of its own, with recorder's notices when given."""
    async with services.db.read() as conn:
        pending = await store.unrecorded_breaches(conn)
    done = 0
    for rule, item_id in pending:
        try:
            async with services.db.transaction() as conn:
                if recorder is not None:
                    recorded = await recorder(conn, item_id, rule)
                else:
                    found = await record_promise_event(services, item_id, rule, within=conn)
                    recorded = found is not None
        except (RepairError, recorded_events.EventError):
            continue  # e.g. a receiver who is not a technician: the managers were told at the claim
        done += int(recorded)
    return done
