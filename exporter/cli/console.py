"""What the commands print besides their results: the inputs they read,
thumbnails left out, and what --keep-going skipped."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from ..model import Diagnostic, Kind, ReadResult, Severity, SourceRef, counted
from ..gates import files as gate_files
from ..gates.names import shell_quote as q


def warn(message: str, kind: Kind, source: SourceRef | None = None) -> None:
    """Print a warning the command itself finds, as every diagnostic is printed."""
    click.echo(str(Diagnostic(source, Severity.WARNING, message, kind)), err=True)


def report_image_failures(failures: list[Any], notes: list[Diagnostic], *, quiet: bool, verbose: bool = False) -> None:
    """Thumbnails left out: each one (path:line: warning) with ``-v``, else one line per host and
    reason; then one summary line by reason."""
    if quiet:
        return
    from ..images.model import failure_summary, failures_by_host

    if verbose:
        for failure in failures:
            click.echo(str(failure), err=True)
    else:
        for host, reason, n in failures_by_host(failures):
            where = f"from {host}" if host else "given as a local path" if n == 1 else "given as local paths"
            warn(f"{counted(n, 'thumbnail')} {where} left out: {reason}", Kind.THUMBNAIL)
    for note in dict.fromkeys(str(n) for n in notes):  # the same note from two books' workers once
        click.echo(note, err=True)
    if failures:
        n = len(failures)
        warn(f"{counted(n, 'thumbnail')} left out: {failure_summary(failures)}", Kind.THUMBNAIL)

def resolve_inputs(inputs: tuple[str, ...], *, quiet: bool = False, out_dir: str | None = None) -> tuple[str, ...]:
    """INPUTs from the command line, else the config file's ``inputs``, else (with no config file
    at all) the bundled sample, said on stderr with the folder written to."""
    from ..errors import UsageError
    from ..resources import sample_dir

    inputs = load_inputs_from_config(inputs)
    if not inputs:
        ctx = click.get_current_context(silent=True)
        config = ctx.find_root().meta.get("config_path") if ctx is not None else None
        if config is not None:
            raise UsageError(f"no INPUT given and {config} names none (its 'inputs' is missing or empty)")
        if not quiet:
            where = f"; writing to {q(gate_files.real_path(out_dir))}" if out_dir is not None else ""
            click.echo(f"digest-export: no INPUT given; using the bundled sample digests ({q(sample_dir())}){where}",
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
