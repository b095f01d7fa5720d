"""The front page passes axe-core (the engine of Ace by DAISY) in headless
Chromium at phone and desktop widths, with no violation of any impact; a
page made broken on purpose shows the check would see one."""

from __future__ import annotations

import functools
import http.server
import json
import os
import subprocess
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from ace_check import ace_dir, browser, require_ace
from exporter.cli import main

SIZES = "390x844,1280x900"
RUNNER = Path(__file__).with_name("axe_page.js")


def axe(folder: Path, *pages: str) -> dict[str, list[dict]]:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        urls = [f"http://127.0.0.1:{server.server_port}/{page}" for page in pages]
        env = dict(os.environ, PUPPETEER_EXECUTABLE_PATH=browser() or "", PUPPETEER_SKIP_DOWNLOAD="1")
        proc = subprocess.run(["node", str(RUNNER), str(ace_dir()), SIZES, *urls],
                              capture_output=True, text=True, timeout=300, env=env)
    finally:
        server.shutdown()
        server.server_close()
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {key.split("/", 3)[-1]: found for key, found in json.loads(proc.stdout).items()}


@pytest.mark.slow
def test_front_page_has_no_axe_violation(tmp_path):
    require_ace()
    out = tmp_path / "site"
    for lang_args in ((), ("--lang", "en")):
        result = CliRunner().invoke(main, ["build", "-o", str(out), "-q", *lang_args],
                                    env={"XDG_CACHE_HOME": str(tmp_path / "cache")})
        assert result.exit_code == 0, result.output
        html = (out / "index.html").read_text(encoding="utf-8")
        assert "<img" in html  # the covers are on the page
        broken = html.replace('<html lang="', '<html data-lang="').replace('alt="', 'data-alt="')
        (out / "broken.html").write_text(broken, encoding="utf-8")
        found = axe(out, "index.html", "broken.html")
        for size in SIZES.split(","):
            assert found[f"index.html @ {size}"] == [], found[f"index.html @ {size}"]
            assert {"html-has-lang", "image-alt"} <= {v["id"] for v in found[f"broken.html @ {size}"]}
