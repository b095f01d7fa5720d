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
import os
from pathlib import Path
from typing import Annotated, Literal, TypeVar

import msgspec
from msgspec import Meta, Struct

from ..model import Kind, Severity, clean_text, has_visible
from .langtags import tag_or_none

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
#: A plain name inside the output folder: no separator, no dot name, no
#: control character (a state naming "../x" must not make a run remove it).
FileName = Annotated[str, Meta(pattern=r"^[^./\\\x00-\x1f\x7f][^/\\\x00-\x1f\x7f]*$", max_length=255)]
#: A file under the output folder (``archive/2024-W10.atom``): plain names joined by "/".
RelPath = Annotated[str, Meta(pattern=r"^(?:[^./\\\x00-\x1f\x7f][^/\\\x00-\x1f\x7f]*/){0,4}"
                                     r"[^./\\\x00-\x1f\x7f][^/\\\x00-\x1f\x7f]*$", max_length=1024)]
Stamp = tuple[Count, Int64]  # (size, mtime_ns)
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
    """A diagnostic as stored: [path, line, severity, message, kind]."""

    path: Text
    line: Line
    severity: Severity
    message: Text
    kind: Kind


class DayStamp(Struct, array_like=True, forbid_unknown_fields=True):
    """A digest day of an input file: [date, title, paper keys, hash of its lines]."""

    date: dt.date
    title: Text
    keys: list[Text]
    hash: Hash

    def __post_init__(self) -> None:
        _day_in_range(self.date)
        # As the reader makes it (clean, visible): the books are named after
        # it, so a title the digest does not hold would name other books.
        if not has_visible(self.title) or clean_text(self.title) != self.title:
            raise ValueError("not a digest title as the reader makes it")


class FileRec(Struct, forbid_unknown_fields=True):
    size: Count
    mtime_ns: Annotated[int, Meta(ge=-1, le=2 ** 63 - 1)]
    sha: Hash
    digests: list[DayStamp]
    diags: list[Diag]
    local_images: list[Text]
    # The inode-change time and inode (git's index compares them too).
    ctime_ns: Annotated[int, Meta(ge=-1, le=2 ** 63 - 1)] = -1
    ino: Annotated[int, Meta(ge=0)] = 0  # up to 2**64 - 1, which msgspec decodes natively


class OutputRec(Struct, forbid_unknown_fields=True):
    inputs: Short
    settings: Short
    files: dict[RelPath, Stamp]
    retry: list[Text] = []
    #: A selection's book: the papers that passed, and a fingerprint of what it shows.
    papers: Count | None = None
    content: Short = ""


class BookMetadata(Struct, forbid_unknown_fields=True):
    """What the catalog shows of a book, cleaned for output whatever its source."""

    title: Text
    identifier: Text | None = None
    creators: list[Text] = []
    language: Short | None = None
    description: Text | None = None
    series: Text | None = None
    series_index: Short | None = None

    def __post_init__(self) -> None:
        self.title = clean_text(self.title)
        self.identifier = _clean(self.identifier)
        self.creators = [c for c in map(clean_text, self.creators) if c]
        self.description = _clean(self.description)
        self.series = _clean(self.series)
        self.series_index = _clean(self.series_index)
        self.language = tag_or_none(self.language)


def _clean(text: str | None) -> str | None:
    return (clean_text(text) or None) if text is not None else None


class CatalogRecord(BookMetadata, forbid_unknown_fields=True):
    """What the catalog read from one book, kept across runs."""

    stamp: Stamp = (0, 0)
    modified: AwareDateTime | None = None
    period: tuple[dt.date, dt.date] | None = None
    cover_type: CoverType | None = None
    cover_stamp: Stamp | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
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
    format: int
    version: Short
    files: dict[Text, FileRec]
    merge_diags: dict[dt.date, list[Diag]]
    books: dict[FileName, OutputRec]
    feeds: OutputRec | None = None
    catalog: OutputRec | None = None
    catalog_books: dict[FileName, CatalogRecord] = {}
    pages: dict[FileName, OutputRec] = {}
    token: Annotated[str, Meta(pattern=r"^[0-9a-f]{0,64}$")] = ""


# -- the send ledger --------------------------------------------------------------

class SentRec(Struct, forbid_unknown_fields=True):
    sha256: Annotated[str, Meta(pattern=r"^[0-9a-f]{64}$")]
    size: Count
    sent_at: AwareDateTime
    complete: bool


AddressKey = Annotated[str, Meta(pattern=r"^sha256:[0-9a-f]{64}$")]


class LedgerDoc(Struct, forbid_unknown_fields=True):
    program: Literal["digest-export"]
    format: Literal[1]
    sent: dict[AddressKey, dict[FileName, SentRec]]


# -- the thumbnail cache ------------------------------------------------------------

class CacheHeader(Struct, forbid_unknown_fields=True):
    key: Text
    size: Annotated[int, Meta(ge=0, le=2 ** 31)]
    sha256: Annotated[str, Meta(pattern=r"^[0-9a-f]{64}$")]
    media_type: Short | None = None
    width: Annotated[int, Meta(ge=1, le=2 ** 20)] | None = None
    height: Annotated[int, Meta(ge=1, le=2 ** 20)] | None = None


class FailureEntry(Struct, forbid_unknown_fields=True):
    url: Text
    reason: Short
    until: Annotated[float, Meta(ge=0, le=2 ** 40)]


# -- decoding ----------------------------------------------------------------------

def decode(raw: bytes, schema: type[T], *, limit: int) -> T:
    """*raw* (JSON) as *schema*; :class:`DocumentDamaged` saying where it does not fit."""
    if len(raw) > limit:
        raise DocumentDamaged(f"larger than {limit} bytes")
    try:
        return msgspec.json.decode(raw, type=schema, strict=True)
    except msgspec.ValidationError as err:
        raise DocumentDamaged(str(err)) from None
    except msgspec.DecodeError as err:
        raise DocumentDamaged(f"not JSON ({err})") from None
    except RecursionError:
        raise DocumentDamaged("nested too deeply") from None


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


def book_metadata(**fields: object) -> BookMetadata:
    """The metadata of an EPUB the program may not have written, cleaned and
    bounded (:class:`DocumentDamaged` if a field is not of its type)."""
    try:
        return msgspec.convert(fields, type=BookMetadata, strict=True)
    except msgspec.ValidationError as err:
        raise DocumentDamaged(str(err)) from None
