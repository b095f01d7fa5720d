"""EPUB bundles in the output folder -> an OPDS 1.2 acquisition catalog.

OPDS 1.2 (https://specs.opds.io/opds-1.2) is Atom with acquisition links.
Each ``*.epub`` in the folder becomes one entry: title, identifier,
modification date, creators and period (``dc:coverage``, an ISO 8601
interval, else ``dc:date``) from its OPF package document, the series (``calibre:series`` or EPUB 3
``belongs-to-collection``), the file size, the cover (written beside the
book as ``<name>.cover.<ext>``, since a link cannot point inside a zip) and
an acquisition link of type ``application/epub+zip``.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..gates.documents import book_metadata
from ..gates.urls import path_segment
from ..model import Diagnostic, Kind, Severity, SourceRef
from .entries import UTC, FeedInfo, Link, feed_text, hex_refs_in_text, tag_uri

OPF_NS = "http://www.idpf.org/2007/opf"
DC_NS = "http://purl.org/dc/elements/1.1/"
CONTAINER_NS = "urn:oasis:names:tc:opendocument:xmlns:container"
EPUB_TYPE = "application/epub+zip"
CATALOG_TYPE = "application/atom+xml;profile=opds-catalog;kind=acquisition"
ACQUISITION = "http://opds-spec.org/acquisition"
IMAGE = "http://opds-spec.org/image"
THUMBNAIL = "http://opds-spec.org/image/thumbnail"
_COVER_EXT = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/webp": ".webp"}


@dataclass(frozen=True, slots=True)
class Book:
    """What the catalog says about one EPUB file."""

    path: Path
    title: str
    identifier: str | None
    modified: dt.datetime | None
    creators: tuple[str, ...]
    language: str | None
    description: str | None
    series: str | None
    series_index: str | None
    size: int
    period: tuple[dt.date, dt.date] | None
    cover: tuple[bytes, str] | None  # (bytes, media type)


@dataclass(slots=True)
class Catalog:
    data: bytes
    books: list[Book] = field(default_factory=list)
    covers: list[tuple[str, bytes]] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)


def _period(coverage: list[str], dates: list[str]) -> tuple[dt.date, dt.date] | None:
    """The book's period from its metadata: ``dc:coverage`` ``first/last``,
    else the day of ``dc:date``; None for dates outside 1980..2099 (what the
    reader accepts) or a period that ends before it starts."""
    for text in coverage[:1] or dates[:1]:
        first, _, last = text.partition("/")
        try:
            period = dt.date.fromisoformat(first.strip()[:10]), dt.date.fromisoformat((last or first).strip()[:10])
        except ValueError:
            return None
        if period[0] <= period[1] and all(1980 <= d.year <= 2099 for d in period):
            return period
    return None


# A foreign EPUB in the output folder is read with limits: a zip bomb's
# package document or cover would otherwise be inflated into memory.
MAX_CONTAINER_BYTES = 64 * 1024
MAX_OPF_BYTES = 4 * 1024 * 1024
MAX_COVER_BYTES = 10 * 1024 * 1024
MAX_COVER_PIXELS = 40_000_000
_PIL_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP"}


def _read_member(z: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """A member of at most *limit* bytes, whatever its header claims; ValueError if larger."""
    info = z.getinfo(name)
    if info.file_size > limit:
        raise ValueError(f"{name} is {info.file_size} bytes, more than {limit}")
    with z.open(info) as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"{name} is more than {limit} bytes")
    return data


def _check_cover(data: bytes, mime: str, name: str) -> None:
    """ValueError unless *data* is a real image of type *mime* and bounded size."""
    import io
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                fmt, (width, height) = img.format, img.size
                img.verify()
    except Exception as err:  # Pillow raises many kinds on a damaged image
        raise ValueError(f"the cover {name} is not a readable image ({type(err).__name__})") from None
    if fmt != _PIL_FORMATS[mime]:
        raise ValueError(f"the cover {name} is {fmt}, not {mime}")
    if width * height > MAX_COVER_PIXELS:
        raise ValueError(f"the cover {name} is {width}x{height} pixels, too large")


def _parse_date(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    text = text.strip()
    try:
        if len(text) == 10:
            d = dt.date.fromisoformat(text)
            return dt.datetime(d.year, d.month, d.day, tzinfo=UTC)
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def read_book(path: Path) -> Book:
    """Read one EPUB's OPF; raises ValueError/KeyError/zipfile errors if broken."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    with zipfile.ZipFile(path) as z:
        container = etree.fromstring(_read_member(z, "META-INF/container.xml", MAX_CONTAINER_BYTES), parser)
        rootfile = container.find(f".//{{{CONTAINER_NS}}}rootfile")
        if rootfile is None:
            raise ValueError("META-INF/container.xml names no package document")
        opf_path = rootfile.get("full-path", "")
        opf = etree.fromstring(_read_member(z, opf_path, MAX_OPF_BYTES), parser)
        meta = opf.find(f"{{{OPF_NS}}}metadata")
        if meta is None:
            raise ValueError(f"{opf_path} has no metadata")

        def dc(name: str) -> list[str]:
            return [" ".join((el.text or "").split()) for el in meta.findall(f"{{{DC_NS}}}{name}")
                    if (el.text or "").strip()]

        named = {m.get("name"): m.get("content") for m in meta.findall(f"{{{OPF_NS}}}meta") if m.get("name")}
        props: dict[str, list] = {}
        for m in meta.findall(f"{{{OPF_NS}}}meta"):
            if m.get("property"):
                props.setdefault(m.get("property"), []).append(m)
        uid = opf.get("unique-identifier")
        identifier = None
        for el in meta.findall(f"{{{DC_NS}}}identifier"):
            if el.text and (identifier is None or el.get("id") == uid):
                identifier = el.text.strip()
        modified = _parse_date((props.get("dcterms:modified") or [None])[0].text
                               if props.get("dcterms:modified") else None)
        modified = modified or _parse_date((dc("date") or [None])[0])
        series, series_index = _series(named, props)
        cover = _cover(z, opf, opf_path, named)
    # Anyone's book: its text is cleaned and its language checked by the documents gate.
    clean = book_metadata(title=(dc("title") or [""])[0], identifier=identifier, creators=dc("creator"),
                         language=(dc("language") or [None])[0], description=(dc("description") or [None])[0],
                         series=series, series_index=series_index)
    return Book(
        path=path,
        title=clean.title or book_metadata(title=path.stem).title or "EPUB",
        identifier=clean.identifier,
        modified=modified,
        creators=tuple(clean.creators),
        language=clean.language,
        description=clean.description,
        series=clean.series,
        series_index=clean.series_index,
        size=path.stat().st_size,
        period=_period(dc("coverage"), dc("date")),
        cover=cover,
    )


def _is_uri(text: str | None) -> bool:
    return bool(text and re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*:\S+$", text))


def book_summary(book: Book) -> str:
    parts = []
    if book.period:
        a, b = book.period
        parts.append(a.isoformat() if a == b else f"{a.isoformat()} to {b.isoformat()}")
    if book.series:
        parts.append(f"Series: {book.series}" + (f" #{book.series_index}" if book.series_index else ""))
    if book.description:
        parts.append(book.description.rstrip(". "))
    parts.append(f"EPUB, {book.size / 1024:.0f} KiB")
    return ". ".join(parts)


def _series(named: dict[str, Any], props: dict[str, list]) -> tuple[str | None, str | None]:
    """The series and the book's place in it: calibre's metadata, else EPUB 3's collection."""
    series = named.get("calibre:series")
    series_index = named.get("calibre:series_index")
    if not series and props.get("belongs-to-collection"):
        coll = props["belongs-to-collection"][0]
        series = " ".join((coll.text or "").split()) or None
        for m in props.get("group-position", []):
            if coll.get("id") and m.get("refines") == "#" + coll.get("id"):
                series_index = (m.text or "").strip() or None
    return series, series_index


def _cover(z: zipfile.ZipFile, opf: Any, opf_path: str, named: dict[str, Any]) -> tuple[bytes, str] | None:
    """The cover image (EPUB 3 ``cover-image``, else EPUB 2 ``<meta name="cover">``) and its type."""
    manifest = opf.find(f"{{{OPF_NS}}}manifest")
    items = list(manifest) if manifest is not None else []
    cover_item = next((i for i in items if "cover-image" in (i.get("properties") or "").split()), None)
    if cover_item is None and named.get("cover"):
        cover_item = next((i for i in items if i.get("id") == named["cover"]), None)
    if cover_item is None or cover_item.get("media-type") not in _COVER_EXT:
        return None
    href = posixpath.normpath(posixpath.join(posixpath.dirname(opf_path), cover_item.get("href", "")))
    try:
        data = _read_member(z, href, MAX_COVER_BYTES)
    except KeyError:
        return None
    _check_cover(data, cover_item.get("media-type"), href)
    return data, cover_item.get("media-type")


def opds_catalog(out_dir: Path, *, title: str, base_url: str | None, icon_url: str | None = None,
                 reader: Callable[[Path], Book] | None = None,
                 books: Iterable[Path] | None = None) -> Catalog:
    """The catalog of *books*, or of every ``*.epub`` directly inside *out_dir*, newest first.

    *reader* (default :func:`read_book`) lets ``digest-export build`` reuse
    what it knows of books that did not change since the last run; *books*
    lets it list only the books it wrote itself.
    """
    from .ext import new_generator

    books, warnings = _read_books(out_dir, reader or read_book, books)
    languages = [b.language.split("-")[0].lower() for b in books if b.language]
    language = max(sorted(set(languages)), key=languages.count) if languages else "en"

    def href(name: str) -> str:
        quoted = path_segment(name)
        return base_url + quoted if base_url else quoted

    updated = max((b.modified or _EPOCH for b in books), default=_EPOCH)
    info = FeedInfo(title=f"{title}: books", subtitle="Weekly EPUB books of the digests (OPDS 1.2)",
                    id=tag_uri(2024, f"feed/{title.casefold()}/opds"), language=language,
                    updated=updated, author=title, home_url="", base_url=base_url, icon_url=icon_url)
    fg = new_generator(info)
    # The catalog is one level: it is its own start.  OPDS 1.2 (section 3.2)
    # recommends a "start" link, but the W3C Feed Validator's list of link
    # relations predates it ("Unregistered link relationship"), so with a
    # self link, which names the same document, the start link is left out.
    if base_url:
        links = [{"href": base_url + "catalog.opds", "rel": "self", "type": CATALOG_TYPE}]
    else:
        links = [{"href": href("catalog.opds"), "rel": "start", "type": CATALOG_TYPE}]
    fg.link(links, replace=True)
    covers = [_add_book(fg, book, href) for book in books]
    return Catalog(data=hex_refs_in_text(fg.atom_str(pretty=True)), books=books,
                   covers=[c for c in covers if c is not None], warnings=warnings)


_EPOCH = dt.datetime(2000, 1, 1, tzinfo=UTC)


def _read_books(out_dir: Path, reader: Callable[[Path], Book],
                paths: Iterable[Path] | None) -> tuple[list[Book], list[Diagnostic]]:
    """The books, newest first, and a warning for each that cannot be read."""
    warnings = []
    books = []
    for path in sorted(Path(out_dir).glob("*.epub") if paths is None else paths):
        try:
            books.append(reader(path))
        except (OSError, KeyError, ValueError, zipfile.BadZipFile, SyntaxError, EOFError, RuntimeError,
                NotImplementedError, zlib.error) as err:  # damaged, encrypted, unknown compression
            warnings.append(Diagnostic(SourceRef(str(path), 0), Severity.WARNING,
                                       f"not listed in the OPDS catalog: cannot read the EPUB ({err})", Kind.OUTPUT))

    def newest(book: Book) -> tuple:
        start = book.period[0] if book.period else dt.date.min
        return (start, book.modified or _EPOCH, book.path.name)

    books.sort(key=newest, reverse=True)
    if not books:
        warnings.append(Diagnostic(SourceRef(str(out_dir), 0), Severity.WARNING,
                                   "no EPUB file found; the OPDS catalog is empty "
                                   "(write the books into this folder first)", Kind.OUTPUT))
    return books, warnings


def _add_book(fg: Any, book: Book, href: Callable[[str], str]) -> tuple[str, bytes] | None:
    """One acquisition entry; returns the cover file to write beside the book, if any."""
    fe = fg.add_entry(order="append")
    ident = book.identifier if _is_uri(book.identifier) else tag_uri(
        2024, "book/" + (book.identifier or book.path.name))
    fe.id(ident)
    # Read back from the book: digest text, so plain text for feeds.
    fe.title(feed_text(book.title))
    fe.updated(book.modified or _EPOCH)
    if book.creators:
        fe.author([{"name": feed_text(c)} for c in book.creators])
    fe.content(feed_text(book_summary(book)), type="text")
    if book.series:
        fe.category(term=feed_text(book.series), label=f"Series: {feed_text(book.series)}")
    book_links = [Link(href(book.path.name), ACQUISITION, EPUB_TYPE, "EPUB", book.size)]
    cover = None
    if book.cover:
        data, mime = book.cover
        cover_name = f"{book.path.stem}.cover{_COVER_EXT[mime]}"
        cover = (cover_name, data)
        book_links += [Link(href(cover_name), IMAGE, mime), Link(href(cover_name), THUMBNAIL, mime)]
    fe.dx.set(tuple(book_links), book.language)
    return cover
