"""Bundles of digests -> EPUB 3 books (with an EPUB 2 NCX and guide).

Built with ebooklib 0.20, working around each of its traps listed in
docs/library-workarounds.md (ebooklib section; numbers below refer to it):

1. one ``dc:creator`` per ``add_author`` call, each with its own ``uid``;
2. ``set_language`` on the book *and* every document;
3./4. the templates give body fragments wrapped in a ``<section>``/``<div>``,
   CSS is attached with ``chapter.add_item``, and the documents are written
   by :func:`_document_class` instead of ebooklib's lossy HTML round trip;
5. our own cover page (first in the spine) around a raster JPEG, plus
   ``<meta name="cover">`` from ``set_cover(create_page=False)``;
6. NCX/TOC uids derived from the date and the paper id;
7. the TOC follows the spine (days in order, papers in order);
8. identifier, ``dcterms:modified`` and zip timestamps come from the data;
   the zip is rewritten with ``mimetype`` first and stored;
9. images are embedded (or left out), never remote;
10. ``write_epub(..., {"raise_exceptions": True})`` and its result checked;
11. guide and landmarks for cover, toc and start.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import io
import os
import re
import uuid
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import escape

from ..bundles import Bundle, BundleBy, make_bundles
from ..gates.css import STYLESHEET
from .cover import CoverText, make_cover
from .devices import GENERIC, DeviceProfile
from .devices import profile as device_profile
from ..errors import ExporterError, TemplateError, UsageError
from ..model import RUN_ONLY, Diagnostic, Digest, Kind, Paper, Severity, ThumbnailKind
from ..output import WriteStatus, write_file
from ..render import lang_attrs, safe_url, title_text
from .. import language
from ..language import LABELS, labels_for
from ..templating import make_environment, render_template, stylesheet

if TYPE_CHECKING:
    from ..images import ImageFailure

#: Namespace of the book identifiers (urn:uuid, version 5): the same series
#: title, grouping and key always give the same identifier.
ID_NAMESPACE = uuid.UUID("6f0c7a52-3d5e-5b7e-9a57-6a1f4c0de9e1")

SUBJECTS = ("Research papers", "Machine learning", "Artificial intelligence", "arXiv")
PUBLISHER = "digest-export"

@dataclass(frozen=True, slots=True)
class EpubOptions:
    """How the books are made (the ``epub`` command's flags, and ``build``'s)."""

    out_dir: Path = field(default=Path("."), metadata=RUN_ONLY)
    by: BundleBy = BundleBy.WEEK
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    title: str | None = None
    lang: str | None = None
    images: str = "embed"  # "embed" | "none"
    grayscale: bool = False
    #: The folder's files are fingerprinted by content (buildstate.tree_hash).
    templates: Path | None = field(default=None, metadata=RUN_ONLY)
    keep_going: bool = field(default=False, metadata=RUN_ONLY)
    cache_dir: Path | None = field(default=None, metadata=RUN_ONLY)
    cover: bool = True
    #: Worker processes for the books (0: one per core; see exporter.books.workers).
    jobs: int = field(default=0, metadata=RUN_ONLY)
    #: Seconds allowed to fetch one thumbnail (connect, redirects, body).
    image_timeout: float = field(default=10.0, metadata=RUN_ONLY)
    #: Fetch thumbnails from loopback/private/link-local hosts too (see exporter.images.netguard).
    allow_private_hosts: bool = False
    #: The device profile of the books this writer makes (exporter.books.devices); part of
    #: each book's fingerprint unless generic (see exporter.pipeline.plan).
    device: str = field(default="generic", metadata=RUN_ONLY)
    #: Every profile the run makes, side by side (the pipeline makes one
    #: writer per profile, each with its ``device``).
    devices: tuple[str, ...] = field(default=("generic",), metadata=RUN_ONLY)
    #: A font embedded for the body text, subset per book (exporter.books.fonts), and its bold
    #: face; fingerprinted by content (see exporter.pipeline.plan).
    font: Path | None = field(default=None, metadata=RUN_ONLY)
    font_bold: Path | None = field(default=None, metadata=RUN_ONLY)
    #: The books are a selection's (``title`` is ``SERIES · SELECTION``): see :func:`book_title`.
    selection: bool = False

    @property
    def profile(self) -> DeviceProfile:
        return device_profile(self.device)

    def profile_names(self) -> tuple[str, ...]:
        """The profiles of the run, each once (``device`` alone when ``devices`` does not name it)."""
        return tuple(dict.fromkeys(self.devices if self.device in self.devices else (self.device,)))


@dataclass(slots=True)
class EpubReport:
    """What :func:`exporter.pipeline.build_epubs` did: one entry per file, and the totals."""

    files: list[tuple[Path, WriteStatus]] = field(default_factory=list)
    bundles: int = 0
    days: int = 0
    papers: int = 0
    images: int = 0
    image_failures: list[ImageFailure] = field(default_factory=list)
    warnings: int = 0
    notes: list[Diagnostic] = field(default_factory=list)


# -- language ------------------------------------------------------------------

def detect_language(papers: Iterable[Paper]) -> str:
    """``ko`` or ``en`` for a book, from its summaries (see :mod:`exporter.language`)."""
    return language.detect_language(item.text for paper in papers for item in paper.summary)


# -- one book ------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ImageRef:
    href: str
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class FirstRef:
    href: str
    date_text: str


@dataclass(frozen=True, slots=True)
class Entry:
    """A paper as a day template sees it; URLs already checked by safe_url."""

    paper: Paper
    id: str
    nav_id: str
    link: str | None
    abs_url: str | None
    pdf_url: str | None
    hf_url: str | None
    image: ImageRef | None
    video_url: str | None
    first: FirstRef | None
    #: The title's language where it is not the book's (``en`` for the
    #: English titles of a Korean book), else None (WCAG 2.1 SC 3.1.2).
    title_lang: str | None = None


@dataclass(frozen=True, slots=True)
class DayView:
    """One document of a day: the whole day, or one part of a day too large for one file
    (see :data:`PART_BUDGET`); ``entries`` are that document's papers."""

    id: str
    file_name: str
    date_text: str
    weekday: str
    title: str
    count_text: str
    entries: tuple[Entry, ...]
    #: The summaries' language where it is not the book's (an English day
    #: in a Korean book), else None.
    lang: str | None = None
    #: This document's place among the day's documents (1-based), and how many there are.
    part: int = 1
    parts: int = 1


@dataclass(frozen=True, slots=True)
class BookInfo:
    """Book-level facts shared by the templates, the OPF and the cover."""

    title: str
    series: str
    lang: str
    identifier: str
    modified: dt.datetime
    period_text: str
    description: str


def book_identifier(bundle: Bundle) -> str:
    """``urn:uuid:`` derived from series title + grouping + key: stable when
    days are added to the period, different for every other book."""
    return "urn:uuid:" + str(uuid.uuid5(ID_NAMESPACE, f"{bundle.title}\x1f{bundle.by}\x1f{bundle.key}"))


def period_text(bundle: Bundle) -> str:
    if bundle.start == bundle.end:
        return bundle.start.isoformat()
    return f"{bundle.start.isoformat()} – {bundle.end.isoformat()}"


def book_title(bundle: Bundle, labels: dict[str, Any], *, selection: bool = False) -> str:
    """``Daily Papers 2024-W10 (2024-03-04 – 2024-03-10)``; a selection's book
    (series ``Daily Papers · Top 5 a day``) ``Daily Papers · Top 5 a day · 2024-W10``:
    the key set off like the selection, the period left to the metadata and
    the cover, so that the title stays short in a library list."""
    if selection and bundle.by is not BundleBy.ALL:
        title = f"{bundle.title} · {bundle.key}"
        return f"{title} ({labels['weekdays'][bundle.start.weekday()]})" if bundle.by is BundleBy.DAY else title
    if bundle.by is BundleBy.DAY:
        return f"{bundle.title} {bundle.key} ({labels['weekdays'][bundle.start.weekday()]})"
    if bundle.by is BundleBy.ALL:
        return f"{bundle.title} ({period_text(bundle)})"
    return f"{bundle.title} {bundle.key} ({period_text(bundle)})"


def _modified(bundle: Bundle) -> dt.datetime:
    # "From the data": the date of the last digest (00:00 UTC), so that a
    # rebuild of the same days gives the same value and a new day moves it.
    last = max(d.date for d in bundle.digests)
    return dt.datetime.combine(last, dt.time(0, 0), tzinfo=dt.timezone.utc)


class _Images:
    """Thumbnails of one bundle: None (``--images none``) or exporter.images' results."""

    def __init__(self, results: Any = None):
        self.results = results
        self.items: dict[str, tuple[bytes, str]] = {}  # file name -> (data, media type)

    def ref(self, paper: Paper) -> ImageRef | None:
        if self.results is None or paper.thumbnail is None or paper.thumbnail.kind is not ThumbnailKind.IMAGE:
            return None
        image = self.results.get(paper)
        if image is None:
            return None
        ext = "png" if image.media_type == "image/png" else "jpg"
        # The loader gives each picture with its digest (the cache's checksum): not hashed here.
        name = f"images/{image.digest()[:16]}.{ext}"
        self.items[name] = (image.data, image.media_type)
        return ImageRef(name, image.width, image.height)


def _other_language(found: str | None, book_lang: str) -> str | None:
    return found if found is not None and found != language.primary(book_lang) else None


#: Bytes of digest text (see :func:`_paper_weight`) one day document holds before the day is
#: split into parts: reading systems load a whole XHTML file to show any page of it, and
#: Kobo's and Amazon's guidance is to keep each file of a book small (Amazon's Kindle
#: Publishing Guidelines, section 4.1: under 300 KB of text per file).  A day of a few hundred
#: papers stays one file, as it always was; a day of thousands costs per part what a day of a
#: few hundred does, instead of one document (and its parsing and checking) growing with it.
PART_BUDGET = 250_000


def _paper_weight(paper: Paper) -> int:
    """About the bytes *paper* adds to its day's document: its text (the title is shown three
    times: in the day's list, as the heading, in a thumbnail's alternative) and its markup."""
    # The UTF-8 length of strings is that of their concatenation: one encode for all the texts
    # of the paper, its bullets walked with a stack (a generator per level cost more than the rest).
    texts = list(paper.authors)
    weight = 3 * len(paper.title.encode()) + 2 * len(texts) + 800
    todo = list(paper.summary)
    while todo:
        item = todo.pop()
        weight += 40
        texts.append(item.text)
        if item.label:
            texts.append(item.label)
        if item.children:
            todo.extend(item.children)
    return weight + len("".join(texts).encode())


@dataclass(frozen=True, slots=True)
class _Facts:
    """What a book's day list takes of a paper, whichever book it is in: its weight
    (:func:`_paper_weight`), its links as :func:`safe_url` passes them, its title's language."""

    weight: int
    link: str | None
    abs_url: str | None
    pdf_url: str | None
    hf_url: str | None
    video_url: str | None
    title_lang: str | None


def _facts(paper: Paper, known: dict[int, _Facts] | None) -> _Facts:
    """:class:`_Facts` of *paper*, from *known* (``Fragments.facts``: the books of one period
    share their papers) when it was taken for an earlier book."""
    facts = known.get(id(paper)) if known is not None else None
    if facts is None:
        thumb = paper.thumbnail
        abs_url = safe_url(paper.abs_url)
        # The link is the abstract's page when there is one (Paper.link): not checked twice.
        link = abs_url if paper.arxiv_id else safe_url(paper.link)
        facts = _Facts(_paper_weight(paper), link, abs_url,
                       safe_url(paper.pdf_url), safe_url(paper.hf_url),
                       safe_url(thumb.url) if thumb is not None and thumb.kind is ThumbnailKind.VIDEO else None,
                       language.language_of((paper.title,)))
        if known is not None:
            known[id(paper)] = facts
    return facts


def _parts(papers: Sequence[Paper], known: dict[int, _Facts] | None = None) -> list[int]:
    """Where each part of a day begins (indices into *papers*; ``[0]`` for a day kept whole):
    consecutive papers, each part within :data:`PART_BUDGET` unless one paper alone is over it."""
    weights = [_facts(p, known).weight for p in papers]
    if sum(weights) <= PART_BUDGET:
        return [0]
    starts, size = [0], 0
    for i, weight in enumerate(weights):
        if size and size + weight > PART_BUDGET:
            starts.append(i)
            size = 0
        size += weight
    return starts


def _day_views(bundle: Bundle, labels: dict[str, Any], images: _Images, lang: str,
               known: dict[int, _Facts] | None = None) -> list[DayView]:
    """The day documents of the book in spine order: one per day, or a day's parts in order
    (*known*: see :func:`_facts`)."""
    first_seen: dict[str, FirstRef] = {}
    views = []
    # Taken once per paper even when the run does not share them: _parts and _day_entries both ask.
    known = {} if known is None else known
    for digest in bundle.digests:
        date = digest.date
        starts = _parts(digest.papers, known)
        ends = starts[1:] + [len(digest.papers)]
        names = [f"day-{date.isoformat()}.xhtml" if n == 0 else f"day-{date.isoformat()}-{n + 1}.xhtml"
                 for n in range(len(starts))]
        files = [name for name, start, end in zip(names, starts, ends) for _ in range(start, end)]
        entries = _day_entries(digest, files, first_seen, images, lang, known)
        # A digest file is written in one language: a sample of its
        # summaries tells which, at a fraction of the cost of all of them.
        day_lang = _other_language(language.language_of(
            (item.text for paper in digest.papers for item in paper.summary), budget=1000), lang)
        count = labels["papers"](len(digest.papers))
        parts = len(starts)
        for n, (start, end) in enumerate(zip(starts, ends)):
            views.append(DayView(
                id=f"d-{date.isoformat()}" if n == 0 else f"d-{date.isoformat()}-{n + 1}",
                file_name=names[n],
                date_text=date.isoformat(),
                weekday=labels["weekdays"][date.weekday()],
                title=digest.title,
                count_text=count if parts == 1 else f"{count} · {n + 1}/{parts}",
                entries=tuple(entries[start:end]),
                lang=day_lang,
                part=n + 1,
                parts=parts,
            ))
    return views


def _day_entries(digest: Digest, files: Sequence[str], first_seen: dict[str, FirstRef], images: _Images,
                 lang: str, known: dict[int, _Facts] | None = None) -> list[Entry]:
    """The entries of *digest*'s papers, each in its document (*files*, by paper); *first_seen*
    (paper key -> where it is first shown) is read and completed."""
    # The day's date as the ids and the links spell it, once for all its papers.
    ymd, iso = f"{digest.date:%Y%m%d}", digest.date.isoformat()
    book_primary = language.primary(lang)
    entries = []
    used: set[str] = set()
    # The last suffix tried for each base: many papers whose ids give one slug are numbered
    # in one pass, not each by trying every suffix its predecessors took.
    tried: dict[str, int] = {}
    for paper, file_name in zip(digest.papers, files):
        key = paper.key
        first = first_seen.get(key)
        # Section ids are unique in the book: a repeat gets the date as suffix.
        base = paper.slug if first is None else f"{paper.slug}-{ymd}"
        n = tried.get(base, 1)
        sid = base if n == 1 else f"{base}-{n}"
        while sid in used:
            n += 1
            sid = f"{base}-{n}"
        tried[base] = n
        used.add(sid)
        if first is None:
            first_seen[key] = FirstRef(f"{file_name}#{sid}", iso)
        facts = _facts(paper, known)
        title_lang = facts.title_lang
        entries.append(Entry(
            paper=paper,
            id=sid,
            nav_id=f"n-{ymd}-{sid}",
            link=facts.link,
            abs_url=facts.abs_url,
            pdf_url=facts.pdf_url,
            hf_url=facts.hf_url,
            image=images.ref(paper) if first is None else None,
            video_url=facts.video_url,
            first=first,
            # _other_language, with the book's primary subtag taken once
            title_lang=title_lang if title_lang is not None and title_lang != book_primary else None,
        ))
    return entries


_NAV_PAPER_LINK = re.compile(rb'<a href="[^"#]*#[^"]*">')


def _finish_nav(nav: bytes, title_langs: dict[str, str]) -> bytes:
    """ebooklib 0.20's nav document, completed where it has no option."""
    # The nav document is in the spine (Kindle and Kobo show it as the
    # contents page); the landmarks list is for the reading system's menus,
    # not for the reader (EPUB 3.3 section 7.4.1 permits "hidden").
    nav = nav.replace(b'<nav epub:type="landmarks">', b'<nav epub:type="landmarks" hidden="hidden">', 1)
    # Its first heading is the table of contents' own: the page's h1, not an
    # h2 under nothing (WCAG 2.1 SC 1.3.1; the landmarks' h2 is hidden).
    nav = nav.replace(b"<h2>", b"<h1>", 1).replace(b"</h2>", b"</h1>", 1)
    if not title_langs:
        return nav
    # Paper titles in another language than the book's (the English titles
    # of a Korean book) say so, as in the chapters (WCAG 2.1 SC 3.1.2).
    marked = {f'<a href="{href}">'.encode(): f'<a href="{href}"{lang_attrs(lang)}>'.encode()
              for href, lang in title_langs.items()}
    return _NAV_PAPER_LINK.sub(lambda m: marked.get(m.group(0), m.group(0)), nav)


def _finish_opf(opf: bytes, lang: str) -> bytes:
    # The package's own language (EPUB 3.3 section 5.4.1.1 "xml:lang"): Ace
    # by DAISY reports its absence as serious (epub-lang), and reading
    # systems use it for the metadata (title, summary) when dc:language
    # lists several.  ebooklib 0.20 writes no xml:lang on <package>.
    fixed, n = re.subn(rb"<package ", f'<package xml:lang="{escape(lang)}" '.encode(), opf, count=1)
    if n != 1:
        raise ExporterError("ebooklib wrote a package document without <package>")
    return fixed


def _finish(entries: list[tuple[str, bytes]], lang: str, days: Sequence[DayView]) -> list[tuple[str, bytes]]:
    """The files ebooklib wrote, with :func:`_finish_opf` and :func:`_finish_nav` applied."""
    title_langs = {f"{day.file_name}#{e.id}": e.title_lang for day in days for e in day.entries if e.title_lang}
    fixes: dict[str, Callable[[bytes], bytes]] = {
        "EPUB/content.opf": lambda opf: _finish_opf(opf, lang),
        "EPUB/nav.xhtml": lambda nav: _finish_nav(nav, title_langs),
    }
    return [(name, fixes[name](content) if name in fixes else content) for name, content in entries]


_COMPRESSED_MEDIA = (".jpg", ".jpeg", ".png", ".gif", ".webp")


def _zip_deterministic(entries: list[tuple[str, bytes]], when: dt.datetime) -> bytes:
    """Zip the files ebooklib wrote: fixed timestamps and attributes,
    ``mimetype`` first and stored (OCF 3.3 section 4.3), entries in
    ebooklib's order."""
    stamp = (max(when.year, 1980), when.month, when.day, 0, 0, 0)
    ordered = sorted(entries, key=lambda e: e[0] != "mimetype")  # stable
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for name, content in ordered:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.create_system = 3  # the default depends on the OS building the book
            info.external_attr = 0o644 << 16
            if name == "mimetype":
                info.compress_type = zipfile.ZIP_STORED
                dst.writestr(info, b"application/epub+zip")
            elif name.endswith(_COMPRESSED_MEDIA):
                # JPEG/PNG do not deflate further: storing them saves the work.
                info.compress_type = zipfile.ZIP_STORED
                dst.writestr(info, content)
            else:
                info.compress_type = zipfile.ZIP_DEFLATED
                dst.writestr(info, content, compresslevel=3)
    return out.getvalue()


@dataclass(slots=True)
class _Context:
    env: Any
    css: bytes
    options: EpubOptions
    fragments: Fragments | None = None


def build_epub(bundle: Bundle, *, lang: str | None = None, env: Any = None,
               image_results: Any = None, cover: bool = True, grayscale: bool = False) -> bytes:
    """One bundle -> EPUB bytes (the library's core; :class:`BookWriter` writes files)."""
    env = env or make_environment(None)
    css = stylesheet(env)
    lang = lang or detect_language(p for d in bundle.digests for p in d.papers)
    jpeg = bundle_cover(bundle, lang, grayscale=grayscale) if cover else None
    raw = _build(bundle, _Context(env, css, EpubOptions(lang=lang, cover=cover, grayscale=grayscale)),
                 image_results, lang, jpeg)
    return _zip_deterministic(raw, _modified(bundle))


def bundle_cover(bundle: Bundle, lang: str, *, grayscale: bool = False, device: DeviceProfile = GENERIC,
                 many: bool = False) -> bytes:
    """The generated cover JPEG of *bundle*, labelled in *lang*, sized for *device* (*many*: the
    covers of many books of its title follow, :func:`exporter.books.cover.make_cover`)."""
    return _cover_jpeg(cover_text(bundle, lang), grayscale or device.grayscale, device.cover_size, many)


#: The last covers drawn, by what they show: the cover drawn for warm_up (before the workers
#: fork) is not drawn and encoded again (10 ms) by the worker that builds its book.
_COVERS: dict[tuple[CoverText, bool, tuple[int, int]], bytes] = {}


def _cover_jpeg(text: CoverText, grayscale: bool, size: tuple[int, int], many: bool = False) -> bytes:
    key = (text, grayscale, size)
    jpeg = _COVERS.get(key)
    if jpeg is None:
        jpeg = make_cover(text, grayscale=grayscale, size=size, many=many)
        while len(_COVERS) >= 4:
            del _COVERS[next(iter(_COVERS))]
        _COVERS[key] = jpeg
    return jpeg


def cover_text(bundle: Bundle, lang: str) -> CoverText:
    """What the cover of *bundle* says, labelled in *lang*."""
    labels = labels_for(lang)
    en = LABELS["en"]
    return CoverText(
        title=bundle.title,
        key="" if bundle.by is BundleBy.ALL else bundle.key,
        period=period_text(bundle),
        count=f"{labels['papers'](bundle.paper_count)} · {labels['days'](bundle.days)}",
        latin_count=f"{en['papers'](bundle.paper_count)} · {en['days'](bundle.days)}",
    )


def cover_alt(bundle: Bundle, lang: str) -> str:
    """The cover image's text alternative: the text printed on it (WCAG 2.1
    SC 1.1.1; the cover is an image of that text and nothing else)."""
    text = cover_text(bundle, lang)
    return f"{labels_for(lang)['cover']}: " + ", ".join(
        part for part in (text.title, text.key, text.period, text.count) if part)


def _build(bundle: Bundle, ctx: _Context, image_results: Any, lang: str,
           cover_jpeg: bytes | None) -> list[tuple[str, bytes]]:
    """The files of the book as ebooklib writes them, in its order (not yet zipped)."""
    from ebooklib import epub

    labels = labels_for(lang)
    info = BookInfo(
        title=book_title(bundle, labels, selection=ctx.options.selection),
        series=bundle.title,
        lang=lang,
        identifier=book_identifier(bundle),
        modified=_modified(bundle),
        period_text=period_text(bundle),
        description=(f"{labels['description']}: {labels['papers'](bundle.paper_count)}, "
                     f"{labels['days'](bundle.days)}, {period_text(bundle)}."),
    )
    images = _Images(image_results)
    days = _day_views(bundle, labels, images, lang, ctx.fragments.facts if ctx.fragments is not None else None)

    book = _new_book(bundle, info, labels, cover=cover_jpeg is not None, thumbnails=bool(images.items))
    style = epub.EpubItem(uid="style", file_name=STYLESHEET, media_type="text/css", content=ctx.css)
    book.add_item(style)

    spine: list[Any] = []
    guide: list[dict[str, str]] = []
    if cover_jpeg is not None:
        spine.append(_add_cover(book, ctx, info, labels, bundle, cover_jpeg, style))
        guide.append({"type": "cover", "href": "cover.xhtml", "title": labels["cover"]})

    nav = epub.EpubNav(uid="nav", file_name="nav.xhtml", title=labels["contents"])
    nav.add_item(style)
    book.add_item(nav)
    book.add_item(epub.EpubNcx())
    spine.append(nav)
    guide.append({"type": "toc", "href": "nav.xhtml", "title": labels["contents"]})

    toc = _add_days(book, ctx, info, labels, days, style, spine)
    if days:
        guide.append({"type": "text", "href": days[0].file_name, "title": labels["start"]})

    for name, (data, media_type) in sorted(images.items.items()):
        book.add_item(epub.EpubImage(uid="img-" + name.split("/")[-1].split(".")[0],
                                     file_name=name, media_type=media_type, content=data))

    book.toc = toc
    book.spine = spine
    book.guide = guide  # ebooklib 11: EPUB 2 guide + EPUB 3 landmarks

    if ctx.options.templates is not None:
        _check_stylesheet_files(ctx, style.file_name, frozenset(item.file_name for item in book.items))
    entries: list[tuple[str, bytes]] = []
    with _ebooklib_shims():
        ok = _write_epub(epub, entries, book, info, labels)
    if not ok:
        raise ExporterError(f"ebooklib could not write the book {bundle.file_name}")
    if ctx.options.templates is not None:
        _check_links(getattr(book, "_checked", {}), entries)
    return _finish(entries, lang, days)


def _contents_links(written: dict[str, bytes]) -> list[tuple[str, str, str]]:
    """(document, id, contents file) of every link of the book's navigation document and NCX
    into a document: the places a template's day must keep."""
    from lxml import etree

    found = []
    for contents in ("nav.xhtml", "toc.ncx"):
        data = written.get(f"EPUB/{contents}")
        if not data:
            continue
        root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
        for el in root.iter("{*}a", "{*}content"):
            href = el.get("href") or el.get("src") or ""
            target, _, fragment = href.partition("#")
            if fragment:
                found.append((target, fragment, contents))
    return found


def _check_links(checked: dict[str, Any], entries: list[tuple[str, bytes]]) -> None:
    """A link from a template's document to a fragment of another document of the book names an
    id that document holds (EPUBCheck RSC-012): known only once every document is rendered."""
    from ..gates.xhtml import book_problems

    outward = {name: c.outward for name, (_, c) in checked.items() if c.outward}
    ids = {name: c.ids for name, (_, c) in checked.items()}
    written = dict(entries)
    for target, fragment, contents in _contents_links(written):
        if target in checked and fragment not in ids[target]:
            raise TemplateError(
                f"{checked[target][0]}: error: the template made {target} without the id {fragment!r}, to which "
                f"the table of contents ({contents}) links (EPUBCheck RSC-012): keep id=\"{{{{ day.id }}}}\" on "
                "the day and id=\"{{ e.id }}\" on each paper")
    for _, links in outward.items():
        for _, target, _ in links:
            if target not in ids:  # a document no template made (nav.xhtml): its ids as written
                ids[target] = _ids_of(written.get(f"EPUB/{target}", b""))
    for name, found in book_problems(ids, outward).items():
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise TemplateError(f"{checked[name][0]}: error: the template made {name}, in which {found[0]}{more}")


def _ids_of(doc: bytes) -> frozenset[str]:
    from lxml import etree

    try:
        root = etree.fromstring(doc, etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True))
    except etree.XMLSyntaxError:
        return frozenset()
    return frozenset(el.get("id") for el in root.iter() if isinstance(el.tag, str) and el.get("id") is not None)


def _add_cover(book: Any, ctx: _Context, info: BookInfo, labels: dict[str, Any], bundle: Bundle,
               cover_jpeg: bytes, style: Any) -> Any:
    """The cover image, and our own cover page, returned for the spine."""
    Document = _document_class()
    lang = info.lang
    # ebooklib 5: set_cover adds the cover-image item and <meta name="cover">
    # (Kobo, older Kindles); its own page would be unscaled and outside the
    # spine, so we write our own.
    book.set_cover("images/cover.jpg", cover_jpeg, create_page=False)
    page = Document(uid="cover", file_name="cover.xhtml", title=labels["cover"], lang=lang)
    page.check = _template_label(ctx, "cover.xhtml.j2")
    page.content = render_template(ctx.env, "cover.xhtml.j2", book=info,
                                   cover={"href": "images/cover.jpg", "alt": cover_alt(bundle, lang)},
                                   labels=labels)
    page.add_item(style)
    book.add_item(page)
    return page


def _new_book(bundle: Bundle, info: BookInfo, labels: dict[str, Any], *, cover: bool, thumbnails: bool) -> Any:
    """An ebooklib book with the package metadata (Dublin Core, series, accessibility)."""
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier(info.identifier)  # ebooklib 8: not the random uuid4
    book.set_title(info.title)
    book.set_language(info.lang)  # ebooklib 2
    book.add_author(bundle.title, uid="creator-series", role="edt")  # ebooklib 1: unique uids
    book.add_author(PUBLISHER, uid="creator-tool", role="bkp")
    book.add_metadata("DC", "publisher", PUBLISHER)
    book.add_metadata("DC", "description", info.description)
    book.add_metadata("DC", "date", max(d.date for d in bundle.digests).isoformat())
    # The period, as an ISO 8601 interval: the OPDS catalog reads it from here.
    book.add_metadata("DC", "coverage", f"{bundle.start.isoformat()}/{bundle.end.isoformat()}")
    for subject in SUBJECTS:
        book.add_metadata("DC", "subject", subject)
    _series_metadata(book, bundle)
    _accessibility_metadata(book, labels, cover=cover, thumbnails=thumbnails)

    return book


def _add_days(book: Any, ctx: _Context, info: BookInfo, labels: dict[str, Any], days: list[DayView],
              style: Any, spine: list[Any]) -> list[Any]:
    """One chapter per day, appended to *spine*; returns the table of contents (day -> papers)."""
    from ebooklib import epub

    Document = _document_class()
    lang = info.lang
    toc: list[Any] = []
    check = _template_label(ctx, "day.xhtml.j2")
    for day in days:
        title = f"{day.date_text} ({day.weekday})"
        chapter = Document(uid=day.id, file_name=day.file_name,
                           title=title if day.part == 1 else f"{title} {day.part}/{day.parts}", lang=lang)
        chapter.content = _render_day(ctx, day, info, labels)
        chapter.add_item(style)  # ebooklib 4: <head> of the content would be dropped
        chapter.check = check
        book.add_item(chapter)
        spine.append(chapter)
        # ebooklib 6 and 7: explicit uids from date + paper id, in spine order.
        links = [epub.Link(f"{day.file_name}#{e.id}", title_text(e.paper.title), uid=e.nav_id)
                 for e in day.entries]
        if day.part > 1:
            # A day's later parts: their papers are the day's, under its first part.
            toc[-1][1].extend(links)
            continue
        # A day heading without papers (docs/format.md, variant 9): as a
        # section, ebooklib writes an empty <ol/>, which the nav's schema
        # forbids (EPUBCheck RSC-005; found by tests/test_hostile_property.py).
        toc.append((chapter, links) if links else chapter)
    return toc


class Fragments:
    """The packaged day template's ``paper`` block as rendered for each paper of one run.

    A paper is in the whole week's book and in each selection's book it passes; its block is the
    same markup in each (the packaged block reads only the entry, the day's and the book's
    language), so it is rendered once per run.  Keyed by ``id`` of the paper, which the run's
    model holds while its books are built (as the selections' folded texts are).  Built here, the
    books of a run share :attr:`known`; a forked worker builds one period's books in one task
    (:func:`exporter.books.workers.make_batches`) and keeps its papers for that task only.
    """

    __slots__ = ("known", "fresh", "facts", "images")

    def __init__(self) -> None:
        self.known: dict[tuple[Any, ...], str] = {}
        self.fresh: dict[tuple[Any, ...], str] = {}
        #: id of a paper -> its :class:`_Facts` (kept, like :attr:`known`, for one task in a worker).
        self.facts: dict[int, _Facts] = {}
        #: The thumbnails the period's books loaded (``exporter.images.load_images``' *known*):
        #: kept for one period, here too, since a week of thumbnails is megabytes.
        self.images: dict[tuple[Any, str], Any] = {}

    def next_period(self) -> None:
        """A worker's next task: the papers of another period."""
        self.known.clear()
        self.facts.clear()
        self.period_done()

    def period_done(self) -> None:
        """The books of a period are built: its thumbnails are not needed again."""
        self.images.clear()

    def take_fresh(self) -> dict[tuple[Any, ...], str]:
        fresh, self.fresh = self.fresh, {}
        return fresh


def _render_day(ctx: _Context, day: DayView, info: BookInfo, labels: dict[str, Any]) -> str:
    """The day document's body fragment: a user's ``day.xhtml.j2`` through jinja2, else the
    packaged template's markup from :mod:`exporter.books.day_page`, each ``paper`` block taken
    from :class:`Fragments` when the run shares them (a selection's book shows the whole week's
    papers again)."""
    templates = ctx.options.templates
    if templates is not None and os.path.lexists(Path(templates) / "day.xhtml.j2"):
        return render_template(ctx.env, "day.xhtml.j2", day=day, book=info, labels=labels)
    from ..templating import MAX_OUTPUT_CHARS, checked_output, get_template
    from .day_page import paper_block, render_day

    fragments = ctx.fragments
    if fragments is None:
        text = render_day(day, info, labels)
    else:
        known, fresh, langs = fragments.known, fragments.fresh, (day.lang, info.lang)

        def paper(e: Entry) -> str:
            # What the packaged block shows besides the paper itself (labels follow info.lang).
            key = (id(e.paper), e.id, e.first, e.image, e.video_url, e.title_lang, langs)
            html = known.get(key)
            if html is None:
                html = known[key] = fresh[key] = paper_block(e, day, info, labels)
            return html

        text = render_day(day, info, labels, paper)
    # The template, for the message (compiled only then: the packaged day page never needs it).
    return checked_output(get_template(ctx.env, "day.xhtml.j2"), text) if len(text) > MAX_OUTPUT_CHARS else text


def _write_epub(epub: Any, sink: list[tuple[str, bytes]], book: Any, info: BookInfo,
                labels: dict[str, Any]) -> bool:
    return epub.write_epub(sink, book, {
        "raise_exceptions": True,  # ebooklib 10
        "mtime": info.modified.replace(tzinfo=None),  # ebooklib 8: dcterms:modified from the data
        "landmark_title": labels["guide"],
        "epub3_pages": False,  # no page list; it would re-parse every document
    })


_XHTML_HEAD = (
    "<?xml version='1.0' encoding='utf-8'?>\n<!DOCTYPE html>\n"
    '<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops" '
    'lang="{lang}" xml:lang="{lang}">\n<head>\n<title>{title}</title>\n{links}</head>\n<body>\n'
)


@functools.cache
def _document_class() -> Any:
    """An ``EpubHtml`` that writes its document from the template output as is.

    ``EpubHtml.get_content`` re-parses every body fragment with lxml's HTML
    parser and serialises it again (a fifth of ebooklib's time for a year of
    books), which also causes ebooklib 3 and 4.  Our templates give
    well-formed XHTML fragments; those from a user's ``--templates`` folder
    (``check``) are parsed as XML first, so a broken one is reported instead
    of making an invalid book.  Language, title and CSS links come from the
    same attributes ebooklib uses (ebooklib 2: ``lang`` on every document).
    """
    from ebooklib import epub
    from markupsafe import escape

    class Document(epub.EpubHtml):  # type: ignore[misc]
        check: str | None = None  # the template (file name) that made a document to check

        def get_content(self, default: Any = None) -> bytes:
            links = "".join(
                f'<link href="{escape(link["href"])}" rel="stylesheet" type="text/css"/>\n'
                for link in self.links if link.get("rel") == "stylesheet")
            lang = escape(self.lang or self.book.language)
            doc = (_XHTML_HEAD.format(lang=lang, title=escape(self.title), links=links)
                   + self.content + "\n</body>\n</html>\n").encode("utf-8")
            if self.check:
                from ..gates.xhtml import check

                # Once per book, not per document: a day in parts is many documents of a book
                # that may hold a thumbnail per paper.
                items = self.book.items
                known = getattr(self.book, "_files_in_book", None)
                if known is None or known[0] != len(items):
                    known = self.book._files_in_book = (len(items), frozenset(i.file_name for i in items))
                in_book = known[1]
                checked = check(doc, self.file_name, in_book)
                # For the check of links into other documents, once all are written (_check_links).
                if not hasattr(self.book, "_checked"):
                    self.book._checked = {}
                self.book._checked[self.file_name] = (self.check, checked)
                found = checked.problems
                if found:
                    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
                    raise TemplateError(f"{self.check}: error: the template made {self.file_name}, in which "
                                        f"{found[0]}{more}")
            return doc

    return Document


def _check_stylesheet_files(ctx: _Context, place: str, in_book: frozenset[str]) -> None:
    """Every relative ``url()`` of the stylesheet (``epub.css`` and ``extra.css`` of the user's
    templates) must name a file the book holds (EPUBCheck RSC-007): nothing of the templates
    folder but these two files is packaged."""
    import posixpath
    from urllib.parse import unquote

    from ..gates.css import references
    from ..gates.names import shell_quote

    css = ctx.css.decode("utf-8") if isinstance(ctx.css, bytes) else ctx.css
    marker = "\n\n/* extra.css */\n"
    split = css.count("\n", 0, css.index(marker)) + 4 if marker in css else None
    for ref in references(css):
        path = ref.url.split("#", 1)[0].split("?", 1)[0]
        if not path or ref.url.lstrip().lower().startswith("data:"):
            continue
        target = posixpath.normpath(posixpath.join(posixpath.dirname(place), unquote(path)))
        if target in in_book:
            continue
        name, line = ("extra.css", ref.line - split + 1) if split and ref.line >= split else ("epub.css", ref.line)
        where = shell_quote(str(Path(ctx.options.templates) / name))
        raise TemplateError(f"{where}:{line}: error: {ref.what} {ref.url!r} names {target}, which is not in the book "
                            "(nothing of the templates folder but the stylesheets is packaged)")


def _template_label(ctx: _Context, name: str) -> str | None:
    """The file of template *name* as a message names it, when a user's templates are in play
    (only then is what it renders checked), else None."""
    if ctx.options.templates is None:
        return None
    from ..gates.names import shell_quote
    from ..templating import get_template

    return shell_quote(get_template(ctx.env, name).filename or name)


class _NavPaths:
    """Stand-in for ``posixpath`` inside ``ebooklib.epub`` while it writes.

    ebooklib 0.20 computes every nav link with ``posixpath.relpath(href, "")``,
    which calls ``os.getcwd()`` twice per link: 15 % of the time of a year of
    books.  With an empty start and a relative href (all of ours) the result
    is ``normpath(href)``; anything else is handed to posixpath.
    """

    def __getattr__(self, name: str) -> Any:
        import posixpath

        return getattr(posixpath, name)

    @staticmethod
    def relpath(path: str, start: str | None = None) -> str:
        import posixpath

        if not start and path and not path.startswith("/"):
            return posixpath.normpath(path)
        return posixpath.relpath(path, start)


class _CapturedZip:
    """Stand-in for ``zipfile.ZipFile`` inside ``ebooklib.epub`` while it writes.

    ebooklib zips every file as it goes; the zip must then be rewritten
    anyway (ebooklib 8: timestamps, order).  Collecting ``(name, bytes)``
    instead saves compressing, checksumming and reading back 10 MB of XHTML
    a year, and the one real compression runs in the writer thread.
    """

    def __init__(self, sink: list[tuple[str, bytes]], *args: Any, **kwargs: Any):
        self.sink = sink

    def writestr(self, name: Any, data: str | bytes, *args: Any, **kwargs: Any) -> None:
        if isinstance(name, zipfile.ZipInfo):
            name = name.filename
        self.sink.append((name, data.encode("utf-8") if isinstance(data, str) else bytes(data)))

    def close(self) -> None:
        pass


class _ZipModule:
    ZipFile = _CapturedZip

    def __getattr__(self, name: str) -> Any:
        return getattr(zipfile, name)


@contextlib.contextmanager
def _ebooklib_shims() -> Any:
    """Swap :class:`_NavPaths` and :class:`_ZipModule` into ``ebooklib.epub``,
    and :func:`exporter.books.ncx.ncx_document` in for its NCX writer, for one
    ``write_epub`` call (main thread only)."""
    from ebooklib import epub

    from .ncx import ncx_document

    original = epub.zip_path, epub.zipfile, epub.EpubWriter._get_ncx
    ebooklib_ncx = original[2]

    def get_ncx(writer: Any) -> bytes:
        made = ncx_document(writer)
        return made if made is not None else ebooklib_ncx(writer)

    epub.zip_path, epub.zipfile, epub.EpubWriter._get_ncx = _NavPaths(), _ZipModule(), get_ncx
    try:
        yield
    finally:
        epub.zip_path, epub.zipfile, epub.EpubWriter._get_ncx = original


def _series_metadata(book: Any, bundle: Bundle) -> None:
    # EPUB 3.3 section 5.5.6 (collections) and calibre's EPUB 2 convention.
    book.add_metadata(None, "meta", bundle.title, {"property": "belongs-to-collection", "id": "series"})
    book.add_metadata(None, "meta", "series", {"refines": "#series", "property": "collection-type"})
    book.add_metadata(None, "meta", str(bundle.position), {"refines": "#series", "property": "group-position"})
    book.add_metadata(None, "meta", "", {"name": "calibre:series", "content": bundle.title})
    book.add_metadata(None, "meta", "", {"name": "calibre:series_index", "content": str(bundle.position)})


def _accessibility_metadata(book: Any, labels: dict[str, Any], *, cover: bool, thumbnails: bool) -> None:
    """Discovery metadata (EPUB Accessibility 1.1 section 2), each claim one
    the packaged templates make true and tests/test_epub_ace.py checks with
    Ace by DAISY (docs/accessibility.md).

    No ``dcterms:conformsTo``: a conformance claim (section 4.1) is about all
    of WCAG for the whole publication, and the text of these books comes
    from unreviewed machine-written digests (link text, passages in a third
    language, anything at all: see tests/hostile_corpus.py), and thumbnails
    are figures whose content we cannot describe, so their alternatives name
    the paper instead (not the equivalent SC 1.1.1 asks for).  No
    ``pageBreakMarkers``/``printPageNumbers`` and no page list: the books
    have no print edition whose pages could be marked.
    """
    images = cover or thumbnails
    for mode in ["textual"] + (["visual"] if images else []):
        book.add_metadata(None, "meta", mode, {"property": "schema:accessMode"})
    # Cover and thumbnails add nothing the text does not say (the cover's
    # alternative is its text): text alone is enough.
    book.add_metadata(None, "meta", "textual", {"property": "schema:accessModeSufficient"})
    # displayTransformability: reflowable, sizes in em and %, no fixed fonts
    # or colours (templates/epub.css).
    features = ["structuralNavigation", "tableOfContents", "readingOrder", "displayTransformability"]
    if images:
        features.append("alternativeText")
    for feature in features:
        book.add_metadata(None, "meta", feature, {"property": "schema:accessibilityFeature"})
    # No sound, video, animation or flashing: thumbnails are re-encoded
    # single frames (exporter/images.py), videos are links.
    book.add_metadata(None, "meta", "none", {"property": "schema:accessibilityHazard"})
    summary = labels["a11y"] + (" " + labels["a11y_thumbnails"] if thumbnails else "")
    book.add_metadata(None, "meta", summary, {"property": "schema:accessibilitySummary"})


# -- many books ----------------------------------------------------------------

def image_options(options: EpubOptions) -> Any:  # -> exporter.images.ImageOptions
    """How the books' thumbnails are fetched and converted."""
    from ..images import ImageOptions

    device = options.profile
    box = {} if device is GENERIC else dict(zip(("max_width", "max_height"), device.picture_box))
    return ImageOptions(cache_dir=options.cache_dir, grayscale=options.grayscale or device.grayscale,
                        timeout=options.image_timeout, allow_private_hosts=options.allow_private_hosts, **box)


def _image_loader(options: EpubOptions, report: EpubReport,
                  fragments: Fragments | None = None) -> Callable[[Sequence[Paper]], Any] | None:
    """What loads a book's thumbnails (None: none are embedded); with *fragments*, a picture the
    period's earlier books loaded is taken from there (:attr:`Fragments.images`)."""
    if options.images == "none":
        return None
    check_options(options)
    try:
        from ..images import load_images
    except ImportError:
        report.notes.append(Diagnostic(None, Severity.WARNING, "thumbnail support (exporter.images) is not "
                                       "available; thumbnails left out", Kind.THUMBNAIL))
        return None
    settings = image_options(options)

    def load(papers: Sequence[Paper]) -> Any:
        results = load_images(papers, settings, known=fragments.images if fragments is not None else None)
        report.image_failures.extend(results.failures)
        return results

    return load


def check_options(options: EpubOptions) -> None:
    """UsageError for book options that cannot work."""
    if options.lang is not None:
        from ..gates.langtags import LanguageTagRefused, check_tag

        try:
            check_tag(options.lang)
        except LanguageTagRefused as err:
            raise UsageError(f"--lang {options.lang!r} cannot be used: {err}") from err
    if options.images not in ("embed", "none"):
        raise UsageError(f"--images must be 'embed' or 'none', not {options.images!r}")
    for name in (options.device, *options.devices):
        device_profile(name)
    if options.font_bold is not None and options.font is None:
        raise UsageError("--font-bold needs --font (the regular face)")
    fonts(options)


def fonts(options: EpubOptions) -> tuple[Any, Any]:
    """The checked ``--font`` and ``--font-bold`` (exporter.books.fonts.FontSource), or None each."""
    if options.font is None:
        return None, None
    from .fonts import load_font

    return (load_font(options.font, "--font"),
            load_font(options.font_bold, "--font-bold") if options.font_bold is not None else None)


def check_templates(options: EpubOptions, digests: Sequence[Digest]) -> None:
    """Render the user's book templates once, in memory, through the same checks every book's
    documents pass (the book template gate, :mod:`exporter.gates.xhtml`, as :func:`_build`
    applies it), before a run writes anything: a template the gate refuses (an ``onclick``, a
    form control, an invalid ``lang``) raises :class:`TemplateError` naming it, and the feeds
    and catalog written while the books are made are never half-updated.

    The sample is the run's first book (the first with papers) with a placeholder picture for
    every paper that has a thumbnail: the template's branches for thumbnails, authors, votes and
    links run as in the real books, and a link to another day of the book finds its document,
    without the network.  A synthetic bundle would refuse a link to a real day's document; one
    day of the book alone too.  The gate cannot be run on a template's static markup: a Jinja
    template is not XHTML until it is rendered (its tags are built from expressions, loops and
    blocks inherited from the packaged templates).  A branch only a later book takes can still
    be refused in its own book; that book is then the run's one error, as before."""
    if options.templates is None:
        return
    bundle = next((b for b in make_bundles(digests, options.by, date_from=options.date_from,
                                           date_to=options.date_to, title=options.title)
                   if b.paper_count), None)
    if bundle is None:
        return
    env = make_environment(options.templates)
    ctx = _Context(env, stylesheet(env), options, None)
    picture = _placeholder_picture()
    papers = [p for d in bundle.digests for p in d.papers]
    pictures = {p: picture for p in papers if p.thumbnail is not None}
    _build(bundle, ctx, pictures, options.lang or detect_language(papers),
           picture.data if options.cover else None)


@functools.cache
def _placeholder_picture() -> Any:
    """A 1x1 PNG standing in for thumbnails and the cover in :func:`check_templates`."""
    from PIL import Image

    from ..images.model import EmbeddedImage

    buf = io.BytesIO()
    Image.new("L", (1, 1)).save(buf, "PNG")
    return EmbeddedImage(buf.getvalue(), "image/png", 1, 1)


@dataclass(slots=True)
class BookWriter:
    """What every book of one run shares: templates, CSS, the image loader.

    The pipeline (:mod:`exporter.pipeline`, possibly in worker processes)
    makes each book with :meth:`render`, then :meth:`write`.
    """

    options: EpubOptions
    report: EpubReport
    ctx: _Context
    load: Callable[[Sequence[Paper]], Any] | None

    @classmethod
    def create(cls, options: EpubOptions, report: EpubReport | None = None,
               fragments: Fragments | None = None) -> BookWriter:
        """*fragments*: the papers' markup shared by the books of one run (see :class:`Fragments`)."""
        report = report if report is not None else EpubReport()
        env = make_environment(options.templates)
        ctx = _Context(env, stylesheet(env), options, fragments)
        return cls(options, report, ctx, _image_loader(options, report, fragments))

    def render(self, bundle: Bundle) -> tuple[list[tuple[str, bytes]], Any, list[Paper]]:
        """(the book's files, unzipped; image results; the bundle's papers)."""
        options = self.options
        papers = [p for d in bundle.digests for p in d.papers]
        lang = options.lang or detect_language(papers)
        image_results = self.load(papers) if self.load else None
        jpeg = (bundle_cover(bundle, lang, grayscale=options.grayscale, device=options.profile)
                if options.cover else None)
        raw = _build(bundle, self.ctx, image_results, lang, jpeg)
        if options.font is not None:
            from .fonts import embed_fonts

            raw, notes = embed_fonts(raw, *fonts(options))
            self.report.notes.extend(Diagnostic(None, Severity.WARNING if "boxes" in note else Severity.NOTE,
                                                note, Kind.OUTPUT) for note in notes)
        if options.profile.kepub:
            from .kepub import kepubify

            raw = kepubify(raw)
        return raw, image_results, papers

    def warm_up(self, bundle: Bundle) -> None:
        """Import ebooklib, compile the templates and draw the cover canvas
        once, here, before worker processes are forked (they inherit it)."""
        from ebooklib import epub  # noqa: F401

        from ..templating import get_template

        _document_class()
        templates = self.options.templates
        # The packaged day template is never compiled (exporter.books.day_page writes its markup).
        user_day = templates is not None and os.path.lexists(Path(templates) / "day.xhtml.j2")
        for name in ("day.xhtml.j2", "cover.xhtml.j2") if user_day else ("cover.xhtml.j2",):
            get_template(self.ctx.env, name)
        # The templates check each lang attribute they write: langcodes' data takes 55 ms to
        # load, once here rather than in every worker.
        from ..gates.langtags import check_tag

        check_tag(self.options.lang or "en")
        if self.options.cover:
            papers = [p for d in bundle.digests for p in d.papers]
            bundle_cover(bundle, self.options.lang or detect_language(papers), grayscale=self.options.grayscale,
                         device=self.options.profile, many=True)

    def path(self, bundle: Bundle) -> Path:
        return Path(self.options.out_dir) / bundle.file_name

    @staticmethod
    def zipped(raw: list[tuple[str, bytes]], bundle: Bundle) -> bytes:
        """The EPUB file of the book's files (what :meth:`write_zipped` writes)."""
        return _zip_deterministic(raw, _modified(bundle))

    @staticmethod
    def write_zipped(data: bytes, path: Path) -> WriteStatus:
        return write_file(path, data)

    @staticmethod
    def image_count(image_results: Any, papers: Sequence[Paper]) -> int:
        if image_results is None:
            return 0
        return len({p.key for p in papers if image_results.get(p) is not None})

