"""The month workbook's print layout and the chat summary of a big station, read back."""

from __future__ import annotations

import asyncio
import html
import re
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.models import MonthStatement, StatementLine, TechnicianStatement
from bot.services import report_worker
from bot.services.reports import BRIEF_ROWS, format_summary_brief, station_totals
from bot.services.workbook import LINE_KEYS, build_workbook_file, display_cells

LIMIT = 4096


def _big(technicians: int, name: str = "技术员{i:03d}") -> MonthStatement:
    techs = []
    for i in range(technicians):
        lines = (
            StatementLine("ALW-RATE", 300 + i, f"slip {i}", "单机 · 一段相当长的备注" * 3),
            StatementLine("TRV-KM", 129, f"slip {i}", "", "travel"),
            StatementLine("DED-LATE", 1000 if i % 5 == 0 else 0, f"event {i}", "", "deduction"),
        )
        techs.append(TechnicianStatement(name.format(i=i), 3, 2, lines))
    return MonthStatement("2026-11", tuple(sorted(techs, key=lambda t: t.technician)))


def test_every_sheet_prints_one_page_wide_with_repeated_headers(tmp_path: Path) -> None:
    statement = _big(3)
    book = openpyxl.load_workbook(build_workbook_file(statement, {}, tmp_path / "m.xlsx", "zh-CN"))
    assert book.sheetnames[0] == "汇总" and len(book.sheetnames) == 4
    for ws in book.worksheets:
        setup = ws.page_setup
        assert setup.orientation == "landscape" and setup.paperSize in (9, "9")
        assert ws.sheet_properties.pageSetUpPr.fitToPage is True
        # absent would mean the default of 1
        assert int(setup.fitToWidth or 1) == 1 and int(setup.fitToHeight) == 0
        assert ws.print_title_rows.replace("$", "") == "6:6", ws.title  # header on every page
        assert "&P" in ws.oddFooter.center.text
        assert ws.freeze_panes is not None
    summary = book["汇总"]
    assert [c.value for c in summary[6]][:2] == ["技术员", "工单数"]
    sheet = book[statement.technicians[0].technician]
    assert [c.value for c in sheet[6]] == ["规则", "类别", "金额（元）", "依据", "备注"]
    assert len(LINE_KEYS) == 5


def test_amounts_are_right_aligned_numbers_with_two_decimals(tmp_path: Path) -> None:
    statement = _big(2)
    book = openpyxl.load_workbook(build_workbook_file(statement, {}, tmp_path / "m.xlsx"))
    tech = statement.technicians[0]
    sheet = book[tech.technician]
    amounts = [sheet.cell(row=7 + i, column=3) for i in range(len(tech.lines))]
    for cell, line in zip(amounts, tech.lines, strict=True):
        assert cell.data_type == "n" and round(cell.value * 100) == line.amount_fen
        assert cell.number_format == "0.00" and cell.alignment.horizontal == "right"
    total = station_totals(statement)
    station = book["汇总"].cell(row=4, column=11)  # net, the last column
    assert station.data_type == "n" and round(station.value * 100) == total.net_fen
    assert station.number_format == "0.00" and station.alignment.horizontal == "right"


def test_note_column_is_wide_and_wraps(tmp_path: Path) -> None:
    statement = _big(1)
    book = openpyxl.load_workbook(build_workbook_file(statement, {}, tmp_path / "m.xlsx"))
    sheet = book[statement.technicians[0].technician]
    assert sheet.column_dimensions["E"].width >= 40
    note = sheet.cell(row=7, column=5)
    assert note.value == statement.technicians[0].lines[0].note
    assert note.alignment.wrap_text is True
    widths = [sheet.column_dimensions[c].width for c in "ABCD"]
    assert all(w >= 8 for w in widths)
    assert sheet.row_dimensions[7].height >= 30  # the long note gets the lines it needs
    assert sheet.row_dimensions[8].height is None  # short lines keep the default


def test_big_month_streams_in_order(tmp_path: Path) -> None:
    statement = _big(40)
    path = build_workbook_file(statement, {}, tmp_path / "m.xlsx", "en")
    book = openpyxl.load_workbook(path, read_only=True)
    assert book.sheetnames[0] == "Summary" and len(book.sheetnames) == 41
    rows = list(book[statement.technicians[-1].technician].iter_rows(values_only=True))
    assert rows[-1][0] == "Net total"
    assert round(rows[-1][2] * 100) == statement.technicians[-1].net_fen


def test_text_is_never_a_formula_and_illegal_characters_go(tmp_path: Path) -> None:
    lines = (
        StatementLine("ALW-RATE", 100, "=1+1", '=HYPERLINK("x")'),
        StatementLine("ALW-RATE", 100, "slip 2", "a\x00b\x1fc"),
        StatementLine("ALW-RATE", 100, " <slip 3>", " two\nlines & more "),
    )
    statement = MonthStatement("2026-11", (TechnicianStatement("=A1", 2, 2, lines),))
    book = openpyxl.load_workbook(build_workbook_file(statement, {}, tmp_path / "m.xlsx"))
    sheet = book.worksheets[1]
    assert sheet.cell(row=7, column=4).value == "=1+1"
    assert sheet.cell(row=7, column=5).value == '=HYPERLINK("x")'
    assert sheet.cell(row=7, column=5).data_type == "s"
    assert sheet.cell(row=8, column=5).value == "abc"
    assert sheet.cell(row=9, column=4).value == " <slip 3>"
    assert sheet.cell(row=9, column=5).value == " two\nlines & more "


@pytest.mark.parametrize("count", [1, BRIEF_ROWS, BRIEF_ROWS + 1, 200, 1000])
def test_chat_summary_fits_one_message_at_any_size(count: int) -> None:
    statement = _big(count, name="技术员{i:03d}·很长很长的名字 & <团队>")
    text = format_summary_brief(statement, {}, "zh-CN")
    assert len(f"2026-11 月度汇总（进行中）\n<pre>{text}</pre>") < LIMIT
    plain = html.unescape(text)
    assert f"全站合计（{count} 人）" in plain
    assert f"工单 {3 * count}" in plain
    shown = len(re.findall(r"^技术员\d{3}", plain, re.M)) // 2  # two tables
    assert shown == min(count, BRIEF_ROWS)
    if count > BRIEF_ROWS:
        assert f"共 {count} 名" in plain
        top = max(statement.technicians, key=lambda t: t.net_fen)
        assert top.technician[:6] in plain


def test_chat_summary_drops_rows_rather_than_overflow() -> None:
    statement = _big(BRIEF_ROWS, name="&" * 40 + "{i:03d}")
    text = format_summary_brief(statement, {}, "en", max_chars=1500)
    assert len(text) <= 1500
    assert "Station total (15 technicians)" in html.unescape(text)


async def test_worker_makes_the_files_and_reports_failures(db, config, tmp_path: Path) -> None:
    job = report_worker.SummaryJob(db.path, config, "2026-11", ("zh-CN", "en"), str(tmp_path))
    ticks = []

    async def progress() -> None:
        ticks.append(1)

    result = await report_worker.run_job(job, progress=progress, every_s=0.2)
    assert result.month == "2026-11" and not result.closed and result.technicians == 0
    assert [f.language for f in result.files] == ["zh-CN", "en"]
    for made in result.files:
        assert Path(made.workbook).stat().st_size > 0
        assert Path(made.chart).read_bytes()[:4] == b"\x89PNG"
    assert ticks  # progress shown at least once
    missing = report_worker.SummaryJob(
        str(tmp_path / "nowhere" / "x.db"), config, "2026-11", ("en",), str(tmp_path)
    )
    with pytest.raises(report_worker.ReportJobError):
        await report_worker.run_job(missing)


def test_xlsx_rows_go_in_order_and_text_is_escaped(tmp_path: Path) -> None:
    from bot.services import xlsx

    book = xlsx.Workbook(tmp_path / "raw.xlsx")
    sheet = book.add_sheet("it's", xlsx.SheetLayout(title_row=1))
    sheet.row(1, [("a<b>&c", xlsx.PLAIN), (" padded ", xlsx.PLAIN), (1.5, xlsx.MONEY)])
    with pytest.raises(ValueError):
        sheet.row(1, [("again", xlsx.PLAIN)])
    book.close()
    ws = openpyxl.load_workbook(tmp_path / "raw.xlsx")["it's"]
    assert [c.value for c in ws[1]] == ["a<b>&c", " padded ", 1.5]
    assert ws.print_title_rows.replace("$", "") == "1:1"
    assert xlsx.escape("x\x00\ud800y") == "xy" and xlsx.column_letter(27) == "AB"


@dataclass(frozen=True)
class Nap:
    """A worker job that sleeps (importable by the worker as tests.unit.test_workbook.Nap)."""

    seconds: float

    async def run(self) -> float:
        await asyncio.sleep(self.seconds)
        return self.seconds


async def test_one_job_at_a_time_progress_while_waiting_and_timeouts_kill() -> None:
    ticks: list[float] = []

    async def progress() -> None:
        ticks.append(time.perf_counter())

    started = time.perf_counter()
    first = asyncio.ensure_future(report_worker.run_job(Nap(1.0)))
    await asyncio.sleep(0.05)
    assert await report_worker.run_job(Nap(0.1), progress=progress, every_s=0.2) == 0.1
    assert await first == 1.0
    assert time.perf_counter() - started >= 1.1  # the second waited for the first
    assert len(ticks) >= 3  # shown while it waited, not only once
    with pytest.raises(report_worker.ReportJobError, match="took over"):
        await report_worker.run_job(Nap(30), timeout_s=0.5)
    assert time.perf_counter() - started < 20


@given(st.text(max_size=80))
def test_display_cells_counts_wide_characters_twice(text: str) -> None:
    expected = sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)
    assert display_cells(text) == expected
