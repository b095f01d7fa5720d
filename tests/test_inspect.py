"""`digest-export inspect` in-process with CliRunner: output, JSON shape, exit status."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner

from exporter.cli import main

DAY = """## Daily Papers (2024-06-03)

### [Folding Maps](https://arxiv.org/abs/2406.00001)

[Watch Video](https://cdn.example.org/fold.mp4)
<div><video controls src="https://cdn.example.org/fold.mp4" muted="false"></video></div>

Vote: 12

Authors: Kim Yuna, Lee Dojin

- ***What's New***: 새 방법:
1. 첫째
2. 둘째
- plain bullet

### [Second](https://arxiv.org/abs/2406.00002)

![](https://img.example.org/s.png)

Vote: -

Authors:

- s
"""

BAD = "## Daily Papers (2024-02-30)\n\n### [Lost](https://arxiv.org/abs/2402.00009)\n- x\n"


def runner() -> CliRunner:
    # Click 8.2 keeps stderr apart always; 8.1 needs mix_stderr=False.
    try:
        return CliRunner(mix_stderr=False)
    except TypeError:
        return CliRunner()


@pytest.fixture
def day(tmp_path):
    path = tmp_path / "2024-06-03.md"
    path.write_text(DAY, encoding="utf-8")
    return path


def test_table_output(day):
    result = runner().invoke(main, ["inspect", str(day)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        "2024-06-03 Mon     2 papers  Daily Papers\n"
        "1 day, 2 papers (2 distinct), 0 errors, 0 warnings\n"
    )
    assert result.stderr == ""


def test_json_shape(day):
    result = runner().invoke(main, ["inspect", "--json", str(day)])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    [digest] = data["digests"]
    assert (digest["date"], digest["title"]) == ("2024-06-03", "Daily Papers")
    first, second = digest["papers"]
    assert {k: first[k] for k in ("title", "url", "arxiv_id", "votes", "authors", "thumbnail")} == {
        "title": "Folding Maps",
        "url": "https://arxiv.org/abs/2406.00001",
        "arxiv_id": "2406.00001",
        "votes": 12,
        "authors": ["Kim Yuna", "Lee Dojin"],
        "thumbnail": {"kind": "video", "url": "https://cdn.example.org/fold.mp4"},
    }
    assert first["summary"] == [
        {"label": "What's New", "text": "새 방법:", "children": [
            {"label": None, "text": "첫째", "children": []},
            {"label": None, "text": "둘째", "children": []},
        ]},
        {"label": None, "text": "plain bullet", "children": []},
    ]
    assert (second["votes"], second["authors"]) == (None, [])
    assert second["thumbnail"] == {"kind": "image", "url": "https://img.example.org/s.png"}
    assert data["totals"] == {"days": 1, "papers": 2, "errors": 0, "warnings": 0}
    # Korean stays readable in the JSON (not \\uXXXX escapes).
    assert "새 방법" in result.stdout


def test_errors_exit_1_with_diagnostics_on_stderr(tmp_path, day):
    bad = tmp_path / "bad.md"
    bad.write_text(BAD, encoding="utf-8")
    result = runner().invoke(main, ["inspect", "--json", str(day), str(bad)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{bad}:1: error: 2024-02-30 is not a real date; this day's papers are skipped",
        f"{bad}:3: error: paper 'Lost' skipped: its day heading at line 1 has an invalid date",
    ]
    data = json.loads(result.stdout)  # stdout stays pure JSON
    assert data["totals"]["errors"] == 2
    assert data["diagnostics"][0] == {"path": str(bad), "line": 1, "severity": "error",
                                      "message": "2024-02-30 is not a real date; this day's papers are skipped"}


def test_warnings_exit_0_and_quiet_hides_them(tmp_path):
    path = tmp_path / "w.md"
    path.write_text("## Daily Papers (2024-06-04)\n### [W](https://a.org/w)\n- s\n", encoding="utf-8")
    loud = runner().invoke(main, ["inspect", str(path)])
    assert loud.exit_code == 0
    assert f"{path}:2: warning: paper has no thumbnail" in loud.stderr.splitlines()
    quiet = runner().invoke(main, ["inspect", "-q", str(path)])
    assert quiet.exit_code == 0 and quiet.stderr == ""


def test_stdin_dash():
    result = runner().invoke(main, ["inspect", "--json", "-"], input=DAY.encode("utf-8"))
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["totals"]["papers"] == 2


@pytest.mark.parametrize("args", [["inspect", "--no-such-option"], ["inspect", "--json", "--no-such-option"]])
def test_usage_errors_exit_2(args):
    result = runner().invoke(main, args)
    assert result.exit_code == 2
    assert "Error:" in result.stderr and result.stdout == ""


def test_a_missing_input_is_an_input_error_exit_1():
    # A wrong path is input that holds no digest day (README, "Diagnostics and exit status").
    result = runner().invoke(main, ["inspect", "/no/such/path.md"])
    assert result.exit_code == 1
    assert "/no/such/path.md:1: error: cannot read: No such file or directory" in result.stderr


def test_bundled_sample_is_used_without_input():
    from exporter.resources import sample_dir

    result = runner().invoke(main, ["inspect", "--json"])
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines()[0] == (
        f"digest-export: no INPUT given; using the bundled sample digests ({sample_dir()})")
    data = json.loads(result.stdout)
    assert data["totals"]["errors"] == 0
    assert data["totals"]["days"] >= 4
    kinds = {p["thumbnail"]["kind"] for d in data["digests"] for p in d["papers"] if p["thumbnail"]}
    assert kinds == {"image", "video"}


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        yield prefix + (name,)
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, prefix + (name,))


def test_every_command_has_help_with_an_example():
    paths = [()] + list(_commands(main))
    assert ("inspect",) in paths
    for path in paths:
        result = runner().invoke(main, [*path, "--help"])
        assert result.exit_code == 0, path
        assert "Example:" in result.stdout, f"{' '.join(path) or 'main'} --help has no Example:"


@pytest.mark.parametrize("command", [["inspect", "-"], ["epub", "-", "-o", "OUT"], ["build", "-", "-o", "OUT"]])
def test_a_closed_standard_input_is_an_input_error_not_a_crash(tmp_path, command):
    """Under a daemon or `<&-`, file descriptor 0 is closed and Python's sys.stdin is None."""
    import subprocess
    import sys

    args = [a if a != "OUT" else str(tmp_path / "out") for a in command]
    if command[0] != "inspect":
        args += ["--images", "none"]
    run = subprocess.run([sys.executable, "-m", "exporter", *args], stdin=subprocess.DEVNULL, capture_output=True,
                         text=True, timeout=60, preexec_fn=lambda: __import__("os").close(0))
    assert run.returncode == 1, run.stderr
    assert "<stdin>:1: error: cannot read: standard input is closed" in run.stderr
    assert "internal error" not in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "out").exists()


def test_a_closed_standard_output_is_an_error_not_an_empty_report(tmp_path):
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-m", "exporter", "inspect", "-q", "--json"], capture_output=False,
                         stderr=subprocess.PIPE, text=True, timeout=60, preexec_fn=lambda: __import__("os").close(1))
    assert run.returncode == 1, run.stderr
    assert "standard output is closed" in run.stderr


def test_a_full_standard_output_is_named_as_such(tmp_path):
    """'No space left on device' alone reads as the output folder's disk."""
    import os
    import subprocess
    import sys

    if not os.path.exists("/dev/full"):
        pytest.skip("needs /dev/full")
    with open("/dev/full", "w") as full:
        run = subprocess.run([sys.executable, "-m", "exporter", "inspect", "-q"], stdout=full, stderr=subprocess.PIPE,
                             text=True, timeout=60)
    assert run.returncode == 1, run.stderr
    assert "cannot write to standard output: No space left on device" in run.stderr
