"""What the thumbnail loader takes and gives: options, images, failures."""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from pathlib import Path

from ..model import Diagnostic, Kind, Paper, Severity, SourceRef, ThumbnailKind


@dataclass(frozen=True)
class ImageOptions:
    """How thumbnails are fetched and converted.

    ``timeout`` bounds the whole fetch of one image: name lookup, connect,
    TLS, redirects, headers and body.  ``offline`` reads the cache only.
    ``cache_dir=None`` means the user's cache folder
    (``platformdirs.user_cache_dir("digest-export")/thumbnails``).
    ``allow_private_hosts`` lets thumbnails come from loopback, private and
    link-local addresses (a server on the user's own network); by default a
    digest cannot make us fetch from them.  ``remember_failures`` is how long
    (seconds) a permanent failure (404, not an image...) is remembered, so a
    daily run does not ask for a thumbnail that is gone every day.
    """

    cache_dir: Path | None = None
    grayscale: bool = False
    timeout: float = 10.0
    max_bytes: int = 8_000_000
    max_pixels: int = 40_000_000
    max_width: int = 1000
    max_height: int = 1000
    concurrency: int = 8
    jpeg_quality: int = 80
    offline: bool = False
    allow_private_hosts: bool = False
    remember_failures: float = 7 * 24 * 3600.0

    def resolved_cache_dir(self) -> Path:
        if self.cache_dir is not None:
            return Path(self.cache_dir)
        import platformdirs

        return Path(platformdirs.user_cache_dir("digest-export")) / "thumbnails"


@dataclass(frozen=True)
class EmbeddedImage:
    """A converted thumbnail ready to be put into a book."""

    data: bytes
    media_type: str  # "image/jpeg" or "image/png"
    width: int
    height: int
    #: The SHA-256 of :attr:`data` in hex, when the loader knows it already (the cache checks each
    #: entry by it): what the book names the picture by (:meth:`digest`), not hashed again.
    sha256: str = field(default="", compare=False, repr=False)

    def digest(self) -> str:
        """The SHA-256 of :attr:`data` in hex."""
        if self.sha256:
            return self.sha256
        import hashlib

        return hashlib.sha256(self.data).hexdigest()

    @property
    def extension(self) -> str:
        """File-name extension with the dot: ``.jpg`` or ``.png``."""
        return ".png" if self.media_type == "image/png" else ".jpg"


class Failure(Exception):
    """One image could not be loaded; ``str()`` is the short reason.

    ``permanent``: the answer will not get better by asking again (404, not
    an image, too large); such failures are remembered between runs.  The
    others (time-outs, 5xx, refused connections) are retried next run.
    ``connection``: the host could not be reached at all; enough of these in
    a row and the host's other thumbnails are not tried in this run.
    ``by_policy``: refused by our own options (a private address), not by
    the server: permanent for these options, but not remembered, so that
    allowing private hosts takes effect at once.
    """

    def __init__(self, reason: str, *, permanent: bool = False, connection: bool = False,
                 by_policy: bool = False):
        super().__init__(reason)
        self.permanent = permanent or by_policy
        self.connection = connection
        self.by_policy = by_policy


@dataclass(frozen=True, slots=True)
class ImageFailure(Diagnostic):
    """A paper whose thumbnail was left out: a warning at the paper's heading.

    ``retry`` is true when a later run may succeed without any change to
    the input (a time-out, a server error): the next run asks again.  A
    remembered permanent failure is not retried.  ``unreachable``: the host
    could not be reached at all (its other thumbnails would fail the same way).
    """

    url: str = ""
    reason: str = ""
    retry: bool = False
    unreachable: bool = False

    @classmethod
    def of(cls, source: SourceRef, url: str, reason: str, retry: bool = False,
           unreachable: bool = False) -> ImageFailure:
        return cls(source, Severity.WARNING, f"thumbnail {url} left out: {reason}", Kind.THUMBNAIL,
                   url, reason, retry, unreachable)

    @property
    def cause(self) -> str:
        """The reason without its details: ``"HTTP 404"``, ``"timed out"``."""
        return self.reason.split(" (", 1)[0]


def failure_summary(failures: list[ImageFailure] | tuple[ImageFailure, ...]) -> str:
    """Failures grouped by kind of reason, most frequent first: ``"2 HTTP 404, 1 timed out"``."""
    counts = collections.Counter(f.cause for f in failures)
    return ", ".join(f"{n} {reason}" for reason, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def failures_by_host(failures: list[ImageFailure] | tuple[ImageFailure, ...]) -> list[tuple[str, str, int]]:
    """``(host, reason, count)`` of the failures, one per host and kind of reason, most frequent
    first; a thumbnail given as a local path has the host ``""``."""
    from ..gates.urls import host_of

    counts = collections.Counter((host_of(f.url), f.cause) for f in failures)
    return [(h, reason, n) for (h, reason), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


@dataclass
class ImageResults:
    """What :func:`~exporter.images.load_images` found.

    ``failures`` has one :class:`ImageFailure` per *paper* whose image was
    not embedded, sorted by source.  The counts are per *unique* image (a
    URL shared by several papers is loaded once): ``fetched`` from the
    network, ``cached`` from the disk cache, ``local`` read from the input
    folder, ``failed`` not loaded.
    """

    images: dict[str, EmbeddedImage] = field(default_factory=dict)
    failures: list[ImageFailure] = field(default_factory=list)
    fetched: int = 0
    cached: int = 0
    local: int = 0
    failed: int = 0

    def get(self, paper: Paper) -> EmbeddedImage | None:
        """The embedded image for *paper*'s thumbnail, or ``None``."""
        key = image_key(paper)
        return None if key is None else self.images.get(key)

    @property
    def counts(self) -> dict[str, int]:
        return {"fetched": self.fetched, "cached": self.cached,
                "local": self.local, "failed": self.failed}

    def failure_summary(self) -> str:
        return failure_summary(self.failures)


def image_key(paper: Paper) -> str | None:
    """Dedup key: the URL for remote images, folder + path for local ones."""
    import os

    thumb = paper.thumbnail
    if thumb is None or thumb.kind is not ThumbnailKind.IMAGE:
        return None
    if thumb.is_remote:
        return thumb.url
    folder = os.path.dirname(os.path.abspath(paper.source.path))
    return f"local:{folder}\0{thumb.url}"
