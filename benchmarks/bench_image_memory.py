"""Peak memory of ``epub``/``build --images embed`` with N large thumbnails fetched over HTTP.

    PYTHONPATH=. python benchmarks/bench_image_memory.py [--n 2 10 40] [--heavy]
        [--command epub|build] [--days D] [-j 2]

A server on 127.0.0.1 (a separate process, so its memory is not counted)
serves N pictures near the pixel cap (6300x6300, 39.7 megapixels): PNGs,
JPEGs, and PNGs sent with two content encodings stacked (``gzip, gzip``);
``--heavy`` makes each body 7 to 8 MB, near the size cap.  The N papers,
each with its own thumbnail URL, are spread over ``--days`` digest files
(``build`` makes a book of each day, with ``-j`` workers); the command runs
with an empty thumbnail cache.  Printed per N: the command's summary line,
the peak resident memory (max RSS) of the command and of its worker processes
(``getrusage(RUSAGE_CHILDREN)``: the largest of them), the wall time, and the
sha256 of the books (the same pictures must give the same books).  The code
measured is PYTHONPATH's: compare two checkouts by running it with each.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import http.server
import io
import multiprocessing as mp
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

SIDE = 6300

PEAK = """
import resource, subprocess, sys, time
t = time.perf_counter()
run = subprocess.run(sys.argv[1:], capture_output=True, text=True)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(run.returncode, usage.ru_maxrss, time.perf_counter() - t, usage.ru_utime + usage.ru_stime)
print(([l for l in (run.stdout + run.stderr).splitlines() if " image" in l and ": warning:" not in l] or ["-"])[-1])
"""


def pictures(heavy: bool) -> dict[str, tuple[bytes, str]]:
    """The three kinds of body: (bytes, Content-Encoding).  *heavy*: a band of noise at the
    top makes each body about 7.5 MB, near the 8 MB cap, on the wire or once decoded."""
    from PIL import Image

    size = (SIDE, SIDE)
    im = Image.merge("RGB", (Image.linear_gradient("L").resize(size),
                             Image.linear_gradient("L").rotate(90).resize(size),
                             Image.radial_gradient("L").resize(size)))
    if heavy:
        im.paste(Image.frombytes("RGB", (SIDE, 390), random.Random(1).randbytes(SIDE * 390 * 3)))
    png, jpg = io.BytesIO(), io.BytesIO()
    im.save(png, "PNG")
    im.save(jpg, "JPEG", quality=90)
    if heavy:  # JPEG compresses noise better: a band twice as high
        im.paste(Image.frombytes("RGB", (SIDE, 760), random.Random(2).randbytes(SIDE * 760 * 3)))
        jpg = io.BytesIO()
        im.save(jpg, "JPEG", quality=95)
    return {"png": (png.getvalue(), ""), "jpg": (jpg.getvalue(), ""),
            "gz": (gzip.compress(gzip.compress(png.getvalue(), mtime=0), mtime=0), "gzip, gzip")}


def kind(i: int) -> str:
    return ("png", "jpg", "gz")[i % 3]


def serve(port: mp.Value, ready: mp.Event, heavy: bool) -> None:
    bodies = pictures(heavy)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):  # noqa: N802
            name = self.path.rsplit("/", 1)[-1]
            body, coding = bodies[name.split(".")[0].split("-")[1]]
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg" if "jpg" in name else "image/png")
            self.send_header("Content-Length", str(len(body)))
            if coding:
                self.send_header("Content-Encoding", coding)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port.value = server.server_address[1]
    ready.set()
    server.serve_forever()


def digests(folder: Path, n: int, port: int, days: int) -> None:
    """*n* papers spread over *days* digest files, each paper with its own thumbnail URL."""
    for day in range(days):
        papers = [f"### [P{i}](https://arxiv.org/abs/2403.{i:05d})\n\n"
                  f"![](http://127.0.0.1:{port}/img/{i}-{kind(i)}.{'jpg' if kind(i) == 'jpg' else 'png'})\n\n"
                  "Vote: 1\n\nAuthors: A\n\n- x\n" for i in range(day, n, days)]
        date = f"2024-03-{4 + day:02d}"
        (folder / "in" / f"{date}.md").write_text(f"## Daily Papers ({date})\n\n" + "\n".join(papers),
                                                   encoding="utf-8")


def run(n: int, port: int, command: str, jobs: int, days: int) -> tuple[int, float, float, str]:
    with tempfile.TemporaryDirectory(dir=Path.home() / ".cache") as tmp:  # on disk, not a tmpfs
        folder = Path(tmp)
        (folder / "in").mkdir()
        digests(folder, n, port, days)
        out = folder / "out"
        cmd = [sys.executable, "-m", "exporter", command, str(folder / "in"), "-o", str(out),
               "--allow-private-hosts", "--images", "embed"]
        if command == "build":
            cmd += ["-j", str(jobs), "--by", "day", "--state", str(folder / "state.json")]
        env = {**os.environ, "XDG_CACHE_HOME": str(folder / "cache")}
        # Run in the temporary folder: "-m exporter" is then PYTHONPATH's, not the current folder's.
        line = subprocess.run([sys.executable, "-c", PEAK, *cmd], capture_output=True, text=True, env=env,
                              cwd=folder, check=True).stdout.splitlines()
        rc, kb, wall, cpu = int(line[0].split()[0]), int(line[0].split()[1]), float(line[0].split()[2]), \
            float(line[0].split()[3])
        summary = line[1]
        books = sorted(out.rglob("*.epub"))
        if rc != 0 or not books:
            raise SystemExit(f"{command} of {n} thumbnails failed (exit {rc}): {summary}")
        print("  " + summary)
        digest_ = hashlib.sha256(b"".join(b.read_bytes() for b in books)).hexdigest()[:16]
        return kb, wall, cpu, digest_


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, nargs="+", default=[2, 10, 40])
    parser.add_argument("--command", choices=("epub", "build"), default="epub")
    parser.add_argument("-j", type=int, default=2)
    parser.add_argument("--heavy", action="store_true", help="bodies near the 8 MB cap")
    parser.add_argument("--days", type=int, default=1, help="papers spread over this many days (build: a book each)")
    args = parser.parse_args()
    port, ready = mp.Value("i", 0), mp.Event()
    server = mp.Process(target=serve, args=(port, ready, args.heavy), daemon=True)
    server.start()
    ready.wait(60)
    for n in args.n:
        kb, wall, cpu, digest_ = run(n, port.value, args.command, args.j, args.days)
        print(f"{args.command} N={n:3d} days={args.days}: peak {kb / 1024:6.0f} MB, {wall:6.1f} s "
              f"(CPU {cpu:6.1f} s), books {digest_}", flush=True)
    server.terminate()


if __name__ == "__main__":
    main()
