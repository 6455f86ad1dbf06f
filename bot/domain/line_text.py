"""Statement lines in the reader's language: the rule's title, the visit's date and customer,
and why, e.g. `ALW-CAP-HOME 0.00 超出家庭单机服务比例：11-23 陈女士，家庭单机超过 50% 上限（第 6/5 张）`.

Lines carry structured notes (bot.domain.models.LineNote); text is made here, only for the lines
shown, from the `line.*` and `note.*` catalog keys (bot/i18n/*.statement.toml).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, tzinfo

from bot.domain import payroll
from bot.domain.models import Reason, Slip, StatementLine
from bot.domain.note_codes import decode
from bot.i18n import DEFAULT_LANGUAGE, catalog, normalize_language, t

# Notes stored in English before notes were coded (bot.domain.note_codes), rendered like coded ones.
_LEGACY_LATE = re.compile(r"^ticket (\d+): arrived (\d{1,2}:\d{2}) without notice$")
_LEGACY_ADJUSTMENT = re.compile(r"^(.*?)\s*\(adjustment for (\d{4}-\d{2})\)$", re.DOTALL)


def language_of(language: str | None) -> str:
    """A catalog language for any language code (the default for None or unknown ones)."""
    return normalize_language(language) or DEFAULT_LANGUAGE


def rule_title(rule: str, language: str | None) -> str:
    """The short title of a rule that a statement line cites (the ID itself when unknown)."""
    titles = payroll.RULE_TITLES.get(rule)
    if titles is None:
        return rule
    return titles[0] if language_of(language) == "zh-CN" else titles[1]


def event_note(note: str, language: str | None) -> str:
    """A recorded event's note as shown: the bot's coded notes in `language`, a person's text
    as typed."""
    lang = language_of(language)
    decoded = decode(note)
    if decoded is not None:
        key, values, rest = decoded
        if f"note.{key}" not in catalog(DEFAULT_LANGUAGE):
            return rest
        text = t(lang, f"note.{key}", **values)
        return t(lang, "line.separator").join(filter(None, (text, rest)))
    late = _LEGACY_LATE.match(note)
    if late:
        return t(lang, "note.late_auto", ticket=late.group(1), arrived=late.group(2))
    adjustment = _LEGACY_ADJUSTMENT.match(note)
    if adjustment:
        return event_note(adjustment.group(1), lang) + adjustment_suffix(adjustment.group(2), lang)
    return note


def adjustment_suffix(month: str, language: str | None) -> str:
    """The mark of a line that corrects a closed month, e.g. `（2026-10 月调整）`."""
    return t(language_of(language), "line.adjusts", month=month)


def date_text(day: date, language: str | None) -> str:
    """A visit's or an event's date on a statement line, e.g. 11-23."""
    return t(language_of(language), "line.date", month=day.month, day=day.day)


def ref_text(ref: str, language: str | None) -> str:
    """A line's reference (`slip 17`, `event 3`) in `language`."""
    kind, _, number = ref.partition(" ")
    key = f"line.ref_{kind}"
    if number.isdigit() and key in catalog(DEFAULT_LANGUAGE):
        return t(language_of(language), key, id=number)
    return ref


class NoteRenderer:
    """Renders notes of one statement in one language; a Reason shared by many lines is turned
    into text once."""

    def __init__(self, language: str | None = None) -> None:
        self.language = language_of(language)
        self._reasons: dict[int, tuple[Reason, str]] = {}  # id -> (the reason kept alive, text)
        self._titles: dict[str, str] = {}
        self._visits: dict[int, tuple[Slip, str]] = {}  # id -> (the slip kept alive, text)
        self._dates: dict[date, str] = {}
        self._refs: dict[str, str] = {}  # reference kind -> its catalog template ("" if none)
        self._separator = t(self.language, "line.separator")
        self._title_separator = t(self.language, "line.title_separator")
        self._part_separator = t(self.language, "line.part_separator")

    def why(self, reason: Reason) -> str:
        """The reason in words."""
        known = self._reasons.get(id(reason))
        if known is not None and known[0] is reason:
            return known[1]
        text = self._why(reason)
        self._reasons[id(reason)] = (reason, text)
        return text

    def _why(self, reason: Reason) -> str:
        if reason.key == "parts":
            parts = reason.values.get("parts", ())
            texts = (
                self.why(part) if isinstance(part, Reason) else event_note(str(part), self.language)
                for part in parts  # type: ignore[union-attr]
            )
            return self._separator.join(text for text in texts if text)
        values = {
            name: self.why(value) if isinstance(value, Reason) else value
            for name, value in reason.values.items()
        }
        if reason.key.startswith("evidence."):  # an evidence flag keeps its own sentence
            return t(self.language, reason.key, **values)
        return t(self.language, f"line.{reason.key}", **values)

    def title(self, rule: str) -> str:
        """The rule's short title."""
        known = self._titles.get(rule)
        if known is None:
            known = self._titles[rule] = rule_title(rule, self.language)
        return known

    def note(self, line: StatementLine) -> str:
        """The line's note: title, the visit's date and customer (or the event's date), why,
        and the adjustment mark when it corrects a closed month."""
        note = line.note
        if isinstance(note, str):  # a closed month's snapshot: already text
            suffix = adjustment_suffix(line.adjusts, self.language) if line.adjusts else ""
            return note if not suffix or suffix.strip() in note else note + suffix
        reason, slip, zone, day = note
        if slip is not None:
            where = self._visit(slip, zone)
        elif day is not None:
            where = date_text(day, self.language)
        else:
            where = ""
        why = self.why(reason)
        title = self._titles.get(line.rule) or self.title(line.rule)
        if where and why:
            text = f"{title}{self._title_separator}{where}{self._part_separator}{why}"
        elif where or why:
            text = f"{title}{self._title_separator}{where or why}"
        else:
            text = title
        if line.adjusts:
            text += adjustment_suffix(line.adjusts, self.language)
        return text

    def _date(self, day: date) -> str:
        shown = self._dates.get(day)
        if shown is None:
            shown = self._dates[day] = date_text(day, self.language)
        return shown

    def _visit(self, slip: Slip, zone: tzinfo | None) -> str:
        """The visit's local check-out date and customer, worked out once per slip."""
        known = self._visits.get(id(slip))
        if known is not None and known[0] is slip:
            return known[1]
        moment = slip.check_out
        if zone is not None and moment.tzinfo is not None:
            moment = moment.astimezone(zone)
        shown = self._date(moment.date())
        text = f"{shown} {slip.customer}"
        self._visits[id(slip)] = (slip, text)
        return text

    def notes(self, lines: Sequence[StatementLine]) -> list[str]:
        """note() of every line, in one pass (a month's JSON and workbook render them all):
        a visit's lines come together, so its date and customer are worked out once."""
        texts: list[str] = []
        add = texts.append
        titles, reasons = self._titles, self._reasons
        title_separator, part_separator = self._title_separator, self._part_separator
        last_slip: Slip | None = None
        where = ""
        for line in lines:
            note = line.note
            if note.__class__ is not tuple or line.adjusts:
                add(self.note(line))
                continue
            reason, slip, zone, _day = note
            if slip is None:
                add(self.note(line))
                continue
            if slip is not last_slip:
                where, last_slip = self._visit(slip, zone), slip
            known = reasons.get(id(reason))
            why = known[1] if known is not None and known[0] is reason else self.why(reason)
            title = titles.get(line.rule) or self.title(line.rule)
            if why:
                add(f"{title}{title_separator}{where}{part_separator}{why}")
            else:
                add(f"{title}{title_separator}{where}")
        return texts

    def line(self, line: StatementLine) -> str:
        """One line as /me shows it: rule ID, amount (a deduction with a minus) and the note."""
        shown = -line.amount_fen if line.kind == payroll.DEDUCTION else line.amount_fen
        return f"{line.rule} {payroll.format_yuan(shown)} {self.note(line)}"

    def ref(self, line: StatementLine) -> str:
        """The line's reference in the reader's language (ref_text, one lookup per kind)."""
        ref = line.ref
        kind, _, number = ref.partition(" ")
        template = self._refs.get(kind)
        if template is None:
            key = f"line.ref_{kind}"
            known = key in catalog(DEFAULT_LANGUAGE)
            template = self._refs[kind] = catalog(self.language)[key] if known else ""
        return template.format(id=number) if template and number.isdigit() else ref


def note_text(line: StatementLine, language: str | None = None) -> str:
    """One line's note in `language` (see NoteRenderer.note)."""
    return NoteRenderer(language).note(line)


def line_text(line: StatementLine, language: str | None = None) -> str:
    """One line as /me shows it in `language` (see NoteRenderer.line)."""
    return NoteRenderer(language).line(line)
