"""The reader against every variant of docs/format.md, one test each.

Fixtures are inline strings written for this project (written to tmp_path),
so each test shows the input next to the exact model it must give.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import sys
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from exporter.model import SummaryItem, Thumbnail, ThumbnailKind
from exporter.reader.parse import read_digests

HEAD = "## Daily Papers (2024-05-02)\n\n"
FULL_META = "![](https://img.example.org/t.png)\n\nVote: 5\n\nAuthors: A. One\n\n"


def write(tmp_path: Path, text: str | bytes, name: str = "day.md") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8", newline="")
    else:
        path.write_bytes(text)
    return path


def read(tmp_path: Path, text: str | bytes, name: str = "day.md"):
    return read_digests([write(tmp_path, text, name)])


def only_paper(result):
    assert len(result.digests) == 1, result.diagnostics
    assert len(result.digests[0].papers) == 1, result.digests[0].papers
    return result.digests[0].papers[0]


def messages(result, severity: str | None = None) -> list[str]:
    return [d.message for d in result.diagnostics if severity is None or d.severity.value == severity]


def lines(result) -> list[str]:
    return [str(d) for d in result.diagnostics]


# -- the canonical shape ------------------------------------------------------

def test_canonical_paper_fields(tmp_path):
    result = read(tmp_path, HEAD + (
        "### [Folding Maps: Sparse Routes for Dense Models](https://arxiv.org/abs/2405.01234v3)\n\n"
        "![](https://img.example.org/folding.png)\n\n"
        "Vote: 22\n\n"
        "Authors: Kim Yuna, Lee Dojin, Maria Costa\n\n"
        "- 첫 번째 요약 문장이다.\n"
        "- second bullet with **bold** text\n"
    ))
    digest = result.digests[0]
    assert digest.date == dt.date(2024, 5, 2)
    assert digest.title == "Daily Papers"
    p = only_paper(result)
    assert p.title == "Folding Maps: Sparse Routes for Dense Models"
    assert p.url == "https://arxiv.org/abs/2405.01234v3"
    assert p.arxiv_id == "2405.01234"
    assert p.pdf_url == "https://arxiv.org/pdf/2405.01234"
    assert p.hf_url == "https://huggingface.co/papers/2405.01234"
    assert p.thumbnail == Thumbnail(ThumbnailKind.IMAGE, "https://img.example.org/folding.png")
    assert p.votes == 22
    assert p.authors == ("Kim Yuna", "Lee Dojin", "Maria Costa")
    assert p.summary == (
        SummaryItem("첫 번째 요약 문장이다."),
        SummaryItem("second bullet with **bold** text"),
    )
    assert str(p.source).endswith("day.md:3")
    assert result.diagnostics == ()


def test_parts_without_blank_lines(tmp_path):
    p = only_paper(read(tmp_path, (
        "## Daily Papers (2024-05-02)\n### [T](https://arxiv.org/abs/2405.00001)\n"
        "![](https://img.example.org/a.png)\nVote: 3\nAuthors: X\n- one\n- two\n"
    )))
    assert (p.votes, p.authors, len(p.summary)) == (3, ("X",), 2)
    assert p.thumbnail.url == "https://img.example.org/a.png"


# -- variant 1: video thumbnails ----------------------------------------------

VIDEO = "https://cdn.example.org/v/clip.mp4"


@pytest.mark.parametrize("thumb", [
    f'[Watch Video]({VIDEO})\n<div><video controls src="{VIDEO}" muted="false"></video></div>\n',
    f"[Watch Video]({VIDEO})\n<video src='{VIDEO}'></video>\n",
    f"[Watch Video]{VIDEO}\n",
    f'<div><video controls src="{VIDEO}" muted="false"></video></div>\n',
    f"<video src='{VIDEO}'></video>\n",
    f'<div>\n<video controls muted="false">\n<source src="{VIDEO}" type="video/mp4">\n</video>\n</div>\n',
], ids=["watch+div", "watch+video", "watch-no-parens", "div-alone", "video-alone", "split-html"])
def test_video_thumbnail_shapes(tmp_path, thumb):
    result = read(tmp_path, HEAD + "### [V](https://arxiv.org/abs/2405.00002)\n\n" + thumb
                  + "\nVote: 1\n\nAuthors: A\n\n- text\n")
    p = only_paper(result)
    assert p.thumbnail == Thumbnail(ThumbnailKind.VIDEO, VIDEO)
    # The HTML is the same thumbnail again, never content.
    assert p.summary == (SummaryItem("text"),)
    assert result.diagnostics == ()


# -- variant 2: labelled bullets -----------------------------------------------

def test_labelled_bullets(tmp_path):
    p = only_paper(read(tmp_path, HEAD + "### [L](https://arxiv.org/abs/2405.00003)\n\n" + FULL_META + (
        "- ***What's New***: 새로운 방법.\n"
        "- **Technical Details**: uses `k=2` experts\n"
        "- ***Performance Highlights:*** 2x faster\n"
        "- **Limitations:** only English\n"
        "- **Bold start** without a colon is not a label\n"
        "- ***Key***:\n"
    )))
    assert [(i.label, i.text) for i in p.summary] == [
        ("What's New", "새로운 방법."),
        ("Technical Details", "uses `k=2` experts"),
        ("Performance Highlights", "2x faster"),
        ("Limitations", "only English"),
        (None, "**Bold start** without a colon is not a label"),
        ("Key", ""),
    ]


# -- variant 3: nesting, continuation, numbered under a colon ---------------------

def test_nested_bullets_and_continuations(tmp_path):
    p = only_paper(read(tmp_path, HEAD + "### [N](https://arxiv.org/abs/2405.00004)\n\n" + FULL_META + (
        "- parent text\n"
        "  continued indented\n"
        "  - (1) child one\n"
        "lazy continuation of child one\n"
        "  - (2) child two\n"
        "    - grandchild\n"
        "- second parent\n"
        "not indented continuation\n"
    )))
    assert p.summary == (
        SummaryItem("parent text continued indented", children=(
            SummaryItem("(1) child one lazy continuation of child one"),
            SummaryItem("(2) child two", children=(SummaryItem("grandchild"),)),
        )),
        SummaryItem("second parent not indented continuation"),
    )


def test_numbered_list_under_colon_bullet(tmp_path):
    p = only_paper(read(tmp_path, HEAD + "### [C](https://arxiv.org/abs/2405.00005)\n\n" + FULL_META + (
        "- 방법은 세 단계로 이루어진다:\n"
        "1. 데이터 수집\n"
        "2) 필터링\n"
        "   - detail of step two\n"
        "3. 학습\n"
        "- ***Technical Details***:\n"
        "1. labelled parent\n"
        "- next bullet\n"
        "1. numbered after a bullet without colon\n"
    )))
    assert p.summary == (
        SummaryItem("방법은 세 단계로 이루어진다:", children=(
            SummaryItem("데이터 수집"),
            SummaryItem("필터링", children=(SummaryItem("detail of step two"),)),
            SummaryItem("학습"),
        )),
        SummaryItem("", label="Technical Details", children=(SummaryItem("labelled parent"),)),
        SummaryItem("next bullet"),
        SummaryItem("numbered after a bullet without colon"),
    )


def test_indented_paragraph_after_blank_line_joins_its_item(tmp_path):
    p = only_paper(read(tmp_path, HEAD + "### [P](https://arxiv.org/abs/2405.00006)\n\n" + FULL_META + (
        "- first\n  - nested\n\n  more for first\n- second\n"
    )))
    assert p.summary == (
        SummaryItem("first more for first", children=(SummaryItem("nested"),)),
        SummaryItem("second"),
    )


# -- variant 4: missing parts --------------------------------------------------

def test_missing_thumbnail_votes_authors_are_warnings(tmp_path):
    result = read(tmp_path, HEAD + "### [M](https://arxiv.org/abs/2405.00007)\n\n- only a summary\n")
    p = only_paper(result)
    assert (p.thumbnail, p.votes, p.authors) == (None, None, ())
    assert lines(result) == [
        f"{tmp_path / 'day.md'}:3: warning: paper has no thumbnail",
        f"{tmp_path / 'day.md'}:3: warning: paper has no 'Vote:' line",
        f"{tmp_path / 'day.md'}:3: warning: paper has no 'Authors:' line",
    ]
    assert not result.errors


def test_vote_dash_is_unknown_not_zero_and_empty_authors(tmp_path):
    result = read(tmp_path, HEAD + (
        "### [D](https://arxiv.org/abs/2405.00008)\n\n![](https://img.example.org/d.png)\n\n"
        "Vote: -\n\nAuthors:\n\n- s\n"
        "### [Z](https://arxiv.org/abs/2405.00009)\n\n![](https://img.example.org/z.png)\n\n"
        "Vote: 0\n\nAuthors:   \n\n- s\n"
    ))
    dash, zero = result.digests[0].papers
    assert dash.votes is None and zero.votes == 0
    assert dash.authors == () and zero.authors == ()
    assert result.diagnostics == ()


def test_vote_that_is_not_a_number(tmp_path):
    result = read(tmp_path, HEAD + "### [V](https://arxiv.org/abs/2405.00010)\n\n"
                  "![](https://img.example.org/v.png)\nVote: many\nAuthors: A\n- s\n"
                  "### [W](https://arxiv.org/abs/2405.00011)\n\n"
                  "![](https://img.example.org/w.png)\nVote: 1,234\nAuthors: A\n- s\n")
    many, thousands = result.digests[0].papers
    assert many.votes is None and thousands.votes == 1234
    assert lines(result) == [
        f"{tmp_path / 'day.md'}:6: warning: vote count 'many' is not a number; treated as unknown"]


# -- variant 5: several headings, same date twice --------------------------------

def test_same_date_twice_merges_and_duplicate_is_kept_once(tmp_path):
    result = read(tmp_path, (
        "## Daily Papers (2024-05-02)\n\n"
        "### [A](https://arxiv.org/abs/2405.00012)\n" + FULL_META + "- a\n\n"
        "## Daily Papers (2024-05-01)\n\n"
        "### [Earlier](https://arxiv.org/abs/2405.00013)\n" + FULL_META + "- e\n\n"
        "## Daily Papers (2024-05-02)\n\n"
        "### [B](https://arxiv.org/abs/2405.00014)\n" + FULL_META + "- b\n\n"
        "### [A again](https://arxiv.org/abs/2405.00012v2)\n" + FULL_META + "- a2\n"
    ))
    assert [d.date.isoformat() for d in result.digests] == ["2024-05-01", "2024-05-02"]
    day = result.digests[1]
    assert [p.title for p in day.papers] == ["A", "B"]
    assert [s.line for s in day.sources] == [1, 23]
    assert lines(result) == [
        f"{tmp_path / 'day.md'}:34: warning: duplicate paper 'A again' on 2024-05-02 "
        f"(first at {tmp_path / 'day.md'}:3); kept once"]


def test_same_date_in_two_files_merges_in_file_order(tmp_path):
    write(tmp_path, HEAD + "### [One](https://arxiv.org/abs/2405.00015)\n" + FULL_META + "- 1\n", "a.md")
    write(tmp_path, HEAD + "### [Two](https://arxiv.org/abs/2405.00016)\n" + FULL_META + "- 2\n", "b.md")
    result = read_digests([tmp_path])
    assert [p.title for p in only_day(result).papers] == ["One", "Two"]


def only_day(result):
    assert len(result.digests) == 1
    return result.digests[0]


# -- variant 6: the same paper on two days ---------------------------------------

def test_same_paper_on_two_days_is_kept_on_each_with_the_same_key(tmp_path):
    result = read(tmp_path, (
        "## Daily Papers (2024-05-01)\n### [LLM$\\times$Fold](https://arxiv.org/abs/2405.00017)\n"
        + FULL_META + "- x\n"
        "## Daily Papers (2024-05-03)\n### [LLMtimesFold](https://arxiv.org/abs/2405.00017v2)\n"
        + FULL_META + "- y\n"
    ))
    first, second = (d.papers[0] for d in result.digests)
    assert (first.title, second.title) == ("LLM$\\times$Fold", "LLMtimesFold")
    assert first.key == second.key == "arxiv:2405.00017"
    assert not messages(result)


# -- variant 7: literal titles -----------------------------------------------------

@pytest.mark.parametrize("title", [
    "AtP*: An efficient way to localise behaviour",
    "I&S-Net: Sparse Q&A",
    "TinyProofs: achieving >80% on grade school maths",
    "Evaluating the role of `Constitutions' in dialogue",
    "[Re] Reproducing a Calibration Study",
    "Half [open bracket study",
    "Closing] bracket first",
    "M$^{2}$Gen: Music with $\\times$ and SOTOPIA-$π$ and $VILA^2$",
    "Under_score and *stars* and __dunder__",
    "Link-looking [x](y) inside",
])
def test_titles_are_byte_exact(tmp_path, title):
    p = only_paper(read(tmp_path, HEAD + f"### [{title}](https://arxiv.org/abs/2405.00018)\n\n" + FULL_META + "- s\n"))
    assert p.title == title
    assert p.url == "https://arxiv.org/abs/2405.00018"


def test_title_without_link_and_other_hosts(tmp_path):
    result = read(tmp_path, HEAD + (
        "### No Link At All\n" + FULL_META + "- a\n"
        "### [OpenReview Paper](https://openreview.net/forum?id=Ab12Cd)\n" + FULL_META + "- b\n"
        "### [HF Page](https://huggingface.co/papers/2405.00019)\n" + FULL_META + "- c\n"
        "###[No Space](https://arxiv.org/abs/2405.00020)\n" + FULL_META + "- d\n"
    ))
    a, b, c, d = result.digests[0].papers
    assert (a.title, a.url, a.arxiv_id) == ("No Link At All", None, None)
    assert (b.url, b.arxiv_id, b.pdf_url) == ("https://openreview.net/forum?id=Ab12Cd", None, None)
    assert (c.arxiv_id, c.link) == ("2405.00019", "https://arxiv.org/abs/2405.00019")
    assert (d.title, d.arxiv_id) == ("No Space", "2405.00020")
    assert messages(result) == ["paper heading has no link"]


# -- variant 8: summary text ------------------------------------------------------

def test_summary_text_is_kept_verbatim_for_the_renderer(tmp_path):
    text = "지연 (<0.5초) & 메모리 > 2GB, **굵게**, `code`, https://example.org/x?a=1&b=2 [link](https://e.org)"
    p = only_paper(read(tmp_path, HEAD + "### [S](https://arxiv.org/abs/2405.00021)\n" + FULL_META + f"- {text}\n"))
    assert p.summary == (SummaryItem(text),)


def test_raw_html_in_summary_is_text_and_html_lines_are_warned(tmp_path):
    result = read(tmp_path, HEAD + "### [H](https://arxiv.org/abs/2405.00022)\n" + FULL_META + (
        "- uses <b>tags</b> inline\n\n<iframe src=\"https://evil.example\"></iframe>\n"
    ))
    p = only_paper(result)
    assert p.summary == (SummaryItem("uses <b>tags</b> inline"),)
    assert messages(result) == ['raw HTML line ignored: <iframe src="https://evil.example"></iframe>']


# -- variant 9: file-level details ----------------------------------------------------

SIMPLE = HEAD + "### [바이트 순서](https://arxiv.org/abs/2405.00023)\n\n" + FULL_META + "- 한국어 요약\n"


@pytest.mark.parametrize("data", [
    b"\xef\xbb\xbf" + SIMPLE.encode(),
    SIMPLE.replace("\n", "\r\n").encode(),
    SIMPLE.replace("\n", "\r").encode(),
    b"\xef\xbb\xbf" + SIMPLE.replace("\n", "\r\n").encode(),
], ids=["bom", "crlf", "cr-only", "bom+crlf"])
def test_bom_and_line_endings(tmp_path, data):
    result = read(tmp_path, data)
    p = only_paper(result)
    assert p.title == "바이트 순서"
    assert p.summary == (SummaryItem("한국어 요약"),)
    assert p.source.line == 3
    assert result.digests[0].date == dt.date(2024, 5, 2)
    assert result.diagnostics == ()


@pytest.mark.parametrize("codec", ["cp949", "euc-kr"])
def test_legacy_korean_encoding_is_decoded_with_a_warning(tmp_path, codec):
    result = read(tmp_path, SIMPLE.encode(codec))
    assert only_paper(result).title == "바이트 순서"
    assert lines(result) == [f"{tmp_path / 'day.md'}:1: warning: file is not UTF-8 (from line 3); decoded as CP949 (EUC-KR)"]


def test_undecodable_file_is_an_error(tmp_path):
    result = read(tmp_path, HEAD.encode() + b"\n\n### [x](https://a.org)\n\xff\xfe\xff\n")
    assert result.digests == ()
    [err] = result.errors
    assert str(err) == (f"{tmp_path / 'day.md'}:6: error: cannot decode the file: not UTF-8 (byte 0xff) "
                        "and not CP949/EUC-KR; save it as UTF-8")


def test_empty_file_and_heading_with_no_papers(tmp_path):
    write(tmp_path, "", "a.md")
    write(tmp_path, "## Daily Papers (2024-05-04)\n\n", "b.md")
    result = read_digests([tmp_path])
    assert [(d.date.isoformat(), d.papers) for d in result.digests] == [("2024-05-04", ())]
    assert not result.errors
    assert lines(result) == [
        f"{tmp_path / 'a.md'}:1: warning: file is empty",
        f"{tmp_path / 'b.md'}:1: warning: day 2024-05-04 has no papers",
    ]


def test_heading_with_trailing_spaces_and_closing_hashes(tmp_path):
    result = read(tmp_path, "## Daily Papers (2024-05-05)   \n### [A](https://a.org/1)\n" + FULL_META + "- a\n"
                  "## 오늘의 논문 (2024-05-06) ##\n### [B](https://a.org/2)\n" + FULL_META + "- b\n"
                  "## 2024-05-07\n### [C](https://a.org/3)\n" + FULL_META + "- c\n")
    assert [(d.date.isoformat(), d.title) for d in result.digests] == [
        ("2024-05-05", "Daily Papers"), ("2024-05-06", "오늘의 논문"), ("2024-05-07", "Daily Papers")]
    assert result.diagnostics == ()


# -- errors -----------------------------------------------------------------------

def test_impossible_date_is_an_error_and_its_papers_are_reported_skipped(tmp_path):
    result = read(tmp_path, (
        "## Daily Papers (2024-02-30)\n\n"
        "### [Lost](https://arxiv.org/abs/2402.00001)\n\nVote: 2\n\n- lines of a skipped paper stay quiet\n\n"
        "## Daily Papers (2024-03-01)\n\n### [Kept](https://arxiv.org/abs/2403.00001)\n" + FULL_META + "- k\n"
    ))
    path = tmp_path / "day.md"
    assert lines(result) == [
        f"{path}:1: error: 2024-02-30 is not a real date; this day's papers are skipped",
        f"{path}:3: error: paper 'Lost' skipped: its day heading at line 1 has an invalid date",
    ]
    assert [p.title for d in result.digests for p in d.papers] == ["Kept"]


def test_malformed_date_and_heading_without_date(tmp_path):
    result = read(tmp_path, "## Daily Papers (2024-5-1)\n### [A](https://a.org/1)\n- a\n"
                  "## Notes\nsome prose\n### [B](https://a.org/2)\n- b\n")
    path = tmp_path / "day.md"
    assert lines(result) == [
        f"{path}:1: error: '2024-5-1' is not a date in YYYY-MM-DD form; this day's papers are skipped",
        f"{path}:2: error: paper 'A' skipped: its day heading at line 1 has an invalid date",
        f"{path}:4: warning: heading without a date ignored: ## Notes (expected '## Title (YYYY-MM-DD)')",
        f"{path}:5: warning: text outside of any paper ignored: some prose",
        f"{path}:6: error: paper 'B' skipped: its heading at line 4 has no date",
    ]
    assert result.digests == ()


def test_paper_with_no_title_is_an_error(tmp_path):
    result = read(tmp_path, HEAD + "### [](https://arxiv.org/abs/2405.00024)\nVote: 3\n- x\n###\n- y\n")
    path = tmp_path / "day.md"
    assert lines(result) == [  # in line order (docs/format.md)
        f"{path}:1: warning: day 2024-05-02 has no papers",
        f"{path}:3: error: paper has no title; skipped",
        f"{path}:6: error: paper has no title; skipped",
    ]


def test_paper_before_any_heading_is_an_error(tmp_path):
    result = read(tmp_path, "# My digests\n\n### [Orphan](https://a.org/o)\n- x\n" + HEAD)
    assert lines(result)[0] == (f"{tmp_path / 'day.md'}:3: error: paper 'Orphan' skipped: "
                                "it comes before any '## Title (YYYY-MM-DD)' heading")


def test_non_http_links_are_dropped_with_a_warning(tmp_path):
    result = read(tmp_path, HEAD + (
        "### [J](javascript:alert(1))\n![](file:///etc/passwd)\nVote: 1\nAuthors: A\n- j\n"
        "### [R](images/rel.png)\n![](data:image/png;base64,AAAA)\nVote: 1\nAuthors: A\n- r\n"
    ))
    j, r = result.digests[0].papers
    assert (j.url, j.thumbnail, r.url, r.thumbnail) == (None, None, None, None)
    assert messages(result) == [
        "paper link 'javascript:alert(1)' is not http(s); dropped",
        "paper has no thumbnail",
        "thumbnail URL 'file:///etc/passwd' is not http(s); dropped",
        "paper link 'images/rel.png' is not http(s); dropped",
        "paper has no thumbnail",
        "thumbnail URL 'data:image/png;base64,AAAA' is not http(s); dropped",
    ]


def test_relative_image_thumbnail_is_kept(tmp_path):
    p = only_paper(read(tmp_path, HEAD + "### [I](https://a.org/i)\n![a](images/x.png)\nVote: 1\nAuthors: A\n- i\n"))
    assert p.thumbnail == Thumbnail(ThumbnailKind.IMAGE, "images/x.png")


# -- inputs ------------------------------------------------------------------------

def test_folder_recursion_in_stable_order(tmp_path):
    for rel, date in [("2024/05/02.md", "2024-05-02"), ("2024/04/30.md", "2024-04-30"),
                      ("b.md", "2024-05-03"), ("a/z.md", "2024-05-01"), (".git/x.md", "2024-05-09"),
                      ("notes.txt", "2024-05-08")]:
        write(tmp_path, f"## Daily Papers ({date})\n### [{rel}](https://a.org/{rel})\n" + FULL_META + "- s\n", rel)
    from exporter.reader.parse import iter_input_files

    names = [Path(n).relative_to(tmp_path).as_posix() for n, _ in iter_input_files([tmp_path])]
    assert names == ["2024/04/30.md", "2024/05/02.md", "a/z.md", "b.md"]
    # A file named twice (folder and file) is read once: no duplicate warnings.
    result = read_digests([tmp_path, tmp_path / "b.md"])
    assert [d.date.isoformat() for d in result.digests] == ["2024-04-30", "2024-05-01", "2024-05-02", "2024-05-03"]
    assert result.diagnostics == ()


def test_stdin_dash(monkeypatch):
    data = (HEAD + "### [From Stdin](https://a.org/s)\n" + FULL_META + "- s\n").encode("utf-8")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    result = read_digests(["-"])
    p = only_paper(result)
    assert p.title == "From Stdin"
    assert str(p.source) == "<stdin>:3"


def test_missing_file_is_an_error(tmp_path):
    result = read_digests([tmp_path / "nope.md"])
    assert lines(result) == [f"{tmp_path / 'nope.md'}:1: error: cannot read: No such file or directory"]


# -- text cleaning -----------------------------------------------------------------

def test_control_and_xml_forbidden_characters_are_stripped(tmp_path):
    result = read(tmp_path, HEAD + (
        "### [Bad\x0bChars\x00 and \x1b[31mcolour\u202e](https://a.org/c)\n" + FULL_META +
        "- text\x0c with \ufffe form feed\x7f and \x85 NEL\n"
    ))
    p = only_paper(result)
    # VT, FF and NEL are white space (Unicode White_Space) between words: one space, not nothing.
    assert p.title == "Bad Chars and [31mcolour"
    assert p.summary == (SummaryItem("text with form feed and NEL"),)
    # Taking \x0b and \x0c (which str.splitlines would split on) as spaces keeps line numbers.
    assert p.source.line == 3


def test_nfc_normalisation(tmp_path):
    nfd_title = "Cafe\u0301 \u1112\u1161\u11ab\u1100\u1173\u11af"  # "Café 한글" decomposed
    p = only_paper(read(tmp_path, HEAD + f"### [{nfd_title}](https://a.org/n)\n" + FULL_META.replace("A. One", "Jose\u0301")
                        + "- \u1112\u1161\u11ab\n"))
    assert p.title == "Café 한글"
    assert p.authors == ("José",)
    assert p.summary == (SummaryItem("한"),)


def test_white_space_is_collapsed(tmp_path):
    p = only_paper(read(tmp_path, HEAD + "### [  Two\tspaces   here ](https://a.org/w)\n"
                        + FULL_META.replace("Authors: A. One", "Authors:  A  B ,\u3000C") + "- a\u00a0 b\n"))
    assert p.title == "Two spaces here"
    assert p.authors == ("A B", "C")
    assert p.summary == (SummaryItem("a b"),)


# -- the bundled sample ---------------------------------------------------------------

def test_bundled_sample_has_every_variant_and_no_errors():
    from exporter.resources import sample_dir

    result = read_digests([sample_dir()])
    assert not result.errors, result.errors
    papers = [p for d in result.digests for p in d.papers]
    assert len(result.digests) >= 4
    kinds = {p.thumbnail.kind for p in papers if p.thumbnail}
    assert kinds == {ThumbnailKind.IMAGE, ThumbnailKind.VIDEO}
    assert any(p.votes is None for p in papers)
    assert any(i.label for p in papers for i in p.summary)
    assert any(i.children for p in papers for i in p.summary)
    assert any(len(d.sources) > 1 for d in result.digests)  # a merged day
    keys = [p.key for p in papers]
    assert len(keys) > len(set(keys))  # a paper on two days
    assert any("$" in p.title for p in papers)
    for p in papers:
        if p.thumbnail and not p.thumbnail.is_remote:
            image = sample_dir() / p.thumbnail.url
            assert image.is_file() and image.stat().st_size < 30_000, image


# -- speed ------------------------------------------------------------------------------

def test_reads_a_synthetic_year_quickly(tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    try:
        import corpus
    finally:
        sys.path.pop(0)
    corpus.generate(tmp_path, days=365, papers=8000)
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        result = read_digests([tmp_path])
        best = min(best, time.process_time() - start)
    assert result.paper_count > 7900 and not result.errors
    # CPU time of this process (other processes on a shared CI machine do not count): the
    # target is < 0.4 s; the bound leaves room for a slower machine.
    assert best < 1.0, f"reading a year took {best:.3f}s"


def test_deeper_heading_inside_a_paper_keeps_the_paper_open(tmp_path):
    result = read(tmp_path, HEAD + "### [K](https://a.org/k)\n" + FULL_META + "- a\n#### Extra\n- b\n")
    assert [i.text for i in only_paper(result).summary] == ["a", "b"]
    assert messages(result) == ["heading ignored: #### Extra (only ## day and ### paper headings are read)"]


def test_label_lines_and_prose_without_bullets_are_kept(tmp_path):
    result = read(tmp_path, HEAD + "### [U](https://a.org/u)\n" + FULL_META + (
        "***What's New***: 글머리표 없는 라벨\n\n"
        "A prose paragraph\nwrapped over two lines.\n"
    ))
    assert only_paper(result).summary == (
        SummaryItem("글머리표 없는 라벨", label="What's New"),
        SummaryItem("A prose paragraph wrapped over two lines."),
    )
    assert result.diagnostics == ()


def test_text_after_the_paper_link_is_warned(tmp_path):
    result = read(tmp_path, HEAD + "### [T](https://arxiv.org/abs/2405.00030) (ICML)\n" + FULL_META + "- t\n")
    p = only_paper(result)
    assert (p.title, p.url) == ("T", "https://arxiv.org/abs/2405.00030")
    assert messages(result) == ["text after the paper link ignored: (ICML)"]


# -- links and code spans ---------------------------------------------------------------------

PAPER = HEAD + "### [K](https://a.org/k)\n" + FULL_META  # its summary starts on line 10


def host_warnings(result) -> list[tuple[int, str]]:
    return [(d.source.line, d.message) for d in result.diagnostics if "not on the public internet" in d.message]


@pytest.mark.parametrize("summary", [
    "- run `curl http://localhost:8080/api` first\n",
    "- ``a ` http://10.0.0.1/x ``\n",
    "- `[docs](http://127.0.0.1/docs)` and `<http://localhost/a>`\n",
    "- a code block, as a digest writes one:\n\n  ```\n  curl http://127.0.0.1:5000/\n  ```\n",
    "- the command\n  ```sh\n  wget http://192.168.1.2/f\n  ```\n",
    "Prose\n`open http://localhost/c\nover lines` done\n",
])
def test_a_url_in_a_code_span_is_text_not_a_link(tmp_path, summary):
    """A URL inside a code span (one line or several lines of one bullet, a fenced block folded
    into one) renders as code, never as a link: no warning that a link is left out."""
    result = read(tmp_path, PAPER + summary)
    assert host_warnings(result) == [], lines(result)
    assert ("<code>" in inline(only_paper(result)))


def inline(paper) -> str:
    from exporter.render import summary_html

    return str(summary_html(paper.summary))


@pytest.mark.parametrize("summary, line, host", [
    ("- `code` then [link](http://localhost/a)\n", 10, "localhost"),
    ("- \\`not code http://10.0.0.1/b`\n", 10, "10.0.0.1"),  # an escaped backtick opens nothing
    ("- `unclosed http://localhost/c\n", 10, "localhost"),
    ("- `a\\` http://localhost/b\n", 10, "localhost"),  # a backslash in a code span is literal: it ends there
    ("- ``a` http://localhost/d\n", 10, "localhost"),  # no run of the same length closes either
    ("- see `a`\n  and <http://127.0.0.1/e>\n", 11, "127.0.0.1"),
    ("- ``x`` and `y\n  http://localhost/f` and http://10.0.0.2/g\n", 11, "10.0.0.2"),
])
def test_a_link_outside_code_spans_is_still_warned_on_its_line(tmp_path, summary, line, host):
    result = read(tmp_path, PAPER + summary)
    assert [(no, host in message) for no, message in host_warnings(result)] == [(line, True)], lines(result)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(pieces=st.lists(st.sampled_from(["`", "``", "\\", "\\`", " ", "x", "\n  ", " https://{}/p ",
                                        " [l](https://{}/q) ", " <https://{}/r> ", " [https://{}/s](https://{}/s) "]),
                      min_size=1, max_size=12))
@example(pieces=[" [https://{}/s](https://{}/s) "])
def test_the_links_warned_are_the_links_the_renderer_makes(pieces):
    """Backticks, escapes and line breaks in any order around links (set off by spaces: what
    touches a bare URL is the URL gate's concern): the reader warns about a private host as many
    times as the renderer makes a link of the same text with a public host."""
    from exporter.render import inline_html

    text = "- " + "".join(pieces)
    with tempfile.TemporaryDirectory() as name:
        result = read(Path(name), PAPER + text.format(*["localhost"] * text.count("{}")) + "\n")
    rendered = str(inline_html(text[2:].format(*["example.com"] * text.count("{}")).replace("\n  ", " ")))
    assert len(host_warnings(result)) == rendered.count("<a "), (text, rendered, lines(result))


def test_each_url_is_parsed_once_and_each_host_judged_once(tmp_path, monkeypatch):
    """The URL gate's parse is the reader's main cost after splitting lines: a paper link, a
    thumbnail and a summary link are each parsed once (their one spelling is what the host check
    reads), and the verdict on a host is computed once (cached), however many links it has."""
    from exporter.gates import urls
    from exporter.reader import parse

    calls = []
    real = parse.web_url
    monkeypatch.setattr(parse, "web_url", lambda text: calls.append(text) or real(text))
    urls.private_host_reason.cache_clear()
    papers = "".join(f"### [P{n}](https://arxiv.org/abs/2405.{n:05d})\n\n![](https://img.example.org/{n}.png)\n\n"
                     f"Vote: 1\n\nAuthors: A\n\n- see [code](https://github.com/a/{n})\n\n" for n in range(20))
    result = read(tmp_path, HEAD + papers)
    assert result.paper_count == 20 and not result.errors
    assert len(calls) == 60, calls  # 20 papers, each with a link, a thumbnail and a summary link
    info = urls.private_host_reason.cache_info()
    assert (info.misses, info.hits) == (3, 57), info  # arxiv.org, img.example.org, github.com
    assert info.maxsize is not None  # bounded: a file of a million hosts does not grow it without end


_TWO = ("## Daily Papers (2024-03-05)\n\n### [P1](https://arxiv.org/abs/2403.00001)\n\nVote: 1\n\nAuthors: A\n\n- s\n\n"
        "{pre}{heading}\n\n### [P2](https://arxiv.org/abs/2403.00002)\n\nVote: 7\n\nAuthors: B\n\n- t\n")


@pytest.mark.parametrize("pre", ["    ", "\t", "\u3000", "\u00a0", "\u2003", "  \u3000"])
@pytest.mark.parametrize("heading", ["## Daily Papers (2024-03-06)", "### [P0](https://arxiv.org/abs/2403.00009)"])
def test_a_heading_after_white_space_is_said_at_its_line_and_moves_nothing(tmp_path, pre, heading):
    """Four spaces or a tab make a heading the text of the bullet above (CommonMark), and Unicode
    spaces are no indentation: never a day or paper folded into another without a word, nor the
    second paper's authors or votes put on the first."""
    path = tmp_path / "d.md"
    path.write_text(_TWO.format(pre=pre, heading=heading), "utf-8")
    result = read_digests([path])
    said = [d for d in result.diagnostics if d.source.line == 11]
    assert said and "looks like a heading, but white space" in said[0].message, result.diagnostics
    p1 = result.digests[0].papers[0]
    assert p1.authors == ("A",) and p1.votes == 1


def test_a_second_vote_or_authors_line_is_said_and_the_first_kept(tmp_path):
    path = tmp_path / "d.md"
    path.write_text("## Daily Papers (2024-03-05)\n\n### [P1](https://arxiv.org/abs/2403.00001)\n\n"
                    "Authors: Kim, Lee\n\nVote: 40\n\nAuthors: Park\n\nVote: 2\n\n- s\n", "utf-8")
    result = read_digests([path])
    paper = result.digests[0].papers[0]
    assert (paper.authors, paper.votes) == (("Kim", "Lee"), 40)
    said = {d.source.line: d.message for d in result.diagnostics}
    assert "second 'Authors:' line ignored" in said[9] and "second 'Vote:' line ignored" in said[11]


@pytest.mark.parametrize("line", ["\uff03\uff03\uff03 [P0](https://arxiv.org/abs/2403.00009)",
                                  "\ufe5f\ufe5f [Daily Papers (2024-03-06)]", "<!-- -->### [P0](https://arxiv.org/abs/2403.00009)",
                                  "** ## Daily Papers (2024-03-06)", "\u3000\uff03\uff03 Daily Papers (2024-03-06)"])
def test_a_line_that_looks_like_a_heading_in_any_spelling_is_said(tmp_path, line):
    """Full-width or small number signs, a comment or marks before the '##': not read as a
    heading (CommonMark), and said at the line, so the paper under it is never lost unnamed."""
    path = tmp_path / "d.md"
    path.write_text(_TWO.format(pre="", heading=line), "utf-8")
    result = read_digests([path])
    said = [d.message for d in result.diagnostics if d.source.line == 11]
    assert said and "looks like a heading" in said[0], result.diagnostics
    assert result.digests[0].papers[0].authors == ("A",)


@settings(max_examples=40, deadline=None)
@given(breaks=st.text("\x0b\x0c\x85\x1c\x1d\x1e", min_size=1, max_size=3), spaces=st.sampled_from(["", " ", "   "]),
       heading=st.sampled_from(["## Daily Papers (2024-03-06)", "### [P0](https://arxiv.org/abs/2403.00009)"]))
def test_a_heading_after_a_line_break_markdown_does_not_make_is_said_at_its_line(breaks, spaces, heading):
    """VT, FF, NEL, FS, GS, RS inside a line: other programs break the line there, Markdown does
    not; the heading after one is said, never folded into the bullet without a word."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "d.md")
        path.write_text(_TWO.format(pre="", heading="- a bullet" + breaks + spaces + heading), "utf-8")
        result = read_digests([path])
    said = [d.message for d in result.diagnostics if d.source.line == 11]
    assert any("looks like a heading after U+" in m for m in said), (breaks, result.diagnostics)


_HASH_SPELLINGS = ["#", "&#35;", "&#x23;", "&#X0023;", "&num;", "\uff03", "\ufe5f", "\\#"]
_BETWEEN = ["", "\u0301", "\u20dd", "\u200b", "\u2028", "\u2029", "\u00ad", "\u034f", "\ufe0f", "<!-- x -->",
            "\u3164", "\uffa0", "\u115f", "\u2800", "\U000e0100", "\u0345", "<span></span>", "[]()", "![]()",
            "<?x?>", "<![CDATA[]]>", "<b></b>",
            "&#x301;", "&#8203;", "&shy;"]


@settings(max_examples=80, deadline=None)
@given(hashes=st.lists(st.tuples(st.sampled_from(_HASH_SPELLINGS), st.sampled_from(_BETWEEN)), min_size=2, max_size=3),
       before=st.sampled_from(["", "<!-- c -->", "&#8203;", "\u200b", "&zwnj;", "<![CDATA[]]>", "<i></i>", "[]()"]))
@example(hashes=[("#", ""), ("#", ""), ("&#35;", "")], before="")  # '##&#35; [P0](...)': read as an unspaced '##'
def test_a_heading_spelled_so_that_it_shows_as_one_is_said_at_its_line(hashes, before):
    """'#' written as a reference or a compatibility form, marks, invisible characters or comments
    among or before the '#': a reader shows a heading, Markdown reads none; the day or paper
    under it is said at its line, never folded into the one above without a word."""
    marks = "".join(h + b for h, b in hashes)
    heading = before + marks + (" Daily Papers (2024-03-06)" if len(hashes) == 2 else " [P0](https://arxiv.org/abs/2403.00009)")
    if re.fullmatch(r"#{2,3}", marks):
        return  # a heading as written
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "d.md")
        path.write_text(_TWO.format(pre="", heading=heading), "utf-8")
        result = read_digests([path])
    said = [d.message for d in result.diagnostics if d.source.line == 11]
    read = len(result.digests) == 2 if "Daily" in heading else sum(len(d.papers) for d in result.digests) == 3
    assert read or any("looks like a heading" in m for m in said), (heading, result.diagnostics)


@pytest.mark.parametrize("link", ["[x](javascript:alert(1))", "[z](file:///etc/passwd)", "<mailto:a@b.c>",
                                  "[f](ftp://e.org/x)", "[d](data:text/html,x)", "<JAVASCRIPT:alert(1)>"])
def test_a_summary_link_of_another_scheme_is_said_where_it_is_dropped(tmp_path, link):
    path = tmp_path / "d.md"
    path.write_text(_TWO.format(pre="", heading=f"- see {link} and `[c](ftp://in.code/)`"), "utf-8")
    said = [d.message for d in read_digests([path]).diagnostics if d.source.line == 11]
    assert len([m for m in said if "is not http(s); dropped" in m]) == 1, said


@pytest.mark.parametrize("link", ["[x](https:///arxiv.org/abs/1)", "[y](<https:///arxiv.org/abs/2>)",
                                  "<https:///arxiv.org/abs/3>", "[z](https://)", "[w](HTTPS:///a.org/)"])
def test_a_summary_link_that_starts_as_http_but_is_no_url_is_said_where_it_is_dropped(tmp_path, link):
    """``https:///host`` (no host) is neither "another scheme" nor a URL the gate takes: the link
    was left out of the book without a word, where the same URL as a paper link is said."""
    path = tmp_path / "d.md"
    path.write_text(_TWO.format(pre="", heading=f"- see {link} here"), "utf-8")
    said = [d.message for d in read_digests([path]).diagnostics if d.source.line == 11]
    assert len([m for m in said if "is not a valid http(s) URL" in m and m.endswith("; dropped")]) == 1, said


@st.composite
def character_references(draw):
    """A character reference of any character, in any of its spellings (decimal, hex with 'x' or
    'X', leading zeros, too many digits to be one), or a named one."""
    code = draw(st.integers(0, 0x10FFFF) | st.sampled_from([0x23, 0x202E, 0xFEFF, 0x200B, 0x85, 0xD800, 0xFFFE]))
    zeros = "0" * draw(st.integers(0, 3))
    return draw(st.sampled_from([f"&#{zeros}{code};", f"&#x{zeros}{code:x};", f"&#X{zeros}{code:X};",
                                 "&#99999999999;", "&zwj;", "&nbsp;", "&amp;"]))


@settings(max_examples=60, deadline=None)
@given(refs=st.lists(character_references(), min_size=1, max_size=3),
       heading=st.sampled_from(["## Daily Papers (2024-03-06)", "### [P0](https://arxiv.org/abs/2403.00009)"]))
def test_a_character_reference_before_a_heading_is_said_at_its_line(refs, heading):
    """Markdown reads a character reference as the character it stands for: the '##' after it
    starts no heading, and the day or paper under it is said, never folded in without a word."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "d.md")
        path.write_text(_TWO.format(pre="", heading="".join(refs) + heading), "utf-8")
        result = read_digests([path])
    said = [d.message for d in result.diagnostics if d.source.line == 11]
    assert any("looks like a heading" in m for m in said), (refs, result.diagnostics)
    assert result.digests[0].papers[0].authors == ("A",)


@pytest.mark.parametrize("line", ["# Daily Papers (2024-03-06)", "#\u200b# Daily Papers (2024-03-06)",
                                  "#\u200b## [P0](https://arxiv.org/abs/2403.00009)", "# [P0](https://arxiv.org/abs/2403.00009)",
                                  "Daily Papers (2024-03-06)\n===", "[P0](https://arxiv.org/abs/2403.00009)\n---"])
def test_a_heading_of_another_level_or_style_after_a_day_is_said(tmp_path, line):
    """A level-1 heading after the first day, an invisible character among the '#', a setext
    heading (text underlined by '=' or '-'): the papers below would stay on the day above, so the
    line is said."""
    path = tmp_path / "d.md"
    path.write_text(_TWO.format(pre="", heading=line), "utf-8")
    result = read_digests([path])
    said = [d.message for d in result.diagnostics if d.source.line in (11, 12)
            and ("heading" in d.message)]
    assert said, result.diagnostics


def test_text_and_rules_that_make_no_heading_are_not_reported(tmp_path):
    path = tmp_path / "d.md"
    path.write_text("# My archive\n\n## Daily Papers (2024-03-05)\n\n### [P1](https://arxiv.org/abs/2403.00001)\n\n"
                    "Vote: 1\n\nAuthors: A\n\n- s\n---\n- #1 result\n", "utf-8")
    result = read_digests([path])
    assert not [d for d in result.diagnostics if "heading" in d.message], result.diagnostics


@pytest.mark.parametrize("underline", ["===", "---", "   ="])
@pytest.mark.parametrize("heading", ["## Daily Papers (2024-03-05)", "### [P1](https://arxiv.org/abs/2403.00001)"])
def test_an_underline_below_an_atx_heading_is_no_setext_heading(tmp_path, heading, underline):
    """CommonMark 0.31, 4.3: an underline makes a heading of a paragraph only; under a '## '
    or '### ' heading it is a line of text, and the heading is read: no advice to add the '## '
    that is there."""
    lines = ["## Daily Papers (2024-03-05)", "", "### [P1](https://arxiv.org/abs/2403.00001)", "", "Vote: 1", "",
             "Authors: A", "", "- s"]
    at = lines.index(heading)
    lines.insert(at + 1, underline)
    path = tmp_path / "d.md"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    result = read_digests([path])
    assert [(d.date.isoformat(), [p.title for p in d.papers]) for d in result.digests] == [("2024-03-05", ["P1"])]
    assert not [d for d in result.diagnostics if "underline" in d.message], result.diagnostics


@pytest.mark.parametrize("sep", ["\u2028", "\u2029"])
def test_a_heading_after_a_line_break_markdown_does_not_see_is_said(tmp_path, sep):
    path = tmp_path / "d.md"
    path.write_text("## Daily Papers (2024-03-04)\n\n### [P1](https://arxiv.org/abs/2403.00001)\n\nVote: 1\n\n"
                    f"Authors: A\n\n- s1{sep}## Daily Papers (2024-03-05)\n\n### [P3](https://arxiv.org/abs/2403.00003)\n"
                    "\n- s2\n", "utf-8")
    said = [d.message for d in read_digests([path]).diagnostics if d.source.line == 9]
    assert said and "looks like a heading after U+" in said[0]


def test_an_old_style_arxiv_id_has_no_hugging_face_page(tmp_path):
    """Hugging Face's paper pages are named by the identifiers arXiv gives since April 2007; an
    older one (``cs/0112017``) keeps its arXiv links and gets no Hugging Face link."""
    result = read(tmp_path, (
        HEAD +
        "### [Old Paper](https://arxiv.org/abs/cs/0112017v1)\n\n"
        "- a summary.\n"
    ))
    p = only_paper(result)
    assert p.arxiv_id == "cs/0112017"
    assert p.abs_url == "https://arxiv.org/abs/cs/0112017"
    assert p.hf_url is None


@pytest.mark.parametrize("line, url", [
    ("[![](https://img.example.org/a.png)](https://example.org/page)", "https://img.example.org/a.png"),
    ('[![alt](<images/a b.png> "t")](<https://example.org/p q>)', "images/a%20b.png"),
])
def test_a_picture_that_is_a_link_is_the_thumbnail(tmp_path, line, url):
    """``[![alt](picture)](page)`` (CommonMark: an image as a link's text) is the paper's
    thumbnail, the picture; it was read as a summary paragraph, and the paper had "no thumbnail"."""
    result = read(tmp_path, HEAD + "### [A](https://arxiv.org/abs/2405.01234)\n\n" + line + "\n\n- a summary.\n")
    p = only_paper(result)
    assert p.thumbnail is not None and p.thumbnail.kind is ThumbnailKind.IMAGE
    assert p.thumbnail.url == url
    assert [item.text for item in p.summary] == ["a summary."]
    assert "no thumbnail" not in " ".join(messages(result)), messages(result)
