"""The marks gate: is a file one this program wrote, by the mark it writes?

A file in the output folder that no build state records (a state lost, a
``feed --format opds`` run without one) is replaced only when it carries the
program's mark (``exporter.output.carries_mark``).  Such a file may be
anyone's, and anyone may mention the mark: in an XML comment or CDATA, a
JSON string, a second JSON document after the first, a tag after a page's
body, the EXIF segment of a JPEG or bytes after its end, a PNG text chunk
after ``IEND``.  So the mark counts only **where the program writes it**,
each document read whole by a parser made for its kind, and only a document
that is as the program writes it (well-formed, complete, one of each: a
document that the parser refuses, cut short or with more after its end, or
with two marks, is the user's):

- Atom, RSS and OPDS (``lxml``, entities, DTDs and network off, no
  DOCTYPE): the one ``generator`` element of the Atom ``feed`` (RFC 4287
  section 4.2.4) or of the RSS ``channel``, whose text is the program's name;
- the front page (``html5lib``, the HTML parsing algorithm): a ``<meta
  name="generator">`` child of ``<head>`` whose content starts with the
  name (one inside ``<noscript>`` or moved into the body is none);
- JSON (``msgspec``, through :func:`exporter.gates.documents.says_program`):
  one UTF-8 document, no key twice, whose top level says so;
- JPEG (Pillow): the one COM segment (ITU T.81 B.2.4.5) before the first
  scan, holding exactly the name, in a picture that decodes whole and ends
  at its EOI; PNG (Pillow's chunk reader): the one ``tEXt`` chunk
  ``Software`` (PNG 3rd edition 11.3.3.2; not ``zTXt`` or ``iTXt``) before
  the image data, holding exactly the name, every chunk's CRC right, and
  nothing after ``IEND``;
- EPUB (:func:`exporter.gates.epub.package_of`): a container naming one
  package document, whose metadata has one ``dc:publisher``, holding
  exactly the name.

Anything a parser refuses is not the program's: a file kept is never lost.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from typing import Any, BinaryIO

from .documents import says_program
from .epub import NotAnEpub, package_of

ATOM = "{http://www.w3.org/2005/Atom}"
OPF = "{http://www.idpf.org/2007/opf}"
DC = "{http://purl.org/dc/elements/1.1/}"
#: The largest picture the program writes (a cover it copies from a book: ``site.opds``'s
#: bounds), in bytes and pixels: a larger one is not its own, and is not decoded.
MAX_IMAGE_BYTES = 16 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def carries(program: str, head: bytes, opened: Callable[[], BinaryIO]) -> bool:
    """Whether the file whose first bytes are *head* carries *program*'s mark where the program
    writes it (see the module's text).  *opened* opens the whole file, which is read to its end
    (within the file gate's size cap) when its first bytes are of a kind the program writes."""
    start = head.lstrip(b" \t\r\n")
    try:
        if head.startswith(b"PK\x03\x04"):
            with opened() as fh:
                return _epub_says(program, fh)
        if start.startswith((b"{", b"[")):
            with opened() as fh:
                return says_program(fh.read(), program)
        if program.encode() not in head:
            return False  # the fast answer for most files: no parser runs
        if head.startswith((b"\xff\xd8\xff", PNG_SIGNATURE)):
            with opened() as fh:
                data = fh.read(MAX_IMAGE_BYTES + 1)
            return len(data) <= MAX_IMAGE_BYTES and (_png_says(program, data) if data.startswith(PNG_SIGNATURE)
                                                      else _jpeg_says(program, data))
        if start[:15].lower().startswith((b"<!doctype html", b"<html")):
            return _page_says(program, head)
        with opened() as fh:
            return _feed_says(program, fh)
    except OSError:
        return False


def _feed_says(program: str, fh: BinaryIO) -> bool:
    """One ``generator`` child of an Atom ``feed`` root or of an RSS root's ``channel``, in a
    document that is well-formed to its end, without a DOCTYPE (the program writes none).  Read
    in pieces, each entry dropped once read: memory stays bounded for a feed of any length."""
    from lxml import etree

    parser = etree.XMLPullParser(events=("end",), resolve_entities=False, no_network=True, load_dtd=False,
                                 huge_tree=False)
    marks = 0
    try:
        while chunk := fh.read(1 << 16):
            parser.feed(chunk)
            marks += _generators(program, parser.read_events())
        root = parser.close()
    except etree.XMLSyntaxError:
        return False  # not well-formed: not the document the program writes
    return marks == 1 and root.getroottree().docinfo.doctype == ""


def _generators(program: str, events: Any) -> int:
    """How many of the elements closed in *events* are the program's generator where it writes
    one; entries and items are cleared once closed."""
    found = 0
    for _, el in events:
        if el.tag in (ATOM + "entry", "item"):
            el.clear()
            continue
        if el.tag not in (ATOM + "generator", "generator"):
            continue
        parent = el.getparent()
        root = parent.getparent() if parent is not None else None
        if el.text == program and len(el) == 0 and (
                el.tag == ATOM + "generator" and parent is not None and parent.tag == ATOM + "feed" and root is None
                or el.tag == "generator" and parent is not None and parent.tag == "channel"
                and root is not None and root.tag == "rss" and root.getparent() is None):
            found += 1
    return found


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


def _jpeg_says(program: str, data: bytes) -> bool:
    """The one COM segment before the first scan (Pillow's ``applist``: a comment in EXIF, in
    another APPn, after a scan or after EOI is none), holding exactly the name, in a JPEG that
    decodes whole and ends at its EOI."""
    comments = [body for kind, body in _opened_image(data, "JPEG", lambda im: im.applist) if kind == "COM"]
    return comments == [program.encode()] and data.endswith(b"\xff\xd9")


def _opened_image(data: bytes, kind: str, read: Callable[[Any], Any]) -> Any:
    """``read(image)`` of *data* opened and decoded whole by Pillow as *kind*, within the bounds
    of what the program writes; ``()`` when Pillow refuses it (truncated, damaged, too large)."""
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                if im.format != kind or im.width * im.height > MAX_IMAGE_PIXELS:
                    return ()
                found = read(im)
                im.load()
                return found
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning, Image.DecompressionBombError):
        return ()


def _png_says(program: str, data: bytes) -> bool:
    """The one ``tEXt`` chunk ``Software`` before the first ``IDAT`` holding exactly the name,
    read by Pillow's PNG chunk reader (each chunk's CRC checked) from the signature to ``IEND``,
    with nothing after it, in a picture Pillow decodes whole."""
    from PIL import ImageFile, PngImagePlugin

    fp = io.BytesIO(data)
    fp.seek(len(PNG_SIGNATURE))
    stream = PngImagePlugin.ChunkStream(fp)
    marks, pictured, mark = 0, False, b"Software\x00" + program.encode()
    try:
        while True:
            kind, _, length = stream.read()
            body = ImageFile._safe_read(fp, length)
            stream.crc(kind, body)
            pictured = pictured or kind == b"IDAT"
            marks += kind == b"tEXt" and body == mark and not pictured
            if kind == b"IEND":
                break
    except (OSError, SyntaxError, ValueError, EOFError, struct.error):  # Pillow's words for "cut short"
        return False
    return marks == 1 and fp.tell() == len(data) and _opened_image(data, "PNG", lambda im: True) is True


def _epub_says(program: str, fh: BinaryIO) -> bool:
    """One ``dc:publisher`` element, holding exactly the name, in the metadata of the one package
    document the book's container names (the EPUB gate's reading, as readers open it; a
    comment or CDATA that mentions the name, or another package document, is none)."""
    try:
        package, renditions = package_of(fh)
    except NotAnEpub:
        return False
    publishers = [el.text for el in package.iterfind(f"{OPF}metadata/{DC}publisher")]
    return renditions == 1 and publishers == [program]
