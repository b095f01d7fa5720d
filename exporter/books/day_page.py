"""The packaged day template (``templates/day.xhtml.j2``) as Python: the same characters.

Rendering the template through jinja2 cost half the time of making a year's books (a context
per block, an attribute lookup and an escape call per expression, for 8,000 papers); this
module writes the same markup with plain string formatting, from the same
:mod:`exporter.render` filters (digest text still becomes markup there alone) and the same
checked ``lang_attrs``.  It is used only when the day template in play is the packaged one: a
user's ``--templates`` folder with its own ``day.xhtml.j2`` (which may extend the packaged one
and override any block) is rendered by jinja2 as before.  tests/test_epub_day_page.py renders
the hostile corpus and the bundled samples both ways and compares them.

Each line below is the line of the template it stands for: ``trim_blocks`` and
``lstrip_blocks`` (:func:`exporter.templating.make_environment`) leave the markup lines and
their newlines, and ``{%- ... -%}`` the links' paragraph on one line.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from markupsafe import Markup, escape

from ..render import summary_html, text_html, title_html, title_text
from ..templating import checked_lang_attrs

if TYPE_CHECKING:
    from .epub import BookInfo, DayView, Entry


def _e(value: Any) -> str:
    """What ``{{ value }}`` writes (autoescaping, and :func:`exporter.templating._escape`): for a
    string, markupsafe's ``escape`` without the ``Markup`` object it makes (the same characters)."""
    if type(value) is str:
        if "&" in value or "<" in value or ">" in value or "'" in value or '"' in value:
            return (value.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")
                    .replace("'", "&#39;").replace('"', "&#34;"))
        return value
    return value if type(value) is Markup else escape(value)


#: text_html of the labels, the same few strings in every paper of a book.
_label = functools.lru_cache(maxsize=256)(text_html)


def render_day(day: DayView, book: BookInfo, labels: dict[str, Any],
               paper: Callable[[Entry], str] | None = None) -> str:
    """The day document's body fragment, as the packaged template renders it; *paper* makes
    each paper's block (default :func:`paper_block`; the run's shared blocks, see
    :class:`exporter.books.epub.Fragments`)."""
    out = [f'<section class="day lang-{_e(book.lang)}" id="{_e(day.id)}" epub:type="chapter" '
           'role="doc-chapter">\n'
           # block day_heading
           f'<h1 class="day-title">{text_html(day.date_text)} <span class="weekday">'
           f'({text_html(day.weekday)})</span></h1>\n'
           f'<p class="day-sub">{text_html(day.title)} · {text_html(day.count_text)}</p>\n']
    # block day_list
    if day.entries:
        out.append('<ol class="day-list">\n')
        out.extend(f'<li><a href="#{_e(e.id)}"{checked_lang_attrs(e.title_lang)}>'
                   f'{title_html(e.paper.title)}</a></li>\n' for e in day.entries)
        out.append("</ol>\n")
    if paper is None:
        out.extend(paper_block(e, day, book, labels) for e in day.entries)
    else:
        out.extend(paper(e) for e in day.entries)
    out.append("</section>\n")
    return "".join(out)


def paper_block(e: Entry, day: DayView, book: BookInfo, labels: dict[str, Any]) -> str:
    """The template's ``paper`` block for entry *e* (it reads the entry, the day's and the
    book's language, and the labels)."""
    p = e.paper
    title = title_html(p.title)
    heading = f'<a href="{_e(e.link)}">{title}</a>' if e.link else title
    out = [f'<section class="paper" id="{_e(e.id)}">\n'
           f'<h2 class="paper-title"{checked_lang_attrs(e.title_lang)}>{heading}</h2>\n']
    if e.first:
        out.append(f'<p class="repeat"><a href="{_e(e.first.href)}">{_label(labels["repeat"])} '
                   f'{text_html(e.first.date_text)}</a></p>\n')
    else:
        if p.authors:
            out.append(f'<p class="meta authors"><span class="key">{_label(labels["authors"])}</span>: '
                       f'{text_html(", ".join(p.authors))}</p>\n')
        if p.votes is not None:
            out.append(f'<p class="meta votes"><span class="key">{_label(labels["votes"])}</span>: '
                       f'{_e(p.votes)}</p>\n')
        if e.image:
            image = e.image
            out.append(f'<div class="thumb"><img src="{_e(image.href)}" alt="{_label(labels["thumbnail"])}: '
                       f'{_e(title_text(p.title))}" width="{_e(image.width)}" height="{_e(image.height)}"/></div>\n')
        elif e.video_url:
            out.append(f'<p class="video"><a href="{_e(e.video_url)}">{_label(labels["video"])}</a></p>\n')
        # block paper_summary
        out.append(f'<div class="summary"{checked_lang_attrs(day.lang)}>'
                   f'{summary_html(p.summary, lang=day.lang or book.lang)}</div>\n')
        if e.abs_url or e.pdf_url or e.hf_url:
            out.append(_links(e))
    out.append("</section>\n")
    return "".join(out)


def _links(e: Entry) -> str:
    links = []
    if e.abs_url:
        links.append(f'<a href="{_e(e.abs_url)}">arXiv</a>')
    if e.pdf_url:
        links.append(f'<a href="{_e(e.pdf_url)}">PDF</a>')
    if e.hf_url:
        links.append(f'<a href="{_e(e.hf_url)}">Hugging Face</a>')
    return '<p class="links">' + " · ".join(links) + "</p>\n"
