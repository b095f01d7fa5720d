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
- **Escape-sequence encodings** (ISO 2022: ISO-2022-KR, RFC 1557, the 7-bit
  Korean mail encoding; ISO-2022-JP and its extensions, RFC 1468/1554):
  7-bit bytes that are also valid UTF-8, so UTF-8 would read them as ASCII
  letters between control characters, and the controls would be removed
  without a word.  A 7-bit file with an ISO 2022 designation (``ESC $ ) C``,
  ``ESC $ B``...), or with SO/SI shifts and no designation (ISO-2022-KR
  whose ``ESC $ ) C`` header was cut off), is decoded by Python's codec of
  that encoding, with a warning naming it; ISO-2022-CN (no codec), two
  families in one file, designations in a file with 8-bit bytes (files of
  two encodings joined), or bytes the codec refuses are errors at their
  line.  ESC, SO and SI that make no encoding (a terminal colour code) are
  removed with a warning at the line of the first.

Line numbers count LF, CRLF and CR, as the reader does, so the line a
diagnostic names is the line an editor shows.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable

import regex
from dataclasses import dataclass, replace

BOM = "\ufeff"
# Characters that show as nothing (Unicode Default_Ignorable_Code_Point, UAX #44:
# joiners, variation selectors, Hangul fillers, tags; every format char Cf;
# line/paragraph separators Zl/Zp; the Braille blank), possibly between spaces,
# at a line start hide a ``## heading``.  A property, not a hand list.
_INVISIBLE = r"[\p{Default_Ignorable_Code_Point}\p{Cf}\p{Zl}\p{Zp}\u2800]"
# Not on a line that shows nothing else: it would become a blank line, which ends an HTML block
# or a paragraph where a Markdown viewer ends none (CommonMark 4.9: only spaces and tabs are blank).
_INVISIBLE_AT_LINE_START = regex.compile(r"(?m)^[ \t]*+" + _INVISIBLE
                                         + r"[ \t\p{Default_Ignorable_Code_Point}\p{Cf}\p{Zl}\p{Zp}\u2800]*+(?![\r\n]|\Z)")
_INVISIBLE_ONE = regex.compile(_INVISIBLE)
# UTF-32 first: its little-endian BOM (FF FE 00 00) begins with UTF-16's (FF FE).
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32", 4), (codecs.BOM_UTF32_BE, "utf-32", 4),
         (codecs.BOM_UTF16_LE, "utf-16", 2), (codecs.BOM_UTF16_BE, "utf-16", 2))



def _by_byte_order(data: bytes, width: int) -> str:
    """*data*, UTF-16 (*width* 2) or UTF-32 (4) starting with a BOM, decoded part by part: a BOM
    of either byte order at a code unit's offset starts a part in that order.  Two files joined
    with ``cat`` may have opposite orders: decoded in the first's, the second would be another
    text, byte-swapped (its BOM read as U+FFFE, a noncharacter no text holds; Unicode 15, section
    23.8).  Each BOM is kept, as U+FEFF, for :func:`_cleaned` to remove and to say where."""
    orders = {codecs.BOM_UTF16_LE: "utf-16-le", codecs.BOM_UTF16_BE: "utf-16-be"} if width == 2 else \
        {codecs.BOM_UTF32_LE: "utf-32-le", codecs.BOM_UTF32_BE: "utf-32-be"}
    # A lookahead: every place, overlapping ones too, so a match at an odd offset hides none.
    pattern = re.compile(b"(?=" + b"|".join(re.escape(bom) for bom in orders) + b")")
    starts = [m.start() for m in pattern.finditer(data) if m.start() % width == 0]
    text = []
    for a, b in zip(starts, starts[1:] + [len(data)]):
        codec = orders[data[a:a + width]]
        if width == 2:
            codec = _order_of_part(data[a:b], codec)
            _refuse_other_order(data, a, b, codec)
            eight_bit = _EIGHT_BIT_RUN.search(data, a, b)
            if eight_bit is not None:
                # 16 code units in a row of two ASCII bytes each: no UTF-16 text (its ASCII has a
                # zero byte in every unit, and CJK almost never 16 such units together), but 8-bit
                # text joined after it (``cat``), which decoded as UTF-16 is another text.
                # (from the unit after the run's first byte when that is odd: the last unit of the
                # big-endian text before it ends in an ASCII byte, its line break)
                start = eight_bit.start() + eight_bit.start() % 2
                raise UnicodeDecodeError(codec, data, start, start + 2, _EIGHT_BIT)
        try:
            text.append(data[a:b].decode(codec))
        except UnicodeDecodeError as err:  # where in the whole file, as a decoder of it would say
            raise UnicodeDecodeError(err.encoding, data, a + err.start, a + err.end, err.reason) from None
    return "".join(text)


#: Why a UTF-16 file holds 8-bit text (:func:`_by_byte_order`): the reason :func:`_damaged` says.
_EIGHT_BIT = "8-bit text after UTF-16 text"
_EIGHT_BIT_RUN = re.compile(rb"[\t\n\r\x20-\x7e]{32}")


#: Why a UTF-16 file holds text of the other byte order without a mark (:func:`_refuse_other_order`).
_OTHER_ORDER = "UTF-16 text of the other byte order, without its byte-order mark"


def _refuse_other_order(data: bytes, a: int, b: int, codec: str) -> None:
    """UnicodeDecodeError where the part ``data[a:b]`` (of *codec*) goes on in the other byte order
    without a mark (a UTF-16BE file without one joined after a UTF-16LE file): 16 code units in a
    row whose low byte, in *codec*'s order, is zero and whose high byte is ASCII, which is ASCII
    text of the other order (U+XX00 characters never come 16 together)."""
    part = data[a:b]
    low, high = (part[0::2], part[1::2]) if codec.endswith("le") else (part[1::2], part[0::2])
    for run in re.finditer(rb"\x00{16}", low):
        if _ASCII_RUN.fullmatch(high, run.start(), run.end()):
            start = a + 2 * run.start()
            raise UnicodeDecodeError(codec, data, start, start + 2, _OTHER_ORDER)


_ASCII_RUN = re.compile(rb"[\t\n\r\x20-\x7e]{16}")


def _order_of_part(part: bytes, codec: str) -> str:
    """The byte order of a UTF-16 *part* (from one byte-order mark to the next): the mark's, unless
    the part's zero bytes say the other (a digest's ASCII has its zero byte high: the odd bytes
    in little-endian, the even in big-endian).  U+FFFE inside little-endian text is the bytes of
    a big-endian mark; what follows is still little-endian, and read as big-endian would be
    another text."""
    even, odd = part[0::2].count(0), part[1::2].count(0)
    little = codec.endswith("le")
    if (little and even > 2 * odd + 4) or (not little and odd > 2 * even + 4):
        return "utf-16-be" if little else "utf-16-le"
    return codec

# ISO 2022 escape sequences that designate a character set (ECMA-35, section 13.2.2: ESC, then
# intermediate bytes 0x20-0x2F, then a final byte 0x30-0x7E), and the encodings that use them.
_DESIGNATION = re.compile(rb"\x1b([\x20-\x2f]+[\x30-\x7e])")
#: SO, SI and ESC: what an escape-sequence encoding (ISO 2022) is told by.  Looked up one by one
#: (``bytes.__contains__`` is a memchr, some thirty times a character class's search).
_SHIFT_BYTES = (b"\x0e", b"\x0f", b"\x1b")
#: RFC 1557: KS C 5601 into G1, then SO/SI shift between it and ASCII.
_KR = {b"$)C"}
#: RFC 1468 (ISO-2022-JP), RFC 2237 (-1: JIS X 0212), RFC 1554 (-2: GB 2312, KS C 5601, the
#: 96-character sets into G2), JIS X 0213 (-2004, -3) and half-width katakana (-ext): each
#: codec with the designations it reads beyond the one before.
_JP = (("iso2022_jp", {b"(B", b"(J", b"$@", b"$B"}), ("iso2022_jp_1", {b"$(D"}),
       ("iso2022_jp_2", {b"$A", b"$(C", b".A", b".F"}), ("iso2022_jp_2004", {b"$(O", b"$(Q"}),
       ("iso2022_jp_3", {b"$(P"}), ("iso2022_jp_ext", {b"(I"}))
_JP_ALL = set().union(*(seqs for _, seqs in _JP))
#: RFC 1922: GB 2312, CNS 11643 planes, ISO-IR-165: Python has no codec for ISO-2022-CN(-EXT).
_CN = {b"$)A", b"$)G", b"$*H", b"$)E", b"$+I", b"$+J", b"$+K", b"$+L", b"$+M"}


def _shown_escape(seq: bytes) -> str:
    """``ESC $ ) C``: an escape sequence as RFC 1557 writes it."""
    return "ESC " + " ".join(chr(b) for b in seq)


#: The most combining marks one character carries: Unicode's Stream-Safe Text Format (UAX #15
#: section 13) bounds a run of non-starters at 30.  A reader lays out one cluster in time that
#: grows faster than its length: 90,000 marks on one letter took a browser engine 10 s, 300,000
#: never finished.  No script needs more (Tibetan stacks and Hebrew with cantillation stay under
#: ten).
MAX_MARKS = 30
#: What extends a character (UAX #29 grapheme clusters: Extend, ZWJ and SpacingMark, and every
#: mark): a joiner between two marks (ZWNJ) or a skin-tone modifier counts as a mark does;
#: 100,000 of either on one letter never finished drawing either.
_EXTENDING = r"[\p{M}\p{Grapheme_Cluster_Break=Extend}\p{Grapheme_Cluster_Break=ZWJ}\p{Grapheme_Cluster_Break=SpacingMark}]"
_EXTEND_RUN = regex.compile(_EXTENDING + "{%d,}" % (MAX_MARKS + 1))
#: What every gate says of such a character (a digest's, a template's, a stylesheet's, a picture's).
TOO_MANY_MARKS = (f"more than {MAX_MARKS} combining marks on one character (Unicode's stream-safe bound, UAX #15 "
                  "section 13: a reader lays such a character out in time that grows with its square)")
#: The same runs where the text holds none of the few characters that extend one but are no
#: mark (joiners, emoji modifiers, tags, two Thai and Lao vowels, halfwidth sound marks): a
#: search for marks alone takes a fifth of the time of the whole class.
_MARK_RUN = regex.compile(r"\p{M}{%d,}" % (MAX_MARKS + 1))
_NOT_MARKS = re.compile("[\u200c\u200d\U0001F3FB-\U0001F3FF\U000E0020-\U000E007F\uFF9E\uFF9F\u0E33\u0EB3]")


def _runs(text: str) -> regex.Pattern:
    return _EXTEND_RUN if _NOT_MARKS.search(text) else _MARK_RUN


def mark_run(text: str) -> regex.Match | None:
    """The first run of more than :data:`MAX_MARKS` combining marks (or what else extends a
    character) in *text*, or None."""
    return _runs(text).search(text)


def within_marks(text: str) -> str:
    """*text* with each run of combining marks cut to its first :data:`MAX_MARKS`."""
    return _runs(text).sub(lambda m: m.group()[:MAX_MARKS], text)


_GRAPHEME = regex.compile(r"\X")


def whole_graphemes(text: str, limit: int) -> str:
    """The longest start of *text* of at most *limit* characters that cuts no grapheme cluster
    (UAX #29, the ``regex`` module's ``\\X``): a family emoji keeps its joiners, a flag its two
    regional indicators, a Hangul syllable written in jamo its vowel (a cut inside one shows a
    broken or another character)."""
    if len(text) <= limit:
        return text
    end = 0
    for cluster in _GRAPHEME.finditer(text):  # lazily: only up to the limit
        if cluster.end() > limit:
            break
        end = cluster.end()
    return text[:end]


class NotText(ValueError):
    """The bytes are not text in an encoding the program reads: why, at line *line*."""

    def __init__(self, line: int, why: str):
        super().__init__(f"line {line}: {why}")
        self.line, self.why = line, why


@dataclass(frozen=True, slots=True)
class Decoded:
    """Text from bytes, and what was done to it."""

    text: str | None
    #: "utf-8", "utf-16", "utf-32", "cp949" or an ISO 2022 one ("iso-2022-kr", "iso-2022-jp-2"...).
    encoding: str
    #: (1-based line, what): a BOM not at the start, NUL bytes removed.
    notes: tuple[tuple[int, str], ...] = ()
    #: When text is None: (line, why).
    error: tuple[int, str] | None = None
    #: For "cp949": the line of the first byte that is not UTF-8.
    utf8_until: int = 1
    #: For an ISO 2022 encoding: how it was told (its escape sequence, or a guess from SO/SI); for
    #: UTF-16 or UTF-32 without a BOM, its byte order and that it was told by its NUL bytes.
    told_by: str = ""


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
                return _cleaned(_by_byte_order(data, width), encoding)
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
    wide = _without_bom(data)
    if wide is not None:
        return wide
    if any(shift in data for shift in _SHIFT_BYTES):
        # 7-bit ISO 2022 is valid UTF-8 too: told by its escape sequences, before UTF-8 is tried
        # (after a UTF-8 BOM, which an editor saving "with BOM" puts before any text).
        iso = _iso2022(data[len(codecs.BOM_UTF8):] if data.startswith(codecs.BOM_UTF8) else data)
        if iso is not None:
            return iso
    try:
        return _cleaned(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError as err:
        utf8_error = err
    utf8_line = _line_of_byte(data, utf8_error.start)
    # A UTF-8 BOM before CP949 text (an editor that put the mark and saved in the legacy
    # encoding): the mark is not the text's; the rest is read as a file without one is.
    skip = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        # CP949 is Microsoft's superset of EUC-KR: it decodes both.
        decoded = _cleaned(data[skip:].decode("cp949"), "cp949")
    except UnicodeDecodeError as err:
        cp949_error = UnicodeDecodeError(err.encoding, data, skip + err.start, skip + err.end, err.reason)
    else:
        # Where UTF-8 first failed: a UTF-8 file with a few stray bytes is
        # found at the line that holds them, not only "at line 1".
        if skip:
            decoded = replace(decoded, notes=((1, "a UTF-8 byte-order mark before text that is not UTF-8; "
                                                  "ignored"),) + decoded.notes)
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


#: UTF-32 and UTF-16 without a BOM, by where their NUL bytes fall (a digest is Markdown: its
#: headings, list marks, line breaks and links are ASCII, each a code unit with a zero high
#: part), from the widest: (codec, code unit width, the offsets in a unit that are NUL).
_WIDE = (("utf-32-le", 4, (1, 2, 3)), ("utf-32-be", 4, (0, 1, 2)), ("utf-16-le", 2, (1,)), ("utf-16-be", 2, (0,)))


def _without_bom(data: bytes) -> Decoded | None:
    """*data* as UTF-32 or UTF-16 without a BOM (Unicode 15, section 3.10, D90-D98: the byte order
    is then the writer's choice), when its NUL bytes say so: its first code unit is ASCII and at
    least a quarter of its code units have them where ASCII in that encoding does, and no other
    place holds many.  Decoded, with how it was told (UTF-8 text has no NUL, and a file of stray
    NULs has them anywhere); None when the NULs say no such encoding."""
    if b"\0" not in data[:4096]:
        return None
    sample = data[:65536]
    for codec, width, zeros in _WIDE:
        units = len(sample) // width
        if len(data) % width or units < 2:
            continue
        at = [sample[i::width].count(0) for i in range(width)]
        ascii_units = min(at[i] for i in zeros)
        others = max((at[i] for i in range(width) if i not in zeros), default=0)
        # Its first unit too: a digest starts with ASCII (a heading, a blank line); a UTF-8 file
        # with such a file joined in (``cat``) starts without a NUL, and is not read in halves.
        first = sample[:width]
        if (ascii_units * 4 < units or others * 8 > ascii_units
                or any(first[i] for i in zeros) or not 0 < max(first) < 0x80):
            continue
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        order = "little" if codec.endswith("le") else "big"
        return replace(_cleaned(text, codec[:6]),
                       told_by=f"{order}-endian, without a byte-order mark: told by its NUL bytes")
    return None


def _iso2022(data: bytes) -> Decoded | None:
    """*data* decoded from the ISO 2022 encoding its escape sequences (or its SO/SI shifts) say,
    an error Decoded when that cannot be done right, or None when they make no ISO 2022 encoding
    (ESC, SO and SI are then stray controls, which :func:`_cleaned` removes with a warning)."""
    found: dict[bytes, int] = {}
    for m in _DESIGNATION.finditer(data):
        found.setdefault(m.group(1), m.start())
    kr = [seq for seq in found if seq in _KR]
    # ESC ( B (ASCII) and ESC ( J (JIS Roman, ASCII but two signs) alone are no Japanese text:
    # ``tput sgr0`` writes ESC ( B in every terminal colour reset pasted into a file.
    jp = [seq for seq in found if any(seq in seqs for _, seqs in _JP) and seq not in (b"(B", b"(J")]
    cn = [seq for seq in found if seq in _CN]

    def at(seq: bytes) -> int:
        return _line_of_byte(data, found[seq])

    told = kr + jp + cn
    if told and not data.isascii():
        first = min(told, key=found.__getitem__)
        bad = next(i for i, byte in enumerate(data) if byte >= 0x80)
        return Decoded(None, "", error=(at(first), f"the ISO 2022 escape sequence {_shown_escape(first)} (7-bit "
                                                   f"text) in a file with 8-bit bytes (line {_line_of_byte(data, bad)}): "
                                                   "two encodings in one file (files joined with cat?)"))
    if cn:
        return Decoded(None, "", error=(at(cn[0]), f"ISO-2022-CN (by its escape sequence {_shown_escape(cn[0])}), "
                                                   "which digest-export does not read"))
    if kr and jp:
        return Decoded(None, "", error=(at(jp[0]), f"escape sequences of two encodings: {_shown_escape(kr[0])} "
                                                   f"(ISO-2022-KR, line {at(kr[0])}) and {_shown_escape(jp[0])} "
                                                   "(ISO-2022-JP)"))
    if kr:
        how = f"by its escape sequence {_shown_escape(kr[0])} at line {at(kr[0])}"
        return _decoded_iso(data, "iso2022_kr", how)
    if jp:
        codec = next(codec for i, (codec, _) in enumerate(_JP)
                     if all(any(seq in seqs for _, seqs in _JP[:i + 1]) for seq in found if seq in _JP_ALL))
        first = min(jp, key=found.__getitem__)
        return _decoded_iso(data, codec, f"by its escape sequence {_shown_escape(first)} at line {at(first)}")
    if b"\x0e" in data and data.isascii():
        # SO shifts to G1, which only a designation fills; a Korean file that has lost its
        # ESC $ ) C header (RFC 1557 puts it once, at the top) is read as ISO-2022-KR if that
        # gives Korean text, and said to be a guess.
        guess = _decoded_iso(data, "iso2022_kr", "guessed from its SO/SI shifts: its ESC $ ) C header is missing")
        if guess.text is not None and any("\uac00" <= c <= "\ud7a3" for c in guess.text):
            return guess
    return None


def _decoded_iso(data: bytes, codec: str, how: str) -> Decoded:
    """*data* in the ISO 2022 *codec*, strictly: Python's codecs pass an escape sequence they do
    not know through as text (and ISO-2022-KR reads SO before its designation as ASCII), so
    what is left of ESC, SO or SI after decoding means the file is not in *codec*."""
    name = codec.replace("iso2022", "iso-2022").replace("_", "-")
    # RFC 1557 designates once, at the top; putting the designation first again is harmless
    # and makes an SO before it (or without it) read as KS C 5601, as it is meant.
    head = b"\x1b$)C" if codec == "iso2022_kr" else b""
    try:
        text = (head + data).decode(codec)
    except UnicodeDecodeError as err:
        start = max(err.start - len(head), 0)
        return Decoded(None, "", error=(_line_of_byte(data, start),
                                        f"{name.upper()} ({how}), but byte 0x{data[start]:02x} does not decode in it"))
    stray = _STRAY_SHIFTS.search(text)
    left = stray.start() if stray is not None else None
    if left is not None:
        return Decoded(None, "", error=(line_of(text, left),
                                        f"{name.upper()} ({how}), but it holds a control character "
                                        f"0x{ord(text[left]):02x} that {name.upper()} does not use there"))
    return replace(_cleaned(text, name), told_by=how)


def _damaged(data: bytes, encoding: str, width: int, err: UnicodeDecodeError) -> Decoded:
    """Why a file with the BOM of *encoding* does not decode, at the line where it stops."""
    start = err.start - err.start % width
    head = data[:start].decode(encoding, "replace")
    line = line_of(head, len(head))
    name = encoding.upper()
    if len(data) % width and err.end >= len(data) - width:
        why = (f"{name} by its byte-order mark, but {len(data)} bytes are not whole {width}-byte units: "
               "the file is cut short (truncated?)")
    elif err.reason == _OTHER_ORDER:
        why = (f"{name} by its byte-order mark, but from offset {start} it goes on in the other byte order "
               "without a mark: files of two byte orders joined (cat?); convert one of them")
    elif err.reason == _EIGHT_BIT:
        why = (f"{name} by its byte-order mark, but 8-bit text (UTF-8 or ASCII) follows from offset {start}: "
               "files of two encodings joined (cat?); convert one of them")
    elif encoding == "utf-16" and err.end >= len(data) - width:
        why = f"{name} by its byte-order mark, but it ends in half a surrogate pair: the file is cut short (truncated?)"
    else:
        bad = data[start:start + width].hex(" ")
        why = f"{name} by its byte-order mark, but bytes {bad} at offset {start} are not {name}"
    return Decoded(None, "", error=(line, why))


#: The '#' marks of a heading line and the white space among them.
_MARKS = re.compile(r"[ \t#]*")
#: Marks that open a heading (CommonMark 0.31, section 4.2: 1 to 6 '#', then a space, a tab or
#: the end of the line).
_OPENING = re.compile(r"#{1,6}(?:[ \t]|$)")
#: Where a line ends: LF, CRLF or CR (as :func:`line_of` counts them).
_LINE_END = re.compile(r"(?<=\n)|(?<=\r)(?!\n)")


def heading_made_by_removing(line: str, removed: Callable[[str], str]) -> str:
    """The characters that the cleaning *removed* takes out of the marks of *line*, from its
    first '#' on, when that changes them while they open no heading as written, else "".  A
    Markdown viewer shows those characters, as themselves or as U+FFFD (a NUL, CommonMark 0.31
    section 2.3): '#\\0## A' is text there and '##\\0 A' too, and neither may become a day or a
    paper by being cleaned.  What stands before the first '#' is removed so that the heading
    after it is read (a byte-order mark or NUL bytes left by files joined with ``cat``, an
    invisible character an editor put there), and said as removed."""
    first = line.find("#", 0, 64)
    if first < 0:
        return ""
    marks = line[first:]
    if _OPENING.match(marks):
        return ""
    cleaned = removed(marks)
    if _MARKS.match(cleaned).group() == _MARKS.match(marks).group():
        return ""
    taken = []
    for ch in marks:
        if not removed(ch):
            taken.append(ch)
            if len(taken) == 4:  # what a message names
                break
        elif ch not in " \t#":
            break
    return "".join(taken) or "?"


#: What marks open and close blocks (fences, HTML comments and tags): a line holding one and a
#: character the cleaning removes is kept for the reader, whose block scan sees it as written.
_STRUCTURE = re.compile(r"[`~<>-]")


def _outside_made_headings(text: str, removed: Callable[[str], str]) -> str:
    """*text* cleaned by *removed*, but for the lines that the cleaning would make headings (see
    :func:`heading_made_by_removing`) or whose block marks it would change ('``\\0`' closes no
    fence, '-\\0->' no comment, a byte-order mark before '<!--' opens none), kept as they are for
    the reader to say and to clean (what starts such a line goes when a heading follows: files
    joined with ``cat``; invisible characters that start a line go in any case)."""
    lines = _LINE_END.split(text)
    kept = [bool(heading_made_by_removing(line, removed)) or _marks_changed(line, removed) for line in lines]
    if not any(kept):
        return removed(text)
    out, run = [], []
    for line, keep in zip(lines, kept):
        if keep:
            out.append(removed("".join(run)))
            at = _junk_before(line, removed)
            if not line[at:].rstrip("\r\n"):
                out.append(line)  # nothing but them: a line that shows nothing, not a blank one
            elif line[at] == "#":
                out.append(_INVISIBLE_ONE.sub("", removed(line[:at])) + line[at:])
            else:
                out.append(_INVISIBLE_ONE.sub(lambda m: m.group() if m.group() == BOM else "", line[:at]) + line[at:])
            run = []
        else:
            run.append(line)
    out.append(removed("".join(run)))
    return "".join(out)


def _junk_before(line: str, removed: Callable[[str], str]) -> int:
    """Where *line*'s first character that is neither white space nor removed stands."""
    at = 0
    while at < len(line) and (line[at] in " \t" or not removed(line[at]) or _INVISIBLE_ONE.match(line[at])):
        at += 1
    return at


def _marks_changed(line: str, removed: Callable[[str], str]) -> bool:
    """Whether cleaning *line*, which holds a block mark's character, changes more than the
    invisible characters that start it (removed on purpose), or removes a byte-order mark or NUL
    before a mark other than a heading's (a viewer shows it, and no block opens there)."""
    if _STRUCTURE.search(line) is None:
        return False
    cleaned = removed(line)
    if cleaned == line:
        return False
    if cleaned != _recovered(line):
        return True
    at = _junk_before(line, removed)
    return line[at:at + 1] not in ("#", "") and any(c in line[:at] for c in (BOM, "\0"))


def _unmarked(text: str) -> str:
    """*text* without byte-order marks, NUL, ESC, SO and SI."""
    text = text.replace(BOM, "").replace("\0", "")
    return _STRAY_SHIFTS.sub("", text) if _holds_shift(text) else text


def _holds_shift(text: str) -> bool:
    """Whether *text* holds ESC, SO or SI: three ``in`` tests, each a tenth of the time
    :data:`_STRAY_SHIFTS` takes to search a file that holds none (most of them)."""
    return "\x1b" in text or "\x0e" in text or "\x0f" in text


def _removed(text: str) -> str:
    """*text* as the cleaning leaves it: :func:`_unmarked`, and then without the invisible
    characters that start a line."""
    return _recovered(_unmarked(text))


#: Byte-order marks inside a file said each at its line, up to this many lines; the rest in one
#: note (a year of daily files joined with ``cat`` has 364: the first ones tell what happened).
MAX_BOM_NOTES = 20


def _bom_notes(text: str) -> list[tuple[int, str]]:
    """A note at each line that holds a byte-order mark (one per line), counted in one pass."""
    lines: list[int] = []
    at, line = text.find(BOM), 1
    done = 0
    while at >= 0:
        line += line_of(text[done:at], at - done) - 1
        done = at
        if not lines or lines[-1] != line:
            lines.append(line)
        at = text.find(BOM, at + 1)
    said = [(n, "byte-order mark inside the file (files joined with cat?); removed") for n in lines[:MAX_BOM_NOTES]]
    if len(lines) > MAX_BOM_NOTES:
        rest = lines[MAX_BOM_NOTES:]
        said.append((rest[0], f"{len(rest)} more lines with a byte-order mark inside the file, the last at "
                              f"line {rest[-1]}; removed"))
    return said


def _cleaned(text: str, encoding: str) -> Decoded:
    notes: list[tuple[int, str]] = []
    if text.startswith(BOM):
        text = text[1:]
    if BOM in text:
        notes.extend(_bom_notes(text))
    unmarked = _unmarked(text)
    first = _INVISIBLE_AT_LINE_START.search(unmarked) if _invisible_at_a_line_start(unmarked) else None
    if first is not None:
        notes.append((line_of(unmarked, first.start()),
                      "invisible characters (zero-width space, direction mark...) at the start of a line; removed"))
    if "\0" in text:
        n = text.count("\0")
        notes.append((line_of(text, text.index("\0")),
                      f"{n} NUL byte{'s' if n != 1 else ''} in the file; removed"))
    stray = _STRAY_SHIFTS.search(text) if _holds_shift(text) else None
    if stray is not None:
        # What no encoding of ours uses (ISO 2022 is told above): a terminal colour code
        # (ESC [ 31 m) or a shift left over; removed as every control character is, but said.
        notes.append((line_of(text, stray.start()),
                      "ESC, SO or SI control characters that make no escape-sequence encoding "
                      "(a terminal colour code?); removed"))
    if notes:
        # Removed, but on a line that removing them would make a heading: kept there for the
        # reader, which says so and removes them (:func:`heading_made_by_removing`).
        text = _outside_made_headings(text, _removed)
    run = mark_run(text)
    if run is not None:
        notes.append((line_of(text, run.start()), f"{TOO_MANY_MARKS}; those after the first {MAX_MARKS} removed"))
        text = within_marks(text)
    return Decoded(text, encoding, tuple(notes))


def _recovered(text: str) -> str:
    """*text* without the invisible characters (a byte-order mark among them) that start a line:
    removed so that the heading after them is read (files joined with ``cat``, an editor's
    direction mark)."""
    if not _invisible_at_a_line_start(text):
        return text
    return _INVISIBLE_AT_LINE_START.sub(lambda m: _INVISIBLE_ONE.sub("", m.group()), text)


_STRAY_SHIFTS = re.compile("[\x0e\x0f\x1b]")


def _invisible_at_a_line_start(text: str) -> bool:
    """Whether :data:`_INVISIBLE_AT_LINE_START` can match *text*: a line (after LF, as its ``^``
    has it) whose first character but spaces and tabs is one of :data:`_INVISIBLE` (none is
    ASCII).  Looking at each line's first character is a tenth of the time the pattern takes
    to try every position of the text (a third of reading a year of digests)."""
    first = _FIRST_NOT_ASCII.match(text)
    if first is not None and _INVISIBLE_ONE.match(first.group(1)):
        return True
    return any(_INVISIBLE_ONE.match(m.group(1)) for m in _LINE_STARTING_NOT_ASCII.finditer(text))


# A line whose first character but spaces and tabs is not ASCII (where an invisible one may
# stand): the pattern starts with a literal LF, which the search looks for first.
_FIRST_NOT_ASCII = re.compile("[ \t]*+([^\x00-\x7f])")
_LINE_STARTING_NOT_ASCII = re.compile("\n[ \t]*+([^\x00-\x7f])")


def decode_strict(data: bytes, name: str) -> str:
    """Text of a file that must be UTF-8 (a config): BOM at the start allowed; :class:`NotText`
    naming the line of the first bad byte otherwise."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[3:]
    for bom, encoding, _ in _BOMS:
        if data.startswith(bom):
            raise NotText(1, f"{encoding.upper()} (by its byte-order mark), not UTF-8")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = _line_of_byte(data, err.start)
        raise NotText(line, f"not UTF-8 (byte 0x{data[err.start]:02x})") from None
    if "\0" in text:
        wide = _without_bom(data)
        if wide is not None:  # NULs between the letters: UTF-16 or UTF-32 saved without a BOM
            raise NotText(1, f"{wide.encoding.upper()} without a byte-order mark (NUL bytes between "
                          "the letters), not UTF-8")
        raise NotText(line_of(text, text.index(chr(0))), "a NUL byte")
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
    # Every white space character but the ASCII space is one str.isprintable() refuses (a
    # control, or a separator of category Z): a field without them or two spaces in a row,
    # most of them, is known in one pass of C, a third of the search's time.
    if (text.isprintable() and "  " not in text) or _TO_COLLAPSE.search(text) is None:
        text = text.strip(" ")
    else:
        text = _WHITE_SPACE_RUN.sub(" ", text).strip(" ")
    if text and not text[0].isascii() and (marks := _LEADING_MARKS.match(text)) is not None:
        # A field that starts with a combining mark has nothing for it to combine with (a
        # reader draws it on a dotted circle; the Nu checker: "Text run starts with a composing
        # character"): the marks go.
        text = text[marks.end():].lstrip(" ")
    return text


_LEADING_MARKS = regex.compile(r"\p{M}+")


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


def as_seen(text: str) -> str:
    """*text* without the characters that show as nothing (zero-width space, word joiner,
    variation selectors, soft hyphen, BOM...): two texts that read the same compare equal."""
    return _INVISIBLE_ONE.sub("", text)


def shows_nothing(text: str) -> bool:
    """Whether *text* is empty or made only of characters that show as nothing."""
    first = text[:1]
    # Most fields start with a letter or digit of ASCII, or a Hangul syllable: those show,
    # and the pattern is not run (a tenth of reading a year of digests).
    if first and (first.isascii() and first.isalnum() or "\uac00" <= first <= "\ud7a3"):
        return False
    return _SHOWS_NOTHING.fullmatch(text) is not None
