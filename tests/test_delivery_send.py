"""`digest-export send` against a real SMTP server (aiosmtpd on 127.0.0.1,
STARTTLS or implicit TLS with trustme certificates, AUTH), with the faults a
mail server really has: 421 once, 550, a connection dropped after DATA, a
wrong password, nobody listening.  The received messages are parsed with the
email package and their attachments compared with the books."""

from __future__ import annotations

import datetime as dt
import json
import re
import socket
import time
from pathlib import Path
from urllib.parse import unquote

import pytest
from click.testing import CliRunner

from delivery_helpers import free_port, smtp_server
from exporter.cli import main
from exporter.delivery import smtp as smtp_module
from exporter.delivery.ledger import LEDGER_NAME
from test_build import digest

MONDAY = dt.date(2024, 3, 4)  # ISO week 2024-W10
KINDLE = "reader@kindle.com"


def add_days(logs: Path, *offsets: int, title: str = "Build Digest") -> None:
    logs.mkdir(exist_ok=True)
    for n in offsets:
        day = MONDAY + dt.timedelta(days=n)
        text = digest(day, 2).replace("## Build Digest", f"## {title}")
        (logs / f"{day.isoformat()}.md").write_text(text, encoding="utf-8")


def build(logs: Path, out: Path, *extra: str) -> None:
    r = CliRunner().invoke(main, ["build", str(logs), "-o", str(out), "--images", "none",
                                  "--format", "atom", "-q", *extra])
    assert r.exit_code == 0, r.output


def send(out: Path, server, *extra: str, env: dict | None = None, to: tuple[str, ...] = (KINDLE,)):
    args = ["send", str(out), *[a for t in to for a in ("--to", t)], *server.args(), *extra]
    return CliRunner().invoke(main, args, env=env if env is not None else server.env())


def received(server) -> list[tuple[str, str, bytes]]:
    """(recipient, ASCII file name, attachment bytes) of each message received."""
    out = []
    for to, msg in server.mailbox.parsed():
        (part,) = list(msg.iter_attachments())
        assert part.get_content_type() == "application/epub+zip"
        out.append((to[0], part.get_filename(), part.get_content()))
    return out


@pytest.fixture
def weeks(tmp_path: Path) -> Path:
    """Weeks 10 and 11 finished (seen from 2024-03-18), week 12 still open."""
    logs = tmp_path / "logs"
    add_days(logs, 0, 1, 7, 8, 14)
    out = tmp_path / "out"
    build(logs, out)
    return out


def test_starttls_auth_and_the_attachment_is_the_book(weeks, tmp_path):
    with smtp_server(tmp_path) as server:
        r = send(weeks, server, "--today", "2024-03-18")
    assert r.exit_code == 0, r.output
    got = received(server)
    assert sorted(name for _, name, _ in got) == ["build-digest-2024-W10.epub", "build-digest-2024-W11.epub"]
    for to, name, data in got:
        assert to == KINDLE
        assert data == (weeks / name).read_bytes()
    _, msg = server.mailbox.parsed()[0]
    assert msg["Subject"] == "Build Digest 2024-W10 (2024-03-04 – 2024-03-10)"
    assert msg["From"] == "papers@example.org"
    assert "2 sent, 0 skipped, 0 failed, 1 not finished yet (build-digest-2024-W12.epub)" in r.stderr
    ledger = json.loads((weeks / LEDGER_NAME).read_text())
    (books,) = ledger["sent"].values()
    assert set(books) == {"build-digest-2024-W10.epub", "build-digest-2024-W11.epub"}
    assert KINDLE not in json.dumps(ledger)  # addresses are hashed: the folder is published

    # The next day: nothing new is finished, nothing is sent again.
    with smtp_server(tmp_path) as server:
        r = send(weeks, server, "--today", "2024-03-19")
    assert r.exit_code == 0 and server.mailbox.messages == []
    assert "0 sent, 2 skipped" in r.stderr


def test_implicit_tls(weeks, tmp_path):
    with smtp_server(tmp_path, security="tls") as server:
        r = send(weeks, server, "--today", "2024-03-18", "--book", "2024-W12")
    assert r.exit_code == 0, r.output
    assert [n for _, n, _ in received(server)] == ["build-digest-2024-W12.epub"]


def test_korean_file_name_travels_as_one_rfc2231_filename(tmp_path):
    logs, out = tmp_path / "logs", tmp_path / "out"
    add_days(logs, 0, 1)
    build(logs, out, "--title", "한국어 논문")
    (book,) = out.glob("*.epub")
    assert book.name == "한국어-논문-2024-W10.epub"
    with smtp_server(tmp_path) as server:
        r = send(out, server, "--today", "2024-03-11")
    assert r.exit_code == 0, r.output
    (raw,) = [m for _, m in server.mailbox.messages]
    head = raw.split(b"\r\n\r\n--")[0]
    assert raw.isascii() and head.isascii()
    disposition = re.search(rb"Content-Disposition: (.+?)\r\n\r\n", raw, re.S).group(1).decode()
    # ONE file name parameter (RFC 2231 section 3: filename and filename*0* are one parameter):
    # continuations filename*0*=UTF-8''...; filename*1*=..., each line within 78 characters;
    # the ASCII fallback is Content-Type's name, another header.
    assert 'filename="' not in disposition and re.search(rb'Content-Type: application/epub\+zip;\s+name="book-2024-W10.epub"', raw)
    assert disposition.startswith("attachment") and max(map(len, disposition.split("\r\n"))) <= 78
    pieces = re.findall(r"filename\*(?:(\d+)\*)?=(?:UTF-8'')?([^;\s]+)", disposition)
    encoded = "".join(piece for _, piece in sorted(pieces, key=lambda p: int(p[0] or 0)))
    assert unquote(encoded) == book.name
    (_, msg), = server.mailbox.parsed()
    assert msg["Subject"] == "한국어 논문 2024-W10 (2024-03-04 – 2024-03-10)"
    (part,) = list(msg.iter_attachments())
    assert part.get_filename() == book.name and part.get_content() == book.read_bytes()
    assert msg.defects == [] and all(p.defects == [] for p in msg.walk())


def test_421_once_is_retried_and_sent_once(weeks, tmp_path):
    with smtp_server(tmp_path, script=["421"]) as server:
        r = send(weeks, server, "--today", "2024-03-11")
    assert r.exit_code == 0, r.output
    assert "421 4.3.2 Service busy" in r.stderr and "trying again" in r.stderr
    assert [n for _, n, _ in received(server)] == ["build-digest-2024-W10.epub"]
    assert server.mailbox.attempts == 2


def test_a_connection_dropped_after_the_whole_message_is_unconfirmed_never_mailed_again(weeks, tmp_path):
    """The server read the whole message and closed the connection without a reply: it may have
    taken it (RFC 1047), so the book is recorded as sent and reported, not sent again."""
    with smtp_server(tmp_path, script=["drop"] * 3) as server:
        r = send(weeks, server, "--today", "2024-03-11", "--retries", "2")
        assert r.exit_code == 1
        assert server.mailbox.attempts == 1
        assert "did not confirm it" in r.stderr and "--resend" in r.stderr, r.stderr
        assert "Traceback" not in r.output
        assert send(weeks, server, "--today", "2024-03-11").exit_code == 0
        assert server.mailbox.attempts == 1


def test_a_temporary_refusal_every_time_gives_up_and_the_next_run_sends(weeks, tmp_path):
    with smtp_server(tmp_path, script=["421"] * 3) as server:
        r = send(weeks, server, "--today", "2024-03-11", "--retries", "2")
    assert r.exit_code == 1
    assert server.mailbox.attempts == 3 and server.mailbox.messages == []
    assert "tried 3 times; the next run tries again" in r.stderr
    with smtp_server(tmp_path) as server:
        assert send(weeks, server, "--today", "2024-03-11").exit_code == 0
    assert len(received(server)) == 1


def test_550_is_reported_with_the_servers_text_and_others_still_go(weeks, tmp_path):
    with smtp_server(tmp_path, script=["550"]) as server:
        r = send(weeks, server, "--today", "2024-03-18")
    assert r.exit_code == 1
    assert ("build-digest-2024-W10.epub: error: not sent to reader@kindle.com: rejected: "
            "550 5.7.1 Message refused by local policy") in r.stderr
    assert server.mailbox.attempts == 2  # 5xx is not retried
    assert [n for _, n, _ in received(server)] == ["build-digest-2024-W11.epub"]
    with smtp_server(tmp_path) as server:
        assert send(weeks, server, "--today", "2024-03-18").exit_code == 0
    assert [n for _, n, _ in received(server)] == ["build-digest-2024-W10.epub"]


def test_wrong_password_says_so_and_sends_nothing(weeks, tmp_path):
    with smtp_server(tmp_path, password="right") as server:
        r = send(weeks, server, "--today", "2024-03-18", env=server.env("wrong"))
    assert r.exit_code == 1
    assert "the SMTP server refused the user name or password (535" in r.stderr
    assert r.stderr.count("refused the user name") == 2  # both books, one login attempt each run
    assert not (weeks / LEDGER_NAME).exists()


def test_nobody_listening_is_temporary_and_reported(weeks):
    port = free_port()
    r = CliRunner().invoke(main, ["send", str(weeks), "--to", KINDLE, "--smtp-host", "127.0.0.1",
                                  "--smtp-port", str(port), "--from-address", "a@example.org",
                                  "--retries", "1", "--retry-delay", "0", "--today", "2024-03-11"])
    assert r.exit_code == 1
    assert "cannot talk to the SMTP server: Connection refused (tried 2 times" in r.stderr


def test_a_server_that_never_answers_times_out(weeks):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # connections are accepted by the kernel; nobody ever speaks
        r = CliRunner().invoke(main, ["send", str(weeks), "--to", KINDLE, "--smtp-host", "127.0.0.1",
                                      "--smtp-port", str(silent.getsockname()[1]), "--timeout", "1",
                                      "--from-address", "a@example.org", "--retries", "0",
                                      "--book", "2024-W10"])
    assert r.exit_code == 1
    assert "the server did not answer in time (tried 1 time;" in r.stderr


def test_untrusted_certificate_is_refused(weeks, tmp_path):
    with smtp_server(tmp_path) as server:
        r = send(weeks, server, "--today", "2024-03-11", env={**server.env(), "SSL_CERT_FILE": None})
    assert r.exit_code == 1
    assert "cannot verify the server's TLS certificate" in r.stderr
    assert server.mailbox.attempts == 0


def test_crash_after_the_first_message_keeps_its_record(weeks, tmp_path, monkeypatch):
    """The process dies while sending the second book: the first is in the
    ledger (written after each message), the next run sends only the rest."""
    real_send = smtp_module.Mailer.send
    calls = []

    def dying_send(self, sender, recipient, message, **kw):
        calls.append(recipient)
        if len(calls) == 2:
            raise KeyboardInterrupt("killed")
        return real_send(self, sender, recipient, message, **kw)

    with smtp_server(tmp_path) as server:
        monkeypatch.setattr(smtp_module.Mailer, "send", dying_send)
        r = send(weeks, server, "--today", "2024-03-18")
        assert isinstance(r.exception, KeyboardInterrupt) or r.exit_code != 0
        monkeypatch.setattr(smtp_module.Mailer, "send", real_send)
        first = [n for _, n, _ in received(server)]
        assert first == ["build-digest-2024-W10.epub"]
        ledger = json.loads((weeks / LEDGER_NAME).read_text())
        assert [list(b) for b in ledger["sent"].values()] == [["build-digest-2024-W10.epub"]]
        assert send(weeks, server, "--today", "2024-03-18").exit_code == 0
    assert sorted(n for _, n, _ in received(server)) == ["build-digest-2024-W10.epub",
                                                       "build-digest-2024-W11.epub"]


def test_cron_over_three_weeks_sends_each_finished_week_once_per_address(tmp_path):
    """Every day: the day's digest arrives (weekdays), build --send runs.  A
    finished book goes once to each address, the day after its Sunday; an
    old day edited later rebuilds its book, which is not sent again."""
    logs, out = tmp_path / "logs", tmp_path / "out"
    logs.mkdir()
    second = "second@example.org"
    with smtp_server(tmp_path) as server:
        config = tmp_path / "digest-export.toml"
        config.write_text("\n".join([
            "[build]", f'output = "{out}"', 'images = "none"', 'format = ["atom", "opds"]', "quiet = true",
            "send = true",
            "[send]", f'to = ["{KINDLE}", "{second}"]', 'smtp-host = "127.0.0.1"', f"smtp-port = {server.port}",
            'smtp-user = "reader"', 'from-address = "papers@example.org"', "retry-delay = 0.01", ""]),
            encoding="utf-8")
        seen: dict[tuple[str, str], int] = {}
        for n in range(0, 17):
            today = MONDAY + dt.timedelta(days=n)
            if today.weekday() < 5:
                add_days(logs, n)
            if n == 12:  # a typo fixed in week 10: its book is rebuilt, not re-sent
                add_days(logs, 0, title="Build Digest (fixed)")
            before = len(server.mailbox.messages)
            r = CliRunner().invoke(main, ["--config", str(config), "build", str(logs)],
                                   env={**server.env(), "DIGEST_EXPORT_TODAY": today.isoformat()})
            assert r.exit_code == 0, r.output
            for to, name, data in received(server)[before:]:
                assert data == (out / name).read_bytes()
                seen[(to, name)] = seen.get((to, name), 0) + 1
    books = ["build-digest-2024-W10.epub", "build-digest-2024-W11.epub"]
    assert seen == {(to, b): 1 for to in (KINDLE, second) for b in books}
    assert (out / "build-digest-2024-W12.epub").exists()  # open week: not sent


def test_password_from_a_file_named_in_the_config(weeks, tmp_path):
    secret = tmp_path / "smtp-password"
    secret.write_text("secret\n", encoding="utf-8")
    secret.chmod(0o600)
    config = tmp_path / "digest-export.toml"
    config.write_text('[send]\npassword-file = "smtp-password"\n', encoding="utf-8")
    with smtp_server(tmp_path) as server:
        r = CliRunner().invoke(main, ["--config", str(config), "send", str(weeks), "--to", KINDLE,
                                      *server.args(), "--today", "2024-03-11"], env=server.env(None))
    assert r.exit_code == 0, r.output
    assert len(server.mailbox.messages) == 1
    assert "readable by others" not in r.stderr


def test_a_name_send_mails_is_one_its_ledger_reads_back(weeks, tmp_path):
    # A backslash and a leading dot are plain characters of a POSIX file name, and send mails every
    # *.epub: a ledger it wrote and then refused would stop every later run, and deleting it
    # would mail every book again.
    # (In a folder of their own: beside the files they were copied from, each would be the same
    # book as its original, known by its identifier, and not mailed.)
    odd_folder = tmp_path / "odd"
    odd_folder.mkdir()
    for odd in ("build\\digest-2024-W10.epub", ".build-digest-2024-W11.epub"):
        (odd_folder / odd).write_bytes((weeks / odd.replace("\\", "-").lstrip(".")).read_bytes() + b"\0")
    with smtp_server(tmp_path) as server:
        r = send(odd_folder, server, "--today", "2024-03-18")
    assert r.exit_code == 0, r.output
    from exporter.gates.names import unstored_name

    books = next(iter(json.loads((odd_folder / LEDGER_NAME).read_text())["sent"].values()))
    assert {"build\\digest-2024-W10.epub", ".build-digest-2024-W11.epub"} <= set(map(unstored_name, books))
    with smtp_server(tmp_path) as server:
        r = send(odd_folder, server, "--today", "2024-03-19")
    assert r.exit_code == 0 and server.mailbox.messages == [], r.output


@pytest.mark.parametrize("key, words", [
    ("a/b.epub", "the book name a/b.epub is not a file name"),
    ("", "the book name '' is not a file name"),
])
def test_a_ledger_name_it_refuses_is_named_in_words(weeks, tmp_path, key, words):
    with smtp_server(tmp_path) as server:
        assert send(weeks, server, "--today", "2024-03-18").exit_code == 0
    ledger = json.loads((weeks / LEDGER_NAME).read_text())
    (address,) = ledger["sent"]
    ledger["sent"][address][key] = next(iter(ledger["sent"][address].values()))
    (weeks / LEDGER_NAME).write_text(json.dumps(ledger))
    with smtp_server(tmp_path) as server:
        r = send(weeks, server, "--today", "2024-03-19")
    assert r.exit_code == 1 and words in r.stderr and "regex" not in r.stderr, r.stderr


def test_the_ledger_writes_a_bidi_control_of_a_book_name_escaped(weeks, tmp_path):
    # The ledger is published with the folder: a name's U+202E is written as its JSON escape (the
    # same name to a reader), never raw for a terminal or a web page to act on.
    odd = "b\u202eud-digest-2024-W10.epub"
    folder = tmp_path / "odd"  # alone: beside its original it is the same book (its identifier), not mailed
    folder.mkdir()
    (folder / odd).write_bytes((weeks / "build-digest-2024-W10.epub").read_bytes() + b"\0")
    with smtp_server(tmp_path) as server:
        r = send(folder, server, "--today", "2024-03-18")
    assert r.exit_code == 0, r.output
    text = (folder / LEDGER_NAME).read_text("utf-8")
    assert "\u202e" not in text and "\\u202e" in text
    from exporter.gates.names import unstored_name

    assert odd in map(unstored_name, next(iter(json.loads(text)["sent"].values())))
    with smtp_server(tmp_path) as server:
        r = send(folder, server, "--today", "2024-03-19")
    assert r.exit_code == 0 and server.mailbox.messages == [], r.output  # read back: nothing sent twice


@pytest.mark.parametrize("ending", [b"999 weird\r\n", b"hello there\r\n", b"drip", b"2500 ok\r\n", b"250ok\r\n",
                                    b"199 hmm\r\n", b"550-no\r\n250 ok\r\n", b"250-ok\r\n550 no\r\n"])
def test_an_end_of_message_answered_by_no_smtp_reply_is_unconfirmed(weeks, tmp_path, ending):
    """A raw server that takes the whole message, then answers with no SMTP reply: a code
    outside 4xx/5xx, a line that is no reply, or "25" and then a "0" every half second, never a
    line's end (what was read when the time-out shut the connection confirms nothing)."""
    def answer(conn, f, ends) -> bool:
        while f.readline() not in (b".\r\n", b""):
            pass
        ends.append(True)
        if ending != b"drip":
            conn.sendall(ending)
            return True
        conn.sendall(b"25")
        for _ in range(20):
            try:
                conn.sendall(b"0")
            except OSError:
                return False
            time.sleep(0.5)
        return False

    port, sock, received_ends = _raw_server(answer)
    args = ["send", str(weeks), "--to", KINDLE, "--smtp-host", "127.0.0.1", "--smtp-port", str(port),
            "--smtp-security", "none", "--from-address", "papers@example.org", "--timeout", "1", "--retries", "2",
            "--retry-delay", "0.01", "--today", "2024-03-11"]
    r = CliRunner().invoke(main, args, env={"DIGEST_EXPORT_SMTP_PASSWORD": None})
    sock.close()
    assert r.exit_code == 1, r.output
    assert received_ends == [True], r.stderr  # sent once, never again
    assert "did not confirm it" in r.stderr and "--resend" in r.stderr, r.stderr


def _raw_server(answer_end):
    """A raw SMTP server on 127.0.0.1 whose handling of a message's data is *answer_end(conn, f)*
    (after "354"); (port, listening socket, thread, the number of messages whose end it read)."""
    import threading

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    ends: list[bool] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            with conn:
                f = conn.makefile("rb")
                conn.sendall(b"220 raw\r\n")
                while line := f.readline():
                    if line.upper().startswith((b"EHLO", b"HELO")):
                        conn.sendall(b"250 raw\r\n")
                    elif line.upper().startswith(b"DATA"):
                        conn.sendall(b"354 go\r\n")
                        if not answer_end(conn, f, ends):
                            break
                    elif line.upper().startswith(b"QUIT"):
                        conn.sendall(b"221 bye\r\n")
                        break
                    else:
                        conn.sendall(b"250 ok\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return sock.getsockname()[1], sock, ends


def _send_raw(weeks, port, timeout="1"):
    args = ["send", str(weeks), "--to", KINDLE, "--smtp-host", "127.0.0.1", "--smtp-port", str(port),
            "--smtp-security", "none", "--from-address", "papers@example.org", "--timeout", timeout,
            "--retries", "0", "--today", "2024-03-11"]
    return CliRunner().invoke(main, args, env={"DIGEST_EXPORT_SMTP_PASSWORD": None})


def test_a_connection_reset_before_the_server_read_the_message_is_tried_again(weeks, tmp_path):
    """A server that resets the connection with the message unread (it read 2 kB of it) has not
    taken it, though the whole message went into the kernel's buffers: not recorded as sent, and
    the next run sends it."""
    import struct

    def reset(conn, f, ends):
        f.read(2048)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with RST
        f.close()
        conn.close()  # with the rest of the message unread: the kernel resets the connection
        return False

    port, sock, _ = _raw_server(reset)
    r = _send_raw(weeks, port)
    sock.close()
    assert r.exit_code == 1 and "did not confirm" not in r.stderr and "tries again" in r.stderr, r.stderr
    assert not (weeks / LEDGER_NAME).exists() or "sha256" not in (weeks / LEDGER_NAME).read_text()


def test_the_reply_to_the_end_of_a_message_may_take_the_whole_exchanges_time(weeks, tmp_path):
    """The server scans the attachment and answers the message's end 1.5 s later, with
    --timeout 1: within the exchange's time (twice the time-out and more), so it is sent, not
    "unconfirmed" after one read's time-out."""
    def slow(conn, f, ends):
        while f.readline() not in (b".\r\n", b""):
            pass
        ends.append(True)
        time.sleep(1.5)
        conn.sendall(b"250 queued\r\n")
        return True

    port, sock, ends = _raw_server(slow)
    r = _send_raw(weeks, port)
    sock.close()
    assert r.exit_code == 0 and ends == [True], r.stderr
    assert "sent " in r.stderr + r.output


@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT"])
def test_a_stop_while_the_server_keeps_its_answer_to_the_message_still_records_it(weeks, tmp_path, how):
    """The whole message went out and the server keeps its answer past the exchange's time; a stop
    asked meanwhile waits for that time, as documented, and the book is recorded as sent
    (unconfirmed) and said so, as it is without a stop: the stop replaced the failure that records
    it, the ledger stayed empty and the next run mailed the book again; later, the record was
    kept but nothing said that the book may not have arrived."""
    import os
    import signal
    import subprocess
    import sys

    def silent(conn, f, ends):
        while f.readline() not in (b".\r\n", b""):
            pass
        ends.append(True)
        time.sleep(8)
        return False

    port, sock, ends = _raw_server(silent)
    args = ["send", str(weeks), "--to", KINDLE, "--smtp-host", "127.0.0.1", "--smtp-port", str(port),
            "--smtp-security", "none", "--from-address", "papers@example.org", "--timeout", "1",
            "--retries", "0", "--today", "2024-03-11"]
    env = {k: v for k, v in os.environ.items() if k != "DIGEST_EXPORT_SMTP_PASSWORD"}
    env.update(PYTHONPATH=str(Path(__file__).resolve().parent.parent), XDG_STATE_HOME=str(tmp_path / "state"))
    proc = subprocess.Popen([sys.executable, "-m", "exporter", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not ends and time.monotonic() < deadline:  # the message is out, its answer awaited
        time.sleep(0.02)
    proc.send_signal(getattr(signal, how))
    _, err = proc.communicate(timeout=30)
    sock.close()
    assert proc.returncode in (1, 143) and "Traceback" not in err, err
    assert ends and "sha256" in (weeks / LEDGER_NAME).read_text(), err
    # and said, though the stop ends the run: the user is to check that it arrived
    assert "did not confirm it" in err and "--resend" in err, err


@pytest.mark.parametrize("drip", [0.0, 0.05, -0.05], ids=["flood", "drip", "byte-drip"])
def test_a_reply_of_lines_without_end_is_cut_short_in_size_and_time(weeks, tmp_path, drip):
    """A server greets with "220-" lines for ever and never the last line (or with one line, a
    byte at a time): each read was quick, so only the whole message's time ended it, and the
    reply kept growing (400 MB in 15 s).  A reply ends within 64 kB and one read's time
    (--timeout): no reply, tried again next run."""
    import resource
    import threading

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)

    def serve() -> None:
        try:
            conn, _ = sock.accept()
            with conn:
                if drip < 0:
                    conn.sendall(b"220-")
                while True:
                    conn.sendall(b"x" if drip < 0 else b"220-hello there\r\n" * (1 if drip else 4096))
                    time.sleep(abs(drip))
        except OSError:
            return

    threading.Thread(target=serve, daemon=True).start()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.monotonic()
    r = _send_raw(weeks, sock.getsockname()[1])
    took = time.monotonic() - start
    sock.close()
    assert r.exit_code == 1 and "tries again" in r.stderr, r.stderr
    assert took < 2.5, took  # --timeout 1: the reply's own time, not the message's
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50_000  # kB
    assert not (weeks / LEDGER_NAME).exists() or "sha256" not in (weeks / LEDGER_NAME).read_text()


def test_a_file_name_with_controls_and_bidi_reaches_the_message_body_cleaned(weeks, tmp_path):
    """The attachment's name and the Subject were cleaned, the body's line naming the book was
    not: a right-to-left override made "...exe.epub" read "...bupe.exe", and BEL, ESC and a bare
    CR reached the recipient.  The body names the book as the attachment does."""
    hostile = "bidi\u202ebupe.exe\u202c\u2066x\x07\x1b[31m-2024-W10.epub"
    (weeks / "build-digest-2024-W10.epub").rename(weeks / hostile)
    with smtp_server(tmp_path) as server:
        r = send(weeks, server, "--today", "2024-03-18", "--book", "2024-W10")
        assert r.exit_code == 0, r.output
        [(_, msg)] = list(server.mailbox.parsed())
    body = next(part for part in msg.walk() if part.get_content_type() == "text/plain").get_content()
    assert "bidibupe.exex" in body
    assert not re.search("[\u202a-\u202e\u2066-\u2069\x00-\x08\x0b-\x1f\x7f]", body), repr(body)


def test_a_book_whose_member_inflates_a_thousand_times_is_refused_at_once(weeks, tmp_path):
    """A 2 MB book with a member of 1.9 GB of zeros (under the 2 GiB a book may inflate to) cost
    14 s to check before sending; a folder of them, minutes.  A member of more than 16 MB that
    inflates more than 100 times its size is refused from the zip's directory, nothing inflated."""
    import zipfile

    book = weeks / "build-digest-2024-W10.epub"
    bomb = weeks / "build-digest-2024-W09.epub"
    with zipfile.ZipFile(book) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        dst.writestr("EPUB/zeros.bin", bytes(40 * 1024 * 1024))
    start = time.monotonic()
    r = CliRunner().invoke(main, ["send", str(weeks), "--to", KINDLE, "--dry-run", "--today", "2024-03-18"])
    assert time.monotonic() - start < 10
    assert "EPUB/zeros.bin inflates to" in r.stderr and "a zip bomb?" in r.stderr, r.stderr
    assert "build-digest-2024-W10.epub" in r.output + r.stderr  # the other books are still sent


@pytest.mark.parametrize("setting, said", [
    ('to = ["bad address"]', "[send] key 'to'"),
    ('to = ["me@kindle.com"]\nsmtp-host = "exa mple"', "smtp-host"),
    ('to = ["me@kindle.com"]\nsmtp-host = "127.0.0.1"\nsmtp-user = "u"\npassword-file = "pw.fifo"', "named pipe"),
])
def test_build_send_refuses_its_send_settings_before_writing_anything(tmp_path, setting, said):
    """``build --send`` with a [send] setting that ``send`` refuses (a usage error, exit 2): said
    before the build writes anything, not after a whole build was published."""
    import os

    logs, out = tmp_path / "logs", tmp_path / "out"
    logs.mkdir()
    add_days(logs, 0)
    os.mkfifo(tmp_path / "pw.fifo")
    config = tmp_path / "digest-export.toml"
    config.write_text(f'[build]\noutput = "{out}"\nimages = "none"\nsend = true\n[send]\n{setting}\n', "utf-8")
    r = CliRunner().invoke(main, ["--config", str(config), "build", str(logs)], env={"DIGEST_EXPORT_SMTP_PASSWORD": ""})
    assert r.exit_code == 2, r.output
    assert said in r.output, r.output
    assert not out.exists(), sorted(p.name for p in out.iterdir())
