"""Fetch, cache and convert paper thumbnails for embedding in books.

This is the only module of digest-export that touches the network.  It is
written for thumbnails named by text that a bot wrote and served by someone
else's server, so every step has a bound and every failure is data:

* **Fetching** uses :mod:`http.client` directly (not ``urllib.request``) so
  that we own the socket: a per-operation timeout, a *total* deadline per
  image enforced by a watchdog that shuts the socket down (a server trickling
  one byte a second, in the headers or in the body, cannot hold a worker past
  ``timeout``), a byte cap checked against ``Content-Length`` up front and
  again while reading, at most :data:`MAX_REDIRECTS` redirects and only to
  http(s) (``urllib``'s default redirect handler also follows ``ftp://``), no
  cookies, no ``file:``/``data:``/``ftp:`` handlers at all.  Proxies from the
  environment (``https_proxy``, ``no_proxy``...) are honoured, except for
  loopback hosts.
* **Decoding** accepts only PNG, JPEG, GIF, WebP and BMP (no EPS, which runs
  Ghostscript; no TIFF), checks the pixel count *before* any pixel is decoded
  (a decompression bomb is a failure, not a ``MemoryError`` or a warning), and
  refuses truncated data (Pillow's ``LOAD_TRUNCATED_IMAGES`` stays off).
* **Converting**: EXIF orientation applied, scaled down (never up) with
  Lanczos to fit ``max_width`` x ``max_height``, transparency flattened on
  white (e-ink pages are white; a transparent PNG on a night-mode reader would
  show black line art on black), optionally grayscale (``L``).  The output is
  a baseline JPEG, except that an image with at most 256 distinct colours
  (64 grey levels for a grey image) after scaling (diagrams, line art and
  icons that did not need scaling) is a palette (or grey) PNG: lossless,
  usually smaller, and without JPEG ringing around lines.  No metadata
  (EXIF, ICC, text chunks, timestamps) is written, so the same input bytes
  and options always give the same output bytes (for a given Pillow version;
  the cache keeps what an earlier Pillow produced, so a book does not change
  because Pillow was upgraded).
* **Caching** (``cache_dir``): ``converted/<sha256(options + url)>`` holds
  the converted image, as one file: a magic prefix, a JSON header (url,
  size, sha256, media type, width, height), then the payload, written
  to a temporary name in the same folder and ``os.replace``-d into place.  One
  file per entry (rather than data + sidecar) keeps an entry atomic: a killed
  run can never pair new data with an old checksum.  An entry whose magic,
  header, size or checksum does not match is deleted and fetched again.  A
  warm run reads only these small files: no network and no decoding.  The
  downloaded originals are not kept: a year of thumbnails is ~2-3 GB of PNG
  against ~0.5 GB converted, and options rarely change (changing
  ``--grayscale`` or the size downloads once more).  Only images that
  converted are cached, never an error page.
* **Parallelism**: one thread pool (``concurrency`` workers, default 8) runs
  fetch + decode + scale + encode per unique image; cache hits are read in
  a few large batches.  Threads are enough (measured on 2 cores with
  ``benchmarks/bench_images.py``, quiet machine): PNG decoding and Lanczos
  resampling release the GIL, Pillow's JPEG encoder holds it (~2.2 of 8 ms
  per 800x450 image), and 2-8 threads convert 1.5x faster than one at
  155-160% CPU.  A 2-process pool reached 1.6-1.7x on conversion alone but
  not in the whole pipeline (each image is pickled both ways), needs ~0.2 s
  to start, and would re-import ``__main__`` in its workers, so there is
  none.

Known limit: name resolution (``getaddrinfo``) cannot be interrupted, so a
hanging DNS server can hold a worker longer than ``timeout``.
"""

from __future__ import annotations

import base64
import collections
import functools
import hashlib
import http.client
import io
import json
import os
import re
import socket
import ssl
import stat
import struct
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .model import Diagnostic, Paper, Severity, SourceRef, ThumbnailKind

MAX_REDIRECTS = 5
USER_AGENT = f"digest-export/{__version__}"

# Bump when the conversion changes, so cached converted images are redone.
_CONVERT_VERSION = 1
# An entry: magic, 8-digit header length, newline, JSON header, payload.  The
# fixed-size prefix lets a reader read the payload straight into its own
# bytes object (slicing a whole-file read costs as much as the checksum).
_CACHE_MAGIC = b"digest-export-cache 2 "
_CHUNK = 64 * 1024
_REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
# Formats we decode.  Anything else is "not an image": fewer decoders, fewer
# CVEs, and no EPS (Pillow shells out to Ghostscript for it).
_FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "BMP")
_FLAT_GREY_LEVELS = 64
_URL_SAFE = "/%:@!$&'()*+,;=-._~"
_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")


@dataclass(frozen=True)
class ImageOptions:
    """How thumbnails are fetched and converted.

    ``timeout`` bounds each network operation *and* the whole fetch of one
    image (connect, redirects, headers and body).  ``offline`` reads the
    cache only.  ``cache_dir=None`` means the user's cache folder
    (``platformdirs.user_cache_dir("digest-export")/thumbnails``).
    """

    cache_dir: Path | None = None
    grayscale: bool = False
    timeout: float = 10.0
    max_bytes: int = 8_000_000
    max_pixels: int = 40_000_000
    max_width: int = 1000
    max_height: int = 1000
    concurrency: int = 8
    jpeg_quality: int = 80
    offline: bool = False

    def resolved_cache_dir(self) -> Path:
        if self.cache_dir is not None:
            return Path(self.cache_dir)
        import platformdirs

        return Path(platformdirs.user_cache_dir("digest-export")) / "thumbnails"


@dataclass(frozen=True)
class EmbeddedImage:
    """A converted thumbnail ready to be put into a book."""

    data: bytes
    media_type: str  # "image/jpeg" or "image/png"
    width: int
    height: int

    @property
    def extension(self) -> str:
        """File-name extension with the dot: ``.jpg`` or ``.png``."""
        return ".png" if self.media_type == "image/png" else ".jpg"


@dataclass
class ImageResults:
    """What :func:`load_images` found.

    ``failures`` has one ``(source, url, reason)`` per *paper* whose image was
    not embedded, sorted by source.  The counts are per *unique* image (a URL
    shared by several papers is loaded once): ``fetched`` from the network,
    ``cached`` from the disk cache, ``local`` read from the input folder,
    ``failed`` not loaded.
    """

    images: dict[str, EmbeddedImage] = field(default_factory=dict)
    failures: list[tuple[SourceRef, str, str]] = field(default_factory=list)
    fetched: int = 0
    cached: int = 0
    local: int = 0
    failed: int = 0
    reasons: collections.Counter[str] = field(default_factory=collections.Counter)

    def get(self, paper: Paper) -> EmbeddedImage | None:
        """The embedded image for *paper*'s thumbnail, or ``None``."""
        key = _image_key(paper)
        return None if key is None else self.images.get(key)

    @property
    def counts(self) -> dict[str, int]:
        return {"fetched": self.fetched, "cached": self.cached,
                "local": self.local, "failed": self.failed}

    def diagnostics(self) -> list[Diagnostic]:
        """One warning per paper whose thumbnail was left out, for the report."""
        return [Diagnostic(source, Severity.WARNING, f"thumbnail {url} not embedded: {reason}")
                for source, url, reason in self.failures]

    def failure_summary(self) -> str:
        """Failed images grouped by kind of reason: ``"2 HTTP 404, 1 timed out"``."""
        return ", ".join(f"{n} {reason}" for reason, n in
                         sorted(self.reasons.items(), key=lambda kv: (-kv[1], kv[0])))


class _Failure(Exception):
    """One image could not be loaded; ``str()`` is the short reason."""


# --------------------------------------------------------------------------
# Public entry point


def load_images(
    papers: Iterable[Paper],
    options: ImageOptions,
    progress: Callable[[int], None] | None = None,
) -> ImageResults:
    """Load the IMAGE thumbnails of *papers*; never raises for a bad image.

    *progress*, if given, is called from the calling thread with the number
    of papers whose thumbnail was just resolved (loaded or failed); the calls
    add up to the number of papers with an IMAGE thumbnail.

    The result holds every image in memory (~60 kB each): for a long archive
    call it once per book with that book's papers, so memory stays bounded
    by one book; the cache makes repeated URLs across books free.
    """
    jobs: dict[str, list[Paper]] = {}
    for paper in papers:
        key = _image_key(paper)
        if key is not None:
            jobs.setdefault(key, []).append(paper)

    results = ImageResults()
    if not jobs:
        return results
    loader = _Loader(options)
    loader.cache.remove_stale_temp_files()

    def done(key: str, outcome: tuple[EmbeddedImage, str] | _Failure) -> None:
        group = jobs[key]
        if isinstance(outcome, _Failure):
            reason = str(outcome)
            results.failed += 1
            results.reasons[reason.split(" (", 1)[0]] += 1
            for paper in group:
                assert paper.thumbnail is not None
                results.failures.append((paper.source, paper.thumbnail.url, reason))
        else:
            image, origin = outcome
            results.images[key] = image
            setattr(results, origin, getattr(results, origin) + 1)
        if progress is not None:
            progress(len(group))

    remote = [key for key in jobs if not key.startswith("local:")]
    with ThreadPoolExecutor(max_workers=max(1, options.concurrency),
                            thread_name_prefix="digest-export-image") as pool:
        try:
            # 1. Cache hits, in a few big batches: a warm run is thousands of
            #    small reads, where one task per image costs more in thread
            #    hand-offs than the read itself.
            batches = _split(remote, min(options.concurrency, os.cpu_count() or 1) * 4)
            misses: list[str] = []
            for future in as_completed([pool.submit(loader.lookup_many, b) for b in batches]):
                for key, image in future.result():
                    if image is None:
                        misses.append(key)
                    else:
                        done(key, (image, "cached"))
            # 2. Everything else, one task per image: network-bound, and the
            #    conversions overlap (Pillow releases the GIL).
            remote_set = set(remote)
            todo = misses + [key for key in jobs if key not in remote_set]
            futures = {pool.submit(loader.load, jobs[key][0]): key for key in todo}
            for future in as_completed(futures):
                try:
                    outcome: tuple[EmbeddedImage, str] | _Failure = future.result()
                except _Failure as failure:
                    outcome = failure
                done(futures[future], outcome)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    results.failures.sort(key=lambda f: (f[0], f[1]))
    return results


def _split(items: list[str], parts: int) -> list[list[str]]:
    size = max(1, -(-len(items) // max(1, parts)))
    return [items[i:i + size] for i in range(0, len(items), size)]


def _image_key(paper: Paper) -> str | None:
    """Dedup key: the URL for remote images, folder + path for local ones."""
    thumb = paper.thumbnail
    if thumb is None or thumb.kind is not ThumbnailKind.IMAGE:
        return None
    if thumb.is_remote:
        return thumb.url
    folder = os.path.dirname(os.path.abspath(paper.source.path))
    return f"local:{folder}\0{thumb.url}"


# --------------------------------------------------------------------------
# One image: cache, network or local file, then conversion


class _Loader:
    def __init__(self, options: ImageOptions):
        self.options = options
        self.cache = _Cache(options.resolved_cache_dir())
        self.options_key = "|".join(map(str, (
            _CONVERT_VERSION, options.grayscale, options.max_width,
            options.max_height, options.jpeg_quality, options.max_pixels)))

    def lookup_many(self, urls: list[str]) -> list[tuple[str, EmbeddedImage | None]]:
        """Cached images for remote *urls* (``None``: not cached or corrupt)."""
        found: list[tuple[str, EmbeddedImage | None]] = []
        for url in urls:
            try:
                found.append((url, self.cache.get_converted(url, self.options_key)))
            except Exception:  # whatever is wrong with the cache, the network can fix
                found.append((url, None))
        return found

    @functools.cached_property
    def ssl_context(self) -> ssl.SSLContext:
        # Loading the CA store costs ~50 ms: only when something is fetched.
        return ssl.create_default_context()

    def load(self, paper: Paper) -> tuple[EmbeddedImage, str]:
        """Load one image that :meth:`lookup_many` did not find.

        Returns the image and where it came from ("fetched" or "local").
        """
        try:
            return self._load(paper)
        except _Failure:
            raise
        except MemoryError:
            raise _Failure("out of memory") from None
        except Exception as err:  # a bug or an unforeseen decoder error: report, don't crash
            raise _Failure(f"unexpected error ({type(err).__name__}: {err})") from err

    def _load(self, paper: Paper) -> tuple[EmbeddedImage, str]:
        assert paper.thumbnail is not None
        url = paper.thumbnail.url
        opts = self.options
        if not paper.thumbnail.is_remote:
            data = _read_local(paper.source.path, url, opts.max_bytes)
            key = "sha256:" + hashlib.sha256(data).hexdigest()
            cached = self.cache.get_converted(key, self.options_key)
            if cached is not None:
                return cached, "local"
            image = _convert(data, opts)
            self.cache.put_converted(key, self.options_key, image)
            return image, "local"

        if opts.offline:
            raise _Failure("not in the cache (offline)")
        image = _convert(_fetch(url, opts, self.ssl_context), opts)
        # Only what converted is cached: an HTML error page is not kept.
        self.cache.put_converted(url, self.options_key, image)
        return image, "fetched"


def _read_local(source_path: str, url: str, max_bytes: int) -> bytes:
    """Read a thumbnail path relative to the digest file, inside its folder only."""
    if _SCHEME_RE.match(url):
        raise _Failure(f"unsupported URL scheme ({url.split(':', 1)[0].lower()})")
    if url.startswith(("/", "\\")) or os.path.isabs(url):
        raise _Failure("outside the input folder (absolute path)")
    if source_path.startswith("<"):  # <stdin>
        raise _Failure("local path without an input folder")
    path = url.split("#", 1)[0].split("?", 1)[0]
    try:
        # The folder the digest was named in (a symlinked digest file does
        # not open up its target's folder), itself resolved for the check.
        folder = Path(os.path.abspath(source_path)).parent.resolve()
        candidates = [path]
        unquoted = urllib.parse.unquote(path)
        if unquoted != path:  # a Markdown destination may be percent-encoded
            candidates.append(unquoted)
        for candidate in candidates:
            # resolve() follows every symlink, so a link pointing out of the
            # folder is caught by the containment check below.
            target = (folder / candidate).resolve()
            if not target.is_relative_to(folder):
                raise _Failure("outside the input folder")
            if target.exists():
                break
        else:
            raise _Failure("file not found")
        if not stat.S_ISREG(target.stat().st_mode):
            raise _Failure("not a regular file")
        with open(target, "rb") as fh:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode):  # checked again: it may have been swapped
                raise _Failure("not a regular file")
            if st.st_size > max_bytes:
                raise _Failure(f"too large ({st.st_size} bytes > {max_bytes})")
            data = fh.read(max_bytes + 1)
    except _Failure:
        raise
    except OSError as err:
        raise _Failure(f"cannot read file ({err.strerror or type(err).__name__})") from err
    except ValueError as err:  # e.g. a NUL in the path
        raise _Failure("invalid path") from err
    if len(data) > max_bytes:
        raise _Failure(f"too large (more than {max_bytes} bytes)")
    return data


# --------------------------------------------------------------------------
# HTTP


def _fetch(url: str, opts: ImageOptions, context: ssl.SSLContext) -> bytes:
    """GET *url* following at most MAX_REDIRECTS http(s) redirects, within opts.timeout."""
    deadline = time.monotonic() + opts.timeout
    seen = {url}
    redirects = 0
    while True:
        try:
            parts = urllib.parse.urlsplit(url)
        except ValueError as err:
            raise _Failure("invalid URL") from err
        if parts.scheme.lower() not in ("http", "https"):
            raise _Failure("redirect to non-http URL" if redirects else "unsupported URL scheme")
        status, location, data = _request(parts, opts, context, deadline)
        if status in _REDIRECT_CODES:
            if not location:
                raise _Failure(f"HTTP {status} without Location")
            url = urllib.parse.urljoin(url, location.strip())
            redirects += 1
            if url in seen:
                raise _Failure("too many redirects (redirect loop)")
            if redirects > MAX_REDIRECTS:
                raise _Failure(f"too many redirects (more than {MAX_REDIRECTS})")
            seen.add(url)
            continue
        if status != 200:
            raise _Failure(f"HTTP {status}")
        return data


def _request(
    parts: urllib.parse.SplitResult,
    opts: ImageOptions,
    context: ssl.SSLContext,
    deadline: float,
) -> tuple[int, str | None, bytes]:
    """One GET; returns (status, Location, body).  The body is read only for 200."""
    try:
        host, port = parts.hostname, parts.port
    except ValueError as err:
        raise _Failure("invalid URL") from err
    if not host:
        raise _Failure("invalid URL")
    https = parts.scheme.lower() == "https"
    try:
        # Hosts and paths as a browser sends them: IDNA host, percent-encoded
        # non-ASCII path (a Korean file name is fine; http.client wants ASCII).
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError as err:
        raise _Failure("invalid URL") from err
    path = urllib.parse.quote(parts.path or "/", safe=_URL_SAFE)
    query = urllib.parse.quote(parts.query, safe=_URL_SAFE + "?")
    target = urllib.parse.urlunsplit(("", "", path, query, ""))
    authority = f"[{host}]" if ":" in host else host
    if port is not None:
        authority += f":{port}"
    headers = {
        "Host": authority,
        "User-Agent": USER_AGENT,
        "Accept": "image/png,image/jpeg,image/webp,image/gif,image/*;q=0.8",
        "Accept-Encoding": "identity",
        "Connection": "close",
    }

    def remaining() -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise _Failure("timed out")
        return min(left, opts.timeout)

    proxy = _proxy_for(parts.scheme.lower(), host)
    conn: http.client.HTTPConnection
    if proxy is None:
        cls = http.client.HTTPSConnection if https else http.client.HTTPConnection
        kwargs = {"context": context} if https else {}
        conn = cls(host, port, timeout=remaining(), **kwargs)
    else:
        proxy_host, proxy_port, proxy_auth = proxy
        if https:
            conn = http.client.HTTPSConnection(proxy_host, proxy_port, timeout=remaining(),
                                               context=context)
            tunnel_headers = {"Proxy-Authorization": proxy_auth} if proxy_auth else None
            conn.set_tunnel(host, port, headers=tunnel_headers)
        else:
            conn = http.client.HTTPConnection(proxy_host, proxy_port, timeout=remaining())
            target = urllib.parse.urlunsplit((parts.scheme, authority, path, query, ""))
            if proxy_auth:
                headers["Proxy-Authorization"] = proxy_auth

    # The watchdog enforces the total deadline even while http.client sits in
    # a loop of short reads (headers trickled one byte at a time never trip
    # the per-recv socket timeout).
    fired = threading.Event()

    def kill() -> None:
        fired.set()
        sock = conn.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    watchdog = threading.Timer(max(0.0, deadline - time.monotonic()), kill)
    watchdog.daemon = True
    watchdog.start()
    try:
        conn.request("GET", target, headers=headers)
        conn.sock.settimeout(remaining())
        resp = conn.getresponse()
        status = resp.status
        if status in _REDIRECT_CODES:
            return status, resp.getheader("Location"), b""
        if status != 200:
            return status, None, b""
        length = resp.getheader("Content-Length")
        expected = int(length) if length is not None and length.strip().isdigit() else None
        if expected is not None and expected > opts.max_bytes:
            raise _Failure(f"too large (Content-Length {expected} > {opts.max_bytes})")
        body = bytearray()
        while True:
            conn.sock.settimeout(remaining())
            chunk = resp.read1(_CHUNK)
            if not chunk:
                break
            body += chunk
            if len(body) > opts.max_bytes:
                raise _Failure(f"too large (more than {opts.max_bytes} bytes)")
        if fired.is_set():  # the watchdog's shutdown looks like a clean EOF
            raise _Failure("timed out")
        # read1() returns b"" at a premature EOF instead of raising IncompleteRead.
        if expected is not None and len(body) < expected:
            raise _Failure(f"truncated response ({len(body)} of {expected} bytes)")
        return status, None, bytes(body)
    except _Failure:
        raise
    except Exception as err:
        if fired.is_set():
            raise _Failure("timed out") from err
        raise _Failure(_network_reason(err)) from err
    finally:
        watchdog.cancel()
        conn.close()


def _network_reason(err: Exception) -> str:
    if isinstance(err, (TimeoutError, socket.timeout)):
        return "timed out"
    if isinstance(err, ConnectionRefusedError):
        return "connection refused"
    if isinstance(err, ConnectionResetError):
        return "connection reset"
    if isinstance(err, socket.gaierror):
        return "host not found"
    if isinstance(err, ssl.SSLCertVerificationError):
        return f"TLS certificate error ({err.verify_message})"
    if isinstance(err, ssl.SSLError):
        return f"TLS error ({err.reason})"
    if isinstance(err, http.client.IncompleteRead):
        return "truncated response"
    if isinstance(err, http.client.RemoteDisconnected):
        return "connection closed without a response"
    if isinstance(err, http.client.InvalidURL):
        return "invalid URL"
    if isinstance(err, http.client.HTTPException):
        return f"bad HTTP response ({type(err).__name__})"
    if isinstance(err, OSError):
        return f"network error ({err.strerror or type(err).__name__})"
    if isinstance(err, (ValueError, UnicodeError)):
        return "invalid URL"
    return f"network error ({type(err).__name__})"


def _proxy_for(scheme: str, host: str) -> tuple[str, int, str | None] | None:
    """The proxy from the environment for *scheme*, as (host, port, auth header)."""
    if host == "localhost" or host.startswith("127.") or host == "::1":
        return None  # a proxy cannot reach our loopback
    proxy = urllib.request.getproxies().get(scheme)
    if not proxy or urllib.request.proxy_bypass(host):
        return None
    if "://" not in proxy:
        proxy = "http://" + proxy
    p = urllib.parse.urlsplit(proxy)
    if not p.hostname:
        return None
    auth = None
    if p.username is not None:
        token = f"{urllib.parse.unquote(p.username)}:{urllib.parse.unquote(p.password or '')}"
        auth = "Basic " + base64.b64encode(token.encode()).decode("ascii")
    return p.hostname, p.port or (443 if p.scheme == "https" else 80), auth


# --------------------------------------------------------------------------
# Decoding and conversion


def _open_image(data: bytes, max_pixels: int):  # -> PIL.Image.Image
    """Identify *data* among _FORMATS and check its size before decoding.

    This is Pillow's ``Image.open`` minus its decompression-bomb check, which
    depends on the process-global ``Image.MAX_IMAGE_PIXELS`` and only *warns*
    between 1x and 2x that limit; ours is per call and always an error.
    """
    from PIL import (  # noqa: F401  (registers the plugins in Image.OPEN)
        BmpImagePlugin, GifImagePlugin, Image, JpegImagePlugin, PngImagePlugin,
        WebPImagePlugin,
    )

    if not data:
        raise _Failure("not an image (empty response)")
    prefix = data[:16]
    for fmt in _FORMATS:
        factory, accept = Image.OPEN[fmt]
        if accept and accept(prefix) is True:
            try:
                im = factory(io.BytesIO(data), None)
            except (SyntaxError, IndexError, TypeError, ValueError, EOFError, OSError) as err:
                raise _Failure(f"undecodable image ({fmt}: {err})") from err
            w, h = im.size
            if w <= 0 or h <= 0:
                raise _Failure(f"undecodable image ({fmt}: size {w}x{h})")
            if w * h > max_pixels:
                raise _Failure(f"decompression bomb ({w}x{h} pixels > {max_pixels})")
            return im
    if data.lstrip()[:1] == b"<":
        raise _Failure("not an image (HTML or XML)")
    raise _Failure("not an image")


def _convert(data: bytes, opts: ImageOptions) -> EmbeddedImage:
    try:
        return _convert_unchecked(data, opts)
    except _Failure:
        raise
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error) as err:
        text = str(err)
        if "truncated" in text.lower() or isinstance(err, EOFError):
            raise _Failure("truncated image") from err
        raise _Failure(f"undecodable image ({text[:80]})") from err


def _convert_unchecked(data: bytes, opts: ImageOptions) -> EmbeddedImage:
    from PIL import Image

    im = _open_image(data, opts.max_pixels)
    orientation = 1
    try:
        orientation = int(im.getexif().get(0x0112, 1))
    except Exception:  # broken EXIF is not a reason to drop the picture
        orientation = 1
    box = (opts.max_width, opts.max_height)
    if orientation in (5, 6, 7, 8):  # rotated by 90 degrees: fit the rotated box
        box = box[::-1]

    has_alpha = im.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in im.info
    if im.mode not in ("L", "RGB", "RGBA", "LA"):
        if im.mode.startswith("I;16") or im.mode in ("I", "F"):
            im = im.convert("I").point(lambda v: v * (1 / 256)).convert("L")
        else:  # P, PA, 1, CMYK, YCbCr... (P must not be resampled in palette space)
            im = im.convert("RGBA" if has_alpha else "RGB")
    # thumbnail() also uses JPEG draft mode (DCT scaling) for big JPEGs, and
    # resamples RGBA/LA premultiplied, so flattening afterwards is exact.
    im.thumbnail(box, Image.Resampling.LANCZOS)
    if orientation != 1:
        method = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
                  4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
                  6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
                  8: Image.Transpose.ROTATE_90}.get(orientation)
        if method is not None:
            im = im.transpose(method)

    if im.mode in ("RGBA", "LA"):
        base_mode = im.mode[:-1]
        flat = Image.new(base_mode, im.size, 255 if base_mode == "L" else (255, 255, 255))
        flat.paste(im, mask=im.getchannel("A"))
        im = flat
    # Few colours: flat graphics or line art that needed no scaling.  Any
    # grey image has at most 256 levels, so for those the bar is lower.
    colors = im.getcolors(256 if im.mode == "RGB" else _FLAT_GREY_LEVELS)
    if opts.grayscale and im.mode != "L":
        im = im.convert("L")

    # Pillow's encoders copy comment, EXIF, ICC profile and dpi from .info:
    # drop them all (privacy, size, and byte-identical output).
    im.info = {}
    out = io.BytesIO()
    if colors is not None:
        if im.mode == "RGB":
            im = _to_palette(im)
        im.save(out, format="PNG", optimize=True)
        media_type = "image/png"
    else:
        im.save(out, format="JPEG", quality=opts.jpeg_quality, optimize=True,
                progressive=False)
        media_type = "image/jpeg"
    return EmbeddedImage(out.getvalue(), media_type, im.width, im.height)


def _to_palette(im):  # (RGB Image with <= 256 colours) -> Image
    """Lossless RGB -> P, or the RGB image itself if that is not exact."""
    from PIL import Image, ImageChops

    # Median cut keeps every colour exactly when there are at most 256 of
    # them (Pillow's nearest-colour mapping with a given palette does not: it
    # looks colours up in a 5-6-5 bit cache).  Checked, since it is cheap.
    pal = im.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    return pal if ImageChops.difference(pal.convert("RGB"), im).getbbox() is None else im


# --------------------------------------------------------------------------
# Disk cache


class _Cache:
    """Checksummed, atomically written cache entries; any failure = cache miss."""

    def __init__(self, root: Path):
        self.root = root
        self.usable = True

    def remove_stale_temp_files(self, max_age: float = 3600.0) -> None:
        """Remove temporary files left by a run that was killed mid-write."""
        now = time.time()
        try:
            with os.scandir(self.root / "converted") as entries:
                for entry in entries:
                    if entry.name.startswith(".tmp-"):
                        try:
                            if now - entry.stat().st_mtime > max_age:
                                os.unlink(entry.path)
                        except OSError:
                            pass
        except OSError:
            pass

    def _path(self, kind: str, key: str) -> Path:
        return self.root / kind / hashlib.sha256(key.encode("utf-8")).hexdigest()

    def get_converted(self, key: str, options_key: str) -> EmbeddedImage | None:
        entry = self._read(self._path("converted", f"{options_key}\0{key}"), key)
        if entry is None:
            return None
        header, data = entry
        try:
            media_type = header["media_type"]
            if media_type not in ("image/jpeg", "image/png"):
                raise ValueError(media_type)
            return EmbeddedImage(data, media_type, int(header["width"]), int(header["height"]))
        except (KeyError, TypeError, ValueError):
            _unlink(self._path("converted", f"{options_key}\0{key}"))
            return None

    def put_converted(self, key: str, options_key: str, image: EmbeddedImage) -> None:
        header = {"key": key, "media_type": image.media_type, "width": image.width,
                  "height": image.height}
        self._write(self._path("converted", f"{options_key}\0{key}"), header, image.data)

    def _read(self, path: Path, key: str) -> tuple[dict, bytes] | None:
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        except OSError:
            return None
        try:
            try:
                prefix = os.read(fd, len(_CACHE_MAGIC) + 9)
                if not prefix.startswith(_CACHE_MAGIC) or not prefix.endswith(b"\n"):
                    raise ValueError("bad magic")
                header = json.loads(os.read(fd, int(prefix[len(_CACHE_MAGIC):-1])))
                if not isinstance(header, dict) or header.get("key") != key:
                    raise ValueError("bad header")
                size = header["size"]
                data = os.read(fd, size + 1)  # one byte more: catch trailing junk
                if len(data) != size or header.get("sha256") != hashlib.sha256(data).hexdigest():
                    raise ValueError("checksum mismatch")
            finally:
                os.close(fd)
        except (ValueError, TypeError, KeyError, OverflowError, OSError):
            _unlink(path)  # corrupt or truncated: drop it, the caller refetches
            return None
        return header, data

    def _write(self, path: Path, header: dict, data: bytes) -> None:
        if not self.usable:
            return
        header = {**header, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        head = json.dumps(header, sort_keys=True).encode("utf-8")
        blob = b"%s%08d\n%s%s" % (_CACHE_MAGIC, len(head), head, data)
        tmp = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as fh:
                fh.write(blob)
            os.replace(tmp, path)
            tmp = None
        except OSError:
            # A read-only or full cache folder must not fail the run: go on
            # without caching.
            self.usable = False
        finally:
            if tmp is not None:
                _unlink(Path(tmp))


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass
