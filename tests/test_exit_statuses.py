"""Exit statuses agree with the README, for every command: input that holds no digest day (a
wrong path, a link to nothing, an empty folder, an empty file) is an input error, exit 1, with
nothing written; a command line that cannot work whatever the files hold (a bad option value,
an option's file that is not there) is a usage error, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from hostile_three import run_cli

SAMPLE = Path(__file__).parent.parent / "exporter" / "sample"
WRITERS = ["epub", "feed", "build"]


def run(args: list, tmp: Path):
    return run_cli([str(a) for a in args], tmp, {"XDG_STATE_HOME": str(tmp / "state")})


def _args(command: str, inputs: list, tmp: Path) -> list:
    if command == "inspect":
        return ["inspect", *inputs]
    if command == "inspect --json":
        return ["inspect", "--json", *inputs]
    return [command, *inputs, "-o", tmp / "out", "--images", "none"] if command != "feed" else \
        [command, *inputs, "-o", tmp / "out"]


def _no_input(kind: str, tmp: Path) -> Path:
    if kind == "missing":
        return tmp / "no-such.md"
    if kind == "missing-folder":
        return tmp / "no-such-folder"
    if kind == "dangling":
        (tmp / "link.md").symlink_to(tmp / "gone.md")
        return tmp / "link.md"
    if kind == "empty-folder":
        (tmp / "empty").mkdir()
        return tmp / "empty"
    (tmp / "empty.md").write_bytes(b"")
    return tmp / "empty.md"


@pytest.mark.parametrize("command", WRITERS + ["inspect", "inspect --json"])
@pytest.mark.parametrize("kind", ["missing", "missing-folder", "dangling", "empty-folder", "empty-file"])
def test_input_with_no_digest_day_exits_1_for_every_command(tmp_path, command, kind):
    path = _no_input(kind, tmp_path)
    result = run(_args(command, [path], tmp_path), tmp_path)
    assert result.exit_code == 1, result.output
    if kind.startswith("missing") or kind == "dangling":
        assert f"{path}:1: error: cannot read: " in result.output, result.output
        assert "Invalid value" not in result.output and "Usage:" not in result.output, result.output
        if kind == "dangling":
            assert "a symbolic link to a file that does not exist" in result.output, result.output
    else:
        assert "error: no digest day in the input" in result.output, result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["inspect", "inspect --json"])
def test_inspect_allow_empty_exits_0(tmp_path, command):
    (tmp_path / "empty").mkdir()
    result = run([*command.split(), "--allow-empty", tmp_path / "empty"], tmp_path)
    assert result.exit_code == 0, result.output
    assert "no digest day" not in result.output


@pytest.mark.parametrize("command", WRITERS + ["inspect"])
def test_a_missing_input_beside_a_good_one_is_an_input_error(tmp_path, command):
    result = run(_args(command, [SAMPLE, tmp_path / "typo.md"], tmp_path), tmp_path)
    assert result.exit_code == 1, result.output
    assert f"{tmp_path / 'typo.md'}:1: error: cannot read: " in result.output, result.output
    assert not (tmp_path / "out").exists()


def test_keep_going_writes_the_rest_and_still_exits_1(tmp_path):
    result = run(["epub", SAMPLE, tmp_path / "typo.md", "-o", tmp_path / "out", "--images", "none",
                  "--keep-going"], tmp_path)
    assert result.exit_code == 1, result.output
    assert "skipped 1 file" in result.output, result.output
    assert list((tmp_path / "out").glob("*.epub"))


@pytest.mark.parametrize("how", ["argument", "option"])
@pytest.mark.parametrize("kind", ["missing", "dangling"])
def test_send_to_a_folder_that_is_not_there_exits_1(tmp_path, how, kind):
    folder = tmp_path / "public"
    if kind == "dangling":
        folder.symlink_to(tmp_path / "gone")
    args = ["send", folder] if how == "argument" else ["send", "-o", folder]
    result = run([*args, "--to", "me@example.org", "--dry-run"], tmp_path)
    assert result.exit_code == 1, result.output
    assert f"{folder}: " in result.output and "nothing sent" in result.output, result.output
    assert "Usage:" not in result.output


def test_send_to_an_empty_folder_sends_nothing_and_exits_0(tmp_path):
    (tmp_path / "public").mkdir()
    result = run(["send", tmp_path / "public", "--to", "me@example.org", "--dry-run"], tmp_path)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("args", [
    ["--config", "{tmp}/no-such.toml", "inspect", SAMPLE],
    ["epub", SAMPLE, "-o", "{tmp}/out", "--font", "{tmp}/no-such.ttf"],
    ["build", SAMPLE, "-o", "{tmp}/out", "--days", "0"],
    ["feed", SAMPLE, "-o", "{tmp}/out", "--format", "pdf"],
    ["inspect", SAMPLE, "--no-such-option"],
    ["send", "{tmp}", "--to", "not an address", "--dry-run"],
], ids=["config", "font", "days", "format", "option", "address"])
def test_a_command_line_that_cannot_work_exits_2(tmp_path, args):
    result = run([str(a).format(tmp=tmp_path) for a in args], tmp_path)
    assert result.exit_code == 2, result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("option, command", [("--templates", "build"), ("--font", "epub")])
@pytest.mark.parametrize("name", ["nx\udcff", "n\nx", "n'x"])
def test_a_path_option_naming_nothing_says_it_quoted(tmp_path, option, command, name):
    """A missing path is named as ls quotes it: a byte that is not UTF-8 as $'\\xff' (not U+FFFD,
    which two names would share), a line break as $'\\n' (never one that starts a line)."""
    from exporter.gates.names import shell_quote

    missing = str(tmp_path / name)
    result = run_cli([command, str(tmp_path), "-o", str(tmp_path / "out"), option, missing], tmp_path)
    assert result.exit_code == 2, result.output
    assert f"{shell_quote(missing)} does not exist" in result.output, result.output
    assert "\ufffd" not in result.output
