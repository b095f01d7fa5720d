"""HTTP for thumbnails: httpx does the protocol; we add the bounds.

httpx (with httpcore underneath) does everything HTTP: persistent
connections pooled per host (thumbnails of one CDN host share a few
keep-alive connections instead of a TCP and TLS handshake each), HTTP/1.0
and HTTP/1.1 framing (chunked, ``Connection: close``, read-until-close),
TLS with certificate verification (the system's CA store via certifi, or
``SSL_CERT_FILE`` / ``SSL_CERT_DIR``), IDNA host names, percent-encoding of
paths, and the construction of each redirect request.  What stays ours:

* the address policy and the total deadline per thumbnail, both in the
  network backend (:mod:`exporter.images.netguard`);
* the redirect loop, so that every hop is checked (http(s) only, at most
  :data:`MAX_REDIRECTS`, no loop) and a redirect's body is never read;
* the size cap, against ``Content-Length`` up front and while streaming;
* where the body goes: a spooled file, in memory while small and on disk
  beyond :data:`SPOOL_IN_MEMORY`, so eight downloads of the largest
  thumbnails allowed, waiting for their turn to be decoded, do not hold
  eight bodies in memory (the decoder reads the file);
* turning every failure into a short reason (see :class:`Failure`).

Proxies come from the environment (``http_proxy``, ``https_proxy``,
``all_proxy``, ``no_proxy``, read by the standard library's
:func:`urllib.request.getproxies`); through a proxy the policy is applied to
the target's addresses as this machine resolves them, and a name only the
proxy can resolve is left to the proxy.
"""

from __future__ import annotations

import http.cookiejar
import re
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpcore
import httpx

from .. import __version__
from ..gates.urls import redirect_target, web_url
from . import netguard
from .model import Failure

MAX_REDIRECTS = 5
USER_AGENT = f"digest-export/{__version__}"
# After this many connection-level failures in a row on one host, the rest
# of its thumbnails are not tried in this run.
HOST_FAILURE_LIMIT = 3
#: A body up to this size stays in memory (most thumbnails); a larger one goes to disk.
SPOOL_IN_MEMORY = 1 << 20
#: The most a content-coding stage inflates at one step: a small gzip chunk (or gzip inside
#: gzip) may stand for megabytes, never inflated whole.
DECODE_STEP = 1 << 16


@dataclass(frozen=True)
class FetchOptions:
    timeout: float
    max_bytes: int
    concurrency: int
    allow_private_hosts: bool = False
    #: Where bodies larger than SPOOL_IN_MEMORY are spooled (the thumbnail cache folder);
    #: None or unusable: the system's temporary folder.
    spool_dir: Path | None = None


class Fetcher:
    """One pooled, thread-safe HTTP client for the thumbnails of one run."""

    def __init__(self, options: FetchOptions):
        self.options = options
        limits = httpx.Limits(max_connections=max(1, options.concurrency),
                              max_keepalive_connections=max(1, options.concurrency),
                              keepalive_expiry=30.0)
        self._client = httpx.Client(
            transport=_Router(limits, guard=not options.allow_private_hosts),
            follow_redirects=False, trust_env=False,
            timeout=httpx.Timeout(options.timeout),
            # Before httpx builds the next request from a redirect (and fails on "data:x"), the
            # Location is judged by the URL gate: a refusal names why.
            event_hooks={"response": [_judge_redirect]},
            # No cookies: a thumbnail needs none, and a jar shared by all
            # fetches would carry one server's cookie to the next request.
            cookies=http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[])),
            headers={"User-Agent": USER_AGENT,
                     "Accept": "image/png,image/jpeg,image/webp,image/gif,image/*;q=0.8",
                     "Accept-Encoding": "identity"})
        self._lock = threading.Lock()
        self._host_failures: dict[str, tuple[int, str]] = {}
        self._spool_dir = _usable_folder(options.spool_dir)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, url: str) -> bytes:
        """The body of a 200 answer for *url*; raises Failure."""
        with self.get_file(url) as body:
            return body.read()

    def get_file(self, url: str) -> IO[bytes]:
        """The body of a 200 answer for *url*, as a file at its start (the caller closes
        it); raises Failure."""
        try:
            _check_target(httpx.URL(url), redirected=False)
            request = self._client.build_request("GET", url)
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, UnicodeError, ValueError) as err:
            raise Failure("invalid URL", permanent=True) from err
        host = request.url.host
        self._skip_if_unreachable(host)
        sink = self._spool()
        try:
            with netguard.deadline(time.monotonic() + self.options.timeout):
                try:
                    self._get(request, sink)
                except Failure as failure:
                    self._count(host, failure)
                    raise
        except BaseException:
            sink.close()
            raise
        self._count(host, None)
        sink.seek(0)
        return sink

    def _spool(self) -> IO[bytes]:
        """A file for one body: in memory up to SPOOL_IN_MEMORY, then on disk, without a name
        where the system allows (O_TMPFILE), so that a killed run leaves nothing behind."""
        return tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY, dir=self._spool_dir)

    def _get(self, request: httpx.Request, sink: IO[bytes]) -> None:
        seen = {str(request.url)}
        for hop in range(MAX_REDIRECTS + 1):
            _check_target(request.url, redirected=hop > 0)
            response = self._send(request)
            try:
                if response.next_request is None:
                    self._body(response, sink)
                    return
                # The next hop as a browser resolves the Location (the one URL gate), never as the
                # HTTP library rebuilt it: it gave "http:///ok" the host and no port of this hop.
                request = self._client.build_request("GET", _redirect_target(response))
            finally:
                response.close()  # a redirect's body is never read
            if str(request.url) in seen:
                raise Failure("too many redirects (redirect loop)", permanent=True)
            seen.add(str(request.url))
        raise Failure(f"too many redirects (more than {MAX_REDIRECTS})", permanent=True)

    def _send(self, request: httpx.Request) -> httpx.Response:
        try:
            return self._client.send(request, stream=True)
        except httpx.HTTPError as err:
            raise _reason(err) from err
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, UnicodeError, ValueError) as err:
            # The library failed building the next request from a redirect's Location (a
            # "data:", "javascript:" or "http:ok"): this hop was checked before it was sent.
            raise Failure("redirect to an invalid URL", permanent=True) from err

    def _body(self, response: httpx.Response, sink: IO[bytes]) -> None:
        status = response.status_code
        if status != 200:
            # 4xx will not change by asking again, except these.
            permanent = 400 <= status < 500 and status not in (408, 425, 429)
            raise Failure(f"HTTP {status}", permanent=permanent)
        max_bytes = self.options.max_bytes
        length = response.headers.get("Content-Length", "").strip()
        expected = int(length) if length.isdigit() else None
        if expected is not None and expected > max_bytes:
            raise Failure(f"too large (Content-Length {expected} > {max_bytes})", permanent=True)
        # The body as sent (iter_raw), decoded here with a bound at every
        # stage: httpx's own decoders inflate a whole chunk at once, so one
        # small gzip chunk (or gzip inside gzip) could fill the memory before
        # any size check.  The cap applies on the wire and after decoding.
        decoder = _BoundedDecoder(response.headers.get("Content-Encoding", ""), max_bytes)
        wire = written = 0
        try:
            for chunk in response.iter_raw():
                wire += len(chunk)
                if wire > max_bytes:
                    raise Failure(f"too large (more than {max_bytes} bytes)", permanent=True)
                for piece in decoder.feed(chunk):
                    written += sink.write(piece)
            for piece in decoder.finish():
                written += sink.write(piece)
        except httpx.RemoteProtocolError as err:
            # h11 refuses a body that ends before its Content-Length.
            if expected is not None and written < expected:
                raise Failure(f"truncated response ({written} of {expected} bytes)") from err
            raise _reason(err) from err
        except httpx.HTTPError as err:
            raise _reason(err) from err
        except OSError as err:  # the spool file: a full disk
            raise Failure(f"cannot keep the download ({err.strerror or type(err).__name__})") from err

    def _skip_if_unreachable(self, host: str) -> None:
        with self._lock:
            count, reason = self._host_failures.get(host, (0, ""))
        if count >= HOST_FAILURE_LIMIT:
            raise Failure(f"{reason} (not tried: {count} failures in a row on {host})",
                               connection=True)

    def _count(self, host: str, failure: Failure | None) -> None:
        with self._lock:
            if failure is None or not failure.connection:
                self._host_failures.pop(host, None)
            else:
                count, _ = self._host_failures.get(host, (0, ""))
                self._host_failures[host] = (count + 1, str(failure).split(" (", 1)[0])


#: Content codings decoded (RFC 9110 section 8.4.1); we ask for none
#: (Accept-Encoding: identity), but a server may send them anyway.
_CODINGS = ("gzip", "x-gzip", "deflate", "identity")
_MAX_CODINGS = 2


class _Inflater:
    """One gzip or deflate stage whose total output is at most *limit* bytes."""

    def __init__(self, coding: str, limit: int):
        import zlib

        self.zlib = zlib
        self.raw_fallback = coding == "deflate"  # "deflate" is often sent without its zlib header
        # RFC 1952 section 2.2: a gzip file is a series of members, each with its own header
        # and trailer; curl and browsers decode them all, and so does Python's gzip module.
        self.gzip = coding in ("gzip", "x-gzip")
        self.d = self._member()
        self.left = self.limit = limit
        self.started = False

    def _member(self):
        return self.zlib.decompressobj(16 + self.zlib.MAX_WBITS if self.gzip else self.zlib.MAX_WBITS)

    def _take(self, out: bytes) -> bytes:
        if len(out) > self.left:
            raise Failure(f"too large once decoded (more than {self.limit} bytes)", permanent=True)
        self.left -= len(out)
        return out

    def feed(self, data: bytes) -> Iterator[bytes]:
        """What *data* inflates to, in pieces of at most DECODE_STEP bytes."""
        while True:
            if self.gzip and self.d is not None and self.d.eof:
                data, self.d = self.d.unused_data + data, None  # between two members
            if self.d is None:
                # Zero bytes after a member are padding (Python's gzip module skips them too).
                data = data.lstrip(b"\0")
                if not data:
                    return
                self.d = self._member()
            try:
                chunk = self.d.decompress(data, DECODE_STEP)
            except self.zlib.error:
                if self.started or not self.raw_fallback:
                    raise Failure("undecodable content encoding", permanent=True) from None
                self.raw_fallback = False
                self.d = self.zlib.decompressobj(-self.zlib.MAX_WBITS)
                continue
            self.started = True
            if chunk:
                yield self._take(chunk)  # the cap counts every member together
            # Input left over: the step was full, more output is waiting (zlib's
            # decompress(), max_length).
            data = self.d.unconsumed_tail
            if data:
                continue
            if not (self.gzip and self.d.eof and self.d.unused_data):
                return

    def finish(self) -> Iterator[bytes]:
        if self.d is None:
            return
        try:
            rest = self.d.flush(DECODE_STEP)
        except self.zlib.error:
            raise Failure("undecodable content encoding", permanent=True) from None
        if rest:
            yield self._take(rest)


class _BoundedDecoder:
    """The Content-Encoding stack, undone in reverse order, each stage bounded, step by step."""

    def __init__(self, header: str, limit: int):
        codings = [c.strip().lower() for c in header.split(",") if c.strip()]
        unknown = [c for c in codings if c not in _CODINGS]
        if unknown:
            raise Failure(f"unsupported content encoding ({unknown[0][:20]})", permanent=True)
        codings = [c for c in codings if c != "identity"]
        if len(codings) > _MAX_CODINGS:
            raise Failure(f"too many content encodings ({len(codings)})", permanent=True)
        self.stages = [_Inflater(c, limit) for c in reversed(codings)]

    def _through(self, first: int, pieces: Iterable[bytes]) -> Iterator[bytes]:
        """*pieces* through the stages from *first* on: one step of each at a time."""
        if first == len(self.stages):
            yield from pieces
            return
        for piece in pieces:
            if piece:
                yield from self._through(first + 1, self.stages[first].feed(piece))

    def feed(self, data: bytes) -> Iterator[bytes]:
        return self._through(0, [data])

    def finish(self) -> Iterator[bytes]:
        for i, stage in enumerate(self.stages):
            yield from self._through(i + 1, stage.finish())


def _usable_folder(folder: Path | None) -> str | None:
    """*folder* if a temporary file can be made there, else None (the system's temporary
    folder): a read-only or missing cache folder must not fail the downloads."""
    if folder is None:
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError:
        return None
    return str(folder)


_SCHEME = re.compile(r"\s*([A-Za-z][A-Za-z0-9+.\-]*):")


def _redirect_target(response: httpx.Response) -> str:
    """Where the redirect *response* leads, as a browser resolves its Location (the URL gate);
    Failure if the gate refuses it."""
    location = response.headers.get("location", "")
    target = redirect_target(str(response.request.url), location)
    if target is None:
        scheme = _SCHEME.match(location)
        raise Failure("redirect to non-http URL" if scheme and scheme.group(1).lower() not in ("http", "https")
                      else "redirect to an invalid URL", permanent=True)
    return target


def _judge_redirect(response: httpx.Response) -> None:
    if response.has_redirect_location:
        _redirect_target(response)


def _check_target(url: httpx.URL, *, redirected: bool) -> None:
    if url.scheme not in ("http", "https"):
        raise Failure("redirect to non-http URL" if redirected else "unsupported URL scheme",
                           permanent=True)
    if not url.host:
        raise Failure("invalid URL", permanent=True)
    if url.port is not None and not 0 < url.port < 65536:
        raise Failure("invalid URL (port out of range)", permanent=True)
    # httpx parses by RFC 3986; every hop (a redirect's Location too) must
    # also be a URL the one URL gate accepts, as the digest's links are.
    if web_url(str(url)) is None:
        raise Failure("redirect to an invalid URL" if redirected else "invalid URL", permanent=True)


class _Router(httpx.BaseTransport):
    """Direct, or through the environment's proxy for the scheme (``no_proxy`` honoured).

    One transport (one connection pool) per scheme and route, made on first
    use: loading the CA store costs ~50 ms, paid only when a thumbnail is
    fetched over HTTPS.
    """

    def __init__(self, limits: httpx.Limits, *, guard: bool):
        self._limits = limits
        self._guard = guard
        self._resolver = netguard.Resolver()
        self._proxies = {scheme: url if "://" in url else "http://" + url
                         for scheme, url in urllib.request.getproxies().items()
                         if scheme in ("http", "https", "all") and url}
        self._transports: dict[tuple[str, str | None], httpx.HTTPTransport] = {}
        self._lock = threading.Lock()

    def _transport(self, scheme: str, proxy: str | None) -> httpx.HTTPTransport:
        with self._lock:
            transport = self._transports.get((scheme, proxy))
            if transport is None:
                # Certificate store: SSL_CERT_FILE / SSL_CERT_DIR, else certifi's.
                verify = httpx.create_ssl_context(trust_env=True) if scheme == "https" else False
                transport = httpx.HTTPTransport(verify=verify, limits=self._limits, proxy=proxy)
                # The user's own proxy may well be on a private address.
                backend = netguard.GuardedBackend(self._resolver, guard=self._guard and proxy is None)
                transport = self._transports[(scheme, proxy)] = _with_backend(transport, backend)
            return transport

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        scheme, host = request.url.scheme, request.url.host
        proxy = self._proxies.get(scheme) or self._proxies.get("all")
        if proxy is not None and urllib.request.proxy_bypass(host):
            proxy = None
        if proxy is not None and self._guard:
            self._check_through_proxy(request)
        return self._transport(scheme, proxy).handle_request(request)

    def _check_through_proxy(self, request: httpx.Request) -> None:
        host = request.url.host
        port = request.url.port or (443 if request.url.scheme == "https" else 80)
        try:
            addresses = self._resolver.resolve(host, port, None)
        except netguard.HostNotFound:
            return  # the proxy may know the name; the policy has nothing to judge
        except httpcore.ConnectTimeout as err:
            raise httpx.ConnectTimeout(str(err), request=request) from err
        try:
            netguard.check_addresses(host, addresses)
        except netguard.BlockedAddress as err:
            raise httpx.ConnectError(str(err), request=request) from err

    def close(self) -> None:
        with self._lock:
            for transport in self._transports.values():
                transport.close()
            self._transports.clear()


def _with_backend(transport: httpx.HTTPTransport, backend: httpcore.NetworkBackend) -> httpx.HTTPTransport:
    """Give *transport*'s connection pool our network backend.

    httpcore documents custom network backends as public API, but
    ``httpx.HTTPTransport`` has no parameter for one yet
    (https://github.com/encode/httpx/discussions/3180, pull request
    https://github.com/encode/httpx/pull/3749), so it is set on the pool that
    the transport built.  The tests of the address policy and of the total
    deadline fail if this stops taking effect.
    """
    pool: Any = getattr(transport, "_pool", None)
    if pool is None or not hasattr(pool, "_network_backend"):
        raise RuntimeError("this httpx version cannot take a network backend; "
                           "digest-export supports httpx 0.27-0.28")
    pool._network_backend = backend
    return transport


def _reason(err: BaseException) -> Failure:
    """The short reason for an httpx error, from the most specific cause in its chain."""
    chain = []
    cause: BaseException | None = err
    while cause is not None and len(chain) < 10:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    for cause in chain:
        if isinstance(cause, netguard.BlockedAddress):
            return Failure(f"blocked: {cause}", by_policy=True)
        if isinstance(cause, netguard.HostNotFound):
            return Failure("host not found", connection=True)
    import ssl

    for cause in chain:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return Failure(f"TLS certificate error ({cause.verify_message})", connection=True)
        if isinstance(cause, ssl.SSLError):
            return Failure(f"TLS error ({cause.reason})", connection=True)
        if isinstance(cause, ConnectionRefusedError):
            return Failure("connection refused", connection=True)
        if isinstance(cause, ConnectionResetError):
            return Failure("connection reset")
        if isinstance(cause, OSError) and cause.errno is not None and cause.strerror:
            return Failure(f"network error ({cause.strerror})",
                                connection=isinstance(err, httpx.ConnectError))
    if isinstance(err, httpx.ConnectTimeout):
        return Failure("timed out", connection=True)
    if isinstance(err, httpx.TimeoutException):
        return Failure("timed out")
    if isinstance(err, httpx.RemoteProtocolError):
        text = str(err)
        if "without sending" in text and "response" in text:
            return Failure("connection closed without a response")
        return Failure("bad HTTP response", permanent=False)
    if isinstance(err, (httpx.InvalidURL, httpx.UnsupportedProtocol, httpx.LocalProtocolError)):
        return Failure("invalid URL", permanent=True)
    if isinstance(err, httpx.ConnectError):
        return Failure("cannot connect", connection=True)
    return Failure(f"network error ({type(err).__name__})")
