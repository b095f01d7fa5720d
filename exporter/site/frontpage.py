"""``index.html``: the front page of a published ``build`` folder.

Rendered from the overridable template ``index.html.j2`` (see
:mod:`exporter.templating`): the books newest first (cover when the OPDS
step wrote one beside the book, period, paper count, download link), the
feeds and the OPDS catalog with autodiscovery links in ``<head>``, and the
newest day's papers.  No JavaScript.

Incremental like the rest of ``build``: the page's fingerprint (the books,
the feed files, the newest day's input files, the options and templates)
is kept in the build state; when it is unchanged and ``index.html`` is as
it was written, nothing is read or rendered.  Only then is the newest day
parsed, if this run did not parse it anyway.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..state import LATEST_NAME, OutputRecord, fingerprint
from ..feeds.writer import ATOM_TYPE, FILE_NAMES, JSON_TYPE, RSS_TYPE, normalize_base_url
from ..gates.urls import path_segment
from ..language import labels_for
from ..model import Digest
from .opds import _COVER_EXT, CATALOG_TYPE, cover_name
from ..output import write_file, written_stamp

if TYPE_CHECKING:
    from ..pipeline import BookPlan, BuildPlan, BuildReport
    from ..state import BuildState

INDEX_NAME = "index.html"
TEMPLATE_NAME = "index.html.j2"
_FEED_TYPES = {"atom": ATOM_TYPE, "rss": RSS_TYPE, "json": JSON_TYPE, "opds": CATALOG_TYPE}

#: The words of the page; the language is chosen as for the books
#: (:func:`exporter.language.labels_for`).
PAGE_LABELS: dict[str, dict[str, str]] = {
    "en": {"books": "Books", "feeds": "Feeds", "newest": "Newest papers",
           "download": "Download EPUB", "cover_alt": "Cover of {title}", "no_books": "No books yet.",
           "latest": "Latest finished book, always at this link:",
           "feeds_intro": "Subscribe in a feed reader, or add the catalog to an e-reader app.",
           "atom": "Atom feed", "rss": "RSS feed", "json": "JSON Feed",
           "opds": "OPDS catalog (KOReader and other e-reader apps)", "made_by": "Made with digest-export"},
    "ko": {"books": "책", "feeds": "피드", "newest": "최신 논문",
           "download": "EPUB 내려받기", "cover_alt": "{title} 표지", "no_books": "아직 책이 없습니다.",
           "latest": "가장 최근에 완성된 책 (항상 이 링크):",
           "feeds_intro": "피드 리더에서 구독하거나, 전자책 앱에 카탈로그를 추가하세요.",
           "atom": "Atom 피드", "rss": "RSS 피드", "json": "JSON 피드",
           "opds": "OPDS 카탈로그 (KOReader 등 전자책 앱)", "made_by": "digest-export로 만듦"},
}


@dataclass(frozen=True, slots=True)
class PageBook:
    """One book as the page shows it."""

    href: str
    title: str
    period: str
    days: str
    papers: str
    size: str
    cover: str | None
    cover_alt: str
    #: The link to ``latest.epub`` when it is a copy of this book (``build --finished-only``).
    latest: str | None = None
    #: The book's language when it differs from the page's (``lang`` on its entry, WCAG 3.1.2).
    lang: str | None = None


@dataclass(frozen=True, slots=True)
class PageLink:
    """A feed or the catalog: its label, URL and media type."""

    label: str
    href: str
    type: str


@dataclass(frozen=True, slots=True)
class PageSelection:
    """A selection's section: its title, newest book (None before its first) and feeds."""

    name: str
    title: str
    book: PageBook | None
    links: tuple[PageLink, ...]


def page_labels(lang: str) -> dict[str, Any]:
    """The book labels (papers, weekdays...) and the page's own words."""
    words = labels_for(lang)
    return {**words, **PAGE_LABELS["ko" if words is labels_for("ko") else "en"]}


def newest_date(plan: BuildPlan) -> str | None:
    """ISO date of the newest digest day of the archive, from the build state."""
    return max((iso for rec in plan.new_state.files.values() for iso, *_ in rec.digests), default=None)


def newest_digest(plan: BuildPlan) -> Digest | None:
    """The newest day if this run parsed it (call before the model is freed)."""
    iso = newest_date(plan)
    return next((d for d in reversed(plan.digests) if d.date.isoformat() == iso), None)


def _size_text(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 1_000_000 else f"{max(1, round(size / 1000))} KB"


def _cover_name(out: Path, file_name: str, written: Mapping[str, Any] | None = None) -> str | None:
    """The cover the catalog wrote beside the book *file_name*, if it is there and the program's:
    a file of the user's at that name kept the cover out of the catalog, and is kept out of the
    page too (it showed the user's file as the book's cover).  *written*: what the run of that
    folder recorded (a selection's state, name -> stamp), which tells it by a stat."""
    from ..output import holds, is_ours

    def ours(name: str) -> bool:
        stamp = written.get(name) if written is not None else None
        return (stamp is not None and holds(out / name, stamp)) or is_ours(out / name)

    names = (cover_name(file_name, media_type) for media_type in _COVER_EXT)
    return next((name for name in names if name is not None and (out / name).is_file() and ours(name)), None)


def _present_books(plan: BuildPlan, out: Path, most: int | None = None,
                   written: Mapping[str, Any] | None = None) -> list[tuple[BookPlan, int, str | None]]:
    """(book plan, file size, cover name) of the books in the folder, newest first (the *most*
    newest: their covers alone are looked at, each telling whose it is)."""
    found = []
    for book in plan.books:
        try:
            size = os.stat(out / book.meta.file_name).st_size
        except OSError:
            continue  # not written (--keep-going) or removed
        found.append((book, size))
    found.sort(key=lambda item: (item[0].meta.start, item[0].meta.key), reverse=True)
    return [(book, size, _cover_name(out, book.meta.file_name, written)) for book, size in found[:most]]


def _present_feeds(plan: BuildPlan, out: Path) -> list[str]:
    formats = plan.options.feed.formats or FILE_NAMES
    return [f for f in FILE_NAMES if f in formats and (out / FILE_NAMES[f]).is_file()]


def _newest_files(plan: BuildPlan, iso: str | None) -> list[tuple[str, str]]:
    return [(name, rec.sha) for name, rec in plan.new_state.files.items()
            if any(d == iso for d, *_ in rec.digests)]


def _present_selections(plan: BuildPlan) -> list[tuple[BuildPlan, list[tuple[BookPlan, int, str | None]], list[str]]]:
    """(its plan, its newest book if any, its feeds) of each selection folder."""
    # Each selection's covers by what its run recorded (its run ended before this page).
    return [(sub, _present_books(sub, Path(sub.options.out_dir), 1, sub.new_state.written_files()),
             _present_feeds(sub, Path(sub.options.out_dir)))
            for sub in plan.selections]
def _other_lang(book_lang: str | None, page_lang: str) -> str | None:
    if not book_lang or book_lang.split("-")[0].lower() == page_lang.split("-")[0].lower():
        return None
    return book_lang


def write_front_page(plan: BuildPlan, report: BuildReport, state: BuildState, newest: Digest | None) -> None:
    """Write ``index.html`` unless what it shows is unchanged (see module doc)."""
    out = Path(plan.options.out_dir)
    iso = newest_date(plan)
    books = _present_books(plan, out)
    feeds = _present_feeds(plan, out)
    selections = _present_selections(plan)
    base_url = normalize_base_url(plan.options.feed.base_url)
    latest = state.pages[LATEST_NAME].settings if LATEST_NAME in state.pages else None
    inputs = fingerprint([(b.meta.file_name, b.meta.start, b.meta.end, b.days, b.papers, size, cover)
                          for b, size, cover in books], feeds, iso, _newest_files(plan, iso), latest,
                         [(sub.options.filter.settings() if sub.options.filter else None,
                           [(b.meta.file_name, b.days, b.papers, size, cover) for b, size, cover in sub_books], sub_feeds)
                          for sub, sub_books, sub_feeds in selections])
    settings = fingerprint(__version__, plan.book_settings, base_url, plan.feed_title)
    old = plan.state.pages.get(INDEX_NAME)
    reason = ("not written before" if old is None else
              "options, templates or program version changed" if old.settings != settings else
              "the books, feeds or newest day changed" if old.inputs != inputs else
              old.missing_or_changed(out))
    path = out / INDEX_NAME
    if reason is None:
        report.explanations.append(f"skipped {path}: what it shows is unchanged")
        report.add(path, "skipped")
        state.pages[INDEX_NAME] = old.restamped(out)
        return
    report.explanations.append(f"writing {path}: {reason}")
    if newest is None and iso is not None:
        newest = _read_day(plan, iso)
    languages = {name: record.get("language") for name, record in state.catalog_books.items()}
    html = render_front_page(plan, books, feeds, base_url, newest, latest, selections, languages)
    report.add(path, write_file(path, html.encode("utf-8")))
    state.pages[INDEX_NAME] = OutputRecord(inputs, settings, {INDEX_NAME: written_stamp(path)})


def _read_day(plan: BuildPlan, iso: str) -> Digest | None:
    """Parse the files holding day *iso* (their diagnostics were reported already)."""
    from ..reader.parse import read_digests

    result = read_digests([name for name, _ in _newest_files(plan, iso)])
    return next((d for d in result.digests if d.date.isoformat() == iso), None)


def check_template(plan: BuildPlan) -> None:
    """Load the page's template (read, bounded, compiled) before the run writes anything: a
    mistake in a user's ``index.html.j2`` stops the run before the books, not after them."""
    from ..templating import get_template, make_environment

    eo = plan.options.epub
    get_template(make_environment(eo.templates if eo is not None else None), TEMPLATE_NAME)
    if eo is not None and eo.templates is not None:
        # A user's page is rendered once now, from what the plan knows (its books, with no size
        # or cover yet; every feed format it makes), through the page gate (_check_page): markup
        # the gate refuses (an invalid lang, a stray control character, an id named twice) stops
        # the run before the books and feeds, not after them.  A template is not HTML until it
        # is rendered, so the gate cannot read its static text.
        formats = plan.options.feed.formats or FILE_NAMES
        render_front_page(plan, [(b, 0, None) for b in plan.primary_books],
                          [f for f in FILE_NAMES if f in formats], normalize_base_url(plan.options.feed.base_url),
                          newest_digest(plan))


def render_front_page(plan: BuildPlan, books: list[tuple[BookPlan, int, str | None]], feeds: list[str],
                      base_url: str | None, newest: Digest | None, latest: str | None = None,
                      selections: list[Any] = (), languages: dict[str, str | None] | None = None) -> str:
    """The page, in the language of most of its books (as the catalog read them), else of the
    newest day: a page of Korean books is Korean whatever the newest day's summaries are."""
    from ..books.epub import book_title, detect_language, period_text
    from ..templating import make_environment, render_template

    eo = plan.options.epub
    languages = languages or {}
    of_books = [languages[b.meta.file_name] for b, _, _ in books if languages.get(b.meta.file_name)]
    lang = eo.lang or (max(sorted(set(of_books)), key=of_books.count) if of_books else
                       detect_language(newest.papers if newest else ()))
    labels = page_labels(lang)

    def href(name: str) -> str:
        return (base_url or "") + path_segment(name)

    def page_book(book: BookPlan, size: int, cover: str | None, folder: str = "") -> PageBook:
        title = book_title(book.meta, labels, selection=bool(folder))  # a selection's book: in its folder
        return PageBook(href=folder + path_segment(book.meta.file_name), title=title, period=period_text(book.meta),
                        days=labels["days"](book.days), papers=labels["papers"](book.papers), size=_size_text(size),
                        cover=folder + path_segment(cover) if cover else None,
                        cover_alt=labels["cover_alt"].format(title=title),
                        latest=path_segment(LATEST_NAME) if not folder and book.meta.file_name == latest else None,
                        lang=_other_lang(languages.get(book.meta.file_name), lang))

    shown = [page_book(book, size, cover) for book, size, cover in books]
    links = [PageLink(labels[f], href(FILE_NAMES[f]), _FEED_TYPES[f]) for f in feeds]
    sections = []
    for sub, sub_books, sub_feeds in selections:
        folder = path_segment(Path(sub.options.out_dir).name) + "/"
        chosen = sub.options.filter
        sections.append(PageSelection(
            name=chosen.name, title=chosen.title,
            book=page_book(*sub_books[0], folder) if sub_books else None,
            # Titled with the selection: a reader's autodiscovery list names each feed apart.
            links=tuple(PageLink(f"{chosen.title} · {labels[f]}", href(folder + FILE_NAMES[f]), _FEED_TYPES[f])
                        for f in sub_feeds)))
    day = None
    if newest is not None:
        weekday = labels["weekdays"][newest.date.weekday()]
        day = {"date": f"{newest.date.isoformat()} ({weekday})", "title": newest.title,
               "papers": newest.papers, "count": labels["papers"](len(newest.papers))}
    env = make_environment(eo.templates)
    # Nothing here reads the clock: the same archive gives the same bytes,
    # so an unchanged page is never rewritten.
    html = render_template(env, TEMPLATE_NAME, lang=lang, labels=labels, title=plan.page_title or plan.feed_title,
                           books=shown, links=links, day=day, version=__version__, selections=sections)
    if eo.templates is not None:
        _check_page(env, html)
    return html


def _check_page(env: Any, html: str) -> None:
    """A page rendered from a user's templates goes through the HTML gate, as the books'
    documents go through the XHTML gate: a mistake in the template is an error naming it, and the
    page is not written."""
    from ..errors import TemplateError
    from ..gates.names import shell_quote
    from ..gates.xhtml import page_problems
    from ..templating import get_template

    found = page_problems(html)
    if found:
        where = shell_quote(get_template(env, TEMPLATE_NAME).filename or TEMPLATE_NAME)
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise TemplateError(f"{where}: error: the template made {INDEX_NAME}, in which {found[0]}{more}")
