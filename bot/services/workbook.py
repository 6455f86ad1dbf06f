"""The month's Excel workbook, written in constant memory and laid out for printing.

Rows stream into the file as they are made (bot/services/xlsx.py), so a month of a quarter of a million
statement lines costs a few megabytes, like a small one (openpyxl kept every cell as an object:
~400 MB and 16 s per 100,000 slips; XlsxWriter's constant_memory mode was still ~11 s of CPU).
Each sheet prints one page wide (landscape), repeats its table header on every page, keeps
amounts as numbers with two decimals, right-aligned, and wraps the note column.
"""

from __future__ import annotations

import math
import unicodedata
from pathlib import Path

from bot.domain.line_text import NoteRenderer
from bot.domain.models import MonthStatement, TechnicianStatement
from bot.services import xlsx
from bot.services.reports import (
    KINDS,
    NOT_AVAILABLE,
    Metrics,
    SummaryRow,
    clean_sheet_title,
    kind_label,
    station_totals,
    summary_rows,
    text,
    unique_sheet_titles,
    yuan,
)

SUMMARY_KEYS = (
    "technician",
    "slips",
    "settled",
    "satisfaction",
    "on_time",
    "complaints",
    "allowance",
    "travel",
    "deductions",
    "rewards",
    "net",
)
SUMMARY_WIDTHS = (16, 8, 9, 9, 11, 10, 12, 12, 12, 12, 12)
LINE_KEYS = ("rule", "kind", "amount", "ref", "note")
LINE_WIDTHS = (16, 8, 12, 14, 60)
NOTE_CELLS = LINE_WIDTHS[-1] - 2  # monospace cells of note text that fit on one line
HEADER_ROW = 6  # the tables' header row (1-based) on every sheet, repeated on each printed page


def _note_height(note: str) -> float | None:
    """The row height a wrapped note needs, or None when it fits on one line."""
    lines = math.ceil(display_cells(note) / NOTE_CELLS) + note.count("\n")
    return xlsx.LINE_HEIGHT * lines if lines > 1 else None


class _CellWidths(dict[str, int]):
    """Each character's monospace cells (East Asian wide and full-width: 2), worked out on first
    sight and then looked up at C speed (a month's workbook has a quarter of a million notes)."""

    def __missing__(self, character: str) -> int:
        cells = 2 if unicodedata.east_asian_width(character) in ("W", "F") else 1
        self[character] = cells
        return cells


_CELLS = _CellWidths()


def display_cells(text: str) -> int:
    """Monospace cells the text takes: East Asian wide characters two, others one."""
    if text.isascii():
        return len(text)
    return sum(map(_CELLS.__getitem__, text))


def _summary_cells(label: str, data: SummaryRow) -> list[xlsx.Cell]:
    """One summary line: counts, rates (or "—") and money in 元; the station's in bold."""
    bold = data.technician == ""
    rate = xlsx.RATE_BOLD if bold else xlsx.RATE
    money = xlsx.MONEY_BOLD if bold else xlsx.MONEY
    count = xlsx.COUNT_BOLD if bold else xlsx.COUNT
    amounts = (data.allowance_fen, data.travel_fen, data.deduction_fen, data.reward_fen)
    return [
        (label, xlsx.BOLD if bold else xlsx.PLAIN),
        (data.slips, count),
        (data.settled, count),
        (NOT_AVAILABLE if data.satisfaction is None else data.satisfaction, rate),
        (NOT_AVAILABLE if data.on_time is None else data.on_time, rate),
        (data.complaints, count),
        *((yuan(fen), money) for fen in (*amounts, data.net_fen)),
    ]


def _summary_sheet(
    book: xlsx.Workbook,
    title: str,
    statement: MonthStatement,
    metrics: Metrics,
    language: str | None,
) -> None:
    """Title, station totals, then the per-technician table (header repeated when printed)."""
    layout = xlsx.SheetLayout(
        widths=SUMMARY_WIDTHS,
        freeze_rows=HEADER_ROW,
        freeze_cols=1,
        title_row=HEADER_ROW,
        footer="&C" + text(language, "report.page_footer"),
    )
    sheet = book.add_sheet(title, layout)
    header = [(text(language, f"report.col_{key}"), xlsx.HEADER) for key in SUMMARY_KEYS]
    sheet.row(1, [(text(language, "report.title", month=statement.month), xlsx.TITLE)])
    sheet.row(3, header)
    total = station_totals(statement, metrics)
    sheet.row(4, _summary_cells(text(language, "report.station_total"), total))
    sheet.row(HEADER_ROW, header)
    for number, row in enumerate(summary_rows(statement, metrics), start=HEADER_ROW + 1):
        sheet.row(number, _summary_cells(row.technician, row))


def _technician_sheet(
    book: xlsx.Workbook,
    title: str,
    statement: MonthStatement,
    tech: TechnicianStatement,
    language: str | None,
) -> None:
    """The technician's name and counts, every line in statement order, then the totals."""
    layout = xlsx.SheetLayout(
        widths=LINE_WIDTHS,
        column_styles={4: xlsx.WRAP},
        freeze_rows=HEADER_ROW,
        title_row=HEADER_ROW,
        footer="&C" + text(language, "report.page_footer"),
    )
    sheet = book.add_sheet(title, layout)
    counts: list[tuple[str, str | int]] = [
        (text(language, "report.col_technician"), tech.technician),
        (text(language, "report.col_month"), statement.month),
        (text(language, "report.col_slips"), tech.slips),
        (text(language, "report.col_settled"), tech.settled),
    ]
    for number, (label, value) in enumerate(counts, start=1):
        sheet.row(number, [(label, xlsx.BOLD), (value, xlsx.PLAIN)])
    sheet.row(HEADER_ROW, [(text(language, f"report.col_{key}"), xlsx.HEADER) for key in LINE_KEYS])
    labels = {kind: kind_label(kind, language) for kind in KINDS}
    totals = dict.fromkeys(KINDS, 0)
    # The hot loop (a quarter of a million lines in a large month): each row is one string.
    text_xml, is_simple, money, wrap = xlsx.text_xml, xlsx.is_simple, xlsx.MONEY, xlsx.WRAP
    rules: dict[str, str] = {}
    kinds: dict[str, str] = {}
    number = HEADER_ROW
    render = NoteRenderer(language)
    notes = render.notes(tech.lines)  # one pass: a visit's date and customer worked out once
    for line, note in zip(tech.lines, notes, strict=True):
        number += 1
        rule = rules.get(line.rule)
        if rule is None:
            rule = rules[line.rule] = xlsx.escape(line.rule)
        kind = kinds.get(line.kind)
        if kind is None:
            kind = kinds[line.kind] = xlsx.escape(labels.get(line.kind) or line.kind)
        if line.kind in totals:
            totals[line.kind] += line.amount_fen
        ref = render.ref(line)
        if ref and is_simple(ref):
            ref_xml = f'<c r="D{number}" t="inlineStr"><is><t>{ref}</t></is></c>'
        else:
            ref_xml = text_xml(f"D{number}", ref)
        if note and is_simple(note):
            note_xml = f'<c r="E{number}" s="{wrap}" t="inlineStr"><is><t>{note}</t></is></c>'
        else:
            note_xml = text_xml(f"E{number}", note, wrap)
        sheet.raw_row(
            number,
            f'<c r="A{number}" t="inlineStr"><is><t>{rule}</t></is></c>'
            f'<c r="B{number}" t="inlineStr"><is><t>{kind}</t></is></c>'
            f'<c r="C{number}" s="{money}"><v>{line.amount_fen / 100!r}</v></c>'
            f"{ref_xml}{note_xml}",
            _note_height(note) if len(note) > NOTE_CELLS // 2 else None,
        )
    number += 1
    for kind in KINDS:
        number += 1
        label = text(language, "report.kind_total", kind=labels[kind])
        sheet.row(
            number,
            [(label, xlsx.BOLD), (labels[kind], xlsx.BOLD), (yuan(totals[kind]), xlsx.MONEY_BOLD)],
        )
    net = totals["allowance"] + totals["travel"] + totals["reward"] - totals["deduction"]
    sheet.row(
        number + 1,
        [(text(language, "report.net_total"), xlsx.BOLD), (None, 0), (yuan(net), xlsx.MONEY_BOLD)],
    )


def build_workbook_file(
    statement: MonthStatement,
    metrics: Metrics,
    path: str | Path,
    language: str | None = None,
) -> Path:
    """Write the summary sheet plus one sheet per technician to path (.xlsx); returns path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    book = xlsx.Workbook(target)
    try:
        summary_title = clean_sheet_title(text(language, "report.sheet_summary"))
        _summary_sheet(book, summary_title, statement, metrics, language)
        techs = sorted(statement.technicians, key=lambda tech: tech.technician)
        titles = unique_sheet_titles([t.technician for t in techs], reserved=[summary_title])
        for tech, title in zip(techs, titles, strict=True):
            _technician_sheet(book, title, statement, tech, language)
    finally:
        book.close()
    return target
