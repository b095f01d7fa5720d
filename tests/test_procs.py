"""A pool of workers is ended in bounded time, even when a worker does not end on SIGTERM."""

import multiprocessing
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
