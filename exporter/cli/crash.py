"""No traceback, ever: an unexpected exception becomes one line and exit status 70.

Every command ends with a message and exit status 0, 1 or 2 on any input.
An exception that escapes a command anyway is a bug: the user sees one
line naming a file that holds the traceback (in the user's cache folder,
from platformdirs), and the exit status is 70 (``EX_SOFTWARE``, BSD
sysexits(3): "an internal software error has been detected"), so cron and
scripts tell a bug from bad input.  ``DIGEST_EXPORT_TRACEBACK=1`` prints the
traceback as well (for developers).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from ..gates.names import shell_quote
from ..procs import new_run, stop_if_asked, stop_signals, stop_unraised, stopping, unwinding

import click

#: sysexits(3) EX_SOFTWARE.
EXIT_INTERNAL = 70


def crash_report(err: BaseException, argv: list[str] | None = None) -> Path | None:
    """Save the traceback of *err* to a new file in the user's cache folder; its path, or None
    if it could not be written."""
    import platformdirs

    from .. import __version__

    folder = Path(platformdirs.user_cache_dir("digest-export")) / "crashes"
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    text = (f"digest-export {__version__}, Python {sys.version.split()[0]}, {sys.platform}\n"
            f"command: {argv if argv is not None else sys.argv}\n\n"
            + "".join(traceback.format_exception(err)))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"crash-{stamp}-{os.getpid()}.txt"
        with open(path, "w", encoding="utf-8", errors="backslashreplace") as fh:
            fh.write(text)
        return path
    except OSError:
        return None


def internal_error(err: BaseException, argv: list[str] | None = None) -> int:
    """Say *err* in one line (and where its traceback is); the exit status."""
    path = crash_report(err, argv)
    what = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
    what = " ".join(what.split())[:300]
    where = f"the file {shell_quote(path)}" if path is not None else "this message"
    click.echo(f"digest-export: internal error: {what}; please report it with {where}", err=True)
    if os.environ.get("DIGEST_EXPORT_TRACEBACK"):
        click.echo("".join(traceback.format_exception(err)), err=True)
    return EXIT_INTERNAL


class Group(click.Group):
    """A click group whose commands never end in a traceback."""

    def main(self, args: Any = None, *rest: Any, **kwargs: Any) -> Any:
        # Each run has its own budget for compiling regular expressions (exporter.selections.model:
        # a process that runs the program more than once, as the tests do, starts each afresh).
        selections = sys.modules.get("exporter.selections.model")
        if selections is not None:
            selections.new_compile_budget()
        new_run()  # a stop noted in an earlier run of this process is not this run's
        with _terminated_cleanly(), _printable_stderr(), _without_library_warnings():
            try:
                ended = super().main(args, *rest, **kwargs)
            except (click.exceptions.ClickException, click.exceptions.Abort, click.exceptions.Exit):
                raise  # standalone_mode=False: the caller handles them
            except SystemExit as done:
                if done.code not in (0, None):
                    raise
                ended = None
            except Exception as err:  # noqa: BLE001 -- the one place every bug ends
                stop = _wrapped_stop(err)
                if stop is not None:
                    raise stop from None  # said already ("stopped (SIGTERM)"); ends as the stop does
                sys.exit(internal_error(err, list(args) if args is not None else None))
            # A stop that came where Python could not raise it, after the last place that would
            # have raised it: the run did all it had to, but was asked to stop and says so.
            try:
                stop_if_asked()
            except KeyboardInterrupt:
                click.echo("\nAborted!", err=True)
                sys.exit(1)
            if ended is None:
                sys.exit(0)
            return ended


#: How long a stopped run may take to unwind (its workers have GRACE_SECONDS to end) before the
#: process ends without finishing it.
UNWIND_SECONDS = 15.0


def _wrapped_stop(err: BaseException) -> BaseException | None:
    """The stop a signal raised (SystemExit, KeyboardInterrupt) that Python wrapped in another
    exception, while a stop is under way: raised inside a class body's ``__set_name__`` (a module
    imported as SIGTERM came), it comes out as "RuntimeError: Error calling __set_name__", which
    is no bug of the program's.  None otherwise."""
    if not unwinding():
        return None
    seen: set[int] = set()
    cause: BaseException | None = err
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, (SystemExit, KeyboardInterrupt)):
            return cause
        cause = cause.__cause__ or cause.__context__
    return None


def _quiet_unraisable(unraisable: Any) -> None:
    """A stop (SIGTERM's SystemExit, Ctrl-C) that arrives where Python cannot raise it (a weakref
    callback, a finalizer: a book worker stopped by the run while it imports) is not a message
    for the user; anything else is reported as Python would."""
    if isinstance(unraisable.exc_value, (SystemExit, KeyboardInterrupt)):
        stop_unraised(unraisable.exc_value)  # raised again where the run can stop
        return
    if unwinding():
        # The finaliser of an object the stop cut half-way through making (a book worker ended
        # by its run inside ZipFile.__init__: its __del__ finds no ``_writing``): the run is
        # ending anyway, and says why; a traceback of that is not a message for the user.
        return
    sys.__unraisablehook__(unraisable)


@contextlib.contextmanager
def _without_library_warnings() -> Iterator[None]:
    """No Python warning of a library reaches standard error (Pillow's "Corrupt EXIF data" for a
    picture of someone's, with its source file and line): what the program has to say about an
    input is a diagnostic naming it, ``path: warning: ...``.  A check that turns a warning into
    an error (a decompression bomb) still does, in its own ``catch_warnings``."""
    import warnings

    hook = sys.unraisablehook
    sys.unraisablehook = _quiet_unraisable
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        sys.unraisablehook = hook


@contextlib.contextmanager
def _printable_stderr() -> Iterator[None]:
    """Every line written to standard error through :func:`exporter.gates.names.printable`, and
    what is written to either stream dropped once its reader went away."""
    from ..gates.files import open_standard_streams
    from ..gates.names import DroppedWhenGone, PrintableLines

    open_standard_streams()  # started closed (2>&-): on the null device
    out, err = sys.stdout, sys.stderr
    if out is not None and not isinstance(out, DroppedWhenGone):
        sys.stdout = DroppedWhenGone(out)  # type: ignore[assignment]
    if err is not None and not isinstance(err, PrintableLines):
        sys.stderr = PrintableLines(err)  # type: ignore[assignment]
    try:
        yield
    finally:
        sys.stdout, sys.stderr = out, err


@contextlib.contextmanager
def _terminated_cleanly() -> Iterator[None]:
    """SIGTERM (what ``timeout``, systemd and cron's kill send) unwinds the program as Ctrl-C
    does, instead of ending it on the spot: the writer then removes the temporary file it was
    writing (``.NAME.*.part``), which would otherwise stay in the published folder.  Exit status
    143 (128 + SIGTERM), as a shell reports a process the signal ended.  Forked book workers
    inherit the handler: each removes its own temporary file and ends, without a message."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pid = os.getpid()
    deadline: list[threading.Timer] = []

    def terminated(signum: int, frame: Any) -> None:
        if stopping(signum):
            return  # unwinding from the first already (procs.stopping)
        if os.getpid() == pid and not deadline:
            # The unwinding has its bound too: past it (a pool's teardown waiting on a worker that
            # will not answer: seen once in eighty SIGTERMs during start-up, the run said how it
            # ended and then waited for ever, holding the folder's lock), the process ends as the
            # stop would have ended it.  A temporary file left then is removed by the next run.
            timer = threading.Timer(UNWIND_SECONDS, os._exit, (128 + signum,))
            timer.daemon = True
            timer.start()
            deadline.append(timer)
        if signum == signal.SIGINT:
            raise KeyboardInterrupt  # click's "Aborted!", exit status 1
        if os.getpid() == pid:
            click.echo(f"digest-export: stopped ({signal.Signals(signum).name}); no file was left half-written",
                       err=True)
        raise SystemExit(128 + signum)

    # SIGHUP too (the terminal the run was started from closed): the same unwinding; and Ctrl-C,
    # Python's KeyboardInterrupt, noted as the others are.  None that the run was started
    # ignoring (procs.stop_signals).
    previous = {signum: signal.signal(signum, terminated) for signum in stop_signals(interrupt=True)}
    try:
        yield
    finally:
        for timer in deadline:
            timer.cancel()  # unwound in time
        for signum, handler in previous.items():
            signal.signal(signum, handler)
