"""Selections: named filters over the papers, each published like the whole archive.

A :class:`Selection` keeps, per digest day, the papers that pass every filter
it has (min votes, top N, match and exclude terms); :func:`select_digest`
applies it to one day.  Filters depend on one day only, so a selection's
book of a week depends on that week's days only, like the whole book.
"""

from .model import (
    MAX_TERM_CHARS,
    ONE_OFF_NAME,
    RESERVED_NAMES,
    Selection,
    SelectionError,
    Term,
    check_name,
    fold,
    make_selection,
    parse_term,
)
from .select import RegexBudget, paper_text, select_digest, select_digests

__all__ = ["MAX_TERM_CHARS", "ONE_OFF_NAME", "RESERVED_NAMES", "RegexBudget", "Selection", "SelectionError", "Term",
           "check_name", "fold", "make_selection", "paper_text", "parse_term", "select_digest", "select_digests"]
