"""The books of an output folder, and when each one is finished.

A book's period is read from its file name, which ``build`` and ``epub``
make as ``<series slug>-<key>.epub`` from the bundle key
(:attr:`exporter.bundles.Bundle.file_name`): ``2024-W10`` (ISO week),
``2024-03`` (month), ``2024-03-04`` (day) or ``all``.  The key is the
bundle's own data, not the display title, and it is anchored at the end of
the name, so a series title holding a date cannot be mistaken for it.  The
title sent as the e-mail subject is the book's own ``dc:title``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

_KEYS = (
    ("week", re.compile(r"-(?P<y>\d{4})-W(?P<w>\d{2})$")),
    ("day", re.compile(r"-(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})$")),
    ("month", re.compile(r"-(?P<y>\d{4})-(?P<m>\d{2})$")),
    ("all", re.compile(r"(?:^|-)all$")),
)


@dataclass(frozen=True, slots=True)
class BookFile:
    """One ``*.epub`` of the folder and its period (``None`` for ``--by all``:
    such a book grows for ever and is never finished by itself)."""

    path: Path
    by: str  # week | day | month | all | unknown
    key: str
    start: dt.date | None
    end: dt.date | None

    @property
    def name(self) -> str:
        return self.path.name

    def finished(self, today: dt.date) -> bool:
        """Its last day has passed: no digest will be added to it any more."""
        return self.end is not None and self.end < today


def period_of(stem: str) -> tuple[str, str, dt.date | None, dt.date | None]:
    """``(by, key, first day, last day)`` from a book's file stem."""
    for by, pattern in _KEYS:
        m = pattern.search(stem)
        if not m:
            continue
        key = m.group(0).lstrip("-")
        try:
            if by == "week":
                start = dt.date.fromisocalendar(int(m["y"]), int(m["w"]), 1)
                return by, key, start, start + dt.timedelta(days=6)
            if by == "day":
                day = dt.date(int(m["y"]), int(m["m"]), int(m["d"]))
                return by, key, day, day
            if by == "month":
                start = dt.date(int(m["y"]), int(m["m"]), 1)
                nxt = (start + dt.timedelta(days=32)).replace(day=1)
                return by, key, start, nxt - dt.timedelta(days=1)
        except (ValueError, OverflowError):  # not a date, or one at the end of the calendar
            break
        return by, key, None, None
    return "unknown", stem, None, None


#: Which file of a book made for several device profiles goes by e-mail
#: (Send to Kindle): the kindle profile's, else the plain EPUB; a KEPUB last.
_SEND_ORDER = ("kindle", "generic", "koreader", "kobo")


def find_books(folder: Path) -> list[BookFile]:
    """Every ``*.epub`` directly inside *folder*, oldest period first; of a book present
    once per device profile (``NAME.epub``, ``NAME.kindle.epub``...), the one to send."""
    from ..books.devices import split_suffix

    chosen: dict[str, tuple[int, BookFile]] = {}
    for path in sorted(Path(folder).glob("*.epub")):
        if path.is_file():
            stem, device = split_suffix(path.name)
            by, key, start, end = period_of(stem)
            rank = _SEND_ORDER.index(device.name)
            if stem not in chosen or rank < chosen[stem][0]:
                chosen[stem] = (rank, BookFile(path, by, key, start, end))
    return sorted((book for _, book in chosen.values()), key=lambda b: (b.start or dt.date.max, b.name))


def book_title(path: Path) -> str:
    """The book's ``dc:title`` (the file name if it cannot be read)."""
    import zipfile

    from ..site.opds import read_book

    try:
        return read_book(path).title
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, SyntaxError, EOFError, RuntimeError,
            NotImplementedError):  # damaged, too large, encrypted, unknown compression
        return path.stem
