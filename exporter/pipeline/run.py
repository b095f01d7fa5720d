"""Running a plan: the only place where books, feeds, catalog and front page are written.

Books are built in worker processes (forked after reading, so the model is
shared copy-on-write) while the feeds are written in this process; then
what an earlier run made and this one would not is removed, the catalog and
the front page are written, and the new state is saved.  Every file goes
through :func:`exporter.output.write_file`, so unchanged bytes are never
rewritten.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from .. import __version__
from ..books.workers import BookResult, make_books
from ..bundles import Bundle, make_bundles
from ..errors import InputError
from ..feeds.writer import FeedReport
from ..model import ReadResult
from ..gates import files as gate_files
from ..output import carries_mark, recorded, remove_file, write_file
from ..state import LATEST_NAME, STATE_NAME, BuildState, OutputRecord, fingerprint
from ..feeds.catalog_records import CatalogBooks, catalog_record
from .options import BuildPlan, BuildReport

#: Called after each file: (kind, path, status), kind "book" for now.
Progress = Callable[[str, Path, str], None]


def run_build(plan: BuildPlan, progress: Progress | None = None) -> BuildReport:
    """Write what *plan* says; raises :class:`InputError` (writing nothing)
    if the inputs hold errors, unless ``keep_going``.  Only files the state
    records (or that carry the program's mark) are replaced or removed."""
    if plan.errors and not plan.options.keep_going:
        raise InputError(plan.diagnostics)
    with recorded(Path(plan.options.out_dir), plan.state.written_files()):
        return _run(plan, progress)


def _run(plan: BuildPlan, progress: Progress | None) -> BuildReport:
    options = plan.options
    report = BuildReport(explanations=list(plan.explanations), files_read=plan.files_read,
                         files_total=plan.files_total)
    state = plan.new_state
    _write_books(plan, report, state, progress)
    newest = None
    if options.front_page:
        from ..delivery.frontpage import newest_digest

        newest = newest_digest(plan)
    # The model is not needed any more: free it before the catalog holds
    # every book's cover (ten years: 250 MB of model, 50 MB of covers).
    plan.digests = ()
    if options.incremental:
        _remove_stale_books(plan, report)
    _write_latest(plan, report, state)
    if options.catalog:
        _write_catalog(plan, report, state)
    if options.front_page:
        from ..delivery.frontpage import write_front_page

        write_front_page(plan, report, state, newest)  # after the catalog: it shows the covers
    if options.incremental:
        _save_state(plan, report, state)
    return report


def _save_state(plan: BuildPlan, report: BuildReport, state: BuildState) -> None:
    """The state in its file (outside the output folder by default); one an older build left in the
    output folder is removed once the new one is saved."""
    options = plan.options
    path, legacy = options.state_file(), Path(options.out_dir) / STATE_NAME
    # The default state file is in the program's own folder: a damaged one is replaced.
    write_file(path, state.to_bytes(options.state_base()), ours=options.state_path is None)
    if legacy.is_file() and legacy.resolve() != path.resolve() and carries_mark(legacy):
        st = os.stat(legacy)
        if remove_file(legacy, (st.st_size, st.st_mtime_ns)):
            report.explanations.append(f"state: moved from {legacy} to {path}")


def _write_books(plan: BuildPlan, report: BuildReport, state: BuildState, progress: Progress | None) -> None:
    """Build the books whose plan has a reason (the feeds meanwhile); record the rest as skipped."""
    options, out = plan.options, Path(plan.options.out_dir)
    todo = [b for b in plan.books if b.reason]
    for book in plan.books:
        report.days += book.days
        report.papers += book.papers
        if not book.reason:
            path = out / book.meta.file_name
            report.explanations.append(f"skipped {path}: its inputs, options, templates and "
                                       "program version are unchanged")
            report.add(path, "skipped")
            report.books.append((path, "skipped"))
            state.books[book.meta.file_name] = plan.state.books[book.meta.file_name]
    if not todo or options.epub is None:
        _write_feeds(plan, report, state)
        return
    from ..books.epub import BookWriter

    eo = options.epub
    wanted = {b.meta.key for b in todo}
    bundles = [b for b in make_bundles(plan.digests, eo.by, date_from=eo.date_from, date_to=eo.date_to,
                                       title=todo[0].meta.title) if b.key in wanted]
    plans = {b.meta.key: b for b in todo}
    writer = BookWriter.create(replace(eo, out_dir=out, keep_going=options.keep_going))
    own_covers = plan.state.catalog.files if plan.state.catalog else {}
    after_write = functools.partial(catalog_record, own_covers=own_covers) if options.catalog else None
    for book in todo:
        report.explanations.append(f"rebuilding {out / book.meta.file_name}: {book.reason}")
    for result in make_books(writer, bundles, jobs=options.jobs, ordered=True, after_write=after_write,
                             meanwhile=lambda: _write_feeds(plan, report, state)):
        bundle = bundles[result.index]
        _book_done(plan, report, state, bundle, result, plans[bundle.key].inputs)
        if progress:
            progress("book", out / bundle.file_name, result.status)


def _book_done(plan: BuildPlan, report: BuildReport, state: BuildState, bundle: Bundle,
               result: BookResult, inputs: str) -> None:
    if result.extra is not None:
        record, covers, notes = result.extra
        report.catalog_books[result.path.name] = record
        report.catalog_covers.update(covers)
        report.notes.extend(notes)
    path = Path(plan.options.out_dir) / bundle.file_name
    report.add(path, result.status)
    report.books.append((path, result.status))
    report.images += result.images
    report.image_failures.extend(result.image_failures)
    report.notes.extend(n for n in result.notes if n not in report.notes)
    # A thumbnail that may come next time (time-out, server error) is asked
    # for again next run (see plan._retry_thumbnails); one gone for good is not.
    retry = tuple(sorted({f.url for f in result.image_failures if f.retry}))
    state.books[bundle.file_name] = OutputRecord(inputs, plan.book_settings,
                                                 {bundle.file_name: (result.size, result.mtime_ns)}, retry)


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
            if remove_file(path, (size, mtime_ns)):
                report.removed.append(path)
        report.explanations.append(f"removed {out / name}: no longer built from these inputs and options")


def _write_latest(plan: BuildPlan, report: BuildReport, state: BuildState) -> None:
    """``latest.epub``: a copy of the newest finished book (``--finished-only``); removed, as a
    stale book is, when an earlier build wrote it and this one would not."""
    out = Path(plan.options.out_dir)
    path, old = out / LATEST_NAME, plan.state.pages.get(LATEST_NAME)
    present = [b for b in plan.books if (out / b.meta.file_name).is_file()]
    if plan.options.finished_before is None or not present:
        if old is not None and old.missing_or_changed(out) is None and remove_file(
                path, old.files.get(LATEST_NAME, (-1, -1))):
            report.removed.append(path)
        return
    newest = max(present, key=lambda b: (b.meta.end, b.meta.key)).meta.file_name
    source = out / newest
    st = os.stat(source)
    inputs = f"{newest}:{st.st_size}:{st.st_mtime_ns}"
    if old is not None and old.inputs == inputs and old.missing_or_changed(out) is None:
        report.add(path, "skipped")
        state.pages[LATEST_NAME] = old
        return
    report.explanations.append(f"writing {path}: a copy of {newest}")
    report.add(path, write_file(path, gate_files.read_bytes(source, gate_files.BOOK_LIMIT)))
    st = os.stat(path)
    state.pages[LATEST_NAME] = OutputRecord(inputs, newest, {LATEST_NAME: (st.st_size, st.st_mtime_ns)})


def _write_feeds(plan: BuildPlan, report: BuildReport, state: BuildState) -> None:
    from ..feeds.writer import write_feed_files

    options, out = plan.options, Path(plan.options.out_dir)
    formats = options.feed_formats
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
    window = plan.digests if since is None else tuple(d for d in plan.digests if d.date >= since)
    feed = write_feed_files(ReadResult(window, ()), replace(options.feed, out_dir=out, formats=formats),
                            seen_keys=plan.seen_keys)
    report.feed = feed
    files: dict[str, tuple[int, int]] = {}
    for path, status in feed.files:
        report.add(path, status)
        st = os.stat(path)
        files[str(path.relative_to(out))] = (st.st_size, st.st_mtime_ns)
    state.feeds = OutputRecord(plan.feed_inputs, plan.feed_settings, files)


def _catalog_books(plan: BuildPlan, state: BuildState) -> list[tuple[str, int, int]]:
    """(name, size, mtime_ns) of the books the catalog lists.

    Only the books this run stands for: an EPUB someone else put in the
    folder is untrusted input, not opened and not listed, unless the catalog
    is asked to list the whole folder (``feed --format opds``).
    """
    out = Path(plan.options.out_dir)
    if plan.options.catalog_of_folder:
        names = sorted(p.name for p in out.glob("*.epub") if p.is_file())
    else:
        names = sorted(state.books)
    books = []
    for name in names:
        try:
            st = os.stat(out / name)
        except OSError:
            continue
        books.append((name, st.st_size, st.st_mtime_ns))
    return books


def _write_catalog(plan: BuildPlan, report: BuildReport, state: BuildState) -> None:
    from ..feeds.writer import ICON_NAME, NO_BASE_URL, write_catalog, write_icon

    out = Path(plan.options.out_dir)
    base_url = plan.options.feed.base_url
    books = _catalog_books(plan, state)
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
    cache = CatalogBooks({**plan.state.catalog_books, **report.catalog_books}, old.files if old else {})
    cache.written.update(report.catalog_covers)
    if not plan.options.feed_formats:  # no feed wrote the icon, or said why there is none
        if base_url:
            feed.files.append((out / ICON_NAME, write_icon(out / ICON_NAME)))
        else:
            feed.missing.append(NO_BASE_URL)
    write_catalog(out, base_url, feed, reader=cache.read, books=[out / name for name, _, _ in books])
    state.catalog_books = cache.new
    report.notes.extend(cache.notes)
    files: dict[str, tuple[int, int]] = {}
    for path, status in feed.files:
        report.add(path, status)
    covers = cache.stamp_covers(out)
    for name in covers:
        report.add(out / name, cache.written.get(name, "unchanged"))
    for path in [p for p, _ in feed.files] + [out / n for n in covers]:
        st = os.stat(path)
        files[str(path.relative_to(out))] = (st.st_size, st.st_mtime_ns)
    if report.feed is None:
        report.feed = feed
    else:
        report.feed.books = feed.books
        report.feed.warnings.extend(feed.warnings)
        report.feed.files.extend(feed.files)
    state.catalog = OutputRecord(inputs, settings, files)
