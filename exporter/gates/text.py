"""Bytes to text: the one place where a file's bytes are decoded.

What a digest's bytes can hold, besides UTF-8 text:

- **A byte-order mark anywhere**: files joined with ``cat`` carry each
  file's BOM into the middle of the result, where it would sit in front of a
  ``## heading`` and hide it (a day lost without a word).  U+FEFF is a BOM
  at the start and a deprecated zero-width no-break space elsewhere
  (Unicode 15, section 23.8: U+2060 WORD JOINER replaces it), so every one is
  removed; one that is not at the start of the file is reported once, at
  its first line.
- **NUL bytes**: no text format holds them (XML forbids U+0000).  A file
  with a NUL is most likely UTF-16 (every other byte is NUL for ASCII), a
  binary file, or text with a stray NUL; UTF-16 with its BOM is decoded,
  otherwise the NULs are removed and reported at their first line.
- **Invisible characters at the start of a line**: a zero-width space, soft
  hyphen, Hangul filler, variation selector or any other Default_Ignorable_Code_Point,
  format character (Cf), line/paragraph separator or the Braille blank
  before ``## `` hides the heading just as a BOM does, and shows nowhere in
  an editor; they are removed from line starts (a warning at the first).
- **Legacy encodings**: a file that is not UTF-8 is decoded as CP949 (the
  Microsoft superset of EUC-KR, what Korean Windows writes) with a
  warning; anything else is an error naming the line of the first byte
  that is not UTF-8.

Line numbers count LF, CRLF and CR, as the reader does, so the line a
diagnostic names is the line an editor shows.
"""

from __future__ import annotations

import codecs
import re

import regex
from dataclasses import dataclass, replace

BOM = "\ufeff"
# Characters that show as nothing (Unicode Default_Ignorable_Code_Point, UAX #44:
# joiners, variation selectors, Hangul fillers, tags; every format char Cf;
# line/paragraph separators Zl/Zp; the Braille blank), possibly between spaces,
# at a line start hide a ``## heading``.  A property, not a hand list.
_INVISIBLE = r"[\p{Default_Ignorable_Code_Point}\p{Cf}\p{Zl}\p{Zp}\u2800]"
_INVISIBLE_AT_LINE_START = regex.compile(r"(?m)^[ \t]*+" + _INVISIBLE + r"[ \t\p{Default_Ignorable_Code_Point}\p{Cf}\p{Zl}\p{Zp}\u2800]*+")
_INVISIBLE_ONE = regex.compile(_INVISIBLE)
# UTF-32 first: its little-endian BOM (FF FE 00 00) begins with UTF-16's (FF FE).
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32", 4), (codecs.BOM_UTF32_BE, "utf-32", 4),
         (codecs.BOM_UTF16_LE, "utf-16", 2), (codecs.BOM_UTF16_BE, "utf-16", 2))


class NotText(ValueError):
    """The bytes are not text in an encoding the program reads."""


@dataclass(frozen=True, slots=True)
class Decoded:
    """Text from bytes, and what was done to it."""

    text: str | None
    #: "utf-8", "utf-16", "utf-32" or "cp949".
    encoding: str
    #: (1-based line, what): a BOM not at the start, NUL bytes removed.
    notes: tuple[tuple[int, str], ...] = ()
    #: When text is None: (line, why).
    error: tuple[int, str] | None = None
    #: For "cp949": the line of the first byte that is not UTF-8.
    utf8_until: int = 1


def line_of(text: str, index: int) -> int:
    """The 1-based line of *text* holding *index*, lines ending in LF, CRLF or CR."""
    head = text[:index]
    # A CRLF counts once: count LFs, plus CRs not followed by an LF.
    return head.count("\n") + head.count("\r") - head.count("\r\n") + 1


def _line_of_byte(data: bytes, index: int) -> int:
    head = data[:index]
    return head.count(b"\n") + head.count(b"\r") - head.count(b"\r\n") + 1


def decode(data: bytes) -> Decoded:
    """Decode a text file: UTF-32 or UTF-16 by its BOM, else UTF-8 (BOMs anywhere), else CP949."""
    for bom, encoding, width in _BOMS:
        if data.startswith(bom):
            # A BOM says the encoding (Unicode 15, section 23.8, table 23-4): a file that does
            # not decode in it is damaged, not UTF-8 or CP949 (neither starts with FE or FF).
            try:
                return _cleaned(data.decode(encoding), encoding)
            except UnicodeDecodeError as err:
                if bom == codecs.BOM_UTF32_LE:
                    # FF FE 00 00 is also UTF-16's BOM before a NUL (Unicode 15, section 23.8):
                    # taken as UTF-16 when that reads as text, not as UTF-32 read in halves
                    # (every other character a NUL).
                    try:
                        text = data.decode("utf-16")
                    except UnicodeDecodeError:
                        text = None
                    if text is not None and text.count("\0") * 4 < len(text):
                        return _cleaned(text, "utf-16")
                return _damaged(data, encoding, width, err)
    try:
        return _cleaned(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError as err:
        utf8_error = err
    utf8_line = _line_of_byte(data, utf8_error.start)
    try:
        # CP949 is Microsoft's superset of EUC-KR: it decodes both.
        decoded = _cleaned(data.decode("cp949"), "cp949")
    except UnicodeDecodeError as err:
        cp949_error = err
    else:
        # Where UTF-8 first failed: a UTF-8 file with a few stray bytes is
        # found at the line that holds them, not only "at line 1".
        return replace(decoded, utf8_until=utf8_line)
    # The error is at the line of the first byte that is not UTF-8 (what the docs promise,
    # and what an editor opening the file as UTF-8 shows); where CP949 stopped, if further on,
    # is said too: a CP949 file with one damaged line names that line as well.
    bad = data[utf8_error.start]
    if cp949_error.start > utf8_error.start:
        return Decoded(None, "", error=(utf8_line, f"not UTF-8 (byte 0x{bad:02x}), and not CP949/EUC-KR "
                                                   f"(byte 0x{data[cp949_error.start]:02x} at line "
                                                   f"{_line_of_byte(data, cp949_error.start)})"))
    return Decoded(None, "", error=(utf8_line, f"not UTF-8 (byte 0x{bad:02x}) and not CP949/EUC-KR"))


def _damaged(data: bytes, encoding: str, width: int, err: UnicodeDecodeError) -> Decoded:
    """Why a file with the BOM of *encoding* does not decode, at the line where it stops."""
    start = err.start - err.start % width
    head = data[:start].decode(encoding, "replace")
    line = line_of(head, len(head))
    name = encoding.upper()
    if len(data) % width and err.end >= len(data) - width:
        why = (f"{name} by its byte-order mark, but {len(data)} bytes are not whole {width}-byte units: "
               "the file is cut short (truncated?)")
    elif encoding == "utf-16" and err.end >= len(data) - width:
        why = f"{name} by its byte-order mark, but it ends in half a surrogate pair: the file is cut short (truncated?)"
    else:
        bad = data[start:start + width].hex(" ")
        why = f"{name} by its byte-order mark, but bytes {bad} at offset {start} are not {name}"
    return Decoded(None, "", error=(line, why))


def _cleaned(text: str, encoding: str) -> Decoded:
    notes: list[tuple[int, str]] = []
    if text.startswith(BOM):
        text = text[1:]
    if BOM in text:
        notes.append((line_of(text, text.index(BOM)),
                      "byte-order mark inside the file (files joined with cat?); removed"))
        text = text.replace(BOM, "")
    first = _INVISIBLE_AT_LINE_START.search(text) if _invisible_at_a_line_start(text) else None
    if first is not None:
        notes.append((line_of(text, first.start()),
                      "invisible characters (zero-width space, direction mark...) at the start of a line; removed"))
        text = _INVISIBLE_AT_LINE_START.sub(lambda m: _INVISIBLE_ONE.sub("", m.group()), text)
    if "\0" in text:
        n = text.count("\0")
        notes.append((line_of(text, text.index("\0")),
                      f"{n} NUL byte{'s' if n != 1 else ''} in the file; removed"))
        text = text.replace("\0", "")
    return Decoded(text, encoding, tuple(notes))


def _invisible_at_a_line_start(text: str) -> bool:
    """Whether :data:`_INVISIBLE_AT_LINE_START` can match *text*: a line (after LF, as its ``^``
    has it) whose first character but spaces and tabs is one of :data:`_INVISIBLE` (none is
    ASCII).  Looking at each line's first character is a tenth of the time the pattern takes
    to try every position of the text (a third of reading a year of digests)."""
    for line in text.split("\n"):
        first = line.lstrip(" \t")[:1]
        if first and not first.isascii() and _INVISIBLE_ONE.match(first):
            return True
    return False


def decode_strict(data: bytes, name: str) -> str:
    """Text of a file that must be UTF-8 (a config): BOM at the start allowed; :class:`NotText`
    naming the line of the first bad byte otherwise."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[3:]
    for bom, encoding, _ in _BOMS:
        if data.startswith(bom):
            raise NotText(f"line 1: {encoding.upper()} (by its byte-order mark), not UTF-8")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = _line_of_byte(data, err.start)
        raise NotText(f"line {line}: not UTF-8 (byte 0x{data[err.start]:02x})") from None
    if "\0" in text:
        raise NotText(f"line {line_of(text, text.index(chr(0)))}: a NUL byte")
    return text


# Unicode White_Space (PropList.txt), the one definition of white space: spaces of every
# width (U+00A0, U+2000-U+200A, U+202F, U+3000...), tabs, and the characters that break a
# line for some program but not for the reader, whose lines end only at LF, CRLF and CR:
# VT, FF, NEL (U+0085), LINE SEPARATOR (U+2028), PARAGRAPH SEPARATOR (U+2029).  A run of them
# inside a field is one space (a title with U+2028 put a raw line break in feed titles).
# A character class checked against the property by the tests (a stdlib pattern: a search
# is several times faster than ``regex``'s).
WHITE_SPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_WHITE_SPACE_RUN = re.compile(f"[{WHITE_SPACE}]+")
# Anything but a lone ASCII space: what makes a field need collapsing (a quick test first).
_TO_COLLAPSE = re.compile("[" + WHITE_SPACE.replace(" ", "") + "]|  ")
# The breaks that are control characters, which the XML cleaning removes (XML 1.0 section
# 2.2 forbids VT and FF; NEL is a C1 control): a run of them after some character of a line
# is a space first (at a line start they are removed, so a heading after them stays one).
# U+2028/U+2029 are not controls: fields collapse them with the rest of White_Space, and a
# link destination keeps them for the URL gate to escape.
_BREAKS = "\x0b\x0c\x85"
_BREAKS_IN_A_LINE = regex.compile(f"(?<=[^\n\r{_BREAKS}])[{_BREAKS}]+")


def collapse_white_space(text: str) -> str:
    """*text* with each run of white space (:data:`_WHITE_SPACE_RUN`) made one space, the
    ends stripped: what every field of the model holds."""
    if _TO_COLLAPSE.search(text) is None:
        return text.strip(" ")
    return _WHITE_SPACE_RUN.sub(" ", text).strip(" ")


def runs_as_one_space(text: str) -> str:
    """*text* with each run of white space made one space, the ends kept (a part of a line)."""
    return _WHITE_SPACE_RUN.sub(" ", text)


def breaks_in_lines_as_spaces(text: str) -> str:
    """*text* with VT, FF and NEL inside a line made a space: they separate words there, and
    removing them as the controls they also are joined the words."""
    if not any(c in text for c in _BREAKS):
        return text
    return _BREAKS_IN_A_LINE.sub(" ", text)


# Text that shows as nothing: white space and separators (Unicode White_Space,
# category Z), controls, format, private-use and unassigned characters
# (category C), and the invisible characters above (Default_Ignorable_Code_Point:
# Hangul fillers U+115F/U+1160/U+3164/U+FFA0, joiners, variation selectors,
# tags...; the Braille blank U+2800).  The one definition of a blank title,
# author, label or day heading, as of a line start above.
_SHOWS_NOTHING = regex.compile(r"(?:[\s\p{Z}\p{C}]|" + _INVISIBLE + r")*+")


def shows_nothing(text: str) -> bool:
    """Whether *text* is empty or made only of characters that show as nothing."""
    first = text[:1]
    # Most fields start with a letter or digit of ASCII, or a Hangul syllable: those show,
    # and the pattern is not run (a tenth of reading a year of digests).
    if first and (first.isascii() and first.isalnum() or "\uac00" <= first <= "\ud7a3"):
        return False
    return _SHOWS_NOTHING.fullmatch(text) is not None
