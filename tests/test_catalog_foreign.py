"""The catalog over EPUBs the program did not write, generated through the CLI:

- copies of one book under other names (one ``dc:identifier``) get an entry id each, the
  program's own book keeps its identifier, and a warning names both files (RFC 4287 4.2.6; the
  W3C Feed Validator: DuplicateIds);
- a book the EPUB container gate refuses (two package documents of one name, say) is left out
  with a warning, as ``send`` refuses it: one gate reads every foreign EPUB;
- a user's file in the way of a cover's thumbnail is the file the warning names, and a member
  name is quoted by the names gate.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import warnings
import zipfile

from exporter.gates.names import shell_quote
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import feed_validator
from hostile_three import run_cli, tree_edit, with_package

SETTINGS = dict(deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
DAY = "## Daily Papers (2024-03-04)\n\n### [T](https://arxiv.org/abs/2403.00001)\n\nVote: 1\n\nAuthors: A\n\n- s\n"
BOOK = "daily-papers-2024-W10.epub"
BASE = "https://ex.org/"
copy_names = st.text(st.sampled_from("abcXYZ019 -_éé가"), min_size=1, max_size=12).map(
    lambda s: s.strip() + ".epub").filter(lambda n: n != ".epub" and not n.startswith((".", "-"))
                                          and not n.endswith(".kepub.epub") and n != BOOK)


def _setup(tmp: Path) -> Path:
    (tmp / "in").mkdir()
    (tmp / "in" / "d.md").write_text(DAY, "utf-8")
    out = tmp / "c"
    r = run_cli(["epub", str(tmp / "in" / "d.md"), "-o", str(out), "--images", "none"], tmp)
    assert r.exit_code == 0, r.output
    return out


def _catalog(tmp: Path, out: Path, command: str):
    if command == "feed":
        args = ["feed", str(tmp / "in" / "d.md"), "-o", str(out), "--format", "opds", "--base-url", BASE]
    else:
        args = ["build", str(tmp / "in"), "-o", str(out), "--images", "none", "--format", "opds",
                "--base-url", BASE, "--state", str(tmp / "state.json")]
    r = run_cli(args, tmp, seconds=120)
    assert r.exit_code in (0, 1), r.output
    return r


def _entry_ids(out: Path) -> dict[str, list[str]]:
    """Each catalog page's entry ids (OPDS 1.2) and publication identifiers (OPDS 2.0)."""
    found = {}
    from lxml import etree

    atom = "{http://www.w3.org/2005/Atom}"
    for page in sorted(out.rglob("catalog*.opds")):
        root = etree.parse(str(page)).getroot()
        found[str(page)] = [e.findtext(atom + "id") for e in root.iter(atom + "entry")]
    for page in sorted(out.rglob("catalog*.json")):
        doc = json.loads(page.read_text("utf-8"))
        found[str(page)] = [p["metadata"]["identifier"] for p in doc.get("publications", [])]
    return found


@settings(max_examples=4, **SETTINGS)
@given(names=st.lists(copy_names, min_size=1, max_size=4, unique_by=lambda n: n.casefold()),
       how=st.sampled_from(["bytes", "hardlink"]))
def test_copies_of_one_book_get_an_entry_id_each(tmp_path_factory, names, how):
    """(``build`` lists only the books it builds; ``feed --format opds`` every EPUB of the folder.)"""
    command = "feed"
    tmp = tmp_path_factory.mktemp("copies")
    out = _setup(tmp)
    for name in names:
        (shutil.copyfile if how == "bytes" else os.link)(out / BOOK, out / name)
    r = _catalog(tmp, out, command)
    pages = _entry_ids(out)
    assert pages, r.output
    identifier = None
    for page, ids in pages.items():
        assert len(ids) == len(set(ids)), (page, ids)
        if page.endswith("catalog.opds"):
            assert len(ids) == len(names) + 1, (page, ids, r.output)
    opf = zipfile.ZipFile(out / BOOK).read("EPUB/content.opf").decode() if "EPUB/content.opf" in zipfile.ZipFile(
        out / BOOK).namelist() else ""
    identifier = re.search(r"<dc:identifier[^>]*>([^<]+)<", opf)
    if identifier:  # the program's own book keeps its identifier
        assert identifier.group(1) in pages[str(out / "catalog.opds")], r.output
    for name in names:
        assert f"has the same identifier as {out / BOOK}" in r.output, r.output
    if feed_validator.available():
        errors = feed_validator.errors(out, BASE, [out / "catalog.opds"])
        assert not any("DuplicateIds" in e for errs in errors.values() for e in errs), errors


def _with_second_package(good: bytes, title: str, backslash: bool) -> bytes:
    """*good* (an EPUB) with a second member of its package document's name (or a member whose
    name has a backslash) that says another title."""
    import io

    src = zipfile.ZipFile(io.BytesIO(good))
    opf_name = next(n for n in src.namelist() if n.endswith(".opf"))
    opf = src.read(opf_name).decode()
    evil = re.sub(r"<dc:title([^>]*)>[^<]*<", lambda m: f"<dc:title{m.group(1)}>{title}<", opf)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of the duplicate name: that is the point
        with zipfile.ZipFile(buf, "w") as z:
            for info in src.infolist():
                z.writestr(info, src.read(info))
            z.writestr(opf_name.replace("/", "\\") if backslash else opf_name, evil)
    return buf.getvalue()


@settings(max_examples=4, **SETTINGS)
@given(title=st.text(st.sampled_from("EVILxyz가"), min_size=3, max_size=10).map(lambda t: "EVIL" + t),
       name=copy_names)
def test_a_book_with_two_package_documents_is_left_out_as_send_refuses_it(tmp_path_factory, title, name):
    command = "feed"
    tmp = tmp_path_factory.mktemp("twice")
    out = _setup(tmp)
    (out / name).write_bytes(_with_second_package((out / BOOK).read_bytes(), title, backslash=False))
    r = _catalog(tmp, out, command)
    assert f"{shell_quote(out / name)}: warning: not listed in the OPDS catalog" in r.output, r.output
    assert "two zip entries named" in r.output, r.output
    for page in out.rglob("catalog*"):
        if page.is_file():
            assert title not in page.read_text("utf-8"), page
    with_send = run_cli(["send", str(out), "--to", "a@example.org", "--dry-run", "--book", name,
                         "--today", "2024-04-01"], tmp)
    assert with_send.exit_code == 1 and "two zip entries named" in with_send.output, with_send.output


def test_a_member_name_is_quoted_by_the_names_gate():
    from exporter.gates.epub import NotAnEpub, read_member

    buf = __import__("io").BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("OEBPS\\content.opf", b"x" * 100)
    with zipfile.ZipFile(buf) as z:
        try:
            read_member(z, "OEBPS\\content.opf", 10)
        except NotAnEpub as err:
            # Quoted as ls quotes it (a backslash is shell syntax), the backslash written once.
            assert "'OEBPS\\content.opf' is 100 bytes" in str(err) and "\\\\" not in str(err), err
        else:
            raise AssertionError("not refused")


@settings(max_examples=4, **SETTINGS)
@given(which=st.sampled_from(["cover", "thumb"]))
def test_the_warning_names_the_users_file_in_the_way(tmp_path_factory, which):
    tmp = tmp_path_factory.mktemp("thumb")
    out = _setup(tmp)
    for p in out.glob("*.cover*"):
        p.unlink()
    blocker = out / ("daily-papers-2024-W10.cover.jpg" if which == "cover" else "daily-papers-2024-W10.cover.thumb.jpg")
    blocker.write_bytes(b"mine\n")
    r = _catalog(tmp, out, "build")
    assert f"{blocker}: warning: not written by digest-export" in r.output, r.output
    assert blocker.read_bytes() == b"mine\n"



_SPELLINGS = {  # another spelling of a member's name that is the same name to OCF 3.3 section 3.3
    "upper": str.upper, "swapcase": str.swapcase, "title": str.title,
    "nfd": lambda n: __import__("unicodedata").normalize("NFD", n),
    "sharp s": lambda n: n.replace("ss", "\u00df"),
}
_CONTAINER = ('<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
              '<rootfiles><rootfile full-path="EPUB/content.opf" media-type="application/oebps-package+xml"/>'
              '</rootfiles></container>')
_PACKAGE = ('<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0" '
            'unique-identifier="id"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
            '<dc:identifier id="id">urn:uuid:12345678-1234-1234-1234-123456789abc</dc:identifier>'
            '<dc:title>T</dc:title><dc:language>en</dc:language></metadata><manifest/><spine/></package>')


@settings(max_examples=25, **SETTINGS)
@given(member=st.integers(0, 29), spelling=st.sampled_from(sorted(_SPELLINGS)),
       accent=st.sampled_from(["", "\u00e9", "\uac00"]))
def test_two_members_one_name_after_case_folding_or_normalization_are_refused(member, spelling, accent):
    """A member repeated under a spelling that case folding or NFC makes the same name (EPUBCheck
    OPF-060): the container gate refuses the book, so send never mails it nor the catalog lists it."""
    import io

    import pytest

    from exporter.gates.epub import NotAnEpub, check_epub

    names = [f"EPUB/chapter-{i}-class{accent}.xhtml" for i in range(30)]
    other = _SPELLINGS[spelling](names[member])
    if other == names[member]:
        other = names[member].upper()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), b"application/epub+zip")
        z.writestr("META-INF/container.xml", _CONTAINER)
        z.writestr("EPUB/content.opf", _PACKAGE)
        for name in names:
            z.writestr(name, "<html/>")
    check_epub(buf.getvalue())  # the book without the second spelling is one
    with zipfile.ZipFile(buf, "a") as z:
        z.writestr(other, "<html/>")
    with pytest.raises(NotAnEpub, match="two zip entries named"):
        check_epub(buf.getvalue())


def _with_identifier(good: bytes, identifier: str) -> bytes:
    """*good* (an EPUB) with its ``dc:identifier`` text replaced by *identifier*."""

    import html

    return with_package(good, lambda opf: re.sub(rb"(<dc:identifier[^>]*>)[^<]*<",
                                                 lambda m: m.group(1) + html.escape(identifier).encode() + b"<", opf))


#: Identifiers an Atom id must not be as they are (RFC 4287 4.2.6: an IRI; RFC 4122 for urn:uuid).
BAD_IDS = ["urn:uuid:6", "urn:uuid:not-a-uuid", "URN:UUID:12345678-1234-1234-1234-12345678",
           "urn:uuid:{12345678-1234-1234-1234-123456789abc}", "urn:uuid:123456781234123412341234567890ab",
           "http://e.org/a b", "http://e.org/<x>", "12345", "urn:uuid:12345678-1234-1234-1234-123456789abg",
           # not a URN by RFC 8141 (NID of 1 or over 32 characters or starting with '-', empty NSS), a '%'
           # that starts no escape (RFC 3987), an http(s) URL the URL rules refuse
           "urn:x:abc", "urn:-ab:x", "urn:ab:", "urn:" + "a" * 40 + ":x", "urn:ab:b%zz", "tag:%zz",
           "http://", "https:example.com", "https://ex%61mple.com/"]


@settings(max_examples=300, **SETTINGS)
@given(text=st.one_of(st.sampled_from(BAD_IDS), st.text(max_size=40),
                      st.text("0123456789abcdefg-{}", max_size=40).map(lambda t: "urn:uuid:" + t)))
def test_an_identifier_is_an_atom_id_only_if_an_iri_and_a_uuid_when_urn_uuid(text):
    import uuid

    from exporter.gates.documents import usable_as_id

    from exporter.gates.urls import web_url

    if usable_as_id(text):
        assert re.fullmatch(r"[A-Za-z][A-Za-z0-9+.\-]*:\S+", text) and not re.search(r"[<>\"{}|\\^`]", text), text
        assert not re.search(r"%(?![0-9A-Fa-f]{2})", text), text
        scheme = text.partition(":")[0].lower()
        if scheme == "urn":
            assert re.fullmatch(r"urn:[A-Za-z0-9][A-Za-z0-9-]{0,30}[A-Za-z0-9]:[^/].*", text, re.I | re.S), text
        if scheme in ("http", "https"):
            assert web_url(text) == text, text
        if text.lower().startswith("urn:uuid:"):
            assert str(uuid.UUID(text[9:])) == text[9:].lower(), text


def test_a_foreign_books_invalid_uuid_is_not_its_entry_id(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("uuid")
    out = _setup(tmp)
    good = (out / BOOK).read_bytes()
    for n, identifier in enumerate(BAD_IDS):
        (out / f"foreign-{n}.epub").write_bytes(_with_identifier(good, identifier))
    (out / "fine.epub").write_bytes(_with_identifier(good, "urn:uuid:12345678-1234-1234-1234-123456789abc"))
    r = _catalog(tmp, out, "feed")
    ids = _entry_ids(out)[str(out / "catalog.opds")]
    assert "urn:uuid:12345678-1234-1234-1234-123456789abc" in ids, (ids, r.output)
    for identifier in BAD_IDS:
        assert identifier not in ids, (ids, r.output)
    from exporter.gates.documents import usable_as_id

    assert all(usable_as_id(i) for i in ids), ids
    if feed_validator.available():
        errors = feed_validator.errors(out, BASE, [out / "catalog.opds"])
        assert not any("UUID" in e or "IRI" in e for errs in errors.values() for e in errs), errors


def _with_duplicate_id(good: bytes, pick: int, other: int) -> tuple[bytes, str]:
    """*good* (an EPUB) whose package document gives element *other* (counted among all its
    elements) the ``id`` of element *pick* (counted among those with one); the id."""
    picked = []

    def edit(root):
        with_id = [el for el in root.iter() if isinstance(el.tag, str) and el.get("id")]
        source = with_id[pick % len(with_id)]
        others = [el for el in root.iter() if isinstance(el.tag, str) and el is not source and el is not root]
        others[other % len(others)].set("id", source.get("id"))
        picked.append(source.get("id"))

    return with_package(good, tree_edit(edit)), picked[0]


@settings(max_examples=60, **SETTINGS)
@given(pick=st.integers(0, 50), other=st.integers(0, 200))
def test_an_id_on_two_elements_of_the_package_document_is_refused(built_book, pick, other):
    from exporter.gates.epub import NotAnEpub, check_epub

    data, value = _with_duplicate_id(built_book, pick, other)
    try:
        check_epub(data)
    except NotAnEpub as err:
        assert f"the id {value} is on two elements" in str(err) or f"the id '{value}'" in str(err), err
    else:
        raise AssertionError(f"an EPUB with the id {value!r} twice was accepted")


@pytest.fixture(scope="module")
def built_book(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dup")
    return (_setup(tmp) / BOOK).read_bytes()


def test_a_foreign_book_with_a_duplicate_id_is_left_out_with_a_warning(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dupid")
    out = _setup(tmp)
    data, value = _with_duplicate_id((out / BOOK).read_bytes(), 0, 3)
    (out / "foreign.epub").write_bytes(data)
    r = _catalog(tmp, out, "feed")
    assert f"{out / 'foreign.epub'}: warning: not listed in the OPDS catalog" in r.output, r.output
    assert "is on two elements" in r.output, r.output


def _with_cover_href(good: bytes, href: str) -> bytes:
    """*good* (an EPUB with a cover) whose cover manifest item's href is *href*."""

    def edit(root):
        items = [el for el in root.iter("{http://www.idpf.org/2007/opf}item")
                 if "cover-image" in (el.get("properties") or "").split()]
        assert items, "the built book has a cover"
        items[0].set("href", href)

    return with_package(good, tree_edit(edit))


@settings(max_examples=6, **SETTINGS)
@given(href=st.one_of(st.sampled_from(["../../../../etc/x.jpg", "/abs.jpg", "http://e.org/c.jpg", "file:///etc/x.jpg",
                                       "%2e%2e/%2e%2e/x.jpg", "missing.jpg", "//host/c.jpg"]),
                      st.builds(lambda n, tail: "../" * n + tail, st.integers(1, 9),
                                st.text("abc/.", min_size=1, max_size=8).map(lambda t: t + ".jpg"))))
def test_a_foreign_cover_outside_the_book_is_said_and_the_book_listed(tmp_path_factory, href):
    tmp = tmp_path_factory.mktemp("cover")
    out = _setup(tmp)
    (out / "foreign.epub").write_bytes(_with_cover_href((out / BOOK).read_bytes(), href))
    r = _catalog(tmp, out, "feed")
    assert f"{out / 'foreign.epub'}: warning: listed in the OPDS catalog without a cover: its cover " in r.output, \
        r.output
    assert len(_entry_ids(out)[str(out / "catalog.opds")]) == 2, r.output
    assert not (out / "foreign.cover.jpg").exists()


@pytest.mark.parametrize("media", ["image/svg+xml", "application/xhtml+xml", "image/tiff"])
def test_a_foreign_cover_of_a_type_the_catalog_does_not_list_is_said(tmp_path_factory, media):
    """A foreign book whose cover is an SVG picture (or another type than JPEG, PNG, GIF, WebP) is
    listed without a cover, and the warning says why."""
    tmp = tmp_path_factory.mktemp("svg")
    out = _setup(tmp)

    def edit(root):
        item = next(el for el in root.iter("{http://www.idpf.org/2007/opf}item")
                    if "cover-image" in (el.get("properties") or "").split())
        item.set("media-type", media)

    (out / "foreign.epub").write_bytes(with_package((out / BOOK).read_bytes(), tree_edit(edit)))
    r = _catalog(tmp, out, "feed")
    assert f"{out / 'foreign.epub'}: warning: listed in the OPDS catalog without a cover: its cover " in r.output, \
        r.output
    assert f"is of type {media}, not a picture the catalog lists" in r.output, r.output
    assert len(_entry_ids(out)[str(out / "catalog.opds")]) == 2, r.output
    assert not list(out.glob("foreign.cover*"))


@settings(max_examples=8, **SETTINGS)
@given(kind=st.sampled_from(["fifo", "socket", "chardev", "link-to-fifo", "link-to-dev-zero", "loop", "dangling",
                             "folder"]))
def test_an_epub_name_that_is_not_a_regular_file_is_named_by_the_catalog(tmp_path_factory, kind):
    import tempfile

    from hostile_three import make_special

    tmp = Path(tempfile.mkdtemp(prefix="cat-", dir="/tmp"))  # a socket's path fits in 108 bytes
    try:
        out = _setup(tmp)
        target = out / "odd.epub"
        keep = None
        if kind == "dangling":
            target.symlink_to(out / "nothing-here")
        elif kind == "folder":
            target.mkdir()
        else:
            keep = make_special(target, kind)
        r = _catalog(tmp, out, "feed")
        assert f"{target}: warning: not listed in the OPDS catalog: " in r.output, r.output
        assert len(_entry_ids(out)[str(out / "catalog.opds")]) == 1, r.output
        if keep is not None:
            keep.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# -- a foreign book's URN in another case is its Atom id in the canonical one -------------------

_UUID_TEXT = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"


def _case_flips(text: str):
    """*text* with each letter in either case: another spelling of one URN (RFC 8141 section
    3.1: the scheme and the NID are case-insensitive; RFC 4122: so is a UUID's hex)."""
    return st.lists(st.booleans(), min_size=len(text), max_size=len(text)).map(
        lambda flips: "".join(c.upper() if f else c for c, f in zip(text, flips)))


@settings(max_examples=300, **SETTINGS)
@given(spelling=st.one_of(_case_flips("urn:uuid:" + _UUID_TEXT),
                          _case_flips("urn:isbn:").map(lambda s: s + "978-0-306"),
                          _case_flips("urn:ex:").map(lambda s: s + "a%2fB"),
                          _case_flips("tag:").map(lambda s: s + "e.org,2024:X")))
def test_an_identifier_has_one_spelling_whatever_its_case(spelling):
    from exporter.gates.documents import BookMetadata, canonical_id, usable_as_id

    got = BookMetadata(title="T", identifier=spelling).identifier
    assert got == canonical_id(got), (spelling, got)  # one spelling: canonical_id(canonical) is itself
    scheme, _, rest = got.partition(":")
    assert scheme == scheme.lower()
    if scheme == "urn":
        nid, _, nss = rest.partition(":")
        assert nid == nid.lower(), got
        if nid == "uuid":
            assert nss == _UUID_TEXT, got
        elif nid == "ex":
            assert nss == "a%2FB", got  # percent-escapes in upper case, the rest of the NSS as written
        else:
            assert nss == "978-0-306"
    assert usable_as_id(got)


def test_a_foreign_books_upper_case_urn_is_its_entry_id_in_lower_case(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("urncase")
    out = _setup(tmp)
    good = (out / BOOK).read_bytes()
    spellings = {"upper.epub": "URN:UUID:" + _UUID_TEXT.upper(), "mixed.epub": "Urn:Isbn:978-0-306"}
    for name, identifier in spellings.items():
        (out / name).write_bytes(_with_identifier(good, identifier))
    r = _catalog(tmp, out, "feed")
    ids = _entry_ids(out)
    assert "urn:uuid:" + _UUID_TEXT in ids[str(out / "catalog.opds")], (ids, r.output)
    assert "urn:isbn:978-0-306" in ids[str(out / "catalog.opds")], (ids, r.output)
    for page in ids.values():
        assert not any(i.startswith(("URN", "Urn")) for i in page), ids


def _with_cover_picture(good: bytes, data: bytes, media: str) -> bytes:
    """*good* (an EPUB with a cover) whose cover is *data*, of type *media*."""
    import io
    import posixpath

    from lxml import etree

    src = zipfile.ZipFile(io.BytesIO(good))
    opf_name = next(n for n in src.namelist() if n.endswith(".opf"))
    root = etree.fromstring(src.read(opf_name))
    item = next(el for el in root.iter("{http://www.idpf.org/2007/opf}item")
                if "cover-image" in (el.get("properties") or "").split())
    item.set("media-type", media)
    member = posixpath.join(posixpath.dirname(opf_name), item.get("href"))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for info in src.infolist():
            z.writestr(info, etree.tostring(root, xml_declaration=True, encoding="utf-8") if info.filename == opf_name
                       else data if info.filename == member else src.read(info))
    return buf.getvalue()


def _foreign_picture(fmt: str, colour: str = "red") -> bytes:
    """A 40x40 picture in *fmt* carrying what a picture can carry of its maker's words: a text
    chunk or comment with a bidi override, EXIF, an ICC profile, XMP."""
    import io

    from PIL import Image, PngImagePlugin

    exif = Image.Exif()
    exif[0x010E] = "\u202e evil"  # ImageDescription
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "\u202e evil")
    extra = {"PNG": dict(pnginfo=info, exif=exif), "JPEG": dict(comment="\u202e evil".encode(), exif=exif,
                                                                    icc_profile=b"\0" * 128),
             "GIF": dict(comment="\u202e evil".encode()), "WEBP": dict(exif=exif, xmp=b"<x>\xe2\x80\xae</x>")}[fmt]
    out = io.BytesIO()
    Image.new("RGB", (40, 40), colour).save(out, fmt, **extra)
    return out.getvalue()


@pytest.mark.parametrize("fmt, media, written", [("PNG", "image/png", "png"), ("JPEG", "image/jpeg", "jpg"),
                                                  ("GIF", "image/gif", "png"), ("WEBP", "image/webp", "png")])
def test_a_foreign_cover_is_published_with_the_programs_mark_and_nothing_else(tmp_path_factory, fmt, media, written):
    # A cover written beside someone's book carries none of its maker's metadata (control and bidi
    # characters never reach outputs), and carries the mark in every format it is written in, so a
    # folder whose state is gone (restored from a cache, CI) still knows it as the program's own.
    import io

    from PIL import Image

    from exporter.output import carries_mark

    tmp = tmp_path_factory.mktemp("foreign-cover")
    out = _setup(tmp)
    good = (out / BOOK).read_bytes()
    (out / "foreign.epub").write_bytes(_with_cover_picture(good, _foreign_picture(fmt), media))
    r = run_cli(["feed", str(tmp / "in" / "d.md"), "-o", str(out), "--format", "opds"], tmp,
                env={"XDG_STATE_HOME": str(tmp / "st1")})
    assert r.exit_code == 0, r.output
    cover = out / f"foreign.cover.{written}"
    assert sorted(p.name for p in out.glob("foreign.cover.*")) == sorted([cover.name, "foreign.cover.thumb.jpg"])
    assert f'href="foreign.cover.{written}" type="image/{"jpeg" if written == "jpg" else written}"' in \
        (out / "catalog.opds").read_text("utf-8")
    with Image.open(cover) as im:
        assert im.size == (40, 40)
        assert im.info.get("Software", im.info.get("comment")) in ("digest-export", b"digest-export")
        assert not {"exif", "icc_profile", "xmp", "XML:com.adobe.xmp", "Comment"} & set(im.info), im.info
        assert [name for name, _ in getattr(im, "applist", [])] in ([], ["APP0", "COM"])
    assert "\u202e".encode() not in cover.read_bytes() and carries_mark(cover)

    # A new cover, and no state: the cover written earlier is still known by its mark.
    (out / "foreign.epub").write_bytes(_with_cover_picture(good, _foreign_picture(fmt, "blue"), media))
    r = run_cli(["feed", str(tmp / "in" / "d.md"), "-o", str(out), "--format", "opds"], tmp,
                env={"XDG_STATE_HOME": str(tmp / "st2")})
    assert r.exit_code == 0 and "not written by digest-export" not in r.output, r.output
    with Image.open(io.BytesIO(cover.read_bytes())) as im:
        assert im.convert("RGB").getpixel((20, 20))[2] > 200


@pytest.mark.parametrize("odd", ["a\\b.epub", ".dot.epub", "fsbytes:x.epub", "50%2E.epub"])
def test_a_foreign_book_of_any_name_leaves_a_record_build_reads_back(tmp_path_factory, odd):
    """``feed --format opds`` records the covers it writes; ``build`` then takes them as its own
    and removes those it does not write, so the folder ends as a fresh build leaves it.  A name
    the documents gate refuses as written (a backslash, a leading dot) is stored escaped
    (names.stored_name): the record was dropped whole and no cover was ever removed.  A hidden
    book (".dot.epub") is not published at all."""
    tmp = tmp_path_factory.mktemp("odd-name")
    out = _setup(tmp)
    good = (out / BOOK).read_bytes()
    (out / "plain.epub").write_bytes(good.replace(b"2024-W10", b"2024-W11"))
    (out / odd).write_bytes(good.replace(b"2024-W10", b"2024-W12"))
    env = {"XDG_STATE_HOME": str(tmp / "st")}
    r = run_cli(["feed", str(tmp / "in" / "d.md"), "-o", str(out), "--format", "opds"], tmp, env=env)
    assert r.exit_code == 0, r.output
    assert (out / "plain.cover.jpg").exists()
    stem = odd.removesuffix(".epub")
    assert (out / f"{stem}.cover.jpg").exists() != odd.startswith("."), sorted(p.name for p in out.iterdir())
    r = run_cli(["build", str(tmp / "in"), "-o", str(out), "--images", "none", "--format", "atom"], tmp, env=env)
    assert r.exit_code == 0, r.output
    left = sorted(p.name for p in out.iterdir() if ".cover." in p.name)
    assert left == [], (left, r.output)  # build writes no catalog here: every cover feed wrote is gone


@pytest.mark.parametrize("entity", ['<!ENTITY xxe SYSTEM "file:///etc/hostname">', '<!ENTITY xxe "Mine">'])
def test_a_package_document_declaring_entities_is_refused(built_book, entity):
    """An entity (external: a local file; or internal) is never expanded, and its reference was
    read as the entity's name (a book titled "xxe"): EPUB forbids external entities, the program
    declares none, so the book is refused."""
    from exporter.gates.epub import NotAnEpub, check_epub

    def declare(opf: bytes) -> bytes:
        opf = re.sub(rb"(<\?xml[^>]*\?>)", lambda m: m.group(1) + b"<!DOCTYPE package [" + entity.encode() + b"]>",
                     opf, count=1)
        return re.sub(rb"(<dc:title[^>]*>)[^<]*<", lambda m: m.group(1) + b"&xxe;<", opf, count=1)

    with pytest.raises(NotAnEpub, match="declares entities in a DOCTYPE"):
        check_epub(with_package(built_book, declare))


def test_a_title_with_a_comment_inside_is_read_whole(built_book):
    """``<dc:title>Deep<!-- c -->Learning Notes</dc:title>``: the title is its whole text, not the
    text before the comment ("Deep")."""
    import tempfile

    from exporter.site.opds import read_book

    def commented(opf: bytes) -> bytes:
        return re.sub(rb"(<dc:title[^>]*>)[^<]*<", lambda m: m.group(1) + b"Deep<!-- c -->Learning Notes<", opf,
                      count=1)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "foreign.epub"
        path.write_bytes(with_package(built_book, commented))
        assert read_book(path).title == "DeepLearning Notes"
