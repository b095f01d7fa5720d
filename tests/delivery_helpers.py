"""Shared by the delivery tests: a real SMTP server (aiosmtpd) with
STARTTLS or implicit TLS (certificates from trustme) and AUTH, whose
handler follows a script of replies; and the rule for external tools."""

from __future__ import annotations

import contextlib
import email
import email.policy
import os
import shutil
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest


def require_tool(name: str, why: str) -> str:
    """The tool's path; skip without it, but fail under CI=true (CI must run everything)."""
    path = shutil.which(name)
    if path:
        return path
    message = f"{name} not found ({why}); bash .ci/install-delivery.sh installs it"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Mailbox:
    """aiosmtpd handler: each DATA takes the next action of ``script``
    (``accept``, ``slow`` (accept after 2 seconds, as a server that scans attachments), ``stall``
    (accept after 6 seconds),
    ``421``, ``550`` or ``drop``; ``accept`` once it is empty)."""

    script: list[str] = field(default_factory=list)
    messages: list[tuple[list[str], bytes]] = field(default_factory=list)
    attempts: int = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.attempts += 1
        action = self.script.pop(0) if self.script else "accept"
        if action == "drop":
            # The whole message was read; the connection goes before any reply.
            server.transport.close()
            return "451 never seen"
        if action == "421":
            return "421 4.3.2 Service busy, try again later"
        if action == "550":
            return "550 5.7.1 Message refused by local policy"
        if action in ("slow", "stall"):
            import asyncio

            await asyncio.sleep(2 if action == "slow" else 6)  # stall: past a client's time-out, then accept
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 2.0.0 OK"

    def parsed(self) -> list[tuple[list[str], email.message.EmailMessage]]:
        return [(to, email.message_from_bytes(raw, policy=email.policy.default)) for to, raw in self.messages]


@dataclass
class SmtpServer:
    port: int
    mailbox: Mailbox
    ca_file: Path
    security: str

    def args(self, *, user: str | None = "reader") -> list[str]:
        out = ["--smtp-host", "127.0.0.1", "--smtp-port", str(self.port), "--smtp-security", self.security,
               "--from-address", "papers@example.org", "--retry-delay", "0.01", "--timeout", "5"]
        return out + (["--smtp-user", user] if user else [])

    def env(self, password: str | None = "secret") -> dict[str, str | None]:
        return {"SSL_CERT_FILE": str(self.ca_file), "DIGEST_EXPORT_SMTP_PASSWORD": password}


@contextlib.contextmanager
def smtp_server(tmp_path: Path, *, script: list[str] | None = None, security: str = "starttls",
                password: str = "secret", smtputf8: bool = False,
                refusal: str | None = None) -> Iterator[SmtpServer]:
    """A real SMTP server on 127.0.0.1: STARTTLS required (or implicit TLS),
    AUTH required, one account ``reader`` / *password* (compared as UTF-8);
    *smtputf8* offers SMTPUTF8; *refusal* is the reply to a wrong password
    (a server may echo what it was sent)."""
    import trustme
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_ctx)
    ca_file = tmp_path / "smtp-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == b"reader" and auth_data.password == password.encode("utf-8", "surrogateescape")
        # handled=False: aiosmtpd then answers "535" itself (or *refusal*).
        message = None if ok or refusal is None else refusal.replace(
            "{sent}", auth_data.password.decode("utf-8", "replace").encode("ascii", "backslashreplace").decode())
        return AuthResult(success=ok, handled=False, message=message)

    mailbox = Mailbox(list(script or ()))
    port = free_port()
    common = dict(hostname="127.0.0.1", port=port, authenticator=authenticator, enable_SMTPUTF8=smtputf8)
    if security == "tls":
        # aiosmtpd only counts STARTTLS as TLS for auth_require_tls; this
        # whole connection is TLS already.
        controller = Controller(mailbox, ssl_context=server_ctx, auth_require_tls=False, **common)
    else:
        controller = Controller(mailbox, tls_context=server_ctx, require_starttls=True, auth_require_tls=True,
                                **common)
    controller.start()
    try:
        yield SmtpServer(port, mailbox, ca_file, security)
    finally:
        controller.stop()
