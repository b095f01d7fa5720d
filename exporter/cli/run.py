"""From command-line flags to the pipeline and back: the options of the
books and feeds (made once, for ``epub``, ``feed`` and ``build``), the run
with its progress bar, and the lines every writing command prints.  Kept
out of ``cli/__init__.py`` so that ``digest-export --help`` does not import
it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..errors import InputError, UsageError
from ..model import clean_text
from .console import report_image_failures, resolve_inputs

if TYPE_CHECKING:
    from ..books.epub import EpubOptions
    from ..feeds.writer import FeedOptions
    from ..pipeline import BuildOptions, BuildPlan, BuildReport


def option_title(title: str | None) -> str | None:
    """``--title`` (or ``title`` in the config) cleaned like digest text, for
    every command: no control, bidi, noncharacter or lone surrogate (an
    undecodable byte in argv); None when nothing is left."""
    return clean_text(title or "") or None


def epub_options_of(out_dir: str, *, title: str | None, keep_going: bool, jobs: int, by: str,
                    date_from: Any, date_to: Any, lang: str | None, images: str, grayscale: bool,
                    image_timeout: float, allow_private_hosts: bool, templates: str | None) -> EpubOptions:
    """The book options from the flags of ``book_options`` (see cli/options.py)."""
    from ..books.epub import EpubOptions
    from ..bundles import BundleBy

    if date_from and date_to and date_from > date_to:
        raise UsageError("--from must not be later than --to")
    return EpubOptions(
        out_dir=Path(out_dir), by=BundleBy(by), date_from=date_from.date() if date_from else None,
        date_to=date_to.date() if date_to else None, title=option_title(title), lang=lang, images=images,
        grayscale=grayscale, image_timeout=image_timeout, allow_private_hosts=allow_private_hosts,
        templates=Path(templates) if templates else None, keep_going=keep_going, jobs=jobs)


def feed_options_of(out_dir: str, *, formats: tuple[str, ...], default: tuple[str, ...], title: str | None,
                    base_url: str | None, days: int | None, limit: int | None, everything: bool,
                    archive: bool) -> FeedOptions:
    """The feed options from the flags of ``feed_selection_options``."""
    from ..feeds.writer import FeedOptions

    return FeedOptions(out_dir=Path(out_dir), formats=tuple(formats) or default, base_url=base_url,
                       title=option_title(title), days=days, limit=limit, all=everything, archive=archive)


def run_pipeline(inputs: tuple[str, ...], options: BuildOptions, *, quiet: bool,
                 label: str) -> tuple[BuildPlan, BuildReport, list[tuple[Path, str, str]]]:
    """Plan, print the input's diagnostics, stop on errors (unless
    --keep-going), run with a progress bar on a terminal.

    Returns the plan, the report and, for each book made, in order, its
    path, status and line ``path (N days, M papers)``, for the command to print.
    """
    from ..pipeline import plan_build, run_build

    plan = plan_build(resolve_inputs(inputs, quiet=quiet), options)
    for diag in plan.diagnostics:
        if diag.is_error or not quiet:
            click.echo(str(diag), err=True)
    if plan.errors and not options.keep_going:
        raise InputError(plan.errors)
    books = {Path(options.out_dir) / b.meta.file_name: b for b in plan.books}
    todo = sum(1 for b in plan.books if b.reason)
    lines: list[tuple[Path, str, str]] = []

    def progress(kind: str, path: Path, status: str) -> None:
        book = books[path]
        line = (f"{path} ({book.days} day{'s' if book.days != 1 else ''}, "
                f"{book.papers} paper{'s' if book.papers != 1 else ''})")
        lines.append((path, status, line + (" unchanged" if status == "unchanged" else "")))
        if bar is not None:
            bar.update(1)

    bar = None
    if not quiet and todo > 1 and sys.stderr.isatty():
        with click.progressbar(length=todo, label=label, file=sys.stderr) as bar:
            report = run_build(plan, progress)
    else:
        report = run_build(plan, progress)
    return plan, report, lines


def print_outcome(report: BuildReport, *, quiet: bool) -> None:
    """Thumbnails left out, feed warnings and notes: what every writing command says at the end."""
    report_image_failures(report.image_failures, report.notes, quiet=quiet)
    feed = report.feed
    if feed is not None:
        for message in feed.warnings:
            click.echo(f"digest-export: warning: {message}", err=True)
        if not quiet:
            for message in feed.missing:
                click.echo(f"digest-export: note: {message}", err=True)


def print_build_summary(plan: BuildPlan, report: BuildReport, lines: list[tuple[Path, str, str]], *,
                        out_dir: str, quiet: bool, verbose: bool) -> None:
    """What ``build`` prints: the files written and removed, ``-v`` explanations, the summary."""
    if not quiet:
        for path, status, _ in lines:
            if status == "written":
                click.echo(str(path))
        for path in [p for p in report.written if not p.name.endswith(".epub")]:
            click.echo(str(path))
        for path in report.removed:
            click.echo(f"removed {path}")
    if verbose and not quiet:
        for line in report.explanations:
            click.echo(f"digest-export: {line}", err=True)
    print_outcome(report, quiet=quiet)
    if not quiet:
        n = len(report.books)
        built = sum(1 for _, s in report.books if s != "skipped")
        click.echo(
            f"{n} book{'s' if n != 1 else ''} ({built} built, {n - built} skipped), {report.days} days, "
            f"{report.papers} papers, {report.images} images; input files: {report.files_read} of "
            f"{report.files_total} read; files: {len(report.written)} written, "
            f"{len(report.unchanged)} unchanged, {len(report.skipped)} skipped in {out_dir}")
        if not plan.books:
            click.echo("digest-export: warning: no digest in the chosen dates; no book written", err=True)
