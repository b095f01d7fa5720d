from click.testing import CliRunner

from epub_fixtures import day_md, paper_md, write_week
from exporter.cli import main


def run(*args):
    return CliRunner().invoke(main, ["epub", *map(str, args)])


def test_epub_command_writes_one_file_per_week(tmp_path):
    week = write_week(tmp_path / "in", days=2)
    write_week(tmp_path / "in", days=1, start="2024-03-11")
    out = tmp_path / "out"
    result = run(week, "-o", out, "--images", "none")
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == ["daily-papers-2024-W10.epub", "daily-papers-2024-W11.epub"]
    lines = result.stdout.splitlines()
    assert lines[0] == f"{out / names[0]} (2 days, 7 papers)"
    assert lines[-1] == "2 books, 3 days, 10 papers, 0 images, 4 warnings"
    # Second run: same bytes, reported unchanged.
    again = run(week, "-o", out, "--images", "none")
    assert "unchanged" in again.stdout.splitlines()[0]


def test_by_day_title_and_dates(tmp_path):
    week = write_week(tmp_path / "in", days=3)
    out = tmp_path / "out"
    result = run(week, "-o", out, "--by", "day", "--from", "2024-03-05", "--to", "2024-03-06",
                 "--title", "../Evil Title", "--images", "none", "--quiet")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert sorted(p.name for p in out.iterdir()) == ["evil-title-2024-03-05.epub", "evil-title-2024-03-06.epub"]


def test_input_error_exits_1_and_writes_nothing(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.md").write_text(day_md("2024-03-04", [paper_md("2403.00001", "Good")]), encoding="utf-8")
    (folder / "b.md").write_text(day_md("2024-13-01", [paper_md("2403.00002", "Bad")]), encoding="utf-8")
    out = tmp_path / "out"
    result = run(folder, "-o", out, "--images", "none")
    assert result.exit_code == 1
    assert "b.md:1: error:" in result.stderr and "no file was written" in result.stderr
    assert not out.exists()
    result = run(folder, "-o", out, "--images", "none", "--keep-going")
    assert result.exit_code == 1
    assert [p.name for p in out.iterdir()] == ["daily-papers-2024-W10.epub"]


def test_bad_options(tmp_path):
    week = write_week(tmp_path / "in", days=1)
    assert run(week, "--from", "2024-03-10", "--to", "2024-03-01").exit_code == 2
    assert run(week, "--lang", "ko_KR!", "--images", "none", "-o", tmp_path).exit_code == 2


def test_help_has_example():
    result = CliRunner().invoke(main, ["epub", "--help"])
    assert result.exit_code == 0 and "Example:" in result.output and "--by" in result.output


def test_no_input_uses_sample(tmp_path):
    result = run("-o", tmp_path, "--images", "none")
    assert result.exit_code == 0, result.output
    assert list(tmp_path.glob("*.epub"))


def test_an_output_that_is_a_file_not_named_epub_is_a_usage_error_as_for_build(tmp_path):
    """``-o afile`` (a regular file whose name does not end in .epub) names a folder, as it does
    for ``build`` and ``feed``: a usage error (exit 2) there, an error writing (exit 1) here."""
    week = write_week(tmp_path / "in")
    target = tmp_path / "afile"
    target.write_text("precious\n")
    for command in ("epub", "build"):
        r = run(command, str(week), "-o", str(target))
        assert r.exit_code == 2, (command, r.output)
        assert "is a regular file, not a folder" in r.output, r.output
    assert target.read_text() == "precious\n"


def test_a_book_written_to_a_name_of_the_users_choosing_outlives_the_builds_of_its_folder(tmp_path):
    """``epub -o DIR/NAME.epub`` at a name no run into DIR wrote: the user named it, so a build of
    DIR (with its state or without) leaves it, where it replaces or removes the books ``epub -o
    DIR`` wrote under the program's names."""
    week = write_week(tmp_path / "in", days=2)
    out = tmp_path / "out"
    mine = out / "my-own-name.epub"
    assert run(week, "-o", mine, "--images", "none", "-q").exit_code == 0
    data = mine.read_bytes()
    for _ in range(2):  # the first build without a state, the second with one
        result = CliRunner().invoke(main, ["build", str(week), "-o", str(out), "--images", "none", "-q"])
        assert result.exit_code == 0, result.output
        assert mine.read_bytes() == data
    # Over a book a build wrote, the book is recorded: the next build takes it back as its own.
    book = out / "daily-papers-2024-W10.epub"
    built = book.read_bytes()
    assert run(week, "-o", book, "--images", "none", "-q", "--title", "Other").exit_code == 0
    assert book.read_bytes() != built
    result = CliRunner().invoke(main, ["build", str(week), "-o", str(out), "--images", "none", "-q"])
    assert result.exit_code == 0, result.output
    assert book.read_bytes() == built


def test_one_file_is_built_in_the_cache_and_a_killed_runs_working_folder_goes_a_day_later(tmp_path, monkeypatch):
    """``epub -o FILE.epub`` builds in a working folder of the program's cache, never beside FILE
    (a run killed outright left ``.digest-export-*/`` there for good); one a day old, left by such
    a run, is removed by the next run, and a younger one (a run at work now) stays."""
    import os
    import time

    week = write_week(tmp_path / "in", days=2)
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    work = cache / "digest-export" / "one-book"
    old, young = work / "run-killed1", work / "run-atwork1"
    for folder in (old, young):
        (folder / "x").mkdir(parents=True)
    os.utime(old, (time.time() - 2 * 86400,) * 2)
    target = tmp_path / "out" / "mine.epub"
    result = run(week, "-o", target, "--images", "none", "-q")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in target.parent.iterdir()) == ["mine.epub"]
    assert not old.exists() and young.exists()
    assert sorted(p.name for p in work.iterdir()) == ["run-atwork1"]  # its own is gone too


def test_a_folder_at_the_one_file_is_a_usage_error_as_a_fifo_is(tmp_path):
    """``-o x.epub`` where x.epub is a folder: the option names what cannot be (exit 2), as for a
    named pipe there, not a failure to write (exit 1); the folder is left as it is."""
    week = write_week(tmp_path / "in", days=2)
    target = tmp_path / "x.epub"
    target.mkdir()
    result = run(week, "-o", target, "--by", "all", "--images", "none", "-q")
    assert result.exit_code == 2, result.output
    assert "x.epub is a folder, not a file for the book" in result.output
    assert list(target.iterdir()) == []
