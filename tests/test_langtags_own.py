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
