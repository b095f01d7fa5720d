"""Hostile templates at render time (generated, through the whole CLI): a Python error in a user's
template, a value or loop too large, markup that would make an invalid book or load a remote
resource, a stylesheet that is not CSS, an invalid language tag and a symbolic link to nothing
are each an error naming the template (exit 1), in bounded time, and no book is written."""

from __future__ import annotations

import os
import re
import tempfile
import time
from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from hostile_three import SETTINGS, day, paper, run_cli

EXTEND = '{{% extends "default:day.xhtml.j2" %}}{{% block paper_summary %}}{{{{ super() }}}}{body}{{% endblock %}}'


def _run(tmp: Path, files: dict[str, str], links: dict[str, str] | None = None):
    src = tmp / "in"
    src.mkdir()
    (src / "a.md").write_text(day("2024-03-04", paper(1), paper(2)) + day("2024-03-05", paper(3)), "utf-8")
    tpl = tmp / "tpl"
    tpl.mkdir()
    for name, text in files.items():
        (tpl / name).write_text(text, "utf-8")
    for name, target in (links or {}).items():
        os.symlink(target, tpl / name)
    out = tmp / "out"
    start = time.perf_counter()
    result = run_cli(["epub", str(src), "-o", str(out), "--images", "none", "--templates", str(tpl)], tmp, seconds=90)
    return result, tpl, out, time.perf_counter() - start


def _refused(files: dict[str, str], named: str = "day.xhtml.j2", links: dict[str, str] | None = None,
             seconds: float = 30) -> str:
    with tempfile.TemporaryDirectory() as name:
        result, tpl, out, took = _run(Path(name), files, links)
        assert result.exit_code == 1, (files, result.output)
        assert f"{tpl / named}" in result.output, (files, result.output)
        assert not list(out.glob("*.epub")), "a book made from a refused template"
        assert took < seconds, (files, took)
        return result.output


# -- D1: ordinary Python errors ------------------------------------------------------------------

ERRORS = ["1/0", '"a" + 1', '"%d" % "x"', '[1,"a"]|sort', '"x"|wordwrap(0)', '"abc"[5:1:0]', "none|summary_html",
          "(1,2)|first|title_text", "(10**5000)|string", "{}|dictsort(by='x')",
          '"x"|title_html(1)', "1|safe_url", '"abc"|slice(0)|list', "range(1, 10, 0)|list", "e.paper.nope.x",
          '"{:d}".format("x")', "[]|random"]


@settings(max_examples=25, **SETTINGS)
@given(expr=st.sampled_from(ERRORS), wrap=st.sampled_from(["{{{{ {e} }}}}", "{{% set v = {e} %}}{{{{ v }}}}",
                                                            "{{% if {e} %}}x{{% endif %}}",
                                                            "{{% for i in [1] %}}{{{{ {e} }}}}{{% endfor %}}"]))
@example(expr="1/0", wrap="{{{{ {e} }}}}")
def test_a_python_error_in_a_template_is_an_error_naming_it(expr, wrap):
    output = _refused({"day.xhtml.j2": EXTEND.format(body=wrap.format(e=expr))})
    assert "failed to render" in output, output
    # PATH:LINE: error: at the start of its line, as editors and CI problem matchers read it.
    assert re.search(r"(?m)^\S*day\.xhtml\.j2:\d+: error: template 'day\.xhtml\.j2' failed to render", output), output
    assert "digest-export: error: " not in output, output


def test_a_python_error_in_an_included_template_names_the_included_file():
    output = _refused({"day.xhtml.j2": EXTEND.format(body='{% include "part.j2" %}'), "part.j2": "\n\n{{ 1/0 }}"},
                      named="part.j2")
    assert "part.j2:3:" in output, output


# -- D2: time and memory -------------------------------------------------------------------------

BIG = st.sampled_from([10**7, 10**8, 10**10, 10**12, 2**40])
SIZES = ['"x" * {n}', '[1] * {n}', "range({n})|list|length", '"x"|center({n})', "lipsum({n})", '"x"|indent({n})',
         "{n} ** {n}", '"%{n}d" % 1', '"x"|truncate({n}) * {n}', "range({n})|sum"]


@settings(max_examples=25, **SETTINGS)
@given(form=st.sampled_from(SIZES), n=BIG)
@example(form="range({n})|list|length", n=10**12)
def test_a_value_too_large_is_refused_quickly(form, n):
    output = _refused({"day.xhtml.j2": EXTEND.format(body="{{ " + form.format(n=n) + " }}")}, seconds=20)
    assert "failed to render" in output, output


def test_a_render_that_takes_too_long_is_stopped_naming_the_template(monkeypatch):
    import exporter.templating

    monkeypatch.setattr(exporter.templating, "RENDER_SECONDS", 1.0)
    body = "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}"
    output = _refused({"day.xhtml.j2": EXTEND.format(body=body)}, seconds=15)
    assert "longer than 1 seconds" in output, output


def test_a_document_over_the_size_cap_is_refused_and_a_long_text_node_is_not_an_xml_error():
    body = "{% for i in range(9) %}{{ 'x' * 999999 }}{% endfor %}"
    output = _refused({"day.xhtml.j2": EXTEND.format(body=body)})
    assert "more than the 8,000,000" in output, output
    with tempfile.TemporaryDirectory() as name:  # 2 MB text nodes: libxml2's 10 MB limit does not apply
        result, _, out, _ = _run(Path(name), {"day.xhtml.j2": EXTEND.format(
            body="<p>{% for i in range(2) %}{{ 'x' * 999999 }}{% endfor %}</p>")})
        assert result.exit_code == 0, result.output
        assert list(out.glob("*.epub"))


# -- D3/D4/D8: what a template renders -----------------------------------------------------------

BAD_MARKUP = ['<foo>x</foo>', '<p><div>x</div></p>', '<p><ul><li>x</li></ul></p>', '<span id="a"/><span id="a"/>',
              '{% include "default:day.xhtml.j2" %}', '<a href="nope.xhtml">x</a>', '<img src="x.png" alt=""/>',
              '<img src="../../x.png" alt=""/>', '<p style="background:url(http://127.0.0.1:9/x.png)">x</p>',
              '<p style="background:url(https:/127.0.0.1/x.png)">x</p>', '<style>@import "http://127.0.0.1/x.css";</style>',
              '<style>p{color:red</style>', '<img src="http://127.0.0.1/x.png" alt=""/>', '<script src="a.js"></script>',
              '<script>1</script>', '<iframe src="http://127.0.0.1/"></iframe>', '<object data="x.svg"></object>',
              '<embed src="x.swf"/>', '<video poster="http://127.0.0.1/p.png"></video>',
              '<img src="images/cover.jpg" srcset="http://127.0.0.1/x.png 2x" alt=""/>',
              '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
              '<image xlink:href="http://127.0.0.1/x.png"/></svg>', '<x:y xmlns:x="urn:x">z</x:y>',
              '<a href="javascript:alert(1)">x</a>', '<a href="#nowhere">x</a>',
              '<svg xmlns="http://www.w3.org/2000/svg"><circle r="1"/></svg>', '<p>unclosed', '<base href="http://127.0.0.1/"/>']
GOOD_MARKUP = ['<a href="https://example.org/">ok</a>', '<p>ok <em>fine</em></p>',
               '<a href="day-2024-03-05.xhtml">next</a>', '<img src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==" alt=""/>',
               '<span style="color: red">x</span>', '<a href="#{{ day.id }}">top</a>']


@settings(max_examples=30, **SETTINGS)
@given(markup=st.sampled_from(BAD_MARKUP), first=st.booleans())
@example(markup='<span id="a"/><span id="a"/>', first=False)
def test_markup_that_makes_an_invalid_or_remote_book_is_refused_naming_the_template(markup, first):
    body = ("<div>" + markup + "</div>") if first else markup
    output = _refused({"day.xhtml.j2": EXTEND.format(body=body)})
    assert "day-2024-03-0" in output, output  # and the document it made


@settings(max_examples=10, **SETTINGS)
@given(markup=st.sampled_from(GOOD_MARKUP))
def test_valid_local_markup_is_accepted(markup):
    with tempfile.TemporaryDirectory() as name:
        result, _, out, _ = _run(Path(name), {"day.xhtml.j2": EXTEND.format(body=markup)})
        assert result.exit_code == 0, (markup, result.output)
        assert list(out.glob("*.epub"))


# -- D5: stylesheets that are not CSS, or name a scheme --------------------------------------------

BAD_CSS = ["p{{color:red", "</style><script>", "p {{ a: \"x\n}}", "p\x00 {{ }}", "p\x01 {{ }}", "/* x",
           "p {{ background: url(https:/127.0.0.1/x.png) }}", "p {{ background: url('HTTP:x.png') }}",
           "p {{ background: url(' \tfile:/etc/x') }}", "p {{ a: url(x }}", "@media x {{ p {{ a: b }}",
           "p {{ background: url(x.png) }}", "p {{ background: url(../../x.png) }}",
           "@media print {{ p {{ background: url('../images/nope.jpg') }} }}"]


@settings(max_examples=25, **SETTINGS)
@given(css=st.sampled_from(BAD_CSS), before=st.integers(0, 3), file=st.sampled_from(["extra.css", "epub.css"]))
@example(css="p{{color:red", before=0, file="extra.css")
def test_a_stylesheet_that_is_not_css_or_names_a_scheme_is_refused_naming_file_and_line(css, before, file):
    text = "p { margin: 0; }\n" * before + css.format()
    output = _refused({file: text}, named=file)
    assert f"{file}:{before + 1}:" in output, output


# -- D6: lang_attrs --------------------------------------------------------------------------------

@settings(max_examples=25, **SETTINGS)
@given(tag=st.one_of(st.sampled_from(["x y", "\u202eab", "en_US", "-en", "en-", "a" * 40, "e\u0301n", "12", "en--US"]),
                     st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters='"\\'), min_size=1,
                             max_size=6).filter(lambda t: not t.isascii() or not t.replace("-", "").isalnum())))
def test_lang_attrs_with_an_invalid_tag_is_refused_naming_the_template(tag):
    output = _refused({"day.xhtml.j2": EXTEND.format(body="<span{{ lang_attrs(" + repr(tag) + ") }}>x</span>")})
    assert "lang_attrs" in output, output


# -- D7: a symbolic link to nothing under a template's name -----------------------------------------

@settings(max_examples=6, **SETTINGS)
@given(name=st.sampled_from(["day.xhtml.j2", "cover.xhtml.j2", "extra.css", "epub.css", "part.j2"]))
def test_a_dangling_symlink_named_like_a_template_is_an_error(name):
    files = {"day.xhtml.j2": EXTEND.format(body='{% include "part.j2" %}')} if name == "part.j2" else {}
    output = _refused(files, named=name, links={name: "nope"})
    assert "a symbolic link to a file that does not exist" in output, output


def test_what_the_markup_check_lets_through_passes_epubcheck():
    """The accepted markup, all in one template, makes a book EPUBCheck accepts (one Java start)."""
    import shutil

    import pytest
    from epub_fixtures import epubcheck_problems

    if shutil.which("java") is None:
        pytest.skip("needs Java")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        result, _, out, _ = _run(tmp, {"day.xhtml.j2": EXTEND.format(body="".join(GOOD_MARKUP))})
        assert result.exit_code == 0, result.output
        (tmp / "check").mkdir()
        book = tmp / "check" / "0.epub"
        shutil.copy(next(out.glob("*.epub")), book)
        assert epubcheck_problems([book], tmp / "check") == {}
