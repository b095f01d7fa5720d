"""One language rule for both backends (exporter/language.py)."""

from exporter.language import detect_language, labels_for
from exporter.model import Paper, SourceRef, SummaryItem
from exporter.books import epub
from exporter.feeds import entries as feedentries
from exporter.render import feed_entry_html

# A Korean summary that keeps many English terms, as real digests do:
# about a quarter of its letters are Hangul.
MIXED = "Large Language Models (LLMs)의 Rotary Position Embedding (RoPE) 성능을 개선한다"


def paper(text: str) -> Paper:
    return Paper(title="An English Title", url=None, arxiv_id="2403.00001", thumbnail=None, votes=3,
                 authors=("A. Author",), summary=(SummaryItem(text),), source=SourceRef("x.md", 1))


def test_mixed_korean_summary_is_korean_for_book_and_feed():
    assert detect_language([MIXED]) == "ko"
    p = paper(MIXED)
    assert epub.detect_language([p]) == feedentries.detect_language(p) == "ko"


def test_english_summary_is_english_for_book_and_feed():
    p = paper("We propose a faster transformer for long documents.")
    assert epub.detect_language([p]) == feedentries.detect_language(p) == "en"
    assert detect_language([]) == "en"


def test_feed_content_labels_follow_the_entry_language():
    p = paper(MIXED)
    assert "추천: 3" in feed_entry_html(p, "ko") and "저자: A. Author" in feed_entry_html(p, "ko")
    assert "Votes: 3" in feed_entry_html(p, "en")
    assert labels_for("ko-KR")["authors"] == "저자" and labels_for("en")["authors"] == "Authors"
