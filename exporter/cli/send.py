"""The ``send`` click command, and ``build --send``.

Registered on the ``digest-export`` group at the end of :mod:`exporter.cli`.
Only click is imported at module level, so ``digest-export --help`` stays
fast; smtplib and the rest load when a command runs.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..model import Kind, SourceRef
from .console import warn
from .options import NameArg, PathArg, Seconds, quiet_option, report_errors
from ..errors import UsageError
from ..gates import files as gate_files
from ..gates.names import shell_quote as q

if TYPE_CHECKING:
    from ..delivery.send import SendReport

PASSWORD_ENV = "DIGEST_EXPORT_SMTP_PASSWORD"


@click.command()
@click.argument("folder", required=False, metavar="[DIR]",
                type=PathArg(exists=True, file_okay=False, path_type=str))
@click.option("-o", "--output", "out_dir", metavar="DIR", type=PathArg(file_okay=False, path_type=str),
              help="The folder of the books, as DIR (default: the config's output, else .).")
@click.option("--to", "to", multiple=True, metavar="ADDRESS",
              help="Recipient (repeatable), e.g. a Send-to-Kindle address name@kindle.com.")
@click.option("--from-address", metavar="ADDRESS",
              help="Sender; for Kindle, an address on the Approved Personal Document E-mail List.")
@click.option("--smtp-host", metavar="HOST", help="SMTP server.")
@click.option("--smtp-port", type=click.IntRange(1, 65535), metavar="PORT",
              help="SMTP port (default: 587 starttls, 465 tls, 25 none).")
@click.option("--smtp-user", metavar="USER",
              help=f"Log in as USER; the password comes from ${PASSWORD_ENV} or --password-file.")
@click.option("--smtp-security", type=click.Choice(["starttls", "tls", "none"]), default="starttls",
              show_default=True, help="STARTTLS, implicit TLS (SMTPS), or none.")
@click.option("--password-file", metavar="FILE", type=PathArg(dir_okay=False, path_type=str),
              help="File holding the SMTP password (best set in the config's [send] table).")
@click.option("--book", "books", multiple=True, metavar="NAME", type=NameArg(),
              help="Send this book even if unfinished (file name or key like 2024-W10; repeatable).")
@click.option("--unfinished", is_flag=True, help="Also send books whose period has not ended yet.")
@click.option("--resend", is_flag=True, help="Send again books the ledger says were sent.")
@click.option("--dry-run", is_flag=True, help="Print what would be sent; connect to nothing.")
@click.option("--max-size", "max_mb", type=Seconds(0.1, 100_000, "MB"), default=50.0, show_default=True,
              metavar="MB", help="Largest book sent (Amazon's Send to Kindle limit is 50 MB).")
@click.option("--retries", type=click.IntRange(0, 10), default=3, show_default=True, metavar="N",
              help="Attempts again after a temporary failure (4xx, dropped connection, time-out).")
@click.option("--retry-delay", type=Seconds(0, 3600), default=2.0, show_default=True,
              metavar="SECONDS", help="Pause before the first new attempt (doubled each time).")
@click.option("--timeout", type=Seconds(1, 3600), default=60.0, show_default=True,
              metavar="SECONDS", help="Time allowed for each SMTP step.")
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), metavar="DATE", envvar="DIGEST_EXPORT_TODAY",
              help="Decide which books are finished as on DATE (default: today; "
                   "env DIGEST_EXPORT_TODAY).")
@click.option("--selection", metavar="NAME",
              help="Send the books of the config's [[selection]] NAME (DIR/NAME/) instead of the whole weeks.")
@quiet_option
@report_errors
def send(folder: str | None, out_dir: str | None, to: tuple[str, ...], from_address: str | None,
         smtp_host: str | None, smtp_port: int | None, smtp_user: str | None, smtp_security: str,
         password_file: str | None, books: tuple[str, ...], unfinished: bool, resend: bool, dry_run: bool,
         max_mb: float, retries: int, retry_delay: float, timeout: float, today: Any, selection: str | None,
         quiet: bool) -> None:
    """E-mail the finished books of DIR (a build output folder), each once per address.

    A book is finished once its last day has passed (a weekly book after its
    Sunday). What went to whom is kept in DIR/.digest-export-sent.json, so a
    daily run sends each book once; a book that could not be sent is tried
    again on the next run. The password is read from the environment
    variable DIGEST_EXPORT_SMTP_PASSWORD or from --password-file, never from
    the command line. Exits 1 when a book could not be sent.

    \b
    Example:
        digest-export send public/ --to me@kindle.com --dry-run
        DIGEST_EXPORT_SMTP_PASSWORD=... digest-export send public/ --to me@kindle.com \\
            --from-address me@example.org --smtp-host smtp.example.org --smtp-user me@example.org
        digest-export send public/ --to me@kindle.com --book 2024-W10 --resend
        digest-export send public/ --to me@kindle.com --selection top   # the short weekly books
        digest-export --config digest-export.toml build --send
    """
    from ..delivery.send import SendOptions, send_books
    from ..delivery.smtp import SmtpSettings

    target = Path(folder or out_dir or _configured_output() or ".")
    if selection is not None:
        target = _selection_folder(target, selection)
    password = _password(password_file) if smtp_user and not dry_run else None
    smtp = (SmtpSettings(host=smtp_host, port=smtp_port, user=smtp_user, security=smtp_security,
                         timeout=timeout, password=password) if smtp_host else None)
    options = SendOptions(folder=target, to=tuple(to), sender=from_address or _address(smtp_user), smtp=smtp,
                          books=tuple(books), unfinished=unfinished, resend=resend, dry_run=dry_run,
                          max_mb=max_mb, retries=retries, retry_delay=retry_delay,
                          today=today.date() if today else None)
    report = send_books(options, say=(lambda line: None) if quiet else
                        (lambda line: click.echo(f"digest-export: {line}", err=True)))
    _print_report(report, target, quiet=quiet, dry_run=dry_run)
    if report.failed:
        sys.exit(1)


def _print_report(report: SendReport, folder: Path, *, quiet: bool, dry_run: bool) -> None:
    for name, address, title in report.planned:
        size = (folder / name).stat().st_size
        click.echo(f"would send {q(folder / name)} ({title}, {size / 1e6:.1f} MB) to {address}")
    for name, address, why in report.failed:
        click.echo(f"{q(folder / name)}: error: not sent to {address}: {why}", err=True)
    if quiet:
        return
    for name, address, why in report.skipped:
        click.echo(f"{q(folder / name)}: not sent to {address}: {why}", err=True)
    n_wait = len(report.waiting)
    waiting = f", {n_wait} not finished yet ({', '.join(report.waiting)})" if n_wait else ""
    sent = f"{len(report.planned)} to send (dry run)" if dry_run else f"{len(report.sent)} sent"
    click.echo(f"{sent}, {len(report.skipped)} skipped, {len(report.failed)} failed{waiting} in {q(folder)}",
               err=True)


def _selection_folder(folder: Path, name: str) -> Path:
    """DIR/NAME, the folder ``build`` writes the selection NAME into (its own ledger and lock)."""
    from ..errors import UsageError
    from ..selections import SelectionError, check_name

    try:
        check_name(name, "--selection")
    except SelectionError as err:
        raise UsageError(str(err)) from None
    target = folder / name
    if target.is_symlink() or not target.is_dir():
        raise UsageError(f"--selection {name}: {q(target)} is not a folder of this build; "
                         "is there a [[selection]] with that name, and has build run since?")
    return target


def _configured_output() -> str | None:
    """``output`` of the config's [build] table (or top level): where build wrote."""
    ctx = click.get_current_context(silent=True)
    root = ctx.find_root() if ctx else None
    if root is None or not root.default_map:
        return None
    return root.default_map.get("build", {}).get("out_dir")


def _address(user: str | None) -> str | None:
    return user if user and "@" in user else None


def _password(password_file: str | None) -> str:
    """The SMTP password: the environment first, then the password file."""
    value = os.environ.get(PASSWORD_ENV)
    if value:
        return value
    if not password_file:
        raise UsageError(f"--smtp-user needs a password: set {PASSWORD_ENV} or 'password-file' "
                         "in the [send] table of the config")
    path = Path(password_file)
    try:
        mode = path.stat().st_mode
        # Checked with stat on the open file before it is read: a FIFO or a huge file named by
        # mistake must not hang the run; the error never quotes the file's bytes.
        text = gate_files.read_bytes(path, 64 * 1024).decode("utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) else "not UTF-8"
        raise UsageError(f"{q(path)}: cannot read the SMTP password file: {reason or err}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        warn("the SMTP password file is readable by others (chmod 600 it)", Kind.OUTPUT, SourceRef(str(path), 0))
    password = text.strip("\r\n")
    if not password:
        raise UsageError(f"{q(path)}: the SMTP password file is empty")
    return password


def send_after_build(out_dir: str, *, quiet: bool) -> None:
    """``build --send``: run ``send`` on the build's folder with the [send]
    settings of the config, as if ``digest-export send DIR`` had been typed
    (same defaults, environment variables and checks)."""
    root = click.get_current_context().find_root()
    settings = (root.default_map or {}).get("send")
    args = [out_dir] + (["--quiet"] if quiet else [])
    with send.make_context("send", args, parent=root, default_map=settings) as ctx:
        send.invoke(ctx)
