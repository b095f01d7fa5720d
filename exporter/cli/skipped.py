"""What ``--keep-going`` left out: one summary line from the reader's errors.

The diagnostics themselves (``path:line: error: ...``) say why; cron mails
and CI logs also need a line that says at once how much is missing and
where: which files, which days, which papers.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..model import Diagnostic, Kind, counted

_WHAT = {Kind.FILE_SKIPPED: "file", Kind.DAY_SKIPPED: "day", Kind.PAPER_SKIPPED: "paper"}


def _kind(diag: Diagnostic) -> str:
    return _WHAT.get(diag.kind, "other")


def _places(diags: Sequence[Diagnostic], limit: int = 5) -> str:
    places = [str(d.source) for d in diags[:limit]]
    if len(diags) > limit:
        places.append(f"and {len(diags) - limit} more")
    return ", ".join(places)


def skipped_summary(errors: Sequence[Diagnostic]) -> str:
    """``skipped 1 file (a.md:1), 1 day (b.md:3) and 2 papers (b.md:5, b.md:9)
    because of 4 errors``: every error of the input, grouped by what it cost."""
    groups: dict[str, list[Diagnostic]] = {"file": [], "day": [], "paper": [], "other": []}
    for diag in errors:
        if diag.is_error:
            groups[_kind(diag)].append(diag)
    parts = [f"{counted(len(groups[k]), k)} ({_places(groups[k])})" for k in ("file", "day", "paper")
             if groups[k]]
    if groups["other"]:
        parts.append(f"{counted(len(groups['other']), 'other problem')} ({_places(groups['other'])})")
    n = sum(len(g) for g in groups.values())
    if not parts:
        return "nothing skipped"
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"skipped {listed} because of {counted(n, 'error')} (see above)"
