"""What ``digest-export build`` remembers between runs, and its fingerprints.

The state file lives outside the published folder: by default
``platformdirs.user_state_dir("digest-export")/<hash of DIR>.json``
(:func:`default_state_path`), or ``build --state PATH``.  An older build
kept it in ``DIR/.digest-export-state.json`` (:data:`STATE_NAME`); such a
file is read once and removed.  It is written atomically (through
:func:`exporter.output.write_file`) and holds no absolute path: input
files are named relative to the output folder's parent.  It holds, per input file, its size,
modification time, content hash, the digest days it contains (date, title,
paper keys) and its diagnostics; per book, the fingerprint of what it was
built from; and the same for the feeds and the catalog.  With it, a daily
run parses only the files that changed or that hold days it must rebuild,
and rebuilds only the books whose fingerprint changed.

The state is a cache, never a source of truth: a missing, unreadable or
foreign file (other version, other program) means "build everything".
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .gates import files as gate_files
from .reader.stamps import FileRecord, diag_from_json

#: Where builds before the state moved out of the output folder kept it.
STATE_NAME = ".digest-export-state.json"
#: Prefix of a path stored relative to the output folder's parent.
_RELATIVE = "output-parent:"


def default_state_path(out_dir: Path) -> Path:
    """The user's state folder, one file per output folder (by its absolute path, hashed)."""
    import platformdirs

    key = hashlib.blake2b(str(Path(out_dir).resolve()).encode("utf-8"), digest_size=16).hexdigest()
    return Path(platformdirs.user_state_dir("digest-export")) / f"{key}.json"


def portable(name: str, base: Path | None) -> str:
    """An absolute input path as stored: relative to *base* (the output folder's parent)."""
    if base is None or not os.path.isabs(name):
        return name
    try:
        return _RELATIVE + os.path.relpath(name, base)
    except ValueError:  # another drive
        return name


def local(name: str, base: Path | None) -> str:
    """The absolute path of a name stored by :func:`portable`."""
    if base is not None and name.startswith(_RELATIVE):
        return os.path.normpath(os.path.join(base, name[len(_RELATIVE):]))
    return name


def _diags_with(paths: Any, diags: list[list[Any]]) -> list[list[Any]]:
    return [[paths(str(d[0])), *d[1:]] if d else d for d in diags]
#: Bump when the meaning of a field changes: an old state is then ignored.
STATE_FORMAT = 2
def fingerprint(*parts: Any) -> str:
    """A short stable hash of JSON-able *parts*."""
    text = json.dumps(parts, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    # surrogatepass: a file name that is not UTF-8 (surrogateescape) hashes too.
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def tree_hash(folders: list[Path]) -> str:
    """Hash of every file (name and bytes) under *folders*: the templates.  Read through the file
    gate: a named pipe or device there is hashed as such, never opened."""
    h = hashlib.blake2b(digest_size=16)
    for folder in folders:
        # surrogateescape: a name that is not UTF-8 hashes as its bytes.
        h.update(str(folder).encode("utf-8", "surrogateescape") + b"\0")
        walked = gate_files.walk(folder, lambda name: True, skip_hidden=False)
        for path in walked.files:
            h.update(str(path.relative_to(folder)).encode("utf-8", "surrogateescape") + b"\0")
            try:
                h.update(gate_files.read_bytes(path, gate_files.TEMPLATE_LIMIT))
            except OSError:
                h.update(b"\1unreadable")
        for skip in walked.skipped:
            h.update(str(skip.path).encode("utf-8", "surrogateescape") + b"\1" + skip.reason.encode())
    return h.hexdigest()


#: ``build --finished-only``: a copy of the newest finished book, under a name that does not move.
LATEST_NAME = "latest.epub"


@dataclass(slots=True)
class OutputRecord:
    """An output (a book, or the feeds) and the fingerprint it was made from.

    ``files`` maps each written file (relative to the output folder) to its
    (size, mtime_ns): a file deleted or edited since means "rebuild".
    """

    inputs: str
    settings: str
    files: dict[str, tuple[int, int]]
    #: Thumbnails left out for a reason that may pass (a time-out, a server
    #: error): the next run asks for them, and rebuilds the book only if one
    #: of them can be had now.
    retry: tuple[str, ...] = ()
    #: A selection's book: how many papers passed (the summary and the front
    #: page show it without reading the days again).
    papers: int | None = None
    #: A selection's book: the fingerprint of the papers that passed, so that
    #: an edit of its week that changes none of them does not rebuild it.
    content: str = ""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"inputs": self.inputs, "settings": self.settings,
                                "files": {k: list(v) for k, v in sorted(self.files.items())}}
        if self.retry:
            data["retry"] = list(self.retry)
        if self.papers is not None:
            data["papers"] = self.papers
        if self.content:
            data["content"] = self.content
        return data

    @classmethod
    def from_json(cls, v: dict[str, Any]) -> OutputRecord:
        retry = v.get("retry", [])
        if not isinstance(retry, list):
            raise TypeError("retry is not a list")
        papers = v.get("papers")
        return cls(str(v["inputs"]), str(v["settings"]),
                   {str(k): (int(s), int(m)) for k, (s, m) in v["files"].items()},
                   tuple(str(u) for u in retry), None if papers is None else int(papers),
                   str(v.get("content", "")))

    def missing_or_changed(self, out_dir: Path) -> str | None:
        """Why the recorded files cannot be trusted, or None if they are as written."""
        for name, (size, mtime_ns) in self.files.items():
            try:
                st = os.stat(out_dir / name)
            except OSError:
                return f"{name} is missing"
            if st.st_size != size or st.st_mtime_ns != mtime_ns:
                return f"{name} was changed since it was written"
        return None


@dataclass(slots=True)
class BuildState:
    version: str
    files: dict[str, FileRecord]
    #: ISO date -> diagnostics of merging that day's headings (duplicates...).
    merge_diags: dict[str, list[list[Any]]]
    books: dict[str, OutputRecord]
    feeds: OutputRecord | None
    catalog: OutputRecord | None
    #: EPUB file name -> what the catalog read from it, with its (size,
    #: mtime_ns): an unchanged book is not opened again.
    catalog_books: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Other pages (``index.html``): what they were rendered from.
    pages: dict[str, OutputRecord] = field(default_factory=dict)

    def written_files(self) -> dict[str, tuple[int, int]]:
        """Every file an earlier run wrote into the output folder (relative name -> (size,
        mtime_ns) as it left it): what :func:`exporter.output.recorded` lets a run replace."""
        found: dict[str, tuple[int, int]] = {}
        records = [*self.books.values(), self.feeds, self.catalog, *self.pages.values()]
        for record in records:
            if record is not None:
                found.update(record.files)
        return found

    @classmethod
    def empty(cls, version: str) -> BuildState:
        return cls(version, {}, {}, {}, None, None)

    def to_bytes(self, base: Path | None = None) -> bytes:
        """The state as saved; absolute input paths relative to *base* (see :func:`portable`)."""
        def stored(name: str) -> str:
            return portable(name, base)

        files = {}
        for k, v in self.files.items():
            record = v.to_json()
            record["diags"] = _diags_with(stored, v.diags)
            files[stored(k)] = record
        data = {
            "format": STATE_FORMAT,
            "program": "digest-export",
            "version": self.version,
            "files": files,
            "merge_diags": {k: _diags_with(stored, v) for k, v in self.merge_diags.items()},
            "books": {k: v.to_json() for k, v in sorted(self.books.items())},
            "feeds": self.feeds.to_json() if self.feeds else None,
            "catalog": self.catalog.to_json() if self.catalog else None,
            "catalog_books": dict(sorted(self.catalog_books.items())),
            "pages": {k: v.to_json() for k, v in sorted(self.pages.items())},
        }
        # backslashreplace: a lone surrogate (a file name that is not UTF-8)
        # is written as the JSON escape "\udcff", which loads as itself.
        return (json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n").encode(
            "utf-8", "backslashreplace")


def load_state(path: Path, version: str, base: Path | None = None) -> tuple[BuildState, str | None]:
    """The state saved at *path*, or an empty one and the reason why; *base* as for
    :meth:`BuildState.to_bytes`."""
    try:
        raw = gate_files.read_bytes(path, gate_files.STATE_LIMIT)
    except FileNotFoundError:
        return BuildState.empty(version), "no state file from an earlier run"
    except OSError as err:
        return BuildState.empty(version), f"cannot read {path}: {err.strerror or err}"
    try:
        data = json.loads(raw)
        if data.get("program") != "digest-export" or data.get("format") != STATE_FORMAT:
            return BuildState.empty(version), f"{path} is not a state file of this format"
        if data.get("version") != version:
            return BuildState.empty(version), (f"{path} was written by digest-export "
                                               f"{data.get('version')}, this is {version}")
        check_state(data)
        state = BuildState(
            version,
            {local(str(k), base): FileRecord.from_json(v) for k, v in data["files"].items()},
            {str(k): _diags_with(lambda n: local(n, base), [list(x) for x in v])
             for k, v in data["merge_diags"].items()},
            {str(k): OutputRecord.from_json(v) for k, v in data["books"].items()},
            OutputRecord.from_json(data["feeds"]) if data.get("feeds") else None,
            OutputRecord.from_json(data["catalog"]) if data.get("catalog") else None,
            {str(k): dict(v) for k, v in data.get("catalog_books", {}).items()},
            {str(k): OutputRecord.from_json(v) for k, v in data.get("pages", {}).items()},
        )
        for rec in state.files.values():
            for d in rec.diags:
                diag_from_json(d)
        return state, None
    except StateError as err:
        return BuildState.empty(version), f"{path} is damaged ({err}); rebuilding everything"
    except (ValueError, TypeError, KeyError, AttributeError, IndexError, RecursionError) as err:
        return BuildState.empty(version), f"{path} is damaged ({type(err).__name__}); rebuilding everything"


# -- validation of a loaded state ----------------------------------------------
#
# The state is JSON anyone can edit.  Every value is checked for its type and
# range on load, so a hand-edited state (a title that is a number, a date
# that does not exist, a file name with a "/") means "rebuild" instead of a
# crash later, or a file outside the output folder being removed as stale.

class StateError(ValueError):
    """What is wrong with a state file (a short reason, shown under -v)."""


_INT_RANGE = (-(2 ** 63), 2 ** 63 - 1)
_COVER_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")


def _need(ok: bool, where: str, what: str) -> None:
    if not ok:
        raise StateError(f"{where}: expected {what}")


def _int(v: Any, where: str, low: int = _INT_RANGE[0]) -> None:
    _need(type(v) is int and low <= v <= _INT_RANGE[1], where, f"an integer from {low}")


def _str(v: Any, where: str, *, none: bool = False) -> None:
    _need(isinstance(v, str) or (none and v is None), where, "a string" + (" or null" if none else ""))


def _strs(v: Any, where: str) -> None:
    _need(isinstance(v, list) and all(isinstance(x, str) for x in v), where, "a list of strings")


def _date(v: Any, where: str) -> None:
    import datetime as dt

    _str(v, where)
    try:
        day = dt.date.fromisoformat(v)
    except ValueError:
        raise StateError(f"{where}: {v!r} is not a date") from None
    _need(1980 <= day.year <= 2099 and len(v) == 10, where, "a date from 1980 to 2099")


def _file_name(v: Any, where: str) -> None:
    """A plain name inside the output folder: no separator, no dot name,
    no control character."""
    _need(isinstance(v, str) and v not in ("", ".", "..") and not v.startswith(".")
          and not any(c in v for c in "/\\") and all(ord(c) >= 0x20 and c != "\x7f" for c in v)
          and len(v.encode("utf-8", "replace")) <= 255, where, "a plain file name")


def _relative_path(v: Any, where: str) -> None:
    """A file of the output folder or of one folder in it (the catalog's
    pages, the feed archives): plain names joined by ``/``."""
    _need(isinstance(v, str) and 1 <= v.count("/") + 1 <= 2, where, "a plain file name or FOLDER/NAME")
    for part in v.split("/"):
        _file_name(part, where)


def _dict(v: Any, where: str) -> dict[str, Any]:
    _need(isinstance(v, dict), where, "an object")
    return v


def _stamp(v: Any, where: str) -> None:
    _need(isinstance(v, list) and len(v) == 2, where, "[size, mtime_ns]")
    _int(v[0], where, 0)
    _int(v[1], where)


def _output_record(v: Any, where: str) -> None:
    v = _dict(v, where)
    _str(v.get("inputs"), where + ".inputs")
    _str(v.get("settings"), where + ".settings")
    if v.get("papers") is not None:
        _int(v["papers"], where + ".papers", 0)
    _str(v.get("content", ""), where + ".content")
    for name, stamp in _dict(v.get("files"), where + ".files").items():
        _relative_path(name, f"{where}.files")
        _stamp(stamp, f"{where}.files[{name!r}]")


def _file_record(v: Any, where: str) -> None:
    v = _dict(v, where)
    _int(v.get("size"), where + ".size", 0)
    _int(v.get("mtime_ns"), where + ".mtime_ns", -1)
    _str(v.get("sha"), where + ".sha")
    _need(isinstance(v.get("digests"), list), where + ".digests", "a list")
    for d in v["digests"]:
        _need(isinstance(d, list) and len(d) == 4, where + ".digests", "[date, title, keys, hash]")
        _date(d[0], where + ".digests")
        _str(d[1], where + ".digests")
        _strs(d[2], where + ".digests")
        _str(d[3], where + ".digests")
    _diags(v.get("diags"), where + ".diags")
    _strs(v.get("local_images"), where + ".local_images")


def _diags(v: Any, where: str) -> None:
    from .reader.stamps import diag_from_json

    _need(isinstance(v, list), where, "a list")
    for d in v:
        _need(isinstance(d, list) and len(d) == 5 and type(d[1]) is int
              and all(isinstance(x, str) for x in (d[0], *d[2:])), where, "a diagnostic")
        diag_from_json(d)


def _catalog_book(v: Any, where: str) -> None:
    import datetime as dt

    v = _dict(v, where)
    _stamp(v.get("stamp"), where + ".stamp")
    for key in ("title", "identifier"):
        _str(v.get(key), f"{where}.{key}")
    for key in ("language", "description", "series", "series_index", "modified"):
        _str(v.get(key), f"{where}.{key}", none=True)
    if v.get("modified") is not None:
        try:
            dt.datetime.fromisoformat(v["modified"])
        except ValueError:
            raise StateError(f"{where}.modified: not a date and time") from None
    _strs(v.get("creators"), where + ".creators")
    if v.get("period") is not None:
        _need(isinstance(v["period"], list) and len(v["period"]) == 2, where + ".period", "[first, last]")
        _date(v["period"][0], where + ".period")
        _date(v["period"][1], where + ".period")
    _need(v.get("cover_type") in (None, *_COVER_TYPES), where + ".cover_type", "an image type")
    if v.get("cover_stamp") is not None:
        _stamp(v["cover_stamp"], where + ".cover_stamp")


def check_state(data: Any) -> None:
    """Raise :class:`StateError` unless *data* is a state as this version writes it."""
    data = _dict(data, "state")
    for name, rec in _dict(data.get("files"), "files").items():
        _file_record(rec, f"files[{name!r}]")
    for iso, diags in _dict(data.get("merge_diags"), "merge_diags").items():
        _date(iso, "merge_diags")
        _diags(diags, f"merge_diags[{iso!r}]")
    for name, rec in _dict(data.get("books"), "books").items():
        _file_name(name, "books")
        _output_record(rec, f"books[{name!r}]")
    for key in ("feeds", "catalog"):
        if data.get(key) is not None:
            _output_record(data[key], key)
    for name, rec in _dict(data.get("catalog_books", {}), "catalog_books").items():
        _file_name(name, "catalog_books")
        _catalog_book(rec, f"catalog_books[{name!r}]")
    for name, rec in _dict(data.get("pages", {}), "pages").items():
        _file_name(name, "pages")
        _output_record(rec, f"pages[{name!r}]")
