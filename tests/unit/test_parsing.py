"""The strict number and month parsers every handler uses."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.parsing import MAX_ID, parse_id, parse_int, parse_month


def test_ids_are_ascii_digits_in_sqlite_range() -> None:
    assert parse_id("12") == 12
    assert parse_id(" #12 ") == 12
    assert parse_id(str(MAX_ID)) == MAX_ID
    for bad in ["²", "١", "١٢", "１２", str(MAX_ID + 1), "0", "-1", "+1", "1_000", "", "#", None]:
        assert parse_id(bad) is None, bad


def test_ints_respect_their_bounds() -> None:
    assert parse_int("0") == 0
    assert parse_int("59", maximum=59) == 59
    assert parse_int("60", maximum=59) is None
    assert parse_int("9" * 70) is None


def test_months_are_real_and_bounded() -> None:
    assert parse_month("2026-11") == "2026-11"
    for bad in ["9999-12", "0000-01", "2026-13", "2026-00", "２０２６-11", "2026-1", "", None]:
        assert parse_month(bad) is None, bad


@given(st.text(max_size=25))
def test_any_text_parses_to_a_storable_id_or_none(text: str) -> None:
    value = parse_id(text)
    assert value is None or 1 <= value <= MAX_ID
