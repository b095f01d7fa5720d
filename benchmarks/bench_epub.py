"""Benchmark: a synthetic year of digests -> 53 weekly EPUBs, against pandoc.

    python benchmarks/bench_epub.py [--days 365] [--corpus DIR] [--profile]

Generates the corpus with benchmarks/corpus.py (unless --corpus is given),
runs ``digest-export epub CORPUS --images none`` once (covers included, no
thumbnails) as a child process, then ``pandoc`` once per ISO week on the
same weeks' Markdown (thumbnail and video lines removed, as pandoc would
otherwise try to download them: our side is run with ``--images none``).
Prints both wall times, the ratio, and the peak memory (ru_maxrss) of each
child.  Target (README, "Benchmarks"): at least 12x faster than pandoc, under 200 MB.

``--profile`` runs our build in-process under cProfile and prints the top
functions instead.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
_SKIP = re.compile(r"^(!\[|\[Watch Video\]|<div><video|<video)")


def run_child(cmd: list[str], **kw) -> tuple[float, int, float]:
    """Run *cmd*; return (wall seconds, peak RSS in KiB, CPU seconds) of that child."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, **kw)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed with status {proc.returncode}")
    return elapsed, usage.ru_maxrss, usage.ru_utime + usage.ru_stime


def week_markdown(corpus: Path, folder: Path) -> list[Path]:
    """One Markdown file per ISO week, for pandoc."""
    weeks: dict[str, list[str]] = defaultdict(list)
    for path in sorted(corpus.rglob("*.md")):
        rel = path.relative_to(corpus).with_suffix("")
        date = dt.date(*map(int, rel.parts[-3:]))
        year, week, _ = date.isocalendar()
        text = path.read_text(encoding="utf-8")
        weeks[f"{year}-W{week:02d}"].append(
            "\n".join(line for line in text.splitlines() if not _SKIP.match(line)))
    out = []
    for key, texts in sorted(weeks.items()):
        md = folder / f"daily-papers-{key}.md"
        md.write_text("\n\n".join(texts) + "\n", encoding="utf-8")
        out.append(md)
    return out


def profile(corpus: Path, out: Path) -> None:
    import cProfile
    import pstats

    sys.path.insert(0, str(ROOT))
    from exporter.books.epub import EpubOptions
    from exporter.pipeline import build_epubs
    from exporter.reader.parse import read_digests

    def work():
        build_epubs(read_digests([corpus]), EpubOptions(out_dir=out, images="none", keep_going=True))

    prof = cProfile.Profile()
    prof.runcall(work)
    pstats.Stats(prof).sort_stats("cumulative").print_stats(30)
    pstats.Stats(prof).sort_stats("tottime").print_stats(20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--corpus", type=Path, help="use this corpus instead of generating one")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--no-pandoc", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="runs of digest-export (best is kept)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-epub-") as tmp:
        tmp_path = Path(tmp)
        corpus = args.corpus or tmp_path / "corpus"
        if not args.corpus:
            subprocess.run([sys.executable, str(HERE / "corpus.py"), str(corpus), "--days", str(args.days)],
                           check=True, stdout=subprocess.DEVNULL)
        if args.profile:
            profile(corpus, tmp_path / "prof")
            return

        ours_out = tmp_path / "ours"
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        # Best of --repeat runs (as timeit does: the minimum is the least
        # disturbed by other processes); pandoc, 50x slower, runs once.
        runs = []
        for i in range(args.repeat):
            shutil.rmtree(ours_out, ignore_errors=True)
            runs.append(run_child(
                [sys.executable, "-m", "exporter", "epub", str(corpus), "-o", str(ours_out),
                 "--images", "none", "--quiet", "--keep-going"],
                env=env, stderr=subprocess.DEVNULL))
        ours_time = min(t for t, _, _ in runs)
        ours_rss = max(r for _, r, _ in runs)
        ours_cpu = min(c for _, _, c in runs)
        books = sorted(ours_out.glob("*.epub"))
        size = sum(p.stat().st_size for p in books)
        print(f"digest-export: {len(books)} EPUBs ({size / 1e6:.1f} MB) in {ours_time:.2f} s, "
              f"(CPU {ours_cpu:.2f} s), peak memory {ours_rss / 1024:.0f} MB "
              f"(best of {args.repeat}: {', '.join(f'{t:.2f}' for t, _, _ in runs)})")
        if args.no_pandoc:
            return

        pandoc = shutil.which("pandoc")
        if not pandoc:
            raise SystemExit("pandoc is not installed (apt-get install -y pandoc)")
        pandoc_in = tmp_path / "pandoc-in"
        pandoc_out = tmp_path / "pandoc-out"
        pandoc_in.mkdir()
        pandoc_out.mkdir()
        weeks = week_markdown(corpus, pandoc_in)
        pandoc_time = pandoc_cpu = 0.0
        pandoc_rss = 0
        for md in weeks:
            elapsed, rss, cpu = run_child(
                [pandoc, "-f", "markdown", "-t", "epub3", "--metadata", f"title={md.stem}",
                 "-o", str(pandoc_out / (md.stem + ".epub")), str(md)],
                stderr=subprocess.DEVNULL)
            pandoc_time += elapsed
            pandoc_cpu += cpu
            pandoc_rss = max(pandoc_rss, rss)
        print(f"pandoc:        {len(weeks)} EPUBs in {pandoc_time:.2f} s (CPU {pandoc_cpu:.2f} s; one run per week), "
              f"peak memory {pandoc_rss / 1024:.0f} MB")
        print(f"ratio:         {pandoc_time / ours_time:.1f}x faster than pandoc in wall time, "
              f"{pandoc_cpu / ours_cpu:.1f}x in CPU time (target >= 12x; peak memory target < 200 MB)")


if __name__ == "__main__":
    main()
