"""Decoding and conversion: untrusted bytes in, a small baseline JPEG or PNG out.

* **Decoding** accepts only PNG, JPEG, GIF, WebP and BMP (no EPS, which runs
  Ghostscript; no TIFF), checks the pixel count *before* any pixel is decoded
  (a decompression bomb is a failure, not a ``MemoryError`` or a warning), and
  refuses truncated data (Pillow's ``LOAD_TRUNCATED_IMAGES`` stays off).
* **Converting**: EXIF orientation applied, scaled down (never up) with
  Lanczos to fit ``max_width`` x ``max_height``, transparency flattened on
  white (e-ink pages are white; a transparent PNG on a night-mode reader would
  show black line art on black), optionally grayscale (``L``).  The output is
  a baseline JPEG, except that an image with at most 256 distinct colours
  (64 grey levels for a grey image) after scaling (diagrams, line art and
  icons that did not need scaling) is a palette (or grey) PNG: lossless,
  usually smaller, and without JPEG ringing around lines.  No metadata
  (EXIF, ICC, text chunks, timestamps) is written, so the same input bytes
  and options always give the same output bytes (for a given Pillow version).
"""

from __future__ import annotations

import io
import re
import struct
import threading
from typing import IO

from .model import EmbeddedImage, Failure, ImageOptions

# Formats we decode.  Anything else is "not an image": fewer decoders, fewer
# CVEs, and no EPS (Pillow shells out to Ghostscript for it).
_FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "BMP")
_FLAT_GREY_LEVELS = 64

def _open_image(data: bytes | IO[bytes], max_pixels: int):  # -> PIL.Image.Image
    """Identify *data* (bytes, or a file at its start) among _FORMATS and check its size
    before decoding.

    This is Pillow's ``Image.open`` minus its decompression-bomb check, which
    depends on the process-global ``Image.MAX_IMAGE_PIXELS`` and only *warns*
    between 1x and 2x that limit; ours is per call and always an error.
    """
    from PIL import (  # noqa: F401  (registers the plugins in Image.OPEN)
        BmpImagePlugin, GifImagePlugin, Image, JpegImagePlugin, PngImagePlugin,
        WebPImagePlugin,
    )

    fp = io.BytesIO(data) if isinstance(data, bytes) else data
    prefix = fp.read(16)
    fp.seek(0)
    if not prefix:
        raise Failure("not an image (empty response)")
    for fmt in _FORMATS:
        factory, accept = Image.OPEN[fmt]
        if accept and accept(prefix) is True:
            try:
                im = factory(fp, None)
            except Image.DecompressionBombError as err:
                # Pillow's own check, made where a plugin opens (WebP's decoder reads the
                # size itself): past twice Image.MAX_IMAGE_PIXELS, before ours could look.
                raise Failure(f"decompression bomb ({fmt}: {str(err).split(' exceeds')[0].lower()} > "
                              f"{max_pixels})") from err
            except (SyntaxError, IndexError, TypeError, ValueError, EOFError, OSError) as err:
                raise Failure(f"undecodable image ({fmt}: {err})") from err
            w, h = im.size
            if w <= 0 or h <= 0:
                raise Failure(f"undecodable image ({fmt}: size {w}x{h})")
            if w * h > max_pixels:
                raise Failure(f"decompression bomb ({w}x{h} pixels > {max_pixels})")
            return im
    if _first_byte(fp) == b"<":
        raise Failure("not an image (HTML or XML)")
    raise Failure("not an image")


def _first_byte(fp: IO[bytes]) -> bytes:
    """The first byte of *fp* that is not ASCII white space (``bytes.lstrip``), read a
    block at a time."""
    while block := fp.read(1 << 16):
        if rest := block.lstrip():
            return rest[:1]
    return b""


def convert(data: bytes | IO[bytes], opts: ImageOptions) -> EmbeddedImage:
    """Convert *data* (bytes, or a file at its start, read as the pixels are decoded); a
    Failure here is permanent: the same bytes fail the same way."""
    try:
        return _convert_unchecked(data, opts)
    except Failure as failure:
        failure.permanent = True
        raise
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error) as err:
        text = str(err)
        if "truncated" in text.lower() or isinstance(err, EOFError):
            raise Failure("truncated image", permanent=True) from err
        raise Failure(f"undecodable image ({text[:80]})", permanent=True) from err


class PixelBudget:
    """At most ``limit`` pixels being decoded at the same time, by all the
    threads of this process and, after :meth:`share_with_forked_workers`,
    by the book worker processes forked from it: the pixel cap bounds the
    memory of one picture, this bounds that of all pictures decoded at once,
    however many threads and workers run.  A picture larger than the budget
    waits until it is alone.  A wait is bounded (a worker killed while it
    held pixels must not hang the run): after :data:`MAX_WAIT` it goes on."""

    MAX_WAIT = 120.0

    def __init__(self) -> None:
        import threading

        self._cond = threading.Condition()
        self._used: list[int] | object = [0]

    def share_with_forked_workers(self) -> None:
        """Use primitives that forked processes share (POSIX fork; call before forking)."""
        import multiprocessing

        if isinstance(self._used, list):
            ctx = multiprocessing.get_context("fork")
            self._cond = ctx.Condition()
            self._used = ctx.Value("q", 0, lock=False)

    def _get(self) -> int:
        return self._used[0] if isinstance(self._used, list) else self._used.value

    def _add(self, n: int) -> None:
        if isinstance(self._used, list):
            self._used[0] += n
        else:
            self._used.value += n

    def hold(self, pixels: int, limit: int):
        import contextlib
        import time

        @contextlib.contextmanager
        def held():
            deadline = time.monotonic() + self.MAX_WAIT
            with self._cond:
                while self._get() > 0 and self._get() + pixels > limit and time.monotonic() < deadline:
                    self._cond.wait(timeout=1.0)
                self._add(pixels)
            try:
                yield
            finally:
                with self._cond:
                    self._add(-pixels)
                    self._cond.notify_all()

        return held()


#: The one budget of this process (and its forked book workers).
PIXELS = PixelBudget()


def _decoders() -> int:
    """How many pictures of the largest size allowed may be decoded at the same time: two where
    there are two cores (decoding releases the GIL, so two cores decode two pictures at once;
    one at a time made 40 such thumbnails 60% slower on two cores), one on one core.  More
    would not be faster on two cores, and costs each ~180 MB."""
    import os

    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return min(2, cores)


def _convert_unchecked(data: bytes | IO[bytes], opts: ImageOptions) -> EmbeddedImage:
    im, exif_trusted = _opened(data, opts.max_pixels)
    # Pillow decodes on first use of the pixels (below, and for a PNG its EXIF): within the
    # budget.
    with PIXELS.hold(im.size[0] * im.size[1], opts.max_pixels * _decoders()):
        return _converted(im, _orientation(im, exif_trusted), opts)


#: ``warnings.catch_warnings`` swaps the process's filters (Python 3.11 has no per-thread
#: ones): one thread at a time, and only around the header parse and the EXIF, which are quick.
_WARNINGS_LOCK = threading.Lock()


def _opened(data: bytes | IO[bytes], max_pixels: int) -> tuple:  # -> (PIL.Image.Image, bool)
    """The picture opened (headers read, pixels not yet decoded), and whether its EXIF can be
    trusted.

    Pillow reports broken EXIF (a JPEG's, read when it is opened, for its dpi) with ``warnings``
    (``UserWarning: Corrupt EXIF data``): on stderr, naming no file, even under ``-q``.  Caught
    here, it means what broken EXIF means anyway: the picture is kept as it is stored
    (orientation 1), as a browser shows it; the book is fine, so nothing is printed."""
    import warnings

    with _WARNINGS_LOCK, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        im = _open_image(data, max_pixels)
    return im, not _exif_warned(caught)


def _orientation(im, exif_trusted: bool) -> int:
    """The EXIF orientation of *im* (1 where its EXIF is missing or broken); call within the
    pixel budget.

    Pillow's ``PngImageFile.getexif`` decodes the whole picture first (``self.load()``: an
    ``eXIf`` chunk may come after the pixel data, libpng writes one there): done here, before
    the warnings lock, so that pictures are still decoded in parallel.  Done while opening,
    it ran outside the budget: eight threads decoded eight PNGs of 40 megapixels at once."""
    import warnings

    if im.format == "PNG":
        try:
            im.load()
        except Exception:  # noqa: S110  as getexif's own load: the conversion meets the error
            pass
    with _WARNINGS_LOCK, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            orientation = int(im.getexif().get(0x0112, 1))
        except Exception:  # broken EXIF is not a reason to drop the picture
            orientation = 1
    if not exif_trusted or _exif_warned(caught):
        return 1  # read from EXIF that Pillow found damaged: not to be trusted
    return orientation


def _exif_warned(caught: list) -> bool:
    return any("exif" in str(w.message).lower() for w in caught)


def _converted(im, orientation: int, opts: ImageOptions) -> EmbeddedImage:  # im: size already checked
    from PIL import Image

    box = (opts.max_width, opts.max_height)
    if orientation in (5, 6, 7, 8):  # rotated by 90 degrees: fit the rotated box
        box = box[::-1]

    has_alpha = im.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in im.info
    if im.mode not in ("L", "RGB", "RGBA", "LA"):
        if im.mode.startswith("I;16") or im.mode in ("I", "F"):
            im = im.convert("I").point(lambda v: v * (1 / 256)).convert("L")
        else:  # P, PA, 1, CMYK, YCbCr... (P must not be resampled in palette space)
            im = im.convert("RGBA" if has_alpha else "RGB")
    # thumbnail() also uses JPEG draft mode (DCT scaling) for big JPEGs, and
    # resamples RGBA/LA premultiplied, so flattening afterwards is exact.
    im.thumbnail(box, Image.Resampling.LANCZOS)
    if orientation != 1:
        method = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
                  4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
                  6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
                  8: Image.Transpose.ROTATE_90}.get(orientation)
        if method is not None:
            im = im.transpose(method)

    if im.mode in ("RGBA", "LA"):
        base_mode = im.mode[:-1]
        flat = Image.new(base_mode, im.size, 255 if base_mode == "L" else (255, 255, 255))
        flat.paste(im, mask=im.getchannel("A"))
        im = flat
    # Few colours: flat graphics or line art that needed no scaling.  Any
    # grey image has at most 256 levels, so for those the bar is lower.
    colors = im.getcolors(256 if im.mode == "RGB" else _FLAT_GREY_LEVELS)
    if opts.grayscale and im.mode != "L":
        im = im.convert("L")

    # Pillow's encoders copy comment, EXIF, ICC profile and dpi from .info:
    # drop them all (privacy, size, and byte-identical output).
    im.info = {}
    out = io.BytesIO()
    if colors is not None:
        if im.mode == "RGB":
            im = _to_palette(im)
        im.save(out, format="PNG", optimize=True)
        media_type = "image/png"
    else:
        im.save(out, format="JPEG", quality=opts.jpeg_quality, optimize=True,
                progressive=False)
        media_type = "image/jpeg"
    return EmbeddedImage(out.getvalue(), media_type, im.width, im.height)


def _to_palette(im):  # (RGB Image with <= 256 colours) -> Image
    """Lossless RGB -> P, or the RGB image itself if that is not exact."""
    from PIL import Image, ImageChops

    # Median cut keeps every colour exactly when there are at most 256 of
    # them (Pillow's nearest-colour mapping with a given palette does not: it
    # looks colours up in a 5-6-5 bit cache).  Checked, since it is cheap.
    pal = im.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    return pal if ImageChops.difference(pal.convert("RGB"), im).getbbox() is None else im



#: The chunks of a PNG :func:`_converted` writes (a palette one has ``PLTE``; it is flattened, so
#: no ``tRNS``): Pillow writes the others (``tEXt``, ``iTXt``, ``zTXt``, ``eXIf``, ``iCCP``,
#: ``pHYs``...) only from ``.info``, which it empties.
_PNG_CHUNKS = frozenset({b"IHDR", b"PLTE", b"IDAT", b"IEND"})
#: The JPEG markers before its one scan (baseline, ``progressive=False``): APP0 (JFIF), DQT, SOF0
#: and DHT; no COM (ITU T.81 B.2.4.5), no APP1-APP15 (EXIF, XMP, ICC, Adobe).
_JPEG_MARKERS = frozenset({0xE0, 0xDB, 0xC0, 0xC4})
#: In entropy-coded data a 0xFF is followed by a stuffed 0x00 or a restart marker (T.81 B.1.1.5).
_FOREIGN_MARKER = re.compile(rb"\xff(?![\x00\xd0-\xd7])")
#: Pillow's JFIF APP0 segment: "JFIF\0", version, density; no embedded thumbnail (JFIF 1.02).
_JFIF_LENGTH = 16


def check_written(data: bytes, media_type: str, width: int, height: int, opts: ImageOptions) -> None:
    """ValueError unless *data* (declared *width* x *height*) could be what :func:`convert` wrote
    with *opts*: no larger than the box it scales to or the pixel cap, and no part of the file
    the converter never writes (a text chunk, a comment, EXIF), which could carry text into a book.
    A cache entry is checked with this, so one edited with its checksum recomputed is refetched.
    Only the chunk and marker headers are read: nothing is decoded."""
    if width > opts.max_width or height > opts.max_height or width * height > opts.max_pixels:
        raise ValueError(f"{width}x{height} is larger than the converter makes")
    if media_type == "image/png":
        _check_png_chunks(data)
    else:
        _check_jpeg_markers(data)


def _check_png_chunks(data: bytes) -> None:
    at = 8  # after the signature
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        if kind not in _PNG_CHUNKS:
            raise ValueError(f"a {kind!a} chunk, which the converter does not write")
        at += 12 + length
        if kind == b"IEND":
            break
    if at != len(data):
        raise ValueError("bytes after the image's end")


def _check_jpeg_markers(data: bytes) -> None:
    at = 2  # after SOI
    while data[at:at + 2] != b"\xff\xda":
        if len(data) < at + 4 or data[at] != 0xFF or data[at + 1] not in _JPEG_MARKERS:
            raise ValueError("a JPEG segment the converter does not write")
        length = int.from_bytes(data[at + 2:at + 4], "big")
        if data[at + 1] == 0xE0 and (length != _JFIF_LENGTH or data[at + 4:at + 9] != b"JFIF\x00"):
            raise ValueError("an APP0 segment that is not the converter's JFIF")
        at += 2 + length
    scan = data[at + 2 + int.from_bytes(data[at + 2:at + 4], "big"):]
    if not scan.endswith(b"\xff\xd9") or _FOREIGN_MARKER.search(scan, 0, len(scan) - 2):
        raise ValueError("a JPEG segment after the scan, which the converter does not write")
