"""Opening files: regular files only, never blocking, with a size cap per kind.

A named pipe (FIFO) where a digest, a template, a config or a book is
expected would make a plain ``open()`` wait forever for a writer, and a
device (``/dev/zero``) would be read without end: a cron job must never hang
on a stray file.  So every file the program reads goes through
:func:`read_bytes` (or :func:`open_regular`), which

1. refuses, from ``stat``, anything that is not a regular file, before
   opening it (opening a device can have effects of its own: a tape rewinds);
2. opens with ``O_NONBLOCK`` (opening a FIFO for reading returns at once
   instead of waiting for a writer, POSIX ``open()``) and ``O_NOCTTY``;
3. checks again on the open descriptor with ``fstat``: the name may have
   been replaced by a FIFO between 1 and 2;
4. refuses a file over the cap of its kind before reading it, and reads at
   most cap + 1 bytes whatever the size said (a file that grows meanwhile).

Every refusal is an :class:`OSError` (so callers that already report
"cannot read PATH: reason" report these too) whose ``strerror`` is a
sentence for the user.

:func:`walk` lists the files of an input folder: symbolic links to folders
are followed (an archive often links a year in), a folder reached twice is
walked once, hidden names are skipped, and nesting deeper than
:data:`MAX_DEPTH` is reported, not recursed into (a link loop through
different paths, or a generated tree, cannot exhaust the stack or the time).
"""

from __future__ import annotations

import functools
import errno
import io
import os
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, NamedTuple

MB = 1024 * 1024

#: Size caps per kind of file.  A year of daily digests is ~5 MB; a digest
#: file 50 times that is not a digest.
DIGEST_LIMIT = 256 * MB
#: A template or the CSS beside it.
TEMPLATE_LIMIT = 4 * MB
#: ``digest-export.toml``.
CONFIG_LIMIT = 1 * MB
#: The build state and the send ledger (ten years of books: ~2 MB).
STATE_LIMIT = 64 * MB
#: An EPUB book (opened as a zip: members are capped by their reader).
BOOK_LIMIT = 2048 * MB
#: A local thumbnail.
IMAGE_LIMIT = 64 * MB
#: A file compared with what would be written over it.
OUTPUT_LIMIT = BOOK_LIMIT

class FileStamp(NamedTuple):
    """A file by its stat, as the program read or left it: what git's index compares to tell
    an unchanged file without reading it (git's ``read-cache.c``, ``ie_match_stat``).  The
    modification time alone can be given back (``touch -r``, ``cp -p``, ``rsync -t``) after an
    edit of the same size; the inode-change time cannot be set by any call and moves on every
    write, chmod or rename, and a file replaced by a rename (as editors save) is a new inode.
    The reader stamps its inputs with it (standard input: ``(0, -1, -1, 0)``), the writer its
    outputs (:class:`exporter.output.Stamp`, which adds the state's stored form)."""

    size: int
    mtime_ns: int
    ctime_ns: int
    ino: int

    @classmethod
    def of(cls, st: os.stat_result) -> FileStamp:
        return cls(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


#: Folders nested deeper than this below an input folder are not walked.
MAX_DEPTH = 64

_O_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)


class NotRegularFile(OSError):
    """The path names a FIFO, socket, device or folder where a file is expected."""


class FileTooLarge(OSError):
    """The file is over the size cap of its kind."""


class WouldWait(OSError):
    """The file, regular by its ``stat``, has no data to give without waiting (a kernel file)."""


class _NeverWaits(io.FileIO):
    """A descriptor opened with ``O_NONBLOCK``: a read that would wait (POSIX ``read()``,
    ``EAGAIN``, which ``FileIO`` returns as None) is :class:`WouldWait`, never a wait."""

    def __init__(self, fd: int, path: str | os.PathLike[str]):
        super().__init__(fd, "rb", closefd=True)
        self.path = os.fspath(path)

    def readinto(self, buffer) -> int:  # type: ignore[override]
        n = super().readinto(buffer)
        if n is None:
            raise WouldWait(errno.EAGAIN, "it has no data to give without waiting (a kernel or device file "
                            "that calls itself regular), not a file to read", self.path)
        return n


def kind_of(mode: int) -> str | None:
    """What a file of *mode* is, in words, if it is not a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    return "not a regular file"


def _refuse_special(mode: int, path: str | os.PathLike[str]) -> None:
    what = kind_of(mode)
    if what is not None:
        err = errno.EISDIR if stat.S_ISDIR(mode) else errno.EINVAL
        # *mode* is of what the path leads to; a link is named as a link (the user sees a name,
        # not a folder, in a listing), as :func:`special_kind` does.
        if os.path.islink(path):
            what = f"a symbolic link to {what}"
        raise NotRegularFile(err, f"{what}, not a regular file", os.fspath(path))


def _too_large(path: str | os.PathLike[str], limit: int) -> FileTooLarge:
    return FileTooLarge(errno.EFBIG, f"larger than {_size(limit)}, the limit for this kind of file",
                        os.fspath(path))


def _size(n: int) -> str:
    return f"{n // MB} MB" if n >= MB else f"{n} bytes"


def would_wait(path: str | os.PathLike[str]) -> bool:
    """Whether reading the regular file *path* would wait for data (``poll()`` says a file of a
    disk is always readable; a kernel file such as ``/proc/kmsg`` is not until it has data).
    Nothing is read: a command line can be judged before any work without taking the data."""
    import select

    try:
        fd = os.open(path, _O_FLAGS)
    except OSError:
        return False  # the read that follows says why
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode) or not hasattr(select, "poll"):
            return False
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return not poller.poll(0)
    finally:
        os.close(fd)


def check_regular(path: str | os.PathLike[str], *, dir_fd: int | None = None) -> os.stat_result:
    """``os.stat(path)`` of a regular file; :class:`NotRegularFile` for anything else.  *dir_fd*:
    *path* is a name in that open folder (POSIX ``fstatat()``), as the writer reaches its files."""
    st = os.stat(path, dir_fd=dir_fd)
    _refuse_special(st.st_mode, path)
    return st


#: What a symbolic link that leads back to itself is, in words (``ELOOP``, POSIX ``stat()``).
LINK_LOOP = "a symbolic link loop (too many levels of links)"


def special_kind(path: str | os.PathLike[str]) -> str | None:
    """What *path* is if it exists and is not a regular file (links followed), else None: a
    folder, FIFO, socket or device, or :data:`LINK_LOOP` (a link, or a folder on its way, that
    loops: the one place such a loop is classified, for inputs, outputs and folder scans alike).
    A link that leads to one of these says so (``a symbolic link to a folder``): the user looks
    for a name that is a link, not for a folder.  A link to nothing is None here: see
    :func:`broken_link`."""
    try:
        st = os.lstat(path)
    except OSError as err:
        return LINK_LOOP if err.errno == errno.ELOOP else None
    if stat.S_ISLNK(st.st_mode):
        try:
            st = os.stat(path)
        except OSError as err:
            return LINK_LOOP if err.errno == errno.ELOOP else None
        what = kind_of(st.st_mode)
        return None if what is None else f"a symbolic link to {what}"
    return kind_of(st.st_mode)


def real_path(path: str | os.PathLike[str]) -> Path:
    """*path* made absolute with every symbolic link followed, as far as they lead: the one way
    the program resolves a path.  ``Path.resolve()`` raises ``RuntimeError`` on a link loop before
    Python 3.13 (a traceback where a message is due); a loop here is left unresolved, and the
    gate's checks (:func:`special_kind`, :func:`check_regular`) say what it is where it matters."""
    return Path(os.path.realpath(os.fspath(path)))


def broken_link(path: str | os.PathLike[str]) -> str | None:
    """What is wrong with *path* if it is a symbolic link that leads to no file, else None."""
    try:
        if not stat.S_ISLNK(os.lstat(path).st_mode):
            return None
    except OSError:  # nothing there at all
        return None
    try:
        os.stat(path)
    except OSError as err:
        if err.errno == errno.ELOOP:
            return LINK_LOOP
        if err.errno in (errno.ENOENT, errno.ENOTDIR):
            return "a symbolic link to a file that does not exist"
        return f"a symbolic link that cannot be followed ({err.strerror or err})"
    return None


def described(path: str | os.PathLike[str]) -> str:
    """What *path* is, in words, for a message that says why it cannot be used as it is: a
    symbolic link says so first (``a symbolic link to nothing``, ``a symbolic link to a character
    device``), as a link is never one of the program's files; else its kind, or ``a regular
    file``, or ``nothing``."""
    try:
        st = os.lstat(path)
    except OSError as err:
        return LINK_LOOP if err.errno == errno.ELOOP else "nothing"
    if stat.S_ISLNK(st.st_mode):
        broken = broken_link(path)
        if broken is not None:
            return "a symbolic link to nothing" if "does not exist" in broken else broken
        return special_kind(path) or "a symbolic link to a regular file"
    return kind_of(st.st_mode) or "a regular file"


def link_on_way(root: str | os.PathLike[str], parts: tuple[str, ...]) -> tuple[Path, str] | None:
    """The first folder of *root*/*parts* (each of *parts* a folder below *root*) that is a
    symbolic link, or not a folder, or ``..``: (that path, what it is), else None.  *root* itself
    may be a link (the user's own choice of output folder); below it, ``lstat`` component by
    component: a link there (``OUT/catalog -> ../ext``) would make writes and removals land
    outside the folder the user named.  A component that does not exist yet ends the check (the
    writer makes it, as a folder)."""
    here = Path(root)
    if ".." in parts:  # whether or not the folders before it exist yet
        return Path(root, *parts[:parts.index("..") + 1]), "a way out of the output folder (..)"
    for part in parts:
        here = here / part
        try:
            st = os.lstat(here)
        except FileNotFoundError:
            return None
        except OSError as err:
            return here, LINK_LOOP if err.errno == errno.ELOOP else f"not usable ({err.strerror or err})"
        if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
            return here, described(here)
    return None


def not_a_file(path: str | os.PathLike[str]) -> str | None:
    """Why *path* is not a regular file, in words (links followed; nothing opened), or None
    if it is one: what a listing of the output folder says of a ``*.epub`` that is a FIFO, a
    device, a folder, a link to nothing or a link loop."""
    what = special_kind(path)
    if what is not None:
        return f"{what}, not a regular file"
    broken = broken_link(path)
    if broken is not None:
        return broken
    try:
        os.stat(path)
    except OSError as err:
        return f"cannot be read: {err.strerror or err}"
    return None


def open_regular(path: str | os.PathLike[str], limit: int, *,
                 dir_fd: int | None = None) -> tuple[BinaryIO, os.stat_result]:
    """The open file *path* (binary, read-only) and its ``fstat``, if it is a regular file of at
    most *limit* bytes; the caller closes it.  *dir_fd*: see :func:`check_regular`."""
    check_regular(path, dir_fd=dir_fd)
    fd = os.open(path, _O_FLAGS, dir_fd=dir_fd)
    try:
        st = os.fstat(fd)
        _refuse_special(st.st_mode, path)
        if st.st_size > limit:
            raise _too_large(path, limit)
        # Left non-blocking: a file of a disk ignores O_NONBLOCK, but a kernel file that stat
        # calls regular (``/proc/kmsg``) would wait for data for good; read without blocking,
        # it is refused instead (:class:`_NeverWaits`).
        return io.BufferedReader(_NeverWaits(fd, path)), st
    except BaseException:
        os.close(fd)
        raise


def read_bytes(path: str | os.PathLike[str], limit: int, *, dir_fd: int | None = None) -> bytes:
    """The bytes of the regular file *path*, at most *limit* of them (else :class:`FileTooLarge`)."""
    return read_with_stat(path, limit, dir_fd=dir_fd)[0]


def read_with_stat(path: str | os.PathLike[str], limit: int, *,
                   dir_fd: int | None = None) -> tuple[bytes, os.stat_result]:
    """(bytes, fstat) of the regular file *path*: the stat of the file that was read."""
    fh, st = open_regular(path, limit, dir_fd=dir_fd)
    # Read as much as the file holds (and one byte more, to see it end), never a buffer of the
    # limit's size: ``read(limit + 1)`` allocates it first, and a limit of 100 GB is a
    # MemoryError for a book of 100 KB.  A file that grows meanwhile is read on, to the limit.
    pieces, total, want = [], 0, min(limit, st.st_size) + 1
    with fh:
        while piece := fh.read(min(want, limit + 1 - total)):
            pieces.append(piece)
            total += len(piece)
            if total > limit:
                raise _too_large(path, limit)
            want = MB
    return (pieces[0] if len(pieces) == 1 else b"".join(pieces)), st


def read_head(path: str | os.PathLike[str], n: int, *, dir_fd: int | None = None) -> bytes:
    """The first *n* bytes of the regular file *path* (whatever its size)."""
    fh, _ = open_regular(path, BOOK_LIMIT * 1024, dir_fd=dir_fd)
    with fh:
        return fh.read(n)


def read_text_file(path: str | os.PathLike[str], limit: int) -> str:
    """A file the program itself wrote or ships (templates, CSS): strict UTF-8, BOM dropped."""
    data = read_bytes(path, limit)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise OSError(errno.EILSEQ, f"not UTF-8 (byte 0x{data[err.start]:02x} at offset {err.start})",
                      os.fspath(path)) from None


@dataclass(frozen=True, slots=True)
class Skipped:
    """Something :func:`walk` did not list: a special file, or a folder nested too deep."""

    path: Path
    reason: str
    #: True when input may be missing because of it (a folder not walked).
    is_error: bool


@dataclass(slots=True)
class Walk:
    """The files :func:`walk` found (in a stable order) and what it skipped."""

    files: list[Path] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    #: The walk stopped at its *max_entries* (see :func:`walk`).
    stopped: bool = False


def _hidden(name: str) -> bool:
    return name.startswith(".")


#: The kernel's own file systems: what they list is the system's state, never a digest, and
#: their links lead anywhere (``/proc/PID/root`` and ``cwd`` are the whole tree again: a digest
#: folder holding a link to ``/proc/self/task`` walked every file on the machine).
_KERNEL_FOLDERS = ("/proc", "/sys")


@functools.cache
def _kernel_devices() -> frozenset[int]:
    devices = set()
    for folder in _KERNEL_FOLDERS:
        try:
            st, above = os.stat(folder), os.stat(os.path.dirname(folder))
        except OSError:
            continue
        if st.st_dev != above.st_dev:  # mounted there (procfs, sysfs), not a folder of that name
            devices.add(st.st_dev)
    return frozenset(devices)


def _on_kernel_fs(path: str) -> bool:
    """Whether *path* (followed) is on the kernel's file systems (``/proc``, ``/sys``)."""
    try:
        return os.stat(path).st_dev in _kernel_devices()
    except OSError:
        return False


#: Links followed at most (Linux's own limit, path_resolution(7): 40).
_MAX_HOPS = 40


def _through_kernel_fs(path: str) -> bool:
    """Whether resolving *path* passes through the kernel's file systems on its way, wherever it
    ends: ``/proc/self/root`` ends at ``/`` (a magic link, proc(5)), which is no kernel folder, but
    its way is.  Resolved a component at a time, as the kernel does (path_resolution(7))."""
    if not _kernel_devices():
        return False
    parts = os.path.abspath(path).split("/")[::-1]
    current, hops = "/", 0
    while parts:
        name = parts.pop()
        if name in ("", "."):
            continue
        if name == "..":
            current = os.path.dirname(current)
            continue
        if _on_kernel_fs(current):
            return True
        candidate = os.path.join(current, name)
        try:
            st = os.lstat(candidate)
            if not stat.S_ISLNK(st.st_mode):
                current = candidate
                continue
            hops += 1
            target = os.readlink(candidate)
        except OSError:
            return False
        if hops > _MAX_HOPS:
            return False
        if target.startswith("/"):
            current = "/"
        parts.extend(target.split("/")[::-1])
    return _on_kernel_fs(current)


def walk(root: Path, wanted: Callable[[str], bool], *, max_depth: int = MAX_DEPTH,
         skip_hidden: bool = True, inside: bool = False, max_entries: int | None = None) -> Walk:
    """The regular files under *root* whose name is *wanted*, sorted by their path parts.

    Symbolic links to folders are followed; a folder reached twice (a link
    loop, two links) is walked once; special files are skipped and said.  *inside*: a link
    (to a folder or a file) that leads out of *root* is skipped and said, never followed (the
    templates folder: ``T/r -> /`` walked the whole file system).  *max_entries*: past that many
    entries seen, the walk stops (:attr:`Walk.stopped`), its files unsorted."""
    found = Walk()
    seen = 0
    home = os.path.join(os.path.realpath(root), "") if inside else ""
    walked: set[str] = set()
    stack: list[tuple[Path, int]] = [(root, 0)]
    while stack:
        folder, depth = stack.pop()
        real = os.path.realpath(folder)
        if real in walked:
            continue
        walked.add(real)
        if depth > max_depth:
            found.skipped.append(Skipped(folder, f"folders nested deeper than {max_depth} levels; not read", True))
            continue
        if _on_kernel_fs(real) or ((depth == 0 or os.path.islink(folder)) and _through_kernel_fs(str(folder))):
            found.skipped.append(Skipped(folder, "a folder of the kernel's (/proc, /sys): it holds no digest, "
                                         "and its links lead anywhere; not read", False))
            continue
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError as err:
            found.skipped.append(Skipped(folder, f"cannot read the folder: {err.strerror or err}", True))
            continue
        seen += len(entries)
        if max_entries is not None and seen > max_entries:
            found.stopped = True
            return found
        subfolders = []
        for entry in entries:
            if skip_hidden and _hidden(entry.name):
                continue
            if home and entry.is_symlink() and not os.path.join(os.path.realpath(entry.path), "").startswith(home):
                found.skipped.append(Skipped(Path(entry.path), "a symbolic link that leads out of the folder; "
                                             "not followed", False))
                continue
            try:
                is_dir = entry.is_dir(follow_symlinks=True)
                is_file = not is_dir and entry.is_file(follow_symlinks=True)
            except OSError:  # a link loop (ELOOP), a name too long to follow
                is_dir = is_file = False
            if is_dir:
                subfolders.append(Path(entry.path))
            elif wanted(entry.name):
                why = _kernel_file(entry) if is_file else _not_read(entry.path)
                if is_file and why is None:
                    found.files.append(Path(entry.path))
                elif why is not None:
                    found.skipped.append(Skipped(Path(entry.path), why, False))
        stack.extend((p, depth + 1) for p in sorted(subfolders, reverse=True))
    found.files.sort(key=lambda p: p.relative_to(root).parts)
    # Said in the order the files are read, whatever order the folder lists them in.
    found.skipped.sort(key=lambda s: s.path.parts)
    return found


def _kernel_file(entry: os.DirEntry) -> str | None:
    """Why a walk skips *entry*, regular by its stat, as a file of the kernel's, or None: it is not
    a digest, and /proc/kmsg waits for data for ever; skipped as a FIFO is, not an error that stops
    the run as one given by name is."""
    try:
        on_kernel_fs = entry.stat().st_dev in _kernel_devices()  # the entry's own stat, kept
    except OSError:
        on_kernel_fs = False
    if on_kernel_fs or entry.is_symlink() and _through_kernel_fs(entry.path):
        return "a file of the kernel's (/proc, /sys), not a digest; skipped"
    return None


def _not_read(path: str) -> str | None:
    """Why a walk skips *path*, which is neither a folder nor a regular file (a special file, a
    link loop, a link to nothing: said as a FIFO is, the digest it named is not read)."""
    what = special_kind(path)
    if what == LINK_LOOP:
        return f"{what}; skipped"
    if what is not None:
        return f"{what}, not a regular file; skipped"
    broken = broken_link(path)
    return f"{broken}; skipped" if broken is not None else None


def files_under(root: Path, *, max_depth: int = MAX_DEPTH) -> list[Path]:
    """Every regular file under *root* (hidden ones too), sorted: what a template folder holds."""
    return walk(root, lambda name: True, max_depth=max_depth, skip_hidden=False).files


def find_spelling(path: Path) -> Path | None:
    """*path* if it exists, else the existing path that differs from it only in Unicode
    normalization (NFC or NFD, component by component), else None.

    macOS writes file names in NFD (``한`` as the jamo ``ᄒ ᅡ ᆫ``) while text
    typed elsewhere, and the digests once cleaned, are NFC: a name written in
    a digest, the config or on another system must still find the file."""
    import unicodedata

    if os.path.lexists(path):
        return path
    found = Path(path.anchor) if path.is_absolute() else Path()
    for part in path.parts[len(path.parts) - len(path.relative_to(path.anchor).parts) if path.is_absolute() else 0:]:
        candidate = found / part
        if not os.path.lexists(candidate):
            want = unicodedata.normalize("NFC", part)
            try:
                with os.scandir(found if str(found) else ".") as it:
                    match = next((e.name for e in it if unicodedata.normalize("NFC", e.name) == want), None)
            except OSError:
                return None
            if match is None:
                return None
            candidate = found / match
        found = candidate
    return found


def read_stdin(limit: int) -> bytes:
    """At most *limit* + 1 bytes of standard input (the caller tells "too large" by the extra
    byte).  OSError when there is none to read: closed (``<&-``, a daemon started without it,
    where Python sets ``sys.stdin`` to None) or not readable."""
    import errno
    import sys

    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        raise OSError(errno.EBADF, "standard input is closed")
    try:
        return stream.read(limit + 1)
    except ValueError as err:  # a stream closed under us: "I/O operation on closed file"
        raise OSError(errno.EBADF, "standard input is closed") from err


def open_standard_streams() -> None:
    """Standard input, output and error each open: one a service or a crontab line started
    closed (``2>&-``) is opened on the null device, so that the first file the run opens does not
    take its number (what is said to standard error, by the program or by a library, would land
    in a book), and Python's ``sys.stderr`` (None then) is a stream that drops what is written.
    ``sys.stdin`` and ``sys.stdout`` stay None: a command that reads or prints its data says
    that the stream is closed (:func:`read_stdin`, ``inspect``), where messages need no one."""
    for fd, flags in ((0, os.O_RDONLY), (1, os.O_WRONLY), (2, os.O_WRONLY)):
        try:
            os.fstat(fd)
        except OSError:
            try:
                null = os.open(os.devnull, flags)  # the lowest number free: *fd* itself
            except OSError:
                continue
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
    if sys.stderr is None:
        sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8",
                                      errors="backslashreplace", line_buffering=True)


def write_to_nothing(fd: int) -> None:
    """Make the descriptor *fd* write into the null device (``os.devnull``): a standard stream
    whose reader went away (a closed pipe), so that what is still to be written or flushed to
    it is dropped instead of raising again (Python's advice for SIGPIPE, in the documentation of
    its ``signal`` module).  Errors are ignored: the stream may be closed already."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return
    try:
        os.dup2(devnull, fd)
    except OSError:
        pass
    finally:
        os.close(devnull)
