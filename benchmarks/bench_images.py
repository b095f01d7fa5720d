"""Benchmark thumbnail loading: concurrent downloads, parallel conversion, cache.

    PYTHONPATH=. python benchmarks/bench_images.py [--n 300] [--delay 0.02]

A local server (in a separate process, so its CPU time is not counted)
answers each request after ``--delay`` seconds with one of a few synthetic
800x450 PNG "figures".  Measured, in this process:

1. which conversion steps release the GIL (each step in 1 vs 2 threads),
   then conversion alone (no network) of the same bytes with 1, 2 and 8
   threads and with a 2-process pool: are threads enough to use every core?
2. ``load_images`` cold (empty cache: download + convert) and warm (second
   run, cache only): wall time, CPU time and CPU utilisation, the peak
   number of requests the server saw at once.
3. a warm run at the scale of a year (``--year``, default 8000 cached
   thumbnails, entries copied from the cold run's output): the cost a daily
   build pays for embedding thumbnails once they are cached.
"""

from __future__ import annotations

import argparse
import http.server
import io
import multiprocessing as mp
import os
import random
import resource
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

from PIL import Image, ImageDraw

from exporter.images import ImageOptions, load_images
from exporter.images.convert import convert as _convert
from exporter.model import Paper, SourceRef, Thumbnail, ThumbnailKind

DISTINCT = 24  # distinct PNGs, served under N different URLs


def synthetic_figure(seed: int, size=(800, 450)) -> bytes:
    """A PNG like a paper's teaser figure: gradient, shapes, text, some noise."""
    rng = random.Random(seed)
    w, h = size
    im = Image.merge("RGB", (
        Image.linear_gradient("L").resize(size),
        Image.linear_gradient("L").rotate(90).resize(size),
        Image.new("L", size, rng.randrange(256)),
    ))
    draw = ImageDraw.Draw(im)
    for _ in range(40):
        x, y = rng.randrange(w), rng.randrange(h)
        color = tuple(rng.randrange(256) for _ in range(3))
        draw.rectangle((x, y, x + rng.randrange(10, 200), y + rng.randrange(10, 120)),
                       outline=color, width=2)
        draw.text((x, y), f"fig {seed}", fill=color)
    noise = Image.effect_noise(size, 40).convert("RGB")
    im = Image.blend(im, noise, 0.15)
    out = io.BytesIO()
    im.save(out, format="PNG")
    return out.getvalue()


def serve(port_queue, delay: float, stats) -> None:
    bodies = [synthetic_figure(i) for i in range(DISTINCT)]
    lock = threading.Lock()
    active = [0]

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            with lock:
                active[0] += 1
                stats["max_active"] = max(stats.get("max_active", 0), active[0])
                stats["requests"] = stats.get("requests", 0) + 1
            try:
                time.sleep(delay)
                body = bodies[int(self.path.strip("/").split(".")[0]) % DISTINCT]
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            finally:
                with lock:
                    active[0] -= 1

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.request_queue_size = 128
    port_queue.put((server.server_port, sum(map(len, bodies)) / len(bodies)))
    server.serve_forever()


def cpu_seconds() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def measure(fn):
    wall0, cpu0 = time.perf_counter(), cpu_seconds()
    result = fn()
    wall, cpu = time.perf_counter() - wall0, cpu_seconds() - cpu0
    return result, wall, cpu


def line(label: str, n: int, wall: float, cpu: float) -> None:
    print(f"  {label:<28} {wall:7.2f} s wall  {cpu:7.2f} s cpu  "
          f"{cpu / wall * 100:5.0f}% cpu  {n / wall:7.1f} img/s")


def bench_gil(body: bytes) -> None:
    """Which Pillow steps release the GIL: the same work in 1 thread vs 2."""
    src = Image.open(io.BytesIO(body))
    src.load()
    big = src.resize((src.width * 2, src.height * 2))
    steps = {
        "PNG decode": lambda: Image.open(io.BytesIO(body)).load(),
        "Lanczos 2x downscale": lambda: big.resize(src.size, Image.Resampling.LANCZOS),
        "JPEG encode": lambda: src.save(io.BytesIO(), "JPEG", quality=80, optimize=True),
        "whole conversion": lambda: _convert(body, ImageOptions()),
    }

    def run(fn, reps: int, threads: int) -> float:
        def work():
            for _ in range(reps):
                fn()
        pool = [threading.Thread(target=work) for _ in range(threads)]
        start = time.perf_counter()
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        return time.perf_counter() - start

    print("GIL: each step, same work per thread, 2 threads vs 1 (2.0 = no GIL contention):")
    for name, fn in steps.items():
        fn()
        reps = 40
        one, two = run(fn, reps, 1), run(fn, reps, 2)
        print(f"  {name:<28} {one / reps * 1000:6.2f} ms/op   2-thread speedup {2 * one / two:4.2f}")


def bench_conversion(n: int, options: ImageOptions) -> None:
    bodies = [synthetic_figure(i) for i in range(DISTINCT)]
    work = [bodies[i % DISTINCT] for i in range(n)]
    print(f"conversion only, {n} images (no network, no cache), {os.cpu_count()} cores:")
    _convert(work[0], options)  # warm up imports
    for workers in (1, 2, 8):
        with ThreadPoolExecutor(workers) as pool:
            _, wall, cpu = measure(lambda: list(pool.map(lambda b: _convert(b, options), work)))
        line(f"threads x{workers}", n, wall, cpu)
    ctx = mp.get_context("forkserver")
    with ProcessPoolExecutor(2, mp_context=ctx) as pool:
        list(pool.map(_convert, work[:2], [options] * 2))  # start the workers
        _, wall, cpu = measure(lambda: list(pool.map(_convert, work, [options] * n,
                                                      chunksize=4)))
    # Child CPU time is not in RUSAGE_SELF; report wall only for the pool.
    print(f"  {'processes x2':<28} {wall:7.2f} s wall  {'':>17}  {n / wall:7.1f} img/s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300, help="number of thumbnails")
    ap.add_argument("--delay", type=float, default=0.02, help="server delay per request (s)")
    ap.add_argument("--year", type=int, default=8000,
                    help="cached thumbnails for the warm-year run (0: skip)")
    ap.add_argument("--skip-conversion", action="store_true")
    args = ap.parse_args(argv)

    manager = mp.Manager()
    stats = manager.dict()
    port_queue = mp.Queue()
    server = mp.Process(target=serve, args=(port_queue, args.delay, stats), daemon=True)
    server.start()
    port, avg_size = port_queue.get(timeout=60)
    print(f"load average {os.getloadavg()[0]:.2f} (other jobs on this machine skew the figures)")
    print(f"{args.n} thumbnails, {DISTINCT} distinct 800x450 PNGs of {avg_size / 1000:.0f} kB, "
          f"server delay {args.delay * 1000:.0f} ms/request, Python {sys.version.split()[0]}")

    with tempfile.TemporaryDirectory() as tmp:
        options = ImageOptions(cache_dir=Path(tmp) / "cache", allow_private_hosts=True)
        if not args.skip_conversion:
            bench_gil(synthetic_figure(0))
            bench_conversion(args.n, options)
        papers = [Paper(title=f"p{i}", url=None, arxiv_id=None,
                        thumbnail=Thumbnail(ThumbnailKind.IMAGE,
                                            f"http://127.0.0.1:{port}/{i}.png"),
                        votes=None, authors=(), summary=(), source=SourceRef("d.md", i))
                   for i in range(args.n)]
        print(f"load_images (concurrency {options.concurrency}):")
        cold, wall, cpu = measure(lambda: load_images(papers, options))
        assert cold.fetched == args.n and not cold.failures, cold.failures[:3]
        line("cold (download + convert)", args.n, wall, cpu)
        print(f"  {'':<28} max concurrent requests at the server: {stats['max_active']}")
        cold_wall = wall
        warm, wall, cpu = measure(lambda: load_images(papers, options))
        assert warm.cached == args.n and stats["requests"] == args.n
        line("warm (cache only)", args.n, wall, cpu)
        out_kb = sum(len(cold.get(p).data) for p in papers) / args.n / 1000
        print(f"  warm/cold: {wall / cold_wall:.2f};  output {out_kb:.0f} kB/image "
              f"({cold.get(papers[0]).media_type})")
        if args.year:
            from exporter.images.load import Loader as _Loader

            loader = _Loader(options)
            year = [Paper(title=f"y{i}", url=None, arxiv_id=None,
                          thumbnail=Thumbnail(ThumbnailKind.IMAGE,
                                              f"https://cdn.example.org/{i}.png"),
                          votes=None, authors=(), summary=(), source=SourceRef("y.md", i))
                    for i in range(args.year)]
            for i, paper in enumerate(year):
                loader.cache.put_converted(paper.thumbnail.url, loader.options_key,
                                           cold.get(papers[i % args.n]))
            warm_year, wall, cpu = measure(lambda: load_images(year, options))
            assert warm_year.cached == args.year, warm_year.counts
            line(f"warm year, 1 call", args.year, wall, cpu)
            del warm_year
            weeks = [year[i:i + 151] for i in range(0, args.year, 151)]

            def per_week():
                # How a book writer should call it: one book's papers at a
                # time, dropping the images once the book is written.
                return sum(load_images(week, options).cached for week in weeks)

            cached, wall, cpu = measure(per_week)
            assert cached == args.year
            line(f"warm year, {len(weeks)} calls", args.year, wall, cpu)
    server.terminate()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
