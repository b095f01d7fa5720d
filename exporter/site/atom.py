"""OPDS 1.2 pages (Atom, https://specs.opds.io/opds-1.2) of a planned catalog.

Written with lxml rather than feedgen: facet links carry attributes of
other namespaces (``opds:facetGroup``, OPDS 1.2 section 4.3)
and the crawlable feed an ``fh:complete`` element (RFC 5005 section 2),
neither of which feedgen can write, and ten years of books are 3,650
entries that lxml writes in a fraction of feedgen's time.
"""

from __future__ import annotations

import functools
import posixpath
from dataclasses import dataclass

from .. import __version__
from ..feeds.entries import feed_text, hex_refs_in_text
from ..gates.langtags import tag_for
from ..gates.urls import path_segment
from .book import EPOCH, book_entry_id, book_summary
from .catalog import CRAWLABLE, CURRENT, HEAD, CatalogBook, Facets, Page

ATOM_NS = "http://www.w3.org/2005/Atom"
DCTERMS_NS = "http://purl.org/dc/terms/"
#: dc:language in the Dublin Core 1.1 namespace: the W3C Feed Validator knows
#: it there and rejects dcterms:language ("Undefined entry element"), an error.
DC_NS = "http://purl.org/dc/elements/1.1/"
OPDS_NS = "http://opds-spec.org/2010/catalog"
FH_NS = "http://purl.org/syndication/history/1.0"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
NSMAP = {None: ATOM_NS, "dc": DC_NS, "dcterms": DCTERMS_NS, "opds": OPDS_NS, "fh": FH_NS}

ACQUISITION_TYPE = "application/atom+xml;profile=opds-catalog;kind=acquisition"
OPDS2_TYPE = "application/opds+json"
ACQUISITION = "http://opds-spec.org/acquisition"
IMAGE = "http://opds-spec.org/image"
THUMBNAIL = "http://opds-spec.org/image/thumbnail"
FACET = "http://opds-spec.org/facet"
SORT_NEW = "http://opds-spec.org/sort/new"
CRAWLABLE_REL = "http://opds-spec.org/crawlable"
YEAR_GROUP = "By year"
STATUS_GROUP = "Status"
SELECTION_GROUP = "Selections"


@dataclass(frozen=True, slots=True)
class Site:
    """Where the catalog is published and what it is called."""

    title: str
    id: str  # the catalog's id; pages add their stem
    language: str | None
    base_url: str | None
    icon_url: str | None = None

    def href(self, target: str, page_stem: str) -> str:
        """*target* (a path in the folder) as a link from the page *page_stem*:
        absolute under the base URL, else relative to the page's folder.  The
        name's bytes are percent-encoded: a name that is not UTF-8 (kept by
        surrogateescape) is linked to as the web server serves it."""
        if self.base_url:
            return self.base_url + _segments(target)
        return _relative_href(target, posixpath.dirname(page_stem))


@functools.lru_cache(maxsize=8192)
def _segments(target: str) -> str:
    """:func:`path_segment` of *target*, once a run: a book's files are linked from several pages."""
    return path_segment(target)


@functools.lru_cache(maxsize=8192)
def _relative_href(target: str, folder: str) -> str:
    """The link to *target* (a path in the catalog's folder) from a page in *folder* (``""``: the
    catalog's folder itself).  Both are the writer's own clean relative paths: no ``.``, ``..`` or
    empty segment; the link is ``../`` once per folder of the page's below what both share, then
    the rest of *target* (what ``posixpath.relpath`` gives, without its ``os.getcwd()`` for the
    absolute paths it compares: a sixth of a catalog's writing)."""
    parts, base = target.split("/"), folder.split("/") if folder else []
    if (folder + "/").startswith(target + "/") or any(p in ("", ".", "..") for p in (*parts, *base)):
        return path_segment(posixpath.relpath(target, folder or "."))
    shared = 0
    while shared < min(len(base), len(parts) - 1) and base[shared] == parts[shared]:
        shared += 1
    return path_segment("/".join([".."] * (len(base) - shared) + parts[shared:]))


def _el(parent, tag: str, text: str | None = None, **attrs: str):
    from lxml import etree

    el = etree.SubElement(parent, tag, {k: v for k, v in attrs.items() if v is not None})
    if text is not None:
        el.text = text
    return el


def _link(parent, site: Site, page: Page, rel: str, target: str, type_: str, **extra: str | None):
    return _el(parent, f"{{{ATOM_NS}}}link", rel=rel, href=site.href(target, page.stem), type=type_, **extra)


def _facets(feed, site: Site, page: Page, facets: Facets) -> None:
    """On every page: the status (finished / in progress), the years, the selections (OPDS 1.2 section 4.3)."""
    # No facet carries thr:count, though OPDS 1.2 section 4.3 allows it: RFC 4685
    # section 4 defines thr:count for links with rel="replies" only, and the W3C
    # Feed Validator rejects it on any other link ("Unexpected thr:count
    # attribute").  The newest year could not have one anyway (its count grows
    # every day, and with it every page would change), so none has one.
    def facet(target: str, title: str, group: str, active: bool) -> None:
        el = _link(feed, site, page, FACET, target, ACQUISITION_TYPE, title=title)
        el.set(f"{{{OPDS_NS}}}facetGroup", group)
        if active:
            el.set(f"{{{OPDS_NS}}}activeFacet", "true")

    facet(HEAD + ".opds", "Finished books", STATUS_GROUP, page.kind == "paged")
    facet(CURRENT + ".opds", "In progress", STATUS_GROUP, page.kind == "current")
    for year, _count in facets.years:
        facet(f"catalog/year-{year}.opds", str(year), YEAR_GROUP, page.year == year)
    for name, title in facets.selections:
        facet(f"{name}/{HEAD}.opds", feed_text(title), SELECTION_GROUP, False)


def _entry(feed, site: Site, page: Page, cb: CatalogBook, lean: bool) -> None:
    book = cb.book
    entry = _el(feed, f"{{{ATOM_NS}}}entry")
    language = tag_for(book.language, "feed")  # what the feed validators accept (see the gate)
    if language:
        entry.set(XML_LANG, language)
    _el(entry, f"{{{ATOM_NS}}}title", feed_text(book.title))
    _el(entry, f"{{{ATOM_NS}}}id", book_entry_id(book))
    _el(entry, f"{{{ATOM_NS}}}updated", book.updated.isoformat())
    for name in book.creators:
        _el(_el(entry, f"{{{ATOM_NS}}}author"), f"{{{ATOM_NS}}}name", feed_text(name))
    if language:
        _el(entry, f"{{{DC_NS}}}language", language)
    if book.period:
        _el(entry, f"{{{DCTERMS_NS}}}issued", book.period[1].isoformat())
    if not lean:
        if book.series:
            _el(entry, f"{{{ATOM_NS}}}category", term=feed_text(book.series),
                label=f"Series: {feed_text(book.series)}")
        _el(entry, f"{{{ATOM_NS}}}summary", feed_text(book_summary(book)), type="text")
    # RFC 4287 section 4.1.1.1: an entry with no alternate link must have
    # content.  The description again (KOReader shows content, else summary).
    _el(entry, f"{{{ATOM_NS}}}content", feed_text(book_summary(book)), type="text")
    for f in cb.files:
        el = _link(entry, site, page, ACQUISITION, f.name, f.type, title=_file_title(f.type), length=str(f.length))
        if cb.version:  # a hash of the book's bytes: new bytes, new URL
            el.set("href", el.get("href") + f"?v={cb.version}")
    if cb.cover and not lean:
        _link(entry, site, page, IMAGE, cb.cover[0], cb.cover[1])
    if cb.thumbnail and not lean:
        _link(entry, site, page, THUMBNAIL, cb.thumbnail, "image/jpeg")


def _file_title(media_type: str) -> str:
    return "Kobo EPUB (kepub)" if "kepub" in media_type else "EPUB"


def atom_page(page: Page, site: Site, facets: Facets) -> bytes:
    """One page as an OPDS 1.2 acquisition feed."""
    from lxml import etree

    feed = etree.Element(f"{{{ATOM_NS}}}feed", nsmap=NSMAP)
    if site.language:
        feed.set(XML_LANG, site.language)
    _el(feed, f"{{{ATOM_NS}}}id", site.id if page.stem == HEAD else f"{site.id}/{page.stem}")
    _el(feed, f"{{{ATOM_NS}}}title", feed_text(page.title))
    updated = max((b.book.updated for b in page.books), default=EPOCH)
    _el(feed, f"{{{ATOM_NS}}}updated", updated.isoformat())
    _el(_el(feed, f"{{{ATOM_NS}}}author"), f"{{{ATOM_NS}}}name", feed_text(site.title))
    _el(feed, f"{{{ATOM_NS}}}generator", "digest-export", version=__version__)
    if site.icon_url:
        _el(feed, f"{{{ATOM_NS}}}icon", site.icon_url)
    me = page.stem + ".opds"
    _link(feed, site, page, "self", me, ACQUISITION_TYPE)
    _link(feed, site, page, "start", HEAD + ".opds", ACQUISITION_TYPE)
    _link(feed, site, page, "up", HEAD + ".opds", ACQUISITION_TYPE)
    _link(feed, site, page, "alternate", page.stem + ".json", OPDS2_TYPE)
    for rel, stem in page.links:
        _link(feed, site, page, rel, stem + ".opds", ACQUISITION_TYPE)
    _link(feed, site, page, SORT_NEW, HEAD + ".opds", ACQUISITION_TYPE)
    _link(feed, site, page, CRAWLABLE_REL, CRAWLABLE + ".opds", ACQUISITION_TYPE)
    _facets(feed, site, page, facets)
    if page.kind == "crawlable":  # RFC 5005 section 2: every entry is in this one document
        _el(feed, f"{{{FH_NS}}}complete")
    for cb in page.books:
        _entry(feed, site, page, cb, lean=page.kind == "crawlable")
    return hex_refs_in_text(etree.tostring(feed, xml_declaration=True, encoding="UTF-8", pretty_print=True))
