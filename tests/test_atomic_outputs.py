"""Atomic outputs: runs killed with SIGKILL at random
moments leave every output either as it was before or complete (the very
bytes a full run writes: the output is deterministic); leftovers are only
hidden ``.<name>.*.part`` files, removed by a later run once stale; two
runs into one folder at once both finish with valid files."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import feedparser
import pytest

from exporter.output import STALE_AFTER, WriteStatus, remove_stale_parts, write_file

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def corpus(folder: Path, days: int, papers: int) -> Path:
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "corpus.py"), str(folder), "--days", str(days),
                    "--papers", str(papers)], check=True, capture_output=True)
    return folder


def command(kind: str, inputs: Path, out: Path, *extra: str) -> list[str]:
    base = [sys.executable, "-m", "exporter", kind, str(inputs), "-o", str(out), "-q", "--keep-going"]
    if kind == "epub":
        return base + ["--images", "none", *extra]
    return base + ["--archive", "--format", "atom", "--format", "rss", "--format", "json",
                   "--base-url", "https://example.org/f/", *extra]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def check_valid(name: str, data: bytes) -> None:
    if name.endswith(".epub"):
        import io

        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            assert zf.testzip() is None
            assert zf.namelist()[0] == "mimetype" and zf.read("mimetype") == b"application/epub+zip"
    elif name.endswith((".atom", ".rss")):
        assert not feedparser.parse(data).bozo
    elif name.endswith(".json"):
        json.loads(data)


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("atomic")
    return corpus(tmp / "big", 120, 3000), corpus(tmp / "small", 50, 800)


@pytest.mark.parametrize("kind,before_args", [("epub", ("--lang", "en")), ("feed", ())])
def test_sigkill_at_random_moments_leaves_old_or_complete_files(tmp_path, corpora, kind, before_args):
    big, small = corpora
    # The complete result, and the "before" state: an earlier run (other
    # options or fewer days) whose files differ.
    final_dir, out = tmp_path / "final", tmp_path / "out"
    subprocess.run(command(kind, big, final_dir), env=ENV, check=True)
    final = snapshot(final_dir)
    for name, data in final.items():
        check_valid(name, data)
    subprocess.run(command(kind, small if kind == "feed" else big, out, *before_args), env=ENV, check=True)
    before = snapshot(out)
    assert before and any(before.get(n) != d for n, d in final.items())

    start = time.perf_counter()
    subprocess.run(command(kind, big, tmp_path / "timing"), env=ENV, check=True)
    duration = time.perf_counter() - start
    rng = random.Random(20240304)
    for _ in range(10):
        proc = subprocess.Popen(command(kind, big, out), env=ENV)
        time.sleep(rng.uniform(0.05, duration * 1.1))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        for path in out.rglob("*"):
            if not path.is_file():
                continue
            name = str(path.relative_to(out))
            if path.name.startswith("."):
                # A temporary file of a killed run: hidden, never an output name.
                assert path.name.endswith(".part"), name
                continue
            data = path.read_bytes()
            assert data == final.get(name) or data == before.get(name), f"{name} is neither old nor complete"
    # A full run afterwards finishes the job and removes stale temporaries.
    parts = [p for p in out.rglob(".*.part")]
    old = time.time() - STALE_AFTER - 60
    for p in parts:
        os.utime(p, (old, old))
    subprocess.run(command(kind, big, out), env=ENV, check=True)
    after = snapshot(out)
    assert {n: d for n, d in after.items() if n in final} == final
    assert not list(out.rglob(".*.part")), "stale temporary files were not removed"


@pytest.mark.parametrize("kind", ["epub", "feed"])
def test_two_runs_into_one_folder_at_once(tmp_path, corpora, kind):
    big, _ = corpora
    subprocess.run(command(kind, big, tmp_path / "ref"), env=ENV, check=True)
    procs = [subprocess.Popen(command(kind, big, tmp_path / "out"), env=ENV, stderr=subprocess.PIPE)
             for _ in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode in (0, 1), err  # 1: the corpus has input errors (kept going)
        assert b"Traceback" not in err
    assert snapshot(tmp_path / "out") == snapshot(tmp_path / "ref")


def test_stale_temporary_files_are_removed_by_the_next_write(tmp_path):
    import fcntl

    target = tmp_path / "feed.atom"
    write_file(target, b"<feed/>")
    from hostile_three import left_by_a_killed_run

    stale = tmp_path / ".feed.atom.killedxx.part"
    young = tmp_path / ".feed.atom.runningx.part"
    other = tmp_path / ".feed.rss.killedxx.part"
    for p in (stale, young, other):
        left_by_a_killed_run(p, b"half")
    # Of the writer's form, but of no run that recorded its token: the user's.
    mine = tmp_path / ".feed.atom.mineabcd.part"
    mine.write_bytes(b"my notes")
    # A run writing it right now holds it locked (as the writer does, until its rename).
    held = os.open(young, os.O_RDONLY)
    fcntl.flock(held, fcntl.LOCK_EX)
    try:
        # Even when the file itself is unchanged (no write at all).
        assert write_file(target, b"<feed/>") is WriteStatus.UNCHANGED
        assert not stale.exists()  # left by a run killed a moment ago: nobody holds it
        assert young.exists()  # belongs to a run writing right now
        assert other.exists()  # another output's: removed when that one is written, or by build
        assert remove_stale_parts(tmp_path / "feed.rss") == [other]
    finally:
        os.close(held)
    assert remove_stale_parts(target) == [young]  # its writer gone
    assert mine.read_bytes() == b"my notes"


def test_a_build_removes_what_a_run_killed_outright_left_and_keeps_what_a_running_one_writes(tmp_path):
    """A build killed outright (SIGKILL, the OOM killer) leaves temporary files of books the next
    runs do not write again: the next build removes every one that no process holds, whatever
    name it was written for and however young, and the folder equals a fresh build."""
    import fcntl

    from hostile_three import two_papers

    src = two_papers(tmp_path)
    fresh, out = tmp_path / "fresh", tmp_path / "out"
    for folder in (fresh, out):
        subprocess.run([sys.executable, "-m", "exporter", "build", str(src), "-o", str(folder), "--images", "none", "-q"],
                       env=dict(ENV, XDG_STATE_HOME=str(folder) + "-state"), check=True)
    left = [out / ".daily-papers-2024-W10.cover.jpg.fbm56ozb.part", out / ".daily-papers-2024-W10.epub.hy5t3wij.part",
            out / "catalog" / ".year-2024.opds.abcdefgh.part"]
    from hostile_three import left_by_a_killed_run

    state_home = Path(str(out) + "-state")
    for path in left:
        left_by_a_killed_run(path, state_home=state_home)
    running = left_by_a_killed_run(out / ".feed.atom.runs2now.part", b"being written", state_home)
    # Files of the user's with look-alike names: not eight characters of the writer's alphabet,
    # not for a name of a kind the program writes, or of no recorded run in that folder.
    mine = [out / ".notes.part", out / ".notes.abcdefgh.part", out / ".index.html.abcdefg.part",
            out / ".feed.atom.123456789.part", out / ".feed.atom.ABCDEFGH.part", out / "catalog" / ".x.y.abcdefgh.part",
            out / ".feed.atom.abc_efgh.part", out / ".Feed.atom.abcdefgh.part",
            out / ".daily-papers-2024-W99.epub.abcdefgh.part", out / ".mybook.epub.abcdefgh.part",
            out / ".cover.jpg.abcdefgh.part", out / ".feed.atom.abcdefg1.part",
            # of the writer's form and a name it writes there, but of no run that recorded its token
            out / ".feed.atom.zzzzzzzz.part", out / "catalog" / ".year-2024.opds.mine2345.part"]
    for path in mine:
        path.write_bytes(b"mine")
    held = os.open(running, os.O_RDONLY)
    fcntl.flock(held, fcntl.LOCK_EX)
    try:
        r = subprocess.run([sys.executable, "-m", "exporter", "build", str(src), "-o", str(out), "--images", "none", "-v"],
                           env=dict(ENV, XDG_STATE_HOME=str(out) + "-state"), capture_output=True, text=True)
    finally:
        os.close(held)
    assert r.returncode == 0, r.stderr
    assert not any(p.exists() for p in left), r.stderr
    assert "a temporary file of a run that was stopped" in r.stderr + r.stdout
    assert running.exists() and [p.read_bytes() for p in mine] == [b"mine"] * len(mine)
    running.unlink()
    for path in mine:
        path.unlink()
    assert snapshot(out) == snapshot(fresh)


def test_a_batch_syncs_each_folder_once_at_its_end_and_each_file_before_its_rename(tmp_path, monkeypatch):
    """Every file is synced before it is renamed into place; within ``synced_at_end`` its folder
    is synced once at the end of the block, not after every file; outside, after each file; a
    batch opened by another process (a forked worker's parent) is not this process's."""
    from exporter import output

    events = []
    real_fsync = os.fsync
    monkeypatch.setattr(output, "_fsync_dir", lambda folder: events.append(("dir", Path(folder).name)))
    monkeypatch.setattr(output.os, "fsync", lambda fd: (events.append(("file",)), real_fsync(fd))[1])
    with output.synced_at_end():
        for name in ("a", "b", "c"):
            write_file(tmp_path / "one" / name, name.encode())
        write_file(tmp_path / "two" / "d", b"d")
        assert events == [("file",)] * 4  # no folder synced yet
        with output.synced_at_end():
            write_file(tmp_path / "one" / "e", b"e")
        assert events[-1] == ("dir", "one")  # the inner block's own folder, at its end
    assert events[-2:] == [("dir", "one"), ("dir", "two")]
    assert [p.read_bytes() for p in sorted((tmp_path / "one").iterdir())] == [b"a", b"b", b"c", b"e"]
    events.clear()
    write_file(tmp_path / "one" / "f", b"f")
    assert events == [("file",), ("dir", "one")]
    events.clear()
    with output.synced_at_end():
        monkeypatch.setattr(output.os, "getpid", lambda: -1)  # as if in a forked child
        write_file(tmp_path / "one" / "g", b"g")
        assert events == [("file",), ("dir", "one")]


@pytest.mark.skipif("fork" not in __import__("multiprocessing").get_all_start_methods(), reason="no fork")
def test_books_built_by_workers_sync_their_folder_once_when_all_are_written(tmp_path, monkeypatch):
    """Each book is synced before its rename, in its worker; the folder, once for the run, here,
    after the last book is in place (not once per book in each worker)."""
    from click.testing import CliRunner

    from exporter import output
    from exporter.cli import main

    log = tmp_path / "syncs.log"
    real_fsync = os.fsync

    def note(line: str) -> None:
        with open(log, "a", encoding="utf-8") as fh:  # the workers write here too (O_APPEND)
            fh.write(line + "\n")

    def fsync_dir(folder):
        books = sorted(p.name for p in Path(folder).glob("*.epub"))
        note(f"dir {Path(folder).name} {os.getpid()} {len(books)}")

    monkeypatch.setattr(output, "_fsync_dir", fsync_dir)
    def fsync(fd):
        where = Path(os.readlink(f"/proc/self/fd/{fd}")) if os.path.isdir("/proc/self/fd") else Path("?/?")
        note(f"file {os.getpid()} {where.parent.name}")
        return real_fsync(fd)

    monkeypatch.setattr(output.os, "fsync", fsync)
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["epub", str(ROOT / "exporter" / "sample"), "-o", str(out), "--by", "day",
                                  "--images", "none", "-j", "2", "-q"])
    assert r.exit_code == 0, r.output
    books = sorted(p.name for p in out.glob("*.epub"))
    assert len(books) >= 3  # enough for the workers (books.workers.MIN_PARALLEL_BOOKS)
    lines = log.read_text(encoding="utf-8").splitlines()
    dirs = [line.split() for line in lines if line.startswith("dir ") and line.split()[1] == "out"]
    assert dirs == [["dir", "out", str(os.getpid()), str(len(books))]]  # once, here, all books in place
    files = [line.split()[1] for line in lines if line.startswith("file ") and line.split()[2] == "out"]
    assert len(files) == len(books) and str(os.getpid()) not in files  # each book, in a worker


def test_a_run_lists_each_folder_for_stale_temporary_files_once(tmp_path, corpora, monkeypatch):
    """A build removes the stale temporary file a killed run left for an output it writes (and
    leaves another's young one), listing each folder once, not at every file it writes there
    (which made writing n files into one folder read n * n names)."""
    from click.testing import CliRunner

    from exporter import output
    from exporter.cli import main

    _, small = corpora
    out = tmp_path / "out"
    out.mkdir()
    import fcntl

    from hostile_three import left_by_a_killed_run

    stale, young = out / ".feed.atom.killedxx.part", out / ".feed.rss.runningy.part"
    for p in (stale, young):
        left_by_a_killed_run(p, b"half")
    held = os.open(young, os.O_RDONLY)  # a run writing it now holds it
    fcntl.flock(held, fcntl.LOCK_EX)
    listed = []
    real = output._stale_parts
    monkeypatch.setattr(output, "_stale_parts", lambda at, age: listed.append(at.path) or real(at, age))
    try:
        result = CliRunner().invoke(main, ["build", str(small), "-o", str(out), "--images", "none", "--by", "day",
                                           "--jobs", "1", "-q", "--keep-going"])
    finally:
        os.close(held)
    assert result.exit_code in (0, 1), result.output
    written = [p for p in out.rglob("*") if p.is_file() and not p.name.startswith(".")]
    assert len(written) > 100
    assert not stale.exists() and young.exists()
    # Once while writing (and the state's folder), once more in the sweep at the end of the run.
    folders = len({p.parent for p in written}) + 1
    assert len(listed) <= 2 * folders and max(listed.count(f) for f in listed) <= 2, listed


MARK_TEXTS = {
    "feed.rss": ("<rss><channel><title>mine</title></channel></rss>", "<generator>digest-export</generator>"),
    "feed.atom": ('<feed xmlns="http://www.w3.org/2005/Atom"><title>mine</title>', "<generator>digest-export</generator>"),
    "index.html": ("<!doctype html><html><head><title>my page</title></head><body>mine", '<meta name="generator" content="digest-export">'),
    "feed.json": ('{"title": "mine"', '"program": "digest-export"'),
}


@pytest.mark.parametrize("name", sorted(MARK_TEXTS))
@pytest.mark.parametrize("where", ["comment", "cdata", "text", "second document", "after the body"])
def test_the_mark_counts_only_where_the_program_writes_it(tmp_path, name, where):
    """A file of the user's that only mentions the mark (in a comment, CDATA, a string, a second
    JSON document, a tag after the page's body) is not the program's: never overwritten."""
    from exporter.output import carries_mark

    start, mark = MARK_TEXTS[name]
    if name == "feed.json":
        body = {"comment": start + ', "note": "' + mark.replace('"', '\\"') + '"}', "cdata": start + "}\n// " + mark,
                "text": start + ', "x": ["' + mark.replace('"', "'") + '"]}', "second document": start + "} {" + mark + "}",
                "after the body": start + ', "items": [{' + mark + "}]}"}[where]
    else:
        body = {"comment": start + "<!-- " + mark + " -->", "cdata": start + "<![CDATA[" + mark + "]]>",
                "text": start + "&lt;" + mark[1:], "second document": start + "<?pi " + mark + "?>",
                "after the body": start + "<p>" + mark + "</p>"}[where]
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    assert not carries_mark(path), body


def test_what_the_program_writes_carries_its_mark(tmp_path):
    """Every file a build writes, with every option that changes what a file holds (archives,
    three device profiles, a selection, every feed format, the catalog's pages, a base URL,
    thumbnails from a local picture), is the program's by its mark alone: the marks gate's
    lists of what the program writes (JSON keys, feed elements) cover what it writes."""
    from PIL import Image

    from exporter.output import carries_mark

    src = tmp_path / "in"
    src.mkdir()
    Image.new("RGB", (64, 48), (20, 120, 40)).save(src / "pic.png")
    day = "## Daily Papers ({})\n\n### [P {}](https://arxiv.org/abs/2403.0000{})\n\n![t](pic.png)\n\nVote: {}\n\n" \
          "Authors: A\n\n- video s\n"
    for n, date in enumerate(["2024-03-04", "2024-03-12", "2024-03-19"], 1):
        (src / f"{date}.md").write_text(day.format(date, n, n, n * 10), "utf-8")
    (src / "2024-03-05.md").write_bytes(next((ROOT / "exporter" / "sample").rglob("*.md")).read_bytes())
    config = tmp_path / "c.toml"
    config.write_text('[[selection]]\nname = "top"\ntop = 1\n', "utf-8")
    out = tmp_path / "out"
    subprocess.run([sys.executable, "-m", "exporter", "--config", str(config), "build", str(src), "-o", str(out), "-q",
                    "--base-url", "https://example.org/p/", "--archive", "--device", "generic", "--device", "kobo",
                    "--device", "kindle", "--finished-only", "--today", "2024-03-20", "--format", "atom", "--format",
                    "rss", "--format", "json", "--format", "opds"],
                   env=dict(ENV, XDG_STATE_HOME=str(tmp_path / "s")), check=True)
    files = [p for p in out.rglob("*") if p.is_file() and not p.name.startswith(".")]
    assert {p.suffix for p in files} >= {".epub", ".atom", ".rss", ".json", ".opds", ".html", ".jpg", ".png"}
    assert {"latest.epub", "feed.json", "catalog.json"} <= {p.name for p in files}
    assert any(p.name.endswith(".kepub.epub") for p in files) and any("archive" in p.parts for p in files)
    assert [str(p.relative_to(out)) for p in files if not carries_mark(p)] == []


def test_a_selection_folder_holding_only_what_a_killed_run_left_is_the_builds(tmp_path):
    """A first build killed outright while it wrote in a selection's folder leaves a temporary
    file there: the next build takes the folder as its own (the file is of a name it writes),
    completes it and removes the leftover; a look-alike of the user's still makes it theirs."""
    from hostile_three import run_cli, two_papers

    src = two_papers(tmp_path)
    config = tmp_path / "c.toml"
    config.write_text('[[selection]]\nname = "top"\ntop = 1\n', "utf-8")
    out = tmp_path / "out"
    (out / "top" / "catalog").mkdir(parents=True)
    from hostile_three import left_by_a_killed_run

    left = [out / "top" / ".feed.rss.frpkow3o.part", out / "top" / "catalog" / ".year-2024.opds.abcdefgh.part"]
    for path in left:
        left_by_a_killed_run(path, b"half a feed")
    args = ["--config", str(config), "build", str(src), "-o", str(out), "--images", "none", "--state",
            str(tmp_path / "s.json")]
    result = run_cli(args, tmp_path)
    assert result.exit_code == 0, result.output
    assert (out / "top" / "feed.rss").is_file() and not any(p.exists() for p in left), result.output
    (out / "top" / ".notes.abcdefgh.part").write_bytes(b"mine")
    result = run_cli(args, tmp_path)
    assert (out / "top" / ".notes.abcdefgh.part").read_bytes() == b"mine", result.output


def test_a_file_named_like_a_leftover_of_no_recorded_run_is_the_users(tmp_path):
    """A file of the user's called as the writer calls its temporary files, for a name the run
    writes (``.feed.atom.abcdefgh.part``), whatever it holds, is never removed: only a run that
    recorded its token before making them leaves leftovers, and no run recorded this one."""
    from hostile_three import run_cli, two_papers

    src = two_papers(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    names = [".feed.atom.abcdefgh.part", ".feed.rss.qqqqqqqq.part", ".index.html.a2b3c4d5.part",
             ".catalog.opds.zzzzzzzz.part", ".daily-papers-2024-W10.epub.abcdefgh.part"]
    for name in names:
        (out / name).write_bytes(b"my precious notes\n")
    own = {"XDG_STATE_HOME": str(tmp_path / "state")}  # where no run recorded any token
    run_cli(["build", str(src), "-o", str(out), "--images", "none", "-q"], tmp_path, own)
    run_cli(["build", str(src), "-o", str(out), "--images", "none", "-q"], tmp_path, own)
    assert (out / "feed.atom").is_file()
    assert all((out / name).read_bytes() == b"my precious notes\n" for name in names)
    beside = tmp_path / "one"
    beside.mkdir()
    (beside / ".mine.epub.abcdefgh.part").write_bytes(b"notes")
    run_cli(["epub", str(src), "--by", "all", "-o", str(beside / "mine.epub"), "--images", "none", "-q"], tmp_path, own)
    assert (beside / "mine.epub").is_file() and (beside / ".mine.epub.abcdefgh.part").read_bytes() == b"notes"


def test_a_run_records_its_token_while_it_runs_and_forgets_it_at_its_end(tmp_path):
    """The writer's temporary files carry the run's token, recorded before the first is made
    and removed when the process ends (a run killed outright keeps its record)."""
    code = ("import sys, os; from pathlib import Path; from exporter import output\n"
            "output.write_file(Path(sys.argv[1]) / (sys.argv[2] + '.atom'), b'<feed/>')\n"
            "token = output.run_token(); print(token)\n"
            "assert (output.tokens_folder() / token).is_file()\n"
            "if sys.argv[2] == 'kill': os.kill(os.getpid(), 9)\n")
    state = tmp_path / "state"
    env = dict(os.environ, XDG_STATE_HOME=str(state))
    ended = subprocess.run([sys.executable, "-c", code, str(tmp_path), "end"], env=env, capture_output=True, text=True)
    assert ended.returncode == 0, ended.stderr
    runs = state / "digest-export" / "runs"
    assert not (runs / ended.stdout.strip()).exists()
    killed = subprocess.run([sys.executable, "-c", code, str(tmp_path), "kill"], env=env, capture_output=True, text=True)
    assert killed.returncode == -9
    token = killed.stdout.strip()
    st = tmp_path.stat()
    assert (runs / token).read_text("ascii").split("\n")[0] == f"{st.st_dev} {st.st_ino}"  # the folder it wrote into


def test_a_leftover_is_one_of_its_runs_folder_and_of_one_name(tmp_path):
    """A killed run's token removes its leftovers in the folders it wrote into only, and never a
    name with another link (the writer's file, made with O_EXCL, has one)."""
    from hostile_three import left_by_a_killed_run

    from exporter.output import remove_stale_parts

    ran, other = tmp_path / "ran", tmp_path / "other"
    other.mkdir()
    left = left_by_a_killed_run(ran / ".feed.atom.tokenabc.part")
    elsewhere = other / ".feed.atom.tokenxyz.part"
    elsewhere.write_bytes(b"mine")
    precious = tmp_path / "precious.txt"
    precious.write_bytes(b"precious")
    linked = ran / ".feed.rss.tokenhrd.part"
    os.link(precious, linked)
    assert remove_stale_parts(other / "feed.atom") == [] and elsewhere.read_bytes() == b"mine"
    assert remove_stale_parts(ran / "feed.rss") == [] and precious.read_bytes() == b"precious" and linked.exists()
    assert remove_stale_parts(ran / "feed.atom") == [left]


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o644, 0o664])
def test_a_rewritten_file_keeps_the_permissions_the_user_gave_it(tmp_path, mode):
    """A file the user made private (the send ledger, ``chmod 600``) or readable to a group alone
    keeps those bits when the program writes it again; a new file gets the umask's."""
    import stat

    target = tmp_path / "feed.atom"
    write_file(target, b"<feed>one</feed>", ours=True)  # (the program's own: no mark needed)
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    target.chmod(mode)
    assert write_file(target, b"<feed>two</feed>", ours=True) is WriteStatus.WRITTEN
    assert target.read_bytes() == b"<feed>two</feed>"
    assert stat.S_IMODE(target.stat().st_mode) == mode


def test_a_rewritten_file_keeps_its_group_and_as_root_its_owner(tmp_path):
    """``chgrp www-data feed.json; chmod 640 feed.json``: the web server's group reads it after
    the next build too (the new file was the run's user's group, and the server lost it)."""
    import stat

    target = tmp_path / "feed.json"
    write_file(target, b"{}", ours=True)
    groups = [g for g in os.getgroups() if g != target.stat().st_gid]
    root = os.geteuid() == 0
    if not groups and not root:
        pytest.skip("the user is in one group only, and not root")
    owner = 65534 if root else os.geteuid()  # nobody
    group = groups[0] if groups else 65534
    os.chown(target, owner, group)
    target.chmod(0o640)
    assert write_file(target, b'{"a": 1}', ours=True) is WriteStatus.WRITTEN
    st = target.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (owner, group, 0o640)


def test_the_leftovers_of_a_killed_worker_are_removed_by_the_run_that_killed_it(tmp_path):
    """A book worker killed past the grace time (``procs.stop_pool``) may leave the temporary file
    it was writing: the run removes its folder's leftovers then, as the next run would before
    writing each name, and leaves a file of the user's named like one and a file still held."""
    import fcntl

    from hostile_three import left_by_a_killed_run

    from exporter.output import remove_leftover_parts

    out = tmp_path / "out"
    left = [left_by_a_killed_run(out / ".daily-papers-2024-W10.cover.jpg.tokenabc.part"),
            left_by_a_killed_run(out / ".daily-papers-2024-W11.epub.tokenxyz.part")]
    mine = out / ".notes.txt.abcdefgh.part"
    mine.write_bytes(b"mine")
    held = left_by_a_killed_run(out / ".feed.atom.tokenhld.part")
    with open(held, "rb") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)  # a writer still at work holds its file
        assert sorted(remove_leftover_parts(out)) == sorted(left)
    assert not any(p.exists() for p in left) and mine.read_bytes() == b"mine" and held.exists()


def test_ending_the_book_pool_by_killing_a_worker_sweeps_the_books_folders(tmp_path, monkeypatch):
    from exporter.books import workers

    swept = []
    monkeypatch.setattr(workers, "stop_pool", lambda pool: (pool.terminate(), True)[1])
    monkeypatch.setattr(workers, "remove_leftover_parts", swept.append)

    class Writer:
        def path(self, bundle):
            return tmp_path / bundle / "book.epub"

    batches = [workers.BookBatch(Writer(), ["a", "b"]), workers.BookBatch(Writer(), ["b", "c"])]
    monkeypatch.setattr(workers, "_JOB", (batches, [[(0, 0)]]))
    monkeypatch.setattr(workers, "_make_task", _failing_task)
    with pytest.raises(Exception):
        list(workers._in_pool(batches, [[(0, 0)]], 1, True, None))
    assert swept == [tmp_path / "a", tmp_path / "b", tmp_path / "c"]


def _failing_task(task):
    raise RuntimeError("a stop")


@pytest.mark.parametrize("runs", ["link", "folder"])
def test_pruning_old_run_records_removes_only_run_records(tmp_path, runs):
    """The records of killed runs are pruned after 90 days: only files named as a token, in the
    state folder's own ``runs`` folder.  ``runs`` a link to a folder of the user's (whose old
    files were all removed) is not written through; a file of the user's kept in the real one,
    however old, stays."""
    state = tmp_path / "state"
    mine = tmp_path / "mine" if runs == "link" else state / "digest-export" / "runs"
    mine.mkdir(parents=True)
    if runs == "link":
        (state / "digest-export").mkdir(parents=True)
        (state / "digest-export" / "runs").symlink_to(mine, target_is_directory=True)
    old = time.time() - 200 * 86400
    for name in ("README", "thesis.tex", "abcde", "ab-cd"):
        (mine / name).write_text("mine", encoding="utf-8")
        os.utime(mine / name, (old, old))
    src = tmp_path / "in"
    src.mkdir()
    (src / "2024-03-04.md").write_text("## Daily Papers (2024-03-04)\n\n### [P](https://arxiv.org/abs/2403.00001)\n\n"
                                       "- a summary.\n", "utf-8")
    r = subprocess.run([sys.executable, "-m", "exporter", "build", str(src), "-o", str(tmp_path / "out"), "--images",
                        "none", "-q"], env=dict(ENV, XDG_STATE_HOME=str(state)), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    left = sorted(p.name for p in mine.iterdir())
    if runs == "link":
        assert left == ["README", "ab-cd", "abcde", "thesis.tex"]  # not a single file written or removed
    else:
        assert left == ["README", "ab-cd", "thesis.tex"]  # the old record of a token's name alone went
