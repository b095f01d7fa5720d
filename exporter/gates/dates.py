"""Dates written by people and by other programs: one rule for every date read.

Dates reach the program from a digest's heading, ``--from``/``--to``/
``--today`` (and ``DIGEST_EXPORT_TODAY``, the config's keys), the file name
of a book (``NAME-2024-W10.epub``) and the metadata of EPUB files in the
output folder (``dc:coverage``, ``dc:date``, ``dcterms:modified``).  Python
reads far more than a date there: ``strptime``'s ``%Y`` and ``re``'s ``\\d``
take any Unicode decimal digit (``２０２４``, ``٢٠٢٤``) and ``int()`` converts
them; ``date.fromisoformat`` (3.11) takes ISO 8601's basic and week forms
(``20240304``, ``2024-W10``: the Monday), so a week written in a book's
metadata was read as its first day.

Here, with Python's :mod:`datetime` for the calendar (ISO 8601, the
proleptic Gregorian calendar and its ISO weeks):

- every date is ASCII digits in the extended form (``YYYY-MM-DD``);
- a period (a book's) is a day, a month (``YYYY-MM``) or a year (``YYYY``) as
  W3C Date and Time Formats reduce ISO 8601 (what EPUB's ``dc:date`` takes),
  or an ISO week (``YYYY-Www``, Monday to Sunday), each read as the days it
  spans; two joined by ``/`` (ISO 8601 time intervals, ``dc:coverage``);
- a time stamp is W3C Date and Time Formats' (a day, or a day and a time
  with a zone, ``Z`` or ``+hh:mm``; UTC when the zone is left out).

Anything else is :class:`DateRefused` (a ``ValueError``), whose message says
why for the user.
"""

from __future__ import annotations

import datetime as dt
import re

#: ``YYYY-MM-DD``: ``[0-9]``, never ``\\d`` (any Unicode digit).
DAY = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_DAY = re.compile(DAY, re.ASCII)
_WEEK = re.compile(r"([0-9]{4})-W([0-9]{2})", re.ASCII)
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})", re.ASCII)
_YEAR = re.compile(r"[0-9]{4}", re.ASCII)
#: W3C Date and Time Formats: a day, then optionally a time (hours and minutes, seconds, a
#: fraction) with its zone (left out by some EPUB tools: then read as UTC).
_STAMP = re.compile(DAY + r"(?:T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?(?:Z|[+-][0-9]{2}:[0-9]{2})?)?",
                    re.ASCII)
#: A book's file stem ends in its period (``books.book_name``): ``-2024-W10``, ``-2024-03-04``,
#: ``-2024-03``, ``-all``.
NAMED_PERIODS = (
    ("week", re.compile(r"-(?P<y>[0-9]{4})-W(?P<w>[0-9]{2})$", re.ASCII)),
    ("day", re.compile(r"-(?P<y>[0-9]{4})-(?P<m>[0-9]{2})-(?P<d>[0-9]{2})$", re.ASCII)),
    ("month", re.compile(r"-(?P<y>[0-9]{4})-(?P<m>[0-9]{2})$", re.ASCII)),
    ("all", re.compile(r"(?:^|-)all$", re.ASCII)),
)


#: The days a digest may be of (its heading; the model's years), and the days a book's period
#: may span: those widened to the ISO weeks that hold them (1980-W01 starts on 1979-12-31,
#: 2099-W53 ends on 2100-01-03), so a weekly book of those years is finished like any other.  A
#: period beyond them (a book named ``-0001-W01``, dated 2999) is of no known days: never
#: finished, in the catalog and for ``send`` alike.
FIRST_DATE = dt.date(1980, 1, 1)
LAST_DATE = dt.date(2099, 12, 31)
FIRST_DAY = dt.date(1979, 12, 31)
LAST_DAY = dt.date(2100, 1, 3)


class DateRefused(ValueError):
    """The text is not a date of the form asked; the message says why."""


class NoSuchDate(DateRefused):
    """The text has the form, but the calendar has no such day, week or month (``2024-02-30``)."""


class OutsideDates(NoSuchDate):
    """A real period, but beyond :data:`FIRST_DAY`..:data:`LAST_DAY`: of no day the program
    places (never finished)."""


def day(text: str) -> dt.date:
    """The calendar date *text* (``YYYY-MM-DD``, ASCII digits)."""
    if not isinstance(text, str) or not _DAY.fullmatch(text):
        raise DateRefused("is not a date in YYYY-MM-DD form")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise NoSuchDate("is not a real date") from None


def week(year: int, number: int) -> tuple[dt.date, dt.date]:
    """The Monday and Sunday of ISO week *number* of *year* (ISO 8601 section 4.1.4)."""
    try:
        monday = dt.date.fromisocalendar(year, number, 1)
        return monday, monday + dt.timedelta(days=6)
    except (ValueError, OverflowError):
        raise NoSuchDate(f"{year}-W{number:02d} is not a week of the calendar") from None


def month(year: int, number: int) -> tuple[dt.date, dt.date]:
    """The first and last day of month *number* of *year*."""
    try:
        first = dt.date(year, number, 1)
        following = dt.date(year + number // 12, number % 12 + 1, 1) if year < 9999 or number < 12 else None
    except ValueError:
        raise NoSuchDate(f"{year}-{number:02d} is not a month of the calendar") from None
    return first, following - dt.timedelta(days=1) if following else dt.date.max


def days_of(text: str) -> tuple[dt.date, dt.date]:
    """The first and last day of *text*: a day (a time after it left out), an ISO week, a month
    or a year."""
    text = text.strip()
    if _YEAR.fullmatch(text):
        return month(int(text), 1)[0], month(int(text), 12)[1]
    if found := _WEEK.fullmatch(text):
        return week(int(found[1]), int(found[2]))
    if found := _MONTH.fullmatch(text):
        return month(int(found[1]), int(found[2]))
    if _STAMP.fullmatch(text):
        timestamp(text)  # its time a real one too: "2024-03-04T25:00:00Z" is no day's
        only = day(text[:10])
        return only, only
    raise DateRefused("is not a day, an ISO week, a month or a year (YYYY-MM-DD, YYYY-Www, YYYY-MM, YYYY)")


def period(text: str) -> tuple[dt.date, dt.date]:
    """The days of the period *text*: one of :func:`days_of`, or two joined by ``/`` (the first
    day of the first to the last day of the second)."""
    first, slash, last = text.partition("/")
    if slash and not last.strip():
        raise DateRefused("is an interval without its end")
    start, end = days_of(first)[0], days_of(last if slash else first)[1]
    if end < start:
        raise DateRefused("ends before it starts")
    return _in_range(start, end)


def _in_range(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    if not (FIRST_DAY <= start and end <= LAST_DAY):
        raise OutsideDates(f"is outside the supported dates ({FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()})")
    return start, end


def timestamp(text: str) -> dt.datetime:
    """The moment *text* (W3C Date and Time Formats), with a time zone: a day is its midnight in
    UTC, and so is a time written without a zone."""
    text = text.strip()
    if not _STAMP.fullmatch(text):
        raise DateRefused("is not a date and time written YYYY-MM-DDThh:mm:ssZ")
    if len(text) == 10:
        found = day(text)
        return dt.datetime(found.year, found.month, found.day, tzinfo=dt.timezone.utc)
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise NoSuchDate("is not a real date and time") from None
    return in_utc(value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc))


def in_utc(value: dt.datetime) -> dt.datetime:
    """*value* (with its zone) if UTC can show it: every moment the program keeps is compared and
    written in UTC, and ``9999-12-31T23:59:59-14:00`` is in year 10000 there (OverflowError
    where it is used); :class:`OutsideDates` if not."""
    try:
        value.astimezone(dt.timezone.utc)
    except OverflowError:
        raise OutsideDates("is a moment beyond the years UTC can show (1 to 9999)") from None
    return value


def named_period(stem: str) -> tuple[str, str, dt.date | None, dt.date | None]:
    """``(by, key, first day, last day)`` from a book's file stem (:data:`NAMED_PERIODS`);
    ``("unknown", stem, None, None)`` when it names none, the days None when it names no real
    period (``-2024-W60``), one beyond :data:`FIRST_DAY`..:data:`LAST_DAY`, or the whole
    archive."""
    for by, pattern in NAMED_PERIODS:
        found = pattern.search(stem)
        if not found:
            continue
        key = found.group(0).lstrip("-")
        try:
            if by == "week":
                return (by, key, *_in_range(*week(int(found["y"]), int(found["w"]))))
            if by == "day":
                return (by, key, *_in_range(*(2 * (day(key),))))
            if by == "month":
                return (by, key, *_in_range(*month(int(found["y"]), int(found["m"]))))
        except NoSuchDate:
            return by, key, None, None  # a period of no known days: never finished
        except DateRefused:
            break
        return by, key, None, None
    return "unknown", stem, None, None
