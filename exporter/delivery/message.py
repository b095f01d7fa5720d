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

import datetime as dt
import re
import unicodedata
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime, make_msgid
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


#: The longest subject, in characters: RFC 5322 section 2.1.1 limits a line
#: to 998 bytes (78 recommended); a title longer than this is cut, with "…".
MAX_SUBJECT = 200
# An RFC 2231 value is cut into continuations of at most this many
# characters, so that the header folds into lines of 78 (section 3).
_CHUNK = 56
_ESCAPED = re.compile(r"%[0-9A-F]{2}|.", re.S)


def subject_text(title: str) -> str:
    """The title as one line (no control, bidi or line-break character can
    start a new header: RFC 5322 section 2.2), cut to :data:`MAX_SUBJECT`."""
    from ..model import clean_text

    text = clean_text(title)
    return text if len(text) <= MAX_SUBJECT else text[:MAX_SUBJECT - 1].rstrip() + "…"


def _continuations(encoded: str) -> list[str]:
    """*encoded* (percent-escaped) in pieces of at most :data:`_CHUNK` characters, never inside an escape."""
    pieces, current = [], ""
    for token in _ESCAPED.findall(encoded):
        # The first piece also carries "UTF-8''".
        if len(current) + len(token) > (_CHUNK - 7 if not pieces else _CHUNK):
            pieces.append(current)
            current = ""
        current += token
    return pieces + [current] if current else pieces


def content_disposition(name: str, title: str) -> str:
    ascii_name = ascii_file_name(name)
    real = display_file_name(title, name)
    value = f'attachment; filename="{ascii_name}"'
    if real != ascii_name:
        pieces = _continuations(quote(real, safe=""))
        if len(pieces) == 1:
            value += "; filename*=UTF-8''" + pieces[0]
        else:  # RFC 2231 section 4.1: filename*0*=UTF-8''...; filename*1*=...
            charset = "UTF-8''"
            value += "".join(f"; filename*{i}*={charset if i == 0 else ''}{piece}"
                             for i, piece in enumerate(pieces))
    return value


def _raw_utf8(text: str) -> str:
    """A header value written as UTF-8 bytes as it is (RFC 6532 section 3.2,
    for a message sent with SMTPUTF8): the email package's spelling of 8-bit
    header bytes is a str of surrogate escapes."""
    return text.encode("utf-8").decode("ascii", "surrogateescape")


def book_message(*, data: bytes, name: str, title: str, sender: str, recipient: str,
                 body: str, utf8: bool = False) -> bytes:
    """The whole message, as bytes for ``SMTP.sendmail``; *utf8*: an address
    is not ASCII, and the message goes with SMTPUTF8 (RFC 6531)."""
    msg = MIMEMultipart()
    subject = subject_text(title)
    # Plain ASCII words fold at spaces only: a word too long for a 78-character
    # line goes, like non-ASCII text, as RFC 2047 encoded words, which fold anywhere.
    plain = subject.isascii() and all(len(word) <= 60 for word in subject.split())
    msg["Subject"] = Header(subject, "us-ascii" if plain else "utf-8", header_name="Subject")
    msg["From"] = _raw_utf8(sender) if utf8 else sender
    msg["To"] = _raw_utf8(recipient) if utf8 else recipient
    # "+0000", not "GMT": zone names are obsolete syntax (RFC 5322 sections 3.3
    # and 4.3), and "-0000" would say the local zone is unknown.
    msg["Date"] = format_datetime(dt.datetime.now(dt.timezone.utc).replace(microsecond=0), usegmt=False)
    domain = sender.rpartition("@")[2] if sender.rpartition("@")[2].isascii() else None
    msg["Message-ID"] = make_msgid("digest-export", domain=domain)
    msg.attach(MIMEText(body, "plain", "utf-8"))
    part = MIMEApplication(data, EPUB_SUBTYPE, name=ascii_file_name(name))
    part["Content-Disposition"] = content_disposition(name, title)
    msg.attach(part)
    # CRLF line ends (RFC 5321 section 2.3.8): smtplib sends bytes as given,
    # and a server reads "\n"-only text as one line far over its limit.
    return msg.as_bytes(policy=compat32.clone(linesep="\r\n", cte_type="8bit" if utf8 else "7bit"))
