"""Black-box findings of a sixth round: a link to a folder named as a link wherever a file is
expected; an environment variable's bad value named with the variable and its range; a TOML
number shown as written; a selection pattern that `regex` refuses explained in words; a refused
user template stopping `build` and `epub` before anything is written."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from exporter.cli import main

SAMPLE = Path(__file__).parent.parent / "exporter" / "sample"


def run(args: list[str], tmp: Path, env: dict | None = None):
    result = CliRunner().invoke(main, [str(a) for a in args],
                                env={"XDG_CACHE_HOME": str(tmp / "cache"),
                                     "XDG_STATE_HOME": str(tmp / "state"), **(env or {})})
    assert "Traceback" not in result.output, result.output
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), repr(result.exception)
    return result


# -- a symbolic link to a folder is said to be a link ---------------------------------------------

def test_link_to_folder_as_epub_output_is_named_a_link(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "l.epub").symlink_to(tmp_path / "d")
    result = run(["epub", SAMPLE, "-o", tmp_path / "l.epub", "--images", "none"], tmp_path)
    assert result.exit_code in (1, 2), result.output
    assert "a symbolic link to a folder" in result.output, result.output
    assert "it is a folder" not in result.output


def test_link_to_folder_as_template_is_named_a_link(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "tpl").mkdir()
    (tmp_path / "tpl" / "day.xhtml.j2").symlink_to(tmp_path / "d")
    result = run(["epub", SAMPLE, "-o", tmp_path / "b.epub", "--images", "none",
                  "--templates", tmp_path / "tpl"], tmp_path)
    assert result.exit_code == 1, result.output
    assert "day.xhtml.j2: error: a symbolic link to a folder, not a regular file" in result.output, result.output


def test_link_to_folder_as_file_option_is_named_a_link(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "state.json").symlink_to(tmp_path / "d")
    result = run(["build", SAMPLE, "-o", tmp_path / "out", "--images", "none",
                  "--state", tmp_path / "state.json"], tmp_path)
    assert result.exit_code == 2, result.output
    assert "a symbolic link to a folder" in result.output, result.output


def test_link_to_folder_is_still_a_folder_for_a_folder_option(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "out").symlink_to(tmp_path / "d")
    result = run(["build", SAMPLE, "-o", tmp_path / "out", "--images", "none"], tmp_path)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "d" / "feed.atom").is_file()


# -- environment variables: the variable, its value and its range ---------------------------------

@pytest.mark.parametrize("value", ["abc", "nan", "1e9", "0", "１０"])
def test_bad_image_timeout_variable_is_named(tmp_path, value):
    result = run(["build", SAMPLE, "-o", tmp_path / "out", "--images", "none"], tmp_path,
                 env={"DIGEST_EXPORT_IMAGE_TIMEOUT": value})
    assert result.exit_code == 2, result.output
    assert f"DIGEST_EXPORT_IMAGE_TIMEOUT={value}" in result.output, result.output
    assert "from 0.1 to 3600" in result.output, result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", [["build", SAMPLE, "-o", "OUT", "--finished-only"], ["send", "OUT", "--to", "a@b.example"]])
def test_bad_today_variable_is_named(tmp_path, command):
    (tmp_path / "out").mkdir()
    args = [str(tmp_path / "out") if a == "OUT" else a for a in command]
    result = run(args, tmp_path, env={"DIGEST_EXPORT_TODAY": "2024-13-01"})
    assert result.exit_code == 2, result.output
    assert "DIGEST_EXPORT_TODAY=2024-13-01" in result.output, result.output
    assert "YYYY-MM-DD" in result.output, result.output


def test_option_on_command_line_keeps_its_message(tmp_path):
    result = run(["build", SAMPLE, "-o", tmp_path / "out", "--image-timeout", "abc"], tmp_path)
    assert result.exit_code == 2, result.output
    assert "'--image-timeout'" in result.output and "DIGEST_EXPORT" not in result.output, result.output


# -- TOML numbers: shown as written, with the right reason ----------------------------------------

@pytest.mark.parametrize("line, shown, why", [
    ("days = 1e3", "not 1e3: TOML reads it as a float; write 1000", None),
    ("top = 99999999999999999999999", "must be at most 100000 (a whole number from 1 to 100000), "
     "not 99999999999999999999999", "must be a whole number"),
    ("top = -5", "must be at least 1 (a whole number from 1 to 100000), not -5", "must be a whole number"),
    ("top = 2.5", "not 2.5: not a whole number", None),
    ("min-votes = 1e400", "must be at most 1000000000 (a whole number from 0 to 1000000000), not 1e400", "inf"),
    ("image-timeout = 1e9", "must be at most 3600 (a number from 0.1 to 3600), not 1e9", "1000000000.0"),
    ("image-timeout = 0.0_5", "must be at least 0.1 (a number from 0.1 to 3600), not 0.0_5", "0.05"),
    ("image-timeout = nan", "not nan: not a number", None),
    ("top = " + "9" * 4000, "must be at most 100000 (a whole number from 1 to 100000), not "
     "99999999999999999999... (a number of 4000 digits)", "9" * 100),
    ("top = " + "9" * 5000, "a number too large (more than 4300 digits)", "internal error"),
], ids=["float-count", "huge-int", "negative", "fraction", "overflow", "big-float", "underscore", "nan",
        "4000-digits", "5000-digits"])
def test_config_numbers_are_shown_as_written(tmp_path, line, shown, why):
    (tmp_path / "digest-export.toml").write_text(line + "\n", "utf-8")
    result = run(["--config", tmp_path / "digest-export.toml", "build", SAMPLE, "-o", tmp_path / "out",
                  "--images", "none"], tmp_path)
    assert result.exit_code == 2, result.output
    assert shown in result.output, result.output
    assert "1000.0" not in result.output
    if why is not None:
        assert why not in result.output, result.output


# -- regular expressions the matcher refuses, said in words ---------------------------------------

@pytest.mark.parametrize("pattern, words", [
    ("(?V1)foo", "(?V1) asks for version 1 of the regex module's syntax"),
    ("(?V1:a)b", "remove (?V1)"),
    ("(?au)x", "(?a) (ASCII), (?L) (locale) and (?u) (Unicode), which exclude each other"),
    ("a{2,1}", 'min repeat greater than max repeat (at character 3, "2,1}"'),
    ("[a", "unterminated character set (at its end"),
], ids=["v1", "v1-scoped", "charset-flags", "repeat", "unterminated"])
def test_refused_pattern_is_said_in_words_with_key_and_file(tmp_path, pattern, words):
    config = tmp_path / "digest-export.toml"
    config.write_text(f'[[selection]]\nname = "a"\nmatch = ["re:{pattern}"]\n', "utf-8")
    result = run(["--config", config, "build", SAMPLE, "-o", tmp_path / "out", "--images", "none"], tmp_path)
    assert result.exit_code == 2, result.output
    assert f"{config}:3: error: [[selection]] #1 'a': 'match': the regular expression" in result.output, result.output
    assert words in result.output, result.output
    assert "KeyError" not in result.output and "position" not in result.output, result.output
    assert not (tmp_path / "out").exists()
    option = run(["build", SAMPLE, "-o", tmp_path / "out", "--images", "none", "--exclude", "re:" + pattern],
                 tmp_path)
    assert option.exit_code == 2 and "Error: --exclude: " in option.output and words in option.output, option.output


# -- a refused user template stops build and epub before anything is written --------------------

TEMPLATES = Path(__file__).parent.parent / "templates"


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*"))}


def _edited(tmp: Path, name: str, old: str, new: str) -> Path:
    folder = tmp / "tpl"
    folder.mkdir(exist_ok=True)
    text = (TEMPLATES / name).read_text("utf-8")
    assert old in text
    (folder / name).write_text(text.replace(old, new, 1), "utf-8")
    return folder


REFUSED = {
    # an event handler on every paper's section
    "onclick": ("day.xhtml.j2", '<section class="paper" id="{{ e.id }}">',
                '<section class="paper" id="{{ e.id }}" onclick="go()">'),
    # a form control, only where a paper has a thumbnail (the placeholder picture reaches it)
    "form-in-thumbnail": ("day.xhtml.j2", '<div class="thumb">', '<div class="thumb"><input type="text"/>'),
    # an invalid language tag in the cover page
    "cover-lang": ("cover.xhtml.j2", '<div class="cover">', '<div class="cover" lang="en_US!">'),
}


@pytest.mark.parametrize("command", ["build", "epub"])
@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_template_writes_nothing(tmp_path, command, case):
    name, old, new = REFUSED[case]
    templates = _edited(tmp_path, name, old, new)
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("the user's", "utf-8")
    before = _snapshot(out)
    result = run([command, SAMPLE, "-o", out, "--images", "none", "--templates", templates], tmp_path)
    assert result.exit_code == 1, result.output
    assert f"{templates / name}: error: the template made" in result.output, result.output
    assert _snapshot(out) == before


def test_template_that_is_a_link_to_a_folder_writes_nothing(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "tpl").mkdir()
    (tmp_path / "tpl" / "day.xhtml.j2").symlink_to(tmp_path / "d")
    out = tmp_path / "out"
    result = run(["build", SAMPLE, "-o", out, "--images", "none", "--templates", tmp_path / "tpl"], tmp_path)
    assert result.exit_code == 1, result.output
    assert "day.xhtml.j2: error: a symbolic link to a folder" in result.output, result.output
    assert not out.exists() or not any(out.iterdir()), sorted(out.iterdir())


def test_accepted_templates_still_build(tmp_path):
    templates = _edited(tmp_path, "day.xhtml.j2", '<section class="paper" id="{{ e.id }}">',
                        '<section class="paper mine" id="{{ e.id }}">')
    result = run(["build", SAMPLE, "-o", tmp_path / "out", "--images", "none", "--templates", templates], tmp_path)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "feed.atom").is_file()


def test_refused_front_page_template_writes_nothing(tmp_path):
    templates = _edited(tmp_path, "index.html.j2", "<main>", '<main lang="en_US!">')
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("the user's", "utf-8")
    before = _snapshot(out)
    result = run(["build", SAMPLE, "-o", out, "--images", "none", "--templates", templates], tmp_path)
    assert result.exit_code == 1, result.output
    assert f"{templates / 'index.html.j2'}: error: the template made index.html" in result.output, result.output
    assert _snapshot(out) == before


@pytest.mark.parametrize("state", ["out/feed.atom", "out/daily-papers-2024-W10.epub", "out/sub/../feed", "out/s.json"])
def test_state_inside_the_output_folder_is_refused_before_anything_is_written(tmp_path, state):
    """A state in DIR would be published, or written over the feed or book the run has just written
    (valid books and feeds replaced by JSON, exit 0, on every run)."""
    src = tmp_path / "d.md"
    src.write_text("## Daily Papers (2024-03-04)\n\n### [A paper](https://arxiv.org/abs/2403.00522)\n\n"
                   "Vote: 22\n\nAuthors: A. Author\n\n- summary\n", "utf-8")
    result = run(["build", str(src), "-o", str(tmp_path / "out"), "--images", "none", "-q",
                      "--state", str(tmp_path / state)], tmp_path)
    assert result.exit_code == 2, result.output
    assert "--state" in result.output and "inside the output folder" in result.output, result.output
    assert not (tmp_path / "out").exists()
