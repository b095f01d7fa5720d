"""`send` without a mail server: which books, the ledger as untrusted input,
options and config, file names, dry runs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner

from exporter.bundles import make_bundles
from exporter.cli import main
from exporter.delivery.books import period_of
from exporter.delivery.ledger import LEDGER_NAME, Sent, load_ledger
from exporter.delivery.message import ascii_file_name, display_file_name
from exporter.delivery.send import skip_reason
from exporter.model import Digest
from test_delivery_send import KINDLE, add_days, build


@pytest.fixture
def out(tmp_path: Path) -> Path:
    logs, out = tmp_path / "logs", tmp_path / "out"
    add_days(logs, 0, 7)
    build(logs, out)
    return out


def dry(out: Path, *extra: str):
    return CliRunner().invoke(main, ["send", str(out), "--to", KINDLE, "--dry-run", *extra])


@pytest.mark.parametrize("by", ["week", "day", "month"])
def test_period_from_the_file_name_is_the_bundles_period(by):
    days = [dt.date(2020, 12, 28) + dt.timedelta(days=n) for n in range(0, 400, 9)]
    for bundle in make_bundles([Digest(d, "Papers 2023-05", ()) for d in days], by):
        assert period_of(Path(bundle.file_name).stem) == (by, bundle.key, bundle.start, bundle.end)


def test_all_and_foreign_books_are_never_finished():
    assert period_of("daily-papers-all")[2:] == (None, None)
    assert period_of("my-notes")[0] == "unknown"
    assert period_of("x-2024-W60")[2:] == (None, None)


def test_ascii_and_display_file_names():
    assert ascii_file_name("daily-papers-2024-W10.epub") == "daily-papers-2024-W10.epub"
    assert ascii_file_name("한국어-논문-2024-W10.epub") == "book-2024-W10.epub"
    assert ascii_file_name("논문.epub") == "book.epub"
    assert display_file_name('a/b: "c"?', "x.epub") == "a b c.epub"


def test_dry_run_lists_finished_books_and_writes_nothing(out):
    r = dry(out, "--today", "2024-03-18")
    assert r.exit_code == 0, r.output
    assert r.stdout.count("would send") == 2
    assert "(Build Digest 2024-W10 (2024-03-04 – 2024-03-10), " in r.stdout
    assert not (out / LEDGER_NAME).exists()
    r = dry(out, "--today", "2024-03-11")
    assert r.stdout.count("would send") == 1
    assert "1 not finished yet (build-digest-2024-W11.epub)" in r.stderr
    assert dry(out, "--today", "2024-03-11", "--unfinished").stdout.count("would send") == 2
    r = dry(out, "--today", "2024-03-11", "--book", "build-digest-2024-W11.epub")
    assert r.stdout.count("would send") == 1 and "W11" in r.stdout


def test_unknown_book_names_the_books(out):
    r = dry(out, "--book", "2023-W01")
    assert r.exit_code == 2
    assert "--book 2023-W01: no such book" in r.stderr and "build-digest-2024-W10.epub" in r.stderr


KEY = "sha256:" + "a" * 64


@pytest.mark.parametrize("content, problem", [
    ('{"program": "digest-export", "format": 1, "sent": {"%s": {"b.epub": {"sha256": 1}}}}' % KEY,
     "the record of b.epub under %s: Expected `str`, got `int` - at `$.sha256`" % KEY),
    ('{"program": "digest-export", "format": 1, "sent": {"%s": {"b.epub": {"sha256": "%s", "size": true, '
     '"sent_at": "2024-03-04T00:00:00Z", "complete": true}}}}' % (KEY, "b" * 64),
     "the record of b.epub under %s: Expected `int`, got `bool` - at `$.size`" % KEY),
    ('{"program": "digest-export", "format": 1, "sent": {"%s": {"b.epub": {"sha256": "%s", "size": 1, '
     '"sent_at": "2024-03-04T00:00:00", "complete": true}}}}' % (KEY, "b" * 64),
     "the record of b.epub under %s: Expected `str` of the form the program writes - at `$.sent_at`" % KEY),
    # Not in UTC, as send writes it (and beyond year 9999, or before year 1, there).
    ('{"program": "digest-export", "format": 1, "sent": {"%s": {"b.epub": {"sha256": "%s", "size": 1, '
     '"sent_at": "9999-12-31T23:59:59-14:00", "complete": true}}}}' % (KEY, "b" * 64),
     "the record of b.epub under " + KEY),
    ('{"program": "digest-export", "format": 1, "sent": {"%s": {"b.epub": {"sha256": "%s", "size": 1, '
     '"sent_at": "0001-01-01T00:00:00+14:00", "complete": true}}}}' % (KEY, "b" * 64),
     "the record of b.epub under " + KEY),
    # Not as send writes it: a space for the T, lower case, a leap second (which send never
    # writes, and Python's clock cannot hold).
    *[('{"program": "digest-export", "format": 1, "sent": {"%s": {"b.epub": {"sha256": "%s", "size": 1, '
       '"sent_at": "%s", "complete": true}}}}' % (KEY, "b" * 64, when), "the record of b.epub under " + KEY)
      for when in ("2026-12-06 12:00:00Z", "2026-12-06t12:00:00z", "2026-12-06T23:59:60Z",
                   "2024-03-04T06:30:00+00:00", "2024-03-04T23:30:00+09:00", "2024-03-04T06:30:00.5Z")],
    # An identifier as the text gate never leaves one, a book name send never mails.
    *[('{"program": "digest-export", "format": 1, "sent": {"%s": {"b.epub": {"sha256": "%s", "size": 1, '
       '"sent_at": "2024-03-04T00:00:00Z", "complete": true, "identifier": "%s"}}}}' % (KEY, "b" * 64, ident),
       "the record of b.epub under " + KEY) for ident in ("x\\u0007y", "urn:x\\u202ey", "urn:x\\ufdd0", "")],
    *[('{"program": "digest-export", "format": 1, "sent": {"%s": {"%s": {"sha256": "%s", "size": 1, '
       '"sent_at": "2024-03-04T00:00:00Z", "complete": true}}}}' % (KEY, name, "b" * 64),
       "is not one send mails") for name in (".", "..", "abc", "a" * 300 + ".epub")],
    ('{"program": "digest-export", "format": 1, "sent": {"%s": {"a.epub": {"sha256": "%s", "size": 1, '
     '"sent_at": "2024-03-04T00:00:00Z", "complete": true}, "b.epub": {"sha256": "%s", "size": -1, '
     '"sent_at": "2024-03-04T00:00:00Z", "complete": true}}}}' % (KEY, "b" * 64, "b" * 64),
     "the record of b.epub under %s: Expected `int` >= 0 - at `$.size`" % KEY),
    ('{"program": "digest-export", "format": 1, "sent": {"a": {}}}',
     "the address key a is not 'sha256:' and 64 lowercase hexadecimal digits"),
    ('{"program": "digest-export", "format": 1, "sent": []}', "Expected `object`, got `array` - at `$.sent`"),
    ("[1, 2]", "Expected `object`, got `array`"),
    ("{not json", "not JSON"),
    ('{"program": "digest-export", "format": 9, "sent": {}}', "Invalid enum value 9 - at `$.format`"),
])
def test_a_damaged_ledger_is_a_clear_error_not_a_resend_of_everything(out, content, problem):
    (out / LEDGER_NAME).write_text(content, encoding="utf-8")
    r = dry(out, "--today", "2024-03-18")
    assert r.exit_code == 1
    assert f"digest-export: error: {out / LEDGER_NAME}: not a valid send ledger (" in r.stderr
    assert problem in r.stderr and "delete it to send every finished book again" in r.stderr
    assert "would send" not in r.stdout and "Traceback" not in r.output


def test_ledger_round_trip(tmp_path):
    ledger = load_ledger(tmp_path)
    ledger.record("Reader@Kindle.com", "a.epub", Sent("ab" * 32, 3, "2024-03-11T06:30:00Z", True))
    again = load_ledger(tmp_path)
    assert again.get("reader@kindle.com", "a.epub") == Sent("ab" * 32, 3, "2024-03-11T06:30:00Z", True)
    assert "Reader" not in (tmp_path / LEDGER_NAME).read_text()


def test_skip_rules():
    final = Sent("s", 1, "2024-03-11T00:00:00Z", True)
    early = Sent("s", 1, "2024-03-08T00:00:00Z", False)
    assert skip_reason(None, finished=True, sha="s", resend=False) is None
    assert "--resend" in skip_reason(final, finished=True, sha="new", resend=False)  # rebuilt: not again
    assert skip_reason(final, finished=True, sha="s", resend=True) is None
    assert skip_reason(early, finished=True, sha="s", resend=False) is None  # now final: once more
    assert "unchanged" in skip_reason(early, finished=False, sha="s", resend=False)
    assert skip_reason(early, finished=False, sha="grown", resend=False) is None


def test_too_large_is_refused_with_the_limit(out):
    r = dry(out, "--today", "2024-03-18", "--max-size", "0.1", "--book", "2024-W10")
    assert r.exit_code == 1
    assert "is over the 0.1 MB limit (--max-size)" in r.stderr


@pytest.mark.parametrize("args, message", [
    (["--smtp-host", "smtp.example.org"], "no sender: give --from-address"),
    ([], "no SMTP server: give --smtp-host"),
    (["--smtp-host", "smtp.example.org", "--from-address", "a@b.org", "--smtp-user", "u"],
     "--smtp-user needs a password: set DIGEST_EXPORT_SMTP_PASSWORD"),
    (["--smtp-host", "smtp.example.org", "--smtp-user", "u@b.org", "--smtp-security", "none"],
     "--smtp-security none would send the password unencrypted"),
])
def test_usage_errors(out, args, message):
    r = CliRunner().invoke(main, ["send", str(out), "--to", KINDLE, *args],
                           env={"DIGEST_EXPORT_SMTP_PASSWORD": "pw" if "none" in args else None})
    assert r.exit_code == 2
    assert message in r.stderr


def test_no_password_option_and_help_has_an_example():
    r = CliRunner().invoke(main, ["send", "--password", "x"])
    assert r.exit_code == 2 and "No such option" in r.stderr
    r = CliRunner().invoke(main, ["send", "--help"])
    assert "Example:" in r.stdout and "DIGEST_EXPORT_SMTP_PASSWORD" in r.stdout
    assert "--send" in CliRunner().invoke(main, ["build", "--help"]).stdout


def test_config_send_table_is_type_checked(out, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('[send]\nto = ["a@kindle.com"]\nsmtp-port = "many"\n', encoding="utf-8")
    r = CliRunner().invoke(main, ["--config", str(config), "send", str(out), "--dry-run"])
    assert r.exit_code == 2 and "[send] key 'smtp-port' must be a whole number" in r.stderr
    config.write_text('[send]\npassword = "secret"\n', encoding="utf-8")
    r = CliRunner().invoke(main, ["--config", str(config), "send", str(out), "--dry-run"])
    assert r.exit_code == 2 and "unknown key 'password' in [send]" in r.stderr


def test_config_gives_the_folder_and_recipients(out, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(f'[build]\noutput = "{out}"\n[send]\nto = ["a@kindle.com", "b@kindle.com"]\n'
                      'today = "2024-03-11"\n', encoding="utf-8")
    r = CliRunner().invoke(main, ["--config", str(config), "send", "--dry-run"])
    assert r.exit_code == 0, r.output
    assert "to a@kindle.com" in r.stdout and "to b@kindle.com" in r.stdout



@pytest.mark.parametrize("odd", ["\n", "\x1b[31m", "\u202e", "\udcff"])
def test_every_book_name_in_the_report_is_quoted(out, odd):
    """The books not finished yet and the books a copy stands for are named as every other file
    name is (the names gate's shell quoting): a newline, an escape sequence, a bidi override or an
    undecodable byte in a name neither forges a line of output nor acts on the terminal."""
    from exporter.gates.names import shell_quote

    finished, unfinished = f"build{odd}digest-2024-W10.epub", f"build{odd}digest-2024-W11.epub"
    (out / "build-digest-2024-W10.epub").rename(out / finished)
    (out / "build-digest-2024-W11.epub").rename(out / unfinished)
    (out / "latest.epub").symlink_to(finished)
    r = dry(out, "--today", "2024-03-11")
    assert r.exit_code == 0, r.output
    assert f"1 not finished yet ({shell_quote(unfinished)})" in r.stderr, r.stderr
    assert f"latest.epub: not sent to {KINDLE}: a copy of {shell_quote(finished)}\n" in r.stderr, r.stderr
    copy = dry(out, "--today", "2024-03-11", "--book", "latest.epub")
    assert copy.exit_code == 0, copy.output
    assert f"latest.epub: a copy of {shell_quote(finished)}; sent and recorded as that book" in copy.stderr
    for output in (r.output, copy.output):
        assert finished not in output and unfinished not in output, output


def test_an_ascii_name_cut_for_a_header_line_says_where_it_was_cut():
    name = "daily-papers-about-machine-learning-and-computer-vision-rese-2024-W10.epub"
    short = ascii_file_name(name)
    assert "~" in short and short.endswith("-2024-W10.epub") and short.startswith("daily-papers-abo")
    assert len(short) <= 65 and short.isascii()
    assert ascii_file_name("daily-papers-2024-W10.kindle.epub") == "daily-papers-2024-W10.kindle.epub"
