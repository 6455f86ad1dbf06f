"""The repair voucher PDF: one page, Chinese text that reads back, a QR code of the deep link."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from bot.config import parse_config
from bot.services.voucher import cjk_font_path, deep_link, render_voucher
from tests.unit.repair_items import repair_item as item

CONFIG = parse_config({"station": {"name": "成都服务站"}})


def text_of(pdf: bytes) -> tuple[int, str, int]:
    reader = PdfReader(io.BytesIO(pdf))
    page = reader.pages[0]
    # pypdf reads the embedded encoding CMap that fpdf2 writes for a CFF (OpenType) font as
    # one-byte codes and puts a NUL before every character; the PDF itself is right (poppler's
    # pdftotext reads it cleanly), so the NULs are dropped here.
    text = page.extract_text().replace("\x00", "")
    return len(reader.pages), "".join(text.split()), len(page.images)


def test_the_font_ships_with_mplfonts() -> None:
    assert cjk_font_path().is_file() and cjk_font_path().suffix == ".otf"


def test_voucher_text_reads_back_in_chinese() -> None:
    pages, text, images = text_of(render_voucher(item(), CONFIG, "FieldStationBot"))
    assert pages == 1 and images == 1  # one page with the QR code
    assert "返修凭证" in text and "成都服务站" in text
    assert "FX-20261201-0007" in text
    assert "四川省税务局" in text
    assert "电源线、无线鼠标" in text
    assert "预计返还2026年12月9日" in text
    assert "收件日期2026年12月1日" in text
    assert "四川省内7-8天" in text
    assert "运输费双方各付一半" in text
    assert "https://t.me/FieldStationBot?start=rma_abcDEF123_-xyz" in text


def test_voucher_outside_the_region_and_in_english() -> None:
    _, text, _ = text_of(render_voucher(item(inside_region=False), CONFIG, "@FieldStationBot"))
    assert "四川省外10-15天" in text
    _, english, _ = text_of(render_voucher(item(accessories=()), CONFIG, "FieldStationBot", "en"))
    assert "Repairvoucher" in english and "Expectedback2026-12-09" in english
    assert "Accessoriesnone" in english


def test_no_voucher_for_county_items_and_bad_usernames() -> None:
    with pytest.raises(ValueError):
        render_voucher(item(voucher_no=None), CONFIG, "FieldStationBot")
    with pytest.raises(ValueError):
        deep_link("no spaces allowed", "tok")
    assert deep_link("@MyBot_1", "t0k") == "https://t.me/MyBot_1?start=rma_t0k"


def test_a_long_fault_still_fits_one_page() -> None:
    long_item = item(
        product="超长品名" * 30,
        specification="规格" * 60,
        customer_name="客户" * 60,
        fault="开机后约十分钟自动重启，" * 30,
        accessories=("电源线",) * 40,
    )
    pages, text, _ = text_of(render_voucher(long_item, CONFIG, "FieldStationBot"))
    assert pages == 1 and "FX-20261201-0007" in text and "客户签字" in text
    assert "…" in text  # a field longer than the page allows is cut, visibly
