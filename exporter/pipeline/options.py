"""What the pipeline is asked to do, what it plans, and what it did."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..books.epub import EpubOptions
from ..gates import files as gate_files
from ..bundles import Bundle
from ..feeds.writer import FORMATS, FeedOptions, FeedReport
from ..model import Diagnostic, Digest, ReadResult
from ..output import WriteStatus
from ..selections import Selection
from ..state import BuildState, OutputRecord, default_state_path, selection_state_path

if TYPE_CHECKING:
    from ..images import ImageFailure

#: Why a book is rebuilt when only the text of its days changed.
INPUTS_CHANGED = "its input files changed"

#: ``build`` writes every format by default: the three feeds and the catalog.
BUILD_FORMATS = FORMATS


@dataclass(frozen=True, slots=True)
class BuildOptions:
    """What to make, and where: the options of every command that writes.

    ``epub``: the books, or ``None`` for none (``digest-export feed``).
    ``feed.formats``: which feeds, and ``opds`` for the catalog of the books;
    none for no feeds (``digest-export epub``).
    ``incremental``: read the state of the last run from the output folder,
    make only what changed, remove what an earlier run made and this one
    would not, and save the new state (``digest-export build``); otherwise
    everything is made and no state is read or kept.
    ``catalog_of_folder``: the catalog lists every EPUB in the folder (for
    ``feed --format opds`` over books that ``epub`` wrote), not only the
    books this run stands for.  ``front_page``: write ``index.html``.
    """

    out_dir: Path = Path(".")
    epub: EpubOptions | None = EpubOptions()
    feed: FeedOptions = FeedOptions(formats=BUILD_FORMATS)
    keep_going: bool = False
    #: Worker processes for the books (0: one per core).
    jobs: int = 0
    incremental: bool = True
    catalog_of_folder: bool = False
    front_page: bool = True
    #: ``build --finished-only``: only the books whose last day is before
    #: this date (today), and ``latest.epub``, a copy of the newest of them.
    finished_before: dt.date | None = None
    #: ``--today``: the day that decides which periods are finished, for
    #: ``finished_before`` and for the catalog's pages (None: the real date).
    today: dt.date | None = None
    #: Where an incremental build keeps its state (None: the user's state
    #: folder, :func:`exporter.state.default_state_path`).
    state_path: Path | None = None
    #: ``--min-votes``/``--top``/``--match``/``--exclude``: only the papers
    #: that pass go into this run's books and feeds.
    filter: Selection | None = None
    #: The config's ``[[selection]]`` tables: each is built into ``DIR/NAME/``
    #: (books, feeds, catalog) beside the whole archive.
    selections: tuple[Selection, ...] = ()
    #: A run that keeps no state (``feed``, ``epub`` into a folder) records what it wrote there
    #: (:func:`exporter.state.written_record_path`): the next ``build`` into the folder replaces
    #: those files as its own while they are as written, and removes those it does not write,
    #: so the folder ends as a fresh build leaves it.
    record_writes: bool = False

    @property
    def selection_titles(self) -> tuple[tuple[str, str], ...]:
        """(name, title) of each selection, in config order (catalog facets, front page)."""
        return tuple((s.name, s.title) for s in self.selections)

    def selection_state(self, name: str) -> Path | None:
        """Where a selection's build keeps its state: beside ``--state FILE``, else the default
        state file of its own folder."""
        return None if self.state_path is None else selection_state_path(self.state_path, self.out_dir, name)

    def state_file(self) -> Path:
        return Path(self.state_path) if self.state_path is not None else default_state_path(self.out_dir)

    def state_base(self) -> Path:
        """What the state's input paths are relative to: the output folder's parent."""
        return gate_files.real_path(self.out_dir).parent

    @property
    def feed_formats(self) -> tuple[str, ...]:
        """The feed files to write (the catalog apart), in order, once each."""
        return tuple(f for f in dict.fromkeys(self.feed.formats) if f != "opds")

    @property
    def catalog(self) -> bool:
        return "opds" in self.feed.formats


@dataclass(slots=True)
class BookPlan:
    """One book of the run; ``reason`` is why it is (re)built, ``None`` if it is up to date."""

    meta: Bundle  # days only (no papers): from the state
    inputs: str
    reason: str | None
    days: int
    papers: int
    #: The device profile this file is for (exporter.books.devices), and the
    #: fingerprint of the options that shape it.
    device: str = "generic"
    settings: str = ""


@dataclass(slots=True)
class BuildPlan:
    """What :func:`~exporter.pipeline.run_build` will do; ``diagnostics`` are
    every input's, including the files that are not read again."""

    options: BuildOptions
    state: BuildState
    new_state: BuildState
    diagnostics: tuple[Diagnostic, ...]
    digests: tuple[Digest, ...]  # the parsed days only
    books: list[BookPlan]
    book_settings: str
    feeds_reason: str | None  # None: feeds up to date (or not wanted)
    feed_inputs: str
    feed_settings: str
    feed_from: dt.date | None  # None: every day
    seen_keys: frozenset[str]
    feed_title: str
    explanations: list[str]
    files_read: int
    files_total: int
    #: The days (ISO dates) of each input file, by the name it was given.
    file_days: dict[str, frozenset[str]] = field(default_factory=dict)
    #: The plan of each selection's folder (``DIR/NAME/``), run after the whole archive's books.
    selections: list[BuildPlan] = field(default_factory=list)
    #: Selections an earlier build made and this one does not: (name, their state file).
    gone_selections: list[tuple[str, Path]] = field(default_factory=list)
    #: Books of periods in which no paper passes the filter: no file, recorded so that the next
    #: run does not look again (book file name -> its record).
    empty_books: dict[str, OutputRecord] = field(default_factory=dict)
    #: The parsed days with only the papers that pass ``options.filter`` (None: no filter), made
    #: by the plan for the run and every selection before anything is written.
    selected: tuple[Digest, ...] | None = None
    #: The archive's title as text, for the front page (:func:`exporter.feeds.entries.feed_name`):
    #: :attr:`feed_title` is the feeds' form of it, where a '<' that would open a tag is a '‹'.
    page_title: str = ""
    #: Why the folder's state could not be used (none, damaged, another version's), or "": a run
    #: without one knows only the files it writes.
    state_lost: str = ""

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return ReadResult((), self.diagnostics).errors

    @property
    def primary_books(self) -> list[BookPlan]:
        """The books of the first device profile: one per period, for the front page,
        ``latest.epub`` and the catalog's entries (the other profiles' files sit beside them)."""
        eo = self.options.epub
        first = eo.profile_names()[0] if eo is not None else "generic"
        return [b for b in self.books if b.device == first]

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        return ReadResult((), self.diagnostics).warnings

    def shown_diagnostics(self) -> tuple[Diagnostic, ...]:
        """The diagnostics worth printing: every error, and the warnings of the files that hold a
        day this run writes (when ``--from``/``--to`` restrict the books, a file whose days are all
        outside them is not talked about)."""
        eo = self.options.epub
        if eo is None or (eo.date_from is None and eo.date_to is None):
            return self.diagnostics
        if self.options.feed_formats and self.feeds_reason and self.feed_from is None:
            return self.diagnostics  # the feeds hold every day
        low, high = (eo.date_from or dt.date.min).isoformat(), (eo.date_to or dt.date.max).isoformat()
        feed_from = self.feed_from.isoformat() if self.feeds_reason and self.feed_from else None

        def wanted(day: str) -> bool:
            return low <= day <= high or (feed_from is not None and day >= feed_from)

        return tuple(d for d in self.diagnostics
                     if d.is_error or not self.file_days.get(d.source.path)
                     or any(wanted(day) for day in self.file_days[d.source.path]))


@dataclass(slots=True)
class BuildReport:
    """What :func:`~exporter.pipeline.run_build` did, file by file, and why (``-v``)."""

    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    #: Files an earlier build wrote that this one would not write: deleted.
    removed: list[Path] = field(default_factory=list)
    explanations: list[str] = field(default_factory=list)
    books: list[tuple[Path, str]] = field(default_factory=list)  # (path, written|unchanged|skipped), in order
    days: int = 0
    papers: int = 0
    images: int = 0
    image_failures: list[ImageFailure] = field(default_factory=list)
    notes: list[Diagnostic] = field(default_factory=list)
    feed: FeedReport | None = None
    files_read: int = 0
    files_total: int = 0
    #: What the book workers learnt for the catalog of the books they wrote
    #: (see :func:`exporter.site.catalog_records.catalog_record`): records as
    #: ``CatalogBooks.new`` holds them, and how each cover file was written.
    catalog_books: dict[str, dict[str, Any]] = field(default_factory=dict)
    catalog_covers: dict[str, WriteStatus] = field(default_factory=dict)
    #: Each selection's feeds, by name (the front page shows them).
    selection_feeds: dict[str, FeedReport] = field(default_factory=dict)
    #: The periods that got no book because no paper of theirs passes the run's filter.
    filtered_out: int = 0

    def add(self, path: Path, status: WriteStatus | str) -> None:
        value = status.value if isinstance(status, WriteStatus) else status
        {"written": self.written, "unchanged": self.unchanged, "skipped": self.skipped}[value].append(path)
