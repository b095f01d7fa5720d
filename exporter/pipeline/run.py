"""Running a plan: the only place where books, feeds, catalog and front page are written.

Books are built in worker processes (forked after reading, so the model is
shared copy-on-write) while the feeds are written in this process; then
what an earlier run made and this one would not is removed, the catalog and
the front page are written, and the new state is saved.  Every file goes
through :func:`exporter.output.write_file`, so unchanged bytes are never
rewritten.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from pathlib import Path

from typing import Any

from .. import __version__
from ..books.workers import BookBatch, BookResult, make_batches
from ..bundles import Bundle, make_bundles
from ..errors import InputError, OutputError
from ..feeds.writer import FeedReport
from ..model import ReadResult, counted
from ..gates import files as gate_files
from ..output import (NotOurFileError, Records, Stamp, carries_mark, check_state_target, check_target, check_writable,
                      holds, is_users, not_ours_message, outside_through_link, recorded, records_for, remove_file,
                      remove_folder, remove_leftovers, synced_at_end, write_file, written_in_run, written_stamp)
from ..site.catalog_records import CatalogBooks, catalog_record
from ..site.frontpage import check_template, newest_digest, write_front_page
from ..site.catalog import book_files
from ..site.opds import COVER_TYPES, cover_name, thumbnail_name, write_catalog
from ..state import (LATEST_NAME, OWED_PAGE, STATE_NAME, BuildState, OutputRecord, default_state_path, fingerprint,
                     forget_intents, intent_log_path, load_intents, load_written, written_bytes, written_record_path)
from .options import INPUTS_CHANGED, BookPlan, BuildPlan, BuildReport
from ..gates.names import folded_name, shell_quote as q

#: The suffixes of the files a build writes (books, covers, feeds, catalogs, pages, the icon): a
#: killed run's temporary file for such a name is its leftover even when no log names it.
OUTPUT_KINDS = (".epub", ".jpg", ".png", ".atom", ".rss", ".json", ".opds", ".html")
#: Called after each file: (kind, path, status), kind "book" for now.
Progress = Callable[[str, Path, str], None]


def run_build(plan: BuildPlan, progress: Progress | None = None, *, fragments: Any = None) -> BuildReport:
    """Write what *plan* says; raises :class:`InputError` (writing nothing)
    if the inputs hold errors, unless ``keep_going``.  *fragments*: the
    papers' rendered markup, shared by the whole archive's books and the
    selections' (:class:`exporter.books.epub.Fragments`; made here when the
    run has selections).  Only files the state records (or that carry the
    program's mark) are replaced or removed."""
    options = plan.options
    if plan.errors and not options.keep_going:
        raise InputError(plan.diagnostics)
    if options.epub is not None:  # a template the book gate refuses stops the run before any write
        from ..books.epub import check_templates

        check_templates(options.epub, plan.digests)
    try:
        return _run_folder(plan, progress, fragments)
    finally:
        _SHOWN.clear()  # the run is over: let its model go


def _run_folder(plan: BuildPlan, progress: Progress | None, fragments: Any) -> BuildReport:
    """The run of the output folder, with its selections' (``DIR/NAME/``) inside it."""
    writes = _Writes.of(plan)
    with recorded(Path(plan.options.out_dir), writes.records):
        try:
            report = _run(plan, progress, fragments, writes)
        except BaseException:
            writes.stopped(plan)
            raise
        writes.ended(plan)
    writes.taken_over(plan)
    return report


@dataclass(slots=True)
class _Writes:
    """What ``feed`` or ``epub`` wrote into a folder since its last build (they keep no state,
    only a record of their writes), and the folder's records for the run.

    Those files are the program's too while they are as written, and newer than what the state
    says of the same names; a build removes those it does not write (the covers ``feed --format
    opds`` made for EPUBs of someone else's, a feed format the build does not make): a fresh
    build would not have them."""

    record: Path | None
    earlier: dict[str, Stamp]
    records: Records
    #: The names a run killed outright was putting in place (its log, read before this run adds
    #: to it): a temporary file it left for one of them is removed.
    intended: tuple[str, ...] = ()

    @classmethod
    def of(cls, plan: BuildPlan) -> _Writes:
        options = plan.options
        out = Path(options.out_dir)
        record = written_record_path(out) if options.incremental or options.record_writes else None
        if record is None:
            return cls(None, {}, records_for(out, _built_files(plan)))
        # What a run killed outright put in place is taken as a stopped run's record would give it.
        earlier = load_written(record, out)
        log = intent_log_path(out)
        return cls(record, earlier, records_for(out, {**_built_files(plan), **earlier}, log=log),
                   tuple(name for name, _, _ in load_intents(log)))

    def stopped(self, plan: BuildPlan) -> None:
        """A run stopped half-way (a file of the user's in the way, Ctrl-C) has replaced files whose
        digests its state will not hold: recorded (within the folder's records), so that the
        next run knows them as its own, not as files edited since it wrote them."""
        if self.record is not None:
            try:
                with recorded(Path(plan.options.out_dir), self.records):
                    record_writes(Path(plan.options.out_dir), self.record, self.earlier)
            except (OSError, OutputError):
                pass  # the error that stopped the run is what the user is told

    def ended(self, plan: BuildPlan) -> None:
        """Within the folder's records, at the end of its run."""
        if self.record is not None and plan.options.record_writes:
            record_writes(Path(plan.options.out_dir), self.record, self.earlier)

    def taken_over(self, plan: BuildPlan) -> None:
        """After the run: taken over by the state just saved (what this build wrote or kept), and
        so is the log of its writes."""
        if self.record is not None and plan.options.incremental:
            if self.earlier and os.path.lexists(self.record):  # (a killed run's writes alone: no record)
                remove_file(self.record, Stamp.at(self.record))
            forget_intents(Path(plan.options.out_dir))


def _built_files(plan: BuildPlan) -> dict[str, Stamp]:
    """What the builds of the folder wrote there, as their state records it: a build's own
    state; for ``feed`` and ``epub``, which keep none, the state a ``build`` of the folder left at
    the default place (read, never written).  A file it records is the program's only while it
    holds the bytes recorded: one the user edited since, mark and all, is the user's, and ``feed``
    leaves it as ``build`` does."""
    options = plan.options
    if options.incremental or not options.record_writes:
        return plan.state.written_files()
    from ..state import load_state

    try:
        state, why = load_state(default_state_path(Path(options.out_dir)), __version__, options.state_base())
    except (OSError, OutputError):
        return {}
    return {} if why else state.written_files()


def folder_stamps(out: Path) -> dict[str, Stamp]:
    """What the runs into the folder *out* wrote there and recorded (the state a ``build`` left at
    the default place, and the record of ``feed`` and ``epub``): for a write into that folder
    from outside a run of it (``epub -o FILE.epub``), so that a file a build wrote and the user
    edited since is the user's there too."""
    from ..state import load_state

    stamps: dict[str, Stamp] = {}
    try:
        state, why = load_state(default_state_path(out), __version__, gate_files.real_path(out).parent)
        if not why:
            stamps.update(state.written_files())
        stamps.update(load_written(written_record_path(out), out))
    except (OSError, OutputError):
        pass
    return stamps


def record_writes(out: Path, path: Path, earlier: dict[str, Stamp]) -> None:
    """The record *path* of what runs that saved no state wrote into *out* (within the folder's
    :func:`~exporter.output.recorded`): what earlier such runs wrote (*earlier*) and is still as
    they left it or was edited since (the user's from then on), and what this one wrote or found
    already written."""
    # A file the user edited since stays in the record, as the user's (see keep_users_edits).
    files = {name: stamp for name, stamp in earlier.items()
             if holds(out / name, stamp) or edited_since(out / name, stamp)}
    files.update(written_in_run())
    if files:
        write_file(path, written_bytes(files), ours=True)
    elif earlier and os.path.lexists(path):
        remove_file(path, Stamp.at(path))
    forget_intents(out)  # what it names is in the record now


def _run(plan: BuildPlan, progress: Progress | None, fragments: Any, writes: _Writes) -> BuildReport:
    report = _new_report(plan)
    state = plan.new_state
    if fragments is None and plan.selections:
        from ..books.epub import Fragments

        fragments = Fragments()
    _check_before_writing(plan)
    _promise_selections(plan)
    subs: list[_Selection] = []
    # The renames of the run are made durable once per folder, before the state records them.
    with synced_at_end():
        try:
            for sub in plan.selections:
                subs.append(_begin_selection(plan, sub, progress, fragments))
            _write_outputs(plan, report, state, progress, fragments, subs, writes)
        except BaseException:
            for run in subs:
                if not run.ended:
                    run.writes.stopped(run.plan)
            raise
    if plan.options.incremental:
        _save_state(plan, report, state, writes.earlier)
    return report


def _promise_selections(plan: BuildPlan) -> None:
    """Before a selection the main state does not know yet writes into ``DIR/NAME/``: the main
    state as it was, with that selection (and its token) in it.  A run stopped before its end
    (Ctrl-C, SIGTERM, an error) then leaves a main state that names the selection: the next run
    that no longer has it in its config removes what the stopped run wrote there (as the
    selection's record of its writes says, :func:`_remove_selection`), where otherwise no run
    would ever have known the folder for a selection's."""
    from .plan import SELECTION_PAGE

    options = plan.options
    names = {Path(sub.options.out_dir).name: sub.new_state.token for sub in plan.selections}
    new = {SELECTION_PAGE + name: OutputRecord(token, name, {})
           for name, token in names.items() if SELECTION_PAGE + name not in plan.state.pages}
    if not options.incremental or not new:
        return
    promised = replace(plan.state, pages={**plan.state.pages, **new})
    write_file(options.state_file(), promised.to_bytes(options.state_base()), ours=options.state_path is None,
               state=True)


def _new_report(plan: BuildPlan) -> BuildReport:
    return BuildReport(explanations=list(plan.explanations), files_read=plan.files_read,
                       files_total=plan.files_total)


def _check_before_writing(plan: BuildPlan) -> None:
    from ..feeds.writer import FILE_NAMES, ICON_NAME

    options = plan.options
    # A named pipe, a device or a link to nothing at a name the run writes stops it here, before
    # anything is written, not when that file's turn comes (the books, feeds and catalog were
    # written before a link to nothing at index.html was found).
    out = Path(options.out_dir)
    names = [FILE_NAMES[f] for f in options.feed_formats if f in FILE_NAMES]
    names += ["catalog.opds", "catalog.json"] if options.catalog else []
    names += ["index.html"] if options.front_page else []
    names += [ICON_NAME] if options.feed.base_url else []
    # The folders of catalog pages and archives are folders (a file "catalog" stops the run: a
    # page written under it would be), and what they hold at a page's name is a regular file.
    names += ["catalog/page-1.opds"] if options.catalog else []
    names += ["archive/archive.atom"] if options.feed.archive else []
    obstacles = _special_files(out) + _special_files(out / "catalog", every=True)
    obstacles += _special_files(out / "archive", every=True) if options.feed.archive else []
    for path in [out / name for name in names] + obstacles:
        # The catalog's pages and the archives: any file in their folder (the names are examples).
        check_target(path, into=path.parent if path.parent.name in ("catalog", "archive") and path.parent.parent == out
                     and path.name in ("page-1.opds", "archive.atom") else None)
        if gate_files.broken_link(path):  # never replaced, and never holding the bytes to keep
            raise NotOurFileError(not_ours_message(path))
    # A file of the user's (no record names it, no mark) at a name the run writes whatever its
    # books stops it here too, not after the books and covers those pages would list (the feeds
    # are written while the books are built; the icon takes an earlier version's unmarked bytes
    # as its own: write_file judges it).
    fixed = [name for name in names if name != ICON_NAME and not name.endswith(("page-1.opds", "archive.atom"))]
    fixed += ["catalog-current.opds", "catalog-current.json", "catalog/crawlable.opds",
              "catalog/crawlable.json"] if options.catalog else []
    fixed += [LATEST_NAME] if options.finished_before is not None else []
    # In the catalog's and the archives' own folders, a page's or a feed's name is any (the
    # years' pages, the weeks' archives): a file of the user's there at such a name stops it too.
    pages = [folder for folder, wanted in (("catalog", options.catalog), ("archive", options.feed.archive)) if wanted]
    for path in [out / name for name in fixed] + [p for folder in pages for p in _pages_in(out / folder)]:
        if is_users(path):
            raise NotOurFileError(not_ours_message(path))
    if options.feed.base_url and is_users(out / ICON_NAME) and not _legacy_icon(out / ICON_NAME):
        raise NotOurFileError(not_ours_message(out / ICON_NAME))
    if options.front_page:
        check_template(plan)
    if options.incremental and options.state_path is not None:
        # A --state file that is not the program's stops the run before anything is written,
        # not after the books and feeds (the default state file is the program's own), and so
        # does a file of the program's that is not a state (a book kept elsewhere: a slip).
        check_writable(options.state_file())
        check_state_target(options.state_file())


def _pages_in(folder: Path) -> list[Path]:
    """The regular files of *folder* (the catalog's or the archives' own) at names of pages and
    feeds (``.opds``, ``.json``, ``.atom``, ``.rss``, ``.xml``)."""
    try:
        with os.scandir(folder) as entries:
            return sorted(Path(entry.path) for entry in entries
                          if entry.name.endswith((".opds", ".json", ".atom", ".rss", ".xml"))
                          and entry.is_file(follow_symlinks=False))
    except OSError:
        return []


def _legacy_icon(path: Path) -> bool:
    """Whether *path* holds the icon an earlier version wrote, unmarked (the writer's own)."""
    from ..feeds.writer import legacy_icon_png

    try:
        return gate_files.read_bytes(path, 1 << 20) == legacy_icon_png()
    except (OSError, ValueError):
        return False


def _special_files(folder: Path, *, every: bool = False) -> list[Path]:
    """The entries of *folder* that are neither a regular file nor a folder (a named pipe, a
    device, a socket, a link to one or to nothing) at a name the catalog writes: its pages
    (``catalog*.opds``, ``.json``, or any such name in its own folder: *every*) and the covers beside the books there
    (``NAME.cover.*`` beside ``NAME.epub``).  Found before the run writes anything, not when
    the catalog's pages or a cover get their turn."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    names = {entry.name for entry in entries}
    if every:  # a page's or an archive's name in their own folder: anything but a regular file
        return [Path(entry.path) for entry in entries
                if entry.name.endswith((".opds", ".json", ".atom", ".rss", ".xml")) and not _regular(entry)]
    return [Path(entry.path) for entry in entries
            if (entry.name.startswith("catalog") and entry.name.endswith((".opds", ".json"))
                or entry.name.partition(".cover.")[0] + ".epub" in names)
            and not entry.is_dir(follow_symlinks=False) and not _regular(entry)]


def _regular(entry: os.DirEntry) -> bool:
    try:
        return entry.is_file(follow_symlinks=True)
    except OSError:  # a link loop (ELOOP): check_target says what it is
        return False


@dataclass(slots=True)
class _Books:
    """The books one output folder's run builds (:func:`_prepare_books`): the batches for the
    workers, and per batch what to do with each result (in bundle order) and what to show as it
    comes; the folder's feeds, written while the workers build; what to say after its books."""

    batches: list[BookBatch] = field(default_factory=list)
    done: list[Callable[[BookResult], None]] = field(default_factory=list)
    shown: list[Callable[[BookResult], None]] = field(default_factory=list)
    feeds: Callable[[], None] | None = None
    end: Callable[[], None] | None = None
    #: Why a book was not written (:attr:`BookResult.refused`).
    refused: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Selection:
    """A selection's run (its folder ``DIR/NAME/``), between its books' preparation and its end."""

    plan: BuildPlan
    report: BuildReport
    state: BuildState
    books: _Books
    #: What ``feed`` and ``epub`` wrote there since, and the folder's records.
    writes: _Writes
    ended: bool = False

    @property
    def records(self) -> tuple[Path, Records]:
        """Its folder and records (:func:`exporter.output.recorded`), the same object each time
        the run enters it: what the writer learns of the files it writes is kept there."""
        return Path(self.plan.options.out_dir), self.writes.records


def _write_outputs(plan: BuildPlan, report: BuildReport, state: BuildState, progress: Progress | None,
                   fragments: Any, subs: list[_Selection], writes: _Writes) -> None:
    """Everything of the run but its state: books (the selections' too, in one set of workers),
    feeds, selections, catalog, front page, and the removal of what an earlier run wrote and this
    one would not (*writes*: what ``feed`` and ``epub`` wrote since the last build, and a run
    killed outright)."""
    mine = _prepare_books(plan, report, state, progress, plan.selected, fragments)
    _build_books([mine] + [sub.books for sub in subs], plan.options.jobs)
    _end_selections(plan, report, state, progress, subs)
    _rest_of_outputs(plan, report, state, progress, writes)


def _rest_of_outputs(plan: BuildPlan, report: BuildReport, state: BuildState, progress: Progress | None,
                     writes: _Writes) -> None:
    """What a folder's run writes after its books: the catalog, icon and front page, and the
    removal of what is stale (*writes*: see :func:`_write_outputs`)."""
    options = plan.options
    others = writes.earlier
    newest = None
    if options.front_page:
        newest = newest_digest(plan)
    # The model is not needed any more: free it before the catalog holds
    # every book's cover (ten years: 250 MB of model, 50 MB of covers).
    plan.digests, plan.selected = (), None
    if options.incremental:
        _remove_stale_books(plan, report, state)
    _write_latest(plan, report, state, others)
    if options.catalog:
        _write_catalog(plan, report, state)
    _write_icon(plan, report, state)
    if options.incremental:  # before the front page, which shows the covers that are left
        _remove_stale_outputs(plan, report, state, [plan.state.feeds, plan.state.catalog,
                                                    OutputRecord("", "", others)])
    if options.front_page:
        # after the catalog: it shows the covers; one entry per book, in the first profile
        write_front_page(replace(plan, books=plan.primary_books), report, state, newest)
    if options.incremental:
        _remove_stale_outputs(plan, report, state, list(plan.state.pages.values()))
    _remove_leftovers(Path(options.out_dir), report,
                      [*plan.state.written_files(), *state.written_files(), *others, *writes.intended])
    if plan.state_lost and options.incremental:
        _note_unrecorded(plan, report, state, others)


def _note_unrecorded(plan: BuildPlan, report: BuildReport, state: BuildState, others: dict[str, Stamp]) -> None:
    """After a run without a usable state (none, or a damaged one): the files of the program's in
    the folder that it did not write, and that no record names (an earlier build's, of other
    options): a full rebuild knows only what it writes, so they are said once, never removed."""
    from ..model import Diagnostic, Kind, Severity

    out = Path(plan.options.out_dir)
    known = {*state.written_files(), *state.left, *others}
    found = []
    for sub in ("", "catalog", "archive"):
        try:
            with os.scandir(out / sub if sub else out) as entries:
                names = sorted((entry.name, entry.path) for entry in entries
                               if not entry.name.startswith(".") and _regular(entry))
        except OSError:
            continue
        found += [Path(path) for name, path in names
                  if (f"{sub}/{name}" if sub else name) not in known and carries_mark(Path(path))]
    if found:
        shown = ", ".join(q(p) for p in found[:3]) + (f" and {len(found) - 3} more" if len(found) > 3 else "")
        report.notes.append(Diagnostic(None, Severity.NOTE, (
            f"{counted(len(found), 'file')} in {q(out)} {'carries' if len(found) == 1 else 'carry'} digest-export's "
            f"mark but {'was' if len(found) == 1 else 'were'} not written by this build, and no state says an "
            f"earlier one did ({plan.state_lost}): left as {'it is' if len(found) == 1 else 'they are'}; remove "
            f"what you no longer want ({shown})"), Kind.OUTPUT))


def _remove_leftovers(out: Path, report: BuildReport, written: list[str]) -> None:
    """The temporary files a run killed outright left in the folders a build writes (its own
    pattern, held by no process: :func:`exporter.output.remove_leftovers`), for a name the last
    run or this one wrote, or a run killed outright was writing (*written*, relative to *out*):
    the folder ends as a fresh build leaves it."""
    # The names are relative POSIX paths as the run records them: split as strings (a path
    # object per name and folder cost a no-change run with selections a tenth of its time).
    by_folder: dict[str, list[str]] = {}
    for name in written:
        head, _, tail = name.rpartition("/")
        by_folder.setdefault(head, []).append(tail)
    for sub in ("", "catalog", "archive"):
        folder = out / sub if sub else out
        for path in remove_leftovers(folder, by_folder.get(sub, []), OUTPUT_KINDS):
            report.removed.append(path)
            report.explanations.append(f"removed {q(path)}: a temporary file of a run that was stopped")


def _inherit_left(plan: BuildPlan, sub: BuildPlan) -> None:
    """The files in the selection *sub*'s folder that the main state keeps as the user's (left
    when a selection of that name was removed, :func:`_remove_selection`): the user's in the
    selection's run too, whatever its own state says, and kept by its state from then on."""
    prefix = Path(sub.options.out_dir).relative_to(plan.options.out_dir).as_posix() + "/"
    for name, stamp in plan.state.left.items():
        if name.startswith(prefix):
            sub.state.left.setdefault(name[len(prefix):], stamp)


def _begin_selection(plan: BuildPlan, sub: BuildPlan, progress: Progress | None, fragments: Any) -> _Selection:
    """A selection's checks and the preparation of its books (from the days read once), in its
    folder (``DIR/NAME/``), before any book of the run is built."""
    sub.digests = plan.digests
    _inherit_left(plan, sub)
    run = _Selection(sub, _new_report(sub), sub.new_state, _Books(), _Writes.of(sub))
    records = run.records
    with recorded(*records):
        _check_before_writing(sub)
        with synced_at_end():
            books = run.books = _prepare_books(sub, run.report, run.state, progress, sub.selected, fragments)
    feeds = books.feeds
    if feeds is not None:
        def in_its_folder() -> None:
            with recorded(*records), synced_at_end():
                feeds()

        books.feeds = in_its_folder
    for i, batch in enumerate(books.batches):
        books.batches[i] = replace(batch, records=records)
    return run


def _build_books(folders: list[_Books], jobs: int) -> None:
    """Build the books of every folder in one set of workers (:func:`make_batches`), writing the
    feeds meanwhile; then record each folder's results in bundle order."""
    batches: list[BookBatch] = []
    owners: list[tuple[_Books, int]] = []
    for books in folders:
        for j, batch in enumerate(books.batches):
            batches.append(batch)
            owners.append((books, j))
    feeds = [books.feeds for books in folders if books.feeds is not None]

    def meanwhile() -> None:
        for write in feeds:
            write()

    got: list[list[BookResult]] = [[] for _ in batches]
    # Closed as soon as the loop is left: a stop that lands here ends the workers and reads their
    # journal (books.workers) before the run records what it wrote, not when the generator is freed.
    with contextlib.closing(make_batches(batches, jobs=jobs, meanwhile=meanwhile if feeds else None)) as made:
        for b, result in made:
            books, j = owners[b]
            books.shown[j](result)
            got[b].append(result)
    for b, results in enumerate(got):
        books, j = owners[b]
        for result in sorted(results, key=lambda r: r.index):
            books.done[j](result)
    for books in folders:
        if books.refused:
            # A book the user edited after a build wrote it: left alone, the run stopped (as a file
            # of the user's anywhere), once the other books are written.
            raise NotOurFileError(books.refused[0])
    for books in folders:
        if books.end is not None:
            books.end()


def _end_selections(plan: BuildPlan, report: BuildReport, state: BuildState, progress: Progress | None,
                    subs: list[_Selection]) -> None:
    """End each selection's run (its catalog, front page, stale files, state) once the books are
    built, and remove the files of the selections an earlier build made and this one does not."""
    from .plan import SELECTION_PAGE

    for run in subs:
        sub = run.plan
        name = sub.options.filter.name if sub.options.filter else ""
        with recorded(*run.records):
            with synced_at_end():
                _rest_of_outputs(sub, run.report, run.state, progress, run.writes)
            if sub.options.incremental:
                _save_state(sub, run.report, run.state, run.writes.earlier)
            run.writes.ended(sub)
        run.ended = True
        run.writes.taken_over(sub)
        sub_report = run.report
        for field_name in ("written", "unchanged", "skipped", "removed", "books", "image_failures"):
            getattr(report, field_name).extend(getattr(sub_report, field_name))
        report.images += sub_report.images
        report.notes.extend(n for n in sub_report.notes if n not in report.notes)
        report.explanations.extend(f"selection '{name}': {line}" for line in sub_report.explanations)
        if sub_report.feed is not None:
            report.selection_feeds[name] = sub_report.feed
        # The token the selection's state carries: the main state vouches for it (plan.vouched).
        state.pages[SELECTION_PAGE + name] = OutputRecord(sub.new_state.token, name, {})
    for name, state_path in plan.gone_selections:
        _remove_selection(plan, report, state, name, state_path)


def _remove_selection(plan: BuildPlan, report: BuildReport, state: BuildState, name: str,
                      state_path: Path) -> None:
    """Delete what the build wrote for the selection *name* (as its state records, each file only
    if it is as written), its state, and its folders if they are left empty.  A file the user
    edited is left, and the main *state* keeps it as the user's (``NAME/FILE`` in
    :attr:`BuildState.left`): the selection's state goes, and a selection of that name added
    again takes that over (:func:`_inherit_left`)."""
    from ..state import load_state
    from .plan import vouched

    out = Path(plan.options.out_dir) / name
    old, why = load_state(state_path, __version__, gate_files.real_path(out).parent)
    folders = {out / "archive", out}
    record = written_record_path(out)
    # What the selection's state records writing (when it is the main state's: vouched),
    # and what feed and epub, or a run stopped before the selection's end after the main state
    # promised it (_promise_selections), recorded writing there: the state alone may not know it.
    written = {**(old.written_files() if why is None and vouched(plan.state, name, old) else {}),
               **load_written(record, out)}
    for file_name, stamp in sorted(written.items()):
        path = out / file_name
        if not _remove_if_as_written(path, stamp, report) and outside_through_link(path) is None \
                and edited_since(path, stamp):
            state.left[f"{name}/{file_name}"] = stamp
            _left_alone(report, path, "no longer written: the selection is no longer in the config")
        # the folders its files were in (the catalog's pages, the archives)
        folders.update(p for p in path.parents if out in p.parents)
    # The temporary files a run killed outright left there, for a name it wrote or was writing.
    _remove_leftovers(out, report, [*written, *(n for n, _, _ in load_intents(intent_log_path(out)))])
    for folder in sorted(folders, key=lambda p: -len(p.parts)):  # the deepest first
        remove_folder(folder)  # only when empty: a file of the user's stays, with its folder
    for path in (state_path, record):
        try:  # through the writer's rule: a file there without the program's mark is not its state
            remove_file(path, Stamp.at(path))
        except OSError:
            pass
    forget_intents(out)
    report.explanations.append(f"removed the selection '{name}': no longer in the config")


def _left_alone(report: BuildReport, path: Path, what: str, why: str = "changed since digest-export wrote it") -> None:
    """Say that the file *path*, which the build would remove, is kept: the user changed it since,
    so it is the user's (a warning: the folder now holds a file a fresh build would not)."""
    from ..model import Diagnostic, Kind, Severity, SourceRef

    report.explanations.append(f"left {q(path)} alone: {why}; {what}")
    report.notes.append(Diagnostic(SourceRef(str(path), 0), Severity.WARNING,
                                   f"{why}: kept as yours, {what} (remove it when you no longer want it)",
                                   Kind.OUTPUT))


def _remove_if_as_written(path: Path, stamp: Stamp, report: BuildReport) -> bool:
    """Delete *path* if it is still as a build left it (its :class:`Stamp`):
    a file someone replaced or edited since is left alone."""
    if not remove_file(path, stamp):
        why = outside_through_link(path)
        if why is not None:  # said, not silently kept: the state named a file through a link
            from ..model import Diagnostic, Kind, Severity

            report.notes.append(Diagnostic(None, Severity.NOTE, why, Kind.OUTPUT))
        return False
    report.removed.append(path)
    return True




def _remove_stale_outputs(plan: BuildPlan, report: BuildReport, state: BuildState,
                          earlier: list[OutputRecord | None]) -> None:
    """Delete the feed files, archives, catalog, covers, icon and pages an
    earlier build wrote that this one did not write (a --format, --archive or
    --base-url dropped, the catalog or the front page turned off), so the
    folder is what a fresh build would make.  As for stale books, only files
    still exactly as that build left them are deleted, and a folder only when
    it is left empty (``archive/``)."""
    out = Path(plan.options.out_dir)

    def files(records) -> dict[str, Stamp]:
        found: dict[str, Stamp] = {}
        for record in records:
            if record is not None:
                found.update(record.files)
        return found

    old = files(earlier)
    kept = files([state.feeds, state.catalog, *state.pages.values(), *state.books.values()])
    folders = set()
    for name, stamp in sorted(old.items()):
        if name in kept or name == LATEST_NAME:  # latest.epub: _write_latest decides
            continue
        path = out / name
        if _remove_if_as_written(path, stamp, report):
            report.explanations.append(f"removed {q(path)}: no longer written with these options")
            if path.parent != out:
                folders.add(path.parent)
        elif outside_through_link(path) is None and edited_since(path, stamp):
            _left_alone(report, path, "no longer written with these options")
        elif outside_through_link(path) is not None:
            # Left because a folder on the way is a link now: still owed, so a later run removes
            # it once the folder is one again (the folder then ends as a fresh build leaves it).
            owed = state.pages.setdefault(OWED_PAGE, OutputRecord("", "", {}))
            owed.files[name] = stamp
    for folder in sorted(folders, reverse=True):
        remove_folder(folder)  # only if empty: never a file someone else put there


def _save_state(plan: BuildPlan, report: BuildReport, state: BuildState, earlier: dict[str, Stamp]) -> None:
    """The state in its file (outside the output folder by default); one an older build left in the
    output folder is removed once the new one is saved."""
    options = plan.options
    path, legacy = options.state_file(), Path(options.out_dir) / STATE_NAME
    keep_users_edits(plan, state, earlier)
    # The default state file is in the program's own folder: a damaged one is replaced.
    write_file(path, state.to_bytes(options.state_base()), ours=options.state_path is None, state=True)
    if legacy.is_file() and gate_files.real_path(legacy) != gate_files.real_path(path) and carries_mark(legacy):
        if remove_file(legacy, Stamp.at(legacy)):
            report.explanations.append(f"state: moved from {q(legacy)} to {q(path)}")


def keep_users_edits(plan: BuildPlan, state: BuildState, earlier: dict[str, Stamp]) -> None:
    """Carry into the new *state* each file the earlier one records (or *earlier*, the record of
    what ``feed`` and ``epub`` wrote, which this build takes over) that no record of this run
    lists, and whose bytes the user changed since it was written (the stale book, or the feed of a
    dropped ``--format``, that the run left alone): without it, the next run that writes the name
    again would know the file by the mark alone, which an edit keeps, and replace the edit.  A
    file that is gone, or back to the bytes written, is forgotten (the mark then decides, rightly)."""
    out = Path(plan.options.out_dir)
    now = set(BuildState.written_files(replace(state, left={})))
    for name, stamp in sorted({**plan.state.written_files(), **earlier}.items()):
        if name not in now and edited_since(out / name, stamp):
            state.left[name] = stamp


def edited_since(path: Path, stamp: Stamp) -> bool:
    """Whether *path* is a regular file that no longer holds the bytes *stamp* records (a stamp
    without digest, an earlier version's, tells nothing: the mark decides, as it did)."""
    if not stamp.digest:
        return False
    try:
        st = os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    return gate_files.kind_of(st.st_mode) is None and not holds(path, stamp, st)


def _prepare_books(plan: BuildPlan, report: BuildReport, state: BuildState, progress: Progress | None,
                   selected: tuple | None = None, fragments: Any = None) -> _Books:
    """The books whose plan has a reason, as batches for :func:`_build_books` (the feeds are
    written meanwhile); the rest recorded as skipped."""
    options, out = plan.options, Path(plan.options.out_dir)
    todo = [b for b in plan.books if b.reason]
    prepared = _Books()
    _count_and_skip(plan, report, state)
    if not todo or options.epub is None:
        _write_feeds(plan, report, state, selected)
        return prepared
    from ..books.epub import BookWriter

    eo = options.epub
    by_device: dict[str, list[BookPlan]] = {}
    for book in todo:
        by_device.setdefault(book.device, []).append(book)
        report.explanations.append(f"rebuilding {q(out / book.meta.file_name)}: {book.reason}")
    primary = {b.meta.file_name for b in plan.primary_books}
    empty_periods: set[str] = set()
    for device, books in by_device.items():
        wanted = {b.meta.key: b for b in books}
        suffix = books[0].meta.suffix
        bundles = [replace(b, suffix=suffix) for b in make_bundles(
            plan.digests if selected is None else selected, eo.by, date_from=eo.date_from,
            date_to=eo.date_to, title=books[0].meta.title) if b.key in wanted]
        if selected is not None:
            bundles = _drop_empty(plan, report, state, bundles, wanted, primary, empty_periods)
            bundles = [b for b in bundles if not _same_papers(plan, report, state, b, wanted[b.key])]
            if not bundles:
                continue
        for bundle in bundles:
            check_writable(out / bundle.file_name, by_bytes=True)
        writer = BookWriter.create(replace(eo, out_dir=out, keep_going=options.keep_going, device=device),
                                   fragments=fragments)
        # The catalog reads the books of the first profile (the others are
        # their siblings, beside them).
        after_write = (catalog_record if options.catalog and books[0].meta.file_name in primary else None)
        prepared.batches.append(BookBatch(writer, bundles, after_write,
                                          content=content_fingerprint if plan.options.filter is not None else None))

        def done(result: BookResult, bundles: list[Bundle] = bundles, wanted: dict[str, BookPlan] = wanted) -> None:
            if result.refused:
                prepared.refused.append(result.refused)
                return
            bundle = bundles[result.index]
            _book_done(plan, report, state, bundle, result, wanted[bundle.key])

        def shown(result: BookResult, bundles: list[Bundle] = bundles) -> None:
            if progress and not result.refused:
                progress("book", out / bundles[result.index].file_name, result.status)

        prepared.done.append(done)
        prepared.shown.append(shown)
    if prepared.batches:
        prepared.feeds = lambda: _write_feeds(plan, report, state, selected)
    else:
        _write_feeds(plan, report, state, selected)
    if selected is not None:
        prepared.end = lambda: _note_empty(
            plan, report, len(empty_periods) + len(plan.empty_books) // max(1, len(eo.profile_names())))
    return prepared


def _count_and_skip(plan: BuildPlan, report: BuildReport, state: BuildState) -> None:
    """Count every book's days and papers once per period, and record the books that need no
    rebuild as skipped (their old records kept)."""
    out = Path(plan.options.out_dir)
    first = {id(b) for b in plan.primary_books}
    state.books.update(plan.empty_books)
    for book in plan.books:
        if id(book) in first:  # a period's days once, whatever the number of profiles
            report.days += book.days
            report.papers += book.papers
        if not book.reason:
            path = out / book.meta.file_name
            report.explanations.append(f"skipped {q(path)}: its inputs, options, templates and "
                                       "program version are unchanged")
            report.add(path, "skipped")
            report.books.append((path, "skipped"))
            state.books[book.meta.file_name] = plan.state.books[book.meta.file_name].restamped(out)


def _drop_empty(plan: BuildPlan, report: BuildReport, state: BuildState, bundles: list[Bundle],
                plans: dict[str, Any], primary: set[str], empty_periods: set[str]) -> list[Bundle]:
    """The bundles with a paper that passes the filter.  A period with none gets no book: it is
    recorded as such (and a book an earlier build wrote for it is removed)."""
    kept = []
    for bundle in bundles:
        book = plans[bundle.key]
        counts = bundle.file_name in primary  # a period's papers once, whatever the number of profiles
        if bundle.paper_count:
            kept.append(bundle)
            if counts:
                report.papers += bundle.paper_count - book.papers
            book.papers = bundle.paper_count
            continue
        empty_periods.add(bundle.key)
        if counts:
            report.days -= book.days
            report.papers -= book.papers
        old = plan.state.books.get(bundle.file_name)
        if old is not None and old.files:
            _remove_recorded(plan, report, bundle.file_name, old)
        state.books[bundle.file_name] = OutputRecord(book.inputs, book.settings or plan.book_settings, {})
    return kept


def _note_empty(plan: BuildPlan, report: BuildReport, empty: int) -> None:
    """The run says once per selection how many periods got no book."""
    report.filtered_out = empty if plan.options.filter is not None else 0
    if empty and plan.options.filter is not None:
        from ..model import Diagnostic, Kind, Severity

        periods = {"week": "week", "day": "day", "month": "month", "all": "period"}[str(plan.options.epub.by)]
        report.notes.append(Diagnostic(None, Severity.NOTE, f"{_filter_name(plan)}: no book for "
                                       f"{counted(empty, periods)} in which no paper passes it", Kind.MISSING))


def content_fingerprint(bundle: Bundle) -> str:
    """What a selection's book shows: its days and the papers that passed, without the lines they
    were read from (an edit higher up in a file moves them, not the book)."""
    return fingerprint(bundle.key, bundle.title, bundle.start, bundle.end, bundle.position,
                       [(d.date, d.title, [_shown(p) for p in d.papers]) for d in bundle.digests])


#: id(paper) -> (paper, :func:`_shown` of it): a paper is in the book of each selection it
#: passes; the paper is kept, so its id is not another's while it is here.
_SHOWN: dict[int, tuple[Any, str]] = {}


def _shown(paper: Any) -> str:
    """A hash of the paper's ``repr``, but for the line it was read from (once per paper: hashing
    a book's 200 KB of them for each selection was a tenth of its bookkeeping)."""
    known = _SHOWN.get(id(paper))
    if known is not None and known[0] is paper:
        return known[1]
    from ..model import SourceRef

    text = hashlib.blake2b(repr(replace(paper, source=SourceRef(paper.source.path, 0))).encode(
        "utf-8", "surrogatepass"), digest_size=16).hexdigest()
    if len(_SHOWN) >= 65536:
        _SHOWN.clear()
    _SHOWN[id(paper)] = (paper, text)
    return text


def _same_papers(plan: BuildPlan, report: BuildReport, state: BuildState, bundle: Bundle, book: Any) -> bool:
    """Whether a selection's book whose week was edited shows the same papers as it did: then it
    is not rebuilt (a vote changed elsewhere in the week, a paper that does not pass edited)."""
    old = plan.state.books.get(bundle.file_name)
    local = any(p.thumbnail is not None and not p.thumbnail.is_remote for d in bundle.digests for p in d.papers)
    if (book.reason != INPUTS_CHANGED or old is None or not old.content or local
            or old.content != content_fingerprint(bundle)):
        return False
    path = Path(plan.options.out_dir) / bundle.file_name
    report.explanations.append(f"skipped {q(path)}: its week changed, the papers that pass it did not")
    report.add(path, "skipped")
    report.books.append((path, "skipped"))
    state.books[bundle.file_name] = replace(old, inputs=book.inputs)
    return True


def _filter_name(plan: BuildPlan) -> str:
    """How messages name the run's filter: the selection, or the options."""
    from ..selections import ONE_OFF_NAME

    name = plan.options.filter.name if plan.options.filter else ""
    return "--min-votes/--top/--match/--exclude" if name == ONE_OFF_NAME else f"selection '{name}'"


def _remove_recorded(plan: BuildPlan, report: BuildReport, name: str, record: OutputRecord) -> None:
    """Delete the files of the book *name* (and its catalog cover) that are as the build left them."""
    out = Path(plan.options.out_dir)
    old_covers = plan.state.catalog.files if plan.state.catalog else {}
    stale = dict(record.files)
    stale.update((n, stamp) for n, stamp in old_covers.items() if n.startswith(Path(name).stem + ".cover."))
    _unlink_if_as_written(out, stale, report)


def _unlink_if_as_written(out: Path, files: dict[str, Stamp], report: BuildReport) -> None:
    """Delete each of *files* that is still as the build wrote it (its stamp): a file someone
    replaced or edited since is left alone."""
    for file_name, stamp in sorted(files.items()):
        _remove_if_as_written(out / file_name, stamp, report)


def _book_done(plan: BuildPlan, report: BuildReport, state: BuildState, bundle: Bundle,
               result: BookResult, book: BookPlan) -> None:
    if result.extra is not None:
        record, covers, notes = result.extra
        if record is not None:
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
    _warn_size(report, path, result.stamp.size, book.device)
    retry = tuple(sorted({f.url for f in result.image_failures if f.retry}))
    state.books[bundle.file_name] = OutputRecord(
        book.inputs, book.settings or plan.book_settings, {bundle.file_name: result.stamp}, retry,
        bundle.paper_count if plan.options.filter is not None else None,
        result.content)  # taken in the worker (BookBatch.content), for a selection's book only


def _warn_size(report: BuildReport, path: Path, size: int, device: str) -> None:
    """A note about a book too large for its device's way in (Send to Kindle: 50 MB per e-mail)."""
    from ..books.devices import profile as device_profile
    from ..model import Diagnostic, Kind, Severity

    limit = device_profile(device).warn_bytes
    if limit is not None and size > limit:
        report.notes.append(Diagnostic(None, Severity.WARNING, (
            f"{q(path)} is {size / 1e6:.1f} MB, over {limit / 1e6:g} MB: Send to Kindle takes e-mails of at "
            "most 50 MB; make it smaller with a shorter period (--by week or --by day) or --images none"),
            Kind.OUTPUT))


def _remove_stale_books(plan: BuildPlan, report: BuildReport, state: BuildState) -> None:
    """Delete the books (and catalog covers) an earlier build wrote that this one would not.

    After a date is corrected or ``--from``/``--title``/``--by`` change, the
    old books would otherwise stay in the folder and in the catalog.  Only
    files still exactly as that build left them are deleted: a file someone
    replaced or edited since is left alone (and no longer listed).
    """
    out = Path(plan.options.out_dir)
    wanted = {b.meta.file_name for b in plan.books} | set(plan.empty_books)
    # A file this run wrote (or kept) is never stale, whatever an old record
    # claims (a damaged or hand-edited state may list it under another name).
    for record in state.books.values():
        wanted.update(record.files)
    old_covers = plan.state.catalog.files if plan.state.catalog else {}
    for name in sorted(set(plan.state.books) - wanted):
        record = plan.state.books[name]
        why = record.missing_or_changed(out)
        if why is not None:
            if "missing" not in why:
                _left_alone(report, out / name, "no longer built or listed", why)
            continue
        stale = dict(record.files)
        stale.update((n, stamp) for n, stamp in old_covers.items()
                     if n.startswith(Path(name).stem + ".cover."))
        removed = [file_name for file_name, stamp in sorted(stale.items())
                   if file_name not in wanted and _remove_if_as_written(out / file_name, stamp, report)]
        if name in removed:
            report.explanations.append(f"removed {q(out / name)}: no longer built from these inputs and options")
        elif removed:  # its covers went; the book is a link now, or another file (said by the writer)
            report.explanations.append(f"removed the covers of {q(out / name)}, no longer built; the book "
                                       f"itself is not as digest-export wrote it: left alone")
        else:
            report.explanations.append(f"left {q(out / name)} alone: it does not carry digest-export's mark; "
                                       "no longer built or listed")


def _write_latest(plan: BuildPlan, report: BuildReport, state: BuildState, others: dict[str, Stamp]) -> None:
    """``latest.epub``: a copy of the newest finished book (``--finished-only``); removed, as a
    stale book is, when an earlier run wrote it and this one would not: a build (its state), or a
    run that kept no state (*others*: a build stopped before saving it, ``epub -o latest.epub``)."""
    out = Path(plan.options.out_dir)
    path, old = out / LATEST_NAME, plan.state.pages.get(LATEST_NAME)
    present = [b for b in plan.primary_books if (out / b.meta.file_name).is_file()]
    if plan.options.finished_before is None or not present:
        stamp = old.files.get(LATEST_NAME) if old is not None else None
        if stamp is None or old is None or old.missing_or_changed(out) is not None:
            stamp = others.get(LATEST_NAME)
        if stamp is not None and remove_file(path, stamp):  # only as written, and marked
            report.removed.append(path)
        return
    newest = max(present, key=lambda b: (b.meta.end, b.meta.key)).meta.file_name
    source = out / newest
    inputs = ":".join(map(str, (newest, *Stamp.at(source).stat)))
    if old is not None and old.inputs == inputs and old.missing_or_changed(out) is None:
        report.add(path, "skipped")
        state.pages[LATEST_NAME] = old.restamped(out)
        return
    report.explanations.append(f"writing {q(path)}: a copy of {q(newest)}")
    report.add(path, write_file(path, gate_files.read_bytes(source, gate_files.BOOK_LIMIT)))
    state.pages[LATEST_NAME] = OutputRecord(inputs, newest, {LATEST_NAME: written_stamp(path)})


def _write_feeds(plan: BuildPlan, report: BuildReport, state: BuildState, selected: tuple | None = None) -> None:
    from ..feeds.writer import write_feed_files

    options, out = plan.options, Path(plan.options.out_dir)
    formats = options.feed_formats
    if not formats:
        return
    if plan.feeds_reason is None:
        report.explanations.append("skipped the feeds: no input file and no option changed")
        for name in plan.state.feeds.files if plan.state.feeds else ():
            report.add(out / name, "skipped")
        state.feeds = plan.state.feeds.restamped(out) if plan.state.feeds else None
        return
    report.explanations.append(f"writing the feeds: {plan.feeds_reason}")
    since = plan.feed_from
    window = plan.digests if since is None else tuple(d for d in plan.digests if d.date >= since)
    keep: Callable[[Any, str], bool] | None = None
    if selected is not None:
        # A paper's entry is its first appearance in the whole feed, kept when
        # it passes the filter that day: its id, rank and dates are the same in
        # every feed, so a reader can de-duplicate across them.
        passing = {(d.date, p.key) for d in selected if since is None or d.date >= since for p in d.papers}
        keep = lambda date, key: (date, key) in passing  # noqa: E731
    feed = write_feed_files(ReadResult(window, ()), replace(options.feed, out_dir=out, formats=formats),
                            seen_keys=plan.seen_keys, keep=keep)
    report.feed = feed
    if selected is not None and not feed.entries:
        from ..model import Diagnostic, Kind, Severity

        report.notes.append(Diagnostic(None, Severity.WARNING, f"{_filter_name(plan)}: no paper of the feed "
                                       "window passes it; the feeds have no entries", Kind.MISSING))
    files: dict[str, Stamp] = {}
    for path, status in feed.files:
        report.add(path, status)
        files[str(path.relative_to(out))] = written_stamp(path)
    state.feeds = OutputRecord(plan.feed_inputs, plan.feed_settings, files)


def _catalog_books(plan: BuildPlan, state: BuildState) -> list[tuple[str, gate_files.FileStamp]]:
    """(name, stamp) of the books the catalog lists.

    Only the books this run stands for: an EPUB someone else put in the
    folder is untrusted input, not opened and not listed, unless the catalog
    is asked to list the whole folder (``feed --format opds``).
    """
    out = Path(plan.options.out_dir)
    if plan.options.catalog_of_folder:
        from ..books.devices import GENERIC, split_suffix

        # A hidden file (".x.epub") is no one's to publish, as in an input folder.
        names = sorted(p.name for p in out.glob("*.epub") if not p.name.startswith(".")
                       and gate_files.not_a_file(p) is None)
        # A device profile's copy of a book (NAME.kepub.epub beside NAME.epub) is that book, not another.
        present = set(names)
        names = [n for n in names if split_suffix(n)[1] is GENERIC or split_suffix(n)[0] + ".epub" not in present]
    else:
        primary = {b.meta.file_name for b in plan.primary_books}
        names = sorted(name for name in state.books if name in primary)
    books = []
    for name in names:
        try:
            books.append((name, Stamp.at(out / name).stat))
        except OSError:
            continue
    return books


def _not_books(out: Path) -> list:
    """A warning naming each ``*.epub`` of the folder that is not a regular file (a named pipe,
    a device, a folder, a link to nothing or a link loop): not listed, and said, as ``send``
    says it (the file gate classifies it; nothing is opened)."""
    from ..model import Diagnostic, Kind, Severity, SourceRef

    found = []
    for path in sorted(p for p in out.glob("*.epub") if not p.name.startswith(".")):
        why = gate_files.not_a_file(path)
        if why is not None:
            found.append(Diagnostic(SourceRef(str(path), 0), Severity.WARNING,
                                    f"not listed in the OPDS catalog: {why}", Kind.OUTPUT))
    return found


def _in_the_way(out: Path, books: list[tuple[str, gate_files.FileStamp]],
                written: Collection[str]) -> list[tuple[str, tuple[int, ...] | None]]:
    """The cover files of the listed books that the catalog did not write (*written*: the files
    its record names), each with what is at its name now (kind, size, times, inode; None if
    nothing): a file of the user's in the way of a cover left the book without one, and the
    catalog is written again once that file is gone or changes (a fresh build would have the
    cover)."""
    ours = set(written)
    # One listing of the folder instead of a failing lstat() per name (four cover types and a
    # thumbnail per book: a year of books and three selections made 1,700 of them); a name that
    # may be there in another case or normal form (a file system that folds them) is looked up.
    try:
        with os.scandir(out) as entries:
            present = {folded_name(entry.name) for entry in entries}
    except OSError:
        present = None
    found = []
    for name, _ in books:
        # Every name a cover of the book may have: the record of a book whose cover was in the
        # way holds no cover type.
        for beside in (*(cover_name(name, kind) for kind in COVER_TYPES), thumbnail_name(name)):
            if beside is None or beside in ours:
                continue
            if present is not None and folded_name(beside) not in present:
                found.append((beside, None))
                continue
            try:
                st = os.lstat(out / beside)
            except OSError:
                found.append((beside, None))
            else:
                found.append((beside, (st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)))
    return found


def _write_catalog(plan: BuildPlan, report: BuildReport, state: BuildState) -> None:
    from ..feeds.writer import ICON_NAME, NO_BASE_URL

    out = Path(plan.options.out_dir)
    base_url = plan.options.feed.base_url
    if plan.options.catalog_of_folder:
        report.notes.extend(_not_books(out))
    books = _catalog_books(plan, state)
    today = plan.options.today or plan.options.finished_before or dt.date.today()
    # The device profiles' copies beside the books are listed too, and which
    # books are finished today decides what the pages list.
    copies = [(k.name, k.length) for name, _ in books for k in book_files(out / name)[1:]]
    records = {**plan.state.catalog_books, **report.catalog_books}
    unfinished = [name for name, _ in books
                  if (records.get(name) or {}).get("period") and records[name]["period"][1] >= today.isoformat()]
    old = plan.state.catalog
    inputs = fingerprint(books, copies, unfinished, *_in_the_way(out, books, old.files if old else ()))
    # The selection facets on every page (none: the fingerprint of before selections).
    facets = [plan.options.selection_titles] if plan.options.selection_titles else []
    settings = fingerprint(__version__, base_url, plan.feed_title, *facets)
    reason = ("not written before" if old is None else
              "options changed" if old.settings != settings else
              "the EPUB files or the files beside them changed" if old.inputs != inputs else old.missing_or_changed(out))
    if reason is None:
        report.explanations.append("skipped the OPDS catalog: the EPUB files are unchanged")
        for name in old.files:
            report.add(out / name, "skipped")
        state.catalog = old.restamped(out)
        state.catalog_books = plan.state.catalog_books
        return
    report.explanations.append(f"writing the OPDS catalog: {reason}")
    feed = FeedReport(title=plan.feed_title, icon_url=base_url + ICON_NAME if base_url else None)
    cache = CatalogBooks({**plan.state.catalog_books, **report.catalog_books})
    cache.written.update(report.catalog_covers)
    if not plan.options.feed_formats and not base_url:  # no feed said why there is no icon
        feed.missing.append(NO_BASE_URL)
    write_catalog(out, base_url, feed, reader=cache.read, books=[out / name for name, _ in books], today=today,
                  selections=plan.options.selection_titles, empty=_no_books_reason(plan))
    state.catalog_books = cache.new
    report.notes.extend(cache.notes)
    files: dict[str, Stamp] = {}
    for path, status in feed.files:
        report.add(path, status)
    covers = cache.stamp_covers(out)
    for name in covers:
        report.add(out / name, cache.written.get(name, "unchanged"))
    for path in [p for p, _ in feed.files] + [out / n for n in covers]:
        files[str(path.relative_to(out))] = written_stamp(path)
    if report.feed is None:
        report.feed = feed
    else:
        report.feed.books = feed.books
        report.feed.warnings.extend(feed.warnings)
        report.feed.files.extend(feed.files)
    if old is not None:
        _remove_stale_pages(out, old.files, files, report)
    # Recorded with what is in the way now that the covers are written (none, unless a file of
    # the user's still is): the next run compares with that.
    inputs = fingerprint(books, copies, unfinished, *_in_the_way(out, books, files))
    state.catalog = OutputRecord(inputs, settings, files)


def _no_books_reason(plan: BuildPlan) -> str:
    """What an empty catalog of ``build`` means: it writes the books itself, so the reason is
    which books it was asked for, not a folder left unfilled."""
    if plan.options.finished_before is not None:
        if str(plan.options.epub.by) == "all":
            return ("no EPUB file: the OPDS catalog is empty, because --finished-only lists finished "
                    "books and a book of everything (--by all) is never finished")
        return (f"no EPUB file: the OPDS catalog is empty, because no {plan.options.epub.by} "
                f"of the digests ended before {plan.options.finished_before.isoformat()} (--finished-only)")
    return "no EPUB file: the OPDS catalog is empty, because there is no book to write"


def _write_icon(plan: BuildPlan, report: BuildReport, state: BuildState) -> None:
    """``icon.png``, which the feeds and the catalog link (with a base URL), recorded as a page of
    its own: which of them writes it changes with ``--format``, and a feed or catalog skipped as
    unchanged keeps the record of what it wrote then, which need not name the icon."""
    from ..feeds.writer import ICON_NAME, write_icon

    options, out = plan.options, Path(plan.options.out_dir)
    if not options.feed.base_url or not (options.feed_formats or options.catalog):
        return
    path, old, feed = out / ICON_NAME, plan.state.pages.get(ICON_NAME), report.feed
    if feed is not None and any(p == path for p, _ in feed.files):
        pass  # the feeds wrote it in this run
    elif old is not None and ICON_NAME in old.files and old.missing_or_changed(out) is None:
        report.add(path, "skipped")
    else:
        status = write_icon(path)
        report.add(path, status)
        if feed is not None:
            feed.files.append((path, status))
    state.pages[ICON_NAME] = OutputRecord("", "", {ICON_NAME: written_stamp(path)})


def _remove_stale_pages(out: Path, old: dict[str, Stamp], new: dict[str, Stamp],
                        report: BuildReport) -> None:
    """Remove the pages an earlier catalog wrote and this one does not (a year with no book left, a
    page fewer), when still exactly as written: the folder is then what a fresh build makes."""
    for name in sorted(set(old) - set(new)):
        _remove_if_as_written(out / name, old[name], report)
