"""Building books in forked worker processes, for `epub` and `build`.

Books are independent and CPU-bound (templates, covers, zip), and Python
runs one thread at a time, so a year of books is built by one process per
core.  The workers are forked after the digests are read: they inherit the
model, the compiled templates and the imports for free (POSIX ``fork``; where
there is none, or for a book or two, the books are built here, one by one).
Each worker builds, writes (atomically) and reports its book.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..output import (NotOurFileError, Records, Stamp, add_known, journaled, recorded, remove_leftover_parts,
                      sync_folders, synced_later, take_known, written_stamp)
from ..procs import can_fork, fork_pool, pool_results, stop_pool

#: Below this many books the fork costs more than it saves (the daily run
#: rebuilds one book).
MIN_PARALLEL_BOOKS = 3
#: A fresh worker every this many periods (tasks): a worker's memory only grows (allocator
#: fragmentation, caches), and its peak counts.  Counted in periods, not books: what a task
#: leaves behind is its period's papers, rendered once for the whole week's book and every
#: selection's.  Counted in books, a year with three selections forked a fresh worker every
#: 12 weeks, and each fresh worker copies again every page of the model it touches
#: (copy-on-write): a tenth of the build's CPU, for no smaller peak.
PERIODS_PER_WORKER = 50


@dataclass(frozen=True, slots=True)
class BookResult:
    """What building one book did (sent back from a worker)."""

    index: int
    path: Path
    status: str  # a WriteStatus value
    #: The book as written (the build state records it).
    stamp: Stamp
    images: int
    image_failures: list[Any]
    notes: list[Any]  # Diagnostic
    #: What ``after_write(path, data)`` returned (``build`` reads the book back
    #: for the OPDS catalog there, in parallel).
    extra: Any = None
    #: The papers' markup this book rendered first (exporter.books.epub.Fragments), for the
    #: books built after it.
    fragments: dict[Any, str] | None = None
    #: What the worker learnt of the files it wrote (:func:`exporter.output.take_known`: the
    #: digests of the covers the catalog wrote beside the book, which the build state records).
    known: dict[Any, tuple[Stamp, str]] | None = None
    #: Why the book was not written (:class:`exporter.output.NotOurFileError`: a file of the
    #: user's is at its name), or "".
    refused: str = ""
    #: The folders the book's files were renamed into, not yet synced (:func:`make_batches`
    #: syncs each once, when every book is built).
    unsynced: frozenset[Path] = frozenset()
    #: What :attr:`BookBatch.content` said of the book's bundle, or "".
    content: str = ""


@dataclass(frozen=True, slots=True)
class BookBatch:
    """Books that one writer builds into one output folder: *bundles*, each written by *writer*
    and handed to *after_write* (``build`` reads the book for its catalog there).  *records*: the
    files the folder's earlier run wrote (:func:`exporter.output.recorded`), for a folder other
    than the one whose records are in force where the batch is built (a selection's)."""

    writer: Any
    bundles: list[Any]
    after_write: Callable[[Path, bytes], Any] | None = None
    records: tuple[Path, Records] | None = None
    #: A fingerprint of what a bundle's book shows (``build`` keeps one per selection book),
    #: taken in the worker: hashing every paper of every selection book in the parent, one
    #: after the other once all are built, cost a year with three selections a tenth of a second.
    content: Callable[[Any], str] | None = None


# What the forked workers inherit: the batches, the tasks (each a list of (batch, bundle)), and
# the run's context variables (the output folder's records, its root, the syncs owed).
_JOB: tuple[list[BookBatch], list[list[tuple[int, int]]], contextvars.Context] | None = None


def _make_book(batch: BookBatch, index: int, pooled: bool) -> BookResult:
    """Build and write book *index* of *batch* (in a worker, or here)."""
    writer, bundle, after_write = batch.writer, batch.bundles[index], batch.after_write
    writer.report.image_failures.clear()
    writer.report.notes.clear()
    with recorded(*batch.records) if batch.records is not None else contextlib.nullcontext():
        raw, image_results, papers = writer.render(bundle)
        path = writer.path(bundle)
        # The book, and the cover and thumbnail after_write writes beside it: their folder synced
        # once for all the books of the run, by make_batches (each file is synced before its rename).
        with synced_later() as unsynced:
            data = writer.zipped(raw, bundle)
            try:
                status = writer.write_zipped(data, path)
            except NotOurFileError as err:
                # Sent back as an answer, not raised: an exception a worker sends back while the
                # others build can hang the pool's teardown; the caller raises it once all are done.
                return BookResult(index, path, "refused", Stamp(0, 0, -1, -1), 0, [], [], refused=str(err),
                                  unsynced=frozenset(unsynced))
            stamp = written_stamp(path)
            # The bytes just zipped, handed on: the catalog need not read the book back from disk.
            extra = after_write(path, data) if after_write else None
        known = take_known()  # the folder's: the book's cover and thumbnail
    # render.inline_html keeps up to 131,072 rendered bullets: in a worker
    # that builds years of books this only grows its memory (the bullets of
    # one book rarely recur in the next).
    from ..render import inline_html

    inline_html.cache_clear()
    fragments = writer.ctx.fragments
    # A worker builds every book of a period in one task (the whole week's, then each
    # selection's): the papers' markup is reused within it and not sent back.
    shared = fragments.take_fresh() if fragments is not None else None
    return BookResult(index, path, status.value, stamp,
                      writer.image_count(image_results, papers), list(writer.report.image_failures),
                      list(writer.report.notes), extra, None if pooled else shared, known,
                      unsynced=frozenset(unsynced), content=batch.content(bundle) if batch.content else "")


def _make_task(task: int) -> list[tuple[int, BookResult]]:
    """The books of task *task* of :data:`_JOB`, in a worker: one period's, every folder's."""
    assert _JOB is not None
    batches, tasks, context = _JOB
    # In the run's context, not the thread's: the pool forks the workers that replace others
    # (``maxtasksperchild``, or one that was killed) from a thread of its own, whose context
    # variables are empty (a thread starts with a context of its own), and their books were
    # written outside the folder's records: not logged before their renames, their digests not
    # handed back (a book edited since was then replaced as the program's by its mark alone).
    return context.run(_make_period, batches, tasks[task])


def _make_period(batches: list[BookBatch], task: list[tuple[int, int]]) -> list[tuple[int, BookResult]]:
    results = [(b, _make_book(batches[b], i, True)) for b, i in task]
    for b, _ in task:
        fragments = batches[b].writer.ctx.fragments
        if fragments is not None:
            fragments.next_period()
    return results


def _learnt(batch: BookBatch, result: BookResult) -> None:
    """What a book's writing learnt of its files, kept in its folder's records here."""
    if result.known:
        with recorded(*batch.records) if batch.records is not None else contextlib.nullcontext():
            add_known(result.known)


def make_books(writer: Any, bundles: list[Any], *, jobs: int = 0, ordered: bool = False,
               after_write: Callable[[Path, bytes], Any] | None = None,
               meanwhile: Callable[[], None] | None = None) -> Iterator[BookResult]:
    """Build and write every bundle with *writer* (an :class:`exporter.books.epub.BookWriter`).

    *jobs* worker processes (0: one per core); results come in bundle order
    with *ordered*, else as books finish.  *meanwhile* runs here while the
    workers build, or first without them.
    """
    for _, result in make_batches([BookBatch(writer, bundles, after_write)], jobs=jobs, ordered=ordered,
                                  meanwhile=meanwhile):
        yield result


def make_batches(batches: list[BookBatch], *, jobs: int = 0, ordered: bool = True,
                 meanwhile: Callable[[], None] | None = None) -> Iterator[tuple[int, BookResult]]:
    """Build the books of every batch in one set of worker processes: (batch index, result).

    ``build`` with selections builds the whole archive's books and each selection's in one
    pool: forking one per folder cost each selection its own forks (their page faults) and a
    wait for its slowest book.  A task is one period of every batch (the whole week's book, then
    each selection's of that week: they show the same papers, whose markup the worker renders
    once).  *meanwhile* runs here while the workers build (``build`` writes the feeds then), or
    first without them.
    """
    global _JOB

    import gc

    jobs = jobs or os.cpu_count() or 1
    tasks = _tasks(batches)
    # The folders the books were renamed into, synced once each when all are built rather than
    # after each book (a year of books and three selections: 212 folder syncs, now 4).  A crash
    # before that leaves, for each name, its old file or its new one (each file is synced before
    # its rename: output.synced_at_end), and nothing has recorded the new ones yet: the callers
    # record the books in a build state only after this returns, and a run that stops before
    # saves none, so they are made again.
    unsynced: set[Path] = set()
    # The model is read-only from here on: keep the collector from walking
    # it (and, in forked workers, from touching its pages).
    gc.freeze()
    try:
        if sum(len(t) for t in tasks) >= MIN_PARALLEL_BOOKS and jobs > 1 and len(tasks) > 1 and can_fork():
            _JOB = (batches, tasks, contextvars.copy_context())
            for b, result in _pooled(batches, tasks, jobs, ordered, meanwhile):
                unsynced |= result.unsynced
                yield b, result
        else:
            if meanwhile:
                meanwhile()
            for task in tasks:
                for b, i in task:
                    batch = batches[b]
                    result = _make_book(batch, i, False)
                    unsynced |= result.unsynced
                    _learnt(batch, result)
                    fragments = batch.writer.ctx.fragments
                    if fragments is not None and result.fragments:
                        fragments.known.update(result.fragments)
                    yield b, result
                for b, _ in task:
                    fragments = batches[b].writer.ctx.fragments
                    if fragments is not None:
                        fragments.period_done()
    finally:
        _JOB = None
        gc.unfreeze()
        sync_folders(unsynced)


def _tasks(batches: list[BookBatch]) -> list[list[tuple[int, int]]]:
    """(batch, bundle) of every book, one list per period: in the first batch's order (then the
    periods only later batches have), each in batch order."""
    periods: dict[Any, list[tuple[int, int]]] = {}
    for b, batch in enumerate(batches):
        for i, bundle in enumerate(batch.bundles):
            periods.setdefault(bundle.key, []).append((b, i))
    return list(periods.values())


def _pooled(batches: list[BookBatch], tasks: list[list[tuple[int, int]]], jobs: int, ordered: bool,
            meanwhile: Callable[[], None] | None) -> Iterator[tuple[int, BookResult]]:
    # Once here rather than in every worker: imports, compiled
    # templates and the cover canvas are inherited.
    for batch in batches:
        if batch.bundles:
            batch.writer.warm_up(batch.bundles[0])
    # The workers decode thumbnails at the same time: one pixel budget for all of them (none to
    # share when no writer loads thumbnails, ``--images none``: nor the imaging modules to import).
    if any(getattr(batch.writer, "load", None) is not None for batch in batches):
        from ..images.convert import PIXELS

        PIXELS.share_with_forked_workers()
    with journaled([batch.records[1] for batch in batches if batch.records is not None]):
        yield from _in_pool(batches, tasks, jobs, ordered, meanwhile)


def _in_pool(batches: list[BookBatch], tasks: list[list[tuple[int, int]]], jobs: int, ordered: bool,
             meanwhile: Callable[[], None] | None) -> Iterator[tuple[int, BookResult]]:
    """The pool's part of :func:`_pooled`: its workers are ended before the journal is read."""
    pool = fork_pool(min(jobs, len(tasks)), maxtasksperchild=PERIODS_PER_WORKER)
    try:
        work = pool.imap if ordered else pool.imap_unordered
        done = pool_results(pool, work(_make_task, range(len(tasks))), "building the books")
        if meanwhile:
            meanwhile()
        for results in done:
            for b, result in results:
                _learnt(batches[b], result)
                yield b, result
        pool.close()
        pool.join()
    finally:
        if stop_pool(pool):
            # A worker that did not end in the grace time was killed, maybe while it wrote: its
            # temporary file is removed now, not by the next run.
            for folder in sorted({batch.writer.path(bundle).parent for batch in batches for bundle in batch.bundles}):
                remove_leftover_parts(folder)
