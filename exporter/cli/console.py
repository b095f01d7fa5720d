"""What the commands print besides their results: the inputs they read,
thumbnails left out, and what --keep-going skipped."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from ..model import Diagnostic, Kind, ReadResult, Severity, SourceRef


def warn(message: str, kind: Kind, source: SourceRef | None = None) -> None:
    """Print a warning the command itself finds, as every diagnostic is printed."""
    click.echo(str(Diagnostic(source, Severity.WARNING, message, kind)), err=True)


def report_image_failures(failures: list[Any], notes: list[str], *, quiet: bool) -> None:
    """Each thumbnail left out (path:line: warning), then one summary line by reason."""
    if quiet:
        return
    from ..books.epub import image_failure_summary

    for failure in failures:
        click.echo(str(failure), err=True)
    for note in notes:
        click.echo(str(note), err=True)
    if failures:
        n = len(failures)
        warn(f"{n} thumbnail{'s' if n != 1 else ''} left out: {image_failure_summary(failures)}", Kind.THUMBNAIL)

def resolve_inputs(inputs: tuple[str, ...], *, quiet: bool = False) -> tuple[str, ...]:
    """INPUTs from the command line, else the config file, else the bundled sample (said on stderr)."""
    from ..resources import sample_dir

    inputs = load_inputs_from_config(inputs)
    if not inputs:
        if not quiet:
            click.echo(f"digest-export: no INPUT given; using the bundled sample digests ({sample_dir()})",
                       err=True)
        inputs = (str(sample_dir()),)
    return inputs

def load_inputs(inputs: tuple[str, ...], *, quiet: bool = False) -> ReadResult:
    """Read INPUTs (or the bundled sample) and print every diagnostic."""
    from ..reader.parse import read_digests

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
