"""The CSS gate: the references in a user's stylesheet, read by a real CSS tokenizer.

A book's stylesheet may name only what is inside the book (EPUB 3.3 section
3.6): a ``url()`` or ``@import`` of a remote resource makes EPUBCheck refuse
the book (RSC-006, OPF-014) and a reading system fetch it (or not).  The
user's ``epub.css`` and ``extra.css`` are read here by ``tinycss2`` (CSS
Syntax Module Level 3, the tokenizer of WeasyPrint), not by a pattern: an
escape (``u\\rl(``, ``\\68ttp:``), a comment, a quoted or unquoted URL, a
``url()`` in upper case or inside ``@media``, ``image-set("...")`` all come
out as the URL a browser engine would fetch.  Each target is then judged by
the URL gate (:func:`exporter.gates.urls.stays_in_book`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .urls import stays_in_book

#: CSS functions whose string arguments are URLs (CSS Images Module Level 4, section 2.1.1
#: ``image()``, 2.2 ``image-set()``, 2.6 ``cross-fade()``; the prefixed spellings engines take).
_URL_STRING_FUNCTIONS = frozenset({"url", "src", "image", "image-set", "-webkit-image-set", "cross-fade",
                                   "-webkit-cross-fade"})


@dataclass(frozen=True, slots=True)
class Reference:
    """A resource the stylesheet names: its line (1-based), how it was written and its URL."""

    line: int
    what: str  # "url()", "@import"
    url: str


def references(css: str) -> Iterator[Reference]:
    """Every ``url()``, URL string of an image function, and ``@import`` target in *css*, in
    document order (walked with a stack: nesting depth costs no recursion)."""
    import tinycss2

    stack = list(reversed(tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True)))
    while stack:
        node = stack.pop()
        kind = node.type
        if kind == "at-rule":
            if node.lower_at_keyword == "import":
                yield Reference(node.source_line, "@import", _import_target(node.prelude))
                continue
            if node.lower_at_keyword == "namespace":  # a name, not fetched (CSS Namespaces section 3)
                continue
            stack.extend(reversed([*node.prelude, *(node.content or ())]))
        elif kind == "qualified-rule":
            stack.extend(reversed([*node.prelude, *node.content]))
        elif kind == "url":
            yield Reference(node.source_line, "url()", node.value)
        elif kind == "function":
            if node.lower_name in _URL_STRING_FUNCTIONS:
                for arg in node.arguments:
                    if arg.type == "string":
                        yield Reference(arg.source_line, f"{node.lower_name}()", arg.value)
            stack.extend(reversed(node.arguments))
        elif kind in ("() block", "[] block", "{} block"):
            stack.extend(reversed(node.content))
        elif kind == "at-keyword" and node.lower_value == "import":  # an @import out of place
            yield Reference(node.source_line, "@import", "")


def _import_target(prelude: list) -> str:
    for token in prelude:
        if token.type in ("string", "url"):
            return token.value
        if token.type == "function" and token.lower_name == "url":
            return next((a.value for a in token.arguments if a.type == "string"), "")
        if token.type not in ("whitespace", "comment"):
            break
    return ""


def outside_the_book(css: str) -> list[Reference]:
    """The references of *css* that a book cannot hold: every ``@import`` (a book has one
    stylesheet; nothing else of the templates folder is packaged), and every URL that is not
    inside the book or a ``data:`` URL."""
    return [ref for ref in references(css) if ref.what == "@import" or not stays_in_book(ref.url)]
