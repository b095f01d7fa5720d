"""Options and error handling shared by the commands: click decorators that
give every command the same names, types and help for the same thing."""

from __future__ import annotations

import datetime as dt
import functools
import os
import sys
from collections.abc import Callable, Iterable
from typing import Any, NoReturn, TypeVar

import click

from ..errors import ExporterError, InputError, UsageError
from ..gates.numbers import MAX_VOTES

F = TypeVar("F", bound=Callable[..., Any])

#: The device profiles (exporter.books.devices.NAMES, spelled out here so
#: that `--help` does not import the books).
DEVICE_NAMES = ("generic", "kindle", "kobo", "koreader")


#: The longest name of one path component (NAME_MAX of Linux, macOS and Windows file systems).
NAME_MAX = 255
#: The longest path the system takes, with its final NUL (PATH_MAX of Linux, <limits.h>).
PATH_MAX = 4096


def config_key(ctx: Any, param: Any) -> str | None:
    """Where in the config file the value of *param* is, as every config error names it
    (``FILE: [send] key 'password-file':``): its key is the option's long name, in the
    command's table or at the top level."""
    place = config_place(ctx, param)
    if place is None:
        return None
    path, key = place
    return f"{path}: {key}:" if path else f"{key}:"


def config_place(ctx: Any, param: Any, *, line: bool = True) -> tuple[str | None, str] | None:
    """The config file (None without one) and the key (``[send] key 'password-file'``) that
    hold the value of *param*; the file with the line where the key is written (``c.toml:12``)
    unless *line* is false."""
    if ctx is None or param is None:
        return None
    from ..gates import files as gate_files

    names = [opt[2:] for opt in param.opts if opt.startswith("--")] or [param.name.replace("_", "-")]
    path = ctx.find_root().meta.get("config_path")
    if not path:
        return None, f"key '{names[0]}'"
    table = ctx.info_name or ""
    config = ctx.find_root().meta.get("config") or {}
    section = config.get(table) if isinstance(config.get(table), dict) else {}
    from .config_lines import line_of

    def at(*keys: str) -> str:
        number = line_of(path, *keys) if line else None
        return str(gate_files.real_path(path)) + (f":{number}" if number else "")

    for name in names:
        if name in section:
            return at(table, name), f"[{table}] key '{name}'"
    key = next((name for name in names if name in config), names[0])
    return at(key), f"key '{key}'"


def given_as(ctx: Any, name: str, shown: str) -> tuple[str | None, str]:
    """How the user gave the value of the parameter *name*, shown as *shown*: ``(None,
    "--from 2024-03-10")`` from the command line, ``(FILE, "key 'from' = 2024-03-10")`` from the
    config file, so a refusal that involves two values names each where the user wrote it."""
    param = next((p for p in ctx.command.params if p.name == name), None) if ctx is not None else None
    if param is None:
        return None, f"{name} {shown}"
    if ctx.get_parameter_source(name) is click.core.ParameterSource.DEFAULT_MAP:
        place = config_place(ctx, param, line=False)  # two keys of one file: named once
        if place is not None:
            return place[0], f"{place[1]} = {shown}"
    option = next((o for o in param.opts if o.startswith("--")), param.opts[0])
    return None, f"{option} {shown}"


class Command(click.Command):
    """A command whose refusal of a value from the config file names the file and the key,
    as every other config error does, not the option the user did not type."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        original = list(args)  # the parser consumes the list
        try:
            return super().parse_args(ctx, args)
        except click.BadParameter as err:
            name = err.param.name if err.param is not None else None
            # The source is recorded only once a value converts (click 8.2): a value the command
            # line did not give, and the config file did, is the config file's.
            given, _, _ = self.make_parser(ctx).parse_args(args=original)
            # An argument (INPUT...) is in what the parser gives even when the line has none (as
            # click's "unset" sentinel from 8.2, as () before): typed only with a value of its own.
            value = given.get(name)
            typed = name in given and (not isinstance(err.param, click.Argument)
                                       or isinstance(value, str) or isinstance(value, (tuple, list)) and len(value) > 0)
            where = config_key(ctx, err.param) if not typed and name in (ctx.default_map or {}) else None
            if where is None:
                raise
            raise _usage_error(f"{where} {err.message}", ctx) from err


#: How much of a refused value a usage error shows: a value of 100,000 characters is cut, as the
#: reader cuts a digest's (a cron mail of 200 KB for one bad variable says nothing more).
SHOWN_CHARS = 60


def _cut(value: str) -> str:
    return value if len(value) <= SHOWN_CHARS else value[:SHOWN_CHARS - 1] + "…"


def said(value: Any) -> str:
    """*value* as a usage error shows it: Python's quoting (what click shows), cut to
    :data:`SHOWN_CHARS` characters."""
    return repr(_cut(value)) if isinstance(value, str) else repr(value)[:SHOWN_CHARS]


class EnvOption(click.Option):
    """An option that may also come from an environment variable (``envvar``): a value from the
    variable that does not convert is a usage error (exit 2) naming the variable, the value as
    set (quoted as a shell would need it) and what it may be (*allowed*), as the user who set it
    in a crontab has no option on the command line to look for."""

    def __init__(self, *args: Any, allowed: str, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.allowed = allowed

    def consume_value(self, ctx: click.Context, opts: Any) -> Any:
        # click records a value's source only once it converts: kept here for process_value.
        value, source = super().consume_value(ctx, opts)
        ctx.meta[f"{__name__}.source.{self.name}"] = source
        return value, source

    def process_value(self, ctx: click.Context, value: Any) -> Any:
        from click.core import ParameterSource

        from ..gates.names import shell_quote

        try:
            return super().process_value(ctx, value)
        except click.BadParameter as err:
            if ctx.meta.get(f"{__name__}.source.{self.name}") is not ParameterSource.ENVIRONMENT:
                raise
            name = self.envvar if isinstance(self.envvar, str) else "/".join(self.envvar or ())
            shown = shell_quote(_cut(value)) if isinstance(value, str) and value else repr(value)
            raise click.UsageError(f"environment variable {name}={shown} (for {self.opts[0]}): "
                                   f"{err.message.rstrip('.')}; it must be {self.allowed}.", ctx) from err


class PathArg(click.Path):
    """A path option or argument: :class:`click.Path`, and a value that can name a file at all
    (no NUL: POSIX ends a name at it; no component over :data:`NAME_MAX` bytes), and one that
    exists is of the kind the option wants: a folder for a folder option, a regular file for a
    file option, never a named pipe or device (read through the file gate, so the kind is said).
    Every refusal is a usage error naming the option (exit 2)."""

    #: Whether the kind of file is checked here (an INPUT's is said by the reader, at its line,
    #: with a hint for standard input).
    kind_checked = True
    #: Whether a link to nothing, or a path under a file, is refused here (an INPUT that is
    #: either is an input error of the reader).
    missing_checked = True

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        from ..gates.files import broken_link, described, special_kind, would_wait
        from ..gates.names import shell_quote

        if isinstance(value, (str, bytes, os.PathLike)):
            text = os.fsdecode(value)
            # An empty value is most often a variable left unset (``-o "$OUT"``): taken as the
            # current folder, it would publish there.  A bare "-" is no standard stream here.
            if not text:
                self.fail("an empty path names no file or folder (is a variable unset?)", param, ctx)
            if text == "-" and not self.allow_dash:
                self.fail("'-' is not standard input or output here; write ./- for a file or folder named '-'",
                          param, ctx)
            if "\0" in text:
                self.fail(f"{shell_quote(text)} holds a NUL character, which no file name can hold", param, ctx)
            try:
                whole = len(os.fsencode(os.path.abspath(text))) if text else 0
            except OSError:  # the current folder was removed: the system says so later
                whole = 0
            if whole >= PATH_MAX:
                self.fail(f"{_shortened(shell_quote(text))} is {whole} bytes long as a full path; "
                          f"the system allows {PATH_MAX - 1}", param, ctx)
            for part in os.fsencode(text).split(b"/"):
                if len(part) > NAME_MAX:
                    self.fail(f"the name {_shortened(shell_quote(os.fsdecode(part)))} is {len(part)} bytes long; "
                              f"file systems allow {NAME_MAX}", param, ctx)
            # A link to nothing is refused even where a file will be made: writing through it
            # would make a file somewhere else than the name says.
            broken = broken_link(text) if self.missing_checked else None
            if broken is not None:
                self.fail(f"{shell_quote(text)} is {broken}", param, ctx)
            if self.exists and self.missing_checked and not os.path.lexists(text):
                # Said here, not by click, whose message shows a name that is not UTF-8 with U+FFFD
                # (two names alike) and a line break as Python writes it.
                kind = "folder" if self.dir_okay and not self.file_okay else "file"
                self.fail(f"{kind} {shell_quote(text)} does not exist", param, ctx)
            if self.missing_checked and text and text != "-" and not os.path.lexists(text):
                # A path to be made under a file can never be made: said now, before any work
                # (a state path under a file failed only after every output was written).
                parent = os.path.dirname(os.path.abspath(text))
                while parent and not os.path.lexists(parent) and parent != os.path.dirname(parent):
                    parent = os.path.dirname(parent)
                if os.path.lexists(parent) and not os.path.isdir(parent):
                    self.fail(f"{shell_quote(text)} is under {shell_quote(parent)}, which is "
                              f"{described(parent)}, not a folder", param, ctx)
            if self.kind_checked and (text != "-" or not self.allow_dash):
                kind = special_kind(text)
                if kind is not None and not (self.dir_okay and os.path.isdir(text)):
                    wanted = "a folder" if not self.file_okay else "a regular file"
                    self.fail(f"{shell_quote(text)} is {kind}, not {wanted}", param, ctx)
                if kind is None and not self.file_okay and os.path.isfile(text):
                    self.fail(f"{shell_quote(text)} is {described(text)}, not a folder", param, ctx)
                if kind is None and self.file_okay and os.path.isfile(text) and would_wait(text):
                    self.fail(f"{shell_quote(text)} has no data to give without waiting (a kernel or device "
                              "file that calls itself regular), not a regular file", param, ctx)
        return super().convert(value, param, ctx)


def _shortened(name: str) -> str:
    return name if len(name) <= 60 else name[:28] + "..." + name[-28:]


class NameArg(click.types.StringParamType):
    """A name that is looked up as a file (``send --book NAME``): no NUL."""

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        from ..gates.names import shell_quote

        value = super().convert(value, param, ctx)
        if "\0" in value:
            self.fail(f"{shell_quote(value)} holds a NUL character, which no file name can hold", param, ctx)
        return value


class InputPath(PathArg):
    """An INPUT, spelled in any Unicode normalization (a name typed in NFC finds the file macOS
    named in NFD): the existing spelling is passed on.

    An INPUT that is missing (or a link to nothing) is not refused here: it is input that holds
    no digest day, which the reader reports at ``PATH:1: error:`` with exit status 1, as it
    reports an INPUT that is a named pipe or cannot be read.  Exit status 2 is for a command
    line that cannot work, whatever the files hold (click's ``Path(exists=True)`` would make a
    file that is not there yet, the usual trouble of a cron job, a usage error)."""

    kind_checked = False
    missing_checked = False

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        from pathlib import Path

        from ..gates.files import find_spelling

        if isinstance(value, str) and value not in ("", "-"):  # Path("") is the current folder
            found = find_spelling(Path(value))
            if found is not None:
                value = str(found)
        return super().convert(value, param, ctx)


class BooksFolder(PathArg):
    """``send``'s DIR (or ``-o``): the folder of books it reads, an input as INPUT is.  A folder
    that is missing (or a link to nothing) is input that holds no book, an input error with exit
    status 1 (``send`` says so), not a usage error."""

    missing_checked = False


def inputs_argument(f: F) -> F:
    return click.argument(
        "inputs", nargs=-1, metavar="[INPUT]...",
        type=InputPath(allow_dash=True, path_type=str),
    )(f)


def quiet_option(f: F) -> F:
    return click.option("-q", "--quiet/--no-quiet", default=False,
                        help="Print errors only (--no-quiet undoes `quiet = true` of the config).")(f)


def verbose_option(f: F) -> F:
    return click.option("-v", "--verbose", is_flag=True,
                        help="Say more: each thumbnail left out, what is rebuilt or skipped and why.")(f)


def effective_quiet(quiet: bool, verbose: bool) -> bool:
    """Whether to be quiet: ``-v`` beats ``quiet = true`` from the config, not ``-q`` on the command line."""
    if not (quiet and verbose):
        return quiet
    ctx = click.get_current_context(silent=True)
    return ctx is not None and ctx.get_parameter_source("quiet") == click.core.ParameterSource.COMMANDLINE


def keep_going_option(f: F) -> F:
    return click.option(
        "--keep-going", is_flag=True,
        help="Write what can be written despite input errors (still exits 1).",
    )(f)


def allow_empty_option(f: F) -> F:
    return click.option(
        "--allow-empty", is_flag=True,
        help="Write (empty) outputs even when the input holds no digest day; by default that is an error.",
    )(f)


class Seconds(click.ParamType):
    """A finite number of seconds within [low, high]: ``nan``/``inf`` are refused, not let through
    (click's FloatRange lets ``nan`` pass every bound).  *unit* names other quantities."""

    name = "seconds"

    def __init__(self, low: float, high: float, unit: str = "seconds"):
        self.low, self.high, self.unit = low, high, unit
        self.name = unit

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        import math

        from ..gates.numbers import out_of_range

        try:
            if isinstance(value, str) and (not value.isascii() or "_" in value):
                raise ValueError("float() takes any Unicode digit and PEP 515 underscores")
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{said(value)} is not a number of {self.unit}.", param, ctx)
        except OverflowError:  # an integer too large for a float
            number = math.inf
        if math.isnan(number):
            self.fail(f"{said(value)} is not a number of {self.unit}.", param, ctx)
        reason = out_of_range(number, self.low, self.high, f"a number of {self.unit}")
        if reason is not None:
            self.fail(f"{said(value)} {reason}.", param, ctx)
        return number


class Count(click.types.IntParamType):
    """A whole number within [low, high] through the number gate (``gates.numbers``): ASCII
    digits only, so ``--top ١``, ``--top ５``, ``1_000``, ``+3`` or a number beyond *high* is a
    usage error naming the option (click's IntRange takes whatever Python's ``int()`` takes).
    An IntParamType, so the config's checks know it wants a TOML integer."""

    name = "integer"

    def __init__(self, low: int = 0, high: int | None = None):
        from ..gates.numbers import MAX_COUNT

        self.low, self.high = low, MAX_COUNT if high is None else high

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        from ..gates.numbers import NotACount, out_of_range, parse_count

        if isinstance(value, bool) or not isinstance(value, (int, str)):
            self.fail(f"{said(value)} is not a whole number.", param, ctx)
        try:  # a config file's TOML integer is already a number: the same bounds hold
            if isinstance(value, int):
                reason = out_of_range(value, self.low, self.high)
                if reason is not None:
                    raise NotACount(reason)
                return value
            return parse_count(value, low=self.low, high=self.high)
        except NotACount as err:
            self.fail(f"{said(value)} {err}.", param, ctx)


class IsoDate(click.DateTime):
    """A date written ``YYYY-MM-DD`` through the dates gate (``gates.dates.day``): ASCII digits
    only, so ``２０２４-03-04`` is refused here as a digest heading refuses it (click's DateTime
    takes what ``strptime`` takes: any Unicode digit).  A click DateTime, so the config's checks
    know it wants a TOML date or a string; the value is a ``datetime`` at midnight, as click's."""

    def __init__(self) -> None:
        super().__init__(["%Y-%m-%d"])

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from ..gates.dates import DateRefused, day

        if isinstance(value, dt.datetime):
            return value
        try:
            found = day(value)
        except DateRefused as err:
            self.fail(f"{said(value)} {err}.", param, ctx)
        return dt.datetime(found.year, found.month, found.day)


class LanguageTag(click.types.StringParamType):
    """A BCP 47 language tag, checked (and given its canonical case) by the language-tag gate;
    a string type, so the config must give it in quotes."""

    name = "language tag"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from ..gates.langtags import LanguageTagRefused, check_tag

        value = super().convert(value, param, ctx)
        try:
            return check_tag(value)
        except LanguageTagRefused as err:
            self.fail(f"{said(value)}: {err}.", param, ctx)


def image_timeout_option(f: F) -> F:
    return click.option(
        "--image-timeout", type=Seconds(0.1, 3600), default=10.0, show_default=True,
        metavar="SECONDS", envvar="DIGEST_EXPORT_IMAGE_TIMEOUT", cls=EnvOption,
        allowed="a finite number of seconds from 0.1 to 3600 (e.g. 10 or 2.5)",
        help="Time allowed to fetch one thumbnail (env DIGEST_EXPORT_IMAGE_TIMEOUT).",
    )(f)


def today_option(help: str) -> Callable[[F], F]:
    return click.option(
        "--today", type=IsoDate(), metavar="DATE", envvar="DIGEST_EXPORT_TODAY",
        cls=EnvOption, allowed="a date written YYYY-MM-DD, from 0001-01-01 to 9999-12-31 (e.g. 2024-03-08)",
        help=help)


def book_options(f: F) -> F:
    """The options of the books, shared by `epub` and `build`."""
    for option in reversed((
        click.option("--by", type=click.Choice(["week", "day", "month", "all"]), default="week",
                     show_default=True, help="One book per ISO week, day, month, or one for everything."),
        click.option("--from", "date_from", type=IsoDate(), default=None,
                     help="Books: only digests on or after this date (YYYY-MM-DD)."),
        click.option("--to", "date_to", type=IsoDate(), default=None,
                     help="Books: only digests on or before this date (YYYY-MM-DD)."),
        click.option("--lang", default=None, metavar="CODE", type=LanguageTag(),
                     help="Book language, e.g. ko or en (default: detected from the text)."),
        click.option("--images", type=click.Choice(["embed", "none"]), default="embed", show_default=True,
                     help="Download and embed thumbnails, or leave them out."),
        click.option("--grayscale", is_flag=True, help="Convert images to grayscale (e-ink readers)."),
        click.option("--device", "device", multiple=True, type=click.Choice(DEVICE_NAMES), metavar="PROFILE",
                     help="Make the books for a device: generic (default), kindle, kobo (NAME.kepub.epub) or "
                          "koreader; repeatable, each book then once per profile (docs/devices.md)."),
        click.option("--font", "font", default=None, metavar="FILE",
                     type=PathArg(exists=True, dir_okay=False, path_type=str),
                     help="Embed this font (TTF, OTF, WOFF, WOFF2) for the body text, cut down to the "
                          "characters each book uses, e.g. /usr/share/fonts/truetype/nanum/NanumGothic.ttf."),
        click.option("--font-bold", "font_bold", default=None, metavar="FILE",
                     type=PathArg(exists=True, dir_okay=False, path_type=str),
                     help="The bold face of --font, for headings and bold text."),
        click.option("--devices", "devices", multiple=True, type=click.Choice(DEVICE_NAMES), hidden=True,
                     help="The config's `devices = [...]`: as --device, repeated."),
        image_timeout_option,
        click.option("--allow-private-hosts", is_flag=True,
                     help="Fetch thumbnails from loopback, private and link-local addresses too "
                          "(a server on your own network). Off by default: a digest must not make "
                          "digest-export fetch from the machine's own network."),
        click.option("--templates", "templates", default=None,
                     type=PathArg(exists=True, file_okay=False, path_type=str),
                     help="Folder of templates overriding the packaged ones "
                          "(day.xhtml.j2, cover.xhtml.j2, epub.css; extra.css is added after epub.css; "
                          "see docs/templates.md)."),
    )):
        f = option(f)
    return f


def feed_selection_options(f: F) -> F:
    """Which papers the feeds hold and where they live, shared by `feed` and `build`."""
    for option in reversed((
        click.option("--base-url", metavar="URL",
                     help="Public URL of the output folder (self links, icon, absolute links)."),
        click.option("--days", type=Count(1, 100_000), metavar="N",
                     help="Feeds: the N most recent digest days (default 7, counted from the newest digest)."),
        click.option("--limit", type=Count(1, 10**9), metavar="N", help="Feeds: the N most recent papers."),
        click.option("--all", "everything", is_flag=True, help="Feeds: every paper (large feeds: see --archive)."),
        click.option("--archive", is_flag=True,
                     help="Also write RFC 5005 archives, one Atom file per ISO week, in DIR/archive/."),
    )):
        f = option(f)
    return f


def filter_options(f: F) -> F:
    """One-off filters of the papers written (a ``[[selection]]`` without a name), for `epub`,
    `feed` and `build`."""
    for option in reversed((
        click.option("--min-votes", type=Count(0, MAX_VOTES), metavar="N",
                     help="Only papers with at least N votes (unknown votes never pass)."),
        click.option("--top", type=Count(1, 100_000), metavar="N",
                     help="At most N papers a day, most votes first (ties keep the digest's order)."),
        click.option("--match", "match", multiple=True, metavar="TERM",
                     help="Only papers whose title, summary or authors hold TERM (repeatable: any of them; "
                          "case and width ignored; 're:REGEX' for a regular expression)."),
        click.option("--exclude", "exclude", multiple=True, metavar="TERM",
                     help="Leave out papers that hold TERM (repeatable; same syntax as --match)."),
    )):
        f = option(f)
    return f


def jobs_option(f: F) -> F:
    return click.option("-j", "--jobs", type=Count(0, 1024), default=0, metavar="N",
                        help="Worker processes for the books (default 0: one per core).")(f)


def report_errors(f: F) -> F:
    """Turn ExporterError into a message on stderr and its exit status."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return f(*args, **kwargs)
        except InputError as err:
            click.echo(_located(str(err)), err=True)
            sys.exit(err.exit_code)
        except UsageError as err:
            raise _usage_error(named_where_given(str(err))) from err
        except ExporterError as err:
            click.echo(_located(str(err)), err=True)
            sys.exit(err.exit_code)
        except OSError as err:
            # The system refused (a name too long, a disk full, no permission) somewhere no
            # caller turned it into its own message: still the user's environment, not a bug.
            click.echo(f"digest-export: error: {_os_error_text(err)}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def _located(text: str) -> str:
    """An error's line: ``PATH:LINE: error: ...`` as it is when the error names where it is (a
    template's file and line: editors and CI problem matchers read that shape at the start of a
    line), else ``digest-export: error: ...``."""
    where, said, _ = text.partition(": error: ")
    if said and where and ": " not in where and not where.startswith("-"):
        return text
    return f"digest-export: error: {text}"


def exit_config_error(text: str, paths: Iterable[str]) -> NoReturn:
    """A config error, said as every other error is, ``PATH:LINE: error: ...`` (editors and CI
    problem matchers read that shape), exit 2: not click's usage banner, since nothing on the
    command line is wrong.  *paths*: the config file as the messages may name it; a line naming
    none of them is said as ``digest-export: error: ...``."""
    import re

    prefixes = "|".join(re.escape(p) for p in sorted(set(paths), key=len, reverse=True))
    lines = []
    for line in text.splitlines() or [""]:
        m = re.match(f"(?:{prefixes})(?::[0-9]+){{0,2}}: ", line) if prefixes else None
        if m is None:
            lines.append(f"digest-export: error: {line}")
        elif line[m.end():].startswith("error: "):
            lines.append(line)
        else:
            lines.append(f"{line[:m.end()]}error: {line[m.end():]}")
    click.echo("\n".join(lines), err=True)
    sys.exit(2)


def named_where_given(text: str) -> str:
    """A usage error a check made after the options were read (``--base-url '...' cannot be
    used``), with the option it starts with named where the user gave it: the config file and
    key when the value came from there (as every config error names them), else unchanged."""
    import re

    ctx = click.get_current_context(silent=True)
    selection = re.match(r"selection '([a-z0-9-]+)': ", text)
    if selection is not None and ctx is not None:
        return _at_selection(ctx, selection.group(1), text[selection.end():]) or text
    m = re.match(r"--([a-z][a-z0-9-]*)(?=[ :]|$)", text)
    if m is None or ctx is None:
        return text
    param = next((p for p in ctx.command.params if m.group(0) in p.opts), None)
    if param is None or ctx.get_parameter_source(param.name) is not click.core.ParameterSource.DEFAULT_MAP:
        return text
    place = config_place(ctx, param)
    if place is None:
        return text
    rest = text[m.end():]
    return f"{place[0]}: {place[1]}{':' if rest.startswith(' ') else ''}{rest}"


def _at_selection(ctx: click.Context, name: str, rest: str) -> str | None:
    """*rest*, a refusal of the config's selection *name* made once the run is planned (its
    folder holds files of the user's), named as the config names it: ``FILE:LINE: [[selection]]
    #N 'NAME': ...``; None when no config holds that selection."""
    from ..gates import files as gate_files
    from ..gates.names import shell_quote as q
    from .config_lines import line_of

    root = ctx.find_root()
    path, config = root.meta.get("config_path"), root.meta.get("config") or {}
    tables = config.get("selection") if isinstance(config.get("selection"), list) else []
    index = next((i for i, table in enumerate(tables) if isinstance(table, dict) and table.get("name") == name), None)
    if path is None or index is None:
        return None
    line = line_of(path, "selection", index)
    return f"{q(str(gate_files.real_path(path)))}{f':{line}' if line else ''}: [[selection]] #{index + 1} '{name}': {rest}"


def _usage_error(said: str, ctx: click.Context | None = None) -> click.UsageError:
    """The usage error *said*, to raise; one that names the config file (a value the config gave)
    is said as every config error is instead, ``PATH:LINE: error: ...``, and the run ends, exit 2."""
    place = _config_file_named(said)
    if place is not None:
        exit_config_error(said, [place])
    return click.UsageError(said, ctx)


def _config_file_named(text: str) -> str | None:
    """The config file as *text* starts with it (a check made after the options were read named
    the config's key), or None."""
    from ..gates.names import shell_quote as q

    ctx = click.get_current_context(silent=True)
    path = ctx.find_root().meta.get("config_path") if ctx is not None else None
    if path is None:
        return None
    from ..gates import files as gate_files

    for shown in (q(str(path)), q(str(gate_files.real_path(path)))):
        if text.startswith(shown + ":"):
            return shown
    return None


def _os_error_text(err: OSError) -> str:
    from ..gates.names import shell_quote

    reason = err.strerror or str(err)
    if err.filename is None:
        # A write to standard output (``>/dev/full``, a closed pipe) fails in click.echo: say so,
        # or "No space left on device" reads as the output folder's disk.
        frames = []
        tb = err.__traceback__
        while tb is not None:
            frames.append(tb.tb_frame.f_code.co_name)
            tb = tb.tb_next
        return f"cannot write to standard output: {reason}" if "echo" in frames else reason
    name = shell_quote(os.fsdecode(err.filename))
    if len(name) > 200:  # a name too long is shown by its ends
        name = name[:80] + "..." + name[-80:]
    return f"{name}: {reason}"
