"""What the daily run says: -v and --no-quiet against the config, thumbnails
summarised by host, warnings of the chosen days only, plurals."""

from click.testing import CliRunner

from epub_fixtures import day_md, paper_md
from exporter.cli import main


def invoke(args, **kwargs):
    return CliRunner().invoke(main, [str(a) for a in args], **kwargs)


def one_day(folder, date="2024-03-04", *, thumbs=(), votes="12"):
    folder.mkdir(parents=True, exist_ok=True)
    papers = [paper_md(f"2403.{i:05d}", f"Paper {i}", thumb=t, votes=votes)
              for i, t in enumerate(thumbs or [None], start=int(date[-2:]) * 10)]
    (folder / f"{date}.md").write_text(day_md(date, papers), encoding="utf-8")
    return folder


def test_every_command_has_no_quiet():
    for name, command in main.commands.items():
        opts = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
        assert {"--quiet", "--no-quiet"} <= opts, name


def test_verbose_beats_quiet_from_the_config(tmp_path):
    logs = one_day(tmp_path / "in")
    config = tmp_path / "digest-export.toml"
    config.write_text("quiet = true\n", encoding="utf-8")
    for command in ("build", "epub"):
        quiet = invoke(["--config", config, command, logs, "-o", tmp_path / command, "--images", "none"])
        assert quiet.exit_code == 0 and quiet.stdout == "", quiet.output
        loud = invoke(["--config", config, command, logs, "-o", tmp_path / f"{command}2", "--images", "none",
                       "-v"])
        assert loud.exit_code == 0 and "1 book" in loud.stdout, loud.output
        undone = invoke(["--config", config, command, logs, "-o", tmp_path / f"{command}3",
                         "--images", "none", "--no-quiet"])
        assert "1 book" in undone.stdout, undone.output
    # -q on the command line is obeyed even with -v.
    both = invoke(["build", logs, "-o", tmp_path / "b4", "--images", "none", "-q", "-v"])
    assert both.stdout == "", both.output


def test_thumbnails_left_out_are_summarised_by_host(tmp_path):
    thumbs = [f"http://127.0.0.1/{i}.png" for i in range(3)] + ["http://localhost/x.png"]
    logs = one_day(tmp_path / "in", thumbs=thumbs)
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    for command in ("epub", "build"):
        short = invoke([command, logs, "-o", tmp_path / command], env=env)
        assert short.exit_code == 0, short.output
        assert "digest-export: warning: 3 thumbnails from 127.0.0.1 left out: blocked: loopback address" \
            in short.stderr, short.stderr
        assert "1 thumbnail from localhost left out: blocked: loopback address" in short.stderr
        assert "thumbnail http://127.0.0.1/0.png left out" not in short.stderr
        assert "4 thumbnails left out: 4 blocked: loopback address" in short.stderr
        full = invoke([command, logs, "-o", tmp_path / f"{command}-v", "-v"], env=env)
        assert "thumbnail http://127.0.0.1/0.png left out: blocked: loopback address" in full.stderr


def test_warnings_only_for_the_days_being_built(tmp_path):
    logs = one_day(tmp_path / "in", "2024-03-04", votes="many")
    one_day(logs, "2024-03-12")
    result = invoke(["epub", logs, "-o", tmp_path / "out", "--images", "none", "--from", "2024-03-11"])
    assert result.exit_code == 0, result.output
    assert "2024-03-04.md" not in result.stderr, result.stderr
    assert result.stdout.splitlines()[-1] == "1 book, 1 day, 1 paper, 0 images, 1 warning"
    everything = invoke(["epub", logs, "-o", tmp_path / "all", "--images", "none"])
    assert "2024-03-04.md:" in everything.stderr and "not a number" in everything.stderr


def test_plurals(tmp_path):
    logs = one_day(tmp_path / "in")
    inspect = invoke(["inspect", logs])
    assert inspect.stdout.splitlines()[-1] == "1 day, 1 paper (1 distinct), 0 errors, 1 warning"
    build = invoke(["build", logs, "-o", tmp_path / "out", "--images", "none"])
    summary = build.stdout.splitlines()[-1]
    assert summary.startswith("1 book (1 built, 0 skipped), 1 day, 1 paper, 0 images;"), summary
    epub = invoke(["epub", logs, "-o", tmp_path / "books", "--images", "none"])
    assert "(1 day, 1 paper)" in epub.stdout, epub.stdout
