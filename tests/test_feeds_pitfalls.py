"""One test per feedgen 1.0.0 trap (docs/library-workarounds.md, feedgen N); each fails
without its workaround in exporter/feeds/writer.py or exporter/feeds/ext.py."""

from __future__ import annotations

import datetime as dt
import locale
import subprocess
import sys
import threading

import pytest
from feedhelpers import ATOM, BASE, MEDIA, run, standard_days, write_days, xml


@pytest.fixture
def out(tmp_path):
    src = write_days(tmp_path / "in", standard_days(2))
    folder = tmp_path / "out"
    run(src, folder, archive=True)
    return folder


def test_1_atom_entry_links_keep_rel_and_type(out):
    entry = xml(out / "feed.atom").find(f"{ATOM}entry")
    links = [(link.get("rel"), link.get("type"), link.get("href")) for link in entry.findall(f"{ATOM}link")]
    assert links == [
        ("alternate", "text/html", "https://arxiv.org/abs/2403.10100"),
        ("related", "application/pdf", "https://arxiv.org/pdf/2403.10100"),
        ("related", "text/html", "https://huggingface.co/papers/2403.10100"),
    ]


def test_3_entries_keep_digest_order(out):
    ids = [e.findtext(f"{ATOM}id") for e in xml(out / "feed.atom").findall(f"{ATOM}entry")]
    assert ids == [f"https://arxiv.org/abs/2403.{n}" for n in (10100, 10101, 10102, 10000, 10001, 10002)]
    items = [i.findtext("guid") for i in xml(out / "feed.rss").findall("channel/item")]
    assert items == ids


def test_4_rss_channel_link_is_the_alternate_not_self(out):
    channel = xml(out / "feed.rss").find("channel")
    assert channel.findtext("link") == BASE
    assert channel.find(f"{ATOM}link").get("href") == BASE + "feed.rss"
    assert channel.find(f"{ATOM}link").get("rel") == "self"


def test_5_and_6_dates_are_utc_and_come_from_the_data(out):
    root = xml(out / "feed.atom")
    assert root.findtext(f"{ATOM}updated") == "2024-03-05T12:00:00+00:00"
    entry = root.find(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}updated") == entry.findtext(f"{ATOM}published") == "2024-03-05T12:00:00+00:00"
    channel = xml(out / "feed.rss").find("channel")
    assert channel.findtext("lastBuildDate") == "Tue, 05 Mar 2024 12:00:00 +0000"
    assert channel.find("item").findtext("pubDate") == "Tue, 05 Mar 2024 12:00:00 +0000"
    week = xml(out / "archive" / "2024-W10.atom") if (out / "archive" / "2024-W10.atom").exists() else None
    assert week is None  # the newest week is open: not archived
    # no two entries share a date, so readers sorting by date keep the rank
    stamps = [e.findtext(f"{ATOM}updated") for e in root.findall(f"{ATOM}entry")]
    assert len(set(stamps)) == len(stamps)


def test_7_rss_authors_without_email_are_dc_creators(out):
    item = xml(out / "feed.rss").find("channel/item")
    assert item.find("author") is None
    assert [c.text for c in item.findall("{http://purl.org/dc/elements/1.1/}creator")] == [
        "Ann Example, Bo Sample"]


def test_8_content_type_html_and_plain_text_titles(out):
    entry = xml(out / "feed.atom").find(f"{ATOM}entry")
    assert entry.find(f"{ATOM}content").get("type") == "html"
    title = entry.find(f"{ATOM}title")
    assert title.get("type") is None and len(title) == 0
    assert title.text == "Paper 1-0: Sparse M² Routing"


def test_9_summary_does_not_replace_atom_content(out):
    entry = xml(out / "feed.atom").find(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}content").count("<li>") == 2
    assert entry.findtext(f"{ATOM}summary") == "첫 번째 요약 문장은 모델을 설명한다."
    item = xml(out / "feed.rss").find("channel/item")
    assert item.findtext("description") == "첫 번째 요약 문장은 모델을 설명한다."
    assert "<ul" in item.findtext("{http://purl.org/rss/1.0/modules/content/}encoded")


def test_10_media_elements_are_not_wrapped_in_a_group(out):
    for path in (out / "feed.atom", out / "feed.rss"):
        root = xml(path)
        assert not list(root.iter(f"{MEDIA}group"))
        parents = {el.getparent().tag for el in root.iter(f"{MEDIA}thumbnail", f"{MEDIA}content")}
        assert parents == ({f"{ATOM}entry"} if path.suffix == ".atom" else {"item"})


def test_11_feedext_imports_feedgen_in_a_working_order():
    # A fresh interpreter: feedgen.ext.media imported right after our
    # extension module must work (feedgen.util needs lxml.etree imported).
    # feedext, the module that loads feedgen.ext.*, loads feedgen.feed first.
    code = ("import sys, exporter.feeds.ext; assert 'feedgen.feed' in sys.modules, 'order'; "
            "import feedgen.ext.media, feedgen.util; feedgen.util.xml_elem('a')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_12_control_characters_in_the_title_option_do_not_break_the_write(tmp_path):
    src = write_days(tmp_path / "in", standard_days(1))
    run(src, tmp_path / "out", title="My\x0b feed\x1b\u202e", formats=("atom", "rss"))
    assert xml(tmp_path / "out" / "feed.atom").findtext(f"{ATOM}title") == "My feed"
    assert xml(tmp_path / "out" / "feed.rss").findtext("channel/title") == "My feed"


def test_13_rfc2822_dates_are_formatted_in_the_calling_thread(tmp_path, monkeypatch):
    # feedgen's formatRFC2822 switches the process-wide locale: it must never
    # run in a worker thread while another thread formats text.
    import feedgen.entry
    import feedgen.feed

    src = write_days(tmp_path / "in", standard_days(1))
    calls = []
    original = feedgen.entry.formatRFC2822

    def spy(date):
        calls.append(threading.current_thread() is threading.main_thread())
        return original(date)

    monkeypatch.setattr(feedgen.entry, "formatRFC2822", spy)
    monkeypatch.setattr(feedgen.feed, "formatRFC2822", spy)
    before = locale.setlocale(locale.LC_ALL)
    run(src, tmp_path / "out")
    assert calls and all(calls)
    assert locale.setlocale(locale.LC_ALL) == before


def test_entry_dates_never_depend_on_the_clock(tmp_path):
    src = write_days(tmp_path / "in", standard_days(1))
    run(src, tmp_path / "a", archive=True)
    today = dt.datetime.now(dt.timezone.utc)
    for path in (tmp_path / "a").rglob("feed.*"):
        text = path.read_text()
        assert today.strftime("%Y-%m-%d") not in text and today.strftime("%d %b %Y") not in text, path
