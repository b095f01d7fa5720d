"""A build killed outright (SIGKILL, the kernel's out-of-memory killer, a CI job's time limit)
says nothing to the next one but the log of the files it was putting in place: the next build
takes those that hold the logged bytes as its own (it removes the ones it no longer makes, and
replaces the others), removes the temporary files it left, and leaves the folder as a fresh
build of the same inputs and config would.

The kill is made exact here: a child runs the program with its rename of the N-th file replaced
by ``os._exit`` (no handler, no ``finally``, no ``atexit``: what SIGKILL leaves), just after the
rename or just before it (the temporary file written, the rename not made)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}

#: The program, with the N-th rename of a temporary file into place ending the process.
KILLER = """
import os, sys
at, where = int(os.environ["KILL_AT"]), os.environ["KILL_WHERE"]
real, seen = os.replace, [0]
def replace(src, dst, **kw):
    if str(src).endswith(".part"):
        seen[0] += 1
        if seen[0] == at and where == "before":
            os._exit(137)
        real(src, dst, **kw)
        if seen[0] == at and where == "after":
            os._exit(137)
        return
    real(src, dst, **kw)
os.replace = replace
sys.argv = ["digest-export", *sys.argv[1:]]
from exporter.__main__ import main
main()
"""

CONFIG = """
[[selection]]
name = "top"
title = "Top 2 a day"
top = 2
"""
#: What the killed run was asked for: a selection more, and the other retitled (its books renamed).
CHANGED = """
[[selection]]
name = "top"
title = "Top two"
top = 2

[[selection]]
name = "robots"
match = ["robot", "video"]
"""


@pytest.fixture(scope="module")
def days(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("killed") / "days"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "corpus.py"), str(folder), "--days", "24",
                    "--papers", "240"], check=True, capture_output=True)
    return folder


def build(days: Path, out: Path, state: Path, config: Path, *extra: str, kill: tuple[int, str] | None = None):
    args = ["--config", str(config), "build", str(days), "-o", str(out), "--images", "none", "-q", "-j", "1",
            "--today", "2030-01-01", *extra]
    env = dict(ENV, XDG_STATE_HOME=str(state))
    if kill is None:
        return subprocess.run([sys.executable, "-m", "exporter", *args], env=env, capture_output=True, text=True)
    env.update(KILL_AT=str(kill[0]), KILL_WHERE=kill[1])
    return subprocess.run([sys.executable, "-c", KILLER, *args], env=env, capture_output=True, text=True)


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("at,where", [(2, "after"), (7, "after"), (15, "after"), (4, "before"), (12, "before")])
def test_a_build_after_one_killed_outright_ends_as_a_fresh_build(tmp_path, days, at, where):
    """The killed run built by month (other books, covers and pages), with another selection and
    another title: the next build, by week with the first config, exits 0 and equals a fresh one."""
    config, changed = tmp_path / "a.toml", tmp_path / "b.toml"
    config.write_text(CONFIG, encoding="utf-8")
    changed.write_text(CHANGED, encoding="utf-8")
    out, state = tmp_path / "out", tmp_path / "state"
    assert build(days, out, state, config).returncode == 0
    killed = build(days, out, state, changed, "--by", "month", kill=(at, where))
    assert killed.returncode == 137, killed.stderr
    logs = list(state.rglob("*.writing.log"))
    assert logs, "the killed run logged what it was putting in place"
    again = build(days, out, state, config)
    assert again.returncode == 0, again.stderr
    fresh = tmp_path / "fresh"
    assert build(days, fresh, tmp_path / "fresh-state", config).returncode == 0
    assert tree(out) == tree(fresh)
    assert not list(state.rglob("*.writing.log"))  # recorded by the state now: the logs are gone
    # And a run that changes nothing writes nothing.
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    assert build(days, out, state, config).returncode == 0
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before


def test_a_killed_runs_temporary_file_goes_when_its_log_is_lost(tmp_path, days):
    """The run's record (not the log) makes a temporary file a leftover: one a killed run left for
    a name no later build writes (a month's cover) goes with its log deleted too, and a user's
    look-alike for a name of another kind stays."""
    config = tmp_path / "a.toml"
    config.write_text("", encoding="utf-8")
    out, state = tmp_path / "out", tmp_path / "state"
    assert build(days, out, state, config).returncode == 0
    killed = build(days, out, state, config, "--by", "month", kill=(2, "before"))
    assert killed.returncode == 137
    left = [p.name for p in out.glob(".daily-papers-20??-??.*.part")]
    assert left, "the killed run left the temporary file of a month's book or cover"
    for log in state.rglob("*.writing.log"):
        log.unlink()
    token = left[0].rsplit(".", 2)[-2][:5]
    mine = out / f".notes.txt.{token}xyz.part"  # the killed run's token, for a name of another kind
    mine.write_text("mine", encoding="utf-8")
    assert build(days, out, state, config).returncode == 0
    assert not [p.name for p in out.glob(".daily-papers-*.part")]
    assert mine.read_text(encoding="utf-8") == "mine"


@pytest.mark.parametrize("spelling", ["folder", "fifo", "link", "link to a file", "link to nothing", "hard link"])
def test_a_log_that_cannot_be_read_is_said(tmp_path, days, spelling):
    """A folder, a FIFO, a link (to a folder, a file, nothing) or a hard link of a file elsewhere
    at the log's name: the build neither hangs nor fails, writes nothing through it, and warns
    that what a killed run put in place is unknown to it."""
    config = tmp_path / "a.toml"
    config.write_text("", encoding="utf-8")
    out, state = tmp_path / "out", tmp_path / "state"
    assert build(days, out, state, config).returncode == 0
    log = next(state.rglob("*.json")).with_suffix(".writing.log")
    (tmp_path / "elsewhere").mkdir()
    mine = tmp_path / "elsewhere" / "mine.txt"
    {"folder": log.mkdir, "fifo": lambda: os.mkfifo(log),
     "link": lambda: log.symlink_to(tmp_path / "elsewhere", target_is_directory=True),
     "link to a file": lambda: (mine.write_text("mine"), log.symlink_to(mine)),
     "link to nothing": lambda: log.symlink_to(tmp_path / "elsewhere" / "nothing"),
     "hard link": lambda: (mine.write_text("mine"), os.link(mine, log))}[spelling]()
    kept = {p.name: p.read_bytes() for p in (tmp_path / "elsewhere").iterdir()}
    args = ["--config", str(config), "build", str(days), "-o", str(out), "--images", "none", "-j", "1",
            "--today", "2030-01-01"]
    again = subprocess.run([sys.executable, "-m", "exporter", *args], env=dict(ENV, XDG_STATE_HOME=str(state)),
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert f"digest-export: warning: the log of this folder's writes, {log}, cannot be read" in again.stderr
    assert {p.name: p.read_bytes() for p in (tmp_path / "elsewhere").iterdir()} == kept
    # A run that writes (another --by): it would append to the log, and a FIFO there held it.
    writes = subprocess.run([sys.executable, "-m", "exporter", *args, "--by", "month"],
                            env=dict(ENV, XDG_STATE_HOME=str(state)), capture_output=True, text=True, timeout=120)
    assert writes.returncode == 0, writes.stderr
    assert {p.name: p.read_bytes() for p in (tmp_path / "elsewhere").iterdir()} == kept


def test_a_log_whose_last_line_is_cut_short_loses_no_line(tmp_path, days):
    """Bytes with no line break at the end of the log (a kill inside a write, a copy of it in
    UTF-16): the next lines are whole all the same, and the log goes once the state holds them."""
    from exporter.state import load_intents

    config = tmp_path / "a.toml"
    config.write_text("", encoding="utf-8")
    out, state = tmp_path / "out", tmp_path / "state"
    assert build(days, out, state, config).returncode == 0
    log = next(state.rglob("*.json")).with_suffix(".writing.log")
    log.write_bytes(b"\xff\xfe[\x00")
    killed = build(days, out, state, config, "--by", "month", kill=(3, "after"))
    assert killed.returncode == 137
    assert len(load_intents(log)) == 3  # each of the three files put in place
    assert build(days, out, state, config).returncode == 0
    assert not log.exists()
    assert not list(out.glob("daily-papers-20??-??.epub"))  # the month books went


def test_a_file_a_killed_run_put_in_place_and_the_user_edited_is_the_users(tmp_path, days):
    """The log makes a file the program's only while it holds the logged bytes: one edited after
    the kill is the user's, kept and said (exit 1), as any file edited since it was written."""
    config = tmp_path / "a.toml"
    config.write_text(CONFIG, encoding="utf-8")
    out, state = tmp_path / "out", tmp_path / "state"
    assert build(days, out, state, config).returncode == 0
    killed = build(days, out, state, config, "--by", "month", kill=(3, "after"))
    assert killed.returncode == 137
    month = sorted(out.glob("daily-papers-20??-??.epub"))
    assert month, "a book of a month was put in place before the kill"
    month[0].write_bytes(month[0].read_bytes() + b"mine")
    again = build(days, out, state, config, "--by", "month")
    assert again.returncode == 1 and month[0].name in again.stderr, again.stderr
    assert month[0].read_bytes().endswith(b"mine")


def test_a_log_line_that_is_not_the_programs_makes_nothing_its(tmp_path, days, monkeypatch):
    """Lines of the log are read through the documents gate: a name out of the folder, a digest
    of another form or a line cut short by the kill is left out, and a file of the user's stays."""
    import io

    from PIL import Image

    from exporter.output import content_digest, marked
    from exporter.state import intent_log_path, load_intents, written_before_a_kill

    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_bytes(b"mine")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    log = intent_log_path(out)
    log.parent.mkdir(parents=True)
    good = content_digest(b"mine")
    log.write_text("\n".join([f'["../notes.txt",4,"{good}"]', f'["notes.txt",4,"{good[:-1]}"]',
                              f'["notes.txt",5,"{good}"]', '["notes.txt",4,"', f'["notes.txt",4,"{good}",1]',
                              f'{{"name":"notes.txt","size":4,"digest":"{good}"}}']) + "\n", encoding="utf-8")
    assert [name for name, _, _ in load_intents(log)] == ["notes.txt"]  # the size is checked by the bytes
    assert written_before_a_kill(out) == {}  # 5 bytes logged, 4 there
    log.write_text(f'["notes.txt",4,"{good}"]\n', encoding="utf-8")
    assert written_before_a_kill(out) == {}  # the very bytes logged, but not the program's mark
    jpeg = io.BytesIO()
    Image.new("RGB", (16, 16), (27, 42, 71)).save(jpeg, "JPEG")
    data = marked(jpeg.getvalue(), "image/jpeg")
    (out / "a.cover.jpg").write_bytes(data)
    log.write_text(f'["a.cover.jpg",{len(data)},"{content_digest(data)}"]\n', encoding="utf-8")
    assert written_before_a_kill(out) == {}  # its bytes and its mark, but no name a build writes
    cover = "daily-papers-2024-W10.cover.jpg"
    (out / cover).write_bytes(data)
    log.write_text(f'["{cover}",{len(data)},"{content_digest(data)}"]\n', encoding="utf-8")
    assert list(written_before_a_kill(out)) == [cover]  # its bytes, its mark, a book's cover: the program's


def test_a_build_without_its_state_names_what_an_earlier_build_left(tmp_path, days):
    """A lost or damaged state is a full rebuild, which knows only what it writes: the books of an
    earlier build's other options stay (nothing says they are the program's to remove), and a
    note names them, once."""
    config = tmp_path / "a.toml"
    config.write_text("", encoding="utf-8")
    out, state = tmp_path / "out", tmp_path / "state"
    assert build(days, out, state, config).returncode == 0
    weekly = sorted(p.name for p in out.glob("daily-papers-*-W*.epub"))
    for path in state.rglob("*.json"):
        path.write_text("{damaged", encoding="utf-8")
    args = ["--config", str(config), "build", str(days), "-o", str(out), "--images", "none", "-j", "1",
            "--today", "2030-01-01", "--by", "month"]
    again = subprocess.run([sys.executable, "-m", "exporter", *args], env=dict(ENV, XDG_STATE_HOME=str(state)),
                           capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    note = [line for line in again.stderr.splitlines() if "carry digest-export's mark but were not written" in line]
    assert len(note) == 1 and "is damaged" in note[0] and weekly[0] in note[0], again.stderr
    assert all((out / name).exists() for name in weekly)
    quiet = subprocess.run([sys.executable, "-m", "exporter", *args], env=dict(ENV, XDG_STATE_HOME=str(state)),
                           capture_output=True, text=True)
    assert quiet.returncode == 0 and "carry digest-export's mark" not in quiet.stderr  # the state knows now


#: The program, with one worker of its pools killing itself (SIGKILL) in the middle of its task.
SELF_KILLER = """
import os, signal, sys
from exporter.books import workers
from exporter.reader import stamps
where = os.environ["KILL_IN"]
if where == "books":
    real = workers._make_period
    def period(batches, task):
        if task[0][1] == 2:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(batches, task)
    workers._make_period = period
else:
    real = stamps._read_claimed
    def claimed(n):
        os.kill(os.getpid(), signal.SIGKILL)
    stamps._read_claimed = claimed
sys.argv = ["digest-export", *sys.argv[1:]]
from exporter.__main__ import main
main()
"""


@pytest.mark.parametrize("where", ["books", "inputs"])
def test_a_worker_killed_in_its_task_stops_the_run_instead_of_hanging_it(tmp_path, days, where):
    """The pool forks another worker in place of one killed (the out-of-memory killer), but the
    task it held is lost: the run waited for it for ever, holding the folder's lock.  It stops
    (exit 1, naming the signal), and the next build ends as a fresh one."""
    config = tmp_path / "a.toml"
    config.write_text(CONFIG, encoding="utf-8")
    out, state = tmp_path / "out", tmp_path / "state"
    args = ["--config", str(config), "build", str(days), "-o", str(out), "--images", "none", "-q", "-j", "2",
            "--today", "2030-01-01", "--by", "day"]
    env = dict(ENV, XDG_STATE_HOME=str(state), KILL_IN=where)
    stopped = subprocess.run([sys.executable, "-c", SELF_KILLER, *args], env=env, capture_output=True, text=True,
                             timeout=60)
    assert stopped.returncode == 1, stopped.stderr
    assert "was killed by signal 9 before its task was done" in stopped.stderr, stopped.stderr
    again = build(days, out, state, config, "--by", "day", "-j", "2")
    assert again.returncode == 0, again.stderr
    assert build(days, tmp_path / "fresh", tmp_path / "fresh-state", config, "--by", "day").returncode == 0
    assert tree(out) == tree(tmp_path / "fresh")


#: The program, each book worker replaced after one period (``maxtasksperchild``), and the log of
#: the run's writes kept at its end (as a kill leaves it).
SHORT_LIVED = """
import sys
from exporter import state
from exporter.books import workers
from exporter.pipeline import run
workers.PERIODS_PER_WORKER = 1
state.forget_intents = run.forget_intents = lambda out_dir: None
sys.argv = ["digest-export", *sys.argv[1:]]
from exporter.__main__ import main
main()
"""


def test_books_of_workers_the_pool_forked_later_are_logged_as_the_runs(tmp_path, days, monkeypatch):
    """The pool forks a worker to replace one that did its share of tasks from a thread of its own,
    whose context variables are empty: its books were written outside the folder's records (not
    logged before their renames, so a kill left them to no one)."""
    from exporter.state import intent_log_path, load_intents

    config = tmp_path / "a.toml"
    config.write_text("", encoding="utf-8")
    out, state = tmp_path / "out", tmp_path / "state"
    args = ["--config", str(config), "build", str(days), "-o", str(out), "--images", "none", "-q", "-j", "2",
            "--today", "2030-01-01", "--by", "day"]
    env = dict(ENV, XDG_STATE_HOME=str(state))
    first = subprocess.run([sys.executable, "-c", SHORT_LIVED, *args], env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    books = {p.name for p in out.glob("daily-papers-*.epub")}
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    logged = {name for name, _, _ in load_intents(intent_log_path(out))}
    assert len(books) > 4 and books <= logged, sorted(books - logged)


def test_a_leftover_of_a_killed_run_does_not_make_a_selection_folder_the_users(tmp_path, days):
    """A new selection's folder holding only a temporary file a killed run left (of a recorded run,
    for a name no build writes now: an old title's book) is the program's: the build goes on (it
    was refused as a folder of the user's, exit 2, for good) and removes the leftover, which no
    log names."""
    from hostile_three import left_by_a_killed_run

    config = tmp_path / "a.toml"
    config.write_text(CONFIG, encoding="utf-8")
    out, state = tmp_path / "out", tmp_path / "state"
    left = left_by_a_killed_run(out / "top" / ".daily-papers-top-one-2024-W10.epub.kill3abc.part", state_home=state)
    r = build(days, out, state, config)
    assert r.returncode == 0, r.stderr
    assert not left.exists()  # a recorded run's, for a book's name: a leftover, log or none


#: The program, with its output folder swapped for a link to another folder (a deploy script's
#: release switch) just after the N-th file is put in place.
SWAPPER = """
import os, sys
at, out, victim = int(os.environ["SWAP_AT"]), os.environ["SWAP_OUT"], os.environ["SWAP_TO"]
real, seen = os.replace, [0]
def replace(src, dst, **kw):
    real(src, dst, **kw)
    if str(src).endswith(".part"):
        seen[0] += 1
        if seen[0] == at:
            os.rename(out, out + ".real")
            os.symlink(victim, out)
os.replace = replace
sys.argv = ["digest-export", *sys.argv[1:]]
from exporter.__main__ import main
main()
"""


@pytest.mark.parametrize("at,jobs", [(1, "1"), (3, "1"), (6, "1"), (3, "2")])
def test_an_output_folder_swapped_for_a_link_during_the_run_stops_it(tmp_path, days, at, jobs):
    """DIR replaced by a link to another folder while the run writes (its stale books of another
    title to remove): the run stops (exit 1) at its next file, and the folder the link leads to
    is left as it was, byte for byte: nothing written there, nothing removed."""
    config = tmp_path / "a.toml"
    config.write_text("", encoding="utf-8")
    out, state = tmp_path / "out", tmp_path / "state"
    assert build(days, out, state, config).returncode == 0
    victim = tmp_path / "victim"
    subprocess.run(["cp", "-a", str(out), str(victim)], check=True)
    before = tree(victim)
    args = ["--config", str(config), "build", str(days), "-o", str(out), "--images", "none", "-q", "-j", jobs,
            "--today", "2030-01-01", "--title", "Other"]
    env = dict(ENV, XDG_STATE_HOME=str(state), SWAP_AT=str(at), SWAP_OUT=str(out), SWAP_TO=str(victim))
    r = subprocess.run([sys.executable, "-c", SWAPPER, *args], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 1, r.stderr
    assert "is another folder than when the run began" in r.stderr, r.stderr
    assert tree(victim) == before
    assert not [p for p in victim.iterdir() if p.name.endswith(".part")]
