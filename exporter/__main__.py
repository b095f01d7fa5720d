"""``python -m exporter`` and the ``digest-export`` console script.

The program's modules are imported here, inside :func:`main`, not at the top: a Ctrl-C in the
tenth of a second they take to load (regular expressions compiled, libraries imported) is then
said as click says one later ("Aborted!", exit 1), never a Python traceback, and never lost: one
that lands in a finaliser while they load (``regex``'s ``SetBase.__del__``) is a KeyboardInterrupt
Python only prints ("Exception ignored in ...") and the run went on; it is noted by the handler
and acted on once the import is done.  (A Ctrl-C before this module runs, while the interpreter
and the console script's own ``import sys`` load, is Python's to report.)"""

from __future__ import annotations

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
    previous = signal.signal(signal.SIGINT, interrupted)
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
    run(prog_name=prog_name)


if __name__ == "__main__":
    main(prog_name="digest-export")
