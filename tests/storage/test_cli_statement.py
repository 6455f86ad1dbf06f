"""The command line: imports are all-or-nothing and idempotent; statements match the examples."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from bot.cli import main
from tests.conftest import EXAMPLES

CONFIG = str(Path(__file__).resolve().parents[2] / "config.example.toml")


def run(*args: str) -> int:
    return main(["--config", CONFIG, *args])


def counts(db: Path) -> tuple[int, int]:
    conn = sqlite3.connect(db)
    try:
        return (
            conn.execute("SELECT count(*) FROM slips").fetchone()[0],
            conn.execute("SELECT count(*) FROM events").fetchone()[0],
        )
    finally:
        conn.close()


def load_examples(db: Path) -> None:
    assert run("import-slips", str(EXAMPLES / "november-slips.csv"), "--db", str(db)) == 0
    assert run("import-events", str(EXAMPLES / "november-events.csv"), "--db", str(db)) == 0


def test_examples_give_expected_totals(tmp_path: Path, capsys) -> None:
    db = tmp_path / "x.db"
    load_examples(db)
    capsys.readouterr()
    assert run("statement", "--month", "2026-11", "--db", str(db), "--json") == 0
    result = json.loads(capsys.readouterr().out)
    expected = json.loads((EXAMPLES / "november-expected.json").read_text(encoding="utf-8"))
    assert result["month"] == expected["month"] and result["currency"] == "CNY"
    keys = expected["technicians"][0].keys()
    assert [{k: t[k] for k in keys} for t in result["technicians"]] == expected["technicians"]
    for tech in result["technicians"]:
        by_kind = {"allowance": 0, "travel": 0, "reward": 0, "deduction": 0}
        for line in tech["lines"]:
            by_kind[line["kind"]] += line["amount_fen"]
            assert line["rule"]
        assert by_kind["allowance"] == tech["allowance_fen"]
        assert by_kind["deduction"] == tech["deduction_fen"]


def test_importing_twice_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    load_examples(db)
    before = counts(db)
    load_examples(db)
    assert counts(db) == before == (20, 3)


def test_bad_row_names_file_line_column_and_writes_nothing(tmp_path: Path, capsys) -> None:
    source = (EXAMPLES / "november-slips.csv").read_text(encoding="utf-8").splitlines()
    source[5] = source[5].replace(",hardware,", ",firmware,")
    bad = tmp_path / "slips.csv"
    bad.write_text("\n".join(source) + "\n", encoding="utf-8")
    db = tmp_path / "x.db"
    assert run("import-slips", str(bad), "--db", str(db)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"{bad}:6: service_type: 'firmware' is not one of hardware, software"]
    assert counts(db) == (0, 0)


def test_same_key_with_other_values_is_an_error(tmp_path: Path, capsys) -> None:
    db = tmp_path / "x.db"
    load_examples(db)
    source = (EXAMPLES / "november-slips.csv").read_text(encoding="utf-8").splitlines()
    changed = tmp_path / "changed.csv"
    changed.write_text(
        "\n".join([source[0], source[1].replace(",satisfied,", ",neutral,")]) + "\n",
        encoding="utf-8",
    )
    assert run("import-slips", str(changed), "--db", str(db)) == 2
    assert ":2: check_in:" in capsys.readouterr().err
    assert counts(db) == (20, 3)


@pytest.mark.parametrize(
    ("row", "column"),
    [
        ("张伟,2026-11-14,DED-NOPE,,", "rule"),
        ("张伟,14/11/2026,DED-LATE,,", "date"),
        ("张伟,2026-11-14,DED-LATE,12.00,", "amount"),
        ("张伟,2026-11-14,RWD-SUGGEST,,", "amount"),
        ("*,2026-11-14,DED-LATE,,", "technician"),
    ],
)
def test_bad_event_rows(tmp_path: Path, capsys, row: str, column: str) -> None:
    bad = tmp_path / "events.csv"
    bad.write_text("technician,date,rule,amount,note\n" + row + "\n", encoding="utf-8")
    db = tmp_path / "x.db"
    assert run("import-events", str(bad), "--db", str(db)) == 2
    assert capsys.readouterr().err.startswith(f"{bad}:2: {column}: ")
    assert counts(db) == (0, 0)


def test_xlsx_written_and_backup(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    load_examples(db)
    workbook = tmp_path / "nov.xlsx"
    assert run("statement", "--month", "2026-11", "--db", str(db), "--xlsx", str(workbook)) == 0
    assert workbook.stat().st_size > 0
    copy = tmp_path / "backup.db"
    assert run("backup", str(copy), "--db", str(db)) == 0
    assert counts(copy) == (20, 3)


def test_bad_month_is_bad_input(tmp_path: Path) -> None:
    assert run("statement", "--month", "2026-13", "--db", str(tmp_path / "x.db")) == 2
