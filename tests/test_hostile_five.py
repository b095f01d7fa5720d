"""Hostile input, fifth round: the config reader bounds dotted keys before tomllib parses."""

from __future__ import annotations

import time

from hypothesis import given, settings, strategies as st

from hostile_three import SETTINGS, run_cli
from exporter.cli.config import MAX_KEY_PARTS, _check_dotted_keys
from exporter.errors import ConfigError

import pytest
from pathlib import Path

PART = st.one_of(st.from_regex(r"[A-Za-z0-9_-]{1,4}", fullmatch=True),
                 st.from_regex(r'"[a-z.]{0,4}"', fullmatch=True))
SHAPES = ("{key} = 1\n", "[{key}]\n", "[[{key}]]\n", "x = {{ {key} = 1 }}\n", "t = {{ a = 1, {key} = 2 }}\n")


@settings(max_examples=60, **SETTINGS)
@given(parts=st.lists(PART, min_size=1, max_size=2 * MAX_KEY_PARTS), shape=st.sampled_from(SHAPES),
       sep=st.sampled_from([".", " . ", "\t.\t"]))
def test_a_long_dotted_key_is_refused_before_parsing(parts, shape, sep):
    text = "# a.b.c.d.e.f.g.h.i.j.k\nname = 'x.y.z.a.b.c.d.e.f.g'\n" + shape.format(key=sep.join(parts))
    if len(parts) > MAX_KEY_PARTS:
        with pytest.raises(ConfigError, match=r"c\.toml:3: error: a key of \d+ dotted parts"):
            _check_dotted_keys(text, Path("c.toml"))
    else:
        _check_dotted_keys(text, Path("c.toml"))


def test_the_config_of_a_32000_part_key_is_refused_quickly_through_the_cli(tmp_path):
    (tmp_path / "c.toml").write_text("a." * 32_000 + "a = 1\n")
    t0 = time.perf_counter()
    result = run_cli(["--config", str(tmp_path / "c.toml"), "inspect"], tmp_path)
    assert time.perf_counter() - t0 < 3
    assert result.exit_code == 2 and "c.toml:1: error: a key of 32001 dotted parts" in result.output


@pytest.mark.parametrize("make", [lambda n: "a." * (n // 2) + "a = 1\n", lambda n: '"""' + '\\"' * (n // 2),
                                  lambda n: '"\\"' * (n // 3), lambda n: "a=1\n" * (n // 4)])
def test_the_scan_is_linear(make):
    def cost(n):
        text = make(n)
        t0 = time.perf_counter()
        with pytest.raises(ConfigError) if text.startswith("a.") else _nothing():
            _check_dotted_keys(text, Path("c"))
        return time.perf_counter() - t0
    small, big = cost(50_000), cost(500_000)
    assert big < 30 * small + 0.2, (small, big)


class _nothing:
    def __enter__(self): return self
    def __exit__(self, *a): return False
