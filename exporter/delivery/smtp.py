"""SMTP through the standard library, with faults sorted into the three
kinds the caller acts on differently (RFC 5321 section 4.2.1):

* temporary (4xx replies, refused/dropped connections, time-outs): try the
  same message again, a bounded number of times, then leave it for the next
  run;
* permanent (5xx replies, TLS that cannot be verified): report the server's
  own words; the other books are still tried;
* authentication refused (535 and friends): no message can go out with
  these credentials, so the run stops.
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field

from ..errors import ExporterError

SECURITY = ("starttls", "tls", "none")
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """Where and how to connect; ``password`` never comes from the command
    line (it would show in ``ps`` and shell history)."""

    host: str
    port: int | None = None
    user: str | None = None
    security: str = "starttls"
    timeout: float = 60.0
    password: str | None = field(default=None, repr=False)

    @property
    def effective_port(self) -> int:
        return self.port or DEFAULT_PORTS[self.security]

    @property
    def is_loopback(self) -> bool:
        return self.host.strip("[]").lower() in _LOOPBACK


class DeliveryFailure(ExporterError):
    """One message could not be delivered; ``temporary`` says whether to retry.
    ``send`` reports it per book and goes on; it reaches the CLI only as the
    exit status."""

    def __init__(self, text: str, *, temporary: bool, auth: bool = False, unconfirmed: bool = False):
        super().__init__(text)
        self.temporary = temporary
        self.auth = auth
        #: The whole message went out and no reply came: it may have been delivered.
        self.unconfirmed = unconfirmed


def _reply(code: int, text: bytes | str) -> str:
    """The server's reply as one line of text to show: the server is a peer, not trusted, so its
    words go through the text gate (no controls, bidi controls or noncharacters reach a terminal or
    a cron mail)."""
    from ..model import clean_text

    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return clean_text(f"{code} {text}")


def classify(err: BaseException) -> DeliveryFailure:
    """Turn what smtplib/ssl/socket raised into a :class:`DeliveryFailure`."""
    if isinstance(err, smtplib.SMTPAuthenticationError):
        # The code and the enhanced status only (RFC 3463): a server may echo
        # what it was sent, in any spelling, and no part of a password is shown.
        words = _reply(err.smtp_code, err.smtp_error).split()
        status = " ".join(words[:2] if len(words) > 1 and re.fullmatch(r"[245]\.[0-9]{1,3}\.[0-9]{1,3}", words[1])
                          else words[:1])
        return DeliveryFailure(f"the SMTP server refused the user name or password ({status})",
                               temporary=False, auth=True)
    if isinstance(err, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(err.recipients.values()))
        return DeliveryFailure(f"recipient refused: {_reply(code, text)}", temporary=400 <= code < 500)
    if isinstance(err, smtplib.SMTPResponseException):
        temporary = 400 <= err.smtp_code < 500
        what = "temporary failure" if temporary else "rejected"
        return DeliveryFailure(f"{what}: {_reply(err.smtp_code, err.smtp_error)}", temporary=temporary)
    if isinstance(err, smtplib.SMTPNotSupportedError):
        return DeliveryFailure(f"the server does not support it: {err} (check --smtp-security)",
                               temporary=False)
    if isinstance(err, ssl.SSLCertVerificationError):
        return DeliveryFailure(f"cannot verify the server's TLS certificate: {err.verify_message}",
                               temporary=False)
    if isinstance(err, ssl.SSLError):
        return DeliveryFailure(f"TLS failed: {err.reason or err} (check --smtp-security and --smtp-port)",
                               temporary=False)
    if isinstance(err, smtplib.SMTPServerDisconnected) and isinstance(err.__context__, TimeoutError):
        err = err.__context__  # smtplib reports a read time-out as a disconnection
    if isinstance(err, smtplib.SMTPServerDisconnected):
        return DeliveryFailure(f"the server closed the connection ({err or 'no reply'})", temporary=True)
    if isinstance(err, (TimeoutError, socket.timeout)):
        return DeliveryFailure("the server did not answer in time", temporary=True)
    if isinstance(err, socket.gaierror):
        return DeliveryFailure(f"cannot resolve the SMTP host: {err.strerror or err}", temporary=True)
    if isinstance(err, OSError):
        return DeliveryFailure(f"cannot talk to the SMTP server: {err.strerror or err}", temporary=True)
    if isinstance(err, smtplib.SMTPException):
        return DeliveryFailure(str(err), temporary=False)
    raise err


def _utf8(text: str) -> bytes:
    # surrogateescape: a password from an environment that is not UTF-8
    # goes as the bytes it was given.
    return text.encode("utf-8", "surrogateescape")


def _a_reply_refusing(err: BaseException) -> bool:
    """Whether *err* is the server's reply refusing the message: a 4xx or 5xx code (RFC 5321
    section 4.2.1), which says it was not taken."""
    return isinstance(err, smtplib.SMTPResponseException) and 400 <= err.smtp_code <= 599


def _scrubbed(failure: DeliveryFailure, password: str | None) -> DeliveryFailure:
    """*failure* without any trace of *password* (a server may echo what it was sent): a message
    holding the password, or its base64 form, as a word is not shown at all.  Masking each occurrence
    (``***``) told the password by where the stars fell: "p" masked every "p" of the program's
    own words, and a server's "421 busy" read "421 ***" for the password "busy"."""
    import base64

    text = str(failure)
    # As a word of its own (not inside one: "p" is in "temporary", which tells nothing), the
    # way a server echoes what it was sent.
    if password and any(re.search(rf"(?<![0-9A-Za-z]){re.escape(secret)}(?![0-9A-Za-z])", text)
                        for secret in (password, base64.b64encode(_utf8(password)).decode("ascii"))):
        text = ("the server's answer is not shown: it holds the SMTP password (or words equal to it); "
                "see the server's log")
    return DeliveryFailure(text, temporary=failure.temporary, auth=failure.auth, unconfirmed=failure.unconfirmed)


def _login(smtp: smtplib.SMTP, user: str, password: str) -> None:
    """AUTH PLAIN when offered (the connection is encrypted), else LOGIN,
    each sent once, in UTF-8 (RFC 4616 section 2: PLAIN is UTF-8; smtplib's
    own ``auth`` encodes to ASCII and fails on any other password, with the
    password in the exception).  ``SMTP.login`` would go on to the next
    mechanism after a refusal, so a wrong password would count as two or three
    failed logins, and providers lock accounts after a few."""
    import base64

    offered = smtp.esmtp_features.get("auth", "").upper().split()

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii")

    if "PLAIN" in offered:
        code, reply = smtp.docmd("AUTH", "PLAIN " + b64(b"\0" + _utf8(user) + b"\0" + _utf8(password)))
    elif "LOGIN" in offered:
        code, reply = smtp.docmd("AUTH", "LOGIN " + b64(_utf8(user)))
        if code == 334:
            code, reply = smtp.docmd(b64(_utf8(password)))
    elif user.isascii() and password.isascii():
        smtp.login(user, password)  # CRAM-MD5 and the like: smtplib knows them
        return
    else:
        raise smtplib.SMTPNotSupportedError("the server offers neither AUTH PLAIN nor LOGIN, needed for a "
                                            "user name or password that is not ASCII")
    if code not in (235, 503):  # 503: already authenticated
        raise smtplib.SMTPAuthenticationError(code, reply)


class _Watchdog:
    """A deadline for a whole exchange with the server (or for one reply: ``Watched.getreply``).  The socket's time-out bounds each read, so a
    server (or a tarpit between) that sends a byte now and then would hold a run forever; when the
    deadline passes, the connection is shut down and the exchange fails."""

    def __init__(self) -> None:
        self.smtp: smtplib.SMTP | None = None
        self.timer: threading.Timer | None = None
        self.expired = False
        #: When the exchange armed for ends (``time.monotonic()``).
        self.deadline = 0.0

    def arm(self, seconds: float) -> None:
        self.cancel()
        self.expired = False
        self.deadline = time.monotonic() + seconds
        self.timer = threading.Timer(seconds, self._expire)
        self.timer.daemon = True
        self.timer.start()

    def cancel(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def watch(self, smtp: smtplib.SMTP) -> None:
        self.smtp = smtp
        if self.expired:
            self._expire()

    def _expire(self) -> None:
        self.expired = True
        sock = getattr(self.smtp, "sock", None)  # after STARTTLS, the TLS socket over the same connection
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _watched(base: type[smtplib.SMTP], watchdog: _Watchdog) -> type[smtplib.SMTP]:
    """*base* whose connection *watchdog* can shut down, from the moment its socket exists (the
    server's greeting is read before the constructor returns)."""

    class Watched(base):  # type: ignore[misc, valid-type]
        #: The message's last line, "." (RFC 5321 section 4.1.1.4), went out: the server may have
        #: taken it whatever happens to its reply.
        data_sent = False

        def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
            sock = super()._get_socket(host, port, timeout)
            self.sock = sock
            watchdog.watch(self)
            return sock

        def getreply(self) -> tuple[int, bytes]:
            """smtplib's, read as RFC 5321 section 4.2 writes a reply: every line a code of three
            digits (2 to 5 first) and a space or ``-`` before its text, the same code on each line
            of one reply.  smtplib read ``2500 ok`` and ``250ok`` as 250 and took the last line's
            code of ``250-ok`` then ``550 no`` (so a message taken was "rejected", and mailed
            again); anything else is no reply, as a closed connection is."""
            if self.file is None:
                self.file = self.sock.makefile("rb")
            # A reply whole within one read's time and MAX_REPLY_BYTES (:func:`_read_reply`): a
            # watchdog of its own, armed just after the read's own time-out (--timeout, or after
            # the message what is left of the exchange's), which says a silent server in its
            # words; one sent a byte a tenth of a second had the whole message's time.
            timeout = self.sock.gettimeout() if self.sock is not None else None
            reply = _Watchdog()
            reply.watch(self)
            if timeout:
                reply.arm(timeout + _REPLY_GRACE)
            try:
                return _read_reply(self, reply)
            finally:
                reply.cancel()

        def send(self, s: bytes | str) -> None:
            super().send(s)
            if isinstance(s, bytes) and s.endswith(b"\r\n.\r\n"):
                self.data_sent = True  # smtplib.SMTP.data() sends the message and its end at once
                # The reply to the message's end may take what is left of the whole exchange's
                # time (a server scans the attachment first), not one read's time-out: with the
                # socket's own, a reply 7 s after the end, with --timeout 5, was "not confirmed".
                if self.sock is not None and watchdog.deadline:
                    self.sock.settimeout(max(0.05, watchdog.deadline - time.monotonic()))

    return Watched


def _read_reply(smtp: smtplib.SMTP, reply: _Watchdog) -> tuple[int, bytes]:
    """The reply *smtp* reads now, as RFC 5321 section 4.2 writes one, whole before *reply*, its
    watchdog, expires and within MAX_REPLY_BYTES: a server that sends "220-" lines for ever kept
    every read short and the reply growing (400 MB in 15 s)."""
    code, texts, size = b"", [], 0
    while True:
        try:
            line = smtp.file.readline(smtplib._MAXLINE + 1)
        except OSError as err:
            smtp.close()
            if reply.expired:
                raise TimeoutError("a reply not finished in time") from err
            raise smtplib.SMTPServerDisconnected(f"Connection unexpectedly closed: {err}") from err
        if reply.expired:  # what came before the cut: the reply is late all the same
            smtp.close()
            raise TimeoutError("a reply not finished in time")
        if not line:
            smtp.close()
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        size += len(line)
        if size > MAX_REPLY_BYTES:
            smtp.close()
            raise smtplib.SMTPServerDisconnected(f"a reply longer than {MAX_REPLY_BYTES // 1024} kB")
        found = _REPLY_LINE.fullmatch(line)
        if found is None or (code and found.group(1) != code):
            smtp.close()
            raise smtplib.SMTPServerDisconnected("a reply that is no SMTP reply (RFC 5321 section 4.2)")
        code = found.group(1)
        texts.append((found.group(3) or b"").strip(b" \t"))
        if found.group(2) != b"-":
            return int(code), b"\n".join(texts)


#: How long after its read's time-out a reply still coming in is cut (a server sending it a byte
#: at a time): the read's own time-out says a silent server first.
_REPLY_GRACE = 0.25

#: The most a reply may hold, all its lines.  RFC 5321 section 4.5.3.1.5 bounds a line (512
#: octets), not their number; the longest replies, to EHLO, list a dozen extensions.
MAX_REPLY_BYTES = 64 * 1024

#: One line of a reply (RFC 5321 section 4.2: Reply-code, then "-" or SP and text, or nothing).
#: The code is what the reply says; its text is read as smtplib reads it, up to the line's end: a
#: server that echoes what it was sent (a password refused, with a carriage return in it) still
#: refuses it.
_REPLY_LINE = re.compile(rb"([2-5][0-5][0-9])(?:([ -])([^\n]*?))?\r?\n")


def _reset_by_peer(err: BaseException) -> bool:
    """Whether *err* (or what it was raised from: smtplib wraps it) is the server resetting the
    connection.  A host resets a connection it closes with data it never read (RFC 1122 4.2.2.13;
    Linux ``tcp_close``): the message's end, sent into the kernel's buffers, never reached the
    server, which therefore has not taken it, and the book is tried again.  A server that read it
    all and closed ends the connection plainly: that one may have taken it."""
    seen = 0
    while err is not None and seen < 8:
        if isinstance(err, ConnectionResetError):
            return True
        err = err.__cause__ or err.__context__  # type: ignore[assignment]
        seen += 1
    return False


#: The slowest a server may take a message, in bytes a second, beyond two time-outs: a book of
#: 50 MB has 1,000 s more.
_MIN_RATE = 50_000


class Mailer:
    """One SMTP session, opened on first use and again after a failure."""

    def __init__(self, settings: SmtpSettings):
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None
        self._watchdog = _Watchdog()

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        context = ssl.create_default_context()
        if s.security == "tls":
            smtp: smtplib.SMTP = _watched(smtplib.SMTP_SSL, self._watchdog)(
                s.host, s.effective_port, timeout=s.timeout, context=context)
        else:
            smtp = _watched(smtplib.SMTP, self._watchdog)(s.host, s.effective_port, timeout=s.timeout)
        try:
            smtp.ehlo()
            if s.security == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if s.user:
                _login(smtp, s.user, s.password or "")
        except BaseException:
            self.close(smtp)
            raise
        return smtp

    def send(self, sender: str, recipient: str, message: bytes, *, smtputf8: bool = False) -> None:
        """Deliver one message (*smtputf8*: an address is not ASCII, RFC 6531);
        raises :class:`DeliveryFailure`, whose text never holds the password."""
        seconds = 2 * self.settings.timeout + len(message) / _MIN_RATE
        self._watchdog.arm(seconds)
        try:
            if self._smtp is None:
                self._smtp = self._connect()
            options = []
            if smtputf8:
                if not self._smtp.has_extn("smtputf8"):
                    raise DeliveryFailure("the SMTP server does not accept addresses that are not ASCII "
                                          "(no SMTPUTF8, RFC 6531)", temporary=False)
                options.append("SMTPUTF8")
            self._smtp.data_sent = False
            self._smtp.sendmail(sender, [recipient], message, mail_options=options)
            if self._watchdog.expired:
                # The watchdog shut the connection while the reply dripped in: what was read of it
                # ("25" of a "250") confirms nothing.
                raise smtplib.SMTPServerDisconnected("the reply was cut short")
        except (smtplib.SMTPException, OSError, UnicodeError) as err:
            expired = self._watchdog.expired
            taken = (getattr(self._smtp, "data_sent", False) and not _a_reply_refusing(err)
                     and not _reset_by_peer(err))
            self.close()
            if taken:
                # The message's end went out and no reply said what became of it (none in time, the
                # connection closed, or a reply that is no SMTP reply): the server may be delivering
                # it (RFC 1047; RFC 5321 section 4.5.3.2.6 gives that reply 10 minutes), and sending
                # again would mail the book twice.
                failure = DeliveryFailure(f"the server took the whole message but did not confirm it (no reply "
                                          f"in {seconds:.0f} s, the connection closed, or a reply that is no SMTP "
                                          "reply): it may have been delivered", temporary=False, unconfirmed=True)
            elif expired:
                failure = DeliveryFailure(f"the server did not finish in time ({seconds:.0f} s for this message)",
                                          temporary=True)
            else:
                failure = classify(err) if not isinstance(err, UnicodeError) else DeliveryFailure(
                    "an address or the message could not be encoded for this server", temporary=False)
            raise _scrubbed(failure, self.settings.password) from None
        finally:
            self._watchdog.cancel()

    def close(self, smtp: smtplib.SMTP | None = None) -> None:
        smtp = smtp or self._smtp
        if smtp is self._smtp:
            self._smtp = None
        if smtp is None:
            return
        expired = self._watchdog.expired  # of the exchange that failed: said by the caller
        self._watchdog.arm(2 * self.settings.timeout)  # QUIT's reply may drip too
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()
        finally:
            self._watchdog.cancel()
            self._watchdog.expired = expired or self._watchdog.expired
