"""Every repair-desk and complaint promise across real SIGKILLs: each warning, question and breach
reaches its people once, and RMA-10DAY / RMA-20DAY are recorded once, with `python -m bot run`.

One scenario, five processes. The promises are made by the service layer (items taken in, sent
up, come back; a take-back from a ticket; a complaint), so their deadline rows are the real ones.
Time is data: instead of waiting for days, the test moves a row's moments into the past while no
bot runs, which is what the clock passing them looks like to the next process.

1. nothing is due: the bot runs and is killed (before any warning is due);
2. the warnings are due: killed right after claiming them, their notices held on the wire
   (before any breach is due);
3. the breaches and single-stage alerts are due: killed right after claiming them, the notices
   again held;
4. everything is delivered and recorded, and one more reminder falls due while it runs;
   killed once it all arrived;
5. a last run adds nothing.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.config import load_config
from bot.domain.dispatch_models import SLA_TAKEBACK, NewCustomer, NewTicket, to_iso
from bot.domain.repair_models import NewItem
from bot.domain.repairs import Step
from bot.services import Services, dispatching, repair_service, timers
from sandbox.emulator import ApiError, BotApiEmulator
from storage import tickets
from storage.db import Database
from tests.e2e.processes import ADMIN, wait_until, write_config

ROOT = Path(__file__).resolve().parents[2]
TECH, SENDER, MANAGER = 201, 202, 203
GROUP = -1001
LIVE_S = 4.0  # the last reminder falls due this long after the fourth run is started


@dataclass(frozen=True)
class Row:
    """One promise under test: its deadline row and whether it warns before its breach."""

    name: str
    kind: str
    ref_id: int
    warns: bool


@dataclass(frozen=True)
class Expect:
    """One alert: in this chat, a message with all these pieces, exactly once."""

    name: str
    chat: int
    pieces: tuple[str, ...]


def _query(db_path: Path, sql: str, args: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(db_path, timeout=5)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def _write(db_path: Path, sql: str, args: tuple = ()) -> None:
    conn = sqlite3.connect(db_path, timeout=5)
    try:
        conn.execute(sql, args)
        conn.commit()
    finally:
        conn.close()


async def _seed(config_path: Path) -> tuple[list[Row], list[Expect]]:
    """People, customers, items, a take-back and a complaint, made the way the desk makes them;
    the promises under test and the alerts each must produce."""
    config = load_config(config_path)
    db = await Database.open(config.db_path, config.busy_timeout_ms)
    services = Services(config=config, db=db)
    try:
        async with db.transaction() as conn:
            for telegram_id, name, role in (
                (TECH, "李工", "technician"),
                (SENDER, "赵工", "technician"),
                (MANAGER, "钱经理", "manager"),
            ):
                await conn.execute(
                    "INSERT INTO people (name, role, telegram_id, language, created_at) "
                    "VALUES (?, ?, ?, 'zh-CN', '2026-01-01T00:00:00+00:00')",
                    (name, role, telegram_id),
                )
            await conn.execute(  # the gate knows people by their identity on the channel
                "INSERT INTO identities (channel, external_id, person_id, linked_at) "
                "SELECT 'telegram', CAST(telegram_id AS TEXT), id, created_at FROM people"
            )
            await conn.execute(
                "INSERT INTO bound_chats (purpose, chat_id, bound_by, bound_at) "
                "VALUES ('dispatch', ?, 0, '2026-01-01T00:00:00+00:00')",
                (GROUP,),
            )
            ids = await conn.execute_fetchall("SELECT telegram_id, id FROM people")
        person = {telegram_id: person_id for telegram_id, person_id in ids}
        tech, sender = person[TECH], person[SENDER]
        home = await dispatching.create_customer(services, NewCustomer("王先生", "other"))
        firm = await dispatching.create_customer(services, NewCustomer("蓝海公司", "industry"))
        local = await dispatching.create_customer(
            services, NewCustomer("本地代理", "agent", "local")
        )
        county = await dispatching.create_customer(
            services, NewCustomer("县公司", "agent", "county")
        )

        async def take_in(customer: int, product: str) -> int:
            new = NewItem(customer_id=customer, product=product, fault="无法开机", packaging="none")
            return (await repair_service.register_item(services, new, by=tech)).id

        async def send_up(item: int) -> None:
            step = Step(shipment="顺丰 SF1001", accessories_sent=())
            await repair_service.move_item(services, item, "send_up", "technician", sender, step)

        async def come_back(item: int) -> None:
            step = Step(outcome="repaired")
            await repair_service.move_item(services, item, "come_back", "technician", tech, step)

        takeback = await take_in(home, "甲机")  # SLA-TAKEBACK of an item brought in
        explain = await take_in(home, "乙机")  # RMA-10DAY: the question, then the event
        report = await take_in(home, "丙机")  # RMA-20DAY: the event
        spare = await take_in(firm, "丁机")  # SLA-SPARE (industry)
        sent = await take_in(home, "戊机")  # RMA-SEND
        await send_up(sent)
        live = await take_in(home, "壬机")  # RMA-SEND falling due while a bot runs
        await send_up(live)
        agent = await take_in(local, "己机")  # RMA-AGENT
        back = await take_in(home, "庚机")  # RMA-BACK, a local customer: deliver today
        await send_up(back)
        await come_back(back)
        county_back = await take_in(county, "辛机")  # RMA-BACK, a county company: tell today
        await send_up(county_back)
        await come_back(county_back)

        # A machine taken back from a visit: the ticket's SLA-TAKEBACK row is the item's too.
        ticket = await dispatching.open_ticket(
            services, NewTicket(firm, "主板故障", True, True, False, False), created_by=None
        )
        async with db.transaction() as conn:
            await conn.execute(
                "UPDATE tickets SET state = 'taken_back', assigned_to = ? WHERE id = ?",
                (tech, ticket),
            )
            due = services.now() + timedelta(hours=config.sla.takeback_hours)
            await timers.create_deadline(services, conn, SLA_TAKEBACK, ticket, due)
            view = await tickets.ticket_for_visit(conn, ticket)
            assert view is not None
            await repair_service.register_taken_back(services, conn, view, tech)

        complaint = await repair_service.register_complaint(
            services, firm, "上门太慢", "delay", tech, by=person[MANAGER]
        )
    finally:
        await db.close()

    rows = [
        Row("item SLA-TAKEBACK", "repair:SLA-TAKEBACK", takeback, warns=True),
        Row("ticket SLA-TAKEBACK", SLA_TAKEBACK, ticket, warns=True),
        Row("RMA-10DAY", "repair:RMA-10DAY", explain, warns=True),
        Row("RMA-20DAY", "repair:RMA-20DAY", report, warns=False),
        Row("SLA-SPARE", "repair:SLA-SPARE", spare, warns=False),
        Row("RMA-SEND", "repair:RMA-SEND", sent, warns=False),
        Row("RMA-AGENT", "repair:RMA-AGENT", agent, warns=False),
        Row("RMA-BACK local", "repair:RMA-BACK", back, warns=False),
        Row("RMA-BACK county", "repair:RMA-BACK", county_back, warns=False),
        Row("CMP-ACK", "CMP-ACK", complaint, warns=True),
        Row("CMP-VERIFY", "CMP-VERIFY", complaint, warns=True),
        Row("RMA-SEND live", "repair:RMA-SEND", live, warns=False),
    ]

    def item(number: int) -> str:
        return f"返修 #{number}（"

    expects = [
        Expect("item SLA-TAKEBACK warning", TECH, ("提醒：" + item(takeback), "SLA-TAKEBACK")),
        Expect("item SLA-TAKEBACK breach", TECH, ("超时：" + item(takeback), "SLA-TAKEBACK")),
        Expect("item SLA-TAKEBACK breach", GROUP, ("超时：" + item(takeback), "SLA-TAKEBACK")),
        Expect("ticket SLA-TAKEBACK warning", GROUP, (f"提醒：工单 #{ticket}（", "SLA-TAKEBACK")),
        Expect("ticket SLA-TAKEBACK breach", GROUP, (f"超时：工单 #{ticket}（", "SLA-TAKEBACK")),
        Expect("RMA-10DAY question", TECH, (item(explain), "请填写原因")),
        Expect("RMA-10DAY recorded", GROUP, (item(explain), "已对 李工 记录 RMA-10DAY")),
        Expect("RMA-20DAY recorded", GROUP, (item(report), "已对 李工 记录 RMA-20DAY")),
        Expect("RMA-10DAY deduction", TECH, ("扣款", "RMA-10DAY", "乙机")),  # REC-WHO
        Expect("RMA-20DAY deduction", TECH, ("扣款", "RMA-20DAY", "丙机")),
        Expect("SLA-SPARE question", TECH, (item(spare), "SLA-SPARE")),
        Expect("RMA-SEND reminder", SENDER, (item(sent), "确认收货")),
        Expect("RMA-SEND reminder, live", SENDER, (item(live), "确认收货")),
        Expect("RMA-AGENT question", TECH, (item(agent), "RMA-AGENT")),
        Expect("RMA-BACK deliver", TECH, (item(back), "送还客户")),
        Expect("RMA-BACK tell the county", TECH, (item(county_back), "通知县级公司")),
    ]
    for chat in (MANAGER, ADMIN):
        for what in ("受理时限", "核实时限"):
            expects += [
                Expect(f"{what} warning", chat, (f"提醒：投诉 #{complaint}（", what)),
                Expect(f"{what} breach", chat, (f"超时：投诉 #{complaint}（", what)),
            ]
    return rows, expects


class Hold:
    """Holds every sendMessage until released, then refuses it: nothing sent while held arrives
    (the process that asked is killed meanwhile), so a notice can only come from a later run."""

    def __init__(self, emu: BotApiEmulator) -> None:
        self.emu = emu
        self.original = emu._methods["sendmessage"]
        self.gate: asyncio.Event | None = None

    def on(self) -> None:
        gate = self.gate = asyncio.Event()

        async def held(params, files):  # noqa: ANN001, ANN202
            await gate.wait()
            raise ApiError(502, "Bad Gateway")

        self.emu._methods["sendmessage"] = ("sendMessage", held)

    async def off(self) -> None:
        if self.gate is not None:
            self.gate.set()
            await asyncio.sleep(0.2)  # the held requests are answered (to a dead process)
        self.emu._methods["sendmessage"] = self.original


def _move(db_path: Path, rows: list[Row], column: str, when: datetime) -> None:
    """The clock passed these rows' moment (`warn_at` or `due_at`)."""
    for row in rows:
        _write(
            db_path,
            f"UPDATE deadlines SET {column} = ? WHERE kind = ? AND ref_id = ?",
            (to_iso(when), row.kind, row.ref_id),
        )


def _claims(db_path: Path, rows: list[Row]) -> list[tuple[str, str, bool]]:
    """(name, state, warned) of each row."""
    found = []
    for row in rows:
        got = _query(
            db_path,
            "SELECT state, warned_at IS NOT NULL FROM deadlines WHERE kind = ? AND ref_id = ?",
            (row.kind, row.ref_id),
        )
        assert got, row.name
        found.append((row.name, got[0][0], bool(got[0][1])))
    return found


def _tally(emu: BotApiEmulator, expects: list[Expect]) -> dict[tuple[str, int], int]:
    """How often each expected alert arrived."""
    counts = {}
    for expect in expects:
        texts = [m.get("text") or "" for m in emu.messages_to(expect.chat)]
        counts[(expect.name, expect.chat)] = sum(
            all(piece in text for piece in expect.pieces) for text in texts
        )
    return counts


def _polling(calls: list) -> bool:
    """This process polls: a getUpdates after its getMe (a killed process's long poll may still
    be answered after the next one started)."""
    methods = [call.method for call in calls]
    return "getMe" in methods and "getUpdates" in methods[methods.index("getMe") :]


def _events(db_path: Path) -> list[tuple]:
    return _query(db_path, "SELECT rule, note FROM events ORDER BY id")


async def test_every_repair_and_complaint_timer_alerts_once_across_sigkills(
    tmp_path: Path,
) -> None:
    async with BotApiEmulator() as emu:
        for user, name in (
            (TECH, "李工"),
            (SENDER, "赵工"),
            (MANAGER, "钱经理"),
            (ADMIN, "管理员"),
        ):
            emu.user(user, name)
        emu.group(GROUP, "调度群")
        config = write_config(
            tmp_path, emu.base_url, emu.base_file_url, "[reports]", "monthly_summary = false"
        )
        db_path = tmp_path / "bot.db"
        every, expects = await _seed(config)
        live = every[-1:]  # falls due while the fourth run is up (its own timer, not start-up)
        rows = every[:-1]
        two_stage = [row for row in rows if row.warns]
        command = [sys.executable, "-m", "bot", "--config", str(config), "run"]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        hold = Hold(emu)

        async def run(until: Callable[[], bool], then: signal.Signals, linger: float = 0) -> None:
            """Start the bot, wait until it polls and `until` holds (and `linger` seconds), then
            send it `then`."""
            seen = len(emu.sent)
            process = subprocess.Popen(command, cwd=tmp_path, env=env, stderr=subprocess.DEVNULL)
            try:
                await wait_until(lambda: _polling(emu.sent[seen:]))
                await wait_until(until)
                await asyncio.sleep(linger)
                process.send_signal(then)
                process.wait(timeout=10)
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait(timeout=10)

        def claimed(phase: str) -> Callable[[], bool]:
            def check() -> bool:
                states = _claims(db_path, rows)
                if phase == "warned":
                    return all(warned for name, _, warned in states if name in warners)
                return all(state == "fired" for _, state, _ in states)

            return check

        warners = {row.name for row in two_stage}
        nothing = dict.fromkeys(_tally(emu, expects), 0)

        # 1. Nothing due yet: the bot comes up, arms its timer and is killed.
        await run(lambda: True, signal.SIGKILL, linger=0.3)
        assert all(state == "pending" and not warned for _, state, warned in _claims(db_path, rows))

        # 2. The warnings fall due while no bot runs; the next one claims them and is killed at
        # once, every notice still held on the wire.
        _move(db_path, two_stage, "warn_at", datetime.now(UTC) - timedelta(seconds=1))
        hold.on()
        await run(claimed("warned"), signal.SIGKILL)
        await hold.off()
        assert all(state == "pending" for _, state, _ in _claims(db_path, rows))
        assert _tally(emu, expects) == nothing

        # 3. Every breach and single-stage alert falls due; claimed, killed at once, held again.
        _move(db_path, rows, "due_at", datetime.now(UTC) - timedelta(seconds=1))
        hold.on()
        await run(claimed("fired"), signal.SIGKILL)
        await hold.off()
        assert _tally(emu, expects) == nothing

        # 4. Everything arrives, and one more reminder falls due a little after the start (from
        # the timer the run arms, unless the machine is slow to start it); killed once all came.
        _move(db_path, live, "due_at", datetime.now(UTC) + timedelta(seconds=LIVE_S))

        def all_arrived() -> bool:
            unsent = _query(db_path, "SELECT count(*) FROM outbox WHERE state != 'sent'")
            return (
                all(count >= 1 for count in _tally(emu, expects).values())
                and unsent == [(0,)]
                and len(_events(db_path)) >= 2
            )

        await run(all_arrived, signal.SIGKILL)

        # 5. A last run sends and records nothing more.
        seen = len(emu.sent)
        await run(lambda: True, signal.SIGTERM, linger=1.5)  # a double would arrive by then

        once = dict.fromkeys(_tally(emu, expects), 1)
        assert _tally(emu, expects) == once
        recorded = sorted((rule, note.split()[-1]) for rule, note in _events(db_path))
        assert recorded == [("RMA-10DAY", "乙机"), ("RMA-20DAY", "丙机")]  # once, on their items
        assert all(state == "fired" for _, state, _ in _claims(db_path, every))
        assert all(warned for name, _, warned in _claims(db_path, rows) if name in warners)
        assert not [c for c in emu.sent[seen:] if c.method == "sendMessage"]
