"""ADJ-CLOSED through the command line: close-month, void-event, and imports into closed months."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from bot.cli import main

CONFIG = str(Path(__file__).resolve().parents[2] / "config.example.toml")
SLIP_HEADER = (
    "technician,customer,customer_class,netcafe,machine,service_type,check_in,check_out,"
    "site_lat,site_lon,slip_complete,satisfaction,revenue"
)
EVENT_HEADER = "technician,date,rule,amount,note,slip_customer,slip_check_in"
MARCH, APRIL = "2025-03", "2025-04"


def run(*args: str) -> int:
    return main(["--config", CONFIG, *args])


def slip_row(tech: str, customer: str, day: str, hour: int = 9, lat: float = 30.70) -> str:
    check_in = f"{day}T{hour:02d}:00:00+08:00"
    check_out = f"{day}T{hour + 1:02d}:00:00+08:00"
    return f"{tech},{customer},other,0,network,hardware,{check_in},{check_out},{lat},104.07,1,satisfied,"


def write(path: Path, header: str, *rows: str) -> str:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return str(path)


def statement(db: Path, month: str, capsys) -> dict:
    capsys.readouterr()
    assert run("statement", "--month", month, "--db", str(db), "--json") == 0
    return json.loads(capsys.readouterr().out)


def person(data: dict, name: str) -> dict:
    return next(t for t in data["technicians"] if t["technician"] == name)


def count(db: Path, sql: str) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


@pytest.fixture
def march(tmp_path: Path, capsys) -> Path:
    """张伟 with two paid March slips and 李娜 with one; March closed."""
    db = tmp_path / "x.db"
    slips = write(
        tmp_path / "slips.csv",
        SLIP_HEADER,
        slip_row("张伟", "甲公司", "2025-03-03"),
        slip_row("张伟", "乙公司", "2025-03-04", lat=30.80),
        slip_row("李娜", "丙公司", "2025-03-05"),
    )
    assert run("import-slips", slips, "--db", str(db)) == 0
    capsys.readouterr()
    assert run("close-month", "--month", MARCH, "--db", str(db)) == 0
    out = capsys.readouterr().out
    assert re.search(r"\b[0-9a-f]{64}\b", out)
    return db


def closed_snapshot(db: Path) -> tuple[str, str]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(
            "SELECT snapshot, sha256 FROM closed_months WHERE month = ?", (MARCH,)
        ).fetchone()
    finally:
        conn.close()


def test_close_month_prints_the_hash_and_closing_again_changes_nothing(march: Path, capsys) -> None:
    before = closed_snapshot(march)
    assert run("close-month", "--month", MARCH, "--db", str(march)) == 0
    out = capsys.readouterr().out
    assert "already closed" in out and before[1] in out
    assert closed_snapshot(march) == before
    assert run("close-month", "--month", "2025-13", "--db", str(march)) == 2
    assert run("close-month", "--month", "2099-12", "--db", str(march)) == 2
    assert "has not ended" in capsys.readouterr().err


def test_false_slip_after_the_close_claws_back_the_allowance_and_the_travel(
    march: Path, tmp_path: Path, capsys
) -> None:
    closed = statement(march, MARCH, capsys)
    zhang = person(closed, "张伟")
    travel_1 = next(
        ln["amount_fen"]
        for ln in zhang["lines"]
        if ln["rule"] == "TRV-HOW" and ln["ref"] == "slip 1"
    )
    assert zhang["allowance_fen"] == 400 and travel_1 > 0
    # Imported with an April date: SLIP-EVENT-MONTH puts it in the slip's month, March.
    events = write(
        tmp_path / "events.csv",
        EVENT_HEADER,
        "张伟,2025-04-02,ALW-FORFEIT-FALSE,,伪造,甲公司,2025-03-03T09:00:00+08:00",
    )
    capsys.readouterr()
    assert run("import-events", events, "--db", str(march)) == 0
    out = capsys.readouterr().out
    assert "1 added" in out and f"1 of the added rows fall in closed month {MARCH}" in out
    assert f"carried into {APRIL}" in out
    assert statement(march, MARCH, capsys) == closed  # the snapshot stands
    april = person(statement(march, APRIL, capsys), "张伟")
    assert april["allowance_fen"] == -400  # the whole month's allowance
    assert april["travel_fen"] == -travel_1  # the false slip's travel only
    assert april["deduction_fen"] == 20000
    assert all(ln["adjusts"] == MARCH for ln in april["lines"])
    assert {(ln["rule"], ln["ref"]) for ln in april["lines"]} == {
        ("ALW-RATE", "slip 1"),
        ("ALW-RATE", "slip 2"),
        ("TRV-HOW", "slip 1"),
        ("ALW-FORFEIT-FALSE", "event 1"),
    }
    # Re-importing the same file changes nothing.
    rows = count(march, "SELECT count(*) FROM adjustments")
    assert run("import-events", events, "--db", str(march)) == 0
    assert "0 added, 1 already present" in capsys.readouterr().out
    assert count(march, "SELECT count(*) FROM adjustments") == rows


@pytest.mark.parametrize("rule", ["DED-PRIVATE", "ALW-FORFEIT-UNREPORTED"])
def test_forfeit_after_the_close_claws_back_the_month(
    march: Path, tmp_path: Path, capsys, rule: str
) -> None:
    events = write(tmp_path / "e.csv", EVENT_HEADER, f"张伟,2025-03-20,{rule},,,,")
    assert run("import-events", events, "--db", str(march)) == 0
    april = person(statement(march, APRIL, capsys), "张伟")
    assert april["allowance_fen"] == -400 and april["travel_fen"] == 0
    assert april["deduction_fen"] == 10000
    assert "李娜" not in {t["technician"] for t in statement(march, APRIL, capsys)["technicians"]}


def test_beyond_authority_after_the_close_unsettles_the_slip(
    march: Path, tmp_path: Path, capsys
) -> None:
    events = write(
        tmp_path / "e.csv",
        EVENT_HEADER,
        "张伟,2025-04-01,ALW-BEYOND,5.00,擅自换主板,乙公司,2025-03-04T09:00:00+08:00",
    )
    assert run("import-events", events, "--db", str(march)) == 0
    april = person(statement(march, APRIL, capsys), "张伟")
    assert [(ln["rule"], ln["ref"], ln["amount_fen"]) for ln in april["lines"]] == [
        ("ALW-BEYOND", "event 1", 500),
        ("ALW-RATE", "slip 2", -200),
    ]


def test_slips_imported_into_a_closed_month_are_carried(
    march: Path, tmp_path: Path, capsys
) -> None:
    slips = write(tmp_path / "late.csv", SLIP_HEADER, slip_row("李娜", "丁公司", "2025-03-28"))
    capsys.readouterr()
    assert run("import-slips", slips, "--db", str(march)) == 0
    out = capsys.readouterr().out
    assert "1 added" in out and f"closed month {MARCH}" in out
    li = person(statement(march, APRIL, capsys), "李娜")
    assert li["allowance_fen"] == 200 and li["travel_fen"] > 0
    assert {ln["ref"] for ln in li["lines"]} == {"slip 4"}


def test_void_event_of_a_closed_month_pays_it_back_and_a_second_change_carries_only_the_new(
    tmp_path: Path, capsys
) -> None:
    db = tmp_path / "x.db"
    events = write(
        tmp_path / "e.csv",
        EVENT_HEADER,
        "张伟,2025-03-10,DED-COMPLAINT,,,,",
        "张伟,2025-03-11,DED-LATE,,,,",
    )
    assert run("import-events", events, "--db", str(db)) == 0
    assert run("close-month", "--month", MARCH, "--db", str(db)) == 0
    capsys.readouterr()
    assert run("void-event", "1", "--reason", "客户认错人", "--db", str(db)) == 0
    out = capsys.readouterr().out
    assert "event 1 voided" in out and f"carried into {APRIL}" in out
    april = person(statement(db, APRIL, capsys), "张伟")
    assert [(ln["rule"], ln["amount_fen"], ln["kind"]) for ln in april["lines"]] == [
        ("DED-COMPLAINT", -5000, "deduction")
    ]
    assert april["deduction_fen"] == -5000 and april["net_fen"] == 5000
    assert run("void-event", "2", "--reason", "重复", "--db", str(db)) == 0
    april = person(statement(db, APRIL, capsys), "张伟")
    assert [(ln["rule"], ln["amount_fen"]) for ln in april["lines"]] == [
        ("DED-COMPLAINT", -5000),
        ("DED-LATE", -1000),
    ]
    assert count(db, "SELECT count(*) FROM adjustments") == 2
    # April closes; a later change to March goes to May and accounts for what April carried.
    assert run("close-month", "--month", APRIL, "--db", str(db)) == 0
    late = write(tmp_path / "late.csv", EVENT_HEADER, "张伟,2025-03-12,DED-CONDUCT,,,,")
    assert run("import-events", late, "--db", str(db)) == 0
    may = person(statement(db, "2025-05", capsys), "张伟")
    assert [(ln["rule"], ln["amount_fen"], ln["adjusts"]) for ln in may["lines"]] == [
        ("DED-CONDUCT", 1000, MARCH)
    ]


def test_void_event_bad_input(tmp_path: Path, capsys) -> None:
    db = tmp_path / "x.db"
    assert run("void-event", "7", "--reason", "x", "--db", str(db)) == 2
    assert "no such event" in capsys.readouterr().err
    assert run("void-event", "abc", "--reason", "x", "--db", str(db)) == 2
    assert run("void-event", "7", "--reason", " ", "--db", str(db)) == 2
    events = write(tmp_path / "e.csv", EVENT_HEADER, "张伟,2025-03-10,DED-LATE,,,,")
    assert run("import-events", events, "--db", str(db)) == 0
    assert run("void-event", "1", "--reason", "重复", "--db", str(db)) == 0
    assert run("void-event", "1", "--reason", "重复", "--db", str(db)) == 2
    assert "already void" in capsys.readouterr().err


def test_slip_event_with_another_months_date_belongs_to_the_slips_month(
    tmp_path: Path, capsys
) -> None:
    db = tmp_path / "x.db"
    slips = write(tmp_path / "s.csv", SLIP_HEADER, slip_row("张伟", "甲公司", "2025-05-30"))
    assert run("import-slips", slips, "--db", str(db)) == 0
    events = write(
        tmp_path / "e.csv",
        EVENT_HEADER,
        "张伟,2025-06-03,ALW-FORFEIT-FALSE,,,甲公司,2025-05-30T09:00:00+08:00",
    )
    assert run("import-events", events, "--db", str(db)) == 0
    may = person(statement(db, "2025-05", capsys), "张伟")
    assert (may["allowance_fen"], may["travel_fen"], may["deduction_fen"]) == (0, 0, 20000)
    assert statement(db, "2025-06", capsys)["technicians"] == []


def test_all_staff_loss_needs_staff_and_is_shared_as_recorded(tmp_path: Path, capsys) -> None:
    db = tmp_path / "x.db"
    lost = write(tmp_path / "lost.csv", EVENT_HEADER, "*,2025-03-10,RMA-LOST,10.01,丢失硬盘,,")
    assert run("import-events", lost, "--db", str(db)) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{lost}:2: technician: ") and "no technician" in err
    assert count(db, "SELECT count(*) FROM events") == 0
    assert statement(db, MARCH, capsys)["technicians"] == []
    slips = write(
        tmp_path / "s.csv",
        SLIP_HEADER,
        slip_row("王强", "甲公司", "2025-03-03"),
        slip_row("张伟", "乙公司", "2025-03-03"),
        slip_row("刘洋", "丙公司", "2025-03-03"),
    )
    assert run("import-slips", slips, "--db", str(db)) == 0
    assert run("import-events", lost, "--db", str(db)) == 0
    shares = {
        t["technician"]: t["deduction_fen"] for t in statement(db, MARCH, capsys)["technicians"]
    }
    assert shares == {"刘洋": 334, "王强": 334, "张伟": 333}  # pinyin: liu, wang, zhang
    # A later hire changes nothing: the shares were fixed when the event was recorded.
    more = write(tmp_path / "s2.csv", SLIP_HEADER, slip_row("艾米", "丁公司", "2025-04-03"))
    assert run("import-slips", more, "--db", str(db)) == 0
    again = {
        t["technician"]: t["deduction_fen"] for t in statement(db, MARCH, capsys)["technicians"]
    }
    assert again == shares


def test_statement_of_an_unshared_all_staff_loss_with_no_staff_does_not_crash(
    tmp_path: Path, capsys
) -> None:
    """An all-staff event written before shares were kept, with nobody on record."""
    db = tmp_path / "x.db"
    assert run("statement", "--month", MARCH, "--db", str(db)) == 0
    conn = sqlite3.connect(db)
    conn.execute(
        "INSERT INTO events (technician_id, rule, day, amount_fen, note, recorded_at)"
        " VALUES (NULL, 'RMA-LOST', '2025-03-10', 9000, '', '2025-03-10T00:00:00+00:00')"
    )
    conn.commit()
    conn.close()
    data = statement(db, MARCH, capsys)
    assert [(t["technician"], t["deduction_fen"]) for t in data["technicians"]] == [("*", 9000)]
