"""Hostile input, round five (b): classes an outside tester found open on main, each closed at its
gate and tried here with generated spellings: dates of foreign books beyond the range the catalog
accepts, thumbnails gzip-encoded as several members, and the true reason of an empty catalog."""

from __future__ import annotations

import datetime as dt
import gzip
import re
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from hostile_three import SETTINGS, Bodies, run_cli, tree_edit, with_package

DAY = "## Daily Papers (2024-03-04)\n\n### [T](https://arxiv.org/abs/2403.00001)\n\nVote: 1\n\nAuthors: A\n\n- s\n"
BOOK = "daily-papers-2024-W10.epub"
BASE = "https://ex.org/"
TODAY = dt.date.today()  # what feed, which has no --today, takes as today


@pytest.fixture(scope="module")
def built_book(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("book")
    (tmp / "in").mkdir()
    (tmp / "in" / "d.md").write_text(DAY, "utf-8")
    r = run_cli(["epub", str(tmp / "in" / "d.md"), "-o", str(tmp / "out"), "--images", "none"], tmp)
    assert r.exit_code == 0, r.output
    return tmp / "out" / BOOK  # a path: hypothesis prints a failing example's arguments


# -- a foreign book's date out of range is unknown, and an unknown or future book is never finished

def _dated(book: Path, date: str | None) -> bytes:
    """*book* as a foreign book: no ``dc:coverage``, and ``dc:date`` *date* (None: no date)."""
    dc = "{http://purl.org/dc/elements/1.1/}"

    def change(root):
        meta = root.find("{http://www.idpf.org/2007/opf}metadata")
        for el in list(meta):
            if el.tag in (dc + "coverage", dc + "date"):
                meta.remove(el)
            elif el.get("property") == "dcterms:modified":
                el.text = "2024-03-08T00:00:00Z"
        if date is not None:
            el = meta.makeelement(dc + "date", {})
            el.text = date
            meta.append(el)
    return with_package(book.read_bytes(), tree_edit(change))


def _listed_in(out: Path) -> dict[str, bool]:
    pages = {name: (out / name).read_text("utf-8") for name in ("catalog.opds", "catalog-current.opds",
                                                                 "crawlable.opds") if (out / name).exists()}
    return {name: "foreign.epub" in text for name, text in pages.items()}


#: Dates around the edges of the range (the ISO weeks of 1980..2099) and of today, in the spellings dc:date takes.
edge_days = st.sampled_from([dt.date(1979, 12, 30), dt.date(1979, 12, 31), dt.date(1980, 1, 1), dt.date(2099, 12, 31),
                             dt.date(2100, 1, 3), dt.date(2100, 1, 4),
                             dt.date(2100, 1, 1), dt.date(2999, 6, 1), dt.date(9999, 12, 31),
                             dt.date(1, 1, 1), TODAY - dt.timedelta(days=1), TODAY,
                             TODAY + dt.timedelta(days=1), dt.date(2027, 6, 1)])


@settings(max_examples=25, **SETTINGS)
@given(day=st.one_of(edge_days, st.dates()),
       spelling=st.sampled_from(["{d}", "{d}T12:00:00Z", "{d}T00:00:00+09:00", "{d}T23:59:59-05:00"]))
@example(day=dt.date(2999, 6, 1), spelling="{d}")
@example(day=dt.date(2027, 6, 1), spelling="{d}")
@example(day=dt.date(1979, 12, 31), spelling="{d}")
@example(day=dt.date(1979, 12, 30), spelling="{d}")
@example(day=dt.date(2100, 1, 3), spelling="{d}T12:00:00Z")
@example(day=dt.date(2100, 1, 4), spelling="{d}")
def test_a_foreign_book_is_finished_only_with_a_known_past_date(tmp_path_factory, built_book, day, spelling):
    tmp = tmp_path_factory.mktemp("dated")
    out = tmp / "out"
    out.mkdir()
    (tmp / "in").mkdir()
    (tmp / "in" / "d.md").write_text(DAY, "utf-8")
    text = spelling.format(d=f"{day.year:04d}-{day.month:02d}-{day.day:02d}")
    (out / "foreign.epub").write_bytes(_dated(built_book, text))
    r = run_cli(["feed", str(tmp / "in" / "d.md"), "-o", str(out), "--format", "opds", "--base-url", BASE],
                tmp, seconds=120)
    assert r.exit_code in (0, 1), r.output
    listed = _listed_in(out)
    known = dt.date(1979, 12, 31) <= day <= dt.date(2100, 1, 3)  # the ISO weeks of 1980..2099
    finished = known and day < TODAY
    assert listed["catalog.opds"] == finished, (text, listed)
    if "crawlable.opds" in listed:
        assert listed["crawlable.opds"] == finished, (text, listed)
    assert listed.get("catalog-current.opds", False) == (not finished), (text, listed)
    page = (out / ("catalog.opds" if finished else "catalog-current.opds")).read_text("utf-8")
    issued = re.findall(r"<dcterms:issued>([^<]*)<", page)
    if not known:  # an unknown date is written nowhere, as issued or as updated
        assert f"{day.year:04d}-{day.month:02d}-{day.day:02d}" not in page, text
    else:
        assert any(i.startswith(f"{day.year:04d}-") or i.startswith(f"{day.year - 1:04d}-") for i in issued), issued


def test_a_foreign_book_without_a_date_is_not_finished(tmp_path_factory, built_book):
    tmp = tmp_path_factory.mktemp("undated")
    out = tmp / "out"
    out.mkdir()
    (tmp / "d.md").write_text(DAY, "utf-8")
    (out / "foreign.epub").write_bytes(_dated(built_book, None))
    r = run_cli(["feed", str(tmp / "d.md"), "-o", str(out), "--format", "opds", "--base-url", BASE], tmp,
                seconds=120)
    assert r.exit_code in (0, 1), r.output
    listed = _listed_in(out)
    assert listed["catalog-current.opds"] and not listed["catalog.opds"], listed
    assert not listed.get("crawlable.opds"), listed


# -- a gzip body of several members (RFC 1952 section 2.2) decodes whole, under one cap ----------

@pytest.fixture(scope="module")
def bodies():
    server = Bodies()
    yield server
    server.close()


def _png() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.effect_noise((120, 90), 40).convert("RGB").save(buf, "PNG")
    return buf.getvalue()


PNG = _png()
CAP = 100_000


@settings(max_examples=40, **SETTINGS)
@given(cuts=st.lists(st.integers(1, len(PNG) - 1), max_size=6, unique=True).map(sorted),
       padding=st.sampled_from([b"", b"\0", b"\0" * 64]), outer=st.booleans(),
       extra=st.sampled_from([0, CAP // 2, CAP]))
def test_a_thumbnail_in_several_gzip_members_decodes_whole(bodies, cuts, padding, outer, extra):
    from exporter.images.fetch import Fetcher, FetchOptions
    from exporter.images.model import Failure

    payload = PNG + b"\0" * extra  # data after the PNG's end is what a cap must count
    pieces = [payload[a:b] for a, b in zip([0, *cuts], [*cuts, len(payload)])]
    body = b"".join(gzip.compress(p, mtime=0) for p in pieces) + padding
    header = "gzip"
    if outer:
        body, header = gzip.compress(body, mtime=0) + gzip.compress(b"", mtime=0), "gzip, gzip"
    path = f"/{abs(hash((tuple(cuts), padding, outer, extra)))}.png"
    bodies.bodies[path] = ({"Content-Encoding": header}, body)
    with Fetcher(FetchOptions(timeout=10, max_bytes=CAP, concurrency=1, allow_private_hosts=True)) as fetcher:
        try:
            got = fetcher.get(bodies.base + path)
        except Failure as failure:
            got = failure
    if len(payload) <= CAP:
        assert got == payload, (cuts, padding, outer, got)
    else:  # the cap holds across the members together, not per member
        assert isinstance(got, Failure) and "too large" in str(got), got


def test_a_second_member_that_is_not_gzip_is_refused(bodies):
    from exporter.images.fetch import Fetcher, FetchOptions
    from exporter.images.model import Failure

    bodies.bodies["/bad.png"] = ({"Content-Encoding": "gzip"}, gzip.compress(PNG[:50]) + b"not gzip at all")
    with Fetcher(FetchOptions(timeout=10, max_bytes=CAP, concurrency=1, allow_private_hosts=True)) as fetcher:
        with pytest.raises(Failure, match="undecodable"):
            fetcher.get(bodies.base + "/bad.png")


# -- build's empty catalog says why ------------------------------------------------------------

@pytest.mark.parametrize("by", ["all", "week"])
def test_build_says_why_its_catalog_is_empty(tmp_path, by):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "d.md").write_text(DAY, "utf-8")
    r = run_cli(["build", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--images", "none", "--by", by,
                 "--finished-only", "--today", "2024-03-05", "--state", str(tmp_path / "s.json")], tmp_path,
                seconds=120)
    assert r.exit_code == 0, r.output
    assert "write the books into this folder first" not in r.output
    if by == "all":
        assert "a book of everything (--by all) is never finished" in r.output, r.output
    else:
        assert "no week of the digests ended before 2024-03-05 (--finished-only)" in r.output, r.output


# -- one number gate: ASCII digits, bounded, for votes and every integer option ----------------

def _unicode_digits() -> list[str]:
    """Every character that Python's int() reads as a digit but that is not 0-9."""
    import sys
    import unicodedata

    return [chr(c) for c in range(sys.maxunicode + 1)
            if unicodedata.decimal(chr(c), None) is not None and not "0" <= chr(c) <= "9"]


UNICODE_DIGITS = _unicode_digits()

#: Spellings int() takes that a count must not: other digits, underscores, signs, whitespace.
def _spoiled(digits: str, how: str, other: str) -> str:
    if how == "unicode":
        return digits[:-1] + other
    if how == "underscore":
        return digits[0] + "_" + digits[1:] if len(digits) > 1 else "_" + digits
    if how == "plus":
        return "+" + digits
    if how == "minus":
        return "-" + digits
    return {"space": " ", "nbsp": "\u00a0", "tab": "\t"}[how] + digits


spoil = st.sampled_from(["unicode", "underscore", "plus", "minus", "space", "nbsp", "tab"])


@settings(max_examples=300, **SETTINGS)
@given(n=st.integers(0, 10**30), how=st.one_of(st.none(), spoil), other=st.sampled_from(UNICODE_DIGITS),
       grouped=st.booleans())
def test_the_number_gate_takes_ascii_digits_within_bounds_only(n, how, other, grouped):
    from exporter.gates.numbers import MAX_COUNT, NotACount, parse_count

    digits = f"{n:,}" if grouped else str(n)
    text = digits if how is None else _spoiled(digits, how, other)
    high = 10**9
    if how is None and n <= high:
        assert parse_count(text, high=high, grouped=True) == n
    else:
        with pytest.raises(NotACount):
            parse_count(text, high=high, grouped=True)
    assert not (how is None and n <= MAX_COUNT and not grouped) or parse_count(text) == n or n > MAX_COUNT


@pytest.mark.parametrize("text, low, reason", [("-0", 0, "is written with a sign; write a whole number from 0"),
                                               ("-00", 1, "is written with a sign; write a whole number from 1"),
                                               ("-3", 0, "must be at least 0")])
def test_a_signed_count_says_what_is_wrong(text, low, reason):
    """``--min-votes -0``: "'-0' must be at least 0" said nothing (the value is 0); the sign is
    what is wrong."""
    from exporter.gates.numbers import NotACount, parse_count

    with pytest.raises(NotACount, match=reason):
        parse_count(text, low=low)


@settings(max_examples=60, **SETTINGS)
@given(n=st.sampled_from([0, 1, 34, 10**9, 10**9 + 1, 2**53, 10**29 - 1]), how=st.one_of(st.none(), spoil),
       other=st.sampled_from(UNICODE_DIGITS))
def test_a_vote_is_a_bounded_ascii_count_or_a_warning_at_its_line(tmp_path_factory, n, how, other):
    import json

    tmp = tmp_path_factory.mktemp("votes")
    value = str(n) if how is None else _spoiled(str(n), how, other)
    digest = tmp / "d.md"
    digest.write_text(DAY.replace("Vote: 1", f"Vote: {value}"), "utf-8")
    r = run_cli(["feed", str(digest), "-o", str(tmp / "out"), "--format", "json"], tmp)
    feed = json.loads((tmp / "out" / "feed.json").read_text("utf-8"))
    votes = feed["items"][0].get("_digest_export", {}).get("votes")
    # Spaces after "Vote:" are the line's layout, not the number's (the reader strips them).
    if how in (None, "space", "nbsp", "tab") and n <= 10**9:
        assert votes == n, (value, votes)
        assert "vote count" not in r.output, r.output
    elif value.strip() == "-" or not value.strip():
        pass  # the spelling of an unknown count, not reported
    else:
        assert votes is None, (value, votes)
        assert f"d.md:5: warning: vote count" in r.output, (value, r.output)


OPTIONS = [("epub", "--top", 1, 100_000), ("epub", "--min-votes", 0, 10**9), ("feed", "--days", 1, 100_000),
           ("feed", "--limit", 1, 10**9), ("epub", "--jobs", 0, 1024)]


@settings(max_examples=80, **SETTINGS)
@given(option=st.sampled_from(OPTIONS), n=st.integers(0, 10**25), how=st.one_of(st.none(), spoil),
       other=st.sampled_from(UNICODE_DIGITS))
@example(option=OPTIONS[0], n=1, how="unicode", other="١")
@example(option=OPTIONS[0], n=5, how="unicode", other="５")
def test_every_integer_option_takes_the_gates_counts_only(tmp_path_factory, option, n, how, other):
    command, name, low, high = option
    tmp = tmp_path_factory.mktemp("opt")
    value = str(n) if how is None else _spoiled(str(n), how, other)
    digest = tmp / "d.md"
    digest.write_text(DAY, "utf-8")
    args = [command, str(digest), "-o", str(tmp / "out"), name, value]
    args += ["--images", "none"] if command == "epub" else ["--format", "json"]
    r = run_cli(args, tmp, seconds=120)
    if how is None and low <= n <= high:
        assert r.exit_code == 0, (args, r.output)
    else:
        assert r.exit_code == 2, (args, r.output)
        assert f"Invalid value for '{name}'" in r.output or f"Invalid value for '-j' / '{name}'" in r.output, r.output


# -- what libraries print: nothing under -q for a fine book ------------------------------------

EXIF = b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00\x00\x00"
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def _run_quiet(tmp: Path, *extra: str):
    """The real command in its own process: Python's warnings and logging print to the real
    stderr there (under pytest, both are captured by pytest's own machinery instead)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
           "XDG_CACHE_HOME": str(tmp / "cache"), "PYTHONWARNINGS": "default"}
    return subprocess.run([sys.executable, "-m", "exporter", "epub", str(tmp / "d.md"), "-o", str(tmp / "out"),
                           "-q", *extra], capture_output=True, text=True, env=env, timeout=120)


@settings(max_examples=8, **SETTINGS)
@given(cut=st.integers(len(EXIF) - 12, len(EXIF)), tail=st.sampled_from([b"", b"\x00\x00", b"\xff" * 7]))
@example(cut=len(EXIF), tail=b"")
def test_a_thumbnail_with_broken_exif_prints_nothing_under_quiet(tmp_path_factory, cut, tail):
    import zipfile

    from PIL import Image

    tmp = tmp_path_factory.mktemp("exif")
    Image.new("RGB", (80, 60), (200, 40, 40)).save(tmp / "exif.jpg", exif=EXIF[:cut] + tail)
    (tmp / "d.md").write_text(DAY.replace("Vote: 1", "![](exif.jpg)\n\nVote: 1"), "utf-8")
    r = _run_quiet(tmp)
    assert r.returncode == 0, r.stderr
    assert r.stderr == "", r.stderr
    names = zipfile.ZipFile(tmp / "out" / BOOK).namelist()
    assert [n for n in names if "/images/" in n and "cover" not in n], names  # the picture is kept


def _need_dejavu() -> None:
    import os

    if not DEJAVU.exists():
        if os.environ.get("CI"):
            pytest.fail("CI=true but fonts-dejavu-core is missing (bash .ci/install-devices.sh)", pytrace=False)
        pytest.skip("needs Debian's fonts-dejavu-core (bash .ci/install-devices.sh)")


def test_a_font_whose_tables_fonttools_drops_prints_nothing_under_quiet(tmp_path):
    from fontTools.ttLib import TTFont

    _need_dejavu()
    assert "FFTM" in TTFont(DEJAVU, lazy=True)  # the table fontTools cannot cut and says so
    (tmp_path / "d.md").write_text(DAY, "utf-8")
    r = _run_quiet(tmp_path, "--font", str(DEJAVU))
    assert r.returncode == 0, r.stderr
    assert r.stderr == "", r.stderr


def test_what_fonttools_says_that_matters_names_the_font(tmp_path):
    import logging

    from exporter.books import fonts

    _need_dejavu()
    font = fonts.load_font(DEJAVU)
    real = fonts._subset

    def noisy(f, chars):
        logging.getLogger("fontTools.subset").warning("FFTM NOT subset; don't know how to subset; dropped")
        logging.getLogger("fontTools.ttLib").warning("glyf table is damaged")
        return real(f, chars)

    fonts._subset = noisy
    try:
        data, notes = fonts.subset_with_notes(font, {"a"})
    finally:
        fonts._subset = real
    assert data[:4] in (b"\x00\x01\x00\x00", b"OTTO", b"true")
    assert notes == [f"{DEJAVU}: fontTools: glyf table is damaged"]


# -- send: a name's period that is not the book's own is not the book ---------------------------

SEND_DAYS = ("2024-03-04", "2024-03-11")  # weeks 10 and 11
KINDLE = "reader@kindle.com"
REAL = {"W10": "daily-papers-2024-W10.epub", "W11": "daily-papers-2024-W11.epub"}
#: Names of other periods (and one with no period: a plain copy) to save a real book under.
OTHER_NAMES = ["daily-papers-2024-W01.epub", "daily-papers-2024-W12.epub", "daily-papers-2024-01.epub",
               "daily-papers-2024-02-03.epub", "daily-papers-2023-W10.epub", "mine-2024-W09.epub"]


@pytest.fixture(scope="module")
def two_weeks(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("weeks")
    (tmp / "in").mkdir()
    for i, day in enumerate(SEND_DAYS):
        (tmp / "in" / f"{day}.md").write_text(
            f"## Daily Papers ({day})\n\n### [Paper {i}](https://arxiv.org/abs/2403.0000{i})\n\nVote: {i + 1}\n\n"
            f"Authors: A B\n\n- summary {i}\n", "utf-8")
    r = run_cli(["epub", str(tmp / "in"), "-o", str(tmp / "out"), "--images", "none", "-q"], tmp, seconds=120)
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (tmp / "out").glob("*.epub")) == sorted(REAL.values())
    return tmp / "out"


@settings(max_examples=12, **SETTINGS)
@given(copies=st.dictionaries(st.sampled_from(OTHER_NAMES), st.sampled_from(sorted(REAL)), min_size=1, max_size=3),
       dropped=st.sets(st.sampled_from(sorted(REAL)), max_size=1), book=st.sampled_from([None, "W01", "W10"]))
@example(copies={"daily-papers-2024-W01.epub": "W10"}, dropped=set(), book=None)
def test_a_copy_under_another_periods_name_is_not_the_book(tmp_path_factory, two_weeks, copies, dropped, book):
    import email
    import email.policy
    import json
    import shutil

    from delivery_helpers import smtp_server

    tmp = tmp_path_factory.mktemp("send")
    out = tmp / "out"
    shutil.copytree(two_weeks, out)
    for name, week in copies.items():
        shutil.copyfile(two_weeks / REAL[week], out / name)
    for week in dropped:
        (out / REAL[week]).unlink()
    extra = ["--book", f"daily-papers-2024-{book}.epub"] if book and (out / f"daily-papers-2024-{book}.epub").exists() else []
    with smtp_server(tmp) as server:
        r = run_cli(["send", str(out), "--to", KINDLE, *server.args(), "--today", "2024-03-25", *extra], tmp,
                    env=server.env())
        mailed = [part.get_filename() for _, msg in server.mailbox.parsed() for part in msg.iter_attachments()]
    assert r.exit_code in (0, 1), r.output
    present = {w: n for w, n in REAL.items() if w not in dropped}
    wanted = set(present.values())
    if extra and extra[1] in REAL.values():
        wanted = {extra[1]}
    elif extra:  # a misnamed file named with --book: nothing of its bytes goes out under its name
        wanted = set()
    # Each real book goes out once, under its own name; never a name of another period.
    assert sorted(mailed) == sorted(wanted), (copies, dropped, extra, mailed, r.output)
    ledger = out / ".digest-export-sent.json"
    recorded = set(next(iter(json.loads(ledger.read_text("utf-8"))["sent"].values()))) if ledger.exists() else set()
    assert recorded == wanted, (recorded, r.output)
    for name, week in copies.items():
        if name.startswith("mine-") or name.startswith("daily-papers-2023"):
            pass  # another series or year: still a week's name, so also refused below
        assert f"{name}: warning: not sent: its name says" in r.output, (name, r.output)
        assert name not in recorded
