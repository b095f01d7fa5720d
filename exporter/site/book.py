"""One book as the catalog knows it: what its EPUB's package document says."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from ..feeds.entries import UTC, tag_uri
from ..gates.documents import usable_as_id

EPOCH = dt.datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Book:
    """What the catalog says about one EPUB file."""

    path: Path
    title: str
    identifier: str | None
    modified: dt.datetime | None
    creators: tuple[str, ...]
    language: str | None
    description: str | None
    series: str | None
    series_index: str | None
    size: int
    period: tuple[dt.date, dt.date] | None
    cover: tuple[bytes, str] | None  # (bytes, media type)
    #: The catalog's id for the book when its identifier is another book's too (a copy under
    #: another name): set by the catalog (:func:`exporter.site.opds.unique_entry_ids`).
    entry_id: str | None = None
    #: Why a cover the book's package document names is not used (listed without one), for a
    #: warning naming the book.
    cover_note: str | None = None

    @property
    def updated(self) -> dt.datetime:
        """When the book's content last changed (its ``dcterms:modified``), never the build time."""
        return self.modified or EPOCH


def book_entry_id(book: Book) -> str:
    """The book's identifier when it is a URI, else a tag: URI made from it (or the id the
    catalog gave it, when another book of the folder has its identifier)."""
    if book.entry_id:
        return book.entry_id
    if usable_as_id(book.identifier):
        return book.identifier
    return tag_uri(2024, "book/" + (book.identifier or book.path.name))


def book_summary(book: Book) -> str:
    parts = []
    if book.period:
        a, b = book.period
        parts.append(a.isoformat() if a == b else f"{a.isoformat()} to {b.isoformat()}")
    if book.series:
        parts.append(f"Series: {book.series}" + (f" #{book.series_index}" if book.series_index else ""))
    if book.description:
        parts.append(book.description.rstrip(". "))
    parts.append(f"EPUB, {book.size / 1024:.0f} KiB")
    return ". ".join(parts)
