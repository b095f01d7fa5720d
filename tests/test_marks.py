"""The program's mark counts only where the program writes it (exporter/gates/marks.py).

A file no build state records is replaced or removed only when it carries the mark.  Anyone may
mention the mark, in any kind of file: each case below writes a file of the user's that holds the
mark's exact bytes somewhere the program never puts them (an image's EXIF segment, after its end,
a text chunk of another keyword, a ``<meta>`` in ``<noscript>`` or after the body, an element of
the wrong parent, a comment in a book's package document), and the gate must call it the
user's.  The controls: the same file with the mark where the program writes it is the program's.
"""

from __future__ import annotations

import io
import struct
import warnings
import zipfile
import zlib

import pytest
from PIL import Image

from exporter.gates.marks import carries
from exporter.output import PROGRAM, carries_mark, marked

MARK = PROGRAM.encode()


def _says(tmp_path, data: bytes, name: str = "file") -> bool:
    path = tmp_path / name
    path.write_bytes(data)
    return carries_mark(path)


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 10, 10)).save(out, "JPEG")
    return out.getvalue()


def _segment(marker: int, body: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", 2 + len(body)) + body


def _after_soi(data: bytes, segment: bytes) -> bytes:
    return data[:2] + segment + data[2:]


def _before_eoi(data: bytes, segment: bytes) -> bytes:
    assert data.endswith(b"\xff\xd9")
    return data[:-2] + segment + data[-2:]


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 90, 0)).save(out, "PNG")
    return out.getvalue()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _with_chunk_after_mark(chunk: bytes) -> bytes:
    """The program's icon with one more chunk after its mark."""
    data = marked(_png(), "image/png")
    at = data.index(b"tEXtSoftware") - 4
    at += 12 + int.from_bytes(data[at:at + 4], "big")
    return data[:at] + chunk + data[at:]


def _jfif_with(tail: bytes) -> bytes:
    """The program's cover with its JFIF header's two thumbnail bytes replaced by *tail*."""
    data = marked(_jpeg(), "image/jpeg")
    assert data[2:4] == b"\xff\xe0" and data[6:11] == b"JFIF\x00"
    size = int.from_bytes(data[4:6], "big")
    body = data[6:4 + size - 2] + tail
    return data[:2] + _segment(0xE0, body) + data[4 + size:]


def _png_with(chunk: bytes, where: str) -> bytes:
    data = _png()
    if where == "after IHDR":
        at = 8 + 12 + 13
    elif where == "after IDAT":
        at = data.index(b"IEND") - 4
    else:  # after IEND
        at = len(data)
    return data[:at] + chunk + data[at:]


JPEGS = {
    "an EXIF segment holding the mark": lambda: _after_soi(_jpeg(), _segment(0xE1, b"Exif\x00\x00" + MARK)),
    "an XMP segment holding the mark": lambda: _after_soi(_jpeg(), _segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00"
                                                                                + MARK)),
    "the mark after the image's end": lambda: _jpeg() + _segment(0xFE, MARK),
    "the mark and an EXIF segment": lambda: _after_soi(marked(_jpeg(), "image/jpeg"),
                                                       _segment(0xE1, b"Exif\x00\x00MM\x00*\x00\x00\x00\x08")),
    "the mark and a Photoshop segment": lambda: _after_soi(marked(_jpeg(), "image/jpeg"),
                                                           _segment(0xED, b"Photoshop 3.0\x00")),
    "a comment after the scan": lambda: _before_eoi(_jpeg(), _segment(0xFE, MARK)),
    "a comment the mark only starts": lambda: _after_soi(_jpeg(), _segment(0xFE, MARK + b"er")),
    "a comment the mark only ends": lambda: _after_soi(_jpeg(), _segment(0xFE, b"not " + MARK)),
    "the mark's bytes in an APP2 segment": lambda: _after_soi(_jpeg(), _segment(0xE2, b"\xff\xfe\x00\x0f" + MARK)),
    "two comments": lambda: _after_soi(_jpeg(), _segment(0xFE, b"mine") + _segment(0xFE, MARK)),
    "more after the end": lambda: marked(_jpeg(), "image/jpeg") + b"my notes",
    "a JFIF header with more bytes": lambda: _jfif_with(b"\x00\x00MY PRIVATE NOTES"),
    "a JFIF thumbnail": lambda: _jfif_with(b"\x04\x01" + b"MYNOTESMYNOT"),
    "a DNL segment": lambda: _before_eoi(marked(_jpeg(), "image/jpeg"), _segment(0xDC, b"\x00\x18")),
    "an arithmetic-coding segment": lambda: _after_soi(marked(_jpeg(), "image/jpeg"), _segment(0xCC, b"\x00\x11")),
}
PNGS = {
    "Software that only starts with the mark": lambda: _png_with(_chunk(b"tEXt", b"Software\x00" + MARK + b"-fork"),
                                                                 "after IHDR"),
    "Software after IEND": lambda: _png_with(_chunk(b"tEXt", b"Software\x00" + MARK), "after IEND"),
    "Software after the image data": lambda: _png_with(_chunk(b"tEXt", b"Software\x00" + MARK), "after IDAT"),
    "another keyword holding the mark": lambda: _png_with(_chunk(b"tEXt", b"Comment\x00" + MARK), "after IHDR"),
    "a chunk whose checksum is wrong": lambda: _png_with(_chunk(b"tEXt", b"Software\x00" + MARK)[:-1] + b"\x00",
                                                         "after IHDR"),
    "a private chunk holding the mark's bytes": lambda: _png_with(_chunk(b"prIv", b"tEXtSoftware\x00" + MARK),
                                                                  "after IHDR"),
    "an iTXt chunk": lambda: _png_with(_chunk(b"iTXt", b"Software\x00\x00\x00\x00\x00" + MARK), "after IHDR"),
    "a zTXt chunk": lambda: _png_with(_chunk(b"zTXt", b"Software\x00\x00" + zlib.compress(MARK)), "after IHDR"),
    "the mark twice": lambda: _png_with(_chunk(b"tEXt", b"Software\x00" + MARK) * 2, "after IHDR"),
    "the mark and another text chunk": lambda: _with_chunk_after_mark(_chunk(b"tEXt", b"Comment\x00my icon")),
    "the mark and an eXIf chunk": lambda: _with_chunk_after_mark(_chunk(b"eXIf", b"MM\x00*\x00\x00\x00\x08")),
    "the mark and a GIMP Software chunk": lambda: _with_chunk_after_mark(_chunk(b"tEXt", b"Software\x00GIMP")),
    "a pHYs chunk after the image data": lambda: (lambda d: d[:d.index(b"IEND") - 4] + _chunk(
        b"pHYs", b"\x00\x00\x0b\x13" * 2 + b"\x01") + d[d.index(b"IEND") - 4:])(marked(_png(), "image/png")),
    "cut short": lambda: marked(_png(), "image/png")[:-12],
    "more after IEND": lambda: marked(_png(), "image/png") + b"my notes",
    "bytes after the image data's zlib stream": lambda: _idat_with_more(marked(_png(), "image/png"), b"my notes"),
    "a header with more bytes": lambda: (lambda d: d[:8] + _chunk(b"IHDR", d[16:29] + b"MY NOTES") + d[33:])(
        marked(_png(), "image/png")),
    "a gAMA chunk with more bytes": lambda: _png_with(_chunk(b"gAMA", b"\x00\x00\xb1\x8fMY NOTES"), "after IHDR"),
    "image data past the last scanline": lambda: (lambda d: d[:d.index(b"IDAT") - 4] + _chunk(
        b"IDAT", zlib.compress(zlib.decompress(d[d.index(b"IDAT") + 4:d.index(b"IEND") - 8]) + b"MY NOTES" * 10))
        + d[d.index(b"IEND") - 4:])(marked(_png(), "image/png")),
    "an IEND chunk holding data": lambda: (lambda d: d[:d.index(b"IEND") - 4] + _chunk(b"IEND", b"MY NOTES"))(
        marked(_png(), "image/png")),
}


def _idat_with_more(data: bytes, more: bytes) -> bytes:
    """*data* with *more* appended to its one IDAT chunk's body, after the end of its zlib stream
    (decoders stop there), the chunk's length and CRC made right."""
    at = data.index(b"IDAT") - 4
    size = int.from_bytes(data[at:at + 4], "big")
    body = data[at + 8:at + 8 + size] + more
    return data[:at] + _chunk(b"IDAT", body) + data[at + 12 + size:]


@pytest.mark.parametrize("case", sorted(JPEGS))
def test_a_jpeg_that_only_holds_the_marks_bytes_is_the_users(tmp_path, case):
    data = JPEGS[case]()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow's "Corrupt EXIF data": the case's own EXIF is short
        Image.open(io.BytesIO(data)).load()  # a picture that opens: only where the mark stands differs
    assert not _says(tmp_path, data, "cover.jpg"), case


def test_a_jpeg_cut_short_is_the_users(tmp_path):
    data = marked(_jpeg(), "image/jpeg")
    assert _says(tmp_path, data, "cover.jpg")
    assert not _says(tmp_path, data[:-40], "cover.jpg")


@pytest.mark.parametrize("case", sorted(PNGS))
def test_a_png_that_only_holds_the_marks_bytes_is_the_users(tmp_path, case):
    assert not _says(tmp_path, PNGS[case](), "icon.png"), case


def test_an_image_the_program_marked_is_its_own(tmp_path):
    assert _says(tmp_path, marked(_jpeg(), "image/jpeg"), "cover.jpg")
    assert _says(tmp_path, marked(_png(), "image/png"), "icon.png")
    # marked() drops what was there: the user's EXIF holding the mark, and the mark the program adds.
    assert _says(tmp_path, marked(JPEGS["an EXIF segment holding the mark"](), "image/jpeg"), "cover.jpg")


PAGE = '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>mine</title>{head}</head><body>{body}</body></html>'
META = f'<meta name="generator" content="{PROGRAM} 1.0">'
PAGES = {
    "in noscript": (f"<noscript>{META}</noscript>", ""),
    "in a comment": (f"<!-- {META} -->", ""),
    "in a script's text": (f"<script>document.write('{META}')</script>", ""),
    "in a template": (f"<template>{META}</template>", ""),
    "in the body": ("", META),
    "another name": (f'<meta name="generator-x" content="{PROGRAM}">', ""),
    "content only starting with the name": (f'<meta name="generator" content="{PROGRAM}er">', ""),
    "two generators": ('<meta name="generator" content="Hugo 0.120">' + META, ""),
    "a comment beside it": (META + "<!-- mine -->", ""),
    "a processing instruction (a bogus comment)": (META + "<?php mine ?>", ""),
    "a markup declaration (a bogus comment)": (META + "<!x>", ""),
    "CDATA in HTML (a bogus comment)": (META + "<![CDATA[x]]>", ""),
    "a second generator in the body": (META, '<main><meta name="generator" content="my site tool"></main>'),
    "a second generator, its name spaced": (META, '<meta name=" Generator " content="mine">'),
    "its end read as plain text": (META, "<plaintext>MY PRIVATE NOTES"),
    "its end read as a textarea's text": (META, "<textarea>MY PRIVATE NOTES"),
    "its end read as a script's text": (META, "<script>/* MY PRIVATE NOTES"),
}


@pytest.mark.parametrize("tail", ["<!-- mine -->\n", "<p>after</p>\n", "<p>mine</p>\n</html>\n", "<p>mine</p></HTML>"])
def test_a_page_with_more_after_its_end_is_the_users(tmp_path, tail):
    assert not _says(tmp_path, (PAGE.format(head=META, body="") + "\n" + tail).encode(), "index.html"), tail


@pytest.mark.parametrize("case", sorted(PAGES))
def test_a_page_whose_generator_meta_is_not_in_its_head_is_the_users(tmp_path, case):
    head, body = PAGES[case]
    assert not _says(tmp_path, PAGE.format(head=head, body=body).encode(), "index.html"), case


def test_a_page_with_the_generator_meta_in_its_head_is_the_programs(tmp_path):
    assert _says(tmp_path, PAGE.format(head=META, body="").encode(), "index.html")


ATOM = '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom"><title>mine</title>{}</feed>'
RSS = '<?xml version="1.0"?>\n<rss version="2.0"><channel><title>mine</title>{}</channel></rss>'
GENERATOR = f"<generator>{PROGRAM}</generator>"


#: The feeds' other namespaces, by the prefix the cases declare them with.
NAMESPACES = {"atom": "http://www.w3.org/2005/Atom", "dc": "http://purl.org/dc/elements/1.1/",
              "media": "http://search.yahoo.com/mrss/", "fh": "http://purl.org/syndication/history/1.0",
              "content": "http://purl.org/rss/1.0/modules/content/"}


def _with(doc: str, prefix: str, body: str) -> str:
    """*doc* (ATOM or RSS) declaring the namespace of *prefix* on its root, holding the generator
    and *body*."""
    root = "<feed " if doc is ATOM else "<rss "
    return doc.replace(root, f'{root}xmlns:{prefix}="{NAMESPACES[prefix]}" ', 1).format(GENERATOR + body)


FEEDS = {
    "Atom: in an entry's source": ATOM.format(f"<entry><source>{GENERATOR.replace('<g', '<g')}</source></entry>"),
    "Atom: without the Atom namespace": ATOM.replace(' xmlns="http://www.w3.org/2005/Atom"', "").format(GENERATOR),
    "Atom: in another namespace": ATOM.format(f'<x:generator xmlns:x="urn:x">{PROGRAM}</x:generator>'),
    "Atom: in an extension element": ATOM.format(f'<x:ext xmlns:x="urn:x">{GENERATOR}</x:ext>'),
    "RSS: in an item": RSS.format(f"<item>{GENERATOR}</item>"),
    "RSS: on a root that is not rss": RSS.replace("rss", "rdf").format(GENERATOR),
    "RSS: after the mark's text, more": RSS.format(f"<generator>{PROGRAM} fork</generator>"),
    "Atom: after an error": ATOM.format("<oops></oopz>" + GENERATOR),
    "Atom: a processing instruction": ATOM.format(f"<?x {GENERATOR}?>"),
    "Atom: two generators": ATOM.format(GENERATOR + GENERATOR),
    "Atom: a generator holding an element": ATOM.format(f"<generator>{PROGRAM}<b/></generator>"),
    "Atom: a DOCTYPE": ATOM.replace("\n", '\n<!DOCTYPE feed [<!ENTITY x "y">]>\n', 1).format(GENERATOR),
    "Atom: the name from an entity": ATOM.replace("\n", f'\n<!DOCTYPE feed [<!ENTITY x "{PROGRAM}">]>\n', 1)
    .format("<generator>&x;</generator>"),
    "RSS: not closed": RSS.format(GENERATOR)[:-len("</rss>")],
    "Atom: a comment after its end": ATOM.format(GENERATOR) + "\n<!-- mine -->\n",
    "Atom: a comment in it": ATOM.format(GENERATOR + "<!-- mine -->"),
    "Atom: a stylesheet before its root": ATOM.replace("\n", '\n<?xml-stylesheet type="text/xsl" href="my.xsl"?>\n', 1)
    .format(GENERATOR),
    "Atom: an element of another namespace": ATOM.format(GENERATOR + '<mine xmlns="urn:mine">my notes</mine>'),
    "Atom: the name in CDATA": ATOM.format(f"<generator><![CDATA[{PROGRAM}]]></generator>"),
    "Atom: the name by a character reference": ATOM.format("<generator>digest&#45;export</generator>"),
    "Atom: CDATA elsewhere": ATOM.format(GENERATOR + "<subtitle><![CDATA[mine]]></subtitle>"),
    "RSS: an element RSS does not have": RSS.format(GENERATOR + "<mine>x</mine>"),
    "RSS: a processing instruction after its end": RSS.format(GENERATOR) + "\n<?mine x?>\n",
    "Atom: an element Atom does not have": ATOM.format(GENERATOR + "<mine>note</mine>"),
    "Atom: a script in an entry": ATOM.format(GENERATOR + "<entry><script>x</script></entry>"),
    "Atom: a second generator in an entry": ATOM.format(GENERATOR + f"<entry>{GENERATOR}</entry>"),
    "RSS: a second generator in an item": RSS.format(GENERATOR + f"<item>{GENERATOR}</item>"),
    "Atom: an attribute of another namespace": ATOM.replace("<feed ", '<feed xmlns:m="urn:mine" m:notes="mine" ')
    .format(GENERATOR),
    "RSS: an attribute of another namespace": RSS.replace("<channel>", '<channel xmlns:m="urn:m" m:notes="mine">')
    .format(GENERATOR),
    "Atom: an attribute Atom does not have": ATOM.format(GENERATOR.replace("<generator>", '<generator my="1">')),
    "Atom: an xml:base the program never writes": ATOM.format(
        GENERATOR.replace("<generator>", '<generator xml:base="https://mine.example/">')),
    "Atom: an attribute in the OPDS namespace OPDS does not have": ATOM.replace(
        "<feed ", '<feed xmlns:o="http://opds-spec.org/2010/catalog" o:notes="mine" ').format(GENERATOR),
    "RSS: of version 0.91": RSS.replace('version="2.0"', 'version="0.91"').format(GENERATOR),
    "Atom: an attribute its element does not have": ATOM.format(GENERATOR + '<id href="mine">x</id>'),
    "Atom: a title attribute on an entry": ATOM.format(GENERATOR + '<entry version="1"><id>x</id></entry>'),
    "Atom: a scheme on a title": ATOM.format(GENERATOR + '<title scheme="mine">t</title>'),
    "RSS: an attribute its element does not have": RSS.format(GENERATOR + '<item><title url="mine">t</title></item>'),
    "Atom: an XHTML element in an entry": ATOM.format(
        GENERATOR + '<entry><h:mynotes xmlns:h="http://www.w3.org/1999/xhtml">my notes</h:mynotes></entry>'),
    "Atom: XHTML content": ATOM.format(GENERATOR + '<entry><content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
                                       '<p>mine</p></div></content></entry>'),
    "RSS: an XHTML element": RSS.format(GENERATOR + '<h:div xmlns:h="http://www.w3.org/1999/xhtml">x</h:div>'),
    "Atom: text between the feed's elements": ATOM.format(GENERATOR + "\n  MY PRIVATE NOTES\n"),
    "Atom: text in an entry": ATOM.format(GENERATOR + "<entry><id>x</id>my notes</entry>"),
    "Atom: a no-break space between entries": ATOM.format(GENERATOR + "<entry><id>x</id></entry>\u00a0"),
    "RSS: an ogham space mark after an item": RSS.format(GENERATOR + "<item><title>t</title></item>\u1680"),
    "RSS: text in an item": RSS.format(GENERATOR + "<item><title>t</title>my notes</item>"),
    "Atom: an RSS element in an entry": ATOM.format(GENERATOR + '<entry><guid xmlns="">x</guid></entry>'),
    "Atom: a feed in an entry": ATOM.format(GENERATOR + "<entry><feed><id>x</id></feed></entry>"),
    "Atom: an entry in an author": ATOM.format(GENERATOR + "<author><entry><id>x</id></entry></author>"),
    "RSS: an Atom entry in an item": _with(RSS, "atom",
        "<item><atom:entry><atom:title>mine</atom:title></atom:entry></item>"),
    "RSS: an item in an item": RSS.format(GENERATOR + "<item><item><title>mine</title></item></item>"),
    "Atom: a namespace of the user's declared": ATOM.format(
        GENERATOR + '<title xmlns:notes="urn:my-private-notes:keep-this-file">t</title>'),
    "Atom: an element Dublin Core does not have": _with(ATOM, "dc", "<dc:mynotes>hello</dc:mynotes>"),
    "Atom: an element Media RSS does not have": _with(ATOM, "media", "<media:mynotes>hello</media:mynotes>"),
    "RSS: an element Dublin Core does not have": _with(RSS, "dc", "<dc:mynotes>x</dc:mynotes>"),
    "RSS: an OPDS link": _with(RSS, "atom",
        '<atom:link rel="related" href="c.opds" type="application/atom+xml;profile=opds-catalog"/>'),
    "RSS: of no version": RSS.replace(' version="2.0"', "").format(GENERATOR),
    "Atom: a byte-order mark before it": "\ufeff" + ATOM.format(GENERATOR),
    "RSS: a line before its declaration": "\n" + RSS.format(GENERATOR),
    "Atom: a second title of the feed": ATOM.format(GENERATOR + "<title>my notes</title>"),
    "Atom: a second id of the feed": ATOM.format("<id>urn:a</id>" + GENERATOR + "<id>tag:me,2024:my-own-feed</id>"),
    "Atom: two summaries in an entry": ATOM.format(GENERATOR + "<entry><id>x</id><summary>a</summary>"
                                                   "<summary>mine</summary></entry>"),
    # A feed's own metadata (RFC 4287 4.1.1), never an entry's.
    **{f"Atom: an {name} in an entry": ATOM.format(GENERATOR + f"<entry><id>x</id><{name}>mine</{name}></entry>")
       for name in ("icon", "logo", "subtitle")},
    "Atom: two names of an author": ATOM.format(GENERATOR + "<author><name>a</name><name>mine</name></author>"),
    "RSS: an Atom link in an item": _with(RSS, "atom",
        '<item><atom:link href="https://evil.example/" rel="self"/><title>t</title></item>'),
    "RSS: a second title of the channel": RSS.format(GENERATOR + "<title>my notes</title>"),
    "RSS: two links in an item": RSS.format(GENERATOR + "<item><link>https://a/</link><link>https://mine/</link></item>"),
    "RSS: two guids in an item": RSS.format(GENERATOR + "<item><guid>a</guid><guid>mine</guid></item>"),
    "RSS: the content module's encoded in the channel": _with(RSS, "content",
        "<content:encoded>my notes</content:encoded>"),
    "Atom: RFC 5005's complete in an entry": _with(ATOM, "fh", "<entry><id>x</id><fh:complete/></entry>"),
    "Atom: a Media RSS thumbnail in an author": _with(ATOM, "media",
        '<author><name>a</name><media:thumbnail url="https://mine/"/></author>'),
    "Atom: a Dublin Core creator in an author": _with(ATOM, "dc",
        "<author><name>a</name><dc:creator>mine</dc:creator></author>"),
    "RSS: a Dublin Core element in an item's title": _with(RSS, "dc",
        "<item><title>t<dc:rights>mine</dc:rights></title></item>"),
    "RSS: a Media RSS content in a channel's image": _with(RSS, "media",
        '<image><url>https://a/</url><media:content url="https://mine/"/></image>'),
}


@pytest.mark.parametrize("case", sorted(FEEDS))
def test_a_feed_whose_generator_is_not_the_feeds_is_the_users(tmp_path, case):
    assert not _says(tmp_path, FEEDS[case].encode(), "feed.xml"), case


@pytest.mark.parametrize("doc", [ATOM.format(GENERATOR.replace("<generator>", '<generator uri="https://x.org/">')),
                                 RSS.format(GENERATOR)])
def test_a_feed_with_its_own_generator_is_the_programs(tmp_path, doc):
    assert _says(tmp_path, doc.encode(), "feed.xml")
    # The document as the program writes it, whole: one with more after its end, cut short, or
    # with a second root is not (the writer's rule for a cut-short file is another: it must
    # hold nothing the new file does not).
    for other in (doc + "\nmy notes", doc[:-7], doc + doc[doc.index("<", 5):]):
        assert not _says(tmp_path, other.encode(), "feed.xml"), other


def _package(metadata: str) -> str:
    return ('<package xmlns="http://www.idpf.org/2007/opf" version="3.0"><metadata '
            f'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>t</dc:title>{metadata}</metadata></package>')


def _epub(metadata: str, other: str | None = None) -> bytes:
    """A book whose container names EPUB/package.opf (with *metadata*); *other*: the metadata of
    a second package document, EPUB/a.opf, zipped first, that the container does not name."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        z.writestr("META-INF/container.xml", '<container xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
                   'version="1.0"><rootfiles><rootfile full-path="EPUB/package.opf" '
                   'media-type="application/oebps-package+xml"/></rootfiles></container>')
        if other is not None:
            z.writestr("EPUB/a.opf", _package(other), compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("EPUB/package.opf", _package(metadata), compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


PUBLISHER = f"<dc:publisher>{PROGRAM}</dc:publisher>"


def _rezipped(data: bytes, change) -> bytes:
    """The book *data* zipped again entry by entry, *change* given each new entry's info (and
    the zip being written, after the entry) to mark it."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for i, old in enumerate(src.infolist()):
            info = zipfile.ZipInfo(old.filename, old.date_time)
            info.compress_type = old.compress_type
            change(i, info, None)
            z.writestr(info, src.read(old))
            change(i, info, z)
    return out.getvalue()


def _trailer_after_last_deflate(data: bytes, trailer: bytes) -> bytes:
    """The zip *data* (its last entry deflated) with *trailer* after that entry's deflate stream,
    inside the entry: its sizes in both headers and the central directory's offset made right,
    so every zip reader takes it (and none returns the trailer)."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        last = z.infolist()[-1]
        assert last.compress_type == zipfile.ZIP_DEFLATED
        name_len, extra_len = struct.unpack("<HH", data[last.header_offset + 26:last.header_offset + 30])
        end = last.header_offset + 30 + name_len + extra_len + last.compress_size
    out = bytearray(data[:end] + trailer + data[end:])
    grow = len(trailer)
    at = last.header_offset + 18
    out[at:at + 4] = struct.pack("<I", last.compress_size + grow)
    central = out.rfind(b"PK\x01\x02")
    out[central + 20:central + 24] = struct.pack("<I", last.compress_size + grow)
    eocd = out.rfind(b"PK\x05\x06")
    out[eocd + 16:eocd + 20] = struct.pack("<I", struct.unpack("<I", out[eocd + 16:eocd + 20])[0] + grow)
    return bytes(out)


def test_a_book_with_bytes_after_an_entrys_deflate_stream_is_the_users(tmp_path):
    """Bytes after the end of an entry's deflate stream (RFC 1951) are returned by no reader:
    notes hidden there make the book another's, as between entries."""
    book = _epub(PUBLISHER)  # its package document, deflated, last
    assert _says(tmp_path, book, "book.epub")
    hidden = _trailer_after_last_deflate(book, b"HIDDEN NOTES")
    with zipfile.ZipFile(io.BytesIO(hidden)) as z:
        assert z.testzip() is None
    assert not _says(tmp_path, hidden, "book.epub")


def test_a_book_with_bytes_after_a_stored_entrys_data_is_the_users(tmp_path):
    """A stored entry whose compressed size counts more bytes than its data: readers stop at its
    size, and what follows is no entry's."""
    book = _rezipped(_epub(PUBLISHER), lambda i, info, z: None)
    with zipfile.ZipFile(io.BytesIO(book)) as z:
        first = z.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
    last_stored = _rezipped(_epub(PUBLISHER), lambda i, info, z: setattr(info, "compress_type", zipfile.ZIP_STORED)
                            if z is None else None)
    assert _says(tmp_path, last_stored, "book.epub")
    with zipfile.ZipFile(io.BytesIO(last_stored)) as z:
        last = z.infolist()[-1]
        name_len = len(last.filename.encode())
        end = last.header_offset + 30 + name_len + last.compress_size
    notes = b"MY PRIVATE NOTES " * 60
    out = bytearray(last_stored[:end] + notes + last_stored[end:])
    out[last.header_offset + 18:last.header_offset + 22] = struct.pack("<I", last.compress_size + len(notes))
    central = out.rfind(b"PK\x01\x02")
    out[central + 20:central + 24] = struct.pack("<I", last.compress_size + len(notes))
    eocd = out.rfind(b"PK\x05\x06")
    out[eocd + 16:eocd + 20] = struct.pack("<I", struct.unpack("<I", out[eocd + 16:eocd + 20])[0] + len(notes))
    assert not _says(tmp_path, bytes(out), "book.epub")


def test_a_book_whose_entry_inflates_past_its_size_is_the_users(tmp_path):
    """A deflated entry whose stream holds more than its uncompressed size: readers stop at that
    size (its checksum is of those bytes), and the rest is no entry's."""
    book = _epub(PUBLISHER)
    with zipfile.ZipFile(io.BytesIO(book)) as z:
        last = z.infolist()[-1]
        name_len = len(last.filename.encode())
        start = last.header_offset + 30 + name_len
        original = z.read(last)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    stream = packer.compress(original + b"MY PRIVATE NOTES " * 200) + packer.flush()
    out = bytearray(book[:start] + stream + book[start + last.compress_size:])
    grow = len(stream) - last.compress_size
    out[last.header_offset + 18:last.header_offset + 22] = struct.pack("<I", len(stream))
    central = out.rfind(b"PK\x01\x02")
    out[central + 20:central + 24] = struct.pack("<I", len(stream))
    eocd = out.rfind(b"PK\x05\x06")
    out[eocd + 16:eocd + 20] = struct.pack("<I", struct.unpack("<I", out[eocd + 16:eocd + 20])[0] + grow)
    with zipfile.ZipFile(io.BytesIO(bytes(out))) as z:
        assert z.read(z.infolist()[-1]) == original  # every reader sees the entry as it was
    assert not _says(tmp_path, bytes(out), "book.epub")


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_a_book_with_an_entry_compressed_otherwise_than_epub_allows_is_the_users(tmp_path, method):
    """OCF 3.3 section 4.2: an EPUB's entries are stored or deflated; bzip2 or LZMA (whose
    streams may hide bytes after their end, as deflate's) is not the program's."""
    def recompress(i, info, z):
        if z is None and i == 2:
            info.compress_type = method

    data = _rezipped(_epub(PUBLISHER), recompress)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.testzip() is None
    assert not _says(tmp_path, data, "book.epub")


@pytest.mark.parametrize("case", ["an entry's comment", "an entry's extra field", "bytes between entries"])
def test_a_book_with_bytes_outside_its_entries_is_the_users(tmp_path, case):
    """What lies outside the entries (between two, in an entry's comment or extra field) is read
    by no reader: notes kept there make the book another's."""
    def change(i, info, z):
        if i != 2:
            return
        if z is None and case == "an entry's comment":
            info.comment = b"my notes"
        elif z is None and case == "an entry's extra field":
            info.extra = b"\x99\x99\x08\x00my notes"
        elif z is not None and case == "bytes between entries":
            z.fp.write(b"MY NOTES BETWEEN ENTRIES")
            z.start_dir = z.fp.tell()

    book = _epub(PUBLISHER)
    assert _says(tmp_path, _rezipped(book, lambda i, info, z: None), "book.epub")
    data = _rezipped(book, change)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.testzip() is None  # a zip every tool reads, its entries whole
    assert not _says(tmp_path, data, "book.epub"), case


@pytest.mark.parametrize("metadata", [f"<!-- {PUBLISHER} -->", f"<dc:description><![CDATA[{PUBLISHER}]]></dc:description>",
                                      "<dc:publisher>someone</dc:publisher>", f"<dc:creator>{PROGRAM}</dc:creator>",
                                      f'<meta property="x">{PUBLISHER}</meta>'])
def test_a_book_whose_publisher_is_not_the_program_is_the_users(tmp_path, metadata):
    assert not _says(tmp_path, _epub(metadata), "book.epub"), metadata


def test_a_book_published_by_the_program_is_its_own(tmp_path):
    assert _says(tmp_path, _epub(PUBLISHER), "book.epub")
    # A second package document, the container naming either: the program zips one.
    assert not _says(tmp_path, _epub(PUBLISHER, other="<dc:publisher>me</dc:publisher>"), "book.epub")
    assert not _says(tmp_path, _epub("<dc:publisher>me</dc:publisher>", other=PUBLISHER), "book.epub")


@pytest.mark.parametrize("case", ["two publishers", "two renditions", "two entries of one name", "a wrong checksum",
                                  "bytes after the zip", "a zip comment", "notes zipped in", "the name in CDATA",
                                  "the name by a character reference"])
def test_a_book_the_program_could_not_have_written_is_the_users(tmp_path, case):
    if case in ("bytes after the zip", "a zip comment", "notes zipped in"):
        with zipfile.ZipFile(buf := io.BytesIO(_epub(PUBLISHER)), "a") as z:
            if case == "a zip comment":
                z.comment = b"mine"
            elif case == "notes zipped in":
                z.writestr("EPUB/my-notes.txt", "my private notes")
        data = buf.getvalue() + (b"my trailer" if case == "bytes after the zip" else b"")
    elif case.startswith("the name"):
        data = _epub(PUBLISHER.replace(PROGRAM, f"<![CDATA[{PROGRAM}]]>" if "CDATA" in case else "digest&#45;export"))
    elif case == "two entries of one name":
        import warnings

        data = _epub(PUBLISHER)
        with warnings.catch_warnings(), zipfile.ZipFile(buf := io.BytesIO(data), "a") as z:
            warnings.simplefilter("ignore")  # "Duplicate name": what the case is
            z.writestr("EPUB/package.opf", _package(PUBLISHER + "<dc:creator>me</dc:creator>"))
        data = buf.getvalue()
    elif case == "a wrong checksum":
        data = _epub(PUBLISHER)
        at = data.index(b"container xmlns")
        data = data[:at] + b"C" + data[at + 1:]
    elif case == "two publishers":
        data = _epub("<dc:publisher>me</dc:publisher>" + PUBLISHER)
    else:
        data = _epub(PUBLISHER, other="<dc:publisher>me</dc:publisher>").replace(
            b'media-type="application/oebps-package+xml"/>',
            b'media-type="application/oebps-package+xml"/><rootfile full-path="EPUB/a.opf" '
            b'media-type="application/oebps-package+xml"/>')
    assert not _says(tmp_path, data, "book.epub"), case


@pytest.mark.parametrize("head", [b"", b"\x00" * 10, b"\xff\xd8\xff" + MARK, b"\x89PNG\r\n\x1a\n" + MARK,
                                  b"{" + MARK, b"<!doctype html>" + MARK, b"<" * 5000 + MARK, b"PK\x03\x04" + MARK])
def test_a_broken_file_is_never_the_programs(head):
    """Bytes no parser accepts are the user's (never a traceback)."""
    assert not carries("file", head, lambda: io.BytesIO(head))


@pytest.mark.parametrize("doc", ['{"program": "someone", "program": "digest-export"}',
                                 '{"program": "digest-export", "x": {"a": 1, "a": 2}}',
                                 '[{"program": "digest-export"}]', '"program: digest-export"',
                                 '{"x": {"program": "digest-export"}}', '{"program": ["digest-export"]}'])
def test_a_json_document_that_is_not_as_the_program_writes_it_is_the_users(tmp_path, doc):
    """A key twice (the program never writes one), or the key elsewhere than the top level."""
    assert not _says(tmp_path, doc.encode(), "feed.json"), doc


JSON_FEED = '{"version": "https://jsonfeed.org/version/1.1", "title": "mine", %s "items": []}'


def test_a_json_document_with_the_programs_key_is_its_own(tmp_path):
    assert _says(tmp_path, b'{"program": "digest-export", "format": 1, "version": "0.1"}', "state.json")
    assert _says(tmp_path, (JSON_FEED % '"_digest_export": {"program": "digest-export"},').encode(), "feed.json")
    assert _says(tmp_path, b'{"metadata": {"title": "t", "program": "digest-export"}, "links": [], "publications": []}', "catalog.json")


@pytest.mark.parametrize("doc", [
    JSON_FEED % '"program": "digest-export",', JSON_FEED % '"metadata": {"program": "digest-export"},',
    '{"metadata": {"title": "mine"}, "_digest_export": {"program": "digest-export"}}',
    '{"metadata": {"title": "mine"}, "program": "digest-export"}',
    '{"metadata": {"title": "mine", "program": "digest-export"}, "version": "https://jsonfeed.org/version/1.1"}',
    '{"program": "digest-export", "_digest_export": {"program": "digest-export"}}',
    '{"_digest_export": {"program": "mine"}, "_digest_export": {"program": "digest-export"}}',
    '{"program": "digest-export", "title": "mine\udcff"}',
    JSON_FEED % '"_digest_export": {"program": "digest-export", "mine": 1},',
    JSON_FEED % '"_digest_export": {"program": "digest-export"}, "_mine": 1,',
    '{"metadata": {"title": "t", "program": "digest-export"}, "links": [], "mine": 1}',
    '{"metadata": {"title": "t", "program": "digest-export", "mine": 1}, "links": []}',
    '{"program": "digest-export", "mine": [1, 2, 3]}'])
def test_the_mark_in_the_place_of_another_kind_of_json_document_is_none(tmp_path, doc):
    """JSON Feed's mark is its extension object, OPDS 2.0's its metadata's ``program``, the state's
    its top-level ``program``: each in its own kind of document only."""
    raw = doc.encode("utf-8", "surrogateescape")
    assert not _says(tmp_path, raw, "feed.json"), doc
    assert not _says(tmp_path, raw, "catalog.json"), doc


@pytest.mark.parametrize("name, doc", [("feed.atom", RSS.format(GENERATOR)), ("catalog.opds", RSS.format(GENERATOR)),
                                       ("feed.rss", ATOM.format(GENERATOR)),
                                       ("feed.rss", RSS.replace("</channel>", "</channel><channel/>").format(GENERATOR)),
                                       ("feed.atom", '{"program": "digest-export"}'),
                                       ("icon.png", "\xff\xd8\xff" + GENERATOR)])
def test_a_document_of_another_kind_than_its_name_says_is_the_users(tmp_path, name, doc):
    assert not _says(tmp_path, doc.encode("latin-1"), name), (name, doc)


CATALOG_SELF = '<link rel="self" href="catalog.opds" type="application/atom+xml;profile=opds-catalog;kind=acquisition"/>'


def test_a_feed_of_papers_and_a_catalog_are_told_apart():
    """Both are Atom: a catalog links to itself as an OPDS catalog (OPDS 1.2 section 2), a feed of
    papers has no OPDS link.  Each is its own kind's only."""
    catalog = ATOM.format(GENERATOR + CATALOG_SELF).encode()
    feed = ATOM.format(GENERATOR + '<link rel="alternate" href="https://papers.example.org/" type="text/html"/>').encode()
    acquiring = ATOM.format(GENERATOR + '<entry><link rel="http://opds-spec.org/acquisition" href="b.epub"/></entry>')

    def says(name, data):
        return carries(name, data[:4096], lambda: io.BytesIO(data))

    assert says("catalog.opds", catalog) and says("feed.atom", feed)
    assert not says("feed.atom", catalog) and not says("catalog.opds", feed)
    assert not says("feed.atom", acquiring.encode()) and not says("catalog.opds", acquiring.encode())
    # A media type is case-insensitive, takes white space around ';' and quoted values (RFC 9110
    # section 8.3.1), and OPDS 2.0 has its own: each is an OPDS link all the same.
    for kind in ("application/atom+xml; profile=opds-catalog", "APPLICATION/ATOM+XML;PROFILE=OPDS-CATALOG;KIND=ACQUISITION",
                 'application/atom+xml;profile="opds-catalog"', "application/opds+json"):
        link = f'<link rel="related" href="x.opds" type=\'{kind}\'/>'
        for doc in (ATOM.format(GENERATOR + link), ATOM.format(GENERATOR + f"<entry>{link}</entry>")):
            assert not says("feed.atom", doc.encode()), doc
    spaced = CATALOG_SELF.replace("xml;profile", "xml; PROFILE")
    assert says("catalog.opds", ATOM.format(GENERATOR + spaced).encode())


@pytest.mark.parametrize("doc", [
    # A key of the user's in the feed's author, a JSON Feed of another version, values of types
    # the program never writes there.
    '{"version": "https://jsonfeed.org/version/1.1", "title": "t", "authors": [{"name": "A", "_digest_export": {}}], '
    '"_digest_export": {"program": "digest-export"}, "items": []}',
    '{"version": "https://jsonfeed.org/version/1", "title": "t", "_digest_export": {"program": "digest-export"}, '
    '"items": []}',
    '{"version": "https://jsonfeed.org/version/1.1", "title": "t", "_digest_export": {"program": "digest-export"}, '
    '"items": [{"id": "1", "_digest_export": {"date": "2024-03-04", "rank": -1e300}}]}',
    '{"version": "https://jsonfeed.org/version/1.1", "title": "t", "_digest_export": {"program": "digest-export"}, '
    '"items": [{"id": "1", "_digest_export": {"date": "2024-03-04", "rank": 1, "votes": "my own note"}}]}',
    '{"metadata": {"title": "t", "program": "digest-export", "itemsPerPage": "25"}, "links": []}',
    '{"metadata": {"title": "t", "program": "digest-export", "itemsPerPage": true}, "links": []}',
    '{"metadata": {"title": "t", "program": "digest-export"}, "links": [], "facets": [{"metadata": {"title": "g", '
    '"mine": 1}, "links": []}], "navigation": []}',
    '{"metadata": {"title": "t", "program": "digest-export"}, "links": [], "publications": [], "navigation": []}',
])
def test_a_json_document_of_another_shape_than_the_programs_is_the_users(tmp_path, doc):
    name = "feed.json" if "jsonfeed" in doc else "catalog.json"
    assert not _says(tmp_path, doc.encode(), name), doc


@pytest.mark.parametrize("where", ["item", "author", "attachment", "extension"])
def test_a_json_feed_with_a_key_of_the_users_in_an_item_is_the_users(tmp_path, where):
    item = {"id": "1", "title": "t", "authors": [{"name": "A"}], "attachments": [{"url": "https://a.org/p.pdf", "mime_type": "application/pdf"}],
            "_digest_export": {"date": "2024-03-04", "rank": 1}}
    import json

    assert _says(tmp_path, json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": [item],
                                       "_digest_export": {"program": PROGRAM}}).encode(), "feed.json")
    target = {"item": item, "author": item["authors"][0], "attachment": item["attachments"][0],
              "extension": item["_digest_export"]}[where]
    target["mynotes"] = "my precious notes"
    assert not _says(tmp_path, json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": [item],
                                           "_digest_export": {"program": PROGRAM}}).encode(), "feed.json")


def test_an_opds2_page_with_a_key_of_the_users_in_a_publication_is_the_users(tmp_path):
    import json

    page = {"metadata": {"title": "t", "program": PROGRAM},
            "links": [{"href": "catalog.json", "rel": "self", "type": "application/opds+json"}],
            "publications": [{"metadata": {"title": "b"}, "links": []}]}
    assert _says(tmp_path, json.dumps(page).encode(), "catalog.json")
    page["publications"][0]["mynotes"] = "mine"
    assert not _says(tmp_path, json.dumps(page).encode(), "catalog.json")
    del page["publications"][0]["mynotes"]
    page["links"][0]["mynotes"] = "mine"
    assert not _says(tmp_path, json.dumps(page).encode(), "catalog.json")


def test_a_refused_feed_leaves_the_other_feeds_unwritten(tmp_path):
    """A file of the user's at one feed's name stops the feeds before any is written: the folder
    is never left with some feeds of this run and others of the last."""
    from hostile_three import run_cli, two_papers

    src = two_papers(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "feed.rss").write_bytes(RSS.format("<generator>mine</generator>").encode())
    result = run_cli(["feed", str(src), "-o", str(out)], tmp_path)
    assert result.exit_code == 1 and "feed.rss was not written by digest-export" in result.output, result.output
    assert sorted(p.name for p in out.iterdir()) == ["feed.rss"], result.output


def test_a_library_warning_never_reaches_the_user(tmp_path):
    """A picture of the user's with broken EXIF where a cover goes: Pillow's "Corrupt EXIF data"
    (a Python warning naming Pillow's source line) is not printed, even once."""
    import subprocess
    import sys
    from pathlib import Path

    from hostile_three import two_papers

    src = two_papers(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    mine = _after_soi(marked(_jpeg(), "image/jpeg"), _segment(0xE1, b"Exif\x00\x00MM\x00*\x00\x00\x00\x08" + MARK))
    (out / "daily-papers-2024-W10.cover.jpg").write_bytes(mine)
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-m", "exporter", "build", str(src), "-o", str(out), "--images", "none",
                             "--state", str(tmp_path / "s.json")], capture_output=True, text=True,
                            env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
                                 "XDG_CACHE_HOME": str(tmp_path / "c")})
    assert "Warning" not in result.stderr and "PIL" not in result.stderr, result.stderr
    assert (out / "daily-papers-2024-W10.cover.jpg").read_bytes() == mine, result.stderr


def test_a_state_path_holding_a_json_document_of_the_users_is_kept(tmp_path):
    """``--state FILE`` at a JSON document of the user's that holds the program's key among keys
    no state has: left alone (exit 1), as any file of the user's."""
    from hostile_three import run_cli, two_papers

    src = two_papers(tmp_path)
    state = tmp_path / "prog.json"
    state.write_bytes(b'{"program": "digest-export", "mine": [1, 2, 3]}')
    result = run_cli(["build", str(src), "-o", str(tmp_path / "out"), "--images", "none", "--state", str(state)],
                     tmp_path)
    assert result.exit_code == 1 and "prog.json was not written by digest-export" in result.output, result.output
    assert state.read_bytes() == b'{"program": "digest-export", "mine": [1, 2, 3]}'


def test_a_page_nested_past_any_the_program_writes_is_the_users_and_told_at_once(tmp_path):
    """40,000 unclosed ``<div>`` took html5lib minutes to read (its tree building is quadratic
    in the nesting), a million hours: a page nested deeper than any the program writes is the
    user's, told by a linear parser first."""
    import time

    for n in (200, 40_000, 1_000_000):
        page = PAGE.format(head=META, body="<div>" * n).encode()
        start = time.perf_counter()
        assert not _says(tmp_path, page, "index.html")
        assert time.perf_counter() - start < 5
    assert _says(tmp_path, PAGE.format(head=META, body="<div>" * 60 + "x" + "</div>" * 60).encode(), "index.html")


@pytest.mark.parametrize("name", ["feed.json", "feed.atom"])
def test_a_feed_larger_than_any_the_program_writes_is_not_read_to_its_end(tmp_path, monkeypatch, name):
    """A feed padded with millions of tiny entries cost minutes (Atom) or forty times its size in
    memory (JSON Feed) to find the mark in: past the largest feed the program writes, it is the
    user's, unread.  (The bound is made small here; the same document under it is the program's.)"""
    from exporter.gates import marks

    if name == "feed.json":
        head = JSON_FEED % '"_digest_export": {"program": "digest-export"},'
        doc = head.replace('"items": []', '"items": [' + ",".join('{"id": "x%d"}' % i for i in range(40_000)) + "]")
    else:
        doc = ATOM.format(GENERATOR + "".join(f"<entry><id>x{i}</id></entry>" for i in range(40_000)))
    data = doc.encode()
    assert _says(tmp_path, data, name)
    monkeypatch.setattr(marks, "MAX_FEED_DOCUMENT_BYTES", len(data) - 1)
    assert not _says(tmp_path, data, name)
