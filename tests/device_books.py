"""Every kind of book in every device profile, and the rules Send to Kindle holds books to.

:func:`make_device_books` builds each kind of book (week, day, month, all,
text only, grey, with thumbnails, from hostile input) in each profile;
:func:`kindle_problems` implements each rule of docs/devices.md ("Kindle:
what Send to Kindle accepts"), one function per rule, on the files of a
book.  The validators (EPUBCheck, Ace, calibre, epub.js) run over the same
books, each in one batch.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

from lxml import etree

from epub_fixtures import EN, write_week
from exporter.books.devices import NAMES
from exporter.books.epub import EpubOptions
from exporter.pipeline import build_epubs
from exporter.reader.parse import read_digests
from exporter.resources import sample_dir
from hostile_corpus import write_hostile

NS = {"opf": "http://www.idpf.org/2007/opf", "x": "http://www.w3.org/1999/xhtml",
      "ncx": "http://www.daisy.org/z3986/2005/ncx/", "dc": "http://purl.org/dc/elements/1.1/",
      "c": "urn:oasis:names:tc:opendocument:xmlns:container"}
#: Amazon's list of Kindle languages (https://kdp.amazon.com/en_US/help/topic/G200673300 as
#: kindle-epub-fix copies it), primary subtags; Korean is not on it (docs/devices.md).
KINDLE_LANGUAGES = frozenset(
    "af gsw ar eu nb br ca zh kw co da nl stq en fi fr fy gl de gu hi is ga it ja lb mr ml gv frr nn pl pt "
    "oc rm sco gd es sv ta cy".split())
#: Image types Kindle converts (Kindle Publishing Guidelines: JPEG, PNG, GIF; BMP not in EPUB).
KINDLE_IMAGES = frozenset({"image/jpeg", "image/png", "image/gif"})
_XML_DECLARATION = re.compile(rb"""^<\?xml\s+version=["'][\d.]+["']\s+encoding=["']utf-8["'].*?\?>""", re.I)


def _corpus(folder: Path) -> Path:
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "corpus.py"
    subprocess.run([sys.executable, str(script), str(folder), "--days", "4", "--papers", "40"],
                   check=True, capture_output=True)
    return folder


def book_kinds(tmp: Path) -> dict[str, tuple[list[Path], dict]]:
    """Each kind of book: (inputs, EpubOptions fields).  The sample's thumbnails are local files
    and the hostile input's remote ones are on blocked addresses: no network."""
    cache = tmp / "cache"
    (tmp / "hostile").mkdir(parents=True, exist_ok=True)
    sample = [sample_dir()]
    return {
        "week, thumbnails": (sample, dict(images="embed", cache_dir=cache)),
        "day, grey, thumbnails": (sample, dict(images="embed", cache_dir=cache, grayscale=True, by="day",
                                               date_from=dt.date(2024, 3, 4), date_to=dt.date(2024, 3, 5))),
        "month, English, text only": ([write_week(tmp / "en", text=EN)], dict(images="none", by="month")),
        "all, corpus, text only": ([_corpus(tmp / "corpus")], dict(images="none", by="all", keep_going=True)),
        "hostile": ([write_hostile(tmp / "hostile", days=("2024-03-04",))],
                    dict(images="embed", cache_dir=cache, image_timeout=2, keep_going=True)),
    }


def make_device_books(tmp: Path, devices: tuple[str, ...] = NAMES) -> dict[tuple[str, str], list[Path]]:
    """{(kind, profile): the books}, every profile of a kind made in one run, side by side."""
    books: dict[tuple[str, str], list[Path]] = {}
    kinds = book_kinds(tmp)
    for i, (kind, (inputs, options)) in enumerate(kinds.items()):
        report = build_epubs(read_digests(inputs), EpubOptions(out_dir=tmp / f"out{i}", device=devices[0],
                                                               devices=devices, **options))
        for path, _ in report.files:
            from exporter.books.devices import split_suffix

            books.setdefault((kind, split_suffix(path.name)[1].name), []).append(path)
    assert {k for k, _ in books} == set(kinds), books
    return books


# -- the rules ---------------------------------------------------------------------

class Book:
    """The files of an EPUB, its package document and its XHTML documents, parsed once."""

    def __init__(self, path: Path):
        with zipfile.ZipFile(path) as zf:
            self.files = {n: zf.read(n) for n in zf.namelist()}
        container = etree.fromstring(self.files["META-INF/container.xml"])
        self.opf_name = container.find(".//c:rootfile", NS).get("full-path")
        self.base = posixpath.dirname(self.opf_name)
        self.opf = etree.fromstring(self.files[self.opf_name])
        self.manifest = {item.get("id"): item for item in self.opf.find("opf:manifest", NS)}
        self.by_href = {self.name(item.get("href")): item for item in self.manifest.values()}
        self.xhtml = {name: etree.fromstring(self.files[name]) for name, item in self.by_href.items()
                      if item.get("media-type") == "application/xhtml+xml"}
        self.spine = [self.name(self.manifest[ref.get("idref")].get("href"))
                      for ref in self.opf.find("opf:spine", NS)]
        nav = next(n for n, item in self.by_href.items() if "nav" in (item.get("properties") or "").split())
        self.nav_name = nav
        ncx = next(n for n, item in self.by_href.items() if item.get("media-type") == "application/x-dtbncx+xml")
        self.ncx_name = ncx
        self.ncx = etree.fromstring(self.files[ncx])

    def name(self, href: str, relative_to: str | None = None) -> str:
        folder = posixpath.dirname(relative_to) if relative_to else self.base
        return posixpath.normpath(posixpath.join(folder, unquote(href.split("#")[0])))

    def ids(self, name: str) -> set[str]:
        root = self.xhtml.get(name)
        return set() if root is None else {e.get("id") for e in root.iter() if e.get("id")}

    def body_ids(self) -> set[tuple[str, str]]:
        return {(name, body.get("id")) for name, root in self.xhtml.items()
                for body in root.iter(f"{{{NS['x']}}}body") if body.get("id")}

    def nav_links(self) -> list[str]:
        toc = next(n for n in self.xhtml[self.nav_name].iter(f"{{{NS['x']}}}nav")
                   if n.get("{http://www.idpf.org/2007/ops}type") == "toc")
        return [a.get("href") for a in toc.iter(f"{{{NS['x']}}}a")]

    def ncx_links(self) -> list[str]:
        # Document order (ebooklib writes no playOrder; where present it must agree).
        points = list(self.ncx.iter(f"{{{NS['ncx']}}}navPoint"))
        orders = [int(p.get("playOrder")) for p in points if p.get("playOrder")]
        assert orders == sorted(orders), "NCX playOrder is not the document order"
        return [p.find("ncx:content", NS).get("src") for p in points]


def rule_xml_declaration(book: Book) -> list[str]:
    """Every XHTML file starts with an XML declaration naming UTF-8 (kindle-epub-fix fixEncoding)."""
    return [f"{n}: no XML declaration naming UTF-8" for n in book.xhtml
            if not _XML_DECLARATION.match(book.files[n].lstrip())]


def _resolve(book: Book, href: str, source: str) -> str | None:
    """Why *href* (in *source*) does not resolve, or None."""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc:
        return None  # external: not Kindle's business
    target = book.name(href, source) if parts.path else source
    if target not in book.files:
        return f"{source}: link {href!r}: no file {target}"
    if parts.fragment:
        if (target, parts.fragment) in book.body_ids():
            return f"{source}: link {href!r} points at a <body> id"
        if parts.fragment not in book.ids(target):
            return f"{source}: link {href!r}: no id {parts.fragment!r} in {target}"
    return None


def rule_links_resolve(book: Book) -> list[str]:
    """Every internal link, nav entry and NCX entry resolves, none to a <body> id
    (kindle-epub-fix fixBodyIdLink)."""
    found = []
    for name, root in book.xhtml.items():
        for a in root.iter(f"{{{NS['x']}}}a"):
            if a.get("href") is not None:
                found.append(_resolve(book, a.get("href"), name))
    found += [_resolve(book, src, book.ncx_name) for src in book.ncx_links()]
    return [f for f in found if f]


def rule_images(book: Book) -> list[str]:
    """No <img> without src (kindle-epub-fix fixStrayIMG); each image in the book, of a type
    Kindle converts."""
    found = []
    for name, root in book.xhtml.items():
        for img in root.iter(f"{{{NS['x']}}}img"):
            src = img.get("src")
            if not src:
                found.append(f"{name}: <img> without src")
                continue
            item = book.by_href.get(book.name(src, name))
            if item is None or book.name(src, name) not in book.files:
                found.append(f"{name}: image {src!r} not in the book")
            elif item.get("media-type") not in KINDLE_IMAGES:
                found.append(f"{name}: image {src!r} is {item.get('media-type')}")
    found += [f"manifest: {item.get('href')} is {item.get('media-type')}" for item in book.manifest.values()
              if item.get("media-type", "").startswith("image/") and item.get("media-type") not in KINDLE_IMAGES]
    return found


def _documents(links: list[str], base: str, book: Book) -> list[str]:
    return list(dict.fromkeys(book.name(link, base) for link in links))


def rule_order(book: Book) -> list[str]:
    """The spine order is the nav's and the NCX's: the documents they list, in the same order,
    and the entries of nav and NCX are the same ones."""
    found = []
    nav, ncx = book.nav_links(), book.ncx_links()
    nav_docs, ncx_docs = _documents(nav, book.nav_name, book), _documents(ncx, book.ncx_name, book)
    spine_docs = [d for d in book.spine if d in nav_docs]
    if nav_docs != spine_docs:
        found.append(f"nav order {nav_docs} is not the spine's {spine_docs}")
    if [book.name(h, book.nav_name) + "#" + h.partition("#")[2] for h in nav] != \
            [book.name(h, book.ncx_name) + "#" + h.partition("#")[2] for h in ncx]:
        found.append("the NCX does not list the nav's entries in the nav's order")
    if ncx_docs != nav_docs:
        found.append("the NCX's documents are not the nav's")
    return found


def book_language(book: Book) -> str:
    return book.opf.find("opf:metadata/dc:language", NS).text or ""


def rule_language(book: Book) -> list[str]:
    """A language Kindle lists, or ``ko`` (not on Amazon's list; docs/devices.md says why it is kept)."""
    lang = book_language(book).strip()
    primary = lang.split("-")[0].lower()
    if not lang:
        return ["no dc:language"]
    if primary not in KINDLE_LANGUAGES and primary != "ko":
        return [f"dc:language {lang!r} is not one Kindle knows"]
    return []


KINDLE_RULES = (rule_xml_declaration, rule_links_resolve, rule_images, rule_order, rule_language)


def kindle_problems(path: Path) -> list[str]:
    book = Book(path)
    return [f"{rule.__name__}: {problem}" for rule in KINDLE_RULES for problem in rule(book)]
