"""A paper or a day title too large for the outputs is an error at its line, found when the
files are read: a run writes nothing, or with --keep-going everything else."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.reader.parse import MAX_DAY_TITLE_CHARS, MAX_PAPER_CHARS
from test_hostile_round_two import run_cli

OTHER_WEEK = "## Daily Papers (2024-03-11)\n\n### [U](https://arxiv.org/abs/2403.00002)\n\nVote: 1\n\nAuthors: A\n\n- ok\n"


def _paper(title: str = "T", authors: str = "A", bullet: str = "text") -> str:
    return (f"### [{title}](https://arxiv.org/abs/2403.00001)\n\nVote: 1\n\nAuthors: {authors}\n\n"
            f"- {bullet}\n\n")


@settings(max_examples=12, deadline=None)
@given(where=st.sampled_from(["title", "authors", "bullet", "nested"]), char=st.sampled_from(["&", "a", "가", "<"]),
       over=st.integers(1, 3000))
def test_a_paper_over_the_bound_is_an_error_at_its_line_and_nothing_is_written(tmp_path_factory, where, char, over):
    tmp = tmp_path_factory.mktemp("size")
    big = char * (MAX_PAPER_CHARS + over)
    paper = {"title": lambda: _paper(title=big), "authors": lambda: _paper(authors=big),
             "bullet": lambda: _paper(bullet=big), "nested": lambda: _paper(bullet="x\n  - " + big)}[where]()
    (tmp / "in.md").write_text("## Daily Papers (2024-03-04)\n\n" + paper + OTHER_WEEK, encoding="utf-8")
    out = tmp / "out"
    r = run_cli(["build", str(tmp / "in.md"), "-o", str(out), "--images", "none", "--state", str(tmp / "s.json")],
                tmp)
    assert r.exit_code == 1, r.output
    assert f"in.md:3: error: paper" in r.output and f"more than the {MAX_PAPER_CHARS:,}" in r.output, r.output[-500:]
    assert not out.exists()
    r = run_cli(["build", str(tmp / "in.md"), "-o", str(out), "--images", "none", "--keep-going",
                 "--state", str(tmp / "s.json")], tmp)
    assert r.exit_code == 1 and "skipped 1 paper (" in r.output, r.output[-500:]
    # The other week's book is written; the day left without its paper gives no paper to any output.
    assert (out / "daily-papers-2024-W11.epub").is_file()
    assert not any(big[:1000] in path.read_text(encoding="utf-8", errors="replace")
                   for path in out.rglob("*") if path.is_file() and path.suffix != ".epub")


def test_a_paper_at_the_bound_is_read():
    from exporter.reader.parse import parse_text

    text = "## Daily Papers (2024-03-04)\n\n" + _paper(title="T", authors="A", bullet="b" * (MAX_PAPER_CHARS - 2))
    drafts, diags = parse_text(text, "in.md")
    assert [p.title for d in drafts for p in d.papers] == ["T"]
    assert not [d for d in diags if d.is_error]


@pytest.mark.parametrize("size", [MAX_DAY_TITLE_CHARS, MAX_DAY_TITLE_CHARS + 1, 1_000_000])
def test_a_day_title_over_the_bound_skips_its_day_and_a_title_option_over_it_is_a_usage_error(tmp_path, size):
    (tmp_path / "in.md").write_text(f"## {'&' * size} (2024-03-04)\n\n" + _paper(), encoding="utf-8")
    out = tmp_path / "out"
    r = run_cli(["build", str(tmp_path / "in.md"), "-o", str(out), "--images", "none", "--state",
                 str(tmp_path / "s.json")], tmp_path)
    if size <= MAX_DAY_TITLE_CHARS:
        assert r.exit_code == 0, r.output[-500:]
    else:
        assert r.exit_code == 1 and "in.md:1: error: the day's title is" in r.output, r.output[-500:]
        assert not out.exists()
    config = tmp_path / "c.toml"
    config.write_text(f'title = "{"t" * size}"\n', encoding="utf-8")
    r = run_cli(["--config", str(config), "build", str(tmp_path / "in.md"), "-o", str(tmp_path / "o2"), "--images",
                 "none", "--state", str(tmp_path / "s2.json")], tmp_path)
    # (given in the config: named by the file and key)
    assert (r.exit_code == 2 and "c.toml:1: error: key 'title': is " in r.output) == (size > MAX_DAY_TITLE_CHARS), \
        r.output[-300:]


@pytest.mark.parametrize("bullet", ["-", "- a", "- a\n  b", "1."], ids=["empty", "short", "continued", "numbered"])
def test_a_body_of_bullets_past_a_bound_costs_memory_bounded_by_the_bound(bullet):
    """A paper of a million bullets, empty ones too, was built whole before its size was
    checked: half a gigabyte for a 3 MB file (the empty ones were then dropped, and the paper
    kept with "no summary").  Bullets and characters are counted as they are read: past a bound
    the paper is an error at its line, and what it held is let go."""
    import tracemalloc

    from exporter.reader.parse import MAX_PAPER_BULLETS, parse_text

    text = "## Daily Papers (2024-03-04)\n\n" + _paper() + (bullet + "\n") * 300_000 + OTHER_WEEK
    tracemalloc.start()
    try:
        drafts, diags = parse_text(text, "in.md")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    errors = [str(d) for d in diags if d.is_error]
    assert any("in.md:3: error: paper 'T' skipped" in e and (f"more than the {MAX_PAPER_BULLETS:,} bullets" in e
                                                               or f"more than the {MAX_PAPER_CHARS:,}" in e)
               for e in errors), errors
    assert peak < 60 * len(text) + 20_000_000, peak  # the lines, not a tree of 300,000 bullets


@pytest.mark.parametrize("before", ["\x0c", "\x0b", "\x07", "\x1c", "\x7f", "\x85", "\u200e", "\x0c\x0c "])
def test_a_heading_after_a_removed_character_at_the_line_start_is_said_at_its_line(before):
    """A control character (FF, VT, BEL, FS, DEL, NEL) or a direction mark before a line's '##'
    makes it text in a Markdown viewer; the reader removes it and reads the heading (a day is not
    lost to a stray byte), and now says so at that line: it was read without a word."""
    from exporter.reader.parse import parse_text

    text = ("## Daily Papers (2024-03-04)\n\n" + _paper("P1") + before + "## Daily Papers (2024-03-05)\n\n"
            + before + _paper("P2"))
    drafts, diags = parse_text(text, "in.md")
    assert [d.date.isoformat() for d in drafts] == ["2024-03-04", "2024-03-05"]
    said = {d.source.line for d in diags if "read as a heading all the same" in d.message}
    assert said == {11, 13}, [str(d) for d in diags]
