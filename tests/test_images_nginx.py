"""Thumbnails from real web servers: nginx (plain, TLS, closing every
connection, redirecting, rate-limited, 404/410) and Python's HTTP/1.0
``http.server``; the address policy; remembered failures; the
``--image-timeout`` and ``--allow-private-hosts`` options.

The keep-alive stand-in server with scripted misbehaviour is in
tests/test_images.py; these tests are about what ordinary servers do.
"""

from __future__ import annotations

import functools
import http.server
import ipaddress
import re
import threading
import time
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exporter.cli import main
from exporter.images import ImageOptions, load_images, netguard
from nginx_server import start_nginx, stop_nginx
from test_images import SLACK, _encode, _photo, make_paper

N_IMAGES = 24


@pytest.fixture(scope="module")
def nginx(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nginx")
    www = folder / "www"
    (www / "img").mkdir(parents=True)
    for i in range(N_IMAGES):
        (www / "img" / f"{i}.jpg").write_bytes(_encode(_photo(480, 270, seed=100 + i), "JPEG", quality=92))
    (www / "img" / "a b.jpg").write_bytes((www / "img" / "0.jpg").read_bytes())
    (www / "img" / "그림.jpg").write_bytes((www / "img" / "1.jpg").read_bytes())
    proc, server = start_nginx(folder, www)
    try:
        yield server
    finally:
        stop_nginx(proc)


def options(tmp_path: Path, **kw) -> ImageOptions:
    return ImageOptions(cache_dir=tmp_path / "cache", **{"timeout": 5.0, "allow_private_hosts": True, **kw})


def new_requests(server, before: int) -> list[tuple[str, int, int, int]]:
    # nginx writes its access log line after the response is sent; give a
    # closing connection's line a moment to land.
    time.sleep(0.1)
    return server.log()[before:]


@pytest.fixture
def tls_trust(nginx, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(nginx.ca_file))


# --------------------------------------------------------------------------
# Ordinary servers: every thumbnail arrives, over few connections


@pytest.mark.parametrize("kind", ["plain", "close", "tls"])
def test_every_thumbnail_is_fetched_from_nginx(nginx, tmp_path, tls_trust, kind):
    papers = [make_paper(f"{nginx.base(kind)}/img/{i}.jpg", line=i) for i in range(N_IMAGES)]
    before = len(nginx.log())
    results = load_images(papers, options(tmp_path))
    assert results.failures == [] and results.fetched == N_IMAGES
    assert all(results.get(p) is not None for p in papers)
    log = new_requests(nginx, before)
    assert sorted(uri for uri, *_ in log) == sorted(f"/img/{i}.jpg" for i in range(N_IMAGES))
    connections = {conn for _, _, conn, _ in log}
    if kind == "close":  # keepalive_timeout 0: one request per connection
        assert len(connections) == N_IMAGES
    else:  # keep-alive: at most one connection per worker thread
        assert len(connections) <= 8, connections


def test_http_1_0_server_closing_after_each_response(tmp_path, nginx):
    """Python's http.server speaks HTTP/1.0 and closes: the body ends at EOF."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(nginx.www))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        papers = [make_paper(f"{base}/img/{i}.jpg", line=i) for i in range(6)]
        results = load_images(papers, options(tmp_path))
    finally:
        server.shutdown()
        server.server_close()
    assert results.failures == [] and results.fetched == 6


def test_redirect_is_followed(nginx, tmp_path):
    paper = make_paper(f"{nginx.base()}/redirect/3.jpg")
    before = len(nginx.log())
    results = load_images([paper], options(tmp_path))
    assert results.failures == [] and results.get(paper) is not None
    assert [(uri, status) for uri, status, *_ in new_requests(nginx, before)] == [
        ("/redirect/3.jpg", 302), ("/img/3.jpg", 200)]


def test_certificate_of_an_unknown_ca_is_refused(nginx, tmp_path, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    results = load_images([make_paper(f"{nginx.base('tls')}/img/0.jpg")], options(tmp_path))
    assert results.failures[0].reason.startswith("TLS certificate error"), results.failures
    assert results.failures[0].retry is True  # a certificate may be fixed tomorrow


def test_rate_limited_server_ends_at_the_deadline(nginx, tmp_path):
    start = time.monotonic()
    results = load_images([make_paper(f"{nginx.base()}/slow/0.jpg")], options(tmp_path, timeout=1.0))
    elapsed = time.monotonic() - start
    assert [(f.reason, f.retry) for f in results.failures] == [("timed out", True)]
    assert 0.9 < elapsed < 1.0 + SLACK
    assert not (tmp_path / "cache" / "failed").exists() or not any((tmp_path / "cache" / "failed").iterdir())


# --------------------------------------------------------------------------
# Remembered failures


@pytest.mark.parametrize("path, status", [("/img/missing.jpg", 404), ("/gone/0.jpg", 410)])
def test_permanent_failure_is_remembered_then_retried_after_it_expires(nginx, tmp_path, path, status):
    paper = make_paper(nginx.base() + path)
    before = len(nginx.log())
    first = load_images([paper], options(tmp_path, remember_failures=1.5))
    assert [(f.reason, f.retry) for f in first.failures] == [(f"HTTP {status}", False)]
    second = load_images([paper], options(tmp_path, remember_failures=1.5))
    reason = second.failures[0].reason
    assert reason.startswith(f"HTTP {status} (remembered: not asked again before "), reason
    assert second.failures[0].retry is False and second.failure_summary() == f"1 HTTP {status}"
    assert len(new_requests(nginx, before)) == 1  # the second run asked nothing
    time.sleep(1.6)
    third = load_images([paper], options(tmp_path, remember_failures=1.5))
    assert third.failures[0].reason == f"HTTP {status}"
    assert len(new_requests(nginx, before)) == 2


def test_a_garbled_failure_record_is_a_cache_miss(nginx, tmp_path):
    paper = make_paper(f"{nginx.base()}/img/missing.jpg")
    load_images([paper], options(tmp_path))
    for record in (tmp_path / "cache" / "failed").iterdir():
        record.write_text('{"url": 1, "reason": [], "until": "soon"}')
    before = len(nginx.log())
    again = load_images([paper], options(tmp_path))
    assert again.failures[0].reason == "HTTP 404"
    assert len(new_requests(nginx, before)) == 1


# --------------------------------------------------------------------------
# The address policy (SSRF)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]", "127.1", "0x7f.1"])
def test_own_machine_is_not_fetched_from_by_default(nginx, tmp_path, host):
    url = f"http://{host}:{nginx.ports['plain']}/img/0.jpg"
    before = len(nginx.log())
    results = load_images([make_paper(url)], options(tmp_path, allow_private_hosts=False))
    reason = results.failures[0].reason
    # IPv4 shorthands (127.1, 0x7f.1) and IPv6 literals are refused by the URL
    # gate before any address policy: WHATWG and RFC 3986 clients read the
    # shorthands differently, and feeds cannot carry "[" in a link.
    expected = ("invalid URL",) if host in ("127.1", "0x7f.1") or host.startswith("[") else ("blocked: ",)
    assert reason.startswith(expected), reason
    assert results.failures[0].retry is False
    assert new_requests(nginx, before) == []


def test_redirect_to_a_private_address_is_not_followed(nginx, tmp_path, monkeypatch):
    # Pretend 127.0.0.1 is a public address; 127.0.0.2 (also this machine)
    # stays loopback.  The first hop is fetched, the redirect is not.
    real = netguard.blocked_reason
    monkeypatch.setattr(netguard, "blocked_reason", lambda a: None if a == "127.0.0.1" else real(a))
    before = len(nginx.log())
    results = load_images([make_paper(f"{nginx.base()}/redirect-to/127.0.0.2/0.jpg")],
                          options(tmp_path, allow_private_hosts=False))
    assert results.failures[0].reason == "blocked: loopback address (127.0.0.2)"
    assert [status for _, status, *_ in new_requests(nginx, before)] == [302]


def test_proxy_does_not_open_a_way_to_private_targets(nginx, tmp_path, monkeypatch):
    for name in ("no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", nginx.base())  # the proxy itself may be local
    before = len(nginx.log())
    results = load_images([make_paper("http://127.0.0.1:1/x.jpg")], options(tmp_path, allow_private_hosts=False))
    assert results.failures[0].reason.startswith("blocked: loopback address")
    assert new_requests(nginx, before) == []


def _ips():
    v4 = st.integers(0, 2**32 - 1).map(lambda n: str(ipaddress.IPv4Address(n)))
    v6 = st.integers(0, 2**128 - 1).map(lambda n: str(ipaddress.IPv6Address(n)))
    mapped = st.integers(0, 2**32 - 1).map(lambda n: f"::ffff:{ipaddress.IPv4Address(n)}")
    sixtofour = st.integers(0, 2**32 - 1).map(lambda n: str(ipaddress.IPv6Address((0x2002 << 112) | (n << 80))))
    return st.one_of(v4, v6, mapped, sixtofour)


# An oracle written from the IANA special-purpose address registries
# (RFC 6890 and updates), independent of the ipaddress module's tables.
_BLOCKED_V4 = [ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
    "224.0.0.0/4", "240.0.0.0/4")]
_FUZZY = [ipaddress.ip_network(n) for n in ("192.0.0.0/24", "192.88.99.0/24", "2001::/23")]
_GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")
_BLOCKED_V6 = [ipaddress.ip_network(n) for n in ("2001:db8::/32", "2001::/23")]


def _expected_allowed(ip) -> bool:
    if isinstance(ip, ipaddress.IPv6Address):
        inner = ip.ipv4_mapped or ip.sixtofour
        if inner is None and ip in ipaddress.ip_network("64:ff9b::/96"):
            inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if inner is not None:
            ip = inner
        else:
            return ip in _GLOBAL_UNICAST_V6 and not any(ip in n for n in _BLOCKED_V6)
    return not any(ip in n for n in _BLOCKED_V4)


def _ips():
    v4 = st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address)
    v6 = st.integers(0, 2**128 - 1).map(ipaddress.IPv6Address)
    unicast6 = st.integers(0, 2**125 - 1).map(lambda n: ipaddress.IPv6Address((1 << 125) | n))
    mapped = st.integers(0, 2**32 - 1).map(lambda n: ipaddress.IPv6Address((0xFFFF << 32) | n))
    sixtofour = st.integers(0, 2**32 - 1).map(lambda n: ipaddress.IPv6Address((0x2002 << 112) | (n << 80)))
    nat64 = st.integers(0, 2**32 - 1).map(lambda n: ipaddress.IPv6Address((0x64FF9B << 96) | n))
    return st.one_of(v4, v6, unicast6, mapped, sixtofour, nat64)


@settings(max_examples=3000, deadline=None)
@given(_ips())
def test_only_global_unicast_addresses_pass(ip):
    unwrapped = ip.ipv4_mapped or ip.sixtofour if isinstance(ip, ipaddress.IPv6Address) else ip
    if any((unwrapped or ip).version == n.version and (unwrapped or ip) in n for n in _FUZZY):
        return  # ranges whose globality the registries split finely
    reason = netguard.blocked_reason(str(ip))
    # An adjective before "address" in every message (never "... address address").
    assert reason is None or "address" not in reason and reason[:2] != "a ", (ip, reason)
    assert (reason is None) == _expected_allowed(ip), ip


@pytest.mark.parametrize("address, reason", [
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("::ffff:127.0.0.1", "loopback"),
    ("169.254.169.254", "link-local"), ("::ffff:169.254.169.254", "link-local"), ("fe80::1", "link-local"),
    ("10.1.2.3", "private"), ("172.16.0.1", "private"), ("192.168.1.1", "private"), ("fc00::1", "private"),
    ("100.64.0.1", "non-public"), ("0.0.0.0", "unspecified"), ("::", "unspecified"),
    ("224.0.0.1", "multicast"), ("ff02::1", "multicast"), ("255.255.255.255", "private"),
    ("2002:7f00:1::", "loopback"), ("64:ff9b::a00:1", "private"), ("240.0.0.1", "private"),
    ("93.184.215.14", None), ("2606:4700::1111", None), ("::ffff:8.8.8.8", None),
])
def test_address_classes(address, reason):
    assert netguard.blocked_reason(address) == reason
    if reason is not None and "." in address and ":" not in address:
        from exporter.gates.urls import private_host_reason

        said = private_host_reason(address)
        assert f"a {reason} address" in said and "address address" not in said, said


# --------------------------------------------------------------------------
# URLs as digests write them


URL_CASES = [
    ("HTTP://127.0.0.1:{plain}/img/0.jpg", None),
    # User info hides the real host: the URL gate refuses it, as in digest links.
    ("http://user:secret@127.0.0.1:{plain}/img/0.jpg", "invalid URL"),
    ("http://127.0.0.1:{plain}/img/a b.jpg", None),
    ("http://127.0.0.1:{plain}/img/a%20b.jpg", None),
    ("http://127.0.0.1:{plain}/img/그림.jpg", None),
    ("http://127.0.0.1:{plain}/img/%EA%B7%B8%EB%A6%BC.jpg", None),
    ("http://127.0.0.1:{plain}/img/0.jpg#frag", None),
    ("http://127.0.0.1:{plain}/img/%", "HTTP 400"),
    ("http://127.0.0.1:{plain}/img/%zz.jpg", "HTTP 400"),
    ("http://127.0.0.1:99999/img/0.jpg", "invalid URL"),
    ("http://127.0.0.1:0/img/0.jpg", "invalid URL"),
    ("http://bücher.invalid/img/0.jpg", "host not found"),
    ("http://[::1/img/0.jpg", "invalid URL"),
    ("http:///img/0.jpg", "invalid URL"),
    ("ftp://127.0.0.1/img/0.jpg", "unsupported URL scheme"),
]


@pytest.mark.parametrize("template, reason", URL_CASES, ids=[c[0] for c in URL_CASES])
def test_url_spellings(nginx, tmp_path, template, reason):
    url = template.format(**nginx.ports)
    paper = make_paper(url)
    results = load_images([paper], options(tmp_path, timeout=2.0))
    if reason is None:
        assert results.failures == [] and results.get(paper) is not None
    else:
        assert [f.cause for f in results.failures] == [reason]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(st.characters(blacklist_categories=("Cs",)), max_size=30),
       st.sampled_from(["http", "HTTP", "hTTps", "https"]), st.sampled_from(["", "u:p@", "@", "::@"]))
def test_any_url_text_gives_an_image_or_a_plain_reason(nginx, tmp_path, path, scheme, userinfo):
    port = nginx.ports["tls" if scheme.lower() == "https" else "plain"]
    url = f"{scheme}://{userinfo}127.0.0.1:{port}/{path}"
    results = load_images([make_paper(url)], options(tmp_path, timeout=2.0))
    for failure in results.failures:
        # A sentence for a person, never a Python exception name.
        assert "Error" not in failure.reason and "Exception" not in failure.reason, failure.reason
        assert failure.cause in {"HTTP 400", "HTTP 404", "invalid URL", "TLS certificate error",
                                "not an image", "HTTP 403"}, failure.reason


# --------------------------------------------------------------------------
# End to end: `build` and `epub` with thumbnails on nginx


def _digest(nginx) -> str:
    lines = ["## Daily Papers (2024-03-04)", ""]
    urls = ([f"{nginx.base('plain')}/img/{i}.jpg" for i in range(0, 4)]
            + [f"{nginx.base('close')}/img/{i}.jpg" for i in range(4, 8)]
            + [f"{nginx.base('tls')}/img/{i}.jpg" for i in range(8, 12)]
            + [f"{nginx.base('plain')}/redirect/12.jpg"])
    for i, url in enumerate(urls):
        lines += [f"### [Paper {i}](https://arxiv.org/abs/2403.{10000 + i})", "", f"![]({url})", "",
                  "Vote: 3", "", "Authors: A B", "", "- summary", ""]
    return "\n".join(lines)


def test_build_embeds_every_thumbnail_and_the_next_runs_ask_for_none(nginx, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "d.md").write_text(_digest(nginx), encoding="utf-8")
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "SSL_CERT_FILE": str(nginx.ca_file)}
    runner = CliRunner()
    before = len(nginx.log())
    args = [str(tmp_path / "in"), "--allow-private-hosts", "--image-timeout", "5"]
    first = runner.invoke(main, ["build", *args, "-o", str(tmp_path / "out")], env=env)
    assert first.exit_code == 0, first.output
    # Every picture is in the book (the reader still says each loopback URL is never published).
    assert not re.search(r"\d+ thumbnails? (?:given as (?:a )?local paths? )?left out", first.output), first.output
    book = next((tmp_path / "out").glob("*.epub"))
    with zipfile.ZipFile(book) as zf:
        images = [n for n in zf.namelist() if n.startswith("EPUB/images/") and "cover" not in n]
    assert len(images) == 13
    assert len(new_requests(nginx, before)) == 14  # 13 images + one redirect
    mark = len(nginx.log())
    again = runner.invoke(main, ["build", *args, "-o", str(tmp_path / "out")], env=env)
    assert again.exit_code == 0, again.output
    # A fresh folder forces the book to be rendered again: from the cache.
    other = runner.invoke(main, ["epub", *args, "-o", str(tmp_path / "out2")], env=env)
    assert other.exit_code == 0, other.output
    assert new_requests(nginx, mark) == []
    assert (tmp_path / "out2" / book.name).read_bytes() == book.read_bytes()


def test_without_allow_private_hosts_the_run_says_why(nginx, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "d.md").write_text(_digest(nginx), encoding="utf-8")
    before = len(nginx.log())
    result = CliRunner().invoke(main, ["epub", str(tmp_path / "in"), "-o", str(tmp_path / "out")],
                                env={"XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert result.exit_code == 0, result.output
    assert "13 thumbnails left out: 13 blocked: loopback address" in result.output, result.output
    assert new_requests(nginx, before) == []


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "-1", "1e400", "ten", ""])
def test_image_timeout_must_be_a_sensible_number(tmp_path, value):
    runner = CliRunner()
    for how in (["--image-timeout", value], []):
        env = {} if how else {"DIGEST_EXPORT_IMAGE_TIMEOUT": value}
        if not how and value == "":
            continue  # an empty variable is no setting
        result = runner.invoke(main, ["epub", "-o", str(tmp_path), *how], env=env)
        assert result.exit_code == 2, (value, result.output)
        assert "--image-timeout" in result.output and "Traceback" not in result.output


# --------------------------------------------------------------------------
# A bad network costs the deadline, once per host


def test_unreachable_host_is_given_up_after_a_few_failures(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    papers = [make_paper(f"http://127.0.0.1:{port}/{i}.jpg", line=i) for i in range(6)]
    results = load_images(papers, options(tmp_path, concurrency=1))
    reasons = [f.reason for f in results.failures]
    assert reasons[:3] == ["connection refused"] * 3
    assert reasons[3:] == [f"connection refused (not tried: 3 failures in a row on 127.0.0.1)"] * 3
    assert results.failure_summary() == "6 connection refused"
    assert all(f.retry for f in results.failures)


def test_name_lookup_is_bounded_by_the_deadline(tmp_path, monkeypatch):
    import socket

    real = socket.getaddrinfo
    calls = []

    def slow(host, *args, **kw):
        if host == "slow-dns.example":
            calls.append(host)
            time.sleep(3)
        return real(host, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", slow)
    papers = [make_paper(f"http://slow-dns.example/{i}.jpg", line=i) for i in range(4)]
    start = time.monotonic()
    results = load_images(papers, options(tmp_path, timeout=0.5, allow_private_hosts=False))
    elapsed = time.monotonic() - start
    assert [f.reason for f in results.failures] == ["timed out"] * 4
    assert elapsed < 0.5 + SLACK
    assert calls == ["slow-dns.example"]  # one lookup per host and run
