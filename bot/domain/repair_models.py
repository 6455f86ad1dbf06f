"""The repair desk's records: an item as registered, and as stored with its customer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bot.domain.repair_timers import ItemClock

PACKAGING = ("complete", "partial", "none")


@dataclass(frozen=True)
class NewItem:
    """What the desk registers when an item is taken in (RMA-REGISTER, RMA-VOUCHER)."""

    customer_id: int
    product: str
    fault: str
    packaging: str  # complete, partial or none
    item_kind: str = "machine"
    specification: str = ""
    serial: str = ""
    purchase_date: date | None = None
    accessories: tuple[str, ...] = ()
    photos: tuple[str, ...] = ()  # Telegram file ids
    inside_region: bool = True  # the FAQ's turnaround: within the home region or outside
    ticket_id: int | None = None


@dataclass(frozen=True)
class Item:
    id: int
    voucher_no: str | None
    token: str
    customer_id: int
    customer_name: str
    customer_class: str
    customer_kind: str
    customer_telegram_id: int | None
    ticket_id: int | None
    item_kind: str
    product: str
    specification: str
    serial: str
    purchase_date: date | None
    fault: str
    accessories: tuple[str, ...]
    packaging: str
    inside_region: bool
    taken_in_by: int | None
    taken_in_at: datetime
    holder_id: int | None
    holder_name: str | None
    state: str
    expected_back: date | None
    answer: str
    answered_at: datetime | None
    sent_up_at: datetime | None
    sent_by: int | None
    shipment: str
    accessories_sent: tuple[str, ...]
    upstream_confirmed_at: datetime | None
    back_at: datetime | None
    outcome: str | None
    signoff: str | None
    signature_file_id: str | None
    explained_at: datetime | None
    spare_settled_at: datetime | None
    finished_at: datetime | None
    warranty_in: bool | None
    warranty_note: str

    @property
    def county(self) -> bool:
        return self.customer_class == "agent" and self.customer_kind == "county"

    def clock(self) -> ItemClock:
        return ItemClock(
            item_id=self.id,
            state=self.state,
            customer_class=self.customer_class,
            customer_kind=self.customer_kind,
            taken_in_at=self.taken_in_at,
            sent_up_at=self.sent_up_at,
            upstream_confirmed_at=self.upstream_confirmed_at,
            back_at=self.back_at,
            answered_at=self.answered_at,
            explained_at=self.explained_at,
            spare_settled_at=self.spare_settled_at,
            finished_at=self.finished_at,
        )
