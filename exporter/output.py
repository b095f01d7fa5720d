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
    try:
        if path.stat().st_size != len(data):
            return False
        return path.read_bytes() == data
    except OSError:
        return False


def write_file(path: Path, data: bytes, *, force: bool = False) -> WriteStatus:
    """Atomically replace *path* with *data* unless it already holds them."""
    path = Path(path)
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
