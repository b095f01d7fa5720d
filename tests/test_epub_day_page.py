"""exporter.books.day_page writes the characters the packaged day template renders.

The books are made with the Python rendering of ``templates/day.xhtml.j2`` (see the module);
here both render the day documents of the bundled samples and of the hostile corpus (scripts,
bad URLs, controls, TeX, 500 authors, 1,000 bullets, repeated papers), with and without
thumbnails, in both book languages and with days split into parts, and must agree."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from exporter.books import epub
from exporter.books.day_page import render_day
from exporter.bundles import make_bundles
from exporter.language import labels_for
from exporter.reader.parse import read_digests
from exporter.templating import make_environment, render_template

from hostile_corpus import write_hostile

SAMPLE = Path(epub.__file__).resolve().parent.parent / "sample"

MORE = """## Daily Papers (2024-03-06)

### [A video paper](https://arxiv.org/abs/2403.90201)

[Watch Video](https://cdn.example.org/clips/a.mp4)

- plain bullet

### [No authors, no votes, no link]

- ***Label***: text with $\\times$ and `code` and https://example.org/x

### [Huggingface only](https://huggingface.co/papers/2403.90203)

Vote: 0

Authors: Only One
"""


def _days(inputs: list[Path], lang: str, pictures: bool, monkeypatch: pytest.MonkeyPatch, budget: int | None):
    read = read_digests(inputs)
    if budget is not None:
        monkeypatch.setattr(epub, "PART_BUDGET", budget)
    picture = epub._placeholder_picture()
    for bundle in make_bundles(read.digests, "week"):
        papers = [p for d in bundle.digests for p in d.papers]
        results = {p: picture for p in papers if p.thumbnail is not None} if pictures else None
        labels = labels_for(lang)
        info = epub.BookInfo(title="T", series="S", lang=lang, identifier="urn:x", modified=epub._modified(bundle),
                             period_text="p", description="d")
        for day in epub._day_views(bundle, labels, epub._Images(results), lang):
            yield day, info, labels


@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("pictures", [False, True])
@pytest.mark.parametrize("budget", [None, 20_000])
def test_the_python_day_page_is_the_template(tmp_path, monkeypatch, lang, pictures, budget):
    hostile = write_hostile(tmp_path)
    (tmp_path / "more.md").write_text(MORE, encoding="utf-8")
    env = make_environment(None)
    count, seen = 0, []
    for day, info, labels in _days([SAMPLE, hostile, tmp_path / "more.md"], lang, pictures, monkeypatch, budget):
        expected = render_template(env, "day.xhtml.j2", day=day, book=info, labels=labels)
        assert render_day(day, info, labels) == expected, day.file_name
        count += 1
        seen.append(expected)
    assert count >= 7
    shown = "".join(seen)
    # Every branch of the template was taken.
    for mark in ('class="repeat"', 'class="meta authors"', 'class="meta votes"', 'class="video"',
                 'class="links"', 'class="summary" lang=', '<a href="https://arxiv.org/abs/2403.90201">'):
        assert mark in shown, mark
    assert re.search(r'<h2 class="paper-title"[^>]*>No authors', shown)  # a title without a link
    assert ('class="thumb"' in shown) == pictures
