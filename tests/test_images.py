"""exporter.images against a misbehaving image server on 127.0.0.1.

Every failure case asserts its reason and that it cost bounded time; the
server never touches the internet.
"""

from __future__ import annotations

import contextlib
import shutil
import ssl
import subprocess
import hashlib
import http.server
import io
import json
import os
import socket
import struct
import threading
import time
import warnings
import zlib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from PIL import Image, ImageChops, ImageDraw

from exporter import __version__
from exporter.images import EmbeddedImage, ImageOptions, ImageResults, image_key, load_images
from exporter.model import Paper, SourceRef, Thumbnail, ThumbnailKind

TIMEOUT = 0.5  # short network timeout for the failure cases
SLACK = 1.0  # what a loaded 2-core machine may add to a bound


# --------------------------------------------------------------------------
# Test images


def _encode(im: Image.Image, fmt: str, **kw) -> bytes:
    out = io.BytesIO()
    im.save(out, format=fmt, **kw)
    return out.getvalue()


def _photo(w: int = 640, h: int = 360, seed: int = 1) -> Image.Image:
    """A photo-like picture: a gradient plus noise, so it has many colours."""
    im = Image.linear_gradient("L").resize((w, h)).convert("RGB")
    noise = Image.frombytes("RGB", (w, h), _prng_bytes(w * h * 3, seed))
    return Image.blend(im, noise, 0.3)


def _prng_bytes(n: int, seed: int) -> bytes:
    out = bytearray()
    counter = 0
    while len(out) < n:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:n])


GOOD_PNG = _encode(_photo(), "PNG")
GOOD_JPEG = _encode(_photo(seed=2), "JPEG", quality=90)
ALPHA_PNG = _encode(Image.new("RGBA", (300, 200), (255, 0, 0, 0)), "PNG")
BIG_PNG = _encode(Image.merge("RGB", (
    Image.linear_gradient("L").resize((2400, 1350)),
    Image.linear_gradient("L").rotate(90).resize((2400, 1350)),
    Image.new("L", (2400, 1350), 128))), "PNG")


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares width x height 8-bit grey pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * 4096, 9)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat)
            + _png_chunk(b"IEND", b""))


# --------------------------------------------------------------------------
# The server


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active = 0
        self.max_active = 0
        self.hits: dict[str, int] = {}
        self.headers: dict[str, dict[str, str]] = {}
        self.stop = threading.Event()


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: _State

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass

    def _send(self, body: bytes, ctype: str = "image/png", status: int = 200,
              length: int | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str, status: int = 302) -> None:
        self.send_response(status)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:  # noqa: C901  (one branch per misbehaviour)
        st = self.state
        path = urlsplit(self.path).path
        with st.lock:
            st.hits[path] = st.hits.get(path, 0) + 1
            st.headers[path] = {k.lower(): v for k, v in self.headers.items()}
            st.headers[path]["request-target"] = self.path
            st.active += 1
            st.max_active = max(st.max_active, st.active)
        try:
            self._route(path)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            with st.lock:
                st.active -= 1

    def _route(self, path: str) -> None:
        st = self.state
        if path in ("/good.png", "/count.png", "/other.png") or path.startswith("/n/"):
            self._send(GOOD_PNG)
        elif path == "/good.jpg":
            self._send(GOOD_JPEG, "image/jpeg")
        elif path == "/alpha.png":
            self._send(ALPHA_PNG)
        elif path == "/big.png":
            self._send(BIG_PNG)
        elif path == "/404":
            self._send(b"<html>not found</html>", "text/html", 404)
        elif path == "/500":
            self._send(b"oops", "text/plain", 500)
        elif path == "/hang":
            st.stop.wait(10)
        elif path == "/trickle":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(GOOD_PNG)))
            self.end_headers()
            for byte in GOOD_PNG:
                if st.stop.wait(0.05):
                    return
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
        elif path == "/trickle-headers":
            self.wfile.write(b"HTTP/1.1 200 OK\r\n")
            for i in range(1000):
                if st.stop.wait(0.05):
                    return
                self.wfile.write(b"X-Slow-%d: 1\r\n" % i)
                self.wfile.flush()
        elif path == "/truncated-body":
            self._send(GOOD_PNG[: len(GOOD_PNG) // 2], length=len(GOOD_PNG))
            self.close_connection = True
        elif path == "/truncated-image":
            self._send(GOOD_JPEG[: len(GOOD_JPEG) * 2 // 3], "image/jpeg")
        elif path == "/html":
            self._send(b"<!DOCTYPE html><html><body>Login</body></html>", "image/png")
        elif path == "/bomb.png":
            self._send(png_declaring(100_000, 100_000))
        elif path == "/bomb-mid.png":  # between Pillow's warning and error limits
            self._send(png_declaring(10_000, 10_000))
        elif path == "/huge":
            self._send(GOOD_PNG, length=1_073_741_824)
            self.close_connection = True
        elif path == "/chunked-big":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            block = b"\0" * 65536
            for _ in range(64):  # 4 MB, never ending from the client's view
                self.wfile.write(b"%x\r\n%s\r\n" % (len(block), block))
            self.wfile.write(b"0\r\n\r\n")
        elif path == "/loop":
            self._redirect("/loop")
        elif path.startswith("/chain/"):
            n = int(path.rsplit("/", 1)[1])
            self._redirect(f"/chain/{n + 1}")
        elif path == "/redirect-ok":
            self._redirect("/r2", 301)
        elif path == "/r2":
            self._redirect(f"http://127.0.0.1:{self.server.server_port}/good.png", 307)
        elif path == "/to-file":
            self._redirect("file:///etc/passwd")
        elif path == "/to-ftp":
            self._redirect("ftp://127.0.0.1/good.png")
        elif path.startswith("/to-scheme/"):  # data:, javascript:, mailto:, about:
            self._redirect(path.split("/", 2)[2].replace("%3A", ":") + ":x")
        elif path == "/set-cookie":
            self.send_response(302)
            self.send_header("Set-Cookie", "session=secret; Path=/")
            self.send_header("Location", "/check-cookie")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/check-cookie":
            self._send(GOOD_PNG)
        elif path.startswith("/slow/"):
            time.sleep(0.2)
            self._send(GOOD_PNG)
        else:
            self._send(b"no such test path", "text/plain", 404)


@contextlib.contextmanager
def image_server():
    state = _State()
    handler = type("Handler", (_Handler,), {"state": state})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    server.state = state  # type: ignore[attr-defined]
    server.base = f"http://127.0.0.1:{server.server_port}"  # type: ignore[attr-defined]
    try:
        yield server
    finally:
        state.stop.set()
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def server():
    with image_server() as srv:
        yield srv


# --------------------------------------------------------------------------
# Helpers


def make_paper(url: str, source: str = "digest.md", line: int = 3,
               kind: ThumbnailKind = ThumbnailKind.IMAGE) -> Paper:
    return Paper(title=f"Paper {line}", url=None, arxiv_id=None,
                 thumbnail=Thumbnail(kind, url), votes=None, authors=(), summary=(),
                 source=SourceRef(source, line))


def load_one(url: str, tmp_path: Path, **opts) -> tuple[ImageResults, float, Paper]:
    paper = make_paper(url)
    options = ImageOptions(cache_dir=tmp_path / "cache",
                           **{"timeout": TIMEOUT, "allow_private_hosts": True, **opts})
    start = time.monotonic()
    results = load_images([paper], options)
    return results, time.monotonic() - start, paper


def only_reason(results: ImageResults) -> str:
    assert len(results.failures) == 1, results.failures
    return results.failures[0].reason


def decode(image: EmbeddedImage) -> Image.Image:
    im = Image.open(io.BytesIO(image.data))
    im.load()
    return im


# --------------------------------------------------------------------------
# Good images


def test_png_and_jpeg_are_fetched_and_converted(server, tmp_path):
    papers = [make_paper(server.base + "/good.png", line=1),
              make_paper(server.base + "/good.jpg", line=2)]
    results = load_images(papers, ImageOptions(allow_private_hosts=True, cache_dir=tmp_path))
    assert results.failures == []
    assert results.counts == {"fetched": 2, "cached": 0, "local": 0, "failed": 0}
    for paper in papers:
        image = results.get(paper)
        assert image is not None and image.media_type == "image/jpeg"
        assert image.extension == ".jpg"
        im = decode(image)
        assert im.format == "JPEG" and im.mode == "RGB"
        assert (im.width, im.height) == (image.width, image.height) == (640, 360)


def test_large_image_is_scaled_to_fit_the_box(server, tmp_path):
    results, _, paper = load_one(server.base + "/big.png", tmp_path, max_width=600,
                                 max_height=800)
    image = results.get(paper)
    assert image is not None
    assert (image.width, image.height) == (600, 338)  # 2400x1350 scaled, ratio kept
    assert decode(image).size == (600, 338)
    assert image.media_type == "image/jpeg"  # scaling makes many colours


def test_transparency_is_flattened_on_white_and_flat_art_stays_png(server, tmp_path):
    results, _, paper = load_one(server.base + "/alpha.png", tmp_path)
    image = results.get(paper)
    assert image is not None and image.media_type == "image/png"
    im = decode(image).convert("RGB")
    assert im.getextrema() == ((255, 255), (255, 255), (255, 255))  # white, not black


def test_grayscale_output_is_mode_L(server, tmp_path):
    results, _, paper = load_one(server.base + "/good.png", tmp_path, grayscale=True)
    image = results.get(paper)
    assert image is not None and image.media_type == "image/jpeg"
    assert decode(image).mode == "L"


def test_redirects_within_the_limit_are_followed(server, tmp_path):
    results, _, paper = load_one(server.base + "/redirect-ok", tmp_path)
    assert results.failures == [] and results.get(paper) is not None


def test_user_agent_and_no_cookies(server, tmp_path):
    results, _, paper = load_one(server.base + "/set-cookie", tmp_path)
    assert results.get(paper) is not None
    headers = server.state.headers["/check-cookie"]
    assert headers["user-agent"] == f"digest-export/{__version__}"
    assert "cookie" not in headers


def test_non_ascii_path_is_percent_encoded(server, tmp_path):
    results, _, paper = load_one(server.base + "/n/그림 1.png?v=한", tmp_path)
    assert results.failures == [] and results.get(paper) is not None
    target = server.state.headers["/n/%EA%B7%B8%EB%A6%BC%201.png"]["request-target"]
    assert target == "/n/%EA%B7%B8%EB%A6%BC%201.png?v=%ED%95%9C"


def test_videos_and_missing_thumbnails_are_not_loaded(server, tmp_path):
    video = make_paper(server.base + "/n/video.mp4", kind=ThumbnailKind.VIDEO)
    bare = Paper(title="x", url=None, arxiv_id=None, thumbnail=None, votes=None,
                 authors=(), summary=(), source=SourceRef("d.md", 1))
    results = load_images([video, bare], ImageOptions(allow_private_hosts=True, cache_dir=tmp_path))
    assert results.get(video) is None and results.get(bare) is None
    assert results.failures == [] and results.counts["fetched"] == 0
    assert "/n/video.mp4" not in server.state.hits


def test_same_url_is_fetched_once_and_progress_counts_papers(server, tmp_path):
    url = server.base + "/n/dedup.png"
    papers = [make_paper(url, line=i) for i in range(1, 4)]
    steps: list[int] = []
    results = load_images(papers, ImageOptions(allow_private_hosts=True, cache_dir=tmp_path), progress=steps.append)
    assert server.state.hits["/n/dedup.png"] == 1
    assert all(results.get(p) is results.get(papers[0]) is not None for p in papers)
    assert sum(steps) == 3 and results.fetched == 1


def test_env_proxy_is_used_for_remote_hosts(server, tmp_path, monkeypatch):
    for name in ("no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", server.base)
    results, _, paper = load_one("http://images.example.invalid/n/proxied.png", tmp_path)
    assert results.failures == [] and results.get(paper) is not None
    target = server.state.headers["/n/proxied.png"]["request-target"]
    assert target == "http://images.example.invalid/n/proxied.png"


# --------------------------------------------------------------------------
# Network faults: each is a reason, in bounded time


# path, reason, options, retried next run (False: permanent, remembered)
FAULTS = [
    ("/404", "HTTP 404", {}, False),
    ("/500", "HTTP 500", {}, True),
    ("/hang", "timed out", {}, True),
    ("/trickle", "timed out", {}, True),
    ("/trickle-headers", "timed out", {}, True),
    ("/truncated-body", f"truncated response ({len(GOOD_PNG) // 2} of {len(GOOD_PNG)} bytes)", {}, True),
    ("/truncated-image", "truncated image", {}, False),
    ("/html", "not an image (HTML or XML)", {}, False),
    ("/bomb.png", "decompression bomb (100000x100000 pixels > 40000000)", {}, False),
    ("/huge", "too large (Content-Length 1073741824 > 8000000)", {}, False),
    ("/chunked-big", "too large (more than 1000000 bytes)", {"max_bytes": 1_000_000}, False),
    ("/loop", "too many redirects (redirect loop)", {}, False),
    ("/chain/0", "too many redirects (more than 5)", {}, False),
    ("/to-file", "redirect to non-http URL", {}, False),
    ("/to-ftp", "redirect to non-http URL", {}, False),
    ("/to-scheme/data", "redirect to non-http URL", {}, False),
    ("/to-scheme/javascript", "redirect to non-http URL", {}, False),
    ("/to-scheme/mailto", "redirect to non-http URL", {}, False),
    ("/to-scheme/about", "redirect to non-http URL", {}, False),
]


@pytest.mark.parametrize("location, target", [
    ("http:///ok", "http://ok/"), ("/x.png", "http://127.0.0.1:8/x.png"), ("http:ok", "http://127.0.0.1:8/a/ok"),
    ("//cdn.example.org/x", "http://cdn.example.org/x"), ("data:image/png,x", None), ("javascript:x", None),
    ("ftp://a/b", None), ("https://a b/", None)])
def test_a_redirect_goes_where_a_browser_would_go(location, target):
    """A redirect's Location is resolved by the one URL gate (the WHATWG parser), not as the HTTP
    library rebuilt it ("http:///ok" got the host of the hop before, and port 80)."""
    from exporter.gates.urls import redirect_target

    assert redirect_target("http://127.0.0.1:8/a/b.png", location) == target


@pytest.mark.parametrize("path, reason, opts, retry", FAULTS, ids=[f[0] for f in FAULTS])
def test_network_fault_is_a_reported_failure(server, tmp_path, path, reason, opts, retry):
    results, elapsed, paper = load_one(server.base + path, tmp_path, **opts)
    assert results.get(paper) is None
    assert [(f.source, f.url, f.reason, f.retry) for f in results.failures] == [
        (paper.source, server.base + path, reason, retry)]
    assert results.counts["failed"] == 1
    assert elapsed < TIMEOUT + SLACK, f"{path} took {elapsed:.2f} s"
    # Nothing that failed is cached as an image; a permanent failure is
    # remembered, a transient one is not.
    assert not any(p.is_file() for p in (tmp_path / "cache" / "converted").rglob("*"))
    remembered = [p for p in (tmp_path / "cache" / "failed").rglob("*") if p.is_file()]
    assert len(remembered) == (0 if retry else 1)


def test_total_deadline_cuts_a_trickling_server_even_with_a_long_read_timeout(server, tmp_path):
    # Each byte arrives well within any read timeout; only the total deadline stops it.
    results, elapsed, _ = load_one(server.base + "/trickle", tmp_path, timeout=1.0)
    assert only_reason(results) == "timed out"
    assert 0.9 < elapsed < 1.0 + SLACK


def test_connection_refused(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    results, elapsed, _ = load_one(f"http://127.0.0.1:{port}/x.png", tmp_path)
    assert only_reason(results) == "connection refused"
    assert elapsed < TIMEOUT + SLACK


@pytest.mark.parametrize("url, reason", [
    ("http://[::1/x.png", "invalid URL"),
    ("http:///x.png", "invalid URL"),
])
def test_malformed_urls_fail_without_raising(tmp_path, url, reason):
    results, _, _ = load_one(url, tmp_path)
    assert only_reason(results) == reason


def test_decompression_bomb_between_pillow_limits_fails_without_warnings(server, tmp_path):
    # 10000x10000 is above Pillow's warning limit but below its error limit:
    # Image.open() would only warn.  We must fail cleanly and warn nothing.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results, _, _ = load_one(server.base + "/bomb-mid.png", tmp_path)
    assert only_reason(results) == "decompression bomb (10000x10000 pixels > 40000000)"
    assert [w for w in caught if "DecompressionBomb" in w.category.__name__] == []


def test_real_compressed_bomb_is_refused_before_decoding(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "bomb.png").write_bytes(_encode(Image.new("L", (3000, 3000)), "PNG",
                                              compress_level=9))
    assert (folder / "bomb.png").stat().st_size < 50_000  # 9 Mpx from a few KB
    paper = make_paper("bomb.png", source=str(folder / "d.md"))
    results = load_images([paper], ImageOptions(allow_private_hosts=True, cache_dir=tmp_path / "c", max_pixels=1_000_000))
    assert only_reason(results) == "decompression bomb (3000x3000 pixels > 1000000)"


def test_failure_summary_groups_reasons(server, tmp_path):
    papers = [make_paper(server.base + p, line=i) for i, p in
              enumerate(["/404", "/n/ok.png", "/huge", "/hang", "/404?x=1"])]
    results = load_images(papers, ImageOptions(allow_private_hosts=True, cache_dir=tmp_path, timeout=TIMEOUT))
    assert results.counts == {"fetched": 1, "cached": 0, "local": 0, "failed": 4}
    assert results.failure_summary() == "2 HTTP 404, 1 timed out, 1 too large"
    assert [f.source.line for f in results.failures] == [0, 2, 3, 4]  # sorted by source
    assert results.failures[0].reason == "HTTP 404" and results.failures[0].retry is False


# --------------------------------------------------------------------------
# Concurrency


def test_downloads_run_concurrently(server, tmp_path):
    server.state.max_active = 0
    papers = [make_paper(f"{server.base}/slow/{i}.png", line=i) for i in range(16)]
    start = time.monotonic()
    results = load_images(papers, ImageOptions(allow_private_hosts=True, cache_dir=tmp_path))
    elapsed = time.monotonic() - start
    assert results.fetched == 16 and results.failures == []
    assert server.state.max_active >= 8
    # One at a time would take 3.2 s; eight at once about 0.4 s.  The bound
    # sits between the two with room for a slow, shared CI machine.
    assert elapsed < 2.4, f"16 x 200 ms took {elapsed:.2f} s"


# --------------------------------------------------------------------------
# Cache


def cache_files(cache: Path, kind: str) -> list[Path]:
    return sorted(p for p in (cache / kind).iterdir() if not p.name.startswith(".tmp-"))


def test_second_run_uses_the_cache_with_the_server_stopped(tmp_path):
    cache = tmp_path / "cache"
    with image_server() as srv:
        papers = [make_paper(srv.base + "/good.png", line=1),
                  make_paper(srv.base + "/good.jpg", line=2)]
        first = load_images(papers, ImageOptions(allow_private_hosts=True, cache_dir=cache, timeout=TIMEOUT))
    assert first.fetched == 2
    for offline in (False, True):
        second = load_images(papers, ImageOptions(allow_private_hosts=True, cache_dir=cache, timeout=TIMEOUT,
                                                  offline=offline))
        assert second.counts == {"fetched": 0, "cached": 2, "local": 0, "failed": 0}
        for p in papers:
            assert second.get(p) == first.get(p)
    # Other options are other cache entries: offline, they are misses.
    gray = load_images(papers, ImageOptions(allow_private_hosts=True, cache_dir=cache, grayscale=True, offline=True))
    assert gray.failed == 2 and gray.failure_summary() == "2 not in the cache"
    assert list(cache.rglob(".tmp-*")) == []


def test_offline_cache_miss_is_a_failure(server, tmp_path):
    results, elapsed, _ = load_one(server.base + "/n/offline.png", tmp_path, offline=True)
    assert only_reason(results) == "not in the cache (offline)"
    assert "/n/offline.png" not in server.state.hits


def _corrupt(path: Path, how: str) -> None:
    raw = path.read_bytes()
    if how == "flip":
        raw = raw[:-10] + bytes([raw[-10] ^ 0xFF]) + raw[-9:]
    elif how == "truncate":
        raw = raw[: len(raw) // 2]
    elif how == "append":
        raw += b"junk"
    else:
        raw = b""
    path.write_bytes(raw)


def _resealed(entry: Path, how: str) -> None:
    """The entry's payload replaced by other bytes, its size and checksum made to match them: only
    what the bytes are tells it from a good one."""
    import hashlib
    import io

    from PIL import Image

    from exporter.images.cache import CACHE_MAGIC as _CACHE_MAGIC

    raw = entry.read_bytes()[len(_CACHE_MAGIC):]
    length = int(raw[:8])
    fields = json.loads(raw[9:9 + length])
    buf = io.BytesIO()
    if how == "svg":
        payload = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    elif how == "other-type":  # a PNG under image/jpeg, a JPEG under image/png
        Image.new("RGB", (fields["width"], fields["height"])).save(
            buf, "PNG" if fields["media_type"] == "image/jpeg" else "JPEG")
        payload = buf.getvalue()
    elif how == "too-wide":  # header and payload agree, but wider than the converter's 1000 px box
        fields["width"] = 1001
        Image.new("RGB", (1001, fields["height"])).save(buf, fields["media_type"].split("/")[1].upper())
        payload = buf.getvalue()
    elif how == "comment":  # the declared size and type, with a text chunk or COM segment
        from PIL import PngImagePlugin

        info = PngImagePlugin.PngInfo()
        info.add_text("Comment", "\u202e evil \x1b[31m")
        Image.new("RGB", (fields["width"], fields["height"])).save(
            buf, fields["media_type"].split("/")[1].upper(), pnginfo=info, comment="\u202e evil".encode())
        payload = buf.getvalue()
    else:  # an image of the declared type, of another size
        Image.new("RGB", (fields["width"] + 7, fields["height"])).save(buf, fields["media_type"].split("/")[1].upper())
        payload = buf.getvalue()
    fields.update(size=len(payload), sha256=hashlib.sha256(payload).hexdigest())
    head = json.dumps(fields).encode()
    entry.write_bytes(b"%s%08d\n%s%s" % (_CACHE_MAGIC, len(head), head, payload))


@pytest.mark.parametrize("how", ["flip", "truncate", "empty", "header", "append", "svg", "other-type", "other-size",
                                 "too-wide", "comment"])
def test_corrupt_cache_entries_are_detected_and_refetched(server, tmp_path, how):
    url = f"{server.base}/n/corrupt-{how}.png"
    cache = tmp_path / "cache"
    first, _, paper = load_one(url, tmp_path)
    good = first.get(paper)
    assert good is not None and server.state.hits[urlsplit(url).path] == 1
    [entry] = cache_files(cache, "converted")
    if how == "header":  # checksum fine, metadata unusable
        from exporter.images.cache import CACHE_MAGIC as _CACHE_MAGIC

        raw = entry.read_bytes()[len(_CACHE_MAGIC):]
        length = int(raw[:8])
        fields = json.loads(raw[9:9 + length])
        fields["width"] = "wide"
        head = json.dumps(fields).encode()
        entry.write_bytes(b"%s%08d\n%s%s" % (_CACHE_MAGIC, len(head), head, raw[9 + length:]))
    elif how in ("svg", "other-type", "other-size", "too-wide", "comment"):
        _resealed(entry, how)
    else:
        _corrupt(entry, how)

    again, _, _ = load_one(url, tmp_path)
    assert again.get(paper) == good and again.fetched == 1 and again.cached == 0
    assert server.state.hits[urlsplit(url).path] == 2
    # The entry was replaced by a good one.
    third, _, _ = load_one(url, tmp_path, offline=True)
    assert third.get(paper) == good and third.cached == 1


def test_unwritable_cache_does_not_fail_the_run(server, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    paper = make_paper(server.base + "/n/nocache.png")
    results = load_images([paper], ImageOptions(allow_private_hosts=True, cache_dir=blocker / "cache"))
    assert results.failures == [] and results.get(paper) is not None


# --------------------------------------------------------------------------
# Local paths


@pytest.fixture
def digest_folder(tmp_path):
    folder = tmp_path / "digests"
    (folder / "images").mkdir(parents=True)
    (folder / "d.md").write_text("# digest\n")
    (folder / "images" / "pic.png").write_bytes(GOOD_PNG)
    (folder / "images" / "my pic.png").write_bytes(GOOD_PNG)
    (tmp_path / "secret.png").write_bytes(GOOD_PNG)
    (folder / "images" / "out.png").symlink_to(tmp_path / "secret.png")
    (folder / "images" / "in.png").symlink_to(folder / "images" / "pic.png")
    os.mkfifo(folder / "images" / "fifo.png")  # opening it would block forever
    return folder


@pytest.mark.parametrize("url, reason", [
    ("images/pic.png", None),
    ("./images/../images/pic.png", None),
    ("images/in.png", None),
    ("images/my%20pic.png", None),
    ("../secret.png", "outside the input folder"),
    ("images/../../secret.png", "outside the input folder"),
    ("images/out.png", "outside the input folder"),
    ("ABSOLUTE", "outside the input folder (absolute path)"),
    ("images/missing.png", "file not found"),
    ("images", "not a regular file"),
    ("images/fifo.png", "not a regular file"),
    ("javascript:alert(1)", "unsupported URL scheme (javascript)"),
    ("file:///etc/passwd", "unsupported URL scheme (file)"),
])
def test_local_paths_are_read_only_inside_the_input_folder(digest_folder, tmp_path, url, reason):
    if url == "ABSOLUTE":
        url = str(tmp_path / "secret.png")
    paper = make_paper(url, source=str(digest_folder / "d.md"))
    results = load_images([paper], ImageOptions(allow_private_hosts=True, cache_dir=tmp_path / "cache"))
    if reason is None:
        assert results.failures == [] and results.local == 1
        assert results.get(paper) is not None
    else:
        assert results.get(paper) is None
        assert [(f.source, f.url, f.reason, f.retry) for f in results.failures] == [(paper.source, url, reason, False)]


def test_symlinked_digest_does_not_open_its_targets_folder(tmp_path):
    archive, public = tmp_path / "archive", tmp_path / "public"
    archive.mkdir()
    public.mkdir()
    (archive / "d.md").write_text("# digest\n")
    (archive / "private.png").write_bytes(GOOD_PNG)
    (public / "latest.md").symlink_to(archive / "d.md")
    paper = make_paper("private.png", source=str(public / "latest.md"))
    results = load_images([paper], ImageOptions(allow_private_hosts=True, cache_dir=tmp_path / "cache"))
    assert only_reason(results) == "file not found"  # looked for in public/ only


def test_local_path_from_stdin_is_refused(tmp_path):
    results = load_images([make_paper("images/pic.png", source="<stdin>")],
                          ImageOptions(cache_dir=tmp_path))
    assert only_reason(results) == "local path without an input folder"


def test_same_relative_path_in_two_folders_is_two_images(tmp_path):
    for name, color in (("a", "red"), ("b", "blue")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "t.png").write_bytes(_encode(Image.new("RGB", (8, 8), color), "PNG"))
    pa = make_paper("t.png", source=str(tmp_path / "a" / "d.md"))
    pb = make_paper("t.png", source=str(tmp_path / "b" / "d.md"))
    results = load_images([pa, pb], ImageOptions(allow_private_hosts=True, cache_dir=tmp_path / "cache"))
    assert decode(results.get(pa)).convert("RGB").getpixel((0, 0)) == (255, 0, 0)
    assert decode(results.get(pb)).convert("RGB").getpixel((0, 0)) == (0, 0, 255)


# --------------------------------------------------------------------------
# Conversion details


def test_output_is_deterministic_and_has_no_metadata(tmp_path):
    exif = Image.Exif()
    exif[0x0132] = "2024:03:04 10:00:00"  # DateTime
    exif[0x010F] = "CameraMaker"
    photo = _encode(_photo(seed=5), "JPEG", quality=95, exif=exif.tobytes(),
                    icc_profile=b"\0" * 128, comment=b"a comment")
    (tmp_path / "photo.jpg").write_bytes(photo)
    outputs = []
    for run in range(2):
        paper = make_paper("photo.jpg", source=str(tmp_path / "d.md"))
        results = load_images([paper], ImageOptions(allow_private_hosts=True, cache_dir=tmp_path / f"cache{run}"))
        outputs.append(results.get(paper).data)
    assert outputs[0] == outputs[1]
    for marker in (b"Exif", b"CameraMaker", b"2024:03:04", b"ICC_PROFILE", b"a comment"):
        assert marker not in outputs[0]


def test_exif_orientation_is_applied(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    (tmp_path / "r.jpg").write_bytes(_encode(_photo(200, 100), "JPEG", exif=exif.tobytes()))
    paper = make_paper("r.jpg", source=str(tmp_path / "d.md"))
    image = load_images([paper], ImageOptions(allow_private_hosts=True, cache_dir=tmp_path / "c")).get(paper)
    assert (image.width, image.height) == (100, 200)


def test_line_art_is_a_lossless_palette_png(tmp_path):
    art = Image.new("RGB", (400, 300), "white")
    draw = ImageDraw.Draw(art)
    draw.line((0, 0, 400, 300), fill="red", width=3)
    draw.text((10, 10), "diagram", fill="blue")
    (tmp_path / "art.png").write_bytes(_encode(art, "PNG"))
    paper = make_paper("art.png", source=str(tmp_path / "d.md"))
    image = load_images([paper], ImageOptions(allow_private_hosts=True, cache_dir=tmp_path / "c")).get(paper)
    assert image.media_type == "image/png" and image.extension == ".png"
    im = decode(image)
    assert im.mode == "P"
    assert ImageChops.difference(im.convert("RGB"), art).getbbox() is None


def test_cache_writes_are_atomic_files_with_checksums(server, tmp_path):
    results, _, _ = load_one(server.base + "/n/atomic.png", tmp_path)
    cache = tmp_path / "cache"
    [entry] = cache_files(cache, "converted")
    paper = make_paper(server.base + "/n/atomic.png")
    data = results.get(paper).data
    raw = entry.read_bytes()
    assert raw.endswith(data)
    header = raw[:-len(data)]
    assert hashlib.sha256(data).hexdigest().encode() in header
    assert [p for p in cache.rglob("*") if p.name.startswith(".tmp-")] == []
    assert os.stat(entry).st_size == len(raw)


def test_images_an_earlier_book_of_the_period_loaded_are_not_read_again(server, tmp_path):
    """The books of one period show the same papers (the whole week's book, each selection's):
    what the first loaded is handed to the next (load_images' *known*), not read from the cache
    again; the results are those a cache hit gives."""
    paper = make_paper(server.base + "/n/period.png")
    options = ImageOptions(cache_dir=tmp_path / "cache", timeout=TIMEOUT, allow_private_hosts=True)
    known: dict = {}
    first = load_images([paper], options, known=known)
    assert first.get(paper) is not None and list(known) == [(options, image_key(paper))]
    # Fetched, it carries the digest its cache entry was written with, as a cached one does.
    assert first.get(paper).sha256 == hashlib.sha256(first.get(paper).data).hexdigest()
    shutil.rmtree(tmp_path / "cache")  # not read: the picture comes from *known*
    again = load_images([paper], options, known=known)
    assert again.get(paper) is first.get(paper)
    assert (again.cached, again.fetched, again.failed, again.failures) == (1, 0, 0, [])
    assert not (tmp_path / "cache").exists()
    # Other options (grayscale) are other pictures: loaded, not taken from *known*.
    gray = ImageOptions(cache_dir=tmp_path / "cache", timeout=TIMEOUT, allow_private_hosts=True, grayscale=True)
    assert load_images([paper], gray, known=known).get(paper) is not first.get(paper)
    # A picture read from the cache carries the digest the cache checked it by: the book names
    # it by that, without hashing it again.
    load_images([paper], options)
    cached = load_images([paper], options)
    assert cached.cached == 1
    image = cached.get(paper)
    assert image.sha256 == image.digest() == hashlib.sha256(image.data).hexdigest()


def test_stale_temp_files_from_a_killed_run_are_removed(server, tmp_path):
    load_one(server.base + "/n/stale.png", tmp_path)
    folder = tmp_path / "cache" / "converted"
    old, fresh = folder / ".tmp-old", folder / ".tmp-fresh"  # fresh: maybe another run's
    old.write_bytes(b"half")
    fresh.write_bytes(b"half")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    load_one(server.base + "/n/stale.png", tmp_path)
    # Swept once a minute per process: this process's first load already swept the folder.
    assert old.exists()
    from exporter.images import cache as cache_module

    cache_module._SWEPT.clear()  # the next run, a process of its own
    load_one(server.base + "/n/stale.png", tmp_path)
    assert not old.exists() and fresh.exists()


# --------------------------------------------------------------------------
# HTTPS


@pytest.fixture(scope="module")
def https_server(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("openssl not available to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key),
                    "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    with image_server() as srv:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        srv.socket = context.wrap_socket(srv.socket, server_side=True)
        srv.base = srv.base.replace("http:", "https:")
        srv.cert = cert
        yield srv


def test_https_certificates_are_verified(https_server, tmp_path):
    results, elapsed, _ = load_one(https_server.base + "/good.png", tmp_path)
    reason = only_reason(results)
    assert reason.startswith("TLS certificate error"), reason
    assert elapsed < TIMEOUT + SLACK


def test_https_fetch_with_a_trusted_certificate(https_server, tmp_path, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(https_server.cert))
    results, _, paper = load_one(https_server.base + "/good.png", tmp_path)
    assert results.failures == [] and results.get(paper) is not None


@pytest.mark.parametrize("fmt", ["WEBP", "PNG", "GIF", "JPEG"])
def test_a_picture_past_pillows_own_limit_is_a_decompression_bomb_in_every_format(tmp_path, fmt):
    # 16383 x 16383 is past twice Image.MAX_IMAGE_PIXELS: Pillow's WebP plugin refuses it
    # itself when it opens (DecompressionBombError), before the pixel cap is looked at.
    from exporter.images.convert import Failure, _open_image

    side = 16383
    buf = io.BytesIO()
    if fmt == "WEBP":
        Image.new("L", (side, side)).save(buf, "WEBP", lossless=True, quality=0)
    else:  # a small picture whose header says 16383 x 16383 is enough: the size is read first
        Image.new("L", (8, 8)).save(buf, fmt)
    data = buf.getvalue()
    if fmt == "PNG":  # IHDR's width and height, and its CRC again
        import zlib

        ihdr = side.to_bytes(4, "big") * 2 + data[24:29]
        data = data[:16] + ihdr + zlib.crc32(b"IHDR" + ihdr).to_bytes(4, "big") + data[33:]
    elif fmt == "GIF":
        data = data[:6] + side.to_bytes(2, "little") * 2 + data[10:]
    elif fmt == "JPEG":
        at = data.index(b"\xff\xc0") + 5
        data = data[:at] + side.to_bytes(2, "big") * 2 + data[at + 4:]
    with pytest.raises(Failure) as caught:
        _open_image(data, 40_000_000)
    assert str(caught.value).startswith("decompression bomb (") and "40000000" in str(caught.value), caught.value


@pytest.mark.parametrize("grayscale", [False, True])
def test_what_the_converter_writes_passes_its_own_cache_check_and_nothing_more(grayscale):
    # The cache refetches an entry check_written refuses: a false refusal would refetch every
    # thumbnail on every run, a missed one would put a comment or EXIF into a book.
    from exporter.images.convert import check_written, convert
    from exporter.output import marked

    opts = ImageOptions(grayscale=grayscale)
    for source in (GOOD_PNG, GOOD_JPEG, ALPHA_PNG, BIG_PNG, _encode(Image.new("P", (40, 30)), "GIF")):
        image = convert(source, opts)
        check_written(image.data, image.media_type, image.width, image.height, opts)
        with pytest.raises(ValueError):  # the program's own mark is no part of a thumbnail
            check_written(marked(image.data, image.media_type), image.media_type, image.width, image.height, opts)
        with pytest.raises(ValueError):
            check_written(image.data + b"\0", image.media_type, image.width, image.height, opts)
    with pytest.raises(ValueError):
        check_written(image.data, image.media_type, 1000, 40_001, ImageOptions(max_height=50_000))


@pytest.mark.parametrize("reason", ["HTTP 404 \u202eevil", "HTTP 404 \u2066x", "gone \ufdd0", "gone \U0010ffff",
                                    "gone \x1b[31m", "two\nlines", "HTTP 404\u2028in/2024-03-04.md:1: error: forged",
                                    "HTTP 404\u2029x", "HTTP  404", " HTTP 404"])
def test_a_remembered_failure_whose_reason_holds_what_no_output_shows_is_damage(tmp_path, reason):
    # The reason is echoed in every later run's warnings and summary: a bidi control there
    # reorders the terminal line, so the entry is taken as damaged and the URL asked again.
    from exporter.images.cache import Cache

    cache = Cache(tmp_path)
    url = "https://example.org/gone.png"
    cache.put_failure(url, "HTTP 404", time.time() + 3600)
    assert cache.get_failure(url)[0] == "HTTP 404"
    [entry] = cache_files(tmp_path, "failed")
    fields = json.loads(entry.read_bytes())
    entry.write_text(json.dumps({**fields, "reason": reason}))
    assert cache.get_failure(url) is None and not entry.exists()
    cache.put_failure(url, reason, time.time() + 3600)  # what the program writes, it reads back
    again = cache.get_failure(url)
    assert again is None or again[0] == again[0].strip() != ""
    assert not list(entry.parent.iterdir()) or again is not None


@pytest.mark.parametrize("reason, kept", [
    ("HTTP 404", True), ("HTTP 410", True), ("not an image (HTML or XML)", True), ("truncated image", True),
    ("too large (Content-Length 99999999 > 5000000)", True), ("invalid URL", True),
    ("timed out", False), ("HTTP 500", False), ("HTTP 429", False), ("HTTP 408", False), ("connection refused", False),
    ("blocked: private address (evil.example is 10.0.0.1)", False), ("HTTP 4040", False),
    ("HTTP 404 in/2024-03-04.md:1: error: forged", False)])
def test_only_a_failure_the_program_remembers_is_taken_from_the_cache(tmp_path, reason, kept):
    """The program remembers permanent failures only (a client error, a URL refused, no image);
    an entry saying a time-out, a server error or a refusal by policy, which are tried again each
    run, was not written by it: the thumbnail is fetched again, and no words of the entry's are
    shown."""
    from exporter.images.cache import Cache

    cache = Cache(tmp_path)
    url = "https://example.org/a.png"
    cache.put_failure(url, "HTTP 404", time.time() + 3600)
    [entry] = cache_files(tmp_path, "failed")
    entry.write_text(json.dumps({**json.loads(entry.read_bytes()), "reason": reason}))
    assert (cache.get_failure(url) is not None) == kept
    assert entry.exists() == kept
