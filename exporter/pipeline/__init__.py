"""The one orchestrator: plan (read, decide) -> run (write) -> report.

Every command that writes goes through it: ``epub`` is "books only",
``feed`` is "feeds (and catalog) only", ``build`` is both, incremental
(it keeps a state of what it made; see :mod:`exporter.state`).  The
library entry points :func:`build_epubs` and :func:`write_feeds`, for
digests already read, are thin wrappers over the same plan and run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from ..books.epub import EpubOptions, EpubReport
from ..bundles import Bundle
from ..feeds.writer import FeedOptions, FeedReport
from ..model import ReadResult
from ..output import WriteStatus
from .options import BUILD_FORMATS, BookPlan, BuildOptions, BuildPlan, BuildReport
from .plan import plan_build, plan_from_result
from .run import Progress, run_build

__all__ = ["BUILD_FORMATS", "BookPlan", "BuildOptions", "BuildPlan", "BuildReport", "Progress",
           "build_epubs", "epub_options", "feed_options", "plan_build", "plan_from_result", "run_build",
           "write_feeds"]


def epub_options(options: EpubOptions) -> BuildOptions:
    """The pipeline options of ``digest-export epub``: books only, nothing kept."""
    return BuildOptions(out_dir=Path(options.out_dir), epub=options, feed=FeedOptions(formats=()),
                        keep_going=options.keep_going, jobs=options.jobs, incremental=False,
                        front_page=False, record_writes=True)


def feed_options(options: FeedOptions, *, keep_going: bool = False) -> BuildOptions:
    """The pipeline options of ``digest-export feed``: feeds and the catalog of
    every EPUB in the folder, nothing kept."""
    return BuildOptions(out_dir=Path(options.out_dir), epub=None, feed=options, keep_going=keep_going,
                        incremental=False, catalog_of_folder=True, front_page=False, record_writes=True)


def build_epubs(result: ReadResult, options: EpubOptions,
                progress: Callable[[Bundle, Path, WriteStatus], None] | None = None) -> EpubReport:
    """Group the digests of *result* into books and write one EPUB each.

    Raises :class:`~exporter.errors.InputError` (writing nothing) if
    *result* holds errors, unless ``options.keep_going``.  *progress* is
    called after each book, in order.
    """
    plan = plan_from_result(result, epub_options(options))
    metas = {Path(options.out_dir) / b.meta.file_name: b.meta for b in plan.books}

    def each(kind: str, path: Path, status: str) -> None:
        if progress is not None:
            progress(metas[path], path, WriteStatus(status))

    report = run_build(plan, each)
    return EpubReport(files=[(path, WriteStatus(status)) for path, status in report.books],
                      bundles=len(report.books), days=report.days, papers=report.papers,
                      images=report.images, image_failures=report.image_failures,
                      warnings=len(result.warnings) + len(report.image_failures), notes=report.notes)


def write_feeds(result: ReadResult, options: FeedOptions, *,
                seen_keys: frozenset[str] = frozenset()) -> FeedReport:
    """Write the feeds chosen in *options* for *result* (and ``catalog.opds``
    of the EPUB files in the folder, with the ``opds`` format).

    *seen_keys*: paper keys of older digests left out of *result* (see
    :func:`exporter.feeds.entries.build_entries`).
    """
    plan = replace(plan_from_result(result, feed_options(options, keep_going=True)), seen_keys=seen_keys)
    report = run_build(plan)
    return report.feed if report.feed is not None else FeedReport()
