"""Every device profile's books stay valid EPUB: EPUBCheck 0 errors and 0 warnings (one Java
start) and Ace by DAISY no violation (one Chromium start), on every kind of book; the KEPUB too."""

from __future__ import annotations

import shutil

import pytest

from ace_check import require_ace, run_ace, violations
from device_books import make_device_books
from epub_fixtures import epubcheck_problems

# One xdist worker for the module: its tests share the module fixture, which builds the books once.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("test_devices_validators")]

PROFILES = ("kindle", "kobo", "koreader")  # generic: tests/test_epub_epubcheck.py, tests/test_epub_ace.py


@pytest.fixture(scope="module")
def books(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("device-valid")
    made = make_device_books(tmp / "books", PROFILES)
    return tmp, {key: paths for key, paths in made.items()}


@pytest.mark.skipif(shutil.which("java") is None, reason="needs Java")
def test_epubcheck_reports_nothing_in_any_profile(books):
    tmp, made = books
    paths = [p for paths in made.values() for p in paths]
    assert {key[1] for key in made} == set(PROFILES)
    (tmp / "epubcheck").mkdir()
    assert epubcheck_problems(paths, tmp / "epubcheck") == {}


def test_ace_finds_no_violation_in_any_profile(books):
    require_ace()
    tmp, made = books
    # Ace's axe-core run costs a Chromium page per document: every kind of book in the
    # profile whose markup differs from the generic book (the KEPUB's spans and
    # wrappers), and one book of the others (the same markup with grey pictures).
    paths = [p for (kind, profile), paths in made.items() for p in paths
             if profile == "kobo" or kind == "week, thumbnails"]
    found = {str(path): lines for path, report in zip(paths, run_ace(paths, tmp / "ace"))
             if (lines := violations(report))}
    assert found == {}, found
