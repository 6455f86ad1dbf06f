"""The month's Excel workbook, written in constant memory and laid out for printing.

XlsxWriter's constant_memory mode writes each row to disk as soon as the next one starts, so a
month of a quarter of a million statement lines costs the same few megabytes as a small one
(openpyxl kept every cell as an object: ~400 MB and 16 s per 100,000 slips). Rows go strictly in
order. Each sheet prints one page wide (landscape), repeats its table header on every page,
keeps amounts as numbers with two decimals, right-aligned, and wraps the note column.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.models import MonthStatement, TechnicianStatement
from bot.reports import (
    KINDS,
    MONEY_FORMAT,
    NOT_AVAILABLE,
    RATE_FORMAT,
    Metrics,
    SummaryRow,
    clean_sheet_title,
    kind_label,
    line_note,
    station_totals,
    summary_rows,
    text,
    unique_sheet_titles,
    yuan,
)

MAX_CELL_TEXT = 32767
PAPER_A4 = 9
# Characters XML 1.0 cannot carry (XlsxWriter would escape them as _xHHHH_ literals).
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

SUMMARY_KEYS = (
    "technician",
    "slips",
    "settled",
    "satisfaction",
    "on_time",
    "allowance",
    "travel",
    "deductions",
    "rewards",
    "net",
)
SUMMARY_WIDTHS = (16, 8, 9, 9, 11, 12, 12, 12, 12, 12)
LINE_KEYS = ("rule", "kind", "amount", "ref", "note")
LINE_WIDTHS = (16, 8, 12, 14, 60)
SUMMARY_HEADER_ROW = 5  # 0-based: the per-technician table's header, repeated on each page


def _clean(value: str) -> str:
    """Text safe for a cell: no XML-illegal characters, at most Excel's 32,767 characters."""
    if _ILLEGAL.search(value):
        value = _ILLEGAL.sub("", value)
    return value[:MAX_CELL_TEXT]


class _Formats:
    """The workbook's cell formats, made once."""

    def __init__(self, book: Any) -> None:
        self.title = book.add_format({"bold": True, "font_size": 14})
        self.bold = book.add_format({"bold": True})
        self.header = book.add_format(
            {"bold": True, "bottom": 1, "text_wrap": True, "valign": "top"}
        )
        self.money = book.add_format({"num_format": MONEY_FORMAT, "align": "right"})
        self.money_bold = book.add_format(
            {"num_format": MONEY_FORMAT, "align": "right", "bold": True}
        )
        self.count = book.add_format({"num_format": "0", "align": "right"})
        self.count_bold = book.add_format({"num_format": "0", "align": "right", "bold": True})
        self.rate = book.add_format({"num_format": RATE_FORMAT, "align": "right"})
        self.rate_bold = book.add_format(
            {"num_format": RATE_FORMAT, "align": "right", "bold": True}
        )
        self.note = book.add_format({"text_wrap": True, "valign": "top"})


def _print_layout(ws: Any, header_row: int, footer: str, landscape: bool) -> None:
    """A4, one page wide (as many tall as needed), header row on every page, page numbers."""
    ws.set_paper(PAPER_A4)
    if landscape:
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(header_row)
    ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.6)
    ws.set_footer(f"&C{footer}")


def _widths(ws: Any, widths: Sequence[float], last: Any = None) -> None:
    for col, width in enumerate(widths):
        ws.set_column(col, col, width, last if col == len(widths) - 1 else None)


def _write_texts(ws: Any, row: int, values: Sequence[str], fmt: Any) -> None:
    for col, value in enumerate(values):
        ws.write_string(row, col, _clean(value), fmt)


def _write_summary_row(ws: Any, row: int, label: str, data: SummaryRow, f: _Formats) -> None:
    """One summary line: counts, rates (or "—") and money in 元; the station's in bold."""
    bold = data.technician == ""
    ws.write_string(row, 0, _clean(label), f.bold if bold else None)
    count = f.count_bold if bold else f.count
    ws.write_number(row, 1, data.slips, count)
    ws.write_number(row, 2, data.settled, count)
    rate = f.rate_bold if bold else f.rate
    for col, value in ((3, data.satisfaction), (4, data.on_time)):
        if value is None:
            ws.write_string(row, col, NOT_AVAILABLE, rate)
        else:
            ws.write_number(row, col, value, rate)
    money = f.money_bold if bold else f.money
    amounts = (data.allowance_fen, data.travel_fen, data.deduction_fen, data.reward_fen)
    for col, fen in enumerate((*amounts, data.net_fen), start=5):
        ws.write_number(row, col, yuan(fen), money)


def _summary_sheet(
    ws: Any, statement: MonthStatement, metrics: Metrics, language: str | None, f: _Formats
) -> None:
    """Title, station totals, then the per-technician table (header repeated when printed)."""
    header = [text(language, f"report.col_{key}") for key in SUMMARY_KEYS]
    _widths(ws, SUMMARY_WIDTHS)
    _print_layout(ws, SUMMARY_HEADER_ROW, text(language, "report.page_footer"), landscape=True)
    ws.freeze_panes(SUMMARY_HEADER_ROW + 1, 1)
    ws.write_string(0, 0, _clean(text(language, "report.title", month=statement.month)), f.title)
    _write_texts(ws, 2, header, f.header)
    total = station_totals(statement, metrics)
    _write_summary_row(ws, 3, text(language, "report.station_total"), total, f)
    _write_texts(ws, SUMMARY_HEADER_ROW, header, f.header)
    for offset, row in enumerate(summary_rows(statement, metrics), start=SUMMARY_HEADER_ROW + 1):
        _write_summary_row(ws, offset, row.technician, row, f)


def _technician_sheet(
    ws: Any,
    statement: MonthStatement,
    tech: TechnicianStatement,
    language: str | None,
    f: _Formats,
) -> None:
    """The technician's name and counts, every line in statement order, then the totals."""
    _widths(ws, LINE_WIDTHS, last=f.note)
    head = 5  # 0-based row of the lines' header
    _print_layout(ws, head, text(language, "report.page_footer"), landscape=True)
    ws.freeze_panes(head + 1, 0)
    counts: list[tuple[str, str | int]] = [
        (text(language, "report.col_technician"), tech.technician),
        (text(language, "report.col_month"), statement.month),
        (text(language, "report.col_slips"), tech.slips),
        (text(language, "report.col_settled"), tech.settled),
    ]
    for row, (label, value) in enumerate(counts):
        ws.write_string(row, 0, _clean(label), f.bold)
        if isinstance(value, str):
            ws.write_string(row, 1, _clean(value))
        else:
            ws.write_number(row, 1, value)
    _write_texts(ws, head, [text(language, f"report.col_{key}") for key in LINE_KEYS], f.header)
    labels = {kind: kind_label(kind, language) for kind in KINDS}
    write_string, write_number, money, note = ws.write_string, ws.write_number, f.money, f.note
    clean = _clean
    row = head
    for line in tech.lines:  # the hot loop: a quarter of a million lines in a large month
        row += 1
        write_string(row, 0, clean(line.rule))
        write_string(row, 1, labels.get(line.kind) or clean(line.kind))
        write_number(row, 2, line.amount_fen / 100, money)
        if line.ref:
            write_string(row, 3, clean(line.ref))
        shown = line_note(line, language)
        if shown:
            write_string(row, 4, clean(shown), note)
    row += 1
    for kind in KINDS:
        row += 1
        label = text(language, "report.kind_total", kind=labels[kind])
        ws.write_string(row, 0, _clean(label), f.bold)
        ws.write_string(row, 1, labels[kind], f.bold)
        ws.write_number(row, 2, yuan(tech.total(kind)), f.money_bold)
    ws.write_string(row + 1, 0, _clean(text(language, "report.net_total")), f.bold)
    ws.write_number(row + 1, 2, yuan(tech.net_fen), f.money_bold)


def build_workbook_file(
    statement: MonthStatement,
    metrics: Metrics,
    path: str | Path,
    language: str | None = None,
) -> Path:
    """Write the summary sheet plus one sheet per technician to path (.xlsx); returns path."""
    import xlsxwriter

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(
        str(target),
        {"constant_memory": True, "tmpdir": str(target.parent), "strings_to_numbers": False},
    )
    try:
        formats = _Formats(book)
        summary_title = clean_sheet_title(text(language, "report.sheet_summary"))
        _summary_sheet(book.add_worksheet(summary_title), statement, metrics, language, formats)
        techs = sorted(statement.technicians, key=lambda tech: tech.technician)
        titles = unique_sheet_titles([t.technician for t in techs], reserved=[summary_title])
        for tech, title in zip(techs, titles, strict=True):
            _technician_sheet(book.add_worksheet(title), statement, tech, language, formats)
    finally:
        book.close()
    return target
