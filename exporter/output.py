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
the program's mark, which every file it writes has, where it writes it
(:func:`carries_mark`, read by the marks gate as the document it is: the
feeds' ``generator`` element, the books' ``dc:publisher``, the front page's
``generator`` meta in its head, the state, ledger and JSON Feed's
``"program"`` key, a comment segment or text chunk in covers, thumbnails and
icons; a comment, string or EXIF field that mentions it is no mark).  The stamp also records the digest
of the bytes written (:attr:`Stamp.digest`): a recorded file whose stat changed
is the program's while it holds those bytes (a folder restored from a cache,
``cp -a``, a checkout), and the user's once they changed, mark or not (a book
unzipped, edited and zipped again keeps its ``dc:publisher``); the mark
decides only for a file the state does not record, or records without a
digest (a state of the previous version).  A file that is the bytes to be
written cut short (:func:`cut_short`: a sync stopped half-way) holds nothing
of anyone's and is replaced.  A name alone is not enough: a
state left over from an output folder deleted since names files that the
user may have put there afresh (``rm -rf DIR; mkdir DIR; echo notes >
DIR/feed.atom``), and a book the user overwrote after a build is the user's.
So a command with no state (``epub``, ``feed``, ``epub -o FILE.epub``)
still replaces its own earlier output, and never a user's file that happens
to have the same name (a ``NAME.cover.jpg`` beside a book, a
``feed.json``); that is a :class:`NotOurFileError` (exit 1) naming the file
and saying how to go on.  :func:`remove_file` deletes only a file the state
records, still of its stamp or of its digest's bytes (the mark is not enough
there: a file the user edited may keep it, and an edit is never thrown away).  Size and modification
time alone do not tell an edit: ``touch -r``, ``cp -p``, ``rsync -t`` or an
editor that keeps the time give the old time back after a same-size edit or
a swap; the inode-change time cannot be set by any call and moves on every
write, and a file swapped in by a rename is another inode.

A run killed between creating the temporary file (``.<name>.<random>.part``,
hidden, and not matching ``*.epub`` or any feed name) and renaming it leaves
that file behind.  The writer holds a lock on its temporary file while it
writes (``flock``, released by the kernel when the process ends, however it
ends), so a leftover is told from a file another run is writing right now:
nobody holds it; and it is one of a run that recorded its token (:func:`run_token`):
a file of someone else's named so is of no recorded run.  The next write of the
same name removes such leftovers, and
``build`` sweeps its folders of all of them at the end (:func:`remove_leftovers`);
where there is no ``flock`` (Windows), only once they are :data:`STALE_AFTER`
seconds old.

**Never outside the output folder, even in a race.**  A folder below the
output folder is never reached by a path that a link could redirect: the
writer opens the output folder once, then each folder below it relative to
the one above, without following a link (:func:`_walk`), and makes, stats,
renames and unlinks names relative to the folder it holds open.  Checking
the folders with ``lstat`` and then writing by path would leave a window in
which ``OUT/archive`` swapped for a link to elsewhere carries the write or
the removal out of the folder the user named.
"""

from __future__ import annotations

import contextlib
import contextvars
import enum
import errno
import functools
import os
import re
import stat
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from .errors import OutputError
from .gates import files as gate_files
from .gates import marks as gate_marks
from .gates.marks import PROGRAM, marked  # noqa: F401 -- the writer's names for the mark, as before
from .gates.names import shell_quote
from .procs import ended_cleanly, stop_if_asked


class WriteStatus(str, enum.Enum):
    WRITTEN = "written"
    UNCHANGED = "unchanged"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_MODE = 0o666 & ~_umask()

try:
    import fcntl
except ImportError:  # not POSIX
    fcntl = None  # type: ignore[assignment]

#: Age (seconds) after which a temporary file of ours is a leftover of a killed run.  With
#: locks, any that nobody holds is one (a writer whose file is swept between its creation and
#: its lock sees it unlinked and makes another: _create_part).  Without them, writing one file
#: takes seconds, not minutes.
STALE_AFTER = 0.0 if fcntl is not None else 600.0

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
    when that would not fit beside eight random letters and ``.part``, ``.`` and a hash of the
    name (a book named by its user may be 250 bytes long)."""
    prefix = f".{name}."
    if name_fits(prefix + "x" * 8 + ".part"):
        return prefix
    import hashlib

    return "." + hashlib.blake2b(os.fsencode(name), digest_size=12).hexdigest() + ".long."


def same_content(path: Path, data: bytes, *, at: _Folder | None = None) -> bool:
    """True if *path* is a regular file holding *data* (read through the file gate: a named pipe
    there is never opened).  *at*: the folder of *path*, held open (:func:`_opened`)."""
    where, dir_fd = _where(Path(path), at)
    try:
        if gate_files.check_regular(where, dir_fd=dir_fd).st_size != len(data):
            return False
        return gate_files.read_bytes(where, len(data), dir_fd=dir_fd) == data
    except OSError:
        return False


def _shown(path: Path) -> str:
    """A path in a message: quoted as ``ls`` does (a newline cannot forge a line)."""
    return shell_quote(os.fsdecode(path))


def make_folders(folder: Path) -> None:
    """``mkdir -p`` *folder*; below the output folder, through :func:`_walk` (no link followed).
    :class:`OutputError` naming it if it cannot."""
    folder = Path(folder)
    with _opened(folder, folder, create=True):
        pass


def _make_path(folder: Path, shown: Path | None = None) -> None:
    """``mkdir -p`` *folder* by path, one level at a time: ``Path.mkdir(parents=True)`` and
    ``os.makedirs`` recurse once per level, and a path of a thousand levels is a RecursionError
    before the system says the name is too long.  :class:`OutputError` naming *shown* (else
    *folder*) if it cannot."""
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
        raise OutputError(f"cannot write to {_shown(shown or folder)}: {err.strerror or err}") from err


def check_target(path: Path, *, into: Path | None = None) -> None:
    """:class:`OutputError` unless *path* is nothing yet or a regular file: a folder, named pipe,
    socket or device where a file is to be written is the user's, and is left alone; so is a
    path that lies under a file.  *into*: *path* stands for any file the run writes into that
    folder (named so, not by a name the run may never write)."""
    subject = f"into {_shown(into)}" if into is not None else _shown(path)
    _check_way(path, path.parent, subject)
    what = gate_files.special_kind(path)
    if what is not None:
        raise OutputError(f"cannot write {_shown(path)}: it is {what}, not a regular file; left alone")
    for parent in path.parents:
        if not os.path.lexists(parent):
            continue
        if os.path.isdir(parent):
            break
        raise OutputError(f"cannot write {subject}: {_shown(parent)} is {gate_files.described(parent)}, "
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
        cwd = os.getcwd()
    except OSError:  # the current folder was removed
        return None
    names = _names_below(cwd, folder, whole)
    if names is not None:
        return given, names
    here = Path(cwd, folder)
    real = gate_files.real_path(whole)  # only then: it stats each level of the path
    try:
        return real, here.relative_to(real).parts
    except ValueError:
        return None


@functools.lru_cache(maxsize=1024)
def _names_below(cwd: str, folder: Path, whole: Path) -> tuple[str, ...] | None:
    """The names of the folders from *whole* down to *folder* (read from *cwd*), by their
    spelling alone, or None if it does not lie there so: once per folder of a run, not three
    times per file written (its ``pathlib`` work was a tenth of writing a small file)."""
    try:
        return Path(cwd, folder).relative_to(whole).parts
    except ValueError:
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


def _check_way(path: Path, folder: Path, subject: str | None = None) -> None:
    on_way = _link_on_way(folder)
    if on_way is not None:
        at, what = on_way
        raise OutputError(f"cannot write {subject or _shown(path)}: {_shown(at)} is {what}; left alone")


# -- Folders held open ---------------------------------------------------------------------------
#
# The check above (``lstat`` per level) says what is wrong, early and in words; it cannot be what
# keeps writes in the output folder: a folder swapped for a link between the check and the open,
# rename or unlink by path lets the call follow the link (a time-of-check-to-time-of-use race).
# POSIX.1-2008 added the *at calls for this: openat() exists "to enable opening files in
# directories other than the current working directory without exposure to race conditions"
# (POSIX open(), RATIONALE).  So each folder below the output folder is opened relative to the one
# above with O_NOFOLLOW | O_DIRECTORY (a link there fails: Linux open(2), ELOOP / ENOTDIR), and the
# names in it are made, stat-ed, renamed and unlinked relative to that descriptor (mkdirat(),
# fstatat(AT_SYMLINK_NOFOLLOW), renameat(), unlinkat()).  A folder swapped after it was opened is
# no longer on the way: the descriptor still names the folder that was opened.

#: The system has every *at call the walk needs (POSIX.1-2008; Python lists them in
#: ``os.supports_dir_fd``).  The program runs on POSIX systems, which all have them; elsewhere the
#: writer falls back to the ``lstat`` check and paths, which leaves the race open.
_AT = (all(f in os.supports_dir_fd for f in (os.open, os.mkdir, os.rename, os.unlink, os.rmdir, os.stat))
       and os.stat in os.supports_follow_symlinks and os.scandir in os.supports_fd
       and hasattr(os, "O_NOFOLLOW") and hasattr(os, "O_DIRECTORY"))

_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)


class _Folder(os.PathLike):
    """A folder the writer holds open: *path*, how messages name it, and *fd*, its descriptor
    (None without :data:`_AT`: names in it are then reached by path, as before)."""

    __slots__ = ("path", "fd")

    def __init__(self, path: Path, fd: int | None):
        self.path, self.fd = path, fd

    def __fspath__(self) -> str:
        return os.fspath(self.path)

    def name(self, name: str) -> str | Path:
        """What a call is given, with ``dir_fd=self.fd``, to reach *name* in this folder."""
        return name if self.fd is not None else self.path / name


def _where(path: Path, at: _Folder | None) -> tuple[str | Path, int | None]:
    """(what to give, ``dir_fd``) to reach the file *path* in *at*, or by path without *at*."""
    return (path, None) if at is None else (at.name(path.name), at.fd)


def _open_dir(name: str | Path, dir_fd: int | None = None, *, follow: bool = False) -> int:
    flags = _DIR_FLAGS | (0 if follow else os.O_NOFOLLOW)
    try:
        return os.open(name, flags, dir_fd=dir_fd)
    except PermissionError:
        # A folder its owner may write into but not list (mode 0300), which a write by path
        # takes: Linux's O_PATH (open(2)) gives a descriptor the *at calls take all the same.
        if not hasattr(os, "O_PATH"):
            raise
        return os.open(name, flags | os.O_PATH, dir_fd=dir_fd)


def _walk(root: Path, parts: tuple[str, ...], path: Path, folder: Path, create: bool) -> int | None:
    """A descriptor of the folder *root*/*parts*: *root* (the output folder, which may be a link:
    the user's choice) opened by its path, each of *parts* opened in the one before without
    following a link, and made first if missing when *create*; None if one is missing and not
    *create*.  A link or a file on the way is the :class:`OutputError` :func:`_check_way` gives
    (writing *path*); a folder that cannot be made one naming *folder*, as :func:`_make_path`."""
    if ".." in parts:  # openat("..") leaves the folder: refused whatever the check before said
        out = Path(root, *parts[:parts.index("..") + 1])
        raise OutputError(f"cannot write {_shown(path)}: {_shown(out)} is a way out of the output folder (..); "
                          "left alone")
    fd = _open_outside(root, create, folder)
    if fd is None:
        return None
    _check_pinned(fd, root)
    for i, part in enumerate(parts):
        try:
            try:
                below = _open_dir(part, fd)
            except FileNotFoundError:
                if not create:
                    os.close(fd)
                    return None
                try:
                    os.mkdir(part, dir_fd=fd)
                except FileExistsError:  # made meanwhile (another run): opened below as any other
                    pass
                below = _open_dir(part, fd)
        except OSError as err:
            os.close(fd)
            if err.errno in (errno.ENOTDIR, errno.ELOOP):
                here = Path(root, *parts[:i + 1])
                raise OutputError(f"cannot write {_shown(path)}: {_shown(here)} is "
                                  f"{gate_files.described(here)}; left alone") from err
            raise OutputError(f"cannot write to {_shown(folder)}: {err.strerror or err}") from err
        os.close(fd)
        fd = below
    return fd


def _check_pinned(fd: int, root: Path) -> None:
    """:class:`OutputError` (closing *fd*) unless the output folder *root*, opened as *fd*, is the
    folder the run began in (:data:`_ROOT_PINS`); the first one pins it when the run made it."""
    pins, current = _ROOT_PINS.get(), _ROOT.get()
    if pins is None or current is None:
        return
    st = os.fstat(fd)
    pin = pins.get(current[1])
    if pin is None:
        pins[current[1]] = (st.st_dev, st.st_ino)
    elif pin != (st.st_dev, st.st_ino):
        os.close(fd)
        raise OutputError(f"{_shown(root)} is another folder than when the run began (replaced, or a link to "
                          "another folder now): the run stops here, writing nothing there (run it again)")


def _open_outside(folder: Path, create: bool, shown: Path | None = None) -> int | None:
    """A descriptor of *folder*, reached by its path, links and all: the output folder itself, or
    a folder that is not below it (the state in the program's own folder, ``epub -o FILE.epub``),
    whose way is the caller's.  Made first if missing when *create*, else None if it cannot be
    opened; :class:`OutputError` naming *shown* (else *folder*) if it cannot be made or opened."""
    shown = shown or folder
    try:
        return _open_dir(folder, follow=True)
    except OSError as err:
        if not create:
            return None
        if not isinstance(err, FileNotFoundError):
            raise OutputError(f"cannot write to {_shown(shown)}: {err.strerror or err}") from err
    _make_path(folder, shown)
    try:
        return _open_dir(folder, follow=True)
    except OSError as err:
        raise OutputError(f"cannot write to {_shown(shown)}: {err.strerror or err}") from err


@contextlib.contextmanager
def _opened(folder: Path, path: Path, *, create: bool) -> Iterator[_Folder | None]:
    """Within the block, *folder* held open (:class:`_Folder`) for writing *path* in it, reached
    through :func:`_walk` below the output folder; made first if missing when *create*, else
    None if missing.  :class:`OutputError` as :func:`_check_way` and :func:`make_folders`."""
    if not _AT:
        _check_way(path, folder)
        if create:
            _make_path(folder)
        yield _Folder(folder, None) if create or os.path.isdir(folder) else None
        return
    found = _folders_below_root(folder)
    fd = _open_outside(folder, create) if found is None else _walk(*found, path, folder, create)
    if fd is None:
        yield None
        return
    try:
        yield _Folder(folder, fd)
    finally:
        os.close(fd)


class NotOurFileError(OutputError):
    """A file the program did not write is where it would write one: left alone."""


class Stamp(NamedTuple):
    """A file as the program left it: its :class:`exporter.gates.files.FileStamp` (size, both
    times, inode) and the digest of the bytes written, in the form the build state stores.  Made
    by :meth:`of` (or :meth:`at`) from a stat, by :func:`written_stamp` with the digest, and by
    :meth:`stored` from the build state; ``ctime_ns`` and ``ino`` -1: recorded by an earlier
    version, which kept size and time only.

    What else moves the inode-change time (``chmod``, a hard link such as ``cp -al`` or
    ``rsync --link-dest`` make) or the inode number (a file system that does not keep them
    across mounts, such as FAT on Linux) makes the file "changed since written" too (git's index,
    with its default ``core.trustctime``, pays the same): the file is then hashed, and is still
    the program's while it holds the bytes written (:attr:`digest`)."""

    size: int
    mtime_ns: int
    ctime_ns: int
    ino: int
    #: The bytes the program wrote (BLAKE2b, 16 bytes, hex: :func:`content_digest`), or "" when
    #: unknown (a stamp made from a stat alone, or recorded by an earlier version).  With it, a
    #: recorded file whose stat changed but whose bytes did not (restored from a cache, ``cp -a``,
    #: ``rsync -a``, a checkout) is still the program's, and one whose bytes changed is the
    #: user's even though it still carries the mark (a book unzipped, edited and zipped again
    #: keeps its ``dc:publisher``; a feed appended to keeps its ``generator``).
    digest: str = ""

    @classmethod
    def of(cls, st: os.stat_result) -> Stamp:
        """The stamp of the file *st* is the stat of (no digest: its bytes are not read)."""
        return cls(*gate_files.FileStamp.of(st))

    @classmethod
    def at(cls, path: Path) -> Stamp:
        """The stamp of the file at *path* (``os.stat``: OSError if there is none)."""
        return cls.of(os.stat(path))

    @classmethod
    def stored(cls, value: Sequence[int | str]) -> Stamp:
        """A stamp as the state holds it: ``[size, mtime_ns, ctime_ns, ino, digest]``, an earlier
        version's ``[size, mtime_ns, ctime_ns, ino]`` (digest unknown: the mark decides, as
        then), or ``[size, mtime_ns]``, which matches no file (:meth:`matches`): such a file is
        "changed since written" once (left alone if it does not carry the mark, never removed;
        a book is made again, and recorded with a whole stamp)."""
        if len(value) == 2:
            return cls(int(value[0]), int(value[1]), -1, -1)
        if len(value) == 5:
            return cls(int(value[0]), int(value[1]), int(value[2]), int(value[3]), str(value[4]))
        size, mtime_ns, ctime_ns, ino = value
        return cls(int(size), int(mtime_ns), int(ctime_ns), int(ino))

    def to_json(self) -> list[int | str]:
        """As the state holds it (see :meth:`stored`): the digest only when known."""
        return [*self[:4], self.digest] if self.digest else list(self[:4])

    @property
    def stat(self) -> gate_files.FileStamp:
        """The stat part alone (what a fingerprint of the file takes)."""
        return gate_files.FileStamp(*self[:4])

    def matches(self, st: os.stat_result) -> bool:
        """True if *st* is the stat of the very file this stamp was made from, unchanged."""
        return self.ino >= 0 and self[:4] == gate_files.FileStamp.of(st)


def content_digest(data: bytes) -> str:
    """The digest a :class:`Stamp` records of the bytes written (BLAKE2b, RFC 7693, 16 bytes:
    what telling a copy from an edit needs, and fast enough to take from every file written)."""
    import hashlib

    return hashlib.blake2b(data, digest_size=16).hexdigest()


@dataclass(frozen=True, slots=True)
class Records:
    """What the build state says an earlier run wrote into *folder*: name (relative, POSIX) ->
    :class:`Stamp` as it left the file (a file may be replaced if named here and still of that
    stamp; removed only then)."""

    folder: Path
    stamps: Mapping[str, Stamp]
    #: (device, inode) -> the stamp, with its digest, of a file this run wrote (or found to hold
    #: the bytes the state recorded), and its name below the output folder: the program's own
    #: while its stat is that one.  A forked book worker hands its entries back
    #: (:func:`take_known`, :func:`add_known`).
    known: dict[tuple[int, int], tuple[Stamp, str]] = field(default_factory=dict)
    #: Name -> (size, digest) of each file this run was about to write (noted before its rename):
    #: the program's own while the file holds those bytes, even if the run stopped between the
    #: rename and :attr:`known` (:func:`written_in_run`).
    pending: dict[str, tuple[int, str]] = field(default_factory=dict)
    #: The log each of those is appended to before its rename, on disk (the pipeline's
    #: :func:`exporter.state.intent_log_path`), or None: what a stop tells :attr:`pending`, a run
    #: killed outright (SIGKILL) cannot, and the next run reads it there.
    log: Path | None = None


# Set by the pipeline for the length of a run (and inherited by the forked
# book workers): every write_file call of the run sees it without each writer
# passing it along.
_RECORDS: contextvars.ContextVar[Records | None] = contextvars.ContextVar("digest_export_records", default=None)


# The run's output folder (as given, and absolute without following links): below it, no folder
# on the way to a file written or removed may be a symbolic link (see :func:`output_root`).
_ROOT: contextvars.ContextVar[tuple[Path, Path] | None] = contextvars.ContextVar("digest_export_root",
                                                                                 default=None)


#: Each output folder's (device, inode) when the run first entered it (None until the run makes
#: it), by its absolute path: the folder reached by its path at each write must still be that
#: one.  A deploy script that swaps DIR for a link to another release during the run sent the
#: rest of its writes, and its removals of stale books, into the folder the link led to.  Kept
#: for the whole run (the outermost :func:`output_root`), not taken again when a folder's run is
#: entered again (each book, in a worker): a swap before that would be pinned as the folder.
_ROOT_PINS: contextvars.ContextVar[dict[Path, tuple[int, int] | None] | None] = contextvars.ContextVar(
    "digest_export_root_pins", default=None)


@contextlib.contextmanager
def output_root(folder: Path) -> Iterator[None]:
    """Within the block, *folder* is the output folder: every file :func:`write_file` writes,
    :func:`remove_file` removes or :func:`make_folders` makes below it is reached through real
    folders only.  A symbolic link below it (``OUT/catalog -> ../ext``, or ``lnk/feed.atom`` in a
    state that anyone who can write the state may have written) would carry writes and removals
    out of the folder the user named; *folder* itself, and its parents, may be links (users keep
    an output folder on another disk that way)."""
    run_token()  # recorded before any worker is forked: they share it
    whole = Path(os.getcwd(), folder)
    token = _ROOT.set((Path(folder), whole))
    pins = _ROOT_PINS.get()
    pinned = _ROOT_PINS.set({}) if pins is None else None  # the run's outermost folder
    pins = _ROOT_PINS.get()
    if whole not in pins:
        try:
            st = os.stat(folder)
            pins[whole] = (st.st_dev, st.st_ino)
        except OSError:
            pins[whole] = None  # made by the run's first write, and pinned then
    try:
        yield
    finally:
        if pinned is not None:
            _ROOT_PINS.reset(pinned)
        _ROOT.reset(token)


@contextlib.contextmanager
def recorded(folder: Path, stamps: Mapping[str, Stamp] | Records) -> Iterator[None]:
    """Within the block, *folder* is the output folder (:func:`output_root`) and the files
    *stamps* names in it are the program's own.  Given :class:`Records` (:func:`records_for`), a
    folder's run is entered again with what it learnt so far (a selection's: before its books,
    while they are built, after)."""
    token = _RECORDS.set(stamps if isinstance(stamps, Records) else records_for(folder, stamps))
    try:
        with output_root(folder):
            yield
    finally:
        _RECORDS.reset(token)


def records_for(folder: Path, stamps: Mapping[str, Stamp], log: Path | None = None) -> Records:
    """The records of a run into *folder*, for :func:`recorded` (*log*: :attr:`Records.log`)."""
    return Records(gate_files.real_path(folder), dict(stamps), log=log)


def _recorded_stamp(path: Path) -> Stamp | None:
    records = _RECORDS.get()
    if records is None:
        return None
    try:
        name = gate_files.real_path(path).relative_to(records.folder).as_posix()
    except (ValueError, OSError):
        return None
    return records.stamps.get(name)


#: How many files :attr:`Records.known` holds at most (a bound, as for any cache: ten years of
#: weekly books, their covers and the catalog's pages are a few thousand).
_KNOWN_MAX = 1 << 16


def _know(path: Path, st: os.stat_result, digest: str) -> Stamp:
    """Remember that the file *path*, of stat *st*, holds the bytes of *digest* (within
    :func:`recorded`)."""
    stamp = Stamp.of(st)._replace(digest=digest)
    records = _RECORDS.get()
    if records is not None:
        if len(records.known) >= _KNOWN_MAX:
            records.known.clear()
        found = _folders_below_root(Path(path).parent)
        records.known[(st.st_dev, st.st_ino)] = (stamp, "/".join((*found[1], Path(path).name)) if found else "")
    return stamp


def _known(st: os.stat_result) -> Stamp | None:
    """The stamp, with its digest, of the file of stat *st* if this run wrote it (or hashed it)
    and it has not changed since."""
    records = _RECORDS.get()
    entry = records.known.get((st.st_dev, st.st_ino)) if records is not None else None
    return entry[0] if entry is not None and entry[0].matches(st) else None


def written_in_run() -> dict[str, Stamp]:
    """Name (below the output folder) -> stamp, with its digest, of every file this run wrote,
    found already written, or found holding the bytes the state recorded, and that is still as
    it was then: what a record of the run's writes holds."""
    records = _RECORDS.get()
    root = _ROOT.get()
    if records is None or root is None:
        return {}
    found = {}
    for stamp, name in list(records.known.values()):
        try:
            if name and stamp.matches(os.stat(Path(root[0], name), follow_symlinks=False)):
                found[name] = stamp
        except OSError:
            continue
    # A file the run renamed into place but did not get to know (a stop between the two, or a
    # worker ended before it sent back what it wrote): the program's while it holds its bytes.
    for name, (size, digest) in list(records.pending.items()):
        if name in found:
            continue
        path = Path(root[0], name)
        try:
            st = os.stat(path, follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and _holds_digest(path, Stamp(size, -1, -1, -1, digest), st):
            found[name] = Stamp.of(st)._replace(digest=digest)
    return found


@contextlib.contextmanager
def held_lock(path: Path, busy: str, error: type[Exception] = OutputError) -> Iterator[None]:
    """Hold an exclusive lock on the file *path* (made if missing) for the block; *error* with the
    message *busy* if another process holds it, or why the lock cannot be taken (an advisory ``flock``:
    released by the system however the holder ends, so a killed run leaves no stale lock)."""
    if fcntl is None:  # Windows: no advisory locks; runs must not overlap
        yield
        return
    path = Path(path)
    try:
        # Never through a symbolic link (it would create or lock a file anywhere: O_NOFOLLOW fails
        # with ELOOP), never waiting on a named pipe (O_NONBLOCK), and only a regular file is a lock.
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
                     | getattr(os, "O_NOCTTY", 0), 0o644)
    except OSError as err:
        check_lock_target(path, error)  # a link, a pipe, a folder: said in its words
        raise error(f"{_shown(path)}: cannot create the lock file: {err.strerror or err}") from err
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise error(f"{_shown(path)}: cannot create the lock file: it is {gate_files.kind_of(os.fstat(fd).st_mode)}, "
                        "not a regular file")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            raise error(busy) from err
        yield
    finally:
        os.close(fd)


def check_lock_target(path: Path, error: type[Exception] = OutputError) -> None:
    """*error* where :func:`held_lock` would refuse *path* as a lock file (a link, a named pipe,
    a folder), without making or taking it: for a dry run, which must refuse what the run does."""
    path = Path(path)
    if os.path.islink(path):
        raise error(f"{_shown(path)}: cannot create the lock file: a symbolic link, which the lock is never "
                    "taken through")
    kind = gate_files.special_kind(path)
    if kind:
        raise error(f"{_shown(path)}: cannot create the lock file: it is {kind}, not a regular file")


#: The main process's ``(pid, descriptor)`` of the journal its forked book workers append their
#: writes to (:func:`journaled`), or None.
_JOURNAL: tuple[int, int] | None = None


@contextlib.contextmanager
def journaled(records: Iterable[Records]) -> Iterator[None]:
    """Within the block, each file a forked worker is about to write is appended to a journal (an
    unlinked temporary file): its folder's records, its name, size and digest.  A worker tells
    the main process what it wrote only with a book's result, and a stop ends it at once: a book
    renamed into place whose result was not sent back was not recorded, and the next run took it
    for a file edited since.  When the block is left by an exception (a stop), the journal's
    entries become pending writes of the records they name (*records*, and those in force here),
    which :func:`written_in_run` takes where the file holds the bytes."""
    global _JOURNAL
    import tempfile

    outer = _JOURNAL
    with tempfile.TemporaryFile(prefix="digest-export-journal-") as fh:
        fd = fh.fileno()
        if fcntl is not None:
            # O_APPEND: each worker's entry lands whole at the end (POSIX write()).
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_APPEND)
        _JOURNAL = (os.getpid(), fd)
        try:
            yield
        except BaseException:
            _JOURNAL = outer
            try:
                _replay(fd, [*records, _RECORDS.get()])
            except Exception:  # noqa: BLE001 -- what stopped the run is what the user is told
                pass
            raise
        finally:
            _JOURNAL = outer


def _replay(fd: int, records: list[Records | None]) -> None:
    """The journal *fd*'s entries (each its length, then its pickle: the journal is this run's
    own unlinked file, never a document of the user's), as pending writes of the records they
    name."""
    import pickle

    by_folder = {str(r.folder): r for r in records if r is not None}
    chunks, at = [], 0
    while chunk := os.pread(fd, 1 << 20, at):
        chunks.append(chunk)
        at += len(chunk)
    data, at = b"".join(chunks), 0
    while at + 4 <= len(data):
        size = int.from_bytes(data[at:at + 4], "big")
        if at + 4 + size > len(data):
            break  # a worker killed outright in the middle of its entry
        folder, name, length, digest = pickle.loads(data[at + 4:at + 4 + size])
        at += 4 + size
        target = by_folder.get(folder)
        if target is not None:
            target.pending[name] = (length, digest)


def _log_intent(log: Path | None, name: str, size: int, digest: str) -> None:
    """Append the file *name* (*size* bytes of *digest*) to the run's *log* before its rename: one
    ``write()`` of one line, whole at the end of the file (O_APPEND), whichever process of the
    run writes it.  Where the log cannot be written, the run writes all the same (as before logs:
    a kill then leaves its files to the next run as files it does not know)."""
    if log is None:
        return
    import json

    # A line break first too: a log whose last line was cut short (a kill inside a write, bytes
    # of someone else's) would otherwise swallow this line into it.
    line = "\n" + json.dumps([name, size, digest], ensure_ascii=True, separators=(",", ":")) + "\n"
    try:
        # Never blocking: a FIFO at the log's name with no reader fails here (ENXIO), it does not
        # hold the run for good.
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
                     | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0), 0o600)
        try:
            # A regular file of one name: a hard link there (a state folder copied with cp -al or
            # rsync --link-dest) is a file elsewhere too, perhaps of the user's, never appended to.
            st = os.fstat(fd)
            if stat.S_ISREG(st.st_mode) and st.st_nlink == 1:
                os.write(fd, line.encode("ascii"))
        finally:
            os.close(fd)
    except OSError:
        pass


def remove_log(path: Path) -> None:
    """Remove the log of a run's writes at *path* (read as one by :func:`exporter.state.forget_intents`),
    a regular file only."""
    try:
        if stat.S_ISREG(os.lstat(path).st_mode):
            os.unlink(path)
    except OSError:
        pass


def _intend(path: Path, data: bytes) -> str | None:
    """Before *path* is replaced with *data* in a recorded run: noted as a pending write of the
    run (:attr:`Records.pending`; in a forked worker, in the main process's journal,
    :func:`journaled`).  The digest of *data*, or None outside a recorded run."""
    records = _RECORDS.get()
    if records is None:
        return None
    found = _folders_below_root(path.parent)
    if found is None:
        return None
    digest = content_digest(data)
    name = "/".join((*found[1], path.name))
    _log_intent(records.log, name, len(data), digest)
    journal = _JOURNAL
    if journal is not None and journal[0] != os.getpid():
        import pickle

        entry = pickle.dumps((str(records.folder), name, len(data), digest))
        os.write(journal[1], len(entry).to_bytes(4, "big") + entry)
    else:
        if len(records.pending) >= _KNOWN_MAX:
            records.pending.clear()
        records.pending[name] = (len(data), digest)
    return digest


def take_known() -> dict[tuple[int, int], tuple[Stamp, str]]:
    """What this process learnt of the files it wrote (in a forked book worker: handed back to
    the main process, which records the covers the worker wrote beside its books)."""
    records = _RECORDS.get()
    if records is None:
        return {}
    known = dict(records.known)
    records.known.clear()
    return known


def add_known(known: Mapping[tuple[int, int], tuple[Stamp, str]]) -> None:
    """Entries :func:`take_known` gave in a worker."""
    records = _RECORDS.get()
    if records is not None:
        records.known.update(known)


def _holds_digest(path: Path, stamp: Stamp, st: os.stat_result, at: _Folder | None = None) -> bool:
    """True if the file at *path* (of stat *st*) holds the bytes whose digest *stamp* records.
    Read through the file gate (in *at*, held open), at most the recorded size (another size is
    other bytes, and nothing is read), and only while the file does not change under the reading.
    Called only when the stat does not match the stamp: a run where nothing changed hashes
    nothing."""
    if not stamp.digest or st.st_size != stamp.size:
        return False
    known = _known(st)
    if known is not None:
        return known.digest == stamp.digest
    import hashlib

    where, dir_fd = _where(Path(path), at)
    h = hashlib.blake2b(digest_size=16)
    try:
        fh, before = gate_files.open_regular(where, stamp.size, dir_fd=dir_fd)
        with fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
            after = os.fstat(fh.fileno())
    except OSError:
        return False
    if gate_files.FileStamp.of(before) != gate_files.FileStamp.of(after) or h.hexdigest() != stamp.digest:
        return False
    _know(path, after, stamp.digest)
    return True


def holds(path: Path, stamp: Stamp, st: os.stat_result | None = None, *, at: _Folder | None = None) -> bool:
    """True if the file at *path* is still the one *stamp* records: the same stat, or (its stat
    changed: restored from a cache, copied with ``cp -a``, checked out) the same bytes by the
    recorded digest, hashed only then."""
    if st is None:
        where, dir_fd = _where(Path(path), at)
        try:
            st = os.stat(where, dir_fd=dir_fd, follow_symlinks=False)
        except OSError:
            return False
    return stamp.matches(st) or _holds_digest(path, stamp, st, at)


def written_stamp(path: Path) -> Stamp:
    """The stamp the build state records for *path* now: its stat, and the digest of its bytes
    when known (this run wrote them, or the state recorded them and the file is as recorded).
    OSError if there is no file."""
    st = os.stat(path)
    known = _known(st)
    if known is not None:
        return known
    earlier = _recorded_stamp(Path(path))
    if earlier is not None and earlier.matches(st):
        return earlier
    return Stamp.of(st)


#: The program's mark, where it writes it (read back by :mod:`exporter.gates.marks`).  Atom,
#: RSS and OPDS: ``<generator>``; the front page: ``<meta name="generator">``; the state, the
#: send ledger and JSON Feed (an extension object, JSON Feed 1.1 "Extensions"): a ``"program"``
#: key; JPEG covers: a COM segment (ITU T.81 B.2.4.5); PNG covers and icons: a ``tEXt`` chunk
#: (PNG 11.3.4.3); books: ``dc:publisher``.
_HEAD = 64 * 1024


def carries_mark(path: Path, *, at: _Folder | None = None) -> bool:
    """True if the regular file *path* carries the program's mark where the program writes it
    (the marks gate, :func:`exporter.gates.marks.carries`).  *at*: the folder of *path*, held
    open (:func:`_opened`)."""
    where, dir_fd = _where(Path(path), at)
    try:
        head = gate_files.read_head(where, _HEAD, dir_fd=dir_fd)
    except OSError:
        return False
    return gate_marks.carries(Path(path).name, head,
                              lambda: gate_files.open_regular(where, gate_files.BOOK_LIMIT, dir_fd=dir_fd)[0])




def _as_recorded(path: Path, st: os.stat_result, at: _Folder | None = None) -> bool | None:
    """True if the state records *path* and it is as recorded (:func:`holds`: its stamp, or the
    bytes of its digest); False if the state records it with a digest and the file holds other
    bytes (the user changed it: the mark does not decide); None if the state does not record it,
    or recorded it without a digest (an earlier version's state) and the stat changed."""
    stamp = _recorded_stamp(path)
    if stamp is None:
        return None
    if holds(path, stamp, st, at=at):
        return True
    return False if stamp.digest else None


def is_ours(path: Path, *, at: _Folder | None = None) -> bool:
    """True if the file at *path* is the program's: this run wrote it; or the state records it
    as written by an earlier run and it is still as that run left it (its :class:`Stamp`, or the
    bytes of its digest); or the state does not know its bytes and it carries the mark.  *at*:
    the folder of *path*, held open (:func:`_opened`)."""
    where, dir_fd = _where(Path(path), at)
    try:
        st = os.stat(where, dir_fd=dir_fd, follow_symlinks=False)
    except OSError:
        return False
    # A link is never written by the program (it writes regular files only), nor is a FIFO,
    # device or folder.  An empty file holds nothing to lose (``touch state.json``).
    if gate_files.kind_of(st.st_mode) is not None:
        return False
    if st.st_size == 0 or _known(st) is not None:
        return True
    as_recorded = _as_recorded(Path(path), st, at)
    if as_recorded is not None:
        return as_recorded
    return carries_mark(path, at=at)


def cut_short(path: Path, data: bytes, *, at: _Folder | None = None) -> bool:
    """True if the file at *path* is *data* cut short (a copy or sync stopped half-way): it holds
    nothing that *data* does not, so replacing it loses nothing of anyone's, whatever the state
    records of it."""
    where, dir_fd = _where(Path(path), at)
    try:
        if not 0 < gate_files.check_regular(where, dir_fd=dir_fd).st_size < len(data):
            return False
        return data.startswith(gate_files.read_bytes(where, len(data), dir_fd=dir_fd))
    except OSError:
        return False


def is_users(path: Path) -> bool:
    """True if *path* is a regular file that no record names and that does not carry the mark:
    the user's whatever bytes a run would write there (one the state records may be the
    program's cut short, which only the bytes to be written tell)."""
    path = Path(path)
    try:
        st = os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and _recorded_stamp(path) is None and not is_ours(path)


def may_write(path: Path, data: bytes) -> bool:
    """True if :func:`write_file` would write *data* at *path* (for callers that leave a file
    out with a warning rather than fail)."""
    try:
        check_target(Path(path))
    except OutputError:
        return False
    path = Path(path)
    return not os.path.lexists(path) or same_content(path, data) or is_ours(path) or cut_short(path, data)


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
    the program wrote it (or holding the bytes of its digest: :func:`holds`), and carrying the program's mark (every file it writes does): a stamp
    alone is only what the state says, and a state can lie (a hand edit that lists a user's
    file with its stamp).  True if deleted."""
    path = Path(path)
    try:
        # A folder on the way that is a link (or not a folder) is not below the output folder:
        # _walk refuses it, and the name is stat-ed and unlinked in the folder it opened.
        with _opened(path.parent, path, create=False) as at:
            if at is None:
                return False
            where, dir_fd = _where(path, at)
            st = os.stat(where, dir_fd=dir_fd, follow_symlinks=False)
            if gate_files.kind_of(st.st_mode) is None and holds(path, stamp, st, at=at) and carries_mark(path, at=at):
                # Between the mark and the unlink a file of the same name can be renamed in by
                # someone who may write in this folder (POSIX has no unlink-if-this-inode); never
                # one outside it.
                os.unlink(where, dir_fd=dir_fd)
                return True
    except (OSError, OutputError):
        pass
    return False


def remove_folder(folder: Path) -> bool:
    """Remove *folder* if it is empty (``rmdir``: a file of the user's in it keeps it), reached as
    :func:`remove_file` reaches a file: never a folder a link below the output folder leads to,
    nor the link itself.  True if removed."""
    folder = Path(folder)
    try:
        with _opened(folder.parent, folder, create=False) as at:
            if at is None:
                return False
            # unlinkat(AT_REMOVEDIR) of a name that is a link fails (ENOTDIR): it is not followed.
            os.rmdir(at.name(folder.name), dir_fd=at.fd)
            return True
    except (OSError, OutputError):
        return False


def check_state_target(path: Path) -> None:
    """Raise what :func:`write_file` with ``state=True`` would raise at *path* (a link, a file
    that is not a state of the program's): said before a build writes anything, not after its
    books and feeds, when it saves its state."""
    path = Path(path)
    try:
        st = os.stat(path, follow_symlinks=False)
    except OSError:
        return  # none yet, or what write_file will say in its words
    if stat.S_ISLNK(st.st_mode):
        raise NotOurFileError(not_ours_message(path))
    if not _a_state_or_empty(path, None, st):
        raise NotOurFileError(_not_a_state_message(path))


def _a_state_or_empty(where: str | Path, dir_fd: int | None, st: os.stat_result) -> bool:
    """Whether the file at *where* (stat *st*) is empty or a state of the program's."""
    if not stat.S_ISREG(st.st_mode):
        return False
    if not st.st_size:
        return True
    try:
        head = gate_files.read_head(where, _HEAD, dir_fd=dir_fd)
    except OSError:
        return False
    return gate_marks.is_state(
        head, lambda: gate_files.open_regular(where, gate_marks.MAX_JSON_BYTES + 1, dir_fd=dir_fd)[0])


def _not_a_state_message(path: Path) -> str:
    return (f"{_shown(path)} is not a build state digest-export wrote: left as it is (give a new file, or one "
            "an earlier build kept its state in)")


def check_writable(path: Path, *, by_bytes: bool = False) -> None:
    """Raise what :func:`write_file` would raise at *path* whatever the bytes: a name too long, a
    target that is not a file, a file the program did not write (a symbolic link is left to
    :func:`write_file`, which keeps one that already holds the bytes).  Called before books are
    handed to forked workers: the run then ends here, before any book is built, rather than
    through an error that a worker sends back while the others are still building.  *by_bytes*:
    a file the state records with a digest that its bytes no longer have, and that carries the
    mark, is left to the bytes to be written (the caller takes a refusal as an answer, not an
    error): a build killed before it saved its state wrote such files, and the same bytes
    written again are nothing to refuse."""
    path = Path(path)
    if not name_fits(path.name):
        raise OutputError(f"cannot write {_shown(path)}: the name is longer than {NAME_MAX} bytes")
    check_target(path)
    if os.path.lexists(path) and not os.path.islink(path) and not is_ours(path):
        stamp = _recorded_stamp(path)
        if not (by_bytes and stamp is not None and stamp.digest and carries_mark(path)):
            raise NotOurFileError(not_ours_message(path))


def write_file(path: Path, data: bytes, *, force: bool = False, ours: bool = False,
               earlier: tuple[bytes, ...] = (), state: bool = False) -> WriteStatus:
    """Atomically replace *path* with *data* unless it already holds them; :class:`NotOurFileError`
    if a file the program did not write is there.  *ours*: the caller knows the path is the
    program's own whatever it holds (a file in the program's own state folder); *earlier*: what
    earlier versions wrote there, without the mark (also the program's own); *state*: *data* is
    a state at a name the user gave (``--state``), which replaces only a state of the program's
    (not a book or feed of its, whatever the name)."""
    stop_if_asked()  # a Ctrl-C that landed in a finaliser stops the run here, before the next file
    path = Path(path)
    if not name_fits(path.name):
        raise OutputError(f"cannot write {_shown(path)}: the name is longer than {NAME_MAX} bytes")
    check_target(path)  # what is wrong, in words, before anything is made
    # Made first if missing: a folder that did not exist holds no file to refuse.
    with _opened(path.parent, path, create=True) as at:
        assert at is not None
        _remove_stale_parts_of(at, path.name)
        if not force and same_content(path, data, at=at):
            # A link to a file of these very bytes: nothing to write, and the link stays the user's.
            _remember(at, path, data)
            return WriteStatus.UNCHANGED
        _check_replaceable(path, at, ours=ours, earlier=earlier, data=data, state=state)
        digest = _intend(path, data)
        _replace(at, path, data)
        _remember(at, path, data, digest)
        batch = _BATCH.get()
        if batch is not None and batch.pid == os.getpid():
            batch.folders.add(path.parent)
        else:
            _fsync_dir(at)
    return WriteStatus.WRITTEN


def _remember(at: _Folder, path: Path, data: bytes, digest: str | None = None) -> None:
    """Within :func:`recorded`, for a file below the output folder (what the state records): the
    digest of *data*, now at *path*, for :func:`written_stamp`.  Taken from the bytes at hand,
    nothing read again; a file that is a link is not the program's and is not remembered."""
    if _RECORDS.get() is None or _folders_below_root(path.parent) is None:
        return
    where, dir_fd = _where(path, at)
    try:
        st = os.stat(where, dir_fd=dir_fd, follow_symlinks=False)
    except OSError:
        return
    if stat.S_ISREG(st.st_mode):
        _know(path, st, digest or content_digest(data))


def _check_replaceable(path: Path, at: _Folder, *, ours: bool, earlier: tuple[bytes, ...],
                       data: bytes = b"", state: bool = False) -> None:
    """:class:`NotOurFileError` unless the name of *path* in *at* is free or holds the program's
    own file (see :func:`write_file`); stat-ed in the folder held open, not by path."""
    where, dir_fd = _where(path, at)
    try:
        st = os.stat(where, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    except OSError as err:
        raise OutputError(f"cannot write {_shown(path)}: {err.strerror or err}") from err
    if stat.S_ISLNK(st.st_mode):
        # A symbolic link is never something the program wrote (it writes regular files only,
        # ``latest.epub`` included, a copy): replacing it would destroy the user's link.
        raise NotOurFileError(not_ours_message(path))
    if state and not ours:
        if not _a_state_or_empty(where, dir_fd, st):
            raise NotOurFileError(_not_a_state_message(path))
        return
    if not ours and not is_ours(path, at=at) and not cut_short(path, data, at=at) and not any(
            same_content(path, old, at=at) for old in earlier):
        raise NotOurFileError(not_ours_message(path))


#: Tries at a free temporary name before giving up (what ``tempfile.mkstemp`` allows: TMP_MAX).
_TMP_TRIES = 10000


def _part_names(path: Path) -> Iterator[str]:
    """Names for a temporary file of *path*: ``.NAME.<the run's token><3 random letters>.part``."""
    prefix = _part_prefix(path.name) + run_token()
    for _ in range(_TMP_TRIES):
        yield prefix + _random_letters(_PART_LETTERS - _TOKEN_LETTERS) + ".part"


def _random_letters(n: int) -> str:
    """*n* random characters of lower-case base32 (``a-z2-7``)."""
    import base64

    return base64.b32encode(os.urandom(5)).decode("ascii").lower()[:n]


#: A temporary file's name holds eight characters of base32 before ``.part``, the first five
#: the token of the run that made it.  Before a run makes its first one, its token is recorded
#: in the tokens folder (:func:`tokens_folder`), and the record goes when the run ends, having
#: renamed or removed each of them; a killed run's record stays.  A leftover is one whose run's
#: token is recorded there (and that no process holds, :func:`_remove_part`): a file of the
#: user's named ``.feed.atom.abcdefgh.part`` is never one, whatever it holds.
_PART_LETTERS, _TOKEN_LETTERS = 8, 5
#: The token of this run, shared with the workers it forks (chosen before them): [token, pid].
_TOKEN: list = []
#: A killed run's record is kept this long (seconds), then pruned: its leftovers are then left.
TOKEN_KEPT = 90 * 24 * 3600.0


def tokens_folder() -> Path:
    """Where the tokens of runs that may have left temporary files are recorded: beside the
    build states (``platformdirs.user_state_dir("digest-export")/runs``)."""
    import platformdirs

    return Path(platformdirs.user_state_dir("digest-export")) / "runs"


def run_token() -> str:
    """This run's token (see :data:`_PART_LETTERS`), recorded on first use.  Where it cannot be
    recorded (a state folder that cannot be written) the run writes all the same: its leftovers,
    if it is killed, are then never taken for leftovers."""
    if not _TOKEN:
        for _ in range(_TMP_TRIES):
            token = _random_letters(_TOKEN_LETTERS)
            try:
                folder = tokens_folder()
                folder.mkdir(parents=True, exist_ok=True)
                if not stat.S_ISDIR(os.lstat(folder).st_mode):
                    # A link there leads to a folder of someone else's, whose old files the
                    # pruning below would remove: the run is not recorded, as with no folder.
                    raise NotADirectoryError(errno.ENOTDIR, "not a folder", str(folder))
                os.close(os.open(folder / token, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            except FileExistsError:
                continue
            except OSError:
                _TOKEN[:] = [token, 0]
                break
            _TOKEN[:] = [token, os.getpid()]
            import atexit

            atexit.register(_forget_token, token, os.getpid())
            _prune_tokens(folder, token)
            break
    return _TOKEN[0] if _TOKEN else _random_letters(_TOKEN_LETTERS)


def _forget_token(token: str, pid: int) -> None:
    """Remove the record of *token* when the process *pid* that made it ends (a forked worker
    that ends through Python's exit never removes its parent's), unless the run stopped on a
    signal or ended its workers before they were done: a worker killed then may have left a
    temporary file, which the record lets a later run remove."""
    if os.getpid() != pid or not ended_cleanly():
        return
    try:
        os.unlink(tokens_folder() / token)
    except OSError:
        pass


#: The name of a run's record: its token.
_TOKEN_NAME = re.compile(f"[a-z2-7]{{{_TOKEN_LETTERS}}}")


def _prune_tokens(folder: Path, kept: str) -> None:
    """Remove the records of killed runs older than :data:`TOKEN_KEPT`: a regular file named as
    a token, in the folder opened without following a link; any other file there (one of the
    user's put there, whatever its age) stays."""
    now = time.time()
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return
    try:
        with os.scandir(fd) as entries:
            for entry in entries:
                with contextlib.suppress(OSError):
                    st = entry.stat(follow_symlinks=False)
                    if entry.name != kept and _TOKEN_NAME.fullmatch(entry.name) and stat.S_ISREG(st.st_mode) \
                            and now - st.st_mtime > TOKEN_KEPT:
                        os.unlink(entry.name, dir_fd=fd)
    except OSError:
        pass
    finally:
        os.close(fd)


#: The folders this process recorded under its run's token: (device, inode).
_RECORDED_FOLDERS: set[tuple[int, int]] = set()


def _folder_id(at: _Folder) -> tuple[int, int] | None:
    try:
        st = os.fstat(at.fd) if at.fd is not None else os.stat(at.path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _record_folder(at: _Folder) -> None:
    """Add the folder *at* to the record of this run's token before the run makes a temporary
    file there (one line, ``device inode``, appended once per folder): a leftover of the run is
    one in a folder it wrote into, never a file of that name elsewhere."""
    folder = _folder_id(at)
    token = run_token()
    if folder is None or folder in _RECORDED_FOLDERS or not _TOKEN or not _TOKEN[1]:
        return
    try:
        fd = os.open(tokens_folder() / token, os.O_WRONLY | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0))
        try:
            os.write(fd, f"{folder[0]} {folder[1]}\n".encode("ascii"))
        finally:
            os.close(fd)
    except OSError:
        return
    _RECORDED_FOLDERS.add(folder)


def _token_recorded(token: str, folder: tuple[int, int] | None = None) -> bool:
    """Whether *token* is a run's recorded in :func:`tokens_folder` (and the run wrote into the
    folder whose (device, inode) is *folder*, when given)."""
    try:
        data = gate_files.read_bytes(tokens_folder() / token, 1 << 20)
    except (OSError, ValueError):
        return False
    return folder is None or f"{folder[0]} {folder[1]}".encode("ascii") in data.split(b"\n")


def _create_part(at: _Folder, name: str) -> int:
    """The descriptor of the new temporary file *name* in *at*, created 0600 as ``mkstemp`` does,
    only if no file of that name exists (O_EXCL: with O_CREAT, a link at the name is not followed
    either, POSIX ``open()``: FileExistsError), and locked while it is written (see _remove_part);
    -1 when a sweep removed it between its creation and the lock (take another name)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    _record_folder(at)
    fd = os.open(at.name(name), flags, 0o600, dir_fd=at.fd)
    if fcntl is not None:
        try:  # held until the file is renamed or the process ends
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            pass  # a file system without locks: the age alone tells
        else:
            if os.fstat(fd).st_nlink == 0:
                os.close(fd)
                return -1
    return fd


def _replace(at: _Folder, path: Path, data: bytes) -> None:
    """Write *data* to a temporary file in *at*, sync it, and rename it over the name of *path*
    in *at* (renameat(): both names in the folder held open).  A link put at the name meanwhile
    is replaced itself, never followed (POSIX ``rename()``: the link named by *new* is removed)."""
    mode, owner = _kept_mode(at, path)
    for tmp in _part_names(path):
        # One block from before the file exists to its rename: SIGTERM and Ctrl-C unwind the
        # program through an exception raised between any two bytecodes (in a process with more
        # than one thread, blocking the signals in this one does not keep another thread from
        # taking them), so whatever is raised, once the name is chosen, removes the file by its
        # name.  Only O_EXCL raises FileExistsError here: a file that was there, never ours.
        fd = -1
        try:
            fd = _create_part(at, tmp)
            if fd < 0:
                continue
            with os.fdopen(fd, "wb") as fh:
                fd = -1  # closed by the file object from here on
                fh.write(data)
                fh.flush()
                # Created 0600; a published feed must be readable like any file the user creates.
                os.fchmod(fh.fileno(), mode)
                if owner is not None:
                    _keep_owner(fh.fileno(), owner)
                os.fsync(fh.fileno())
            os.replace(at.name(tmp), at.name(path.name), src_dir_fd=at.fd, dst_dir_fd=at.fd)
            return
        except FileExistsError:
            continue
        except BaseException as err:
            if fd >= 0:
                os.close(fd)
            try:
                os.unlink(at.name(tmp), dir_fd=at.fd)
            except OSError:
                pass  # never created, or renamed already
            if isinstance(err, OSError):
                raise OutputError(f"cannot write {_shown(path)}: {err.strerror or err}") from err
            raise
    raise OutputError(f"cannot write {_shown(path)}: no free temporary name in {_shown(path.parent)}")


def _kept_mode(at: _Folder, path: Path) -> tuple[int, tuple[int, int] | None]:
    """The permission bits and the owner and group of the regular file the write replaces, else
    the bits a file the user creates gets (the umask's) and None: a ledger the user made private
    (``chmod 600``), or a feed made readable to the web server's group alone (``chgrp www-data``,
    ``chmod 640``), stays so when rewritten, as editors and ``rsync -a`` keep them (set-user-ID
    and sticky bits are not kept: nothing the program writes is run)."""
    try:
        st = os.stat(at.name(path.name), dir_fd=at.fd, follow_symlinks=False)
    except OSError:
        return _MODE, None
    if not stat.S_ISREG(st.st_mode):
        return _MODE, None
    return stat.S_IMODE(st.st_mode) & 0o777, (st.st_uid, st.st_gid)


def _keep_owner(fd: int, owner: tuple[int, int]) -> None:
    """Give the new file *fd* the owner and group of the one it replaces, as far as this process
    may (its group, when the user is in it; its owner only as root): where it may not, the new
    file is the user's, as any file the user writes."""
    st = os.fstat(fd)
    uid, gid = owner
    if (st.st_uid, st.st_gid) == (uid, gid):
        return
    try:
        os.fchown(fd, uid if os.geteuid() == 0 else -1, gid)
    except OSError:
        pass


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


@contextlib.contextmanager
def synced_later() -> Iterator[set[Path]]:
    """As :func:`synced_at_end`, but the folders are handed to the caller (the set the block
    yields), not synced: a forked book worker writes each book's files so, and the run syncs
    each folder once, with :func:`sync_folders`, when the workers are done (see
    ``books.workers.make_batches``).  The argument of :func:`synced_at_end` holds as long as the
    folders are synced before anything records the files."""
    batch = _Batch(os.getpid(), set())
    token = _BATCH.set(batch)
    try:
        yield batch.folders
    finally:
        _BATCH.reset(token)


def sync_folders(folders: Iterable[Path]) -> None:
    """Make the renames in each of *folders* durable (what :func:`synced_later` left to do)."""
    for folder in sorted(set(folders)):
        _fsync_dir(folder)


#: The random part of a temporary file's name: eight characters of this version's lower-case
#: base32 (``a-z2-7``, :func:`_part_names`), then ``.part``.
_MKSTEMP_PART = re.compile(r"[a-z2-7]{8}\.part")


def _part_cut(name: str, folder: tuple[int, int] | None = None) -> int:
    """Where the random part of the temporary file *name* starts (after its prefix,
    :func:`_part_prefix`), or 0 when *name* is not of the writer's form or not of a recorded
    run's (:data:`_PART_LETTERS`; one that wrote into *folder*, its (device, inode), when
    given): a file of someone else's with a look-alike name stays."""
    if not (name.startswith(".") and name.endswith(".part")):
        return 0
    cut = name.rfind(".", 0, len(name) - len(".part")) + 1
    if not (cut > 1 and _MKSTEMP_PART.fullmatch(name[cut:])):
        return 0
    return cut if _token_recorded(name[cut:cut + _TOKEN_LETTERS], folder) else 0


def written_for(name: str) -> str | None:
    """The name the temporary file *name* was written for (``.feed.rss.abcdefgh.part`` ->
    ``feed.rss``), or None when *name* is not of the writer's form (or of a name too long,
    written through its hash)."""
    cut = _part_cut(name)
    if cut <= 2 or name[:cut].endswith(".long."):
        return None
    return name[1:cut - 1]


def remove_stale_parts(path: Path, *, max_age: float = STALE_AFTER) -> list[Path]:
    """Remove ``.<name>.*.part`` files next to *path* older than *max_age* seconds (in the folder
    reached as :func:`write_file` reaches it: none through a link below the output folder)."""
    path = Path(path)
    try:
        with _opened(path.parent, path, create=False) as at:
            return [] if at is None else _remove_stale_parts_in(at, [path.name], max_age)
    except OutputError:
        return []


def remove_leftover_parts(folder: Path) -> list[Path]:
    """Remove every temporary file in *folder* that a run left, this one's too (a forked worker
    of it killed while it wrote: no process holds the file any more), as the next run would
    remove each before writing its name; return them."""
    try:
        with _opened(Path(folder), Path(folder) / "x", create=False) as at:
            if at is None:
                return []
            stale = _stale_parts(at, STALE_AFTER)
            return [Path(at.path, part) for parts in stale.values() for part in sorted(parts)
                    if _remove_part(at, part, STALE_AFTER)]
    except OutputError:
        return []


def _remove_stale_parts_in(at: _Folder, names: Iterable[str], max_age: float,
                           kinds: tuple[str, ...] = ()) -> list[Path]:
    """Remove the stale temporary files in *at* written for any of *names*, or for any name
    ending in one of *kinds* (a name too long for the writer's pattern is written through its
    hash, ``.long.``: only the program's own names are that long and written)."""
    stale = _stale_parts(at, max_age)
    prefixes = {_part_prefix(name) for name in names}
    parts = [part for prefix, found in stale.items()
             if prefix in prefixes or (kinds and (prefix.endswith(".long.") or prefix[1:-1].endswith(kinds)))
             for part in found]
    return [Path(at.path, part) for part in sorted(parts) if _remove_part(at, part, max_age)]


def _stale_parts(at: _Folder, max_age: float) -> dict[str, list[str]]:
    """The temporary files in *at* older than *max_age* seconds, by the prefix of the name they
    were written for (:func:`_part_prefix`).  Listed through the descriptor (fdopendir()): the very
    folder that was opened, whatever its path leads to now."""
    found: dict[str, list[str]] = {}
    now = time.time()
    folder = _folder_id(at)
    if folder is None:
        return found
    try:
        with os.scandir(at.fd if at.fd is not None else at.path) as entries:
            for entry in entries:
                part = entry.name
                cut = _part_cut(part, folder)
                if not cut:
                    continue
                try:
                    if entry.is_file(follow_symlinks=False) and now - entry.stat(follow_symlinks=False).st_mtime >= max_age:
                        found.setdefault(part[:cut], []).append(part)
                except OSError:
                    pass  # gone already (another run)
    except OSError:
        pass  # a folder that cannot be listed (opened with O_PATH)
    return found


def _remove_part(at: _Folder, part: str, max_age: float) -> bool:
    """Unlink the temporary file *part* in *at* (unlinkat()) if it is still one older than
    *max_age* seconds that no process holds locked (its writer ended without renaming it)."""
    try:
        st = os.stat(at.name(part), dir_fd=at.fd, follow_symlinks=False)
        # One name only: the writer's file, made with O_EXCL, has no other (a hard link of a
        # file of the user's named so is theirs).
        if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1 or time.time() - st.st_mtime < max_age:
            return False
        if fcntl is None:
            os.unlink(at.name(part), dir_fd=at.fd)
            return True
        fd = os.open(at.name(part), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=at.fd)
        try:
            held = os.fstat(fd)
            if (held.st_dev, held.st_ino) != (st.st_dev, st.st_ino) or held.st_nlink != 1:
                return False  # another file at the name meanwhile, or one linked there since
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # BlockingIOError: a run writes it now
            os.unlink(at.name(part), dir_fd=at.fd)
            return True
        finally:
            os.close(fd)
    except OSError:
        pass  # gone already (another run), held by its writer, or not ours to remove
    return False


def remove_leftovers(folder: Path, names: Iterable[str], kinds: tuple[str, ...] = ()) -> list[Path]:
    """Remove every temporary file of ours in *folder* that a killed run left for one of *names*
    (the names of that folder that a run wrote or writes: a book a later run does not write
    again would otherwise keep its leftover forever), or for any name ending in one of *kinds*
    (the suffixes of the files a build writes: a run killed with its log lost left one for a name
    no record holds), as :func:`_remove_part` tells them; return them.  A look-alike for a name
    of another kind, ``.notes.abcdefgh.part``, is the user's."""
    try:
        with _opened(Path(folder), Path(folder), create=False) as at:
            return [] if at is None else _remove_stale_parts_in(at, names, STALE_AFTER, kinds)
    except OutputError:
        return []


#: (process, device, inode) of a folder a run writes into -> when it was listed and its stale
#: temporary files by prefix: listing the folder at every write made a run that writes n files
#: into one folder (a decade of books ``--by day``) read n * n names.
_STALE: dict[tuple[int, int, int], tuple[float, dict[str, list[str]]]] = {}
#: How long a listing serves: a temporary file goes stale in :data:`STALE_AFTER` (unless held), so
#: one that a killed run left after the listing is not missed for long.
_STALE_LISTING_SECONDS = 60.0


def _remove_stale_parts_of(at: _Folder, name: str) -> None:
    """What :func:`remove_stale_parts` does for *name* before it is written; within a run
    (:func:`output_root`) the folder is listed once a minute, not at every write."""
    if at.fd is None or _ROOT.get() is None:
        _remove_stale_parts_in(at, [name], STALE_AFTER)
        return
    try:
        st = os.fstat(at.fd)
    except OSError:
        return
    key, now = (os.getpid(), st.st_dev, st.st_ino), time.monotonic()
    listed = _STALE.get(key)
    if listed is None or now - listed[0] > _STALE_LISTING_SECONDS:
        if len(_STALE) >= _KNOWN_MAX:
            _STALE.clear()
        listed = _STALE[key] = (now, _stale_parts(at, STALE_AFTER))
    for part in listed[1].pop(_part_prefix(name), ()):
        _remove_part(at, part, STALE_AFTER)


def _fsync_dir(folder: Path | _Folder) -> None:
    """Make the renames in *folder* durable (POSIX; not possible on Windows): through the
    descriptor :func:`write_file` holds, or the folder reached again as it reaches it."""
    if isinstance(folder, _Folder) and folder.fd is not None:
        try:
            os.fsync(folder.fd)
        except OSError:
            pass  # O_PATH: not syncable
        return
    try:
        with _opened(Path(folder), Path(folder), create=False) as at:
            if at is None:
                return
            fd = at.fd if at.fd is not None else os.open(at.path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                if at.fd is None:
                    os.close(fd)
    except (OSError, OutputError):
        pass  # gone, or a link on the way now: its renames are not the output folder's
