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

import dataclasses
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from ..gates.dates import named_period


@dataclass(frozen=True, slots=True)
class BookFile:
    """One ``*.epub`` of the folder and its period (``None`` for ``--by all``:
    such a book grows for ever and is never finished by itself)."""

    path: Path
    by: str  # week | day | month | all | unknown
    key: str
    start: dt.date | None
    end: dt.date | None
    #: Every device profile's file of this book (``NAME.epub``, ``NAME.kindle.epub``...), *path*
    #: first: one book for the reader, so a copy of any of them (``latest.epub`` holds the first
    #: profile's bytes, which need not be the file that is mailed) is a copy of this book.
    files: tuple[Path, ...] = ()

    @property
    def name(self) -> str:
        return self.path.name

    def finished(self, today: dt.date) -> bool:
        """Its last day has passed: no digest will be added to it any more."""
        return self.end is not None and self.end < today


def period_of(stem: str) -> tuple[str, str, dt.date | None, dt.date | None]:
    """``(by, key, first day, last day)`` from a book's file stem (the dates gate)."""
    return named_period(stem)


#: Which file of a book made for several device profiles goes by e-mail
#: (Send to Kindle): the kindle profile's, else the plain EPUB; a KEPUB last.
_SEND_ORDER = ("kindle", "generic", "koreader", "kobo")


@dataclass(frozen=True, slots=True)
class Shelf:
    """What :func:`find_books` found: the books, and each ``*.epub`` that is not a
    regular file (a named pipe, a device, a folder, a link to nothing) with why."""

    books: list[BookFile]
    unreadable: list[tuple[Path, str]]


def find_books(folder: Path) -> Shelf:
    """Every ``*.epub`` directly inside *folder*, oldest period first; of a book present
    once per device profile (``NAME.epub``, ``NAME.kindle.epub``...), the one to send.

    A name ending in ``.epub`` that is not a regular file is not skipped in silence
    (as the file gate's walk reports special files among inputs): a FIFO, a device, a
    folder or a dangling link where a book should be is reported, and the run ends
    with exit status 1.  Nothing is opened to find out (``lstat``/``stat`` only)."""
    import os

    from ..books.devices import split_suffix

    chosen: dict[str, tuple[int, BookFile]] = {}
    profiles: dict[str, list[tuple[int, Path]]] = {}
    unreadable: list[tuple[Path, str]] = []
    with os.scandir(folder) as it:
        entries = sorted((e for e in it if e.name.endswith(".epub")), key=lambda e: e.name)
    for entry in entries:
        path = Path(entry.path)
        why = _not_a_file(path)
        if why is not None:
            unreadable.append((path, why))
            continue
        stem, device = split_suffix(path.name)
        by, key, start, end = period_of(stem)
        rank = _SEND_ORDER.index(device.name)
        profiles.setdefault(stem, []).append((rank, path))
        if stem not in chosen or rank < chosen[stem][0]:
            chosen[stem] = (rank, BookFile(path, by, key, start, end))
    books = sorted((dataclasses.replace(book, files=tuple(p for _, p in sorted(profiles[stem])))
                    for stem, (_, book) in chosen.items()), key=lambda b: (b.start or dt.date.max, b.name))
    return Shelf(books, unreadable)


def _not_a_file(path: Path) -> str | None:
    """Why *path* is not a regular file (links followed), or None if it is one."""
    from ..gates import files as gate_files

    return gate_files.not_a_file(path)


def same_book(a: Path, b: Path) -> bool:
    """*a* and *b* are the same book: one file (a symbolic or hard link), or a copy of the
    same bytes (``latest.epub``).  Sizes are compared first (``stat``); bytes only when
    they agree."""
    import os

    sa, sb = os.stat(a), os.stat(b)
    if (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino):
        return True
    return sa.st_size == sb.st_size and file_sha256(a) == file_sha256(b)


def file_sha256(path: Path) -> str:
    """The SHA-256 of the regular file *path*, read in pieces through the file gate."""
    import hashlib

    from ..gates import files as gate_files

    fh, _ = gate_files.open_regular(path, gate_files.BOOK_LIMIT)
    digest = hashlib.sha256()
    with fh:
        for piece in iter(lambda: fh.read(1 << 20), b""):
            digest.update(piece)
    return digest.hexdigest()


def book_facts(path: Path) -> tuple[str, str | None, dt.date | None]:
    """The book's ``dc:title`` (the file name if it cannot be read), unique identifier and the
    last day of the period its metadata says it covers (each None when it has none), through
    the EPUB gate."""
    import zipfile

    from ..site.opds import read_book

    try:
        book = read_book(path)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, SyntaxError, EOFError, RuntimeError,
            NotImplementedError):  # damaged, too large, encrypted, unknown compression
        return path.stem, None, None
    return book.title, book.identifier, book.period[1] if book.period else None




def misnamed(book: BookFile) -> str | None:
    """Why *book*'s file name lies about its period, or None.  The period in a name is only a
    name: a copy of the week-10 book saved as ``...-2024-W01.epub`` carries week 10 in its own
    metadata (``dc:coverage``, else ``dc:date``, read as the catalog reads them).  Such a file
    is not a book of the period its name says, so it is never mailed or recorded under that
    name (the book of those bytes goes out under its own).  A book whose metadata gives no
    period, or one out of range, is taken at its name's word."""
    import zipfile

    from ..site.opds import read_book

    if book.start is None or book.end is None:
        return None
    try:
        period = read_book(book.path).period
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, SyntaxError, EOFError, RuntimeError,
            NotImplementedError):  # the send reports a book it cannot read
        return None
    if period is None or (book.start <= period[0] and period[1] <= book.end):
        return None
    first, last = period
    days = first.isoformat() if first == last else f"{first.isoformat()} – {last.isoformat()}"
    return (f"its name says {book.key}, but the book is of {days} (its metadata): a copy under "
            "another period's name is not sent; rename or remove it")


class BookTooLarge(ValueError):
    """A book over the size limit, found by ``stat`` before it is read."""

    def __init__(self, size: int):
        super().__init__(f"{size} bytes")
        self.size = size


class NotABook(ValueError):
    """A file that is not a readable EPUB; the message says why."""


def read_book_file(path: Path, limit: int) -> bytes:
    """The bytes of the book at *path* if it is a regular file of at most
    *limit* bytes (checked with ``stat`` on the open file, before reading)
    and a readable EPUB as the EPUB container gate checks one (OCF 3.3:
    ``mimetype`` first at offset 0, stored; no duplicate names; a container
    that names a package document that is there; every checksum right): a
    truncated, damaged or foreign file is not mailed.  OSError,
    :class:`BookTooLarge`, :class:`NotABook`."""
    from ..gates import documents
    from ..gates.epub import NotAnEpub, check_epub

    try:
        data = documents.read(path, limit=limit)
    except documents.TooLarge as err:
        raise BookTooLarge(err.size) from None
    except documents.DocumentDamaged as err:
        raise NotABook(str(err)) from None
    try:
        check_epub(data)
    except NotAnEpub as err:
        raise NotABook(str(err)) from None
    return data
