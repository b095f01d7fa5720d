"""The daily run when the thumbnail host cannot be reached.

    python benchmarks/bench_daily.py [--days 357] [--papers 5488]

A real-sized synthetic archive (benchmarks/corpus.py; by default 357 daily
files and 5,488 papers, the size of a real archive) whose thumbnails are
``https://cdn.example.org/thumbs/...``, rewritten to point at:

* ``none``: ``--images none`` (the floor);
* ``unresolvable``: a host name that does not resolve (``.invalid``,
  RFC 6761: one failed name lookup per run);
* ``refused``: ``127.0.0.1:9``, where nothing listens (with
  ``--allow-private-hosts``, as for a thumbnail server on the LAN).

For each: a fresh ``build`` (empty output and state), the same build again
(nothing changed), and the build after one new day.  Each figure is the
best of ``--repeat`` child processes ``python -m exporter build ... -q``.
Target: the no-change run with the host unreachable within 2x the no-change
run with ``--images none``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_build import ENV, add_day, ours  # noqa: E402
from corpus import generate  # noqa: E402

HOSTS = {"unresolvable": "https://thumbs.does-not-resolve.invalid", "refused": "http://127.0.0.1:9"}


def point_thumbnails(corpus: Path, base: str) -> None:
    for path in corpus.rglob("*.md"):
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("https://cdn.example.org/thumbs", base + "/thumbs"), encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=int, default=357)
    ap.add_argument("--papers", type=int, default=5488)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-daily-"))
    print(f"load average {os.getloadavg()[0]:.2f}; {args.days} days, {args.papers} papers; best of {args.repeat}")
    table = []
    for case in ("none", "unresolvable", "refused"):
        corpus = tmp / case / "corpus"
        generate(corpus, args.days, args.papers)
        extra: list[str] = ["--images", "none"] if case == "none" else ["--image-timeout", "2"]
        if case != "none":
            point_thumbnails(corpus, HOSTS[case])
            if case == "refused":
                extra.append("--allow-private-hosts")
        out, state, cache = tmp / case / "out", tmp / case / "state", tmp / case / "cache"
        env = dict(ENV, XDG_STATE_HOME=str(state), XDG_CACHE_HOME=str(cache))
        args_ = ["build", str(corpus), "-o", str(out), "-q", *extra]

        def fresh() -> tuple[float, int, float]:
            shutil.rmtree(out, ignore_errors=True)
            shutil.rmtree(state, ignore_errors=True)
            shutil.rmtree(cache, ignore_errors=True)
            return ours(*args_, env=env)

        first = min((fresh() for _ in range(args.repeat)), key=lambda r: r[0])
        again = min((ours(*args_, env=env) for _ in range(args.repeat)), key=lambda r: r[0])
        add_day(corpus, dt.date(2024, 1, 1) + dt.timedelta(days=args.days + 3))
        one_day = ours(*args_, env=env)
        table.append((case, first[0], again[0], one_day[0]))
        print(f"  {case:<13} fresh {first[0]:6.2f} s   no change {again[0]:5.2f} s   one new day {one_day[0]:5.2f} s",
              flush=True)
    floor = table[0][2]
    for case, _, again, _ in table[1:]:
        print(f"  no change, {case}: {again / floor:.2f}x the --images none no-change run (target <= 2x)")
    print(f"command: python -m exporter build CORPUS -o OUT -q ARGS   (corpus: {args.days} days, {args.papers} papers)")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
