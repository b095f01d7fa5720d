"""Planning a run: read what must be read, decide what must be written.

From the state of the last run (:mod:`exporter.state`; an empty one when
the run is not incremental):

* an input file whose size and modification time (or, failing that, content
  hash) are unchanged is not read: its days, paper keys and diagnostics come
  from the state;
* a book whose fingerprint (the text of its days, the options that shape
  it, the templates, the program version) is unchanged and whose file is as
  it was written is not rebuilt;
* the feeds are rebuilt when any input changed, from the days of the feed
  window only (older papers' keys come from the state, so a paper repeated
  from an older day still gets no second entry).

Only the files holding days that must be rebuilt are parsed.  Nothing here
writes.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .. import __version__
from ..bundles import Bundle, BundleBy, make_bundles
from ..gates.urls import host_of
from ..model import Digest, ReadResult, counted, output_settings
from ..reader import merge
from ..reader.stamps import FileRecord, InputFiles, diag_to_json
from ..state import STATE_NAME, BuildState, fingerprint, load_state, tree_hash
from .options import BookPlan, BuildOptions, BuildPlan


def plan_build(inputs: Iterable[str | Path], options: BuildOptions) -> BuildPlan:
    """Read what must be read and decide what must be written (writes nothing)."""
    options = _checked(options)
    explain: list[str] = []
    state = BuildState.empty(__version__)
    if options.incremental:
        path, legacy = options.state_file(), Path(options.out_dir) / STATE_NAME
        if not path.exists() and legacy.is_file():
            path = legacy  # kept in the output folder by an older build: moved after this run
        state, why = load_state(path, __version__, options.state_base())
        if why:
            explain.append(f"state: {why}; everything is checked")
    files = InputFiles.scan(inputs, state.files)
    explain.append(f"inputs: {counted(len(files.order), 'file')}, {len(files.changed)} new or changed, "
                   f"{len(files.removed)} gone, "
                   f"{len(files.order) - len(files.changed) - len(files.unreadable)} unchanged")
    days = _Days.of(files, state)
    skeleton = [Digest(dt.date.fromisoformat(d), days.titles[d], ()) for d in days.dates]
    books, book_settings = _plan_books(options, skeleton, days, files.records, files.shown, state)
    feeds = _plan_feeds(options, days, files, state)
    needed = set(days.dirty)
    for book in books:
        if book.reason:
            needed.update(d.date.isoformat() for d in book.meta.digests)
    if feeds.start is not None:
        needed.update(d for d in days.dates if d >= feeds.start.isoformat())
    digests, merge_diags = _parse_days(needed, files, days, state)
    explain.append(f"inputs: {len(files.parsed)} of {counted(len(files.order), 'file')} read and parsed")
    return BuildPlan(
        options=options, state=state,
        new_state=BuildState(__version__, {n: files.records[n] for n in files.order
                                           if n in files.records and files.paths[n] is not None},
                             # Without the catalog its old record is dropped, and with it
                             # the catalog and covers it wrote (run._remove_stale_outputs).
                             merge_diags, {}, None, state.catalog if options.catalog else None),
        diagnostics=files.diagnostics(merge_diags), digests=tuple(digests), books=books,
        book_settings=book_settings, feeds_reason=feeds.reason, feed_inputs=feeds.inputs,
        feed_settings=feeds.settings, feed_from=feeds.start, seen_keys=feeds.seen,
        feed_title=_feed_title(options, skeleton), explanations=explain,
        files_read=len(files.parsed), files_total=len(files.order),
        file_days={files.shown[n]: frozenset(d[0] for d in files.records[n].digests)
                   for n in files.order if n in files.records})


def plan_from_result(result: ReadResult, options: BuildOptions) -> BuildPlan:
    """The plan for digests already read (the library entry points): everything is made."""
    options = _checked(replace(options, incremental=False))
    skeleton = [Digest(d.date, d.title, ()) for d in result.digests]
    eo = options.epub
    books: list[BookPlan] = []
    if eo is not None:
        for meta in make_bundles(result.digests, eo.by, date_from=eo.date_from, date_to=eo.date_to,
                                 title=eo.title):
            books.append(BookPlan(meta, "", "not built before", meta.days, meta.paper_count))
    state = BuildState.empty(__version__)
    return BuildPlan(
        options=options, state=state, new_state=BuildState.empty(__version__),
        diagnostics=tuple(result.diagnostics), digests=tuple(result.digests), books=books,
        book_settings="", feeds_reason="not written before" if options.feed_formats else None,
        feed_inputs="", feed_settings="", feed_from=None, seen_keys=frozenset(),
        feed_title=_feed_title(options, skeleton), explanations=[], files_read=0, files_total=0,
        file_days=_file_days(result))


def _file_days(result: ReadResult) -> dict[str, frozenset[str]]:
    days: dict[str, set[str]] = {}
    for digest in result.digests:
        for source in digest.sources:
            days.setdefault(source.path, set()).add(digest.date.isoformat())
    return {path: frozenset(d) for path, d in days.items()}


def _checked(options: BuildOptions) -> BuildOptions:
    """*options* with the base URL normalised; UsageError for what cannot work."""
    from ..books.epub import check_options as check_epub
    from ..feeds.writer import check_options as check_feed
    from ..feeds.writer import normalize_base_url

    if options.epub is not None:
        check_epub(options.epub)
    check_feed(options.feed)
    return replace(options, feed=replace(options.feed, base_url=normalize_base_url(options.feed.base_url)))


def _feed_title(options: BuildOptions, skeleton: list[Digest]) -> str:
    from ..feeds.entries import feed_info

    fo = options.feed
    return feed_info([], skeleton, title=fo.title, base_url=fo.base_url).title


# -- 2. days, from the records ----------------------------------------------------

@dataclass(slots=True)
class _Days:
    files: dict[str, list[str]]  # ISO date -> the files holding it, in input order
    titles: dict[str, str]
    keys: dict[str, dict[str, None]]  # ISO date -> its paper keys, in order
    dates: list[str]
    dirty: set[str]  # days of files that changed, appeared or went away

    @classmethod
    def of(cls, files: InputFiles, state: BuildState) -> _Days:
        days = cls({}, {}, {}, [], set())
        for name in files.order:
            rec = files.records.get(name)
            for iso, title, keys, _ in rec.digests if rec is not None else ():
                holders = days.files.setdefault(iso, [])
                if name not in holders:
                    holders.append(name)
                days.titles.setdefault(iso, title)
                days.keys.setdefault(iso, {}).update(dict.fromkeys(keys))
        days.dates = sorted(days.files)
        for name in files.changed:
            days.dirty.update(d for d, *_ in files.records[name].digests)
        for name in list(files.changed) + files.removed:
            old = state.files.get(name)
            if old is not None:
                days.dirty.update(d for d, *_ in old.digests)
        days.dirty &= set(days.dates)
        return days


# -- 3. books ------------------------------------------------------------------------

def _local_image_stamp(shown: str, urls: list[str]) -> list[Any]:
    # A book embeds local thumbnails (paths relative to the digest's
    # folder): replacing one must rebuild it.  The file is found as the
    # loader finds it (images/load.py): in the folder of the digest as it
    # was named (a symlinked digest is not its target's folder), each
    # spelling of the reference in turn ("my%20pic.png", "my pic.png").
    from ..gates.urls import local_paths

    folder = Path(os.path.abspath(shown)).parent
    out = []
    for url in urls:
        for candidate in local_paths(url):
            try:
                st = os.stat(folder / candidate)
            except (OSError, ValueError):
                continue
            out.append([url, candidate, st.st_size, st.st_mtime_ns, st.st_ino])
            break
        else:
            out.append([url, None])
    return out


def _plan_books(options: BuildOptions, skeleton: list[Digest], days: _Days, records: dict[str, FileRecord],
                shown: dict[str, str],
                state: BuildState) -> tuple[list[BookPlan], str]:
    """Each book of the run, and why it must be built (or not)."""
    from ..resources import templates_dir

    eo = options.epub
    if eo is None:
        return [], ""
    metas = make_bundles(skeleton, eo.by, date_from=eo.date_from, date_to=eo.date_to, title=eo.title)
    series = metas[0].title if metas else ""
    if options.finished_before is not None:  # a book for everything is never finished
        metas = [m for m in metas if m.by is not BundleBy.ALL and m.end < options.finished_before]
    folders = ([Path(eo.templates)] if eo.templates else []) + [templates_dir()]
    settings = fingerprint(__version__, output_settings(eo), series, tree_hash(folders))
    books = []
    for meta in metas:
        inputs = _book_inputs(meta, days, records, shown, embed=eo.images == "embed")
        old = state.books.get(meta.file_name)
        if old is None:
            reason = "not built before"
        elif old.settings != settings:
            reason = "options, templates or program version changed"
        elif old.inputs != inputs:
            reason = "its input files changed"
        else:
            reason = old.missing_or_changed(Path(options.out_dir))
        isos = [d.date.isoformat() for d in meta.digests]
        books.append(BookPlan(meta, inputs, reason, len(isos), sum(len(days.keys[i]) for i in isos)))
    if eo.images == "embed":
        _retry_thumbnails(books, state, eo)
    return books, settings


def _retry_thumbnails(books: list[BookPlan], state: BuildState, eo: Any) -> None:
    """Ask again for the thumbnails up-to-date books left out for a reason
    that may pass; rebuild a book only if one of them can be had now.

    A host that stays unreachable then costs a few refused connections or
    one failed name lookup per run (exporter.images gives up on a host after
    a few connection failures), not a rebuild of every book that shows it.
    """
    from ..books.epub import image_options
    from ..images import load_images
    from ..model import Paper, SourceRef, Thumbnail, ThumbnailKind, counted

    asked = sorted({url for b in books if b.reason is None for url in state.books[b.meta.file_name].retry})
    if not asked:
        return
    settings = image_options(eo)

    def available(urls: list[str]) -> tuple[set[str], set[str]]:
        """(the URLs that can be had now, the hosts that cannot be reached)."""
        papers = [Paper(title=url, url=None, arxiv_id=None, thumbnail=Thumbnail(ThumbnailKind.IMAGE, url),
                        votes=None, authors=(), summary=(), source=SourceRef("<retry>", 0)) for url in urls]
        results = load_images(papers, settings)
        down = {host_of(f.url) for f in results.failures if f.unreachable}
        return {p.thumbnail.url for p in papers if results.get(p) is not None}, down

    # One thumbnail per host first: a host that is still down is not asked
    # for each of its (thousands of) thumbnails.
    by_host: dict[str, list[str]] = {}
    for url in asked:
        by_host.setdefault(host_of(url), []).append(url)
    now, down = available([urls[0] for urls in by_host.values()])
    more, _ = available([u for host, urls in by_host.items() if host not in down for u in urls[1:]])
    now |= more
    for book in books:
        if book.reason is None:
            found = [url for url in state.books[book.meta.file_name].retry if url in now]
            if found:
                book.reason = f"{counted(len(found), 'thumbnail')} left out last time can be had now"


def _book_inputs(meta: Bundle, days: _Days, records: dict[str, FileRecord], shown: dict[str, str], *,
                 embed: bool) -> str:
    parts = []
    for iso in (d.date.isoformat() for d in meta.digests):
        # A day is its text in each file holding it: appending a day to a
        # one-file archive leaves the other days' books alone.
        files: list[Any] = [(n, [h for d, _, _, h in records[n].digests if d == iso]) for n in days.files[iso]]
        if embed:
            files += [_local_image_stamp(shown.get(n, n), records[n].local_images) for n in days.files[iso]
                      if records[n].local_images]
        parts.append((iso, files))
    return fingerprint(meta.key, meta.position, meta.start, meta.end, parts)


# -- 4. feeds ------------------------------------------------------------------------

@dataclass(slots=True)
class _FeedPlan:
    reason: str | None
    inputs: str
    settings: str
    start: dt.date | None
    seen: frozenset[str]


def _plan_feeds(options: BuildOptions, days: _Days, files: InputFiles, state: BuildState) -> _FeedPlan:
    fo = options.feed
    settings = fingerprint(__version__, output_settings(replace(fo, formats=tuple(dict.fromkeys(fo.formats)))))
    inputs = fingerprint([(n, files.records[n].sha) for n in files.order if n in files.records],
                         sorted(files.unreadable))
    reason: str | None = None
    if options.feed_formats:
        old = state.feeds
        reason = ("not written before" if old is None else
                  "options or program version changed" if old.settings != settings else
                  "input files changed" if old.inputs != inputs else
                  old.missing_or_changed(Path(options.out_dir)))
    start, seen = None, frozenset()
    if reason and days.dates:
        start, seen = _feed_window(days, options)
    return _FeedPlan(reason, inputs, settings, start, seen)


def _feed_window(days: _Days, options: BuildOptions) -> tuple[dt.date, frozenset[str]]:
    """(first day of the feed window, keys of the papers before it).

    The window holds what :func:`exporter.feeds.entries.select_entries`
    keeps: the newest N days *with a new paper* (or the newest N new
    papers), each paper counted at its first appearance, as
    ``build_entries`` does.
    """
    from ..feeds.entries import DEFAULT_DAYS

    fo, dates = options.feed, days.dates
    seen: set[str] = set()
    new_count: dict[str, int] = {}
    for iso in dates:
        fresh = [k for k in days.keys[iso] if k not in seen]
        seen.update(fresh)
        new_count[iso] = len(fresh)
    start = 0
    if not (fo.all or fo.archive):
        want = fo.limit if fo.limit is not None else (fo.days or DEFAULT_DAYS)
        got = 0
        for i in range(len(dates) - 1, -1, -1):
            got += new_count[dates[i]] if fo.limit is not None else (1 if new_count[dates[i]] else 0)
            if got >= want:
                start = i
                break
    # feed_info takes the feed title from the newest digest that has one.
    while start > 0 and not any(days.titles[d] for d in dates[start:]):
        start -= 1
    before: set[str] = set()
    for iso in dates[:start]:
        before.update(days.keys[iso])
    return dt.date.fromisoformat(dates[start]), frozenset(before)


# -- 5. the days to rebuild, parsed ---------------------------------------------------

def _parse_days(needed: set[str], files: InputFiles, days: _Days,
                state: BuildState) -> tuple[list[Digest], dict[str, list[list[Any]]]]:
    """Parse the files holding the *needed* days, and whole days only: a day
    in a parsed file that also lies in another file pulls that file in."""
    closure: set[str] = set()
    to_parse: list[str] = []
    todo = list(needed)
    while todo:
        iso = todo.pop()
        if iso in closure:
            continue
        closure.add(iso)
        for name in days.files.get(iso, ()):
            if name not in files.parsed and name not in to_parse:
                to_parse.append(name)
            todo.extend(d for d, *_ in files.records[name].digests if d not in closure)
    for name in sorted(to_parse, key=files.order.index):
        files.parse_again(name)
    by_date: dict[dt.date, list[Any]] = {}
    for name in files.order:
        for draft in files.parsed.get(name, ()):
            by_date.setdefault(draft.date, []).append(draft)
    digests: list[Digest] = []
    merge_diags = {iso: v for iso, v in state.merge_diags.items() if iso in days.files and iso not in closure}
    for date in sorted(by_date):
        if date.isoformat() not in closure:
            continue
        found, diags = merge(by_date[date])
        digests.extend(found)
        if diags:
            merge_diags[date.isoformat()] = [diag_to_json(d) for d in diags]
    return digests, merge_diags
