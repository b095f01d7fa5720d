"""One e-mail per book: the book as an ``application/epub+zip`` attachment.

Built with the ``compat32`` classes of :mod:`email.mime`, which write the
headers as given (the modern policy rewrites ``Content-Disposition``).  The
attachment has exactly one file name parameter: ``filename`` (RFC 2183
section 2.3), as a quoted ASCII string, or as RFC 2231 ``filename*`` (with
continuations ``filename*0*``, ``filename*1*``... for a long one) when the name
is not ASCII.  Under RFC 2231 section 3, ``filename`` and ``filename*0*`` are
pieces of ONE parameter: writing both (an ASCII fallback, then the real
name, as HTTP does under RFC 6266 section 4.3) is a duplicate parameter to a
mail parser (Python's ``email`` reports a header defect and keeps one of them,
which one depending on the parser).  The ASCII fallback for agents that predate
RFC 2231 goes in ``Content-Type``'s own ``name`` parameter instead (RFC 2046
section 4.5.1), a different header.  Everything is 7-bit (base64 parts, RFC
2047 subject), so no server needs 8BITMIME.
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
    if len(flat) > _ASCII_STEM:
        # Keep the end, which says the period and the profile (``-2024-W10.kindle``): the
        # quoted name must fit a folded header line of 78 characters (RFC 5322 section 2.1.1).
        # Cut where a "~" says so (as short names of long ones are marked on FAT file systems),
        # never silently.
        flat = flat[:16].rstrip("-.") + "~" + flat[-(_ASCII_STEM - 17):].lstrip("-.")
    return f"{flat}.{ext or 'epub'}"


#: The longest ASCII stem of the Content-Type ``name`` (`` name="...";`` fits in 78).
_ASCII_STEM = 60


def display_file_name(title: str, fallback: str) -> str:
    """The title as a file name (``한국어 논문 2024-W10 (….epub``)."""
    from ..model import clean_text

    # clean_text: no C0/C1 control, bidi control, surrogate or noncharacter (a mail client
    # would show them, or a parser flag them); _UNSAFE: what file systems refuse.
    clean = " ".join(_UNSAFE.sub(" ", clean_text(title)).split()).strip(" .")
    if len(clean) > 150:  # the end says the period (``-2024-W10``): cut the middle
        clean = clean[:100].rstrip() + "…" + clean[-49:].lstrip()
    return f"{clean}.epub" if clean else fallback


#: The longest subject, in characters: RFC 5322 section 2.1.1 limits a line
#: to 998 bytes (78 recommended); a title longer than this is cut, with "…".
MAX_SUBJECT = 200
# An RFC 2231 value is cut into continuations of at most this many
# characters, so that the header folds into lines of 78 (section 3).
_CHUNK = 56


def subject_text(title: str) -> str:
    """The title as one line (no control, bidi or line-break character can
    start a new header: RFC 5322 section 2.2), cut to :data:`MAX_SUBJECT`."""
    from ..model import clean_text

    from ..gates.text import whole_graphemes

    text = clean_text(title)
    return text if len(text) <= MAX_SUBJECT else whole_graphemes(text, MAX_SUBJECT - 1).rstrip() + "…"


def _continuations(text: str) -> list[str]:
    """*text* percent-escaped (RFC 2231 section 4) in pieces of at most :data:`_CHUNK`
    characters, never inside a character: a UTF-8 sequence cut between two pieces is
    not a character in either, and a parser that decodes each piece flags it."""
    pieces, current = [], ""
    for char in text:
        token = quote(char, safe="")
        # The first piece also carries "UTF-8''".
        if current and len(current) + len(token) > (_CHUNK - 7 if not pieces else _CHUNK):
            pieces.append(current)
            current = ""
        current += token
    return pieces + [current] if current else pieces


def attachment_name(name: str) -> str:
    """The name the attachment is given: the book's file name in the folder (NFC, as it is
    when it is one a mail client can save: quotes, slashes, control characters and bytes
    that are not UTF-8 become spaces; cut to 150 characters).

    Why the file name and not the title: the reader sees the book's title from the book
    itself (its ``dc:title``, also the e-mail's Subject); the file name is the one the
    folder, ``--book``, the reports and the ledger use, so what a mail client saves is the
    file that was sent, under the same name."""
    clean = name.encode("utf-8", "replace").decode("utf-8") if not name.isascii() else name
    stem = clean[:-5] if clean.lower().endswith(".epub") else clean
    return display_file_name(stem, ascii_file_name(name))


def content_disposition(name: str) -> str:
    """``attachment; filename=...`` with ONE file name parameter (see the module docstring)."""
    real = attachment_name(name)
    if real.isascii() and len(real) <= _CHUNK:
        # _UNSAFE has removed '"' and '\\': the quoted-string needs no escapes (RFC 2045 section 5.1).
        return f'attachment; filename="{real}"'
    pieces = _continuations(real)
    if len(pieces) == 1:
        return "attachment; filename*=UTF-8''" + pieces[0]
    # RFC 2231 section 4.1: filename*0*=UTF-8''...; filename*1*=..., each on its own folded line.
    charset = "UTF-8''"
    return "attachment" + "".join(f"; filename*{i}*={charset if i == 0 else ''}{piece}"
                                  for i, piece in enumerate(pieces))


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
    # Text that looks like an encoded word (``=?utf-8?b?SGk=?=``) is itself encoded (RFC 2047
    # section 5: a mail client would otherwise decode it and show another subject).
    plain = subject.isascii() and "=?" not in subject and all(len(word) <= 60 for word in subject.split())
    msg["Subject"] = Header(subject, "us-ascii" if plain else "utf-8", header_name="Subject")
    msg["From"] = _raw_utf8(sender) if utf8 else sender
    msg["To"] = _raw_utf8(recipient) if utf8 else recipient
    # "+0000", not "GMT": zone names are obsolete syntax (RFC 5322 sections 3.3
    # and 4.3), and "-0000" would say the local zone is unknown.
    msg["Date"] = format_datetime(dt.datetime.now(dt.timezone.utc).replace(microsecond=0), usegmt=False)
    domain = sender.rpartition("@")[2] if sender.rpartition("@")[2].isascii() else None
    msg["Message-ID"] = make_msgid("digest-export", domain=domain)
    msg.attach(MIMEText(body, "plain", "utf-8"))
    # The Content-Type ``name`` (RFC 2045 section 5.1; what older clients save under) is the
    # attachment's own name where that name is a quoted-string of one line, else its ASCII
    # stand-in: a client that reads one parameter saves the name another client reads from the other.
    real = attachment_name(name)
    part = MIMEApplication(data, EPUB_SUBTYPE, name=real if real.isascii() and len(real) <= _CHUNK
                           else ascii_file_name(name))
    part["Content-Disposition"] = content_disposition(name)
    msg.attach(part)
    # CRLF line ends (RFC 5321 section 2.3.8): smtplib sends bytes as given,
    # and a server reads "\n"-only text as one line far over its limit.
    return msg.as_bytes(policy=compat32.clone(linesep="\r\n", cte_type="8bit" if utf8 else "7bit"))
