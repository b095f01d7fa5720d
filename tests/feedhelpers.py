"""Fixtures for the feed tests: digests written for these tests, and parsers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from lxml import etree

from exporter.feeds.writer import FeedOptions
from exporter.pipeline import write_feeds
from exporter.reader.parse import read_digests

ATOM = "{http://www.w3.org/2005/Atom}"
MEDIA = "{http://search.yahoo.com/mrss/}"
DC = "{http://purl.org/dc/elements/1.1/}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
BASE = "https://example.org/papers/"


def paper_md(arxiv: str | None, title: str, *, authors=("Ann Example", "Bo Sample"), votes="12",
             thumb: str | None = "image", summary=("첫 번째 요약 문장은 **모델**을 설명한다.",
                                                   "두 번째 문장은 결과를 설명한다 (<0.5초).")) -> str:
    url = f"https://arxiv.org/abs/{arxiv}" if arxiv else None
    lines = [f"### [{title}]({url})" if url else f"### {title}", ""]
    if thumb == "image" and arxiv:
        lines += [f"![](https://cdn.example.org/thumbs/{arxiv}.png)", ""]
    elif thumb == "video" and arxiv:
        lines += [f"[Watch Video](https://cdn.example.org/video/{arxiv}.mp4)",
                  f'<div><video controls src="https://cdn.example.org/video/{arxiv}.mp4"></video></div>', ""]
    if votes is not None:
        lines += [f"Vote: {votes}", ""]
    if authors is not None:
        lines += ["Authors: " + ", ".join(authors), ""]
    lines += [f"- {s}" for s in summary]
    return "\n".join(lines) + "\n"


def day_md(date: dt.date, papers: list[str], title: str = "Daily Papers") -> str:
    return f"## {title} ({date.isoformat()})\n\n" + "\n".join(papers)


def write_days(folder: Path, days: dict[dt.date, list[str]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for date, papers in days.items():
        (folder / f"{date.isoformat()}.md").write_text(day_md(date, papers), encoding="utf-8")
    return folder


def standard_days(n: int = 3, start: dt.date = dt.date(2024, 3, 4), per_day: int = 3) -> dict:
    """n consecutive days, per_day papers each, with ids 2403.1DDRR."""
    days = {}
    for d in range(n):
        date = start + dt.timedelta(days=d)
        papers = []
        for r in range(per_day):
            arxiv = f"2403.{10000 + d * 100 + r}"
            thumb = "video" if r == 1 else "image"
            papers.append(paper_md(arxiv, f"Paper {d}-{r}: Sparse M$^{{2}}$ Routing", thumb=thumb))
        days[date] = papers
    return days


def run(inputs, out: Path, **kw):
    result = read_digests([str(i) for i in inputs] if isinstance(inputs, (list, tuple)) else [str(inputs)])
    kw.setdefault("base_url", BASE)
    return write_feeds(result, FeedOptions(out_dir=out, **kw))


def xml(path: Path):
    return etree.parse(str(path)).getroot()
