"""The EPUB container gate: is a file a readable EPUB, as OCF 3.3 defines one?

A file named ``*.epub`` may be anything: a truncated download, a zip with
something else in front (a self-extracting stub), a book another program
wrote.  Python's :mod:`zipfile` reads many of these without a word (it finds
the central directory from the end and skips what comes before), while an
e-reader or Send to Kindle refuses them.  :func:`check_epub` applies, on the
bytes, what EPUBCheck checks of the container (OCF 3.3, section 4 "OCF ZIP
container" and section 3 "OCF abstract container"):

- the first local header at offset 0 is the ``mimetype`` file, stored (not
  compressed), with no extra field, holding exactly ``application/epub+zip``
  (section 4.3; EPUBCheck PKG-004/PKG-005/PKG-006/PKG-007);
- no two members with one name, also after Unicode NFC normalization and
  case folding (section 3.3; EPUBCheck OPF-060/OPF-061);
- ``META-INF/container.xml`` is well-formed XML (read with entities and
  DTDs off, no network), names a package document with ``rootfile
  full-path``, and that member exists and is a well-formed ``<package>``
  in the OPF namespace (section 3.5.2.1; EPUBCheck RSC-002/OPF-002/RSC-005), with no
  ``id`` on two of its elements (EPUBCheck RSC-005 "Duplicate ID");
- every member inflates to its CRC (a truncated or damaged zip), within
  bounded sizes (a zip bomb under the size limit costs bounded time).

Raises :class:`NotAnEpub` whose message says what is wrong, for the user.
"""

from __future__ import annotations

import contextlib
import io
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from typing import Any, NamedTuple

from .names import folded_name, shell_quote
from .urls import member_of_href

MIMETYPE = b"application/epub+zip"
CONTAINER = "META-INF/container.xml"
OPF_NS = "http://www.idpf.org/2007/opf"
CONTAINER_NS = "urn:oasis:names:tc:opendocument:xmlns:container"
PACKAGE_TYPE = "application/oebps-package+xml"

#: The most bytes all members together may inflate to.
MAX_INFLATED = 2 * 1024 ** 3
#: The most a member of more than :data:`RATIO_FROM` bytes may inflate to, times its compressed
#: size.  Deflate reaches about 1,030 to 1 on a run of one byte (RFC 1951's longest match, 258
#: bytes, in a code of a few bits); a book's text inflates 3 to 10 times, its pictures are
#: stored.  A member of zeros 1,000 times its size cost 14 s to check before sending, for a
#: 2 MB file (a folder of such books: minutes).
MAX_RATIO = 100
RATIO_FROM = 16 * 1024 * 1024
MAX_CONTAINER_BYTES = 64 * 1024
MAX_OPF_BYTES = 4 * 1024 * 1024
_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")  # APPNOTE.TXT section 4.3.7


class NotAnEpub(ValueError):
    """The bytes are not a readable EPUB container; the message says why."""


def check_epub(data: bytes) -> None:
    """:class:`NotAnEpub` unless *data* is an EPUB container as OCF 3.3 defines it."""
    with open_epub(data):
        pass


@contextlib.contextmanager
def open_epub(data: bytes, *, zipped_here: bool = False) -> Iterator[tuple[zipfile.ZipFile, str, Any]]:
    """*data* opened as an EPUB once :func:`check_epub`'s checks pass: the zip, the name of its
    package document (the default rendition) and that document parsed.  Every reader of an
    EPUB that may be anyone's (``send``, the catalog) goes through here, so all agree on what
    a book is: one with two package documents of one name is refused, never read.
    *zipped_here*: the bytes were zipped by this process a moment ago (a book just built), so
    their members are not inflated again to check their CRCs.  :class:`NotAnEpub`."""
    _check_mimetype_header(data)
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError,
            ValueError, OSError, KeyError) as err:
        raise NotAnEpub(f"not a readable EPUB (a damaged or truncated zip: {type(err).__name__})") from None
    with z:
        package = _checked(z, members=not zipped_here)
        yield z, package[0], package[1]


class Package(NamedTuple):
    """An EPUB's package document as :func:`package_of` reads it."""

    root: Any  # parsed
    raw: bytes
    name: str
    renditions: int  # how many package documents the container names
    unlisted: tuple[str, ...]  # members that are neither the OCF files, the package nor in its manifest
    trailing: bool  # bytes after the zip's end of central directory (or a zip comment)
    loose: bool  # bytes no entry holds (between entries), or an entry's comment or extra field


def package_of(fh: Any) -> Package:
    """The package document that the container of the EPUB open as *fh* (seekable) names first
    (the one readers open), once :func:`check_epub`'s checks pass, with what a reader of the
    container sees around it: :class:`NotAnEpub`.  Read from the file, not held whole."""
    from urllib.parse import unquote

    try:
        head = fh.read(_LOCAL_HEADER.size + 64)
        fh.seek(-22, io.SEEK_END)
        end = fh.read(22)  # APPNOTE.TXT 4.3.16: the end of central directory record, 22 bytes then its comment
        fh.seek(0)
        _check_mimetype_header(head)
        with zipfile.ZipFile(fh) as z:
            name, package, renditions = _checked(z)
            base = name.rpartition("/")[0]
            listed = {posixpath.normpath(posixpath.join(base, unquote(item.get("href") or "")))
                      for item in package.iter(f"{{{OPF_NS}}}item")}
            unlisted = tuple(n for n in z.namelist() if n not in listed and n not in ("mimetype", CONTAINER, name))
            return Package(package, read_member(z, name, MAX_OPF_BYTES), name, renditions, unlisted,
                           end[:4] != b"PK\x05\x06" or end[20:22] != b"\x00\x00", _loose_bytes(fh, z))
    except NotAnEpub:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError,
            ValueError, OSError, KeyError) as err:
        raise NotAnEpub(f"not a readable EPUB (a damaged or truncated zip: {type(err).__name__})") from None


def _loose_bytes(fh: Any, z: zipfile.ZipFile) -> bool:
    """Whether the zip holds bytes that no entry does: each entry's local header, name, extra
    field and data must run on into the next entry's header and the last into the central
    directory (APPNOTE.TXT 4.3.6), with no extra field or comment on any entry and no data
    descriptor, and each deflated entry's stream must end at the entry's end; what lies
    between them or after a stream is read by no reader and shown by no tool but a hex
    viewer."""
    at = 0
    for info in sorted(z.infolist(), key=lambda i: i.header_offset):
        if (info.header_offset != at or info.extra or info.comment or info.flag_bits & 0x8
                or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)):
            return True  # (OCF 3.3 section 4.2: an EPUB's entries are stored or deflated)
        fh.seek(at)
        header = fh.read(_LOCAL_HEADER.size)
        if len(header) != _LOCAL_HEADER.size:
            return True
        name_len, extra_len = _LOCAL_HEADER.unpack(header)[-2:]
        if extra_len:
            return True
        at += _LOCAL_HEADER.size + name_len
        if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
            return True  # a stored entry's data is its bytes: more are read by no reader
        if info.compress_type == zipfile.ZIP_DEFLATED and not _deflate_ends_at_its_end(
                fh, at, info.compress_size, info.file_size):
            return True
        at += info.compress_size
    return at != getattr(z, "start_dir", at)


def _deflate_ends_at_its_end(fh: Any, at: int, size: int, inflated: int) -> bool:
    """Whether the entry's deflate stream (RFC 1951) at *at*, *size* bytes, ends with its last
    byte and inflates to exactly *inflated* bytes (its uncompressed size): a reader stops at
    the stream's end, or at that size, and what follows is read by none."""
    def pieces() -> Iterator[bytes]:
        fh.seek(at)
        left = size
        while left:
            chunk = fh.read(min(left, 1 << 16))
            if not chunk:
                raise zlib.error("cut short")  # the entry's bytes are not all there
            left -= len(chunk)
            yield chunk

    return inflated_size(pieces(), -15, inflated) == inflated


def inflated_size(pieces: Any, wbits: int, most: int) -> int:
    """How many bytes the zlib or deflate stream (*wbits* as :func:`zlib.decompressobj` takes it)
    held in *pieces* inflates to, thrown away in bounded pieces; -1 when it is damaged, inflates
    to more than *most*, or does not end exactly where the pieces do (bytes after its end are
    read by no decoder)."""
    inflate, out = zlib.decompressobj(wbits), 0
    try:
        for piece in pieces:
            if inflate.eof:
                return -1
            data = piece
            while data:
                out += len(inflate.decompress(data, 1 << 20))
                if out > most or inflate.unused_data:
                    return -1
                data = inflate.unconsumed_tail
    except zlib.error:
        return -1
    return out if inflate.eof else -1


def _checked(z: zipfile.ZipFile, members: bool = True) -> tuple[str, Any, int]:
    """check_epub's checks on the open zip; the package document's name and root, and how many
    renditions the container names."""
    try:
        infos = z.infolist()
        if not infos or infos[0].header_offset != 0 or infos[0].filename != "mimetype":
            raise NotAnEpub("not an EPUB (the zip's first member is not 'mimetype')")
        _check_names(infos)
        if z.read(infos[0]) != MIMETYPE:
            raise NotAnEpub("not an EPUB (its 'mimetype' is not application/epub+zip)")
        if sum(i.file_size for i in infos) > MAX_INFLATED:
            raise NotAnEpub("its members inflate to more than 2 GiB")
        for info in infos:
            packed = max(info.compress_size, 1)
            if info.file_size > RATIO_FROM and info.file_size > MAX_RATIO * packed:
                raise NotAnEpub(f"{shell_quote(info.filename)} inflates to {info.file_size // packed:,} times its "
                                f"size (more than {MAX_RATIO}: no book's text does; a zip bomb?)")
        bad = z.testzip() if members else None
        if bad is not None:
            raise NotAnEpub(f"damaged: {shell_quote(bad)} does not match its checksum")
        return _check_package(z)
    except NotAnEpub:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError,
            ValueError, OSError, KeyError) as err:
        raise NotAnEpub(f"not a readable EPUB (a damaged or truncated zip: {type(err).__name__})") from None


def _check_mimetype_header(data: bytes) -> None:
    """The local header at offset 0, read from the bytes themselves: :mod:`zipfile` would accept
    a stub in front, or a first entry that the central directory lists elsewhere."""
    if len(data) < _LOCAL_HEADER.size or data[:4] != b"PK\x03\x04":
        raise NotAnEpub("not an EPUB (it does not start with a zip entry: OCF needs 'mimetype' "
                        "at offset 0, with nothing before it)")
    (_, _, flags, method, _, _, _, csize, usize, name_len, extra_len) = _LOCAL_HEADER.unpack_from(data)
    name = data[_LOCAL_HEADER.size:_LOCAL_HEADER.size + name_len]
    if name != b"mimetype":
        raise NotAnEpub("not an EPUB (its first zip entry is not 'mimetype')")
    if method != zipfile.ZIP_STORED or flags & 0x1:
        raise NotAnEpub("not an EPUB (its 'mimetype' is compressed or encrypted; it must be stored)")
    if extra_len:
        raise NotAnEpub("not an EPUB (its 'mimetype' entry has a zip extra field, which OCF forbids)")
    start = _LOCAL_HEADER.size + name_len
    if not flags & 0x8 and (csize, usize) != (len(MIMETYPE), len(MIMETYPE)) \
            or data[start:start + len(MIMETYPE)] != MIMETYPE:
        raise NotAnEpub("not an EPUB (its 'mimetype' is not exactly application/epub+zip)")


#: What a file name in the container may not hold (OCF 3.3 section 3.3, "File names"; EPUBCheck
#: PKG-009): characters that file systems and reading systems do not all take (`img\c.png` is one
#: name on Linux, a folder and a name on Windows), controls, private-use and tag characters,
#: noncharacters of U+FDD0-U+FDEF and the Specials block.
_NOT_IN_FILE_NAME = re.compile("[\x00-\x1f\"*:<>?\\\\|\x7f-\x9f\ue000-\uf8ff\ufdd0-\ufdef\ufff0-\uffff"
                               "\U000e0000-\U000e0fff\U000f0000-\U0010ffff]")


def _check_names(infos: list[zipfile.ZipInfo]) -> None:
    """No member whose name OCF does not allow (:data:`_NOT_IN_FILE_NAME`, a name ending in '.'),
    and no two whose names are one name after Unicode canonical normalization and full case
    folding (OCF 3.3 section 3.3, "File paths": unique after NFC and case folding; EPUBCheck
    OPF-060): on a case-insensitive file system, or to a reading system, they are one file."""
    seen: set[str] = set()
    for info in infos:
        bad = next((part for part in info.filename.split("/") if part and (
            _NOT_IN_FILE_NAME.search(part) or part.endswith("."))), None)
        if bad is not None:
            raise NotAnEpub(f"not a valid EPUB (the zip entry {shell_quote(info.filename)} has a name OCF does not "
                            "allow: a control, private-use or tag character, one of \" * : < > ? \\ |, or a "
                            "final '.')")
        key = folded_name(info.filename)
        if key in seen:
            raise NotAnEpub(f"not a valid EPUB (two zip entries named {shell_quote(info.filename)})")
        seen.add(key)


def read_member(z: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """The member *name* of at most *limit* bytes whatever its header claims (a zip bomb is
    not inflated into memory); :class:`NotAnEpub` if larger, KeyError if missing."""
    info = z.getinfo(name)
    if info.file_size > limit:
        raise NotAnEpub(f"not a valid EPUB ({shell_quote(name)} is {info.file_size} bytes, more than {limit})")
    with z.open(info) as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise NotAnEpub(f"not a valid EPUB ({shell_quote(name)} is more than {limit} bytes)")
    return data


def _xml(data: bytes, name: str):
    from lxml import etree

    # No entity expansion, no DTD, no network: the bytes are anyone's.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
        dtd = root.getroottree().docinfo.internalDTD
        if dtd is not None and any(True for _ in dtd.iterentities()):
            # An entity's reference is left unexpanded, and its name was read as the text (a
            # title "xxe"): EPUB 3.3 forbids external entities (its XML conformance rules), and the program's
            # books declare none, so a package or container declaring one is refused.
            raise NotAnEpub(f"not a valid EPUB ({shell_quote(name)} declares entities in a DOCTYPE)")
        return root
    except etree.XMLSyntaxError as err:
        if "depth" in str(err).lower():  # libxml2's bound without XML_PARSE_HUGE: 256 levels
            raise NotAnEpub(f"not read ({shell_quote(name)} nests elements deeper than 256 levels, at line "
                            f"{err.lineno})") from None
        raise NotAnEpub(f"not a valid EPUB ({shell_quote(name)} is not well-formed XML: line {err.lineno})") from None


def _check_package(z: zipfile.ZipFile) -> tuple[str, Any, int]:
    """container.xml parses and names a package document that exists and parses: its name and
    root, and the number of renditions (package documents) the container names."""
    if CONTAINER not in z.NameToInfo:
        raise NotAnEpub(f"not an EPUB (no {CONTAINER})")
    container = _xml(read_member(z, CONTAINER, MAX_CONTAINER_BYTES), CONTAINER)
    if container.tag != f"{{{CONTAINER_NS}}}container":
        raise NotAnEpub(f"not a valid EPUB ({CONTAINER} is not an OCF container document)")
    rootfiles = [r for r in container.iterfind(f"{{{CONTAINER_NS}}}rootfiles/{{{CONTAINER_NS}}}rootfile")
                 if r.get("media-type") == PACKAGE_TYPE and r.get("full-path")]
    if not rootfiles:
        raise NotAnEpub(f"not a valid EPUB ({CONTAINER} names no package document)")
    # The first rootfile is the default rendition (OCF 3.3 section 3.5.2.1): readers open it.
    full_path = rootfiles[0].get("full-path")
    # full-path is a path-relative URL string from the container's root (OCF 3.3 section
    # 3.5.2.1): "my%20book.opf" names "my book.opf"; "/content.opf", "../content.opf" and
    # "OEBPS/../../content.opf" name no file of the container (EPUBCheck RSC-026), even when a
    # member is stored under that very name: a reading system refuses the book.
    resolved, why = member_of_href("", full_path)
    if resolved is None:
        raise NotAnEpub(f"not a valid EPUB (its package document {shell_quote(full_path)} {why})")
    name = full_path if full_path in z.NameToInfo and full_path == posixpath.normpath(full_path) \
        else resolved
    if name not in z.NameToInfo:
        raise NotAnEpub(f"not a valid EPUB (its package document {shell_quote(full_path)} is missing)")
    package = _xml(read_member(z, name, MAX_OPF_BYTES), name)
    if package.tag != f"{{{OPF_NS}}}package":
        raise NotAnEpub(f"not a valid EPUB ({shell_quote(name)} is not an OPF package document)")
    _check_unique_ids(package, name)
    return name, package, len(rootfiles)


def _check_unique_ids(package: Any, name: str) -> None:
    """An ``id`` is unique in the package document (XML 1.0 section 3.3.1, Validity constraint:
    ID; EPUBCheck RSC-005 "Duplicate ID"): with two, which ``dc:identifier`` is the book's
    (``unique-identifier``) or which manifest item the cover is, depends on the reader."""
    seen: set[str] = set()
    for element in package.iter():
        value = element.get("id") if isinstance(element.tag, str) else None
        if value is None:
            continue
        if value in seen:
            raise NotAnEpub(f"not a valid EPUB (the id {shell_quote(value)} is on two elements of "
                            f"{shell_quote(name)})")
        seen.add(value)
