"""``python -m exporter`` and the ``digest-export`` console script.

The program's modules are imported here, inside :func:`main`, not at the top: a Ctrl-C in the
tenth of a second they take to load (regular expressions compiled, libraries imported) is then
said as click says one later ("Aborted!", exit 1), never a Python traceback, and never lost: one
that lands in a finaliser while they load (``regex``'s ``SetBase.__del__``) is a KeyboardInterrupt
Python only prints ("Exception ignored in ...") and the run went on; it is noted by the handler
and acted on once the import is done.  (A Ctrl-C before this module runs, while the interpreter
and the console script's own ``import sys`` load, is Python's to report.)

Once the command has said how it ended, the process ends at once (:func:`_leave`): what Python
would do next, free every object of the run one by one, took a tenth of a second after a year's
books, in which a Ctrl-C found no handler and ended the process by the signal (exit status 130 by
the shell) after its work was done and said."""

from __future__ import annotations

import atexit
import os
import signal
import sys


def main(prog_name: str | None = None) -> None:
    asked: list[int] = []

    def interrupted(signum: int, frame: object) -> None:
        asked.append(signum)
        raise KeyboardInterrupt

    def unraisable(hook_args: object) -> None:
        if not isinstance(getattr(hook_args, "exc_value", None), KeyboardInterrupt):
            previous_hook(hook_args)  # type: ignore[arg-type]

    previous_hook = sys.unraisablehook
    sys.unraisablehook = unraisable
    # Not a Ctrl-C the process was started ignoring (a command run in the background by a shell
    # without job control): Python keeps it ignored, and so does the run (procs.stop_signals).
    previous = signal.getsignal(signal.SIGINT)
    if previous is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, interrupted)
    try:
        from .cli import main as run
    except KeyboardInterrupt:
        asked.append(signal.SIGINT)
    finally:
        signal.signal(signal.SIGINT, previous)
        sys.unraisablehook = previous_hook
    if asked:
        sys.stderr.write("\nAborted!\n")
        sys.exit(1)
    try:
        run(prog_name=prog_name)
    except SystemExit as done:
        _leave(done)


def _leave(done: SystemExit) -> None:
    """End the process with *done*'s status now, as Python would after its exit functions and the
    flushing of its standard streams, without its finalisation (``os._exit``): every file of the
    run is closed (the writer closes and renames each in ``output.py``) and nothing is left for
    it to do but free memory, which the system does at once.  A stop that comes now is too late
    to stop anything: it is ignored."""
    code = done.code
    if (code is not None and not isinstance(code, int)) or sys.getprofile() or sys.gettrace():
        # A message as status (Python prints it), or a profiler or coverage tool that writes its
        # findings at exit.
        raise done
    for signum in (signal.SIGINT, signal.SIGTERM) + ((signal.SIGHUP,) if hasattr(signal, "SIGHUP") else ()):
        signal.signal(signum, signal.SIG_IGN)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            # Python's own status when standard output cannot be flushed at exit.
            code = code or 120
    os._exit(code or 0)


if __name__ == "__main__":
    main(prog_name="digest-export")
