"""build --finished-only: books of finished periods only, and latest.epub."""

import json

from click.testing import CliRunner

from epub_fixtures import day_md, paper_md
from exporter.cli import main
from exporter.state import STATE_NAME


def build(logs, out, *extra, today):
    return CliRunner().invoke(main, ["build", str(logs), "-o", str(out), "--images", "none", "--finished-only",
                                     *extra], env={"DIGEST_EXPORT_TODAY": today})


def write(logs, date, n):
    logs.mkdir(exist_ok=True)
    (logs / f"{date}.md").write_text(day_md(date, [paper_md(f"2403.{n:05d}", f"P{n}")]), encoding="utf-8")


def test_finished_only_and_latest(tmp_path):
    logs, out = tmp_path / "in", tmp_path / "out"
    write(logs, "2024-03-04", 1)   # W10: Mon 4 .. Sun 10
    write(logs, "2024-03-11", 2)   # W11
    r = build(logs, out, today="2024-03-10")  # W10's Sunday: not finished yet
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.glob("*.epub")) == []
    r = build(logs, out, today="2024-03-11")
    assert sorted(p.name for p in out.glob("*.epub")) == ["daily-papers-2024-W10.epub", "latest.epub"]
    assert (out / "latest.epub").read_bytes() == (out / "daily-papers-2024-W10.epub").read_bytes()
    page = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="latest.epub"' in page
    state = json.loads((out / STATE_NAME).read_text(encoding="utf-8")) if (out / STATE_NAME).exists() else None
    assert state is None or "latest.epub" in json.dumps(state)
    r = build(logs, out, "--today", "2024-03-18", today="2024-03-11")  # the flag wins over the env
    assert (out / "latest.epub").read_bytes() == (out / "daily-papers-2024-W11.epub").read_bytes()
    # Without --finished-only: every book, and no latest.epub (removed as written before).
    r = CliRunner().invoke(main, ["build", str(logs), "-o", str(out), "--images", "none"])
    assert r.exit_code == 0, r.output
    assert not (out / "latest.epub").exists()
    assert 'href="latest.epub"' not in (out / "index.html").read_text(encoding="utf-8")
