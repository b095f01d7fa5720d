"""The language-tag gate: every language tag the program reads goes through here.

A tag reaches ``dc:language``, ``xml:lang`` and ``lang`` in books, feeds
and the catalog, where it must be a well-formed BCP 47 tag (RFC 5646
section 2.1; EPUBCheck and the feed validators check it).  Tags come from
``--lang``, the config's ``lang`` and the metadata of EPUB files found in the
output folder.  The check is ``langcodes`` (its parser follows the RFC's
grammar, its registry the IANA subtag registry): a tag must be
well-formed, its subtags registered, and it is returned in its canonical
spelling (``EN-gb`` -> ``en-GB``; RFC 5646 section 4.5: the registry's
Preferred-Values only, never CLDR's aliases, which name other languages).

:func:`tag_for` gives the tag to write for each kind of output: books get
the canonical tag whole; feeds and catalogs a tag the feed validators
accept that means the same (or, failing that, the nearest), or none.
"""

from __future__ import annotations

import functools
import re
from typing import Literal

# RFC 5646 section 2.1: subtags of ASCII letters and digits joined by "-".
# langcodes reads "_" as "-" (ko_KR), which xml:lang does not.
_ALPHABET = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*")
#: Longer than any tag a book needs; a tag longer than this is refused unread.
MAX_TAG = 64


class LanguageTagRefused(ValueError):
    """A language tag the gate refuses; the message says why, for the user."""


#: The tags the program writes of itself (the book languages :mod:`exporter.language` finds):
#: canonical, registered, ISO 639-1, so what :func:`check_tag` and :func:`tag_for` give for them
#: is the tag itself, known without loading langcodes' data and registry (60 ms a run, in a run
#: that writes no other tag); tests/test_langtags_own.py asks langcodes.
_OWN = frozenset({"en", "ko"})


@functools.lru_cache(maxsize=1024)
def check_tag(text: str) -> str:
    """*text* as a canonical BCP 47 tag; :class:`LanguageTagRefused` if it is not one."""
    if type(text) is str and text in _OWN:
        return text
    import langcodes

    if not isinstance(text, str) or len(text) > MAX_TAG or not _ALPHABET.fullmatch(text):
        raise LanguageTagRefused("a language tag is letters and digits joined by '-', such as 'ko', 'en' or 'ko-KR'")
    if not text.split("-", 1)[0].isalpha():
        # RFC 5646 section 2.1: a tag starts with a language subtag (letters), "x" or "i";
        # langcodes reads "001" as a region alone.
        raise LanguageTagRefused("it is not a well-formed BCP 47 language tag (such as 'ko', 'en' or 'ko-KR')")
    try:
        langcodes.tag_parser.parse_tag(text)
        valid = langcodes.tag_is_valid(text) and _registered_language(text)
        canonical = _canonical(text)
    except (langcodes.tag_parser.LanguageTagError, ValueError, KeyError) as err:
        raise LanguageTagRefused("it is not a well-formed BCP 47 language tag (such as 'ko', 'en' or 'ko-KR')") from err
    if not valid and (repeated := _repeated_subtag(text)):
        raise LanguageTagRefused(f"it is not a valid BCP 47 language tag: it repeats the {repeated} (RFC 5646 "
                                 "section 2.2.9)")
    if not valid or not _ALPHABET.fullmatch(canonical):
        raise LanguageTagRefused("it is not a registered BCP 47 language tag (such as 'ko', 'en' or 'ko-KR')")
    subtags = canonical.split("-")
    private = next((k for k, sub in enumerate(subtags) if sub.lower() == "x"), len(subtags))
    if canonical.lower() not in _subtags()[2] and (unknown := _unregistered(subtags[:private])):
        raise LanguageTagRefused(unknown)
    for k, sub in enumerate(subtags[1:private], start=1):
        if len(sub) == 1 and sub.lower() != "t":
            # RFC 5646 section 3.7: extensions have registries of their own; the Nu HTML checker
            # knows only -t- (RFC 6497) and refuses the page for any other ("Unknown extension").
            raise LanguageTagRefused(f"it carries the extension '-{sub}-', which HTML checkers and most readers do "
                                     f"not take: leave it out ({'-'.join(subtags[:k])!r})")
    if any(len(sub) == 1 for sub in subtags[private + 1:]):
        # RFC 5646 takes a private-use subtag of one character; the Nu HTML checker refuses the
        # page for it ("Private use subtag 'a' is too short").
        raise LanguageTagRefused("it has a private-use subtag after 'x-' of one character, which HTML checkers "
                                 "refuse: write two to eight ('x-ab')")
    # A grandfathered or redundant tag is whole as registered (zh-min: its "min" is no extlang).
    return canonical if canonical.lower() in _subtags()[2] else _without_extlang(canonical)


@functools.lru_cache(maxsize=1)
def _subtags() -> tuple[frozenset[str], dict[tuple[str, str], str], dict[str, tuple[str, str | None]]]:
    """From the IANA Language Subtag Registry: the language subtags; each subtag's
    Preferred-Value by (type, subtag lower-cased); each grandfathered or redundant tag
    (lower-cased) with its registered spelling and Preferred-Value."""
    from langcodes.registry_parser import parse_registry

    languages: set[str] = set()
    preferred: dict[tuple[str, str], str] = {}
    whole: dict[str, tuple[str, str | None]] = {}
    for rec in parse_registry():
        if rec.get("Type") == "language" and rec.get("Suppress-Script"):
            # RFC 5646 section 4.1: a tag should not carry its language's Suppress-Script
            # (the Nu checker: "Language tag should omit the default script for the language").
            preferred[("suppress", rec["Subtag"].lower())] = rec["Suppress-Script"].lower()
        kind = rec.get("Type")
        if kind in ("grandfathered", "redundant"):
            whole[rec["Tag"].lower()] = (rec["Tag"], rec.get("Preferred-Value"))
            continue
        sub = rec.get("Subtag", "")
        if kind == "language":
            languages.add(sub.lower())
        if rec.get("Preferred-Value") and kind in ("language", "script", "region", "variant"):
            preferred[(kind, sub.lower())] = rec["Preferred-Value"]
    return frozenset(languages), preferred, whole


def _unregistered(subtags: list[str]) -> str | None:
    """The first of *subtags* (a tag's, up to its private use) that the IANA Language Subtag
    Registry does not hold as what its place and shape make it (RFC 5646 section 2.2: script,
    region, variant), in words; or a script after a private-use language, which the W3C Nu
    checker cannot check (it fails looking up the language's Suppress-Script)."""
    registered = _registered()
    for k, sub in enumerate(subtags[1:], start=1):
        low = sub.lower()
        if len(sub) == 1:
            return None  # an extension: its subtags have registries of their own
        kind = ("extlang" if len(sub) == 3 and sub.isalpha() else "script" if len(sub) == 4 and sub.isalpha()
                else "region" if len(sub) == 2 or (len(sub) == 3 and sub.isdigit()) else "variant")
        if low not in registered[kind]:
            return (f"it is not a registered BCP 47 language tag: the IANA registry holds no {kind} subtag "
                    f"{sub!r} (such as 'ko', 'en' or 'ko-KR')")
        before = {s.lower() for s in subtags[:k]}
        prefixes = _variant_prefixes().get(low, ()) if kind == "variant" else ()
        if prefixes and not any(set(prefix.lower().split("-")) <= before for prefix in prefixes):
            # RFC 5646 section 3.1.8: a variant's Prefix fields say what it may follow; the Nu
            # HTML checker refuses the page otherwise ("Variant ... lacks recommended prefix").
            shown = ", ".join(repr(p) for p in prefixes[:3]) + (" ..." if len(prefixes) > 3 else "")
            return (f"the variant {sub!r} is registered for use after {shown} only (RFC 5646 section 3.1.8), "
                    f"and HTML checkers refuse it elsewhere: write such as {prefixes[0] + '-' + sub!r}")
        if kind == "script" and "qaa" <= subtags[0].lower() <= "qtz" and len(subtags[0]) == 3:
            return (f"HTML checkers cannot check a script after the private-use language {subtags[0]!r}: leave "
                    f"{sub!r} out ({'-'.join(subtags[:k] + subtags[k + 1:])!r})")
    return None


@functools.lru_cache(maxsize=1)
def _registered() -> dict[str, frozenset[str]]:
    """The registry's extlang, script, region and variant subtags (lower-cased), its ranges of
    private-use subtags (``QM..QZ``) spelt out."""
    from langcodes.registry_parser import parse_registry

    found: dict[str, set[str]] = {"extlang": set(), "script": set(), "region": set(), "variant": set()}
    for rec in parse_registry():
        if rec.get("Type") in found:
            first, _, last = rec["Subtag"].lower().partition("..")
            found[rec["Type"]].update(_spelt_out(first, last) if last else (first,))
    return {kind: frozenset(subs) for kind, subs in found.items()}


@functools.lru_cache(maxsize=1)
def _variant_prefixes() -> dict[str, tuple[str, ...]]:
    """Each variant subtag (lower-cased) with the tags its Prefix fields name."""
    from langcodes.registry_parser import parse_registry

    return {rec["Subtag"].lower(): tuple(rec["Prefix"])
            for rec in parse_registry() if rec.get("Type") == "variant" and rec.get("Prefix")}


def _spelt_out(first: str, last: str) -> list[str]:
    """Every subtag from *first* to *last* (``qm..qz``: letters counted as digits in base 26)."""
    def number(sub: str) -> int:
        return int("".join(chr(ord("0") + ord(c) - ord("a")) if c < "k" else chr(ord("a") + ord(c) - ord("k"))
                           for c in sub), 26)

    def spelt(n: int) -> str:
        out = ""
        for _ in first:
            n, digit = divmod(n, 26)
            out = chr(ord("a") + digit) + out
        return out

    return [spelt(n) for n in range(number(first), number(last) + 1)]


def suppressed_script(tag: str) -> str | None:
    """The script subtag of *tag* (a valid tag) that the registry suppresses for its language
    (``Latn`` in ``en-Latn``), or None: the Nu HTML checker refuses a page for it ("Language tag
    should omit the default script for the language"; RFC 5646 section 4.1)."""
    subtags = tag.split("-")
    if len(subtags) < 2 or len(subtags[1]) != 4 or not subtags[1].isalpha():
        return None
    return subtags[1] if _subtags()[1].get(("suppress", subtags[0].lower())) == subtags[1].lower() else None


def _registered_language(text: str) -> bool:
    """Whether *text* starts with a language subtag of the registry (or is private use, or a
    grandfathered or redundant tag): langcodes also takes CLDR's ``root``, which no BCP 47 tag is."""
    languages, _, whole = _subtags()
    primary = text.split("-", 1)[0].lower()
    return (text.lower() in whole or primary in ("x", "i") or primary in languages
            or (len(primary) == 3 and "qaa" <= primary <= "qtz")  # RFC 5646 section 2.2.1: private use
            or _two_letter(primary) is not None)


def _two_letter(primary: str) -> str | None:
    """The registry's code of the ISO 639-2 code *primary* that it does not hold (``tat``: the
    registry has ``tt``, RFC 5646 section 2.2.1 takes the shortest), or None: the same language
    under its one BCP 47 code, which langcodes knows."""
    import langcodes

    if len(primary) != 3 or not primary.isalpha() or primary in _subtags()[0]:
        return None
    code = langcodes.standardize_tag(primary)
    return code if len(code) == 2 and code in _subtags()[0] else None


def _canonical(text: str) -> str:
    """*text* in canonical form by RFC 5646 section 4.5 (the registry's Preferred-Values, and
    nothing else: ``iw`` -> ``he``, ``i-klingon`` -> ``tlh``, ``BU`` -> ``MM``), in the case of
    section 2.1.1 (``en-GB``, ``zh-Hant``).  Not CLDR's aliases, which langcodes applies and
    which name other languages (``tl``, Tagalog, became ``fil``, Filipino; ``sh`` ``sr-Latn``)."""
    _, preferred, whole = _subtags()
    spelled, value = whole.get(text.lower(), (None, None))
    if value:
        text = value
    elif spelled:
        return spelled  # grandfathered or redundant, no Preferred-Value: kept as registered
    subtags = text.split("-")
    primary = subtags[0].lower()
    out = [preferred.get(("language", primary), _two_letter(primary) or primary)]
    singleton = subtags[0].lower() in ("x", "i")
    for sub in subtags[1:]:
        low = sub.lower()
        if singleton or len(sub) == 1:  # an extension or private use: lower case to the end
            singleton = True
            out.append(low)
        elif len(sub) == 4 and sub.isalpha():
            if len(out) == 1 and preferred.get(("suppress", out[0])) == low:
                continue  # en-Latn is en (RFC 5646 section 4.1: the script the language is written in)
            out.append(preferred.get(("script", low), sub.title()))
        elif len(sub) == 2 or (len(sub) == 3 and sub.isdigit()):
            out.append(preferred.get(("region", low), sub.upper()))
        else:
            out.append(preferred.get(("variant", low), low))
    return "-".join(out)


def _without_extlang(tag: str) -> str:
    """*tag* with its extended language subtag in canonical form, or refused.

    langcodes leaves some extlangs (``sgn-sfb``, ``ar-arb``) and lets one
    follow a language that is not its prefix (``yue-yue``, ``nan-nan-KR``,
    which RFC 5646 section 2.2.2 makes invalid).  In canonical form an
    extlang is replaced by its Preferred-Value, the extlang itself (RFC 5646
    section 4.5): ``sgn-sfb`` -> ``sfb``.
    """
    subtags = tag.split("-")
    if len(subtags) < 2 or len(subtags[1]) != 3 or not subtags[1].isalpha() or subtags[0] in ("x", "i"):
        return tag
    _, prefix, _ = _registry()
    if prefix.get(subtags[1].lower()) != subtags[0].lower():
        raise LanguageTagRefused("it is not a valid BCP 47 language tag: its second subtag is an extended "
                                 "language that does not belong to the first (RFC 5646 section 2.2.2)")
    return "-".join(subtags[1:])


def tag_or_none(text: object) -> str | None:
    """The canonical tag, or None for anything that is not one (metadata of
    files we did not write: an invalid language is left out, not guessed)."""
    if not isinstance(text, str):
        return None
    try:
        return check_tag(text.strip())
    except LanguageTagRefused:
        return None


#: The kinds of output a tag is written to: ``book`` (EPUB ``dc:language``,
#: XHTML ``lang``/``xml:lang``, the front page) and ``feed`` (Atom and RSS
#: feeds, the OPDS catalog's Atom and JSON pages, JSON Feed).
Output = Literal["book", "feed"]

# The registry's first edition (RFC 4646 section 3.3, the registry of
# 2005-10-16) held the ISO 639-1 and ISO 639-2 codes; every three-letter
# language subtag added since comes from ISO 639-3 or 639-5.
_ISO639_2_EDITION = "2005-10-16"


@functools.lru_cache(maxsize=1)
def _registry() -> tuple[frozenset[str], dict[str, str], dict[str, str]]:
    """From the IANA Language Subtag Registry that langcodes ships: the ISO 639-1/639-2
    language subtags, each extlang's prefix, each language's macrolanguage."""
    from langcodes.registry_parser import parse_registry

    old: set[str] = set()
    prefix: dict[str, str] = {}
    macro: dict[str, str] = {}
    for rec in parse_registry():
        kind, sub = rec.get("Type"), rec.get("Subtag", "")
        if kind == "language" and ".." not in sub:
            if len(sub) == 2 or rec.get("Added") == _ISO639_2_EDITION:
                old.add(sub)
            if rec.get("Macrolanguage"):
                macro[sub] = rec["Macrolanguage"]
        elif kind == "extlang":
            prefix[sub] = rec["Prefix"][0]
    return frozenset(old), prefix, macro


def tag_for(text: str | None, output: Output) -> str | None:
    """The tag to write in *output* for the (checked, canonical) tag *text*; None: write none.

    Books: the tag whole.  EPUBCheck and the reading systems take any valid BCP 47
    tag, and a book's language must say exactly what the user gave (``yue``).

    Feeds and catalogs: the W3C Feed Validator (the reference for Atom and RSS
    feeds) checks ``xml:lang``, ``dc:language`` and RSS ``language`` by their
    primary subtag only, against its list of ISO 639-1 and ISO 639-2 codes (plus
    ``x``), and calls anything else "InvalidLanguage": a valid ISO 639-3 tag such
    as ``yue`` or ``cmn`` fails.  So, first choice that holds:

    1. a primary subtag from ISO 639-1/639-2, or a private-use tag (``x-...``,
       RFC 5646 section 2.2.7): the tag whole;
    2. a language that is also an extended language subtag (``yue``, ``cmn``,
       ``nan``, ``sfb``): its *extlang form* (RFC 5646 section 4.5: ``zh-yue``,
       ``zh-cmn-Hans``, ``sgn-sfb``), a valid tag that means exactly the same,
       whose primary subtag is the macrolanguage's ISO 639-1/639-2 code;
    3. a language inside a macrolanguage of ISO 639-1/639-2 (``ckb`` in ``ku``):
       the macrolanguage, with the script and region (RFC 5646 section 4.1.1
       allows the macrolanguage where the encompassed language is not
       understood), the nearest meaning the validator accepts;
    4. otherwise none: ``xml:lang`` is optional (RFC 4287 section 2), and no
       language is better than a wrong one.
    """
    if text is None:
        return None
    try:
        tag = check_tag(text)
    except LanguageTagRefused:
        return None
    if output == "book" or tag in _OWN:
        return tag
    subtags = tag.split("-")
    primary = subtags[0].lower()
    old, prefix, macro = _registry()
    if primary in old or primary == "x":
        return tag
    if primary in prefix and prefix[primary] in old and _is_valid(extended := f"{prefix[primary]}-{tag}"):
        # (Valid as this gate reads it: langcodes reads "ar-abh-001" as "ar-001-abh" and refuses
        # it, so the macrolanguage's tag is written instead, below.)
        return extended
    if macro.get(primary) in old:
        # Script (4 letters) and region (2 letters or 3 digits) apply to any language;
        # variants and extensions are registered for a prefix (RFC 5646 section 3.1.8).
        rest = subtags[1:]
        kept = rest[:1] if rest and len(rest[0]) == 4 else []
        rest = rest[len(kept):]
        if rest and (len(rest[0]) == 2 or len(rest[0]) == 3 and rest[0].isdigit()):
            kept.append(rest[0])
        return "-".join([macro[primary], *kept])
    return None


def _is_valid(text: str) -> bool:
    """Whether :func:`check_tag` takes *text*: what a feed says is read back by this gate."""
    try:
        check_tag(text)
    except LanguageTagRefused:
        return False
    return True


def _repeated_subtag(text: str) -> str | None:
    """The variant or extension singleton *text* holds twice (RFC 5646 sections 2.2.5 and 2.2.6:
    neither repeats), in words; None.  Private use (after ``x``) is free."""
    import re

    seen: set[str] = set()
    singletons: set[str] = set()
    for sub in text.lower().split("-")[1:]:
        if sub == "x":
            break
        if len(sub) == 1:
            if sub in singletons:
                return f"extension singleton {sub!r}"
            singletons.add(sub)
            seen = set()  # an extension's own subtags may repeat a variant's spelling
        elif not singletons and re.fullmatch(r"[0-9][a-z0-9]{3}|[a-z0-9]{5,8}", sub):
            if sub in seen:
                return f"variant {sub!r}"
            seen.add(sub)
    return None
