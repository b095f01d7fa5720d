"""Applying a selection to the papers of a day."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..model import Digest, Paper, SummaryItem, shown_value
from .model import Selection, SelectionError, Term, _compile, fold

# Inline Markdown that is markup, not words: a link or image keeps its text
# (CommonMark 0.31 section 6.3/6.4), emphasis and code marks go, character
# references are decoded.  Matching reads the words a reader reads.
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_AUTOLINK = re.compile(r"<(https?://[^>\s]*)>")
_MARKS = re.compile(r"(?<!\w)_+|_+(?!\w)|[*`~]+|\\(?=[!-/:-@\[-`{-~])")


def _plain(text: str) -> str:
    # Most bullets hold no markup at all: each pass only where it can apply
    # (the synthetic year of 8,000 papers is folded in about 0.1 s).
    if "](" in text:
        text = _LINK.sub(r"\1", _IMAGE.sub(r"\1", text))
    if "<" in text:
        text = _AUTOLINK.sub(r"\1", text)
    if any(mark in text for mark in "*_`~\\"):
        text = _MARKS.sub("", text)
    return html.unescape(text) if "&" in text else text


def _items(items: Iterable[SummaryItem]) -> Iterable[str]:
    for item in items:
        if item.label:
            yield _plain(item.label)
        yield _plain(item.text)
        yield from _items(item.children)


def paper_text(paper: Paper) -> str:
    """What the terms are looked for in: the title, the summary's words (not its
    markup) and the authors, one per line, folded (see :func:`fold`)."""
    return fold("\n".join([paper.title, *_items(paper.summary), ", ".join(paper.authors)]))


#: Seconds of regular-expression matching allowed per term over a whole run.
#: A pattern that needs more (catastrophic backtracking on a crafted title)
#: is an error, never a silently different selection, so the output stays
#: the same on every machine that finishes.
REGEX_SECONDS = 2.0

#: Seconds of matching allowed to all the terms of a run together (the run's filter and every
#: selection's, plain terms too): forty terms each just under their own bound took 38 s.  A
#: regular expression written in several selections is searched once per paper.
REGEX_RUN_SECONDS = 10.0


#: How many (term, paper) results a run keeps at most (a bound, as for any cache: three
#: selections of ten terms over a year of papers are 240,000; a few MB).
_FOUND_MAX = 1 << 18


@dataclass(slots=True)
class RegexBudget:
    """The compiled regular expressions of a run, the time each has left and the run has left,
    and what each found in each text (one budget for the whole run: see ``plan._select``)."""

    seconds: float = REGEX_SECONDS
    total: float = field(default_factory=lambda: REGEX_RUN_SECONDS)
    compiled: dict[str, Any] = field(default_factory=dict)
    left: dict[str, float] = field(default_factory=dict)
    found: dict[tuple[str, str], bool] = field(default_factory=dict)

    def search(self, term: Term, text: str, selection: Selection, paper: Paper) -> bool:
        import time

        assert term.pattern is not None
        known = self.found.get((term.pattern, text))
        if known is not None:
            return known
        pattern = self.compiled.get(term.pattern)
        if pattern is None:
            pattern = self.compiled[term.pattern] = _compile(term.pattern, f"selection '{selection.name}'",
                                                             term.source)
        left = self.left.get(term.pattern, self.seconds)
        start = time.perf_counter()
        try:
            found = pattern.search(text, timeout=max(min(left, self.total), 0.001)) is not None
        except (MemoryError, RecursionError):
            raise SelectionError(
                f"selection '{selection.name}': the regular expression {shown_value(term.source)} needed more "
                f"memory than there is (at {paper.source}); write it without nested repetitions") from None
        except TimeoutError:
            if self.total < left:
                raise SelectionError(
                    f"selection '{selection.name}': the terms of the run took more than {REGEX_RUN_SECONDS:g} s "
                    f"together ({shown_value(term.source)} went past it at {paper.source}); use fewer of them, or "
                    "write them without nested or overlapping repetitions") from None
            raise SelectionError(
                f"selection '{selection.name}': the regular expression {shown_value(term.source)} took more than "
                f"{self.seconds:g} s (at {paper.source}); write it without nested or overlapping "
                "repetitions") from None
        spent = time.perf_counter() - start
        self.left[term.pattern] = left - spent
        self.total -= spent
        if len(self.found) < _FOUND_MAX:
            self.found[(term.pattern, text)] = found
        return found


def _matches(terms: Sequence[Term], text: str, selection: Selection, paper: Paper,
             budget: RegexBudget) -> bool:
    import time

    for term in terms:
        if term.folded is not None:
            # Plain terms count against the run's budget too: sixty selections of a hundred
            # terms each over papers of 200,000 characters took 63 s.
            start = time.perf_counter()
            found = term.folded in text
            budget.total -= time.perf_counter() - start
            if budget.total < 0:
                raise SelectionError(
                    f"selection '{selection.name}': the terms of the run took more than {REGEX_RUN_SECONDS:g} s "
                    f"together ({shown_value(term.source)} went past it at {paper.source}); use fewer of them")
            if found:
                return True
        elif budget.search(term, text, selection, paper):
            return True
    return False


def passes(paper: Paper, selection: Selection, budget: RegexBudget, text: str | None = None) -> bool:
    """Whether *paper* passes the per-paper filters (votes, terms) of *selection*."""
    if selection.min_votes is not None and (paper.votes is None or paper.votes < selection.min_votes):
        return False
    if selection.match or selection.exclude:
        text = paper_text(paper) if text is None else text
        if selection.match and not _matches(selection.match, text, selection, paper, budget):
            return False
        if selection.exclude and _matches(selection.exclude, text, selection, paper, budget):
            return False
    return True


def select_digest(digest: Digest, selection: Selection, budget: RegexBudget | None = None,
                  texts: dict[int, str] | None = None) -> Digest:
    """*digest* with only the papers that pass *selection*, in the digest's order.

    ``top``: the N papers with the most votes among those that pass the
    other filters; equal votes keep the digest's order, unknown votes rank
    last.  *texts* caches :func:`paper_text` by ``id(paper)`` across selections.
    """
    budget = budget if budget is not None else RegexBudget()
    kept = []
    for paper in digest.papers:
        text = None
        if selection.match or selection.exclude:
            if texts is not None:
                text = texts.get(id(paper))
                if text is None:
                    text = texts[id(paper)] = paper_text(paper)
        if passes(paper, selection, budget, text):
            kept.append(paper)
    if selection.top is not None and len(kept) > selection.top:
        # sorted() is stable: equal votes keep the digest's order.
        ranked = sorted(range(len(kept)), key=lambda i: _rank(kept[i]))
        chosen = set(ranked[:selection.top])
        kept = [p for i, p in enumerate(kept) if i in chosen]
    if len(kept) == len(digest.papers):
        return digest
    return replace(digest, papers=tuple(kept))


def _rank(paper: Paper) -> tuple[int, int]:
    return (0, -paper.votes) if paper.votes is not None else (1, 0)


def select_digests(digests: Iterable[Digest], selection: Selection,
                   budget: RegexBudget | None = None, texts: dict[int, str] | None = None) -> list[Digest]:
    """Each of *digests* filtered by *selection* (days left empty are kept, with no paper)."""
    budget = budget if budget is not None else RegexBudget()
    return [select_digest(d, selection, budget, texts) for d in digests]
