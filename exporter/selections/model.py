"""What a selection is: frozen, checked values.  Nothing here reads papers."""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from ..errors import UsageError
from ..gates.numbers import out_of_range
from ..model import clean_text, has_visible, shown_value

#: A term longer than this is refused: no topic needs it, and a 1 MB term
#: would be folded and searched in every paper.
MAX_TERM_CHARS = 500
#: A selection's title is shown after the series' in each book title ("SERIES · TITLE") and in
#: its feeds' titles: the two together within what a reading system's library list shows.
MAX_TITLE_CHARS = 200
#: Terms per list: enough for a topic, bounded work per paper.
MAX_TERMS = 100
MAX_NAME_CHARS = 64
MAX_TOP = 100_000
MAX_VOTES = 10**9

_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
#: Names a selection folder must not have: the files and folders a build
#: writes at the top of DIR (a folder named ``archive`` would mix with the
#: RFC 5005 archives), and the device names Windows reserves whatever the
#: extension (``con``, ``nul``, ``com1``: "Naming Files, Paths, and
#: Namespaces", learn.microsoft.com/windows/win32/fileio/naming-a-file).
RESERVED_NAMES = frozenset({
    "archive", "feed", "catalog", "index", "latest", "icon",
    "con", "prn", "aux", "nul", "conin", "conout", "clock",
    *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10)),
})
#: The name of the filter of ``--min-votes``/``--top``/``--match``/``--exclude``.
ONE_OFF_NAME = "command-line"
#: Prefix of a term that is a regular expression.
REGEX_PREFIX = "re:"


class SelectionError(UsageError):
    """A selection that cannot work (exit status 2); the message names the key, and :attr:`key`
    holds it when the error is about one key of the table (the config's message gives its line)."""

    key: str | None = None


def _refused(message: str, key: str) -> SelectionError:
    err = SelectionError(message)
    err.key = key.removeprefix("--")
    return err


def fold(text: str) -> str:
    """*text* as terms and papers are compared: Unicode compatibility form and case folded
    (NFKC, then case folding, then NFKC again: folding can undo the normal form), so
    full-width letters, Korean in NFD and ``ß``/``ss`` compare equal."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


@dataclass(frozen=True, slots=True)
class Term:
    """One ``match``/``exclude`` term: plain text (folded) or a regular expression (``re:...``)."""

    source: str
    folded: str | None  # plain text, folded; None for a regular expression
    pattern: str | None  # the regular expression as written after ``re:``


def parse_term(text: Any, where: str) -> Term:
    """The term *text*, or SelectionError naming *where* (``selection 'video': match``)."""
    if not isinstance(text, str):
        raise SelectionError(f"{where}: each term must be a string (in quotes), not {shown_value(text)}")
    if len(text) > MAX_TERM_CHARS:
        raise SelectionError(f"{where}: a term of {len(text)} characters; at most {MAX_TERM_CHARS}")
    if text.startswith(REGEX_PREFIX):
        pattern = text[len(REGEX_PREFIX):]
        if not pattern.strip():
            raise SelectionError(f"{where}: the regular expression {shown_value(text)} is empty")
        _compile(pattern, where, text)
        return Term(text, None, pattern)
    cleaned = clean_text(text)
    if not has_visible(cleaned):
        raise SelectionError(f"{where}: an empty term ({shown_value(text)}) would match every paper")
    return Term(text, fold(cleaned), None)


def _flags() -> int:
    """The flags every term's pattern is compiled with.  VERSION0: the syntax and meaning of
    Python's re.  The text searched is folded (see fold); the pattern is not (folding would
    turn ``\\B`` into ``\\b``), so it is compiled case-insensitive with full case folding."""
    import regex

    return regex.VERSION0 | regex.IGNORECASE | regex.FULLCASE


def _calls_itself(pattern: str) -> bool:
    """Whether *pattern* holds a recursion or subroutine call ((?R), (?1), (?&name), (?P>name)):
    their memory grows with the text without bound (a MemoryError on two papers), which no time
    budget stops, so they are refused.  Told by the ``regex`` module's own parser, as its
    ``compile`` runs it (its ``CallGroup`` and ``CallRef`` nodes), not by a reading of the text
    beside it: verbose mode lets a call hold white space and comments (``(?&  n)``,
    ``(?P >n)``, ``(?R #c``), scoped or global, which a second reading missed.  A pattern the
    parser refuses calls nothing (the compile says why it does not compile)."""
    import regex._regex_core as core

    flags = _flags()
    try:
        while True:
            source = core.Source(pattern)
            info = core.Info(flags, source.char_type, {})
            info.guess_encoding = core.UNICODE
            source.ignore_space = bool(info.flags & core.VERBOSE)
            source.use_unicode_space(bool(info.flags & core.VERSION1))
            try:
                parsed = core._parse_pattern(source, info)
                break
            except core._UnscopedFlagSet:  # a (?x) past the start: parsed again with it, as compile does
                flags = info.global_flags
    except (core.error, ValueError, KeyError, OverflowError, RecursionError):
        return False
    except (AttributeError, TypeError):
        # The parser is the library's own, not its public API: should a later version change it,
        # every pattern is refused (loudly, at config time) rather than run unchecked.
        return True
    return _holds_call(parsed, (core.CallGroup, core.CallRef), core.RegexBase)


def _holds_call(parsed: Any, calls: tuple[type, ...], node: type) -> bool:
    """Whether the parsed pattern *parsed* has a node of *calls* anywhere (its nodes' fields
    walked with a stack, each once: no recursion on a deeply nested pattern)."""
    seen: set[int] = set()
    todo = [parsed]
    while todo:
        item = todo.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, calls):
            return True
        if isinstance(item, (list, tuple)):
            todo.extend(item)
        elif isinstance(item, node):
            todo.extend(v for v in vars(item).values() if isinstance(v, (list, tuple, node)))
    return False


#: What compiling one pattern may take, in the trial child: memory beyond what
#: the process already maps, and wall-clock seconds.
COMPILE_BYTES = 256 * 1024 * 1024
COMPILE_SECONDS = 2.0
#: Where fork is missing (not Linux/macOS): the largest product of all counted
#: repeats a pattern may hold, a static bound that over-counts (it multiplies
#: repeats that are not nested too), so it only refuses more.
_STATIC_REPEATS = 10_000
_COUNT = re.compile(r"\{\s*([0-9]+)")
#: Patterns whose trial compilation succeeded in this process.
_TRIED: set[str] = set()
#: What compiling all the patterns of a run may take together (each is compiled again here, and
#: kept): a hundred terms each under the bounds above took 65 s and 3 GB.
TOTAL_COMPILE_BYTES = 512 * 1024 * 1024
TOTAL_COMPILE_SECONDS = 10.0
#: What the trials of this process measured so far: [bytes, seconds].
_SPENT = [0, 0.0]


def regex_fuzzy(pattern: str) -> bool:
    """Whether *pattern* may hold a fuzzy constraint (``{e<=3}``, ``{i,d}``...)."""
    return re.search(r"\{\s*[a-z]", pattern) is not None


def _static_bound(normal: str) -> bool:
    """Whether *normal* passes the static bound used where fork is missing."""
    if regex_fuzzy(normal):
        return False
    product = 1
    for count in _COUNT.findall(normal):
        product *= max(int(count), 1)
        if product > _STATIC_REPEATS:
            return False
    return True


def _plainly_small(normal: str) -> bool:
    """Whether *normal* compiles to a size bounded by its length, so that no trial is needed (a
    fork for each of hundreds of terms cost seconds a run): no counted repeat (``{``: what
    multiplies), no extension (``(?``) and no escape that names something else (a named list
    ``\\L<name>``, a call ``\\g<name>``), and brackets nested a few deep at most."""
    if "{" in normal or "(?" in normal or "\\L" in normal or "\\g" in normal:
        return False
    depth = deepest = 0
    for ch in normal:
        if ch in "([":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in ")]":
            depth -= 1
    return deepest <= 8


def _trial_child(normal: str, report: int | None = None) -> None:
    """In the forked child: compile *normal* under RLIMIT_AS and exit 0 (it
    compiles), 1 (a syntax error: the parent compiles it again for the
    message) or 3 (out of memory); never returns.  What compiling took in memory (resident
    bytes, after less before) is written to the pipe *report*."""
    import os
    import resource

    status = 3
    try:
        import regex

        from ..gates import files as gate_files

        try:  # the limit is on top of what the process maps already (Linux: proc(5) /proc/pid/statm)
            statm = gate_files.read_bytes("/proc/self/statm", 4096)
            mapped = int(statm.split()[0]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            mapped = None  # no /proc: the wall clock alone bounds the child
        if mapped is not None:
            _, hard = resource.getrlimit(resource.RLIMIT_AS)
            limit = mapped + COMPILE_BYTES
            resource.setrlimit(resource.RLIMIT_AS,
                               (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))
        try:
            import time

            before, began = _resident_bytes(), time.monotonic()
            compiled = regex.compile(normal, _flags())
            after, took = _resident_bytes(), time.monotonic() - began
            if report is not None and before is not None and after is not None:
                os.write(report, f"{max(0, after - before)} {took:.6f}".encode())
            del compiled
            status = 0
        except (MemoryError, RecursionError, OverflowError):
            status = 3
        except Exception:  # noqa: BLE001 - regex.error, KeyError: reported by the parent
            status = 1
    finally:
        os._exit(status)  # no atexit handlers, no flushed buffers of the parent's


def _compile_bounded(normal: str) -> str | None:
    """Why compiling *normal* is refused, or None when it compiles within bounds.

    The regex package's compiled size is the product of nested counted
    repeats (``(((a{100}){100}){100}){10}`` takes 3 GB and 11 s) and its
    extended syntax (fuzzy ``{e<=3}``, possessive and lazy repeats, repeats
    in lookarounds, named groups) is too rich to bound by parsing, so the
    pattern is first compiled in a forked child under RLIMIT_AS and a
    wall-clock limit: a child that fails, is killed or runs out of time
    refuses the pattern whatever its spelling (bounded by construction).
    Each pattern is tried once per process (one fork of a few ms per term).
    """
    import os

    if normal in _TRIED or _plainly_small(normal):
        return None
    too_big = (f"needs more than {COMPILE_BYTES // 2**20} MB or {COMPILE_SECONDS:g} s to compile (nested "
               "repeats multiply: a{100} inside {100} inside {100} is a million copies); write it smaller")
    if not hasattr(os, "fork"):
        if not _static_bound(normal):
            return too_big
        _TRIED.add(normal)
        return None
    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
    except OSError:  # no process left to fork (EAGAIN, ENOMEM): the static bound
        os.close(read_end)
        os.close(write_end)
        return None if _static_bound(normal) else too_big
    if pid == 0:
        os.close(read_end)
        _trial_child(normal, write_end)
    os.close(write_end)
    try:
        return _waited(pid, read_end, normal, too_big)
    finally:
        os.close(read_end)


def _waited(pid: int, report: int, normal: str, too_big: str) -> str | None:
    """The trial child *pid*'s verdict on *normal* (see :func:`_compile_bounded`); what it says it
    took (the pipe *report*) counts against the run's budget."""
    import os
    import signal
    import time

    began = time.monotonic()
    deadline = began + COMPILE_SECONDS
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return too_big
        time.sleep(0.002)
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        return too_big
    # What the child measured around the compile (its resident bytes grew by that much; a peak
    # from wait4 counts, or not, the pages it shares with this process at the fork), and how long
    # the compile itself took: the fork and the wait are this check's cost, not the pattern's (900
    # terms of a few letters each passed the run's budget of seconds on forks alone).
    said = os.read(report, 64).split()
    _SPENT[0] += int(said[0]) if said and said[0].isdigit() else 0
    try:
        _SPENT[1] += float(said[1]) if len(said) > 1 else time.monotonic() - began
    except ValueError:
        _SPENT[1] += time.monotonic() - began
    if _SPENT[0] > TOTAL_COMPILE_BYTES or _SPENT[1] > TOTAL_COMPILE_SECONDS:
        return (f"would take the regular expressions of the run together past {TOTAL_COMPILE_BYTES // 2**20} MB or "
                f"{TOTAL_COMPILE_SECONDS:g} s to compile (each is compiled and kept); write fewer or smaller ones")
    if code == 0:
        _TRIED.add(normal)
    return None


def new_compile_budget() -> None:
    """Start a run's budget for compiling (:data:`TOTAL_COMPILE_BYTES`, :data:`TOTAL_COMPILE_SECONDS`)."""
    _SPENT[:] = [0, 0.0]


def _resident_bytes() -> int | None:
    """What this process holds in memory now (Linux: proc(5) /proc/self/statm), or None."""
    import os

    from ..gates import files as gate_files

    try:
        return int(gate_files.read_bytes("/proc/self/statm", 4096).split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _compile(pattern: str, where: str, text: str) -> Any:
    import regex

    normal = unicodedata.normalize("NFKC", pattern)
    # Compiled first in a bounded child (which parses it too): then parsed here for calls.
    why_not = _compile_bounded(normal)
    if why_not:
        raise SelectionError(f"{where}: the regular expression {shown_value(text)} {why_not}")
    if _calls_itself(normal):
        raise SelectionError(f"{where}: the regular expression {shown_value(text)} calls itself (recursion or a "
                             "subroutine call), whose memory has no bound; write it without")
    try:
        return regex.compile(normal, _flags())
    except Exception as err:  # noqa: BLE001 - the regex module also raises KeyError ((?V1) against VERSION0)
        why = _in_words(err, unicodedata.normalize("NFKC", pattern))
        raise SelectionError(f"{where}: the regular expression {shown_value(text)} does not compile: {why}") from None


def _in_words(err: Exception, normal: str) -> str:
    """Why the regex module refused *normal*, in words a user of Python's ``re`` reads: its
    error (``unterminated character set``) with the place shown, and its two errors that are
    not ``regex.error`` (a ``KeyError`` or ``ValueError`` for ``(?V1)``, a ``ValueError`` for
    ``(?a)`` with ``(?u)``) said as what to change."""
    import regex

    # (?V1) against the VERSION0 flag: a KeyError ('regex.V0|V1') up to regex 2026.5, a ValueError
    # ('VERSION0 and VERSION1 flags are mutually incompatible') since: told by what it says.
    if isinstance(err, KeyError) or (isinstance(err, ValueError) and not isinstance(err, regex.error)
                                     and "VERSION" in str(err)):
        return ("(?V1) asks for version 1 of the regex module's syntax, which is not offered: patterns "
                "are read with Python's re syntax (version 0); remove (?V1)")
    if isinstance(err, ValueError) and not isinstance(err, regex.error) and "incompatible" in str(err):
        return ("it sets more than one of the flags (?a) (ASCII), (?L) (locale) and (?u) (Unicode), which "
                "exclude each other; keep one at most")
    if not isinstance(err, regex.error):
        return f"the regex module refuses it ({type(err).__name__})"
    message = str(err.msg if getattr(err, "msg", None) else err)
    pos = getattr(err, "pos", None)
    if not isinstance(pos, int) or not 0 <= pos <= len(normal):
        return message
    where = ("at its end" if pos >= len(normal) else
             f"at character {pos + 1}, {shown_value(normal[pos:pos + 12])}")
    return f"{message} ({where}, counting from the character after 're:')"


@dataclass(frozen=True, slots=True)
class Selection:
    """A named filter over the papers; every filter is optional and they combine with AND.

    ``min_votes``: at least that many votes (unknown votes never pass);
    ``top``: at most N papers a day, most votes first (equal or unknown
    votes keep the digest's order; unknown rank last); ``match``: any term
    occurs in the title, summary text or authors; ``exclude``: none does.
    """

    name: str
    title: str
    min_votes: int | None = None
    top: int | None = None
    match: tuple[Term, ...] = ()
    exclude: tuple[Term, ...] = ()

    @property
    def is_everything(self) -> bool:
        return self.min_votes is None and self.top is None and not self.match and not self.exclude

    def settings(self) -> list[Any]:
        """What shapes the selection's output (for the build's fingerprints)."""
        return [self.name, self.title, self.min_votes, self.top,
                [t.source for t in self.match], [t.source for t in self.exclude]]

    def describe(self) -> str:
        """One line for the cover and messages: ``top 5 a day, at least 20 votes``."""
        parts = []
        if self.top is not None:
            parts.append(f"top {self.top} a day")
        if self.min_votes is not None:
            parts.append(f"at least {self.min_votes} votes")
        if self.match:
            parts.append("matching " + ", ".join(t.source for t in self.match))
        if self.exclude:
            parts.append("without " + ", ".join(t.source for t in self.exclude))
        return "; ".join(parts) or "every paper"


#: What a selection name may hold, in words: the allowed alphabet, not "lower-case", which
#: ``ä`` and ``ǆ`` are too.
NAME_ALPHABET = "ASCII lower-case letters (a-z), digits (0-9) and '-'"


def _why_not_a_name(name: str) -> str:
    """What keeps *name* from :data:`_NAME`, in words: the first character outside the alphabet
    (``ä``, ``A``, ``.``), else its length or its ends."""
    if not name:
        return "is empty"
    bad = next((c for c in name if not ("a" <= c <= "z" or "0" <= c <= "9" or c == "-")), None)
    if bad is not None:
        shown = shown_value(bad)
        if "A" <= bad <= "Z":
            return f"holds the capital {shown}"
        return f"holds {shown}, which is not {'an ASCII letter' if bad.isalpha() else 'allowed'}"
    if len(name) > MAX_NAME_CHARS:
        return f"is {len(name)} characters long"
    return "starts or ends with '-'"


def check_name(name: Any, where: str) -> str:
    """A selection name as a folder name: lower-case letters, digits and '-'."""
    if not isinstance(name, str):
        raise _refused(f"{where}: 'name' must be a string (in quotes), not {shown_value(name)}", "name")
    if len(name) > MAX_NAME_CHARS or not _NAME.fullmatch(name):
        raise _refused(f"{where}: 'name' {shown_value(name)} {_why_not_a_name(name)}; a name is "
                       f"{NAME_ALPHABET} (at most {MAX_NAME_CHARS}, not starting or ending with '-'): "
                       "it names a folder", "name")
    if name in RESERVED_NAMES:
        raise _refused(f"{where}: 'name' {shown_value(name)} is reserved (a file or folder the build writes, "
                       "or a Windows device name)", "name")
    return name


def _count(value: Any, key: str, where: str, *, low: int, high: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and not math.isfinite(value):
            raise _refused(f"{where}: '{key}' must be a whole number, not {shown_value(value)}", key)
        raise _refused(f"{where}: '{key}' must be a whole number (no quotes), not {shown_value(value)}", key)
    reason = out_of_range(value, low, high)
    if reason is not None:
        raise _refused(f"{where}: '{key}' {reason}, not {shown_value(value)}", key)
    return value


def _terms(value: Any, key: str, where: str) -> tuple[Term, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise _refused(f"{where}: '{key}' must be a list of strings, not {shown_value(value)}", key)
    if len(value) > MAX_TERMS:
        raise _refused(f"{where}: '{key}' has {len(value)} terms; at most {MAX_TERMS}", key)
    try:
        return tuple(dict.fromkeys(parse_term(v, f"{where}: '{key}'") for v in value))
    except SelectionError as err:
        err.key = key.removeprefix("--")
        raise


def make_selection(*, name: str, title: Any = None, min_votes: Any = None, top: Any = None,
                   match: Any = None, exclude: Any = None, where: str = "selection") -> Selection:
    """A checked :class:`Selection`; SelectionError naming the key otherwise."""
    name = check_name(name, where)
    # The one-off filter is named by its options, not by a selection name it has not.
    one_off = name == ONE_OFF_NAME
    key = (lambda k: f"--{k}") if one_off else (lambda k: k)
    where = "the options" if one_off else f"{where} '{name}'"
    if title is not None and not isinstance(title, str):
        raise _refused(f"{where}: 'title' must be a string (in quotes), not {shown_value(title)}", "title")
    shown = clean_text(title or "").strip()
    if len(shown) > MAX_TITLE_CHARS:  # said, not cut short unsaid
        raise _refused(f"{where}: 'title' is {len(shown):,} characters; at most {MAX_TITLE_CHARS}", "title")
    return Selection(
        name=name, title=shown if has_visible(shown) else name,
        min_votes=_count(min_votes, key("min-votes"), where, low=0, high=MAX_VOTES),
        top=_count(top, key("top"), where, low=1, high=MAX_TOP),
        match=_terms(match, key("match"), where), exclude=_terms(exclude, key("exclude"), where))
