"""The URL gate: every URL the program reads or writes goes through here.

One parser, the WHATWG URL Standard's, as browsers and Node.js implement it
(``ada-url``, the parser Node.js uses), so a link means in a book or a feed
what it means in the reader's browser.  On top of what that parser accepts,
a host must also be one that every client resolves to the same domain:

* labels of letters, digits, ``-`` and ``_``, none empty (``a..b``), at most
  63 bytes, at most 253 in all (RFC 1035 section 2.3.4);
* an internationalised label (``xn--``) must be valid IDNA 2008 (RFC 5891,
  with the contextual and bidi rules, checked by the ``idna`` package), so a
  host that IDNA 2008 refuses (``☃.com``, invalid Punycode) is refused;
* no deviation character (``ß``, ``ς``, ZWJ, ZWNJ: UTS #46 section 4.1
  "deviation"): IDNA 2003 and transitional processing map ``faß.de`` to
  ``fass.de``, non-transitional (WHATWG) to ``xn--fa-hia.de``, so such a
  link points at different domains in different readers;
* no user info (``https://arxiv.org@evil.example/`` reads as arXiv), no
  percent-encoded host (``%65vil.example``), no IPv4 shorthand (``1.2.3``);
* no backslash before the query, and no other text where WHATWG and an
  RFC 3986 split (Appendix B) find different hosts;
* no character that UTS #46 maps beyond lower case and the ideographic full
  stops (``ⅷ.com`` is ``viii.com`` to browsers, refused by IDNA 2008).

What is written to an output (:func:`public_url`) must also have a host on
the public internet: a public IPv4 address, or a name under an ICANN public
suffix that is neither the suffix itself nor a special-use name.

Paths, queries and fragments are the WHATWG serialisation, then escaped
further where RFC 3986 (Atom, RFC 4287 section 4.2.6) is stricter
(``|``, ``{``, ``^``...), with ``%XX`` in one spelling (section 6.2.2), so
one page has one spelling: paper identity, feed ids and links derive from it.
"""

from __future__ import annotations

import functools
import os
import re
from typing import Any
from urllib.parse import quote, unquote

_SCHEMES = ("http:", "https:")
_TWO_SLASHES = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://(?![/\\])")
_TAB_NEWLINE = re.compile(r"[\t\n\r]")
# Deviation characters of UTS #46 (IdnaMappingTable status "deviation").
_DEVIATIONS = frozenset("\u00df\u03c2\u200c\u200d")
_ASCII_LABEL = re.compile(r"[a-z0-9_-]{1,63}")
# What RFC 3986 allows unescaped in a path, query or fragment ("%" kept for escapes).
_NOT_RFC3986 = re.compile(r"[^A-Za-z0-9\-._~!$&'()*+,;=:@/?%]")
_BARE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

# URLs the general path returns unchanged: lower-case http(s), a lower-case
# ASCII host of plain labels (none with "--" in its 3rd and 4th places, as "xn--"; a letters-only last label so
# no IPv4 shorthand such as "1.2.3"), no port, a path of unreserved
# characters and no "." or ".." segment: most links of a digest (arXiv, the PDF, Hugging Face), and
# parsing them was a third of the time of a year's books.
# tests/test_gates_values.py checks the equivalence.
_PLAIN_URL = re.compile(
    r"https?://(?:(?!..--)(?!-)[a-z0-9_-]{1,63}(?<!-)\.)*[a-z]{2,63}(?:/(?!\.\.?(?:/|$))[A-Za-z0-9._~-]*)+")


class URLRefused(ValueError):
    """A URL the gate refuses; the message says why, for the user."""


def web_url(text: str | None) -> str | None:
    """*text* as an absolute http(s) URL in its one spelling, or None if refused."""
    if not text:
        return None
    text = text.strip()
    if _PLAIN_URL.fullmatch(text) and text.find("/", 8) <= 8 + 253:
        return text
    try:
        return _checked(text)
    except URLRefused:
        return None


def public_url(text: str | None) -> str | None:
    """Like :func:`web_url`, and None also when the host is not on the public internet
    (:func:`private_host_reason`): the rule for every URL from a digest that is written into an
    output.  A feed reader fetches an entry's image by itself, and a book's or feed's link is
    followed on the reader's own network, where ``http://127.0.0.1/`` or ``http://10.0.0.1/`` is
    the reader's router or printer, not what the digest's author saw.  (Downloads apply the same
    address rule to every address a name resolves to; see ``exporter.images.netguard``.)"""
    url = web_url(text)
    if url is None or private_host_reason(_host(url)) is not None:
        return None
    return url


def host_reason(text: str | None) -> str | None:
    """Why :func:`public_url` refuses *text* for its host alone (:func:`web_url` accepts it), or
    None: what the reader says when it names a link that the outputs leave out."""
    url = web_url(text)
    return None if url is None else accepted_host_reason(url)


def accepted_host_reason(url: str) -> str | None:
    """:func:`host_reason` of *url*, a URL that :func:`web_url` returned (its one spelling), without
    parsing it again: the reader checks each link once, and the verdict of a host is cached
    (:func:`private_host_reason`), so a host seen before costs a dictionary lookup."""
    return private_host_reason(_host(url))


def check_public_url(text: str) -> str:
    """Like :func:`public_url`, but raise :class:`URLRefused` saying why."""
    url = check_web_url(text)
    reason = private_host_reason(_host(url))
    if reason is not None:
        raise URLRefused(reason)
    return url


def _host(url: str) -> str:
    """The host of an URL the gate accepted (ASCII, lower case, no user info, no IPv6 literal)."""
    return url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)[0]


#: Names that never reach the public internet, each with the whole tree under it: RFC 6761
#: section 6 (``localhost``, ``invalid``, ``test``, ``example``), RFC 6762 (``local``, multicast
#: DNS), RFC 7686 (``onion``), RFC 9476 (``alt``), RFC 3172 (``arpa``: reverse lookups
#: ``in-addr.arpa``/``ip6.arpa`` and RFC 8375's ``home.arpa``, infrastructure, no web pages), and
#: the TLD ICANN reserved for private use in 2024 (``internal``).  The second-level names
#: ``example.com``/``.net``/``.org`` are registered, resolve and serve a page, so they stay public.
_SPECIAL_USE = ("localhost", "invalid", "test", "example", "local", "onion", "alt", "arpa", "internal")


@functools.lru_cache(maxsize=1)
def _public_suffixes():
    # publicsuffixlist ships the Public Suffix List inside the package and never fetches it
    # (tldextract downloads a fresh copy unless told not to): the answer is the same offline, in
    # CI and on every run, and changes only with the pinned package.  Only the ICANN section: the
    # PRIVATE section's suffixes (github.io...) are names under a real TLD, public anyway.
    # accept_unknown=False: a name under no listed TLD (``nas``, ``vm.lan``, ``a.corp``) has no
    # public suffix at all.
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList(only_icann=True, accept_unknown=False)


def load_public_suffixes() -> None:
    """Load the Public Suffix List now (before worker processes are forked: they inherit it)."""
    _public_suffixes()


@functools.lru_cache(maxsize=4096)
def private_host_reason(host: str) -> str | None:
    """Why *host* (an accepted URL's host, ASCII) is not on the public internet, or None: an IPv4
    address that :func:`blocked_reason` refuses, a special-use name (:data:`_SPECIAL_USE`), or a
    name that is not under a top-level domain of the Public Suffix List's ICANN section
    (``nas``, ``vm.lan``, ``a.corp``) or is such a suffix itself (``com``, ``co.uk``).
    A name is judged as written: what it resolves to on the reader's network is not known here."""
    if host and host[-1].isdigit() and host.replace(".", "").isdigit():
        reason = blocked_reason(host)
        return None if reason is None else f"its host {host} is a {reason} address, not on the public internet"
    for name in _SPECIAL_USE:
        if host == name or host.endswith("." + name):
            return f"its host {host!r} is a special-use name ('{name}'), not on the public internet"
    psl = _public_suffixes()
    if psl.publicsuffix(host) is None:
        return (f"its host {host!r} is under no public top-level domain (Public Suffix List), "
                "so it is not on the public internet")
    if psl.privatesuffix(host) is None:
        return (f"its host {host!r} is a public suffix itself (Public Suffix List), not a name, "
                "so it is not on the public internet")
    return None


def blocked_reason(address: str) -> str | None:
    """Why *address* (an IPv4 or IPv6 address) is not a public internet address, or ``None``:
    an adjective (``loopback``, ``private``, ``non-public``...) that callers put before "address".

    Python's ``is_global`` follows the IANA special-purpose registries
    (RFC 6890): loopback, RFC 1918 private, link-local (cloud metadata at
    169.254.169.254), shared (100.64/10), documentation, benchmarking,
    reserved, unspecified; multicast is checked apart since 224/4 counts as
    global there.  IPv4-mapped and 6to4/NAT64-embedded IPv4 addresses are
    judged by the IPv4 address inside.
    """
    import ipaddress

    ip: Any = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in ipaddress.IPv6Network("64:ff9b::/96"):  # NAT64
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            ip = embedded
    for attribute, reason in _CLASSES:
        if getattr(ip, attribute):
            return reason
    if not ip.is_global:
        # An adjective like the others: callers write "a {reason} address".
        return "non-public"
    return None


_CLASSES = (("is_loopback", "loopback"), ("is_link_local", "link-local"),
            ("is_multicast", "multicast"), ("is_unspecified", "unspecified"),
            ("is_private", "private"), ("is_reserved", "reserved"))


def refusal(text: str) -> str:
    """Why :func:`web_url` refuses *text* (a URL it refused), in the words every caller shows:
    "is not a valid http(s) URL: its host ... (IDNA 2003 and 2008 differ)"."""
    try:
        _checked(text.strip())
    except URLRefused as err:
        return f"is not a valid http(s) URL: {err}"
    return "is not a valid http(s) URL"


def check_web_url(text: str) -> str:
    """Like :func:`web_url`, but raise :class:`URLRefused` saying why."""
    return _checked(text.strip())


def check_base_url(text: str) -> str:
    """A folder URL that file names are appended to: absolute http(s), no
    query or fragment (a name appended after ``?`` or ``#`` names no file),
    ending in ``/``.  :class:`URLRefused` says what is wrong."""
    url = _checked(text.strip())
    if "?" in _parse(text.strip()).href or "#" in _parse(text.strip()).href:
        raise URLRefused("it has a query or a fragment ('?' or '#'); give the folder URL only")
    # Every self link, enclosure and catalog link is this URL plus a path: it must be one a
    # digest's link could be (public_url), or every output would point at the reader's own network.
    reason = private_host_reason(_host(url))
    if reason is not None:
        raise URLRefused(reason)
    return url if url.endswith("/") else url + "/"


def check_host(text: str) -> str:
    """A host name or IP address as a server setting (``--smtp-host``) takes it: an IP address
    (v4, or v6 with or without brackets), or a domain name the WHATWG parser takes as the host of
    a URL (UTS #46 and the checks every URL's host goes through), and nothing else: no port, user
    info or path beside it.  Returned stripped (an IPv6 address without brackets);
    :class:`URLRefused` says what is wrong."""
    import ipaddress

    host = text.strip()
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        # As a socket takes it: an IPv6 address without the brackets a URL puts around it.
        return str(ipaddress.ip_address(bare))
    except ValueError:
        pass
    if not host or any(c in host for c in "/?#@:\\[]"):
        raise URLRefused("it is not a host name or IP address (no port, path, user or scheme beside it)")
    _checked(f"http://{host}/")
    return host


def host_of(url: str | None) -> str:
    """The host of an http(s) URL in ASCII, or ``""`` (a local path, a refused URL)."""
    checked = web_url(url)
    if checked is None:
        return ""
    return _parse(checked).hostname


def path_segment(name: str) -> str:
    """A file name as a relative URL path (one segment per ``/``), escaped for
    any URL context: used for the links a writer makes to its own files.  The
    name's bytes are percent-encoded: a name that is not UTF-8 (kept by
    surrogateescape) is linked to as the web server serves it.  A colon too: in the first
    segment of a relative reference it would make the name a scheme (RFC 3986 section 4.2:
    ``javascript:x.epub`` is a javascript: URL, ``https:evil.com.epub`` one to another host)."""
    return _escapes(quote(os.fsencode(name), safe="/!$&'()*+,;=@-._~"))


def local_reference(destination: str) -> str:
    """A local thumbnail's link destination, as the Markdown has it, as the relative reference
    the model keeps: ``%`` written ``%25`` and a space ``%20``, nothing else, so that
    :func:`local_paths` gets the destination back exactly.  CommonMark (section 6.3) takes a
    destination literally, ``<...>`` or not, but for backslash escapes (removed by the reader
    before), and decodes no percent-escape: ``<%aa ;.png>`` is the name ``%aa ;.png``.  Writing
    only the space as ``%20`` (as before) made ``%aa`` and an escape the reader wrote look alike:
    neither spelling was the file, so a change to it went unnoticed."""
    return destination.replace("%", "%25").replace(" ", "%20")


_LOCAL_ESCAPES = re.compile("%(25|20)")


def local_destination(reference: str) -> str:
    """The destination as the digest has it, from the model's :func:`local_reference`: what a
    message about a local thumbnail names (``%2e%2e/secret.png``, not the reference's
    ``%252e%252e/secret.png``)."""
    return _LOCAL_ESCAPES.sub(lambda m: "%" if m.group(1) == "25" else " ", reference)


def local_paths(reference: str) -> list[str]:
    """The file paths a local reference (:func:`local_reference`) may name, in the order to try:
    the destination as written (without query or fragment: ``#`` and ``?`` start them, RFC 3986
    section 3), then with its percent-escapes decoded (``my%20pic.png`` -> ``my pic.png``: a
    bare Markdown destination cannot hold a space, so people percent-encode names), bytes that
    are not UTF-8 kept as such (``%FF`` names the byte 0xFF, as the file system has it).  The
    one rule for the thumbnail loader and for the build's stamp of the file."""
    written = local_destination(reference.split("#", 1)[0].split("?", 1)[0])
    decoded = unquote(written, errors="surrogateescape")
    return [written] if decoded == written else [written, decoded]


#: Where a book's stylesheet sits, as an origin no other URL has: what a reference in the CSS
#: resolves to tells whether it stays inside the book.
_IN_BOOK = "https://book.invalid/EPUB/style/epub.css"


def stays_in_book(reference: str) -> bool:
    """True if *reference* (a ``url()`` or ``@import`` target of a book's stylesheet), resolved
    as a reading system's browser engine resolves it (WHATWG URL, against the stylesheet), names
    a resource inside the book or is a ``data:`` URL.  Anything else is a remote resource, which
    a book may not use from its CSS (EPUB 3.3 section 3.6, "Resource locations"; EPUBCheck
    RSC-006, OPF-014).  Tabs, newlines, backslashes and leading spaces are read as browsers do, so
    ``" \\\\evil.example/x"`` is remote."""
    import ada_url

    try:
        url = ada_url.URL(reference, _IN_BOOK)
    except ValueError:
        return False
    return url.protocol == "data:" or url.origin == "https://book.invalid"


def _parse(text: str):
    import ada_url

    try:
        return ada_url.URL(text)
    except ValueError as err:
        raise URLRefused(_why_invalid(text)) from err


_PORT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*:([0-9]+)(?=[/?#]|$)")


def _why_invalid(text: str) -> str:
    """Why the WHATWG parser refused *text*, where that can be said (it says only "invalid")."""
    port = _PORT.match(text)
    if port and int(port.group(1)[:8]) > 65535:
        return f"its port {port.group(1)[:12]} is larger than 65535 (URL standard, port state)"
    return "it is not a valid URL"


@functools.lru_cache(maxsize=65536)
def _checked(text: str) -> str:
    if not text:
        raise URLRefused("it is empty")
    # Before parsing, so that the message names the character (the parser refuses a host with a
    # zero-width joiner or a bidi control only as "not a valid URL").
    _check_deviations(text)
    _check_invisible(text)
    try:
        url = _parse(text)
    except URLRefused:
        _name_bad_host_character(text)
        raise
    if url.protocol not in _SCHEMES:
        raise URLRefused("it is not an absolute http(s) URL")
    if not _TWO_SLASHES.match(_TAB_NEWLINE.sub("", text)):
        # WHATWG reads "http:/x", "http:///x" and "http:\\x" as "http://x/"
        # (a validation error it recovers from); RFC 3986 clients read them
        # otherwise, so such a link is refused rather than guessed.
        if re.match(r"[A-Za-z]+:[/\\]{3}", _TAB_NEWLINE.sub("", text)):
            raise URLRefused("it has no host (a third '/' right after '//')")
        raise URLRefused("it does not start with 'http://' or 'https://'")
    _check_split(text)
    # The authority as written, not the parser's credentials: WHATWG drops an empty user info
    # (``https://@evil.example/``, ``https://:@evil.example/``) and would have the link written
    # in a spelling other than the digest's, without a word (RFC 3986 section 3.2.1: the user
    # info is everything before the last '@' of the authority, empty or not).
    if url.username or url.password or "@" in _authority(text):
        raise URLRefused("it has user info before '@', which hides the real host")
    host = url.hostname
    if "%" in _raw_host(text):
        # WHATWG decodes "%65vil.example" to "evil.example"; RFC 3986
        # clients may look the escaped name up as written.
        raise URLRefused("its host is percent-encoded")
    _check_compatibility(text)
    if url.port == "0":
        raise URLRefused("its port is 0, which no server listens on")
    if host.startswith("["):
        # An IPv6 literal: the W3C Feed Validator rejects "[" in ids and
        # links (InvalidUriChar), and no paper or feed is served from one.
        raise URLRefused(f"its host is an IPv6 address ({host}), not a name")
    import ada_url

    if url.host_type != ada_url.HostType.IPV4:
        _check_domain(host)
    elif _raw_host(text).rsplit(":", 1)[0] != host:
        # "1.2.3", "0x7f.1", "1." are IPv4 addresses to WHATWG and
        # names to RFC 3986 clients: only the dotted-quad spelling.
        raise URLRefused(f"its host is an IPv4 address not written as four decimal numbers ({host})")
    tail = "".join(_rfc3986(part) for part in (url.pathname, url.search, url.hash))
    return f"{url.protocol}//{url.host}{tail}"


def _check_domain(host: str) -> None:
    if len(host) > 253:
        raise URLRefused("its host name is longer than 253 characters")
    for label in host.split("."):
        if not label:
            raise URLRefused(f"its host {host!r} has an empty label")
        if label.startswith("xn--"):
            _check_idn_label(label, host)
        elif not _ASCII_LABEL.fullmatch(label):
            raise URLRefused(f"its host {host!r} has a label that is not letters, digits, '-' and '_'")
        if label.startswith("-") or label.endswith("-"):
            # RFC 1123 section 2.1 and IDNA 2008 (RFC 5891 section 4.2.3.1)
            raise URLRefused(f"its host {host!r} has a label that starts or ends with '-'")
        if label[2:4] == "--" and not label.startswith("xn--"):
            # A reserved LDH label (RFC 5890 section 2.3.1; RFC 5891 section 4.2.3.1, UTS 46
            # CheckHyphens): "--" in the 3rd and 4th places is kept for encodings such as "xn--".
            # An IDNA 2008 client refuses the name, a WHATWG one (CheckHyphens off) takes it: the
            # same rule as for an internationalised label, whether or not the name has one.
            raise URLRefused(f"its host {host!r} has a label with '--' in its 3rd and 4th places, which IDNA "
                             "2008 keeps for encodings such as 'xn--' (RFC 5891 section 4.2.3.1)")


def _check_idn_label(label: str, host: str) -> None:
    import idna

    try:
        unicode = idna.decode(label)
        same = idna.encode(unicode).decode("ascii") == label
    except (idna.IDNAError, UnicodeError, ValueError) as err:
        raise URLRefused(f"its host {host!r} is not a valid internationalised name: its label {label!r} is "
                         "not valid IDNA 2008 (RFC 5891)") from err
    if not same:
        raise URLRefused(f"its host {host!r} is not in its one IDNA 2008 spelling")


def _rfc3986(part: str) -> str:
    if part in ("", "?", "#"):
        return ""  # an empty query or fragment names the same resource as none
    head, rest = (part[0], part[1:]) if part[0] in "?#" else ("", part)
    return head + _escapes(_NOT_RFC3986.sub(lambda m: quote(m.group(0), safe=""), rest))


# The host as written, before the parser maps it: WHATWG removes tabs and
# newlines anywhere and reads "\\" as "/" in http(s) URLs.
_RAW_HOST = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[/\\]*([^/\\?#]*)")


def _raw_host(text: str) -> str:
    """The host (and port) as written, before the parser maps it."""
    return _authority(text).rpartition("@")[2]


def _authority(text: str) -> str:
    """The authority (user info, host and port) as written, before the parser maps it."""
    m = _RAW_HOST.match(_TAB_NEWLINE.sub("", text))
    return m.group(1) if m else ""


# RFC 3986 Appendix B: how a generic (non-WHATWG) parser splits a URL; group 1 is the authority.
_RFC3986_AUTHORITY = re.compile(r"^[^:/?#]+:(?://([^/?#]*))?")


def _check_split(text: str) -> None:
    """Refuse URL text that the WHATWG parser and an RFC 3986 parser (Python's urlsplit, GitHub's
    renderer, most feed readers) split differently, so that they read different hosts: WHATWG
    reads "\\" as "/" before the query of an http(s) URL (URL Standard, "special authority
    ignore slashes state" and "path state"), and drops tabs and newlines, RFC 3986 does neither,
    so ``https://example.com\\@evil.example/`` is example.com to one and evil.example to the
    other."""
    head = re.split(r"[?#]", text, maxsplit=1)[0]
    if "\\" in head:
        raise URLRefused("it has a backslash ('\\') before its query, which browsers read as '/' "
                         "and other programs do not, so they would go to different hosts")
    m = _RFC3986_AUTHORITY.match(text)
    rfc_host = (m.group(1) or "").rpartition("@")[2] if m else ""
    if rfc_host != _raw_host(text):
        raise URLRefused("its host is read differently by browsers and by other programs "
                         f"({_raw_host(text)!r} or {rfc_host!r})")


# Full stops an input method types in place of "." (UTS #46 section 4 maps them to "."), so a
# host written with them is the name the writer meant.
_IDEOGRAPHIC_STOPS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})


def _check_compatibility(text: str) -> None:
    """Refuse a host that UTS #46 maps to another spelling beyond lower case and the ideographic
    full stops: compatibility characters (``ⅷ`` -> ``viii``, ``①`` -> ``1``, ``ﬀ`` -> ``ff``,
    ``㎝`` -> ``cm``, full-width letters).  Browsers map them, strict IDNA 2008 clients (RFC 5891
    section 5.4: such code points are DISALLOWED) refuse the name, so the link works in some
    readers only, and the host shown is not the host visited."""
    import unicodedata

    raw = _raw_host(text)
    if raw.isascii():
        return
    import idna

    written = unicodedata.normalize("NFC", raw.lower().translate(_IDEOGRAPHIC_STOPS))
    try:
        mapped = idna.uts46_remap(raw, std3_rules=False, transitional=False)
    except (idna.IDNAError, UnicodeError, ValueError):
        return  # not mappable: the IDNA 2008 check refuses it
    if mapped != written:
        changed = next((c for c in raw if idna.uts46_remap(c.lower(), std3_rules=False, transitional=False)
                        != unicodedata.normalize("NFC", c.lower().translate(_IDEOGRAPHIC_STOPS))), raw[0])
        raise URLRefused(f"its host {raw!r} has {_char_name(changed)}, a compatibility character that "
                         "browsers replace and IDNA 2008 refuses, so the name shown is not the name visited")


def _check_invisible(text: str) -> None:
    """Refuse a host written with a character UTS #46 maps to nothing (soft
    hyphen, zero-width space, variation selectors...): the host the reader
    sees is not the one the link goes to, and IDNA 2008 disallows them."""
    raw = _raw_host(text)
    if raw.isascii() and "%" not in raw:
        return
    import idna
    for char in set(unquote(raw, errors="replace")):
        if char.isascii():
            continue
        try:
            gone = idna.uts46_remap(char, std3_rules=False, transitional=False) == ""
        except (idna.IDNAError, UnicodeError, ValueError):
            continue  # disallowed: the IDNA 2008 check refuses it
        if gone:
            raise URLRefused(f"its host {raw!r} has an invisible character ({_char_name(char)}) that "
                             "would be dropped from the name")


def _check_deviations(text: str) -> None:
    """Refuse a host whose written form holds a deviation character (also
    through mapping: "ẞ" maps to "ß", or percent-escaped), where transitional
    and non-transitional UTS #46 processing give different domains."""
    raw = _raw_host(text)
    if raw.isascii() and "%" not in raw:
        return
    import idna
    raw = unquote(raw, errors="replace")
    try:
        # Non-transitional mapping keeps the four deviation characters (UTS #46
        # section 4, "Deviations"); transitional processing would have mapped
        # exactly those, so finding one after mapping is the whole difference.
        mapped = idna.uts46_remap(raw, std3_rules=False, transitional=False)
    except (idna.IDNAError, UnicodeError, ValueError):
        return  # not a mappable name: the IDNA 2008 check below refuses it
    found = sorted(_DEVIATIONS.intersection(mapped))
    if found:
        raise URLRefused(f"its host {raw!r} has {_char_name(found[0])}, a character that IDNA 2003 and 2008 "
                         "read differently (ß, ς, zero-width joiners), so it would lead to another domain in "
                         "some readers")


def _char_name(char: str) -> str:
    """``U+200D ZERO WIDTH JOINER``: a character named so that it can be found, whether or not it
    shows."""
    import unicodedata

    return f"U+{ord(char):04X} {unicodedata.name(char, '')}".rstrip()


def _name_bad_host_character(text: str) -> None:
    """When the parser refused *text*: :class:`URLRefused` naming the first character of its host
    that a host name cannot hold (a control, a bidi control, a character IDNA 2008 disallows), if
    there is one; else nothing (the caller's "not a valid URL" stands)."""
    import idna

    raw = _raw_host(text)
    for char in raw:
        if char.isascii():
            if char.isalnum() or char in "-._:[]%":
                continue
        else:
            try:
                idna.uts46_remap(char, std3_rules=True, transitional=False)
                continue
            except (idna.IDNAError, UnicodeError, ValueError):
                pass
        raise URLRefused(f"its host {raw!r} has {_char_name(char)}, which a host name cannot hold")


def _escapes(part: str) -> str:
    """``%`` escapes in one spelling: a bare ``%`` as ``%25``, hex digits in
    upper case, unreserved characters unescaped (RFC 3986 section 6.2.2)."""
    if "%" not in part:
        return part

    def one(m: re.Match[str]) -> str:
        char = chr(int(m.group(1), 16))
        return char if char in _UNRESERVED else "%" + m.group(1).upper()

    return _ESCAPE.sub(one, _BARE_PERCENT.sub("%25", part))


def member_of_href(document: str, href: str) -> tuple[str | None, str]:
    """The container path a package document's manifest *href* names (relative to *document*,
    the package document's own path), or None and why it names no file of the book.

    A manifest href is a path-relative URL string inside the container (OCF 3.3 section 3.3,
    EPUB 3.3 "manifest"): a scheme, a host, an absolute path or a way above the root is not a
    file of the book (EPUBCheck RSC-026/RSC-006), and a reader shows nothing for it."""
    import posixpath
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(href)
    if parts.scheme or parts.netloc or href.startswith("/"):
        return None, "is not a file inside the book (an absolute path or URL)"
    path = posixpath.normpath(posixpath.join(posixpath.dirname(document), unquote(parts.path)))
    if path == ".." or path.startswith("../"):
        return None, "points outside the book"
    return path, ""


#: Characters a URL written in a document may not hold as they are (RFC 3986 section 2 and
#: RFC 3987 section 2.2: space, controls, ``<>"{}|\^`` and the backtick, and ``[]`` outside an
#: IPv6 host, which the gate refuses anyway), and a ``%`` that starts no escape.  A reading
#: system's parser repairs some of them (WHATWG percent-encodes a space in a path), others end
#: the URL or its host; EPUBCheck refuses all of them (RSC-020, or RSC-005 "must be a URI").
_NOT_IN_URL = re.compile(r"[\x00-\x20\x7f<>\"{}|\\^`\[\]]|%(?![0-9A-Fa-f]{2})")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
#: Where a book's XHTML documents sit (the package's folder), as an origin no other URL has.
_BOOK_ROOT = "https://book.invalid/"


class Reference:
    """What :func:`check_reference` found a URL written in a document to be."""

    __slots__ = ("scheme", "path", "fragment", "url")

    def __init__(self, scheme: str, path: str, fragment: str | None, url: str) -> None:
        #: The scheme in lower case (``https``, ``mailto``, ``data``), or ``""`` for a relative reference.
        self.scheme = scheme
        #: For a relative reference: the file it names, relative to the folder the documents'
        #: names are relative to, escapes decoded (``""``: the document itself); for a web page's
        #: (``in_book=False``), its path as written; else ``""``.
        self.path = path
        #: The fragment as written, without ``#``, or None.
        self.fragment = fragment
        #: The URL as written.
        self.url = url


def check_reference(text: str, document: str = "", *, in_book: bool = True) -> Reference:
    """*text*, a URL written in an attribute of the document *document* (its path, relative to
    the package folder when it is a book's), as a :class:`Reference`; :class:`URLRefused` when a
    browser or EPUBCheck would not read it as written:

    * a character no URL holds unescaped (:data:`_NOT_IN_URL`), or white space of any kind;
    * an absolute URL that the WHATWG parser refuses, or an http(s) URL this gate refuses
      (:func:`check_web_url`: its host rules);
    * a relative reference that leaves the package's folder by a host (``//host/x``), by an
      absolute path (``/x``), or by ``..`` above the container's root (OCF 3.3 section 3.3:
      EPUBCheck RSC-026), or that carries a query (a file of a container has none: RSC-033).

    Whether the file it names exists is the caller's question (:attr:`Reference.path`).  Not
    *in_book* (a web page's URL): a relative reference may have a query and any path, and is
    only parsed (against a placeholder origin)."""
    import posixpath
    import unicodedata

    bad = _NOT_IN_URL.search(text)
    if bad is not None and bad.group() == "[" and re.match(r"https?://\[", text, re.IGNORECASE):
        _checked(text)  # names the IPv6 host it refuses, not the bracket around it
    char = bad.group() if bad else next(
        (c for c in text if not c.isascii() and unicodedata.category(c)[0] in "CZ"), None)  # controls, spaces
    if char is not None:
        what = "a '%' that starts no escape (%XX)" if char == "%" else _char_name(char)
        raise URLRefused(f"it holds {what}, which a URL may not hold as it is (RFC 3986 section 2: escape it)")
    if not text:
        raise URLRefused("it is empty")
    if text.count("#") > 1:
        # RFC 3986 section 3.5: a fragment holds no '#' (the Nu checker and EPUBCheck refuse it).
        raise URLRefused("it has a second '#' (a fragment holds none: escape it as %23)")
    scheme = _SCHEME.match(text)
    if scheme:
        _parse(text)  # the WHATWG parser's verdict
        kind = scheme.group(1).lower()
        if kind in ("http", "https"):
            _checked(text)
        return Reference(kind, "", text.split("#", 1)[1] if "#" in text else None, text)
    head, _, fragment = text.partition("#")
    if not in_book:
        try:
            _ada().URL(text, _BOOK_ROOT)
        except ValueError as err:
            raise URLRefused("it is not a valid URL") from err
        # The path as written: "" only for this page itself ("#y"), not for "other.html#y".
        return Reference("", head, fragment if "#" in text else None, text)
    if "?" in head:
        raise URLRefused("it has a query ('?'), which no file inside the book has (EPUBCheck RSC-033)")
    if head.startswith("/"):
        raise URLRefused("it is not a relative path inside the book (it starts with '/')")
    path = posixpath.normpath(posixpath.join(posixpath.dirname(document), unquote(head))) if head else ""
    if path == ".." or path.startswith("../"):
        raise URLRefused("it leads out of the folder of the book's documents (OCF 3.3 section 3.3; "
                         "EPUBCheck RSC-026 above the container's root)")
    try:
        resolved = _ada().URL(text, _BOOK_ROOT + quote(document))
    except ValueError as err:
        raise URLRefused("it is not a valid URL") from err
    if resolved.origin != _BOOK_ROOT.rstrip("/"):
        raise URLRefused("it names another host, not a file inside the book")
    # The file as a reading system resolves the reference (RFC 3986 section 5.2, the WHATWG
    # parser), not as a file system would: an empty segment or a trailing '/' ("images//a.jpg",
    # "a.xhtml/") names no file of the book (EPUBCheck RSC-007), where normpath made them one.
    return Reference("", _file_named(resolved.pathname) if head else "", fragment if "#" in text else None, text)


def _file_named(pathname: str) -> str:
    """The file of the book a resolved reference's *pathname* names (below the book's root),
    :class:`URLRefused` for a folder: "./", "images/..", "x/../" name the book's folder or one of
    its folders, no file (EPUBCheck RSC-007 "could not be found")."""
    path = unquote(pathname[1:])
    if not path or path.endswith("/"):
        raise URLRefused(f"it names {('the folder ' + repr(path)) if path else 'the folder of the book'}, not a file")
    return path


def redirect_target(base: str, location: str) -> str | None:
    """The URL a redirect's ``Location`` *location* names from the URL *base*, as a browser
    resolves it (the WHATWG parser: ``http:///ok`` is ``http://ok/``, where an HTTP library put
    the host of *base* back), if the URL gate accepts it (http or https, a valid host); else None."""
    try:
        return web_url(_ada().URL(location.strip(), base).href)
    except (ValueError, TypeError):
        return None


def _ada():
    """The WHATWG parser's module (imported when first used: ``--help`` stays fast)."""
    import ada_url

    return ada_url


#: What a ``data:`` URL may hold where a book shows it without a fallback: the core media types
#: of EPUB 3.3 (section 3.2) for pictures, sound and fonts, any video (exempt there); anything
#: else is a foreign resource without a fallback (EPUBCheck RSC-032).
CORE_MEDIA_TYPES = {
    "image": frozenset({"image/gif", "image/jpeg", "image/png", "image/svg+xml", "image/webp"}),
    "audio": frozenset({"audio/mpeg", "audio/mp4", "audio/ogg"}),
    "font": frozenset({"font/ttf", "font/otf", "font/woff", "font/woff2", "application/font-sfnt",
                       "application/vnd.ms-opentype", "application/font-woff"}),
}


def data_media_type(url: str) -> str:
    """The media type a ``data:`` URL (RFC 2397) says it holds, as written ("" for none)."""
    return url.split(":", 1)[1].split(",", 1)[0].split(";", 1)[0]


def data_url_problem(url: str, *kinds: str) -> str | None:
    """Why the ``data:`` URL *url*, where a book shows one of *kinds* (``image``, ``audio``,
    ``video``, ``font``), is a resource a reading system need not show, or None.  The type is
    taken as written: RFC 2045 media types are case-insensitive, but EPUBCheck compares them with
    its core media types as they are spelled (RSC-032 for ``IMAGE/PNG``)."""
    media = data_media_type(url)
    if "video" in kinds and media.startswith("video/") or any(media in CORE_MEDIA_TYPES.get(k, ()) for k in kinds):
        return None
    allowed = ", ".join(sorted(set().union(*(CORE_MEDIA_TYPES.get(k, {"video/..."}) for k in kinds))))
    return (f"is a data: URL of type {media or 'text/plain (none given)'!r}, which a book shows only with a "
            f"fallback (EPUB 3.3 core media types here, in lower case: {allowed})")



def without_fragment(url: str) -> str:
    """*url* without its ``#fragment``: what a reader decodes of a ``data:`` URL (the Fetch
    Standard's data: URL processor serializes the URL "with exclude fragment set to true"), so a
    ``#`` written in the data, unescaped, ends it there."""
    return url.split("#", 1)[0]


def data_bytes(url: str) -> bytes | None:
    """The data of the ``data:`` URL *url* (RFC 2397), percent- and base64-decoded; None when its
    base64 is not (see :func:`data_payload_problem`)."""
    import base64
    import binascii
    from urllib.parse import unquote_to_bytes

    header, _, payload = without_fragment(url).partition(",")
    data = unquote_to_bytes(payload)
    if header.lower().endswith(";base64"):
        try:
            return base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            return None
    return data


def data_payload_problem(url: str) -> str | None:
    """Why the data of the ``data:`` URL *url* is not what its header says, or None: base64 that
    is not (RFC 2397 section 3 and RFC 4648 section 4: the alphabet and its '=' padding, after
    percent-decoding).  A reader shows a broken picture; the Nu checker refuses the page.  (What
    an SVG picture holds is the CSS gate's: ``css.data_problem``.)"""
    import base64
    import binascii
    from urllib.parse import unquote_to_bytes

    if "#" in url:
        # EPUBCheck takes a data: URL with a fragment for a resource of the book it cannot find
        # (RSC-007, 'Referenced resource "data://"'), and a reader reads the data only up to it:
        # fill='#f00' written in an SVG's data cuts the picture there.
        return ("is a data: URL with a '#' (EPUBCheck refuses a fragment on a data: URL, RSC-007, and a reader "
                "reads its data only up to the '#': write a '#' of the data as %23)")
    header, _, payload = url.partition(",")
    if header.lower().endswith(";base64"):
        try:
            base64.b64decode(unquote_to_bytes(payload), validate=True)
        except (binascii.Error, ValueError) as err:
            return f"is a data: URL whose base64 data is not base64 ({err}; RFC 4648 section 4)"
    return None


