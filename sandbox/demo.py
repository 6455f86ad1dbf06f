"""The sandbox day: the real bot against the local Bot API emulator, with a printed transcript."""

from __future__ import annotations

import asyncio
import logging
import shutil
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from bot.config import Config
from bot.services import Services
from handlers.app import build_application, with_endpoint
from handlers.polling import poll
from sandbox.dispatch_day import dispatch_chapter
from sandbox.emulator import BotApiEmulator, SentCall
from sandbox.repair_day import repair_chapter
from sandbox.visit_day import visit_chapter
from storage.db import Database

ADMIN_ID = 1
GROUP_ID = -1001


SANDBOX_MORNING = datetime(2026, 11, 27, 1, 30, tzinfo=UTC)  # 09:30 in Chengdu


class ScriptedClock:
    """The sandbox's own time: a fixed working morning, running at real speed; a story may
    step it to another moment (set) and back to the day (set(None))."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.offset = timedelta(0)

    def _running(self) -> datetime:
        return SANDBOX_MORNING + timedelta(seconds=time.monotonic() - self.started)

    def __call__(self) -> datetime:
        return self._running() + self.offset

    def set(self, moment: datetime | None) -> None:
        self.offset = timedelta(0) if moment is None else moment - self._running()


def scripted_clock() -> ScriptedClock:
    """The sandbox's own time, starting at SANDBOX_MORNING."""
    return ScriptedClock()


class Transcript:
    """Prints who said what and what the bot answered, buttons included."""

    def __init__(self, emulator: BotApiEmulator, out: TextIO = sys.stdout) -> None:
        self.emu = emulator
        self.out = out
        self.names: dict[int, str] = {}

    def person(self, user_id: int, name: str) -> None:
        self.names[user_id] = name

    def chat_name(self, chat_id: int) -> str:
        if chat_id < 0:
            return "调度群"
        return self.names.get(chat_id, str(chat_id))

    def heading(self, text: str) -> None:
        print(f"\n=== {text} ===", file=self.out)

    def user_said(self, user_id: int, chat_id: int, what: str) -> None:
        where = f" @ {self.chat_name(chat_id)}" if chat_id != user_id else ""
        print(f"[{self.names.get(user_id, user_id)}{where}] {what}", file=self.out)

    def bot_calls(self, calls: list[SentCall]) -> None:
        for call in calls:
            line = self._describe(call)
            if line:
                print(line, file=self.out)

    def _describe(self, call: SentCall) -> str | None:
        params = call.params
        chat = params.get("chat_id")
        target = (
            self.chat_name(int(chat))
            if isinstance(chat, int | str) and str(chat).lstrip("-").isdigit()
            else ""
        )
        if call.method in ("sendMessage", "editMessageText"):
            verb = "edits" if call.method == "editMessageText" else "→"
            shown = call.result.get("text") if isinstance(call.result, dict) else None
            text = str(shown or params.get("text", "")).replace("\n", "\n      ")
            return f"  bot {verb} {target}: {text}{self._buttons(params)}"
        if call.method == "answerCallbackQuery" and params.get("text"):
            return f"  bot (popup): {params['text']}"
        if call.method in ("sendDocument", "sendPhoto"):
            caption = params.get("caption", "")
            return f"  bot sends a file to {target}: {caption}"
        if call.method == "sendLocation":
            return f"  bot → {target}: 📍 {params.get('latitude')}, {params.get('longitude')}"
        return None

    @staticmethod
    def _buttons(params: dict[str, Any]) -> str:
        markup = params.get("reply_markup") or {}
        rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
        labels = [button.get("text", "") for row in rows for button in row]
        return f"\n      buttons: [{'] ['.join(labels)}]" if labels else ""


class SandboxDay:
    """Drives users through the emulator and waits for the bot to finish each step."""

    def __init__(
        self, emulator: BotApiEmulator, services: Services, transcript: Transcript
    ) -> None:
        self.emu = emulator
        self.services = services
        self.db = services.db
        self.config = services.config
        self.log = transcript
        self.finished: set[int] = set()  # update ids the bot has completely handled
        self.app: Any = None  # the running Application (a story may run its timers)

    async def settle(self, mark: int) -> list[SentCall]:
        """Wait until the bot has handled every update sent so far, then print its calls."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        newest = self.emu.last_update_id
        while newest not in self.finished and loop.time() < deadline:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        calls = self.emu.calls(after=mark)
        self.log.bot_calls(calls)
        return calls

    async def say(
        self, user_id: int, text: str, chat_id: int | None = None, **kw: Any
    ) -> list[SentCall]:
        chat = chat_id if chat_id is not None else user_id
        self.log.user_said(user_id, chat, text)
        mark = self.emu.mark()
        self.emu.send_text(user_id, text, chat_id=chat_id, **kw)
        return await self.settle(mark)

    async def press(self, user_id: int, chat_id: int, label: str) -> list[SentCall]:
        self.log.user_said(user_id, chat_id, f"(presses “{label}”)")
        mark = self.emu.mark()
        self.emu.press_button(user_id, chat_id, label)
        return await self.settle(mark)

    async def location(self, user_id: int, lat: float, lon: float, **kw: Any) -> list[SentCall]:
        """A location from a user's phone (live, with accuracy, or forwarded)."""
        kind = "live" if kw.get("live_period") else "static"
        if kw.get("forwarded_from_user_id"):
            kind = "forwarded"
        self.log.user_said(user_id, user_id, f"📍 {lat:.5f}, {lon:.5f} ({kind})")
        mark = self.emu.mark()
        self.emu.send_location(user_id, lat, lon, **kw)
        return await self.settle(mark)

    async def photo(self, user_id: int, data: bytes) -> list[SentCall]:
        self.log.user_said(user_id, user_id, "🖼 (photo of the signed paper slip)")
        mark = self.emu.mark()
        self.emu.send_photo(user_id, data)
        return await self.settle(mark)

    async def invite_code(self, by: int, role: str) -> str:
        calls = await self.say(by, f"/invite {role}")
        for call in calls:
            text = str(call.params.get("text", ""))
            if "/start " in text:
                return text.rsplit("/start ", 1)[1].strip()
        raise RuntimeError(f"no invite code for {role}")


async def play_day(day: SandboxDay, out_dir: Path) -> None:
    """The scripted working day."""
    emu, log = day.emu, day.log
    people = {
        ADMIN_ID: "站长",
        101: "李经理",
        102: "王调度",
        103: "张伟",
        104: "李娜",
        999: "陌生人",
    }
    for user_id, name in people.items():
        emu.user(user_id, name)
        log.person(user_id, name)
    emu.group(GROUP_ID, "成都服务站调度群")

    log.heading("注册 Registration")
    code = await day.invite_code(ADMIN_ID, "manager")
    await day.say(101, f"/start {code}")
    for user_id, role in ((102, "dispatcher"), (103, "technician"), (104, "technician")):
        code = await day.invite_code(101, role)
        await day.say(user_id, f"/start {code}")
    await day.say(999, "/start WRONG")
    await day.say(999, "/summary")

    log.heading("绑定调度群 Binding the dispatch group")
    await day.say(ADMIN_ID, "/bindgroup", chat_id=GROUP_ID)
    await dispatch_chapter(day, out_dir)

    log.heading("各角色的 /help")
    for user_id in (101, 102, 103):
        await day.say(user_id, "/help")
    await day.say(104, "/lang en")
    await day.say(104, "/help")
    await day.say(104, "/lang zh")

    await visit_chapter(day, out_dir)
    await repair_chapter(day, out_dir)
    await month_end(day, out_dir)


def sample_slips_csv(path: Path) -> int:
    """Write the sandbox's November slips (a mix of classes and satisfaction); returns the count."""
    rows = [
        "technician,customer,customer_class,netcafe,machine,service_type,check_in,check_out,"
        "site_lat,site_lon,slip_complete,satisfaction,revenue"
    ]
    visits = [
        (
            "张伟",
            "锦江区税务局",
            "industry",
            0,
            "network",
            "hardware",
            30.6459,
            104.0834,
            "satisfied",
            "",
        ),
        (
            "张伟",
            "蓝海网吧",
            "network",
            1,
            "network",
            "hardware",
            30.6712,
            104.1021,
            "satisfied",
            "",
        ),
        (
            "张伟",
            "王先生",
            "other",
            0,
            "single",
            "hardware",
            30.6290,
            104.0400,
            "satisfied",
            "80.00",
        ),
        ("张伟", "赵女士", "other", 0, "single", "software", 30.7001, 104.0305, "neutral", ""),
        ("张伟", "陈先生", "other", 0, "single", "hardware", 30.6100, 104.0900, "satisfied", ""),
        ("李娜", "成都七中", "quasi", 0, "network", "software", 30.6620, 104.0440, "satisfied", ""),
        (
            "李娜",
            "华西贸易公司",
            "network",
            0,
            "network",
            "hardware",
            30.5900,
            104.0700,
            "dissatisfied",
            "",
        ),
        (
            "李娜",
            "刘女士",
            "other",
            0,
            "single",
            "hardware",
            30.7200,
            104.1200,
            "satisfied",
            "150.00",
        ),
    ]
    for day, (tech, customer, cls, netcafe, machine, kind, lat, lon, sat, revenue) in enumerate(
        visits, 2
    ):
        start = f"2026-11-{day:02d}T10:00:00+08:00"
        end = f"2026-11-{day:02d}T11:10:00+08:00"
        rows.append(
            f"{tech},{customer},{cls},{netcafe},{machine},{kind},{start},{end},{lat},{lon},1,{sat},{revenue}"
        )
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return len(visits)


async def month_end(day: SandboxDay, out_dir: Path) -> None:
    """November's slips, a penalty and a reward, /me, and the manager's summary with its files."""
    from bot.services.imports import import_slips

    log = day.log
    log.heading("月底结算 Month end")
    csv_path = out_dir / "sample-slips.csv"
    count = sample_slips_csv(csv_path)
    result = await import_slips(day.db, day.config, csv_path)
    print(
        f"[system] fieldbot import-slips {csv_path.name}: {result.added} of {count} slips",
        file=log.out,
    )
    await day.say(101, "/penalty 李娜 DED-LATE 上门迟到未告知客户")
    await day.say(101, "/reward 张伟 RWD-SUGGEST 20 改进派工流程的建议")
    await day.say(103, "/me")
    calls = await day.say(101, "/summary 2026-11")
    for call in calls:
        if call.method == "sendDocument" and call.result:
            document = call.result["document"]
            (out_dir / document.get("file_name", "summary.xlsx")).write_bytes(
                day.emu.get_file_bytes(document["file_id"])
            )
        if call.method == "sendPhoto" and call.result:
            photo = call.result["photo"][-1]
            (out_dir / "summary-2026-11.png").write_bytes(day.emu.get_file_bytes(photo["file_id"]))


async def run_demo(config: Config, out_dir: Path, out: TextIO = sys.stdout) -> int:
    """Play the sandbox day and write its files to out_dir; returns the exit status."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    clock = scripted_clock()
    # Message dates follow the sandbox's time, as Telegram's follow the real one.
    async with BotApiEmulator(clock=lambda: clock().timestamp()) as emulator:
        sandbox_config = replace(
            with_endpoint(config, emulator.base_url, emulator.base_file_url, emulator.token),
            db_path=str(out_dir / "sandbox.db"),
            admins=(ADMIN_ID,),
            rate_limiter=False,
            poll_timeout_s=1,
            backup_dir="",
            monthly_summary=False,  # the scripted day asks for its summary itself
        )
        logging.getLogger("apscheduler").setLevel(logging.ERROR)
        db = await Database.open(sandbox_config.db_path)
        services = Services(config=sandbox_config, db=db, clock=clock)
        app = build_application(services)
        transcript = Transcript(emulator, out)
        print(
            f"FieldBot sandbox: {sandbox_config.station_name}, Bot API emulator on {emulator.base_url}",
            file=out,
        )
        stop = asyncio.Event()
        async with app:
            await app.start()
            day = SandboxDay(emulator, services, transcript)
            day.app = app
            task = asyncio.create_task(poll(app, db, stop, timeout=1, finished=day.finished.add))
            try:
                await play_day(day, out_dir)
            finally:
                stop.set()
                await task
                await app.stop()
        await db.close()
    print(f"\nThe day's files are in {out_dir}/", file=out)
    return 0
