"""calibre's ebook-convert (Debian `calibre`, the closest converter to Amazon's that can be run)
turns every kindle-profile book into AZW3 with no error and no warning about the input."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from device_books import make_device_books

pytestmark = pytest.mark.slow

#: What calibre says when it meets something it has to guess about or drop
#: ("Failed to parse", "Referenced file ... not found", "WARNING: ...", "Malformed").
COMPLAINT = re.compile(r"(?i)\b(warn\w*|error\w*|fail\w*|not found|invalid|malformed|could not|unable|"
                       r"ignor\w+|missing|broken|traceback)\b")


def require_calibre() -> str:
    found = shutil.which("ebook-convert")
    if found:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail("CI=true but ebook-convert is missing (bash .ci/install-devices.sh)", pytrace=False)
    pytest.skip("needs calibre's ebook-convert (bash .ci/install-devices.sh)")


def convert(tool: str, book: Path, target: Path) -> tuple[int, str, bool]:
    # A configuration folder per conversion: two calibres starting at once on one folder race
    # to create it.
    env = dict(os.environ, CALIBRE_CONFIG_DIRECTORY=str(target.with_suffix(".calibre-config")),
               QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run([tool, str(book), str(target)], capture_output=True, text=True, timeout=300, env=env)
    return proc.returncode, proc.stdout + proc.stderr, target.is_file() and target.stat().st_size > 0


def test_every_kindle_book_converts_to_azw3_without_a_complaint(tmp_path):
    tool = require_calibre()
    books = make_device_books(tmp_path / "books", ("kindle",))
    paths = [p for ps in books.values() for p in ps]
    (tmp_path / "azw3").mkdir()
    # One ebook-convert per book (it has no batch mode), two at a time.
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda p: convert(tool, p, tmp_path / "azw3" / (p.stem + ".azw3")), paths))
    found = {}
    for path, (code, log, made) in zip(paths, results):
        complaints = [line for line in log.splitlines() if COMPLAINT.search(line)]
        if code or not made or complaints:
            found[path.name] = (code, made, complaints or log[-2000:])
    assert found == {}


def test_the_harness_sees_a_complaint(tmp_path):
    """A book calibre has to repair (a chapter linking to a file that is not there) is caught."""
    tool = require_calibre()
    import zipfile

    [good] = make_device_books(tmp_path / "books", ("kindle",))[("month, English, text only", "kindle")]
    bad = tmp_path / "bad.epub"
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(bad, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.endswith(".opf"):
                data = data.replace(b"</manifest>",
                                    b'<item id="gone" href="gone.xhtml" media-type="application/xhtml+xml"/>'
                                    b"</manifest>", 1)
            zout.writestr(info, data)
    code, log, made = convert(tool, bad, tmp_path / "bad.azw3")
    assert code or not made or any(COMPLAINT.search(line) for line in log.splitlines()), log
