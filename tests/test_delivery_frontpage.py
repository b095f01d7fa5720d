"""index.html: what it shows, escaping, language, autodiscovery links, the
template override, and that build rewrites it only when what it shows changed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner

from exporter.cli import main
from exporter.gates.xhtml import page_problems
from test_build import digest, mtimes
from test_delivery_send import MONDAY, add_days

KOREAN = "- ***새로운 점***: 이 논문은 언어 모델의 추론 능력을 크게 향상시키는 새로운 방법을 제안합니다."


def run_build(logs: Path, out: Path, *extra: str):
    r = CliRunner().invoke(main, ["build", str(logs), "-o", str(out), "--images", "none", *extra])
    assert r.exit_code == 0, r.output
    return r


def page(out: Path) -> str:
    return (out / "index.html").read_text(encoding="utf-8")


def test_books_newest_first_with_covers_feeds_and_newest_day(tmp_path):
    logs, out = tmp_path / "logs", tmp_path / "out"
    add_days(logs, 0, 7, 8)
    run_build(logs, out)
    html = page(out)
    assert html.startswith("<!DOCTYPE html>\n<html lang=\"en\">")
    assert html.index("build-digest-2024-W11.epub") < html.index("build-digest-2024-W10.epub")
    assert '<img src="build-digest-2024-W11.cover.jpg" alt="Cover of Build Digest 2024-W11 ' in html
    assert "2 days · 4 papers" in html
    for link in ('<link rel="alternate" type="application/atom+xml" href="feed.atom"',
                 '<link rel="alternate" type="application/rss+xml" href="feed.rss"',
                 '<link rel="alternate" type="application/feed+json" href="feed.json"',
                 '<link rel="alternate" type="application/atom+xml;profile=opds-catalog;kind=acquisition" '
                 'href="catalog.opds"'):
        assert link in html
    assert "Newest papers: 2024-03-12 (Tuesday)" in html
    assert '<a href="https://arxiv.org/abs/2403.12001">Paper 2024-03-12 number 1</a>' in html
    assert "<script" not in html
    assert page_problems(html) == []  # what a user's template extends passes the HTML gate


def test_absolute_links_with_base_url_and_no_catalog_or_covers_without_opds(tmp_path):
    logs, out = tmp_path / "logs", tmp_path / "out"
    add_days(logs, 0)
    run_build(logs, out, "--base-url", "https://example.org/papers", "--format", "atom", "--format", "json")
    html = page(out)
    assert 'type="application/atom+xml" href="https://example.org/papers/feed.atom"' in html
    assert 'href="https://example.org/papers/feed.json"' in html
    assert "catalog.opds" not in html and "feed.rss" not in html and "<img" not in html
    assert '<a href="build-digest-2024-W10.epub" type="application/epub+zip">' in html


def test_untrusted_text_is_escaped_and_bad_links_dropped(tmp_path):
    logs, out = tmp_path / "logs", tmp_path / "out"
    logs.mkdir()
    (logs / "d.md").write_text(
        "## <b>Evil</b> & Co (2024-03-04)\n\n"
        "### [<script>alert(1)</script> M$^{2}$UGen](javascript:alert(1))\n\n- text\n\n"
        "### [\"quoted\" & <img src=x onerror=alert(1)>](https://arxiv.org/abs/2403.00001)\n\n- text\n",
        encoding="utf-8")
    run_build(logs, out, "--keep-going")
    html = page(out)
    assert "<script" not in html and "javascript:" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; M<sup>2</sup>UGen" in html
    assert "&lt;b&gt;Evil&lt;/b&gt; &amp; Co" in html
    # The page's own title and heading as its books' are: escaped, not the feeds' '‹' for '<'.
    assert "\u2039" not in html, html
    assert "<title>&lt;b&gt;Evil&lt;/b&gt; &amp; Co</title>" in html and "<h1>&lt;b&gt;Evil&lt;/b&gt; &amp; Co</h1>" in html
    assert "<title>\u2039b&#x3E;Evil\u2039/b&#x3E; &#x26; Co</title>" in (out / "feed.atom").read_text("utf-8")  # the feed's


def test_korean_books_get_a_korean_page(tmp_path):
    logs, out = tmp_path / "logs", tmp_path / "out"
    logs.mkdir()
    text = digest(MONDAY, 2).replace("- plain words about **results** and more", KOREAN)
    (logs / "k.md").write_text(text, encoding="utf-8")
    run_build(logs, out)
    html = page(out)
    assert '<html lang="ko">' in html
    assert "EPUB 내려받기" in html and "최신 논문: 2024-03-04 (월요일)" in html and "논문 2편" in html
    assert page_problems(html) == []


def test_unchanged_build_leaves_it_alone_and_a_new_day_rewrites_it(tmp_path):
    logs, out = tmp_path / "logs", tmp_path / "out"
    add_days(logs, 0, 1)
    run_build(logs, out)
    before = mtimes(out)["index.html"]
    r = run_build(logs, out, "-v")
    assert mtimes(out)["index.html"] == before
    assert "skipped " + str(out / "index.html") + ": what it shows is unchanged" in r.stderr
    assert "input files: 0 of 2 read" in r.stdout

    add_days(logs, 2)
    r = run_build(logs, out, "-v")
    assert mtimes(out)["index.html"] != before
    assert "Newest papers: 2024-03-06 (Wednesday)" in page(out)


def test_an_old_day_edited_reads_the_newest_day_for_the_page(tmp_path, monkeypatch):
    """Only week 10 is rebuilt and no feed needs the newest day (catalog
    only): the page reads that day itself and still lists its papers."""
    from exporter.site import frontpage

    logs, out = tmp_path / "logs", tmp_path / "out"
    add_days(logs, 0, 7)
    run_build(logs, out, "--format", "opds")
    (logs / "2024-03-04.md").write_text(digest(MONDAY, 3), encoding="utf-8")
    read = []
    real = frontpage._read_day
    monkeypatch.setattr(frontpage, "_read_day", lambda plan, iso: read.append(iso) or real(plan, iso))
    run_build(logs, out, "--format", "opds")
    assert read == ["2024-03-11"]
    html = page(out)
    assert "Paper 2024-03-11 number 1" in html and "1 day · 3 papers" in html


def test_the_template_can_be_overridden(tmp_path):
    logs, out, templates = tmp_path / "logs", tmp_path / "out", tmp_path / "templates"
    add_days(logs, 0)
    templates.mkdir()
    (templates / "index.html.j2").write_text(
        '{% extends "default:index.html.j2" %}{% block newest %}<p>My own note</p>{% endblock %}',
        encoding="utf-8")
    run_build(logs, out, "--templates", str(templates))
    html = page(out)
    assert "<p>My own note</p>" in html and "Newest papers" not in html
    assert (MONDAY + dt.timedelta(days=0)).isoformat() in html


#: Blocks of a user's page template whose markup a browser has to repair, or that break the page:
#: (what the template writes, what the message says).
BROKEN_PAGES = {
    "stray end tag": ("<div><p>note</span></div>", "Unexpected end tag (span)"),
    "end tag of nothing open": ("<p>note</p></div>", "End tag (div) seen too early"),
    "unclosed at the end": ("<!DOCTYPE html><html lang=en><head><title>t</title></head><body><main><div><p>x",
                            "Unexpected end of file"),
    "no doctype": ("<html lang=en><head><title>t</title></head><body><main><p>x</main></body></html>",
                   "Expected DOCTYPE"),
    "attribute twice": ('<p class="a" class="b">note</p>', "duplicate attribute"),
    "id twice": ('<p id="books">note</p>', "the id 'books' is used twice"),
    "unknown element": ("<blink>note</blink>", "<blink> is not an HTML element"),
    "link to no id": ('<p><a href="#nowhere">note</a></p>', "href '#nowhere' names no id of this page"),
}


@pytest.mark.parametrize("case", sorted(BROKEN_PAGES))
def test_a_template_that_makes_broken_html_is_an_error_naming_it(tmp_path, case):
    """index.html is HTML served as text/html: a user's template goes through the HTML gate
    (the HTML parsing algorithm's errors, ids, fragment links, element names), as the books'
    templates go through the XHTML gate; the page is not written."""
    block, says = BROKEN_PAGES[case]
    logs, out, templates = tmp_path / "logs", tmp_path / "out", tmp_path / "templates"
    add_days(logs, 0)
    templates.mkdir()
    whole = block.startswith(("<!DOCTYPE", "<html"))  # a page of its own, else a block of the default one
    (templates / "index.html.j2").write_text(
        block if whole else '{% extends "default:index.html.j2" %}{% block newest %}' + block + "{% endblock %}",
        encoding="utf-8")
    r = CliRunner().invoke(main, ["build", str(logs), "-o", str(out), "--images", "none", "--templates", str(templates)])
    assert r.exit_code == 1, r.output
    assert f"{templates / 'index.html.j2'}: error: the template made index.html, in which " in r.output
    assert says in r.output, r.output
    assert "Traceback" not in r.output
    assert not (out / "index.html").exists()


def test_html_that_is_not_xml_is_a_valid_page(tmp_path):
    """The page is not XHTML: what the HTML syntax allows (an implied end tag, a void element
    without a slash, an unquoted attribute, a custom element, "#top") passes the gate."""
    logs, out, templates = tmp_path / "logs", tmp_path / "out", tmp_path / "templates"
    add_days(logs, 0)
    templates.mkdir()
    (templates / "index.html.j2").write_text(
        '{% extends "default:index.html.j2" %}{% block newest %}<p class=note>one<br>two<div>three</div>'
        '<ul><li>a<li>b</ul><my-note>four</my-note><a href="#top">top</a>{% endblock %}', encoding="utf-8")
    run_build(logs, out, "--templates", str(templates))
    assert "<p class=note>one<br>two<div>three</div>" in page(out)
