"""A day of thousands of papers: split into documents of bounded size, built in linear time."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from epub_fixtures import EN, NS, day_md, paper_md, unzip, xml
from exporter.books import epub as book_epub
from exporter.books.epub import EpubOptions
from exporter.pipeline import build_epubs
from exporter.reader.parse import read_digests
from exporter.resources import sample_dir


def write_days(folder: Path, counts: dict[str, int], *, repeat: tuple[str, str] | None = None) -> Path:
    """One file per day, *counts* papers each; *repeat* (date, arXiv id) repeats a paper on that day."""
    folder.mkdir(parents=True, exist_ok=True)
    for n, (date, count) in enumerate(counts.items()):
        papers = [paper_md(f"24{n:02d}.{j:05d}", f"Paper {n}-{j}", text=EN) for j in range(count)]
        if repeat and repeat[0] == date:
            papers.append(paper_md(repeat[1], "Seen before", text=EN))
        (folder / f"{date}.md").write_text(day_md(date, papers), encoding="utf-8")
    return folder


def build(src: Path, out: Path, **kw) -> dict[str, bytes]:
    report = build_epubs(read_digests([src]), EpubOptions(out_dir=out, images="none", jobs=1, **kw))
    assert len(report.files) == 1
    return unzip(report.files[0][0])


def ids_of(doc: bytes) -> set[str]:
    return {e.get("id") for e in xml(doc).iter() if e.get("id")}


def test_a_day_over_the_budget_is_split_into_parts_under_one_entry_of_the_contents(tmp_path, monkeypatch):
    monkeypatch.setattr(book_epub, "PART_BUDGET", 12_000)
    # The last paper of Monday is repeated on Tuesday: its link goes to the part that holds it.
    src = write_days(tmp_path / "in", {"2024-03-04": 40, "2024-03-05": 3}, repeat=("2024-03-05", "2400.00039"))
    files = build(src, tmp_path / "out", by="all")

    parts = sorted((n for n in files if n.startswith("EPUB/day-2024-03-04")),
                   key=lambda n: (len(n), n))
    assert len(parts) >= 4
    assert parts == ["EPUB/day-2024-03-04.xhtml"] + [f"EPUB/day-2024-03-04-{k}.xhtml" for k in range(2, len(parts) + 1)]
    assert "EPUB/day-2024-03-05.xhtml" in files and "EPUB/day-2024-03-05-2.xhtml" not in files
    # The spine reads the parts in order, then the next day.
    opf = xml(files["EPUB/content.opf"])
    hrefs = {i.get("id"): i.get("href") for i in opf.iterfind(".//opf:manifest/opf:item", NS)}
    spine = [hrefs[r.get("idref")] for r in opf.iterfind(".//opf:spine/opf:itemref", NS)]
    days = [h for h in spine if h.startswith("day-")]
    assert days == [p.removeprefix("EPUB/") for p in parts] + ["day-2024-03-05.xhtml"]

    # Every paper once, in the digest's order, each part within the budget (with the markup's share).
    shown = []
    for k, name in enumerate(parts, 1):
        doc = xml(files[name])
        papers = doc.findall(".//x:section[@class='paper']", NS)
        assert papers and len(files[name]) < 2 * 12_000
        shown += [p.get("id") for p in papers]
        # Each part names the day, and which part of it it is.
        assert doc.findtext(".//x:h1", namespaces=NS).startswith("2024-03-04")
        assert f"{k}/{len(parts)}" in "".join(doc.find(".//x:p[@class='day-sub']", NS).itertext())
        title = doc.findtext(".//x:title", namespaces=NS)
        assert title == ("2024-03-04 (Monday)" if k == 1 else f"2024-03-04 (Monday) {k}/{len(parts)}")
    assert shown == [f"p-2400.{j:05d}" for j in range(40)]

    # The contents stay two levels: the day (its first part), then each of its papers in its part.
    nav = xml(files["EPUB/nav.xhtml"])
    toc = nav.find(".//x:nav[@epub:type='toc']/x:ol", NS)
    day_items = toc.findall("x:li", NS)
    assert [li.find("x:a", NS).get("href") for li in day_items] == ["day-2024-03-04.xhtml", "day-2024-03-05.xhtml"]
    assert day_items[0].find("x:a", NS).text == "2024-03-04 (Monday)"
    links = [a.get("href") for a in day_items[0].findall("x:ol/x:li/x:a", NS)]
    assert [h.split("#")[1] for h in links] == shown
    assert not day_items[0].findall("x:ol/x:li/x:ol", NS)
    for href in links:
        name, anchor = href.split("#")
        assert anchor in ids_of(files["EPUB/" + name]), href
    # The NCX says the same.
    ncx = xml(files["EPUB/toc.ncx"])
    points = ncx.findall("ncx:navMap/ncx:navPoint", NS)
    assert [p.find("ncx:content", NS).get("src") for p in points] == ["day-2024-03-04.xhtml", "day-2024-03-05.xhtml"]
    assert [c.get("src") for c in points[0].findall("ncx:navPoint/ncx:content", NS)] == links
    # The repeat links to the part that holds the paper.
    repeat = xml(files["EPUB/day-2024-03-05.xhtml"]).find(".//x:p[@class='repeat']/x:a", NS).get("href")
    name, anchor = repeat.split("#")
    assert name == parts[-1].removeprefix("EPUB/") and anchor == "p-2400.00039"
    assert anchor in ids_of(files["EPUB/" + name])


def test_a_day_within_the_budget_stays_one_document(tmp_path):
    src = write_days(tmp_path / "in", {"2024-03-04": 120})
    files = build(src, tmp_path / "out")
    assert [n for n in files if n.startswith("EPUB/day-")] == ["EPUB/day-2024-03-04.xhtml"]
    day = xml(files["EPUB/day-2024-03-04.xhtml"])
    assert "/" not in "".join(day.find(".//x:p[@class='day-sub']", NS).itertext())
    assert len(day.findall(".//x:section[@class='paper']", NS)) == 120


@pytest.mark.parametrize("budget", [None, 3_000])
def test_the_ncx_is_the_one_ebooklib_writes(tmp_path, monkeypatch, budget):
    """exporter.books.ncx writes ebooklib's own NCX, byte for byte (books made before it
    stay the same bytes), for whole days and for a day in parts."""
    import exporter.books.ncx as ncx

    if budget:
        monkeypatch.setattr(book_epub, "PART_BUDGET", budget)
    ours = build(sample_dir(), tmp_path / "ours", by="all")
    monkeypatch.setattr(ncx, "ncx_document", lambda writer: None)
    theirs = build(sample_dir(), tmp_path / "theirs", by="all")
    assert ours["EPUB/toc.ncx"] == theirs["EPUB/toc.ncx"]
    assert ours == theirs
    assert (budget is not None) == any(n.endswith("-2.xhtml") for n in ours)


def _best_of_two(run) -> float:
    times = []
    for _ in range(2):
        start = time.process_time()
        run()
        times.append(time.process_time() - start)
    return min(times)


def test_the_ncx_is_written_in_linear_time():
    """ebooklib 0.20's NCX writer walks every entry written before each new one: 32,000
    papers under one day cost 256 times what 2,000 do (seconds) instead of 16 times."""
    from ebooklib import epub

    from exporter.books.ncx import ncx_document

    def writer(n: int):
        book = epub.EpubBook()
        book.set_identifier("urn:uuid:0")
        book.set_title("t")
        day = epub.EpubHtml(uid="d", file_name="day.xhtml", title="day")
        book.toc = [(day, [epub.Link(f"day.xhtml#p{i}", f"Paper {i}", uid=f"n{i}") for i in range(n)])]
        return epub.EpubWriter(str(Path("unused.epub")), book, {})

    small, large = writer(2_000), writer(32_000)
    ratio = _best_of_two(lambda: ncx_document(large)) / max(_best_of_two(lambda: ncx_document(small)), 1e-4)
    assert ratio < 16 * 2.5, ratio


def test_one_day_of_many_papers_costs_linear_time(tmp_path):
    """Papers in one day, 500 then 4,000: the book costs about 8 times as much, not 64
    (the time of this process, best of two, with room for a busy machine)."""
    def run(n: int) -> float:
        src = write_days(tmp_path / f"in{n}", {"2024-03-04": n})
        out = tmp_path / f"out{n}"
        return _best_of_two(lambda: build_epubs(read_digests([src]),
                                                EpubOptions(out_dir=out, images="none", jobs=1, cover=False)))

    small, large = run(500), run(4_000)
    assert large / small < 8 * 2, (small, large)
