"""Memory while thumbnails are decoded does not grow with their number.

The pixel budget lets one large picture be decoded at a time, but glibc kept
what each download thread freed in that thread's own malloc arena: ten
pictures of 40 megapixels peaked at 1.35 GB, two at 250 MB; with two arenas, 350 to 650 MB.  The image
stage limits the process to two arenas (exporter.images.load._few_heaps).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PEAK = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def _peak_kb(tmp: Path, count: int) -> int:
    """Peak memory (KB) of ``epub`` of one day whose *count* papers each have a 6000x6000
    local thumbnail of its own."""
    from PIL import Image

    folder = tmp / f"n{count}"
    folder.mkdir()
    Image.new("RGB", (6000, 6000), (200, 10, 10)).save(folder / "p0.png")
    data = (folder / "p0.png").read_bytes()
    papers = []
    for i in range(count):
        (folder / f"p{i}.png").write_bytes(data)
        papers.append(f"### [P{i}](https://arxiv.org/abs/2403.{i:05d})\n\n![](p{i}.png)\n\n"
                      "Vote: 1\n\nAuthors: A\n\n- x\n")
    (folder / "2024-03-04.md").write_text("## Daily Papers (2024-03-04)\n\n" + "\n".join(papers), encoding="utf-8")
    cmd = [sys.executable, "-m", "exporter", "epub", str(folder / "2024-03-04.md"), "-o", str(folder / "out"),
           "-q", "-j", "1"]
    env = {"XDG_CACHE_HOME": str(folder / "cache"), "PATH": "/usr/bin:/bin",
           "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    out = subprocess.run([sys.executable, "-c", PEAK, *cmd], capture_output=True, text=True, env=env,
                         timeout=300, check=True).stdout
    assert (folder / "out").is_dir() and any((folder / "out").glob("*.epub"))
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc arenas")
def test_peak_memory_does_not_grow_with_the_number_of_thumbnails(tmp_path):
    two, ten = _peak_kb(tmp_path, 2), _peak_kb(tmp_path, 10)
    # 36 MP decoded is ~110 MB of pixels: ten of them kept in eight arenas were about 800 MB
    # more; two arenas may keep a few pictures' worth (up to 410 MB more was seen).
    assert ten < two + 600_000, (two, ten)
