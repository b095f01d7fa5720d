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
    cover._SPRITES.clear()  # a text drawn before is pasted, not drawn
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
    cover._SPRITES.clear()  # a text drawn before is pasted, not drawn
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
    assert any(isinstance(s, cover._Stripes) for s in cover._STRIPES.values())  # the fast way was taken
    monkeypatch.setattr(cover, "_encode_cover", lambda image, quality, *rest: cover._encode(image, quality))
    assert [make_cover(t, grayscale=grayscale) for t in texts] == spliced


def test_the_stripes_of_a_canvas_are_made_at_its_second_cover_unless_many_follow(monkeypatch):
    """A daily run draws one cover per title: it is encoded whole, without the stripes (which cost
    twice the cover); a second cover of the title makes them, and a build of many books makes them
    with the first (before its workers fork).  Every way gives the bytes of a whole encoding."""
    from exporter.books import cover

    made = []
    real = cover._Stripes
    monkeypatch.setattr(cover, "_Stripes", lambda *a: made.append(a) or real(*a))
    first, second = (CoverText("Daily Papers · Top 5 a day", f"2024-W{w}", f"week {w}", f"{w} papers", f"{w} papers")
                     for w in (10, 11))
    cover._STRIPES.clear()
    alone = make_cover(first)
    assert made == [] and list(cover._STRIPES.values()) == [cover._ONCE]
    again = make_cover(second)
    assert len(made) == 1 and isinstance(next(iter(cover._STRIPES.values())), real)
    cover._STRIPES.clear()
    assert make_cover(first, many=True) == alone and len(made) == 2
    assert make_cover(second) == again and len(made) == 2
    monkeypatch.setattr(cover, "_encode_cover", lambda image, quality, *rest: cover._encode(image, quality))
    assert [make_cover(first), make_cover(second)] == [alone, again]


@pytest.mark.parametrize("grayscale", [False, True])
def test_a_thumbnail_of_a_cover_decoded_from_its_text_rows_is_the_thumbnail_of_the_whole(monkeypatch, grayscale):
    """The catalog's thumbnail of a cover this process made is decoded from the cover's text rows
    and its canvas: the same bytes as decoding the whole cover, marked or not."""
    from exporter.books import cover
    from exporter.output import marked
    from exporter.site.opds import make_thumbnail

    texts = [CoverText(title, key, period, count, count)
             for title in ("Daily Papers · Top 5 a day", "데일리 페이퍼", "")
             for key, period, count in (("2024-W10", "2024-03-04 – 2024-03-10", "57 papers · 7 days"),
                                        ("2024-W11", "2024-03-11 – 2024-03-17", "1 paper · 1 day"),
                                        ("", "2024-03-04", "논문 3편 · 1일"),
                                        ("2024-W12", "2024-03-18 – 2024-03-24", "W" * 40),
                                        ("2024-03-04 (Monday)", "", "gjpqy|ÅÉ 9 papers"))]
    cover._STRIPES.clear()
    covers = [make_cover(t, grayscale=grayscale) for t in texts]
    fast = [make_thumbnail(data) for data in covers] + [make_thumbnail(marked(data, "image/jpeg")) for data in covers]
    assert any(base is not None and base is not False
               for s in cover._STRIPES.values() if isinstance(s, cover._Stripes)
               for base in s.decoded.values())  # the fast way was taken
    cover._MADE.clear()
    whole = [make_thumbnail(data) for data in covers] + [make_thumbnail(marked(data, "image/jpeg")) for data in covers]
    assert fast == whole
    # Only a cover this process made, at the scale asked for, is assembled.
    assert cover.decoded(covers[0], "L" if grayscale else "RGB", (350, 525)) is None


@pytest.mark.parametrize("grayscale", [False, True])
def test_a_cover_drawn_over_the_last_one_with_text_drawn_before_is_the_cover_drawn_afresh(grayscale):
    """A canvas is cleared only where the last cover drew, and a text drawn before is pasted:
    every cover is the cover drawn on a fresh canvas, whatever came before it."""
    import random

    from exporter.books import cover

    keys = ["2024-W10", "2024-W11", "", "2024-03-04 (Monday)", "2024"]
    periods = ["2024-03-04 – 2024-03-10", "", "2024-03-11 – 2024-03-17", "Ǆ̈́͡x"]
    counts = ["57 papers · 7 days", "논문 3편 · 1일", "W" * 40, " ", "gjpqy|ÅÉ 9 papers", "Ǆ̈́͡x"]
    titles = ["Daily Papers · Top 5 a day", "데일리 페이퍼", "", "A title long enough to wrap " * 5]
    rng = random.Random(7)
    texts = [CoverText(rng.choice(titles), rng.choice(keys), rng.choice(periods), c, c)
             for c in (rng.choice(counts) for _ in range(60))]
    cover._canvas.cache_clear()
    cover._SPRITES.clear()
    cover._LAST_BOXES.clear()
    reused = [make_cover(t, grayscale=grayscale) for t in texts]
    assert cover._SPRITES  # texts were pasted

    def afresh(t):
        cover._SPRITES.clear()
        cover._LAST_BOXES.clear()
        return make_cover(t, grayscale=grayscale)

    assert [afresh(t) for t in texts] == reused
