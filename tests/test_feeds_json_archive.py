"""JSON Feed 1.1 field rules, and RFC 5005 archives."""

from __future__ import annotations

import datetime as dt
import json
import re

import feedparser
from feedhelpers import ATOM, BASE, paper_md, run, standard_days, write_days, xml

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
TOP_KEYS = {"version", "title", "home_page_url", "feed_url", "description", "user_comment", "next_url",
            "icon", "favicon", "authors", "language", "expired", "hubs", "items"}
ITEM_KEYS = {"id", "url", "external_url", "title", "content_html", "content_text", "summary", "image",
             "banner_image", "date_published", "date_modified", "authors", "tags", "language",
             "attachments"}


def _is_url(value) -> bool:
    return isinstance(value, str) and re.match(r"^https?://[^\s/]+", value) is not None


def check_json_feed(doc: dict) -> list[str]:
    """The rules of https://jsonfeed.org/version/1.1, as a list of problems."""
    problems = []
    if doc.get("version") != "https://jsonfeed.org/version/1.1":
        problems.append("version")
    if not isinstance(doc.get("title"), str) or not doc["title"]:
        problems.append("title")
    problems += [f"unknown key {k}" for k in doc if k not in TOP_KEYS and not k.startswith("_")]
    for key in ("home_page_url", "feed_url", "icon", "favicon"):
        if key in doc and not _is_url(doc[key]):
            problems.append(key)
    for author in doc.get("authors", []):
        if not isinstance(author, dict) or not ({"name", "url", "avatar"} & author.keys()):
            problems.append("feed author")
    items = doc.get("items")
    if not isinstance(items, list):
        return problems + ["items"]
    ids = [i.get("id") for i in items]
    if len(set(ids)) != len(ids):
        problems.append("duplicate ids")
    for item in items:
        where = f"item {item.get('id')}"
        if not isinstance(item.get("id"), str) or not item["id"]:
            problems.append(f"{where}: id")
        if not ("content_html" in item or "content_text" in item):
            problems.append(f"{where}: content")
        problems += [f"{where}: unknown key {k}" for k in item if k not in ITEM_KEYS and not k.startswith("_")]
        for key in ("url", "external_url", "image", "banner_image"):
            if key in item and not _is_url(item[key]):
                problems.append(f"{where}: {key}")
        for key in ("date_published", "date_modified"):
            if key in item and not RFC3339.match(item[key]):
                problems.append(f"{where}: {key}")
        if "tags" in item and not all(isinstance(t, str) for t in item["tags"]):
            problems.append(f"{where}: tags")
        for author in item.get("authors", []):
            if not isinstance(author, dict) or not isinstance(author.get("name"), str):
                problems.append(f"{where}: author")
        for att in item.get("attachments", []):
            if not _is_url(att.get("url")) or not isinstance(att.get("mime_type"), str):
                problems.append(f"{where}: attachment")
    return problems


def test_json_feed_follows_the_1_1_rules(tmp_path):
    src = write_days(tmp_path / "in", standard_days(3))
    run(src, tmp_path / "out")
    doc = json.loads((tmp_path / "out" / "feed.json").read_text(encoding="utf-8"))
    assert check_json_feed(doc) == []
    assert doc["feed_url"] == BASE + "feed.json"
    assert doc["icon"] == BASE + "icon.png"
    assert len(doc["items"]) == 9
    first, video = doc["items"][0], doc["items"][1]
    assert first["id"] == "https://arxiv.org/abs/2403.10200"
    assert first["date_published"] == "2024-03-06T12:00:00Z"
    assert first["authors"] == [{"name": "Ann Example"}, {"name": "Bo Sample"}]
    assert first["image"] == "https://cdn.example.org/thumbs/2403.10200.png"
    assert first["language"] == "ko"
    assert {"url": "https://arxiv.org/pdf/2403.10200", "mime_type": "application/pdf",
            "title": "PDF"} in first["attachments"]
    assert any(a["mime_type"] == "video/mp4" for a in video["attachments"])
    assert first["_digest_export"] == {"date": "2024-03-06", "rank": 1, "arxiv_id": "2403.10200", "votes": 12}


def test_json_feed_checker_catches_problems():
    bad = {"version": "1", "title": "", "items": [{"id": 3, "url": "/rel", "date_published": "2024-03-04"}]}
    problems = check_json_feed(bad)
    assert {"version", "title"} <= set(problems)
    assert any("content" in p for p in problems) and any("date_published" in p for p in problems)


def _two_weeks_and_a_bit(tmp_path):
    days = standard_days(18, start=dt.date(2024, 2, 26), per_day=2)  # W09, W10, W11 (Mon-Thu)
    return write_days(tmp_path / "in", days)


def test_archives_one_document_per_closed_iso_week(tmp_path):
    src = _two_weeks_and_a_bit(tmp_path)
    out = tmp_path / "out"
    report = run(src, out, archive=True, days=2)
    assert sorted(p.name for p in (out / "archive").iterdir()) == ["2024-W09.atom", "2024-W10.atom"]
    assert report.archives == 2
    w09, w10 = xml(out / "archive" / "2024-W09.atom"), xml(out / "archive" / "2024-W10.atom")
    fh = "{http://purl.org/syndication/history/1.0}archive"
    assert w09.find(fh) is not None and w10.find(fh) is not None

    def links(root):
        return {link.get("rel"): link.get("href") for link in root.findall(f"{ATOM}link")}

    assert links(w09) == {"self": BASE + "archive/2024-W09.atom", "current": BASE + "feed.atom",
                          "next-archive": BASE + "archive/2024-W10.atom", "alternate": BASE}
    assert links(w10)["prev-archive"] == BASE + "archive/2024-W09.atom"
    assert "next-archive" not in links(w10)
    current = xml(out / "feed.atom")
    assert links(current)["prev-archive"] == BASE + "archive/2024-W10.atom"
    assert current.find(fh) is None
    # the current feed keeps the whole open week (Mon-Thu of W11), even with --days 2
    assert len(current.findall(f"{ATOM}entry")) == 8
    ids = {e.findtext(f"{ATOM}id") for root in (w09, w10, current) for e in root.findall(f"{ATOM}entry")}
    assert len(ids) == 36
    assert len(w09.findall(f"{ATOM}entry")) == 14
    parsed = feedparser.parse(str(out / "archive" / "2024-W09.atom"))
    assert not parsed.bozo and parsed.feed.updated_parsed[:3] == (2024, 3, 3)


def test_archives_do_not_change_when_days_are_added(tmp_path):
    src = _two_weeks_and_a_bit(tmp_path)
    run(src, tmp_path / "a", archive=True)
    # one more day in the open week: no archive changes
    write_days(src, {dt.date(2024, 3, 15): [paper_md("2403.19000", "Friday paper")]})
    run(src, tmp_path / "b", archive=True)
    for name in ("2024-W09.atom", "2024-W10.atom"):
        assert (tmp_path / "a" / "archive" / name).read_bytes() == (tmp_path / "b" / "archive" / name).read_bytes()
    # a day of a new week closes W11; W10 only gains its next-archive link
    write_days(src, {dt.date(2024, 3, 18): [paper_md("2403.19001", "Monday paper")]})
    report = run(src, tmp_path / "c", archive=True)
    assert report.archives == 3
    a, c = tmp_path / "a" / "archive", tmp_path / "c" / "archive"
    assert (a / "2024-W09.atom").read_bytes() == (c / "2024-W09.atom").read_bytes()
    before = (a / "2024-W10.atom").read_text().splitlines()
    after = (c / "2024-W10.atom").read_text().splitlines()
    assert [line for line in after if line not in before] == [
        f'  <link href="{BASE}archive/2024-W11.atom" rel="next-archive" type="application/atom+xml"/>']
    assert len(after) == len(before) + 1


def test_archives_without_base_url_link_relatively(tmp_path):
    src = _two_weeks_and_a_bit(tmp_path)
    out = tmp_path / "out"
    report = run(src, out, archive=True, base_url=None)
    w10 = xml(out / "archive" / "2024-W10.atom")
    hrefs = {link.get("rel"): link.get("href") for link in w10.findall(f"{ATOM}link")}
    assert hrefs["current"] == "../feed.atom" and hrefs["prev-archive"] == "2024-W09.atom"
    assert "self" not in hrefs
    assert report.missing and "--base-url" in report.missing[0].message
