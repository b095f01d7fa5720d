"""`send` and what it reads, and every document read back: generated spellings
of each class an outside attacker found open, run through the whole CLI with a
real SMTP server on 127.0.0.1 (aiosmtpd) where mail is involved.

- duplicate JSON keys, at any level of any document read back (ledger, state,
  thumbnail cache entries), are damage;
- a copy of a book (byte copy, hard link, symbolic link) is sent and recorded
  as the book, so the same week is never mailed twice under two names;
- a file EPUBCheck rejects as a container is never attached;
- ``*.epub`` names that are not regular files are named, exit 1;
- password files: special files are usage errors (2), control characters are
  refused without echoing the password, a BOM is removed;
- addresses from the config are reported by file and key, options by option;
- sizes over ``--max-size`` are shown truly; the Date header is ``+0000``;
- a ledger that is a symbolic link is rewritten at its target.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import io
import json
import os
import re
import shutil
import unicodedata
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from delivery_helpers import smtp_server
from hostile_three import SPECIAL_KINDS, make_special, run_cli, watchdog

SETTINGS = dict(deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
KINDLE = "reader@kindle.com"
TODAY = "2024-03-11"  # week 2024-W10 (March 4-10) is finished


def _logs(tmp: Path) -> Path:
    logs = tmp / "logs"
    logs.mkdir(exist_ok=True)
    for date in ("2024-03-04", "2024-03-05"):
        (logs / f"{date}.md").write_text(
            f"## Daily Papers ({date})\n\n### [Paper {date}](https://arxiv.org/abs/2403.0{date[-1]}001)\n\n- x\n",
            encoding="utf-8")
    return logs


def _build(tmp: Path, *extra: str) -> Path:
    out = tmp / "out"
    r = run_cli(["build", str(_logs(tmp)), "-o", str(out), "--images", "none", "-q", "--format", "atom",
                 "--state", str(tmp / "state.json"), *extra], tmp)
    assert r.exit_code == 0, r.output
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """One build, copied by each test that changes it."""
    return _build(tmp_path_factory.mktemp("built"))


def _copy(built: Path, tmp: Path) -> Path:
    shutil.copytree(built.parent, tmp, dirs_exist_ok=True, symlinks=True)
    return tmp / "out"


def _book(out: Path) -> Path:
    (book,) = [p for p in out.glob("daily-*.epub")]
    return book


def _send(out: Path, server, *extra: str, env: dict | None = None, config: Path | None = None):
    args = (["--config", str(config)] if config else []) + [
        "send", str(out), "--to", KINDLE, *server.args(), "--today", TODAY, *extra]
    return run_cli(args, out.parent, env=env if env is not None else server.env())


def _ledger(out: Path) -> dict:
    return json.loads((out / ".digest-export-sent.json").read_text(encoding="utf-8"))


# -- duplicate keys in any document read back -------------------------------------------------

def _dump(value, dup_at: tuple | None, dup, first: bool, which: int = 0) -> str:
    """*value* as JSON text, the object at path *dup_at* holding one of its keys (the
    *which*-th, modulo their number) twice: the copy's value is ``dup(original value)``,
    written before the original if *first*."""
    if isinstance(value, dict):
        pairs = [f"{json.dumps(k)}:{_dump(v, dup_at[1:] if dup_at and dup_at[0] == k else None, dup, first, which)}"
                 for k, v in value.items()]
        if dup_at == () and value:
            key = list(value)[which % len(value)]
            extra = f"{json.dumps(key)}:{json.dumps(dup(value[key]))}"
            pairs = [extra] + pairs if first else pairs + [extra]
        return "{" + ",".join(pairs) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_dump(v, dup_at[1:] if dup_at and dup_at[0] == i else None, dup, first, which)
                              for i, v in enumerate(value)) + "]"
    return json.dumps(value)


def _emptied(value):
    """A value of the same type, emptied: what a hand edit that erases a record writes."""
    return type(value)() if isinstance(value, (dict, list)) else value


def _objects(value, here=()):
    """The path of every non-empty object in *value*."""
    if isinstance(value, dict):
        if value:
            yield here
        for k, v in value.items():
            yield from _objects(v, here + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _objects(v, here + (i,))


GOOD_LEDGER = {"program": "digest-export", "format": 1, "sent": {
    "sha256:" + "a" * 64: {"daily-papers-2024-W10.epub": {
        "sha256": "b" * 64, "size": 10, "sent_at": "2024-03-11T00:00:00Z", "complete": True}}}}
GOOD_CACHE_HEADER = {"key": "https://example.org/a.png", "size": 10, "sha256": "c" * 64,
                     "media_type": "image/png", "width": 2, "height": 2}
GOOD_FAILURE = {"url": "https://example.org/a.png", "reason": "404", "until": 1.5}
#: How the second value relates to the first: the same, emptied (valid for the schema, so
#: only the duplicate check can catch it), or anything.
dup_value = st.one_of(st.just(lambda v: v), st.just(_emptied), st.sampled_from(
    [None, True, 0, -1, "x", {}, [], {"sha256:" + "0" * 64: {}}]).map(lambda c: (lambda v: c)))


@settings(max_examples=200, **SETTINGS)
@given(data=st.data())
def test_a_key_twice_anywhere_in_any_document_is_damage(built, data):
    """Every kind of document read back, a duplicated key in every object of it, either
    order, any value: the gate refuses it (msgspec alone would keep one of the two)."""
    from exporter.gates import documents

    state = json.loads((built.parent / "state.json").read_text(encoding="utf-8"))
    kind = data.draw(st.sampled_from(["ledger", "state", "state-header", "cache", "failure"]), label="kind")
    doc, schema, limit = {
        "ledger": (GOOD_LEDGER, documents.LedgerDoc, documents.MAX_LEDGER_BYTES),
        "state": (state, documents.StateDoc, documents.MAX_STATE_BYTES),
        "state-header": (state, documents.StateHeader, documents.MAX_STATE_BYTES),
        "cache": (GOOD_CACHE_HEADER, documents.CacheHeader, documents.MAX_CACHE_HEADER_BYTES),
        "failure": (GOOD_FAILURE, documents.FailureEntry, documents.MAX_CACHE_HEADER_BYTES),
    }[kind]
    documents.decode(json.dumps(doc).encode(), schema, limit=limit)  # the good one is read
    at = data.draw(st.sampled_from(list(_objects(doc))), label="object")
    raw = _dump(doc, at, data.draw(dup_value, label="value"), data.draw(st.booleans(), label="first"),
                data.draw(st.integers(0, 50), label="which key")).encode()
    with pytest.raises(documents.DocumentDamaged):
        documents.decode(raw, schema, limit=limit)


@settings(max_examples=12, **SETTINGS)
@given(at=st.sampled_from(["root", "sent", "address", "book"]), first=st.booleans(), which=st.integers(0, 10),
       emptied=st.booleans())
@example(at="root", first=False, which=2, emptied=True)  # `,"sent":{}` before the final brace
def test_a_ledger_with_a_key_twice_sends_nothing_through_the_cli(built, tmp_path_factory, at, first, which, emptied):
    """The record of a book sent, erased or repeated by a key written twice at any level
    (the top, the address hashes, the book names, a book's fields)."""
    tmp = tmp_path_factory.mktemp("dupledger")
    out = _copy(built, tmp)
    with smtp_server(tmp) as server:
        assert _send(out, server, "--dry-run").exit_code == 0
        r = _send(out, server)
        assert r.exit_code == 0 and len(server.mailbox.messages) == 1, r.output
        ledger = _ledger(out)
        (address,) = ledger["sent"]
        (book,) = ledger["sent"][address]
        path = {"root": (), "sent": ("sent",), "address": ("sent", address), "book": ("sent", address, book)}[at]
        good = (out / ".digest-export-sent.json").read_bytes()
        raw = _dump(ledger, path, _emptied if emptied else (lambda v: v), first, which)
        (out / ".digest-export-sent.json").write_text(raw, encoding="utf-8")
        r = _send(out, server)
        assert r.exit_code == 1, r.output
        assert "not a valid send ledger" in r.output and "appears twice" in r.output, r.output
        assert len(server.mailbox.messages) == 1  # not mailed again
        (out / ".digest-export-sent.json").write_bytes(good)
        assert _send(out, server).exit_code == 0 and len(server.mailbox.messages) == 1


def test_a_state_with_a_key_twice_is_rebuilt_and_says_why(built, tmp_path):
    out = _copy(built, tmp_path)
    state = json.loads((tmp_path / "state.json").read_text(encoding="utf-8"))
    fresh = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    (tmp_path / "state.json").write_text(_dump(state, ("books",), _emptied, False), encoding="utf-8")
    r = run_cli(["build", str(tmp_path / "logs"), "-o", str(out), "--images", "none", "-v", "--format", "atom",
                 "--state", str(tmp_path / "state.json")], tmp_path)
    assert r.exit_code == 0, r.output
    assert "damaged" in r.output and "appears twice" in r.output, r.output
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == fresh


# -- a copy of a book is the book ---------------------------------------------------------------

COPY_NAMES = st.sampled_from(["latest.epub", "current.epub", "Papers.epub", "this-week.epub", "최신.epub"])


@settings(max_examples=8, **SETTINGS)
@given(how=st.sampled_from(["bytes", "hardlink", "symlink", "relative-symlink"]), name=COPY_NAMES,
       named_as=st.sampled_from(["name", "stem"]))
@example(how="bytes", name="latest.epub", named_as="name")
def test_a_copy_sent_by_name_is_recorded_as_the_book_and_never_sent_twice(tmp_path_factory, how, name, named_as):
    tmp = tmp_path_factory.mktemp("copy")
    out = _build(tmp)
    book = _book(out)
    copy = out / name
    if how == "bytes":
        shutil.copyfile(book, copy)
    elif how == "hardlink":
        os.link(book, copy)
    elif how == "symlink":
        os.symlink(book.resolve(), copy)
    else:
        os.symlink(book.name, copy)
    with smtp_server(tmp) as server:
        r = _send(out, server, "--book", name if named_as == "name" else copy.stem)
        assert r.exit_code == 0, r.output
        assert len(server.mailbox.messages) == 1
        assert f"a copy of {book.name}" in r.output, r.output
        (recorded,) = _ledger(out)["sent"].values()
        assert list(recorded) == [book.name] and recorded[book.name]["complete"] is True
        _, msg = server.mailbox.parsed()[0]
        (part,) = list(msg.iter_attachments())
        assert part.get_filename() == book.name and part.get_content() == book.read_bytes()
        # New bytes for the same week: the week was sent, and is not sent again.
        _build(tmp, "--lang", "ko")
        assert _book(out).read_bytes() != part.get_content()
        for extra in ((), ("--unfinished",), ("--book", book.name), ("--book", "2024-W10")):
            r = _send(out, server, *extra)
            assert r.exit_code == 0, r.output
            assert len(server.mailbox.messages) == 1, (extra, r.output)
        r = _send(out, server, "--book", "2024-W10", "--resend")
        assert r.exit_code == 0 and len(server.mailbox.messages) == 2, r.output


@settings(max_examples=6, **SETTINGS)
@given(how=st.sampled_from(["bytes", "hardlink", "symlink"]),
       other=st.sampled_from(["backup-2024-W10.epub", "a-2024-W10.epub", "zz-2024-W10.epub"]))
def test_a_second_name_of_the_same_week_is_recorded_too(tmp_path_factory, how, other):
    """Two names of one week (the same file or bytes): one message, both names recorded, so
    new bytes under either name later do not mail the week again."""
    tmp = tmp_path_factory.mktemp("alias")
    out = _build(tmp)
    book = _book(out)
    {"bytes": shutil.copyfile, "hardlink": os.link, "symlink": lambda a, b: os.symlink(a.name, b)}[how](
        book, out / other)
    with smtp_server(tmp) as server:
        r = _send(out, server)
        assert r.exit_code == 0 and len(server.mailbox.messages) == 1, r.output
        assert f"not sent to {KINDLE}: a copy of " in r.output, r.output
        (recorded,) = _ledger(out)["sent"].values()
        assert sorted(recorded) == sorted([book.name, other])
        _build(tmp, "--lang", "ko")
        r = _send(out, server)
        assert r.exit_code == 0 and len(server.mailbox.messages) == 1, r.output


# -- containers EPUBCheck rejects -----------------------------------------------------------------

def _rezip(data: bytes, *, change=None, drop=(), add=(), mimetype_compressed=False, mimetype_extra=b"",
           mimetype_text=None) -> bytes:
    """The EPUB *data* written again with one kind of damage."""
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name": that is the point
        with zipfile.ZipFile(buf, "w") as z:
            for info in src.infolist():
                if info.filename in drop:
                    continue
                body = src.read(info)
                if change and info.filename in change:
                    body = change[info.filename](body)
                new = zipfile.ZipInfo(info.filename, info.date_time)
                if info.filename == "mimetype":
                    new.compress_type = zipfile.ZIP_DEFLATED if mimetype_compressed else zipfile.ZIP_STORED
                    new.extra = mimetype_extra
                    body = body if mimetype_text is None else mimetype_text
                else:
                    new.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(new, body)
            for name, body in add:
                z.writestr(name, body)
    return buf.getvalue()


#: A package document's path that leaves the container's root ({opf}: where it is).
OUTSIDE_ROOT = ("../{opf}", "/{opf}", "EPUB/../../{opf}", "./../x.opf", "//x.opf", "../../../tmp/{opf}")
CONTAINER_DAMAGE = ("junk-before", "mimetype-compressed", "mimetype-extra", "mimetype-text", "duplicate-member",
                    "duplicate-nfc", "rootfile-missing", "rootfile-none", "container-not-xml", "container-other-root",
                    "opf-not-xml", "opf-not-package", "no-container", "truncated", "rootfile-outside",
                    "name-not-allowed")


def _outside_root(good: bytes, outside: str) -> bytes:
    """*good* with its package document named *outside* the container's root (EPUBCheck RSC-026)
    in container.xml, and stored under that very name, so that a reader of zip names finds it."""
    opf = next(n for n in zipfile.ZipFile(io.BytesIO(good)).namelist() if n.endswith(".opf"))
    outside = outside.format(opf=opf)
    body = zipfile.ZipFile(io.BytesIO(good)).read(opf)
    return _rezip(good, drop=(opf,), add=[(outside, body)],
                  change={"META-INF/container.xml": lambda b: b.replace(opf.encode(), outside.encode())})


def _container_damage(draw, good: bytes, kind: str | None = None) -> tuple[str, bytes]:
    """One kind of container damage (*kind*, else drawn), its details drawn."""
    names = zipfile.ZipFile(io.BytesIO(good)).namelist()
    container = "META-INF/container.xml"
    opf = next(n for n in names if n.endswith(".opf"))
    kind = kind or draw(st.sampled_from(CONTAINER_DAMAGE))
    if kind == "junk-before":
        return kind, draw(st.binary(min_size=1, max_size=64)) + good
    if kind == "mimetype-compressed":
        return kind, _rezip(good, mimetype_compressed=True)
    if kind == "mimetype-extra":
        return kind, _rezip(good, mimetype_extra=b"\xfe\xca\x00\x00")
    if kind == "mimetype-text":
        text = draw(st.sampled_from([b"application/epub+zip\n", b" application/epub+zip", b"application/zip",
                                     b"\xef\xbb\xbfapplication/epub+zip", b"APPLICATION/EPUB+ZIP", b""]))
        return kind, _rezip(good, mimetype_text=text)
    if kind == "duplicate-member":
        name = draw(st.sampled_from(names[1:]))
        return kind, _rezip(good, add=[(name, b"<x/>")])
    if kind == "duplicate-nfc":
        return kind, _rezip(good, add=[("EPUB/caf\u00e9.xhtml", b"<x/>"), ("EPUB/cafe\u0301.xhtml", b"<y/>")])
    if kind == "rootfile-missing":
        missing = draw(st.sampled_from(["missing.opf", "EPUB/other.opf", opf + "x", "../" + opf]))
        return kind, _rezip(good, change={container: lambda b: b.replace(opf.encode(), missing.encode())})
    if kind == "rootfile-outside":
        return kind, _outside_root(good, draw(st.sampled_from(OUTSIDE_ROOT)))
    if kind == "name-not-allowed":  # OCF 3.3 section 3.3 "File names" (EPUBCheck PKG-009)
        name = draw(st.sampled_from(["EPUB/img\\c.png", "EPUB/a:b.xhtml", "EPUB/what?.css", "EPUB/x.",
                                     "EPUB/\ue000.png", "EPUB/tab\t.png", 'EPUB/"q".png', "EPUB/a|b.png"]))
        return kind, _rezip(good, add=[(name, b"x")])
    if kind == "rootfile-none":
        return kind, _rezip(good, change={container: lambda b: re.sub(rb"<rootfile [^>]*/>", b"", b)})
    if kind == "container-not-xml":
        return kind, _rezip(good, change={container: lambda b: b[: len(b) // 2]})
    if kind == "container-other-root":
        return kind, _rezip(good, change={container: lambda b: b.replace(b"<container", b"<containe")
                                          .replace(b"</container", b"</containe")})
    if kind == "opf-not-xml":
        return kind, _rezip(good, change={opf: lambda b: b"<package" + b[: len(b) // 3]})
    if kind == "opf-not-package":
        return kind, _rezip(good, change={opf: lambda b: b'<html xmlns="http://www.w3.org/1999/xhtml"/>'})
    if kind == "no-container":
        return kind, _rezip(good, drop=(container,))
    cut = draw(st.integers(1, len(good) - 1))
    return kind, good[:cut]


@settings(max_examples=150, **SETTINGS)
@given(data=st.data())
def test_every_container_epubcheck_rejects_is_refused_by_the_gate(built, data):
    from exporter.gates.epub import NotAnEpub, check_epub

    good = _book(built).read_bytes()
    check_epub(good)  # our own book passes
    kind, bad = _container_damage(data.draw, good)
    with pytest.raises(NotAnEpub) as err:
        check_epub(bad)
    assert "\n" not in str(err.value)


@settings(max_examples=10, **SETTINGS)
@given(data=st.data())
@example(data=None)
def test_a_damaged_container_is_never_attached_through_the_cli(built, tmp_path_factory, data):
    tmp = tmp_path_factory.mktemp("container")
    out = _copy(built, tmp)
    good = _book(out).read_bytes()
    if data is None:  # the attacker's spelling: junk before the zip
        kind, bad = "junk-before", b"JUNK" * 10 + good
    else:
        kind, bad = _container_damage(data.draw, good)
    (out / "other-2024-W10.epub").write_bytes(bad)
    with smtp_server(tmp) as server:
        r = _send(out, server)
        assert r.exit_code == 1, (kind, r.output)
        assert "other-2024-W10.epub: error: not sent to reader@kindle.com: not a" in r.output, (kind, r.output)
        got = [part.get_content() for _, msg in server.mailbox.parsed() for part in msg.iter_attachments()]
        assert got == [good], kind


def test_epubcheck_rejects_every_kind_of_damage_the_gate_refuses(built, tmp_path):
    """The gate refuses what the validator refuses (one EPUBCheck start for all kinds), and
    accepts the book the validator accepts: it is neither looser nor needlessly stricter."""
    from epub_fixtures import run_epubcheck

    from exporter.gates.epub import NotAnEpub, check_epub

    good = _book(built).read_bytes()
    paths = [_book(built)]
    for kind in CONTAINER_DAMAGE:
        # The first choice of each strategy: one fixed spelling per kind.
        _, bad = _container_damage(lambda strategy: _first(strategy), good, kind)
        with pytest.raises(NotAnEpub):
            check_epub(bad)
        paths.append(tmp_path / f"{kind}.epub")
        paths[-1].write_bytes(bad)
    reports = run_epubcheck(paths, tmp_path)
    severe = {path.stem: sorted({m["ID"] for m in rep["messages"] if m["severity"] in ("FATAL", "ERROR")})
              for path, rep in zip(paths, reports)}
    assert severe.pop(_book(built).stem) == []
    # OCF 3.3 section 4.3 says the mimetype file MUST NOT be compressed; EPUBCheck 5 does not
    # report it, but readers that find the type at byte 38 (as the spec intends) fail on it.
    assert severe.pop("mimetype-compressed") == []
    assert all(severe.values()), severe


def _first(strategy):
    """The simplest value of *strategy* (hypothesis' own shrink target), without a test run."""
    from hypothesis import find

    return find(strategy, lambda value: True)


# -- *.epub names that are not regular files --------------------------------------------------------

NOT_FILES = SPECIAL_KINDS + ("folder", "dangling-link", "link-loop")


def _make_not_file(path: Path, kind: str):
    if kind == "folder":
        path.mkdir()
    elif kind == "dangling-link":
        os.symlink(path.parent / "nothing-here.epub", path)
    elif kind == "link-loop":
        os.symlink(path.name, path)
    else:
        return make_special(path, kind)
    return None


@settings(max_examples=30, **SETTINGS)
@given(kind=st.sampled_from(NOT_FILES), name=st.sampled_from(["fifo-2024-W09.epub", "x-2024-W10.epub",
                                                               "latest.epub", "b.kindle.epub"]),
       how=st.sampled_from(["default", "book-name", "book-stem", "unfinished", "dry-run"]))
def test_every_epub_name_that_is_not_a_file_is_named_and_exit_1(built, tmp_path_factory, kind, name, how):
    tmp = tmp_path_factory.mktemp("nf")
    out = _copy(built, tmp)
    keep = _make_not_file(out / name, kind)
    extra = {"default": (), "book-name": ("--book", name), "book-stem": ("--book", name[:-5]),
             "unfinished": ("--unfinished",), "dry-run": ("--dry-run",)}[how]
    with smtp_server(tmp) as server, watchdog(60):
        r = _send(out, server, *extra)
    assert r.exit_code == 1, r.output
    assert f"{name}: error: not a book: " in r.output, r.output
    assert ("not a regular file" in r.output or "does not exist" in r.output or "loops" in r.output), r.output
    assert "no such book" not in r.output
    # Whatever else the folder holds still goes (once) unless only the odd file was named.
    assert len(server.mailbox.messages) == (0 if how.startswith("book") or how == "dry-run" else 1)
    del keep


# -- the password file ---------------------------------------------------------------------------------

password_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), min_size=3, max_size=16) \
    .filter(lambda p: p.strip() == p and p.strip())
controls = st.sampled_from(["\x00", "\x01", "\x07", "\t", "\x1b", "\x7f", "\x85", "\r", "\n", "\x9b"])


@settings(max_examples=12, **SETTINGS)
@given(password=password_text, control=controls, at=st.integers(0, 16), bom=st.booleans(),
       end=st.sampled_from(["", "\n", "\r\n"]), where=st.sampled_from(["option", "config"]))
@example(password="pässwörd-비밀", control="\x00", at=3, bom=False, end="\n", where="option")
def test_a_password_file_with_a_control_character_is_refused_unechoed(built, tmp_path_factory, password, control,
                                                                      at, bom, end, where):
    tmp = tmp_path_factory.mktemp("pwctl")
    out = _copy(built, tmp)
    at = min(at, len(password))
    bad = password[:at] + control + password[at:]
    # One line end at the end is the file's, not the password's: that spelling is no control inside.
    assume(any(unicodedata.category(c) == "Cc" for c in (bad + end).removesuffix("\n").removesuffix("\r")))
    pw = tmp / "password"
    pw.write_bytes((b"\xef\xbb\xbf" if bom else b"") + (bad + end).encode("utf-8"))
    pw.chmod(0o600)
    with smtp_server(tmp, password=bad) as server:
        r = _run_with_password_file(out, server, pw, where, tmp)
        assert r.exit_code == 2, r.output
        assert "SMTP password file" in r.output, r.output
        for piece in (bad, password, password[:at], password[at:]):
            if len(piece) >= 3:
                assert piece not in r.output, r.output
        assert server.mailbox.messages == []


def _run_with_password_file(out: Path, server, pw: Path, where: str, tmp: Path):
    env = {**server.env(password=None)}
    if where == "option":
        return _send(out, server, "--password-file", str(pw), env=env)
    config = tmp / "digest-export.toml"
    config.write_text(f"[send]\npassword-file = {json.dumps(str(pw))}\n", encoding="utf-8")
    return _send(out, server, env=env, config=config)


@settings(max_examples=6, **SETTINGS)
@given(password=password_text, end=st.sampled_from(["", "\n", "\r\n", "\r"]),
       where=st.sampled_from(["option", "config"]))
@example(password="pässwörd-비밀", end="\r\n", where="option")
def test_a_password_file_with_a_bom_logs_in_without_it(built, tmp_path_factory, password, end, where):
    tmp = tmp_path_factory.mktemp("pwbom")
    out = _copy(built, tmp)
    pw = tmp / "password"
    pw.write_bytes(b"\xef\xbb\xbf" + (password + end).encode("utf-8"))  # Windows Notepad
    pw.chmod(0o600)
    with smtp_server(tmp, password=password) as server:
        r = _run_with_password_file(out, server, pw, where, tmp)
        assert r.exit_code == 0, r.output
        assert len(server.mailbox.messages) == 1


@settings(max_examples=10, **SETTINGS)
@given(kind=st.sampled_from(SPECIAL_KINDS + ("folder", "too-large", "dangling-link")),
       where=st.sampled_from(["option", "config", "build --send"]))
def test_a_password_file_that_is_no_file_is_a_usage_error(built, tmp_path_factory, kind, where):
    tmp = tmp_path_factory.mktemp("pwkind")
    out = _copy(built, tmp)
    pw = tmp / "password"
    if kind == "too-large":
        pw.write_bytes(b"x" * (64 * 1024 + 1))
        keep = None
    else:
        keep = _make_not_file(pw, kind)
    with smtp_server(tmp) as server, watchdog(60):
        if where == "build --send":
            config = tmp / "digest-export.toml"
            config.write_text(f'[send]\nto = ["{KINDLE}"]\n' + "".join(
                f"{k} = {json.dumps(v)}\n" for k, v in (
                    ("from-address", "papers@example.org"), ("smtp-host", "127.0.0.1"),
                    ("smtp-port", server.port), ("smtp-security", "starttls"), ("smtp-user", "reader"),
                    ("password-file", str(pw)), ("today", TODAY))), encoding="utf-8")
            r = run_cli(["--config", str(config), "build", str(tmp / "logs"), "-o", str(out), "--images", "none",
                         "-q", "--format", "atom", "--state", str(tmp / "state.json"), "--send"], tmp,
                        env=server.env(password=None))
        else:
            r = _run_with_password_file(out, server, pw, where, tmp)
    assert r.exit_code == 2, r.output
    assert "password" in r.output.lower(), r.output
    assert server.mailbox.messages == []
    del keep


# -- where an address came from --------------------------------------------------------------------------

bad_address = st.sampled_from(["me@x.com, e@y.com", "me\r\nx@example.org", "Name <a@b.com>", "a..b@c.com",
                               "a@faß.de", "plain", "a@[127.0.0.1]", '"q"@b.com'])


@settings(max_examples=30, **SETTINGS)
@given(bad=bad_address, key=st.sampled_from(["to", "from-address", "smtp-user"]),
       source=st.sampled_from(["config", "option"]))
@example(bad="me@x.com, e@y.com", key="to", source="config")
@example(bad="me\r\nx@example.org", key="smtp-user", source="config")
def test_an_address_error_names_the_config_key_or_the_option(built, tmp_path_factory, bad, key, source):
    tmp = tmp_path_factory.mktemp("addr")
    out = _copy(built, tmp)
    assume(key != "smtp-user" or "@" in bad)  # only an address-like user stands for the sender
    args = ["send", str(out), "--dry-run", "--today", TODAY]
    if key != "to":
        args += ["--to", KINDLE]
    config = tmp / "digest-export.toml"
    if source == "config":
        config.write_text(f"[send]\n{key} = {json.dumps([bad] if key == 'to' else bad)}\n", encoding="utf-8")
        args = ["--config", str(config)] + args
    else:
        args += [f"--{key}", bad]
    r = run_cli(args, tmp)
    assert r.exit_code == 2, r.output
    if source == "config":
        assert f"{config.resolve()}:2: error: [send] key '{key}':" in r.output, r.output
        assert f"--{key}" not in r.output, r.output
    else:
        assert f"--{key} " in r.output or f"--{key}: " in r.output, r.output


# -- sizes over the limit, the Date header ----------------------------------------------------------------

@settings(max_examples=500, **SETTINGS)
@given(size=st.integers(1, 10 ** 11), limit=st.floats(0.1, 100_000))
@example(size=117_447, limit=0.11)
def test_a_size_over_the_limit_is_shown_over_it_and_never_larger_than_it_is(size, limit):
    from exporter.delivery.send import over_limit

    if size <= int(limit * 1_000_000):
        return
    shown = over_limit(size, limit)
    if shown.endswith(" bytes"):
        assert int(shown[:-6].replace(",", "")) == size
        return
    value = float(shown.removesuffix(" MB"))
    assert value > limit and value * 1_000_000 <= size + 1e-3, shown


def test_max_size_message_is_true_through_the_cli(built, tmp_path):
    out = _copy(built, tmp_path)
    size = _book(out).stat().st_size
    limit = (size // 10_000) / 100  # two decimals, just under the book
    with smtp_server(tmp_path) as server:
        r = _send(out, server, "--max-size", f"{limit:.2f}")
    assert r.exit_code == 1, r.output
    m = re.search(r"not sent to \S+: ([\d.]+) MB is over the ([\d.]+) MB limit", r.output)
    assert m and float(m[1]) > float(m[2]) and float(m[1]) * 1e6 <= size, r.output


RFC5322_DATE = re.compile(r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?\d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|"
                          r"Nov|Dec) \d{4} \d{2}:\d{2}(?::\d{2})? [+-]\d{4}")


@settings(max_examples=30, **SETTINGS)
@given(title=st.text(max_size=40), sender=st.sampled_from(["papers@example.org", "용@example.org"]))
def test_the_date_header_is_rfc_5322_not_obsolete_syntax(title, sender):
    from exporter.delivery.message import book_message

    raw = book_message(data=b"PK", name="daily-2024-W10.epub", title=title, sender=sender,
                       recipient=KINDLE, body="b", utf8=not sender.isascii())
    # The raw line: the email package's parsed header re-renders the date as "+0000" whatever was sent.
    (date,) = re.findall(rb"^Date: (.*)\r$", raw.split(b"\r\n\r\n", 1)[0], re.M)
    assert RFC5322_DATE.fullmatch(date.decode()), date
    assert date.endswith(b" +0000")
    sent = email.message_from_bytes(raw, policy=email.policy.default)["Date"].datetime
    assert abs(sent - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(minutes=5)


def test_the_date_header_sent_through_the_cli_is_plus_0000(built, tmp_path):
    out = _copy(built, tmp_path)
    with smtp_server(tmp_path) as server:
        assert _send(out, server).exit_code == 0
        ((_, raw),) = server.mailbox.messages
    (date,) = re.findall(rb"^Date: (.*?)\r?$", raw.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0], re.M)
    assert RFC5322_DATE.fullmatch(date.decode()) and date.endswith(b" +0000"), date


# -- a ledger that is a symbolic link ------------------------------------------------------------------------

@settings(max_examples=8, **SETTINGS)
@given(how=st.sampled_from(["absolute", "relative", "chain", "dangling", "to-fifo", "loop"]),
       existing=st.booleans())
def test_a_ledger_that_is_a_link_is_rewritten_at_its_target(built, tmp_path_factory, how, existing):
    tmp = tmp_path_factory.mktemp("ledgerlink")
    out = _copy(built, tmp)
    repo = tmp / "repo"
    repo.mkdir()
    target = repo / "sent.json"
    link = out / ".digest-export-sent.json"
    if existing:
        target.write_text(json.dumps({"program": "digest-export", "format": 1, "sent": {}}), encoding="utf-8")
    keep = None
    if how == "absolute":
        os.symlink(target, link)
    elif how == "relative":
        os.symlink(os.path.relpath(target, out), link)
    elif how == "chain":
        os.symlink(target, repo / "middle.json")
        os.symlink(repo / "middle.json", link)
    elif how == "dangling":
        os.symlink(repo / "gone.json", link)
    elif how == "to-fifo":
        keep = make_special(repo / "fifo.json", "fifo")
        os.symlink(repo / "fifo.json", link)
    else:
        os.symlink(link.name, link)
    with smtp_server(tmp) as server, watchdog(60):
        r = _send(out, server)
        assert link.is_symlink()  # never replaced by a regular file
        if how in ("dangling", "to-fifo", "loop") or not existing:
            # A link to nothing, to a FIFO or to itself: refused (never read as "nothing sent").
            assert r.exit_code == 1 and "send ledger" in r.output, r.output
            assert server.mailbox.messages == []
            return
        assert r.exit_code == 0, r.output
        assert len(server.mailbox.messages) == 1
        assert _book(out).name in json.dumps(json.loads(target.read_text(encoding="utf-8")))
        assert sorted(p.name for p in repo.iterdir() if not p.name.startswith(".sent.json.")) == \
            sorted(["sent.json"] + (["middle.json"] if how == "chain" else []))
        r = _send(out, server)  # read back through the link: not sent again
        assert r.exit_code == 0 and len(server.mailbox.messages) == 1, r.output
    del keep


# -- a dry run refuses the settings the run refuses --------------------------------------------
SETTINGS_REFUSED = [
    ("host with a space", ["--smtp-host", "a b"], {}, "--smtp-host"),
    ("host with a port", ["--smtp-host", "smtp.example.org:25"], {}, "--smtp-host"),
    ("host with an empty label", ["--smtp-host", "a..b"], {}, "--smtp-host"),
    ("host with user info", ["--smtp-host", "me@smtp.example.org"], {}, "--smtp-host"),
    ("password file missing", ["--smtp-host", "127.0.0.1", "--smtp-user", "me@example.org",
                               "--password-file", "/nonexistent/pw"], {}, "cannot read the SMTP password file"),
    ("no password at all", ["--smtp-host", "127.0.0.1", "--smtp-user", "me@example.org"], {}, "needs a password"),
    ("no password, no host", ["--smtp-user", "me@example.org"], {}, "needs a password"),
    ("password file missing, no host", ["--smtp-user", "me@example.org", "--password-file", "/nonexistent/pw"], {},
     "cannot read the SMTP password file"),
    ("sender refused", ["--smtp-host", "127.0.0.1", "--from-address", "not an address"], {}, "--from-address"),
]


@pytest.mark.parametrize("what, args, env, said", SETTINGS_REFUSED, ids=[c[0] for c in SETTINGS_REFUSED])
def test_a_dry_run_refuses_what_the_run_refuses(built, tmp_path, what, args, env, said):
    """``--dry-run`` connects to nothing, but every setting given is checked as the run checks it:
    the same exit status (2) and the same words, nothing sent and no ledger written."""
    out = _copy(built, tmp_path)
    results = [run_cli(["send", str(out), "--to", KINDLE, "--today", TODAY, *args, *dry], tmp_path,
                       env={"DIGEST_EXPORT_SMTP_PASSWORD": "", **env}) for dry in ([], ["--dry-run"])]
    for result in results:
        assert result.exit_code == 2, (what, result.output)
        assert said in result.output, (what, result.output)
    assert [r.output for r in results][0].split("Error: ")[-1] == [r.output for r in results][1].split("Error: ")[-1]
    assert not (out / ".digest-export-sent.json").exists()


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "[::1]", "localhost", "smtp.example.org", "xn--bcher-kva.example"])
def test_a_dry_run_takes_every_host_the_run_takes(built, tmp_path, host):
    out = _copy(built, tmp_path)
    result = run_cli(["send", str(out), "--to", KINDLE, "--today", TODAY, "--smtp-host", host, "--dry-run"], tmp_path)
    assert result.exit_code == 0, result.output


def test_a_dry_run_without_server_or_sender_says_a_run_needs_them(built, tmp_path):
    out = _copy(built, tmp_path)
    result = run_cli(["send", str(out), "--to", KINDLE, "--today", TODAY, "--dry-run"], tmp_path)
    assert result.exit_code == 0 and "would send" in result.output, result.output
    assert "a run that sends also needs --smtp-host and --from-address" in result.output, result.output
    result = run_cli(["send", str(out), "--to", KINDLE, "--today", TODAY, "--dry-run", "--smtp-host", "127.0.0.1",
                      "--from-address", "me@example.org"], tmp_path)
    assert result.exit_code == 0 and "also needs" not in result.output, result.output



# -- a server that answers a byte now and then, or with hostile text ---------------------------

def _fake_server(replies):
    """A TCP server on 127.0.0.1 that plays *replies(conn)* to each connection; (port, stop)."""
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.settimeout(0.2)
    done = threading.Event()

    def serve():
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            threading.Thread(target=replies, args=(conn, done), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return listener.getsockname()[1], lambda: (done.set(), listener.close())


def _drip(conn, done):
    import time

    try:
        while not done.is_set():
            conn.sendall(b"220-still here\r\n")  # a greeting that never ends, one line at a time
            time.sleep(0.3)
    except OSError:
        pass


def test_a_server_that_drips_its_greeting_cannot_hold_send_forever(built, tmp_path):
    """Each reply is whole within --timeout (and the whole exchange has a deadline: two time-outs
    and a rate for the message's size): the greeting a byte at a time is cut after one time-out,
    the book left unsent, exit 1."""
    import time

    out = _copy(built, tmp_path)
    port, stop = _fake_server(_drip)
    try:
        start = time.monotonic()
        result = run_cli(["send", str(out), "--to", KINDLE, "--smtp-host", "127.0.0.1", "--smtp-port", str(port),
                          "--smtp-security", "none", "--from-address", "me@example.org", "--today", TODAY,
                          "--retries", "0", "--timeout", "1"], tmp_path, seconds=60)
        took = time.monotonic() - start
    finally:
        stop()
    assert result.exit_code == 1, result.output
    assert "did not answer in time" in result.output, result.output
    assert took < 5
    assert not (out / ".digest-export-sent.json").exists() or _book(out).name not in json.dumps(_ledger(out).get("sent", {}))


def _hostile_rcpt(conn, done):
    reply = {b"EHLO": b"250 ok\r\n", b"HELO": b"250 ok\r\n", b"MAIL": b"250 ok\r\n",
             b"RCPT": "550-5.1.1 no\r\n550 x \u2066 y \u200f z \ufdd0 w \u202e e \x1b[31mred\r\n".encode("utf-8")}
    try:
        conn.sendall(b"220 hi\r\n")
        data = b""
        while not done.is_set():
            chunk = conn.recv(4096)
            if not chunk:
                return
            data += chunk
            while b"\r\n" in data:
                line, data = data.split(b"\r\n", 1)
                conn.sendall(reply.get(line[:4].upper(), b"221 bye\r\n"))
    except OSError:
        pass


def test_the_servers_words_reach_the_message_through_the_text_gate(built, tmp_path):
    out = _copy(built, tmp_path)
    port, stop = _fake_server(_hostile_rcpt)
    try:
        result = run_cli(["send", str(out), "--to", KINDLE, "--smtp-host", "127.0.0.1", "--smtp-port", str(port),
                          "--smtp-security", "none", "--from-address", "me@example.org", "--today", TODAY,
                          "--retries", "0", "--timeout", "5"], tmp_path, seconds=60)
    finally:
        stop()
    assert result.exit_code == 1, result.output
    assert "recipient refused: 550 5.1.1 no x y z w e [31mred" in result.output, result.output
    assert not re.search("[\u2066\u200f\ufdd0\u202e\x1b]", result.output)


@pytest.mark.parametrize("password, message, hidden", [
    ("p", "temporary failure: Connection reset by peer", False),
    ("busy", "421 busy", True), ("busy", "421 busybox is down", False),
    ("s3cr3t!", "535 5.7.8 bad credentials for user with s3cr3t!", True),
    ("hunter2", "535 aHVudGVy", False), ("hunter2", "535 echo aHVudGVyMg== back", True),
])
def test_a_failure_never_tells_the_password_by_where_stars_fall(password, message, hidden):
    """A server's reply holding the password (or its base64, as a word) is not shown at all:
    masking each occurrence with *** told the password ("p" masked in "tem***orary"); the
    program's own words that merely hold its letters are shown as they are."""
    import base64

    from exporter.delivery.send import DeliveryFailure
    from exporter.delivery.smtp import _scrubbed

    shown = str(_scrubbed(DeliveryFailure(message, temporary=False), password))
    assert "***" not in shown
    if hidden:
        assert password not in shown and base64.b64encode(password.encode()).decode() not in shown
        assert "not shown: it holds the SMTP password" in shown
    else:
        assert shown == message


@pytest.mark.parametrize("outside", OUTSIDE_ROOT)
def test_a_package_document_outside_the_container_is_never_attached(built, tmp_path_factory, outside):
    """container.xml names the package document above the container's root or by an absolute
    path, and a member is stored under that very name (EPUBCheck RSC-026 "leaks outside the
    container"): mailed before (and listed in the catalog, which reads books through the same
    gate), as zip names found it."""
    tmp = tmp_path_factory.mktemp("outside")
    out = _copy(built, tmp)
    (out / "other-2024-W10.epub").write_bytes(_outside_root(_book(out).read_bytes(), outside))
    with smtp_server(tmp) as server:
        r = _send(out, server)
        assert r.exit_code == 1, r.output
        assert "other-2024-W10.epub: error: not sent to reader@kindle.com: not a valid EPUB" in r.output, r.output
        assert len(server.mailbox.messages) == 1  # the good book alone


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry run", "sending"])
@pytest.mark.parametrize("user", ["me\x00admin", "me\r\nRSET", "me\x07", "me\u202e", "me\u2028x", "  "])
def test_an_smtp_user_that_is_not_one_line_of_visible_text_is_refused(built, tmp_path_factory, user, dry_run):
    """A NUL in the user name shifts the fields of the login (AUTH PLAIN: identity NUL user NUL
    password, RFC 4616), so part of the name is taken for the password; a line break, an
    escape or a bidi control is a mistake in the config.  Refused as the password file's are,
    before any connection, and by a dry run too; from the config as from the command line."""
    tmp = tmp_path_factory.mktemp("user")
    out = _copy(built, tmp)
    config = tmp / "c.toml"
    config.write_text(f"[send]\nsmtp-user = {json.dumps(user)}\n", encoding="utf-8")
    with smtp_server(tmp) as server:
        r = run_cli(["--config", str(config), "send", str(out), "--to", KINDLE, *server.args(user=None),
                     "--today", TODAY, *(["--dry-run"] if dry_run else [])], tmp, env=server.env())
        assert r.exit_code == 2, r.output
        assert "smtp-user" in r.output and ("holds U+" in r.output or "is empty" in r.output), r.output
        assert server.mailbox.attempts == 0 and not server.mailbox.messages


@pytest.mark.parametrize("host", ["", "  "])
def test_an_empty_smtp_host_in_the_config_is_refused_not_taken_as_unset(built, tmp_path_factory, host):
    """``smtp-host = ""`` (a variable left unset where the config was written) is a usage error
    naming the key, as an empty ``smtp-user`` or ``output`` is; it was taken as no host, and a
    dry run said only that a run that sends needs one."""
    tmp = tmp_path_factory.mktemp("host")
    out = _copy(built, tmp)
    config = tmp / "c.toml"
    config.write_text(f'[send]\nsmtp-host = "{host}"\n', encoding="utf-8")
    r = run_cli(["--config", str(config), "send", str(out), "--to", KINDLE, "--dry-run", "--today", TODAY], tmp)
    assert r.exit_code == 2, r.output
    assert "[send] key 'smtp-host': is empty" in r.output, r.output


@pytest.mark.parametrize("lock", ["link", "fifo"])
def test_a_dry_run_refuses_the_lock_file_the_run_refuses(built, tmp_path, lock):
    """The dry run takes no lock, but a lock file the run would refuse (a link, a named pipe at
    its name) is refused by both, in the same words and with the same status."""
    import os

    out = _copy(built, tmp_path)
    path = out / ".digest-export-sent.lock"
    if lock == "link":
        path.symlink_to(tmp_path / "elsewhere")
    else:
        os.mkfifo(path)
    results = [run_cli(["send", str(out), "--to", KINDLE, "--today", TODAY, "--smtp-host", "127.0.0.1", "--from-address",
                        "papers@example.org", "--smtp-port",
                        "9", *dry], tmp_path, env={"DIGEST_EXPORT_SMTP_PASSWORD": ""}) for dry in ([], ["--dry-run"])]
    assert results[0].exit_code == results[1].exit_code != 0, [r.output for r in results]
    assert "cannot create the lock file" in results[1].output, results[1].output
    assert results[0].output.splitlines()[-1] == results[1].output.splitlines()[-1]
    assert not (tmp_path / "elsewhere").exists()
