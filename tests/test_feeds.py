"""digest-export feed: Atom/RSS/JSON content, selection, stability, safety."""

from __future__ import annotations

import datetime as dt
import json
import re

import feedparser
import pytest
from click.testing import CliRunner
from feedhelpers import ATOM, BASE, DC, MEDIA, XML_LANG, paper_md, run, standard_days, write_days, xml

from exporter.cli import main


@pytest.fixture
def three_days(tmp_path):
    return write_days(tmp_path / "in", standard_days(3))


def test_feedparser_reads_every_format_without_bozo(three_days, tmp_path):
    out = tmp_path / "out"
    report = run(three_days, out)
    assert report.entries == 9
    for name in ("feed.atom", "feed.rss"):
        parsed = feedparser.parse(str(out / name))
        assert not parsed.bozo, (name, parsed.get("bozo_exception"))
        assert len(parsed.entries) == 9
        first = parsed.entries[0]
        # newest day first, then rank
        assert first.id == "https://arxiv.org/abs/2403.10200"
        assert [e.id for e in parsed.entries[:3]] == [
            "https://arxiv.org/abs/2403.10200", "https://arxiv.org/abs/2403.10201",
            "https://arxiv.org/abs/2403.10202"]
        assert first.link == "https://arxiv.org/abs/2403.10200"
        assert first.published_parsed[:6] == (2024, 3, 6, 12, 0, 0)
        assert parsed.entries[1].published_parsed[:6] == (2024, 3, 6, 11, 59, 59)
        assert first.title == "Paper 2-0: Sparse M² Routing"
    atom = feedparser.parse(str(out / "feed.atom"))
    links = {(link.rel, link.type): link.href for link in atom.entries[0].links}
    assert links == {
        ("alternate", "text/html"): "https://arxiv.org/abs/2403.10200",
        ("related", "application/pdf"): "https://arxiv.org/pdf/2403.10200",
        ("related", "text/html"): "https://huggingface.co/papers/2403.10200",
    }
    assert [a.name for a in atom.entries[0].authors] == ["Ann Example", "Bo Sample"]
    assert atom.feed.updated_parsed[:6] == (2024, 3, 6, 12, 0, 0)
    rss = feedparser.parse(str(out / "feed.rss"))
    assert rss.entries[0].guidislink or rss.entries[0].id.startswith("https://arxiv.org/abs/")


def test_entry_fields_in_atom_xml(three_days, tmp_path):
    out = tmp_path / "out"
    run(three_days, out)
    root = xml(out / "feed.atom")
    assert root.get(XML_LANG) == "ko"
    assert [link.get("rel") for link in root.findall(f"{ATOM}link")] == ["self", "alternate"]
    assert root.find(f"{ATOM}link").get("href") == BASE + "feed.atom"
    assert root.find(f"{ATOM}icon").text == BASE + "icon.png"
    assert (out / "icon.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert root.find(f"{ATOM}author/{ATOM}name").text == "Daily Papers"
    assert root.find(f"{ATOM}generator").text == "digest-export"
    entries = root.findall(f"{ATOM}entry")
    image, video = entries[0], entries[1]
    assert image.get(XML_LANG) == "ko"
    assert image.find(f"{MEDIA}thumbnail").get("url") == "https://cdn.example.org/thumbs/2403.10200.png"
    content = video.find(f"{MEDIA}content")
    assert (content.get("url"), content.get("type"), content.get("medium")) == (
        "https://cdn.example.org/video/2403.10201.mp4", "video/mp4", "video")
    assert image.findall(f"{ATOM}category") == []
    html = image.find(f"{ATOM}content").text
    assert '<img src="https://cdn.example.org/thumbs/2403.10200.png"' in html
    assert "<strong>모델</strong>" in html and "(&lt;0.5초)" in html
    assert "추천: 12" in html  # labels in the entry's language (Korean here)


def test_no_summary_labels_as_categories_and_language_detection(tmp_path):
    src = write_days(tmp_path / "in", {dt.date(2024, 5, 1): [
        paper_md("2405.00001", "English one", summary=(
            "***What's New***: A new method for sparse routing of tokens.",
            "**Technical Details**: It uses lanterns.")),
    ]})
    out = tmp_path / "out"
    run(src, out)
    entry = xml(out / "feed.atom").find(f"{ATOM}entry")
    assert entry.findall(f"{ATOM}category") == []
    assert xml(out / "feed.rss").find("channel/item/category") is None
    assert "tags" not in json.loads((out / "feed.json").read_text(encoding="utf-8"))["items"][0]
    assert entry.get(XML_LANG) == "en"
    assert xml(out / "feed.rss").find("channel/language").text == "en"


# The first bullet as Markdown, and the words a reader of the entry's content sees of it.
TEASERS = [
    ("AT&amp;T costs &lt;5 &nbsp;and *emph* `a&amp;b` [link](https://example.com/)",
     "AT&T costs <5 and emph a&amp;b link"),
    ("**굵게** 쓴 _모델_ &#x202e;설명 <https://example.org/x>", "굵게 쓴 모델 설명 https://example.org/x"),
    ("the $x^2$ loss, ~~old~~ \\*not emphasis\\*", "the x² loss, ~~old~~ *not emphasis*"),
    # Simple TeX as the feed's titles show it, never its letters run together ("10-3", "M2UGen").
    ("$10^{-3}$ loss, M$^{2}$UGen, X$_{2}$Y, Z$^{abc}$, U$^{2}$$_{3}$", "10⁻³ loss, M²UGen, X₂Y, Z^(abc), U²₃"),
]


@pytest.mark.parametrize("bullet,words", TEASERS)
def test_the_summary_and_description_are_the_words_not_the_markdown(tmp_path, bullet, words):
    """Atom's summary and RSS's description hold the first bullet as the content shows it: its
    character references decoded, its links and emphasis as their words (a feed reader shows
    them as given: ``AT&amp;T`` or ``[link](URL)`` would be shown so)."""
    src = write_days(tmp_path / "in", {dt.date(2024, 5, 1): [
        paper_md("2405.00001", "One", summary=(bullet, "Second."))]})
    out = tmp_path / "out"
    run(src, out, formats=("atom", "rss"))
    for name in ("feed.atom", "feed.rss"):
        parsed = feedparser.parse(str(out / name))
        assert not parsed.bozo
        import html as html_module

        # Both are HTML (Atom type="html", RSS description): a reader unescapes once to show it.
        assert html_module.unescape(parsed.entries[0].summary) == words, name


@pytest.mark.parametrize("unit", ["\U0001F469\u200d\U0001F469\u200d\U0001F467\u200d\U0001F466", "\U0001F1F0\U0001F1F7",
                                  "\U0001F44D\U0001F3FD", "\U0001F3F4\u200d\u2620\ufe0f"])
def test_a_long_summary_is_cut_between_grapheme_clusters(tmp_path, unit):
    """A family emoji keeps its joiners, a flag both its letters, a thumb its skin tone: the
    summary is cut where a character ends as the reader sees it (UAX #29)."""
    import html as html_module

    import regex

    src = write_days(tmp_path / "in", {dt.date(2024, 5, 1): [
        paper_md("2405.00001", "One", summary=(unit * 200, "Second."))]})
    out = tmp_path / "out"
    run(src, out, formats=("atom",))
    summary = html_module.unescape(feedparser.parse(str(out / "feed.atom")).entries[0].summary)
    assert summary.endswith("…") and len(summary) <= 280, summary
    assert regex.findall(r"\X", summary[:-1]) == [unit] * (len(summary[:-1]) // len(unit)), summary


def test_paper_on_several_days_is_one_entry_at_first_appearance(tmp_path):
    days = standard_days(2)
    days[dt.date(2024, 3, 6)] = [paper_md("2403.10001", "Paper 0-1 again, retitled"),
                                 paper_md("2403.19999", "New")]
    src = write_days(tmp_path / "in", days)
    out = tmp_path / "out"
    report = run(src, out)
    assert report.entries == 7
    parsed = feedparser.parse(str(out / "feed.atom"))
    ids = [e.id for e in parsed.entries]
    assert len(ids) == len(set(ids))
    again = next(e for e in parsed.entries if e.id == "https://arxiv.org/abs/2403.10001")
    assert again.published_parsed[:3] == (2024, 3, 4)
    assert again.title.startswith("Paper 0-1")


def test_ids_without_arxiv(tmp_path):
    src = write_days(tmp_path / "in", {dt.date(2024, 3, 4): [
        "### [Open review paper](https://openreview.net/forum?id=abc)\n\n- 요약\n",
        "### No link at all: Q&A <Tests>\n\n- 요약\n",
    ]})
    out = tmp_path / "out"
    run(src, out)
    parsed = feedparser.parse(str(out / "feed.atom"))
    assert not parsed.bozo
    assert parsed.entries[0].id == "https://openreview.net/forum?id=abc"
    assert parsed.entries[1].id.startswith("tag:digest-export,2024-03-04:paper/")
    assert parsed.entries[1].title == "No link at all: Q&A \u2039Tests>"
    # same id on a second run
    run(src, tmp_path / "again")
    assert feedparser.parse(str(tmp_path / "again" / "feed.atom")).entries[1].id == parsed.entries[1].id


def test_default_selection_is_seven_digest_days_from_the_newest(tmp_path):
    src = write_days(tmp_path / "in", standard_days(10, per_day=1))
    assert run(src, tmp_path / "a").entries == 7
    assert run(src, tmp_path / "b", days=2).entries == 2
    assert run(src, tmp_path / "c", limit=3).entries == 3
    assert run(src, tmp_path / "d", all=True).entries == 10
    data = json.loads((tmp_path / "a" / "feed.json").read_text())
    assert data["items"][-1]["id"] == "https://arxiv.org/abs/2403.10300"  # day 3 of 0..9


def test_two_runs_byte_identical_and_unchanged_files_not_rewritten(three_days, tmp_path):
    run(three_days, tmp_path / "a", archive=True, formats=("atom", "rss", "json"))
    run(three_days, tmp_path / "b", archive=True, formats=("atom", "rss", "json"))
    names = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert names
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    report = run(three_days, tmp_path / "a", archive=True)
    assert all(status.value == "unchanged" for _, status in report.files)


def _entries_by_id(path):
    from lxml import etree

    root = xml(path)
    tag = f"{ATOM}entry" if root.tag == f"{ATOM}feed" else "channel/item"
    key = f"{ATOM}id" if root.tag == f"{ATOM}feed" else "guid"
    return {e.find(key).text: etree.tostring(e) for e in root.findall(tag)}


def test_one_more_day_leaves_old_entries_unchanged(tmp_path):
    days = standard_days(4)
    src = write_days(tmp_path / "in", dict(list(days.items())[:3]))
    run(src, tmp_path / "a", all=True)
    write_days(src, dict(list(days.items())[3:]))
    run(src, tmp_path / "b", all=True)
    for name in ("feed.atom", "feed.rss"):
        before, after = _entries_by_id(tmp_path / "a" / name), _entries_by_id(tmp_path / "b" / name)
        assert len(after) == len(before) + 3
        for key, data in before.items():
            assert after[key] == data, (name, key)
    before = {i["id"]: i for i in json.loads((tmp_path / "a" / "feed.json").read_text())["items"]}
    after = {i["id"]: i for i in json.loads((tmp_path / "b" / "feed.json").read_text())["items"]}
    assert all(after[k] == v for k, v in before.items())


HOSTILE = """## Daily <script>alert(1)</script> Papers (2024-03-04)

### [<script>alert('t')</script> Evil\x0b Title <img src=x onerror=alert(1)>](javascript:alert(1))

![](javascript:alert(2))

Vote: 3

Authors: <b onmouseover=alert(3)>Mallory</b>, Eve\x1b

- <script>alert(4)</script> text <img src=x onerror=alert(5)> [click](javascript:alert(6)) <a href="javascript:alert(7)">x</a>
- [data](data:text/html;base64,PHNjcmlwdD4=) \u202eevil\u202c <iframe src="https://evil.example/"></iframe>
- <svg onload=alert(8)> ![img](https://evil.example/x.png" onerror="alert(9))

### [Video paper](https://arxiv.org/abs/2403.00002)

<video src="javascript:alert(10)"></video>

- ok
"""


def test_hostile_input_reaches_no_feed_as_markup(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "evil.md").write_text(HOSTILE, encoding="utf-8")
    out = tmp_path / "out"
    run(src, out, formats=("atom", "rss", "json"))
    for name in ("feed.atom", "feed.rss", "feed.json"):
        raw = (out / name).read_text(encoding="utf-8")
        assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e]", raw), name
        # "javascript:" may survive as visible text; never as a URL (below)
        assert not re.search(r'(href|src|url)="\s*(javascript|data):', raw, re.I), name
        parsed = feedparser.parse(str(out / name)) if name != "feed.json" else None
        if parsed is not None:
            assert not parsed.bozo
            assert len(parsed.entries) == 2
        # Decode the HTML payloads the way a reader does, then look for markup.
        if name == "feed.json":
            htmls = [i["content_html"] for i in json.loads(raw)["items"]]
            titles = [i["title"] for i in json.loads(raw)["items"]]
        else:
            root = xml(out / name)
            htmls = [e.text for e in root.iter(f"{ATOM}content", f"{ATOM}summary", "description",
                                               "{http://purl.org/rss/1.0/modules/content/}encoded")]
            titles = [e.text for e in root.iter(f"{ATOM}title", "title")]
        for html in htmls:
            assert not re.search(r"<\s*(script|iframe|svg|video|object|embed)", html, re.I), html
            assert not re.search(r"<[^>]*\son\w+\s*=", html, re.I), html
            for href in re.findall(r'(?:href|src)="([^"]*)"', html):
                assert href.startswith(("https://", "http://")), href
        # titles are plain text; what looks like a tag is defused (‹ for <)
        assert any("\u2039script>alert('t')\u2039/script> Evil Title" in t for t in titles), titles
        assert not any(re.search(r"<\s*/?[A-Za-z]", t) for t in titles), titles


def test_cli_feed_writes_default_formats_and_says_what_is_missing(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["feed", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["feed.atom", "feed.json", "feed.rss"]
    assert "no --base-url" in result.stderr
    assert "self link" in result.stderr
    result = runner.invoke(main, ["feed", "-o", str(tmp_path / "b"), "--format", "atom", "--base-url",
                                  BASE, "--quiet"])
    assert result.exit_code == 0
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["feed.atom", "icon.png"]
    assert result.stderr == ""


def test_cli_feed_usage_and_input_errors(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["feed", "-o", str(tmp_path), "--days", "2", "--all"])
    assert result.exit_code == 2 and "--days cannot be used together with --all" in result.output
    result = runner.invoke(main, ["feed", "-o", str(tmp_path), "--format", "rss", "--archive"])
    assert result.exit_code == 2 and "add --format atom" in result.output
    result = runner.invoke(main, ["feed", "-o", str(tmp_path), "--base-url", "ftp://x/"])
    assert result.exit_code == 2 and "absolute http(s) URL" in result.output
    bad = tmp_path / "bad.md"
    bad.write_text("## Daily Papers (2024-02-30)\n\n### [A](https://arxiv.org/abs/2402.00001)\n\n"
                   "## Daily Papers (2024-03-01)\n\n### [B](https://arxiv.org/abs/2403.00001)\n\n- x\n",
                   encoding="utf-8")
    out = tmp_path / "out"
    result = runner.invoke(main, ["feed", str(bad), "-o", str(out)])
    assert result.exit_code == 1 and not out.exists()
    assert "bad.md:1: error:" in result.stderr
    result = runner.invoke(main, ["feed", str(bad), "-o", str(out), "--keep-going"])
    assert result.exit_code == 1
    assert len(feedparser.parse(str(out / "feed.atom")).entries) == 1


def test_feed_help_has_example():
    result = CliRunner().invoke(main, ["feed", "--help"])
    assert result.exit_code == 0 and "Example:" in result.output and "--archive" in result.output


def test_subscription_feed_for_a_synthetic_year_is_under_1_mb(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    corpus = Path(__file__).resolve().parent.parent / "benchmarks" / "corpus.py"
    subprocess.run([sys.executable, str(corpus), str(tmp_path / "y"), "--days", "365"], check=True,
                   capture_output=True)
    report = run(tmp_path / "y", tmp_path / "out")
    assert 100 < report.entries < 400
    for name in ("feed.atom", "feed.rss", "feed.json"):
        assert (tmp_path / "out" / name).stat().st_size < 1_000_000, name
    assert not report.warnings


def test_oversized_feed_is_reported(three_days, tmp_path, monkeypatch):
    import exporter.feeds.writer as feeds

    monkeypatch.setattr(feeds, "MAX_FEED_BYTES", 2000)
    report = run(three_days, tmp_path / "out", all=True)
    assert any(str(w).startswith(str(tmp_path)) and "feed.atom: warning:" in str(w) and "--archive" in str(w)
               for w in report.warnings)


def test_rss_items_have_dc_creator_and_language(three_days, tmp_path):
    run(three_days, tmp_path)
    item = xml(tmp_path / "feed.rss").find("channel/item")
    assert [c.text for c in item.findall(f"{DC}creator")] == ["Ann Example, Bo Sample"]
    assert item.find(f"{DC}language").text == "ko"


@pytest.mark.parametrize("text, expected", [
    ("<script>x</script>", "\u2039script>x\u2039/script>"),
    ("<b onmouseover=1>M</b>", "\u2039b onmouseover=1>M\u2039/b>"),
    ("<!-- c -->", "\u2039!-- c -->"),
    ("a < b", "a < b"),
    ("with Q&A <Tests>", "with Q&A \u2039Tests>"),
    ("TinyGSM: achieving >80%", "TinyGSM: achieving >80%"),
    ("x<1 and <bold>", "x<1 and \u2039bold>"),
    ("<my-element x=1>", "\u2039my-element x=1>"),
    ("<?xml?><svg>", "\u2039?xml?>\u2039svg>"),
])
def test_plain_text_fields_defuse_every_tag_opening(text, expected):
    from exporter.feeds.entries import feed_text

    assert feed_text(text) == expected


def test_feed_readers_show_every_author_and_no_label_tags(three_days, tmp_path):
    """feedparser, as feed readers do: RSS's entry.author is the whole list (one dc:creator),
    Atom's entry.authors has each author (one <author> each), JSON Feed's authors each one;
    no entry has the summary's labels as tags."""
    out = tmp_path / "out"
    run(three_days, out)
    rss = feedparser.parse(str(out / "feed.rss")).entries[0]
    assert rss.author == "Ann Example, Bo Sample"
    atom = feedparser.parse(str(out / "feed.atom")).entries[0]
    assert [a["name"] for a in atom.authors] == ["Ann Example", "Bo Sample"]
    item = json.loads((out / "feed.json").read_text(encoding="utf-8"))["items"][0]
    assert [a["name"] for a in item["authors"]] == ["Ann Example", "Bo Sample"]
    for entry in (rss, atom):
        assert not entry.get("tags"), entry.get("tags")
