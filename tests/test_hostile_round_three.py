"""Hostile input, round three: each class generated (hypothesis), run through
the whole CLI with a watchdog, no traceback and no internal error (exit 70
is a failure), outputs checked with the real validators (EPUBCheck in one
batch at the end, feedparser)."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from hostile_three import SETTINGS, SPECIAL_KINDS, day, is_special, make_special, paper, run_cli, two_papers


# -- class 1: files that are not regular files -----------------------------------------------

#: Where a stray special file may sit, and the command that meets it there.
PLACES = ("input-file", "input-in-folder", "input-deep-in-folder", "template-day", "template-css", "extra-css",
          "config", "state", "out:feed.atom", "out:feed.json", "out:book", "out:index.html",
          "out:catalog.opds", "out:cover", "out:epub-o")
BOOK = "daily-papers-2024-W10.epub"


def _short_tmp() -> Path:
    # A Unix socket's path must fit in 108 bytes.
    return Path(tempfile.mkdtemp(prefix="h3-", dir="/tmp"))


def _special_case(tmp: Path, kind: str, place: str, command: str) -> tuple[list[str], Path, object]:
    src = two_papers(tmp)
    out = tmp / "out"
    out.mkdir()
    args = [command, str(src)]
    if place == "input-file":
        target = tmp / "pipe.md"
        args.append(str(target))
    elif place == "input-in-folder":
        target = src / "z.md"
    elif place == "input-deep-in-folder":
        target = src / "y" / "z" / "x.md"
    elif place in ("template-day", "template-css", "extra-css"):
        name = {"template-day": "day.xhtml.j2", "template-css": "epub.css", "extra-css": "extra.css"}[place]
        target = tmp / "tpl" / name
        args += ["--templates", str(tmp / "tpl")] if command != "feed" and command != "inspect" else []
    elif place == "config":
        target = tmp / "digest-export.toml"
        args = ["--config", str(target)] + args
    elif place == "state":
        target = tmp / "state.json"
        args += ["--state", str(target)] if command == "build" else []
    elif place == "out:epub-o":
        target = out / "one.epub"
        if command == "epub":
            args += ["--by", "all"]
            args += ["-o", str(target)]
    else:
        name = place.removeprefix("out:").replace("book", BOOK).replace("cover", BOOK[:-5] + ".cover.jpg")
        target = out / name
    if command in ("epub", "feed", "build") and "-o" not in args:
        args += ["-o", str(out)]
    if command in ("epub", "build"):
        args += ["--images", "none"]
    if command == "feed":
        args += ["--format", "atom", "--format", "json", "--format", "opds"]
    keep = make_special(target, kind)
    return args, target, keep


@settings(max_examples=40, **SETTINGS)
@given(kind=st.sampled_from(SPECIAL_KINDS), place=st.sampled_from(PLACES),
       command=st.sampled_from(["inspect", "epub", "feed", "build"]))
def test_special_files_never_block_and_are_never_read_or_replaced(kind, place, command):
    tmp = _short_tmp()
    try:
        args, target, keep = _special_case(tmp, kind, place, command)
        result = run_cli(args, tmp, seconds=60)
        # Still there, still special: never replaced, never removed.
        assert is_special(target), (args, result.output)
        if place in ("input-file", "config") or (place == "out:epub-o" and command == "epub"):
            assert result.exit_code != 0, (args, result.output)
            assert "not a regular file" in result.output and target.name in result.output, result.output
        elif place.startswith("input"):
            assert f"{target}: warning: " in result.output, result.output
        if keep is not None:
            keep.close()
    finally:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


#: Every name each writing command writes, where a special file or a link loop must be refused by name.
WRITTEN_BY = {"build": ("feed.atom", "feed.rss", "feed.json", "index.html", "icon.png", "catalog.opds",
                        "catalog/year-2024.opds", BOOK),
              "feed": ("feed.atom", "feed.json", "catalog.opds", "icon.png"),
              "epub": (BOOK,)}


@settings(max_examples=40, **SETTINGS)
@given(kind=st.sampled_from(SPECIAL_KINDS + ("loop",)),
       case=st.sampled_from([(c, n) for c, names in WRITTEN_BY.items() for n in names]))
def test_every_output_name_that_is_special_or_a_link_loop_is_an_error_by_name(kind, case):
    command, name = case
    tmp = _short_tmp()
    try:
        src = two_papers(tmp)
        out = tmp / "out"
        keep = make_special(out / name, kind)
        args = [command, str(src), "-o", str(out)] + {
            "build": ["--images", "none", "--base-url", "https://example.org/p/"], "epub": ["--images", "none"],
            "feed": ["--format", "atom", "--format", "json", "--format", "opds", "--base-url",
                     "https://example.org/p/"]}[command]
        result = run_cli(args, tmp, seconds=60)
        assert result.exit_code == 1, (args, result.output)
        assert f"cannot write {out / name}: it is " in result.output and "left alone" in result.output, result.output
        if kind == "loop":
            assert "symbolic link loop" in result.output, result.output
        assert is_special(out / name)
        if keep is not None:
            keep.close()
    finally:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


@pytest.mark.parametrize("command", ["epub", "feed", "build"])
def test_an_output_folder_that_is_a_link_loop_is_said_to_be_one(tmp_path, command):
    src = two_papers(tmp_path)
    (tmp_path / "ol").symlink_to("ol")
    target = tmp_path / "ol" / ("x.epub" if command == "epub" else "sub")
    result = run_cli([command, str(src), "-o", str(target)], tmp_path, seconds=30)
    assert result.exit_code in (1, 2), result.output
    assert "symbolic link loop" in result.output and "which is a file" not in result.output, result.output


def test_a_fifo_given_as_input_names_standard_input(tmp_path):
    os.mkfifo(tmp_path / "p.md")
    result = run_cli(["inspect", str(tmp_path / "p.md")], tmp_path, seconds=20)
    assert result.exit_code == 1
    assert f"{tmp_path / 'p.md'}:1: error: cannot read: a named pipe (FIFO), not a regular file " \
           "(use '-' to read standard input)" in result.output


def test_a_stray_fifo_in_an_input_folder_is_a_warning(tmp_path):
    src = two_papers(tmp_path)
    os.mkfifo(src / "stray.md")
    result = run_cli(["inspect", str(src)], tmp_path, seconds=20)
    assert result.exit_code == 0, result.output
    assert f"{src / 'stray.md'}: warning: a named pipe (FIFO), not a regular file; skipped" in result.output


def test_what_a_walk_skips_is_said_in_the_order_files_are_read(tmp_path):
    """Whatever order the folder lists its entries in: the logs of one input compare equal."""
    src = two_papers(tmp_path)
    names = ["q-fifo.md", "m-fifo.md", "z-fifo.md", "a-fifo.md", "c/b-fifo.md", "c-fifo.md"]
    (src / "c").mkdir()
    for name in names:
        os.mkfifo(src / name)
    result = run_cli(["inspect", str(src)], tmp_path, seconds=20)
    said = [line.split(": warning")[0].removeprefix(f"{src}/") for line in result.output.splitlines()
            if "fifo.md: warning" in line]
    assert said == sorted(names, key=lambda n: Path(n).parts), result.output


def test_output_target_that_is_a_fifo_is_an_error_and_left_alone(tmp_path):
    src = two_papers(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    os.mkfifo(out / "feed.atom")
    result = run_cli(["feed", str(src), "-o", str(out)], tmp_path, seconds=20)
    assert result.exit_code == 1, result.output
    assert f"cannot write {out / 'feed.atom'}: it is a named pipe (FIFO), not a regular file" in result.output
    assert is_special(out / "feed.atom")


def test_the_file_gate_refuses_special_files_before_reading():
    from exporter.gates import files

    with pytest.raises(files.NotRegularFile, match="character device"):
        files.read_bytes("/dev/zero", 10)
    with tempfile.TemporaryDirectory() as tmp:
        os.mkfifo(Path(tmp, "p"))
        with pytest.raises(files.NotRegularFile, match="named pipe"):
            files.read_bytes(Path(tmp, "p"), 10)
        Path(tmp, "big").write_bytes(b"x" * 11)
        with pytest.raises(files.FileTooLarge):
            files.read_bytes(Path(tmp, "big"), 10)
        assert files.read_bytes(Path(tmp, "big"), 11) == b"x" * 11
        # A limit far over memory reads what the file holds, never a buffer of the limit's size.
        assert files.read_bytes(Path(tmp, "big"), 1 << 50) == b"x" * 11


def test_a_file_that_stat_calls_regular_but_would_wait_is_refused_never_waited_for(tmp_path):
    """A kernel file that stat calls regular (``/proc/kmsg``) waits for data on a blocking read: the
    gate reads without blocking (here a pipe's descriptor stands for it) and says so."""
    import io
    import subprocess
    import sys

    from exporter.gates import files

    read, write = os.pipe()
    os.set_blocking(read, False)
    try:
        with pytest.raises(files.WouldWait, match="without waiting"):
            io.BufferedReader(files._NeverWaits(read, "p")).read(10)  # as open_regular reads
    finally:
        os.close(write)
    plain = tmp_path / "plain"
    plain.write_bytes(b"x")
    assert not files.would_wait(plain) and files.read_bytes(plain, 10) == b"x"
    if os.access("/proc/kmsg", os.R_OK) and files.would_wait("/proc/kmsg"):  # root on Linux, no message queued
        for args in (["inspect", "/proc/kmsg"], ["--config", "/proc/kmsg", "inspect", str(plain)]):
            run = subprocess.run([sys.executable, "-m", "exporter", *args], capture_output=True, text=True,
                                 timeout=60)
            assert run.returncode in (1, 2) and "without waiting" in run.stderr, run.stderr


# -- no traceback, ever: exit 70 ----------------------------------------------------------------

def test_an_unexpected_exception_is_one_line_and_exit_70(tmp_path, monkeypatch):
    from click.testing import CliRunner

    import exporter.reader.parse as parse
    from exporter.cli import main

    def boom(*args, **kwargs):
        raise KeyError("surprise")

    monkeypatch.setattr(parse, "read_digests", boom)
    result = CliRunner().invoke(main, ["inspect", str(two_papers(tmp_path))], env={"XDG_CACHE_HOME": str(tmp_path / "c")})
    assert result.exit_code == 70
    lines = [line for line in result.output.splitlines() if "internal error" in line]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    reports = list((tmp_path / "c" / "digest-export" / "crashes").iterdir())
    assert len(reports) == 1
    assert f"please report it with the file {reports[0]}" in lines[0]
    assert "KeyError: 'surprise'" in lines[0]
    assert "Traceback" in reports[0].read_text("utf-8") and "boom" in reports[0].read_text("utf-8")


# -- class 2: byte-level surprises inside a digest -------------------------------------------

BOM8 = "\ufeff"


@st.composite
def joined_digests(draw):
    """Digest files joined with cat (each with its BOM), NUL bytes here and there, in one of
    the encodings people save in; the days and papers that must be found."""
    n_days = draw(st.integers(1, 4))
    korean = draw(st.booleans())
    parts, expected = [], {}
    for i in range(n_days):
        date = f"2024-03-{i + 4:02d}"
        title = "한국어 논문 요약" if korean else "A paper"
        text = day(date, *(paper(10 * i + j, f"{title} {j}") for j in range(draw(st.integers(1, 3)))))
        expected[date] = text.count("### [")
        bom = draw(st.sampled_from(["none", "start", "start-crlf", "mid-title", "before-paper", "invisible"]))
        if bom == "invisible":  # what editors show as nothing, before the heading
            text = draw(st.text(alphabet="\u200b\u200c\u200d\u200e\u200f\u2060\u2066\u2069\u180e\u061c",
                                min_size=1, max_size=3)) + text
        elif bom == "start":
            text = BOM8 + text
        elif bom == "start-crlf":
            text = BOM8 + text.replace("\n", "\r\n")
        elif bom == "mid-title":
            text = text.replace("Daily", "Da" + BOM8 + "ily", 1)
        elif bom == "before-paper":
            text = text.replace("### [", BOM8 + "### [", 1)
        parts.append(text)
    text = "".join(parts)
    nuls = draw(st.lists(st.integers(0, len(text)), max_size=3))
    for at in sorted(nuls, reverse=True):
        # Not inside a "## " marker: a NUL there is a broken heading, not a hidden one.
        while at and text[at - 1] in "#[":
            at -= 1
        text = text[:at] + "\0" + text[at:]
    encoding = draw(st.sampled_from(["utf-8", "utf-16", "utf-16-le-bom", "utf-16-be-bom"]
                                    + (["cp949"] if korean else [])))
    if encoding == "utf-16-le-bom":
        data = b"\xff\xfe" + text.lstrip(BOM8).encode("utf-16-le")
    elif encoding == "utf-16-be-bom":
        data = b"\xfe\xff" + text.lstrip(BOM8).encode("utf-16-be")
    elif encoding == "cp949":  # what CP949 cannot hold is left out
        data = text.replace(BOM8, "").encode("cp949", "ignore")
    else:
        data = text.encode(encoding)
    return data, expected, bool(nuls)


@settings(max_examples=40, **SETTINGS)
@given(first=st.sampled_from(["utf-16-le", "utf-16-be"]), korean=st.booleans(),
       second=st.sampled_from(["utf-8", "utf-8-sig", "same-no-bom", "other-no-bom", "other-bom", "same-bom",
                               "u+fffe-at-line-start", "u+fffe-mid-line"]))
def test_a_utf16_file_joined_with_another_loses_no_day_unsaid(first, korean, second):
    """A UTF-16 digest with a second one joined after it (cat), in any encoding or byte order, or
    with U+FFFE (the bytes of the other order's mark) inside it: both days are read, or the file
    is an error at the line where the second starts; never a day turned into another text."""
    import codecs
    import json

    title = "한국어 논문 요약" if korean else "A paper"
    one, two = day("2024-03-04", paper(1, title)), day("2024-03-05", paper(2, title))
    bom = codecs.BOM_UTF16_LE if first == "utf-16-le" else codecs.BOM_UTF16_BE
    other = "utf-16-be" if first == "utf-16-le" else "utf-16-le"
    data = bom + one.encode(first)
    if second.startswith("u+fffe"):
        at = "\ufffe" if second.endswith("start") else "x \ufffe"
        data = bom + (one + at + two).encode(first)
    else:
        data += {"utf-8": two.encode("utf-8"), "utf-8-sig": codecs.BOM_UTF8 + two.encode("utf-8"),
                 "same-no-bom": two.encode(first), "other-no-bom": two.encode(other),
                 "other-bom": (codecs.BOM_UTF16_BE if first == "utf-16-le" else codecs.BOM_UTF16_LE) + two.encode(other),
                 "same-bom": bom + two.encode(first)}[second]
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        (tmp / "joined.md").write_bytes(data)
        result = run_cli(["inspect", "--json", str(tmp / "joined.md")], tmp)
        doc = json.loads(result.stdout)
        found = {d["date"] for d in doc["digests"]}
        errors = [d for d in doc["diagnostics"] if d["severity"] == "error"]
        line = one.count("\n") + 1  # where the second starts
        if errors:
            assert result.exit_code == 1 and not found, (second, result.output)
            assert errors[0]["line"] == line, (second, errors)
        elif second == "u+fffe-mid-line":  # "x ## Daily...": no heading, as typed in UTF-8, and said
            assert any(d["line"] == line and "looks like a heading" in d["message"] for d in doc["diagnostics"])
        else:
            assert found == {"2024-03-04", "2024-03-05"}, (second, found, doc["diagnostics"])
        summaries = json.dumps(doc["digests"], ensure_ascii=False)
        assert "\u2378" not in summaries and "䐀" not in summaries  # no text read in the wrong order


@settings(max_examples=40, **SETTINGS)
@given(case=joined_digests())
def test_a_bom_or_nul_anywhere_hides_no_day(case):
    import json

    data, expected, has_nul = case
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        (tmp / "joined.md").write_bytes(data)
        result = run_cli(["inspect", "--json", str(tmp / "joined.md")], tmp)
        assert result.exit_code == 0, result.output
        doc = json.loads(result.stdout)
        found = {d["date"]: len(d["papers"]) for d in doc["digests"]}
        assert found == expected, (found, expected, data[:200])
        messages = [d["message"] for d in doc["diagnostics"]]
        if "\ufeff".encode() in data[3:]:
            assert any("byte-order mark" in m for m in messages), messages
        if has_nul and b"\0\0" not in data and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
            assert any("NUL" in m for m in messages), messages
        for d in doc["digests"]:
            assert "\ufeff" not in json.dumps(d, ensure_ascii=False)


def test_a_bom_inside_the_file_is_reported_at_its_line(tmp_path):
    first = day("2024-03-04", paper(1))
    (tmp_path / "a.md").write_text(first + "\ufeff" + day("2024-03-05", paper(2)), "utf-8")
    result = run_cli(["inspect", str(tmp_path / "a.md")], tmp_path)
    line = first.count("\n") + 1
    assert f"a.md:{line}: warning: byte-order mark inside the file (files joined with cat?); removed" in result.output
    assert "2 days" in result.output


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("files", [3, 30])
def test_every_bom_inside_the_file_is_reported_at_its_own_line(tmp_path, files, eol):
    """Files joined with cat: each join is said at its line (a mid-line one too), the first
    twenty, and the rest in one note naming how many and the last."""
    from exporter.gates.text import MAX_BOM_NOTES

    days = [day(f"2024-03-{d + 1:02d}", paper(d + 1)).replace("\n", eol) for d in range(files)]
    text = "\ufeff" + "\ufeff".join(days)
    text = text.replace("Vote:", "Vo\ufefftes:".replace("tes", "te"), 1)  # one inside a line, too
    (tmp_path / "a.md").write_text(text, "utf-8")
    result = run_cli(["inspect", str(tmp_path / "a.md")], tmp_path)
    lines = sorted({text[:i].replace("\r\n", "\n").replace("\r", "\n").count("\n") + 1
                    for i, c in enumerate(text) if c == "\ufeff" and i > 0})
    said = [int(m) for m in re.findall(r"a\.md:(\d+): warning: byte-order mark inside the file", result.output)]
    assert said == lines[:MAX_BOM_NOTES], result.output
    if len(lines) > MAX_BOM_NOTES:
        assert (f"a.md:{lines[MAX_BOM_NOTES]}: warning: {len(lines) - MAX_BOM_NOTES} more lines with a byte-order "
                f"mark inside the file, the last at line {lines[-1]}; removed") in result.output, result.output
    assert f"{files} days" in result.output


def test_legacy_encoding_errors_name_the_right_line(tmp_path):
    text = "\r\n".join(["## 일일 논문 (2024-03-04)", "", "### [한국어](https://arxiv.org/abs/2403.00001)", "",
                       "Vote: x", ""])
    (tmp_path / "k.md").write_bytes(text.encode("cp949"))
    result = run_cli(["inspect", str(tmp_path / "k.md")], tmp_path)
    assert "k.md:1: warning: file is not UTF-8 (from line " in result.output and "decoded as CP949 (EUC-KR)" in result.output
    assert "k.md:5: warning:" in result.output, result.output
    (tmp_path / "bad.md").write_bytes(b"## x\r\n\r\n\x80\xff\n")
    result = run_cli(["inspect", str(tmp_path / "bad.md")], tmp_path)
    assert "bad.md:3: error: cannot decode the file: not UTF-8 (byte 0x80)" in result.output


@settings(max_examples=300, **SETTINGS)
@given(lines=st.lists(st.text("ab #[]가한글박민아 ", max_size=8), min_size=1, max_size=12), data=st.data(),
       bad=st.sampled_from([b"\xc0\xaf", b"\x80", b"\xff", b"\xed\xa0\x80", b"\xf5\x80", b"\xe0\x80", b"\xaf"]),
       eol=st.sampled_from([b"\n", b"\r\n", b"\r"]))
@example(lines=["## Daily Papers (2024-03-04)", "", "### [Sparse](https://arxiv.org/abs/2403.00001)", "", "Vote: 1",
                "", "Authors: 박민아"], data=None, bad=b"\xc0\xaf", eol=b"\n")
def test_invalid_bytes_at_any_line_are_reported_at_that_line(lines, data, bad, eol):
    """The line named for a file that is not UTF-8 (an error, or the CP949 warning's "from
    line N") is the line of its first byte that is not UTF-8, wherever CP949 stops."""
    from exporter.gates.text import decode

    at = data.draw(st.integers(0, len(lines) - 1)) if data is not None else 2
    column = data.draw(st.integers(0, len(lines[at]))) if data is not None else 3
    encoded = [line.encode() for line in lines]
    encoded[at] = lines[at][:column].encode() + bad + lines[at][column:].encode()
    decoded = decode(eol.join(encoded))
    assert (decoded.error[0] if decoded.error else decoded.utf8_until) == at + 1, decoded


# -- class 3: reading is linear in the input -------------------------------------------------

#: How a line may start: every kind of line the reader tells apart.
LINE_STARTS = ("", "## ", "## Daily Papers (", "### ", "### [", "### [t](https://a.org/x", "- ", "  - ", "1. ",
               "* ", "**", "***", "Vote: ", "Authors: ", "![](", "![", "[Watch Video](", "[ watch video ",
               "<video ", "<video src=", "<div>", "</div ", "<img ", "---", "> ", "`", "$")
#: What the reader's patterns look for, as the runs a crafted line repeats.
RUN_CHARS = " \t[]()!<>\"'*_-:：=#$^{}\\`&;/.,0123456789aZ한\u3000\xa0"


#: A run: one of those characters most often, else a short mix of them.
RUNS = st.one_of(st.sampled_from(list(RUN_CHARS)), st.text(alphabet=RUN_CHARS, min_size=2, max_size=4))


def _read_time(start: str, unit: str, end: str, size: int) -> float:
    import time

    from exporter.reader.parse import decode, parse_text

    head = "## Daily Papers (2024-03-04)\n\n### [T](https://arxiv.org/abs/2403.00001)\n\n"
    data = (head + start + unit * (size // len(unit)) + end + "\n").encode("utf-8")
    best = float("inf")
    for _ in range(2):  # CPU time, the better of two: a busy machine slows one run, not the shape
        t = time.process_time()
        text, _ = decode(data, "x.md")
        parse_text(text, "x.md")
        best = min(best, time.process_time() - t)
    return best


@settings(max_examples=25, **SETTINGS)
@given(unit=RUNS, end=st.sampled_from(["", ")", "]", "x", '"', ">", " )"]))
def test_reading_a_crafted_line_is_linear(unit, end):
    """After every kind of line start, a long run of what the patterns look for: 16 times the
    line costs at most ~16 times the time (a quadratic shape costs 256 times)."""
    for start in LINE_STARTS:
        small, large = _read_time(start, unit, end, 2_000), _read_time(start, unit, end, 32_000)
        assert large < 0.03 or large < 48 * max(small, 0.0005), (start, unit, end, small, large)


@pytest.mark.parametrize("shape", [("![](", " ", "x"), ("[Watch Video](", " ", "x"), ("### [t](https://a.org/x", ' "', ""),
                                   ("- ", "**", ""), ("Authors: ", "a,", "")])
def test_reading_grows_linearly_from_1_kb_to_1_mb(shape):
    """The shapes that were quadratic, and the slowest linear ones, from 1 KB to 1 MB."""
    times = {size: _read_time(*shape, size) for size in (1_000, 32_000, 1_000_000)}
    # 1 MB is 1000 times 1 KB: linear with generous slack; quadratic would be 10^6 times.
    assert times[1_000_000] < 5.0 and times[1_000_000] < 80 * max(times[32_000], 0.002), times


# -- class 10: files the program did not write -----------------------------------------------

def _user_bytes(kind: str, seed: int) -> bytes:
    import io
    import zipfile

    if kind == "text":
        return f"my notes {seed}\n".encode()
    if kind == "jpeg":
        from PIL import Image

        buf = io.BytesIO()
        Image.new("RGB", (8 + seed % 5, 8), (seed % 256, 0, 0)).save(buf, "JPEG")
        return buf.getvalue()
    if kind == "epub":  # someone else's book: a real EPUB shape, another publisher
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("mimetype", "application/epub+zip")
            z.writestr("META-INF/container.xml", '<container xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
                       '<rootfiles><rootfile full-path="b.opf"/></rootfiles></container>')
            z.writestr("b.opf", f"<package><metadata><dc:publisher>Me {seed}</dc:publisher></metadata></package>")
        return buf.getvalue()
    if kind == "feed":  # a feed by another program
        return (f'<feed xmlns="http://www.w3.org/2005/Atom"><generator>other</generator><title>{seed}'
                '</title></feed>').encode()
    if kind == "json":
        return b'{"version": "https://jsonfeed.org/version/1.1", "program": "not us", "items": []}'
    return bytes([seed % 256]) * (seed % 100 + 1)


#: (where, commands that write there).  "cover" is a NAME.cover.jpg beside the book.
USER_FILE_PLACES = {
    BOOK: ("epub", "build"), BOOK[:-5] + ".cover.jpg": ("feed-opds", "build"),
    "feed.atom": ("feed", "build"), "feed.rss": ("feed", "build"), "feed.json": ("feed", "build"),
    "catalog.opds": ("feed-opds", "build"), "index.html": ("build",), "icon.png": ("feed",),
    "archive/2024-W09.atom": ("feed-archive",), "one.epub": ("epub-o",), "state.json": ("build-state",),
}


def _command_for(how: str, src: Path, out: Path) -> list[str]:
    base = {"epub": ["epub", str(src), "-o", str(out), "--images", "none"],
            "epub-o": ["epub", str(src), "-o", str(out / "one.epub"), "--images", "none", "--by", "all"],
            "feed": ["feed", str(src), "-o", str(out), "--base-url", "https://example.org/p/"],
            "feed-opds": ["feed", str(src), "-o", str(out), "--format", "opds"],
            "feed-archive": ["feed", str(src), "-o", str(out), "--archive", "--all",
                             "--base-url", "https://example.org/p/"],
            "build": ["build", str(src), "-o", str(out), "--images", "none"],
            "build-state": ["build", str(src), "-o", str(out), "--images", "none", "--state", str(out / "state.json")]}
    return base[how]


@settings(max_examples=30, **SETTINGS)
@given(place=st.sampled_from(sorted(USER_FILE_PLACES)), kind=st.sampled_from(["text", "jpeg", "epub", "feed", "json",
                                                                               "bytes"]),
       seed=st.integers(1, 10_000), earlier=st.booleans(), data=st.data())
def test_a_file_the_program_did_not_write_is_never_replaced(place, kind, seed, earlier, data):
    """Whatever the command, a user's file at a name the program writes stays as it is: the run
    says so (an error naming it, or a warning for a cover) and replaces nothing of the user's."""
    how = data.draw(st.sampled_from(USER_FILE_PLACES[place]))
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        src = two_papers(tmp)
        # two older weeks: archives (RFC 5005: the archive starts once two weeks are closed)
        (src / "b.md").write_text(day("2024-02-26", paper(3)), "utf-8")
        (src / "c.md").write_text(day("2024-02-19", paper(4)), "utf-8")
        out = tmp / "out"
        out.mkdir()
        command = _command_for(how, src, out)
        if earlier and how.startswith("feed-opds"):  # the book the catalog lists, made earlier
            run_cli(_command_for("epub", src, out), tmp)
        elif how == "feed-opds":
            run_cli(_command_for("epub", src, out), tmp)
        user = out / place
        user.parent.mkdir(parents=True, exist_ok=True)
        mine = _user_bytes(kind, seed)
        user.write_bytes(mine)
        result = run_cli(command, tmp)
        assert user.read_bytes() == mine, (command, result.output)
        shown = str(user)
        if how == "build-state":  # a state in DIR is refused first, whatever is there
            assert result.exit_code == 2 and "inside the output folder" in result.output, result.output
        elif place.endswith(".cover.jpg"):
            assert result.exit_code == 0 and f"{shown}: warning: not written by digest-export" in result.output, \
                result.output
        else:
            assert result.exit_code == 1, (command, result.output)
            assert f"digest-export: error: {shown} was not written by digest-export" in result.output, result.output


@pytest.mark.parametrize("command", ["epub", "epub-o", "feed", "feed-opds", "feed-archive", "build"])
def test_the_programs_own_files_are_replaced_by_every_command(tmp_path, command):
    """Its own earlier output (even with no state, even edited) is replaced: the mark tells."""
    src = two_papers(tmp_path)
    out = tmp_path / "out"
    run_cli(_command_for(command, src, out), tmp_path)
    if command == "feed-opds":
        run_cli(_command_for("epub", src, out), tmp_path)
        run_cli(_command_for(command, src, out), tmp_path)
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    assert before
    (src / "b.md").write_text(day("2024-03-05", paper(3)), "utf-8")
    result = run_cli(_command_for(command, src, out) + ["--title", "Another title"], tmp_path)
    assert result.exit_code == 0, result.output
    assert "was not written by digest-export" not in result.output


def test_feed_opds_leaves_a_users_cover_beside_a_book(tmp_path):
    src = two_papers(tmp_path)
    out = tmp_path / "out"
    run_cli(_command_for("epub", src, out), tmp_path)
    cover = out / (BOOK[:-5] + ".cover.jpg")
    cover.write_bytes(_user_bytes("jpeg", 7))
    result = run_cli(_command_for("feed-opds", src, out), tmp_path)
    assert cover.read_bytes() == _user_bytes("jpeg", 7)
    assert f"{cover}: warning: not written by digest-export: left as it is" in result.output
    catalog = (out / "catalog.opds").read_text("utf-8")
    assert "cover.jpg" not in catalog
    cover.unlink()  # gone: the catalog writes its own, which it then keeps up to date
    run_cli(_command_for("feed-opds", src, out), tmp_path)
    assert cover.is_file() and b"digest-export" in cover.read_bytes()[:200]


# -- class 7: the config file's own bytes ----------------------------------------------------

@settings(max_examples=25, **SETTINGS)
@given(prefix=st.sampled_from(['title = "', "# ", "", "[epub]\ntitle = '"]),
       bad=st.binary(min_size=1, max_size=8).filter(lambda b: _not_utf8(b)),
       encoding=st.sampled_from(["raw", "cp949", "utf-16"]))
def test_a_config_that_is_not_utf8_is_a_message_naming_the_file(prefix, bad, encoding):
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        config = tmp / "digest-export.toml"
        if encoding == "raw":
            config.write_bytes(prefix.encode() + bad + b'"\n')
        else:
            config.write_bytes(f'title = "한국어 제목"\n'.encode(encoding))
        result = run_cli(["--config", str(config), "inspect", str(two_papers(tmp))], tmp)
        assert result.exit_code == 2, result.output
        # In the path form, PATH:LINE: (as every file's problem is said).
        assert re.search(re.escape(str(config)) + r":\d+: ", result.output) and "not UTF-8" in result.output, \
            result.output


def _not_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


# -- class 18: odd output and input paths ----------------------------------------------------

@settings(max_examples=25, **SETTINGS)
@given(command=st.sampled_from(["epub", "epub-o", "feed", "build"]), depth=st.integers(0, 3),
       shape=st.sampled_from(["under-a-file", "folder-as-file"]))
def test_an_output_path_under_a_file_or_a_folder_where_a_file_goes_is_a_clear_error(command, depth, shape):
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        src = two_papers(tmp)
        if shape == "under-a-file":
            (tmp / "f").write_text("a file", "utf-8")
            out = tmp.joinpath("f", *["sub"] * depth)
            args = _command_for(command, src, out)
        else:
            out = tmp / "out"
            target = {"epub": BOOK, "epub-o": "one.epub", "feed": "feed.atom", "build": "index.html"}[command]
            (out / target).mkdir(parents=True)
            (out / target / "keep").write_text("mine", "utf-8")
            args = _command_for(command, src, out)
        result = run_cli(args, tmp)
        assert result.exit_code in (1, 2), result.output
        if shape == "under-a-file":
            assert "is a regular file, not a folder" in result.output or "a regular file" in result.output, result.output
            assert (tmp / "f").read_text("utf-8") == "a file"
        elif command == "epub-o":  # -o naming a folder for the one book: a usage error of -o
            assert result.exit_code == 2 and "one.epub is a folder, not a file for the book" in result.output, \
                result.output
            assert (out / target / "keep").read_text("utf-8") == "mine"
        else:
            assert "it is a folder, not a regular file; left alone" in result.output, result.output
            assert (out / target / "keep").read_text("utf-8") == "mine"


@pytest.mark.parametrize("depth", [5, 70])
def test_input_folders_nested_very_deep_are_a_clear_error(tmp_path, depth):
    from exporter.gates.files import MAX_DEPTH

    src = two_papers(tmp_path)
    deep = src.joinpath(*["d"] * depth)
    deep.mkdir(parents=True)
    (deep / "deep.md").write_text(day("2024-03-06", paper(9)), "utf-8")
    (src / "d" / "loop").symlink_to(src)  # a link loop on the way: walked once
    result = run_cli(["inspect", str(src)], tmp_path)
    if depth <= MAX_DEPTH:
        assert result.exit_code == 0 and "2 days" in result.output, result.output
    else:
        assert result.exit_code == 1, result.output
        assert f"folders nested deeper than {MAX_DEPTH} levels; not read" in result.output


@pytest.mark.skipif(not os.path.ismount("/proc"), reason="needs Linux's /proc")
@pytest.mark.parametrize("target", ["/proc/self/task", "/proc/self", "/proc", "/sys/kernel", "/proc/self/root",
                                    "/proc/self/cwd", "/proc/1/root/", "/proc/self/root/proc/../usr", "chain"])
@pytest.mark.parametrize("command", ["inspect", "build"])
def test_a_link_into_the_kernels_file_systems_is_not_walked(tmp_path, target, command):
    """A link in an input folder to /proc or /sys is said and not walked: they hold no digest,
    and /proc/PID/root leads back to the whole tree (a link to /proc/self/task walked every file
    on the machine; one to /proc/self/root, which ends at '/', too).  Bounded by the test's
    seconds."""
    if target != "chain" and not os.path.exists(target):
        pytest.skip(f"no {target} here")
    src = two_papers(tmp_path)
    if target == "chain":  # a link to a link (outside the folder) to /proc/self/root
        (tmp_path / "hop").symlink_to("/proc/self/root")
        target = str(tmp_path / "hop")
    (src / "l").symlink_to(target)
    args = ["inspect", str(src)] if command == "inspect" else ["build", str(src), "-o", str(tmp_path / "out"),
                                                               "--images", "none"]
    result = run_cli(args, tmp_path, seconds=30)
    assert result.exit_code == 0, result.output
    assert f"{src / 'l'}: warning: a folder of the kernel's (/proc, /sys)" in result.output, result.output
    assert "2 days" in result.output or "2 papers" in result.output, result.output


@pytest.mark.skipif(not os.path.ismount("/proc"), reason="needs Linux's /proc")
@pytest.mark.parametrize("target", ["/proc/kmsg", "/proc/self/status", "/sys/kernel/mm/transparent_hugepage/enabled"])
def test_a_md_link_to_a_kernel_file_in_an_input_folder_is_skipped_as_a_fifo_is(tmp_path, target):
    """Regular by its stat, the kernel's by its file system: in a folder it is skipped with a
    warning (as a FIFO there is), never read, and the run goes on."""
    if not os.path.exists(target):
        pytest.skip(f"no {target} here")
    src = two_papers(tmp_path)
    (src / "k.md").symlink_to(target)
    result = run_cli(["build", str(src), "-o", str(tmp_path / "out"), "--images", "none"], tmp_path, seconds=30)
    assert result.exit_code == 0, result.output
    assert f"{src / 'k.md'}: warning: a file of the kernel's (/proc, /sys), not a digest; skipped" in result.output


# -- class 9: templates that include or extend themselves ---------------------------------

TEMPLATE_NAMES = ("day.xhtml.j2", "cover.xhtml.j2", "a.j2", "b.j2", "c.j2")


@st.composite
def template_loops(draw):
    """A cycle of user templates through extends, include, import or from-import, each name
    written plainly, in a list, or with the default: prefix where it does not break the loop."""
    length = draw(st.integers(1, 4))
    names = ["day.xhtml.j2"] + draw(st.lists(st.sampled_from(TEMPLATE_NAMES[1:]), min_size=length - 1,
                                             max_size=length - 1, unique=True))
    files = {}
    for i, name in enumerate(names):
        nxt = names[(i + 1) % len(names)]
        tag = draw(st.sampled_from(["extends", "include", "include-list", "import", "from"]))
        files[name] = {"extends": f'{{% extends "{nxt}" %}}', "include": f'x{{% include "{nxt}" %}}',
                       "include-list": f'{{% include ["missing.j2", "{nxt}"] %}}',
                       "import": f'{{% import "{nxt}" as m %}}x', "from": f'{{% from "{nxt}" import y %}}x'}[tag]
    return files, names


@settings(max_examples=30, **SETTINGS)
@given(case=template_loops(), command=st.sampled_from(["epub", "build"]))
def test_a_template_that_includes_itself_is_an_error_naming_it_in_bounded_time(case, command):
    import time

    files, names = case
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        tpl = tmp / "tpl"
        tpl.mkdir()
        for file, text in files.items():
            (tpl / file).write_text(text, "utf-8")
        src = two_papers(tmp)
        start = time.perf_counter()
        result = run_cli(_command_for(command, src, tmp / "out") + ["--templates", str(tpl)], tmp, seconds=30)
        assert time.perf_counter() - start < 20
        assert result.exit_code == 1, result.output
        assert "itself" in result.output or "loop of templates" in result.output, result.output
        assert str(tpl) in result.output, result.output
        assert not list((tmp / "out").glob("*.epub"))


def test_a_chain_of_templates_too_deep_is_an_error(tmp_path):
    tpl = tmp_path / "tpl"
    tpl.mkdir()
    (tpl / "day.xhtml.j2").write_text('{% include "t0.j2" %}', "utf-8")
    for i in range(40):
        (tpl / f"t{i}.j2").write_text(f'{{% include "t{i + 1}.j2" %}}', "utf-8")
    (tpl / "t40.j2").write_text("end", "utf-8")
    result = run_cli(_command_for("epub", two_papers(tmp_path), tmp_path / "out") + ["--templates", str(tpl)], tmp_path)
    assert result.exit_code == 1
    assert "more than 16 deep" in result.output, result.output


# -- class 6: names that are not UTF-8 -----------------------------------------------------

NAME_PARTS = st.one_of(st.binary(min_size=1, max_size=3).filter(lambda b: b"/" not in b and b"\0" not in b),
                       st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\n", b"\x1b[31m", "\u202e".encode(),
                                        b"'", b" ", "한".encode(), "한".encode("cp949")]))
FILE_STEMS = st.lists(NAME_PARTS, min_size=1, max_size=3).map(b"".join).filter(lambda b: not b.startswith(b"."))


@settings(max_examples=20, **SETTINGS)
@given(stem=FILE_STEMS, where=st.sampled_from(["templates", "output-epub", "output-other", "input"]),
       command=st.sampled_from(["build", "feed-opds", "epub", "inspect-json"]))
def test_names_that_are_not_utf8_crash_nothing_and_json_stays_utf8(stem, where, command):
    import json
    import shutil

    import feedparser

    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        src = two_papers(tmp)
        out = tmp / "out"
        out.mkdir()
        folder = {"templates": tmp / "tpl", "output-epub": out, "output-other": out, "input": src}[where]
        folder.mkdir(exist_ok=True)
        suffix = {"templates": b".j2", "output-epub": b".epub", "output-other": b".txt", "input": b".md"}[where]
        target = os.path.join(os.fsencode(folder), stem + suffix)
        try:
            if where == "output-epub":
                run_cli(_command_for("epub", src, tmp / "made"), tmp)
                shutil.copy(next((tmp / "made").glob("*.epub")), os.fsdecode(target))
            else:
                with open(target, "wb") as fh:
                    fh.write(day("2024-03-05", paper(5)).encode() if where == "input" else b"x")
        except OSError:  # a name the file system refuses
            return
        if command == "inspect-json":
            result = run_cli(["inspect", "--json", str(src)], tmp)
            json.loads(result.stdout_bytes.decode("utf-8"))  # strict UTF-8, valid JSON
            return
        args = _command_for("feed-opds" if command == "feed-opds" else command, src, out)
        if where == "templates" and command != "feed-opds":
            args += ["--templates", str(tmp / "tpl")]
        result = run_cli(args, tmp)
        assert result.exit_code == 0, result.output
        if (out / "catalog.opds").exists():
            parsed = feedparser.parse((out / "catalog.opds").read_bytes())
            assert not parsed.bozo, parsed.bozo_exception


# -- class 17: scale inside one file ----------------------------------------------------------

def _plan_seconds(folder: Path, out: Path, state: Path) -> float:
    import time

    from exporter.books.epub import EpubOptions
    from exporter.feeds.writer import FeedOptions
    from exporter.pipeline import BuildOptions
    from exporter.pipeline.plan import plan_build

    options = BuildOptions(out_dir=out, epub=EpubOptions(out_dir=out, images="none"),
                           feed=FeedOptions(out_dir=out, formats=("atom",)), state_path=state)
    best = float("inf")
    for _ in range(2):
        start = time.process_time()
        plan_build([folder], options)
        best = min(best, time.process_time() - start)
    return best


def _write_days(folder: Path, n_days: int, papers: int, files: int) -> None:
    import datetime as dt

    folder.mkdir(parents=True)
    start = dt.date(2001, 1, 1)
    chunks: list[list[str]] = [[] for _ in range(files)]
    for i in range(n_days):
        text = day((start + dt.timedelta(days=i)).isoformat(), *(paper(i * papers + j) for j in range(papers)))
        chunks[i * files // n_days].append(text)
    for k, texts in enumerate(chunks):
        (folder / f"part-{k:05d}.md").write_text("".join(texts), "utf-8")


@settings(max_examples=4, **SETTINGS)
@given(files=st.sampled_from([1, 2, 7]), shape=st.sampled_from(["many-days", "one-big-day"]))
def test_one_file_costs_what_the_same_days_spread_over_files_cost(files, shape):
    """Planning a build of thousands of days (or one day of thousands of papers) held in few
    files takes about the time of the same spread one day per file (it was quadratic)."""
    n_days, papers = (800, 1) if shape == "many-days" else (1, 4000)
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        _write_days(tmp / "few", n_days, papers, files)
        _write_days(tmp / "spread", n_days, papers, n_days if n_days > 1 else 1)
        few = _plan_seconds(tmp / "few", tmp / "out1", tmp / "s1.json")
        spread = _plan_seconds(tmp / "spread", tmp / "out2", tmp / "s2.json")
        assert few < 2.5 * spread + 0.3, (few, spread)


def test_planning_one_file_grows_linearly_with_its_days(tmp_path):
    _write_days(tmp_path / "a", 500, 1, 1)
    _write_days(tmp_path / "b", 2000, 1, 1)
    small = _plan_seconds(tmp_path / "a", tmp_path / "o1", tmp_path / "s1.json")
    large = _plan_seconds(tmp_path / "b", tmp_path / "o2", tmp_path / "s2.json")
    # 4 times the days: linear is ~4 times the time, quadratic 16 times.
    assert large < 8 * small + 0.2, (small, large)


# -- class 16: Korean text as people write it --------------------------------------------------

HANGUL_WORDS = st.text(alphabet=st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3), min_size=1, max_size=6)


@settings(max_examples=15, **SETTINGS)
@given(folder=HANGUL_WORDS, stem=HANGUL_WORDS, image=HANGUL_WORDS,
       disk=st.sampled_from(["NFD", "NFC"]), typed=st.sampled_from(["NFD", "NFC"]))
def test_korean_names_in_any_normalization_are_found(folder, stem, image, disk, typed):
    """A folder, digest and thumbnail named in NFD on disk (macOS) are found from NFC names
    (the command line, the digest's text), and the reverse."""
    import unicodedata
    import zipfile

    from PIL import Image

    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        where = tmp / unicodedata.normalize(disk, folder)
        where.mkdir()
        text = (day("2024-03-04", paper(1)).replace("Vote: 3", f"![]({image}.png)\n\nVote: 3"))
        (where / unicodedata.normalize(disk, stem + ".md")).write_text(text, "utf-8")
        Image.new("RGB", (64, 48), (10, 20, 30)).save(where / unicodedata.normalize(disk, image + ".png"))
        given_path = tmp / unicodedata.normalize(typed, folder) / unicodedata.normalize(typed, stem + ".md")
        out = tmp / "out"
        result = run_cli(["epub", str(given_path), "-o", str(out), "--images", "embed"], tmp)
        assert result.exit_code == 0, result.output
        assert "1 image" in result.output, result.output
        with zipfile.ZipFile(next(out.glob("*.epub"))) as z:
            assert any(n.endswith((".jpg", ".png")) and "cover" not in n for n in z.namelist())


@settings(max_examples=15, **SETTINGS)
@given(before=st.integers(0, 30), crlf=st.booleans(), run=st.integers(200, 3000))
def test_korean_legacy_encoding_lines_and_long_hangul_runs(before, crlf, run):
    """A CP949 file's diagnostics name the line an editor shows; a long run of Hangul without
    spaces may break (overflow-wrap) where keep-all keeps words whole."""
    import zipfile

    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        lines = ["## 일일 논문 (2024-03-04)", ""] + ["한국어 설명 줄"] * before + [
            "### [" + "가" * run + "](https://arxiv.org/abs/2403.00001)", "", "Vote: 여럿", "", "- " + "나" * run, ""]
        text = ("\r\n" if crlf else "\n").join(lines)
        (tmp / "k.md").write_bytes(text.encode("cp949"))
        vote_line = lines.index("Vote: 여럿") + 1
        out = tmp / "out"
        result = run_cli(["epub", str(tmp / "k.md"), "-o", str(out), "--images", "none"], tmp)
        assert "k.md:1: warning: file is not UTF-8 (from line " in result.output and "decoded as CP949 (EUC-KR)" in result.output
        assert f"k.md:{vote_line}: warning:" in result.output, result.output
        with zipfile.ZipFile(next(out.glob("*.epub"))) as z:
            css = next(z.read(n).decode() for n in z.namelist() if n.endswith(".css"))
            chapter = next(z.read(n).decode() for n in z.namelist() if n.endswith(".xhtml") and "가" * 50 in
                           z.read(n).decode())
        assert "word-break: keep-all" in css and "overflow-wrap: anywhere" in css
        assert 'lang="ko"' in chapter or "lang-ko" in chapter


def test_the_front_page_of_korean_books_is_korean(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    korean = paper(1, "한국어 제목 그대로", bullets=("한국어 요약입니다. 이 논문은 새로운 방법을 제안합니다.",) * 3)
    (src / "a.md").write_text(day("2024-03-04", korean, paper(2, "둘째", bullets=("한국어 요약 둘째 문단입니다.",) * 3)),
                              "utf-8")
    (src / "c.md").write_text(day("2024-02-26", paper(4, "셋째", bullets=("한국어 요약 셋째 문단입니다.",) * 3)), "utf-8")
    # The newest day is English: the page still speaks most books' language.
    (src / "b.md").write_text(day("2024-03-11", paper(3, "English", bullets=("An English summary of it.",))), "utf-8")
    out = tmp_path / "out"
    result = run_cli(["build", str(src), "-o", str(out), "--images", "none"], tmp_path)
    assert result.exit_code == 0, result.output
    page = (out / "index.html").read_text("utf-8")
    assert '<html lang="ko">' in page
    assert 'lang="en"' in page  # the English book's entry says so


# -- the real validators, once, over outputs made from the round-three classes ----------------

def test_round_three_outputs_pass_epubcheck_and_feedparser(tmp_path):
    """Books and feeds made from joined files with BOMs and NULs, UTF-16 and CP949 files,
    Korean text with long Hangul runs and NFD-named thumbnails, a one-file archive of many days
    and one big day: EPUBCheck 0/0/0 (one Java start) and feedparser without bozo."""
    import shutil
    import unicodedata

    import feedparser
    from PIL import Image

    from epub_fixtures import epubcheck_problems

    if shutil.which("java") is None:
        pytest.skip("needs Java")
    src = tmp_path / "in"
    src.mkdir()
    joined = "\ufeff" + day("2024-03-04", paper(1)) + "\ufeff" + day("2024-03-05", paper(2)) + "\0"
    (src / "joined.md").write_bytes(joined.encode("utf-8"))
    (src / "utf16.md").write_bytes(b"\xff\xfe" + day("2024-03-06", paper(3)).encode("utf-16-le"))
    korean = day("2024-03-07", paper(4, "가" * 400, bullets=("나" * 2000, "한국어 요약")).replace(
        "Vote: 3", f"![]({unicodedata.normalize('NFC', '그림')}.png)\n\nVote: 3"))
    (src / "k.md").write_bytes(korean.encode("cp949"))
    Image.new("RGB", (64, 48), (10, 20, 30)).save(src / (unicodedata.normalize("NFD", "그림") + ".png"))
    (src / "big.md").write_text(day("2024-03-08", *(paper(100 + i) for i in range(300))) +
                                "".join(day(f"2024-02-{d:02d}", paper(1000 + d)) for d in range(1, 29)), "utf-8")
    out = tmp_path / "out"
    result = run_cli(["build", str(src), "-o", str(out), "--images", "embed", "--base-url",
                      "https://example.org/p/", "--archive"], tmp_path, seconds=300)
    assert result.exit_code == 0, result.output
    for name in ("feed.atom", "feed.rss", "catalog.opds"):
        parsed = feedparser.parse((out / name).read_bytes())
        assert not parsed.bozo, (name, parsed.bozo_exception)
    books = sorted(out.glob("*.epub"))
    assert len(books) >= 5
    (tmp_path / "check").mkdir()
    copies = []
    for i, book in enumerate(books):
        copies.append(tmp_path / "check" / f"{i}.epub")
        shutil.copy(book, copies[-1])
    assert epubcheck_problems(copies, tmp_path / "check") == {}


# -- no traceback, ever: any command line ends in 0, 1 or 2 -------------------------------------

ODD_VALUES = st.one_of(st.sampled_from(["", "-", "0", "-1", "nan", "1e309", "9999-12-31", "2024-02-30", "ko_KR",
                                        "x" * 300, "\udcff", "a\nb", "/dev/zero", "/", ".", "..", "out/feed.atom",
                                        "https://a..b/", "day", "all", "embed"]),
                       st.text(max_size=12))
OPTIONS = ["--by", "--lang", "--from", "--to", "--title", "--days", "--limit", "--base-url", "--templates",
           "--format", "--jobs", "--image-timeout", "--state", "--today"]


@settings(max_examples=40, **SETTINGS)
@given(command=st.sampled_from(["inspect", "epub", "feed", "build"]),
       options=st.lists(st.tuples(st.sampled_from(OPTIONS), ODD_VALUES), max_size=3),
       flags=st.lists(st.sampled_from(["--keep-going", "--allow-empty", "--all", "--archive", "--finished-only",
                                       "-q", "-v", "--json"]), max_size=2, unique=True))
def test_any_command_line_ends_in_a_message_and_0_1_or_2(command, options, flags):
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        src = two_papers(tmp)
        args = [command, str(src)]
        if command != "inspect":
            args += ["-o", str(tmp / "out"), "--images", "none"] if command != "feed" else ["-o", str(tmp / "out")]
        for option, value in options:
            args += [option, value]
        args += flags
        run_cli(args, tmp, env={"DIGEST_EXPORT_TODAY": ""})


@pytest.mark.parametrize("text", ['{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}',
                                  '{% set me = "day.xhtml.j2" %}{% include me %}'])
def test_recursion_found_only_when_rendering_is_an_error_naming_the_template(tmp_path, text):
    tpl = tmp_path / "tpl"
    tpl.mkdir()
    (tpl / "day.xhtml.j2").write_text(text, "utf-8")
    args = _command_for("epub", two_papers(tmp_path), tmp_path / "out") + ["--templates", str(tpl), "--jobs", "2"]
    result = run_cli(args, tmp_path, seconds=60)
    assert result.exit_code == 1
    assert "template 'day.xhtml.j2' failed to render: it recurses without end" in result.output, result.output


@settings(max_examples=6, **SETTINGS)
@given(levels=st.sampled_from([1100, 1500, 3000]), command=st.sampled_from(["epub", "epub-o", "feed", "build"]))
def test_an_output_path_thousands_of_levels_deep_is_a_clear_error(levels, command):
    """Deeper than Python's recursion limit (pathlib's mkdir recursed once per level), or longer
    than the system allows: made one level at a time, or an error naming the path."""
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        src = two_papers(tmp)
        old = os.getcwd()
        os.chdir(tmp)
        try:
            out = Path(*["a"] * levels)
            run_cli(_command_for(command, src, out), tmp)
        finally:
            os.chdir(old)
            import subprocess

            # shutil.rmtree recurses once per level too.
            subprocess.run(["rm", "-rf", str(tmp / "a")], check=False)


@settings(max_examples=10, **SETTINGS)
@given(name=st.text(alphabet="ab\n\x1b\u202e'", min_size=1, max_size=6).filter(lambda n: n.strip("\n")),
       command=st.sampled_from(["epub-o", "feed", "build"]))
def test_paths_in_output_errors_are_quoted_for_the_terminal(name, command):
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        src = two_papers(tmp)
        blocker = tmp / name
        try:
            blocker.write_text("a file", "utf-8")
        except OSError:
            return
        result = run_cli(_command_for(command, src, blocker / "out"), tmp)
        assert result.exit_code in (1, 2)
        for line in result.output.splitlines():
            assert not line.startswith(("b", "a", "\x1b", "'\n")) or line.startswith("digest-export"), result.output
        assert "\x1b" not in result.output and "\u202e" not in result.output


def test_feeds_and_icon_of_versions_before_the_mark_are_still_ours(tmp_path):
    """An upgrade does not stop `feed`: a JSON Feed written before the mark (its items carry the
    extension object) and the unmarked icon are replaced."""
    from exporter.feeds.writer import _icon_png
    from exporter.state import written_record_path

    src = two_papers(tmp_path)
    out = tmp_path / "out"
    run_cli(_command_for("feed", src, out), tmp_path)
    # As such a version left the folder: no record of what `feed` wrote (it kept none).
    written_record_path(out).unlink()
    feed_json = (out / "feed.json").read_text("utf-8")
    (out / "feed.json").write_text(feed_json.replace('"_digest_export": {\n  "program": "digest-export"\n },\n', ""),
                                   "utf-8")
    assert '"program"' not in (out / "feed.json").read_text("utf-8")
    (out / "icon.png").write_bytes(_icon_png())
    result = run_cli(_command_for("feed", src, out) + ["--title", "Renamed"], tmp_path)
    assert result.exit_code == 0, result.output
    assert '"program": "digest-export"' in (out / "feed.json").read_text("utf-8")
    assert (out / "icon.png").read_bytes() != _icon_png()


@settings(max_examples=20, **SETTINGS)
@given(kind=st.sampled_from(SPECIAL_KINDS + ("link-to-nothing", "link-to-a-file")))
def test_the_send_lock_is_never_taken_through_a_link_or_a_special_file(kind):
    """``DIR/.digest-export-sent.lock`` is created and locked only as a regular file of the folder:
    a link there would create or lock a file anywhere, a named pipe would be used without a word."""
    from exporter.delivery.ledger import LOCK_NAME, LedgerError, locked

    tmp = _short_tmp()
    try:
        lock, elsewhere = tmp / LOCK_NAME, tmp / "elsewhere"
        keep = None
        if kind == "link-to-nothing":
            lock.symlink_to(elsewhere)
        elif kind == "link-to-a-file":
            elsewhere.write_bytes(b"mine")
            lock.symlink_to(elsewhere)
        else:
            keep = make_special(lock, kind)
        with pytest.raises(LedgerError, match="symbolic link|not a regular file"):
            with locked(tmp):
                pass
        assert lock.is_symlink() or is_special(lock)
        assert not elsewhere.exists() or elsewhere.read_bytes() == b"mine"
        if keep is not None:
            keep.close()
    finally:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


@pytest.mark.parametrize("command", ["inspect", "epub", "feed", "build"])
def test_standard_input_named_twice_is_read_once(tmp_path, command):
    """``-`` twice among the INPUTs is read once, as a file named twice is: never a second read that
    finds it empty (a false "file is empty"), never its day lost beside another input's."""
    import subprocess
    import sys

    other = tmp_path / "other"
    other.mkdir()
    (other / "b.md").write_text(day("2024-03-05", paper(7)), "utf-8")
    args = [command, "-", str(other), "-"] + ([] if command == "inspect" else ["-o", str(tmp_path / "out")])
    args += ["--images", "none"] if command in ("epub", "build") else []
    run = subprocess.run([sys.executable, "-m", "exporter", *args], input=day("2024-03-04", paper(1)).encode(),
                         capture_output=True, timeout=120, env={**os.environ, "XDG_STATE_HOME": str(tmp_path / "st")})
    assert run.returncode == 0, run.stderr
    assert b"empty" not in run.stderr, run.stderr
    if command == "inspect":
        assert b"2 days" in run.stdout, run.stdout
    elif command != "feed":
        assert b"2 days" in run.stdout + run.stderr, (run.stdout, run.stderr)


@settings(max_examples=20, **SETTINGS)
@given(kind=st.sampled_from(SPECIAL_KINDS + ("link-to-nothing",)),
       name=st.sampled_from(["feed.atom", "feed.rss", "feed.json", "catalog.opds", "catalog.json", "index.html",
                             "catalog-current.opds", "catalog-current.json", "catalog/year-2024.opds",
                             "catalog/year-2024.json", "catalog/crawlable.opds"]))
def test_an_obstacle_at_any_name_a_build_writes_stops_it_before_anything_is_written(kind, name):
    """A named pipe, a device or a link to nothing at a name the build writes is found before the
    run writes anything (it was found at that file's turn, the folder half-updated)."""
    tmp = _short_tmp()
    try:
        out = tmp / "out"
        out.mkdir()
        if kind == "link-to-nothing":
            (out / name).symlink_to(tmp / "nowhere")
            keep = None
        else:
            keep = make_special(out / name, kind)
        before = sorted(p.name for p in out.iterdir())
        result = run_cli(["build", str(two_papers(tmp)), "-o", str(out), "--images", "none",
                          "--base-url", "https://example.org/p/"], tmp, seconds=60)
        assert result.exit_code == 1, result.output
        assert sorted(p.name for p in out.iterdir()) == before, result.output  # nothing written
        if keep is not None:
            keep.close()
    finally:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


@pytest.mark.parametrize("what, name", [("file", "archive"), ("file", "catalog"), ("folder", "catalog/year-2024.opds"),
                                        ("folder", "catalog/page-1.json"), ("folder", "archive/2024-W10.atom")])
def test_a_file_where_a_folder_goes_or_a_folder_where_a_page_goes_stops_the_build_first(what, name):
    """The catalog's and the archive's folders are found wrong before anything is written: a file
    named "archive", a folder at a year page's name (the books, feeds and catalog were written and
    linked to pages that never came)."""
    tmp = _short_tmp()
    try:
        out = tmp / "out"
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        if what == "file":
            (out / name).write_text("mine", "utf-8")
        else:
            (out / name).mkdir()
        before = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
        result = run_cli(["build", str(two_papers(tmp)), "-o", str(out), "--images", "none", "--archive",
                          "--base-url", "https://example.org/p/"], tmp, seconds=60)
        assert result.exit_code == 1, result.output
        assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == before, result.output  # nothing written
    finally:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


@pytest.mark.parametrize("folder, options", [("archive", ["--archive", "--base-url", "https://example.org/"]),
                                             ("catalog", [])])
def test_a_file_where_the_run_writes_a_folder_is_named_as_that_folder(tmp_path, folder, options):
    """A file of the user's at ``DIR/archive`` or ``DIR/catalog``: the refusal names the folder the
    run writes into, not a file name it may never write ("archive/archive.atom")."""
    src, out = two_papers(tmp_path), tmp_path / "out"
    out.mkdir()
    (out / folder).write_text("mine", "utf-8")
    result = run_cli(["build", str(src), "-o", str(out), "--images", "none", *options], tmp_path)
    assert result.exit_code == 1, result.output
    assert f"cannot write into {out / folder}: {out / folder} is a regular file" in result.output, result.output
    assert (out / folder).read_text("utf-8") == "mine"


@pytest.mark.parametrize("case", ["input error", "two books for one file"])
def test_epub_into_a_file_in_new_folders_leaves_none_when_it_fails(tmp_path, case):
    """``epub -o DIR/a/b/x.epub`` makes the folders it needs, and takes them away again when no
    book is written (an error run leaves the file system as it was); the control writes the book."""
    src = two_papers(tmp_path)
    (src / "later.md").write_text(day("2024-03-12", paper(9)), "utf-8")  # another week: two books
    target = tmp_path / "mk" / "a" / "b" / "x.epub"
    args = ["epub", str(src / "nowhere.md") if case == "input error" else str(src), "-o", str(target),
            "--images", "none", "-q"]
    result = run_cli(args, tmp_path)
    assert result.exit_code in (1, 2), result.output
    assert not (tmp_path / "mk").exists(), sorted(p.name for p in tmp_path.rglob("*"))
    control = run_cli(["epub", str(src), "-o", str(target), "--images", "none", "-q", "--by", "all"], tmp_path)
    assert control.exit_code == 0 and target.is_file(), control.output
