"""The lines of a config file's keys, for its messages (``c.toml:12: [epub] key 'by' ...``).

Found by tomllib itself (:func:`key_line`), not a second reading of TOML by hand: tomllib
says where a syntax error is, not where a key it read is written.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from ..gates import files as gate_files

#: The text of the config file read last, by its real path: the line of a key a message names is
#: found in it (:func:`line_of`).
_TEXTS: dict[str, str] = {}

#: The most characters :func:`key_line` parses to find one key's line (tomllib reads about
#: 2 MB a second): a config of thousands of lines, or a value that spans them, leaves the
#: message without a line rather than make it wait.
MAX_PARSED = 2_000_000


def line_of(path: Path | str, *keys: str | int) -> int | None:
    """The line of the config *path* (as :func:`remember` kept it) where *keys* is written."""
    text = _TEXTS.get(str(gate_files.real_path(Path(path))))
    return key_line(text, keys) if text is not None and keys else None


def key_line(text: str, keys: tuple[str | int, ...]) -> int | None:
    """The line (from 1) where the value at *keys* of the TOML *text* is written: its key's line,
    or a table's header.  Found by tomllib itself, not a second reading of TOML: the first prefix
    of whole lines that holds *keys* ends the key's statement, which starts after the last prefix
    before it that parses without it (a multi-line array or string parses only once closed).
    None when *keys* is not in *text* or it takes more than :data:`MAX_PARSED` characters."""
    lines = text.splitlines(keepends=True)
    parsed = 0
    known: dict[int, bool | None] = {}

    def holds(n: int) -> bool | None:
        """Whether the first *n* lines hold *keys* (None: they are not TOML on their own)."""
        nonlocal parsed
        if n not in known:
            prefix = "".join(lines[:n])
            parsed += len(prefix)
            if parsed > MAX_PARSED:
                raise LookupError("too long to look for")
            try:
                node: Any = tomllib.loads(prefix)
            except (tomllib.TOMLDecodeError, RecursionError, ValueError):
                known[n] = None
                return None
            for key in keys:
                if isinstance(key, int):
                    found = isinstance(node, list) and 0 <= key < len(node)
                else:
                    found = isinstance(node, dict) and key in node
                if not found:
                    break
                node = node[key]
            else:
                known[n] = True
                return True
            known[n] = False
        return known[n]

    try:
        if not lines or holds(len(lines)) is not True:
            return None
        low, high = 0, len(lines)  # holds(low) is not True, holds(high) is
        while high - low > 1:
            mid = (low + high) // 2
            probe = mid
            while probe < high and holds(probe) is None:  # inside a value: the next whole one
                probe += 1
            if probe == high:  # none after: the one before
                probe = mid - 1
                while probe > low and holds(probe) is None:
                    probe -= 1
                if probe == low:  # nothing between parses: *high* is the first that holds it
                    break
            if holds(probe):
                high = probe
            else:
                low = probe
        start = high - 1
        while start > 0 and holds(start) is None:  # back to the end of the statement before
            start -= 1
    except LookupError:
        return None
    for n in range(start, high):  # its first line that is not blank or a comment
        if lines[n].strip() and not lines[n].lstrip().startswith("#"):
            return n + 1
    return high


def remember(path: Path, text: str) -> None:
    """Keep *text*, the config *path* holds, for :func:`line_of` (the last config read only)."""
    _TEXTS.clear()
    _TEXTS[str(gate_files.real_path(path))] = text
