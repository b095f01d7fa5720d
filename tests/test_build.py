"""`digest-export build`: books + feeds + catalog, incremental, config, errors."""

from __future__ import annotations

import datetime as dt
import json
import os
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from exporter.state import STATE_NAME, default_state_path
from exporter.cli import main

# 2024-03-04 is a Monday: days 0-4 are week 10, 7-8 week 11, 14 week 12.
START = dt.date(2024, 3, 4)
DAYS = (0, 1, 2, 3, 4, 7, 8, 14)


def digest(date: dt.date, n: int = 3, *, extra: str = "", repeat: str | None = None) -> str:
    out = [f"## Build Digest ({date.isoformat()})", ""]
    for i in range(n):
        ident = f"24{date:%m}.{date.day:02d}{i:03d}"
        out += [f"### [Paper {date.isoformat()} number {i}](https://arxiv.org/abs/{ident})", "",
                f"Vote: {i + 1}", "", f"Authors: A. Writer{i}, B. Reader", "",
                f"- ***What's New***: a method for day {date.isoformat()} item {i}{extra}.",
                "- plain words about **results** and more", ""]
    if repeat:
        out += [f"### [Repeated paper](https://arxiv.org/abs/{repeat})", "", "Vote: 9", "",
                "- seen before", ""]
    return "\n".join(out)


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    folder = tmp_path / "logs"
    folder.mkdir()
    for d in DAYS:
        date = START + dt.timedelta(days=d)
        (folder / f"{date.isoformat()}.md").write_text(digest(date), encoding="utf-8")
    return folder


def build(logs: Path, out: Path, *args: str, inputs: tuple[str, ...] | None = None):
    result = CliRunner().invoke(
        main, ["build", *(inputs if inputs is not None else (str(logs),)), "-o", str(out),
               "--images", "none", *args])
    return result


def mtimes(out: Path) -> dict[str, tuple[int, int]]:
    """(mtime, inode) of every output file: write_file renames a new file
    into place, so even a rewrite within one clock tick changes the inode."""
    return {str(p.relative_to(out)): (p.stat().st_mtime_ns, p.stat().st_ino) for p in sorted(out.rglob("*"))
            if p.is_file() and p.name != STATE_NAME}


def book(out: Path, week: int) -> Path:
    return out / f"build-digest-2024-W{week}.epub"


def test_build_writes_books_feeds_and_catalog(logs, tmp_path):
    out = tmp_path / "out"
    r = build(logs, out)
    assert r.exit_code == 0, r.stderr
    names = {p.name for p in out.iterdir()}
    assert {"build-digest-2024-W10.epub", "build-digest-2024-W11.epub", "build-digest-2024-W12.epub",
            "feed.atom", "feed.rss", "feed.json", "catalog.opds"} <= names
    assert STATE_NAME not in names and default_state_path(out).is_file()  # not published
    catalog = (out / "catalog.opds").read_text(encoding="utf-8")
    assert catalog.count("application/epub+zip") == 3
    assert "3 books (3 built, 0 skipped)" in r.stdout
    assert "0 unchanged, 0 skipped" in r.stdout


def test_same_bytes_as_epub_and_feed_commands(logs, tmp_path):
    """build = epub + feed, byte for byte (serial and with worker processes)."""
    runner = CliRunner()
    ref = tmp_path / "ref"
    assert runner.invoke(main, ["epub", str(logs), "-o", str(ref), "--images", "none", "--by", "day",
                                "-q"]).exit_code == 0
    assert runner.invoke(main, ["feed", str(logs), "-o", str(ref), "--base-url", "https://e.org/p/",
                                "--format", "atom", "--format", "rss", "--format", "json",
                                "--format", "opds", "-q"]).exit_code == 0
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}"
        r = build(logs, out, "--by", "day", "--base-url", "https://e.org/p/", "-j", jobs)
        assert r.exit_code == 0, r.stderr
        # index.html is build's own page; epub and feed do not write one.
        got = {k for k in mtimes(out)} - {"index.html"}
        assert got == set(mtimes(ref))
        for name in got:
            assert (out / name).read_bytes() == (ref / name).read_bytes(), name


def test_library_entry_points_make_the_commands_bytes(logs, tmp_path):
    """build_epubs and write_feeds (for digests already read) run the same
    pipeline as the epub and feed commands: the same files, byte for byte."""
    from exporter.books.epub import EpubOptions
    from exporter.bundles import BundleBy
    from exporter.feeds.writer import FeedOptions
    from exporter.pipeline import build_epubs, write_feeds
    from exporter.reader import read_digests

    runner = CliRunner()
    cmd, lib = tmp_path / "cmd", tmp_path / "lib"
    formats = ("atom", "rss", "json", "opds")
    assert runner.invoke(main, ["epub", str(logs), "-o", str(cmd), "--images", "none", "--by", "day",
                                "-q"]).exit_code == 0
    assert runner.invoke(main, ["feed", str(logs), "-o", str(cmd), "--base-url", "https://e.org/p/",
                                *[a for f in formats for a in ("--format", f)], "-q"]).exit_code == 0
    result = read_digests([logs])
    books = build_epubs(result, EpubOptions(out_dir=lib, images="none", by=BundleBy.DAY))
    feeds = write_feeds(result, FeedOptions(out_dir=lib, formats=formats, base_url="https://e.org/p/"))
    assert books.bundles == 8 and feeds.books == 8 and feeds.entries > 0
    assert set(mtimes(lib)) == set(mtimes(cmd))
    for name in mtimes(cmd):
        assert (lib / name).read_bytes() == (cmd / name).read_bytes(), name


def test_second_run_rewrites_nothing_and_says_why(logs, tmp_path):
    out = tmp_path / "out"
    assert build(logs, out).exit_code == 0
    before = mtimes(out)
    r = build(logs, out, "-v")
    assert r.exit_code == 0, r.stderr
    assert mtimes(out) == before
    assert "3 books (0 built, 3 skipped)" in r.stdout
    assert "input files: 0 of 8 read" in r.stdout
    assert f"0 written, 0 unchanged, {len(before)} skipped" in r.stdout
    assert f"skipped {book(out, 10)}: its inputs, options, templates and program version are unchanged" \
        in r.stderr
    assert "skipped the feeds" in r.stderr


def test_a_paper_repeated_within_a_day_does_not_make_every_run_a_full_rebuild(logs, tmp_path):
    """The day's paper keys are stored once each, as the state's schema wants them: a repeat
    within a day (kept once, with a warning) left a state read back as damaged."""
    date = START + dt.timedelta(days=DAYS[0])
    (logs / f"{date.isoformat()}.md").write_text(digest(date, repeat=f"24{date:%m}.{date.day:02d}001"),
                                                 encoding="utf-8")
    out = tmp_path / "out"
    assert build(logs, out).exit_code == 0
    r = build(logs, out, "-v")
    assert r.exit_code == 0, r.stderr
    assert "damaged" not in r.stderr
    assert "3 books (0 built, 3 skipped)" in r.stdout
    assert "input files: 0 of 8 read" in r.stdout


def test_changed_input_rebuilds_only_its_book(logs, tmp_path):
    out = tmp_path / "out"
    assert build(logs, out, "--days", "1").exit_code == 0
    before = mtimes(out)
    day = START + dt.timedelta(days=7)
    (logs / f"{day.isoformat()}.md").write_text(digest(day, extra=" (edited)"), encoding="utf-8")
    r = build(logs, out, "--days", "1", "-v")
    assert r.exit_code == 0, r.stderr
    after = mtimes(out)
    assert after[book(out, 10).name] == before[book(out, 10).name]
    assert after[book(out, 12).name] == before[book(out, 12).name]
    assert after[book(out, 11).name] != before[book(out, 11).name]
    with zipfile.ZipFile(book(out, 11)) as z:
        assert "(edited)" in z.read("EPUB/day-2024-03-11.xhtml").decode("utf-8")
    assert f"rebuilding {book(out, 11)}: its input files changed" in r.stderr
    # The two days of week 11, and the feed's one day (its papers' entries).
    assert "input files: 3 of 8 read" in r.stdout
    # Touching a file without changing it rebuilds nothing.
    before = mtimes(out)
    os.utime(logs / f"{START.isoformat()}.md")
    r = build(logs, out, "--days", "1")
    assert mtimes(out) == before
    assert "0 built, 3 skipped" in r.stdout


def test_added_day_gives_the_same_output_as_a_fresh_build(logs, tmp_path):
    """Only the new day's week and the feed window are read; the result is
    the same as reading everything (a paper repeated from an old day keeps
    its first entry only)."""
    out = tmp_path / "out"
    assert build(logs, out, "--days", "2").exit_code == 0
    day = START + dt.timedelta(days=15)
    first = "2403.04000"  # first paper of 2024-03-04, long out of the 2-day window
    (logs / f"{day.isoformat()}.md").write_text(digest(day, repeat=first), encoding="utf-8")
    r = build(logs, out, "--days", "2")
    assert r.exit_code == 0, r.stderr
    assert "1 built, 2 skipped" in r.stdout
    fresh = tmp_path / "fresh"
    assert build(logs, fresh, "--days", "2").exit_code == 0
    for name in mtimes(fresh):
        assert (out / name).read_bytes() == (fresh / name).read_bytes(), name
    assert f"abs/{first}" not in (out / "feed.atom").read_text(encoding="utf-8")


def test_template_and_option_changes_rebuild(logs, tmp_path):
    out = tmp_path / "out"
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "epub.css").write_text("body { margin: 0 }\n", encoding="utf-8")
    assert build(logs, out, "--templates", str(templates)).exit_code == 0
    before = mtimes(out)
    (templates / "epub.css").write_text("body { margin: 1em }\n", encoding="utf-8")
    r = build(logs, out, "--templates", str(templates), "-v")
    assert "3 built, 0 skipped" in r.stdout
    assert "options, templates or program version changed" in r.stderr
    after = mtimes(out)
    assert all(after[book(out, w).name] != before[book(out, w).name] for w in (10, 11, 12))
    before = mtimes(out)
    r = build(logs, out, "--templates", str(templates), "--lang", "ko")
    assert "3 built, 0 skipped" in r.stdout
    assert mtimes(out)[book(out, 10).name] != before[book(out, 10).name]
    # A feed option rebuilds the feeds, not the books.
    before = mtimes(out)
    r = build(logs, out, "--templates", str(templates), "--lang", "ko", "--days", "1")
    assert "0 built, 3 skipped" in r.stdout
    after = mtimes(out)
    assert after["feed.atom"] != before["feed.atom"]
    assert after[book(out, 10).name] == before[book(out, 10).name]


@pytest.mark.parametrize("damage", [b"", b"{not json", b'{"program": "digest-export", "format": 1}',
                                    b'{"program": "digest-export", "format": 1, "version": "0.1.0", '
                                    b'"files": {"x": {"size": "big"}}}'])
def test_damaged_state_means_rebuild_but_unchanged_bytes_stay(logs, tmp_path, damage):
    out = tmp_path / "out"
    assert build(logs, out).exit_code == 0
    before = mtimes(out)
    default_state_path(out).write_bytes(damage)
    r = build(logs, out, "-v")
    assert r.exit_code == 0, r.stderr
    assert "3 built, 0 skipped" in r.stdout
    assert "state:" in r.stderr
    assert mtimes(out) == before  # rebuilt, same bytes: not rewritten
    assert f"0 written, {len(before)} unchanged" in r.stdout
    json.loads(default_state_path(out).read_bytes())  # repaired


def test_deleted_or_damaged_output_is_rebuilt(logs, tmp_path):
    out = tmp_path / "out"
    assert build(logs, out).exit_code == 0
    book(out, 11).unlink()
    # Cut short (a sync tool stopped half-way): still the program's (its mark is in its head).
    data = (out / "feed.json").read_bytes()
    (out / "feed.json").write_bytes(data[:len(data) // 2])
    r = build(logs, out, "-v")
    assert r.exit_code == 0
    assert book(out, 11).is_file()
    assert "1 built, 2 skipped" in r.stdout
    assert json.loads((out / "feed.json").read_text(encoding="utf-8"))["items"]
    assert "is missing" in r.stderr and "was changed since it was written" in r.stderr


def test_an_output_the_user_replaced_is_left_alone_until_moved_away(logs, tmp_path):
    """The state names feed.json, but what is there now is neither as written nor marked: the
    user's, refused with a message saying how to go on."""
    out = tmp_path / "out"
    assert build(logs, out).exit_code == 0
    (out / "feed.json").write_text("{}", encoding="utf-8")
    r = build(logs, out, "-v")
    assert r.exit_code == 1
    assert f"{out / 'feed.json'} was changed since digest-export wrote it" in r.stderr
    assert "move it away" in r.stderr
    assert (out / "feed.json").read_text(encoding="utf-8") == "{}"
    (out / "feed.json").rename(tmp_path / "mine.json")
    assert build(logs, out).exit_code == 0
    assert json.loads((out / "feed.json").read_text(encoding="utf-8"))["items"]


def test_removed_input_day_is_dropped(logs, tmp_path):
    out = tmp_path / "out"
    assert build(logs, out).exit_code == 0
    (logs / f"{(START + dt.timedelta(days=8)).isoformat()}.md").unlink()
    assert build(logs, out).exit_code == 0
    fresh = tmp_path / "fresh"
    assert build(logs, fresh).exit_code == 0
    for name in mtimes(fresh):
        assert (out / name).read_bytes() == (fresh / name).read_bytes(), name


def test_errors_write_nothing_unless_keep_going(logs, tmp_path):
    out = tmp_path / "out"
    (logs / "bad.md").write_text("## Build Digest (2024-13-45)\n\n### [X](https://arxiv.org/abs/2403.99999)\n",
                                 encoding="utf-8")
    r = build(logs, out)
    assert r.exit_code == 1
    assert "bad.md:1: error:" in r.stderr
    assert not out.exists()
    r = build(logs, out, "--keep-going")
    assert r.exit_code == 1
    assert book(out, 10).is_file() and (out / "feed.atom").is_file()
    # The same --keep-going summary as `epub` and `feed`: what was skipped, where.
    assert "--keep-going: skipped 1 day (" in r.stderr and "bad.md:1" in r.stderr
    # The error comes from the state now (bad.md is not read again): still reported, still exit 1.
    r = build(logs, out)
    assert r.exit_code == 1
    assert "bad.md:1: error:" in r.stderr
    assert "no file was written" in r.stderr


def test_warnings_of_unread_files_are_still_reported(logs, tmp_path):
    out = tmp_path / "out"
    day = START + dt.timedelta(days=1)
    (logs / f"{day.isoformat()}.md").write_text(digest(day) + "\n### [No link]\n\n- x\n", encoding="utf-8")
    first = build(logs, out)
    second = build(logs, out)
    warnings = [line for line in first.stderr.splitlines() if ": warning:" in line and ".md:" in line]
    assert warnings
    assert "input files: 0 of 8 read" in second.stdout
    assert [line for line in second.stderr.splitlines() if line in warnings] == warnings


def test_config_build_table_applies(logs, tmp_path):
    config = tmp_path / "digest-export.toml"
    config.write_text(
        'title = "Config Series"\n'
        'inputs = ["logs"]\n'
        "[build]\n"
        'output = "public"\n'
        'images = "none"\n'
        'base-url = "https://example.org/papers/"\n'
        'format = ["atom", "opds"]\n'
        "days = 3\n", encoding="utf-8")
    r = CliRunner().invoke(main, ["--config", str(config), "build", "-q"])
    assert r.exit_code == 0, r.stderr
    public = tmp_path / "public"
    assert (public / "config-series-2024-W10.epub").is_file()
    assert (public / "feed.atom").is_file() and (public / "catalog.opds").is_file()
    assert not (public / "feed.rss").exists()
    assert "https://example.org/papers/feed.atom" in (public / "feed.atom").read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text("[build]\njobs = \"many\"\n", encoding="utf-8")
    r = CliRunner().invoke(main, ["--config", str(bad), "build"])
    assert r.exit_code == 2
    assert "jobs" in r.stderr and "bad.toml" in r.stderr


def test_build_help_has_example():
    r = CliRunner().invoke(main, ["build", "--help"])
    assert r.exit_code == 0
    assert "Example:" in r.output and "--base-url" in r.output and "--images" in r.output


def test_readme_daily_run_example_works(logs, tmp_path):
    """The config of the README's "Daily run" section, used as a new user would."""
    import re

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Daily run"):]
    toml = re.search(r"```toml\n(.*?)```", section, re.S).group(1)
    # Offline test: no thumbnails (everything else as in the README).
    toml = toml.replace('images = "embed"', 'images = "none"')
    (tmp_path / "paper_logs").symlink_to(logs)
    (tmp_path / "digest-export.toml").write_text(toml, encoding="utf-8")
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        r = CliRunner().invoke(main, ["build"])
    finally:
        os.chdir(old)
    assert r.exit_code == 0, r.stderr
    public = tmp_path / "public"
    assert (public / "daily-papers-2024-W10.epub").is_file()
    assert (public / "catalog.opds").is_file() and (public / "archive").is_dir()
    assert "https://papers.example.org/feed.atom" in (public / "feed.atom").read_text(encoding="utf-8")
    assert r.stdout == ""  # quiet = true


def test_progress_bar_only_on_a_terminal(logs, tmp_path):
    import pty
    import subprocess
    import sys

    r = build(logs, tmp_path / "plain", "--by", "day")
    assert "Building EPUBs" not in r.stderr  # CliRunner's stderr is not a terminal
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    for extra, shown in (((), True), (("--quiet",), False)):
        leader, follower = pty.openpty()
        proc = subprocess.run(
            [sys.executable, "-m", "exporter", "build", str(logs), "-o", str(tmp_path / f"tty{shown}"),
             "--images", "none", "--by", "day", *extra],
            stderr=follower, stdout=subprocess.DEVNULL, env=env, timeout=120)
        os.close(follower)
        chunks = []
        while True:
            try:
                data = os.read(leader, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        os.close(leader)
        assert proc.returncode == 0
        assert (b"Building EPUBs" in b"".join(chunks)) is shown


def test_catalog_reuses_unchanged_books_and_repairs_covers(logs, tmp_path, monkeypatch):
    import exporter.site.opds

    out = tmp_path / "out"
    assert build(logs, out, "--days", "1").exit_code == 0
    reference = (out / "catalog.opds").read_bytes()
    opened = []
    real = exporter.site.opds.read_book
    monkeypatch.setattr(exporter.site.opds, "read_book", lambda p, *data: opened.append(p.name) or real(p, *data))
    day = START + dt.timedelta(days=15)
    (logs / f"{day.isoformat()}.md").write_text(digest(day), encoding="utf-8")
    assert build(logs, out, "--days", "1").exit_code == 0
    assert opened == ["build-digest-2024-W12.epub"]  # the one rebuilt book only
    # Same catalog as a fresh build; a damaged cover file (cut short: still marked) is written again.
    cover = out / "build-digest-2024-W10.cover.jpg"
    good = cover.read_bytes()
    cover.write_bytes(good[:len(good) // 3])
    assert build(logs, out, "--days", "1").exit_code == 0
    assert cover.read_bytes() == good
    fresh = tmp_path / "fresh"
    assert build(logs, fresh, "--days", "1").exit_code == 0
    assert (out / "catalog.opds").read_bytes() == (fresh / "catalog.opds").read_bytes() != reference


def test_thumbnails_left_out_are_counted_by_reason(logs, tmp_path):
    """A thumbnail that cannot be fetched is left out, the paper stays, and the
    run says how many failed and why (as `epub` does); --image-timeout applies."""
    day = START + dt.timedelta(days=2)
    text = digest(day).replace("Vote: 1\n", "![](http://127.0.0.1:9/thumb.png)\n\nVote: 1\n", 1)
    (logs / f"{day.isoformat()}.md").write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["build", str(logs), "-o", str(out), "--image-timeout", "2",
                                  "--allow-private-hosts", "-v"],
                           env={"XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert r.exit_code == 0, r.output
    assert "thumbnail http://127.0.0.1:9/thumb.png left out: connection refused" in r.stderr
    assert "digest-export: warning: 1 thumbnail left out: 1 connection refused" in r.stderr
    assert book(out, 10).is_file()


def test_the_same_files_named_another_way_are_not_read_again(logs, tmp_path, monkeypatch):
    """`logs`, `./logs` and `/abs/logs` are the same inputs for the state."""
    day = START + dt.timedelta(days=1)
    (logs / f"{day.isoformat()}.md").write_text(digest(day) + "\n### [No link]\n\n- x\n", encoding="utf-8")
    out = tmp_path / "out"
    monkeypatch.chdir(logs.parent)
    first = build(logs, out, "-v", inputs=("logs",))
    assert first.exit_code == 0, first.output
    before = mtimes(out)
    second = build(logs, out, "-v", inputs=(str(logs.resolve()),))
    assert second.exit_code == 0, second.output
    assert "inputs: 0 of 8 files read and parsed" in second.stderr
    assert "(0 built, 3 skipped)" in second.stdout
    assert mtimes(out) == before
    # The stored warning is shown with the name given this time.
    assert f"{logs.resolve()}/{day.isoformat()}.md:" in second.stderr
    assert "logs/" + f"{day.isoformat()}.md:" in first.stderr


# -- what an earlier build left, what others put in the folder ---------------------

def test_books_no_longer_built_are_removed_with_their_covers(logs, tmp_path):
    out = tmp_path / "out"
    assert build(logs, out).exit_code == 0
    assert (out / "build-digest-2024-W12.cover.jpg").is_file()
    r = build(logs, out, "--to", "2024-03-12", "-v")
    assert r.exit_code == 0, r.output
    assert not book(out, 12).exists() and not (out / "build-digest-2024-W12.cover.jpg").exists()
    assert f"removed {book(out, 12)}" in r.stdout
    assert "build-digest-2024-W12" not in (out / "catalog.opds").read_text(encoding="utf-8")


def test_a_book_changed_by_someone_else_is_left_alone(logs, tmp_path):
    out = tmp_path / "out"
    assert build(logs, out).exit_code == 0
    book(out, 12).write_bytes(b"my edited copy")
    r = build(logs, out, "--to", "2024-03-12", "-v")
    assert r.exit_code == 0
    assert book(out, 12).read_bytes() == b"my edited copy"
    assert "alone" in r.stderr and "build-digest-2024-W12" not in (out / "catalog.opds").read_text()


def test_files_the_build_did_not_write_are_not_listed_opened_or_overwritten(logs, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "someone-else.epub").write_bytes(b"PK\x03\x04 not a book")
    (out / "build-digest-2024-W11.cover.jpg").write_bytes(b"my picture")
    r = build(logs, out)
    assert r.exit_code == 0, r.output
    catalog = (out / "catalog.opds").read_text(encoding="utf-8")
    assert "someone-else" not in catalog
    assert (out / "someone-else.epub").read_bytes() == b"PK\x03\x04 not a book"
    assert (out / "build-digest-2024-W11.cover.jpg").read_bytes() == b"my picture"
    assert "build-digest-2024-W11.cover.jpg: warning: not written by digest-export" in r.stderr
    assert "build-digest-2024-W10.cover.jpg" in catalog and "build-digest-2024-W11.cover" not in catalog


def test_symlinked_folders_are_followed_once(logs, tmp_path):
    outside = tmp_path / "older"
    outside.mkdir()
    date = START + dt.timedelta(days=21)
    (outside / f"{date.isoformat()}.md").write_text(digest(date), encoding="utf-8")
    (logs / "2024-older").symlink_to(outside, target_is_directory=True)
    (logs / "again").symlink_to(outside, target_is_directory=True)
    (outside / "loop").symlink_to(logs, target_is_directory=True)
    out = tmp_path / "out"
    r = build(logs, out)
    assert r.exit_code == 0, r.output
    assert book(out, 13).is_file()
    assert "4 books" in r.stdout


def test_appending_a_day_to_a_one_file_archive_rebuilds_only_its_book(tmp_path):
    archive = tmp_path / "archive.md"
    days = [START + dt.timedelta(days=d) for d in DAYS]
    archive.write_text("\n".join(digest(d) for d in days), encoding="utf-8")
    out = tmp_path / "out"
    assert build(archive, out, inputs=(str(archive),)).exit_code == 0
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("*.epub")}
    extra = START + dt.timedelta(days=15)  # week 12
    with archive.open("a", encoding="utf-8") as fh:
        fh.write("\n" + digest(extra))
    r = build(archive, out, "-v", inputs=(str(archive),))
    assert r.exit_code == 0, r.output
    rebuilt = [line for line in r.stderr.splitlines() if "rebuilding" in line]
    assert len(rebuilt) == 1 and "W12" in rebuilt[0], r.stderr
    after = {p.name: p.stat().st_mtime_ns for p in out.glob("*.epub")}
    assert [n for n in after if after[n] != before[n]] == ["build-digest-2024-W12.epub"]


def test_every_option_either_shapes_the_output_or_says_it_does_not():
    """The fingerprints of books and feeds come from the options' fields:
    a new field is part of them unless it is marked RUN_ONLY."""
    import dataclasses

    from exporter.state import fingerprint
    from exporter.books.epub import EpubOptions
    from exporter.feeds.writer import FeedOptions
    from exporter.model import output_settings

    samples = {bool: True, int: 3, float: 2.5, str: "x", type(None): None}
    for cls in (EpubOptions, FeedOptions):
        base = cls()
        settings = output_settings(base)
        for f in dataclasses.fields(cls):
            run_only = f.metadata.get("affects_output") is False
            assert (f.name in settings) != run_only, f.name
            value = getattr(base, f.name)
            other = {"by": "month", "date_from": dt.date(2024, 1, 1), "date_to": dt.date(2024, 1, 1),
                     "formats": ("atom",), "out_dir": Path("elsewhere"), "templates": Path("t"),
                     "cache_dir": Path("c"), "images": "none", "lang": "en", "title": "T",
                     "base_url": "https://example.org/", "days": 2, "limit": 2}.get(f.name, samples.get(type(value)))
            if isinstance(value, bool):
                other = not value
            changed = dataclasses.replace(base, **{f.name: other})
            moved = fingerprint(output_settings(changed)) != fingerprint(settings)
            assert moved != run_only, f.name


def test_a_thumbnail_that_may_come_later_is_asked_for_without_rebuilding_the_book(logs, tmp_path):
    """A transient failure (here a 503) is retried next run; the book is
    rebuilt only when the thumbnail can be had, not on every run."""
    import http.server
    import threading

    from test_images import GOOD_PNG

    state = {"up": False, "hits": 0}

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            state["hits"] += 1
            body, status = (GOOD_PNG, 200) if state["up"] else (b"busy", 503)
            self.send_response(status)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        day = START + dt.timedelta(days=2)
        url = f"http://127.0.0.1:{server.server_port}/t.png"
        (logs / f"{day.isoformat()}.md").write_text(
            digest(day).replace("Vote: 1\n", f"![]({url})\n\nVote: 1\n", 1), encoding="utf-8")
        out = tmp_path / "out"
        env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}

        def run(*args):
            return CliRunner().invoke(main, ["build", str(logs), "-o", str(out), "--allow-private-hosts",
                                             "--image-timeout", "2", "-v", *args], env=env)

        first = run()
        assert first.exit_code == 0, first.output
        assert "HTTP 503" in first.stderr
        made = book(out, 10).stat().st_mtime_ns
        again = run()  # still down: asked once more, book left alone
        assert again.exit_code == 0 and state["hits"] == 2
        assert book(out, 10).stat().st_mtime_ns == made
        assert "3 books (0 built, 3 skipped)" in again.stdout
        state["up"] = True
        back = run()  # the thumbnail can be had: the book is rebuilt with it
        assert back.exit_code == 0 and state["hits"] == 3
        assert f"rebuilding {book(out, 10)}: 1 thumbnail left out last time can be had now" in back.stderr
        with zipfile.ZipFile(book(out, 10)) as zf:
            assert any(n.startswith("EPUB/images/") and "cover" not in n for n in zf.namelist())
        last = run()  # nothing left to ask for
        assert state["hits"] == 3 and "(0 built, 3 skipped)" in last.stdout
    finally:
        server.shutdown()
        server.server_close()
