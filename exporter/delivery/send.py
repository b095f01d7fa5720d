"""``digest-export send``: e-mail each finished book, once per address.

A book is *finished* once its last day has passed (see
:mod:`exporter.delivery.books`): until then a new digest can still be added
to it.  By default a run sends the finished books the ledger
(:mod:`exporter.delivery.ledger`) has not seen go to that address; a book
rebuilt later (same name, new bytes) is not sent again unless ``resend``.
``books`` and ``unfinished`` send on demand; a book sent before its period
ended is sent once more when it is finished, since the final book has more
days than the copy that went out.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UsageError
from ..gates import files as gate_files
from .books import BookFile, book_title, find_books
from .ledger import Ledger, Sent, load_ledger, locked, now_text
from .message import book_message
from .smtp import DeliveryFailure, Mailer, SmtpSettings

#: Amazon's Send to Kindle accepts e-mails of up to 50 MB
#: (https://www.amazon.com/sendtokindle/email).  Base64 makes the message
#: about 4/3 of the book; other providers often stop at 25 MB or less.
MAX_BOOK_MB = 50.0


@dataclass(frozen=True, slots=True)
class SendOptions:
    """What ``digest-export send`` was asked to do."""

    folder: Path
    to: tuple[str, ...]
    sender: str | None = None
    smtp: SmtpSettings | None = None  # None: dry run only
    books: tuple[str, ...] = ()
    unfinished: bool = False
    resend: bool = False
    dry_run: bool = False
    max_mb: float = MAX_BOOK_MB
    #: Attempts after the first for a temporary failure, and the first pause
    #: (doubled each time).
    retries: int = 3
    retry_delay: float = 2.0
    today: dt.date | None = None


@dataclass(slots=True)
class SendReport:
    """One line per (book, address): sent, would send, skipped (why), failed (why)."""

    sent: list[tuple[str, str]] = field(default_factory=list)
    planned: list[tuple[str, str, str]] = field(default_factory=list)  # dry run: (book, address, title)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)
    failed: list[tuple[str, str, str]] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # not finished yet
    #: The server refused the credentials: nothing more is tried.
    auth_error: str | None = None


Say = Callable[[str], None]


def check_options(options: SendOptions) -> None:
    if not options.to:
        raise UsageError("no recipient: give --to ADDRESS (or 'to' in the [send] table of the config)")
    bad = [a for a in options.to if "@" not in a or any(c.isspace() or c in "<>,;" for c in a)]
    if bad:
        raise UsageError(f"--to {bad[0]!r} is not an e-mail address")
    if options.dry_run:
        return
    if options.smtp is None or not options.smtp.host:
        raise UsageError("no SMTP server: give --smtp-host (or 'smtp-host' in the [send] table)")
    if not options.sender:
        raise UsageError("no sender: give --from-address (for Kindle, an address on your "
                         "Approved Personal Document E-mail List)")
    s = options.smtp
    if s.user and s.password is None:
        raise UsageError("--smtp-user needs a password: set DIGEST_EXPORT_SMTP_PASSWORD or "
                         "'password-file' in the [send] table")
    if s.user and s.security == "none" and not s.is_loopback:
        raise UsageError("--smtp-security none would send the password unencrypted; use starttls or tls")


def select_books(options: SendOptions, today: dt.date, report: SendReport) -> list[BookFile]:
    """The books this run considers: named ones, else the finished (and with
    ``unfinished``, the others too)."""
    found = find_books(options.folder)
    if options.books:
        chosen = []
        for wanted in options.books:
            match = [b for b in found if wanted in (b.name, b.path.stem, b.key)]
            if not match:
                names = ", ".join(b.name for b in found) or "none"
                raise UsageError(f"--book {wanted!r}: no such book in {options.folder} (books: {names})")
            chosen.extend(b for b in match if b not in chosen)
        return chosen
    chosen = []
    for book in found:
        if book.finished(today) or options.unfinished:
            chosen.append(book)
        else:
            report.waiting.append(book.name)
    return chosen


def skip_reason(entry: Sent | None, *, finished: bool, sha: str, resend: bool) -> str | None:
    """Why this book does not go to this address again, or None to send it."""
    if entry is None or resend:
        return None
    if entry.complete:
        return f"sent on {entry.sent_at[:10]} (--resend to send it again)"
    if finished:
        return None  # went out unfinished: the final book goes once more
    if entry.sha256 == sha:
        return f"sent on {entry.sent_at[:10]} and unchanged since"
    return None


def send_books(options: SendOptions, say: Say = lambda line: None) -> SendReport:
    """Send what *options* asks for; never raises for a failed message (see
    ``report.failed``), only for usage and ledger errors."""
    check_options(options)
    today = options.today or dt.date.today()
    report = SendReport()
    with locked(options.folder) if not options.dry_run else contextlib.nullcontext():
        ledger = load_ledger(options.folder)
        books = select_books(options, today, report)
        mailer = Mailer(options.smtp) if not options.dry_run and options.smtp else None
        try:
            for book in books:
                _send_book(book, options, today, ledger, mailer, report, say)
        finally:
            if mailer is not None:
                mailer.close()
    return report


def _send_book(book: BookFile, options: SendOptions, today: dt.date, ledger: Ledger, mailer: Mailer | None,
               report: SendReport, say: Say) -> None:
    try:
        data = gate_files.read_bytes(book.path, gate_files.BOOK_LIMIT)
    except OSError as err:
        report.failed.extend((book.name, a, f"cannot read the book: {err.strerror or err}") for a in options.to)
        return
    sha = hashlib.sha256(data).hexdigest()
    finished = book.finished(today)
    todo = []
    for address in options.to:
        why = skip_reason(ledger.get(address, book.name), finished=finished, sha=sha, resend=options.resend)
        if why:
            report.skipped.append((book.name, address, why))
        else:
            todo.append(address)
    if not todo:
        return
    limit = int(options.max_mb * 1_000_000)
    if len(data) > limit:
        why = (f"{len(data) / 1e6:.1f} MB is over the {options.max_mb:g} MB limit (--max-size); "
               "make it smaller: a shorter period (--by week or --by day), --images none, "
               "or --device kindle (grey pictures no larger than a Kindle screen)")
        report.failed.extend((book.name, a, why) for a in todo)
        return
    title = book_title(book.path)
    for address in todo:
        if mailer is None:
            report.planned.append((book.name, address, title))
            continue
        if report.auth_error:
            report.failed.append((book.name, address, report.auth_error))
            continue
        message = book_message(data=data, name=book.name, title=title, sender=options.sender or "",
                               recipient=address, body=_body(book, title, len(data)))
        try:
            _deliver(mailer, options, address, message, say)
        except DeliveryFailure as err:
            report.failed.append((book.name, address, str(err)))
            if err.auth:
                report.auth_error = str(err)
            continue
        ledger.record(address, book.name, Sent(sha, len(data), now_text(), finished))
        report.sent.append((book.name, address))
        say(f"sent {book.name} to {address}")


def _deliver(mailer: Mailer, options: SendOptions, address: str, message: bytes, say: Say) -> None:
    """Send, retrying temporary failures with a doubling pause."""
    delay = options.retry_delay
    for attempt in range(options.retries + 1):
        try:
            mailer.send(options.sender or "", address, message)
            return
        except DeliveryFailure as err:
            if not err.temporary or attempt == options.retries:
                if err.temporary:
                    tries = f"{attempt + 1} time{'s' if attempt else ''}"
                    raise DeliveryFailure(f"{err} (tried {tries}; the next run tries again)",
                                          temporary=True) from err
                raise
            say(f"{address}: {err}; trying again in {delay:g} s")
            time.sleep(delay)
            delay *= 2


def _body(book: BookFile, title: str, size: int) -> str:
    period = ""
    if book.start and book.end:
        period = book.start.isoformat() if book.start == book.end else f"{book.start} – {book.end}"
    return f"{title}\n{period}\n{book.name}, {size / 1e6:.1f} MB\n\nSent by digest-export.\n"
