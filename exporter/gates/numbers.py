"""Counts written by people: vote counts in digests and every integer option.

Python's ``int()`` takes far more than a count: any Unicode decimal digit
(``٣٤``, ``５``), underscores between digits (``1_000``, PEP 515), a sign,
surrounding whitespace, and as many digits as fit in memory.  A count here
is ASCII digits only (``[0-9]``, with ``,`` as a thousands separator where
the caller allows it, in groups of three), never signed, and at most an
explicit bound: no count the program writes goes beyond what a JSON number
keeps exactly in JavaScript (2^53 - 1, RFC 8259 section 6).
"""

from __future__ import annotations

import re

#: The largest vote count (a paper's ``Vote:``): far above any real count, and exactly
#: representable wherever JSON Feed's ``_digest_export.votes`` is read (RFC 8259 section 6).
MAX_VOTES = 10**9

#: What any count may be at most, whatever the caller's bound.
MAX_COUNT = 2**53 - 1

_PLAIN = re.compile(r"[0-9]+", re.ASCII)
_GROUPED = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+", re.ASCII)
#: More digits than any bound needs: refused before int() is asked (its cost grows with length).
_MAX_DIGITS = len(str(MAX_COUNT))


class NotACount(ValueError):
    """The text is not a count in bounds; ``str()`` is a sentence naming the value's problem."""


def parse_count(text: str, *, low: int = 0, high: int = MAX_COUNT, grouped: bool = False) -> int:
    """The count *text* spells, from *low* to *high* (at most :data:`MAX_COUNT`).

    *grouped*: ``1,024`` (groups of three after a comma) is allowed too.  Anything else (other
    digits than ASCII, underscores, signs, spaces, a number out of bounds) is :class:`NotACount`.
    """
    high = min(high, MAX_COUNT)
    if not (_PLAIN.fullmatch(text) or (grouped and _GROUPED.fullmatch(text))):
        if any(not c.isascii() and c.isdigit() for c in text):
            raise NotACount("is not a number in ASCII digits (0-9)")
        if text.strip()[:1] == "-" and text.strip()[1:].isdigit():
            raise NotACount(f"is negative; give a whole number from {low} to {high}")
        raise NotACount("is not a number")
    digits = text.replace(",", "").lstrip("0") or "0"
    if len(digits) > _MAX_DIGITS:
        raise NotACount(f"is larger than {high}")
    value = int(digits)
    if value > high:
        raise NotACount(f"is larger than {high}")
    if value < low:
        raise NotACount(f"is smaller than {low}")
    return value
