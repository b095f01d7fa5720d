"""The gate for what a user's book template renders (exporter/gates/xhtml.py), generated: event
handlers by their prefix in every case and namespace, forms and form controls, language tags that
are not BCP 47, fragments of another document of the book that name no id there, and the
characters no book holds (C1 controls, bidi controls, noncharacters) however they are spelt.
Each is refused in the gate (many cases, fast) and through the whole CLI (a few: exit 1, the
template named, no book written); what the gate accepts makes books EPUBCheck accepts (0/0)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from urllib.parse import quote
from xml.sax.saxutils import quoteattr

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from exporter.gates.xhtml import book_problems, check
from hostile_three import SETTINGS, day, paper, run_cli

EXTEND = '{{% extends "default:day.xhtml.j2" %}}{{% block paper_summary %}}{{{{ super() }}}}{body}{{% endblock %}}'
NAME = "day-2024-03-04.xhtml"
OTHER = "day-2024-03-05.xhtml"
IN_BOOK = (NAME, OTHER, "nav.xhtml", "style/epub.css")


def _doc(body: str) -> bytes:
    return ('<?xml version="1.0" encoding="utf-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml" '
            'xmlns:epub="http://www.idpf.org/2007/ops" lang="en" xml:lang="en">\n<head><title>t</title></head>\n'
            f'<body>\n<section id="top">\n{body}\n</section>\n</body>\n</html>\n').encode("utf-8")


def _problems(body: str) -> tuple[str, ...]:
    return check(_doc(body), NAME, IN_BOOK).problems


# -- generators ----------------------------------------------------------------------------------

#: "on" in each of its four spellings, then anything a name may hold (onclick, ONLOAD, on, onX-y).
EVENT_ATTRIBUTES = st.builds(lambda on, rest: on + rest, st.sampled_from(["on", "On", "oN", "ON"]),
                             st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,12}|", fullmatch=True))
#: No namespace, the EPUB namespace, an arbitrary one.
NAMESPACES = st.sampled_from(["", "epub:", "x:"])
FORM_ELEMENTS = ["form", "input", "button", "select", "textarea", "output", "datalist", "option", "optgroup"]
_SUBTAG = st.from_regex(r"[a-z]{2,3}", fullmatch=True)
#: Shapes that are not BCP 47 (RFC 5646 section 2.1): separators other than "-", empty subtags,
#: subtags over 8 characters, non-ASCII letters, digits for a language, white space, a bidi
#: control or a character reference in front.
BAD_TAGS = st.one_of(
    st.builds(lambda a, b, sep: f"{a}{sep}{b.upper()}", _SUBTAG, _SUBTAG, st.sampled_from(["_", " ", ".", "--", "/"])),
    st.builds(lambda a, where: {"lead": f"-{a}", "trail": f"{a}-", "both": f"-{a}-"}[where], _SUBTAG,
              st.sampled_from(["lead", "trail", "both"])),
    st.builds(lambda a, n: f"{a}-{'x' * n}", _SUBTAG, st.integers(9, 20)),
    st.builds(lambda a, c: a[0] + c + a[1:], _SUBTAG, st.sampled_from(["\u0301", "é", "ı", "ß", "\u200b", "ｅ"])),
    st.from_regex(r"[0-9]{2,4}(-[A-Z]{2})?", fullmatch=True),
    st.builds(lambda a: "\u202e" + a, _SUBTAG),
    st.sampled_from(["x", "a" * 9, "en-US-", "zz-ZZ-u", "i", "en-a", "en-a-", "\t en"]),
)
GOOD_TAGS = ["en", "ko", "en-US", "ko-KR", "zh-Hant-TW", "sr-Latn", "de-CH-1996", "en-GB", "ja", "pt-BR", "es-419"]
#: Characters the text gate keeps out of every book, by class.
FORBIDDEN = st.one_of(
    st.integers(0x80, 0x9F).map(chr),  # C1 controls
    st.sampled_from("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"),  # Bidi_Control
    st.integers(0xFDD0, 0xFDEF).map(chr),
    st.sampled_from("\ufffe\uffff\ufffd"),
    st.integers(1, 16).flatmap(lambda plane: st.sampled_from([chr(plane * 0x10000 + 0xFFFE),
                                                              chr(plane * 0x10000 + 0xFFFF)])),
)
#: Where a character goes: literally or as a reference, in text, a tail or an attribute value.
PLACES = st.sampled_from(["<p>a{c}b</p>", "<p><em>x</em>{c}</p>", '<p title="a{c}">x</p>', '<span class="{c}">x</span>',
                          "<p>{ref}</p>", '<a href="#top" title="{ref}">x</a>'])
_ID = st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True)


# -- the gate, many cases ------------------------------------------------------------------------

@settings(max_examples=300, **SETTINGS)
@given(name=EVENT_ATTRIBUTES, prefix=NAMESPACES, element=st.sampled_from(["p", "a", "span", "img", "section"]))
@example(name="onclick", prefix="", element="p")
@example(name="ONLOAD", prefix="epub:", element="img")
def test_every_event_handler_attribute_is_refused(name, prefix, element):
    extra = ' xmlns:x="urn:x"' if prefix == "x:" else ""
    attrs = ' src="nav.xhtml" alt=""' if element == "img" else ""
    found = _problems(f"<{element}{extra}{attrs} {prefix}{name}=\"x()\">x</{element}>".replace(">x</img>", "/>"))
    assert any("event handler" in p for p in found), (name, found)


@settings(max_examples=60, **SETTINGS)
@given(element=st.sampled_from(FORM_ELEMENTS), inside=st.sampled_from(["{e}", "<div>{e}</div>", "<p>{e}</p>"]))
def test_every_form_and_form_control_is_refused(element, inside):
    found = _problems(inside.format(e=f"<{element}/>"))
    assert any(f"<{element}> is not allowed" in p for p in found), (element, found)


@settings(max_examples=300, **SETTINGS)
@given(tag=BAD_TAGS, attr=st.sampled_from(["lang", "xml:lang"]))
@example(tag="en_US", attr="xml:lang")
@example(tag="\u202een", attr="lang")
def test_a_language_tag_that_is_not_bcp47_is_refused(tag, attr):
    found = _problems(f"<p {attr}={quoteattr(tag)}>x</p>")
    assert found, tag


@pytest.mark.parametrize("tag", GOOD_TAGS)
def test_a_valid_language_tag_passes(tag):
    assert _problems(f'<p lang="{tag}" xml:lang="{tag}">x</p><span lang="{tag}">y</span><span lang="">z</span>') == ()


def test_lang_and_xml_lang_that_differ_are_refused():
    assert any("differ" in p for p in _problems('<p lang="en" xml:lang="ko">x</p>'))


@settings(max_examples=300, **SETTINGS)
@given(c=FORBIDDEN, place=PLACES)
@example(c="\u202e", place="<p>a{c}b</p>")
@example(c="\x85", place="<p>{ref}</p>")
def test_a_character_no_book_holds_is_refused_however_spelt(c, place):
    found = _problems(place.format(c=c, ref=f"&#x{ord(c):X};"))
    # U+FFFE and U+FFFF are no XML characters at all (XML 1.0 section 2.2): not well-formed.
    assert any(f"U+{ord(c):04X}" in p or "not well-formed" in p and c in "\ufffe\uffff" for p in found), (hex(ord(c)), found)


@settings(max_examples=200, **SETTINGS)
@given(ids=st.lists(_ID, min_size=1, max_size=4, unique=True), frag=_ID, relative=st.sampled_from(["", "./"]))
def test_a_fragment_of_another_document_must_be_one_of_its_ids(ids, frag, relative):
    other = check(_doc("".join(f'<p id="{i}">x</p>' for i in ids)), OTHER, IN_BOOK)
    mine = check(_doc(f'<a href="{relative}{OTHER}#{frag}">x</a>'), NAME, IN_BOOK)
    assert mine.problems == ()  # known only for the whole book
    found = book_problems({NAME: mine.ids, OTHER: other.ids}, {NAME: mine.outward})
    if frag in ids or frag == "top":
        assert found == {}
    else:
        assert found and f"{OTHER}#{frag}" in found[NAME][0], found


def test_a_fragment_of_this_document_spelt_with_its_file_name_is_checked_in_it():
    assert any("#nope" in p for p in _problems(f'<a href="{NAME}#nope">x</a>'))
    assert _problems(f'<a href="{NAME}#top">x</a>') == ()


# -- through the CLI: exit 1, the template named, no book ------------------------------------------

def _run(tmp: Path, template: str):
    src = tmp / "in"
    src.mkdir()
    (src / "a.md").write_text(day("2024-03-04", paper(1)) + day("2024-03-05", paper(2)), "utf-8")
    tpl = tmp / "tpl"
    tpl.mkdir()
    (tpl / "day.xhtml.j2").write_text(template, "utf-8")
    out = tmp / "out"
    result = run_cli(["epub", str(src), "-o", str(out), "--images", "none", "--templates", str(tpl)], tmp, seconds=90)
    return result, tpl, out


def _refused(body: str, says: str) -> None:
    with tempfile.TemporaryDirectory() as name:
        result, tpl, out = _run(Path(name), EXTEND.format(body=body))
        assert result.exit_code == 1, (body, result.output)
        assert f"{tpl / 'day.xhtml.j2'}: error: the template made day-2024-03-0" in result.output, result.output
        assert "line " in result.output and says in result.output, (body, result.output)
        assert not out.exists() or not [p for p in out.rglob("*") if p.is_file()], "a (half-)written book"


CLI_CASES = [
    ('<p onclick="x()">x</p>', "event handler"), ('<p ONMOUSEOVER="x()">x</p>', "event handler"),
    ('<p xmlns:x="urn:x" x:onload="x">x</p>', "event handler"), ("<form><input/></form>", "<form> is not allowed"),
    ("<div><button>b</button></div>", "<button> is not allowed"), ("<textarea>t</textarea>", "<textarea>"),
    ('<p xml:lang="en_US">x</p>', "xml:lang='en_US'"), ('<p lang="&#x202e;en">x</p>', "U+202E"),
    ('<p lang="-en">x</p>', "lang='-en'"), ('<p>{{ "\\u202e" }}</p>', "U+202E"), ("<p>&#x85;</p>", "U+0085"),
    ('<p title="{{ "\\ufdd0" }}">x</p>', "U+FDD0"), ('<a href="day-2024-03-04.xhtml#missing">x</a>', "#missing"),
    ('{% if day.id == "d-2024-03-04" %}<a href="day-2024-03-05.xhtml#missing">x</a>{% endif %}',
     "href 'day-2024-03-05.xhtml#missing' names no id of day-2024-03-05.xhtml"),
    ('<a href="nav.xhtml#nope">x</a>', "names no id of nav.xhtml"),
]


@settings(max_examples=len(CLI_CASES), **SETTINGS)
@given(case=st.sampled_from(CLI_CASES))
@example(case=CLI_CASES[0])
def test_through_the_cli_each_class_is_refused_naming_the_template(case):
    _refused(*case)


# -- what the gate accepts passes EPUBCheck ---------------------------------------------------------

ACCEPTED = [
    "".join(f'<p lang="{t}" xml:lang="{t}">x</p>' for t in GOOD_TAGS) + '<span lang="">u</span>',
    '<a href="day-2024-03-05.xhtml#d-2024-03-05">next</a><a href="day-2024-03-04.xhtml#d-2024-03-04">first</a>'
    '<a href="nav.xhtml#id">contents</a><a href="#{{ day.id }}">top</a>',
    '<p data-onclick="x" title="one \u200d two">fine: data-* is not a handler, ZWJ is text</p><label>l</label>'
    '<fieldset><legend>g</legend></fieldset><meter value="0.5">half</meter><progress value="1" max="2">1</progress>',
]


def test_what_the_gate_accepts_makes_books_epubcheck_accepts():
    """Every accepted template above, built and checked in one EPUBCheck run (one Java start)."""
    from epub_fixtures import epubcheck_problems

    if shutil.which("java") is None:
        pytest.skip("needs Java")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        (tmp / "check").mkdir()
        books = []
        for i, body in enumerate(ACCEPTED):
            (tmp / str(i)).mkdir()
            result, _, out = _run(tmp / str(i), EXTEND.format(body=body))
            assert result.exit_code == 0, (body, result.output)
            books.append(tmp / "check" / f"{i}.epub")
            shutil.copy(next(out.glob("*.epub")), books[-1])
        assert epubcheck_problems(books, tmp / "check") == {}


@pytest.mark.parametrize("attribute", ['xmlns:ev="http://www.w3.org/2001/xml-events" ev:event="click"',
                                       'xmlns:xl="http://www.w3.org/1999/xlink" xl:href="https://e.org/"',
                                       'xmlns:z="urn:x" z:anything="1"'])
def test_an_attribute_of_another_namespace_is_refused(attribute):
    from exporter.gates import xhtml

    doc = (f'<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops"><body>'
           f'<p epub:type="z" xml:lang="en" {attribute}>x</p></body></html>')
    found = xhtml.problems(doc.encode(), "day-2024-03-04.xhtml", ["day-2024-03-04.xhtml"])
    assert any("is not one a book's XHTML may carry" in p for p in found), found


@pytest.mark.parametrize("block", ['<p lang="en_US">x</p>', "<p>&#x202E;x</p>", '<p title="a&#x7;b">x</p>',
                                   '<p lang="en" xml:lang="de">x</p>'])
def test_the_front_page_template_is_held_to_the_same_languages_and_characters(tmp_path, block):
    from hostile_three import run_cli, two_papers

    tpl = tmp_path / "tpl"
    tpl.mkdir()
    (tpl / "index.html.j2").write_text('{% extends "default:index.html.j2" %}{% block newest %}' + block
                                       + "{% endblock %}", encoding="utf-8")
    out = tmp_path / "out"
    result = run_cli(["build", str(two_papers(tmp_path)), "-o", str(out), "--images", "none", "-q",
                      "--templates", str(tpl)], tmp_path)
    assert result.exit_code == 1, result.output
    assert "index.html" in result.output
    assert not (out / "index.html").exists()


def test_the_packaged_front_page_passes_its_gate(tmp_path):
    from hostile_three import run_cli, two_papers

    result = run_cli(["build", str(two_papers(tmp_path)), "-o", str(tmp_path / "out"), "--images", "none", "-q"],
                     tmp_path)
    assert result.exit_code == 0, result.output
    from exporter.gates.xhtml import page_problems

    assert page_problems((tmp_path / "out" / "index.html").read_text("utf-8")) == []


_SVG = "%3Csvg%20xmlns=%22http://www.w3.org/2000/svg%22%3E{}%3C/svg%3E"


def _svg64(inner: str) -> str:
    """A data: URL (base64) of an SVG picture holding *inner*."""
    import base64

    svg = ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
           + inner + "</svg>")
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


@pytest.mark.parametrize("block, said", [
    ('<p style="direction: rtl">x</p>', "'direction'"), ('<p style="unicode-bidi: plaintext">x</p>', "'unicode-bidi'"),
    ('<p style="DIRECTION: rtl">x</p>', "'direction'"), ('<p style="dir\\65 ction: rtl">x</p>', "'direction'"),
    ("<style>p { unicode-bidi: isolate }</style>", "'unicode-bidi'"),
    ('<p style="background: url(missing.png)">x</p>', "not in the book"),
    ("<style>p { background: url('nothere.png') }</style>", "not in the book"),
    ('<img alt="x" src="data:image/svg+xml,' + _SVG.format("%3Cscript%3Ealert(1)%3C/script%3E") + '"/>', "<script>"),
    ('<img alt="x" src="data:image/svg+xml,' + _SVG.format("%3Cimage%20href=%22https://e.example.com/x.png%22/%3E")
     + '"/>', "from outside itself"),
    ('<img alt="x" src="data:image/svg+xml,' + _SVG.format("%3Crect%20onload=%22x()%22/%3E") + '"/>', "event handler"),
    ('<img alt="x" src="data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciPjxzY3JpcHQ+'
     'YWxlcnQoMSk8L3NjcmlwdD48L3N2Zz4="/>', "<script>"),
    # What else of an SVG loads or shows: a stylesheet by a processing instruction, a DTD, an
    # entity naming a file, a url() spelt with a CSS escape, a bidi control in its text.
    ('<img alt="x" src="data:image/svg+xml,%3C?xml-stylesheet%20href=%22https://example.com/a.css%22?%3E'
     + _SVG.format("") + '"/>', "processing instruction"),
    ('<img alt="x" src="data:image/svg+xml,%3C!DOCTYPE%20svg%20SYSTEM%20%22https://10.0.0.1/x.dtd%22%3E'
     + _SVG.format("") + '"/>', "DOCTYPE"),
    ('<img alt="x" src="data:image/svg+xml,%3C!DOCTYPE%20svg%20[%3C!ENTITY%20x%20SYSTEM%20%22file:///etc/passwd%22%3E]%3E'
     + _SVG.format("%3Ctext%3E%26x;%3C/text%3E") + '"/>', "DOCTYPE"),
    ('<img alt="x" src="data:image/svg+xml,' + _SVG.format("%3Cstyle%3Erect%7Bfill:u%5C72l(https://example.com/x)%7D%3C/style%3E")
     + '"/>', "CSS loads from outside itself"),
    ('<img alt="x" src="data:image/svg+xml,' + _SVG.format("%3Ctext%3Ea%E2%80%AEb%3C/text%3E") + '"/>', "U+202E"),
    *(('<img alt="x" src="' + _svg64(inner) + '"/>', said) for inner, said in [
        ('<rect style="fill:url(https://example.com/x.svg#g)"/>', "loads from outside"),
        ('<rect fill="url(https://example.com/x)"/>', "loads from outside"),
        ('<rect filter="u\\72l(https://example.com/x#f)"/>', "loads from outside"),
        ("<text>&#x202E;abc</text>", "U+202E"), ('<rect class="&#x85;"/>', "U+0085"),
        ('<style>text::after{content:"\\202e"}</style>', "holds a control character"),
        ('<image href="' + _svg64("<script>alert(1)</script>") + '"/>', "<script>"),
        ('<set attributeName="onclick" to="alert(1)"/>', "sets 'onclick'"),
        ('<animate attributeName="xlink:href" values="javascript:alert(1)"/>', "sets 'href'")]),
    # a charset label that contradicts the bytes: a reading system decodes another document
    ('<img alt="x" src="' + _svg64("<rect/>").replace(";base64", ";charset=utf-16;base64") + '"/>',
     "labelled charset=utf-16:"),
    # ... inside another data: SVG too, linked or in its CSS (each picture is decoded by its own label)
    *(('<img alt="x" src="' + _svg64(inner) + '"/>', "labelled charset=utf-16:") for inner in [
        '<image href="' + _svg64("<rect/>").replace(";base64", ";charset=utf-16;base64") + '"/>',
        '<rect style="fill:url(' + _svg64("<rect/>").replace(";base64", ";charset=utf-16;base64") + ')"/>',
        '<image href="' + _svg64('<image href="' + _svg64("<rect/>").replace(";base64", ";charset=utf-16;base64")
                                 + '"/>') + '"/>']),
    # a data: SVG is UTF-8, as every reader decodes it: an XML declaration of another encoding
    # (UTF-7 or JAVA hid a script in what libxml2 read as CDATA; Shift_JIS made "\" a yen sign,
    # so an escaped @import went unseen), bytes of another, two labels
    *(('<img alt="x" src="data:image/svg+xml,' + quote(decl + '<svg xmlns="http://www.w3.org/2000/svg">' + inner
                                                        + "</svg>") + '"/>', said)
      for decl, inner, said in [
          ('<?xml version="1.0" encoding="utf-7"?>', "<desc>+ADwAIQBbAEMARABBAFQAQQBb-</desc><script>x()</script>"
           "<desc>+AF0AXQA+-</desc>", "declared encoding='utf-7'"),
          ("<?xml version='1.0' encoding = 'JAVA'?>", "<desc>x</desc>", "declared encoding='JAVA'"),
          ('<?xml version="1.0" encoding="shift_jis"?>', '<style>@\\69mport "https://e.example.com/x.css";</style>',
           "declared encoding='shift_jis'"),
          ('<?xml version="1.0" encoding="ISO646-JP"?>', "<rect/>", "declared encoding='ISO646-JP'")]),
    # ... with a UTF-8 byte order mark before it too (libxml2 2.10 and older take the declaration)
    *(('<img alt="x" src="data:image/svg+xml' + label + ',' + quote(b"\xef\xbb\xbf" + decl.encode()
                                                               + b'<svg xmlns="http://www.w3.org/2000/svg">'
                                                               b"+ADw-script+AD4-x()+ADw-/script+AD4-</svg>") + '"/>', said)
      for label, decl, said in [
          ("", '<?xml version="1.0" encoding="UTF-7"?>', "declared encoding='UTF-7'"),
          (";charset=utf-8", "<?xml version='1.0' encoding='ISO-2022-JP' standalone='yes'?>",
           "declared encoding='ISO-2022-JP'"),
          ("", '<?xml version="1.0"\n  encoding = "x-user-defined"?>', "declared encoding='x-user-defined'")]),
    ('<img alt="x" src="data:image/svg+xml;charset=utf-8;CHARSET=utf-16le,' + _SVG.format("") + '"/>',
     "more than one charset"),
    ('<img alt="x" src="data:image/svg+xml;charset=utf-32;base64,' + __import__("base64").b64encode(
        '<svg xmlns="http://www.w3.org/2000/svg"/>'.encode("utf-32")).decode() + '"/>', "bytes are not UTF-8"),
    # a <style> whose CSS an element or comment splits (a reader reads the text around it)
    *(('<img alt="x" src="' + _svg64("<style>" + inner + "</style>") + '"/>', "<style> holds more than text")
      for inner in ["<desc/>@import url(https://e.example.com/x.css);", "<!-- x -->@import url(https://e.example.com/x.css);",
                    "@imp<title>x</title>ort url(https://e.example.com/x.css);", "svg{}<desc/>text::after{content:'\\202E'}"]),
    # an element of another namespace: XHTML's load, whatever SVG says of them
    *(('<img alt="x" src="' + _svg64(inner) + '"/>', "a picture holds SVG elements alone") for inner in [
        '<h:video xmlns:h="http://www.w3.org/1999/xhtml" poster="https://e.example.com/p.png"/>',
        '<h:body xmlns:h="http://www.w3.org/1999/xhtml" background="https://e.example.com/b.png"/>',
        '<meta xmlns="http://www.w3.org/1999/xhtml" http-equiv="refresh" content="0;url=https://e.example.com/"/>',
        '<m:math xmlns:m="http://www.w3.org/1998/Math/MathML"><m:mi href="https://e.example.com/">x</m:mi></m:math>',
        '<x xmlns=""/>']),
    # elements SVG 2 does not have: SVG Tiny 1.2's script handlers and loaders, SVG 1.1's fonts
    *(('<img alt="x" src="' + _svg64(inner) + '"/>', said) for inner, said in [
        ('<handler xmlns:ev="http://www.w3.org/2001/xml-events" type="application/ecmascript" ev:event="load">'
         "x()</handler>", "<handler>, which is not an element of SVG 2"),
        ('<listener event="click" handler="#h"/>', "<listener>, which is not an element of SVG 2"),
        ('<prefetch href="#x"/>', "<prefetch>"), ("<foreignobject/>", "<foreignobject>"),
        ('<font-face><font-face-src><font-face-uri href="#f"/></font-face-src></font-face>', "<font-face>")]),
    # a data: URL inside a picture is a picture, of the bytes its type says
    *(('<img alt="x" src="' + _svg64(inner) + '"/>', said) for inner, said in [
        ('<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="><rect/></a>', "of type 'text/html'"),
        ('<image href="data:application/xhtml+xml,x"/>', "of type 'application/xhtml+xml'"),
        ('<image href="data:image/png;base64,' + __import__("base64").b64encode(
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>x()</script></svg>').decode() + '"/>',
         "whose bytes are not a PNG picture")]),
    ('<img alt="x" src="data:image/png,' + _SVG.format("%3Cscript%3Ex()%3C/script%3E") + '"/>',
     "whose bytes are not a PNG picture"),
    # a control character in a comment of the picture, inside or after its root
    ('<img alt="x" src="' + _svg64("<!-- a\u202eb --><rect/>") + '"/>', "U+202E in a comment"),
    ('<img alt="x" src="data:image/svg+xml,' + quote('<svg xmlns="http://www.w3.org/2000/svg"/><!-- \u2066 -->')
     + '"/>', "U+2066 in a comment"),
    # a URL CSS computes in an image function: in a style attribute, a <style>, a picture's CSS
    ('<p style="--u:&quot;https://e.example.com/x.png&quot;;background-image:image-set(var(--u) 1x)">x</p>',
     "image-set() 'var(--u)' is a URL the CSS computes"),
    ('<style>p { background-image: image-set(var(--u) 1x) }</style>', "image-set() 'var(--u)' is a URL the CSS computes"),
    ('<img alt="x" src="data:image/svg+xml,' + quote('<svg xmlns="http://www.w3.org/2000/svg"><style>rect{fill:'
                                                    'image-set(var(--u) 1x)}</style></svg>') + '"/>',
     "CSS loads from outside itself"),
    ('<p><a href="mailto:b@router.home">l</a></p>', "not on the public internet"),
    ('<p><a href="mailto:a@example.com?cc=b@vm.lan">l</a></p>', "not on the public internet"),
    ('<p><a href="mailto:x@example.com?subject=%0D%0ABcc:%20y@example.org">l</a></p>', "U+000D"),
    ('<p><a href="./">l</a></p>', "names the folder of the book"), ('<p><a href="images/..">l</a></p>', "folder"),
    ('<p lang="iw">x</p>', "'he'"), ('<p lang="en-BU">x</p>', "'en-MM'"), ('<p lang="i-klingon">x</p>', "'tlh'"),
    ('<fieldset name=""><legend>l</legend></fieldset>', "is empty"),
])
def test_what_epubcheck_or_a_reading_system_refuses_in_a_day_template_is_refused_naming_it(tmp_path, block, said):
    from hostile_three import run_cli, two_papers

    tpl = tmp_path / "tpl"
    tpl.mkdir()
    (tpl / "day.xhtml.j2").write_text('{% extends "default:day.xhtml.j2" %}{% block day_heading %}<h1 id="x">x</h1>'
                                      + block + "{% endblock %}", encoding="utf-8")
    result = run_cli(["epub", str(two_papers(tmp_path)), "-o", str(tmp_path / "out"), "--images", "none",
                      "--templates", str(tpl)], tmp_path)
    assert result.exit_code == 1, result.output
    assert said in result.output and "day.xhtml.j2" in result.output, result.output
    assert not list((tmp_path / "out").glob("*.epub"))


@pytest.mark.parametrize("sheet", ["p { direction: rtl }", "@media print { p { unicode-bidi: embed } }"])
def test_a_users_stylesheet_with_a_property_no_epub_style_sheet_holds_is_refused(tmp_path, sheet):
    from hostile_three import run_cli, two_papers

    tpl = tmp_path / "tpl"
    tpl.mkdir()
    (tpl / "extra.css").write_text("p { color: red }\n" + sheet + "\n", encoding="utf-8")
    result = run_cli(["epub", str(two_papers(tmp_path)), "-o", str(tmp_path / "out"), "--images", "none",
                      "--templates", str(tpl)], tmp_path)
    assert result.exit_code == 1 and "extra.css:2: error: the property" in result.output, result.output


@pytest.mark.parametrize("charset, refused", [
    ("iso-8859-1", True), ("utf-16", True), ("bogus-enc", True), ("UTF-8", False), ("utf-8", False)])
@pytest.mark.parametrize("file", ["epub.css", "extra.css"])
def test_a_users_stylesheet_that_names_a_charset_other_than_utf8_is_refused(tmp_path, charset, refused, file):
    """A book's CSS is UTF-8 (EPUBCheck CSS-004): ``@charset "iso-8859-1"`` over UTF-8 bytes was
    written into the book, which EPUBCheck refused and a reader honouring it showed as mojibake."""
    from hostile_three import run_cli, two_papers

    tpl = tmp_path / "tpl"
    tpl.mkdir()
    (tpl / file).write_text(f'@charset "{charset}";\np::after {{ content: "é한" }}\n', encoding="utf-8")
    result = run_cli(["epub", str(two_papers(tmp_path)), "-o", str(tmp_path / "out"), "--images", "none",
                      "--templates", str(tpl)], tmp_path)
    if refused:
        assert result.exit_code == 1 and f"{file}:1: error: an @charset: '{charset}'" in result.output, result.output
        assert not list((tmp_path / "out").glob("*.epub"))
    else:
        assert result.exit_code == 0, result.output


@pytest.mark.parametrize("sheet, said", [
    ('.summary { --u: "https://e.example.com/t.png"; background-image: image-set(var(--u) 1x); }', "image-set() 'var(--u)'"),
    ('.summary { background-image: image-set(env(x, "https://e.example.com/t.png") 1x); }', "image-set() 'env(x,"),
    ('.summary { background-image: -webkit-image-set(env(x) 1x); }', "-webkit-image-set() 'env(x)'"),
    ('.a { background-image: image-set(if(media(width > 0): "https://e.example.com/t.png"; else: "x") 1x); }',
     "image-set() 'if(media"),
    ('.a { background-image: image-set(var(--u) type("image/png")); }', "image-set() 'var(--u)'"),
    ('.a { background-image: attr(data-u type(<image>)); }', "attr() 'attr(data-u type(<image>))'"),
    ('.a { background-image: attr(data-u url); }', "attr() 'attr(data-u url)'"),
    ('.a::after { content: attr(data-u, "x") }', "attr() 'attr(data-u,"),
    ('.a { background-image: cross-fade(image(var(--u)), url(data:,x)); }', "cross-fade() 'var(--u)'"),
])
def test_a_url_a_stylesheet_computes_in_an_image_function_is_refused(tmp_path, sheet, said):
    """In image-set(), image() and cross-fade() a string is a URL: one that var(), env(), if() or
    attr() give is known only where the stylesheet is used, so no check of the stylesheet as
    written sees what it fetches (a reader does): refused, naming the file and line."""
    from hostile_three import run_cli, two_papers

    tpl = tmp_path / "tpl"
    tpl.mkdir()
    (tpl / "extra.css").write_text("p { color: red }\n" + sheet + "\n", encoding="utf-8")
    result = run_cli(["epub", str(two_papers(tmp_path)), "-o", str(tmp_path / "out"), "--images", "none",
                      "--templates", str(tpl)], tmp_path)
    assert result.exit_code == 1, result.output
    assert f"extra.css:2: error: {said}" in result.output, result.output
    assert not list((tmp_path / "out").glob("*.epub"))


# -- effects a reader cannot draw in bounded time --------------------------------------------------

_COSTLY_SHEETS = [
    # a filter that spreads (nested or chained, its work multiplies), or an SVG filter
    "p { filter: blur(2px) }", "p { -webkit-filter: blur(300px) }", "p { backdrop-filter: blur(1px) }",
    "p { filter: drop-shadow(0 0 4px red) }", "p { filter: grayscale(1) drop-shadow(0 0 1px red) }",
    "p { filter: url(#f) }", 'p { filter: URL("#f") }', "p { fil\\74 er: u\\72l(#f) }",
    "p { FILTER: BLUR(1E6PX) }", "p { filter: brightness(calc(2)) }", "p { filter: brightness(1e999) }",
    # a shadow too large, of too many layers, or measured by what the stylesheet sets elsewhere
    "p { box-shadow: 0 0 1e6px red }", "p { box-shadow: inset 0 0 0 33px red }", "p { text-shadow: 0 0 1in #000 }",
    "p { text-shadow: " + ", ".join(["1px 1px 2px #000"] * 5) + " }", "p { -webkit-text-stroke: 1e9px red }",
    "p { text-shadow: 0 0 1000000 red }", "p { box-shadow: 0 0 1e999px red }",
    "html { font-size: 50000px } p { text-shadow: 0 0 2rem red }", "p { text-shadow: 0 0 1rlh red }",
    "p { text-shadow: 0 0 1lh red }", "p { text-shadow: 0 0 1cqw red }", "p { box-shadow: 0 0 1vw red }",
    "p { text-shadow: 0 0 .1em red }",
    "p { --r: 1px; box-shadow: 0 0 var(--r) red }", "p { box-shadow: 0 0 calc(1px * 1e6) red }",
    "p { text-shadow: 0 0 env(x, 1e6px) red }",
    # whatever at-rule holds the block: an animation's frames, a starting style, one not known here
    "@media screen { p { filter: blur(1px) } }", "@supports (color: red) { p { box-shadow: 0 0 40px red } }",
    "@keyframes k { from { text-shadow: none } to { text-shadow: 0 0 100000px red } }",
    "@-webkit-keyframes k { 50% { text-shadow: 0 0 1e6px red } }",
    "@starting-style { p { box-shadow: 0 0 1e6px red } }", "@some-future-rule x { p { filter: blur(1px) } }",
]
_DRAWN_SHEETS = [
    "p { filter: grayscale(100%) sepia(0.5) }", "p { filter: hue-rotate(1e6deg) brightness(1e9) }",
    "p { text-shadow: 1px 1px 2px #000 }", "p { box-shadow: 0 2px 8px hsl(0 0% 0% / 20%), inset 0 0 0 1px red }",
    "p { text-shadow: 0 0 32px red, 1px 1px 0 blue, 0 0 2pt green, 0 0 1mm black }", "p { filter: none }",
    "p { -webkit-text-stroke: 1px red }", "p { width: 1000000px }", "p { box-shadow: none }",
]


@pytest.mark.parametrize("sheet", _COSTLY_SHEETS)
def test_a_costly_effect_is_refused_however_spelt(sheet):
    """What spreads in a filter multiplies when filters nest or chain (sixty nested
    ``drop-shadow(0 0 4px red)`` kept a browser engine on one chapter for 10 s, thirty nested
    ``blur(32px)`` for good), a shadow's work grows with its layers and size (two hundred layers,
    or one of 256px on every text, 20 s): filters are colour filters alone, and a shadow is at
    most four layers of 32 pixels, written in absolute units (any escape, inside any at-rule)."""
    from exporter.gates.css import malformed

    found = malformed(sheet)
    assert [ref.what for ref in found] == ["a costly effect"], found


@pytest.mark.parametrize("sheet", _DRAWN_SHEETS)
def test_the_colour_filters_and_shadows_a_page_uses_stay(sheet):
    from exporter.gates.css import malformed

    assert malformed(sheet) == []


@pytest.mark.parametrize("body", [
    '<filter id="f"><feGaussianBlur stdDeviation="2"/></filter><rect width="5" height="5" filter="url(#f)"/>',
    '<filter id="f"><feMorphology radius="1"/></filter>', '<filter id="f"/>',
    '<defs><filter id="f"><feTurbulence numOctaves="4"/></filter></defs>',
    '<filter id="f"><feComponentTransfer><feFuncR type="identity"/></feComponentTransfer></filter>',
    '<rect width="5" height="5" style="filter: blur(1px)"/>', '<rect width="5" height="5" filter="blur(1)"/>',
    '<style>rect { filter: drop-shadow(0 0 1px red) }</style><rect width="5" height="5"/>',
    '<rect width="5" height="5"><animate attributeName="filter" to="blur(1e6px)" dur="1s"/></rect>',
    '<text style="text-shadow: 0 0 1e6px red">x</text>',
])
def test_a_data_svg_with_a_filter_effect_is_refused(body):
    """A picture's filter effects grow with their numbers, with how many are chained (twenty
    ``feMorphology`` of radius 256: a browser engine never finished the chapter) and with the
    picture's scale (a transform makes a bounded radius 256,000 pixels): a picture in a book is
    drawn, not filtered."""
    from exporter.gates.css import data_problem

    svg = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">' + body + "</svg>"
    why = data_problem("data:image/svg+xml," + quote(svg))
    assert why is not None and ("filter effect" in why or "costly effect" in why), why


def test_a_data_svg_with_colour_filters_and_a_shadow_stays():
    from exporter.gates.css import data_problem

    svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="5" height="5" '
           'style="filter: grayscale(1)"/><text style="text-shadow: 1px 1px 2px red">x</text></svg>')
    assert data_problem("data:image/svg+xml," + quote(svg)) is None


@pytest.mark.parametrize("where", ["extra.css", "style attribute", "<style>"])
def test_through_the_cli_a_costly_effect_is_refused_naming_the_file_and_line(tmp_path, where):
    from hostile_three import run_cli, two_papers

    tpl = tmp_path / "tpl"
    tpl.mkdir()
    if where == "extra.css":
        (tpl / "extra.css").write_text("p { color: red }\np { filter: blur(2px) }\n", encoding="utf-8")
    else:
        block = ('<p style="filter: blur(2px)">x</p>' if where == "style attribute"
                 else "<style>p { filter: blur(2px) }</style>")
        (tpl / "day.xhtml.j2").write_text('{% extends "default:day.xhtml.j2" %}{% block day_heading %}'
                                          '<h1 id="x">x</h1>' + block + "{% endblock %}", encoding="utf-8")
    result = run_cli(["epub", str(two_papers(tmp_path)), "-o", str(tmp_path / "out"), "--images", "none",
                      "--templates", str(tpl)], tmp_path)
    assert result.exit_code == 1, result.output
    assert "a costly effect" in result.output and "blur() spreads" in result.output, result.output
    assert ("extra.css:2: error:" if where == "extra.css" else "day.xhtml.j2") in result.output, result.output
    assert not list((tmp_path / "out").glob("*.epub"))


@pytest.mark.parametrize("url", [
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==#xywh=0,0,1,1",
    "data:image/svg+xml,%3Csvg%20xmlns=%27http://www.w3.org/2000/svg%27%3E%3Crect%20fill=%27#f00%27/%3E%3C/svg%3E",
    "data:image/svg+xml,%3Csvg%20xmlns=%27http://www.w3.org/2000/svg%27/%3E#svgView(viewBox(0,0,1,1))",
])
def test_a_data_url_with_a_fragment_is_refused_saying_why(url):
    """EPUBCheck takes a data: URL with a fragment for a missing resource of the book (RSC-007,
    checked), and a reader reads the data only up to the '#' (the Fetch Standard drops the
    fragment): an SVG's fill='#f00' written as is cut the picture there.  Refused, saying so (it
    was refused as a picture that is not well-formed, or base64 that is not)."""
    from exporter.gates.css import data_problem

    why = data_problem(url)
    assert why is not None and "with a '#'" in why and "%23" in why, why


def _svg_url(body: str) -> str:
    return "data:image/svg+xml," + quote('<svg xmlns="http://www.w3.org/2000/svg" width="1000" height="1000" '
                                         'viewBox="0 0 1000 1000">' + body + "</svg>")


_PATH_20000 = "M0 0 " + " ".join(f"L{(i * 37) % 1000} {(i * 91) % 1000}" for i in range(20000))


@pytest.mark.parametrize("body", [
    # one long path drawn by many <use>: 6 million segments in 190 KB
    f'<defs><path id="p" d="{_PATH_20000}"/></defs>' + "".join(f'<use href="#p" x="{i}"/>' for i in range(300)),
    f'<path d="{_PATH_20000} {_PATH_20000} {_PATH_20000} {_PATH_20000} {_PATH_20000} {_PATH_20000}"/>',
    # dashes of a thousandth of a unit: a stroke drawn as millions of dashes
    "".join(f'<circle cx="500" cy="500" r="{50 + i * 2}" fill="none" stroke="black" '
            'stroke-dasharray="0.001 0.001"/>' for i in range(200)),
    '<circle r="400" stroke="black" style="stroke-dasharray: .001"/>',
    "<style>circle { stroke-dasharray: 0.001 }</style><circle r=\"400\"/>",
    "<style>@media all { circle { stroke-d\\61sharray: 0.001 } }</style><circle r=\"400\"/>",
    '<g stroke-dasharray="0.01"><path d="M0 0 h1000 v1000 h-1000 z"/></g>',
    '<circle r="40" stroke-dasharray="1" pathLength="1e9"/>',
    '<circle r="400"><animate attributeName="stroke-dasharray" values="10;0.0001" dur="1s"/></circle>',
    # a dash pattern or stroke width the cascade computes: no check can count it
    "<style>svg { --d: 0.01 } circle { stroke-dasharray: var(--d) }</style><circle r=\"1\"/>",
    '<circle r="1" style="stroke-width: var(--w, 1e6)"/>',
    '<path stroke-dasharray="0.001" d="M0 0 C 0 1000 1000 1000 1000 0 S 0 0 0 1000 A 500 500 0 1 1 0 0"/>',
])
def test_a_data_svg_that_asks_for_too_much_drawing_is_refused(body):
    """Not only elements: a path's vertices and a stroke's dashes are drawing too, counted with
    every reference followed (a path shown by 300 <use> is drawn 300 times) against one bound."""
    from exporter.gates.css import data_problem

    why = data_problem(_svg_url(body))
    assert why is not None and "glyphs and dashes" in why, why


def test_the_drawing_a_picture_asks_for_is_measured_from_its_outline():
    """Basic shapes exactly, a path through its control points (never shorter than its curves),
    relative and absolute commands alike."""
    from exporter.gates.css import _path_length

    assert _path_length("M0 0 L10 0 L10 10") == 20 and _path_length("M0 0 h10 v10 H0 Z") == 40
    assert round(_path_length("M0 0 l10 0 0 10 z"), 3) == 34.142
    assert _path_length("M0 0 C 0 10 10 10 10 0") >= 15  # the curve's own length is about 15.3
    assert _path_length("M5 5 M0 0 m1 1 1 0") == 1  # moves draw nothing; pairs after a move are lines


def test_a_data_svg_of_ordinary_drawing_stays():
    from exporter.gates.css import data_problem

    body = ('<line x1="0" y1="0" x2="1000" y2="0" stroke="black" stroke-dasharray="4 2"/>'
            '<polyline points="' + " ".join(f"{i} {i % 50}" for i in range(2000)) + '"/>'
            '<defs><path id="p" d="M0 0 ' + " ".join(f"L{i} {i}" for i in range(200)) + '"/></defs>'
            + "".join(f'<use href="#p" x="{i}"/>' for i in range(100)))
    assert data_problem(_svg_url(body)) is None


@pytest.mark.parametrize("sheet, said", [
    (".f { background: " + ", ".join(f"linear-gradient({i}deg, red, blue)" for i in range(9)) + " }", "layers"),
    (".f { mask-image: " + ", ".join(["linear-gradient(red, blue)"] * 9) + " }", "layers"),
    (".f { background-image: linear-gradient(" + ", ".join(["red"] * 65) + ") }", "linear-gradient() of more"),
    (".f { background: repeating-conic-gradient(" + ", ".join(["red 1deg"] * 100) + ") }", "gradient() of more"),
    (".f { clip-path: polygon(evenodd, " + ", ".join(f"{i % 100}% {i % 97}%" for i in range(65)) + ") }",
     "polygon() of more"),
    (".f { shape-outside: polygon(" + ", ".join(["1px 1px"] * 100) + ") }", "polygon() of more"),
    (".f { clip-path: path('M0 0 " + "L1 1 " * 300 + "') }", "path() of more"),
])
def test_a_stylesheet_that_paints_too_many_layers_or_points_is_refused(sheet, said):
    """Five hundred gradient layers, or a clip-path polygon of 5,000 points, on a hundred
    elements kept a browser engine on one chapter for good: at most 8 layers, and 64 stops,
    points or vertices in one function."""
    from exporter.gates.css import malformed

    found = malformed(sheet)
    assert [ref.what for ref in found] == ["a costly effect"] and said in found[0].url, found


def test_the_layers_a_page_uses_stay():
    from exporter.gates.css import malformed

    assert malformed(".f { background: linear-gradient(to right, #fff 0%, #eee 50%, #ddd 100%), url(data:,x) "
                     "no-repeat, #fafafa; clip-path: circle(50%) } .g { clip-path: polygon(0 0, 100% 0, 50% 100%) }") == []


def _fanned_text(stroke: str, depth: int = 3) -> str:
    """Two hundred letters, stroked, drawn 10**depth times through nested <use> (1.3 KB)."""
    defs = (f'<text id="g0" x="0" y="500" font-size="300" stroke="red" stroke-width="{stroke}" '
            'stroke-linejoin="round">' + "WMWMBQ8@" * 25 + "</text>")
    for d in range(1, depth + 1):
        defs += f'<g id="g{d}">' + "".join(f'<use href="#g{d - 1}" x="{i % 3}" y="{i // 3}"/>' for i in range(10)) + "</g>"
    return f'<defs>{defs}</defs><use href="#g{depth}"/>'


def _inner_picture(vertices: int) -> str:
    import base64

    inner = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1000 1000"><path d="M0 0 '
             + " ".join(f"L{(i * 37) % 1000} {(i * 91) % 1000}" for i in range(vertices)) + '"/></svg>')
    return "data:image/svg+xml;base64," + base64.b64encode(inner.encode()).decode()


@pytest.mark.parametrize("body", [
    _fanned_text("2000"),  # 22 s in a browser engine; 10,000 draws never finished
    _fanned_text("1", depth=3),  # the glyphs alone: 200,000 outlines
    # a 20-vertex line stroked 2,000 wide, drawn a thousand times
    '<defs><path id="p" stroke="red" style="stroke-width: 200%" d="M0 0 ' + "L1000 1000 L0 1000 " * 10 + '"/>'
    + "".join(f'<g id="q{d}">' + "".join(f'<use href="#{"p" if d == 0 else f"q{d - 1}"}"/>' for _ in range(10)) + "</g>"
              for d in range(3)) + '</defs><use href="#q2"/>',
    # a picture inside the picture, drawn by 60 <use>: each draws all of it
    f'<defs><g id="i"><image href="{_inner_picture(1000)}" width="1000" height="1000"/></g></defs>'
    + "".join(f'<use href="#i" x="{i}"/>' for i in range(60)),
])
def test_what_a_picture_draws_counts_its_glyphs_strokes_and_pictures(body):
    """A text counts its glyphs' outlines, a wide stroke counts as many times as it is wide (in
    hundredths of the picture), a picture inside the picture all of its own drawing, each time
    a reference draws it again."""
    from exporter.gates.css import data_problem

    why = data_problem(_svg_url(body))
    assert why is not None and "glyphs and dashes" in why, why


def test_a_picture_with_ordinary_text_strokes_and_a_picture_inside_stays():
    from exporter.gates.css import data_problem

    body = ('<text x="10" y="50" font-size="40" stroke="black" stroke-width="2">Daily Papers, ten years on</text>'
            f'<image href="{_inner_picture(1000)}" width="500" height="500"/><use href="#t"/>'
            '<rect id="t" width="10" height="10" stroke-width="5%"/>')
    assert data_problem(_svg_url(body)) is None


def test_a_picture_that_paints_its_whole_area_thousands_of_times_is_refused():
    """10,000 translucent rectangles as large as the picture, by four levels of ten <use> (1.5 KB):
    25 s in a browser engine, though only 11,111 elements; the area painted counts too."""
    from exporter.gates.css import data_problem

    body = "<defs><rect id='g0' width='1000' height='1000' fill='red' opacity='.5'/>"
    for d in range(1, 5):
        body += f"<g id='g{d}'>" + "".join(f"<use href='#g{d - 1}'/>" for _ in range(10)) + "</g>"
    why = data_problem(_svg_url(body + "</defs><use href='#g4'/>"))
    assert why is not None and "area painted" in why, why
    # a hundred such rectangles are a picture's background and layers: they stay
    assert data_problem(_svg_url(body.split("<g id='g3'>")[0] + "</defs><use href='#g2'/>")) is None
