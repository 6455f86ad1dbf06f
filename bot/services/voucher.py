"""The repair voucher 返修凭证 (RMA-VOUCHER) as a printable one-page PDF with its QR code.

A plain, blocking function (font subsetting takes a fraction of a second): callers run it in a
worker thread, never on the event loop. The CJK font is Noto Sans CJK SC, shipped by mplfonts,
embedded as a subset.
"""

from __future__ import annotations

import io
import re
from datetime import date
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import segno

from bot.config import Config
from bot.domain.repair_models import Item
from bot.i18n import t

if TYPE_CHECKING:
    from fpdf import FPDF

FONT_FILE = "NotoSansCJKsc-Regular.otf"
_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
START_PREFIX = "rma_"
A5_MM = (148, 210)
MARGIN_MM = 12
TABLE_FONT_SIZES = (10, 8.5, 7, 6)
LONGEST_VALUE = 120  # characters of one field printed; the rest is cut so the page holds


@cache
def cjk_font_path() -> Path:
    """Noto Sans CJK SC as installed with the mplfonts package."""
    import mplfonts  # a dependency; imported here so the module loads without touching fonts

    path = Path(mplfonts.__file__).resolve().parent / "fonts" / FONT_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{FONT_FILE} not found in the mplfonts package ({path})")
    return path


def deep_link(bot_username: str, token: str) -> str:
    """The link a customer opens by scanning the voucher (the bot's /start rma_<token>)."""
    name = bot_username.removeprefix("@")
    if not _USERNAME.match(name):
        raise ValueError(f"not a bot username: {bot_username!r}")
    return f"https://t.me/{name}?start={START_PREFIX}{token}"


def _day(language: str, day: date | None) -> str:
    if day is None:
        return "—"
    return t(language, "repairs.voucher.date", year=day.year, month=day.month, day=day.day)


def _clip(text: str) -> str:
    return text if len(text) <= LONGEST_VALUE else text[: LONGEST_VALUE - 1] + "…"


def _qr_png(link: str) -> io.BytesIO:
    buffer = io.BytesIO()
    segno.make(link, error="m").save(buffer, kind="png", scale=6, border=2)
    buffer.seek(0)
    return buffer


def render_voucher(item: Item, config: Config, bot_username: str, language: str = "zh-CN") -> bytes:
    """The voucher of an item as PDF bytes (one A5 page); ValueError for an item without one."""
    if item.voucher_no is None:
        raise ValueError(f"repair item {item.id} has no voucher (a county company's)")
    link = deep_link(bot_username, item.token)
    for size in TABLE_FONT_SIZES:  # long fields: a smaller table until the page holds it all
        pdf = _draw(item, config, language, link, size)
        if pdf.get_y() <= A5_MM[1] - MARGIN_MM:
            break
    return bytes(pdf.output())


def _draw(item: Item, config: Config, language: str, link: str, size: float) -> FPDF:
    """Lay the voucher out with the table's text at `size` points."""
    assert item.voucher_no is not None
    rep = config.repairs
    days = rep.turnaround_inside_days if item.inside_region else rep.turnaround_outside_days
    where = "inside" if item.inside_region else "outside"
    taken_in = item.taken_in_at.astimezone(config.tz).date()

    from fpdf import FPDF  # ~30 MB with its imaging stack: loaded when a voucher is drawn

    pdf = FPDF(orientation="portrait", unit="mm", format=A5_MM)
    pdf.set_auto_page_break(False)
    pdf.set_margins(MARGIN_MM, MARGIN_MM, MARGIN_MM)
    pdf.add_page()
    pdf.add_font("cjk", fname=str(cjk_font_path()))
    pdf.set_title(t(language, "repairs.voucher.title"))
    pdf.set_font("cjk", size=16)
    pdf.cell(0, 9, t(language, "repairs.voucher.title"), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=9)
    pdf.cell(0, 5, config.station_name, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)

    accessories = "、".join(item.accessories) or t(language, "repairs.voucher.none")
    rows = [
        ("number", item.voucher_no),
        ("customer", item.customer_name),
        ("product", item.product),
        ("specification", item.specification or "—"),
        ("serial", item.serial or "—"),
        ("purchased", _day(language, item.purchase_date)),
        ("fault", item.fault),
        ("accessories", accessories),
        ("packaging", t(language, f"repairs.packaging.{item.packaging}")),
        ("taken_in", _day(language, taken_in)),
        ("expected", _day(language, item.expected_back)),
    ]
    label_width, value_width = 24, 96 - 24
    qr_size = 26
    pdf.set_font("cjk", size=size)
    line = size * 0.65
    top = pdf.get_y()
    for key, value in rows:
        # Rows beside the QR code are narrower; the label cell is as tall as its value.
        row_top = pdf.get_y()
        width = value_width if row_top < top + qr_size + 6 else 124 - label_width
        text = _clip(str(value))
        lines = pdf.multi_cell(width, line, text, dry_run=True, output="LINES")
        pdf.set_xy(MARGIN_MM, row_top)
        pdf.cell(label_width, line * len(lines), t(language, f"repairs.voucher.{key}"), border=1)
        pdf.multi_cell(width, line, text, border=1, new_x="LMARGIN", new_y="NEXT")
    table_end = pdf.get_y()
    pdf.image(_qr_png(link), x=12 + 96 + 2, y=top, w=qr_size, h=qr_size)
    pdf.set_xy(12 + 96 + 2, top + qr_size)
    pdf.set_font("cjk", size=6)
    pdf.multi_cell(qr_size, 3, t(language, "repairs.voucher.scan"), align="C")

    pdf.set_y(max(pdf.get_y(), table_end) + 4)
    pdf.set_font("cjk", size=8.5)
    notes = [
        t(
            language,
            f"repairs.voucher.turnaround_{where}",
            region=rep.home_region,
            low=days[0],
            high=days[1],
        ),
        t(language, "repairs.voucher.freight"),
        t(language, "repairs.voucher.keep"),
    ]
    for note in notes:
        pdf.multi_cell(0, 4.5, note, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("cjk", size=7)
    pdf.multi_cell(0, 4, link, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("cjk", size=9)
    pdf.cell(62, 6, t(language, "repairs.voucher.sign_station"))
    pdf.cell(62, 6, t(language, "repairs.voucher.sign_customer"), new_x="LMARGIN", new_y="NEXT")
    return pdf
