"""The language tags the gate knows without langcodes (exporter.gates.langtags._OWN) are what
langcodes and the IANA registry make of them: canonical, valid, and written whole in feeds."""

from __future__ import annotations

import pytest

from exporter import language
from exporter.gates import langtags


@pytest.mark.parametrize("tag", sorted(langtags._OWN))
def test_the_own_tags_are_what_langcodes_says(tag, monkeypatch):
    monkeypatch.setattr(langtags, "_OWN", frozenset())
    langtags.check_tag.cache_clear()
    try:
        assert langtags.check_tag(tag) == tag
        assert langtags.tag_for(tag, "book") == tag
        assert langtags.tag_for(tag, "feed") == tag
    finally:
        langtags.check_tag.cache_clear()


def test_the_languages_found_in_digests_are_own_tags():
    found = {language.language_of([text]) for text in ("An English summary of the paper.", "한국어 요약입니다.")}
    assert found <= langtags._OWN
    assert {language.detect_language([]), *language.LABELS} <= langtags._OWN


@pytest.mark.parametrize("tag, canonical", [
    ("tl", "tl"), ("sh", "sh"), ("mo", "ro"), ("iw", "he"), ("in", "id"), ("EN-gb", "en-GB"), ("en-BU", "en-MM"),
    ("zh-hant-tw", "zh-Hant-TW"), ("i-klingon", "tlh"), ("zh-guoyu", "cmn"), ("i-default", "i-default"),
    ("cel-gaulish", "cel-gaulish"), ("art-lojban", "jbo"), ("zh-yue", "yue"), ("en-t-ja", "en-t-ja"),
    ("ja-Latn-hepburn-heploc", "ja-Latn-hepburn-alalc97"), ("x-Foo", "x-foo"), ("qaa", "qaa"),
    ("tat", "tt"), ("ger", "de"), ("kor-KR", "ko-KR"), ("zh-min", "zh-min"),
    ("en-Latn", "en"), ("ru-Cyrl-RU", "ru-RU"), ("ko-Kore", "ko"), ("zh-Hant", "zh-Hant")])  # Suppress-Script  # ISO 639-2 codes the registry holds as 639-1
def test_a_tag_is_canonical_by_the_registry_never_another_language(tag, canonical):
    """RFC 5646 section 4.5: the registry's Preferred-Values, and no more (CLDR's aliases, which
    langcodes applies, made Tagalog Filipino and Serbo-Croatian Serbian)."""
    assert langtags.check_tag(tag) == canonical


@pytest.mark.parametrize("tag", ["root", "xx", "en-US-POSIX", "und-u-foo", "en-x-a", "x-t", "ko-x-ab-c",
                                 "en-999", "en-998", "ko-Qzzz", "en-1234x", "qaa-Latn", "qtz-Qabx-QM-x-a2"])
def test_a_tag_no_registry_holds_is_refused(tag):
    with pytest.raises(langtags.LanguageTagRefused):
        langtags.check_tag(tag)


def test_every_registered_language_without_a_preferred_value_is_kept():
    from langcodes.registry_parser import parse_registry

    subtags = [rec["Subtag"] for rec in parse_registry() if rec.get("Type") == "language"
               and ".." not in rec["Subtag"] and not rec.get("Preferred-Value")]
    assert len(subtags) > 7000
    changed = {}
    for sub in subtags:
        try:
            got = langtags.check_tag(sub)
        except langtags.LanguageTagRefused as err:
            got = str(err)
        if got != sub:
            changed[sub] = got
    assert changed == {}


def test_every_registered_region_and_script_is_taken():
    """The gate holds each subtag to the IANA registry (the Nu HTML checker's test), its ranges of
    private use spelt out (``QM..QZ``, ``Qaaa..Qabx``): none it holds is refused."""
    from langcodes.registry_parser import parse_registry

    subtags = [(rec["Type"], rec["Subtag"]) for rec in parse_registry() if rec.get("Type") in ("region", "script")]
    for kind, sub in subtags:
        for one in sub.split(".."):
            langtags.check_tag(f"en-{one}")  # raises for a refused one
    assert ("region", "QM..QZ") in subtags


def test_every_tag_written_for_a_feed_is_one_the_gate_takes():
    """Each extended language subtag (``abh``, ``yue``, ``cmn``...) with a region: the tag a feed
    or catalog is given for it is valid as the language gate reads it back (``abh-001`` once gave
    ``ar-abh-001``, which langcodes reads as ``ar-001-abh`` and refuses: now ``ar-001``)."""
    _, prefix, _ = langtags._registry()
    assert langtags.tag_for("ABH-001", "feed") == "ar-001"
    checked = 0
    for lang in sorted(prefix):
        for region in ("", "-001", "-419", "-EG", "-HK"):
            try:
                tag = langtags.check_tag(lang + region)
            except langtags.LanguageTagRefused:
                continue
            written = langtags.tag_for(tag, "feed")
            if written is not None:
                langtags.check_tag(written)  # raises if the feed's tag is one the gate refuses
                checked += 1
    assert checked > 500
