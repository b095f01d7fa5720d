import datetime as dt

import pytest

from exporter.bundles import BundleBy, make_bundles, series_title, slugify
from exporter.model import Digest


def digest(day: str, title: str = "Daily Papers") -> Digest:
    return Digest(date=dt.date.fromisoformat(day), title=title, papers=())


DAYS = [digest(d) for d in ("2024-12-29", "2024-12-30", "2025-01-05", "2025-01-06", "2025-02-01")]


def test_iso_weeks_cross_the_year():
    bundles = make_bundles(list(reversed(DAYS)))
    assert [b.key for b in bundles] == ["2024-W52", "2025-W01", "2025-W02", "2025-W05"]
    w01 = bundles[1]
    assert (w01.start, w01.end) == (dt.date(2024, 12, 30), dt.date(2025, 1, 5))
    assert [d.date.isoformat() for d in w01.digests] == ["2024-12-30", "2025-01-05"]
    assert w01.position == 202501 and w01.file_name == "daily-papers-2025-W01.epub"


def test_day_month_all():
    assert [b.key for b in make_bundles(DAYS, "day")] == [d.date.isoformat() for d in DAYS]
    months = make_bundles(DAYS, BundleBy.MONTH)
    assert [(b.key, b.start.isoformat(), b.end.isoformat()) for b in months] == [
        ("2024-12", "2024-12-01", "2024-12-31"), ("2025-01", "2025-01-01", "2025-01-31"),
        ("2025-02", "2025-02-01", "2025-02-28")]
    (everything,) = make_bundles(DAYS, "all")
    assert everything.key == "all" and everything.days == 5
    assert (everything.start, everything.end) == (DAYS[0].date, DAYS[-1].date)


def test_from_to_filter_inclusive():
    bundles = make_bundles(DAYS, "day", date_from=dt.date(2024, 12, 30), date_to=dt.date(2025, 1, 6))
    assert [b.key for b in bundles] == ["2024-12-30", "2025-01-05", "2025-01-06"]
    assert make_bundles(DAYS, date_from=dt.date(2026, 1, 1)) == []


def test_title_override_and_series_title():
    assert make_bundles(DAYS, title="My Feed")[0].file_name == "my-feed-2024-W52.epub"
    mixed = [digest("2024-03-04", "A"), digest("2024-03-05", "B"), digest("2024-03-06", "B")]
    assert series_title(mixed) == "B" and series_title([]) == "Daily Papers"


@pytest.mark.parametrize("title, slug", [
    ("Daily Papers", "daily-papers"),
    ("../../etc/passwd", "etc-passwd"),
    (".hidden", "hidden"),
    ("a/b\\c:d", "a-b-c-d"),
    ("허깅페이스 논문", "허깅페이스-논문"),
    ("...", "papers"),
    ("<script>", "script"),
])
def test_slugify_never_escapes_the_folder(title, slug):
    assert slugify(title) == slug
    name = make_bundles([digest("2024-03-04")], title=title)[0].file_name
    assert "/" not in name and "\\" not in name and not name.startswith(".")
