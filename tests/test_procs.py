"""A pool of workers is ended in bounded time, even when a worker does not end on SIGTERM."""

import multiprocessing
import os
import signal
import time

import pytest

from exporter import procs

FORK = "fork" in multiprocessing.get_all_start_methods()


def _deaf() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # as a worker stuck where its handler cannot run


def _nap(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@pytest.mark.skipif(not FORK, reason="no fork start method")
def test_a_worker_deaf_to_sigterm_is_killed_after_the_grace_time(monkeypatch):
    monkeypatch.setattr(procs, "GRACE_SECONDS", 0.5)
    pool = multiprocessing.get_context("fork").Pool(2, initializer=_deaf)
    pool.map_async(_nap, [30, 30])  # both busy, as when a run stops half-way
    time.sleep(0.3)
    workers = list(pool._pool)
    start = time.monotonic()
    procs.stop_pool(pool)
    assert time.monotonic() - start < 10
    assert all(w.exitcode == -signal.SIGKILL for w in workers)


@pytest.mark.skipif(not FORK, reason="no fork start method")
def test_workers_that_end_on_sigterm_are_not_killed(monkeypatch):
    pool = multiprocessing.get_context("fork").Pool(2)
    pool.map_async(_nap, [30, 30])
    time.sleep(0.3)
    workers = list(pool._pool)
    procs.stop_pool(pool)
    assert all(w.exitcode == -signal.SIGTERM for w in workers)


# A run whose workers wait on a lock the run holds (as they wait on the task queue's lock while
# ``terminate()`` holds it, ``Pool._help_stuff_finish``) when it is killed: nothing will ever
# release it.
_HOLDER = """
import multiprocessing, os, signal, sys, time
from exporter import procs
procs.GRACE_SECONDS = 1.0
if sys.argv[1] == "deaf":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
held = multiprocessing.get_context("fork").Lock()
held.acquire()

def wait(_):
    held.acquire()

pool = procs.fork_pool(2)
pool.map_async(wait, [1, 2], chunksize=1)
time.sleep(0.5)
print(" ".join(str(w.pid) for w in pool._pool), flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not FORK or not os.path.exists("/proc/self/stat"), reason="forks; reads /proc")
@pytest.mark.parametrize("how", ["sigterm", "deaf"])
def test_workers_of_a_killed_run_end(how):
    """SIGKILL of the run (``timeout -s KILL``, the OOM killer, a cancelled CI job) leaves no
    worker behind, even one stuck on a lock only the run could release: each worker watches its
    parent and ends within about a second (SIGTERM, then ``_exit`` past the grace time)."""
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    run = subprocess.Popen([sys.executable, "-c", _HOLDER, how], env=env, stdout=subprocess.PIPE, text=True)
    workers = [int(p) for p in run.stdout.readline().split()]
    assert len(workers) == 2 and all(_alive(p) for p in workers), workers
    run.kill()
    run.wait()
    deadline = time.monotonic() + 15
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [p for p in workers if _alive(p)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"workers left running: {left}"
