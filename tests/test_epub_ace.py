"""Ace by DAISY reports no violation, of any impact, on every kind of book.

The accessibility metadata (docs/accessibility.md) is a claim; this checks
it with the checker publishers use: axe-core in Chromium on every content
document plus Ace's EPUB package rules.  All books go through one node
process and one Chromium start (tests/ace_batch.js).
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import ace_check
from ace_check import require_ace, run_ace, violations
from epub_fixtures import EN, user_templates, write_week
from exporter.books.epub import EpubOptions
from exporter.pipeline import build_epubs
from exporter.reader.parse import read_digests
from exporter.resources import sample_dir
from hostile_corpus import write_hostile

# One xdist worker for the module: its tests share one Ace run (ace_run), made once.
pytestmark = pytest.mark.xdist_group("test_epub_ace")


def test_missing_ace_skips_locally_and_fails_on_ci(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGEST_EXPORT_ACE_DIR", str(tmp_path))
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="needs Ace by DAISY 1.4.6 .*not found"):
        require_ace()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true but Ace cannot run"):
        require_ace()
    assert ace_check.ACE_VERSION in (Path(__file__).parents[1] / ".ci" / "install-ace.sh").read_text()


def _corpus(folder: Path) -> Path:
    """benchmarks/corpus.py: videos, TeX titles, repeats, labels, nested lists."""
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "corpus.py"
    subprocess.run([sys.executable, str(script), str(folder), "--days", "4", "--papers", "40"],
                   check=True, capture_output=True)
    return folder


def _without_language(good: Path, broken: Path) -> Path:
    """*good* with the languages of its package and first chapter removed."""
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(broken, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.endswith(".opf"):
                data = data.replace(b' xml:lang="en"', b"", 1)
            if "/day-" in info.filename:
                data = data.replace(b' lang="en" xml:lang="en"', b"", 1)
            zout.writestr(info, data)
    return broken


@pytest.fixture(scope="module")
def ace_run(tmp_path_factory) -> tuple[dict[str, list[Path]], dict[Path, dict]]:
    """Every kind of book the project makes (by kind), plus one broken on
    purpose (kind "broken"), and Ace's report on each: one Chromium start."""
    require_ace()
    tmp = tmp_path_factory.mktemp("ace-books")
    cache = tmp / "cache"  # the sample's thumbnails are local files: no network
    (tmp / "hostile").mkdir()
    sample = [sample_dir()]
    kinds = {
        "sample, thumbnails, week (ko)": (sample, dict(images="embed", cache_dir=cache)),
        # a Korean and an English day
        "sample, thumbnails, grayscale, by day": (sample, dict(
            images="embed", cache_dir=cache, grayscale=True, by="day",
            date_from=dt.date(2024, 3, 4), date_to=dt.date(2024, 3, 5))),
        "Korean week, text only": ([write_week(tmp / "ko")], dict(images="none")),
        "English, by month": ([write_week(tmp / "en", text=EN)], dict(images="none", by="month")),
        "corpus, by all": ([_corpus(tmp / "corpus")], dict(images="none", by="all", keep_going=True)),
        "hostile markup": ([write_hostile(tmp / "hostile")],
                           dict(images="embed", cache_dir=cache, image_timeout=2, keep_going=True)),
        "user template": ([write_week(tmp / "tpl-in", days=2)],
                          dict(images="none", templates=user_templates(tmp / "tpl"))),
    }
    books = {}
    for i, (kind, (inputs, options)) in enumerate(kinds.items()):
        report = build_epubs(read_digests(inputs), EpubOptions(out_dir=tmp / f"out{i}", **options))
        books[kind] = [path for path, _ in report.files]
        assert books[kind], kind
    books["broken"] = [_without_language(books["English, by month"][0], tmp / "broken.epub")]
    paths = [path for kind_paths in books.values() for path in kind_paths]
    return books, dict(zip(paths, run_ace(paths, tmp / "reports")))


@pytest.mark.slow
def test_ace_finds_no_violation_in_any_kind_of_book(ace_run):
    books, reports = ace_run
    found = {}
    for kind, paths in books.items():
        for path in paths:
            if kind != "broken" and (lines := violations(reports[path])):
                found[f"{kind} ({path.name})"] = lines
    assert found == {}, "Ace violations:\n" + "\n".join(
        f"{book}:\n    " + "\n    ".join(lines) for book, lines in found.items())


@pytest.mark.slow
def test_the_ace_harness_reports_a_violation(ace_run):
    """The assertion above would be worthless if the harness missed violations:
    a book whose OPF and chapter have lost their language must fail, in the
    package rules and in axe-core's."""
    books, reports = ace_run
    report = reports[books["broken"][0]]
    titles = {item["earl:test"]["dct:title"] for subject in report["assertions"]
              for item in subject.get("assertions", [])}
    assert {"epub-lang", "html-has-lang"} <= titles, titles
    assert any("epub-lang" in line for line in violations(report))
