"""Time `digest-export feed --all` against feedgen alone, side by side.

    python benchmarks/bench_feeds.py [--days 365] [--papers 8000] [--repeat 3]

Generates a synthetic year with benchmarks/corpus.py (cached in a temporary
folder), reads it once, then times, best of --repeat:

* ours: ``write_feeds(--all, atom+rss+json)``: entry selection, rendering,
  feedgen Atom + RSS with our extensions, JSON Feed, writing the files;
* feedgen alone: a minimal script giving feedgen the same entries (same ids,
  titles, dates, authors, links, categories, the same pre-rendered HTML,
  and the same extra fields through feedgen's own extensions) and
  serialising Atom and RSS; also shown with the core fields only.

Target (README, "Benchmarks"): ours within 2x of feedgen alone.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def feedgen_alone(entries, html_by_id, *, same_fields: bool = True) -> tuple[bytes, bytes]:
    """The minimal feedgen program: the same entries through feedgen's own
    API only, with no workaround beyond what feedgen needs to run at all
    (tz-aware dates, order='append').  With *same_fields* it also sets what
    our feeds carry (teaser summary, guid, media thumbnail, dc:creator and
    dc:language through feedgen's dc extension); without, only id, title,
    dates, authors, content, links and categories."""
    from feedgen.feed import FeedGenerator

    fg = FeedGenerator()
    if same_fields:
        fg.load_extension("media")
        fg.load_extension("dc")
    fg.id("tag:example.org,2024:feed")
    fg.title("Daily Papers")
    fg.subtitle("Research paper summaries")
    fg.link(href="https://example.org/papers/", rel="alternate")
    fg.language("ko")
    fg.updated(entries[0].updated)
    for e in entries:
        fe = fg.add_entry(order="append")
        fe.id(e.id)
        fe.title(e.title)
        fe.published(e.published)
        fe.updated(e.updated)
        for a in e.paper.authors:
            fe.author(name=a)
        fe.content(html_by_id[e.id], type="html")
        for link in e.links:
            fe.link(href=link.href, rel=link.rel, type=link.type)
        for c in e.categories:
            fe.category(term=c)
        if same_fields:
            fe.guid(e.id, permalink=True)
            fe.description(e.title, isSummary=True)
            if e.image_url:
                fe.media.thumbnail({"url": e.image_url}, group=None)
            fe.dc.dc_creator(list(e.paper.authors))
            fe.dc.dc_language(e.lang)
    return fg.atom_str(pretty=True), fg.rss_str(pretty=True)


def best_of(n, fn):
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--papers", type=int, default=8000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    from exporter.feeds.entries import build_entries
    from exporter.feeds.writer import FeedOptions
    from exporter.pipeline import write_feeds
    from exporter.reader.parse import read_digests
    from exporter.render import feed_entry_html

    tmp = Path(tempfile.gettempdir()) / f"digest-export-bench-{args.days}-{args.papers}"
    if not tmp.exists():
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "corpus.py"), str(tmp), "--days",
                        str(args.days), "--papers", str(args.papers)], check=True)
    t0 = time.perf_counter()
    result = read_digests([str(tmp)])
    read_s = time.perf_counter() - t0
    entries = build_entries(result.digests)

    with tempfile.TemporaryDirectory() as out:
        options = FeedOptions(out_dir=Path(out), formats=("atom", "rss", "json"), all=True,
                              base_url="https://example.org/papers/")
        t0 = time.perf_counter()
        write_feeds(result, options)  # first run: caches of the renderer still cold
        cold = time.perf_counter() - t0
        ours = best_of(args.repeat, lambda: write_feeds(result, options))
        sizes = {p.name: p.stat().st_size for p in Path(out).iterdir()}
    html_by_id = {e.id: str(feed_entry_html(e.paper)) for e in entries}
    alone = best_of(args.repeat, lambda: feedgen_alone(entries, html_by_id))
    minimal = best_of(args.repeat, lambda: feedgen_alone(entries, html_by_id, same_fields=False))

    print(f"corpus: {len(result.digests)} days, {result.paper_count} papers, {len(entries)} entries "
          f"(read in {read_s:.2f} s, not timed below)")
    print(f"{'digest-export feed --all (atom+rss+json)':44s} {ours:7.2f} s  (first run {cold:.2f} s)")
    print(f"{'feedgen alone (atom+rss, same fields)':44s} {alone:7.2f} s")
    print(f"{'feedgen alone (atom+rss, core fields only)':44s} {minimal:7.2f} s")
    print(f"{'ratio to feedgen, same fields':44s} {ours / alone:7.2f} x  (target <= 2.0)")
    print(f"{'ratio to feedgen, core fields only':44s} {ours / minimal:7.2f} x")
    print("sizes: " + ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in sorted(sizes.items())))


if __name__ == "__main__":
    main()
