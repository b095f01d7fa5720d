"""What the ``build`` command prints: diagnostics, progress, one line per
file written, ``-v`` explanations and the summary.  Kept out of cli.py so
that ``digest-export --help`` does not import it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from .console import report_image_failures, report_skipped, resolve_inputs
from ..errors import InputError, UsageError


def run_build_command(inputs: tuple[str, ...], *, out_dir: str, by: str, date_from: Any, date_to: Any,
                      title: str | None, lang: str | None, images: str, grayscale: bool,
                      image_timeout: float, allow_private_hosts: bool, templates: str | None, formats: tuple[str, ...], base_url: str | None,
                      days: int | None, limit: int | None, everything: bool, archive: bool, jobs: int,
                      keep_going: bool, quiet: bool, verbose: bool, send: bool = False) -> None:
    from ..pipeline import BUILD_FORMATS, BuildOptions, plan_build, run_build
    from ..bundles import BundleBy
    from ..books.epub import EpubOptions
    from ..feeds.writer import FeedOptions

    if date_from and date_to and date_from > date_to:
        raise UsageError("--from must not be later than --to")
    inputs = resolve_inputs(inputs, quiet=quiet)
    out = Path(out_dir)
    options = BuildOptions(
        out_dir=out,
        epub=EpubOptions(
            out_dir=out, by=BundleBy(by), date_from=date_from.date() if date_from else None,
            date_to=date_to.date() if date_to else None, title=title, lang=lang, images=images,
            grayscale=grayscale, image_timeout=image_timeout, allow_private_hosts=allow_private_hosts,
            templates=Path(templates) if templates else None, keep_going=keep_going),
        feed=FeedOptions(out_dir=out, formats=tuple(formats) or BUILD_FORMATS, base_url=base_url, title=title,
                         days=days, limit=limit, all=everything, archive=archive),
        keep_going=keep_going, jobs=jobs,
    )
    plan = plan_build(inputs, options)
    for diag in plan.diagnostics:
        if diag.is_error or not quiet:
            click.echo(str(diag), err=True)
    if plan.errors and not keep_going:
        raise InputError(plan.errors)

    todo = sum(1 for b in plan.books if b.reason)
    show_bar = not quiet and todo > 1 and sys.stderr.isatty()
    lines: list[str] = []

    def progress(kind: str, path: Path, status: str) -> None:
        if status == "written":
            lines.append(f"{path}")
        if bar is not None:
            bar.update(1)
        elif not quiet and status == "written":
            click.echo(lines.pop())

    if show_bar:
        with click.progressbar(length=todo, label="Building EPUBs", file=sys.stderr) as bar:
            report = run_build(plan, progress)
    else:
        bar = None
        report = run_build(plan, progress)

    if not quiet:
        for line in lines:
            click.echo(line)
        feed_written = [p for p in report.written if not p.name.endswith(".epub")]
        for path in feed_written:
            click.echo(str(path))
        for path in report.removed:
            click.echo(f"removed {path}")
    if verbose and not quiet:
        for line in report.explanations:
            click.echo(f"digest-export: {line}", err=True)
    report_image_failures(report.image_failures, report.notes, quiet=quiet)
    feed = report.feed
    if feed is not None:
        for message in feed.warnings:
            click.echo(f"digest-export: warning: {message}", err=True)
        if not quiet:
            for message in feed.missing:
                click.echo(f"digest-export: note: {message}", err=True)
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
    if plan.errors:
        report_skipped(plan.errors)
        if send:
            click.echo("digest-export: error: --send: nothing sent, because of the input errors", err=True)
        sys.exit(1)
    if send:
        from .send import send_after_build

        send_after_build(out_dir, quiet=quiet)
