"""The `digest-export` command line: thin click commands.

Each command parses options, calls one library function and turns
:class:`~exporter.errors.ExporterError` into a message and exit status.
Heavy libraries (ebooklib, feedgen, Pillow, markdown-it) are imported inside
the commands so that ``digest-export --help`` stays fast.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from .. import __version__
from ..errors import ExporterError, InputError, UsageError
from .console import load_inputs, report_image_failures, report_skipped
from .options import (
    book_options,
    feed_selection_options,
    inputs_argument,
    jobs_option,
    keep_going_option,
    quiet_option,
    report_errors,
)

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
    from .inspection import result_json, result_table

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

    from ..feeds.writer import DEFAULT_FORMATS, FeedOptions, write_feeds

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

    from ..bundles import BundleBy
    from ..books.epub import EpubOptions, build_epubs

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
        from ..bundles import make_bundles

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
    from .build import run_build_command

    run_build_command(
        inputs, out_dir=out_dir, by=by, date_from=date_from, date_to=date_to, title=title, lang=lang,
        images=images, grayscale=grayscale, image_timeout=image_timeout,
        allow_private_hosts=allow_private_hosts, templates=templates, formats=formats, base_url=base_url,
        days=days, limit=limit, everything=everything, archive=archive, jobs=jobs,
        keep_going=keep_going, quiet=quiet, verbose=verbose, send=send_books)


from .send import send as _send  # noqa: E402  (needs the helpers above)

main.add_command(_send)
