"""``digest-export build``: books, feeds and catalog in one incremental run.

The daily job over a growing archive.  :func:`plan_build` decides, from the
state of the last run (:mod:`exporter.state`), what must be done:

* an input file whose size and modification time (or, failing that, content
  hash) are unchanged is not read: its days, paper keys and diagnostics come
  from the state;
* a book whose fingerprint (its days' input files, the options, the
  templates, the program version) is unchanged and whose file is as it was
  written is not rebuilt;
* the feeds are rebuilt when any input changed, from the days of the feed
  window only (older papers' keys come from the state, so a paper repeated
  from an older day still gets no second entry);
* the OPDS catalog when the EPUB files in the folder changed.

Only the files holding days that must be rebuilt are parsed.
:func:`run_build` then writes: books in worker processes (forked after
reading, so the model is shared copy-on-write), the feeds in this process
meanwhile, then the catalog and the new state.  Every file goes through
:func:`exporter.output.write_file`, so unchanged bytes are never rewritten.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .state import (
    RACY_NS,
    STATE_NAME,
    BuildState,
    FileRecord,
    OutputRecord,
    content_hash,
    diag_from_json,
    diag_to_json,
    fingerprint,
    load_state,
    tree_hash,
)
from .bundles import Bundle, make_bundles
from .books.epub import EpubOptions
from .errors import InputError
from .feeds.writer import FORMATS, FeedOptions, FeedReport
from .model import Diagnostic, Digest, Kind, ReadResult, Severity, SourceRef, output_settings
from .output import WriteStatus, write_file
from .reader.parse import decode, iter_input_files, merge, parse_text
from .books.workers import BookResult, make_books

if TYPE_CHECKING:
    from .images import ImageFailure

#: ``build`` writes every format by default: the three feeds and the catalog.
BUILD_FORMATS = FORMATS
#: Below this many books, forking workers costs more than it saves (measured:
#: the daily one-book run is 0.08 s slower with a pool of one).


@dataclass(frozen=True, slots=True)
class BuildOptions:
    """Options of :func:`run_build`: the ``epub`` and ``feed`` options, one folder."""

    out_dir: Path = Path(".")
    epub: EpubOptions = EpubOptions()
    feed: FeedOptions = FeedOptions(formats=BUILD_FORMATS)
    keep_going: bool = False
    #: Worker processes for the books (0: one per core).
    jobs: int = 0


@dataclass(slots=True)
class BuildReport:
    """What :func:`run_build` did, file by file, and why (``-v``)."""

    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    #: Files an earlier build wrote that this one would not write: deleted.
    removed: list[Path] = field(default_factory=list)
    explanations: list[str] = field(default_factory=list)
    books: list[tuple[Path, str]] = field(default_factory=list)  # (path, written|unchanged|skipped)
    days: int = 0
    papers: int = 0
    images: int = 0
    image_failures: list[ImageFailure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    feed: FeedReport | None = None
    files_read: int = 0
    files_total: int = 0
    #: What the book workers learnt for the catalog of the books they wrote
    #: (see :func:`_make_book`): records as ``_CatalogBooks.new`` holds them,
    #: and how each cover file was written.
    catalog_books: dict[str, dict[str, Any]] = field(default_factory=dict)
    catalog_covers: dict[str, WriteStatus] = field(default_factory=dict)

    def add(self, path: Path, status: WriteStatus | str) -> None:
        value = status.value if isinstance(status, WriteStatus) else status
        {"written": self.written, "unchanged": self.unchanged, "skipped": self.skipped}[value].append(path)


@dataclass(slots=True)
class _BookPlan:
    meta: Bundle  # days only (no papers): from the state
    inputs: str
    reason: str | None  # None: up to date, skip
    days: int
    papers: int


@dataclass(slots=True)
class BuildPlan:
    """What :func:`run_build` will do; ``diagnostics`` are every input's,
    including the files that are not read again."""

    options: BuildOptions
    state: BuildState
    new_state: BuildState
    diagnostics: tuple[Diagnostic, ...]
    digests: tuple[Digest, ...]  # the parsed days only
    books: list[_BookPlan]
    book_settings: str
    feeds_reason: str | None  # None: feeds up to date (or not wanted)
    feed_inputs: str
    feed_settings: str
    feed_from: dt.date | None
    seen_keys: frozenset[str]
    feed_title: str
    explanations: list[str]
    files_read: int
    files_total: int

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.is_error)


def _read_bytes(path: Path | None) -> tuple[bytes, int, int]:
    """(bytes, size, mtime_ns); stat from the open file, so they match."""
    if path is None:
        return sys.stdin.buffer.read(), 0, -1
    with open(path, "rb") as fh:
        st = os.fstat(fh.fileno())
        return fh.read(), st.st_size, st.st_mtime_ns


def _parse(name: str, data: bytes) -> tuple[list[Any], list[Diagnostic]]:
    text, diags = decode(data, name)
    if text is None:
        return [], diags
    drafts, parse_diags = parse_text(text, name)
    return drafts, diags + parse_diags


def _record(data: bytes, size: int, mtime_ns: int, drafts: list[Any], diags: list[Diagnostic],
            now_ns: int) -> FileRecord:
    trusted = mtime_ns if mtime_ns >= 0 and now_ns - mtime_ns > RACY_NS else -1
    local = sorted({p.thumbnail.url for d in drafts for p in d.papers
                    if p.thumbnail is not None and not p.thumbnail.is_remote})
    return FileRecord(size, trusted, content_hash(data),
                      [(d.date.isoformat(), d.title, [p.key for p in d.papers], d.text_hash) for d in drafts],
                      [diag_to_json(x) for x in diags], local)


def _local_image_stamp(name: str, urls: list[str]) -> list[Any]:
    # A book embeds local thumbnails (paths relative to the digest's
    # folder): replacing one must rebuild it.
    out = []
    for url in urls:
        try:
            st = os.stat(Path(name).parent / url)
            out.append([url, st.st_size, st.st_mtime_ns])
        except (OSError, ValueError):
            out.append([url, None])
    return out


def plan_build(inputs: Iterable[str | Path], options: BuildOptions) -> BuildPlan:
    """Read what must be read and decide what must be written (writes nothing)."""
    from .books.epub import check_options as check_epub
    from .feeds.writer import check_options as check_feed
    from .feeds.writer import normalize_base_url
    from .resources import templates_dir

    check_epub(options.epub)
    check_feed(options.feed)
    base_url = normalize_base_url(options.feed.base_url)
    out = Path(options.out_dir)
    explain: list[str] = []
    state, why = load_state(out / STATE_NAME, __version__)
    if why:
        explain.append(f"state: {why}; everything is checked")

    # -- 1. input files: unchanged ones are not read ---------------------------
    now_ns = time.time_ns()
    order: list[str] = []
    records: dict[str, FileRecord] = {}
    parsed: dict[str, list[Any]] = {}
    changed: set[str] = set()
    unreadable: dict[str, list[Diagnostic]] = {}
    paths: dict[str, Path | None] = {}
    # Files are known by their resolved path, so that "logs/", "./logs" and
    # "/srv/logs" name the same state; diagnostics keep the name as given.
    shown: dict[str, str] = {}
    for given, path in iter_input_files(inputs):
        name = str(path.resolve()) if path is not None else given
        order.append(name)
        paths[name] = path
        shown[name] = given
        old = state.files.get(name)
        if path is not None and old is not None and old.mtime_ns >= 0:
            try:
                st = os.stat(path)
            except OSError:
                st = None
            if st is not None and st.st_size == old.size and st.st_mtime_ns == old.mtime_ns:
                records[name] = old
                continue
        try:
            data, size, mtime_ns = _read_bytes(path)
        except OSError as err:
            unreadable[name] = [Diagnostic(SourceRef(given, 1), Severity.ERROR,
                                           f"cannot read: {err.strerror or err}", Kind.FILE_SKIPPED)]
            continue
        if old is not None and old.sha == content_hash(data) and path is not None:
            # Touched, not changed: keep what the state knows.
            records[name] = replace(old, size=size, mtime_ns=mtime_ns if now_ns - mtime_ns > RACY_NS else -1)
            continue
        drafts, diags = _parse(given, data)
        parsed[name] = drafts
        records[name] = _record(data, size, mtime_ns, drafts, diags, now_ns)
        changed.add(name)
    removed = [n for n in state.files if n not in paths]
    explain.append(f"inputs: {len(order)} files, {len(changed)} new or changed, "
                   f"{len(removed)} gone, {len(order) - len(changed) - len(unreadable)} unchanged")

    # -- 2. days, from the records ---------------------------------------------
    date_files: dict[str, list[str]] = {}
    date_title: dict[str, str] = {}
    date_keys: dict[str, dict[str, None]] = {}
    for name in order:
        rec = records.get(name)
        if rec is None:
            continue
        for iso, title, keys, _ in rec.digests:
            files = date_files.setdefault(iso, [])
            if name not in files:
                files.append(name)
            date_title.setdefault(iso, title)
            date_keys.setdefault(iso, {}).update(dict.fromkeys(keys))
    dates = sorted(date_files)
    dirty: set[str] = set()
    for name in changed:
        dirty.update(d for d, _, _, _ in records[name].digests)
    for name in list(changed) + removed:
        old = state.files.get(name)
        if old is not None:
            dirty.update(d for d, _, _, _ in old.digests)
    dirty &= set(dates)

    # -- 3. books ----------------------------------------------------------------
    eo = options.epub
    skeleton = [Digest(dt.date.fromisoformat(d), date_title[d], ()) for d in dates]
    metas = make_bundles(skeleton, eo.by, date_from=eo.date_from, date_to=eo.date_to, title=eo.title)
    series = metas[0].title if metas else ""
    folders = ([Path(eo.templates)] if eo.templates else []) + [templates_dir()]
    book_settings = fingerprint(__version__, output_settings(eo), series, tree_hash(folders))
    books: list[_BookPlan] = []
    for meta in metas:
        day_isos = [d.date.isoformat() for d in meta.digests]
        parts = []
        for iso in day_isos:
            # A day is its text in each file holding it: appending a day to
            # a one-file archive leaves the other days' books alone.
            files = [(n, [h for d, _, _, h in records[n].digests if d == iso]) for n in date_files[iso]]
            if eo.images == "embed":
                files += [_local_image_stamp(n, records[n].local_images) for n in date_files[iso]
                          if records[n].local_images]
            parts.append((iso, files))
        inputs_fp = fingerprint(meta.key, meta.position, meta.start, meta.end, parts)
        old = state.books.get(meta.file_name)
        if old is None:
            reason = "not built before"
        elif old.settings == "retry":
            reason = "thumbnails were left out last time: retrying"
        elif old.settings != book_settings:
            reason = "options, templates or program version changed"
        elif old.inputs != inputs_fp:
            reason = "its input files changed"
        else:
            reason = old.missing_or_changed(out)
        papers = sum(len(date_keys[i]) for i in day_isos)
        books.append(_BookPlan(meta, inputs_fp, reason, len(day_isos), papers))

    # -- 4. feeds ------------------------------------------------------------------
    fo = replace(options.feed, base_url=base_url)
    formats = tuple(dict.fromkeys(fo.formats or BUILD_FORMATS))
    feed_formats = tuple(f for f in formats if f != "opds")
    feed_settings = fingerprint(__version__, output_settings(replace(fo, formats=formats)))
    feed_inputs = fingerprint([(n, records[n].sha) for n in order if n in records], sorted(unreadable))
    feeds_reason: str | None = None
    if feed_formats:
        if state.feeds is None:
            feeds_reason = "not written before"
        elif state.feeds.settings != feed_settings:
            feeds_reason = "options or program version changed"
        elif state.feeds.inputs != feed_inputs:
            feeds_reason = "input files changed"
        else:
            feeds_reason = state.feeds.missing_or_changed(out)
    feed_from, seen = None, frozenset()
    if feeds_reason and dates:
        feed_from, seen = _feed_window(dates, date_title, date_keys, fo)

    # -- 5. parse the files holding days to rebuild (and whole days only) -------
    needed = set(dirty)
    for book in books:
        if book.reason:
            needed.update(d.date.isoformat() for d in book.meta.digests)
    if feed_from is not None:
        needed.update(d for d in dates if d >= feed_from.isoformat())
    closure: set[str] = set()
    to_parse: list[str] = []
    todo = list(needed)
    while todo:
        iso = todo.pop()
        if iso in closure:
            continue
        closure.add(iso)
        for name in date_files.get(iso, ()):
            if name not in parsed and name not in to_parse:
                to_parse.append(name)
            todo.extend(d for d, _, _, _ in records[name].digests if d not in closure)
    for name in sorted(to_parse, key=order.index):
        try:
            data, size, mtime_ns = _read_bytes(paths[name])
        except OSError as err:
            unreadable[name] = [Diagnostic(SourceRef(shown[name], 1), Severity.ERROR,
                                           f"cannot read: {err.strerror or err}", Kind.FILE_SKIPPED)]
            records.pop(name, None)
            continue
        drafts, diags = _parse(shown[name], data)
        parsed[name] = drafts
        if content_hash(data) != records[name].sha:
            # Changed while we looked: the next run sees it again.
            records[name] = _record(data, size, mtime_ns, drafts, diags, now_ns)
            records[name].mtime_ns = -1
    by_date: dict[dt.date, list[Any]] = {}
    for name in order:
        for draft in parsed.get(name, ()):
            by_date.setdefault(draft.date, []).append(draft)
    digests: list[Digest] = []
    merge_diags: dict[str, list[list[Any]]] = {
        iso: v for iso, v in state.merge_diags.items() if iso in date_files and iso not in closure}
    for date in sorted(by_date):
        if date.isoformat() not in closure:
            continue
        found, diags = merge(by_date[date])
        digests.extend(found)
        if diags:
            merge_diags[date.isoformat()] = [diag_to_json(d) for d in diags]
    explain.append(f"inputs: {len(parsed)} of {len(order)} files read and parsed")

    diagnostics: list[Diagnostic] = []
    for name in order:
        if name in unreadable:
            diagnostics.extend(unreadable[name])
        elif name in records:
            # Stored with the name the file was given then: show today's.
            diagnostics.extend(replace(diag, source=replace(diag.source, path=shown[name]))
                               for diag in map(diag_from_json, records[name].diags))
    for iso in sorted(merge_diags):
        diagnostics.extend(diag_from_json(d) for d in merge_diags[iso])

    from .feeds.entries import feed_info

    new_state = BuildState(__version__, {n: records[n] for n in order if n in records and paths[n] is not None},
                           merge_diags, {}, None, state.catalog)
    return BuildPlan(
        options=options, state=state, new_state=new_state, diagnostics=tuple(diagnostics),
        digests=tuple(digests), books=books, book_settings=book_settings,
        feeds_reason=feeds_reason, feed_inputs=feed_inputs, feed_settings=feed_settings,
        feed_from=feed_from, seen_keys=seen,
        feed_title=feed_info([], skeleton, title=fo.title, base_url=base_url).title,
        explanations=explain, files_read=len(parsed), files_total=len(order),
    )


def _feed_window(dates: list[str], titles: dict[str, str], keys: dict[str, dict[str, None]],
                 fo: FeedOptions) -> tuple[dt.date, frozenset[str]]:
    """(first day of the feed window, keys of the papers before it).

    The window holds what :func:`exporter.feeds.entries.select_entries` keeps:
    the newest N days *with a new paper* (or the newest N new papers), each
    paper counted at its first appearance, as ``build_entries`` does.
    """
    seen: set[str] = set()
    new_count: dict[str, int] = {}
    for iso in dates:
        fresh = [k for k in keys[iso] if k not in seen]
        seen.update(fresh)
        new_count[iso] = len(fresh)
    start = 0
    if not (fo.all or fo.archive):
        want = fo.limit if fo.limit is not None else (fo.days or 7)
        got = 0
        for i in range(len(dates) - 1, -1, -1):
            got += new_count[dates[i]] if fo.limit is not None else (1 if new_count[dates[i]] else 0)
            if got >= want:
                start = i
                break
    # feed_info takes the feed title from the newest digest that has one.
    while start > 0 and not any(titles[d] for d in dates[start:]):
        start -= 1
    before: set[str] = set()
    for iso in dates[:start]:
        before.update(keys[iso])
    return dt.date.fromisoformat(dates[start]), frozenset(before)


# -- running -----------------------------------------------------------------------

Progress = Callable[[str, Path, str], None]

def run_build(plan: BuildPlan, progress: Progress | None = None) -> BuildReport:
    """Write what *plan* says; raises :class:`InputError` (writing nothing)
    if the inputs hold errors, unless ``keep_going``."""
    options = plan.options
    if plan.errors and not options.keep_going:
        raise InputError(plan.diagnostics)
    out = Path(options.out_dir)
    report = BuildReport(explanations=list(plan.explanations), files_read=plan.files_read,
                         files_total=plan.files_total)
    state = plan.new_state
    todo = [b for b in plan.books if b.reason]
    for book in plan.books:
        path = out / book.meta.file_name
        report.days += book.days
        report.papers += book.papers
        if book.reason:
            report.explanations.append(f"rebuilding {path}: {book.reason}")
        else:
            report.explanations.append(f"skipped {path}: its inputs, options, templates and "
                                       "program version are unchanged")
            report.add(path, "skipped")
            report.books.append((path, "skipped"))
            state.books[book.meta.file_name] = plan.state.books[book.meta.file_name]

    bundles: list[Bundle] = []
    if todo:
        from .books.epub import BookWriter

        wanted = {b.meta.key for b in todo}
        eo = options.epub
        series = todo[0].meta.title
        bundles = [b for b in make_bundles(plan.digests, eo.by, date_from=eo.date_from, date_to=eo.date_to,
                                           title=series) if b.key in wanted]
        writer = BookWriter.create(replace(eo, out_dir=out, keep_going=options.keep_going))
    plans = {b.meta.key: b for b in todo}

    def book_done(result: BookResult) -> None:
        if result.extra is not None:
            record, covers, notes = result.extra
            report.catalog_books[result.path.name] = record
            report.catalog_covers.update(covers)
            report.notes.extend(notes)
        bundle = bundles[result.index]
        path = out / bundle.file_name
        report.add(path, result.status)
        report.books.append((path, result.status))
        report.images += result.images
        report.image_failures.extend(result.image_failures)
        report.notes.extend(n for n in result.notes if n not in report.notes)
        # A thumbnail that may come next time (time-out, server error) makes
        # the book worth rebuilding; one that is gone for good does not.
        settings = "retry" if any(f.retry for f in result.image_failures) else plan.book_settings
        state.books[bundle.file_name] = OutputRecord(plans[bundle.key].inputs, settings,
                                                     {bundle.file_name: (result.size, result.mtime_ns)})
        if progress:
            progress("book", path, result.status)

    for_catalog = "opds" in (options.feed.formats or BUILD_FORMATS)
    own_covers = plan.state.catalog.files if plan.state.catalog else {}
    if bundles:
        for result in make_books(writer, bundles, jobs=options.jobs,
                                 after_write=functools.partial(_catalog_record, own_covers=own_covers)
                                 if for_catalog else None,
                                 meanwhile=lambda: _write_feeds(plan, report, state)):
            book_done(result)
    else:
        _write_feeds(plan, report, state)
    from .delivery.frontpage import newest_digest, write_front_page

    newest = newest_digest(plan)
    # The model is not needed any more: free it before the catalog holds
    # every book's cover (ten years: 250 MB of model, 50 MB of covers).
    plan.digests = ()
    bundles.clear()
    _remove_stale_books(plan, report)
    _write_catalog(plan, report, state)
    write_front_page(plan, report, state, newest)  # after the catalog: it shows the covers
    write_file(out / STATE_NAME, state.to_bytes())
    return report


def _remove_stale_books(plan: BuildPlan, report: BuildReport) -> None:
    """Delete the books (and catalog covers) an earlier build wrote that this one would not.

    After a date is corrected or ``--from``/``--title``/``--by`` change, the
    old books would otherwise stay in the folder and in the catalog.  Only
    files still exactly as that build left them are deleted: a file someone
    replaced or edited since is left alone (and no longer listed).
    """
    out = Path(plan.options.out_dir)
    wanted = {b.meta.file_name for b in plan.books}
    old_covers = plan.state.catalog.files if plan.state.catalog else {}
    for name in sorted(set(plan.state.books) - wanted):
        record = plan.state.books[name]
        why = record.missing_or_changed(out)
        if why is not None:
            if "missing" not in why:
                report.explanations.append(f"left {out / name} alone: {why}; no longer built or listed")
            continue
        stale = dict(record.files)
        stale.update((n, stamp) for n, stamp in old_covers.items()
                     if n.startswith(Path(name).stem + ".cover."))
        for file_name, (size, mtime_ns) in sorted(stale.items()):
            path = out / file_name
            try:
                st = os.stat(path)
                if (st.st_size, st.st_mtime_ns) == (size, mtime_ns):
                    os.unlink(path)
                    report.removed.append(path)
            except OSError:
                pass
        report.explanations.append(f"removed {out / name}: no longer built from these inputs and options")


def _write_feeds(plan: BuildPlan, report: BuildReport, state: BuildState) -> None:
    from .feeds.writer import write_feeds

    out = Path(plan.options.out_dir)
    fo = plan.options.feed
    formats = tuple(f for f in dict.fromkeys(fo.formats or BUILD_FORMATS) if f != "opds")
    if not formats:
        return
    if plan.feeds_reason is None:
        report.explanations.append("skipped the feeds: no input file and no option changed")
        for name in plan.state.feeds.files if plan.state.feeds else ():
            report.add(out / name, "skipped")
        state.feeds = plan.state.feeds
        return
    report.explanations.append(f"writing the feeds: {plan.feeds_reason}")
    since = plan.feed_from
    window = tuple(d for d in plan.digests if since is not None and d.date >= since)
    feed = write_feeds(ReadResult(window, ()), replace(fo, out_dir=out, formats=formats),
                       seen_keys=plan.seen_keys, catalog=False)
    report.feed = feed
    files: dict[str, tuple[int, int]] = {}
    for path, status in feed.files:
        report.add(path, status)
        st = os.stat(path)
        files[str(path.relative_to(out))] = (st.st_size, st.st_mtime_ns)
    state.feeds = OutputRecord(plan.feed_inputs, plan.feed_settings, files)


def _write_catalog(plan: BuildPlan, report: BuildReport, state: BuildState) -> None:
    from .feeds.writer import ICON_NAME, normalize_base_url, write_catalog

    out = Path(plan.options.out_dir)
    fo = plan.options.feed
    if "opds" not in (fo.formats or BUILD_FORMATS):
        state.catalog = None
        return
    base_url = normalize_base_url(fo.base_url)
    # Only the books this build stands for: an EPUB someone else put in the
    # folder is not opened (it is untrusted input) and not listed.
    books = []
    for name in sorted(state.books):
        try:
            st = os.stat(out / name)
        except OSError:
            continue
        books.append((name, st.st_size, st.st_mtime_ns))
    inputs = fingerprint(books)
    settings = fingerprint(__version__, base_url, plan.feed_title)
    old = plan.state.catalog
    reason = ("not written before" if old is None else
              "options changed" if old.settings != settings else
              "the EPUB files changed" if old.inputs != inputs else old.missing_or_changed(out))
    if reason is None:
        report.explanations.append("skipped the OPDS catalog: the EPUB files are unchanged")
        for name in old.files:
            report.add(out / name, "skipped")
        state.catalog = old
        state.catalog_books = plan.state.catalog_books
        return
    report.explanations.append(f"writing the OPDS catalog: {reason}")
    feed = FeedReport(title=plan.feed_title, icon_url=base_url + ICON_NAME if base_url else None)
    cache = _CatalogBooks({**plan.state.catalog_books, **report.catalog_books}, old.files if old else {})
    cache.written.update(report.catalog_covers)
    write_catalog(out, base_url, feed, reader=cache.read, books=[out / name for name, _, _ in books])
    state.catalog_books = cache.new
    report.notes.extend(cache.notes)
    files: dict[str, tuple[int, int]] = {}
    for path, status in feed.files:
        report.add(path, status)
    covers = cache.stamp_covers(out)
    for name in covers:
        report.add(out / name, cache.written.get(name, WriteStatus.UNCHANGED))
    for path in [p for p, _ in feed.files] + [out / n for n in covers]:
        st = os.stat(path)
        files[str(path.relative_to(out))] = (st.st_size, st.st_mtime_ns)
    if report.feed is None:
        report.feed = feed
    else:
        report.feed.books = feed.books
        report.feed.warnings.extend(feed.warnings)
    state.catalog = OutputRecord(inputs, settings, files)


def _catalog_record(path: Path, own_covers: dict[str, tuple[int, int]],
                    ) -> tuple[dict[str, Any], dict[str, WriteStatus], list[str]]:
    """In a book worker: what the catalog needs of the book just written.

    Read there, in parallel, while the book is still in the page cache,
    instead of one by one once every book is written; its cover file is
    written beside it."""
    books = _CatalogBooks({}, own_covers)
    books.read(path)
    books.stamp_covers(path.parent)
    return books.new[path.name], books.written, books.notes


class _CatalogBooks:
    """:func:`exporter.feeds.opds.read_book`, remembering unchanged books across runs.

    A book is known by its file name, size and modification time; its cover
    is then read from the cover file the catalog wrote beside it (if that is
    gone, the book is read again)."""

    def __init__(self, old: dict[str, dict[str, Any]], own_covers: dict[str, tuple[int, int]] | None = None):
        self.old = old
        self.new: dict[str, dict[str, Any]] = {}
        self.written: dict[str, WriteStatus] = {}
        #: Cover files an earlier build wrote: any other file of a cover's
        #: name is not ours to overwrite.
        self.own_covers = own_covers or {}
        self.notes: list[str] = []

    def _may_write(self, path: Path, data: bytes) -> bool:
        """True unless *path* holds a file that is neither ours nor already *data*."""
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return True
        except OSError:
            return False
        if path.name in self.own_covers:  # ours, even if damaged since: repaired
            return True
        if st.st_size != len(data):
            return False
        try:  # the same bytes (a state file lost, say): nothing to overwrite
            return path.read_bytes() == data
        except OSError:
            return False

    def read(self, path: Path) -> Any:
        from .feeds.opds import _COVER_EXT, Book, read_book

        st = os.stat(path)
        known = self.old.get(path.name)
        book = None
        if known is not None and known.get("stamp") == [st.st_size, st.st_mtime_ns]:
            try:
                cover = None
                if known["cover_type"]:
                    # Not read: the catalog leaves an empty cover alone
                    # (ten years of covers would be 50 MB in memory).
                    name = f"{path.stem}.cover{_COVER_EXT[known['cover_type']]}"
                    cst = os.stat(path.parent / name)
                    if [cst.st_size, cst.st_mtime_ns] != known["cover_stamp"]:
                        raise ValueError("cover file changed")
                    cover = (b"", known["cover_type"])
                period = known["period"]
                book = Book(path=path, title=known["title"], identifier=known["identifier"],
                            modified=dt.datetime.fromisoformat(known["modified"]) if known["modified"] else None,
                            creators=tuple(known["creators"]), language=known["language"],
                            description=known["description"], series=known["series"],
                            series_index=known["series_index"], size=st.st_size,
                            period=(dt.date.fromisoformat(period[0]), dt.date.fromisoformat(period[1]))
                            if period else None, cover=cover)
            except (OSError, KeyError, TypeError, ValueError, IndexError):
                book = None
        if book is None:
            book = read_book(path)
            if book.cover:
                # Written here, not held: the catalog of ten years of books
                # would otherwise keep every cover in memory at once.
                data, mime = book.cover
                name = f"{path.stem}.cover{_COVER_EXT[mime]}"
                if self._may_write(path.parent / name, data):
                    self.written[name] = write_file(path.parent / name, data)
                    book = replace(book, cover=(b"", mime))
                else:
                    self.notes.append(f"{path.parent / name} was not written by digest-export: left as it "
                                      f"is, and {path.name} is listed in the catalog without a cover")
                    book = replace(book, cover=None)
        self.new[path.name] = {
            "stamp": [st.st_size, st.st_mtime_ns], "title": book.title, "identifier": book.identifier,
            "modified": book.modified.isoformat() if book.modified else None,
            "creators": list(book.creators), "language": book.language, "description": book.description,
            "series": book.series, "series_index": book.series_index,
            "period": [book.period[0].isoformat(), book.period[1].isoformat()] if book.period else None,
            "cover_type": book.cover[1] if book.cover else None,
            "cover_stamp": None,
        }
        return book

    def stamp_covers(self, out: Path) -> list[str]:
        """Record each cover file as the catalog left it; return their names."""
        from .feeds.opds import _COVER_EXT

        names = []
        for book_name, known in self.new.items():
            if known["cover_type"]:
                name = f"{Path(book_name).stem}.cover{_COVER_EXT[known['cover_type']]}"
                try:
                    st = os.stat(out / name)
                except OSError:
                    continue
                known["cover_stamp"] = [st.st_size, st.st_mtime_ns]
                names.append(name)
        return names
