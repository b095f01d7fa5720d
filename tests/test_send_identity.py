"""What ``send`` takes for one book, and the headers of every message it writes; through the
whole CLI with a real SMTP server on 127.0.0.1 (aiosmtpd).

- every device profile's file of a week, ``latest.epub`` (which holds the *first* profile's
  bytes, while ``send`` mails the kindle file), hard links, symbolic links and byte copies of
  any of them are ONE book: each week is mailed once, whatever is named with ``--book`` and in
  whatever order, and the ledger records the week's file, never ``latest.epub``;
- every message parses without a defect under ``email.policy.default`` (one file name
  parameter: RFC 2231 section 3 makes ``filename`` and ``filename*0*`` one parameter), for
  titles and file names with non-ASCII text, quotes, and great length.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from delivery_helpers import smtp_server
from hostile_three import run_cli

from exporter.delivery.message import attachment_name, book_message

SETTINGS = dict(deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
KINDLE = "reader@kindle.com"
DAYS = ("2024-03-04", "2024-03-11")  # weeks 10 and 11


def _inputs(folder: Path) -> None:
    folder.mkdir(exist_ok=True)
    for i, day in enumerate(DAYS):
        (folder / f"{day}.md").write_text(
            f"## Daily Papers ({day})\n\n### [Paper {i}](https://arxiv.org/abs/2403.0000{i})\n\nVote: {i + 1}\n\n"
            f"Authors: A B\n\n- summary {i}\n", "utf-8")


def _build(tmp: Path, devices: list[str], *extra: str) -> Path:
    src, out = tmp / "in", tmp / "out"
    _inputs(src)
    args = ["build", str(src), "-o", str(out), "--images", "none", "-q", "--format", "atom", "--finished-only",
            "--today", "2024-03-25", "--state", str(tmp / "state.json"), *extra]
    for device in devices:
        args += ["--device", device]
    r = run_cli(args, tmp, seconds=120)
    assert r.exit_code == 0, r.output
    return out


def _send(out: Path, server, *extra: str):
    return run_cli(["send", str(out), "--to", KINDLE, *server.args(), "--today", "2024-03-25", *extra],
                   out.parent, env=server.env())


def _weeks_mailed(server) -> list[str]:
    """The week of each message received, from its attachment's file name."""
    out = []
    for _, msg in server.mailbox.parsed():
        (part,) = list(msg.iter_attachments())
        out.append(re.search(r"2024-(W\d\d)", part.get_filename()).group(1))
    return out


def _ledger_names(out: Path) -> set[str]:
    doc = json.loads((out / ".digest-export-sent.json").read_text("utf-8"))
    (books,) = doc["sent"].values()
    return set(books)


@pytest.mark.parametrize("devices", [["generic", "kindle"], ["kindle", "generic"], ["kobo", "kindle", "generic"]])
def test_profiles_latest_and_copies_are_one_book_each_week_mailed_once(tmp_path, devices):
    built = _build(tmp_path, devices)
    latest = built / "latest.epub"
    first = "daily-papers-2024-W11" + {"generic": ".epub", "kindle": ".kindle.epub", "kobo": ".kepub.epub"}[devices[0]]
    assert latest.read_bytes() == (built / first).read_bytes()  # the first profile's file, not the one mailed
    mailed = {w: f"daily-papers-2024-{w}.kindle.epub" for w in ("W10", "W11")}
    every_file = sorted(p.name for p in built.glob("daily-papers-2024-W1*.epub"))
    assert len(every_file) == 2 * len(devices)
    orders = {
        "plain run first": [()],
        "latest first": [("--book", "latest.epub"), ()],
        "each file named": [("--book", name) for name in every_file] + [("--book", "latest.epub"), ()],
    }
    for label, runs in orders.items():
        out = tmp_path / label
        shutil.copytree(built, out, symlinks=True)
        # More copies of one week: a hard link and a symbolic link to a non-kindle file.
        other = next(n for n in every_file if "W10" in n and ".kindle." not in n)
        os.link(out / other, out / "hard.epub")
        os.symlink(other, out / "link.epub")
        with smtp_server(tmp_path) as server:
            for extra in runs:
                r = _send(out, server, *extra)
                assert r.exit_code == 0, (label, extra, r.output)
                assert "not finished yet" not in r.output, (label, extra, r.output)
            for _ in range(2):  # and again: nothing more
                r = _send(out, server)
                assert r.exit_code == 0 and "0 sent" in r.output, (label, r.output)
            assert sorted(_weeks_mailed(server)) == ["W10", "W11"], (label, r.output)
            # The ledger records each week under its mailed file: never latest.epub or another copy.
            assert _ledger_names(out) == set(mailed.values()), label
    # The first plain run, in a fresh folder, names latest.epub as a copy of the W11 book.
    out = tmp_path / "fresh"
    shutil.copytree(built, out, symlinks=True)
    with smtp_server(tmp_path) as server:
        r = _send(out, server)
    assert r.exit_code == 0 and sorted(_weeks_mailed(server)) == ["W10", "W11"], r.output
    assert f"latest.epub: not sent to {KINDLE}: a copy of {mailed['W11']}" in r.output, r.output
    assert "not finished yet" not in r.output, r.output


# -- headers: one file name parameter, no defect, for any title and file name ----------------------

def _assert_clean(raw: bytes, file_name: str) -> None:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg.defects == [], msg.defects
    for part in msg.walk():
        assert part.defects == [], (part.get_content_type(), part.defects)
    (part,) = list(msg.iter_attachments())
    disposition = part["Content-Disposition"]
    assert disposition.defects == () if hasattr(disposition, "defects") else True
    assert part.get_filename() == file_name
    # A client that saves under Content-Type's name gets the same name where it can carry it.
    if file_name.isascii() and len(file_name) <= 56:
        assert part.get_param("name") == file_name
    assert raw.isascii() and max(len(line) for line in raw.split(b"\r\n")) <= 78
    head = raw.split(b"\r\n\r\n")[0].decode()
    assert "\nSubject:" not in head[head.index("Subject:") + 1:]  # one Subject, never a second header


TITLES = ['한국어 논문 "인용" 2024-W10', 'A "quoted" title; name="x.epub"', "x" * 480 + " é",
          "O'Brien\\ (c) : * ? < > | / 'quoted' " + "논문" * 200, "tab\tand\nnew line\r\nBcc: x@y.org"]
NAMES = ["daily-papers-2024-W10.kindle.epub", "한국어-논문-2024-W10.epub", 'a "b" c-2024-W10.epub',
         "x" * 220 + "-2024-W10.kepub.epub", "é" * 120 + "-2024-W10.epub", "not-utf8-\udcff-2024-W10.epub"]


@settings(max_examples=150, **SETTINGS)
@given(title=st.text(max_size=600), name=st.text(max_size=250).map(lambda s: s + "-2024-W10.epub"))
@example(title=TITLES[0], name=NAMES[1])
def test_every_message_parses_without_a_defect(title, name):
    raw = book_message(data=b"PK\x03\x04 book", name=name, title=title or "t", sender="me@example.org",
                       recipient=KINDLE, body="x\n")
    _assert_clean(raw, attachment_name(name))


@pytest.mark.parametrize("title", TITLES)
def test_sent_messages_parse_without_a_defect(tmp_path, title):
    out = _build(tmp_path, ["generic", "kindle"], "--title", title)
    with smtp_server(tmp_path) as server:
        r = _send(out, server)
        assert r.exit_code == 0, r.output
        messages = server.mailbox.messages
        assert len(messages) == 2, r.output
        books = sorted(p for p in out.glob("*.kindle.epub"))
        for (_, raw), book in zip(messages, books):
            _assert_clean(raw, attachment_name(book.name))
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            assert msg["Subject"] and "\n" not in str(msg["Subject"])
            (part,) = list(msg.iter_attachments())
            assert part.get_content() == book.read_bytes()
    for name in NAMES:
        _assert_clean(book_message(data=b"PK", name=name, title=title, sender="me@example.org",
                                   recipient=KINDLE, body="x\n"), attachment_name(name))


# -- a week that went out under one of its names or files is not mailed again under another -------

FIRST = {"a copy of the plain file": ("daily-papers-2024-W10.epub", "mybook.epub"),
         "a copy of the kindle file": ("daily-papers-2024-W10.kindle.epub", "mine.epub"),
         "the plain file": ("daily-papers-2024-W10.epub", None),
         "the kobo file": ("daily-papers-2024-W10.kepub.epub", None)}
LATER = ["daily-papers-2024-W10.epub", "daily-papers-2024-W10.kindle.epub", "daily-papers-2024-W10.kepub.epub"]


@pytest.mark.parametrize("first", sorted(FIRST))
@pytest.mark.parametrize("order", [LATER, LATER[::-1]], ids=["plain-first", "kobo-first"])
def test_a_week_sent_under_any_of_its_names_or_files_is_not_sent_again_under_another(tmp_path, first, order):
    """The week goes out once, whichever of its files went first and under which name (a copy
    with a name of its own, sent with --book), and whichever of its other files join the folder
    later, in any order: each is the same book for the reader."""
    built = _build(tmp_path, ["generic", "kindle", "kobo"])
    source, copy = FIRST[first]
    folder = tmp_path / "send"
    folder.mkdir()
    shutil.copy(built / source, folder / (copy or source))
    with smtp_server(tmp_path) as server:
        r = _send(folder, server, "--book", copy or source)
        assert r.exit_code == 0 and "1 sent" in r.output, r.output
        for name in order:
            if not (folder / name).exists():
                shutil.copy(built / name, folder / name)
            r = _send(folder, server)
            assert r.exit_code == 0 and "0 sent" in r.output, (first, name, r.output)
        assert len(list(server.mailbox.parsed())) == 1, r.output  # the week, once
        r = _send(folder, server, "--resend", "--book", "daily-papers-2024-W10.kindle.epub")
        assert r.exit_code == 0 and "1 sent" in r.output, r.output  # --resend still sends it


@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT"])
def test_a_stop_while_the_server_answers_the_message_records_it_and_the_next_run_sends_nothing(tmp_path, how):
    """The server takes its time to accept a message (it scans the attachment); a stop asked
    meanwhile (a cron job's timeout, Ctrl-C) waits for the answer and the ledger that records it,
    then ends the run: the next run does not mail that book again."""
    import signal
    import subprocess
    import sys
    import time

    built = _build(tmp_path, ["kindle"])
    folder = tmp_path / "send"
    folder.mkdir()
    shutil.copy(built / "daily-papers-2024-W10.kindle.epub", folder)
    with smtp_server(tmp_path, script=["slow"]) as server:
        env = {**os.environ, **{k: v for k, v in server.env().items() if v is not None},
               "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
        proc = subprocess.Popen([sys.executable, "-m", "exporter", "send", str(folder), "--to", KINDLE, *server.args(),
                                 "--today", "2024-03-25"], env=env, stderr=subprocess.PIPE, stdout=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while server.mailbox.attempts == 0 and time.monotonic() < deadline:  # the message is being answered
            time.sleep(0.02)
        proc.send_signal(getattr(signal, how))
        _, err = proc.communicate(timeout=30)
        assert proc.returncode in (1, 143), err.decode()
        assert "Traceback" not in err.decode()
        # The book the server accepted is one the user is told of, before the stop.
        said = err.decode()
        assert "sent daily-papers-2024-W10.kindle.epub" in said, said
        assert said.index("sent daily-papers") < max(said.find("Aborted!"), said.find("stopped (")), said
        assert _ledger_names(folder) == {"daily-papers-2024-W10.kindle.epub"}
        r = _send(folder, server)
        assert r.exit_code == 0 and "0 sent" in r.output, r.output
        assert len(server.mailbox.messages) == 1
