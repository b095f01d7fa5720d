"""SIGTERM (timeout, systemd, a cron job stopped) removes the temporary files being written:
no ``.part`` file is left in the published folder, and the exit status is 143."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from corpus import generate  # noqa: E402


def test_sigterm_in_the_middle_of_writing_leaves_no_temporary_file(tmp_path):
    generate(tmp_path / "in", 120, 2400)
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(ROOT), XDG_STATE_HOME=str(tmp_path / "state"),
               XDG_CACHE_HOME=str(tmp_path / "cache"))
    stopped = []
    for delay in (0.0, 0.05, 0.2):  # after the first files, while books and archives are written
        proc = subprocess.Popen([sys.executable, "-m", "exporter", "build", str(tmp_path / "in"), "-o", str(out),
                                 "--images", "none", "--by", "day", "--archive", "-q"],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline and not (out.is_dir() and any(out.iterdir())):
            time.sleep(0.01)
        time.sleep(delay)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        if proc.returncode == 0:
            continue  # it finished first: nothing to see
        stopped.append(proc.returncode)
        assert proc.returncode == 128 + signal.SIGTERM, err.decode()
        assert b"stopped (SIGTERM)" in err and b"Traceback" not in err, err.decode()
        assert not [p for p in out.rglob("*") if p.name.endswith(".part")]
        subprocess.run(["rm", "-rf", str(out), str(tmp_path / "state")], check=True)
    assert stopped, "every run finished before the signal: the test showed nothing"


@pytest.mark.parametrize("how", ["ctrl-c", "hangup"])
def test_ctrl_c_to_the_process_group_and_a_hangup_end_quietly_leaving_no_temporary_file(tmp_path, how):
    """A terminal's Ctrl-C reaches every process of the group, the book workers too: one
    "Aborted!", no worker's traceback; closing the terminal (SIGHUP) unwinds as SIGTERM does."""
    generate(tmp_path / "in", 120, 2400)
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(ROOT), XDG_STATE_HOME=str(tmp_path / "state"),
               XDG_CACHE_HOME=str(tmp_path / "cache"))
    stopped = 0
    for delay in (0.0, 0.1, 0.3):
        proc = subprocess.Popen([sys.executable, "-m", "exporter", "build", str(tmp_path / "in"), "-o", str(out),
                                 "--images", "none", "--by", "day", "-q", "-j", "2"],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline and not (out.is_dir() and any(out.iterdir())):
            time.sleep(0.01)
        time.sleep(delay)
        if how == "ctrl-c":
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGHUP)
        _, err = proc.communicate(timeout=60)
        time.sleep(0.5)  # the workers, had any outlived it, would have written by now
        if proc.returncode == 0:
            continue
        stopped += 1
        text = err.decode()
        assert "Traceback" not in text and "KeyboardInterrupt" not in text and "BrokenPipe" not in text, text
        if how == "ctrl-c":
            assert proc.returncode == 1 and text.count("Aborted!") == 1, text
        else:
            assert proc.returncode == 128 + signal.SIGHUP and "stopped (SIGHUP)" in text, text
        assert not [p for p in out.rglob("*") if p.name.endswith(".part")]
        subprocess.run(["rm", "-rf", str(out), str(tmp_path / "state")], check=True)
    assert stopped, "every run finished before the signal: the test showed nothing"


def test_a_stop_python_cannot_raise_is_not_printed(capsys):
    """SIGTERM's SystemExit raised in a weakref callback (a worker stopped while it imports) is
    "ignored" by Python with a traceback; the program's hook says nothing of a stop, and
    reports anything else as Python would."""
    import sys

    from exporter.cli.crash import _quiet_unraisable

    class Stops:
        def __del__(self):
            raise SystemExit(143)

    class Bug:
        def __del__(self):
            raise ValueError("a real bug")

    from exporter import procs

    hook, sys.unraisablehook = sys.unraisablehook, _quiet_unraisable
    try:
        Stops()  # collected at once: its __del__ raises where Python cannot
        assert capsys.readouterr().err == ""
        # ... and raised again where the run can stop, once.
        with pytest.raises(SystemExit) as stopped:
            procs.stop_if_asked()
        assert stopped.value.code == 143
        procs.stop_if_asked()
        Bug()
        assert "a real bug" in capsys.readouterr().err
    finally:
        sys.unraisablehook = hook
        procs.new_run()


def test_ending_a_pool_whose_terminate_never_returns_takes_bounded_time(monkeypatch):
    """A pool whose ``terminate`` waits for ever (its result thread blocked on half a message a
    killed worker left in the pipe) is given up after the grace time, twice at most: a run
    stopped by SIGTERM to its process group ends (exit 143) instead of hanging."""
    import threading
    import time

    from exporter import procs

    monkeypatch.setattr(procs, "GRACE_SECONDS", 0.2)
    never = threading.Event()

    class Stuck:
        _pool: list = []

        def terminate(self):
            never.wait()

    start = time.monotonic()
    procs.stop_pool(Stuck())
    assert time.monotonic() - start < 2.0
    never.set()


def _worker_unwinds_on_sigterm(_):
    """In a pool worker: whether the SIGTERM that ends a pool unwinds it (the program's handler)."""
    import signal

    from exporter.cli.crash import _terminated_cleanly

    from exporter import procs

    try:
        with _terminated_cleanly():
            try:
                signal.raise_signal(signal.SIGTERM)
            except SystemExit:
                return True
        return False
    finally:
        procs.new_run()  # this worker is ended by the pool's SIGTERM next, unwound again


def test_a_worker_forked_after_a_stop_reached_the_run_still_unwinds_on_sigterm():
    """The pool forks a worker in place of one that did its tasks from a thread of its own, at any
    time: also between the Ctrl-C that reached the run and the run's ending of its pool.  Such a
    worker inherited the run's stop, took the pool's SIGTERM for a repeat of it, went on with
    its book and was killed after the grace time, leaving its temporary file."""
    import signal

    from exporter import procs

    procs.new_run()
    assert not procs.stopping(signal.SIGINT)  # the run is stopping when the worker is forked
    try:
        pool = procs.fork_pool(1)
        try:
            assert pool.apply(_worker_unwinds_on_sigterm, (None,)) is True
        finally:
            procs.stop_pool(pool)
    finally:
        procs.new_run()


def test_ctrl_c_while_the_program_loads_ends_quietly():
    """A Ctrl-C in the tenth of a second the program's modules take to load (raised here where the
    import of the command line would be) is said as one later is: "Aborted!", exit 1, no
    traceback (the console script imports nothing of the program before its guard)."""
    code = ("import builtins, sys\n"
            "real = builtins.__import__\n"
            "def interrupted(name, *args, **kwargs):\n"
            "    if name == 'cli' or name.endswith('exporter.cli'):\n"
            "        raise KeyboardInterrupt\n"
            "    return real(name, *args, **kwargs)\n"
            "from exporter.__main__ import main\n"
            "builtins.__import__ = interrupted\n"
            "main()\n")
    r = subprocess.run([sys.executable, "-c", code, "build"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1, r.stderr
    assert r.stderr.strip() == "Aborted!" and "Traceback" not in r.stderr, r.stderr


def test_ctrl_c_that_python_swallows_while_the_program_loads_is_not_lost():
    """A Ctrl-C that lands in a finaliser while the program's modules load is only printed by
    Python ("Exception ignored in ...") and the run went on to write everything: it is noted and
    the run stops ("Aborted!", exit 1), with nothing printed of it."""
    code = ("import builtins, os, signal, sys\n"
            "real = builtins.__import__\n"
            "class Finalised:\n"
            "    def __del__(self):\n"
            "        os.kill(os.getpid(), signal.SIGINT)\n"
            "def loading(name, *args, **kwargs):\n"
            "    if name == 'cli':\n"
            "        builtins.__import__ = real\n"
            "        Finalised()  # dropped at once: its __del__ takes the Ctrl-C\n"
            "    return real(name, *args, **kwargs)\n"
            "from exporter.__main__ import main\n"
            "builtins.__import__ = loading\n"
            "main()\n"
            "print('ran on')\n")
    r = subprocess.run([sys.executable, "-c", code, "--version"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "ran on" not in r.stdout and "version" not in r.stdout, (r.stdout, r.stderr)
    assert r.stderr.strip() == "Aborted!", r.stderr


def _run_script(tmp_path: Path, code: str, *args: str, **popen: object) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), XDG_STATE_HOME=str(tmp_path / "state"),
               XDG_CACHE_HOME=str(tmp_path / "cache"))
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120,
                          env=env, **popen)  # type: ignore[call-overload]


#: A script that runs the program with a stop sent to itself as the first file is about to be
#: written: by a signal handler's place (``direct``) or inside a finaliser (``finaliser``), where
#: Python can only print what the handler raises.
_STOP_AT_FIRST_WRITE = """
import os, signal, sys
import exporter.output as output
how, signum = sys.argv[1], getattr(signal, sys.argv[2])
if sys.argv[3] == "ignored":
    signal.signal(signum, signal.SIG_IGN)
real, sent = output.write_file, []
class Finalised:
    def __del__(self):
        os.kill(os.getpid(), signum)
def write_file(*args, **kwargs):
    if not sent:
        sent.append(1)
        if how == "finaliser":
            Finalised()  # dropped at once: its __del__ takes the stop
        else:
            os.kill(os.getpid(), signum)
    return real(*args, **kwargs)
output.write_file = write_file
for name, module in list(sys.modules.items()):
    if name.startswith("exporter.") and getattr(module, "write_file", None) is real:
        module.write_file = write_file
from exporter.__main__ import main
sys.argv = ["digest-export", *sys.argv[4:]]
main()
"""


def test_ctrl_c_that_lands_in_a_finaliser_during_the_run_stops_it_before_the_next_file(tmp_path):
    """What a Ctrl-C raises in a finaliser (a ``__del__``, a weakref callback), Python only prints,
    and the program says nothing of it: the run would have gone on to write everything.  It is
    noted and raised again before the next file: "Aborted!", exit 1, no book, no temporary file."""
    out = tmp_path / "out"
    r = _run_script(tmp_path, _STOP_AT_FIRST_WRITE, "finaliser", "SIGINT", "handled",
                    "epub", "-o", str(out), "--images", "none", "-q")
    assert r.returncode == 1 and r.stderr.strip().endswith("Aborted!"), r.stderr
    assert "Traceback" not in r.stderr and "Exception ignored" not in r.stderr, r.stderr
    assert not list(out.rglob("*.epub")) and not list(out.rglob("*.part"))


def test_sigterm_that_lands_in_a_finaliser_stops_the_run_with_its_status(tmp_path):
    out = tmp_path / "out"
    r = _run_script(tmp_path, _STOP_AT_FIRST_WRITE, "finaliser", "SIGTERM", "handled",
                    "epub", "-o", str(out), "--images", "none", "-q")
    assert r.returncode == 128 + signal.SIGTERM and "stopped (SIGTERM)" in r.stderr, r.stderr
    assert not list(out.rglob("*.epub")) and not list(out.rglob("*.part"))


@pytest.mark.parametrize("signame", ["SIGINT", "SIGHUP"])
def test_a_stop_the_run_was_started_ignoring_stays_ignored(tmp_path, signame):
    """A command run in the background by a shell without job control starts ignoring Ctrl-C, and
    ``nohup`` starts it ignoring SIGHUP so that it outlives the terminal (POSIX ``sh``): the run
    keeps them ignored, and finishes (it stopped on SIGHUP, and on a Ctrl-C while it loaded)."""
    out = tmp_path / "out"
    r = _run_script(tmp_path, _STOP_AT_FIRST_WRITE, "direct", signame, "ignored",
                    "epub", "-o", str(out), "--images", "none", "-q")
    assert r.returncode == 0, r.stderr
    assert list(out.glob("*.epub"))
    # While the program loads, too (its guard against a Ctrl-C there).
    code = ("import os, signal, sys\n"
            "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
            "import builtins\n"
            "real = builtins.__import__\n"
            "def loading(name, *args, **kwargs):\n"
            "    if name == 'cli':\n"
            "        os.kill(os.getpid(), signal.SIGINT)\n"
            "    return real(name, *args, **kwargs)\n"
            "from exporter.__main__ import main\n"
            "builtins.__import__ = loading\n"
            "main()\n")
    r = _run_script(tmp_path, code, "--version")
    assert r.returncode == 0 and "digest-export" in r.stdout, (r.stdout, r.stderr)


def test_a_stop_after_the_run_is_over_changes_nothing(tmp_path):
    """Once the command has said how it ended, the process ends at once with that status
    (``exporter.__main__``): a Ctrl-C then (here from an exit function) finds nothing to stop,
    where Python's own ending, a tenth of a second after a year's books, died of it (no handler
    left: status 130 by the shell) after the run had written everything."""
    code = ("import atexit, os, signal, sys\n"
            "atexit.register(lambda: os.kill(os.getpid(), signal.SIGINT))\n"
            "from exporter.__main__ import main\n"
            "sys.argv = ['digest-export', *sys.argv[1:]]\n"
            "main()\n")
    out = tmp_path / "out"
    r = _run_script(tmp_path, code, "epub", "-o", str(out), "--images", "none", "-q")
    assert r.returncode == 0 and "Aborted" not in r.stderr and "Traceback" not in r.stderr, r.stderr
    r = _run_script(tmp_path, code, "epub", "--no-such-option")
    assert r.returncode == 2, r.stderr


#: A script that sends itself SIGTERM while the first temporary file is written (at its sync), and
#: again as the cleanup that the first started removes it: ``timeout`` sends its signal to the
#: command and then to its whole process group, so each process takes it twice.
_TERM_TWICE = """
import os, signal, sys
real_fsync, real_unlink, sent = os.fsync, os.unlink, []
def fsync(fd):
    if not sent:
        sent.append(1)
        os.kill(os.getpid(), signal.SIGTERM)
    return real_fsync(fd)
def unlink(path, *args, **kwargs):
    if str(path).endswith(".part") and len(sent) == 1:
        sent.append(2)
        os.kill(os.getpid(), signal.SIGTERM)
    return real_unlink(path, *args, **kwargs)
os.fsync, os.unlink = fsync, unlink
from exporter.__main__ import main
sys.argv = ["digest-export", *sys.argv[1:]]
main()
"""


def test_a_second_stop_during_the_cleanup_of_the_first_is_not_raised_again(tmp_path):
    """The second SIGTERM, raised in the middle of the first one's cleanup, cut the removal of the
    temporary file being written (an empty ``.NAME.*.part`` was left) and said "stopped" twice."""
    out = tmp_path / "out"
    r = _run_script(tmp_path, _TERM_TWICE, "epub", "-o", str(out), "--images", "none", "-q", "-j", "1")
    assert r.returncode == 128 + signal.SIGTERM, r.stderr
    assert r.stderr.count("stopped (SIGTERM)") == 1 and "Traceback" not in r.stderr, r.stderr
    assert out.is_dir() and not [p.name for p in out.iterdir() if p.name.endswith(".part")]


def test_a_stopped_run_keeps_its_token_so_a_later_run_removes_what_its_workers_left(tmp_path):
    """A run's token is recorded while it runs and forgotten when it ends cleanly; a run that
    stopped (its workers ended before they were done, one may have been killed mid-file) keeps
    its record, which is what lets a later run take that run's temporary file for a leftover."""
    runs = tmp_path / "state" / "digest-export" / "runs"
    out = tmp_path / "out"
    generate(tmp_path / "in", 60, 600)  # books enough for the workers
    r = _run_script(tmp_path, "import sys\nfrom exporter.__main__ import main\n"
                              "sys.argv = ['digest-export', *sys.argv[1:]]\nmain()\n",
                    "epub", str(tmp_path / "in"), "-o", str(out), "--images", "none", "-q", "-j", "2")
    assert r.returncode == 0, r.stderr
    assert len(list(out.glob("*.epub"))) > 3
    assert not list(runs.iterdir())  # a run that ended cleanly, its workers too
    r = _run_script(tmp_path, _TERM_TWICE, "epub", "-o", str(tmp_path / "out2"), "--images", "none", "-q",
                    "-j", "1")
    assert r.returncode == 128 + signal.SIGTERM, r.stderr
    kept = list(runs.iterdir())
    assert len(kept) == 1 and kept[0].read_text().strip()  # the token, with the folder it wrote in


def test_the_workers_of_a_run_started_ignoring_sigterm_still_end_when_their_pool_is_ended():
    """``Pool.terminate()`` ends each worker by SIGTERM: a worker forked from a run started
    ignoring it (``nohup``-like supervisors, a shell's ``trap '' TERM``) ignored it too, and the
    run waited the grace period out for each, then killed it mid-file."""
    from exporter import procs

    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        pool = procs.fork_pool(1)
        pool.apply_async(time.sleep, (30,))
        time.sleep(0.5)  # the worker is sleeping in its task
        start = time.monotonic()
        procs.stop_pool(pool)
        assert time.monotonic() - start < procs.GRACE_SECONDS / 2
    finally:
        signal.signal(signal.SIGTERM, previous)
        procs.new_run()


#: A build whose first forked worker, once its first book is renamed into place, stops the main
#: process (``worker``) and waits for its own end, so the book's result never goes back; or whose
#: main process is stopped right after it renames its first file (``main``: before it knows it).
_STOP_AFTER_A_RENAME = """
import os, signal, sys, time
import exporter.output as output
where, main_pid, done = sys.argv[1], os.getpid(), []
real = output._replace
def _replace(at, path, data):
    real(at, path, data)
    if done or not path.name.endswith(".epub"):
        return
    if where == "worker" and os.getpid() != main_pid:
        done.append(1)
        os.kill(main_pid, signal.SIGTERM)
        time.sleep(30)  # ended by its pool, result unsent
    elif where == "main" and os.getpid() == main_pid:
        done.append(1)
        os.kill(main_pid, signal.SIGTERM)
        time.sleep(1)  # the handler raises here, before the file is known
output._replace = _replace
from exporter.__main__ import main
sys.argv = ["digest-export", *sys.argv[2:]]
main()
"""


@pytest.mark.parametrize("where", ["worker", "main"])
def test_a_book_written_before_a_stop_is_the_next_runs_own(tmp_path, where):
    """A stopped build records what it wrote, so the next one replaces it: a book a worker renamed
    into place and had no time to report (the stop ended the worker first), or a file the main
    process renamed just before the stop, was not recorded, and the next build of other inputs
    refused it as "changed since digest-export wrote it" until the user moved it away."""
    out = tmp_path / "out"
    generate(tmp_path / "in", 60, 600)  # books enough for the workers
    main_only = "import sys\nfrom exporter.__main__ import main\nsys.argv = ['digest-export', *sys.argv[1:]]\nmain()\n"
    jobs = ["-j", "2" if where == "worker" else "1"]
    a = ["build", str(tmp_path / "in"), "-o", str(out), "--images", "none", "-q", *jobs]
    b = [*a, "--title", "Other Papers"]
    assert _run_script(tmp_path, main_only, *a).returncode == 0
    assert _run_script(tmp_path, main_only, *b).returncode == 0
    r = _run_script(tmp_path, _STOP_AFTER_A_RENAME, where, *a)
    assert r.returncode == 128 + signal.SIGTERM, r.stderr
    assert "stopped (SIGTERM)" in r.stderr, r.stderr
    r = _run_script(tmp_path, main_only, *b)
    assert r.returncode == 0, r.stderr
    assert "changed since" not in r.stderr
    fresh = tmp_path / "fresh"
    env_state = tmp_path / "fresh-state"
    r = subprocess.run([sys.executable, "-m", "exporter", *b[:3], str(fresh), *b[4:]], capture_output=True,
                       text=True, timeout=120, env=dict(os.environ, PYTHONPATH=str(ROOT),
                                                        XDG_STATE_HOME=str(env_state)))
    assert r.returncode == 0, r.stderr
    made = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert made == sorted(p.relative_to(fresh).as_posix() for p in fresh.rglob("*") if p.is_file())
    for name in made:
        if name.endswith(".epub"):
            assert (out / name).read_bytes() == (fresh / name).read_bytes(), name


@pytest.mark.parametrize("args, status", [
    (["build", "--bogus"], 2), (["build", "--days", "0"], 2),
    # and a run that succeeds, whose summary (standard output) meets the closed pipe: click's 1
    (["build", "-o", "{tmp}/out", "--images", "none"], 0), (["inspect"], 0), (["inspect", "--json"], 0),
    (["epub", "-o", "{tmp}/book.epub", "--images", "none"], 0),
])
def test_what_is_said_to_a_closed_pipe_is_dropped_and_the_run_ends_with_its_own_status(tmp_path, args, status):
    """``digest-export build --bogus 2>&1 | head -c 5``: the reader is gone when the usage error
    is said.  The broken pipe was taken for a bug ("internal error", a crash report each time,
    exit 1); the run ends as a usage error (exit 2), saying what it can, reporting nothing; a
    run that succeeds ends with 0, its files written."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), XDG_STATE_HOME=str(tmp_path / "state"),
               XDG_CACHE_HOME=str(tmp_path / "cache"))
    read, write = os.pipe()
    os.close(read)  # no one reads what it says
    try:
        r = subprocess.run([sys.executable, "-m", "exporter", *(a.format(tmp=tmp_path) for a in args)],
                           stdout=write, stderr=write, env=env, timeout=60)
    finally:
        os.close(write)
    assert r.returncode == status
    if status == 0 and args[0] != "inspect":
        assert list(tmp_path.glob("*.epub")) or list((tmp_path / "out").glob("*.epub"))
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").rglob("crash-*"))


def test_a_finaliser_failing_while_a_stop_unwinds_says_nothing(capsys):
    """A book worker ended by its run inside ``ZipFile.__init__`` leaves an object whose
    ``__del__`` fails (no ``_writing``): while the process unwinds from a stop, that is no
    message for the user; before a stop, it is reported as Python would."""
    import sys

    from exporter import procs
    from exporter.cli.crash import _quiet_unraisable

    class HalfMade:
        def __del__(self):
            raise AttributeError("'ZipFile' object has no attribute '_writing'")

    hook, sys.unraisablehook = sys.unraisablehook, _quiet_unraisable
    procs.new_run()
    try:
        HalfMade()  # dropped at once: its finaliser fails
        assert "AttributeError" in capsys.readouterr().err
        assert not procs.stopping(15)
        HalfMade()
        assert capsys.readouterr().err == ""
    finally:
        sys.unraisablehook = hook
        procs.new_run()


def test_a_stop_python_wrapped_in_another_exception_ends_as_the_stop(monkeypatch):
    """SIGTERM raised inside a class body's ``__set_name__`` (a module imported as the signal
    came) comes out as "RuntimeError: Error calling __set_name__": the run ends as the stop does
    (exit 143), not as an internal error (exit 70); before any stop, such an error is a bug."""
    import click
    from click.testing import CliRunner

    from exporter import procs
    from exporter.cli.crash import Group

    @click.group(cls=Group)
    def cli():
        pass

    @cli.command()
    def run():
        class Named:
            def __set_name__(self, owner, name):
                if procs.unwinding():
                    raise SystemExit(143)
                raise ValueError("a bug")

        class Owner:  # noqa: F841 -- made for its __set_name__
            field = Named()

    procs.new_run()
    assert CliRunner().invoke(cli, ["run"]).exit_code == 70  # no stop: an internal error
    monkeypatch.setattr("exporter.cli.crash.new_run", lambda: None)  # the stop under way survives the start
    try:
        assert not procs.stopping(15)
        result = CliRunner().invoke(cli, ["run"])
        assert result.exit_code == 143, result.output
        assert "internal error" not in result.output
    finally:
        procs._STOPPING.clear()


def test_a_stop_whose_unwinding_hangs_still_ends_the_process_in_bounded_time(tmp_path):
    """The run said how it ended ("stopped (SIGTERM)") and then waited for ever in its unwinding
    (a pool's teardown, seen once in eighty stops), holding the folder's lock: past
    ``UNWIND_SECONDS`` the process ends as the stop would have ended it, status 143."""
    import subprocess
    import sys
    import time

    script = tmp_path / "hangs.py"
    script.write_text(
        "import os, signal, time, click\n"
        "from exporter.cli import crash\n"
        "crash.UNWIND_SECONDS = 1.0\n"
        "@click.group(cls=crash.Group)\n"
        "def cli():\n    pass\n"
        "@cli.command()\n"
        "def run():\n"
        "    try:\n        os.kill(os.getpid(), signal.SIGTERM); time.sleep(5)\n"
        "    finally:\n        time.sleep(60)  # an unwinding that never ends\n"
        "cli(['run'])\n", "utf-8")
    start = time.monotonic()
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=30,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert done.returncode == 143, (done.returncode, done.stderr)
    assert time.monotonic() - start < 15
    assert "stopped (SIGTERM)" in done.stderr


@pytest.mark.parametrize("stderr", ["closed", "/dev/full"])
@pytest.mark.parametrize("command", [["build", "-o", "{tmp}/out"], ["epub", "-o", "{tmp}/book.epub"]])
def test_a_run_whose_standard_error_is_closed_or_full_writes_its_files(tmp_path, stderr, command):
    """``2>&-`` (a service started so), ``2>/dev/full``: what the run says reaches no one, and it
    still writes its files and ends with its own status.  Closed, it crashed at the first look at
    its terminal (an internal error, nothing written); full, every command ended at its first
    message with exit 1 and a crash report."""
    if stderr == "/dev/full" and not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    env = dict(os.environ, PYTHONPATH=str(ROOT), XDG_STATE_HOME=str(tmp_path / "state"),
               XDG_CACHE_HOME=str(tmp_path / "cache"))
    src = tmp_path / "in"  # two weeks: two books, the run's progress is asked for
    src.mkdir()
    for date in ("2024-03-04", "2024-03-12"):
        (src / f"{date}.md").write_text(f"## Daily Papers ({date})\n\n### [P](https://arxiv.org/abs/2403.00001)\n\n"
                                        "- a summary.\n", "utf-8")
    args = [sys.executable, "-m", "exporter", command[0], str(src), *(a.format(tmp=tmp_path) for a in command[1:]),
            "--images", "none"] + (["--by", "all"] if command[0] == "epub" else [])
    if stderr == "closed":
        r = subprocess.run(args, stdout=subprocess.DEVNULL, env=env, timeout=120, preexec_fn=lambda: os.close(2))
    else:
        with open(stderr, "w") as full:
            r = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=full, env=env, timeout=120)
    assert r.returncode == 0
    assert list(tmp_path.glob("*.epub")) or list((tmp_path / "out").glob("*.epub"))
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").rglob("crash-*"))
