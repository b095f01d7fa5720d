"""The repository documents itself: code, tests, benchmarks, templates and
the README cite only what a reader of the repository can open.

Citations are paths under ``docs/`` (``docs/format.md, variant 7``,
``docs/library-workarounds.md, ebooklib 5``), spec sections or upstream
URLs, never a file from outside the repository or an issue number of an
internal tracker.  The forbidden names are built from pieces below, so that
this file does not cite them itself.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ("exporter", "tests", "benchmarks", "templates", "README.md")
SKIP_SUFFIXES = {".pyc", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".epub", ".zip"}

#: Files that live outside the repository (briefing material).
OUTSIDE_FILES = ("digest" + "-format.md", "pit" + "falls.md", "STY" + "LE.md", ".." + "/shared")
#: The word for a tracker entry followed by its number (" 5", " #5", "-5"):
#: a tracker that a reader of the repository cannot open.
ISSUE_NUMBER = re.compile(r"\b" + "iss" + r"ues?[ -]?#?\d", re.I)

DOC_PATH = re.compile(r"\bdocs/[A-Za-z0-9_./-]+\.md\b")
VARIANT_CITATION = re.compile(r"docs/format\.md,?\s+variants?\s+(\d+)")
WORKAROUND_CITATION = re.compile(r"docs/library-workarounds\.md,?\s+(ebooklib|feedgen)\s+(\d+)")
#: "ebooklib 8", "feedgen 3 and 4" (not "ebooklib 0.20", "feedgen 1.0.0").
WORKAROUND_SHORT = re.compile(r"\b(ebooklib|feedgen) (\d+)(?![\d.])(?: and (\d+)(?![\d.]))?")
ANCHOR_LINK = re.compile(r"\bdocs/([A-Za-z0-9_./-]+\.md)#([A-Za-z0-9_-]+)")


def scanned_files() -> list[Path]:
    files = []
    for name in SCANNED:
        path = ROOT / name
        if path.is_file():
            files.append(path)
            continue
        for p in sorted(path.rglob("*")):
            if (p.is_file() and p.suffix.lower() not in SKIP_SUFFIXES
                    and "__pycache__" not in p.parts and not any(part.startswith(".") for part in p.parts[-2:])):
                files.append(p)
    return files


@cache
def text_of(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return None  # binary data (sample images, fixtures)


def texts() -> list[tuple[Path, str]]:
    return [(p, t) for p in scanned_files() if (t := text_of(p)) is not None]


def flat(text: str) -> str:
    """Text with comment line breaks removed, so that a citation wrapped over
    two comment lines (``docs/format.md,\\n    # variant 3``) reads as one."""
    return re.sub(r"\s*\n\s*(?:#:?\s*)?", " ", text)


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@cache
def headings(doc: str) -> tuple[str, ...]:
    return tuple(re.findall(r"^#{1,6}\s+(.+?)\s*$", (ROOT / "docs" / doc).read_text(encoding="utf-8"), re.M))


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def numbered(doc: str, word: str) -> list[int]:
    return [int(m.group(1)) for h in headings(doc) if (m := re.match(rf"{word} (\d+):", h))]


def test_the_scan_sees_the_tree():
    names = {rel(p) for p in scanned_files()}
    assert {"README.md", "exporter/reader/parse.py", "tests/test_docs.py", "templates/day.xhtml.j2"} <= names


def test_nothing_cites_files_or_issues_outside_the_repository():
    found = []
    for path, text in texts():
        for no, line in enumerate(text.splitlines(), start=1):
            if any(name in line for name in OUTSIDE_FILES) or ISSUE_NUMBER.search(line):
                found.append(f"{rel(path)}:{no}: {line.strip()}")
    assert found == [], "cite docs/, a spec section or an upstream URL instead:\n" + "\n".join(found)


def test_cited_docs_exist():
    missing = sorted({f"{rel(path)}: {m.group(0)}" for path, text in texts()
                      for m in DOC_PATH.finditer(text) if not (ROOT / m.group(0)).is_file()})
    assert missing == []


def test_docs_number_their_entries_without_gaps():
    for doc, word in (("format.md", "Variant"), ("library-workarounds.md", "ebooklib"),
                      ("library-workarounds.md", "feedgen")):
        numbers = numbered(doc, word)
        assert numbers and numbers == list(range(1, len(numbers) + 1)), (doc, word, numbers)


def test_cited_variants_exist():
    variants = set(numbered("format.md", "Variant"))
    bad = []
    for path, text in texts():
        cited = [int(n) for n in VARIANT_CITATION.findall(flat(text))]
        if "docs/format.md" in text:
            # A file that cites the format page may say "variant N" for short.
            cited += [int(n) for n in re.findall(r"\bvariants? (\d+)\b", flat(text), re.I)]
        bad += [f"{rel(path)}: variant {n}" for n in cited if n not in variants]
    assert bad == []


def test_cited_workarounds_exist():
    known = {lib: set(numbered("library-workarounds.md", lib)) for lib in ("ebooklib", "feedgen")}
    bad = []
    for path, text in texts():
        if path.suffix not in (".py", ".md") or path.name == "README.md":
            continue
        text = flat(text)
        cited = [(lib, int(n)) for lib, n in WORKAROUND_CITATION.findall(text)]
        for m in WORKAROUND_SHORT.finditer(text):
            cited += [(m.group(1), int(n)) for n in m.groups()[1:] if n]
        bad += [f"{rel(path)}: {lib} {n}" for lib, n in cited if n not in known[lib]]
    assert bad == []


def test_cited_anchors_exist():
    bad = []
    for path, text in texts():
        for doc, anchor in ANCHOR_LINK.findall(text):
            doc_path = ROOT / "docs" / doc
            if not doc_path.is_file():
                bad.append(f"{rel(path)}: docs/{doc}#{anchor}")
                continue
            ids = set(re.findall(r'<a id="([^"]+)"', doc_path.read_text(encoding="utf-8")))
            if anchor not in ids | {slug(h) for h in headings(doc)}:
                bad.append(f"{rel(path)}: docs/{doc}#{anchor}")
    assert bad == []


@pytest.mark.parametrize("n, anchor", [(1, "variant-1-video-thumbnails"),
                                       (7, "variant-7-titles-are-literal-text")])
def test_variant_anchors_are_stable(n, anchor):
    text = (ROOT / "docs" / "format.md").read_text(encoding="utf-8")
    assert anchor in {slug(h) for h in headings("format.md")}
    assert f'<a id="variant-{n}"></a>' in text
