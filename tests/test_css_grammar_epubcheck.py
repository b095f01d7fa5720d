"""A user's stylesheet is held to CSS's grammar as EPUBCheck's CSS parser reads it.

CSS Syntax 3 recovers from almost anything (tinycss2 reads ``color red`` or a nested rule without
a parse error), but EPUBCheck's parser follows CSS 2.1's grammar with Selectors Level 3 and refuses
the book (CSS-008).  Each rule is set alone into a real book's stylesheet; EPUBCheck says which
it refuses, and the CSS gate must refuse each of those, and take the CSS people write.
"""

from __future__ import annotations

import random
import shutil
import zipfile

import pytest

from epub_fixtures import run_epubcheck
from exporter.gates import css
from hostile_three import day, one_day_book, paper, run_cli

#: Rules EPUBCheck refuses (nesting, empty or broken declarations, selectors that are none,
#: Selectors Level 4's case flags and ``of S``, an empty ``@font-face``).
REFUSED = [
    "p { & b { color: red } }", "p { b { color: red } }", "p { @media screen { color: red } }",
    "p { color: red;;; }", "p { color red }", "p { : red }", 'a[href="x" i] { color: red }',
    'a[href="x" s] { color: red }', "a >> b { color: red }", "a, , b { color: red }", "p { --x: { a: b } }",
    "@font-face { }", "@font-face { ; }", "p { ; color: red }", "p { color: red; ; }", "p { color: }",
    "@media screen { p { color: red; ; } }", "p { color: red; @media screen { color: blue } }",
    "p:nth-child(2n+1 of .x) { color: red }", "p > > q { color: red }", "p + { color: red }",
    ".1a { color: red }", "p[x=] { color: red }", "p[] { color: red }",
]
#: Rules both take: the CSS a template's stylesheet is made of.
TAKEN = [
    ":is(a,b) { color: red }", "a:has(> b) { color: red }", "*|p { color: red }", "p::marker { color: red }",
    "a:not(.x, .y) { color: red }", "p:nth-child(2n+1) { color: red }", "#1a { color: red }",
    '[epub|type~="noteref"] { vertical-align: super }', "p { --x: ; }", "p { --x: [a] }", "p { -x-: 1 }",
    "@media screen and (min-width: 10px) { p { color: red } }", "@supports (display: grid) { p { color: red } }",
    "@page { margin: 1em }", "@page :first { margin: 1em }", '@namespace epub "http://www.idpf.org/2007/ops";',
    "@layer base { p { color: red } }", "@font-face { font-family: x; }", "p { color: red !important }",
    "h1 + p, h2 ~ p { margin: 0; }", "p::before { content: '\\201C'; }", "p {}",
]

_SELECTORS = ["p", "a", ".c", "#i", "*", "[x]", '[x="y"]', "[x=y i]", "[x|=y]", "::before", ":hover",
              ":not(.a, .b)", ":nth-child(2n+1)", "svg|a", "[epub|type~=x]", ".1a", "", " ", " > ", " + ", " ~ ",
              ", ", " >> ", ",,", "::", ":is(p)", "&", "%", "[]", "\\31 a", ".-x", "-x", "--x"]
_DECLARATIONS = ["color: red", "color:red", "color red", ": red", "color:", "--x: 1", "--x: {a}", "--x:", "-x-y: 1",
                 "x: (a", "color: red !important", "a: b{}", "@media x{}", "p { color: red }", "& b { }",
                 "font: 1em/2 x", "content: '\\''", "margin: -1px", "", "b: [x]", "color: rgb(1 2 3 / 50%)", "x: y z",
                 "1x: y", "x : y", "x: ;", "x:y;y:z"]


def _generated(count: int, seed: int) -> list[str]:
    """Rules of random selectors and declarations, right and wrong, some inside @media,
    @font-face or @page."""
    rng = random.Random(seed)
    rules = []
    for _ in range(count):
        selector = "".join(rng.choice(_SELECTORS) for _ in range(rng.randint(1, 3)))
        declarations = ";".join(rng.choice(_DECLARATIONS) for _ in range(rng.randint(0, 3)))
        rule = f"{selector} {{ {declarations} }}"
        if rng.random() < 0.15:
            rule = f"@media screen {{ {rule} }}"
        elif rng.random() < 0.1:
            rule = f"@{rng.choice(['font-face', 'page'])} {{ {declarations} }}"
        rules.append(rule)
    return rules


def _refused(rule: str) -> bool:
    return bool(css.malformed(rule) or css.outside_the_book(rule) or css.url_problems(rule))


@pytest.mark.slow
def test_the_css_gate_refuses_what_epubchecks_css_parser_refuses(tmp_path):
    if shutil.which("java") is None:
        pytest.skip("needs Java")
    base = one_day_book(tmp_path)
    rules = REFUSED + TAKEN + _generated(150, seed=1)
    books = []
    for k, rule in enumerate(rules):  # one book a rule: the parser's recovery would hide the next
        books.append(tmp_path / f"{k}.epub")
        with zipfile.ZipFile(base) as zin, zipfile.ZipFile(books[-1], "w") as zout:
            for info in zin.infolist():
                data = zin.read(info)
                if info.filename.endswith("epub.css"):
                    data = f"p {{ color: red }}\n{rule}\np {{ color: blue }}\n".encode()
                zout.writestr(info, data, zipfile.ZIP_STORED if info.filename == "mimetype" else zipfile.ZIP_DEFLATED)
    said = {rule: [m["ID"] for m in report["messages"] if m["severity"] in ("FATAL", "ERROR", "WARNING")]
            for rule, report in zip(rules, run_epubcheck(books, tmp_path))}
    assert all(said[rule] for rule in REFUSED), {r: said[r] for r in REFUSED if not said[r]}
    assert not any(said[rule] for rule in TAKEN), {r: said[r] for r in TAKEN if said[r]}
    assert {rule: said[rule] for rule in rules if said[rule] and not _refused(rule)} == {}
    assert [rule for rule in TAKEN if _refused(rule)] == []


@pytest.mark.parametrize("file", ["extra.css", "epub.css"])
@pytest.mark.parametrize("rule", ["p { color: red;; }", "p { & b { color: red } }", 'a[href="x" i] { color: red }',
                                  "@font-face { }"])
def test_a_rule_epubcheck_would_refuse_is_an_error_at_its_line(tmp_path, rule, file):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.md").write_text(day("2024-03-04", paper(1)), "utf-8")
    tpl = tmp_path / "tpl"
    tpl.mkdir()
    (tpl / file).write_text(f"p {{ margin: 0; }}\n\n{rule}\n", "utf-8")
    out = tmp_path / "out"
    result = run_cli(["epub", str(src), "-o", str(out), "--images", "none", "--templates", str(tpl)], tmp_path)
    assert result.exit_code == 1, result.output
    assert f"{tpl / file}:3: error: " in result.output, result.output
    assert "Traceback" not in result.output
    assert not list(out.glob("*.epub"))
