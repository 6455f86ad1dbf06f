"""Config validation: every bad value names the file and key, and the CLI exits 2."""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction

import pytest

from bot.config import ConfigError, load_config, parse_config, yuan_to_fen
from tests.conftest import example_data


def test_example_config_loads_with_handbook_defaults() -> None:
    config = parse_config(example_data(), env={})
    assert config.rules.allowance.rate_netcafe_fen == 300
    assert config.rules.allowance.cap_home_share == Fraction(1, 2)
    assert config.rules.travel.road_factor == Fraction(13, 10)
    assert config.rules.deductions.false_slip_fen == 20000
    assert config.timezone == "Asia/Shanghai"
    assert config.language == "zh-CN"


def test_token_from_environment_wins() -> None:
    config = parse_config(example_data(), env={"FIELDBOT_TOKEN": "42:abc"})
    assert config.token == "42:abc"


@pytest.mark.parametrize(
    ("section", "key", "value", "reason"),
    [
        ("allowance", "rate_single", "two", "amount"),
        ("allowance", "rate_single", 2.001, "two decimals"),
        ("allowance", "cap_home_share", 1.5, "between 0 and 1"),
        ("deductions", "late", -10, "negative"),
        ("station", "timezone", "Mars/Base", "unknown time zone"),
        ("station", "location", [200, 0], "latitude"),
        ("station", "language", "fr", "one of"),
        ("travel", "mode", "bus", "one of"),
        ("geofence", "radius_m", 0, "greater than 0"),
        ("telegram", "admins", ["x"], "user ids"),
        ("sla", "workday_start", "8h30", "time like"),
    ],
)
def test_bad_value_names_key(section: str, key: str, value: object, reason: str) -> None:
    data = example_data()
    data[section][key] = value
    with pytest.raises(ConfigError) as info:
        parse_config(data, env={})
    assert str(info.value).startswith(f"config.toml: {section}.{key}: ")
    assert reason in str(info.value)


def test_yuan_to_fen_is_exact() -> None:
    assert yuan_to_fen("24.96") == 2496
    assert yuan_to_fen(0.1) == 10
    assert yuan_to_fen(3) == 300
    with pytest.raises(ValueError):
        yuan_to_fen("1.234")


def test_missing_config_file_falls_back_to_example(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_config(None).station_name == "成都服务站"


def test_cli_bad_config_prints_one_line_and_exits_2(tmp_path) -> None:
    bad = tmp_path / "config.toml"
    bad.write_text('[sla]\nrespond_hours = "soon"\n', encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(bad), "statement", "--month", "2026-11"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == "config.toml: sla.respond_hours: must be a number"


@pytest.mark.parametrize(
    ("section", "key", "value", "reason"),
    [
        ("geofence", "max_accuracy_m", 0, "greater than 0"),
        ("geofence", "max_age_s", "two minutes", "number"),
        ("geofence", "max_speed_kmh", -1, "greater than 0"),
        ("privacy", "keep_track_days", 0, "at least 1"),
        ("privacy", "purge_time", "3h30", "time like"),
    ],
)
def test_evidence_and_privacy_keys_are_validated(section, key, value, reason) -> None:
    data = example_data()
    data[section][key] = value
    with pytest.raises(ConfigError) as info:
        parse_config(data, env={})
    assert str(info.value).startswith(f"config.toml: {section}.{key}: ")
    assert reason in str(info.value)


def test_evidence_and_privacy_defaults() -> None:
    config = parse_config({}, env={})
    assert config.evidence.max_accuracy_m == 100 and config.evidence.max_age_s == 120
    assert config.evidence.max_speed_kmh == 150
    assert config.privacy.keep_track_days == 90
