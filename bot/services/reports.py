"""Monthly statement reports: chat summary table, Excel workbook and net/satisfaction chart.

Money stays in integer fen until it is shown; 元 values are fen / 100 so that
round(yuan * 100) == fen holds for every cell. matplotlib and XlsxWriter are imported lazily,
so importing this module costs the bot's start-up nothing. The workbook itself is written by
bot/services/workbook.py; both run in a report worker process (bot/services/report_worker.py), never in the bot's.
"""

from __future__ import annotations

import html
import math
import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.domain.models import MonthStatement, TechnicianStatement
from bot.i18n import DEFAULT_LANGUAGE, normalize_language, t

if TYPE_CHECKING:
    from matplotlib.figure import Figure

KINDS = ("allowance", "travel", "reward", "deduction")
NOT_AVAILABLE = "—"
MONEY_FORMAT = "0.00"
RATE_FORMAT = "0.0%"
SHEET_TITLE_MAX = 31
CHART_FONT_FILE = "NotoSansCJKsc-Regular.otf"

_INVALID_TITLE_CHARS = re.compile(r"[\[\]:*?/\\]")
_NAME_CELLS = 12  # widest technician name, in monospace cells, in the chat table
CHART_BARS = 30  # technicians drawn in the chart at most: the highest net pays
BRIEF_ROWS = 15  # technicians listed in the chat summary at most; the workbook has them all
BRIEF_MAX_CHARS = 3500  # the chat summary's ceiling, leaving room for its header line


def text(language: str | None, key: str, **values: object) -> str:
    """The report text for key in language (falling back to zh-CN), with values filled in."""
    return t(normalize_language(language) or DEFAULT_LANGUAGE, key, **values)


_t = text


# --- figures ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TechnicianMetrics:
    """Service-quality counts of one technician for the month."""

    technician: str
    visits: int
    satisfied: int
    rated: int
    on_time: int
    timed: int
    complaints: int = 0  # complaints upheld against the technician, decided this month

    @property
    def satisfaction_rate(self) -> float | None:
        """satisfied / rated, or None when nothing was rated."""
        return self.satisfied / self.rated if self.rated else None

    @property
    def on_time_rate(self) -> float | None:
        """on_time / timed, or None when no arrival was timed."""
        return self.on_time / self.timed if self.timed else None


@dataclass(frozen=True)
class SummaryRow:
    """One line of the summary: a technician, or the station (technician == "")."""

    technician: str
    slips: int
    settled: int
    satisfaction: float | None
    on_time: float | None
    allowance_fen: int
    travel_fen: int
    deduction_fen: int
    reward_fen: int
    net_fen: int
    complaints: int = 0  # upheld complaints (CMP-REGISTER) decided in the month


Metrics = Mapping[str, TechnicianMetrics] | None


def _technicians(statement: MonthStatement) -> list[TechnicianStatement]:
    """The statement's technicians in Unicode code-point order of name (stable)."""
    return sorted(statement.technicians, key=lambda tech: tech.technician)


def summary_rows(statement: MonthStatement, metrics: Metrics = None) -> list[SummaryRow]:
    """One summary row per technician, sorted by name; missing metrics give None rates."""
    metrics = metrics or {}
    rows = []
    for tech in _technicians(statement):
        m = metrics.get(tech.technician)
        sums = _kind_sums(tech)
        rows.append(
            SummaryRow(
                technician=tech.technician,
                slips=tech.slips,
                settled=tech.settled,
                satisfaction=m.satisfaction_rate if m else None,
                on_time=m.on_time_rate if m else None,
                allowance_fen=sums["allowance"],
                travel_fen=sums["travel"],
                deduction_fen=sums["deduction"],
                reward_fen=sums["reward"],
                net_fen=sums["allowance"] + sums["travel"] + sums["reward"] - sums["deduction"],
                complaints=m.complaints if m else 0,
            )
        )
    return rows


def _kind_sums(tech: TechnicianStatement) -> dict[str, int]:
    """The technician's total of each kind in one pass over the lines (a month has many)."""
    sums = dict.fromkeys(KINDS, 0)
    for line in tech.lines:
        if line.kind in sums:
            sums[line.kind] += line.amount_fen
    return sums


def station_totals(statement: MonthStatement, metrics: Metrics = None) -> SummaryRow:
    """The station's totals (technician ""); rates pool the counts of the listed technicians."""
    metrics = metrics or {}
    techs = statement.technicians
    pooled = [metrics[t.technician] for t in techs if t.technician in metrics]
    rated = sum(m.rated for m in pooled)
    timed = sum(m.timed for m in pooled)
    rows = summary_rows(statement)
    return SummaryRow(
        technician="",
        slips=sum(r.slips for r in rows),
        settled=sum(r.settled for r in rows),
        satisfaction=sum(m.satisfied for m in pooled) / rated if rated else None,
        on_time=sum(m.on_time for m in pooled) / timed if timed else None,
        allowance_fen=sum(r.allowance_fen for r in rows),
        travel_fen=sum(r.travel_fen for r in rows),
        deduction_fen=sum(r.deduction_fen for r in rows),
        reward_fen=sum(r.reward_fen for r in rows),
        net_fen=sum(r.net_fen for r in rows),
        complaints=sum(m.complaints for m in pooled),
    )


def format_yuan(fen: int) -> str:
    """Fen as 元 with two decimals: 1234 -> "12.34", -200 -> "-2.00"."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def format_rate(rate: float | None) -> str:
    """A rate as a percentage with one decimal, or "—" when there is none."""
    return NOT_AVAILABLE if rate is None else f"{rate * 100:.1f}%"


def yuan(fen: int) -> float:
    """Fen as a 元 number for a spreadsheet cell (round(yuan(f) * 100) == f)."""
    return fen / 100


# --- chat text -------------------------------------------------------------------------------


def _cell_width(text: str) -> int:
    """Monospace cells text takes: wide/full-width characters 2, combining marks 0."""
    width = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def _clip(text: str, cells: int) -> str:
    """Text cut to at most cells monospace cells, ending in "…" when cut."""
    if _cell_width(text) <= cells:
        return text
    out = ""
    for char in text:
        if _cell_width(out + char) > cells - 1:
            break
        out += char
    return out + "…"


def _pad(text: str, cells: int, right: bool) -> str:
    """Text padded with spaces to cells monospace cells, right- or left-aligned."""
    fill = " " * max(0, cells - _cell_width(text))
    return fill + text if right else text + fill


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Aligned lines: first column left-aligned, the others right-aligned."""
    grid = [list(header), *map(list, rows)]
    widths = [max(_cell_width(row[i]) for row in grid) for i in range(len(header))]
    return [
        " ".join(_pad(cell, widths[i], right=i > 0) for i, cell in enumerate(row)).rstrip()
        for row in grid
    ]


def _station_lines(
    total: SummaryRow, count: int, language: str | None, rows: Sequence[SummaryRow] = ()
) -> list[str]:
    """The station-totals block of the chat summary."""

    def pair(key_a: str, value_a: str, key_b: str, value_b: str) -> str:
        return f"{_t(language, key_a)} {value_a}  {_t(language, key_b)} {value_b}"

    return [
        _t(language, "report.station_heading", count=count),
        pair("report.short_slips", str(total.slips), "report.short_settled", str(total.settled)),
        pair(
            "report.short_satisfaction",
            format_rate(total.satisfaction),
            "report.short_on_time",
            format_rate(total.on_time),
        ),
        pair(
            "report.short_allowance",
            format_yuan(total.allowance_fen),
            "report.short_travel",
            format_yuan(total.travel_fen),
        ),
        pair(
            "report.short_deduction",
            format_yuan(total.deduction_fen),
            "report.short_reward",
            format_yuan(total.reward_fen),
        ),
        f"{_t(language, 'report.short_net')} {format_yuan(total.net_fen)}",
        _complaint_line(total, rows or [], language),
    ]


COMPLAINT_NAMES = 5  # technicians named on the summary's complaint line, most complaints first


def _complaint_line(total: SummaryRow, rows: Sequence[SummaryRow], language: str | None) -> str:
    """Upheld complaints in the month: the total, and who had them (the most first)."""
    named = sorted((r for r in rows if r.complaints), key=lambda r: (-r.complaints, r.technician))
    names = "，".join(f"{r.technician} {r.complaints}" for r in named[:COMPLAINT_NAMES])
    if len(named) > COMPLAINT_NAMES:
        names += " …"
    line = f"{_t(language, 'report.short_complaints')} {total.complaints}"
    return f"{line}（{names}）" if names else line


def _technician_tables(rows: list[SummaryRow], language: str | None) -> list[str]:
    """Two narrow per-technician tables: counts, rates and net; then the money parts."""
    names = [_clip(row.technician, _NAME_CELLS) for row in rows]
    keys_a = ("technician", "slips", "settled", "satisfaction", "on_time", "net")
    head_a = [_t(language, "report.col_technician")]
    head_a += [_t(language, f"report.short_{key}") for key in keys_a[1:]]
    body_a = [
        [name, str(r.slips), str(r.settled), format_rate(r.satisfaction)]
        + [format_rate(r.on_time), format_yuan(r.net_fen)]
        for name, r in zip(names, rows, strict=True)
    ]
    keys_b = ("allowance", "travel", "deduction", "reward")
    head_b = [_t(language, "report.col_technician")]
    head_b += [_t(language, f"report.short_{key}") for key in keys_b]
    body_b = [
        [name, format_yuan(r.allowance_fen), format_yuan(r.travel_fen)]
        + [format_yuan(r.deduction_fen), format_yuan(r.reward_fen)]
        for name, r in zip(names, rows, strict=True)
    ]
    return [*_table(head_a, body_a), "", *_table(head_b, body_b)]


def format_summary_text(
    statement: MonthStatement, metrics: Metrics = None, language: str | None = None
) -> str:
    """A monospace chat summary (station totals first), HTML-escaped for use inside <pre>."""
    rows = summary_rows(statement, metrics)
    total = station_totals(statement, metrics)
    lines = [_t(language, "report.title", month=statement.month), ""]
    lines += _station_lines(total, len(rows), language, rows)
    lines.append("")
    if rows:
        lines += _technician_tables(rows, language)
    else:
        lines.append(_t(language, "report.no_technicians"))
    return html.escape("\n".join(lines), quote=False)


def format_summary_brief(
    statement: MonthStatement,
    metrics: Metrics = None,
    language: str | None = None,
    rows_at_most: int = BRIEF_ROWS,
    max_chars: int = BRIEF_MAX_CHARS,
) -> str:
    """The chat summary of any size of station, HTML-escaped for <pre>, within max_chars.

    Station totals first; then every technician when there are at most rows_at_most (in name
    order), else the rows_at_most highest net pays under a heading that gives the count. Fewer
    rows are shown if the text would still be longer than max_chars (very long names).
    """
    rows = summary_rows(statement, metrics)
    total = station_totals(statement, metrics)
    head = [_t(language, "report.title", month=statement.month), ""]
    head += _station_lines(total, len(rows), language, rows)
    head.append("")
    if not rows:
        return html.escape("\n".join([*head, _t(language, "report.no_technicians")]), quote=False)
    shown = rows
    if len(rows) > rows_at_most:
        shown = sorted(rows, key=lambda r: (-r.net_fen, r.technician))[:rows_at_most]
    while True:
        lines = list(head)
        if len(shown) < len(rows):
            lines.append(_t(language, "report.top_heading", shown=len(shown), count=len(rows)))
        lines += _technician_tables(shown, language) if shown else []
        result = html.escape("\n".join(lines), quote=False)
        if len(result) <= max_chars or not shown:
            return result
        shown = shown[: len(shown) // 2]


# --- workbook --------------------------------------------------------------------------------


def clean_sheet_title(name: str) -> str:
    """A valid Excel sheet title from name: no []:*?/\\ or controls, ≤31 UTF-16 units."""
    title = _INVALID_TITLE_CHARS.sub("_", name)
    title = "".join(c for c in title if unicodedata.category(c) not in ("Cc", "Cs"))
    title = title.strip().strip("'").strip()
    if not title:
        title = "_"
    if title.casefold() == "history":  # reserved by Excel
        title += "_"
    return _fit_utf16(title, SHEET_TITLE_MAX)


def _fit_utf16(text: str, units: int) -> str:
    """Text cut to at most units UTF-16 code units (Excel's measure), never mid-character."""
    out, used = "", 0
    for char in text:
        size = 2 if ord(char) > 0xFFFF else 1
        if used + size > units:
            break
        out, used = out + char, used + size
    return out.rstrip().rstrip("'") or "_"


def unique_sheet_titles(names: Sequence[str], reserved: Iterable[str] = ()) -> list[str]:
    """Clean titles for names, deduplicated case-insensitively against reserved and each other."""
    taken = {title.casefold() for title in reserved}
    titles = []
    for name in names:
        base = clean_sheet_title(name)
        title, number = base, 1
        while title.casefold() in taken:
            number += 1
            suffix = f"~{number}"
            title = _fit_utf16(base, SHEET_TITLE_MAX - len(suffix)) + suffix
        taken.add(title.casefold())
        titles.append(title)
    return titles


def kind_label(kind: str, language: str | None) -> str:
    """The localized name of a line kind (the raw kind when unknown)."""
    return _t(language, f"report.kind_{kind}") if kind in KINDS else kind


def write_workbook(
    statement: MonthStatement,
    metrics: Metrics,
    path: str | Path,
    language: str | None = None,
) -> Path:
    """Save the month's summary sheet plus one sheet per technician as an .xlsx file."""
    from bot.services.workbook import build_workbook_file

    return build_workbook_file(statement, metrics, path, language)


# --- chart -----------------------------------------------------------------------------------

_NET_COLORS = ("#3b7dd8", "#d9534f")  # net >= 0, net < 0
_font_lock = threading.Lock()
_font_family: str | None = None


def chart_font_path() -> Path:
    """The Noto Sans CJK SC font file shipped inside the installed mplfonts package."""
    path = Path(str(resources.files("mplfonts") / "fonts" / CHART_FONT_FILE))
    if not path.is_file():
        raise FileNotFoundError(f"mplfonts does not ship {CHART_FONT_FILE} at {path}")
    return path


def chart_font_family() -> str:
    """The family name of the bundled CJK font, registered with matplotlib once."""
    global _font_family
    with _font_lock:
        if _font_family is None:
            _font_family = _register_font(chart_font_path())
        return _font_family


def _register_font(path: Path) -> str:
    """Add the font file to matplotlib's font manager (unless there) and return its family."""
    from matplotlib import font_manager

    def entry() -> Any:
        return next((f for f in font_manager.fontManager.ttflist if f.fname == str(path)), None)

    if entry() is None:
        font_manager.fontManager.addfont(str(path))
    return entry().name


def _chart_rc() -> dict[str, object]:
    """rcParams that make every text of a chart use the bundled CJK font."""
    family = chart_font_family()
    return {"font.family": [family], "font.sans-serif": [family], "axes.unicode_minus": True}


def _pin_font(figure: Figure) -> None:
    """Point every text artist straight at the bundled font file (not a family lookup)."""
    from matplotlib.text import Text

    path = str(chart_font_path())
    for text in figure.findobj(Text):
        prop = text.get_fontproperties().copy()
        prop.set_file(path)
        text.set_fontproperties(prop)


def _draw_axes(
    figure: Figure, statement: MonthStatement, metrics: Metrics, language: str | None
) -> None:
    """Bars of net pay, a satisfaction line on a 0–100 % secondary axis, labels, legend."""
    from matplotlib.patches import Patch
    from matplotlib.ticker import PercentFormatter

    rows = summary_rows(statement, metrics)
    count = len(rows)
    if count > CHART_BARS:  # a bar each for a big station is unreadable (and slow to lay out)
        rows = sorted(rows, key=lambda r: (-r.net_fen, r.technician))[:CHART_BARS]
    names = [row.technician for row in rows]
    nets = [yuan(row.net_fen) for row in rows]
    rates = [math.nan if row.satisfaction is None else row.satisfaction * 100 for row in rows]
    ax = figure.add_subplot()
    positions = list(range(len(names)))
    colors = [_NET_COLORS[0] if net >= 0 else _NET_COLORS[1] for net in nets]
    bars = ax.bar(positions, nets, color=colors, width=0.6)
    ax.bar_label(bars, labels=[format_yuan(row.net_fen) for row in rows], fontsize=8, padding=2)
    ax.axhline(0, color="0.35", linewidth=0.8)
    ax.set_xticks(positions, labels=names, rotation=30 if len(names) > 6 else 0)
    ax.set_xlabel(_t(language, "report.chart_xlabel"))
    ax.set_ylabel(_t(language, "report.chart_ylabel"))
    if count > len(rows):
        title = _t(language, "report.chart_title_top", month=statement.month, shown=len(rows))
        ax.set_title(f"{title}\n{_t(language, 'report.chart_subtitle_top', count=count)}")
    else:
        ax.set_title(_t(language, "report.chart_title", month=statement.month))
    ax.margins(x=0.1, y=0.15)
    ax2 = ax.twinx()
    label = _t(language, "report.chart_satisfaction")
    shown = any(not math.isnan(rate) for rate in rates)  # an empty line has a bogus bbox
    (line,) = ax2.plot(
        positions, rates, color="#f0a202", marker="o", clip_on=not shown, label=label
    )
    ax2.set_ylim(0, 100)
    ax2.yaxis.set_major_formatter(PercentFormatter(100, decimals=0))
    ax2.set_ylabel(_t(language, "report.chart_y2label"))
    if not names:
        ax.set_xlim(-1, 1)
        ax.set_ylim(-1, 1)
        ax.text(0.5, 0.5, _t(language, "report.chart_no_data"), transform=ax.transAxes, ha="center")
    net_key = Patch(facecolor=_NET_COLORS[0], label=_t(language, "report.chart_net"))
    figure.legend(handles=[net_key, line], loc="outside lower center", ncols=2, frameon=False)


def build_chart_figure(
    statement: MonthStatement, metrics: Metrics = None, language: str | None = None
) -> Figure:
    """The chart as a laid-out Agg Figure whose every text uses the bundled CJK font."""
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with rc_context(_chart_rc()):
        bars = min(len(statement.technicians), CHART_BARS)
        width = min(16.0, max(6.4, 1.1 * bars + 3))
        figure = Figure(figsize=(width, 4.8), dpi=120, layout="constrained")
        FigureCanvasAgg(figure)
        _draw_axes(figure, statement, metrics, language)
        figure.canvas.draw()  # lay out and create every tick label now, under the font settings
        _pin_font(figure)
        figure.set_layout_engine("none")  # keep that layout: saving needs no second solve
    return figure


def draw_chart(
    statement: MonthStatement,
    metrics: Metrics,
    path: str | Path,
    language: str | None = None,
) -> Path:
    """Save the net-per-technician bar chart with satisfaction line as a PNG."""
    from matplotlib import rc_context

    figure = build_chart_figure(statement, metrics, language)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with rc_context(_chart_rc()):
        figure.savefig(target, format="png")
    return target
