"""The `digest-export` command line: thin click commands.

Each command parses options, calls one library function and turns
:class:`~exporter.errors.ExporterError` into a message and exit status.
Heavy libraries (ebooklib, feedgen, Pillow, markdown-it) are imported inside
the commands so that ``digest-export --help`` stays fast.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from .. import __version__
from ..errors import EmptyInputError, ExporterError
from ..gates import files as gate_files
from ..gates.names import shell_quote as q
from ..model import Kind, counted
from .crash import Group
from .console import load_inputs, report_skipped, warn
from .options import (
    today_option,
    Command,
    PathArg,
    allow_empty_option,
    book_options,
    feed_selection_options,
    filter_options,
    inputs_argument,
    jobs_option,
    keep_going_option,
    effective_quiet,
    quiet_option,
    report_errors,
    verbose_option,
)

@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "-V", "--version", prog_name="digest-export")
@click.option(
    "--config", "config_path", metavar="FILE", type=PathArg(dir_okay=False, path_type=str),
    help="Defaults for every option, in TOML (default: ./digest-export.toml if present).",
)
@click.pass_context
def main(ctx: click.Context, config_path: str | None) -> None:
    """Turn daily research-paper digests (Markdown) into EPUB books and feeds.

    With no INPUT, every command works on the bundled sample digests.

    \b
    Example:
        digest-export inspect paper_logs/
        digest-export epub paper_logs/ -o books/
        digest-export feed paper_logs/ -o public/ --base-url https://example.org/papers/
        digest-export --config digest-export.toml build
    """
    from pathlib import Path

    from .config import default_map, find_config, load_config

    path = find_config(config_path)
    if path is None:
        return
    from .config import selections_of

    try:
        config = load_config(path)
        ctx.default_map = default_map(config, gate_files.real_path(path), main, ctx)
        ctx.meta["selections"] = selections_of(config, gate_files.real_path(path))
    except ExporterError as err:
        from ..gates.names import shell_quote
        from .options import exit_config_error

        exit_config_error(str(err), [shell_quote(str(path)), shell_quote(str(gate_files.real_path(path)))])
    ctx.meta["config_path"] = Path(path)
    ctx.meta["config"] = config  # where a refused value sits in it (options.config_key)


# Every command: a value the config file gave is refused naming the file and the key.
main.command_class = Command


@main.command()
@inputs_argument
@click.option("--json", "as_json", is_flag=True, help="Print the digest model as JSON.")
@allow_empty_option
@quiet_option
@report_errors
def inspect(inputs: tuple[str, ...], as_json: bool, allow_empty: bool, quiet: bool) -> None:
    """Show what was read from INPUT files and folders ('-' for stdin).

    Prints each day with its paper count, the totals, and every diagnostic as
    path:line: error|warning: message. Exits 1 if there are errors, or if the
    input holds no digest day (an empty folder, a wrong path), as every
    command does, unless --allow-empty.

    \b
    Example:
        digest-export inspect paper_logs/2024/
        digest-export inspect --json 2024-03-04.md | jq '.digests[0].papers[0]'
    """
    from .inspection import result_json, result_table

    result = load_inputs(inputs, quiet=quiet)
    if sys.stdout is None:
        # File descriptor 1 closed (``>&-``): Python drops what is printed, and a pipeline would
        # take an empty report for an empty input.
        click.echo("digest-export: error: standard output is closed: nothing to show the report on", err=True)
        sys.exit(1)
    click.echo(result_json(result) if as_json else result_table(result), nl=False)
    if result.errors:
        sys.exit(1)
    if not result.digests and not allow_empty:
        click.echo(f"digest-export: error: {EmptyInputError.no_day()}", err=True)
        sys.exit(EmptyInputError.exit_code)


@main.command()
@inputs_argument
@click.option("-o", "--output", "out_dir", default=".", show_default=True,
              type=PathArg(file_okay=False, path_type=str), help="Output folder.")
@click.option("--format", "formats", multiple=True, type=click.Choice(["atom", "rss", "json", "opds"]),
              help="Format to write (repeatable). Default: atom, rss and json.")
@click.option("--title", metavar="TEXT", help="Feed title. Default: the newest digest's title.")
@feed_selection_options
@filter_options
@today_option("Decide which books of the catalog (--format opds) are finished as on DATE: its "
              "finished and in-progress pages (default: today; env DIGEST_EXPORT_TODAY).")
@keep_going_option
@allow_empty_option
@quiet_option
@report_errors
def feed(inputs: tuple[str, ...], out_dir: str, formats: tuple[str, ...], base_url: str | None,
         title: str | None, days: int | None, limit: int | None, everything: bool, archive: bool,
         min_votes: int | None, top: int | None, match: tuple[str, ...], exclude: tuple[str, ...],
         today: Any, keep_going: bool, allow_empty: bool, quiet: bool) -> None:
    """Write Atom, RSS and JSON feeds (and an OPDS catalog) of the papers.

    One entry per paper, newest digest first; ids and dates come from the
    digests, so unchanged papers stay unchanged run after run. Files:
    feed.atom, feed.rss, feed.json, catalog.opds (of the *.epub in DIR),
    archive/YYYY-Www.atom with --archive.

    \b
    Example:
        digest-export feed paper_logs/ -o public/ --base-url https://example.org/papers/
        digest-export feed paper_logs/ -o public/ --format atom --all --archive
        digest-export feed paper_logs/ -o books/ --format opds --base-url https://example.org/books/
        digest-export feed paper_logs/ -o video/ --match video --match "re:\btext-to-motion\b" --exclude survey
    """
    from dataclasses import replace

    from ..feeds.writer import DEFAULT_FORMATS
    from ..pipeline import feed_options
    from .run import feed_options_of, filter_of, print_outcome, run_pipeline

    options = feed_options_of(out_dir, formats=formats, default=DEFAULT_FORMATS, title=title, base_url=base_url,
                              days=days, limit=limit, everything=everything, archive=archive)
    chosen = filter_of(min_votes, top, match, exclude)
    plan, report, _ = run_pipeline(inputs, replace(feed_options(options, keep_going=keep_going), filter=chosen,
                                                   today=today.date() if today else None),
                                   quiet=quiet,
                                   label="Writing feeds", allow_empty=allow_empty)
    print_outcome(report, quiet=quiet)
    feed = report.feed
    if not quiet and feed is not None:
        written = sum(1 for _, status in feed.files if status.value == "written")
        # What was written: the feeds' entries, the catalog's books (an OPDS-only run has no entry).
        made = ([counted(feed.entries, 'entry', 'entries')] if set(options.formats) - {"opds"} else []) + \
            ([f"a catalog of {counted(feed.books, 'book')}"] if "opds" in options.formats else [])
        click.echo(f"{', '.join(made)}, {counted(len(feed.files), 'file')} ({written} written, "
                   f"{len(feed.files) - written} unchanged) in {q(out_dir)}", err=True)
    if plan.errors:
        report_skipped(plan.errors)
        sys.exit(1)


@main.command()
@inputs_argument
@click.option("-o", "--output", "out_dir", default=".", show_default=True, type=PathArg(path_type=str),
              help="Folder for the EPUB files, or a file name ending in .epub when there is one book.")
@click.option("--title", default=None, help="Series title (default: the digests' own title).")
@book_options
@filter_options
@jobs_option
@keep_going_option
@allow_empty_option
@quiet_option
@verbose_option
@report_errors
def epub(inputs: tuple[str, ...], out_dir: str, allow_empty: bool, quiet: bool, verbose: bool,
         min_votes: int | None, top: int | None, match: tuple[str, ...], exclude: tuple[str, ...],
         **book: Any) -> None:
    """Write EPUB books, one per week by default, named like daily-papers-2024-W10.epub.

    Each book has a cover, a two-level table of contents (day, then paper) and
    one chapter per day; EPUBCheck reports no errors or warnings. Thumbnails
    are downloaded once, cached, and left out when they cannot be fetched.

    \b
    Example:
        digest-export epub paper_logs/ -o books/
        digest-export epub paper_logs/2024/ --by month --images none --lang ko
        digest-export epub paper_logs/ -o kindle/ --device kindle
        digest-export epub paper_logs/ --from 2024-03-01 --to 2024-03-31 --templates my-templates/
        digest-export epub paper_logs/ -o top/ --top 3 --title "Daily Papers · Top 3"
    """
    from dataclasses import replace
    from pathlib import Path

    from ..pipeline import epub_options
    from .run import epub_options_of, filter_of, print_outcome, run_pipeline, run_to_one_file, why_no_book

    quiet = effective_quiet(quiet, verbose)
    options = epub_options_of(out_dir, **book)
    chosen = filter_of(min_votes, top, match, exclude)
    if not out_dir.lower().endswith(".epub") and os.path.lexists(out_dir) and not os.path.isdir(out_dir):
        # A folder is what -o names then, as for build and feed: a usage error, not a failure to write.
        raise click.BadParameter(f"{q(out_dir)} is {gate_files.described(out_dir)}, not a folder (nor a file "
                                 "name ending in .epub)", param_hint="'-o' / '--output'")
    if out_dir.lower().endswith(".epub") and os.path.isdir(out_dir):
        # As a named pipe or a device there is: a usage error naming -o, not a failure to write.
        raise click.BadParameter(f"{q(out_dir)} is {gate_files.described(out_dir)}, not a file for the book (give "
                                 "a name not taken, or name the folder without .epub for its books)",
                                 param_hint="'-o' / '--output'")
    if out_dir.lower().endswith(".epub"):
        plan, report, lines = run_to_one_file(inputs, options, Path(out_dir), quiet=quiet, allow_empty=allow_empty,
                                              chosen=chosen)
    else:
        plan, report, lines = run_pipeline(inputs, replace(epub_options(options), filter=chosen), quiet=quiet,
                                           label="Writing EPUBs", allow_empty=allow_empty)
    if not quiet:
        for _, _, line in lines:
            click.echo(line)
    print_outcome(report, quiet=quiet, verbose=verbose)
    n = len(report.books)
    warnings = sum(1 for d in plan.shown_diagnostics() if not d.is_error) + len(report.image_failures)
    if not quiet:
        click.echo(f"{counted(n, 'book')}, {counted(report.days, 'day')}, {counted(report.papers, 'paper')}, "
                   f"{counted(report.images, 'image')}, {counted(warnings, 'warning')}")
        if not n:
            warn(f"{why_no_book(plan, report)}; nothing written", Kind.MISSING)
    if plan.errors:
        report_skipped(plan.errors)
        sys.exit(1)


@main.command()
@inputs_argument
@click.option("-o", "--output", "out_dir", default=".", show_default=True,
              type=PathArg(file_okay=False, path_type=str), help="Output folder (books, feeds, catalog).")
@click.option("--title", default=None, help="Series and feed title (default: the digests' own title).")
@book_options
@click.option("--format", "formats", multiple=True, type=click.Choice(["atom", "rss", "json", "opds"]),
              help="Feed format to write (repeatable). Default: atom, rss, json and opds.")
@feed_selection_options
@filter_options
@jobs_option
@keep_going_option
@allow_empty_option
@quiet_option
@verbose_option
@click.option("--state", "state_path", metavar="FILE", type=PathArg(dir_okay=False, path_type=str),
              help="Where to keep what the last run made (default: a file per output folder in the "
                   "user's state folder, e.g. ~/.local/state/digest-export/).")
@click.option("--finished-only", is_flag=True,
              help="Books only for the weeks (or months, days) whose last day has passed, and "
                   "latest.epub, a copy of the newest of them.")
@today_option("Decide which periods are finished as on DATE: the books --finished-only writes, and "
              "the catalog's finished and in-progress pages (default: today; env DIGEST_EXPORT_TODAY).")
@click.option("--send", "send_books", is_flag=True,
              help="Then e-mail the finished books, as `send DIR` with the config's [send] settings.")
@report_errors
def build(inputs: tuple[str, ...], out_dir: str, formats: tuple[str, ...], base_url: str | None,
          days: int | None, limit: int | None, everything: bool, archive: bool, allow_empty: bool,
          quiet: bool, verbose: bool, state_path: str | None, finished_only: bool, today: Any, send_books: bool,
          min_votes: int | None, top: int | None, match: tuple[str, ...], exclude: tuple[str, ...],
          **book: Any) -> None:
    """Write everything into DIR: the EPUB books, the feeds and the OPDS catalog.

    The daily-run command: it takes the options of `epub` and `feed`, reads
    the inputs once, and does only what changed since the last run (kept in
    the user's state folder, or --state FILE): unchanged input files are not read again,
    books whose days, options and templates are unchanged are not rebuilt,
    and files whose bytes would not change are not rewritten.

    \b
    Example:
        digest-export build paper_logs/ -o public/ --base-url https://example.org/papers/
        digest-export build paper_logs/ -o public/ --images none --archive -v
        digest-export build paper_logs/ -o public/ --device generic --device kobo   # + NAME.kepub.epub
        digest-export --config digest-export.toml build --send
        digest-export build paper_logs/ -o top/ --top 5 --title "Daily Papers · Top 5"

    The config's [[selection]] tables are built into DIR/NAME/ (books, feeds,
    catalog); --min-votes/--top/--match/--exclude filter the whole run
    instead, and only without them.
    """
    from pathlib import Path

    from ..pipeline import BUILD_FORMATS, BuildOptions
    from .run import config_selections, epub_options_of, feed_options_of, filter_of, print_build_summary, run_pipeline

    quiet = effective_quiet(quiet, verbose)
    eo = epub_options_of(out_dir, **book)
    fo = feed_options_of(out_dir, formats=formats, default=BUILD_FORMATS, title=book["title"],
                         base_url=base_url, days=days, limit=limit, everything=everything, archive=archive)
    import datetime as dt

    finished_before = (today.date() if today else dt.date.today()) if finished_only else None
    chosen = filter_of(min_votes, top, match, exclude)
    selections = config_selections()
    if chosen is not None and selections:
        _refuse_filter_with_selections(min_votes=min_votes, top=top, match=match, exclude=exclude)
    if state_path:
        _check_state_outside(state_path, out_dir)
        _check_selection_states(state_path, [selection.name for selection in selections or ()])
    if send_books:
        from .send import check_send_settings

        check_send_settings(out_dir, quiet=quiet)  # before anything is written
    options = BuildOptions(out_dir=Path(out_dir), epub=eo, feed=fo, keep_going=eo.keep_going, jobs=eo.jobs,
                           finished_before=finished_before, today=today.date() if today else None,
                           state_path=Path(state_path) if state_path else None,
                           filter=chosen, selections=selections)
    plan, report, lines = run_pipeline(inputs, options, quiet=quiet, label="Building EPUBs",
                                       allow_empty=allow_empty)
    print_build_summary(plan, report, lines, out_dir=out_dir, quiet=quiet, verbose=verbose)
    if plan.errors:
        report_skipped(plan.errors)
        if send_books:
            click.echo("digest-export: error: --send: nothing sent, because of the input errors", err=True)
        sys.exit(1)
    if send_books:
        from .send import send_after_build

        send_after_build(out_dir, quiet=quiet)


def _refuse_filter_with_selections(**given: Any) -> None:
    """A run filter beside the config's [[selection]] tables: a usage error naming the filter
    where it was given, on the command line, or the config's key (``top = 2`` at its top level,
    or in [build]), as every config error is."""
    from ..errors import UsageError
    from .options import named_where_given

    ctx = click.get_current_context()
    # What the command line gave first, else the config's.
    option = sorted((ctx.get_parameter_source(name) is click.core.ParameterSource.DEFAULT_MAP,
                     "--" + name.replace("_", "-")) for name, value in given.items() if value)[0][1]
    raise UsageError(named_where_given(
        f"{option} filters a build without [[selection]] tables (as --min-votes, --top, --match and --exclude "
        "do); this config has selections: put the filter in one of them"))


from .send import send as _send  # noqa: E402  (needs the helpers above)

main.add_command(_send)


def _check_selection_states(state_path: str, names: list[str]) -> None:
    """Each selection's state is ``FILE.NAME`` beside ``--state FILE``: a name that would not fit
    a file system (255 bytes) is a usage error naming the option, before anything is written,
    not a failure to write that state at the end of the run."""
    import os

    from ..errors import UsageError
    from ..output import NAME_MAX, name_fits

    for name in names:
        derived = os.path.basename(f"{state_path}.{name}")
        if not name_fits(derived):
            raise UsageError(f"--state {q(state_path)}: the state of the selection '{name}' would be "
                             f"{q(derived)}, longer than {NAME_MAX} bytes; give a shorter FILE name")


def _check_state_outside(state_path: str, out_dir: str) -> None:
    """The build state (and each selection's, ``FILE.NAME`` beside it) is never in DIR: there it
    would be published, or written over a feed or book the run has just written (``--state
    DIR/feed.atom``), every run.  Compared by real path, so a link or ``..`` does not hide it."""
    import os

    from ..errors import UsageError

    state, out = os.path.realpath(state_path), os.path.realpath(out_dir)
    if os.path.commonpath([state, out]) == out:
        raise UsageError(f"--state {q(state_path)} is inside the output folder {q(out_dir)}: "
                         "the state would be published, or written over an output; keep it outside DIR "
                         "(by default it is in the program's own state folder)")
    from pathlib import Path

    from ..state import lock_path

    own = os.path.realpath(lock_path(Path(out_dir)).parent)
    if os.path.commonpath([state, own]) == own:
        # There the program keeps the default states, the folders' locks, records and logs: a
        # --state FILE there, or a selection's FILE.NAME beside it, could be written over one.
        raise UsageError(f"--state {q(state_path)} is inside the program's own state folder {q(own)}, where it "
                         "keeps the default states, locks and logs; keep FILE elsewhere, or leave --state out")
