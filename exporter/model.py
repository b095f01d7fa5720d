"""The digest model shared by every backend.

Everything here is a frozen, typed dataclass: the reader builds these once and
the EPUB and feed writers only read them.  Text fields are already cleaned
(NFC, no characters that XML 1.0 forbids) by :func:`clean_text`, so backends
never need to think about encodings or control characters.
"""

from __future__ import annotations

import datetime as _dt
import enum
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from operator import attrgetter

from .gates.names import shell_quote  # noqa: F401  (re-exported: sources print through it)
from .gates.text import breaks_in_lines_as_spaces, collapse_white_space, shows_nothing

# XML 1.0 section 2.2 (Char production) allows #x9 | #xA | #xD | [#x20-#xD7FF] |
# [#xE000-#xFFFD] | [#x10000-#x10FFFF].  Everything else makes lxml (and thus
# feedgen, ebooklib) raise at write time, or produces a file readers reject.
# We also drop the C1 controls (discouraged by XML 1.0 section 2.2) and every
# character with the Unicode property Bidi_Control (PropList.txt: U+061C ARABIC
# LETTER MARK, U+200E/U+200F LEFT-TO-RIGHT/RIGHT-TO-LEFT MARK, the embeddings
# and overrides U+202A-U+202E, the isolates U+2066-U+2069), which let a title
# visually spoof its neighbours in a reading list (CVE-2021-42574 "Trojan
# Source"); the marks reorder neutral characters around them just as well.
# Also the Unicode noncharacters (U+FDD0-U+FDEF and the last two code points
# of every plane) and U+FFFD: XML allows most of them, but HTML parsers
# reject them ("invalid-codepoint", HTML section 13.2.3.5), so the W3C Feed
# Validator calls such content invalid HTML or "bad characters".  The astral
# ones are a separate pattern, run only on text that has astral characters:
# in one character class they make every search several times slower.

NONCHARACTERS = "\ufdd0-\ufdef\ufffd\ufffe\uffff"
#: Unicode's Bidi_Control property, as a character class body.
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
#: The noncharacters of planes 1 to 16 (U+1FFFE, U+1FFFF ... U+10FFFF), as a character class body.
ASTRAL_NONCHARACTERS = "".join(f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}"
                               for plane in range(1, 17))
_ASTRAL_NONCHARACTERS = re.compile("[" + ASTRAL_NONCHARACTERS + "]")
_FORBIDDEN = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff" + BIDI_CONTROLS + NONCHARACTERS + "]"
)


_MAYBE_ASTRAL_NONCHARACTER = re.compile("[\U0001fffe-\U0010ffff]")  # a range: a fast search


def drop_astral_noncharacters(text: str) -> str:
    """Remove U+1FFFE, U+1FFFF ... U+10FFFF (see :data:`NONCHARACTERS`)."""
    if _MAYBE_ASTRAL_NONCHARACTER.search(text):
        return _ASTRAL_NONCHARACTERS.sub("", text)
    return text


def counted(n: int, word: str, plural: str | None = None) -> str:
    """``"1 day"``, ``"2 days"``, ``"0 entries"`` (give *plural* when it is not *word* + s)."""
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def shown_value(value: object) -> str:
    """*value* (a config or option value) as TOML spells it, for a message: ``true``, ``"text"``,
    ``2024-03-04T10:00:00``, ``an array``, never a Python repr (``True``, ``datetime.date(...)``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        # As the user wrote it (``1e3``, not Python's ``1000.0``), kept by the config reader.
        return getattr(value, "written", None) or repr(value)
    if isinstance(value, int):
        return _shown_int(value)
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return f"the {'date-time' if isinstance(value, _dt.datetime) else type(value).__name__} {value.isoformat()}"
    if isinstance(value, str):
        # A TOML basic string; what a terminal would act on (controls, bidi) escaped.
        text = value if len(value) <= 80 else value[:77] + "..."
        return '"' + "".join(c if c.isprintable() and c not in '"\\' else
                             ("\\" + c if c in '"\\' else f"\\u{ord(c):04x}" if ord(c) < 0x10000 else f"\\U{ord(c):08x}")
                             for c in text) + '"'
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array of tables" if value and all(isinstance(v, dict) for v in value) else "an array"
    return "a value of another type"




#: The most digits a whole number is shown with in a message; a longer one is shortened.
_MAX_SHOWN_DIGITS = 40


def _shown_int(value: int) -> str:
    """A whole number in decimal (a faithful TOML spelling of any TOML integer, ``0x10`` too),
    shortened past :data:`_MAX_SHOWN_DIGITS` digits with its length: a config line of 4,000
    digits is not echoed whole.  (The config reader refuses more digits than Python converts.)"""
    try:
        text = str(value)
    except ValueError:  # over sys.get_int_max_str_digits()
        return "a number of thousands of digits"
    digits = len(text.lstrip("-"))
    return text if digits <= _MAX_SHOWN_DIGITS else f"{text[:20]}... (a number of {digits} digits)"


def drop_forbidden(text: str) -> str:
    """*text* without the characters :func:`clean_text` removes (no NFC, no
    white-space collapsing): what the renderer applies to its output, after
    markdown-it has decoded character references such as ``&#x202E;``."""
    # Every character removed but U+FFFD is one Python's str.isprintable() refuses (a control,
    # surrogate or format character, or a noncharacter, which stays unassigned in every Unicode
    # version): text without them, most of it, is returned without the two searches (a
    # third of their time; the renderer calls this on every piece of a book).
    if "\ufffd" not in text and (text.isprintable() or _printable_but_breaks(text)):
        return text
    return drop_astral_noncharacters(_FORBIDDEN.sub("", text))


def _printable_but_breaks(text: str) -> bool:
    """Whether *text* is printable once its LF, CR and tab are spaces: a whole file, which
    holds line breaks, known free of what :func:`drop_forbidden` removes in a third of the
    time its two searches take."""
    if "\n" in text:
        text = text.replace("\n", " ")
    if "\r" in text:
        text = text.replace("\r", " ")
    if "\t" in text:
        text = text.replace("\t", " ")
    return text.isprintable()


def has_visible(text: str) -> bool:
    """Whether *text* shows anything: a character that is not white space, a
    control, a format character or another default-ignorable one (zero-width
    space, joiners, variation selectors, Hangul fillers, the Braille blank).
    The text gate's definition (``gates.text.shows_nothing``), the one it
    also applies to line starts."""
    return not shows_nothing(text)


def visible_text(text: str | None) -> str:
    """*text* cleaned (:func:`clean_text`), or "" when it shows nothing: a title given as an
    option or in the config falls back to the digests' own, as a blank heading does."""
    cleaned = clean_text(text or "")
    return cleaned if has_visible(cleaned) else ""


def clean_text(text: str, *, collapse: bool = True) -> str:
    """Return *text* NFC-normalised, without XML-forbidden characters.

    With *collapse* (the default) runs of white space (every Unicode White_Space
    character: the text gate's ``collapse_white_space``) become one space and
    the ends are stripped, which is what every field of the model wants.
    """
    text = unicodedata.normalize("NFC", text)
    if collapse:
        # Before the controls go: VT, FF and NEL are white space, not nothing.
        return collapse_white_space(drop_forbidden(breaks_in_lines_as_spaces(text)))
    return drop_forbidden(text)



def _pickled_as_fields(cls: type) -> type:
    """Pickle the frozen, slotted dataclass *cls* (and its subclasses) as ``type(obj)(*fields)``.

    What ``dataclass(slots=True, frozen=True)`` gives it instead calls
    ``dataclasses.fields()`` for every object pickled and every object loaded
    (``_dataclass_getstate``/``_dataclass_setstate``): most of the time that moving
    a parsed year between processes took.  The constructor sets the same
    fields, in order (none of these classes has a ``__post_init__``).
    """
    cls.__reduce__ = _reduce_fields  # type: ignore[method-assign]
    return cls


def _reduce_fields(self: object) -> tuple[type, tuple[object, ...]]:
    kind = type(self)
    get = _FIELD_GETTERS.get(kind)
    if get is None:
        names = tuple(f.name for f in fields(kind))  # type: ignore[arg-type]
        one = attrgetter(*names)
        get = _FIELD_GETTERS[kind] = (lambda obj: (one(obj),)) if len(names) == 1 else one
    return kind, get(self)


_FIELD_GETTERS: dict[type, Callable[[object], tuple[object, ...]]] = {}


class Severity(str, enum.Enum):
    """How bad a diagnostic is: an error stops the output by default."""

    ERROR = "error"
    WARNING = "warning"
    #: Advice, not a problem (what feed readers will miss without --base-url).
    NOTE = "note"

    def __str__(self) -> str:
        return self.value


@_pickled_as_fields
@dataclass(frozen=True, slots=True, order=True)
class SourceRef:
    """Where something was read: a file path (or ``<stdin>``) and a 1-based line."""

    path: str
    line: int

    def __str__(self) -> str:
        # Line 0: the file as a whole (an output file, a folder).  Standard input is named as
        # programs name it, bare; a file of that name is read as ``./<stdin>`` (reader.parse).
        shown = self.path if self.path == STDIN_NAME else shell_quote(self.path)
        return f"{shown}:{self.line}" if self.line else shown


#: How standard input is named in messages, where a file's name would be.
STDIN_NAME = "<stdin>"


class Kind(str, enum.Enum):
    """What a diagnostic is about.  Summaries count by kind, never by wording."""

    #: A whole input file could not be read or decoded.
    FILE_SKIPPED = "file-skipped"
    #: A day heading whose date cannot be placed: that day's papers are skipped.
    DAY_SKIPPED = "day-skipped"
    #: One paper skipped (no title, or outside any day).
    PAPER_SKIPPED = "paper-skipped"
    #: The file is in a legacy encoding, decoded anyway.
    ENCODING = "encoding"
    #: Something expected is absent: a paper's thumbnail, votes, authors,
    #: summary or link; a day's papers; a file's content.
    MISSING = "missing"
    #: A line, heading or part of a line that is not part of the format.
    IGNORED = "ignored"
    #: A link or thumbnail URL that is not http(s): dropped, never emitted.
    UNSAFE_LINK = "unsafe-link"
    #: A value that cannot be read as what it should be (a vote count).
    BAD_VALUE = "bad-value"
    #: The same paper twice on a day (kept once).
    DUPLICATE = "duplicate"
    #: Input too deep or too large for the outputs, cut.
    LIMIT = "limit"
    #: A thumbnail left out of a book (network, image or policy).
    THUMBNAIL = "thumbnail"
    #: About an output file rather than the input (a feed too large...).
    OUTPUT = "output"


@_pickled_as_fields
@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem the program reports, printed as ``path:line: severity: message``;
    one without a place (``source`` is ``None``) as ``digest-export: severity: message``."""

    source: SourceRef | None
    severity: Severity
    message: str
    kind: Kind

    def __str__(self) -> str:
        return f"{self.source or 'digest-export'}: {self.severity}: {self.message}"

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR


class ThumbnailKind(str, enum.Enum):
    """A paper's thumbnail is a still image or a video clip."""

    IMAGE = "image"
    VIDEO = "video"

    def __str__(self) -> str:
        return self.value


@_pickled_as_fields
@dataclass(frozen=True, slots=True)
class Thumbnail:
    """A thumbnail: an http(s) URL, or a path relative to the digest file.

    ``url`` is exactly what the digest gave (after cleaning).  Relative paths
    are only ever resolved inside the folder of the file that named them
    (see :mod:`exporter.images`).
    """

    kind: ThumbnailKind
    url: str

    @property
    def is_remote(self) -> bool:
        # URL schemes are case-insensitive (RFC 3986 section 3.1): HTTP:// is remote too.
        return self.url[:8].lower().startswith(("http://", "https://"))


@_pickled_as_fields
@dataclass(frozen=True, slots=True)
class SummaryItem:
    """One bullet of a summary.

    ``label`` is the key of a structured bullet (``***What's New***: ...``),
    ``text`` is inline Markdown (rendered only by :mod:`exporter.render`),
    ``children`` are nested bullets or a numbered list under this one.
    """

    text: str
    label: str | None = None
    children: tuple[SummaryItem, ...] = ()


@_pickled_as_fields
@dataclass(frozen=True, slots=True)
class Paper:
    """One paper of a digest, in the digest's rank order.

    ``title`` is literal text, never Markdown.  ``url`` is an http(s) URL or
    ``None`` (non-http links are dropped by the reader, with a warning).
    ``arxiv_id`` is the bare identifier without version (``2403.00522``) and
    is the identity of a paper across days.  ``votes`` is ``None`` when
    unknown (``Vote: -`` or no line), which is not the same as zero.
    """

    title: str
    url: str | None
    arxiv_id: str | None
    thumbnail: Thumbnail | None
    votes: int | None
    authors: tuple[str, ...]
    summary: tuple[SummaryItem, ...]
    source: SourceRef

    @property
    def abs_url(self) -> str | None:
        """The arXiv abstract page without version, when there is an arXiv id."""
        return f"https://arxiv.org/abs/{self.arxiv_id}" if self.arxiv_id else None

    @property
    def pdf_url(self) -> str | None:
        return f"https://arxiv.org/pdf/{self.arxiv_id}" if self.arxiv_id else None

    @property
    def hf_url(self) -> str | None:
        """The Hugging Face paper page, which exists for arXiv papers of the identifiers arXiv
        gives since April 2007 (``2403.01234``): its paths hold no ``/``, so an older identifier
        (``cs/0112017``, https://info.arxiv.org/help/arxiv_identifier.html) has none."""
        new_style = self.arxiv_id is not None and "/" not in self.arxiv_id
        return f"https://huggingface.co/papers/{self.arxiv_id}" if new_style else None

    @property
    def link(self) -> str | None:
        """The best page for the paper: the arXiv abstract, else its own URL."""
        return self.abs_url or self.url

    @property
    def key(self) -> str:
        """Identity of the paper: arXiv id, else URL, else folded title."""
        if self.arxiv_id:
            return f"arxiv:{self.arxiv_id}"
        if self.url:
            return f"url:{self.url}"
        return "title:" + unicodedata.normalize("NFKC", self.title).casefold()

    @property
    def slug(self) -> str:
        """A stable XML-id-safe fragment for this paper (``p-2403.00522``)."""
        if self.arxiv_id:
            return "p-" + re.sub(r"[^A-Za-z0-9.\-]", "-", self.arxiv_id)
        import hashlib

        return "p-" + hashlib.sha1(self.key.encode("utf-8")).hexdigest()[:12]


@_pickled_as_fields
@dataclass(frozen=True, slots=True)
class Digest:
    """One digest day: all papers published under one date, in rank order.

    Several headings with the same date (in one file or several) are merged
    into one ``Digest``; ``sources`` lists every heading that contributed.
    """

    date: _dt.date
    title: str
    papers: tuple[Paper, ...]
    sources: tuple[SourceRef, ...] = field(default=())


@_pickled_as_fields
@dataclass(frozen=True, slots=True)
class ReadResult:
    """What the reader returns: digests sorted by date, and every diagnostic."""

    digests: tuple[Digest, ...]
    diagnostics: tuple[Diagnostic, ...]

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.is_error)

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if not d.is_error)

    @property
    def paper_count(self) -> int:
        return sum(len(d.papers) for d in self.digests)


#: Field metadata for an options dataclass: this option changes how the
#: program runs (where, how fast, how patiently), never the bytes it writes.
#: Every other field is part of :func:`output_settings`, so a new option
#: that changes the output cannot be forgotten by the incremental build.
RUN_ONLY = {"affects_output": False}


def output_settings(options: object) -> dict[str, object]:
    """The fields of the options dataclass *options* that affect the output, by name."""
    import dataclasses

    return {f.name: getattr(options, f.name) for f in dataclasses.fields(options)  # type: ignore[arg-type]
            if f.metadata.get("affects_output", True)}
