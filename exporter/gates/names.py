"""File names: one quoting for terminals, one escaping for JSON.

A file name is bytes (POSIX); Python keeps the bytes that are not UTF-8 as
lone surrogates (``surrogateescape``, PEP 383).  Such a name, or one with a
newline, an escape sequence or a bidi override, must neither act on a
terminal nor forge a line of output, and must not make the program write
bytes that are not UTF-8:

- :func:`shell_quote` for everything printed: quoted the way GNU ``ls``
  quotes in its shell-escape style (``'a'$'\\n''b.md'``), so a name that
  needs quoting can be pasted back into a shell;
- :func:`json_name` for everything written as JSON for people and other
  programs (``inspect --json``): valid UTF-8, each undecodable byte written
  as the four characters ``\\xNN`` (the JSON encoder escapes controls itself);
- :func:`stored_name` / :func:`unstored_name` for names the program writes
  and reads back (the build state, the send ledger): valid UTF-8 that reads
  back to the same bytes, so the same file (:func:`stored_tree` /
  :func:`unstored_tree` for a whole JSON document);
- :func:`folded_name` for comparing names as a file system or a reading system
  that folds case and Unicode form sees them.
"""

from __future__ import annotations

import os
import re
import unicodedata

import regex

# Characters a file name may hold that a terminal would act on, that could forge a line of
# output or hide what the name is: by Unicode property, not by list.  ``str.isprintable`` is
# False exactly for the categories Cc (controls: newline, ESC), Cf (format: every Bidi_Control
# such as U+202E and U+200F, zero-width characters, the BOM, tag characters), Cs (lone
# surrogates: undecodable bytes kept by surrogateescape), Co, Cn, Zl, Zp and every space but
# U+0020; noncharacters (Unicode 15, section 23.7) and U+FFFD are added.
_NONCHARACTERS = re.compile("[\ufdd0-\ufdef\ufffd\ufffe\uffff"
                            + "".join(f"{chr(p * 0x10000 + 0xFFFE)}{chr(p * 0x10000 + 0xFFFF)}" for p in range(1, 17))
                            + "]")


# And what draws as nothing, or as a space, though printable by category: every
# Default_Ignorable_Code_Point (U+034F COMBINING GRAPHEME JOINER and the variation selectors,
# which are marks; the Hangul fillers U+115F, U+1160, U+3164, U+FFA0, which are letters) and the
# Braille blank U+2800: ``a<U+034F>b.md`` looked exactly like ``ab.md``.
_INVISIBLE = regex.compile(r"[\p{Default_Ignorable_Code_Point}\u2800]")


def _unprintable(ch: str) -> bool:
    return not ch.isprintable() or _NONCHARACTERS.match(ch) is not None or _INVISIBLE.match(ch) is not None


#: What ``ls --quoting-style=shell-escape`` quotes a name for besides what a terminal acts on
#: (coreutils lib/quotearg.c): shell syntax anywhere, and '#' or '~' that start the name; and
#: braces, which ls leaves bare, though bash expands ``x{1..2}.md`` into two names (Bash
#: Reference Manual 3.5.1, brace expansion): a name printed here pastes back as itself.
_SHELL_SYNTAX = re.compile(r"[ !\"$&'()*;<=>?\[\\^`|{}]|^[#~]")


def _needs_quoting(text: str) -> bool:
    return not text.isprintable() or _NONCHARACTERS.search(text) is not None or _INVISIBLE.search(text) is not None


# Hangul conjoining jamo (Unicode 15, section 3.12): what macOS writes for a syllable in NFD.
_JAMO = re.compile("[\u1100-\u11ff\ua960-\ua97f\ud7b0-\ud7ff]")


def _not_composed(ch: str) -> bool:
    """Whether *ch*, in a name that is not NFC, is one of what makes it so: a combining mark
    (canonical combining class not 0), a conjoining jamo, or a character NFC replaces
    (U+212B ANGSTROM SIGN is U+00C5)."""
    return (unicodedata.combining(ch) != 0 or _JAMO.match(ch) is not None
            or not unicodedata.is_normalized("NFC", ch))


def _runs(text: str) -> list[tuple[bool, str]]:
    """*text* cut into runs of printable characters and single unprintable ones (and, when
    *text* is not in NFC, single characters that keep it from being: see :func:`shell_quote`)."""
    out: list[tuple[bool, str]] = []
    start = 0
    odd = _unprintable
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        odd = lambda ch: _unprintable(ch) or _not_composed(ch)  # noqa: E731
    for i, ch in enumerate(text):
        if odd(ch):
            if i > start:
                out.append((False, text[start:i]))
            out.append((True, ch))
            start = i + 1
    if start < len(text):
        out.append((False, text[start:]))
    return out


_NAMED_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r", "\x1b": "\\033"}
_SURROGATES = re.compile("[\ud800-\udfff]")


def folded_name(name: str) -> str:
    """*name* as a file system that folds case and Unicode form (APFS, NTFS) and a reading system
    compare names: canonical form after full case folding (OCF 3.3 section 3.3, "File paths":
    unique after NFC and case folding), NFC again since folding can undo the normal form."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())


def shell_quote(name: str | os.PathLike[str]) -> str:
    """*name* as ``ls`` (GNU coreutils, shell-escape style) quotes it when it
    holds a character a terminal would act on: ``'a'$'\\n''b'``; an
    undecodable byte as ``$'\\xff'``; or one a shell reads as syntax (a space, a quote,
    ``$``, a glob), as ``'a b'``.  Other names are printed as they are: none of them holds a
    quote, so none prints as another name quoted (``'a'$'\\xff''.md'`` is the quoted form of
    a name with the byte FF, never a name of those 17 characters).

    A name that is not in NFC (macOS writes ``한.md`` as three conjoining jamo, ``é`` as ``e``
    and U+0301) shows its decomposed characters as their UTF-8 bytes
    (``$'\\xe1\\x84\\x92\\xe1\\x85\\xa1\\xe1\\x86\\xab''.md'``): a terminal draws the
    two spellings alike, and a user with both files (NFC and NFD twins) could not tell which
    one a message names.  What is shown still pastes back into a shell as that very name."""
    name = os.fspath(name)
    if (not _needs_quoting(name) and _SHELL_SYNTAX.search(name) is None
            and (name.isascii() or unicodedata.is_normalized("NFC", name))):
        return name
    out = []
    for odd, run in _runs(name):
        if not odd:
            out.append("'" + run.replace("'", "'\\''") + "'")
        elif run in _NAMED_ESCAPES:
            out.append(f"$'{_NAMED_ESCAPES[run]}'")
        elif 0xDC80 <= ord(run) <= 0xDCFF:  # surrogateescape: the original byte
            out.append(f"$'\\x{ord(run) - 0xDC00:02x}'")
        else:
            out.append("$'" + "".join(f"\\x{b:02x}" for b in run.encode("utf-8", "surrogatepass")) + "'")
    return "".join(out)


def printable(line: str) -> str:
    """One line of free text that may hold a name not passed through :func:`shell_quote` (a
    message made elsewhere), safe to print: what a terminal would act on, a line break and an
    undecodable byte are written as escapes (``\\n``, ``\\033``, ``\\xff``).  A safety net:
    names are quoted where a message is made."""
    if not _needs_quoting(line):
        return line

    def escape(ch: str) -> str:
        if ch in _NAMED_ESCAPES:
            return _NAMED_ESCAPES[ch]
        if 0xDC80 <= ord(ch) <= 0xDCFF:
            return f"\\x{ord(ch) - 0xDC00:02x}"
        return f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}"

    return "".join(escape(run) if odd else run for odd, run in _runs(line))


def json_name(name: str | os.PathLike[str]) -> str:
    """*name* as a string that encodes to UTF-8, one string per name: a backslash is written
    as two (``\\\\``), each byte that was not UTF-8 (a lone surrogate from ``surrogateescape``)
    as the text ``\\xNN``, any other lone surrogate as ``\\uDXXX``.  Without the first rule
    the byte 0xFF and the four characters ``\\xff`` would read the same (:func:`name_of_json`
    reads it back)."""
    text = os.fspath(name)
    if "\\" not in text and not _SURROGATES.search(text):
        return text
    return _escaped(text.replace("\\", "\\\\"))


def _escaped(text: str) -> str:
    def escape(m: re.Match[str]) -> str:
        code = ord(m.group())
        return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"

    return _SURROGATES.sub(escape, text)


_JSON_ESCAPE = re.compile(r"\\(\\|x[0-9a-f]{2}|u[0-9a-f]{4})")


def name_of_json(text: str) -> str:
    """The name (with ``surrogateescape`` for bytes that are not UTF-8) that :func:`json_name`
    wrote as *text*."""
    def unescape(m: re.Match[str]) -> str:
        got = m.group(1)
        if got == "\\":
            return got
        return chr(0xDC00 + int(got[1:], 16)) if got[0] == "x" else chr(int(got[1:], 16))

    return _JSON_ESCAPE.sub(unescape, text)


def text_name(name: str | os.PathLike[str]) -> str:
    """*name* as text for an output document (a book's title taken from its file name in the
    catalog): each byte that was not UTF-8 written as ``\\xNN``, so that it encodes to UTF-8."""
    text = os.fspath(name)
    return _escaped(text) if _SURROGATES.search(text) else text


#: Marks a string :func:`stored_name` escaped.  Only such strings (names with bytes that are not
#: UTF-8 or control characters, or that begin with the mark) are changed: a state of plain names
#: reads as before.
STORED_MARK = "fsbytes:"
# Also a backslash and a leading dot, which the documents gate refuses in a name (a separator
# elsewhere, a hidden file): a name such as "a\b.epub" is a plain POSIX name, and a document the
# program wrote must read back.
_STORED_ESCAPES = re.compile("[\ud800-\udfff%\x01-\x1f\x7f\\\\]|^\\.(?!\\.?$)")
_DOT_ESCAPE = re.compile("%2[eE]")
_STORED_UNESCAPES = re.compile("%(?:([89a-fA-F][0-9a-fA-F])|(0[1-9a-fA-F]|1[0-9a-fA-F]|7[fF]|5[cC]|2[eE])|25)")
# In JSON text: a lone surrogate, the mark, or a control character's escape.
_NEEDS_STORING = re.compile('[\ud800-\udfff]|' + STORED_MARK + r'|\\[bfnrt]|\\u00[01]|\\u007[fF]')


def stored_name(name: str) -> str:
    """*name* (a str from ``os.fsdecode``) as text that encodes to UTF-8, holds no control
    character (the documents gate refuses them in names), and that :func:`unstored_name` turns
    back into *name*: when it needs to, the mark followed by the name with each undecodable byte
    and control character as ``%NN`` and ``%`` as ``%25`` (RFC 3986 section 2.1
    percent-encoding, of these only: never ``/``)."""
    if not name.startswith(STORED_MARK) and not _STORED_ESCAPES.search(name.replace("%", "x")):
        return name

    def escape(m: re.Match[str]) -> str:
        ch = m.group()
        if ch == "%":
            return "%25"
        if ord(ch) < 0x80:
            return f"%{ord(ch):02X}"
        # surrogateescape keeps byte 0xNN as U+DCNN; another lone surrogate (not from a file
        # name) is kept as its UTF-8 bytes, which read back as undecodable bytes.
        return "".join(f"%{b:02X}" for b in ch.encode("utf-8", "surrogateescape" if 0xDC80 <= ord(ch) <= 0xDCFF
                                                       else "surrogatepass"))

    return STORED_MARK + _STORED_ESCAPES.sub(escape, name)


def unstored_name(text: str) -> str:
    """The name :func:`stored_name` made *text* from; ValueError if *text* has the mark but is
    not its spelling (only undecodable bytes, controls and ``%`` are escaped: never a ``/`` or
    a NUL)."""
    if not text.startswith(STORED_MARK):
        return text
    body = text[len(STORED_MARK):]
    if "%" in _STORED_UNESCAPES.sub("", body) or _DOT_ESCAPE.search(body, 1):
        # A dot is escaped only first in a name: "%2e%2e" would forge "..".
        raise ValueError(f"{STORED_MARK!r} name with an escape it cannot hold")

    def unescape(m: re.Match[str]) -> str:
        if m.group(1):
            return chr(0xDC00 + int(m.group(1), 16))
        if m.group(2):
            return chr(int(m.group(2), 16))
        return "%"

    name = _STORED_UNESCAPES.sub(unescape, body)
    if name in (".", ".."):
        raise ValueError(f"{STORED_MARK!r} name that names a folder ({name!r})")
    return name


def check_output_name(name: str) -> str:
    """*name*, a file of the output folder as a state or record names it, once read back from its
    stored spelling; ValueError unless it is a relative path of plain segments.  The documents
    gate checks the stored spelling, whose mark hides what follows (``fsbytes:../x``)."""
    if not name or name.startswith("/") or "\0" in name or any(
            part in ("", ".", "..") for part in name.split("/")):
        raise ValueError(f"a file name that leads out of the output folder ({name[:80]!r})")
    return name


def stored_tree(value: object) -> object:
    """*value* (JSON values) with every string, key or value, as :func:`stored_name` writes it."""
    return _map_strings(value, stored_name)


def unstored_tree(value: object) -> object:
    """*value* read back: every string as :func:`unstored_name` reads it (ValueError if damaged)."""
    return _map_strings(value, unstored_name)


def _map_strings(value: object, f) -> object:
    if isinstance(value, str):
        return f(value)
    if isinstance(value, dict):
        return {f(k) if isinstance(k, str) else k: _map_strings(v, f) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_map_strings(v, f) for v in value]
    return value


def needs_storing(text: str) -> bool:
    """Whether a document dumped to *text* (JSON) may hold a string :func:`stored_tree` would
    change (a quick test; a false alarm only costs the walk)."""
    return _NEEDS_STORING.search(text) is not None


def printable_json(text: str) -> str:
    """JSON text *text* with every character a terminal would act on, or that draws as nothing,
    written as its ``\\uXXXX`` escape (RFC 8259 section 7: the same string to a JSON reader): what
    ``inspect --json`` prints holds no raw bidi control, C1 control, DEL or line separator, for
    a terminal or ``jq -r`` to act on.  The line breaks of its layout stay."""
    if not _needs_quoting(text.replace("\n", "")):
        return text

    def escape(ch: str) -> str:
        if ch == "\n":
            return ch
        data = ch.encode("utf-16-be", "surrogatepass")
        return "".join(f"\\u{int.from_bytes(data[i:i + 2], 'big'):04x}" for i in range(0, len(data), 2))

    return "".join(escape(run) if odd else run for odd, run in _runs(text))


class DroppedWhenGone:
    """A text stream (``sys.stdout`` while a command runs, cli/crash.py) that drops what is
    written once whoever read it went away (``2>&1 | head -c 10``: a closed pipe), instead of
    raising: what is left to say is lost, and the run ends as it would have (a build with 0, a
    usage error with 2), not with click's 1 for a broken pipe nor as a crash.  Any other failure
    to write (a full disk) is the command's own to report: its output is lost."""

    #: What a write raises when the stream is gone for good.
    GONE: tuple[type[OSError], ...] = (BrokenPipeError,)

    def __init__(self, stream: object):
        self.unfiltered = stream

    def write(self, text: str) -> int:
        try:
            return self.unfiltered.write(text)  # type: ignore[attr-defined]
        except self.GONE:
            self._gone()
            return len(text)

    def flush(self) -> None:
        try:
            self.unfiltered.flush()  # type: ignore[attr-defined]
        except self.GONE:
            self._gone()

    def _gone(self) -> None:
        """The stream's descriptor points at nothing from here on (:func:`files.write_to_nothing`)."""
        from .files import write_to_nothing

        try:
            write_to_nothing(self.unfiltered.fileno())  # type: ignore[attr-defined]
        except (AttributeError, OSError, ValueError):
            pass  # not a file (a test's capture)

    def writelines(self, lines: object) -> None:
        for line in lines:  # type: ignore[attr-defined]
            self.write(line)

    def __getattr__(self, name: str) -> object:
        return getattr(self.unfiltered, name)


class PrintableLines(DroppedWhenGone):
    """A text stream whose every line is written through :func:`printable`: ``sys.stderr`` while
    a command runs (cli/crash.py), so that no message, whoever made it and however it was
    quoted, writes a control, a bidi control or an undecodable byte to the terminal; line breaks
    between lines are kept.  The net under the quoting: a name is quoted where the message is
    made, and what escaped that (a library's message holding a name) is escaped here.  Dropped
    once it cannot be written (a reader gone, ``2>/dev/full``, an I/O error): messages that
    reach no one must not stop a run that is otherwise writing its files (nothing is left to
    report the failure to)."""

    GONE = (OSError,)

    def write(self, text: str) -> int:
        if isinstance(text, str) and _needs_quoting(text.replace("\n", "")):
            text = "\n".join(printable(line) for line in text.split("\n"))
        return super().write(text)
