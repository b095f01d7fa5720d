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

from pathlib import Path
from typing import Any

from .errors import TemplateError
from .resources import templates_dir


def make_environment(user_dir: Path | str | None = None) -> Any:
    """A jinja2 Environment searching *user_dir* (if given), then the packaged templates."""
    import jinja2

    from . import render

    packaged = templates_dir()
    folders = ([Path(user_dir)] if user_dir else []) + [packaged]
    if user_dir is not None and not Path(user_dir).is_dir():
        raise TemplateError(f"the templates folder {user_dir} does not exist")
    loader = jinja2.ChoiceLoader([
        jinja2.FileSystemLoader([str(f) for f in folders]),
        jinja2.PrefixLoader({"default": jinja2.FileSystemLoader(str(packaged))}, delimiter=":"),
    ])
    env = jinja2.Environment(
        loader=loader,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
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
    env.globals["lang_attrs"] = render.lang_attrs
    return env


def get_template(env: Any, name: str) -> Any:
    """``env.get_template(name)``, with errors as :class:`TemplateError` naming the folders searched."""
    import jinja2

    try:
        return env.get_template(name)
    except jinja2.TemplateNotFound as err:
        folders = ", ".join(env.globals.get("searched_folders", ()))
        missing = err.name if err.name and err.name != name else name
        raise TemplateError(
            f"template {missing!r} not found (searched: {folders}; 'default:NAME' for the packaged ones)"
        ) from err
    except jinja2.TemplateSyntaxError as err:
        raise TemplateError(f"{err.filename or err.name}:{err.lineno}: error: {err.message}") from err


def render_template(env: Any, name: str, **context: Any) -> str:
    """Render template *name*; any jinja2 failure becomes a :class:`TemplateError`."""
    import jinja2

    template = get_template(env, name)
    try:
        return template.render(**context)
    except jinja2.TemplateNotFound as err:
        folders = ", ".join(env.globals.get("searched_folders", ()))
        raise TemplateError(f"template {err.name!r} not found (searched: {folders})") from err
    except jinja2.TemplateError as err:
        raise TemplateError(f"template {name!r} failed to render: {err}") from err
