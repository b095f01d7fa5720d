"""Network faults end to end: `epub --images embed` against
a misbehaving server on 127.0.0.1.  The book stays valid, the run reports
how many thumbnails failed and why, and the whole run is bounded by the
image timeout (unit-level cases: tests/test_images.py)."""

from __future__ import annotations

import shutil
import time
import zipfile

import pytest
from click.testing import CliRunner

from epub_fixtures import run_epubcheck
from exporter.cli import main
from hostile_corpus import check_epub
from test_images import image_server

# path on the test server -> the reason the run must report (None: embedded)
CASES = {
    "/good.png": None,
    "/redirect-ok": None,  # 301 -> 307 -> /good.png
    "/good.jpg": None,
    "/404": "HTTP 404",
    "/500": "HTTP 500",
    "/html": "not an image",
    "/hang": "timed out",  # never answers
    "/trickle": "timed out",  # one byte every 50 ms
    "/truncated-body": "truncated response",
    "/bomb.png": "decompression bomb",
    "/huge": "too large",  # Content-Length: 1 GB
    "/loop": "too many redirects",
    "/to-file": "redirect to non-http URL",
}


def digest(base: str) -> str:
    lines = ["## Daily Papers (2024-03-04)", ""]
    for i, path in enumerate(CASES):
        lines += [f"### [Paper {i} {path}](https://arxiv.org/abs/2403.{20000 + i})", "",
                  f"![]({base}{path})", "", "Vote: 3", "", "Authors: A B", "", "- summary", ""]
    return "\n".join(lines)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("java") is None, reason="needs Java")
def test_epub_with_a_misbehaving_image_server(tmp_path):
    with image_server() as server:
        (tmp_path / "in").mkdir()
        (tmp_path / "in" / "d.md").write_text(digest(server.base), encoding="utf-8")
        env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
        start = time.perf_counter()
        result = CliRunner().invoke(main, ["epub", str(tmp_path / "in"), "-o", str(tmp_path / "out"),
                                           "--image-timeout", "1.5", "--allow-private-hosts", "-v"], env=env, catch_exceptions=False)
        elapsed = time.perf_counter() - start
    assert result.exit_code == 0, result.output
    # All fetches run concurrently, each cut at the 1.5 s deadline.
    assert elapsed < 10, elapsed
    failing = {p: r for p, r in CASES.items() if r}
    output = result.output
    summary = [line for line in output.splitlines() if "thumbnails left out:" in line]
    assert summary and summary[0].startswith(f"digest-export: warning: {len(failing)} thumbnails left out: "), output
    for path, reason in failing.items():
        assert f"{server.base}{path} left out: {reason}" in output, (path, output)
        assert reason in summary[0]
    assert "2 timed out" in summary[0]
    assert f"{len(CASES) - len(failing)} images" in output

    book = next((tmp_path / "out").glob("*.epub"))
    facts = check_epub(book)
    with zipfile.ZipFile(book) as zf:
        embedded = [n for n in zf.namelist() if n.startswith("EPUB/images/") and "cover" not in n]
    assert len(embedded) == 2  # good.png (twice, one file by hash) and good.jpg
    assert facts["images"] == 3  # + the cover
    rep = run_epubcheck([book], tmp_path)[0]
    assert rep["checker"]["nError"] == 0 and rep["checker"]["nWarning"] == 0 and rep["checker"]["nFatal"] == 0, \
        [m["message"] for m in rep["messages"]]


def test_image_timeout_option_and_environment_variable(tmp_path, monkeypatch):
    """--image-timeout reaches ImageOptions.timeout; DIGEST_EXPORT_IMAGE_TIMEOUT sets it too."""
    import exporter.images as images

    seen = []
    real = images.load_images

    def spy(papers, options, progress=None, known=None):
        seen.append(options.timeout)
        return real(papers, options, progress, known)

    monkeypatch.setattr(images, "load_images", spy)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "d.md").write_text(
        "## Daily Papers (2024-03-04)\n\n### [T](https://arxiv.org/abs/2403.00001)\n\n![](http://127.0.0.1:9/x.png)\n\n- s\n",
        encoding="utf-8")
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    runner = CliRunner()
    args = ["epub", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "-q"]
    assert runner.invoke(main, args + ["--image-timeout", "0.5"], env=env).exit_code == 0
    assert runner.invoke(main, args, env={**env, "DIGEST_EXPORT_IMAGE_TIMEOUT": "0.25"}).exit_code == 0
    assert runner.invoke(main, args, env=env).exit_code == 0
    assert seen == [0.5, 0.25, 10.0]
    bad = runner.invoke(main, args + ["--image-timeout", "0"], env=env)
    assert bad.exit_code == 2
