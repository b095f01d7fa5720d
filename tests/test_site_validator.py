"""The catalog's pages and the feeds, as the W3C Feed Validator reads them.

The validator cannot be shipped or fetched in CI: with DIGEST_EXPORT_FEEDVALIDATOR naming the
``src`` folder of a checkout of w3c/feedvalidator, every page is validated and no error is
allowed.  Without it, the rules it was seen to hold the catalog to are checked here.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from exporter.cli import main
from exporter.resources import sample_dir

ATOM = "{http://www.w3.org/2005/Atom}"
BASE = "https://example.org/p/"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("validated-site")
    config = tmp / "digest-export.toml"
    config.write_text('devices = ["generic", "kobo"]\n[[selection]]\nname = "top"\ntitle = "Top 2 a day"\n'
                      "top = 2\n", encoding="utf-8")
    out = tmp / "out"
    r = CliRunner().invoke(main, ["--config", str(config), "build", str(sample_dir()), "-o", str(out),
                                  "--base-url", BASE, "--archive", "--images", "none", "--state",
                                  str(tmp / "state.json")])
    assert r.exit_code == 0, r.output
    return out


def pages(out: Path) -> list[Path]:
    found = sorted(p for p in out.rglob("*") if p.suffix in (".opds", ".atom", ".rss"))
    assert any(p.name == "catalog.opds" for p in found) and any(p.parent.name == "catalog" for p in found)
    return found


def test_every_entry_has_content_and_a_known_language_element(site):
    for path in pages(site):
        if path.suffix == ".rss":
            continue
        tree = etree.parse(str(path))
        # dc:language is Dublin Core 1.1's: the validator rejects dcterms:language as undefined
        assert not tree.getroot().nsmap.get("dc") or tree.getroot().nsmap["dc"] == "http://purl.org/dc/elements/1.1/"
        assert not tree.findall(".//{http://purl.org/dc/terms/}language"), path
        for entry in tree.iter(ATOM + "entry"):
            # RFC 4287 4.1.1.1: no alternate link, so content
            has_alternate = any(link.get("rel", "alternate") == "alternate" for link in entry.iter(ATOM + "link"))
            assert has_alternate or entry.find(ATOM + "content") is not None, path


@pytest.mark.skipif(not os.environ.get("DIGEST_EXPORT_FEEDVALIDATOR"),
                    reason="DIGEST_EXPORT_FEEDVALIDATOR names no checkout of the W3C Feed Validator")
def test_the_w3c_feed_validator_finds_no_error(site):
    sys.path.insert(0, os.environ["DIGEST_EXPORT_FEEDVALIDATOR"])
    import feedvalidator
    from feedvalidator import compatibility

    errors = {}
    for path in pages(site):
        url = BASE + path.relative_to(site).as_posix()
        with open(path, "rb") as f:
            events = feedvalidator.validateStream(f, firstOccurrenceOnly=1, base=url)["loggedEvents"]
        bad = [type(e).__name__ for e in compatibility.AA(events) if isinstance(e, feedvalidator.logging.Error)]
        if bad:
            errors[str(path.relative_to(site))] = bad
    assert errors == {}
