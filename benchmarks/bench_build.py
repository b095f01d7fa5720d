"""Benchmark `digest-export build`: the daily run over a growing archive.

    python benchmarks/bench_build.py [--days 365] [--years 10] [--thumb-days 28]
                                     [--no-pandoc] [--skip-ten-years] [--skip-images]

Every figure is a child process ``python -m exporter ...`` (as cron runs it),
wall time and CPU time (user + sys of the process and its workers, from
``wait4``), peak memory = ru_maxrss (the largest single process of the run).
Prints one table:

1. full build of a synthetic year (benchmarks/corpus.py), fresh output
   folder, ``--images none`` (target <= 1.5 s), and pandoc producing the same
   weekly books once per week (target: >= 12x faster);
2. the same build again, nothing changed (target <= 0.5 s);
3. after adding one day (target <= 2x the no-change time + one book);
4. ``digest-export --help`` (target <= 0.25 s);
5. ten synthetic years, full build: peak memory (< 300 MB) and time per
   paper against the one-year run (linear: ratio ~ 1);
6. thumbnails from a local server answering each request after 20 ms
   (benchmarks/bench_images.py's server), on ``--thumb-days`` days: cold
   cache, then a fresh output folder with a warm cache (target: <= 2x the
   no-thumbnail build of the same days); the server reports the most
   requests it saw at once (target >= 8).

Other processes on the machine skew wall times: the load average is printed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from bench_epub import run_child, week_markdown  # noqa: E402
from corpus import generate, paper_block  # noqa: E402

ENV = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
ROWS: list[tuple[str, str, str, str]] = []


def ours(*args: str, env: dict[str, str] | None = None) -> tuple[float, int, float]:
    cmd = [sys.executable, "-m", "exporter", *args]
    return run_child(cmd, env=env or ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def best(n: int, fn) -> tuple[float, int, float]:
    runs = [fn() for _ in range(n)]
    return min(r[0] for r in runs), max(r[1] for r in runs), min(r[2] for r in runs)


def row(what: str, result: tuple[float, int, float], target: str, command: str) -> None:
    wall, rss, cpu = result
    ROWS.append((what, f"{wall:6.2f} s  (CPU {cpu:5.2f} s, {rss / 1024:4.0f} MB)", target, command))
    print(f"{what:<44} {ROWS[-1][1]}   {target}", flush=True)


def add_day(corpus: Path, date: dt.date, seed: int = 7) -> Path:
    import random

    rng = random.Random(seed)
    blocks = [f"## Daily Papers ({date.isoformat()})", ""]
    for i in range(22):
        blocks.append(paper_block(rng, f"{date:%y%m}.9{i:04d}", f"Added Paper {i}: One More Day", True))
    path = corpus / f"{date:%Y}" / f"{date:%m}" / f"{date:%d}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(blocks), encoding="utf-8")
    return path


def bench_year(tmp: Path, days: int, repeat: int, pandoc: bool) -> tuple[float, Path]:
    corpus = tmp / "year"
    generate(corpus, days, round(days * 8000 / 365))
    out = tmp / "year-out"
    args = ["build", str(corpus), "-o", str(out), "--images", "none", "-q"]
    cmd = f"python -m exporter build CORPUS -o OUT --images none -q   (corpus: {days} days)"

    def fresh():
        shutil.rmtree(out, ignore_errors=True)
        return ours(*args)

    full = best(repeat, fresh)
    books = len(list(out.glob("*.epub")))
    row(f"full build, {days} days, {books} books", full, "<= 1.5 s", cmd)
    nochange = best(repeat, lambda: ours(*args))
    row("same build again, nothing changed", nochange, "<= 0.5 s", cmd + "  (again)")
    last = max(dt.date.fromisoformat("-".join(p.relative_to(corpus).with_suffix("").parts))
               for p in corpus.rglob("*.md"))
    results = []
    for i in range(repeat):
        add_day(corpus, last + dt.timedelta(days=1 + i))
        results.append(ours(*args))
    one_book = full[0] / books
    added = (min(r[0] for r in results), max(r[1] for r in results), min(r[2] for r in results))
    row("after adding one day", added,
        f"<= {2 * nochange[0] + one_book:.2f} s (2x no-change + one book {one_book:.2f} s)",
        cmd + "  (after adding DAY.md)")
    helped = best(repeat, lambda: ours("--help"))
    row("digest-export --help", helped, "<= 0.25 s", "python -m exporter --help")

    if pandoc:
        exe = shutil.which("pandoc")
        if not exe:
            print("pandoc is not installed (apt-get install -y pandoc): skipped")
        else:
            src, dst = tmp / "pandoc-in", tmp / "pandoc-out"
            src.mkdir(exist_ok=True)
            dst.mkdir(exist_ok=True)
            generate(tmp / "pandoc-corpus", days, round(days * 8000 / 365))
            weeks = week_markdown(tmp / "pandoc-corpus", src)
            wall = cpu = 0.0
            rss = 0
            for md in weeks:
                t, r, c = run_child([exe, "-f", "markdown", "-t", "epub3", "--metadata", f"title={md.stem}",
                                     "-o", str(dst / (md.stem + ".epub")), str(md)], stderr=subprocess.DEVNULL)
                wall, cpu, rss = wall + t, cpu + c, max(rss, r)
            row(f"pandoc, {len(weeks)} weekly books (one run each)", (wall, rss, cpu),
                f"ratio {wall / full[0]:.1f}x wall, {cpu / full[2]:.1f}x CPU (>= 12x)",
                "pandoc -f markdown -t epub3 WEEK.md -o WEEK.epub, per week")
    return full[0], corpus


def bench_years(tmp: Path, years: int, year_wall: float, year_papers: int) -> None:
    corpus = tmp / "years"
    days = 365 * years
    generate(corpus, days, 8000 * years)
    out = tmp / "years-out"
    result = ours("build", str(corpus), "-o", str(out), "--images", "none", "-q")
    ratio = result[0] / (year_wall * years)
    row(f"full build, {years} years ({8000 * years} papers)", result,
        f"< 300 MB; time / ({years} x one year) = {ratio:.2f}",
        f"python -m exporter build CORPUS -o OUT --images none -q   (corpus: {days} days)")
    again = ours("build", str(corpus), "-o", str(out), "--images", "none", "-q")
    row(f"  {years} years again, nothing changed", again, "", "(again)")
    shutil.rmtree(corpus)
    shutil.rmtree(out)


def bench_images(tmp: Path, days: int, delay: float) -> None:
    from bench_images import serve

    manager = mp.Manager()
    stats = manager.dict()
    ports: mp.Queue = mp.Queue()
    server = mp.Process(target=serve, args=(ports, delay, stats), daemon=True)
    server.start()
    port, _ = ports.get(timeout=60)
    try:
        corpus = tmp / "thumbs"
        generate(corpus, days, round(days * 8000 / 365))
        n = 0
        for path in corpus.rglob("*.md"):
            text = path.read_text(encoding="utf-8")
            lines = []
            for line in text.split("\n"):
                if line.startswith("![](https://cdn.example.org/thumbs/"):
                    n += 1
                    line = f"![](http://127.0.0.1:{port}/{n}.png)"
                lines.append(line)
            path.write_text("\n".join(lines), encoding="utf-8")
        env = dict(ENV, XDG_CACHE_HOME=str(tmp / "cache"))
        out = tmp / "thumbs-out"
        base = ["build", str(corpus), "-o", str(out), "-q", "--allow-private-hosts"]
        cmd = f"XDG_CACHE_HOME=EMPTY python -m exporter build CORPUS -o OUT -q   ({days} days, {n} thumbnails)"

        def fresh(*extra):
            shutil.rmtree(out, ignore_errors=True)
            return ours(*base, *extra, env=env)

        none = best(3, lambda: fresh("--images", "none"))
        row(f"{days} days, --images none", none, "", cmd.replace("-q", "-q --images none"))
        cold = fresh()
        row(f"{days} days, thumbnails, cold cache", cold,
            f"server saw up to {stats.get('max_active', 0)} requests at once (>= 8)", cmd)
        warm = best(3, lambda: fresh())
        row(f"{days} days, thumbnails, warm cache", warm,
            f"{warm[0] / none[0]:.2f}x the no-thumbnail time (<= 2x)", cmd + "  (again, new OUT)")
    finally:
        server.terminate()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--thumb-days", type=int, default=28)
    ap.add_argument("--delay", type=float, default=0.02)
    ap.add_argument("--repeat", type=int, default=3, help="runs per figure (the best is kept)")
    ap.add_argument("--no-pandoc", action="store_true")
    ap.add_argument("--skip-ten-years", action="store_true")
    ap.add_argument("--skip-images", action="store_true")
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp_name:
        tmp = Path(tmp_name)
        year_wall, _ = bench_year(tmp, args.days, args.repeat, not args.no_pandoc)
        if not args.skip_ten_years:
            bench_years(tmp, args.years, year_wall, round(args.days * 8000 / 365))
        if not args.skip_images:
            bench_images(tmp, args.thumb_days, args.delay)
    print("\ncommands:")
    for what, _, _, command in ROWS:
        print(f"  {what}: {command}")


if __name__ == "__main__":
    main()
