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


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_a_config_in_utf16_or_utf32_without_a_bom_is_named_so(tmp_path, monkeypatch, codec):
    """A config saved as UTF-16 or UTF-32 without a byte-order mark has NUL bytes between its
    letters: the refusal says which encoding it is, not only "a NUL byte"."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.toml").write_bytes('title = "Papers"\n'.encode(codec))
    result = CliRunner().invoke(main, ["--config", "c.toml", "inspect"])
    assert result.exit_code == 2, result.output
    assert f"c.toml:1: error: {codec[:6].upper()} without a byte-order mark" in result.output, result.output
    assert "save it as UTF-8" in result.output, result.output


def test_a_password_file_in_utf16_is_named_so(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "books").mkdir()
    (tmp_path / "pw").write_bytes("secret\n".encode("utf-16-le"))
    (tmp_path / "pw").chmod(0o600)
    result = CliRunner().invoke(main, ["send", "books", "--to", "me@kindle.com", "--smtp-user", "me@example.org",
                                       "--password-file", "pw", "--dry-run"], env={"DIGEST_EXPORT_SMTP_PASSWORD": ""})
    assert result.exit_code == 2, result.output
    assert "the SMTP password file cannot be used: it is UTF-16 or UTF-32, not UTF-8" in result.output, result.output
    assert "secret" not in result.output
