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

import smtplib
import socket
import ssl
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

    def __init__(self, text: str, *, temporary: bool, auth: bool = False):
        super().__init__(text)
        self.temporary = temporary
        self.auth = auth


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {' '.join(text.split())}".strip()


def classify(err: BaseException) -> DeliveryFailure:
    """Turn what smtplib/ssl/socket raised into a :class:`DeliveryFailure`."""
    if isinstance(err, smtplib.SMTPAuthenticationError):
        return DeliveryFailure(f"the SMTP server refused the user name or password "
                               f"({_reply(err.smtp_code, err.smtp_error)})", temporary=False, auth=True)
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


def _login(smtp: smtplib.SMTP, user: str, password: str) -> None:
    """AUTH PLAIN when offered (the connection is encrypted), else what
    ``SMTP.login`` picks.  ``login`` goes on to the next mechanism after a
    refusal, so a wrong password would count as two or three failed logins,
    and providers lock accounts after a few."""
    if "plain" in smtp.esmtp_features.get("auth", "").lower().split():
        smtp.user, smtp.password = user, password
        smtp.auth("PLAIN", smtp.auth_plain)
    else:
        smtp.login(user, password)


class Mailer:
    """One SMTP session, opened on first use and again after a failure."""

    def __init__(self, settings: SmtpSettings):
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        context = ssl.create_default_context()
        if s.security == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.effective_port, timeout=s.timeout, context=context)
        else:
            smtp = smtplib.SMTP(s.host, s.effective_port, timeout=s.timeout)
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

    def send(self, sender: str, recipient: str, message: bytes) -> None:
        """Deliver one message; raises :class:`DeliveryFailure`."""
        try:
            if self._smtp is None:
                self._smtp = self._connect()
            self._smtp.sendmail(sender, [recipient], message)
        except (smtplib.SMTPException, OSError) as err:
            self.close()
            raise classify(err) from err

    def close(self, smtp: smtplib.SMTP | None = None) -> None:
        smtp = smtp or self._smtp
        if smtp is self._smtp:
            self._smtp = None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()
