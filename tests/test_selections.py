"""Selections: the filters, their checks, and how terms match."""

from __future__ import annotations

import datetime as dt
import os
import re
import time
import unicodedata

import pytest

from exporter.model import Digest, Paper, SourceRef, SummaryItem
from exporter.selections import RegexBudget, SelectionError, make_selection, paper_text, select_digest


def paper(title: str, votes: int | None = None, *, summary: tuple[str, ...] = (), authors: tuple[str, ...] = (),
          line: int = 1) -> Paper:
    return Paper(title=title, url=None, arxiv_id=f"2403.{line:05d}", thumbnail=None, votes=votes,
                 authors=authors, summary=tuple(SummaryItem(s) for s in summary), source=SourceRef("d.md", line))


def day(*papers: Paper) -> Digest:
    return Digest(dt.date(2024, 3, 4), "Daily Papers", papers)


def titles(digest: Digest) -> list[str]:
    return [p.title for p in digest.papers]


def test_min_votes_unknown_never_passes():
    d = day(paper("a", 5, line=1), paper("b", None, line=2), paper("c", 20, line=3), paper("d", 19, line=4))
    assert titles(select_digest(d, make_selection(name="s", min_votes=20))) == ["c"]
    assert titles(select_digest(d, make_selection(name="s", min_votes=0))) == ["a", "c", "d"]


def test_top_most_votes_ties_keep_digest_order_unknown_last():
    d = day(paper("a", 3, line=1), paper("b", None, line=2), paper("c", 9, line=3), paper("d", 3, line=4),
            paper("e", 3, line=5))
    assert titles(select_digest(d, make_selection(name="s", top=2))) == ["a", "c"]
    assert titles(select_digest(d, make_selection(name="s", top=4))) == ["a", "c", "d", "e"]
    assert titles(select_digest(d, make_selection(name="s", top=5))) == ["a", "b", "c", "d", "e"]
    # top applies to what the other filters let through (AND)
    assert titles(select_digest(d, make_selection(name="s", top=1, match=["e"]))) == ["e"]


def test_match_folds_case_width_and_nfd_over_title_summary_authors():
    nfd = unicodedata.normalize("NFD", "확산 모델")
    d = day(paper("Ｄiffusion for all", line=1), paper("x", summary=(f"우리는 {nfd}을 쓴다",), line=2),
            paper("y", authors=("Ada LOVELACE",), line=3), paper("z", summary=("**diff**usion",), line=4),
            paper("w", summary=("see [the video](https://example.org/diffusion)",), line=5))
    assert titles(select_digest(d, make_selection(name="s", match=["DIFFUSION"]))) == ["Ｄiffusion for all", "z"]
    assert titles(select_digest(d, make_selection(name="s", match=["확산 모델"]))) == ["x"]
    assert titles(select_digest(d, make_selection(name="s", match=["lovelace"]))) == ["y"]
    # link text is read, its URL is not
    assert titles(select_digest(d, make_selection(name="s", match=["the video"]))) == ["w"]
    assert "example.org" not in paper_text(d.papers[4])


def test_exclude_and_regex():
    d = day(paper("Text-to-Video generation", line=1), paper("A survey of video", line=2),
            paper("Text-to-motion", line=3), paper("Pretext-to-videos", line=4))
    s = make_selection(name="video", match=["re:\\btext-to-(video|motion)\\b"], exclude=["survey"])
    assert titles(select_digest(d, s)) == ["Text-to-Video generation", "Text-to-motion"]
    s = make_selection(name="video", match=["video"], exclude=["survey"])
    assert titles(select_digest(d, s)) == ["Text-to-Video generation", "Pretext-to-videos"]


@pytest.mark.parametrize("kwargs, key", [
    ({"top": 0}, "top"), ({"top": -1}, "top"), ({"top": 2.5}, "top"), ({"top": float("nan")}, "top"),
    ({"top": "5"}, "top"), ({"top": True}, "top"), ({"min-votes": -3}, "min-votes"),
    ({"min-votes": float("inf")}, "min-votes"),
    ({"match": [""]}, "match"), ({"match": ["   "]}, "match"), ({"match": ["\u200b"]}, "match"),
    ({"match": ["x" * 1_000_000]}, "match"), ({"exclude": ["re:("]}, "exclude"), ({"exclude": ["re:"]}, "exclude"),
    ({"match": [3]}, "match"), ({"match": 3}, "match"), ({"title": 3}, "title"),
])
def test_bad_values_name_the_key(kwargs, key):
    args = {k.replace("-", "_"): v for k, v in kwargs.items()}
    with pytest.raises(SelectionError, match=f"'{key}'"):
        make_selection(name="sel", **args)


@pytest.mark.parametrize("name", ["..", "feed.atom", "CON", "con", "nul", "com1", "Top", "a/b", "-a", "a-", "",
                                  "archive", "index", "a" * 65, "top 5", "toр"])
def test_bad_names(name):
    with pytest.raises(SelectionError, match="'name'"):
        make_selection(name=name)


def test_crafted_regex_is_an_error_not_a_hang():
    s = make_selection(name="s", match=["re:(x+x+)+y"])
    d = day(paper("x" * 5000, line=1))
    start = time.monotonic()
    with pytest.raises(SelectionError, match="took more than"):
        select_digest(d, s, RegexBudget(seconds=0.2))
    assert time.monotonic() - start < 5


def test_the_terms_of_a_run_are_bounded_together_not_each():
    """Each term's own bound is no bound for a run: forty terms each just under it took 38 s.
    One budget for the run: the term that takes it past the total is an error, whatever its own
    time left."""
    d = day(paper("x" * 200, line=1))  # each term below: about 0.08 s on it
    budget = RegexBudget(seconds=2.0, total=0.3)
    start = time.monotonic()
    with pytest.raises(SelectionError, match=r"terms of the run took more than .* together"):
        for i in range(40):
            select_digest(d, make_selection(name=f"s{i}", match=[f"re:(x+x+)+y{i}"]), budget)
    assert time.monotonic() - start < 5


def test_plain_terms_count_against_the_run_budget():
    """Sixty selections of a hundred plain terms over papers of 200,000 characters took 63 s:
    plain terms are bounded with the regular expressions."""
    d = day(*(paper("a" * 150_000 + str(i), line=i) for i in range(1, 30)))
    budget = RegexBudget(total=0.05)
    with pytest.raises(SelectionError, match=r"terms of the run took more than .* together"):
        for i in range(100):
            select_digest(d, make_selection(name=f"s{i}", match=[f"b{j}x{i}" for j in range(100)]), budget)


def test_a_term_in_several_selections_is_searched_once_per_text():
    """The same pattern in every selection: its result for a paper is taken again, not searched
    (nor charged) again."""
    d = day(paper("alpha beta", line=1), paper("gamma", line=2))
    budget = RegexBudget()
    chosen = [select_digest(d, make_selection(name=f"s{i}", match=["re:\\bbeta\\b"]), budget) for i in range(3)]
    assert all([p.title for p in c.papers] == ["alpha beta"] for c in chosen)
    assert len(budget.found) == 2 and len(budget.compiled) == 1


# -- the regular-expression gate: any pattern is compiled or refused by name, and
# -- none that calls itself (unbounded memory) is run

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_CALLS = ["(?R)", "(?0)", "(?1)", "(?+1)", "(?-1)", "(?&x)", "(?P>x)",
          # What verbose mode lets a call hold (white space, comments) and forms NFKC makes one of.
          "(?&  x)", "(?P >x)", "(?R )", "(?1 )", "(?+0 )", "(?& #c\nx)", "\uff08?R\uff09", "(?\uff06x)"]
_FLAGS = ["(?V1)", "(?V0)", "(?i)", "(?x)", "(?x:", "(?ix)", "(?s)", "(?m)", "(?r)", "(?f)", "(?b)", "(?e)", "(?w)", "(?L)", "(?u)"]
_PARTS = ["a", "(", ")", "[", "]", "+", "*", "?", "{2,}", "(?<x>a)", "\\", "\\N{FOO}", "|", "^", "$", "\\b", "[[:alpha:]]",
          "[a--b]", "[a&&b]", "(?|a|b)", "(?>a)", "\\p{Hangul}", "\\X", "(?#c)", "[(?R)]", "#", "\n", "(?#"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=st.lists(st.sampled_from(_CALLS + _FLAGS + _PARTS), min_size=1, max_size=6))
def test_any_pattern_is_compiled_or_refused_by_name_and_none_calls_itself(parts):
    pattern = "".join(parts)
    try:
        selection = make_selection(name="s", match=["re:" + pattern])
    except SelectionError as err:
        assert "selection 's'" in str(err) and "match" in str(err)
        return
    assert not _regex_calls(pattern), pattern
    paper = make_paper_for_regex("a" * 200 + " 한국어 ab")
    select_digest(Digest(date=dt.date(2024, 3, 4), title="t", papers=(paper,)),
                  selection, RegexBudget())


def _regex_calls(pattern: str) -> bool:
    """Whether the ``regex`` module's own parser finds a recursion or subroutine call in *pattern*
    (its ``CallGroup`` node): the test's oracle, independent of the gate's scan."""
    import unicodedata

    import regex
    import regex._regex_core as core

    seen = []
    real = core.CallGroup

    class Spy(real):  # type: ignore[misc, valid-type]
        def __init__(self, *args, **kwargs):
            seen.append(True)
            super().__init__(*args, **kwargs)

    core.CallGroup = Spy
    try:
        regex.purge()
        regex.compile(unicodedata.normalize("NFKC", pattern), regex.VERSION0 | regex.IGNORECASE | regex.FULLCASE)
    except Exception:  # noqa: BLE001 - does not compile: calls nothing
        return bool(seen)
    finally:
        core.CallGroup = real
        regex.purge()
    return bool(seen)


@pytest.mark.parametrize("pattern, calls", [
    (r"video[(?R)]", False), (r"video[(?1)]", False), ("(?x)video # (?R) not recursion", False),
    (r"video\(\?R\)", False), ("(?#a(?R)video", False), ("[^]](?&x)", True), ("(a)(?1)", True),
    ("(?x:a)#(?R)", True), ("(?x)a # c\n(?R)", True), (r"[\]](?R)", True),
    ("(?x)(?<n>a(?&  n)?b)", True), ("(?x)(a(?R )?b)", True), ("(?x)(a(?1 )?b)", True), ("(?x)(a(?+0 )?b)", True),
    ("(?x)(?<n>a(?P >n)?b)", True), ("(?<n>a(?x:(?&  n))?b)", True), ("(?x)(?<n>a(?& #c\n n)?b)", True),
    ("(a\uff08?R\uff09?b)", True),
])
def test_only_a_call_the_regex_module_reads_as_one_is_refused(pattern, calls):
    """The text of a call in a character class, after a backslash, in a comment (``(?#...)``, or
    after ``#`` in a verbose pattern) calls nothing: the pattern is taken and runs; a call the
    regex module's parser reads as one is refused, however it is placed."""
    assert _regex_calls(pattern) == calls or calls  # the oracle agrees where the pattern compiles
    try:
        selection = make_selection(name="s", match=["re:" + pattern])
    except SelectionError as err:
        assert calls and "calls itself" in str(err), (pattern, err)
        return
    assert not calls, pattern
    select_digest(Digest(date=dt.date(2024, 3, 4), title="t", papers=(make_paper_for_regex("videoR x"),)),
                  selection, RegexBudget())


def make_paper_for_regex(title: str) -> Paper:
    return Paper(title=title, url=None, arxiv_id=None, thumbnail=None, votes=1, authors=("A",),
                 summary=(SummaryItem(text="s"),), source=SourceRef("x.md", 3))


def test_the_one_off_filter_is_named_by_its_options():
    from exporter.selections import ONE_OFF_NAME

    with pytest.raises(SelectionError, match="--match"):
        make_selection(name=ONE_OFF_NAME, match=[" "], where="option")
    with pytest.raises(SelectionError, match="--top"):
        make_selection(name=ONE_OFF_NAME, top=0, where="option")


# -- compiling a pattern is bounded by construction: the blow-up spellings of the
# -- regex package are refused by name, within seconds, in bounded memory

import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

_INNER = ["a", "[ab]", "(?:a|bc)", "(?P<n>a)(?P=n)", "(?=a{9})a", "\\w"]
# ({1,n} is compiled as a loop, not copies: it does not blow up)
_REPEAT = ["{%d}", "{%d,}", "{50,%d}", "{%d}?", "{%d}+", "{%d,}?"]
_OPEN = ["(", "(?:", "(?>", "(?P<g%d>", "(?=(", "(?:(?:"]


@st.composite
def blow_up(draw) -> str:
    """A pattern whose nested counted repeats multiply past a billion copies."""
    pattern = draw(st.sampled_from(_INNER)) + "{100}"
    for depth in range(draw(st.integers(4, 5))):
        opener = draw(st.sampled_from(_OPEN))
        opener = opener % depth if "%d" in opener else opener
        closer = ")" * opener.count("(")
        pattern = opener + pattern + closer + draw(st.sampled_from(_REPEAT)) % 100
    if draw(st.booleans()):
        pattern = "(?:" + pattern + "){e<=1}"
    return pattern


def _limited(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """The CLI in a child under RLIMIT_AS of 1 GB (as a blow-up would hit it)."""
    import resource

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2**30, 2**30))

    env = {**__import__("os").environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    return subprocess.run([sys.executable, "-m", "exporter", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=60, preexec_fn=limit)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(pattern=blow_up())
def test_blow_up_patterns_are_refused_by_name_in_bounded_memory_cli_and_config(pattern, tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir(exist_ok=True)
    (logs / "a.md").write_text("## Daily Papers (2024-03-04)\n\n### [P](https://arxiv.org/abs/2403.00001)\n\n"
                               "Vote: 5\n\nAuthors: A. B\n\n- alpha.\n", encoding="utf-8")
    (tmp_path / "c.toml").write_text(f"[[selection]]\nname = \"x\"\nmatch = [{repr('re:' + pattern)}]\n"
                                     .replace("\\", "\\\\"), encoding="utf-8")
    for args, names in ((["feed", "logs", "-o", "fo", "--match", "re:" + pattern], "--match"),
                        (["--config", "c.toml", "build", "logs", "-o", "out"], "c.toml")):
        start = time.monotonic()
        result = _limited(args, tmp_path)
        assert time.monotonic() - start < 20, args
        assert result.returncode == 2, (pattern, result.returncode, result.stderr[-500:])
        assert names in result.stderr and "to compile" in result.stderr and "Traceback" not in result.stderr
        assert not (tmp_path / "fo").exists() and not (tmp_path / "out").exists()


@pytest.mark.parametrize("pattern", ["a{4294967295}", "(?:a{1000}){1000}", "((a{100}){100}){100}"])
def test_huge_counts_are_refused_in_process(pattern):
    # In a fresh process, as the command runs: the trial child's memory limit is set above what
    # its parent maps, and a long test process maps freed memory the compiler can reuse.
    import subprocess
    import sys

    code = ("from exporter.selections.model import SelectionError, make_selection\n"
            "try:\n    make_selection(name='s', match=['re:' + " + repr(pattern) + "])\n"
            "except SelectionError as err:\n    print('refused:', err)\n")
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert re.search(r"refused: .*selection 's'.*(compile|too)", done.stdout), (done.stdout, done.stderr)
    assert time.monotonic() - start < 5


def test_without_fork_a_static_bound_refuses(monkeypatch):
    import os

    from exporter.selections import model

    monkeypatch.delattr(os, "fork")
    monkeypatch.setattr(model, "_TRIED", set())
    with pytest.raises(SelectionError, match="to compile"):
        make_selection(name="s", match=["re:((a{100}){100}){100}"])
    with pytest.raises(SelectionError, match="to compile"):
        make_selection(name="s", match=["re:(?:ab){e<=3}"])
    assert make_selection(name="s", match=["re:\\btext-to-(video|motion){1,3}\\b"]).match


def test_the_terms_of_a_run_together_have_a_compile_budget(monkeypatch):
    """Each term passes its own bound, but every one is compiled again and kept: past the run's
    budget for all of them together, the next term is refused, naming it (was 65 s and 3 GB for
    a hundred terms)."""
    from exporter.selections import model

    monkeypatch.setattr(model, "_TRIED", set())
    monkeypatch.setattr(model, "_SPENT", [0, 0.0])
    monkeypatch.setattr(model, "TOTAL_COMPILE_BYTES", 64 * 2**20)
    small = [f"re:(?:a{{10}}){{2}}x{i}" for i in range(20)]
    assert make_selection(name="t", match=small).match  # small terms: far under the budget
    terms = [f"re:(?:(?:a{{100}}){{100}}){{20}}x{i}" for i in range(6)]  # each about 40 MB compiled
    with pytest.raises(SelectionError, match=r"x\d+.*together past 64 MB"):
        make_selection(name="s", match=terms)


def test_many_small_terms_pass_the_runs_compile_budget_in_a_moment(monkeypatch):
    """The run's budget counts what compiling took, not the trial's fork and wait: 900 terms of a
    word or two (nine selections of a hundred) were refused as past 10 s, and cost seconds a run.
    A pattern with no counted repeat, extension or named list compiles to its length's size and
    is compiled here without a trial."""
    import time

    from exporter.selections import model

    monkeypatch.setattr(model, "_TRIED", set())
    monkeypatch.setattr(model, "_SPENT", [0, 0.0])
    forks = []
    fork = os.fork
    monkeypatch.setattr(os, "fork", lambda: forks.append(1) or fork())
    start = time.monotonic()
    for k in range(9):
        terms = [f"re:word{k}_{i}" if i % 2 else f"re:\\bterm{k}x{i}\\b[a-z]*" for i in range(100)]
        assert make_selection(name=f"s{k}", match=terms).match
    assert time.monotonic() - start < 5
    assert not forks
    assert model._SPENT[1] < 1.0  # what compiling took; each (?:x){2} below still gets its trial
    monkeypatch.setattr(model, "_SPENT", [0, 0.0])
    assert make_selection(name="t", match=[f"re:(?:a{{10}}){{2}}y{i}" for i in range(50)]).match
    assert model._SPENT[1] < model.TOTAL_COMPILE_SECONDS / 2, model._SPENT
