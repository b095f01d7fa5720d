"""The gate for XHTML documents rendered from a user's templates, checked after rendering and
before zipping: what a template writes is the user's code, and a well-formed document can still
make a book that EPUBCheck refuses or a reader that fetches from the network.

Checked here (lxml, on the document as it goes into the book):

- well-formed XML (libxml2's ``huge_tree``: the renderer already caps a document's size, and a
  long text node is not an error of the template);
- ``id`` values unique in the document (HTML section 3.2.6, EPUBCheck RSC-005);
- elements are HTML elements (inline SVG and MathML would need manifest properties the book does
  not declare);
- a link to a fragment of the same document names one of its ids (EPUBCheck RSC-012); a link to
  a fragment of another document of the book is checked once every document is rendered
  (:func:`check` returns the document's ids and such links, :func:`book_problems` matches them);
- no ``script``, ``iframe``, ``object``, ``embed``, ``frame``, ``applet`` or ``base``: a book of
  digests has no scripts, and these load other documents (EPUB 3.3 section 3.6);
- nothing that makes a document "scripted" (EPUB 3.3 section 5.6.2.2; EPUBCheck OPF-014 when the
  manifest item lacks the ``scripted`` property, which the book never declares): no attribute whose
  local name starts with ``on`` in any case and any namespace (the event handlers, HTML section
  8.1.8.2; a new one needs no change here), no ``form`` and no form control (``input``,
  ``button``, ``select``, ``textarea``, ``output``, ...: HTML section 4.10);
- every ``lang`` and ``xml:lang`` value is empty or a BCP 47 tag the language-tag gate accepts
  (:func:`exporter.gates.langtags.check_tag`; EPUBCheck RSC-005), and the two agree where both are;
- no text or attribute value holds a character the text gate keeps out of every book (C0 and C1
  controls, bidi controls, surrogates, noncharacters: :data:`exporter.model.NONCHARACTERS` and
  :data:`exporter.model.BIDI_CONTROLS`), however the template spelled it (a character reference
  ``&#x202E;`` is that character once parsed);
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

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..model import ASTRAL_NONCHARACTERS, BIDI_CONTROLS, NONCHARACTERS
from . import content_model
from . import css as css_gate
from . import text as gate_text
from .addresses import AddressRefused, check_address
from .attributes import (ID_REFERENCES, attribute_problem, http_equiv_problem, is_link, presence_problems,
                         url_attribute, value_problem)
from .langtags import LanguageTagRefused, check_tag, suppressed_script
from .urls import (URLRefused, check_reference, data_media_type, data_url_problem, host_reason,
                   private_host_reason)

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
#: A form and its controls (HTML section 4.10): EPUBCheck counts a document with them as scripted
#: (OPF-014), and a book of digests has nothing to submit.
FORM_ELEMENTS = frozenset("form input button select textarea output datalist option optgroup".split())
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
#: The attributes of a namespace that a book's XHTML may carry: ``xml:lang``, ``xml:space`` and
#: ``epub:type`` (EPUB 3.3, section 6.1.4 "Structural semantics").  Not ``xml:base`` (it would
#: move every relative URL of the element), ``xml:id`` (not XHTML) or the other ``epub:``
#: attributes (``epub:prefix`` belongs to the root, which the book writes; ``epub:trigger`` is
#: deprecated and scripted).
_NAMESPACED_ATTRIBUTES = frozenset({XML_LANG, "{http://www.w3.org/XML/1998/namespace}space",
                                    "{http://www.idpf.org/2007/ops}type"})
# What the text gate keeps out of every book (exporter.model): XML 1.0's forbidden C0 controls
# (a parser refuses those already), the C1 controls, surrogates, bidi controls and noncharacters.
_FORBIDDEN_CHAR = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff" + BIDI_CONTROLS + NONCHARACTERS + "]|["
    + ASTRAL_NONCHARACTERS + "]")
#: What a web page may hold beyond a book's documents (the obsolete frame, frameset and applet
#: stay out: HTML section 16.2, non-conforming).
#: ``search`` is left out: the Nu checker does not know it yet ("not allowed as child").
PAGE_ELEMENTS = HTML_ELEMENTS - {"search"} | frozenset("script noscript iframe object embed base".split())
_CUSTOM_ELEMENT = re.compile(r"[a-z][^A-Z]*-[^A-Z]*")
#: Names of the right shape that no custom element may take (HTML section 4.13.2, "valid custom
#: element name": names SVG and MathML had already given out).
_RESERVED_CUSTOM = frozenset("""annotation-xml color-profile font-face font-face-src font-face-uri
font-face-format font-face-name missing-glyph""".split())


@dataclass(frozen=True, slots=True)
class Checked:
    """What :func:`check` found in one document of a book."""

    #: Each as a phrase for a message; empty when nothing is wrong.
    problems: tuple[str, ...]
    #: The ``id`` values of the document.
    ids: frozenset[str]
    #: (line, file, fragment) of each link to a fragment of another document of the book.
    outward: tuple[tuple[int, str, str], ...]


def problems(doc: bytes, name: str, in_book: Iterable[str]) -> list[str]:
    """What is wrong with *doc* (the document *name* of a book holding the files *in_book*), each
    as a phrase for a message; empty when nothing is."""
    return list(check(doc, name, in_book).problems)


def check(doc: bytes, name: str, in_book: Iterable[str]) -> Checked:
    """:func:`problems` of *doc*, with its ids and its links into other documents of the book (for
    :func:`book_problems` once every document is checked)."""
    from lxml import etree

    try:
        root = etree.fromstring(doc, etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True))
    except etree.XMLSyntaxError as err:
        return Checked((f"the XHTML is not well-formed ({err})",), frozenset(), ())
    files = frozenset(in_book)
    found: list[str] = _hidden_markup_problems(root, doc) + _cluster_problems(root)
    ids: set[str] = set()
    fragments: list[tuple[int, str]] = []  # links to an id of this document
    references: list[tuple[str, str, str, str]] = []  # ID references: (line, element, attribute, id)
    maps: set[str] = set()
    outward: list[tuple[int, str, str]] = []
    for el in root.iter():
        line = f"line {el.sourceline}: "
        found.extend(_character_problems(el, line))
        if not isinstance(el.tag, str):
            continue  # comments and processing instructions
        qname = etree.QName(el)
        ns, local = qname.namespace, qname.localname
        if ns == XHTML:
            if local in FORBIDDEN:
                found.append(f"{line}<{local}> is not allowed (a book made from digests runs no code and "
                             "loads no other document)")
            elif local in FORM_ELEMENTS:
                found.append(f"{line}<{local}> is not allowed (a form or form control makes the document "
                             "scripted, EPUB 3.3 section 5.6.2.2, and a book made from digests runs no code)")
            elif local not in HTML_ELEMENTS:
                found.append(f"{line}<{local}> is not an HTML element")
            if local == "style":
                if len(el):
                    # A reader's CSS is all the text of the element; this check's, the text before
                    # the first element, comment or instruction inside it.
                    found.append(f"{line}<style> holds more than text (CSS alone, in one piece)")
                found.extend(f"{line}<style>: {why}" for why in _css_problems(el.text or ""))
                found.extend(f"{line}<style>: {why}" for why in _css_file_problems(el.text or "", name, files))
        elif ns in (SVG, MATHML):
            # A document with inline SVG or MathML needs the "svg" or "mathml" property on its
            # manifest item (EPUB 3.3 section 5.6.2.2; EPUBCheck OPF-014), which the book does not
            # declare for a template's documents.
            if el.getparent() is None or etree.QName(el.getparent()).namespace == XHTML:
                found.append(f"{line}inline <{local}> (SVG or MathML) is not supported in a template: use an "
                             "<img> with a data: URL")
        else:
            found.append(f"{line}<{qname.text}> is not an element of XHTML")
        found.extend(_attribute_problems(el, line, local if ns == XHTML and local in HTML_ELEMENTS else None))
        found.extend(_id_problems(el, ids, line))
        style = el.get("style")
        if style is not None:
            found.extend(f"{line}style attribute: {why}" for why in _css_problems(f"x{{{style}}}"))
            found.extend(f"{line}style attribute: {why}" for why in _css_file_problems(f"x{{{style}}}", name, files))
        found.extend(_url_problems(el, local if ns == XHTML else None, line, name, files, fragments, outward))
        if ns == XHTML:
            _collect_references(el, local, el.sourceline, references, maps)
    found.extend(content_model.problems(root))
    found.extend(f"line {line}: href '#{frag}' names no id of this document"
                 for line, frag in fragments if frag not in ids)
    found.extend(_reference_problems(references, ids, maps, "document"))
    return Checked(tuple(found), frozenset(ids), tuple(outward))


#: A tag written self-closed (``<div/>``): the document parsed as XML, each such match is a tag
#: (comments, CDATA sections and instructions are refused), its attributes quoted.
_SELF_CLOSED = re.compile(rb"""<([A-Za-z_][-A-Za-z0-9_.:]*)(?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*\s*/>""")
#: HTML's void elements (HTML section 13.1.2), and those its parser treats as void: the only ones
#: an HTML parser ends at their start tag, as XML ends ``<x/>``.
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
                   "track", "wbr", "param", "keygen", "basefont", "bgsound", "frame"})


def _hidden_markup_problems(root: Any, doc: bytes) -> list[str]:
    """The comments, CDATA sections and processing instructions of *doc* (its *root* as lxml read
    it), each refused: XML reads their contents as text, an HTML parser (a web reading system, a
    converter that reads the chapter as HTML) does not: ``<!-->`` is a whole comment there, and
    ``<![CDATA[`` and ``<?`` outside SVG and MathML are comments that end at the first ``>``
    (HTML section 13.2.5.42, "bogus comment state"), so what follows them is markup, a
    ``<script>`` or an ``onerror`` the checks of elements never saw.  A book made from digests
    needs none of them (a note in a template is a Jinja comment, ``{# ... #}``).  So is a
    non-void element written self-closed (``<a href="..."/>``): an open tag to an HTML parser
    (HTML section 13.2.6.4.7: the "/" is ignored), the rest of the page inside it."""
    from lxml import etree

    found = []
    for node in (*reversed(list(root.itersiblings(preceding=True))), *root.iter(), *root.itersiblings()):
        if node.tag is etree.Comment:
            found.append(f"line {node.sourceline}: a comment (<!-- ... -->) is not allowed: HTML parsers read "
                         "it otherwise than XML does (write a note as a Jinja comment, {# ... #})")
        elif node.tag is etree.PI:
            found.append(f"line {node.sourceline}: a processing instruction (<?{node.target} ... ?>) is not "
                         "allowed: an HTML parser reads it as a comment that ends at the first '>'")
    for tag in _SELF_CLOSED.finditer(doc):
        name = tag.group(1).decode("utf-8", "replace")
        if name.rpartition(":")[2].lower() not in _VOID:
            line = doc.count(b"\n", 0, tag.start()) + 1
            found.append(f"line {line}: <{name}/> is not allowed: an HTML parser reads it as an open tag, "
                         f"so what follows would be inside it (<a/> a link around the rest); write "
                         f"<{name}></{name}>")
    at = doc.find(b"<![CDATA[")
    if at >= 0:
        line = doc.count(b"\n", 0, at) + 1
        found.append(f"line {line}: a CDATA section (<![CDATA[ ... ]]>) is not "
                     "allowed: an HTML parser reads it as a comment that ends at the first '>'; write the text "
                     "escaped (&lt;)")
    return found


def _collect_references(el, local: str, line: int | None, references: list[tuple[str, str, str, str]],
                        maps: set[str]) -> None:
    """The ids *el* names in its ID-reference attributes, and the name of a ``<map>``, for
    :func:`_reference_problems` once the whole document is read."""
    at = f"line {line}: " if line else ""
    if local == "map" and el.get("name") is not None:
        maps.add(el.get("name"))
    for attribute in ID_REFERENCES:
        value = el.get(attribute)
        if value is not None and not value.split():
            # An empty reference names nothing (HTML section 2.3.9: an id is never empty).
            references.append((at, local, attribute, value))
        for token in (value or "").split():
            references.append((at, local, attribute, token))
    usemap = el.get("usemap")
    if usemap is not None:
        references.append((at, local, "usemap", usemap))


def _reference_problems(references: list[tuple[str, str, str, str]], ids: set[str], maps: set[str],
                        where: str) -> list[str]:
    """The ID references that name no id of the document, and the ``usemap`` that names no
    ``<map>`` (HTML sections 2.3.9 and 4.8.13; the Nu checker's and EPUBCheck's RSC-005)."""
    found = []
    for at, local, attribute, token in references:
        if attribute == "usemap":
            if not token.startswith("#") or token[1:] not in maps:
                found.append(f"{at}<{local}>: the attribute 'usemap' {token!r} names no <map name> of this {where} "
                             "(write '#' and the map's name)")
        elif token not in ids:
            found.append(f"{at}<{local}>: the attribute {attribute!r} names the id {token!r}, which no element of "
                         f"this {where} has")
    return found


def book_problems(ids: Mapping[str, frozenset[str]], outward: Mapping[str, Iterable[tuple[int, str, str]]]
                  ) -> dict[str, list[str]]:
    """The links of each document (*outward*: document -> :attr:`Checked.outward`) to a fragment
    that the document they name does not hold (*ids*: document -> its ids; EPUBCheck RSC-012),
    by document, each as a phrase for a message."""
    found: dict[str, list[str]] = {}
    for name, links in outward.items():
        for line, target, frag in links:
            if frag not in ids.get(target, frozenset()):
                found.setdefault(name, []).append(f"line {line}: href '{target}#{frag}' names no id of {target}")
    return found


def _character_problems(el, line: str) -> list[str]:
    """The characters of *el*'s text, tail and attribute values that no book holds."""
    found = []
    values = [("text", el.text), ("text", el.tail)]
    if isinstance(el.tag, str):
        values += [(f"attribute {key.split('}')[-1]!r}", value) for key, value in el.attrib.items()]
    for where, value in values:
        if value:
            bad = _FORBIDDEN_CHAR.search(value)
            if bad:
                found.append(f"{line}{where} holds the character U+{ord(bad.group()):04X}, which no book holds "
                             "(a control, bidi control or noncharacter)")
            elif where != "text" and gate_text.mark_run(value) is not None:
                found.append(f"{line}{where} {_TOO_MANY_MARKS}")
    return found


#: What a document whose text puts too many combining marks on one character is told.
_TOO_MANY_MARKS = f"holds {gate_text.TOO_MANY_MARKS}"


def _cluster_problems(root) -> list[str]:  # type: ignore[no-untyped-def]
    """The document's text, read as a reader lays it out (every text node in order: a mark at
    the start of an element's text goes on the letter before it), if it holds too many combining
    marks on one character."""
    return [f"its text {_TOO_MANY_MARKS}"] if gate_text.mark_run("".join(root.itertext())) is not None else []


def _attribute_problems(el, line: str, local: str | None = None) -> list[str]:
    """Event handlers, attributes outside the content model (:mod:`exporter.gates.attributes`;
    *local*: the element's name when it is an HTML element), and language tags that are not BCP
    47, among the attributes of *el*."""
    found = []
    parent = el.getparent()
    parent_name = parent.tag.rsplit("}", 1)[-1] if parent is not None and isinstance(parent.tag, str) else None
    at = f"{line}<{_local_of(el)}>: "  # every refusal names the element and the attribute
    for key in el.attrib:
        name = key.rsplit("}", 1)[-1]
        # Every event handler's name starts with "on" (HTML section 8.1.8.2): by the prefix, in any
        # case and namespace, so a handler HTML adds tomorrow is refused too.
        if name[:2].lower() == "on":
            found.append(f"{at}the attribute {name!r} is an event handler (a book made from digests runs "
                         "no code; EPUBCheck would call the document scripted, OPF-014)")
        elif key == "{http://www.idpf.org/2007/ops}type":
            # EPUB 3.3 section D.1 and EPUBCheck OPF-027/OPF-028: one or more terms; a prefixed
            # term needs a prefix declared in epub:prefix on the root, which the book writes
            # without the template's (the Structural Semantics Vocabulary's terms need none).
            terms = el.get(key).split()
            if not terms:
                found.append(f"{at}the attribute 'epub:type' is empty (give a term, or leave it out)")
            elif any(":" in t for t in terms):
                found.append(f"{at}the attribute 'epub:type' has the prefixed term "
                             f"{next(t for t in terms if ':' in t)!r}, whose prefix the book does not declare: "
                             "use the EPUB Structural Semantics Vocabulary's terms ('chapter', 'noteref'...)")
        elif key.startswith("{"):
            if key not in _NAMESPACED_ATTRIBUTES:
                # XML Events (ev:event), XLink outside SVG, xml:base, epub:trigger and the like:
                # handlers, links or a base by another name (EPUBCheck RSC-005 for most).
                space = key[1:].split("}", 1)[0]
                shown = {"http://www.w3.org/XML/1998/namespace": "xml:", "http://www.idpf.org/2007/ops": "epub:"
                         }.get(space, "") + name
                found.append(f"{at}the attribute {shown!r} of the namespace {space!r} is not "
                             "one a book's XHTML may carry (of the xml: and epub: attributes, only xml:lang, "
                             "xml:space and epub:type are)")
            elif key == "{http://www.w3.org/XML/1998/namespace}space" and (
                    why := value_problem(local or "", "xml:space", el.get(key))):
                found.append(f"{at}the attribute 'xml:space' {why}")
        elif local is not None:
            why = (attribute_problem(local, key, parent=parent_name, has_role=el.get("role") is not None)
                   or value_problem(local, key, el.get(key)))
            if why:
                found.append(f"{at}the attribute {key!r} {why}")
    if local is not None:
        found.extend(f"{at}the attribute {a!r} {why}" for a, why in presence_problems(
            local, frozenset(k for k in el.attrib if not k.startswith("{"))))
    return found + _lang_problems(el, at)


def _lang_problems(el, line: str) -> list[str]:
    """``lang`` and ``xml:lang`` values of *el* that are not BCP 47 tags, or that differ."""
    found = []
    langs = [(attr, el.get(key)) for attr, key in (("lang", "lang"), ("xml:lang", XML_LANG), ("xml:lang", "xml:lang"))
             if el.get(key) is not None]
    for attr, value in langs:
        if value == "":
            continue  # the language is unknown (HTML section 3.2.6.2)
        try:
            check_tag(value)
        except LanguageTagRefused as err:
            found.append(f"{line}{attr}={value!r} is refused: {err}")
        else:
            if (script := suppressed_script(value)) is not None:
                found.append(f"{line}{attr}={value!r} is refused: {script!r} is the script its language is written "
                             f"in, which a tag leaves out (write {check_tag(value)!r}; RFC 5646 section 4.1)")
            elif check_tag(value).lower() != value.lower():
                # A deprecated subtag or tag (``iw``, ``en-BU``, ``i-klingon``): the Nu checker warns
                # ("deprecated, use he instead"); the program's own tags are written canonical.
                found.append(f"{line}{attr}={value!r} is refused: the IANA registry has it replaced by "
                             f"{check_tag(value)!r} (write that; RFC 5646 section 4.5)")
    if len(langs) == 2 and langs[0][1].lower() != langs[1][1].lower():
        found.append(f"{line}lang={langs[0][1]!r} and xml:lang={langs[1][1]!r} differ (HTML section 3.2.6.2: "
                     "they must be the same)")
    return found


def _id_problems(el, ids: set[str], line: str = "") -> list[str]:
    """An id of *el* that one of *ids* (the ids seen before it, to which it is added) repeats."""
    ident = el.get("id")
    if ident is None:
        return []
    if not ident or any(c in ident for c in "\t\n\f\r "):
        # HTML section 3.2.6: an id has at least one character and no ASCII white space
        # (EPUBCheck RSC-005 "must be a string matching [^\s]+").
        return [f"{line}the id {ident!r} is " + ("empty" if not ident else "not one word: an id holds no white space")]
    if ident in ids:
        return [f"{line}the id {ident!r} is used twice (an id is unique in a document)"]
    ids.add(ident)
    return []


def _url_problems(el, local: str | None, line: str, name: str | None, files: frozenset[str],
                  fragments: list[tuple[int, str]], outward: list[tuple[int, str, str]]) -> list[str]:
    """What is wrong with the URLs in the attributes of *el* (*local*: its name if an HTML
    element; *name*: the book's document, or None for the front page, whose relative references
    name files of the site that the gate cannot see)."""
    if local is None:
        # Foreign elements reach here only on the front page (a book refuses them): SVG's links.
        spots = [(key, "one") for key in ("href", XLINK_HREF) if el.get(key) is not None]
    else:
        spots = [(key, how) for key in el.attrib if (how := url_attribute(local, key)) is not None]
    found: list[str] = []
    for key, how in spots:
        attr = key.rsplit("}", 1)[-1] if key != XLINK_HREF else "xlink:href"
        value = el.get(key)
        if how == "candidates":
            found.extend(f"{line}<{local}> {attr}={value!r} {why}"
                         for why in _descriptor_problems(value, el.get("sizes" if attr == "srcset" else "imagesizes")))
        if attr == "itemtype" and not all(_SCHEME_START.match(url) for url in value.split()):
            found.append(f"{line}<{local}> itemtype={value!r} is refused: each of its URLs must be absolute "
                         "(HTML section 5.2.2)")
        # A book's URL is taken as written (EPUBCheck reads the attribute as a URL, white space
        # and all); a web page trims the ASCII white space around it as HTML says.
        for url in _urls_of(value, how if how != "one" or name is None else "as written"):
            why = _url_problem(url, local or "", attr, name, files, fragments, outward, getattr(el, "sourceline", 0))
            if why is None and local == "source" and name is not None and el.get("type") is not None:
                why = _typed_source_problem(url, el.get("type"), name)
            if why:
                shown = "" if url == value else f" (its URL {url!r})"
                found.append(f"{line}<{local or _local_of(el)}> {attr}={value!r}{shown} {why}")
    return found


#: The media types of the files a book holds, by their extension (as its package document
#: declares them).
BOOK_MEDIA_TYPES = {".xhtml": "application/xhtml+xml", ".css": "text/css", ".jpg": "image/jpeg",
                    ".jpeg": "image/jpeg", ".png": "image/png", ".ncx": "application/x-dtbncx+xml"}


def _typed_source_problem(url: str, declared: str, name: str) -> str | None:
    """Why the ``type`` of a ``<source>`` disagrees with the media type of the book's file its
    *url* names, or None: a reading system picks a source by its type, and EPUBCheck holds it to
    the package document's (OPF-013)."""
    import posixpath
    from urllib.parse import unquote

    path = url.split("#", 1)[0].split("?", 1)[0]
    if not path or _SCHEME_START.match(path):
        return None
    target = posixpath.normpath(posixpath.join(posixpath.dirname(name), unquote(path)))
    actual = BOOK_MEDIA_TYPES.get(posixpath.splitext(target)[1].lower())
    essence = declared.split(";", 1)[0].strip().lower()
    if actual is None or essence == actual:
        return None
    return (f"names {target!r}, which is {actual}, not the type={declared!r} it declares (the package document's "
            "media type; EPUBCheck OPF-013)")


def _local_of(el) -> str:
    return el.tag.rsplit("}", 1)[-1] if isinstance(el.tag, str) else ""


def _urls_of(value: str, how: str) -> list[str]:
    """The URLs an attribute value holds: one, a space-separated set, or the URLs of image
    candidate strings (:func:`_candidates`)."""
    if how == "as written":
        return [value]
    if how == "one":
        # HTML trims ASCII white space around a "valid URL potentially surrounded by spaces".
        return [value.strip("\t\n\f\r ")]
    if how == "spaces":
        return value.split()
    return [url for url, _ in _candidates(value)]


#: A descriptor of an image candidate (HTML section 4.8.4.2.1): a width (``100w``) or a pixel
#: density (``1.5x``).
_SCHEME_START = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_DESCRIPTOR = re.compile(r"[1-9][0-9]*w|(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?x")


def _candidates(value: str) -> list[tuple[str, str]]:
    """(URL, descriptors) of each image candidate string of a ``srcset``, split as HTML does
    (section 4.8.4.3.10, "parse a srcset attribute": a URL runs to white space, commas at its
    end separate candidates, the descriptors run to a comma outside parentheses)."""
    found, i, n = [], 0, len(value)
    while i < n:
        while i < n and value[i] in "\t\n\f\r ,":
            i += 1
        start = i
        while i < n and value[i] not in "\t\n\f\r ":
            i += 1
        url = value[start:i]
        if not url:
            break
        if url.endswith(","):
            found.append((url.rstrip(","), ""))
            continue
        start, depth = i, 0
        while i < n and (depth or value[i] != ","):
            if value[i] == "(":
                depth += 1
            elif value[i] == ")" and depth:
                depth -= 1
            i += 1
        found.append((url, value[start:i].strip()))
    return found


def _descriptor_problems(value: str, sizes: str | None) -> list[str]:
    """What HTML refuses in a ``srcset`` (section 4.8.4.2.1) beyond its URLs: no candidate, a
    descriptor that is not one width or density (what a host or path with a space turns into:
    ``https://exa mple.org/ 2x`` is the URL ``https://exa``), two candidates of one descriptor,
    widths mixed with densities, or widths without ``sizes``."""
    candidates = _candidates(value)
    if not candidates:
        return ["has no image candidate"]
    found = [f"has the descriptor {words!r} after {url!r}, which is not one width (100w) or pixel density (2x) "
             "(HTML section 4.8.4.2.1)" for url, words in candidates if words and not _DESCRIPTOR.fullmatch(words)]
    if found:
        return found
    kinds = [words[-1] if words else "x" for _, words in candidates]
    said = [float(words[:-1]) if words else 1.0 for _, words in candidates]
    said = [(kind, number) for kind, number in zip(kinds, said)]
    if len(set(said)) < len(said):
        found.append("has two image candidates of the same descriptor (HTML section 4.8.4.2.1)")
    if ("w" in kinds) != (sizes is not None) or ("w" in kinds and "x" in kinds):
        found.append("must give every candidate a width (100w) when there is a sizes attribute, and a density "
                     "(2x) or nothing when there is none (HTML section 4.8.4.2.1)")
    return found


#: Schemes a link or citation of a book may use (only http(s) and mailto lead somewhere a
#: reader can open; a ``urn:`` names, for microdata).
_LINK_SCHEMES = frozenset({"http", "https", "mailto", "urn"})


def _url_problem(url: str, element: str, attr: str, name: str | None, files: frozenset[str],
                 fragments: list[tuple[int, str]], outward: list[tuple[int, str, str]], sourceline: int) -> str | None:
    """Why *url* (in *attr* of *element*) is refused, or None; a fragment it names is recorded
    in *fragments* (this document) or *outward* (another document of the book)."""
    try:
        ref = check_reference(url, name or "", in_book=name is not None)
    except URLRefused as err:
        return f"is refused: {err}"
    if ref.scheme == "mailto":
        why = _mailto_problem(url)
        if why:
            return why
    if ref.scheme == "data" and (why := css_gate.data_problem(url)):
        return why
    if name is not None and ref.scheme in ("http", "https") and (why := host_reason(url)) is not None:
        # A book's link is followed on the reader's own network, where 127.0.0.1 or 192.168.1.1
        # is the reader's router or printer: the rule a digest's links are held to.  (The front
        # page is served from the user's own site, which may well be on such a host.)
        return f"is refused: {why}"
    if name is None:  # the front page: a web page may load from the web and run scripts
        if attr == "href" and ref.fragment is not None and not ref.scheme and not ref.path:
            fragments.append((sourceline, ref.fragment))
        return None
    if ref.scheme:
        if attr == "cite" and ref.scheme != "https":
            # A citation's source is a resource a reading system may fetch: EPUBCheck asks for
            # https (RSC-031 "Remote resource references should use HTTPS").
            return f"cites a source of scheme {ref.scheme!r}: a citation's URL is https (EPUBCheck RSC-031)"
        if is_link(element, attr):
            return None if ref.scheme in _LINK_SCHEMES else (
                f"is a link of scheme {ref.scheme!r} (only http, https and mailto)")
        if ref.scheme == "data":
            return _data_problem(url, element, attr)
        return "is a remote resource (only a link <a href> may leave the book)"
    if ref.path and ref.path not in files:
        return f"names {ref.path!r}, which is not in the book"
    if ref.path and is_link(element, attr) and not ref.path.endswith(".xhtml"):
        # A link inside a book leads to a content document, not to a picture or a stylesheet
        # (EPUB 3.3 section 3.4; EPUBCheck RSC-010 "non-standard resource type").
        return f"links to {ref.path!r}, which is not a document of the book (a link leads to a page)"
    if ref.path and not is_link(element, attr) and (why := _resource_kind_problem(ref.path, element, attr, name)):
        return why
    if ref.fragment is not None and not is_link(element, attr):
        # A resource (a picture, a sound, a poster) is a file: the document itself is none, and a
        # fragment names a part only of an SVG picture (EPUBCheck RSC-009).
        if not ref.path or ref.path == name:
            return "names this document, which is not a resource to show (a fragment belongs to a link)"
        if not ref.path.endswith(".svg"):
            return f"has a fragment ('#{ref.fragment}'), which only an SVG picture has parts for (EPUBCheck RSC-009)"
    if ref.fragment is not None and is_link(element, attr):
        # Every link and citation (href, cite...): the fragment must be an id where it leads
        # (EPUBCheck RSC-012).
        if not ref.path or ref.path == name:
            fragments.append((sourceline, ref.fragment))
        else:
            outward.append((sourceline, ref.path, ref.fragment))
    return None


#: What each resource attribute of a book shows, by (element, attribute): a file of the book it
#: names must be of that kind (HTML: an img's src is an image, a video's src a video...).
_RESOURCE_KINDS = {("img", "src"): "image", ("img", "srcset"): "image", ("source", "srcset"): "image",
                   ("video", "poster"): "image", ("video", "src"): "video", ("audio", "src"): "audio",
                   ("source", "src"): "video or audio", ("track", "src"): "text track", ("embed", "src"): "embedded",
                   ("object", "data"): "embedded", ("iframe", "src"): "document"}


def _resource_kind_problem(path: str, element: str, attr: str, name: str) -> str | None:
    """Why the file *path* of the book, named by *attr* of *element* in the document *name*, is not
    what that place shows (the document itself; a stylesheet as a picture), or None."""
    import posixpath

    wanted = _RESOURCE_KINDS.get((element, attr))
    if wanted is None:
        return None
    if path == name:
        return "names this document, which is not a resource to show"
    actual = BOOK_MEDIA_TYPES.get(posixpath.splitext(path)[1].lower(), "")
    if wanted in ("image", "embedded") and actual.startswith("image/") or wanted == "document" and actual.endswith("xhtml+xml"):
        return None
    return f"names {path!r}, which is {actual or 'no file type a book holds'}, not {'an' if wanted[0] in 'aeiou' else 'a'} {wanted}"


def _data_problem(url: str, element: str, attr: str) -> str | None:
    """Why the ``data:`` URL *url* (RFC 2397) in *attr* of *element* would be a resource a reading
    system need not show, or None."""
    kind = "image" if attr == "poster" else "video" if element == "video" else "audio" if element == "audio" else "image"
    if element == "source":
        media = data_media_type(url)
        kind = "image" if media.startswith("image/") else "video" if media.startswith("video/") else "audio"
    return data_url_problem(url, kind)


def _mailto_problem(url: str) -> str | None:
    """Why the addresses of a ``mailto:`` URL (RFC 6068) are refused by the address gate, or None."""
    from urllib.parse import unquote

    to, _, query = url.split(":", 1)[1].partition("?")
    # RFC 6068 section 2: the addresses of the path, and of any "to" header field after '?'; the
    # "cc" and "bcc" fields hold addresses too (RFC 5322 section 3.6.3), held to the same gate.
    fields = [f.partition("=") for f in query.split("&") if f]
    addresses = [unquote(a) for part in [to] + [v for k, _, v in fields if unquote(k).lower() == "to"]
                 for a in part.split(",") if a]
    if not addresses:
        return "is refused: it names no address (RFC 6068 section 2)"
    addresses += [unquote(a) for k, _, v in fields if unquote(k).lower() in ("cc", "bcc") for a in v.split(",") if a]
    for address in addresses:
        try:
            check_address(address)
        except AddressRefused as err:
            return f"is refused: the address {address!r} is not valid: {err}"
        # A book's mail goes out from the reader's network, as its links are followed there: the
        # domain is held to the host rule of a link (router.home, vm.lan: the reader's own).
        if (why := private_host_reason(address.rpartition("@")[2].lower().rstrip("."))) is not None:
            return f"is refused: the address {address!r}: {why}"
    for key, _, value in fields:
        # A header field's value holds no line break or control (RFC 6068 section 5: "%0D%0ABcc:"
        # would add a header); only the body may break lines.
        text = unquote(value)
        bad = _FORBIDDEN_CHAR.search(text) or (None if unquote(key).lower() == "body" else re.search("[\r\n\t]", text))
        if bad:
            return (f"is refused: its {unquote(key)!r} field holds the character U+{ord(bad.group()):04X} "
                    "(RFC 6068 section 5)")
    return None


_HAS_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")


def _css_file_problems(text: str, name: str, files: frozenset[str]) -> list[str]:
    """Each reference of the CSS *text* of the document *name* to a file of the book (relative to
    the document) that the book does not hold (EPUBCheck RSC-007), as the stylesheet's are."""
    found = []
    for ref in css_gate.references(text):
        if ref.url and not _HAS_SCHEME.match(ref.url.strip()):  # remote and data: URLs: _css_problems
            why = _url_problem(ref.url, "style", "src", name, files, [], [], 0)
            if why:
                found.append(f"{ref.what} {ref.url!r} {why}")
    return found


def _css_problems(text: str) -> list[str]:
    out = [f"{ref.what}: {ref.url}" for ref in css_gate.malformed(text)]
    out += [f"{ref.what} {ref.url!r} " + ("is a URL the CSS computes, never checked: write the URL itself"
                                          if ref.computed else "names a resource outside the book")
            for ref in css_gate.outside_the_book(text)]
    out += [f"{ref.what} {ref.url!r} {why}" for ref, why in css_gate.url_problems(text)]
    return out


def page_problems(doc: str) -> list[str]:
    """What is wrong with *doc*, a web page served as ``text/html`` (see the module doc), each as
    a phrase for a message; empty when nothing is."""
    import html5lib
    from html5lib.constants import E

    parser, lines_of = _lined_etree_parser()
    root = parser.parse(doc)
    found = [p.replace("its text", "the page's text") for p in _cluster_problems(root)]
    unjudged = _unjudged_elements(root, lines_of)
    if unjudged:
        return unjudged
    for (line, column), code, data in parser.errors:
        try:
            why = E.get(code, code) % (data or {})
        except (KeyError, TypeError, ValueError):  # a message of html5lib's that names other fields
            why = code
        found.append(f"line {line}, column {column + 1}: HTML parse error: {why.rstrip('.')}")
    ids: set[str] = set()
    fragments: list[str] = []
    references: list[tuple[str, str, str, str]] = []
    maps: set[str] = set()
    parents = {child: parent for parent in root.iter() for child in parent}
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue  # comments, the doctype
        html = not el.tag.startswith("{")  # HTML; SVG and MathML elements carry their namespace
        at = f"line {lines_of[id(el)]}: " if id(el) in lines_of else ""
        found.extend(at + why for why in (_page_html_problems(el, parents) if html
                                          else _foreign_element_problems(el, parents.get(el))))
        lines: list[tuple[int, str]] = []
        found.extend(_url_problems(el, el.tag if html else None, at, None, frozenset(), lines, []))
        fragments.extend(frag for _, frag in lines if frag)
        if html:
            _collect_references(el, el.tag, None, references, maps)
        found.extend(_id_problems(el, ids, at))
        # What the book gate refuses for validity and safety holds for the page too: a language
        # that is not BCP 47 (the Nu checker's error) and characters no output holds (controls,
        # bidi controls, noncharacters).  Scripts are the user's choice on a page of their own.
        found.extend(p.replace("which no book holds", "which no page holds") for p in _character_problems(el, at))
        found.extend(_lang_problems(el, f"{at}<{_local_of(el)}>: "))
    from urllib.parse import unquote

    # "#top" goes to the top of a page without an id of that name (HTML section 7.4.6.4).
    found.extend(f"href '#{frag}' names no id of this page" for frag in fragments
                 if frag not in ids and unquote(frag) not in ids and frag.lower() != "top")
    if not parser.errors:  # where the parse is clean, the tree is the one a browser builds
        tree, fostered = _lined_tree(doc)
        found.extend(f"line {line}: text directly inside a table, which the browser moves before the table "
                     "(HTML section 13.2.6.4.9: put it in a cell or a caption)" for line in fostered[:1])
        found.extend(content_model.problems(tree, page=True))
    found.extend(_document_problems(root, doc, lines_of))
    return found + _reference_problems(references, ids, maps, "page")


def _unjudged_elements(root: Any, lines_of: dict[int, int]) -> list[str]:
    """The page refused whole for an element whose contents this gate cannot read as a browser
    does (``<template>``, ``<noscript>``), or nothing."""
    template = next((el for el in root.iter() if el.tag == "template"), None)
    if template is not None:
        # html5lib, the HTML parser of this gate, predates <template> (HTML section 4.12.3): it
        # would build another tree than a browser does, and judge that one.
        return [f"line {lines_of.get(id(template), '?')}: <template> is not supported on the front page "
                "(this gate's HTML parser does not read template contents): build the markup in a script, or "
                "leave it out"]
    noscript = next((el for el in root.iter() if el.tag == "noscript"), None)
    if noscript is not None:
        # Read here as a browser without scripts reads it (html5lib has no scripting flag); a
        # browser with scripts reads its contents as text up to the first "</noscript>", which
        # may stand inside an attribute, and what follows it as markup: a <meta http-equiv=
        # refresh> or a <base> this gate never saw (HTML section 13.2.6.4.4): its contents
        # cannot be judged here as such a browser reads them.
        return [f"line {lines_of.get(id(noscript), '?')}: <noscript> is not allowed on the front page (a "
                "browser running scripts reads what is inside it as text up to the first '</noscript>', "
                "otherwise than this check reads it): leave it out"]
    return []


def _page_html_problems(el: Any, parents: dict) -> list[str]:
    """What is wrong with the page's HTML element *el* by itself: its name, its attributes, its
    content model's rules that the Nu checker applies to one element, its CSS."""
    if el.tag in _RESERVED_CUSTOM:
        found = [f"<{el.tag}> is a name HTML keeps from custom elements (section 4.13.2), not an HTML element"]
    elif el.tag not in PAGE_ELEMENTS and not _CUSTOM_ELEMENT.fullmatch(el.tag):
        found = [f"<{el.tag}> is not an HTML element"]
    elif el.tag in PAGE_ELEMENTS:
        found = _page_attribute_problems(el, getattr(parents.get(el), "tag", None)) + _page_element_problems(el, parents)
    else:
        found = []
    return found + _page_css_problems(el)


def _page_css_problems(el: Any) -> list[str]:
    """The declarations of a ``<style>`` or a ``style`` attribute of the page that CSS's grammar
    does not hold (``color red``, ``color:`` with no value, a rule nested in a rule), and CSS
    that is not as written (a block, string or comment left open at its end, a parse error): the
    Nu checker's CSS validator refuses them as the book's does (not ``;;``, which it takes).  Its
    selectors are not judged (browsers take Selectors Level 4), nor are property names and values."""
    sheets = []
    if el.tag == "style" and el.text:
        sheets.append(("<style>", el.text))
    if el.get("style", "").strip():
        sheets.append(("style attribute", "x{" + el.get("style", "") + "}"))
    # An empty declaration (";;") the Nu checker takes: EPUBCheck alone refuses it.
    return [f"{where}: {ref.what} ({ref.url})" for where, text in sheets
            for ref in css_gate.malformed(text, selectors=False) if ref.what != "an empty declaration"]


def _document_problems(root: Any, doc: str, lines_of: dict[int, int]) -> list[str]:
    """What the page as a whole must hold (HTML sections 4.2.2, 4.2.5.4, 4.10.7): one non-empty
    title in its head; at most one character encoding declaration, UTF-8 (the page is written in
    it), within its first 1024 bytes; a ``content`` for a named ``meta``; an ``as`` for a
    ``preload`` link; one selected option in a select that takes one."""
    import re

    def at(el: Any) -> str:
        return f"line {lines_of[id(el)]}: " if id(el) in lines_of else ""

    found = []
    head = next((el for el in root.iter() if el.tag == "head"), None)
    titles = [el for el in head.iter("title")] if head is not None else []
    if head is not None and not titles:
        found.append("the page's <head> has no <title> (HTML section 4.2.2: one is required)")
    found.extend(f"{at(el)}a second <title>: a page has one" for el in titles[1:])
    found.extend(f"{at(el)}<title> is empty" for el in titles[:1] if not "".join(el.itertext()).strip())
    declarations = [el for el in root.iter("meta")
                    if "charset" in el.attrib or el.get("http-equiv", "").strip().lower() == "content-type"]
    found.extend(f"{at(el)}a second character encoding declaration: a page has at most one"
                 for el in declarations[1:])
    for el in declarations[:1]:
        charset = el.get("charset")
        if charset is None:
            charset = re.sub(r"(?is).*charset\s*=\s*", "", el.get("content", "")) if "charset" in \
                el.get("content", "").lower() else ""
        if charset.strip().lower() != "utf-8":
            found.append(f"{at(el)}the character encoding is declared {charset.strip()!r}: the page is UTF-8, "
                         "declare 'utf-8'")
    first = re.search(r"(?i)<meta\b[^>]*\bcharset\s*=", doc)
    if first is not None and len(doc[:first.start()].encode("utf-8", "surrogatepass")) + \
            len(first.group(0).encode("utf-8", "surrogatepass")) > 1024:
        found.append("the character encoding is declared after the page's first 1024 bytes (HTML section "
                     "4.2.5.4): put <meta charset=\"utf-8\"> first in the head")
    for el in root.iter("meta"):
        if ("name" in el.attrib or "http-equiv" in el.attrib) and "content" not in el.attrib:
            found.append(f"{at(el)}<meta> with a name or http-equiv needs a content attribute")
    for el in root.iter("link"):
        if "preload" in el.get("rel", "").lower().split() and not el.get("as"):
            found.append(f"{at(el)}<link rel=\"preload\"> needs an as attribute (what it loads)")
    for el in root.iter("select"):
        if "multiple" not in el.attrib and sum("selected" in o.attrib for o in el.iter("option")) > 1:
            found.append(f"{at(el)}more than one selected <option> in a <select> without multiple")
    return found + [at(el) + why for el, why in _page_whole_problems(root)]


#: The link types a ``<link>`` may carry in the body (HTML section 4.2.4: "body-ok").
_BODY_OK = frozenset({"dns-prefetch", "modulepreload", "pingback", "preconnect", "prefetch", "preload",
                      "stylesheet"})


def _page_whole_problems(root: Any) -> list[tuple[Any, str]]:
    """(element, why) for what the Nu checker refuses of the page beyond one element: a second
    ``<base>`` or ``meta description``, an X-UA-Compatible other than ``IE=edge``, a ``<link>`` in
    the body that is not body-ok, a ``list`` that names no ``<datalist>`` and a ``form`` that names
    no ``<form>``, a hard-wrapped ``<textarea>`` without ``cols``, a ``value`` on a file input."""
    found = []
    by_id = {el.get("id"): el for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
    found += [(el, "a second <base>: a page has at most one (HTML section 4.2.3)") for el in list(root.iter("base"))[1:]]
    described = [el for el in root.iter("meta") if el.get("name", "").strip().lower() == "description"]
    found += [(el, "a second <meta name=\"description\">: a page has at most one (HTML section 4.2.5.1)")
              for el in described[1:]]
    found += [(el, "<meta http-equiv=\"x-ua-compatible\"> has the content 'IE=edge' and no other (HTML section "
                   "4.2.5.3)") for el in root.iter("meta")
              if el.get("http-equiv", "").strip().lower() == "x-ua-compatible" and el.get("content") != "IE=edge"]
    body = next((el for el in root.iter("body")), None)
    if body is not None:
        found += [(el, f"<link rel={el.get('rel', '')!r} in the body: only an itemprop link or a body-ok type "
                       f"({', '.join(sorted(_BODY_OK))}) may stand there (HTML section 4.2.4)")
                  for el in body.iter("link") if el.get("itemprop") is None
                  and not set(el.get("rel", "").lower().split()) & _BODY_OK]
    for el in (el for el in root.iter() if el.tag in ("input", "textarea", "select", "button", "output", "fieldset",
                                                    "object")):
        for attr, tag in (("list", "datalist"), ("form", "form")):
            target = by_id.get(el.get(attr)) if el.get(attr) else None
            if target is not None and target.tag != tag:
                found.append((el, f"<{el.tag}> {attr}={el.get(attr)!r} names a <{target.tag}>, not a <{tag}> "
                                  "(HTML section 4.10)"))
    found += [(el, "<textarea wrap=\"hard\"> needs cols (HTML section 4.10.11)") for el in root.iter("textarea")
              if el.get("wrap", "").lower() == "hard" and el.get("cols") is None]
    found += [(el, "<input type=\"file\"> has no value attribute (HTML section 4.10.5.1.18)") for el in root.iter("input")
              if el.get("type", "").lower() == "file" and "value" in el.attrib]
    return found


def _lined_builder(kind: str, parser: list, record: Any) -> Any:
    """An html5lib tree builder of *kind* ("etree", "lxml") that calls *record(element, line)* for
    each element it makes, with the line where the parser stands (its start tag's end);
    *parser*: a list that will hold the parser, once made."""
    import html5lib

    made = html5lib.getTreeBuilder(kind)

    class Lined(made):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            element_class = self.elementClass

            def element(name: str, namespace: str | None = None) -> Any:
                el = element_class(name, namespace)
                tokenizer = getattr(parser[0], "tokenizer", None) if parser else None
                if tokenizer is not None:
                    record(el._element, tokenizer.stream.position()[0])
                return el

            self.elementClass = element

    return Lined


def _lined_etree_parser() -> tuple[Any, dict[int, int]]:
    """An html5lib parser building an ElementTree of plain HTML names, and the line of each element
    it makes (by ``id()``, while the tree lives)."""
    import html5lib

    lines: dict[int, int] = {}
    made: list[Any] = []
    made.append(html5lib.HTMLParser(tree=_lined_builder("etree", made, lambda el, line: lines.__setitem__(id(el), line)),
                                    namespaceHTMLElements=False))
    return made[0], lines


def _lined_tree(doc: str) -> tuple[Any, list[int]]:
    """*doc* parsed by the HTML parsing algorithm (html5lib) into an lxml tree of XHTML elements,
    each with the line where the parser made it (its start tag's end), for
    :func:`content_model.problems`: the content models are HTML's, whatever the syntax.  And the
    lines of text the parser moved out of a table ("foster parenting", HTML section 13.2.6.1),
    which html5lib does not count among its parse errors but the Nu checker does."""
    import warnings

    import html5lib

    made: list[Any] = []

    class Lined(_lined_builder("lxml", made, lambda el, line: setattr(el, "sourceline", line))):  # type: ignore[misc]
        def insertText(self, data: str, parent: Any = None) -> None:
            if self.insertFromTable and data.strip() and parent is None:
                fostered.append(made[0].tokenizer.stream.position()[0])
            super().insertText(data, parent)

    fostered: list[int] = []
    made.append(html5lib.HTMLParser(tree=Lined))
    with warnings.catch_warnings():
        # An attribute name XML cannot hold (``a:b`` on an HTML element) is renamed in the lxml
        # tree; the content models do not look at it.
        warnings.simplefilter("ignore", html5lib.constants.DataLossWarning)
        return made[0].parse(doc).getroot(), fostered


#: ``<link rel=preload as>``: the destinations the Nu checker takes (Fetch's, but frame, iframe,
#: json and webidentity), in this case.
_PRELOAD_AS = frozenset("""fetch audio audioworklet document embed font image manifest object paintworklet
report script serviceworker sharedworker style track video worker xslt""".split())
#: Labelable elements (HTML section 4.10.2): a label holds at most one.
_LABELABLE = frozenset("button input meter output progress select textarea".split())


#: The elements of SVG 2 (its element index) and of MathML 3's presentation and semantics
#: markup that a page may hold inline: the Nu checker refuses any other name in those
#: namespaces ("Element foo not allowed as child of element svg").
_SVG_ELEMENTS = frozenset("""a animate animateMotion animateTransform circle clipPath defs desc ellipse feBlend
    feColorMatrix feComponentTransfer feComposite feConvolveMatrix feDiffuseLighting feDisplacementMap
    feDistantLight feDropShadow feFlood feFuncA feFuncB feFuncG feFuncR feGaussianBlur feImage feMerge
    feMergeNode feMorphology feOffset fePointLight feSpecularLighting feSpotLight feTile feTurbulence filter
    foreignObject g image line linearGradient marker mask metadata mpath path pattern polygon polyline
    radialGradient rect script set stop style svg switch symbol text textPath title tspan use view""".split())
_MATHML_ELEMENTS = frozenset("""math maction maligngroup malignmark menclose merror mfenced mfrac mglyph mi
    mlabeledtr mlongdiv mmultiscripts mn mo mover mpadded mphantom mprescripts mroot mrow ms mscarries mscarry
    msgroup msline mspace msqrt msrow mstack mstyle msub msubsup msup mtable mtd mtext mtr munder munderover
    none semantics annotation annotation-xml""".split())
_FOREIGN = {SVG: ("SVG", _SVG_ELEMENTS), "http://www.w3.org/1998/Math/MathML": ("MathML", _MATHML_ELEMENTS)}


#: SVG elements that stand only in some parents (SVG 2, Filter Effects 1, Paint Servers).
_SVG_PARENTS = {"feMergeNode": {"feMerge"}, "feFuncA": {"feComponentTransfer"}, "feFuncB": {"feComponentTransfer"},
                "feFuncG": {"feComponentTransfer"}, "feFuncR": {"feComponentTransfer"},
                "feDistantLight": {"feDiffuseLighting", "feSpecularLighting"},
                "fePointLight": {"feDiffuseLighting", "feSpecularLighting"},
                "feSpotLight": {"feDiffuseLighting", "feSpecularLighting"},
                "stop": {"linearGradient", "radialGradient"}, "mpath": {"animateMotion"}}


def _foreign_element_problems(el: Any, parent: Any = None) -> list[str]:
    """An element in the SVG or MathML namespace whose name neither holds, or an SVG filter
    primitive, light, transfer function or gradient stop outside the element it belongs in."""
    space, _, local = el.tag[1:].partition("}")
    language, names = _FOREIGN.get(space, ("", frozenset()))
    if language and local not in names:
        return [f"<{local}> is not an element of {language} (the Nu checker refuses it)"]
    if space == SVG and parent is not None and isinstance(parent.tag, str):
        up = parent.tag.rpartition("}")[2]
        allowed = _SVG_PARENTS.get(local, {"filter"} if local.startswith("fe") and local not in (
            "feMergeNode",) else None)
        if allowed is not None and up not in allowed:
            return [f"SVG <{local}> stands in {' or '.join(f'<{a}>' for a in sorted(allowed))}, not in <{up}>"]
    return []


#: Roles that belong inside an element of one of some roles (WAI-ARIA 1.2, each role's Required
#: Context Role, as the Nu checker asks for them), and the roles elements have without saying.
_CONTEXT_ROLES = {
    "listitem": {"list", "group"}, "tab": {"tablist"}, "option": {"listbox"}, "treeitem": {"tree", "group"},
    **{r: {"menu", "menubar"} for r in ("menuitem", "menuitemcheckbox", "menuitemradio")},
    "row": {"table", "grid", "treegrid", "rowgroup"}, "rowgroup": {"table", "grid", "treegrid"},
    **{r: {"row"} for r in ("cell", "gridcell", "columnheader", "rowheader")},
}
_IMPLICIT_ROLES = {"ul": "list", "ol": "list", "menu": "list", "table": "table", "thead": "rowgroup",
                   "tbody": "rowgroup", "tfoot": "rowgroup", "tr": "row", "datalist": "listbox"}


def _in_context(el: Any, parents: dict, roles: set[str]) -> bool:
    """Whether an ancestor of *el* has one of *roles*, said or its element's own."""
    up = parents.get(el)
    while up is not None:
        said = (up.get("role") or "").strip().lower().split()[:1]
        if (said[0] if said else _IMPLICIT_ROLES.get(up.tag if isinstance(up.tag, str) else "")) in roles:
            return True
        up = parents.get(up)
    return False


def _page_element_problems(el: Any, parents: dict) -> list[str]:
    """What the Nu checker refuses of an element of the page by itself: an ``object`` with neither
    ``data`` nor ``type`` (HTML section 4.8.7), a ``noscript`` inside a ``noscript`` (4.12.2), a
    ``label`` around two form controls (4.10.4), a ``slot`` outside a shadow tree, a preload's
    ``as`` that is no destination."""
    tag = el.tag
    if tag == "object" and el.get("data") is None and el.get("type") is None:
        return ["<object> has neither data nor type (HTML section 4.8.7: one of them says what it shows)"]
    if tag == "noscript":
        up = parents.get(el)
        while up is not None:
            if up.tag == "noscript":
                return ["<noscript> inside a <noscript> (HTML section 4.12.2)"]
            up = parents.get(up)
    if tag == "label":
        controls = [d for d in el.iter() if d is not el and isinstance(d.tag, str) and d.tag in _LABELABLE
                    and not (d.tag == "input" and (d.get("type") or "").lower() == "hidden")]
        if len(controls) > 1:
            return [f"<label> holds {len(controls)} form controls; it labels one (HTML section 4.10.4)"]
    if tag == "slot":
        return ["<slot> belongs in a shadow tree (a template of a custom element), not in the page"]
    if tag == "script" and (why := _script_timing_problem(el) or _script_type_problem(el)):
        return [why]
    if tag == "link" and (why := _link_problem(el)):
        return [why]
    if tag in ("button", "input") and (why := _submit_only_problem(el)):
        return [why]
    role = (el.get("role") or "").strip().lower().split()[:1]
    if role and role[0] in _CONTEXT_ROLES and not _in_context(el, parents, _CONTEXT_ROLES[role[0]]):
        needed = " or ".join(f"role={r}" for r in sorted(_CONTEXT_ROLES[role[0]]))
        return [f"<{tag} role={role[0]}> stands outside any element with {needed}, which it belongs in (WAI-ARIA "
                "1.2, Required Context Role; the Nu checker refuses the page)"]
    if tag == "img" and el.get("alt") and role and role[0] in ("none", "presentation"):
        return [f"<img> with a text alt has role={role[0]!r}: only an image with an empty alt is decorative "
                "(ARIA in HTML)"]
    if tag == "img" and el.get("alt") == "" and (el.get("role") or "none").strip().lower() not in ("none", "presentation"):
        return [f"<img alt=\"\"> has role={el.get('role')!r}: an image with an empty alt is decorative, and may "
                "only have the role none or presentation (ARIA in HTML)"]
    if el.get("sizes") is not None and tag in ("img", "source") and (why := _sizes_problem(el.get("sizes"))):
        return [f"<{tag}>: sizes={el.get('sizes')!r} {why}"]
    if tag == "link" and "preload" in (el.get("rel") or "").lower().split() and el.get("as") is not None \
            and el.get("as") not in _PRELOAD_AS:
        return [f"<link rel=preload> as={el.get('as')!r} is not a destination the Nu checker takes "
                f"({', '.join(sorted(_PRELOAD_AS))})"]
    return []


#: HTML section 4.6.7 (and the Nu checker, which says so): what ``rel`` a link needs for each of
#: these attributes to mean something.
_LINK_NEEDS = {"as": ("preload", "modulepreload", "prefetch"),
               "sizes": ("icon", "apple-touch-icon", "apple-touch-icon-precomposed"),
               "integrity": ("stylesheet", "preload", "modulepreload")}
#: An icon's sizes (HTML section 4.2.4): ``any``, or sizes such as ``16x16 32x32``, each number
#: without a leading zero and the ``x`` in lower case (the Nu checker refuses ``16X16``).
_ICON_SIZES = re.compile(r"any|[1-9][0-9]*x[1-9][0-9]*(?:[ \t\n\f\r]+[1-9][0-9]*x[1-9][0-9]*)*")
#: The JavaScript MIME type essences (MIME Sniffing section 4.6).
_JAVASCRIPT_TYPES = frozenset("""application/ecmascript application/javascript application/x-ecmascript
application/x-javascript text/ecmascript text/javascript text/javascript1.0 text/javascript1.1 text/javascript1.2
text/javascript1.3 text/javascript1.4 text/javascript1.5 text/jscript text/livescript text/x-ecmascript
text/x-javascript""".split())
#: A form submission's own settings, on the button that submits (HTML section 4.10.18.6).
_SUBMIT_ONLY = ("formaction", "formenctype", "formmethod", "formnovalidate", "formtarget")


def _link_problem(el: Any) -> str | None:
    rels = set((el.get("rel") or "").lower().split())
    for attr, wanted in _LINK_NEEDS.items():
        if el.get(attr) is not None and not rels & set(wanted):
            return f"<link> has {attr} but its rel is none of {', '.join(wanted)} (HTML section 4.6.7)"
    sizes = el.get("sizes")
    if sizes is not None and not _ICON_SIZES.fullmatch(sizes.strip(" \t\n\f\r")):
        return (f"<link>: sizes={sizes!r} is not 'any' or sizes such as '16x16 32x32' (HTML section 4.2.4; "
                "a lower-case x, no leading zero)")
    return None


def _script_type_problem(el: Any) -> str | None:
    """A script's ``type``: no parameters, one that runs with a ``src`` (HTML section 4.12.1), no
    ``nomodule`` on a module."""
    kind = (el.get("type") or "").strip().lower()
    if ";" in kind:
        return f"<script>: type={el.get('type')!r} has parameters; a script's type is a MIME type without them"
    if el.get("src") is not None and kind not in ("", "module") and kind not in _JAVASCRIPT_TYPES:
        return (f"<script src> has type={el.get('type')!r}: a script loaded by src is JavaScript or a module "
                "(HTML section 4.12.1)")
    if kind == "module" and el.get("nomodule") is not None:
        return "<script type=module> has nomodule, which is for classic scripts (HTML section 4.12.1)"
    return None


def _submit_only_problem(el: Any) -> str | None:
    kind = (el.get("type") or ("submit" if el.tag == "button" else "text")).strip().lower()
    if kind == "submit" or el.tag == "input" and kind == "image":
        return None
    found = next((a for a in _SUBMIT_ONLY if el.get(a) is not None), None)
    return None if found is None else (f"<{el.tag} type={kind}> has {found}, which belongs to a button that "
                                        "submits a form (HTML section 4.10.18.6)")


def _script_timing_problem(el: Any) -> str | None:
    """What HTML section 4.12.1 refuses of a script's ``async``/``defer`` (as the Nu checker says
    it): either without a ``src`` on a classic script, ``defer`` on a module (deferred already)."""
    module = (el.get("type") or "").strip().lower() == "module"
    if module and el.get("defer") is not None:
        return "<script type=module> has defer: a module is deferred already (HTML section 4.12.1)"
    for attr in () if module else ("async", "defer"):
        if el.get(attr) is not None and el.get("src") is None:
            return f"<script> has {attr} but no src (HTML section 4.12.1: it says when a script file runs)"
    return None


#: The length units of a ``sizes`` value, as the Nu checker takes them (CSS Values 3, written in
#: lower case: ``10Px`` is refused).
_LENGTH_UNITS = frozenset("em ex ch rem vw vh vmin vmax cm mm q in pc pt px".split())


def _sizes_problem(value: str) -> str | None:
    """Why *value* is not a ``sizes`` attribute (HTML section 4.8.4.2.2) as the Nu checker reads
    it: a comma-separated list of sizes, each a media condition then a positive length, the
    condition left out of the last only; None if it is one."""
    import tinycss2

    items = [[t for t in item if t.type not in ("whitespace", "comment")]
             for item in _split_commas(tinycss2.parse_component_value_list(value))]
    for n, item in enumerate(items):
        if not item:
            return "has an empty size (HTML section 4.8.4.2.2)"
        last, condition = item[-1], item[:-1]
        length = ((last.type == "dimension" and last.unit in _LENGTH_UNITS and last.value >= 0)
                  or (last.type == "number" and last.value == 0)
                  or (last.type == "function" and last.lower_name == "calc"))
        if not length:
            return (f"has {tinycss2.serialize([last])!r} where a positive length is wanted, such as 100vw "
                    "(HTML section 4.8.4.2.2)")
        if any(t.type not in ("() block", "ident") for t in condition):
            return "has a size whose media condition is not one (HTML section 4.8.4.2.2)"
        if not condition and n < len(items) - 1:
            return "must give each size but the last a media condition (HTML section 4.8.4.2.2)"
    return None


def _split_commas(tokens: list) -> list[list]:
    items: list[list] = [[]]
    for token in tokens:
        if token.type == "literal" and token.value == ",":
            items.append([])
        else:
            items[-1].append(token)
    return items


def _embedded_document_problem(tag: str, key: str, value: str) -> str | None:
    """Why an attribute that holds a whole document of its own (``<iframe srcdoc>``, a ``data:``
    URL of a frame, an object or an embed) is refused, or None: this check, and the Nu checker,
    never read that document, where a ``<meta http-equiv=refresh>`` or a ``<base>`` the page's own
    markup may not hold would stand unseen.  A document to show goes in a file of its own."""
    if tag == "iframe" and key == "srcdoc":
        return ("holds a document of its own, which this check does not read (a refresh or a <base> could "
                "stand there): put it in a file and name it in src")
    if tag in ("iframe", "object", "embed") and key in ("src", "data") and value.strip()[:5].lower() == "data:":
        return ("is a data: URL, a document of its own this check does not read: put it in a file and name "
                "that instead")
    return None


def _page_attribute_problems(el, parent: str | None) -> list[str]:
    """The attributes of the front page's HTML element *el* outside the content model of
    :mod:`exporter.gates.attributes` (the page's wider one), and an ``http-equiv`` of a value HTML
    does not allow or ``refresh``.  Event handlers (``on...``) are the page author's scripts: not
    judged here."""
    found = []
    for key, value in el.attrib.items():
        if key.startswith("{") or key[:2] == "on" or key == "xml:lang":
            continue  # foreign attributes are kept by the HTML parser only on SVG and MathML
        if key == "xmlns" and value == XHTML:
            continue  # allowed on any HTML element in the HTML syntax (HTML section 13.1.2.3)
        why = (attribute_problem(el.tag, key, page=True, parent=parent, has_role=el.get("role") is not None)
               or value_problem(el.tag, key, value, page=True))
        if why is None and el.tag == "meta" and key == "http-equiv":
            why = http_equiv_problem(value)
            key = f"{key}={value!r}"
        if why is None:
            why = _embedded_document_problem(el.tag, key, value)
        if why:
            found.append(f"<{el.tag}>: the attribute {key!r} {why}" if "=" not in key
                         else f"<{el.tag}>: {key} {why}")
    names = frozenset(k for k in el.attrib if not k.startswith("{"))
    return found + [f"<{el.tag}>: the attribute {a!r} {why}" for a, why in presence_problems(el.tag, names)]
