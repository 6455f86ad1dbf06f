"""Repair items, their vouchers and transitions (every state change goes through bot.domain.repairs)."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, replace
from datetime import date, datetime

import aiosqlite

from bot.domain import repairs
from bot.domain.dispatch_models import from_iso, to_iso
from bot.domain.repair_models import PACKAGING, Item, NewItem
from bot.domain.repair_timers import ItemClock

__all__ = ["PACKAGING", "Item", "NewItem"]  # the models live in bot/, re-exported for callers


def _list(text: str | None) -> tuple[str, ...]:
    return tuple(json.loads(text)) if text else ()


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


_ITEM_SQL = (
    "SELECT i.*, c.name AS customer_name, c.class AS customer_class, c.kind AS customer_kind, "
    "c.telegram_id AS customer_telegram_id, p.name AS holder_name "
    "FROM repair_items i JOIN customers c ON c.id = i.customer_id "
    "LEFT JOIN people p ON p.id = i.holder_id "
)


def _item(row: aiosqlite.Row) -> Item:
    return Item(
        id=row["id"],
        voucher_no=row["voucher_no"],
        token=row["token"],
        customer_id=row["customer_id"],
        customer_name=row["customer_name"],
        customer_class=row["customer_class"],
        customer_kind=row["customer_kind"],
        customer_telegram_id=row["customer_telegram_id"],
        ticket_id=row["ticket_id"],
        item_kind=row["item_kind"],
        product=row["product"],
        specification=row["specification"],
        serial=row["serial"],
        purchase_date=_date(row["purchase_date"]),
        fault=row["fault"],
        accessories=_list(row["accessories"]),
        packaging=row["packaging"],
        inside_region=bool(row["inside_region"]),
        taken_in_by=row["taken_in_by"],
        taken_in_at=from_iso(row["taken_in_at"]),  # type: ignore[arg-type]
        holder_id=row["holder_id"],
        holder_name=row["holder_name"],
        state=row["state"],
        expected_back=_date(row["expected_back"]),
        answer=row["answer"],
        answered_at=from_iso(row["answered_at"]),
        sent_up_at=from_iso(row["sent_up_at"]),
        sent_by=row["sent_by"],
        shipment=row["shipment"],
        accessories_sent=_list(row["accessories_sent"]),
        upstream_confirmed_at=from_iso(row["upstream_confirmed_at"]),
        back_at=from_iso(row["back_at"]),
        outcome=row["outcome"],
        signoff=row["signoff"],
        signature_file_id=row["signature_file_id"],
        explained_at=from_iso(row["explained_at"]),
        spare_settled_at=from_iso(row["spare_settled_at"]),
        finished_at=from_iso(row["finished_at"]),
        warranty_in=None if row["warranty_in"] is None else bool(row["warranty_in"]),
        warranty_note=row["warranty_note"],
    )


async def next_voucher_no(conn: aiosqlite.Connection, prefix: str, day: date) -> str:
    """The next voucher number of the day, e.g. FX-20261203-0001 (inside the write lock)."""
    stem = f"{prefix}-{day.strftime('%Y%m%d')}-"
    rows = await conn.execute_fetchall(
        "SELECT count(*) FROM repair_items WHERE voucher_no LIKE ?", (stem + "%",)
    )
    return f"{stem}{int(rows[0][0]) + 1:04d}"


async def insert(
    conn: aiosqlite.Connection,
    item: NewItem,
    *,
    voucher_no: str | None,
    expected_back: date | None,
    taken_in_by: int | None,
    at: datetime,
) -> int:
    """Register an item in state received, with its photos and first transition."""
    if item.packaging not in PACKAGING:
        raise ValueError(f"packaging must be one of {', '.join(PACKAGING)}")
    now = to_iso(at)
    cur = await conn.execute(
        "INSERT INTO repair_items (voucher_no, token, customer_id, ticket_id, item_kind, product, "
        "specification, serial, purchase_date, fault, accessories, packaging, inside_region, "
        "taken_in_by, taken_in_at, holder_id, state, expected_back, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            voucher_no,
            secrets.token_urlsafe(12),
            item.customer_id,
            item.ticket_id,
            item.item_kind,
            item.product,
            item.specification,
            item.serial,
            item.purchase_date.isoformat() if item.purchase_date else None,
            item.fault,
            json.dumps(list(item.accessories), ensure_ascii=False),
            item.packaging,
            int(item.inside_region),
            taken_in_by,
            now,
            taken_in_by,
            repairs.State.RECEIVED.value,
            expected_back.isoformat() if expected_back else None,
            now,
            now,
        ),
    )
    item_id = int(cur.lastrowid)
    for file_id in item.photos:
        await add_photo(conn, item_id, file_id, taken_in_by, at)
    await conn.execute(
        "INSERT INTO repair_transitions (item_id, event, from_state, to_state, by_person, role, "
        "at, note) VALUES (?, 'register', NULL, ?, ?, 'desk', ?, '')",
        (item_id, repairs.State.RECEIVED.value, taken_in_by, now),
    )
    return item_id


async def add_photo(
    conn: aiosqlite.Connection, item_id: int, file_id: str, by: int | None, at: datetime
) -> None:
    await conn.execute(
        "INSERT INTO repair_photos (item_id, file_id, added_by, added_at) VALUES (?, ?, ?, ?)",
        (item_id, file_id, by, to_iso(at)),
    )


async def photos_of(conn: aiosqlite.Connection, item_id: int) -> list[str]:
    rows = await conn.execute_fetchall(
        "SELECT file_id FROM repair_photos WHERE item_id = ? ORDER BY id", (item_id,)
    )
    return [row[0] for row in rows]


async def get(conn: aiosqlite.Connection, item_id: int) -> Item | None:
    rows = await conn.execute_fetchall(_ITEM_SQL + "WHERE i.id = ?", (item_id,))
    return _item(rows[0]) if rows else None


async def by_token(conn: aiosqlite.Connection, token: str) -> Item | None:
    """The item a voucher's QR link names (the customer's view)."""
    rows = await conn.execute_fetchall(_ITEM_SQL + "WHERE i.token = ?", (token,))
    return _item(rows[0]) if rows else None


async def by_voucher(conn: aiosqlite.Connection, voucher_no: str) -> Item | None:
    rows = await conn.execute_fetchall(_ITEM_SQL + "WHERE i.voucher_no = ?", (voucher_no,))
    return _item(rows[0]) if rows else None


# Columns an event sets besides the state ("?" takes a value from _fields).
_FINISHING = frozenset(
    {
        repairs.Event.RETURN,
        repairs.Event.REFUND,
        repairs.Event.EXCHANGE,
        repairs.Event.SWAP,
        repairs.Event.LOSE,
    }
)


def _fields(event: str, step: repairs.Step, person_id: int | None, when: str) -> dict[str, object]:
    if event == repairs.Event.SEND_UP:
        return {
            "sent_up_at": when,
            "sent_by": person_id,
            "shipment": step.shipment.strip(),
            "accessories_sent": json.dumps(list(step.accessories_sent or ()), ensure_ascii=False),
            "upstream_confirmed_at": None,
        }
    if event == repairs.Event.COME_BACK:
        return {"back_at": when, "outcome": step.outcome}
    if event == repairs.Event.REPAIRED:
        return {"back_at": when, "outcome": repairs.Outcome.REPAIRED.value}
    fields: dict[str, object] = {}
    if event == repairs.Event.RETURN:
        fields = {
            "signoff": step.signoff,
            "signature_file_id": step.signature_file_id or None,
            "return_shipment": step.shipment.strip(),
        }
    if event in _FINISHING:
        fields["finished_at"] = when
    return fields


async def transition(
    conn: aiosqlite.Connection,
    item_id: int,
    event: str,
    role: str,
    person_id: int | None,
    step: repairs.Step,
    at: datetime,
) -> Item:
    """Move an item by event (inside the caller's transaction) and record who, when and why.

    The item's own facts (voucher, county company) complete the step before the guards run.
    Raises repairs.IllegalTransition (RoleNotAllowed, GuardFailed) and LookupError.
    """
    item = await get(conn, item_id)
    if item is None:
        raise LookupError(f"no repair item {item_id}")
    step = replace(step, has_voucher=item.voucher_no is not None, county=item.county)
    target = repairs.apply(item.state, event, role, step)
    when = to_iso(at)
    fields = {"state": target, "updated_at": when, **_fields(event, step, person_id, when)}
    assignments = ", ".join(f"{name} = ?" for name in fields)
    cur = await conn.execute(
        f"UPDATE repair_items SET {assignments} WHERE id = ? AND state = ?",
        (*fields.values(), item_id, item.state),
    )
    if cur.rowcount != 1:  # changed under us: report it as the illegal step it now is
        raise repairs.IllegalTransition(item.state, event, "the item changed meanwhile")
    await conn.execute(
        "INSERT INTO repair_transitions (item_id, event, from_state, to_state, by_person, role, "
        "at, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (item_id, event, item.state, target, person_id, role, when, step.note.strip()),
    )
    moved = await get(conn, item_id)
    assert moved is not None
    return moved


async def transitions_of(conn: aiosqlite.Connection, item_id: int) -> list[aiosqlite.Row]:
    rows = await conn.execute_fetchall(
        "SELECT * FROM repair_transitions WHERE item_id = ? ORDER BY id", (item_id,)
    )
    return list(rows)


async def record_answer(
    conn: aiosqlite.Connection, item_id: int, answer: str, at: datetime
) -> bool:
    """SLA-TAKEBACK: the answer given to the customer; True when it is the first one."""
    when = to_iso(at)
    await conn.execute("UPDATE repair_items SET answer = ? WHERE id = ?", (answer, item_id))
    cur = await conn.execute(
        "UPDATE repair_items SET answered_at = ? WHERE id = ? AND answered_at IS NULL",
        (when, item_id),
    )
    return cur.rowcount == 1


async def confirm_upstream(conn: aiosqlite.Connection, item_id: int, at: datetime) -> bool:
    """RMA-SEND: receipt upstream confirmed; True when it was not confirmed before."""
    cur = await conn.execute(
        "UPDATE repair_items SET upstream_confirmed_at = ? "
        "WHERE id = ? AND state = 'sent_up' AND upstream_confirmed_at IS NULL",
        (to_iso(at), item_id),
    )
    return cur.rowcount == 1


async def add_explanation(
    conn: aiosqlite.Connection,
    item_id: int,
    reason: str,
    new_date: date,
    customer_told: bool,
    by: int | None,
    at: datetime,
) -> int:
    """RMA-10DAY / RMA-AGENT: why it is late and the new date; moves the expected date."""
    when = to_iso(at)
    cur = await conn.execute(
        "INSERT INTO repair_explanations (item_id, reason, new_date, customer_told, by_person, at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (item_id, reason, new_date.isoformat(), int(customer_told), by, when),
    )
    await conn.execute(
        "UPDATE repair_items SET explained_at = coalesce(explained_at, ?), expected_back = ?, "
        "updated_at = ? WHERE id = ?",
        (when, new_date.isoformat(), when, item_id),
    )
    return int(cur.lastrowid)


async def explanations_of(conn: aiosqlite.Connection, item_id: int) -> list[aiosqlite.Row]:
    rows = await conn.execute_fetchall(
        "SELECT * FROM repair_explanations WHERE item_id = ? ORDER BY id", (item_id,)
    )
    return list(rows)


async def settle_spare(
    conn: aiosqlite.Connection, item_id: int, at: datetime, declined_reason: str = ""
) -> None:
    """SLA-SPARE: a spare was lent, or why not was recorded (the first one counts)."""
    await conn.execute(
        "UPDATE repair_items SET spare_settled_at = coalesce(spare_settled_at, ?), "
        "spare_declined_reason = ? WHERE id = ?",
        (to_iso(at), declined_reason, item_id),
    )


async def set_holder(conn: aiosqlite.Connection, item_id: int, person_id: int | None) -> None:
    await conn.execute("UPDATE repair_items SET holder_id = ? WHERE id = ?", (person_id, item_id))


async def set_warranty(
    conn: aiosqlite.Connection, item_id: int, in_warranty: bool, note: str
) -> None:
    """WTY-CHECK override, with the technician's note."""
    await conn.execute(
        "UPDATE repair_items SET warranty_in = ?, warranty_note = ? WHERE id = ?",
        (int(in_warranty), note, item_id),
    )


@dataclass(frozen=True)
class BoardRow:
    """One open item on the returns board."""

    item: Item
    open_loans: int


async def count_open(conn: aiosqlite.Connection) -> int:
    rows = await conn.execute_fetchall(
        "SELECT count(*) FROM repair_items WHERE finished_at IS NULL"
    )
    return int(rows[0][0])


def open_page_sql(after: bool) -> str:
    """The board's page query; the index repair_items_open serves both filter and order."""
    where = "WHERE i.finished_at IS NULL "
    if after:
        where += "AND (i.taken_in_at, i.id) > (?, ?) "  # a row value: the index range starts there
    return _ITEM_SQL + where + "ORDER BY i.taken_in_at, i.id LIMIT ?"


async def open_page(
    conn: aiosqlite.Connection, after: tuple[str, int] | None, limit: int
) -> list[BoardRow]:
    """Open items oldest first, a page after the keyset (taken_in_at, id) of the last row."""
    params: list[object] = [] if after is None else [after[0], after[1]]
    rows = await conn.execute_fetchall(open_page_sql(after is not None), (*params, limit))
    items = [_item(row) for row in rows]
    loans: dict[int, int] = {}
    if items:
        marks = ",".join("?" * len(items))
        found = await conn.execute_fetchall(
            "SELECT item_id, count(*) FROM spare_loans WHERE returned_at IS NULL "
            f"AND item_id IN ({marks}) GROUP BY item_id",
            [item.id for item in items],
        )
        loans = {row[0]: row[1] for row in found}
    return [BoardRow(item, loans.get(item.id, 0)) for item in items]


def keyset(item: Item) -> tuple[str, int]:
    """The board's cursor after this item."""
    return (to_iso(item.taken_in_at), item.id)


_CLOCK_SQL = (
    "SELECT i.id, i.state, c.class, c.kind, i.taken_in_at, i.sent_up_at, "
    "i.upstream_confirmed_at, i.back_at, i.answered_at, i.explained_at, i.spare_settled_at, "
    "i.finished_at FROM repair_items i JOIN customers c ON c.id = i.customer_id "
)


async def open_clocks(conn: aiosqlite.Connection) -> list[ItemClock]:
    """The promise facts of every open item (one pass of the timers)."""
    rows = await conn.execute_fetchall(
        _CLOCK_SQL + "WHERE i.finished_at IS NULL ORDER BY i.taken_in_at, i.id"
    )
    # Stored instants are ISO text in UTC; parsed directly, as this reads every open item.
    parse = datetime.fromisoformat
    return [
        ItemClock(
            row[0],
            row[1],
            row[2],
            row[3],
            parse(row[4]),
            *(parse(text) if text else None for text in row[5:12]),
        )
        for row in rows
    ]


async def open_page_at(conn: aiosqlite.Connection, offset: int, limit: int) -> list[Item]:
    """Open items oldest first, a page by position (the chat board's pages)."""
    rows = await conn.execute_fetchall(
        _ITEM_SQL + "WHERE i.finished_at IS NULL ORDER BY i.taken_in_at, i.id LIMIT ? OFFSET ?",
        (limit, offset),
    )
    return [_item(row) for row in rows]


async def by_ticket(conn: aiosqlite.Connection, ticket_id: int) -> Item | None:
    """The newest item registered from this ticket (a take-back), if any."""
    rows = await conn.execute_fetchall(
        _ITEM_SQL + "WHERE i.ticket_id = ? ORDER BY i.id DESC LIMIT 1", (ticket_id,)
    )
    return _item(rows[0]) if rows else None


async def answer_for_ticket(
    conn: aiosqlite.Connection, ticket_id: int, answer: str, at: datetime
) -> list[int]:
    """SLA-TAKEBACK answered on the ticket: recorded on its open items too; their ids."""
    rows = await conn.execute_fetchall(
        "SELECT id FROM repair_items WHERE ticket_id = ? AND finished_at IS NULL", (ticket_id,)
    )
    ids = [int(row[0]) for row in rows]
    for item_id in ids:
        await record_answer(conn, item_id, answer, at)
    return ids


async def unrecorded_breaches(conn: aiosqlite.Connection) -> list[tuple[str, int]]:
    """(rule, item) of RMA-10DAY / RMA-20DAY deadlines that fired on an open, unexplained item
    whose event is not recorded (a crash between the claim and the recording)."""
    rows = await conn.execute_fetchall(
        "SELECT substr(d.kind, 8), d.ref_id FROM deadlines d "
        "JOIN repair_items i ON i.id = d.ref_id "
        "WHERE d.kind IN ('repair:RMA-10DAY', 'repair:RMA-20DAY') AND d.fired_at IS NOT NULL "
        "AND i.finished_at IS NULL AND i.explained_at IS NULL "
        "AND NOT EXISTS (SELECT 1 FROM events e "
        "WHERE e.source_key = substr(d.kind, 8) || ':repair:' || d.ref_id) "
        "ORDER BY d.id"
    )
    return [(str(row[0]), int(row[1])) for row in rows]
