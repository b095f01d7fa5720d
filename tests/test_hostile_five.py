"""Hostile input, fifth round: the config reader bounds dotted keys before tomllib parses."""

from __future__ import annotations

import time
import unicodedata

import regex

from hypothesis import given, settings, strategies as st

from hostile_three import SETTINGS, day, paper, run_cli, two_papers
from exporter.cli.config import MAX_KEY_PARTS, _check_dotted_keys
from exporter.errors import ConfigError

import pytest
from pathlib import Path

PART = st.one_of(st.from_regex(r"[A-Za-z0-9_-]{1,4}", fullmatch=True),
                 st.from_regex(r'"[a-z.]{0,4}"', fullmatch=True))
SHAPES = ("{key} = 1\n", "[{key}]\n", "[[{key}]]\n", "x = {{ {key} = 1 }}\n", "t = {{ a = 1, {key} = 2 }}\n")


@settings(max_examples=60, **SETTINGS)
@given(parts=st.lists(PART, min_size=1, max_size=2 * MAX_KEY_PARTS), shape=st.sampled_from(SHAPES),
       sep=st.sampled_from([".", " . ", "\t.\t"]))
def test_a_long_dotted_key_is_refused_before_parsing(parts, shape, sep):
    text = "# a.b.c.d.e.f.g.h.i.j.k\nname = 'x.y.z.a.b.c.d.e.f.g'\n" + shape.format(key=sep.join(parts))
    if len(parts) > MAX_KEY_PARTS:
        with pytest.raises(ConfigError, match=r"c\.toml:3: error: a key of \d+ dotted parts"):
            _check_dotted_keys(text, Path("c.toml"))
    else:
        _check_dotted_keys(text, Path("c.toml"))


def test_the_config_of_a_32000_part_key_is_refused_quickly_through_the_cli(tmp_path):
    (tmp_path / "c.toml").write_text("a." * 32_000 + "a = 1\n")
    t0 = time.perf_counter()
    result = run_cli(["--config", str(tmp_path / "c.toml"), "inspect"], tmp_path)
    assert time.perf_counter() - t0 < 3
    assert result.exit_code == 2 and "c.toml:1: error: a key of 32001 dotted parts" in result.output


@pytest.mark.parametrize("make", [lambda n: "a." * (n // 2) + "a = 1\n", lambda n: '"""' + '\\"' * (n // 2),
                                  lambda n: '"\\"' * (n // 3), lambda n: "a=1\n" * (n // 4)])
def test_the_scan_is_linear(make):
    def cost(n):
        text = make(n)
        t0 = time.perf_counter()
        with pytest.raises(ConfigError) if text.startswith("a.") else _nothing():
            _check_dotted_keys(text, Path("c"))
        return time.perf_counter() - t0
    small, big = cost(50_000), cost(500_000)
    assert big < 30 * small + 0.2, (small, big)


class _nothing:
    def __enter__(self): return self
    def __exit__(self, *a): return False


# -- names: every character that is not printable is quoted, by property ----------------------

#: Categories ``str.isprintable`` refuses (Cs: undecodable bytes kept by surrogateescape).
UNPRINTABLE_CATEGORIES = ("Cc", "Cf", "Co", "Cn", "Zl", "Zp", "Zs")


def _by_category():
    import unicodedata

    found: dict[str, list[str]] = {c: [] for c in UNPRINTABLE_CATEGORIES}
    for cp in list(range(0, 0x3400)) + list(range(0xE000, 0x10000)) + [0xE0001, 0xE0041, 0xF0000, 0x10FFFD]:
        cat = unicodedata.category(chr(cp))
        if cat in found and chr(cp) != " ":
            found[cat].append(chr(cp))
    return found


BY_CATEGORY = _by_category()
NONCHARACTERS = [chr(c) for c in range(0xFDD0, 0xFDF0)] + [chr(p * 0x10000 + t) for p in range(17) for t in (0xFFFE, 0xFFFF)]
#: Printable by category, drawn as nothing or as a space: every Default_Ignorable_Code_Point that
#: is not a format character (marks, letters, unassigned), and the Braille blank.
INVISIBLE = [chr(c) for c in range(0x110000) if regex.match(r"\p{Default_Ignorable_Code_Point}", chr(c))
             and unicodedata.category(chr(c)) != "Cf"] + ["\u2800"]


@settings(max_examples=300, **SETTINGS)
@given(ch=st.one_of(*(st.sampled_from(v) for v in BY_CATEGORY.values()), st.sampled_from(NONCHARACTERS),
                    st.sampled_from(INVISIBLE),
                    st.integers(0x80, 0xFF).map(lambda b: chr(0xDC00 + b))),
       head=st.text("abc가 .-", max_size=4), tail=st.text("xyz한_", max_size=4))
def test_a_name_with_a_character_that_is_not_printable_is_quoted(ch, head, tail):
    from exporter.gates.names import printable, shell_quote

    name = head + ch + tail + ".md"
    shown, line = shell_quote(name), printable(name)
    assert ch not in shown and ch not in line, (name, shown, line)
    assert shown.startswith(("'", "$'")), shown  # quoted as a whole


def test_bidi_marks_in_an_input_name_are_quoted_by_inspect(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for mark in ("\u200e", "\u200f", "\u061c", "\u2066"):
        (folder / f"a{mark}b.md").write_text(day("2024-03-04", paper(1)) + "\nVote: x\n", encoding="utf-8")
    result = run_cli(["inspect", str(folder)], tmp_path)
    for mark in ("\u200e", "\u200f", "\u061c", "\u2066"):
        assert mark not in result.output, result.output
        assert "/a'$'" + "".join(f"\\x{b:02x}" for b in mark.encode()) + "''b.md'" in result.output, result.output


# -- names in JSON: one string per name, read back to the same bytes ----------------------------

@settings(max_examples=300, **SETTINGS)
@given(a=st.binary(min_size=1, max_size=12).filter(lambda b: b"/" not in b and b"\0" not in b),
       b=st.binary(min_size=1, max_size=12).filter(lambda b: b"/" not in b and b"\0" not in b))
def test_json_names_are_one_string_per_name_and_read_back(a, b):
    import json
    import os

    from exporter.gates.names import json_name, name_of_json

    # The spellings that collided: a byte, and the text that describes it.
    for raw in (a, b, a + b"\\xff", a + b"\xff", b"\\" + a):
        name = os.fsdecode(raw)
        shown = json_name(name)
        json.dumps(shown, ensure_ascii=False).encode("utf-8")  # valid UTF-8 JSON
        assert os.fsencode(name_of_json(shown)) == raw
    if a != b:
        assert json_name(os.fsdecode(a)) != json_name(os.fsdecode(b))
    assert json_name(os.fsdecode(b"a\xffb")) != json_name(os.fsdecode(b"a\\xffb"))


# -- send: a subject that looks like an encoded word reads back as written -----------------------

@settings(max_examples=200, **SETTINGS)
@given(before=st.text("ab x-", max_size=6), after=st.text("cd y", max_size=6),
       word=st.sampled_from(["=?utf-8?b?SGk=?=", "=?UTF-8?Q?Hi?=", "=?iso-8859-1?q?=E9?=", "=?", "?=", "=?x?y?z?="]))
def test_a_subject_that_looks_like_an_encoded_word_reads_back_as_written(before, after, word):
    import email
    from email import policy

    from exporter.delivery.message import book_message, subject_text

    title = f"{before}{word}{after} Daily Papers 2024-W10"
    raw = book_message(data=b"PK", name="b.epub", title=title, sender="a@example.org",
                       recipient="b@example.org", body="x")
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert str(msg["Subject"]) == subject_text(title)
    assert not msg.defects and not msg["Subject"].defects


# -- a foreign book's identifier is its Atom id only with a scheme made for it ---------------------

@settings(max_examples=200, **SETTINGS)
@given(scheme=st.one_of(st.sampled_from(["javascript", "JavaScript", "isbn", "data", "file", "vbscript", "x-foo",
                                          "mailto", "about", "calibre", "uuid"]),
                        st.from_regex(r"[a-z][a-z0-9+.-]{0,10}", fullmatch=True)),
       rest=st.from_regex(r"[A-Za-z0-9:/._-]{1,20}", fullmatch=True))
def test_an_identifier_of_another_scheme_is_not_an_atom_id(scheme, rest):
    from exporter.gates.documents import ID_SCHEMES, usable_as_id

    identifier = f"{scheme}:{rest}"
    if scheme.lower() not in ID_SCHEMES:
        assert not usable_as_id(identifier)
    for good in ("urn:isbn:9780306406157", "tag:example.org,2024:book", "https://example.org/b", "info:doi/10.1000/1"):
        assert usable_as_id(good)


# -- a refused link says why, in the words --base-url uses -------------------------------------------

@settings(max_examples=30, **SETTINGS)
@given(host=st.sampled_from(["straße.de", "ß.com", "xn--a.com", "a..b.com", "ςa.gr", "a\u200db.com"]),
       place=st.sampled_from(["paper", "summary", "thumbnail"]))
def test_a_refused_link_says_why_as_base_url_does(tmp_path_factory, host, place):
    from exporter.gates.urls import URLRefused, check_base_url

    tmp = tmp_path_factory.mktemp("why")
    url = f"https://{host}/p"
    try:
        check_base_url(url + "/")
        return  # accepted there: nothing to compare
    except URLRefused as err:
        reason = str(err)
    head = f"### [T]({url})" if place == "paper" else "### [T](https://arxiv.org/abs/2403.00001)"
    body = {"paper": "- x", "summary": f"- x [a]({url})", "thumbnail": f"![]({url})\n\n- x"}[place]
    (tmp / "d.md").write_text(f"## Daily Papers (2024-03-04)\n\n{head}\n\nVote: 1\n\n{body}\n", encoding="utf-8")
    result = run_cli(["inspect", str(tmp / "d.md")], tmp)
    assert reason in " ".join(result.output.split()), (reason, result.output)


# -- foreign books left out of the catalog: the reason in words ---------------------------------------

@settings(max_examples=20, **SETTINGS)
@given(authors=st.integers(1001, 1500), id_len=st.integers(4097, 6000))
def test_metadata_out_of_bounds_is_said_in_words(authors, id_len):
    from exporter.gates.documents import DocumentDamaged, book_metadata

    for fields, words in ((dict(title="t", creators=["a"] * authors), f"it has {authors} authors, more than 1000"),
                          (dict(title="t", identifier="i" * id_len), "its identifier is longer than 4096 characters")):
        with pytest.raises(DocumentDamaged) as err:
            book_metadata(**fields)
        assert str(err.value) == words
        assert "Expected" not in str(err.value) and "$." not in str(err.value)


@pytest.mark.parametrize("depth", [300, 2000])
def test_a_package_document_nested_too_deep_is_called_so(depth):
    from exporter.gates.epub import NotAnEpub, _xml

    with pytest.raises(NotAnEpub, match="nests elements deeper than 256 levels"):
        _xml(b"<a>" * depth + b"</a>" * depth, "content.opf")


def test_a_folder_whose_every_epub_is_left_out_says_how_many_were_found(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    for name in ("a.epub", "b.epub", "c.epub"):
        (out / name).write_bytes(b"not a zip")
    digests = two_papers(tmp_path)
    result = run_cli(["feed", str(digests), "-o", str(out), "--format", "opds"], tmp_path)
    assert result.exit_code == 0, result.output
    assert "3 EPUB files found, none listed" in result.output and "no EPUB file found" not in result.output


# -- a --state file that is not the program's stops the run before any write -------------------------

@pytest.mark.parametrize("content", [b'{"a":1,"a":2}', b"\xef\xbb\xbf{}", b"my notes\n"])
def test_a_state_file_not_ours_stops_the_run_before_anything_is_written(tmp_path, content):
    state = tmp_path / "st.json"
    state.write_bytes(content)
    out = tmp_path / "out"
    result = run_cli(["build", str(two_papers(tmp_path)), "-o", str(out), "--images", "none", "-q",
                      "--state", str(state)], tmp_path)
    assert result.exit_code == 1, result.output
    assert "st.json" in result.output
    assert state.read_bytes() == content
    assert not out.exists() or not any(out.rglob("*")), sorted(out.rglob("*"))


@pytest.mark.parametrize("option", ["--min-votes", "--top"])
def test_a_negative_count_is_called_negative(tmp_path, option):
    result = run_cli(["feed", str(two_papers(tmp_path)), "-o", str(tmp_path / "o"), option, "-3"], tmp_path)
    assert result.exit_code == 2
    assert "'-3' must be at least" in result.output and "not a number" not in result.output, result.output


@settings(max_examples=30, **SETTINGS)
@given(port=st.integers(65536, 10**12))
def test_a_port_out_of_range_is_called_so(port):
    from exporter.gates.urls import URLRefused, check_base_url, refusal

    assert "is larger than 65535" in refusal(f"https://example.org:{port}/x")
    with pytest.raises(URLRefused, match="is larger than 65535"):
        check_base_url(f"https://example.org:{port}/")


def test_inspect_json_writes_what_a_terminal_acts_on_escaped(tmp_path):
    """File names in ``inspect --json`` are valid UTF-8 (json_name), and no bidi control, C1
    control, DEL, line separator or invisible character is written raw: escaped as JSON says,
    the same string to a reader."""
    import json

    folder = tmp_path / "in"
    folder.mkdir()
    names = ["b\u202ex.md", "h\x9b.md", "g\x7f.md", "e\u2028ls.md", "z\u200bw.md", "v\ufe0f.md", "한국.md"]
    for name in names:
        (folder / name).write_text(day("2024-03-04", paper(1)), "utf-8")
    result = run_cli(["inspect", "--json", str(folder)], tmp_path)
    assert result.exit_code == 0, result.output
    text = result.stdout
    for ch in "\u202e\x9b\x7f\u2028\u200b\ufe0f":
        assert ch not in text, hex(ord(ch))
    paths = {s["path"].rpartition("/")[2] for d in json.loads(text)["digests"] for s in d["sources"]}
    assert paths == set(names), paths
    assert "한국.md" in text  # what shows as itself stays itself


@settings(max_examples=300, **SETTINGS)
@given(a=st.text(" !\"#$%&'()*;<=>?[\\]^`|~{}ab/.\n\udcff가", max_size=8),
       b=st.text(" !\"#$%&'()*;<=>?[\\]^`|~{}ab/.\n\udcff가", max_size=8))
def test_no_name_is_shown_as_another_name_is_and_each_pastes_back_into_a_shell(a, b):
    """A name is shown bare only when it holds nothing a shell reads as syntax (as ``ls``
    shell-escape quoting does): a printable name can then never print as another one quoted,
    and what is shown is the name again once a shell reads it."""
    import subprocess

    from exporter.gates.names import shell_quote

    assert (shell_quote(a) == shell_quote(b)) == (a == b), (a, b, shell_quote(a), shell_quote(b))
    back = subprocess.run(["bash", "-c", "printf %s " + shell_quote(a)], capture_output=True, check=True).stdout
    assert back == a.encode("utf-8", "surrogateescape"), (a, shell_quote(a), back)


def test_a_name_that_spells_another_name_quoted_is_quoted_itself(tmp_path):
    """``'n/a'$'\\xff''.md'``, a name of printable characters, is not shown as the name with the
    byte FF is: their diagnostics cannot be told apart otherwise."""
    from exporter.gates.names import shell_quote

    real = "n/a\udcff.md"
    forged = "'n/a'$'\\xff''.md'"
    assert shell_quote(real) == "'n/a'$'\\xff''.md'"
    assert shell_quote(forged) != shell_quote(real)
    assert shell_quote("my digests/2024-03-04.md") == "'my digests/2024-03-04.md'"  # as ls shows it
    assert shell_quote("#notes.md") == "'#notes.md'" and shell_quote("a#b.md") == "a#b.md"


@pytest.mark.parametrize("name", ["x{1..2}.md", "a{b,c}.md", "{a,b}", "x{.md", "}.md"])
def test_a_name_with_braces_pastes_back_as_itself(name):
    """bash expands ``x{1..2}.md`` into two names (brace expansion): such a name is quoted, and
    bash reads the quoted name back as the name."""
    import subprocess

    from exporter.gates.names import shell_quote

    shown = shell_quote(name)
    assert shown != name
    said = subprocess.run(["bash", "-c", f"printf '%s\\0' {shown}"], capture_output=True, check=True).stdout
    assert said == name.encode() + b"\0"
