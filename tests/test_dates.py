"""One rule for every date read (exporter/gates/dates.py).

A digest's heading, ``--from``/``--to``/``--today``, ``DIGEST_EXPORT_TODAY``, the config's date
keys, a book's file name and a foreign book's metadata all read dates.  Each spelling below is
refused (or read as the days it means) in every one of those places alike: a digit that is not
ASCII (every decimal digit Unicode has, in every position), ISO 8601's basic and week forms where
a day is asked, and an ISO week in a book's metadata, which is the whole week, not its Monday.
"""

from __future__ import annotations

import datetime as dt
import sys
import unicodedata

import pytest

from exporter.gates import dates
from hostile_three import run_cli, with_package

#: Every decimal digit that is not ASCII (general category Nd): what int() and re's \d take.
OTHER_DIGITS = [chr(c) for c in range(sys.maxunicode + 1)
                if unicodedata.category(chr(c)) == "Nd" and not "0" <= chr(c) <= "9"]
VALID = "2024-03-04"


def _spellings() -> list[str]:
    """VALID with one digit, in turn each position, written as another script's same digit."""
    out = []
    for n, other in enumerate(OTHER_DIGITS):
        at = [i for i, c in enumerate(VALID) if c.isdigit()][n % 8]
        same = chr(ord(other) - unicodedata.decimal(other) + int(VALID[at]))
        out.append(VALID[:at] + same + VALID[at + 1:])
    return out


def test_no_digit_but_ascii_makes_a_date():
    assert len(OTHER_DIGITS) > 600
    for text in _spellings():
        with pytest.raises(dates.DateRefused, match="not a date in YYYY-MM-DD form"):
            dates.day(text)
        for reads in (dates.period, dates.timestamp, dates.days_of):
            with pytest.raises(dates.DateRefused):
                reads(text)
        assert dates.named_period("daily-papers-" + text)[0] == "unknown"


@pytest.mark.parametrize("text", ["20240304", "2024-W10", "2024-W10-1", "2024-064", "2024-3-4", " 2024-03-04",
                                  "2024-03-04T00:00", "+2024-03-04", "2024-03-04\n"])
def test_a_day_is_written_in_one_form(text):
    with pytest.raises(dates.DateRefused):
        dates.day(text)


@pytest.mark.parametrize("text, first, last", [
    ("2024-W10", "2024-03-04", "2024-03-10"), ("2020-W53", "2020-12-28", "2021-01-03"),
    ("2024-W10/2024-W11", "2024-03-04", "2024-03-17"), ("2024-03-04/2024-W10", "2024-03-04", "2024-03-10"),
    ("2024", "2024-01-01", "2024-12-31"), ("2024-02", "2024-02-01", "2024-02-29"), ("2024-12", "2024-12-01", "2024-12-31"),
    ("2024-03-04T10:00:00+09:00", "2024-03-04", "2024-03-04"), ("2024-03-04", "2024-03-04", "2024-03-04")])
def test_a_period_is_the_days_it_spans(text, first, last):
    assert dates.period(text) == (dt.date.fromisoformat(first), dt.date.fromisoformat(last))


@pytest.mark.parametrize("text, refused", [
    ("2024-W54", dates.NoSuchDate), ("2021-W53", dates.NoSuchDate), ("2024-W00", dates.NoSuchDate),
    ("2024-13", dates.NoSuchDate), ("2024-W11/2024-W10", dates.DateRefused), ("2024-W10/", dates.DateRefused),
    ("2024-W10-1", dates.DateRefused), ("2024W10", dates.DateRefused), ("20240304", dates.DateRefused),
    ("2024-064", dates.DateRefused), ("", dates.DateRefused),
    # a day whose time is no time: not that day (as "2024-03-04junk" is not)
    ("2024-03-04T25:00:00Z", dates.NoSuchDate), ("2024-03-04T10:61:00Z", dates.NoSuchDate),
    ("2024-03-04T10:00:00+99:00", dates.NoSuchDate), ("2024-03-04T10:00:60", dates.NoSuchDate)])
def test_a_period_that_is_no_period_is_refused(text, refused):
    with pytest.raises(refused):
        dates.period(text)


def _theirs(opf: bytes) -> bytes:
    """The package document of another book of the same week: another identifier, title and
    publisher, and its period written as an ISO week."""
    import re

    opf = re.sub(rb'(<dc:identifier id="id">)[^<]*', rb"\1urn:isbn:9780306406157", opf)
    return (opf.replace(b"2024-03-04/2024-03-10", b"2024-W10").replace(b"<dc:title>", b"<dc:title>Mine ")
            .replace(b">digest-export<", b">me<"))


def test_a_foreign_books_iso_week_is_its_whole_week_in_the_catalog(tmp_path):
    """A book whose dc:coverage is ``2024-W10`` is in progress until that Sunday has passed (it
    was read as its Monday, and listed as finished from the Tuesday on; ``feed --format opds``
    lists such a book by the catalog's rule, ``is_finished``)."""
    out = _week_book(tmp_path)
    ours = out / "daily-papers-2024-W10.epub"
    theirs = with_package(ours.read_bytes(), _theirs)
    ours.unlink()
    (out / "mine.epub").write_bytes(theirs)
    from exporter.site.catalog import is_finished
    from exporter.site.opds import read_book

    book = read_book(out / "mine.epub")
    assert book.period == (dt.date(2024, 3, 4), dt.date(2024, 3, 10))
    for today, finished in (("2024-03-06", False), ("2024-03-10", False), ("2024-03-11", True)):
        assert is_finished(book, dt.date.fromisoformat(today)) == finished, today


@pytest.mark.parametrize("where", ["--from", "--to", "--today", "env", "config", "heading"])
def test_a_date_with_digits_of_another_script_is_refused_everywhere(tmp_path, where):
    spelled = "２０２４-03-04"
    (tmp_path / "in").mkdir()
    heading = spelled if where == "heading" else VALID
    (tmp_path / "in" / "d.md").write_text(
        f"## Daily Papers ({heading})\n\n### [T](https://arxiv.org/abs/2403.00001)\n\nVote: 1\n\nAuthors: A\n\n- s\n",
        "utf-8")
    args = ["build", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--images", "none", "-q"]
    env = {}
    if where.startswith("--"):
        args += [where, spelled]
    elif where == "env":
        env["DIGEST_EXPORT_TODAY"] = spelled
    elif where == "config":
        (tmp_path / "digest-export.toml").write_text(f'[build]\nfrom = "{spelled}"\n', "utf-8")
        args = ["--config", str(tmp_path / "digest-export.toml"), *args]
    result = run_cli(args, tmp_path, env=env)
    assert result.exit_code in (1, 2), result.output
    assert "not a date in YYYY-MM-DD form" in result.output, result.output


@pytest.mark.parametrize("stem", ["a-0001-W01", "a-0001-01-01", "a-1979-12", "a-1979-12-30", "a-2100-01-04",
                                  "a-9999-W52"])
def test_a_name_of_a_period_beyond_the_supported_days_is_of_no_known_days(stem):
    """The catalog calls such a period never finished; ``send`` reads the same days from the name."""
    by, key, first, last = dates.named_period(stem)
    assert (by, first, last) != ("unknown", None, None) and (first, last) == (None, None), stem
    with pytest.raises(dates.NoSuchDate):
        dates.period(key)


def _week_book(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "d.md").write_text(
        "## Daily Papers (2024-03-04)\n\n### [T](https://arxiv.org/abs/2403.00001)\n\nVote: 1\n\nAuthors: A\n\n- s\n",
        "utf-8")
    out = tmp_path / "c"
    assert run_cli(["epub", str(tmp_path / "in"), "-o", str(out), "--images", "none", "-q"], tmp_path).exit_code == 0
    return out


def test_send_never_mails_a_book_named_for_a_period_beyond_the_supported_days(tmp_path):
    out = _week_book(tmp_path)
    (out / "daily-papers-2024-W10.epub").rename(out / "mine-0001-W01.epub")
    result = run_cli(["send", str(out), "--to", "a@example.org", "--from-address", "b@example.org", "--smtp-host",
                      "127.0.0.1", "--smtp-security", "none", "--dry-run", "--today", "2026-12-06"], tmp_path)
    assert "would send" not in result.output, result.output


@pytest.mark.parametrize("how", ["option", "env"])
def test_feed_decides_the_catalogs_finished_books_as_on_today(tmp_path, how):
    """``feed --format opds`` takes ``--today``/``DIGEST_EXPORT_TODAY`` as ``build`` does: one folder,
    one answer whichever command writes its catalog."""
    out = _week_book(tmp_path)
    for today, finished in (("2024-03-08", False), ("2024-03-11", True)):
        args = ["feed", str(tmp_path / "in"), "-o", str(out), "--format", "opds", "-q"]
        result = run_cli(args + (["--today", today] if how == "option" else []), tmp_path,
                         env={"DIGEST_EXPORT_TODAY": today} if how == "env" else None)
        assert result.exit_code == 0, result.output
        listed = ["daily-papers-2024-W10.epub" in (out / page).read_text("utf-8")
                  for page in ("catalog.opds", "catalog-current.opds")]
        assert listed == [finished, not finished], today


@pytest.mark.parametrize("where", ["--today", "env", "--from", "config"])
def test_a_long_bad_date_is_shown_cut(tmp_path, where):
    long = "2024-03-04" * 10_000
    args, env = ["epub", str(tmp_path), "-o", str(tmp_path / "o")], {}
    if where == "env":
        args = ["build", str(tmp_path), "-o", str(tmp_path / "o")]
        env["DIGEST_EXPORT_TODAY"] = long
    elif where == "config":
        (tmp_path / "c.toml").write_text(f'[epub]\nfrom = "{long}"\n', "utf-8")
        args = ["--config", str(tmp_path / "c.toml"), *args]
    else:
        args = (["build", str(tmp_path), "-o", str(tmp_path / "o")] if where == "--today" else args) + [where, long]
    result = run_cli(args, tmp_path, env=env)
    assert result.exit_code == 2 and "not a date in YYYY-MM-DD form" in result.output, result.output[:500]
    assert len(result.output) < 1_000, len(result.output)


@pytest.mark.parametrize("coverage", ["２０２４-W10", "junk", "2024-W10/"])
def test_an_unreadable_coverage_gives_way_to_the_books_date_not_to_its_name(tmp_path, coverage):
    """A book whose dc:coverage the gate refuses is of its dc:date's day (read next), not of the
    period its file name says: a copy of week 10 named for week 9 is not mailed as week 9."""
    out = _week_book(tmp_path)
    book = out / "daily-papers-2024-W10.epub"
    (out / "mine-2024-W09.epub").write_bytes(with_package(book.read_bytes(), lambda opf: opf.replace(
        b"<dc:coverage>2024-03-04/2024-03-10</dc:coverage>", f"<dc:coverage>{coverage}</dc:coverage>".encode())))
    book.unlink()
    result = run_cli(["send", str(out), "--to", "a@example.org", "--from-address", "b@example.org", "--smtp-host",
                      "127.0.0.1", "--smtp-security", "none", "--dry-run", "--today", "2024-03-08"], tmp_path)
    assert "would send" not in result.output and "but the book is of 2024-03-04" in result.output, result.output


def test_a_coverage_beyond_the_supported_days_is_never_finished_whatever_the_date():
    """A coverage of a real period beyond the supported days (2999) is the book's period: never
    finished.  One that is no period, not written as one or of a day, week or month the
    calendar does not have, gives way to ``dc:date``, one rule for both."""
    from exporter.site.opds import _period

    assert _period(["2999-06-01/2999-06-07"], ["2024-03-05"]) is None
    for coverage in ("junk", "\u0662\u0660\u0662\u0664", "2024-W54", "2024-W53", "2024-W00", "2024-02-30", "2024-13",
                     "0000"):
        assert _period([coverage], ["2024-03-05"]) == (dt.date(2024, 3, 5), dt.date(2024, 3, 5)), coverage


def test_a_book_of_everything_is_never_finished_in_the_catalog(tmp_path):
    """``--by all``: the catalog lists it in progress (with its bytes' hash in its link), as
    ``send`` and ``--finished-only`` have it: it grows with the archive."""
    out = tmp_path / "out"
    src = _week_book(tmp_path).parent / "in"
    result = run_cli(["build", str(src), "-o", str(out), "--images", "none", "--by", "all", "-q", "--state",
                      str(tmp_path / "s.json")], tmp_path)
    assert result.exit_code == 0, result.output
    assert "daily-papers-all.epub" not in (out / "catalog.opds").read_text("utf-8")
    assert "daily-papers-all.epub" in (out / "catalog-current.opds").read_text("utf-8")



@pytest.mark.parametrize("text", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00",
                                  "0001-01-01T00:30:00+00:31"])
def test_a_time_stamp_is_a_moment_utc_can_show(text):
    """Every moment kept is compared and written in UTC: one that is in year 10000 (or 0) there
    is refused where it is read, not an OverflowError where it is used."""
    with pytest.raises(dates.OutsideDates, match="beyond the years UTC can show"):
        dates.timestamp(text)
    assert dates.timestamp("9999-12-31T23:59:59+14:00").year == 9999
