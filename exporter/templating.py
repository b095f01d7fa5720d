"""The jinja2 environment for the EPUB templates.

Lookup order (the ChoiceLoader pattern of pelican and datasette; see
docs/architecture.md): the user's ``--templates`` folder first, then the
packaged ``templates/``; the packaged ones are also
reachable as ``default:<name>`` so a user's file can
``{% extends "default:day.xhtml.j2" %}`` and override one block.

Digest text reaches the markup only through the :mod:`exporter.render`
filters registered here; autoescaping is on for everything else, and nothing
from the input is ever marked safe by a template.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import enum
import functools
import os
import re
from collections.abc import Iterator, Mapping, MappingView
from decimal import Decimal
from fractions import Fraction
from pathlib import Path, PurePath
from types import (AsyncGeneratorType, BuiltinFunctionType, CellType, ClassMethodDescriptorType, CodeType,
                   CoroutineType, FrameType, FunctionType, GeneratorType, GetSetDescriptorType, MemberDescriptorType,
                   MethodDescriptorType, MethodType, MethodWrapperType, TracebackType, WrapperDescriptorType)
from typing import Any

from markupsafe import Markup, escape

from .errors import TemplateError
from .model import SourceRef
from .gates import files as gate_files
from .gates.names import shell_quote
from .resources import templates_dir


def make_environment(user_dir: Path | str | None = None) -> Any:
    """A jinja2 Environment searching *user_dir* (if given), then the packaged templates.

    Without *user_dir* it is one environment per process: the packaged templates never change
    while it runs, and a build with selections compiles them once instead of once per selection
    (a user's folder may be edited between two runs in one process, so it gets a new one)."""
    return _environment(user_dir) if user_dir is not None else _packaged_environment()


@functools.cache
def _packaged_environment() -> Any:
    return _environment(None)


def _environment(user_dir: Path | str | None) -> Any:
    import jinja2

    from . import render

    packaged = templates_dir()
    folders = ([Path(user_dir)] if user_dir else []) + [packaged]
    if user_dir is not None and not Path(user_dir).is_dir():
        raise TemplateError(f"the templates folder {user_dir} does not exist")
    loader = jinja2.ChoiceLoader([
        _gated_loader(folders),
        jinja2.PrefixLoader({"default": _gated_loader([packaged])}, delimiter=":"),
    ])
    # jinja2's sandbox (for the user's templates: the user's code, but read from a folder that
    # may come from anywhere) costs a check on every attribute a template reads; the packaged
    # templates alone are this program's own code and are rendered without it.
    env = _bounded_environment_class(user_dir is not None)(
        loader=loader,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        # What a user's template shows is checked to be the same every run (see _shown), when it
        # renders: jinja2's optimizer would compute constant expressions while compiling, and
        # turn them into text there (``"" ~ [1]|reverse``), where no check sees it.
        finalize=_shown if user_dir is not None else None,
        optimized=user_dir is None,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        # Templates do not change during a run; checking their mtime on
        # every render costs a stat() per day.
        auto_reload=False,
    )
    env.filters.update(
        title_html=render.title_html,
        title_text=render.title_text,
        inline_html=render.inline_html,
        summary_html=render.summary_html,
        text_html=render.text_html,
        safe_url=render.safe_url,
    )
    env.globals["searched_folders"] = tuple(str(f) for f in folders)
    env.globals["user_templates"] = str(user_dir) if user_dir is not None else None
    env.globals["lang_attrs"] = checked_lang_attrs
    _install_bounded_filters(env)
    if user_dir is not None:
        _install_checked_filters(env)
    return env


#: How deep a template may nest, counted on what jinja2 builds from it.  Its parser and code
#: generator recurse once per level, and Python's compiler refuses the module it generates past
#: 100 indentation levels or 200 open brackets (``MAXINDENT``, ``MAXLEVEL`` in CPython's
#: tokenizer); a ``{% for %}`` with ``loop`` and ``else`` costs four indentation levels.  The
#: packaged templates nest 3 statements and 11 nodes deep.
MAX_STATEMENT_DEPTH = 16
MAX_EXPRESSION_DEPTH = 32
MAX_BRACKET_DEPTH = 32


class _BoundedStrings:
    """What jinja2's sandbox does with strings, bounded as the operators are: a string method
    whose argument is the size of what it builds (``"x".ljust(10**9)``) or that multiplies it
    (``s.replace("a", big)``), and ``str.format`` widths (``"{:>999999999}".format(1)``)."""

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        if isinstance(getattr(__obj, "__self__", None), str):
            _check_str_call(__obj.__self__, getattr(__obj, "__name__", ""), args)
        return super().call(__context, __obj, *args, **kwargs)  # type: ignore[misc]

    def wrap_str_format(self, value: Any) -> Any:
        # jinja2's sandbox runs a string's format and format_map through here.
        wrapped = super().wrap_str_format(value)  # type: ignore[misc]
        if wrapped is None:
            return None

        def bounded(*args: Any, **kwargs: Any) -> str:
            _check_format_widths(getattr(value, "__self__", None), args, kwargs)
            _check_shown(args)
            _check_shown(kwargs)
            return wrapped(*args, **kwargs)

        return bounded


class _NoPlaces:
    """jinja2's sandbox, hiding where a paper or day was read (:func:`_where_read`)."""

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        return not _where_read(value) and super().is_safe_attribute(obj, attr, value)  # type: ignore[misc]


@functools.cache
def _bounded_environment_class(sandboxed: bool = True) -> Any:
    """A jinja2 ``Environment`` whose templates are refused, as a :class:`TemplateError` naming the
    file and line, when they nest deeper than the bounds above, in bounded time.

    Both guards, because each alone leaves a gap: (1) before parsing, the source's brackets are
    counted on jinja2's own lexer (an iterative tokenizer: thousands of nested ``(`` or ``[``
    cost one pass, where the recursive parser would overflow); (2) after parsing, the tree's
    statement and expression depth is measured with an explicit stack (``1 + 1 + ... + 1`` is
    parsed in a loop but builds a tree a thousand deep, which the code generator then recurses
    through).  A RecursionError, MemoryError or SyntaxError that still comes out of jinja2's
    parser, its code generator or Python's ``compile`` (some spelling the two guards did not
    foresee) becomes the same error, never a crash."""
    import jinja2

    from jinja2.sandbox import ImmutableSandboxedEnvironment

    # Immutable: no ``labels.update(...)``; the labels are shared by every book a worker renders.
    bases = (_BoundedStrings, _NoPlaces, ImmutableSandboxedEnvironment) if sandboxed else (jinja2.Environment,)

    class BoundedEnvironment(*bases):  # type: ignore[misc]
        template_class = _template_class()
        code_generator_class = _unfolded_code_generator() if sandboxed else jinja2.Environment.code_generator_class

        # The sandbox (jinja2's, made for untrusted templates) refuses private attributes and
        # bounds ``range()`` to MAX_RANGE items; the operators below are intercepted so that one
        # expression cannot build a value of gigabytes (``"x" * 10**9``, ``10**10**6``).
        intercepted_binops = frozenset(["*", "**", "+", "%", "-"])

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            _check_binop(operator, left, right)
            return _unordered_refused(operator, super().call_binop(context, operator, left, right))


        def _parse(self, source: str, name: str | None, filename: str | None) -> Any:
            _check_brackets(self, source, name, filename)
            try:
                ast = super()._parse(source, name, filename)
            except (RecursionError, MemoryError) as err:
                raise TemplateError(f"{_named(name, filename)}: error: the template nests too deep for "
                                    f"jinja2 to read ({type(err).__name__})") from None
            _check_depth(ast, name, filename)
            return ast

        def compile(self, source: Any, name: str | None = None, filename: str | None = None,
                    raw: bool = False, defer_init: bool = False) -> Any:
            try:
                # jinja2's optimizer computes constant expressions while compiling
                # (``[1]|slice(10**7)``): the user's templates compile within the render's bounds.
                with _time_budget(), _memory_budget(self.sandboxed):
                    return super().compile(source, name, filename, raw, defer_init)
            except MemoryError:
                raise TemplateError(f"{_named(name, filename)}: error: compiling the template makes a value "
                                    "too large for memory") from None
            except _RenderTimeout as err:
                raise TemplateError(f"{_named(name, filename)}: error: compiling the template: {err}") from None
            except RecursionError as err:
                raise TemplateError(f"{_named(name, filename)}: error: the template nests too deep to "
                                    f"compile ({type(err).__name__})") from None
            except SyntaxError as err:  # Python's compiler on the module jinja2 generated
                if isinstance(err, jinja2.TemplateSyntaxError):
                    raise
                raise TemplateError(f"{_named(name, filename)}: error: the template nests too deep to "
                                    f"compile (Python: {err.msg})") from None

    return BoundedEnvironment


@functools.cache
def _unfolded_code_generator() -> Any:
    """jinja2's code generator, computing no ``{{ }}`` at compile time but the template's own
    text: what an expression shows goes through ``finalize`` (:func:`_shown`) when it renders.
    jinja2 folds a constant expression into text, escaped, before finalize sees it."""
    from jinja2 import nodes
    from jinja2.compiler import CodeGenerator

    class UnfoldedCodeGenerator(CodeGenerator):  # type: ignore[misc]
        def _output_child_to_const(self, node: Any, frame: Any, finalize: Any) -> str:
            if not isinstance(node, nodes.TemplateData):
                raise nodes.Impossible()
            return super()._output_child_to_const(node, frame, finalize)

    return UnfoldedCodeGenerator


@functools.cache
def _template_class() -> Any:
    """jinja2's ``Template``, whose compiled code escapes what it outputs with :func:`_escape`."""
    import jinja2

    class Template(jinja2.Template):  # type: ignore[misc]
        def _get_default_module(self, ctx: Any = None) -> Any:
            # jinja2 keeps the module of a template imported without context (``{% import "x" as
            # m %}``) for the next import: what one render changes in it (a ``cycler`` of its own
            # advanced) the next render would see, and a book would depend on which books the
            # process rendered before it.  A user's template gets a module of its own each time.
            if not self.environment.sandboxed:
                return super()._get_default_module(ctx)
            keys = ctx.globals_keys - self.globals.keys() if ctx is not None else ()
            return self.make_module({k: ctx.parent[k] for k in keys} if keys else None)

        @classmethod
        def from_code(cls, environment: Any, code: Any, globals: Any, uptodate: Any = None) -> Any:
            template = super().from_code(environment, code, globals, uptodate)
            # The module jinja2 compiled the template into: its render functions read ``escape``
            # there (``from jinja2.runtime import ... escape``, which from_code ran).
            namespace = template.root_render_func.__globals__
            if namespace.get("escape") is escape:
                namespace["escape"] = _escape
            if environment.sandboxed:
                # ``a ~ b`` (jinja2.runtime's joins, imported there too) turns values into text.
                for join in ("markup_join", "str_join"):
                    if join in namespace:
                        namespace[join] = _checked_join(namespace[join])
            return template

    return Template


def _escape(value: Any) -> Any:
    """markupsafe's ``escape``, for what an autoescaping template outputs, without the copy it
    makes of a value that is markup already (the filters' output, most of a book's pieces):
    ``escape`` calls ``__html__`` and wraps its result in a new ``Markup`` (markupsafe 3.0, in
    Python), the same text again; a ``Markup`` is immutable, so the value itself is that text.
    A seventh of rendering a year's day documents."""
    if type(value) is Markup:
        return value
    return escape(value)


#: Largest string, list or number (in characters, items or decimal digits) one template
#: expression may build, and largest rendered document: a day of the packaged templates is
#: well under 1 MB, and libxml2 refuses a text node over 10 MB unless told otherwise.
MAX_VALUE_SIZE = 1_000_000
MAX_OUTPUT_CHARS = 8_000_000
#: Seconds one render may take, measured in the process that renders (books are rendered in
#: worker processes, each in its own main thread): a loop over ``range`` nested in another
#: is bounded by MAX_RANGE but not in time.
RENDER_SECONDS = 20.0


def _size(value: Any) -> int | None:
    if isinstance(value, (str, bytes, list, tuple)):
        return len(value)
    return None


def _check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse, before it is computed, a ``*``, ``**``, ``+`` or ``%`` result over MAX_VALUE_SIZE."""
    too_big = False
    if operator == "*":
        for seq, n in ((left, right), (right, left)):
            size = _size(seq)
            if size is not None and isinstance(n, int) and size * max(n, 0) > MAX_VALUE_SIZE:
                too_big = True
    elif operator == "**":
        if isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and right > 0:
            # digits of left**right is about right * log10(left)
            too_big = right * max(left.bit_length(), 1) > MAX_VALUE_SIZE * 3.33
    elif operator == "+":
        a, b = _size(left), _size(right)
        too_big = a is not None and b is not None and a + b > MAX_VALUE_SIZE
    elif operator == "%" and isinstance(left, str):
        # printf-style widths and precisions, written ("%1000000000d" % 1) or given ("%*d" % (10**9, 1))
        too_big = any(int(w or p) > MAX_VALUE_SIZE for w, p in _WIDTHS.findall(left))
        if not too_big and _FORMAT_ARGUMENT_SIZE.search(left):
            given = right if isinstance(right, tuple) else (right,)
            too_big = any(type(v) is int and v > MAX_VALUE_SIZE for v in given)
    if too_big:
        raise ValueError(f"the result of {operator!r} would be larger than {MAX_VALUE_SIZE:,} "
                         "characters, items or digits")
    if operator == "%":  # printf-style: the right side becomes text
        _check_shown(right)


def _where_read(value: Any) -> bool:
    """Whether *value* says where a paper or day was read (``e.paper.source``: file and line),
    which a template may not see: it does not decide whether a book is built again (an edit
    above a paper moves it), so shown, a book kept from an earlier run would differ from a
    fresh one."""
    return isinstance(value, SourceRef) or type(value) is tuple and bool(value) and isinstance(value[0], SourceRef)


def _unordered_refused(operator: str, result: Any) -> Any:
    """*result*, unless it is a set (``d.keys() - other``): see :func:`_run_dependent`."""
    if isinstance(result, (set, frozenset)):
        raise ValueError(f"{operator!r} made a set, whose order changes from run to run: sort it ('|sort') first")
    return result


_WIDTHS = re.compile(r"%[-#0 +]*(\d+)|\.(\d+)[a-zA-Z]")


#: (``\d``, not ``[0-9]``, here: str.format reads a width in any Unicode digit, ``{:>５}``.)
#: The widths and precisions of a %-format (``%999999999d``, ``%.9f``) and a str.format field
#: (``{:>999999999}``, ``{0:.{1}}``): each builds a value of that size.
_FORMAT_SIZES = re.compile(r"%[-#0 +]*(\d*)(?:\.(\d*))?|\{[^{}]*?:[^{}]*?(\d+)(?:\.(\d+))?[^{}]*\}")


#: A width or precision given as an argument: ``%*d``, ``{:>{w}}``.
_FORMAT_ARGUMENT_SIZE = re.compile(r"%[-#0 +]*\*|%[-#0 +]*\d*\.\*|\{[^{}]*?:[^{}]*\{")


#: str methods whose integer argument is the length of the string they build.
_SIZED_STR_METHODS = frozenset({"ljust", "rjust", "center", "zfill", "expandtabs"})


def _check_str_call(text: str, name: str, args: Any) -> None:
    """ValueError when calling the str method *name* of *text* with *args* would build a string
    over MAX_VALUE_SIZE characters (a width, or a replacement times its occurrences)."""
    if name in _SIZED_STR_METHODS and args and isinstance(args[0], int):
        _bounded(f"{name} width", args[0] * (max(1, text.count("\t")) if name == "expandtabs" else 1))
    elif name == "replace" and len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
        grows = len(args[1]) - len(args[0])
        if grows > 0:
            count = text.count(args[0]) if args[0] else len(text) + 1
            _bounded("the replaced string's length", len(text) + grows * count)


def _check_format_widths(fmt: Any, args: Any = (), kwargs: Any = None) -> None:
    """ValueError when the format string *fmt* asks for a width or precision over MAX_VALUE_SIZE,
    written in it or given as one of *args*/*kwargs*."""
    if not isinstance(fmt, str):
        return
    for m in _FORMAT_SIZES.finditer(fmt):
        for size in m.groups():
            if size and len(size) > 6 and int(size) > MAX_VALUE_SIZE:
                raise ValueError(f"format width {int(size):,} is larger than {MAX_VALUE_SIZE:,}")
    if _FORMAT_ARGUMENT_SIZE.search(fmt):
        for value in [*args, *(kwargs or {}).values()]:
            if isinstance(value, int) and value > MAX_VALUE_SIZE:
                raise ValueError(f"format width {value:,} is larger than {MAX_VALUE_SIZE:,}")


def _bounded(what: str, n: Any) -> Any:
    if isinstance(n, int) and n > MAX_VALUE_SIZE:
        raise ValueError(f"{what} {n} is larger than {MAX_VALUE_SIZE:,}")
    return n


def _install_bounded_filters(env: Any) -> None:
    """jinja2's filters and globals whose size argument builds a value of that size."""
    center, wordwrap, indent, lipsum = (env.filters["center"], env.filters["wordwrap"],
                                        env.filters["indent"], env.globals["lipsum"])
    truncate = env.filters["truncate"]

    def bounded_center(value: Any, width: int = 80) -> Any:
        return center(value, _bounded("center width", width))

    def bounded_wordwrap(environment: Any, s: str, width: int = 79, *args: Any, **kw: Any) -> Any:
        if not isinstance(width, int) or width < 1:
            raise ValueError(f"wordwrap width must be a positive number, not {width!r}")
        return wordwrap(environment, s, _bounded("wordwrap width", width), *args, **kw)

    def bounded_indent(s: Any, width: Any = 4, *args: Any, **kw: Any) -> Any:
        if isinstance(width, str):
            _bounded("indent", len(width))
        return indent(s, _bounded("indent width", width), *args, **kw)

    def bounded_truncate(environment: Any, s: str, length: int = 255, *args: Any, **kw: Any) -> Any:
        return truncate(environment, s, _bounded("truncate length", length), *args, **kw)

    def bounded_lipsum(n: int = 5, *args: Any, **kw: Any) -> Any:
        if isinstance(n, int) and n > 100:
            raise ValueError(f"lipsum({n}): at most 100 paragraphs")
        # The same words every run (jinja2 draws them from the module's random state): the
        # same input, options and templates give the same bytes.
        import random

        state = random.getstate()
        random.seed(f"lipsum {n} {args} {sorted(kw.items())}")
        try:
            return lipsum(n, *args, **kw)
        finally:
            random.setstate(state)

    def repeatable_random(seq: Any) -> Any:
        """jinja2's ``random`` filter, drawn by the sequence itself: the same item every run."""
        import hashlib
        import random

        items = list(seq)
        if not items:
            raise ValueError("random of an empty sequence")
        seed = hashlib.sha256(repr(items).encode("utf-8", "surrogatepass")).digest()
        return random.Random(seed).choice(items)

    import jinja2

    env.filters["center"] = bounded_center
    env.filters["wordwrap"] = jinja2.pass_environment(bounded_wordwrap)
    env.filters["indent"] = bounded_indent
    env.filters["truncate"] = jinja2.pass_environment(bounded_truncate)
    env.globals["lipsum"] = bounded_lipsum
    env.filters["random"] = repeatable_random
    env.filters["sum"] = _bounded_sum(env.filters["sum"])
    for name in ("batch", "slice"):  # their count is the number of lists they make
        env.filters[name] = _bounded_count(name, env.filters[name])
    _install_sized_string_filters(env)


def _bounded_sum(total: Any) -> Any:
    """jinja2's ``sum`` filter, refusing a sum of lists, tuples or strings over MAX_VALUE_SIZE
    items before it is made: each step copies what the steps before built (quadratic, in one C
    call that neither the timer nor SIGTERM interrupts)."""
    import jinja2

    def bounded(environment: Any, iterable: Any, attribute: Any = None, start: Any = 0) -> Any:
        if not isinstance(start, (int, float)):
            items = list(iterable)
            size = sum(len(x) if isinstance(x, (str, bytes, list, tuple)) else 1 for x in items)
            _bounded("sum of sequences, items", size + (_size(start) or 0))
            iterable = items
        return total(environment, iterable, attribute, start)

    return jinja2.pass_environment(bounded)


def _bounded_count(name: str, make: Any) -> Any:
    """The filter *make* with its count (the argument after the value) bounded."""
    # A filter jinja2 passes its context, eval context or environment first (``jinja_pass_arg``,
    # which functools.wraps copies) has the count third.
    at = 2 if hasattr(make, "jinja_pass_arg") else 1

    @functools.wraps(make)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        if len(args) > at:
            _bounded(f"{name} count", args[at])
        return make(*args, **kwargs)

    return bounded


def _install_sized_string_filters(env: Any) -> None:
    """jinja2's ``format`` and ``replace`` filters, bounded as the string methods are."""
    import jinja2

    fmt = env.filters["format"]

    def bounded_format(value: Any, *args: Any, **kwargs: Any) -> Any:
        _check_format_widths(value, args, kwargs)
        return fmt(value, *args, **kwargs)

    env.filters["format"] = bounded_format
    replace = env.filters["replace"]

    def bounded_replace(eval_ctx: Any, s: Any, old: Any, new: Any, count: Any = None) -> Any:
        _check_str_call(str(s), "replace", (str(old), str(new)))
        return replace(eval_ctx, s, old, new, count)

    env.filters["replace"] = jinja2.pass_eval_context(bounded_replace)


#: jinja2's filters that hand values on without turning them into text: what they give is
#: checked where it is shown.  Every other filter (``string``, ``join``, ``format``, ``pprint``,
#: ``urlencode``, ``random``, the user's own...) has its arguments checked (see _shown).
_PASSING_FILTERS = frozenset({
    "abs", "attr", "batch", "count", "d", "default", "dictsort", "first", "float", "groupby", "int",
    "items", "last", "length", "list", "map", "max", "min", "reject", "rejectattr", "reverse", "round",
    "select", "selectattr", "slice", "sort", "sum", "tojson", "unique",
})


def _install_checked_filters(env: Any) -> None:
    """Every filter of a user's environment that turns its value or arguments into text, checked
    first (:func:`_check_shown`): ``lipsum|string`` would be the function's memory address."""
    for name, make in list(env.filters.items()):
        if name not in _PASSING_FILTERS:
            env.filters[name] = _checked_filter(make, iterates=name in _ITERATING_FILTERS,
                                                models=name in _MODEL_FILTERS)


#: Filters that take the items of an iterator they are given (``map(...)|join``), rather than
#: showing the iterator itself.
_ITERATING_FILTERS = frozenset({"join", "random"})
#: This program's filters, which render its papers, days and summaries (exporter.render) rather
#: than show them as Python writes them.
_MODEL_FILTERS = frozenset({"title_html", "title_text", "inline_html", "summary_html", "text_html", "safe_url"})


def _checked_filter(make: Any, *, iterates: bool = False, models: bool = False) -> Any:
    # A filter jinja2 passes its context, eval context or environment first (``jinja_pass_arg``,
    # which functools.wraps copies) has its value second.
    at = 1 if hasattr(make, "jinja_pass_arg") else 0

    @functools.wraps(make)
    def checked(*args: Any, **kwargs: Any) -> Any:
        if iterates and len(args) > at and isinstance(args[at], Iterator):
            # Not made yet: each item checked as it is taken.
            args = (*args[:at], (_check_shown(item) or item for item in args[at]), *args[at + 1:])
            _check_shown(args[at + 1:], models)
        else:
            _check_shown(args[at:], models)
        _check_shown(kwargs, models)
        return make(*args, **kwargs)

    return checked


def _checked_join(join: Any) -> Any:
    def checked(seq: Any) -> Any:
        seq = list(seq)
        _check_shown(seq)
        return join(seq)

    return checked


def _shown(value: Any) -> Any:
    """jinja2's ``finalize`` for a user's templates: *value*, shown by ``{{ }}``, after
    :func:`_check_shown` (most are strings: no more than a type check)."""
    if type(value) is str or type(value) is Markup:
        return value
    _check_shown(value)
    return value


def _check_shown(value: Any, models: bool = False) -> None:
    """ValueError when *value*, turned into text, would not be the same text every run: the same
    input, options and templates give the same bytes.  *models*: this program's papers, days
    and views may be in it (a filter of exporter.render takes them)."""
    if type(value) in _PLAIN_TYPES:
        return
    reason = _run_dependent(value, models)
    if reason is not None:
        raise ValueError(f"it shows {reason} (the same input must give the same bytes)")


#: Values whose text is the same every run.
_PLAIN = (str, int, float, complex, bytes, type(None), dt.date, dt.time, dt.timedelta, Decimal, Fraction,
          enum.Enum, PurePath)
#: Objects Python shows by their memory address (``<function f at 0x7f...>``), as do
#: ``object.__repr__`` and any text of an object holding one of these.
_BY_ADDRESS = (FunctionType, BuiltinFunctionType, MethodType, MethodWrapperType, WrapperDescriptorType,
               MethodDescriptorType, ClassMethodDescriptorType, GetSetDescriptorType, MemberDescriptorType,
               GeneratorType, CoroutineType, AsyncGeneratorType, CodeType, FrameType, TracebackType, CellType)
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
#: Types whose every value is plain (see _run_dependent): these first, then each type found so.
_PLAIN_TYPES = {str, Markup, int, float, bool, type(None)}
#: This program's dataclasses met so far.
_MODEL_TYPES: set[type] = set()
_OURS = __name__.partition(".")[0] + "."


def _run_dependent(value: Any, models: bool = False) -> str | None:
    """What in *value* has a text that changes from run to run, said, or None.  Two sources:
    memory addresses (an object shown by ``object.__repr__``, a function, a method, a generator:
    ASLR and the allocator place them anew each run) and sets (their order follows string
    hashes, randomised per process: Python's ``PYTHONHASHSEED``).  Lists, tuples, dicts and
    dataclasses are looked into; any other object is judged by its text.  This program's own
    (a paper, a day: unless *models*) are refused: Python's notation of them holds where each
    was read, which does not decide whether a book is built again."""
    stack, seen = [value], 0
    while stack:
        v = stack.pop()
        seen += 1
        if seen > MAX_VALUE_SIZE:  # the sandbox bounds every value; a cycle (a list in itself) ends here
            return None
        t = type(v)
        if t in _PLAIN_TYPES:  # no isinstance() against a dozen types for most values
            continue
        if t is tuple or t is list:
            stack.extend(v)
            continue
        if t in _MODEL_TYPES:
            if models:
                continue
            return f"a {t.__name__} as Python writes it, with where it was read: show its fields (e.paper.title)"
        if isinstance(v, _PLAIN):
            _PLAIN_TYPES.add(t)  # a type's values are all plain: known from now on by one lookup
            continue
        if dataclasses.is_dataclass(t) and t.__module__.startswith(_OURS):
            # This program's are data (frozen, of the types here): a day's papers, not walked.
            _MODEL_TYPES.add(t)
            if models:
                continue
            return f"a {t.__name__} as Python writes it, with where it was read: show its fields (e.paper.title)"
        if isinstance(v, (set, frozenset)):
            return "a set, whose order changes from run to run: sort it ('|sort')"
        if isinstance(v, (list, tuple, MappingView)):
            stack.extend(v)
        elif isinstance(v, Mapping):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, type):
            continue  # a class: <class 'name'>
        elif dataclasses.is_dataclass(v):
            stack.extend(getattr(v, f.name) for f in dataclasses.fields(v))
        elif (isinstance(v, _BY_ADDRESS) or type(v).__repr__ is object.__repr__
              or _ADDRESS.search(repr(v)) or _ADDRESS.search(str(v))):
            kind = type(v).__name__
            return (f"{'an' if kind[:1] in 'aeiou' else 'a'} {kind} object, which Python writes with its memory "
                    "address: show a value of it instead")
    return None


def checked_lang_attrs(lang: Any) -> Any:
    """``lang_attrs`` for a template: a value that is not a BCP 47 tag would make the book invalid."""
    if type(lang) is str and lang in _LANG_ATTRS:  # called for every paper: a year is 24,000 calls
        return _LANG_ATTRS[lang]
    from . import render
    from .gates.langtags import check_tag

    if lang:
        try:
            check_tag(lang)
        except ValueError as err:
            raise ValueError(f"lang_attrs({lang!r}): {err}") from None
    attrs = render.lang_attrs(lang)
    if type(lang) is str and len(_LANG_ATTRS) < 1024:
        _LANG_ATTRS[lang] = attrs
    return attrs


#: ``lang_attrs`` of the tags seen: a language tag's attributes are the same every time.
_LANG_ATTRS: dict[str, Any] = {}


class _RenderTimeout(Exception):
    pass


@contextlib.contextmanager
def _time_budget() -> Iterator[None]:
    """Raise :class:`_RenderTimeout` after RENDER_SECONDS, where a timer signal can be had (the
    main thread of a process); elsewhere the render is bounded by the sandbox's sizes alone."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return
    pending = signal.getitimer(signal.ITIMER_REAL)[0]
    if pending and pending <= RENDER_SECONDS:  # a caller's own, shorter timer stays in charge
        yield
        return

    def expired(signum: int, frame: Any) -> None:
        raise _RenderTimeout(f"it took longer than {RENDER_SECONDS:g} seconds")

    previous = signal.signal(signal.SIGALRM, expired)
    old = signal.setitimer(signal.ITIMER_REAL, RENDER_SECONDS)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if old[0]:
            signal.setitimer(signal.ITIMER_REAL, *old)


#: What one render of the user's templates may add to the process's address space.  A day of a
#: thousand papers takes a few megabytes; the sandbox bounds each value (MAX_VALUE_SIZE), but
#: values within that bound pile up (a loop that appends, ``map`` then ``join``), and a builtin
#: the sandbox does not know the cost of (``translate``, ``batch``, ``slice``, ``tojson``'s indent,
#: ``sum`` over lists) builds gigabytes in one C call, which no timer signal interrupts.
RENDER_MEMORY = 256 * 1024 * 1024


@contextlib.contextmanager
def _memory_budget(users: bool) -> Iterator[None]:
    """While a user's template renders (*users*), an address space of what the process has now
    and RENDER_MEMORY more (POSIX ``setrlimit(RLIMIT_AS)``, the soft limit, raised back after):
    an allocation past it fails, as a MemoryError inside the render, whatever makes it.  Where
    the limit or the process's size cannot be had, the sandbox's bounds alone apply."""
    try:
        import resource
    except ImportError:  # not POSIX
        resource = None  # type: ignore[assignment]
    used = _address_space() if users and resource is not None else None
    if used is None:
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = used + RENDER_MEMORY if hard == resource.RLIM_INFINITY else min(used + RENDER_MEMORY, hard)
    if soft != resource.RLIM_INFINITY and soft <= cap:  # a lower limit of the user's stays in charge
        yield
        return
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _address_space() -> int | None:
    """The process's address space in bytes (Linux ``/proc/self/statm``, proc(5)), or None."""
    try:
        return int(gate_files.read_bytes("/proc/self/statm", 4096).split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def checked_output(template: Any, text: str) -> str:
    """*text*, the render of *template*, unless it is larger than MAX_OUTPUT_CHARS."""
    if len(text) > MAX_OUTPUT_CHARS:
        raise TemplateError(f"{_named(template.name, template.filename)}: error: template {template.name!r} "
                            f"rendered {len(text):,} characters, more than the {MAX_OUTPUT_CHARS:,} a "
                            "document may have")
    surrogate = _SURROGATE.search(text)
    if surrogate is not None:
        # A string literal of the template ("\\ud800"): no UTF-8 file can hold it (RFC 3629 section 3).
        raise TemplateError(f"{_named(template.name, template.filename)}: error: template {template.name!r} "
                            f"rendered U+{ord(surrogate.group()):04X}, a lone surrogate, which no UTF-8 "
                            "document holds")
    return text


_SURROGATE = re.compile("[\ud800-\udfff]")


def _named(name: str | None, filename: str | None) -> str:
    return shell_quote(filename or name or "<template>")


def _check_brackets(env: Any, source: str, name: str | None, filename: str | None) -> None:
    """TemplateError at the line where brackets open deeper than :data:`MAX_BRACKET_DEPTH`."""
    import jinja2

    depth = 0
    try:
        for lineno, token, value in env.lexer.tokeniter(source, name, filename):
            if token != "operator":
                continue
            if value in "([{":
                depth += 1
                if depth > MAX_BRACKET_DEPTH:
                    raise TemplateError(f"{_named(name, filename)}:{lineno}: error: brackets nest more than "
                                        f"{MAX_BRACKET_DEPTH} deep")
            elif value in ")]}":
                depth -= 1
    except jinja2.TemplateSyntaxError:
        return  # the parser reports it, with its line


def _check_depth(ast: Any, name: str | None, filename: str | None) -> None:
    """TemplateError at the line of the first node nested deeper than the bounds (statements in
    statements, or expressions in expressions), walked without recursion."""
    from jinja2 import nodes

    stack = [(ast, 0, 0)]
    while stack:
        node, statements, expressions = stack.pop()
        if isinstance(node, nodes.Stmt) and "body" in node.fields and not isinstance(node, nodes.Scope):
            statements += 1  # {% if %}, {% for %}, {% block %}... (a Scope only wraps {% autoescape %})
            expressions = 0
        elif isinstance(node, nodes.Expr):
            expressions += 1
        if statements > MAX_STATEMENT_DEPTH or expressions > MAX_EXPRESSION_DEPTH:
            what = ("statements ({% if %}, {% for %}, {% block %}, ...) nest more than "
                    f"{MAX_STATEMENT_DEPTH} deep" if statements > MAX_STATEMENT_DEPTH else
                    f"an expression nests more than {MAX_EXPRESSION_DEPTH} deep (operators, filters, "
                    "calls or brackets inside one another)")
            raise TemplateError(f"{_named(name, filename)}:{getattr(node, 'lineno', 1)}: error: {what}")
        stack.extend((child, statements, expressions) for child in node.iter_child_nodes())


def _gated_loader(folders: list[Path]) -> Any:
    """A jinja2 ``FileSystemLoader`` whose files are read through the file gate: a named pipe or
    device named like a template is refused, not opened (it would block), and a template is
    capped in size."""
    import jinja2
    from jinja2.loaders import split_template_path

    class GatedLoader(jinja2.FileSystemLoader):
        def get_source(self, environment: Any, template: str) -> tuple[str, str, Any]:
            pieces = split_template_path(template)
            for folder in self.searchpath:
                path = Path(folder, *pieces)
                try:
                    st = gate_files.check_regular(path)
                except FileNotFoundError:
                    # A symbolic link to nothing under a template's name is the user's mistake
                    # to report, not a reason to fall back silently to the packaged template.
                    broken = gate_files.broken_link(path)
                    if broken:
                        raise _Unread(f"{shell_quote(str(path))}: error: {broken}",
                                      f"{shell_quote(str(path))}: {broken}") from None
                    continue
                except OSError as err:
                    why = f"template {shell_quote(str(path))}: {err.strerror or err}"
                    raise _Unread(f"{shell_quote(str(path))}: error: {err.strerror or err}", why) from err
                # A symbolic link in the templates folder (the template itself, or a folder on its way)
                # that leads out of it would put any local file in a published book
                # (``x.j2 -> /etc/passwd``, then ``{% include "x.j2" %}``): the folder is the user's
                # templates, not a way to read the rest of the machine.  A link to another file of the
                # folder stays allowed.
                if not gate_files.real_path(path).is_relative_to(gate_files.real_path(folder)):
                    why = (f"template {template!r} leads through a symbolic link to "
                           f"{shell_quote(str(gate_files.real_path(path)))}, outside the templates folder "
                           f"{shell_quote(str(folder))}; not read")
                    raise _Unread(f"{shell_quote(str(path))}: error: {why}", f"{shell_quote(str(path))}: {why}")
                try:
                    text = gate_files.read_text_file(path, gate_files.TEMPLATE_LIMIT)
                except OSError as err:
                    # Said as every file's problem is (``PATH: error: ...``).
                    why = f"cannot read template {shell_quote(str(path))}: {err.strerror or err}"
                    raise _Unread(f"{shell_quote(str(path))}: error: cannot read it as a template: "
                                  f"{err.strerror or err}", why) from err
                stamp = st.st_mtime_ns
                return text, str(path), lambda: _mtime_ns(path) == stamp
            raise jinja2.TemplateNotFound(template)

    return GatedLoader([str(f) for f in folders])


class _Unread(TemplateError):
    """A template the loader refused to read (a folder, a link out of the folder, an unreadable
    file): *why* names it; where an include or import asked for it, :func:`rendering` puts that
    template's file and line before it."""

    def __init__(self, message: str, why: str):
        super().__init__(message)
        self.why = why


def _mtime_ns(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


def get_template(env: Any, name: str) -> Any:
    """``env.get_template(name)``, with errors as :class:`TemplateError` naming the folders searched."""
    import jinja2

    try:
        _check_references(env, name)
        template = env.get_template(name)
        _check_blocks(env, template)
        return template
    except jinja2.TemplateNotFound as err:
        folders = ", ".join(map(shell_quote, env.globals.get("searched_folders", ())))
        missing = err.name if err.name and err.name != name else name
        raise TemplateError(
            f"template {missing!r} not found (searched: {folders}; 'default:NAME' for the packaged ones)"
        ) from err
    except jinja2.TemplateSyntaxError as err:
        raise TemplateError(f"{_named(err.name, err.filename)}:{err.lineno}: error: {err.message}") from err


#: How deep templates may extend, include or import one another: the
#: packaged ones go 2 deep; a user's chain 16 deep is a mistake, not a design.
MAX_TEMPLATE_DEPTH = 16


def _referenced(env: Any, name: str) -> list[tuple[str, str]]:
    """The templates *name* extends, includes or imports by a constant name, each with the
    ``FILE:LINE`` that names it."""
    from jinja2 import nodes

    source, filename, _ = env.loader.get_source(env, name)
    ast = env.parse(source, name, filename)
    found = []
    for node in ast.find_all((nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)):
        target, at = node.template, f"{shell_quote(filename or name)}:{node.lineno}"
        if isinstance(target, nodes.Const) and isinstance(target.value, str):
            found.append((target.value, at))
        elif isinstance(target, (nodes.List, nodes.Tuple)):  # {% include ["a", "b"] %}
            found.extend((item.value, at) for item in target.items
                         if isinstance(item, nodes.Const) and isinstance(item.value, str))
    return found


def _parse(env: Any, name: str) -> Any:
    """The tree of template *name*, parsed under its own name and file (for messages)."""
    source, filename, _ = env.loader.get_source(env, name)
    return env.parse(source, name, filename)


def _check_references(env: Any, name: str) -> None:
    """:class:`TemplateError` naming the chain when *name* extends or includes itself (directly
    or through others), or the chain is deeper than :data:`MAX_TEMPLATE_DEPTH`: jinja2 would
    recurse until Python's recursion limit."""
    import jinja2

    checked = env.globals.setdefault("checked_references", set())
    if name in checked:
        return

    def visit(current: str, chain: tuple[str, ...], asked_at: str | None = None) -> None:
        if current in chain:
            loop = " -> ".join(chain[chain.index(current):] + (current,))
            what = "extends or includes itself" if chain[-1] == current else "is in a loop of templates"
            raise TemplateError(f"template {_where(env, current)} {what}: {loop}")
        if len(chain) >= MAX_TEMPLATE_DEPTH:
            raise TemplateError(f"template {_where(env, name)}: templates extend or include one another "
                                f"more than {MAX_TEMPLATE_DEPTH} deep: {' -> '.join(chain[:4])} -> ...")
        try:
            children = _referenced(env, current)
        except _Unread as err:
            if asked_at is None:
                raise
            # A folder or a link out of the folder where an include names a template: said at the include.
            raise TemplateError(f"{asked_at}: error: {err.why}") from None
        except jinja2.TemplateNotFound:
            return  # reported, with the folders searched, when it is loaded
        except jinja2.TemplateSyntaxError:
            return  # reported with its line when it is loaded
        for child, at in children:
            visit(child, chain + (current,), at)

    visit(name, ())
    checked.add(name)


def _where(env: Any, name: str) -> str:
    try:
        return env.loader.get_source(env, name)[1] or name
    except Exception:  # noqa: BLE001 -- only for the message
        return name


def _top_blocks(ast: Any) -> set[str]:
    """Names of the blocks not nested in another block (a block inside an overriding block is the
    child's own, and renders; one at the top must exist in the parent to be rendered)."""
    from jinja2 import nodes

    every = list(ast.find_all(nodes.Block))
    nested = {inner.name for block in every for inner in block.find_all(nodes.Block)}
    return {block.name for block in every} - nested


def _check_blocks(env: Any, template: Any) -> None:
    """TemplateError when a user's template that extends another defines a block the other does not
    have: jinja2 would silently never render it (a misspelt ``{% block papre %}``)."""
    from jinja2 import nodes

    user_dir = env.globals.get("user_templates")
    filename = template.filename or ""
    checked = env.globals.setdefault("checked_templates", set())
    if not user_dir or filename in checked or not gate_files.real_path(filename).is_relative_to(
            gate_files.real_path(user_dir)):
        return
    checked.add(filename)
    ast = _parse(env, template.name)
    mine, known, parent = _top_blocks(ast), set(), ast.find(nodes.Extends)
    if parent is None or not isinstance(parent.template, nodes.Const):
        return
    name = parent.template.value
    while name is not None:  # the blocks of every ancestor
        parent_ast = _parse(env, name)
        known |= {block.name for block in parent_ast.find_all(nodes.Block)}
        ext = parent_ast.find(nodes.Extends)
        name = ext.template.value if ext is not None and isinstance(ext.template, nodes.Const) else None
    unknown = sorted(mine - known)
    if unknown:
        raise TemplateError(f"{shell_quote(filename)}: unknown block {', '.join(map(repr, unknown))}: "
                            f"{parent.template.value} has {', '.join(sorted(known)) or 'no blocks'}")


@functools.cache
def _packaged_stylesheet() -> bytes:
    """The packaged ``epub.css`` as :func:`stylesheet` gives it: once per process (every writer of
    a build with selections asks)."""
    return _checked_css(_packaged_environment(), "epub.css").encode("utf-8")


def stylesheet(env: Any) -> bytes:
    """The books' CSS: the (user's or packaged) ``epub.css``, then the user's ``extra.css`` if the
    ``--templates`` folder has one, in the same file (one stylesheet item in the EPUB).  Each is
    checked by the CSS gate: a reference to a resource outside the book is a :class:`TemplateError`
    naming the file and line."""
    user_dir = env.globals.get("user_templates")
    if not user_dir and env is _packaged_environment():
        return _packaged_stylesheet()
    if "checked_stylesheet" in env.globals:  # checked once per environment: templates do not change in a run
        return env.globals["checked_stylesheet"]
    css = _checked_css(env, "epub.css")
    extra = Path(user_dir) / "extra.css" if user_dir else None
    if extra is not None and os.path.lexists(extra):
        css = css.rstrip("\n") + "\n\n/* extra.css */\n" + _checked_css(env, "extra.css")
    env.globals["checked_stylesheet"] = css.encode("utf-8")
    return env.globals["checked_stylesheet"]


def _checked_css(env: Any, name: str) -> str:
    css = render_template(env, name)
    _check_css(css, name, _named(name, get_template(env, name).filename))
    return css


@functools.lru_cache(maxsize=8)
def _check_css(css: str, name: str, where: str) -> None:
    """:class:`TemplateError` at the first thing wrong in *css*, the stylesheet *name* rendered
    from the file *where*; each stylesheet checked once a run (the templates are checked before
    the books, and each writer asks again)."""
    from .gates.css import malformed, outside_the_book, url_problems

    broken = malformed(css)
    if broken:
        ref = broken[0]
        more = f" (and {len(broken) - 1} more)" if len(broken) > 1 else ""
        raise TemplateError(f"{where}:{ref.line}: error: {ref.what}: {ref.url}{more}")
    refused = outside_the_book(css)
    if refused:
        ref = refused[0]
        target = f" {ref.url!r}" if ref.url else ""
        more = f" (and {len(refused) - 1} more)" if len(refused) > 1 else ""
        if ref.what == "@import":
            why = ("a book holds one stylesheet, and nothing else of the templates folder is packaged: "
                   "put the rules in this file itself")
        elif ref.computed:
            why = ("a URL the stylesheet computes (var(), env(), if(), attr() in an image function) is known only "
                   "where a reader fetches it, never checked: write the URL itself (a data: URL or a file of the book)")
        else:
            why = ("refers to a resource outside the book; a book's stylesheet may name only files "
                   "inside it (EPUB 3.3 section 3.6): use a data: URL, or leave it out")
        raise TemplateError(f"{where}:{ref.line}: error: {ref.what}{target}: {why}{more}")
    wrong = url_problems(css)
    if wrong:
        (ref, why), more = wrong[0], f" (and {len(wrong) - 1} more)" if len(wrong) > 1 else ""
        raise TemplateError(f"{where}:{ref.line}: error: {ref.what} {ref.url!r} {why}{more}")


def render_template(env: Any, name: str, **context: Any) -> str:
    """Render template *name*; any jinja2 failure becomes a :class:`TemplateError`."""
    template = get_template(env, name)
    with rendering(env, template):
        text = template.render(**context)
    return checked_output(template, text)


@contextlib.contextmanager
def rendering(env: Any, template: Any) -> Iterator[None]:
    """Around a render of *template*: every failure of the user's code (a jinja2 error, a
    recursion without end, a value too large for memory) becomes a :class:`TemplateError` naming
    the template file and line where it happened."""
    import jinja2

    try:
        with _time_budget(), _memory_budget(env.globals.get("user_templates") is not None):
            yield
    except _Unread as err:
        place = _failed_at(env, err)  # the include or import that asked for it
        if place is None:
            raise
        raise TemplateError(f"{place}: error: {err.why}") from None
    except TemplateError:
        raise
    except jinja2.TemplateNotFound as err:
        folders = ", ".join(map(shell_quote, env.globals.get("searched_folders", ())))
        place = _failed_at(env, err)  # the include or extends that names it
        raise TemplateError(f"{place + ': error: ' if place else ''}template {err.name!r} not found "
                            f"(searched: {folders})") from err
    except Exception as err:  # noqa: BLE001 -- a user template is the user's code: its error is theirs
        ours = (RecursionError, MemoryError, jinja2.TemplateError, _RenderTimeout)
        if not isinstance(err, ours) and env.globals.get("user_templates") is None:
            raise  # only the packaged templates were rendered: a bug of ours (exit 70)
        place = _failed_at(env, err) or _named(template.name, template.filename)
        if isinstance(err, RecursionError):  # a computed include or a macro that leads back to itself
            why = ("it recurses without end (a template included by a computed name that includes "
                   "itself, or a macro that calls itself)")
        elif isinstance(err, MemoryError):
            why = "it makes a value too large for memory"
        elif isinstance(err, jinja2.TemplateError) or isinstance(err, _RenderTimeout):
            why = str(err)
        else:
            why = f"{type(err).__name__}: {err}"
        raise TemplateError(f"{place}: error: template {template.name!r} failed to render: {why}") from None


def _failed_at(env: Any, err: BaseException) -> str | None:
    """``FILE:LINE`` of the innermost template frame of *err*'s traceback (jinja2 rewrites a
    render's traceback so that its frames are the templates' files and lines), or None."""
    folders = tuple(env.globals.get("searched_folders", ()))
    found, tb = None, err.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if folders and filename.startswith(folders):
            found = f"{shell_quote(filename)}:{tb.tb_lineno}"
        tb = tb.tb_next
    return found
