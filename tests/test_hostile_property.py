"""Property tests over whole generated digest files: every
EPUB made from them has well-formed XHTML with unique ids and a nav and NCX
matching the spine, every feed parses with the expected entry count, all
of it inert; EPUBCheck passes a handful of generated books."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import feedparser
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digest_strategies import digest_files
from epub_fixtures import epubcheck_problems
from exporter.books.epub import EpubOptions
from exporter.pipeline import build_epubs
from exporter.feeds.writer import FeedOptions
from exporter.pipeline import write_feeds
from exporter.reader.parse import read_digests
from hostile_corpus import check_epub, check_feed_file, nav_matches_spine

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
corpora = st.lists(digest_files(), min_size=1, max_size=3)


def _write(folder: Path, files: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, text in enumerate(files):
        (folder / f"{i}.md").write_text(text, encoding="utf-8")
    return folder


def _books(files: list[str], out: Path, by: str) -> tuple[list[Path], object]:
    result = read_digests([_write(out / "in", files)])
    report = build_epubs(result, EpubOptions(out_dir=out / "books", images="none", cover=False,
                                             keep_going=True, by=by))
    return [p for p, _ in report.files], result


@settings(max_examples=100, **SETTINGS)
@given(corpora, st.sampled_from(["week", "day", "all"]))
def test_generated_books_are_well_formed_and_navigable(files, by):
    with tempfile.TemporaryDirectory() as tmp:
        paths, result = _books(files, Path(tmp), by)
        days = {d.date for d in result.digests}
        assert (len(paths) > 0) == bool(days)
        for path in paths:
            check_epub(path)  # well-formed, unique ids, inert
            nav_matches_spine(path)


@settings(max_examples=100, **SETTINGS)
@given(corpora, st.sampled_from([None, "https://example.org/feeds/"]))
def test_generated_feeds_parse_with_every_entry(files, base_url):
    with tempfile.TemporaryDirectory() as tmp:
        result = read_digests([_write(Path(tmp) / "in", files)])
        expected = len({p.key for d in result.digests for p in d.papers})
        out = Path(tmp) / "out"
        report = write_feeds(result, FeedOptions(out_dir=out, all=True, base_url=base_url))
        assert report.entries == expected
        for name in ("feed.atom", "feed.rss"):
            parsed = feedparser.parse((out / name).read_bytes())
            assert not parsed.bozo, (name, parsed.get("bozo_exception"))
            assert len(parsed.entries) == expected
            check_feed_file(out / name)
        feed = json.loads((out / "feed.json").read_bytes())
        assert len(feed["items"]) == expected
        check_feed_file(out / "feed.json")


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("java") is None, reason="needs Java")
def test_epubcheck_on_a_handful_of_generated_books(tmp_path):
    paths: list[Path] = []

    @settings(max_examples=25, database=None, **SETTINGS)
    @given(corpora)
    def collect(files):
        if len(paths) >= 5:
            return
        found, _ = _books(files, tmp_path / str(len(paths)), "all")
        paths.extend(found[:1])

    collect()
    assert len(paths) >= 3
    assert epubcheck_problems(paths, tmp_path) == {}
