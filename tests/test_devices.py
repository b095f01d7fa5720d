"""Device profiles (docs/devices.md): the options, the files side by side, the build state,
the pictures and covers, the KEPUB, and each rule Send to Kindle holds a book to."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree
from PIL import Image

from device_books import (KINDLE_RULES, Book, book_language, kindle_problems, make_device_books,
                          rule_images, rule_language, rule_links_resolve, rule_order, rule_xml_declaration)
from epub_fixtures import write_week
from exporter.books import devices
from exporter.cli import main
from exporter.delivery.books import find_books
from test_build import build, logs  # noqa: F401  (fixture)
from test_delivery_options import dry, out  # noqa: F401  (fixture)

# One xdist worker for the module: its tests share the books of every profile (books), built once.
pytestmark = pytest.mark.xdist_group("test_devices")

X = "{http://www.w3.org/1999/xhtml}"


@pytest.fixture(scope="module")
def books(tmp_path_factory) -> dict[tuple[str, str], list[Path]]:
    return make_device_books(tmp_path_factory.mktemp("device-books"))


# -- options -----------------------------------------------------------------------

def test_unknown_device_is_a_usage_error_listing_the_profiles(tmp_path):
    r = CliRunner().invoke(main, ["epub", "-o", str(tmp_path), "--device", "nook"])
    assert r.exit_code == 2
    for name in devices.NAMES:
        assert repr(name) in r.stderr
    (tmp_path / "digest-export.toml").write_text('devices = ["generic", "nook"]\n', encoding="utf-8")
    r = CliRunner().invoke(main, ["--config", str(tmp_path / "digest-export.toml"), "build", "-o",
                                  str(tmp_path / "o")])
    assert r.exit_code == 2 and 'not "nook"' in r.stderr and "kobo" in r.stderr
    assert not (tmp_path / "o").exists()


def test_one_file_holds_one_profile(tmp_path):
    week = write_week(tmp_path / "in")
    r = CliRunner().invoke(main, ["epub", str(week), "-o", str(tmp_path / "b.epub"), "--images", "none",
                                  "--device", "kindle", "--device", "kobo"])
    assert r.exit_code == 2 and "one --device" in r.stderr
    assert not (tmp_path / "b.epub").exists()


def test_generic_is_the_default_and_the_same_bytes(tmp_path):
    week = write_week(tmp_path / "in")
    for args, folder in (([], "a"), (["--device", "generic"], "b")):
        r = CliRunner().invoke(main, ["epub", str(week), "-o", str(tmp_path / folder), "--images", "none", *args])
        assert r.exit_code == 0, r.output
    [a], [b] = (list((tmp_path / f).iterdir()) for f in "ab")
    assert a.name == b.name == "daily-papers-2024-W10.epub"
    assert a.read_bytes() == b.read_bytes()


# -- several profiles, side by side, in the build state -----------------------------------

def test_devices_side_by_side_and_keyed_in_the_state(logs, tmp_path):  # noqa: F811
    out = tmp_path / "site"
    config = tmp_path / "digest-export.toml"
    config.write_text('devices = ["generic", "kobo"]\n', encoding="utf-8")

    def run(*args: str):
        r = CliRunner().invoke(main, ["--config", str(config), "build", str(logs), "-o", str(out),
                                      "--images", "none", *args])
        assert r.exit_code == 0, r.output
        return r

    r = run()
    names = sorted(p.name for p in out.glob("*.epub"))
    stems = sorted({n.split(".")[0] for n in names})
    assert names == sorted([f"{s}.epub" for s in stems] + [f"{s}.kepub.epub" for s in stems])
    assert f"{len(stems) * 2} books ({len(stems) * 2} built, 0 skipped), 8 days" in r.output  # days once
    # the front page and catalog list each book once, by its first profile's file
    page = (out / "index.html").read_text(encoding="utf-8")
    assert ".kepub.epub" not in page and all(f"{s}.epub" in page for s in stems)
    # the catalog has one entry per book, whose acquisition links are its files, the first profile's first
    assert catalog_files(out) == {s: [(f"{s}.epub", "application/epub+zip"),
                                      (f"{s}.kepub.epub", "application/kepub+zip")] for s in stems}

    r = run()
    assert f"0 built, {len(stems) * 2} skipped" in r.output
    # adding a profile builds its files only
    r = run("--device", "generic", "--device", "kobo", "--device", "kindle", "-v")
    assert f"{len(stems)} built, {len(stems) * 2} skipped" in r.output
    assert all((out / f"{s}.kindle.epub").is_file() for s in stems)
    assert catalog_files(out) == {s: [(f"{s}.epub", "application/epub+zip"),
                                      (f"{s}.kindle.epub", "application/epub+zip"),
                                      (f"{s}.kepub.epub", "application/kepub+zip")] for s in stems}
    # dropping one removes its files, as any book no longer made
    run("--device", "generic", "--device", "kindle")
    assert not list(out.glob("*.kepub.epub"))
    assert all((out / f"{s}.kindle.epub").is_file() and (out / f"{s}.epub").is_file() for s in stems)
    # and the folder is what a fresh build into an empty folder makes
    fresh = tmp_path / "fresh"
    r = CliRunner().invoke(main, ["build", str(logs), "-o", str(fresh), "--images", "none", "--state",
                                  str(tmp_path / "fresh.json"), "--device", "generic", "--device", "kindle"])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in fresh.iterdir())
    for path in fresh.iterdir():
        if path.is_file():
            assert (out / path.name).read_bytes() == path.read_bytes(), path.name


def catalog_files(out: Path) -> dict[str, list[tuple[str, str]]]:
    """Each book's acquisition links (file name, media type), in order, from the catalog's feeds of
    finished and current books."""
    atom = "{http://www.w3.org/2005/Atom}"
    found = {}
    for name in ("catalog.opds", "catalog-current.opds"):
        path = out / name
        if not path.is_file():
            continue
        for entry in etree.parse(str(path)).iter(atom + "entry"):
            links = [(link.get("href").rsplit("/", 1)[-1].split("?")[0], link.get("type"))
                     for link in entry.iter(atom + "link")
                     if link.get("rel", "").startswith("http://opds-spec.org/acquisition")]
            assert links, "an entry with no acquisition link"
            found[links[0][0].split(".")[0]] = links
    return found


def test_build_kindle_warns_past_the_size_limit(logs, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setitem(devices.PROFILES, "kindle", replace(devices.KINDLE, warn_bytes=1000))
    r = build(logs, tmp_path / "o", "--device", "kindle")
    assert r.exit_code == 0
    assert re.search(r"warning: .*build-digest-2024-W10\.kindle\.epub is [\d.]+ MB, over 0\.001 MB: "
                     r"Send to Kindle takes e-mails of at most 50 MB; make it smaller with a shorter period "
                     r"\(--by week or --by day\) or --images none", r.stderr), r.stderr
    r = build(logs, tmp_path / "p")  # generic: no such limit
    assert "Send to Kindle" not in r.stderr


def test_send_refuses_a_large_book_saying_how_to_make_it_smaller(out):  # noqa: F811
    r = dry(out, "--today", "2024-03-18", "--max-size", "0.1", "--book", "2024-W10")
    assert r.exit_code == 1
    for advice in ("--by week", "--images none", "--device kindle"):
        assert advice in r.stderr, r.stderr


def test_send_takes_the_kindle_file_of_a_book(tmp_path):
    for suffix in (".epub", ".kepub.epub", ".kindle.epub", ".koreader.epub"):
        (tmp_path / f"daily-papers-2024-W10{suffix}").write_bytes(b"x")
    (tmp_path / "daily-papers-2024-W11.kepub.epub").write_bytes(b"x")
    (tmp_path / "daily-papers-2024-W11.epub").write_bytes(b"x")
    found = find_books(tmp_path).books
    assert [(b.name, b.key) for b in found] == [("daily-papers-2024-W10.kindle.epub", "2024-W10"),
                                                ("daily-papers-2024-W11.epub", "2024-W11")]


# -- Send to Kindle's rules, on every kind of book in every profile -------------------------

def test_every_book_keeps_every_kindle_rule(books):
    assert len({profile for _, profile in books}) == len(devices.NAMES)
    found = {f"{kind}, {profile}: {path.name}": problems for (kind, profile), paths in books.items()
             for path in paths if (problems := kindle_problems(path))}
    assert found == {}


def _edited(path: Path, tmp: Path, edit) -> Path:
    files = Book(path).files
    edit(files)
    broken = tmp / f"broken-{len(list(tmp.iterdir()))}.epub"
    with zipfile.ZipFile(broken, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return broken


def test_each_kindle_rule_can_fail(books, tmp_path):
    good = books[("month, English, text only", "kindle")][0]
    day = next(n for n in Book(good).xhtml if "/day-" in n)

    def sub(name, old, new):
        def edit(files):
            assert old in files[name], (name, old)
            files[name] = files[name].replace(old, new, 1)
        return edit

    body_link = sub(day, b"<body>", b'<body id="top"><p><a href="#top">x</a></p>')
    cases = {
        rule_xml_declaration: sub(day, b"<?xml version='1.0' encoding='utf-8'?>\n", b""),
        rule_links_resolve: body_link,
        rule_images: sub(day, b"</section>", b'<img alt="x"/></section>'),
        rule_order: sub("EPUB/toc.ncx", b"<navPoint", b"<navPoint id=\"zz\"><navLabel><text>x</text></navLabel>"
                        b"<content src=\"nav.xhtml\"/></navPoint><navPoint"),
        rule_language: sub("EPUB/content.opf", b">en</dc:language>", b">us</dc:language>"),
    }
    assert set(cases) == set(KINDLE_RULES)
    for rule, edit in cases.items():
        broken = Book(_edited(good, tmp_path, edit))
        assert rule(broken), rule.__name__
    assert rule_links_resolve(Book(_edited(good, tmp_path, sub(day, b'href="#', b'href="#missing-'))))


def test_a_korean_book_says_it_is_korean_on_kindle(books):
    for path in books[("week, thumbnails", "kindle")]:
        assert book_language(Book(path)) == "ko"


# -- pictures and covers -------------------------------------------------------------

def _images(path: Path) -> dict[str, Image.Image]:
    with zipfile.ZipFile(path) as zf:
        return {n: Image.open(io.BytesIO(zf.read(n))) for n in zf.namelist() if n.startswith("EPUB/images/")}


@pytest.mark.parametrize("name", ["kindle", "kobo", "koreader", "generic"])
def test_pictures_and_cover_fit_the_profile(books, name):
    profile = devices.PROFILES[name]
    thumbnails = 0
    for path in books[("week, thumbnails", name)] + books[("hostile", name)]:
        with zipfile.ZipFile(path) as zf:
            sizes = {n: zf.getinfo(n).file_size for n in zf.namelist()}
        for member, image in _images(path).items():
            if member == "EPUB/images/cover.jpg":
                assert image.size == profile.cover_size
                assert image.format == "JPEG"
            else:
                thumbnails += 1
                assert image.width <= profile.picture_box[0] and image.height <= profile.picture_box[1]
            if profile.grayscale:
                assert image.mode == "L", (member, image.mode)
            if profile.max_picture_bytes is not None:
                assert sizes[member] < profile.max_picture_bytes
    assert thumbnails
    if name == "kobo":
        w, h = profile.cover_size
        assert abs(w / h - 3 / 4) < 0.02  # kobolabs/epub-spec: about 3:4
        assert profile.max_picture_bytes <= 3_000_000


# -- the KEPUB ---------------------------------------------------------------------

def _text(root) -> str:
    body = root.find(f"{X}body")
    return "".join(body.itertext()).strip()


def test_kepub_spans_and_wrappers_keep_the_text(books):
    for kind in ("week, thumbnails", "hostile", "all, corpus, text only"):
        [plain], [kepub] = books[(kind, "generic")], books[(kind, "kobo")]
        assert kepub.name.endswith(".kepub.epub") and kepub.name.replace(".kepub", "") == plain.name
        a, b = Book(plain), Book(kepub)
        assert [n for n in a.files if "/images/" not in n] == [n for n in b.files if "/images/" not in n]
        for name, root in b.xhtml.items():
            if name == b.nav_name:
                assert b.files[name] == a.files[name]
                continue
            body = root.find(f"{X}body")
            [columns] = [e for e in body if isinstance(e.tag, str)]
            assert columns.get("id") == "book-columns"
            assert [e.get("id") for e in columns] == ["book-inner"]
            spans = [e for e in root.iter(f"{X}span") if e.get("class") == "koboSpan"]
            ids = [s.get("id") for s in spans]
            assert ids and len(ids) == len(set(ids)), name
            assert all(re.fullmatch(r"kobo\.\d+\.\d+", i) for i in ids)
            # the same words, in the same order, every word inside a span
            assert _text(root) == _text(a.xhtml[name]), name
            assert len(list(root.iter(f"{X}img"))) == len(list(a.xhtml[name].iter(f"{X}img")))
            loose = [t for e in columns.iter() if isinstance(e.tag, str) and e.get("class") != "koboSpan"
                     for t in (e.text, e.tail) if t and t.strip()
                     and not (e.tail == t and e.getparent() is not None
                              and e.getparent().get("class") == "koboSpan")]
            assert loose == [], (name, loose[:3])
            for img in root.iter(f"{X}img"):
                assert img.getparent().get("class") == "koboSpan"


def test_kepub_sentences_are_split(books):
    [kepub] = books[("month, English, text only", "kobo")]
    book = Book(kepub)
    spans = [s for root in book.xhtml.values() for s in root.iter(f"{X}span") if s.get("class") == "koboSpan"]
    paragraphs: dict[str, int] = {}
    for s in spans:
        _, p, _ = s.get("id").split(".")
        paragraphs[p] = paragraphs.get(p, 0) + 1
    assert max(paragraphs.values()) >= 2  # a paragraph of several sentences has several spans


def test_kepub_cover_is_an_image_page(books):
    [kepub] = books[("week, thumbnails", "kobo")]
    book = Book(kepub)
    cover = book.xhtml["EPUB/cover.xhtml"]
    [img] = list(cover.iter(f"{X}img"))
    assert img.get("src") == "images/cover.jpg"
    assert b"background-image" not in book.files["EPUB/style/epub.css"]
    meta = book.opf.find(".//{http://www.idpf.org/2007/opf}meta[@name='cover']")
    assert meta is not None and book.manifest[meta.get("content")].get("href") == "images/cover.jpg"
    assert etree.tostring(cover).count(b"<img") == 1


def test_feed_catalog_of_a_folder_lists_a_book_once(tmp_path):
    week = write_week(tmp_path / "in")
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["epub", str(week), "-o", str(out), "--images", "none",
                                  "--device", "generic", "--device", "kobo"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["feed", str(week), "-o", str(out), "--format", "opds"])
    assert r.exit_code == 0, r.output
    catalog = (out / "catalog.opds").read_text(encoding="utf-8")
    assert catalog.count("</entry>") == 1 and "daily-papers-2024-W10.epub" in catalog
