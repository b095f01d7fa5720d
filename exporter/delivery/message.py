"""One e-mail per book: the book as an ``application/epub+zip`` attachment.

Built with the ``compat32`` classes of :mod:`email.mime` on purpose: the
modern policy rewrites ``Content-Disposition`` and keeps only one of
``filename`` / ``filename*``.  Both are wanted: an ASCII ``filename`` that
every gateway and client keeps, then the real name (Korean titles) as an
RFC 2231 ``filename*`` (RFC 2231 section 4; order as RFC 6266 section 4.3:
agents that do not know ``filename*`` ignore it when it comes second).
Everything is 7-bit (base64 parts, RFC 2047 subject), so no server needs
8BITMIME.
"""

from __future__ import annotations

import re
import unicodedata
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formatdate, make_msgid
from urllib.parse import quote

EPUB_SUBTYPE = "epub+zip"
#: Characters that file systems or mail clients refuse in a file name.
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


def ascii_file_name(name: str) -> str:
    """``daily-papers-2024-W10.epub`` as it is; a Korean name loses what is
    not ASCII (``논문-2024-W10.epub`` -> ``book-2024-W10.epub``)."""
    stem, _, ext = name.rpartition(".")
    flat = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    flat = re.sub(r"[^A-Za-z0-9._-]+", "-", flat).strip("-.")
    if not re.search(r"[A-Za-z]", flat.split("-", 1)[0] if flat else ""):
        flat = "book-" + flat if flat else "book"
    return f"{flat}.{ext or 'epub'}"


def display_file_name(title: str, fallback: str) -> str:
    """The title as a file name (``한국어 논문 2024-W10 (….epub``)."""
    clean = " ".join(_UNSAFE.sub(" ", unicodedata.normalize("NFC", title)).split()).strip(" .")[:150]
    return f"{clean}.epub" if clean else fallback


def content_disposition(name: str, title: str) -> str:
    ascii_name = ascii_file_name(name)
    real = display_file_name(title, name)
    value = f'attachment; filename="{ascii_name}"'
    if real != ascii_name:
        value += "; filename*=UTF-8''" + quote(real, safe="")
    return value


def book_message(*, data: bytes, name: str, title: str, sender: str, recipient: str,
                 body: str) -> bytes:
    """The whole message, as bytes for ``SMTP.sendmail``."""
    msg = MIMEMultipart()
    msg["Subject"] = Header(title, "utf-8") if not title.isascii() else title
    msg["From"] = sender
    msg["To"] = recipient
    msg["Date"] = formatdate(usegmt=True)
    domain = sender.rpartition("@")[2] or None
    msg["Message-ID"] = make_msgid("digest-export", domain=domain)
    msg.attach(MIMEText(body, "plain", "utf-8"))
    part = MIMEApplication(data, EPUB_SUBTYPE, name=ascii_file_name(name))
    part["Content-Disposition"] = content_disposition(name, title)
    msg.attach(part)
    # CRLF line ends (RFC 5321 section 2.3.8): smtplib sends bytes as given,
    # and a server reads "\n"-only text as one line far over its limit.
    return msg.as_bytes(policy=compat32.clone(linesep="\r\n"))
