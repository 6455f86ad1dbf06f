"""Upheld complaints per technician in the month's summary: the chat text and the workbook."""

from __future__ import annotations

from pathlib import Path

import openpyxl

from bot.services.reports import TechnicianMetrics, format_summary_text, station_totals
from bot.services.workbook import build_workbook_file
from tests.unit.test_reports import _statement

METRICS = {
    "张伟": TechnicianMetrics("张伟", 21, 18, 20, 15, 20, complaints=1),
    "李娜": TechnicianMetrics("李娜", 6, 1, 2, 0, 0, complaints=2),
}


def test_summary_text_counts_upheld_complaints_per_technician() -> None:
    text = format_summary_text(_statement(), METRICS, "zh-CN")
    assert "投诉成立 3（李娜 2，张伟 1）" in text
    assert station_totals(_statement(), METRICS).complaints == 3
    assert "投诉成立 0" in format_summary_text(_statement(), {}, "zh-CN")


def test_summary_sheet_has_a_complaints_column(tmp_path: Path) -> None:
    path = build_workbook_file(_statement(), METRICS, tmp_path / "m.xlsx", "zh-CN")
    sheet = openpyxl.load_workbook(path)["汇总"]
    header = [cell.value for cell in sheet[6]]
    column = header.index("投诉成立")
    counts = {row[0].value: row[column].value for row in sheet.iter_rows(min_row=7)}
    assert counts == {"张伟": 1, "李娜": 2, "王<芳>": 0}
    assert sheet[4][column].value == 3  # the station's total
