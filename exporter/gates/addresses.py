"""The e-mail address gate: every address ``send`` writes to (``--to``,
``--from-address``, the config's ``to``).

Checked by ``email-validator``, strict (RFC 5321/5322 syntax and lengths, a local part
of at most 64 octets included; RFC 6531
international local parts, IDNA domains), with no DNS look-up (a cron job
offline must still say what is wrong).  Its host must also pass the URL
gate's host rules (no IDNA 2003/2008 deviation such as ``faß.de``), so an
address cannot reach another domain than the one written.  Quoted local
parts, display names (``Name <a@b>``) and IP-literal domains are refused:
a recipient is one plain address.

Each address gets one spelling: the domain in ASCII (``me@bücher.de`` ->
``me@xn--bcher-kva.de``); only a local part that is not ASCII keeps
Unicode, and then needs a server that offers SMTPUTF8 (RFC 6531).  Two
spellings of the same address (case, Unicode or Punycode domain) are one
recipient.
"""

from __future__ import annotations

from dataclasses import dataclass


class AddressRefused(ValueError):
    """An address the gate refuses; the message says why, for the user."""


@dataclass(frozen=True, slots=True)
class Address:
    """One checked address."""

    #: As written in the envelope and the headers.
    text: str
    #: The local part is not ASCII: the server must offer SMTPUTF8.
    smtputf8: bool

    @property
    def key(self) -> str:
        """The same for every spelling of the address (mail providers treat
        local parts case-insensitively in practice): its case, not its letters.
        ``str.lower()``, not ``casefold()``: full case folding also makes
        ``straße`` ``strasse``, ``ας`` ``ασ`` and ``ﬀ`` ``ff``, other mailboxes,
        of which the second then never got its book."""
        return self.text.lower()


def check_address(text: object) -> Address:
    """*text* as an :class:`Address`; :class:`AddressRefused` saying why not."""
    import email_validator

    from .urls import URLRefused, check_web_url

    if not isinstance(text, str) or not text.strip():
        raise AddressRefused("it is empty")
    try:
        info = email_validator.validate_email(
            text.strip(), check_deliverability=False, allow_smtputf8=True, allow_display_name=False,
            allow_quoted_local=False, allow_domain_literal=False,
            # RFC 5321 section 4.5.3.1.1: a local part of at most 64 octets, which the library
            # checks only when strict (servers refuse a longer one, after the book was counted sent).
            strict=True)
    except email_validator.EmailNotValidError as err:
        domain = text.strip().rpartition("@")[2]
        if "@" in text and domain and "IDNA" in str(err):
            # email-validator names the code point idna stumbled on inside the decoded label
            # ("U+0080 at position 1 of '\x80'"); the URL gate's host rules say what is wrong
            # with the domain as the user wrote it.
            try:
                check_web_url(f"https://{domain}/")
            except URLRefused as host_err:
                raise AddressRefused(str(host_err).replace("its host", "its domain", 1)) from None
            raise AddressRefused(f"its domain {domain!r} is not valid IDNA ({str(err).rstrip('.')})") from None
        raise AddressRefused(str(err).rstrip(".")) from None
    octets = len(info.local_part.encode("utf-8"))
    if octets > 64:  # the library counts characters; RFC 6531 section 3.3 keeps the limit in octets
        raise AddressRefused(f"the part before the @-sign is {octets} bytes in UTF-8, more than the 64 a mail "
                             "server takes (RFC 5321 section 4.5.3.1.1)")
    try:
        check_web_url(f"https://{info.ascii_domain}/")
        if text.strip().rpartition("@")[2].isascii() is False:
            check_web_url(f"https://{text.strip().rpartition('@')[2]}/")
    except URLRefused as err:
        raise AddressRefused(f"its domain cannot be used: {err}") from None
    ascii_email = info.ascii_email
    return Address(ascii_email or f"{info.local_part}@{info.ascii_domain}", smtputf8=ascii_email is None)


def unique_addresses(texts: tuple[str, ...] | list[str], option: str) -> tuple[Address, ...]:
    """Each address of *texts* checked, the same address spelled twice kept
    once; :class:`AddressRefused` naming *option* and the address."""
    seen: dict[str, Address] = {}
    for text in texts:
        try:
            address = check_address(text)
        except AddressRefused as err:
            shown = text if not isinstance(text, str) or len(text) <= 80 else text[:77] + "..."
            raise AddressRefused(f"{option} {shown!r} is not a usable e-mail address: {err}") from None
        seen.setdefault(address.key, address)
    return tuple(seen.values())
