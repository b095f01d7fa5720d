"""`epub -j N`: books built by worker processes are the books built here."""

import datetime as dt

from click.testing import CliRunner

from exporter.cli import main

START = dt.date(2024, 3, 4)  # a Monday


def write_weeks(folder, weeks=4):
    folder.mkdir()
    for w in range(weeks):
        date = START + dt.timedelta(days=7 * w)
        lines = [f"## Daily Papers ({date.isoformat()})", ""]
        for i in range(3):
            lines += [f"### [Week {w} paper {i}](https://arxiv.org/abs/2403.{w:02d}{i:03d})", "",
                      f"Vote: {i}", "", "Authors: A. Author", "", f"- summary **{w}-{i}**", ""]
        (folder / f"{date.isoformat()}.md").write_text("\n".join(lines), encoding="utf-8")
    return folder


def test_workers_write_the_same_bytes_and_report_in_order(tmp_path):
    src = write_weeks(tmp_path / "in")
    outs = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}"
        result = CliRunner().invoke(main, ["epub", str(src), "-o", str(out), "--images", "none", "-j", jobs])
        assert result.exit_code == 0, result.output
        books = [line.split()[0] for line in result.stdout.splitlines() if ".epub" in line]
        assert [b.rsplit("/", 1)[-1] for b in books] == [
            f"daily-papers-2024-W{10 + w}.epub" for w in range(4)]  # in order, with workers too
        assert "4 books, 4 days, 12 papers" in result.stdout
        outs[jobs] = {p.name: p.read_bytes() for p in sorted(out.glob("*.epub"))}
    assert outs["1"] == outs["2"] and len(outs["1"]) == 4


def test_a_worker_is_renewed_after_a_number_of_periods_not_of_books(tmp_path, monkeypatch):
    """A task is one period, every folder's books of it: a build with selections renews its
    workers as often as one without (a fresh worker copies the model's pages again)."""
    import exporter.books.workers as workers

    seen = []
    real = workers.fork_pool

    def fork_pool(count, **options):
        seen.append(options.get("maxtasksperchild"))
        return real(count, **options)

    monkeypatch.setattr(workers, "fork_pool", fork_pool)
    src = write_weeks(tmp_path / "in")
    config = tmp_path / "c.toml"
    config.write_text('[[selection]]\nname = "a"\ntop = 1\n[[selection]]\nname = "b"\ntop = 2\n'
                      '[[selection]]\nname = "c"\nmin-votes = 1\n', encoding="utf-8")
    for args in (["build", str(src), "-o", str(tmp_path / "plain")],
                 ["--config", str(config), "build", str(src), "-o", str(tmp_path / "chosen")]):
        result = CliRunner().invoke(main, [*args, "--images", "none", "-j", "2"])
        assert result.exit_code == 0, result.output
    assert seen == [workers.PERIODS_PER_WORKER] * 2
