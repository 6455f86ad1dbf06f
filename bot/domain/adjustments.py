"""ADJ-CLOSED, the pure part: what a closed month still owes, line by line.

A closed month's snapshot never changes. When something that falls in it changes, the month is
computed again; the difference between that and (snapshot + every adjustment of it carried so
far) is carried into the first open month, one line per (technician, rule, ref, kind) with the
same rule ID, marked as adjusting the closed month. Carrying again without a change adds nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import replace

from bot.domain.models import MonthStatement, StatementLine, TechnicianStatement

# (technician, rule, ref, kind): what one carried amount is keyed by
LineKey = tuple[str, str, str, str]


def _key(technician: str, line: StatementLine) -> LineKey:
    return (technician, line.rule, line.ref, line.kind)


def _plain_note(line: StatementLine) -> str:
    """A note that is text already (snapshots); structured notes need a renderer."""
    return line.note if isinstance(line.note, str) else ""


def _no_longer_due(was: str) -> str:
    return f"no longer due (was: {was})"


def _amounts(
    statement: MonthStatement, technicians: Collection[str] | None
) -> tuple[dict[LineKey, int], dict[LineKey, StatementLine]]:
    amounts: dict[LineKey, int] = {}
    notes: dict[LineKey, StatementLine] = {}
    for tech in statement.technicians:
        if technicians is not None and tech.technician not in technicians:
            continue
        for line in tech.lines:
            if line.adjusts is not None:
                continue  # carried into this month from an earlier one: fixed rows, never differ
            key = _key(tech.technician, line)
            amounts[key] = amounts.get(key, 0) + line.amount_fen
            notes.setdefault(key, line)
    return amounts, notes


def differences(
    recomputed: MonthStatement,
    snapshot: MonthStatement,
    carried: Iterable[tuple[str, StatementLine]],
    technicians: Collection[str] | None = None,
    note_text: Callable[[StatementLine], str] = _plain_note,
    gone_text: Callable[[str], str] = _no_longer_due,
) -> list[tuple[str, StatementLine]]:
    """The (technician, line) still to carry so that snapshot + carried = recomputed.

    `carried` are the adjustment lines of this closed month carried so far (adjusts == its
    month); `technicians` limits the comparison to the people a change concerns. Lines come in
    the recomputed statement's order, then the ones that are gone from it. A carried line's
    note is its source line's note as `note_text` renders it (`gone_text` wraps the note of a
    line that is no longer due); the adjustment mark is added when the line is shown.
    """
    month = snapshot.month
    new, new_notes = _amounts(recomputed, technicians)
    old, old_notes = _amounts(snapshot, technicians)
    for technician, line in carried:
        if technicians is not None and technician not in technicians:
            continue
        key = _key(technician, line)
        old[key] = old.get(key, 0) + line.amount_fen
        old_notes.setdefault(key, line)
    result: list[tuple[str, StatementLine]] = []
    for key in [*new, *(k for k in old if k not in new)]:
        delta = new.get(key, 0) - old.get(key, 0)
        if delta == 0:
            continue
        technician, rule, ref, kind = key
        if key in new:
            note = note_text(new_notes[key])
        else:
            note = gone_text(note_text(old_notes[key]))
        result.append((technician, StatementLine(rule, delta, ref, note, kind, month)))
    return result


def with_adjustments(
    statement: MonthStatement, lines: Iterable[tuple[str, StatementLine]]
) -> MonthStatement:
    """The statement with these lines (adjustments carried in, repair revenue) added after each
    person's own; a person with none of their own gets a statement of these alone."""
    extra: dict[str, list[StatementLine]] = {}
    for technician, line in lines:
        extra.setdefault(technician, []).append(line)
    if not extra:
        return statement
    people = {t.technician: t for t in statement.technicians}
    for name, added in extra.items():
        own = people.get(name) or TechnicianStatement(name, 0, 0, ())
        people[name] = replace(own, lines=own.lines + tuple(added))
    return MonthStatement(statement.month, tuple(people[name] for name in sorted(people)))
