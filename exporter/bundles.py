"""Grouping digests into books: one per ISO week (default), day, month, or all.

A :class:`Bundle` is what one EPUB holds.  Its ``key`` (``2024-W10``,
``2024-03-04``, ``2024-03`` or ``all``) names the file and, with the series
title, derives the book's identifier, so the identifier of a week stays the
same when a day is added to it.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .model import Digest, visible_text

DEFAULT_TITLE = "Daily Papers"


class BundleBy(str, enum.Enum):
    """How digests are grouped into books."""

    WEEK = "week"
    DAY = "day"
    MONTH = "month"
    ALL = "all"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Bundle:
    """The digests of one book, in date order.

    ``start``/``end`` is the calendar period (a whole ISO week or month; for
    ``all``, the first and last digest dates); ``position`` is a stable,
    sortable series index (``202410`` for 2024-W10, ``20240304`` for a day).
    """

    key: str
    by: BundleBy
    title: str
    start: dt.date
    end: dt.date
    digests: tuple[Digest, ...]
    position: int
    #: The end of the file name: ``.epub``, or a device profile's
    #: (``.kepub.epub``, see exporter.books.devices).
    suffix: str = ".epub"

    @property
    def days(self) -> int:
        return len(self.digests)

    @property
    def paper_count(self) -> int:
        return sum(len(d.papers) for d in self.digests)

    @property
    def file_name(self) -> str:
        """``daily-papers-2024-W10.epub``: safe to join to any output folder."""
        return f"{slugify(self.title)}-{self.key}{self.suffix}"


_NOT_WORD = re.compile(r"[^\w]+")

#: The ending the program gives a book's name (``...-2024-W10.epub``, ``...-2024-03-04.epub``,
#: ``...-2024-03.kindle.epub``, ``...-all.epub``): :attr:`Bundle.file_name`.
PERIOD_NAME = re.compile(r"-(?:[0-9]{4}-W[0-9]{2}|[0-9]{4}-[0-9]{2}(?:-[0-9]{2})?|all)(?:\.[a-z]+)?\.epub$")


def is_book_name(name: str) -> bool:
    """Whether *name* is of the form the program gives a book's file (its title, then its period)."""
    return PERIOD_NAME.search(name) is not None


# File names are limited to 255 bytes on most file systems (ext4, APFS,
# btrfs; NTFS counts 255 UTF-16 units); a slug leaves room for the period
# key and the longest suffix (``-2024-W10.cover.jpg``, a ``.tmp`` name).
MAX_SLUG_BYTES = 150


# Cached: a run asks for each book's file name again and again (planning, writing, the catalog,
# stale files), and every book of a series has one title.
@functools.lru_cache(maxsize=256)
def slugify(text: str, *, fallback: str = "papers", max_length: int = 60) -> str:
    """A file-name stem from *text*: lower-case word characters joined by ``-``.

    Path separators, dots and every other punctuation become ``-``, so the
    result can never leave the output folder nor be a hidden file
    (``../../x`` -> ``x``).  Unicode letters (Korean titles) are kept.
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    slug = _NOT_WORD.sub("-", text).replace("_", "-")
    slug = re.sub(r"-{2,}", "-", slug).strip("-")[:max_length]
    # At most MAX_SLUG_BYTES of UTF-8, cut at a character boundary.
    slug = slug.encode("utf-8", "replace")[:MAX_SLUG_BYTES].decode("utf-8", "ignore").strip("-")
    return slug or fallback


def series_title(digests: Iterable[Digest]) -> str:
    """The most common digest title (ties: the earliest), or the default."""
    counts = Counter(d.title for d in digests if d.title)
    if not counts:
        return DEFAULT_TITLE
    best = max(counts.values())
    return next(t for t in counts if counts[t] == best)


def _period(by: BundleBy, day: dt.date) -> tuple[str, dt.date, dt.date, int]:
    if by is BundleBy.DAY:
        return day.isoformat(), day, day, int(day.strftime("%Y%m%d"))
    if by is BundleBy.MONTH:
        start = day.replace(day=1)
        nxt = (start + dt.timedelta(days=32)).replace(day=1)
        return f"{day:%Y-%m}", start, nxt - dt.timedelta(days=1), day.year * 100 + day.month
    year, week, weekday = day.isocalendar()
    start = day - dt.timedelta(days=weekday - 1)
    return f"{year}-W{week:02d}", start, start + dt.timedelta(days=6), year * 100 + week


def make_bundles(
    digests: Sequence[Digest],
    by: BundleBy | str = BundleBy.WEEK,
    *,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    title: str | None = None,
) -> list[Bundle]:
    """Group *digests* (any order) into bundles sorted by period.

    ``date_from``/``date_to`` keep only digests dated inside them (inclusive).
    ``title`` overrides the series title taken from the digests.
    """
    by = BundleBy(by)
    chosen = sorted(
        (d for d in digests
         if (date_from is None or d.date >= date_from) and (date_to is None or d.date <= date_to)),
        key=lambda d: d.date,
    )
    # The one cleaning of a title given as an option or in the config (the
    # feeds use the same clean_text): no control, bidi or noncharacter.
    series = visible_text(title) or series_title(chosen)
    if not chosen:
        return []
    if by is BundleBy.ALL:
        first, last = chosen[0].date, chosen[-1].date
        return [Bundle("all", by, series, first, last, tuple(chosen), 1)]
    groups: dict[str, list[Digest]] = {}
    periods: dict[str, tuple[dt.date, dt.date, int]] = {}
    for digest in chosen:
        key, start, end, position = _period(by, digest.date)
        groups.setdefault(key, []).append(digest)
        periods[key] = (start, end, position)
    return [
        Bundle(key, by, series, *periods[key][:2], tuple(group), periods[key][2])
        for key, group in groups.items()
    ]
