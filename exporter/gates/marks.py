"""The marks gate: the program's mark, written and read back.

Every file the program writes carries its mark (:data:`PROGRAM`), so that a
later run without a build state (a state lost, ``feed --format opds``) knows
the file as its own (``exporter.output.carries_mark``): a file without it is
never replaced or removed.  Such a file may be anyone's, and anyone may
mention the mark: in an XML comment or CDATA, a JSON string, a second JSON
document, a tag after a page's body, the EXIF segment of a JPEG or bytes
after its end, a PNG text chunk after ``IEND``.  So the mark counts only
**where the program writes it, in a document as the program writes it**:
read whole by a parser made for its kind, of the kind its name says
(``feed.atom`` is Atom, never RSS), well-formed and complete, with nothing
the program never writes (a second mark, a key twice, metadata, bytes after
its end).  Anything a parser refuses is the user's: a file kept is never
lost.

- Atom, RSS and OPDS (``lxml``, entities, DTDs and network off, no
  DOCTYPE): the one ``generator`` element of the Atom ``feed`` (RFC 4287
  section 4.2.4), or of the one ``channel`` of an RSS root, whose text is
  the name;
- the front page (``html5lib``, the HTML parsing algorithm): the one
  ``<meta name="generator">`` child of ``<head>``, its content starting
  with the name (one inside ``<noscript>`` or moved into the body is none);
- JSON (``msgspec``, through :func:`exporter.gates.documents.says_program`):
  one UTF-8 document, no key twice, whose top level says so in the place
  its kind has (JSON Feed's ``_digest_export`` extension, OPDS 2.0's
  ``metadata``, the state's and ledger's ``program``);
- JPEG and PNG: what :func:`marked` makes, byte for byte (it drops every
  segment and chunk but the picture's and adds the mark: a picture already
  marked by the program is unchanged by it), that Pillow decodes whole (a
  PNG's every chunk CRC right);
- EPUB (:func:`exporter.gates.epub.package_of`, the container checks
  ``send`` makes: one name per entry, every checksum right): a container
  naming one package document, whose metadata has one ``dc:publisher``,
  holding exactly the name.
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from collections.abc import Callable
from typing import Any, BinaryIO

from .documents import says_program, top_level_keys
from .epub import NotAnEpub, inflated_size, package_of

#: The mark.
PROGRAM = "digest-export"
ATOM = "{http://www.w3.org/2005/Atom}"
OPF = "{http://www.idpf.org/2007/opf}"
DC = "{http://purl.org/dc/elements/1.1/}"
#: The largest picture the program writes (a cover it copies from a book: ``site.opds``'s
#: bounds), in bytes and pixels: a larger one is not its own, and is not decoded.
MAX_IMAGE_BYTES = 16 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000
#: The largest JSON document read whole to find the mark (a JSON Feed of every paper of a decade
#: is a few tens of MB): a larger one is not taken for the program's.
MAX_JSON_BYTES = 256 * 1024 * 1024
#: The largest feed or catalog page (XML or JSON) read to find the mark: a JSON Feed or Atom feed
#: of every paper of a decade (``feed --all``) is about 60 MB; past it, reading a document of
#: millions of tiny entries took minutes, or gigabytes, to tell it is not the program's.
MAX_FEED_DOCUMENT_BYTES = 64 * 1024 * 1024
#: The largest front page read whole (a page of every book of a decade is well under it).
MAX_PAGE_BYTES = 16 * 1024 * 1024
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: The kind of document each name the program writes is, by its ending.
_KINDS = {".atom": "atom", ".opds": "opds", ".rss": "rss", ".html": "page", ".json": "json", ".jpg": "jpeg",
          ".jpeg": "jpeg", ".png": "png", ".epub": "epub"}


def carries(name: str, head: bytes, opened: Callable[[], BinaryIO]) -> bool:
    """Whether the file called *name* whose first bytes are *head* carries the mark where the
    program writes it (see the module's text).  *opened* opens the whole file, which is read to
    its end (within the file gate's size cap) when its first bytes are of a kind the program
    writes."""
    kind = _kind_of(head)
    wanted = _KINDS.get(name[name.rfind("."):].lower()) if "." in name else None
    if wanted is not None and kind != wanted and not (kind == "xml" and wanted in ("atom", "opds", "rss")):
        return False  # an RSS document named feed.atom, a JPEG named .png: not what the program writes
    try:
        if kind == "epub":
            with opened() as fh:
                return _epub_says(fh)
        if kind == "json":
            kinds = _json_kinds(name)
            most = MAX_JSON_BYTES if "state" in kinds else MAX_FEED_DOCUMENT_BYTES
            with opened() as fh:
                data = fh.read(most + 1)
            return len(data) <= most and says_program(data, PROGRAM, kinds)
        if PROGRAM.encode() not in head:
            return False  # the fast answer for most files: no parser runs
        if kind in ("jpeg", "png"):
            with opened() as fh:
                data = fh.read(MAX_IMAGE_BYTES + 1)
            return len(data) <= MAX_IMAGE_BYTES and _image_says(data, kind)
        if kind == "page":
            with opened() as fh:
                data = fh.read(MAX_PAGE_BYTES + 1)
            return len(data) <= MAX_PAGE_BYTES and _page_says(data)
        with opened() as fh:
            return _feed_says(fh, head, wanted)
    except (OSError, MemoryError):  # a document too large to hold is not one the program wrote
        return False


def is_state(head: bytes, opened: Callable[[], BinaryIO]) -> bool:
    """Whether the file whose first bytes are *head* is a state the program writes, whatever its
    name says (a book, a feed and a state are each the program's, but a state is written only
    over a state: ``--state`` naming a book kept elsewhere must not replace it)."""
    if _kind_of(head) != "json":
        return False
    try:
        with opened() as fh:
            data = fh.read(MAX_JSON_BYTES + 1)
    except OSError:  # the file gate's refusals too (too large, not a regular file)
        return False
    if len(data) > MAX_JSON_BYTES or not says_program(data, PROGRAM, frozenset({"state"})):
        return False
    # A build state, not the send ledger or a record of writes (documents of the program's
    # with the same mark): those keys are a build state's alone.
    return {"books", "merge_diags"} <= top_level_keys(data)


def _json_kinds(name: str) -> frozenset[str]:
    """The kinds of JSON document a file of *name* may be: ``feed.json`` a JSON Feed, the
    catalog's pages (``catalog.json``, ``catalog-current.json``) OPDS 2.0; other names (the
    state, the ledger, the catalog's other pages) any."""
    if name == "feed.json":
        return frozenset({"feed"})
    if name.startswith("catalog"):
        return frozenset({"opds"})
    return frozenset({"feed", "opds", "state"})


def _kind_of(head: bytes) -> str:
    start = head.lstrip(b" \t\r\n")
    if head.startswith(b"PK\x03\x04"):
        return "epub"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(PNG_SIGNATURE):
        return "png"
    if start.startswith((b"{", b"[")):
        return "json"
    if start[:15].lower().startswith((b"<!doctype html", b"<html")):
        return "page"
    return "xml"


#: The namespaces of the elements the program's feeds and catalogs hold (Atom, RFC 4287; Dublin
#: Core and its terms; RSS's content module; RFC 5005's feed history; Media RSS; OPDS 1.2), and
#: the elements of RSS 2.0 (its specification's, no namespace).  An element of any other
#: (``<mine xmlns="urn:mine">``, or XHTML's: the program writes its entries' content as escaped
#: HTML, ``type="html"``, never as XHTML elements) is not the program's.
FEED_NAMESPACES = frozenset({"http://www.w3.org/2005/Atom", "http://purl.org/dc/elements/1.1/",
                             "http://purl.org/dc/terms/", "http://purl.org/rss/1.0/modules/content/",
                             "http://purl.org/syndication/history/1.0", "http://search.yahoo.com/mrss/",
                             "http://opds-spec.org/2010/catalog"})
#: The elements of each namespace but Atom's (Dublin Core's fifteen and its terms,
#: DCMI Metadata Terms; RSS's content module; RFC 5005's; Media RSS 1.5.1's; OPDS 1.2's):
#: ``<dc:mynotes>`` is no element of Dublin Core.
_DC = """contributor coverage creator date description format identifier language publisher relation rights
    source subject title type""".split()
NAMESPACE_ELEMENTS = {
    "http://purl.org/dc/elements/1.1/": frozenset(_DC),
    "http://purl.org/dc/terms/": frozenset(_DC + """abstract accessRights accrualMethod accrualPeriodicity
        accrualPolicy alternative audience available bibliographicCitation conformsTo created dateAccepted
        dateCopyrighted dateSubmitted educationLevel extent hasFormat hasPart hasVersion instructionalMethod
        isFormatOf isPartOf isReferencedBy isReplacedBy isRequiredBy isVersionOf issued license mediator medium
        modified provenance references replaces requires rightsHolder spatial tableOfContents temporal
        valid""".split()),
    "http://purl.org/rss/1.0/modules/content/": frozenset({"encoded"}),
    "http://purl.org/syndication/history/1.0": frozenset({"complete", "archive", "incremental"}),
    "http://search.yahoo.com/mrss/": frozenset("""group content rating title description keywords thumbnail category
        player hash credit copyright text restriction community comments embed responses backLinks status price
        license subTitle peerLink rights scenes location""".split()),
    "http://opds-spec.org/2010/catalog": frozenset({"price", "indirectAcquisition", "availability", "holds",
                                                    "copies"}),
}
#: The elements of Atom (RFC 4287 section 4); ``<mine>`` in the Atom namespace is not one.
ATOM_ELEMENTS = frozenset("""feed entry id title subtitle updated published author contributor name uri email link
    category content summary rights source generator icon logo""".split())
RSS_ELEMENTS = frozenset("""rss channel title link description language copyright managingEditor webMaster pubDate
    lastBuildDate category generator docs cloud ttl image url width height rating textInput name skipHours hour
    skipDays day item author comments enclosure guid source""".split())
#: The attributes each element of those documents has (Atom's, RFC 4287 section 4; RSS 2.0's;
#: Media RSS's), and the namespaced ones the program writes (``xml:lang``, OPDS 1.2's facet
#: attributes): ``m:notes="..."`` or ``my="1"`` on any element, or ``href`` on an ``<id>``,
#: is not the program's.
_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_MEDIA = "{http://search.yahoo.com/mrss/}"
_TEXT = frozenset({"type", _LANG})
ATTRIBUTES = {
    ATOM + "link": frozenset({"href", "rel", "type", "hreflang", "title", "length", _LANG,
                              "{http://opds-spec.org/2010/catalog}facetGroup",
                              "{http://opds-spec.org/2010/catalog}activeFacet"}),
    ATOM + "category": frozenset({"term", "scheme", "label", _LANG}),
    ATOM + "content": frozenset({"type", "src", _LANG}),
    ATOM + "generator": frozenset({"uri", "version", _LANG}),
    **{ATOM + name: _TEXT for name in ("title", "subtitle", "summary", "rights")},
    "rss": frozenset({"version"}),
    "guid": frozenset({"isPermaLink"}),
    "enclosure": frozenset({"url", "length", "type"}),
    "category": frozenset({"domain"}),
    "source": frozenset({"url"}),
    "cloud": frozenset({"domain", "port", "path", "registerProcedure", "protocol"}),
    _MEDIA + "content": frozenset("""url fileSize type medium isDefault expression bitrate framerate samplingrate
        channels duration height width lang""".split()),
    _MEDIA + "thumbnail": frozenset({"url", "height", "width", "time"}),
    _MEDIA + "category": frozenset({"scheme", "label"}),
    _MEDIA + "credit": frozenset({"role", "scheme"}),
    **{_MEDIA + name: frozenset({"type"}) for name in ("title", "description", "text")},
}
#: What any other element of those documents may carry (Atom's common attributes, RFC 4287
#: section 2, but ``xml:base``, which the program never writes).
_ANY_ELEMENT = frozenset({_LANG})
#: Where each element of the feeds' structure stands (RFC 4287 section 4; RSS 2.0): the tags of
#: the parents it may have (None: the root).  A feed inside an entry, an entry inside an author,
#: an item inside an item, RSS's elements in an Atom feed or Atom's entries in RSS are not the
#: program's; the other elements (text, links, the extensions) stand in any of these.
_A = {ATOM + name for name in ("feed", "entry", "source")}
PARENTS = {
    ATOM + "feed": frozenset({None}),
    ATOM + "entry": frozenset({ATOM + "feed"}),
    ATOM + "source": frozenset({ATOM + "entry"}),
    **{ATOM + name: frozenset(_A) for name in ("author", "contributor", "id", "title", "updated", "rights",
                                                "category")},
    # A feed's (and a source's, which copies a feed's) alone: RFC 4287 sections 4.1.1 and 4.1.2.
    **{ATOM + name: frozenset({ATOM + "feed", ATOM + "source"}) for name in ("generator", "icon", "logo", "subtitle")},
    **{ATOM + name: frozenset({ATOM + "entry"}) for name in ("content", "summary", "published")},
    **{ATOM + name: frozenset({ATOM + "author", ATOM + "contributor"}) for name in ("name", "uri", "email")},
    ATOM + "link": frozenset(_A | {"channel"}),  # in RSS, the channel's link to the feed itself
    "rss": frozenset({None}),
    "channel": frozenset({"rss"}),
    "item": frozenset({"channel"}),
    **{name: frozenset({"channel"}) for name in ("language", "copyright", "managingEditor", "webMaster",
                                                  "lastBuildDate", "generator", "docs", "cloud", "ttl", "image",
                                                  "rating", "textInput", "skipHours", "skipDays")},
    **{name: frozenset({"item"}) for name in ("author", "comments", "enclosure", "guid", "source")},
    **{name: frozenset({"channel", "item"}) for name in ("pubDate", "category")},
    **{name: frozenset({"channel", "item", "image", "textInput"}) for name in ("title", "link", "description")},
    **{name: frozenset({"image"}) for name in ("url", "width", "height")},
    "name": frozenset({"textInput"}), "hour": frozenset({"skipHours"}), "day": frozenset({"skipDays"}),
    # The extensions, where their specifications put them: Dublin Core and its terms describe a
    # feed, channel, entry or item (never an author's name); the content module's encoded is an
    # item's; RFC 5005's elements are a feed's or channel's (its section 2: "in the head
    # section"); Media RSS's stand in an item or entry, a media:group or media:content, its
    # optional elements in a channel or feed too; OPDS's in an acquisition link.
    **{namespace + name: frozenset(_A | {"channel", "item"})
       for namespace, names in (("{http://purl.org/dc/elements/1.1/}", _DC),
                                ("{http://purl.org/dc/terms/}", NAMESPACE_ELEMENTS["http://purl.org/dc/terms/"]))
       for name in names},
    "{http://purl.org/rss/1.0/modules/content/}encoded": frozenset({"item"}),
    **{"{http://purl.org/syndication/history/1.0}" + name: frozenset({ATOM + "feed", "channel"})
       for name in NAMESPACE_ELEMENTS["http://purl.org/syndication/history/1.0"]},
    _MEDIA + "group": frozenset({"item", ATOM + "entry"}),
    _MEDIA + "content": frozenset({"item", ATOM + "entry", _MEDIA + "group"}),
    **{_MEDIA + name: frozenset({"channel", "item", ATOM + "feed", ATOM + "entry", _MEDIA + "group",
                                 _MEDIA + "content"})
       for name in NAMESPACE_ELEMENTS["http://search.yahoo.com/mrss/"] - {"group", "content"}},
    **{"{http://opds-spec.org/2010/catalog}" + name: frozenset({ATOM + "link"})
       for name in ("price", "availability", "holds", "copies")},
    "{http://opds-spec.org/2010/catalog}indirectAcquisition": frozenset(
        {ATOM + "link", "{http://opds-spec.org/2010/catalog}indirectAcquisition"}),
}
#: The elements a parent holds at most one of (RFC 4287 4.1.1, 4.1.2, 4.1.3 and 3.2: "MUST NOT
#: contain more than one"; RSS 2.0's channel and item elements, which the program writes once
#: each): a second ``<id>`` in a feed is another's, and no longer Atom.
ONCE = {
    **{ATOM + parent: frozenset(ATOM + name for name in ("generator", "icon", "id", "logo", "rights", "subtitle",
                                                          "title", "updated"))
       for parent in ("feed", "source")},
    ATOM + "entry": frozenset(ATOM + name for name in ("content", "id", "published", "rights", "source", "summary",
                                                        "title", "updated")),
    **{ATOM + parent: frozenset(ATOM + name for name in ("name", "uri", "email"))
       for parent in ("author", "contributor")},
    "rss": frozenset({"channel"}),
    "channel": frozenset({"title", "link", "description", "language", "copyright", "managingEditor", "webMaster",
                          "pubDate", "lastBuildDate", "generator", "docs", "cloud", "ttl", "image", "rating",
                          "textInput", "skipHours", "skipDays"}),
    "item": frozenset({"title", "link", "description", "author", "comments", "enclosure", "guid", "pubDate",
                       "source"}),
    "image": frozenset({"url", "title", "link", "width", "height", "description"}),
}
#: The elements whose content is elements only: text between their children is not the program's.
ELEMENT_ONLY = frozenset({ATOM + "feed", ATOM + "entry", ATOM + "source", ATOM + "author", ATOM + "contributor",
                          "rss", "channel", "item", "image", "textInput", "skipHours", "skipDays",
                          _MEDIA + "group"})
#: The namespaces a feed may declare: its elements' and XML's.
_DECLARED = FEED_NAMESPACES | {"http://www.w3.org/XML/1998/namespace"}
#: The type of an OPDS catalog's links to itself (OPDS 1.2 section 2): what tells a catalog
#: (``*.opds``) from a feed of papers (``*.atom``), both Atom documents.
OPDS_PROFILE = "application/atom+xml;profile=opds-catalog"
_GENERATOR = re.compile(rb"<generator(?:\s[^<>]*)?>" + re.escape(PROGRAM.encode()) + rb"</generator>")


def _feed_says(fh: BinaryIO, head: bytes, wanted: str | None) -> bool:
    """One ``generator`` child of an Atom ``feed`` root, or of the one ``channel`` of an RSS root
    (*wanted*: which, when the name says), its text written as the program writes it (no CDATA
    or character reference), in a document well-formed to its end, of the elements the
    program writes (:data:`FEED_NAMESPACES`), with no comment, processing instruction, CDATA
    section or DOCTYPE (the program writes none).  Read in pieces, each entry dropped once
    read: memory stays bounded for a feed of any length."""
    from lxml import etree

    # Its XML declaration first, as the program writes every feed: a byte-order mark or white
    # space before it (which XML parsers skip) is an editor's.
    if not head.startswith(b"<?xml ") or not _GENERATOR.search(head):
        return False
    parser = etree.XMLPullParser(events=("end", "comment", "pi"), resolve_entities=False, no_network=True,
                                 load_dtd=False, huge_tree=False)
    marks, tail, read = 0, b"", 0
    seen = {"catalog": False, "opds": False}  # a link of the root to itself as a catalog; any OPDS link
    try:
        while chunk := fh.read(1 << 16):
            read += len(chunk)
            if b"<![CDATA[" in tail + chunk or read > MAX_FEED_DOCUMENT_BYTES:
                return False
            tail = chunk[-8:]
            parser.feed(chunk)
            found = _generators(parser.read_events(), seen)
            if found is None:
                return False
            marks += found
        root = parser.close()
    except etree.XMLSyntaxError:
        return False  # not well-formed: not the document the program writes
    # A catalog links to itself as one; a feed of papers has no OPDS link at all.
    atom = root.tag == ATOM + "feed" and (wanted is None or wanted == ("opds" if seen["catalog"] else "atom")) and (
        wanted != "atom" or not seen["opds"])
    rss = (root.tag == "rss" and wanted in (None, "rss") and root.get("version") == "2.0"
           and len(root.findall("channel")) == 1 and not seen["opds"])
    return marks == 1 and (atom or rss) and root.getroottree().docinfo.doctype == ""


def _generators(events: Any, seen: dict[str, bool]) -> int | None:
    """How many of the elements closed in *events* are the program's generator where it writes
    one; None at a comment, a processing instruction or an element or attribute the program does
    not write.  Entries and items are cleared once closed; *seen* notes the OPDS links."""
    found = 0
    for event, el in events:
        if event != "end":
            return None
        namespace, _, local = el.tag[1:].partition("}") if el.tag.startswith("{") else (None, "", el.tag)
        if (namespace not in FEED_NAMESPACES and not (namespace is None and local in RSS_ELEMENTS)
                or el.tag.startswith(ATOM) and local not in ATOM_ELEMENTS
                or local not in NAMESPACE_ELEMENTS.get(namespace, (local,))
                or not ATTRIBUTES.get(el.tag, _ANY_ELEMENT).issuperset(el.attrib)
                or not _in_place(el)):
            return None
        if el.tag == ATOM + "link" or el.tag == "link" and el.attrib:
            _note_link(el, seen)
        if el.tag in (ATOM + "entry", "item"):
            el.clear(keep_tail=True)  # its tail, text of the feed or channel, is checked with them
            continue
        if el.tag not in (ATOM + "generator", "generator"):
            continue
        parent = el.getparent()
        root = parent.getparent() if parent is not None else None
        if not (el.text == PROGRAM and len(el) == 0 and (
                el.tag == ATOM + "generator" and parent is not None and parent.tag == ATOM + "feed" and root is None
                or el.tag == "generator" and parent is not None and parent.tag == "channel"
                and root is not None and root.tag == "rss" and root.getparent() is None)):
            return None  # a generator elsewhere, or another's: the program writes one, its own
        found += 1
    return found


def _in_place(el: Any) -> bool:
    """Whether the element *el*, just closed, stands where the program writes such an element
    (:data:`PARENTS`), declares no namespace but the feeds' (``xmlns:notes="urn:mine"``), and,
    if of elements only (:data:`ELEMENT_ONLY`), holds no text between them."""
    parent = el.getparent()
    where = PARENTS.get(el.tag)
    if where is not None and (parent.tag if parent is not None else None) not in where:
        return False
    if parent is not None and el.tag in PARENTS and parent.tag not in PARENTS:
        return False  # a feed's structure inside an extension element
    if parent is not None and el.tag in ONCE.get(parent.tag, ()) and any(
            sibling.tag == el.tag for sibling in el.itersiblings(preceding=True)):
        return False  # a second one
    root = el.getroottree().getroot()
    if root.tag == "rss" and el.tag.startswith(ATOM) and el.tag != ATOM + "link":
        return False  # Atom's elements in RSS (but its link to the feed)
    if root.tag == ATOM + "feed" and not el.tag.startswith("{"):
        return False  # RSS's elements in Atom
    if not _DECLARED.issuperset(el.nsmap.values()):
        return False
    # White space is XML's four (XML 1.0 production 3): U+00A0 or U+1680 between elements is text.
    return el.tag not in ELEMENT_ONLY or not ((el.text or "").strip(_XML_SPACE)
                                              or any((c.tail or "").strip(_XML_SPACE) for c in el))


_XML_SPACE = " \t\r\n"


def _note_link(link: Any, seen: dict[str, bool]) -> None:
    """Note in *seen* an Atom link that is OPDS's (of a catalog's type, or of a relation OPDS
    defines), and whether it is the root's link to itself as a catalog."""
    # A media type as HTTP reads one (RFC 9110 section 8.3.1: case-insensitive, white space
    # around ';', quoted parameter values): compared with white space and quotes left out.
    kind = "".join(c for c in (link.get("type") or "").lower() if c not in " \t\r\n\"")
    rel = "".join((link.get("rel") or "").lower().split())
    if "opds" in kind or rel.startswith("http://opds-spec.org/"):
        seen["opds"] = True
        parent = link.getparent()
        if (rel == "self" and kind.startswith(OPDS_PROFILE) and parent is not None and parent.getparent() is None
                and parent.tag == ATOM + "feed"):
            seen["catalog"] = True


def _page_says(data: bytes) -> bool:
    """The one ``<meta name="generator">`` child of the page's ``<head>``, its content the name and
    a version, as the HTML parsing algorithm builds the tree (the parser's, not a pattern's, idea
    of where a tag stands: a comment, a script's text or a tag after ``<body>`` is not in the
    head), in a page that ends at its ``</html>`` and holds no comment as the parser reads one
    (the program writes none, and escapes every ``<`` of the text it shows)."""
    import html5lib

    # The page's one end tag is its last: "</html>" twice lets the parser read on after the first.
    if not data.rstrip().endswith(b"</html>") or data.lower().count(b"</html") != 1:
        return False
    if _deeper_than(data, MAX_PAGE_DEPTH):
        return False  # html5lib's tree building takes time in the square of the nesting
    root = html5lib.parse(data.decode("utf-8", "replace"), treebuilder="etree", namespaceHTMLElements=False)
    if any(not isinstance(el.tag, str) for el in root.iter()):
        return False  # a comment as the parser reads one: <!-- -->, and <?php ?>, <!x> (HTML 13.2.5.42)
    headers = [el for el in root if el.tag == "head"]
    generators = [el.get("content") or "" for el in (headers[0] if headers else ())
                  if el.tag == "meta" and (el.get("name") or "").lower() == "generator"]
    if any(el.tag == "plaintext" or "</html" in ((el.text or "") + (el.tail or "")).lower() for el in root.iter()):
        return False  # its end tag read as text (<plaintext>, an open <textarea> or <script>): not where it ends
    anywhere = [el for el in root.iter() if el.tag == "meta" and (el.get("name") or "").strip().lower() == "generator"]
    return len(generators) == 1 == len(anywhere) and generators[0].split(" ")[0] == PROGRAM


#: How deep the elements of a page the program writes may nest (its own is about a dozen deep; a
#: template of the user's, with the books in a table, a few more): a page of 40,000 unclosed
#: ``<div>`` took html5lib minutes, and one of a million hours, to read.
MAX_PAGE_DEPTH = 128


def _deeper_than(data: bytes, most: int) -> bool:
    """Whether the elements of the HTML *data* nest deeper than *most*, as libxml2's HTML parser
    (linear, in C; it stops at its own bound, 256, which is deeper) builds the tree."""
    from lxml import etree

    try:
        root = etree.fromstring(data, etree.HTMLParser(recover=True, no_network=True, huge_tree=False))
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return False  # nothing html5lib cannot then read as quickly
    if root is None:
        return False
    stack = [(root, 0)]
    while stack:
        el, depth = stack.pop()
        if depth > most:
            return True
        stack.extend((child, depth + 1) for child in el)
    return False


def _image_says(data: bytes, kind: str) -> bool:
    """*data* is what :func:`marked` makes of it, byte for byte, and Pillow decodes it whole (a
    PNG's chunks read to ``IEND`` with their CRCs checked first: ``Image.verify``)."""
    import warnings

    from PIL import Image

    if (marked(data, f"image/{kind}") != data or kind == "png" and not (_png_data_last(data) and _png_data_whole(data))
            or kind == "jpeg" and not _jpeg_segments_known(data)):
        return False
    try:
        with warnings.catch_warnings():
            # Pillow warns of a damaged EXIF or a large picture: neither is a message for the user.
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                if im.format != kind.upper() or im.width * im.height > MAX_IMAGE_PIXELS:
                    return False
                if kind == "png":
                    im.verify()
            with Image.open(io.BytesIO(data)) as im:
                im.load()
    except (OSError, SyntaxError, ValueError, struct.error, Image.DecompressionBombWarning,
            Image.DecompressionBombError):
        return False
    return True


#: The chunks of one size (or a few) by the PNG specification (3rd edition, chapter 11; APNG's):
#: more bytes in one are bytes no decoder reads.
_PNG_SIZES = {b"IHDR": (13,), b"IEND": (0,), b"gAMA": (4,), b"sRGB": (1,), b"pHYs": (9,), b"cHRM": (32,),
              b"sBIT": (1, 2, 3, 4), b"bKGD": (1, 2, 6), b"acTL": (8,), b"fcTL": (26,)}


def _png_data_last(data: bytes) -> bool:
    """Whether every chunk after the PNG's first ``IDAT`` is image data or ``IEND``, as the PNG
    encoders the program uses write them (what describes the picture comes before its data),
    and every chunk of a size the specification fixes is of that size (:data:`_PNG_SIZES`;
    ``IEND`` empty, a palette of whole entries)."""
    at, pictured = len(PNG_SIGNATURE), False
    while at + 8 <= len(data):
        kind = data[at + 4:at + 8]
        size = int.from_bytes(data[at:at + 4], "big")
        if pictured and kind not in (b"IDAT", b"IEND") or size not in _PNG_SIZES.get(kind, (size,)):
            return False
        if kind == b"PLTE" and (size % 3 or size > 768) or kind == b"tRNS" and size > 256:
            return False
        pictured = pictured or kind == b"IDAT"
        at += 12 + int.from_bytes(data[at:at + 4], "big")
    return True


def _png_data_whole(data: bytes) -> bool:
    """Whether the PNG's image data (its ``IDAT`` chunks joined) is one zlib stream that ends
    where the data does and inflates to exactly the scanlines its header says (PNG 3rd edition
    sections 7 and 10.1): bytes after its end, or after the last scanline, are read by no
    decoder."""
    parts, at = [], len(PNG_SIGNATURE)
    while at + 8 <= len(data):
        size = int.from_bytes(data[at:at + 4], "big")
        if data[at + 4:at + 8] == b"IDAT":
            parts.append(data[at + 8:at + 8 + size])
        at += 12 + size
    scanlines = _png_scanline_bytes(data[16:29])
    return scanlines >= 0 and inflated_size(parts, zlib.MAX_WBITS, scanlines) == scanlines


#: Adam7's passes (PNG 3rd edition section 8.2): first column and row, then their steps.
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def _png_scanline_bytes(header: bytes) -> int:
    """The bytes of filtered scanlines an ``IHDR`` (its 13 bytes) gives its image, or -1."""
    if len(header) != 13:
        return -1
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    channels = _PNG_CHANNELS.get(colour)
    if channels is None:
        return -1

    def rows(w: int, h: int) -> int:
        return h * (1 + (w * channels * depth + 7) // 8) if w and h else 0

    if not interlace:
        return rows(width, height)
    return sum(rows((width - x + dx - 1) // dx if width > x else 0, (height - y + dy - 1) // dy if height > y else 0)
               for x, y, dx, dy in _ADAM7)


#: The JPEG markers an encoder of baseline or progressive JPEG writes (ITU T.81 table B.1):
#: SOF0-SOF2, DHT, SOI, EOI, SOS, DQT, DRI, APP0 (JFIF), APP14 (Adobe) and the program's COM;
#: a DNL, a hierarchical or arithmetic-coding segment, a JPG extension, is none of them.
_JPEG_WRITTEN = frozenset({0xC0, 0xC1, 0xC2, 0xC4, 0xD8, 0xD9, 0xDA, 0xDB, 0xDD, 0xE0, 0xEE, 0xFE})


def _jpeg_segments_known(data: bytes) -> bool:
    """Whether every marker segment of the JPEG (outside its entropy-coded data) is one the
    encoders write (:data:`_JPEG_WRITTEN`; a JFIF header of its own size, without a thumbnail),
    and nothing follows its EOI."""
    at = 2
    while at + 2 <= len(data) and data[at] == 0xFF:
        marker = data[at + 1]
        if marker == 0xFF:
            at += 1
            continue
        if marker not in _JPEG_WRITTEN:
            return False
        if marker == 0xD9:
            return at + 2 == len(data)
        end = at + 2 + int.from_bytes(data[at + 2:at + 4], "big")
        if marker == 0xE0 and not (end - at == 18 and data[at + 4:at + 9] == b"JFIF\x00" and data[end - 2:end] == b"\0\0"):
            return False  # JFIF's header, 14 bytes, with no thumbnail (JFIF 1.02: Xthumbnail, Ythumbnail 0)
        if marker == 0xDA:
            found = _NEXT_MARKER.search(data, end)
            end = found.start() if found else len(data)
        at = end
    return False


def _epub_says(fh: BinaryIO) -> bool:
    """One ``dc:publisher`` element, holding exactly the name as the program writes it (no CDATA,
    no character reference), in the metadata of the one package document the book's container
    names, in a container the EPUB gate accepts (as ``send`` and readers open it) with no
    member its manifest does not list, no byte outside its entries and nothing after the zip's
    end: a comment or CDATA that
    mentions the name, a second package document, notes zipped into the book, are not the
    program's."""
    try:
        package = package_of(fh)
    except NotAnEpub:
        return False
    publishers = [el.text for el in package.root.iterfind(f"{OPF}metadata/{DC}publisher")]
    plain = f"<dc:publisher>{PROGRAM}</dc:publisher>".encode()
    return (package.renditions == 1 and publishers == [PROGRAM] and package.raw.count(plain) == 1
            and not package.unlisted and not package.trailing and not package.loose)


def marked(data: bytes, media_type: str) -> bytes:
    """*data* (a JPEG or PNG image) with the program's mark added and no other metadata, so that
    a later run knows the file as its own and a cover taken from someone's book carries nothing
    of theirs (a text chunk or comment holding a bidi control, EXIF with a place); other types
    unchanged.  The pixels are not touched: only the chunks and segments that describe the
    picture are kept, as the thumbnail converter writes nothing else (it drops ICC profiles too)."""
    if media_type == "image/jpeg" and data.startswith(b"\xff\xd8"):
        data = _jpeg_without_metadata(data)
        at = 2
        while data[at:at + 2] and 0xE0 <= data[at + 1] <= 0xEF and data[at] == 0xFF:  # APPn (JFIF first)
            at += 2 + int.from_bytes(data[at + 2:at + 4], "big")
        comment = b"\xff\xfe" + struct.pack(">H", 2 + len(PROGRAM)) + PROGRAM.encode()
        return data[:at] + comment + data[at:]
    if media_type == "image/png" and data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR":
        data = _png_without_metadata(data)
        at = 8 + 8 + int.from_bytes(data[8:12], "big") + 4
        body = b"tEXtSoftware\x00" + PROGRAM.encode()
        chunk = struct.pack(">I", len(body) - 4) + body + struct.pack(">I", zlib.crc32(body))
        return data[:at] + chunk + data[at:]
    return data


#: The PNG chunks that make the picture (PNG 3rd edition section 5.6, and APNG's): every other
#: one (``tEXt``, ``zTXt``, ``iTXt``, ``eXIf``, ``iCCP``, ``tIME``, private ones) is metadata.
_PNG_PICTURE = frozenset({b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"sBIT",
                          b"bKGD", b"pHYs", b"acTL", b"fcTL", b"fdAT"})


def _png_without_metadata(data: bytes) -> bytes:
    kept, at = [data[:8]], 8
    while at + 8 <= len(data):
        end = at + 12 + int.from_bytes(data[at:at + 4], "big")
        if data[at + 4:at + 8] in _PNG_PICTURE:
            kept.append(data[at:end])
        if data[at + 4:at + 8] == b"IEND":
            break
        at = end
    return b"".join(kept)


def _jpeg_without_metadata(data: bytes) -> bytes:
    """*data* without COM and APP1-APP15 segments (ITU T.81 B.2.4: EXIF, XMP, ICC, Photoshop),
    wherever they are (a progressive JPEG has segments between its scans), nor an APP0 that is
    not JFIF; Adobe's APP14, which says how to read the colours of a CMYK JPEG, is kept."""
    kept, at = [data[:2]], 2
    while at + 2 <= len(data) and data[at] == 0xFF:
        marker = data[at + 1]
        if marker == 0xFF:  # a fill byte
            at += 1
            continue
        if marker == 0xD9:  # EOI
            kept.append(data[at:at + 2])
            break
        end = at + 2 + int.from_bytes(data[at + 2:at + 4], "big")
        if marker == 0xDA:  # SOS: its header, then entropy-coded data up to the next marker
            found = _NEXT_MARKER.search(data, end)
            end = found.start() if found else len(data)
        body = data[at + 4:at + 9]
        if not (marker == 0xFE or 0xE1 <= marker <= 0xEF and not (marker == 0xEE and body == b"Adobe")
                or marker == 0xE0 and body != b"JFIF\x00"):
            kept.append(data[at:end])
        at = end
    return b"".join(kept)


#: A marker in entropy-coded data: 0xFF not followed by a stuffed 0x00 or a restart (T.81 B.1.1.5).
_NEXT_MARKER = re.compile(rb"\xff(?![\x00\xd0-\xd7])")
