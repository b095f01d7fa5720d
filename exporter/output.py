"""Writing output files: atomically, and only when the content changed.

Every writer goes through :func:`write_file`, so a reader, a sync client or a
web server never sees a half-written book or feed: the bytes go to a
temporary file in the same folder (same file system), are flushed to disk,
then renamed over the target (``os.replace`` is atomic on POSIX and Windows).
A file whose bytes would not change is left alone, so its modification time
and HTTP validators stay as they were.

A run killed between creating the temporary file (``.<name>.<random>.part``,
hidden, and not matching ``*.epub`` or any feed name) and renaming it leaves
that file behind; the next write of the same name removes such leftovers
once they are :data:`STALE_AFTER` seconds old (younger ones may belong to a
run writing into the same folder right now).
"""

from __future__ import annotations

import enum
import os
import tempfile
import time
from pathlib import Path

from .errors import OutputError
from .gates import files as gate_files


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


def same_content(path: Path, data: bytes) -> bool:
    """True if *path* is a regular file holding *data* (read through the file gate: a named pipe
    there is never opened)."""
    try:
        if gate_files.check_regular(path).st_size != len(data):
            return False
        return gate_files.read_bytes(path, len(data)) == data
    except OSError:
        return False


def check_target(path: Path) -> None:
    """:class:`OutputError` unless *path* is nothing yet or a regular file: a folder, named pipe,
    socket or device where a file is to be written is the user's, and is left alone; so is a
    path that lies under a file."""
    what = gate_files.special_kind(path)
    if what is not None:
        raise OutputError(f"cannot write {path}: it is {what}, not a regular file; left alone")
    for parent in path.parents:
        if not os.path.lexists(parent):
            continue
        if os.path.isdir(parent):
            break
        kind = gate_files.special_kind(parent) or "a file"
        raise OutputError(f"cannot write {path}: {parent} is {kind}, not a folder")


def write_file(path: Path, data: bytes, *, force: bool = False) -> WriteStatus:
    """Atomically replace *path* with *data* unless it already holds them."""
    path = Path(path)
    check_target(path)
    remove_stale_parts(path)
    if not force and same_content(path, data):
        return WriteStatus.UNCHANGED
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"cannot write to {folder}: {err.strerror or err}") from err
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    except OSError as err:  # a name too long, say: name the file, not the folder
        raise OutputError(f"cannot write {path}: {err.strerror or err}") from err
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
            raise OutputError(f"cannot write {path}: {err.strerror or err}") from err
        raise
    _fsync_dir(folder)
    return WriteStatus.WRITTEN


def remove_stale_parts(path: Path, *, max_age: float = STALE_AFTER) -> list[Path]:
    """Remove ``.<name>.*.part`` files next to *path* older than *max_age* seconds."""
    prefix = f".{path.name}."
    removed = []
    now = time.time()
    try:
        with os.scandir(path.parent) as entries:
            for entry in entries:
                name = entry.name
                if not (name.startswith(prefix) and name.endswith(".part")):
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
