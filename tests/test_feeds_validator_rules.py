"""Rules of the W3C Feed Validator that hostile text would otherwise break.

The validator itself cannot be shipped here; these tests pin what made its
warnings go away on hostile input (see exporter.feeds.entries and model).
"""

import datetime as dt
import re

import feedparser
from lxml import etree

from exporter.feeds.entries import hex_refs_in_text, tag_uri
from exporter.feeds.writer import FeedOptions
from exporter.pipeline import write_feeds
from exporter.model import clean_text
from exporter.reader.parse import read_digests
from exporter.render import inline_html

DIGEST = """## Daily Papers (2024-03-04)

### [Q&A <Tests> with &lt;b&gt; and 50% of [x]](https://arxiv.org/abs/2403.00001)

Vote: 3

Authors: &lt;script&gt;, Ann & Bo

- text &#xFDD0; with &#x85; references &#0; gone

### [A title 100% without a link]

- text
"""


def build(tmp_path):
    src = tmp_path / "in.md"
    src.write_text(DIGEST, encoding="utf-8")
    out = tmp_path / "out"
    write_feeds(read_digests([src]), FeedOptions(out_dir=out, base_url="https://example.org/p/"))
    return out


def test_plain_text_elements_use_hexadecimal_references(tmp_path):
    out = build(tmp_path)
    rss = (out / "feed.rss").read_bytes()
    atom = (out / "feed.atom").read_bytes()
    # RSS Advisory Board profile: "&" and "<" in plain text as &#x26; / &#x3C;.
    assert b"<title>Q&#x26;A \xe2\x80\xb9Tests&#x3E; with &#x26;lt;b&#x26;gt; and 50% of [x]</title>" in rss
    assert b"<dc:creator>&#x26;lt;script&#x26;gt;, Ann &#x26; Bo</dc:creator>" in rss
    assert b"<name>Ann &#x26; Bo</name>" in atom
    # HTML content keeps the usual escaping (it is HTML, not text).
    assert re.search(rb"<content type=\"html\">&lt;p&gt;", atom)
    # The same text for any XML parser and feed reader.
    for name in ("feed.rss", "feed.atom"):
        parsed = feedparser.parse(str(out / name))
        assert not parsed.bozo
        title = parsed.entries[0].title
        if name == "feed.rss":
            # With no "<" left, feedparser takes an RSS title holding "&lt;"
            # for escaped HTML and escapes its "&" (RSS titles have no type).
            title = title.replace("&amp;", "&")
        assert title == "Q&A \u2039Tests> with &lt;b&gt; and 50% of [x]"
    titles = [t.text for t in etree.parse(str(out / "feed.atom")).iter("{http://www.w3.org/2005/Atom}title")]
    assert "Q&A \u2039Tests> with &lt;b&gt; and 50% of [x]" in titles


def test_hex_refs_leave_html_elements_alone():
    xml = b'<feed><title>a &amp; b</title><content type="html">&lt;p&gt;x &amp;amp;&lt;/p&gt;</content></feed>'
    assert hex_refs_in_text(xml) == (
        b'<feed><title>a &#x26; b</title><content type="html">&lt;p&gt;x &amp;amp;&lt;/p&gt;</content></feed>')


def test_tag_uris_are_canonical_distinct_and_stable():
    a = tag_uri(dt.date(2024, 3, 4), "paper/a title 100% without a link")
    b = tag_uri(dt.date(2024, 3, 4), "paper/a title 100% without a link!")
    assert a == tag_uri(dt.date(2024, 3, 4), "paper/a title 100% without a link")
    assert a != b
    for uri in (a, b, tag_uri(2024, "feed/daily papers"), tag_uri(2024, "paper/한국어 제목")):
        assert re.fullmatch(r"tag:digest-export,[0-9-]+:[A-Za-z0-9/._-]+", uri), uri
    # Already canonical text is kept as it is (ids of books stay readable).
    assert tag_uri(2024, "book/daily-papers-2024-W09.epub") == "tag:digest-export,2024:book/daily-papers-2024-W09.epub"


def test_noncharacters_and_decoded_c1_controls_never_reach_html():
    # HTML parsers reject them ("invalid-codepoint"); the validator calls
    # the content invalid HTML or "bad characters".
    assert clean_text("a\ufdd0b\U0001fffec\ufffdd\x85e") == "abcd e"  # NEL is white space: a space
    html = str(inline_html("x &#xFDD0; y &#x85; z &#0; w"))
    assert not re.search("[\x80-\x9f\ufdd0-\ufdef\ufffd\ufffe\uffff]", html)
    assert html.split() == ["x", "y", "z", "w"]
