"""From command-line flags to the pipeline and back: the options of the
books and feeds (made once, for ``epub``, ``feed`` and ``build``), the run
with its progress bar, and the lines every writing command prints.  Kept
out of ``cli/__init__.py`` so that ``digest-export --help`` does not import
it."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..errors import EmptyInputError, InputError, UsageError
from ..model import Kind, clean_text, counted
from .console import report_image_failures, resolve_inputs, warn
from ..gates.names import printable, shell_quote as q

if TYPE_CHECKING:
    from ..books.epub import EpubOptions
    from ..feeds.writer import FeedOptions
    from ..pipeline import BuildOptions, BuildPlan, BuildReport


def option_title(title: str | None) -> str | None:
    """``--title`` (or ``title`` in the config) cleaned like digest text, for
    every command: no control, bidi, noncharacter or lone surrogate (an
    undecodable byte in argv); None when nothing is left.  At most as long as a day heading's
    title may be: it names the books, their series, covers and feeds in its place."""
    from ..reader.parse import MAX_DAY_TITLE_CHARS

    title = clean_text(title or "") or None
    if title is not None and len(title) > MAX_DAY_TITLE_CHARS:
        raise UsageError(f"--title is {len(title):,} characters; at most "
                         f"{MAX_DAY_TITLE_CHARS}")
    return title


def _later_than(date_from: Any, date_to: Any) -> UsageError:
    """``--from`` after ``--to``, naming each where the user gave it: both options, or the config
    file and both keys (exit 2, as every config error), or the one of each."""
    from .options import given_as

    ctx = click.get_current_context(silent=True)
    (file_a, first), (file_b, second) = (given_as(ctx, name, value.date().isoformat())
                                         for name, value in (("date_from", date_from), ("date_to", date_to)))
    if file_a and file_a == file_b:
        return UsageError(f"{q(file_a)}: {first} must not be later than {second}")
    first, second = (f"{text} (in {q(path)})" if path else text for path, text in ((file_a, first), (file_b, second)))
    return UsageError(f"{first} must not be later than {second}")


def epub_options_of(out_dir: str, *, title: str | None, keep_going: bool, jobs: int, by: str,
                    date_from: Any, date_to: Any, lang: str | None, images: str, grayscale: bool,
                    image_timeout: float, allow_private_hosts: bool, templates: str | None,
                    device: tuple[str, ...] = (), devices: tuple[str, ...] = (), font: str | None = None,
                    font_bold: str | None = None) -> EpubOptions:
    """The book options from the flags of ``book_options`` (see cli/options.py)."""
    from ..books.epub import EpubOptions
    from ..bundles import BundleBy

    if date_from and date_to and date_from > date_to:
        raise _later_than(date_from, date_to)
    return EpubOptions(
        out_dir=Path(out_dir), by=BundleBy(by), date_from=date_from.date() if date_from else None,
        date_to=date_to.date() if date_to else None, title=option_title(title), lang=lang, images=images,
        grayscale=grayscale, image_timeout=image_timeout, allow_private_hosts=allow_private_hosts,
        templates=Path(templates) if templates else None, keep_going=keep_going, jobs=jobs,
        font=Path(font) if font else None, font_bold=Path(font_bold) if font_bold else None,
        **device_fields(device, devices))


def device_fields(device: tuple[str, ...], devices: tuple[str, ...]) -> dict[str, Any]:
    """``device`` and ``devices`` of the book options from ``--device`` (repeatable) and the
    config's ``devices``: the command line's, else the config's, else generic; each once."""
    ctx = click.get_current_context(silent=True)
    from_line = ctx is not None and ctx.get_parameter_source("device") == click.core.ParameterSource.COMMANDLINE
    if ctx is not None and device and devices and not from_line:
        # Both in the config: one would be dropped unsaid.
        from ..errors import ConfigError
        from .options import config_place

        places = [config_place(ctx, p) for p in ctx.command.params if p.name in ("device", "devices")]
        if all(places):
            raise ConfigError(f"{places[0][0]}: {places[0][1]} and {places[1][1]} both name device profiles; "
                              "keep one (devices = [...] lists several)")
    chosen = tuple(dict.fromkeys(device if from_line or not devices else devices)) or ("generic",)
    return {"device": chosen[0], "devices": chosen}


def feed_options_of(out_dir: str, *, formats: tuple[str, ...], default: tuple[str, ...], title: str | None,
                    base_url: str | None, days: int | None, limit: int | None, everything: bool,
                    archive: bool) -> FeedOptions:
    """The feed options from the flags of ``feed_selection_options``."""
    from ..feeds.writer import FeedOptions

    return FeedOptions(out_dir=Path(out_dir), formats=tuple(formats) or default, base_url=base_url,
                       title=option_title(title), days=days, limit=limit, all=everything, archive=archive)


def filter_of(min_votes: int | None, top: int | None, match: tuple[str, ...],
              exclude: tuple[str, ...]) -> Any:
    """The one-off filter of ``--min-votes``/``--top``/``--match``/``--exclude``, or None."""
    import re

    from ..selections import ONE_OFF_NAME, SelectionError, make_selection

    from .options import named_where_given

    if min_votes is None and top is None and not match and not exclude:
        return None
    try:
        return make_selection(name=ONE_OFF_NAME, min_votes=min_votes, top=top, match=list(match) or None,
                              exclude=list(exclude) or None, where="option")
    except SelectionError as err:
        # "the options: '--match': ..." names the option as typed, or the config file and key
        # where the value came from (a command's table may hold match = [...]).
        text = re.sub(r"^the options: '(--[a-z-]+)'", r"\1", str(err))
        raise SelectionError(named_where_given(text)) from None


def config_selections() -> tuple[Any, ...]:
    """The config's ``[[selection]]`` tables (read by the group command)."""
    ctx = click.get_current_context(silent=True)
    return ctx.find_root().meta.get("selections", ()) if ctx is not None else ()


def run_pipeline(inputs: tuple[str, ...], options: BuildOptions, *, quiet: bool, label: str,
                 allow_empty: bool = False,
                 one_book: str | None = None) -> tuple[BuildPlan, BuildReport, list[tuple[Path, str, str]]]:
    """Plan, print the input's diagnostics, stop on errors (unless
    --keep-going), run with a progress bar on a terminal.

    Returns the plan, the report and, for each book made, in order, its
    path, status and line ``path (N days, M papers)``, for the command to print.
    """
    # ``epub -o FILE.epub`` builds in a folder of its own, made for the run: nothing to share.
    if options.incremental:
        # A build publishes its folder (and keeps its state): the program's state never in it.
        from ..state import lock_path

        _check_state_folder_outside(lock_path(Path(options.out_dir)).parent, Path(options.out_dir))
    with folder_locked(Path(options.out_dir)) if one_book is None else contextlib.nullcontext():
        return _run_pipeline(inputs, options, quiet=quiet, label=label, allow_empty=allow_empty, one_book=one_book)


@contextlib.contextmanager
def folder_locked(out: Path) -> Iterator[None]:
    """One run at a time writes into the folder *out*: two at once (a slow cron job and the next
    one) each read the state, wrote their files and saved their state, the second over the
    first, and the folder was left with files neither state recorded (the next run refused them
    as edited since) or with a state file removed under the other's feet."""
    from ..errors import OutputError
    from ..output import held_lock
    from ..state import lock_path

    path = lock_path(out)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"{q(path.parent)}: cannot make the state folder: {err.strerror or err}") from err
    with held_lock(path, f"{q(out)}: another digest-export run is writing into this folder (it holds "
                         f"{q(path)}): try again once it has ended"):
        yield


def _check_state_folder_outside(folder: Path, out: Path) -> None:
    """The program's state folder (the lock, the run records, the default states: where
    ``platformdirs`` puts it, ``XDG_STATE_HOME``) is never in the folder a build writes: there
    it would be published (a web server's user whose home is the site), as ``--state`` in DIR
    would be (refused the same way).  Compared by real path: a link or ``..`` does not hide it.
    (``epub`` and ``feed`` publish nothing of their own: ``epub -o ~/book.epub`` or ``-o .`` at
    home is a book in a folder that holds the state folder, and fine.)"""
    import os

    from ..errors import UsageError

    state, real_out = os.path.realpath(folder), os.path.realpath(out)
    if os.path.commonpath([state, real_out]) == real_out:
        raise UsageError(f"the program's state folder {q(folder)} is inside the output folder {q(out)}: the "
                         "state, the lock and the run records would be published; write to another folder, or "
                         "set XDG_STATE_HOME to a folder outside it")
    if os.path.commonpath([state, real_out]) == state:
        # And the other way: a site published from inside the state folder (-o .../runs) would
        # publish the run records beside it, and mix its files with the states and locks.
        raise UsageError(f"the output folder {q(out)} is inside the program's state folder {q(folder)}, where it "
                         "keeps the states, locks and run records; write to a folder outside it")


def _run_pipeline(inputs: tuple[str, ...], options: BuildOptions, *, quiet: bool, label: str,
                  allow_empty: bool = False,
                  one_book: str | None = None) -> tuple[BuildPlan, BuildReport, list[tuple[Path, str, str]]]:
    from ..pipeline import plan_build

    plan = plan_build(resolve_inputs(inputs, quiet=quiet, out_dir=one_book or str(options.out_dir)), options)
    for diag in plan.shown_diagnostics():
        if diag.is_error or not quiet:
            click.echo(str(diag), err=True)
    if plan.errors and not options.keep_going:
        raise InputError(plan.errors)
    check_not_empty(plan, allow_empty=allow_empty)
    if one_book is not None and len(plan.books) != 1:
        raise UsageError(f"-o {q(one_book)}: a file name ending in .epub needs exactly one book, and these "
                         f"options make {counted(len(plan.books), 'book')}; give a folder, or --by all, "
                         "or --from/--to")
    with contextlib.ExitStack() as held:
        # The folders of the selections, which the run writes (or empties) too: a run into one
        # of them meanwhile (``build -o DIR/top``) mixed its files with the selection's.  Taken
        # once planned (reading writes nothing), before anything is written.
        out = Path(options.out_dir)
        for folder in sorted({Path(sub.options.out_dir) for sub in plan.selections}
                             | {out / name for name, _ in plan.gone_selections}):
            held.enter_context(folder_locked(folder))
        return _run_planned(plan, quiet=quiet, label=label)


def _run_planned(plan: BuildPlan, *, quiet: bool,
                 label: str) -> tuple[BuildPlan, BuildReport, list[tuple[Path, str, str]]]:
    from ..pipeline import run_build

    every = plan.books + [b for sub in plan.selections for b in sub.books]
    books = {Path(sub.options.out_dir) / b.meta.file_name: b
             for sub in [plan, *plan.selections] for b in sub.books}
    todo = sum(1 for b in every if b.reason)
    lines: list[tuple[Path, str, str]] = []

    def progress(kind: str, path: Path, status: str) -> None:
        book = books.get(path)
        line = f"{q(path)} ({counted(book.days, 'day')}, {counted(book.papers, 'paper')})" if book else q(path)
        lines.append((path, status, line + (" unchanged" if status == "unchanged" else "")))
        if bar is not None:
            bar.update(1)

    bar = None
    if not quiet and todo > 1 and sys.stderr.isatty():
        # The bar's carriage returns and cursor controls are its own: written unfiltered.
        with click.progressbar(length=todo, label=label, file=getattr(sys.stderr, "unfiltered", sys.stderr)) as bar:
            report = run_build(plan, progress)
    else:
        report = run_build(plan, progress)
    return plan, report, lines


def run_to_one_file(inputs: tuple[str, ...], options: EpubOptions, target: Path, *, quiet: bool,
                    allow_empty: bool, chosen: Any = None) -> tuple[BuildPlan, BuildReport, list[tuple[Path, str, str]]]:
    """``epub -o FILE.epub``: the one book, made in a temporary folder beside FILE and written
    over FILE by :func:`exporter.output.write_file` (left alone when its bytes are the same); a
    usage error unless there is exactly one book."""
    if len(options.devices) > 1:
        raise UsageError(f"-o {q(target)}: one file can hold the book for one --device, not "
                         f"{len(options.devices)}; give a folder to -o")
    from ..output import check_target, make_folders, remove_folder

    check_target(target)
    # The folders made for the file (its lock is taken there):
    # removed again, when empty, unless the book was written (a failed run leaves nothing).
    made = [f for f in (target.parent, *target.parent.parents) if not os.path.lexists(f)]
    make_folders(target.parent)
    try:
        # The folder's lock, as a run into it takes: a build writing there meanwhile would take the
        # book for a file edited since (or replace it with another week's).
        with folder_locked(target.parent):
            result = _run_to_one_file(inputs, options, target, quiet=quiet, allow_empty=allow_empty, chosen=chosen)
    except BaseException:
        for folder in made:  # the deepest first
            remove_folder(folder)
        raise
    if not os.path.lexists(target):
        for folder in made:
            remove_folder(folder)
    return result


def _run_to_one_file(inputs: tuple[str, ...], options: EpubOptions, target: Path, *, quiet: bool,
                     allow_empty: bool, chosen: Any) -> tuple[BuildPlan, BuildReport, list[tuple[Path, str, str]]]:
    import dataclasses
    import shutil

    from ..errors import OutputError
    from ..gates import files as gate_files
    from ..gates.names import shell_quote
    from ..output import recorded, write_file
    from ..pipeline import epub_options
    from ..pipeline.run import folder_stamps, record_writes
    from ..bundles import is_book_name
    from ..state import LATEST_NAME, load_written, written_record_path

    try:
        tmp = _working_folder()
    except OSError as err:
        raise OutputError(f"cannot write {shell_quote(str(target))}: {err.strerror or err}") from err
    try:
        plan, report, lines = run_pipeline(inputs, dataclasses.replace(
                                               epub_options(dataclasses.replace(options, out_dir=tmp)), filter=chosen,
                                               record_writes=False),
                                           quiet=quiet, label="Writing EPUBs", allow_empty=allow_empty,
                                           one_book=str(target))
        made = [(path, status, line) for path, status, line in lines if path.is_file()]
        for path, _, line in made:
            # Through the one writer, like every output: it refuses a target that is not ours,
            # knowing what the runs into that folder recorded (a book a build wrote there and
            # the user edited since is the user's).
            record = written_record_path(target.parent)
            stamps = folder_stamps(target.parent)
            with recorded(target.parent, stamps):
                same = write_file(target, gate_files.read_bytes(path, gate_files.BOOK_LIMIT)).value == "unchanged"
                # At a name the program gives books, or over a file a run into the folder wrote:
                # recorded as ``epub -o DIR`` records its books, so a later build replaces it as its
                # own rather than refusing it as edited since (or removes it when it makes no such
                # book).  At a name of the user's own (``special-edition.epub``), it is not: the
                # builds of the folder leave it alone.
                if target.name in stamps or target.name == LATEST_NAME or is_book_name(target.name):
                    record_writes(target.parent, record, load_written(record, target.parent))
            lines = [(target, "unchanged" if same else "written",
                      line.replace(q(path), q(target)).removesuffix(" unchanged")
                      + (" unchanged" if same else ""))]
        report.books = [(target, status) for _, status, _ in lines]
        return plan, report, lines
    except OutputError as err:
        # Said of the file asked for, not of the working folder the book was built in.
        import re

        raise OutputError(re.sub(re.escape(str(tmp)) + r"[^\s:']*", lambda _: str(target), str(err))) from err
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


#: How old a working folder of ``epub -o FILE.epub`` is before a later run takes it for one a
#: killed run left (seconds): no run takes a day.
_STALE_WORK_SECONDS = 86400


def _working_folder() -> Path:
    """A new folder to build the one book in, in the program's cache folder (the book is then
    written to FILE through the writer; a run killed outright leaves this folder there, never
    beside FILE, and a later run removes those a day old)."""
    import platformdirs
    import shutil
    import tempfile
    import time

    base = Path(platformdirs.user_cache_dir("digest-export")) / "one-book"
    base.mkdir(parents=True, exist_ok=True)
    try:
        for entry in os.scandir(base):
            if entry.name.startswith("run-") and entry.is_dir(follow_symlinks=False) \
                    and time.time() - entry.stat(follow_symlinks=False).st_mtime > _STALE_WORK_SECONDS:
                shutil.rmtree(entry.path, ignore_errors=True)
    except OSError:
        pass  # a leftover stays: the new folder is made all the same
    return Path(tempfile.mkdtemp(prefix="run-", dir=base))


def why_no_book(plan: BuildPlan, report: BuildReport) -> str:
    """Why a run made no book: its days, or its filter (``--match``...) that no paper of them
    passes, in this run or as an earlier one found (a cron job told "no digest in the chosen
    dates" looked for a wrong date)."""
    if report.filtered_out or (plan.empty_books and plan.options.filter is not None):
        return "no paper of the chosen days passes --min-votes/--top/--match/--exclude"
    return "no digest in the chosen dates"


def check_not_empty(plan: BuildPlan, *, allow_empty: bool) -> None:
    """EmptyInputError when the input holds no digest day and the run would write books or feeds
    from it: an empty folder or a wrong path must not replace the published files with empty ones."""
    options = plan.options
    if allow_empty or not (options.epub is not None or options.feed_formats):
        return
    if not any(plan.file_days.values()):
        raise EmptyInputError(EmptyInputError.no_day(len(plan.file_days), writes=True))


def print_outcome(report: BuildReport, *, quiet: bool, verbose: bool = False) -> None:
    """Thumbnails left out, feed warnings and notes: what every writing command says at the end."""
    report_image_failures(report.image_failures, report.notes, quiet=quiet, verbose=verbose)
    feed = report.feed
    if feed is not None:
        # A warning the books already gave (a file of the user's where a book's cover goes: said
        # when the book was read for the catalog in its worker, and again by the catalog) once.
        said = set() if quiet else {str(note) for note in report.notes}
        for diag in feed.warnings:
            if str(diag) not in said:
                said.add(str(diag))
                click.echo(str(diag), err=True)
        if not quiet:
            for diag in feed.missing:
                click.echo(str(diag), err=True)


def print_build_summary(plan: BuildPlan, report: BuildReport, lines: list[tuple[Path, str, str]], *,
                        out_dir: str, quiet: bool, verbose: bool) -> None:
    """What ``build`` prints: the files written and removed, ``-v`` explanations, the summary."""
    if not quiet:
        for path, status, _ in lines:
            if status == "written":
                click.echo(q(path))
        for path in [p for p in report.written if not p.name.endswith(".epub")]:
            click.echo(q(path))
        for path in report.removed:
            click.echo(f"removed {q(path)}")
    if verbose and not quiet:
        for line in report.explanations:
            click.echo(f"digest-export: {printable(line)}", err=True)
    print_outcome(report, quiet=quiet, verbose=verbose)
    if not quiet:
        n = len(report.books)
        built = sum(1 for _, s in report.books if s != "skipped")
        click.echo(
            f"{counted(n, 'book')} ({built} built, {n - built} skipped), {counted(report.days, 'day')}, "
            f"{counted(report.papers, 'paper')}, {counted(report.images, 'image')}; input files: {report.files_read} of "
            f"{report.files_total} read; files: {len(report.written)} written, "
            f"{len(report.unchanged)} unchanged, {len(report.skipped)} skipped in {q(out_dir)}")
        if not plan.books or not report.books:
            warn(f"{why_no_book(plan, report)}; no book written", Kind.MISSING)
