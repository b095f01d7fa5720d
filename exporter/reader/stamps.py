"""The reader's file cache: what each input file was when last read.

As pelican's reader-level file cache does, a file is known by its stat (size,
modification and inode-change times and inode, as git's index knows it: see
:class:`~exporter.gates.files.FileStamp`) or, when those cannot be trusted,
its content hash:
one that did not change is not read again, and its days (date, title,
paper keys, the hash of each day's text) and diagnostics come from its
:class:`FileRecord`.  :class:`InputFiles` does one scan of the inputs
against the records of the last run; :mod:`exporter.state` keeps the
records between runs.
"""

from __future__ import annotations

import gc
import hashlib
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..gates import files as gate_files
from ..gates.files import FileStamp
from ..model import Diagnostic, Kind, Severity, SourceRef
from ..procs import can_fork, fork_pool, pool_results, stop_pool
from .parse import cannot_read, in_reading_order, input_files, parse_bytes, read_input

#: A file modified less than this long before it was read may change again
#: within the same mtime tick without its size changing ("racy git"): its
#: stat is not trusted next time and its bytes are hashed instead.
RACY_NS = 2_000_000_000


def _trusted(stamp: FileStamp, now_ns: int) -> int:
    """The stamp's mtime, or -1 when the file changed (its content or its inode:
    ``touch -r`` after an edit sets the one back, not the other) too recently
    to trust its stat next time."""
    if stamp.mtime_ns < 0 or now_ns - max(stamp.mtime_ns, stamp.ctime_ns) <= RACY_NS:
        return -1
    return stamp.mtime_ns


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def diag_to_json(d: Diagnostic) -> list[Any]:
    return [d.source.path, d.source.line, d.severity.value, d.message, d.kind.value]


def diag_from_json(v: list[Any]) -> Diagnostic:
    return Diagnostic(SourceRef(str(v[0]), int(v[1])), Severity(v[2]), str(v[3]), Kind(v[4]))


@dataclass(slots=True)
class FileRecord:
    """One input file as the last run saw it."""

    size: int
    mtime_ns: int  # -1: do not trust the stat, hash the bytes
    sha: str
    #: (ISO date, title, paper keys, hash of its lines) of each digest
    #: heading, in file order.
    digests: list[tuple[str, str, list[str], str]]
    diags: list[list[Any]]
    #: Thumbnails given as paths relative to the file (their stat is part
    #: of a book's fingerprint).
    local_images: list[str]
    #: The rest of the stat that tells an unchanged file (FileStamp): an
    #: edit whose old modification time was given back changes these.
    ctime_ns: int = -1
    ino: int = 0

    def unchanged(self, st: os.stat_result) -> bool:
        """Whether *st* is the stat this record was made from (and may be trusted)."""
        return self.mtime_ns >= 0 and FileStamp.of(st) == (self.size, self.mtime_ns, self.ctime_ns, self.ino)

    def to_json(self) -> dict[str, Any]:
        return {"size": self.size, "mtime_ns": self.mtime_ns, "ctime_ns": self.ctime_ns, "ino": self.ino,
                "sha": self.sha, "digests": [list(d) for d in self.digests], "diags": self.diags,
                "local_images": self.local_images}

    @classmethod
    def from_json(cls, v: dict[str, Any]) -> FileRecord:
        return cls(int(v["size"]), int(v["mtime_ns"]), str(v["sha"]),
                   [(str(d), str(t), [str(k) for k in keys], str(h)) for d, t, keys, h in v["digests"]],
                   [list(x) for x in v["diags"]], [str(x) for x in v["local_images"]],
                   int(v.get("ctime_ns", -1)), int(v.get("ino", 0)))




def _record(data: bytes, stamp: FileStamp, drafts: list[Any], diags: list[Diagnostic],
            now_ns: int) -> FileRecord:
    local = sorted({p.thumbnail.url for d in drafts for p in d.papers
                    if p.thumbnail is not None and not p.thumbnail.is_remote})
    return FileRecord(stamp.size, _trusted(stamp, now_ns), content_hash(data),
                      # A paper twice in one day is read once (with a warning): its key is
                      # recorded once, as the state's schema requires.
                      [(d.date.isoformat(), d.title, list(dict.fromkeys(p.key for p in d.papers)), d.text_hash)
                       for d in drafts],
                      [diag_to_json(x) for x in diags], local, stamp.ctime_ns, stamp.ino)


def _unreadable(shown: str, err: OSError) -> list[Diagnostic]:
    return [cannot_read(shown, err)]


@dataclass(frozen=True, slots=True)
class _Job:
    """One input file to read: what a worker needs to know of it."""

    name: str
    path: Path | None
    shown: str
    old_sha: str | None  # the content hash the state recorded, if any
    now_ns: int


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What reading one file gave: a diagnostic (unreadable), the stamp of a file whose bytes
    the state already knows (``record`` None), or its parse and new record."""

    unreadable: list[Diagnostic] | None = None
    stamp: FileStamp | None = None
    drafts: list[Any] = field(default_factory=list)
    record: FileRecord | None = None


def _read_one(job: _Job) -> _Outcome:
    try:
        data, stamp = read_input(job.path)
    except OSError as err:
        return _Outcome(unreadable=_unreadable(job.shown, err))
    if job.old_sha is not None and job.old_sha == content_hash(data) and job.path is not None:
        return _Outcome(stamp=stamp)
    drafts, diags = parse_bytes(data, job.shown)
    return _Outcome(drafts=drafts, record=_record(data, stamp, drafts, diags, job.now_ns))


#: Fewer files than this are read here: forking workers costs more than it saves.
MIN_PARALLEL_FILES = 24


def _read_all(jobs: list[_Job], workers: int) -> Iterable[_Outcome]:
    """:func:`_read_one` of every job, in order: by *workers* processes when there are many
    (this one and forked workers; parsing is most of a fresh build's reading; what comes back
    from a worker is pickled, which costs a quarter of parsing: see ``model._pickled_as_fields``),
    else here.  Standard input is always read here (a forked worker would share it)."""
    workers = min(workers or os.cpu_count() or 1, len(jobs) // (MIN_PARALLEL_FILES // 2) or 1)
    if workers < 2 or len(jobs) < MIN_PARALLEL_FILES or any(job.path is None for job in jobs) or not can_fork():
        return map(_read_one, jobs)
    return _pooled(jobs, workers)


#: What the forked readers share with this process: the chunks of jobs, and the number of the
#: next chunk to take (in shared memory, under its lock).
_SHARE: tuple[list[list[_Job]], Any] | None = None


def _claim() -> int:
    """The number of the next chunk no process has taken (past the last: none is left)."""
    assert _SHARE is not None
    counter = _SHARE[1]
    with counter.get_lock():
        taken = counter.value
        counter.value = taken + 1
    return taken


def _read_claimed(_: int) -> tuple[int, list[_Outcome]] | None:
    """In a forked reader: the next chunk nobody took, read, with its number; None if none is left."""
    assert _SHARE is not None
    chunks = _SHARE[0]
    taken = _claim()
    return (taken, [_read_one(job) for job in chunks[taken]]) if taken < len(chunks) else None


def _pooled(jobs: list[_Job], workers: int) -> Iterable[_Outcome]:
    """The jobs read by this process and *workers* - 1 forked readers, each taking the next chunk
    of files that no one took.  This process reads too rather than wait: what it reads is not
    pickled and sent (on two cores, one reader here and one forked took two thirds of the time of
    two forked readers and this one waiting for them), and the chunks are taken as each process
    gets to them, so each reads as much as it can whatever else the machine runs."""
    global _SHARE
    import multiprocessing

    # The Public Suffix List that the URL gate judges every link's host by (45 ms to load):
    # loaded once here, before the fork, instead of once in each reader and each book worker
    # (the book workers are forked from this process later and inherit it too).
    from ..gates.urls import load_public_suffixes

    load_public_suffixes()
    # Chunks of a few files: one message per chunk, and every reader busy to the end.
    size = max(1, min(8, len(jobs) // (workers * 8)))
    chunks = [jobs[i:i + size] for i in range(0, len(jobs), size)]
    _SHARE = (chunks, multiprocessing.get_context("fork").Value("q", 0))
    pool = fork_pool(workers - 1)
    try:
        # One task per chunk at most: a reader's task takes whichever chunk is next.
        theirs = pool_results(pool, pool.imap_unordered(_read_claimed, range(len(chunks))), "reading the inputs")
        done: list[list[_Outcome] | None] = [None] * len(chunks)
        while (taken := _claim()) < len(chunks):
            done[taken] = [_read_one(job) for job in chunks[taken]]
        for result in theirs:
            if result is not None:
                done[result[0]] = result[1]
        # Ended by their queue, as the book workers are, not by Pool.terminate() (what leaving
        # a ``with Pool()`` block does): there a worker left waiting on the queue's lock once
        # kept this process waiting for it, for good.
        pool.close()
        pool.join()
    finally:
        _SHARE = None
        stop_pool(pool)
    for outcomes in done:
        assert outcomes is not None
        yield from outcomes


@dataclass(slots=True)
class InputFiles:
    """The input files, each known by its resolved path (so that ``logs/``,
    ``./logs`` and ``/srv/logs`` name the same state), shown by the name it
    was given."""

    now_ns: int
    order: list[str] = field(default_factory=list)
    records: dict[str, FileRecord] = field(default_factory=dict)
    parsed: dict[str, list[Any]] = field(default_factory=dict)
    changed: set[str] = field(default_factory=set)
    unreadable: dict[str, list[Diagnostic]] = field(default_factory=dict)
    paths: dict[str, Path | None] = field(default_factory=dict)
    shown: dict[str, str] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    #: What the folder walk did not list (special files, folders too deep).
    skipped: list[Diagnostic] = field(default_factory=list)

    @classmethod
    def scan(cls, inputs: Iterable[str | Path], known: dict[str, FileRecord], *,
             jobs: int = 0) -> InputFiles:
        """Stat every input file; read and parse only the new and changed ones (in *jobs*
        worker processes when there are many: 0, one per core)."""
        files = cls(time.time_ns())
        found, skipped = input_files(inputs)
        files.skipped = skipped  # special files, folders too deep: said every run
        todo: list[tuple[str, Path | None, FileRecord | None]] = []
        for given, path in found:
            name = str(gate_files.real_path(path)) if path is not None else given
            files.order.append(name)
            files.paths[name] = path
            files.shown[name] = given
            old = known.get(name)
            if not files._unchanged(name, path, old):
                todo.append((name, path, old))
        files.removed = [n for n in known if n not in files.paths]
        jobs_ = [_Job(name, path, files.shown[name], old.sha if old is not None else None, files.now_ns)
                 for name, path, old in todo]
        # Reading makes hundreds of thousands of objects (a year's papers and their bullets), all
        # kept: the cyclic collector would walk them again at every few thousand more, for
        # nothing (none is garbage in a cycle).  Off while reading, here and in the forked readers,
        # which inherit it so.
        collecting = gc.isenabled()
        gc.disable()
        try:
            for (name, path, old), outcome in zip(todo, _read_all(jobs_, jobs)):
                files._take(name, path, old, outcome)
        finally:
            if collecting:
                gc.enable()
        return files

    def _unchanged(self, name: str, path: Path | None, old: FileRecord | None) -> bool:
        """Whether the file's stat is the one *old* recorded: then its record is kept, unread."""
        if path is not None and old is not None and old.mtime_ns >= 0:
            try:
                st = os.stat(path)
            except OSError:
                return False
            if old.unchanged(st):
                self.records[name] = old
                return True
        return False

    def _take(self, name: str, path: Path | None, old: FileRecord | None, outcome: _Outcome) -> None:
        if outcome.unreadable is not None:
            self.unreadable[name] = outcome.unreadable
        elif outcome.record is None:
            # Touched, not changed: keep what the state knows.
            assert old is not None and outcome.stamp is not None
            stamp = outcome.stamp
            self.records[name] = replace(old, size=stamp.size, mtime_ns=_trusted(stamp, self.now_ns),
                                         ctime_ns=stamp.ctime_ns, ino=stamp.ino)
        else:
            self.parsed[name] = outcome.drafts
            self.records[name] = outcome.record
            self.changed.add(name)

    def parse_again(self, name: str) -> None:
        """Parse a file the state knew, whose days must be rebuilt."""
        try:
            data, stamp = read_input(self.paths[name])
        except OSError as err:
            self.unreadable[name] = _unreadable(self.shown[name], err)
            self.records.pop(name, None)
            return
        drafts, diags = parse_bytes(data, self.shown[name])
        self.parsed[name] = drafts
        if content_hash(data) != self.records[name].sha:
            # Changed while we looked: the next run sees it again.
            self.records[name] = _record(data, stamp, drafts, diags, self.now_ns)
            self.records[name].mtime_ns = -1

    def diagnostics(self, merge_diags: dict[str, list[list[Any]]]) -> tuple[Diagnostic, ...]:
        """Every file's diagnostics in input order (as given names), each day's merge among them."""
        found: list[Diagnostic] = list(self.skipped)
        for name in self.order:
            if name in self.unreadable:
                found.extend(self.unreadable[name])
            elif name in self.records:
                # Stored with the name the file was given then: show today's.
                found.extend(replace(diag, source=replace(diag.source, path=self.shown[name]))
                             for diag in map(diag_from_json, self.records[name].diags))
        for iso in sorted(merge_diags):
            found.extend(diag_from_json(d) for d in merge_diags[iso])
        return in_reading_order(found, [self.shown[name] for name in self.order if name in self.shown])
