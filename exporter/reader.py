"""Markdown digest files -> :class:`~exporter.model.ReadResult`.

The reader never writes anything and never raises on bad input: every problem
becomes a :class:`~exporter.model.Diagnostic` with its ``path:line``.  The
format, with every variant seen in real archives, is documented in
``docs/digest-format.md`` (and the README): a ``## Title (YYYY-MM-DD)``
heading per day, a ``### [title](url)`` heading per paper, then optional
thumbnail, ``Vote:``, ``Authors:`` lines and a bullet-list summary.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .model import (
    Diagnostic,
    Digest,
    Paper,
    ReadResult,
    Severity,
    SourceRef,
    SummaryItem,
    Thumbnail,
    ThumbnailKind,
    clean_text,
)

STDIN = "-"

# "## Daily Papers (2024-03-04)": title, then a parenthesised date at the end.
_DIGEST_RE = re.compile(r"^##(?!#)\s*(?P<title>.*?)\s*\((?P<date>[^()]*)\)\s*$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PAPER_RE = re.compile(r"^###(?!#)\s*(?P<rest>.*)$")
_IMAGE_RE = re.compile(r"^!\[[^\]]*\]\(\s*<?(?P<url>[^)>\s]*)>?\s*(?:\"[^\"]*\")?\s*\)\s*$")
# "[Watch Video](url)" and the variant without parentheses "[Watch Video]url".
_WATCH_RE = re.compile(r"^\[\s*watch\s+video\s*\]\s*(?:\((?P<p>[^)\s]*)\)|(?P<b>\S+))\s*$", re.I)
_VIDEO_SRC_RE = re.compile(r"""<video\b[^>]*?\bsrc\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.I)
_HTML_LINE_RE = re.compile(r"^\s*</?[A-Za-z][^>]*>")
_VOTE_RE = re.compile(r"^votes?\s*:\s*(?P<v>.*)$", re.I)
_AUTHORS_RE = re.compile(r"^authors?\s*:(?P<a>.*)$", re.I)
_BULLET_RE = re.compile(r"^(?P<indent>[ \t]*)[-*+](?:[ \t]+(?P<text>.*)|[ \t]*$)")
_NUMBER_RE = re.compile(r"^(?P<indent>[ \t]*)\d{1,3}[.)](?:[ \t]+(?P<text>.*)|[ \t]*$)")
# "***What's New***: text", "**Key**: text", "***Key:*** text", "**Key:** text"
_LABEL_RE = re.compile(
    r"^(?P<stars>\*{2,3}|_{2,3})(?P<label>[^*_:\n]{1,60}?)(?P<colon_in>:?)(?P=stars)"
    r"\s*(?P<colon_out>:?)\s*(?P<text>.*)$"
)
_RULE_RE = re.compile(r"^\s*(?:-{3,}|\*{3,}|_{3,})\s*$")
_ARXIV_RE = re.compile(
    r"^https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/"
    r"(?P<id>\d{4}\.\d{4,5}|[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?(?:\.pdf)?/?(?:[?#].*)?$"
)
_HF_RE = re.compile(
    r"^https?://(?:www\.)?huggingface\.co/papers/(?P<id>\d{4}\.\d{4,5})(?:v\d+)?/?(?:[?#].*)?$"
)


def arxiv_id_from_url(url: str | None) -> str | None:
    """The arXiv identifier (without version) named by an arXiv or HF URL."""
    if not url:
        return None
    m = _ARXIV_RE.match(url) or _HF_RE.match(url)
    return m.group("id") if m else None


def is_http_url(url: str) -> bool:
    return bool(re.match(r"^https?://[^\s/?#]+", url, re.I))


def decode(data: bytes, path: str) -> tuple[str | None, list[Diagnostic]]:
    """Decode a digest file: UTF-8 (BOM or not), else CP949 with a warning."""
    at = SourceRef(path, 1)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError as err:
        utf8_error = err
    try:
        # CP949 is Microsoft's superset of EUC-KR: it decodes both.
        text = data.decode("cp949")
    except UnicodeDecodeError:
        line = data.count(b"\n", 0, utf8_error.start) + 1
        return None, [
            Diagnostic(
                SourceRef(path, line),
                Severity.ERROR,
                f"cannot decode the file: not UTF-8 (byte 0x{data[utf8_error.start]:02x}) "
                "and not CP949/EUC-KR; save it as UTF-8",
            )
        ]
    return text, [
        Diagnostic(at, Severity.WARNING, "file is not UTF-8; decoded as CP949 (EUC-KR)")
    ]


def split_lines(text: str) -> list[str]:
    # str.splitlines() would also split on \x0b, \x1c, U+2028 ... and shift
    # every line number after them; only LF, CRLF and CR end a line here.
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


@dataclass
class _Item:
    text: str
    label: str | None
    indent: int
    numbered: bool = False
    children: list[_Item] = field(default_factory=list)

    def freeze(self) -> SummaryItem:
        return SummaryItem(
            text=clean_text(self.text),
            label=self.label,
            children=tuple(c.freeze() for c in self.children),
        )


@dataclass
class _PaperDraft:
    title: str
    url: str | None
    source: SourceRef
    thumbnail: Thumbnail | None = None
    votes: int | None = None
    saw_votes: bool = False
    authors: tuple[str, ...] = ()
    saw_authors: bool = False
    items: list[_Item] = field(default_factory=list)
    # stack of open items for nesting: innermost last
    stack: list[_Item] = field(default_factory=list)
    last_blank: bool = False


@dataclass
class _DigestDraft:
    date: dt.date
    title: str
    source: SourceRef
    papers: list[Paper] = field(default_factory=list)


class _FileParser:
    """Parses one decoded file.  Collects digests drafts and diagnostics."""

    def __init__(self, path: str, lines: list[str]):
        self.path = path
        self.lines = lines
        self.diags: list[Diagnostic] = []
        self.digests: list[_DigestDraft] = []
        self.digest: _DigestDraft | None = None
        # True after a heading whose date is wrong: its papers are skipped.
        self.skipping = False
        self.skipped_heading: SourceRef | None = None
        self.paper: _PaperDraft | None = None

    def diag(self, line: int, severity: Severity, message: str) -> None:
        self.diags.append(Diagnostic(SourceRef(self.path, line), severity, message))

    def warn(self, line: int, message: str) -> None:
        self.diag(line, Severity.WARNING, message)

    def error(self, line: int, message: str) -> None:
        self.diag(line, Severity.ERROR, message)

    # -- driver -------------------------------------------------------------
    def parse(self) -> None:
        for no, raw in enumerate(self.lines, start=1):
            line = raw.rstrip()
            if _PAPER_RE.match(line):
                self.finish_paper()
                self.start_paper(no, _PAPER_RE.match(line).group("rest"))
            elif line.startswith("##") and not line.startswith("###"):
                self.finish_paper()
                self.start_digest(no, line)
            elif line.startswith("#") and re.match(r"^#{1,6}(\s|$)", line):
                # "# Title" of a file, or a deeper heading: structure we do
                # not model.  Inside a paper it would otherwise be lost.
                self.finish_paper()
                if re.match(r"^####", line):
                    self.warn(no, "heading ignored: only ## (day) and ### (paper) headings are read")
            elif self.paper is not None:
                self.paper_line(no, raw)
            elif line.strip() and not _RULE_RE.match(line) and (self.digest or self.skipping):
                self.warn(no, f"text outside of any paper ignored: {_excerpt(line)}")
        self.finish_paper()

    # -- headings -----------------------------------------------------------
    def start_digest(self, no: int, line: str) -> None:
        m = _DIGEST_RE.match(line)
        self.skipping = True
        self.digest = None
        self.skipped_heading = SourceRef(self.path, no)
        if not m:
            self.error(no, "day heading has no date: expected '## Title (YYYY-MM-DD)'; its papers are skipped")
            return
        raw_date = m.group("date").strip()
        if not _DATE_RE.match(raw_date):
            self.error(no, f"'{_excerpt(raw_date)}' is not a date in YYYY-MM-DD form; this day's papers are skipped")
            return
        try:
            date = dt.date.fromisoformat(raw_date)
        except ValueError:
            self.error(no, f"{raw_date} is not a real date; this day's papers are skipped")
            return
        title = clean_text(m.group("title")) or "Daily Papers"
        self.skipping = False
        self.digest = _DigestDraft(date, title, SourceRef(self.path, no))
        self.digests.append(self.digest)

    def start_paper(self, no: int, rest: str) -> None:
        rest = rest.strip()
        title, url = _split_title_link(rest)
        title = clean_text(title)
        if self.digest is None:
            why = ("it is under a day heading with an error" if self.skipping
                   else "it comes before any '## Title (YYYY-MM-DD)' heading")
            self.error(no, f"paper {_quote(title)} skipped: {why}")
            return
        if not title:
            self.error(no, "paper has no title; skipped")
            return
        if url is not None:
            url = clean_text(url).replace(" ", "%20")
            if not url:
                self.warn(no, "paper link is empty")
                url = None
            elif not is_http_url(url):
                self.warn(no, f"paper link {_quote(url)} is not http(s); dropped")
                url = None
        else:
            self.warn(no, "paper heading has no link")
        self.paper = _PaperDraft(title, url, SourceRef(self.path, no))

    # -- lines inside a paper ----------------------------------------------
    def paper_line(self, no: int, raw: str) -> None:
        p = self.paper
        assert p is not None
        line = raw.rstrip()
        stripped = line.strip()
        if not stripped:
            p.last_blank = True
            return
        blank_before, p.last_blank = p.last_blank, False
        in_summary = bool(p.items)

        if not in_summary or not raw[:1].isspace():
            if self.thumbnail_line(no, stripped):
                return
            if m := _VOTE_RE.match(stripped):
                self.vote_line(no, m.group("v").strip())
                return
            if m := _AUTHORS_RE.match(stripped):
                p.saw_authors = True
                p.authors = tuple(a for a in (clean_text(x) for x in m.group("a").split(",")) if a)
                return
        if _RULE_RE.match(line) and not _BULLET_RE.match(line.replace("---", "")):
            return
        bullet = _BULLET_RE.match(line)
        number = _NUMBER_RE.match(line)
        if bullet or number:
            m = bullet or number
            indent = _indent_width(m.group("indent"))
            self.add_item(m.group("text") or "", indent, numbered=number is not None and bullet is None)
            return
        if in_summary and (not blank_before or raw[:1].isspace()):
            # A continuation line (lazy, or indented after a blank line).
            item = p.stack[-1]
            item.text = f"{item.text} {stripped}" if item.text else stripped
            return
        if _HTML_LINE_RE.match(stripped):
            self.warn(no, "raw HTML line ignored")
            return
        self.warn(no, f"unrecognised line in paper ignored: {_excerpt(stripped)}")

    def thumbnail_line(self, no: int, s: str) -> bool:
        p = self.paper
        assert p is not None
        kind: ThumbnailKind
        if m := _IMAGE_RE.match(s):
            kind, url = ThumbnailKind.IMAGE, m.group("url")
        elif m := _WATCH_RE.match(s):
            kind, url = ThumbnailKind.VIDEO, m.group("p") or m.group("b") or ""
        elif s.startswith("<") and (m := _VIDEO_SRC_RE.search(s)):
            kind, url = ThumbnailKind.VIDEO, next(g for g in m.groups() if g is not None)
        elif s.startswith("<") and re.match(r"^(?:</?(?:div|video|source|p|br)\b[^>]*>\s*)+$", s, re.I):
            return True  # the wrapper of a video thumbnail, split over lines
        else:
            return False
        url = clean_text(url)
        if p.thumbnail is not None:
            if p.thumbnail.url != url and not (
                p.thumbnail.kind is ThumbnailKind.VIDEO and kind is ThumbnailKind.VIDEO
            ):
                self.warn(no, "second thumbnail ignored")
            return True
        if not url:
            self.warn(no, "thumbnail has no URL; ignored")
        elif url.startswith(("http://", "https://")) or _is_relative_path(url):
            p.thumbnail = Thumbnail(kind, url)
        else:
            self.warn(no, f"thumbnail URL {_quote(url)} is not http(s); dropped")
        return True

    def vote_line(self, no: int, value: str) -> None:
        p = self.paper
        assert p is not None
        p.saw_votes = True
        if value in {"-", "", "N/A", "n/a", "?"}:
            p.votes = None
            return
        try:
            votes = int(value.replace(",", ""))
            if votes < 0:
                raise ValueError
        except ValueError:
            self.warn(no, f"vote count {_quote(value)} is not a number; treated as unknown")
            p.votes = None
            return
        p.votes = votes

    def add_item(self, text: str, indent: int, *, numbered: bool) -> None:
        p = self.paper
        assert p is not None
        label, text = _split_label(text.strip())
        item = _Item(text, label, indent, numbered)
        # Close items that are not parents of this one.
        while p.stack and p.stack[-1].indent >= indent:
            top = p.stack[-1]
            # A numbered list flush left right under a bullet that ends with
            # ':' belongs to that bullet (digest-format.md, variant 3).
            if (numbered and indent == top.indent and not top.numbered
                    and top.text.rstrip().endswith(":")):
                break
            if (numbered and len(p.stack) >= 2 and indent == top.indent and top.numbered
                    and p.stack[-2].indent == indent and not p.stack[-2].numbered):
                p.stack.pop()
                break
            p.stack.pop()
        if p.stack:
            p.stack[-1].children.append(item)
        else:
            p.items.append(item)
        p.stack.append(item)

    def finish_paper(self) -> None:
        p, self.paper = self.paper, None
        if p is None or self.digest is None:
            return
        line = p.source.line
        if p.thumbnail is None:
            self.warn(line, "paper has no thumbnail")
        if not p.saw_votes:
            self.warn(line, "paper has no 'Vote:' line")
        if not p.saw_authors:
            self.warn(line, "paper has no 'Authors:' line")
        summary = tuple(i.freeze() for i in p.items if i.text or i.children or i.label)
        if not summary:
            self.warn(line, "paper has no summary")
        self.digest.papers.append(
            Paper(
                title=p.title,
                url=p.url,
                arxiv_id=arxiv_id_from_url(p.url),
                thumbnail=p.thumbnail,
                votes=p.votes,
                authors=p.authors,
                summary=summary,
                source=p.source,
            )
        )


def _split_title_link(rest: str) -> tuple[str, str | None]:
    """Split ``[title](url)``: the title is everything up to the *last* ``](``.

    Producers fill ``### [{title}]({url})`` without escaping, so the title can
    hold unbalanced brackets (digest-format.md, variant 7).
    """
    if rest.startswith("[") and "](" in rest:
        cut = rest.rfind("](")
        title = rest[1:cut]
        tail = rest[cut + 2:].strip()
        if tail.endswith(")"):
            tail = tail[:-1]
        tail = tail.strip().strip("<>")
        # Markdown allows a link title: [t](url "title")
        tail = re.sub(r"\s+\"[^\"]*\"$", "", tail).strip()
        return title, tail
    if rest.startswith("[") and rest.endswith("]"):
        return rest[1:-1], None
    return rest, None


def _split_label(text: str) -> tuple[str | None, str]:
    m = _LABEL_RE.match(text)
    if not m or not (m.group("colon_in") or m.group("colon_out")):
        return None, text
    label = clean_text(m.group("label"))
    if not label:
        return None, text
    return label, m.group("text").strip()


def _indent_width(indent: str) -> int:
    return len(indent.expandtabs(4))


def _is_relative_path(url: str) -> bool:
    return not re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*:", url) and not url.startswith(("/", "\\"))


def _excerpt(text: str, limit: int = 60) -> str:
    text = clean_text(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _quote(text: str) -> str:
    return "'" + _excerpt(text) + "'"


# -- files and merging ------------------------------------------------------

def iter_input_files(inputs: Iterable[str | Path]) -> Iterator[tuple[str, Path | None]]:
    """Expand inputs: files as given, folders to their ``.md`` files (sorted,
    recursively), ``-`` to standard input (path ``None``)."""
    for item in inputs:
        if str(item) == STDIN:
            yield "<stdin>", None
            continue
        path = Path(item)
        if path.is_dir():
            found = sorted(
                (p for p in path.rglob("*.md") if p.is_file()),
                key=lambda p: p.relative_to(path).parts,
            )
            for p in found:
                yield str(p), p
        else:
            yield str(path), path


def read_text(name: str, path: Path | None) -> tuple[str | None, list[Diagnostic]]:
    try:
        data = sys.stdin.buffer.read() if path is None else path.read_bytes()
    except OSError as err:
        reason = err.strerror or str(err)
        return None, [Diagnostic(SourceRef(name, 1), Severity.ERROR, f"cannot read: {reason}")]
    return decode(data, name)


def parse_text(text: str, name: str) -> tuple[list[_DigestDraft], list[Diagnostic]]:
    parser = _FileParser(name, split_lines(text))
    parser.parse()
    return parser.digests, parser.diags


def read_digests(inputs: Iterable[str | Path]) -> ReadResult:
    """Read every input and return digests (sorted by date) and diagnostics.

    Days with the same date are merged; a paper repeated within a day is kept
    once (first appearance) with a warning.  The same paper on different days
    is kept on each day: ``Paper.key`` tells that it is the same.
    """
    drafts: list[_DigestDraft] = []
    diags: list[Diagnostic] = []
    for name, path in iter_input_files(inputs):
        text, file_diags = read_text(name, path)
        diags.extend(file_diags)
        if text is None:
            continue
        found, parse_diags = parse_text(text, name)
        drafts.extend(found)
        diags.extend(parse_diags)
    digests, merge_diags = merge(drafts)
    diags.extend(merge_diags)
    return ReadResult(digests=tuple(digests), diagnostics=tuple(diags))


def merge(drafts: list[_DigestDraft]) -> tuple[list[Digest], list[Diagnostic]]:
    by_date: dict[dt.date, list[_DigestDraft]] = {}
    for d in drafts:
        by_date.setdefault(d.date, []).append(d)
    out: list[Digest] = []
    diags: list[Diagnostic] = []
    for date in sorted(by_date):
        group = by_date[date]
        papers: list[Paper] = []
        seen: dict[str, Paper] = {}
        for d in group:
            for paper in d.papers:
                first = seen.get(paper.key)
                if first is not None:
                    diags.append(Diagnostic(
                        paper.source, Severity.WARNING,
                        f"duplicate paper {_quote(paper.title)} on {date.isoformat()} "
                        f"(first at {first.source}); kept once",
                    ))
                    continue
                seen[paper.key] = paper
                papers.append(paper)
        out.append(Digest(
            date=date,
            title=group[0].title,
            papers=tuple(papers),
            sources=tuple(d.source for d in group),
        ))
    return out, diags
