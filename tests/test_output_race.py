"""A folder below the output folder swapped for a symbolic link while the writer works.

Checking each folder on the way with ``lstat`` and then writing by path leaves a window: a folder
(``OUT/archive``, ``OUT/NAME`` of a selection, ``OUT/catalog``) replaced by a link to elsewhere
after the check and before the temporary file is made, renamed or a file unlinked would carry the
write or the removal out of the output folder.  The writer closes it by construction: it walks the
folders by descriptor, each opened without following a link, and makes, renames and unlinks names
relative to the open folder.  Each test here swaps the folder at the worst moments: back to a real
folder for the length of each check of the way, a link to elsewhere right after the check returns
and whenever no check runs (deterministic: the check is wrapped), and asserts that nothing outside
the output folder is created, changed or removed.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from hostile_three import day, paper, run_cli

from exporter import output
from exporter.errors import OutputError
from exporter.gates import files as gate_files
from exporter.output import STALE_AFTER, Stamp, output_root, remove_file, remove_stale_parts, write_file

MARKED = b"<?xml version='1.0' encoding='UTF-8'?>\n" b'<feed xmlns="http://www.w3.org/2005/Atom"><generator uri="x">digest-export</generator></feed>'

#: Folders below the output folder a run writes into, one or two levels down.
FOLDERS = ["archive", "catalog", "top/archive"]


def _tree(folder: Path) -> dict[str, bytes | str]:
    """Every entry under *folder* (hidden ones too), files with their bytes."""
    found: dict[str, bytes | str] = {}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        found[rel] = "link" if p.is_symlink() else p.read_bytes() if p.is_file() else "folder"
    return found


class Swapper:
    """An attacker who times the swap perfectly: the folder *sub* below the output folder is moved
    away (to *victim*, outside the output folder, with *move*; else aside) and a symbolic link to
    *victim* put in its place, and the writer's check of the way (``gates.files.link_on_way``,
    wrapped) sees the real folder back in place for the length of each check: whatever is done
    between two checks meets the link.  *checks*: how many checks of the way into *sub* ran."""

    def __init__(self, monkeypatch, out: Path, sub: str, victim: Path, *, move: bool = False):
        self.checks = 0
        here = out / sub
        aside = victim if move else here.with_name(here.name + ".moved")
        real = gate_files.link_on_way
        want = tuple(sub.split("/"))

        def swap():
            here.rename(aside)
            here.symlink_to(os.path.relpath(victim, here.parent))

        def checked(root, parts):
            mine = tuple(parts[:len(want)]) == want
            if mine and here.is_symlink():  # back in place for the check
                here.unlink()
                aside.rename(here)
            result = real(root, parts)
            if mine and here.is_dir() and not here.is_symlink():
                self.checks += 1
                swap()
            return result

        swap()
        monkeypatch.setattr(gate_files, "link_on_way", checked)


def _setup(tmp_path: Path, sub: str) -> tuple[Path, Path]:
    out, victim = tmp_path / "out", tmp_path / "victim"
    (out / sub).mkdir(parents=True)
    victim.mkdir()
    (victim / "mine.txt").write_bytes(b"the user's")
    return out, victim


@pytest.mark.parametrize("sub", FOLDERS)
@pytest.mark.parametrize("existing", [False, True])
def test_a_write_never_lands_outside_when_the_folder_is_swapped_after_the_check(tmp_path, monkeypatch, sub,
                                                                                   existing):
    """*existing*: the victim folder holds a marked file of the output's name (a file the state
    or the mark would let the writer replace, had it followed the link)."""
    out, victim = _setup(tmp_path, sub)
    if existing:
        (victim / "feed.atom").write_bytes(MARKED)
        (out / sub / "feed.atom").write_bytes(MARKED)
    before = _tree(victim)
    Swapper(monkeypatch, out, sub, victim)
    with output_root(out):
        try:
            write_file(out / sub / "feed.atom", MARKED + b"new")
            refused = ""
        except OutputError as err:
            refused = str(err)
    assert _tree(victim) == before  # nothing made, changed or removed there
    assert f"{out / sub} is a symbolic link to a folder; left alone" in refused


@pytest.mark.parametrize("sub", FOLDERS)
def test_a_removal_never_reaches_outside_when_the_folder_is_swapped_after_the_check(tmp_path, monkeypatch, sub):
    out, victim = _setup(tmp_path, sub)
    (victim / "feed.atom").write_bytes(MARKED)
    stamp = Stamp.at(victim / "feed.atom")  # what a state that anyone can write may say
    before = _tree(victim)
    Swapper(monkeypatch, out, sub, victim)
    with output_root(out):
        assert not remove_file(out / sub / "feed.atom", stamp)
    assert _tree(victim) == before


def test_an_empty_folder_outside_is_never_removed(tmp_path):
    """Stale ``archive/`` and selection folders are removed when empty, reached as files are."""
    from exporter.output import remove_folder

    out, victim = _setup(tmp_path, "x")
    (out / "x").rmdir()
    (out / "x").symlink_to(victim)
    (victim / "empty").mkdir()
    with output_root(out):
        assert not remove_folder(out / "x" / "empty")
        assert not remove_folder(out / "x")  # the link itself is not a folder to remove
    assert (victim / "empty").is_dir() and (out / "x").is_symlink()


@pytest.mark.parametrize("sub", FOLDERS)
def test_stale_temporary_files_outside_are_never_removed(tmp_path, monkeypatch, sub):
    """A write that cleans up stale ``.NAME.*.part`` files beside its target does so in the folder
    it checked, never in the one a link leads to."""
    out, victim = _setup(tmp_path, sub)
    part = victim / ".feed.atom.killedxx.part"
    part.write_bytes(b"the user's, with a look-alike name")
    old = time.time() - STALE_AFTER - 60
    os.utime(part, (old, old))
    before = _tree(victim)
    Swapper(monkeypatch, out, sub, victim)
    with output_root(out):
        with pytest.raises(OutputError):
            write_file(out / sub / "feed.atom", MARKED)
        # Called directly with a link on the way already there: nothing removed either.
        assert remove_stale_parts(out / sub / "feed.atom") == []
    assert _tree(victim) == before


def _linked(tmp_path: Path) -> tuple[Path, Path, Stamp, dict]:
    """An output folder whose ``x`` is a link to the user's folder, which holds a marked
    ``feed.atom``: (output folder, user's folder, that file's stamp, the user's folder as it is)."""
    out, victim = _setup(tmp_path, "x")
    (out / "x").rmdir()
    (out / "x").symlink_to(victim)
    (victim / "feed.atom").write_bytes(MARKED)
    return out, victim, Stamp.at(victim / "feed.atom"), _tree(victim)


def test_the_walk_refuses_a_link_it_meets_even_without_the_check(tmp_path, monkeypatch):
    """The descriptor walk is the guard, not the ``lstat`` check before it: with the check made
    to say "clear" always, a link below the output folder still stops every write and removal."""
    out, victim, stamp, before = _linked(tmp_path)
    monkeypatch.setattr(gate_files, "link_on_way", lambda root, parts: None)
    with output_root(out):
        with pytest.raises(OutputError, match="x is a symbolic link to a folder; left alone"):
            write_file(out / "x" / "feed.atom", b"x")
        with pytest.raises(OutputError, match="x is a symbolic link to a folder; left alone"):
            write_file(out / "x" / "new" / "deeper.atom", b"x")
        assert not remove_file(out / "x" / "feed.atom", stamp)
        assert remove_stale_parts(out / "x" / "feed.atom") == []
        # Nor a ``..`` below the output folder, which openat() would follow up.
        with pytest.raises(OutputError, match="a way out of the output folder"):
            write_file(out / "sub" / ".." / ".." / "victim" / "feed.atom", b"x")
        assert not remove_file(out / "sub" / ".." / ".." / "victim" / "feed.atom", stamp)
    assert _tree(victim) == before and (out / "x").is_symlink()


def test_writes_and_removals_below_the_root_still_work(tmp_path):
    """The walk makes missing folders (as ``mkdir -p``), writes with the user's umask, removes a
    file of the program's, and an empty folder; the output folder itself may be a link."""
    from exporter.output import remove_folder

    real = tmp_path / "disk"
    real.mkdir()
    out = tmp_path / "out"
    out.symlink_to(real)
    with output_root(out):
        path = out / "a" / "b" / "feed.atom"
        assert write_file(path, MARKED).value == "written"
        assert write_file(path, MARKED).value == "unchanged"
        assert (real / "a" / "b" / "feed.atom").read_bytes() == MARKED
        assert (path.stat().st_mode & 0o777) == output._MODE
        assert [p.name for p in (real / "a" / "b").iterdir()] == ["feed.atom"]  # no temporary file left
        assert remove_file(path, Stamp.at(path))
        assert not path.exists()
        assert remove_folder(out / "a" / "b") and not (real / "a" / "b").exists()
        assert not remove_folder(out / "a" / "missing")


def _build(tmp: Path, out: Path, *extra: str):
    return run_cli(["build", str(tmp / "in"), "-o", str(out), "--images", "none", "-q", "--state",
                    str(tmp / "state.json"), "--base-url", "https://example.org/p/", "--format", "atom",
                    "--days", "1", *extra], tmp)


def test_a_build_with_archives_never_writes_or_removes_outside(tmp_path, monkeypatch):
    """The whole CLI: an incremental build whose archive folder is moved out of the output folder,
    and a link to it put in its place, right after the check of the way into it: once while
    archives are written, once while stale ones are removed (``--archive`` dropped).  Its files
    are the program's own, of the very stamps the state records: only the way makes them not
    the output's any more."""
    src = tmp_path / "in"
    src.mkdir()
    for d in ("04", "12", "20"):
        (src / f"2024-03-{d}.md").write_text(day(f"2024-03-{d}", paper(int(d))), encoding="utf-8")
    out, victim = tmp_path / "out", tmp_path / "victim"
    result = _build(tmp_path, out, "--archive")
    assert result.exit_code == 0, result.output
    before = _tree(out / "archive")
    assert before
    (src / "2024-03-28.md").write_text(day("2024-03-28", paper(28)), encoding="utf-8")
    Swapper(monkeypatch, out, "archive", victim, move=True)
    result = _build(tmp_path, out, "--archive")
    assert result.exit_code == 1, result.output
    assert "archive is a symbolic link to a folder; left alone" in result.output
    assert _tree(victim) == before
    # The folder back; the next build drops --archive: its files are stale, and the swap after the
    # check leaves them where they went (a later run removes them once the folder is back).
    (out / "archive").unlink()
    victim.rename(out / "archive")
    monkeypatch.undo()
    result = _build(tmp_path, out, "--archive")
    assert result.exit_code == 0, result.output
    before = _tree(out / "archive")
    Swapper(monkeypatch, out, "archive", victim, move=True)
    result = _build(tmp_path, out)
    assert result.exit_code == 0, result.output
    assert _tree(victim) == before


def test_without_the_at_calls_the_check_still_refuses_links(tmp_path, monkeypatch):
    """On a system without ``openat()`` and its kin (``os.supports_dir_fd``) the writer falls back
    to the ``lstat`` check and paths: a link already on the way is still refused, as before."""
    from exporter.output import remove_folder

    monkeypatch.setattr(output, "_AT", False)
    out, victim, stamp, before = _linked(tmp_path)
    with output_root(out):
        with pytest.raises(OutputError, match="x is a symbolic link to a folder; left alone"):
            write_file(out / "x" / "feed.atom", b"x")
        assert not remove_file(out / "x" / "feed.atom", stamp)
        assert remove_stale_parts(out / "x" / "feed.atom") == []
        path = out / "a" / "feed.atom"
        assert write_file(path, MARKED).value == "written" and write_file(path, MARKED).value == "unchanged"
        assert remove_file(path, Stamp.at(path)) and remove_folder(out / "a")
    assert _tree(victim) == before and sorted(p.name for p in out.iterdir()) == ["x"]
