"""Feed entries -> JSON Feed 1.1 (https://jsonfeed.org/version/1.1).

Built by hand (feedgen has no JSON Feed).  Field rules followed: ``version``
and ``title`` at the top; every item has a unique string ``id`` and one of
``content_html``/``content_text``; dates are RFC 3339; ``authors`` are
objects with a ``name``; URLs are absolute.  ``_digest_export`` holds what
the standard has no field for (rank, votes, arXiv id), as section
"Extensions" allows (keys starting with an underscore).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from .entries import FeedEntry, FeedInfo
from ..render import feed_entry_html

VERSION = "https://jsonfeed.org/version/1.1"


def _date(value) -> str:
    return value.isoformat().replace("+00:00", "Z")


def item(entry: FeedEntry) -> dict:
    paper = entry.paper
    out: dict = {"id": entry.id}
    if entry.url:
        out["url"] = entry.url
    out["title"] = entry.title
    out["content_html"] = entry.content_html or str(feed_entry_html(paper, entry.lang))
    if entry.image_url:
        out["image"] = entry.image_url
    out["date_published"] = _date(entry.published)
    out["date_modified"] = _date(entry.updated)
    if entry.authors:
        out["authors"] = [{"name": a} for a in entry.authors]
    if entry.categories:
        out["tags"] = list(entry.categories)
    out["language"] = entry.lang
    attachments = []
    if paper.pdf_url:
        attachments.append({"url": paper.pdf_url, "mime_type": "application/pdf", "title": "PDF"})
    if entry.video:
        url, mime = entry.video
        attachments.append({"url": url, "mime_type": mime, "title": "Video"})
    if attachments:
        out["attachments"] = attachments
    ext = {"date": entry.date.isoformat(), "rank": entry.rank + 1}
    if paper.arxiv_id:
        ext["arxiv_id"] = paper.arxiv_id
    if paper.votes is not None:
        ext["votes"] = paper.votes
    out["_digest_export"] = ext
    return out


def json_feed(info: FeedInfo, entries: Sequence[FeedEntry], *, feed_url: str | None = None) -> bytes:
    """The JSON Feed document, UTF-8, keys in a fixed order (stable bytes)."""
    doc: dict = {"version": VERSION, "title": info.title, "home_page_url": info.home_url}
    if feed_url:
        doc["feed_url"] = feed_url
    doc["description"] = info.subtitle
    if info.icon_url:
        doc["icon"] = info.icon_url
        doc["favicon"] = info.icon_url
    doc["authors"] = [{"name": info.author}]
    doc["language"] = info.language
    # A JSON Feed 1.1 extension object ("_" + name): the program's mark, by
    # which a later run knows the file as its own (exporter/output.py).
    doc["_digest_export"] = {"program": "digest-export"}
    # One item per line: readable and diffable, and json's C encoder (only
    # used without indent) is five times faster on a year of entries.
    head = json.dumps(doc, ensure_ascii=False, indent=1)[:-2]
    items = ",\n".join(json.dumps(item(e), ensure_ascii=False, separators=(",", ":")) for e in entries)
    return f'{head},\n "items": [\n{items}\n ]\n}}\n'.encode("utf-8")
