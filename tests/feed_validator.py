"""The W3C Feed Validator for the tests: the real one when DIGEST_EXPORT_FEEDVALIDATOR names the
``src`` folder of a checkout of w3c/feedvalidator (it cannot be shipped or fetched in CI), and
the rules it was seen to hold our files to, replayed, when it does not."""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

ENV = "DIGEST_EXPORT_FEEDVALIDATOR"


def available() -> bool:
    return bool(os.environ.get(ENV))


def _module():
    if os.environ[ENV] not in sys.path:
        sys.path.insert(0, os.environ[ENV])
    import feedvalidator

    return feedvalidator


def errors(root: Path, base: str, paths: list[Path]) -> dict[str, list[str]]:
    """The validator's errors (names and messages) for each file that has one, each file
    validated as served at *base* + its path under *root*."""
    feedvalidator = _module()
    from feedvalidator import compatibility
    from feedvalidator.formatter.text_plain import Formatter

    found = {}
    for path in paths:
        url = base + path.relative_to(root).as_posix()
        with open(path, "rb") as f:
            try:
                events = feedvalidator.validateStream(f, firstOccurrenceOnly=1, base=url)["loggedEvents"]
            except feedvalidator.logging.ValidationFailure as failure:
                events = [failure.event]
        events = [e for e in compatibility.AA(events) if isinstance(e, feedvalidator.logging.Error)]
        if events:
            found[path.relative_to(root).as_posix()] = [f"{type(e).__name__}: {line}"
                                                        for e, line in zip(events, Formatter(events))]
    return found


@functools.lru_cache(maxsize=1)
def _iso639() -> frozenset[str]:
    if available():
        _module()
        from feedvalidator import iso639codes

        return frozenset(iso639codes.isoLang)
    # Replayed: the validator's list is ISO 639-1 and ISO 639-2 (and "x"); the IANA registry
    # (shipped with langcodes) held exactly those codes in its first edition, of 2005-10-16.
    from langcodes.registry_parser import parse_registry

    return frozenset({"x"} | {r["Subtag"] for r in parse_registry() if r.get("Type") == "language"
                              and ".." not in r["Subtag"] and r.get("Added") == "2005-10-16"})


def takes_language(tag: str) -> bool:
    """Whether the validator takes *tag* in ``xml:lang``, ``dc:language`` or RSS ``language``:
    it looks up the text before the first "-", lower-cased, in its ISO 639 list
    (feedvalidator/validators.py, ``iso639_validate``)."""
    return tag.split("-", 1)[0].lower() in _iso639()
