"""Writing output files: atomically, and only when the content changed.

Every writer goes through :func:`write_file`, so a reader, a sync client or a
web server never sees a half-written book or feed: the bytes go to a
temporary file in the same folder (same file system), are flushed to disk,
then renamed over the target (``os.replace`` is atomic on POSIX and Windows).
A file whose bytes would not change is left alone, so its modification time
and HTTP validators stay as they were.

**Never over a file the program did not write.**  A file already at the
target is replaced only if its bytes are the same (nothing to write), it is
empty, or it is the program's own: the build state records it as written by
an earlier run *and* it is still of the :class:`Stamp` it had when written
(size, modification time, inode-change time and inode, as git's index knows
a file; :func:`recorded`, set by the pipeline from the state), or it carries
the program's mark, which every file it writes has (:func:`carries_mark`:
the feeds' ``generator``, the books' ``dc:publisher``, the front page's
``generator`` meta, the state, ledger and JSON Feed's ``"program"`` key, a
comment in covers, thumbnails and icons).  A name alone is not enough: a
state left over from an output folder deleted since names files that the
user may have put there afresh (``rm -rf DIR; mkdir DIR; echo notes >
DIR/feed.atom``), and a book the user overwrote after a build is the user's.
So a command with no state (``epub``, ``feed``, ``epub -o FILE.epub``)
still replaces its own earlier output, and never a user's file that happens
to have the same name (a ``NAME.cover.jpg`` beside a book, a
``feed.json``); that is a :class:`NotOurFileError` (exit 1) naming the file
and saying how to go on.  :func:`remove_file` deletes only a file the state
records, still of its stamp (the mark is not enough there: a file the user
edited may keep it, and an edit is never thrown away).  Size and modification
time alone do not tell an edit: ``touch -r``, ``cp -p``, ``rsync -t`` or an
editor that keeps the time give the old time back after a same-size edit or
a swap; the inode-change time cannot be set by any call and moves on every
write, and a file swapped in by a rename is another inode.

A run killed between creating the temporary file (``.<name>.<random>.part``,
hidden, and not matching ``*.epub`` or any feed name) and renaming it leaves
that file behind; the next write of the same name removes such leftovers
once they are :data:`STALE_AFTER` seconds old (younger ones may belong to a
run writing into the same folder right now).
"""

from __future__ import annotations

import contextlib
import contextvars
import enum
import os
import re
import struct
import tempfile
import time
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import OutputError
from .gates import files as gate_files
from .gates.names import shell_quote


class WriteStatus(str, enum.Enum):
    WRITTEN = "written"
    UNCHANGED = "unchanged"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_MODE = 0o666 & ~_umask()

#: Age (seconds) after which a temporary file of ours is a leftover of a
#: killed run: writing one file takes seconds, not minutes.
STALE_AFTER = 600.0

#: The longest file name, in bytes, the file systems an output goes to take (POSIX ``NAME_MAX``:
#: 255 on ext4, XFS, Btrfs, APFS; NTFS and FAT count 255 UTF-16 units, never fewer bytes' worth).
NAME_MAX = 255


def name_fits(name: str) -> bool:
    """True if a file may be called *name* (see :data:`NAME_MAX`).  The one rule for every name the
    program derives from another (a cover or thumbnail beside a book named by someone else): a
    derived name that does not fit is left out by its caller, with a warning."""
    return 0 < len(os.fsencode(name)) <= NAME_MAX


def _part_prefix(name: str) -> str:
    """The prefix of the temporary file :func:`write_file` writes *name* through: ``.NAME.``, or,
    when that would not fit beside mkstemp's eight letters and ``.part``, ``.`` and a hash of the
    name (a book named by its user may be 250 bytes long)."""
    prefix = f".{name}."
    if name_fits(prefix + "x" * 8 + ".part"):
        return prefix
    import hashlib

    return "." + hashlib.blake2b(os.fsencode(name), digest_size=12).hexdigest() + ".long."


def same_content(path: Path, data: bytes) -> bool:
    """True if *path* is a regular file holding *data* (read through the file gate: a named pipe
    there is never opened)."""
    try:
        if gate_files.check_regular(path).st_size != len(data):
            return False
        return gate_files.read_bytes(path, len(data)) == data
    except OSError:
        return False


def _shown(path: Path) -> str:
    """A path in a message: quoted as ``ls`` does (a newline cannot forge a line)."""
    return shell_quote(os.fsdecode(path))


def make_folders(folder: Path) -> None:
    """``mkdir -p`` *folder*, one level at a time: ``Path.mkdir(parents=True)`` and
    ``os.makedirs`` recurse once per level, and a path of a thousand levels is a RecursionError
    before the system says the name is too long.  :class:`OutputError` naming it if it cannot."""
    folder = Path(folder)
    _check_way(folder, folder)
    missing = []
    for level in (folder, *folder.parents):
        if os.path.isdir(level):
            break
        missing.append(level)
    try:
        for level in reversed(missing):
            try:
                os.mkdir(level)
            except FileExistsError:
                if not os.path.isdir(level):
                    raise
    except OSError as err:
        raise OutputError(f"cannot write to {_shown(folder)}: {err.strerror or err}") from err


def check_target(path: Path) -> None:
    """:class:`OutputError` unless *path* is nothing yet or a regular file: a folder, named pipe,
    socket or device where a file is to be written is the user's, and is left alone; so is a
    path that lies under a file."""
    _check_way(path, path.parent)
    what = gate_files.special_kind(path)
    if what is not None:
        raise OutputError(f"cannot write {_shown(path)}: it is {what}, not a regular file; left alone")
    for parent in path.parents:
        if not os.path.lexists(parent):
            continue
        if os.path.isdir(parent):
            break
        raise OutputError(f"cannot write {_shown(path)}: {_shown(parent)} is {gate_files.described(parent)}, "
                          "not a folder")


def _folders_below_root(folder: Path) -> tuple[Path, tuple[str, ...]] | None:
    """(the run's output root, the names of the folders from it down to *folder*, that one
    included), if *folder* lies in the output root, spelled as given or from its real path; None
    outside it (the state in the program's own folder, ``epub -o FILE.epub``)."""
    root = _ROOT.get()
    if root is None:
        return None
    given, whole = root
    try:
        here = Path(os.getcwd(), folder)
    except OSError:  # the current folder was removed
        return None
    for start, spelled in ((whole, given), (gate_files.real_path(whole), None)):
        try:
            return spelled or start, here.relative_to(start).parts
        except ValueError:
            continue
    return None


def _link_on_way(folder: Path) -> tuple[Path, str] | None:
    """The folder between the output root and *folder* (included) that is a symbolic link (or not a
    folder), and what it is; see :func:`exporter.gates.files.link_on_way`."""
    found = _folders_below_root(folder)
    if found is None:
        return None
    return gate_files.link_on_way(*found)


def outside_through_link(path: Path) -> str | None:
    """Why :func:`remove_file` leaves *path* alone because of the way to it (a folder below the
    output folder that is a symbolic link, or a ``..``), in words; None if the way is clear."""
    on_way = _link_on_way(Path(path).parent)
    if on_way is None:
        return None
    at, what = on_way
    return f"{_shown(path)} was not removed: {_shown(at)} is {what}; left alone"


def _check_way(path: Path, folder: Path) -> None:
    on_way = _link_on_way(folder)
    if on_way is not None:
        at, what = on_way
        raise OutputError(f"cannot write {_shown(path)}: {_shown(at)} is {what}; left alone")


class NotOurFileError(OutputError):
    """A file the program did not write is where it would write one: left alone."""


class Stamp(gate_files.FileStamp):
    """A file as the program left it (:class:`exporter.gates.files.FileStamp`), with the form the
    build state stores.  Made only by :meth:`of` (or :meth:`at`) from a stat, and by
    :meth:`stored` from the build state; ``ctime_ns`` and ``ino`` -1: recorded by an earlier
    version, which kept size and time only.

    What else moves the inode-change time (``chmod``, a hard link such as ``cp -al`` or
    ``rsync --link-dest`` make) or the inode number (a file system that does not keep them
    across mounts, such as FAT on Linux) makes the file "changed since written" too (git's index, with its default ``core.trustctime``,
    pays the same): the cost is one more build of it (same bytes: nothing is written) or a
    stale file left in place, never a file of the user's lost."""

    __slots__ = ()

    @classmethod
    def at(cls, path: Path) -> Stamp:
        """The stamp of the file at *path* (``os.stat``: OSError if there is none)."""
        return cls.of(os.stat(path))

    @classmethod
    def stored(cls, value: Sequence[int]) -> Stamp:
        """A stamp as the state holds it: ``[size, mtime_ns, ctime_ns, ino]``, or an earlier
        version's ``[size, mtime_ns]``, which matches no file (:meth:`matches`): such a file is
        "changed since written" once (left alone if it does not carry the mark, never removed;
        a book is made again, and recorded with a whole stamp)."""
        if len(value) == 2:
            return cls(int(value[0]), int(value[1]), -1, -1)
        size, mtime_ns, ctime_ns, ino = value
        return cls(int(size), int(mtime_ns), int(ctime_ns), int(ino))

    def matches(self, st: os.stat_result) -> bool:
        """True if *st* is the stat of the very file this stamp was made from, unchanged."""
        return self.ino >= 0 and self == Stamp.of(st)


@dataclass(frozen=True, slots=True)
class Records:
    """What the build state says an earlier run wrote into *folder*: name (relative, POSIX) ->
    :class:`Stamp` as it left the file (a file may be replaced if named here and still of that
    stamp; removed only then)."""

    folder: Path
    stamps: Mapping[str, Stamp]


# Set by the pipeline for the length of a run (and inherited by the forked
# book workers): every write_file call of the run sees it without each writer
# passing it along.
_RECORDS: contextvars.ContextVar[Records | None] = contextvars.ContextVar("digest_export_records", default=None)


# The run's output folder (as given, and absolute without following links): below it, no folder
# on the way to a file written or removed may be a symbolic link (see :func:`output_root`).
_ROOT: contextvars.ContextVar[tuple[Path, Path] | None] = contextvars.ContextVar("digest_export_root",
                                                                                 default=None)


@contextlib.contextmanager
def output_root(folder: Path) -> Iterator[None]:
    """Within the block, *folder* is the output folder: every file :func:`write_file` writes,
    :func:`remove_file` removes or :func:`make_folders` makes below it is reached through real
    folders only.  A symbolic link below it (``OUT/catalog -> ../ext``, or ``lnk/feed.atom`` in a
    state that anyone who can write the state may have written) would carry writes and removals
    out of the folder the user named; *folder* itself, and its parents, may be links (users keep
    an output folder on another disk that way)."""
    token = _ROOT.set((Path(folder), Path(os.getcwd(), folder)))
    try:
        yield
    finally:
        _ROOT.reset(token)


@contextlib.contextmanager
def recorded(folder: Path, stamps: Mapping[str, Stamp]) -> Iterator[None]:
    """Within the block, *folder* is the output folder (:func:`output_root`) and the files
    *stamps* names in it are the program's own."""
    token = _RECORDS.set(Records(gate_files.real_path(folder), dict(stamps)))
    try:
        with output_root(folder):
            yield
    finally:
        _RECORDS.reset(token)


def _recorded_stamp(path: Path) -> Stamp | None:
    records = _RECORDS.get()
    if records is None:
        return None
    try:
        name = gate_files.real_path(path).relative_to(records.folder).as_posix()
    except (ValueError, OSError):
        return None
    return records.stamps.get(name)


#: The program's mark in the first bytes of what it writes.  Atom, RSS and
#: OPDS: ``<generator>``; the front page: ``<meta name="generator">``; the
#: state, the send ledger and JSON Feed (an extension object, JSON Feed 1.1
#: "Extensions"): ``"program": "digest-export"``; JPEG covers: a COM segment
#: (ITU T.81 B.2.4.5); PNG covers and icons: a ``tEXt`` chunk (PNG 11.3.4.3).
PROGRAM = "digest-export"
_MARK = re.compile(rb'<generator[^>]*>digest-export</generator>|<meta name="generator" content="digest-export[ "]'
                   rb'|"program":\s*"digest-export"|"_digest_export":\{"date":|\xff\xfe\x00\x0fdigest-export|tEXtSoftware\x00digest-export')
_HEAD = 64 * 1024
_OPF_MARK = b"<dc:publisher>digest-export</dc:publisher>"


def carries_mark(path: Path) -> bool:
    """True if the regular file *path* carries the program's mark (see :data:`_MARK`); an EPUB
    its ``dc:publisher``."""
    try:
        head = gate_files.read_head(path, _HEAD)
    except OSError:
        return False
    if head.startswith(b"PK\x03\x04"):
        return _epub_is_ours(path)
    return _MARK.search(head) is not None


def _epub_is_ours(path: Path) -> bool:
    import zipfile

    try:
        fh, _ = gate_files.open_regular(path, gate_files.BOOK_LIMIT)
        with fh, zipfile.ZipFile(fh) as z:
            for info in z.infolist():
                if info.filename.endswith(".opf") and info.file_size <= 4 * 1024 * 1024:
                    with z.open(info) as member:
                        return _OPF_MARK in member.read(4 * 1024 * 1024)
    except (OSError, zipfile.BadZipFile, ValueError, RuntimeError, NotImplementedError, EOFError):
        return False
    return False


def marked(data: bytes, media_type: str) -> bytes:
    """*data* (a JPEG or PNG image) with the program's mark added, so that a later run knows the
    file as its own; other types unchanged."""
    if media_type == "image/jpeg" and data.startswith(b"\xff\xd8"):
        at = 2
        while data[at:at + 2] and 0xE0 <= data[at + 1] <= 0xEF and data[at] == 0xFF:  # APPn (JFIF first)
            at += 2 + int.from_bytes(data[at + 2:at + 4], "big")
        comment = b"\xff\xfe" + struct.pack(">H", 2 + len(PROGRAM)) + PROGRAM.encode()
        return data if comment in data[:_HEAD] else data[:at] + comment + data[at:]
    if media_type == "image/png" and data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR":
        at = 8 + 8 + int.from_bytes(data[8:12], "big") + 4
        body = b"tEXtSoftware\x00" + PROGRAM.encode()
        chunk = struct.pack(">I", len(body) - 4) + body + struct.pack(">I", zlib.crc32(body))
        return data if body in data[:_HEAD] else data[:at] + chunk + data[at:]
    return data


def _as_recorded(path: Path, st: os.stat_result) -> bool:
    """True if the state records *path* with the stamp *st* has."""
    stamp = _recorded_stamp(path)
    return stamp is not None and stamp.matches(st)


def is_ours(path: Path) -> bool:
    """True if the file at *path* is the program's: the state records it as written by an
    earlier run and it is still as that run left it (its :class:`Stamp`), or it carries the mark."""
    if os.path.islink(path):  # never written by the program: it writes regular files only
        return False
    try:
        st = gate_files.check_regular(path)
    except OSError:
        return False
    # An empty file holds nothing to lose (``touch state.json``).
    return st.st_size == 0 or _as_recorded(path, st) or carries_mark(path)


def may_write(path: Path, data: bytes) -> bool:
    """True if :func:`write_file` would write *data* at *path* (for callers that leave a file
    out with a warning rather than fail)."""
    try:
        check_target(Path(path))
    except OutputError:
        return False
    return not os.path.lexists(path) or same_content(Path(path), data) or is_ours(Path(path))


def not_ours_message(path: Path) -> str:
    if os.path.islink(path):
        return (f"{_shown(path)} is {gate_files.described(path)}: digest-export writes regular files only and "
                "never replaces a link; left as it is (remove the link to have the file written, or write to "
                "another folder)")
    if _recorded_stamp(path) is not None:
        return (f"{_shown(path)} was changed since digest-export wrote it (or is another file of that name): "
                "left as it is (move it away to have it written again, or write to another folder)")
    return (f"{_shown(path)} was not written by digest-export: left as it is (move it away, or write to "
            "another folder)")


def remove_file(path: Path, stamp: Stamp) -> bool:
    """Delete *path* if it is a regular file still of the :class:`Stamp` the state recorded when
    the program wrote it, and carrying the program's mark (every file it writes does): a stamp
    alone is only what the state says, and a state can lie (a hand edit that lists a user's
    file with its stamp).  True if deleted."""
    path = Path(path)
    try:
        if _link_on_way(path.parent) is not None:
            return False  # a folder on the way is a link (or not a folder): not below the output folder
        st = os.lstat(path)
        if gate_files.kind_of(st.st_mode) is None and stamp.matches(st) and carries_mark(path):
            os.unlink(path)
            return True
    except OSError:
        pass
    return False


def check_writable(path: Path) -> None:
    """Raise what :func:`write_file` would raise at *path* whatever the bytes: a name too long, a
    target that is not a file, a file the program did not write (a symbolic link is left to
    :func:`write_file`, which keeps one that already holds the bytes).  Called before books are
    handed to forked workers: the run then ends here, before any book is built, rather than
    through an error that a worker sends back while the others are still building."""
    path = Path(path)
    if not name_fits(path.name):
        raise OutputError(f"cannot write {_shown(path)}: the name is longer than {NAME_MAX} bytes")
    check_target(path)
    if os.path.lexists(path) and not os.path.islink(path) and not is_ours(path):
        raise NotOurFileError(not_ours_message(path))


def write_file(path: Path, data: bytes, *, force: bool = False, ours: bool = False,
               earlier: tuple[bytes, ...] = ()) -> WriteStatus:
    """Atomically replace *path* with *data* unless it already holds them; :class:`NotOurFileError`
    if a file the program did not write is there.  *ours*: the caller knows the path is the
    program's own whatever it holds (a file in the program's own state folder); *earlier*: what
    earlier versions wrote there, without the mark (also the program's own)."""
    path = Path(path)
    if not name_fits(path.name):
        raise OutputError(f"cannot write {_shown(path)}: the name is longer than {NAME_MAX} bytes")
    check_target(path)
    remove_stale_parts(path)
    link = os.path.islink(path)
    if not force and same_content(path, data):
        # A link to a file of these very bytes: nothing to write, and the link stays the user's.
        return WriteStatus.UNCHANGED
    if link:
        # A symbolic link is never something the program wrote (it writes regular files only,
        # ``latest.epub`` included, a copy): replacing it would destroy the user's link.
        raise NotOurFileError(not_ours_message(path))
    if not ours and os.path.lexists(path) and not is_ours(path) and not any(
            same_content(path, old) for old in earlier):
        raise NotOurFileError(not_ours_message(path))
    folder = path.parent
    make_folders(folder)
    try:
        fd, tmp = tempfile.mkstemp(prefix=_part_prefix(path.name), suffix=".part", dir=folder)
    except OSError as err:  # a name too long, say: name the file, not the folder
        raise OutputError(f"cannot write {_shown(path)}: {err.strerror or err}") from err
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp creates 0600; a published feed must be readable like any
        # file the user creates.
        os.chmod(tmp, _MODE)
        os.replace(tmp, path)
    except BaseException as err:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(err, OSError):
            raise OutputError(f"cannot write {_shown(path)}: {err.strerror or err}") from err
        raise
    batch = _BATCH.get()
    if batch is not None and batch.pid == os.getpid():
        batch.folders.add(folder)
    else:
        _fsync_dir(folder)
    return WriteStatus.WRITTEN


@dataclass(slots=True)
class _Batch:
    """The folders whose renames :func:`synced_at_end` makes durable, in the process *pid*."""

    pid: int
    folders: set[Path]


_BATCH: contextvars.ContextVar[_Batch | None] = contextvars.ContextVar("digest_export_batch", default=None)


@contextlib.contextmanager
def synced_at_end() -> Iterator[None]:
    """Within the block, each folder :func:`write_file` renames files into is synced once, at the
    end, instead of after each file.

    A reader never sees half a file either way: that is the rename (POSIX ``rename()``: the name
    is the old file or the new one).  Each file's own ``fsync`` stays before its rename, so after
    a crash a name never points at data that did not reach the disk (ext4's delayed allocation
    lost just that: https://lwn.net/Articles/322823/).  The folder's ``fsync`` only makes the
    renames durable (POSIX ``fsync()``, Linux fsync(2): "fsync() on a file descriptor for the
    directory is also needed"); done once for all the files of a batch, before the build state
    records them, a crash in between leaves, for each name, its old file or its new one, and the
    state that still describes the old ones (a new file it does not know is rebuilt).  A batch
    opened in another process (a forked book worker inherits the context) is not this one's:
    there each file syncs its folder as it is written, unless the worker opens its own.  A
    block within a block syncs what was written within it at its own end."""
    batch = _Batch(os.getpid(), set())
    token = _BATCH.set(batch)
    try:
        yield
    finally:
        _BATCH.reset(token)
        for folder in sorted(batch.folders):
            _fsync_dir(folder)


_MKSTEMP_PART = re.compile(r"[A-Za-z0-9_]{6,12}\.part")


def remove_stale_parts(path: Path, *, max_age: float = STALE_AFTER) -> list[Path]:
    """Remove ``.<name>.*.part`` files next to *path* older than *max_age* seconds."""
    prefix = _part_prefix(path.name)
    removed = []
    now = time.time()
    try:
        with os.scandir(path.parent) as entries:
            for entry in entries:
                name = entry.name
                # What mkstemp makes (8 letters, digits or _ between
                # the two): a file of someone else's with a look-alike name stays.
                if not (name.startswith(prefix) and name.endswith(".part")
                        and _MKSTEMP_PART.fullmatch(name[len(prefix):])):
                    continue
                try:
                    if entry.is_file(follow_symlinks=False) and now - entry.stat(follow_symlinks=False).st_mtime > max_age:
                        os.unlink(entry.path)
                        removed.append(Path(entry.path))
                except OSError:
                    pass  # gone already (another run), or not ours to remove
    except OSError:
        pass  # the folder does not exist yet
    return removed


def _fsync_dir(folder: Path) -> None:
    # Make the rename itself durable (POSIX); not possible on Windows.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
