"""The `fieldbot` command line (also `python -m bot`)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from bot.config import Config, ConfigError, load_config

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fieldbot", description="FieldBot service-station bot")
    parser.add_argument("--config", default=None, help="config file (default ./config.toml)")
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        cmd = sub.add_parser(name, help=help_text)
        cmd.add_argument("--config", default=argparse.SUPPRESS, help="config file")
        return cmd

    command("run", "serve Telegram (the sandbox day when no token is set)")
    demo = command("demo", "play the sandbox day against the local Bot API emulator")
    demo.add_argument("--out", default="sandbox-out", help="folder for the day's files")
    for name, what in (
        ("import-slips", "service slips"),
        ("import-events", "penalties and rewards"),
    ):
        cmd = command(name, f"load historical {what} from CSV (all-or-nothing)")
        cmd.add_argument("file")
        cmd.add_argument("--db", default=None)
    customers = command("import-customers", "load customers and machines from CSV (all-or-nothing)")
    customers.add_argument("file")
    customers.add_argument("--db", default=None)
    statement = command("statement", "the month's statements for every technician")
    statement.add_argument("--month", required=True, help="YYYY-MM")
    statement.add_argument("--db", default=None)
    statement.add_argument("--json", action="store_true", help="print the JSON of CONTRACTS.md")
    statement.add_argument("--xlsx", default=None, help="also write the Excel workbook here")
    close = command("close-month", "close a month: snapshot its statements, print the sha256")
    close.add_argument("--month", required=True, help="YYYY-MM")
    close.add_argument("--db", default=None)
    void = command("void-event", "void a recorded event (ADJ-CLOSED when its month is closed)")
    void.add_argument("id", help="the event's number")
    void.add_argument("--reason", required=True)
    void.add_argument("--db", default=None)
    backup = command("backup", "a consistent copy of the live database")
    backup.add_argument("path")
    backup.add_argument("--db", default=None)
    export = command("export-person", "everything held about a technician or customer, as JSON")
    export.add_argument("name")
    export.add_argument("--db", default=None)
    export.add_argument("--out", default=None, help="write the JSON here (default: print it)")
    forget = command("forget-customer", "erase a customer's personal fields (slips stay)")
    forget.add_argument("name")
    forget.add_argument("--db", default=None)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    args = _parser().parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    if getattr(args, "db", None):
        config = replace(config, db_path=args.db)
    try:
        with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
            return runner.run(_dispatch(args, config))
    except KeyboardInterrupt:
        return EXIT_OK


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop where it is installed (not on Windows), else asyncio's own (None).

    The bot spends much of each update in the loop's machinery (sockets, callbacks from the
    database threads); uvloop does that work in C.
    """
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


async def _dispatch(args: argparse.Namespace, config: Config) -> int:
    command = args.command
    if command == "run":
        return await _run(config)
    if command == "demo":
        from sandbox.demo import run_demo

        return await run_demo(config, Path(args.out))
    if command in ("import-slips", "import-events", "import-customers"):
        return await _import(command, args.file, config)
    if command == "statement":
        return await _statement(args, config)
    if command == "close-month":
        return await _close_month(args.month, config)
    if command == "void-event":
        return await _void_event(args.id, args.reason, config)
    if command == "backup":
        return await _backup(args.path, config)
    if command in ("export-person", "forget-customer"):
        return await _privacy(args, config)
    return EXIT_BAD_INPUT


async def _run(config: Config) -> int:
    from handlers.app import open_services, serve, setup_logging

    if not config.token:
        print("No bot token (FIELDBOT_TOKEN or telegram.token): running the sandbox day instead.")
        from sandbox.demo import run_demo

        return await run_demo(config, Path("sandbox-out"))
    setup_logging(config.token)
    services = await open_services(config)
    try:
        await serve(services)
    finally:
        await services.db.close()
    return EXIT_OK


async def _import(command: str, file: str, config: Config) -> int:
    from bot.services import imports
    from storage.db import Database

    db = await Database.open(config.db_path, config.busy_timeout_ms)
    try:
        from bot.services.customer_import import import_customers

        loader = {
            "import-slips": imports.import_slips,
            "import-events": imports.import_events,
            "import-customers": import_customers,
        }[command]
        result = await loader(db, config, file)
    except imports.ImportError_ as exc:
        for line in exc.errors:
            print(line, file=sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        await db.close()
    print(f"{file}: {result.added} added, {result.unchanged} already present")
    for month, rows in sorted(result.adjusted.items()):
        into = result.carried_into.get(month, "")
        print(
            f"{file}: {rows} of the added rows fall in closed month {month}: "
            f"adjustments of {month}, carried into {into}"
        )
    return EXIT_OK


async def _close_month(text: str, config: Config) -> int:
    from datetime import UTC, datetime

    from bot.services import statements
    from storage.db import Database

    month = statements.parse_month(text)
    if month is None:
        print(f"--month: {text!r} is not a month like 2026-11", file=sys.stderr)
        return EXIT_BAD_INPUT
    if month >= statements.month_of(datetime.now(UTC), config.tz):
        print(f"--month: {month} has not ended yet and cannot be closed", file=sys.stderr)
        return EXIT_BAD_INPUT
    db = await Database.open(config.db_path, config.busy_timeout_ms)
    try:
        closing = await statements.close_month(db, config, month, None)
    finally:
        await db.close()
    if closing.already:
        print(f"{month} was already closed; nothing changed. sha256 {closing.sha256}")
    else:
        print(f"{month} closed. sha256 {closing.sha256}")
    return EXIT_OK


async def _void_event(text: str, reason: str, config: Config) -> int:
    from bot.domain.parsing import parse_id
    from bot.services import recorded_events
    from storage.db import Database

    number = parse_id(text)
    if number is None:
        print(f"ID: {text!r} is not an event number", file=sys.stderr)
        return EXIT_BAD_INPUT
    if not reason.strip():
        print("--reason: is empty", file=sys.stderr)
        return EXIT_BAD_INPUT
    db = await Database.open(config.db_path, config.busy_timeout_ms)
    try:
        voided = await recorded_events.void_event(db, config, number, reason.strip(), None)
    except recorded_events.EventError as exc:
        problem = {
            recorded_events.EventProblem.NOT_FOUND: "no such event",
            recorded_events.EventProblem.ALREADY_VOID: "already void",
        }.get(exc.problem, exc.problem.value)
        print(f"ID: event {number}: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        await db.close()
    print(f"event {number} voided")
    if voided.adjustment_of is not None:
        print(
            f"{voided.adjustment_of} is closed: the difference is carried into "
            f"{voided.carried_into} as adjustments of {voided.adjustment_of}"
        )
    return EXIT_OK


async def _statement(args: argparse.Namespace, config: Config) -> int:
    from bot.services import statements
    from storage.db import Database

    month = statements.parse_month(args.month)
    if month is None:
        print(f"--month: {args.month!r} is not a month like 2026-11", file=sys.stderr)
        return EXIT_BAD_INPUT
    db = await Database.open(config.db_path, config.busy_timeout_ms)
    try:
        statement = await statements.compute(db, config, month)
        metrics = await statements.metrics(db, config, month) if args.xlsx else {}
    finally:
        await db.close()
    if args.json:
        print(statements.statement_json(statement, config.language))
    else:
        from bot.services.reports import format_summary_text

        print(format_summary_text(statement, metrics, config.language))
    if args.xlsx:
        from bot.services.reports import write_workbook

        write_workbook(statement, metrics, Path(args.xlsx), config.language)
    return EXIT_OK


async def _backup(path: str, config: Config) -> int:
    from storage.db import Database

    if not Path(config.db_path).exists():
        print(f"{config.db_path}: no such database", file=sys.stderr)
        return EXIT_BAD_INPUT
    db = await Database.open(config.db_path, config.busy_timeout_ms)
    try:
        await db.backup(path)
    finally:
        await db.close()
    print(f"backed up {config.db_path} to {path}")
    return EXIT_OK


async def _privacy(args: argparse.Namespace, config: Config) -> int:
    """export-person NAME / forget-customer NAME, each written to the audit log."""
    import json
    from datetime import UTC, datetime

    from storage import audit, privacy
    from storage.db import Database

    if not Path(config.db_path).exists():
        print(f"{config.db_path}: no such database", file=sys.stderr)
        return EXIT_BAD_INPUT
    db = await Database.open(config.db_path, config.busy_timeout_ms)
    now = datetime.now(UTC)
    try:
        async with db.transaction() as conn:
            if args.command == "export-person":
                data = await privacy.export_person(conn, args.name)
                found = data is not None
                detail = args.name
            else:
                ids = await privacy.forget_customer(conn, args.name, now)
                found = bool(ids)
                detail = ", ".join(f"#{i}" for i in ids)
            if found:
                await audit.record(
                    conn, "cli", args.command, detail, now.isoformat(timespec="seconds")
                )
    finally:
        await db.close()
    if not found:
        print(f"{args.name}: nobody of that name", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.command == "forget-customer":
        print(f"{args.name}: personal fields erased (customer {detail}); slips and statements kept")
        return EXIT_OK
    text = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
        print(f"{args.name}: written to {args.out}")
    else:
        print(text)
    return EXIT_OK


def entry() -> None:
    logging.basicConfig(level=logging.WARNING)
    sys.exit(main())
