"""epub.js (npm epubjs), the reading system of many web readers, opens every kind of book in
every device profile in headless Chromium: each spine item renders, each image loads, each
table-of-contents entry resolves, and nothing is logged as an error.  One Chromium start."""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from ace_check import ace_dir, browser, missing
from device_books import make_device_books
from exporter.books.devices import NAMES

pytestmark = pytest.mark.slow

EPUBJS_VERSION = "0.3.93"  # .ci/install-devices.sh
RUNNER = Path(__file__).with_name("epubjs_books.js")
HARNESS = ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>epub.js</title><link rel="icon" href="data:,">'
           '<script src="lib/jszip.min.js"></script><script src="lib/epub.min.js"></script></head>'
           '<body><div id="viewer"></div></body></html>\n')


def epubjs_dir() -> Path:
    default = Path.home() / ".cache" / "digest-export-epubjs"
    return Path(os.environ.get("DIGEST_EXPORT_EPUBJS_DIR") or default)


def require_epubjs() -> None:
    package = epubjs_dir() / "node_modules" / "epubjs" / "package.json"
    found = json.loads(package.read_text(encoding="utf-8"))["version"] if package.is_file() else None
    reason = missing() or (None if found == EPUBJS_VERSION else
                           f"needs epubjs {EPUBJS_VERSION} in {epubjs_dir()} (bash .ci/install-devices.sh)")
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but epub.js cannot run: {reason}", pytrace=False)
    pytest.skip(reason)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def open_with_epubjs(root: Path, books: list[Path]) -> dict[Path, dict]:
    """Serve *root* (holding *books*) on 127.0.0.1 with the harness page, and open each book."""
    lib = root / "lib"
    lib.mkdir()
    shutil.copy(epubjs_dir() / "node_modules" / "epubjs" / "dist" / "epub.min.js", lib)
    shutil.copy(epubjs_dir() / "node_modules" / "jszip" / "dist" / "jszip.min.js", lib)
    (root / "index.html").write_text(HARNESS, encoding="utf-8")
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}/"
    urls = {base + book.relative_to(root).as_posix(): book for book in books}
    try:
        env = dict(os.environ, PUPPETEER_EXECUTABLE_PATH=browser() or "", PUPPETEER_SKIP_DOWNLOAD="1")
        proc = subprocess.run(["node", str(RUNNER), str(ace_dir()), base + "index.html", *urls],
                              capture_output=True, text=True, timeout=600, env=env)
    finally:
        server.shutdown()
        server.server_close()
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {urls[url]: result for url, result in json.loads(proc.stdout).items()}


def test_epubjs_opens_every_kind_of_book_in_every_profile(tmp_path):
    require_epubjs()
    made = make_device_books(tmp_path / "books", NAMES)
    books = [p for paths in made.values() for p in paths]
    # a book made broken on purpose: an image that is not in it (the check must see it)
    broken = tmp_path / "books" / "broken.epub"
    _without_images(made[("week, thumbnails", "generic")][0], broken)
    results = open_with_epubjs(tmp_path, books + [broken])
    found = {}
    for book in books:
        r = results[book]
        if r["problems"] or r["rendered"] != r["spine"] or not r["nav"]:
            found[book.name] = r
    assert found == {}, json.dumps(found, indent=1, ensure_ascii=False)[:4000]
    assert all(results[p]["images"] > 1 for p in made[("week, thumbnails", "kobo")])  # cover and thumbnails
    assert any("did not load" in p for p in results[broken]["problems"]), results[broken]


def _without_images(good: Path, broken: Path) -> None:
    import zipfile

    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(broken, "w") as zout:
        for info in zin.infolist():
            if "/images/" in info.filename and not info.filename.endswith("cover.jpg"):
                continue
            zout.writestr(info, zin.read(info))
