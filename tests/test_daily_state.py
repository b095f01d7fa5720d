"""The build state lives outside the published folder, holds no absolute path, and an old one
in the output folder is migrated."""

import json
import os
from pathlib import Path

from click.testing import CliRunner

from epub_fixtures import day_md, paper_md
from exporter.cli import main
from exporter.state import STATE_NAME, default_state_path
from state_helpers import write_sealed


def build(logs, out, *extra):
    return CliRunner().invoke(main, ["build", str(logs), "-o", str(out), "--images", "none", *extra])


def logs_in(root):
    logs = root / "logs"
    logs.mkdir(parents=True)
    (logs / "2024-03-04.md").write_text(day_md("2024-03-04", [paper_md("2403.00001", "P")]) + "\nstray line\n",
                                        encoding="utf-8")
    return logs


def test_state_outside_the_output_folder_without_absolute_paths(tmp_path):
    logs, out = logs_in(tmp_path), tmp_path / "out"
    r = build(logs.resolve(), out.resolve())
    assert r.exit_code == 0, r.output
    assert not (out / STATE_NAME).exists()
    state = default_state_path(out)
    assert state.is_file() and out.resolve() not in state.resolve().parents
    text = state.read_text(encoding="utf-8")
    assert str(tmp_path) not in text and str(Path.home()) not in text, text[:300]
    again = build(logs, out, "-v")
    assert "1 of 1 read" not in again.stdout and "input files: 0 of 1 read" in again.stdout, again.output
    assert "paper has no thumbnail" in again.stderr  # the diagnostics come back from the state
    assert str(logs / "2024-03-04.md") in again.stderr


def test_state_option_and_config_key(tmp_path):
    logs, out = logs_in(tmp_path), tmp_path / "out"
    mine = tmp_path / "keep" / "state.json"
    assert build(logs, out, "--state", mine).exit_code == 0
    assert mine.is_file() and not default_state_path(out).exists()
    assert "0 of 1 read" in build(logs, out, "--state", mine).stdout
    config = tmp_path / "c.toml"
    config.write_text('[build]\nstate = "keep/other.json"\n', encoding="utf-8")
    r = CliRunner().invoke(main, ["--config", str(config), "build", str(logs), "-o", str(out), "--images", "none"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "keep" / "other.json").is_file()


def test_an_old_state_in_the_output_folder_is_migrated(tmp_path):
    logs, out = logs_in(tmp_path), tmp_path / "out"
    assert build(logs, out).exit_code == 0
    new = default_state_path(out)
    old = json.loads(new.read_text(encoding="utf-8"))
    # What an older build left: the state in the folder, with absolute paths.
    old["files"] = {str((logs / "2024-03-04.md").resolve()): v for v in old["files"].values()}
    write_sealed(out / STATE_NAME, old)
    os.unlink(new)
    r = build(logs, out, "-v")
    assert r.exit_code == 0, r.output
    assert "0 of 1 read" in r.stdout and "1 skipped" in r.stdout, r.output  # the old state was used
    assert not (out / STATE_NAME).exists() and new.is_file()
    assert "state: moved from" in r.stderr


def test_a_paper_twice_in_a_file_keeps_the_state_and_the_next_run_reads_nothing(tmp_path):
    # The reader keeps such a paper once (with a warning); the state must say
    # the same, or its schema finds it damaged and every run rebuilds all.
    logs, out = tmp_path / "logs", tmp_path / "out"
    logs.mkdir()
    twice = paper_md("2403.00001", "P")
    (logs / "2024-03-04.md").write_text(day_md("2024-03-04", [twice, paper_md("2403.00002", "Q"), twice]),
                                        encoding="utf-8")
    first = build(logs, out)
    assert first.exit_code == 0 and "kept once" in first.stderr, first.output
    again = build(logs, out, "-v")
    assert again.exit_code == 0, again.output
    assert "damaged" not in again.output and "input files: 0 of 1 read" in again.stdout, again.output
    assert "rebuilding" not in again.stdout, again.stdout
