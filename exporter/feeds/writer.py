"""Digests -> Atom 1.0, RSS 2.0, JSON Feed 1.1, OPDS 1.2 and RFC 5005 archives.

:func:`write_feed_files` writes the feed files for ``digest-export feed`` and ``build`` (through :mod:`exporter.pipeline`).
Entries (ids, dates, language, links) come from :mod:`exporter.feeds.entries`,
HTML content only from :mod:`exporter.render`.  Atom and RSS go through
feedgen 1.0.0, with its traps worked around (docs/library-workarounds.md;
each cited below as "feedgen N").  Nothing here reads the clock, so the same
input and options give the same bytes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import OutputError, UsageError
from .entries import (
    FeedEntry,
    FeedInfo,
    build_entries,
    feed_info,
    feed_language,
    hex_refs_in_text,
    select_entries,
    tag_uri,
    with_content,
)
from ..model import RUN_ONLY, Diagnostic, Kind, ReadResult, Severity, SourceRef
from ..output import WriteStatus, marked, may_write, write_file
from ..render import feed_entry_html, text_html

FORMATS = ("atom", "rss", "json", "opds")
DEFAULT_FORMATS = ("atom", "rss", "json")
FILE_NAMES = {"atom": "feed.atom", "rss": "feed.rss", "json": "feed.json", "opds": "catalog.opds"}
ARCHIVE_DIR = "archive"
ICON_NAME = "icon.png"
#: The W3C Feed Validator refuses feeds above 5,000,000 bytes; several
#: readers stop at 5 to 15 MB.
MAX_FEED_BYTES = 5_000_000
NO_BASE_URL = Diagnostic(None, Severity.NOTE,
                         "no --base-url: the feeds have no self link, no icon, and feed readers cannot resolve "
                         "the archive or catalog links; give the public URL of the output folder", Kind.OUTPUT)
ATOM_TYPE = "application/atom+xml"
RSS_TYPE = "application/rss+xml"
JSON_TYPE = "application/feed+json"
_TEASER_CHARS = 280


@dataclass(frozen=True, slots=True)
class FeedOptions:
    """What ``digest-export feed`` was asked to do."""

    out_dir: Path = field(default=Path("."), metadata=RUN_ONLY)
    formats: tuple[str, ...] = DEFAULT_FORMATS
    base_url: str | None = None
    title: str | None = None
    days: int | None = None
    limit: int | None = None
    all: bool = False
    archive: bool = False


@dataclass(slots=True)
class FeedReport:
    """What the feed files and the catalog came to: files, entry counts, and advice."""

    files: list[tuple[Path, WriteStatus]] = field(default_factory=list)
    entries: int = 0
    archives: int = 0
    books: int = 0
    warnings: list[Diagnostic] = field(default_factory=list)
    #: What feed readers will miss (e.g. no --base-url), as notes.
    missing: list[Diagnostic] = field(default_factory=list)
    #: The feed title and icon, as the OPDS catalog uses them.
    title: str = ""
    icon_url: str | None = None


def normalize_base_url(url: str | None) -> str | None:
    """The folder URL, ending in ``/``; a UsageError if not absolute http(s).

    The one place a base URL is checked: a path, a port and non-ASCII
    (percent-escaped by :func:`safe_url`) are fine; a query or fragment is
    refused, since every page, book and cover URL is the base plus a path
    (RFC 3986 section 5.2: a relative path would drop the query)."""
    if url is None:
        return None
    from ..gates.urls import URLRefused, check_base_url

    try:
        return check_base_url(url)
    except URLRefused as err:
        raise UsageError(f"--base-url {url!r} cannot be used: {err}") from err


def check_options(options: FeedOptions) -> None:
    chosen = [n for n, v in (("--days", options.days is not None), ("--limit", options.limit is not None),
                             ("--all", options.all)) if v]
    if len(chosen) > 1:
        # The first named first, as every check names its option (the config's key, when the value
        # came from there: cli.options.named_where_given), the others after it.
        raise UsageError(f"{chosen[0]} cannot be used together with {' and '.join(chosen[1:])} (each says "
                         "which entries the feed holds)")
    for name, value in (("--days", options.days), ("--limit", options.limit)):
        if value is not None and value < 1:
            raise UsageError(f"{name} must be at least 1")
    if options.archive and options.formats and "atom" not in options.formats:
        raise UsageError("--archive writes Atom archives linked from feed.atom: add --format atom")
    unknown = [f for f in options.formats if f not in FORMATS]
    if unknown:
        raise UsageError(f"unknown format {unknown[0]!r} (choose from {', '.join(FORMATS)})")


def write_feed_files(result: ReadResult, options: FeedOptions, *,
                     seen_keys: frozenset[str] = frozenset(),
                     keep: Callable[[dt.date, str], bool] | None = None) -> FeedReport:
    """Write the feeds chosen in *options* (not the catalog: :func:`exporter.site.opds.write_catalog`,
    once the books are written) for *result* into ``options.out_dir``.

    *seen_keys*: paper keys of older digests left out of *result* (see
    :func:`exporter.feeds.entries.build_entries`); *keep*: which first
    appearances a selection's feed holds (see ``build_entries``).
    """
    check_options(options)
    base_url = normalize_base_url(options.base_url)
    out = Path(options.out_dir)
    report = FeedReport()
    entries, archive_weeks = _entries(result, options, seen_keys, keep)
    icon_url = None
    if base_url:
        icon_url = base_url + ICON_NAME
        report.files.append((out / ICON_NAME, write_icon(out / ICON_NAME)))
    info = feed_info(entries, result.digests, title=options.title, base_url=base_url, icon_url=icon_url)
    report.entries = len(entries)
    report.title, report.icon_url = info.title, icon_url
    formats = tuple(dict.fromkeys(options.formats or DEFAULT_FORMATS))
    outputs = _feed_documents(info, entries, formats, archive_weeks)
    report.archives = len(archive_weeks)
    write_outputs(out, outputs, report)
    if not base_url:
        report.missing.append(NO_BASE_URL)
    return report


def _entries(result: ReadResult, options: FeedOptions, seen_keys: frozenset[str],
             keep: Callable[[dt.date, str], bool] | None = None) -> tuple[list[FeedEntry], dict[tuple[int, int], list[FeedEntry]]]:
    """The entries of the feeds, rendered, and with ``--archive`` every week's."""
    def window(items: list) -> list:
        return select_entries(items, days=options.days, limit=options.limit, everything=options.all)

    archive_weeks: dict[tuple[int, int], list[FeedEntry]] = {}
    if options.archive:
        everything = build_entries(result.digests, seen=seen_keys, keep=keep)
        archive_weeks, entries = split_archives(everything, window(everything))
    else:
        # Only the entries of the window are made (a year holds ~8,000).
        entries = build_entries(result.digests, seen=seen_keys, select=window, keep=keep)
    # Render each written entry once, for every format.
    entries = with_content(entries)
    if archive_weeks:
        rendered = {e.id: e for e in entries}
        archive_weeks = {w: [rendered.get(e.id) or e for e in es] for w, es in archive_weeks.items()}
        archive_weeks = {w: with_content(es) for w, es in archive_weeks.items()}
    return entries, archive_weeks


def _feed_documents(info: FeedInfo, entries: list[FeedEntry], formats: tuple[str, ...],
                    archive_weeks: dict[tuple[int, int], list[FeedEntry]]) -> list[tuple[str, bytes]]:
    """(file name, bytes) of each feed and archive document."""
    newest_archive = archive_name(max(archive_weeks)) if archive_weeks else None
    outputs: list[tuple[str, bytes]] = []
    if "atom" in formats or "rss" in formats:
        atom, rss = atom_and_rss(info, entries, prev_archive=newest_archive,
                                 want_atom="atom" in formats, want_rss="rss" in formats)
        if atom is not None:
            outputs.append((FILE_NAMES["atom"], atom))
        if rss is not None:
            outputs.append((FILE_NAMES["rss"], rss))
    if "json" in formats:
        from .jsonfeed import json_feed

        outputs.append((FILE_NAMES["json"], json_feed(info, entries, feed_url=info.url_of(FILE_NAMES["json"]))))
    weeks = sorted(archive_weeks)
    for i, week in enumerate(weeks):
        data = archive_document(info, week, archive_weeks[week],
                                prev=archive_name(weeks[i - 1]) if i else None,
                                next_=archive_name(weeks[i + 1]) if i + 1 < len(weeks) else None)
        outputs.append((f"{ARCHIVE_DIR}/{archive_name(week)}", data))
    return outputs


def write_outputs(out: Path, outputs: list[tuple[str, bytes]], report: FeedReport) -> None:
    """Write *outputs* into *out*: none of them when one would be refused (a file of the user's
    at its name), so the folder is never left with some feeds new and others old."""
    refused = [(name, data) for name, data in outputs if not may_write(out / name, data)]
    if refused:
        # Each said, not the first alone: three feeds edited by hand took three runs to hear of.
        said: list[OutputError] = []
        for name, data in refused:
            try:
                write_file(out / name, data)  # raises what the refusal is (none is written)
            except OutputError as err:
                said.append(err)
        if len(said) > 1:
            raise type(said[0])("\ndigest-export: error: ".join(map(str, said))) from said[0]
        if said:
            raise said[0]
    for name, data in outputs:
        if len(data) > MAX_FEED_BYTES:
            report.warnings.append(Diagnostic(
                SourceRef(str(out / name), 0), Severity.WARNING,
                f"{len(data):,} bytes: feed readers and validators reject feeds over "
                f"{MAX_FEED_BYTES:,} bytes; use --days/--limit, or --archive for the full history", Kind.OUTPUT))
        report.files.append((out / name, write_file(out / name, data)))


# -- Atom and RSS through feedgen ------------------------------------------------

def _teaser(entry: FeedEntry) -> str:
    """A short plain-text summary (Atom <summary>, RSS <description>)."""
    from ..render import inline_text

    first = entry.paper.summary[0] if entry.paper.summary else None
    # The words of the first bullet as the content shows them, not its Markdown.
    text = inline_text(f"{first.label}: {first.text}" if first.label else first.text) if first else ""
    if len(text) > _TEASER_CHARS:
        from ..gates.text import whole_graphemes

        text = whole_graphemes(text, _TEASER_CHARS - 1).rstrip() + "…"
    return text or entry.title


def add_entry(fg, entry: FeedEntry) -> None:
    # feedgen 3: add_entry() prepends unless order='append'.
    fe = fg.add_entry(order="append")
    fe.id(entry.id)
    # RSS guid: a URL id is the permalink of the paper page.
    fe.guid(entry.id, permalink=entry.id.startswith(("http://", "https://")))
    fe.title(entry.title)  # feedgen 8: plain text, no type='CDATA'
    fe.published(entry.published)  # feedgen 5: timezone-aware (UTC)
    fe.updated(entry.updated)
    paper = entry.paper
    if entry.authors:
        fe.author([{"name": a} for a in entry.authors])
    fe.content(entry.content_html or str(feed_entry_html(paper, entry.lang)), type="html")
    # RSS <description> is HTML: "(<0.5초)" must arrive escaped.  feedgen 9:
    # without isSummary=True, description() replaces the Atom <content>;
    # summary() then only marks the Atom <summary> as type="html".
    teaser = str(text_html(_teaser(entry)))
    fe.description(teaser, isSummary=True)
    fe.summary(teaser, type="html")
    if entry.image_url:
        # feedgen 10: the default group wraps one element in media:group.
        fe.media.thumbnail({"url": entry.image_url}, group=None)
    elif entry.video:
        url, mime = entry.video
        fe.media.content({"url": url, "type": mime, "medium": "video"}, group=None)
    # Links (feedgen 1), categories, dc:creator (feedgen 7), language.
    fe.dx.set(entry.links, entry.lang, entry.authors, entry.categories)


def atom_and_rss(info: FeedInfo, entries: Sequence[FeedEntry], *, prev_archive: str | None = None,
                 want_atom: bool = True, want_rss: bool = True) -> tuple[bytes | None, bytes | None]:
    from .ext import new_generator

    fg = new_generator(info)
    for entry in entries:
        add_entry(fg, entry)
    atom = rss = None
    if want_atom:
        links = []
        if info.base_url:
            links.append({"href": info.base_url + FILE_NAMES["atom"], "rel": "self", "type": ATOM_TYPE})
        if prev_archive:
            links.append({"href": _href(info, f"{ARCHIVE_DIR}/{prev_archive}"), "rel": "prev-archive",
                          "type": ATOM_TYPE})
        links.append({"href": info.home_url, "rel": "alternate", "type": "text/html"})
        fg.link(links, replace=True)
        atom = hex_refs_in_text(fg.atom_str(pretty=True))
    if want_rss:
        # feedgen 4: the RSS <channel><link> is the href of the last link
        # given, whatever its rel: self first, alternate last.
        links = []
        if info.base_url:
            links.append({"href": info.base_url + FILE_NAMES["rss"], "rel": "self", "type": RSS_TYPE})
        links.append({"href": info.home_url, "rel": "alternate", "type": "text/html"})
        fg.link(links, replace=True)
        rss = hex_refs_in_text(fg.rss_str(pretty=True))
    return atom, rss


def _href(info: FeedInfo, name: str, *, from_archive: bool = False) -> str:
    """Absolute with --base-url; else relative to the document."""
    if info.base_url:
        return info.base_url + name
    if from_archive:
        return name.removeprefix(ARCHIVE_DIR + "/") if name.startswith(ARCHIVE_DIR + "/") else "../" + name
    return name


# -- RFC 5005 archives -----------------------------------------------------------

def split_archives(everything: list[FeedEntry], selected: list[FeedEntry]
                   ) -> tuple[dict[tuple[int, int], list[FeedEntry]], list[FeedEntry]]:
    """(entries of each closed ISO week, entries of the current feed).

    The week of the newest digest is open: it may still grow, so it is not
    archived, and the current feed keeps all of it even when the selection
    is shorter, because the current feed plus the archives must hold every
    entry (RFC 5005 section 4).

    Archives start with two closed weeks: an archive document is linked to
    its neighbours by ``prev-archive``/``next-archive`` (section 4), and a
    lone one has none (the W3C Feed Validator: "Archive incomplete"; marking
    it ``fh:complete`` would say it is a complete feed, section 2, which it
    is not).  Until then the one closed week stays in the current feed.
    """
    if not everything:
        return {}, selected
    open_week = everything[0].date.isocalendar()[:2]
    weeks: dict[tuple[int, int], list[FeedEntry]] = {}
    for e in everything:
        week = e.date.isocalendar()[:2]
        if week < open_week:
            weeks.setdefault(week, []).append(e)
    if len(weeks) == 1:
        weeks = {}
    ids = {e.id for e in selected}
    current = selected + [e for e in everything if e.date.isocalendar()[:2] not in weeks and e.id not in ids]
    current.sort(key=lambda e: (-e.date.toordinal(), e.rank))
    return weeks, current


def archive_name(week: tuple[int, int]) -> str:
    return f"{week[0]}-W{week[1]:02d}.atom"


def archive_document(info: FeedInfo, week: tuple[int, int], entries: Sequence[FeedEntry], *,
                     prev: str | None, next_: str | None) -> bytes:
    """One archive document (RFC 5005 section 4) holding one ISO week.

    Its bytes depend only on the week's entries and on which archives exist
    before and after it: the newest archive gains its ``next-archive`` link
    once, when the following week is archived.
    """
    from .ext import FeedHistory

    year, num = week
    monday = dt.date.fromisocalendar(year, num, 1)
    sunday = monday + dt.timedelta(days=6)
    week_info = FeedInfo(
        title=f"{info.title}: {year}-W{num:02d}",
        subtitle=f"Archive of {monday.isoformat()} to {sunday.isoformat()}",
        id=tag_uri(2024, f"feed/{info.title.casefold()}/archive/{year}-W{num:02d}"),
        # From its own entries: an archive must not change with newer weeks.
        language=feed_language(list(entries)),
        updated=max(e.updated for e in entries),
        author=info.author,
        home_url=info.home_url,
        base_url=info.base_url,
        icon_url=info.icon_url,
    )
    from .ext import new_generator

    fg = new_generator(week_info)
    fg.register_extension("fh", FeedHistory, None, rss=False)
    for entry in entries:
        add_entry(fg, entry)
    name = f"{ARCHIVE_DIR}/{archive_name(week)}"
    links = []
    if info.base_url:
        links.append({"href": info.base_url + name, "rel": "self", "type": ATOM_TYPE})
    links.append({"href": _href(info, FILE_NAMES["atom"], from_archive=True), "rel": "current",
                  "type": ATOM_TYPE})
    for rel, other in (("prev-archive", prev), ("next-archive", next_)):
        if other:
            links.append({"href": _href(info, f"{ARCHIVE_DIR}/{other}", from_archive=True), "rel": rel,
                          "type": ATOM_TYPE})
    links.append({"href": info.home_url, "rel": "alternate", "type": "text/html"})
    fg.link(links, replace=True)
    return hex_refs_in_text(fg.atom_str(pretty=True))


# -- feed icon ---------------------------------------------------------------------

def write_icon(path: Path) -> WriteStatus:
    """Write the feed icon; the icon of versions before the mark (the same picture) is ours too."""
    return write_file(path, feed_icon_png(), earlier=(_icon_png(),))


def feed_icon_png() -> bytes:
    """The feed icon with the program's mark, by which a later run knows the file as its own."""
    return marked(_icon_png(), "image/png")


def legacy_icon_png() -> bytes:
    """The icon earlier versions wrote, without the mark: the program's own all the same."""
    return _icon_png()


def _icon_png() -> bytes:
    """A 512x512 PNG feed icon (JSON Feed 1.1 asks for 512x512), drawn here
    so that the output folder is self-contained; same bytes every run."""
    import io

    from PIL import Image, ImageDraw

    size = 512
    img = Image.new("RGB", (size, size), (232, 110, 40))
    draw = ImageDraw.Draw(img)
    white = (255, 255, 255)
    draw.ellipse((96, 352, 160, 416), fill=white)
    for r in (150, 260):
        draw.arc((128 - r, 384 - r, 128 + r, 384 + r), 270, 360, fill=white, width=48)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue()
