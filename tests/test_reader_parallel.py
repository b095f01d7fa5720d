"""Many input files are read and parsed by forked workers: what comes back is what parsing here gives."""

import datetime as dt
import pickle

import pytest
from click.testing import CliRunner

from exporter.cli import main
from exporter.images.model import ImageFailure
from exporter.model import (Diagnostic, Digest, Kind, Paper, Severity, SourceRef, SummaryItem, Thumbnail,
                            ThumbnailKind)
from exporter.reader import stamps
from exporter.reader.stamps import MIN_PARALLEL_FILES, InputFiles

START = dt.date(2024, 1, 1)
FORK = "fork" in __import__("multiprocessing").get_all_start_methods()


def write_days(folder, n):
    folder.mkdir()
    for i in range(n):
        date = START + dt.timedelta(days=i)
        text = (f"## Daily Papers ({date.isoformat()})\n\n"
                f"### [Paper {i}](https://arxiv.org/abs/2401.{i:05d})\n\n![](thumb{i % 3}.png)\n\n"
                f"Vote: {i}\n\nAuthors: A, B\n\n- ***What***: **bold** {i}\n  - nested\n"
                f"- `code` [link](https://example.org/{i})\n\n### [No link {i}]\n\nVote: x\n\n- text\n")
        (folder / f"{date.isoformat()}.md").write_text(text, encoding="utf-8")
    (folder / f"{START.isoformat()}-bad.md").write_bytes(b"\xff\xfe\x00broken")
    return folder


def test_every_model_object_pickles_as_itself():
    """Workers send the parse back pickled: each class (and a subclass with more fields) comes back equal."""
    src = SourceRef("a.md", 3)
    paper = Paper("T", "https://x.org/", "2401.00001", Thumbnail(ThumbnailKind.IMAGE, "t.png"), 3, ("A",),
                  (SummaryItem("x", "L", (SummaryItem("y"),)),), src)
    objects = [src, paper, Digest(START, "D", (paper,), (src,)), Diagnostic(src, Severity.WARNING, "m", Kind.MISSING),
               ImageFailure.of(src, "https://x.org/t.png", "HTTP 404", retry=True)]
    for obj in objects:
        back = pickle.loads(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))
        assert back == obj and type(back) is type(obj)
    assert pickle.loads(pickle.dumps(objects[-1])).retry is True


@pytest.mark.skipif(not FORK, reason="no fork start method")
def test_workers_parse_what_parsing_here_gives(tmp_path, monkeypatch):
    folder = write_days(tmp_path / "in", MIN_PARALLEL_FILES + 5)
    pooled = []
    real = stamps._pooled
    monkeypatch.setattr(stamps, "_pooled", lambda jobs, n: pooled.append(n) or real(jobs, n))
    there = InputFiles.scan([folder], {}, jobs=2)
    assert pooled == [2]
    here = InputFiles.scan([folder], {}, jobs=1)
    assert pooled == [2]  # -j 1: no worker
    assert there.order == here.order and there.changed == here.changed
    assert there.parsed == here.parsed and len(there.parsed) == MIN_PARALLEL_FILES + 6
    assert {n: r.to_json() for n, r in there.records.items()} == {n: r.to_json() for n, r in here.records.items()}
    assert there.unreadable == here.unreadable


@pytest.mark.skipif(not FORK, reason="no fork start method")
def test_a_build_with_workers_is_the_build_without(tmp_path):
    folder = write_days(tmp_path / "in", MIN_PARALLEL_FILES + 5)
    outs = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}"
        r = CliRunner().invoke(main, ["build", str(folder), "-o", str(out), "--images", "none", "-j", jobs,
                                      "--keep-going"], env={"XDG_STATE_HOME": str(tmp_path / f"state{jobs}")})
        assert r.exit_code == 1 and "bad.md:1: error: cannot decode" in r.stderr, r.output
        outs[jobs] = ({p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()},
                      r.stderr.replace(str(out), "OUT"))
    assert outs["1"] == outs["2"]
    assert outs["1"][1].count("vote count 'x'") == MIN_PARALLEL_FILES + 5  # the warnings, in the same order


def test_few_files_or_standard_input_are_read_here(tmp_path, monkeypatch):
    monkeypatch.setattr(stamps, "_pooled", lambda jobs, n: pytest.fail("forked for few files"))
    folder = write_days(tmp_path / "in", MIN_PARALLEL_FILES - 2)
    assert len(InputFiles.scan([folder], {}, jobs=2).parsed) == MIN_PARALLEL_FILES - 1
    jobs = [stamps._Job(str(i), None, "<stdin>", None, 0) for i in range(MIN_PARALLEL_FILES * 2)]
    assert stamps._read_all(jobs[:1], 2) is not None  # one job: here
    monkeypatch.setattr(stamps, "_read_one", lambda job: job.name)
    assert list(stamps._read_all(jobs, 2)) == [j.name for j in jobs]  # standard input: here, in order
