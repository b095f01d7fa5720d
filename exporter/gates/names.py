"""File names: one quoting for terminals, one escaping for JSON.

A file name is bytes (POSIX); Python keeps the bytes that are not UTF-8 as
lone surrogates (``surrogateescape``, PEP 383).  Such a name, or one with a
newline, an escape sequence or a bidi override, must neither act on a
terminal nor forge a line of output, and must not make the program write
bytes that are not UTF-8:

- :func:`shell_quote` for everything printed: quoted the way GNU ``ls``
  quotes in its shell-escape style (``'a'$'\\n''b.md'``), so a name that
  needs quoting can be pasted back into a shell;
- :func:`json_name` for everything written as JSON (``inspect --json``):
  valid UTF-8, each undecodable byte written as the four characters
  ``\\xNN`` (the JSON encoder escapes controls itself).
"""

from __future__ import annotations

import os
import re

# Characters a file name may hold that a terminal would act on or that could
# forge a line of output: controls (newline, ESC), bidi controls, lone
# surrogates (undecodable bytes kept by surrogateescape), noncharacters.
_UNPRINTABLE_NAME = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029\u202a-\u202e\u2066-\u2069"
                               "\ufdd0-\ufdef\ufffd\ufffe\uffff]")
_NAMED_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r", "\x1b": "\\033"}
_SURROGATES = re.compile("[\ud800-\udfff]")


def shell_quote(name: str) -> str:
    """*name* as ``ls`` (GNU coreutils, shell-escape style) quotes it when it
    holds a character a terminal would act on: ``'a'$'\\n''b'``; an
    undecodable byte as ``$'\\xff'``.  Other names are printed as they are."""
    if not _UNPRINTABLE_NAME.search(name):
        return name
    out, pos = [], 0
    for m in _UNPRINTABLE_NAME.finditer(name):
        if m.start() > pos:
            out.append("'" + name[pos:m.start()].replace("'", "'\\''") + "'")
        ch = m.group()
        if ch in _NAMED_ESCAPES:
            out.append(f"$'{_NAMED_ESCAPES[ch]}'")
        elif 0xDC80 <= ord(ch) <= 0xDCFF:  # surrogateescape: the original byte
            out.append(f"$'\\x{ord(ch) - 0xDC00:02x}'")
        else:
            out.append("$'" + "".join(f"\\x{b:02x}" for b in ch.encode("utf-8", "surrogatepass")) + "'")
        pos = m.end()
    if pos < len(name):
        out.append("'" + name[pos:].replace("'", "'\\''") + "'")
    return "".join(out)


def json_name(name: str | os.PathLike[str]) -> str:
    """*name* as a string that encodes to UTF-8: each byte that was not UTF-8 (a lone surrogate
    from ``surrogateescape``) becomes the text ``\\xNN``; any other lone surrogate ``\\uDXXX``."""
    text = os.fspath(name)
    if not _SURROGATES.search(text):
        return text

    def escape(m: re.Match[str]) -> str:
        code = ord(m.group())
        return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"

    return _SURROGATES.sub(escape, text)



def text_name(name: str | os.PathLike[str]) -> str:
    """*name* as text for an output document (a book's title taken from its file name in the
    catalog): escaped as :func:`json_name` does, so that it encodes to UTF-8."""
    return json_name(name)
