"""Synthetic archives for the catalog tests: many books without building EPUBs.

A "book" here is a small file named like a real one and a :class:`Book`
record given to the catalog writer as its reader, the way ``build`` gives it
the records it kept: ten years of daily books are written in seconds.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from exporter.feeds.writer import FeedReport
from exporter.site.opds import Book, write_catalog

UTC = dt.timezone.utc
OPDS = "application/atom+xml;profile=opds-catalog;kind=acquisition"
ATOM = "{http://www.w3.org/2005/Atom}"
OPDS_NS = "{http://opds-spec.org/2010/catalog}"
THR_NS = "{http://purl.org/syndication/thread/1.0}"
FACET = "http://opds-spec.org/facet"
ACQ = "http://opds-spec.org/acquisition"


def day_book(out: Path, day: dt.date) -> Book:
    """A daily book of *day*, its file (a few bytes) written in *out*."""
    path = out / f"daily-papers-{day.isoformat()}.epub"
    if not path.exists():
        path.write_bytes(b"PK epub of " + day.isoformat().encode())
    return Book(path=path, title=f"Daily Papers {day.isoformat()}", identifier=f"urn:x-test:{day.isoformat()}",
                modified=dt.datetime(day.year, day.month, day.day, 6, tzinfo=UTC), creators=("Daily Papers",),
                language="en", description=f"Summaries: 3 papers, 1 day, {day.isoformat()}.",
                series="Daily Papers", series_index=str(day.toordinal()), size=path.stat().st_size,
                period=(day, day), cover=None)


def write_days(out: Path, first: dt.date, count: int, *, today: dt.date | None = None, base_url=None,
               selections=()) -> FeedReport:
    """The catalog of *count* daily books from *first*, as on *today* (default: the day after the last)."""
    out.mkdir(parents=True, exist_ok=True)
    days = [first + dt.timedelta(days=i) for i in range(count)]
    books = {day_book(out, d).path: day_book(out, d) for d in days}
    report = FeedReport(title="Daily Papers")
    write_catalog(out, base_url, report, reader=books.__getitem__, books=list(books),
                  today=today or days[-1] + dt.timedelta(days=1), selections=selections)
    return report


def links(root, rel: str) -> list:
    return [link for link in root.findall(f"{ATOM}link") if link.get("rel") == rel]


def parse(path: Path):
    from lxml import etree

    return etree.parse(str(path)).getroot()
