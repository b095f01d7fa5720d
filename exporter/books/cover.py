"""Generated cover images: a plain JPEG with title, period and paper count.

E-readers show the cover in the library grid, so it is a raster image
(EPUB 3 ``cover-image`` and the EPUB 2 ``<meta name="cover">``), 1400x2100
(2:3, the Kindle and Kobo recommendation).

Korean titles need a CJK font.  We use one if the machine has it (a few
well-known files, then ``fc-list :lang=ko``), but never depend on it: without one
the cover uses Pillow's built-in font and draws only Latin text (the series
key, dates, count), never tofu boxes.  The same inputs and fonts give the
same bytes (Pillow's JPEG encoder is deterministic).
"""

from __future__ import annotations

import functools
import io
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WIDTH, HEIGHT = 1400, 2100
MARGIN = 110
BACKGROUND = (27, 42, 71)
ACCENT = (233, 170, 58)
TEXT = (255, 255, 255)
MUTED = (196, 206, 222)

# Checked before asking fontconfig (which may not be installed).
_CJK_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf",
    "/usr/share/fonts/truetype/nanum/NanumGothic.ttf",
    "/System/Library/Fonts/AppleSDGothicNeo.ttc",
    "C:/Windows/Fonts/malgunbd.ttf",
    "C:/Windows/Fonts/malgun.ttf",
)


@dataclass(frozen=True, slots=True)
class CoverText:
    """What the cover says.  ``title`` and ``count`` may be Korean; without a
    CJK font ``latin_count`` replaces ``count`` and a non-Latin title is left
    out (the ``key``, e.g. ``2024-W10``, then heads the cover)."""

    title: str
    key: str
    period: str
    count: str
    latin_count: str
    footer: str = "digest-export"


@functools.cache
def find_cjk_font() -> str | None:
    """Path of a font that covers Hangul, or None.  Cached: one lookup per process."""
    for candidate in _CJK_CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    fc_list = shutil.which("fc-list")
    if fc_list:
        # fc-list only lists fonts that cover the language (fc-match would
        # always answer with its best guess, Hangul or not).
        try:
            out = subprocess.run([fc_list, ":lang=ko", "file"], capture_output=True,
                                 text=True, timeout=5, check=False).stdout
        except (OSError, subprocess.SubprocessError):
            return None
        files = sorted(line.strip().rstrip(":") for line in out.splitlines() if line.strip())
        for name in files:
            if name.lower().endswith((".ttf", ".otf", ".ttc")) and Path(name).is_file():
                return name
    return None


FOOTER_TOP = HEIGHT - 180


@functools.lru_cache(maxsize=4)
def _canvas(title: str, footer: str, path: str | None) -> tuple[Any, int]:
    """A cover with everything that is the same for a whole run (background,
    series title, footer) drawn once, and the y where the variable text starts.

    The image is reused by every :func:`make_cover` call with the same
    arguments (under :data:`_CANVAS_LOCK`): its variable part, a band of plain
    background colour, is painted over before each cover is drawn, so the
    result never depends on the previous cover.  This avoids allocating and
    copying 12 MB per cover (a tenth of a year's build).
    """
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, WIDTH, 70), fill=ACCENT)
    draw.rectangle((MARGIN, 540, MARGIN + 220, 556), fill=ACCENT)
    draw.rectangle((0, FOOTER_TOP, WIDTH, HEIGHT), fill=(18, 29, 50))
    draw.text((MARGIN, HEIGHT - 125), footer, font=_font(path, 48), fill=ACCENT)
    y = 620
    if len(title) > MAX_TITLE_CHARS:
        # At most 6 lines are drawn: measuring a 3,000-character --title
        # took minutes.
        title = title[:MAX_TITLE_CHARS - 1].rstrip() + "…"
    if title:
        width = WIDTH - 2 * MARGIN
        size = 140
        title_font = _font(path, size)
        lines = _wrap(draw, title, title_font, width)
        while len(lines) > 4 and size > 64:
            size -= 12
            title_font = _font(path, size)
            lines = _wrap(draw, title, title_font, width)
        for line in lines[:6]:
            draw.text((MARGIN, y), line, font=title_font, fill=TEXT)
            y += int(size * 1.25)
        y += 40
    return image, min(y, FOOTER_TOP - 400)


_CANVAS_LOCK = threading.Lock()
#: More than fits in the 6 title lines of a cover at the smallest size.
MAX_TITLE_CHARS = 160


@functools.lru_cache(maxsize=32)
def _font(path: str | None, size: int) -> Any:
    from PIL import ImageFont

    if path:
        return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


# Pillow's built-in font covers Latin-1 and a little more, not the en dash.
_LATIN_FALLBACK = str.maketrans({"–": "-", "—": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "…": "..."})


def is_latin(text: str) -> bool:
    """True if the built-in font can draw *text* (after :data:`_LATIN_FALLBACK`)."""
    return all(ord(c) < 0x180 for c in text.translate(_LATIN_FALLBACK))


def _wrap(draw: Any, text: str, font: Any, width: int) -> list[str]:
    words = text.split()
    lines: list[str] = []
    line = ""
    for word in words:
        trial = f"{line} {word}" if line else word
        if draw.textlength(trial, font=font) <= width or not line:
            line = trial
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    # A single word wider than the page (a long Korean run): cut by characters.
    out = []
    for item in lines:
        while draw.textlength(item, font=font) > width and len(item) > 1:
            # The longest prefix that fits (at least 1 character), by bisection.
            lo, hi = 1, len(item) - 1
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if draw.textlength(item[:mid], font=font) <= width:
                    lo = mid
                else:
                    hi = mid - 1
            cut = lo
            out.append(item[:cut])
            item = item[cut:]
        out.append(item)
    return out


def make_cover(text: CoverText, *, font_path: str | None = None, use_system_fonts: bool = True,
               grayscale: bool = False, quality: int = 85, size: tuple[int, int] = (WIDTH, HEIGHT),
               many: bool = False) -> bytes:
    """Draw the cover and return JPEG bytes, *size* pixels (see :func:`fit_cover`).  *many*: more
    covers of the same title follow (a build of many books): what they share is prepared now (see
    :func:`_encode_cover`), not at the second."""
    path = font_path or (find_cjk_font() if use_system_fonts else None)
    title, key, period, count, footer = text.title, text.key, text.period, text.count, text.footer
    if path is None:
        fix = _LATIN_FALLBACK
        title = title.translate(fix) if is_latin(title) else ""
        period = period.translate(fix) if is_latin(period) else ""
        count = (count if is_latin(count) else text.latin_count).translate(fix)
        key, footer = key.translate(fix), footer.translate(fix)
        if not title and not key:
            title = "Daily Papers"

    with _CANVAS_LOCK:
        image, top = _canvas(title, footer, path)
        band = _Band(image, top, path)
        y = top
        if key:
            band.text((MARGIN, y), key, 110, ACCENT)
            y += 160
        y = max(y, 1500)
        if period:
            band.text((MARGIN, y), period, 64, MUTED)
            y += 110
        band.text((MARGIN, y), count, 64, MUTED)
        boxes = band.boxes
        if size != (WIDTH, HEIGHT):
            return _encode(fit_cover(image, size).convert("L") if grayscale else fit_cover(image, size), quality)
        image = image.convert("L") if grayscale else image
        return _encode_cover(image, quality, top, boxes, (title, footer, path, grayscale, quality, top), many)


class _Band:
    """The variable part of a canvas (rows ``top`` to the footer), cleared of the last cover
    drawn on it, and the text drawn there.

    Only the boxes of the last cover's text are cleared (the whole band, 4 MB, on the canvas's
    first cover: the canvas may reach into it).  A text drawn before at the same size and colour
    is pasted as it was drawn then (a worker draws each week's key and period for the whole
    week's book and again for each selection's): the same pixels, since both times the text
    lies on plain background inside the band, clear of the other texts, at a whole-pixel
    position, where Pillow changes only pixels inside the text's ``textbbox``."""

    def __init__(self, image: Any, top: int, path: str | None):
        from PIL import ImageDraw

        self.image, self.top, self.path = image, top, path
        self.draw = ImageDraw.Draw(image)
        self.boxes: list[tuple[int, int, int, int]] = []
        last = _LAST_BOXES.pop(id(image), None)
        if last is None or last[0] is not image:
            self.draw.rectangle((0, top, WIDTH, FOOTER_TOP - 1), fill=BACKGROUND)
        else:
            for left, upper, right, lower in last[1]:
                self.draw.rectangle((max(left, 0), max(upper, top), min(right, WIDTH), min(lower, FOOTER_TOP - 1)),
                                    fill=BACKGROUND)
        while len(_LAST_BOXES) >= 8:
            del _LAST_BOXES[next(iter(_LAST_BOXES))]
        _LAST_BOXES[id(image)] = (image, self.boxes)

    def text(self, xy: tuple[int, int], text: str, size: int, fill: tuple[int, int, int]) -> None:
        font = _font(self.path, size)
        key = (text, self.path, size, fill)
        known = _SPRITES.get(key)
        x, y = xy
        if known is not None:
            dx, dy, sprite = known
            box = (x + dx, y + dy, x + dx + sprite.width, y + dy + sprite.height)
        else:
            box = self.draw.textbbox(xy, text, font=font)
        clear = (0 <= box[0] < box[2] <= WIDTH and self.top <= box[1] < box[3] <= FOOTER_TOP
                 and not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in self.boxes))
        if known is not None and clear:
            self.image.paste(known[2], box[:2])
        else:
            self.draw.text(xy, text, font=font, fill=fill)
            if clear:
                if len(_SPRITES) >= 64:
                    _SPRITES.clear()
                _SPRITES[key] = (box[0] - x, box[1] - y, self.image.crop(box))
        self.boxes.append(box)


#: id of a canvas -> (the canvas, the boxes of the text last drawn on it) (see :class:`_Band`).
_LAST_BOXES: dict[int, tuple[Any, list[tuple[int, int, int, int]]]] = {}
#: (text, font, size, colour) -> (offset of its box from where it was drawn, its pixels there).
_SPRITES: dict[tuple[Any, ...], tuple[int, int, Any]] = {}


#: Per canvas (see :func:`_encode_cover`): its :class:`_Stripes`, :data:`_ONCE` when one cover was
#: drawn on it without them, or None where splicing did not give the bytes of a whole encoding.
_STRIPES: dict[tuple[Any, ...], Any] = {}
#: A canvas with one cover so far, encoded whole.
_ONCE = object()


def _encode_cover(image: Any, quality: int, top: int, boxes: list[tuple[int, int, int, int]],
                  canvas: tuple[Any, ...], many: bool = False) -> bytes:
    """The JPEG of a full-size cover: the MCU rows of its variable text encoded, the rest reused
    (see :class:`_Stripes`), the same bytes as :func:`_encode` (checked on the cover the stripes
    are made with: the canvas's first when *many*, else its second).  A daily run draws one cover
    per canvas (that week's book's, each selection's): making the stripes cost twice the cover."""
    mcu = 8 if image.mode == "L" else 16  # Pillow subsamples colour 2x2 (T.81 A.1.1)
    first = top // mcu  # the row the canvas and the cleared band share
    if any(left < mcu or right > image.width // mcu * mcu or bottom > FOOTER_TOP or upper < first * mcu
           for left, upper, right, bottom in boxes) or FOOTER_TOP % mcu or first < 1:
        return _encode(image, quality)
    rows = sorted({first, *(r for _, upper, _, bottom in boxes for r in range(upper // mcu, -(-bottom // mcu)))})
    runs: list[tuple[int, int]] = []
    for r in rows:
        if runs and runs[-1][1] == r:
            runs[-1] = (runs[-1][0], r + 1)
        else:
            runs.append((r, r + 1))
    stripes = _STRIPES.get(canvas, False)
    if stripes is False and not many:
        _keep_stripes(canvas, _ONCE)
        return _encode(image, quality)
    if stripes is False or stripes is _ONCE:
        whole = _encode(image, quality)
        try:
            stripes = _Stripes(image, quality, first, mcu, whole)
            if stripes.encode(image, runs) != whole:
                stripes = None
        except ValueError:
            stripes = None
        _keep_stripes(canvas, stripes)
        return whole
    if stripes is None:
        return _encode(image, quality)
    try:
        bands: list[tuple[int, bytes]] = []
        data = stripes.encode(image, runs, bands)
    except ValueError:
        return _encode(image, quality)
    _made(data, stripes, bands)
    return data


def _keep_stripes(canvas: tuple[Any, ...], stripes: Any) -> None:
    if canvas not in _STRIPES and len(_STRIPES) >= 8:
        _STRIPES.clear()
    _STRIPES[canvas] = stripes


def fit_cover(image: Any, size: tuple[int, int]) -> Any:
    """The 2:3 cover scaled into *size* (a device's screen, about 3:4), the
    sides filled with its own bands and background, so nothing is cut off."""
    from PIL import Image, ImageDraw

    width, height = size
    scale = min(width / WIDTH, height / HEIGHT)
    inner = image.resize((max(1, round(WIDTH * scale)), max(1, round(HEIGHT * scale))), Image.Resampling.LANCZOS)
    out = Image.new("RGB", size, BACKGROUND)
    draw = ImageDraw.Draw(out)
    top = (height - inner.height) // 2
    draw.rectangle((0, 0, width, top + round(70 * scale)), fill=ACCENT)
    draw.rectangle((0, top + round(FOOTER_TOP * scale), width, height), fill=(18, 29, 50))
    out.paste(inner, ((width - inner.width) // 2, top))
    return out


def _encode(image: Any, quality: int) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality, optimize=False, progressive=False)
    return buf.getvalue()


# -- encoding only what changed ------------------------------------------------
#
# A baseline JPEG (ITU-T T.81 annex F) codes MCU after MCU, each block's DC
# coefficient as the difference from the previous block's of its component,
# with fixed Huffman tables (Pillow's ``optimize=False``: the tables of T.81
# annex K.3).  Blocks are independent otherwise, and Pillow's encoder
# (libjpeg-turbo) pads the last byte with 1-bits (T.81 F.1.2.3).  So the
# entropy-coded bits of the whole cover are the concatenation of those of
# horizontal stripes of whole MCU rows encoded on their own, once the first
# MCU of each stripe is recoded against the last MCU of the stripe before.
# Every stripe here starts and ends with a plain MCU (the left and right
# margins), whose codes are learned from tiny images; the stripes that are
# the same on every cover of a run (above the variable text, the empty rows
# between, the footer) are encoded once.  Only the MCU rows the key, period
# and count touch are encoded per cover: a fifth of the pixels.


def _entropy(jpeg: bytes) -> tuple[bytes, bytes]:
    """(header up to and with the SOS segment, entropy-coded bytes unstuffed)."""
    sos = jpeg.index(b"\xff\xda")
    start = sos + 2 + int.from_bytes(jpeg[sos + 2:sos + 4], "big")
    if not jpeg.endswith(b"\xff\xd9"):
        raise ValueError("no EOI")
    return jpeg[:start], jpeg[start:-2].replace(b"\xff\x00", b"\xff")


def _bits(jpeg: bytes) -> tuple[int, int]:
    """The entropy-coded bits of *jpeg* as (value, length), without the 1-bit padding.

    Only for images whose last block ends in an end-of-block code, which ends
    in a 0 bit in both annex K tables (luminance 1010, chrominance 00)."""
    data = _entropy(jpeg)[1]
    value = int.from_bytes(data, "big")
    n = len(data) * 8
    ones = ((value + 1) & ~value).bit_length() - 1  # the trailing 1-bits
    if not 0 <= ones <= 7:
        raise ValueError("unexpected padding")
    return value >> ones, n - ones


def _jpeg(image: Any, quality: int) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality, optimize=False, progressive=False)
    return buf.getvalue()


class _Stripes:
    """What is the same on every cover drawn on one canvas, as entropy-coded bits."""

    def __init__(self, image: Any, quality: int, top_row: int, mcu: int, whole: bytes):
        """*whole*: *image* encoded whole (:func:`_encode`), whose header (T.81 B.2: markers,
        quantisation and the annex K Huffman tables) every cover of the canvas shares."""
        from PIL import Image

        mode = image.mode
        self.mcu, self.quality, self.top_row = mcu, quality, top_row
        self.per_row = -(-image.width // mcu)
        bg = BACKGROUND if mode == "RGB" else Image.new("RGB", (1, 1), BACKGROUND).convert(mode).getpixel((0, 0))
        foot_color = image.getpixel((0, FOOTER_TOP))

        def block(colors: list[Any]) -> tuple[int, int]:
            tiny = Image.new(mode, (mcu * len(colors), mcu))
            for i, c in enumerate(colors):
                tiny.paste(c, (i * mcu, 0, (i + 1) * mcu, mcu))
            return _bits(_jpeg(tiny, quality))

        alone_bg = block([bg])
        pair = block([bg, bg])
        self.first_bg = alone_bg  # a plain MCU coded first in an image
        self.next_bg = (pair[0] & ((1 << (pair[1] - alone_bg[1])) - 1), pair[1] - alone_bg[1])
        alone_foot = block([foot_color])
        after = block([bg, foot_color])
        self.first_foot = alone_foot
        self.next_foot = (after[0] & ((1 << (after[1] - alone_bg[1])) - 1), after[1] - alone_bg[1])
        self.header = _entropy(whole)[0]
        self.head_bits = _bits(_jpeg(image.crop((0, 0, image.width, top_row * mcu)), quality)) if top_row else (0, 0)
        foot = _bits(_jpeg(image.crop((0, FOOTER_TOP, image.width, image.height)), quality))
        self.foot_bits = self._recode(foot, self.first_foot, self.next_foot)
        self._empty: dict[int, tuple[int, int]] = {}
        #: (mode, scale) -> the canvas decoded so (:func:`decoded`), or None where that is not
        #: the way to its covers' pixels.
        self.decoded: dict[tuple[str, int], Any] = {}

    def empty_rows(self, count: int) -> tuple[int, int]:
        """The bits of *count* MCU rows of plain background (each MCU following a plain one)."""
        if count not in self._empty:
            # By doubling: a sum of shifted copies of the code costs time quadratic in its length
            # (each term as long as the total: 80 rows of a 1400 px cover took 17 ms).
            part, total, k = self.next_bg, (0, 0), self.per_row * count
            while k:
                if k & 1:
                    total = ((total[0] << part[1]) | part[0], total[1] + part[1])
                part, k = ((part[0] << part[1]) | part[0], 2 * part[1]), k >> 1
            self._empty[count] = total
        return self._empty[count]

    @staticmethod
    def _recode(bits: tuple[int, int], first: tuple[int, int], then: tuple[int, int]) -> tuple[int, int]:
        """*bits* of a stripe coded alone, its first MCU recoded as following another stripe."""
        value, n = bits
        rest = n - first[1]
        if rest < 0 or value >> rest != first[0]:
            raise ValueError("the stripe does not start with the plain MCU")
        return (then[0] << rest) | (value & ((1 << rest) - 1)), then[1] + rest

    def encode(self, image: Any, rows: list[tuple[int, int]], bands: list[tuple[int, bytes]] | None = None) -> bytes:
        """The cover *image*: MCU rows ``[top_row, FOOTER_TOP/mcu)`` empty but for *rows* (runs);
        each run's own JPEG added to *bands* with its first row."""
        mcu = self.mcu
        value, n = self.head_bits
        parts = []
        r = self.top_row
        for start, end in rows:
            if start > r:
                parts.append(self.empty_rows(start - r))
            jpeg = _jpeg(image.crop((0, start * mcu, image.width, end * mcu)), self.quality)
            if bands is not None:
                bands.append((start, jpeg))
            parts.append(self._recode(_bits(jpeg), self.first_bg, self.next_bg))
            r = end
        if FOOTER_TOP // mcu > r:
            parts.append(self.empty_rows(FOOTER_TOP // mcu - r))
        parts.append(self.foot_bits)
        for v, k in parts:
            value, n = (value << k) | v, n + k
        pad = -n % 8
        value, n = (value << pad) | ((1 << pad) - 1), n + pad
        return self.header + value.to_bytes(n // 8, "big").replace(b"\xff", b"\xff\x00") + b"\xff\xd9"


# -- decoding only what changed ------------------------------------------------
#
# The catalog's thumbnail of a cover is the cover decoded at a reduced scale
# (libjpeg's DCT scaling, Pillow's ``Image.draft``).  At the scales where
# libjpeg-turbo scales the subsampled colour up by its IDCT rather than by an
# upsampler (jdmaster.c, ``jpeg_core_output_dimensions``: 1/4 and 1/8 of a
# 2x2-subsampled picture), a decoded MCU row depends on the coefficients of
# that row alone, and a block's coefficients do not depend on how its DC value
# was coded.  So the cover decoded is the canvas decoded with its variable
# rows empty (once per canvas and scale) with each run of text rows decoded
# from its own JPEG (a fifth of the pixels) pasted in.  That it gives the
# pixels of the whole decoding is checked on the first cover of each canvas
# and scale; where it does not, the whole cover is decoded.

#: The covers this process made by stripes, newest last: cover bytes -> (stripes, bands).
_MADE: dict[bytes, tuple[Any, list[tuple[int, bytes]]]] = {}


def _made(data: bytes, stripes: Any, bands: list[tuple[int, bytes]]) -> None:
    """Remember the cover *data* just made (a book's catalog entry asks for its thumbnail next)."""
    while len(_MADE) >= 4:
        del _MADE[next(iter(_MADE))]
    _MADE[data] = (stripes, bands)


def _without_comments(data: bytes) -> bytes:
    """*data* without its COM segments before the scan (T.81 B.2.4.5: the mark the catalog adds to
    a cover it writes), which change nothing of the picture."""
    kept, at = [data[:2]], 2
    while at + 4 <= len(data) and data[at] == 0xFF and data[at + 1] not in (0xDA, 0xD9):
        end = at + 2 + int.from_bytes(data[at + 2:at + 4], "big")
        if data[at + 1] != 0xFE:
            kept.append(data[at:end])
        at = end
    kept.append(data[at:])
    return b"".join(kept)


def decoded(data: bytes, mode: str, size: tuple[int, int]) -> Any | None:
    """What Pillow gives of the JPEG *data* opened, drafted to *mode* and *size* (its size after
    ``Image.draft``) and loaded, when this process made *data* by :func:`make_cover`: the same
    pixels, for a fraction of the decoding.  None for any other picture, or size."""
    made = _MADE.get(data) or _MADE.get(_without_comments(data))
    if made is None:
        return None
    stripes, bands = made
    scale = WIDTH // size[0] if size[0] else 0
    if scale not in (2, 4, 8) or size != (-(-WIDTH // scale), -(-HEIGHT // scale)) or stripes.mcu % scale:
        return None
    base = stripes.decoded.get((mode, scale), False)
    if base is None:
        return None
    try:
        canvas = base if base is not False else _draft(stripes.encode(None, []), mode, scale)
        out = canvas.copy()
        for start, jpeg in bands:
            out.paste(_draft(jpeg, mode, scale), (0, start * stripes.mcu // scale))
    except (OSError, ValueError):
        stripes.decoded[mode, scale] = None
        return None
    if base is False:
        whole = _draft(data, mode, scale)
        stripes.decoded[mode, scale] = canvas if whole.tobytes() == out.tobytes() else None
        return whole
    return out


def _draft(jpeg: bytes, mode: str, scale: int) -> Any:
    """The JPEG *jpeg* decoded at 1/*scale* of its size (``ValueError`` if libjpeg would not)."""
    from PIL import Image

    img = Image.open(io.BytesIO(jpeg))
    want = (-(-img.width // scale), -(-img.height // scale))
    img.draft(mode, want)
    if img.size != want or img.mode != mode:
        raise ValueError("not decoded at that scale")
    img.load()
    return img
