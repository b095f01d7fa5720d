"""A real nginx on 127.0.0.1, configured by the test, for thumbnail fetching.

Debian's ``nginx`` package, started in the foreground with a config and a
prefix folder of its own (nothing under /etc/nginx is read or written).  One
nginx serves the same folder of images on three ports, the way thumbnails
meet real servers:

* ``plain``: HTTP/1.1 with keep-alive (nginx's default), plus
  ``/redirect/NAME`` (302 to ``/img/NAME``), ``/slow/NAME`` (``limit_rate``
  1 KB/s: only the total deadline ends it), ``/gone/`` (410) and a 404 for
  anything missing;
* ``close``: ``keepalive_timeout 0``, so nginx sends ``Connection: close``
  and closes after every response;
* ``tls``: HTTPS with a certificate from a test CA made with ``trustme``.

Every request is logged as ``uri status connection-serial
requests-on-that-connection``, so tests count requests and connections.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

_CONF = """\
daemon off;
worker_processes 1;
pid {run}/nginx.pid;
error_log {run}/error.log warn;
{user}
events {{ worker_connections 256; }}
http {{
    log_format hits '$request_uri $status $connection $connection_requests';
    access_log {run}/access.log hits;
    client_body_temp_path {run}/body;
    proxy_temp_path {run}/proxy;
    fastcgi_temp_path {run}/fastcgi;
    uwsgi_temp_path {run}/uwsgi;
    scgi_temp_path {run}/scgi;
    types {{ image/png png; image/jpeg jpg; text/html html; }}
    default_type application/octet-stream;
    sendfile on;
    root {www};
    server {{
        listen 127.0.0.1:{plain};
        keepalive_requests 10000;
        location /redirect/ {{ rewrite ^/redirect/(.*)$ /img/$1 redirect; }}
        location /redirect-to/ {{ rewrite ^/redirect-to/([0-9.]+)/(.*)$ http://$1:{plain}/img/$2 redirect; }}
        location /slow/ {{ alias {www}/img/; limit_rate 1k; }}
        location /gone/ {{ return 410; }}
    }}
    server {{
        listen 127.0.0.1:{close};
        keepalive_timeout 0;
    }}
    server {{
        listen 127.0.0.1:{tls} ssl;
        ssl_certificate {run}/server.pem;
        ssl_certificate_key {run}/server.key;
        keepalive_requests 10000;
    }}
}}
"""


@dataclass
class Nginx:
    www: Path
    run: Path
    ports: dict[str, int]
    ca_file: Path

    def base(self, kind: str = "plain") -> str:
        scheme = "https" if kind == "tls" else "http"
        return f"{scheme}://127.0.0.1:{self.ports[kind]}"

    def log(self) -> list[tuple[str, int, int, int]]:
        """(uri, status, connection serial, request number on it) per request so far."""
        path = self.run / "access.log"
        rows = []
        for line in path.read_text().splitlines() if path.exists() else []:
            uri, status, conn, nreq = line.split(" ")
            rows.append((uri, int(status), int(conn), int(nreq)))
        return rows


def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None)


def require_nginx() -> str:
    """nginx's path; skip without it, except in CI, where it must be there."""
    binary = nginx_binary()
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("nginx is missing in CI: .ci/run installs Debian's nginx package")
        pytest.skip("nginx is not installed (Debian package nginx)")
    return binary


def start_nginx(folder: Path, www: Path) -> tuple[subprocess.Popen, Nginx]:
    import trustme

    binary = require_nginx()
    run = folder / "run"
    run.mkdir(parents=True)
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert.private_key_pem.write_to_path(str(run / "server.key"))
    cert.cert_chain_pems[0].write_to_path(str(run / "server.pem"))
    ca.cert_pem.write_to_path(str(run / "ca.pem"))
    ports = dict(zip(("plain", "close", "tls"), _free_ports(3)))
    # As root, nginx's workers would switch to "nobody", who cannot read a
    # test's private temporary folder.
    user = "user root;" if os.geteuid() == 0 else ""
    (run / "nginx.conf").write_text(_CONF.format(run=run, www=www, user=user, **ports))
    proc = subprocess.Popen([binary, "-p", str(run), "-e", str(run / "error.log"),
                             "-c", str(run / "nginx.conf")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    server = Nginx(www, run, ports, run / "ca.pem")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"nginx did not start: {proc.stderr.read().decode()}"
                               f"{(run / 'error.log').read_text() if (run / 'error.log').exists() else ''}")
        try:
            for port in ports.values():
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, server
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("nginx did not listen within 10 s")


def stop_nginx(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
