"""The gate for XHTML documents rendered from a user's templates, checked after rendering and
before zipping: what a template writes is the user's code, and a well-formed document can still
make a book that EPUBCheck refuses or a reader that fetches from the network.

Checked here (lxml, on the document as it goes into the book):

- well-formed XML (libxml2's ``huge_tree``: the renderer already caps a document's size, and a
  long text node is not an error of the template);
- ``id`` values unique in the document (HTML section 3.2.6, EPUBCheck RSC-005);
- elements are HTML elements (inline SVG and MathML would need manifest properties the book does
  not declare);
- a link to a fragment of the same document names one of its ids (EPUBCheck RSC-012);
- no ``script``, ``iframe``, ``object``, ``embed``, ``frame``, ``applet`` or ``base``: a book of
  digests has no scripts, and these load other documents (EPUB 3.3 section 3.6);
- every URL attribute (``src``, ``href``, ``xlink:href``, ``poster``, ``data``, ``srcset``) names a
  file in the book or a ``data:`` URL, except ``href`` on ``<a>``, which may be an http(s) or
  mailto link (EPUBCheck RSC-007, RSC-006);
- ``style`` attributes and ``<style>`` elements pass the CSS gate;
- no block element inside ``<p>`` (the common content-model error: an HTML parser closes the
  ``<p>`` there, EPUBCheck RSC-005).  Other content models are left to EPUBCheck on the output.

The front page (``index.html``) is HTML served as ``text/html``, not XHTML: a browser parses it
with the HTML parsing algorithm (HTML section 13.2), where ``<p><div>`` is valid (the ``<p>`` ends
by itself) and ``<br>`` needs no slash.  :func:`page_problems` checks it with html5lib, an
implementation of that algorithm which reports its parse errors: a parse error is markup a
browser has to repair, each its own way before HTML5 and still differently from what the author
meant (a stray ``</div>`` closes nothing, an unclosed ``<a>`` swallows the rest of the page).
Also checked there: ``id`` values unique, links to a fragment of the page name one of its ids, and
every element is one of HTML (or a custom element, HTML section 4.13).  A web page may load from
the web and run the user's scripts: URLs and elements that load are not refused there.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable

from . import css as css_gate

XHTML = "http://www.w3.org/1999/xhtml"
SVG = "http://www.w3.org/2000/svg"
MATHML = "http://www.w3.org/1998/Math/MathML"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"

#: The elements of the HTML Living Standard's index of elements (section "Elements").
HTML_ELEMENTS = frozenset("""
a abbr address area article aside audio b bdi bdo blockquote body br button canvas caption cite
code col colgroup data datalist dd del details dfn dialog div dl dt em fieldset figcaption figure
footer form h1 h2 h3 h4 h5 h6 head header hgroup hr html i img input ins kbd label legend li link
main map mark menu meta meter nav noscript ol optgroup option output p picture pre progress q rp rt
ruby s samp search section select slot small source span strong style sub summary sup table tbody
td template textarea tfoot th thead time title tr track u ul var video wbr
""".split())
#: Elements that run code or load another document: never in a book made from digests.
FORBIDDEN = frozenset("script iframe object embed frame frameset applet base noscript".split())
#: Flow elements that may not sit inside a ``<p>`` (HTML section 4.4.1: its content is phrasing).
BLOCKS = frozenset("""
address article aside blockquote details dialog div dl fieldset figcaption figure footer form h1
h2 h3 h4 h5 h6 header hgroup hr main menu nav ol p pre search section table ul
""".split())
#: What a web page may hold beyond a book's documents (the obsolete frame, frameset and applet
#: stay out: HTML section 16.2, non-conforming).
PAGE_ELEMENTS = HTML_ELEMENTS | frozenset("script noscript iframe object embed base".split())
_CUSTOM_ELEMENT = re.compile(r"[a-z][^A-Z]*-[^A-Z]*")
URL_ATTRIBUTES = ("src", "href", XLINK_HREF, "poster", "data")
_SCHEME = re.compile(r"\s*([A-Za-z][A-Za-z0-9+.-]*):")


def problems(doc: bytes, name: str, in_book: Iterable[str]) -> list[str]:
    """What is wrong with *doc* (the document *name* of a book holding the files *in_book*), each
    as a phrase for a message; empty when nothing is."""
    from lxml import etree

    try:
        root = etree.fromstring(doc, etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True))
    except etree.XMLSyntaxError as err:
        return [f"the XHTML is not well-formed ({err})"]
    files = frozenset(in_book)
    found: list[str] = []
    ids: set[str] = set()
    fragments: list[tuple[int, str]] = []  # links to an id of this document
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue  # comments and processing instructions
        qname = etree.QName(el)
        ns, local = qname.namespace, qname.localname
        line = f"line {el.sourceline}: "
        if ns == XHTML:
            if local in FORBIDDEN:
                found.append(f"{line}<{local}> is not allowed (a book made from digests runs no code and "
                             "loads no other document)")
            elif local not in HTML_ELEMENTS:
                found.append(f"{line}<{local}> is not an HTML element")
            if local == "p":
                for inner in el.iterdescendants():
                    if isinstance(inner.tag, str) and etree.QName(inner).localname in BLOCKS:
                        found.append(f"line {inner.sourceline}: <{etree.QName(inner).localname}> is inside <p>, "
                                     "which holds only phrasing content (HTML section 4.4.1)")
                        break
            if local == "style":
                found.extend(f"{line}<style>: {why}" for why in _css_problems(el.text or ""))
        elif ns in (SVG, MATHML):
            # A document with inline SVG or MathML needs the "svg" or "mathml" property on its
            # manifest item (EPUB 3.3 section 5.6.2.2; EPUBCheck OPF-014), which the book does not
            # declare for a template's documents.
            if el.getparent() is None or etree.QName(el.getparent()).namespace == XHTML:
                found.append(f"{line}inline <{local}> (SVG or MathML) is not supported in a template: use an "
                             "<img> with a data: URL")
        else:
            found.append(f"{line}<{qname.text}> is not an element of XHTML")
        found.extend(_id_problems(el, ids, line))
        style = el.get("style")
        if style is not None:
            found.extend(f"{line}style attribute: {why}" for why in _css_problems(f"x{{{style}}}"))
        found.extend(_url_problems(el, local if ns == XHTML else None, line, name, files, fragments))
    # A link to a fragment of another document is left to EPUBCheck (RSC-012): the documents are
    # checked one at a time.
    found.extend(f"line {line}: href '#{frag}' names no id of this document"
                 for line, frag in fragments if frag not in ids)
    return found


def _id_problems(el, ids: set[str], line: str = "") -> list[str]:
    """An id of *el* that one of *ids* (the ids seen before it, to which it is added) repeats."""
    ident = el.get("id")
    if ident is None:
        return []
    if ident in ids:
        return [f"{line}the id {ident!r} is used twice (an id is unique in a document)"]
    ids.add(ident)
    return []


def _url_problems(el, local: str | None, line: str, name: str, files: frozenset[str],
                  fragments: list[tuple[int, str]]) -> list[str]:
    """What is wrong with the URL attributes of *el* (*local*: its name if an XHTML element)."""
    found: list[str] = []
    for attr in URL_ATTRIBUTES:
        value = el.get(attr)
        if value is not None and value.startswith("#"):
            fragments.append((el.sourceline, value[1:]))
        if value is not None:
            why = _reference_problem(value, name, files, link=(local == "a" and attr == "href"))
            if why:
                found.append(f"{line}{attr.split('}')[-1]}={value!r} {why}")
    srcset = el.get("srcset")
    if srcset is not None:
        for candidate in srcset.split(","):
            url = candidate.strip().split(" ")[0]
            why = _reference_problem(url, name, files, link=False) if url else None
            if why:
                found.append(f"{line}srcset {url!r} {why}")
    return found


def _css_problems(text: str) -> list[str]:
    out = [f"{ref.what}: {ref.url}" for ref in css_gate.malformed(text)]
    out += [f"{ref.what} {ref.url!r} names a resource outside the book" for ref in css_gate.outside_the_book(text)]
    return out


def _reference_problem(value: str, name: str, files: frozenset[str], *, link: bool) -> str | None:
    scheme = _SCHEME.match(value)
    if scheme:
        kind = scheme.group(1).lower()
        if kind == "data" and not link:
            return None
        if link and kind in ("http", "https", "mailto"):
            return None
        return ("is a remote resource (only a link <a href> may leave the book)" if not link
                else f"is a link of scheme {kind!r} (only http, https and mailto)")
    path = value.split("#", 1)[0].split("?", 1)[0]
    if not path:
        return None  # a fragment of this document
    if "\\" in path or path.startswith("/"):
        return "is not a relative path inside the book"
    from urllib.parse import unquote

    target = posixpath.normpath(posixpath.join(posixpath.dirname(name), unquote(path)))
    if target not in files:
        return f"names {target!r}, which is not in the book"
    return None


def page_problems(doc: str) -> list[str]:
    """What is wrong with *doc*, a web page served as ``text/html`` (see the module doc), each as
    a phrase for a message; empty when nothing is."""
    import html5lib
    from html5lib.constants import E

    parser = html5lib.HTMLParser(tree=html5lib.getTreeBuilder("etree"), namespaceHTMLElements=False)
    root = parser.parse(doc)
    found = []
    for (line, column), code, data in parser.errors:
        try:
            why = E.get(code, code) % (data or {})
        except (KeyError, TypeError, ValueError):  # a message of html5lib's that names other fields
            why = code
        found.append(f"line {line}, column {column + 1}: HTML parse error: {why.rstrip('.')}")
    ids: set[str] = set()
    fragments: list[str] = []
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue  # comments, the doctype
        if not el.tag.startswith("{"):  # HTML; SVG and MathML elements carry their namespace
            if el.tag not in PAGE_ELEMENTS and not _CUSTOM_ELEMENT.fullmatch(el.tag):
                found.append(f"<{el.tag}> is not an HTML element")
        found.extend(_id_problems(el, ids))
        href = el.get("href")
        if href is not None and href.startswith("#") and len(href) > 1:
            fragments.append(href[1:])
    from urllib.parse import unquote

    # "#top" goes to the top of a page without an id of that name (HTML section 7.4.6.4).
    found.extend(f"href '#{frag}' names no id of this page" for frag in fragments
                 if frag not in ids and unquote(frag) not in ids and frag.lower() != "top")
    return found
