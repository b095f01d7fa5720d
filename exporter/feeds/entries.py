"""Digests -> feed entries: selection, identity, dates and language.

Shared by every feed format (Atom, RSS, JSON Feed, archives), so that an
entry has the same id, dates and content wherever it appears.

Rules (the README states them for users, "Feeds"):

* **One entry per paper**: a paper on several days is one entry, placed at
  its *first* appearance (earliest digest date), so a later digest that
  repeats a paper never moves or re-shows it.
* **Order**: newest digest day first, then the digest's rank.
* **Id**: the arXiv abstract URL without version, else the paper's URL,
  else a ``tag:`` URI (RFC 4151) from the digest date and the title.
* **Dates** (UTC): ``published`` = ``updated`` = digest date at 12:00:00Z
  minus the rank in seconds (rank 0 at 12:00:00, rank 1 at 11:59:59, ...).
  Noon UTC is the same calendar day from UTC-12 to UTC+11, and readers that
  sort by date keep the digest's rank order.  Nothing depends on the clock.
* **Language**: ``ko`` when Hangul makes up at least 15% of the letters of
  the summary (or the title, without summary), else ``en``.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import hashlib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple, TypeVar

from .. import language
from ..model import Digest, Paper, ThumbnailKind, drop_forbidden, visible_text
from ..render import feed_entry_html, safe_url, title_text

UTC = dt.timezone.utc
#: The authority of our tag: URIs (RFC 4151); fixed so ids never change.
TAG_AUTHORITY = "digest-export"
DEFAULT_DAYS = 7
#: Where the digests come from; the alternate link when there is no --base-url.
DEFAULT_HOME = "https://huggingface.co/papers"

_VIDEO_TYPES = {".mp4": "video/mp4", ".webm": "video/webm", ".mov": "video/quicktime",
                ".m4v": "video/mp4", ".ogv": "video/ogg"}


@dataclass(frozen=True, slots=True)
class Link:
    """A link of an entry or feed, with its relation and media type."""

    href: str
    rel: str = "alternate"
    type: str | None = None
    title: str | None = None
    length: int | None = None


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One paper as a feed entry; every format reads only this."""

    id: str
    title: str
    paper: Paper
    date: dt.date
    rank: int
    digest_title: str
    published: dt.datetime
    lang: str
    #: Author names as plain text for feeds (see :func:`feed_text`).
    authors: tuple[str, ...]
    links: tuple[Link, ...]
    categories: tuple[str, ...]
    image_url: str | None = None
    video: tuple[str, str] | None = None
    #: The HTML content, filled by :func:`with_content` for the entries
    #: that are written (rendering every entry of a long archive is wasted).
    content_html: str = ""

    @property
    def updated(self) -> dt.datetime:
        # Content changes do not move entries: readers would re-show them.
        return self.published

    @property
    def url(self) -> str | None:
        alt = [link.href for link in self.links if link.rel == "alternate"]
        return alt[0] if alt else None



def _media(paper: Paper) -> tuple[str | None, tuple[str, str] | None]:
    """(image URL, (video URL, mime type)) of a remote thumbnail."""
    t = paper.thumbnail
    if t is None or not t.is_remote:
        return None, None
    url = safe_url(t.url)
    if not url:
        return None, None
    if t.kind is ThumbnailKind.IMAGE:
        return url, None
    ext = re.search(r"\.[A-Za-z0-9]+$", url.split("?")[0])
    return None, (url, _VIDEO_TYPES.get(ext.group(0).lower() if ext else "", "video/mp4"))


def with_content(entries: list[FeedEntry]) -> list[FeedEntry]:
    """*entries* with their HTML content rendered (once, for every format)."""
    return [e if e.content_html else dataclasses.replace(e, content_html=str(feed_entry_html(e.paper, e.lang)))
            for e in entries]


# "<" where an HTML5 tokenizer leaves the data state for a tag (HTML section
# 13.2.5.6, tag open state): before an ASCII letter (any element name, custom
# elements, svg, math, names parsers rewrite such as image), "!" (comment,
# doctype, CDATA), "/" (end tag) or "?" (bogus comment).  "a < b" and "<1"
# stay as they are.
_TAG_START = re.compile(r"<(?=[A-Za-z!/?])")


def feed_text(text: str) -> str:
    """A plain-text field (title, author, category) for a feed.

    RSS titles have no type and many readers show them as HTML, so text
    that looks like a tag (``<script>`` in a title) is neither left to be
    interpreted nor flagged by validators ("title should not contain
    HTML"): every ``<`` that would open a tag, comment or declaration, known
    element or not (``<Tests>``, ``<my-el>``), becomes ``‹`` (U+2039).
    ``a < b``, ``x<1`` or ``>80%`` stay as they are.

    For the same reason a numeric character reference that names no
    character XML allows (``&#xD800;``, ``&#0;``, ``&#x1b;``) would be
    decoded by such readers into a lone surrogate or a control character
    (feedparser 6 raises UnicodeEncodeError on the JSON Feed title): its
    ``&`` becomes ``＆`` (U+FF06); so does that of a reference to a bidi
    override or isolate (``&#x202E;``), a noncharacter, or the line and paragraph
    separators (``&#x2028;``: they end a line in JavaScript and in some readers), or
    the white space controls (``&#xD;``, ``&#9;``: a one-line field holds none), and of
    a named reference to any of them (``&rlm;``, ``&lrm;``, ``&NewLine;``).
    """
    text = _TAG_START.sub("\u2039", text)
    if "&" in text:
        text = _BAD_CHARREF.sub(_defuse_charref, text)
    return text


# Every digit (a reader decodes "&#000000008238;" as U+202E), with or
# without the ";" (HTML parsers decode both); and a named reference (HTML's
# list, html.entities.html5: "&rlm;" is U+200F), with or without its ";".
_BAD_CHARREF = re.compile(r"&(#(?:[xX]([0-9A-Fa-f]+)|([0-9]+))|[A-Za-z][A-Za-z0-9]{0,31};?)")


def _defuse_charref(m: re.Match[str]) -> str:
    if m.group(2) is None and m.group(3) is None:
        # A named reference as an HTML parser decodes it (the longest name it knows, ";" or not).
        import html

        decoded = html.unescape(m.group(0))
        return m.group(0) if all(_allowed(ord(c)) for c in decoded) else "\uff06" + m.group(1)
    digits = (m.group(2) if m.group(2) is not None else m.group(3)).lstrip("0") or "0"
    cp = int(digits, 16 if m.group(2) is not None else 10) if len(digits) <= 8 else 0x110000
    return m.group(0) if _allowed(cp) else "\uff06" + m.group(1)


def _allowed(cp: int) -> bool:
    """Whether a reader that decodes a reference to *cp* gets what survives model.clean_text:
    no control, bidi control, noncharacter or character XML forbids, nor a line break, CR or
    TAB in a one-line field (a title, a name)."""
    return cp <= 0x10FFFF and (0x20 <= cp <= 0x7E or 0xA0 <= cp <= 0xD7FF or 0xE000 <= cp <= 0xFFFD
                               or 0x10000 <= cp) and bool(drop_forbidden(chr(cp))) and cp not in (0x2028, 0x2029)


_TAG_UNSAFE = re.compile(r"[^A-Za-z0-9/._-]+")


def tag_uri(date: dt.date | int, specific: str) -> str:
    """A ``tag:`` URI (RFC 4151) whose specific part holds only ``A-Za-z0-9/._-``.

    Percent-encoding a title would be valid, but ``%25`` (a ``%`` in the
    title) is rewritten by URI normalisers, and the W3C Feed Validator then
    warns that the id "is not in canonical form".  Text that does not fit is
    turned into a readable slug with a hash of the original, so two titles
    never share an id and the id of a title never changes.
    """
    day = date.isoformat() if isinstance(date, dt.date) else str(date)
    ascii_text = unicodedata.normalize("NFKD", specific).encode("ascii", "ignore").decode("ascii")
    slug = _TAG_UNSAFE.sub("-", ascii_text).strip("-")
    if slug != specific:
        digest = hashlib.sha1(specific.encode("utf-8")).hexdigest()[:10]
        slug = f"{slug[:80].rstrip('-')}-{digest}"
    return f"tag:{TAG_AUTHORITY},{day}:{slug}"


def entry_id(paper: Paper, date: dt.date) -> str:
    return (paper.abs_url or safe_url(paper.url)
            or tag_uri(date, "paper/" + paper.key.removeprefix("title:")))


def entry_time(date: dt.date, rank: int) -> dt.datetime:
    """Digest day at 12:00:00 UTC minus *rank* seconds (see module doc)."""
    return dt.datetime(date.year, date.month, date.day, 12, tzinfo=UTC) - dt.timedelta(seconds=rank)


def detect_language(paper: Paper) -> str:
    """``ko`` or ``en`` for one entry, from its first bullets (or its title)."""
    texts = [item.text for item in paper.summary[:3]] or [paper.title]
    return language.detect_language(texts, budget=600)


def paper_links(paper: Paper) -> tuple[Link, ...]:
    links = []
    main = paper.abs_url or safe_url(paper.url)
    if main:
        links.append(Link(main, "alternate", "text/html"))
    if paper.pdf_url:
        links.append(Link(paper.pdf_url, "related", "application/pdf", "PDF"))
    if paper.hf_url:
        links.append(Link(paper.hf_url, "related", "text/html", "Hugging Face"))
    return tuple(links)


class Appearance(NamedTuple):
    """A paper at its first appearance: what selection needs, cheap to make."""

    date: dt.date
    rank: int
    paper: Paper
    digest_title: str


def first_appearances(digests: tuple[Digest, ...] | list[Digest], *,
                      seen: frozenset[str] | set[str] = frozenset()) -> list[Appearance]:
    """Every distinct paper once, at its first appearance, newest day first."""
    seen = set(seen)
    per_day: list[list[Appearance]] = []
    for digest in sorted(digests, key=lambda d: d.date):
        day = []
        for rank, paper in enumerate(digest.papers):
            if paper.key in seen:
                continue
            seen.add(paper.key)
            day.append(Appearance(digest.date, rank, paper, digest.title))
        per_day.append(day)
    return [a for day in reversed(per_day) for a in day]


def make_entry(a: Appearance) -> FeedEntry:
    paper = a.paper
    image_url, video = _media(paper)
    return FeedEntry(
        id=entry_id(paper, a.date),
        title=feed_text(title_text(paper.title) or paper.title),
        authors=tuple(feed_text(x) for x in paper.authors),
        paper=paper,
        date=a.date,
        rank=a.rank,
        digest_title=a.digest_title,
        published=entry_time(a.date, a.rank),
        lang=detect_language(paper),
        links=paper_links(paper),
        # No categories: the summary's labels ("What's New", "Technical
        # Details") and the digest's title are not subjects, and feed
        # readers show categories as the entry's tags.
        categories=(),
        image_url=image_url,
        video=video,
    )


def build_entries(digests: tuple[Digest, ...] | list[Digest], *,
                  seen: frozenset[str] | set[str] = frozenset(),
                  select: Callable[[list[Appearance]], list[Appearance]] | None = None,
                  keep: Callable[[dt.date, str], bool] | None = None) -> list[FeedEntry]:
    """Every distinct paper once, at its first appearance, newest day first.

    *seen* holds the keys of papers of older digests that are not given
    (``digest-export build`` reads only the days of the feed window): those
    papers already had their entry.  *select* picks the appearances to turn
    into entries (e.g. :func:`select_entries`), so a year of digests costs
    only the entries of the feed window.  *keep* (date, paper key) keeps a
    paper's first appearance or drops it (a selection's feed): the entries
    kept are those of the whole feed, with the same ids, ranks and dates.
    """
    appearances = first_appearances(digests, seen=seen)
    if keep is not None:
        appearances = [a for a in appearances if keep(a.date, a.paper.key)]
    if select is not None:
        appearances = select(appearances)
    return [make_entry(a) for a in appearances]


E = TypeVar("E", "FeedEntry", Appearance)


def select_entries(entries: list[E], *, days: int | None = None, limit: int | None = None,
                   everything: bool = False) -> list[E]:
    """The subscription window: the newest *days* digest days (default 7,
    counted back from the newest digest, not from today), or the newest
    *limit* entries, or everything."""
    if everything:
        return list(entries)
    if limit is not None:
        return list(entries[:limit])
    n = DEFAULT_DAYS if days is None else days
    dates = sorted({e.date for e in entries}, reverse=True)[:n]
    keep = set(dates)
    return [e for e in entries if e.date in keep]


def feed_language(entries: list[FeedEntry]) -> str:
    counts = collections.Counter(e.lang for e in entries)
    if not counts:
        return "en"
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]


@dataclass(frozen=True, slots=True)
class FeedInfo:
    """Feed-level metadata shared by every format."""

    title: str
    subtitle: str
    id: str
    language: str
    updated: dt.datetime
    author: str
    home_url: str
    base_url: str | None
    icon_url: str | None = None

    def url_of(self, name: str) -> str | None:
        return self.base_url + name if self.base_url else None


def feed_name(digests, title: str | None) -> str:
    """The title of the whole archive as text: *title* (``--title``, the config's), else the newest
    day's heading, else "Daily Papers"; a feed's (:func:`feed_text`) or a page's (escaped) from it."""
    newest_title = next((d.title for d in sorted(digests, key=lambda d: d.date, reverse=True) if d.title), "")
    return visible_text(title) or newest_title or "Daily Papers"


def feed_info(entries: list[FeedEntry], digests, *, title: str | None, base_url: str | None,
              icon_url: str | None = None) -> FeedInfo:
    name = feed_text(feed_name(digests, title))
    if entries:
        span = f"{min(e.date for e in entries).isoformat()} to {max(e.date for e in entries).isoformat()}"
        subtitle = f"Research paper summaries, one entry per paper ({span})"
        updated = max(e.updated for e in entries)
    else:
        subtitle = "Research paper summaries, one entry per paper"
        newest = max((d.date for d in digests), default=dt.date(2000, 1, 1))
        updated = entry_time(newest, 0)
    return FeedInfo(
        title=name,
        subtitle=subtitle,
        id=tag_uri(2024, "feed/" + name.casefold()),
        language=feed_language(entries),
        updated=updated,
        author=name,
        home_url=base_url or DEFAULT_HOME,
        base_url=base_url,
        icon_url=icon_url,
    )


# Plain-text elements of Atom (RFC 4287 section 3.1, type "text" by default),
# RSS and the OPDS catalog.  Elements of type "html" (content, summary, RSS
# description) are left as lxml wrote them.
_TEXT_ELEMENT = re.compile(
    rb"(<(title|subtitle|name|dc:creator|category|rights|content type=\"text\")>)([^<]*)(</)")


def hex_refs_in_text(xml: bytes) -> bytes:
    """Write ``&`` and ``<`` in plain-text elements as ``&#x26;`` and ``&#x3C;``.

    The same text to any XML parser, but RSS titles have no type and many
    readers show them as HTML, so the RSS Advisory Board's profile asks for
    hexadecimal references there ("Encode & and < in plain text using
    hexadecimal character references", W3C Feed Validator); with them, the
    validator also no longer takes the text ``&lt;b&gt;`` in an Atom title
    or author name for escaped HTML.
    """
    def fix(m: re.Match[bytes]) -> bytes:
        text = m.group(3)
        if b"&" not in text:
            return m.group(0)
        text = text.replace(b"&amp;", b"&#x26;").replace(b"&lt;", b"&#x3C;").replace(b"&gt;", b"&#x3E;")
        return m.group(1) + text + m.group(4)

    return _TEXT_ELEMENT.sub(fix, xml)
