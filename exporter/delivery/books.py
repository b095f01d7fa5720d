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


class BookTooLarge(ValueError):
    """A book over the size limit, found by ``stat`` before it is read."""

    def __init__(self, size: int):
        super().__init__(f"{size} bytes")
        self.size = size


class NotABook(ValueError):
    """A file that is not a readable EPUB; the message says why."""


#: The most bytes a book may inflate to (its members together): a zip bomb
#: under --max-size must not cost minutes of CPU to check.
MAX_INFLATED = 2 * 1024 ** 3


def read_book_file(path: Path, limit: int) -> bytes:
    """The bytes of the book at *path* if it is a regular file of at most
    *limit* bytes (checked with ``stat`` on the open file, before reading)
    and a readable EPUB: a zip whose first member is the ``mimetype`` file
    saying ``application/epub+zip``, stored (OCF 3.3 section 4.3), with a
    ``META-INF/container.xml``, and every member's CRC right (a truncated or
    damaged book is not mailed).  OSError, :class:`BookTooLarge`,
    :class:`NotABook`."""
    import io
    import zipfile
    import zlib

    from ..gates import documents

    try:
        data = documents.read(path, limit=limit)
    except documents.TooLarge as err:
        raise BookTooLarge(err.size) from None
    except documents.DocumentDamaged as err:
        raise NotABook(str(err)) from None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
            if not infos or infos[0].filename != "mimetype" or infos[0].compress_type != zipfile.ZIP_STORED:
                raise NotABook("not an EPUB (no stored 'mimetype' first in the zip)")
            if z.read(infos[0]) != b"application/epub+zip":
                raise NotABook("not an EPUB (its 'mimetype' is not application/epub+zip)")
            if "META-INF/container.xml" not in z.namelist():
                raise NotABook("not an EPUB (no META-INF/container.xml)")
            if sum(i.file_size for i in infos) > MAX_INFLATED:
                raise NotABook("its members inflate to more than 2 GiB")
            bad = z.testzip()
            if bad is not None:
                raise NotABook(f"damaged: {bad} does not match its checksum")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError,
            ValueError, OSError) as err:
        if isinstance(err, NotABook):
            raise
        raise NotABook(f"not a readable EPUB (a damaged or truncated zip: {type(err).__name__})") from None
    return data
