"""Pure rendering of the ticket card (dispatch group), the technician's dispatch card and
queue rows, from plain facts and the catalogs; no Telegram and no database here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain import service_mode
from bot.domain.dispatch_models import TicketView
from bot.domain.evidence import Flag
from bot.domain.priority import ScoreBreakdown
from bot.i18n import catalog, t

TIME_FORMAT = "%m-%d %H:%M"
CLOCK_FORMAT = "%H:%M"
SECONDS_PER_MINUTE = 60
MINUTES_PER_HOUR = 60
SCORE_DECIMALS = 1
DISSATISFIED = "dissatisfied"


@dataclass(frozen=True)
class VisitFacts:
    """What the visits and slips tables say about a ticket's latest visit."""

    check_in_at: datetime | None = None
    offsite: bool = False
    check_out_at: datetime | None = None
    outcome: str | None = None
    satisfaction: str | None = None
    flags: tuple[str, ...] = ()  # encoded evidence flags (bot.domain.evidence.Flag.encode)


@dataclass(frozen=True)
class CardFacts:
    ticket: TicketView
    score: ScoreBreakdown
    mode: str
    terms: str | None  # None when the site is unknown
    distance_km: float | None
    in_warranty: bool | None  # None when no machine dates are known
    respond_due: datetime | None = None
    arrive_due: datetime | None = None
    visit: VisitFacts | None = None
    warranty_note: str = ""  # the note of a warranty override (WTY-CHECK), when overridden


def when(moment: datetime | None, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime(TIME_FORMAT) if moment else "—"


def window_text(start: datetime | None, end: datetime | None, tz: ZoneInfo, language: str) -> str:
    if start is None or end is None:
        return t(language, "dispatch.card.no_appointment")
    return f"{when(start, tz)}–{end.astimezone(tz).strftime(CLOCK_FORMAT)}"


def duration(delta: timedelta, language: str) -> str:
    minutes = int(abs(delta).total_seconds()) // SECONDS_PER_MINUTE
    hours, minutes = divmod(minutes, MINUTES_PER_HOUR)
    return t(language, "dispatch.duration", hours=hours, minutes=minutes)


def time_left(due: datetime, now: datetime, language: str) -> str:
    """ "1h 20m left" or "overdue 5m"."""
    delta = due - now
    key = "dispatch.left" if delta.total_seconds() >= 0 else "dispatch.overdue"
    return t(language, key, time=duration(delta, language))


def class_name(customer_class: str, kind: str, language: str) -> str:
    """A class with its sub-kind, e.g. 网络客户(网吧)."""
    label = t(language, f"dispatch.class.{customer_class}")
    if kind:
        label += f"({t(language, f'dispatch.kind.{kind}')})"
    return label


def class_label(view: TicketView, language: str) -> str:
    return class_name(view.customer_class, view.customer_kind, language)


def state_label(state: str, language: str) -> str:
    return t(language, f"lifecycle.state.{state}")


def flags_text(view: TicketView, language: str) -> str:
    parts = [
        t(language, "dispatch.flag.hardware" if view.hardware else "dispatch.flag.software"),
        t(language, "dispatch.flag.major" if view.major else "dispatch.flag.ordinary"),
        t(language, "dispatch.flag.brand" if view.brand else "dispatch.flag.compatible")
        + (f" {view.brand_name}" if view.brand and view.brand_name else ""),
        t(language, "dispatch.flag.tool" if view.tool else "dispatch.flag.fun"),
    ]
    if view.repeat:
        parts.append(t(language, "dispatch.flag.repeat"))
    return " · ".join(parts)


def terms_text(facts: CardFacts, language: str) -> str:
    if facts.terms is None:
        return t(language, "dispatch.terms.unknown_site")
    text = t(language, f"dispatch.terms.{facts.terms}")
    if facts.in_warranty is None:
        text += t(language, "dispatch.warranty.unknown")
    elif facts.in_warranty:
        text += t(language, "dispatch.warranty.in")
    else:
        text += t(language, "dispatch.warranty.out")
    if facts.warranty_note:
        text += t(language, "custdesk.wty.card_note", note=facts.warranty_note)
    return text


def _visit_lines(visit: VisitFacts, tz: ZoneInfo, language: str) -> list[str]:
    lines = []
    if visit.check_in_at is not None:
        flag = t(language, "dispatch.card.offsite") if visit.offsite else ""
        lines.append(t(language, "dispatch.card.check_in", time=when(visit.check_in_at, tz)) + flag)
    if visit.check_out_at is not None:
        outcome = visit.outcome or "—"
        outcome = catalog(language).get(f"visit.outcome_{outcome}", outcome)
        lines.append(
            t(
                language,
                "dispatch.card.check_out",
                time=when(visit.check_out_at, tz),
                outcome=outcome,
            )
        )
    if visit.satisfaction:
        lines.append(
            t(
                language,
                "dispatch.card.satisfaction",
                value=t(language, f"dispatch.satisfaction.{visit.satisfaction}"),
            )
        )
    lines += [f"  {reason}" for reason in flag_reasons(visit.flags, language)]
    return lines


def flag_reasons(encoded: tuple[str, ...] | list[str], language: str) -> list[str]:
    """Each stored evidence flag as one sentence in the language."""
    flags = (Flag.decode(text) for text in encoded)
    return [t(language, flag.key, **flag.values) for flag in flags if flag is not None]


def mask_phone(phone: str | None) -> str:
    """A phone for eyes that need not dial it: 13812341111 -> 138****1111."""
    digits = (phone or "").strip()
    if not digits:
        return "—"
    if len(digits) <= 7:
        return digits[:1] + "*" * (len(digits) - 1)
    return f"{digits[:3]}****{digits[-4:]}"


def _appointment_and_mode(facts: CardFacts, tz: ZoneInfo, language: str) -> list[str]:
    """The appointment window and the recommended mode with its terms: both cards show them."""
    view = facts.ticket
    return [
        t(
            language,
            "dispatch.card.appointment",
            window=window_text(view.appointment_start, view.appointment_end, tz, language),
        ),
        t(
            language,
            "dispatch.card.mode",
            mode=t(language, f"dispatch.mode.{facts.mode}"),
            terms=terms_text(facts, language),
        ),
    ]


def render_ticket_card(facts: CardFacts, now: datetime, tz: ZoneInfo, language: str) -> str:
    """The dispatch group's card for one ticket (the customer's phone masked)."""
    view = facts.ticket
    pin = t(language, "dispatch.card.pinned") if view.pinned else ""
    distance = (
        t(language, "dispatch.card.distance", km=f"{facts.distance_km:.1f}")
        if facts.distance_km is not None
        else ""
    )
    lines = [
        t(
            language,
            "dispatch.card.title",
            id=view.id,
            cls=class_label(view, language),
            score=f"{facts.score.total:.{SCORE_DECIMALS}f}",
        )
        + pin,
        t(
            language,
            "dispatch.card.customer",
            name=view.customer_name,
            phone=mask_phone(view.customer_phone),
        ),
        t(language, "dispatch.card.address", address=view.address or "—") + distance,
        t(language, "dispatch.card.fault", fault=view.fault, flags=flags_text(view, language)),
    ]
    if view.serial or view.warranty_end:
        lines.append(
            t(
                language,
                "dispatch.card.machine",
                serial=view.serial or "—",
                warranty=view.warranty_end.isoformat() if view.warranty_end else "—",
            )
        )
    lines += [
        *_appointment_and_mode(facts, tz, language),
        t(
            language,
            "dispatch.card.state",
            state=state_label(view.state, language),
            technician=view.technician_name or "—",
        ),
    ]
    for key, due in (("respond", facts.respond_due), ("arrive", facts.arrive_due)):
        if due is not None:
            lines.append(
                t(
                    language,
                    f"dispatch.card.promise_{key}",
                    due=when(due, tz),
                    left=time_left(due, now, language),
                )
            )
    if facts.visit is not None:
        lines += _visit_lines(facts.visit, tz, language)
    return "\n".join(lines)


def render_dispatch_card(
    facts: CardFacts, promise_due: datetime | None, tz: ZoneInfo, language: str
) -> str:
    """The technician's private dispatch card."""
    view = facts.ticket
    return "\n".join(
        [
            t(
                language,
                "dispatch.tech.title",
                id=view.id,
                score=f"{facts.score.total:.{SCORE_DECIMALS}f}",
                cls=class_label(view, language),
            ),
            t(
                language,
                "dispatch.card.customer",
                name=view.customer_name,
                phone=view.customer_phone or "—",
            ),
            t(language, "dispatch.card.address", address=view.address or "—"),
            t(language, "dispatch.card.fault", fault=view.fault, flags=flags_text(view, language)),
            *_appointment_and_mode(facts, tz, language),
            t(language, "dispatch.tech.promise", due=when(promise_due, tz)),
        ]
    )


def render_queue_row(
    position: int,
    view: TicketView,
    score: ScoreBreakdown,
    promises: dict[str, datetime],
    now: datetime,
    language: str,
) -> str:
    """One queue line with its score breakdown and the time left on each promise."""
    parts = score.display()
    shown = [f"{t(language, 'dispatch.score.class')} {parts['class']:g}"]
    for name in ("tool", "major", "repeat", "hardware", "brand"):
        if parts[name]:
            shown.append(f"{t(language, f'dispatch.score.{name}')} {parts[name]:g}")
    shown.append(f"{t(language, 'dispatch.score.ageing')} {parts['ageing']:g}")
    pin = t(language, "dispatch.card.pinned") if view.pinned else ""
    line = t(
        language,
        "dispatch.queue.row",
        position=position,
        id=view.id,
        name=view.customer_name,
        cls=class_label(view, language),
        total=f"{score.total:.{SCORE_DECIMALS}f}",
        breakdown=" + ".join(shown),
    )
    promise_text = [
        t(
            language,
            "dispatch.promise",
            what=t(language, f"dispatch.deadline.{kind}"),
            left=time_left(due, now, language),
        )
        for kind, due in sorted(promises.items())
    ]
    return line + pin + ("\n    " + " · ".join(promise_text) if promise_text else "")


def warranty_state(view: TicketView, today: date, warranty_months: int) -> bool | None:
    """In warranty today (三包 1.1), from the machine's end date or purchase date; None unknown."""
    if view.warranty_end is not None:
        return today < view.warranty_end
    if view.purchase_date is not None:
        return service_mode.in_warranty(view.purchase_date, today, warranty_months)
    return None
