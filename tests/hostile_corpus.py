"""Hostile digests written for the tests/test_hostile_*.py tests, and the checks that the
outputs made from them are inert.

Everything is generated into a temporary folder by the tests (nothing big
is committed).  :func:`write_hostile` lays out::

    tmp/
      secret.png            <- a local file that must never reach a book
      input/hostile.md      <- the hostile digests
      input/link.png        <- symlink to ../secret.png
      input/ok.png          <- a legitimate local thumbnail

and the ``check_*`` functions parse every XHTML/XML/HTML/JSON content of
an EPUB or a feed and assert that they are inert: only the renderer's
allow-list inside rendered content, no event handlers, no scripting
elements, no non-http(s) URL, no control characters, no secret bytes.
"""

from __future__ import annotations

import io
import json
import posixpath
import re
import zipfile
from pathlib import Path

from lxml import etree, html as lxml_html

from exporter.render import ALLOWED_ATTRIBUTES, ALLOWED_TAGS

# -- the hostile text ----------------------------------------------------------

SCRIPTY = [
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "<svg/onload=alert(1)>",
    '<a href="javascript:alert(1)">a</a>', "<iframe src=//evil.example>", "<object data=x>",
    "<embed src=x>", "<form action=//evil><input></form>", "<style>*{color:red}</style>",
    '<div onmouseover="alert(1)">x</div>', "<math><mi xlink:href=javascript:alert(1)>",
    "&lt;script&gt;", "&#60;script&#62;alert(1)&#60;/script&#62;", "]]>", "<![CDATA[<script>]]>",
    "<!-- x -->", "<?php echo 1 ?>", "{{ 7*7 }}", "{% raw %}", "${7*7}",
]
BAD_URLS = [
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", "java\tscript:alert(1)", "  javascript:alert(1)",
    "&#106;avascript:alert(1)", "&#x6A;avascript:alert(1)", "vbscript:msgbox(1)", "VBScript:x",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
    "file:///etc/passwd", "FILE:///etc/shadow", "jar:file:///x!/y", "\x01javascript:alert(1)",
    "java%0ascript:alert(1)", "//evil.example/x", "ftp://evil.example/x",
]
# Characters that must not survive (controls, bidi overrides) or must not
# break anything (zero-width, noncharacters, astral).
CONTROLS = "".join(map(chr, [*range(0, 9), 11, 12, *range(14, 32), 0x7F, 0x85, 0x9B]))
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u200e\u200f\u061c"
ODD = "\u2028\u2029\ufdd0\U0001f600\U0010fffd"
UNPAIRED = ["**bold", "__under", "`tick", "``", "$\\frac{a", "$^{2", "[open", "](", "*", "_", "~~x",
            "\\", "$$", "\\(", "![", "<", "&", "&#", "&#0;", "&#xD800;", "&bogus;"]

SECRET = b"TOP-SECRET-7f3a9c-" * 8
SECRET_MARK = b"TOP-SECRET-7f3a9c"


def _png(color=(200, 30, 30)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(buf, format="PNG")
    return buf.getvalue()


def secret_png() -> bytes:
    """A valid PNG that carries the secret marker in a text chunk (and after IEND)."""
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", SECRET.decode())
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (1, 2, 3)).save(buf, format="PNG", pnginfo=info)
    return buf.getvalue() + SECRET


def hostile_line(i: int) -> str:
    """One line of hostile inline text; *i* picks the mix."""
    parts = [SCRIPTY[i % len(SCRIPTY)], f"[x]({BAD_URLS[i % len(BAD_URLS)]})",
             f"<{BAD_URLS[(i + 3) % len(BAD_URLS)]}>", UNPAIRED[i % len(UNPAIRED)],
             CONTROLS[i % len(CONTROLS)], BIDI[i % len(BIDI)], ZERO_WIDTH[i % len(ZERO_WIDTH)],
             ODD[i % len(ODD)], "한국어 **요약** (<0.5초) & more"]
    return " ".join(parts)


def hostile_paper(n: int, *, title: str | None = None, url: str | None = None, thumb: str | None = None,
                  authors: list[str] | None = None, bullets: int = 4) -> str:
    title = title if title is not None else f"Paper {n}: {hostile_line(n)}"
    url = url if url is not None else f"https://arxiv.org/abs/2403.{10000 + n}"
    lines = [f"### [{title}]({url})", ""]
    if thumb is not None:
        lines += [thumb, ""]
    lines += [f"Vote: {n}", ""]
    if authors is None:
        authors = [f"<b onmouseover=alert({n})>Ann</b>", "Bo \u202eLee", f"{SCRIPTY[n % len(SCRIPTY)]}"]
    lines += ["Authors: " + ", ".join(authors), ""]
    labels = ["***What's New***: ", "***<img src=x onerror=alert(1)>***: ", "**<script>x</script>**: ", ""]
    for b in range(bullets):
        lines.append("- " + labels[b % len(labels)] + hostile_line(n + b))
        if b % 5 == 0:
            lines.append("  - nested " + hostile_line(n + b + 1))
    return "\n".join(lines) + "\n"


def hostile_digest(date: str = "2024-03-04", *, input_dir: Path | None = None,
                   secret_abs: Path | None = None) -> str:
    """One day of hostile papers: every field, every URL trick, big shapes."""
    papers = []
    n = 0
    for i, bad in enumerate(BAD_URLS):
        # A hostile link URL, and the same trick as an image URL.
        papers.append(hostile_paper(n, url=bad, thumb=f"![]({bad})"))
        n += 1
    for thumb in ['<video src="javascript:alert(1)"></video>', "[Watch Video](JaVaScRiPt:alert(1))",
                  '<img src="file:///etc/passwd">', "![](../secret.png)", "![](%2e%2e/secret.png)",
                  "![](..%2fsecret.png)", "![](link.png)", "![](./sub/../../secret.png)",
                  "![](ok.png)", "![](<../secret.png>)", "![](..\\secret.png)",
                  f"![]({secret_abs})" if secret_abs else "![](/etc/passwd)",
                  f"![](file://{secret_abs})" if secret_abs else "![](file:///etc/passwd)",
                  # Remote: a closed port on loopback (tests use no other network).
                  '![](http://127.0.0.1:9/a.png"onerror="alert(1))',
                  "![](http://127.0.0.1:9/<script>.png)"]:
        papers.append(hostile_paper(n, thumb=thumb))
        n += 1
    # Titles: script, TeX and Markdown that do not close, a 2,000-char title,
    # controls/bidi/zero-width only around real text.
    for title in ["<script>alert(1)</script>", "$\\frac{a}{b ` ** __ [x]( M$^{2", "A" * 1000 + " " + "B" * 999,
                  f"{CONTROLS}{BIDI}T{ZERO_WIDTH}itle{ODD}", "../../etc/passwd", "Title](javascript:alert(1)) [",
                  "[Re] <b>Bold</b> &amp; &lt;i&gt;"]:
        papers.append(hostile_paper(n, title=title))
        n += 1
    # 500 authors, and 1,000 bullets.
    papers.append(hostile_paper(n, authors=[f"Author {k} <i>{k}</i>" for k in range(500)]))
    n += 1
    papers.append(hostile_paper(n, bullets=1000))
    n += 1
    head = f"## <script>alert('day')</script> Daily \u202ePapers{ZERO_WIDTH} ({date})\n\n"
    return head + "\n".join(papers)


def write_hostile(tmp: Path, *, days: tuple[str, ...] = ("2024-03-04", "2024-03-05")) -> Path:
    """The layout of the module docstring; returns the input folder."""
    (tmp / "secret.png").write_bytes(secret_png())
    inp = tmp / "input"
    (inp / "sub").mkdir(parents=True)
    (inp / "ok.png").write_bytes(_png())
    (inp / "link.png").symlink_to(tmp / "secret.png")
    for i, date in enumerate(days):
        (inp / f"hostile-{i}.md").write_text(
            hostile_digest(date, input_dir=inp, secret_abs=tmp / "secret.png"), encoding="utf-8")
    return inp


def expected_papers(inp: Path) -> int:
    from exporter.reader.parse import read_digests

    return read_digests([inp]).paper_count


# -- the checks ----------------------------------------------------------------

XHTML = "{http://www.w3.org/1999/xhtml}"
# Template markup (templates/*.j2 and ebooklib's nav): allowed outside the
# rendered content.
TEMPLATE_TAGS = frozenset({"html", "head", "title", "link", "meta", "body", "section", "nav", "h1", "h2",
                           "p", "div", "img", "ol", "li", "a", "span", "ul"})
TEMPLATE_ATTRS = frozenset({"id", "class", "href", "src", "alt", "width", "height", "lang",
                            "{http://www.w3.org/XML/1998/namespace}lang", "rel", "type", "hidden",
                            "{http://www.idpf.org/2007/ops}type", "content", "name", "charset"})
FORBIDDEN_TAGS = frozenset({"script", "iframe", "object", "embed", "form", "input", "style", "svg", "math",
                            "frame", "frameset", "applet", "base", "meta-refresh", "button", "textarea"})
CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
URL_ATTRS = ("href", "src", "data", "action", "formaction", "poster", "background", "xlink:href",
             "{http://www.w3.org/1999/xlink}href")


def _local(tag) -> str:
    return tag.split("}", 1)[-1] if isinstance(tag, str) else ""


def _url_ok(url: str, *, internal_ok: bool) -> bool:
    if re.match(r"^https?://[^\s/?#]+", url):
        return True
    if internal_ok and not re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*:", url) and not url.startswith(("/", "\\")):
        return True  # relative link inside the book (nav, #fragment, images/...)
    return False


def check_tree(root, where: str, *, internal_ok: bool, content_roots=()) -> None:
    """No forbidden element, handler, bad URL or control character under *root*.

    *content_roots* are elements whose subtrees are renderer output: there
    only :data:`ALLOWED_TAGS`/:data:`ALLOWED_ATTRIBUTES` may appear.
    """
    for el in root.iter():
        if not isinstance(el.tag, str):
            assert not isinstance(el, etree._ProcessingInstruction), f"{where}: processing instruction"
            continue
        tag = _local(el.tag).lower()
        assert tag not in FORBIDDEN_TAGS, f"{where}: <{tag}>"
        for name, value in el.attrib.items():
            lname = _local(name).lower()
            assert not lname.startswith("on"), f"{where}: <{tag} {name}={value!r}>"
            assert lname != "style", f"{where}: style attribute"
            if lname in URL_ATTRS or name in URL_ATTRS:
                assert _url_ok(value, internal_ok=internal_ok), f"{where}: <{tag} {name}={value!r}>"
            assert not CONTROL_RE.search(value), f"{where}: control char in attribute {value!r}"
        for text in (el.text, el.tail):
            if text:
                assert not CONTROL_RE.search(text), f"{where}: control char in text {text[:80]!r}"
    for content in content_roots:
        for el in content.iter():
            if not isinstance(el.tag, str):
                continue
            tag = _local(el.tag)
            assert tag in ALLOWED_TAGS, f"{where}: <{tag}> inside rendered content"
            allowed = ALLOWED_ATTRIBUTES.get(tag, frozenset())
            for name in el.attrib:
                assert name in allowed, f"{where}: <{tag} {name}> inside rendered content"


def _xhtml_content_roots(root):
    """Renderer output inside one of our XHTML documents: the summary lists
    and the children of titles, authors lines and headings."""
    roots = []
    for el in root.iter(f"{XHTML}ul"):
        if "summary" in (el.get("class") or "").split():
            roots.append(el)
    for tag in ("h1", "h2"):
        for el in root.iter(f"{XHTML}{tag}"):
            roots.extend(el.iterchildren())
    for el in root.iter(f"{XHTML}ol"):
        if "day-list" in (el.get("class") or "").split():
            for li in el:
                for link in li:  # the template's link (href, lang): its content is the renderer's
                    roots.extend(link.iterchildren())
    return roots


def check_epub(path: Path, *, secret: bytes = SECRET_MARK) -> dict:
    """Every inertness check on one EPUB; returns facts for further asserts."""
    data = path.read_bytes()
    assert secret not in data, f"{path.name}: the secret file's bytes are in the book"
    facts = {"xhtml": 0, "images": 0}
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        names = zf.namelist()
        assert names[0] == "mimetype" and zf.read("mimetype") == b"application/epub+zip"
        for name in names:
            raw = zf.read(name)
            assert secret not in raw, f"{path.name}:{name}: secret bytes"
            if name.startswith("EPUB/images/"):
                facts["images"] += 1
                # Deflated data would hide the marker from the zip scan above;
                # the members are checked decompressed here.
                continue
            if not name.endswith((".xhtml", ".opf", ".ncx", ".xml")):
                continue
            root = etree.fromstring(raw, etree.XMLParser(resolve_entities=False, no_network=True))
            where = f"{path.name}:{name}"
            if name.endswith(".xhtml"):
                facts["xhtml"] += 1
                ids = [el.get("id") for el in root.iter() if isinstance(el.tag, str) and el.get("id")]
                assert len(ids) == len(set(ids)), f"{where}: duplicate ids"
                check_tree(root, where, internal_ok=True, content_roots=_xhtml_content_roots(root))
            else:
                check_tree(root, where, internal_ok=True)
    return facts


def check_html_fragment(fragment: str, where: str) -> None:
    """Feed entry HTML: parsed as HTML the way a feed reader would."""
    if not fragment.strip():
        return
    assert not CONTROL_RE.search(fragment), f"{where}: control char"
    doc = lxml_html.fragment_fromstring(fragment, create_parent="div")
    # feed_entry_html adds only p, img, a and br around summary_html.
    for el in doc.iter():
        if not isinstance(el.tag, str) or el is doc:
            continue
        assert el.tag in ALLOWED_TAGS | {"p", "img"}, f"{where}: <{el.tag}>"
    check_tree(doc, where, internal_ok=False,
               content_roots=[ul for ul in doc.iter("ul") if "summary" in (ul.get("class") or "")])


def check_feed_file(path: Path) -> None:
    """An Atom/RSS/OPDS/JSON feed: the document and every HTML payload in it."""
    raw = path.read_bytes()
    assert SECRET_MARK not in raw, f"{path}: secret bytes"
    where = path.name
    if path.suffix == ".json":
        feed = json.loads(raw)
        assert not CONTROL_RE.search(raw.decode("utf-8")), f"{where}: control char"
        for item in feed["items"]:
            for key in ("url", "external_url", "image"):
                if item.get(key):
                    assert _url_ok(item[key], internal_ok=False), f"{where}: {key}={item[key]!r}"
            if item.get("content_html"):
                check_html_fragment(item["content_html"], f"{where}:{item['id']}")
            for att in item.get("attachments", []):
                assert _url_ok(att["url"], internal_ok=False), att
        return
    root = etree.fromstring(raw, etree.XMLParser(resolve_entities=False, no_network=True))
    check_tree(root, where, internal_ok=path.suffix == ".opds")
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        tag = _local(el.tag)
        # Atom content/summary type="html", RSS description: escaped HTML.
        if tag in ("content", "summary", "description", "encoded") and el.text and (
                el.get("type") in ("html", None)):
            check_html_fragment(el.text, f"{where}:<{tag}>")
        if tag == "title":
            assert "<" not in (el.text or "") or not re.search(r"<(script|img|iframe|svg|b|a)\b", el.text, re.I), \
                f"{where}: HTML in title {el.text[:80]!r}"


def nav_matches_spine(path: Path) -> None:
    """The nav and the NCX list the spine's documents, in spine order."""
    ns = {"opf": "http://www.idpf.org/2007/opf", "x": "http://www.w3.org/1999/xhtml",
          "ncx": "http://www.daisy.org/z3986/2005/ncx/", "epub": "http://www.idpf.org/2007/ops"}
    with zipfile.ZipFile(path) as zf:
        opf = etree.fromstring(zf.read("EPUB/content.opf"))
        manifest = {i.get("id"): i.get("href") for i in opf.iterfind(".//opf:manifest/opf:item", ns)}
        spine = [manifest[r.get("idref")] for r in opf.iterfind(".//opf:spine/opf:itemref", ns)]
        days = [h for h in spine if h.startswith("day-")]
        # A day too large for one document continues in parts (day-DATE-2.xhtml, ...) that
        # the contents list under the day's first document, through its papers' links.
        firsts = [h for h in days if not re.fullmatch(r"day-\d{4}-\d\d-\d\d-\d+\.xhtml", h)]
        nav = etree.fromstring(zf.read("EPUB/nav.xhtml"))
        toc = nav.find(".//x:nav[@epub:type='toc']", ns)
        top = [li.find("x:a", ns) if li.find("x:a", ns) is not None else li.find("x:span", ns)
               for li in toc.find("x:ol", ns)]
        nav_docs = []
        for el in top:
            href = el.get("href")
            if href is None:  # a section heading: its first child's document
                href = el.getparent().find(".//x:a", ns).get("href")
            nav_docs.append(posixpath.normpath(href.split("#")[0]))
        assert nav_docs == firsts, (nav_docs, days)
        all_links = [a.get("href").split("#")[0] for a in toc.iter(f"{XHTML}a")]
        assert set(all_links) <= set(spine)
        # Links of the nav follow the spine order (EPUB NAV-011).
        order = [days.index(h) for h in all_links]
        assert order == sorted(order)
        # Every part is reached from the contents.
        assert set(days) <= set(all_links) | set(firsts)
        ncx = etree.fromstring(zf.read("EPUB/toc.ncx"))
        ncx_docs = [c.get("src").split("#")[0] for c in ncx.iterfind("ncx:navMap/ncx:navPoint/ncx:content", ns)]
        assert ncx_docs == firsts, (ncx_docs, days)
        ncx_ids = [p.get("id") for p in ncx.iter("{http://www.daisy.org/z3986/2005/ncx/}navPoint")]
        assert len(ncx_ids) == len(set(ncx_ids))
