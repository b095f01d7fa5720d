"""Hostile input, round three: each class generated (hypothesis), run through
the whole CLI with a watchdog, no traceback and no internal error (exit 70
is a failure), outputs checked with the real validators (EPUBCheck in one
batch at the end, feedparser)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hostile_three import SPECIAL_KINDS, day, is_special, make_special, paper, run_cli

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
                derandomize=True)

# -- class 1: files that are not regular files -----------------------------------------------

#: Where a stray special file may sit, and the command that meets it there.
PLACES = ("input-file", "input-in-folder", "input-deep-in-folder", "template-day", "template-css", "extra-css",
          "config", "state", "out:feed.atom", "out:feed.json", "out:book", "out:index.html",
          "out:catalog.opds", "out:cover", "out:feed-icon.png", "out:epub-o")
BOOK = "daily-papers-2024-W10.epub"


def _short_tmp() -> Path:
    # A Unix socket's path must fit in 108 bytes.
    return Path(tempfile.mkdtemp(prefix="h3-", dir="/tmp"))


def _layout(tmp: Path) -> Path:
    src = tmp / "in"
    src.mkdir()
    (src / "a.md").write_text(day("2024-03-04", paper(1), paper(2)), "utf-8")
    return src


def _special_case(tmp: Path, kind: str, place: str, command: str) -> tuple[list[str], Path, object]:
    src = _layout(tmp)
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


def test_a_fifo_given_as_input_names_standard_input(tmp_path):
    os.mkfifo(tmp_path / "p.md")
    result = run_cli(["inspect", str(tmp_path / "p.md")], tmp_path, seconds=20)
    assert result.exit_code == 1
    assert f"{tmp_path / 'p.md'}:1: error: cannot read: a named pipe (FIFO), not a regular file " \
           "(use '-' to read standard input)" in result.output


def test_a_stray_fifo_in_an_input_folder_is_a_warning(tmp_path):
    src = _layout(tmp_path)
    os.mkfifo(src / "stray.md")
    result = run_cli(["inspect", str(src)], tmp_path, seconds=20)
    assert result.exit_code == 0, result.output
    assert f"{src / 'stray.md'}: warning: a named pipe (FIFO), not a regular file; skipped" in result.output


def test_output_target_that_is_a_fifo_is_an_error_and_left_alone(tmp_path):
    src = _layout(tmp_path)
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


# -- no traceback, ever: exit 70 ----------------------------------------------------------------

def test_an_unexpected_exception_is_one_line_and_exit_70(tmp_path, monkeypatch):
    from click.testing import CliRunner

    import exporter.reader.parse as parse
    from exporter.cli import main

    def boom(*args, **kwargs):
        raise KeyError("surprise")

    monkeypatch.setattr(parse, "read_digests", boom)
    result = CliRunner().invoke(main, ["inspect", str(_layout(tmp_path))], env={"XDG_CACHE_HOME": str(tmp_path / "c")})
    assert result.exit_code == 70
    lines = [line for line in result.output.splitlines() if "internal error" in line]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    reports = list((tmp_path / "c" / "digest-export" / "crashes").iterdir())
    assert len(reports) == 1
    assert f"please report it with the file {reports[0]}" in lines[0]
    assert "KeyError: 'surprise'" in lines[0]
    assert "Traceback" in reports[0].read_text("utf-8") and "boom" in reports[0].read_text("utf-8")
