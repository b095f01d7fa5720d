"""Forked worker pools (the reader's and the book workers'): made, and ended when a run stops.

A worker whose run was killed (SIGKILL: ``timeout -s KILL``, the OOM killer, a CI job cancelled)
has no one to end it: it waits on the task queue's lock or pipe for good, since every worker holds
the queue's writing end too (inherited with ``fork``) and so never reads its end.  Each worker
therefore watches its parent (:func:`fork_pool`) and ends when the parent is gone.


``multiprocessing.Pool.terminate()`` sends each worker SIGTERM (the program's handler unwinds it,
so it removes the temporary file it was writing: ``cli/crash.py``) and then joins each one
without a time limit.  A worker that does not end that way kept the run waiting for good: seen
with a worker waiting on the task queue's lock, which ``terminate()`` takes first
(``Pool._help_stuff_finish``), while the run stopped on a file of the user's in the way.  So
``terminate()`` runs in a thread of its own and, past a few seconds, what is left of the pool is
killed (SIGKILL: a ``.NAME.*.part`` file it leaves is removed by the next run's writer).
"""

from __future__ import annotations

import contextlib

import threading
from collections.abc import Iterator
from typing import Any

def can_fork() -> bool:
    """Whether workers can be forked here (POSIX ``fork``): they then inherit the model read."""
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()


#: How long the workers have to end on SIGTERM.
GRACE_SECONDS = 5.0


def stop_signals(*, interrupt: bool) -> list[int]:
    """The signals that ask a run to stop, each unwound as Ctrl-C is: SIGTERM (what ``timeout``,
    systemd and cron's kill send), SIGHUP where the system has it (the terminal the run was
    started from closed), and SIGINT (Ctrl-C) itself when *interrupt*; not one the process was
    started ignoring: ``nohup`` ignores SIGHUP so that a run outlives its terminal, and a shell
    without job control starts a command run in the background (``cmd &``) ignoring SIGINT, so
    that Ctrl-C stops only what runs in the foreground (POSIX ``sh``, Asynchronous Lists).  Python
    keeps such a SIGINT ignored; the program's handlers do the same."""
    import signal

    wanted = ([signal.SIGINT] if interrupt else []) + [signal.SIGTERM] + (
        [signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
    return [signum for signum in wanted if signal.getsignal(signum) is not signal.SIG_IGN]


#: Stops that came where Python cannot raise them (the exception a handler raised in a finaliser
#: or a weakref callback, which Python only reports: ``cli/crash.py`` says nothing of them), to be
#: raised again where the run can stop (:func:`stop_if_asked`).
_UNRAISED: list[BaseException] = []


def stop_unraised(stop: BaseException) -> None:
    """Note *stop* (a KeyboardInterrupt or SystemExit) that Python could not raise: the next
    :func:`stop_if_asked` raises it, so that a Ctrl-C is never lost to a finaliser."""
    _UNRAISED.append(stop)


#: The stop this process is unwinding from, once a handler raised it ([signal number]).
_STOPPING: list[int] = []
#: Whether this process ended a pool of workers before they were done (:func:`stop_pool`).
_POOL_STOPPED: list[bool] = []


def new_run() -> None:
    """A run begins in this process (the tests run the program many times in one): no stop of
    an earlier run is this one's."""
    _UNRAISED.clear()
    _STOPPING.clear()
    _POOL_STOPPED.clear()


def stopping(signum: int) -> bool:
    """For a signal handler: whether a stop is under way already, so that *signum* is not raised
    again.  GNU ``timeout`` sends its signal to the command and then to the command's whole
    process group (coreutils ``timeout.c``, ``cleanup``), so the run and each worker take it
    twice, and the worker a third time from the run ending its pool: raised again in the middle
    of the cleanup the first one started, it cut the removal of the temporary file being written
    (an empty ``.NAME.*.part`` was left) and the message was said twice."""
    if _STOPPING:
        return True
    _STOPPING.append(signum)
    _UNRAISED.clear()  # this stop is raised now: what was noted before was this one's
    return False


def unwinding() -> bool:
    """Whether this process is unwinding from a stop (a signal handler raised it)."""
    return bool(_STOPPING)


def ended_cleanly() -> bool:
    """Whether this process neither stopped on a signal nor ended workers before they were done:
    then no temporary file of the run can be left (``output._forget_token``)."""
    return not _STOPPING and not _POOL_STOPPED


def stop_if_asked() -> None:
    """Where a run can stop between two steps (before each file it writes, between two books):
    raise a stop that came where Python could not raise it, once."""
    if _UNRAISED:
        stop = _UNRAISED[0]
        _UNRAISED.clear()
        raise SystemExit(stop.code) if isinstance(stop, SystemExit) else KeyboardInterrupt


#: How often a worker looks whether its run is still there.
WATCH_SECONDS = 0.5


def fork_pool(workers: int, **options: Any) -> Any:
    """A ``multiprocessing.Pool`` of *workers* forked processes (*options* as ``Pool`` takes them)
    that end when this process does, however it ends."""
    import multiprocessing
    import os

    return multiprocessing.get_context("fork").Pool(workers, initializer=_follow_parent,
                                                   initargs=(os.getpid(),), **options)


def _follow_parent(parent: int) -> None:
    """In a worker: a thread that ends the worker once *parent* is gone (the worker is then the
    child of another process: POSIX ``getppid``).  SIGTERM first, so the worker removes the
    temporary file it was writing (``cli/crash.py``); past :data:`GRACE_SECONDS`, ``_exit``.

    Not Linux's ``PR_SET_PDEATHSIG``: it fires when the parent *thread* that forked the worker ends,
    and the pool forks its later workers (``maxtasksperchild``) from a thread of its own."""
    import os
    import signal
    import sys
    import time

    # A worker the pool forks to replace one that did its tasks (``maxtasksperchild``) is forked
    # from the pool's own thread, at any time: also after a Ctrl-C reached the run and before the
    # run ends its pool.  It would inherit the run's stop, and so take the SIGTERM that ends it
    # for a repeat of that stop (:func:`stopping`) and go on with a book until it was killed,
    # leaving the temporary file it was writing.  Its own stop is the SIGTERM to come.
    new_run()
    # Ctrl-C on a terminal reaches the whole process group: the parent ends the pool (SIGTERM,
    # which each worker takes quietly) and says "Aborted!" once; a KeyboardInterrupt here would
    # print a traceback from each worker.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if not callable(signal.getsignal(signal.SIGTERM)):
        # The run was started ignoring SIGTERM (or it has no handler of the program's), yet
        # ``Pool.terminate()`` ends each worker by it: unwound, as the program's handler does.
        signal.signal(signal.SIGTERM, _ended)
    sys.stderr = _QuietWhenOrphaned(sys.stderr, parent)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(WATCH_SECONDS)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(GRACE_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="digest-export-parent-watch", daemon=True).start()


def _ended(signum: int, frame: Any) -> None:
    """A worker's SIGTERM: unwound (the temporary file it was writing is removed), status 143."""
    if stopping(signum):
        return
    raise SystemExit(128 + signum)


class _QuietWhenOrphaned:
    """A worker's standard error, saying nothing once its parent is gone (killed outright): what
    it would say then is multiprocessing's traceback of the broken pipe to that parent, in the
    log of a run that is over."""

    def __init__(self, stream: Any, parent: int):
        self._stream, self._parent = stream, parent

    def write(self, text: str) -> int:
        import os

        return self._stream.write(text) if os.getppid() == self._parent else len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def stop_pool(pool: Any) -> bool:
    """End *pool* (a ``multiprocessing.Pool``) now, its workers too, in bounded time; whether a
    worker had to be killed (it may have left the temporary file it was writing)."""
    if any(worker.exitcode is None for worker in list(getattr(pool, "_pool", ()))):
        _POOL_STOPPED.append(True)  # workers still at work: one may leave a temporary file
    ending = threading.Thread(target=pool.terminate, name="digest-export-pool-end", daemon=True)
    ending.start()
    ending.join(GRACE_SECONDS)
    if ending.is_alive():
        # Pool keeps its processes in ``_pool`` (CPython since 2.6); nothing public lists them.
        for worker in list(getattr(pool, "_pool", ())):
            if worker.exitcode is None:
                worker.kill()
        # Bounded too: a worker killed while it sent a result leaves half a message in the pool's
        # pipe, and the pool's result thread, which terminate() joins, waits for the rest for
        # ever.  The threads are daemons: the run ends without them.
        ending.join(GRACE_SECONDS)
        return True
    return False


@contextlib.contextmanager
def stops_deferred() -> Iterator[None]:
    """Within the block, Ctrl-C, SIGTERM and SIGHUP wait for its end, then act as they would
    have (where this is the main thread): for what must not be cut between two steps, such as a
    message the server has accepted and the ledger that records it (a stop in between would mail
    the book again on the next run).  Bounded by what the block does (an SMTP exchange: by its
    time-outs)."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {signum: signal.signal(signum, lambda signum, frame: caught.append(signum))
                for signum in stop_signals(interrupt=True)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if caught:
            handler = previous[caught[0]]
            if callable(handler):
                handler(caught[0], None)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(caught[0])


#: How often a run waiting for a pool's results looks for a worker that ended before its task did.
WORKER_CHECK_SECONDS = 0.1


def pool_results(pool: Any, results: Any, doing: str) -> Iterator[Any]:
    """Each of *results* (*pool*'s ``imap`` or ``imap_unordered``) as it comes; OutputError when a
    worker ended other than by finishing its tasks (killed by a signal: the kernel's out-of-memory
    killer, ``kill -9``).  ``multiprocessing.Pool`` forks another in its place, but the task the
    worker held is lost, and the run waited for its result for ever, holding the folder's lock (a
    daily cron job stuck).  *doing*: what the workers do, for the message.

    The pool drops a worker that ended, so each is noted while it is in the pool, from the start
    and by a thread of its own: this process may be busy elsewhere meanwhile (``build`` writes the
    feeds while the books are built)."""
    seen: dict[int, Any] = {}
    done = threading.Event()

    def note() -> None:
        for process in list(getattr(pool, "_pool", ())):
            seen.setdefault(process.pid, process)

    def watch() -> None:
        while not done.wait(WORKER_CHECK_SECONDS / 4):
            note()

    note()
    watcher = threading.Thread(target=watch, name="digest-export-pool-watch", daemon=True)
    watcher.start()
    return _checked_results(results, seen, done, doing)


def _checked_results(results: Any, seen: dict[int, Any], done: threading.Event, doing: str) -> Iterator[Any]:
    import multiprocessing

    try:
        while True:
            try:
                yield results.next(timeout=WORKER_CHECK_SECONDS)
            except StopIteration:
                return
            except multiprocessing.TimeoutError:
                pass
            for process in list(seen.values()):
                code = process.exitcode
                if code not in (None, 0):
                    from .errors import OutputError

                    how = f"was killed by signal {-code}" if code < 0 else f"ended with status {code}"
                    raise OutputError(f"a worker process {doing} (process {process.pid}) {how} before its task "
                                      "was done: the run stops here (run it again; if the system killed it for "
                                      "memory, try --jobs 1)")
    finally:
        done.set()
