"""Splitting and cutting text to Telegram's limits (bot.domain.limits)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import limits
from bot.domain.limits import (
    CAPTION_LIMIT,
    HTML,
    MARKDOWN_V2,
    TEXT_LIMIT,
    split,
    utf16_len,
    visible,
)

CHINESE = "服务站今日工单：联想主机不开机，客户要求上门检修。"
EMOJI = "👍🏽👨‍👩‍👧‍👦🇨🇳❤️😀"


def _no_space(text: str) -> str:
    return re.sub(r"\s", "", text)


def _check(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    pieces = split(text, limit)
    assert all(utf16_len(p) <= limit for p in pieces)
    assert "".join(pieces) == text
    return pieces


def test_short_text_is_one_piece():
    assert split("你好", TEXT_LIMIT) == ["你好"]


def test_ten_thousand_chinese_characters_without_spaces():
    text = (CHINESE * 400)[:10_000]
    pieces = _check(text)
    assert len(pieces) == 3


def test_ten_thousand_characters_of_emoji_never_cut_a_pair_or_sequence():
    text = (EMOJI * 2000)[:10_000]
    pieces = _check(text)
    for piece in pieces:
        piece.encode("utf-8")  # a half surrogate pair would not encode
    for piece in pieces[1:]:
        assert not piece.startswith(("\u200d", "\ufe0f", "\U0001f3fd"))
    for piece in pieces[:-1]:
        assert not piece.endswith("\u200d")


def test_lines_are_kept_whole():
    lines = [f"#{n} 王师傅 SLA-ARRIVE 剩余 1 小时 {CHINESE}" for n in range(400)]
    text = "\n".join(lines)
    pieces = _check(text)
    for piece in pieces:
        for line in piece.strip("\n").split("\n"):
            assert line in lines


def test_a_long_line_splits_at_a_space_not_inside_a_word():
    words = [f"word{n}" for n in range(2000)]
    text = " ".join(words)
    for piece in _check(text):
        for word in piece.split():
            assert word in words


def test_html_keeps_tags_and_entities_whole_and_reopens_open_ones():
    rows = "".join(f"<b>{n}</b> a &amp; b {CHINESE}\n" for n in range(300))
    text = f"<i>header</i>\n<pre>{rows}</pre>"
    assert utf16_len(text) > 10_000
    pieces = split(text, TEXT_LIMIT, HTML)
    assert len(pieces) > 1
    assert all(utf16_len(p) <= TEXT_LIMIT for p in pieces)
    assert "".join(visible(p, HTML) for p in pieces) == visible(text, HTML)
    for piece in pieces:
        assert piece.count("<pre>") == piece.count("</pre>")
        assert piece.count("<b>") == piece.count("</b>")
        assert "&amp" not in piece.replace("&amp;", "")  # no entity cut
    assert pieces[1].startswith("<pre>")


def test_markdown_v2_escapes_are_not_cut():
    text = ("a\\." * 5000)[:10_000]
    pieces = split(text, TEXT_LIMIT, MARKDOWN_V2)
    assert all(utf16_len(p) <= TEXT_LIMIT for p in pieces)
    assert "".join(pieces) == text
    assert not any(p.endswith("\\") for p in pieces)


def test_caption_limit():
    _check(CHINESE * 100, CAPTION_LIMIT)


def test_truncate_adds_an_ellipsis_only_when_cut():
    assert limits.truncate("short") == "short"
    cut = limits.truncate(CHINESE * 500)
    assert utf16_len(cut) <= TEXT_LIMIT and cut.endswith(limits.ELLIPSIS)


def test_callback_data_over_64_bytes_is_refused():
    assert limits.callback_data("page", "q", 3) == "page:q:3"
    with pytest.raises(limits.CallbackDataTooLong):
        limits.callback_data("page", "中" * 30)


def test_splitting_ten_thousand_characters_is_quick():
    import time

    text = "\n".join(CHINESE * 2 for _ in range(200))
    started = time.perf_counter()
    split(text * 1)
    assert time.perf_counter() - started < 0.02


TEXTS = st.text(
    alphabet=st.sampled_from(list("ab 中文\n\t😀👍🏽\u200d\ufe0f🇨🇳 &<>x")),
    min_size=0,
    max_size=3000,
)


@settings(max_examples=60, deadline=None)
@given(TEXTS, st.integers(min_value=8, max_value=300))
def test_property_plain_pieces_fit_and_concatenate_back(text, limit):
    pieces = split(text, limit)
    assert all(utf16_len(p) <= limit for p in pieces)
    assert "".join(pieces) == text


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["b", "i", "code", "pre"]), TEXTS), max_size=20))
def test_property_html_pieces_fit_and_keep_the_visible_text(parts):
    from html import escape

    text = "".join(f"<{tag}>{escape(body)}</{tag}>\n" for tag, body in parts)
    limit = 200
    pieces = split(text, limit, HTML)
    assert all(utf16_len(p) <= limit for p in pieces)
    assert _no_space("".join(visible(p, HTML) for p in pieces)) == _no_space(visible(text, HTML))
