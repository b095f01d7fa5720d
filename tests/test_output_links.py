"""Symbolic links in and under the output folder, and in the templates folder.

The one writer (exporter/output.py) follows no symbolic link below the output folder: a folder
on the way that is a link (``OUT/catalog -> ../ext``, or ``lnk/feed.atom`` named by a state that
anyone who can write the state may have written) stops a write with a message and a removal
without one, and a link at an output name is the user's, never replaced (unless it already leads
to the very bytes: nothing is written).  The output folder itself may be a link.  The templates
folder's loader reads no file whose real path is outside the folder.  Generated: every output
name and kind a build writes, every way a link can sit on the way.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from hostile_three import day, marked_document, paper, run_cli, two_papers
from state_helpers import write_sealed

from exporter.output import NotOurFileError, Stamp, output_root, remove_file, write_file
from exporter.errors import OutputError

BASE = "https://example.org/p/"


def _build(tmp: Path, out: Path, *extra: str):
    return run_cli(["build", str(tmp / "in"), "-o", str(out), "--images", "none", "--state", str(tmp / "state.json"),
                    "--base-url", BASE, "--archive", "--format", "atom", "--format", "rss", "--format", "json",
                    "--format", "opds", "--days", "1", *extra], tmp)


def _outputs(out: Path) -> list[str]:
    """Every file a build wrote in *out*, relative and POSIX (books, feeds, archives, catalog pages,
    covers, icon)."""
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A build's outputs, made once: the names and kinds every generated case picks from."""
    tmp = tmp_path_factory.mktemp("built")
    two_papers(tmp)
    (tmp / "in" / "b.md").write_text(day("2024-02-20", paper(7)), "utf-8")  # an archive page with --days 1
    out = tmp / "out"
    result = _build(tmp, out)
    assert result.exit_code == 0, result.output
    names = _outputs(out)
    assert any("/" in n for n in names) and any(n.endswith(".epub") for n in names), names
    return tmp, names


def _fresh(tmp: Path, built) -> Path:
    """*tmp* with the inputs and a copy of the built output folder and its state."""
    src, _ = built
    shutil.copytree(src / "in", tmp / "in")
    shutil.copytree(src / "out", tmp / "out", symlinks=True)
    shutil.copy2(src / "state.json", tmp / "state.json")
    return tmp / "out"


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# -- 1 (b): a folder below the output folder that is a link -----------------------------------

@pytest.mark.parametrize("dangling", [False, True])
def test_a_subfolder_that_is_a_link_is_never_written_through(tmp_path, built, dangling):
    """Each folder the build makes below the output folder (catalog/, archive/ when there is one)."""
    subs = sorted({n.split("/")[0] for n in built[1] if "/" in n})
    assert subs
    for sub in subs:
        here = tmp_path / sub
        here.mkdir()
        out = _fresh(here, built)
        shutil.rmtree(out / sub)
        ext = here / "ext"
        if not dangling:
            ext.mkdir()
            (ext / "mine.txt").write_text("the user's", "utf-8")
        (out / sub).symlink_to(os.path.relpath(ext, out))
        os.remove(here / "state.json")  # a first build: everything is written
        result = _build(here, out)
        assert result.exit_code == 1, result.output
        what = "a symbolic link to nothing" if dangling else "a symbolic link to a folder"
        assert f"{out / sub} is {what}; left alone" in result.output, result.output
        assert "not a folder" not in result.output
        if dangling:
            assert not ext.exists()
        else:
            assert _tree(ext) == {"mine.txt": b"the user's"}
        assert (out / sub).is_symlink()


def test_a_selection_folder_that_is_a_link_is_never_written_through(tmp_path, built):
    out = _fresh(tmp_path, built)
    ext = tmp_path / "ext"
    ext.mkdir()
    (out / "top").symlink_to(os.path.relpath(ext, out))
    config = tmp_path / "digest-export.toml"
    config.write_text('[[selection]]\nname = "top"\ntop = 1\n', "utf-8")
    result = run_cli(["--config", str(config), "build", str(tmp_path / "in"), "-o", str(out), "--images", "none",
                      "--state", str(tmp_path / "state.json")], tmp_path)
    assert result.exit_code in (1, 2), result.output
    assert "symbolic link" in result.output, result.output
    assert list(ext.iterdir()) == []


def test_the_output_folder_itself_may_be_a_link(tmp_path, built):
    src, names = built
    shutil.copytree(src / "in", tmp_path / "in")
    real = tmp_path / "disk" / "books"
    real.mkdir(parents=True)
    (tmp_path / "out").symlink_to(real)
    result = _build(tmp_path, tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert _outputs(real) == names


# -- 1 (a): a state that names a file through a link ------------------------------------------

@pytest.fixture(scope="module")
def victims(built):
    """Every output name and kind the build wrote (feeds, archives, catalog pages, covers, books)."""
    return built[1]


def test_a_state_naming_a_file_through_a_linked_folder_removes_nothing(tmp_path, built, victims):
    out = _fresh(tmp_path, built)
    victim = tmp_path / "victim"
    shutil.copytree(out, victim)  # each a file carrying the program's mark
    (out / "lnk").symlink_to(os.path.relpath(victim, out))
    before = _tree(victim)
    doc = json.loads((tmp_path / "state.json").read_text("utf-8"))
    # The state lists every file of the victim folder through the link, each with its stamp
    # (recomputing the seal is open to anyone who can write the state).
    files = {f"lnk/{name}": list(Stamp.at(victim / name)) for name in victims}
    for record in ("feeds", "catalog"):
        doc[record]["files"].update(files)
    write_sealed(tmp_path / "state.json", doc)
    # A new paper: the feeds and the catalog are written again, and what their records named and
    # this run did not write is stale.
    (tmp_path / "in" / "c.md").write_text(day("2024-03-05", paper(9)), "utf-8")
    result = _build(tmp_path, out)
    assert result.exit_code in (0, 1), result.output
    assert _tree(victim) == before
    assert (out / "lnk").is_symlink()
    # Said, not silently kept: a note naming the link, and no crash.
    assert f"{out / 'lnk' / 'feed.atom'} was not removed: {out / 'lnk'} is a symbolic link to a folder" \
        in result.output, result.output


@pytest.mark.parametrize("name", ["feed.atom", "catalog/x.opds", "a/b/c.json", "book.epub"])
def test_remove_file_follows_no_link_below_the_root(tmp_path, name):
    out, victim = tmp_path / "out", tmp_path / "victim"
    out.mkdir()
    (victim / name).parent.mkdir(parents=True, exist_ok=True)
    (victim / name).write_bytes(marked_document(name))
    (out / "lnk").symlink_to(os.path.relpath(victim, out))
    with output_root(out):
        assert not remove_file(out / "lnk" / name, Stamp.at(victim / name))
        with pytest.raises(OutputError, match="is a symbolic link to a folder; left alone"):
            write_file(out / "lnk" / name, b"x")
        with pytest.raises(OutputError, match="a way out of the output folder"):
            write_file(out / "sub" / ".." / ".." / "victim" / name, b"x")
    assert (victim / name).read_bytes() == marked_document(name)
    # Outside a run (no output root) the name's folders are the caller's: removed as before.
    assert remove_file(out / "lnk" / name, Stamp.at(victim / name))


# -- 2: a link at an output name --------------------------------------------------------------

def test_a_link_at_any_output_name_is_never_replaced(tmp_path, built, victims):
    """Every name the build writes, as a link to a marked file with other bytes: refused, named."""
    out = _fresh(tmp_path, built)
    elsewhere = tmp_path / "elsewhere"
    for name in victims:
        target = elsewhere / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(out / name, target)
        os.remove(out / name)
        (out / name).symlink_to(target)
    os.remove(tmp_path / "state.json")
    shutil.copytree(tmp_path / "in", tmp_path / "in2")
    (tmp_path / "in" / "a.md").write_text((tmp_path / "in" / "a.md").read_text("utf-8").replace(
        "Paper", "Changed paper"), "utf-8")
    before = _tree(elsewhere)
    result = _build(tmp_path, out)
    assert result.exit_code == 1, result.output
    assert "is a symbolic link to a regular file" in result.output, result.output
    for name in victims:
        assert (out / name).is_symlink(), name
    assert _tree(elsewhere) == before


@pytest.mark.parametrize("ours", [False, True])
def test_a_link_at_the_name_is_left_even_when_ours_or_marked(tmp_path, ours):
    target = tmp_path / "marked.atom"
    target.write_text("<?xml version='1.0' encoding='UTF-8'?>\n" '<feed xmlns="http://www.w3.org/2005/Atom"><generator uri="x">digest-export</generator></feed>', "utf-8")
    link = tmp_path / "feed.atom"
    link.symlink_to(target.name)
    with pytest.raises(NotOurFileError, match="is a symbolic link to a regular file"):
        write_file(link, b"new", ours=ours)
    assert link.is_symlink() and target.read_text("utf-8").startswith("<?xml version='1.0' encoding='UTF-8'?>\n<feed ")
    # A link to the very bytes: nothing to write, and the link stays.
    assert write_file(link, target.read_bytes()).value == "unchanged"
    assert link.is_symlink()


def test_a_dangling_link_at_an_output_name_says_so(tmp_path):
    link = tmp_path / "feed.rss"
    link.symlink_to("nowhere.rss")
    with pytest.raises(NotOurFileError) as err:
        write_file(link, b"x")
    assert "is a symbolic link to nothing" in str(err.value)
    assert "was not written" not in str(err.value)
    assert link.is_symlink() and not (tmp_path / "nowhere.rss").exists()


def test_epub_to_one_file_that_is_a_link_is_left(tmp_path, built):
    shutil.copytree(built[0] / "in", tmp_path / "in")
    made = tmp_path / "marked.epub"
    result = run_cli(["epub", str(tmp_path / "in"), "-o", str(made), "--images", "none", "--by", "all"], tmp_path)
    assert result.exit_code == 0, result.output
    (tmp_path / "in" / "a.md").write_text((tmp_path / "in" / "a.md").read_text("utf-8").replace(
        "Paper", "Other"), "utf-8")
    link = tmp_path / "lm.epub"
    link.symlink_to(made.name)
    before = made.read_bytes()
    result = run_cli(["epub", str(tmp_path / "in"), "-o", str(link), "--images", "none", "--by", "all"], tmp_path)
    assert result.exit_code == 1, result.output
    assert "is a symbolic link to a regular file" in result.output
    assert link.is_symlink() and made.read_bytes() == before


# -- 3: messages ------------------------------------------------------------------------------

def test_an_output_folder_that_is_a_character_device_is_named_so(tmp_path, built):
    shutil.copytree(built[0] / "in", tmp_path / "in")
    result = run_cli(["epub", str(tmp_path / "in"), "-o", "/dev/null", "--images", "none"], tmp_path)
    assert result.exit_code in (1, 2), result.output
    assert "character device" in result.output, result.output
    assert "is a file" not in result.output


# -- 4: templates ------------------------------------------------------------------------------

@pytest.mark.parametrize("name,how", [
    ("x.j2", "day"), ("epub.css", "css"), ("extra.css", "css"), ("index.html.j2", "page")])
def test_a_template_leading_outside_the_folder_is_refused(tmp_path, built, name, how):
    shutil.copytree(built[0] / "in", tmp_path / "in")
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-LINE", "utf-8")
    tp = tmp_path / "tp"
    tp.mkdir()
    (tp / name).symlink_to(secret)
    if how == "day":
        (tp / "day.xhtml.j2").write_text('{% extends "default:day.xhtml.j2" %}{% block day_heading %}'
                                         '{% include "x.j2" %}{{ super() }}{% endblock %}', "utf-8")
    args = ["build", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--images", "none",
            "--templates", str(tp)]
    result = run_cli(args, tmp_path)
    assert result.exit_code in (1, 2), result.output
    assert "outside the templates folder" in result.output, result.output
    assert repr(name) in result.output
    for p in (tmp_path / "out").rglob("*") if (tmp_path / "out").exists() else ():
        assert not p.is_file() or b"SECRET-LINE" not in p.read_bytes()


def test_a_template_linking_inside_the_folder_is_read(tmp_path, built):
    shutil.copytree(built[0] / "in", tmp_path / "in")
    tp = tmp_path / "tp"
    tp.mkdir()
    (tp / "real.css").write_text("p { margin: 0 }\n", "utf-8")
    (tp / "extra.css").symlink_to("real.css")
    result = run_cli(["epub", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--images", "none",
                      "--templates", str(tp)], tmp_path)
    assert result.exit_code == 0, result.output


def test_a_path_spelled_from_the_real_output_folder_is_checked_too(tmp_path):
    """The output folder a link (allowed); a path made from its real path still meets the rule."""
    real, victim = tmp_path / "disk", tmp_path / "victim"
    real.mkdir()
    victim.mkdir()
    (tmp_path / "out").symlink_to(real)
    (real / "catalog").symlink_to(victim)
    with output_root(tmp_path / "out"):
        for spelled in (tmp_path / "out", real):
            with pytest.raises(OutputError, match="catalog is a symbolic link to a folder; left alone"):
                write_file(spelled / "catalog" / "x.opds", b"x")
        assert write_file(tmp_path / "out" / "feed.atom", b"x").value == "written"
    assert list(victim.iterdir()) == [] and (real / "feed.atom").read_bytes() == b"x"


@pytest.mark.parametrize("folder, options", [("archive", ["--format", "atom"]),
                                             ("catalog", ["--format", "atom", "--archive"])])
def test_files_behind_a_linked_folder_are_removed_once_it_is_a_folder_again(tmp_path, folder, options):
    """A stale file left because its folder was a link is still owed: once the folder is back,
    the next run removes it and the output equals a fresh build."""
    src = tmp_path / "in"
    src.mkdir()
    for d in ("04", "12", "20"):
        (src / f"2024-03-{d}.md").write_text(day(f"2024-03-{d}", paper(int(d))), encoding="utf-8")
    out = tmp_path / "out"

    def build(target: Path, state: str, *extra: str):
        result = run_cli(["build", str(src), "-o", str(target), "--images", "none", "-q", "--state",
                          str(tmp_path / state), "--base-url", "https://example.org/p/", *extra], tmp_path)
        assert result.exit_code == 0, result.output
        return result

    build(out, "s.json", "--archive")
    assert (out / folder).is_dir() and any((out / folder).iterdir())
    (out / folder).rename(tmp_path / "elsewhere")
    os.symlink(tmp_path / "elsewhere", out / folder)
    build(out, "s.json", *options)  # the files there are stale now: left, behind the link
    assert any((tmp_path / "elsewhere").iterdir())
    (out / folder).unlink()
    (tmp_path / "elsewhere").rename(out / folder)
    build(out, "s.json", *options)
    fresh = tmp_path / "fresh"
    build(fresh, "f.json", *options)
    assert _tree(out) == _tree(fresh)
