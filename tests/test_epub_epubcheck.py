"""EPUBCheck 5: 0 errors and 0 warnings, on many kinds of books, in one Java start."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from epub_fixtures import EN, day_md, epubcheck_problems, paper_md, write_week
from exporter.books.epub import EpubOptions
from exporter.pipeline import build_epubs
from exporter.reader.parse import read_digests
from exporter.resources import sample_dir
from test_epub import fake_images_module, small_png

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("java") is None, reason="needs Java")]


def hostile(folder):
    folder.mkdir(parents=True)
    titles = ['<script>alert(1)</script>', 'AtP*: `x` _y_ [Re] $\\frac{a}{b}$ & Q&A >80%',
              'LLM$\\times$MapReduce ]]> <!-- --> \u202e', '"quoted" \'single\'']
    papers = [paper_md(f"2403.1000{i}", t, text="**[x](javascript:alert(1))** <img src=x> & <b>",
                       thumb="file:///etc/passwd" if i == 0 else None)
              for i, t in enumerate(titles)]
    papers.append("### Paper with no link\n\nVote: -\n\nAuthors:\n\n- text\n")
    (folder / "h.md").write_text(day_md("2024-03-04", papers, title="<b>Evil</b> & Co"), encoding="utf-8")
    return folder


def test_epubcheck_reports_nothing(tmp_path, monkeypatch):
    out = tmp_path / "out"
    corpus = tmp_path / "corpus"
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "corpus.py"
    subprocess.run([sys.executable, str(script), str(corpus), "--days", "10", "--papers", "120"],
                   check=True, capture_output=True)
    runs = [
        ([sample_dir()], {}),
        ([corpus], {"keep_going": True}),  # videos, TeX titles, duplicates, labels, nested lists
        ([corpus], {"by": "all", "title": "코퍼스 전체", "keep_going": True}),
        ([hostile(tmp_path / "hostile")], {"keep_going": True}),
        ([write_week(tmp_path / "en", text=EN)], {"by": "month", "grayscale": True}),
    ]
    paths = []
    for i, (inputs, kw) in enumerate(runs):
        report = build_epubs(read_digests(inputs), EpubOptions(out_dir=out / str(i), images="none", **kw))
        paths += [p for p, _ in report.files]
    # A day too large for one document, in parts (generic and KEPUB), its papers repeated later.
    with monkeypatch.context() as m:
        m.setattr("exporter.books.epub.PART_BUDGET", 20_000)
        report = build_epubs(read_digests([corpus]), EpubOptions(
            out_dir=out / "parts", images="none", by="all", keep_going=True, devices=("generic", "kobo")))
    parted = [p for p, _ in report.files]
    assert len(parted) == 2 and all("EPUB/day-2024-01-01-2.xhtml" in zipfile.ZipFile(p).namelist() for p in parted)
    paths += parted
    # thumbnails embedded (stand-in for exporter.images with its interface)
    monkeypatch.setitem(sys.modules, "exporter.images", fake_images_module(small_png()))
    report = build_epubs(read_digests([write_week(tmp_path / "img")]),
                         EpubOptions(out_dir=out / "img", images="embed"))
    assert report.images == 3
    paths += [p for p, _ in report.files]
    assert len(paths) >= 7

    assert epubcheck_problems(paths, tmp_path) == {}


def test_the_harness_reports_a_broken_book(tmp_path):
    """The 0/0 assertions above would be worthless if the harness missed errors."""
    import zipfile

    src = write_week(tmp_path / "in", days=1, text=EN)
    report = build_epubs(read_digests([src]), EpubOptions(out_dir=tmp_path / "out", images="none"))
    good = report.files[0][0]
    broken = tmp_path / "broken.epub"
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(broken, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.endswith(".xhtml") and "day-" in info.filename:
                data = data.replace(b"</section>", b"", 1)  # not well-formed any more
            zout.writestr(info, data)
    problems = epubcheck_problems([good, broken], tmp_path)
    assert list(problems) == [str(broken)]
    assert any(p.startswith(("FATAL", "ERROR")) for p in problems[str(broken)])
