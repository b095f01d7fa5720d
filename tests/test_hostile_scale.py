"""Bounded time on hostile shapes: long lines, long bullets, deep
nesting, a 20 MB file.  Each case failed (minutes, or a RecursionError)
before the reader fixes it names."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.reader import parse as reader
from exporter.reader.parse import MAX_DEPTH, read_digests

HEAD = "## Daily Papers (2024-03-04)\n\n### [T](https://arxiv.org/abs/2403.00001)\n\nVote: 1\n\nAuthors: A\n\n"

# The reader's earlier regular expressions (cubic on a line
# of spaces): the new splitter must give the same answers.
OLD_DIGEST = re.compile(r"^##(?!#)\s*(?P<title>.*?)\s*\((?P<date>[^()]*)\)\s*(?:#+\s*)?$")
OLD_BARE = re.compile(r"^##(?!#)\s*(?P<title>.*?)\s*(?P<date>\d{4}-\d{2}-\d{2})\s*(?:#+\s*)?$")
OLD_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def old_split(line: str):
    m = OLD_DIGEST.match(line)
    if m is None or not OLD_DATE.match(m.group("date").strip()):
        m = OLD_BARE.match(line) or m
    return None if m is None else (m.group("title"), m.group("date"))


heading_text = st.text(st.sampled_from(list("#() -\t0123456789ab")), max_size=30)


@settings(max_examples=400, deadline=None)
@given(st.one_of(
    heading_text.map(lambda s: "##" + s),
    st.tuples(heading_text, st.dates(), heading_text.filter(lambda s: set(s) <= set(" #)"))).map(
        lambda t: f"## {t[0]}({t[1].isoformat()}){t[2]}"),
    st.tuples(heading_text, st.dates(), st.sampled_from(["", " ", " ##", "## "])).map(
        lambda t: f"##{t[0]}{t[1].isoformat()}{t[2]}"),
))
def test_day_heading_splitter_matches_the_old_regexes(line):
    line = line.rstrip()  # the parser passes rstripped lines
    new = reader._split_day_heading(line)
    old = old_split(line)
    if old is None:
        assert new is None
    else:
        assert new is not None
        assert (new[0].strip(), new[1].strip()) == (old[0].strip(), old[1].strip())


def timed_read(tmp_path, name, text):
    path = tmp_path / f"{name}.md"
    path.write_text(text, encoding="utf-8")
    start = time.perf_counter()
    result = read_digests([path])
    return result, time.perf_counter() - start


LONG_LINES = {
    # name: (line builder, size); each took from seconds to hours before.
    "heading-spaces": (lambda n: "## " + " " * n + "x\n", 200_000),  # 5,000 spaces: 384 s
    "heading-spaces-paren": (lambda n: "## " + " " * n + "(" + " " * n + "(x)\n", 100_000),
    "paper-link-spaces": (lambda n: HEAD + "### [t](u" + " " * n + "x\n", 200_000),
    "video-tags": (lambda n: HEAD + "<video " * (n // 7) + "\n", 200_000),  # 20,000 tags: 27 s
    "img-tags": (lambda n: HEAD + "<img " * (n // 5) + "\n", 200_000),
    "source-src": (lambda n: HEAD + "<source src" * (n // 11) + "\n", 200_000),
}


@pytest.mark.parametrize("name", sorted(LONG_LINES))
def test_long_lines_are_read_in_linear_time(tmp_path, name):
    build, n = LONG_LINES[name]
    _, elapsed = timed_read(tmp_path, name, build(n))
    assert elapsed < 2.0, f"{name}: {elapsed:.1f} s"


def test_a_bullet_with_many_continuation_lines_is_linear(tmp_path):
    # 200,000 continuation lines (8 MB): string appends were quadratic
    # (40,000 lines took 1.2 s, 200,000 would take ~30 s).
    result, elapsed = timed_read(tmp_path, "cont", HEAD + "- start\n" + "continued text of a line here\n" * 200_000)
    assert elapsed < 5.0, elapsed
    # Read whole, then refused as larger than a paper may be (200,000 characters).
    assert not result.digests[0].papers
    assert any("more than the 200,000" in d.message
               for d in result.diagnostics if d.is_error), [d.message for d in result.diagnostics]
    within = HEAD + "- start\n" + "continued\n" * 19_000  # under the bound: every line appended
    text = timed_read(tmp_path, "cont2", within)[0].digests[0].papers[0].summary[0].text
    assert text.startswith("start continued") and text.count("continued") == 19_000


def test_deep_nesting_is_capped_with_a_warning(tmp_path):
    # 3,000 levels: freezing the items recursed past Python's limit.
    text = HEAD + "".join(" " * i + f"- level {i}\n" for i in range(3000))
    result, elapsed = timed_read(tmp_path, "deep", text)
    assert elapsed < 5.0
    items = result.digests[0].papers[0].summary
    depth = 0
    while items:
        depth += 1
        last = items[-1]
        items = last.children
    assert depth == MAX_DEPTH
    assert sum(1 for _ in _walk(result.digests[0].papers[0].summary)) == 3000  # nothing dropped
    assert any(f"more than {MAX_DEPTH} levels" in d.message for d in result.warnings)

    from exporter.render import summary_html

    assert str(summary_html(result.digests[0].papers[0].summary)).count("<ul") == MAX_DEPTH


def _walk(items):
    for item in items:
        yield item
        yield from _walk(item.children)
