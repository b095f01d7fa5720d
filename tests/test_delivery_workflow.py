"""docs/examples/daily.yml: it parses, its example config is valid, and every
digest-export command in it is accepted by the CLI (run on the bundled
sample, sending as a dry run)."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import yaml
from click.testing import CliRunner

from exporter.cli import main
from exporter.resources import sample_dir

WORKFLOW = Path(__file__).resolve().parents[1] / "docs" / "examples" / "daily.yml"


def example_config(text: str) -> dict:
    """The ``digest-export.toml:`` block of the header comment."""
    block = text.split("# digest-export.toml:\n", 1)[1]
    lines = []
    for line in block.splitlines():
        if not line.startswith("#   "):
            break
        lines.append(line[4:])
    return tomllib.loads("\n".join(lines))


def commands(workflow: dict) -> list[list[str]]:
    found = []
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            for line in step.get("run", "").replace("\\\n", " ").splitlines():
                if re.match(r"\s*digest-export\b", line):
                    found.append(shlex.split(line, comments=True)[1:])
    return found


def test_workflow_parses_and_its_commands_run(tmp_path, monkeypatch):
    text = WORKFLOW.read_text(encoding="utf-8")
    workflow = yaml.safe_load(text)
    # PyYAML reads the key "on" as True (YAML 1.1); GitHub reads it as "on".
    assert workflow[True]["schedule"][0]["cron"]
    assert workflow["permissions"]["pages"] == "write"
    lines = commands(workflow)
    assert ["build", "--send"] in lines
    assert "DIGEST_EXPORT_SMTP_PASSWORD: ${{ secrets.SMTP_PASSWORD }}" in text

    config = example_config(text)
    assert config["build"]["send"] is True and config["send"]["to"]
    config["inputs"] = [str(sample_dir())]
    config["build"].update({"images": "none", "base-url": "https://example.org/papers/"})
    config["send"]["dry-run"] = True
    monkeypatch.chdir(tmp_path)
    (tmp_path / "digest-export.toml").write_text(_toml(config), encoding="utf-8")
    for args in lines:
        if args and args[0] == "send":
            args = [*args, "--dry-run"]
        # The password as the workflow's step gives it (a repository secret): a dry run checks
        # that there is one, as the run does.
        r = CliRunner().invoke(main, args, env={"DIGEST_EXPORT_TODAY": "2024-03-18",
                                                "DIGEST_EXPORT_SMTP_PASSWORD": "secret"})
        assert r.exit_code == 0, (args, r.output)
        assert "would send " in r.stdout and "/public/daily-papers-2024-W10.epub (" in r.stdout
    assert (tmp_path / "public" / "index.html").is_file()


def _toml(config: dict) -> str:
    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'

    top = [f"{k} = {value(v)}" for k, v in config.items() if not isinstance(v, dict)]
    tables = [f"[{k}]\n" + "\n".join(f"{kk} = {value(vv)}" for kk, vv in v.items())
              for k, v in config.items() if isinstance(v, dict)]
    return "\n".join(top + tables) + "\n"
