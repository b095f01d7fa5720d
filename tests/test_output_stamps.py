"""A file the build wrote is known by its whole stat, as git's index knows a file.

The build state records each output file with its stamp (size, modification time, inode-change
time, inode: ``exporter.output.Stamp``).  Size and modification time alone are not enough: a
same-size edit whose old time is given back (``touch -r``, ``cp -p``, an editor that keeps the
time), or a file of the same size swapped in by a rename, looked "as the program left it", and a
build then removed the user's edit when the file went stale, or replaced it when it no longer
carried the program's mark.

Each case below is generated over the kinds of output a build writes and later removes or
rewrites (a book, a feed archive page, a selection's files, a catalog cover) and the two ways
of changing a file that keep its size and modification time (an edit in place, a swap by
rename); each has its control (no edit: the build does remove or rewrite the file), so that
every test fails if the stamp goes back to size and time.  Then a state of the previous
version (stamps of two numbers) and a run with nothing to do.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from exporter.output import Stamp, carries_mark
from hostile_three import day, paper, run_cli, same_size_keeping_mark
from state_helpers import write_sealed

BOOK_W09 = "daily-papers-2024-W09.epub"
SELECTION = '[[selection]]\nname = "top"\ntop = 1\n'


def _inputs(src: Path, *, late_week: bool = True, title: str = "A paper") -> None:
    """Days in weeks 8, 9 and 10 (with ``--days 1``: weeks 8 and 9 are archive pages)."""
    src.mkdir(exist_ok=True)
    (src / "a.md").write_text(day("2024-03-04", paper(1, title), paper(2, title))
                              + day("2024-03-05", paper(3, title)), "utf-8")
    older = day("2024-02-20", paper(7, title)) + (day("2024-02-27", paper(8, title)) if late_week else "")
    (src / "b.md").write_text(older, "utf-8")


def _build(tmp: Path, out: Path, *options: str, selection: bool = True, archive: bool = True, src: Path | None = None):
    config = tmp / "c.toml"
    config.write_text(SELECTION if selection else "", "utf-8")
    return run_cli(["--config", str(config), "build", str(src or tmp / "in"), "-o", str(out), "--images", "none",
                    "--days", "1", "--state", str(tmp / "state.json"), "--base-url", "https://example.org/p/",
                    *(["--archive"] if archive else []), "-v", *options], tmp, seconds=120)


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _tick() -> None:
    # Inode-change times come from the kernel's coarse clock (one jiffy, at most 10 ms): a change
    # within the same tick as the build's write would keep the time the state recorded.
    time.sleep(0.03)


def _keeping_mark(data: bytes) -> bytes:
    """*data* with one byte changed where the program's mark is not: the edited file still carries
    it (:func:`hostile_three.same_size_keeping_mark`)."""
    return same_size_keeping_mark(data)


def _without_mark(data: bytes) -> bytes:
    """*data* of the same size, its mark gone (a zip that no longer opens; the name changed)."""
    if data.startswith(b"PK\x03\x04"):
        at = data.rindex(b"PK\x05\x06")
        return data[:at] + b"XX" + data[at + 2:]
    return data.replace(b"digest-export", b"digest-exporT")


def _change(path: Path, how: str, edit) -> bytes:
    """Change *path* by *how* (``in-place``: rewritten in the same inode; ``swap``: a new file
    renamed over it), keeping its size and giving back its times; returns the new bytes."""
    before = os.stat(path)
    data = edit(path.read_bytes())
    assert len(data) == before.st_size and data != path.read_bytes()
    _tick()
    if how == "in-place":
        with open(path, "r+b") as fh:
            fh.write(data)
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    else:
        swapped = path.with_name(".swapped")
        swapped.write_bytes(data)
        os.utime(swapped, ns=(before.st_atime_ns, before.st_mtime_ns))
        os.replace(swapped, path)
    after = os.stat(path)
    # What size and time alone see: the same file.
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert (after.st_ino == before.st_ino) == (how == "in-place")
    assert after.st_ctime_ns != before.st_ctime_ns
    return data


# -- (a), (b): an edited or swapped file that went stale is never removed ---------------------------

#: kind -> (the file changed, what makes it stale: the week of 2024-02-27 gone, --archive or the
#: selection dropped).
STALE = {
    "book": (BOOK_W09, dict(late_week=False)),
    "cover": ("daily-papers-2024-W09.cover.jpg", dict(late_week=False)),
    "archive page": ("archive/2024-W08.atom", dict(archive=False)),
    "selection book": ("top/daily-papers-top-2024-W10.epub", dict(selection=False)),
    "selection feed": ("top/feed.atom", dict(selection=False)),
}


@pytest.mark.parametrize("how", ["none", "in-place", "swap"])
@pytest.mark.parametrize("kind", sorted(STALE))
def test_a_stale_file_changed_keeping_size_and_time_is_left_alone(tmp_path, kind, how):
    name, stale = STALE[kind]
    out = tmp_path / "out"
    _inputs(tmp_path / "in")
    assert _build(tmp_path, out).exit_code == 0
    target = out / name
    assert target.is_file() and carries_mark(target)
    mine = _change(target, how, _keeping_mark) if how != "none" else None
    if mine is not None:
        assert carries_mark(target)  # the mark alone would let the build remove it
    _inputs(tmp_path / "in", late_week=stale.get("late_week", True))
    result = _build(tmp_path, out, selection=stale.get("selection", True), archive=stale.get("archive", True))
    assert result.exit_code == 0, result.output
    if mine is None:  # the control: as written, the stale file is removed
        assert not target.exists(), result.output
        return
    assert target.read_bytes() == mine, result.output
    assert f"removed {target}" not in result.output


# -- (a), (b): a changed file that no longer carries the mark is never replaced ---------------------

#: Files a build rewrites when every paper's title changes.
REWRITTEN = ("feed.atom", "daily-papers-2024-W10.epub", "archive/2024-W09.atom", "top/feed.atom",
             "top/daily-papers-top-2024-W10.epub")


@pytest.mark.parametrize("how", ["none", "in-place", "swap"])
@pytest.mark.parametrize("name", REWRITTEN)
def test_a_file_changed_keeping_size_and_time_without_the_mark_is_not_replaced(tmp_path, name, how):
    out = tmp_path / "out"
    _inputs(tmp_path / "in")
    assert _build(tmp_path, out).exit_code == 0
    target = out / name
    written = target.read_bytes()
    mine = _change(target, how, _without_mark) if how != "none" else None
    if mine is not None:
        assert not carries_mark(target)
    _inputs(tmp_path / "in", title="Another paper")
    result = _build(tmp_path, out)
    if mine is None:  # the control: as written, the file is rewritten
        assert result.exit_code == 0, result.output
        assert target.read_bytes() != written
        return
    assert result.exit_code == 1, result.output
    assert f"{target} was changed since digest-export wrote it" in result.output, result.output
    assert target.read_bytes() == mine


def test_a_recorded_file_is_ours_only_while_its_whole_stamp_matches(tmp_path):
    """The writer's own rule, without a build: recorded and unchanged, an unmarked file may be
    replaced; the same size and time after a swap or an in-place edit are not enough."""
    from exporter.output import NotOurFileError, recorded, remove_file, write_file

    for how in ("in-place", "swap"):
        path = tmp_path / f"{how}.txt"
        path.write_bytes(b"written by the program, no mark\n")
        stamp = Stamp.at(path)
        with recorded(tmp_path, {path.name: stamp}):
            assert write_file(path, b"written by the program, again\n").value == "written"
            stamp = Stamp.at(path)
            mine = _change(path, how, lambda data: data.upper())
        with recorded(tmp_path, {path.name: stamp}):
            with pytest.raises(NotOurFileError):
                write_file(path, b"written by the program, a third time\n")
        assert not remove_file(path, stamp)
        assert path.read_bytes() == mine


# -- (c): a state of the previous version --------------------------------------------------------

def _as_previous_version(state: Path) -> None:
    """The state as the previous version wrote it: each stamp [size, mtime_ns] (the books', the
    feeds', the pages', the catalog's and its cache's), sealed as it sealed it."""
    doc = json.loads(state.read_text("utf-8"))
    records = [*doc["books"].values(), *doc["pages"].values(), doc["feeds"], doc["catalog"]]
    for record in filter(None, records):
        record["files"] = {name: stamp[:2] for name, stamp in record["files"].items()}
    for known in doc["catalog_books"].values():
        known["stamp"] = known["stamp"][:2]
        if known["cover_stamp"] is not None:
            known["cover_stamp"] = known["cover_stamp"][:2]
    write_sealed(state, doc)


def _stats(folder: Path) -> dict[str, tuple[int, int, int]]:
    return {p.relative_to(folder).as_posix(): tuple(Stamp.at(p))[1:] for p in folder.rglob("*") if p.is_file()}


def test_a_state_of_the_previous_version_is_upgraded_by_one_run_that_writes_nothing(tmp_path):
    out, fresh = tmp_path / "out", tmp_path / "fresh"
    _inputs(tmp_path / "in")
    assert _build(tmp_path, out).exit_code == 0
    for state in (tmp_path / "state.json", tmp_path / "state.json.top"):
        _as_previous_version(state)
    before = _stats(out)
    _tick()
    upgrade = _build(tmp_path, out)
    assert upgrade.exit_code == 0, upgrade.output
    assert "damaged" not in upgrade.output and "rebuilding everything" not in upgrade.output, upgrade.output
    assert f"rebuilding {out / BOOK_W09}: {BOOK_W09} was recorded by an earlier version" in upgrade.output
    # Made again, the same bytes: nothing written, nothing removed.
    assert _stats(out) == before
    assert "removed" not in upgrade.output
    fresh_tmp = tmp_path / "f"
    fresh_tmp.mkdir()
    shutil.copy(tmp_path / "c.toml", fresh_tmp / "c.toml")
    assert _build(fresh_tmp, fresh, src=tmp_path / "in").exit_code == 0
    assert _tree(out) == _tree(fresh)
    # Every stamp is whole now: the next run makes nothing again.
    for state in (tmp_path / "state.json", tmp_path / "state.json.top"):
        doc = json.loads(state.read_text("utf-8"))
        for record in [*doc["books"].values(), *doc["pages"].values(), doc["feeds"], doc["catalog"]]:
            # Whole, and with the digest of the bytes (an edit that keeps the mark is told from a copy).
            assert all(len(stamp) == 5 for stamp in (record or {"files": {}})["files"].values()), record
        # The catalog's cache stamps books by their stat alone: it never needs their bytes.
        assert all(len(known["stamp"]) == 4 for known in doc["catalog_books"].values())
    again = _build(tmp_path, out)
    assert again.exit_code == 0 and "rebuilding" not in again.output and "writing" not in again.output, again.output
    assert _stats(out) == before


def test_stale_files_of_a_previous_version_state_are_left_never_removed(tmp_path):
    """A two-number stamp matches no file: a file gone stale at the upgrade (the book of a week
    that is gone, the archive pages that move) may be one the user edited keeping its size and
    time, and stays as it is (the book said so); the rest is as a fresh build makes it."""
    out, fresh = tmp_path / "out", tmp_path / "fresh"
    _inputs(tmp_path / "in")
    assert _build(tmp_path, out).exit_code == 0
    _as_previous_version(tmp_path / "state.json")
    _as_previous_version(tmp_path / "state.json.top")
    before = _tree(out)
    _inputs(tmp_path / "in", late_week=False)
    result = _build(tmp_path, out)
    assert result.exit_code == 0, result.output
    assert f"left {out / BOOK_W09} alone: {BOOK_W09} was recorded by an earlier version" in result.output
    assert "removed" not in result.output
    fresh_tmp = tmp_path / "f"
    fresh_tmp.mkdir()
    shutil.copy(tmp_path / "c.toml", fresh_tmp / "c.toml")
    assert _build(fresh_tmp, fresh, src=tmp_path / "in").exit_code == 0
    tree, want = _tree(out), _tree(fresh)
    left = set(tree) - set(want)
    assert {BOOK_W09, "daily-papers-2024-W09.cover.jpg", "top/daily-papers-top-2024-W09.epub"} <= left
    assert all(tree[name] == before[name] for name in left)  # each as it was: only left, never changed
    assert {name: data for name, data in tree.items() if name not in left} == want


# -- (d): a run with nothing to do writes nothing ---------------------------------------------------

def test_a_run_with_nothing_changed_writes_nothing(tmp_path, monkeypatch):
    # An input file changed within 2 s of being read is hashed again next time, and the state
    # then records it as trusted (exporter.reader.stamps.RACY_NS): only the stat decides here.
    monkeypatch.setattr("exporter.reader.stamps.RACY_NS", 0)
    out = tmp_path / "out"
    options = ("--format", "atom", "--format", "json", "--format", "opds")
    _inputs(tmp_path / "in")
    assert _build(tmp_path, out, *options).exit_code == 0
    states = [tmp_path / "state.json", tmp_path / "state.json.top"]
    written = _stats(out)
    for run in range(2):
        before = [tuple(Stamp.at(s)) for s in states]
        _tick()
        result = _build(tmp_path, out, *options)
        assert result.exit_code == 0, result.output
        assert "rebuilding" not in result.output and "writing" not in result.output, result.output
        # No output file written: the same inode, both times unchanged.
        assert _stats(out) == written
        # Nor the state: the catalog's records are saved as they read back (key order, "Z").
        assert [tuple(Stamp.at(s)) for s in states] == before


# -- the stamp and its schema ------------------------------------------------------------------------

def test_a_stamp_of_the_previous_version_reads_back_and_matches_no_file(tmp_path):
    import msgspec

    from exporter.gates import documents

    path = tmp_path / "f"
    path.write_bytes(b"x")
    st = os.stat(path)
    assert Stamp.of(st).matches(st)
    old = Stamp.stored(msgspec.to_builtins(msgspec.json.decode(
        json.dumps([st.st_size, st.st_mtime_ns]).encode(), type=documents.Stamp)))
    assert (old.size, old.mtime_ns) == (st.st_size, st.st_mtime_ns) and not old.matches(st)
    assert Stamp.stored([st.st_size, st.st_mtime_ns]) == old
    whole = msgspec.json.decode(json.dumps(list(Stamp.of(st))).encode(), type=documents.Stamp)
    assert Stamp.stored(msgspec.to_builtins(whole)) == Stamp.of(st)
    for bad in ([1, 2, 3], [1], [1, 2, 3, 4, 5], [-1, 2, 3, 4], [1, 2, 3, -2], [1, 2, 3, 2 ** 64], [1, 2, 3, True]):
        with pytest.raises(msgspec.ValidationError):
            msgspec.json.decode(json.dumps(bad).encode(), type=documents.Stamp)
    assert documents.Stamp(1, 2, 3, 2 ** 64 - 1).ino == 2 ** 64 - 1


def test_the_catalog_reads_a_book_again_when_its_stamp_is_not_whole(tmp_path, monkeypatch):
    """The catalog's cache of each book (``stamp``, ``cover_stamp``) uses the same stamp: a book
    swapped in with the same size and time, or a record of the previous version, is read again."""
    from exporter.site import opds
    from exporter.site.catalog_records import CatalogBooks

    out = tmp_path / "out"
    _inputs(tmp_path / "in")
    assert _build(tmp_path, out, selection=False).exit_code == 0
    doc = json.loads((tmp_path / "state.json").read_text("utf-8"))
    cache = doc["catalog_books"]
    book = out / BOOK_W09
    reads = []
    real = opds.read_book
    monkeypatch.setattr(opds, "read_book", lambda path, data=None: reads.append(path.name) or real(path, data))
    CatalogBooks(cache).read(book)
    assert reads == []  # as recorded: not opened
    legacy = {name: {**known, "stamp": known["stamp"][:2]} for name, known in cache.items()}
    CatalogBooks(legacy).read(book)
    assert reads == [BOOK_W09]
    cover = {name: {**known, "cover_stamp": known["cover_stamp"][:2]} for name, known in cache.items()}
    CatalogBooks(cover).read(book)
    assert reads == [BOOK_W09] * 2
    _change(book, "swap", _keeping_mark)
    CatalogBooks(cache).read(book)
    assert reads == [BOOK_W09] * 3
