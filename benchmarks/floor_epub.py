"""The floor: the least work any exporter of these digests into weekly EPUBs must do.

    python benchmarks/floor_epub.py CORPUS OUT

One process: read every ``.md`` file, split days and papers with plain
string operations, escape the text, and write one EPUB zip per ISO week
(mimetype, container, package document, navigation, one XHTML page per
day).  No Markdown, no templates, no cover, no validation: what
``digest-export epub --images none`` is compared with
(benchmarks/bench_selections.py).
"""

from __future__ import annotations

import datetime as dt
import sys
import zipfile
from html import escape
from pathlib import Path

CONTAINER = ('<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
             '<rootfiles><rootfile full-path="EPUB/content.opf" media-type="application/oebps-package+xml"/>'
             '</rootfiles></container>')


def days_of(text: str) -> list[tuple[str, list[tuple[str, list[str]]]]]:
    """[(ISO date, [(paper heading, its lines)])] by plain string splitting."""
    days = []
    for chunk in ("\n" + text).split("\n## ")[1:]:
        head, _, rest = chunk.partition("\n")
        date = head[head.rfind("(") + 1:head.rfind(")")]
        papers = []
        for block in rest.split("\n### ")[1:]:
            title, _, body = block.partition("\n")
            papers.append((title, [line for line in body.split("\n") if line.strip()]))
        days.append((date, papers))
    return days


def page(date: str, papers: list[tuple[str, list[str]]]) -> bytes:
    out = ['<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>',
           date, "</title></head><body><h1>", date, "</h1>"]
    for i, (title, lines) in enumerate(papers):
        out.append(f'<section id="p{i}"><h2>{escape(title)}</h2><ul>')
        out.extend(f"<li>{escape(line)}</li>" for line in lines)
        out.append("</ul></section>")
    out.append("</body></html>")
    return "".join(out).encode("utf-8")


def write_week(path: Path, key: str, days: list[tuple[str, list]]) -> None:
    items = "".join(f'<item id="d{i}" href="d{i}.xhtml" media-type="application/xhtml+xml"/>' for i in range(len(days)))
    spine = "".join(f'<itemref idref="d{i}"/>' for i in range(len(days)))
    opf = ('<?xml version="1.0" encoding="utf-8"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0" '
           'unique-identifier="id"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
           f'<dc:identifier id="id">urn:floor:{key}</dc:identifier><dc:title>{key}</dc:title>'
           '<dc:language>ko</dc:language></metadata><manifest>'
           '<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>'
           f'{items}</manifest><spine>{spine}</spine></package>')
    nav = ('<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml" '
           'xmlns:epub="http://www.idpf.org/2007/ops"><head><title>nav</title></head><body><nav epub:type="toc"><ol>'
           + "".join(f'<li><a href="d{i}.xhtml">{d}</a></li>' for i, (d, _) in enumerate(days))
           + "</ol></nav></body></html>")
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        z.writestr("META-INF/container.xml", CONTAINER, compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("EPUB/content.opf", opf, compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("EPUB/nav.xhtml", nav, compress_type=zipfile.ZIP_DEFLATED)
        for i, (date, papers) in enumerate(days):
            z.writestr(f"EPUB/d{i}.xhtml", page(date, papers), compress_type=zipfile.ZIP_DEFLATED)


def main() -> None:
    corpus, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    weeks: dict[str, list] = {}
    for path in sorted(corpus.rglob("*.md")):
        for date, papers in days_of(path.read_text(encoding="utf-8")):
            year, week, _ = dt.date.fromisoformat(date).isocalendar()
            weeks.setdefault(f"{year}-W{week:02d}", []).append((date, papers))
    for key, days in sorted(weeks.items()):
        write_week(out / f"floor-{key}.epub", key, sorted(days))


if __name__ == "__main__":
    main()
