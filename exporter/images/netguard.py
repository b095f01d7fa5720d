"""Where a thumbnail may be fetched from, and how long it may take.

Two things an HTTP library does not do for us, put where httpx lets them in:
its *network backend* (the httpcore layer that opens sockets), so they hold
for the first request, every redirect hop and every pooled connection alike.

* **Address policy (SSRF).**  A thumbnail URL is text from a digest, that
  is, from whoever wrote it.  Unless private hosts are allowed, a connection
  goes only to a globally routable address: the host name is resolved once
  per run, *every* address it resolves to must be public (a name that
  resolves to one public and one loopback address is refused), and the
  socket is opened to the checked address itself, so a DNS answer that
  changes between the check and the connect (DNS rebinding) cannot slip
  through.  IPv4-mapped and 6to4/NAT64-embedded IPv4 addresses are judged
  by the IPv4 address inside.
* **A total deadline per thumbnail.**  Name lookup, connect, TLS handshake
  and every read and write are bounded by what is left of the deadline of
  the thumbnail being fetched on this thread (:func:`deadline`), so a server
  that trickles a byte now and then, in the headers or in the body, still
  ends at ``--image-timeout``.  Name lookups, which the C library cannot
  interrupt, run on their own thread and are waited for only as long as
  the deadline allows; one lookup per host serves the whole run.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

import httpcore

# The one public-address rule, shared with every URL written to an output.
from ..gates.urls import blocked_reason

_local = threading.local()


@contextlib.contextmanager
def deadline(when: float) -> Iterator[None]:
    """Bound every network operation of this thread by ``time.monotonic() <= when``."""
    previous = getattr(_local, "deadline", None)
    _local.deadline = when
    try:
        yield
    finally:
        _local.deadline = previous


def remaining(timeout: float | None, error: type[Exception] = httpcore.ReadTimeout) -> float | None:
    """*timeout* cut to what is left of this thread's deadline; raises *error* when none is."""
    when = getattr(_local, "deadline", None)
    if when is None:
        return timeout
    left = when - time.monotonic()
    if left <= 0:
        raise error("deadline reached")
    return left if timeout is None else min(timeout, left)


class BlockedAddress(httpcore.ConnectError):
    """The host resolves to an address that the policy does not allow."""


class HostNotFound(httpcore.ConnectError):
    """The name did not resolve."""


class Resolver:
    """Name lookups for one run: one per (host, port), each bounded by the deadline."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lookups: dict[tuple[str, int], Future[list[str]]] = {}

    def resolve(self, host: str, port: int, timeout: float | None) -> list[str]:
        """The addresses of *host*, numeric hosts included; raises HostNotFound or ConnectTimeout."""
        with self._lock:
            future = self._lookups.get((host, port))
            if future is None:
                future = self._lookups[(host, port)] = Future()
                # A daemon thread, not a pool: a lookup that hangs in the C
                # library must not hold the interpreter at exit.
                threading.Thread(target=self._lookup, args=(future, host, port),
                                 name="digest-export-dns", daemon=True).start()
        try:
            return future.result(timeout=remaining(timeout, httpcore.ConnectTimeout))
        except TimeoutError:
            raise httpcore.ConnectTimeout("name lookup timed out") from None

    @staticmethod
    def _lookup(future: Future[list[str]], host: str, port: int) -> None:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            addresses = list(dict.fromkeys(info[4][0] for info in infos))
            if not addresses:
                raise HostNotFound(f"{host}: no address")
            future.set_result(addresses)
        except (OSError, UnicodeError) as err:
            future.set_exception(HostNotFound(f"{host}: {err}"))
        except BaseException as err:  # noqa: BLE001  (delivered to the waiting fetch)
            future.set_exception(err)


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every operation is cut at the thread's deadline."""

    def __init__(self, stream: httpcore.NetworkStream, tls: bool = False):
        self._stream = stream
        self._tls_socket = stream.get_extra_info("socket") if tls else None

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data = self._stream.read(max_bytes, remaining(timeout, httpcore.ReadTimeout))
        sock = self._tls_socket
        if not data or sock is None:
            return data
        # A TLS read returns one record (at most 16 KB, RFC 8446 section
        # 5.1): take the records already received as well, so a response
        # costs the HTTP parser a quarter of the events.
        parts, size = [data], len(data)
        while size < max_bytes and select.select([sock], [], [], 0)[0]:
            more = self._stream.read(max_bytes - size, remaining(timeout, httpcore.ReadTimeout))
            if not more:
                break
            parts.append(more)
            size += len(more)
        return b"".join(parts) if len(parts) > 1 else data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, remaining(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        stream = self._stream.start_tls(ssl_context, server_hostname,
                                        remaining(timeout, httpcore.ConnectTimeout))
        return _DeadlineStream(stream, tls=True)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's sync backend plus the address policy and the deadline.

    ``guard=False`` (a backend for the user's own proxy, or with private
    hosts allowed) keeps the deadline and the shared lookups only.
    """

    def __init__(self, resolver: Resolver, *, guard: bool):
        self._backend = httpcore.SyncBackend()
        self._resolver = resolver
        self._guard = guard

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None, socket_options: Any = None) -> httpcore.NetworkStream:
        addresses = self._resolver.resolve(host, port, timeout)
        if self._guard:
            check_addresses(host, addresses)
        last: Exception | None = None
        for address in addresses:  # as getaddrinfo ordered them (RFC 6724)
            try:
                stream = self._backend.connect_tcp(
                    address, port, remaining(timeout, httpcore.ConnectTimeout),
                    local_address, socket_options)
            except httpcore.ConnectError as err:
                last = err
                continue
            return _DeadlineStream(stream)
        assert last is not None
        raise last

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Any = None) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not used")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def check_addresses(host: str, addresses: list[str]) -> None:
    """Raise BlockedAddress unless every one of *addresses* is public."""
    for address in addresses:
        reason = blocked_reason(address)
        if reason is not None:
            shown = host if host == address else f"{host} is {address}"
            raise BlockedAddress(f"{reason} address ({shown})")
