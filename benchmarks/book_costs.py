"""Where a book's time goes: each step of each book of the year, whole weeks and selections apart.

    python benchmarks/book_costs.py [--days 365]

Builds the synthetic year (benchmarks/corpus.py) with the three selections of
bench_selections.py into a fresh folder, in this process (``--jobs 1``), and
times each step of each book with the thread's CPU clock: the cover, the rest
of the book's documents, the zip, the write, the catalog entry (the book read
back, the cover's thumbnail, the cover and thumbnail files written) and the
selection book's content fingerprint; then the steps that run once (choosing
the papers, the catalogs).  Every book pays the steps it has whatever its size:
what a selection costs is mostly how many books it adds, not how many papers.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_selections import SELECTIONS  # noqa: E402
from corpus import generate  # noqa: E402

#: Seconds of thread CPU and calls, by (step, "whole" or "selection").
SPENT: dict[tuple[str, str], list] = collections.defaultdict(lambda: [0.0, 0])
#: How the books of the three selections are named (by their titles): any other is a whole week's.
SELECTION_BOOKS = ("daily-papers-top-5-a-day-", "daily-papers-20-votes-or-more-", "daily-papers-video-and-diffusion-")


#: The book whose steps run now ("whole" or "selection"), for a step given no book (the thumbnail).
BOOK: list[str] = []


def _kind(args: tuple) -> str:
    """Whose step this is: a selection book's, a whole week's, or the run's (no book in *args*)."""
    for arg in args:
        name = getattr(arg, "file_name", None) or (Path(arg).name if isinstance(arg, os.PathLike) else None)
        if name:
            return "selection" if name.startswith(SELECTION_BOOKS) else "whole"
    return BOOK[-1] if BOOK else "run"


def _timed(step: str, func):
    STEPS.append(step)

    def timed(*args, **kwargs):
        kind = _kind(args)
        BOOK.append(kind)
        start = time.thread_time()
        try:
            return func(*args, **kwargs)
        finally:
            spent = SPENT[step, kind]
            spent[0] += time.thread_time() - start
            spent[1] += 1
            BOOK.pop()
    return timed


#: The steps, in the order they are shown.
STEPS: list[str] = []


def _instrument() -> None:
    from exporter.books import epub
    from exporter.pipeline import plan, run
    from exporter.site import catalog_records, opds

    epub.BookWriter.render = _timed("book (documents and cover)", epub.BookWriter.render)
    epub.bundle_cover = _timed("  of which the cover", epub.bundle_cover)
    run.content_fingerprint = _timed("content fingerprint", run.content_fingerprint)
    epub.BookWriter.zipped = staticmethod(_timed("zip", epub.BookWriter.zipped))
    epub.BookWriter.write_zipped = staticmethod(_timed("write the book", epub.BookWriter.write_zipped))
    run.catalog_record = _timed("catalog entry", catalog_records.catalog_record)
    opds.read_book = _timed("  of which the book read back", opds.read_book)
    opds.make_thumbnail = _timed("  of which the thumbnail", opds.make_thumbnail)
    catalog_records.write_file = _timed("  of which the cover files written", catalog_records.write_file)
    plan._select = _timed("choosing the papers (once)", plan._select)
    run._write_catalog = _timed("a folder's catalog (once each)", run._write_catalog)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=int, default=365)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="book-costs-") as tmp:
        tmp_path = Path(tmp)
        os.environ.update(XDG_STATE_HOME=str(tmp_path / "state"), XDG_CACHE_HOME=str(tmp_path / "cache"))
        corpus = tmp_path / "year"
        generate(corpus, args.days, round(args.days * 8000 / 365))
        (tmp_path / "selections.toml").write_text(SELECTIONS, encoding="utf-8")
        _instrument()
        from exporter.cli import main as cli

        start = time.perf_counter()
        try:
            cli.main(["--config", str(tmp_path / "selections.toml"), "build", str(corpus), "-o",
                      str(tmp_path / "out"), "--images", "none", "-q", "--jobs", "1"], standalone_mode=False)
        except SystemExit as done:  # the program's own exit, 0 when the build is done
            if done.code:
                raise
        wall = time.perf_counter() - start
    print(f"build of {args.days} days with three selections, one process: {wall:.2f} s")
    print(f"{'step':<40} {'whole week':>16} {'selection':>16}   (ms of CPU per book, and books)")
    for step in STEPS:
        cells = []
        for kind in ("whole", "selection"):
            spent, n = SPENT.get((step, kind), (0.0, 0))
            cells.append(f"{spent / n * 1000:8.2f} ms {n:4d}" if n else f"{'-':>16}")
        once = SPENT.get((step, "run"))
        print(f"{step:<40} {cells[0]:>16} {cells[1]:>16}" + (f"   {once[0] * 1000:.0f} ms in {once[1]}" if once else ""))


if __name__ == "__main__":
    main()
