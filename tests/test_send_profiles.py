"""`send` and books made for several device profiles, and copies of books: generated through the
CLI with a real SMTP server on 127.0.0.1.

- every profile's file of a period (``NAME.epub``, ``NAME.kindle.epub``, ``NAME.kepub.epub``,
  ``NAME.koreader.epub``) is one book for "already sent": adding or changing ``--device`` after a
  send mails nothing again, unless ``--resend``;
- a copy of a book (a hard link, a byte copy, ``latest.epub``) is named "a copy of" its book,
  never "not finished yet", whether or not that book is finished.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from delivery_helpers import smtp_server
from hostile_three import run_cli

SETTINGS = dict(deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
KINDLE = "reader@kindle.com"
INPUTS = {
    "d.md": "## Daily Papers (2024-03-04)\n\n### [T](https://arxiv.org/abs/2403.00001)\n\nVote: 1\n\nAuthors: A\n\n- s\n",
    "e.md": "## Daily Papers (2024-03-11)\n\n### [U](https://arxiv.org/abs/2403.00002)\n\nVote: 3\n\nAuthors: B\n\n- s2\n",
}
DEVICES = ["generic", "kindle", "kobo", "koreader"]
device_sets = st.lists(st.sampled_from(DEVICES), min_size=1, max_size=4, unique=True)


def _build(tmp: Path, devices: list[str]) -> Path:
    src = tmp / "in"
    src.mkdir(exist_ok=True)
    for name, text in INPUTS.items():
        (src / name).write_text(text, "utf-8")
    out = tmp / "out"
    args = ["build", str(src), "-o", str(out), "--images", "none", "-q", "--format", "atom",
            "--state", str(tmp / "state.json")]
    for device in devices:
        args += ["--device", device]
    r = run_cli(args, tmp, seconds=120)
    assert r.exit_code == 0, r.output
    return out


def _send(out: Path, server, today: str, *extra: str):
    return run_cli(["send", str(out), "--to", KINDLE, *server.args(), "--today", today, *extra], out.parent,
                   env=server.env())


@settings(max_examples=8, **SETTINGS)
@given(first=device_sets, second=device_sets)
def test_a_week_is_sent_once_whatever_devices_are_added_later(tmp_path_factory, first, second):
    tmp = tmp_path_factory.mktemp("profiles")
    out = _build(tmp, first)
    with smtp_server(tmp) as server:
        r = _send(out, server, "2024-03-25")
        assert r.exit_code == 0 and len(server.mailbox.messages) == 2, r.output  # W10 and W11
        _build(tmp, second)
        r = _send(out, server, "2024-03-25")
        assert r.exit_code == 0, r.output
        assert len(server.mailbox.messages) == 2, (first, second, r.output)
        assert "--resend to send it again" in r.output, r.output
        r = _send(out, server, "2024-03-25", "--resend")
        assert r.exit_code == 0 and len(server.mailbox.messages) == 4, r.output


@settings(max_examples=6, **SETTINGS)
@given(name=st.sampled_from(["hard.epub", "latest.epub", "my W10 copy.epub", "my W11 copy.epub"]),
       how=st.sampled_from(["hardlink", "bytes", "symlink"]), today=st.sampled_from(["2024-03-12", "2024-03-25"]))
def test_a_copy_is_named_as_a_copy_never_as_not_finished(tmp_path_factory, name, how, today):
    tmp = tmp_path_factory.mktemp("copies")
    out = _build(tmp, ["generic"])
    week = "W11" if "W11" in name else "W10"
    book = out / f"daily-papers-2024-{week}.epub"
    {"bytes": shutil.copyfile, "hardlink": os.link, "symlink": lambda a, b: os.symlink(a.name, b)}[how](
        book, out / name)
    with smtp_server(tmp) as server:
        for extra in ((), ("--dry-run",)):
            r = _send(out, server, today, *extra)
            assert r.exit_code == 0, r.output
            assert f"a copy of {book.name}" in r.output, r.output
            waiting = re.search(r"not finished yet \((.*)\) in ", r.output)
            assert waiting is None or name not in waiting.group(1), r.output
        finished = today == "2024-03-25"
        assert len(server.mailbox.messages) == (2 if finished else 1), r.output
