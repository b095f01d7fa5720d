"""Ace by DAISY reports no violation, of any impact, on every kind of book.

The accessibility metadata (docs/accessibility.md) is a claim; this checks
it with the checker publishers use: axe-core in Chromium on every content
document plus Ace's EPUB package rules.  All books go through one node
process and one Chromium start (tests/ace_batch.js).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import ace_check
from ace_check import ace_violations, require_ace, run_ace
from epub_fixtures import EN, user_templates, write_week
from exporter.epub import EpubOptions, build_epubs
from exporter.reader import read_digests
from exporter.resources import sample_dir
from hostile_corpus import write_hostile


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


@pytest.fixture(scope="module")
def books(tmp_path_factory) -> dict[str, list[Path]]:
    """Every kind of book the project makes, by kind."""
    require_ace()
    tmp = tmp_path_factory.mktemp("ace-books")
    cache = tmp / "cache"  # the sample's thumbnails are local files: no network
    (tmp / "hostile").mkdir()
    sample = [sample_dir()]
    kinds = {
        "sample, thumbnails, week (ko)": (sample, dict(images="embed", cache_dir=cache)),
        "sample, thumbnails, grayscale, by day": (sample, dict(images="embed", cache_dir=cache,
                                                               grayscale=True, by="day")),
        "Korean week, text only": ([write_week(tmp / "ko")], dict(images="none")),
        "English, by month": ([write_week(tmp / "en", text=EN)], dict(images="none", by="month")),
        "corpus, by all": ([_corpus(tmp / "corpus")], dict(images="none", by="all", keep_going=True)),
        "hostile markup": ([write_hostile(tmp / "hostile")],
                           dict(images="embed", cache_dir=cache, image_timeout=2, keep_going=True)),
        "user template": ([write_week(tmp / "tpl-in", days=2)],
                          dict(images="none", templates=user_templates(tmp / "tpl"))),
    }
    built = {}
    for i, (kind, (inputs, options)) in enumerate(kinds.items()):
        report = build_epubs(read_digests(inputs), EpubOptions(out_dir=tmp / f"out{i}", **options))
        built[kind] = [path for path, _ in report.files]
        assert built[kind], kind
    return built


@pytest.mark.slow
def test_ace_finds_no_violation_in_any_kind_of_book(books, tmp_path):
    paths = [path for kind_paths in books.values() for path in kind_paths]
    found = ace_violations(paths, tmp_path)
    kinds = {str(p): kind for kind, kind_paths in books.items() for p in kind_paths}
    assert found == {}, "Ace violations:\n" + "\n".join(
        f"{kinds[path]} ({Path(path).name}):\n    " + "\n    ".join(lines) for path, lines in found.items())


@pytest.mark.slow
def test_the_ace_harness_reports_a_violation(books, tmp_path):
    """The assertion above would be worthless if the harness missed violations:
    a book whose OPF and chapters have lost their language must fail, in the
    package rules and in axe-core's."""
    import zipfile

    good = books["English, by month"][0]
    broken = tmp_path / "broken.epub"
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(broken, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.endswith(".opf"):
                data = data.replace(b' xml:lang="en"', b"", 1)
            if "/day-" in info.filename:
                data = data.replace(b' lang="en" xml:lang="en"', b"", 1)
            zout.writestr(info, data)
    (report,) = run_ace([broken], tmp_path)
    titles = {item["earl:test"]["dct:title"] for subject in report["assertions"]
              for item in subject.get("assertions", [])}
    assert {"epub-lang", "html-has-lang"} <= titles, titles
