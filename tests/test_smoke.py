from click.testing import CliRunner

from exporter.cli import main


def test_inspect_sample_counts_days_and_papers():
    result = CliRunner().invoke(main, ["inspect", "--json"])
    assert result.exit_code == 0, result.output
    assert '"days": ' in result.stdout
