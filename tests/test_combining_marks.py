"""Combining marks on one character: Unicode's stream-safe bound (UAX #15 section 13, 30 marks).

One letter carrying 90,000 marks took a browser engine 10 s to lay out, 300,000 never finished
(the time grows faster than the marks): a 136-byte template made that with Jinja's ``*``.  The
text gate bounds every text a book holds: a digest's marks past the 30th are removed, with a
warning; a template, stylesheet or picture that makes more is refused."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path
from urllib.parse import quote

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hostile_three import day, paper, run_cli, two_papers  # noqa: E402

MARKS = "\u0301\u0308\u0330"


@pytest.mark.parametrize("block", [
    '<p>{{ "a" ~ "\\u0301\\u0308\\u0330" * 100000 }}</p>',
    # split over elements: a mark at the start of an element's text goes on the letter before it
    '<p>a{% for i in range(20) %}<span>{{ "\\u0301\\u0308" }}</span>{% endfor %}</p>',
    '<p title="{{ "a" ~ "\\u0301" * 40 }}">x</p>',
    '<p style="--x: 1">{{ "\\u0e01" ~ "\\u0e34\\u0e48" * 16 }}</p>',
    # a joiner between the marks, or emoji modifiers: they extend one character as marks do
    '<p>{{ "a" ~ "\\u0301\\u200c" * 100000 }}</p>',
    '<p>{{ "\\U0001F44D" ~ "\\U0001F3FB" * 100000 }}</p>',
    '<p>{{ "a" ~ "\\u0301\\u200d" * 20 }}</p>',
])
def test_a_template_that_puts_too_many_marks_on_one_character_is_refused(tmp_path, block):
    tpl = tmp_path / "tpl"
    tpl.mkdir()
    (tpl / "day.xhtml.j2").write_text('{% extends "default:day.xhtml.j2" %}{% block day_heading %}<h1 id="x">x</h1>'
                                      + block + "{% endblock %}", encoding="utf-8")
    result = run_cli(["epub", str(two_papers(tmp_path)), "-o", str(tmp_path / "out"), "--images", "none",
                      "--templates", str(tpl)], tmp_path, seconds=120)
    assert result.exit_code == 1, result.output
    assert "more than 30 combining marks on one character" in result.output and "day.xhtml.j2" in result.output
    assert not list((tmp_path / "out").glob("*.epub"))


@pytest.mark.parametrize("payload", ["\U0001F44D" + "\U0001F3FB" * 11000, "a" + "\u0301\u200c" * 1000])
def test_a_digest_whose_character_carries_too_many_modifiers_or_joined_marks_keeps_thirty(tmp_path, payload):
    """An emoji with 11,000 skin-tone modifiers in a digest's summary took a browser engine 33 s."""
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.md").write_text(day("2024-03-04", paper(1, bullets=("summary " + payload + " end",)), paper(2)), "utf-8")
    result = run_cli(["epub", str(src), "-o", str(tmp_path / "out"), "--images", "none"], tmp_path)
    assert result.exit_code == 0 and "more than 30 combining marks on one character" in result.output, result.output
    [book] = (tmp_path / "out").glob("*.epub")
    with zipfile.ZipFile(book) as z:
        chapter = z.read("EPUB/day-2024-03-04.xhtml").decode()
    from exporter.gates.text import mark_run

    assert mark_run(chapter) is None and "summary " in chapter and " end<" in chapter


def test_a_stylesheet_string_or_a_picture_with_too_many_marks_is_refused():
    from exporter.gates.css import data_problem, malformed

    assert [ref.what for ref in malformed('p::before { content: "a' + "\\301" * 40 + '" }')] == ["too many combining marks"]
    svg = '<svg xmlns="http://www.w3.org/2000/svg"><text>a' + MARKS * 20 + "</text></svg>"
    assert "combining marks" in (data_problem("data:image/svg+xml," + quote(svg)) or "")


def test_a_digest_whose_letter_carries_too_many_marks_keeps_thirty_and_says_so(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.md").write_text(day("2024-03-04", paper(1, "Zalgo a" + MARKS * 1000), paper(2)), "utf-8")
    result = run_cli(["epub", str(src), "-o", str(tmp_path / "out"), "--images", "none"], tmp_path)
    assert result.exit_code == 0, result.output
    assert "a.md:3: warning: more than 30 combining marks on one character" in result.output, result.output
    [book] = (tmp_path / "out").glob("*.epub")
    with zipfile.ZipFile(book) as z:
        chapter = z.read("EPUB/day-2024-03-04.xhtml").decode()
    import regex

    # NFC puts the marks in canonical order and composes what it can (a + U+0301 is one letter)
    letter = regex.search(r"Zalgo (\X)", chapter).group(1)
    assert 28 <= len(letter) <= 31, len(letter)


@pytest.mark.parametrize("text", ["Tiếng Việt", "שָׁלוֹם", "བསྒྲུབས", "नमस्ते", "e" + "\u0301" * 30, "한국어",
                                  "\U0001F468\u200d\U0001F469\u200d\U0001F467\u200d\U0001F466",
                                  "\U0001F44B\U0001F3FD", "\U0001F3F4\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F"])
def test_the_marks_scripts_use_stay(text):
    import unicodedata

    from exporter.gates.text import decode, mark_run

    for form in ("NFC", "NFD"):
        written = unicodedata.normalize(form, text)
        assert mark_run(written) is None
        assert decode(("# x\n\n" + written + "\n").encode()).text == "# x\n\n" + written + "\n"
