"""The catalog as real clients read it: Readium's r2-opds-js (Thorium Reader's parser) and feedparser.

r2-opds-js is installed from npm by ``.ci/install-opds.sh`` outside the
repository (``$DIGEST_EXPORT_OPDS_DIR``, default ``~/.cache/digest-export-opds``);
``tests/opds_r2.js`` reads every OPDS 1.2 and 2.0 page with it, and each
book, link, facet, cover and thumbnail must be found.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import feedparser
import pytest
from catalog_helpers import ATOM, day_book, parse
from hostile_three import marked_document

from exporter.feeds.writer import FeedReport
from exporter.site.opds import write_catalog

R2_OPDS_VERSION = "1.0.47"  # .ci/install-opds.sh
OPDS_DIR = Path(os.environ.get("DIGEST_EXPORT_OPDS_DIR", Path.home() / ".cache" / "digest-export-opds"))
SCRIPT = Path(__file__).resolve().parent / "opds_r2.js"
BASE = "https://example.org/papers/"
ACQ = "http://opds-spec.org/acquisition"


def _require_r2() -> Path:
    package = OPDS_DIR / "node_modules" / "r2-opds-js" / "package.json"
    if shutil.which("node") is None or not package.is_file() or \
            json.loads(package.read_text())["version"] != R2_OPDS_VERSION:
        if os.environ.get("CI") == "true":
            pytest.fail("r2-opds-js is missing in CI: .ci/run runs .ci/install-opds.sh")
        pytest.skip("r2-opds-js is not installed (run .ci/install-opds.sh)")
    return OPDS_DIR / "node_modules"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Sixty daily books over a year end, every fifth with a cover, the first with a kepub, one unfinished."""
    from PIL import Image

    out = tmp_path_factory.mktemp("site")
    cover = out / "cover-source.jpg"
    Image.new("RGB", (600, 900), (120, 30, 30)).save(cover)
    books = {}
    first = dt.date(2024, 11, 15)
    for i in range(60):
        book = day_book(out, first + dt.timedelta(days=i))
        if i % 5 == 0:
            book = replace(book, cover=(cover.read_bytes(), "image/jpeg"))
        books[book.path] = book
    (out / "daily-papers-2024-11-15.kepub.epub").write_bytes(marked_document("x.kepub.epub"))  # the program's copy
    write_catalog(out, BASE, FeedReport(title="Daily Papers"), reader=books.__getitem__, books=list(books),
                  today=first + dt.timedelta(days=59), selections=(("llm", "Language models"),))
    cover.unlink()
    return out


def _expected_atom(path: Path) -> dict:
    root = parse(path)
    entries = []
    for entry in root.findall(f"{ATOM}entry"):
        entry_links = entry.findall(f"{ATOM}link")
        entries.append({
            "title": entry.findtext(f"{ATOM}title"),
            "acq": [(link.get("href"), link.get("type")) for link in entry_links if link.get("rel") == ACQ],
            "images": sorted((link.get("rel"), link.get("href")) for link in entry_links
                             if link.get("rel", "").startswith("http://opds-spec.org/image")),
        })
    facets: dict[str, list[str]] = {}
    for link in root.findall(f"{ATOM}link"):
        if link.get("rel") == "http://opds-spec.org/facet":
            facets.setdefault(link.get("{http://opds-spec.org/2010/catalog}facetGroup"), []).append(link.get("title"))
    feed_links = {(link.get("rel"), link.get("href")) for link in root.findall(f"{ATOM}link")
                  if link.get("rel") != "http://opds-spec.org/facet"}
    return {"entries": entries, "facets": facets, "links": feed_links}


def test_r2_opds_js_finds_every_book_link_facet_cover_and_thumbnail(site, tmp_path):
    node_modules = _require_r2()
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob("*") if p.suffix in (".opds", ".json"))
    assert len(pages) >= 14
    report = tmp_path / "r2.json"
    result = subprocess.run(["node", str(SCRIPT), str(report), *pages], cwd=site, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "NODE_PATH": str(node_modules)})
    assert result.returncode == 0, result.stderr
    read = json.loads(report.read_text(encoding="utf-8"))
    images_seen = thumbnails_seen = kepubs_seen = 0
    for name in pages:
        atom_name = name.removesuffix(".json").removesuffix(".opds") + ".opds"
        expected = _expected_atom(site / atom_name)
        found = read[name]
        assert [p["title"] for p in found["publications"]] == [e["title"] for e in expected["entries"]], name
        for pub, entry in zip(found["publications"], expected["entries"]):
            acq = [(link["href"], link["type"]) for link in pub["links"] if any(r.startswith(ACQ) for r in link["rel"])]
            assert acq == [(h.replace(".opds", ".json"), t) for h, t in entry["acq"]], (name, pub["title"])
            hrefs = sorted(i["href"] for i in pub["images"])
            assert hrefs == sorted(h for _, h in entry["images"]), (name, pub["title"])
            if name.endswith(".opds"):  # the rels survive the conversion: KOReader/Thorium tell them apart
                assert sorted((i["rel"][0], i["href"]) for i in pub["images"]) == entry["images"]
            images_seen += len(hrefs)
            thumbnails_seen += sum(h.endswith(".thumb.jpg") for h in hrefs)
            kepubs_seen += sum(t == "application/kepub+zip" for _, t in acq)
        facets = {f["title"]: [link["title"] for link in f["links"]] for f in found["facets"]}
        assert facets == expected["facets"], name
        rels = {(r, link["href"]) for link in found["links"] for r in link["rel"]}
        twin = {(r, h if name.endswith(".opds") else
                 (h.removesuffix(".opds") + ".json" if r != "alternate" else h.removesuffix(".json") + ".opds"))
                for r, h in expected["links"]}
        assert rels == twin, name
    assert thumbnails_seen and images_seen == 2 * thumbnails_seen and kepubs_seen


def test_feedparser_reads_every_page_without_bozo(site):
    for page in sorted(site.rglob("*.opds")):
        parsed = feedparser.parse(str(page))
        assert not parsed.bozo, (page, parsed.get("bozo_exception"))
        assert len(parsed.entries) == len(parse(page).findall(f"{ATOM}entry"))
