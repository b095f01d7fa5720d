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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .. import __version__
from ..bundles import DEFAULT_TITLE, Bundle, BundleBy, make_bundles
from ..gates.files import described
from ..gates.urls import host_of
from ..model import Digest, ReadResult, clean_text, counted, output_settings
from ..reader import merge
from ..reader.stamps import FileRecord, InputFiles, diag_to_json
from ..selections import Selection, SelectionError, check_name
from ..output import Stamp, holds
from ..state import (LATEST_NAME, OWED_PAGE, STATE_NAME, BuildState, OutputRecord, fingerprint, intent_log_path,
                     selection_state_path, load_state, load_written, tree_hash, unreadable_intents, written_record_path)
from .options import INPUTS_CHANGED, BookPlan, BuildOptions, BuildPlan
from ..gates.names import shell_quote as q


def plan_build(inputs: Iterable[str | Path], options: BuildOptions) -> BuildPlan:
    """Read what must be read and decide what must be written (writes nothing)."""
    options = _checked(options)
    explain: list[str] = []
    state = BuildState.empty(__version__)
    why = ""
    if options.incremental:
        path, legacy = options.state_file(), Path(options.out_dir) / STATE_NAME
        if not path.exists() and legacy.is_file():
            path = legacy  # kept in the output folder by an older build: moved after this run
        state, why = load_state(path, __version__, options.state_base())
        if why:
            explain.append(f"state: {why}; everything is checked")
    files = InputFiles.scan(inputs, state.files, jobs=options.jobs)
    explain.append(f"inputs: {counted(len(files.order), 'file')}, {len(files.changed)} new or changed, "
                   f"{len(files.removed)} gone, "
                   f"{len(files.order) - len(files.changed) - len(files.unreadable)} unchanged")
    days = _Days.of(files, state)
    skeleton = [Digest(dt.date.fromisoformat(d), days.titles[d], ()) for d in days.dates]
    books, book_settings, empty = _plan_books(options, skeleton, days, files.records, files.shown, state)
    feeds = _plan_feeds(options, days, files, state)
    subs = [_plan_selection(options, sel, skeleton, days, files, _selection_token(state, sel.name))
            for sel in options.selections]
    needed = set(days.dirty)
    for book in books + [b for sub in subs for b in sub.books]:
        if book.reason:
            needed.update(d.date.isoformat() for d in book.meta.digests)
    for start in [feeds.start] + [sub.feed_from if sub.feeds_reason else None for sub in subs]:
        if start is not None:
            needed.update(d for d in days.dates if d >= start.isoformat())
    digests, merge_diags = _parse_days(needed, files, days, state)
    explain.append(f"inputs: {len(files.parsed)} of {counted(len(files.order), 'file')} read and parsed")
    for sub in subs:
        sub.digests = tuple(digests)
    plan = BuildPlan(
        options=options, state=state,
        new_state=BuildState(__version__, {n: files.records[n] for n in files.order
                                           if n in files.records and files.paths[n] is not None},
                             # No output record is carried over: the run records each file it
                             # writes or keeps, and what an earlier run recorded and this one
                             # does not is stale (run._remove_stale_outputs).
                             merge_diags, {}, None, None),
        diagnostics=files.diagnostics(merge_diags), digests=tuple(digests), books=books,
        book_settings=book_settings, feeds_reason=feeds.reason, feed_inputs=feeds.inputs,
        feed_settings=feeds.settings, feed_from=feeds.start, seen_keys=feeds.seen,
        feed_title=_feed_title(options, skeleton), page_title=_page_title(options, skeleton),
        explanations=explain,
        files_read=len(files.parsed), files_total=len(files.order),
        file_days={files.shown[n]: frozenset(d[0] for d in files.records[n].digests)
                   for n in files.order if n in files.records},
        selections=subs, empty_books=empty, state_lost=why or "")
    if options.incremental:
        plan.gone_selections = _gone_selections(options, state)
        for folder in [options] + [sub.options for sub in subs]:
            plan.diagnostics += _unreadable_log(folder)
    _select(plan)
    return plan


def plan_from_result(result: ReadResult, options: BuildOptions) -> BuildPlan:
    """The plan for digests already read (the library entry points): everything is made."""
    options = _checked(replace(options, incremental=False))
    skeleton = [Digest(d.date, d.title, ()) for d in result.digests]
    eo = options.epub
    books: list[BookPlan] = []
    if eo is not None:
        from ..books.devices import profile as device_profile

        for meta in make_bundles(result.digests, eo.by, date_from=eo.date_from, date_to=eo.date_to,
                                 title=eo.title):
            for name in eo.profile_names():
                suffix = device_profile(name).suffix
                books.append(BookPlan(meta if suffix == meta.suffix else replace(meta, suffix=suffix), "",
                                      "not built before", meta.days, meta.paper_count, name))
    state = BuildState.empty(__version__)
    plan = BuildPlan(
        options=options, state=state, new_state=BuildState.empty(__version__),
        diagnostics=tuple(result.diagnostics), digests=tuple(result.digests), books=books,
        book_settings="", feeds_reason="not written before" if options.feed_formats else None,
        feed_inputs="", feed_settings="", feed_from=None, seen_keys=frozenset(),
        feed_title=_feed_title(options, skeleton), page_title=_page_title(options, skeleton),
        explanations=[], files_read=0, files_total=0,
        file_days=_file_days(result))
    _select(plan)
    return plan


def _select(plan: BuildPlan) -> None:
    """The parsed days filtered by the run's filter and by every selection's, before anything is
    written: a selection that fails (a regular expression over its time budget) stops the run with
    the output folder as it was, not after the whole archive's books and feeds."""
    from ..selections import RegexBudget, select_digests

    texts: dict[int, str] = {}  # each paper's folded text, once for all selections
    budget = RegexBudget()  # one for the run: its terms together are bounded, not each selection's
    for each in [plan, *plan.selections]:
        if each.options.filter is not None:
            each.selected = tuple(select_digests(plan.digests, each.options.filter, budget, texts))


# -- selections ----------------------------------------------------------------------

#: The main state's page record that says "this build made the selection NAME".
SELECTION_PAGE = "selection:"


def selection_options(options: BuildOptions, selection: Selection, series: str, feed_title: str) -> BuildOptions:
    """The options of a selection's folder ``DIR/NAME/``: the whole build's, with the selection as
    filter, its own titles (book series ``SERIES · TITLE``), base URL ``BASE/NAME/`` and state."""
    out = Path(options.out_dir) / selection.name
    eo = options.epub
    fo = options.feed
    return replace(
        options, out_dir=out,
        epub=(replace(eo, out_dir=out, title=f"{series} · {selection.title}", selection=True)
              if eo is not None else None),
        feed=replace(fo, out_dir=out, title=f"{feed_title} · {selection.title}",
                     base_url=f"{fo.base_url}{selection.name}/" if fo.base_url else None),
        filter=selection, selections=(), front_page=False, catalog_of_folder=False,
        state_path=options.selection_state(selection.name))


def _selection_token(state: BuildState, name: str) -> str:
    """The token that ties the selection *name*'s state to the main *state*: the one the main
    state records, or a new one (no main state, or it never made the selection)."""
    import secrets

    record = state.pages.get(SELECTION_PAGE + name)
    return record.inputs if record is not None and record.inputs else secrets.token_hex(16)


def vouched(main: BuildState, name: str, state: BuildState) -> bool:
    """Whether the selection *name*'s *state* belongs with the *main* state: each selection's
    state is a file of its own (``--state FILE`` -> ``FILE.NAME``), and one whose main state was
    deleted (to force a full rebuild) or replaced must not claim DIR/NAME/ on its own."""
    record = main.pages.get(SELECTION_PAGE + name)
    return bool(state.token) and record is not None and record.inputs == state.token


def _plan_selection(options: BuildOptions, selection: Selection, skeleton: list[Digest], days: _Days,
                    files: InputFiles, token: str) -> BuildPlan:
    from ..errors import UsageError

    eo = options.epub
    series = (make_bundles(skeleton, eo.by, title=eo.title)[0].title if eo is not None and skeleton
              else (clean_text(eo.title or "") if eo is not None else "") or DEFAULT_TITLE)
    sub = selection_options(options, selection, series, _feed_title(options, skeleton))
    state_path = sub.state_file()
    out = Path(sub.out_dir)
    state = BuildState.empty(__version__)
    explain = []
    have_state = state_path.exists()
    unvouched: dict[str, Stamp] = {}
    if have_state:
        state, _ = load_state(state_path, __version__, sub.state_base())
        if state.token != token:  # not the main state's: as if it were not there
            # (but what it records writing, where a file still holds those bytes, is the
            # program's: a build that stopped after the selection's end, before the main state)
            unvouched = state.written_files()
            state, have_state = BuildState.empty(__version__), False
            owed = {n: stamp for n, stamp in unvouched.items() if holds(out / n, stamp)}
            if owed:  # the run removes those it does not write again, as a fresh build has none
                state.pages[OWED_PAGE] = OutputRecord("", "", owed)
            explain.append(f"state: {state_path} does not belong to the main state (deleted or replaced "
                           "since); everything is checked")
    if out.is_symlink() or out.exists() and not out.is_dir():
        # A link is refused as the writer refuses any link below the output folder: writes and
        # removals through it would land outside the folder the user named.
        raise UsageError(f"selection '{selection.name}': {q(out)} exists and is not a folder of its own "
                         f"(it is {described(out)}); choose another name")
    # A folder of the user's own: never written into (its files would be
    # replaced, and removing the selection would not know what is ours).
    # Without a state (deleted: it is a cache), a folder holding only names
    # this build writes is taken as ours, as the top folder is.
    if out.is_dir() and not have_state:
        foreign = _foreign_files(out, sub, unvouched)
        if foreign:
            raise UsageError(f"selection '{selection.name}': {q(out)} already holds files that digest-export build "
                             f"did not write ({', '.join(foreign[:3])}); choose another name, or move them")
    books, settings, empty = _plan_books(sub, skeleton, days, files.records, files.shown, state)
    feeds = _plan_feeds(sub, days, files, state)
    return BuildPlan(
        options=sub, state=state, new_state=BuildState(__version__, {}, {}, {}, None, None, token=token),
        diagnostics=(), digests=(), books=books, book_settings=settings, feeds_reason=feeds.reason,
        feed_inputs=feeds.inputs, feed_settings=feeds.settings, feed_from=feeds.start, seen_keys=feeds.seen,
        feed_title=sub.feed.title or "", explanations=explain, files_read=0, files_total=0, empty_books=empty)


def _foreign_files(out: Path, options: BuildOptions, unvouched: dict[str, Stamp]) -> list[str]:
    """The names in a selection's folder that its build would not write, sorted; a file a build
    recorded writing and that still holds those bytes (*unvouched*: a selection state the main
    state does not vouch for) is the program's whatever its name."""
    from ..bundles import slugify
    from ..delivery.ledger import LEDGER_NAME, LOCK_NAME
    from ..feeds.writer import FILE_NAMES, ICON_NAME

    from ..output import written_for
    from ..site.catalog import CURRENT, HEAD

    catalog = {stem + ext for stem in (HEAD, CURRENT) for ext in (".opds", ".json")}
    fixed = {*FILE_NAMES.values(), *catalog, ICON_NAME, LATEST_NAME, "archive", HEAD}
    sends = {LEDGER_NAME, LOCK_NAME}  # what ``send --selection`` keeps there: never written by the build
    prefix = slugify(options.epub.title or "") + "-" if options.epub is not None else None
    # What a build of the folder that stopped before saving its state wrote (it recorded them:
    # run._Writes.stopped), still as written: the program's, whatever the options were then.
    recorded = {**unvouched, **load_written(written_record_path(out), out)}
    foreign = []
    for path in sorted(out.iterdir()):
        # A temporary file a run killed outright left (of a run whose token is recorded), for
        # whatever name: the build removes it (run._remove_leftovers), it does not make the
        # folder someone else's.
        if written_for(path.name) is not None:
            continue
        name = path.name
        if name in sends or name in recorded and holds(out / name, recorded[name]):
            continue
        # A name the build writes is ours only if what is there is (the program's mark): a
        # feed.atom of the user's found there when the selection's feeds are written stopped the
        # run after the whole archive's feeds, leaving DIR half-written.
        if name == "archive":
            ours = path.is_dir() and not path.is_symlink() and all(
                written_for(p.name) is not None or p.suffix == ".atom" and _ours_there(p) for p in path.iterdir())
        elif name == HEAD:  # the catalog's pages, years and crawlable feed
            ours = path.is_dir() and not path.is_symlink() and all(
                written_for(p.name) is not None or p.suffix in (".opds", ".json") and _ours_there(p)
                for p in path.iterdir())
        else:
            ours = (name in fixed or (prefix is not None and name.startswith(prefix)
                                      and (name.endswith(".epub") or ".cover." in name))) and _ours_there(path)
        if not ours:
            foreign.append(path.name)
    return foreign


def _ours_there(path: Path) -> bool:
    """Whether the file *path*, at a name the build writes, may be written over: a temporary file
    a stopped run left (the build removes it), or a file that is the program's (its mark; an
    empty file holds nothing to lose)."""
    from ..output import is_ours, written_for

    return written_for(path.name) is not None or is_ours(path)


def _gone_selections(options: BuildOptions, state: BuildState) -> list[tuple[str, Path]]:
    """The selections the last build made that this one does not: their files go."""
    names = {s.name for s in options.selections}
    gone = []
    for key in sorted(state.pages):
        name = key[len(SELECTION_PAGE):]
        if key.startswith(SELECTION_PAGE) and name not in names:
            try:
                check_name(name, "state")  # a state edited by hand must not name a folder outside DIR
            except SelectionError:
                continue
            gone.append((name, selection_state_path(options.state_path, Path(options.out_dir), name)))
    return gone


def _file_days(result: ReadResult) -> dict[str, frozenset[str]]:
    days: dict[str, set[str]] = {}
    for digest in result.digests:
        for source in digest.sources:
            days.setdefault(source.path, set()).add(digest.date.isoformat())
    return {path: frozenset(d) for path, d in days.items()}


def _unreadable_log(options: BuildOptions) -> tuple:
    """A warning when the folder's log of writes is there but cannot be read: what a run killed
    outright put in place and did not record stays unknown (its leftovers are then the user's)."""
    from ..model import Diagnostic, Kind, Severity

    why = unreadable_intents(Path(options.out_dir))
    if why is None:
        return ()
    return (Diagnostic(None, Severity.WARNING, (
        f"the log of this folder's writes, {q(intent_log_path(Path(options.out_dir)))}, cannot be read ({why}): "
        f"files a run killed before this one put in place are not known as the program's and stay; "
        f"remove what you no longer want"), Kind.OUTPUT),)


def _checked(options: BuildOptions) -> BuildOptions:
    """*options* with the base URL normalised; UsageError for what cannot work."""
    from ..books.epub import check_options as check_epub
    from ..feeds.writer import check_options as check_feed
    from ..feeds.writer import normalize_base_url

    if options.epub is not None:
        check_epub(options.epub)
    check_feed(options.feed)
    return replace(options, feed=replace(options.feed, base_url=normalize_base_url(options.feed.base_url)))


def _page_title(options: BuildOptions, skeleton: list[Digest]) -> str:
    from ..feeds.entries import feed_name

    return feed_name(skeleton, options.feed.title)


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
    #: (file, ISO date) -> the text hashes of that day's headings in that file.  Indexed once: a
    #: lookup per day in the file's list was quadratic in a one-file archive of thousands of days.
    hashes: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, files: InputFiles, state: BuildState) -> _Days:
        days = cls({}, {}, {}, [], set())
        for name in files.order:
            rec = files.records.get(name)
            for iso, title, keys, text_hash in rec.digests if rec is not None else ():
                holders = days.files.setdefault(iso, [])
                if name not in holders:
                    holders.append(name)
                days.hashes.setdefault((name, iso), []).append(text_hash)
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
    # folder): replacing one must rebuild it.  The file is the one the
    # loader reads, found by the loader's own resolver (every spelling of
    # the reference, either Unicode normalization of the name), and
    # stamped as input files are (reader/stamps.py: ctime too, which
    # `touch -r` cannot set back).
    from ..images.load import resolve_locals

    out: list[Any] = []
    for url, target in zip(urls, resolve_locals(shown, urls)):
        try:
            st = os.stat(target) if isinstance(target, str) else None
        except OSError:
            st = None
        if st is None:
            out.append([url, None])
        else:
            out.append([url, os.path.basename(target), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino])
    return out


def _plan_books(options: BuildOptions, skeleton: list[Digest], days: _Days, records: dict[str, FileRecord],
                shown: dict[str, str],
                state: BuildState) -> tuple[list[BookPlan], str, dict[str, OutputRecord]]:
    """Each book of the run, and why it must be built (or not)."""
    from ..books.devices import profile as device_profile
    from ..resources import templates_dir

    eo = options.epub
    if eo is None:
        return [], "", {}
    metas = make_bundles(skeleton, eo.by, date_from=eo.date_from, date_to=eo.date_to, title=eo.title)
    series = metas[0].title if metas else ""
    if options.finished_before is not None:  # a book for everything is never finished
        metas = [m for m in metas if m.by is not BundleBy.ALL and m.end < options.finished_before]
    folders = ([Path(eo.templates)] if eo.templates else []) + [templates_dir()]
    templates = tree_hash(folders)
    profiles = [device_profile(name) for name in eo.profile_names()]
    # One file per book and profile, each with its own fingerprint: adding
    # a profile leaves the other profiles' files alone.
    from ..books.epub import fonts

    font_digests = [f.digest if f is not None else None for f in fonts(eo)]
    # The generic profile's fingerprint, with no font and no filter, is what
    # it was before profiles and selections existed: no rebuild on upgrade.
    settings = {p.name: fingerprint(__version__, output_settings(eo), series, templates,
                                    *([p.name] if p.name != "generic" else []),
                                    *([font_digests] if eo.font is not None else []),
                                    *([options.filter.settings()] if options.filter else []))
                for p in profiles}
    books = []
    empty: dict[str, OutputRecord] = {}
    for meta in metas:
        inputs = _book_inputs(meta, days, records, shown, embed=eo.images == "embed")
        isos = [d.date.isoformat() for d in meta.digests]
        for device in profiles:
            meta_p = meta if device.suffix == meta.suffix else replace(meta, suffix=device.suffix)
            old = state.books.get(meta_p.file_name)
            if old is None:
                reason = "not built before"
            elif old.settings != settings[device.name]:
                reason = "options, templates or program version changed"
            elif old.inputs != inputs:
                reason = INPUTS_CHANGED
            else:
                reason = old.missing_or_changed(Path(options.out_dir))
                if reason is None and not old.files:
                    if options.filter is not None:  # no paper passes the filter in this period
                        empty[meta_p.file_name] = old
                        continue
                    # A whole book always has a file: a record without one
                    # was edited, and the file on disk is nobody's now.
                    reason = "its files are not recorded"
            papers = sum(len(days.keys[i]) for i in isos)
            if reason is None and old is not None and old.papers is not None:
                papers = old.papers  # a selection's book: the papers that passed
            books.append(BookPlan(meta_p, inputs, reason, len(isos), papers, device.name, settings[device.name]))
    if eo.images == "embed":
        _retry_thumbnails(books, state, eo)
    return books, settings[profiles[0].name], empty


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
        files: list[Any] = [(n, days.hashes.get((n, iso), [])) for n in days.files[iso]]
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
    settings = fingerprint(__version__, output_settings(replace(fo, formats=tuple(dict.fromkeys(fo.formats)))),
                           *([options.filter.settings()] if options.filter else []))
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
    # Each file's days are pulled in once (a file of thousands of days was
    # walked again for each of its days: quadratic).
    expanded: set[str] = set()
    todo = list(needed)
    while todo:
        iso = todo.pop()
        if iso in closure:
            continue
        closure.add(iso)
        for name in days.files.get(iso, ()):
            if name not in expanded:
                expanded.add(name)
                todo.extend(d for d, *_ in files.records[name].digests if d not in closure)
    position = {name: i for i, name in enumerate(files.order)}
    for name in sorted((n for n in expanded if n not in files.parsed), key=position.__getitem__):
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
