"""`digest-export.toml`: defaults for every option of every command.

A key is an option's long name (``output``, ``base-url``, ``images``...);
``inputs`` is the list of INPUT paths.  Top-level keys apply to every
command that has the option; keys in a ``[epub]``, ``[feed]``, ``[build]``
(or ``[inspect]``) table apply to that command only and win over top-level
keys.  Relative paths are relative to the config file.  Options given on the
command line always win: the config only fills click's ``default_map``.
"""

from __future__ import annotations

import datetime as dt
import os
import math
import re
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from ..errors import ConfigError
from ..model import shown_value
from ..gates import files as gate_files
from ..gates import text as gate_text
from ..gates.numbers import allowed_range, out_of_range
from ..gates.names import printable, shell_quote as q
from .config_lines import line_of, remember

CONFIG_NAME = "digest-export.toml"
INPUTS_KEY = "inputs"
#: The array of tables ``[[selection]]``: named filters, each built into ``DIR/NAME/``.
SELECTION_KEY = "selection"
#: How many selections a config may hold.
MAX_SELECTIONS = 64
SELECTION_KEYS = ("name", "title", "min-votes", "top", "match", "exclude")


def selections_of(config: Mapping[str, Any], path: Path) -> tuple[Any, ...]:
    """The ``[[selection]]`` tables of *config*, checked (see :mod:`exporter.selections`)."""
    from ..feeds.entries import feed_text
    from ..gates.text import as_seen
    from ..selections import SelectionError, fold, make_selection

    tables = config.get(SELECTION_KEY)
    if tables is None:
        return ()
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ConfigError(f"{place(path, SELECTION_KEY)}: 'selection' must be an array of tables: "
                          "[[selection]] with name = ...")
    found: dict[str, Any] = {}
    # Each title as a reader sees it where it is published (a feed's "<b" is "‹b",
    # feeds.entries.feed_text; a zero-width space or a variation selector makes no other title),
    # folded as the feed id is: the book identifier and the feed id are made from it.
    titles: dict[str, Any] = {}
    for i, table in enumerate(tables, 1):
        where = f"[[selection]] #{i}"
        if i > MAX_SELECTIONS:
            # Each is a folder of books, feeds and a catalog: a thousand made 17,000 files in 56 s.
            raise ConfigError(f"{place(path, SELECTION_KEY, i - 1)}: {where}: at most {MAX_SELECTIONS} "
                              "[[selection]] tables")
        for key in table:
            if key not in SELECTION_KEYS:
                raise _unknown(path, key, SELECTION_KEYS, f" in {where}", (SELECTION_KEY, i - 1, key))
        if "name" not in table:
            raise ConfigError(f"{place(path, SELECTION_KEY, i - 1)}: {where}: key 'name' is missing (ASCII "
                              "lower-case letters, digits and '-')")
        try:
            sel = make_selection(name=table["name"], title=table.get("title"), min_votes=table.get("min-votes"),
                                 top=table.get("top"), match=table.get("match"), exclude=table.get("exclude"),
                                 where=where)
        except SelectionError as err:
            keys = (SELECTION_KEY, i - 1, *((err.key,) if err.key in table else ()))
            raise ConfigError(f"{place(path, *keys)}: {err}") from None
        if sel.name in found:
            raise ConfigError(f"{place(path, SELECTION_KEY, i - 1, 'name')}: {where}: key 'name': the name "
                              f"{shown_value(sel.name)} is used twice")
        seen = fold(as_seen(feed_text(sel.title)))
        twin = titles.setdefault(seen, sel)
        if twin is not sel:  # two of one title would be one book
            key = "title" if "title" in table else "name"
            raise ConfigError(f"{place(path, SELECTION_KEY, i - 1, key)}: {where}: key '{key}': the title "
                              f"{shown_value(sel.title)} reads as selection '{twin.name}''s, "
                              f"{shown_value(twin.title)}; give each selection a title of its own (its books "
                              "and feed are told apart by it)")
        found[sel.name] = sel
    return tuple(found.values())


def find_config(explicit: str | None, cwd: Path | None = None) -> Path | None:
    """The config to use: ``--config`` if given, else ./digest-export.toml if present."""
    if explicit:
        return Path(explicit)
    candidate = (cwd or Path.cwd()) / CONFIG_NAME
    # Anything by that name is the config, even a named pipe, a folder or a dangling link: it is
    # then refused by name (load_config), never skipped for the bundled defaults.
    return candidate if os.path.lexists(candidate) else None


def _toml_error(path: Path, text: str, message: str) -> str:
    """tomllib's *message* in the path form, PATH:LINE:COLUMN: ..., naming the key a value is
    given twice for.  tomllib says where at the end of its message, after the value it stopped
    at: "at end of document" when that value ends the file (a key written twice on the last
    line said neither where nor which)."""
    where = re.search(r" \(at line ([0-9]+), column ([0-9]+)\)$", message)
    if where is not None:
        line, column, reason = int(where.group(1)), int(where.group(2)), message[:where.start()]
    elif message.endswith(" (at end of document)"):
        lines = text.split("\n")
        line, column, reason = len(lines), len(lines[-1]) + 1, message[:-len(" (at end of document)")]
    else:
        return f"{q(path)}: not valid TOML: {message}"
    if reason == "Cannot overwrite a value":
        lines = text.split("\n")
        key = re.match(r"\s*([^=]+?)\s*=", lines[line - 1] if line <= len(lines) else "")
        if key is not None:
            reason = f"key '{printable(key.group(1).strip(chr(34) + chr(39)))}' is given a value twice (tomllib: {reason})"
    return f"{q(path)}:{line}:{column}: not valid TOML: {reason}"


def load_config(path: Path) -> dict[str, Any]:
    try:
        data = gate_files.read_bytes(path, gate_files.CONFIG_LIMIT)
        text = gate_text.decode_strict(data, str(path))
        _check_dotted_keys(text, path)
        config = tomllib.loads(text, parse_float=WrittenFloat.of)
        remember(path, text)
        return config
    except gate_text.NotText as err:
        raise ConfigError(f"{q(path)}:{err.line}: {err.why}; save it as UTF-8") from err
    except OSError as err:
        why = gate_files.broken_link(path) or err.strerror or err
        raise ConfigError(f"cannot read config file {q(path)}: {why}") from err
    except tomllib.TOMLDecodeError as err:
        # tomllib says where at the end of its message: said in the path form, PATH:LINE:COLUMN.
        raise ConfigError(_toml_error(path, text, str(err))) from err
    except RecursionError:  # tomllib recurses into nested arrays and inline tables
        raise ConfigError(f"{q(path)}: values nested too deeply") from None
    except ValueError as err:
        # tomllib lets int() refuse an integer of more digits than Python converts
        # (sys.get_int_max_str_digits(), 4,300): a plain ValueError, not a TOMLDecodeError.
        raise ConfigError(f"{q(path)}: a number too large (more than {sys.get_int_max_str_digits()} "
                          "digits)") from err


def place(path: Path | str, *keys: str | int) -> str:
    """*path* as a message starts with it, with the line of the config where *keys* is written
    (a table, a key in it, or the index of an ``[[array]]``'s table): ``c.toml:12``; the path
    alone when the line is not known (a config this process did not read)."""
    line = line_of(path, *keys)
    return f"{q(path)}:{line}" if line else q(path)


class WrittenFloat(float):
    """A TOML float that keeps its spelling, for messages: ``days = 1e3`` is shown ``1e3``, as
    written, not ``1000.0`` (``model.shown_value`` reads :attr:`written`)."""

    written: str

    @classmethod
    def of(cls, text: str) -> WrittenFloat:
        number = cls(text.replace("_", ""))  # TOML 1.0 "Float": '_' between digits, inf, nan
        number.written = text
        return number


#: The most parts a dotted key may have (``a.b.c`` has 3): no valid config of ours has more than
#: a few (``build.lang = "ko"``).
MAX_KEY_PARTS = 8

# One token of TOML text for the scan below: comments and strings are skipped whole (their dots
# are text, not key separators); a chain of keys joined by dots (TOML 1.0 "Keys": bare or quoted
# parts, spaces and tabs around the dots) is one token.  A value is never such a chain of more
# than two parts (a float ``1.5``), so counting every chain, wherever it is, counts every key:
# of key/value lines, table headers and inline tables alike.  A string left open is one token to
# its end (of the text, or of the line), so that no text is scanned twice.
_KEY_PART = r"""(?:[A-Za-z0-9_-]+|"(?:[^"\\\n]|\\.)*"|'[^'\n]*')"""
_TOML_TOKEN = re.compile(
    r"#[^\n]*"
    r'|"""(?:[^"\\]|\\[\s\S]|"(?!""))*(?:"""|\Z)'
    r"|'''(?:[^']|'(?!''))*(?:'''|\Z)"
    rf"|(?P<key>{_KEY_PART}(?:[ \t]*\.[ \t]*{_KEY_PART})*)"
    r"""|"(?:[^"\\\n]|\\.)*|'[^'\n]*"""
    r"""|[^#"'A-Za-z0-9_-]+"""
    r"|[\s\S]")


def _check_dotted_keys(text: str, path: Path) -> None:
    """Refuse a key of more than :data:`MAX_KEY_PARTS` dotted parts before tomllib reads it:
    tomllib's time grows with the square of a key's parts (a 64 KB line ``a.a.a...`` of 32,000
    parts takes seconds), and no config of ours needs more than a few.  Linear: one regex pass."""
    for m in _TOML_TOKEN.finditer(text):
        chain = m.group("key")
        if chain is None or chain.count(".") < MAX_KEY_PARTS:
            continue
        parts = len(re.findall(_KEY_PART, chain))
        if parts > MAX_KEY_PARTS:
            line = text.count("\n", 0, m.start()) + 1
            raise ConfigError(f"{q(path)}:{line}: error: a key of {parts} dotted parts; "
                              f"a key has at most {MAX_KEY_PARTS}")


def _long_names(command: click.Command) -> dict[str, click.Parameter]:
    names: dict[str, click.Parameter] = {}
    for param in command.params:
        if isinstance(param, click.Argument):
            if param.name == INPUTS_KEY:
                names[INPUTS_KEY] = param
            continue
        longs = [o for o in param.opts if o.startswith("--")]
        if longs and param.expose_value:
            names[longs[0][2:]] = param
    names.pop("help", None)
    return names


def _convert(path: Path, table: str, key: str, value: Any, param: click.Parameter,
             ctx: click.Context) -> Any:
    """The config's *value* of *key* (in the command's *table*, or "" at the top) as *param* takes it."""
    where = f"[{table}] " if table else ""

    def fail(expected: str, got: Any = value, why: str | None = None, must: str | None = None) -> ConfigError:
        # *must*: the whole reason, when it is not the kind of value (a number out of its range).
        # The line is looked for only here, for a refused value: each look parses the config again.
        at = place(path, *((table,) if table else ()), key)
        return ConfigError(f"{at}: {where}key '{key}' {must or 'must be ' + expected}, not {shown_value(got)}"
                           + (f": {why}" if why else ""))

    many = isinstance(param, click.Argument) or getattr(param, "multiple", False)
    if many:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise fail("a list (an array in [...])")
        return tuple(_convert_one(path, lambda expected, why=None, must=None, got=v: fail(expected, got, why, must),
                                  v, param, ctx)
                     for v in value)
    return _convert_one(path, fail, value, param, ctx)


def _of_its_kind(value: Any, param: click.Parameter) -> bool:
    """Whether the TOML *value* is of the kind *param* takes (a string where a date or a path is
    taken, a number where a number is...), whatever it holds: see :func:`default_map`."""
    from .options import Seconds

    if isinstance(value, list):
        return isinstance(param, click.Argument) or getattr(param, "multiple", False)
    ptype = param.type
    if isinstance(ptype, click.types.BoolParamType) or getattr(param, "is_flag", False):
        return isinstance(value, bool)
    if isinstance(ptype, (click.types.IntParamType, click.types.FloatParamType, Seconds)):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(ptype, click.DateTime):
        return isinstance(value, (str, dt.date))
    return isinstance(value, str)


def _expected(param: click.Parameter) -> str:
    """What a value of *param* is, in words, with the article."""
    from .options import Seconds

    ptype = param.type
    if isinstance(ptype, click.Path):
        return "a path (a string)"
    if isinstance(ptype, click.types.BoolParamType) or getattr(param, "is_flag", False):
        return "true or false"
    if isinstance(ptype, click.types.IntParamType):
        return f"{allowed_range(*_bounds(ptype))} (no quotes)"
    if isinstance(ptype, (click.types.FloatParamType, Seconds)):
        return f"{allowed_range(*_bounds(ptype), kind='a number')} (no quotes)"
    if isinstance(ptype, click.DateTime):
        return "a date (YYYY-MM-DD: a TOML date, or a string)"
    if isinstance(ptype, click.Choice):
        return "one of " + ", ".join(f'"{c}"' for c in ptype.choices)
    return f"a {ptype.name} (a string, in quotes)" if ptype.name != "text" else "a string (in quotes)"


def _bounds(ptype: click.ParamType) -> tuple[Any, Any]:
    """The least and greatest value of a number type (ours: ``low``/``high``; click's ranges:
    ``min``/``max``), each None when it has none."""
    low = getattr(ptype, "low", getattr(ptype, "min", None))
    high = getattr(ptype, "high", getattr(ptype, "max", None))
    return low, high


def _why_not(value: Any, ptype: click.ParamType) -> tuple[str | None, str | None]:
    """Why the TOML number *value* is not a value of the number type *ptype*, in words, as
    ``(why, must)``: *why* when it is the wrong kind of number (the reason ``1e3`` is no count is
    that TOML reads it as a float), *must* when it is out of range, the whole reason from the
    number gate (``days = 0``: "must be at least 1 (a whole number from 1 to 100000)", not
    "must be a whole number")."""
    from .options import Seconds

    if not isinstance(ptype, (click.types.IntParamType, click.types.FloatParamType, Seconds)):
        return None, None
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None, None
    if isinstance(value, float) and math.isnan(value):
        return "not a number (nan)", None
    if isinstance(value, float) and math.isinf(value):
        # ``1e400`` is a float beyond the largest (IEEE 754 binary64 overflows to infinity).
        if getattr(value, "written", "inf").lstrip("+-") == "inf":
            return "not finite", None
    low, high = _bounds(ptype)
    whole = isinstance(ptype, click.types.IntParamType)
    if whole and isinstance(value, float) and math.isfinite(value) and not value.is_integer():
        return "not a whole number", None
    must = out_of_range(value, low, high, "a whole number" if whole else "a number")
    if must is not None:
        return None, must
    if isinstance(value, float) and math.isinf(value):  # a range open on that side
        return "not finite", None
    if whole and isinstance(value, float):
        return f"TOML reads it as a float; write {int(value)}", None
    return None, None


def _convert_one(path: Path, fail: Any, value: Any, param: click.Parameter, ctx: click.Context) -> Any:
    from .options import Seconds

    ptype = param.type
    expected = _expected(param)
    if isinstance(value, (dict, list)):
        raise fail(expected)
    if isinstance(ptype, click.Path):
        if not isinstance(value, str):
            raise fail(expected)
        if "\0" in value:
            # No OS path holds a NUL (POSIX: it ends a C string).
            raise fail("a path without a NUL character")
        if not value:
            # As the option says it: "" would be the config's own folder, written into unasked.
            raise fail("a path", why="an empty path names no file or folder")
        if value == "-":
            return value
        p = Path(value).expanduser()
        return str(p if p.is_absolute() else (path.parent / p))
    if isinstance(ptype, click.types.BoolParamType) or getattr(param, "is_flag", False):
        if not isinstance(value, bool):
            raise fail(expected)
        return value
    if isinstance(value, bool):
        raise fail(expected)
    if isinstance(value, (dt.date, dt.time)):
        # A TOML date (from = 2024-03-04) is what a date option means;
        # a TOML date-time or time is not.
        if not isinstance(ptype, click.DateTime) or isinstance(value, (dt.datetime, dt.time)):
            raise fail(expected)
        return dt.datetime(value.year, value.month, value.day)
    why, must = _why_not(value, ptype)
    if why is not None or must is not None:
        raise fail(expected, why=why, must=must)
    _check_toml_type(lambda _: fail(expected), value, ptype)
    try:
        return ptype.convert(value, param, ctx)
    except click.BadParameter as err:
        # A range or a choice says itself in *expected*; a language tag or a date says why.
        if isinstance(ptype, (click.types.IntParamType, click.types.FloatParamType, click.Choice, Seconds)):
            raise fail(expected) from err
        raise fail(f"{expected} ({err.message.rstrip('.')})") from err
    except (TypeError, ValueError, OverflowError) as err:  # a number for a date, say
        raise fail(expected) from err


def _check_toml_type(fail: Any, value: Any, ptype: click.ParamType) -> None:
    """A TOML value of the option's own type: a number for a number (``days = 7``, not ``"7"``), a
    whole number for a count (not ``7.5``), a string for a string (``title = "7"``, not ``7``)."""
    from .options import Seconds

    if isinstance(ptype, click.types.IntParamType):
        if not isinstance(value, int):
            raise fail("a whole number (no quotes)")
    elif isinstance(ptype, (click.types.FloatParamType, Seconds)):
        if not isinstance(value, (int, float)):
            raise fail("a number (no quotes)")
    elif isinstance(ptype, (click.types.StringParamType, click.Choice, click.DateTime)):
        if not isinstance(value, str):
            raise fail("a string (in quotes)")


def _unknown(path: Path, key: str, known: Any, where: str, keys: tuple[str | int, ...]) -> ConfigError:
    """An unknown key (at *keys*), with the close known ones as click says for options (``Did you mean``)."""
    import difflib

    close = difflib.get_close_matches(key, sorted(set(known)), n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return ConfigError(f"{place(path, *keys)}: unknown key {_key(key)}{where}{hint}")


def _key(key: str, quote: str = "'") -> str:
    """A key as the message shows it: ``'days'``, or TOML's quoted spelling when it holds what a
    terminal would act on (a key is any TOML string)."""
    shown = shown_value(key)
    return f"{quote}{key}{quote}" if shown == f'"{key}"' and "'" not in key else shown


def default_map(config: Mapping[str, Any], path: Path, group: click.Group,
                ctx: click.Context) -> dict[str, dict[str, Any]]:
    """Turn a parsed config into click's ``default_map`` for *group*'s commands."""
    commands = {name: cmd for name, cmd in group.commands.items()}
    params = {name: _long_names(cmd) for name, cmd in commands.items()}
    out: dict[str, dict[str, Any]] = {name: {} for name in commands}

    for key, value in config.items():
        if key in commands and not isinstance(value, dict):
            raise ConfigError(f"{place(path, key)}: '{key}' must be a table ([{key}], once), not {shown_value(value)}"
                              + (f" ([[{key}]])" if shown_value(value) == "an array of tables" else ""))
    top = {k: v for k, v in config.items() if k not in commands and k != SELECTION_KEY}
    for key, value in top.items():
        if isinstance(value, dict):
            raise ConfigError(f"{place(path, key)}: unknown table [{_key(key, quote='')}]; known: "
                              + ", ".join(f"[{c}]" for c in sorted(commands)))
        users = [c for c in commands if key in params[c]]
        if not users:
            raise _unknown(path, key, [k for c in commands for k in params[c]] + list(commands), "", (key,))
        # A top-level key goes to every command with that option; where two
        # commands give one name different meanings ('to': the last day of
        # a book, or send's addresses), a value of one meaning's kind (a TOML
        # date, a list) goes to the commands it fits.  A value of a command's
        # kind that it refuses (``to = "garbage"``: a string, as a date is) is
        # an error, not left to the other meaning: the command would run
        # without it, unsaid.
        errors: list[tuple[str, ConfigError]] = []
        for name in users:
            param = params[name][key]
            try:
                out[name][param.name] = _convert(path, "", key, value, param, ctx)
            except ConfigError as err:
                errors.append((name, err))
        refused = [(name, err) for name, err in errors if _of_its_kind(value, params[name][key])]
        if len(errors) == len(users) or refused:
            name, err = (refused or errors)[0]
            fits = sorted(set(users) - {n for n, _ in errors})
            raise ConfigError(f"{err}" + (f" (a top-level key is given to every command that has it: "
                                          f"{', '.join(sorted(users))}; write it in the [{fits[0]}] table "
                                          f"if it is for {fits[0]})" if fits else ""))

    # Every unknown key of the tables said at once, not one per run (the first a typo, the next
    # the key that was left as it was).
    unknown = [_unknown(path, key, params[name], f" in [{name}]", (name, key)) for name in commands
               if isinstance(config.get(name), dict) for key in config[name] if key not in params[name]]
    if unknown:
        raise ConfigError("\n".join(str(err) for err in unknown))
    for name in commands:
        table = config.get(name)
        if not isinstance(table, dict):
            continue
        for key, value in table.items():
            out[name][params[name][key].name] = _convert(path, name, key, value, params[name][key], ctx)
    return {name: values for name, values in out.items() if values}
