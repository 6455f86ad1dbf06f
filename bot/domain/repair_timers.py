"""The repair desk's promises as deadlines (SLA-TAKEBACK, SLA-SPARE, RMA-SEND, RMA-10DAY,
RMA-20DAY, RMA-AGENT, RMA-BACK, CMP-REGISTER), each with what happens when it falls due. Pure.

"Day N" counts from the intake day (day 0); the end of day N is local midnight after it, in the
station's time zone. Questions put to people are asked at the start of the working day; the
working calendar (SLA-DAYS) decides same-day delivery and complaint verification.

Firing each alert exactly once and surviving restarts is the scheduler's job: this module only
says what is due and when (a promise is identified by (rule, item id)).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import NamedTuple
from zoneinfo import ZoneInfo

from bot.config import Config
from bot.domain.calendar import ServiceCalendar
from bot.domain.repairs import FINAL_STATES

SLA_TAKEBACK = "SLA-TAKEBACK"
SLA_SPARE = "SLA-SPARE"
RMA_SEND = "RMA-SEND"
RMA_10DAY = "RMA-10DAY"
RMA_20DAY = "RMA-20DAY"
RMA_AGENT = "RMA-AGENT"
RMA_BACK = "RMA-BACK"
CMP_ACK = "CMP-ACK"
CMP_VERIFY = "CMP-VERIFY"
SPARE_CLASSES = frozenset({"industry", "network", "quasi"})  # SLA-SPARE (quasi as industry)
MIDNIGHT = time(0)
ITEM_RULES = (SLA_TAKEBACK, SLA_SPARE, RMA_SEND, RMA_10DAY, RMA_20DAY, RMA_AGENT, RMA_BACK)


class Action(StrEnum):
    """What the bot does when a stage of a promise comes (i18n repairs.action.<value>)."""

    WARN = "warn"  # tell who holds it that the promise is near
    BREACH = "breach"  # tell the managers the promise was broken
    REMIND_SENDER = "remind_sender"  # RMA-SEND: confirm receipt upstream, chase pending items
    ASK_SPARE = "ask_spare"  # SLA-SPARE: lend a spare or say why not
    ASK_EXPLANATION = "ask_explanation"  # RMA-10DAY: reason, new date, customer told?
    RECORD_EVENT = "record_event"  # record the rule's event against the receiver
    ASK_AGENT_REASON = "ask_agent_reason"  # RMA-AGENT: reason and estimated date for the agent
    DELIVER_TODAY = "deliver_today"  # RMA-BACK, local customers
    NOTIFY_TODAY = "notify_today"  # RMA-BACK, county companies


class ItemClock(NamedTuple):
    """The facts of one item that its promises depend on (aware datetimes)."""

    item_id: int
    state: str
    customer_class: str
    customer_kind: str
    taken_in_at: datetime
    sent_up_at: datetime | None = None
    upstream_confirmed_at: datetime | None = None
    back_at: datetime | None = None
    answered_at: datetime | None = None  # SLA-TAKEBACK: the answer given to the customer
    explained_at: datetime | None = None  # the first RMA-10DAY/RMA-AGENT explanation
    spare_settled_at: datetime | None = None  # a spare lent, or why not recorded
    finished_at: datetime | None = None  # when it reached a final state


class Promise(NamedTuple):
    """One promise: an optional earlier stage (a question or a warning) and the deadline.

    A named tuple, not a dataclass: a timer pass builds tens of thousands of them.
    """

    rule: str
    ref_id: int
    due_at: datetime
    due_action: Action
    warn_at: datetime | None = None
    warn_action: Action | None = None
    auto_event: str | None = None  # the event recorded at the deadline, if any
    notify: tuple[str, ...] = ()  # who hears of it: receiver, sender, managers, customer, agent
    met_at: datetime | None = None  # kept (or ended) at this moment; None while open

    def is_open(self, now: datetime) -> bool:
        return self.met_at is None or self.met_at > now

    def stages(self) -> tuple[tuple[str, datetime, Action], ...]:
        """("warn" | "due", when, action), in time order."""
        found: list[tuple[str, datetime, Action]] = []
        if self.warn_at is not None and self.warn_action is not None:
            found.append(("warn", self.warn_at, self.warn_action))
        found.append(("due", self.due_at, self.due_action))
        return tuple(found)


@dataclass(frozen=True)
class Setup:
    """What every item's promises share, worked out once per pass from the config."""

    tz: ZoneInfo
    warn: timedelta
    takeback: timedelta
    spare: timedelta
    send_days: timedelta
    send_time: time
    explain_end: timedelta  # local midnight ending day N, from the intake date
    report_end: timedelta
    explain_ask: timedelta
    agent_ask: timedelta
    day_start: time
    # Intake day -> the UTC instants of its day-N promises; items share their intake days.
    marks: dict[date, tuple[datetime, datetime, datetime, datetime]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def day_marks(self, intake_day: date) -> tuple[datetime, datetime, datetime, datetime]:
        """(end of the explain day, its question, end of the report day, the agent question)."""
        found = self.marks.get(intake_day)
        if found is None:
            tz, combine = self.tz, datetime.combine
            found = (
                combine(intake_day + self.explain_end, MIDNIGHT, tzinfo=tz).astimezone(UTC),
                combine(intake_day + self.explain_ask, self.day_start, tzinfo=tz).astimezone(UTC),
                combine(intake_day + self.report_end, MIDNIGHT, tzinfo=tz).astimezone(UTC),
                combine(intake_day + self.agent_ask, self.day_start, tzinfo=tz).astimezone(UTC),
            )
            self.marks[intake_day] = found
        return found

    @classmethod
    def of(cls, config: Config) -> Setup:
        rep, sla = config.repairs, config.sla
        return cls(
            tz=config.tz,
            warn=timedelta(minutes=sla.warn_before_minutes),
            takeback=timedelta(hours=sla.takeback_hours),
            spare=timedelta(days=sla.spare_days),
            send_days=timedelta(days=rep.send_check_day),
            send_time=rep.send_check_time,
            explain_end=timedelta(days=rep.explain_day + 1),
            report_end=timedelta(days=rep.report_day + 1),
            explain_ask=timedelta(days=rep.explain_day),
            agent_ask=timedelta(days=rep.agent_day),
            day_start=sla.workday_start,
        )


def _end_of_working_day(calendar: ServiceCalendar, moment: datetime) -> datetime:
    """The close of the working day moment falls in; after hours or on a day off, the next one's."""
    local = moment.astimezone(calendar.tz)
    day = local.date()
    if calendar.is_workday(day) and local.time() < calendar.workday_end:
        return datetime.combine(day, calendar.workday_end, tzinfo=calendar.tz)
    day += timedelta(days=1)
    while not calendar.is_workday(day):
        day += timedelta(days=1)
    return datetime.combine(day, calendar.workday_end, tzinfo=calendar.tz)


def _first(*moments: datetime | None) -> datetime | None:
    present = [moment for moment in moments if moment is not None]
    return min(present) if present else None


def item_promises(
    item: ItemClock, config: Config, calendar: ServiceCalendar, setup: Setup | None = None
) -> list[Promise]:
    """Every promise the item carries, kept or not (met_at says when it was kept or ended).

    Times are in UTC, like the stored ones, so a pass compares them without zone lookups.

    Pass a Setup (Setup.of(config)) when computing many items in one pass.
    """
    s = setup or Setup.of(config)
    tz = s.tz
    combine = datetime.combine
    ended = item.finished_at if item.state in FINAL_STATES else None
    agent = item.customer_class == "agent"
    county = agent and item.customer_kind == "county"
    explain_end, explain_ask, report_end, agent_ask = s.day_marks(
        item.taken_in_at.astimezone(tz).date()
    )
    promises: list[Promise] = []
    if not agent:  # agents' items follow RMA-AGENT instead
        due = item.taken_in_at + s.takeback
        promises.append(
            Promise(
                SLA_TAKEBACK,
                item.item_id,
                due,
                Action.BREACH,
                warn_at=due - s.warn,
                warn_action=Action.WARN,
                notify=("receiver", "managers"),
                met_at=_first(item.answered_at, ended),
            )
        )
    if item.customer_class in SPARE_CLASSES:
        promises.append(
            Promise(
                SLA_SPARE,
                item.item_id,
                item.taken_in_at + s.spare,
                Action.ASK_SPARE,
                notify=("receiver",),
                met_at=_first(item.spare_settled_at, item.back_at, ended),
            )
        )
    if item.sent_up_at is not None:
        sent_day = item.sent_up_at.astimezone(tz).date()
        promises.append(
            Promise(
                RMA_SEND,
                item.item_id,
                combine(sent_day + s.send_days, s.send_time, tzinfo=tz).astimezone(UTC),
                Action.REMIND_SENDER,
                notify=("sender",),
                met_at=_first(item.upstream_confirmed_at, item.back_at, ended),
            )
        )
    explained_or_ended = _first(item.explained_at, ended)
    promises.append(
        Promise(
            RMA_10DAY,
            item.item_id,
            explain_end,
            Action.RECORD_EVENT,
            warn_at=explain_ask,
            warn_action=Action.ASK_EXPLANATION,
            auto_event=RMA_10DAY,
            notify=("receiver", "managers", "customer"),
            met_at=explained_or_ended,
        )
    )
    promises.append(
        Promise(
            RMA_20DAY,
            item.item_id,
            report_end,
            Action.RECORD_EVENT,
            auto_event=RMA_20DAY,
            notify=("receiver", "managers"),
            met_at=explained_or_ended,
        )
    )
    if agent:
        promises.append(
            Promise(
                RMA_AGENT,
                item.item_id,
                agent_ask,
                Action.ASK_AGENT_REASON,
                notify=("receiver", "agent"),
                met_at=explained_or_ended,
            )
        )
    if item.back_at is not None:
        promises.append(
            Promise(
                RMA_BACK,
                item.item_id,
                _end_of_working_day(calendar, item.back_at).astimezone(UTC),
                Action.NOTIFY_TODAY if county else Action.DELIVER_TODAY,
                notify=("receiver", "customer") if not county else ("receiver", "agent"),
                met_at=ended,
            )
        )
    return promises


def next_promise(promises: Iterable[Promise], now: datetime) -> Promise | None:
    """The open promise due soonest (the board's "next promise")."""
    candidates = [p for p in promises if p.is_open(now)]
    return min(candidates, key=lambda p: (p.due_at, p.rule)) if candidates else None


def due_stages(
    promises: Iterable[Promise], now: datetime
) -> list[tuple[Promise, str, datetime, Action]]:
    """The stages of open promises whose time has come (the scheduler fires each once)."""
    found = []
    for promise in promises:
        met = promise.met_at
        warn = promise.warn_at
        if warn is not None and warn <= now and (met is None or met > warn):
            found.append((promise, "warn", warn, promise.warn_action))
        due = promise.due_at
        if due <= now and (met is None or met > due):
            found.append((promise, "due", due, promise.due_action))
    return found


@dataclass(frozen=True)
class ComplaintClock:
    complaint_id: int
    registered_at: datetime
    acknowledged_at: datetime | None = None
    verified_at: datetime | None = None
    decided_at: datetime | None = None


def add_working_days_end(calendar: ServiceCalendar, start: datetime, days: int) -> datetime:
    """The close of the `days`-th working day after start's local date."""
    day = start.astimezone(calendar.tz).date()
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if calendar.is_workday(day):
            counted += 1
    return datetime.combine(day, calendar.workday_end, tzinfo=calendar.tz)


def complaint_promises(
    complaint: ComplaintClock, config: Config, calendar: ServiceCalendar
) -> list[Promise]:
    """CMP-REGISTER: acknowledged within 24 hours, verified within 3 working days."""
    rep = config.repairs
    warn = timedelta(minutes=config.sla.warn_before_minutes)
    ack_due = complaint.registered_at + timedelta(hours=rep.complaint_ack_hours)
    verify_due = add_working_days_end(calendar, complaint.registered_at, rep.complaint_verify_days)
    return [
        Promise(
            CMP_ACK,
            complaint.complaint_id,
            ack_due.astimezone(config.tz),
            Action.BREACH,
            warn_at=(ack_due - warn).astimezone(config.tz),
            warn_action=Action.WARN,
            notify=("managers",),
            met_at=_first(complaint.acknowledged_at, complaint.decided_at),
        ),
        Promise(
            CMP_VERIFY,
            complaint.complaint_id,
            verify_due,
            Action.BREACH,
            warn_at=verify_due - warn,
            warn_action=Action.WARN,
            notify=("managers",),
            met_at=_first(complaint.verified_at, complaint.decided_at),
        ),
    ]


def days_in(taken_in_at: datetime, now: datetime, config: Config) -> int:
    """Whole days since intake by local date (the intake day is day 0)."""
    tz = config.tz
    return (now.astimezone(tz).date() - taken_in_at.astimezone(tz).date()).days
