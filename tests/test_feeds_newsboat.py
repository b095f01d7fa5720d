"""The feeds in a real feed reader: newsboat (Debian package) reloads
feed.atom and feed.rss from file:// URLs; what it stored in its cache is
what its users see.  Every paper's whole author list shows (not only the
last name, as one dc:creator per author gave), titles are plain text, and
both formats agree."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess

import pytest
from click.testing import CliRunner

from exporter.cli import main
from exporter.reader import read_digests
from exporter.resources import sample_dir


def require_newsboat() -> str:
    binary = shutil.which("newsboat")
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("newsboat is missing in CI: .ci/install-feeds.sh installs Debian's newsboat package")
        pytest.skip("newsboat is not installed (Debian package newsboat)")
    return binary


def test_newsboat_shows_every_author_and_plain_titles(tmp_path):
    newsboat = require_newsboat()
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["feed", str(sample_dir()), "-o", str(out), "--all", "-q",
                                       "--base-url", "https://example.org/p/"])
    assert result.exit_code == 0, result.output
    seen: dict[str, dict[str, str]] = {}
    for kind in ("rss", "atom"):
        # One cache each: newsboat keys items on their guid/id, the same
        # paper in both feeds.
        (tmp_path / "urls").write_text(f"file://{out}/feed.{kind}\n", encoding="utf-8")
        (tmp_path / "config").write_text("", encoding="utf-8")
        cache = tmp_path / f"{kind}.db"
        subprocess.run([newsboat, "-u", str(tmp_path / "urls"), "-c", str(cache), "-C", str(tmp_path / "config"),
                        "-x", "reload"], check=True, capture_output=True, timeout=60,
                       env={**os.environ, "HOME": str(tmp_path)})
        with sqlite3.connect(cache) as db:
            seen[kind] = dict(db.execute("SELECT title, author FROM rss_item").fetchall())
    papers = {p.title: p for d in read_digests([sample_dir()]).digests for p in d.papers}
    assert seen["rss"] == seen["atom"]
    assert len(seen["atom"]) == len({p.key for p in papers.values()})  # one entry per paper
    several = 0
    for title, author in seen["atom"].items():
        assert re.search(r"<[A-Za-z/!?]", title) is None, title  # plain text, no tag
        paper = next((p for t, p in papers.items() if t.replace("$", "") in title or title in t), None)
        if paper is not None and paper.authors:
            assert author == ", ".join(paper.authors), (title, author)
            several += len(paper.authors) > 1
    assert several >= 3  # the sample has papers with many authors
