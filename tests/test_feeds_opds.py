"""The OPDS 1.2 catalog of the EPUB bundles in the output folder."""

from __future__ import annotations

import io
import zipfile

import feedparser
from feedhelpers import ATOM, BASE, run, standard_days, write_days, xml
from PIL import Image

ACQ = "http://opds-spec.org/acquisition"
CATALOG = "application/atom+xml;profile=opds-catalog;kind=acquisition"


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (60, 90), (20, 60, 120)).save(buf, format="JPEG")
    return buf.getvalue()


def ebooklib_epub(path, title, *, series="Daily Papers", index="10"):
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("urn:uuid:7e0b7a8e-0000-4000-8000-000000000010")
    book.set_title(title)
    book.set_language("ko")
    book.add_author("Digest Bot", uid="creator-1")
    book.add_metadata("DC", "coverage", "2024-03-04/2024-03-10")  # the period, as digest-export writes it
    book.add_metadata(None, "meta", "", {"name": "calibre:series", "content": series})
    book.add_metadata(None, "meta", "", {"name": "calibre:series_index", "content": index})
    book.set_cover("cover.jpg", _jpeg(), create_page=False)
    chapter = epub.EpubHtml(title="Day", file_name="day.xhtml", lang="ko")
    chapter.content = "<section><h1>Day</h1><p>text</p></section>"
    book.add_item(chapter)
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = ["nav", chapter]
    epub.write_epub(str(path), book, {"raise_exceptions": True})


def handmade_epub(path, title, *, identifier="daily-papers-2024-W09", modified="2024-03-04T00:00:00Z"):
    opf = f"""<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="uid">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
    <dc:identifier id="uid">{identifier}</dc:identifier>
    <dc:title>{title}</dc:title>
    <dc:language>ko</dc:language>
    <dc:description>Papers of one week</dc:description>
    <dc:coverage>2024-02-26/2024-03-03</dc:coverage>
    <meta property="dcterms:modified">{modified}</meta>
    <meta property="belongs-to-collection" id="c1">Weekly Papers</meta>
    <meta refines="#c1" property="group-position">9</meta>
  </metadata>
  <manifest>
    <item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>
    <item id="cov" href="images/c.png" media-type="image/png" properties="cover-image"/>
  </manifest>
  <spine><itemref idref="nav"/></spine>
</package>"""
    buf = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buf, format="PNG")
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        z.writestr("META-INF/container.xml", """<?xml version="1.0"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles>
</container>""")
        z.writestr("OEBPS/content.opf", opf)
        z.writestr("OEBPS/nav.xhtml", "<html/>")
        z.writestr("OEBPS/images/c.png", buf.getvalue())


def test_opds_catalog_lists_epubs_with_acquisition_links(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    ebooklib_epub(out / "daily-papers-2024-W10.epub", "Daily Papers 2024-W10")
    handmade_epub(out / "daily-papers-2024-W09.epub", "Daily Papers 2024-W09")
    (out / "broken.epub").write_bytes(b"not a zip")
    src = write_days(tmp_path / "in", standard_days(1))
    report = run(src, out, formats=("opds",))
    assert report.books == 2
    assert any("broken.epub: warning: not listed" in str(w) for w in report.warnings)

    parsed = feedparser.parse(str(out / "catalog.opds"))
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert [e.title for e in parsed.entries] == ["Daily Papers 2024-W10", "Daily Papers 2024-W09"]
    root = xml(out / "catalog.opds")
    feed_links = {link.get("rel"): (link.get("href"), link.get("type")) for link in root.findall(f"{ATOM}link")}
    assert feed_links["self"] == (BASE + "catalog.opds", CATALOG)
    assert feed_links["start"] == (BASE + "catalog.opds", CATALOG)
    assert feed_links["up"] == (BASE + "catalog.opds", CATALOG)
    # The book's description ends a sentence of the summary: no "..".
    assert all(".." not in (e.findtext(f"{ATOM}summary") or "") for e in root.findall(f"{ATOM}entry"))
    # feed updated = the newest book (ebooklib stamps its book with the write time)
    assert root.findtext(f"{ATOM}updated") >= "2024-03-04T00:00:00+00:00"

    w10, w09 = root.findall(f"{ATOM}entry")
    assert w10.findtext(f"{ATOM}id") == "urn:uuid:7e0b7a8e-0000-4000-8000-000000000010"
    acq = [link for link in w10.findall(f"{ATOM}link") if link.get("rel") == ACQ]
    assert len(acq) == 1
    assert acq[0].get("type") == "application/epub+zip"
    assert acq[0].get("href") == BASE + "daily-papers-2024-W10.epub"
    assert acq[0].get("length") == str((out / "daily-papers-2024-W10.epub").stat().st_size)
    thumbs = [link for link in w10.findall(f"{ATOM}link") if link.get("rel") == "http://opds-spec.org/image/thumbnail"]
    assert thumbs and thumbs[0].get("type") == "image/jpeg"
    assert (out / "daily-papers-2024-W10.cover.jpg").read_bytes()[:2] == b"\xff\xd8"
    assert "2024-03-04 to 2024-03-10" in w10.findtext(f"{ATOM}summary")
    assert "Series: Daily Papers #10" in w10.findtext(f"{ATOM}summary")
    assert w10.find(f"{ATOM}category").get("term") == "Daily Papers"
    assert w10.find(f"{ATOM}author/{ATOM}name").text == "Digest Bot"

    # a non-URI dc:identifier becomes a tag: URI; EPUB 3 collections are series
    assert w09.findtext(f"{ATOM}id").startswith("tag:digest-export,2024:book/daily-papers-2024-W09")
    assert w09.findtext(f"{ATOM}updated") == "2024-03-04T00:00:00+00:00"
    assert "Series: Weekly Papers #9" in w09.findtext(f"{ATOM}summary")
    assert (out / "daily-papers-2024-W09.cover.png").exists()


def test_opds_catalog_is_stable_and_relative_without_base_url(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    handmade_epub(out / "daily-papers-2024-W09.epub", "W09")
    src = write_days(tmp_path / "in", standard_days(1))
    run(src, out, formats=("opds",), base_url=None)
    first = (out / "catalog.opds").read_bytes()
    report = run(src, out, formats=("opds",), base_url=None)
    assert (out / "catalog.opds").read_bytes() == first
    assert all(status.value == "unchanged" for _, status in report.files)
    entry = xml(out / "catalog.opds").find(f"{ATOM}entry")
    acq = next(link for link in entry.findall(f"{ATOM}link") if link.get("rel") == ACQ)
    assert acq.get("href") == "daily-papers-2024-W09.epub"
