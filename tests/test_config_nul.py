"""A NUL in a path from the config is a config error naming the key (exit 2), not a crash."""
import pytest
from click.testing import CliRunner

from exporter.cli import main


@pytest.mark.parametrize("key", ["inputs = [\"x\\u0000y\"]", "output = \"o\\u0000p\""])
def test_nul_in_config_path(tmp_path, monkeypatch, key):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.toml").write_text(key + "\n")
    result = CliRunner().invoke(main, ["--config", "c.toml", "inspect"])
    assert result.exit_code == 2, result.output
    assert "NUL" in result.output and key.split()[0] in result.output
