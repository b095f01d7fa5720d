"""Empty input is an error unless --allow-empty; the bundled sample only with no input and no config."""

import os

from click.testing import CliRunner

from epub_fixtures import day_md, paper_md
from exporter.cli import main


def invoke(args, cwd=None):
    old = os.getcwd()
    os.chdir(cwd or old)
    try:
        return CliRunner().invoke(main, [str(a) for a in args])
    finally:
        os.chdir(old)


def test_empty_input_is_an_error_and_replaces_nothing(tmp_path):
    full, empty = tmp_path / "full", tmp_path / "empty"
    full.mkdir()
    empty.mkdir()
    (full / "d.md").write_text(day_md("2024-03-04", [paper_md("2403.00001", "P")]), encoding="utf-8")
    (empty / "d.md").write_text("", encoding="utf-8")
    for command in ("build", "epub", "feed"):
        out = tmp_path / command
        extra = [] if command == "feed" else ["--images", "none"]
        assert invoke([command, full, "-o", out, *extra]).exit_code == 0
        before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
        result = invoke([command, empty, "-o", out])
        assert result.exit_code == 1, (command, result.output)
        assert "no digest day in the input" in result.stderr and "--allow-empty" in result.stderr
        assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before, command
        fresh = tmp_path / f"{command}-fresh"
        assert invoke([command, empty, "-o", fresh]).exit_code == 1
        assert not fresh.exists() or not any(fresh.iterdir())
    allowed = invoke(["feed", empty, "-o", tmp_path / "allowed", "--allow-empty"])
    assert allowed.exit_code == 0, allowed.output
    assert (tmp_path / "allowed" / "feed.atom").is_file()


def test_sample_only_without_any_config_and_says_where_it_writes(tmp_path):
    result = invoke(["epub", "-o", "out", "--images", "none"], cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert "bundled sample digests" in result.stderr
    assert f"writing to {(tmp_path / 'out').resolve()}" in result.stderr
    (tmp_path / "digest-export.toml").write_text('images = "none"\n', encoding="utf-8")
    configured = invoke(["epub", "-o", "out2"], cwd=tmp_path)
    assert configured.exit_code == 2, configured.output
    assert "names none (its 'inputs' is missing or empty)" in configured.output
    assert "bundled sample" not in configured.output
    assert not (tmp_path / "out2").exists()
    (tmp_path / "digest-export.toml").write_text('inputs = []\n', encoding="utf-8")  # said alike
    empty = invoke(["epub", "-o", "out2"], cwd=tmp_path)
    assert empty.exit_code == 2 and "its 'inputs' is missing or empty" in empty.output, empty.output


def test_epub_to_one_file(tmp_path):
    logs = tmp_path / "in"
    logs.mkdir()
    for date in ("2024-03-04", "2024-03-12"):
        (logs / f"{date}.md").write_text(day_md(date, [paper_md(f"2403.{date[-2:]}001", "P")]),
                                         encoding="utf-8")
    target = tmp_path / "books" / "book.epub"
    result = invoke(["epub", logs, "-o", target, "--images", "none", "--by", "all"])
    assert result.exit_code == 0, result.output
    assert target.is_file() and target.read_bytes()[:2] == b"PK"
    assert sorted(p.name for p in target.parent.iterdir()) == ["book.epub"]
    assert result.stdout.splitlines()[0] == f"{target} (2 days, 2 papers)"
    again = invoke(["epub", logs, "-o", target, "--images", "none", "--by", "all"])
    assert again.stdout.splitlines()[0].endswith("unchanged"), again.output
    two = invoke(["epub", logs, "-o", tmp_path / "two.epub", "--images", "none"])
    assert two.exit_code == 2, two.output
    assert "exactly one book" in two.output and "2 books" in two.output
    assert not (tmp_path / "two.epub").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
