"""``--font FILE``: a font embedded in the books, cut down to the characters each book uses.

Reading systems show a book in their own fonts unless it carries one; Kobo's
e-ink fonts may lack the glyphs of a script ("Creators may want to embed a
font that contains the glyphs used in their content", kobolabs/epub-spec,
"Languages Other Than English").  A Korean font is several megabytes; the
characters one weekly book uses are about a thousand, so each book carries
a subset made with fontTools' subsetter (the library behind pyftsubset),
with fixed options, so the same book and font always give the same bytes.

The font file is untrusted input, read through this one gate: its size is
checked before it is read, it must be an OpenType/TrueType font (or WOFF,
WOFF2; of a collection, ``.ttc``/``.otc``, the first font is taken and the
run says which), its embedding permission (OS/2 ``fsType``, OpenType spec
"OS/2 table") must allow embedding and subsetting, and any failure of
fontTools on it is a message, not a traceback.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..gates import files as gate_files
from ..errors import UsageError

#: Larger than any single font of a normal family (Noto Sans CJK's whole
#: collection of one weight is about 20 MB); checked before reading.
MAX_FONT_BYTES = 64 * 1000 * 1000
FAMILY = "digest-export body"
_MAGIC = {b"\x00\x01\x00\x00": "TrueType", b"true": "TrueType", b"OTTO": "OpenType (CFF)",
          b"wOFF": "WOFF", b"wOF2": "WOFF2", b"ttcf": "collection"}
#: OS/2 fsType bits (OpenType spec, OS/2 table): restricted licence
#: embedding, no subsetting, bitmap embedding only.
_RESTRICTED, _NO_SUBSETTING, _BITMAP_ONLY = 0x0002, 0x0100, 0x0200


@dataclass(frozen=True, slots=True)
class FontSource:
    """A font file that passed the checks: its bytes (sfnt or WOFF/WOFF2), which font of a
    collection, its name, whether it covers Hangul, and a note for the run (a collection)."""

    path: str
    data: bytes
    number: int
    name: str
    hangul: bool
    cff: bool
    note: str | None

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


#: The tables the book's subset is cut from, read when the font is: a damaged one is a usage error
#: before anything is written, not an error once the book is made (and the feeds written).  The
#: layout tables too (a few milliseconds: the subsetter reads them whole, and an anchor cut short
#: in GPOS was an error of the run).  The glyph table itself is only measured against its index,
#: ``loca``: decompiling a Korean font's glyphs took a second a run.
_READ_FIRST = ("head", "hhea", "maxp", "hmtx", "loca", "post", "OS/2", "GDEF", "GSUB", "GPOS", "kern")


def _fail(option: str, path: str, message: str) -> UsageError:
    from ..gates.names import shell_quote

    # Quoted as ls quotes it: a line break or a bidi control in the name cannot forge a line.
    return UsageError(f"{option} {shell_quote(path)}: {message}")


@functools.lru_cache(maxsize=4)
def _load(path: str, size: int, mtime_ns: int, ctime_ns: int, ino: int, option: str) -> FontSource:
    # Cached per file version: size, both times and the inode, as the input stamp (a font
    # rewritten and given its old time back with `touch -r` is a new version).
    if size > MAX_FONT_BYTES:
        raise _fail(option, path, f"{size / 1e6:.0f} MB is larger than any font should be "
                    f"({MAX_FONT_BYTES / 1e6:.0f} MB at most); is it a font?")
    try:
        data = gate_files.read_bytes(path, MAX_FONT_BYTES)  # never a FIFO or device: it would block
    except OSError as err:
        raise _fail(option, path, f"cannot read it: {err.strerror or err}") from err
    kind = _MAGIC.get(data[:4])
    if kind is None:
        raise _fail(option, path, "not a font (TrueType, OpenType, WOFF or WOFF2)")
    from fontTools.ttLib import TTCollection, TTFont, TTLibError

    note, number = None, -1
    try:
        if kind == "collection":
            count = len(TTCollection(io.BytesIO(data), lazy=True).fonts)
            number = 0
        font = TTFont(io.BytesIO(data), fontNumber=number, lazy=False, recalcTimestamp=False,
                      recalcBBoxes=False)
        name = font["name"].getBestFullName() or Path(path).name
        if "cmap" not in font:
            # The table that maps characters to glyphs (OpenType, "cmap"): without it no character
            # can be drawn from the font, and the book's subset of it cannot be cut.
            raise _fail(option, path, "not a usable font: it has no character map (cmap table)")
        cmap = font.getBestCmap() or {}
        for tag in _READ_FIRST:
            if tag in font:
                font[tag]  # noqa: B018 -- decompiles the table
        if "head" in font and not font["head"].unitsPerEm:
            raise ValueError("unitsPerEm is 0")
        if "loca" in font and "glyf" in font and font.reader is not None and "glyf" in font.reader.tables:
            # Its length before WOFF compressed it (WOFF 1.0 section 5) or WOFF2 transformed it
            # (WOFF2 5.1), origLength: the directory's ``length`` is the shorter one the file holds.
            entry = font.reader.tables["glyf"]
            if max(font["loca"].locations, default=0) > getattr(entry, "origLength", entry.length):
                raise ValueError("its glyph index (loca) points past the end of its glyph table (glyf)")
        fs_type = font["OS/2"].fsType if "OS/2" in font else 0
        cff = "CFF " in font or "CFF2" in font
        if "glyf" not in font and not cff:
            raise _fail(option, path, "has no outlines (glyf or CFF table): a bitmap or colour-only font")
    except UsageError:
        raise
    except Exception as err:  # noqa: BLE001 -- the user's file: whatever fontTools (or the brotli or
        # zlib it decompresses WOFF with) raises on it, the font is damaged, not the program
        raise _fail(option, path, f"not a usable font (damaged or truncated: {type(err).__name__}: {err})") from err
    if kind == "collection":
        from ..gates.names import shell_quote

        note = (f"{option} {shell_quote(path)} is a collection of {count} fonts; the first, {name!r}, "
                "is embedded")
    if fs_type & _RESTRICTED or fs_type & _BITMAP_ONLY:
        raise _fail(option, path, f"{name!r} may not be embedded in documents: its licence restricts "
                    f"embedding (OS/2 fsType {fs_type:#06x}); choose another font")
    if fs_type & _NO_SUBSETTING:
        raise _fail(option, path, f"{name!r} may only be embedded whole (OS/2 fsType {fs_type:#06x}), "
                    "not cut down to the characters a book uses; choose another font")
    hangul = all(ord(c) in cmap for c in "가나다한국어글")
    return FontSource(path, data, number, name, hangul, cff, note)


def load_font(path: str | os.PathLike[str], option: str = "--font") -> FontSource:
    """The checked font at *path* (cached per file version); UsageError with the reason otherwise."""
    text = os.fspath(path)
    try:
        st = os.stat(text)
    except OSError as err:
        raise _fail(option, text, f"cannot read it: {err.strerror or err}") from err
    if not os.path.isfile(text):
        raise _fail(option, text, "not a file")
    return _load(text, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, option)


class _Records(logging.Handler):
    """What a library logs, kept instead of printed."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def _library_messages():
    """fontTools logs what it does to a font (``FFTM NOT subset; don't know how to subset;
    dropped``) through ``logging``, which with no handler configured goes to stderr as a bare
    line naming no file, even under ``-q``; and some of its readers use ``warnings``.  Both are
    kept here, for the caller to say them at the font file."""
    import warnings

    logger = logging.getLogger("fontTools")
    handler = _Records()
    propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield handler.messages
        handler.messages.extend(str(w.message) for w in caught)
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


#: What fontTools says of a table it cannot cut down and leaves out: the tables it does not
#: know are not glyph data (FFTM: FontForge's time stamps; vendor tables), so the book is fine.
_DROPPED = re.compile(r"^\S+ NOT subset; don't know how to subset; dropped$")


def subset(font: FontSource, characters: set[str]) -> bytes:
    """*font* cut down to *characters* (plus what shaping needs), as an uncompressed sfnt
    (TrueType or OpenType-CFF: what Kobo, Kindle's converter and every EPUB reader take).
    Deterministic: fixed options, and the font's own ``head.modified`` kept (no clock).
    What fontTools reports is a note naming the font file (:func:`subset_with_notes`)."""
    return subset_with_notes(font, characters)[0]


def subset_with_notes(font: FontSource, characters: set[str]) -> tuple[bytes, list[str]]:
    """:func:`subset`, and what fontTools said of the font that matters, each naming the file."""
    with _library_messages() as messages:
        data = _subset(font, characters)
    notes = [f"{font.path}: fontTools: {m}" for m in dict.fromkeys(messages) if not _DROPPED.match(m)]
    return data, notes


def _subset(font: FontSource, characters: set[str]) -> bytes:
    from fontTools import subset as ft_subset
    from fontTools.ttLib import TTFont

    options = ft_subset.Options()
    options.flavor = None
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 13, 14]  # copyright, names, version, licence
    options.name_languages = [0x0409]
    options.notdef_outline = True
    options.recalc_timestamp = False
    options.recalc_bounds = True
    # DSIG signs the whole font (void once cut); TSI* are VTT hinting sources.
    options.drop_tables += ["DSIG", "TSI0", "TSI1", "TSI2", "TSI3", "TSI5"]
    options.hinting = False  # e-ink at 300 ppi needs none, and it is a third of a TrueType subset
    font_file = TTFont(io.BytesIO(font.data), fontNumber=font.number, recalcTimestamp=False, lazy=False)
    subsetter = ft_subset.Subsetter(options)
    subsetter.populate(unicodes=sorted({ord(c) for c in characters} | {0x20}))
    subsetter.subset(font_file)
    out = io.BytesIO()
    font_file.flavor = None
    font_file.save(out, reorderTables=True)
    return out.getvalue()


def book_characters(entries: list[tuple[str, bytes]]) -> set[str]:
    """Every character of the text of the book's XHTML documents (what a body font must draw)."""
    from lxml import etree

    chars: set[str] = set()
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    for name, content in entries:
        if name.endswith(".xhtml"):
            root = etree.fromstring(content, parser)
            for text in root.itertext():
                chars.update(text)
    return {c for c in chars if not c.isspace() or c == " "}


def embed_fonts(entries: list[tuple[str, bytes]], regular: FontSource,
                bold: FontSource | None = None) -> tuple[list[tuple[str, bytes]], list[str]]:
    """The book's files with *regular* (and *bold*) subset to its characters, declared with
    ``@font-face`` and used for the body text; and notes (a font that lacks the book's Hangul)."""
    from ..errors import ExporterError

    chars = book_characters(entries)
    notes = []
    hangul = any("\uac00" <= c <= "\ud7a3" for c in chars)
    faces: list[tuple[str, str, bytes, str]] = []  # (file, weight, bytes, media type)
    for font, weight, stem in ((regular, "normal", "body"), (bold, "bold", "body-bold")):
        if font is None:
            continue
        if font.note:
            notes.append(font.note)
        if hangul and not font.hangul:
            notes.append(f"{font.path}: {font.name!r} has no Hangul: the books' Korean text would show as boxes "
                         "where the reader has no Korean font of its own; choose a Korean font "
                         "(e.g. NanumGothic, Debian fonts-nanum)")
        try:
            data, said = subset_with_notes(font, chars)
            notes += said
        except Exception as err:  # fontTools raises many kinds on a damaged font
            raise ExporterError(f"{font.path}: cannot cut the font down to the book's characters (damaged: "
                                f"{type(err).__name__}: {err})") from err
        ext, media = ("otf", "font/otf") if font.cff else ("ttf", "font/ttf")
        faces.append((f"fonts/{stem}.{ext}", weight, data, media))
    css = "".join(
        f'@font-face {{\n  font-family: "{FAMILY}";\n  font-weight: {weight};\n  font-style: normal;\n'
        f'  src: url("../{href}");\n}}\n' for href, weight, _, _ in faces)
    # Body text and headings in the embedded face; code keeps the reader's.
    css += f'body, h1, h2, h3, p, li, a {{ font-family: "{FAMILY}"; }}\n'
    items = "".join(f'<item href="{href}" id="font-{i}" media-type="{media}"/>'
                    for i, (href, _, _, media) in enumerate(faces)).encode()
    out = []
    for name, content in entries:
        if name.endswith(".opf"):
            content = content.replace(b"</manifest>", items + b"</manifest>", 1)
        elif name.endswith("/style/epub.css"):
            content = css.encode() + content
        out.append((name, content))
    out += [(f"EPUB/{href}", data) for href, _, data, _ in faces]
    return out, notes
