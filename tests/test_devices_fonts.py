"""`--font FILE` (and `--font-bold`): a font subset to the book's characters, declared with
@font-face and used for the body text; bad fonts are clear messages; the output is deterministic."""

from __future__ import annotations

import io
import os
import shutil
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from epub_fixtures import day_md, epubcheck_problems, paper_md, write_week
from exporter.cli import main

NANUM = Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf")
NANUM_BOLD = Path("/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf")


@pytest.fixture(scope="module", autouse=True)
def nanum():
    if not NANUM.is_file() or not NANUM_BOLD.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but fonts-nanum is missing (bash .ci/install-devices.sh)", pytrace=False)
        pytest.skip("needs Debian's fonts-nanum (bash .ci/install-devices.sh)")


def epub(*args: str):
    return CliRunner().invoke(main, ["epub", *args, "--images", "none"])


def font_files(book: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(book) as zf:
        return {n: zf.read(n) for n in zf.namelist() if n.startswith("EPUB/fonts/")}


def cmap(data: bytes) -> set[str]:
    from fontTools.ttLib import TTFont

    return {chr(c) for c in TTFont(io.BytesIO(data)).getBestCmap()}


def book_text(book: Path) -> set[str]:
    from lxml import etree

    chars: set[str] = set()
    with zipfile.ZipFile(book) as zf:
        for n in zf.namelist():
            if n.endswith(".xhtml"):
                chars.update("".join(etree.fromstring(zf.read(n)).itertext()))
    return {c for c in chars if not c.isspace()}


def test_font_is_subset_declared_and_used(tmp_path):
    week = write_week(tmp_path / "in")
    r = epub(str(week), "-o", str(tmp_path / "a"), "--font", str(NANUM), "--font-bold", str(NANUM_BOLD))
    assert r.exit_code == 0, r.output
    [book] = (tmp_path / "a").glob("*.epub")
    fonts = font_files(book)
    assert sorted(fonts) == ["EPUB/fonts/body-bold.ttf", "EPUB/fonts/body.ttf"]
    text = book_text(book)
    for data in fonts.values():
        covered = cmap(data)
        assert text <= covered  # every character the book shows
        assert len(covered - text - {" "}) <= 3  # and hardly any other (.notdef, shaping helpers)
    with zipfile.ZipFile(book) as zf:
        css = zf.read("EPUB/style/epub.css").decode()
        opf = zf.read("EPUB/content.opf").decode()
    assert css.count("@font-face") == 2 and 'src: url("../fonts/body.ttf")' in css
    assert 'font-weight: bold;\n  font-style: normal;\n  src: url("../fonts/body-bold.ttf")' in css
    assert 'body, h1, h2, h3, p, li, a { font-family: "digest-export body"; }' in css
    assert '<item href="fonts/body.ttf" id="font-0" media-type="font/ttf"/>' in opf
    # deterministic: the same bytes again, and the font's own date, not the clock's
    r = epub(str(week), "-o", str(tmp_path / "b"), "--font", str(NANUM), "--font-bold", str(NANUM_BOLD))
    assert r.exit_code == 0
    assert (tmp_path / "b" / book.name).read_bytes() == book.read_bytes()
    from fontTools.ttLib import TTFont

    original = TTFont(str(NANUM))["head"].modified
    assert TTFont(io.BytesIO(fonts["EPUB/fonts/body.ttf"]))["head"].modified == original


def _all_common_syllables() -> str:
    """KS X 1001's 2,350 Hangul syllables: every syllable common Korean text uses (EUC-KR can
    write no other), so a week of summaries uses a subset of these."""
    found = []
    for hi in range(0xB0, 0xC9):
        for lo in range(0xA1, 0xFF):
            try:
                found.append(bytes([hi, lo]).decode("euc-kr"))
            except UnicodeDecodeError:
                pass
    return "".join(c for c in found if "\uac00" <= c <= "\ud7a3")


def test_a_korean_week_grows_by_at_most_600_kb(tmp_path):
    syllables = _all_common_syllables()
    assert len(syllables) == 2350
    chunks = [syllables[i:i + 50] for i in range(0, len(syllables), 50)]
    papers = [paper_md(f"2403.{10000 + i}", f"논문 {i}", text=" ".join(chunk)) for i, chunk in enumerate(chunks)]
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "w.md").write_text(day_md("2024-03-04", papers), encoding="utf-8")
    sizes = {}
    for name, extra in (("plain", []), ("font", ["--font", str(NANUM), "--font-bold", str(NANUM_BOLD)])):
        r = epub(str(tmp_path / "in"), "-o", str(tmp_path / name), *extra)
        assert r.exit_code == 0, r.output
        [book] = (tmp_path / name).glob("*.epub")
        sizes[name] = book.stat().st_size
    added = sizes["font"] - sizes["plain"]
    assert 100_000 < added <= 600_000, sizes


def test_epubcheck_accepts_books_with_fonts(tmp_path):
    if shutil.which("java") is None:
        pytest.skip("needs Java")
    week = write_week(tmp_path / "in")
    paths = []
    for device in ("generic", "kobo"):
        r = epub(str(week), "-o", str(tmp_path / device), "--font", str(NANUM), "--font-bold", str(NANUM_BOLD),
                 "--device", device)
        assert r.exit_code == 0, r.output
        paths += sorted((tmp_path / device).glob("*.epub"))
    assert len(paths) == 2
    (tmp_path / "check").mkdir()
    assert epubcheck_problems(paths, tmp_path / "check") == {}


# -- bad fonts --------------------------------------------------------------------

def _variant(tmp_path: Path, name: str, edit) -> Path:
    from fontTools.ttLib import TTFont

    font = TTFont(str(NANUM))
    edit(font)
    path = tmp_path / name
    font.save(str(path))
    return path


def _restricted(font):
    font["OS/2"].fsType = 0x0002


def _latin_only(font):
    from fontTools import subset

    sub = subset.Subsetter(subset.Options())
    sub.populate(text="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:;-()")
    sub.subset(font)


@pytest.mark.parametrize("kind, message, code", [
    ("text", "not a font (TrueType, OpenType, WOFF or WOFF2)", 2),
    ("truncated", "not a usable font (damaged or truncated", 2),
    ("huge", "200 MB is larger than any font should be (64 MB at most); is it a font?", 2),
    ("restricted", "'NanumGothic' may not be embedded in documents: its licence restricts embedding "
                   "(OS/2 fsType 0x0002); choose another font", 2),
    # WOFF2 and WOFF whose compressed data is damaged (brotli and zlib raise their own errors)
    ("woff2", "not a usable font (damaged or truncated", 2), ("woff", "not a usable font (damaged or truncated", 2),
    # a name that must be quoted: a line break or a bidi control cannot forge a line
    ("name", "not a font (TrueType, OpenType, WOFF or WOFF2)", 2),
    # a glyph table shorter than its index says: found when the font is read, before any output
    ("glyf", "not a usable font (damaged or truncated: ValueError: its glyph index (loca) points past", 2),
    # a layout table (kern, GSUB, GPOS) cut short: read when the font is, as the subsetter reads it
    # (it was an error of the run, exit 1, once the feeds were written)
    ("kern", "not a usable font (damaged or truncated: error: unpack requires a buffer", 2),
    # no character map: the book's subset of it cannot be cut (it failed once the book was made)
    ("cmap", "not a usable font: it has no character map (cmap table)", 2),
])
def test_a_bad_font_is_a_clear_message(tmp_path, kind, message, code):
    from exporter.gates.names import shell_quote

    week = write_week(tmp_path / "in")
    if kind in ("text", "name"):
        font = tmp_path / ("font.ttf" if kind == "text" else "f\nx\u202e.ttf")
        font.write_text("hello, not a font\n")
    elif kind in ("glyf", "kern"):
        import struct

        data = bytearray(NANUM.read_bytes())
        for k in range(struct.unpack(">H", data[4:6])[0]):
            entry = 12 + 16 * k
            if data[entry:entry + 4] == kind.encode():  # the table cut short in the directory
                data[entry + 12:entry + 16] = struct.pack(">I", 100 if kind == "glyf" else 10)
        font = tmp_path / "font.ttf"
        font.write_bytes(bytes(data))
    elif kind in ("woff2", "woff"):
        font = tmp_path / f"font.{kind}"
        font.write_bytes(b"wOF2" + bytes(100) if kind == "woff2" else b"wOFF" + NANUM.read_bytes()[4:2000])
    elif kind == "truncated":
        font = tmp_path / "font.ttf"
        font.write_bytes(NANUM.read_bytes()[:5000])
    elif kind == "huge":
        font = tmp_path / "font.ttf"
        with open(font, "wb") as f:  # sparse: 200 MB that are never read
            f.write(NANUM.read_bytes()[:12])
            f.truncate(200 * 1000 * 1000)
    elif kind == "cmap":
        font = _variant(tmp_path, "nocmap.ttf", lambda f: f.__delitem__("cmap"))
    else:
        font = _variant(tmp_path, "restricted.ttf", _restricted)
    r = epub(str(week), "-o", str(tmp_path / "out"), "--font", str(font))
    assert r.exit_code == code, r.output
    assert f"--font {shell_quote(str(font))}: {message}" in r.stderr
    assert "Traceback" not in r.output
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_a_collection_takes_its_first_font_and_says_so(tmp_path):
    from fontTools.ttLib import TTCollection, TTFont

    collection = TTCollection()
    collection.fonts = [TTFont(str(NANUM)), TTFont(str(NANUM_BOLD))]
    ttc = tmp_path / "nanum.ttc"
    collection.save(str(ttc))
    r = epub(str(write_week(tmp_path / "in")), "-o", str(tmp_path / "out"), "--font", str(ttc))
    assert r.exit_code == 0, r.output
    assert f"note: --font {ttc} is a collection of 2 fonts; the first, 'NanumGothic', is embedded" in r.stderr
    [book] = (tmp_path / "out").glob("*.epub")
    assert list(font_files(book)) == ["EPUB/fonts/body.ttf"]


@pytest.mark.parametrize("flavor", ["woff", "woff2"])
def test_a_woff_or_woff2_font_is_embedded_as_its_truetype_is(tmp_path, flavor):
    """A WOFF or WOFF2 font (what a web font is) reads as the TrueType font it compresses: its
    glyph table is measured by its length before compression, not by what the file holds of it."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    week = write_week(tmp_path / "in")
    # The glyphs the week shows (and Hangul's first and last syllables): compressing the whole
    # 4.7 MB font as WOFF2 and decompressing it again took a minute.
    text = "".join(p.read_text("utf-8") for p in week.rglob("*.md")) + "\uac00\ud7a3한"
    font = TTFont(str(NANUM))
    subsetter = subset.Subsetter()
    subsetter.populate(text=text)
    subsetter.subset(font)
    font.flavor = flavor
    path = tmp_path / f"body.{flavor}"
    font.save(str(path))
    r = epub(str(week), "-o", str(tmp_path / "out"), "--font", str(path))
    assert r.exit_code == 0, r.output
    [book] = (tmp_path / "out").glob("*.epub")
    [(name, data)] = font_files(book).items()
    assert name == "EPUB/fonts/body.ttf" and data[:4] == b"\x00\x01\x00\x00"  # TrueType inside
    (tmp_path / "check").mkdir()
    assert "한" in cmap(data) and epubcheck_problems([book], tmp_path / "check") == {}


def test_a_font_without_hangul_is_a_warning_about_boxes(tmp_path):
    latin = _variant(tmp_path, "latin.ttf", _latin_only)
    r = epub(str(write_week(tmp_path / "in")), "-o", str(tmp_path / "out"), "--font", str(latin))
    assert r.exit_code == 0, r.output
    assert "has no Hangul: the books' Korean text would show as boxes" in r.stderr


def test_font_bold_needs_font(tmp_path):
    r = epub(str(write_week(tmp_path / "in")), "-o", str(tmp_path / "out"), "--font-bold", str(NANUM_BOLD))
    assert r.exit_code == 2 and "--font-bold needs --font" in r.stderr


def test_build_rebuilds_when_the_font_changes(tmp_path):
    week = write_week(tmp_path / "in")
    font = tmp_path / "body.ttf"
    font.write_bytes(NANUM.read_bytes())

    def build(*args: str) -> str:
        r = CliRunner().invoke(main, ["build", str(week), "-o", str(tmp_path / "out"), "--images", "none",
                                      "--state", str(tmp_path / "state.json"), *args])
        assert r.exit_code == 0, r.output
        return r.output

    assert "1 built" in build("--font", str(font))
    assert "0 built, 1 skipped" in build("--font", str(font))
    font.write_bytes(NANUM_BOLD.read_bytes())  # same name, other font: the books must follow
    assert "1 built" in build("--font", str(font))
    assert "1 built" in build()  # no font any more
