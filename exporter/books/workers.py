"""Building books in forked worker processes, for `epub` and `build`.

Books are independent and CPU-bound (templates, covers, zip), and Python
runs one thread at a time, so a year of books is built by one process per
core.  The workers are forked after the digests are read: they inherit the
model, the compiled templates and the imports for free (POSIX ``fork``; where
there is none, or for a book or two, the books are built here, one by one).
Each worker builds, writes (atomically) and reports its book.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..output import NotOurFileError, Stamp, add_known, synced_at_end, take_known, written_stamp

#: Below this many books the fork costs more than it saves (the daily run
#: rebuilds one book).
MIN_PARALLEL_BOOKS = 3
#: A fresh worker every this many books: a worker's memory only grows
#: (allocator fragmentation, caches), and its peak counts.
BOOKS_PER_WORKER = 50


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


# What the forked workers inherit: (writer, bundles, after_write).
_JOB: tuple[Any, list[Any], Callable[[Path, bytes], Any] | None] | None = None


def _make_book(index: int) -> BookResult:
    """Build and write book *index* of :data:`_JOB` (in a worker, or here)."""
    assert _JOB is not None
    writer, bundles, after_write = _JOB
    bundle = bundles[index]
    writer.report.image_failures.clear()
    writer.report.notes.clear()
    raw, image_results, papers = writer.render(bundle)
    path = writer.path(bundle)
    # The book, and the cover and thumbnail after_write writes beside it: their folder synced once.
    with synced_at_end():
        data = writer.zipped(raw, bundle)
        try:
            status = writer.write_zipped(data, path)
        except NotOurFileError as err:
            # Sent back as an answer, not raised: an exception a worker sends back while the
            # others build can hang the pool's teardown; the caller raises it once all are done.
            return BookResult(index, path, "refused", Stamp(0, 0, -1, -1), 0, [], [], refused=str(err))
        stamp = written_stamp(path)
        # The bytes just zipped, handed on: the catalog need not read the book back from disk.
        extra = after_write(path, data) if after_write else None
    # render.inline_html keeps up to 131,072 rendered bullets: in a worker
    # that builds years of books this only grows its memory (the bullets of
    # one book rarely recur in the next).
    from ..render import inline_html

    inline_html.cache_clear()
    fragments = writer.ctx.fragments
    return BookResult(index, path, status.value, stamp,
                      writer.image_count(image_results, papers), list(writer.report.image_failures),
                      list(writer.report.notes), extra,
                      fragments.take_fresh() if fragments is not None else None,
                      take_known())


def can_fork() -> bool:
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()


def make_books(writer: Any, bundles: list[Any], *, jobs: int = 0, ordered: bool = False,
               after_write: Callable[[Path, bytes], Any] | None = None,
               meanwhile: Callable[[], None] | None = None) -> Iterator[BookResult]:
    """Build and write every bundle with *writer* (an :class:`exporter.books.epub.BookWriter`).

    *jobs* worker processes (0: one per core); results come in bundle order
    with *ordered*, else as books finish.  *meanwhile* runs here while the
    workers build (``build`` writes the feeds then), or first without them.
    """
    global _JOB

    import gc

    jobs = jobs or os.cpu_count() or 1
    _JOB = (writer, bundles, after_write)
    # The model is read-only from here on: keep the collector from walking
    # it (and, in forked workers, from touching its pages).
    gc.freeze()
    pool = None
    try:
        if len(bundles) >= MIN_PARALLEL_BOOKS and jobs > 1 and can_fork():
            import multiprocessing

            # Once here rather than in every worker: imports, compiled
            # templates and the cover canvas are inherited.
            writer.warm_up(bundles[0])
            # The workers decode thumbnails at the same time: one pixel budget for all of them.
            from ..images.convert import PIXELS

            PIXELS.share_with_forked_workers()
            pool = multiprocessing.get_context("fork").Pool(min(jobs, len(bundles)),
                                                            maxtasksperchild=BOOKS_PER_WORKER)
            work = pool.imap if ordered else pool.imap_unordered
            results: Iterator[BookResult] = work(_make_book, range(len(bundles)))
            if meanwhile:
                meanwhile()
        else:
            if meanwhile:
                meanwhile()
            results = map(_make_book, range(len(bundles)))
        fragments = writer.ctx.fragments
        for result in results:
            if result.known:
                add_known(result.known)
            if pool is not None and fragments is not None and result.fragments:
                # Rendered in a worker: kept here, so the next workers forked inherit them.
                fragments.known.update(result.fragments)
            yield result
        if pool is not None:
            pool.close()
            pool.join()
    finally:
        if pool is not None:
            pool.terminate()
        _JOB = None
        gc.unfreeze()
