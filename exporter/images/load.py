"""Loading the thumbnails of a set of papers: cache, network or input folder.

One thread pool (``concurrency`` workers, default 8, so at most 8 requests
in flight) runs fetch + decode + scale + encode per unique image; cache hits
are read in a few large batches.  Threads are enough (measured on 2 cores
with ``benchmarks/bench_images.py``): PNG decoding and Lanczos resampling
release the GIL, and a process pool would pickle every image both ways.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import stat
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from ..gates import files as gate_files
from ..gates.urls import local_destination, local_paths
from ..model import Paper, Thumbnail
from .cache import Cache
from .convert import convert
from .model import EmbeddedImage, Failure, ImageFailure, ImageOptions, ImageResults, image_key

# Bump when the conversion changes, so cached converted images are redone.
_CONVERT_VERSION = 1
_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")


@functools.cache
def _few_heaps() -> None:
    """Freed pixels go back to the system, whichever thread freed them (glibc ``mallopt``, mallopt(3)).

    * ``M_ARENA_MAX`` 2: glibc gives each thread that allocates at the same time as another its
      own arena (up to 8 per core) and keeps what is freed in an arena for that arena's next
      allocations: the decoded pictures of 8 download threads stayed in 8 arenas, so 10
      thumbnails of 40 megapixels peaked at 1.35 GB although the pixel budget lets one such
      picture be decoded at a time.
    * ``M_MMAP_THRESHOLD`` 1 MiB, fixed: a block of that size or more (Pillow's pixel blocks,
      16 MiB; a downloaded body) gets its own mapping, unmapped when freed.  glibc's threshold
      is otherwise dynamic: the first such block freed raises it (up to 32 MiB), after which
      pixel blocks come from the arenas' heaps, where the small objects allocated between them
      (each picture's download buffers and converted result) pin them: with two arenas, 40
      thumbnails fetched over HTTP still peaked at 820 MB against 250 MB for two.  Setting the
      threshold turns the dynamic adjustment off (mallopt(3), M_MMAP_THRESHOLD); the time
      did not change (each picture's blocks are mapped afresh: page faults that the decoding
      dwarfs).

    Without glibc (musl, macOS) the call is not there and nothing changes."""
    import ctypes

    m_mmap_threshold, m_arena_max = -3, -8  # glibc malloc.h
    try:
        libc = ctypes.CDLL(None)  # the symbols the process has loaded: glibc's where it runs
        libc.mallopt(ctypes.c_int(m_arena_max), ctypes.c_int(2))
        libc.mallopt(ctypes.c_int(m_mmap_threshold), ctypes.c_int(1 << 20))
    except (OSError, AttributeError):
        pass


def load_images(
    papers: Iterable[Paper],
    options: ImageOptions,
    progress: Callable[[int], None] | None = None,
    known: dict[tuple[ImageOptions, str], EmbeddedImage] | None = None,
) -> ImageResults:
    """Load the IMAGE thumbnails of *papers*; never raises for a bad image.

    *progress*, if given, is called from the calling thread with the number
    of papers whose thumbnail was just resolved (loaded or failed); the calls
    add up to the number of papers with an IMAGE thumbnail.

    The result holds every image in memory (~60 kB each): for a long archive
    call it once per book with that book's papers, so memory stays bounded
    by one book; the cache makes repeated URLs across books free.  *known*:
    the images an earlier call loaded with the same options (the books of one
    period, which show the same papers: the whole week's and each selection's),
    taken as the cache hits they would be, without reading the cache again;
    what this call loads is added to it.
    """
    jobs: dict[str, list[Paper]] = {}
    for paper in papers:
        key = image_key(paper)
        if key is not None:
            jobs.setdefault(key, []).append(paper)

    results = ImageResults()
    if known:
        for key in [key for key in jobs if (options, key) in known]:
            _collect(results, jobs, progress, key, (known[options, key], "cached"))
            del jobs[key]
    if not jobs:
        return results
    _few_heaps()
    loader = Loader(options)
    loader.cache.remove_stale_temp_files()
    collect = functools.partial(_collect, results, jobs, progress)
    remote = [key for key in jobs if not key.startswith("local:")]
    try:
        misses = _cache_hits(loader, remote, collect)
        # 2. Everything else, one task per image: network-bound, and the
        #    conversions overlap (Pillow releases the GIL).
        remote_set = set(remote)
        todo = misses + [key for key in jobs if key not in remote_set]
        if todo:
            with ThreadPoolExecutor(max_workers=max(1, options.concurrency),
                                    thread_name_prefix="digest-export-image") as pool:
                try:
                    futures = {pool.submit(loader.load, jobs[key][0]): key for key in todo}
                    for future in as_completed(futures):
                        try:
                            outcome: tuple[EmbeddedImage, str] | Failure = future.result()
                        except Failure as failure:
                            outcome = failure
                        collect(futures[future], outcome)
                except BaseException:
                    pool.shutdown(wait=False, cancel_futures=True)
                    raise
    finally:
        loader.close()
    if known is not None:
        known.update(((options, key), image) for key, image in results.images.items())
    results.failures.sort(key=lambda f: (f.source, f.url))
    return results


def _cache_hits(loader: Loader, remote: list[str],
                collect: Callable[[str, tuple[EmbeddedImage, str]], None]) -> list[str]:
    """1. Cache hits, read here, one after the other: a warm run is thousands of small reads and
    checks, each shorter than handing it to a thread (a book of 150 cached pictures took twice
    as long in batches on eight threads, started for every book); returns the keys that missed."""
    misses: list[str] = []
    for key, image in loader.lookup_many(remote):
        if image is None:
            misses.append(key)
        else:
            collect(key, (image, "cached"))
    return misses


def _collect(results: ImageResults, jobs: dict[str, list[Paper]], progress: Callable[[int], None] | None,
             key: str, outcome: tuple[EmbeddedImage, str] | Failure) -> None:
    """Record what became of one unique image, for every paper that shows it."""
    group = jobs[key]
    if isinstance(outcome, Failure):
        results.failed += 1
        retry = not outcome.permanent and not key.startswith("local:")
        results.failures.extend(ImageFailure.of(paper.source, _shown_url(paper.thumbnail), str(outcome), retry,
                                                outcome.connection)
                                for paper in group if paper.thumbnail is not None)
    else:
        image, origin = outcome
        results.images[key] = image
        setattr(results, origin, getattr(results, origin) + 1)
    if progress is not None:
        progress(len(group))


class Loader:
    """Loads one image at a time, from any thread; owns the cache and the HTTP client."""

    def __init__(self, options: ImageOptions):
        self.options = options
        self.cache = Cache(options.resolved_cache_dir())
        self.options_key = "|".join(map(str, (
            _CONVERT_VERSION, options.grayscale, options.max_width,
            options.max_height, options.jpeg_quality, options.max_pixels)))
        self._fetcher = None
        self._fetcher_lock = threading.Lock()

    def close(self) -> None:
        if self._fetcher is not None:
            self._fetcher.close()

    def fetcher(self):  # -> fetch.Fetcher
        """The one HTTP client of this run, shared by all threads so they share its
        connection pool; made on first use (httpx takes ~0.1 s to import)."""
        with self._fetcher_lock:
            if self._fetcher is None:
                from .fetch import FetchOptions, Fetcher

                self._fetcher = Fetcher(FetchOptions(
                    timeout=self.options.timeout, max_bytes=self.options.max_bytes,
                    concurrency=self.options.concurrency,
                    allow_private_hosts=self.options.allow_private_hosts,
                    # Beside the converted pictures: on disk, not in a tmpfs.
                    spool_dir=self.cache.root))
            return self._fetcher

    def lookup_many(self, urls: list[str]) -> list[tuple[str, EmbeddedImage | None]]:
        """Cached images for remote *urls* (``None``: not cached or corrupt)."""
        found: list[tuple[str, EmbeddedImage | None]] = []
        for url in urls:
            try:
                found.append((url, self.cache.get_converted(url, self.options_key, self.options)))
            except Exception:  # whatever is wrong with the cache, the network can fix
                found.append((url, None))
        return found

    def load(self, paper: Paper) -> tuple[EmbeddedImage, str]:
        """Load one image that :meth:`lookup_many` did not find.

        Returns the image and where it came from ("fetched" or "local").
        """
        try:
            return self._load(paper)
        except Failure:
            raise
        except MemoryError:
            raise Failure("out of memory") from None
        except Exception as err:  # a bug or an unforeseen decoder error: report, don't crash
            raise Failure(f"unexpected error ({type(err).__name__}: {err})") from err

    def _load(self, paper: Paper) -> tuple[EmbeddedImage, str]:
        assert paper.thumbnail is not None
        url = paper.thumbnail.url
        opts = self.options
        if not paper.thumbnail.is_remote:
            data = _read_local(paper.source.path, url, opts.max_bytes)
            key = "sha256:" + hashlib.sha256(data).hexdigest()
            cached = self.cache.get_converted(key, self.options_key, self.options)
            if cached is not None:
                return cached, "local"
            return self.cache.put_converted(key, self.options_key, convert(data, opts)), "local"

        remembered = self.cache.get_failure(url)
        if remembered is not None:
            reason, until = remembered
            day = time.strftime("%Y-%m-%d", time.gmtime(until))
            raise Failure(f"{reason} (remembered: not asked again before {day})", permanent=True)
        if opts.offline:
            raise Failure("not in the cache (offline)")
        try:
            # The body from its spool file, read as it is decoded: the threads waiting for
            # the pixel budget hold no body in memory.
            with self.fetcher().get_file(url) as body:
                image = convert(body, opts)
        except Failure as failure:
            if failure.permanent and not failure.by_policy and opts.remember_failures > 0:
                self.cache.put_failure(url, str(failure), time.time() + opts.remember_failures)
            raise
        # Only what converted is cached: an HTML error page is not kept.
        return self.cache.put_converted(url, self.options_key, image), "fetched"


def _shown_url(thumbnail: Thumbnail) -> str:
    """A thumbnail's URL, or a local one's destination as the digest writes it."""
    return thumbnail.url if thumbnail.is_remote else local_destination(thumbnail.url)


def resolve_local(source_path: str, url: str) -> Path:
    """The file a local thumbnail reference names, relative to the digest file
    and inside its folder only; :class:`Failure` when there is none.

    The one resolver for a local thumbnail: the loader reads the file it
    returns and the build stamps that same file (``pipeline/plan.py``, through
    :func:`resolve_locals`), so any spelling the loader finds (escaped, or the
    name in another Unicode normalization) is also a file whose change
    rebuilds the book.
    """
    found = resolve_locals(source_path, [url])[0]
    if isinstance(found, Failure):
        raise found
    return Path(found)


def resolve_locals(source_path: str, urls: Iterable[str]) -> list[str | Failure]:
    """:func:`resolve_local` for each of *urls* (each file as a real path), the digest's folder
    resolved once: an unchanged build stamps every local thumbnail of every book, each must
    cost a few ``lstat`` calls."""
    urls = list(urls)
    if source_path.startswith("<"):  # <stdin>
        return [_refused(url) or Failure("local path without an input folder") for url in urls]
    try:
        # The folder the digest was named in (a symlinked digest file does
        # not open up its target's folder), itself resolved for the check.
        folder = os.path.realpath(os.path.dirname(os.path.abspath(source_path)))
    except (OSError, ValueError) as err:
        return [Failure(f"cannot read file ({err})")] * len(urls)
    inside = folder.rstrip(os.sep) + os.sep
    out: list[str | Failure] = []
    for url in urls:
        try:
            out.append(_refused(url) or _resolve_in(folder, inside, url))
        except Failure as failure:
            out.append(failure)
        except OSError as err:
            out.append(Failure(f"cannot read file ({err.strerror or type(err).__name__})"))
        except ValueError:  # e.g. a NUL in the path
            out.append(Failure("invalid path"))
    return out


def _refused(url: str) -> Failure | None:
    if _SCHEME_RE.match(url):
        return Failure(f"unsupported URL scheme ({url.split(':', 1)[0].lower()})")
    if url.startswith(("/", "\\")) or os.path.isabs(url):
        return Failure("outside the input folder (absolute path)")
    return None


def _resolve_in(folder: str, inside: str, url: str) -> str | Failure:
    broken = None
    for candidate in local_paths(url):
        path = _plain_path(folder, candidate)
        if path is None:
            path = os.path.join(folder, candidate)
            if not os.path.lexists(path):
                # A name in another Unicode normalization (NFD from macOS) is the same name.
                path = str(gate_files.find_spelling(Path(path)) or path)
            # realpath follows every symlink, so a link pointing out of the
            # folder is caught by the containment check below.
            path = os.path.realpath(path)
            if not path.startswith(inside):
                return Failure("outside the input folder")
        if os.path.exists(path):
            return path
        broken = broken or gate_files.broken_link(os.path.join(folder, candidate))
    # A link to nothing is said as such, as the input folder's walk says it.
    if broken is None and ("#" in url or "?" in url):
        # In a link '#' starts a fragment and '?' a query (RFC 3986 section 3):
        # a file whose name holds one is reached by its escape.
        literal = os.path.join(folder, url)
        if os.path.lexists(literal) or gate_files.find_spelling(Path(literal)) is not None:
            mark = "#" if "#" in url else "?"
            return Failure(f"file not found: '{mark}' in a link starts a "
                           f"{'fragment' if mark == '#' else 'query'}; write it as {'%23' if mark == '#' else '%3F'} "
                           "to name a file that holds it")
    return Failure(broken or "file not found")


def _plain_path(folder: str, relative: str) -> str | None:
    """*relative* under the real *folder* when every step of it is a name that exists and is
    not a symbolic link (the common case, one ``lstat`` a step): then it is its own real
    path, inside the folder.  None otherwise: the full resolution decides."""
    path = folder
    for part in relative.split("/"):
        if part in ("", ".", ".."):
            return None
        path = os.path.join(path, part)
        try:
            if stat.S_ISLNK(os.lstat(path).st_mode):
                return None
        except OSError:
            return None
    return path


def _read_local(source_path: str, url: str, max_bytes: int) -> bytes:
    """Read a thumbnail path relative to the digest file, inside its folder only.

    Local files are input, not network: their failures are not remembered
    (a build notices the file itself changing).
    """
    target = resolve_local(source_path, url)
    try:
        data = gate_files.read_bytes(target, max_bytes)
    except gate_files.NotRegularFile as err:
        raise Failure("not a regular file") from err
    except gate_files.FileTooLarge as err:
        raise Failure(f"too large (more than {max_bytes} bytes)") from err
    except OSError as err:
        raise Failure(gate_files.broken_link(target) or f"cannot read file ({err.strerror or type(err).__name__})") \
            from err
    except ValueError as err:  # e.g. a NUL in the path
        raise Failure("invalid path") from err
    if len(data) > max_bytes:
        raise Failure(f"too large (more than {max_bytes} bytes)")
    return data


