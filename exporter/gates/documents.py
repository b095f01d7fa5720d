"""The documents gate: every document the program wrote earlier and reads back.

The build state, the catalog's record of each book (kept in the state), the
send ledger, the thumbnail cache's entries, and the metadata of EPUB files
in the output folder (which may be anyone's) are input like any other: a
hand edit, a crash or another program can leave valid JSON of another
shape, a huge file, deep nesting, a date without a time zone, or a title
full of bidi controls.  Each is decoded here, by one typed schema library
(``msgspec``, strict: no coercion between types), into a schema with
bounded sizes and fixed nesting; time stamps must carry a time zone.  A
document that does not fit is :class:`DocumentDamaged`, and the caller
turns that into "damaged: rebuild" (state, cache) or "refused, with a
message" (ledger): never a traceback, never a half-trusted value.

Text that reaches an output (the title, authors, series and language of an
EPUB) is cleaned on the way in (:func:`exporter.model.clean_text`: no
control, bidi or noncharacter) and its language checked by the language-tag
gate; an invalid language is left out.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import msgspec
from msgspec import Meta, Struct

from ..model import Kind, Severity, clean_text, drop_forbidden, has_visible
from . import dates
from .langtags import LanguageTagRefused, check_tag, tag_or_none
from .urls import web_url

T = TypeVar("T")

#: The most bytes read of each kind of document (checked with stat first).
MAX_STATE_BYTES = 512 * 1024 * 1024
MAX_LEDGER_BYTES = 64 * 1024 * 1024
MAX_CACHE_HEADER_BYTES = 64 * 1024

# Bounded values: what a book, a day or a file name can need, with room.
Int64 = Annotated[int, Meta(ge=-(2 ** 63), le=2 ** 63 - 1)]
Count = Annotated[int, Meta(ge=0, le=2 ** 63 - 1)]
Line = Annotated[int, Meta(ge=0, le=2 ** 31)]
Hash = Annotated[str, Meta(pattern=r"^[0-9a-f]{1,128}$")]
Short = Annotated[str, Meta(max_length=4096)]
Text = Annotated[str, Meta(max_length=1_000_000)]
#: Text shown on a terminal (diagnostics, reasons): one line, no control character.
Message = Annotated[str, Meta(pattern=r"^[^\x00-\x1f\x7f-\x9f]+$", max_length=100_000)]
#: A paper key as the reader makes it (``arxiv:2403.00001``, ``title:...``).
Key = Annotated[str, Meta(min_length=1, max_length=4096)]
#: A program version as ``__version__`` spells it (PEP 440 and local labels).
Version = Annotated[str, Meta(pattern=r"^[0-9A-Za-z.+!_-]{1,64}$")]
MediaType = Annotated[str, Meta(pattern=r"^(image|application|text)/[a-z0-9.+-]{1,64}$")]
#: Items of a bounded list: a book's authors, a file's pictures, a day's papers.
MAX_ITEMS = 100_000
#: A plain name inside the output folder: no separator, no dot name, no
#: control character (a state naming "../x" must not make a run remove it).  255 bytes
#: (NAME_MAX) as names.stored_name writes them: 3 characters a byte, after its mark.
FileName = Annotated[str, Meta(pattern=r"^[^./\\\x00-\x1f\x7f][^/\\\x00-\x1f\x7f]*$", max_length=800)]
#: A file under the output folder (``archive/2024-W10.atom``): plain names joined by "/".
RelPath = Annotated[str, Meta(pattern=r"^(?:[^./\\\x00-\x1f\x7f][^/\\\x00-\x1f\x7f]*/){0,4}"
                                     r"[^./\\\x00-\x1f\x7f][^/\\\x00-\x1f\x7f]*$", max_length=1024)]
AwareDateTime = Annotated[dt.datetime, Meta(tz=True)]
CoverType = Literal["image/jpeg", "image/png", "image/gif", "image/webp"]


class DocumentDamaged(ValueError):
    """A document read back that does not fit its schema; the message says where."""


class TooLarge(DocumentDamaged):
    """A file over its size cap, found by ``stat`` (or while reading, if it grew)."""

    def __init__(self, size: int, limit: int):
        super().__init__(f"{size} bytes, more than {limit}")
        self.size = size


def _day_in_range(day: dt.date) -> dt.date:
    # What the reader accepts: a day outside it cannot come from a digest.
    if not 1980 <= day.year <= 2099:
        raise ValueError(f"{day.isoformat()} is not a date from 1980 to 2099")
    return day


# -- the build state ------------------------------------------------------------

class Diag(Struct, array_like=True, forbid_unknown_fields=True):
    """A diagnostic as stored: [path, line, severity, message, kind].  It is printed
    again on a later run: the message is one line without control characters."""

    path: Annotated[str, Meta(min_length=1, max_length=1_000_000)]
    line: Line
    severity: Severity
    message: Message
    kind: Kind


class DayStamp(Struct, array_like=True, forbid_unknown_fields=True):
    """A digest day of an input file: [date, title, paper keys, hash of its lines]."""

    date: dt.date
    title: Text
    keys: Annotated[list[Key], Meta(max_length=10 * MAX_ITEMS)]
    hash: Hash

    def __post_init__(self) -> None:
        _day_in_range(self.date)
        if len(set(self.keys)) != len(self.keys):
            raise ValueError("a paper key twice in one day")
        # As the reader makes it (clean, visible): the books are named after
        # it, so a title the digest does not hold would name other books.
        if not has_visible(self.title) or clean_text(self.title) != self.title:
            raise ValueError("not a digest title as the reader makes it")


class FileStat(Struct, array_like=True, forbid_unknown_fields=True):
    """A file by its stat (:class:`exporter.gates.files.FileStamp`): [size, mtime_ns, ctime_ns,
    ino], as the catalog's cache knows a book and its cover.  An earlier version wrote [size,
    mtime_ns] only: read with ctime_ns and ino -1, such a stamp matches no file, so the upgrade
    costs each output one more build (same bytes: nothing written), not "damaged: rebuild
    everything", and removes nothing."""

    size: Count
    mtime_ns: Int64
    ctime_ns: Int64 = -1
    ino: Annotated[int, Meta(ge=-1)] = -1

    def __post_init__(self) -> None:
        if (self.ctime_ns == -1) != (self.ino == -1):
            raise ValueError("a stamp with its inode-change time but not its inode, or the other way")
        # st_ino is an unsigned 64-bit number (msgspec bounds only what fits in an int64).
        if self.ino >= 2 ** 64:
            raise ValueError("an inode number over 64 bits")


class Stamp(FileStat, array_like=True, forbid_unknown_fields=True):
    """A file as the program left it (:class:`exporter.output.Stamp`): its stat and the digest
    of the bytes written, [size, mtime_ns, ctime_ns, ino, digest].  Without the digest (as the
    previous version wrote it): unknown, and the file's mark decides, as then."""

    #: The digest of the bytes written (:func:`exporter.output.content_digest`), or "".
    digest: Annotated[str, Meta(pattern=r"^(?:[0-9a-f]{32})?$")] = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.digest and self.ino == -1:
            raise ValueError("a stamp with a digest but not its inode")


class FileRec(Struct, forbid_unknown_fields=True):
    size: Count
    mtime_ns: Annotated[int, Meta(ge=-1, le=2 ** 63 - 1)]
    sha: Hash
    digests: list[DayStamp]
    diags: list[Diag]
    #: Local thumbnails the file names (paths as written in it): stamped on the next run.
    local_images: Annotated[list[Annotated[str, Meta(min_length=1, max_length=4096)]], Meta(max_length=MAX_ITEMS)]
    # The inode-change time and inode (git's index compares them too).
    ctime_ns: Annotated[int, Meta(ge=-1, le=2 ** 63 - 1)] = -1
    ino: Annotated[int, Meta(ge=0)] = 0  # up to 2**64 - 1, which msgspec decodes natively


class OutputRec(Struct, forbid_unknown_fields=True):
    #: Fingerprints, or for a page what it was made from (a selection's name, a book's).
    inputs: Short
    settings: Short
    files: dict[RelPath, Stamp]
    #: Thumbnails asked for again on the next run: URLs as the URL gate writes them,
    #: nothing else (a damaged state must not make a run fetch what no digest names).
    retry: Annotated[list[Annotated[str, Meta(max_length=8192)]], Meta(max_length=MAX_ITEMS)] = []
    #: A selection's book: the papers that passed, and a fingerprint of what it shows.
    papers: Count | None = None
    content: Annotated[str, Meta(pattern=r"^(?:[0-9a-f]{1,128})?$")] = ""

    def __post_init__(self) -> None:
        if any(web_url(url) != url for url in self.retry):
            raise ValueError("a retry entry is not a web URL as the URL gate writes it")


class BookMetadata(Struct, forbid_unknown_fields=True):
    """What the catalog shows of a book, cleaned for output whatever its source:
    text through :func:`exporter.model.clean_text` (empty means absent), the
    language through the language-tag gate, the series index a bounded number."""

    title: Text
    identifier: Short | None = None
    creators: Annotated[list[Text], Meta(max_length=1000)] = []
    language: Short | None = None
    description: Text | None = None
    series: Text | None = None
    series_index: Short | None = None

    def __post_init__(self) -> None:
        self.title = clean_text(self.title) if has_visible(self.title) else ""
        self.identifier = canonical_id(_clean(self.identifier))
        self.creators = [c for c in map(_clean, self.creators) if c]
        self.description = _clean(self.description)
        self.series = _clean(self.series)
        self.series_index = series_index(self.series_index)
        self.language = tag_or_none(self.language)


#: A place in a series as calibre (``calibre:series_index``) and EPUB 3
#: (``group-position``) write it: a number, here at most ten digits and six decimals
#: and not negative ("-1e999" or "inf" would show as such in the catalog).
_SERIES_INDEX = re.compile(r"[0-9]{1,10}(?:\.[0-9]{1,6})?")


def series_index(text: str | None) -> str | None:
    """*text* if it is a place in a series (see :data:`_SERIES_INDEX`), else None."""
    if text is None:
        return None
    text = text.strip()
    return text if _SERIES_INDEX.fullmatch(text) else None


#: An IRI's scheme, then characters RFC 3987 (section 2.2) allows: no white space, no
#: controls, none of ``<>"{}|\^``` (the W3C Feed Validator's "not a valid IRI").
_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s\x00-\x1f\x7f-\x9f<>\"{}|\\^`]+")
#: RFC 4122 section 3: ``urn:uuid:`` and the 8-4-4-4-12 hexadecimal form, nothing else.
_URN_UUID = re.compile(r"urn:uuid:(.*)", re.IGNORECASE | re.DOTALL)
_UUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")


#: The schemes a book's identifier may have to be its Atom id as it is: registered with IANA
#: (RFC 7595) and made for names of things (urn: RFC 8141, tag: RFC 4151, info: RFC 4452) or
#: pages (http, https).
ID_SCHEMES = frozenset({"urn", "tag", "info", "http", "https"})


#: RFC 8141 section 2: ``urn:`` NID ``:`` NSS; the NID is 2 to 32 letters, digits and '-'.
_URN = re.compile(r"urn:([A-Za-z0-9][A-Za-z0-9-]{0,30}[A-Za-z0-9]):(.+)", re.IGNORECASE | re.DOTALL)
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
#: A '%' that does not start a percent-escape (RFC 3987 section 2.2, pct-encoded): no IRI has one.
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
#: RFC 8141 section 2 in full: NID (2 to 32 letters, digits, '-', not at its ends), a non-empty
#: NSS of pchar and '/' (RFC 3986; in an IRI also any non-ASCII character, RFC 3987), then the
#: optional r-, q- and f-components.
_NSS_CHAR = r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2}|[^\x00-\x7f])"
_URN_SYNTAX = re.compile(rf"urn:[A-Za-z0-9][A-Za-z0-9-]{{0,30}}[A-Za-z0-9]:{_NSS_CHAR}(?:{_NSS_CHAR}|/)*"
                         r"(?:\?\+[^#]*?)?(?:\?=[^#]*)?(?:#.*)?", re.IGNORECASE | re.DOTALL)


def canonical_id(identifier: str | None) -> str | None:
    """A book's identifier in the one spelling of what it names, so that the catalog's Atom id is
    canonical (the W3C Feed Validator's NonCanonicalURI) and two spellings of one identifier are
    one book: the scheme in lower case (RFC 3986 section 3.1); for a URN the NID in lower case and
    percent-escapes in upper case (RFC 8141 section 3.1: both are case-insensitive), and for
    ``urn:uuid:`` the UUID in lower case (RFC 4122 section 3: "case insensitive on input",
    written in lower case); an http(s) identifier as the URL gate spells it.  Anything else,
    and the case of other URNs' NSS (their namespace's to define), is kept."""
    if not identifier:
        return identifier
    scheme, colon, rest = identifier.partition(":")
    if not colon or scheme.lower() not in ID_SCHEMES:
        return identifier
    identifier = scheme.lower() + ":" + rest
    if scheme.lower() in ("http", "https"):
        return web_url(identifier) or identifier
    urn = _URN.fullmatch(identifier) if scheme.lower() == "urn" else None
    if urn is None:
        return identifier
    nid, nss = urn.group(1).lower(), _PERCENT.sub(lambda m: m.group().upper(), urn.group(2))
    if nid == "uuid" and _UUID.fullmatch(nss):
        nss = nss.lower()
    return f"urn:{nid}:{nss}"


def usable_as_id(identifier: str | None) -> bool:
    """Whether a book's identifier (a foreign book's ``dc:identifier``, cleaned) may be an
    Atom id as it is (RFC 4287 section 4.2.6: an IRI): a valid IRI and, when it is a
    ``urn:uuid:``, a valid UUID (RFC 4122; ``urn:uuid:6`` is the validator's InvalidUUID).
    Any other identifier is given a ``tag:`` id derived from it by the catalog, as is one of a
    scheme not in :data:`ID_SCHEMES` (``javascript:``, ``isbn:``: the W3C feed validator's
    SchemeNotIANARegistered, and no reader could follow or compare it)."""
    if not identifier or _IRI.fullmatch(identifier) is None or _BAD_PERCENT.search(identifier):
        return False
    scheme = identifier.partition(":")[0].lower()
    if scheme not in ID_SCHEMES:
        return False
    if scheme in ("http", "https"):
        return web_url(identifier) == identifier  # the URL rules' one spelling (canonical_id)
    if scheme == "urn" and _URN_SYNTAX.fullmatch(identifier) is None:
        return False
    uuid = _URN_UUID.fullmatch(identifier)
    if uuid is None:
        return True
    if _UUID.fullmatch(uuid.group(1)) is None:
        return False
    import uuid as uuid_module

    try:
        uuid_module.UUID(uuid.group(1))
    except ValueError:
        return False
    return True


def _clean(text: str | None) -> str | None:
    return (clean_text(text) or None) if text is not None and has_visible(text) else None


class CatalogRecord(BookMetadata, forbid_unknown_fields=True):
    """What the catalog read from one book, kept across runs."""

    stamp: FileStat = msgspec.field(default_factory=lambda: FileStat(0, 0))
    modified: AwareDateTime | None = None
    period: tuple[dt.date, dt.date] | None = None
    cover_type: CoverType | None = None
    cover_stamp: FileStat | None = None
    thumb_stamp: FileStat | None = None

    def __post_init__(self) -> None:
        if self.modified is not None:
            try:
                dates.in_utc(self.modified)  # the dates gate's rule for every moment kept
            except dates.DateRefused as err:
                raise ValueError(f"modified {self.modified.isoformat()} {err}") from None
        # Written by this program from a checked book: a value that is not as the
        # checks left it (a title that is empty or needs cleaning, "en_US", an
        # index "-1e999") was not written by it, and the record is damaged.
        written = (self.title, self.identifier, list(self.creators), self.description, self.series,
                   self.series_index, self.language)
        if self.language is not None:
            try:
                check_tag(self.language)
            except LanguageTagRefused as err:
                raise ValueError(f"language {self.language!r}: {err}") from None
        super().__post_init__()
        if not self.title or written != (self.title, self.identifier, self.creators, self.description,
                                         self.series, self.series_index, self.language):
            raise ValueError("not a catalog record as the catalog writes it")
        if self.period is not None:
            if not _day_in_range(self.period[0]) <= _day_in_range(self.period[1]):
                raise ValueError("the period ends before it starts")


class StateHeader(Struct):
    """Read first: whose and which format the state is (other fields unread)."""

    program: str | None = None
    format: int | None = None
    version: str | None = None


class StateDoc(Struct, forbid_unknown_fields=True):
    program: Literal["digest-export"]
    format: Annotated[int, Meta(ge=1, le=1000)]
    version: Version
    files: dict[Annotated[str, Meta(min_length=1, max_length=1_000_000)], FileRec]
    merge_diags: dict[dt.date, list[Diag]]
    books: dict[FileName, OutputRec]
    feeds: OutputRec | None = None
    catalog: OutputRec | None = None
    catalog_books: dict[FileName, CatalogRecord] = {}
    pages: dict[FileName, OutputRec] = {}
    token: Annotated[str, Meta(pattern=r"^[0-9a-f]{0,64}$")] = ""
    #: Files an earlier run wrote, changed since by the user and left alone: still theirs.
    left: Annotated[dict[RelPath, Stamp], Meta(max_length=MAX_ITEMS)] = {}
    #: The seal (:func:`seal`): checked by :func:`check_seal` before this schema is read.
    checksum: Annotated[str, Meta(pattern=r"^sha256:[0-9a-f]{64}$")] = ""

    def __post_init__(self) -> None:
        for day in self.merge_diags:
            _day_in_range(day)


class WrittenDoc(Struct, forbid_unknown_fields=True):
    """What ``feed`` and ``epub`` wrote into an output folder (:func:`exporter.state.load_written`):
    they keep no build state, and the next ``build`` there takes these files as its own (and
    removes those it does not write)."""

    program: Literal["digest-export"]
    format: Literal[1]
    files: Annotated[dict[RelPath, Stamp], Meta(max_length=MAX_ITEMS)]
    #: The seal (:func:`seal`), as the state's.
    checksum: Annotated[str, Meta(pattern=r"^sha256:[0-9a-f]{64}$")] = ""


class IntentDoc(Struct, array_like=True, forbid_unknown_fields=True):
    """One line of the log of the files a run is about to put in place in an output folder
    (:func:`exporter.state.load_intents`): its name, size and digest."""

    name: RelPath
    size: Count
    digest: Annotated[str, Meta(pattern=r"^[0-9a-f]{32}$")]


#: The seal's field, last in the state's object: ``,"checksum":"sha256:HEX"}``.
_SEAL = re.compile(rb',"checksum":"sha256:([0-9a-f]{64})"\}\n?\Z')


def seal(body: bytes) -> bytes:
    """*body* (a JSON object, as the state writer serializes it) with the SHA-256 of its bytes
    added as its last field, ``checksum``.

    The state is a cache the program alone writes.  A hand edit can keep its shape and still
    lie: a file's days emptied (the run would delete books it still builds), a catalog title
    changed (published as is), a user's file listed as written (the run would delete it).  No
    schema can tell such a value from a true one, so the state carries a checksum of its own
    content and any edit, whatever its shape, reads as damage: a full rebuild, equal to a
    fresh build.  A checksum, not a signature: whoever can write the state folder (the user's
    own) can seal what they write, and a key kept there would be theirs to read; the rules that
    guard the user's files (delete only what still carries the mark, write only below the
    output folder) do not rest on it."""
    body = body.rstrip(b"\n")
    if not body.endswith(b"}") or body == b"{}":
        raise ValueError("not a JSON object with fields")
    digest = hashlib.sha256(body).hexdigest()
    return body[:-1] + b',"checksum":"sha256:' + digest.encode() + b'"}\n'


def check_seal(raw: bytes) -> None:
    """:class:`DocumentDamaged` unless *raw* ends with the seal :func:`seal` wrote over the
    bytes before it (any edit, even one that keeps the JSON valid and of the schema)."""
    found = _SEAL.search(raw)
    if found is None:
        raise DocumentDamaged("it has no checksum where the program writes one (edited by hand?)")
    body = raw[:found.start()] + b"}"
    if not hmac.compare_digest(hashlib.sha256(body).hexdigest().encode(), found.group(1)):
        raise DocumentDamaged("its checksum does not match its content (edited since it was written?)")


# -- the send ledger --------------------------------------------------------------

class SentRec(Struct, forbid_unknown_fields=True):
    sha256: Annotated[str, Meta(pattern=r"^[0-9a-f]{64}$")]
    size: Count
    #: As ``send`` writes it (``ledger.now_text``: UTC, whole seconds, ``Z``), read through the
    #: dates gate: a space for the ``T``, ``z``, an offset, a fraction or a leap second are not
    #: what it writes.
    sent_at: Annotated[str, Meta(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")]
    complete: bool
    #: Written since a book is known by it too (ledgers without it read as before).
    identifier: Short | None = None

    def __post_init__(self) -> None:
        try:
            dates.timestamp(self.sent_at)
        except dates.DateRefused as err:
            raise ValueError(f"sent_at {self.sent_at} {err}") from None
        # The book's identifier as the text gate left it when it was read (no control, bidi or
        # noncharacter, not empty): as the catalog's records are checked.
        if self.identifier is not None and self.identifier != _clean(self.identifier):
            raise ValueError(f"identifier {self.identifier!r} is not one the program writes")


AddressKey = Annotated[str, Meta(pattern=r"^sha256:[0-9a-f]{64}$")]


#: A book's name as ``send`` records it: any name a file of the folder can have, as
#: ``names.stored_name`` writes it (controls and undecodable bytes escaped).  Not
#: :data:`FileName`: the ledger names no file to write or remove, and ``send`` mails every
#: ``*.epub`` of the folder, ``.hidden.epub`` and ``a\b.epub`` too (a backslash is a plain
#: character of a POSIX file name), so a name it sends must be one its ledger reads back.
BookName = Annotated[str, Meta(pattern=r"^[^/\x00-\x1f\x7f]+$", max_length=800)]


class LedgerDoc(Struct, forbid_unknown_fields=True):
    program: Literal["digest-export"]
    format: Literal[1]
    sent: dict[AddressKey, dict[BookName, SentRec]]


_KEY_ERROR = re.compile(r"at `key` in `\$\.sent(\[\.\.\.\])?`")
_REGEX_WORDS = re.compile(r"`str` matching regex '.*' - ")


def ledger_problem(raw: bytes, error: str) -> str:
    """A schema error about the send ledger (msgspec's words, a regular expression and ``$.sent[...]``
    for a key) in the user's: which address or book name is not one, quoted, or which book's
    record under which address key holds the wrong value."""
    from .names import shell_quote

    found = _KEY_ERROR.search(error)
    if found is None:
        if "`$.sent[...][...]" in error:
            record = _bad_record(raw)
            if record is not None:
                key, name, problem = record
                return (f"the record of {shell_quote(name) or repr(name)} under {key}: "
                        + _REGEX_WORDS.sub("`str` of the form the program writes - ", problem))
        return _REGEX_WORDS.sub("`str` of the form the program writes - ", error)
    import json

    try:
        sent = json.loads(raw)["sent"]
        if found.group(1) is None:
            bad = next(k for k in sent if not _fits(k, AddressKey))
            return f"the address key {shell_quote(bad)} is not 'sha256:' and 64 lowercase hexadecimal digits"
        bad = next(name for books in sent.values() for name in books if not _fits(name, BookName))
    except (ValueError, TypeError, KeyError, AttributeError, StopIteration, RecursionError):
        return "a key of sent is not an address key or a book name"
    return (f"the book name {shell_quote(bad) or repr(bad)} is not a file name (empty, or with a '/' or a control "
            "character that the program writes escaped)")


def _bad_record(raw: bytes) -> tuple[str, str, str] | None:
    """The first record of the ledger *raw* that is not one: (address key, book name, why)."""
    try:
        sent = msgspec.json.decode(raw)["sent"]
        for key, books in sent.items():
            for name, record in books.items():
                try:
                    msgspec.convert(record, type=SentRec, strict=True)
                except msgspec.ValidationError as err:
                    return str(key)[:80], str(name), str(err)
    except (msgspec.DecodeError, TypeError, KeyError, AttributeError, RecursionError):
        pass
    return None


def _fits(value: object, kind: Any) -> bool:
    try:
        msgspec.convert(value, type=kind, strict=True)
    except msgspec.ValidationError:
        return False
    return True


# -- the thumbnail cache ------------------------------------------------------------

class CacheHeader(Struct, forbid_unknown_fields=True):
    key: Annotated[str, Meta(min_length=1, max_length=1_000_000)]
    size: Annotated[int, Meta(ge=0, le=2 ** 31)]
    sha256: Annotated[str, Meta(pattern=r"^[0-9a-f]{64}$")]
    media_type: MediaType | None = None
    width: Annotated[int, Meta(ge=1, le=2 ** 20)] | None = None
    height: Annotated[int, Meta(ge=1, le=2 ** 20)] | None = None


class FailureEntry(Struct, forbid_unknown_fields=True):
    url: Annotated[str, Meta(min_length=1, max_length=1_000_000)]
    #: Shown in a warning on later runs: one line, no control character.
    reason: Annotated[str, Meta(pattern=r"^[^\x00-\x1f\x7f-\x9f]+$", max_length=4096)]
    until: Annotated[float, Meta(ge=0, le=2 ** 40)]

    def __post_init__(self) -> None:
        # The pattern keeps out what breaks a line; a bidi control (U+202E reorders the rest of the
        # diagnostic on a terminal) or a noncharacter is no reason the program writes either, so
        # the text gate's own definition (``model.drop_forbidden``) decides: any such character
        # is damage, and the thumbnail is fetched again.  msgspec turns the ValueError into a
        # ValidationError naming the field.
        # As put_failure writes it: through the text gate (``model.clean_text``), which also makes
        # a line or paragraph separator (U+2028, U+2029), a line break to a terminal, a space.
        if drop_forbidden(self.reason) != self.reason or clean_text(self.reason) != self.reason:
            raise ValueError("the reason holds a control, bidi control, line separator or noncharacter")


# -- decoding ----------------------------------------------------------------------

#: The top-level keys the program writes, by kind of JSON document (and has written: a state
#: or ledger of an earlier version is still its own, to be rebuilt or read): a JSON Feed, an
#: OPDS 2.0 page and its metadata, the build state, its record of written files and the send
#: ledger.  A document with any other key is someone else's.
# What the program writes in a JSON Feed and an OPDS 2.0 page, as schemas: a document of
# either kind is the program's only when it decodes into them (strict: no key they do not
# name, no value of another type; what an earlier version left out may be missing).  A key of
# the user's anywhere (``"mynotes"`` in an item, ``"_digest_export"`` in an author), a rank of
# ``-1e300`` or an ``itemsPerPage`` of ``"25"`` makes the document another's.
_Unset = msgspec.UnsetType
_UNSET = msgspec.UNSET


class _Author(Struct, forbid_unknown_fields=True):
    name: str


class _Attachment(Struct, forbid_unknown_fields=True):
    url: str
    mime_type: str
    title: str | _Unset = _UNSET


class _ItemMark(Struct, forbid_unknown_fields=True):
    date: str
    rank: Annotated[int, Meta(ge=1)]
    arxiv_id: str | _Unset = _UNSET
    votes: Annotated[int, Meta(ge=0)] | _Unset = _UNSET


class _Item(Struct, forbid_unknown_fields=True):
    id: str
    url: str | _Unset = _UNSET
    title: str | _Unset = _UNSET
    content_html: str | _Unset = _UNSET
    image: str | _Unset = _UNSET
    date_published: str | _Unset = _UNSET
    date_modified: str | _Unset = _UNSET
    authors: list[_Author] | _Unset = _UNSET
    tags: list[str] | _Unset = _UNSET
    language: str | _Unset = _UNSET
    attachments: list[_Attachment] | _Unset = _UNSET
    mark: _ItemMark | _Unset = msgspec.field(default=_UNSET, name="_digest_export")


class _FeedMark(Struct, forbid_unknown_fields=True):
    program: str


class JsonFeedDoc(Struct, forbid_unknown_fields=True):
    """A JSON Feed 1.1 as the program writes it (``feeds/jsonfeed.py``)."""

    version: Literal["https://jsonfeed.org/version/1.1"]
    title: str
    items: list[_Item]
    home_page_url: str | _Unset = _UNSET
    feed_url: str | _Unset = _UNSET
    description: str | _Unset = _UNSET
    icon: str | _Unset = _UNSET
    favicon: str | _Unset = _UNSET
    authors: list[_Author] | _Unset = _UNSET
    language: str | _Unset = _UNSET
    mark: _FeedMark | _Unset = msgspec.field(default=_UNSET, name="_digest_export")


class _Link(Struct, forbid_unknown_fields=True):
    href: str
    type: str
    rel: str | _Unset = _UNSET
    title: str | _Unset = _UNSET
    size: Annotated[int, Meta(ge=0)] | _Unset = _UNSET
    width: Annotated[int, Meta(ge=1)] | _Unset = _UNSET


class _PageMeta(Struct, forbid_unknown_fields=True):
    title: str
    program: str
    modified: str | _Unset = _UNSET
    itemsPerPage: Annotated[int, Meta(ge=1)] | _Unset = _UNSET  # noqa: N815 - OPDS 2.0's name


class _FacetMeta(Struct, forbid_unknown_fields=True):
    title: str


class _Facet(Struct, forbid_unknown_fields=True):
    metadata: _FacetMeta
    links: list[_Link]


class _Series(Struct, forbid_unknown_fields=True):
    name: str
    position: int | float | _Unset = _UNSET


class _BelongsTo(Struct, forbid_unknown_fields=True):
    series: list[_Series]


class _PublicationMeta(Struct, forbid_unknown_fields=True):
    title: str
    kind: str | _Unset = msgspec.field(default=_UNSET, name="@type")
    identifier: str | _Unset = _UNSET
    modified: str | _Unset = _UNSET
    published: str | _Unset = _UNSET
    language: str | _Unset = _UNSET
    author: list[_Author] | _Unset = _UNSET
    description: str | _Unset = _UNSET
    belongsTo: _BelongsTo | _Unset = _UNSET  # noqa: N815 - OPDS 2.0's name


class _Publication(Struct, forbid_unknown_fields=True):
    metadata: _PublicationMeta
    links: list[_Link]
    images: list[_Link] | _Unset = _UNSET


class Opds2Doc(Struct, forbid_unknown_fields=True):
    """An OPDS 2.0 page as the program writes it (``site/opds2.py``)."""

    metadata: _PageMeta
    links: list[_Link]
    facets: list[_Facet] | _Unset = _UNSET
    publications: list[_Publication] | _Unset = _UNSET
    navigation: list[_Link] | _Unset = _UNSET


STATE_KEYS = frozenset({"format", "program", "version", "files", "merge_diags", "books", "feeds", "catalog",
                        "catalog_books", "pages", "token", "left", "checksum", "sent", "local_images", "digests"})


def says_program(raw: bytes, program: str, kinds: frozenset[str] = frozenset({"feed", "opds", "state"})) -> bool:
    """Whether *raw* is one JSON document that *program* writes, by its kind: a JSON Feed (its
    ``version``) marked in its ``_digest_export`` extension object (JSON Feed 1.1
    "Extensions"; or, as an earlier version wrote it, in its first item's); an OPDS 2.0 page
    (its ``metadata``) in its metadata's ``program``; the state, its record of written files
    or the send ledger in their ``program``.  A feed or page must decode into what the program
    writes (:class:`JsonFeedDoc`, :class:`Opds2Doc`), a state have only the top-level keys it
    writes (:data:`STATE_KEYS`).  A feed or page is also UTF-8 with no key twice;
    a state or ledger that is damaged so is still the program's, to be rebuilt or refused with
    a message.  A mark in a string, in another place, or in a second document is none.
    *kinds*: the kinds the file's name allows (``feed.json`` is a feed)."""
    try:
        # Its top-level keys, each value left as its bytes: decoding every value (a feed padded
        # with millions of small items) took ten times the file's size in memory, twice.
        doc = msgspec.json.decode(raw, type=dict[str, msgspec.Raw])
        version = msgspec.json.decode(doc["version"]) if "version" in doc else None
        named = msgspec.json.decode(doc["program"]) if "program" in doc else None
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
        return False
    if isinstance(version, str) and version.startswith("https://jsonfeed.org/version/"):
        feed = _as(raw, JsonFeedDoc) if "feed" in kinds else None
        says = feed is not None and (
            feed.mark is not _UNSET and feed.mark.program == program
            or feed.mark is _UNSET and bool(feed.items) and feed.items[0].mark is not _UNSET)
    elif "metadata" in doc:
        page = _as(raw, Opds2Doc) if "opds" in kinds else None
        # Publications or navigation, never both (the program writes navigation on a page of no book).
        says = (page is not None and page.metadata.program == program
                and (page.publications is _UNSET) != (page.navigation is _UNSET))
    else:
        return "state" in kinds and set(doc) <= STATE_KEYS and named == program
    if not says:
        return False
    try:  # a key twice, or bytes that are not UTF-8: not a document the program writes
        _refuse_duplicate_keys(raw)
    except DocumentDamaged:
        return False
    return True


def top_level_keys(raw: bytes) -> set[str]:
    """The keys of the JSON object *raw*, its values left unread (none when it is not one)."""
    try:
        return set(msgspec.json.decode(raw, type=dict[str, msgspec.Raw]))
    except (msgspec.ValidationError, msgspec.DecodeError):
        return set()


def _as(raw: bytes, schema: type[T]) -> T | None:
    """*raw* decoded strictly into *schema*, or None where it does not fit."""
    try:
        return msgspec.json.decode(raw, type=schema)
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
        return None


def _readable(said: str) -> str:
    """msgspec's words for a value that does not fit, for a person: a pattern's regular
    expression said as what it stands for, and a long value quoted in part (a 60 MB string in a
    damaged ledger made a 60 MB message)."""
    import re

    said = re.sub(r"matching regex '.*?' - at ", "of the form the program writes - at ", said, count=1)
    said = re.sub(r"'([^']{60})[^']+'", lambda m: f"'{m.group(1)}...'", said)
    return said if len(said) <= 400 else said[:400] + "..."


def decode(raw: bytes, schema: type[T], *, limit: int) -> T:
    """*raw* (JSON) as *schema*; :class:`DocumentDamaged` saying where it does not fit."""
    if len(raw) > limit:
        raise DocumentDamaged(f"larger than {limit} bytes")
    try:
        doc = msgspec.json.decode(raw, type=schema, strict=True)
    except msgspec.ValidationError as err:
        raise DocumentDamaged(_readable(str(err))) from None
    except msgspec.DecodeError as err:
        raise DocumentDamaged(f"not JSON ({err})") from None
    except RecursionError:
        raise DocumentDamaged("nested too deeply") from None
    _refuse_duplicate_keys(raw)
    return doc


class _DuplicateKey(ValueError):
    pass


def _unique_pairs(pairs: list[tuple[str, object]]) -> dict:
    seen: dict = {}
    for key, value in pairs:
        if key in seen:
            shown = key if len(key) <= 60 else key[:57] + "..."
            raise _DuplicateKey(f"the key {shown!a} appears twice in one object")
        seen[key] = value
    return seen


def _refuse_duplicate_keys(raw: bytes) -> None:
    """:class:`DocumentDamaged` if an object of *raw* holds a key twice, at any level.

    RFC 8259 section 4 leaves the meaning of such an object to each parser, and
    msgspec (like most) keeps the last value without a word: a hand edit that
    appends ``"sent": {}`` to the send ledger would erase its record and mail
    every book again.  So a second pass with the standard parser, whose
    ``object_pairs_hook`` sees every pair, refuses it.  It runs after msgspec
    has checked the shape, so its nesting and size are the schema's."""
    import json

    try:
        json.loads(raw, object_pairs_hook=_unique_pairs)
    except _DuplicateKey as err:
        raise DocumentDamaged(str(err)) from None
    except (ValueError, RecursionError) as err:  # msgspec read it; the standard parser should too
        raise DocumentDamaged(f"not JSON ({type(err).__name__})") from None


def read(path: Path, *, limit: int) -> bytes:
    """The bytes of the file at *path*, through the file gate (a regular file, checked with stat
    on the open file first, never blocking: a FIFO cannot hang the run) of at most *limit*
    bytes.  OSError, :class:`TooLarge`, DocumentDamaged."""
    from . import files as gate_files

    try:
        return gate_files.read_bytes(path, limit)
    except gate_files.NotRegularFile:
        raise DocumentDamaged("not a regular file") from None
    except gate_files.FileTooLarge:
        raise TooLarge(os.stat(path).st_size, limit) from None


def to_builtins(doc: Struct) -> dict:
    """*doc* as plain JSON values again (dates as ISO text, arrays as lists), for
    code that keeps dicts; *doc* was checked, so its nesting is the schema's."""
    return msgspec.json.decode(msgspec.json.encode(doc))


def catalog_record_as_read(record: dict) -> dict | None:
    """*record* (a catalog record as the catalog made it) as the state gives it back after a
    round trip through :class:`CatalogRecord` (its field order, dates as msgspec writes them), or
    None if it would not read back: a state saved with the other spelling would be rewritten by
    the next run that changes nothing."""
    try:
        checked = msgspec.convert(record, type=CatalogRecord, strict=False)
    except (msgspec.ValidationError, ValueError):
        return None
    return to_builtins(checked)


def book_metadata(**fields: object) -> BookMetadata:
    """The metadata of an EPUB the program may not have written, cleaned and
    bounded (:class:`DocumentDamaged` if a field is not of its type)."""
    try:
        return msgspec.convert(fields, type=BookMetadata, strict=True)
    except msgspec.ValidationError as err:
        raise DocumentDamaged(metadata_problem(str(err), fields)) from None


#: The metadata fields in the words of the catalog's messages.
_FIELD_WORDS = {"title": "title", "identifier": "identifier", "creators": "authors", "language": "language",
                "description": "description", "series": "series", "series_index": "series index"}
_SCHEMA_ERROR = re.compile(r"Expected `(\w+)` of length ([<>]=) ([0-9]+) - at `\$\.(\w+)(\[[0-9]+\])?`")


def metadata_problem(error: str, fields: dict[str, object]) -> str:
    """A schema error about a book's metadata (msgspec's words: "Expected `array` of length
    <= 1000 - at `$.creators`") in the user's: "it has 1001 authors, more than 1000"."""
    m = _SCHEMA_ERROR.fullmatch(error)
    if m is None:
        field = re.search(r"at `\$\.(\w+)", error)
        what = _FIELD_WORDS.get(field.group(1), field.group(1)) if field else "metadata"
        return f"its {what} is not text as the package document should give it"
    kind, sign, bound, name, item = m.groups()
    what = _FIELD_WORDS.get(name, name)
    if kind == "array" and sign == "<=":
        value = fields.get(name)
        count = len(value) if isinstance(value, (list, tuple)) else "too many"
        return f"it has {count} {what}, more than {bound}"
    if sign == "<=":
        return f"{'an entry of ' if item else ''}its {what} is longer than {bound} characters"
    return f"its {what} is shorter than {bound} characters"


def indented_json(value: Any, indent: int) -> bytes:
    """*value* as UTF-8 JSON, one member per line: the bytes of ``json.dumps(value,
    ensure_ascii=False, indent=indent)``, from msgspec's encoder (json's only encoder with an
    indent is pure Python: a third of a catalog page's time).  Here, beside the decoding of the
    documents the program reads back, as the one module that uses msgspec."""
    return msgspec.json.format(msgspec.json.encode(value), indent=indent)
