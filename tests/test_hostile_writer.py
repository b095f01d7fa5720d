"""The one writer, attacked (generated, through the whole CLI): sequences of builds, deleted output
folders, files the user writes or edits where an output goes, and option changes; foreign EPUBs
with names of every length around the 255-byte limit; URLs on private hosts that must not be
published; and the URL and address messages that must name what is wrong."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import feedparser
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from hostile_three import SETTINGS, day, paper, run_cli

BOOK = "daily-papers-2024-W10"


def _inputs(tmp: Path) -> Path:
    src = tmp / "in"
    src.mkdir(exist_ok=True)
    (src / "a.md").write_text(day("2024-03-04", paper(1), paper(2)) + day("2024-03-05", paper(3)), "utf-8")
    return src


# -- files the user put where an output goes ----------------------------------------------------

#: Names a build writes (with --base-url and --archive); the user may put a file at any of them.
OUTPUT_NAMES = ("feed.atom", "feed.json", "feed.rss", "index.html", "catalog.opds", "catalog.json",
                "catalog-current.opds", "icon.png", f"{BOOK}.epub", f"{BOOK}.cover.jpg",
                f"{BOOK}.cover.thumb.jpg", "catalog/crawlable.opds")
#: What the user writes there: nothing of it carries the program's mark.
USER_BYTES = st.sampled_from([b"USER\n", b"notes about this week\n", b"\x89PNG\r\n\x1a\nnot ours",
                              b"\xff\xd8\xff\xe0 my own photo", b"PK\x03\x04 my own zip", b"<feed>mine</feed>\n"])
OPTION_SETS = st.sampled_from([(), ("--archive",), ("--format", "atom"), ("--format", "atom", "--format", "json"),
                               ("--archive", "--format", "atom", "--format", "rss")])
STEPS = st.one_of(
    st.tuples(st.just("build"), OPTION_SETS),
    st.tuples(st.just("delete-output-folder")),
    st.tuples(st.just("user-writes"), st.sampled_from(OUTPUT_NAMES), USER_BYTES),
    st.tuples(st.just("user-deletes"), st.sampled_from(OUTPUT_NAMES)),
    st.tuples(st.just("touch"), st.sampled_from(OUTPUT_NAMES)),
)


def _build(tmp: Path, out: Path, options: tuple[str, ...]):
    return run_cli(["build", str(_inputs(tmp)), "-o", str(out), "--images", "none", "--state",
                    str(tmp / "state.json"), "--base-url", "https://example.org/p/", *options], tmp, seconds=120)


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@settings(max_examples=12, **SETTINGS)
@given(steps=st.lists(STEPS, min_size=1, max_size=6), final=OPTION_SETS)
@example(steps=[("build", ()), ("delete-output-folder",), ("user-writes", "feed.atom", b"USER\n"),
                ("user-writes", "index.html", b"USER\n"), ("build", ())], final=())
@example(steps=[("build", ()), ("user-writes", f"{BOOK}.epub", b"notes\n"), ("build", ("--archive",))], final=())
@example(steps=[("build", ("--archive", "--format", "atom", "--format", "rss")), ("user-writes", "feed.rss", b"USER\n"),
                ("build", ("--format", "json"))], final=("--format", "json"))
def test_a_file_the_user_put_or_edited_is_never_replaced_nor_removed(steps, final):
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        out = tmp / "out"
        out.mkdir()
        mine: dict[str, bytes] = {}
        for step in steps:
            if step[0] == "build":
                result = _build(tmp, out, step[1])
                if result.exit_code != 0:
                    assert result.exit_code == 1, result.output
                    assert mine, f"refused with no file of the user's there: {result.output}"
                    assert any(str(out / n) in result.output for n in mine), result.output
                    assert "move it away" in result.output, result.output
            elif step[0] == "delete-output-folder":
                shutil.rmtree(out)
                out.mkdir()
                mine.clear()
            elif step[0] == "user-writes":
                (out / step[1]).parent.mkdir(parents=True, exist_ok=True)
                (out / step[1]).write_bytes(step[2])
                mine[step[1]] = step[2]
            elif step[0] == "user-deletes":
                (out / step[1]).unlink(missing_ok=True)
                mine.pop(step[1], None)
            elif step[0] == "touch" and (out / step[1]).is_file():
                os.utime(out / step[1], ns=(10**18, 10**18))
            for file, data in mine.items():  # byte for byte, after every step
                assert (out / file).read_bytes() == data, (file, steps)
        # Moved away, the user's files leave the folder to the program: the next build is exact.
        for file in mine:
            (out / file).unlink()
        assert _build(tmp, out, final).exit_code == 0
        fresh = tmp / "fresh"
        fresh_tmp = tmp / "f"
        fresh_tmp.mkdir()
        assert _build(fresh_tmp, fresh, final).exit_code == 0
        assert _tree(out) == _tree(fresh)


def test_a_book_the_user_overwrote_is_refused_naming_it(tmp_path):
    out = tmp_path / "out"
    assert _build(tmp_path, out, ()).exit_code == 0
    (out / f"{BOOK}.epub").write_bytes(b"notes\n")
    result = _build(tmp_path, out, ())
    assert result.exit_code == 1
    assert (f"{out / (BOOK + '.epub')} was changed since digest-export wrote it (or is another file of that "
            "name): left as it is (move it away to have it written again") in result.output, result.output
    assert (out / f"{BOOK}.epub").read_bytes() == b"notes\n"


@pytest.mark.parametrize("kept", [f"{BOOK}.epub", f"{BOOK}.cover.jpg", "feed.atom", "feed.json", "catalog.opds",
                                  "index.html"])
def test_state_names_a_file_the_program_wrote_that_is_not_a_state(tmp_path, kept):
    """``--state`` at a book, cover, feed or page of the program's kept elsewhere (a slip: -o and
    --state swapped): each carries the mark, but none is a state; refused before anything is
    written, and kept byte for byte."""
    out = tmp_path / "out"
    assert _build(tmp_path, out, ()).exit_code == 0
    keep = tmp_path / "keep"
    keep.mkdir()
    shutil.copy(out / kept, keep / kept)
    data = (keep / kept).read_bytes()
    other = tmp_path / "other"
    result = run_cli(["build", str(_inputs(tmp_path)), "-o", str(other), "--images", "none", "-q",
                      "--state", str(keep / kept)], tmp_path, {"XDG_STATE_HOME": str(tmp_path / "state")})
    assert result.exit_code == 1, result.output
    assert f"{keep / kept} is not a build state digest-export wrote: left as it is" in result.output
    assert (keep / kept).read_bytes() == data
    assert not other.exists() or not any(other.iterdir())  # refused before anything was written
    # A state a build wrote there, or an empty file, is the state's place.
    (keep / "empty.json").write_bytes(b"")
    for state in ("empty.json", "empty.json"):
        again = run_cli(["build", str(_inputs(tmp_path)), "-o", str(other), "--images", "none", "-q",
                         "--state", str(keep / state)], tmp_path)
        assert again.exit_code == 0, again.output


@pytest.mark.parametrize("other", ["ledger", "record", "mark alone"])
def test_state_names_another_document_of_the_programs(tmp_path, other):
    """The send ledger, a record of writes, a JSON file holding the mark alone: documents of the
    program's, or marked so, but no build state; refused as --state, kept byte for byte."""
    keep = tmp_path / "keep"
    keep.mkdir()
    doc = {"ledger": '{"program": "digest-export", "format": 1, "sent": {}}',
           "record": '{"program": "digest-export", "format": 1, "files": {}}',
           "mark alone": '{"program": "digest-export"}'}[other]
    (keep / "x.json").write_text(doc, encoding="utf-8")
    result = run_cli(["build", str(_inputs(tmp_path)), "-o", str(tmp_path / "other"), "--images", "none", "-q",
                      "--state", str(keep / "x.json")], tmp_path, {"XDG_STATE_HOME": str(tmp_path / "state")})
    assert result.exit_code == 1, result.output
    assert "is not a build state digest-export wrote" in result.output
    assert (keep / "x.json").read_text(encoding="utf-8") == doc


def test_state_in_the_programs_own_state_folder_is_refused(tmp_path):
    """The program keeps the default states, the folders' locks, records and logs in its state
    folder: a --state there (the lock file of another folder, say) is a usage error."""
    env = {"XDG_STATE_HOME": str(tmp_path / "state")}
    assert run_cli(["build", str(_inputs(tmp_path)), "-o", str(tmp_path / "a"), "--images", "none", "-q"], tmp_path,
                   env).exit_code == 0
    lock = next((tmp_path / "state" / "digest-export").glob("*.lock"))
    result = run_cli(["build", str(_inputs(tmp_path)), "-o", str(tmp_path / "b"), "--images", "none", "-q",
                      "--state", str(lock)], tmp_path, env)
    assert result.exit_code == 2, result.output
    assert "is inside the program's own state folder" in result.output
    assert lock.read_bytes() == b"" and not (tmp_path / "b").exists()


@pytest.mark.parametrize("below", ["runs", "pub"])
def test_an_output_folder_inside_the_programs_state_folder_is_refused(tmp_path, below):
    """``-o`` a folder of the program's state folder (its runs/, or a new one there): the build
    would publish the run records, and mix its files with the states and locks; exit 2."""
    state = tmp_path / "state"
    env = {"XDG_STATE_HOME": str(state)}
    assert run_cli(["build", str(_inputs(tmp_path)), "-o", str(tmp_path / "a"), "--images", "none", "-q"], tmp_path,
                   env).exit_code == 0
    out = state / "digest-export" / below
    before = sorted(p.name for p in out.iterdir()) if out.exists() else None
    result = run_cli(["build", str(_inputs(tmp_path)), "-o", str(out), "--images", "none", "-q"], tmp_path, env)
    assert result.exit_code == 2, result.output
    assert "is inside the program's state folder" in result.output
    assert (sorted(p.name for p in out.iterdir()) if out.exists() else None) == before


@pytest.mark.parametrize("command", ["build", "epub", "feed"])
@pytest.mark.parametrize("where", ["home", "itself", "link"])
def test_the_state_folder_inside_the_output_folder_is_refused(tmp_path, command, where):
    """A web server's user whose home is the site (the default state folder below DIR), or DIR the
    state folder itself, or reached through a link: a build would publish the state, lock and run
    records, a usage error, nothing written; ``epub`` and ``feed`` publish nothing of their own
    (``epub -o .`` at home) and write."""
    site = tmp_path / "www"
    site.mkdir()
    env = {"HOME": str(site), "XDG_STATE_HOME": None} if where == "home" else {"XDG_STATE_HOME": str(site)}
    out = site
    if where == "link":
        (tmp_path / "door").symlink_to(site, target_is_directory=True)
        out = tmp_path / "door"
    args = [command, str(_inputs(tmp_path)), "-o", str(out), "-q"] + (["--images", "none"] if command != "feed" else [])
    result = run_cli(args, tmp_path, env)
    if command != "build":
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code == 2, result.output
    assert "is inside the output folder" in result.output and "would be published" in result.output
    assert not any(site.iterdir())


@pytest.mark.parametrize("name", ["index.html", "catalog.opds", "catalog.json", "feed.atom", "feed.rss", "feed.json",
                                  "catalog-current.opds", "catalog-current.json", "catalog/crawlable.opds",
                                  "latest.epub", "catalog/year-2024.opds", "catalog/year-2024.json",
                                  "archive/2024-W10.atom", "icon.png"])
def test_a_users_page_in_the_folder_stops_the_build_before_anything_is_written(tmp_path, name):
    """A file of the user's at a name a build writes whatever its books (a feed, the front page,
    a catalog page): refused (exit 1) before any book or cover is written, not after them (new
    books published while the pages that list them are not)."""
    out = tmp_path / "out"
    (out / name).parent.mkdir(parents=True)
    (out / name).write_bytes(b"mine\n")
    src = _inputs(tmp_path)
    for week in range(1, 4):  # books built, in workers, while the feeds are written
        (src / f"w{week}.md").write_text(day(f"2024-03-{4 + 7 * week:02d}", paper(10 + week)), "utf-8")
    result = run_cli(["build", str(src), "-o", str(out), "--images", "none", "-q", "--finished-only",
                      "--today", "2024-05-01", "--archive", "--base-url", "https://example.org/p/"], tmp_path,
                     {"XDG_STATE_HOME": str(tmp_path / "state")})
    assert result.exit_code == 1, result.output
    assert f"{out / name} was not written by digest-export: left as it is" in result.output
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [name]
    assert (out / name).read_bytes() == b"mine\n"


def test_a_stale_book_that_is_a_link_now_is_not_said_removed(tmp_path):
    """A stale book the user replaced by a link to a copy is left (a link is never the program's):
    its covers go, and ``-v`` says that, not that the book was removed."""
    src = _inputs(tmp_path)
    (src / "b.md").write_text(day("2024-03-11", paper(4)), "utf-8")
    out, env = tmp_path / "out", {"XDG_STATE_HOME": str(tmp_path / "state")}
    assert run_cli(["build", str(src), "-o", str(out), "--images", "none", "-q"], tmp_path, env).exit_code == 0
    book = out / f"{BOOK}.epub"
    shutil.copy(book, tmp_path / "copy.epub")
    book.unlink()
    book.symlink_to(tmp_path / "copy.epub")
    result = run_cli(["build", str(src), "-o", str(out), "--images", "none", "-v", "--from", "2024-03-11"],
                     tmp_path, env)
    assert result.exit_code == 0, result.output
    assert book.is_symlink() and not (out / f"{BOOK}.cover.jpg").exists()
    assert f"removed {book}:" not in result.output
    assert f"removed the covers of {book}, no longer built; the book itself is not as digest-export wrote it" \
        in result.output


def test_every_file_a_build_writes_is_recorded_with_its_stamp(tmp_path):
    """What the state records is exactly what is in the folder, each with its stamp (size, both
    times, inode): the writer's rule needs them all."""
    from exporter import __version__
    from exporter.output import Stamp, carries_mark, content_digest
    from exporter.state import load_state

    out = tmp_path / "out"
    config = tmp_path / "c.toml"
    config.write_text('[[selection]]\nname = "top"\ntop = 1\n', "utf-8")
    src = _inputs(tmp_path)
    (src / "b.md").write_text(day("2024-02-20", paper(7)) + day("2024-02-27", paper(8)), "utf-8")  # archives
    args = ["--config", str(config), "build", str(src), "-o", str(out), "--images", "none", "--days", "1",
            "--state", str(tmp_path / "state.json"), "--base-url", "https://example.org/p/", "--archive",
            "--format", "atom", "--format", "rss", "--format", "json", "--format", "opds",
            "--finished-only", "--today", "2024-12-01", "--device", "generic", "--device", "kobo"]
    for _ in range(2):  # a first run, and a run with nothing to do
        assert run_cli(args, tmp_path, seconds=120).exit_code == 0
        for folder, state in ((out, tmp_path / "state.json"), (out / "top", tmp_path / "state.json.top")):
            recorded, why = load_state(state, __version__, folder.resolve().parent)
            assert why is None, why
            stamps = recorded.written_files()
            present = {p.relative_to(folder).as_posix(): p for p in folder.rglob("*") if p.is_file()
                       and not (folder == out and p.relative_to(out).parts[0] == "top")}
            assert set(stamps) == set(present)
            assert any(f.startswith("archive/") for f in present) and any(f.startswith("catalog/") for f in present)
            for file, path in present.items():
                assert stamps[file].stat == Stamp.at(path).stat, file
                # With the digest of its bytes: an edit that keeps the mark is told from a copy.
                assert stamps[file].digest == content_digest(path.read_bytes()), file
                assert stamps[file].matches(path.stat()), file
                assert carries_mark(path), file


# -- foreign books with long names ----------------------------------------------------------------

#: A character of 1, 2, 3 or 4 UTF-8 bytes: names long in bytes, not in characters.
WIDE = st.sampled_from(["b", "é", "가", "😀"])


@settings(max_examples=10, **SETTINGS)
@given(names=st.lists(st.tuples(WIDE, st.integers(200, 255)), min_size=1, max_size=4))
@example(names=[("b", 240), ("b", 245), ("b", 250), ("b", 255)])
def test_a_book_whose_cover_name_would_be_too_long_is_listed_without_it(names):
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        out = tmp / "out"
        out.mkdir()
        book = _one_book(tmp)
        files = []
        for i, (char, length) in enumerate(names):
            stem = f"{i}-"
            stem += char * ((length - 5 - len(stem.encode())) // len(char.encode()))
            target = out / f"{stem}.epub"
            shutil.copy(book, target)
            files.append(target)
        result = run_cli(["feed", str(_inputs(tmp)), "-o", str(out), "--format", "opds"], tmp)
        assert result.exit_code == 0, result.output
        parsed = feedparser.parse((out / "catalog.opds").read_bytes())
        assert not parsed.bozo, parsed.bozo_exception
        crawl = (out / "catalog" / "crawlable.opds").read_text("utf-8")
        for path in files:
            thumb = path.stem + ".cover.thumb.jpg"
            if len(os.fsencode(thumb)) <= 255:
                assert (out / thumb).is_file() and (out / (path.stem + ".cover.jpg")).is_file(), path.name
            else:
                assert f"{path}: warning: the name is too long for a cover file" in result.output, result.output
                assert not list(out.glob(path.stem[:40] + "*.cover*"))
            assert crawl.count(_href(path.name)) >= 1, path.name


def _href(name: str) -> str:
    from exporter.gates.urls import path_segment

    return path_segment(name)


def _one_book(tmp: Path) -> Path:
    made = tmp / "made"
    assert run_cli(["epub", str(_inputs(tmp)), "-o", str(made), "--images", "none"], tmp).exit_code == 0
    return next(made.glob("*.epub"))


def test_a_book_named_with_255_bytes_is_written_and_one_longer_is_refused(tmp_path):
    src = _inputs(tmp_path)
    ok = tmp_path / "out" / ("c" * 250 + ".epub")
    result = run_cli(["epub", str(src), "--by", "all", "--images", "none", "-o", str(ok)], tmp_path)
    assert result.exit_code == 0, result.output
    assert ok.is_file() and not [p for p in ok.parent.iterdir() if p.name.endswith(".part")]
    long = tmp_path / "out" / ("c" * 251 + ".epub")
    result = run_cli(["epub", str(src), "--by", "all", "--images", "none", "-o", str(long)], tmp_path)
    # Refused where the option is read (a usage error naming it), before any work.
    assert result.exit_code == 2, result.output
    assert "-o" in result.output and "allow 255" in result.output, result.output


# -- URLs on hosts off the public internet are not published ---------------------------------------

PRIVATE_HOSTS = st.sampled_from(["127.0.0.1", "127.1.2.3", "10.0.0.1", "192.168.1.1", "172.16.5.4", "169.254.169.254",
                                 "100.64.0.1", "0.0.0.0", "224.0.0.1", "localhost", "printer.local",
                                 "db.internal", "router.home.arpa", "a.localhost", "x.invalid", "nas", "vm",
                                 "LOCALHOST", "foo.localhost", "nas.LOCAL", "localhost.localdomain", "ip6-localhost",
                                 "a.test", "a.example", "nas.lan", "router.home", "srv.corp", "x.onion", "y.alt",
                                 "1.0.0.127.in-addr.arpa", "co.uk", "com"])


def _with_url(url: str, where: str) -> str:
    """A day of two papers, the second linking http://example.org/ok, with *url* written *where*:
    an image (``![](url)``), a ``[Watch Video](url)`` line, the first paper's link, a link or an
    autolink in its summary."""
    text = day("2024-03-04", paper(1), paper(2, bullets=("see [it](http://example.org/ok)",)))
    if where == "image":
        return text.replace("Vote: 3", f"![]({url})\n\nVote: 3", 1)
    if where == "watch":
        return text.replace("Vote: 3", f"[Watch Video]({url})\n\nVote: 3", 1)
    if where == "paper":
        return text.replace("https://arxiv.org/abs/2403.00001", url)
    if where == "summary":
        return text.replace("- a summary", f"- a summary, see [there]({url})", 1)
    assert where == "autolink", where  # no backslash escapes in an autolink (CommonMark 6.5): one is one
    return text.replace("- a summary", f"- a summary, see <{url.replace(chr(92) * 2, chr(92))}>", 1)


def _build_pages(tmp: Path, text: str, *options: str) -> tuple[Any, list[str]]:
    """``build`` of *text* (tmp/d.md) into tmp/out: the result and every page written (the books'
    XHTML documents, the feeds, the catalog, the front page)."""
    (tmp / "d.md").write_text(text, "utf-8")
    out = tmp / "out"
    result = run_cli(["build", str(tmp / "d.md"), "-o", str(out), "--images", "none", "--state",
                      str(tmp / "s.json"), *options], tmp)
    assert result.exit_code == 0, result.output
    pages = []
    for path in sorted(out.rglob("*")):
        if path.suffix == ".epub":
            with zipfile.ZipFile(path) as z:
                pages += [z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xhtml")]
        elif path.suffix in (".atom", ".rss", ".json", ".html", ".opds"):
            pages.append(path.read_text("utf-8"))
    return result, pages


def _urls(pages: list[str]) -> list[str]:
    """Every URL the pages link to or load (attributes, JSON Feed fields, RSS links)."""
    return [u for page in pages for u in re.findall(r'(?:href|src|url)="([^"]*)"|"(?:url|image|external_url)":'
                                                    r'"([^"]*)"|<link>([^<]*)</link>', page) for u in u if u]


@settings(max_examples=16, **SETTINGS)
@given(host=PRIVATE_HOSTS, where=st.sampled_from(["thumbnail", "video", "paper", "summary"]),
       port=st.sampled_from(["", ":8080"]))
@example(host="127.0.0.1", where="thumbnail", port=":8080")
@example(host="nas", where="paper", port="")
@example(host="nas", where="summary", port="")
@example(host="vm", where="thumbnail", port=":8765")
@example(host="LOCALHOST", where="summary", port="")
@example(host="169.254.169.254", where="paper", port="")
def test_a_url_on_a_private_host_is_never_written_to_an_output(host, where, port):
    url = f"http://{host}{port}/t" + (".mp4" if where == "video" else ".png")
    text = _with_url(url, "image" if where in ("thumbnail", "video") else where)
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        out = tmp / "out"
        result, written = _build_pages(tmp, text, "--format", "atom", "--format", "rss", "--format", "json")
        urls = _urls(written)
        assert "http://example.org/ok" in urls  # public links are written
        assert not [u for u in urls if f"/{host.lower()}" in u.lower()], urls
        # One warning, where the link is written, naming it (the same words for every kind of link).
        line = text.split("\n").index(next(t for t in text.split("\n") if url in t)) + 1
        warned = [w for w in result.output.splitlines() if "not on the public internet; left out" in w]
        assert len(warned) == 1 and warned[0].startswith(f"{tmp / 'd.md'}:{line}: warning: "), result.output
        assert url.split("/")[2] in warned[0] or url.split("/")[2].lower() in warned[0], warned
        feed = feedparser.parse((out / "feed.atom").read_bytes())
        assert not feed.bozo
        for entry in feed.entries:
            assert host not in str(entry.get("media_thumbnail", "")) + str(entry.get("enclosures", ""))


#: URL text that browsers (WHATWG) and RFC 3986 clients read with different hosts, or whose host
#: UTS #46 maps from compatibility characters that IDNA 2008 refuses: (as written in Markdown, the
#: host it must never publish).
TWO_READINGS = st.sampled_from([("https://example.com\\\\@evil.com/b", "evil.com"),
                                ("https://example.com\\\\evil.com/b", "example.com/evil.com"),
                                ("https://ⅷ.com/x", "viii.com"), ("https://①.com/x", "1.com"),
                                ("https://ﬀ.com/x", "ff.com"), ("https://example.c㎝/x", "example.ccm"),
                                ("https://ｅｘａｍｐｌｅ.com/x", "example.com/x")])


@settings(max_examples=12, **SETTINGS)
@given(spelling=TWO_READINGS, where=st.sampled_from(["video", "paper", "summary", "autolink"]))
@example(spelling=("https://example.com\\\\@evil.com/b", "evil.com"), where="video")
@example(spelling=("https://ⅷ.com/x", "viii.com"), where="paper")
@example(spelling=("https://example.com\\\\@evil.com/b", "evil.com"), where="summary")
def test_a_url_parsers_read_differently_is_refused_with_a_warning(spelling, where):
    written, published = spelling
    text = _with_url(written, "watch" if where == "video" else where)
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        result, pages = _build_pages(tmp, text, "--base-url", "https://example.org/p/")
        assert "http://example.org/ok" in "".join(pages)
        assert not [u for u in _urls(pages) if published in u.replace("%5C", "/")], published
        if where in ("video", "paper"):  # summary text shows what its author wrote, as text (docs/format.md)
            assert not [p for p in pages if published in p.replace("%5C", "/")], published
        line = next(n for n, t in enumerate(text.split("\n"), 1) if "ⅷ" in t or "example.c" in t or "①" in t
                    or "ﬀ" in t or "ｅｘ" in t or "example.com" in t)
        warned = [w for w in result.output.splitlines() if w.startswith(f"{tmp / 'd.md'}:{line}: warning: ")
                  and ("not a valid http(s) URL" in w)]
        assert len(warned) == 1, result.output


# -- messages that name what is wrong ---------------------------------------------------------------

HOST_CHARACTERS = st.sampled_from(["\u200d", "\u200c", "\u200b", "\u00ad", "\u2060", "\ufeff", "\u202e", "\u2028",
                                   "\u0001", "\u00df", "\u034f", "\u180e"])


@settings(max_examples=20, **SETTINGS)
@given(char=HOST_CHARACTERS, at=st.integers(0, 7), option=st.sampled_from(["--base-url", "--to"]))
def test_a_host_with_an_invisible_or_ambiguous_character_is_refused_naming_it(char, at, option):
    host = "example.org"
    host = host[:at] + char + host[at:]
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        if option == "--base-url":
            args = ["build", str(_inputs(tmp)), "-o", str(tmp / "out"), "--images", "none", "--state",
                    str(tmp / "s.json"), "--base-url", f"https://{host}/p/"]
        else:
            (tmp / "books").mkdir()
            args = ["send", str(tmp / "books"), "--to", f"me@{host}"]
        result = run_cli(args, tmp)
        assert result.exit_code == 2, result.output
        assert option in result.output, result.output
        named = f"U+{ord(char):04X}" in result.output or re.search(r"(ZERO WIDTH|SOFT HYPHEN|unsafe characters|"
                                                                     r"not valid IDNA)", result.output, re.I)
        assert named, result.output


def test_an_address_whose_domain_is_not_idna_says_so(tmp_path):
    (tmp_path / "books").mkdir()
    result = run_cli(["send", str(tmp_path / "books"), "--to", "x@xn--a.org"], tmp_path)
    assert result.exit_code == 2
    assert ("--to 'x@xn--a.org' is not a usable e-mail address: its domain 'xn--a.org' is not a valid "
            "internationalised name: its label 'xn--a' is not valid IDNA 2008") in result.output, result.output


@settings(max_examples=8, **SETTINGS)
@given(names=st.lists(st.tuples(st.sampled_from(["javascript", "https", "colon", "mailto", "data", "a"]),
                                st.sampled_from(["alert(1)", "evil.com", "//evil.com/x", "x", ""])),
                      min_size=1, max_size=3, unique=True))
def test_a_book_named_like_a_url_is_linked_as_the_file_in_the_folder(names):
    """A relative link's first segment with a colon is a scheme (RFC 3986 section 4.2): every link
    of the catalog, read against the catalog's own URL, must name the file in the folder."""
    import json
    from urllib.parse import unquote, urljoin

    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        out = tmp / "out"
        out.mkdir()
        book = _one_book(tmp)
        files = {f"{scheme}:{rest}.epub".replace("/", "_") for scheme, rest in names}
        for file in files:
            shutil.copy(book, out / file)
        result = run_cli(["feed", str(_inputs(tmp)), "-o", str(out), "--format", "opds"], tmp)
        assert result.exit_code == 0, result.output
        base = "http://example.org/p/catalog.opds"
        hrefs = re.findall(r'href="([^"]*)"', (out / "catalog.opds").read_text("utf-8"))
        hrefs += [link["href"] for pub in json.loads((out / "catalog.json").read_text("utf-8"))["publications"]
                  for link in pub["links"] + pub.get("images", [])]
        linked = {unquote(urljoin(base, href).removeprefix("http://example.org/p/")) for href in hrefs}
        assert all(urljoin(base, href).startswith("http://example.org/p/") for href in hrefs), hrefs
        assert files <= linked, (files, hrefs)


def test_a_selection_state_name_too_long_is_a_usage_error(tmp_path):
    """``--state FILE`` of 252 bytes and a selection 'top': its state ``FILE.top`` would not fit
    a file system; a usage error naming --state (exit 2) before anything is written, not a
    failure to write at the end."""
    config = tmp_path / "c.toml"
    config.write_text('[[selection]]\nname = "top"\ntop = 2\n', encoding="utf-8")
    out = tmp_path / "out"
    result = run_cli(["--config", str(config), "build", str(_inputs(tmp_path)), "-o", str(out), "--images", "none",
                      "-q", "--state", str(tmp_path / ("s" * 252))], tmp_path, {"XDG_STATE_HOME": str(tmp_path / "st")})
    assert result.exit_code == 2, result.output
    assert "the state of the selection 'top' would be" in result.output and "longer than 255 bytes" in result.output
    assert not out.exists()
