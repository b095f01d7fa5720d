"""Ending a pool of forked worker processes (the reader's and the book workers') when a run stops.

``multiprocessing.Pool.terminate()`` sends each worker SIGTERM (the program's handler unwinds it,
so it removes the temporary file it was writing: ``cli/crash.py``) and then joins each one
without a time limit.  A worker that does not end that way kept the run waiting for good: seen
with a worker waiting on the task queue's lock, which ``terminate()`` takes first
(``Pool._help_stuff_finish``), while the run stopped on a file of the user's in the way.  So
``terminate()`` runs in a thread of its own and, past a few seconds, what is left of the pool is
killed (SIGKILL: a ``.NAME.*.part`` file it leaves is removed by the next run's writer).
"""

from __future__ import annotations

import threading
from typing import Any

def can_fork() -> bool:
    """Whether workers can be forked here (POSIX ``fork``): they then inherit the model read."""
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()


#: How long the workers have to end on SIGTERM.
GRACE_SECONDS = 5.0


def stop_pool(pool: Any) -> None:
    """End *pool* (a ``multiprocessing.Pool``) now, its workers too, in bounded time."""
    ending = threading.Thread(target=pool.terminate, name="digest-export-pool-end", daemon=True)
    ending.start()
    ending.join(GRACE_SECONDS)
    if ending.is_alive():
        # Pool keeps its processes in ``_pool`` (CPython since 2.6); nothing public lists them.
        for worker in list(getattr(pool, "_pool", ())):
            if worker.exitcode is None:
                worker.kill()
        ending.join()
