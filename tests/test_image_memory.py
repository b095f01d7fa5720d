"""Memory while thumbnails are fetched and decoded does not grow with their number.

Three things made it grow, each closed in exporter.images:

* glibc kept what each download thread freed in that thread's own malloc arena, and after
  the first large block freed it served the next pictures' pixel blocks from the arenas'
  heaps, where small objects pinned them: two arenas and a fixed mmap threshold
  (``load._few_heaps``);
* Pillow's ``PngImageFile.getexif`` decodes the whole picture, and it was called when a
  picture was opened, outside the pixel budget: eight threads decoded eight PNGs of
  40 megapixels at once (``convert._orientation``, now within the budget);
* each download thread held its whole body (twice, while it was copied) until its picture's
  turn came: bodies are spooled to a file (``fetch.Fetcher.get_file``), and a content
  encoding is inflated a step at a time.

Before: 40 thumbnails of 40 megapixels fetched over HTTP peaked at 650 to 830 MB (two:
240 MB); after: 410 to 420 MB whatever their number (the budget lets two be decoded at once).
"""

from __future__ import annotations

import gzip
import io
import json
import random
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

# One xdist worker for the module: its tests share one server of large pictures (pictures).
pytestmark = pytest.mark.xdist_group("test_image_memory")

PEAK = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def _peak_of(cmd: list[str], cache: Path) -> int:
    """Peak memory (KB) of *cmd* and its worker processes, run with this checkout first on the path."""
    env = {"XDG_CACHE_HOME": str(cache), "PATH": "/usr/bin:/bin",
           "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    out = subprocess.run([sys.executable, "-c", PEAK, *cmd], capture_output=True, text=True, env=env,
                         cwd=cache.parent, timeout=300, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def _peak_kb(tmp: Path, count: int) -> int:
    """Peak memory (KB) of ``epub`` of one day whose *count* papers each have a 6000x6000
    local thumbnail of its own."""
    from PIL import Image

    folder = tmp / f"n{count}"
    folder.mkdir()
    Image.new("RGB", (6000, 6000), (200, 10, 10)).save(folder / "p0.png")
    data = (folder / "p0.png").read_bytes()
    papers = []
    for i in range(count):
        (folder / f"p{i}.png").write_bytes(data)
        papers.append(f"### [P{i}](https://arxiv.org/abs/2403.{i:05d})\n\n![](p{i}.png)\n\n"
                      "Vote: 1\n\nAuthors: A\n\n- x\n")
    (folder / "2024-03-04.md").write_text("## Daily Papers (2024-03-04)\n\n" + "\n".join(papers), encoding="utf-8")
    cmd = [sys.executable, "-m", "exporter", "epub", str(folder / "2024-03-04.md"), "-o", str(folder / "out"),
           "-q", "-j", "1"]
    peak = _peak_of(cmd, folder / "cache")
    assert (folder / "out").is_dir() and any((folder / "out").glob("*.epub"))
    return peak


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc arenas")
def test_peak_memory_does_not_grow_with_the_number_of_thumbnails(tmp_path):
    two, ten = _peak_kb(tmp_path, 2), _peak_kb(tmp_path, 10)
    # 36 MP decoded is ~145 MB of pixels: ten of them kept in eight arenas were about 800 MB
    # more; with two arenas, 260 MB more (their PNG EXIF decoded outside the budget).  Two
    # pictures may be decoded at once, so two is already the budget's peak.
    assert ten < two + 100_000, (two, ten)


# -- thumbnails fetched over HTTP ---------------------------------------------------------------

SIDE = 6000  # 36 megapixels: 144 MB once decoded (Pillow keeps RGB in 4 bytes a pixel)


def _picture() -> bytes:
    from PIL import Image

    size = (SIDE, SIDE)
    buf = io.BytesIO()
    Image.merge("RGB", (Image.linear_gradient("L").resize(size), Image.linear_gradient("L").rotate(90).resize(size),
                        Image.radial_gradient("L").resize(size))).save(buf, "PNG", compress_level=1)
    return buf.getvalue()


@pytest.fixture(scope="module")
def pictures():
    """127.0.0.1: ``/N.png`` the large PNG (every third one sent as ``gzip, gzip``), N < 12;
    ``/body-KIND`` a 7 MB body that is no picture, sent as ``gzip, gzip``."""
    from hostile_three import Bodies

    def twice(data: bytes) -> tuple[dict[str, str], bytes]:
        return {"Content-Encoding": "gzip, gzip"}, gzip.compress(gzip.compress(data, mtime=0), mtime=0)

    server = Bodies()
    png = _picture()
    for i in range(12):
        server.bodies[f"/{i}.png"] = twice(png) if i % 3 == 2 else ({}, png)
    server.bodies["/body-zeros"] = twice(bytes(7_000_000))
    server.bodies["/body-noise"] = twice(bytes(range(256)) * 4 + random.Random(1).randbytes(7_000_000))
    yield server
    server.close()


def _peak_http_kb(tmp: Path, base: str, count: int) -> int:
    """Peak memory (KB) of ``epub`` of one day whose *count* papers each have a large thumbnail
    of its own URL, fetched from *base*."""
    folder = tmp / f"http{count}"
    folder.mkdir()
    papers = [f"### [P{i}](https://arxiv.org/abs/2403.{i:05d})\n\n![]({base}/{i}.png)\n\n"
              "Vote: 1\n\nAuthors: A\n\n- x\n" for i in range(count)]
    (folder / "2024-03-04.md").write_text("## Daily Papers (2024-03-04)\n\n" + "\n".join(papers), encoding="utf-8")
    peak = _peak_of([sys.executable, "-m", "exporter", "epub", str(folder / "2024-03-04.md"), "-o",
                     str(folder / "out"), "-q", "-j", "1", "--allow-private-hosts"], folder / "cache")
    [book] = (folder / "out").glob("*.epub")
    with zipfile.ZipFile(book) as z:  # the same picture is one file in the book, shown by each paper
        shown = sum(z.read(n).count(b'alt="Thumbnail: ') for n in z.namelist() if n.endswith(".xhtml"))
    assert shown == count, shown  # every thumbnail was fetched, decoded and embedded
    return peak


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_peak_memory_of_fetched_thumbnails_does_not_grow_with_their_number(tmp_path, pictures):
    # Two pictures can already be decoded at the same time (two cores), so two is the peak of
    # the pixel budget; twelve (eight download threads) must cost no more.  Before, twelve took
    # 250 to 600 MB more than two.
    two, twelve = _peak_http_kb(tmp_path, pictures.base, 2), _peak_http_kb(tmp_path, pictures.base, 12)
    assert twelve < two + 100_000, (two, twelve)


@pytest.mark.parametrize("kind", ["zeros", "noise"])
def test_a_large_body_is_spooled_and_inflated_a_step_at_a_time(tmp_path, pictures, kind):
    """A 7 MB body (two gzip layers: 7 MB of zeros is 8 kB on the wire) never is one object in
    memory: the Python allocations while it is fetched stay under 3 MB (the spool's first
    megabyte, kept in memory, and a few steps).  Held whole (and copied), it was over 14 MB."""
    import tracemalloc

    from exporter.images.fetch import Fetcher, FetchOptions

    with Fetcher(FetchOptions(timeout=30, max_bytes=8_000_000, concurrency=1, allow_private_hosts=True,
                              spool_dir=tmp_path)) as fetcher:
        fetcher.get_file(pictures.base + "/body-zeros").close()  # imports and the connection, first
        tracemalloc.start()
        try:
            with fetcher.get_file(pictures.base + f"/body-{kind}") as body:
                size = body.seek(0, 2)
                body.seek(0)
                head = body.read(1024)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert size == 7_000_000 + (1024 if kind == "noise" else 0)
    assert head == (bytes(range(256)) * 4 if kind == "noise" else bytes(1024))
    assert peak < 3_000_000, peak
