"""index.html: what it shows, escaping, language, autodiscovery links, the
template override, and that build rewrites it only when what it shows changed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from click.testing import CliRunner

from exporter.cli import main
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


def test_korean_books_get_a_korean_page(tmp_path):
    logs, out = tmp_path / "logs", tmp_path / "out"
    logs.mkdir()
    text = digest(MONDAY, 2).replace("- plain words about **results** and more", KOREAN)
    (logs / "k.md").write_text(text, encoding="utf-8")
    run_build(logs, out)
    html = page(out)
    assert '<html lang="ko">' in html
    assert "EPUB 내려받기" in html and "최신 논문: 2024-03-04 (월요일)" in html and "논문 2편" in html


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
