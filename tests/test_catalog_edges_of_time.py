"""The first and last weeks of the years the reader takes are finished like any other week.

ISO week 1980-W01 starts on 1979-12-31 and 2099-W53 ends on 2100-01-03: a weekly book of days the
reader accepts (1980-01-01 to 2099-12-31) has a period that reaches past them, and the catalog,
`send` and `--finished-only` must agree that it is finished once its last day has passed.
"""

from __future__ import annotations

import datetime as dt

import pytest

from exporter.site.opds import _period
from hostile_three import run_cli


@pytest.mark.parametrize("coverage, finished", [
    ("1979-12-31/1980-01-06", True), ("2099-12-28/2100-01-03", True), ("1980-01-01/1980-01-31", True),
    ("1979-12-30/1980-01-05", False), ("2099-12-28/2100-01-04", False), ("2999-06-01/2999-06-07", False),
])
def test_a_period_in_the_weeks_of_the_readers_years_is_read(coverage, finished):
    first, last = (dt.date.fromisoformat(d) for d in coverage.split("/"))
    assert (_period([coverage], []) == (first, last)) == finished


def test_the_book_of_1980_w01_is_in_the_catalog_of_finished_books(tmp_path):
    src = tmp_path / "d.md"
    src.write_text("".join(f"## Daily Papers ({day})\n\n### [P {day}](https://arxiv.org/abs/2403.0000{n})\n\nVote: 1\n\n"
                           f"Authors: A\n\n- s\n\n" for n, day in enumerate(["1980-01-01", "1980-01-08", "2024-03-04"], 1)),
                   "utf-8")
    out = tmp_path / "out"
    result = run_cli(["build", str(src), "-o", str(out), "--images", "none", "-q"], tmp_path)
    assert result.exit_code == 0, result.output
    assert "1980-W01" in (out / "catalog.opds").read_text("utf-8")
    assert "1980-W01" not in (out / "catalog-current.opds").read_text("utf-8")


def test_today_decides_the_catalog_pages_without_finished_only(tmp_path):
    """`--today` moves "today" for the catalog as for `--finished-only`: the week of 2024-03-04
    is in progress on 2024-03-06 and finished on 2024-03-11, and the incremental run that moves
    the day writes what a fresh build on that day writes."""
    src = tmp_path / "d.md"
    src.write_text("## Daily Papers (2024-03-04)\n\n### [P](https://arxiv.org/abs/2403.00001)\n\nVote: 1\n\n"
                   "Authors: A\n\n- s\n", "utf-8")

    def build(out, day, state):
        result = run_cli(["build", str(src), "-o", str(out), "--images", "none", "-q", "--today", day,
                          "--state", str(tmp_path / state)], tmp_path)
        assert result.exit_code == 0, result.output

    out = tmp_path / "out"
    build(out, "2024-03-06", "s1")
    assert "2024-W10" in (out / "catalog-current.opds").read_text("utf-8")
    assert "2024-W10" not in (out / "catalog.opds").read_text("utf-8")
    build(out, "2024-03-11", "s1")
    assert "2024-W10" in (out / "catalog.opds").read_text("utf-8")
    assert "2024-W10" not in (out / "catalog-current.opds").read_text("utf-8")
    fresh = tmp_path / "fresh"
    build(fresh, "2024-03-11", "s2")
    for path in sorted(fresh.rglob("*")):
        if path.is_file():
            assert (out / path.relative_to(fresh)).read_bytes() == path.read_bytes(), path.name
