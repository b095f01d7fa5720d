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
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import ConfigError, UsageError
from ..gates.addresses import Address, AddressRefused, check_address, unique_addresses
from .books import (BookFile, BookTooLarge, NotABook, book_facts, file_sha256, find_books, misnamed, read_book_file,
                    same_book)
from .ledger import Ledger, Sent, check_lockable, load_ledger, locked, now_text
from .message import attachment_name, book_message
from ..procs import stops_deferred
from .smtp import DeliveryFailure, Mailer, SmtpSettings
from ..gates.names import shell_quote as q

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
    #: How errors name where ``to`` and the sender came from: the option, or
    #: the config file and its key (the sender may be the SMTP user's address).
    to_source: str = "--to"
    sender_source: str = "--from-address"
    #: The names of the files the folder's build wrote there (a selection's folder): no other
    #: book of the folder is sent; None: every book of the folder.
    written: frozenset[str] | None = None


@dataclass(slots=True)
class SendReport:
    """One line per (book, address): sent, would send, skipped (why), failed (why)."""

    sent: list[tuple[str, str]] = field(default_factory=list)
    planned: list[tuple[str, str, str]] = field(default_factory=list)  # dry run: (book, address, title)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)
    failed: list[tuple[str, str, str]] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # not finished yet
    #: ``*.epub`` names that are not regular files (a FIFO, a device, a folder, a
    #: dangling link), and why: reported, and the exit status is 1.
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    #: (copy, book) for each copy named with ``--book``: sent as the book.
    copies: list[tuple[str, str]] = field(default_factory=list)
    #: (book, why) for each book whose name says another period than its metadata: not sent.
    misnamed: list[tuple[str, str]] = field(default_factory=list)
    #: The server refused the credentials: nothing more is tried.
    auth_error: str | None = None


Say = Callable[[str], None]


def check_options(options: SendOptions) -> tuple[Address, ...]:
    """UsageError for options that cannot work; the recipients, each checked
    by the address gate and the same address spelled twice kept once."""
    if not options.to:
        raise UsageError("no recipient: give --to ADDRESS (or 'to' in the [send] table of the config)")
    try:
        recipients = unique_addresses(options.to, options.to_source)
    except AddressRefused as err:
        raise _address_error(str(err), options.to_source) from None
    try:
        if options.sender:
            unique_addresses((options.sender,), options.sender_source)
    except AddressRefused as err:
        raise _address_error(str(err), options.sender_source) from None
    # A dry run connects to nothing and may leave the server out; what is given is checked.
    s = options.smtp
    if s is not None and s.user and s.password is None:
        raise UsageError("--smtp-user needs a password: set DIGEST_EXPORT_SMTP_PASSWORD or "
                         "'password-file' in the [send] table")
    if s is not None and s.user and s.security == "none" and not s.is_loopback:
        raise UsageError("--smtp-security none would send the password unencrypted; use starttls or tls")
    if options.dry_run:
        return recipients
    if s is None or not s.host:
        raise UsageError("no SMTP server: give --smtp-host (or 'smtp-host' in the [send] table)")
    if not options.sender:
        raise UsageError("no sender: give --from-address (for Kindle, an address on your "
                         "Approved Personal Document E-mail List)")
    return recipients


def _address_error(text: str, source: str) -> UsageError:
    """A refused address as a usage error, or a config error when the config gave it (both exit 2)."""
    return UsageError(text) if source.startswith("--") else ConfigError(text)


def select_books(options: SendOptions, today: dt.date, report: SendReport,
                 recipients: tuple[Address, ...] = ()) -> tuple[list[BookFile], list[BookFile]]:
    """The books this run considers (named ones, else the finished, and with
    ``unfinished`` the others too), and every book of the folder.  A copy of another book (``latest.epub``, a
    hard or symbolic link) stands for that book: it is sent, recorded and
    skipped under the book's own name, so the same week never goes out twice
    under two names."""
    shelf = find_books(options.folder)
    if options.written is not None:
        # A selection's folder: its build's books only, not a book the user put beside them (or a
        # link there to one anywhere).
        shelf = replace(shelf, books=[b for b in shelf.books if b.path.name in options.written])
    # A file whose name says another period than its own metadata is neither sent nor taken
    # for the original of its bytes: the file named for the book's own period is.
    lies = {b.path: why for b in shelf.books if (why := misnamed(b)) is not None}
    found = [b for b in shelf.books if b.path not in lies]
    report.misnamed.extend((b.name, lies[b.path]) for b in shelf.books if b.path in lies)
    if options.books:
        chosen: list[BookFile] = []
        for wanted in options.books:
            bad = [(p, why) for p, why in shelf.unreadable if wanted in (p.name, p.stem)]
            # Any device profile's file of a book names that book (one book, mailed as its send file).
            match = [b for b in found if wanted == b.key or any(wanted in (p.name, p.stem) for p in b.files or (b.path,))]
            if bad and not match:
                report.unreadable.extend((p.name, why) for p, why in bad if (p.name, why) not in report.unreadable)
                continue
            if not match and any(wanted in (p.name, p.stem) for b in shelf.books if b.path in lies
                                 for p in b.files or (b.path,)):
                continue  # a file that lies about its period: its warning says why it is not sent
            if not match:
                names = ", ".join(q(b.name) for b in found) or "none"
                raise UsageError(f"--book {q(wanted)}: no such book in {q(options.folder)} (books: {names})")
            for book in match:
                original = _original(book, found)
                if original is not book:
                    report.copies.append((book.name, original.name))
                if original not in chosen:
                    chosen.append(original)
        return chosen, found
    report.unreadable.extend((p.name, why) for p, why in shelf.unreadable)
    chosen = []
    for book in found:
        original = _original(book, found)
        if original is not book:
            # A copy (latest.epub, a link, "my W10 copy.epub") is named as the copy of its book, whether
            # that book is finished or not: it is never "not finished yet" on its own.
            report.skipped.extend((book.name, a.text, f"a copy of {q(original.name)}") for a in recipients)
            if (original.finished(today) or options.unfinished) and original not in chosen:
                chosen.append(original)
        elif book.finished(today) or options.unfinished:
            if book not in chosen:
                chosen.append(book)
        else:
            report.waiting.append(book.name)
    return chosen, found


def _original(book: BookFile, found: list[BookFile]) -> BookFile:
    """The book *book* is a copy of, if it is one; else *book*.  Only a file whose name
    says no period (``latest.epub``) or a symbolic link is taken for a copy, and only of
    a book whose name says its period: two books of their own are never merged.  A copy
    of *any* device profile's file of a book is a copy of that book: ``build`` writes
    ``latest.epub`` from the first profile named, while ``send`` mails the kindle file."""
    if book.start is not None and not book.path.is_symlink():
        return book
    for other in found:
        if other is book or other.start is None:
            continue
        for path in other.files or (other.path,):
            try:
                if same_book(book.path, path):
                    return other
            except OSError:  # unreadable: the send reports it
                continue
    return book


def skip_reason(entry: Sent | None, *, finished: bool, sha: str, resend: bool, as_name: str | None = None) -> str | None:
    """Why this book does not go to this address again, or None to send it; *as_name*: the entry
    is of another device profile's file of the same book (``NAME.epub`` for ``NAME.kindle.epub``)."""
    if entry is None or resend:
        return None
    if as_name is not None:
        if entry.complete or not finished:
            return f"sent on {entry.sent_at[:10]} as {q(as_name)}; --resend to send it again"
        return None  # went out unfinished: the final book goes once more
    if entry.complete:
        return f"sent on {entry.sent_at[:10]} (--resend to send it again)"
    if finished:
        return None  # went out unfinished: the final book goes once more
    if entry.sha256 == sha:
        return f"sent on {entry.sent_at[:10]} and unchanged since"
    return None


def send_books(options: SendOptions, say: Say = lambda line: None, report: SendReport | None = None) -> SendReport:
    """Send what *options* asks for, reported in *report* (a new one if None: a caller that
    passes its own sees what was done before a stop); never raises for a failed message (see
    ``report.failed``), only for usage and ledger errors."""
    recipients = check_options(options)
    sender = check_address(options.sender) if options.sender else None
    today = options.today or dt.date.today()
    report = SendReport() if report is None else report
    if options.dry_run:  # it takes no lock, but refuses a lock file the run would refuse
        check_lockable(options.folder)
    with locked(options.folder) if not options.dry_run else contextlib.nullcontext():
        ledger = load_ledger(options.folder)
        books, found = select_books(options, today, report, recipients)
        mailer = Mailer(options.smtp) if not options.dry_run and options.smtp else None
        run = _Run(options, today, ledger, mailer, report, say, recipients, sender, found=found)
        try:
            for book in books:
                run.send_book(book)
        finally:
            if mailer is not None:
                mailer.close()
    return report


@dataclass(slots=True)
class _Run:
    """One ``send`` run: what it was asked, and the books it has read so far."""

    options: SendOptions
    today: dt.date
    ledger: Ledger
    mailer: Mailer | None
    report: SendReport
    say: Say
    recipients: tuple[Address, ...]
    sender: Address | None
    #: SHA-256 -> name of each book read in this run: a copy (latest.epub) is not sent again.
    seen: dict[str, str] = field(default_factory=dict)
    #: Every book of the folder: a sent book is also recorded under the name of each
    #: other book of its period that is the same file or bytes (a second name of a week).
    found: list[BookFile] = field(default_factory=list)
    #: :meth:`other_names`, :meth:`other_shas` and :meth:`facts` of each book met.
    names_of: dict[Path, list[str]] = field(default_factory=dict)
    shas_of: dict[Path, list[str]] = field(default_factory=dict)
    facts_of: dict[Path, tuple[str, str | None, dt.date | None]] = field(default_factory=dict)

    def aliases(self, book: BookFile) -> list[str]:
        out = []
        for other in self.found:
            if other is book or other.key != book.key or other.start is None:
                continue
            try:
                if same_book(book.path, other.path):
                    out.append(other.name)
            except OSError:
                continue
        return out

    def why_not(self, address: Address, book: BookFile, sha: str, finished: bool) -> str | None:
        """Why *book* does not go to *address* (sent before under any of its names, as the bytes
        of any of its files under any name, or with its identifier), or None to send it."""
        resend = self.options.resend
        entry, as_name = self.ledger.get(address.text, book.name), None
        for other in self.other_names(book) if entry is None else ():
            if (entry := self.ledger.get(address.text, other)) is not None:
                as_name = other
                break
        why = skip_reason(entry, finished=finished, sha=sha, resend=resend, as_name=as_name)
        # The bytes of its other files are read only now: a daily send of a year of weeks, each
        # sent before under its own name, reads none of them.
        shas = () if resend or why is not None else [sha, *self.other_shas(book)]
        for copy in filter(None, (self.ledger.sent_as(address.text, s) for s in shas)):
            if copy[0] != book.name:
                return f"the same book as {q(copy[0])}, sent on {copy[1].sent_at[:10]}"
        if why is None and entry is None and not resend and self.facts(book)[1] is not None:
            # Sent under a name and with bytes it no longer has here: a copy of its kindle file
            # named by hand, when only its plain file is left; known by its identifier.
            same = self.ledger.sent_with_identifier(address.text, self.facts(book)[1])
            if same is not None and same[0] != book.name:
                why = skip_reason(same[1], finished=finished, sha=sha, resend=resend, as_name=same[0])
        return why

    def facts(self, book: BookFile) -> tuple[str, str | None, dt.date | None]:
        """:func:`book_facts` of *book*, read once."""
        known = self.facts_of.get(book.path)
        if known is None:
            known = self.facts_of[book.path] = book_facts(book.path)
        return known

    def other_names(self, book: BookFile) -> list[str]:
        """The names a reader knows *book* by besides its own: every device profile's file of it
        (``NAME.epub``, ``NAME.kindle.epub``... are one book: adding ``--device kindle`` after a
        send must not mail every week again), and each copy in the folder that stands for it
        (``latest.epub``, ``mybook.epub``: it may have gone out under that name)."""
        known = self.names_of.get(book.path)
        if known is None:
            from ..books.devices import PROFILES, split_suffix

            stem, _ = split_suffix(book.name)
            names = [stem + profile.suffix for profile in sorted(PROFILES.values(), key=lambda p: p.name)]
            names += [other.name for other in self.found if other is not book and _original(other, self.found) is book]
            known = self.names_of[book.path] = [n for n in dict.fromkeys(names) if n != book.name]
        return known

    def other_shas(self, book: BookFile) -> list[str]:
        """The SHA-256 of each of *book*'s files but the one sent (one of them may have gone out
        under another name), read once."""
        known = self.shas_of.get(book.path)
        if known is None:
            known = []
            for path in (p for p in book.files if p != book.path):
                try:
                    known.append(file_sha256(path))
                except OSError:  # gone or unreadable meanwhile: its bytes cannot have been sent
                    continue
            self.shas_of[book.path] = known
        return known

    def fail(self, book: BookFile, addresses, why: str) -> None:
        self.report.failed.extend((book.name, a.text, why) for a in addresses)

    def send_book(self, book: BookFile) -> None:
        options, report = self.options, self.report
        limit = int(options.max_mb * 1_000_000)
        try:
            data = read_book_file(book.path, limit)
        except BookTooLarge as err:
            self.fail(book, self.recipients, f"{over_limit(err.size, options.max_mb)} is over the "
                      f"{options.max_mb:g} MB limit (--max-size); make it smaller: a shorter period "
                      "(--by week or --by day), --images none, or --device kindle (grey pictures no larger "
                      "than a Kindle screen)")
            return
        except NotABook as err:
            self.fail(book, self.recipients, str(err))
            return
        except OSError as err:
            self.fail(book, self.recipients, f"cannot read the book: {err.strerror or err}")
            return
        sha = hashlib.sha256(data).hexdigest()
        if sha in self.seen:
            report.skipped.extend((book.name, a.text, f"a copy of {q(self.seen[sha])}") for a in self.recipients)
            return
        self.seen[sha] = book.name
        finished = book.finished(self.today)
        if book.end is None and book.by == "unknown":
            # A name that says no period (a copy named by hand, sent with --book): the period its
            # metadata says decides whether it went out final, as for the file named for it.
            end = self.facts(book)[2]
            finished = end is not None and end < self.today
        todo = []
        for address in self.recipients:
            why = self.why_not(address, book, sha, finished)
            if why:
                report.skipped.append((book.name, address.text, why))
            else:
                todo.append(address)
        if not todo:
            return
        title, identifier, _ = self.facts(book)
        for address in todo:
            if self.mailer is None:
                report.planned.append((book.name, address.text, title))
            elif report.auth_error:
                report.failed.append((book.name, address.text, report.auth_error))
            else:
                self.mail(book, data, address, Sent(sha, len(data), "", finished, identifier), title)

    def mail(self, book: BookFile, data: bytes, address: Address, entry: Sent, title: str) -> None:
        """Mail *book* (its bytes *data*) to *address*, and record it as *entry* (sent now) under
        its name and its aliases once the server accepted it."""
        from dataclasses import replace

        report = self.report
        utf8 = address.smtputf8 or bool(self.sender and self.sender.smtputf8)
        message = book_message(data=data, name=book.name, title=title,
                               sender=self.sender.text if self.sender else "", recipient=address.text,
                               body=_body(book, title, len(data)), utf8=utf8)
        names = [book.name, *self.aliases(book)]

        def delivered(unconfirmed: str | None = None) -> None:
            sent = replace(entry, sent_at=now_text())
            for name in names:
                self.ledger.record(address.text, name, sent)
            # Reported here, with the record, before a stop asked meanwhile takes effect: a book
            # the server accepted, or may have, is one the user is told of (a stopped run says
            # its failures: cli.send).
            if unconfirmed is not None:
                report.failed.append((book.name, address.text, unconfirmed))
            else:
                report.sent.append((book.name, address.text))
                self.say(f"sent {q(book.name)} to {address.text}")

        try:
            _deliver(self.mailer, self.options, address, message, self.say, utf8=utf8,
                     sender=self.sender.text if self.sender else "", delivered=delivered)
        except DeliveryFailure as err:
            report.failed.append((book.name, address.text, str(err)))
            if err.auth:
                report.auth_error = str(err)


def _deliver(mailer: Mailer, options: SendOptions, address: Address, message: bytes, say: Say, *,
             utf8: bool, sender: str, delivered: Callable[..., None]) -> None:
    """Send, retrying temporary failures with a doubling pause; *delivered* records the message
    the server accepted (and says so) before a stop asked meanwhile (Ctrl-C, SIGTERM) takes
    effect: stopped between the two, the next run would mail the book again; called with what
    to tell the user for a message the server may have taken without saying so."""
    delay = options.retry_delay
    for attempt in range(options.retries + 1):
        try:
            with stops_deferred():
                try:
                    mailer.send(sender, address.text, message, smtputf8=utf8)
                except DeliveryFailure as err:
                    if not err.unconfirmed:
                        raise
                    # Recorded as sent, so that no later run mails it again (the user is told
                    # to check, and --resend sends it once more); here, before a stop asked
                    # while the server kept its answer takes effect, as for an accepted one.
                    delivered(f"{err}; recorded as sent, so it is not mailed again: check that it "
                              "arrived, else send it again with --resend")
                else:
                    delivered()
            return
        except DeliveryFailure as err:
            if not err.temporary or attempt == options.retries:
                if err.temporary:
                    tries = f"{attempt + 1} time{'s' if attempt else ''}"
                    raise DeliveryFailure(f"{err} (tried {tries}; the next run tries again)",
                                          temporary=True) from err
                raise
            say(f"{address.text}: {err}; trying again in {delay:g} s")
            time.sleep(delay)
            delay *= 2


def over_limit(size: int, limit_mb: float) -> str:
    """*size* (bytes) in MB with as many decimals as it takes to show it over
    *limit_mb* (117,447 bytes over 0.11 MB is "0.117 MB", never "0.1 MB"), cut
    rather than rounded so it never shows more than the book has; in bytes if
    no decimal does."""
    for decimals in range(1, 7):
        units = size // 10 ** (6 - decimals)  # integer arithmetic: no float rounding
        shown = f"{units // 10 ** decimals}.{units % 10 ** decimals:0{decimals}d}"
        if float(shown) > limit_mb:
            return f"{shown} MB"
    return f"{size:,} bytes"


def _body(book: BookFile, title: str, size: int) -> str:
    period = ""
    if book.start and book.end:
        period = book.start.isoformat() if book.start == book.end else f"{book.start} – {book.end}"
    # The name the attachment has (message.attachment_name: no control or bidi character, which
    # the file name may hold, reaches the recipient: a right-to-left override made "exe.epub"
    # read "bupe.exe" in the body).
    return f"{title}\n{period}\n{attachment_name(book.name)}, {size / 1e6:.1f} MB\n\nSent by digest-export.\n"
