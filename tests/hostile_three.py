"""Helpers of the hostile-input tests (tests/test_hostile_*.py): running the whole CLI with a
watchdog (a blocked read fails the test instead of hanging it), making the special files a stray
process leaves behind (FIFOs, sockets, devices), digests to feed it, and the hypothesis settings
they share."""

from __future__ import annotations

import contextlib
import http.server
import os
import signal
import socket
import stat
import threading
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck

from exporter.cli import main

#: Hypothesis settings of the tests that run the whole CLI: no deadline (a run takes a second or
#: more), the same examples on every run (a failure in CI reproduces on a developer's machine).
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
                derandomize=True)

#: What a run may end with: 0, 1 (input errors) or 2 (usage); 70 (internal error) is a failure.
GOOD_EXITS = (0, 1, 2)


class Hung(Exception):
    pass


@contextlib.contextmanager
def watchdog(seconds: int):
    """Fail (raise :class:`Hung`) if the block takes longer than *seconds*."""
    def fire(signum, frame):
        raise Hung(f"still running after {seconds} s: blocked?")

    old = signal.signal(signal.SIGALRM, fire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def run_cli(args: list[str], tmp: Path, env: dict | None = None, *, seconds: int = 60, stdin: bytes | None = None):
    with watchdog(seconds):
        result = CliRunner().invoke(main, args, input=stdin,
                                    env={"XDG_CACHE_HOME": str(tmp / "cache"), **(env or {})})
    assert not isinstance(result.exception, Hung), (args, result.output)
    assert result.exit_code in GOOD_EXITS, (args, result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output, result.output
    assert "internal error" not in result.output, result.output
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), repr(result.exception)
    return result


SPECIAL_KINDS = ("fifo", "socket", "chardev", "link-to-fifo", "link-to-dev-zero")


def make_special(path: Path, kind: str) -> object:
    """Make a special file of *kind* at *path*; returns what must be kept alive (a socket)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(path))
        return sock
    elif kind == "chardev":
        try:  # /dev/zero's numbers: reading it never ends
            os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 5))
        except (PermissionError, OSError):
            os.symlink("/dev/zero", path)
    elif kind == "link-to-fifo":
        target = path.parent / f".{path.name}.fifo-target"
        os.mkfifo(target)
        os.symlink(target, path)
    elif kind == "link-to-dev-zero":
        os.symlink("/dev/zero", path)
    elif kind == "loop":  # a link to itself: stat() fails with ELOOP
        os.symlink(path.name, path)
    else:
        raise ValueError(kind)
    return None


def is_special(path: Path) -> bool:
    """True if *path* is still the special file (not replaced by a regular file)."""
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        return True
    return not stat.S_ISREG(st.st_mode)


def paper(n: int, title: str = "A paper", *, authors: str = "A. Author", bullets: tuple[str, ...] = ("a summary",)) -> str:
    lines = [f"### [{title}](https://arxiv.org/abs/2403.{n:05d})", "", "Vote: 3", "", f"Authors: {authors}", ""]
    return "\n".join(lines + [f"- {b}" for b in bullets]) + "\n\n"


def day(date: str, *papers: str) -> str:
    return f"## Daily Papers ({date})\n\n" + "".join(papers)


def two_papers(tmp: Path) -> Path:
    """The folder *tmp*/in holding one digest: a day of two papers."""
    src = tmp / "in"
    src.mkdir()
    (src / "a.md").write_text(day("2024-03-04", paper(1), paper(2)), "utf-8")
    return src


def with_package(book: bytes, edit) -> bytes:
    """*book* (an EPUB) with the bytes of its package document replaced by ``edit(bytes)``; every
    other member copied as it is.  See :func:`tree_edit` for an edit of the parsed document."""
    import io
    import zipfile

    src = zipfile.ZipFile(io.BytesIO(book))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for info in src.infolist():
            data = src.read(info)
            z.writestr(info, edit(data) if info.filename.endswith(".opf") else data)
    return buf.getvalue()


def tree_edit(change):
    """An edit for :func:`with_package` that parses the package document, lets *change* alter the
    root element in place, and serialises it again."""
    from lxml import etree

    def edit(data: bytes) -> bytes:
        root = etree.fromstring(data)
        change(root)
        return etree.tostring(root, xml_declaration=True, encoding="utf-8")

    return edit


class Bodies:
    """A local HTTP server answering each path with (headers, body)."""

    def __init__(self):
        bodies = self.bodies = {}

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (the standard library's name)
                headers, body = bodies[self.path]
                self.send_response(200)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading at its size cap: what the test wants

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def one_day_book(tmp_path):
    """A real book of one day and one paper, made in *tmp_path* (the page its snippets go into:
    ``day-2024-03-04.xhtml``), for tests that set markup or CSS into a book for EPUBCheck."""
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.md").write_text(day("2024-03-04", paper(1)), "utf-8")
    run_cli(["epub", str(src), "-o", str(tmp_path / "out"), "--images", "none"], tmp_path)
    return next((tmp_path / "out").glob("*.epub"))


def same_size_keeping_mark(data: bytes) -> bytes:
    """*data* (a file the program wrote) with one byte changed where its mark is not, still the
    document it was (the marks gate reads it whole): a zip, the time field of its first local
    header, which readers ignore; a JPEG, the density of its JFIF segment; other files, a digit
    of a date or number in their second half (never one of a tag's name, such as ``h2``)."""
    import re

    edited = bytearray(data)
    if data.startswith(b"PK\x03\x04"):
        edited[10] ^= 0x01
    elif data.startswith(b"\xff\xd8\xff\xe0") and data[6:11] == b"JFIF\x00":
        edited[15] ^= 0x01  # Xdensity's low byte (JFIF 1.02, APP0)
    else:
        at = next(m.start() for m in re.finditer(rb"(?<=[0-9-])[0-9]", data) if m.start() > len(data) // 2)
        edited[at] ^= 0x01
    return bytes(edited)


def appended_keeping_mark(data: bytes) -> bytes:
    """*data* with something added that leaves it a document as the program writes it, mark and
    all: an Atom entry or RSS item before the end of a feed, a paragraph before a page's body
    ends, or a book's last page's; a JPEG painted over in part and saved again (with the mark,
    as the program saves)."""
    if data.startswith(b"PK\x03\x04"):
        return rezipped_with_notes(data, last=True)
    if data.startswith(b"\xff\xd8"):
        import io

        from PIL import Image, ImageDraw

        from exporter.output import marked

        with Image.open(io.BytesIO(data)) as im:
            im = im.convert("RGB")
        ImageDraw.Draw(im).rectangle((0, 0, im.width // 4, im.height // 4), fill=(255, 0, 0))
        out = io.BytesIO()
        im.save(out, "JPEG", quality=80)
        return marked(out.getvalue(), "image/jpeg")
    for end, added in ((b"</feed>", b"<entry><title>my notes</title></entry>"), (b"</channel>", b"<item><title>my notes"
                       b"</title></item>"), (b"</body>", b"<p>my notes</p>")):
        if end in data:
            at = data.rindex(end)
            return data[:at] + added + data[at:]
    raise ValueError("no place to add to")


def marked_document(name: str) -> bytes:
    """A small document of the kind *name* says, carrying the program's mark as the program
    writes it (what ``exporter.output.carries_mark`` takes for the program's): an Atom feed
    (``.atom``; a catalog, ``.opds``), a state-like JSON document (``.json``), a book (``.epub``)."""
    import io
    import zipfile

    if name.endswith(".json"):
        return b'{"program": "digest-export", "format": 1}'
    if name.endswith(".opds"):  # a catalog links to itself as one
        return (b"<?xml version='1.0' encoding='UTF-8'?>\n"
                b'<feed xmlns="http://www.w3.org/2005/Atom"><generator>digest-export</generator><link rel="self" '
                b'href="x.opds" type="application/atom+xml;profile=opds-catalog;kind=acquisition"/></feed>')
    if not name.endswith(".epub"):
        return (b"<?xml version='1.0' encoding='UTF-8'?>\n"
                b'<feed xmlns="http://www.w3.org/2005/Atom"><generator>digest-export</generator></feed>')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("mimetype", "application/epub+zip")
        z.writestr("META-INF/container.xml", '<container xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
                   'version="1.0"><rootfiles><rootfile full-path="p.opf" media-type="application/oebps-package+xml"/>'
                   '</rootfiles></container>')
        z.writestr("p.opf", '<package xmlns="http://www.idpf.org/2007/opf" version="3.0"><metadata '
                   'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:publisher>digest-export</dc:publisher>'
                   '</metadata></package>')
    return out.getvalue()


def rezipped_with_notes(data: bytes, *, last: bool = False) -> bytes:
    """The book *data* unzipped, ``<p>MY NOTES</p>`` added to its first (or *last*) page, zipped
    again: the mark stays, and the book is still one the program could have written."""
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as src:
        infos = src.infolist()
        pages = [i.filename for i in infos if i.filename.endswith(".xhtml") and "cover" not in i.filename
                 and b"</body>" in src.read(i)]
        chosen = pages[-1] if last else pages[0]
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as dst:
            for info in infos:
                member = src.read(info)
                if info.filename == chosen:
                    member = member.replace(b"</body>", b"<p>MY NOTES</p></body>", 1)
                dst.writestr(info, member)
    return out.getvalue()


def left_by_a_killed_run(path: Path, data: bytes = b"half a file", state_home: Path | None = None) -> Path:
    """Write the temporary file *path* as a run killed outright leaves it: its run's token (the
    first five characters before ``.part``) recorded where runs record theirs, under
    *state_home* (``XDG_STATE_HOME``) or this process's, with the folder it wrote into."""
    import os

    from exporter import output

    token = path.name[-len(".part") - 8:-len(".part") - 3]
    folder = (state_home / "digest-export" / "runs") if state_home is not None else output.tokens_folder()
    if state_home is None:
        assert os.environ.get("XDG_STATE_HOME"), "the tests keep their own state folder"
    folder.mkdir(parents=True, exist_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    st = path.parent.stat()
    with open(folder / token, "a", encoding="ascii") as record:  # the run wrote into that folder
        record.write(f"{st.st_dev} {st.st_ino}\n")
    path.write_bytes(data)
    return path

