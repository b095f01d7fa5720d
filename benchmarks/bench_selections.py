"""Benchmark selections: what three [[selection]] tables cost a build, and the floor.

    python benchmarks/bench_selections.py [--days 365] [--repeat 3] [--no-pandoc]

On the synthetic year (benchmarks/corpus.py), every figure a child process
(wall, CPU of the process and its workers, peak memory), the best of
``--repeat`` runs, all in one run of this script:

1. ``build --images none`` into a fresh folder, without selections and with
   three (``top = 5``, ``min-votes = 20``, three ``match`` terms): the ratio
   (target <= 1.6x);
2. the same builds again, nothing changed: the ratio (target < 1.5x); then
   with one new day (a daily run: that week's books, the feeds and catalogs);
3. ``epub --images none`` of the plain year against the floor
   (benchmarks/floor_epub.py: read, split with string operations, escape,
   one EPUB zip per week; target <= 3x), and pandoc making the same weekly
   books once per week;
4. with ``--thumbnails``: the builds of 1. as a daily run makes them, with the
   thumbnails embedded (the default), from a warm cache (filled by one build
   first, from benchmarks/bench_images.py's local server): the ratio.

The children run as an installed program does, from bytecode
(``PYTHONDONTWRITEBYTECODE`` is dropped for them).

Other processes on the machine skew wall times: the load average is printed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from bench_build import add_day  # noqa: E402
from bench_epub import run_child, week_markdown  # noqa: E402
from corpus import generate  # noqa: E402

# The filters of the selections people keep (a daily top, a vote threshold, a topic: the
# README's terms and "diffusion").
SELECTIONS = '''
[[selection]]
name = "top"
title = "Top 5 a day"
top = 5

[[selection]]
name = "popular"
title = "20 votes or more"
min-votes = 20

[[selection]]
name = "topics"
title = "Video and diffusion"
match = ["video", "diffusion", "re:\\\\btext-to-(video|motion)\\\\b"]
'''


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-pandoc", action="store_true")
    ap.add_argument("--thumbnails", action="store_true", help="also compare the builds with thumbnails (4.)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-selections-"))
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               XDG_STATE_HOME=str(tmp / "state"), XDG_CACHE_HOME=str(tmp / "cache"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    try:
        corpus = tmp / "year"
        generate(corpus, args.days, round(args.days * 8000 / 365))
        (tmp / "plain.toml").write_text("", encoding="utf-8")
        (tmp / "selections.toml").write_text(SELECTIONS, encoding="utf-8")

        def ours(*cmd: str, state: Path | None = None) -> tuple[float, int, float]:
            return run_child([sys.executable, "-m", "exporter", *cmd],
                             env=env if state is None else dict(env, XDG_STATE_HOME=str(state)),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def paired(one, other) -> tuple[tuple[float, int, float], tuple[float, int, float]]:
            """The best of ``--repeat`` runs of each, taken in turn: a shared machine's speed drifts
            by tens of percent within minutes, and weighs so on both alike."""
            firsts, seconds = [], []
            for _ in range(args.repeat):
                firsts.append(one())
                seconds.append(other())
            return tuple((min(r[0] for r in runs), max(r[1] for r in runs), min(r[2] for r in runs))
                         for runs in (firsts, seconds))

        def build(config: str, out: Path, fresh: bool, source: Path = corpus,
                  images: tuple[str, ...] = ("--images", "none")) -> tuple[float, int, float]:
            state = tmp / "state" / out.name  # each folder's own: a fresh build removes it alone
            if fresh:
                shutil.rmtree(out, ignore_errors=True)
                shutil.rmtree(state, ignore_errors=True)
            return ours("--config", str(tmp / config), "build", str(source), "-o", str(out), *images,
                        "-q", state=state)

        def show(what: str, r: tuple[float, int, float], note: str = "") -> None:
            print(f"{what:<48} {r[0]:6.2f} s  (CPU {r[2]:5.2f} s, {r[1] / 1024:4.0f} MB)  {note}", flush=True)

        print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; corpus: {args.days} days")
        p, s = paired(lambda: build("plain.toml", tmp / "plain-out", True),
                      lambda: build("selections.toml", tmp / "sel-out", True))
        show("build, no selection", p)
        show("build, three selections", s, f"{s[0] / p[0]:.2f}x wall, {s[2] / p[2]:.2f}x CPU (target <= 1.6x)")
        p2, s2 = paired(lambda: build("plain.toml", tmp / "plain-out", False),
                        lambda: build("selections.toml", tmp / "sel-out", False))
        show("no-change build, no selection", p2)
        show("no-change build, three selections", s2,
             f"{s2[0] / p2[0]:.2f}x wall, {s2[2] / p2[2]:.2f}x CPU (target < 1.5x)")

        # The daily run: one new day at the end of the year (its week's books, the feeds and the
        # catalogs again), taken away and built again after each measured run, unmeasured.
        last = max(dt.date.fromisoformat("-".join(p.relative_to(corpus).with_suffix("").parts))
                   for p in corpus.rglob("*.md"))

        def one_more_day(config: str, out: Path):
            def run() -> tuple[float, int, float]:
                day = add_day(corpus, last + dt.timedelta(days=1))
                try:
                    return build(config, out, False)
                finally:
                    day.unlink()
                    build(config, out, False)
            return run

        p3, s3 = paired(one_more_day("plain.toml", tmp / "plain-out"), one_more_day("selections.toml", tmp / "sel-out"))
        show("one new day, no selection", p3)
        show("one new day, three selections", s3, f"{s3[0] / p3[0]:.2f}x wall, {s3[2] / p3[2]:.2f}x CPU")

        epub, floor = paired(lambda: ours("epub", str(corpus), "-o", str(tmp / "epub-out"), "--images", "none", "-q"),
                             lambda: run_child([sys.executable, str(HERE / "floor_epub.py"), str(corpus),
                                                str(tmp / "floor-out")]))
        show("floor (benchmarks/floor_epub.py)", floor)
        show("epub --images none", epub,
             f"{epub[0] / floor[0]:.2f}x wall, {epub[2] / floor[2]:.2f}x CPU of the floor (target <= 3x)")
        if args.thumbnails:
            with_thumbnails(tmp, corpus, paired, build, show)
        exe = shutil.which("pandoc")
        if not args.no_pandoc and exe:
            src, dst = tmp / "pandoc-in", tmp / "pandoc-out"
            src.mkdir()
            dst.mkdir()
            wall = cpu = 0.0
            rss = 0
            weeks = week_markdown(corpus, src)
            for md in weeks:
                t, r, c = run_child([exe, "-f", "markdown", "-t", "epub3", "--metadata", f"title={md.stem}",
                                     "-o", str(dst / (md.stem + ".epub")), str(md)], stderr=subprocess.DEVNULL)
                wall, cpu, rss = wall + t, cpu + c, max(rss, r)
            show(f"pandoc, {len(weeks)} weekly books (one run each)", (wall, rss, cpu),
                 f"{wall / epub[0]:.1f}x the epub wall time, {wall / floor[0]:.1f}x the floor")
        elif not args.no_pandoc:
            print("pandoc is not installed (apt-get install -y pandoc): skipped")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def with_thumbnails(tmp: Path, corpus: Path, paired, build, show) -> None:
    """4.: the year's thumbnail lines pointed at a local server, the cache filled by one build, then
    the builds without and with the selections, interleaved, each into a fresh folder."""
    import multiprocessing as mp

    from bench_images import serve

    stats = mp.Manager().dict()
    ports: mp.Queue = mp.Queue()
    server = mp.Process(target=serve, args=(ports, 0.02, stats), daemon=True)
    server.start()
    port, _ = ports.get(timeout=60)
    try:
        thumbs, n = tmp / "thumbs", 0
        shutil.copytree(corpus, thumbs)
        for path in sorted(thumbs.rglob("*.md")):
            lines = []
            for line in path.read_text(encoding="utf-8").split("\n"):
                if line.startswith("![](https://cdn.example.org/thumbs/"):
                    n += 1
                    line = f"![](http://127.0.0.1:{port}/{n}.png)"
                lines.append(line)
            path.write_text("\n".join(lines), encoding="utf-8")
        images = ("--allow-private-hosts",)
        show(f"build with {n} thumbnails, cold cache", build("plain.toml", tmp / "thumbs-cold", True, thumbs, images))
        p, s = paired(lambda: build("plain.toml", tmp / "thumbs-plain", True, thumbs, images),
                      lambda: build("selections.toml", tmp / "thumbs-sel", True, thumbs, images))
        show("build with thumbnails (warm cache), no selection", p)
        show("build with thumbnails (warm cache), three selections", s,
             f"{s[0] / p[0]:.2f}x wall, {s[2] / p[2]:.2f}x CPU (target <= 1.6x)")
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
