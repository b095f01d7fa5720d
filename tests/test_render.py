"""The renderer: any string gives well-formed, allow-listed XHTML (hypothesis),
the fast path equals the parser path, TeX titles, hostile links, safe_url."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from lxml import etree

from exporter import render
from exporter.model import SummaryItem
from exporter.render import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_TAGS,
    inline_html,
    safe_url,
    summary_html,
    text_html,
    title_html,
    title_text,
)

XHTML = "http://www.w3.org/1999/xhtml"


def parse(fragment: str) -> etree._Element:
    """Parse a fragment as XML (no HTML leniency) inside an XHTML div."""
    return etree.fromstring(f'<div xmlns="{XHTML}">{fragment}</div>'.encode("utf-8"))


def assert_safe_xhtml(fragment: str) -> etree._Element:
    root = parse(fragment)
    for el in root.iterdescendants():
        assert isinstance(el.tag, str), f"comment or PI in {fragment!r}"
        ns, _, tag = el.tag.rpartition("}")
        assert ns == "{" + XHTML and tag in ALLOWED_TAGS, (tag, fragment)
        allowed = ALLOWED_ATTRIBUTES.get(tag, frozenset())
        assert set(el.attrib) <= allowed, (tag, dict(el.attrib), fragment)
        if tag == "a":
            assert el.get("href", "").startswith(("http://", "https://")), fragment
    return root


# Pieces that exercise Markdown, HTML, entities, TeX and URL handling.
TOKENS = [
    "*", "**", "***", "_", "__", "`", "``", "[", "]", "(", ")", "<", ">", "&", "!", "~~", "\\", "#",
    "$", "^", "{", "}", "\\times", "\\alpha", "\\foo", "2", " ", "  ", "\n", "\r", "\t", ":", "/", ".", "'", '"',
    "a", "한글", "http://", "https://x.org/p?q=1&r=2", "javascript:alert(1)", "data:text/html,x", "file:///etc",
    "<script>", "</script>", "<img src=x onerror=y>", "<a href='javascript:x'>", "&amp;", "&#", "&#x0;",
    "&#1;", "&nbsp;", "&bogus;", "www.example.com", "x@y.org", "mailto:", "\x00", "\x0b", "\x1f", "\ufffe",
    "\u202e", "<!--", "-->", "<![CDATA[", "]]>", "<?xml", "?>", "![i](", "](", "[x](", "<https://e.org>",
]
markdownish = st.lists(st.sampled_from(TOKENS), max_size=25).map("".join)
any_text = st.one_of(st.text(max_size=80), markdownish)

summary_items = st.recursive(
    st.builds(SummaryItem, text=any_text, label=st.one_of(st.none(), any_text)),
    lambda children: st.builds(
        SummaryItem, text=any_text, label=st.one_of(st.none(), any_text),
        children=st.lists(children, max_size=3).map(tuple)),
    max_leaves=8,
)

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(any_text)
def test_any_title_is_safe_xhtml(text):
    assert_safe_xhtml(str(title_html(text)))


@FAST
@given(any_text)
def test_any_inline_markdown_is_safe_xhtml(text):
    assert_safe_xhtml(str(inline_html(text)))


@FAST
@given(any_text)
def test_any_plain_text_is_safe_xhtml(text):
    root = assert_safe_xhtml(str(text_html(text)))
    assert len(root) == 0  # plain text never becomes an element


@FAST
@given(st.lists(summary_items, max_size=4), st.sampled_from(["label", "k"]))
def test_any_summary_is_safe_xhtml(items, label_class):
    assert_safe_xhtml(str(summary_html(items, label_class=label_class)))


# Text the fast path takes: none of the characters that can start Markdown.
plain_text = st.one_of(
    st.text(alphabet=st.characters(blacklist_characters="\\`*_[]<>&!~\n\r", blacklist_categories=("Cs",))),
    st.lists(st.sampled_from(["www.example.com", "x.org", "a@b.io", "http:", "//", ":/", "mailto:x",
                              "'", '"', "  ", " ", "\t", "1.", "- ", "#", "한", "$", "^{2}", "\x0b"]),
             max_size=12).map("".join),
)


@FAST
@given(plain_text)
def test_fast_path_equals_markdown_it(text):
    text = text.translate(render._WHITE_CONTROLS)  # what inline_html hands the paths: CR and TAB are spaces
    assume("://" not in render._xml_chars(text))
    assert not render._markdown_significant(render._xml_chars(text))
    assert str(render._inline(render._xml_chars(text))) == str(render._inline_markdown(text))


@pytest.mark.parametrize("text", [
    "plain words", "quotes \"and\" 'single'", "www.example.com", "a@b.org", "price 5$ and 2^3", "  spaced  "])
def test_fast_path_examples(text):
    assert str(render._inline(render._xml_chars(text))) == str(render._inline_markdown(text))


# -- inline Markdown ----------------------------------------------------------------

@pytest.mark.parametrize("text, html", [
    ("**굵게** and *em* and `a<b`", "<strong>굵게</strong> and <em>em</em> and <code>a&lt;b</code>"),
    ("지연 (<0.5초) & 메모리 > 2GB", "지연 (&lt;0.5초) &amp; 메모리 &gt; 2GB"),
    ("see https://e.org/x?a=1&b=2 now", 'see <a href="https://e.org/x?a=1&amp;b=2">https://e.org/x?a=1&amp;b=2</a> now'),
    ("[page](https://e.org/p \"title\")", '<a href="https://e.org/p">page</a>'),
    ("README.md and model.py", "README.md and model.py"),
    ("![img](https://e.org/i.png)", '!<a href="https://e.org/i.png">img</a>'),
    ("a\x0bb\x00c", "abc"),
])
def test_inline_examples(text, html):
    assert str(inline_html(text)) == html


@pytest.mark.parametrize("text", [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://e.org/x.js></SCRIPT>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "<javascript:alert(1)>",
    "[x](data:text/html;base64,PHNjcmlwdD4=)",
    "[x](file:///etc/passwd)",
    "<file:///etc/passwd>",
    "[x](vbscript:msgbox)",
    '<a href="https://e.org">raw</a>',
    "<img src=https://e.org/i.png onerror=alert(1)>",
    "javascript:alert(1) data:text/html,x file:///etc/passwd",
])
def test_hostile_input_never_becomes_markup_or_a_bad_link(text):
    html = str(inline_html(text))
    root = assert_safe_xhtml(html)
    for el in root.iterdescendants():
        assert el.tag.rpartition("}")[2] not in {"script", "img", "iframe"}
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert 'href="javascript' not in html.lower() and 'href="data' not in html and 'href="file' not in html


def test_raw_html_is_escaped_as_text():
    assert str(inline_html("<b>x</b>")) == "&lt;b&gt;x&lt;/b&gt;"


# -- titles ----------------------------------------------------------------------------

@pytest.mark.parametrize("title, html, text", [
    ("M$^{2}$UGen", "M<sup>2</sup>UGen", "M²UGen"),
    ("LLM$\\times$MapReduce", "LLM×MapReduce", "LLM×MapReduce"),
    ("SOTOPIA-$π$", "SOTOPIA-π", "SOTOPIA-π"),
    ("$VILA^2$", "VILA<sup>2</sup>", "VILA²"),
    ("H$_2$O and x$^{n+1}$", "H<sub>2</sub>O and x<sup>n+1</sup>", "H₂O and xⁿ⁺¹"),
    ("$\\alpha$-Net", "α-Net", "α-Net"),
    ("Q$^{ab}$", "Q<sup>ab</sup>", "Q^(ab)"),
    ("$\\unknowncmd{x}$ stays", "$\\unknowncmd{x}$ stays", "$\\unknowncmd{x}$ stays"),
    ("$\\frac{1}{2}$ stays", "$\\frac{1}{2}$ stays", "$\\frac{1}{2}$ stays"),
    ("costs $5 and $10", "costs $5 and $10", "costs $5 and $10"),
    ("AtP*: `Constitutions' & <b> [Re] _x_", "AtP*: `Constitutions&#39; &amp; &lt;b&gt; [Re] _x_",
     "AtP*: `Constitutions' & <b> [Re] _x_"),
])
def test_tex_titles(title, html, text):
    assert str(title_html(title)) == html
    assert title_text(title) == text


def test_title_markdown_stays_literal():
    assert str(title_html("**bold** [x](https://e.org)")) == "**bold** [x](https://e.org)"


# -- summaries ----------------------------------------------------------------------

def test_summary_html_labels_and_nesting():
    items = (
        SummaryItem("새 방법", label="What's New"),
        SummaryItem("steps:", children=(SummaryItem("one"), SummaryItem("two"))),
    )
    assert str(summary_html(items)) == (
        '<ul class="summary"><li><strong><span class="label">What&#39;s New</span></strong>: 새 방법</li>'
        '<li>steps:<ul class="summary"><li>one</li><li>two</li></ul></li></ul>'
    )
    assert str(summary_html(())) == ""


# -- safe_url ----------------------------------------------------------------------------

@pytest.mark.parametrize("url, expected", [
    ("https://arxiv.org/abs/2403.00522", "https://arxiv.org/abs/2403.00522"),
    ("  HTTP://Example.org/a b  ", "http://example.org/a%20b"),
    ('https://e.org/"><script>', "https://e.org/%22%3E%3Cscript%3E"),
    ("https://e.org/논문?q=한글#부분", "https://e.org/%EB%85%BC%EB%AC%B8?q=%ED%95%9C%EA%B8%80#%EB%B6%80%EB%B6%84"),
    ("https://bücher.de/x", "https://xn--bcher-kva.de/x"),
    ("https://e.org/a?x=1&y=%20", "https://e.org/a?x=1&y=%20"),
    ("javascript:alert(1)", None),
    ("JAVASCRIPT:alert(1)", None),
    ("data:text/html,<b>", None),
    ("file:///etc/passwd", None),
    ("ftp://e.org/x", None),
    ("//e.org/x", None),
    ("images/x.png", None),
    ("http:///nohost", None),
    ("http://e vil.org/", None),
    ("https://[::1", None),
    ("", None),
    (None, None),
])
def test_safe_url(url, expected):
    assert safe_url(url) == expected


def test_summary_tex_renders_like_title_tex():
    from exporter.render import inline_html, title_html

    assert str(inline_html("SOTOPIA-$π$ learns **social** skills")) == \
        "SOTOPIA-π learns <strong>social</strong> skills"
    assert str(inline_html("SOTOPIA-$\\pi$")) == str(title_html("SOTOPIA-$\\pi$")) == "SOTOPIA-π"
    assert str(inline_html("M$^{2}$UGen and $x_i$ <b>")) == "M<sup>2</sup>UGen and x<sub>i</sub> &lt;b&gt;"
    # Prices, TeX we cannot show, and code stay literal.
    assert str(inline_html("costs $5 and $10")) == "costs $5 and $10"
    assert str(inline_html("$\\frac{a}{b}$")) == "$\\frac{a}{b}$"
    assert str(inline_html("`$x$`")) == "<code>$x$</code>"


@pytest.mark.parametrize("tex", ["$^{}$", "$_{}$", "$x^{ }$", "$_{\u200b}$", "$^{\\mathrm{}}$"])
def test_tex_whose_script_shows_nothing_stays_literal_in_summaries_and_titles(tex):
    """An empty <sup> or <sub> would make the TeX vanish from the text: it stays as written."""
    from exporter.render import inline_html, title_html

    for html in (str(inline_html(f"a {tex} b")), str(title_html(f"a {tex} b"))):
        assert "<sup>" not in html and "<sub>" not in html and "$" in html, html
    assert str(inline_html("M$^{2}$UGen")) == "M<sup>2</sup>UGen"


@pytest.mark.parametrize("markdown, shown", [
    ("[js](javascript:alert(1)) end", "js end"), ("[x](https://localhost/y)", "x"),
    ("[https://localhost/x](https://localhost/x)", "https://localhost/x"), ("a <javascript:alert(1)> b", "a javascript:alert(1) b"),
    ("[router](http://192.168.1.1/) and [ok](https://example.org/)", 'router and <a href="https://example.org/">ok</a>'),
])
def test_a_link_the_url_gate_refuses_is_shown_as_its_words(markdown, shown):
    """The link goes, its words stay: not the Markdown that spelt it ("[js](javascript:...)"),
    which a reader would see as text."""
    from exporter.render import inline_html, inline_text

    assert str(inline_html(markdown)) == shown
    assert "](" not in inline_text(markdown)
