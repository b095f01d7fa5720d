"""Counts written by people: vote counts in digests and every integer option.

Python's ``int()`` takes far more than a count: any Unicode decimal digit
(``٣٤``, ``５``), underscores between digits (``1_000``, PEP 515), a sign,
surrounding whitespace, and as many digits as fit in memory.  A count here
is ASCII digits only (``[0-9]``, with ``,`` as a thousands separator where
the caller allows it, in groups of three), never signed, and at most an
explicit bound: no count the program writes goes beyond what a JSON number
keeps exactly in JavaScript (2^53 - 1, RFC 8259 section 6).

It is also the one place that says why a number is out of its range
(:func:`out_of_range`), for options, the config file and selections alike: the
reason a ``days = 0`` is refused is that it must be at least 1, not that it is
no whole number.
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


def shown_bound(bound: int | float) -> str:
    """A bound as a person writes it: ``3600``, not ``3600.0``; ``0.1``."""
    if isinstance(bound, float) and bound.is_integer():
        return str(int(bound))
    return str(bound)


def allowed_range(low: int | float | None, high: int | float | None, kind: str = "a whole number") -> str:
    """The values allowed, in words: ``a whole number from 1 to 100000`` (or ``of at least 1``)."""
    if low is not None and high is not None:
        return f"{kind} from {shown_bound(low)} to {shown_bound(high)}"
    if low is not None:
        return f"{kind} of at least {shown_bound(low)}"
    if high is not None:
        return f"{kind} of at most {shown_bound(high)}"
    return kind


def out_of_range(value: int | float, low: int | float | None, high: int | float | None,
                 kind: str = "a whole number") -> str | None:
    """Why *value* is outside [*low*, *high*], as the rest of a sentence about its name
    (``must be at least 1 (a whole number from 1 to 100000)``); None when it is inside.

    The range is the reason, whatever the value's sign or size: ``0``, ``-1`` and ``1e400`` all
    miss the range, and saying "must be a whole number" of them would send the user looking for
    a spelling mistake that is not there.
    """
    if low is not None and value < low:
        return f"must be at least {shown_bound(low)} ({allowed_range(low, high, kind)})"
    if high is not None and value > high:
        return f"must be at most {shown_bound(high)} ({allowed_range(low, high, kind)})"
    return None


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
            if not text.strip()[1:].strip("0"):  # -0 is no number below the range: the sign is what is wrong
                raise NotACount(f"is written with a sign; write {allowed_range(low, high)} in digits alone")
            raise NotACount(out_of_range(-1, low, high) or f"must be {allowed_range(low, high)}")
        raise NotACount("is not a number")
    digits = text.replace(",", "").lstrip("0") or "0"
    value = high + 1 if len(digits) > _MAX_DIGITS else int(digits)
    reason = out_of_range(value, low, high)
    if reason is not None:
        raise NotACount(reason)
    return value
