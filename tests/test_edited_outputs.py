"""A file the build wrote and the user then edited is the user's, even if it keeps the mark.

The build state records, with each output file's stamp, the digest of the bytes written
(``exporter.output.Stamp.digest``).  A recorded file whose stat changed is the program's only if
it still holds those bytes (restored from a cache, ``cp -a``, a git checkout: new inode and
times, same content); an edit in place (same size with its time given back, an appended line, a
book unzipped, a paragraph added and zipped again) keeps the program's mark but not the bytes,
and the next build stops with exit 1 naming the file, which is left as it is.  A stale edited
file is never removed.  Generated over the kinds of output (a book, the Atom feed, a catalog
page, a cover, the front page, a selection's book) and the kinds of edit, each with its control.
"""

from __future__ import annotations

import collections
import io
import os
import shutil
import time
import zipfile
from pathlib import Path

import pytest

from exporter.output import carries_mark
from hostile_three import appended_keeping_mark, run_cli, same_size_keeping_mark
from test_output_stamps import BOOK_W09, _build, _inputs, _tree

KINDS = {
    "book": "daily-papers-2024-W10.epub",
    "feed": "feed.atom",
    "catalog page": "catalog.opds",
    "cover": "daily-papers-2024-W10.cover.jpg",
    "front page": "index.html",
    "selection book": "top/daily-papers-top-2024-W10.epub",
}


def _rezipped(data: bytes) -> bytes:
    """The book unzipped, ``<p>MY NOTES</p>`` added to a page, zipped again (the mark stays)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        done = False
        for info in src.infolist():
            member = src.read(info)
            if not done and info.filename.endswith(".xhtml") and b"</body>" in member and "cover" not in info.filename:
                member = member.replace(b"</body>", b"<p>MY NOTES</p></body>", 1)
                done = True
            dst.writestr(info, member)
    assert done
    return out.getvalue()


def _edit(path: Path, how: str) -> bytes:
    data = path.read_bytes()
    time.sleep(0.03)  # the inode-change time moves on a coarse clock
    if how == "same size, time given back":
        before = os.stat(path)
        with open(path, "r+b") as fh:
            fh.write(same_size_keeping_mark(data))
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    elif how == "appended":
        path.write_bytes(appended_keeping_mark(data))
    else:  # re-zipped with a paragraph added, or another edit of a text file
        path.write_bytes(_rezipped(data) if data.startswith(b"PK") else appended_keeping_mark(data)
                         if data.startswith(b"\xff\xd8") else data.replace(b"<title>", b"<title>My ", 1))
    assert carries_mark(path)  # the mark alone would let the build replace it
    return path.read_bytes()


EDITS = ("same size, time given back", "appended", "edited")


def _as_fresh(tmp_path: Path, out: Path, *options: str, beside: tuple[str, ...] = ()) -> None:
    """*out* holds what a fresh build of the same inputs and options into an empty folder
    (holding only the files *beside*, copied from *out*) leaves."""
    fresh, fresh_tmp = tmp_path / "fresh", tmp_path / "f"
    fresh.mkdir()
    fresh_tmp.mkdir()
    for name in beside:
        shutil.copy(out / name, fresh)
    shutil.copy(tmp_path / "c.toml", fresh_tmp / "c.toml")
    assert _build(fresh_tmp, fresh, *options, src=tmp_path / "in").exit_code == 0
    assert _tree(out) == _tree(fresh)


@pytest.mark.parametrize("how", EDITS)
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_an_edited_output_is_not_replaced(tmp_path, kind, how):
    out = tmp_path / "out"
    _inputs(tmp_path / "in")
    assert _build(tmp_path, out).exit_code == 0
    target = out / KINDS[kind]
    mine = _edit(target, how)
    _inputs(tmp_path / "in", title="Another paper")  # every file is rewritten
    result = _build(tmp_path, out)
    if kind == "cover":  # the catalog lists the book without its cover, and says so (README)
        assert result.exit_code == 0, result.output
        assert f"{target}: warning: not written by digest-export: left as it is" in result.output, result.output
    else:
        assert result.exit_code == 1, result.output
        assert f"{target} was changed since digest-export wrote it" in result.output, result.output
    assert target.read_bytes() == mine


@pytest.mark.parametrize("copied", [False, True], ids=["as written", "a same-bytes copy"])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_an_unedited_output_is_replaced(tmp_path, kind, copied):
    """The control: as written, each of those files is rewritten; and so it is once swapped for
    a copy of itself (``cp -a`` to the side and back: a new inode and inode-change time, the
    same bytes), which is still the program's."""
    out = tmp_path / "out"
    _inputs(tmp_path / "in")
    assert _build(tmp_path, out).exit_code == 0
    target = out / KINDS[kind]
    written = target.read_bytes()
    if copied:
        side = tmp_path / "side"
        time.sleep(0.03)
        assert os.system(f"cp -a '{target}' '{side}' && mv '{side}' '{target}'") == 0
    _inputs(tmp_path / "in", title="Another paper")
    result = _build(tmp_path, out)
    assert result.exit_code == 0, result.output
    assert f"{target}: warning" not in result.output, result.output
    if kind != "cover":  # a cover shows the book's title and period, which stay
        assert target.read_bytes() != written


def test_the_same_bytes_copied_with_cp_a_are_the_programs(tmp_path):
    """The whole folder copied with ``cp -a`` (every inode and inode-change time new, the bytes
    the same), as a cache restore or a checkout gives it: a build succeeds, the folder equals a
    fresh build, and the next run does nothing."""
    out = tmp_path / "out"
    _inputs(tmp_path / "in")
    assert _build(tmp_path, out).exit_code == 0
    shutil.move(out, tmp_path / "moved")
    assert os.system(f"cp -a '{tmp_path / 'moved'}' '{out}'") == 0
    _inputs(tmp_path / "in", title="Another paper")
    result = _build(tmp_path, out)
    assert result.exit_code == 0, result.output
    _as_fresh(tmp_path, out)
    again = _build(tmp_path, out)
    assert again.exit_code == 0 and "rebuilding" not in again.output and "writing" not in again.output, again.output


@pytest.mark.parametrize("how", ["none", *EDITS])
def test_a_stale_edited_book_is_not_removed(tmp_path, how):
    out = tmp_path / "out"
    _inputs(tmp_path / "in")
    assert _build(tmp_path, out).exit_code == 0
    target = out / BOOK_W09
    mine = _edit(target, how) if how != "none" else None
    _inputs(tmp_path / "in", late_week=False)
    result = _build(tmp_path, out)
    assert result.exit_code == 0, result.output
    if mine is None:  # the control
        assert not target.exists()
        return
    assert target.read_bytes() == mine
    assert f"left {target} alone" in result.output, result.output


def test_the_writer_rule_by_digest(tmp_path):
    """Without a build: a recorded file of another stat is the program's while it holds the
    recorded bytes, and the user's (even with the mark) when they changed."""
    from exporter.output import NotOurFileError, Stamp, content_digest, recorded, remove_file, write_file

    path = tmp_path / "feed.atom"
    data = b"<?xml version='1.0' encoding='UTF-8'?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\"><generator>digest-export</generator><id>1</id></feed>"
    path.write_bytes(data)
    stamp = Stamp.at(path)._replace(digest=content_digest(data))
    time.sleep(0.03)
    os.replace(shutil.copy2(path, tmp_path / "copy"), path)  # same bytes, a new inode
    assert not stamp.matches(os.stat(path))
    with recorded(tmp_path, {path.name: stamp}):
        assert write_file(path, data + b"\n").value == "written"
    path.write_bytes(data.replace(b"1", b"2"))
    with recorded(tmp_path, {path.name: stamp}):
        with pytest.raises(NotOurFileError, match="was changed since digest-export wrote it"):
            write_file(path, data + b"\n")
    assert not remove_file(path, stamp)
    path.write_bytes(data)  # the recorded bytes again: removable
    assert remove_file(path, stamp)


def _without_digests(state: Path) -> None:
    """The state as the previous version wrote it: each stamp [size, mtime_ns, ctime_ns, ino]."""
    import json

    from state_helpers import write_sealed

    doc = json.loads(state.read_text("utf-8"))
    for record in filter(None, [*doc["books"].values(), *doc["pages"].values(), doc["feeds"], doc["catalog"]]):
        record["files"] = {name: stamp[:4] for name, stamp in record["files"].items()}
    write_sealed(state, doc)


def test_a_state_without_digests_loads_and_its_mark_rule_holds(tmp_path):
    """A state of the previous version (stamps without a digest) is not damage: a run with no
    change rebuilds and writes nothing; a file it records whose stat changed is then judged by
    its mark, as that version did (an edit that keeps the mark is replaced), and the run records
    it with its digest from then on."""
    import json

    out = tmp_path / "out"
    _inputs(tmp_path / "in")
    assert _build(tmp_path, out).exit_code == 0
    for state in (tmp_path / "state.json", tmp_path / "state.json.top"):
        _without_digests(state)
    before = _tree(out)
    again = _build(tmp_path, out)
    assert again.exit_code == 0, again.output
    assert "damaged" not in again.output and "rebuilding" not in again.output and "writing" not in again.output
    assert _tree(out) == before
    _without_digests(tmp_path / "state.json")  # the no-change run kept the records as they were
    target = out / "feed.atom"
    _edit(target, "edited")
    result = _build(tmp_path, out)
    assert result.exit_code == 0, result.output
    assert target.read_bytes() == before["feed.atom"]  # the mark decided: written again
    doc = json.loads((tmp_path / "state.json").read_text("utf-8"))
    assert len(doc["feeds"]["files"]["feed.atom"]) == 5


@pytest.mark.parametrize("kind", ["feed", "catalog page", "cover", "front page"])
def test_a_file_cut_short_is_written_again(tmp_path, kind):
    """A file of ours cut short (a copy or a sync stopped half-way) holds nothing that the file
    to be written does not: it is replaced, whatever its digest says.  (A book cut short is not
    a prefix of anything the run has before building it: it stops the run, named, as an edit.)"""
    out = tmp_path / "out"
    _inputs(tmp_path / "in")
    assert _build(tmp_path, out).exit_code == 0
    target = out / KINDS[kind]
    whole = target.read_bytes()
    time.sleep(0.03)
    target.write_bytes(whole[:len(whole) // 2])
    result = _build(tmp_path, out)
    assert result.exit_code == 0, result.output
    assert target.read_bytes() == whole


def test_a_book_cut_short_stops_the_run_named(tmp_path):
    out = tmp_path / "out"
    _inputs(tmp_path / "in")
    assert _build(tmp_path, out).exit_code == 0
    target = out / KINDS["book"]
    whole = target.read_bytes()
    time.sleep(0.03)
    target.write_bytes(whole[:len(whole) // 2])
    result = _build(tmp_path, out)
    assert result.exit_code == 1, result.output
    assert f"{target} was changed since digest-export wrote it" in result.output, result.output
    assert target.read_bytes() == whole[:len(whole) // 2]


def _feed(tmp: Path, out: Path):
    return run_cli(["feed", str(tmp / "in"), "-o", str(out), "--format", "opds", "--format", "rss", "-q"], tmp)


def test_what_feed_wrote_is_the_builds_until_edited(tmp_path):
    """``feed`` keeps no state but records what it wrote: the next build (whatever its --state)
    replaces those files (it would refuse them by the digest its own state keeps) and removes
    what it does not write itself (the covers of an EPUB of someone else's; the RSS feed, with
    --format atom); a file ``feed`` wrote and you then edited is left alone and named."""
    out = tmp_path / "out"
    _inputs(tmp_path / "in")
    assert _build(tmp_path, out, "--format", "atom", "--format", "opds").exit_code == 0
    shutil.copy(out / KINDS["book"], out / "someone-else.epub")
    _inputs(tmp_path / "in", title="Another paper")
    assert _feed(tmp_path, out).exit_code == 0
    made = {"someone-else.cover.jpg", "someone-else.cover.thumb.jpg", "feed.rss"}
    assert all((out / name).is_file() for name in made)
    edited = _edit(out / "catalog.opds", "appended")
    result = _build(tmp_path, out, "--format", "atom", "--format", "opds")
    assert result.exit_code == 1, result.output
    assert f"{out / 'catalog.opds'} was changed since digest-export wrote it" in result.output, result.output
    assert (out / "catalog.opds").read_bytes() == edited
    (out / "catalog.opds").unlink()  # moved away: the build goes on
    result = _build(tmp_path, out, "--format", "atom", "--format", "opds")
    assert result.exit_code == 0, result.output
    assert not any((out / name).exists() for name in made), result.output
    assert (out / "someone-else.epub").is_file()
    _as_fresh(tmp_path, out, "--format", "atom", "--format", "opds", beside=("someone-else.epub",))


def test_epub_into_one_file_is_recorded_for_its_folder_alone(tmp_path):
    """``epub -o FILE.epub`` builds in a folder of its own, removed after: nothing is left for
    that one in the state folder.  The book is recorded in the record of FILE's folder, as
    ``epub -o DIR`` records its books, under that folder's lock: a build into the folder then
    replaces it as its own (it refused it as "changed since digest-export wrote it")."""
    from exporter.state import default_state_path, load_written, lock_path, written_record_path

    out = tmp_path / "out"
    _inputs(tmp_path / "in")
    assert _build(tmp_path, out).exit_code == 0
    folder = default_state_path(tmp_path).parent
    before = set(folder.glob("*.*.json")) | set(folder.glob("*.lock"))
    result = run_cli(["epub", str(tmp_path / "in"), "-o", str(out / "daily-papers-2024-W10.epub"), "--from",
                      "2024-03-04", "--images", "none", "--lang", "en", "-q"], tmp_path)
    assert result.exit_code == 0, result.output
    assert set(folder.glob("*.*.json")) | set(folder.glob("*.lock")) == before | {
        written_record_path(out), lock_path(out)}
    assert set(load_written(written_record_path(out))) == {"daily-papers-2024-W10.epub"}
    result = _build(tmp_path, out)
    assert result.exit_code == 0, result.output


def test_a_build_stopped_half_way_knows_what_it_wrote(tmp_path):
    """A build that stops after writing books, feeds and catalog (the front page is the user's
    file now) saves no state: what it wrote is recorded all the same, so the next build, once
    that file is moved away, takes those files as its own, not as files edited since."""
    out = tmp_path / "out"
    _inputs(tmp_path / "in")
    assert _build(tmp_path, out).exit_code == 0
    (out / "index.html").write_text("my page", "utf-8")
    _inputs(tmp_path / "in", title="Another paper")
    stopped = _build(tmp_path, out)
    assert stopped.exit_code == 1 and f"{out / 'index.html'} was changed since" in stopped.output, stopped.output
    assert (out / "index.html").read_text("utf-8") == "my page"
    (out / "index.html").unlink()
    _inputs(tmp_path / "in", title="A third title")  # every file is to be written again
    result = _build(tmp_path, out)
    assert result.exit_code == 0, result.output
    _as_fresh(tmp_path, out)


def test_a_build_killed_before_saving_its_state_is_not_taken_for_edits(tmp_path):
    """A build killed (SIGKILL: nothing recorded) after writing its books, feeds and pages leaves
    files whose digests no state holds; the next build of the same inputs makes the same bytes,
    which is nothing to refuse: exit 0, the folder as a fresh build leaves it."""
    out = tmp_path / "out"
    _inputs(tmp_path / "in")
    assert _build(tmp_path, out).exit_code == 0
    states = {p: p.read_bytes() for p in tmp_path.glob("state.json*")}
    _inputs(tmp_path / "in", title="Another paper")
    assert _build(tmp_path, out).exit_code == 0
    for path, data in states.items():  # as if the run had been killed before saving them
        path.write_bytes(data)
    result = _build(tmp_path, out)
    assert result.exit_code == 0, result.output
    _as_fresh(tmp_path, out)


def test_a_run_with_nothing_changed_hashes_no_output(tmp_path, monkeypatch):
    """The digest costs nothing while the stat matches: a build with nothing changed hashes no
    output file; after ``cp -a`` of the folder (every stat new) it hashes each once, and the run
    after that none again."""
    import exporter.output

    hashed = []
    real = exporter.output._holds_digest
    def counted(path, stamp, st, *rest):
        if exporter.output._known(st) is None:  # answered by what the run knows: nothing read
            hashed.append(Path(path))
        return real(path, stamp, st, *rest)

    monkeypatch.setattr(exporter.output, "_holds_digest", counted)
    out = tmp_path / "out"
    _inputs(tmp_path / "in")
    assert _build(tmp_path, out).exit_code == 0
    hashed.clear()
    assert _build(tmp_path, out).exit_code == 0
    assert hashed == []
    shutil.move(out, tmp_path / "moved")
    assert os.system(f"cp -a '{tmp_path / 'moved'}' '{out}'") == 0
    assert _build(tmp_path, out).exit_code == 0
    # Each recorded file at most once where it is planned and once where it is written (a book
    # when its record is checked, which keeps it from being built again), not once per reader.
    assert max(collections.Counter(hashed).values()) <= 2, hashed
    assert set(out.rglob("*.epub")) <= set(hashed), hashed
    hashed.clear()
    assert _build(tmp_path, out).exit_code == 0
    assert hashed == []


@pytest.mark.parametrize("edited", [True, False], ids=["edited", "control"])
def test_feed_knows_what_a_build_wrote_by_its_state(tmp_path, monkeypatch, edited):
    """``feed`` keeps no state, but a build of the folder (at the default state place) left one:
    a feed that build wrote and you edited since, mark and all, is yours to ``feed`` as to the
    next build (exit 1, named, left as it is); unedited, ``feed`` replaces it."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    out = tmp_path / "out"
    _inputs(tmp_path / "in")
    result = run_cli(["build", str(tmp_path / "in"), "-o", str(out), "--images", "none", "-q"], tmp_path)
    assert result.exit_code == 0, result.output
    atom = out / "feed.atom"
    before = _edit(atom, "appended") if edited else atom.read_bytes()
    assert carries_mark(atom)
    result = run_cli(["feed", str(tmp_path / "in"), "-o", str(out), "--format", "atom", "--title", "Other", "-q"],
                     tmp_path)
    if edited:
        assert result.exit_code == 1, result.output
        assert f"{atom} was changed since digest-export wrote it" in result.output, result.output
        assert atom.read_bytes() == before
    else:
        assert result.exit_code == 0, result.output
        assert atom.read_bytes() != before and b"Other" in atom.read_bytes()


def test_a_restored_folder_rebuilds_no_book(tmp_path):
    """A folder restored with its bytes kept (``cp -a``: every inode new) builds no book again:
    each book is known as written by its digest, its record takes the new stat, and the run
    after that neither rebuilds nor hashes anything."""
    out = tmp_path / "out"
    _inputs(tmp_path / "in")
    assert _build(tmp_path, out).exit_code == 0
    shutil.move(out, tmp_path / "moved")
    assert os.system(f"cp -a '{tmp_path / 'moved'}' '{out}'") == 0
    result = _build(tmp_path, out)
    assert result.exit_code == 0, result.output
    assert "rebuilding" not in result.output and "skipped " in result.output, result.output
    _as_fresh(tmp_path, out)
    again = _build(tmp_path, out)
    assert again.exit_code == 0 and "rebuilding" not in again.output and "writing" not in again.output, again.output


def test_epub_to_one_file_keeps_a_book_a_build_wrote_and_the_user_edited(tmp_path):
    """``epub -o FILE.epub`` at a book a ``build`` of that folder wrote and the user then edited
    (unzipped, a paragraph added, zipped again: the mark stays): the user's, as ``epub -o DIR``
    and ``build`` take it."""
    from hostile_three import rezipped_with_notes, two_papers

    src = two_papers(tmp_path)
    out = tmp_path / "out"
    env = {"XDG_STATE_HOME": str(tmp_path / "state")}
    assert run_cli(["build", str(src), "-o", str(out), "--images", "none", "-q"], tmp_path, env=env).exit_code == 0
    book = out / "daily-papers-2024-W10.epub"
    time.sleep(0.03)
    mine = rezipped_with_notes(book.read_bytes())
    book.write_bytes(mine)
    result = run_cli(["epub", str(src), "-o", str(book), "--images", "none", "--from", "2024-03-04", "--to",
                      "2024-03-10", "--title", "Other"], tmp_path, env=env)
    assert result.exit_code == 1 and "was changed since digest-export wrote it" in result.output, result.output
    assert book.read_bytes() == mine


@pytest.mark.parametrize("command", ["build", "epub", "feed", "epub-one-file"])
def test_a_second_run_into_a_folder_another_run_is_writing_is_refused(tmp_path, command):
    """Two runs at once on one folder (a slow cron job and the next one) each read the state,
    wrote their files and saved their state, the second over the first: files neither state
    recorded, refused by the next run as edited since, or a state file removed under the other's
    feet.  One run at a time holds the folder's lock (beside its state, whatever ``--state``):
    the other is refused, naming the folder, and writes nothing."""
    from exporter.cli.run import folder_locked

    out = tmp_path / "out"
    _inputs(tmp_path / "in")
    args = {"build": ["build", "--state", str(tmp_path / "state.json"), "--images", "none"],
            "epub": ["epub", "--images", "none"], "feed": ["feed"],
            "epub-one-file": ["epub", "--images", "none", "--by", "all"]}[command]
    args = [*args, str(tmp_path / "in"), "-o", str(out / "all.epub" if command == "epub-one-file" else out)]
    with folder_locked(out):
        r = run_cli(args, tmp_path)
    assert r.exit_code == 1, r.output
    assert f"{out}: another digest-export run is writing into this folder" in r.output, r.output
    assert not out.exists() or not any(out.iterdir())
    r = run_cli(args, tmp_path)
    assert r.exit_code == 0, r.output  # the lock goes with the run that held it


def test_a_users_file_at_a_cover_name_is_kept_out_of_the_front_page_too(tmp_path):
    """A file of the user's where a book's cover goes keeps the cover out of the catalog (the
    book is listed without one, said once); the front page showed that file as the book's cover
    all the same.  It shows no cover for that book now, and the other books' covers as before."""
    out = tmp_path / "out"
    _inputs(tmp_path / "in")
    out.mkdir()
    (out / KINDS["cover"]).write_bytes(b"mine\n")
    r = _build(tmp_path, out)
    assert r.exit_code == 0, r.output
    assert r.output.count("not written by digest-export: left as it is") == 1, r.output
    page = (out / "index.html").read_text("utf-8")
    assert KINDS["cover"] not in page
    assert "daily-papers-2024-W09.cover.jpg" in page  # a cover of the program's is still shown
    assert (out / KINDS["cover"]).read_bytes() == b"mine\n"


def test_a_build_holds_its_selections_folders_too(tmp_path):
    """A build writes its selections' folders (``DIR/top``): a run into one of them meanwhile
    (``build -o DIR/top``) was let through, and the two mixed their files there (the next build
    refused the other's feed).  The build holds each selection folder's lock, taken once it has
    planned, before it writes anything."""
    from exporter.cli.run import folder_locked

    out = tmp_path / "out"
    _inputs(tmp_path / "in")
    with folder_locked(out / "top"):
        r = _build(tmp_path, out)
    assert r.exit_code == 1, r.output
    assert f"{out / 'top'}: another digest-export run is writing into this folder" in r.output, r.output
    assert not out.exists() or not any(out.iterdir())
    assert _build(tmp_path, out).exit_code == 0


# What a run that leaves an edited file alone (it no longer writes that name) passes on: the next
# run that writes the name again still finds the file the user's.  Each way a name stops being
# written, with its way back.
LEFT_THEN_WANTED = {
    "a book whose week is dropped, then back": ("daily-papers-2024-W08.epub", ("--from", "2024-02-26")),
    "a feed's format dropped, then back": ("feed.atom", ("--format", "rss", "--format", "json", "--format", "opds")),
    "the catalog dropped, then back": ("catalog.opds", ("--format", "atom", "--format", "rss", "--format", "json")),
    "a selection's book whose week is dropped, then back": ("top/daily-papers-top-2024-W08.epub",
                                                           ("--from", "2024-02-26")),
    # The selection's state goes with it: the main state keeps the edit, and hands it back.
    "a selection's book, the selection removed, then added again": ("top/daily-papers-top-2024-W10.epub", None),
}


@pytest.mark.parametrize("how", ["none", *EDITS])
@pytest.mark.parametrize("case", sorted(LEFT_THEN_WANTED))
def test_an_edited_file_left_alone_stays_the_users_in_the_runs_after(tmp_path, case, how):
    name, dropped = LEFT_THEN_WANTED[case]
    out = tmp_path / "out"
    _inputs(tmp_path / "in")
    assert _build(tmp_path, out, archive=False).exit_code == 0
    target = out / name
    mine = _edit(target, how) if how != "none" else None
    left = (_build(tmp_path, out, *dropped, archive=False) if dropped is not None
            else _build(tmp_path, out, archive=False, selection=False))
    assert left.exit_code == 0, left.output
    if mine is None:  # the control: as written, it is removed, and written again when wanted
        assert not target.exists(), left.output
        back = _build(tmp_path, out, archive=False)
        assert back.exit_code == 0 and target.is_file(), back.output
        return
    assert target.read_bytes() == mine
    assert f"left {target} alone" in left.output, left.output
    for _ in range(2):  # and so on every run after, not once
        again = _build(tmp_path, out, archive=False)
        assert again.exit_code == 1, again.output
        assert f"{target} was changed since digest-export wrote it" in again.output, again.output
        assert target.read_bytes() == mine
    # Once the user moves it away, the name is the program's again.
    target.unlink()
    assert _build(tmp_path, out, archive=False).exit_code == 0 and target.is_file()


# ``feed`` and ``epub`` keep a record of what they wrote, not a state: a run of any command that
# does not write an edited file's name passes the edit on, and the run that writes it again stops.
EDIT_THEN = {
    "feed, then build without that format, then with it": (
        "feed.rss", ["feed", "--format", "atom", "--format", "rss"],
        [["build", "--images", "none", "--format", "atom"], ["build", "--images", "none", "--format", "atom",
                                                            "--format", "rss"]]),
    "feed, then feed of another format, then of that one": (
        "feed.rss", ["feed", "--format", "rss"], [["feed", "--format", "atom"], ["feed", "--format", "rss"]]),
    "epub, then epub of later weeks, then of all": (
        "daily-papers-2024-W08.epub", ["epub", "--images", "none"],
        [["epub", "--images", "none", "--from", "2024-02-26"], ["epub", "--images", "none"]]),
    "epub, then build of later weeks, then of all": (
        "daily-papers-2024-W08.epub", ["epub", "--images", "none"],
        [["build", "--images", "none", "--from", "2024-02-26"], ["build", "--images", "none"]]),
}


@pytest.mark.parametrize("how", ["none", "edited"])
@pytest.mark.parametrize("case", sorted(EDIT_THEN))
def test_an_edit_of_what_feed_or_epub_wrote_outlives_the_runs_that_do_not_write_it(tmp_path, case, how):
    name, first, then = EDIT_THEN[case]
    out = tmp_path / "out"
    _inputs(tmp_path / "in")

    def run(args: list[str]):
        return run_cli([args[0], str(tmp_path / "in"), "-o", str(out), "-q", *args[1:]], tmp_path)

    assert run(first).exit_code == 0
    mine = _edit(out / name, how) if how != "none" else None
    *middle, last = then
    for args in middle:
        result = run(args)
        assert result.exit_code == 0, result.output
    result = run(last)
    if mine is None:  # the control: the program's own file, written again
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code == 1, result.output
    assert f"{out / name} was changed since digest-export wrote it" in result.output, result.output
    assert (out / name).read_bytes() == mine


@pytest.mark.parametrize("how", ["epub -o latest.epub", "a build stopped after writing it"])
def test_a_latest_epub_no_state_recorded_is_removed_when_no_longer_made(tmp_path, how):
    """``latest.epub`` written by a run that kept no state (``epub -o DIR/latest.epub``, or a
    ``--finished-only`` build that stopped at a file of the user's before saving its state) is
    the program's, and a build without ``--finished-only`` removes it as any output it no longer
    makes (it stayed for ever)."""
    out = tmp_path / "out"
    _inputs(tmp_path / "in")
    assert _build(tmp_path, out, archive=False).exit_code == 0
    if how == "epub -o latest.epub":
        assert run_cli(["epub", str(tmp_path / "in"), "-o", str(out / "latest.epub"), "--by", "all", "--images",
                        "none", "-q"], tmp_path).exit_code == 0
    else:
        _edit(out / "index.html", "edited")
        stopped = _build(tmp_path, out, "--finished-only", archive=False)
        assert stopped.exit_code == 1, stopped.output
        (out / "index.html").unlink()
    assert (out / "latest.epub").is_file()
    result = _build(tmp_path, out, archive=False)
    assert result.exit_code == 0, result.output
    assert not (out / "latest.epub").exists(), result.output


@pytest.mark.parametrize("then", [("--title", "Other Title"), ()])
def test_a_selection_written_by_a_build_that_stopped_is_the_programs_in_the_next(tmp_path, then):
    """A build that stops after a selection's end (at a file of the user's in the main folder)
    leaves a selection state the main state does not vouch for: its files, still as written, are
    the program's (no "already holds files that digest-export build did not write", exit 2), and
    those the next build does not write go, so the folder ends as a fresh build leaves it."""
    out = tmp_path / "out"
    _inputs(tmp_path / "in")
    assert _build(tmp_path, out, selection=False, archive=False).exit_code == 0
    edited = out / "catalog" / "crawlable.opds"
    _edit(edited, "appended")
    stopped = _build(tmp_path, out, archive=False)
    assert stopped.exit_code == 1 and f"{edited} was changed since" in stopped.output, stopped.output
    assert list((out / "top").glob("*.epub"))
    edited.unlink()
    result = _build(tmp_path, out, *then, archive=False)
    assert result.exit_code == 0, result.output
    fresh_tmp = tmp_path / "f"
    fresh_tmp.mkdir()
    assert _build(fresh_tmp, tmp_path / "fresh", *then, archive=False, src=tmp_path / "in").exit_code == 0
    assert _tree(out) == _tree(tmp_path / "fresh")


@pytest.mark.parametrize("then_selection", [False, True], ids=["dropped", "kept"])
def test_a_selection_a_stopped_build_began_goes_when_dropped_before_the_next(tmp_path, monkeypatch, then_selection):
    """A build stopped (Ctrl-C) after a new selection's books were written and before its end
    leaves no state for it: the main state, saved before the selection wrote anything, names it,
    so the next build that no longer has it removes what the stopped run wrote there (the files
    stayed for good: no run knew the folder for a selection's); kept, the next build takes them
    over.  Either way the folder ends as a fresh build leaves it."""
    import exporter.pipeline.run as pipeline_run

    out = tmp_path / "out"
    _inputs(tmp_path / "in")
    assert _build(tmp_path, out, selection=False, archive=False).exit_code == 0

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(pipeline_run, "_end_selections", ctrl_c)
        stopped = _build(tmp_path, out, archive=False)
    assert stopped.exit_code == 1, stopped.output
    assert list((out / "top").glob("*.epub"))  # its books written, its state not
    result = _build(tmp_path, out, selection=then_selection, archive=False)
    assert result.exit_code == 0, result.output
    fresh_tmp = tmp_path / "f"
    fresh_tmp.mkdir()
    assert _build(fresh_tmp, tmp_path / "fresh", selection=then_selection, archive=False,
                  src=tmp_path / "in").exit_code == 0
    assert _tree(out) == _tree(tmp_path / "fresh")


COVER_FILES = ("daily-papers-2024-W10.cover.jpg", "daily-papers-2024-W10.cover.thumb.jpg",
               "top/daily-papers-top-2024-W10.cover.thumb.jpg")


@pytest.mark.parametrize("damage", ["emptied", "cut short", "removed"])
@pytest.mark.parametrize("name", COVER_FILES)
def test_a_damaged_cover_file_is_made_again_while_its_book_is_unchanged(tmp_path, name, damage):
    """Nothing else changed (the book is skipped, the catalog's record of it kept): a cover or
    thumbnail emptied, cut short by a full disk or removed is written again as a fresh build
    writes it, and the run after that finds it as written."""
    out = tmp_path / "out"
    _inputs(tmp_path / "in")
    assert _build(tmp_path, out).exit_code == 0
    target = out / name
    whole = target.read_bytes()
    time.sleep(0.03)
    if damage == "removed":
        target.unlink()
    else:
        target.write_bytes(b"" if damage == "emptied" else whole[:len(whole) // 2])
    result = _build(tmp_path, out)
    assert result.exit_code == 0, result.output
    assert "warning: not written" not in result.output, result.output
    assert target.read_bytes() == whole
    again = _build(tmp_path, out)
    assert "writing the OPDS catalog" not in again.output, again.output


@pytest.mark.parametrize("name", COVER_FILES)
def test_an_edited_cover_file_is_left_while_its_book_is_unchanged(tmp_path, name):
    """Its control: one the user edited (the mark kept) is theirs, said and left as it is."""
    out = tmp_path / "out"
    _inputs(tmp_path / "in")
    assert _build(tmp_path, out).exit_code == 0
    target = out / name
    mine = _edit(target, "appended")
    result = _build(tmp_path, out)
    assert result.exit_code == 0, result.output
    assert f"{target}: warning: not written by digest-export: left as it is" in result.output, result.output
    assert target.read_bytes() == mine


@pytest.mark.parametrize("gone", ["selection", "format"])
def test_a_file_the_build_would_remove_and_the_user_edited_is_kept_and_said(tmp_path, gone):
    """A selection dropped from the config, or a feed format no longer written: what the build
    wrote there goes, but a file the user edited since is kept, and a warning names it (the
    folder now holds a file a fresh build would not: said, not kept silently)."""
    out = tmp_path / "out"
    _inputs(tmp_path / "in")
    assert _build(tmp_path, out, archive=False).exit_code == 0
    edited = next((out / "top").glob("*.epub")) if gone == "selection" else out / "feed.rss"
    _edit(edited, "appended")
    extra = ("--format", "atom", "--format", "json") if gone == "format" else ()
    result = _build(tmp_path, out, *extra, selection=gone != "selection", archive=False)
    assert result.exit_code == 0, result.output
    assert edited.exists()
    said = [line for line in result.output.splitlines() if line.startswith(f"{edited}: warning:")]
    assert said and "kept as yours" in said[0], result.output


def test_every_edited_feed_of_a_run_is_named_at_once(tmp_path):
    """Feeds (and catalog pages) are written together or not at all: each that stops them is
    named on its own line in the one run, not the first alone (three edited feeds took three
    runs to hear of), and none of them is written."""
    out = tmp_path / "out"
    _inputs(tmp_path / "in")
    assert _build(tmp_path, out, selection=False, archive=False).exit_code == 0
    edited = [out / "feed.atom", out / "feed.rss"]
    kept = [_edit(path, "appended") for path in edited]
    _inputs(tmp_path / "in", title="Another title")
    result = _build(tmp_path, out, selection=False, archive=False)
    assert result.exit_code == 1, result.output
    for path in edited:
        assert f"digest-export: error: {path} was changed since digest-export wrote it" in result.output, result.output
    assert [path.read_bytes() for path in edited] == kept
