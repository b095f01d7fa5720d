"""feedgen extensions that work around feedgen 1.0.0 (docs/library-workarounds.md).

* :class:`EntryExtras` writes an entry's links itself: feedgen's
  ``FeedEntry.atom_entry`` reuses the name ``link`` for the new element and
  then reads ``rel``/``type`` from it, so every link comes out as a bare
  (alternate) link (https://github.com/lkiesow/python-feedgen/issues/135),
  and its ``link()`` refuses relations such as OPDS acquisition
  (``http://opds-spec.org/acquisition``).  Entries are therefore never
  given links through feedgen: Atom ``<link>`` and the RSS ``<link>`` (the
  alternate) are written here, and so are categories.  It also sets the per-entry
  language: ``xml:lang`` on the Atom entry (RFC 4287 section 2),
  ``dc:language`` on the RSS item; and the authors, comma-joined, as one
  ``dc:creator`` on the RSS item (RSS ``<author>`` wants an e-mail address).
* :class:`FeedHistory` adds ``<fh:archive/>`` to RFC 5005 archive documents.
"""

from __future__ import annotations


# feedgen.util (and so feedgen.ext.*) uses ``lxml.etree`` without importing
# it; importing feedgen.feed first imports lxml.etree (feedgen 11).
import feedgen.feed  # noqa: F401  isort: skip
from feedgen.ext.base import BaseEntryExtension, BaseExtension  # isort: skip
from lxml import etree

from .. import __version__
from .entries import FeedInfo, Link

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
DC_NS = "http://purl.org/dc/elements/1.1/"
FH_NS = "http://purl.org/syndication/history/1.0"


class EntryExtrasFeed(BaseExtension):
    """Feed half of :class:`EntryExtras` (declares the dc prefix for RSS)."""

    def extend_ns(self):
        return {"dc": DC_NS}


class EntryExtras(BaseEntryExtension):
    """Per-entry links with rel/type, and per-entry language."""

    def __init__(self):
        self._links: tuple[Link, ...] = ()
        self._lang: str | None = None
        self._creators: tuple[str, ...] = ()
        self._categories: tuple[str, ...] = ()

    def set(self, links: tuple[Link, ...], lang: str | None = None,
            creators: tuple[str, ...] = (), categories: tuple[str, ...] = ()) -> None:
        self._links = tuple(links)
        self._lang = lang
        self._creators = tuple(creators)
        self._categories = tuple(categories)

    def extend_atom(self, entry):
        # Links given to feedgen's own link() would come out without rel and
        # type; we never give it any and write them here.  Categories too:
        # feedgen validates each dict, which costs more than the writing.
        for link in self._links:
            el = etree.SubElement(entry, "link", href=link.href, rel=link.rel)
            if link.type:
                el.set("type", link.type)
            if link.title:
                el.set("title", link.title)
            if link.length is not None:
                el.set("length", str(link.length))
        for term in self._categories:
            etree.SubElement(entry, "category", term=term)
        if self._lang:
            entry.set(XML_LANG, self._lang)
        return entry

    def extend_rss(self, item):
        # RSS has one <link>: the alternate (the paper page).
        alternate = next((link.href for link in self._links if link.rel == "alternate"), None)
        if alternate:
            etree.SubElement(item, "link").text = alternate
        for term in self._categories:
            etree.SubElement(item, "category").text = term
        # RSS <author> must be an e-mail address, and feedgen drops authors
        # without one (feedgen 7): Dublin Core dc:creator holds the names, all
        # in one element, since readers (and feedparser's entry.author) show
        # only one dc:creator of an item (docs/library-workarounds.md).
        if self._creators:
            etree.SubElement(item, f"{{{DC_NS}}}creator").text = ", ".join(self._creators)
        # RSS 2.0 has no per-item language; Dublin Core's dc:language is the
        # recognised module element for it.
        if self._lang:
            etree.SubElement(item, f"{{{DC_NS}}}language").text = self._lang
        return item


class FeedHistory(BaseExtension):
    """``<fh:archive/>``: marks an RFC 5005 archive document (section 4)."""

    def extend_ns(self):
        return {"fh": FH_NS}

    def extend_atom(self, feed):
        # RFC 5005 puts it among the feed metadata, before the entries.
        first_entry = feed.find("entry")
        el = etree.Element(f"{{{FH_NS}}}archive")
        if first_entry is None:
            feed.append(el)
        else:
            first_entry.addprevious(el)
        return feed

    def extend_rss(self, feed):
        return feed


def new_generator(info: FeedInfo):
    """A FeedGenerator with the feed-level fields and our extensions."""
    from feedgen.feed import FeedGenerator  # feedgen 11: before feedgen.ext.*

    from feedgen.ext.media import MediaEntryExtension, MediaExtension

    fg = FeedGenerator()
    fg.register_extension("media", MediaExtension, MediaEntryExtension)
    fg.register_extension("dx", EntryExtrasFeed, EntryExtras)
    fg.id(info.id)
    fg.title(info.title)
    fg.subtitle(info.subtitle)
    fg.author({"name": info.author})
    fg.language(info.language)
    fg.generator("digest-export", version=__version__)
    if info.icon_url:
        fg.icon(info.icon_url)
    # feedgen 6: both default to now(); the newest entry's date keeps bytes
    # (and readers) stable.
    fg.updated(info.updated)
    fg.lastBuildDate(info.updated)
    return fg
