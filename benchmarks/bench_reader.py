"""Benchmark the reader: a synthetic year of digests read and parsed, in CPU time.

    python benchmarks/bench_reader.py [--days 365] [--repeat 5]

The CPU time of this process (``time.process_time``: other processes on a
shared machine do not count) of ``read_digests`` over the synthetic year
(benchmarks/corpus.py, 8,000 papers), the best of ``--repeat`` reads, against
the least any reader must do: the same files read and decoded as UTF-8 and
split into lines (the floor).  Target: under 0.4 s.  ``tests/test_reader.py``
keeps a bound of 1.0 s for slower machines.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from corpus import generate  # noqa: E402


def _best(repeat: int, fn) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    from exporter.reader import read_digests

    with tempfile.TemporaryDirectory(prefix="bench-reader-") as tmp:
        corpus = Path(tmp)
        generate(corpus, days=args.days, papers=round(args.days * 8000 / 365))
        files = sorted(corpus.rglob("*.md"))
        result = read_digests([corpus])
        ours = _best(args.repeat, lambda: read_digests([corpus]))
        floor = _best(args.repeat, lambda: [p.read_bytes().decode("utf-8").split("\n") for p in files])
    print(f"{len(files)} files, {result.paper_count} papers")
    print(f"read_digests                 {ours:6.3f} s CPU  (target < 0.4 s)")
    print(f"floor (read, decode, split)  {floor:6.3f} s CPU  {ours / floor:.1f}x")


if __name__ == "__main__":
    main()
