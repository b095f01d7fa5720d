"""The OPDS 1.2 catalog: paged newest first, finished books only, facets, crawlable feed, kepub links."""

from __future__ import annotations

import datetime as dt
import time

import feedparser
import pytest
from catalog_helpers import ACQ, ATOM, FACET, OPDS, OPDS_NS, THR_NS, day_book, links, parse, write_days

from exporter.feeds.writer import FeedReport
from exporter.site.opds import write_catalog

BASE = "https://example.org/papers/"
START = dt.date(2024, 12, 1)


def _all_pages(out):
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*.opds"))


def _walk(out, first="catalog.opds"):
    """The entries met following ``next`` from *first*, as a client does, and the pages visited."""
    titles, pages, name = [], [], first
    while name:
        pages.append(name)
        root = parse(out / name)
        titles += [e.findtext(f"{ATOM}title") for e in root.findall(f"{ATOM}entry")]
        nxt = links(root, "next")
        name = nxt[0].get("href").removeprefix(BASE) if nxt else None
    return titles, pages


def test_catalog_is_paged_newest_first_with_stable_pages(tmp_path):
    out = tmp_path / "out"
    write_days(out, START, 60, base_url=BASE)
    titles, pages = _walk(out)
    assert pages == ["catalog.opds", "catalog/page-2.opds", "catalog/page-1.opds"]
    expected = [f"Daily Papers {(START + dt.timedelta(days=i)).isoformat()}" for i in range(59, -1, -1)]
    assert titles == expected  # newest first, each book once, across the pages
    head = parse(out / "catalog.opds")
    assert len(head.findall(f"{ATOM}entry")) == 10  # pages are cut from the oldest: the head holds the rest
    rel = {r: links(head, r)[0].get("href") for r in ("self", "start", "up", "first", "last", "next")}
    assert rel == {"self": BASE + "catalog.opds", "start": BASE + "catalog.opds", "up": BASE + "catalog.opds",
                   "first": BASE + "catalog.opds", "last": BASE + "catalog/page-1.opds",
                   "next": BASE + "catalog/page-2.opds"}
    assert links(head, "http://opds-spec.org/sort/new")[0].get("href") == BASE + "catalog.opds"
    middle = parse(out / "catalog/page-2.opds")
    assert links(middle, "previous")[0].get("href") == BASE + "catalog.opds"
    assert links(middle, "self")[0].get("href") == BASE + "catalog/page-2.opds"
    for page in _all_pages(out):
        parsed = feedparser.parse(str(out / page))
        assert not parsed.bozo, (page, parsed.get("bozo_exception"))
        root = parse(out / page)
        for r in ("self", "start", "up", "alternate", "http://opds-spec.org/crawlable"):
            assert links(root, r), (page, r)
        assert all(link.get("type") == OPDS for r in ("self", "start", "up") for link in links(root, r))
        assert len(root.findall(f"{ATOM}entry")) <= 25 or page == "catalog/crawlable.opds"


def test_a_new_day_rewrites_only_the_pages_that_change(tmp_path):
    out = tmp_path / "out"
    write_days(out, START, 60, base_url=BASE)
    again = write_days(out, START, 60, base_url=BASE)
    assert {p.name for p, s in again.files if s.value != "unchanged"} == set()
    next_day = write_days(out, START, 61, base_url=BASE)
    changed = sorted(p.relative_to(out).as_posix() for p, s in next_day.files if s.value != "unchanged")
    # the head, the year the book is in (2025: its head page), the crawlable feed
    assert changed == ["catalog.json", "catalog.opds", "catalog/crawlable.json", "catalog/crawlable.opds",
                       "catalog/year-2025.json", "catalog/year-2025.opds"], changed


def test_finished_books_only_and_the_current_one_apart(tmp_path):
    out = tmp_path / "out"
    write_days(out, START, 5, today=START + dt.timedelta(days=4), base_url=BASE)
    head = parse(out / "catalog.opds")
    assert [e.findtext(f"{ATOM}title") for e in head.findall(f"{ATOM}entry")][0] == "Daily Papers 2024-12-04"
    current = parse(out / "catalog-current.opds")
    (entry,) = current.findall(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}title") == "Daily Papers 2024-12-05"
    href = links(entry, ACQ)[0].get("href")
    assert href.startswith(BASE + "daily-papers-2024-12-05.epub?v=")
    # new bytes, new URL: a client that remembers the URL fetches the new content
    (out / "daily-papers-2024-12-05.epub").write_bytes(b"PK more papers today")
    write_days(out, START, 5, today=START + dt.timedelta(days=4), base_url=BASE)
    assert links(parse(out / "catalog-current.opds").find(f"{ATOM}entry"), ACQ)[0].get("href") != href
    facets = {f.get("title"): f for f in links(head, FACET) if f.get(f"{OPDS_NS}facetGroup") == "Status"}
    assert facets["In progress"].get("href") == BASE + "catalog-current.opds"
    assert facets["Finished books"].get(f"{OPDS_NS}activeFacet") == "true"


def test_year_facets_on_every_page(tmp_path):
    out = tmp_path / "out"
    write_days(out, dt.date(2023, 12, 20), 20, base_url=BASE)  # 12 books in 2023, 8 in 2024
    for page in _all_pages(out):
        root = parse(out / page)
        years = {f.get("title"): f for f in links(root, FACET) if f.get(f"{OPDS_NS}facetGroup") == "By year"}
        assert list(years) == ["2024", "2023"], page
        # RFC 4685 section 4: thr:count belongs to rel="replies" links (the W3C validator
        # rejects it elsewhere), and the newest year's would change every day: no facet has one
        assert not [k for f in root.iter() for k in f.attrib if k.startswith(THR_NS)], page
        assert THR_NS[1:-1] not in root.nsmap.values(), page
        active = [t for t, f in years.items() if f.get(f"{OPDS_NS}activeFacet") == "true"]
        assert active == (["2023"] if "2023" in page else ["2024"] if "2024" in page else []), page
    y2023 = parse(out / "catalog/year-2023.opds")
    titles = [e.findtext(f"{ATOM}title") for e in y2023.findall(f"{ATOM}entry")]
    assert titles[0] == "Daily Papers 2023-12-31" and len(titles) == 12


def test_year_feeds_are_paged(tmp_path):
    out = tmp_path / "out"
    write_days(out, dt.date(2024, 1, 1), 60, base_url=BASE)
    titles, pages = _walk(out, "catalog/year-2024.opds")
    assert pages == ["catalog/year-2024.opds", "catalog/year-2024-page-2.opds", "catalog/year-2024-page-1.opds"]
    assert len(titles) == len(set(titles)) == 60


def test_crawlable_feed_is_complete_and_ordered_by_updated(tmp_path):
    out = tmp_path / "out"
    write_days(out, START, 30, base_url=BASE)
    root = parse(out / "catalog/crawlable.opds")
    assert root.find("{http://purl.org/syndication/history/1.0}complete") is not None
    updated = [e.findtext(f"{ATOM}updated") for e in root.findall(f"{ATOM}entry")]
    assert len(updated) == 30 and updated == sorted(updated, reverse=True)
    assert not links(root, "next")


def test_selections_are_facets_relative_to_the_base(tmp_path):
    out = tmp_path / "out"
    write_days(out, START, 30, selections=(("llm", "Language models"), ("vision", "Vision")))
    for page, prefix in (("catalog.opds", ""), ("catalog/page-1.opds", "../")):
        root = parse(out / page)
        sel = [(f.get("title"), f.get("href")) for f in links(root, FACET)
               if f.get(f"{OPDS_NS}facetGroup") == "Selections"]
        assert sel == [("Language models", prefix + "llm/catalog.opds"), ("Vision", prefix + "vision/catalog.opds")]
    # the same writer makes a selection's own catalog in its folder, under its own URL
    sub = tmp_path / "out" / "llm"
    write_days(sub, START, 3, base_url=BASE + "llm/")
    assert links(parse(sub / "catalog.opds"), "self")[0].get("href") == BASE + "llm/catalog.opds"
    assert links(parse(sub / "catalog.opds").find(f"{ATOM}entry"), ACQ)[0].get("href").startswith(BASE + "llm/")


def test_a_kepub_beside_the_book_is_a_second_acquisition_link(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    book = day_book(out, START)
    from hostile_three import marked_document

    kepub = out / "daily-papers-2024-12-01.kepub.epub"
    kepub.write_bytes(marked_document(kepub.name))  # a Kobo copy the program wrote (its mark)
    report = FeedReport(title="Daily Papers")
    write_catalog(out, BASE, report, today=START + dt.timedelta(days=1), reader=lambda p: book)
    assert report.books == 1  # the kepub is a file of the book, not a book
    entry = parse(out / "catalog.opds").find(f"{ATOM}entry")
    acq = [(link.get("href"), link.get("type"), link.get("length")) for link in links(entry, ACQ)]
    assert acq == [(BASE + "daily-papers-2024-12-01.epub", "application/epub+zip", str(book.size)),
                   (BASE + kepub.name, "application/kepub+zip", str(kepub.stat().st_size))]
    assert entry.findtext("{http://purl.org/dc/terms/}issued") == "2024-12-01"
    assert entry.findtext("{http://purl.org/dc/elements/1.1/}language") == "en"  # the validator knows it there
    assert "1 day" in entry.findtext(f"{ATOM}summary")
    # A file of the user's at that name (not an EPUB at all, or another's book) is never published
    # as the book's Kobo copy.
    kepub.write_bytes(b"mine\n")
    write_catalog(out, BASE, FeedReport(title="Daily Papers"), today=START + dt.timedelta(days=1), reader=lambda p: book)
    assert "kepub" not in (out / "catalog.opds").read_text("utf-8")


def test_ten_years_of_daily_books_keep_pages_small_and_the_build_fast(tmp_path):
    out = tmp_path / "out"
    began = time.perf_counter()
    write_days(out, dt.date(2015, 1, 1), 3650, base_url=BASE)
    took = time.perf_counter() - began
    sizes = {p: (out / p).stat().st_size for p in _all_pages(out)}
    assert took < 60, took  # about 8 s on a quiet 2-core machine
    assert max(s for p, s in sizes.items() if "crawlable" not in p) < 60_000
    assert sizes["catalog/crawlable.opds"] < 5_000_000  # what the W3C validator and feed readers accept
    titles, pages = _walk(out)
    assert len(titles) == len(set(titles)) == 3650 and len(pages) == 146
    # the 3,651st book opens a new head page: the pages before it stay as they are, but the one it follows
    report = write_days(out, dt.date(2015, 1, 1), 3651, base_url=BASE)
    changed = sorted(p.relative_to(out).as_posix() for p, s in report.files if s.value != "unchanged")
    assert changed == ["catalog.json", "catalog.opds", "catalog/crawlable.json", "catalog/crawlable.opds",
                       "catalog/page-145.json", "catalog/page-145.opds", "catalog/page-146.json",
                       "catalog/page-146.opds", "catalog/year-2024.json", "catalog/year-2024.opds"], changed


@pytest.mark.parametrize("base_url", ["https://example.org:8443/책/papers/", None])
def test_base_url_with_port_path_and_non_ascii(tmp_path, base_url):
    from exporter.feeds.writer import normalize_base_url

    out = tmp_path / "out"
    base = normalize_base_url(base_url)
    write_days(out, START, 30, base_url=base)
    root = parse(out / "catalog/page-1.opds")
    href = links(root, "self")[0].get("href")
    assert href == (base + "catalog/page-1.opds" if base else "page-1.opds")
    assert href.isascii()
    assert not feedparser.parse(str(out / "catalog/page-1.opds")).bozo


@pytest.mark.parametrize("url", ["https://example.org/p/?a=1", "https://example.org/p/#top"])
def test_base_url_with_query_or_fragment_is_refused(url):
    from exporter.errors import UsageError
    from exporter.feeds.writer import normalize_base_url

    with pytest.raises(UsageError, match="query|fragment"):
        normalize_base_url(url)


def test_build_refuses_a_base_url_with_a_query_and_writes_nothing(tmp_path):
    from click.testing import CliRunner

    from exporter.cli import main

    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["build", "-o", str(out), "--images", "none",
                                       "--base-url", "https://example.org/papers/?page=1"])
    assert result.exit_code == 2, result.output
    assert "query or a fragment" in result.output
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize("grayscale", [False, True])
def test_a_thumbnail_is_about_300_px_wide_looks_like_its_cover_and_is_the_same_bytes_each_time(grayscale):
    """The cover is decoded at a reduced scale (JPEG draft mode): the thumbnail is 240-400 px
    wide, keeps the cover's proportions, differs from a scaling of the whole cover by little, and
    is the same bytes for the same cover."""
    import io

    from PIL import Image, ImageChops, ImageStat

    from exporter.books.cover import CoverText, make_cover
    from exporter.site import opds

    for size, width in (((1400, 2100), 350), ((1072, 1448), 268), ((2560, 3840), 320), ((3000, 4000), 375)):
        cover = make_cover(CoverText("데일리 페이퍼", "2024-W10", "2024-03-04 – 2024-03-10", "57 papers",
                                     "7 days"), grayscale=grayscale, size=size)
        thumb = opds.make_thumbnail(cover)
        assert thumb == opds.make_thumbnail(cover)
        with Image.open(io.BytesIO(thumb)) as small, Image.open(io.BytesIO(cover)) as big:
            assert small.format == "JPEG" and small.width == width
            assert abs(small.height - size[1] * width / size[0]) <= 1
            whole = big.convert("RGB").resize(small.size, Image.Resampling.LANCZOS)
            diff = ImageStat.Stat(ImageChops.difference(small.convert("RGB"), whole)).mean
        assert max(diff) < 4, diff  # per channel, out of 255
        assert len(thumb) < 20_000
    # A picture that is not a JPEG (no reduced decoding) and too wide is scaled to 300 px.
    png = io.BytesIO()
    Image.new("RGB", (1000, 1500), (40, 90, 160)).save(png, format="PNG")
    with Image.open(io.BytesIO(opds.make_thumbnail(png.getvalue()))) as small:
        assert (small.format, small.size) == ("JPEG", (300, 450))


def test_a_weeks_book_is_listed_under_its_iso_week_year():
    """"By year" lists a week's book under the year of its ISO week (2022-W52 runs to 2023-01-01:
    a book of 2022), a day's and a month's under their own, a longer one under its last day's."""
    import datetime as dt
    from types import SimpleNamespace

    from exporter.site.catalog import CatalogBook

    def year(first: dt.date, last: dt.date) -> int:
        return CatalogBook(SimpleNamespace(period=(first, last)), ()).year  # type: ignore[arg-type]

    monday = dt.date(2015, 12, 28)
    while monday < dt.date(2031, 1, 1):
        assert year(monday, monday + dt.timedelta(days=6)) == monday.isocalendar().year, monday
        assert year(monday, monday) == monday.year
        monday += dt.timedelta(days=7)
    assert year(dt.date(2023, 12, 1), dt.date(2023, 12, 31)) == 2023
    assert year(dt.date(2022, 6, 1), dt.date(2024, 3, 1)) == 2024


@pytest.mark.parametrize("coverage, dates, period", [
    ([], ["2023"], ("2023-01-01", "2023-12-31")), ([], ["2024-03"], ("2024-03-01", "2024-03-31")),
    ([], ["2024-02"], ("2024-02-01", "2024-02-29")), (["2023/2024-06"], [], ("2023-01-01", "2024-06-30")),
    ([], ["2024-03-04T10:00:00Z"], ("2024-03-04", "2024-03-04")), ([], ["2024-13"], None), ([], ["20240"], None)])
def test_a_foreign_books_date_of_a_year_or_a_month_is_its_period(coverage, dates, period):
    """EPUB's dc:date takes the reduced precisions of ISO 8601 (W3C Date and Time Formats): a book
    dated 2023 or 2024-03 is finished after that year or month and listed under its year (it was
    "in progress" for ever, under no year)."""
    import datetime as dt

    from exporter.site.opds import _period

    want = None if period is None else tuple(dt.date.fromisoformat(d) for d in period)
    assert _period(coverage, dates) == want
