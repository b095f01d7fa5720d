"""Hostile input, round four: what an outside attacker found one step away from round three's
fixes, each class generated (hypothesis) and run through the whole CLI (no traceback, exit 0, 1
or 2, a message naming the file or option):

- the text gate: every byte-order mark (UTF-8, UTF-16 and UTF-32, both orders) at the start and
  at every line, and files cut short after their BOM;
- the names gate: names that are not UTF-8 (or hold an escape or a newline) for the output
  folder, the inputs, the templates, the state and the config's folder: printed quoted, written
  to JSON so they read back (an incremental run after them reads and writes nothing);
- one path type: a NUL at any position of every path option, a special file or a broken link
  wherever a file or folder is named, ./digest-export.toml of every kind;
- config messages: values shown as TOML spells them, never a Python repr.
"""

from __future__ import annotations

import codecs
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from hostile_three import SETTINGS, day, make_special, paper, run_cli, two_papers



def _all_output(result) -> bytes:
    return result.stdout_bytes + (result.stderr_bytes or b"")


def _assert_quoted_utf8(result) -> str:
    """The run printed valid UTF-8, with no raw escape character and no lone surrogate: every
    name went through the names gate's quoting."""
    raw = _all_output(result)
    text = raw.decode("utf-8")  # strict: a raw undecodable byte fails here
    assert "\x1b" not in text, text
    assert "\\udc" not in text, text
    return text


# -- the text gate: every BOM at every position ---------------------------------------------

ENCODINGS = {  # name: (BOM, codec without BOM, unit width)
    "utf-8": (codecs.BOM_UTF8, "utf-8", 1),
    "utf-16-le": (codecs.BOM_UTF16_LE, "utf-16-le", 2),
    "utf-16-be": (codecs.BOM_UTF16_BE, "utf-16-be", 2),
    "utf-32-le": (codecs.BOM_UTF32_LE, "utf-32-le", 4),
    "utf-32-be": (codecs.BOM_UTF32_BE, "utf-32-be", 4),
}
TWO_DAYS = day("2024-03-04", paper(1, "Emoji \U0001f600 and 한국어")) + day("2024-03-05", paper(2, "Second"))


@st.composite
def bom_files(draw):
    """A digest in one encoding with its BOM (none is allowed for UTF-8), more BOMs of the same
    encoding at line starts (files joined with cat), maybe cut short by a part of a unit."""
    name = draw(st.sampled_from(sorted(ENCODINGS)))
    bom, codec, width = ENCODINGS[name]
    lines = TWO_DAYS.split("\n")
    inner = sorted(set(draw(st.lists(st.integers(1, len(lines) - 1), max_size=3))))
    data = b"" if name == "utf-8" and not draw(st.booleans()) else bom
    for i, line in enumerate(lines):
        if i in inner:
            data += bom
        data += (line + ("\n" if i < len(lines) - 1 else "")).encode(codec)
    cut = draw(st.integers(0, width - 1)) if width > 1 else 0
    if cut:
        data = data[:-cut]
    return name, data, bool(inner), cut


def _inspect_bytes(data: bytes) -> tuple[Any, dict, list[tuple[int, str, str]], Path]:
    """``inspect --json`` of a digest file holding *data* (in a folder removed afterwards): the
    result, the JSON document, its diagnostics as (line, severity, message), and the file's path."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "d.md"
        path.write_bytes(data)
        result = run_cli(["inspect", "--json", str(path)], Path(folder))
    doc = json.loads(result.stdout_bytes.decode("utf-8"))
    return result, doc, [(d["line"], d["severity"], d["message"]) for d in doc["diagnostics"]], path


@settings(max_examples=60, **SETTINGS)
@given(case=bom_files())
def test_every_bom_kind_at_every_line_is_read_or_named(case):
    name, data, inner, cut = case
    result, doc, messages, path = _inspect_bytes(data)
    if cut:
        assert result.exit_code == 1, messages
        assert any(sev == "error" and "cut short" in m and name[:6].upper() in m for _, sev, m in messages), messages
        assert f"{path}:" in result.output
        return
    assert result.exit_code == 0, messages
    titles = [p["title"] for d in doc["digests"] for p in d["papers"]]
    assert [d["date"] for d in doc["digests"]] == ["2024-03-04", "2024-03-05"], (name, messages)
    assert titles == ["Emoji \U0001f600 and 한국어", "Second"], titles  # not decoded in halves
    assert not any("NUL" in m for _, _, m in messages), messages
    if inner:
        assert any("byte-order mark inside" in m for _, _, m in messages), messages


@settings(max_examples=60, **SETTINGS)
@given(bom=st.sampled_from(sorted(ENCODINGS)), at_line_start=st.booleans(), data=st.data())
def test_a_bom_of_any_kind_joined_into_a_utf8_file_is_removed_or_named_at_its_line(bom, at_line_start, data):
    """A UTF-8 digest with another file joined in at any place (``cat a.md b.md``), the joined
    part starting with its own BOM, in its own encoding."""
    mark, codec, _ = ENCODINGS[bom]
    text = TWO_DAYS
    starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n" and i + 1 < len(text)]
    # Not at 0: a file that starts with a BOM is in that encoding (the cases above).
    at = data.draw(st.sampled_from(starts[1:]) if at_line_start else st.integers(1, len(text)))
    joined = day("2024-03-07", paper(7, "Joined"))
    raw = text[:at].encode("utf-8") + mark + joined.encode(codec) + text[at:].encode("utf-8")
    line = text[:at].count("\n") + 1
    result, doc, messages, _ = _inspect_bytes(raw)
    if bom == "utf-8":
        assert (line, "warning", "byte-order mark inside the file (files joined with cat?); removed") \
            in messages, messages
        if at_line_start:
            assert result.exit_code == 0, messages
            assert [d["date"] for d in doc["digests"]] == ["2024-03-04", "2024-03-05", "2024-03-07"], messages
        else:  # joined inside a line: "#" + "## Day" is a paper heading before any day, the file's error
            assert result.exit_code in (0, 1), messages
            assert not [m for _, sev, m in messages if sev == "error" and "decode" in m], messages
    else:  # bytes that are neither UTF-8 nor CP949 from there on: an error at that line
        assert result.exit_code == 1, messages
        assert [(n, sev) for n, sev, _ in messages] == [(line, "error")], (messages, line)




@pytest.mark.parametrize("first, second", [(a, b) for a in ENCODINGS for b in ENCODINGS
                                           if a != "utf-8" and a[:6] == b[:6]])
def test_wide_files_joined_in_any_byte_order_keep_every_day(first, second):
    """Two UTF-16 (or UTF-32) files joined with ``cat``, each with its own BOM, in the same byte
    order or opposite ones: every day of both is read, and the inner BOM is named at its line."""
    one, two = day("2024-03-04", paper(1, "Emoji \U0001f600 and 한국어")), day("2024-03-05", paper(2, "Second"))
    raw = ENCODINGS[first][0] + one.encode(ENCODINGS[first][1]) + ENCODINGS[second][0] + two.encode(ENCODINGS[second][1])
    result, doc, messages, _ = _inspect_bytes(raw)
    assert result.exit_code == 0, messages
    assert [d["date"] for d in doc["digests"]] == ["2024-03-04", "2024-03-05"], messages
    assert [p["title"] for d in doc["digests"] for p in d["papers"]] == ["Emoji \U0001f600 and 한국어", "Second"]
    assert (one.count("\n") + 1, "warning", "byte-order mark inside the file (files joined with cat?); removed") \
        in messages, messages
@pytest.mark.parametrize("name", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_a_file_cut_short_after_its_bom_is_named_at_its_last_line(tmp_path, name):
    bom, codec, width = ENCODINGS[name]
    data = (bom + TWO_DAYS.encode(codec))[:-1]
    (tmp_path / "cut.md").write_bytes(data)
    result = run_cli(["inspect", str(tmp_path / "cut.md")], tmp_path)
    assert result.exit_code == 1
    last = TWO_DAYS.count("\n") + (0 if TWO_DAYS.endswith("\n") else 1)
    assert f"cut.md:{last}: error: cannot decode the file: {name[:6].upper()} by its byte-order mark, but " \
           f"{len(data)} bytes are not whole {width}-byte units: the file is cut short" in result.output, result.output


def test_utf16_that_starts_with_a_nul_is_not_taken_for_utf32(tmp_path):
    (tmp_path / "n.md").write_bytes(codecs.BOM_UTF16_LE + ("\0" + TWO_DAYS).encode("utf-16-le"))
    result = run_cli(["inspect", str(tmp_path / "n.md")], tmp_path)
    assert result.exit_code == 0 and "file is UTF-16; decoded" in result.output and "2 days" in result.output


# -- the names gate: names that are not UTF-8, in every place a path is given ----------------

NAME_PARTS = st.one_of(st.binary(min_size=1, max_size=2).filter(lambda b: b"/" not in b and b"\0" not in b),
                       st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\n", b"\x1b[31m", "\u202e".encode(),
                                        b"%", b"%FF", b"fsbytes:", b" ", "한".encode("cp949"), b"\\xff"]))
ODD_NAMES = (st.lists(NAME_PARTS, min_size=1, max_size=3).map(b"".join)
             .filter(lambda b: not b.startswith((b".", b"-")) and b != b"~"))
PLACES = ("output", "input-folder", "input-file", "templates", "state", "config-folder")


def _odd_case(tmp: Path, place: str, name: bytes) -> tuple[list[str], Path]:
    """The build arguments with *name* at *place*, and the output folder."""
    src = two_papers(tmp)
    out, state = tmp / "out", tmp / "state.json"
    here = os.fsdecode(os.path.join(os.fsencode(tmp), name))
    args = ["build", str(src), "--images", "none"]
    if place == "output":
        out = Path(here)
    elif place == "input-folder":
        os.rename(src, here)
        args[1] = here
    elif place == "input-file":
        os.rename(src / "a.md", os.fsdecode(os.path.join(os.fsencode(src), name + b".md")))
    elif place == "templates":
        Path(here).mkdir()
        Path(here, "extra.css").write_text("p { margin: 0 }\n", "utf-8")
        Path(os.fsdecode(os.path.join(os.fsencode(here), name))).write_bytes(b"x")
        args += ["--templates", here]
    elif place == "state":
        state = Path(here)
    elif place == "config-folder":
        Path(here).mkdir()
        Path(here, "digest-export.toml").write_text(f'inputs = ["{src}"]\nimages = "none"\n', "utf-8")
        args = ["--config", str(Path(here, "digest-export.toml")), "build"]
    return args + ["-o", str(out), "--state", str(state)], out


@pytest.mark.parametrize("place", PLACES)
@settings(max_examples=10, **SETTINGS)
@given(name=ODD_NAMES, command=st.sampled_from(["build", "build", "epub", "feed"]))
def test_names_that_are_not_utf8_are_quoted_and_read_back_everywhere(place, name, command):
    import feedparser

    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        try:
            args, out = _odd_case(tmp, place, name)
        except OSError:  # a name this file system refuses
            event("a name the file system refuses")
            return
        event(f"run: {command}")
        if command != "build" and place not in ("state", "config-folder"):
            # The other commands: no state, the same quoting.
            args = [command] + args[1:args.index("--state")]
            if command == "feed":
                args = [a for a in args if a not in ("--images", "none")] + ["--format", "atom", "--format", "opds"]
                if "--templates" in args:
                    i = args.index("--templates")
                    del args[i:i + 2]
            result = run_cli(args, tmp)
            assert result.exit_code == 0, result.output
            _assert_quoted_utf8(result)
            if command == "feed":
                assert not feedparser.parse((out / "feed.atom").read_bytes()).bozo
            return
        first = run_cli(args, tmp)
        assert first.exit_code == 0, first.output
        _assert_quoted_utf8(first)
        state = Path(args[args.index("--state") + 1])
        json.loads(state.read_bytes().decode("utf-8"))  # strict UTF-8 JSON, no lone surrogate
        parsed = feedparser.parse((out / "feed.atom").read_bytes())
        assert not parsed.bozo, parsed.bozo_exception
        # The state reads back as the same names: the next run reads and writes nothing.
        again = run_cli(args + ["-v"], tmp)
        text = _assert_quoted_utf8(again)
        assert again.exit_code == 0, text
        assert "damaged" not in text and "rebuilding" not in text, text
        assert "0 written" in text and "input files: 0 of 1 read" in text, text


@given(name=st.binary(min_size=1, max_size=40).filter(lambda b: b"\0" not in b))
@settings(max_examples=200, **SETTINGS)
def test_stored_names_encode_to_utf8_and_read_back_as_the_same_bytes(name):
    from exporter.gates.names import stored_name, unstored_name

    text = os.fsdecode(name)
    stored = stored_name(text)
    stored.encode("utf-8")
    assert os.fsencode(unstored_name(stored)) == name
    assert "/" not in stored or b"/" in name
    assert not re.search("[\x00-\x1f\x7f]", stored), stored  # what the documents gate takes as a name


def test_a_stored_name_cannot_be_made_to_leave_the_folder():
    from exporter.gates.names import unstored_name

    for forged in ("fsbytes:..%2Fx", "fsbytes:%00", "fsbytes:%2e%2e"):
        with pytest.raises(ValueError):
            unstored_name(forged)


def test_an_output_name_over_255_bytes_names_the_option(tmp_path):
    src = two_papers(tmp_path)
    result = run_cli(["build", str(src), "-o", str(tmp_path / ("x" * 256))], tmp_path)
    assert result.exit_code == 2
    assert "Invalid value for '-o' / '--output'" in result.output and "is 256 bytes long" in result.output
    assert "state" not in result.output
    deep = "/".join(["y" * 250] * 18)
    for args in (["build", str(src), "-o", deep], ["inspect", deep + "/x.md"], ["build", str(src), "--state", deep]):
        result = run_cli(args, tmp_path)
        assert result.exit_code == 2 and "as a full path; the system allows 4095" in result.output, result.output


# -- one path type: NUL anywhere in every path option -----------------------------------------

PATH_OPTIONS = [  # (arguments before the value, the option as the message names it)
    (["build", "IN", "-o"], "--output"), (["epub", "IN", "-o"], "--output"), (["feed", "IN", "-o"], "--output"),
    (["inspect"], "INPUT"), (["build", "IN", "--templates"], "--templates"), (["build", "IN", "--state"], "--state"),
    (["epub", "IN", "--font"], "--font"), (["epub", "IN", "--font-bold"], "--font-bold"),
    (["--config"], "--config"), (["send", "OUT", "--book"], "--book"), (["send"], "DIR"),
    (["send", "OUT", "-o"], "--output"), (["send", "OUT", "--password-file"], "--password-file"),
]


@settings(max_examples=60, **SETTINGS)
@given(option=st.sampled_from(PATH_OPTIONS), text=st.text(st.characters(blacklist_categories=("Cs",)), max_size=12),
       at=st.integers(0, 12), nuls=st.integers(1, 3))
def test_a_nul_anywhere_in_a_path_option_is_a_usage_error_naming_it(option, text, at, nuls):
    head, name = option
    value = text[:at] + "\0" * nuls + text[at:]
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        src, out = two_papers(tmp), tmp / "out"
        out.mkdir()
        args = [str(src) if a == "IN" else str(out) if a == "OUT" else a for a in head] + [value]
        if head == ["--config"]:
            args.append("inspect")
        result = run_cli(args, tmp)
        assert result.exit_code == 2, result.output
        assert name in result.output and "NUL" in result.output, result.output


# -- special files and broken links wherever a path is named ---------------------------------

KINDS = ("fifo", "socket", "chardev", "link-to-dev-zero", "dangling", "loop", "folder")


def _make(path: Path, kind: str) -> object:
    if kind == "dangling":
        os.symlink(path.parent / "nothing-here", path)
    elif kind == "loop":
        os.symlink(path.name, path)
    elif kind == "folder":
        path.mkdir()
    else:
        return make_special(path, kind)
    return None


@settings(max_examples=30, **SETTINGS)
@given(kind=st.sampled_from(KINDS), command=st.sampled_from(["inspect", "epub", "feed", "build", "send"]))
def test_a_config_in_the_current_folder_of_any_kind_is_refused_by_name(kind, command):
    tmp = Path(tempfile.mkdtemp(prefix="h4-", dir="/tmp"))  # a socket's path fits in 108 bytes
    old = os.getcwd()
    try:
        keep = _make(tmp / "digest-export.toml", kind)
        src = two_papers(tmp)
        os.chdir(tmp)
        args = [command] + ([str(src)] if command != "send" else [])
        result = run_cli(args, tmp, seconds=30)
        assert result.exit_code == 2, result.output
        assert "digest-export.toml" in result.output and "config" in result.output, result.output
        assert not (tmp / "daily-papers-2024-W10.epub").exists()
        if keep is not None:
            keep.close()
    finally:
        os.chdir(old)
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


#: Where a path is named, and what the message must say of a special file there.
NAMED_PLACES = {
    "input-in-folder": "warning",
    "input-file": "error",
    "templates": "not a folder",
    "font": "not a regular file",
    "state": "not a regular file",
    "config": "config",
    "send-book": "not a regular file",
    "password-file": "password",
    "font-bold": "not a regular file",
    "thumbnail": "left out",
    "ledger": "send ledger",
}


@settings(max_examples=60, **SETTINGS)
@given(kind=st.sampled_from(KINDS), place=st.sampled_from(sorted(NAMED_PLACES)))
def test_a_special_file_or_broken_link_where_a_path_is_named_is_said_by_name(kind, place):
    tmp = Path(tempfile.mkdtemp(prefix="h4-", dir="/tmp"))
    try:
        src = two_papers(tmp)
        out = tmp / "out"
        out.mkdir()
        target = {"input-in-folder": src / "z.md", "input-file": tmp / "x.md", "templates": tmp / "tpl",
                  "font": tmp / "f.ttf", "state": tmp / "s.json", "config": tmp / "c.toml",
                  "send-book": out / "b.epub", "password-file": tmp / "pw", "font-bold": tmp / "b.ttf",
                  "thumbnail": src / "pic.png", "ledger": out / ".digest-export-sent.json"}[place]
        if place == "thumbnail":
            (src / "a.md").write_text(day("2024-03-04", paper(1).replace("Vote:", "![t](pic.png)\n\nVote:")), "utf-8")
        if kind == "folder" and place in ("templates", "input-in-folder", "input-file"):
            return  # a folder is what these may name
        keep = _make(target, kind)
        args = {"input-in-folder": ["inspect", str(src)], "input-file": ["inspect", str(target)],
                "templates": ["epub", str(src), "-o", str(out), "--templates", str(target)],
                "font": ["epub", str(src), "-o", str(out), "--font", str(target)],
                "state": ["build", str(src), "-o", str(out), "--state", str(target)],
                "config": ["--config", str(target), "inspect", str(src)],
                "send-book": ["send", str(out), "--to", "a@example.org", "--dry-run", "--book", "b.epub"],
                "password-file": ["send", str(out), "--to", "a@example.org", "--from-address", "b@example.org",
                                  "--smtp-host", "127.0.0.1", "--smtp-user", "u", "--password-file", str(target),
                                  "--unfinished"],
                "font-bold": ["epub", str(src), "-o", str(out), "--font-bold", str(target)],
                "thumbnail": ["epub", str(src), "-o", str(out), "-v"],
                "ledger": ["send", str(out), "--to", "a@example.org", "--dry-run"]}[place]
        result = run_cli(args, tmp, seconds=30)
        text = _assert_quoted_utf8(result)
        assert target.name in text, text
        assert NAMED_PLACES[place] in text or kind in ("dangling", "loop") and "symbolic link" in text, text
        if place == "input-in-folder":
            assert result.exit_code == 0 and f"{target}: warning: " in text, text
        elif place == "thumbnail":
            assert result.exit_code == 0 and "unexpected" not in text, text
        else:
            assert result.exit_code in (1, 2), text
        # Never a bare "does not exist" for something that is there (a pipe, a folder, a loop).
        assert "does not exist" not in text or kind == "dangling", text
        if keep is not None:
            keep.close()
    finally:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


# -- config messages: TOML spellings, never Python reprs -----------------------------------

CONFIG_KEYS = ["days", "limit", "from", "to", "images", "lang", "title", "jobs", "image-timeout", "quiet", "inputs",
               "output", "templates", "by", "device", "base-url", "top", "min-votes", "match", "grayscale"]
TOML_VALUES = st.sampled_from([
    "true", "false", "0", "-1", "7", "1.5", "nan", "inf", "-inf", '"7"', '""', '"x y"', '"\\u001b[31m"',
    "2024-03-04", "2024-03-04T10:00:00", "2024-03-04T10:00:00Z", "10:00:00", "[]", "[1, 2]", '["a"]', "[[]]",
    "{}", '{ a = 1 }', '[{ a = 1 }]', "9223372036854775807",
])
PYTHON_REPRS = re.compile(r"\bTrue\b|\bFalse\b|\bNone\b|datetime\.|\{'|\['|\ba [aeiou]|\ban [bcdfgjklmnpqrstvwxz]")


@settings(max_examples=80, **SETTINGS)
@given(key=st.sampled_from(CONFIG_KEYS), value=TOML_VALUES, table=st.sampled_from(["", "[build]\n", "[epub]\n"]))
def test_config_messages_spell_values_as_toml(key, value, table):
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        src = two_papers(tmp)
        (tmp / "c.toml").write_text(f"{table}{key} = {value}\n", "utf-8")
        result = run_cli(["--config", str(tmp / "c.toml"), "inspect", str(src)], tmp)
        if result.exit_code != 2:
            return
        line = result.output.strip().splitlines()[-1]
        assert "c.toml" in line, line
        message = line.split("c.toml", 1)[1]
        shown = re.sub(r'"[^"]*"', '""', message)  # the value itself may spell anything
        assert not PYTHON_REPRS.search(shown), line
        assert "\x1b" not in line


@pytest.mark.parametrize("command", ["epub", "feed", "build", "inspect", "send"])
def test_an_array_of_tables_named_after_a_command_says_so(tmp_path, command):
    (tmp_path / "c.toml").write_text(f"[[{command}]]\nimages = \"none\"\n", "utf-8")
    result = run_cli(["--config", str(tmp_path / "c.toml"), "inspect", str(two_papers(tmp_path))], tmp_path)
    assert result.exit_code == 2
    assert f"'{command}' must be a table ([{command}], once), not an array of tables ([[{command}]])" in result.output
    assert "did you mean" not in result.output


def test_feed_opds_says_how_many_books_the_catalog_lists(tmp_path):
    src = two_papers(tmp_path)
    out = tmp_path / "out"
    run_cli(["epub", str(src), "-o", str(out), "--images", "none", "-q"], tmp_path)
    result = run_cli(["feed", str(src), "-o", str(out), "--format", "opds"], tmp_path)
    assert result.exit_code == 0
    assert "a catalog of 1 book," in result.output and "entries" not in result.output, result.output


@pytest.mark.parametrize("stem", [b"book\xff", b"b\x1b[31m\nz", b"fsbytes:%FF"])
def test_a_book_named_in_bytes_is_mailed_once_and_the_ledger_reads_back(tmp_path, stem):
    """The send ledger keeps the book's name so that it reads back as the same bytes: the next
    run skips the book instead of refusing the ledger or mailing it again."""
    import shutil

    from delivery_helpers import smtp_server

    src, out = two_papers(tmp_path), tmp_path / "out"
    run_cli(["epub", str(src), "-o", str(tmp_path / "made"), "--images", "none", "-q"], tmp_path)
    out.mkdir()
    try:
        shutil.copy(next((tmp_path / "made").glob("*.epub")), os.fsdecode(os.fsencode(out) + b"/" + stem + b".epub"))
    except OSError:
        pytest.skip("a name this file system refuses")
    with smtp_server(tmp_path) as server:
        args = ["send", str(out), "--to", "reader@kindle.com", "--unfinished", *server.args()]
        first = run_cli(args, tmp_path, env=server.env())
        assert first.exit_code == 0, first.output
        _assert_quoted_utf8(first)
        assert len(server.mailbox.messages) == 1
        json.loads((out / ".digest-export-sent.json").read_bytes().decode("utf-8"))
        again = run_cli(args, tmp_path, env=server.env())
        assert again.exit_code == 0, again.output
        _assert_quoted_utf8(again)
        assert len(server.mailbox.messages) == 1, again.output


def test_every_path_option_of_every_command_has_the_one_path_type():
    """A new path option that bypasses PathArg would let a NUL through to os.stat (exit 70)."""
    import click

    from exporter.cli import main
    from exporter.cli.options import PathArg

    found = []
    for command in [main, *main.commands.values()]:
        for param in command.params:
            if isinstance(param.type, click.Path):
                found.append(param.name)
                assert isinstance(param.type, PathArg), (command.name, param.name)
    assert {"config_path", "inputs", "out_dir", "templates", "state_path", "font", "password_file"} <= set(found)


@pytest.mark.parametrize("key", ['"\\u001b[31mred"', '"a\\nb"', '"\\u202eevil"', '"it\'s"', "dayz"])
@pytest.mark.parametrize("shape", ["{key} = 1", "[{key}]\na = 1", "[epub]\n{key} = 1"])
def test_an_unknown_key_is_shown_without_acting_on_the_terminal(tmp_path, key, shape):
    (tmp_path / "c.toml").write_text(shape.format(key=key) + "\n", "utf-8")
    result = run_cli(["--config", str(tmp_path / "c.toml"), "inspect", str(two_papers(tmp_path))], tmp_path)
    assert result.exit_code == 2
    line = result.output.strip().splitlines()[-1]
    assert "unknown" in line and "c.toml" in line, result.output
    assert not re.search("[\x00-\x1f\x7f\u202a-\u202e]", line), line


# -- a heading with something before its "##" is said, never lost silently ----------------------

STRAY_PREFIXES = st.one_of(
    st.binary(min_size=1, max_size=3).filter(lambda b: b"#" not in b and b"\n" not in b and b"\r" not in b
                                             and not b.isspace()),
    st.text(st.characters(blacklist_categories=("Cs", "Zs", "Zl", "Zp", "Cc")), min_size=1, max_size=3)
    .filter(lambda t: "#" not in t).map(lambda t: t.encode("utf-8")))


@settings(max_examples=60, **SETTINGS)
@given(prefix=STRAY_PREFIXES, level=st.sampled_from([2, 3]))
def test_a_heading_with_bytes_before_it_is_read_or_said_at_its_line(prefix, level):
    from exporter.reader.parse import decode, parse_text

    second = (f"## Daily Papers (2024-03-05)\n\n### [Two](https://arxiv.org/abs/2403.00002)\n\n- b\n"
              if level == 2 else "### [Two](https://arxiv.org/abs/2403.00002)\n\n- b\n")
    data = (day("2024-03-04", paper(1)).encode("utf-8") + b"\n" + prefix + second.encode("utf-8"))
    line = data[:data.index(prefix + b"#")].count(b"\n") + 1
    text, diags = decode(data, "x.md")
    if text is None:  # refused as a whole, at a line: nothing read silently
        assert diags and diags[0].severity.name == "ERROR"
        return
    drafts, more = parse_text(text, "x.md")
    read = {p.title for d in drafts for p in d.papers} if drafts and hasattr(drafts[0], "papers") else None
    said = [d for d in diags + more if d.source.line == line]
    days = len(drafts)
    # Either the heading was read as one (the prefix was removed as invisible,
    # with a warning) or a warning at its line says why it was not.
    assert (level == 2 and days == 2) or said or (level == 3 and read and "Two" in read), (prefix, diags, more)


@settings(max_examples=12, **SETTINGS)
@given(option=st.sampled_from(["-o", "--state"]), depth=st.integers(0, 3),
       command=st.sampled_from(["build", "epub", "feed"]))
def test_a_path_under_a_file_is_refused_before_any_work(option, depth, command):
    if command != "build" and option == "--state":
        option = "-o"
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        src = tmp / "d.md"
        src.write_text(day("2024-03-04", paper(1)), "utf-8")
        (tmp / "afile").write_text("mine", "utf-8")
        under = tmp / "afile" / Path(*(["sub"] * depth)) / "x.json"
        args = [command, str(src), "--images", "none"] if command == "epub" else [command, str(src)]
        args += ["-o", str(under if option == "-o" else tmp / "out")]
        if option == "--state":
            args += ["--state", str(under)]
        result = run_cli(args, tmp)
        assert result.exit_code == 2, result.output
        assert option in result.output and "which is a regular file, not a folder" in result.output, result.output
        assert not (tmp / "out").exists() and (tmp / "afile").read_text("utf-8") == "mine"


def test_a_utf8_bom_before_cp949_text_is_ignored_and_said():
    """An editor that wrote a UTF-8 byte-order mark and saved the text as CP949: the text is read
    as CP949 (as without the mark), and the mark is named, not a byte of the text."""
    raw = codecs.BOM_UTF8 + day("2024-03-04", paper(1, "한국어 제목")).encode("cp949")
    result, doc, messages, _ = _inspect_bytes(raw)
    assert result.exit_code == 0, messages
    assert [p["title"] for d in doc["digests"] for p in d["papers"]] == ["한국어 제목"], messages
    assert (1, "warning", "a UTF-8 byte-order mark before text that is not UTF-8; ignored") in messages, messages
