"""Monthly reports: chat table, workbook totals to the fen, sheet titles, chart and its CJK font."""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib
import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib import font_manager
from matplotlib.text import Text

from bot.domain.line_text import note_text, ref_text
from bot.domain.models import MonthStatement, StatementLine, TechnicianStatement
from bot.services.reports import (
    KINDS,
    SHEET_TITLE_MAX,
    TechnicianMetrics,
    build_chart_figure,
    chart_font_family,
    chart_font_path,
    clean_sheet_title,
    draw_chart,
    format_rate,
    format_summary_text,
    format_yuan,
    station_totals,
    summary_rows,
    unique_sheet_titles,
    write_workbook,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _zhang_lines() -> tuple[StatementLine, ...]:
    """Many lines, with amounts whose 元 value is not exact in binary (0.29, 0.07, ...)."""
    lines = [StatementLine("ALW-RATE", 200 + i % 3 * 100, f"slip {i}", "") for i in range(1, 19)]
    lines += [StatementLine("ALW-CAP-HOME", 0, "slip 7", "上限 50%")]
    lines += [
        StatementLine("TRV-KM", fen, f"slip {i}", "", "travel")
        for i, fen in enumerate([29, 7, 1234, 999, 1])
    ]
    lines += [StatementLine("RWD-REVENUE", 1203, "slip 4", "收入分成", "reward")]
    lines += [StatementLine("DED-LATE", 1000, "event 2", "迟到 <15 分钟> & 未报备", "deduction")]
    return tuple(lines)


def _statement() -> MonthStatement:
    """Three technicians (one with a negative net, one with no metrics), sorted by code point."""
    li_na = (
        StatementLine("ALW-RATE", 300, "slip 31", "网吧"),
        StatementLine("DED-COMPLAINT", 5000, "event 9", '=HYPERLINK("x")', "deduction"),
        StatementLine("DED-CONDUCT", 1000, "event 10", "bad\x01char", "deduction"),
        StatementLine("TRV-KM", 333, "slip 31", "", "travel"),
    )
    wang = (StatementLine("RWD-SUGGEST", 10000, "event 12", "合理化建议", "reward"),)
    return MonthStatement(
        month="2026-11",
        technicians=(
            TechnicianStatement("张伟", 21, 18, _zhang_lines()),
            TechnicianStatement("李娜", 6, 1, li_na),
            TechnicianStatement("王<芳>", 0, 0, wang),
        ),
    )


METRICS = {
    "张伟": TechnicianMetrics("张伟", visits=21, satisfied=18, rated=20, on_time=15, timed=20),
    "李娜": TechnicianMetrics("李娜", visits=6, satisfied=1, rated=2, on_time=0, timed=0),
}


def _fen(value: object) -> int:
    assert isinstance(value, int | float), value
    return round(value * 100)


# --- figures and text ------------------------------------------------------------------------


def test_summary_rows_and_station_totals() -> None:
    statement = _statement()
    rows = summary_rows(statement, METRICS)
    assert [r.technician for r in rows] == sorted(t.technician for t in statement.technicians)
    by_name = {r.technician: r for r in rows}
    assert by_name["张伟"].satisfaction == 0.9 and by_name["张伟"].on_time == 0.75
    assert by_name["李娜"].on_time is None and by_name["王<芳>"].satisfaction is None
    assert by_name["李娜"].net_fen == 300 + 333 - 6000 < 0
    total = station_totals(statement, METRICS)
    assert total.net_fen == sum(t.net_fen for t in statement.technicians)
    assert total.deduction_fen == 7000 and total.slips == 27 and total.settled == 19
    assert total.satisfaction == pytest.approx(19 / 22) and total.on_time == 0.75
    assert station_totals(statement, {}).satisfaction is None
    assert summary_rows(statement, None)[0].on_time is None


def test_format_yuan_and_rate() -> None:
    assert [format_yuan(f) for f in (1234, -200, 5, -5, 0, 100)] == [
        "12.34",
        "-2.00",
        "0.05",
        "-0.05",
        "0.00",
        "1.00",
    ]
    assert format_rate(None) == "—" and format_rate(0.875) == "87.5%"


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=-(10**9), max_value=10**9))
def test_format_yuan_round_trips(fen: int) -> None:
    text = format_yuan(fen)
    assert text.split(".")[1].isdigit() and len(text.split(".")[1]) == 2
    assert round(float(text) * 100) == fen


def test_summary_text_has_totals_first_names_and_escapes() -> None:
    statement = _statement()
    text = format_summary_text(statement, METRICS, "zh-CN")
    total = station_totals(statement, METRICS)
    assert "<" not in text and ">" not in text and "王&lt;芳&gt;" in text
    assert "全站合计" in text and format_yuan(total.net_fen) in text
    assert text.index(format_yuan(total.net_fen)) < text.index("张伟") < text.index("李娜")
    assert "-53.67" in text  # 李娜's negative net
    assert "90.0%" in text and "—" in text
    english = format_summary_text(statement, METRICS, "en")
    assert "Station total" in english and "张伟" in english
    assert format_summary_text(MonthStatement("2026-12", ()), {}, "en").count("0.00") >= 5


def test_summary_text_columns_line_up() -> None:
    text = format_summary_text(_statement(), METRICS, "zh-CN").replace("&lt;", "<")
    table = text.replace("&gt;", ">").split("\n\n")[2].splitlines()
    from bot.services.reports import _cell_width

    assert len({_cell_width(line) for line in table}) == 1


# --- workbook --------------------------------------------------------------------------------


def _find_row(ws, label: str) -> int:
    """The first row whose column A holds label."""
    for row in ws.iter_rows(min_col=1, max_col=1):
        if row[0].value == label:
            return row[0].row
    raise AssertionError(f"{label!r} not in sheet {ws.title!r}")


def _money_cells(ws, row: int) -> list[int]:
    cells = [ws.cell(row=row, column=col) for col in range(7, 12)]  # after the counts
    assert all(c.number_format == "0.00" for c in cells)
    return [_fen(c.value) for c in cells]


def test_workbook_summary_equals_statement_to_the_fen(tmp_path: Path) -> None:
    statement = _statement()
    path = write_workbook(statement, METRICS, tmp_path / "out" / "stmt.xlsx", "zh-CN")
    book = openpyxl.load_workbook(path)
    summary = book.worksheets[0]
    assert summary.title == "汇总"
    total = station_totals(statement, METRICS)
    station_row = _find_row(summary, "全站合计")
    expected = [total.allowance_fen, total.travel_fen, total.deduction_fen]
    assert _money_cells(summary, station_row) == [*expected, total.reward_fen, total.net_fen]
    assert summary.cell(row=station_row, column=2).value == total.slips
    for tech in statement.technicians:
        row = _find_row(summary, tech.technician)
        assert station_row < row
        money = [tech.allowance_fen, tech.travel_fen, tech.deduction_fen, tech.reward_fen]
        assert _money_cells(summary, row) == [*money, tech.net_fen]
        assert summary.cell(row=row, column=3).value == tech.settled
    li_row = _find_row(summary, "李娜")
    assert summary.cell(row=li_row, column=4).value == 0.5
    assert summary.cell(row=li_row, column=5).value == "—"


def _line_rows(ws, header_row: int, count: int) -> list[tuple]:
    rows = ws.iter_rows(min_row=header_row + 1, max_row=header_row + count, max_col=5)
    return [tuple(c.value for c in row) for row in rows]


def sheet_note(line: StatementLine) -> str | None:
    """A line's note as the sheet holds it (illegal characters dropped, empty as None)."""
    return note_text(line, "zh-CN").replace("\x01", "") or None


def test_workbook_technician_sheets_list_every_line(tmp_path: Path) -> None:
    statement = _statement()
    book = openpyxl.load_workbook(write_workbook(statement, METRICS, tmp_path / "s.xlsx"))
    assert book.sheetnames == ["汇总", "张伟", "李娜", "王<芳>"]
    kind_names = {"allowance": "补助", "travel": "路费", "reward": "奖励", "deduction": "扣款"}
    for tech in statement.technicians:
        ws = book[tech.technician]
        header = _find_row(ws, "规则")
        got = _line_rows(ws, header, len(tech.lines))
        want = [
            (x.rule, kind_names[x.kind], x.amount_fen, ref_text(x.ref, "zh-CN"), sheet_note(x))
            for x in tech.lines
        ]
        assert [(r, k, _fen(a), ref, n) for r, k, a, ref, n in got] == want
        for kind in KINDS:
            row = _find_row(ws, f"{kind_names[kind]}合计")
            assert _fen(ws.cell(row=row, column=3).value) == tech.total(kind)
        assert _fen(ws.cell(row=_find_row(ws, "实发合计"), column=3).value) == tech.net_fen
    note = book["李娜"].cell(row=_find_row(book["李娜"], "DED-COMPLAINT"), column=5)
    assert note.value == '=HYPERLINK("x")' and note.data_type == "s"


def test_workbook_in_english_and_empty(tmp_path: Path) -> None:
    book = openpyxl.load_workbook(write_workbook(_statement(), {}, tmp_path / "e.xlsx", "en"))
    assert book.sheetnames[0] == "Summary"
    assert _find_row(book["张伟"], "Net total") > _find_row(book["张伟"], "Rule")
    empty = write_workbook(MonthStatement("2026-12", ()), None, tmp_path / "empty.xlsx")
    summary = openpyxl.load_workbook(empty).worksheets[0]
    assert _money_cells(summary, _find_row(summary, "全站合计")) == [0] * 5


# --- sheet titles ----------------------------------------------------------------------------


def _valid(title: str) -> bool:
    units = len(title.encode("utf-16-le")) // 2
    bad = any(c in title for c in "[]:*?/\\")
    return 0 < units <= SHEET_TITLE_MAX and not bad and not title.startswith("'")


def test_clean_sheet_title() -> None:
    assert clean_sheet_title("a/b:c") == "a_b_c"
    assert clean_sheet_title("[x]*?\\") == "_x____"
    assert clean_sheet_title("'quoted'") == "quoted"
    assert clean_sheet_title("") == "_" and clean_sheet_title("   ") == "_"
    assert clean_sheet_title("History") == "History_"
    assert clean_sheet_title("tab\there") == "tabhere"
    assert clean_sheet_title("张" * 40) == "张" * 31
    assert _valid(clean_sheet_title("😀" * 20))


def test_unique_sheet_titles_deduplicate_case_insensitively() -> None:
    names = ["A/B", "A_B", "ann", "ANN", "汇总", "x" * 40, "x" * 31 + "y", "张伟"]
    titles = unique_sheet_titles(names, reserved=["汇总"])
    assert all(_valid(t) for t in titles)
    assert len({t.casefold() for t in titles} | {"汇总"}) == len(titles) + 1
    assert titles[:4] == ["A_B", "A_B~2", "ann", "ANN~2"] and titles[4] == "汇总~2"
    assert titles[-1] == "张伟"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=40), max_size=8))
def test_unique_sheet_titles_always_valid(names: list[str]) -> None:
    titles = unique_sheet_titles(names, reserved=["Summary"])
    assert all(_valid(t) for t in titles)
    assert len({t.casefold() for t in titles} | {"summary"}) == len(titles) + 1


def test_workbook_with_awkward_names_opens(tmp_path: Path) -> None:
    techs = tuple(
        TechnicianStatement(name, 1, 1, (StatementLine("ALW-RATE", 200, "slip 1"),))
        for name in sorted(["A/B", "A_B", "汇总", "[长]" + "名" * 40, "History"])
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path = write_workbook(MonthStatement("2026-11", techs), {}, tmp_path / "odd.xlsx")
    titles = openpyxl.load_workbook(path).sheetnames
    assert len(titles) == 6 and all(_valid(t) for t in titles)
    assert len({t.casefold() for t in titles}) == 6


# --- chart -----------------------------------------------------------------------------------


def test_chart_font_comes_from_mplfonts() -> None:
    path = chart_font_path()
    assert path.name == "NotoSansCJKsc-Regular.otf" and path.is_file()
    assert "mplfonts" in path.parts
    assert chart_font_family() == "Noto Sans CJK SC"
    registered = [f for f in font_manager.fontManager.ttflist if f.fname == str(path)]
    assert registered and chart_font_family() == chart_font_family()
    assert len([f for f in font_manager.fontManager.ttflist if f.fname == str(path)]) == len(
        registered
    )


def _no_glyph_warnings(caught: list[warnings.WarningMessage]) -> None:
    texts = [str(w.message) for w in caught]
    assert not [t for t in texts if "missing from" in t or "Glyph" in t], texts


def test_chart_text_uses_bundled_font_without_missing_glyphs() -> None:
    rc_before = dict(matplotlib.rcParams)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figure = build_chart_figure(_statement(), METRICS, "zh-CN")  # draws once, laid out
    _no_glyph_warnings(caught)
    texts = list(figure.findobj(Text))
    shown = {t.get_text() for t in texts}
    assert {"张伟", "李娜", "王<芳>", "技术员", "实发（元）", "满意率"} <= shown
    assert "2026-11 技术员实发与满意率" in shown and "100%" in shown
    font = str(chart_font_path())
    for text in texts:
        assert font_manager.findfont(text.get_fontproperties()) == font, text
        assert text.get_fontname() == chart_font_family()
    assert dict(matplotlib.rcParams) == rc_before


def test_draw_chart_writes_png(tmp_path: Path) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = draw_chart(_statement(), METRICS, tmp_path / "c" / "chart.png", "zh-CN")
        empty = draw_chart(MonthStatement("2026-12", ()), {}, tmp_path / "empty.png", "en")
    _no_glyph_warnings(caught)
    for png in (path, empty):
        data = png.read_bytes()
        assert data[:8] == PNG_MAGIC
        assert 10_000 < len(data) < 2_000_000


# --- strings ---------------------------------------------------------------------------------
