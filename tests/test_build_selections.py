"""`build` with [[selection]] tables: each selection's folder, what a vote change rebuilds,
what a no-change run writes, and what removing a selection removes."""

from __future__ import annotations

import datetime as dt
import os
import json
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from exporter.cli import main
from exporter.gates.xhtml import page_problems

CONFIG = '''
[[selection]]
name = "top"
title = "Top 1 a day"
top = 1
[[selection]]
name = "words"
match = ["ＡLPHA"]
exclude = ["re:\\\\bsurvey\\\\b"]
'''


def day(date: dt.date, votes: list[int], words: list[str]) -> str:
    out = [f"## Daily Papers ({date})", ""]
    for i, (v, w) in enumerate(zip(votes, words)):
        out += [f"### [Paper {date} {i}](https://arxiv.org/abs/{date:%y%m}.{date.day:02d}{i:03d})", "",
                f"Vote: {v}", "", "Authors: A. B", "", f"- {w} for item *{i}*.", ""]
    return "\n".join(out) + "\n"


@pytest.fixture
def site(tmp_path: Path):
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "a.md").write_text(day(dt.date(2024, 3, 4), [5, 9, 1], ["alpha", "beta", "alpha survey"]))
    (logs / "b.md").write_text(day(dt.date(2024, 3, 12), [3, 2], ["beta", "gamma"]))
    config = tmp_path / "digest-export.toml"
    config.write_text(CONFIG, encoding="utf-8")
    return tmp_path, logs, config


def run(config: Path, logs: Path, out: Path, *extra: str):
    result = CliRunner().invoke(main, ["--config", str(config), "build", str(logs), "-o", str(out), "--images",
                                       "none", "-j", "1", "--base-url", "https://example.org/p/", *extra])
    return result


def stamps(out: Path) -> dict[str, int]:
    return {str(p.relative_to(out)): p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}


def test_selection_folders_books_feeds_and_incremental_runs(site):
    root, logs, config = site
    out = root / "out"
    result = run(config, logs, out)
    assert result.exit_code == 0, result.output
    top = sorted(p.name for p in (out / "top").iterdir() if p.is_file())
    book = "daily-papers-top-1-a-day-2024-W{}"
    # the selection's folder is laid out as the top folder is: books, covers, feeds, catalog
    assert {book.format(w) + ext for w in (10, 11) for ext in (".epub", ".cover.jpg", ".cover.thumb.jpg")} <= set(top)
    assert {"catalog.opds", "catalog.json", "feed.atom", "feed.json", "feed.rss", "icon.png"} <= set(top)
    assert sorted(p.name for p in (out / "top").glob("*.epub")) == [book.format(10) + ".epub", book.format(11) + ".epub"]
    # the top catalog finds the selection through a facet, not an entry
    head = (out / "catalog.opds").read_text(encoding="utf-8")
    assert 'href="https://example.org/p/top/catalog.opds"' in head and 'opds:facetGroup="Selections"' in head
    # words: only week 10 has "alpha" without "survey"; week 11 gets no book, said once
    assert sorted(p.name for p in (out / "words").glob("*.epub")) == ["daily-papers-words-2024-W10.epub"]
    assert result.output.count("selection 'words': no book for 1 week") == 1
    with zipfile.ZipFile(out / "top" / "daily-papers-top-1-a-day-2024-W10.epub") as z:
        opf = z.read("EPUB/content.opf").decode()
        chapter = "".join(z.read(n).decode() for n in z.namelist() if n.endswith(".xhtml") and "day" in n)
    assert "Daily Papers · Top 1 a day" in opf and "2403.04001" in chapter and "2403.04000" not in chapter
    # The book's title: series, selection and key, each set off the same way.
    assert "<dc:title>Daily Papers · Top 1 a day · 2024-W10</dc:title>" in opf
    front = (out / "index.html").read_text(encoding="utf-8")
    assert "Daily Papers · Top 1 a day · 2024-W11" in front
    assert page_problems(front) == []  # its selection sections too, as a user's template extends them
    with zipfile.ZipFile(out / "daily-papers-2024-W10.epub") as z:
        whole_id = z.read("EPUB/content.opf").decode().split("<dc:identifier")[1].split("<")[0]
        assert "<dc:title>Daily Papers 2024-W10 (2024-03-04 – 2024-03-10)</dc:title>" in z.read(
            "EPUB/content.opf").decode()
    assert whole_id not in opf
    whole = {e["id"]: e for e in json.loads((out / "feed.json").read_text())["items"]}
    sel = json.loads((out / "top" / "feed.json").read_text())
    assert sel["title"] == "Daily Papers · Top 1 a day" and sel["feed_url"] == "https://example.org/p/top/feed.json"
    assert [e["id"] for e in sel["items"]] == ["https://arxiv.org/abs/2403.12000", "https://arxiv.org/abs/2403.04001"]
    for e in sel["items"]:
        assert {k: e[k] for k in ("url", "date_published")} == {k: whole[e["id"]][k] for k in ("url", "date_published")}

    # a no-change run writes nothing
    before = stamps(out)
    assert run(config, logs, out).exit_code == 0
    assert stamps(out) == before

    # a vote change in week 11 moves another paper to the top: the whole W11 book and top's W11 book
    # change, words' books (no W11 book) and every W10 book do not
    (logs / "b.md").write_text(day(dt.date(2024, 3, 12), [3, 7], ["beta", "gamma"]))
    assert run(config, logs, out).exit_code == 0
    after = stamps(out)
    changed = {n for n in after if after[n] != before.get(n)}
    epubs = {n for n in changed if n.endswith(".epub")}
    assert epubs == {"daily-papers-2024-W11.epub", "top/daily-papers-top-1-a-day-2024-W11.epub"}

    # a vote change in week 10 that moves no paper in or out: only the whole W10 book is rebuilt
    before = after
    (logs / "a.md").write_text(day(dt.date(2024, 3, 4), [5, 9, 2], ["alpha", "beta", "alpha survey"]))
    result = run(config, logs, out, "-v")
    assert result.exit_code == 0, result.output
    assert result.output.count("its week changed, the papers that pass it did not") == 2, result.output
    after = stamps(out)
    assert {n for n in after if n.endswith(".epub") and after[n] != before.get(n)} == {"daily-papers-2024-W10.epub"}
    fresh = root / "fresh"
    assert run(config, logs, fresh).exit_code == 0
    for path in fresh.rglob("*"):
        if path.is_file():
            assert (out / path.relative_to(fresh)).read_bytes() == path.read_bytes(), path

    # a folder of the user's inside a selection folder stays; removing the selection removes only ours
    (out / "words" / "mine.txt").write_text("mine")
    config.write_text(CONFIG.split("[[selection]]\nname = \"words\"")[0], encoding="utf-8")
    result = run(config, logs, out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (out / "words").iterdir()) == ["mine.txt"]
    assert (out / "top" / "feed.atom").is_file()


def test_a_folder_of_the_users_is_not_a_selection_folder(site):
    root, logs, config = site
    out = root / "out"
    (out / "top").mkdir(parents=True)
    (out / "top" / "notes.txt").write_text("mine")
    result = run(config, logs, out)
    assert result.exit_code == 2 and "did not write (notes.txt)" in result.output
    assert [p.name for p in (out / "top").iterdir()] == ["notes.txt"]
    assert not (out / "daily-papers-2024-W10.epub").exists()


@pytest.mark.parametrize("name", ["feed.atom", "catalog.opds", "daily-papers-top-1-a-day-2024-W10.epub",
                                  "daily-papers-top-1-a-day-2024-W10.cover.jpg", "catalog/page-1.opds"])
def test_a_file_of_the_users_at_a_name_the_build_writes_stops_the_run_before_anything_is_written(site, name):
    """A name the selection's build writes, holding a file the program did not write: refused
    before anything is written (the run wrote the whole archive's feeds, then stopped at the
    selection's), as a file of any other name is."""
    root, logs, config = site
    out = root / "out"
    (out / "top" / name).parent.mkdir(parents=True)
    (out / "top" / name).write_text("<feed>my own</feed>")
    result = run(config, logs, out)
    assert result.exit_code == 2, result.output
    assert "did not write" in result.output and name.split("/")[0] in result.output
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == sorted(["top", "top/" + name] + (
        ["top/catalog"] if "/" in name else []))
    assert (out / "top" / name).read_text() == "<feed>my own</feed>"


@pytest.mark.parametrize("tables, key", [('name = "a"\ntitle = "Same"\n[[selection]]\nname = "b"\ntitle = "same"', "title"),
                                         ('name = "a"\ntitle = "b"\n[[selection]]\nname = "b"', "name"),
                                         *((f'name = "a"\ntitle = "Top"\n[[selection]]\nname = "b"\ntitle = "Top{c}"',
                                            "title") for c in ("\\u200b", "\\u2060", "\\ufe0f", "\\u00ad", "\\ufeff")),
                                         # a feed shows a "<" that opens a tag as "‹": one title there
                                         ('name = "a"\ntitle = "A<b"\n[[selection]]\nname = "b"\ntitle = "A\u2039b"', "title"),
                                         ('name = "a"\ntitle = "x</y"\n[[selection]]\nname = "b"\ntitle = "x\u2039/y"', "title")])
def test_two_selections_of_one_title_are_refused(site, tables, key):
    """The title makes a selection's book identifiers and feed id: two selections of one title
    (as the feed id folds it) would publish different books under one identifier."""
    root, logs, config = site
    config.write_text("[[selection]]\n" + tables + "\n", encoding="utf-8")
    result = run(config, logs, root / "out")
    assert result.exit_code == 2, result.output
    assert f"[[selection]] #2: key '{key}': the title" in result.output and "reads as selection 'a'" in result.output
    assert not (root / "out").exists()


def test_at_most_64_selections(site):
    """Each selection is a folder of books, feeds and a catalog: a thousand made 17,000 files."""
    root, logs, config = site
    config.write_text("".join(f'[[selection]]\nname = "s{i}"\ntop = 1\n' for i in range(65)), encoding="utf-8")
    result = run(config, logs, root / "out")
    assert result.exit_code == 2 and "digest-export.toml:193: error: [[selection]] #65: at most 64" in result.output
    assert not (root / "out").exists()


def test_a_deleted_state_rebuilds_the_selection_folders(site, tmp_path):
    """The state is a cache: without it, a selection folder that holds only what the build writes
    (and the send ledger) is built again, to the same bytes."""
    import shutil

    root, logs, config = site
    out = root / "out"
    assert run(config, logs, out).exit_code == 0
    (out / "top" / ".digest-export-sent.json").write_text("{}")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    shutil.rmtree(os.environ["XDG_STATE_HOME"])
    result = run(config, logs, out)
    assert result.exit_code == 0, result.output
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize("table, message", [
    ('name = "top"\ntop = 0', "'top' must be at least 1 (a whole number from 1 to 100000), not 0"),
    ('name = "top"\ntop = nan', "'top' must be a whole number"),
    ('name = "top"\ntop = 2.5', "'top' must be a whole number"),
    ('name = "top"\nmin-votes = -1', "'min-votes' must be at least 0 (a whole number from 0 to 1000000000), not -1"),
    ('name = "top"\ntpo = 3', "unknown key 'tpo' in [[selection]] #1; did you mean 'top'?"),
    ('name = ".."', "'name' \"..\" holds \".\", which is not allowed; a name is ASCII lower-case letters"),
    ('name = "CON"', "'name' \"CON\" holds the capital \"C\"; a name is ASCII lower-case letters (a-z)"),
    ('name = "con"', "'name' \"con\" is reserved"),
    ('name = "feed.atom"', "'name' \"feed.atom\" holds \".\", which is not allowed"),
    ('name = "top"\nmatch = [""]', "'match': an empty term"),
    ('name = "top"\nmatch = ["re:(unclosed"]', "does not compile"),
    ('name = "top"\nmatch = "' + "x" * 1_000_000 + '"', "at most 500"),
    ('name = "top"\n[[selection]]\nname = "top"', "'name': the name \"top\" is used twice"),
    ('title = "no name"', "key 'name' is missing"),
    ('name = "top"\ntitle = "' + "x" * 600 + '"', "'title' is 600 characters; at most 200"),
    ('name = "top"\ntitle = "' + "가" * 200_000 + '"', "'title' is 200,000 characters; at most 200"),
])
def test_bad_selection_tables_are_config_errors(tmp_path, table, message):
    config = tmp_path / "digest-export.toml"
    config.write_text("[[selection]]\n" + table + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(config), "build", "-o", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert str(config) in result.output and message in result.output
    assert not (tmp_path / "out").exists()


def test_cli_filters_on_epub_and_feed(tmp_path, site):
    root, logs, config = site
    result = CliRunner().invoke(main, ["epub", str(logs), "-o", str(tmp_path / "b"), "--images", "none",
                                       "--top", "1", "--match", "beta"])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(tmp_path / "b" / "daily-papers-2024-W10.epub") as z:
        text = "".join(z.read(n).decode() for n in z.namelist() if n.endswith(".xhtml"))
    assert "2403.04001" in text and "2403.04000" not in text
    # week 11: "beta" is not the top paper of its day any more once the filter
    # keeps only "beta" papers first: AND, then top among them
    assert sorted(p.name for p in (tmp_path / "b").glob("*.epub")) == ["daily-papers-2024-W10.epub",
                                                                         "daily-papers-2024-W11.epub"]
    result = CliRunner().invoke(main, ["feed", str(logs), "-o", str(tmp_path / "f"), "--min-votes", "4",
                                       "--format", "json"])
    assert result.exit_code == 0, result.output
    ids = [e["id"] for e in json.loads((tmp_path / "f" / "feed.json").read_text())["items"]]
    assert ids == ["https://arxiv.org/abs/2403.04000", "https://arxiv.org/abs/2403.04001"]
    result = CliRunner().invoke(main, ["--config", str(config), "build", str(logs), "-o", str(tmp_path / "x"),
                                       "--top", "3"])
    assert result.exit_code == 2 and "[[selection]]" in result.output


@pytest.mark.parametrize("where, key", [("top = 2\n", "key 'top'"), ('[build]\nmatch = "x"\n', "[build] key 'match'")])
def test_a_filter_of_the_config_beside_selections_is_named_where_it_is(site, where, key):
    """A filter the config gives with [[selection]] tables: the file, line and key, not the
    options the user did not type."""
    root, logs, config = site
    config.write_text(where + CONFIG, encoding="utf-8")
    result = run(config, logs, root / "out")
    assert result.exit_code == 2, result.output
    assert f"digest-export.toml:{where.count(chr(10))}: error: {key}: filters a build without [[selection]]" in result.output
    assert not (root / "out").exists()


@pytest.mark.parametrize("command", [["epub", "-o", "{tmp}/b"], ["epub", "-o", "{tmp}/one.epub", "--by", "all"],
                                     ["build", "-o", "{tmp}/x"]])
def test_a_filter_no_paper_passes_is_said_as_such_not_as_missing_dates(tmp_path, site, command):
    """``--match zzz`` over days that are there: the run said "no digest in the chosen dates",
    which sent a cron user looking for a wrong date; it says that no paper passes the filter,
    on the run that finds it and on the next, which knows it from its state."""
    root, logs, config = site
    args = [command[0], str(logs), *(a.format(tmp=tmp_path) for a in command[1:]), "--images", "none",
            "--match", "zzz"]
    for _ in range(2):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        assert "no paper of the chosen days passes --min-votes/--top/--match/--exclude" in result.output, result.output
        assert "chosen dates" not in result.output


def test_send_selection_sends_that_selections_books(site):
    root, logs, config = site
    out = root / "out"
    assert run(config, logs, out).exit_code == 0
    config.write_text(CONFIG + '\n[send]\nselection = "top"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(config), "send", str(out), "--to", "me@example.org",
                                       "--dry-run", "--today", "2030-01-01"])
    assert result.exit_code == 0, result.output
    sent = [line for line in result.output.splitlines() if line.startswith("would send")]
    assert len(sent) == 2 and all("/top/daily-papers-top-1-a-day-2024-W1" in line for line in sent), sent
    result = CliRunner().invoke(main, ["send", str(out), "--to", "me@example.org", "--dry-run",
                                       "--selection", "nope"])
    assert result.exit_code == 2 and "not a folder of this build" in result.output
    result = CliRunner().invoke(main, ["send", str(out), "--to", "me@example.org", "--dry-run",
                                       "--selection", ".."])
    assert result.exit_code == 2 and "'name'" in result.output
    # Without the config, the last build's state names the selection.
    result = CliRunner().invoke(main, ["send", str(out), "--to", "me@example.org", "--dry-run",
                                       "--today", "2030-01-01", "--selection", "top"])
    assert result.exit_code == 0 and result.output.count("would send") == 2, result.output


def test_send_selection_is_only_a_folder_build_made(site):
    """A folder of the user's in DIR holding books is no selection: nothing of it is sent, and
    no ledger or lock is written into it (with the config or without)."""
    import shutil

    root, logs, config = site
    out = root / "out"
    assert run(config, logs, out).exit_code == 0
    mine = out / "mine"
    mine.mkdir()
    book = next((out / "top").glob("*.epub"))
    shutil.copy(book, mine / book.name.replace("-top-", "-mine-"))
    before = sorted(p.name for p in mine.iterdir())
    for config_args in ([], ["--config", str(config)]):
        for dry in (["--dry-run"], ["--smtp-host", "127.0.0.1", "--smtp-port", "9", "--from-address", "a@example.org"]):
            result = CliRunner().invoke(main, [*config_args, "send", str(out), "--to", "me@example.org", *dry,
                                               "--today", "2030-01-01", "--selection", "mine"])
            assert result.exit_code == 2, result.output
            assert "not a folder the last build" in result.output and "would send" not in result.output
            assert sorted(p.name for p in mine.iterdir()) == before


def test_send_selection_sends_only_the_books_the_build_wrote_there(site):
    """A book of the user's put beside the selection's books, or a link there to one outside DIR,
    is not the selection's: not sent."""
    import shutil

    root, logs, config = site
    out = root / "out"
    assert run(config, logs, out).exit_code == 0
    # Whole books, each under its own name (a book named for another period is not sent anyway).
    mine = root / "elsewhere" / "daily-papers-2024-W11.epub"
    mine.parent.mkdir()
    shutil.copy(out / "daily-papers-2024-W11.epub", mine)
    shutil.copy(out / "daily-papers-2024-W10.epub", out / "top" / "daily-papers-2024-W10.epub")
    (out / "top" / "daily-papers-2024-W11.epub").symlink_to(mine)
    result = CliRunner().invoke(main, ["send", str(out), "--to", "me@example.org", "--dry-run",
                                       "--today", "2030-01-01", "--selection", "top"])
    assert result.exit_code == 0, result.output
    sent = [line for line in result.output.splitlines() if line.startswith("would send")]
    assert len(sent) == 2 and all("/top/daily-papers-top-1-a-day-2024-W1" in line for line in sent), sent


@pytest.mark.parametrize("case", ["replaced", "never built", "another folder", "copied from another build"])
def test_send_selection_needs_the_folder_the_build_wrote(site, case):
    """A selection's name is not enough: DIR never built (the config names it), another DIR, or
    the selection's folder replaced by one of the user's since the build: nothing is sent, and
    no lock or ledger is written into the user's folder."""
    import shutil

    root, logs, config = site
    out = root / "out"
    if case != "never built":
        assert run(config, logs, out).exit_code == 0
    if case == "copied from another build":
        # Same name and title, another filter: its books have other bytes under the same names.
        other = root / "other-build"
        config.write_text(CONFIG.replace("top = 1", "top = 2"), encoding="utf-8")
        assert run(config, logs, other).exit_code == 0
        config.write_text(CONFIG, encoding="utf-8")
        shutil.rmtree(out / "top")
        shutil.copytree(other / "top", out / "top")
        before = sorted(p.name for p in (out / "top").iterdir())
        result = CliRunner().invoke(main, ["--config", str(config), "send", str(out), "--to", "me@example.org",
                                           "--smtp-host", "127.0.0.1", "--smtp-port", "9", "--from-address",
                                           "a@example.org", "--today", "2030-01-01", "--selection", "top"])
        assert result.exit_code == 2 and "not a folder the last build" in result.output, result.output
        assert sorted(p.name for p in (out / "top").iterdir()) == before
        return
    book = (out / "top" / "mine.epub") if case != "another folder" else (root / "other" / "top" / "mine.epub")
    if case == "replaced":
        shutil.rmtree(out / "top")
    book.parent.mkdir(parents=True)
    if case == "another folder":
        shutil.copy(next((out / "top").glob("*.epub")) if out.exists() else config, book)
    else:
        shutil.copy(next(out.glob("*.epub")) if out.exists() and any(out.glob("*.epub")) else config, book)
    target = book.parent.parent
    result = CliRunner().invoke(main, ["--config", str(config), "send", str(target), "--to", "me@example.org",
                                       "--smtp-host", "127.0.0.1", "--smtp-port", "9", "--from-address",
                                       "a@example.org", "--today", "2030-01-01", "--selection", "top"])
    assert result.exit_code == 2, result.output
    assert "not a folder the last build" in result.output
    assert sorted(p.name for p in book.parent.iterdir()) == ["mine.epub"]


def test_build_send_with_a_selection_the_build_does_not_make_writes_nothing(site):
    root, logs, config = site
    out = root / "out"
    config.write_text(CONFIG + '\n[send]\nselection = "nope"\nto = ["a@example.org"]\ndry-run = true\n',
                      encoding="utf-8")
    result = run(config, logs, out, "--send")
    assert result.exit_code == 2, result.output
    assert "[send] key 'selection'" in result.output and "no [[selection]] of that name" in result.output
    assert not out.exists()


def test_selection_outputs_are_valid(site):
    """EPUBCheck 0/0 on every selection book (one Java start); feedparser reads every selection feed,
    the empty one too, without complaint."""
    import shutil

    import feedparser
    from lxml import etree

    from epub_fixtures import epubcheck_problems

    root, logs, config = site
    config.write_text(CONFIG + '[[selection]]\nname = "nothing"\nmatch = ["zzz-no-such-word"]\n', encoding="utf-8")
    out = root / "out"
    result = run(config, logs, out)
    assert result.exit_code == 0, result.output
    assert "selection 'nothing': no paper of the feed window passes it" in result.output
    for name in ("top", "words", "nothing"):
        want = {"top": 2, "words": 1, "nothing": 0}[name]
        for feed in ("feed.atom", "feed.rss"):
            parsed = feedparser.parse((out / name / feed).read_bytes())
            assert not parsed.bozo, (name, feed, parsed.get("bozo_exception"))
            assert len(parsed.entries) == want, (name, feed)
        items = json.loads((out / name / "feed.json").read_text())["items"]
        assert len(items) == want
        catalog = etree.fromstring((out / name / "catalog.opds").read_bytes())
        assert catalog.tag == "{http://www.w3.org/2005/Atom}feed"
    books = sorted(out.glob("*/*.epub"))
    assert len(books) == 3
    if shutil.which("java") is None and os.environ.get("CI") != "true":
        pytest.skip("java is not installed (bash .ci/install-delivery.sh)")
    (root / "reports").mkdir()
    assert epubcheck_problems(books, root / "reports") == {}


def test_a_failing_selection_writes_nothing(site, monkeypatch):
    """Every selection's papers are chosen before anything is written: a regular expression of the
    last selection that runs out of time on a new day's crafted title stops the run with the output
    folder as it was (the whole archive's books and feeds, which the new day changes, included)."""
    import functools

    import exporter.selections as selections

    root, logs, config = site
    out = root / "out"
    assert run(config, logs, out).exit_code == 0
    state = Path(os.environ["XDG_STATE_HOME"])
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for folder in (out, state)
              for p in folder.rglob("*") if p.is_file()}
    monkeypatch.setattr(selections, "RegexBudget", functools.partial(selections.RegexBudget, seconds=0.2))
    config.write_text(CONFIG + '[[selection]]\nname = "slow"\nmatch = ["re:(x+x+)+y"]\n', encoding="utf-8")
    (logs / "c.md").write_text(day(dt.date(2024, 3, 19), [4], ["x" * 3000]))
    result = run(config, logs, out)
    assert result.exit_code == 2 and "[[selection]] #3 'slow': " in result.output and "took more than" in result.output
    after = {p: (p.read_bytes(), p.stat().st_mtime_ns) for folder in (out, state)
             for p in folder.rglob("*") if p.is_file()}
    assert after == before
    assert not (out / "slow").exists()


def test_the_books_of_a_week_share_their_thumbnails_and_only_that_week_is_kept(tmp_path, monkeypatch):
    """A selection's book shows papers of the whole week's book: their pictures are taken from what
    that book loaded (not read and checked in the cache again), and what is kept is the week's
    alone: the next week starts empty (a year of pictures is not held in memory)."""
    import io

    from PIL import Image

    import exporter.images as images

    logs = tmp_path / "logs"
    logs.mkdir()
    for n, date in enumerate((dt.date(2024, 3, 4), dt.date(2024, 3, 12))):
        text = day(date, [5, 9, 1], ["alpha", "beta", "alpha survey"])
        for i in range(3):
            buf = io.BytesIO()
            Image.new("RGB", (40, 30), (40 * n + 10 * i, 90, 200)).save(buf, "PNG")
            (logs / f"p{n}{i}.png").write_bytes(buf.getvalue())
            text = text.replace(f"Vote: {[5, 9, 1][i]}\n", f"![](p{n}{i}.png)\n\nVote: {[5, 9, 1][i]}\n", 1)
        (logs / f"{date}.md").write_text(text, encoding="utf-8")
    config = tmp_path / "digest-export.toml"
    config.write_text(CONFIG, encoding="utf-8")
    calls = []
    real = images.load_images

    def spy(papers, options, progress=None, known=None):
        papers = list(papers)
        calls.append(({p.source.path for p in papers}, {key for _, key in (known or {})},
                      {images.image_key(p) for p in papers}))
        return real(papers, options, progress, known)

    monkeypatch.setattr(images, "load_images", spy)
    result = CliRunner().invoke(main, ["--config", str(config), "build", str(logs), "-o", str(tmp_path / "out"),
                                       "-j", "1"], env={"XDG_CACHE_HOME": str(tmp_path / "cache"),
                                                        "XDG_STATE_HOME": str(tmp_path / "state")})
    assert result.exit_code == 0, result.output
    # Per week: the whole week's book first (nothing known yet), then each selection's, whose
    # pictures are all known already.
    weeks = [calls[:3], calls[3:]]
    assert len(calls) == 6, calls
    for week in weeks:
        (files, known, keys), *selections = week
        assert known == set() and len(files) == 1
        for sel_files, sel_known, sel_keys in selections:
            assert sel_files == files and sel_keys <= sel_known <= keys
    top = zipfile.ZipFile(next((tmp_path / "out" / "top").glob("*W10.epub")))
    assert [n for n in top.namelist() if n.startswith("EPUB/images/")], "the selection's book has its thumbnail"
