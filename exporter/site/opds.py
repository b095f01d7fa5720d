"""EPUB bundles in the output folder -> the OPDS catalog (:func:`write_catalog`).

Each ``*.epub`` in the folder becomes one entry: title, identifier,
modification date, creators and period (``dc:coverage``, an ISO 8601
interval, else ``dc:date``) from its OPF package document, the series (``calibre:series`` or EPUB 3
``belongs-to-collection``), the file size, the cover (written beside the
book as ``<name>.cover.<ext>``, since a link cannot point inside a zip) and
a thumbnail of it (``<name>.cover.thumb.jpg``).  Which pages list which
books is :mod:`.catalog`; the OPDS 1.2 pages are :mod:`.atom`.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..gates import files as gate_files
from ..gates.names import text_name
from ..gates import dates as gate_dates
from ..gates.documents import book_metadata
from ..gates.epub import read_member
from ..gates.langtags import tag_for
from ..bundles import is_book_name
from ..model import Diagnostic, Kind, Severity, SourceRef, counted
from ..output import marked
from ..feeds.entries import tag_uri
from ..feeds.writer import FeedReport, write_outputs
from .book import EPOCH, Book

OPF_NS = "http://www.idpf.org/2007/opf"
DC_NS = "http://purl.org/dc/elements/1.1/"
CATALOG_TYPE = "application/atom+xml;profile=opds-catalog;kind=acquisition"
_COVER_EXT = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/webp": ".webp"}
#: The media types of the covers the catalog writes beside the books.
COVER_TYPES = tuple(_COVER_EXT)


@dataclass(slots=True)
class Catalog:
    data: bytes
    books: list[Book] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)


def _period(coverage: list[str], dates: list[str]) -> tuple[dt.date, dt.date] | None:
    """The book's period from its metadata (the dates gate's :func:`~exporter.gates.dates.period`:
    a day, an ISO week, a month or a year, or two of them joined by ``/``): the first
    ``dc:coverage`` that is one, else the days of the first such ``dc:date``; None when none
    is, or when the first is a real period beyond 1980..2099's ISO weeks (of no known days,
    never finished).  One rule for what is no period: not written as one (``٢٠٢٤``), or of a day,
    week or month the calendar does not have (``2024-02-30``, ``2024-W53``): the next value."""
    for text in [*coverage, *dates]:
        try:
            return gate_dates.period(text)
        except gate_dates.OutsideDates:
            return None  # a real period the program places no day of: never finished
        except gate_dates.DateRefused:
            continue  # no period: the next value, never the file name's word over it
    return None


# A foreign EPUB in the output folder is read with limits: a zip bomb's
# package document or cover would otherwise be inflated into memory.
MAX_COVER_BYTES = 10 * 1024 * 1024
MAX_COVER_PIXELS = 40_000_000
_PIL_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP"}


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
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValueError(f"the cover {name} is larger than {MAX_COVER_PIXELS:,} pixels (a decompression bomb?)") \
            from None
    except Exception:  # Pillow raises many kinds on a damaged image; its words name its code
        raise ValueError(f"the cover {name} is not a readable image (damaged, cut short, or not of its type)") \
            from None
    if fmt != _PIL_FORMATS[mime]:
        raise ValueError(f"the cover {name} is {fmt}, not {mime}")
    if width * height > MAX_COVER_PIXELS:
        raise ValueError(f"the cover {name} is {width}x{height} pixels, too large")


def _parse_date(text: str | None) -> dt.datetime | None:
    """The moment *text* (the dates gate's :func:`~exporter.gates.dates.timestamp`), None when it
    is refused or outside the years the reader and the state accept (a book of 2999 is of an
    unknown date)."""
    if not text:
        return None
    try:
        value = gate_dates.timestamp(text)
    except gate_dates.DateRefused:
        return None
    return value if 1980 <= value.year <= 2099 else None


def read_book(path: Path, data: bytes | None = None) -> Book:
    """Read one EPUB's OPF through the EPUB container gate (the checks ``send`` makes: a book
    with two package documents of one name, or a damaged zip, is refused, never half-read);
    raises NotAnEpub (a ValueError), OSError or KeyError if it cannot be read.  *data*: the
    bytes of the book this process has just zipped and written at *path*."""
    from ..gates.epub import open_epub

    zipped_here = data is not None
    if data is None:
        # Through the file gate: never a FIFO named *.epub, never more than a book may be.
        data = gate_files.read_bytes(path, gate_files.BOOK_LIMIT)
    with open_epub(data, zipped_here=zipped_here) as (z, opf_path, opf):
        meta = opf.find(f"{{{OPF_NS}}}metadata")
        if meta is None:
            raise ValueError(f"{text_name(opf_path)} has no metadata")

        def dc(name: str) -> list[str]:
            # The element's whole text: a comment inside (<dc:title>Deep<!-- c -->Learning</dc:title>)
            # cut it at the comment (el.text is the text before the first child node).
            texts = ("".join(el.itertext()) for el in meta.findall(f"{{{DC_NS}}}{name}"))
            return [" ".join(text.split()) for text in texts if text.strip()]

        named = {m.get("name"): m.get("content") for m in meta.findall(f"{{{OPF_NS}}}meta") if m.get("name")}
        props: dict[str, list] = {}
        for m in meta.findall(f"{{{OPF_NS}}}meta"):
            if m.get("property"):
                props.setdefault(m.get("property"), []).append(m)
        uid = opf.get("unique-identifier")
        identifier = None
        for el in meta.findall(f"{{{DC_NS}}}identifier"):
            text = "".join(el.itertext())
            if text and (identifier is None or el.get("id") == uid):
                identifier = text.strip()
        modified = _parse_date((props.get("dcterms:modified") or [None])[0].text
                               if props.get("dcterms:modified") else None)
        modified = modified or _parse_date((dc("date") or [None])[0])
        series, series_index = _series(named, props)
        cover, cover_note = _cover(z, opf, opf_path, named)
    # Anyone's book: its text is cleaned and its language checked by the documents gate.
    clean = book_metadata(title=(dc("title") or [""])[0], identifier=identifier, creators=dc("creator"),
                         language=(dc("language") or [None])[0], description=(dc("description") or [None])[0],
                         series=series, series_index=series_index)
    return Book(
        path=path,
        title=clean.title or book_metadata(title=text_name(path.stem)).title or "EPUB",
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
        cover_note=cover_note,
    )


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


def _cover(z: zipfile.ZipFile, opf: Any, opf_path: str,
           named: dict[str, Any]) -> tuple[tuple[bytes, str] | None, str | None]:
    """The cover image (EPUB 3 ``cover-image``, else EPUB 2 ``<meta name="cover">``) and its type,
    or None and why a cover the manifest names cannot be used (None when it names none)."""
    from ..gates.urls import member_of_href

    manifest = opf.find(f"{{{OPF_NS}}}manifest")
    items = list(manifest) if manifest is not None else []
    cover_item = next((i for i in items if "cover-image" in (i.get("properties") or "").split()), None)
    if cover_item is None and named.get("cover"):
        cover_item = next((i for i in items if i.get("id") == named["cover"]), None)
    if cover_item is None:
        return None, None
    given = cover_item.get("href", "")
    shown = text_name(given)
    if cover_item.get("media-type") not in _COVER_EXT:
        # An SVG cover (or another type): OPDS clients show the image links' pictures as they are,
        # and KOReader and Thorium draw only raster ones; no thumbnail is made of it either.
        kinds = ", ".join(sorted(_PIL_FORMATS[t] for t in _COVER_EXT if t in _PIL_FORMATS))
        return None, (f"its cover {shown} is of type {text_name(cover_item.get('media-type') or 'none')}, "
                      f"not a picture the catalog lists ({kinds})")
    href, why = member_of_href(opf_path, given)
    if href is None:
        return None, f"its cover {shown} {why}"
    try:
        data = read_member(z, href, MAX_COVER_BYTES)
    except KeyError:
        return None, f"its cover {shown} is not in the book"
    _check_cover(data, cover_item.get("media-type"), href)
    if cover_item.get("media-type") in _AS_PNG:
        return (_as_png(data), "image/png"), None
    return (data, cover_item.get("media-type")), None


#: Covers written beside the book as PNG: a GIF or WebP file has no place for the program's mark
#: that it writes (``output.marked``: a JPEG comment, a PNG text chunk), and a cover without it is
#: "not written by digest-export" to a run that has no state, which then leaves the stale cover
#: published and lists the book without one.  A PNG holds their pixels without loss.
_AS_PNG = frozenset({"image/gif", "image/webp"})


def _as_png(data: bytes) -> bytes:
    """The first frame of the GIF or WebP picture *data* as a PNG, with nothing of the file but
    its pixels (no comment, XMP, EXIF or ICC profile: ``info`` emptied before saving)."""
    import io

    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        alpha = img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info
        frame = img.convert("RGBA" if alpha else "RGB" if img.mode not in ("L", "P") else img.mode)
        frame.info = {}
        out = io.BytesIO()
        frame.save(out, format="PNG")
    return out.getvalue()


#: Why the catalog is empty when the caller does not know better: ``feed`` lists a folder that
#: another command fills with books.
NO_BOOKS = "no EPUB file found; the OPDS catalog is empty (write the books into this folder first)"


def _read_books(out_dir: Path, reader: Callable[[Path], Book],
                paths: Iterable[Path] | None, empty: str = NO_BOOKS) -> tuple[list[Book], list[Diagnostic]]:
    """The books, newest first, and a warning for each that cannot be read (*empty*: the warning
    when there is none)."""
    warnings = []
    books = []
    if paths is None:  # a Kobo kepub beside its book is one of the book's files, not a book
        # A hidden file (".x.epub") is no one's to publish, as in an input folder.
        paths = [p for p in Path(out_dir).glob("*.epub") if not p.name.endswith(".kepub.epub")
                 and not p.name.startswith(".")]
    for path in sorted(paths):
        try:
            book = reader(path)
            books.append(book)
            if book.cover_note:
                warnings.append(Diagnostic(SourceRef(str(path), 0), Severity.WARNING,
                                           f"listed in the OPDS catalog without a cover: {book.cover_note}",
                                           Kind.OUTPUT))
        except (OSError, KeyError, ValueError, zipfile.BadZipFile, SyntaxError, EOFError, RuntimeError,
                NotImplementedError, zlib.error) as err:  # damaged, encrypted, unknown compression
            warnings.append(Diagnostic(SourceRef(str(path), 0), Severity.WARNING,
                                       f"not listed in the OPDS catalog: cannot read the EPUB ({err})", Kind.OUTPUT))

    def newest(book: Book) -> tuple:
        start = book.period[0] if book.period else dt.date.min
        return (start, book.modified or EPOCH, book.path.name)

    books.sort(key=newest, reverse=True)
    if not books:
        left_out = len(warnings)
        if left_out:  # the books were found: each is named above with its reason
            empty = (f"{counted(left_out, 'EPUB file')} found, none listed (each is named above with the "
                     "reason); the OPDS catalog is empty")
        warnings.append(Diagnostic(SourceRef(str(out_dir), 0), Severity.WARNING, empty, Kind.OUTPUT))
    return books, warnings




def unique_entry_ids(books: list[Book]) -> tuple[list[Book], list[Diagnostic]]:
    """*books* (in their order) with an entry id of their own each, and a warning for each
    book whose identifier another one has.

    Copies of one book under other names share its ``dc:identifier``; as entry ids they would
    break RFC 4287 section 4.2.6 (an id identifies one entry) and OPDS readers would merge them
    (the W3C Feed Validator: DuplicateIds).  The first file by name keeps the identifier; each
    later one gets an id made from the identifier and its own file name, stable across runs.
    A book the program wrote (its mark) comes first: copying it never changes its own id, on
    which readers key what they have downloaded."""
    from dataclasses import replace

    from ..output import carries_mark

    from ..gates.names import shell_quote
    from .book import book_entry_id

    groups: dict[str, list[Book]] = {}
    for book in books:
        groups.setdefault(book_entry_id(book), []).append(book)
    taken = set(groups)
    renamed: dict[Path, Book] = {}
    notes: list[Diagnostic] = []
    for ident, group in sorted(groups.items()):
        if len(group) < 2:
            continue
        first, *later = sorted(group, key=lambda b: (not carries_mark(b.path), not is_book_name(b.path.name),
                                                     os.fsencode(b.path.name)))
        for book in later:
            # A name that is not UTF-8 (surrogateescape) is hashed by its bytes, as text.
            name = os.fsencode(book.path.name).decode("utf-8", "backslashreplace")
            new, n = tag_uri(2024, f"book/{ident}/{name}"), 1
            while new in taken:  # never another book's id, however unlikely
                new, n = tag_uri(2024, f"book/{ident}/{name}/{n}"), n + 1
            taken.add(new)
            renamed[book.path] = replace(book, entry_id=new)
            notes.append(Diagnostic(SourceRef(str(book.path), 0), Severity.WARNING,
                                    f"has the same identifier as {shell_quote(first.path)} (a copy?): the catalog "
                                    f"lists it under the id {new}", Kind.OUTPUT))
    return [renamed.get(b.path, b) for b in books], notes


def cover_name(book_name: str, media_type: str) -> str | None:
    """``NAME.cover.<ext>``, the cover file beside the book *book_name*; None when that name is
    too long for a file (:func:`exporter.output.name_fits`: a book named by its user may take
    250 of the 255 bytes): the book is then listed without a cover."""
    return _beside(book_name, ".cover" + _COVER_EXT[media_type])


def thumbnail_name(book_name: str) -> str | None:
    """``NAME.cover.thumb.jpg``: beside the book, named like its cover so both go when the book
    does; None as for :func:`cover_name`."""
    return _beside(book_name, ".cover.thumb.jpg")


@functools.lru_cache(maxsize=4096)  # each catalog asks for every book's names twice or more
def _beside(book_name: str, tail: str) -> str | None:
    from ..output import name_fits

    name = Path(book_name).stem + tail
    return name if name_fits(name) else None


def no_cover_note(path: Path) -> Diagnostic:
    """The warning for a book whose cover files' names would be too long."""
    from ..output import NAME_MAX

    return Diagnostic(SourceRef(str(path), 0), Severity.WARNING,
                      f"the name is too long for a cover file beside it (at most {NAME_MAX} bytes): "
                      "listed in the OPDS catalog without a cover", Kind.OUTPUT)


THUMBNAIL_WIDTH = 300
#: A picture decoded at a reduced scale this close to THUMBNAIL_WIDTH is kept at its width:
#: a 1400 px cover gives 350 px, a 1072 px one 268 px.
THUMBNAIL_WIDTHS = range(240, 401)


def make_thumbnail(data: bytes) -> bytes:
    """A JPEG about 300 px wide (a few KB) of the cover *data*, the same bytes for the same cover.

    KOReader's cover browser and Thorium's grid fetch one image per book on
    every page: the full cover (100 KB or more) would make browsing a
    catalog of hundreds of books slow on an e-ink device."""
    import io

    from PIL import Image

    from ..books.cover import decoded

    with Image.open(io.BytesIO(data)) as img:
        if img.width > THUMBNAIL_WIDTHS.stop - 1:
            # A JPEG cover is decoded at the smallest of libjpeg's 1/2, 1/4, 1/8
            # scales (Pillow's ``Image.draft``) that is at least 240 px wide: a
            # 1400 px cover at 350 px costs a fifth of its full decoding.  Kept at
            # that width, no scaling follows (which would cost twice the rest).
            low = THUMBNAIL_WIDTHS.start
            img.draft("RGB", (low, max(1, img.height * low // img.width)))
        # A cover this process just made is decoded from its text rows alone (books/cover.py),
        # and saved with what the file says of itself, as the image opened would be.
        fast = decoded(data, img.mode, img.size)
        if fast is not None:
            fast.info = dict(img.info)
            img = fast
        # convert() of an image already in RGB is a copy of it for nothing.
        img = img.convert("RGB") if img.mode != "RGB" else img
        img.load()
        if img.width not in THUMBNAIL_WIDTHS and img.width > THUMBNAIL_WIDTH:
            height = max(1, round(img.height * THUMBNAIL_WIDTH / img.width))
            img = img.resize((THUMBNAIL_WIDTH, height), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=70, optimize=True, progressive=False)
    return buf.getvalue()


def write_catalog(out: Path, base_url: str | None, report: FeedReport, reader=None, books=None, *,
                  today: dt.date | None = None, selections: tuple[tuple[str, str], ...] = (),
                  empty: str = NO_BOOKS) -> Catalog:
    """Write the OPDS catalog of the EPUBs in *out* (``catalog.opds``, its pages, facets, crawlable feed
    and their OPDS 2.0 twins) and the covers and thumbnails it links.

    ``report.title``/``icon_url`` come from :func:`write_feed_files`; *reader*
    (default :func:`read_book`) lets ``build`` reuse what it knows of books
    that did not change; *books* lists the books (default: every EPUB in
    *out*).  *today* decides which books are finished (default: today).
    *selections* are (name, title) pairs, each a catalog of its own in
    ``out/NAME/``, offered as facets on every page.  *out* may be any
    folder and *base_url* its public URL, so that the catalog of a
    selection is written by the same call on ``out/NAME``.  *empty* is the warning when
    there is no book (the caller knows best why).
    """
    from .atom import Site, atom_page
    from .catalog import CatalogBook, book_files, is_finished, plan_pages
    from .opds2 import json_page

    today = today or dt.date.today()
    found, warnings = _read_books(out, reader or read_book, books, empty)
    found, twins = unique_entry_ids(found)
    warnings += twins
    report.books = len(found)
    warnings += [Diagnostic(SourceRef(str(b.path), 0), Severity.WARNING,
                            f"language {b.language!r} has no form that feed validators accept (they take the "
                            "ISO 639-1 and 639-2 codes of languages, not the special ones such as 'zxx', or a "
                            "macrolanguage): the catalog lists the book without a language", Kind.OUTPUT)
                 for b in found if b.language and tag_for(b.language, "feed") is None]
    report.warnings += warnings
    outputs: list[tuple[str, bytes]] = []
    entries = []
    for book in found:
        cover = None
        thumb = thumbnail_name(book.path.name)
        if book.cover:
            data, mime = book.cover
            name = cover_name(book.path.name, mime)
            if name is None or thumb is None:
                warnings.append(no_cover_note(book.path))
            else:
                if data:  # read here, not by a cache that wrote it already
                    outputs += [(name, marked(data, mime)), (thumb, marked(make_thumbnail(data), "image/jpeg"))]
                cover = (name, mime)
        has_thumb = cover is not None and (any(n == thumb for n, _ in outputs) or (out / thumb).is_file())
        version = None if is_finished(book, today) else _content_hash(book.path)
        entries.append(CatalogBook(book, book_files(book.path), cover, thumb if has_thumb else None, version))
    # The page's language is the most common of its books' (whole, as the
    # entries give it: cutting "x-foo" to its first subtag made "x", no tag at all).
    languages = [tag for tag in (tag_for(b.language, "feed") for b in found) if tag]
    language = max(sorted(set(languages)), key=languages.count) if languages else "en"
    site = Site(title=report.title, id=tag_uri(2024, f"feed/{report.title.casefold()}/opds"), language=language,
                base_url=base_url, icon_url=report.icon_url)
    pages, facets = plan_pages(entries, title=f"{report.title}: books", today=today, selections=selections)
    for page in pages:
        outputs.append((page.stem + ".opds", atom_page(page, site, facets)))
        outputs.append((page.stem + ".json", json_page(page, site, facets)))
    write_outputs(out, outputs, report)
    return Catalog(data=outputs[-2 * len(pages)][1], books=found, warnings=warnings)


def _content_hash(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    fh, _ = gate_files.open_regular(path, gate_files.BOOK_LIMIT)
    with fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]
