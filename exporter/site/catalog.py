"""The shape of the OPDS catalog: which pages exist, which books each lists, how they link.

``catalog.opds`` is the URL people subscribe and sync to, so it stays an
acquisition feed of finished books, newest first (OPDS 1.2 section 4.1,
``http://opds-spec.org/sort/new``).  KOReader's sync takes the first entry
as the newest, follows ``next`` pages and stops at the download it fetched
last time (koreader plugins/opds.koplugin/opdsbrowser.lua,
``getSyncDownloadList``): a book still being written under a URL it already
fetched would stay partial on the device, hence finished books only there.

Pages are cut from the oldest book (RFC 5005 section 4, archived feeds):
``catalog/page-1.opds`` holds the 25 oldest books and never changes again,
and ``catalog.opds`` holds the newest 1 to 25.  A new book changes the head
(and, once in 25 books, the page before it): never every page.

The unfinished book is offered in ``catalog-current.opds`` (a facet of
every page), its download URL carrying a hash of the file's bytes, so a
client that browses there fetches new content when it changes.
"""

from __future__ import annotations

import datetime as dt
import stat
from dataclasses import dataclass
from pathlib import Path

from .book import Book

PAGE_SIZE = 25
HEAD = "catalog"
CURRENT = "catalog-current"
CRAWLABLE = "catalog/crawlable"
EPUB_TYPE = "application/epub+zip"
#: Kobo's kepub (an EPUB with Kobo spans), as calibre's and Kobo's stores label it.
KEPUB_TYPE = "application/kepub+zip"


@dataclass(frozen=True, slots=True)
class BookFile:
    """One published file of a book: its name beside the book, media type and length."""

    name: str
    type: str
    length: int


@dataclass(frozen=True, slots=True)
class CatalogBook:
    """A book as its entries show it."""

    book: Book
    files: tuple[BookFile, ...]  # EPUB first
    cover: tuple[str, str] | None = None  # (file name, media type)
    thumbnail: str | None = None  # a JPEG file name
    version: str | None = None  # a hash of the bytes, in the URL of an unfinished book

    @property
    def year(self) -> int:
        """The year the book is listed under ("By year"): its last day's, but for a book of a
        week or less across a new year, the year that holds most of its days (an ISO week's year,
        ISO 8601: 2022-W52, 2022-12-26 to 2023-01-01, is a book of 2022)."""
        if self.book.period:
            first, last = self.book.period
            if first.year != last.year and (last - first).days < 7:
                return first.year if (dt.date(last.year, 1, 1) - first).days > (last - first).days // 2 else last.year
            return last.year
        return (self.book.modified or dt.datetime(2000, 1, 1)).year


@dataclass(frozen=True, slots=True)
class Page:
    """One document of the catalog; *stem* is its path without ``.opds``/``.json``."""

    stem: str
    title: str
    kind: str  # "paged", "current" or "crawlable"
    books: tuple[CatalogBook, ...]  # in the order the page lists them
    links: tuple[tuple[str, str], ...]  # (rel, stem)
    year: int | None = None  # the active "By year" facet


@dataclass(frozen=True, slots=True)
class Facets:
    """What every page offers to browse: years (with their counts), selections."""

    years: tuple[tuple[int, int], ...]  # (year, books), newest first
    selections: tuple[tuple[str, str], ...]  # (name, title)


def book_files(path: Path) -> tuple[BookFile, ...]:
    """The book's file and every device profile's copy published beside it (``NAME.epub``,
    ``NAME.kindle.epub``, ``NAME.kepub.epub``, ...), *path* first: a client that takes an entry's
    first acquisition link (KOReader's sync) gets the build's first profile."""
    from ..books.devices import PROFILES, split_suffix
    from ..output import is_ours

    stem, own = split_suffix(path.name)
    files = [BookFile(path.name, KEPUB_TYPE if own.kepub else EPUB_TYPE, path.stat().st_size)]
    for device in PROFILES.values():
        sibling = path.with_name(stem + device.suffix)
        if sibling.name == path.name:
            continue
        try:
            st = sibling.stat()
        except OSError:
            continue
        # Only a copy the program wrote (the state's, or marked as it writes books): a file of
        # the user's at a profile's name is never published as the book's Kobo or Kindle copy.
        if stat.S_ISREG(st.st_mode) and is_ours(sibling):
            files.append(BookFile(sibling.name, KEPUB_TYPE if device.kepub else EPUB_TYPE, st.st_size))
    return tuple(files)


def is_finished(book: Book, today: dt.date) -> bool:
    """A book is finished once its last day has passed.  One of unknown period (none in its
    metadata, or a date out of the range the reader accepts, such as 2999) is never finished:
    a reading app that syncs finished books (KOReader) must not take it for one; nor is a book
    of everything (``NAME-all.epub``, ``--by all``), which grows with the archive, as ``send``
    and ``--finished-only`` have it (the dates gate's reading of its name)."""
    from ..books.devices import split_suffix
    from ..gates.dates import named_period

    if named_period(split_suffix(book.path.name)[0])[0] == "all":
        return False
    return book.period is not None and book.period[1] < today


def paged(books: list[CatalogBook], head: str, pages_prefix: str, title: str,
          year: int | None = None) -> list[Page]:
    """*books* (newest first) as pages of :data:`PAGE_SIZE`, cut from the oldest."""
    oldest_first = books[::-1]
    count = max(1, -(-len(oldest_first) // PAGE_SIZE))
    chunks = [oldest_first[i * PAGE_SIZE:(i + 1) * PAGE_SIZE] for i in range(count)]

    def stem(k: int) -> str:
        return head if k == count else f"{pages_prefix}page-{k}"

    pages = []
    for k in range(count, 0, -1):
        links = [("first", stem(count)), ("last", stem(1))]
        if k < count:
            links.append(("previous", stem(k + 1)))
        if k > 1:
            links.append(("next", stem(k - 1)))
        # Not "k of count": the count changes with every 25th book, and with it every page.
        name = title if k == count else f"{title}, page {k}"
        pages.append(Page(stem(k), name, "paged", tuple(chunks[k - 1][::-1]), tuple(links), year))
    return pages


def plan_pages(books: list[CatalogBook], *, title: str, today: dt.date,
               selections: tuple[tuple[str, str], ...] = ()) -> tuple[list[Page], Facets]:
    """Every page of the catalog of *books* (newest first) and the facets they share."""
    finished = [b for b in books if is_finished(b.book, today)]
    current = [b for b in books if not is_finished(b.book, today)]
    pages = paged(finished, HEAD, "catalog/", title)
    by_year: dict[int, list[CatalogBook]] = {}
    for book in finished:
        by_year.setdefault(book.year, []).append(book)
    for year in sorted(by_year, reverse=True):
        pages += paged(by_year[year], f"catalog/year-{year}", f"catalog/year-{year}-", f"{title}: {year}", year)
    pages.append(Page(CURRENT, f"{title}: in progress", "current", tuple(current), ()))
    crawl = sorted(finished, key=lambda b: (b.book.modified or dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc),
                                             b.book.path.name), reverse=True)
    pages.append(Page(CRAWLABLE, f"{title}: every book", "crawlable", tuple(crawl), ()))
    facets = Facets(tuple((y, len(by_year[y])) for y in sorted(by_year, reverse=True)), tuple(selections))
    return pages, facets
