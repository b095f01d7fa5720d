"""Markdown digest files -> :class:`~exporter.model.ReadResult`.

The reader never writes anything and never raises on bad input: every problem
becomes a :class:`~exporter.model.Diagnostic` with its ``path:line``.  The
format, with every variant seen in real archives, is documented in
``docs/format.md`` (and the README): a ``## Title (YYYY-MM-DD)`` heading
per day, a ``### [title](url)`` heading per paper, then optional thumbnail,
``Vote:``, ``Authors:`` lines and a bullet-list summary.

Speed matters (a year of digests is ~100,000 lines): each file is cleaned
(NFC, XML-forbidden characters) once as a whole, and each line is dispatched
on its first character before any regular expression runs.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import hashlib
import gc
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import regex

from ..gates import files as gate_files
from ..gates.files import FileStamp
from ..gates import dates as gate_dates
from ..gates import text as gate_text
from ..model import (
    Diagnostic,
    Digest,
    Kind,
    Paper,
    ReadResult,
    Severity,
    SourceRef,
    SummaryItem,
    Thumbnail,
    ThumbnailKind,
    clean_text,
    drop_forbidden,
    has_visible,
)
from ..gates.urls import accepted_host_reason, local_reference, refusal, web_url
from ..gates.numbers import MAX_VOTES, NotACount, parse_count
from .blocks import Block, hidden_lines

STDIN = "-"

# Day headings ("## Daily Papers (2024-03-04)", or the lenient
# "## Daily Papers 2024-03-04") are split by _split_day_heading: the regular
# expressions that said the same thing (a lazy title followed by \s*) took
# cubic time on a long line of spaces (measured: 384 s for 5,000 spaces before this).
_DATE_RE = re.compile(f"^{gate_dates.DAY}$")
# The dates every output can hold.  ZIP (the EPUB container) stores DOS
# timestamps, which start at 1980-01-01 and end in 2107; feeds carry RFC 822
# and RFC 3339 dates, and week, month and archive arithmetic must stay clear
# of date.max.  A date outside this range is an input error, like 2024-02-30.
FIRST_DATE, LAST_DATE = gate_dates.FIRST_DATE, gate_dates.LAST_DATE
_PAPER_RE = re.compile(r"^###(?!#)\s*(?P<rest>.*)$")
# Possessive quantifiers (``*+``, Python 3.11): two runs of white space that
# can each take the same spaces ("\s*(?:...)?\s*") are tried in every split
# when the line does not end as expected, which is quadratic in the spaces.
# The destination is CommonMark's (section 6.3): "<...>" (no "<", ">" or line
# ending inside), or a run without ASCII space or control characters; other
# white space (U+3000, U+00A0) is part of the URL, as browsers and markdown-it
# read it, hence [ \t] and \x00-\x20 here rather than \s.
# A link title (CommonMark 6.3): in double or single quotes or in parentheses, with backslash
# escapes (``"a \" b"``, ``'it\'s'``, ``(tip)``).
_TITLE = r"""(?:"(?:\\.|[^"\\])*+"|'(?:\\.|[^'\\])*+'|\((?:\\.|[^()\\])*+\))"""
_IMAGE = (r"!\[[^\]]*+\]\([ \t]*+(?:<(?P<a>[^<>\n]*+)>|(?P<url>[^)\x00-\x20]*+))[ \t]*+"
          r"(?:" + _TITLE + r"[ \t]*+)?\)")
_IMAGE_RE = re.compile(r"^" + _IMAGE + r"$")
# The picture as a link ("[![alt](picture)](page)", CommonMark 6.4: an image is a link's text):
# the picture is the thumbnail; the page is not kept (the heading's link is the paper's).
_LINKED_IMAGE_RE = re.compile(r"^\[" + _IMAGE + r"\]\([ \t]*+(?:<[^<>\n]*+>|[^)\x00-\x20]*+)[ \t]*+"
                              r"(?:" + _TITLE + r"[ \t]*+)?\)$")
# "[Watch Video](url)" and the variant without parentheses "[Watch Video]url".
_WATCH_RE = re.compile(r"^\[\s*+watch\s++video\s*+\][ \t]*+(?:\([ \t]*+(?:<(?P<a>[^<>\n]*+)>|(?P<p>[^)\x00-\x20<>]*+))"
                       r"[ \t]*+(?:" + _TITLE + r"[ \t]*+)?\)|(?P<b>[^\x00-\x20()<>]++))[ \t]*+$", re.I)
_ASCII_BLANKS = " \t\n\r\f\v"
# "[^<>]" (not "[^>]"): a search over a line of many unclosed "<video " tags
# stops each attempt at the next "<", which keeps it linear.
_VIDEO_SRC_RE = re.compile(r"""<(?:video|source)\b[^<>]*?\bsrc\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.I)
_IMG_SRC_RE = re.compile(r"""<img\b[^<>]*?\bsrc\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.I)
# Lines that are only the wrapper of a video thumbnail (split over lines).
_WRAPPER_RE = re.compile(r"^(?:</?(?:div|video|source|p|br|center|figure)\b[^>]*>\s*)+$", re.I)
_TAG_LINE_RE = re.compile(r"^</?[A-Za-z][A-Za-z0-9-]*(?:\s[^>]*)?/?>")
_VOTE_RE = re.compile(r"^(?:up)?votes?\s*[:：]\s*(?P<v>.*)$", re.I)
_AUTHORS_RE = re.compile(r"^authors?\s*[:：](?P<a>.*)$", re.I)
_BULLET_RE = re.compile(r"^(?P<indent>[ \t]*)[-*+](?:[ \t]+(?P<text>.*)|[ \t]*$)")
_NUMBER_RE = re.compile(r"^(?P<indent>[ \t]*)[0-9]{1,3}[.)](?:[ \t]+(?P<text>.*)|[ \t]*$)")
# "***What's New***: text", "**Key**: text", "***Key:*** text", "**Key:** text"
_LABEL_RE = re.compile(
    r"^(?P<stars>\*{2,3}|_{2,3})(?P<label>[^*_:：\n]{1,60}?)(?P<colon_in>[:：]?)(?P=stars)"
    r"\s*(?P<colon_out>[:：]?)\s*(?P<text>.*)$"
)
# A line that would be a day or paper heading but for a few characters before
# its "##" (a stray byte pair decoded as a Hangul syllable, a character typed by
# mistake): never read as a heading, but never lost without a word either.
_STRAY_HEADING_RE = re.compile(
    # A character reference counts as the one character it stands for (``&#x202E;``, ``&#35;``, ``&zwj;``:
    # Markdown reads it as that character, so the '##' after it starts no heading).
    r"^(?P<pre>(?:&#[xX][0-9a-fA-F]{1,32};|&#[0-9]{1,32};|&[A-Za-z][A-Za-z0-9]{1,31};|[^#\s]){1,8}?)[ \t]*(?P<h>#{2,3})(?!#)[ \t]+\S")
#: The number signs NFKC makes '#' of (and '#' itself): only a line with one may look like a heading.
_HASHES_RE = re.compile("[#\uff03\ufe5f]")
#: Characters an editor shows as a line break that Markdown's lines do not end at.
_SEPARATOR_RE = re.compile("[\u2028\u2029\x85\x0b\x0c]")
#: A setext heading's underline (CommonMark 0.31, 4.3), and a day heading's date.
_SETEXT_RE = re.compile(r" {0,3}(?:=+|-{2,})[ \t]*")
# An ATX heading (CommonMark 0.31, 4.2): an underline below it is no setext underline (4.3: it
# underlines a paragraph only), just a line of text.
_ATX_LINE_RE = re.compile(r" {0,3}#{1,6}(?:[ \t]|$)")
_DATED_RE = re.compile(r"\(\s*" + gate_dates.DAY + r"\s*\)")
#: A heading seen through NFKC (``＃＃`` is ``##``) after marks that are no letter or digit.
_LOOKALIKE_RE = re.compile(r"^(?P<pre>[^\w#]{0,16}?)\s*(?P<h>#{2,3})(?!#)\s+\S")
_RULE_RE = re.compile(r"^\s*(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,})$")
_ARXIV_RE = re.compile(
    r"^https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/"
    r"(?P<id>[0-9]{4}\.[0-9]{4,5}|[a-z][a-z\-]*(?:\.[A-Z]{2})?/[0-9]{7})(?:v[0-9]+)?(?:\.pdf)?/?(?:[?#].*)?$"
)
_HF_RE = re.compile(
    r"^https?://(?:www\.)?huggingface\.co/papers/(?P<id>[0-9]{4}\.[0-9]{4,5})(?:v[0-9]+)?/?(?:[?#].*)?$"
)
_HTTP_RE = re.compile(r"^https?://[^\s/?#]+", re.I)
_HTTP_START = re.compile(r"https?://", re.I)
#: A complete link in a paper's title: ``[text](http...)``.
_LINK_IN_TITLE = re.compile(r"\]\(\s*<?https?://[^\s)]*\)", re.I)
_UNKNOWN_VOTES = frozenset({"-", "", "N/A", "n/a", "NA", "?", "—", "–"})
_LINK_TITLE_RE = re.compile(r"[ \t]+" + _TITLE + r"[ \t]*\)")
#: Summary bullets nest at most this deep; deeper ones are kept at this
#: level (with a warning).  Unbounded nesting made freezing and rendering
#: recurse past Python's limit, and no reader shows 10 levels.
MAX_DEPTH = 10
#: The most characters a paper's title, authors and summary may hold together.  A published
#: paper is about 2,000; one of megabytes (a line of a million "&", each "&amp;" in XHTML) would
#: make a book document past what templates may render and e-readers open, found only when its
#: book is built, after other files are written.  Read here, it is an error at its line, before
#: any writing: the run writes nothing, or (``--keep-going``) leaves that paper out.
MAX_PAPER_CHARS = 200_000
#: The most bullets a paper's summary may hold (a published paper has a few dozen): counted as
#: they are read, as its characters are, so that a body of a million bullets, empty ones too,
#: is refused when the limit is passed rather than built whole first (half a gigabyte for a
#: 3 MB file).
MAX_PAPER_BULLETS = 20_000
#: The most characters of a day heading's title, which names the books, their series and
#: covers (published digests use a few words).
MAX_DAY_TITLE_CHARS = 500


def _escaped(text: str, at: int, floor: int = 0) -> bool:
    """Whether the character at *at* in *text* is escaped: preceded by an odd number of
    backslashes (CommonMark 2.4), counted back to *floor* at most (what comes before it, the
    inside of a code span, escapes nothing).  Steps over the run alone: no copy of the text."""
    k = at
    while k > floor and text[k - 1] == "\\":
        k -= 1
    return (at - k) % 2 == 1


def arxiv_id_from_url(url: str | None) -> str | None:
    """The arXiv identifier (without version) named by an arXiv or HF URL."""
    if not url:
        return None
    m = _ARXIV_RE.match(url) or _HF_RE.match(url)
    return m.group("id") if m else None


def is_http_url(url: str) -> bool:
    return bool(_HTTP_RE.match(url))


def decode(data: bytes, path: str) -> tuple[str | None, list[Diagnostic]]:
    """Decode a digest file through :func:`exporter.gates.text.decode`: UTF-8 (a BOM anywhere),
    UTF-16 or UTF-32 with a BOM, ISO-2022-KR/-JP by their escape sequences, else CP949, each
    with a warning; NUL bytes removed with a warning."""
    decoded = gate_text.decode(data)
    if decoded.text is None:
        line, why = decoded.error or (1, "undecodable")
        return None, [Diagnostic(SourceRef(path, line), Severity.ERROR,
                                 f"cannot decode the file: {why}; save it as UTF-8", Kind.FILE_SKIPPED)]
    diags = [Diagnostic(SourceRef(path, line), Severity.WARNING, what, Kind.ENCODING)
             for line, what in decoded.notes]
    if decoded.encoding == "cp949":
        diags.insert(0, Diagnostic(SourceRef(path, 1), Severity.WARNING,
                                   f"file is not UTF-8 (from line {decoded.utf8_until}); decoded as CP949 (EUC-KR)",
                                   Kind.ENCODING))
    elif decoded.encoding.startswith("iso-2022"):
        diags.insert(0, Diagnostic(SourceRef(path, 1), Severity.WARNING,
                                   f"file is {decoded.encoding.upper()} ({decoded.told_by}); decoded "
                                   "(save it as UTF-8)", Kind.ENCODING))
    elif decoded.encoding in ("utf-16", "utf-32"):
        diags.insert(0, Diagnostic(SourceRef(path, 1), Severity.WARNING,
                                   f"file is {decoded.encoding.upper()}"
                                   f"{f' ({decoded.told_by})' if decoded.told_by else ''}; decoded (save it as UTF-8)",
                                   Kind.ENCODING))
    return decoded.text, diags


def split_lines(text: str) -> list[str]:
    # str.splitlines() would also split on \x0b, \x1c, U+2028 ... and shift
    # every line number after them; only LF, CRLF and CR end a line here.
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.split("\n")


def _destination(text: str) -> str:
    """A CommonMark link destination's URL as written (section 6.3): backslash
    escapes and character references read, ASCII blanks at its ends stripped, and nothing else: no
    white space is collapsed or replaced (U+3000 stays U+3000, for the URL
    gate to escape as the URL Standard says, %E3%80%80)."""
    if "\\" in text or "&" in text:
        # Backslash escapes and character references, as markdown-it reads a destination
        # (``2403&#46;00001`` is ``2403.00001``).
        from markdown_it.common.utils import unescapeAll

        text = unescapeAll(text)
    return text.strip(_ASCII_BLANKS)


def _attribute_value(m: re.Match[str]) -> str:
    """The ``src`` value an HTML tag's match holds, as a browser reads it: character references
    decoded (HTML section 13.2.5.72: ``?a=1&amp;b=2`` is ``?a=1&b=2``, ``&#104;ttps:`` is
    ``https:``), ASCII white space at its ends stripped (a URL's own, section 2.5.1)."""
    import html

    value = next(g for g in m.groups() if g is not None)
    return html.unescape(value).strip(_ASCII_BLANKS) if "&" in value else value.strip(_ASCII_BLANKS)


def _collapse(text: str) -> str:
    """:func:`clean_text` for text already cleaned as part of its file."""
    return gate_text.collapse_white_space(text)


# The destination of an inline link or image, "](<...>" or "](..." up to ")" or
# an ASCII blank (CommonMark 6.3): kept as written by _collapse_markdown.
_DESTINATIONS = re.compile(r"(\]\(<[^<>\n]*+>|\]\([^)\x00-\x20<][^)\x00-\x20]*+)")


def _collapse_markdown(text: str) -> str:
    """:func:`_collapse` for inline Markdown: white space is collapsed in the text,
    not inside link destinations, where U+3000 or U+00A0 is part of the URL
    (CommonMark 6.3 ends a destination at ASCII space only); made a space
    there, it ended the link, and the summary showed "[t](https://...)"."""
    if "](" not in text or text.isascii():
        return _collapse(text)
    parts = _DESTINATIONS.split(text)
    return "".join(part if i % 2 else gate_text.runs_as_one_space(part) for i, part in enumerate(parts)).strip(" ")


class _Item:
    """A summary bullet being built (mutable); frozen into a SummaryItem."""

    # A plain slotted class: ~40,000 are made per year of digests and a
    # dataclass with a default_factory is measurably slower to construct.
    __slots__ = ("text", "label", "indent", "numbered", "children", "more", "no", "more_nos")

    def __init__(self, text: str, label: str | None, indent: int, numbered: bool = False, no: int = 0):
        self.text = text
        self.no = no  # the line of text
        self.label = label
        self.indent = indent
        self.numbered = numbered
        self.children: list[_Item] = []
        # Continuation lines, joined once in freeze(): appending to the
        # string each time was quadratic in the length of a bullet.
        self.more: list[str] = []
        self.more_nos: list[int] = []  # their lines

    def freeze(self) -> SummaryItem | None:
        children: tuple[SummaryItem, ...] = ()
        if self.children:
            children = tuple(f for f in (c.freeze() for c in self.children) if f is not None)
        text = self.text
        if self.more:
            text = " ".join([text, *self.more] if text else self.more)
        text = _collapse_markdown(text)
        if not has_visible(text):
            text = ""  # only characters that show as nothing (a Hangul filler...): no text
        if not (text or self.label or children):
            return None  # an empty "- " bullet
        return SummaryItem(text=text, label=self.label, children=children)


@dataclass(slots=True)
class _PaperDraft:
    title: str
    url: str | None
    source: SourceRef
    thumbnail: Thumbnail | None = None
    votes: int | None = None
    saw_votes: bool = False
    authors: tuple[str, ...] = ()
    saw_authors: bool = False
    # The lines of the first 'Vote:' and 'Authors:': a second one is reported and ignored.
    votes_line: int = 0
    authors_line: int = 0
    items: list[_Item] = field(default_factory=list)
    # Items with a "://" in their text, whose links are checked when the paper ends: whether a
    # URL is a link depends on the whole item (a code span may open on an earlier line).
    url_items: list[_Item] = field(default_factory=list)
    # Open items for nesting, innermost last.
    stack: list[_Item] = field(default_factory=list)
    # A bullet ending with ':' and the indent of the flush numbered list
    # under it (docs/format.md, variant 3).
    colon_stack: list[_Item] | None = None
    colon_numbers_indent: int | None = None
    last_blank: bool = False
    # Bullets were nested deeper than MAX_DEPTH (reported once, at the heading).
    too_deep: bool = False
    # The characters and bullets of its summary so far; once past a limit, why the paper is
    # skipped, and nothing more of it is kept.
    size: int = 0
    bullets: int = 0
    over: str = ""


@dataclass
class _DigestDraft:
    date: dt.date
    title: str
    source: SourceRef
    papers: list[Paper] = field(default_factory=list)
    #: Hash of this heading's lines, up to the next day heading: what changed
    #: in a file holding many days (an archive in one file) is known by day.
    text_hash: str = ""


class _FileParser:
    """Parses one decoded, cleaned file.  Collects digest drafts and diagnostics."""

    def __init__(self, path: str, lines: list[str]):
        self.path = path
        self.lines = lines
        self.diags: list[Diagnostic] = []
        self.digests: list[_DigestDraft] = []
        self.digest: _DigestDraft | None = None
        # Why papers under the current heading cannot be placed (bad date,
        # no date, no heading yet); None while under a good heading.
        self.no_digest_reason: str | None = None
        self.paper: _PaperDraft | None = None
        # True inside a paper that was skipped: its lines are not reported again.
        self.in_skipped_paper = False
        # The lines a Markdown viewer shows as code or hides (:func:`.blocks.hidden_lines`).
        self.hidden: dict[int, Block] = {}
        #: Lines that the cleaning made headings by removing what stood among their marks (see
        #: :func:`_cleaned_into_headings`), with what it removed: read as the text they show as.
        self.cleaned_into: dict[int, str] = {}

    def diag(self, line: int, severity: Severity, message: str, kind: Kind) -> None:
        self.diags.append(Diagnostic(SourceRef(self.path, line), severity, message, kind))

    def unspaced_heading(self, no: int, line: str, level: int) -> None:
        """Say a heading read without the space CommonMark wants after its '#' (4.2): a Markdown
        viewer shows the line as text.  Read all the same (``###[title](url)`` is a variant
        producers write, and is not said); a no-break or ideographic space is not a space there."""
        after = line[level]
        what = "no space" if not after.isspace() else f"U+{ord(after):04X}, which is not a space there,"
        self.warn(no, f"this line looks like a heading, but has {what} after its '{'#' * level}': a Markdown "
                      f"viewer shows the line as text, not as a heading; read as a {'day' if level == 2 else 'paper'} "
                      f"heading all the same (write '{'#' * level} ')", Kind.IGNORED)

    def read_level(self, no: int, line: str) -> int | None:
        """The level of the heading that line *no* is read as (0: none, the line is text), once
        what a Markdown viewer shows instead is said; None for a line it shows as code or nothing."""
        hidden = self.hidden
        if no in self.cleaned_into and line[0] == "#" and _heading_level(line):
            self.cleaned_into_heading(no, line, self.cleaned_into[no])
            return 0
        if hidden and no in hidden:
            if line[0] == "#" and _heading_level(line) in (2, 3):
                self.hidden_heading(no, line, hidden[no])
                if hidden[no].hides:
                    return None
            if hidden[no].hides:
                return 0
        elif line[0] != "#" or not _heading_level(line):
            self.heading_lookalike(no, line, self.lines[no - 2] if no >= 2 else "")
            return 0
        return _heading_level(line) if line[0] == "#" else 0

    def heading(self, no: int, line: str, level: int, saw_heading: bool) -> bool:
        """Read the heading of *level* at line *no*; whether a day heading was read so far."""
        if level in (2, 3) and line[level:level + 1] not in ("", " ", "\t") and line[level] != "[":
            self.unspaced_heading(no, line, level)
        if level == 3:
            self.finish_paper()
            self.start_paper(no, line[3:].strip())
        elif level == 2:
            self.finish_paper()
            self.start_digest(no, line.rstrip())
            return True
        elif level > 3:
            # Deeper headings are not part of the format; keep the
            # paper open so its following lines are not lost.
            if not self.in_skipped_paper:
                self.warn(no, f"heading ignored: {_excerpt(line)} (only ## day and ### paper headings are read)", Kind.IGNORED)
        else:
            # "# Title" of a file: not modelled, ends the paper.
            if saw_heading:  # after a day, not the file's title: the papers below stay on it
                self.warn(no, f"heading ignored: {_excerpt(line)} (only ## day and ### paper headings are "
                              "read; the papers below stay on the day above)", Kind.IGNORED)
            self.finish_paper()
            self.in_skipped_paper = False
        return saw_heading

    def cleaned_into_heading(self, no: int, line: str, removed: str) -> None:
        """Say a line that the cleaning made a heading (:func:`_cleaned_into_headings`)."""
        what = ", ".join(f"U+{ord(c):04X} ({_REMOVED_NAMES.get(c) or _removed_kind(c)})" for c in removed[:4])
        self.warn(no, f"this line looks like a heading, but {what} stood among its "
                      f"'{line[:_heading_level(line)]}', where a Markdown viewer shows it and the line as text: "
                      "not read as one (removed, as such characters are everywhere)", Kind.IGNORED)

    def hidden_heading(self, no: int, line: str, block: Block) -> None:
        """Say a heading that a Markdown viewer shows as code, as text or hides (:mod:`.blocks`)."""
        if not block.hides:
            # An HTML block that ends at a blank line (a producer's <div><video ...></video></div>
            # line, CommonMark 4.6 types 6 and 7): read, since its line may stand right above.
            self.warn(no, f"this {'day' if _heading_level(line) == 2 else 'paper'} heading follows the HTML at line "
                          f"{block.opened_at} with no blank line between, so a Markdown viewer shows it as text of "
                          "that HTML, not as a heading: read as one all the same (put a blank line before it)",
                      Kind.IGNORED)
            return
        what = ("a fenced code block" if block.fence else "an HTML comment" if block.what == "<!--"
                else "an HTML block")
        self.warn(no, f"this line looks like a {'day' if _heading_level(line) == 2 else 'paper'} heading, but it "
                      f"is inside {what} ('{block.what}' at line {block.opened_at}), which a Markdown viewer shows "
                      f"{'as code' if block.fence or block.what != '<!--' else 'as nothing'}: not read as one",
                  Kind.IGNORED)

    def heading_lookalike(self, no: int, line: str, before: str) -> None:
        """Say it when line *no*, not read as a heading, looks like one (or makes the line *before*
        one): so a paper or a day is never folded into the one before without a word."""
        if _may_look_like_heading(line):
            self.say_lookalike(no, line, before)

    def say_lookalike(self, no: int, line: str, before: str) -> None:
        """:meth:`heading_lookalike` for a line that may look like a heading."""
        if _SETEXT_RE.fullmatch(line) and before.strip() and not _ATX_LINE_RE.match(before) and (
                line.lstrip()[0] == "=" or _DATED_RE.search(before) or before.lstrip().startswith("[")):
            # CommonMark 0.31, 4.3: a line of '=' or '-' under text makes it a heading ("setext").
            self.warn(no, f"the line above, {_excerpt(before.strip())}, is a heading in Markdown by this underline, "
                          "which digest-export does not read as a day or a paper: write '## ' or '### ' before it",
                      Kind.IGNORED)
        elif (cut := _SEPARATOR_RE.search(line)) is not None and _LOOKALIKE_RE.match(line[cut.end():].lstrip()):
            # U+2028, U+2029, NEL, VT and FF end a line in an editor, not in Markdown: the heading
            # after one is text of this line.
            self.warn(no, f"this line looks like a heading after U+{ord(cut.group(0)):04X}, a line break an editor shows "
                          "but Markdown does not: not read as one (start the heading on a line of its own)", Kind.IGNORED)
        elif line[0].isspace() and (bare := line.lstrip())[:2] == "##" and _heading_level(bare) in (2, 3):
            # Four spaces or a tab make it the text of the bullet above (CommonMark 0.31, 4.2 and
            # 5.2), and U+3000, NBSP and the other Unicode spaces are no indentation at all.
            pre = line[:len(line) - len(bare)]
            codes = " ".join(f"U+{ord(c):04X}" for c in pre[:8])
            self.warn(no, f"this line looks like a heading, but white space ({codes}) comes before its "
                          f"'{bare[:_heading_level(bare)]}': not read as one (a heading starts its line, after "
                          "at most 3 spaces)", Kind.IGNORED)
        elif line.find("#", 1, 300) > 0 and (stray := _STRAY_HEADING_RE.match(line)):
            pre = stray.group("pre")
            if re.fullmatch(r"&#[xX]?[0-9a-fA-F]+;", pre):
                code = int(pre[3:-1], 16) if pre[2] in "xX" else int(pre[2:-1])
                what = f"the character reference {pre!r}" + (f" (U+{code:04X})" if code <= 0x10FFFF else "")
            else:
                what = f"{pre!r} ({' '.join(f'U+{ord(c):04X}' for c in pre)})"
            self.warn(no, f"this line looks like a heading, but {what} comes before its "
                          f"'{stray.group('h')}': not read as one (a stray character, or bytes of "
                          "another encoding?)", Kind.IGNORED)
        elif _HASHES_RE.search(line, 0, 64) and (look := _LOOKALIKE_RE.match("".join(c for c in unicodedata.normalize("NFKC", line[:64])
                                                  if unicodedata.category(c) != "Cf"))) is not None:
            # Read through compatibility forms: a full-width '＃' (U+FF03) or a small one, or marks
            # before the '##' that are no letter (an HTML comment, a quote, punctuation).
            pre = re.match(r"[^#\uff03\ufe5f]*", line).group(0)
            hidden = [c for c in line[:16] if unicodedata.category(c) == "Cf"]
            if pre.strip():
                shown = f"{pre!r} ({' '.join(f'U+{ord(c):04X}' for c in pre[:8])}) comes before its '{look.group('h')}'"
            elif hidden:
                shown = f"an invisible character (U+{ord(hidden[0]):04X}) stands among its '{look.group('h')}'"
            else:
                shown = f"it is written with {line[len(pre)]!r} (U+{ord(line[len(pre)]):04X}), not '#'"
            self.warn(no, f"this line looks like a heading, but {shown}: not read as one", Kind.IGNORED)
        elif (_may_show_heading(line)
              and _HEADING_AS_SHOWN.match(shown_line := _as_shown(line[:300]))):
            # Any other spelling that shows as a heading once read (its character references
            # decoded, comments, marks and invisible characters left out): '&#35;&#35; ', '#&#x301;# ',
            # '<!-- -->## ', '#\u2028# '.  Not one for Markdown: said, never folded in without a word.
            self.warn(no, f"this line looks like a heading, {_excerpt(shown_line.strip())}, once shown (character "
                          "references decoded, comments, marks and invisible characters left out), but it is "
                          "not one in Markdown: not read as one (write '## ' or '### ' at its start)", Kind.IGNORED)

    def warn(self, line: int, message: str, kind: Kind) -> None:
        self.diag(line, Severity.WARNING, message, kind)

    def error(self, line: int, message: str, kind: Kind) -> None:
        self.diag(line, Severity.ERROR, message, kind)

    # -- driver -------------------------------------------------------------
    def parse(self) -> None:
        self.no_digest_reason = "it comes before any '## Title (YYYY-MM-DD)' heading"
        saw_heading = False
        saw_text = False
        for no, line in enumerate(self.lines, start=1):
            # A line of invisible characters is blank to the reader (it shows nothing), not to
            # the block scanner (CommonMark 4.9).
            if not line or line.isspace() or (not line[0].isascii() and not has_visible(line)):
                if self.paper is not None:
                    self.paper.last_blank = True
                continue
            saw_text = True
            if line[0] == " " and line[1:4].lstrip(" ")[:1] == "#":
                # CommonMark 0.31, 4.2: an ATX heading may be indented by up to 3 spaces.
                line = line.lstrip(" ")
            level = self.read_level(no, line)
            if level is None:
                continue
            if level:
                saw_heading = self.heading(no, line, level, saw_heading)
            elif self.paper is not None:
                # Fast path for the most common line by far: a "- " bullet.
                if line[:2] == "- " and line[2:3] != "-":
                    self.paper.last_blank = False
                    self.add_item(line[2:], 0, numbered=False, no=no)
                else:
                    self.paper_line(no, line)
            elif self.in_skipped_paper:
                continue
            elif (self.digest is not None or saw_heading) and not _RULE_RE.match(line):
                self.warn(no, f"text outside of any paper ignored: {_excerpt(line)}", Kind.IGNORED)
        self.finish_paper()
        self.hash_digest_texts()
        if not saw_text:
            self.warn(1, "file is empty", Kind.MISSING)
        elif not saw_heading:
            self.warn(1, "no '## Title (YYYY-MM-DD)' day heading in this file; nothing read", Kind.IGNORED)
        # finish_paper reports at the paper's heading, after its lines:
        # present everything in line order.
        self.diags.sort(key=lambda d: d.source.line)

    def hash_digest_texts(self) -> None:
        starts = [d.source.line - 1 for d in self.digests] + [len(self.lines)]
        for digest, start, end in zip(self.digests, starts, starts[1:]):
            text = "\n".join(self.lines[start:end]).encode("utf-8", "surrogatepass")
            digest.text_hash = hashlib.blake2b(text, digest_size=16).hexdigest()

    # -- headings -----------------------------------------------------------
    def start_digest(self, no: int, line: str) -> None:
        self.digest = None
        self.in_skipped_paper = False
        m = _split_day_heading(line)
        if m is None:
            # Not a day heading at all ("## Notes"): only an error if papers
            # follow, since they then cannot be placed.
            self.warn(no, f"heading without a date ignored: {_excerpt(line)} (expected '## Title (YYYY-MM-DD)')", Kind.IGNORED)
            self.no_digest_reason = f"its heading at line {no} has no date"
            return
        raw_date = m[1].strip()
        self.no_digest_reason = f"its day heading at line {no} has an invalid date"
        try:
            date = gate_dates.day(raw_date)
        except gate_dates.DateRefused as err:
            shown = raw_date if isinstance(err, gate_dates.NoSuchDate) else f"'{_excerpt(raw_date)}'"
            self.error(no, f"{shown} {err}; this day's papers are skipped", Kind.DAY_SKIPPED)
            return
        if not FIRST_DATE <= date <= LAST_DATE:
            self.error(no, f"{raw_date} is outside the supported dates ({FIRST_DATE.isoformat()} to "
                       f"{LAST_DATE.isoformat()}); this day's papers are skipped", Kind.DAY_SKIPPED)
            return
        title = clean_text(m[0])
        title = title if has_visible(title) else "Daily Papers"
        if len(title) > MAX_DAY_TITLE_CHARS:
            self.no_digest_reason = f"its day heading at line {no} has a title too long"
            self.error(no, f"the day's title is {len(title):,} characters, more than the {MAX_DAY_TITLE_CHARS} a "
                           "title may have; this day's papers are skipped", Kind.DAY_SKIPPED)
            return
        self.no_digest_reason = None
        self.digest = _DigestDraft(date, title, SourceRef(self.path, no))
        self.digests.append(self.digest)

    def start_paper(self, no: int, rest: str) -> None:
        title, url, extra = _split_title_link(rest)
        title = _collapse(title)
        self.in_skipped_paper = True
        if self.digest is None:
            self.error(no, f"paper {_quote(title)} skipped: {self.no_digest_reason}", Kind.PAPER_SKIPPED)
            return
        if not has_visible(title):
            # Only white space or invisible characters (U+200B...) is no title.
            self.error(no, "paper has no title; skipped", Kind.PAPER_SKIPPED)
            return
        if extra:
            self.warn(no, f"text after the paper link ignored: {_excerpt(extra)}", Kind.IGNORED)
        if url is not None and any(not _escaped(title, m.start()) for m in _LINK_IN_TITLE.finditer(title)):
            # The title runs to the last "](" (docs/format.md, variant 7): a link in it is a second
            # link of the heading, and a Markdown viewer links the first (unless its "]" is
            # escaped, "\\]": text then, CommonMark 2.4, as the title keeps it).
            self.warn(no, f"this paper heading holds more than one link: the paper's is the last, {_quote(url)}, "
                          f"and the title keeps the others as text ({_excerpt(title)}); a Markdown viewer "
                          "links the first", Kind.IGNORED)
        if url is not None:
            # Unescaped ASCII spaces are a producer's habit (docs/format.md); other
            # characters are left to the URL gate, which escapes them as written.
            url = _destination(url).replace(" ", "%20")
            if not url:
                self.warn(no, "paper link is empty", Kind.MISSING)
                url = None
            elif not is_http_url(url):
                self.warn(no, f"paper link {_quote(url)} is not http(s); dropped", Kind.UNSAFE_LINK)
                url = None
            elif (checked := web_url(url)) is None:
                self.warn(no, f"paper link {_quote(url)} {refusal(url)}; dropped", Kind.UNSAFE_LINK)
                url = None
            elif (why := accepted_host_reason(checked)) is not None:
                self.warn(no, f"paper link {_quote(url)}: {why}; left out",
                          Kind.UNSAFE_LINK)
                url = None
            else:
                # One spelling per page: the paper's identity, feed ids and
                # links all derive from the normalised URL.
                url = checked
        else:
            self.warn(no, "paper heading has no link", Kind.MISSING)
        self.in_skipped_paper = False
        self.paper = _PaperDraft(title, url, SourceRef(self.path, no))

    # -- lines inside a paper ----------------------------------------------
    def paper_line(self, no: int, raw: str) -> None:
        p = self.paper
        assert p is not None
        line = raw.rstrip()
        blank_before, p.last_blank = p.last_blank, False
        in_summary = bool(p.items)
        indented = line[0] in " \t"
        if indented:
            if in_summary:
                self.summary_line(no, line, blank_before, indented=True)
                return
            line = line.lstrip()
        c = line[0]
        # Metadata lines: recognised before and (unindented) after the summary
        # starts, since their order is not guaranteed.
        if c == "!" or c == "[" or c == "<":
            if self.thumbnail_line(no, line):
                return
        elif c in "VvUu":
            if m := _VOTE_RE.match(line):
                self.vote_line(no, m.group("v").strip())
                return
        elif c in "Aa":
            if m := _AUTHORS_RE.match(line):
                if p.saw_authors:
                    self.warn(no, f"second 'Authors:' line ignored (the paper's authors are those of line "
                                  f"{p.authors_line})", Kind.IGNORED)
                    return
                p.saw_authors, p.authors_line = True, no
                p.authors = tuple(filter(has_visible, map(gate_text.collapse_white_space, m.group("a").split(","))))
                return
        self.summary_line(no, line, blank_before, indented=indented and in_summary)

    def summary_line(self, no: int, line: str, blank_before: bool, *, indented: bool) -> None:
        p = self.paper
        assert p is not None
        c = line.lstrip()[0]
        if c in "-*+_":
            if _RULE_RE.match(line):
                return  # a thematic break between parts
            if m := _BULLET_RE.match(line):
                self.add_item(m.group("text") or "", _indent_width(m.group("indent")), numbered=False, no=no)
                return
            if not indented and (c == "*" or c == "_") and _split_label(line)[0] is not None:
                # "***What's New***: ..." without a bullet marker.
                self.add_item(line, 0, numbered=False, no=no)
                return
        elif c.isdigit():
            if m := _NUMBER_RE.match(line):
                self.add_item(m.group("text") or "", _indent_width(m.group("indent")), numbered=True, no=no)
                return
        elif c == "<" and _WRAPPER_RE.match(line.strip()):
            return  # leftover of a video thumbnail's HTML: never content
        stripped = line.strip()
        if p.stack and not blank_before:
            # A lazy continuation line (CommonMark 5.1): the innermost item.
            self.append(p.stack[-1], stripped, no)
            return
        if p.stack and indented:
            # After a blank line an indented paragraph belongs to the deepest
            # open item it is indented under.
            width = _indent_width(line[: len(line) - len(line.lstrip())])
            target = p.stack[0]
            for item in p.stack:
                if item.indent < width:
                    target = item
            self.append(target, stripped, no)
            return
        if c == "<" and _TAG_LINE_RE.match(stripped):
            self.warn(no, f"raw HTML line ignored: {_excerpt(stripped)}", Kind.IGNORED)
            return
        # Prose that is not a bullet: keep it as a summary paragraph, so that
        # nothing is lost (it is rendered as escaped inline Markdown).
        self.add_item(stripped, 0, numbered=False, no=no)

    def check_item_links(self, item: _Item) -> None:
        """:meth:`check_links` on each line of *item* (its text as the renderer sees it: the lines
        joined as :meth:`_Item.freeze` joins them), outside its code spans."""
        if item.label and "://" in item.label:
            self.check_links(item.no, item.label)  # rendered on its own
        pieces, nos = ([item.text, *item.more], [item.no, *item.more_nos]) if item.text else (item.more, item.more_nos)
        joined = " ".join(pieces)
        code = _code_spans(joined) if "`" in joined else []
        offset = 0
        for piece, no in zip(pieces, nos):
            if "://" in piece:
                self.check_links(no, piece, offset, code)
            if "](" in piece or "<" in piece:
                self.check_other_schemes(no, piece, offset, code)
            offset += len(piece) + 1

    def check_other_schemes(self, no: int, line: str, offset: int, code: list[tuple[int, int]]) -> None:
        """Warn about each link of a summary line that is no absolute http(s) URL (``javascript:``,
        ``file:``, ``mailto:``, ``https:example.org``, ``//example.org/p``, a relative path, an
        autolink ``<ftp://...>``): the renderer leaves it as text, and a link left out is said, as
        for a paper link or a thumbnail.  An http(s) one is :meth:`check_links`'s to judge."""
        for m in _OTHER_SCHEME.finditer(line):
            if code and _inside(code, offset + m.start()):
                continue
            url = m.group(1) or m.group(2)
            if not _HTTP_START.match(url):
                self.warn(no, f"link {_quote(url)} is not http(s); dropped", Kind.UNSAFE_LINK)

    def check_links(self, no: int, line: str, offset: int = 0,
                    code: list[tuple[int, int]] | None = None) -> None:
        """Warn about each link of a summary line that the renderer leaves out (gates.urls.
        public_url, as render.safe_url): the messages given for a paper link or a thumbnail.
        A URL inside a code span (*code*: where they are, *offset*: where *line* starts in that
        text) is text, not a link (CommonMark 6.1: code spans bind tighter than links)."""
        for m in _URL_SPANS.finditer(line):
            span = m.group(1)
            if span[:1] in "sS":  # an HTML attribute (raw HTML is ignored)
                continue
            if code and _inside(code, offset + m.start()):
                continue
            if span[:1] in "hH" and line.startswith("](", m.end()):
                continue  # the text of a link ("[https://x/](...)"), not a link: its destination is
            if span[:2] == "](":  # a link destination: CommonMark backslash escapes apply
                url = _destination(span[2:].removeprefix("<").removesuffix(">"))
            else:
                url = span.strip("<>")
            checked = web_url(url)
            if checked is None:
                # A link's destination or an autolink that starts as http(s) (``https:///host``:
                # no host, not "another scheme" either); a bare URL's end is linkify's to find.
                if span[:1] in "]<" and _HTTP_START.match(url):
                    self.warn(no, f"link {_quote(url)} {refusal(url)}; dropped", Kind.UNSAFE_LINK)
            elif (why := accepted_host_reason(checked)) is not None:
                self.warn(no, f"link {_quote(url)}: {why}; left out", Kind.UNSAFE_LINK)

    def thumbnail_line(self, no: int, s: str) -> bool:
        p = self.paper
        assert p is not None
        kind: ThumbnailKind
        c = s[0]
        if c == "!" and (m := _IMAGE_RE.match(s)):
            kind, url = ThumbnailKind.IMAGE, _destination(m.group("url") or m.group("a") or "")
        elif c == "[" and s.startswith("[![") and (m := _LINKED_IMAGE_RE.match(s)):
            kind, url = ThumbnailKind.IMAGE, _destination(m.group("url") or m.group("a") or "")
        elif c == "[" and (m := _WATCH_RE.match(s)):
            kind, url = ThumbnailKind.VIDEO, _destination(m.group("p") or m.group("a") or m.group("b") or "")
        elif c == "<" and (m := _VIDEO_SRC_RE.search(s)):
            kind, url = ThumbnailKind.VIDEO, _attribute_value(m)
        elif c == "<" and (m := _IMG_SRC_RE.search(s)):
            kind, url = ThumbnailKind.IMAGE, _attribute_value(m)
        elif c == "<" and _WRAPPER_RE.match(s):
            return True  # the wrapper of a video thumbnail, split over lines
        else:
            return False
        if p.thumbnail is not None:
            # "[Watch Video](u)" is followed by its <video src=u>: the same
            # thumbnail again (docs/format.md, variant 1).
            if p.thumbnail.url != url and not (
                p.thumbnail.kind is ThumbnailKind.VIDEO and kind is ThumbnailKind.VIDEO
            ):
                self.warn(no, "second thumbnail ignored", Kind.IGNORED)
            return True
        if not url:
            self.warn(no, "thumbnail has no URL; ignored", Kind.MISSING)
        elif is_http_url(url):
            checked = web_url(url)
            if checked is None:
                self.warn(no, f"thumbnail URL {_quote(url)} {refusal(url)}; dropped", Kind.UNSAFE_LINK)
                return True
            if (why := accepted_host_reason(checked)) is not None:
                # Kept: with --allow-private-hosts the picture is still downloaded into the book;
                # its URL is never written to an output (gates.urls.public_url).
                self.warn(no, f"thumbnail link {_quote(url)}: {why}; left out",
                          Kind.UNSAFE_LINK)
            p.thumbnail = Thumbnail(kind, checked)  # its one spelling, as links have
        elif _is_relative_path(url):
            p.thumbnail = Thumbnail(kind, local_reference(url))
        else:
            self.warn(no, f"thumbnail URL {_quote(url)} is not http(s); dropped", Kind.UNSAFE_LINK)
        return True

    def vote_line(self, no: int, value: str) -> None:
        p = self.paper
        assert p is not None
        if p.saw_votes:
            self.warn(no, f"second 'Vote:' line ignored (the paper's votes are those of line {p.votes_line})",
                      Kind.IGNORED)
            return
        p.saw_votes, p.votes_line = True, no
        if value in _UNKNOWN_VOTES:
            p.votes = None
            return
        try:  # int() would take ٣٤, 1_000 and any length: the number gate takes ASCII digits, bounded
            votes = parse_count(value, high=MAX_VOTES, grouped=True)
        except NotACount as err:
            self.warn(no, f"vote count {_quote(value)} {err}; treated as unknown", Kind.BAD_VALUE)
            p.votes = None
            return
        p.votes = votes

    def append(self, item: _Item, text: str, no: int) -> None:
        """Line *no*, *text*, continues *item*."""
        p = self.paper
        if p is not None and self._past_limits(p, len(text), 0):
            return
        item.more.append(text)
        item.more_nos.append(no)
        if "://" in text or "](" in text or "<" in text:
            assert self.paper is not None
            self.paper.url_items.append(item)

    @staticmethod
    def _past_limits(p: _PaperDraft, chars: int, bullets: int) -> bool:
        """Count *chars* and *bullets* more in the paper *p*: whether it is past a limit (then
        nothing more of it is kept; :meth:`finish_paper` skips it)."""
        if p.over:
            return True
        p.size += chars
        p.bullets += bullets
        if p.size > MAX_PAPER_CHARS:
            p.over = f"its summary holds more than the {MAX_PAPER_CHARS:,} characters a paper may have"
        elif p.bullets > MAX_PAPER_BULLETS:
            p.over = f"its summary has more than the {MAX_PAPER_BULLETS:,} bullets a paper may have"
        if p.over:
            p.items.clear()
            p.url_items.clear()
            p.stack.clear()
            p.colon_stack = None
        return bool(p.over)

    def add_item(self, text: str, indent: int, *, numbered: bool, no: int) -> None:
        p = self.paper
        assert p is not None
        if self._past_limits(p, len(text), 1):
            return
        text = text.strip()
        label = None
        if text[:2] in ("**", "__"):
            label, text = _split_label(text)
        item = _Item(text, label, indent, numbered, no)
        # (and any other link, whose destination is checked too: _OTHER_SCHEME)
        if "://" in text or "](" in text or "<" in text or (label and "://" in label):
            p.url_items.append(item)
        stack = p.stack
        if numbered and p.colon_stack is not None and indent <= p.colon_stack[-1].indent and (
            p.colon_numbers_indent is None or p.colon_numbers_indent == indent
        ) and len(p.colon_stack) < MAX_DEPTH:
            # A numbered list flush left right under a bullet that ends with
            # ':' belongs to that bullet (docs/format.md, variant 3).
            p.colon_numbers_indent = indent
            p.stack = stack = list(p.colon_stack)
            stack[-1].children.append(item)
            stack.append(item)
            return
        while stack and stack[-1].indent >= indent:
            stack.pop()
        if len(stack) >= MAX_DEPTH:
            p.too_deep = True
            del stack[MAX_DEPTH - 1:]
        if stack:
            stack[-1].children.append(item)
        else:
            p.items.append(item)
        stack.append(item)
        if p.colon_stack is not None and indent <= p.colon_stack[-1].indent:
            p.colon_stack = None
        if not numbered:
            # "- ***Steps***:" (label, no text) ends with its colon too.
            if text.endswith((":", "：")) or (label and not text):
                p.colon_stack = list(stack)
                p.colon_numbers_indent = None

    def finish_paper(self) -> None:
        p, self.paper = self.paper, None
        if p is None or self.digest is None:
            return
        line = p.source.line
        if p.thumbnail is None:
            self.warn(line, "paper has no thumbnail", Kind.MISSING)
        if not p.saw_votes:
            self.warn(line, "paper has no 'Vote:' line", Kind.MISSING)
        if not p.saw_authors:
            self.warn(line, "paper has no 'Authors:' line", Kind.MISSING)
        if p.over:
            self.error(line, f"paper {_quote(p.title)} skipped: {p.over}", Kind.PAPER_SKIPPED)
            return
        for item in dict.fromkeys(p.url_items):  # an item once, however many of its lines have URLs
            self.check_item_links(item)
        summary = tuple(f for f in (i.freeze() for i in p.items) if f is not None)
        size = len(p.title) + sum(len(a) for a in p.authors) + _text_size(summary)
        if size > MAX_PAPER_CHARS:
            self.error(line, f"paper {_quote(p.title)} skipped: its title, authors and summary hold "
                             f"{size:,} characters, more than the {MAX_PAPER_CHARS:,} a paper may have",
                       Kind.PAPER_SKIPPED)
            return
        if not summary:
            self.warn(line, "paper has no summary", Kind.MISSING)
        if p.too_deep:
            self.warn(line, f"summary bullets nested more than {MAX_DEPTH} levels deep; "
                            f"the deeper ones are shown at level {MAX_DEPTH}", Kind.LIMIT)
        self.digest.papers.append(
            Paper(
                title=p.title,
                url=p.url,
                arxiv_id=arxiv_id_from_url(p.url),
                thumbnail=p.thumbnail,
                votes=p.votes,
                authors=p.authors,
                summary=summary,
                source=p.source,
            )
        )


def _text_size(items: tuple[SummaryItem, ...]) -> int:
    """The characters of *items* and their nested bullets (an explicit stack: no recursion)."""
    size, todo = 0, list(items)
    while todo:
        item = todo.pop()
        size += len(item.text) + len(item.label or "")
        todo.extend(item.children)
    return size


def _heading_level(line: str) -> int:
    """2 for a day heading, 3 for a paper heading (also without the space
    CommonMark wants: "###[t](u)"), 1 or 4-6 for other ATX headings, else 0."""
    n = len(line) - len(line.lstrip("#"))
    if n in (2, 3):
        return n
    if n <= 6 and (len(line) == n or line[n] in " \t"):
        return n
    return 0


def _split_day_heading(line: str) -> tuple[str, str] | None:
    """``(title, date text)`` of a day heading, or None; linear time.

    ``## Title (date)``: the date is what the last ``(...)`` of the line
    holds (no parentheses inside).  Otherwise ``## Title YYYY-MM-DD``.  An
    ATX closing sequence ``##`` may follow (CommonMark 4.2).  The title is
    everything before, stripped.
    """
    if line[:2] != "##" or line[2:3] == "#":
        return None
    s = line[2:].rstrip()
    if s.endswith("#"):
        s = s.rstrip("#").rstrip()
    if s.endswith(")"):
        start = s.rfind("(", 0, len(s) - 1)
        if start >= 0 and ")" not in s[start + 1:-1]:
            date = s[start + 1:-1]
            if _DATE_RE.match(date.strip()):
                return s[:start].strip(), date
            # "(not a date)": the lenient form may still hold a date.
            bare = _split_bare_date(s)
            return bare if bare is not None else (s[:start].strip(), date)
    return _split_bare_date(s)


def _split_bare_date(s: str) -> tuple[str, str] | None:
    if len(s) >= 10 and _DATE_RE.match(s[-10:]):
        return s[:-10].strip(), s[-10:]
    return None


def _split_title_link(rest: str) -> tuple[str, str | None, str]:
    """Split ``[title](url)`` into title, url and any text after the link.

    Producers fill ``### [{title}]({url})`` without escaping, so the title is
    everything up to the *last* ``](`` and can hold unbalanced brackets
    (docs/format.md, variant 7).
    """
    rest = rest.strip()
    if rest.startswith("["):
        cut = rest.rfind("](")
        if cut > 0:
            url, extra = _split_destination(rest[cut + 2:])
            return rest[1:cut], url, extra
        if rest.endswith("]"):
            return rest[1:-1], None, ""
    return rest, None, ""


def _split_destination(tail: str) -> tuple[str, str]:
    """Split ``url "title") extra`` after ``](``: the URL ends at the ``)``
    that balances its parentheses (CommonMark 6.3), so ``[t](u) (ICML)`` gives
    ``u`` and ``(ICML)``."""
    tail = tail.strip()
    if tail.startswith("<"):
        # CommonMark 6.3: "<...>", which may hold spaces and parentheses but no
        # "<", ">" or line ending; the title, if any, and ")" follow.
        end = tail.find(">")
        if end > 0 and "<" not in tail[1:end]:
            after = tail[end + 1:]
            close = after.find(")")
            return tail[1:end], after[close + 1:].strip() if close >= 0 else after.strip()
    elif tail[-1:] == ")" and "(" not in tail and " " not in tail and "\t" not in tail and tail.count(")") == 1:
        return tail[:-1], ""  # the usual "url)"
    depth = 0
    for i, ch in enumerate(tail):
        if ch == "(":
            depth += 1
        elif ch == ")":
            if depth == 0:
                return tail[:i].strip(), tail[i + 1:].strip()
            depth -= 1
        elif ch in " \t" and depth == 0 and (i == 0 or tail[i - 1] not in " \t"):
            # Either a link title ("...") or a URL with unencoded spaces.
            # Tried once per run of blanks, without slicing (a line of
            # spaces was quadratic): a match from inside the run
            # is also a match from its start.
            m = _LINK_TITLE_RE.match(tail, i)
            if m:
                return tail[:i], tail[m.end():].strip()
    close = tail.rfind(")")
    if close < 0:
        return tail, ""  # unclosed: everything is the URL
    return tail[:close].strip(), tail[close + 1:].strip()


def _split_label(text: str) -> tuple[str | None, str]:
    if text[:2] not in ("**", "__"):
        return None, text
    m = _LABEL_RE.match(text)
    if not m or not (m.group("colon_in") or m.group("colon_out")):
        return None, text
    label = _collapse(m.group("label"))
    if not has_visible(label):
        return None, text
    return label, m.group("text").strip()


def _indent_width(indent: str) -> int:
    return len(indent.expandtabs(4)) if "\t" in indent else len(indent)


def _is_relative_path(url: str) -> bool:
    return not re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*:", url) and not url.startswith(("/", "\\"))


def _excerpt(text: str, limit: int = 60) -> str:
    text = clean_text(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _quote(text: str) -> str:
    return "'" + _excerpt(text) + "'"


# -- files and merging ------------------------------------------------------

def input_files(inputs: Iterable[str | Path]) -> tuple[list[tuple[str, Path | None]], list[Diagnostic]]:
    """Expand inputs: files as given, folders to their ``.md`` files (sorted,
    recursively, skipping hidden folders such as ``.git``), ``-`` to standard
    input (path ``None``).  A file named twice is read once.

    Folders are walked by :func:`exporter.gates.files.walk`: symbolic links
    to folders are followed (an archive often links a year's folder in from
    elsewhere), a folder reached twice is walked once, a named pipe, socket
    or device named ``*.md`` is skipped with a warning (never opened: it
    would block), and folders nested too deep are an error.
    """
    seen: set[str] = set()
    files: list[tuple[str, Path | None]] = []
    diags: list[Diagnostic] = []
    for item in inputs:
        if str(item) == STDIN:
            # Named twice, read once, as a file is: a second read would find it empty (the
            # first took it all) and warn so, while the day it held was read once.
            if ("<stdin>", None) not in files:
                files.append(("<stdin>", None))
            continue
        # A name typed in NFC finds the file macOS named in NFD, and the reverse.
        path = gate_files.find_spelling(Path(item)) or Path(item)
        if path.is_dir():
            walked = gate_files.walk(path, lambda name: name.endswith(".md"))
            found = walked.files
            for skip in walked.skipped:
                diags.append(Diagnostic(SourceRef(str(skip.path), 0),
                                        Severity.ERROR if skip.is_error else Severity.WARNING,
                                        skip.reason, Kind.FILE_SKIPPED))
        else:
            found = [path]
        for p in found:
            key = os.path.realpath(p)
            if key in seen:
                continue
            seen.add(key)
            # A file named as standard input is in messages: told apart by its folder.
            files.append((str(p) if str(p) != "<stdin>" else "./<stdin>", p))
    return files, diags


def iter_input_files(inputs: Iterable[str | Path]) -> Iterator[tuple[str, Path | None]]:
    """The files of :func:`input_files`, without what was skipped."""
    yield from input_files(inputs)[0]


def cannot_read(name: str, err: OSError) -> Diagnostic:
    """The error for an input file that cannot be read (missing, a FIFO, too large)."""
    reason = (name != "<stdin>" and gate_files.broken_link(name)) or err.strerror or str(err)
    if isinstance(err, gate_files.NotRegularFile) and "pipe" in reason:
        reason += " (use '-' to read standard input)"
    return Diagnostic(SourceRef(name, 1), Severity.ERROR, f"cannot read: {reason}", Kind.FILE_SKIPPED)


def read_input(path: Path | None) -> tuple[bytes, FileStamp]:
    """(bytes, stamp) of an input file, through the file gate (``None``: standard
    input, read to the same cap); the stamp from the open file, so they match."""
    if path is None:
        data = gate_files.read_stdin(gate_files.DIGEST_LIMIT)
        if len(data) > gate_files.DIGEST_LIMIT:
            raise gate_files.FileTooLarge(27, "standard input is larger than the limit for a digest")
        return data, FileStamp(0, -1, -1, 0)
    data, st = gate_files.read_with_stat(path, gate_files.DIGEST_LIMIT)
    return data, FileStamp.of(st)


def parse_bytes(data: bytes, name: str) -> tuple[list[_DigestDraft], list[Diagnostic]]:
    """The days of the digest file *name* whose bytes are *data*, and what reading it said, in
    line order (what decoding finds, such as a byte-order mark in mid-file, would otherwise be
    said before the parse's words on lines above it); the file's own words (line 0) first.
    Stable: the words on one line keep their order."""
    text, diags = decode(data, name)
    if text is None:
        return [], diags
    drafts, parse_diags = parse_text(text, name)
    return drafts, sorted(diags + parse_diags, key=lambda d: d.source.line if d.source is not None else 0)


_BACKTICKS = re.compile(r"`+")


def _code_spans(text: str) -> list[tuple[int, int]]:
    """Where the code spans of inline Markdown *text* are, ``(start, end)`` from the opening
    backtick to after the closing one, as markdown-it (CommonMark 6.1) finds them: left to right,
    a run of backticks not escaped by a backslash opens a span that the next run of the same
    length closes (backslashes inside a span are literal); a run that no such run follows is
    text.  Linear: each run is looked up once, by length."""
    runs = [(m.start(), m.end()) for m in _BACKTICKS.finditer(text)]
    by_length: dict[int, list[int]] = {}
    for i, (start, end) in enumerate(runs):
        by_length.setdefault(end - start, []).append(i)
    spans: list[tuple[int, int]] = []
    done = 0  # the end of the last span: backslashes before it are inside it
    i = 0
    while i < len(runs):
        start, end = runs[i]
        if _escaped(text, start, done):
            start += 1  # "\`" is a literal backtick; the rest of the run may open a span
        same = by_length.get(end - start, [])
        j = bisect.bisect_right(same, i)
        if end == start or j == len(same):
            i += 1
            continue
        close = runs[same[j]][1]
        spans.append((start, close))
        done, i = close, same[j] + 1
    return spans


def _inside(spans: list[tuple[int, int]], position: int) -> bool:
    """Whether *position* falls in one of *spans* (sorted, disjoint)."""
    i = bisect.bisect_right(spans, (position, float("inf"))) - 1
    return i >= 0 and spans[i][0] <= position < spans[i][1]


# Where a URL is written: a link destination ("](<...>", "](..."), an autolink
# ("<https:...>"), a bare URL, an HTML src attribute.  One capturing group: split
# gives text, URL, text...; possessive runs keep it linear.
# A bare URL ends before "](": what follows is the destination of the link whose text it is
# ("[https://x/](https://x/)"), another span, not more of it.
_URL_SPANS = re.compile(r"(\]\(<[^<>\n]*+>|\]\([^)\x00-\x20<][^)\x00-\x20]*+|<https?:[^<>\x00-\x20]*+>"
                        r"|https?://(?:[^\x00-\x20<>\"'`\]]|\](?!\())++"
                        r"|\bsrc[ \t]*+=[ \t]*+(?:\"[^\"\n]*+\"|'[^'\n]*+'))", re.I)


def _nfc_outside_urls(text: str) -> str:
    """*text* in NFC, except the URLs in it, which stay as written.

    Browsers escape a URL's characters as written (URL Standard, "percent-encode
    after encoding"; only a host is normalised, by UTS #46): NFC would make
    U+2000 EN QUAD the EN SPACE U+2002, or U+212B ANGSTROM SIGN U+00C5, and the
    link another address."""
    if unicodedata.is_normalized("NFC", text):
        return text
    parts = _URL_SPANS.split(text)
    return "".join(part if i % 2 else unicodedata.normalize("NFC", part) for i, part in enumerate(parts))


def parse_text(text: str, name: str) -> tuple[list[_DigestDraft], list[Diagnostic]]:
    # Clean the whole file once (NFC outside URLs, no XML-forbidden characters;
    # line breaks are kept): every field is a slice of it and only needs its
    # white space collapsed.
    spaced = gate_text.breaks_in_lines_as_spaces(text)
    dropped = drop_forbidden(spaced)
    cleaned_into: dict[int, str] = {}
    started: list[tuple[int, str]] = []
    if len(dropped) != len(spaced) or gate_text.BOM in dropped:
        cleaned_into, started = _cleaned_into_headings(spaced)
        # A byte-order mark the text gate kept, on a line that its removal would make a heading.
        dropped = dropped.replace(gate_text.BOM, "")
    cleaned = _nfc_outside_urls(dropped)
    parser = _FileParser(name, split_lines(cleaned))
    parser.cleaned_into = cleaned_into
    if len(dropped) != len(text) or spaced != text:
        # Blocks are where a Markdown viewer has them: in the text as written, where a NUL in a
        # closing fence or '-->' closes nothing and a line of FF is no blank line (CommonMark
        # 2.3, 4.9); the lines are the same lines.
        parser.hidden = hidden_lines(split_lines(text), text)
    else:
        parser.hidden = hidden_lines(parser.lines, cleaned)
    _hidden_line_breaks(parser, text)
    for no, before in started:
        shown = " ".join(f"U+{ord(c):04X}" for c in before[:4]) + (" ..." if len(before) > 4 else "")
        parser.warn(no, f"this line starts with what digest-export removes everywhere ({shown}), which a "
                        "Markdown viewer shows before its '#' (the line is text there): read as a heading all "
                        "the same, without it (remove it from the file)", Kind.IGNORED)
    parser.parse()
    return parser.digests, parser.diags


def _cleaned_into_headings(text: str) -> tuple[dict[int, str], list[tuple[int, str]]]:
    """The lines (numbered from 1) that removing the characters no output may hold (controls,
    direction marks, noncharacters, U+FFFD: :func:`exporter.model.drop_forbidden`) and a
    byte-order mark would make headings they are not as written, each with what it removes
    from its marks (:func:`exporter.gates.text.heading_made_by_removing`); and, in one pass, the
    lines that are day or paper headings once what *starts* them is removed, each with what that
    is.  A Markdown viewer shows those as text (CommonMark 0.31, 4.2: a heading starts after at
    most three spaces); the reader reads the heading (a day or paper is not lost to a stray
    byte), and says so.  A byte-order mark there is said where it is removed."""
    def dropped(part: str) -> str:
        return drop_forbidden(part).replace(gate_text.BOM, "")

    found, started = {}, []
    for no, line in enumerate(split_lines(text), start=1):
        removed = gate_text.heading_made_by_removing(line, dropped)
        if removed:
            found[no] = removed
        first = line.find("#", 0, 64)
        if first > 0:
            before = line[:first]
            kept, bare = dropped(before), before.replace(gate_text.BOM, "").strip(" \t")
            # Something removed, nothing kept but up to three spaces (else the look-alike rules).
            if (bare and not kept.strip(" \t") and len(kept) <= 3
                    and _heading_level(drop_forbidden(line[first:])) in (2, 3)):
                started.append((no, bare))
    return found, started


_REMOVED_NAMES = {"\0": "NUL", gate_text.BOM: "a byte-order mark", "\x1b": "ESC", "\ufffd": "a replacement character"}


def _removed_kind(ch: str) -> str:
    category = unicodedata.category(ch)
    return ("a control character" if category == "Cc" else "a direction mark" if category == "Cf"
            else "a surrogate" if category == "Cs" else "a noncharacter")


#: VT, FF, NEL and the information separators FS, GS, RS inside a line, a heading after them:
#: Python's ``str.splitlines()`` and many editors break the line there, Markdown does not (and
#: the cleaning makes a space of the first three, removes the others as controls).
_HIDDEN_BREAK = re.compile(r"(?<=[^\n\r])[\x0b\x0c\x85\x1c\x1d\x1e]+(?=[ \t]{0,3}#{2,3}[ \t]+\S)")


#: A link destination or an autolink with a scheme (CommonMark 6.3, 6.5; a scheme is 2 to 32
#: characters): those not http(s) are said by :meth:`_FileParser.check_other_schemes`.
_OTHER_SCHEME = re.compile(r"\]\(\s*<?((?:[^\s()<>]|\([^\s()<>]*\))+)>?(?=\s*(?:\"[^\"]*\"|'[^']*')?\s*\))"
                           r"|<([A-Za-z][A-Za-z0-9+.\-]{1,31}:[^\s<>]*)>")
_HEADING_AS_SHOWN = re.compile(r"[ \t]{0,3}#{2,3}[ \t]+\S")
#: What a Markdown viewer renders as no text: tags, comments, processing instructions, CDATA.
_MARKUP_RE = re.compile(r"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>|<[^>]*>", re.DOTALL)
_UNSHOWN = regex.compile(r"[\p{Mn}\p{Me}\p{Cf}\p{Zl}\p{Zp}\p{Cc}\p{Default_Ignorable_Code_Point}\u2800]")


def _may_look_like_heading(line: str) -> bool:
    """Whether :meth:`_FileParser.heading_lookalike` may say anything of *line*: it starts (after
    spaces) as a setext underline does ('=' or '--'), or it holds a '#', a form of one
    (:data:`_HASHES_RE`) or a reference to one (``&num;``), which every other look-alike it says
    needs.  Most lines hold none: four ``in`` tests spare them its six searches."""
    return ("#" in line or "\uff03" in line or "\ufe5f" in line or "&num;" in line
            or (start := line.lstrip(" ")[:2]) == "--" or start[:1] == "=")


def _may_show_heading(line: str) -> bool:
    """Whether *line* may show as a heading (:func:`_as_shown`, which renders it: half a
    millisecond a line): it holds a '#' (or a form or reference of one), and its first character
    after spaces is one that can show as nothing or as '#' (markup, a reference, an escape, a
    character that is not ASCII), not a letter, a digit or a list mark that would show first."""
    first = line.lstrip(" ")[:1]
    if first.isascii() and first not in "#&<\\[!":
        return False
    return (line.find("#", 0, 300) >= 0 or line.find("&num;", 0, 300) >= 0 or line.find("\uff03", 0, 300) >= 0
            or line.find("\ufe5f", 0, 300) >= 0)


def _as_shown(text: str) -> str:
    """*text* as a reader sees it in a Markdown viewer (where digests are read and written):
    rendered inline by markdown-it with raw HTML on (character references decoded, backslash
    escapes taken, empty links, images, tags, comments and CDATA showing nothing), compatibility
    forms folded (NFKC), and what shows as nothing left out (marks, format characters,
    separators, controls, every default-ignorable code point, the Braille blank)."""
    import html

    text = html.unescape(_MARKUP_RE.sub("", _viewer().renderInline(text)))
    text = unicodedata.normalize("NFKC", text).replace("\t", " ")
    return _UNSHOWN.sub("", text)


@functools.cache
def _viewer():
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True})


def _hidden_line_breaks(parser: _FileParser, text: str) -> None:
    """Say each heading that stands after such a character, at its line, before the cleaning
    removes the character: the day or paper would be folded into the line above without a word."""
    if not any(c in text for c in "\x0b\x0c\x85\x1c\x1d\x1e"):
        return
    for m in _HIDDEN_BREAK.finditer(text):
        parser.warn(gate_text.line_of(text, m.start()),
                    f"this line looks like a heading after U+{ord(m.group(0)[0]):04X}, a line break other "
                    "programs show but Markdown does not: not read as one (start the heading on a line of "
                    "its own)", Kind.IGNORED)


def read_digests(inputs: Iterable[str | Path]) -> ReadResult:
    """Read every input and return digests (sorted by date) and diagnostics.

    Days with the same date are merged; a paper repeated within a day is kept
    once (first appearance) with a warning.  The same paper on different days
    is kept on each day: ``Paper.key`` tells that it is the same.
    """
    # The reader allocates ~10 objects per line and no reference cycles; the
    # cyclic garbage collector would rescan them all repeatedly (about 15% of
    # the reading time of a year of digests).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _read_digests(inputs)
    finally:
        if gc_was_enabled:
            gc.enable()


def _read_digests(inputs: Iterable[str | Path]) -> ReadResult:
    drafts: list[_DigestDraft] = []
    files, diags = input_files(inputs)
    for name, path in files:
        try:
            data = read_input(path)[0]
        except OSError as err:
            diags.append(cannot_read(name, err))
            continue
        found, file_diags = parse_bytes(data, name)
        drafts.extend(found)
        diags.extend(file_diags)
    digests, merge_diags = merge(drafts)
    diags.extend(merge_diags)
    return ReadResult(digests=tuple(digests), diagnostics=in_reading_order(diags, [name for name, _ in files]))


def in_reading_order(diags: Iterable[Diagnostic], paths: list[str]) -> tuple[Diagnostic, ...]:
    """*diags* file by file in the order *paths* were read, each file's in line order (docs/format.md:
    "in line order"): what merging the days says (a day with no papers, at its heading) among its
    file's words, not after every file's.  Words about no file first; stable otherwise."""
    position = {path: i for i, path in enumerate(paths)}

    def key(d: Diagnostic) -> tuple[int, int]:
        return (-1, 0) if d.source is None else (position.get(d.source.path, len(position)), d.source.line)

    return tuple(sorted(diags, key=key))


def merge(drafts: list[_DigestDraft]) -> tuple[list[Digest], list[Diagnostic]]:
    by_date: dict[dt.date, list[_DigestDraft]] = {}
    for d in drafts:
        by_date.setdefault(d.date, []).append(d)
    out: list[Digest] = []
    diags: list[Diagnostic] = []
    for date in sorted(by_date):
        group = by_date[date]
        papers: list[Paper] = []
        seen: dict[str, Paper] = {}
        for d in group:
            for paper in d.papers:
                first = seen.get(paper.key)
                if first is not None:
                    diags.append(Diagnostic(
                        paper.source, Severity.WARNING,
                        f"duplicate paper {_quote(paper.title)} on {date.isoformat()} "
                        f"(first at {first.source}); kept once", Kind.DUPLICATE,
                    ))
                    continue
                seen[paper.key] = paper
                papers.append(paper)
        if not papers:
            diags.append(Diagnostic(group[0].source, Severity.WARNING,
                                    f"day {date.isoformat()} has no papers", Kind.MISSING))
        out.append(Digest(
            date=date,
            title=group[0].title,
            papers=tuple(papers),
            sources=tuple(d.source for d in group),
        ))
    return out, diags
