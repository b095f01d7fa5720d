"""Thumbnail downloads from a real web server, side by side with curl.

    python benchmarks/bench_fetch.py [--n 120] [--connect-delay 0.1] [--repeat 3] [--tls]

Serves ``--n`` distinct PNG thumbnails of 50-300 KB (teaser-figure-like) from Debian's nginx on
127.0.0.1, behind a small TCP relay (its own process) that holds every *new*
connection for ``--connect-delay`` seconds before passing it on, as the
TCP (and TLS) handshake with a far CDN costs; requests on a kept-alive
connection pay nothing.  ``--tls`` relays to nginx's HTTPS port instead
(test CA from trustme).  Then, each ``--repeat`` times with an empty cache:

1. ``curl --parallel --parallel-max 8`` fetching the same URL list to files;
2. digest-export's HTTP client alone (exporter.images.fetch.Fetcher, 8
   threads): the download part of the job, what curl does;
3. ``load_images`` cold: download + decode + scale + encode + cache;
4. ``digest-export epub`` of a week holding these thumbnails, cold, warm
   (cache filled) and with ``--images none``.

Prints the median wall times, the ratios to curl and warm/none, and how many
TCP connections nginx saw for each client.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE.parent))

from PIL import Image  # noqa: E402

from exporter.images import ImageOptions, load_images  # noqa: E402
from exporter.images.fetch import FetchOptions, Fetcher  # noqa: E402
from exporter.model import Paper, SourceRef, Thumbnail, ThumbnailKind  # noqa: E402
from nginx_server import start_nginx, stop_nginx  # noqa: E402


def make_images(folder: Path, n: int) -> list[int]:
    """n distinct teaser-figure-like PNGs (gradients, boxes, labels, a little
    noise), 50-300 KB each as real thumbnails are; returns their sizes."""
    import io
    import random

    from PIL import ImageDraw

    folder.mkdir(parents=True)
    sizes = []
    for i in range(n):
        rng = random.Random(i)
        w, h = 500 + (i * 37) % 300, 280 + (i * 53) % 170
        im = Image.merge("RGB", (Image.linear_gradient("L").resize((w, h)),
                                 Image.linear_gradient("L").rotate(90).resize((w, h)),
                                 Image.new("L", (w, h), rng.randrange(256))))
        draw = ImageDraw.Draw(im)
        for _ in range(40):
            x, y = rng.randrange(w), rng.randrange(h)
            color = tuple(rng.randrange(256) for _ in range(3))
            draw.rectangle((x, y, x + rng.randrange(10, 200), y + rng.randrange(10, 120)), outline=color, width=2)
            draw.text((x, y), f"fig {i}", fill=color)
        im = Image.blend(im, Image.effect_noise((w, h), 30).convert("RGB"), 0.004 + (i % 5) * 0.003)
        out = io.BytesIO()
        im.save(out, format="PNG")
        (folder / f"{i}.png").write_bytes(out.getvalue())
        sizes.append(len(out.getvalue()))
    return sizes


# -- the relay: a new connection costs --connect-delay ------------------------

def _relay_main(listen_port: int, target_port: int, delay: float, ready: mp.Event) -> None:
    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        await asyncio.sleep(delay)  # the handshake of a far server
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", target_port)
        except OSError:
            client_w.close()
            return
        await asyncio.gather(pipe(client_r, up_w), pipe(up_r, client_w))

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", listen_port, backlog=256)
        ready.set()
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def start_relay(target_port: int, delay: float) -> tuple[mp.Process, int]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ready = mp.Event()
    proc = mp.Process(target=_relay_main, args=(port, target_port, delay, ready), daemon=True)
    proc.start()
    ready.wait(10)
    return proc, port


# -- the contestants ------------------------------------------------------------

def run_curl(urls: list[str], out: Path, ca: Path | None) -> float:
    out.mkdir(parents=True)
    config = out.parent / f"{out.name}.curlrc"
    config.write_text("".join(f'url = "{u}"\noutput = "{out}/{i}.png"\n' for i, u in enumerate(urls)))
    cmd = ["curl", "--parallel", "--parallel-max", "8", "--silent", "--no-progress-meter", "--show-error", "--fail",
           "--config", str(config)] + (["--cacert", str(ca)] if ca else [])
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    elapsed = time.perf_counter() - start
    assert len(list(out.iterdir())) == len(urls)
    return elapsed


def run_fetcher(urls: list[str]) -> float:
    start = time.perf_counter()
    with Fetcher(FetchOptions(timeout=30, max_bytes=8_000_000, concurrency=8, allow_private_hosts=True)) as f:
        with ThreadPoolExecutor(8) as pool:
            bodies = list(pool.map(f.get, urls))
    elapsed = time.perf_counter() - start
    assert all(len(b) > 10_000 for b in bodies)
    return elapsed


def run_load_images(urls: list[str], cache: Path) -> float:
    papers = [Paper(title=f"P{i}", url=None, arxiv_id=None, thumbnail=Thumbnail(ThumbnailKind.IMAGE, u),
                    votes=None, authors=(), summary=(), source=SourceRef("bench.md", i))
              for i, u in enumerate(urls)]
    start = time.perf_counter()
    results = load_images(papers, ImageOptions(cache_dir=cache, allow_private_hosts=True, timeout=30))
    elapsed = time.perf_counter() - start
    assert results.failures == [] and results.fetched == len(urls), results.failures[:3]
    return elapsed


def week_digest(folder: Path, urls: list[str]) -> None:
    folder.mkdir(parents=True)
    per_day = -(-len(urls) // 7)
    for d in range(7):
        lines = [f"## Daily Papers (2024-03-{4 + d:02d})", ""]
        for j, url in enumerate(urls[d * per_day:(d + 1) * per_day]):
            n = d * per_day + j
            lines += [f"### [Paper {n}: a title of usual length](https://arxiv.org/abs/2403.{10000 + n})", "",
                      f"![]({url})", "", "Vote: 12", "", "Authors: Ada Lovelace, Alan Turing", "",
                      "- **What's New**: one summary line of ordinary length for the paper.",
                      "- **Technical Details**: another line.", ""]
        (folder / f"2024-03-{4 + d:02d}.md").write_text("\n".join(lines), encoding="utf-8")


def run_epub(inputs: Path, out: Path, cache: Path, env_extra: dict[str, str], *extra: str) -> float:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), **env_extra}
    cmd = [sys.executable, "-m", "exporter", "epub", str(inputs), "-o", str(out), "-q", "-j", "1",
           "--allow-private-hosts", "--image-timeout", "30", *extra]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, env=env)
    return time.perf_counter() - start


def connections(server, before: int) -> tuple[int, int]:
    time.sleep(0.2)
    rows = server.log()[before:]
    return len(rows), len({conn for *_, conn, _ in rows})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=120)
    ap.add_argument("--connect-delay", type=float, default=0.1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tls", action="store_true")
    args = ap.parse_args()
    if shutil.which("curl") is None:
        sys.exit("curl is needed (Debian package curl)")

    tmp = Path(tempfile.mkdtemp(prefix="bench-fetch-"))
    sizes = make_images(tmp / "www" / "img", args.n)
    proc, server = start_nginx(tmp / "nginx", tmp / "www")
    kind = "tls" if args.tls else "plain"
    relay, port = start_relay(server.ports[kind], args.connect_delay)
    scheme = "https" if args.tls else "http"
    urls = [f"{scheme}://127.0.0.1:{port}/img/{i}.png" for i in range(args.n)]
    ca = server.ca_file if args.tls else None
    env_extra = {"SSL_CERT_FILE": str(ca)} if ca else {}
    os.environ.update(env_extra)
    week_digest(tmp / "week", urls)
    print(f"{args.n} thumbnails, {min(sizes) // 1000}-{max(sizes) // 1000} KB "
          f"({sum(sizes) / 1e6:.1f} MB), {scheme}, new connection +{args.connect_delay * 1000:.0f} ms, "
          f"median of {args.repeat}")
    times: dict[str, list[float]] = {k: [] for k in
                                     ("curl", "fetcher", "load_images", "epub cold", "epub warm", "epub none")}
    conns: dict[str, tuple[int, int]] = {}
    try:
        for r in range(args.repeat):
            mark = len(server.log())
            times["curl"].append(run_curl(urls, tmp / f"curl{r}", ca))
            conns["curl"] = connections(server, mark)
            mark = len(server.log())
            times["fetcher"].append(run_fetcher(urls))
            conns["fetcher"] = connections(server, mark)
            mark = len(server.log())
            times["load_images"].append(run_load_images(urls, tmp / f"cache-li{r}"))
            conns["load_images"] = connections(server, mark)
            cache = tmp / f"cache-epub{r}"
            times["epub cold"].append(run_epub(tmp / "week", tmp / f"o-cold{r}", cache, env_extra))
            times["epub warm"].append(run_epub(tmp / "week", tmp / f"o-warm{r}", cache, env_extra))
            times["epub none"].append(run_epub(tmp / "week", tmp / f"o-none{r}", cache, env_extra,
                                               "--images", "none"))
    finally:
        relay.terminate()
        stop_nginx(proc)
    med = {k: statistics.median(v) for k, v in times.items()}
    curl = med["curl"]
    for name in ("curl", "fetcher", "load_images"):
        requests, conn = conns[name]
        print(f"  {name:<12} {med[name]:6.2f} s  {med[name] / curl:4.2f}x curl   "
              f"{requests} requests on {conn} connections")
    for name in ("epub cold", "epub warm", "epub none"):
        print(f"  {name:<12} {med[name]:6.2f} s")
    print(f"  warm / none  {med['epub warm'] / med['epub none']:.2f}x")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
