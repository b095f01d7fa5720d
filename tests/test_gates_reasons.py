"""The reason given for a refused value is the real one, said by the gate that checks its kind:
a number out of its range "must be at least 1 (a whole number from 1 to 100000)", never "must
be a whole number", wherever it comes from (an option, the config, a selection); two dates in
the wrong order name both where the user wrote them."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from exporter.cli import main
from exporter.cli.config import _bounds
from exporter.cli.options import Seconds
from hostile_three import SETTINGS, run_cli

SAMPLE = Path(__file__).parent.parent / "exporter" / "sample"


@pytest.fixture(autouse=True)
def _in_a_folder_of_its_own(tmp_path, monkeypatch):
    """Each test in a folder of its own: a command given no -o (or one a test expected to refuse)
    writes there, never into the checkout."""
    monkeypatch.chdir(tmp_path)


def run(args: list, tmp: Path):
    return run_cli([str(a) for a in args], tmp, {"XDG_STATE_HOME": str(tmp / "state")})


def _number_options():
    """Every option of every command whose value is a number with a range: (command, long name,
    low, high, whole), read from the commands themselves so that a new one is tested too."""
    found = []
    for name, command in sorted(main.commands.items()):
        for param in command.params:
            whole = isinstance(param.type, click.types.IntParamType)
            if not (whole or isinstance(param.type, (click.types.FloatParamType, Seconds))):
                continue
            low, high = _bounds(param.type)
            longs = [o for o in param.opts if o.startswith("--")]
            if low is not None and longs:
                found.append((name, longs[0][2:], low, high, whole))
    return found


NUMBER_OPTIONS = _number_options()


def test_the_number_options_are_found():
    assert {("feed", "days"), ("build", "limit"), ("epub", "top"), ("send", "smtp-port"),
            ("build", "image-timeout"), ("send", "max-size")} <= {(c, k) for c, k, *_ in NUMBER_OPTIONS}


def _shown(bound):
    return str(int(bound)) if float(bound).is_integer() else str(bound)


def _out_of_range(low, high, whole):
    """Values on either side of [low, high]: 0 and -1 included, whatever the bounds."""
    below = st.integers(max_value=int(low) - 1 if whole or float(low).is_integer() else int(low)).filter(
        lambda v: v < low)
    above = st.integers(min_value=int(high) + 1, max_value=int(high) + 10**12)
    return st.one_of(below, above)


@pytest.mark.parametrize("command, key, low, high, whole", NUMBER_OPTIONS,
                         ids=[f"{c}-{k}" for c, k, *_ in NUMBER_OPTIONS])
@settings(max_examples=8, **SETTINGS)
@given(data=st.data())
def test_a_config_number_out_of_range_says_its_range(tmp_path_factory, command, key, low, high, whole, data):
    value = data.draw(st.one_of(st.sampled_from([0, -1, low - 1]), _out_of_range(low, high, whole))
                      .filter(lambda v: v < low or v > high), label="value")
    tmp = tmp_path_factory.mktemp("cfg")
    config = tmp / "digest-export.toml"
    config.write_text(f"[{command}]\n{key} = {value}\n", encoding="utf-8")
    result = run(["--config", config, command, "--help"], tmp)
    assert result.exit_code == 2, result.output
    kind = "a whole number" if whole else "a number"
    side = f"at least {_shown(low)}" if value < low else f"at most {_shown(high)}"
    assert f"key '{key}' must be {side} ({kind} from {_shown(low)} to {_shown(high)}), not {value}" \
        in result.output, result.output
    assert "must be a whole number" not in result.output and "must be a number" not in result.output
    assert str(config) in result.output


@pytest.mark.parametrize("command, key, low, high, whole", NUMBER_OPTIONS,
                         ids=[f"{c}-{k}" for c, k, *_ in NUMBER_OPTIONS])
@settings(max_examples=8, **SETTINGS)
@given(data=st.data())
def test_an_option_number_out_of_range_says_its_range(tmp_path_factory, command, key, low, high, whole, data):
    value = data.draw(st.one_of(st.sampled_from([0, -1]), _out_of_range(low, high, whole))
                      .filter(lambda v: v < low or v > high), label="value")
    tmp = tmp_path_factory.mktemp("opt")
    result = run([command, f"--{key}={value}"], tmp)
    assert result.exit_code == 2, result.output
    side = f"at least {_shown(low)}" if value < low else f"at most {_shown(high)}"
    assert f"'--{key}'" in result.output and f"must be {side} (" in result.output, result.output
    assert f"from {_shown(low)} to {_shown(high)})" in result.output, result.output
    assert "is not a" not in result.output and "is negative" not in result.output, result.output


@pytest.mark.parametrize("key, low, high", [("top", 1, 100000), ("min-votes", 0, 10**9)])
@settings(max_examples=10, **SETTINGS)
@given(data=st.data())
@example(data=None)
def test_a_selection_number_out_of_range_says_its_range(tmp_path_factory, key, low, high, data):
    value = low - 1 if data is None else data.draw(
        st.one_of(st.integers(max_value=low - 1), st.integers(min_value=high + 1)), label="value")
    tmp = tmp_path_factory.mktemp("sel")
    config = tmp / "digest-export.toml"
    config.write_text(f'[[selection]]\nname = "s"\n{key} = {value}\n', encoding="utf-8")
    result = run(["--config", config, "build", SAMPLE, "-o", tmp / "out"], tmp)
    assert result.exit_code == 2, result.output
    side = f"at least {low}" if value < low else f"at most {high}"
    assert f"'{key}' must be {side} (a whole number from {low} to {high}), not {value}" in result.output, \
        result.output
    assert not (tmp / "out").exists()


def test_a_fraction_is_still_called_no_whole_number(tmp_path):
    config = tmp_path / "digest-export.toml"
    config.write_text("days = 2.5\n", encoding="utf-8")
    result = run(["--config", config, "feed", "--help"], tmp_path)
    assert result.exit_code == 2
    assert "not 2.5: not a whole number" in result.output, result.output


# -- --from later than --to: both named, where each was given ------------------------------------

@pytest.mark.parametrize("command", ["epub", "build"])
@pytest.mark.parametrize("table", ["", "[{command}]\n"])
def test_from_after_to_in_the_config_names_the_file_and_both_keys(tmp_path, command, table):
    config = tmp_path / "digest-export.toml"
    config.write_text(f"{table.format(command=command)}from = 2024-03-10\nto = 2024-03-01\n", encoding="utf-8")
    out = tmp_path / "out"
    result = run(["--config", config, command, SAMPLE, "-o", out, "--images", "none"], tmp_path)
    assert result.exit_code == 2, result.output
    section = f"[{command}] " if table else ""
    assert (f"{config}: error: {section}key 'from' = 2024-03-10 must not be later than {section}key 'to' = 2024-03-01"
            in result.output), result.output
    assert not out.exists()


def test_from_after_to_on_the_command_line_names_both_options(tmp_path):
    result = run(["epub", SAMPLE, "-o", tmp_path / "out", "--from", "2024-03-10", "--to", "2024-03-01"], tmp_path)
    assert result.exit_code == 2, result.output
    assert "--from 2024-03-10 must not be later than --to 2024-03-01" in result.output, result.output


def test_from_after_to_half_in_the_config_names_each_where_it_was_given(tmp_path):
    config = tmp_path / "digest-export.toml"
    config.write_text("to = 2024-03-01\n", encoding="utf-8")
    result = run(["--config", config, "epub", SAMPLE, "-o", tmp_path / "out", "--from", "2024-03-10"], tmp_path)
    assert result.exit_code == 2, result.output
    assert f"--from 2024-03-10 must not be later than key 'to' = 2024-03-01 (in {config})" in result.output, \
        result.output


# -- a selection name says its alphabet, not "lower-case" ----------------------------------------

OTHER_LETTERS = st.characters(categories=["Ll", "Lo", "Lt", "Lm"]).filter(lambda c: not c.isascii())


@settings(max_examples=40, **SETTINGS)
@given(head=st.text("abc-1", max_size=3), letter=OTHER_LETTERS, via=st.sampled_from(["config", "send"]))
@example(head="", letter="ä", via="config")
def test_a_selection_name_with_a_letter_outside_ascii_says_the_alphabet(tmp_path_factory, head, letter, via):
    tmp = tmp_path_factory.mktemp("name")
    name = "a" + head + letter
    if via == "config":
        config = tmp / "digest-export.toml"
        config.write_text(f'[[selection]]\nname = "{name}"\n', encoding="utf-8")
        result = run(["--config", config, "build", SAMPLE, "-o", tmp / "out"], tmp)
    else:
        result = run(["send", tmp, "--to", "me@example.org", "--dry-run", "--selection", name], tmp)
    assert result.exit_code == 2, result.output
    assert "ASCII lower-case letters (a-z), digits (0-9) and '-'" in result.output, result.output
    assert "which is not an ASCII letter" in result.output, result.output
    assert "must be lower-case" not in result.output


# -- twins in NFC and NFD print differently ------------------------------------------------------

COMPOSED = st.text(st.sampled_from(list("한글논문가éüñÅ")) | st.sampled_from(list("ab-")), min_size=1, max_size=6)


@settings(max_examples=200, **SETTINGS)
@given(stem=COMPOSED)
def test_a_name_and_its_nfd_twin_are_shown_differently(stem):
    import unicodedata

    from exporter.gates.names import shell_quote

    nfc, nfd = unicodedata.normalize("NFC", stem + ".md"), unicodedata.normalize("NFD", stem + ".md")
    assert shell_quote(nfc) == nfc  # the NFC name as it is: what people type
    if nfd != nfc:
        assert shell_quote(nfd) != shell_quote(nfc), nfd
        assert shell_quote(nfd).isascii() or unicodedata.is_normalized("NFC", shell_quote(nfd)), shell_quote(nfd)


def test_twins_in_one_folder_are_told_apart_and_paste_back(tmp_path):
    import subprocess
    import unicodedata

    folder = tmp_path / "in"
    folder.mkdir()
    nfc, nfd = "한글.md", unicodedata.normalize("NFD", "한글.md")
    for name in (nfc, nfd):
        (folder / name).write_text("no heading here\n", encoding="utf-8")
    result = run(["inspect", "--allow-empty", folder], tmp_path)
    lines = [line for line in result.output.splitlines() if "warning" in line]
    shown = sorted(line.split(":1: warning")[0] for line in lines if ":1: warning" in line)
    assert len(shown) == 2 and shown[0] != shown[1], result.output
    assert f"{folder}/{nfc}" in shown, shown
    # The escaped spelling is the NFD name itself for a shell (bash's $'...').
    twin = next(s for s in shown if s != f"{folder}/{nfc}")
    pasted = subprocess.run(["bash", "-c", f"printf %s {twin}"], capture_output=True, check=True).stdout
    assert pasted == f"{folder}/{nfd}".encode(), (twin, pasted)


def _path_keys():
    """Every (command, key) whose value is a path, read from the commands (INPUT as ``inputs``)."""
    from exporter.cli.config import _long_names

    return [(name, key, isinstance(param, click.Argument) or param.multiple)
            for name, command in sorted(main.commands.items())
            for key, param in _long_names(command).items() if isinstance(param.type, click.Path)]


@pytest.mark.parametrize("command, key, many", _path_keys(), ids=lambda v: str(v))
@pytest.mark.parametrize("where", ["top", "table"])
def test_an_empty_path_in_the_config_is_refused_naming_its_key(tmp_path, command, key, many, where):
    """``output = ""`` once wrote into the config's own folder (the option refuses ""): every
    path key refuses it, by its file and key, exit 2, and nothing is written."""
    value = '[""]' if many else '""'
    body = f"{key} = {value}\n" if where == "top" else f"[{command}]\n{key} = {value}\n"
    config = tmp_path / "c.toml"
    config.write_text(body, encoding="utf-8")
    before = sorted(p.name for p in tmp_path.iterdir())
    args = ["--config", config, command] + ([SAMPLE] if key != "inputs" and command != "send" else [])
    result = run(args + (["--to", "a@example.org", "--dry-run"] if command == "send" else []), tmp_path)
    assert result.exit_code == 2, result.output
    assert f"c.toml:{1 if where == 'top' else 2}: error: {'' if where == 'top' else f'[{command}] '}key '{key}' must be a path" \
        in result.output, \
        result.output
    assert "an empty path names no file or folder" in result.output
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "state") == before


def _shared_keys():
    """Top-level keys that two commands take with values of different kinds ('to': a date for the
    book commands, addresses for send)."""
    from exporter.cli.config import _expected, _long_names

    kinds: dict[str, set[str]] = {}
    for command in main.commands.values():
        for key, param in _long_names(command).items():
            kinds.setdefault(key, set()).add(_expected(param))
    return sorted(key for key, seen in kinds.items() if len(seen) > 1)


def test_the_shared_keys_are_known():
    assert _shared_keys() == ["to"]


@pytest.mark.parametrize("value, fits", [
    ('"garbage"', None), ('"2024-13-01"', None), ('"2024-02-30"', None), ('"me@kindle.com"', None),
    ('2024-03-10', "epub"), ('"2024-03-10"', "both"), ('["me@kindle.com"]', "send"),
])
def test_a_top_level_key_of_two_meanings_is_never_dropped(tmp_path, value, fits):
    """A top-level 'to' is the last day for epub/feed/build and the addresses for send: a value of
    a kind only one of them takes (a TOML date, a list) goes to it; a string that a command takes
    as its kind but refuses is an error naming the file and key, not left to the other meaning
    (``to = "garbage"`` once built every day, unsaid)."""
    config = tmp_path / "c.toml"
    config.write_text(f"to = {value}\n", encoding="utf-8")
    epub = run(["--config", config, "epub", SAMPLE, "-o", tmp_path / "out", "--images", "none", "-q"], tmp_path)
    send = run(["--config", config, "send", tmp_path / "out", "--dry-run", "-q"], tmp_path)
    if fits is None:
        assert epub.exit_code == 2 and "c.toml:1: error: key 'to' must be a date" in epub.output, epub.output
        assert "write it in the [send] table if it is for send" in epub.output or '"2024' in epub.output
        assert not (tmp_path / "out").exists()
    elif fits == "both":  # a string is of both kinds: a date to epub, an address send refuses
        assert epub.exit_code == 0, epub.output
        assert send.exit_code == 2 and "c.toml:1: error: key 'to':" in send.output, send.output
    else:  # epub takes it or leaves it to send; send takes it or leaves it to epub
        assert epub.exit_code == 0, epub.output
        assert "key 'to'" not in send.output, send.output
        if fits == "send":
            assert "would send" in send.stdout and "me@kindle.com" not in send.output.split("would send")[0]


LATER_CHECKS = [  # values the config's types take that a check after them refuses
    ("build", "base-url", "http://a b/", "cannot be used"),
    ("build", "base-url", "https://example.org/x?q=1", "a query or a fragment"),
    ("feed", "base-url", "https://a..b/", "cannot be used"),
    ("send", "smtp-host", "smtp.example.org:25", "not a host name"),
    ("send", "smtp-host", "a b", "cannot hold"),
    ("epub", "match", "", "an empty term"),
    ("feed", "exclude", "re:(", "does not compile"),
    ("build", "match", "re:a{2,1}", "does not compile"),
]


@pytest.mark.parametrize("command, key, value, said", LATER_CHECKS, ids=lambda v: str(v))
@pytest.mark.parametrize("where", ["option", "top", "table"])
def test_a_later_refusal_names_the_value_where_it_was_given(tmp_path, command, key, value, said, where):
    """A value a check refuses after the options were read is named where the user wrote it: the
    option on the command line, the config file and key (top level or the command's table) from
    the config, never the option the user did not type; exit 2."""
    config = tmp_path / "c.toml"
    config.write_text("" if where == "option" else f"{'' if where == 'top' else f'[{command}]'}\n{key} = \"{value}\"\n",
                      encoding="utf-8")
    args = ["--config", config, command]
    args += [tmp_path / "out", "--to", "a@example.org", "--dry-run"] if command == "send" else \
        [SAMPLE, "-o", tmp_path / "out"] + (["--images", "none"] if command != "feed" else [])
    if where == "option":
        args += [f"--{key}", value]
    (tmp_path / "out").mkdir()
    result = run(args, tmp_path)
    assert result.exit_code == 2, result.output
    # On the command line, a usage error (click's); from the config, the config's error, said as
    # every error is: "PATH:LINE: error: ...".
    message = result.output.split("Error: ", 1)[1] if where == "option" else result.output
    assert said in message, message
    if where == "option":
        assert message.startswith(f"--{key} ") or message.startswith(f"--{key}: "), message
    else:
        # the file, and the line of the key: the second (the first is the table's header, or empty)
        assert message.startswith(
            f"{config.resolve()}:2: error: {'' if where == 'top' else f'[{command}] '}key '{key}':"), message
        assert f"--{key}" not in message, message


@pytest.mark.parametrize("body", ['[build]\ndevice = "kobo"\ndevices = ["kindle"]\n',
                                  'device = "kobo"\n[build]\ndevices = ["kindle"]\n'])
def test_device_and_devices_together_in_the_config_are_refused(tmp_path, body):
    config = tmp_path / "c.toml"
    config.write_text(body, encoding="utf-8")
    args = ["--config", config, "build", SAMPLE, "-o", tmp_path / "out", "--images", "none"]
    result = run(args, tmp_path)
    assert result.exit_code == 2 and "key 'device' and " in result.output and "key 'devices'" in result.output, \
        result.output
    assert not (tmp_path / "out").exists()
    assert run(args + ["--device", "kindle", "-q"], tmp_path).exit_code == 0  # the command line wins


@pytest.mark.parametrize("body", ['[epub]\nmatch = "video"\n', '[epub]\nmatch = ["video"]\n', 'match = "video"\n'])
def test_one_string_is_a_list_of_one(tmp_path, body):
    """A key that takes a list also takes one string, as a list of one term (README,
    "Configuration"): never its letters one by one."""
    config = tmp_path / "c.toml"
    config.write_text(body, encoding="utf-8")
    by_config = run(["--config", config, "epub", SAMPLE, "-o", tmp_path / "a", "--images", "none", "-q"], tmp_path)
    by_option = run(["epub", SAMPLE, "-o", tmp_path / "b", "--images", "none", "-q", "--match", "video"], tmp_path)
    assert by_config.exit_code == 0 and by_option.exit_code == 0, (by_config.output, by_option.output)
    books = sorted(p.name for p in (tmp_path / "b").glob("*.epub"))
    assert books and books == sorted(p.name for p in (tmp_path / "a").glob("*.epub"))
    assert all((tmp_path / "a" / b).read_bytes() == (tmp_path / "b" / b).read_bytes() for b in books)
