"""The thumbnail cache: converted images, and failures worth remembering.

``converted/<sha256(options + key)>`` holds one converted image as one file:
a magic prefix, a JSON header (key, size, sha256, media type, width,
height), then the payload, written to a temporary name in the same folder
and ``os.replace``-d into place.  One file per entry (rather than data +
sidecar) keeps an entry atomic: a killed run can never pair new data with
an old checksum.  An entry whose magic, header, size or checksum does not
match is deleted and fetched again, and so is one whose payload is not an image of its
media type and size (Pillow reads its header), or not what the converter writes: larger than
the box it scales to or the pixel cap, or with a chunk or segment it never writes (a PNG text
chunk, a JPEG comment or EXIF: ``convert.check_written``).  A warm run reads only these small
files: no network and no decoding.  The downloaded originals are not kept:
a year of thumbnails is ~2-3 GB of PNG against ~0.5 GB converted, and
options rarely change.  Only images that converted are cached, never an
error page.

``failed/<sha256(url)>`` remembers a *permanent* failure (404, 410, not an
image, too large) until a given time, so a daily run does not ask a server
every day for a thumbnail that is gone; a transient failure is never
written here.  Anything unreadable in either folder is a cache miss.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from ..gates import files as gate_files
from ..gates import documents
from ..model import clean_text
from .model import EmbeddedImage, ImageOptions

# An entry: magic, 8-digit header length, newline, JSON header, payload.  The
# fixed-size prefix lets a reader read the payload straight into its own
# bytes object (slicing a whole-file read costs as much as the checksum).
CACHE_MAGIC = b"digest-export-cache 2 "
_MAX_FAILURE_ENTRY = 4096


#: The failures the program remembers: the permanent ones, as ``images/fetch.py`` and
#: ``images/convert.py`` say them (a client error but 408, 425 and 429, RFC 9110 15.5; a URL or
#: redirect refused; a body too large or in encodings refused; what is no image).  A network
#: error, a time-out, a server error or a refusal by policy is tried again on the next run, so an
#: entry that says one was not written by the program.
REMEMBERED = re.compile(
    r"HTTP 4(?!08|25|29)[0-9]{2}|invalid URL(?: \(port out of range\))?|unsupported URL scheme"
    r"|redirect to (?:non-http|an invalid) URL|too many redirects \(.{1,80}\)|too large(?: once decoded)? \(.{1,120}\)"
    r"|too many content encodings \([0-9]+\)|unsupported content encoding \(.{1,20}\)|undecodable content encoding"
    r"|not an image(?: \(.{1,80}\))?|undecodable image \(.{1,200}\)|decompression bomb \(.{1,200}\)|truncated image",
    re.DOTALL)


#: When each cache folder was last swept of stale temporary files (:meth:`Cache.remove_stale_temp_files`)
#: in this process; a forked book worker inherits what its parent swept.
_SWEPT: dict[Path, float] = {}
SWEEP_SECONDS = 60.0


class Cache:
    """Checksummed, atomically written cache entries; any failure = cache miss."""

    def __init__(self, root: Path):
        self.root = root
        self.usable = True

    def remove_stale_temp_files(self, max_age: float = 3600.0) -> None:
        """Remove temporary files left by a run that was killed mid-write; a cache folder once a
        minute at most (a folder of thousands of pictures was listed for every book: a tenth of a
        warm build's book time)."""
        now = time.time()
        swept = _SWEPT.get(self.root)
        if swept is not None and 0 <= now - swept < SWEEP_SECONDS:
            return
        if len(_SWEPT) >= 64:
            _SWEPT.clear()
        _SWEPT[self.root] = now
        for kind in ("converted", "failed"):
            try:
                with os.scandir(self.root / kind) as entries:
                    for entry in entries:
                        if entry.name.startswith(".tmp-"):
                            try:
                                if now - entry.stat().st_mtime > max_age:
                                    os.unlink(entry.path)
                            except OSError:
                                pass
            except OSError:
                pass

    def _path(self, kind: str, key: str) -> Path:
        return self.root / kind / hashlib.sha256(key.encode("utf-8")).hexdigest()

    def get_converted(self, key: str, options_key: str, opts: ImageOptions) -> EmbeddedImage | None:
        """The image cached for *key* with *opts* (whose *options_key* names the entry), or None:
        also when the entry is not what the converter writes with *opts*."""
        from .convert import check_written

        entry = self._read(self._path("converted", f"{options_key}\0{key}"), key)
        if entry is None:
            return None
        header, data = entry
        try:
            media_type = header["media_type"]
            if media_type not in ("image/jpeg", "image/png"):
                raise ValueError(media_type)
            width, height = int(header["width"]), int(header["height"])
            _check_payload(data, media_type, width, height)
            check_written(data, media_type, width, height, opts)
            # The header's digest is that of *data*: _read compared them.
            return EmbeddedImage(data, media_type, width, height, sha256=header["sha256"])
        except (KeyError, TypeError, ValueError, OSError, struct.error):
            _unlink(self._path("converted", f"{options_key}\0{key}"))
            return None

    def put_converted(self, key: str, options_key: str, image: EmbeddedImage) -> EmbeddedImage:
        """Cache *image* (when the cache is usable); *image* with its digest, the entry's checksum."""
        image = replace(image, sha256=image.digest())
        header = {"key": key, "media_type": image.media_type, "width": image.width,
                  "height": image.height, "sha256": image.sha256}
        self._write(self._path("converted", f"{options_key}\0{key}"), header, image.data)
        return image

    def get_failure(self, url: str, now: float | None = None) -> tuple[str, float] | None:
        """A remembered permanent failure of *url*: (reason, until), or ``None``."""
        path = self._path("failed", url)
        try:
            entry = documents.decode(gate_files.read_bytes(path, _MAX_FAILURE_ENTRY), documents.FailureEntry,
                                     limit=_MAX_FAILURE_ENTRY - 1)
            reason, until = entry.reason, entry.until
            if entry.url != url or not REMEMBERED.fullmatch(reason):
                # Another URL's, or a failure the program never remembers ("timed out", "HTTP 500",
                # "blocked: ...": tried again each run): not its entry, and the URL is asked.
                raise ValueError("bad entry")
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError, KeyError, OverflowError):
            _unlink(path)
            return None
        now = time.time() if now is None else now
        if until <= now or until > now + 366 * 86400:  # expired, or a clock that jumped
            _unlink(path)
            return None
        return reason[:200], until

    def put_failure(self, url: str, reason: str, until: float) -> None:
        """Remember that *url* failed permanently with *reason*, until *until* (epoch seconds)."""
        if not self.usable:
            return
        # As the reader takes it back (one line, no control, bidi control or noncharacter):
        # a reason it would refuse would be asked for again on every run.
        reason = clean_text(reason) or "failed"
        if not REMEMBERED.fullmatch(reason):
            return  # what it would not take back
        self._atomic_write(self._path("failed", url),
                           json.dumps({"url": url, "reason": reason, "until": until}).encode("utf-8"))

    def _read(self, path: Path, key: str) -> tuple[dict, bytes] | None:
        try:
            fh, _ = gate_files.open_regular(path, gate_files.IMAGE_LIMIT * 2)  # never a FIFO
            fd = os.dup(fh.fileno())
            fh.close()
        except OSError:
            return None
        try:
            try:
                prefix = os.read(fd, len(CACHE_MAGIC) + 9)
                if not prefix.startswith(CACHE_MAGIC) or not prefix.endswith(b"\n"):
                    raise ValueError("bad magic")
                length = int(prefix[len(CACHE_MAGIC):-1])
                if not 0 <= length <= documents.MAX_CACHE_HEADER_BYTES:
                    raise ValueError("bad header length")
                header = documents.to_builtins(documents.decode(
                    os.read(fd, length), documents.CacheHeader, limit=documents.MAX_CACHE_HEADER_BYTES))
                if header["key"] != key:
                    raise ValueError("bad header")
                size = header["size"]
                data = os.read(fd, size + 1)  # one byte more: catch trailing junk
                if len(data) != size or header["sha256"] != hashlib.sha256(data).hexdigest():
                    raise ValueError("checksum mismatch")
            finally:
                os.close(fd)
        except (ValueError, TypeError, KeyError, OverflowError, OSError):
            _unlink(path)  # corrupt or truncated: drop it, the caller refetches
            return None
        return header, data

    def _write(self, path: Path, header: dict, data: bytes) -> None:
        """*header* (its ``sha256`` that of *data*) and *data* as one entry at *path*."""
        if not self.usable:
            return
        header = {**header, "size": len(data)}
        head = json.dumps(header, sort_keys=True).encode("utf-8")
        blob = b"%s%08d\n%s%s" % (CACHE_MAGIC, len(head), head, data)
        self._atomic_write(path, blob)

    def _atomic_write(self, path: Path, blob: bytes) -> None:
        tmp = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as fh:
                fh.write(blob)
            os.replace(tmp, path)
            tmp = None
        except OSError:
            # A read-only or full cache folder must not fail the run: go on
            # without caching.
            self.usable = False
        finally:
            if tmp is not None:
                _unlink(Path(tmp))


#: Pillow's name of each media type an entry may hold.
_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG"}


def _check_payload(data: bytes, media_type: str, width: int, height: int) -> None:
    """ValueError unless *data* is an image of *media_type* and of the size the header says: a
    checksum vouches for the bytes, not for what they are (a cache edited with its checksum
    recomputed put an SVG under ``image/png`` into a book).  Pillow reads the header only (the
    signature, the size): a warm run still decodes nothing."""
    import io

    from PIL import Image

    with Image.open(io.BytesIO(data), formats=[_FORMATS[media_type]]) as im:
        if im.size != (width, height):
            raise ValueError(f"{im.size} is not the {width}x{height} of the header")


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass
