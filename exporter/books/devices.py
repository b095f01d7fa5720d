"""Device profiles: what differs between the e-readers a book lands on.

A profile is data, not code: the picture box and grey scale of the
thumbnails, the size of the cover, the kind of file (EPUB or Kobo's KEPUB)
and its name, and the size past which a book is too large for the device's
usual way in.  ``generic`` is the book as it always was, byte for byte.
Each value, and where it comes from, is in docs/devices.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UsageError


@dataclass(frozen=True, slots=True)
class DeviceProfile:
    """What one family of reading systems is given."""

    name: str
    #: What the book's file name ends with (``NAME.kepub.epub`` for Kobo).
    suffix: str
    #: Kobo's KEPUB: koboSpan spans and the book-columns/book-inner wrappers.
    kepub: bool
    #: Thumbnails are scaled down to fit this box (width, height), in pixels.
    picture_box: tuple[int, int]
    #: Thumbnails and cover in grey (e-ink screens show 16 grey levels).
    grayscale: bool
    #: The cover's size (width, height); the generic cover is 2:3.
    cover_size: tuple[int, int]
    #: Largest picture (thumbnail or cover) in bytes, or None.
    max_picture_bytes: int | None
    #: ``build`` warns about a book larger than this (bytes), or None.
    warn_bytes: int | None
    #: One line for ``--help`` and the docs.
    summary: str


GENERIC = DeviceProfile(
    name="generic", suffix=".epub", kepub=False, picture_box=(1000, 1000), grayscale=False,
    cover_size=(1400, 2100), max_picture_bytes=None, warn_bytes=None,
    summary="EPUB 3 for any reading system (Apple Books, Thorium, calibre), colour")

#: Send-to-Kindle takes e-mails of up to 50 MB (https://www.amazon.com/sendtokindle/email);
#: the warning leaves room for the message's own headers.
KINDLE = DeviceProfile(
    name="kindle", suffix=".kindle.epub", kepub=False, picture_box=(1236, 1648), grayscale=True,
    cover_size=(1236, 1648), max_picture_bytes=None, warn_bytes=45 * 1000 * 1000,
    summary="EPUB for Send to Kindle, pictures in grey for a Paperwhite's 1236x1648 screen")

#: kobolabs/epub-spec ("Cover Images"): a cover of about 3:4; every picture kept under
#: 3 MB (docs/devices.md: the guide sets no limit per picture).
KOBO = DeviceProfile(
    name="kobo", suffix=".kepub.epub", kepub=True, picture_box=(1072, 1448), grayscale=True,
    cover_size=(1072, 1448), max_picture_bytes=3 * 1000 * 1000, warn_bytes=None,
    summary="KEPUB (NAME.kepub.epub) for Kobo's own reader, grey, for a Clara's 1072x1448 screen")

KOREADER = DeviceProfile(
    name="koreader", suffix=".koreader.epub", kepub=False, picture_box=(1072, 1448), grayscale=True,
    cover_size=(1072, 1448), max_picture_bytes=None, warn_bytes=None,
    summary="EPUB for KOReader on an e-ink reader, grey, for a 1072x1448 screen")

PROFILES: dict[str, DeviceProfile] = {p.name: p for p in (GENERIC, KINDLE, KOBO, KOREADER)}
NAMES: tuple[str, ...] = tuple(PROFILES)


def profile(name: str) -> DeviceProfile:
    """The profile called *name*; UsageError listing the profiles otherwise."""
    try:
        return PROFILES[name]
    except KeyError:
        raise UsageError(f"--device must be one of {', '.join(NAMES)}, not {name!r}") from None


def split_suffix(file_name: str) -> tuple[str, DeviceProfile]:
    """``("daily-papers-2024-W10", KOBO)`` for ``daily-papers-2024-W10.kepub.epub``:
    the book's stem and the profile its name says (generic for a plain ``.epub``)."""
    for p in sorted(PROFILES.values(), key=lambda p: -len(p.suffix)):
        if file_name.endswith(p.suffix) and len(file_name) > len(p.suffix):
            return file_name[: -len(p.suffix)], p
    return file_name.rsplit(".", 1)[0], GENERIC
