"""Text that shows as nothing is no title, no author and no day heading.

One definition (the text gate's ``shows_nothing``: white space, categories Z
and C, Default_Ignorable_Code_Point, the Braille blank) serves paper titles,
author names, summary bullets and labels and day headings, as it serves line
starts.
The generator draws such text from the Unicode properties themselves (every
default-ignorable code point, every format character, every space), not
from a list of the spellings seen so far, and runs it through the CLI.
"""

from __future__ import annotations

import functools
import sys
import unicodedata
import zipfile
from pathlib import Path

import feedparser
import html5lib
import regex
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from lxml import etree

from test_hostile_round_two import check_outputs, run_cli

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
XHTML = "{http://www.w3.org/1999/xhtml}"


@functools.cache
def _blank_characters() -> list[str]:
    """Every code point that shows as nothing and survives reading (controls,
    surrogates and noncharacters are removed as the file is read, so they
    test nothing here): Default_Ignorable_Code_Point, Cf, Z*, the Braille blank."""
    ignorable = regex.compile(r"\p{Default_Ignorable_Code_Point}")
    out = []
    for cp in range(sys.maxunicode + 1):
        ch = chr(cp)
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cs", "Cn", "Co") or ch in "\r\n\x0b\x0c\x85\ufeff":
            continue
        if ignorable.match(ch) or cat in ("Cf", "Zs", "Zl", "Zp") or ch == "\u2800":
            out.append(ch)
    return out


blank = st.lists(st.sampled_from(["\u3164", "\u115f", "\u1160", "\uffa0", "\u2800", "\u200b", "\u200d", "\ufe0f",
                                  "\u00a0", "\u2003", "\U000e0041", "\u034f", "\u180e"])
                 | st.integers(0, 10**6).map(lambda i: _blank_characters()[i % len(_blank_characters())]),
                 min_size=1, max_size=4).map("".join)


def _day(title: str, authors: str, heading: str, bullet: str) -> str:
    return (f"## {heading} (2024-03-04)\n\n### [Fine](https://arxiv.org/abs/2403.00001)\n\nAuthors: Ann\n\n- s\n\n"
            f"### [{title}](https://arxiv.org/abs/2403.00002)\n\nVote: 3\n\nAuthors: {authors}\n\n"
            f"- {bullet}\n- t\n")


def _shows(text: str) -> bool:
    # The oracle, independent of the code under test: a character shows when it
    # is none of the blank characters above.
    blanks = set(_blank_characters())
    return any(ch not in blanks and unicodedata.category(ch)[0] not in "CZ" for ch in text)


@settings(max_examples=25, **SETTINGS)
@given(invisible=blank, where=st.sampled_from(["title", "author", "heading", "bullet"]),
       pad=st.sampled_from(["", " ", "\t"]))
@example(invisible="\u3164\u3164", where="title", pad="")
@example(invisible="\u115f\u1160", where="title", pad="")
@example(invisible="\u200b\u200d\ufe0f", where="title", pad="")
@example(invisible="\u2800", where="title", pad="")
@example(invisible="\u3164", where="author", pad=" ")
@example(invisible="\u2800\u3164", where="heading", pad="")
@example(invisible="\u3164", where="bullet", pad="")
def test_text_that_shows_nothing_is_no_title_author_or_heading(tmp_path_factory, invisible, where, pad):
    tmp = tmp_path_factory.mktemp("blank")
    value = pad + invisible + pad
    assert not _shows(value)
    title = value if where == "title" else "Second"
    authors = f"Bo, {value}, Cy" if where == "author" else "Bo"
    heading = value if where == "heading" else "Daily Papers"
    bullet = value if where == "bullet" else "u"
    (tmp / "d.md").write_text(_day(title, authors, heading, bullet), encoding="utf-8")
    out = tmp / "out"
    result = run_cli(["build", str(tmp / "d.md"), "-o", str(out), "--images", "none", "--format", "atom",
                      "--state", str(tmp / "state")], tmp)
    if where == "title":
        # The README: "a paper title of only invisible characters is an error".
        assert result.exit_code == 1, result.output
        assert "d.md:9: error: paper has no title; skipped" in result.output, result.output
        assert not out.exists() or not any(out.iterdir())
        return
    assert result.exit_code == 0, result.output
    check_outputs(out)
    feed = feedparser.parse(str(out / "feed.atom"))
    assert not feed.bozo
    assert [e.title for e in feed.entries] == ["Fine", "Second"]
    for entry in feed.entries:
        assert all(_shows(a.get("name", "")) for a in entry.get("authors", [])), entry
        content = html5lib.parseFragment(entry.content[0].value, treebuilder="etree", namespaceHTMLElements=False)
        items = ["".join(li.itertext()) for li in content.iter("li")]
        assert items and all(_shows(t) for t in items), items
    (book,) = out.glob("*.epub")
    with zipfile.ZipFile(book) as z:
        nav = etree.fromstring(z.read("EPUB/nav.xhtml"))
        links = ["".join(a.itertext()) for a in nav.iter(f"{XHTML}a")]
        assert links and all(_shows(t) for t in links), links
        pages = [z.read(n).decode() for n in z.namelist() if n.endswith(".xhtml") and "nav" not in n]
        for page in pages:
            items = ["".join(li.itertext()) for li in etree.fromstring(page.encode()).iter(f"{XHTML}li")]
            assert all(_shows(t) for t in items), items
    if where == "author":
        assert any("Bo, Cy" in p or ("Bo" in p and "Cy" in p) for p in pages)
        assert not any(invisible.strip() in p for p in pages if invisible.strip())
    else:  # the blank heading title falls back to the default one
        assert any("Daily Papers" in p for p in pages)


def test_one_definition_serves_line_starts_and_fields():
    """Every character the text gate removes from a line start also makes no title."""
    from exporter.gates.text import shows_nothing

    assert all(shows_nothing(ch) for ch in _blank_characters())
    assert not any(shows_nothing(ch) for ch in "a한ᄀ가.$")
    assert shows_nothing("") and shows_nothing(" \u3164 \u2800 ")
    assert not shows_nothing("\u3164a")


@settings(max_examples=6, **SETTINGS)
@given(invisible=blank)
@example(invisible="\u3164")
def test_a_title_option_that_shows_nothing_falls_back_to_the_digests_title(tmp_path_factory, invisible):
    """`--title` (and the config's title) of only invisible characters names no book and no feed."""
    tmp = tmp_path_factory.mktemp("option")
    (tmp / "d.md").write_text(_day("Second", "Bo", "Daily Papers", "u"), encoding="utf-8")
    out = tmp / "out"
    result = run_cli(["build", str(tmp / "d.md"), "-o", str(out), "--images", "none", "--format", "atom",
                      "--state", str(tmp / "state"), "--title", invisible], tmp)
    assert result.exit_code == 0, result.output
    feed = feedparser.parse(str(out / "feed.atom"))
    assert feed.feed.title == "Daily Papers", feed.feed.title
    (book,) = out.glob("*.epub")
    assert book.name.startswith("daily-papers-"), book.name
    with zipfile.ZipFile(book) as z:
        opf = etree.fromstring(z.read("EPUB/content.opf"))
    titles = [t.text or "" for t in opf.iter("{http://purl.org/dc/elements/1.1/}title")]
    assert titles and all(_shows(t) for t in titles), titles
