"""What `digest-export inspect` prints: a summary table, or the model as JSON."""

from __future__ import annotations

import json
from typing import Any

from ..gates.names import json_name, printable_json
from ..model import Digest, Paper, ReadResult, SummaryItem, counted


def summary_item_dict(item: SummaryItem) -> dict[str, Any]:
    return {
        "label": item.label,
        "text": item.text,
        "children": [summary_item_dict(c) for c in item.children],
    }


def paper_dict(paper: Paper) -> dict[str, Any]:
    return {
        "title": paper.title,
        "url": paper.url,
        "arxiv_id": paper.arxiv_id,
        "pdf_url": paper.pdf_url,
        "hf_url": paper.hf_url,
        "votes": paper.votes,
        "authors": list(paper.authors),
        "thumbnail": (
            {"kind": paper.thumbnail.kind.value, "url": paper.thumbnail.url}
            if paper.thumbnail else None
        ),
        "summary": [summary_item_dict(i) for i in paper.summary],
        "source": {"path": json_name(paper.source.path), "line": paper.source.line},
    }


def digest_dict(digest: Digest) -> dict[str, Any]:
    return {
        "date": digest.date.isoformat(),
        "title": digest.title,
        "sources": [{"path": json_name(s.path), "line": s.line} for s in digest.sources],
        "papers": [paper_dict(p) for p in digest.papers],
    }


def result_json(result: ReadResult) -> str:
    data = {
        "digests": [digest_dict(d) for d in result.digests],
        "totals": {
            "days": len(result.digests),
            "papers": result.paper_count,
            "errors": len(result.errors),
            "warnings": len(result.warnings),
        },
        "diagnostics": [
            {"path": json_name(d.source.path), "line": d.source.line, "severity": d.severity.value,
             "message": d.message}
            for d in result.diagnostics
        ],
    }
    return printable_json(json.dumps(data, ensure_ascii=False, indent=2)) + "\n"


def result_table(result: ReadResult) -> str:
    lines = []
    for d in result.digests:
        n = len(d.papers)
        lines.append(f"{d.date.isoformat()} {d.date:%a}  {n:4d} paper{'s' if n != 1 else ' '}  {d.title}")
    unique = len({p.key for d in result.digests for p in d.papers})
    lines.append(
        f"{counted(len(result.digests), 'day')}, "
        f"{counted(result.paper_count, 'paper')} ({unique} distinct), "
        f"{counted(len(result.errors), 'error')}, {counted(len(result.warnings), 'warning')}"
    )
    return "\n".join(lines) + "\n"
