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
        "a11y": ("Text with a navigable table of contents (days, then papers); "
                 "thumbnails have text alternatives and are not needed to follow the text."),
    },
    "ko": {
        "contents": "목차", "guide": "길잡이", "cover": "표지", "start": "본문",
        "authors": "저자", "votes": "추천", "thumbnail": "썸네일",
        "video": "동영상 보기", "repeat": "이 책에 이미 실림:",
        "weekdays": ("월요일", "화요일", "수요일", "목요일", "금요일", "토요일", "일요일"),
        "papers": lambda n: f"논문 {n}편",
        "days": lambda n: f"{n}일",
        "description": "일간 다이제스트의 연구 논문 요약",
        "a11y": ("날짜와 논문 순서의 목차로 이동할 수 있는 텍스트입니다. "
                 "썸네일에는 대체 텍스트가 있으며 본문 이해에 필요하지 않습니다."),
    },
}


def detect_language(texts: Iterable[str], *, budget: int = 4000) -> str:
    """``ko`` when at least :data:`HANGUL_SHARE` of the letters in the first
    *budget* characters of *texts* are Hangul, else ``en``.

    Give summary text, not titles: titles are English in Korean digests too.
    A few thousand characters tell the two apart; reading more only costs.
    """
    parts: list[str] = []
    size = 0
    for text in texts:
        parts.append(text)
        size += len(text)
        if size >= budget:
            break
    sample = "\n".join(parts)[:budget]
    hangul = len(_HANGUL.findall(sample))
    latin = len(_LATIN.findall(sample))
    return "ko" if hangul and hangul >= HANGUL_SHARE * (hangul + latin) else "en"


def labels_for(lang: str) -> dict[str, Any]:
    """The labels for a language tag (``ko``, ``ko-KR`` -> Korean; else English)."""
    return LABELS["ko"] if lang.split("-")[0].lower() == "ko" else LABELS["en"]
