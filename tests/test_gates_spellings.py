"""New spellings of three classes, each generated and run through the whole CLI, with
EPUBCheck-free validators (feedparser, the W3C Feed Validator's rules, the real one when
DIGEST_EXPORT_FEEDVALIDATOR names its checkout; see tests/feed_validator.py):

- URLs (4): every CommonMark link destination form (``<...>``, backslash escapes, a title)
  in paper headings, images, "Watch Video" lines and summaries, with every kind of
  non-ASCII white space inside the URL, which must be escaped as written;
- documents read back (5): catalog records in the state holding values of the right type
  that the program would not write; foreign EPUB metadata with every Bidi_Control
  character (the marks too);
- language tags (8): every tag of the IANA registry, alone and with a script, region or
  private-use part, as ``--lang``: the books keep the tag whole, the feeds and the catalog
  write one the feed validators accept.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import unicodedata
import zipfile
from pathlib import Path
from urllib.parse import quote

import feedparser
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from lxml import etree

import feed_validator
from hostile_three import run_cli
from test_gates_values import DIFFERENT_LANGUAGES, SETTINGS, _foreign_epub, registered_tag, well_formed_tag
from state_helpers import write_sealed

BASE = "https://example.org/p/"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
DC_LANGUAGE = "{http://purl.org/dc/elements/1.1/}language"
#: Unicode's Bidi_Control property (PropList.txt), the oracle for the text cleaning.
BIDI_CONTROL = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _days(folder: Path, *days: tuple[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for n, (date, body) in enumerate(days):
        (folder / f"{date}.md").write_text(f"## Daily Papers ({date})\n\n{body}", encoding="utf-8")
    return folder


TWO_YEARS = (("2023-12-20", "### [P](https://arxiv.org/abs/2401.00001)\n\n- s\n"),
             ("2024-01-10", "### [Q](https://arxiv.org/abs/2401.00002)\n\n- t\n"))


# -- language tags through the whole CLI ---------------------------------------------

def _languages_in(root) -> list[str]:
    return ([v for el in root.iter() for k, v in el.attrib.items() if k == XML_LANG]
            + [el.text for el in root.iter(DC_LANGUAGE)])


def _check_feed_languages(folder: Path) -> None:
    """The rules the W3C validator holds feeds and catalogs to, replayed, and a valid tag."""
    from exporter.gates.langtags import check_tag

    pages = sorted(p for p in folder.rglob("*") if p.suffix in (".opds", ".atom", ".rss"))
    assert pages
    for page in pages:
        root = etree.parse(str(page)).getroot()
        for tag in _languages_in(root) + [el.text for el in root.iter("language")]:
            check_tag(tag)  # a valid BCP 47 tag ("x" alone is not one)
            assert feed_validator.takes_language(tag), (page.name, tag)
        # RFC 4685 section 4: thr:count belongs to rel="replies" links only
        assert not [k for el in root.iter() for k in el.attrib if "syndication/thread" in k], page
        parsed = feedparser.parse(page.read_bytes())
        assert not parsed.bozo, (page.name, parsed.bozo_exception)
    for page in folder.rglob("*.json"):
        doc = json.loads(page.read_text("utf-8"))
        for pub in doc.get("publications", []):
            if "language" in pub["metadata"]:
                assert feed_validator.takes_language(pub["metadata"]["language"]), page


def _book_languages(folder: Path) -> set[str]:
    found = set()
    for book in folder.glob("*.epub"):
        with zipfile.ZipFile(book) as z:
            opf = z.read("EPUB/content.opf").decode("utf-8")
        found |= set(re.findall(r"<dc:language>([^<]*)</dc:language>", opf))
    return found


@settings(max_examples=3, **SETTINGS)
@given(tags=st.lists(st.one_of(registered_tag, st.sampled_from(DIFFERENT_LANGUAGES), well_formed_tag),
                     min_size=4, max_size=6, unique=True))
@example(tags=DIFFERENT_LANGUAGES)
def test_any_lang_gives_books_with_the_whole_tag_and_feeds_the_validator_accepts(tmp_path_factory, tags):
    from exporter.gates.langtags import LanguageTagRefused, check_tag

    tmp = tmp_path_factory.mktemp("langs")
    days = _days(tmp / "days", *TWO_YEARS)
    catalog = tmp / "catalog"
    catalog.mkdir()
    wanted = set()
    for n, tag in enumerate(tags):
        out = tmp / f"out{n}"
        # A title each: books of one title and period have one identifier, whatever their language.
        result = run_cli(["build", str(days), "-o", str(out), "--images", "none", "-q", "--lang", tag,
                          "--base-url", BASE, "--state", str(tmp / f"state{n}.json"), "--title", f"Papers {n}"], tmp)
        try:
            canonical = check_tag(tag)
        except LanguageTagRefused:
            assert result.exit_code == 2 and "--lang" in result.output, result.output
            continue
        assert result.exit_code == 0, result.output
        assert _book_languages(out) == {canonical}  # the book says exactly what was given
        _check_feed_languages(out)
        wanted.add(canonical)
        for book in out.glob("*.epub"):
            shutil.copy(book, catalog / f"{n}-{book.name}")
    # Anyone's books in one folder: the catalog of foreign EPUBs, in all these languages.
    result = run_cli(["feed", str(days), "--format", "opds", "-o", str(catalog), "--base-url", BASE, "-q"], tmp)
    assert result.exit_code == 0, result.output
    assert _book_languages(catalog) == wanted
    _check_feed_languages(catalog)
    if feed_validator.available():
        pages = sorted(p for p in catalog.rglob("*") if p.suffix in (".opds", ".atom", ".rss"))
        assert feed_validator.errors(catalog, BASE, pages) == {}


# -- URLs: link destinations as CommonMark reads them, escaped as written --------------

#: White space that is not ASCII: CommonMark ends a destination only at ASCII space or
#: control characters, so these are part of the URL (the URL Standard escapes them).
UNICODE_SPACES = [chr(c) for c in range(0xA0, 0x3001)
                  if unicodedata.category(chr(c)) == "Zs" or chr(c) in "\u0085\u2028\u2029"]


def _form(url: str, form: str) -> str:
    if form == "pointy":
        return f"<{url}>"
    if form == "pointy-title":
        return f'<{url}> "a tooltip"'
    if form == "escaped":  # CommonMark 2.4: "\_" is "_"
        return url.replace("_", "\\_")
    return url


@settings(max_examples=12, **SETTINGS)
@given(papers=st.lists(st.tuples(st.sampled_from(UNICODE_SPACES),
                                 st.sampled_from(["plain", "pointy", "pointy-title", "escaped"]),
                                 st.sampled_from(["heading", "image", "watch", "summary"])),
                       min_size=4, max_size=8))
@example(papers=[("\u3000", "plain", "heading"), ("\u3000", "plain", "summary"), ("\u2003", "plain", "heading"),
                 ("\u3000", "pointy", "heading"), ("\xa0", "pointy", "image"), ("\u3000", "escaped", "watch")])
def test_every_destination_form_and_white_space_is_read_as_commonmark_reads_it(tmp_path_factory, papers):
    tmp = tmp_path_factory.mktemp("dest")
    body = []
    for n, (space, form, place) in enumerate(papers):
        url = f"https://ex.org/{n}_a{space}z/"
        link = _form(url, form)
        heading = f"### [P{n}]({link})" if place == "heading" else f"### [P{n}](https://arxiv.org/abs/2403.{n:05d})"
        body += [heading, ""]
        if place == "image":
            body += [f"![t]({_form(url + 'x.png', form)})", ""]
        elif place == "watch":
            body += [f"[Watch Video]({_form(url + 'v.mp4', form)})", ""]
        body += [f"- see [the page]({link}) now" if place == "summary" else "- a summary", ""]
    digest = _days(tmp / "days", ("2024-03-04", "\n".join(body)))
    out = tmp / "out"
    result = run_cli(["feed", str(digest), "-o", str(out), "--base-url", BASE], tmp)
    assert result.exit_code == 0, result.output
    assert "not http(s)" not in result.output, result.output
    items = {item["title"]: item for item in json.loads((out / "feed.json").read_text("utf-8"))["items"]}
    for n, (space, form, place) in enumerate(papers):
        item = items[f"P{n}"]
        # Escaped as written: the UTF-8 bytes of the white space, never "%20" (U+3000 was).
        escaped = f"https://ex.org/{n}_a{quote(space)}z/"
        if place == "heading":
            assert item["url"] == escaped, (item["url"], escaped)
        elif place == "image":
            assert item["image"] == escaped + "x.png"
        elif place == "watch":
            assert f'href="{escaped}v.mp4"' in item["content_html"], item["content_html"]
        else:  # still a link, to the same URL
            assert f'<a href="{escaped}">the page</a>' in item["content_html"], item["content_html"]
    parsed = feedparser.parse((out / "feed.atom").read_bytes())
    assert not parsed.bozo, parsed.bozo_exception
    if feed_validator.available():
        assert feed_validator.errors(out, BASE, [out / "feed.atom", out / "feed.rss"]) == {}


# -- documents read back: catalog records that the catalog would not write ------------

NOT_WRITTEN = {
    "language": ["en_US", "x", "EN", "i", "zh-min-nan-KR", "", " en", 3],
    "title": ["", " ", "\u200b", "a\u200fb", "a  b", "\x07"],
    "series_index": ["-1e999", "inf", "NaN", "-1", "1e3", " 3", "", "12345678901"],
    "creators": [[""], ["\u202eA"], ["A\u061c"], ["a\nb"]],
    "series": ["", "\u200e", "a\u2066b"],
    "identifier": ["", "\u200b"],
    "description": ["", "a\u200fb"],
}


@pytest.fixture(scope="module")
def built_catalog(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("records")
    days = _days(tmp / "days", *TWO_YEARS)
    out, state = tmp / "out", tmp / "state.json"
    result = run_cli(["build", str(days), "-o", str(out), "--images", "none", "-q", "--state", str(state),
                      "--base-url", BASE], tmp)
    assert result.exit_code == 0, result.output
    fresh = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    return days, out, json.loads(state.read_text("utf-8")), fresh


@settings(max_examples=60, **SETTINGS)
@given(field=st.sampled_from(sorted(NOT_WRITTEN)), data=st.data())
def test_a_catalog_record_the_catalog_would_not_write_is_damage(built_catalog, tmp_path_factory, field, data):
    from exporter import __version__
    from exporter.state import load_state

    _, out, doc, _ = built_catalog
    value = data.draw(st.sampled_from(NOT_WRITTEN[field]), label="value")
    name = data.draw(st.sampled_from(sorted(doc["catalog_books"])), label="book")
    bad = json.loads(json.dumps(doc))
    bad["catalog_books"][name][field] = value
    path = tmp_path_factory.mktemp("bad") / "state.json"
    write_sealed(path, bad)  # sealed: the schema is what this reaches
    state, reason = load_state(path, __version__, out.parent)
    assert reason is not None and "damaged" in reason, (field, value)
    assert state.catalog_books == {}


@pytest.mark.parametrize("field,value", [("language", "en_US"), ("language", "x"), ("title", ""),
                                         ("series_index", "-1e999")])
def test_a_build_over_such_a_record_equals_a_fresh_build(built_catalog, tmp_path_factory, field, value):
    days, out, _, fresh = built_catalog
    tmp = tmp_path_factory.mktemp("again")
    shutil.copytree(out, tmp / "out")
    args = ["build", str(days), "-o", str(tmp / "out"), "--images", "none", "-q", "--state", str(tmp / "state.json"),
            "--base-url", BASE]
    assert run_cli(args, tmp).exit_code == 0  # a state whose records match these files' stamps
    bad = json.loads((tmp / "state.json").read_text("utf-8"))
    for record in bad["catalog_books"].values():
        record[field] = value
    write_sealed(tmp / "state.json", bad)  # as if the program had written it: the schema refuses it
    (tmp / "out" / "catalog.opds").unlink()  # the catalog is written again, from the records
    result = run_cli(args, tmp)
    assert result.exit_code == 0, result.output
    now = {p.relative_to(tmp / "out").as_posix(): p.read_bytes() for p in (tmp / "out").rglob("*") if p.is_file()}
    assert now == fresh
    assert b"#-1e999" not in now["catalog.opds"]


# -- bidi controls: removed from foreign metadata and from digests alike --------------

def test_the_cleaned_bidi_controls_are_exactly_unicodes_bidi_control_property():
    import regex

    from exporter.model import BIDI_CONTROLS, clean_text

    prop = {chr(c) for c in range(sys.maxunicode + 1)
            if not 0xD800 <= c <= 0xDFFF and regex.match(r"\p{Bidi_Control}", chr(c))}
    assert prop == {ch for ch in map(chr, range(0x10000)) if re.fullmatch(f"[{BIDI_CONTROLS}]", ch)}
    assert all(clean_text(f"a{ch}b") == "ab" for ch in prop)


bidi_text = st.builds(lambda a, marks, b: a + "".join(marks) + b, st.text("abc 한ع", min_size=1, max_size=5),
                      st.lists(st.sampled_from("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"),
                               min_size=1, max_size=3), st.text("xyz", min_size=1, max_size=5))


@settings(max_examples=4, **SETTINGS)
@given(title=bidi_text, author=bidi_text, creators=st.lists(bidi_text, min_size=1, max_size=3),
       series=bidi_text, book_title=bidi_text)
@example(title="P\u200f1", author="A\u200eB", creators=["\u200fRLM author"], series="S\u061c",
         book_title="\u061cALM title")
def test_bidi_controls_reach_no_output_from_digests_or_foreign_books(tmp_path_factory, title, author, creators,
                                                                     series, book_title):
    tmp = tmp_path_factory.mktemp("bidi")
    days = _days(tmp / "days", ("2024-03-04", f"### [{title}](https://arxiv.org/abs/2403.00001)\n\n"
                                              f"Authors: {author}\n\n- a {title} summary\n"))
    out = tmp / "out"
    result = run_cli(["build", str(days), "-o", str(out), "--images", "none", "-q", "--base-url", BASE,
                      "--title", f"Digest {series}"], tmp)
    assert result.exit_code == 0, result.output
    book = sorted(out.glob("*.epub"))[0]
    (out / "foreign.epub").write_bytes(_foreign_epub(book.read_bytes(), book_title, creators, series, "x-private"))
    result = run_cli(["feed", str(days), "--format", "opds", "-o", str(out), "--base-url", BASE, "-q"], tmp)
    assert result.exit_code == 0, result.output
    texts = {name: text for name, text in _output_texts(out) if not name.startswith("foreign.epub!")}  # not ours
    assert any("xml:lang=\"x-private\"" in t for t in texts.values())
    for name, text in texts.items():
        assert not BIDI_CONTROL.search(text), (name, BIDI_CONTROL.search(text))
    _check_feed_languages(out)


def _output_texts(folder: Path):
    from test_hostile_round_two import output_texts

    return output_texts(folder)


# -- white space: every Unicode White_Space character is one space in every field ----------

#: Unicode's White_Space property (PropList.txt), the oracle for the text cleaning.
WHITE_SPACE = [chr(c) for c in range(sys.maxunicode + 1)
               if not 0xD800 <= c <= 0xDFFF and __import__("regex").match(r"\p{White_Space}", chr(c))]
#: The ones that break a line for some program (not for the reader): never raw in an output.
BREAKS = re.compile("[\x0b\x0c\x85\u2028\u2029]")


def test_every_white_space_character_is_one_space_in_a_field():
    from exporter.model import clean_text
    from exporter.reader.parse import parse_text

    from exporter.gates.text import WHITE_SPACE as GATE_CLASS

    assert {"\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\u3000", "\xa0"} <= set(WHITE_SPACE)
    assert [chr(c) for c in range(0x10000) if re.fullmatch(f"[{GATE_CLASS}]", chr(c))] == WHITE_SPACE
    for ch in WHITE_SPACE:
        assert clean_text(f" a{ch}{ch} b{ch}") == "a b", repr(ch)
        if ch in "\n\r":
            continue
        drafts, _ = parse_text(f"## Daily Papers (2024-03-04)\n\n### [T{ch}x](https://arxiv.org/abs/2403.00001)\n\n"
                               f"Authors: A{ch}B, C\n\n- s{ch}{ch}t\n", "x.md")
        paper = drafts[0].papers[0]
        assert (paper.title, paper.authors, paper.summary[0].text) == ("T x", ("A B", "C"), "s t"), repr(ch)


white_text = st.builds(lambda a, ws, b: a + "".join(ws) + b, st.text("abc한", min_size=1, max_size=4),
                       st.lists(st.sampled_from([c for c in WHITE_SPACE if c not in "\n\r"]), min_size=1, max_size=3),
                       st.text("xyz", min_size=1,
                                                                                                max_size=4))


@settings(max_examples=4, **SETTINGS)
@given(title=white_text, author=white_text, bullet=white_text, config_title=white_text)
@example(title="Sp\u2028arse", author="A\u2029B", bullet="x\x85y\u2028z", config_title="D\u2029igest")
def test_no_line_or_paragraph_separator_reaches_an_output(tmp_path_factory, title, author, bullet, config_title):
    tmp = tmp_path_factory.mktemp("ws")
    days = _days(tmp / "days", ("2024-03-04", f"### [{title}](https://arxiv.org/abs/2403.00001)\n\n"
                                              f"Authors: {author}\n\n- {bullet}\n"))
    (tmp / "c.toml").write_text(f"title = {json.dumps(config_title)}\n", encoding="utf-8")
    out = tmp / "out"
    result = run_cli(["--config", str(tmp / "c.toml"), "build", str(days), "-o", str(out), "--images", "none",
                      "-q", "--base-url", BASE], tmp)
    assert result.exit_code == 0, result.output
    for name, text in _output_texts(out):
        assert not BREAKS.search(text), (name, BREAKS.search(text))
    entry = feedparser.parse((out / "feed.atom").read_bytes()).entries[0]
    assert entry.title == " ".join(title.split()), entry.title


@pytest.mark.parametrize("tag, said", [("de-1996-1996", "repeats the variant '1996'"),
                                       ("en-a-bbb-a-ccc", "repeats the extension singleton 'a'"),
                                       ("sl-rozaj-ROZAJ", "repeats the variant 'rozaj'")])
def test_a_tag_repeating_a_variant_or_singleton_is_named_as_such(tag, said):
    from exporter.gates.langtags import LanguageTagRefused, check_tag

    with pytest.raises(LanguageTagRefused, match=said):
        check_tag(tag)
    assert check_tag("en-t-ja-x-ab-ab") == "en-t-ja-x-ab-ab"  # private use repeats freely


@pytest.mark.parametrize("tag, kept", [("ko-u-nu-kore", "ko"), ("de-a-bbb", "de"), ("en-US-u-ca-gregory-x-a", "en-US"),
                                       ("zh-Hant-TW-u-nu-hanidec", "zh-Hant-TW")])
def test_an_extension_the_html_checker_does_not_know_is_refused_naming_the_tag_without_it(tag, kept):
    """The Nu checker takes only the -t- extension (RFC 6497) and private use; a page with
    lang="ko-u-nu-kore" is refused ("Unknown extension u")."""
    from exporter.gates.langtags import LanguageTagRefused, check_tag

    with pytest.raises(LanguageTagRefused, match=f"leave it out \\('{kept}'\\)"):
        check_tag(tag)
    assert check_tag("en-t-ja") == "en-t-ja" and check_tag("en-x-uu-ab") == "en-x-uu-ab"


@pytest.mark.parametrize("tag, prefix", [("sl-1994", "sl-rozaj"), ("en-1996", "de"), ("fr-pinyin", "zh-Latn"),
                                         ("sl-biske", "sl-rozaj"), ("ko-KR-valencia", "ca")])
def test_a_variant_without_the_prefix_it_is_registered_for_is_refused(tag, prefix):
    """RFC 5646 section 3.1.8: a variant's Prefix fields say what it may follow, and the Nu checker
    refuses a page where it follows anything else ("Variant ... lacks recommended prefix")."""
    from exporter.gates.langtags import LanguageTagRefused, check_tag

    with pytest.raises(LanguageTagRefused, match=f"registered for use after '{prefix}'"):
        check_tag(tag)
    for good in ("sl-rozaj-biske", "sl-rozaj-biske-1994", "de-CH-1996", "zh-Latn-pinyin", "ca-valencia",
                 "en-scotland", "hy-arevela"):
        assert check_tag(good) == good
