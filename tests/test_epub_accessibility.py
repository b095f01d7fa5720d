"""What the accessibility metadata claims, and the markup that makes it true
(docs/accessibility.md).  Ace by DAISY checks the same books in
tests/test_epub_ace.py; these fast tests pin each piece to its reason."""

from __future__ import annotations

import sys

import pytest

from epub_fixtures import EN, NS, unzip, write_week, xml
from exporter.bundles import BundleBy, make_bundles
from exporter.books.epub import EpubOptions, build_epub
from exporter.pipeline import build_epubs
from exporter.language import language_of
from exporter.reader.parse import read_digests
from exporter.model import SummaryItem
from exporter.render import inline_html, summary_html
from exporter.resources import sample_dir
from test_epub import build_one, fake_images_module, opf, small_png, unzip_bytes

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
EPUB_TYPE = f"{{{NS['epub']}}}type"


def meta(files) -> dict[str, list[str]]:
    props: dict[str, list[str]] = {}
    for m in opf(files).iterfind("opf:metadata/opf:meta", NS):
        props.setdefault(m.get("property") or m.get("name"), []).append(m.text or m.get("content"))
    return props


@pytest.fixture(scope="module")
def ko_week(tmp_path_factory):
    return build_one(write_week(tmp_path_factory.mktemp("ko")))


@pytest.fixture(scope="module")
def sample_book():
    """The sample: a Korean week with English days, in one book."""
    (bundle,) = make_bundles(read_digests([sample_dir()]).digests, BundleBy.WEEK)
    return unzip_bytes(build_epub(bundle))


# -- the package ------------------------------------------------------------------

def test_package_element_has_the_book_language(ko_week, tmp_path):
    root = opf(ko_week)
    assert root.get(XML_LANG) == root.findtext("opf:metadata/dc:language", namespaces=NS) == "ko"
    en = opf(build_one(write_week(tmp_path / "en", text=EN)))
    assert en.get(XML_LANG) == "en"


def test_no_claim_that_is_not_true(ko_week):
    props = meta(ko_week)
    # No conformance claim: see exporter/books/epub.py _accessibility_metadata.
    assert "dcterms:conformsTo" not in props and "a11y:certifiedBy" not in props
    # No print edition, so no page list and no page markers.
    features = props["schema:accessibilityFeature"]
    assert not {"pageBreakMarkers", "printPageNumbers", "pageNavigation"} & set(features)
    assert b'epub:type="page-list"' not in ko_week["EPUB/nav.xhtml"]
    assert set(features) == {"structuralNavigation", "tableOfContents", "readingOrder",
                             "displayTransformability", "alternativeText"}  # the cover
    assert props["schema:accessMode"] == ["textual", "visual"]
    assert props["schema:accessModeSufficient"] == ["textual"]
    assert props["schema:accessibilityHazard"] == ["none"]
    (summary,) = props["schema:accessibilitySummary"]
    assert "WCAG" in summary and "썸네일" not in summary  # no thumbnails in this book


def test_summary_speaks_of_thumbnails_only_when_there_are_some(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "exporter.images", fake_images_module(small_png()))
    week = write_week(tmp_path / "in", text=EN)
    report = build_epubs(read_digests([week]), EpubOptions(out_dir=tmp_path / "out", images="embed"))
    (summary,) = meta(unzip(report.files[0][0]))["schema:accessibilitySummary"]
    assert "Thumbnails have short text alternatives" in summary
    text_only = build_one(week, cover=False)
    assert meta(text_only)["schema:accessMode"] == ["textual"]
    assert "alternativeText" not in meta(text_only)["schema:accessibilityFeature"]


# -- navigation -------------------------------------------------------------------

def test_nav_toc_and_landmarks(ko_week):
    root = xml(ko_week["EPUB/nav.xhtml"])
    toc = root.find(".//x:nav[@epub:type='toc']", NS)
    assert toc.get("role") == "doc-toc"
    # The contents page is a page of the spine: its heading is its h1.
    assert [h.text for h in root.iterfind(".//x:h1", NS)] == ["목차"]
    assert toc[0].tag == f"{{{NS['x']}}}h1"
    landmarks = root.find(".//x:nav[@epub:type='landmarks']", NS)
    assert landmarks.get("hidden") == "hidden"


def test_english_titles_in_a_korean_book_are_marked(ko_week):
    nav = xml(ko_week["EPUB/nav.xhtml"])
    papers = [a for a in nav.iterfind(".//x:nav[@epub:type='toc']//x:a", NS) if "#" in a.get("href")]
    days = [a for a in nav.iterfind(".//x:nav[@epub:type='toc']//x:a", NS) if "#" not in a.get("href")]
    assert papers and all(a.get("lang") == a.get(XML_LANG) == "en" for a in papers)
    assert days and all(a.get("lang") is None for a in days)  # "2024-03-04 (월요일)"
    day = xml(ko_week["EPUB/day-2024-03-04.xhtml"])
    for title in day.iterfind(".//x:h2", NS):
        assert title.get("lang") == title.get(XML_LANG) == "en"
    for link in day.iterfind(".//x:ol[@class='day-list']/x:li/x:a", NS):
        assert link.get("lang") == "en"
    # Korean summaries in a Korean book: nothing to mark
    assert all(div.get("lang") is None for div in day.iterfind(".//x:div[@class='summary']", NS))


def test_nothing_marked_where_the_language_does_not_change(tmp_path):
    files = build_one(write_week(tmp_path / "en", text=EN))
    for name, data in files.items():
        if name.endswith(".xhtml"):
            marked = [el for el in xml(data).iter() if isinstance(el.tag, str) and el.get("lang")
                      and el.tag != f"{{{NS['x']}}}html"]
            assert marked == [], name


def test_english_days_in_a_korean_book_are_marked(sample_book):
    langs = {}
    for name, data in sample_book.items():
        if "/day-" in name:
            divs = xml(data).findall(".//x:div[@class='summary']", NS)
            langs[name.rsplit("/", 1)[1]] = {div.get("lang") for div in divs}
    assert langs == {"day-2024-03-04.xhtml": {None}, "day-2024-03-05.xhtml": {"en"},
                     "day-2024-03-06.xhtml": {None}, "day-2024-03-07.xhtml": {None},
                     "day-2024-03-08.xhtml": {None}}


def test_language_of_short_texts():
    assert language_of(["Sparse Lanterns: Routing Tokens by Light"]) == "en"
    assert language_of(["대규모 언어 모델의 긴 문맥"]) == "ko"
    assert language_of(["2403.00001 — 42%"]) is None


# -- chapters and cover -----------------------------------------------------------------

def test_one_h1_per_day_and_an_h2_per_paper(ko_week):
    for name in ("EPUB/day-2024-03-04.xhtml", "EPUB/day-2024-03-05.xhtml"):
        root = xml(ko_week[name])
        assert len(root.findall(".//x:h1", NS)) == 1, name
        chapter = root.find("x:body/x:section", NS)
        assert chapter.get(EPUB_TYPE) == "chapter" and chapter.get("role") == "doc-chapter"
        for paper in chapter.iterfind("x:section[@class='paper']", NS):
            assert paper[0].tag == f"{{{NS['x']}}}h2"
        assert not root.findall(".//x:h3", NS)  # no level skipped or invented


def test_cover_alternative_is_the_text_on_the_cover(ko_week):
    img = xml(ko_week["EPUB/cover.xhtml"]).find(".//x:img", NS)
    assert img.get("role") == "doc-cover"
    assert img.get("alt") == "표지: Daily Papers, 2024-W10, 2024-03-04 – 2024-03-10, 논문 10편 · 3일"


def test_english_labels_in_korean_summaries_are_marked(sample_book):
    day = xml(sample_book["EPUB/day-2024-03-04.xhtml"])
    labels = day.findall(".//x:span[@class='label']", NS)
    assert labels and all(span.get("lang") == span.get(XML_LANG) == "en" for span in labels)
    assert summary_html((SummaryItem("긴 문맥", label="What's New"),), lang="en") == \
        '<ul class="summary"><li><strong><span class="label">What&#39;s New</span></strong>: 긴 문맥</li></ul>'
    assert "lang=" not in summary_html((SummaryItem("x", label="What's New"),))  # feeds: no lang given


def test_a_link_without_text_is_named_by_its_url():
    # "![](url)": images are disabled, the link stays; empty, it would have no name.
    assert inline_html("see ![](https://x.org/a.png)") == \
        'see !<a href="https://x.org/a.png">https://x.org/a.png</a>'
    assert inline_html("[\u200b](https://x.org/?a=1&b=2)") == \
        '<a href="https://x.org/?a=1&amp;b=2">https://x.org/?a=1&amp;b=2\u200b</a>'
    assert inline_html("[*x*](https://x.org/)") == '<a href="https://x.org/"><em>x</em></a>'
