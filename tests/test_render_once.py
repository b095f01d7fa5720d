"""A paper in several books of one run (the whole week's and each selection's it passes) is
rendered once, in worker processes too, and the books are the bytes they would be otherwise."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from exporter.books import epub as epub_module
from exporter.books.workers import can_fork
from exporter.cli import main

from test_build_selections import day  # the same small digests

CONFIG = '''
[[selection]]
name = "top"
top = 2
[[selection]]
name = "all-again"
min-votes = 0
'''


def write_logs(logs: Path) -> int:
    """Five weeks of three papers a day on Mondays; returns how many papers."""
    logs.mkdir()
    n = 0
    for week in range(5):
        date = dt.date(2024, 3, 4) + dt.timedelta(weeks=week)
        (logs / f"{date}.md").write_text(day(date, [5, 9, 1], ["alpha", "beta", "gamma"]), encoding="utf-8")
        n += 3
    return n


def build(config: Path, logs: Path, out: Path, *extra: str) -> None:
    result = CliRunner().invoke(main, ["--config", str(config), "build", str(logs), "-o", str(out),
                                       "--images", "none", "--state", str(out.parent / f"{out.name}.state"),
                                       *extra])
    assert result.exit_code == 0, result.output


def documents(out: Path) -> dict[str, bytes]:
    docs = {}
    for book in sorted(out.rglob("*.epub")):
        with zipfile.ZipFile(book) as z:
            docs.update({f"{book.relative_to(out)}!{n}": z.read(n) for n in z.namelist()})
    return docs


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_each_paper_rendered_once_and_books_unchanged(tmp_path, monkeypatch, jobs):
    if jobs == "2" and not can_fork():
        pytest.skip("no fork on this platform")
    logs = tmp_path / "logs"
    papers = write_logs(logs)
    config = tmp_path / "digest-export.toml"
    config.write_text(CONFIG, encoding="utf-8")
    rendered: list[int] = []
    real = epub_module.Fragments.take_fresh

    def counted(self):
        fresh = real(self)
        rendered.append(len(fresh))
        return fresh

    build(config, logs, tmp_path / "once", "-j", jobs)
    once = documents(tmp_path / "once")
    # Without the shared markup (each book renders its papers): the same bytes.
    monkeypatch.setattr(epub_module.BookWriter, "create", _without_fragments(epub_module.BookWriter.create))
    build(config, logs, tmp_path / "each", "-j", jobs)
    assert documents(tmp_path / "each") == once
    monkeypatch.undo()
    if jobs == "1":  # counted in this process: the whole weeks render every paper, the selections none
        monkeypatch.setattr(epub_module.Fragments, "take_fresh", counted)
        build(config, logs, tmp_path / "counted", "-j", jobs)
        assert sum(rendered) == papers
        # A period's books one after the other: the whole week's, then each selection's.
        assert rendered == [3, 0, 0] * 5
    else:  # in forked workers: a worker builds a period's books in one task, rendering each paper once
        counts = tmp_path / "counts"

        def counted_there(self):
            fresh = real(self)
            with open(counts, "a", encoding="utf-8") as fh:
                fh.write(f"{len(fresh)}\n")
            return fresh

        monkeypatch.setattr(epub_module.Fragments, "take_fresh", counted_there)
        build(config, logs, tmp_path / "counted", "-j", jobs)
        numbers = [int(n) for n in counts.read_text(encoding="utf-8").split()]
        assert sorted(numbers) == [0] * 10 + [3] * 5


def _without_fragments(create):
    def make(options, report=None, fragments=None):
        return create(options, report)
    return classmethod(lambda cls, *a, **k: make(*a, **k))


def test_a_users_day_template_is_rendered_for_every_book(tmp_path):
    logs = tmp_path / "logs"
    write_logs(logs)
    config = tmp_path / "digest-export.toml"
    config.write_text(CONFIG, encoding="utf-8")
    templates = tmp_path / "templates"
    templates.mkdir()
    # A paper block that reads the book's title: it differs between the whole book and a selection's.
    (templates / "day.xhtml.j2").write_text(
        '{% extends "default:day.xhtml.j2" %}{% block paper %}<p id="{{ e.id }}">{{ book.title }}</p>'
        '{% endblock %}', encoding="utf-8")
    build(config, logs, tmp_path / "out", "-j", "1", "--templates", str(templates))
    docs = documents(tmp_path / "out")
    # "all-again" passes every paper: only the title tells its blocks from the whole book's.
    again = next(v for k, v in docs.items() if k.startswith("all-again/") and k.endswith("day-2024-03-04.xhtml"))
    blocks = [part.split(b"</p>")[0] for part in again.split(b'<p id="p-')[1:]]
    assert len(blocks) == 3 and all(b"all-again" in block for block in blocks)


def test_a_cover_is_drawn_once_for_what_it_shows(tmp_path, monkeypatch):
    """warm_up draws the first book's cover before the workers fork; its worker does not draw it again."""
    from exporter.bundles import make_bundles
    from exporter.reader.parse import read_digests

    logs = tmp_path / "logs"
    write_logs(logs)
    bundles = make_bundles(read_digests([logs]).digests, "week")
    drawn = []
    real = epub_module.make_cover
    monkeypatch.setattr(epub_module, "make_cover", lambda text, **kw: drawn.append(text) or real(text, **kw))
    epub_module._COVERS.clear()
    first = epub_module.bundle_cover(bundles[0], "en")
    assert epub_module.bundle_cover(bundles[0], "en") == first and len(drawn) == 1
    assert epub_module.bundle_cover(bundles[1], "en") != first and len(drawn) == 2
    assert epub_module.bundle_cover(bundles[0], "en", grayscale=True) != first and len(drawn) == 3
