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
- **Required.** ``bdo`` needs ``dir`` (HTML section 4.5.24); ``label for`` names a labelable
  element (section 4.10.2).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

XHTML = "http://www.w3.org/1999/xhtml"

_HEADINGS = frozenset("h1 h2 h3 h4 h5 h6".split())
#: Elements whose content model is phrasing content (HTML section 4, each element's "Content
#: model"); ``summary`` and ``legend`` also take headings, ``dt`` and ``caption`` are flow.
PHRASING_ONLY = frozenset("""
p h1 h2 h3 h4 h5 h6 pre span em strong small s cite q dfn abbr data time code var samp kbd sub sup i b u
mark bdi bdo label output button meter progress rt rp
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
    "hgroup": _HEADINGS | {"p"},
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
    "source": frozenset({"picture", "audio", "video"}),
    "track": frozenset({"audio", "video"}),
    "rt": frozenset({"ruby"}), "rp": frozenset({"ruby"}),
}
_ALWAYS_INTERACTIVE = frozenset("a button details embed iframe label select textarea".split())
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


def problems(root: Any) -> list[str]:
    """What in the XHTML document *root* (an lxml element tree) stands where HTML's content models
    do not allow it, each as a phrase beginning with its line."""
    found: list[str] = []
    ids = {el.get("id"): local for el, local in _elements(root) if el.get("id")}
    for el, local in _elements(root):
        at = f"line {el.sourceline}: <{local}>"
        parent = el.getparent()
        parent_local = _local(parent) if parent is not None else None
        if local in FLOW_ONLY and (name := _model_parent(el)) is not None:
            if name in PHRASING_ONLY or (name in _SUMMARY_LIKE and local not in _HEADINGS):
                found.append(f"{at} is inside <{name}>, which holds only phrasing content (HTML section 4)")
        if local in ONLY_IN and parent_local is not None and parent_local not in ONLY_IN[local]:
            found.append(f"{at} stands only in " + " or ".join(f"<{p}>" for p in sorted(ONLY_IN[local]))
                         + f", not in <{parent_local}>")
        elif local in ("dt", "dd") and parent_local == "div" and (
                parent.getparent() is None or _local(parent.getparent()) != "dl"):
            found.append(f"{at} stands only in <dl> or a <div> of a <dl>")
        allowed = ONLY_CHILDREN.get(local)
        if allowed is not None:
            if (el.text or "").strip():
                found.append(f"{at} holds text; it holds only " + ", ".join(f"<{c}>" for c in sorted(allowed)))
            for child in el:
                name = _local(child)
                if isinstance(child.tag, str) and name not in allowed and name not in _SCRIPTING:
                    found.append(f"line {child.sourceline}: <{name or child.tag}> is inside <{local}>, which holds only "
                                 + ", ".join(f"<{c}>" for c in sorted(allowed)))
                if (child.tail or "").strip():
                    found.append(f"{at} holds text; it holds only " + ", ".join(f"<{c}>" for c in sorted(allowed)))
        children = [c for c in el if isinstance(c.tag, str)]
        if local == "details" and (not children or _local(children[0]) != "summary"):
            found.append(f"{at} starts with its <summary> (HTML section 4.11.1)")
        if local == "figure":
            captions = [i for i, c in enumerate(children) if _local(c) == "figcaption"]
            if len(captions) > 1 or (captions and captions[0] not in (0, len(children) - 1)):
                found.append(f"{at} has one <figcaption>, its first or last child (HTML section 4.4.12)")
        if local == "table":
            captions = [i for i, c in enumerate(children) if _local(c) == "caption"]
            if captions and captions != [0]:
                found.append(f"{at} has one <caption>, its first child (HTML section 4.9.2)")
        if local in ("a", "button", "label"):
            for inner in el.iterdescendants():
                name = _local(inner)
                if name is None:
                    continue
                if local == "label" and name == "label" or local != "label" and _interactive(inner, name):
                    found.append(f"line {inner.sourceline}: <{name}> is inside <{local}>, which holds no "
                                 + ("other <label>" if local == "label" else "interactive content")
                                 + " (HTML section 4)")
                    break
        if local == "bdo" and el.get("dir") not in ("ltr", "rtl"):
            found.append(f"{at} needs the attribute 'dir' (ltr or rtl; HTML section 4.5.24)")
        named = ids.get(el.get("for")) if local == "label" else None
        if named is not None and named not in LABELABLE:
            found.append(f"{at} for={el.get('for')!r} names a <{named}>, which is not a labelable element "
                         "(HTML section 4.10.2)")
    return found
