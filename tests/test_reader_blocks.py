"""Headings inside code blocks and HTML comments: the reader's one-pass scan
(exporter/reader/blocks.py) against markdown-it-py, the CommonMark parser."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from exporter.reader.blocks import hidden_lines
from exporter.reader.parse import parse_text

# Lines a digest is made of, and the spellings of fences, comments and HTML blocks around them.
PIECES = ["## Daily Papers (2024-03-05)", "### [P](https://arxiv.org/abs/2403.00002)", "- summary", "  - nested",
          "1. numbered", "text", "lazy text", "", "", "```", "````", "~~~", "  ```", "   ```", "    ```", "- ```",
          "  ~~~", "```py", "``` a`b", "<!--", "-->", "<!-- x -->", "  <!--", "<pre>", "</pre>", "<PRE class=x>",
          "x </pre> y", "<script>", "</script>", "- <!--", "  ## h", "***", "- - ```", "\t```", "-\t```", "> ```",
          "> quote", "<div>", "<div><video src='https://example.com/a.mp4'></video></div>", "<?php", "?>",
          "<![CDATA[", "]]>", "\u00a0", "\u200b", "   ## h", "\u3000"]
_HIDING_HTML = re.compile(r"\s*(?:<(?:pre|script|style|textarea)(?:[ \t>]|$)|<!--|<\?|<![A-Za-z]|<!\[CDATA\[)", re.I)


def _markdown_it_hidden(lines: list[str]) -> tuple[set[int], set[int]]:
    """(lines inside a fence or an HTML block that ends at an end mark, lines not to compare:
    inside other HTML blocks or behind a '>', where the reader reads no heading)."""
    md = MarkdownIt("commonmark", {"html": True}).disable("inline")
    hidden: set[int] = set()
    skip = {n for n, line in enumerate(lines, start=1) if line.lstrip(" \t-*+0123456789.)").startswith(">")}
    for token in md.parse("\n".join(lines)):
        if token.type == "fence" or (token.type == "html_block" and _HIDING_HTML.match(token.content)):
            hidden.update(range(token.map[0] + 2, token.map[1] + 1))
        elif token.type == "html_block":
            skip.update(range(token.map[0] + 1, token.map[1] + 1))
    return {n for n in hidden if lines[n - 1].strip(" \t")} - skip, skip  # blank: CommonMark 4.9


def _check(lines: list[str]) -> None:
    want, skip = _markdown_it_hidden(lines)
    blocks = hidden_lines(lines, "\n".join(lines))
    got = {n for n, block in blocks.items() if block.hides and n not in skip}
    shown = {n for n, block in blocks.items() if not block.hides}
    assert shown <= skip, "\n".join(f"{n:2}|{line}" for n, line in enumerate(lines, start=1))
    assert got == want, "\n".join(f"{n:2}|{line}" for n, line in enumerate(lines, start=1))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=14))
def test_the_lines_hidden_are_those_markdown_it_shows_as_code_or_nothing(lines: list[str]) -> None:
    _check(lines)


def test_the_scan_agrees_with_markdown_it_on_many_digests() -> None:
    rnd = random.Random(20241204)
    for _ in range(3000):
        _check([rnd.choice(PIECES) for _ in range(rnd.randint(1, 14))])


HEAD = ("## Daily Papers (2024-03-04)\n\n### [Paper One](https://arxiv.org/abs/2403.00001)\n\nVote: 5\n\n"
        "Authors: A B\n\n- summary\n\n")
FORGED = "## Daily Papers (2024-03-05)\n### [X](https://arxiv.org/abs/2403.00002)\n"


@pytest.mark.parametrize("before, after, what", [
    ("```\n", "```\n", "fenced code block ('```' at line 11)"),
    ("~~~~ text\n", "~~~~\n", "fenced code block ('~~~' at line 11)"),
    ("```\n", "", "fenced code block ('```' at line 11)"),  # never closed: to the end, as in a viewer
    ("<pre>\n", "</pre>\n", "HTML block ('<pre' at line 11)"),
    ("<!--\n", "-->\n", "HTML comment ('<!--' at line 11)"),
    ("<!-- a\n", "b -->\n", "HTML comment ('<!--' at line 11)"),
    ("<script type=x>\n", "</script>\n", "HTML block ('<script' at line 11)"),
    ("- ```\n", "  ```\n", None),  # the bullet's fence ends where the bullet does: real headings
])
def test_a_heading_a_viewer_shows_as_code_or_nothing_is_said_and_not_read(before: str, after: str,
                                                                          what: str | None) -> None:
    drafts, diags = parse_text(HEAD + before + FORGED + after, "d.md")
    said = [d for d in diags if "not read as one" in d.message]
    if what is None:
        assert [d.date.isoformat() for d in drafts] == ["2024-03-04", "2024-03-05"]
        assert not said
        return
    assert [d.date.isoformat() for d in drafts] == ["2024-03-04"]
    assert [p.title for p in drafts[0].papers] == ["Paper One"]
    assert [d.source.line for d in said] == [12, 13]
    assert all(what in d.message for d in said), said[0].message


# -- link titles and references in the destinations the reader reads ---------------------------

def _title(text: str, delimiter: str) -> str:
    """*text* as a CommonMark link title (6.3) in *delimiter*, escaped where it must be."""
    opening, closing = {'"': '""', "'": "''", "(": "()"}[delimiter]
    escaped = "".join("\\" + c if c in (opening + closing + "\\") else c for c in text)
    return opening + escaped + closing


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet='ab "\'()\\.&;#', max_size=12), delimiter=st.sampled_from(['"', "'", "("]),
       blank=st.sampled_from([" ", "\t", "  ", " \t"]),
       url=st.sampled_from(["https://arxiv.org/abs/2403.00001", "https://arxiv.org/abs/2403&#46;00001",
                            "<https://arxiv.org/abs/2403.00001>", "https://arxiv.org/abs/2403\\.00001"]))
def test_a_link_title_in_any_commonmark_spelling_is_no_part_of_the_url(text, delimiter, blank, url):
    """A paper heading's, a thumbnail's and a video's destination is read as markdown-it reads it:
    the title (quoted, single-quoted or in parentheses, with backslash escapes) is left out, and
    character references and escapes in the destination are read."""
    title = _title(text, delimiter)
    heading = f"[t]({url}{blank}{title})"
    href = MarkdownIt("commonmark").parseInline(heading)[0].children[0].attrs.get("href")
    assert href == "https://arxiv.org/abs/2403.00001"  # the spelling is a link, as the test means it
    thumb = f"![x](https://cdn.example.org/t.png{blank}{title})"
    video = f"[Watch Video](https://cdn.example.org/v.mp4{blank}{title})"
    for line, kind in ((thumb, "image"), (video, "video")):
        drafts, diags = parse_text(f"## Daily Papers (2024-03-04)\n\n### {heading}\n\n{line}\n\nVote: 1\n\n"
                                   "Authors: A B\n\n- s\n", "d.md")
        paper = drafts[0].papers[0]
        assert paper.url == "https://arxiv.org/abs/2403.00001" and paper.arxiv_id == "2403.00001", (heading, paper.url)
        assert paper.thumbnail is not None and paper.thumbnail.kind.value == kind, (line, diags)
        assert paper.thumbnail.url in ("https://cdn.example.org/t.png", "https://cdn.example.org/v.mp4")
        assert not [d for d in diags if "thumbnail" in d.message], diags


@pytest.mark.parametrize("heading, said", [
    ("##\u00a0Daily Papers (2024-03-05)", "U+00A0"), ("##\u3000Daily Papers (2024-03-05)", "U+3000"),
    ("##Daily Papers (2024-03-05)", "no space"), ("## Daily Papers (2024-03-05)", None),
    ("##\tDaily Papers (2024-03-05)", None)])
def test_a_day_heading_without_the_space_markdown_wants_is_read_and_said(heading, said):
    drafts, diags = parse_text(HEAD + heading + "\n\n### [X](https://arxiv.org/abs/2403.00002)\n\n- s\n", "d.md")
    assert [d.date.isoformat() for d in drafts] == ["2024-03-04", "2024-03-05"]  # nothing lost
    at_heading = [d for d in diags if d.source.line == 11]
    if said is None:
        assert not at_heading, at_heading
    else:
        assert len(at_heading) == 1 and said in at_heading[0].message, at_heading


def test_a_paper_heading_without_a_space_before_its_link_is_a_variant_not_said():
    drafts, diags = parse_text(HEAD.replace("### [Paper One]", "###[Paper One]"), "d.md")
    assert [p.title for p in drafts[0].papers] == ["Paper One"]
    assert not [d for d in diags if d.source.line == 3 and "space" in d.message], diags


@pytest.mark.parametrize("html", ['<div><video controls src="https://example.com/a.mp4"></video></div>', "<div>",
                                  "<span>", "<p>x</p>"])
def test_a_heading_right_under_an_html_line_is_read_and_said(html):
    """An HTML block that a blank line ends (CommonMark 4.6, types 6 and 7: a producer's video
    line) runs on into a heading right under it: a viewer shows the heading as text.  The paper
    is read (nothing lost) and the line said; with a blank line between, nothing is said."""
    tight = HEAD + html + "\n### [B](https://arxiv.org/abs/2403.00002)\n\n- b\n"
    drafts, diags = parse_text(tight, "d.md")
    assert [p.title for p in drafts[0].papers] == ["Paper One", "B"]
    said = [d for d in diags if "follows the HTML at line 11" in d.message]
    assert [d.source.line for d in said] == [12], diags
    drafts, diags = parse_text(tight.replace(html + "\n", html + "\n\n"), "d.md")
    assert [p.title for p in drafts[0].papers] == ["Paper One", "B"]
    assert not [d for d in diags if "follows the HTML" in d.message], diags


@settings(max_examples=150, deadline=None)
@given(tag=st.sampled_from(['<video controls src={}></video>', '<div><video src={}></video></div>', '<img src={}>',
                            '<source type="video/mp4" src={}>']),
       query=st.lists(st.sampled_from(["a=1", "&amp;", "&#38;", "&#x26;", "b=2", "&lt;", "%20", "&AMP;"]),
                      max_size=4).map("".join),
       start=st.sampled_from(["https", "&#104;ttps", "http&#115;"]), quote=st.sampled_from(['"', "'"]))
def test_an_html_thumbnails_src_is_read_as_a_browser_reads_it(tag, query, start, quote):
    """The ``src`` of a producer's HTML thumbnail line is an HTML attribute: its character
    references are decoded as html5lib (an HTML parser) decodes them (``?a=1&amp;b=2`` is
    ``?a=1&b=2``; it was kept raw, and ``&#38;`` became a fragment)."""
    import html5lib

    src = f"{start}://cdn.example.org/t.mp4?{query}"
    line = tag.format(quote + src + quote)
    fragment = html5lib.parseFragment(line, treebuilder="etree", namespaceHTMLElements=False)
    want = next(el.get("src") for el in fragment.iter() if el.get("src") is not None)
    drafts, _ = parse_text(f"## Daily Papers (2024-03-04)\n\n### [T](https://arxiv.org/abs/2403.00001)\n\n{line}\n\n"
                           "- s\n", "d.md")
    thumbnail = drafts[0].papers[0].thumbnail
    assert thumbnail is not None, line
    from exporter.gates.urls import web_url

    assert thumbnail.url == web_url(want), (line, thumbnail.url, want)  # as the URL gate writes it


@pytest.mark.parametrize("mark", ["\u0301", "\u0301\u0302", "\u093e", "\u20dd"])
def test_a_field_never_starts_with_a_combining_mark(mark):
    """A title, author or bullet that starts with a combining mark (nothing for it to combine
    with: drawn on a dotted circle, and the Nu checker warns of the page) loses the marks."""
    from exporter.gates.text import collapse_white_space

    drafts, _ = parse_text(f"## Daily Papers (2024-03-04)\n\n### [{mark}Attention](https://arxiv.org/abs/2403.00001)\n\n"
                           f"Authors: {mark}Ann, Bo\n\n- {mark} a bullet\n", "d.md")
    paper = drafts[0].papers[0]
    assert paper.title == "Attention" and paper.authors == ("Ann", "Bo")
    assert collapse_white_space(f" {mark}X Papers") == "X Papers"
    assert collapse_white_space("e\u0301") == "e\u0301"  # a mark on a letter stays


@pytest.mark.parametrize("heading, said", [
    ("### [Attention](https://arxiv.org/abs/2403.00001) [code](https://evil.com/x)", True),
    ("### [A [b](https://x.org/c) d](https://arxiv.org/abs/2403.00001)", True),
    ("### [[Re] Title](https://arxiv.org/abs/2403.00001)", False),
    ("### [Title (2024)](https://arxiv.org/abs/2403.00001)", False),
    # an escaped "]" is text (CommonMark 2.4): no second link, and a viewer links the last too
    ("### [C\\](https://arxiv.org/abs/2403.00524)](https://arxiv.org/abs/2403.00525)", False),
    ("### [C\\\\](https://arxiv.org/abs/2403.00524)](https://arxiv.org/abs/2403.00525)", True)])
def test_a_paper_heading_with_two_links_is_said(heading, said):
    drafts, diags = parse_text(f"## Daily Papers (2024-03-04)\n\n{heading}\n\n- s\n", "d.md")
    assert len(drafts[0].papers) == 1
    assert any("more than one link" in d.message and d.source.line == 3 for d in diags) == said, diags


# -- what the cleaning removes, among a heading's marks --------------------------------------------
#
# The text gate and the reader remove characters no output may hold (NUL, a byte-order mark that
# does not start the file, controls, direction marks, noncharacters, U+FFFD).  Removed from
# between the '#' of a heading, they would make a heading of a line that a Markdown viewer shows
# as text ('#\0## A' is '#\ufffd## A' to CommonMark, section 2.3).  The removals that are made so
# that a heading is read (invisible characters that start a line: files joined with cat) are
# the documented exception.

NOISE = ["\0", "\ufeff", "\x1b", "\x0e", "\x0f", "\x01", "\x7f", "\x9b", "\u200e", "\u202e", "\u2066", "\ufffd",
         "\ufffe", "\ufdd0", "\U0001fffe", "\u200b", " ", "\t", "\u00a0"]
DAY = "## Daily Papers (2024-03-04)\n\n### [Paper One](https://arxiv.org/abs/2403.00522)\n\nVote: 3\n\n- s\n\n"


def _read(line: str) -> tuple[int, list[str]]:
    """(papers read, warnings at the line) of a digest whose line 9 is *line*."""
    from exporter.reader.parse import decode

    text, diags = decode((DAY + line + "\n\n- t\n").encode("utf-8", "surrogatepass"), "t.md")
    drafts, more = parse_text(text, "t.md")
    return sum(len(d.papers) for d in drafts), [d.message for d in diags + more
                                                 if d.source is not None and d.source.line == 9]


def _markdown_it_level(line: str) -> int:
    """The heading level markdown-it gives *line* (0: not a heading), once what stands before its
    first '#' and the reader removes is removed, as it is on purpose (files joined with cat,
    an editor's invisible characters: said, and the heading read)."""
    first = line.find("#")
    head = "".join(c for c in line[:first] if c in " \t\u00a0") if first >= 0 else line
    for token in MarkdownIt("commonmark").parse(head + line[len(head) if first < 0 else first:]):
        if token.type == "heading_open":
            return int(token.tag[1])
    return 0


def _check_marks(line: str) -> None:
    """A paper where markdown-it shows a heading; elsewhere none, or one said (a heading written
    without its space is read all the same, and said); a line whose marks from the first '#' on
    open no heading in markdown-it is never read as a paper; and a line that shows '###' once the
    cleaning is done, but no heading, is said."""
    papers, said = _read(line)
    level = _markdown_it_level(line)
    warned = any("heading" in m for m in said)
    assert papers == 2 or warned if level == 3 else papers == 1 or warned, (repr(line), level, said)
    first = line.find("#")
    removed = [c for c in NOISE if c not in " \t\u00a0\u200b"]
    rest = line[first:]
    cleaned = rest.translate({ord(c): None for c in removed})
    if (re.match("[# \t]*", cleaned).group() != re.match("[# \t]*", rest).group()
            and not any(t.type == "heading_open" for t in MarkdownIt("commonmark").parse(rest))):
        # Removing a character joined what it kept apart ('#\0##', '###\0 '): not a heading.
        assert papers == 1, (repr(line), said)
    if level != 3 and "###" in line.translate({ord(c): None for c in NOISE if c not in " \t\u00a0"}):
        assert warned, (repr(line), said)


@pytest.mark.parametrize("marks, papers", [
    ("#\ufeff##", 1), ("#\0##", 1), ("#\x0e##", 1), ("##\x1b#", 1), ("###\0", 1), ("#\u200e##", 1),
    ("##\ufffd#", 1), ("#\U0001fffe##", 1), ("\ufffe#\0##", 1), ("\x01\0#\0##", 1),
    # Before the first '#': removed so that the heading is read (files joined with cat), and said.
    ("\0###", 2), (" \0###", 2), ("\ufeff\0###", 2), ("\0\u200b###", 2), ("\ufffe###", 2), ("\ufeff###", 2),
    ("\u200b###", 2), ("\u180e###", 2), ("\u200b\0###", 2), ("###", 2)])
def test_a_character_removed_from_among_the_marks_does_not_make_a_heading(marks, papers):
    for title in ("Paper Two", "Paper-Two `x` <b>"):  # with characters that make blocks too
        line = marks + f" [{title}](https://arxiv.org/abs/2403.00523)"
        _check_marks(line)
        assert _read(line)[0] == papers, repr(line)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(NOISE), max_size=4), st.randoms(use_true_random=False))
def test_a_line_is_read_as_a_paper_only_where_markdown_it_shows_a_heading(noise, rnd):
    marks = ["#", "#", "#"]
    for ch in noise:
        marks.insert(rnd.randint(0, len(marks)), ch)
    _check_marks("".join(marks) + " [Paper Two](https://arxiv.org/abs/2403.00523)")


@pytest.mark.parametrize("between", ["\u00a0", "\u200b", "\u200b\u200b ", "\u3000", "\x0c", "\u00ad"])
@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
def test_a_line_that_only_looks_blank_does_not_end_an_html_block(between, eol):
    """CommonMark 4.9: a blank line holds nothing but spaces and tabs.  A line of U+00A0 or of
    U+200B under a '<div>' line keeps its HTML block open, so a Markdown viewer shows the day
    heading below as text of that HTML: read all the same, and said, as one right under it."""
    from exporter.reader.parse import decode

    lines = ["## Daily Papers (2024-03-04)", "", "### [P1](https://arxiv.org/abs/2403.00522)", "", "- s", "",
             "<div>", between, "## Daily Papers (2024-03-05)", "", "### [P2](https://arxiv.org/abs/2403.00523)", ""]
    text, diags = decode(eol.join(lines).encode("utf-8"), "d.md")
    drafts, more = parse_text(text, "d.md")
    assert [d.date.isoformat() for d in drafts] == ["2024-03-04", "2024-03-05"]
    said = [d.message for d in diags + more if d.source is not None and d.source.line == 9]
    assert any("follows the HTML at line 7" in m for m in said), said
    assert not any("\u200b" in p.title for d in drafts for p in d.papers)


@pytest.mark.parametrize("block", [["```", "``\0`"], ["```", "``\ufeff`"], ["~~~", "~\x1b~~"], ["<!--", "-\0->"],
                                   ["<!--", "--\ufeff>"], ["<pre>", "</pr\0e>"], ["<script>", "</\x0escript>"]])
def test_a_character_the_cleaning_removes_from_a_closing_mark_closes_nothing(block):
    """A NUL, a byte-order mark or a control in the mark that would close a fence, a comment or
    a <pre> block: a Markdown viewer shows it (CommonMark 2.3), so the block runs on, and the
    paper heading after it is inside it: said, not read."""
    from exporter.reader.parse import decode

    lines = ["## Daily Papers (2024-03-04)", "", "### [P1](https://arxiv.org/abs/2403.00522)", "", "- s", "",
             *block, "### [P2](https://arxiv.org/abs/2403.00523)", "", "- t", ""]
    text, diags = decode("\n".join(lines).encode("utf-8"), "d.md")
    drafts, more = parse_text(text, "d.md")
    assert [p.title for d in drafts for p in d.papers] == ["P1"]
    said = [d.message for d in diags + more if d.source is not None and d.source.line == 9]
    assert any("inside" in m and "not read as one" in m for m in said), said


@pytest.mark.parametrize("opener", ["\ufeff<!--", "\0<!--", "\ufeff```", "\0~~~", "\ufeff<pre>", "\u200b\ufeff<!--"])
def test_a_character_the_cleaning_removes_before_a_block_mark_opens_no_block(opener):
    """A byte-order mark or NUL before '<!--' or a fence in the middle of a file: a Markdown viewer
    shows it, so no block opens there and the day below is read (the mark is removed before a
    heading only: files joined with cat)."""
    from exporter.reader.parse import decode

    lines = ["## Daily Papers (2024-03-04)", "", "### [P1](https://arxiv.org/abs/2403.00522)", "", "- s", "",
             opener, "## Daily Papers (2024-03-05)", "", "### [P2](https://arxiv.org/abs/2403.00523)", "", "- t", ""]
    text, diags = decode("\n".join(lines).encode("utf-8"), "d.md")
    drafts, more = parse_text(text, "d.md")
    assert [d.date.isoformat() for d in drafts] == ["2024-03-04", "2024-03-05"], [d.message for d in diags + more]
    assert [p.title for d in drafts for p in d.papers] == ["P1", "P2"]


def test_what_reading_a_file_says_is_in_line_order(tmp_path):
    """What decoding finds (a byte-order mark in mid-file) and what parsing finds are said in one
    line order, by every path that reads a file (docs/format.md: "in line order")."""
    from exporter.reader.parse import read_digests
    from exporter.reader.stamps import InputFiles

    path = tmp_path / "a.md"
    path.write_bytes(b"## Daily Papers (2024-03-04)\n\nintro\x0c## Daily Papers (2024-03-09)\n\n"
                     b"### [T1\xef\xbb\xbfA](https://arxiv.org/abs/2403.00522)\n")
    lines = [d.source.line for d in read_digests([path]).diagnostics if d.source is not None]
    assert 3 in lines and 5 in lines and lines == sorted(lines), lines
    files = InputFiles.scan([path], {})
    lines = [d.source.line for d in files.diagnostics({}) if d.source is not None]
    assert 3 in lines and 5 in lines and lines == sorted(lines), lines


def test_a_day_with_no_papers_is_said_at_its_line_among_its_file_words(tmp_path):
    """What merging the days says (a day with no papers) comes at its heading's line, in its file's
    place among the files, not after every file's words."""
    from exporter.reader.parse import read_digests
    from exporter.reader.stamps import InputFiles

    day = "## Daily Papers ({a})\n\n## Daily Papers ({b})\n\n### [P](https://arxiv.org/abs/2403.000{n})\n\nVote: x\n"
    paths = []
    for n, (a, b) in enumerate([("2024-03-05", "2024-03-06"), ("2024-03-07", "2024-03-08")], start=10):
        paths.append(tmp_path / f"{n}.md")
        paths[-1].write_text(day.format(a=a, b=b, n=n), "utf-8")
    said = read_digests(paths).diagnostics
    assert any("has no papers" in d.message and d.source.line == 1 for d in said)
    merged = {"2024-03-05": [[str(paths[0]), 1, "warning", "day 2024-03-05 has no papers", "missing"]]}
    for said in (said, InputFiles.scan(paths, {}).diagnostics(merged)):
        places = [(d.source.path, d.source.line) for d in said if d.source is not None]
        assert places == sorted(places, key=lambda p: (p[0].endswith("11.md"), p[1])), places


@pytest.mark.parametrize("link", ["[l](javascript:x)", "[m](mailto:a@b.example)", "[x](https:example.org)",
                                  "[y](//example.org/p)", "[z](relative/p)", "<mailto:a@b.c>", "[e](<file:///etc>)"])
def test_every_link_the_renderer_leaves_as_text_is_said(link):
    """A link whose destination is no absolute http(s) URL is dropped (left as text): said, whatever
    else the bullet holds (no '://' needed), and not when it is in a code span or not a link."""
    text = ("## Daily Papers (2024-03-06)\n\n### [P](https://arxiv.org/abs/2403.00013)\n\nVote: 1\n\n"
            "Authors: A\n\n- only {}\n")
    _, diags = parse_text(text.format(link), "a.md")
    assert any("is not http(s); dropped" in d.message and d.source.line == 9 for d in diags), diags
    for quiet in (f"`{link}`", "[a](b c)", "[ok](https://example.org/a \"t\")"):
        _, diags = parse_text(text.format(quiet), "a.md")
        assert not any("dropped" in d.message for d in diags), (quiet, diags)
