"""Telegram's size limits, and text split or cut to fit them (pure: no Telegram types here).

Lengths are counted in UTF-16 code units, as Telegram counts them. With a parse mode the raw
markup is counted, which is never shorter than the text Telegram measures, so a piece that fits
here fits there. A split prefers a line break, then a space, then any boundary between
characters that does not cut a surrogate pair, a combining sequence, an emoji sequence, an
HTML tag or entity, or a Markdown escape or link; formatting open at a split is closed at the
end of the piece and opened again at the start of the next one.
"""

from __future__ import annotations

import re
import unicodedata

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64  # bytes
ELLIPSIS = "…"
MAX_LINK_ATOM = 512  # a longer Markdown link is split like plain text

HTML, MARKDOWN, MARKDOWN_V2 = "HTML", "Markdown", "MarkdownV2"

_ZWJ = "\u200d"
_HTML_ATOM = re.compile(r"<[^<>]*>|&#?[0-9A-Za-z]+;|[\s\S]")
_HTML_TAG = re.compile(r"<\s*(/)?\s*([A-Za-z][A-Za-z0-9-]*)[^>]*?(/)?\s*>")
_MD_LINK = re.compile(r"\[(?:\\.|[^\]\\\n])*\]\((?:\\.|[^)\\\n])*\)")


class CallbackDataTooLong(ValueError):
    """Callback data over Telegram's 64 bytes: a programming error, refused before sending."""


def utf16_len(text: str) -> int:
    """The length Telegram measures: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def callback_data(*parts: object) -> str:
    """Button data from parts joined by ':'; refuses data over 64 bytes."""
    data = ":".join(str(part) for part in parts)
    check_callback_data(data)
    return data


def check_callback_data(data: str) -> None:
    """Raise CallbackDataTooLong for empty data or data over 64 bytes."""
    size = len(data.encode("utf-8"))
    if size == 0 or size > CALLBACK_DATA_LIMIT:
        raise CallbackDataTooLong(f"callback data of {size} bytes: {data[:80]!r}")


class _Atom:
    """An unbreakable run of the source: a character, an escape, a tag or a link."""

    __slots__ = ("closer", "closer_size", "closes", "opens", "size", "text")

    def __init__(
        self,
        text: str,
        size: int,
        opens: str | None = None,  # the markup this atom opens (its own text reopens it)
        closes: str | None = None,  # the name of the markup this atom closes
        closer: str = "",  # what closes the markup this atom opens
    ) -> None:
        self.text, self.size, self.opens, self.closes = text, size, opens, closes
        self.closer, self.closer_size = closer, len(closer)


def _size(piece: str) -> int:
    return len(piece) + sum(1 for ch in piece if ord(ch) > 0xFFFF)


def _char_atoms(text: str) -> list[_Atom]:
    return [_Atom(ch, 2 if ord(ch) > 0xFFFF else 1) for ch in text]


def _html_atoms(text: str) -> list[_Atom]:
    atoms = []
    for match in _HTML_ATOM.finditer(text):
        piece = match.group()
        tag = _HTML_TAG.fullmatch(piece) if piece[0] == "<" else None
        size = _size(piece)
        if tag is None or tag.group(3):
            atoms.append(_Atom(piece, size))
        elif tag.group(1):
            atoms.append(_Atom(piece, size, closes=tag.group(2).lower()))
        else:
            name = tag.group(2).lower()
            atoms.append(_Atom(piece, size, opens=name, closer=f"</{name}>"))
    return atoms


def _markdown_atoms(text: str, v2: bool) -> list[_Atom]:
    """Escapes and links whole; code and style markers as toggles (literal inside code)."""
    markers = ("```", "`", "||", "__", "*", "_", "~") if v2 else ("```", "`", "*", "_")
    atoms: list[_Atom] = []
    seen: dict[str, int] = {}  # how often each marker came so far: odd means it is open
    i, code = 0, None
    while i < len(text):
        if code is None and v2 and text[i] == "\\" and i + 1 < len(text):
            atoms.append(_Atom(text[i : i + 2], _size(text[i : i + 2])))
            i += 2
            continue
        if code is None and text[i] == "[":
            link = _MD_LINK.match(text, i)
            if link and len(link.group()) <= MAX_LINK_ATOM:
                atoms.append(_Atom(link.group(), _size(link.group())))
                i = link.end()
                continue
        marker = next((m for m in markers if text.startswith(m, i)), None)
        if marker is not None and (code is None or marker == code):
            if marker in ("```", "`"):
                code = None if code else marker
            seen[marker] = seen.get(marker, 0) + 1
            if seen[marker] % 2:
                atoms.append(_Atom(marker, len(marker), opens=marker, closer=marker))
            else:
                atoms.append(_Atom(marker, len(marker), closes=marker))
            i += len(marker)
            continue
        atoms.extend(_char_atoms(text[i]))
        i += 1
    return atoms


def _atoms(text: str, parse_mode: str | None) -> list[_Atom]:
    if parse_mode == HTML:
        return _html_atoms(text)
    if parse_mode in (MARKDOWN, MARKDOWN_V2):
        return _markdown_atoms(text, parse_mode == MARKDOWN_V2)
    return _char_atoms(text)


def _joins(before: str, after: str) -> bool:
    """True where a split between these two characters would break a visible character."""
    if not before or not after:
        return False
    a, b = before[-1], after[0]
    if b == _ZWJ or a == _ZWJ or unicodedata.combining(b):
        return True
    if "\ufe00" <= b <= "\ufe0f" or "\U0001f3fb" <= b <= "\U0001f3ff" or b == "\u20e3":
        return True
    if "\U000e0020" <= b <= "\U000e007f":  # emoji tag sequences
        return True
    return "\U0001f1e6" <= a <= "\U0001f1ff" and "\U0001f1e6" <= b <= "\U0001f1ff"


def _rank(atoms: list[_Atom], j: int, depth: int) -> int:
    """How good a split before atom j is: 4 a line break outside markup … 1 a character."""
    previous, following = atoms[j - 1].text, atoms[j].text
    if previous == "\n":
        return 4 if depth == 0 else 3
    if previous.isspace() or following.isspace():
        return 2
    if _joins(previous, following):
        return 0
    return 1


def split(text: str, limit: int = TEXT_LIMIT, parse_mode: str | None = None) -> list[str]:
    """Pieces of text, each at most limit UTF-16 units; in plain text they concatenate back to it.

    With a parse mode, markup open at a split is closed and reopened, so the pieces' visible
    text still concatenates to the original's.
    """
    if utf16_len(text) <= limit:
        return [text]
    if parse_mode not in (HTML, MARKDOWN, MARKDOWN_V2):
        return _split_plain(text, limit)
    return _split_atoms(_atoms(text, parse_mode), limit)


def _split_plain(text: str, limit: int) -> list[str]:
    """Plain text with string operations: the longest fitting window, then its best break."""
    pieces = []
    while utf16_len(text) > limit:
        window = _fitting_prefix(text, limit)
        cut = window.rfind("\n") + 1
        if cut == 0:
            cut = max(window.rfind(" "), window.rfind("\t"), window.rfind("\u3000")) + 1
        if cut == 0:
            cut = len(window)
            while cut > 1 and _joins(text[cut - 1], text[cut]):
                cut -= 1
            if cut == 1 and _joins(text[0], text[1]):  # one endless emoji sequence
                cut = len(window)
        pieces.append(text[:cut])
        text = text[cut:]
    if text:
        pieces.append(text)
    return pieces


def _fitting_prefix(text: str, limit: int) -> str:
    """The longest prefix of text within limit UTF-16 units (never half a surrogate pair)."""
    units = text[: limit + 1].encode("utf-16-le", "surrogatepass")[: 2 * limit]
    if units and 0xD8 <= units[-1] <= 0xDB:  # ends on a high surrogate
        units = units[:-2]
    return units.decode("utf-16-le", "surrogatepass")


def _split_atoms(atoms: list[_Atom], limit: int) -> list[str]:
    """Text with markup: atoms are never cut, and open markup is closed and reopened."""
    pieces: list[str] = []
    start, reopen = 0, []  # reopen: atoms of markup open at the start of this piece
    while start < len(atoms):
        stack = list(reopen)
        used = sum(a.size for a in reopen)
        closing = sum(a.closer_size for a in stack)
        best_rank, best_end = 0, 0
        j = start
        while j < len(atoms):
            atom = atoms[j]
            if used + atom.size + closing + atom.closer_size > limit:
                break
            used += atom.size
            closing += _apply(stack, atom)
            j += 1
            if j < len(atoms) and used + closing <= limit:
                rank = _rank(atoms, j, len(stack))
                if rank and rank >= best_rank:
                    best_rank, best_end = rank, j
        if j == len(atoms):
            pieces.append(_render(reopen, atoms[start:], []))
            break
        if best_rank == 0:  # nothing breakable fits: cut where it stopped fitting
            if j == start:
                raise ValueError(f"an unbreakable part of the text is longer than {limit}")
            best_end = j
        open_at_end = _stack_after(reopen, atoms[start:best_end])
        pieces.append(_render(reopen, atoms[start:best_end], open_at_end))
        start, reopen = best_end, open_at_end
    return pieces


def _apply(stack: list[_Atom], atom: _Atom) -> int:
    """Open or close markup on the stack; the change in the size of the closing tags."""
    if atom.opens is not None:
        stack.append(atom)
        return atom.closer_size
    if atom.closes is not None:
        for k in range(len(stack) - 1, -1, -1):
            if stack[k].opens == atom.closes:
                return -stack.pop(k).closer_size
    return 0


def _stack_after(reopen: list[_Atom], atoms: list[_Atom]) -> list[_Atom]:
    stack = list(reopen)
    for atom in atoms:
        _apply(stack, atom)
    return stack


def _render(reopen: list[_Atom], atoms: list[_Atom], open_at_end: list[_Atom]) -> str:
    head = "".join(a.text for a in reopen)
    tail = "".join(a.closer for a in reversed(open_at_end))
    return head + "".join(a.text for a in atoms) + tail


def truncate(text: str, limit: int = TEXT_LIMIT, parse_mode: str | None = None) -> str:
    """The text cut to fit limit, ending with an ellipsis when anything was cut."""
    if utf16_len(text) <= limit:
        return text
    head = split(text, limit - utf16_len(ELLIPSIS), parse_mode)[0]
    return head.rstrip() + ELLIPSIS


def visible(text: str, parse_mode: str | None) -> str:
    """The text without markup (for tests and checks): HTML tags dropped and entities decoded."""
    if parse_mode != HTML:
        return text
    from html import unescape

    return unescape(re.sub(r"<[^<>]*>", "", text))
