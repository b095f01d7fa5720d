"""EPUB builder: structure, metadata and every ebooklib workaround (docs/library-workarounds.md)."""

from __future__ import annotations

import hashlib
import io
import re
import sys
import types
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from epub_fixtures import EN, KO, NS, day_md, paper_md, unzip, write_week, xml
from exporter.bundles import BundleBy, make_bundles
from exporter.books.epub import EpubOptions, build_epub, detect_language
from exporter.pipeline import build_epubs
from exporter.errors import InputError
from exporter.reader.parse import read_digests
from exporter.render import safe_url


def build_one(folder: Path, **kw) -> dict[str, bytes]:
    result = read_digests([folder])
    (bundle,) = make_bundles(result.digests, kw.pop("by", BundleBy.WEEK))
    return unzip_bytes(build_epub(bundle, **kw))


def unzip_bytes(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


@pytest.fixture
def week(tmp_path):
    return write_week(tmp_path / "in")


@pytest.fixture
def files(week):
    return build_one(week)


def opf(files):
    return xml(files["EPUB/content.opf"])


def spine_docs(files):
    root = opf(files)
    hrefs = {i.get("id"): i.get("href") for i in root.iterfind("opf:manifest/opf:item", NS)}
    return [hrefs[r.get("idref")] for r in root.iterfind("opf:spine/opf:itemref", NS)]


# -- ebooklib 1: unique creator ids ------------------------------------------------

def test_creators_have_unique_ids(files):
    root = opf(files)
    creators = root.findall("opf:metadata/dc:creator", NS)
    assert len(creators) == 2
    ids = [e.get("id") for e in root.iter() if e.get("id")]
    assert len(ids) == len(set(ids)), ids


# -- ebooklib 2: language on the book and every document ------------------------------

def test_language_on_book_and_documents(files):
    assert opf(files).findtext("opf:metadata/dc:language", namespaces=NS) == "ko"
    for name, data in files.items():
        if name.endswith(".xhtml"):
            root = xml(data)
            assert root.get("lang") == "ko", name
            assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "ko", name


# -- ebooklib 3 and 4: body fragments in a section, css linked -----------------------

def test_day_documents_are_complete_and_styled(files):
    days = [n for n in files if re.search(r"day-\d{4}-\d\d-\d\d\.xhtml$", n)]
    assert len(days) == 3
    for name in days:
        root = xml(files[name])
        body = root.find("x:body", NS)
        assert body[0].tag == f"{{{NS['x']}}}section" and body[0].get("class").startswith("day")
        assert len(root.findall(".//x:section[@class='paper']", NS)) >= 3
        links = root.findall("x:head/x:link", NS)
        assert [lnk.get("href") for lnk in links] == ["style/epub.css"]
        assert root.findtext(".//x:h1", namespaces=NS).startswith("2024-03-0")


# -- ebooklib 5: own cover page first in the spine, meta cover ------------------------

def test_cover_page_first_in_spine_with_meta_cover(files):
    assert spine_docs(files)[0] == "cover.xhtml"
    root = opf(files)
    meta = root.find("opf:metadata/opf:meta[@name='cover']", NS)
    item = root.find(f"opf:manifest/opf:item[@id='{meta.get('content')}']", NS)
    assert item.get("properties") == "cover-image" and item.get("media-type") == "image/jpeg"
    cover = xml(files["EPUB/cover.xhtml"])
    assert cover.find(".//x:img", NS).get("src") == item.get("href")
    image = Image.open(io.BytesIO(files["EPUB/" + item.get("href")]))
    assert image.format == "JPEG" and image.size == (1400, 2100)


# -- ebooklib 6 and 7: TOC = day -> paper, in spine order, unique uids ---------------

def nav_tree(files):
    nav = xml(files["EPUB/nav.xhtml"]).find(".//x:nav[@epub:type='toc']", NS)
    out = []
    for li in nav.find("x:ol", NS).findall("x:li", NS):
        papers = [a.get("href") for a in li.findall("x:ol/x:li/x:a", NS)]
        out.append((li.find("x:a", NS).get("href"), papers))
    return out


def ncx_tree(files):
    ncx = xml(files["EPUB/toc.ncx"])
    out = []
    for point in ncx.findall("ncx:navMap/ncx:navPoint", NS):
        papers = [p.find("ncx:content", NS).get("src") for p in point.findall("ncx:navPoint", NS)]
        out.append((point.find("ncx:content", NS).get("src"), papers))
    return out


def test_nav_and_ncx_hold_day_then_paper_in_spine_order(files):
    days = [d for d in spine_docs(files) if d.startswith("day-")]
    expected = []
    for day in days:
        sections = xml(files["EPUB/" + day]).findall(".//x:section[@class='paper']", NS)
        expected.append((day, [f"{day}#{s.get('id')}" for s in sections]))
    assert nav_tree(files) == expected
    assert ncx_tree(files) == expected
    assert [n for n, _ in expected] == sorted(n for n, _ in expected)
    ncx_ids = [e.get("id") for e in xml(files["EPUB/toc.ncx"]).iter() if e.get("id")]
    assert len(ncx_ids) == len(set(ncx_ids))
    assert "n-20240304-p-2403.00000" in ncx_ids


def test_ids_unique_in_every_document(files):
    for name, data in files.items():
        if name.endswith((".xhtml", ".opf", ".ncx")):
            ids = [e.get("id") for e in xml(data).iter() if e.get("id")]
            assert len(ids) == len(set(ids)), name


# -- ebooklib 8: reproducible ------------------------------------------------------------

def test_two_builds_are_byte_identical(week, tmp_path):
    opts = dict(images="none", keep_going=True)
    a = build_epubs(read_digests([week]), EpubOptions(out_dir=tmp_path / "a", **opts))
    b = build_epubs(read_digests([week]), EpubOptions(out_dir=tmp_path / "b", **opts))
    (pa, _), (pb, _) = a.files[0], b.files[0]
    assert pa.read_bytes() == pb.read_bytes()


def test_zip_layout_and_fixed_timestamps(week, tmp_path):
    report = build_epubs(read_digests([week]), EpubOptions(out_dir=tmp_path, images="none"))
    path = report.files[0][0]
    raw = path.read_bytes()
    assert raw[30:38] == b"mimetype" and raw[38:58] == b"application/epub+zip"
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
    assert infos[0].filename == "mimetype" and infos[0].compress_type == zipfile.ZIP_STORED
    assert {i.date_time for i in infos} == {(2024, 3, 6, 0, 0, 0)}  # the last digest's date


def test_identifier_and_modified_from_data(week, tmp_path):
    def meta(folder):
        files = build_one(folder)
        root = opf(files)
        return (root.findtext("opf:metadata/dc:identifier", namespaces=NS),
                root.findtext("opf:metadata/opf:meta[@property='dcterms:modified']", namespaces=NS))

    ident, modified = meta(week)
    assert re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", ident)
    assert modified == "2024-03-06T00:00:00Z"
    # A day added to the same week: same book, later modified date.
    (week / "2024-03-08.md").write_text(day_md("2024-03-08", [paper_md("2403.09999", "New")]),
                                        encoding="utf-8")
    ident2, modified2 = meta(week)
    assert ident2 == ident and modified2 == "2024-03-08T00:00:00Z"


def test_identifier_differs_between_weeks(tmp_path):
    a = opf(build_one(write_week(tmp_path / "a", start="2024-03-04")))
    b = opf(build_one(write_week(tmp_path / "b", start="2024-03-11")))
    assert (a.findtext("opf:metadata/dc:identifier", namespaces=NS)
            != b.findtext("opf:metadata/dc:identifier", namespaces=NS))


# -- ebooklib 10: write errors are raised, not swallowed --------------------------------

@pytest.mark.filterwarnings("ignore:In the future throwing exceptions")
def test_write_errors_propagate(week, monkeypatch):
    from ebooklib import epub

    def broken(self):
        raise OSError("disk full")

    monkeypatch.setattr(epub.EpubWriter, "write", broken)
    result = read_digests([week])
    with pytest.raises(OSError, match="disk full"):
        build_epub(make_bundles(result.digests)[0])


# -- ebooklib 11: guide and landmarks ----------------------------------------------------

def test_guide_and_landmarks(files):
    guide = {r.get("type"): r.get("href") for r in opf(files).iterfind("opf:guide/opf:reference", NS)}
    assert guide == {"cover": "cover.xhtml", "toc": "nav.xhtml", "text": "day-2024-03-04.xhtml"}
    nav = xml(files["EPUB/nav.xhtml"]).find(".//x:nav[@epub:type='landmarks']", NS)
    assert nav.get("hidden") == "hidden"  # a menu for the reading system, not a page
    types_ = {a.get(f"{{{NS['epub']}}}type"): a.get("href") for a in nav.iterfind(".//x:a", NS)}
    assert types_ == {"cover": "cover.xhtml", "toc": "nav.xhtml", "bodymatter": "day-2024-03-04.xhtml"}


# -- metadata -----------------------------------------------------------------------

def test_series_subjects_and_accessibility_metadata(files):
    root = opf(files)
    md = root.find("opf:metadata", NS)
    title = md.findtext("dc:title", namespaces=NS)
    assert title == "Daily Papers 2024-W10 (2024-03-04 – 2024-03-10)"
    props = {}
    for m in md.iterfind("opf:meta", NS):
        props.setdefault(m.get("property") or m.get("name"), []).append(m.text or m.get("content"))
    assert props["belongs-to-collection"] == ["Daily Papers"]
    assert props["group-position"] == ["202410"]
    assert props["calibre:series"] == ["Daily Papers"] and props["calibre:series_index"] == ["202410"]
    assert "textual" in props["schema:accessMode"]
    assert "tableOfContents" in props["schema:accessibilityFeature"]
    assert props["schema:accessibilityHazard"] == ["none"]
    assert props["schema:accessibilitySummary"][0]
    assert md.findall("dc:subject", NS) and md.findtext("dc:publisher", namespaces=NS)


# -- content --------------------------------------------------------------------------

def test_paper_section_content(files):
    root = xml(files["EPUB/day-2024-03-04.xhtml"])
    section = root.find(".//x:section[@id='p-2403.00000']", NS)
    text = "".join(section.itertext())
    assert "Paper 0-0: M2 Tokens & <Tests>" in text
    assert section.find("x:h2/x:a/x:sup", NS).text == "2"  # TeX in the title
    assert "Hana Kim, Bo Lee" in text and "12" in text and "긴 문맥" in text
    assert section.find(".//x:strong/x:span[@class='label']", NS).text == "What's New"
    hrefs = [a.get("href") for a in section.iterfind("x:p[@class='links']/x:a", NS)]
    assert hrefs == ["https://arxiv.org/abs/2403.00000", "https://arxiv.org/pdf/2403.00000",
                     "https://huggingface.co/papers/2403.00000"]
    # Day list links to every section of the day.
    assert [a.get("href") for a in root.iterfind(".//x:ol[@class='day-list']/x:li/x:a", NS)] == [
        "#p-2403.00000", "#p-2403.00001", "#p-2403.00002"]
    # No remote image is ever referenced (ebooklib 9) and videos are links.
    assert root.find(".//x:img", NS) is None and root.find(".//x:video", NS) is None
    video = root.find(".//x:section[@id='p-2403.00001']/x:p[@class='video']/x:a", NS)
    assert video.get("href") == "https://videos.example.org/2403.00001.mp4"


def test_repeated_paper_links_back_to_first_appearance(files):
    root = xml(files["EPUB/day-2024-03-05.xhtml"])
    repeat = root.find(".//x:section[@id='p-2403.00000-20240305']", NS)
    link = repeat.find("x:p[@class='repeat']/x:a", NS)
    assert link.get("href") == "day-2024-03-04.xhtml#p-2403.00000"
    assert repeat.find("x:ul", NS) is None  # summary not repeated


def test_korean_and_english_labels(tmp_path):
    ko = build_one(write_week(tmp_path / "ko", days=1, text=KO))
    en = build_one(write_week(tmp_path / "en", days=1, text=EN))
    ko_day = ko["EPUB/day-2024-03-04.xhtml"].decode()
    en_day = en["EPUB/day-2024-03-04.xhtml"].decode()
    assert "저자" in ko_day and "월요일" in ko_day and "Authors" not in ko_day
    assert "Authors" in en_day and "Monday" in en_day and "저자" not in en_day
    assert "<title>목차</title>" in ko["EPUB/nav.xhtml"].decode()
    assert opf(en).findtext("opf:metadata/dc:language", namespaces=NS) == "en"
    # --lang overrides detection
    forced = build_one(tmp_path / "ko", lang="en")
    assert "Authors" in forced["EPUB/day-2024-03-04.xhtml"].decode()


def test_hostile_title_is_text(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    hostile = '<script>alert(1)</script> & "q" <img src=x onerror=y>'
    (folder / "d.md").write_text(day_md("2024-03-04", [paper_md("2403.00001", hostile)],
                                        title='Evil <b>"Papers"</b>'), encoding="utf-8")
    files = build_one(folder, lang="en")
    for name, data in files.items():
        if name.endswith((".xhtml", ".ncx", ".opf")):
            root = xml(data)  # well-formed
            assert not list(root.iter("{%s}script" % NS["x"], "script")), name
    day = files["EPUB/day-2024-03-04.xhtml"].decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in day
    assert "<img" not in day


def test_language_detection(tmp_path):
    ko = read_digests([write_week(tmp_path / "ko", days=1, text=KO)]).digests[0].papers
    en = read_digests([write_week(tmp_path / "en", days=1, text=EN)]).digests[0].papers
    assert detect_language(ko) == "ko" and detect_language(en) == "en" and detect_language([]) == "en"


# -- images (exporter.images is written elsewhere; a stand-in with its interface) ----------

@dataclass(frozen=True)
class FakeImage:
    data: bytes
    media_type: str
    width: int
    height: int

    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def fake_images_module(png: bytes):
    module = types.ModuleType("exporter.images")

    @dataclass(frozen=True)
    class ImageOptions:
        cache_dir: Path | None = None
        grayscale: bool = False
        timeout: float = 10.0
        allow_private_hosts: bool = False

    class Results:
        def __init__(self, papers):
            self.map = {p.key: FakeImage(png, "image/png", 40, 30)
                        for p in papers if p.thumbnail and p.thumbnail.kind.value == "image"}
            self.failures = []

        def get(self, paper):
            return self.map.get(paper.key)

    module.ImageOptions = ImageOptions
    module.load_images = lambda papers, options, progress=None, known=None: Results(list(papers))
    return module


def small_png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(buf, "PNG")
    return buf.getvalue()


def test_embedded_thumbnails_named_by_hash(week, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "exporter.images", fake_images_module(small_png()))
    report = build_epubs(read_digests([week]), EpubOptions(out_dir=tmp_path, images="embed"))
    assert report.images == 3
    files = unzip(report.files[0][0])
    images = [n for n in files if re.fullmatch(r"EPUB/images/[0-9a-f]{16}\.png", n)]
    assert len(images) == 1  # same bytes, one file
    img = xml(files["EPUB/day-2024-03-04.xhtml"]).find(".//x:div[@class='thumb']/x:img", NS)
    assert "EPUB/" + img.get("src") == images[0]
    # ebooklib 9: every image a document refers to is inside the book
    for name, data in files.items():
        if name.endswith(".xhtml"):
            for ref in xml(data).iter(f"{{{NS['x']}}}img"):
                assert "EPUB/" + ref.get("src") in files, (name, ref.get("src"))
    assert img.get("alt").startswith("썸네일: Paper 0-0") and img.get("width") == "40"


def test_input_errors_write_nothing(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.md").write_text(day_md("2024-03-04", [paper_md("2403.00001", "Good")]), encoding="utf-8")
    (folder / "b.md").write_text(day_md("2024-02-30", [paper_md("2402.00001", "Bad date")]),
                                 encoding="utf-8")
    result = read_digests([folder])
    assert result.errors
    out = tmp_path / "out"
    with pytest.raises(InputError):
        build_epubs(result, EpubOptions(out_dir=out, images="none"))
    assert not out.exists()
    report = build_epubs(result, EpubOptions(out_dir=out, images="none", keep_going=True))
    assert [p.name for p, _ in report.files] == ["daily-papers-2024-W10.epub"]


def test_fast_nav_paths_equal_posixpath(monkeypatch, tmp_path):
    import posixpath

    from exporter.books.epub import _NavPaths

    monkeypatch.chdir(tmp_path)
    for href in ["day-2024-03-04.xhtml#p-2403.00001", "a/./b.xhtml", "a/../b.xhtml", "nav.xhtml"]:
        assert _NavPaths.relpath(href, "") == posixpath.relpath(href, ""), href
    assert _NavPaths.relpath("a/b.xhtml", "a") == "b.xhtml"
    assert _NavPaths().splitext("x.jpg") == ("x", ".jpg")


def test_ebooklib_shims_are_scoped(files):
    # The shims (_NavPaths, _CapturedZip) live only during our write_epub call.
    import posixpath
    import zipfile as real_zipfile

    from ebooklib import epub

    assert epub.zipfile is real_zipfile and epub.zip_path is posixpath
