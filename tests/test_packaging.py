"""Build the wheel offline and check that templates and the sample ship inside
it and are found at run time from the installed package."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("src")
    # Build from a copy so the checkout gets no build/ or dist/ litter.
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".hypothesis")
    shutil.copytree(ROOT / "exporter", src / "exporter", ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    if (ROOT / "templates").is_dir():
        shutil.copytree(ROOT / "templates", src / "templates", ignore=ignore)
    else:
        # Branches are merged in any order: until templates/ lands, check the
        # force-include mechanism with a stand-in file.
        (src / "templates").mkdir()
        (src / "templates" / "stand-in.xhtml.j2").write_text("<p>{{ x }}</p>\n", encoding="utf-8")
    out = tmp_path_factory.mktemp("dist")
    # --no-isolation: use the installed hatchling, so this works offline.
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(src)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [whl] = out.glob("digest_export-*.whl")
    return whl


def _expected_templates() -> list[str]:
    base = ROOT / "templates"
    if not base.is_dir():
        return ["exporter/templates/stand-in.xhtml.j2"]
    return sorted("exporter/templates/" + p.relative_to(base).as_posix()
                  for p in base.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def test_wheel_contains_templates_and_sample(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for template in _expected_templates():
        assert template in names, template
    sample = ROOT / "exporter" / "sample"
    shipped = sorted(p.relative_to(ROOT).as_posix() for p in sample.rglob("*")
                     if p.is_file() and p.suffix in {".md", ".png", ".jpg", ".jpeg"})
    assert any(s.endswith(".md") for s in shipped) and any("/images/" in s for s in shipped)
    missing = [s for s in shipped if s not in names]
    assert not missing, missing
    assert any(n.endswith(".dist-info/entry_points.txt") for n in names)
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "digest-export = exporter.__main__:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_installed_wheel_finds_its_resources(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    code = (
        "import exporter.resources as r, json; "
        "print(json.dumps([str(r.templates_dir()), str(r.sample_dir()), r.__file__]))"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    proc = subprocess.run([sys.executable, "-c", code], cwd=elsewhere, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    import json

    templates, sample, module = (Path(p) for p in json.loads(proc.stdout))
    assert module.is_relative_to(site), module  # not the checkout
    assert templates == site / "exporter" / "templates" and templates.is_dir()
    assert sample == site / "exporter" / "sample"
    assert sorted(sample.rglob("*.md")) and (sample / "images").is_dir()
    # The installed package reads its own sample without errors.
    proc = subprocess.run(
        [sys.executable, "-m", "exporter", "inspect", "--json", "-q"], cwd=elsewhere, env=env,
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["totals"]["errors"] == 0
