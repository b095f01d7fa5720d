"""The one place where digest text becomes markup.

Titles, authors, labels and summaries are untrusted: a summarising bot wrote
them.  Both backends (EPUB XHTML and feed HTML) take their markup from here
and nowhere else, so the rules live in one place:

* titles are literal text (docs/format.md, variant 7); simple TeX such as
  ``M$^{2}$UGen`` or ``$\\times$`` is rendered, anything else stays literal;
* summaries are inline CommonMark (markdown-it-py) with raw HTML disabled, so
  ``<script>`` arrives as the text ``&lt;script&gt;``; images are disabled
  (a remote ``<img>`` would make an EPUB invalid, RSC-006);
* only ``http``/``https`` URLs become links;
* the output is well-formed XHTML using only :data:`ALLOWED_TAGS` with only
  :data:`ALLOWED_ATTRIBUTES`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable

from markupsafe import Markup, escape

from .gates.urls import public_url
from .model import SummaryItem, drop_forbidden, has_visible

# The characters model.clean_text removes (XML-forbidden, C1 controls,
# lone surrogates, bidi embeddings/overrides/isolates, noncharacters): the
# model is already clean, but the renderer is public and must give
# well-formed XHTML for *any* string, and markdown-it decodes "&#x202E;",
# "&#8238;" or "&#x85;" in a summary into those characters after the
# reader's cleaning, so every rendered string is cleaned again on its way out.
_xml_chars = drop_forbidden
#: U+2028 LINE SEPARATOR and U+2029 PARAGRAPH SEPARATOR (Unicode's Zl and Zp, all of them), and
#: the white space controls XML allows, CR and TAB (a reference ``&#xD;`` decodes to one): a space
#: each, as the reader makes of them typed raw (XML 1.0 section 2.11 would make a line break of CR).
_SEPARATORS_AS_SPACES = str.maketrans({"\u2028": " ", "\u2029": " ", "\r": " ", "\t": " "})
_WHITE_CONTROLS = str.maketrans({"\r": " ", "\t": " "})


#: Every element the renderer may emit.
ALLOWED_TAGS = frozenset({"a", "strong", "em", "code", "br", "sup", "sub", "span", "ul", "ol", "li", "s"})
#: Every attribute the renderer may emit, per element.
ALLOWED_ATTRIBUTES = {"a": frozenset({"href"}), "ul": frozenset({"class"}),
                      "span": frozenset({"class", "lang", "{http://www.w3.org/XML/1998/namespace}lang"}),
                      "ol": frozenset({"class"}), "li": frozenset({"class"})}

# Every URL written goes through the one URL gate (WHATWG parser, IDNA 2008 hosts, and a host on
# the public internet: gates.urls.public_url).
safe_url = public_url


# -- TeX in titles -----------------------------------------------------------

_TEX_SYMBOLS = {
    "times": "×", "cdot": "·", "pm": "±", "rightarrow": "→", "to": "→", "leftarrow": "←",
    "infty": "∞", "approx": "≈", "leq": "≤", "geq": "≥", "le": "≤", "ge": "≥", "neq": "≠",
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε",
    "zeta": "ζ", "eta": "η", "theta": "θ", "iota": "ι", "kappa": "κ", "lambda": "λ",
    "mu": "μ", "nu": "ν", "xi": "ξ", "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ",
    "upsilon": "υ", "phi": "φ", "varphi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω",
    "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ", "Pi": "Π",
    "Sigma": "Σ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω", "star": "⋆", "ast": "∗",
    "circ": "∘", "sim": "∼", "in": "∈", "%": "%", "&": "&", "#": "#", "_": "_", "$": "$",
}
_SUP_CHARS = "0123456789+-=()ni"
_SUB_CHARS = "0123456789+-=()"
_SUP = str.maketrans(_SUP_CHARS, "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱ")
_SUB = str.maketrans(_SUB_CHARS, "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎")
# Pandoc's tex_math_dollars rule: the opening $ has a non-space on its right,
# the closing $ a non-space on its left and no digit after it, so prices
# ("costs $5 and $10") stay literal.
_MATH_RE = re.compile(r"\$(?=[^\s$])([^$]{1,80}?)(?<=\S)\$(?![0-9])")
_TEX_TOKEN = re.compile(r"\\([A-Za-z]+|[%&#_$])\s*|([\^_])(?:\{([^{}]*)\}|(\S))|\{([^{}]*)\}|([^\\^_{}]+)")


def _tex_parts(expr: str) -> list[tuple[str, str]] | None:
    """Split simple TeX into (kind, text) with kind in '', 'sup', 'sub';
    None when it holds anything we do not know how to show."""
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(expr):
        m = _TEX_TOKEN.match(expr, pos)
        if not m:
            return None
        pos = m.end()
        cmd, script, braced, single, group, plain = m.groups()
        if cmd is not None:
            if cmd in {"mathrm", "text", "mathbf", "mathit", "mathcal", "textbf", "textit", "operatorname"}:
                continue  # the group that follows is shown as plain text
            if cmd not in _TEX_SYMBOLS:
                return None
            out.append(("", _TEX_SYMBOLS[cmd]))
        elif script is not None:
            inner = braced if braced is not None else single
            sub = _tex_parts(inner)
            if sub is None or any(k for k, _ in sub) or not has_visible("".join(t for _, t in sub)):
                # A script that shows nothing ("$^{}$") would be an empty <sup>: the TeX stays
                # literal, in titles and summaries alike.
                return None
            out.append(("sup" if script == "^" else "sub", "".join(t for _, t in sub)))
        elif group is not None:
            sub = _tex_parts(group)
            if sub is None:
                return None
            out.extend(sub)
        else:
            out.append(("", plain))
    return out


def _title_pieces(title: str) -> Iterable[tuple[str, str]]:
    pos = 0
    for m in _MATH_RE.finditer(title):
        parts = _tex_parts(m.group(1))
        # TeX we cannot show, or that shows nothing ("$\mathrm{}$", "$^{}$"),
        # stays literal: a title never renders empty (an empty nav link is
        # an EPUBCheck error, an empty feed title a blank line in a reader).
        if parts is None or not has_visible("".join(text for _, text in parts)):
            continue
        if m.start() > pos:
            yield "", title[pos:m.start()]
        yield from parts
        pos = m.end()
    if pos < len(title):
        yield "", title[pos:]


@functools.lru_cache(maxsize=65536)
def title_text(title: str) -> str:
    """A title as plain text (feed titles, file metadata): simple TeX becomes
    Unicode (``M$^{2}$UGen`` -> ``M²UGen``), anything else stays literal."""
    return _pieces_text(_title_pieces(_xml_chars(title)))


def _pieces_text(pieces: Iterable[tuple[str, str]]) -> str:
    """TeX pieces as plain text: superscript and subscript characters where Unicode has them all
    (``10⁻³``), else ``^(...)`` and ``_(...)``, so that ``10^{-3}`` never reads ``10-3``."""
    out = []
    for kind, text in pieces:
        if kind:
            table, chars = (_SUP, _SUP_CHARS) if kind == "sup" else (_SUB, _SUB_CHARS)
            mark = "^" if kind == "sup" else "_"
            if all(c in chars for c in text):
                out.append(text.translate(table))
            else:
                out.append(mark + text if len(text) == 1 else f"{mark}({text})")
        else:
            out.append(text)
    return "".join(out)


@functools.lru_cache(maxsize=65536)
def title_html(title: str) -> Markup:
    """A title as an XHTML fragment: escaped text, simple TeX as sup/sub."""
    return Markup(_pieces_html(_title_pieces(_xml_chars(title))))


def _pieces_html(pieces: Iterable[tuple[str, str]]) -> str:
    return "".join(f"<{kind}>{escape(text)}</{kind}>" if kind else str(escape(text)) for kind, text in pieces)


# Simple TeX in summaries is shown as in titles ("SOTOPIA-$\pi$" as SOTOPIA-π):
# each span becomes a placeholder of private-use characters (plain text to
# the Markdown parser, so "$x_i$" is not emphasis) and its markup is put back
# after the rendering.  Not in text with code spans, where "$" is literal.
_PLACEHOLDER = re.compile("\ue000([0-9]+)\ue001")


def _tex_placeholders(text: str, shown: Callable[[Iterable[tuple[str, str]]], str] | None = None
                      ) -> tuple[str, list[str]]:
    """*text* with each simple TeX span replaced by a placeholder, and the spans' markup (or what
    *shown* makes of their pieces)."""
    if "$" not in text or "`" in text or "\ue000" in text or "\ue001" in text:
        return text, []
    spans: list[str] = []

    def placeholder(m: re.Match[str]) -> str:
        parts = _tex_parts(m.group(1))
        if parts is None or not has_visible("".join(t for _, t in parts)):
            return m.group(0)
        spans.append((shown or _pieces_html)(parts))
        return f"\ue000{len(spans) - 1}\ue001"

    return _MATH_RE.sub(placeholder, text), spans


@functools.lru_cache(maxsize=64)
def lang_attrs(lang: str | None) -> Markup:
    """`` lang="en" xml:lang="en"`` for an element in another language than
    its parent (XHTML wants both, equal: HTML section 3.2.6.2), or nothing."""
    if not lang:
        return Markup("")
    return Markup(' lang="{0}" xml:lang="{0}"').format(lang)


def text_html(text: str) -> Markup:
    """Plain text (author names, labels, dates) escaped for XHTML."""
    return escape(_xml_chars(text))


# -- inline Markdown ----------------------------------------------------------

@functools.cache
def _markdown(linkify: bool = True, links: bool = True):
    # Imported lazily: `digest-export --help` must not pay for it.
    from markdown_it import MarkdownIt
    from markdown_it.common.utils import escapeHtml

    linkify = linkify and _has_linkify()
    md = MarkdownIt("commonmark", {"html": False, "xhtmlOut": True, "linkify": linkify,
                                   "breaks": False})
    md.disable(["image"] if links else ["image", "link"])
    if linkify:
        md.enable("linkify")
        # Only links with a scheme: fuzzy matching turns "README.md" or
        # "model.py" into http links (.md and .py are TLDs).
        md.linkify.set({"fuzzy_link": False, "fuzzy_email": False, "fuzzy_ip": False})
    # Every destination makes a link token, and _link_open renders one the URL gate refuses as
    # its words alone: refused here, "[js](javascript:...)" stayed in the text as Markdown.
    md.validateLink = lambda url: True  # type: ignore[method-assign]
    md.normalizeLink = lambda url: safe_url(url) or ""  # type: ignore[method-assign]
    md.normalizeLinkText = lambda url: url  # type: ignore[method-assign]
    # '[a](https://x "t")' would give title="t", outside ALLOWED_ATTRIBUTES.
    md.add_render_rule("link_open", _link_open)
    md.add_render_rule("link_close", _link_close)
    return md, escapeHtml


def _link_open(self, tokens, idx, options, env):  # type: ignore[no-untyped-def]
    token = tokens[idx]
    href = token.attrs.get("href", "")
    # "[x]()" has an empty destination, which markdown-it never passes to
    # validateLink: render its text without a link.  Links cannot nest
    # (CommonMark 6.3), so one flag pairs the open with its close.
    if not isinstance(href, str) or safe_url(href) is None or _taken_short(tokens, idx):
        env["_dropped_link"] = True
        return ""
    token.attrs = {"href": href}
    opening = self.renderToken(tokens, idx, options, env)
    if not _has_visible_text(tokens, idx + 1):
        # "[](https://...)" (or an image, which is disabled, "![](...)")
        # would be a link with no name for assistive technology (WCAG 2.1
        # SC 2.4.4 and 4.1.2; axe-core "link-name"): its URL names it.
        _, escape_html = _markdown()
        opening += escape_html(href)
    return opening


#: What may follow a bare URL without being part of it: closing punctuation,
#: and the closers of emphasis and of "<...>".
_AFTER_URL = frozenset("*_~>.,;:!?)]}'\"»”’…。、，．！？）」』】")


def _taken_short(tokens, idx: int) -> bool:  # type: ignore[no-untyped-def]
    """Whether linkify-it took only the start of a bare URL: the word goes on
    after the link with more than closing punctuation ("https://example.com./p",
    "https://ex%61mple.com"), because the URL gate refused the whole.  Linking
    the start would send the reader to another host than the one written."""
    if tokens[idx].markup != "linkify":
        return False
    end = idx + 1
    while end < len(tokens) and tokens[end].type != "link_close":
        end += 1
    after = tokens[end + 1].content if end + 1 < len(tokens) and tokens[end + 1].type == "text" else ""
    word = "" if not after or after[0].isspace() else after.split(None, 1)[0]
    return any(c not in _AFTER_URL for c in word)


def _has_visible_text(tokens, start: int) -> bool:  # type: ignore[no-untyped-def]
    """Whether the link opened before *start* holds a visible character."""
    for token in tokens[start:]:
        if token.type == "link_close":
            return False
        if has_visible(token.content):
            return True
    return False


def _link_close(self, tokens, idx, options, env):  # type: ignore[no-untyped-def]
    if env.pop("_dropped_link", False):
        return ""
    return self.renderToken(tokens, idx, options, env)


def _has_linkify() -> bool:
    try:
        import linkify_it  # noqa: F401
    except ImportError:  # pragma: no cover - it is a declared dependency
        return False
    return True


# Characters (or words) that can change what inline Markdown means.  Text
# without any of them renders as its escaped self, which skips the parser: a
# year of digests has ~40,000 bullets and most are plain prose.
# "\r" is in the set because markdown-it normalises it to "\n".
_MARKDOWN_SIGNIFICANT = re.compile(r"[\\`*_\[\]<>&!~\n\r]")


def _markdown_significant(text: str) -> bool:
    """Whether *text* holds one of :data:`_MARKDOWN_SIGNIFICANT` or ``://``: two searches, as a
    pattern with an alternative is tried at every position (twice the time of both)."""
    return "://" in text or _MARKDOWN_SIGNIFICANT.search(text) is not None


def _escape_like_markdown_it(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


# Second fast path (added for the EPUB benchmark: a year has ~6,000 bullets
# that only hold "**bold**", "(<0.5초)" or "A & B", each costing a full
# markdown-it parse).  Anything outside this subset goes to the parser; the
# equivalence with markdown-it is property-tested in tests/test_render_fast.py.
_NOT_SIMPLE = re.compile(r"[\\`_\[\]!~\n\r]|://|<[A-Za-z/!?]|&[#A-Za-z]")


def _simple_inline(text: str) -> str | None:
    """Render text whose only markup is ``**strong**`` around alphanumeric-bounded
    runs, and whose ``<``/``&`` cannot start a tag, autolink or entity; else None."""
    if _NOT_SIMPLE.search(text) or "***" in text:
        # (A run of three asterisks or more, "**a****a**", is two runs the parser may pair
        # otherwise: CommonMark 6.2's rule of three.)
        return None
    parts = text.split("**")
    if len(parts) % 2 == 0 or any("*" in part for part in parts):
        return None
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            # CommonMark 6.2: an opening run followed, and a closing run preceded,
            # by an alphanumeric character is left- resp. right-flanking, whatever
            # is on its other side; pairs then match left to right.
            if not (part and part[0].isalnum() and part[-1].isalnum()):
                return None
            out.append("<strong>" + _escape_like_markdown_it(part) + "</strong>")
        else:
            out.append(_escape_like_markdown_it(part))
    return "".join(out)


# Third fast path: prose with bare URLs ("코드는 https://github.com/x/y 에서
#공개"), which markdown-it hands to linkify-it, about 0.1 ms a bullet.  Only
# the most common shape is taken: a URL standing between white space, with a
# dotted host, an alphabetic top-level domain and a path of unreserved
# characters that does not end in punctuation; every other '://' goes to the
# parser.  tests/test_render_fast.py checks the equivalence.
_BARE_URL = re.compile(
    r"(?:(?<=\s)|^)(https?://(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}"
    r"(?:/(?:[A-Za-z0-9_./-]*[A-Za-z0-9_/])?)?)(?=\s|$)"
)


def _url_inline(text: str) -> str | None:
    """Render plain text with bare http(s) URLs of the simple shape; else None."""
    if "*" in text:
        return None
    pieces = _BARE_URL.split(text)
    if len(pieces) == 1:
        return None
    out = []
    for i, piece in enumerate(pieces):
        if i % 2:
            href = safe_url(piece)
            if href is None:
                return None
            out.append(f'<a href="{href}">{piece}</a>')
        elif _NOT_SIMPLE.search(piece):
            return None
        else:
            out.append(_escape_like_markdown_it(piece))
    return "".join(out)


@functools.lru_cache(maxsize=131072)
def inline_html(text: str) -> Markup:
    """Inline Markdown (bold, italic, code, http(s) links, bare URLs) and simple TeX as XHTML."""
    html, tex = _inline_and_tex(text)
    return Markup(_PLACEHOLDER.sub(lambda m: tex[int(m.group(1))], html)) if tex else html


def _inline_and_tex(text: str, shown: Callable[[Iterable[tuple[str, str]]], str] | None = None
                    ) -> tuple[Markup, list[str]]:
    """*text* rendered by :func:`_inline` with each simple TeX span a placeholder, and what each
    placeholder stands for (:func:`_tex_placeholders`)."""
    # CR and TAB typed raw are spaces here too (what the paths below make of them alike: a space,
    # as the reader makes of them in every field; markdown-it's path of a decoded reference).
    if "\r" in text or "\t" in text:
        text = text.translate(_WHITE_CONTROLS)
    text, tex = _tex_placeholders(_xml_chars(text), shown)
    return _inline(text), tex


#: A tag of :func:`inline_html`'s own markup (its attribute values escape "<" and ">").
_TAG = re.compile(r"<[^<>]*>")


def inline_text(text: str) -> str:
    """Inline Markdown as the words a reader sees of it, without markup (an Atom summary of type
    text, an RSS description): what :func:`inline_html` renders, its tags dropped and its
    character references decoded, so ``AT&amp;T`` is ``AT&T``, ``[link](URL)`` is ``link`` and
    the text is cleaned as the content's is (a bidi control written ``&#x202e;`` is gone); simple
    TeX as a feed title shows it (``10⁻³``, :func:`title_text`), not its markup's letters."""
    import html

    rendered, tex = _inline_and_tex(text, _pieces_text)
    words = html.unescape(_TAG.sub("", str(rendered)))
    if tex:
        words = _PLACEHOLDER.sub(lambda m: tex[int(m.group(1))], words)
    return " ".join(words.split())


def _inline(text: str) -> Markup:
    if not _markdown_significant(text):
        return Markup(_escape_like_markdown_it(text))
    simple = _simple_inline(text)
    if simple is None:
        simple = _url_inline(text)
    if simple is not None:
        return Markup(simple)
    return _inline_markdown(text)


MAX_BARE_URLS = 16
#: The most "[" a bullet may hold and have its [text](url) links rendered as links.
MAX_LINK_OPENERS = 256


def _inline_markdown(text: str) -> Markup:
    """The parser path of :func:`inline_html` (tests compare the fast path to it)."""
    # linkify-it rescans the rest of the text at every "://" it cannot take
    # for a link, quadratic time: 40 KB of "h://" took 11 s.  A bullet with
    # more than MAX_BARE_URLS of them is rendered without bare-URL links
    # ([text](url) links still work).
    # markdown-it looks for the end of a link's text from each "[" (its label parser steps over
    # every inline token to the next "]"): linear, but 30 microseconds a character, so a
    # 190,000-character bullet of "[" took 6 s.  A bullet with more than MAX_LINK_OPENERS of
    # them is rendered without [text](url) links (bare URLs still are).
    md, _ = _markdown(text.count("://") <= MAX_BARE_URLS, text.count("[") <= MAX_LINK_OPENERS)
    # Twice: the text, and what markdown-it decoded from character references; and the line
    # and paragraph separators a reference decodes to (``&#x2028;``) as the space the reader makes
    # of them typed raw (they end a line in JavaScript and in some readers, not in XML).
    html = _xml_chars(md.renderInline(_xml_chars(text))).translate(_SEPARATORS_AS_SPACES)
    # CommonMark turns "two spaces + newline" into <br />; our text has no
    # newlines, but keep the output on one line regardless.
    return Markup(html.replace("\n", " "))


def _item_html(item: SummaryItem, label_class: str, lang: str | None) -> str:
    parts = []
    if item.label:
        parts.append(f'<strong><span class="{escape(label_class)}"{_label_lang(item.label, lang)}>'
                     f'{text_html(item.label)}</span></strong>')
        if item.text:
            parts.append(": ")
    parts.append(inline_html(item.text))
    if item.children:
        parts.append(summary_html(item.children, label_class=label_class, lang=lang))
    return "<li>" + "".join(parts) + "</li>"


@functools.lru_cache(maxsize=4096)
def _label_lang(label: str, lang: str | None) -> str:
    """`` lang="en" xml:lang="en"`` for a label in another language than the
    summary's (Korean digests label their bullets "What's New"; WCAG 2.1
    SC 3.1.2), else ``""``.  A digest has a handful of labels: cached."""
    from .language import language_of, primary

    found = language_of((label,)) if lang else None
    return "" if found is None or found == primary(lang or "") else str(lang_attrs(found))


def summary_html(items: Iterable[SummaryItem], *, label_class: str = "label", lang: str | None = None) -> Markup:
    """A summary as a nested ``<ul>``; labels in ``<strong>``.  With *lang*
    (the summary's language), labels in another language say so."""
    items = tuple(items)
    if not items:
        return Markup("")
    return Markup('<ul class="summary">' + "".join(_item_html(i, label_class, lang) for i in items) + "</ul>")


# -- feed entries -------------------------------------------------------------

@functools.lru_cache(maxsize=65536)
def _attr_url(url: str | None) -> str | None:
    """An http(s) URL escaped for an HTML attribute, or None (cached: a
    year of feed entries repeats the same link shapes 30,000 times)."""
    url = safe_url(url)
    return str(escape(url)) if url else None


def feed_entry_html(paper, lang: str = "en") -> Markup:  # paper: exporter.model.Paper
    """The HTML content of a feed entry for *paper* (Atom/RSS/JSON Feed).

    Feed readers show this outside any page of ours, so every URL in it is an
    absolute http(s) URL (relative thumbnails are left out) and it adds only
    ``p``, ``img`` (remote image thumbnails) and ``a`` to the summary markup.
    """
    from .language import labels_for

    labels = labels_for(lang)
    out = []
    thumb = paper.thumbnail
    src = _attr_url(thumb.url) if thumb is not None else None
    if src and thumb.kind.value == "image":
        out.append(f'<p><img src="{src}" alt="" /></p>')
    elif src:
        out.append(f'<p><a href="{src}">{escape(labels["video"])}</a></p>')
    meta = []
    if paper.votes is not None:
        meta.append(f"{escape(labels['votes'])}: {paper.votes}")
    if paper.authors:
        meta.append(f"{escape(labels['authors'])}: " + str(escape(", ".join(paper.authors))))
    if meta:
        out.append("<p>" + "<br />".join(meta) + "</p>")
    out.append(str(summary_html(paper.summary)))
    links = [(_attr_url(url), name) for url, name in (
        (paper.link, "arXiv" if paper.arxiv_id else "Paper"),
        (paper.pdf_url, "PDF"),
        (paper.hf_url, "Hugging Face"),
    )]
    links = [f'<a href="{href}">{name}</a>' for href, name in links if href]
    if links:
        out.append("<p>" + " · ".join(links) + "</p>")
    if not "".join(out):
        # A paper with only a title: its title, not a blank entry.
        out = [f"<p>{title_html(paper.title)}</p>"]
    return Markup("".join(out))
