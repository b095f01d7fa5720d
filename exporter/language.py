"""Korean or English: the language of a digest, and the words we add to it.

Both backends ask here, so a book and a feed made from the same digests
agree on the language (EPUB ``dc:language`` and ``xml:lang``, Atom
``xml:lang``, RSS ``<language>``, JSON Feed ``language``) and use the same
labels (Authors / 저자, Votes / 추천 ...).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_LATIN = re.compile(r"[A-Za-z]")
# Counted by what removing them leaves (one C pass, no list of matches): a sample of every day
# and every title of a year is counted.
_HANGUL_RUNS = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]+")
_NOT_LATIN = re.compile(r"[^A-Za-z]+")

#: Korean summaries keep many English terms (model names, "LLM", "RoPE"),
#: so a sentence can be Korean with only a seventh of its letters Hangul;
#: English summaries have next to no Hangul.
HANGUL_SHARE = 0.1

LABELS: dict[str, dict[str, Any]] = {
    "en": {
        "contents": "Contents", "guide": "Guide", "cover": "Cover", "start": "Start",
        "authors": "Authors", "votes": "Votes", "thumbnail": "Thumbnail",
        "video": "Watch the video", "repeat": "Already in this book:",
        "weekdays": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        "papers": lambda n: f"{n} paper" if n == 1 else f"{n} papers",
        "days": lambda n: f"{n} day" if n == 1 else f"{n} days",
        "description": "Summaries of research papers from daily digests",
        "a11y": ("Text with a table of contents by day and paper, a heading for every day and "
                 "every paper, and changes of language in paper titles and summaries marked. "
                 "The cover's text alternative gives the text printed on it. No WCAG conformance "
                 "is claimed: the summaries come from unreviewed daily digests."),
        "a11y_thumbnails": ("Thumbnails have short text alternatives naming their paper and are "
                            "not needed to follow the text."),
    },
    "ko": {
        "contents": "목차", "guide": "길잡이", "cover": "표지", "start": "본문",
        "authors": "저자", "votes": "추천", "thumbnail": "썸네일",
        "video": "동영상 보기", "repeat": "이 책에 이미 실림:",
        "weekdays": ("월요일", "화요일", "수요일", "목요일", "금요일", "토요일", "일요일"),
        "papers": lambda n: f"논문 {n}편",
        "days": lambda n: f"{n}일",
        "description": "일간 다이제스트의 연구 논문 요약",
        "a11y": ("날짜와 논문 순서의 목차가 있고 날짜와 논문마다 제목이 있는 텍스트이며, "
                 "논문 제목과 요약의 언어가 바뀌는 곳이 표시되어 있습니다. "
                 "표지의 대체 텍스트는 표지에 적힌 글을 담고 있습니다. "
                 "요약은 검토되지 않은 일간 다이제스트에서 온 것이므로 WCAG 준수를 주장하지 않습니다."),
        "a11y_thumbnails": "썸네일에는 논문을 알려 주는 짧은 대체 텍스트가 있으며 본문 이해에 필요하지 않습니다.",
    },
}


def detect_language(texts: Iterable[str], *, budget: int = 4000) -> str:
    """``ko`` when at least :data:`HANGUL_SHARE` of the letters in the first
    *budget* characters of *texts* are Hangul, else ``en``.

    Give summary text, not titles: titles are English in Korean digests too.
    A few thousand characters tell the two apart; reading more only costs.
    """
    return language_of(texts, budget=budget) or "en"


def language_of(texts: Iterable[str], *, budget: int = 4000) -> str | None:
    """As :func:`detect_language`, but None when *texts* hold no letter at
    all (a title of digits and symbols has no language to mark)."""
    parts: list[str] = []
    size = 0
    for text in texts:
        parts.append(text)
        size += len(text)
        if size >= budget:
            break
    sample = parts[0][:budget] if len(parts) == 1 else "\n".join(parts)[:budget]
    # Most titles, and English digests, have no Hangul: no counting.
    if sample.isascii() or not _HANGUL.search(sample):
        return "en" if _LATIN.search(sample) else None
    hangul = len(sample) - len(_HANGUL_RUNS.sub("", sample))
    latin = len(_NOT_LATIN.sub("", sample))
    return "ko" if hangul >= HANGUL_SHARE * (hangul + latin) else "en"


def primary(tag: str) -> str:
    """The primary subtag of a language tag, lower case: ``ko-KR`` -> ``ko``."""
    return tag.split("-")[0].lower()


def labels_for(lang: str) -> dict[str, Any]:
    """The labels for a language tag (``ko``, ``ko-KR`` -> Korean; else English)."""
    return LABELS["ko"] if primary(lang) == "ko" else LABELS["en"]
