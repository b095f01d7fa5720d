"""Ace by DAISY (axe-core in Chromium plus EPUB package rules) on built books.

Ace is an npm package (``@daisy/ace``), installed outside the repository by
``.ci/install-ace.sh`` into ``$DIGEST_EXPORT_ACE_DIR`` (default
``~/.cache/digest-export-ace``); it drives Chromium through puppeteer
(``PUPPETEER_EXECUTABLE_PATH``, default the first ``chromium`` on PATH).
:func:`run_ace` checks many books in one node process and one Chromium
start (``ace_batch.js``); :func:`violations` lists what a report found.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

#: The version .ci/install-ace.sh installs: a new Ace brings new rules, so
#: it is taken on purpose, not by whoever installs last.
ACE_VERSION = "1.4.6"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
RUNNER = Path(__file__).with_name("ace_batch.js")


def ace_dir() -> Path:
    """Where ``npm install @daisy/ace`` put its ``node_modules``."""
    default = Path.home() / ".cache" / "digest-export-ace"
    return Path(os.environ.get("DIGEST_EXPORT_ACE_DIR") or default)


def browser() -> str | None:
    given = os.environ.get("PUPPETEER_EXECUTABLE_PATH")
    if given:
        return given if Path(given).is_file() else None
    return next(filter(None, map(shutil.which, BROWSERS)), None)


def missing() -> str | None:
    """Why Ace cannot run here, or None."""
    if shutil.which("node") is None:
        return "needs node (Ace by DAISY is a node program)"
    package = ace_dir() / "node_modules" / "@daisy" / "ace" / "package.json"
    version = json.loads(package.read_text(encoding="utf-8"))["version"] if package.is_file() else None
    if version != ACE_VERSION:
        found = f"found {version}" if version else "not found"
        return (f"needs Ace by DAISY {ACE_VERSION} in {ace_dir()}, {found} "
                "(bash .ci/install-ace.sh, or set DIGEST_EXPORT_ACE_DIR)")
    if browser() is None:
        return "needs Chromium for Ace (apt-get install chromium, or set PUPPETEER_EXECUTABLE_PATH)"
    return None


def require_ace() -> None:
    """Skip when Ace cannot run here; on CI (``CI=true``) that is a failure."""
    reason = missing()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but Ace cannot run: {reason}", pytrace=False)
    pytest.skip(reason)


def run_ace(paths: list[Path], out_dir: Path) -> list[dict]:
    """Ace on every path (one node process, one Chromium); its JSON report per file."""
    env = dict(os.environ, PUPPETEER_EXECUTABLE_PATH=browser() or "",
               # puppeteer would look for its own browser download otherwise
               PUPPETEER_SKIP_DOWNLOAD="1")
    proc = subprocess.run(["node", str(RUNNER), str(ace_dir()), str(out_dir), *map(str, paths)],
                          capture_output=True, text=True, timeout=600, env=env)
    reports = []
    for i, path in enumerate(paths):
        report = out_dir / str(i) / "report.json"
        assert report.is_file(), (f"no Ace report for {path} (exit {proc.returncode}):\n"
                                  f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        reports.append(json.loads(report.read_text(encoding="utf-8")))
    return reports


def violations(report: dict) -> list[str]:
    """Every violation in one Ace report, of any impact, as one line each."""
    found = []
    for subject in report["assertions"]:
        where = subject["earl:testSubject"]["url"]
        for item in subject.get("assertions", []):
            if item["earl:result"]["earl:outcome"] != "fail":
                continue
            test = item["earl:test"]
            result = item["earl:result"]
            pointer = result.get("earl:pointer", {}).get("css", [])
            description = " / ".join(result.get("dct:description", "").splitlines())
            found.append(f"{where}: {test['earl:impact']} {test['dct:title']}: {description} {pointer[:3]}")
    if not found and report["earl:result"]["earl:outcome"] != "pass":
        found.append(f"outcome {report['earl:result']['earl:outcome']} with no violation listed")
    return found

