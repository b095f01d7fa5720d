"""Diagnostics are typed: every one has a kind, and summaries count kinds, not wording."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from digest_strategies import digest_files
from exporter.model import Diagnostic, Kind, Severity, SourceRef
from exporter.reader.parse import decode, merge, parse_text
from exporter.cli.skipped import skipped_summary


def test_the_keep_going_summary_counts_kinds_whatever_the_words():
    errors = [Diagnostic(SourceRef("a.md", 1), Severity.ERROR, "words that say nothing", Kind.FILE_SKIPPED),
              Diagnostic(SourceRef("b.md", 3), Severity.ERROR, "paper skipped? no: a day", Kind.DAY_SKIPPED),
              Diagnostic(SourceRef("b.md", 5), Severity.ERROR, "cannot read (not really)", Kind.PAPER_SKIPPED),
              Diagnostic(SourceRef("b.md", 9), Severity.ERROR, "", Kind.PAPER_SKIPPED)]
    assert skipped_summary(errors) == ("skipped 1 file (a.md:1), 1 day (b.md:3) and 2 papers "
                                       "(b.md:5, b.md:9) because of 4 errors (see above)")


@settings(max_examples=150, deadline=None)
@given(digest_files())
def test_every_reader_diagnostic_has_a_fitting_kind(text):
    decoded, diags = decode(text.encode("utf-8"), "d.md")
    drafts, more = parse_text(decoded, "d.md")
    _, merged = merge(drafts)
    for diag in diags + more + merged:
        assert isinstance(diag.kind, Kind)
        # Errors are exactly what costs input: a file, a day or a paper.
        assert diag.is_error == (diag.kind in (Kind.FILE_SKIPPED, Kind.DAY_SKIPPED, Kind.PAPER_SKIPPED)), diag
