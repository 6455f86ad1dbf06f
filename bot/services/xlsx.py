"""A small streaming .xlsx writer: rows go straight into the zip, in constant memory.

Only what the month workbook needs: text and number cells, a fixed set of cell styles, column
widths, frozen panes and a print layout (paper, orientation, fit to one page wide, header rows
repeated on each page, a footer). Each sheet is written row by row, in order, into its zip
entry; nothing of a sheet stays in memory once its rows are out. General-purpose writers
(openpyxl, XlsxWriter) spend most of a large month in per-cell bookkeeping; here a row is one
formatted string.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

MAX_CELL_TEXT = 32767
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_NEEDS_ESCAPE = re.compile(r"[&<>\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_FLUSH_ROWS = 2000
LINE_HEIGHT = 15.0  # points per line of 11-point text

# Cell styles (indexes into cellXfs, see _STYLES_XML).
PLAIN, BOLD, TITLE, HEADER, MONEY, MONEY_BOLD, COUNT, COUNT_BOLD, RATE, RATE_BOLD, WRAP = range(11)


def _styles_xml() -> str:
    """Fonts, borders, number formats and the eleven cell styles above."""
    fonts = (
        '<font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
        '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
        '<font><b/><sz val="14"/><name val="Calibri"/><family val="2"/></font>'
    )
    right = '<alignment horizontal="right" vertical="top"/>'
    top = '<alignment vertical="top"/>'  # a row grown for a wrapped note reads from its top
    xfs = [
        f'<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1">{top}</xf>',
        f'<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1" applyAlignment="1">{top}</xf>',
        '<xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1"/>',
        '<xf numFmtId="0" fontId="1" fillId="0" borderId="1" xfId="0" applyFont="1"'
        ' applyBorder="1" applyAlignment="1"><alignment vertical="top" wrapText="1"/></xf>',
    ]
    for num_fmt in (2, 1, 164):  # 0.00, 0, 0.0%
        for font in (0, 1):
            xfs.append(
                f'<xf numFmtId="{num_fmt}" fontId="{font}" fillId="0" borderId="0" xfId="0"'
                f' applyNumberFormat="1" applyFont="1" applyAlignment="1">{right}</xf>'
            )
    xfs.append(
        '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1">'
        '<alignment vertical="top" wrapText="1"/></xf>'
    )
    return (
        f'{_HEAD}<styleSheet xmlns="{_MAIN}">'
        '<numFmts count="1"><numFmt numFmtId="164" formatCode="0.0%"/></numFmts>'
        f'<fonts count="3">{fonts}</fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="2"><border><left/><right/><top/><bottom/><diagonal/></border>'
        '<border><left/><right/><top/><bottom style="thin"><color auto="1"/></bottom>'
        "<diagonal/></border></borders>"
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
        f'</cellStyleXfs><cellXfs count="{len(xfs)}">{"".join(xfs)}</cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    )


# Text that can go into <t> as it is: no markup, no illegal characters, no surrounding space,
# not too long. One match decides for the common case; anything else takes text_xml's path.
_SIMPLE = re.compile(
    r"[^\s&<>\x00-\x1f\ud800-\udfff\ufffe\uffff]"
    r"(?:[^&<>\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]{0,32765}"
    r"[^\s&<>\x00-\x1f\ud800-\udfff\ufffe\uffff])?"
)
is_simple = _SIMPLE.fullmatch


def escape(text: str) -> str:
    """Text for an XML text node: &, <, > escaped, XML-illegal characters dropped, cut to
    Excel's 32,767 characters."""
    if len(text) > MAX_CELL_TEXT:
        text = text[:MAX_CELL_TEXT]
    if _NEEDS_ESCAPE.search(text) is None:
        return text
    text = _ILLEGAL.sub("", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def text_xml(ref: str, text: str, style: int = PLAIN) -> str:
    """An inline-string cell (never a formula, whatever the text)."""
    if not text:
        return "" if style == PLAIN else f'<c r="{ref}" s="{style}"/>'
    body = escape(text)
    space = ' xml:space="preserve"' if body[:1].isspace() or body[-1:].isspace() else ""
    return f'<c r="{ref}" s="{style}" t="inlineStr"><is><t{space}>{body}</t></is></c>'


def number_xml(ref: str, value: float, style: int = PLAIN) -> str:
    return f'<c r="{ref}" s="{style}"><v>{value!r}</v></c>'


Cell = tuple[str | int | float | None, int]  # (value, style); None leaves the cell empty


@dataclass
class SheetLayout:
    """How a sheet looks on screen and on paper."""

    widths: Sequence[float] = ()
    column_styles: dict[int, int] = field(default_factory=dict)  # column -> default style
    freeze_rows: int = 0  # rows above the scrolling part
    freeze_cols: int = 0
    title_row: int | None = None  # 1-based row printed at the top of every page
    landscape: bool = True
    paper: int = 9  # A4
    footer: str = ""  # &L/&C/&R sections; &P page, &N pages, &A sheet name


class Sheet:
    """One worksheet being written: rows in order, 1-based."""

    def __init__(self, stream: IO[bytes], layout: SheetLayout, selected: bool) -> None:
        self._stream = stream
        self._buffer: list[str] = []
        self._last_row = 0
        self.layout = layout
        self._start(selected)

    def _start(self, selected: bool) -> None:
        layout = self.layout
        tab = ' tabSelected="1"' if selected else ""
        view = f'<sheetView workbookViewId="0"{tab}>'
        rows, cols = layout.freeze_rows, layout.freeze_cols
        if rows or cols:
            pane = "bottomRight" if rows and cols else "bottomLeft" if rows else "topRight"
            split = (f' xSplit="{cols}"' if cols else "") + (f' ySplit="{rows}"' if rows else "")
            top_left = f"{column_letter(cols)}{rows + 1}"
            view += (
                f'<pane{split} topLeftCell="{top_left}" activePane="{pane}" state="frozen"/>'
                f'<selection pane="{pane}" activeCell="{top_left}" sqref="{top_left}"/>'
            )
        view += "</sheetView>"
        cols_xml = "".join(
            f'<col min="{i + 1}" max="{i + 1}" width="{width}" customWidth="1"'
            + (f' style="{layout.column_styles[i]}"' if i in layout.column_styles else "")
            + "/>"
            for i, width in enumerate(layout.widths)
        )
        self._buffer.append(
            f'{_HEAD}<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}">'
            '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>'
            f'<sheetViews>{view}</sheetViews><sheetFormatPr defaultRowHeight="15"/>'
            + (f"<cols>{cols_xml}</cols>" if cols_xml else "")
            + "<sheetData>"
        )

    def row(self, number: int, cells: Iterable[Cell]) -> None:
        """Write row `number` (after every row before it) from column A on."""
        parts = []
        for col, (value, style) in enumerate(cells):
            if value is None:
                continue
            ref = f"{column_letter(col)}{number}"
            if isinstance(value, str):
                parts.append(text_xml(ref, value, style))
            else:
                parts.append(number_xml(ref, value, style))
        self.raw_row(number, "".join(parts))

    def raw_row(self, number: int, cells_xml: str, height: float | None = None) -> None:
        """Write row `number` whose cells are already XML (text_xml / number_xml); height in
        points when the row needs more than one line (wrapped text: not every reader sizes it)."""
        if number <= self._last_row:
            raise ValueError(f"row {number} after row {self._last_row}: rows go in order")
        self._last_row = number
        if height is None:
            self._buffer.append(f'<row r="{number}">{cells_xml}</row>')
        else:
            self._buffer.append(
                f'<row r="{number}" ht="{height:g}" customHeight="1">{cells_xml}</row>'
            )
        if len(self._buffer) >= _FLUSH_ROWS:
            self._flush()

    def _flush(self) -> None:
        self._stream.write("".join(self._buffer).encode("utf-8"))
        self._buffer.clear()

    def close(self) -> None:
        layout = self.layout
        orientation = "landscape" if layout.landscape else "portrait"
        footer = (
            f"<headerFooter><oddFooter>{escape(layout.footer)}</oddFooter></headerFooter>"
            if layout.footer
            else ""
        )
        self._buffer.append(
            "</sheetData>"
            '<pageMargins left="0.4" right="0.4" top="0.5" bottom="0.6" header="0.3"'
            ' footer="0.3"/>'
            f'<pageSetup paperSize="{layout.paper}" orientation="{orientation}"'
            ' fitToWidth="1" fitToHeight="0"/>'
            f"{footer}</worksheet>"
        )
        self._flush()
        self._stream.close()


class Workbook:
    """An .xlsx file written sheet by sheet; close() finishes it."""

    def __init__(self, path: str | Path, compresslevel: int = 6) -> None:
        self._zip = zipfile.ZipFile(
            path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=compresslevel
        )
        self._titles: list[str] = []
        self._title_rows: dict[int, int] = {}
        self._open: Sheet | None = None

    def add_sheet(self, title: str, layout: SheetLayout) -> Sheet:
        """Start the next sheet (the previous one is finished first). Title must be valid."""
        self._finish_sheet()
        index = len(self._titles)
        self._titles.append(title)
        if layout.title_row is not None:
            self._title_rows[index] = layout.title_row
        stream = self._zip.open(f"xl/worksheets/sheet{index + 1}.xml", "w", force_zip64=True)
        self._open = Sheet(stream, layout, selected=index == 0)
        return self._open

    def _finish_sheet(self) -> None:
        if self._open is not None:
            self._open.close()
            self._open = None

    def close(self) -> None:
        self._finish_sheet()
        count = len(self._titles)
        sheets = "".join(
            f'<sheet name="{escape(title)}" sheetId="{i + 1}" r:id="rId{i + 1}"/>'
            for i, title in enumerate(self._titles)
        )
        names = "".join(
            f'<definedName name="_xlnm.Print_Titles" localSheetId="{i}">'
            f"{escape(_quoted(self._titles[i]))}!${row}:${row}</definedName>"
            for i, row in sorted(self._title_rows.items())
        )
        self._zip.writestr(
            "xl/workbook.xml",
            f'{_HEAD}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}">'
            f'<bookViews><workbookView activeTab="0"/></bookViews><sheets>{sheets}</sheets>'
            + (f"<definedNames>{names}</definedNames>" if names else "")
            + "</workbook>",
        )
        rels = "".join(
            f'<Relationship Id="rId{i + 1}" Type="{_REL}/worksheet"'
            f' Target="worksheets/sheet{i + 1}.xml"/>'
            for i in range(count)
        )
        rels += f'<Relationship Id="rId{count + 1}" Type="{_REL}/styles" Target="styles.xml"/>'
        self._zip.writestr(
            "xl/_rels/workbook.xml.rels",
            f'{_HEAD}<Relationships xmlns="{_PKG_REL}">{rels}</Relationships>',
        )
        self._zip.writestr("xl/styles.xml", _styles_xml())
        sheet_types = "".join(
            f'<Override PartName="/xl/worksheets/sheet{i + 1}.xml" ContentType='
            '"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            for i in range(count)
        )
        self._zip.writestr(
            "[Content_Types].xml",
            f'{_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType='
            '"application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType='
            '"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" ContentType='
            '"application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            f"{sheet_types}</Types>",
        )
        self._zip.writestr(
            "_rels/.rels",
            f'{_HEAD}<Relationships xmlns="{_PKG_REL}"><Relationship Id="rId1"'
            f' Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        self._zip.close()


def _quoted(title: str) -> str:
    """A sheet name as a formula reference: 'name' with apostrophes doubled."""
    return "'" + title.replace("'", "''") + "'"
