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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .gates import files as gate_files
from .gates import names as gate_names
from .output import Stamp, carries_mark, holds, remove_log
from .reader.stamps import FileRecord

#: Where builds before the state moved out of the output folder kept it.
STATE_NAME = ".digest-export-state.json"
#: A page record of files an earlier build wrote and that are still to be removed where this one
#: does not write them (a folder on the way was a symbolic link; a selection state the main state
#: does not vouch for, whose files still hold what it recorded): each run tries again.
OWED_PAGE = "owed-removal"
#: Prefix of a path stored relative to the output folder's parent.
_RELATIVE = "output-parent:"


def default_state_path(out_dir: Path) -> Path:
    """The user's state folder, one file per output folder (by its absolute path, hashed)."""
    import platformdirs

    # The name's bytes: a folder name that is not UTF-8 is a folder all the same.
    key = hashlib.blake2b(os.fsencode(gate_files.real_path(out_dir)), digest_size=16).hexdigest()
    return Path(platformdirs.user_state_dir("digest-export")) / f"{key}.json"


def selection_state_path(state_path: Path | None, out_dir: Path, name: str) -> Path:
    """Where the build of *out_dir* keeps the state of its selection *name*: beside ``--state
    FILE`` (``FILE.NAME``), else the default state file of the selection's own folder."""
    return Path(f"{state_path}.{name}") if state_path is not None else default_state_path(Path(out_dir) / name)


def lock_path(out_dir: Path) -> Path:
    """Beside the default state of *out_dir*: the lock a run writing into the folder holds
    (:func:`exporter.output.held_lock`), whatever ``--state`` it is given."""
    path = default_state_path(out_dir)
    return path.with_name(path.stem + ".lock")


def written_record_path(out_dir: Path) -> Path:
    """Beside the default state of *out_dir* (whatever ``--state`` a build is given): what the
    commands that keep no state (``feed``, ``epub``) wrote there (:func:`load_written`)."""
    path = default_state_path(out_dir)
    return path.with_name(path.stem + ".written.json")


def load_written(path: Path, out_dir: Path | None = None) -> dict[str, Stamp]:
    """What ``feed`` and ``epub`` runs recorded writing into an output folder (relative name ->
    the :class:`~exporter.output.Stamp`, with its digest, they left it with), read through the
    documents gate; nothing if there is no such record or it is damaged (its files are then
    judged by their mark alone, as before they were recorded).  With *out_dir* (the folder),
    also what a run killed outright put in place there (:func:`written_before_a_kill`)."""
    from .gates import documents

    try:
        raw = documents.read(path, limit=documents.MAX_LEDGER_BYTES)
        documents.check_seal(raw)
        doc = documents.decode(raw, documents.WrittenDoc, limit=documents.MAX_LEDGER_BYTES)
        files = documents.to_builtins(doc)["files"]
        if gate_names.STORED_MARK.encode() in raw:
            files = gate_names.unstored_tree(files)
            for name in files:
                gate_names.check_output_name(name)
    except (OSError, ValueError):
        files = {}
    written = {str(name): Stamp.stored(stamp) for name, stamp in files.items()}
    if out_dir is not None:
        # Newer than the record: the log is left only by a run killed after it.
        written.update(written_before_a_kill(out_dir))
    return written


def intent_log_path(out_dir: Path) -> Path:
    """Beside the default state of *out_dir* (whatever ``--state`` a build is given): the log of
    the files a run is about to put in place there, a line each, appended before each rename
    (:attr:`exporter.output.Records.log`) and removed once the run's writes are recorded (its
    state saved, or the record of a stopped run written: :func:`forget_intents`).  A run killed
    outright (SIGKILL, the kernel's out-of-memory killer, a CI job's time limit) leaves it."""
    path = default_state_path(out_dir)
    return path.with_name(path.stem + ".writing.log")


def load_intents(path: Path, most: int | None = None) -> list[tuple[str, int, str]]:
    """The (name, size, digest) lines of the log *path* (the first *most* of them), read through
    the documents gate; a line that is not one (cut short by the kill, or not the program's) is
    left out."""
    from .gates import documents

    if os.path.islink(path):
        return []  # never read through a link, as it is never written through one
    try:
        raw = documents.read(path, limit=documents.MAX_LEDGER_BYTES)
    except (OSError, ValueError):
        return []
    found = []
    for line in raw.split(b"\n"):
        try:
            doc = documents.decode(line, documents.IntentDoc, limit=4096)
        except ValueError:
            continue
        found.append((doc.name, doc.size, doc.digest))
        if len(found) == most:
            break
    return found


def unreadable_intents(out_dir: Path) -> str | None:
    """Why the log of *out_dir* is there but cannot be read (a folder, a FIFO or a link at its
    name, too large, not readable), or None (none, or readable): the next build then knows
    nothing of what a run killed outright was putting in place, and says so."""
    import stat

    from .gates import documents

    path = intent_log_path(out_dir)
    try:
        st = os.lstat(path)
    except OSError:
        return None
    # Never written through a link, nor into a file of other names (a hard link): the run logs
    # nothing there, so a link is as unreadable as a folder.
    if stat.S_ISLNK(st.st_mode):
        return "a symbolic link, which the log is never written through"
    if stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
        return f"a file of {st.st_nlink} names (a hard link), which the log is never written into"
    try:
        documents.read(path, limit=documents.MAX_LEDGER_BYTES)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        return getattr(error, "strerror", None) or str(error) or type(error).__name__
    return None


def _output_names(data: dict) -> list[str]:
    """The names of output files a state read back holds: its books, pages and catalog entries,
    the files of each record, and the files it keeps as the user's."""
    records = [*data["books"].values(), *data["pages"].values(), data["feeds"], data["catalog"]]
    return [*data["books"], *data["pages"], *data["catalog_books"], *data["left"],
            *(name for record in records if isinstance(record, dict) for name in record.get("files", {}))]


#: The names a build writes in its folder whatever its books (the feeds, the catalog, the page).
_FIXED_NAMES = frozenset({"feed.atom", "feed.rss", "feed.json", "catalog.opds", "catalog.json",
                          "catalog-current.opds", "catalog-current.json", "index.html", "icon.png", "latest.epub"})


def _a_name_builds_write(name: str) -> bool:
    """Whether *name* (relative to an output folder) is of a kind a build writes there: a fixed
    name, a page of the catalog's folder or an archive, a book named as the program names them
    (``bundles.is_book_name``) or its cover.  A log names nothing else; a line that does (a copy
    of a book the user renamed ``mine.epub``) is not taken as a killed run's write."""
    from .bundles import is_book_name

    folder, _, base = name.rpartition("/")
    if folder in ("catalog", "archive"):
        return True
    if folder:
        return False
    stem = base.partition(".cover.")[0] + ".epub" if ".cover." in base else base
    return base in _FIXED_NAMES or is_book_name(stem)


def written_before_a_kill(out_dir: Path) -> dict[str, Stamp]:
    """The files of *out_dir* that a run killed outright put in place (its log names them, and
    each holds the bytes the log says): name -> the file's stamp with that digest, as a stopped
    run would have recorded them.  A file the log names that holds other bytes was not put in
    place (the run was killed before its rename: the state's record of it stands) or was edited
    since (the user's, as any file edited since it was written)."""
    found: dict[str, Stamp] = {}
    for name, size, digest in load_intents(intent_log_path(out_dir)):
        if not _a_name_builds_write(name):
            continue  # a line for another name (a copy of a book, renamed) is none of a run's
        path = Path(out_dir) / name
        try:
            st = os.stat(path, follow_symlinks=False)
        except OSError:
            continue
        # And carries the mark, as every file the program writes does: a line naming a file of
        # the user's with its digest makes it no more the program's than a state saying so would.
        if gate_files.kind_of(st.st_mode) is None and holds(path, Stamp(size, -1, -1, -1, digest), st) \
                and carries_mark(path):
            found[name] = Stamp.of(st)._replace(digest=digest)
    return found


def forget_intents(out_dir: Path) -> None:
    """Remove the log of *out_dir* once what it names is recorded elsewhere (a file there that is
    not such a log is not the program's, and stays)."""
    path = intent_log_path(out_dir)
    if os.path.lexists(path) and load_intents(path, most=1):  # one line of a log is enough to tell
        remove_log(path)


def written_bytes(files: dict[str, Stamp]) -> bytes:
    """The record :func:`load_written` reads, sealed as the state is."""
    data = {"program": "digest-export", "format": 1,
            "files": {name: stamp.to_json() for name, stamp in sorted(files.items())}}
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    if gate_names.needs_storing(text):
        text = json.dumps(gate_names.stored_tree(data), ensure_ascii=False, separators=(",", ":"))
    from .gates import documents

    return documents.seal(text.encode("utf-8"))


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
STATE_FORMAT = 3
def fingerprint(*parts: Any) -> str:
    """A short stable hash of JSON-able *parts*."""
    text = json.dumps(parts, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    # surrogatepass: a file name that is not UTF-8 (surrogateescape) hashes too.
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


#: How many files and folders a templates folder may hold: the packaged one holds a dozen.
MAX_TEMPLATE_ENTRIES = 2_000


def tree_hash(folders: list[Path]) -> str:
    """Hash of every file (name and bytes) under *folders*: the templates.  Read through the file
    gate: a named pipe or device there is hashed as such, never opened."""
    h = hashlib.blake2b(digest_size=16)
    for folder in folders:
        # surrogateescape: a name that is not UTF-8 hashes as its bytes.
        h.update(str(folder).encode("utf-8", "surrogateescape") + b"\0")
        walked = gate_files.walk(folder, lambda name: True, skip_hidden=False, inside=True,
                                 max_entries=MAX_TEMPLATE_ENTRIES)
        if walked.stopped:
            from .errors import TemplateError
            from .gates.names import shell_quote

            # Every file is read for the fingerprint, each run: '--templates /usr' took 40 s.
            raise TemplateError(f"the templates folder {shell_quote(folder)} holds more than "
                                f"{MAX_TEMPLATE_ENTRIES:,} files and folders: give --templates a folder of "
                                "templates (docs/templates.md)")
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
    :class:`~exporter.output.Stamp`: a file deleted or edited since means "rebuild".
    """

    inputs: str
    settings: str
    files: dict[str, Stamp]
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
                                "files": {k: v.to_json() for k, v in sorted(self.files.items())}}
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
                   {str(k): Stamp.stored(stamp) for k, stamp in v["files"].items()},
                   tuple(str(u) for u in retry), None if papers is None else int(papers),
                   str(v.get("content", "")))

    def missing_or_changed(self, out_dir: Path) -> str | None:
        """Why the recorded files cannot be trusted, or None if they are as written.

        A stamp an earlier version recorded (size and time only: :meth:`Stamp.stored`) is not
        trusted either: the book, feed or page is made once more, and nothing is written if its
        bytes are the same (``write_file``); a file edited meanwhile is replaced only if it
        still carries the mark, as any file whose stamp does not match."""
        for name, stamp in self.files.items():
            try:
                st = os.stat(out_dir / name)
            except OSError:
                return f"{gate_names.shell_quote(name)} is missing"
            if stamp.ino < 0:
                return (f"{gate_names.shell_quote(name)} was recorded by an earlier version by its size "
                        "and time only, which cannot tell an edit")
            # A stat that changed with the bytes kept (``cp -a``, ``rsync -a``, a restore from a
            # cache) is the file as written: hashed, by the recorded digest, only then.
            if not holds(out_dir / name, stamp, st):
                return f"{gate_names.shell_quote(name)} was changed since it was written"
        return None

    def restamped(self, out_dir: Path) -> OutputRecord:
        """This record with each file's stamp as the file is now: a file copied with its bytes
        kept keeps its digest under its new stat, so the next run neither hashes it again nor
        builds its book once more.  A file that no longer holds them (changed since
        :meth:`missing_or_changed` looked) leaves the record as it was: the next run sees it."""
        files = {}
        for name, stamp in self.files.items():
            try:
                st = os.stat(out_dir / name)
            except OSError:
                return self
            if not stamp.matches(st):
                if not holds(out_dir / name, stamp, st):
                    return self
                stamp = Stamp.of(st)._replace(digest=stamp.digest)
            files[name] = stamp
        return replace(self, files=files)


@dataclass(slots=True)
class BuildState:
    version: str
    files: dict[str, FileRecord]
    #: ISO date -> diagnostics of merging that day's headings (duplicates...).
    merge_diags: dict[str, list[list[Any]]]
    books: dict[str, OutputRecord]
    feeds: OutputRecord | None
    catalog: OutputRecord | None
    #: EPUB file name -> what the catalog read from it, with its stamp
    #: (``"stamp"``, :class:`~exporter.output.Stamp`): an unchanged book is not opened again.
    catalog_books: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Other pages (``index.html``): what they were rendered from.
    pages: dict[str, OutputRecord] = field(default_factory=dict)
    #: A selection's state: the token the main state records for the
    #: selection (its ``selection:NAME`` page).  A selection state whose main
    #: state is gone (deleted to force a full rebuild) or was replaced no
    #: longer matches and is ignored: it cannot vouch for DIR/NAME/ alone.
    token: str = ""
    #: Files an earlier run wrote (relative name -> its stamp as written, with the digest) that
    #: the user changed since, and that no run writes any more: a run leaves them alone, and
    #: without this record the next run that writes the name again would know the file by its
    #: mark alone, which an edit keeps (see :func:`exporter.pipeline.run.keep_users_edits`).
    left: dict[str, Stamp] = field(default_factory=dict)

    def written_files(self) -> dict[str, Stamp]:
        """Every file an earlier run wrote into the output folder (relative name -> its stamp
        as it left it): what :func:`exporter.output.recorded` lets a run replace (a file in
        :attr:`left` only while it holds the bytes written, which it no longer does)."""
        found: dict[str, Stamp] = dict(self.left)
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
            "catalog_books": _catalog_books_as_read(self.catalog_books),
            "pages": {k: v.to_json() for k, v in sorted(self.pages.items())},
            "token": self.token,
            "left": {k: v.to_json() for k, v in sorted(self.left.items())},
        }
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        if gate_names.needs_storing(text):
            # A file name that is not UTF-8 (a lone surrogate from surrogateescape) is written
            # so that it reads back as the same bytes: JSON cannot hold a lone surrogate
            # (RFC 8259 section 8.2), and a state that does not read back rebuilds every run.
            text = json.dumps(gate_names.stored_tree(data), ensure_ascii=False, separators=(",", ":"))
        from .gates import documents

        # Sealed: a hand edit of any shape reads back as damage (documents.seal says why).
        return documents.seal(text.encode("utf-8"))


def _catalog_books_as_read(records: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The catalog's records in the form :func:`load_state` gives back (a record that would not
    read back is left out: the catalog reads its book again)."""
    from .gates import documents

    out = {}
    for name, record in sorted(records.items()):
        as_read = documents.catalog_record_as_read(record)
        if as_read is not None:
            out[name] = as_read
    return out


def load_state(path: Path, version: str, base: Path | None = None) -> tuple[BuildState, str | None]:
    """The state saved at *path*, or an empty one and the reason why; *base* as for
    :meth:`BuildState.to_bytes`.  The file is read through the documents gate: anything
    not of the state's schema means "damaged: rebuild everything"."""
    from .gates import documents

    shown = gate_names.shell_quote(os.fsdecode(path))
    try:
        raw = documents.read(path, limit=documents.MAX_STATE_BYTES)
        head = documents.decode(raw, documents.StateHeader, limit=documents.MAX_STATE_BYTES)
    except FileNotFoundError:
        return BuildState.empty(version), "no state file from an earlier run"
    except OSError as err:
        return BuildState.empty(version), f"cannot read {shown}: {err.strerror or err}"
    except documents.DocumentDamaged as err:
        return BuildState.empty(version), f"{shown} is damaged ({err}); rebuilding everything"
    if head.program != "digest-export" or head.format != STATE_FORMAT:
        return BuildState.empty(version), f"{shown} is not a state file of this format"
    if head.version != version:
        return BuildState.empty(version), f"{shown} was written by digest-export {head.version}, this is {version}"
    try:
        documents.check_seal(raw)
        data = documents.to_builtins(documents.decode(raw, documents.StateDoc, limit=documents.MAX_STATE_BYTES))
        if gate_names.STORED_MARK.encode() in raw:
            data = gate_names.unstored_tree(data)
            for name in _output_names(data):
                gate_names.check_output_name(name)
    except ValueError as err:  # DocumentDamaged, or a stored name that is not one
        return BuildState.empty(version), f"{shown} is damaged ({err}); rebuilding everything"
    state = BuildState(
        version,
        {local(k, base): FileRecord.from_json(v) for k, v in data["files"].items()},
        {k: _diags_with(lambda n: local(n, base), v) for k, v in data["merge_diags"].items()},
        {k: OutputRecord.from_json(v) for k, v in data["books"].items()},
        OutputRecord.from_json(data["feeds"]) if data["feeds"] else None,
        OutputRecord.from_json(data["catalog"]) if data["catalog"] else None,
        data["catalog_books"],
        {k: OutputRecord.from_json(v) for k, v in data["pages"].items()},
        data["token"],
        {k: Stamp.stored(v) for k, v in data["left"].items()},
    )
    return state, None
