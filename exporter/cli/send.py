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
from .run import config_selections
from .options import (BooksFolder, Command, Count, NameArg, PathArg, Seconds, config_place, named_where_given, quiet_option,
                      report_errors, today_option)
from ..errors import ExporterError, UsageError
from ..gates import files as gate_files
from ..gates.names import shell_quote as q

if TYPE_CHECKING:
    from ..delivery.send import SendReport

PASSWORD_ENV = "DIGEST_EXPORT_SMTP_PASSWORD"


@click.command(cls=Command)
@click.argument("folder", required=False, metavar="[DIR]", type=BooksFolder(file_okay=False, path_type=str))
@click.option("-o", "--output", "out_dir", metavar="DIR", type=BooksFolder(file_okay=False, path_type=str),
              help="The folder of the books, as DIR (default: the config's output, else .).")
@click.option("--to", "to", multiple=True, metavar="ADDRESS",
              help="Recipient (repeatable), e.g. a Send-to-Kindle address name@kindle.com.")
@click.option("--from-address", metavar="ADDRESS",
              help="Sender; for Kindle, an address on the Approved Personal Document E-mail List.")
@click.option("--smtp-host", metavar="HOST", help="SMTP server.")
@click.option("--smtp-port", type=Count(1, 65535), metavar="PORT",
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
@click.option("--retries", type=Count(0, 10), default=3, show_default=True, metavar="N",
              help="Attempts again after a temporary failure (4xx, dropped connection, time-out).")
@click.option("--retry-delay", type=Seconds(0, 3600), default=2.0, show_default=True,
              metavar="SECONDS", help="Pause before the first new attempt (doubled each time).")
@click.option("--timeout", type=Seconds(1, 3600), default=60.0, show_default=True,
              metavar="SECONDS", help="Time allowed for each SMTP step; a whole message gets twice this "
              "and a second per 50 kB of the book.")
@today_option("Decide which books are finished as on DATE (default: today; env DIGEST_EXPORT_TODAY).")
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
    from ..delivery.send import SendReport, send_books

    target = Path(folder or out_dir or _build_setting("out_dir") or ".")
    if selection is not None:
        _check_selection_name(selection)  # a usage error (2) before what the folder holds (1)
    _check_there(target)
    written = None
    if selection is not None:
        target, written = _selection_folder(target, selection)
    options = _send_options(target, to=to, from_address=from_address, smtp_host=smtp_host, smtp_port=smtp_port,
                            smtp_user=smtp_user, smtp_security=smtp_security, password_file=password_file,
                            books=books, unfinished=unfinished, resend=resend, dry_run=dry_run, max_mb=max_mb,
                            retries=retries, retry_delay=retry_delay, timeout=timeout, today=today,
                            written=written)
    smtp_host = options.smtp.host if options.smtp is not None else smtp_host
    report = SendReport()
    try:
        send_books(options, say=(lambda line: None) if quiet else
                   (lambda line: click.echo(f"digest-export: {line}", err=True)), report=report)
    except (KeyboardInterrupt, SystemExit):
        # Stopped (Ctrl-C, SIGTERM): what failed before is said still, above all a book the
        # server may have taken and that is recorded as sent (each book sent was said as it went).
        _print_failures(report, target)
        raise
    _print_report(report, target, quiet=quiet, dry_run=dry_run)
    missing = [name for name, given in (("--smtp-host", smtp_host), ("--from-address", options.sender)) if not given]
    if dry_run and missing and not quiet:
        # What a dry run may leave out is what a run that sends cannot (check_options).
        click.echo(f"digest-export: note: a run that sends also needs {' and '.join(missing)}", err=True)
    if report.failed or report.unreadable:
        sys.exit(1)


def _send_options(target: Path, *, to: tuple[str, ...], from_address: str | None, smtp_host: str | None,
                  smtp_port: int | None, smtp_user: str | None, smtp_security: str, password_file: str | None,
                  books: tuple[str, ...], unfinished: bool, resend: bool, dry_run: bool, max_mb: float,
                  retries: int, retry_delay: float, timeout: float, today: Any,
                  written: frozenset[str] | None = None) -> Any:
    """The options of a run of ``send`` into *target*, each setting refused as the run refuses it
    (*written*: of a selection's folder, the files its build wrote there)."""
    from ..delivery.send import SendOptions
    from ..delivery.smtp import SmtpSettings

    # A dry run connects to nothing but refuses every setting the run would refuse: the server
    # as a host, the password as read (never shown).
    smtp_host = _checked_host(smtp_host) if smtp_host is not None else smtp_host
    smtp_user = _checked_user(smtp_user) if smtp_user is not None else None
    # A user needs a password, with a server or without (a dry run may leave the server out).
    password = _password(password_file) if smtp_user else None
    smtp = (SmtpSettings(host=smtp_host, port=smtp_port, user=smtp_user, security=smtp_security,
                         timeout=timeout, password=password) if smtp_host else None)
    sender_from = "from_address" if from_address else "smtp_user"
    return SendOptions(folder=target, to=tuple(to), sender=from_address or _address(smtp_user), smtp=smtp,
                       to_source=_source("to"), sender_source=_source(sender_from),
                       books=tuple(books), unfinished=unfinished, resend=resend, dry_run=dry_run,
                       max_mb=max_mb, retries=retries, retry_delay=retry_delay,
                       today=today.date() if today else None, written=written)


def check_send_settings(out_dir: str, *, quiet: bool) -> None:
    """``build --send``: the [send] settings refused before the build writes anything, as the
    ``send`` that follows would refuse them (a usage error, exit 2, after a whole build was
    published, told cron the crontab line was wrong only once it had gone out)."""
    from ..delivery.send import check_options

    root = click.get_current_context().find_root()
    settings = (root.default_map or {}).get("send")
    args = [out_dir] + (["--quiet"] if quiet else [])
    with send.make_context("send", args, parent=root, default_map=settings) as ctx:
        params = dict(ctx.params)
        with ctx:  # the sources of the values (config, environment) as send reads them
            if params.get("selection") is not None:
                _check_selection_name(params["selection"])
                # The build about to run makes the config's selections, and only those.
                if params["selection"] not in {sel.name for sel in config_selections()}:
                    raise UsageError(named_where_given(
                        f"--selection {params['selection']}: no [[selection]] of that name in the config, so "
                        "the build does not make it"))
            names = ("to", "from_address", "smtp_host", "smtp_port", "smtp_user", "smtp_security", "password_file",
                     "books", "unfinished", "resend", "dry_run", "max_mb", "retries", "retry_delay", "timeout",
                     "today")
            check_options(_send_options(Path(out_dir), **{name: params[name] for name in names}))


def _print_failures(report: SendReport, folder: Path) -> None:
    for name, address, why in report.failed:
        click.echo(f"{_shown(folder / name)}: error: not sent to {address}: {why}", err=True)
    for name, why in report.unreadable:
        click.echo(f"{_shown(folder / name)}: error: not a book: {why}; not sent", err=True)


def _print_report(report: SendReport, folder: Path, *, quiet: bool, dry_run: bool) -> None:
    for name, address, title in report.planned:
        size = (folder / name).stat().st_size
        click.echo(f"would send {_shown(folder / name)} ({title}, {size / 1e6:.1f} MB) to {address}")
    _print_failures(report, folder)
    for name, why in report.misnamed:
        click.echo(f"{_shown(folder / name)}: warning: not sent: {why}", err=True)
    if quiet:
        return
    for copy, book in report.copies:
        click.echo(f"{_shown(folder / copy)}: a copy of {q(book)}; sent and recorded as that book", err=True)
    for name, address, why in report.skipped:
        click.echo(f"{_shown(folder / name)}: not sent to {address}: {why}", err=True)
    n_wait = len(report.waiting)
    waiting = f", {n_wait} not finished yet ({', '.join(map(q, report.waiting))})" if n_wait else ""
    sent = f"{len(report.planned)} to send (dry run)" if dry_run else f"{len(report.sent)} sent"
    bad = f", {len(report.unreadable)} not a book" if report.unreadable else ""
    click.echo(f"{sent}, {len(report.skipped)} skipped, {len(report.failed)} failed{bad}{waiting} in {q(folder)}",
               err=True)


def _shown(path: Path) -> str:
    """A path for the terminal, quoted as ``ls`` does if it holds a control or bidi character."""
    from ..gates.names import shell_quote

    return shell_quote(str(path))


def _check_there(folder: Path) -> None:
    """A folder of books that is not there is input that holds no book: an input error (exit 1,
    as a missing INPUT of the other commands), not a usage error."""
    import os

    from ..errors import ExporterError
    from ..gates.files import broken_link

    if not os.path.lexists(folder) or broken_link(folder):
        why = broken_link(folder) or "no such folder"
        raise ExporterError(f"{q(folder)}: {why} (is it the folder build writes to?); nothing sent")


def _check_selection_name(name: str) -> None:
    from ..errors import UsageError
    from ..selections import SelectionError, check_name

    try:
        check_name(name, "--selection")
    except SelectionError as err:
        raise UsageError(str(err)) from None


def _selection_folder(folder: Path, name: str) -> tuple[Path, frozenset[str]]:
    """DIR/NAME, the folder ``build`` writes the selection NAME into (its own ledger and lock):
    only a folder the last build of DIR made for the selection, never a folder of the user's;
    and the names of the files that build wrote there (the books sent are among them)."""
    from ..errors import UsageError

    _check_selection_name(name)
    target = folder / name
    if target.is_symlink() or not target.is_dir():
        raise UsageError(f"--selection {name}: {q(target)} is not a folder of this build; "
                         "is there a [[selection]] with that name, and has build run since?")
    # A name in the config is not enough (DIR may never have been built, or be another folder),
    # nor the main state's word (the folder may have been replaced by one of the user's since):
    # its books would be sent, and the ledger and lock written into it.
    written = _built_selection(folder, name)
    if written is None:
        raise UsageError(f"--selection {name}: {q(target)} is not a folder the last build of {q(folder)} "
                         "wrote for a [[selection]] of that name; run build with it first")
    return target, written


def _built_selection(folder: Path, name: str) -> frozenset[str] | None:
    """The names of the files the last build of *folder* wrote in ``folder/name`` for the
    selection *name*, if it made it (the main state names it, the selection's own state is the one
    the main state vouches for) and that is the folder it wrote (the files it records there are as
    written); else None."""
    from .. import __version__
    from ..output import holds
    from ..pipeline.plan import vouched
    from ..state import default_state_path, load_state, selection_state_path

    base = gate_files.real_path(folder).parent
    state = _build_setting("state_path")
    configured = Path(state) if state else None
    try:
        main, why = load_state(configured or default_state_path(folder), __version__, base)
        if why:
            return None
        mine, why = load_state(selection_state_path(configured, folder, name), __version__, base)
    except (OSError, ExporterError):
        return None
    if why or not vouched(main, name, mine):
        return None
    # Every file it records that is there holds what it wrote: a folder copied over it from
    # another build (same name and title, another filter) holds books of other bytes.
    there = [(written, stamp) for written, stamp in mine.written_files().items()
             if os.path.lexists(folder / name / written)]
    if not there or not all(holds(folder / name / written, stamp) for written, stamp in there):
        return None
    return frozenset(written for written, _ in there)


def _build_setting(name: str) -> Any:
    """The config's [build] (or top-level) setting of the parameter *name* (``out_dir``: where
    build wrote; ``state_path``: where it kept its state), or None."""
    ctx = click.get_current_context(silent=True)
    root = ctx.find_root() if ctx else None
    if root is None or not root.default_map:
        return None
    return root.default_map.get("build", {}).get(name)


def _checked_host(host: str) -> str:
    """``--smtp-host`` through the URL gate's host check: a usage error naming the option (or the
    config file and key, :func:`~exporter.cli.options.named_where_given`)."""
    from ..gates.urls import URLRefused, check_host

    if not host.strip():  # a variable left unset where the config was made: no server is named
        raise UsageError("--smtp-host: is empty")
    try:
        return check_host(host)
    except URLRefused as err:
        raise UsageError(f"--smtp-host {q(host)}: {err}") from None


def _source(param: str) -> str:
    """Where the value of *param* came from, as an error names it: the option
    (``--to``), or the config file and its key (``FILE: [send] key 'to':``)."""
    ctx = click.get_current_context()
    if ctx.get_parameter_source(param) is not click.core.ParameterSource.DEFAULT_MAP:
        return "--" + param.replace("_", "-")
    path, key = config_place(ctx, next(p for p in ctx.command.params if p.name == param))
    return f"{path}: {key}:" if path else f"{key}:"


def _address(user: str | None) -> str | None:
    return user if user and "@" in user else None


def _password(password_file: str | None) -> str:
    """The SMTP password: the environment first, then the password file."""
    value = os.environ.get(PASSWORD_ENV)
    if value:
        # As given: an environment variable cannot hold a NUL, and any other character
        # travels in AUTH PLAIN or LOGIN (base64 of UTF-8, RFC 4616).
        return value
    if not password_file:
        raise UsageError(f"--smtp-user needs a password: set {PASSWORD_ENV} or 'password-file' "
                         "in the [send] table of the config")
    from ..gates import text as gate_text

    path = Path(password_file)
    try:
        # Through the file gate (a regular file, checked with stat on the open file before it is
        # read: a FIFO or a huge file named by mistake cannot hang the run), then the text gate
        # (UTF-8; the BOM Windows Notepad writes at the start removed; a NUL refused).  No
        # message quotes the file's bytes.
        data, st = gate_files.read_with_stat(path, MAX_PASSWORD_FILE)
        text = gate_text.decode_strict(data, str(path))
    except OSError as err:
        raise UsageError(f"{_shown(path)}: cannot read the SMTP password file: {err.strerror or err}") from None
    except gate_text.NotText as err:
        # The gate's message names the line and the byte: said in general words instead.
        said = str(err)
        reason = ("it is UTF-16 or UTF-32, not UTF-8; save it as UTF-8" if "UTF-16" in said or "UTF-32" in said
                  else "it holds a NUL byte" if "NUL" in said else "it is not UTF-8; save it as UTF-8")
        raise UsageError(f"{_shown(path)}: the SMTP password file cannot be used: {reason}") from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        warn("the SMTP password file is readable by others (chmod 600 it)", Kind.OUTPUT, SourceRef(str(path), 0))
    return _checked_password(text.removesuffix("\n").removesuffix("\r"), f"{_shown(path)}: the SMTP password file")


#: A password file is one line; anything larger was named by mistake.
MAX_PASSWORD_FILE = 64 * 1024


def _checked_password(password: str, where: str) -> str:
    """*password* (from a file) if it is one line of text: not empty, and no control
    character.  A NUL would end the field it is in (AUTH PLAIN separates the
    user and password with NULs, RFC 4616 section 2) and log in with another
    password; any other control character in a file (a second line, an escape,
    a stray CR) is a mistake in the file far more often than in a password.
    The message says what, never where or which character: no part of a
    password is shown."""
    import unicodedata

    if not password:
        raise UsageError(f"{where} is empty")
    if any(unicodedata.category(c) == "Cc" for c in password):
        raise UsageError(f"{where} holds a control character (a NUL, a line break inside it, a tab "
                         "or another invisible code); only a line break at its end is allowed")
    return password


def _checked_user(user: str) -> str:
    """The SMTP user name, if it is one line of visible text: a NUL would end its field in the
    login (AUTH PLAIN separates the authorisation identity, the user and the password with NULs,
    RFC 4616 section 2: part of the name would be taken for the password), and a line break, an
    escape or a bidi control in a name is a mistake in the config, never a user's name."""
    import unicodedata

    odd = next((c for c in user if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp")), None)
    if not user.strip() or odd is not None:
        raise UsageError("--smtp-user: "
                         + (f"holds U+{ord(odd):04X} {unicodedata.name(odd, '')}".rstrip()
                            + "; a user name is one line of visible text" if odd
                            else "is empty"))
    return user


def send_after_build(out_dir: str, *, quiet: bool) -> None:
    """``build --send``: run ``send`` on the build's folder with the [send]
    settings of the config, as if ``digest-export send DIR`` had been typed
    (same defaults, environment variables and checks)."""
    root = click.get_current_context().find_root()
    settings = (root.default_map or {}).get("send")
    args = [out_dir] + (["--quiet"] if quiet else [])
    with send.make_context("send", args, parent=root, default_map=settings) as ctx:
        send.invoke(ctx)
