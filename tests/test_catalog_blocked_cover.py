"""A cover the catalog could not write comes once the file in its way is gone.

A file of the user's at a book's cover name (``NAME.cover.jpg``, or its
thumbnail's) is left alone and the book is listed without a cover.  Once
that file is moved away, or replaced by another of the user's, the next
``build`` makes the folder what a fresh build makes: the catalog is not
"unchanged" because the books are (the names beside them are an input of the
catalog too), and the book's record is not remembered as coverless.
"""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from hostile_three import SETTINGS, day, paper, run_cli
from exporter.state import STATE_NAME

WEEK11 = "daily-papers-2024-W11"


def _build(tmp: Path, folder: Path, out: Path, state: str):
    result = run_cli(["build", str(folder), "-o", str(out), "--images", "none", "-q", "-j", "1",
                      "--state", str(tmp / state), "--base-url", "https://example.org/p/"], tmp)
    assert result.exit_code == 0, result.output
    return result


def _files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and p.name != STATE_NAME}


@settings(max_examples=8, **SETTINGS)
@given(name=st.sampled_from([f"{WEEK11}.cover.jpg", f"{WEEK11}.cover.thumb.jpg"]),
       blocker=st.sampled_from(["file", "folder", "link"]),
       then=st.sampled_from(["removed", "removed-later", "changed-then-removed"]))
def test_a_cover_in_the_way_of_a_file_comes_once_the_file_is_gone(tmp_path_factory, name, blocker, then):
    tmp = tmp_path_factory.mktemp("blocked")
    folder = tmp / "in"
    folder.mkdir()
    (folder / "a.md").write_text(day("2024-03-04", paper(1)), encoding="utf-8")
    out = tmp / "out"
    _build(tmp, folder, out, "state.json")
    # The user's file at the name the next week's cover would take.
    path = out / name
    if blocker == "file":
        path.write_bytes(b"mine")
    elif blocker == "folder":
        path.mkdir()
        (path / "notes.txt").write_text("mine", encoding="utf-8")
    else:
        (tmp / "elsewhere.jpg").write_bytes(b"mine")
        os.symlink(tmp / "elsewhere.jpg", path)
    (folder / "b.md").write_text(day("2024-03-11", paper(2)), encoding="utf-8")
    _build(tmp, folder, out, "state.json")
    assert f"{WEEK11}.cover" not in (out / "catalog.opds").read_text("utf-8")  # listed without a cover
    _build(tmp, folder, out, "state.json")  # nothing changed: still without a cover, nothing lost
    if then == "changed-then-removed" and blocker == "file":
        path.write_bytes(b"mine, edited")
        _build(tmp, folder, out, "state.json")
    if blocker == "folder":
        (path / "notes.txt").unlink()
        path.rmdir()
    else:
        path.unlink()
    _build(tmp, folder, out, "state.json")
    if then == "removed-later":
        _build(tmp, folder, out, "state.json")
    fresh = tmp / "fresh"
    _build(tmp, folder, fresh, "fresh.json")
    assert _files(out) == _files(fresh)
    assert (out / f"{WEEK11}.cover.jpg").is_file() and (out / f"{WEEK11}.cover.thumb.jpg").is_file()
