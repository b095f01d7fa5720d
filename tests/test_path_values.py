"""An empty path (a variable left unset) or a bare '-' where no standard stream is read is a
usage error naming the option, never the current folder or a folder named '-'."""

from __future__ import annotations

import os

import pytest

from test_hostile_round_four import PATH_OPTIONS
from test_hostile_round_two import run_cli

OPTIONS = [o for o in PATH_OPTIONS if o[1] != "--book"]  # --book names a book in DIR, not a path


@pytest.mark.parametrize("value", ["", "-"])
@pytest.mark.parametrize("option", OPTIONS, ids=[" ".join(o[0]) for o in OPTIONS])
def test_an_empty_path_or_a_bare_dash_is_a_usage_error(tmp_path, monkeypatch, option, value):
    head, name = option
    if value == "-" and name == "INPUT":
        pytest.skip("an INPUT of '-' is standard input")
    src = tmp_path / "in"
    src.mkdir()
    (src / "2024-03-04.md").write_text("## Daily Papers (2024-03-04)\n\n### [T](https://arxiv.org/abs/2403.00001)\n"
                                       "\nVote: 1\n\nAuthors: A\n\n- x\n", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    args = [str(src) if a == "IN" else str(out) if a == "OUT" else a for a in head] + [value]
    if head == ["--config"]:
        args.append("inspect")
    result = run_cli(args, tmp_path)
    assert result.exit_code == 2, result.output
    assert name in result.output and ("empty path" in result.output or "'-' is not" in result.output), result.output
    assert os.listdir(work) == []  # nothing written where the command was run
