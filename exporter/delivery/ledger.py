"""What was e-mailed to whom: ``DIR/.digest-export-sent.json``.

The ledger is the memory that makes a daily ``send`` deliver each book once
per address.  It is rewritten after *each* message the server accepted,
through :func:`exporter.output.write_file` (temporary file, fsync,
``os.replace``), so a run that dies half-way keeps the record of what did go
out.  The one window left is a crash between the server's "250 OK" and the
rename: that book is sent again on the next run (at least once, never lost).

Addresses are kept as SHA-256 hashes: the folder is often published as it
is, and a Send-to-Kindle address is worth keeping private.

The file is input like any other (it can be hand-edited): anything that is
not exactly the expected shape is refused with a :class:`LedgerError`,
rather than read as "nothing was sent", which would mail every book again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ExporterError
from ..gates import files as gate_files
from ..output import check_lock_target, held_lock, write_file
from ..gates.names import printable_json, shell_quote as q, stored_tree, unstored_name

LEDGER_NAME = ".digest-export-sent.json"
LOCK_NAME = ".digest-export-sent.lock"
LEDGER_FORMAT = 1


class LedgerError(ExporterError):
    """The ledger cannot be read or is not one; nothing is sent."""


def address_key(address: str) -> str:
    """How an address is recorded: in lower case (mail servers and Kindle treat
    addresses case-insensitively in practice; ``addresses.Address.key``), then hashed."""
    return "sha256:" + hashlib.sha256(address.strip().lower().encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Sent:
    """One book delivered to one address."""

    sha256: str
    size: int
    sent_at: str
    #: The book's period had ended when it was sent: it is final.
    complete: bool
    #: The book's unique identifier (EPUB 3.3 section 5.4.1: every device profile's file of a
    #: book, and every later version of it, carry the same), None when it has none.
    identifier: str | None = None


@dataclass(slots=True)
class Ledger:
    path: Path
    sent: dict[str, dict[str, Sent]] = field(default_factory=dict)

    def get(self, address: str, book: str) -> Sent | None:
        return self.sent.get(address_key(address), {}).get(book)

    def sent_as(self, address: str, sha256: str) -> tuple[str, Sent] | None:
        """A book of these exact bytes sent to *address* under any name (a copy such as latest.epub)."""
        for name, entry in sorted(self.sent.get(address_key(address), {}).items()):
            if entry.sha256 == sha256:
                return name, entry
        return None

    def sent_with_identifier(self, address: str, identifier: str) -> tuple[str, Sent] | None:
        """A book with this unique identifier sent to *address* under any name."""
        for name, entry in sorted(self.sent.get(address_key(address), {}).items()):
            if entry.identifier == identifier:
                return name, entry
        return None

    def record(self, address: str, book: str, entry: Sent) -> None:
        """Remember one delivery and save at once (atomically)."""
        self.sent.setdefault(address_key(address), {})[book] = entry
        write_file(self.path, self.to_bytes())

    def to_bytes(self) -> bytes:
        data = {
            "program": "digest-export", "format": LEDGER_FORMAT,
            "sent": {addr: {name: {"sha256": s.sha256, "size": s.size, "sent_at": s.sent_at, "complete": s.complete,
                                   **({"identifier": s.identifier} if s.identifier is not None else {})}
                            for name, s in sorted(books.items())}
                     for addr, books in sorted(self.sent.items())},
        }
        # A book name that is not UTF-8 is stored so that it reads back as the same name; one
        # with a bidi control or another character a terminal acts on is written escaped (the
        # ledger is published with the folder, and read by people too).
        return (printable_json(json.dumps(stored_tree(data), indent=1, ensure_ascii=False)) + "\n").encode("utf-8")


def load_ledger(folder: Path) -> Ledger:
    """The ledger of *folder* (empty if there is none yet), read through the
    documents gate: a ledger of another shape is refused, not read as empty."""
    from ..gates import documents

    path = shown = Path(folder) / LEDGER_NAME
    if path.is_symlink():
        # A ledger kept elsewhere (a copy committed to a repository, linked in): the record is
        # the link's target, so that is what is read and rewritten (atomically, a temporary file
        # in the target's own folder, then rename); replacing the link by a regular file would
        # leave the target stale and the next checkout would send every book again.
        target = Path(os.path.realpath(path))
        if not os.path.lexists(target):
            raise LedgerError(f"{q(path)}: the send ledger is a symbolic link to {q(target)}, which does not "
                              "exist; restore it, or remove the link to start a new ledger")
        path = target
        shown = f"{q(shown)} (a link to {q(target)})"
    else:
        shown = q(path)
    raw = b""
    try:
        raw = documents.read(path, limit=documents.MAX_LEDGER_BYTES)
        doc = documents.decode(raw, documents.LedgerDoc, limit=documents.MAX_LEDGER_BYTES)
    except FileNotFoundError as err:
        # A link to a ledger that is gone is not "nothing sent yet": read as empty, it would
        # mail every finished book again.
        broken = gate_files.broken_link(path)
        if broken is not None:
            raise LedgerError(f"{shown}: cannot read the send ledger: {broken}") from err
        return Ledger(path)
    except OSError as err:
        raise LedgerError(f"{shown}: cannot read the send ledger: {err.strerror or err}") from err
    except documents.DocumentDamaged as err:
        raise LedgerError(
            f"{shown}: not a valid send ledger ({documents.ledger_problem(raw, str(err))}); fix it, or delete "
            "it to send every finished book again") from err
    try:
        return Ledger(path, {addr: {_book_name(name): Sent(s.sha256, s.size, s.sent_at, s.complete, s.identifier)
                                    for name, s in books.items()} for addr, books in doc.sent.items()})
    except ValueError as err:  # a stored name that is not one
        raise LedgerError(f"{shown}: not a valid send ledger ({err}); fix it, or delete it to send every "
                          "finished book again") from err


def _book_name(stored: str) -> str:
    """The name of a book *stored* in the ledger (``names.stored_name``): one ``send`` mails, a
    file name (at most 255 bytes: NAME_MAX) ending in ``.epub``; ValueError naming it if not."""
    name = unstored_name(stored)
    if not name.endswith(".epub") or len(os.fsencode(name)) > 255:
        raise ValueError(f"the book name {q(name) or repr(name)} is not one send mails (a file name ending in "
                         ".epub, of at most 255 bytes)")
    return name


def now_text() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def check_lockable(folder: Path) -> None:
    """What :func:`locked` would refuse, said without taking the lock (``--dry-run``)."""
    check_lock_target(Path(folder) / LOCK_NAME, LedgerError)


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold ``DIR/.digest-export-sent.lock`` so that two overlapping runs (a
    slow cron job and the next one) cannot both send the same book."""
    path = Path(folder) / LOCK_NAME
    with held_lock(path, f"{q(path)}: another 'digest-export send' is running on this folder", LedgerError):
        yield
