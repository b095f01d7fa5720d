"""The language-tag gate: every language tag the program reads goes through here.

A tag reaches ``dc:language``, ``xml:lang`` and ``lang`` in books, feeds
and the catalog, where it must be a well-formed BCP 47 tag (RFC 5646
section 2.1; EPUBCheck and the feed validators check it).  Tags come from
``--lang``, the config's ``lang`` and the metadata of EPUB files found in the
output folder.  The check is ``langcodes`` (its parser follows the RFC's
grammar, its registry the IANA subtag registry): a tag must be
well-formed, its subtags registered, and it is returned in its canonical
spelling (``EN-gb`` -> ``en-GB``; RFC 5646 section 4.5).
"""

from __future__ import annotations

import functools
import re

# RFC 5646 section 2.1: subtags of ASCII letters and digits joined by "-".
# langcodes reads "_" as "-" (ko_KR), which xml:lang does not.
_ALPHABET = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*")
#: Longer than any tag a book needs; a tag longer than this is refused unread.
MAX_TAG = 64


class LanguageTagRefused(ValueError):
    """A language tag the gate refuses; the message says why, for the user."""


@functools.lru_cache(maxsize=1024)
def check_tag(text: str) -> str:
    """*text* as a canonical BCP 47 tag; :class:`LanguageTagRefused` if it is not one."""
    import langcodes

    if not isinstance(text, str) or len(text) > MAX_TAG or not _ALPHABET.fullmatch(text):
        raise LanguageTagRefused("a language tag is letters and digits joined by '-', such as 'ko', 'en' or 'ko-KR'")
    try:
        langcodes.tag_parser.parse_tag(text)
        valid = langcodes.tag_is_valid(text)
        canonical = langcodes.standardize_tag(text)
    except (langcodes.tag_parser.LanguageTagError, ValueError, KeyError) as err:
        raise LanguageTagRefused("it is not a well-formed BCP 47 language tag (such as 'ko', 'en' or 'ko-KR')") from err
    if not valid or not _ALPHABET.fullmatch(canonical):
        raise LanguageTagRefused("it is not a registered BCP 47 language tag (such as 'ko', 'en' or 'ko-KR')")
    return canonical


def tag_or_none(text: object) -> str | None:
    """The canonical tag, or None for anything that is not one (metadata of
    files we did not write: an invalid language is left out, not guessed)."""
    if not isinstance(text, str):
        return None
    try:
        return check_tag(text.strip())
    except LanguageTagRefused:
        return None
