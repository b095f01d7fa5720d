"""The `digest-export` command line: thin click commands.

Each command parses options, calls one library function and turns
:class:`~exporter.errors.ExporterError` into a message and exit status.
Heavy libraries (ebooklib, feedgen, Pillow, markdown-it) are imported inside
the commands so that ``digest-export --help`` stays fast.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from . import __version__
from .errors import ExporterError, InputError, UsageError
from .model import Diagnostic, ReadResult

F = TypeVar("F", bound=Callable[..., Any])


def inputs_argument(f: F) -> F:
    return click.argument(
        "inputs", nargs=-1, metavar="[INPUT]...",
        type=click.Path(exists=True, allow_dash=True, path_type=str),
    )(f)


def quiet_option(f: F) -> F:
    return click.option("-q", "--quiet", is_flag=True, help="Print errors only.")(f)


def keep_going_option(f: F) -> F:
    return click.option(
        "--keep-going", is_flag=True,
        help="Write what can be written despite input errors (still exits 1).",
    )(f)


class Seconds(click.ParamType):
    """A finite number of seconds within [low, high]: ``nan``/``inf`` are refused, not let through."""

    name = "seconds"

    def __init__(self, low: float, high: float):
        self.low, self.high = low, high

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        import math

        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number of seconds.", param, ctx)
        if not math.isfinite(number) or not self.low <= number <= self.high:
            self.fail(f"{value!r} is not between {self.low:g} and {self.high:g} seconds.", param, ctx)
        return number


def image_timeout_option(f: F) -> F:
    return click.option(
        "--image-timeout", type=Seconds(0.1, 3600), default=10.0, show_default=True,
        metavar="SECONDS", envvar="DIGEST_EXPORT_IMAGE_TIMEOUT",
        help="Time allowed to fetch one thumbnail (env DIGEST_EXPORT_IMAGE_TIMEOUT).",
    )(f)


def book_options(f: F) -> F:
    """The options of the books, shared by `epub` and `build`."""
    for option in reversed((
        click.option("--by", type=click.Choice(["week", "day", "month", "all"]), default="week",
                     show_default=True, help="One book per ISO week, day, month, or one for everything."),
        click.option("--from", "date_from", type=click.DateTime(["%Y-%m-%d"]), default=None,
                     help="Books: only digests on or after this date (YYYY-MM-DD)."),
        click.option("--to", "date_to", type=click.DateTime(["%Y-%m-%d"]), default=None,
                     help="Books: only digests on or before this date (YYYY-MM-DD)."),
        click.option("--lang", default=None, metavar="CODE",
                     help="Book language, e.g. ko or en (default: detected from the text)."),
        click.option("--images", type=click.Choice(["embed", "none"]), default="embed", show_default=True,
                     help="Download and embed thumbnails, or leave them out."),
        click.option("--grayscale", is_flag=True, help="Convert images to grayscale (e-ink readers)."),
        image_timeout_option,
        click.option("--allow-private-hosts", is_flag=True,
                     help="Fetch thumbnails from loopback, private and link-local addresses too "
                          "(a server on your own network). Off by default: a digest must not make "
                          "digest-export fetch from the machine's own network."),
        click.option("--templates", "templates", default=None,
                     type=click.Path(exists=True, file_okay=False, path_type=str),
                     help="Folder of templates overriding the packaged ones "
                          "(day.xhtml.j2, cover.xhtml.j2, epub.css)."),
    )):
        f = option(f)
    return f


def feed_selection_options(f: F) -> F:
    """Which papers the feeds hold and where they live, shared by `feed` and `build`."""
    for option in reversed((
        click.option("--base-url", metavar="URL",
                     help="Public URL of the output folder (self links, icon, absolute links)."),
        click.option("--days", type=click.IntRange(min=1), metavar="N",
                     help="Feeds: the N most recent digest days (default 7, counted from the newest digest)."),
        click.option("--limit", type=click.IntRange(min=1), metavar="N", help="Feeds: the N most recent papers."),
        click.option("--all", "everything", is_flag=True, help="Feeds: every paper (large feeds: see --archive)."),
        click.option("--archive", is_flag=True,
                     help="Also write RFC 5005 archives, one Atom file per ISO week, in DIR/archive/."),
    )):
        f = option(f)
    return f


def jobs_option(f: F) -> F:
    return click.option("-j", "--jobs", type=click.IntRange(min=0), default=0, metavar="N",
                        help="Worker processes for the books (default 0: one per core).")(f)


def report_image_failures(failures: list[Any], notes: list[str], *, quiet: bool) -> None:
    """Each thumbnail left out (path:line: warning), then one summary line by reason."""
    if quiet:
        return
    from .epub import image_failure_summary

    for failure in failures:
        click.echo(str(failure), err=True)
    for note in notes:
        click.echo(f"digest-export: warning: {note}", err=True)
    if failures:
        n = len(failures)
        click.echo(f"digest-export: warning: {n} thumbnail{'s' if n != 1 else ''} left out: "
                   f"{image_failure_summary(failures)}", err=True)


def report_errors(f: F) -> F:
    """Turn ExporterError into a message on stderr and its exit status."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return f(*args, **kwargs)
        except InputError as err:
            click.echo(f"digest-export: error: {err}", err=True)
            sys.exit(err.exit_code)
        except UsageError as err:
            raise click.UsageError(str(err)) from err
        except ExporterError as err:
            click.echo(f"digest-export: error: {err}", err=True)
            sys.exit(err.exit_code)

    return wrapper  # type: ignore[return-value]


def resolve_inputs(inputs: tuple[str, ...], *, quiet: bool = False) -> tuple[str, ...]:
    """INPUTs from the command line, else the config file, else the bundled sample (said on stderr)."""
    from .resources import sample_dir

    inputs = load_inputs_from_config(inputs)
    if not inputs:
        if not quiet:
            click.echo(f"digest-export: no INPUT given; using the bundled sample digests ({sample_dir()})",
                       err=True)
        inputs = (str(sample_dir()),)
    return inputs


def load_inputs(inputs: tuple[str, ...], *, quiet: bool = False) -> ReadResult:
    """Read INPUTs (or the bundled sample) and print every diagnostic."""
    from .reader import read_digests

    result = read_digests(resolve_inputs(inputs, quiet=quiet))
    for diag in result.diagnostics:
        if diag.is_error or not quiet:
            click.echo(str(diag), err=True)
    return result


def report_skipped(errors: Sequence[Diagnostic]) -> None:
    """The --keep-going summary line: what the input errors left out (exit 1 follows)."""
    from .skipped import skipped_summary

    click.echo(f"digest-export: error: --keep-going: {skipped_summary(errors)}", err=True)


def load_inputs_from_config(inputs: tuple[str, ...]) -> tuple[str, ...]:
    """INPUTs from the command line, else the config file's ``inputs``."""
    if inputs:
        return inputs
    ctx = click.get_current_context(silent=True)
    while ctx is not None:
        if ctx.default_map and ctx.default_map.get("inputs"):
            return tuple(ctx.default_map["inputs"])
        ctx = ctx.parent
    return ()


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "-V", "--version", prog_name="digest-export")
@click.option(
    "--config", "config_path", metavar="FILE", type=click.Path(dir_okay=False, path_type=str),
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
    try:
        ctx.default_map = default_map(load_config(path), path.resolve(), main, ctx)
    except ExporterError as err:
        raise click.UsageError(str(err)) from err
    ctx.meta["config_path"] = Path(path)


@main.command()
@inputs_argument
@click.option("--json", "as_json", is_flag=True, help="Print the digest model as JSON.")
@quiet_option
@report_errors
def inspect(inputs: tuple[str, ...], as_json: bool, quiet: bool) -> None:
    """Show what was read from INPUT files and folders ('-' for stdin).

    Prints each day with its paper count, the totals, and every diagnostic as
    path:line: error|warning: message. Exits 1 if there are errors.

    \b
    Example:
        digest-export inspect paper_logs/2024/
        digest-export inspect --json 2024-03-04.md | jq '.digests[0].papers[0]'
    """
    from .report import result_json, result_table

    result = load_inputs(inputs, quiet=quiet)
    click.echo(result_json(result) if as_json else result_table(result), nl=False)
    if result.errors:
        sys.exit(1)


@main.command()
@inputs_argument
@click.option("-o", "--output", "out_dir", default=".", show_default=True,
              type=click.Path(file_okay=False, path_type=str), help="Output folder.")
@click.option("--format", "formats", multiple=True, type=click.Choice(["atom", "rss", "json", "opds"]),
              help="Format to write (repeatable). Default: atom, rss and json.")
@click.option("--title", metavar="TEXT", help="Feed title. Default: the newest digest's title.")
@feed_selection_options
@keep_going_option
@quiet_option
@report_errors
def feed(inputs: tuple[str, ...], out_dir: str, formats: tuple[str, ...], base_url: str | None,
         title: str | None, days: int | None, limit: int | None, everything: bool, archive: bool,
         keep_going: bool, quiet: bool) -> None:
    """Write Atom, RSS and JSON feeds (and an OPDS catalog) of the papers.

    One entry per paper, newest digest first; ids and dates come from the
    digests, so unchanged papers stay unchanged run after run. Files:
    feed.atom, feed.rss, feed.json, catalog.opds (of the *.epub in DIR),
    archive/YYYY-Www.atom with --archive.

    \b
    Example:
        digest-export feed paper_logs/ -o public/ --base-url https://example.org/papers/
        digest-export feed paper_logs/ -o public/ --format atom --all --archive
        digest-export feed -o books/ --format opds --base-url https://example.org/books/
    """
    from pathlib import Path

    from .feeds import DEFAULT_FORMATS, FeedOptions, write_feeds

    options = FeedOptions(out_dir=Path(out_dir), formats=tuple(formats) or DEFAULT_FORMATS,
                          base_url=base_url, title=title, days=days, limit=limit, all=everything,
                          archive=archive)
    result = load_inputs(inputs, quiet=quiet)
    if result.errors and not keep_going:
        raise InputError(result.errors)
    report = write_feeds(result, options)
    for message in report.warnings:
        click.echo(f"digest-export: warning: {message}", err=True)
    if not quiet:
        for message in report.missing:
            click.echo(f"digest-export: note: {message}", err=True)
        written = sum(1 for _, status in report.files if status.value == "written")
        click.echo(f"{report.entries} entries, {len(report.files)} files ({written} written, "
                   f"{len(report.files) - written} unchanged) in {out_dir}", err=True)
    if result.errors:
        report_skipped(result.errors)
        sys.exit(1)


@main.command()
@inputs_argument
@click.option("-o", "--output", "out_dir", default=".", show_default=True,
              type=click.Path(file_okay=False, path_type=str), help="Folder for the EPUB files.")
@click.option("--title", default=None, help="Series title (default: the digests' own title).")
@book_options
@jobs_option
@keep_going_option
@quiet_option
@report_errors
def epub(inputs: tuple[str, ...], out_dir: str, by: str, date_from: Any, date_to: Any,
         title: str | None, lang: str | None, images: str, grayscale: bool, image_timeout: float,
         allow_private_hosts: bool, templates: str | None, jobs: int, keep_going: bool,
         quiet: bool) -> None:
    """Write EPUB books, one per week by default, named like daily-papers-2024-W10.epub.

    Each book has a cover, a two-level table of contents (day, then paper) and
    one chapter per day; EPUBCheck reports no errors or warnings. Thumbnails
    are downloaded once, cached, and left out when they cannot be fetched.

    \b
    Example:
        digest-export epub paper_logs/ -o books/
        digest-export epub paper_logs/2024/ --by month --images none --lang ko
        digest-export epub paper_logs/ --from 2024-03-01 --to 2024-03-31 --templates my-templates/
    """
    from pathlib import Path

    from .bundles import BundleBy
    from .epub import EpubOptions, build_epubs

    if date_from and date_to and date_from > date_to:
        raise UsageError("--from must not be later than --to")
    result = load_inputs(inputs, quiet=quiet)
    # The model lives until the end of this one-shot command: keep the
    # garbage collector from walking its objects again at every full
    # collection while the books are built (about 4 % of a year's build).
    import gc

    gc.freeze()
    options = EpubOptions(
        out_dir=Path(out_dir), by=BundleBy(by),
        date_from=date_from.date() if date_from else None, date_to=date_to.date() if date_to else None,
        title=title, lang=lang, images=images, grayscale=grayscale,
        templates=Path(templates) if templates else None, keep_going=keep_going,
        image_timeout=image_timeout, allow_private_hosts=allow_private_hosts, jobs=jobs,
    )
    lines: list[str] = []
    show_bar = not quiet and sys.stderr.isatty()

    def progress(bundle: Any, path: Any, status: Any) -> None:
        n = bundle.paper_count
        line = f"{path} ({bundle.days} day{'s' if bundle.days != 1 else ''}, {n} paper{'s' if n != 1 else ''})"
        if status.value == "unchanged":
            line += " unchanged"
        if show_bar:
            lines.append(line)
            bar.update(1)
        elif not quiet:
            click.echo(line)

    if show_bar:
        from .bundles import make_bundles

        total = len(make_bundles(result.digests, options.by, date_from=options.date_from,
                                 date_to=options.date_to, title=title))
        with click.progressbar(length=total, label="Writing EPUBs", file=sys.stderr) as bar:
            report = build_epubs(result, options, progress)
        for line in lines:
            click.echo(line)
    else:
        bar = None
        report = build_epubs(result, options, progress)

    report_image_failures(report.image_failures, report.notes, quiet=quiet)
    if not quiet:
        click.echo(f"{report.bundles} book{'s' if report.bundles != 1 else ''}, {report.days} days, "
                   f"{report.papers} papers, {report.images} images, {report.warnings} warnings")
    if not report.bundles and not quiet:
        click.echo("digest-export: warning: no digest in the chosen dates; nothing written", err=True)
    if result.errors:
        report_skipped(result.errors)
        sys.exit(1)


@main.command()
@inputs_argument
@click.option("-o", "--output", "out_dir", default=".", show_default=True,
              type=click.Path(file_okay=False, path_type=str), help="Output folder (books, feeds, catalog).")
@click.option("--title", default=None, help="Series and feed title (default: the digests' own title).")
@book_options
@click.option("--format", "formats", multiple=True, type=click.Choice(["atom", "rss", "json", "opds"]),
              help="Feed format to write (repeatable). Default: atom, rss, json and opds.")
@feed_selection_options
@jobs_option
@keep_going_option
@quiet_option
@click.option("-v", "--verbose", is_flag=True, help="Explain what is rebuilt or skipped, and why.")
@click.option("--send", "send_books", is_flag=True,
              help="Then e-mail the finished books, as `send DIR` with the config's [send] settings.")
@report_errors
def build(inputs: tuple[str, ...], out_dir: str, by: str, date_from: Any, date_to: Any,
          title: str | None, lang: str | None, images: str, grayscale: bool, image_timeout: float,
          allow_private_hosts: bool, templates: str | None,
          formats: tuple[str, ...], base_url: str | None, days: int | None, limit: int | None,
          everything: bool, archive: bool, jobs: int, keep_going: bool, quiet: bool,
          verbose: bool, send_books: bool) -> None:
    """Write everything into DIR: the EPUB books, the feeds and the OPDS catalog.

    The daily-run command: it takes the options of `epub` and `feed`, reads
    the inputs once, and does only what changed since the last run (kept in
    DIR/.digest-export-state.json): unchanged input files are not read again,
    books whose days, options and templates are unchanged are not rebuilt,
    and files whose bytes would not change are not rewritten.

    \b
    Example:
        digest-export build paper_logs/ -o public/ --base-url https://example.org/papers/
        digest-export build paper_logs/ -o public/ --images none --archive -v
        digest-export --config digest-export.toml build --send
    """
    from .cli_build import run_build_command

    run_build_command(
        inputs, out_dir=out_dir, by=by, date_from=date_from, date_to=date_to, title=title, lang=lang,
        images=images, grayscale=grayscale, image_timeout=image_timeout,
        allow_private_hosts=allow_private_hosts, templates=templates, formats=formats, base_url=base_url,
        days=days, limit=limit, everything=everything, archive=archive, jobs=jobs,
        keep_going=keep_going, quiet=quiet, verbose=verbose, send=send_books)


from .delivery.commands import send as _send  # noqa: E402  (needs the helpers above)

main.add_command(_send)
