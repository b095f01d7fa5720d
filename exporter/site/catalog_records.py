"""What the OPDS catalog knows of each book, kept across runs.

A book is known by its file name and stamp (:class:`exporter.output.Stamp`:
size, both times and inode, as the build state knows each file it wrote); an
unchanged book is not opened again, and its cover is the cover file the catalog wrote
beside it.  Cover files are written only over nothing, over a cover an
earlier run wrote, or over the same bytes: never over a file of someone
else's that happens to have a cover's name.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..model import Diagnostic, Kind, Severity, SourceRef
from ..output import Stamp, WriteStatus, marked, may_write, write_file


def catalog_record(path: Path, data: bytes) -> tuple[dict[str, Any] | None, dict[str, WriteStatus], list[Diagnostic]]:
    """In a book worker: what the catalog needs of the book just written (its bytes *data*;
    None when a file of the user's is in the way of its cover: the catalog reads it again).

    Read there, in parallel, from the bytes just zipped, instead of one by
    one from disk once every book is written; its cover file is written
    beside it."""
    books = CatalogBooks({})
    books.read(path, data)
    books.stamp_covers(path.parent)
    return books.new.get(path.name), books.written, books.notes


class CatalogBooks:
    """:func:`exporter.site.opds.read_book`, remembering unchanged books across runs.

    A book is known by its file name and stamp; its cover is then read from the cover file the catalog wrote beside it (if that is
    gone, the book is read again)."""

    def __init__(self, old: dict[str, dict[str, Any]]):
        self.old = old
        self.new: dict[str, dict[str, Any]] = {}
        self.written: dict[str, WriteStatus] = {}
        self.notes: list[Diagnostic] = []

    def _may_write(self, path: Path, data: bytes) -> bool:
        """True unless *path* holds a file that is neither ours nor already *data*
        (:func:`exporter.output.may_write`: a cover the state records is ours while it is as
        written, or while it carries the mark)."""
        return may_write(path, data)

    def _blocked(self, cover: Path, data: bytes, thumb: Path) -> tuple[Path | None, bytes]:
        """The file (the cover, else its thumbnail) that is not ours and stops the cover from
        being written, or None, and the thumbnail (made only when the cover may be written): the
        warning names the file that is in the way."""
        from .opds import make_thumbnail

        if not self._may_write(cover, data):
            return cover, b""
        thumb_data = marked(make_thumbnail(data), "image/jpeg")
        return (None if self._may_write(thumb, thumb_data) else thumb), thumb_data

    def read(self, path: Path, data: bytes | None = None) -> Any:
        from .opds import Book, cover_name, read_book, thumbnail_name

        st = os.stat(path)
        known = self.old.get(path.name)
        book = None
        if known is not None and _unchanged(known.get("stamp"), st):
            try:
                cover = None
                if known["cover_type"] in ("image/gif", "image/webp"):
                    # Written as it was by an earlier version, without the mark: read the book
                    # again, so its cover is made a PNG (``opds._as_png``) and the old file goes.
                    raise ValueError("a cover of a type now written as PNG")
                if known["cover_type"]:
                    # Not read: the catalog leaves an empty cover alone
                    # (ten years of covers would be 50 MB in memory).
                    name, thumb = cover_name(path.name, known["cover_type"]), thumbnail_name(path.name)
                    if name is None or thumb is None:
                        raise ValueError("no name for a cover")
                    if not _unchanged(known["cover_stamp"], os.stat(path.parent / name)):
                        raise ValueError("cover file changed")
                    # Gone, emptied or replaced: read the book again, so that the thumbnail
                    # is made once more, as the cover is.
                    if not _unchanged(known.get("thumb_stamp"), os.stat(path.parent / thumb)):
                        raise ValueError("thumbnail changed")
                    cover = (b"", known["cover_type"])
                period = known["period"]
                book = Book(path=path, title=known["title"], identifier=known["identifier"],
                            modified=dt.datetime.fromisoformat(known["modified"]) if known["modified"] else None,
                            creators=tuple(known["creators"]), language=known["language"],
                            description=known["description"], series=known["series"],
                            series_index=known["series_index"], size=st.st_size,
                            period=(dt.date.fromisoformat(period[0]), dt.date.fromisoformat(period[1]))
                            if period else None, cover=cover)
            except (OSError, KeyError, TypeError, ValueError, IndexError):
                book = None
        if book is None:
            book, remember = self._with_cover(path, read_book(path, data))
            if not remember:
                # Not remembered: the book is read again next run, and gets its cover
                # once the file in the way is gone (as a fresh build would).
                return book
        self.new[path.name] = {
            "stamp": list(Stamp.of(st).stat), "title": book.title, "identifier": book.identifier,
            "modified": book.modified.isoformat() if book.modified else None,
            "creators": list(book.creators), "language": book.language, "description": book.description,
            "series": book.series, "series_index": book.series_index,
            "period": [book.period[0].isoformat(), book.period[1].isoformat()] if book.period else None,
            "cover_type": book.cover[1] if book.cover else None,
            "cover_stamp": None, "thumb_stamp": None,
        }
        return book

    def _with_cover(self, path: Path, book: Any) -> tuple[Any, bool]:
        """*book* as listed, its cover file and thumbnail written beside it; and whether its
        record may be remembered (not when a file of the user's kept the cover out)."""
        from .opds import cover_name, no_cover_note, thumbnail_name

        if not book.cover:
            return book, True
        # Written here, not held: the catalog of ten years of books
        # would otherwise keep every cover in memory at once.
        data, mime = book.cover
        data = marked(data, mime)  # so that a later run knows the file as its own
        name, thumb = cover_name(path.name, mime), thumbnail_name(path.name)
        if name is None or thumb is None:
            self.notes.append(no_cover_note(path))
            return replace(book, cover=None), True
        blocked, thumb_data = self._blocked(path.parent / name, data, path.parent / thumb)
        if blocked is not None:
            self.notes.append(Diagnostic(
                SourceRef(str(blocked), 0), Severity.WARNING,
                f"not written by digest-export: left as it is, and {path.name} is listed in the "
                "catalog without a cover", Kind.OUTPUT))
            return replace(book, cover=None), False
        # (the thumbnail made only when the cover may be written)
        self.written[name] = write_file(path.parent / name, data)
        # Made from the cover only when the cover is read, so both
        # change together, and only then.
        self.written[thumb] = write_file(path.parent / thumb, thumb_data)
        return replace(book, cover=(b"", mime)), True

    def stamp_covers(self, out: Path) -> list[str]:
        """Record each cover file as the catalog left it; return their names and their thumbnails'."""
        from .opds import cover_name, thumbnail_name

        names = []
        for book_name, known in self.new.items():
            if known["cover_type"]:
                name = cover_name(book_name, known["cover_type"])
                if name is None:
                    continue
                try:
                    known["cover_stamp"] = list(Stamp.at(out / name).stat)
                except OSError:
                    continue
                names.append(name)
                thumb = thumbnail_name(book_name)
                if thumb is not None and (out / thumb).is_file():
                    known["thumb_stamp"] = list(Stamp.at(out / thumb).stat)
                    names.append(thumb)
        return names


def _unchanged(stored: Any, st: os.stat_result) -> bool:
    """True if *stored*, a stamp the cache holds (read back from the state, or made in this run),
    is that of the file *st* is the stat of; one an earlier version wrote (size and time only)
    matches no file, nor does a missing one: the book is read again."""
    try:
        return Stamp.stored(stored).matches(st)
    except (TypeError, ValueError):
        return False
