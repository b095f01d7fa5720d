"""EPUB -> KEPUB, the kind of file Kobo's own reader (Kobo WebKit) opens.

A KEPUB is an EPUB with a file name ending in ``.kepub.epub`` (without it,
a side-loaded book opens in Adobe's engine; kobolabs/epub-spec, "Testing
KEPUB") whose content documents carry what Kobo's store conversion adds,
as kepubify (https://github.com/pgaskin/kepubify, ``kepub/transform.go``)
reproduces it:

* the body's content inside ``<div id="book-columns"><div id="book-inner">``,
  the wrappers Kobo's renderer lays out columns and margins on;
* every run of text split into sentences, each in
  ``<span class="koboSpan" id="kobo.P.S">`` (P counts the paragraphs of the
  document from 1, S the sentences of that paragraph from 1), and every
  image in a span of its own.  Kobo counts reading progress, time left in
  the chapter and highlights by these spans.

Sentences, not paragraphs: a summary bullet is often one long paragraph of
several sentences, and a highlight or a "resume here" can then start at the
sentence the reader was at, as in books from Kobo's store; kepubify splits
the same way.  A sentence ends at ``.``, ``!``, ``?`` or ``…`` (Korean uses
the same marks) followed by white space.

The navigation document is left as it is (its lists have a fixed shape,
EPUB 3.3 section 7.4.2, and Kobo reads it only for the contents menu); the
cover page gets its wrappers and its image span like any page.
"""

from __future__ import annotations

import re
from typing import Any

XHTML = "http://www.w3.org/1999/xhtml"
_H = "{%s}" % XHTML
#: Elements that start a new paragraph number.
_BLOCKS = frozenset(_H + t for t in ("p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "dt", "dd", "figcaption",
                                     "td", "th", "blockquote", "pre", "div", "section"))
#: Elements whose text is not reading text, or that hold text and nothing else (HTML section 4:
#: ``rp``, a ``time`` without ``datetime``), or media whose children are sources and a fallback:
#: left as they are.
_VERBATIM = frozenset(_H + t for t in ("script", "style", "svg", "math", "head", "title", "rp", "textarea",
                                       "option", "template", "iframe", "audio", "video", "object", "canvas",
                                       "map"))
#: Containers whose own text is only white space between children, where a span may not
#: stand (HTML content models): their children are visited, their text is not wrapped.
_NO_TEXT = frozenset(_H + t for t in ("ol", "ul", "menu", "table", "thead", "tbody", "tfoot", "tr", "dl", "hgroup",
                                      "colgroup"))
#: Pictures: each in a span of its own.  A ``<picture>`` holds only its sources and one ``<img>``
#: (HTML section 4.8.1), so the span goes around the picture, not its image.
_PICTURES = frozenset(_H + t for t in ("img", "picture"))
_NO_SPANS = _NO_TEXT | _VERBATIM
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


def kepubify(entries: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """The files of a book (as ebooklib wrote them) with every content document but the nav made KEPUB."""
    return [(name, _document(content) if name.endswith(".xhtml") and not name.endswith("/nav.xhtml")
             else content) for name, content in entries]


def _document(content: bytes) -> bytes:
    from lxml import etree

    root = etree.fromstring(content, etree.XMLParser(resolve_entities=False, no_network=True))
    body = root.find(_H + "body")
    if body is None:
        return content
    _Spanner().run(body)
    outer = etree.Element(_H + "div", id="book-columns")
    inner = etree.SubElement(outer, _H + "div", id="book-inner")
    inner.text, body.text = body.text, "\n"
    for child in list(body):
        inner.append(child)
    outer.tail = "\n"
    body.append(outer)
    return etree.tostring(root.getroottree(), xml_declaration=True, encoding="utf-8",
                          doctype="<!DOCTYPE html>") + b"\n"


class _Spanner:
    """Numbers paragraphs and sentences in document order."""

    def __init__(self) -> None:
        self.paragraph = 0
        self.sentence = 0

    def _next_id(self) -> str:
        self.sentence += 1
        return f"kobo.{max(self.paragraph, 1)}.{self.sentence}"

    def _span(self, text: str) -> Any:
        from lxml import etree

        span = etree.Element(_H + "span", {"class": "koboSpan", "id": self._next_id()})
        span.text = text
        return span

    def _spans(self, text: str) -> list[Any]:
        """*text* as sentence spans, each holding its sentence and the white space after it."""
        spans: list[Any] = []
        cursor = 0
        cuts = [m.end() for m in _SENTENCE_END.finditer(text)] + [len(text)]
        for cut in cuts:
            chunk, cursor = text[cursor:cut], cut
            if chunk.strip() or not spans:
                spans.append(self._span(chunk))
            else:
                spans[-1].text += chunk
        return spans

    def run(self, element: Any) -> None:
        """Wrap the text inside *element* (its children's text and tails), depth first."""
        for child in list(element):
            if child.get("class") == "koboSpan":  # made here
                continue
            if not isinstance(child.tag, str) or child.tag in _VERBATIM or (
                    child.tag == _H + "time" and child.get("datetime") is None):
                self._tail(child)
                continue
            if child.tag in _NO_TEXT:
                self.run(child)
                self._tail(child)
                continue
            if child.tag in _BLOCKS:
                self.paragraph += 1
                self.sentence = 0
            if child.tag in _PICTURES:
                wrapper = self._span("")
                wrapper.text = None
                child.addprevious(wrapper)
                tail, child.tail = child.tail, None
                wrapper.append(child)
                wrapper.tail = tail
                self._tail(wrapper)
                continue
            if child.text and child.text.strip():
                spans = self._spans(child.text)
                child.text = None
                for i, span in enumerate(spans):
                    child.insert(i, span)
            self.run(child)
            self._tail(child)

    def _tail(self, child: Any) -> None:
        if child.tail and child.tail.strip() and child.getparent() is not None \
                and child.getparent().tag not in _NO_SPANS:
            spans = self._spans(child.tail)
            child.tail = None
            for span in reversed(spans):
                child.addnext(span)
