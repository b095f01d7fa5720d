"""OPDS 2.0 twins (JSON, https://drafts.opds.io/opds-2.0) of the OPDS 1.2 pages.

Each page ``X.opds`` has ``X.json`` with the same books, links and facets,
offered from the Atom page as ``rel="alternate"`` of type
``application/opds+json``.  What the OPDS 2.0 JSON Schemas require is kept
here: a ``self`` link in every feed, at least one publication or navigation
link (an empty feed gets a navigation link back to the catalog), an
acquisition link in every publication.
"""

from __future__ import annotations

from .atom import (
    ACQUISITION,
    ACQUISITION_TYPE,
    CRAWLABLE_REL,
    OPDS2_TYPE,
    SELECTION_GROUP,
    SORT_NEW,
    STATUS_GROUP,
    YEAR_GROUP,
    Site,
)
from ..feeds.entries import feed_text
from ..gates.documents import indented_json
from ..gates.langtags import tag_for
from .book import EPOCH, book_entry_id, book_summary
from .catalog import CRAWLABLE, CURRENT, HEAD, PAGE_SIZE, CatalogBook, Facets, Page


def _link(site: Site, page: Page, rel: str | None, target: str, type_: str, **extra) -> dict:
    link = {"rel": rel} if rel else {}
    link.update(href=site.href(target, page.stem), type=type_)
    link.update({k: v for k, v in extra.items() if v is not None})
    return link


def _facets(site: Site, page: Page, facets: Facets) -> list[dict]:
    """The facets of the Atom page; the active one has ``rel: self`` (OPDS 2.0 section 2.4)."""
    def facet(target: str, title: str, active: bool) -> dict:
        return _link(site, page, "self" if active else None, target, OPDS2_TYPE, title=title)

    groups = [(STATUS_GROUP, [facet(HEAD + ".json", "Finished books", page.kind == "paged"),
                              facet(CURRENT + ".json", "In progress", page.kind == "current")])]
    if facets.years:
        # As in the Atom pages, no facet has a count (numberOfItems): the Atom
        # pages cannot carry one, and the newest year's would change daily.
        groups.append((YEAR_GROUP, [facet(f"catalog/year-{y}.json", str(y), page.year == y)
                                    for y, _n in facets.years]))
    if facets.selections:
        groups.append((SELECTION_GROUP, [facet(f"{name}/{HEAD}.json", feed_text(title), False)
                                         for name, title in facets.selections]))
    return [{"metadata": {"title": group}, "links": links} for group, links in groups]


def _publication(site: Site, page: Page, cb: CatalogBook) -> dict:
    book = cb.book
    # Plain-text fields, defused as in the Atom pages: apps show them as HTML.
    metadata: dict = {"@type": "http://schema.org/Book", "title": feed_text(book.title),
                      "identifier": book_entry_id(book),
                      "modified": book.updated.isoformat()}
    if book.period:
        metadata["published"] = book.period[1].isoformat()
    language = tag_for(book.language, "feed")  # as in the Atom pages
    if language:
        metadata["language"] = language
    if book.creators:
        metadata["author"] = [{"name": feed_text(name)} for name in book.creators]
    metadata["description"] = feed_text(book_summary(book))
    if book.series:
        series: dict = {"name": feed_text(book.series)}
        try:  # a number in the schema; calibre writes "10" or "10.0"
            position = float(book.series_index) if book.series_index else None
            series["position"] = int(position) if position is not None and position.is_integer() else position
        except (ValueError, OverflowError):
            pass
        metadata["belongsTo"] = {"series": [{k: v for k, v in series.items() if v is not None}]}
    links = []
    for f in cb.files:
        link = _link(site, page, ACQUISITION, f.name, f.type, title="EPUB" if "kepub" not in f.type else
                     "Kobo EPUB (kepub)")
        if cb.version:
            link["href"] += f"?v={cb.version}"
        if f.length > 0:
            link["size"] = f.length
        links.append(link)
    publication = {"metadata": metadata, "links": links}
    if page.kind == "crawlable":  # lean, as its Atom twin: every book in one document
        for key in ("description", "belongsTo"):
            metadata.pop(key, None)
        return publication
    images = []
    if cb.thumbnail:
        images.append(_link(site, page, None, cb.thumbnail, "image/jpeg", width=300))
    if cb.cover:
        images.append(_link(site, page, None, cb.cover[0], cb.cover[1]))
    if images:
        publication["images"] = images
    return publication


def json_page(page: Page, site: Site, facets: Facets) -> bytes:
    """One page as an OPDS 2.0 feed."""
    updated = max((b.book.updated for b in page.books), default=EPOCH)
    # "program": the program's mark (exporter.output.carries_mark), so that a later run without a
    # build state (feed --format opds) knows the page as its own; OPDS 2.0 metadata takes
    # properties beyond its own (feed-metadata.schema.json has no additionalProperties: false).
    metadata: dict = {"title": feed_text(page.title), "modified": updated.isoformat(), "program": "digest-export"}
    if page.kind == "paged":
        metadata["itemsPerPage"] = PAGE_SIZE
    links = [
        _link(site, page, "self", page.stem + ".json", OPDS2_TYPE),
        _link(site, page, "start", HEAD + ".json", OPDS2_TYPE),
        _link(site, page, "up", HEAD + ".json", OPDS2_TYPE),
        _link(site, page, "alternate", page.stem + ".opds", ACQUISITION_TYPE),
        *(_link(site, page, rel, stem + ".json", OPDS2_TYPE) for rel, stem in page.links),
        _link(site, page, SORT_NEW, HEAD + ".json", OPDS2_TYPE),
        _link(site, page, CRAWLABLE_REL, CRAWLABLE + ".json", OPDS2_TYPE),
    ]
    feed: dict = {"metadata": metadata, "links": links, "facets": _facets(site, page, facets)}
    if page.books:
        feed["publications"] = [_publication(site, page, cb) for cb in page.books]
    else:  # the schema wants publications or navigation, never neither
        feed["navigation"] = [_link(site, page, "start", HEAD + ".json", OPDS2_TYPE, title="Finished books")]
    return indented_json(feed, 1) + b"\n"
