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


def test_every_line_on_stderr_is_a_diagnostic(tmp_path):
    """Warnings and notes of the outputs (the catalog, the feeds, thumbnails)
    print as diagnostics do: ``place: severity: message``."""
    import re

    from click.testing import CliRunner

    from exporter.cli import main

    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "d.md").write_text("## Daily Papers (2024-03-04)\n\n### [T](https://arxiv.org/abs/2403.00001)\n\n"
                               "![](http://127.0.0.1:9/x.png)\n\n- s\n\n### No link\n\n- s\n", encoding="utf-8")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "broken.epub").write_bytes(b"not a zip")
    runner = CliRunner()
    lines = []
    for args in (["feed", str(logs), "--format", "atom", "--format", "opds"],
                 ["epub", str(logs), "--image-timeout", "0.5"]):
        r = runner.invoke(main, [*args, "-o", str(tmp_path / "out")],
                          env={"XDG_CACHE_HOME": str(tmp_path / "cache")})
        assert r.exit_code == 0, r.output
        # (the feed command ends with its summary on stderr: not a diagnostic)
        lines += [line for line in r.stderr.splitlines() if line and not re.match(r"\d+ entries, ", line)]
    pattern = re.compile(r"^(digest-export|/\S+?(:\d+)?): (error|warning|note): \S")
    assert [line for line in lines if not pattern.match(line)] == []
    # The EPUB container gate's reason (the one send gives), not the zip library's.
    assert any("broken.epub: warning: not listed in the OPDS catalog: cannot read the EPUB (not an EPUB "
               "(it does not start with a zip entry" in line for line in lines), lines
    assert any(line.startswith("digest-export: note: no --base-url") for line in lines)
    assert any(line.startswith("digest-export: warning: 1 thumbnail left out: 1 blocked") for line in lines)
