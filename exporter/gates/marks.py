"""The marks gate: is a file one this program wrote, by the mark it writes?

A file in the output folder that no build state records (a state lost, a
``feed --format opds`` run without one) is replaced only when it carries the
program's mark (``exporter.output.carries_mark``).  Such a file may be
anyone's, and anyone may mention the mark: in an XML comment or CDATA, a
JSON string, a second JSON document after the first, a tag after a page's
body, the EXIF segment of a JPEG or bytes after its end, a PNG text chunk
after ``IEND``.  So the mark counts only **where the program writes it**,
each document read by a parser made for its kind:

- Atom, RSS and OPDS (``lxml``, entities, DTDs and network off): the
  ``generator`` element of the Atom ``feed`` (RFC 4287 section 4.2.4) or of
  the RSS ``channel``, whose text is the program's name;
- the front page (``html5lib``, the HTML parsing algorithm): a ``<meta
  name="generator">`` child of ``<head>`` whose content starts with the
  name (one inside ``<noscript>`` or moved into the body is none);
- JSON (``msgspec``, through :func:`exporter.gates.documents.says_program`):
  one document whose top level says so;
- JPEG (Pillow): a COM segment (ITU T.81 B.2.4.5) before the first scan
  holding exactly the name; PNG (Pillow): a ``tEXt`` chunk ``Software``
  (PNG 3rd edition 11.3.3.2) before the image data holding exactly the name;
- EPUB (:func:`exporter.gates.epub.package_of`): a ``dc:publisher`` element
  of the metadata of the package document its container names, holding
  exactly the name.

Anything a parser refuses is not the program's: a file kept is never lost.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import BinaryIO

from .documents import says_program
from .epub import NotAnEpub, package_of

ATOM = "{http://www.w3.org/2005/Atom}"
OPF = "{http://www.idpf.org/2007/opf}"
DC = "{http://purl.org/dc/elements/1.1/}"


def carries(program: str, head: bytes, opened: Callable[[], BinaryIO]) -> bool:
    """Whether the file whose first bytes are *head* carries *program*'s mark where the program
    writes it (see the module's text).  *opened* opens the whole file (a JSON document and an
    EPUB are read whole, within the file gate's size cap)."""
    start = head.lstrip(b" \t\r\n")
    try:
        if head.startswith(b"PK\x03\x04"):
            with opened() as fh:
                return _epub_says(program, fh)
        if program.encode() not in head:
            return False  # the fast answer for most files: no parser runs
        if head.startswith(b"\xff\xd8\xff") or head.startswith(b"\x89PNG\r\n\x1a\n"):
            return _image_says(program, head)
        if start.startswith((b"{", b"[")):
            with opened() as fh:
                return says_program(fh.read(), program)
        if start[:15].lower().startswith((b"<!doctype html", b"<html")):
            return _page_says(program, head)
        return _feed_says(program, head)
    except OSError:
        return False


def _feed_says(program: str, head: bytes) -> bool:
    """The ``generator`` child of an Atom ``feed`` root or of an RSS root's ``channel``, among the
    elements the XML parser closed before the end of *head* or its first error (a long feed's
    first bytes end mid-document; an edit further down is the user's, but leaves the mark)."""
    from lxml import etree

    parser = etree.XMLPullParser(events=("end",), resolve_entities=False, no_network=True, load_dtd=False,
                                 huge_tree=False)
    try:
        parser.feed(head)
    except etree.XMLSyntaxError:
        pass  # what was read before the error stands
    for _, el in parser.read_events():
        if el.tag not in (ATOM + "generator", "generator") or el.text != program:
            continue
        parent = el.getparent()
        root = parent.getparent() if parent is not None else None
        if (el.tag == ATOM + "generator" and parent is not None and parent.tag == ATOM + "feed" and root is None
                or el.tag == "generator" and parent is not None and parent.tag == "channel"
                and root is not None and root.tag == "rss" and root.getparent() is None):
            return True
    return False


def _page_says(program: str, head: bytes) -> bool:
    """A ``<meta name="generator" content="PROGRAM ...">`` child of the page's ``<head>``, as the
    HTML parsing algorithm builds the tree (the parser's, not a pattern's, idea of where a tag
    stands: a comment, a script's text or a tag after ``<body>`` is not in the head)."""
    import html5lib

    root = html5lib.parse(head.decode("utf-8", "replace"), treebuilder="etree", namespaceHTMLElements=False)
    headers = [el for el in root if el.tag == "head"]
    return any(el.tag == "meta" and (el.get("name") or "").lower() == "generator"
               and (el.get("content") or "").split(" ")[0] == program
               for el in (headers[0] if headers else ()))


def _image_says(program: str, head: bytes) -> bool:
    """A JPEG's COM segment or a PNG's ``tEXt`` ``Software`` chunk, read by Pillow, which parses
    the segments and chunks before the picture's data when it opens the file (one in EXIF, after
    the first scan, after ``IEND`` or after EOI is none)."""
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            # A large picture's DecompressionBombWarning says nothing here: nothing is decoded.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(head)) as im:
                if im.format == "JPEG":
                    return ("COM", program.encode()) in getattr(im, "applist", [])
                if im.format == "PNG":
                    # im.info also holds what is not text (dpi, gamma): a tEXt value is a string.
                    return im.info.get("Software") == program
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return False
    return False


def _epub_says(program: str, fh: BinaryIO) -> bool:
    """A ``dc:publisher`` element of the metadata of the package document the book's container
    names (the EPUB gate's reading: one a reader opens; a comment or CDATA that mentions the
    name, or another package document, is none)."""
    try:
        package = package_of(fh)
    except NotAnEpub:
        return False
    return any(el.text == program for el in package.iterfind(f"{OPF}metadata/{DC}publisher"))
