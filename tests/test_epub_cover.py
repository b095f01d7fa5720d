import io

import pytest
from PIL import Image, ImageDraw

from exporter.books import cover
from exporter.books.cover import CoverText, is_latin, make_cover

KO = CoverText(title="허깅페이스 논문", key="2024-W10", period="2024-03-04 – 2024-03-10",
               count="논문 12편 · 3일", latin_count="12 papers · 3 days")


def test_cover_is_a_deterministic_jpeg():
    a = make_cover(KO)
    other = CoverText(title=KO.title, key="2024-W11", period="x", count="논문 999편 · 7일", latin_count="999")
    assert make_cover(other) != a
    assert a == make_cover(KO)  # the reused canvas keeps nothing of the previous cover
    image = Image.open(io.BytesIO(a))
    assert image.format == "JPEG" and image.size == (1400, 2100) and image.mode == "RGB"
    assert Image.open(io.BytesIO(make_cover(KO, grayscale=True))).mode == "L"


def test_without_cjk_font_only_latin_text_is_drawn(monkeypatch):
    drawn = []
    original = ImageDraw.ImageDraw.text

    def spy(self, xy, text, *args, **kwargs):
        drawn.append(text)
        return original(self, xy, text, *args, **kwargs)

    monkeypatch.setattr(ImageDraw.ImageDraw, "text", spy)
    cover._canvas.cache_clear()
    make_cover(KO, use_system_fonts=False)
    assert drawn and all(is_latin(t) for t in drawn), drawn
    assert "12 papers · 3 days" in drawn and "2024-W10" in drawn
    assert "2024-03-04 - 2024-03-10" in drawn  # no en dash: the built-in font lacks it


def test_latin_check():
    assert is_latin("Daily Papers 2024-W10 – x · é")
    assert not is_latin("논문") and not is_latin("中文")


def test_cjk_font_used_when_present(monkeypatch):
    path = cover.find_cjk_font()
    if path is None:
        pytest.skip("no CJK font on this machine (fonts-nanum or fonts-noto-cjk)")
    drawn = []
    original = ImageDraw.ImageDraw.text
    monkeypatch.setattr(ImageDraw.ImageDraw, "text",
                        lambda self, xy, text, *a, **k: (drawn.append(text), original(self, xy, text, *a, **k)))
    cover._canvas.cache_clear()
    make_cover(KO)
    assert "허깅페이스 논문" in drawn and "논문 12편 · 3일" in drawn


@pytest.mark.parametrize("grayscale", [False, True])
def test_covers_encoded_by_stripes_are_the_bytes_of_a_whole_encoding(monkeypatch, grayscale):
    """Only the rows of the key, period and count are encoded per cover; the JPEG is the same."""
    from exporter.books import cover

    texts = [CoverText(title, key, period, count, count)
             for title in ("Daily Papers · Top 5 a day", "데일리 페이퍼", "")
             for key, period, count in (("2024-W10", "2024-03-04 – 2024-03-10", "57 papers · 7 days"),
                                        ("2024-W11", "2024-03-11 – 2024-03-17", "1 paper · 1 day"),
                                        ("", "2024-03-04", "논문 3편 · 1일"),
                                        ("2024-03-04 (Monday)", "", "W" * 40))]
    cover._STRIPES.clear()
    spliced = [make_cover(t, grayscale=grayscale) for t in texts]
    assert any(s is not None for s in cover._STRIPES.values())  # the fast way was taken
    monkeypatch.setattr(cover, "_encode_cover", lambda image, quality, *rest: cover._encode(image, quality))
    assert [make_cover(t, grayscale=grayscale) for t in texts] == spliced
