"""docs/serving.md's nginx configuration, run by a real nginx, and KOReader's OPDS sync against it.

The ``server`` block is taken from the document as written (only its port
and folder replaced), so the document cannot drift from what is tested.

The sync replays what KOReader's OPDS plugin does (koreader
plugins/opds.koplugin/opdsbrowser.lua, ``fillPendingSyncs``,
``getSyncDownloadList``, ``downloadPendingSyncs``, ``getFileName``):
the first entry of the synced feed is the newest; each entry's first
acquisition link is its download; ``next`` pages are followed until the
download URL remembered from the last sync; at most 50 books a sync; the
marker becomes the first entry's first link; a file already on the device
(saved as ``author - title.epub``) is not fetched again.
"""

from __future__ import annotations

import datetime as dt
import gzip
import http.client
import os
import re
import subprocess
import time
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from catalog_helpers import ATOM, UTC, links, write_days
from nginx_server import _free_ports, require_nginx

from exporter.feeds.writer import FeedReport
from exporter.site.opds import Book, write_catalog

DOC = Path(__file__).resolve().parent.parent / "docs" / "serving.md"
OPDS = "application/atom+xml;profile=opds-catalog;kind=acquisition"

_HEAD = """daemon off;
worker_processes 1;
pid {run}/nginx.pid;
error_log {run}/error.log warn;
{user}
events {{ worker_connections 64; }}
http {{
    access_log {run}/access.log;
    client_body_temp_path {run}/body;
    proxy_temp_path {run}/proxy;
    fastcgi_temp_path {run}/fastcgi;
    uwsgi_temp_path {run}/uwsgi;
    scgi_temp_path {run}/scgi;
    types {{ text/html html; image/jpeg jpg; image/png png; }}
    default_type application/octet-stream;
{server}
}}
"""


def doc_server_block() -> str:
    """The ```nginx block of docs/serving.md."""
    (block,) = re.findall(r"```nginx\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    return block


@pytest.fixture
def served(tmp_path):
    """(folder, base URL) of an nginx run with the documented configuration."""
    binary = require_nginx()
    www, run = tmp_path / "www", tmp_path / "run"
    www.mkdir()
    run.mkdir()
    (port,) = _free_ports(1)
    server = doc_server_block()
    server = server.replace("listen 80;", f"listen 127.0.0.1:{port};").replace("/srv/digest-export/out", str(www))
    assert str(www) in server and str(port) in server
    user = "user root;" if os.geteuid() == 0 else ""
    (run / "nginx.conf").write_text(_HEAD.format(run=run, user=user, server=server))
    proc = subprocess.Popen([binary, "-p", str(run), "-e", str(run / "error.log"), "-c", str(run / "nginx.conf")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(proc.stderr.read().decode() if proc.poll() is not None else "no nginx")
                time.sleep(0.05)
        yield www, f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        proc.wait(5)


def request(url: str, method: str = "GET", **headers: str) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), headers=headers)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def test_the_documented_nginx_configuration_serves_the_catalog_right(served):
    www, base = served
    write_days(www, dt.date(2024, 1, 1), 40, base_url=base, selections=(("llm", "LLM"),))
    (www / "daily-papers-2024-01-01.kepub.epub").write_bytes(b"PK kepub " * 100)
    (www / "feed.json").write_text('{"version": "https://jsonfeed.org/version/1.1"}')
    write_days(www / "llm", dt.date(2024, 1, 1), 2, base_url=base + "llm/")
    expected = {
        "catalog.opds": OPDS, "catalog/page-1.opds": OPDS, "catalog/year-2024.opds": OPDS,
        "catalog-current.opds": OPDS, "llm/catalog.opds": OPDS,
        "catalog.json": "application/opds+json", "catalog/page-1.json": "application/opds+json",
        "catalog/crawlable.json": "application/opds+json", "llm/catalog.json": "application/opds+json",
        "llm/catalog/year-2024.json": "application/opds+json",
        "daily-papers-2024-01-01.epub": "application/epub+zip",
        "daily-papers-2024-01-01.kepub.epub": "application/kepub+zip",
        "feed.json": "application/feed+json",
    }
    for name, media_type in expected.items():
        status, headers, body = request(base + name, **{"Accept-Encoding": "identity"})
        assert (status, headers["content-type"]) == (200, media_type), name
        assert "content-encoding" not in headers, name
        assert body == (www / name).read_bytes(), name
        assert headers["last-modified"], name
        status, head_headers, head_body = request(base + name, "HEAD")
        assert (status, head_body, head_headers["content-length"]) == (200, b"", str(len(body))), name
        status, _, _ = request(base + name, **{"If-Modified-Since": headers["last-modified"]})
        assert status == 304, name
    # a client that asks for gzip gets it; one that asks for identity (above) does not
    status, headers, body = request(base + "catalog.opds", **{"Accept-Encoding": "gzip"})
    assert headers.get("content-encoding") == "gzip"
    assert gzip.decompress(body) == (www / "catalog.opds").read_bytes()


# -- KOReader's sync ---------------------------------------------------------------

def _koreader_items(url: str) -> tuple[list[dict], str | None]:
    """genItemTableFromCatalog: entries (title, first author, acquisitions) and the next page's URL."""
    from lxml import etree

    status, headers, body = request(url, **{"Accept-Encoding": "identity"})
    assert status == 200 and "content-encoding" not in headers, url
    root = etree.fromstring(body)
    # hrefs[rel] only for links of an atom+xml type, made absolute
    nxt = next((urljoin(url, link.get("href")) for link in links(root, "next")
                if "application/atom+xml" in (link.get("type") or "")), None)
    items = []
    for entry in root.findall(f"{ATOM}entry"):
        acq = [urljoin(url, link.get("href")) for link in entry.findall(f"{ATOM}link")
               if re.match(r"^http://opds-spec\.org/acquisition", link.get("rel") or "")]
        authors = [a.findtext(f"{ATOM}name") for a in entry.findall(f"{ATOM}author")]
        items.append({"title": entry.findtext(f"{ATOM}title"),
                      # one author: its name; several: a table of names, joined by ", "
                      "author": ", ".join(authors) if authors else "Unknown Author", "acquisitions": acq})
    return items, nxt


def koreader_sync(catalog_url: str, device: Path, marker: dict, fetched: list[str], max_dl: int = 50) -> None:
    """One sync of the server, as KOReader's fillPendingSyncs + downloadPendingSyncs."""
    sync_table, fetch_url, up_to_date = [], catalog_url, False
    while len(sync_table) < max_dl and not up_to_date:  # getSyncDownloadList
        items, nxt = _koreader_items(fetch_url)
        if not items:
            return
        if items[0]["acquisitions"][0] == marker.get("last_download"):
            return
        for item in items:
            href = item["acquisitions"][0]
            if href == marker.get("last_download"):
                up_to_date = True
                break
            sync_table.append(item)
        if not nxt:
            break
        fetch_url = nxt
    pending = []
    for i, item in enumerate(sync_table):
        for j, href in enumerate(item["acquisitions"]):
            if i == 0 and j == 0:
                marker["last_download"] = href
            name = f"{item['author']} - {item['title']}.epub"
            if len(pending) < max_dl:
                pending.append((device / name.replace("/", "_"), href))
            break  # only the first link
    for path, href in pending:
        if path.exists():  # a file already on the device is not fetched again
            continue
        status, _, body = request(href, **{"Accept-Encoding": "identity"})
        assert status == 200
        path.write_bytes(body)
        fetched.append(href)


def _weekly_book(www: Path, monday: dt.date, days_written: int) -> Book:
    """The book of the week of *monday*, as written after *days_written* of its days."""
    path = www / f"daily-papers-{monday.isocalendar()[0]}-W{monday.isocalendar()[1]:02d}.epub"
    path.write_bytes(b"PK" + b"".join(b"day %d of the week\n" % i for i in range(days_written)))
    last = monday + dt.timedelta(days=days_written - 1)
    return Book(path=path, title=f"Daily Papers {path.stem[-8:]}", identifier=f"urn:x-test:{path.stem}",
                modified=dt.datetime(last.year, last.month, last.day, 6, tzinfo=UTC), creators=("Daily Papers",),
                language="en", description=None, series="Daily Papers", series_index=None,
                size=path.stat().st_size, period=(monday, monday + dt.timedelta(days=6)), cover=None)


def test_koreader_sync_day_by_day_gets_every_finished_book_once_and_no_partial_one(served, tmp_path):
    www, base = served
    device = tmp_path / "device"
    device.mkdir()
    marker: dict = {}
    fetched: list[str] = []
    first = dt.date(2024, 1, 1)  # a Monday
    books: dict[Path, Book] = {}
    for n in range(7 * 9):  # nine weeks, a build and a sync each day
        day = first + dt.timedelta(days=n)
        monday = day - dt.timedelta(days=day.weekday())
        book = _weekly_book(www, monday, day.weekday() + 1)
        books[book.path] = book
        write_catalog(www, base, FeedReport(title="Daily Papers"), reader=books.__getitem__, books=list(books),
                      today=day + dt.timedelta(days=1) if day.weekday() == 6 else day)
        koreader_sync(base + "catalog.opds", device, marker, fetched)
    finished = [p for p, b in books.items() if b.period[1] < first + dt.timedelta(days=7 * 9)]
    assert len(finished) == 9
    assert sorted(fetched) == sorted(base + p.name for p in finished)  # each once
    on_device = sorted(device.iterdir())
    assert len(on_device) == 9
    for path in on_device:  # whole books, as finished, never a partial week
        book_file = www / ("daily-papers-" + path.name.split("Daily Papers ")[-1].removesuffix(".epub") + ".epub")
        assert path.read_bytes() == book_file.read_bytes()
        assert path.read_bytes().count(b"of the week") == 7


def test_koreader_sync_of_a_large_archive_takes_the_50_newest_then_each_new_book(served, tmp_path):
    """The first sync of 120 books gets 50 (KOReader's limit; it then marks the newest as done); each
    later sync gets the new books, following ``next`` across page boundaries."""
    www, base = served
    device = tmp_path / "device"
    device.mkdir()
    marker: dict = {}
    fetched: list[str] = []
    write_days(www, dt.date(2024, 1, 1), 120, base_url=base)
    koreader_sync(base + "catalog.opds", device, marker, fetched)
    assert len(fetched) == 50 and fetched[0].endswith("2024-04-29.epub")
    for extra in (1, 30):  # one day, then a month away: more than a page of new books
        before = len(fetched)
        write_days(www, dt.date(2024, 1, 1), 120 + extra + (1 if extra == 30 else 0), base_url=base)
        koreader_sync(base + "catalog.opds", device, marker, fetched)
        assert len(fetched) - before == extra
    assert len(set(fetched)) == len(fetched)


# -- KOReader's own code, headless ---------------------------------------------------

KOREADER = os.environ.get("DIGEST_EXPORT_KOREADER")  # a koreader/koreader checkout


@pytest.mark.skipif(not KOREADER, reason="DIGEST_EXPORT_KOREADER names no KOReader checkout")
def test_koreaders_own_sync_code_day_by_day(served, tmp_path):
    """tests/koreader_sync.lua runs KOReader's opdsbrowser.lua (its UI stubbed) with LuaJIT, Debian's
    lua-socket and lua-filesystem: three weeks of daily builds and syncs end with each finished book
    on the device once, whole, and nothing else."""
    import shutil

    if shutil.which("luajit") is None:
        pytest.skip("luajit is not installed (Debian packages luajit, lua-socket, lua-filesystem)")
    www, base = served
    device, state = tmp_path / "device", tmp_path / "koreader.state"
    device.mkdir()
    script = Path(__file__).resolve().parent / "koreader_sync.lua"
    first, books, fetched = dt.date(2024, 1, 1), {}, []
    for n in range(21):
        day = first + dt.timedelta(days=n)
        book = _weekly_book(www, day - dt.timedelta(days=day.weekday()), day.weekday() + 1)
        books[book.path] = book
        write_catalog(www, base, FeedReport(title="Daily Papers"), reader=books.__getitem__, books=list(books),
                      today=day + dt.timedelta(days=1) if day.weekday() == 6 else day)
        run = subprocess.run(["luajit", str(script), KOREADER, base + "catalog.opds", str(device), str(state)],
                             capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        fetched += [line.removeprefix("downloaded ") for line in run.stdout.splitlines()]
    names = sorted(Path(p).name for p in fetched)
    assert names == sorted(f"Daily Papers - Daily Papers 2024-W0{w}.epub" for w in (1, 2, 3))
    for path in device.iterdir():
        assert path.read_bytes().count(b"of the week") == 7
