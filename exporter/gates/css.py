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

import functools
import re

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from ..model import ASTRAL_NONCHARACTERS, BIDI_CONTROLS, NONCHARACTERS
from .marks import MAX_IMAGE_PIXELS
from .text import TOO_MANY_MARKS, mark_run
from .urls import (URLRefused, check_reference, data_bytes, data_media_type, data_payload_problem, data_url_problem,
                   stays_in_book)

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
    #: A URL the stylesheet computes (``image-set(var(--u))``): *url* is the function as written,
    #: and no check can know what it names.
    computed: bool = False


#: CSS functions whose value is only known where the stylesheet is used (CSS Variables section
#: 3, CSS Environment Variables section 3, CSS Values 5 ``if()`` and ``attr()``): in an image
#: function, a string one of them gives is a URL (``--u: "https://..."`` then
#: ``image-set(var(--u) 1x)`` fetches it), which no check of the stylesheet as written sees.
_COMPUTED = frozenset({"var", "env", "if", "attr", "-webkit-var"})


def _computed_in(arguments: list) -> Iterator:
    """The :data:`_COMPUTED` functions among *arguments*, at any depth."""
    stack = list(arguments)
    while stack:
        node = stack.pop()
        if node.type == "function":
            if node.lower_name in _COMPUTED:
                yield node
            stack.extend(node.arguments)
        elif node.type in ("() block", "[] block", "{} block"):
            stack.extend(node.content)


#: How deep blocks, functions and brackets may nest in a stylesheet: tinycss2 parses them by
#: recursion (Python's limit is 1,000 frames: ``:is(`` nested a thousand times was a crash), and
#: no stylesheet of a book nests a tenth of this.
MAX_CSS_DEPTH = 32
_NESTING = re.compile(r"/\*.*?(?:\*/|\Z)|\"(?:\\.|[^\"\\\n])*\"?|'(?:\\.|[^'\\\n])*'?|\\.|[(\[{]|[)\]}]", re.S)


@functools.lru_cache(maxsize=8)
def too_deep(css: str) -> int | None:
    """The line where blocks, functions or brackets of *css* first nest deeper than
    MAX_CSS_DEPTH (comments, strings and escapes read as CSS Syntax 3 tokenizes them), or None:
    one pass, before any parser recurses."""
    depth = 0
    for m in _NESTING.finditer(css):
        token = m.group(0)
        if token in "([{":
            depth += 1
            if depth > MAX_CSS_DEPTH:
                return css.count("\n", 0, m.start()) + 1
        elif token in ")]}":
            depth = max(0, depth - 1)
    return None


@functools.lru_cache(maxsize=4)
def _parsed(css: str) -> tuple:
    """*css* parsed by tinycss2 (its rules, comments and white space left out): once for the
    gate's several walks over one stylesheet (a 3 MB ``extra.css`` was tokenized 22 times)."""
    import tinycss2

    return tuple(tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True))


def references(css: str) -> Iterator[Reference]:
    """Every ``url()``, URL string of an image function, and ``@import`` target in *css*, in
    document order (walked with a stack: nesting depth costs no recursion).  A stylesheet that
    nests too deep (:func:`too_deep`, which :func:`malformed` reports) is not parsed: none."""
    import tinycss2

    if too_deep(css) is not None:
        return

    stack = list(reversed(_parsed(css)))
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
            if node.lower_name == "attr" and len([a for a in node.arguments if a.type not in ("whitespace", "comment")]) > 1:
                # A typed attr() (``attr(data-u type(<url>))``, ``attr(data-u url)``) or one with a
                # fallback gives a URL or an image from the document's attributes, which no
                # check of the stylesheet reads (CSS Values 5 section 7.7); a bare one is text.
                yield Reference(node.source_line, "attr()", tinycss2.serialize([node]), computed=True)
            if node.lower_name in _URL_STRING_FUNCTIONS:
                for arg in node.arguments:
                    if arg.type == "string":
                        yield Reference(arg.source_line, f"{node.lower_name}()", arg.value)
                for fn in _computed_in(node.arguments):
                    yield Reference(fn.source_line, f"{node.lower_name}()", tinycss2.serialize([fn]), computed=True)
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
    stylesheet; nothing else of the templates folder is packaged), every URL that is not
    inside the book or a ``data:`` URL, and every URL that names a scheme other than ``data:``
    (``https:/host/x`` is relative to an ``https:`` base under the WHATWG URL standard, but a
    remote host to a reading system whose base is ``file:`` or its own scheme)."""
    return [ref for ref in references(css)
            if ref.what == "@import" or ref.computed or not stays_in_book(ref.url) or _foreign_scheme(ref.url)]



#: Where a book keeps its stylesheet, relative to the package folder: its relative references
#: are resolved from there.
STYLESHEET = "style/epub.css"


def url_problems(css: str) -> list[tuple[Reference, str]]:
    """Each reference of *css* that the URL gate refuses as written (the rules a URL of a
    book's XHTML follows: :func:`exporter.gates.urls.check_reference`), and each ``data:`` URL
    that holds no core media type of a stylesheet's resources (a picture or a font, EPUB 3.3
    section 3.2), with why.  ``@import`` and references that leave the book are
    :func:`outside_the_book`'s."""
    found = []
    for ref in references(css):
        if ref.what == "@import" or ref.computed:
            continue
        if not ref.url.strip():
            found.append((ref, "is empty: it names nothing (EPUBCheck CSS-002)"))
            continue
        try:
            checked = check_reference(ref.url, STYLESHEET)
        except URLRefused as err:
            found.append((ref, f"is refused: {err}"))
            continue
        if checked.scheme == "data" and (why := data_url_problem(ref.url, "image", "font")
                                         or data_problem(ref.url)):
            found.append((ref, why))
    return found

#: A scheme, as the WHATWG URL parser finds it after dropping leading C0 controls and spaces
#: and every tab and newline (URL Standard, "basic URL parser", first steps).
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_DROPPED = re.compile(r"[\t\n\r]")
#: Characters a stylesheet has no use for and some tools stop at (CSS Syntax 3 section 3.3 turns
#: NUL into U+FFFD; a reader's engine may not): C0 controls other than tab, newline, form feed
#: and carriage return, DEL and the C1 controls; and what the text gates keep out of every output
#: (:data:`exporter.model.BIDI_CONTROLS`, noncharacters): a bidi control in a comment or a
#: ``content`` string reorders what an editor shows of the rules around it (CVE-2021-42574,
#: "Trojan Source"), written as it is or as a CSS escape (``\\202e``).
_CONTROLS = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ud800-\udfff" + BIDI_CONTROLS + NONCHARACTERS
                       + ASTRAL_NONCHARACTERS + "]")
_BIDI = re.compile("[" + BIDI_CONTROLS + "]")


def _kind(char: str) -> str:
    """What the character :data:`_CONTROLS` found is, in words."""
    if _BIDI.fullmatch(char):
        return "a bidirectional control character"
    if char == "\ufffd":
        # CSS Syntax 3 section 4.3.7: an escape of NUL, of a surrogate or past U+10FFFF "consumes"
        # as U+FFFD, the mark of a character lost.
        return "U+FFFD, the replacement character (a NUL, or an escape of NUL, a surrogate or past U+10FFFF)"
    if "\ud800" <= char <= "\udfff":
        return "a surrogate (half of a UTF-16 pair, no character)"
    return "a control character" if ord(char) < 0xA0 else "a noncharacter"


#: Appended when checking that every block, function, string and comment is closed: when one
#: is not, this ends up inside it instead of at the top level.
_SENTINEL = "digest-export-end-of-stylesheet"


def _foreign_scheme(url: str) -> bool:
    cleaned = _DROPPED.sub("", url.lstrip("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f"
                                        "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d"
                                        "\x1e\x1f "))
    match = _SCHEME.match(cleaned)
    return bool(match) and match.group(0).lower() != "data:"


def malformed(css: str, *, selectors: bool = True) -> list[Reference]:
    """What in *css* is not CSS as written (tinycss2's parse errors, a block, function, string or
    comment left open at the end, a control character): a reader's engine recovers from each in
    its own way, so what the stylesheet means is not what it says (``</style><script>``).  Also
    what :func:`grammar_problems` finds (*selectors* as it takes them)."""
    import tinycss2

    if (line := too_deep(css)) is not None:
        return [Reference(line, "CSS nested too deep", f"blocks, functions or brackets more than {MAX_CSS_DEPTH} "
                                                       "inside one another")]
    found: list[Reference] = []
    for match in _CONTROLS.finditer(css):
        found.append(Reference(css.count("\n", 0, match.start()) + 1, _kind(match.group(0)),
                               f"U+{ord(match.group(0)):04X}"))
    stack = list(reversed(_parsed(css)))
    while stack:
        node = stack.pop()
        value = getattr(node, "value", None)
        if isinstance(value, str) and (bad := _CONTROLS.search(value)) is not None and bad.group(0) not in css:
            # Spelled as a CSS escape (CSS Syntax 3 section 4.3.7): the token holds the character.
            found.append(Reference(node.source_line, _kind(bad.group(0)) + " (as a CSS escape)",
                                   f"U+{ord(bad.group(0)):04X}"))
        if isinstance(value, str) and mark_run(value) is not None:
            found.append(Reference(node.source_line, "too many combining marks", TOO_MANY_MARKS))
        if node.type == "error":
            found.append(Reference(node.source_line, "a CSS parse error", node.message))
        elif node.type == "at-rule":
            stack.extend(reversed([*node.prelude, *(node.content or ())]))
        elif node.type == "qualified-rule":
            stack.extend(reversed([*node.prelude, *node.content]))
        elif node.type == "function":
            stack.extend(reversed(node.arguments))
        elif node.type in ("() block", "[] block", "{} block"):
            stack.extend(reversed(node.content))
    found.extend(grammar_problems(css, selectors=selectors))
    found.extend(effect_problems(css))
    values = tinycss2.parse_component_value_list(css + "\n" + _SENTINEL, skip_comments=True)
    last = next((v for v in reversed(values) if v.type != "whitespace"), None)
    if last is None or last.type != "ident" or last.value != _SENTINEL:
        found.append(Reference(css.count("\n") + 1, "a CSS parse error",
                               "the stylesheet ends inside a block, function, string or comment left open"))
    return sorted(found, key=lambda ref: ref.line)


#: At-rules that hold rules (CSS Conditional 3, Cascade 5's ``@layer``, Containment 3) and those
#: that hold declarations (Fonts 4's ``@font-face``, Paged Media 3's ``@page`` and its margin boxes).
_RULE_BLOCKS = frozenset({"media", "supports", "layer", "container", "document", "-moz-document", "scope"})
_DECLARATION_BLOCKS = frozenset({"font-face", "page", "top-left-corner", "top-left", "top-center", "top-right",
                                 "top-right-corner", "bottom-left-corner", "bottom-left", "bottom-center",
                                 "bottom-right", "bottom-right-corner", "left-top", "left-middle", "left-bottom",
                                 "right-top", "right-middle", "right-bottom", "font-feature-values", "counter-style",
                                 "property", "viewport", "-ms-viewport"})


def grammar_problems(css: str, *, selectors: bool = True) -> list[Reference]:
    """What in *css* CSS Syntax 3 recovers from but CSS's grammar (CSS 2.1 section 4.1.1 with
    Selectors Level 3) does not hold, and so EPUBCheck's CSS parser refuses (CSS-008): a selector
    that is none (``a >> b``, ``a, , b``, ``.1a``, a case flag ``[x="y" i]`` of Selectors Level 4),
    a declaration that is none (``;;``, ``color red``, ``: red``, ``color:`` with no value), a rule
    or block inside a declaration block (CSS Nesting), and an ``@font-face`` that declares nothing
    (CSS-019).  Selectors are read by ``cssselect``, the parser of lxml's and Scrapy's CSS
    selectors.  *selectors*: judge the selectors too (a web page's browsers take Selectors Level 4)."""
    import tinycss2

    found: list[Reference] = []
    pending = [_parsed(css)]
    while pending:
        for node in pending.pop():
            if node.type == "qualified-rule":
                if selectors:
                    found.extend(_selector_problems(node))
                found.extend(_declaration_problems(node.content, node.source_line, epub=selectors))
            elif node.type == "at-rule" and node.lower_at_keyword == "charset":
                named = next((t.value for t in node.prelude if t.type == "string"), "")
                if named.lower() != "utf-8":
                    # A book's CSS is UTF-8 (EPUB 3.3 section 6.3.2; EPUBCheck CSS-004): a reader that
                    # honours another @charset reads the stylesheet's bytes as other characters.
                    found.append(Reference(node.source_line, "an @charset",
                                           f"{named!r}: a stylesheet is UTF-8 (leave @charset out, or name UTF-8)"))
            elif node.type == "at-rule" and node.content is not None:
                if node.lower_at_keyword in _RULE_BLOCKS:
                    pending.append(tinycss2.parse_rule_list(node.content, skip_comments=True, skip_whitespace=True))
                elif node.lower_at_keyword in _DECLARATION_BLOCKS:
                    found.extend(_declaration_problems(node.content, node.source_line, epub=selectors,
                                                       margins=node.lower_at_keyword == "page"))
                    if node.lower_at_keyword == "font-face" and not any(
                            t.type == "ident" for t in node.content):
                        found.append(Reference(node.source_line, "an empty @font-face",
                                               "it declares no font (EPUBCheck CSS-019)"))
    return found


def _selector_problems(rule) -> list[Reference]:
    """Why the selector list of *rule* is not one of Selectors Level 3, or nothing."""
    import cssselect
    import tinycss2

    text = tinycss2.serialize(rule.prelude).strip()
    # The arguments of functional pseudo-classes (``:not(.a, .b)``, ``:is()``, ``:nth-child()``)
    # are left out: Selectors Level 4 widened them, and EPUBCheck's parser reads them loosely.
    bare = tinycss2.serialize([t if t.type != "function" else tinycss2.ast.IdentToken(t.source_line, t.source_column, t.name)
                               for t in rule.prelude]).strip()
    try:
        cssselect.parse(bare)
    except cssselect.SelectorSyntaxError as err:
        return [Reference(rule.source_line, "a selector that is none", f"{text[:80]!r}: {err}")]
    for fn in (t for t in rule.prelude if t.type == "function" and t.lower_name in ("nth-child", "nth-last-child")):
        if any(a.type == "ident" and a.lower_value == "of" for a in fn.arguments):
            return [Reference(rule.source_line, "a selector that is none",
                              f"{text[:80]!r}: ':{fn.name}(An+B of S)' is of Selectors Level 4, which EPUBCheck's "
                              "CSS parser does not read (CSS-008)")]
    for block in (t for t in rule.prelude if t.type == "[] block"):
        words = [t for t in block.content if t.type not in ("whitespace", "comment")]
        if len(words) >= 4 and words[-1].type == "ident" and words[-1].lower_value in ("i", "s"):
            return [Reference(rule.source_line, "a selector that is none",
                              f"{text[:80]!r}: the case flag '{words[-1].value}' is of Selectors Level 4, which "
                              "EPUBCheck's CSS parser does not read (CSS-008)")]
    return []


#: Properties an EPUB style sheet must not hold (EPUB 3.3, CSS style sheets: the direction of the
#: text is the markup's, ``dir``; EPUBCheck CSS-001).
_NOT_IN_EPUB = frozenset({"direction", "unicode-bidi"})


def _declaration_problems(content: list, line: int, *, margins: bool = False, epub: bool = True) -> list[Reference]:
    """Why the block *content* (of a rule at *line*) is not a list of declarations
    ``name: value`` separated by ``;``; *margins*: an ``@page``, which may hold margin boxes;
    *epub*: a book's (no property an EPUB style sheet must not hold)."""
    found = []
    segments: list[list] = [[]]
    for token in content:
        if token.type == "literal" and token.value == ";":
            segments.append([])
        elif token.type not in ("whitespace", "comment"):
            segments[-1].append(token)
    for k, words in enumerate(segments):
        at = words[0].source_line if words else line
        if not words:
            if k < len(segments) - 1:
                found.append(Reference(at, "an empty declaration", "a ';' with no declaration before it"))
            continue
        if margins and words[0].type == "at-keyword":
            continue  # a margin box of @page: its own at-rule, parsed as one
        name = words[0]
        if name.type != "ident" or len(words) < 2 or words[1].type != "literal" or words[1].value != ":":
            found.append(Reference(at, "a declaration that is none", _text(words)[:80]
                                   + " (a declaration is 'name: value'; a rule inside a rule is CSS Nesting, which "
                                   "EPUBCheck's CSS parser does not read)"))
        elif any(t.type in ("{} block", "at-keyword") for t in words[2:]):
            found.append(Reference(at, "a declaration that is none", _text(words)[:80]
                                   + " (a block inside a declaration)"))
        elif len(words) == 2 and not name.value.startswith("--"):
            found.append(Reference(at, "a declaration without a value", f"{name.value}:"))
        elif epub and name.lower_value in _NOT_IN_EPUB:
            found.append(Reference(at, f"the property {name.lower_value!r}", "an EPUB style sheet must not hold it "
                                   "(EPUB 3.3, CSS style sheets: write dir=\"rtl\" in the markup)"))
    return found


# -- effects a reader's work grows with -------------------------------------------------------
#
# A blur or a shadow is drawn over its box grown by its radius (three standard deviations on each
# side, Filter Effects Module Level 1 section 13.1.1), and what a filter draws is the input of the
# filter of the element around it: nested or chained, filters multiply.  Measured in Chromium on
# one chapter (about one second plain): sixty nested ``filter: drop-shadow(0 0 4px red)`` took 10 s,
# thirty nested ``blur(32px)`` or two chained ``drop-shadow(10px 10px 32px red)`` on nested
# elements more than 3 s to never, while a shadow does not grow with nesting (its own box or
# text only): four ``text-shadow`` of 32px, 1.8 s; one of 256px on every text, 20 s; two hundred
# layers, never.  So what spreads in a filter (``blur()``, ``drop-shadow()``, an SVG filter by
# ``url()``) is refused, the colour filters stay; a shadow is bounded in layers and lengths.

#: Properties whose values a reader draws at a cost their numbers set: filters (Filter Effects 1
#: section 13, Filter Effects 2 ``backdrop-filter``), shadows (CSS Backgrounds 3 section 7.1
#: ``box-shadow``, CSS Text Decoration 3 section 4 ``text-shadow``), a text stroke.
_FILTER_PROPERTIES = frozenset({"filter", "-webkit-filter", "backdrop-filter", "-webkit-backdrop-filter"})
_SHADOW_PROPERTIES = frozenset({"box-shadow", "-webkit-box-shadow", "-moz-box-shadow", "text-shadow",
                                "-webkit-text-stroke", "-webkit-text-stroke-width"})
#: Properties that paint a list of layers (CSS Backgrounds 3 section 3.1, CSS Masking 1 section 7)
#: or clip by a shape of any size (CSS Masking 1 section 5.1 ``clip-path``, CSS Shapes 1
#: ``shape-outside``, Motion Path 1 ``offset-path``): five hundred gradient layers, or a polygon of
#: 5,000 points, on a hundred elements kept a reader on one chapter for good.
_LAYER_PROPERTIES = frozenset({"background", "background-image", "mask", "mask-image", "-webkit-mask",
                               "-webkit-mask-image", "border-image", "border-image-source", "-webkit-border-image",
                               "list-style", "list-style-image", "clip-path", "-webkit-clip-path", "shape-outside",
                               "offset-path"})
#: The most layers such a property paints, and the most items (a gradient's stops, a polygon's
#: points, a path's vertices) one of its functions holds.
MAX_LAYERS, MAX_ITEMS = 8, 64
_EFFECT_PROPERTIES = _FILTER_PROPERTIES | _SHADOW_PROPERTIES | _LAYER_PROPERTIES
#: The largest length of a shadow or text stroke (its offsets, blur and spread), in CSS pixels.
MAX_EFFECT_PX = 32
#: The most shadows one declaration lays on one another.
MAX_SHADOWS = 4
#: CSS pixels per unit (CSS Values 4 section 6.2, absolute lengths).  A length relative to
#: something else the stylesheet sets (a root font size of 50,000 px makes ``2rem`` 100,000 px;
#: ``rlh``, ``lh``, ``cqw`` and ``vw`` likewise) has no bound here, and is refused.
_ABSOLUTE_PX = {"px": 1.0, "pt": 4 / 3, "pc": 16.0, "in": 96.0, "cm": 96 / 2.54, "mm": 96 / 25.4, "q": 96 / 101.6}
#: Filter functions that change colours only (section 13.1): what they draw is the box itself.
_COLOUR_FILTERS = frozenset({"brightness", "contrast", "grayscale", "hue-rotate", "invert", "opacity", "saturate",
                             "sepia"})
#: Colour functions (CSS Color 4 and 5), in a shadow or a drop of colour.
_COLOURS = frozenset({"rgb", "rgba", "hsl", "hsla", "hwb", "lab", "lch", "oklab", "oklch", "color", "color-mix",
                      "light-dark", "device-cmyk"})


def _declarations(css: str) -> Iterator:
    """Every declaration of *css*, in every block, whatever at-rule holds it and as CSS Nesting
    reads a block (CSS Syntax 3 section 5.4.5: a rule among declarations does not hide the
    declaration after it)."""
    import tinycss2

    stack = list(_parsed(css))
    while stack:
        node = stack.pop()
        if node.type not in ("qualified-rule", "at-rule") or node.content is None:
            continue
        for item in tinycss2.parse_blocks_contents(node.content, skip_comments=True, skip_whitespace=True):
            if item.type in ("qualified-rule", "at-rule"):
                stack.append(item)
            elif item.type == "declaration":
                yield item


def effect_problems(css: str) -> list[Reference]:
    """The declarations of *css* whose filter spreads (``blur()``, ``drop-shadow()``, ``url()``) or
    whose shadow or text stroke is more than :data:`MAX_SHADOWS` layers or more than
    :data:`MAX_EFFECT_PX` in a length, or holds a length computed where the page is drawn or
    relative to what the stylesheet sets elsewhere; in every block (:func:`_declarations`:
    ``@keyframes``, ``@starting-style`` and an at-rule this check does not know too)."""
    found = []
    for item in _declarations(css):
        if item.lower_name in _EFFECT_PROPERTIES:
            why = (_filter_problem(item.value) if item.lower_name in _FILTER_PROPERTIES
                   else _layer_problem(item.value) if item.lower_name in _LAYER_PROPERTIES
                   else _shadow_problem(item.value))
            if why is not None:
                shown = _text(item.value)
                found.append(Reference(item.source_line, "a costly effect",
                                       f"{item.lower_name}: {shown[:60]}{'...' if len(shown) > 60 else ''}: {why}"))
    return found


def _layer_problem(tokens: list) -> str | None:
    """Why the value *tokens* of a property of :data:`_LAYER_PROPERTIES` paints too much: more
    than :data:`MAX_LAYERS` layers, or a function of more than :data:`MAX_ITEMS` items (commas
    apart, or a ``path()``'s vertices)."""
    if sum(1 for t in tokens if t.type == "literal" and t.value == ",") >= MAX_LAYERS:
        return f"more than {MAX_LAYERS} layers painted on one another"
    stack = [t for t in tokens if t.type == "function"]
    while stack:
        node = stack.pop()
        items = 1 + sum(1 for t in node.arguments if t.type == "literal" and t.value == ",")
        if node.lower_name == "path":
            items = max(items, sum(len(_NUMBER.findall(t.value)) // 2 for t in node.arguments if t.type == "string"))
        if items > MAX_ITEMS:
            return f"{node.name}() of more than {MAX_ITEMS} stops, points or vertices"
        stack.extend(t for t in node.arguments if t.type == "function")
    return None


def _filter_problem(tokens: list) -> str | None:
    """Why the value *tokens* of a filter property may not stand: a function other than a colour
    filter, or a number that is not finite."""
    import math

    for node in tokens:
        if node.type == "url":  # url(#f) unquoted is a token of its own (CSS Syntax 3 section 4.3.6)
            return ("url() names an SVG filter, whose work grows with its numbers and its chain: a book's filters "
                    "are colour filters alone (grayscale(), sepia()...)")
        if node.type == "function":
            if node.lower_name not in _COLOUR_FILTERS:
                return (f"{node.name}() spreads or computes what the reader draws (nested or chained, a filter's "
                        "work multiplies): a book's filters are colour filters alone (grayscale(), sepia()...)")
            for arg in node.arguments:
                if arg.type in ("function", "() block", "[] block", "{} block"):
                    return f"{node.name}() holds {_text([arg])[:30]}: write its amount itself"
                if arg.type in ("number", "percentage", "dimension") and not math.isfinite(arg.value):
                    return f"{_text([arg])} is no number a reader can draw"
        elif node.type in ("() block", "[] block", "{} block"):
            return f"{_text([node])[:30]} is no filter"
    return None


def _shadow_problem(tokens: list) -> str | None:
    """Why the value *tokens* of a shadow or text stroke may not stand (see :func:`effect_problems`).
    A bare number where a length goes counts as pixels: SVG reads a presentation attribute so
    (SVG 2 section 6.5: a length without a unit is in user units)."""
    import math

    layers = 1
    for node in tokens:
        if node.type == "literal" and node.value == ",":
            layers += 1
            if layers > MAX_SHADOWS:
                return f"more than {MAX_SHADOWS} shadows laid on one another"
        elif node.type == "function":
            if node.lower_name not in _COLOURS:
                return (f"{node.name}() computes a length where the page is drawn, out of this check's sight "
                        "(write the length itself)")
        elif node.type in ("() block", "[] block", "{} block"):
            return f"{_text([node])[:30]} is no shadow"
        elif node.type in ("dimension", "number"):
            if node.type == "dimension" and node.lower_unit not in _ABSOLUTE_PX:
                return (f"{node.representation}{node.unit} is relative to what the stylesheet sets elsewhere "
                        f"(a root font size, a line height, a container): write it in px")
            px = abs(node.value) * (_ABSOLUTE_PX[node.lower_unit] if node.type == "dimension" else 1.0)
            shown = node.representation + (node.unit if node.type == "dimension" else "")
            if not math.isfinite(px):
                return f"{shown} is no number a reader can draw"
            if px > MAX_EFFECT_PX:
                return f"{shown} is more than {MAX_EFFECT_PX}px (a reader's work grows with a shadow's size)"
    return None


def _text(tokens: list) -> str:
    """*tokens* as CSS text, for a message."""
    import tinycss2

    return tinycss2.serialize(tokens).strip()


# -- data: URLs: what their payload holds ---------------------------------------------------------

@functools.lru_cache(maxsize=256)
def data_problem(url: str) -> str | None:
    """Why the data of the ``data:`` URL *url* may not stand in a book, or None: its base64
    (:func:`exporter.gates.urls.data_payload_problem`), what an SVG picture holds, and that a
    PNG, GIF, JPEG or WebP picture is one."""
    why = data_payload_problem(url)
    if why is not None:
        return why
    media = data_media_type(url).strip().lower()
    data = data_bytes(url)
    if data is None:
        return None
    if media == "image/svg+xml":
        return _svg_problem(data, labelled=url)
    return _raster_problem(media, data) or _font_problem(media, data)


#: The font types of EPUB 3.3's core media types (section 3.2), by the flavor fontTools gives a
#: font of that type (None: TrueType or OpenType, unwrapped).
_FONTS = {"font/ttf": None, "font/otf": None, "application/font-sfnt": None, "application/vnd.ms-opentype": None,
          "font/woff": "woff", "application/font-woff": "woff", "font/woff2": "woff2"}


def _font_problem(media: str, data: bytes) -> str | None:
    """Why the bytes *data* of a ``data:`` URL of the font type *media* are not such a font
    (fontTools reads its table directory), or hold SVG glyphs (an ``SVG`` table: pictures,
    scripts and links inside the font, which no check here reads), or None; None for other
    types.  A reader takes a picture by its bytes, whatever the label: a 400-million-pixel PNG
    labelled ``font/ttf`` was painted as a background."""
    if media not in _FONTS:
        return None
    import io
    import logging
    import struct
    import warnings

    from fontTools.ttLib import TTFont, TTLibError

    logger = logging.getLogger("fontTools")
    disabled, logger.disabled = logger.disabled, True  # fontTools logs to stderr what it reads
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            font = TTFont(io.BytesIO(data), lazy=True, recalcTimestamp=False, recalcBBoxes=False)
            flavor, tables = font.flavor, set(font.keys())
    except (TTLibError, OSError, ValueError, struct.error, EOFError, KeyError, IndexError, TypeError,
            AssertionError):
        return f"is a data: URL labelled {media} whose bytes are not a font of that type"
    finally:
        logger.disabled = disabled
    if flavor != _FONTS[media]:
        return f"is a data: URL labelled {media} whose bytes are a {(flavor or 'TrueType or OpenType').upper()} font"
    if "SVG " in tables:
        return "is a data: URL of a font with SVG glyphs (an SVG table), which no check here reads"
    return None


#: The raster pictures of EPUB 3.3's core media types (section 3.2), by the name Pillow gives
#: their format.
_RASTER = {"image/png": "PNG", "image/gif": "GIF", "image/jpeg": "JPEG", "image/webp": "WEBP"}


def _raster_problem(media: str, data: bytes) -> str | None:
    """Why the bytes *data* of a ``data:`` URL of the picture type *media* are not such a
    picture (Pillow reads its header as that format only), or None; None for other types.  A
    reading system that knows a picture by its bytes would otherwise be handed what the label
    hides (``data:image/png,<svg ...><script>``), which no check here has read."""
    kind = _RASTER.get(media)
    if kind is None:
        return None
    import io
    import warnings

    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # Pillow warns of a picture past its pixel limit (and refuses one twice past it): no
            # warning is printed, the picture is refused.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[kind]) as im:
                # Every frame of an animation, decoded (a picture cut short is shown broken, or
                # half), its pixels counted together: a later frame may be larger than the first.
                pixels = 0
                for frame in range(getattr(im, "n_frames", 1)):
                    im.seek(frame)
                    pixels += im.width * im.height
                    if pixels > MAX_IMAGE_PIXELS:
                        raise Image.DecompressionBombError(f"{im.width}x{im.height}")
                    im.load()
                return None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return (f"is a data: URL of a {kind} picture of more than {MAX_IMAGE_PIXELS:,} pixels (its frames "
                "together), more than a book's pictures may have")
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        return f"is a data: URL labelled {media} whose bytes are not a {kind} picture"


#: The labels of UTF-8 (the WHATWG Encoding Standard's list), the one encoding a data: SVG may
#: be in: a reader decodes a picture by its byte order mark, else its XML declaration, else
#: UTF-8 (Chromium ignores the URL's ``charset``; RFC 7303 section 3.2 puts it first), and
#: libxml2 here knows encodings no reader does (UTF-7, JAVA) or decodes others otherwise
#: (Shift_JIS's 0x5C is a yen sign to it, a backslash to a browser): in any other encoding the
#: picture checked is not the picture a reader shows.
_UTF8_LABELS = frozenset({"utf-8", "utf8", "unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8", "x-unicode20utf8"})


def _charsets(url: str) -> list[str]:
    """The ``charset`` parameters of the ``data:`` URL *url*'s media type, as written (RFC 2397;
    names compared as the WHATWG MIME type parser does, without case, with the URL's escapes
    decoded)."""
    from urllib.parse import unquote

    header = unquote(url.split(":", 1)[1].split(",", 1)[0])
    found = []
    for param in header.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            found.append(value.strip().strip('"').strip())
    return found


#: The encoding an XML declaration names (XML 1.0 section 2.8 ``XMLDecl``, 4.3.3 ``EncodingDecl``).
_DECLARED = re.compile(r"<\?xml\s(?:[^?]|\?(?!>))*?\bencoding\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")


def _encoding_problem(url: str | None, data: bytes, declared: str | None) -> str | None:
    """Why the data: SVG *data* (of the URL *url*, whose ``charset`` labels are read; declared
    *declared* by its XML declaration, as lxml read it) is not plain UTF-8, or None.  The
    declaration is read from the bytes too: after a byte order mark, libxml2 2.10 and older
    take it over the mark, newer ones and browsers the mark."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "is a data: SVG picture whose bytes are not UTF-8 (a picture in a book is written in UTF-8)"
    if text.startswith("<?xml") and (named := _DECLARED.match(text)) is not None:
        declared = named.group(1) if named.group(1) is not None else named.group(2)
    if declared is not None and declared.strip().lower() not in _UTF8_LABELS:
        return (f"is a data: SVG picture declared encoding={declared!r}: a picture in a book is written in UTF-8, "
                "which every reading system decodes as this check does")
    labels = _charsets(url) if url is not None else []
    if len(labels) > 1:
        return "is a data: SVG picture labelled with more than one charset (readers take different ones)"
    if labels and labels[0].lower() not in _UTF8_LABELS and not (
            labels[0].lower() in ("us-ascii", "ascii") and data.isascii()):
        return (f"is a data: SVG picture labelled charset={labels[0]}: a picture in a book is written in UTF-8, "
                "and a reading system decodes it by the label, another document than the one checked")
    return None


def _svg_problem(data: bytes, depth: int = 0, labelled: str | None = None) -> str | None:
    """Why the SVG picture *data* (a ``data:`` URL's) may not stand in a book, or None: held to
    what the book's own markup is held to (no script, no event handler, no foreign object, and
    nothing it loads from outside itself: SVG 2 section 16.1 on external references), a picture
    inside it (*depth*) too; *labelled*: the URL whose ``charset`` must agree with the bytes
    (:func:`_charset_problem`, on the document parsed here)."""
    from lxml import etree

    try:
        root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False))
    except etree.XMLSyntaxError as err:
        return f"is a data: SVG picture that is not well-formed XML ({err})"
    tree = root.getroottree()
    # lxml says the encoding the declaration names, and UTF-8 for a picture that declares none.
    if (why := _encoding_problem(labelled, data, tree.docinfo.encoding)) is not None:
        return why
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        # An external DTD (a fetch from outside), or entities (a SYSTEM one names a local file).
        return "is a data: SVG picture with a DOCTYPE (a DTD or entities a reader may load from outside it)"
    outside = [*root.itersiblings(preceding=True), *root.itersiblings()]
    if any(isinstance(node, etree._ProcessingInstruction) for node in (*outside, *root.iter(etree.PI))):
        return "is a data: SVG picture with a processing instruction (<?xml-stylesheet?> loads a stylesheet)"
    for node in (*outside, *root.iter(etree.Comment)):
        if isinstance(node, etree._Comment) and (bad := _CONTROLS.search(node.text or "")) is not None:
            return (f"is a data: SVG picture holding the character U+{ord(bad.group()):04X} in a comment, which no "
                    "book holds (a control, bidi control or noncharacter)")
    if mark_run("".join(root.itertext())) is not None:
        return f"is a data: SVG picture whose text holds {TOO_MANY_MARKS}"
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        if (why := _svg_element_problem(el, etree.QName(el), depth)) is not None:
            return why
    return _expansion_problem(root)


#: The most elements a data: SVG may draw once every reference to another of its elements is
#: followed: a ``<use>`` (a copy, SVG 2 section 5.6), a marker (drawn at each vertex, section
#: 11.6), a mask, clip path, pattern, filter or gradient (``url(#id)``, or an ``href`` to
#: another gradient or pattern).  Ten of ten, eight deep, is 10^8 paths in 1.3 KB; five levels
#: of markers on 60-point polylines 7.8·10^8; a chain of 20,000 gradients: each froze a reader.
MAX_SVG_EXPANSION = 50_000
#: The most drawing a data: SVG may ask for, counted as its elements drawn (each reference
#: followed, as :data:`MAX_SVG_EXPANSION` counts them), plus a vertex of a path, polyline or
#: polygon, plus a dash of a dashed stroke (its length over the smallest dash pattern the picture
#: holds): one 20,000-vertex path drawn by 300 ``<use>`` (6 million segments, 190 KB), or 200
#: circles dashed every 0.001 unit (22 KB), kept a reader on one chapter for good; 50,000 long
#: segments take it a few seconds.
MAX_SVG_WORK = 50_000
_XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
#: A reference to an element of the same picture in a presentation attribute or a declaration.
_LOCAL_URL = re.compile(r"""url\(\s*['"]?#([^'")\s]+)""", re.I)
_MARKERS = ("marker", "marker-start", "marker-mid", "marker-end")
_NUMBER = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


def _references(el, ids: dict, drawn: Counter) -> None:  # type: ignore[no-untyped-def]
    """Count into *drawn* the elements *el* draws besides its children, by the times each is
    drawn: its ``href`` (``use``, gradients, patterns, ``textPath``...), every ``url(#id)`` of
    its attributes and ``style``, a marker at each of its vertices."""
    named = (el.get("href") or el.get(_XLINK_HREF) or "").strip()
    if named.startswith("#") and ids.get(named[1:]) is not None:
        drawn[ids[named[1:]]] += 1
    vertices = None
    for key, value in el.attrib.items():
        local = key.rpartition("}")[2]
        for target in _LOCAL_URL.findall(value):
            if ids.get(target) is None:
                continue
            marked = local in _MARKERS or local == "style" and "marker" in value.lower()
            if marked and vertices is None:
                vertices = max(1, len(_NUMBER.findall(el.get("points", "") + " " + el.get("d", ""))) // 2 + 1)
            drawn[ids[target]] += vertices if marked else 1


def _expansion_problem(root) -> str | None:  # type: ignore[no-untyped-def]
    """Why the data: SVG *root* draws more than :data:`MAX_SVG_EXPANSION` elements, or asks for
    more than :data:`MAX_SVG_WORK` of drawing, once each reference to another of its elements is
    followed, or refers to what holds it; None."""
    return _drawing(root)[0]


@functools.lru_cache(maxsize=64)
def _picture_work(url: str) -> int:
    """The drawing the data: SVG picture *url* asks for (see :data:`MAX_SVG_WORK`), a picture
    checked already (:func:`_nested_data_problem`): an ``<image>`` showing it draws all of it."""
    from lxml import etree

    data = data_bytes(url)
    try:
        root = etree.fromstring(data or b"", etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False))
    except etree.XMLSyntaxError:
        return 1
    return _drawing(root)[1]


def _drawing(root) -> tuple[str | None, int]:  # type: ignore[no-untyped-def]
    """:func:`_expansion_problem`'s answer, and the drawing *root* asks for."""
    elements = [el for el in root.iter() if isinstance(el.tag, str)]
    ids: dict[str, object] = {}
    for el in elements:
        ids.setdefault(el.get("id") or "", el)
    ids.pop("", None)
    # The references of the <style> sheets, which may apply to any element: counted at the root,
    # once per element of the picture.
    sheets = " ".join(el.text or "" for el in elements if el.tag == f"{{{SVG_NS}}}style")
    everywhere = Counter(ids[t] for t in _LOCAL_URL.findall(sheets) if ids.get(t) is not None)
    for target in everywhere:
        everywhere[target] *= len(elements)
    style = _stroke_style(root, elements)
    size: dict[object, int] = {}  # the drawing each element asks for, references followed
    count: dict[object, int] = {}  # the elements each draws, so counted
    parts: dict[object, Counter] = {}
    started: set = set()
    stack: list = [(root, False)]
    while stack:  # depth first, with a stack: a chain of thousands of references costs no recursion
        el, done = stack.pop()
        if done:
            total = _own_work(el, style) + sum(times * size[part] for part, times in parts[el].items())
            size[el] = min(total, MAX_SVG_WORK + 1)
            count[el] = min(1 + sum(times * count[part] for part, times in parts[el].items()), MAX_SVG_EXPANSION + 1)
            continue
        if el in size:
            continue
        started.add(el)
        drawn = parts[el] = Counter(c for c in el if isinstance(c.tag, str))
        _references(el, ids, drawn)
        if el is root:
            drawn.update(everywhere)
        stack.append((el, True))
        for part in drawn:
            if part not in size:
                if part in started:
                    return ("is a data: SVG picture with an element that refers to one that holds it, or refers back",
                            MAX_SVG_WORK + 1)
                stack.append((part, False))
    if count[root] > MAX_SVG_EXPANSION:
        return (f"is a data: SVG picture that draws more than {MAX_SVG_EXPANSION:,} elements once its references "
                "(<use>, markers, masks, clip paths, patterns, gradients) are followed", size[root])
    if size[root] > MAX_SVG_WORK:
        return (f"is a data: SVG picture that asks for more than {MAX_SVG_WORK:,} of drawing (elements, vertices, "
                "glyphs and dashes drawn, a wide stroke counting several times, and area painted: the whole picture "
                f"counts {WHOLE_AREA}) once its references (<use>, markers, masks, clip paths, patterns, gradients, "
                "pictures inside it) are followed", size[root])
    return None, size[root]


#: The elements whose outline a stroke follows (SVG 2 chapter 10, basic shapes and paths).
_SHAPES = frozenset({"path", "polyline", "polygon", "line", "rect", "circle", "ellipse"})
_PATH_TOKEN = re.compile(r"[MmLlHhVvCcSsQqTtAaZz]|" + _NUMBER.pattern)


#: A value the cascade computes (CSS Variables 1 section 3, and ``env()``, ``attr()``, ``if()``).
_COMPUTED_VALUE = re.compile(r"(?i)\b(?:var|env|attr|if)\s*\(")
#: A length as SVG writes it: a number, then its unit or ``%`` (SVG 2 section 4.2, CSS units).
_LENGTH = re.compile("(" + _NUMBER.pattern + r")\s*(%|[a-zA-Z]*)")
#: A glyph's outline, counted as this many vertices (a Latin letter's is a few dozen points).
GLYPH_VERTICES = 32


def _property_texts(elements: list, name: str) -> Iterator[str]:  # type: ignore[type-arg]
    """Every value the picture gives the property *name* anywhere: an attribute, a ``style``, a
    ``<style>`` sheet (every block, escapes decoded), what an animation sets."""
    for el in elements:
        yield el.get(name) or ""
        if el.get("attributeName", "").strip() == name:
            for key in ("from", "to", "by", "values"):
                yield from (el.get(key) or "").split(";")
        sheets = [f"x{{{el.get('style')}}}"] if el.get("style") else []
        if el.tag == f"{{{SVG_NS}}}style":
            sheets.append(el.text or "")
        for sheet in sheets:
            if name in sheet.lower() or "\\" in sheet:
                yield from (_text(d.value) for d in _declarations(sheet) if d.lower_name == name)


def _stroke_style(root, elements: list) -> tuple[float | None, int, float]:  # type: ignore[no-untyped-def, type-arg]
    """(the smallest dash pattern's length, how many times a stroke's width makes its drawing,
    the picture's area),
    as the picture *root* gives them anywhere, taken to apply to every shape and text (where they
    apply is the cascade's, and inherited).  The dash pattern: SVG 2 section 13.5.5
    ``stroke-dasharray``, a list repeated to an even count; None for no dashes.  The width: once,
    and once more per hundredth of the picture's diagonal (a stroke 2,000 units wide on a
    1,000-unit picture covers all of it with each segment: two hundred letters so stroked, drawn
    a thousand times, kept a reader for 22 s)."""
    import math

    box = [_number(n) for n in (root.get("viewBox") or "").replace(",", " ").split()[2:4]]
    if len(box) < 2 or not all(box):
        box = [_number(root.get("width")) or 1000.0, _number(root.get("height")) or 1000.0]
    diagonal, whole = max(math.hypot(*box), 1e-9), max(box[0] * box[1], 1e-9)
    periods = []
    for text in _property_texts(elements, "stroke-dasharray"):
        if _COMPUTED_VALUE.search(text):
            return 1e-9, MAX_SVG_WORK + 1, whole  # var(--d): dashes no check can count, counted as endless
        numbers = [abs(float(n)) for n in _NUMBER.findall(text)]
        if sum(numbers) > 0:
            periods.append(sum(numbers) * (2 if len(numbers) % 2 else 1))
    widest = 0.0
    for text in _property_texts(elements, "stroke-width"):
        if _COMPUTED_VALUE.search(text):
            return None, MAX_SVG_WORK + 1, whole  # a width no check can know, counted as endless
        found = _LENGTH.search(text)
        if found is None:
            continue
        value, unit = abs(float(found.group(1))), found.group(2).lower()
        widest = max(widest, value * (diagonal / 100 if unit == "%" else _ABSOLUTE_PX.get(unit, 16.0 if unit else 1.0)))
    times = 1 + widest / (diagonal / 100)
    return ((min(periods) if periods else None),
            int(times) if math.isfinite(times) and times < MAX_SVG_WORK else MAX_SVG_WORK + 1, whole)


#: What painting the whole picture once counts, as drawing (a hundredth of it counts one):
#: 10,000 translucent rectangles each as large as the picture, by four levels of ten ``<use>``
#: (1.5 KB), kept a reader 25 s.
WHOLE_AREA = 100


def _own_work(el, style: tuple[float | None, int, float]) -> int:  # type: ignore[no-untyped-def]
    """The drawing *el* asks for itself (see :data:`MAX_SVG_WORK`): one; a shape a vertex each
    and a dash each of its outline, a text :data:`GLYPH_VERTICES` a character, each as many
    times as its stroke's width makes it (*style*: :func:`_stroke_style`), and the area it
    paints (:data:`WHOLE_AREA` for the whole picture, at most); an ``<image>`` of an SVG picture,
    all that picture's drawing, and its area."""
    import math

    local = el.tag.rpartition("}")[2] if isinstance(el.tag, str) else ""
    period, times, whole = style

    def painted(area: float) -> int:
        share = min(area, whole) / whole if math.isfinite(area) else 1.0
        return math.ceil(WHOLE_AREA * share)

    if local == "image":
        url = (el.get("href") or el.get(_XLINK_HREF) or "").strip()
        own = _picture_work(url) if data_media_type(url).strip().lower() == "image/svg+xml" else 1
        return min(own + painted(_number(el.get("width")) * _number(el.get("height"))), MAX_SVG_WORK + 1)
    if local in ("text", "tspan", "textPath"):
        characters = len(el.text or "") + sum(len(child.tail or "") for child in el)
        size = _number(el.get("font-size")) or 16.0
        return min((1 + GLYPH_VERTICES * characters) * times + painted(characters * size * size), MAX_SVG_WORK + 1)
    if local not in _SHAPES:
        return 1
    numbers = _NUMBER.findall(el.get("points", "") + " " + el.get("d", ""))
    work = 1 + len(numbers) // 2
    if period is not None:
        length = max(_outline_length(el, local), _number(el.get("pathLength")))
        dashes = length / period
        work += int(dashes) if math.isfinite(dashes) and dashes < MAX_SVG_WORK else MAX_SVG_WORK + 1
    return min(work * times + painted(_shape_area(el, local)), MAX_SVG_WORK + 1)


def _shape_area(el, local: str) -> float:  # type: ignore[no-untyped-def]
    """At least the area the shape *el* paints: a basic shape's, else its outline's bounding box
    (a path's through its control points, relative moves followed)."""
    import math

    get = lambda name: _number(el.get(name))  # noqa: E731
    if local == "rect":
        return get("width") * get("height")
    if local == "circle":
        return math.pi * get("r") ** 2
    if local == "ellipse":
        return math.pi * get("rx") * get("ry")
    if local == "line":
        return 0.0
    if local in ("polyline", "polygon"):
        values = [float(n) for n in _NUMBER.findall(el.get("points", ""))]
        xs, ys = values[0::2], values[1::2]
        return (max(xs) - min(xs)) * (max(ys) - min(ys)) if xs and ys else 0.0
    return _path_geometry(el.get("d", ""))[1]


def _number(text: str | None) -> float:
    """The first number of *text*, its magnitude (0 for none, infinity for one too large)."""
    found = _NUMBER.search(text or "")
    return abs(float(found.group())) if found else 0.0


def _outline_length(el, local: str) -> float:  # type: ignore[no-untyped-def]
    """At least the length of the outline of the shape *el*: exact for basic shapes, a path's
    through its control points (never shorter than its curves) and an arc's as a whole ellipse."""
    import math

    get = lambda name: _number(el.get(name))  # noqa: E731
    if local == "circle":
        return 2 * math.pi * get("r")
    if local == "ellipse":
        return 2 * math.pi * max(get("rx"), get("ry"))
    if local == "rect":
        return 2 * (get("width") + get("height"))
    if local == "line":
        return math.hypot(get("x2") - get("x1"), get("y2") - get("y1"))
    if local in ("polyline", "polygon"):
        values = [float(n) for n in _NUMBER.findall(el.get("points", ""))]
        points = list(zip(values[0::2], values[1::2]))
        return sum(math.dist(a, b) for a, b in zip(points, points[1:] + points[:1]))
    return _path_length(el.get("d", ""))


#: How many numbers each path command takes (SVG 2 section 9.3, the path data grammar).
_PATH_ARITY = {"m": 2, "l": 2, "h": 1, "v": 1, "c": 6, "s": 4, "q": 4, "t": 2, "a": 7, "z": 0}


def _path_length(d: str) -> float:
    """At least the length of the path data *d*: each segment's control polygon from the current
    point (a Bézier curve lies inside it), a smooth curve's reflected control point counted by the
    leg it mirrors, an arc as its whole ellipse and a half turn on its chord."""
    return _path_geometry(d)[0]


def _path_geometry(d: str) -> tuple[float, float]:
    """(:func:`_path_length` of *d*, the area of the box around its points and control points,
    an arc's whole ellipse inside it)."""
    import math

    low, high = [math.inf, math.inf], [-math.inf, -math.inf]

    x = y = sx = sy = 0.0
    leg = total = 0.0
    command, args = "m", []
    for token in _PATH_TOKEN.findall(d):
        if token.isalpha():
            command, args = token, []
            if command in "zZ":
                total, x, y = total + math.dist((x, y), (sx, sy)), sx, sy
            continue
        args.append(float(token))
        if len(args) < _PATH_ARITY[command.lower()]:
            continue
        relative, kind = command.islower(), command.lower()
        if kind == "h":
            points = [(args[0] + (x if relative else 0), y)]
        elif kind == "v":
            points = [(x, args[0] + (y if relative else 0))]
        elif kind == "a":
            points = [(args[5] + (x if relative else 0), args[6] + (y if relative else 0))]
            total += 2 * math.pi * max(abs(args[0]), abs(args[1])) + math.pi * math.dist((x, y), points[0])
        else:
            points = [(args[i] + (x if relative else 0), args[i + 1] + (y if relative else 0))
                      for i in range(0, len(args), 2)]
        if kind in "st":
            total += leg
        reach = max(abs(args[0]), abs(args[1])) if kind == "a" else 0.0
        for px, py in ((x, y), *points):
            low[0], low[1] = min(low[0], px - reach), min(low[1], py - reach)
            high[0], high[1] = max(high[0], px + reach), max(high[1], py + reach)
        path = [(x, y), *points]
        if kind != "a":
            total += sum(math.dist(a, b) for a, b in zip(path, path[1:]))
        leg = math.dist(path[-2], path[-1]) if kind in "csqt" else 0.0
        if kind == "m":
            total -= math.dist((x, y), points[0])  # a move draws nothing
            sx, sy = points[0]
            command = "l" if relative else "L"  # further pairs are lines (section 9.3.3)
        x, y = points[-1]
        args = []
    area = (high[0] - low[0]) * (high[1] - low[1]) if high[0] >= low[0] else 0.0
    return total, area if math.isfinite(area) or area > 0 else 0.0



#: SVG's animation elements (SVG 2 section 19.2): what one sets is an attribute as if written.
_SVG_ANIMATIONS = frozenset({"set", "animate", "animateMotion", "animateTransform", "discard"})


#: The namespace of SVG's elements: the only ones a data: SVG picture may hold.
SVG_NS = "http://www.w3.org/2000/svg"
#: The elements of SVG 2 (its element index, appendix), less ``script`` and ``foreignObject``:
#: the only ones a data: SVG picture may hold.  Anything else is refused by name, never read
#: for what it may do: SVG Tiny 1.2's ``<handler>`` and ``<listener>`` run script, its
#: ``<prefetch>``, ``<video>``, ``<animation>`` load, SVG 1.1's fonts and ``<tref>`` reference.
SVG_ELEMENTS = frozenset({
    "a", "animate", "animateMotion", "animateTransform", "circle", "clipPath", "defs", "desc", "discard", "ellipse",
    "feBlend", "feColorMatrix", "feComponentTransfer", "feComposite", "feConvolveMatrix", "feDiffuseLighting",
    "feDisplacementMap", "feDistantLight", "feDropShadow", "feFlood", "feFuncA", "feFuncB", "feFuncG", "feFuncR",
    "feGaussianBlur", "feImage", "feMerge", "feMergeNode", "feMorphology", "feOffset", "fePointLight",
    "feSpecularLighting", "feSpotLight", "feTile", "feTurbulence", "filter", "g", "image", "line", "linearGradient",
    "marker", "mask", "metadata", "mpath", "path", "pattern", "polygon", "polyline", "radialGradient", "rect", "set",
    "stop", "style", "svg", "switch", "symbol", "text", "textPath", "title", "tspan", "use", "view",
})


def _svg_effect_problem(el, local: str, target: str) -> str | None:  # type: ignore[no-untyped-def]
    """Why the element *el* of a data: SVG draws at a cost no check can bound (see
    :func:`effect_problems`); *target*: the attribute it animates, if it is an animation."""
    if local == "filter" or local.startswith("fe"):
        # <filter> and its primitives (feGaussianBlur, feMorphology, feTurbulence...: every SVG 2
        # element whose name starts so): their work grows with their numbers, with how many are
        # chained and with the picture's scale (a transform makes a bounded radius any size).
        return (f"is a data: SVG picture with a filter effect (<{local}>): its work grows with its numbers, its "
                "chain and the picture's scale, beyond what a check can bound")
    if local in _SVG_ANIMATIONS and target in _EFFECT_PROPERTIES:
        # <animate attributeName="filter" to="blur(...)">: the presentation attribute as set.
        for key in ("from", "to", "by", "values"):
            for value in (el.get(key) or "").split(";"):
                if value.strip() and (found := effect_problems(f"x{{{target}:{value}}}")):
                    return f"is a data: SVG picture whose <{local}> sets {found[0].what} ({found[0].url})"
    return None


def _svg_element_problem(el, qname, depth: int) -> str | None:  # type: ignore[no-untyped-def]
    """Why the element *el* (named *qname*) of a data: SVG may not stand in a book (see
    :func:`_svg_problem`)."""
    from lxml import etree

    local = qname.localname
    if qname.namespace != SVG_NS:
        # An XHTML <video poster>, <body background> or <meta http-equiv> inside the picture is an
        # HTML element to a reader's XML parser, with attributes that load what no check here reads.
        where = f"the namespace {qname.namespace}" if qname.namespace else "no namespace"
        return f"is a data: SVG picture holding <{local}> of {where}: a picture holds SVG elements alone"
    if local not in SVG_ELEMENTS and local not in ("script", "foreignObject"):
        return f"is a data: SVG picture holding <{local}>, which is not an element of SVG 2"
    if local == "style" and len(el):
        # A reader's CSS is the text around an element or comment inside <style>; this check's
        # would be the text before it.
        return "is a data: SVG picture whose <style> holds more than text (CSS alone, in one piece)"
    if local in ("script", "foreignObject", "iframe"):
        return f"is a data: SVG picture holding <{local}> (a book runs no code and loads no other document)"
    target = el.get("attributeName", "").rpartition(":")[2].lower() if local in _SVG_ANIMATIONS else ""
    if target.startswith("on") or target in ("href", "src"):
        return f"is a data: SVG picture whose <{local}> sets {target!r} (a book runs no code, loads nothing)"
    # The text and values as parsed: a character reference (&#x202E;) is the character.
    for text in (el.text, el.tail, *el.attrib.values()):
        if text and (bad := _CONTROLS.search(text)) is not None:
            return (f"is a data: SVG picture holding the character U+{ord(bad.group()):04X}, which no book holds "
                    "(a control, bidi control or noncharacter)")
    sheets = [el.text or ""] if local == "style" else []
    if (why := _svg_effect_problem(el, local, target)) is not None:
        return why
    for key, value in el.attrib.items():
        name = etree.QName(key).localname
        if name.lower().startswith("on"):
            return f"is a data: SVG picture with the event handler {name!r} (a book runs no code)"
        if name in ("href", "src"):
            if value.strip().startswith("data:"):
                if (why := _nested_data_problem(value.strip(), depth)) is not None:
                    return why
            elif not value.strip().startswith("#"):
                return f"is a data: SVG picture that loads {value[:80]!r} from outside itself"
        elif name == "style" or "(" in value or "\\" in value:
            # A declaration list, or a presentation attribute's value (fill, filter, mask...): CSS.
            sheets.append(f"x{{{value}}}" if name == "style" else f"x{{{name}:{value}}}")
    for css in sheets:
        # Read by the CSS gate's parser: escapes decoded ("u\\72l(" is url(), "\\202e" a bidi control).
        if too_deep(css) is not None:
            return "is a data: SVG picture whose CSS is not CSS as written, or holds a control character"
        broken = malformed(css, selectors=False)
        costly = [ref for ref in broken if ref.what == "a costly effect"]
        if len(costly) < len(broken):
            return "is a data: SVG picture whose CSS is not CSS as written, or holds a control character"
        for ref in references(css):
            url = ref.url.strip()
            if ref.what == "@import" or not url.startswith(("#", "data:")):
                return "is a data: SVG picture whose CSS loads from outside itself"
            if url.startswith("data:") and (why := _nested_data_problem(url, depth)) is not None:
                return why
        if costly:  # said after what loads from outside, the graver
            return f"is a data: SVG picture with {costly[0].what} ({costly[0].url})"
    return None


#: Pictures inside a data: SVG inside ... checked this deep, and refused deeper.
MAX_SVG_NESTING = 4


def _nested_data_problem(url: str, depth: int) -> str | None:
    """Why a data: URL inside a data: SVG may not stand there: a picture of a core media type,
    a PNG, GIF, JPEG or WebP one of its type's bytes, an SVG held to the same rules, its
    ``charset`` label included (the reading system decodes the inner picture by it too)."""
    media = data_media_type(url).strip().lower()
    if media != "image/svg+xml":
        if media not in _RASTER:
            return (f"is a data: SVG picture holding a data: URL of type {media or 'text/plain (none given)'!r}: "
                    "what a picture holds or links to is a picture (PNG, GIF, JPEG, WebP or SVG)")
        data = data_bytes(url)
        return data_payload_problem(url) if data is None else _raster_problem(media, data)
    if depth + 1 >= MAX_SVG_NESTING:
        return f"is a data: SVG picture holding SVG pictures more than {MAX_SVG_NESTING} deep"
    data = data_bytes(url)
    return data_payload_problem(url) if data is None else _svg_problem(data, depth + 1, labelled=url)
