"""An input file is known unchanged by its whole stat, as git's index knows it.

Size and modification time alone are not enough: `cp -p`, `touch -r` and
`rsync -t` give an edited file its old time back, and an edit of the same
size (a vote 2 -> 7) then looked unchanged.  The generator draws sequences
of same-size edits, each made in one of the ways that keep or restore the
old modification time (in place, replaced by a rename, copied with `cp -p`),
and checks after each that `build` leaves the folder as a fresh build
would; then that a run with nothing changed reads no input and writes
nothing, not even the state.

The "racy" window (a file changed within 2 s of being read is hashed next
time, whatever its stat) is set to zero here, so that only the stat decides:
each step waits a few clock ticks so that a new write has a new inode-change
time.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from test_hostile_round_two import run_cli

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
OLD_NS = 1_700_000_000 * 10**9  # a time long before the test: a stat old enough to trust
WORDS = ["alpha", "gamma", "delta", "omega"]  # one length: every edit keeps the size


def _text(day: int, vote: int, word: str) -> str:
    date = f"2024-03-{day:02d}"
    return (f"## Daily Papers ({date})\n\n### [Paper {word}](https://arxiv.org/abs/2403.{day:05d})\n\n"
            f"Vote: {vote}\n\nAuthors: A. B\n\n- ***What's New***: {word} results.\n")


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _tick() -> None:
    # File times come from the kernel's coarse clock (one jiffy, at most 10 ms).
    time.sleep(0.03)


def _edit(path: Path, text: str, how: str, scratch: Path) -> None:
    before = os.stat(path)
    times = (before.st_atime_ns, before.st_mtime_ns)
    if how == "in-place":  # sed -i's bytes with `touch -r keep` after
        with open(path, "r+b") as f:
            f.write(text.encode())
            f.truncate()
        os.utime(path, ns=times)
    elif how == "rename":  # an editor's save (new inode), its time set back
        tmp = scratch / "new"
        tmp.write_text(text, encoding="utf-8")
        os.utime(tmp, ns=times)
        os.replace(tmp, path)
    elif how == "cp-p":  # `cp -p other f.md` from a copy that kept the old time
        other = scratch / "other"
        other.write_text(text, encoding="utf-8")
        os.utime(other, ns=times)
        shutil.copy2(other, path)
    elif how == "touch-only":  # the same bytes again, time set back: nothing to rebuild
        path.write_bytes(path.read_bytes())
        os.utime(path, ns=times)
    else:  # "plain": a write that moves the time, the ordinary case
        path.write_text(text, encoding="utf-8")


step = st.tuples(st.integers(0, 2), st.integers(1, 9), st.sampled_from(WORDS),
                 st.sampled_from(["in-place", "rename", "cp-p", "touch-only", "plain"]))


@settings(max_examples=15, **SETTINGS)
@given(steps=st.lists(step, min_size=1, max_size=4))
@example(steps=[(0, 7, "alpha", "in-place")])
@example(steps=[(1, 2, "omega", "rename"), (1, 3, "omega", "cp-p")])
@example(steps=[(2, 2, "alpha", "touch-only"), (2, 5, "alpha", "in-place")])
def test_an_edit_that_keeps_size_and_time_is_seen(tmp_path_factory, monkeypatch, steps):
    from exporter.reader import stamps

    monkeypatch.setattr(stamps, "RACY_NS", 0)
    tmp = tmp_path_factory.mktemp("stamps")
    logs, scratch = tmp / "logs", tmp / "scratch"
    logs.mkdir()
    scratch.mkdir()
    files = {n: (n + 4, 2, "alpha") for n in range(3)}  # file -> (day, vote, word)
    for n, (day, vote, word) in files.items():
        (logs / f"f{n}.md").write_text(_text(day, vote, word), encoding="utf-8")
        os.utime(logs / f"f{n}.md", ns=(OLD_NS, OLD_NS))
    state = tmp / "state.json"

    def build(out: Path, state_file: Path, *extra: str):
        result = run_cli(["build", str(logs), "-o", str(out), "--images", "none", "--format", "atom",
                          "--state", str(state_file), *extra], tmp)
        assert result.exit_code == 0, result.output
        return result

    _tick()
    build(tmp / "out", state)
    for i, (n, vote, word, how) in enumerate(steps):
        _tick()
        day = files[n][0]
        if how != "touch-only":
            files[n] = (day, vote, word)
        _edit(logs / f"f{n}.md", _text(*files[n]), how, scratch)
        _tick()
        build(tmp / "out", state)
        build(tmp / f"fresh{i}", tmp / f"fresh{i}.json")
        assert _tree(tmp / "out") == _tree(tmp / f"fresh{i}"), (steps[: i + 1])

    # Nothing changed since: no input is opened, no file written, the state left as it was.
    _tick()
    build(tmp / "out", state)  # the last edit's stat is trusted from here on
    saved = (state.read_bytes(), os.stat(state).st_mtime_ns)
    opened = []
    real = stamps.read_input
    monkeypatch.setattr(stamps, "read_input", lambda path: opened.append(path) or real(path))
    result = build(tmp / "out", state, "-v")
    assert opened == [], opened
    assert "files: 0 written" in result.output, result.output
    assert (state.read_bytes(), os.stat(state).st_mtime_ns) == saved
