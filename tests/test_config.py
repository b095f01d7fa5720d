"""digest-export.toml: keys are long option names, tables per command, CLI wins."""

import json
import os

import pytest
from click.testing import CliRunner

from exporter.cli import main

DIGEST = """## Daily Papers (2024-03-04)

### [Config Paper](https://arxiv.org/abs/2403.00001)

Vote: 3

Authors: A. Author

- text
"""


@pytest.fixture
def project(tmp_path):
    digests = tmp_path / "logs"
    digests.mkdir()
    (digests / "2024-03-04.md").write_text(DIGEST, encoding="utf-8")
    return tmp_path


def run(args, cwd):
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(main, args)
    finally:
        os.chdir(old)


def test_inputs_relative_to_config_file_and_table_keys(project, tmp_path_factory):
    (project / "digest-export.toml").write_text('inputs = ["logs"]\n[inspect]\njson = true\n')
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    result = run(["--config", str(project / "digest-export.toml"), "inspect"], elsewhere)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [p["title"] for p in data["digests"][0]["papers"]] == ["Config Paper"]


def test_config_found_in_current_folder(project):
    (project / "digest-export.toml").write_text('inputs = ["logs"]\n')
    result = run(["inspect"], project)
    assert result.exit_code == 0, result.output
    assert "1 day, 1 paper " in result.stdout
    assert "bundled sample" not in result.stderr


def test_command_line_wins_over_config(project, tmp_path_factory):
    other = tmp_path_factory.mktemp("other")
    (other / "x.md").write_text(DIGEST.replace("Config Paper", "CLI Paper"), encoding="utf-8")
    (project / "digest-export.toml").write_text('inputs = ["logs"]\n[inspect]\njson = true\n')
    result = run(["inspect", str(other)], project)
    assert result.exit_code == 0, result.output
    assert "CLI Paper" in result.stdout and "Config Paper" not in result.stdout


@pytest.mark.parametrize(
    "text, message",
    [
        ("bogus = 1\n", "unknown key 'bogus'"),
        ("[inspect]\nbogus = 1\n", "unknown key 'bogus' in [inspect]"),
        ("[inspect]\njson = 'yes'\n", "[inspect] key 'json' must be true or false"),
        ("inputs = 3\n", "key 'inputs' must be a list"),
        ("[nosuch]\nx = 1\n", "unknown table [nosuch]"),
        ("inputs = [\n", "not valid TOML"),
        # The path form, PATH:LINE:COLUMN, as every file's problem is said.
        ("title = 'a'\nx = = 1\n", "digest-export.toml:2:5: error: not valid TOML: Invalid value"),
        # A key given twice, on the last line: tomllib says "at end of document", and no key.
        ('[[selection]]\nname = "a"\nname = "b"', "digest-export.toml:3:11: error: not valid TOML: key 'name' is given a "
                                                   "value twice"),
        ('[[selection]]\n"min-votes" = 1\nmin-votes = 2\n', "digest-export.toml:3:14: error: not valid TOML: key "
                                                             "'min-votes' is given a value twice"),
    ],
)
def test_bad_config_names_key_and_file(project, text, message):
    cfg = project / "digest-export.toml"
    cfg.write_text(text)
    result = run(["inspect"], project)
    assert result.exit_code == 2
    assert message in result.output
    assert "digest-export.toml" in result.output


@pytest.mark.parametrize(
    "text, message",
    [
        ("imagse = 'none'\n", "unknown key 'imagse'; did you mean 'images'?"),
        ("[build]\nbase-ulr = 'https://example.org/'\n", "unknown key 'base-ulr' in [build]; did you mean 'base-url'?"),
        ("[build]\ndays = \"7\"\n", "[build] key 'days' must be a whole number"),
        ("[build]\ndays = 7.5\n", "[build] key 'days' must be a whole number"),
        ("image-timeout = \"10\"\n", "key 'image-timeout' must be a number"),
        ("[epub]\ntitle = 7\n", "[epub] key 'title' must be a string"),
        ("by = 3\n", "key 'by' must be one of \"week\", \"day\", \"month\", \"all\", not 3"),
        ("[send]\nsmtp-port = \"587\"\n", "[send] key 'smtp-port' must be a whole number"),
    ],
)
def test_config_typos_get_a_suggestion_and_values_are_type_checked(project, text, message):
    (project / "digest-export.toml").write_text(text)
    result = run(["inspect"], project)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "digest-export.toml" in result.output


def test_every_unknown_key_of_the_tables_is_said_at_once(project):
    """Three typos in three tables: each named in one run, not one a run."""
    (project / "digest-export.toml").write_text("[epub]\nbogus = 1\n[feed]\nfoo = 2\nformat = ['atom']\n"
                                                "[build]\nbase-ulr = 'https://example.org/'\n")
    result = run(["inspect"], project)
    assert result.exit_code == 2, result.output
    for said in ("unknown key 'bogus' in [epub]", "unknown key 'foo' in [feed]",
                 "unknown key 'base-ulr' in [build]; did you mean 'base-url'?"):
        assert said in result.output, result.output


def test_numbers_and_strings_of_the_right_type_are_taken(project):
    (project / "digest-export.toml").write_text(
        'inputs = ["logs"]\n[build]\ndays = 7\nimage-timeout = 5\ntitle = "T"\nby = "week"\n')
    assert run(["inspect"], project).exit_code == 0


#: Path-valued keys, where in the config they go, and the command that uses them.
CONFIG_PATHS = [("", "templates", ["epub"]), ("", "font", ["epub"]), ("build", "state", ["build"]),
                ("send", "password-file", ["send", "--unfinished"]), ("", "templates", ["build"])]


@pytest.mark.parametrize("kind", ["fifo", "folder", "loop"])
@pytest.mark.parametrize("table, key, command", CONFIG_PATHS)
def test_a_config_path_value_that_is_refused_names_the_file_and_key(tmp_path, kind, table, key, command):
    target = tmp_path / "thing"
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "folder":
        if key == "templates":
            return  # a folder is what it names
        target.mkdir()
    else:
        target.symlink_to("thing")
    send = 'to = "a@example.org"\nsmtp-host = "127.0.0.1"\nsmtp-user = "u"\nfrom-address = "b@example.org"\n'
    body = (f"[{table}]\n" if table else "") + f'{key} = "thing"\n' + (send if table == "send" else "")
    (tmp_path / "c.toml").write_text(body, encoding="utf-8")
    (tmp_path / "out").mkdir()
    args = ["--config", str(tmp_path / "c.toml"), command[0]] + (["out"] if command[0] == "send" else []) + command[1:]
    result = run(args, tmp_path)
    assert result.exit_code == 2, result.output
    # the file and the line of the key (after its table's header)
    assert f"c.toml:{2 if table else 1}: error: {f'[{table}] ' if table else ''}key '{key}': " in result.output, result.output
    assert "Invalid value for" not in result.output, result.output


# -- the line of a refused key -----------------------------------------------------------------

def _line_by_prefixes(text, keys):
    """The line :func:`key_line` must give, by brute force: every prefix of whole lines parsed."""
    import tomllib

    lines = text.splitlines(keepends=True)

    def holds(n):
        try:
            node = tomllib.loads("".join(lines[:n]))
        except tomllib.TOMLDecodeError:
            return None
        for key in keys:
            if not (isinstance(node, list) and key < len(node) if isinstance(key, int)
                    else isinstance(node, dict) and key in node):
                return False
            node = node[key]
        return True

    first = next((n for n in range(1, len(lines) + 1) if holds(n)), None)
    if first is None:
        return None
    start = first - 1
    while start > 0 and holds(start) is None:
        start -= 1
    return next((n + 1 for n in range(start, first) if lines[n].strip() and not lines[n].lstrip().startswith("#")),
                first)


def test_the_line_of_every_key_is_where_it_is_written():
    """Generated configs (comments, blank lines, multi-line strings and arrays, inline tables,
    dotted keys, arrays of tables): the line of each key and table is the first line of its
    statement, as parsing every prefix finds it."""
    import random
    import tomllib

    from exporter.cli.config_lines import key_line

    rnd = random.Random(7)
    pieces = ["k{} = 1\n", "# k{} = 2\n", "\n", 'm{} = """x\ny = 1\nz"""\n', "n{} = [\n  1,\n  # 2\n  3,\n]\n",
              "p{} = {{ e = 1 }}\n", "q{}.g = 2\n", "r{} = '''\n[[t]]\n'''\n"]

    def block(count):
        return "".join(rnd.choice(pieces).format(rnd.randrange(9)) for _ in range(count))

    checked = 0
    for _ in range(200):
        text = block(rnd.randrange(1, 10)) + "".join(f"\n[[t]]\n{block(rnd.randrange(1, 5))}"
                                                      for _ in range(rnd.randrange(3)))
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            continue
        keys = [(k,) for k in data] + [("t", i, *k) for i, table in enumerate(data.get("t", []))
                                       for k in [(), *((k,) for k in table)]]
        for k in keys + [("absent",), ("t", 9)]:
            assert key_line(text, k) == _line_by_prefixes(text, k), (k, text)
            checked += 1
    assert checked > 500


def test_a_refused_key_is_named_with_its_line(tmp_path):
    """The file and the line of the key (or table) a config error names, as a compiler's
    ``path:line:``: a term in the second selection's multi-line array, an unknown key in a table,
    a value of the wrong type after comments."""
    cases = [
        ('title = "Papers"\n\n[[selection]]\nname = "a"\ntop = 5\n\n[[selection]]\n# the topics\nname = "b"\n'
         'match = [\n  "video",\n  "",\n]\n', 10, "[[selection]] #2 'b': 'match': an empty term"),
        ('[epub]\nby = "week"\n\n[feed]\n# formats\nbye = 3\n', 6, "unknown key 'bye' in [feed]"),
        ('# Papers\n\n# every day\ndays = "7"\n', 4, "key 'days' must be"),
        ('[[selection]]\nname = "a"\n[[selection]]\nname = "A"\n', 4, "[[selection]] #2: 'name' \"A\" holds the capital"),
    ]
    for body, line, said in cases:
        config = tmp_path / "c.toml"
        config.write_text(body, encoding="utf-8")
        result = run(["--config", str(config), "build", "-o", str(tmp_path / "out"), "--images", "none"], tmp_path)
        assert result.exit_code == 2, result.output
        assert f"c.toml:{line}: error: {said}" in result.output, result.output
        assert not (tmp_path / "out").exists()


def test_a_config_too_long_to_search_is_named_without_a_line(tmp_path):
    """A config of 100,000 keys whose last is refused: named by its file alone, at once."""
    import time

    config = tmp_path / "c.toml"
    config.write_text("".join(f"# {i}\n" for i in range(100_000)) + 'days = "x"\n', encoding="utf-8")
    start = time.monotonic()
    result = run(["--config", str(config), "build", "-o", str(tmp_path / "out")], tmp_path)
    assert result.exit_code == 2 and "c.toml: error: key 'days' must be" in result.output, result.output
    assert time.monotonic() - start < 20


def test_an_input_of_the_config_that_is_refused_names_the_file_and_key(tmp_path):
    """An ``inputs`` entry the INPUT type refuses (a name longer than a file system allows) is the
    config's error, named by its file, line and key, as any other key's; typed on the command
    line, the same name is a usage error of the argument."""
    config = tmp_path / "c.toml"
    config.write_text(f'inputs = ["{"x" * 300}"]\n', encoding="utf-8")
    result = run(["--config", str(config), "build", "-o", str(tmp_path / "out"), "--images", "none"], tmp_path)
    assert result.exit_code == 2, result.output
    assert "c.toml:1: error: key 'inputs': the name " in result.output and "Usage:" not in result.output
    typed = run(["build", "x" * 300, "-o", str(tmp_path / "out"), "--images", "none"], tmp_path)
    assert typed.exit_code == 2 and "Invalid value for '[INPUT]...'" in typed.output, typed.output
    assert not (tmp_path / "out").exists()


def test_a_selection_the_run_refuses_is_named_where_the_config_has_it(tmp_path):
    """A selection whose folder holds files of the user's is refused once the run is planned: the
    config's error, with its file, the line of its table and its number, not a usage error."""
    (tmp_path / "out" / "top").mkdir(parents=True)
    (tmp_path / "out" / "top" / "notes.txt").write_text("mine", encoding="utf-8")
    config = tmp_path / "c.toml"
    config.write_text('title = "P"\n\n[[selection]]\nname = "a"\ntop = 1\n\n[[selection]]\nname = "top"\ntop = 2\n',
                      encoding="utf-8")
    (tmp_path / "d.md").write_text("## Daily Papers (2024-03-04)\n\n### [A](https://arxiv.org/abs/2403.00001)\n\n"
                                   "Vote: 3\n\n- x\n", encoding="utf-8")
    result = run(["--config", str(config), "build", str(tmp_path / "d.md"), "-o", str(tmp_path / "out"), "--images",
                  "none"], tmp_path)
    assert result.exit_code == 2, result.output
    assert "c.toml:7: error: [[selection]] #2 'top': " in result.output and "already holds files" in result.output
    assert "Usage:" not in result.output
    assert (tmp_path / "out" / "top" / "notes.txt").read_text(encoding="utf-8") == "mine"
