"""A repair item built directly, for the unit tests of what is drawn or computed from one."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.domain.repair_models import Item


def repair_item(**overrides) -> Item:
    """A repair item as storage gives it, just received at the desk; overrides change fields."""
    values = dict(
        id=12,
        voucher_no="FX-20261201-0007",
        token="abcDEF123_-xyz",
        customer_id=3,
        customer_name="四川省税务局",
        customer_class="industry",
        customer_kind="",
        customer_telegram_id=None,
        ticket_id=None,
        item_kind="machine",
        product="联想 启天 M428",
        specification="i5-9500 / 8G / 1T",
        serial="PC0ABCDE",
        purchase_date=date(2026, 3, 15),
        fault="开机无显示，风扇转",
        accessories=("电源线", "无线鼠标"),
        packaging="partial",
        inside_region=True,
        taken_in_by=None,
        taken_in_at=datetime(2026, 12, 1, 2, 0, tzinfo=UTC),
        holder_id=None,
        holder_name=None,
        state="received",
        expected_back=date(2026, 12, 9),
        answer="",
        answered_at=None,
        sent_up_at=None,
        sent_by=None,
        shipment="",
        accessories_sent=(),
        upstream_confirmed_at=None,
        back_at=None,
        outcome=None,
        signoff=None,
        signature_file_id=None,
        explained_at=None,
        spare_settled_at=None,
        finished_at=None,
        warranty_in=None,
        warranty_note="",
    )
    values.update(overrides)
    return Item(**values)
