"""The incremental build is exact: after any sequence of edits, renames,
deletions, option and template changes (any set of --format, opds alone
too, --archive and --base-url on and off, [[selection]] tables added,
changed and removed), `build` leaves the folder as a fresh `build` of the
same inputs into an empty folder would, byte for byte, and never touches a
file it did not write.

Hypothesis draws the edit sequences; each step runs `build` twice (the
folder carried over from the previous steps, and an empty one) and compares.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from exporter.state import STATE_NAME
from exporter.cli import main

START = dt.date(2024, 3, 4)  # a Monday
FOREIGN = {"notes.txt": b"mine", "foreign.epub": b"PK not really a book",
           # a cover-like name of a book these inputs never make (a cover
           # file in the way of one they do make: tests/test_build.py)
           "digest-2024-W30.cover.jpg": b"my own picture"}


def day_text(date: dt.date, n: int, words: str, title: str = "Digest", flip: bool = False) -> str:
    out = [f"## {title} ({date.isoformat()})", ""]
    for i in range(n):
        ident = f"{date:%y%m}.{date.day:02d}{i:03d}"
        vote = n - i if flip else i + 1  # flipped: another paper is the day's top one
        out += [f"### [Paper {date} {i} {words}](https://arxiv.org/abs/{ident})", "", f"Vote: {vote}", "",
                "Authors: A. B", "", f"- ***What's New***: {words} for {date} item {i}.", ""]
    return "\n".join(out)


# An action is a tuple; the world is {file name: [(day offset, n, words)]}, options, template text.
ACTIONS = st.one_of(
    st.tuples(st.just("add"), st.integers(0, 24), st.integers(1, 3)),
    st.tuples(st.just("append_to_archive"), st.integers(0, 24), st.integers(1, 3)),
    st.tuples(st.just("edit"), st.integers(0, 10), st.sampled_from(["alpha", "beta", "gamma"])),
    st.tuples(st.just("delete"), st.integers(0, 10)),
    st.tuples(st.just("rename"), st.integers(0, 10)),
    st.tuples(st.just("redate"), st.integers(0, 10), st.integers(0, 24)),
    st.tuples(st.just("option"), st.sampled_from([(), ("--title", "Other"), ("--from", "2024-03-11"),
                                                   ("--by", "month"), ("--lang", "en"), ("--days", "2"),
                                                   ("--finished-only", "--today", "2024-03-18")])),
    st.tuples(st.just("template"), st.sampled_from(["", "<p>extra</p>"])),
    # [[selection]] tables: new, removed, filters changed; a vote change moving a paper in or out of a top N
    st.tuples(st.just("selections"), st.sampled_from(list(range(5)))),
    st.tuples(st.just("vote"), st.integers(0, 10)),
    # what the build writes, in the top folder and in each selection's: any set of formats
    # (none: the default, all four), the RFC 5005 archives, the base URL (the icon, self links)
    st.tuples(st.just("formats"), st.sets(st.sampled_from(["atom", "rss", "json", "opds"]))),
    st.tuples(st.just("archive"), st.booleans()),
    st.tuples(st.just("base_url"), st.booleans()),
)
SELECTIONS = [
    "",
    '[[selection]]\nname = "top"\ntop = 1\n',
    '[[selection]]\nname = "top"\ntop = 2\ntitle = "Top two"\n',
    '[[selection]]\nname = "top"\ntop = 1\n[[selection]]\nname = "words"\nmatch = ["alpha", "re:\\\\bbeta\\\\b"]\n',
    '[[selection]]\nname = "votes"\nmin-votes = 2\nexclude = ["gamma"]\n',
]


class World:
    def __init__(self, root: Path):
        self.logs = root / "logs"
        self.logs.mkdir()
        self.templates = root / "templates"
        self.templates.mkdir()
        self.files: dict[str, list[tuple[int, int, str]]] = {}
        self.options: tuple[str, ...] = ()
        self.formats: frozenset[str] = frozenset()
        self.archive = False
        self.base_url = False
        self.counter = 0
        self.flipped: set[str] = set()
        self.config = root / "digest-export.toml"
        self.config.write_text("", encoding="utf-8")

    def write(self, name: str) -> None:
        days = self.files[name]
        text = "\n\n".join(day_text(START + dt.timedelta(days=d), n, w, flip=name in self.flipped)
                           for d, n, w in days)
        (self.logs / name).write_text(text + "\n", encoding="utf-8")

    def pick(self, i: int) -> str | None:
        names = sorted(self.files)
        return names[i % len(names)] if names else None

    def apply(self, action: tuple) -> None:
        kind = action[0]
        if kind == "add":
            self.counter += 1
            name = f"day{self.counter}.md"
            self.files[name] = [(action[1], action[2], "base")]
            self.write(name)
        elif kind == "append_to_archive":
            self.files.setdefault("archive.md", []).append((action[1], action[2], "arch"))
            self.write("archive.md")
        elif kind in ("edit", "delete", "rename", "redate"):
            name = self.pick(action[1])
            if name is None:
                return
            if kind == "edit":
                d, n, _ = self.files[name][-1]
                self.files[name][-1] = (d, n, action[2])
                self.write(name)
            elif kind == "delete":
                del self.files[name]
                (self.logs / name).unlink()
            elif kind == "rename":
                self.counter += 1
                new = f"renamed{self.counter}.md"
                self.files[new] = self.files.pop(name)
                (self.logs / name).rename(self.logs / new)
            else:
                _, n, w = self.files[name][0]
                self.files[name][0] = (action[2], n, w)
                self.write(name)
        elif kind == "option":
            self.options = action[1]
        elif kind in ("formats", "archive", "base_url"):
            setattr(self, kind, action[1])
        elif kind == "selections":
            self.config.write_text(SELECTIONS[action[1]], encoding="utf-8")
        elif kind == "vote":
            name = self.pick(action[1])
            if name is not None:
                self.flipped ^= {name}
                self.write(name)
        elif kind == "template":
            path = self.templates / "day.xhtml.j2"
            if action[1]:
                path.write_text('{% extends "default:day.xhtml.j2" %}{% block day_heading %}{{ super() }}'
                                + action[1] + "{% endblock %}", encoding="utf-8")
            elif path.exists():
                path.unlink()


    def output_options(self) -> list[str]:
        out = [arg for f in sorted(self.formats) for arg in ("--format", f)]
        if self.archive and (not self.formats or "atom" in self.formats):  # archives need the Atom feed
            out.append("--archive")
        return out + (["--base-url", "https://example.org/papers/"] if self.base_url else [])


def build(world: World, out: Path):
    # --allow-empty: with every digest deleted, the folder must be what a fresh build makes.
    return CliRunner().invoke(main, ["--config", str(world.config), "build", str(world.logs), "-o", str(out), "--images", "none", "-q",
                                     "--allow-empty", "-j", "1", "--templates", str(world.templates),
                                     *world.output_options(), *world.options])


def _start(root: Path, book: bool = False) -> tuple[World, Path, dict[str, bytes]]:
    """A world of one digest day, and an output folder holding files of someone else's (with
    *book*, a real EPUB among them: one of ours under another name); those files."""
    world = World(root)
    world.apply(("add", 0, 2))
    out = root / "out"
    out.mkdir()
    foreign = {**FOREIGN, "someone-else.epub": _foreign_book(root, world)} if book else FOREIGN
    for name, data in foreign.items():
        (out / name).write_bytes(data)
    return world, out, foreign


def snapshot(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and p.name != STATE_NAME}


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(ACTIONS, min_size=2, max_size=5))
# A selection's folder (three weeks: two archived) after the catalog, a feed and the archives are
# dropped: no catalog, pages, OPDS 2 twins, catalog covers or archives left behind, and the front
# page no longer links them.
@example(actions=[("add", 8, 2), ("add", 16, 1), ("selections", 1), ("formats", {"atom", "opds", "json"}),
                  ("archive", True), ("formats", {"atom"}), ("archive", False)])
# --format opds alone: the icon that the feeds wrote is the catalog's now, in every folder.
@example(actions=[("selections", 3), ("base_url", True), ("formats", {"opds"}), ("formats", {"rss"})])
def test_incremental_build_equals_a_fresh_build(tmp_path_factory, actions):
    root = tmp_path_factory.mktemp("exact")
    world, out, _ = _start(root)
    foreign_stat = {n: os.stat(out / n).st_mtime_ns for n in FOREIGN}
    for step, action in enumerate([("option", ())] + actions):
        world.apply(action)
        result = build(world, out)
        fresh = root / f"fresh{step}"
        expected = build(world, fresh)
        assert result.exit_code == expected.exit_code, (action, result.output, expected.output)
        got = snapshot(out)
        for name, data in FOREIGN.items():
            assert got.pop(name) == data, f"{name} was touched"
            assert os.stat(out / name).st_mtime_ns == foreign_stat[name]
        want = {n: d for n, d in (snapshot(fresh) if fresh.exists() else {}).items() if n not in FOREIGN}
        assert sorted(got) == sorted(want), (actions[:step], action)
        for name in want:
            assert got[name] == want[name], (name, actions[:step], action)


# `feed` and `epub` keep no state; `build` after them must still leave the folder as a fresh build
# does (the covers `feed --format opds` made for an EPUB of someone else's, a feed format or the
# books of `epub --by day` that the build does not make: gone), and `feed`/`epub` after `build`
# write what a fresh run of theirs writes, and nothing more.
COMMANDS = st.one_of(
    st.tuples(st.just("build"), st.sets(st.sampled_from(["atom", "rss", "json", "opds"]))),
    st.tuples(st.just("feed"), st.sets(st.sampled_from(["atom", "rss", "json", "opds"]), min_size=1)),
    st.tuples(st.just("epub"), st.sampled_from(["week", "day"])),
    st.tuples(st.just("add"), st.integers(0, 24), st.integers(1, 3)),
)


def _foreign_book(root: Path, world: World) -> bytes:
    """A real EPUB of another name: one of ours, copied (it carries the mark; no state names it)."""
    scratch = root / "scratch"
    assert build(world, scratch).exit_code == 0
    return next(scratch.glob("*.epub")).read_bytes()


def _command(world: World, command: tuple, out: Path):
    kind = command[0]
    common = ["--config", str(world.config)]
    if kind == "build":
        return CliRunner().invoke(main, [*common, "build", str(world.logs), "-o", str(out), "--images", "none", "-q",
                                         "-j", "1", *[a for f in sorted(command[1]) for a in ("--format", f)]])
    if kind == "feed":
        return CliRunner().invoke(main, [*common, "feed", str(world.logs), "-o", str(out), "-q",
                                         *[a for f in sorted(command[1]) for a in ("--format", f)]])
    return CliRunner().invoke(main, [*common, "epub", str(world.logs), "-o", str(out), "--images", "none", "-q",
                                     "-j", "1", "--by", command[1]])


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(COMMANDS, min_size=1, max_size=5))
# The tester's sequence: the catalog of the folder (with an EPUB of someone else's), then a build.
@example(commands=[("feed", {"opds"}), ("build", set())])
@example(commands=[("epub", "day"), ("feed", {"opds", "rss"}), ("build", {"atom"}), ("feed", {"opds"})])
def test_feed_epub_and_build_in_one_folder_equal_fresh_runs(tmp_path_factory, commands):
    root = tmp_path_factory.mktemp("interleaved")
    world, out, foreign = _start(root, book=True)
    for step, command in enumerate([("build", set())] + commands):
        if command[0] == "add":
            world.apply(command)
            continue
        before = snapshot(out)
        result = _command(world, command, out)
        fresh = root / f"fresh{step}"
        fresh.mkdir()
        if command[0] == "feed":  # the catalog of the folder lists the EPUBs in it: the same ones
            for book in out.glob("*.epub"):
                (fresh / book.name).write_bytes(book.read_bytes())
        else:
            for name, data in foreign.items():
                (fresh / name).write_bytes(data)
        expected = _command(world, command, fresh)
        assert result.exit_code == expected.exit_code == 0, (command, result.output, expected.output)
        got, want = snapshot(out), snapshot(fresh)
        for name, data in foreign.items():
            assert got[name] == data, f"{name} was touched"
        for name in want:
            assert got.get(name) == want[name], (name, commands[:step], command)
        if command[0] == "build":  # exactly a fresh build: nothing left of an earlier command
            assert sorted(got) == sorted(want), (commands[:step], command)
        else:  # nothing beyond what a fresh run writes; what a build wrote stays (no state to say)
            assert set(got) <= set(want) | set(before), (commands[:step], command)
